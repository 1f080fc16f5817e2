/** Which documents a registration needs: the basis's, then the child's special groups'. */
const { BASIS_UPLOADS, UPLOAD_KIND, UPLOAD_CHECKS, COMMON_CHECKS } = require('../../../config/domain')

function slot(kinds, required, name) {
  return {
    kinds,
    kindNames: kinds.map(k => UPLOAD_KIND[k] || k),
    kindIndex: 0,
    name: name || kinds.map(k => UPLOAD_KIND[k] || k).join(' 或 '),
    required,
    checks: UPLOAD_CHECKS[kinds[0]] || COMMON_CHECKS,
    upload: null,
  }
}

/** The upload slots for a basis and a child (required ones first, one optional at the end). */
function slotsFor(basis, child) {
  const slots = (BASIS_UPLOADS[basis] || []).map(kinds => slot(kinds, true))
  const covered = {}
  slots.forEach(s => s.kinds.forEach(k => { covered[k] = true }))
  ;((child && child.required_documents) || []).forEach(doc => {
    if (!covered[doc.kind]) {
      covered[doc.kind] = true
      slots.push(slot([doc.kind], true, doc.name))
    }
  })
  if (!covered.birth_certificate) {
    slots.push(slot(['birth_certificate'], false, `${UPLOAD_KIND.birth_certificate}（选填）`))
  }
  return slots
}

/** Put already submitted documents (fix mode) into the slots they fill. */
function fillSlots(slots, uploads) {
  const left = uploads.slice()
  slots.forEach(s => {
    const at = left.findIndex(u => s.kinds.indexOf(u.kind) >= 0)
    if (at >= 0) {
      const found = left.splice(at, 1)[0]
      s.kindIndex = s.kinds.indexOf(found.kind)
      s.upload = { upload_id: found.upload_id, kind: found.kind, previous: true }
    }
  })
  return slots
}

function missing(slots) {
  return slots.filter(s => s.required && !s.upload).map(s => s.name)
}

function uploadIds(slots) {
  return slots.filter(s => s.upload).map(s => s.upload.upload_id)
}

module.exports = { slotsFor, fillSlots, missing, uploadIds }
