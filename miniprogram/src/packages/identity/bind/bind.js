/**
 * 实名登记: the guardian's name, ID number (checked while typing) and WeChat phone. The
 * getPhoneNumber button is privacy-scoped: it shows only once the family agreed to the
 * 用户隐私保护指引; before that a plain button asks for the agreement.
 */
const ui = require('../../../utils/ui')
const flow = require('../../../utils/flow')
const idcard = require('../../../utils/idcard')
const privacy = require('../../../utils/privacy')
const phone = require('../../../utils/phone')
const identity = require('../../../services/identity')
const { RELATION, RELATION_KEYS, DOCUMENT_TYPE, DOCUMENT_TYPE_KEYS } = require('../../../config/domain')

Page(ui.page({
  data: {
    name: '',
    idNumber: '',
    hint: { state: 'none', text: '' },
    relationNames: RELATION_KEYS.map(k => RELATION[k]),
    relationIndex: -1,
    documentNames: DOCUMENT_TYPE_KEYS.map(k => DOCUMENT_TYPE[k]),
    documentIndex: 0,
    phoneCode: '',
    phoneState: '',
    phoneAllowed: false,
    submitting: false,
  },

  onLoad(options) {
    this.school = options.school || ''
    return privacy.state().then(s => this.setData({ phoneAllowed: s.agreed }))
  },

  onAllowPhone() {
    return phone.allowPhone(this)
  },

  onName(e) {
    this.setData({ name: e.detail.value.trim() })
  },

  documentType() {
    return DOCUMENT_TYPE_KEYS[this.data.documentIndex]
  },

  onIdNumber(e) {
    const value = e.detail.value
    this.setData({ idNumber: value, hint: idcard.liveHint(value, this.documentType()) })
  },

  onDocumentType(e) {
    this.setData({ documentIndex: Number(e.detail.value) })
    this.setData({ hint: idcard.liveHint(this.data.idNumber, this.documentType()) })
  },

  onRelation(e) {
    this.setData({ relationIndex: Number(e.detail.value) })
  },

  onPhone(e) {
    // Refused or not available: the page goes on without a phone.
    this.setData(phone.phoneAnswer(e))
  },

  validate() {
    if (this.data.name.length < 2) return '请填写监护人姓名'
    if (this.data.relationIndex < 0) return '请选择您与孩子的关系'
    const type = this.documentType()
    if (idcard.GB11643_TYPES.indexOf(type) >= 0) {
      const result = idcard.checkIdNumber(this.data.idNumber, type)
      if (!result.ok) return result.message
    } else if (!idcard.normalize(this.data.idNumber)) {
      return '请填写证件号码'
    }
    return ''
  },

  body() {
    const body = {
      name: this.data.name,
      id_number: idcard.normalize(this.data.idNumber),
      document_type: this.documentType(),
      relation: RELATION_KEYS[this.data.relationIndex],
    }
    if (this.data.phoneCode) body.phone_code = this.data.phoneCode
    return body
  },

  onSubmit() {
    const problem = this.validate()
    if (problem) {
      ui.showError({ message: problem })
      return null
    }
    this.setData({ submitting: true })
    return identity.bindIdentity(this.body()).then(() => {
      this.setData({ submitting: false })
      ui.toast('实名登记成功')
      return flow.nextStep(this.school).then(url => wx.redirectTo({ url }))
    }, err => {
      this.setData({ submitting: false })
      if (err.code === 'INVALID_PHONE_CODE') this.setData({ phoneCode: '', phoneState: '' })
      if (err.code === 'IDENTITY_ALREADY_BOUND') return this.offerDispute(err)
      if (err.code === 'IDENTITY_ENTERED_BY_SCHOOL') return this.offerClaim(err)
      ui.showError(err)
      return null
    })
  },

  /** The school registered this family at the counter: take it over with the slip's code. */
  offerClaim(err) {
    return ui.confirm('学校已代为报名', err.message, '去认领').then(ok => {
      if (ok) wx.redirectTo({ url: '/packages/identity/claim/claim' })
      return null
    })
  },

  /** The number is bound to another WeChat account: let the bureau sort it out. */
  offerDispute(err) {
    return ui.confirm('证件已被绑定', err.message, '提交申诉').then(ok => {
      if (!ok) return null
      const body = {
        name: this.data.name,
        id_number: idcard.normalize(this.data.idNumber),
        document_type: this.documentType(),
        note: '家长在小程序实名登记时发现证件号码已被其他微信账号绑定',
      }
      if (this.data.phoneCode) body.phone_code = this.data.phoneCode
      return identity.openDispute(body).then(() => {
        wx.showModal({ title: '申诉已提交', content: '教育局核实后会处理，请留意消息通知。', showCancel: false })
      }, failure => ui.showError(failure))
    })
  },
}))
