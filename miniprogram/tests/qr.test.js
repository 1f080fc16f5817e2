/** utils/qr.js: a school's code from options.scene (wxacode) or options.q (ordinary link). */
const qr = () => require('../src/utils/qr')

test('a mini-program code carries the school in its scene', () => {
  expect(qr().parseEntry({ scene: 's%3DLX001' })).toEqual({ type: 'school', code: 'LX001' })
  expect(qr().parseEntry({ scene: 's=LX001' })).toEqual({ type: 'school', code: 'LX001' })
  expect(qr().parseEntry({ scene: encodeURIComponent('s=LX001&v=2') })).toEqual({ type: 'school', code: 'LX001' })
  expect(qr().parseEntry({ scene: 'a%3Dlinxian' })).toEqual({ type: 'authority', code: 'linxian' })
})

test('an ordinary-link QR code carries the school in its URL', () => {
  const q = encodeURIComponent('https://enroll.example.gov.cn/mp/s/LX001')
  expect(qr().parseEntry({ q, scancode_time: '1722816000' })).toEqual({ type: 'school', code: 'LX001' })
  expect(qr().parseEntry({ q: encodeURIComponent('https://enroll.example.gov.cn/mp/s/LX001/') }))
    .toEqual({ type: 'school', code: 'LX001' })
  expect(qr().parseEntry({ q: encodeURIComponent('http://127.0.0.1:8000/mp/s/LX002?from=poster') }))
    .toEqual({ type: 'school', code: 'LX002' })
  expect(qr().parseEntry({ q: encodeURIComponent('https://enroll.example.gov.cn/mp/a/linxian') }))
    .toEqual({ type: 'authority', code: 'linxian' })
  expect(qr().parseEntry({ q: encodeURIComponent('https://enroll.example.gov.cn/mp/') })).toEqual({ type: 'home' })
})

test('anything else is unknown (a friendly page), and no code at all is a plain start', () => {
  expect(qr().parseEntry({})).toBeNull()
  expect(qr().parseEntry({ scene: 'x=1' })).toMatchObject({ type: 'unknown' })
  expect(qr().parseEntry({ scene: encodeURIComponent('s=<script>') })).toMatchObject({ type: 'unknown' })
  expect(qr().parseEntry({ scene: 's=' })).toMatchObject({ type: 'unknown' })
  expect(qr().parseEntry({ q: encodeURIComponent('https://example.com/other/LX001') })).toMatchObject({ type: 'unknown' })
  expect(qr().parseEntry({ q: encodeURIComponent('https://enroll.example.gov.cn/mp/s/') })).toMatchObject({ type: 'unknown' })
  expect(qr().parseEntry({ q: 'not a link' })).toMatchObject({ type: 'unknown' })
  expect(qr().parseEntry({ scene: '%E0%A4%A' })).toMatchObject({ type: 'unknown' })
})

test('what wx.scanCode read: a link, or a mini-program code path with its scene', () => {
  expect(qr().parseScanResult({ result: 'https://enroll.example.gov.cn/mp/s/LX003', scanType: 'QR_CODE' }))
    .toEqual({ type: 'school', code: 'LX003' })
  expect(qr().parseScanResult({ result: '', path: 'pages/home/home?scene=s%3DLX004', scanType: 'WX_CODE' }))
    .toEqual({ type: 'school', code: 'LX004' })
})

test('a PC\'s sign-in code (电脑端登录) is told apart by its scene', () => {
  const scene = 'l=Ab3dEf7hIj1lMn5pQr9tUv'
  expect(qr().parseEntry({ scene: encodeURIComponent(scene) })).toEqual({ type: 'pc-login', scene })
  expect(qr().parseScanResult({ result: '', scanType: 'WX_CODE',
    path: `packages/account/pc-login/pc-login?scene=${encodeURIComponent(scene)}` }))
    .toEqual({ type: 'pc-login', scene })
  expect(qr().parseEntry({ scene: encodeURIComponent('l=short') })).toMatchObject({ type: 'unknown' })
})
