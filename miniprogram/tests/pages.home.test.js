/** 首页, 查找学校, 学校, 未知二维码: the QR entry and the public pages. */
const { openPage, text, tap, fire } = require('./helpers/page')
const fx = require('./helpers/fixtures')

function publicCatalogue() {
  server.on('GET', '/api/v1/seasons/current', fx.season())
  server.on('GET', '/api/v1/announcements', {
    items: [{ id: 3, level: 'county', authority: 'linxian', school: null, category: 'policy',
      category_name: '招生政策', title: '2025年小学招生工作方案', published_at: '2025-07-31T09:00:00+08:00',
      attachment_count: 0 }], total: 1, page: 1, page_size: 5,
  })
}

describe('home', () => {
  test('shows the season timeline with the current phase, the countdown and the fairness notice', async () => {
    publicCatalogue()
    const page = await openPage('pages/home/home')
    expect(text(page, '.season-name')).toBe('2025年小学招生（示例）')
    expect(text(page, '.fairness')).toContain('报名先后不影响录取')
    expect(text(page, '.countdown-label')).toBe('距报名开始还有')
    expect(text(page, '.countdown-text')).toMatch(/^1天2\d小时\d+分$|^2天0小时\d+分$|^1天\d+小时\d+分$/)
    const timeline = page.querySelector('.steps')
    const steps = timeline.querySelectorAll('.step')
    expect(steps.map(s => s.dom.className.replace(/step-timeline--/g, ''))).toEqual(
      ['step step-current', 'step step-done', 'step step-todo'])
    expect(text(timeline, '.step-current .step-title')).toBe('招生宣传（当前）')
    expect(text(page, '.announcement-title')).toBe('2025年小学招生工作方案')
    expect(server.callsTo('GET', '/api/v1/announcements')[0].query).toEqual({ page_size: '5' })
    page.detach()
  })

  test('says so when there is no season', async () => {
    server.on('GET', '/api/v1/seasons/current', { status: 404, body: { error: { code: 'NO_CURRENT_SEASON', message: '当前没有进行中的招生季' } } })
    server.on('GET', '/api/v1/announcements', { items: [], total: 0, page: 1, page_size: 5 })
    const page = await openPage('pages/home/home')
    expect(text(page, '.season-error')).toBe('目前没有正在进行的招生季，请留意教育局公告。')
  })

  test('a school QR code (scene) opens that school', async () => {
    publicCatalogue()
    await openPage('pages/home/home', { scene: encodeURIComponent('s=LX001') })
    expect(wx.navigateTo).toHaveBeenCalledWith({ url: '/packages/schools/school/school?code=LX001' })
  })

  test('an ordinary-link QR code (q) opens that school', async () => {
    publicCatalogue()
    await openPage('pages/home/home', { q: encodeURIComponent('https://enroll.example.gov.cn/mp/s/LX002'), scancode_time: '1' })
    expect(wx.navigateTo).toHaveBeenCalledWith({ url: '/packages/schools/school/school?code=LX002' })
  })

  test('an unknown code opens the friendly page', async () => {
    publicCatalogue()
    await openPage('pages/home/home', { q: encodeURIComponent('https://elsewhere.example.com/x') })
    expect(wx.navigateTo.mock.calls[0][0].url).toMatch(/^\/packages\/schools\/unknown\/unknown\?raw=/)
  })

  test('a county code sets the authority for the catalogue', async () => {
    publicCatalogue()
    await openPage('pages/home/home', { scene: 'a%3Dlinxian' })
    expect(server.callsTo('GET', '/api/v1/seasons/current')[0].query).toEqual({ authority: 'linxian' })
    expect(wx.navigateTo).not.toHaveBeenCalled()
  })

  test('我要报名 leads to the must-read notice first, then binding, child, form', async () => {
    publicCatalogue()
    server.on('GET', '/api/v1/me', { id: 1, role: 'parent', identity_bound: false, children: [] })
    const page = await openPage('pages/home/home')
    await tap(page, '.register')
    expect(wx.navigateTo).toHaveBeenLastCalledWith({ url: '/packages/identity/must-read/must-read' })
    wx.setStorageSync('mustRead:7', 1)
    await tap(page, '.register')
    expect(wx.navigateTo).toHaveBeenLastCalledWith({ url: '/packages/identity/bind/bind' })
    server.on('GET', '/api/v1/me', { id: 1, role: 'parent', identity_bound: true, children: [] })
    await tap(page, '.register')
    expect(wx.navigateTo).toHaveBeenLastCalledWith({ url: '/packages/identity/child-edit/child-edit' })
    server.on('GET', '/api/v1/me', { id: 1, role: 'parent', identity_bound: true, children: [fx.child()] })
    await tap(page, '.register')
    expect(wx.navigateTo).toHaveBeenLastCalledWith({ url: '/packages/register/form/form' })
  })

  test('扫一扫 follows a scanned poster', async () => {
    publicCatalogue()
    wx.scanCode.mockImplementation(options => options.success({ result: 'https://enroll.example.gov.cn/mp/s/LX005', scanType: 'QR_CODE' }))
    const page = await openPage('pages/home/home')
    await tap(page, '.scan')
    expect(wx.navigateTo).toHaveBeenCalledWith({ url: '/packages/schools/school/school?code=LX005' })
  })

  test('扫一扫 on a PC\'s sign-in code opens 电脑端登录 with its scene', async () => {
    publicCatalogue()
    const scene = 'l=Ab3dEf7hIj1lMn5pQr9tUv'
    wx.scanCode.mockImplementation(options => options.success({ result: '', scanType: 'WX_CODE',
      path: `packages/account/pc-login/pc-login?scene=${encodeURIComponent(scene)}` }))
    const page = await openPage('pages/home/home')
    await tap(page, '.scan')
    expect(wx.navigateTo).toHaveBeenCalledWith({
      url: `/packages/account/pc-login/pc-login?scene=${encodeURIComponent(scene)}` })
  })
})

