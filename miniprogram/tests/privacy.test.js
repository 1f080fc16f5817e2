/**
 * WeChat's user-privacy authorization: app.json turns the check on, app.js registers
 * wx.onNeedPrivacyAuthorization once, the privacy-popup shows when WeChat asks and answers
 * with the agree button's id or a refusal, no privacy-scoped API (photos, files, location,
 * the clipboard, the phone button) is reached before the agreement, a refusal leaves the
 * rest usable and says how to agree later, and the guide names what the code collects.
 */
const fs = require('fs')
const path = require('path')
const { ROOT, openPage, text, tap, fire, flush } = require('./helpers/page')
const fx = require('./helpers/fixtures')

const app = JSON.parse(fs.readFileSync(path.join(ROOT, 'app.json'), 'utf8'))
const PRIVACY_SCOPED = ['chooseMedia', 'chooseImage', 'chooseVideo', 'chooseMessageFile', 'getLocation',
  'getFuzzyLocation', 'chooseLocation', 'choosePoi', 'chooseAddress', 'setClipboardData', 'getClipboardData',
  'saveImageToPhotosAlbum', 'startRecord', 'getWeRunData', 'chooseInvoiceTitle', 'chooseLicensePlate']

function launch() {
  require('../src/app')
  global.__appDefinition.onLaunch()
}

function walk(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap(entry => {
    const full = path.join(dir, entry.name)
    return entry.isDirectory() ? walk(full) : [full]
  })
}

function formServer() {
  server.on('GET', '/api/v1/registrations/requirements', fx.requirements())
  server.on('GET', '/api/v1/schools/{code}', fx.school())
  server.on('GET', '/api/v1/me/children', { items: [fx.child()] })
  server.on('GET', '/api/v1/notices/templates', fx.TEMPLATES)
  server.on('POST', '/api/v1/uploads', req => ({ upload_id: '1'.repeat(32), kind: req.data.formData.kind,
    content_type: 'image/jpeg', sha256: 'ab', size: 10 }))
}

/** A node of the pop-up inside a page (a custom component: reached through its id). */
function inPopup(page, selector) {
  const component = page.querySelector('#privacy-popup')
  if (!component) throw new Error('the page has no privacy-popup')
  return component.querySelector(selector)
}

function popup(page) {
  return inPopup(page, '.privacy-mask')
}

function popupText(page, selector) {
  const node = inPopup(page, selector)
  return node ? node.dom.textContent.replace(/\s+/g, ' ').trim() : null
}

async function tapInPopup(page, selector) {
  inPopup(page, selector).dispatchEvent('tap')
  await flush()
}

/** The registration form of a family that has not agreed yet, opened. */
async function formNotAgreed() {
  privacy.agreed = false
  launch()
  formServer()
  return openPage('packages/register/form/form', { school: 'LX001' })
}

/** The form with a photo asked for before the agreement: the pop-up is open. */
async function formWithPopup() {
  const page = await formNotAgreed()
  page.querySelectorAll('.upload')[0].dispatchEvent('tap')
  await flush()
  return page
}

async function agreeInPopup(page) {
  inPopup(page, '.privacy-agree').dispatchEvent('agreeprivacyauthorization')
  await flush()
}

test("the pop-up's agree button is WeChat's agreePrivacyAuthorization button with the id it resolves", () => {
  const wxml = fs.readFileSync(path.join(ROOT, 'components/privacy-popup/privacy-popup.wxml'), 'utf8')
  const button = /<button[^>]*privacy-agree[^>]*>/.exec(wxml)[0]
  expect(button).toContain('id="{{agreeId}}"')
  expect(button).toContain('open-type="agreePrivacyAuthorization"')
  expect(button).toContain('bindagreeprivacyauthorization="onAgree"')
  expect(require('../src/utils/privacy').AGREE_BUTTON_ID).toBe('privacy-agree')
})

test('app.json turns the privacy check on and app.js listens once, at launch', () => {
  expect(app.__usePrivacyCheck__).toBe(true)
  launch()
  expect(wx.onNeedPrivacyAuthorization).toHaveBeenCalledTimes(1)
  require('../src/utils/privacy').listen()
  global.__appDefinition.onLaunch()
  expect(wx.onNeedPrivacyAuthorization).toHaveBeenCalledTimes(1)
})

