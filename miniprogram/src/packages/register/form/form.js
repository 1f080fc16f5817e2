/**
 * 报名表: child, basis, documents (with the checklist of common rejection reasons), then
 * subscribe-message consent and the queued submission. `mode=fix&id=` re-submits a returned
 * registration (PATCH) with the documents the school asked for. Which documents each basis
 * needs comes from the API: until it has answered there are no slots and no submission.
 * Choosing a photo is privacy-scoped: it waits for the 用户隐私保护指引 agreement.
 * 政府数据核验: with the separate consent ticked (its own text and version), the child's
 * documents are checked against government data later; a confirmed one needs no upload.
 */
const ui = require('../../../utils/ui')
const privacy = require('../../../utils/privacy')
const subscribe = require('../../../utils/subscribe')
const format = require('../../../utils/format')
const { newIdempotencyKey } = require('../../../utils/request')
const identity = require('../../../services/identity')
const catalogue = require('../../../services/catalogue')
const registrations = require('../../../services/registrations')
const materials = require('./materials')
const { BASIS, BASIS_KEYS, SUBMIT_TEMPLATE_KEYS, FAIRNESS_NOTICE } = require('../../../config/domain')

Page(ui.page({
  data: {
    fix: false,
    school: null,
    schools: [],
    schoolNames: [],
    schoolIndex: -1,
    children: [],
    childNames: [],
    childIndex: -1,
    child: null,
    bases: BASIS_KEYS.map(key => ({ key, name: BASIS[key].name, hint: BASIS[key].hint })),
    basis: 'hukou',
    slots: [],
    // The API's document table: loading → ready, or failed (with a button to read it again).
    requirements: 'loading',
    correction: null,
    submitting: false,
    fairness: FAIRNESS_NOTICE,
    // 政府数据核验: the consent text, whether this child has the consent, the box ticked.
    dataCheck: null,
    dataCheckConsented: false,
    dataCheckAgreed: false,
  },

  onLoad(options) {
    this.key = newIdempotencyKey()
    this.templates = []
    // Loaded now so the tap on 提交 can ask for consent at once (WeChat needs the tap).
    subscribe.loadTemplates().then(templates => { this.templates = templates }, () => null)
    this.table = null
    this.checks = {}
    this.loadRequirements()
    identity.getDataCheckConsentText().then(dataCheck => this.setData({ dataCheck }), () => null)
    if (options.mode === 'fix' && options.id) {
      this.registrationId = Number(options.id)
      this.setData({ fix: true })
      return this.loadFix()
    }
    return this.loadNew(options.school || '')
  },

  loadRequirements() {
    this.setData({ requirements: 'loading' })
    return materials.loadTable().then(table => {
      this.table = table
      // Documents of a returned registration wait here until the table has come.
      this.setData({ requirements: 'ready',
        slots: this.slotsFor(this.data.basis, this.data.child, this.previousUploads) })
    }, () => {
      // The failure shows on the page with 重新读取: no guessing which documents are needed.
      this.setData({ requirements: 'failed' })
    })
  },

  onRetryRequirements() {
    return this.loadRequirements()
  },

  /** The slots for a basis and a child with these documents put in (none before the table),
   * each marked with what government data said about it. */
  slotsFor(basis, child, uploads) {
    if (!this.table) return []
    const slots = materials.fillSlots(materials.slotsFor(this.table, basis, child), uploads || [])
    return materials.markVerified(slots, child && this.checks ? this.checks[child.id] : [])
  },

  /** The child's data checks; a failure leaves every document to upload. */
  loadChecks(child) {
    if (!child || this.data.fix) return Promise.resolve()
    return identity.getDataChecks(child.id).then(body => {
      this.checks = Object.assign({}, this.checks, { [child.id]: body.checks })
      if (!this.data.child || this.data.child.id !== child.id) return
      const uploads = this.data.slots.filter(s => s.upload).map(s => s.upload)
      this.setData({
        dataCheckConsented: Boolean(body.consent && body.consent.version === body.consent_version),
        slots: this.slotsFor(this.data.basis, child, uploads),
      })
    }, () => null)
  },

  onDataCheckAgree(e) {
    this.setData({ dataCheckAgreed: (e.detail.value || []).indexOf('agree') >= 0 })
  },

  /** Send the ticked consent; the checks run afterwards, the documents can be uploaded now. */
  onAskDataChecks() {
    const child = this.data.child
    if (!child || !this.data.dataCheck) return null
    if (!this.data.dataCheckAgreed) {
      ui.showError({ message: '请先阅读《政府数据核验授权书》并勾选同意' })
      return null
    }
    return identity.askDataChecks(child.id, this.data.dataCheck.version).then(body => {
      this.checks = Object.assign({}, this.checks, { [child.id]: body.checks })
      this.setData({ dataCheckConsented: true,
        slots: this.slotsFor(this.data.basis, child, this.data.slots.filter(s => s.upload).map(s => s.upload)) })
      wx.showToast({ title: '已提交核验', icon: 'success' })
    }, err => ui.showError(err))
  },

  loadNew(code) {
    const school = code
      ? catalogue.getSchool(code).then(value => this.setData({ school: value }))
      : catalogue.listSchools().then(items => this.setData({
        schools: items, schoolNames: items.map(s => s.name),
      }))
    const children = identity.listChildren().then(items => {
      this.setData({
        children: items,
        childNames: items.map(c => `${c.name}${c.eligibility.eligible === false ? '（年龄不符）' : ''}`),
      })
      const first = items.findIndex(c => c.eligibility.eligible !== false)
      if (first >= 0) this.pickChild(first)
    })
    return Promise.all([school, children]).catch(err => ui.showError(err))
  },

  loadFix() {
    return registrations.get(this.registrationId).then(registration => {
      const child = { id: registration.child.id, name: registration.child.name }
      return identity.getChild(child.id).then(full => full, () => child).then(full => {
        this.previousUploads = registration.uploads
        const slots = this.slotsFor(registration.basis, full, registration.uploads)
        const correction = registration.correction
        this.setData({
          school: registration.school,
          child: full,
          childNames: [full.name],
          childIndex: 0,
          basis: registration.basis,
          slots,
          correction: correction ? Object.assign({}, correction, {
            deadline: format.dateTime(correction.fix_deadline),
          }) : null,
        })
      })
    }).catch(err => ui.showError(err))
  },

  pickChild(index) {
    const child = this.data.children[index]
    this.setData({ childIndex: index, child, dataCheckConsented: false, dataCheckAgreed: false,
      slots: this.slotsFor(this.data.basis, child) })
    return this.loadChecks(child)
  },

  onSchool(e) {
    const index = Number(e.detail.value)
    this.setData({ schoolIndex: index, school: this.data.schools[index] })
  },

  onChild(e) {
    this.pickChild(Number(e.detail.value))
  },

  onBasis(e) {
    const basis = e.detail.value
    // Keep documents already uploaded where the new basis needs the same kind.
    const uploads = this.data.slots.filter(s => s.upload).map(s => s.upload)
    this.setData({ basis, slots: this.slotsFor(basis, this.data.child, uploads) })
  },

  onSlotKind(e) {
    const index = e.currentTarget.dataset.index
    this.setData({ [`slots[${index}].kindIndex`]: Number(e.detail.value) })
  },

  /** Take or choose a photo (once the privacy guide is agreed) and upload it as the slot's
   * document kind; a refusal is explained and leaves the form as it was. */
  onUpload(e) {
    const index = e.currentTarget.dataset.index
    const slot = this.data.slots[index]
    const kind = slot.kinds[slot.kindIndex]
    return privacy.ensurePrivacy('拍照或从相册选择报名材料').then(() => new Promise(resolve => {
      wx.chooseMedia({
        count: 1,
        mediaType: ['image'],
        sourceType: ['camera', 'album'],
        sizeType: ['compressed'],
        success: res => resolve(res.tempFiles && res.tempFiles[0] ? res.tempFiles[0].tempFilePath : ''),
        fail: () => resolve(''),
      })
    }), () => '').then(path => {
      if (!path) return null
      wx.showLoading({ title: '正在上传', mask: true })
      return registrations.uploadDocument(path, kind).then(uploaded => {
        wx.hideLoading()
        this.setData({ [`slots[${index}].upload`]: {
          upload_id: uploaded.upload_id, kind: uploaded.kind, path, previous: false,
        } })
      }, err => {
        wx.hideLoading()
        ui.showError(err, '上传没有成功')
      })
    })
  },

  validate() {
    if (!this.data.school) return '请选择学校'
    const child = this.data.child
    if (!child) return '请选择孩子'
    if (child.eligibility && child.eligibility.eligible === false) return child.eligibility.reason
    if (this.data.requirements === 'loading') return '正在读取需要上传的材料，请稍候'
    if (this.data.requirements !== 'ready') return '需要上传的材料没有读取成功，请点“重新读取”'
    const missing = materials.missing(this.data.slots)
    if (missing.length) return `还需要上传：${missing.join('、')}`
    return ''
  },

  onSubmit() {
    const problem = this.validate()
    if (problem) {
      ui.showError({ message: problem })
      return null
    }
    if (this.data.submitting) return null
    this.setData({ submitting: true })
    const body = { basis: this.data.basis, upload_ids: materials.uploadIds(this.data.slots) }
    // Consent first, inside this tap; a refusal never stops the registration.
    return subscribe.askFor(SUBMIT_TEMPLATE_KEYS, this.templates)
      .catch(() => null)
      .then(() => (this.data.fix
        ? registrations.edit(this.registrationId, body, this.key)
        : registrations.submit(Object.assign({
          child_id: this.data.child.id, school_code: this.data.school.code,
        }, body), this.key)))
      .then(receipt => {
        this.setData({ submitting: false })
        const query = [`ticket=${encodeURIComponent(receipt.ticket)}`,
          `school=${encodeURIComponent(this.data.school.name)}`,
          `code=${encodeURIComponent(this.data.school.code)}`]
        if (this.data.fix) query.push(`id=${this.registrationId}`)
        wx.redirectTo({ url: `/packages/register/ticket/ticket?${query.join('&')}` })
      }, err => {
        this.setData({ submitting: false })
        // Refused before any ticket existed: a corrected submission gets a fresh key.
        if (err.status >= 400 && err.status < 500) this.key = newIdempotencyKey()
        ui.showError(err)
      })
  },
}))
