/**
 * Where a scan leads. A school's code arrives two ways:
 * - a mini-program code (wxacode): options.scene, e.g. "s=LX001" (URL-encoded by WeChat);
 * - an ordinary-link QR code: options.q, the URL-encoded link, e.g.
 *   "https://<domain>/mp/s/LX001" (the same link opens the school's page in a browser).
 * A county poster carries "a=<authority>" or "<prefix>a/<authority>", or just the prefix.
 * A PC's sign-in code (电脑端登录) carries "l=<22 letters and digits>".
 */
const CODE = /^[0-9A-Za-z_-]{1,32}$/
const PC_LOGIN = /^l=[0-9A-Za-z]{22}$/

function safeDecode(value) {
  try {
    return decodeURIComponent(value)
  } catch (err) {
    return String(value)
  }
}

function fromPairs(text) {
  const pairs = {}
  text.split('&').forEach(part => {
    const at = part.indexOf('=')
    if (at > 0) pairs[part.slice(0, at).trim()] = part.slice(at + 1).trim()
  })
  return pairs
}

/** Parse options.scene ("s=LX001", "a=linxian", "l=<PC sign-in>"). */
function parseScene(scene) {
  const text = safeDecode(String(scene || '')).trim()
  if (!text) return null
  if (PC_LOGIN.test(text)) return { type: 'pc-login', scene: text }
  const pairs = fromPairs(text)
  if (pairs.s !== undefined) {
    return CODE.test(pairs.s) ? { type: 'school', code: pairs.s } : { type: 'unknown', raw: text }
  }
  if (pairs.a !== undefined) {
    return CODE.test(pairs.a) ? { type: 'authority', code: pairs.a }
      : { type: 'unknown', raw: text }
  }
  return { type: 'unknown', raw: text }
}

/** Parse a link (options.q decoded, or what wx.scanCode read). */
function parseLink(link) {
  const text = String(link || '').trim()
  if (!text) return null
  const match = /^https?:\/\/[^/?#]+(\/[^?#]*)?/i.exec(text)
  if (!match) return { type: 'unknown', raw: text }
  const segments = (match[1] || '/').split('/').filter(Boolean)
  if (segments[0] !== 'mp') return { type: 'unknown', raw: text }
  if (segments.length === 1) return { type: 'home' }
  if (segments.length === 3 && (segments[1] === 's' || segments[1] === 'a')) {
    const code = safeDecode(segments[2])
    if (CODE.test(code)) return { type: segments[1] === 's' ? 'school' : 'authority', code }
  }
  return { type: 'unknown', raw: text }
}

/** The entry of a page's onLoad options: scene first, then q; null when neither is there. */
function parseEntry(options) {
  const opts = options || {}
  if (opts.scene) return parseScene(opts.scene)
  if (opts.q) return parseLink(safeDecode(opts.q))
  return null
}

/** What wx.scanCode returned: a link, or a mini-program code's path with its scene. */
function parseScanResult(result) {
  const res = result || {}
  if (res.path) {
    const at = res.path.indexOf('scene=')
    if (at >= 0) return parseScene(res.path.slice(at + 'scene='.length).split('&')[0])
  }
  return parseLink(res.result)
}

module.exports = { parseScene, parseLink, parseEntry, parseScanResult }
