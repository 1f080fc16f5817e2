/**
 * WeChat's phone button (open-type=getPhoneNumber) as 实名登记 and 电脑端登录 offer it: shown
 * only after the privacy agreement (a plain button asks for the agreement first), and its
 * answer kept as the page's phoneCode / phoneState ('ok' or 'denied').
 */
const ui = require('./ui')
const privacy = require('./privacy')

const PURPOSE = '使用微信绑定的手机号'

/** Before the agreement: ask for it; the phone button then appears for the family to tap. */
function allowPhone(page) {
  return privacy.ensurePrivacy(PURPOSE).then(() => {
    page.setData({ phoneAllowed: true })
    ui.toast(`已同意，请点击“${PURPOSE}”`)
  }, err => ui.showError(err))
}

/** The button's answer: a code to send, or refused (the page goes on without a phone). */
function phoneAnswer(e) {
  const code = (e.detail || {}).code
  return code ? { phoneCode: code, phoneState: 'ok' } : { phoneCode: '', phoneState: 'denied' }
}

module.exports = { allowPhone, phoneAnswer }
