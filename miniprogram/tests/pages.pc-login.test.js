/** 电脑端登录: the phone scans a PC's code, sees where the PC is, confirms or refuses. */
const { openPage, text, tap, fire } = require('./helpers/page')

const SCENE = 'l=Ab3dEf7hIj1lMn5pQr9tUv'
const PC = {
  requested_at: '2024-08-05T08:03:27+08:00', browser: 'Chrome 126', os: 'Windows 10/11',
  address: '36.112.*.*', expires_in: 112,
}

function open() {
  // WeChat hands the scene over URL-encoded.
  return openPage('packages/account/pc-login/pc-login', { scene: encodeURIComponent(SCENE) })
}

describe('confirming a sign-in on a PC', () => {
  test('shows the PC\'s time, browser and network with the warning before anything else', async () => {
    server.on('POST', '/api/v1/auth/pc-login/scan', PC)
    const page = await open()
    const [call] = server.callsTo('POST', '/api/v1/auth/pc-login/scan')
    expect(call.data).toEqual({ scene: SCENE })
    expect(call.header.Authorization).toMatch(/^Bearer /)
    expect(text(page, '.question')).toBe('在电脑上登录？')
    expect(text(page, '.pc-time')).toBe('2024年8月5日 08:03')
    expect(text(page, '.pc-browser')).toBe('Windows 10/11 · Chrome 126')
    expect(text(page, '.pc-address')).toBe('36.112.*.*')
    expect(text(page, '.warning')).toBe('如果不是你本人在电脑前操作，请点击拒绝')
    expect(server.callsTo('POST', '/api/v1/auth/pc-login/confirm')).toHaveLength(0)
  })

  test('确认登录 confirms once and says the PC will sign in', async () => {
    server.on('POST', '/api/v1/auth/pc-login/scan', PC)
    server.on('POST', '/api/v1/auth/pc-login/confirm', { state: 'confirmed' })
    const page = await open()
    await tap(page, '.confirm')
    const [call] = server.callsTo('POST', '/api/v1/auth/pc-login/confirm')
    expect(call.data).toEqual({ scene: SCENE, decision: 'confirm' })
    expect(text(page, '.result-message')).toBe('已确认，电脑上将自动登录。离开电脑时请记得退出登录。')
    expect(page.querySelector('.confirm')).toBeFalsy()
    await tap(page, '.home')
    expect(wx.switchTab).toHaveBeenCalledWith({ url: '/pages/home/home' })
  })

  test('拒绝 refuses and says the PC will not sign in', async () => {
    server.on('POST', '/api/v1/auth/pc-login/scan', PC)
    server.on('POST', '/api/v1/auth/pc-login/confirm', { state: 'refused' })
    const page = await open()
    await tap(page, '.refuse')
    expect(server.callsTo('POST', '/api/v1/auth/pc-login/confirm')[0].data)
      .toEqual({ scene: SCENE, decision: 'refuse' })
    expect(text(page, '.result-message')).toBe('已拒绝，这台电脑不会登录你的账号。')
  })

  test.each([
    [410, 'PC_LOGIN_EXPIRED', '二维码已过期，请在电脑上点击刷新后重新扫码。'],
    [409, 'PC_LOGIN_USED', '该二维码已使用过，请在电脑上刷新二维码后重新扫码。'],
    [409, 'PC_LOGIN_TAKEN', '该二维码已被其他微信账号扫描。如需登录，请在电脑上刷新二维码后重新扫码。'],
    [404, 'PC_LOGIN_NOT_FOUND', '二维码无效或已过期，请在电脑上刷新二维码后重新扫码。'],
  ])('a code that cannot be used (%s %s) says what to do, with no buttons to confirm', async (status, code, message) => {
    server.on('POST', '/api/v1/auth/pc-login/scan', { status, body: { error: { code, message: '…' } } })
    const page = await open()
    expect(text(page, '.result-message')).toBe(message)
    expect(page.querySelector('.confirm')).toBeFalsy()
    expect(page.querySelector('.refuse')).toBeFalsy()
  })

  test('a code that expires while the parent reads is said so on 确认登录', async () => {
    server.on('POST', '/api/v1/auth/pc-login/scan', PC)
    server.on('POST', '/api/v1/auth/pc-login/confirm', { status: 410, body: { error: {
      code: 'PC_LOGIN_EXPIRED', message: '二维码已过期，请在电脑上刷新二维码后重新扫码' } } })
    const page = await open()
    await tap(page, '.confirm')
    expect(text(page, '.result-message')).toBe('二维码已过期，请在电脑上点击刷新后重新扫码。')
  })

  test('a scene that is not a PC sign-in asks nothing of the server', async () => {
    const page = await openPage('packages/account/pc-login/pc-login', { scene: encodeURIComponent('s=LX001') })
    expect(server.calls.filter(c => c.path.indexOf('/api/v1/auth/pc-login') === 0)).toHaveLength(0)
    expect(text(page, '.result-message')).toBe('二维码无效或已过期，请在电脑上刷新二维码后重新扫码。')
  })
})