describe('school page', () => {
  test('shows name, zone, plan, materials, contacts and the implementation plan', async () => {
    server.on('GET', '/api/v1/schools/{code}', req => fx.school({ code: req.params.code }))
    server.on('GET', '/api/v1/announcements', { items: [], total: 0, page: 1, page_size: 5 })
    const page = await openPage('packages/schools/school/school', { code: 'LX001' })
    expect(text(page, '.school-name')).toBe('临泉镇第一小学（示例）')
    expect(text(page, '.plan-text')).toBe('6 个班 × 每班 45 人，共 270 个学位')
    expect(page.querySelectorAll('.zone-item').map(n => n.dom.textContent)).toEqual(['东关社区（示例）', '南关社区（示例）'])
    expect(text(page, '.materials')).toContain('按户籍报名')
    expect(text(page, '.materials')).toContain('户口簿（户主页、儿童页）')
    expect(text(page, '.contact')).toContain('0358-0001001')
    expect(text(page, '.implementation')).toContain('免试就近入学')
    expect(server.callsTo('GET', '/api/v1/announcements')[0].query).toEqual({ school: 'LX001', page_size: '5' })
    await tap(page, '.contact')
    expect(wx.makePhoneCall).toHaveBeenCalledWith(expect.objectContaining({ phoneNumber: '0358-0001001' }))
  })

  test('opened straight from a mini-program code scene', async () => {
    server.on('GET', '/api/v1/schools/{code}', req => fx.school({ code: req.params.code }))
    server.on('GET', '/api/v1/announcements', { items: [], total: 0, page: 1, page_size: 5 })
    await openPage('packages/schools/school/school', { scene: 's%3DLX009' })
    expect(server.callsTo('GET', '/api/v1/schools/{code}')[0].params).toEqual({ code: 'LX009' })
  })

  test('an unknown school code goes to the friendly page', async () => {
    server.on('GET', '/api/v1/schools/{code}', { status: 404, body: { error: { code: 'SCHOOL_NOT_FOUND', message: '未找到该学校，请确认二维码或学校代码' } } })
    await openPage('packages/schools/school/school', { code: 'NOPE' })
    expect(wx.redirectTo).toHaveBeenCalledWith({ url: '/packages/schools/unknown/unknown?code=NOPE' })
  })

  test('在本校报名 starts the steps with this school', async () => {
    server.on('GET', '/api/v1/schools/{code}', fx.school())
    server.on('GET', '/api/v1/announcements', { items: [], total: 0, page: 1, page_size: 5 })
    server.on('GET', '/api/v1/seasons/current', fx.season())
    const page = await openPage('packages/schools/school/school', { code: 'LX001' })
    await tap(page, '.register')
    expect(wx.navigateTo).toHaveBeenCalledWith({ url: '/packages/identity/must-read/must-read?school=LX001' })
  })
})

test('the unknown-code page explains and offers the finder', async () => {
  const page = await openPage('packages/schools/unknown/unknown', { code: 'NOPE' })
  expect(text(page, '.unknown')).toContain('没有找到这所学校')
  expect(text(page, '.unknown')).toContain('学校代码 NOPE')
  await tap(page, '.finder')
  expect(wx.redirectTo).toHaveBeenCalledWith({ url: '/packages/schools/finder/finder' })
})

test('the zone finder goes town → village → zoned school', async () => {
  server.on('GET', '/api/v1/regions', fx.regions())
  server.on('GET', '/api/v1/zones/lookup', {
    region: { code: 'LX-LQ-002', name: '西关社区（示例）' }, town: { code: 'LX-LQ', name: '临泉镇' },
    schools: [fx.school({ code: 'LX002', name: '临泉镇第二小学（示例）' }), fx.school({ code: 'LX003', name: '临泉镇民办小学（示例）', type: 'private' })],
  })
  const page = await openPage('packages/schools/finder/finder')
  await fire(page, '.town', 'change', { value: 0 })
  expect(page.data.villageNames).toEqual(['东关社区（示例）', '西关社区（示例）'])
  await fire(page, '.village', 'change', { value: 1 })
  expect(server.callsTo('GET', '/api/v1/zones/lookup')[0].query).toEqual({ region_code: 'LX-LQ-002' })
  const schools = page.querySelectorAll('.zoned-school')
  expect(schools).toHaveLength(2)
  expect(schools[1].dom.textContent).toContain('民办')
  await tap(page, '.zoned-school')
  expect(wx.navigateTo).toHaveBeenCalledWith({ url: '/packages/schools/school/school?code=LX002' })
})