describe('the privacy pop-up', () => {
  test('shows when WeChat asks, and agreeing resolves with the button id before the photo is chosen', async () => {
    const page = await formNotAgreed()
    expect(popup(page)).toBeFalsy()
    page.querySelectorAll('.upload')[0].dispatchEvent('tap')
    await flush()
    // WeChat asked through the listener: the pop-up is up, nothing chosen yet.
    expect(wx.requirePrivacyAuthorize).toHaveBeenCalledTimes(1)
    expect(popup(page)).toBeTruthy()
    expect(popupText(page, '.privacy-purpose')).toContain('拍照或从相册选择报名材料')
    expect(privacy.resolve).toHaveBeenCalledWith({ event: 'exposureAuthorization' })
    expect(wx.chooseMedia).not.toHaveBeenCalled()

    // The agree button is WeChat's agreePrivacyAuthorization button; resolve names its id.
    expect(page.querySelector('#privacy-popup').data.agreeId).toBe('privacy-agree')
    await agreeInPopup(page)
    expect(privacy.resolve).toHaveBeenLastCalledWith({ buttonId: 'privacy-agree', event: 'agree' })
    expect(popup(page)).toBeFalsy()
    expect(wx.chooseMedia).toHaveBeenCalledTimes(1)
    const agreedAt = privacy.resolve.mock.invocationCallOrder[1]
    expect(agreedAt).toBeLessThan(wx.chooseMedia.mock.invocationCallOrder[0])
    expect(server.callsTo('POST', '/api/v1/uploads')).toHaveLength(1)
    expect(privacy.violations).toEqual([])

    // Agreed once: the next photo needs no pop-up.
    page.querySelectorAll('.upload')[0].dispatchEvent('tap')
    await flush()
    expect(popup(page)).toBeFalsy()
    expect(wx.chooseMedia).toHaveBeenCalledTimes(2)
  })

  test('refusing resolves disagree, chooses nothing, explains in Chinese and leaves the form usable', async () => {
    const page = await formWithPopup()
    await tapInPopup(page, '.privacy-disagree')
    expect(privacy.resolve).toHaveBeenLastCalledWith({ event: 'disagree' })
    expect(popup(page)).toBeFalsy()
    expect(wx.chooseMedia).not.toHaveBeenCalled()
    expect(server.callsTo('POST', '/api/v1/uploads')).toHaveLength(0)
    const modals = wx.showModal.mock.calls.map(c => c[0])
    expect(modals).toHaveLength(1) // one explanation, not two
    expect(modals[0].content).toContain('“拍照或从相册选择报名材料”需要您先同意')
    expect(modals[0].content).toContain('查看公告、招生安排、学校和片区')
    expect(modals[0].content).toContain('“我的 → 隐私设置”')
    // The page still works: the checklist is there, and asking again shows the pop-up again.
    expect(text(page, '.slot')).toContain('照片清晰')
    page.querySelectorAll('.upload')[0].dispatchEvent('tap')
    await flush()
    expect(popup(page)).toBeTruthy()
  })

  test('the guide link opens the one configured in the WeChat console', async () => {
    const page = await formWithPopup()
    expect(popupText(page, '.privacy-link')).toBe('《义务教育入学服务平台小程序隐私保护指引》')
    await tapInPopup(page, '.privacy-link')
    expect(wx.openPrivacyContract).toHaveBeenCalledTimes(1)
  })

  test('a request with no pop-up on screen is refused and explained, never left hanging', async () => {
    privacy.agreed = false
    launch()
    const done = require('../src/utils/privacy').ensurePrivacy('复制链接').then(() => 'agreed', err => err)
    await flush()
    const result = await done
    expect(result.code).toBe('PRIVACY_REFUSED')
    expect(privacy.resolve).toHaveBeenCalledWith({ event: 'disagree' })
    expect(wx.showModal.mock.calls[0][0].content).toContain('“复制链接”需要您先同意')
  })
})

