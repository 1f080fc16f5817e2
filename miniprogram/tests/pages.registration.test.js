/** 报名表, 回执, 我的报名, 报名详情: submit with consent and a key, follow the ticket, fix. */
const { openPage, text, tap, fire, flush } = require('./helpers/page')
const fx = require('./helpers/fixtures')

function formServer() {
  server.on('GET', '/api/v1/registrations/requirements', fx.requirements())
  server.on('GET', '/api/v1/schools/{code}', fx.school())
  server.on('GET', '/api/v1/me/children', { items: [fx.child()] })
  server.on('GET', '/api/v1/notices/templates', fx.TEMPLATES)
  server.on('POST', '/api/v1/me/subscriptions', { items: [] })
  let n = 0
  server.on('POST', '/api/v1/uploads', req => {
    n += 1
    return { upload_id: String(n).repeat(32), kind: req.data.formData.kind, content_type: 'image/jpeg', sha256: 'ab', size: 10 }
  })
}

describe('registration form', () => {
  test('government data checks: the separate consent, then a verified document needs no upload', async () => {
    formServer()
    server.on('GET', '/api/v1/privacy/data-check-consent-text', {
      version: '2026-1', title: '政府数据核验授权书', text: '为减少上传材料，经您单独同意……' })
    const check = (fact, kind, status, message) => ({ fact, fact_name: fact, document_kind: kind,
      document_name: kind, status, verified: status === 'confirmed', message, source: null,
      reference: null, checked_at: null, next_attempt_at: null })
    let checks = []
    server.on('GET', '/api/v1/me/children/{child_id}/data-checks', () => ({
      child_id: 11, consent: null, consent_version: '2026-1', checks, zoning: [] }))
    server.on('POST', '/api/v1/me/children/{child_id}/data-checks', () => {
      checks = [check('household', 'hukou_book', 'confirmed', '已由户籍信息核验，无需上传'),
        check('birth', 'birth_certificate', 'mismatch', '出生医学证明信息核验未通过：姓名不一致，请上传出生医学证明')]
      return { status: 202, body: { child_id: 11, consent: { version: '2026-1', channel: 'mini_program', agreed_at: '2026-08-05T08:00:00+08:00' },
        consent_version: '2026-1', checks, zoning: [] } }
    })
    server.on('POST', '/api/v1/registrations', { ticket: 'T-9', state: 'queued', position: 1 })
    const page = await openPage('packages/register/form/form', { school: 'LX001' })
    expect(text(page, '.data-check-text')).toContain('经您单独同意')
    // Not ticked: nothing is sent.
    await tap(page, '.data-check-ask')
    expect(server.callsTo('POST', '/api/v1/me/children/{child_id}/data-checks')).toHaveLength(0)
    await fire(page, '.data-check-agree', 'change', { value: ['agree'] })
    await tap(page, '.data-check-ask')
    const [asked] = server.callsTo('POST', '/api/v1/me/children/{child_id}/data-checks')
    expect(asked.data).toEqual({ consent_version: '2026-1', agreed: true })
    expect(page.querySelector('.data-check-card')).toBeFalsy()
    expect(text(page, '.slot-verified')).toBe('已由户籍信息核验，无需上传')
    expect(text(page, '.slot-verification')).toContain('姓名不一致')
    // The household register is verified: the form submits without any upload.
    await tap(page, '.submit')
    const [submit] = server.callsTo('POST', '/api/v1/registrations')
    expect(submit.data).toEqual({ child_id: 11, school_code: 'LX001', basis: 'hukou', upload_ids: [] })
  })

  test('shows the checklist, uploads each document, asks for consent, then submits with a key', async () => {
    formServer()
    server.on('POST', '/api/v1/registrations', { ticket: 'T-1', state: 'queued', position: 3, fairness_notice: '报名先后不影响录取' })
    const page = await openPage('packages/register/form/form', { school: 'LX001' })
    expect(text(page, '.school-name')).toBe('临泉镇第一小学（示例）')
    expect(text(page, '.child-eligibility')).toContain('符合入学年龄')
    // Residence: the household register plus a property certificate or rental record.
    await fire(page, '.basis', 'change', { value: 'residence' })
    const slots = page.querySelectorAll('.slot')
    expect(slots.map(s => s.dom.textContent.includes('必传'))).toEqual([true, true, false])
    expect(slots[0].dom.textContent).toContain('户口簿首页（户主页）和孩子本人页都要上传')
    expect(slots[0].dom.textContent).toContain('照片清晰')

    await tap(page, '.submit')
    expect(wx.showModal).toHaveBeenCalledWith(expect.objectContaining({ content: '还需要上传：户口簿（户主页及儿童页）、房产证或购房合同 或 房屋租赁备案证明' }))
    expect(server.callsTo('POST', '/api/v1/registrations')).toHaveLength(0)

    const buttons = page.querySelectorAll('.upload')
    await fire(page, '.slot-kind', 'change', { value: 1 })
    buttons[0].dispatchEvent('tap')
    await flush()
    buttons[1].dispatchEvent('tap')
    await flush()
    const uploads = server.callsTo('POST', '/api/v1/uploads')
    expect(uploads.map(u => u.data.formData.kind)).toEqual(['hukou_book', 'rental_record'])
    expect(uploads[0].data.filePath).toBe('wxfile://tmp/photo-1.jpg')
    expect(wx.chooseMedia).toHaveBeenCalledWith(expect.objectContaining({ count: 1, sourceType: ['camera', 'album'] }))

    await tap(page, '.submit')
    expect(wx.requestSubscribeMessage).toHaveBeenCalledWith(expect.objectContaining({
      tmplIds: ['TPL_REG_RECEIVED', 'TPL_CORRECTION', 'TPL_REVIEW_RESULT'],
    }))
    expect(server.callsTo('POST', '/api/v1/me/subscriptions')[0].data).toEqual({
      results: { registration_received: 'accept', correction_requested: 'accept', review_result: 'accept' },
    })
    const [submit] = server.callsTo('POST', '/api/v1/registrations')
    expect(submit.data).toEqual({ child_id: 11, school_code: 'LX001', basis: 'residence',
      upload_ids: ['1'.repeat(32), '2'.repeat(32)] })
    expect(submit.header['Idempotency-Key']).toMatch(/^[a-z0-9]{32}$/)
    // Consent is asked before the registration goes out.
    const order = server.calls.map(c => c.template)
    expect(order.indexOf('/api/v1/me/subscriptions')).toBeLessThan(order.indexOf('/api/v1/registrations'))
    expect(wx.redirectTo).toHaveBeenCalledWith({ url: '/packages/register/ticket/ticket?ticket=T-1&school=%E4%B8%B4%E6%B3%89%E9%95%87%E7%AC%AC%E4%B8%80%E5%B0%8F%E5%AD%A6%EF%BC%88%E7%A4%BA%E4%BE%8B%EF%BC%89&code=LX001' })
  })

  test('the documents to upload are the ones the API lists, plus the child\'s groups\'', async () => {
    formServer()
    // A table no copy inside the client could know, with a label the API chose.
    const table = fx.requirements({ hukou: [['hukou_book'], ['employment_proof', 'other']],
      residence: [['rental_record']] })
    table.bases[0].documents[0][0].name = '户口簿（接口给的名称）'
    server.on('GET', '/api/v1/registrations/requirements', table)
    server.on('GET', '/api/v1/me/children', { items: [fx.child({
      required_documents: [{ kind: 'disability_certificate', name: '残疾证或残疾评估意见' }],
    })] })
    server.on('POST', '/api/v1/registrations', { ticket: 'T-4', state: 'queued', position: 1 })
    const page = await openPage('packages/register/form/form', { school: 'LX001' })
    const names = () => page.querySelectorAll('.slot-name').map(n => n.dom.textContent)
    expect(names()).toEqual(['户口簿（接口给的名称）', '务工或经商证明 或 其他材料',
      '残疾证或残疾评估意见', '出生医学证明（选填）'])
    await fire(page, '.basis', 'change', { value: 'residence' })
    expect(names()).toEqual(['房屋租赁备案证明', '残疾证或残疾评估意见', '出生医学证明（选填）'])
    await tap(page, '.submit')
    expect(wx.showModal).toHaveBeenLastCalledWith(expect.objectContaining({
      content: '还需要上传：房屋租赁备案证明、残疾证或残疾评估意见' }))
    expect(server.callsTo('POST', '/api/v1/registrations')).toHaveLength(0)
    // Read once, without the login (public).
    const reads = server.callsTo('GET', '/api/v1/registrations/requirements')
    expect(reads).toHaveLength(1)
    expect(reads[0].header.Authorization).toBeUndefined()
  })

  test('while the table is on its way there are no slots and no submission', async () => {
    formServer()
    const held = []
    const request = wx.request
    wx.request = jest.fn(options => (options.url.indexOf('/registrations/requirements') >= 0
      ? held.push(options) : request(options)))
    const page = await openPage('packages/register/form/form', { school: 'LX001' })
    expect(text(page, '.requirements-loading')).toBe('正在读取需要上传的材料…')
    expect(page.querySelectorAll('.slot')).toHaveLength(0)
    await tap(page, '.submit')
    expect(wx.showModal).toHaveBeenLastCalledWith(expect.objectContaining({ content: '正在读取需要上传的材料，请稍候' }))
    expect(held).toHaveLength(1)
    held.forEach(options => request(options))
    await flush()
    expect(text(page, '.requirements-loading')).toBeNull()
    expect(page.querySelectorAll('.slot-name').map(n => n.dom.textContent)).toEqual([
      '户口簿（户主页及儿童页）', '出生医学证明（选填）'])
  })

  test('a table that cannot be read says so; 重新读取 brings the slots', async () => {
    formServer()
    server.on('GET', '/api/v1/registrations/requirements', { status: 503, body: { error: { code: 'SERVICE_UNAVAILABLE', message: '服务暂时繁忙，请稍后再试' } } })
    server.on('POST', '/api/v1/registrations', { ticket: 'T-5', state: 'queued', position: 1 })
    const page = await openPage('packages/register/form/form', { school: 'LX001' })
    expect(text(page, '.requirements-failed')).toContain('没有读取成功')
    expect(page.querySelectorAll('.slot')).toHaveLength(0)
    await tap(page, '.submit')
    expect(wx.showModal).toHaveBeenLastCalledWith(expect.objectContaining({ content: '需要上传的材料没有读取成功，请点“重新读取”' }))
    expect(server.callsTo('POST', '/api/v1/registrations')).toHaveLength(0)

    server.on('GET', '/api/v1/registrations/requirements', fx.requirements())
    await tap(page, '.requirements-retry')
    expect(text(page, '.requirements-failed')).toBeNull()
    expect(page.querySelectorAll('.slot')).toHaveLength(2)
    await tap(page, '.upload')
    await tap(page, '.submit')
    expect(server.callsTo('POST', '/api/v1/registrations')).toHaveLength(1)
  })

  test('a refused subscription still submits; a network retry reuses the same key', async () => {
    formServer()
    wx.requestSubscribeMessage.mockImplementation(options => setTimeout(() => options.success({ TPL_REG_RECEIVED: 'reject', TPL_CORRECTION: 'reject', TPL_REVIEW_RESULT: 'ban' }), 0))
    let attempts = 0
    server.on('POST', '/api/v1/registrations', () => {
      attempts += 1
      return attempts === 1 ? require('./helpers/server').NETWORK_FAILURE : { ticket: 'T-2', state: 'queued', position: 1 }
    })
    const page = await openPage('packages/register/form/form', { school: 'LX001' })
    await tap(page, '.upload')
    await tap(page, '.submit')
    expect(server.callsTo('POST', '/api/v1/me/subscriptions')[0].data.results.review_result).toBe('ban')
    const submits = server.callsTo('POST', '/api/v1/registrations')
    expect(submits).toHaveLength(2)
    expect(submits[1].header['Idempotency-Key']).toBe(submits[0].header['Idempotency-Key'])
    expect(wx.redirectTo.mock.calls[0][0].url).toMatch(/ticket=T-2/)
  })

  test('a refusal before any ticket shows the server message and the next try gets a new key', async () => {
    formServer()
    server.on('POST', '/api/v1/registrations', { status: 409, body: { error: { code: 'ALREADY_REGISTERED', message: '该儿童本季已有有效报名' } } })
    const page = await openPage('packages/register/form/form', { school: 'LX001' })
    await tap(page, '.upload')
    await tap(page, '.submit')
    expect(wx.showModal).toHaveBeenLastCalledWith(expect.objectContaining({ content: '该儿童本季已有有效报名' }))
    await tap(page, '.submit')
    const [first, second] = server.callsTo('POST', '/api/v1/registrations')
    expect(second.header['Idempotency-Key']).not.toBe(first.header['Idempotency-Key'])
  })

  test('a child who is too young cannot be submitted', async () => {
    formServer()
    server.on('GET', '/api/v1/me/children', { items: [fx.child({ eligibility: { eligible: false, reason: '未满6周岁：2025年入学需在2019年8月31日及之前出生' } })] })
    const page = await openPage('packages/register/form/form', { school: 'LX001' })
    await fire(page, '.child-picker', 'change', { value: 0 })
    await tap(page, '.upload')
    await tap(page, '.submit')
    expect(server.callsTo('POST', '/api/v1/registrations')).toHaveLength(0)
    expect(wx.showModal).toHaveBeenLastCalledWith(expect.objectContaining({ content: '未满6周岁：2025年入学需在2019年8月31日及之前出生' }))
  })

  test('without a school from the QR code the parent picks one', async () => {
    formServer()
    server.on('GET', '/api/v1/schools', { items: [fx.school(), fx.school({ code: 'LX002', name: '临泉镇第二小学（示例）' })] })
    server.on('POST', '/api/v1/registrations', { ticket: 'T-3', state: 'queued', position: 1 })
    const page = await openPage('packages/register/form/form')
    await fire(page, '.school-picker', 'change', { value: 1 })
    await tap(page, '.upload')
    await tap(page, '.submit')
    expect(server.callsTo('POST', '/api/v1/registrations')[0].data.school_code).toBe('LX002')
  })

  test('fix mode shows the reason, keeps the old documents and PATCHes with a key', async () => {
    formServer()
    server.on('GET', '/api/v1/registrations/{registration_id}', fx.registration({
      status: 'returned', status_name: '退回修改',
      correction: { reason_code: 'PHOTO_BLURRY', reason: '照片模糊，无法辨认', note: '户口簿儿童页看不清', fix_deadline: '2025-08-12T23:59:59+08:00' },
    }))
    server.on('GET', '/api/v1/me/children/{child_id}', fx.child())
    server.on('PATCH', '/api/v1/registrations/{registration_id}', { ticket: 'T-9', state: 'queued', position: 1 })
    const page = await openPage('packages/register/form/form', { mode: 'fix', id: '5' })
    expect(text(page, '.correction-reason')).toBe('照片模糊，无法辨认：户口簿儿童页看不清')
    expect(text(page, '.correction')).toContain('2025年8月12日 23:59')
    expect(text(page, '.slot-state')).toBe('已交（原材料）')
    await tap(page, '.upload')
    await tap(page, '.submit')
    const [patch] = server.callsTo('PATCH', '/api/v1/registrations/{registration_id}')
    expect(patch.params).toEqual({ registration_id: '5' })
    expect(patch.data).toEqual({ basis: 'hukou', upload_ids: ['1'.repeat(32)] })
    expect(patch.header['Idempotency-Key']).toMatch(/^[a-z0-9]{32}$/)
    expect(wx.redirectTo.mock.calls[0][0].url).toMatch(/ticket=T-9.*&id=5$/)
  })

  test('fix mode keeps the old documents when the table only comes on 重新读取', async () => {
    formServer()
    server.on('GET', '/api/v1/registrations/requirements', { status: 503, body: { error: { code: 'SERVICE_UNAVAILABLE', message: '服务暂时繁忙，请稍后再试' } } })
    server.on('GET', '/api/v1/registrations/{registration_id}', fx.registration({ status: 'returned', status_name: '退回修改' }))
    server.on('GET', '/api/v1/me/children/{child_id}', fx.child())
    server.on('PATCH', '/api/v1/registrations/{registration_id}', { ticket: 'T-10', state: 'queued', position: 1 })
    const page = await openPage('packages/register/form/form', { mode: 'fix', id: '5' })
    expect(page.querySelectorAll('.slot')).toHaveLength(0)
    server.on('GET', '/api/v1/registrations/requirements', fx.requirements())
    await tap(page, '.requirements-retry')
    expect(text(page, '.slot-state')).toBe('已交（原材料）')
    await tap(page, '.submit')
    const [patch] = server.callsTo('PATCH', '/api/v1/registrations/{registration_id}')
    expect(patch.data).toEqual({ basis: 'hukou', upload_ids: ['u1'.padEnd(32, '0')] })
  })
})

