/** 消息, 我的, 投诉与申诉, 公告. */
const { openPage, text, tap, fire } = require('./helpers/page')
const fx = require('./helpers/fixtures')

function notice(overrides = {}) {
  return Object.assign({
    id: 1, template_key: 'correction_requested', title: '报名材料需要修改',
    body: '学校：临泉镇第一小学（示例）', lines: [{ label: '学校', value: '临泉镇第一小学（示例）' }, { label: '原因', value: '照片模糊，无法辨认' }],
    page: 'pages/registrations/detail?id=5', created_at: '2025-08-06T10:00:00+08:00', read: false, wechat_sent: true,
  }, overrides)
}

describe('notices inbox', () => {
  test('lists notices with the unread badge; opening one marks it read and follows its page', async () => {
    server.on('GET', '/api/v1/me/notices', { items: [notice(), notice({ id: 2, read: true, page: null, title: '报名已受理' })], total: 2, unread: 1, page: 1, page_size: 20 })
    server.on('POST', '/api/v1/me/notices/{notice_id}/read', notice({ read: true }))
    const page = await openPage('pages/notices/notices')
    const items = page.querySelectorAll('.notice')
    expect(items).toHaveLength(2)
    expect(items[0].dom.textContent).toContain('照片模糊，无法辨认')
    expect(text(page, '.unread-count')).toBe('1 条未读')
    expect(wx.setTabBarBadge).toHaveBeenCalledWith(expect.objectContaining({ index: 2, text: '1' }))
    expect(server.callsTo('GET', '/api/v1/me/notices')[0].query).toEqual({ page: '1', page_size: '20' })
    await tap(page, '.notice')
    expect(server.callsTo('POST', '/api/v1/me/notices/{notice_id}/read')[0].params).toEqual({ notice_id: '1' })
    expect(wx.navigateTo).toHaveBeenCalledWith({ url: '/pages/registrations/detail?id=5' })
    expect(wx.removeTabBarBadge).toHaveBeenCalled()
  })

  test('an empty inbox says what will arrive there', async () => {
    server.on('GET', '/api/v1/me/notices', { items: [], total: 0, unread: 0, page: 1, page_size: 20 })
    const page = await openPage('pages/notices/notices')
    expect(text(page, '.no-notices')).toContain('审核进度会在这里通知您')
  })
})

describe('me', () => {
  test('shows the masked identity and switches the large-text mode for every page', async () => {
    server.on('GET', '/api/v1/me', { id: 1, role: 'parent', identity_bound: true,
      identity: { name: '王*例', document_type: 'resident_id', id_number: '141124********9034', relation: 'mother', phone: '138****0001', verification: 'self_declared', verified_at: null },
      children: [fx.child()] })
    const page = await openPage('pages/me/me')
    expect(text(page, '.identity-name')).toBe('王*例')
    expect(text(page, '.identity')).toContain('138****0001')
    expect(text(page, '.identity')).toContain('母亲')
    expect(text(page, '.children')).toBe('我的孩子（1）')
    expect(page.querySelector('.page').dom.className).not.toContain('large')
    await fire(page, '.large-switch', 'change', { value: true })
    expect(wx.getStorageSync('largeText')).toBe(1)
    expect(page.querySelector('.page').dom.className).toContain('large')

    server.on('GET', '/api/v1/seasons/current', fx.season())
    server.on('GET', '/api/v1/announcements', { items: [], total: 0, page: 1, page_size: 5 })
    const home = await openPage('pages/home/home')
    expect(home.querySelector('.page').dom.className).toContain('large')
  })

  test('without a binding it offers one', async () => {
    server.on('GET', '/api/v1/me', { id: 1, role: 'parent', identity_bound: false, children: [] })
    const page = await openPage('pages/me/me')
    await tap(page, '.bind')
    expect(wx.navigateTo).toHaveBeenCalledWith({ url: '/packages/identity/bind/bind' })
  })
})

