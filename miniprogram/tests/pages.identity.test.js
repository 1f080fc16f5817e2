/** 报名须知, 实名登记, 我的孩子, 孩子信息. */
const { openPage, text, tap, fire } = require('./helpers/page')
const fx = require('./helpers/fixtures')

const VALID_ADULT = '141124199005019034'

describe('must-read notice', () => {
  test('the tick and the button unlock only after scrolling to the end; agreeing moves on', async () => {
    server.on('GET', '/api/v1/seasons/current', fx.season())
    server.on('GET', '/api/v1/me', { id: 1, role: 'parent', identity_bound: false, children: [] })
    const page = await openPage('packages/identity/must-read/must-read', { school: 'LX001' })
    expect(text(page, '.must-read-content')).toContain('报名先后不影响录取')
    expect(text(page, '.must-read-content')).toContain('2019年8月31日 及之前出生')
    expect(page.data.readToEnd).toBe(false)
    await tap(page, '.agree-button')
    expect(wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '请读完须知并勾选同意' }))
    expect(wx.redirectTo).not.toHaveBeenCalled()

    await fire(page, '.must-read-scroll', 'scrolltolower', {})
    await fire(page, '.agree-group', 'change', { value: ['agree'] })
    expect(page.data.ticked).toBe(true)
    await tap(page, '.agree-button')
    expect(wx.getStorageSync('mustRead:7')).toBeTruthy()
    expect(wx.redirectTo).toHaveBeenCalledWith({ url: '/packages/identity/bind/bind?school=LX001' })
  })

  test("the season's own notice from the bureau follows the standard sections", async () => {
    server.on('GET', '/api/v1/seasons/current', fx.season({ must_read_notice: '今年户口簿须提供户主页。' }))
    const page = await openPage('packages/identity/must-read/must-read', { review: '1' })
    expect(text(page, '.must-read-content')).toContain('九、本季须知')
    expect(text(page, '.must-read-content')).toContain('今年户口簿须提供户主页。')
  })

  test('opened from 我的 it is only for reading', async () => {
    server.on('GET', '/api/v1/seasons/current', fx.season())
    const page = await openPage('packages/identity/must-read/must-read', { review: '1' })
    expect(page.querySelector('.agree-button')).toBeFalsy()
  })
})

describe('real-name binding', () => {
  test('checks the ID number while typing', async () => {
    const page = await openPage('packages/identity/bind/bind')
    await fire(page, '.id-number', 'input', { value: '1411241990' })
    expect(text(page, '.id-hint')).toBe('还差 8 位')
    await fire(page, '.id-number', 'input', { value: '141124199005019030' })
    expect(text(page, '.id-hint')).toBe('身份证号码校验位不正确，请核对后重新输入')
    expect(page.querySelector('.id-hint').dom.className).toContain('hint-error')
    await fire(page, '.id-number', 'input', { value: VALID_ADULT })
    expect(text(page, '.id-hint')).toBe('号码有效：1990年5月1日出生，男')
  })

  test('posts name, number, relation and the getPhoneNumber code, then goes on', async () => {
    server.on('POST', '/api/v1/me/identity', { name: '王*例' })
    server.on('GET', '/api/v1/seasons/current', fx.season())
    server.on('GET', '/api/v1/me', { id: 1, role: 'parent', identity_bound: true, children: [] })
    wx.setStorageSync('mustRead:7', 1)
    const page = await openPage('packages/identity/bind/bind', { school: 'LX001' })
    await fire(page, '.name', 'input', { value: '王示例' })
    await fire(page, '.relation', 'change', { value: 1 })
    await fire(page, '.id-number', 'input', { value: `${VALID_ADULT.slice(0, 6)} ${VALID_ADULT.slice(6)}` })
    await fire(page, '.phone', 'getphonenumber', { code: 'phone-code-1', errMsg: 'getPhoneNumber:ok' })
    expect(text(page, '.phone')).toBe('已授权微信绑定的手机号')
    await tap(page, '.submit')
    const [call] = server.callsTo('POST', '/api/v1/me/identity')
    expect(call.data).toEqual({ name: '王示例', id_number: VALID_ADULT, document_type: 'resident_id',
      relation: 'mother', phone_code: 'phone-code-1' })
    expect(wx.redirectTo).toHaveBeenCalledWith({ url: '/packages/identity/child-edit/child-edit?school=LX001' })
  })

  test('a refused phone prompt still lets the parent bind; a bad number never reaches the server', async () => {
    server.on('POST', '/api/v1/me/identity', { name: '王*例' })
    const page = await openPage('packages/identity/bind/bind')
    await fire(page, '.phone', 'getphonenumber', { errMsg: 'getPhoneNumber:fail user deny' })
    expect(text(page, '.phone-denied')).toContain('未授权手机号也可以继续')
    await fire(page, '.name', 'input', { value: '王示例' })
    await fire(page, '.relation', 'change', { value: 0 })
    await fire(page, '.id-number', 'input', { value: '141124199005019030' })
    await tap(page, '.submit')
    expect(server.callsTo('POST', '/api/v1/me/identity')).toHaveLength(0)
    expect(wx.showModal).toHaveBeenCalledWith(expect.objectContaining({ content: '身份证号码校验位不正确，请核对后重新输入' }))
  })

  test('a number bound to another account offers the dispute', async () => {
    server.on('POST', '/api/v1/me/identity', { status: 409, body: { error: { code: 'IDENTITY_ALREADY_BOUND', message: '该证件号码已绑定其他微信账号。如非本人操作，可提交申诉，由教育局核实处理' } } })
    server.on('POST', '/api/v1/me/identity/disputes', { id: 1, status: 'open' })
    const page = await openPage('packages/identity/bind/bind')
    await fire(page, '.name', 'input', { value: '王示例' })
    await fire(page, '.relation', 'change', { value: 0 })
    await fire(page, '.id-number', 'input', { value: VALID_ADULT })
    await tap(page, '.submit')
    expect(wx.showModal.mock.calls[0][0]).toMatchObject({ title: '证件已被绑定', confirmText: '提交申诉' })
    const [dispute] = server.callsTo('POST', '/api/v1/me/identity/disputes')
    expect(dispute.data).toMatchObject({ name: '王示例', id_number: VALID_ADULT, document_type: 'resident_id' })
  })
})