describe('ticket', () => {
  test('moves from 排队中 to 已受理 and links to the registration', async () => {
    require('../src/config/index').ticketPollMs = 300
    const answers = [
      { ticket: 'T-1', state: 'queued', position: 2 },
      { ticket: 'T-1', state: 'queued', position: 1 },
      { ticket: 'T-1', state: 'accepted', position: null, registration_id: 42 },
    ]
    server.on('GET', '/api/v1/registrations/tickets/{ticket}', () => answers.shift() || { ticket: 'T-1', state: 'accepted', registration_id: 42 })
    const page = await openPage('packages/register/ticket/ticket', { ticket: 'T-1', school: '临泉镇第一小学（示例）', code: 'LX001' })
    expect(text(page, '.state-name')).toBe('排队中')
    expect(text(page, '.position')).toBe('前面大约还有 2 份')
    await new Promise(resolve => setTimeout(resolve, 750))
    await flush()
    expect(text(page, '.state-name')).toBe('已受理')
    const polls = server.callsTo('GET', '/api/v1/registrations/tickets/{ticket}')
    expect(polls).toHaveLength(3)
    await tap(page, '.detail')
    expect(wx.redirectTo).toHaveBeenCalledWith({ url: '/pages/registrations/detail?id=42' })
    page.detach()
  })

  test('a rejected ticket says why and leads back to the form', async () => {
    server.on('GET', '/api/v1/registrations/tickets/{ticket}', { ticket: 'T-1', state: 'rejected', position: null, error: { code: 'CHILD_ALREADY_REGISTERED', message: '该儿童本季已有有效报名' } })
    const page = await openPage('packages/register/ticket/ticket', { ticket: 'T-1', school: 'x', code: 'LX001' })
    expect(text(page, '.rejected')).toBe('该儿童本季已有有效报名')
    await tap(page, '.back')
    expect(wx.redirectTo).toHaveBeenCalledWith({ url: '/packages/register/form/form?school=LX001' })
  })

  test('polling stops when the page closes', async () => {
    require('../src/config/index').ticketPollMs = 5
    server.on('GET', '/api/v1/registrations/tickets/{ticket}', { ticket: 'T-1', state: 'queued', position: 9 })
    const page = await openPage('packages/register/ticket/ticket', { ticket: 'T-1' })
    page.detach()
    const before = server.callsTo('GET', '/api/v1/registrations/tickets/{ticket}').length
    await new Promise(resolve => setTimeout(resolve, 40))
    expect(server.callsTo('GET', '/api/v1/registrations/tickets/{ticket}').length).toBe(before)
  })
})

