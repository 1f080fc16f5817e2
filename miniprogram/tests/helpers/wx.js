/**
 * A mocked `wx` per test, wired to a FakeServer (`global.server`) and to WeChat's privacy
 * check (`global.privacy`): agreed by default; a test sets `privacy.agreed = false` to see
 * the pop-up. Privacy-scoped APIs called before the agreement fail as WeChat's do and are
 * listed in `privacy.violations`.
 */
const { FakeServer, NETWORK_FAILURE } = require('./server')

const REFUSED = 'privacy permission is not authorized'

function later(fn) {
  setTimeout(fn, 0)
}

/** WeChat's side of the privacy agreement: the listener, the setting, requirePrivacyAuthorize. */
function privacyCheck() {
  const privacy = { agreed: true, listener: null, resolve: null, violations: [] }
  privacy.onNeedPrivacyAuthorization = jest.fn(listener => { privacy.listener = listener })
  privacy.getPrivacySetting = jest.fn(options => later(() => options.success({
    needAuthorization: !privacy.agreed, privacyContractName: '《义务教育入学服务平台小程序隐私保护指引》',
  })))
  /** What WeChat does when an agreement is needed: the listener gets a resolve to call. */
  privacy.ask = (referrer, onAgree, onRefuse) => {
    if (!privacy.listener) { onRefuse(); return }
    privacy.resolve = jest.fn(result => {
      if (result.event === 'agree' && result.buttonId) {
        privacy.agreed = true
        onAgree()
      } else if (result.event === 'disagree') {
        onRefuse()
      }
    })
    privacy.listener(privacy.resolve, { referrer })
  }
  privacy.requirePrivacyAuthorize = jest.fn(options => later(() => {
    if (privacy.agreed) { options.success({ errMsg: 'requirePrivacyAuthorize:ok' }); return }
    privacy.ask('requirePrivacyAuthorize', () => options.success({ errMsg: 'requirePrivacyAuthorize:ok' }),
      () => options.fail({ errMsg: `requirePrivacyAuthorize:fail ${REFUSED}` }))
  }))
  /** A privacy-scoped API: refused (and recorded) while the family has not agreed. */
  privacy.scoped = (name, run) => jest.fn(options => {
    if (!privacy.agreed) {
      privacy.violations.push(name)
      later(() => options.fail && options.fail({ errMsg: `${name}:fail ${REFUSED}` }))
      return
    }
    run(options)
  })
  return privacy
}

function installWx() {
  const server = new FakeServer()
  const storage = new Map([['token', 'token-1']])
  const respond = (options, result, isUpload) => later(() => {
    if (result === NETWORK_FAILURE) {
      if (options.fail) options.fail({ errMsg: `${isUpload ? 'uploadFile' : 'request'}:fail timeout` })
      return
    }
    const data = isUpload ? JSON.stringify(result.body) : result.body
    if (options.success) options.success({ statusCode: result.status, data, header: {} })
  })
  const privacy = privacyCheck()
  global.server = server
  global.privacy = privacy
  global.wx = {
    request: jest.fn(options => {
      respond(options, server.handle(options.method || 'GET', options.url, options.header, options.data, false), false)
    }),
    uploadFile: jest.fn(options => {
      const data = { filePath: options.filePath, name: options.name, formData: options.formData }
      respond(options, server.handle('POST', options.url, options.header, data, true), true)
    }),
    login: jest.fn(options => later(() => options.success({ code: `wx-code-${server.loginCount + 1}` }))),
    getStorageSync: jest.fn(key => (storage.has(key) ? storage.get(key) : '')),
    setStorageSync: jest.fn((key, value) => storage.set(key, value)),
    removeStorageSync: jest.fn(key => storage.delete(key)),
    getAccountInfoSync: jest.fn(() => ({ miniProgram: { appId: 'wx0000000000000000', envVersion: 'develop' } })),
    showModal: jest.fn(options => later(() => options.success && options.success({ confirm: true, cancel: false }))),
    showToast: jest.fn(),
    showLoading: jest.fn(),
    hideLoading: jest.fn(),
    navigateTo: jest.fn(),
    redirectTo: jest.fn(),
    switchTab: jest.fn(),
    navigateBack: jest.fn(),
    setNavigationBarTitle: jest.fn(),
    stopPullDownRefresh: jest.fn(),
    setTabBarBadge: jest.fn(),
    removeTabBarBadge: jest.fn(),
    makePhoneCall: jest.fn(),
    scanCode: jest.fn(),
    downloadFile: jest.fn(),
    previewImage: jest.fn(),
    openDocument: jest.fn(),
    chooseMedia: privacy.scoped('chooseMedia', options => later(() => options.success({
      tempFiles: [{ tempFilePath: 'wxfile://tmp/photo-1.jpg', size: 1000 }],
    }))),
    chooseMessageFile: privacy.scoped('chooseMessageFile', options => later(() => options.success({ tempFiles: [] }))),
    getLocation: privacy.scoped('getLocation', options => later(() => options.success({ latitude: 37.9, longitude: 110.9 }))),
    setClipboardData: privacy.scoped('setClipboardData', options => later(() => options.success && options.success({}))),
    onNeedPrivacyAuthorization: privacy.onNeedPrivacyAuthorization,
    getPrivacySetting: privacy.getPrivacySetting,
    requirePrivacyAuthorize: privacy.requirePrivacyAuthorize,
    openPrivacyContract: jest.fn(options => later(() => options && options.success && options.success({}))),
    requestSubscribeMessage: jest.fn(options => later(() => {
      const res = { errMsg: 'requestSubscribeMessage:ok' }
      options.tmplIds.forEach(id => { res[id] = 'accept' })
      options.success(res)
    })),
  }
  return { server, storage, privacy }
}

module.exports = { installWx }
