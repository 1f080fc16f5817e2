/** 录取结果, 派位证据, 预约现场确认, 入场凭证. */
const { openPage, text, tap } = require('./helpers/page')

function offer(overrides = {}) {
  return Object.assign({
    id: 31, registration_id: 5, school: { id: 1, code: 'LX001', name: '临泉镇第一小学（示例）' },
    child_name: '张小示', pseudonym: 'A7K3-9QX2', source: 'lottery', status: 'offered',
    status_name: '待确认', respond_by: '2025-08-20T18:00:00+08:00', decided_at: null,
    lottery_id: 4, placement_reason: null, actions: ['confirm', 'decline'],
  }, overrides)
}

function admissionBody(overrides = {}) {
  return Object.assign({
    registration_id: 5, pseudonym: 'A7K3-9QX2',
    lotteries: [{ lottery_id: 4, school: { id: 1, code: 'LX001', name: '临泉镇第一小学（示例）' },
      status: 'drawn', commitment: 'c0ffee', in_committed_list: true, tier: 1, position: 12,
      outcome: 'admitted', waitlist_position: null, lottery_number: '0x9f3a', evidence_url: '/api/v1/lotteries/4/evidence.json' }],
    offers: [offer()],
  }, overrides)
}

function slot(overrides = {}) {
  return Object.assign({
    id: 8, season_id: 7, school: { code: 'LX001', name: '临泉镇第一小学（示例）' },
    starts_at: '2025-08-25T09:00:00+08:00', ends_at: '2025-08-25T10:00:00+08:00',
    place: '学校东门报到处', note: '请带户口簿原件', capacity: 30, booked: 10, available: 20,
  }, overrides)
}

describe('admission result', () => {
  test('shows the pseudonym, the lottery place with its evidence, and confirms the seat', async () => {
    server.on('GET', '/api/v1/registrations/{registration_id}/admission', admissionBody())
    server.on('GET', '/api/v1/registrations/{registration_id}/class', { status: 404, body: { error: { code: 'CLASS_NOT_PUBLISHED', message: '分班结果尚未公布' } } })
    server.on('POST', '/api/v1/offers/{offer_id}/confirm', offer({ status: 'confirmed', status_name: '已确认', actions: ['withdraw'] }))
    const page = await openPage('pages/admission/index', { registration_id: '5' })
    expect(text(page, '.pseudonym')).toBe('A7K3-9QX2')
    expect(text(page, '.lottery')).toContain('第 12 位')
    expect(text(page, '.outcome')).toBe('录取')
    expect(text(page, '.offers')).toContain('请在 2025年8月20日 18:00 前确认')
    expect(text(page, '.no-class')).toBe('分班结果尚未公布。')
    await tap(page, '.evidence')
    expect(wx.navigateTo).toHaveBeenCalledWith({ url: '/pages/admission/lottery?id=4' })

    server.on('GET', '/api/v1/registrations/{registration_id}/admission', admissionBody({
      offers: [offer({ status: 'confirmed', status_name: '已确认', actions: ['withdraw'] })] }))
    await tap(page, '.confirm')
    expect(wx.showModal).toHaveBeenCalledWith(expect.objectContaining({ title: '确认入学' }))
    expect(server.callsTo('POST', '/api/v1/offers/{offer_id}/confirm')[0].params).toEqual({ offer_id: '31' })
    expect(text(page, '.offer-status')).toBe('已确认')
    await tap(page, '.book')
    expect(wx.navigateTo).toHaveBeenLastCalledWith({ url: '/pages/onsite/booking?registration_id=5' })
  })

  test('declining and withdrawing ask first and call their endpoints', async () => {
    server.on('GET', '/api/v1/registrations/{registration_id}/admission', admissionBody({
      offers: [offer(), offer({ id: 32, status: 'confirmed', status_name: '已确认', actions: ['withdraw'] })] }))
    server.on('GET', '/api/v1/registrations/{registration_id}/class', { status: 404, body: { error: { code: 'NOT_FOUND', message: '未公布' } } })
    server.on('POST', '/api/v1/offers/{offer_id}/decline', offer({ status: 'declined' }))
    server.on('POST', '/api/v1/offers/{offer_id}/withdraw', offer({ status: 'withdrawn' }))
    const page = await openPage('pages/admission/index', { registration_id: '5' })
    await tap(page, '.decline')
    await tap(page, '.withdraw')
    expect(server.callsTo('POST', '/api/v1/offers/{offer_id}/decline')[0].params).toEqual({ offer_id: '31' })
    const [withdraw] = server.callsTo('POST', '/api/v1/offers/{offer_id}/withdraw')
    expect(withdraw.params).toEqual({ offer_id: '32' })
    expect(withdraw.data).toEqual({ reason: '家长在小程序中退出' })
  })

  test('shows the class once published', async () => {
    server.on('GET', '/api/v1/registrations/{registration_id}/admission', admissionBody({ lotteries: [] }))
    server.on('GET', '/api/v1/registrations/{registration_id}/class', {
      registration_id: 5, school: { code: 'LX001', name: '临泉镇第一小学（示例）' }, season_year: 2025,
      class_no: 3, class_name: '一年级3班', pseudonym: 'A7K3-9QX2', assignment_id: 2, corrected: false,
      published_at: '2025-08-28T10:00:00+08:00', evidence_path: '/api/v1/classes/assignments/2/evidence' })
    const page = await openPage('pages/admission/index', { registration_id: '5' })
    expect(text(page, '.class-name')).toBe('一年级3班')
    expect(text(page, '.no-lottery')).toContain('不需要派位')
  })

  test('the lottery page explains the evidence and copies its address', async () => {
    server.on('GET', '/api/v1/lotteries/{lottery_id}', {
      id: 4, practice: false, practice_label: null, status: 'drawn', status_name: '已派位',
      school: { id: 1, code: 'LX001', name: '临泉镇第一小学（示例）' }, season_id: 7, algorithm_version: 'v1',
      seats: 270, applicant_count: 300, oversubscribed: true, commitment: 'ab'.repeat(32),
      public_value_source: '2025年8月18日 双色球开奖号码', public_value: '01 05 09', seed: 'cd'.repeat(32),
      frozen_at: '2025-08-15T18:00:00+08:00', drawn_at: '2025-08-18T21:30:00+08:00', published_at: null,
      respond_by: null, admitted_count: 270, waitlist_count: 30, cancel_reason: null,
      evidence_url: '/api/v1/lotteries/4/evidence.json', tiers: [], result: [] })
    const page = await openPage('pages/admission/lottery', { id: '4' })
    expect(text(page, '.commitment')).toBe('ab'.repeat(32))
    expect(text(page, '.public-source')).toBe('2025年8月18日 双色球开奖号码')
    await tap(page, '.copy-evidence')
    expect(wx.setClipboardData).toHaveBeenCalledWith({ data: 'http://127.0.0.1:8000/api/v1/lotteries/4/evidence.json' })
  })
})