describe('an account without a real-name binding: the phone for the PC\'s 实名登记', () => {
  const UNBOUND = Object.assign({}, PC, { identity_bound: false })

  test('offers WeChat\'s phone button and sends its code with 确认登录', async () => {
    server.on('POST', '/api/v1/auth/pc-login/scan', UNBOUND)
    server.on('POST', '/api/v1/auth/pc-login/confirm', { state: 'confirmed' })
    const page = await open()
    expect(text(page, '.pc-phone-intro')).toContain('电脑上实名登记时就不用再扫码')
    await fire(page, '.phone', 'getphonenumber', { code: 'phone-code-1', errMsg: 'getPhoneNumber:ok' })
    expect(text(page, '.phone')).toBe('已授权微信绑定的手机号')
    await tap(page, '.confirm')
    const [call] = server.callsTo('POST', '/api/v1/auth/pc-login/confirm')
    expect(call.data).toEqual({ scene: SCENE, decision: 'confirm', phone_code: 'phone-code-1' })
    expect(text(page, '.result-message')).toBe('已确认，电脑上将自动登录。离开电脑时请记得退出登录。')
    expect(privacy.violations).toEqual([])
  })

  test('before the privacy agreement the phone button waits behind it', async () => {
    privacy.agreed = false
    server.on('POST', '/api/v1/auth/pc-login/scan', UNBOUND)
    const page = await open()
    expect(page.querySelector('.phone')).toBeFalsy()
    expect(text(page, '.phone-privacy')).toBe('同意隐私保护指引后使用微信手机号')
    expect(page.querySelector('#privacy-popup')).toBeTruthy()
  })

  test('a refused phone prompt still signs in, without a code; a refusal never sends one', async () => {
    server.on('POST', '/api/v1/auth/pc-login/scan', UNBOUND)
    server.on('POST', '/api/v1/auth/pc-login/confirm', { state: 'refused' })
    const page = await open()
    await fire(page, '.phone', 'getphonenumber', { code: 'phone-code-2', errMsg: 'getPhoneNumber:ok' })
    await tap(page, '.refuse')
    expect(server.callsTo('POST', '/api/v1/auth/pc-login/confirm')[0].data)
      .toEqual({ scene: SCENE, decision: 'refuse' })
  })

  test('a denied phone prompt confirms without a code and says what that means', async () => {
    server.on('POST', '/api/v1/auth/pc-login/scan', UNBOUND)
    server.on('POST', '/api/v1/auth/pc-login/confirm', { state: 'confirmed' })
    const page = await open()
    await fire(page, '.phone', 'getphonenumber', { errMsg: 'getPhoneNumber:fail user deny' })
    expect(text(page, '.phone-denied')).toContain('未授权手机号也可以登录')
    await tap(page, '.confirm')
    expect(server.callsTo('POST', '/api/v1/auth/pc-login/confirm')[0].data)
      .toEqual({ scene: SCENE, decision: 'confirm' })
  })

  test('an expired phone code asks for the phone again and the sign-in stays open', async () => {
    server.on('POST', '/api/v1/auth/pc-login/scan', UNBOUND)
    server.on('POST', '/api/v1/auth/pc-login/confirm', { status: 422, body: { error: {
      code: 'INVALID_PHONE_CODE', message: '手机号授权已失效，请重新点击获取手机号' } } })
    const page = await open()
    await fire(page, '.phone', 'getphonenumber', { code: 'phone-code-3', errMsg: 'getPhoneNumber:ok' })
    await tap(page, '.confirm')
    expect(text(page, '.phone')).toBe('使用微信绑定的手机号')
    expect(page.querySelector('.confirm')).toBeTruthy()
  })

  test('a bound account is asked for nothing', async () => {
    server.on('POST', '/api/v1/auth/pc-login/scan', Object.assign({}, PC, { identity_bound: true }))
    const page = await open()
    expect(page.querySelector('.pc-phone')).toBeFalsy()
  })
})