describe('children', () => {
  test('the list shows each child with eligibility', async () => {
    server.on('GET', '/api/v1/me/children', { items: [fx.child(), fx.child({ id: 12, name: '张小弟', eligibility: { eligible: false, reason: '未满6周岁：2025年入学需在2019年8月31日及之前出生' } })] })
    const page = await openPage('packages/identity/children/children')
    const children = page.querySelectorAll('.child')
    expect(children).toHaveLength(2)
    expect(children[0].dom.textContent).toContain('符合入学年龄')
    expect(children[1].dom.textContent).toContain('年龄不符')
    expect(children[1].dom.textContent).toContain('未满6周岁')
  })

  function childEditServer() {
    server.on('GET', '/api/v1/seasons/current', fx.season())
    server.on('GET', '/api/v1/regions', fx.regions())
    server.on('GET', '/api/v1/categories', fx.categories())
    server.on('GET', '/api/v1/privacy/consent-text', fx.consentText())
  }

  async function fillChild(page) {
    await fire(page, '.name', 'input', { value: '张小示' })
    await fire(page, '.id-number', 'input', { value: '141124201803019151' })
    await fire(page, '.hukou-town', 'change', { value: 0 })
    await fire(page, '.hukou-village', 'change', { value: 1 })
  }

  test('adding a child shows eligibility at once and posts the right body', async () => {
    childEditServer()
    server.on('POST', '/api/v1/me/children', req => fx.child({ name: req.data.name }))
    server.on('GET', '/api/v1/me', { id: 1, role: 'parent', identity_bound: true, children: [fx.child()] })
    wx.setStorageSync('mustRead:7', 1)
    const page = await openPage('packages/identity/child-edit/child-edit', { school: 'LX001' })
    await fire(page, '.name', 'input', { value: '张小示' })
    await fire(page, '.id-number', 'input', { value: '141124201909019168' }) // born 1 September
    expect(text(page, '.eligibility')).toBe('未满6周岁：2025年入学需在2019年8月31日及之前出生')
    await fire(page, '.id-number', 'input', { value: '141124201803019151' })
    expect(text(page, '.eligibility')).toBe('符合入学年龄（2019年8月31日及之前出生）')
    await fire(page, '.hukou-town', 'change', { value: 0 })
    await fire(page, '.hukou-village', 'change', { value: 1 })
    await fire(page, '.hukou-street', 'input', { value: '示例路 3 号' })
    await fire(page, '.categories', 'change', { value: ['migrant'] })
    await fire(page, '.permit-number', 'input', { value: 'JZ-0001' })
    await fire(page, '.permit-issued', 'change', { value: '2024-03-01' })
    expect(text(page, '.consent-card')).toContain('第三十一条')
    expect(text(page, '.consent-version')).toBe('版本 2025-1')
    await fire(page, '.consent-agree', 'change', { value: ['agree'] })
    await tap(page, '.submit')
    const [call] = server.callsTo('POST', '/api/v1/me/children')
    expect(call.data).toEqual({
      name: '张小示', id_number: '141124201803019151', document_type: 'resident_id',
      hukou: { region_code: 'LX-LQ-002', address: '示例路 3 号' },
      categories: ['migrant'],
      residence_permit: { number: 'JZ-0001', issued_on: '2024-03-01' },
      guardian_consent: { version: '2025-1', agreed: true },
    })
    expect(wx.showModal).toHaveBeenCalledWith(expect.objectContaining({ title: '已保存', content: '符合入学年龄（2019年8月31日及之前出生）' }))
    expect(wx.redirectTo).toHaveBeenCalledWith({ url: '/packages/register/form/form?school=LX001' })
  })

  test('a new child is not saved until the guardian ticks the consent text', async () => {
    childEditServer()
    server.on('POST', '/api/v1/me/children', req => fx.child({ name: req.data.name }))
    const page = await openPage('packages/identity/child-edit/child-edit')
    await fillChild(page)
    expect(page.data.consentAgreed).toBe(false) // never ticked for the family
    await tap(page, '.submit')
    expect(server.callsTo('POST', '/api/v1/me/children')).toHaveLength(0)
    expect(wx.showModal).toHaveBeenCalledWith(expect.objectContaining({
      content: '请先阅读《儿童个人信息处理监护人同意书》，并勾选同意后再保存' }))
    // Ticked, then unticked: still refused.
    await fire(page, '.consent-agree', 'change', { value: ['agree'] })
    await fire(page, '.consent-agree', 'change', { value: [] })
    await tap(page, '.submit')
    expect(server.callsTo('POST', '/api/v1/me/children')).toHaveLength(0)
  })

  test('without the consent text nothing is saved; reading it again lets the family agree', async () => {
    childEditServer()
    server.on('GET', '/api/v1/privacy/consent-text', { status: 503, body: { error: { code: 'UNAVAILABLE', message: '系统繁忙' } } })
    server.on('POST', '/api/v1/me/children', req => fx.child({ name: req.data.name }))
    const page = await openPage('packages/identity/child-edit/child-edit')
    await fillChild(page)
    expect(text(page, '.consent-failed')).toContain('同意书没有读取成功')
    await tap(page, '.submit')
    expect(server.callsTo('POST', '/api/v1/me/children')).toHaveLength(0)
    server.on('GET', '/api/v1/privacy/consent-text', fx.consentText())
    await tap(page, '.consent-retry')
    await fire(page, '.consent-agree', 'change', { value: ['agree'] })
    await tap(page, '.submit')
    expect(server.callsTo('POST', '/api/v1/me/children')).toHaveLength(1)
  })

  test('a consent text changed meanwhile is shown again, unticked', async () => {
    childEditServer()
    server.on('POST', '/api/v1/me/children', { status: 422, body: { error: { code: 'GUARDIAN_CONSENT_OUTDATED', message: '同意书内容已更新，请重新阅读后勾选同意', details: { field: 'guardian_consent' } } } })
    const page = await openPage('packages/identity/child-edit/child-edit')
    await fillChild(page)
    await fire(page, '.consent-agree', 'change', { value: ['agree'] })
    server.on('GET', '/api/v1/privacy/consent-text', fx.consentText({ version: '2025-2' }))
    await tap(page, '.submit')
    expect(wx.showModal).toHaveBeenCalledWith(expect.objectContaining({ content: '同意书内容已更新，请重新阅读后勾选同意' }))
    expect(page.data.consent.version).toBe('2025-2')
    expect(page.data.consentAgreed).toBe(false)
  })

  test('editing a child patches names, addresses and groups, never the ID number', async () => {
    childEditServer()
    server.on('GET', '/api/v1/me/children/{child_id}', fx.child({ categories: ['disability'], disability: { placement_wish: 'regular_class', placement_wish_name: '随班就读' } }))
    server.on('PATCH', '/api/v1/me/children/{child_id}', fx.child())
    const page = await openPage('packages/identity/child-edit/child-edit', { id: '11' })
    expect(page.querySelector('.id-number')).toBeFalsy()
    expect(page.querySelector('.consent-card')).toBeFalsy() // given when the child was added
    expect(server.callsTo('GET', '/api/v1/privacy/consent-text')).toHaveLength(0)
    expect(page.data.hukou).toEqual({ townIndex: 0, villageIndex: 0, address: '' })
    expect(page.data.placementIndex).toBe(0)
    await fire(page, '.name', 'input', { value: '张小明' })
    await fire(page, '.categories', 'change', { value: [] })
    await tap(page, '.submit')
    const [call] = server.callsTo('PATCH', '/api/v1/me/children/{child_id}')
    expect(call.params).toEqual({ child_id: '11' })
    expect(call.data).toEqual({ name: '张小明', hukou: { region_code: 'LX-LQ-001', address: '' },
      categories: [], residence: null, disability: null })
    expect(wx.navigateBack).toHaveBeenCalled()
  })
})