describe('my registrations', () => {
  test('lists them with status and what needs fixing', async () => {
    server.on('GET', '/api/v1/registrations', { items: [
      fx.registration({ status: 'returned', status_name: '退回修改', correction: { reason: '照片模糊，无法辨认', fix_deadline: '2025-08-12T23:59:59+08:00' } }),
      fx.registration({ id: 6, status: 'approved', status_name: '审核通过' }),
    ], fairness_notice: '报名先后不影响录取' })
    const page = await openPage('pages/registrations/list')
    const items = page.querySelectorAll('.registration')
    expect(items).toHaveLength(2)
    expect(items[0].dom.textContent).toContain('退回修改')
    expect(items[0].dom.textContent).toContain('请在 2025年8月12日 23:59 前重新提交')
    expect(items[1].dom.textContent).toContain('审核通过')
    await tap(page, '.registration')
    expect(wx.navigateTo).toHaveBeenCalledWith({ url: '/pages/registrations/detail?id=5' })
  })

  test('the detail shows the timeline with reasons, the fix button and withdraws', async () => {
    server.on('GET', '/api/v1/registrations/{registration_id}', fx.registration({
      status: 'returned', status_name: '退回修改', can_withdraw: true,
      timeline: [
        { status: 'submitted', status_name: '已受理', at: '2025-08-05T09:12:00+08:00', actor_role: 'parent', reason_code: null, reason: null, note: null },
        { status: 'under_review', status_name: '审核中', at: '2025-08-06T10:00:00+08:00', actor_role: 'school_staff', reason_code: null, reason: null, note: null },
        { status: 'returned', status_name: '退回修改', at: '2025-08-06T10:00:00+08:00', actor_role: 'school_staff', reason_code: 'PHOTO_BLURRY', reason: '照片模糊，无法辨认', note: '儿童页' },
      ],
      correction: { reason_code: 'PHOTO_BLURRY', reason: '照片模糊，无法辨认', note: '儿童页', fix_deadline: '2025-08-09T23:59:59+08:00' },
    }))
    server.on('POST', '/api/v1/registrations/{registration_id}/withdraw', fx.registration({ status: 'withdrawn', status_name: '已撤回', can_withdraw: false }))
    const page = await openPage('pages/registrations/detail', { id: '5' })
    const timeline = page.querySelector('.steps')
    expect(timeline.querySelectorAll('.step')).toHaveLength(3)
    expect(timeline.dom.textContent).toContain('照片模糊，无法辨认：儿童页')
    expect(timeline.dom.textContent).toContain('学校')
    expect(text(page, '.correction-reason')).toBe('照片模糊，无法辨认')
    await tap(page, '.fix')
    expect(wx.navigateTo).toHaveBeenCalledWith({ url: '/packages/register/form/form?mode=fix&id=5' })
    await tap(page, '.withdraw')
    expect(wx.showModal).toHaveBeenCalledWith(expect.objectContaining({ title: '撤回报名', confirmText: '确定撤回' }))
    expect(server.callsTo('POST', '/api/v1/registrations/{registration_id}/withdraw')).toHaveLength(1)
    await tap(page, '.appeal')
    expect(wx.navigateTo).toHaveBeenLastCalledWith({ url: '/packages/complaints/new/new?type=appeal&registration=5' })
  })
})
