/**
 * Which documents a registration needs: the basis's, then the child's special groups'. The
 * table is the API's (GET /registrations/requirements, the one the intake checks against),
 * read once per launch; a failed read is tried again on the next call.
 */
const registrations = require('../../../services/registrations')
const { UPLOAD_CHECKS, COMMON_CHECKS } = require('../../../config/domain')

let tableCache = null

/** Resolves {bases: {basis: [[{kind, name}]]}, names: {kind: name}}. */
function loadTable() {
  if (!tableCache) {
    tableCache = registrations.getRequirements().then(body => {
      const bases = {}
      body.bases.forEach(entry => { bases[entry.basis] = entry.documents })
      return { bases, names: body.document_kinds || {} }
    }).catch(err => {
      tableCache = null
      throw err
    })
  }
  return tableCache
}

/** A slot for "one of these documents" ([{kind, name}]). */
function slot(documents, required, name) {
  const kinds = documents.map(d => d.kind)
  const kindNames = documents.map(d => d.name || d.kind)
  return {
    kinds,
    kindNames,
    kindIndex: 0,
    name: name || kindNames.join(' 或 '),
    required,
    checks: UPLOAD_CHECKS[kinds[0]] || COMMON_CHECKS,
    upload: null,
  }
}

/** The upload slots for a basis and a child (required ones first, one optional at the end). */
function slotsFor(table, basis, child) {
  const slots = (table.bases[basis] || []).map(documents => slot(documents, true))
  const covered = {}
  slots.forEach(s => s.kinds.forEach(k => { covered[k] = true }))
  ;((child && child.required_documents) || []).forEach(doc => {
    if (!covered[doc.kind]) {
      covered[doc.kind] = true
      slots.push(slot([doc], true, doc.name))
    }
  })
  const birth = table.names.birth_certificate
  if (!covered.birth_certificate && birth) {
    slots.push(slot([{ kind: 'birth_certificate', name: birth }], false, `${birth}（选填）`))
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

/**
 * What government data said about the slots' documents (GET /me/children/{id}/data-checks):
 * a confirmed one needs no upload (`verified` shows 已由户籍信息核验，无需上传), a failed
 * one says why (`verification`) and is still to be uploaded.
 */
function markVerified(slots, checks) {
  const byKind = {}
  ;(checks || []).forEach(c => { byKind[c.document_kind] = c })
  slots.forEach(s => {
    const found = s.kinds.map(k => byKind[k]).filter(Boolean)
    const done = found.find(c => c.verified)
    s.verified = done ? done.message : ''
    s.verification = !done && found.length ? found[0].message : ''
  })
  return slots
}

function missing(slots) {
  return slots.filter(s => s.required && !s.upload && !s.verified).map(s => s.name)
}

function uploadIds(slots) {
  return slots.filter(s => s.upload).map(s => s.upload.upload_id)
}

module.exports = { loadTable, slotsFor, fillSlots, markVerified, missing, uploadIds }
