/** 认领代报名: a family the school registered at the counter takes it over with the claim
 * code on the slip: binding, children, registrations and notices move to this account. */
const ui = require('../../../utils/ui')
const identity = require('../../../services/identity')

const CODE_LENGTH = 8

/** The code as printed (XXXX-XXXX), whatever the parent typed around it. */
function normalize(value) {
  return String(value || '').replace(/[^0-9A-Za-z]/g, '').toUpperCase()
}

Page(ui.page({
  data: { code: '', submitting: false, result: null },

  onLoad(options) {
    if (options.code) this.setData({ code: normalize(options.code) })
  },

  onCode(e) {
    this.setData({ code: normalize(e.detail.value).slice(0, CODE_LENGTH) })
  },

  onSubmit() {
    const code = normalize(this.data.code)
    if (code.length !== CODE_LENGTH) {
      ui.showError({ message: '请输入学校给您的 8 位认领码' })
      return null
    }
    this.setData({ submitting: true })
    return identity.claimFamily({ code: `${code.slice(0, 4)}-${code.slice(4)}` }).then(result => {
      this.setData({ submitting: false, result })
      ui.toast('认领成功')
      return result
    }, err => {
      this.setData({ submitting: false })
      ui.showError(err, err.code === 'CLAIM_IDENTITY_CONFLICT' ? '不能认领' : '认领未成功')
      return null
    })
  },

  onRegistrations() {
    wx.switchTab({ url: '/pages/registrations/list' })
  },
}))
