/**
 * The one wrapper over wx.request and wx.uploadFile.
 *
 * - base URL from config (per build), `Authorization: Bearer <token>` from storage;
 * - a 401 on an authenticated call: one silent re-login (wx.login → wechat-login), then the
 *   same call once more; concurrent 401s share one login;
 * - an error answer `{"error": {code, message}}` becomes an ApiError carrying the server's
 *   Chinese message; no body → a Chinese message for the status;
 * - a network failure asks "重试?" and repeats the call when the user says so (silent calls,
 *   e.g. polling, reject at once instead).
 */
const endpoints = require('../services/endpoints')
const env = require('../config/env')
const config = require('../config/index')

const TOKEN_KEY = 'token'

const STATUS_MESSAGES = {
  400: '请求格式有误',
  401: '登录已失效，请重新进入小程序',
  403: '没有权限执行此操作',
  404: '请求的内容不存在',
  409: '操作与当前状态冲突，请刷新后重试',
  413: '文件太大，请压缩后重新上传',
  422: '提交的信息有误，请检查后重试',
  429: '操作太频繁，请稍后再试',
  503: '服务暂时繁忙，请稍后再试',
}

class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
    this.details = details || null
  }
}

class NetworkError extends Error {
  constructor(message) {
    super(message || '网络连接失败，请检查网络后重试')
    this.name = 'NetworkError'
    // The user already saw the retry prompt: pages need not show another message.
    this.shown = false
  }
}

function app() {
  try {
    return getApp() || null
  } catch (err) {
    return null
  }
}

function getToken() {
  return wx.getStorageSync(TOKEN_KEY) || ''
}

function setSession(body) {
  wx.setStorageSync(TOKEN_KEY, body.token)
  const application = app()
  if (application && application.globalData) application.globalData.user = body.user
}

function clearSession() {
  wx.removeStorageSync(TOKEN_KEY)
  const application = app()
  if (application && application.globalData) application.globalData.user = null
}

function errorFrom(statusCode, body) {
  const error = body && typeof body === 'object' ? body.error : null
  if (error && error.code) {
    return new ApiError(statusCode, error.code, error.message || STATUS_MESSAGES[statusCode]
      || '系统繁忙，请稍后再试', error.details)
  }
  return new ApiError(statusCode, `HTTP_${statusCode}`,
    STATUS_MESSAGES[statusCode] || '系统繁忙，请稍后再试')
}

function parseBody(data) {
  if (typeof data !== 'string') return data
  if (!data) return null
  try {
    return JSON.parse(data)
  } catch (err) {
    return null
  }
}

function expandPath(template, params) {
  return template.replace(/\{(\w+)\}/g, (match, name) => {
    const value = params && params[name]
    if (value === undefined || value === null || value === '') {
      throw new Error(`missing path parameter ${name} for ${template}`)
    }
    return encodeURIComponent(String(value))
  })
}

function queryString(query) {
  const parts = Object.keys(query || {})
    .filter(key => query[key] !== undefined && query[key] !== null && query[key] !== '')
    .map(key => `${encodeURIComponent(key)}=${encodeURIComponent(String(query[key]))}`)
  return parts.length ? `?${parts.join('&')}` : ''
}

/** One HTTP exchange through wx.request or wx.uploadFile; resolves {statusCode, body}. */
function transport(spec) {
  return new Promise((resolve, reject) => {
    const done = res => resolve({ statusCode: res.statusCode, body: parseBody(res.data) })
    const failed = () => reject(new NetworkError())
    if (spec.upload) {
      wx.uploadFile({
        url: spec.url,
        filePath: spec.filePath,
        name: spec.name || 'file',
        formData: spec.formData || {},
        header: spec.header,
        timeout: 60000,
        success: done,
        fail: failed,
      })
      return
    }
    wx.request({
      url: spec.url,
      method: spec.method,
      data: spec.data,
      header: spec.header,
      timeout: 15000,
      success: done,
      fail: failed,
    })
  })
}

function askRetry() {
  return new Promise(resolve => {
    wx.showModal({
      title: '网络连接失败',
      content: '请检查手机网络，然后点“重试”。',
      confirmText: '重试',
      cancelText: '取消',
      success: res => resolve(Boolean(res.confirm)),
      fail: () => resolve(false),
    })
  })
}

/** Send, and on a network failure offer to retry as often as the user wants. */
function sendWithRetryPrompt(spec, silent) {
  return transport(spec).catch(err => {
    if (!(err instanceof NetworkError) || silent) throw err
    return askRetry().then(again => {
      if (again) return sendWithRetryPrompt(spec, silent)
      err.shown = true
      throw err
    })
  })
}