describe('complaints', () => {
  function complaint(overrides = {}) {
    return Object.assign({
      id: 9, type: 'appeal', type_name: '申诉', status: 'answered', status_name: '已答复',
      school: { code: 'LX001', name: '临泉镇第一小学（示例）' }, registration_id: 5,
      text: '我家在服务区内，为什么被退回？', anonymous: false, attachments: [],
      filed_at: '2025-08-07T09:00:00+08:00', due_at: '2025-08-22T09:00:00+08:00',
      answer: '经核实，已请学校重新审核。', answered_at: '2025-08-08T15:00:00+08:00', closed_at: null,
      history: [
        { status: 'submitted', status_name: '已提交', at: '2025-08-07T09:00:00+08:00', actor_role: 'parent', note: null },
        { status: 'answered', status_name: '已答复', at: '2025-08-08T15:00:00+08:00', actor_role: 'bureau_admin', note: null },
      ],
    }, overrides)
  }

  test('files an appeal about a registration', async () => {
    server.on('GET', '/api/v1/registrations', { items: [fx.registration()] })
    server.on('GET', '/api/v1/schools', { items: [fx.school()] })
    server.on('POST', '/api/v1/complaints', complaint())
    const page = await openPage('packages/complaints/new/new', { type: 'appeal', registration: '5' })
    expect(page.data.registrationIndex).toBe(1)
    await tap(page, '.submit')
    expect(server.callsTo('POST', '/api/v1/complaints')).toHaveLength(0)
    await fire(page, '.text', 'input', { value: '我家在服务区内，为什么被退回？' })
    await fire(page, '.anonymous', 'change', { value: true })
    await tap(page, '.submit')
    expect(server.callsTo('POST', '/api/v1/complaints')[0].data).toEqual({
      type: 'appeal', text: '我家在服务区内，为什么被退回？', anonymous: true, registration_id: 5,
    })
    expect(wx.redirectTo).toHaveBeenCalledWith({ url: '/packages/complaints/detail/detail?id=9' })
  })

  test('files a complaint about a school', async () => {
    server.on('GET', '/api/v1/registrations', { items: [] })
    server.on('GET', '/api/v1/schools', { items: [fx.school(), fx.school({ code: 'LX002', name: '临泉镇第二小学（示例）' })] })
    server.on('POST', '/api/v1/complaints', complaint({ type: 'complaint' }))
    const page = await openPage('packages/complaints/new/new')
    await fire(page, '.types', 'change', { value: 'report' })
    await fire(page, '.school', 'change', { value: 1 })
    await fire(page, '.text', 'input', { value: '有人收取择校费' })
    await tap(page, '.submit')
    expect(server.callsTo('POST', '/api/v1/complaints')[0].data).toEqual({
      type: 'report', text: '有人收取择校费', anonymous: false, school_code: 'LX002',
    })
  })

  test('the list and the detail show the answer and each step by role', async () => {
    server.on('GET', '/api/v1/complaints', { items: [complaint()] })
    server.on('GET', '/api/v1/complaints/{complaint_id}', complaint())
    const list = await openPage('packages/complaints/list/list')
    expect(text(list, '.complaint')).toContain('申诉 · 临泉镇第一小学（示例）')
    await tap(list, '.complaint')
    expect(wx.navigateTo).toHaveBeenCalledWith({ url: '/packages/complaints/detail/detail?id=9' })
    const detail = await openPage('packages/complaints/detail/detail', { id: '9' })
    expect(text(detail, '.answer-text')).toBe('经核实，已请学校重新审核。')
    expect(detail.querySelector('.steps').dom.textContent).toContain('教育局')
  })
})

test('an announcement shows its text and opens attachments', async () => {
  server.on('GET', '/api/v1/announcements/{announcement_id}', {
    id: 3, level: 'county', authority: 'linxian', school: null, category: 'policy', category_name: '招生政策',
    title: '2025年小学招生工作方案', published_at: '2025-07-31T09:00:00+08:00', attachment_count: 1,
    body: '一、招生原则……', attachments: [{ upload_id: 'a'.repeat(32), content_type: 'application/pdf', size: 100, sha256: 'x', url: '/api/v1/announcements/3/attachments/' + 'a'.repeat(32) }],
  })
  wx.downloadFile.mockImplementation(options => options.success({ statusCode: 200, tempFilePath: 'wxfile://tmp/a.pdf' }))
  const page = await openPage('packages/announcements/detail/detail', { id: '3' })
  expect(text(page, '.announcement-title')).toBe('2025年小学招生工作方案')
  expect(text(page, '.announcement')).toContain('教育局 · 招生政策')
  await tap(page, '.attachment')
  expect(wx.downloadFile.mock.calls[0][0].url).toBe(`http://127.0.0.1:8000/api/v1/announcements/3/attachments/${'a'.repeat(32)}`)
  expect(wx.openDocument).toHaveBeenCalledWith(expect.objectContaining({ filePath: 'wxfile://tmp/a.pdf', fileType: 'pdf' }))
})
