/** utils/request.js: token, silent re-login on 401, error mapping, network failure, uploads. */
const { NETWORK_FAILURE, error } = require('./helpers/server')
const { flush } = require('./helpers/page')

function load() {
  return require('../src/utils/request')
}

test('sends the bearer token to the base URL of the running build', async () => {
  server.on('GET', '/api/v1/me', { id: 1, role: 'parent' })
  const me = await load().call('getMe')
  expect(me).toEqual({ id: 1, role: 'parent' })
  const [call] = server.callsTo('GET', '/api/v1/me')
  expect(wx.request.mock.calls[0][0].url).toBe('http://127.0.0.1:8000/api/v1/me')
  expect(call.header.Authorization).toBe('Bearer token-1')
})

test('logs in first when there is no token yet', async () => {
  wx.removeStorageSync('token')
  server.on('GET', '/api/v1/me', { id: 1 })
  await load().call('getMe')
  const [login] = server.callsTo('POST', '/api/v1/auth/wechat-login')
  expect(login.data).toEqual({ code: 'wx-code-1' })
  expect(login.header.Authorization).toBeUndefined()
  expect(server.callsTo('GET', '/api/v1/me')[0].header.Authorization).toBe('Bearer token-1')
  expect(getApp().globalData.user.role).toBe('parent')
})

test('a 401 logs in again silently, once, and repeats the call with the new token', async () => {
  wx.setStorageSync('token', 'expired')
  server.on('GET', '/api/v1/registrations', { items: [] })
  const body = await load().call('listRegistrations')
  expect(body).toEqual({ items: [] })
  const calls = server.callsTo('GET', '/api/v1/registrations')
  expect(calls.map(c => c.header.Authorization)).toEqual(['Bearer expired', 'Bearer token-1'])
  expect(wx.login).toHaveBeenCalledTimes(1)
  expect(wx.getStorageSync('token')).toBe('token-1')
})

test('a second 401 after re-login is an error, not a loop', async () => {
  server.on('GET', '/api/v1/me', error(401, 'UNAUTHENTICATED', '登录已失效，请重新登录'))
  await expect(load().call('getMe')).rejects.toMatchObject({ status: 401, code: 'UNAUTHENTICATED' })
  expect(server.callsTo('GET', '/api/v1/me')).toHaveLength(2)
  expect(wx.login).toHaveBeenCalledTimes(1)
})

test('concurrent 401s share one login', async () => {
  wx.setStorageSync('token', 'expired')
  server.on('GET', '/api/v1/me', { id: 1 })
  server.on('GET', '/api/v1/me/children', { items: [] })
  const request = load()
  await Promise.all([request.call('getMe'), request.call('listChildren')])
  expect(server.callsTo('POST', '/api/v1/auth/wechat-login')).toHaveLength(1)
})

test('public endpoints send no token and never log in', async () => {
  wx.removeStorageSync('token')
  server.on('GET', '/api/v1/schools/{code}', { code: 'LX001' })
  await load().call('getSchool', { params: { code: 'LX001' } })
  expect(server.callsTo('GET', '/api/v1/schools/{code}')[0].header.Authorization).toBeUndefined()
  expect(wx.login).not.toHaveBeenCalled()
})

test('the server error code becomes an ApiError with its Chinese message', async () => {
  server.on('POST', '/api/v1/me/identity', {
    status: 409,
    body: { error: { code: 'IDENTITY_ALREADY_BOUND', message: '该证件号码已绑定其他微信账号', details: { dispute: 'x' } } },
  })
  const request = load()
  const err = await request.call('bindIdentity', { data: { name: '王示例', id_number: '141124199005019034' } }).catch(e => e)
  expect(err).toBeInstanceOf(request.ApiError)
  expect(err).toMatchObject({ status: 409, code: 'IDENTITY_ALREADY_BOUND', message: '该证件号码已绑定其他微信账号', details: { dispute: 'x' } })
})

test('an answer without an error body gets a Chinese message for its status', async () => {
  server.on('GET', '/api/v1/me', { status: 502, body: '<html>bad gateway</html>' })
  await expect(load().call('getMe')).rejects.toMatchObject({ status: 502, code: 'HTTP_502', message: '系统繁忙，请稍后再试' })
  server.on('GET', '/api/v1/me', { status: 429, body: null })
  await expect(load().call('getMe')).rejects.toMatchObject({ message: '操作太频繁，请稍后再试' })
})

test('a network failure asks to retry and repeats the call when the user says yes', async () => {
  let attempts = 0
  server.on('GET', '/api/v1/me', () => {
    attempts += 1
    return attempts === 1 ? NETWORK_FAILURE : { id: 1 }
  })
  const body = await load().call('getMe')
  expect(body).toEqual({ id: 1 })
  expect(wx.showModal).toHaveBeenCalledTimes(1)
  expect(wx.showModal.mock.calls[0][0]).toMatchObject({ title: '网络连接失败', confirmText: '重试' })
  expect(attempts).toBe(2)
})

test('a network failure the user does not retry rejects, marked as already shown', async () => {
  wx.showModal.mockImplementation(options => setTimeout(() => options.success({ confirm: false, cancel: true }), 0))
  server.on('GET', '/api/v1/me', NETWORK_FAILURE)
  const request = load()
  const err = await request.call('getMe').catch(e => e)
  expect(err).toBeInstanceOf(request.NetworkError)
  expect(err.shown).toBe(true)
  const ui = require('../src/utils/ui')
  wx.showModal.mockClear()
  ui.showError(err)
  expect(wx.showModal).not.toHaveBeenCalled()
})

