/**
 * WeChat's user-privacy authorization (app.json `__usePrivacyCheck__`): nothing
 * privacy-scoped (the phone button, photos, the clipboard; files and location are not
 * used) runs before the family agreed to the 用户隐私保护指引.
 *
 * - listen(): app.js registers wx.onNeedPrivacyAuthorization once. WeChat calls it when a
 *   privacy-scoped API or wx.requirePrivacyAuthorize waits for the agreement; the resolve
 *   callback is kept and every privacy-popup on screen opens.
 * - answer(): the pop-up answers with {buttonId, event: 'agree'} after its
 *   agreePrivacyAuthorization button, or {event: 'disagree'}.
 * - ensurePrivacy(purpose): every page calls it before a privacy-scoped API. It resolves
 *   once agreed; after a refusal it rejects with an error already explained to the family
 *   (what needs the consent, what still works, how to agree later).
 * - state(): {agreed, contractName} from wx.getPrivacySetting (the phone button, 隐私设置).
 */
const AGREE_BUTTON_ID = 'privacy-agree'
const CONTRACT_NAME = '《用户隐私保护指引》'
const SETTINGS_PATH = '“我的 → 隐私设置”'

// What a privacy-scoped API is for, when WeChat names it (eventInfo.referrer).
const PURPOSE_OF = {
  chooseMedia: '选择照片上传报名材料',
  'button.getPhoneNumber': '使用微信绑定的手机号',
  setClipboardData: '复制链接',
}

let listening = false
let pending = null // WeChat's resolve callback while a privacy-scoped call waits
let purpose = ''
const popups = [] // privacy-popup components attached now: {open(purpose), close()}

function refusalMessage(what) {
  const needs = what ? `“${what}”需要您先同意${CONTRACT_NAME}。` : `此功能需要您先同意${CONTRACT_NAME}。`
  return `${needs}不同意也可以继续查看公告、招生安排、学校和片区。需要时可在${SETTINGS_PATH}中阅读并同意。`
}

function explainRefusal(what) {
  wx.showModal({ title: '未同意隐私保护指引', content: refusalMessage(what), showCancel: false, confirmText: '知道了' })
}

/** Register wx.onNeedPrivacyAuthorization (once; app.js calls it at launch). */
function listen() {
  if (listening || typeof wx.onNeedPrivacyAuthorization !== 'function') return
  listening = true
  wx.onNeedPrivacyAuthorization((resolve, eventInfo) => {
    const what = purpose || PURPOSE_OF[(eventInfo && eventInfo.referrer) || ''] || ''
    purpose = what
    if (!popups.length) {
      // No pop-up on this page to agree with: refuse now rather than leave the call hanging.
      explainRefusal(what)
      resolve({ event: 'disagree' })
      return
    }
    pending = resolve
    popups.forEach(popup => popup.open(what))
    resolve({ event: 'exposureAuthorization' })
  })
}

/** A privacy-popup on screen: opened while a request waits, closed once it is answered. */
function subscribe(popup) {
  popups.push(popup)
  if (pending) popup.open(purpose)
  return () => {
    const index = popups.indexOf(popup)
    if (index >= 0) popups.splice(index, 1)
  }
}

/** The family's answer in the pop-up: agreed (with the button's id) or refused. */
function answer(agreed) {
  const resolve = pending
  const what = purpose
  pending = null
  popups.forEach(popup => popup.close())
  if (!resolve) return
  if (agreed) {
    resolve({ buttonId: AGREE_BUTTON_ID, event: 'agree' })
  } else {
    explainRefusal(what)
    resolve({ event: 'disagree' })
  }
}

/** Resolves once the family agreed (asking with the pop-up if needed); rejects if refused. */
function ensurePrivacy(what) {
  if (typeof wx.requirePrivacyAuthorize !== 'function') return Promise.resolve() // before 2.32.3
  listen()
  return new Promise((resolve, reject) => {
    purpose = what || ''
    wx.requirePrivacyAuthorize({
      success: () => {
        purpose = ''
        resolve()
      },
      fail: () => {
        purpose = ''
        reject({ code: 'PRIVACY_REFUSED', message: refusalMessage(what), shown: true })
      },
    })
  })
}

/** Whether the family agreed already, and the name of the guide in the WeChat console. */
function state() {
  if (typeof wx.getPrivacySetting !== 'function') {
    return Promise.resolve({ agreed: true, contractName: CONTRACT_NAME })
  }
  return new Promise(resolve => wx.getPrivacySetting({
    success: res => resolve({
      agreed: !res.needAuthorization,
      contractName: res.privacyContractName || CONTRACT_NAME,
    }),
    fail: () => resolve({ agreed: false, contractName: CONTRACT_NAME }),
  }))
}

/** The guide as configured in the WeChat console (mp.weixin.qq.com). */
function openContract() {
  if (typeof wx.openPrivacyContract !== 'function') return
  wx.openPrivacyContract({
    fail: () => wx.showToast({ title: '暂时无法打开，请稍后再试', icon: 'none' }),
  })
}

module.exports = {
  AGREE_BUTTON_ID, CONTRACT_NAME, listen, subscribe, answer, ensurePrivacy, state, openContract,
  refusalMessage,
}
