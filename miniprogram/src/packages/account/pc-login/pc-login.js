/**
 * 电脑端登录: the code a PC shows opens this page (scene "l=<nonce>"). The PC's time,
 * browser and network come first, so a parent can tell their own PC from a code someone
 * sent them to scan (QR-login phishing); only then 确认登录 signs that PC in, or 拒绝 ends it.
 * An account without a real-name binding is first offered WeChat's phone button (behind the
 * privacy agreement, like 实名登记): its code goes with the confirmation, and the PC's
 * 实名登记 then uses that phone without a second scan (docs/PC.md).
 */
const ui = require('../../../utils/ui')
const format = require('../../../utils/format')
const privacy = require('../../../utils/privacy')
const phone = require('../../../utils/phone')
const account = require('../../../services/account')

const SCENE = /^l=[0-9A-Za-z]{22}$/
// Codes the API answers when the sign-in cannot go on: the page says what to do instead.
const ENDED = {
  PC_LOGIN_NOT_FOUND: '二维码无效或已过期，请在电脑上刷新二维码后重新扫码。',
  PC_LOGIN_EXPIRED: '二维码已过期，请在电脑上点击刷新后重新扫码。',
  PC_LOGIN_USED: '该二维码已使用过，请在电脑上刷新二维码后重新扫码。',
  PC_LOGIN_TAKEN: '该二维码已被其他微信账号扫描。如需登录，请在电脑上刷新二维码后重新扫码。',
}

function sceneOf(options) {
  try {
    return decodeURIComponent(options.scene || '')
  } catch (err) {
    return String(options.scene || '')
  }
}

Page(ui.page({
  data: {
    state: 'loading', pc: null, message: '', busy: false,
    needsPhone: false, phoneAllowed: false, phoneCode: '', phoneState: '',
  },

  onLoad(options) {
    this.scene = sceneOf(options)
    if (!SCENE.test(this.scene)) {
      this.setData({ state: 'ended', message: ENDED.PC_LOGIN_NOT_FOUND })
      return null
    }
    return account.scanPcLogin(this.scene).then(pc => {
      this.setData({
        state: 'ask',
        pc: { time: format.dateTime(pc.requested_at), browser: pc.browser, os: pc.os,
          address: pc.address },
        needsPhone: pc.identity_bound === false,
      })
      if (pc.identity_bound !== false) return null
      return privacy.state().then(s => this.setData({ phoneAllowed: s.agreed }))
    }, err => this.fail(err))
  },

  onAllowPhone() {
    return phone.allowPhone(this)
  },

  onPhone(e) {
    // Refused or not available: the page goes on without a phone.
    this.setData(phone.phoneAnswer(e))
  },

  fail(err) {
    // An expired phone code: tap the phone button again (the sign-in is still waiting).
    if (err.code === 'INVALID_PHONE_CODE') this.setData({ phoneCode: '', phoneState: '' })
    const message = ENDED[err.code]
    if (message) {
      this.setData({ state: 'ended', message, busy: false })
      return
    }
    this.setData({ busy: false })
    if (this.data.state === 'loading') {
      this.setData({ state: 'ended', message: err.message || '暂时无法读取登录请求，请稍后重新扫码。' })
    }
    ui.showError(err)
  },

  decide(decision) {
    if (this.data.busy) return null
    this.setData({ busy: true })
    const phoneCode = decision === 'confirm' ? this.data.phoneCode : ''
    return account.decidePcLogin(this.scene, decision, phoneCode).then(() => {
      this.setData({
        busy: false,
        state: decision === 'confirm' ? 'confirmed' : 'refused',
        message: decision === 'confirm' ? '已确认，电脑上将自动登录。离开电脑时请记得退出登录。'
          : '已拒绝，这台电脑不会登录你的账号。',
      })
    }, err => this.fail(err))
  },

  onConfirm() {
    return this.decide('confirm')
  },

  onRefuse() {
    return this.decide('refuse')
  },

  onHome() {
    wx.switchTab({ url: '/pages/home/home' })
  },
}))
