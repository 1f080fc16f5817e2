/**
 * A fake backend behind the mocked wx.request / wx.uploadFile: routes by method and path
 * template (the OpenAPI spelling, e.g. /api/v1/schools/{code}), records every call.
 */
const openapi = require('./openapi')

const BASE = 'http://127.0.0.1:8000'
// Symbol.for: the same value in every module registry (tests reset modules between tests).
const NETWORK_FAILURE = Symbol.for('fake-server network failure')

function parseUrl(url) {
  if (url.indexOf(BASE) !== 0) throw new Error(`request outside the API base: ${url}`)
  const rest = url.slice(BASE.length)
  const [path, qs] = rest.split('?')
  const query = {}
  ;(qs || '').split('&').filter(Boolean).forEach(part => {
    const [k, v] = part.split('=')
    query[decodeURIComponent(k)] = decodeURIComponent(v || '')
  })
  return { path, query }
}

function matcher(template) {
  const names = []
  const source = template.replace(/\{(\w+)\}/g, (m, name) => {
    names.push(name)
    return '([^/]+)'
  })
  const regex = new RegExp(`^${source}$`)
  return path => {
    const m = regex.exec(path)
    if (!m) return null
    const params = {}
    names.forEach((name, i) => { params[name] = decodeURIComponent(m[i + 1]) })
    return params
  }
}

function error(status, code, message) {
  return { status, body: { error: { code, message } } }
}

class FakeServer {
  constructor() {
    this.routes = []
    this.calls = []
    this.tokens = new Set(['token-1'])
    this.loginCount = 0
    this.on('POST', '/api/v1/auth/wechat-login', req => {
      this.loginCount += 1
      const token = `token-${this.loginCount}`
      this.tokens.add(token)
      return { token, expires_in: 604800, user: { id: 1, role: 'parent', identity_bound: false }, code: req.data.code }
    })
  }

  /** Answer `method template` with a value, a function of the request, or NETWORK_FAILURE. */
  on(method, template, answer) {
    this.routes.unshift({ method, template, match: matcher(template), answer })
    return this
  }

  /** Calls made to `method template` (in order). */
  callsTo(method, template) {
    return this.calls.filter(c => c.method === method && c.template === template)
  }

  handle(method, url, header, data, upload) {
    const { path, query } = parseUrl(url)
    const matching = this.routes.filter(r => r.method === method && r.match(path))
    // As the backend's router: a literal path beats a template that also matches it
    // (/registrations/requirements, not /registrations/{registration_id}).
    const route = matching.find(r => r.template === path) || matching[0]
    const call = { method, path, query, header: header || {}, data, upload, template: route ? route.template : null }
    this.calls.push(call)
    if (!route) return error(404, 'NOT_FOUND', '请求的资源不存在')
    call.params = route.match(path)
    // Every request a page makes must be one the backend documents, with a valid body.
    const problems = openapi.check(method, route.template, query, upload ? undefined : data, upload)
    if (problems.length) throw new Error(`contract: ${problems.join('; ')}`)
    const needsAuth = route.template !== '/api/v1/auth/wechat-login'
    let answer = route.answer
    if (typeof answer === 'function') answer = answer(call)
    if (answer === NETWORK_FAILURE) return NETWORK_FAILURE
    // {status: <number>, body} is a full answer; anything else is a 200 body.
    if (answer && typeof answer.status === 'number' && 'body' in answer) return answer
    if (needsAuth && header && header.Authorization) {
      const token = header.Authorization.replace(/^Bearer /, '')
      if (!this.tokens.has(token)) return error(401, 'UNAUTHENTICATED', '登录已失效，请重新登录')
    }
    return { status: 200, body: answer === undefined ? {} : answer }
  }
}

module.exports = { FakeServer, BASE, NETWORK_FAILURE, error }
