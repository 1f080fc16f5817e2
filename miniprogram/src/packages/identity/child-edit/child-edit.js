/**
 * 添加 / 修改孩子: the ID number gives birth date and sex, and eligibility shows at once
 * (the same words the server uses); addresses come from the town → village list. A new
 * child is saved only after the guardian ticked the consent text read from the API (its
 * version goes with the child, 《个人信息保护法》第三十一条).
 */
const ui = require('../../../utils/ui')
const flow = require('../../../utils/flow')
const idcard = require('../../../utils/idcard')
const identity = require('../../../services/identity')
const catalogue = require('../../../services/catalogue')
const { DOCUMENT_TYPE, DOCUMENT_TYPE_KEYS } = require('../../../config/domain')

const SEX_KEYS = ['male', 'female']

function emptyAddress() {
  return { townIndex: -1, villageIndex: -1, address: '' }
}

Page(ui.page({
  data: {
    editing: false,
    name: '',
    idNumber: '',
    maskedId: '',
    hint: { state: 'none', text: '' },
    documentNames: DOCUMENT_TYPE_KEYS.map(k => DOCUMENT_TYPE[k]),
    documentIndex: 0,
    birthDate: '',
    sexNames: ['男', '女'],
    sexIndex: -1,
    eligibility: null,
    towns: [],
    townNames: [],
    hukou: emptyAddress(),
    hukouVillages: [],
    hasResidence: false,
    residence: emptyAddress(),
    residenceVillages: [],
    categories: [],
    selected: {},
    placementKeys: [],
    placementNames: [],
    placementIndex: -1,
    permit: { number: '', issuedOn: '', expiresOn: '' },
    consent: null,
    consentState: 'loading',
    consentAgreed: false,
    submitting: false,
  },

  onLoad(options) {
    this.school = options.school || ''
    this.childId = options.id ? Number(options.id) : 0
    this.setData({ editing: Boolean(this.childId) })
    const season = catalogue.getCurrentSeason().then(value => { this.season = value }, () => {
      this.season = null
    })
    const regions = catalogue.listRegions().then(towns => {
      this.setData({ towns, townNames: towns.map(t => t.name) })
    })
    const categories = catalogue.listCategories().then(body => {
      const placementKeys = Object.keys(body.placement_wishes || {})
      this.setData({
        categories: body.categories,
        placementKeys,
        placementNames: placementKeys.map(k => body.placement_wishes[k]),
      })
    })
    if (!this.childId) this.loadConsent()
    return Promise.all([season, regions, categories])
      .then(() => (this.childId ? identity.getChild(this.childId).then(child => this.fill(child)) : null))
      .catch(err => ui.showError(err))
  },

  /** The consent text and version, as the server will record them; never ticked for you. */
  loadConsent() {
    this.setData({ consentState: 'loading', consentAgreed: false })
    return identity.getConsentText().then(consent => {
      this.setData({ consent, consentState: 'ready' })
    }, () => this.setData({ consentState: 'failed' }))
  },

  onRetryConsent() {
    return this.loadConsent()
  },

  onConsent(e) {
    this.setData({ consentAgreed: (e.detail.value || []).indexOf('agree') >= 0 })
  },

  /** Put an existing child into the form (the ID number cannot change). */
  fill(child) {
    const selected = {}
    child.categories.forEach(key => { selected[key] = true })
    const data = {
      name: child.name,
      maskedId: child.id_number,
      birthDate: child.birth_date,
      eligibility: child.eligibility,
      selected,
      hukou: this.addressOf(child.hukou),
      hasResidence: Boolean(child.residence),
      residence: child.residence ? this.addressOf(child.residence) : emptyAddress(),
    }
    if (child.disability && child.disability.placement_wish) {
      data.placementIndex = this.data.placementKeys.indexOf(child.disability.placement_wish)
    }
    if (child.residence_permit) {
      data.permit = {
        number: '',
        issuedOn: child.residence_permit.issued_on || '',
        expiresOn: child.residence_permit.expires_on || '',
      }
    }
    this.setData(data)
    this.setData({
      hukouVillages: this.villagesOf(this.data.hukou.townIndex),
      residenceVillages: this.villagesOf(this.data.residence.townIndex),
    })
  },

  addressOf(address) {
    const code = address.region.code
    const townIndex = this.data.towns.findIndex(t => t.villages.some(v => v.code === code))
    const villageIndex = townIndex >= 0
      ? this.data.towns[townIndex].villages.findIndex(v => v.code === code) : -1
    return { townIndex, villageIndex, address: address.address || '' }
  },

  villagesOf(townIndex) {
    return townIndex >= 0 ? this.data.towns[townIndex].villages.map(v => v.name) : []
  },

  documentType() {
    return DOCUMENT_TYPE_KEYS[this.data.documentIndex]
  },

  isGb11643() {
    return idcard.GB11643_TYPES.indexOf(this.documentType()) >= 0
  },

  onName(e) {
    this.setData({ name: e.detail.value.trim() })
  },

  onIdNumber(e) {
    const value = e.detail.value
    const hint = idcard.liveHint(value, this.documentType())
    const data = { idNumber: value, hint }
    if (hint.state === 'ok') {
      // Eligibility at once: the same rule and words as the server.
      data.birthDate = hint.result.birthDate
      data.eligibility = idcard.eligibility(hint.result.birthDate, this.season)
    } else if (this.isGb11643()) {
      data.eligibility = null
    }
    this.setData(data)
  },

  onDocumentType(e) {
    this.setData({ documentIndex: Number(e.detail.value), eligibility: null, birthDate: '' })
    this.onIdNumber({ detail: { value: this.data.idNumber } })
  },

  onBirthDate(e) {
    const birthDate = e.detail.value
    this.setData({ birthDate, eligibility: idcard.eligibility(birthDate, this.season) })
  },

  onSex(e) {
    this.setData({ sexIndex: Number(e.detail.value) })
  },

  onTown(e) {
    const which = e.currentTarget.dataset.which
    const townIndex = Number(e.detail.value)
    this.setData({
      [`${which}.townIndex`]: townIndex,
      [`${which}.villageIndex`]: -1,
      [`${which}Villages`]: this.villagesOf(townIndex),
    })
  },

  onVillage(e) {
    this.setData({ [`${e.currentTarget.dataset.which}.villageIndex`]: Number(e.detail.value) })
  },

  onStreet(e) {
    this.setData({ [`${e.currentTarget.dataset.which}.address`]: e.detail.value })
  },

  onHasResidence(e) {
    this.setData({ hasResidence: Boolean(e.detail.value) })
  },

  onCategories(e) {
    const selected = {}
    ;(e.detail.value || []).forEach(key => { selected[key] = true })
    this.setData({ selected })
  },

  onPlacement(e) {
    this.setData({ placementIndex: Number(e.detail.value) })
  },

  onPermit(e) {
    this.setData({ [`permit.${e.currentTarget.dataset.field}`]: e.detail.value })
  },

  regionCode(address) {
    const town = this.data.towns[address.townIndex]
    const village = town && town.villages[address.villageIndex]
    return village ? village.code : ''
  },

  validate() {
    if (this.data.name.length < 2) return '请填写孩子姓名'
    if (!this.data.editing) {
      if (this.isGb11643()) {
        const result = idcard.checkIdNumber(this.data.idNumber, this.documentType())
        if (!result.ok) return result.message
      } else {
        if (!idcard.normalize(this.data.idNumber)) return '请填写证件号码'
        if (!this.data.birthDate || this.data.sexIndex < 0) return '请填写出生日期和性别'
      }
    }
    if (!this.regionCode(this.data.hukou)) return '请选择户籍所在的乡镇和村（社区）'
    if (this.data.hasResidence && !this.regionCode(this.data.residence)) {
      return '请选择实际居住的乡镇和村（社区）'
    }
    if (this.data.selected.migrant && (!this.data.permit.issuedOn
        || (!this.data.editing && this.data.permit.number.trim().length < 4))) {
      return '随迁子女请填写居住证号码和签发日期'
    }
    if (this.data.selected.disability && this.data.placementIndex < 0) {
      return '请选择入学意愿（随班就读、特教学校或送教上门）'
    }
    if (!this.data.editing) {
      if (this.data.consentState !== 'ready') return '监护人同意书没有读取成功，请点“重新读取”'
      if (!this.data.consentAgreed) return '请先阅读《儿童个人信息处理监护人同意书》，并勾选同意后再保存'
    }
    return ''
  },

  body() {
    const data = this.data
    const body = {
      name: data.name,
      hukou: { region_code: this.regionCode(data.hukou), address: data.hukou.address },
      categories: data.categories.map(c => c.key).filter(key => data.selected[key]),
    }
    body.residence = data.hasResidence
      ? { region_code: this.regionCode(data.residence), address: data.residence.address } : null
    if (data.selected.migrant && data.permit.number.trim()) {
      body.residence_permit = { number: data.permit.number.trim(), issued_on: data.permit.issuedOn }
      if (data.permit.expiresOn) body.residence_permit.expires_on = data.permit.expiresOn
    }
    if (data.selected.disability) {
      body.disability = { placement_wish: data.placementKeys[data.placementIndex] }
    } else if (data.editing) {
      body.disability = null // unticked: the server would otherwise keep the old wish
    }
    if (!data.editing) {
      body.id_number = idcard.normalize(data.idNumber)
      body.document_type = this.documentType()
      if (!this.isGb11643()) {
        body.birth_date = data.birthDate
        body.sex = SEX_KEYS[data.sexIndex]
      }
      if (body.residence === null) delete body.residence
      body.guardian_consent = { version: data.consent.version, agreed: true }
    }
    return body
  },

  onSubmit() {
    const problem = this.validate()
    if (problem) {
      ui.showError({ message: problem })
      return null
    }
    this.setData({ submitting: true })
    const saving = this.childId
      ? identity.updateChild(this.childId, this.body())
      : identity.addChild(this.body())
    return saving.then(child => {
      this.setData({ submitting: false, eligibility: child.eligibility })
      return new Promise(resolve => wx.showModal({
        title: '已保存', content: child.eligibility.reason, showCancel: false, confirmText: '好的',
        success: resolve, fail: resolve,
      })).then(() => {
        if (this.school || !this.childId) {
          return flow.nextStep(this.school).then(url => wx.redirectTo({ url }))
        }
        return wx.navigateBack()
      })
    }, err => {
      this.setData({ submitting: false })
      // The text changed since the page opened: show the new one, to be read and ticked again.
      if (err.code === 'GUARDIAN_CONSENT_OUTDATED') this.loadConsent()
      ui.showError(err)
    })
  },
}))
