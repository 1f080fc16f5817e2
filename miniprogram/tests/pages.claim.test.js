/** 认领代报名: the code from the school's slip, the claim, what the family now has. */
const { openPage, text, tap, fire } = require('./helpers/page')

const CLAIMED = {
  registrations: [{ id: 12, school_name: '临泉镇第一小学（示例）', child_name: '李小示', status: 'submitted', status_name: '已受理' }],
  children: 1,
  message: '认领成功：1 名儿童、1 条报名已转入您的账号',
}

describe('claiming a registration the school made at the counter', () => {
  test('is reached from 我的', async () => {
    server.on('GET', '/api/v1/me', { id: 1, role: 'parent', identity_bound: false, children: [] })
    const page = await openPage('pages/me/me')
    await tap(page, '.claim')
    expect(wx.navigateTo).toHaveBeenCalledWith({ url: '/packages/identity/claim/claim' })
  })

  test('posts the code as printed, whatever was typed, and shows what moved', async () => {
    server.on('POST', '/api/v1/me/claims', CLAIMED)
    const page = await openPage('packages/identity/claim/claim')
    await fire(page, '.code', 'input', { value: 'k7mq 4xpd' })
    expect(page.data.code).toBe('K7MQ4XPD')
    await tap(page, '.submit')
    const [call] = server.callsTo('POST', '/api/v1/me/claims')
    expect(call.data).toEqual({ code: 'K7MQ-4XPD' })
    expect(text(page, '.result-message')).toBe('认领成功：1 名儿童、1 条报名已转入您的账号')
    expect(text(page, '.child-name')).toBe('李小示')
    await tap(page, '.registrations')
    expect(wx.switchTab).toHaveBeenCalledWith({ url: '/pages/registrations/list' })
  })

  test('a short code is refused before any request', async () => {
    const page = await openPage('packages/identity/claim/claim')
    await fire(page, '.code', 'input', { value: 'K7MQ' })
    await tap(page, '.submit')
    expect(server.callsTo('POST', '/api/v1/me/claims')).toHaveLength(0)
    expect(wx.showModal).toHaveBeenCalledWith(expect.objectContaining({ content: '请输入学校给您的 8 位认领码' }))
  })

  test.each([
    [404, 'CLAIM_CODE_NOT_FOUND', '认领码不正确，请核对学校给您的纸条上的 8 位认领码'],
    [410, 'CLAIM_CODE_EXPIRED', '该认领码已过期，请联系报名学校重新生成'],
    [409, 'CLAIM_IDENTITY_CONFLICT', '您的微信账号已实名登记为另一位家长，不能认领此报名。'],
  ])('a refused claim (%s %s) says why in Chinese and stays on the form', async (status, code, message) => {
    server.on('POST', '/api/v1/me/claims', { status, body: { error: { code, message } } })
    const page = await openPage('packages/identity/claim/claim', { code: 'K7MQ-4XPD' })
    await tap(page, '.submit')
    expect(wx.showModal).toHaveBeenCalledWith(expect.objectContaining({ content: message }))
    expect(page.querySelector('.submit')).toBeTruthy()
    expect(page.data.result).toBe(null)
  })
})

test('binding an ID number the school entered offers the claim instead', async () => {
  server.on('POST', '/api/v1/me/identity', { status: 409, body: { error: { code: 'IDENTITY_ENTERED_BY_SCHOOL',
    message: '学校已为该证件号码的家长代为报名。请在“我的 → 认领代报名”中输入学校给您的认领码' } } })
  const page = await openPage('packages/identity/bind/bind')
  await fire(page, '.name', 'input', { value: '李示例' })
  await fire(page, '.relation', 'change', { value: 2 })
  await fire(page, '.id-number', 'input', { value: '141124199005019034' })
  await tap(page, '.submit')
  expect(wx.showModal).toHaveBeenCalledWith(expect.objectContaining({ title: '学校已代为报名', confirmText: '去认领' }))
  expect(wx.redirectTo).toHaveBeenCalledWith({ url: '/packages/identity/claim/claim' })
})