test('silent calls (polling) reject on a network failure without a prompt', async () => {
  server.on('GET', '/api/v1/registrations/tickets/{ticket}', NETWORK_FAILURE)
  await expect(load().call('getTicket', { params: { ticket: 'T1' }, silent: true }))
    .rejects.toMatchObject({ name: 'NetworkError' })
  expect(wx.showModal).not.toHaveBeenCalled()
})

test('path parameters are encoded and query values appended', async () => {
  server.on('GET', '/api/v1/zones/lookup', { schools: [] })
  server.on('GET', '/api/v1/schools/{code}', {})
  const request = load()
  await request.call('lookupZone', { query: { region_code: 'LX-LQ-001', empty: '' } })
  await request.call('getSchool', { params: { code: 'A B' } })
  expect(server.callsTo('GET', '/api/v1/zones/lookup')[0].query).toEqual({ region_code: 'LX-LQ-001' })
  expect(wx.request.mock.calls.map(c => c[0].url)).toContain('http://127.0.0.1:8000/api/v1/schools/A%20B')
  await expect(request.call('getSchool', { params: {} })).rejects.toThrow('missing path parameter code')
})

test('catalogue calls carry the authority of a scanned county code', async () => {
  getApp().globalData.authority = 'otherxian'
  server.on('GET', '/api/v1/seasons/current', {})
  await load().call('getCurrentSeason')
  expect(server.callsTo('GET', '/api/v1/seasons/current')[0].query).toEqual({ authority: 'otherxian' })
})

test('uploads go through wx.uploadFile with the same token, re-login and error rules', async () => {
  wx.setStorageSync('token', 'expired')
  server.on('POST', '/api/v1/uploads', req => ({ upload_id: 'f'.repeat(32), kind: req.data.formData.kind, size: 10 }))
  const request = load()
  const body = await request.upload('uploadDocument', 'wxfile://a.jpg', { kind: 'hukou_book' })
  expect(body).toMatchObject({ upload_id: 'f'.repeat(32), kind: 'hukou_book' })
  const calls = server.callsTo('POST', '/api/v1/uploads')
  expect(calls.map(c => c.header.Authorization)).toEqual(['Bearer expired', 'Bearer token-1'])
  expect(calls[1].data).toEqual({ filePath: 'wxfile://a.jpg', name: 'file', formData: { kind: 'hukou_book' } })
  expect(calls[1].header['Content-Type']).toBeUndefined()

  server.on('POST', '/api/v1/uploads', { status: 413, body: { error: { code: 'UPLOAD_TOO_LARGE', message: '文件不能超过 8 MB' } } })
  await expect(request.upload('uploadDocument', 'wxfile://b.jpg', { kind: 'hukou_book' }))
    .rejects.toMatchObject({ status: 413, message: '文件不能超过 8 MB' })

  let attempts = 0
  server.on('POST', '/api/v1/uploads', () => {
    attempts += 1
    return attempts === 1 ? NETWORK_FAILURE : { upload_id: 'c'.repeat(32) }
  })
  await expect(request.upload('uploadDocument', 'wxfile://c.jpg', { kind: 'hukou_book' }))
    .resolves.toMatchObject({ upload_id: 'c'.repeat(32) })
  expect(wx.showModal).toHaveBeenCalledWith(expect.objectContaining({ confirmText: '重试' }))
})

test('a failed wx.login is reported in Chinese', async () => {
  wx.removeStorageSync('token')
  wx.login.mockImplementation(options => options.fail({ errMsg: 'login:fail' }))
  await expect(load().call('getMe')).rejects.toMatchObject({ code: 'WX_LOGIN_FAILED', message: '微信登录失败，请稍后重试' })
  await flush()
})

test('idempotency keys are 32 letters/digits and differ', () => {
  const { newIdempotencyKey } = load()
  const a = newIdempotencyKey()
  expect(a).toMatch(/^[a-z0-9]{32}$/)
  expect(newIdempotencyKey()).not.toBe(a)
})

test('the app logs in at launch', async () => {
  wx.removeStorageSync('token')
  require('../src/app')
  global.__appDefinition.onLaunch()
  await flush()
  expect(wx.getStorageSync('token')).toBe('token-1')
})

test('a develop build pointed at the simulator gets its login code there, never in release', async () => {
  const config = require('../src/config/index')
  config.simulatorUrl = 'http://127.0.0.1:8090/'
  wx.removeStorageSync('token')
  const simulatorCalls = []
  const original = wx.request.getMockImplementation()
  wx.request.mockImplementation(options => {
    if (options.url.indexOf('http://127.0.0.1:8090/') === 0) {
      simulatorCalls.push(options)
      setTimeout(() => options.success({ statusCode: 200, data: { code: 'sim-code-1' } }), 0)
      return
    }
    original(options)
  })
  server.on('GET', '/api/v1/me', { id: 1 })
  await load().call('getMe')
  expect(simulatorCalls.map(c => [c.url, c.data])).toEqual([['http://127.0.0.1:8090/sim/login-code', { openid: 'o-devtools-parent' }]])
  expect(server.callsTo('POST', '/api/v1/auth/wechat-login')[0].data).toEqual({ code: 'sim-code-1' })
  expect(wx.login).not.toHaveBeenCalled()

  wx.getAccountInfoSync.mockReturnValue({ miniProgram: { envVersion: 'release' } })
  wx.removeStorageSync('token')
  expect(require('../src/config/env').apiBaseUrl()).toBe('https://enroll.example.gov.cn')
  await load().login().catch(() => null) // the release API is not the fake server: refused
  expect(wx.login).toHaveBeenCalledTimes(1)
  expect(simulatorCalls).toHaveLength(1)
})