describe('on-site booking', () => {
  test('lists the slots and books one, then shows the ticket', async () => {
    server.on('GET', '/api/v1/onsite/slots', { items: [slot(), slot({ id: 9, available: 0, booked: 30 })] })
    server.on('GET', '/api/v1/onsite/bookings', { items: [] })
    server.on('POST', '/api/v1/onsite/bookings', { id: 77, registration_id: 5, child_name: '张小示', slot: slot(),
      booked_by_role: 'parent', checked_in: false, checked_in_at: null, checked_in_by_user_id: null, off_slot: null })
    const page = await openPage('pages/onsite/booking', { registration_id: '5' })
    expect(server.callsTo('GET', '/api/v1/onsite/slots')[0].query).toEqual({ registration_id: '5' })
    const slots = page.querySelectorAll('.slot')
    expect(slots).toHaveLength(2)
    expect(slots[0].dom.textContent).toContain('2025年8月25日 09:00 — 10:00')
    expect(slots[0].dom.textContent).toContain('剩余 20 / 30 个名额')
    await tap(page, '.book')
    expect(server.callsTo('POST', '/api/v1/onsite/bookings')[0].data).toEqual({ registration_id: 5, slot_id: 8 })
    expect(wx.redirectTo).toHaveBeenCalledWith({ url: '/pages/onsite/ticket?booking_id=77' })
  })

  test('the entry ticket shows the QR image and its code; cancelling gives the place back', async () => {
    server.on('GET', '/api/v1/onsite/bookings/{booking_id}/ticket', {
      booking_id: 77, code: 'T1-77-abc-sig', qr_png_base64: 'iVBORw0KGgo=', qr_data_url: 'data:image/png;base64,iVBORw0KGgo=',
      school: { code: 'LX001', name: '临泉镇第一小学（示例）' }, slot: slot(), used: false })
    server.on('DELETE', '/api/v1/onsite/bookings/{booking_id}', { status: 204, body: null })
    const page = await openPage('pages/onsite/ticket', { booking_id: '77' })
    expect(page.querySelector('.ticket-qr')).toBeTruthy()
    expect(page.data.ticket.qr_data_url).toBe('data:image/png;base64,iVBORw0KGgo=')
    expect(text(page, '.ticket-code')).toBe('T1-77-abc-sig')
    expect(text(page, '.slot-place')).toBe('学校东门报到处')
    await tap(page, '.cancel')
    expect(server.callsTo('DELETE', '/api/v1/onsite/bookings/{booking_id}')[0].params).toEqual({ booking_id: '77' })
    expect(wx.navigateBack).toHaveBeenCalled()
  })
})
