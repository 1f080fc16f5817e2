/** A mocked `wx` per test, wired to a FakeServer (`global.server`). */
const { FakeServer, NETWORK_FAILURE } = require('./server')

function later(fn) {
  setTimeout(fn, 0)
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
  global.server = server
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
    chooseMedia: jest.fn(options => later(() => options.success({
      tempFiles: [{ tempFilePath: 'wxfile://tmp/photo-1.jpg', size: 1000 }],
    }))),
    requestSubscribeMessage: jest.fn(options => later(() => {
      const res = { errMsg: 'requestSubscribeMessage:ok' }
      options.tmplIds.forEach(id => { res[id] = 'accept' })
      options.success(res)
    })),
  }
  return { server, storage }
}

module.exports = { installWx }