/** A login code from scripts/server's WeChat simulator (develop builds that ask for it). */
function simulatorLoginCode() {
  return new Promise((resolve, reject) => {
    wx.request({
      url: `${config.simulatorUrl.replace(/\/+$/, '')}/sim/login-code`,
      method: 'POST',
      data: { openid: config.simulatorOpenid },
      header: { 'Content-Type': 'application/json' },
      success: res => (res.statusCode === 200 && res.data && res.data.code ? resolve(res.data.code)
        : reject(new ApiError(0, 'WX_LOGIN_FAILED', '微信登录失败，请稍后重试'))),
      fail: () => reject(new NetworkError()),
    })
  })
}

function wxLoginCode() {
  if (config.simulatorUrl && env.envVersion() === 'develop') return simulatorLoginCode()
  return new Promise((resolve, reject) => {
    wx.login({
      success: res => (res && res.code ? resolve(res.code)
        : reject(new ApiError(0, 'WX_LOGIN_FAILED', '微信登录失败，请稍后重试'))),
      fail: () => reject(new ApiError(0, 'WX_LOGIN_FAILED', '微信登录失败，请稍后重试')),
    })
  })
}

let pendingLogin = null

/** Log in with a fresh wx.login code; concurrent callers share one login. */
function login() {
  if (!pendingLogin) {
    const [method, path] = endpoints.wechatLogin
    pendingLogin = wxLoginCode()
      .then(code => sendWithRetryPrompt({
        url: env.apiBaseUrl() + path, method, data: { code },
        header: { 'Content-Type': 'application/json' },
      }))
      .then(({ statusCode, body }) => {
        if (statusCode !== 200 || !body || !body.token) throw errorFrom(statusCode, body)
        setSession(body)
        return body
      })
    const clear = () => { pendingLogin = null }
    pendingLogin.then(clear, clear)
  }
  return pendingLogin
}

function ensureLogin() {
  return getToken() ? Promise.resolve() : login()
}

function authorityCode() {
  const application = app()
  const fromEntry = application && application.globalData && application.globalData.authority
  return fromEntry || config.authority || ''
}

/**
 * Call a named endpoint.
 * options: params (path), query, data (JSON body), header, silent (no retry prompt),
 * filePath + formData (uploads).
 */
function call(name, options = {}) {
  const entry = endpoints[name]
  if (!entry) return Promise.reject(new Error(`unknown endpoint ${name}`))
  const [method, template, flags = {}] = entry
  const needsAuth = flags.auth !== false
  const query = Object.assign({}, options.query || {})
  if (flags.authority && !query.authority && authorityCode()) query.authority = authorityCode()
  let url
  try {
    url = env.apiBaseUrl() + expandPath(template, options.params) + queryString(query)
  } catch (err) {
    return Promise.reject(err)
  }

  const attempt = retried => {
    const header = Object.assign({}, options.header || {})
    if (!flags.upload) header['Content-Type'] = 'application/json'
    if (needsAuth) header.Authorization = `Bearer ${getToken()}`
    const spec = {
      url, method, header, data: options.data, upload: Boolean(flags.upload),
      filePath: options.filePath, formData: options.formData,
    }
    return sendWithRetryPrompt(spec, options.silent).then(({ statusCode, body }) => {
      if (statusCode >= 200 && statusCode < 300) return body
      if (statusCode === 401 && needsAuth && !retried) {
        // The token expired or was revoked: log in again silently, then try once more.
        clearSession()
        return login().then(() => attempt(true))
      }
      throw errorFrom(statusCode, body)
    })
  }

  const start = needsAuth ? ensureLogin() : Promise.resolve()
  return start.then(() => attempt(false))
}

/** Upload a file chosen with wx.chooseMedia: same rules as call(). */
function upload(name, filePath, formData, options = {}) {
  return call(name, Object.assign({}, options, { filePath, formData }))
}

/** A random Idempotency-Key (8–64 letters/digits): the same key returns the same ticket. */
function newIdempotencyKey() {
  let key = Date.now().toString(36)
  while (key.length < 32) key += Math.floor(Math.random() * 36).toString(36)
  return key.slice(0, 32)
}

module.exports = {
  call,
  upload,
  login,
  ensureLogin,
  getToken,
  clearSession,
  newIdempotencyKey,
  ApiError,
  NetworkError,
  STATUS_MESSAGES,
}