describe('nothing privacy-scoped before the agreement', () => {
  test('the phone button appears only after the agreement', async () => {
    privacy.agreed = false
    launch()
    const page = await openPage('packages/identity/bind/bind')
    expect(page.querySelector('.phone')).toBeFalsy()
    expect(text(page, '.phone-privacy-hint')).toContain('不同意也可以继续实名登记')
    await tap(page, '.phone-privacy')
    expect(popup(page)).toBeTruthy()
    expect(page.querySelector('.phone')).toBeFalsy()
    await agreeInPopup(page)
    expect(page.querySelector('.phone')).toBeTruthy()
    await fire(page, '.phone', 'getphonenumber', { code: 'phone-code-1', errMsg: 'getPhoneNumber:ok' })
    expect(page.data.phoneCode).toBe('phone-code-1')
  })

  test('refusing the phone keeps the binding possible without a phone', async () => {
    privacy.agreed = false
    launch()
    server.on('POST', '/api/v1/me/identity', { name: '王*例' })
    server.on('GET', '/api/v1/seasons/current', fx.season())
    server.on('GET', '/api/v1/me', { id: 1, role: 'parent', identity_bound: true, children: [] })
    wx.setStorageSync('mustRead:7', 1)
    const page = await openPage('packages/identity/bind/bind')
    await tap(page, '.phone-privacy')
    await tapInPopup(page, '.privacy-disagree')
    expect(page.querySelector('.phone')).toBeFalsy()
    await fire(page, '.name', 'input', { value: '王示例' })
    await fire(page, '.relation', 'change', { value: 0 })
    await fire(page, '.id-number', 'input', { value: '141124199005019034' })
    await tap(page, '.submit')
    const [call] = server.callsTo('POST', '/api/v1/me/identity')
    expect(call.data.phone_code).toBeUndefined()
  })

  test('the clipboard is written only after the agreement', async () => {
    privacy.agreed = false
    launch()
    server.on('GET', '/api/v1/lotteries/{lottery_id}', {
      id: 4, practice: false, practice_label: null, status: 'drawn', status_name: '已派位',
      school: { id: 1, code: 'LX001', name: '临泉镇第一小学（示例）' }, seats: 270, applicant_count: 300,
      commitment: 'ab'.repeat(32), public_value_source: '双色球', seed: 'cd'.repeat(32),
      frozen_at: '2025-08-15T18:00:00+08:00', drawn_at: '2025-08-18T21:30:00+08:00',
      evidence_url: '/api/v1/lotteries/4/evidence.json' })
    const page = await openPage('pages/admission/lottery', { id: '4' })
    await tap(page, '.copy-evidence')
    expect(wx.setClipboardData).not.toHaveBeenCalled()
    await agreeInPopup(page)
    expect(wx.setClipboardData).toHaveBeenCalledWith({ data: 'http://127.0.0.1:8000/api/v1/lotteries/4/evidence.json' })
    expect(privacy.violations).toEqual([])
  })

  test('every privacy-scoped API in the code goes through ensurePrivacy, and the guide lists it', () => {
    const guide = require('../src/config/privacy-guide')
    const listed = guide.ITEMS.flatMap(item => item.apis).join(' ')
    const problems = []
    walk(ROOT).filter(f => f.endsWith('.js')).forEach(file => {
      const source = fs.readFileSync(file, 'utf8')
      PRIVACY_SCOPED.filter(api => new RegExp(`wx\\.${api}\\(`).test(source)).forEach(api => {
        const where = path.relative(ROOT, file)
        if (!/privacy\.ensurePrivacy\(/.test(source)) problems.push(`${where}: wx.${api} without ensurePrivacy`)
        if (listed.indexOf(`wx.${api}`) < 0) problems.push(`${where}: wx.${api} not in config/privacy-guide.js`)
      })
    })
    walk(ROOT).filter(f => f.endsWith('.wxml')).forEach(file => {
      const source = fs.readFileSync(file, 'utf8')
      const where = path.relative(ROOT, file)
      for (const m of source.matchAll(/<button[^>]*open-type="(getPhoneNumber|getRealtimePhoneNumber|chooseAvatar)"[^>]*>/g)) {
        if (!/wx:if="\{\{phoneAllowed\}\}"/.test(m[0])) problems.push(`${where}: ${m[1]} button not behind the agreement`)
        if (listed.indexOf(`open-type="${m[1]}"`) < 0) problems.push(`${where}: ${m[1]} not in config/privacy-guide.js`)
      }
      // A page calling a privacy-scoped API carries the pop-up that asks for the agreement.
      const js = file.replace(/\.wxml$/, '.js')
      if (fs.existsSync(js) && /privacy\.ensurePrivacy\(/.test(fs.readFileSync(js, 'utf8'))
          && source.indexOf('<privacy-popup') < 0) {
        problems.push(`${where}: no <privacy-popup/>`)
      }
    })
    expect(problems).toEqual([])
  })

  test('no <web-view>: the console needs no 业务域名 (README.md checklist)', () => {
    const pages = walk(ROOT).filter(f => f.endsWith('.wxml') && fs.readFileSync(f, 'utf8').indexOf('<web-view') >= 0)
    expect(pages.map(f => path.relative(ROOT, f))).toEqual([])
  })

  test('location and files are not used, so the guide says no location is taken', () => {
    const source = walk(ROOT).filter(f => f.endsWith('.js')).map(f => fs.readFileSync(f, 'utf8')).join('\n')
    expect(source).not.toMatch(/wx\.(getLocation|getFuzzyLocation|chooseLocation|chooseMessageFile)\(/)
    const guide = require('../src/config/privacy-guide')
    expect(guide.ITEMS.find(i => i.key === 'address').how).toContain('不获取您的位置')
  })
})

describe('我的 → 隐私设置 and the guide', () => {
  test('the guide lists each item with why, who sees it, the purge date and how to delete', async () => {
    server.on('GET', '/api/v1/privacy/consent-text', fx.consentText())
    const page = await openPage('packages/privacy/guide/guide')
    const items = page.querySelectorAll('.guide-item').map(i => i.dom.textContent)
    expect(items.join()).toContain('手机号')
    expect(items.join()).toContain('证件材料的照片')
    expect(items.join()).toContain('户籍地址和实际居住地址')
    expect(items.join()).toContain('姓名、证件号码')
    expect(items.join()).toContain('微信身份标识')
    expect(text(page, '.recipients')).toContain('县教育局')
    expect(text(page, '.purge-date')).toBe('本季的清除日期：2025年12月31日。')
    expect(text(page, '.deletion')).toContain('删除')
    expect(text(page, '.privacy-state')).toContain('您已同意')
  })

  test('after a refusal the family can agree later from the guide', async () => {
    privacy.agreed = false
    launch()
    server.on('GET', '/api/v1/privacy/consent-text', fx.consentText({ purge_personal_data_after: null }))
    const page = await openPage('packages/privacy/guide/guide')
    expect(text(page, '.privacy-state')).toContain('您还没有同意')
    expect(text(page, '.purge-date')).toContain('由教育局设定后在此显示')
    await tap(page, '.privacy-agree-now')
    await agreeInPopup(page)
    expect(text(page, '.privacy-state')).toContain('您已同意')
  })

  test('我的 shows each child\'s consent with time, channel and version, and opens 隐私设置', async () => {
    server.on('GET', '/api/v1/me', { id: 1, role: 'parent', identity_bound: true,
      identity: { name: '王*例', document_type: 'resident_id', id_number: '141124********9034', relation: 'mother', phone: null, verification: 'self_declared', verified_at: null },
      children: [fx.child(), fx.child({ id: 12, name: '张小弟' })],
      consents: [
        { child_id: 11, version: '2025-1', agreed_at: '2025-05-01T08:30:00+08:00', channel: 'mini_program' },
        { child_id: 12, version: 'legacy', agreed_at: null, channel: 'legacy' },
      ] })
    const page = await openPage('pages/me/me')
    const texts = selector => page.querySelectorAll(selector).map(node => node.dom.textContent.trim())
    expect(texts('.consent-child')).toEqual(['张小示', '张小弟'])
    expect(texts('.consent-detail')).toEqual([
      '2025年5月1日 08:30 在小程序中勾选同意（同意书版本 2025-1）', '本功能上线前添加，未记录同意'])
    await tap(page, '.privacy-settings')
    expect(wx.navigateTo).toHaveBeenCalledWith({ url: '/packages/privacy/guide/guide' })
  })
})
