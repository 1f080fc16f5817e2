/**
 * Ask for subscribe-message consent (one credit per "accept") and tell the backend what the
 * user answered. Must run inside a tap handler. Never blocks what the user was doing: a
 * refusal or a failure only means no WeChat message; the inbox still gets every notice.
 */
const notices = require('../services/notices')

let templatesCache = null

function loadTemplates() {
  if (!templatesCache) {
    templatesCache = notices.listTemplates().catch(err => {
      templatesCache = null
      throw err
    })
  }
  return templatesCache
}

function requestSubscribe(tmplIds) {
  return new Promise(resolve => {
    wx.requestSubscribeMessage({
      tmplIds,
      success: res => resolve(res || {}),
      fail: () => resolve({}),
    })
  })
}

/** Ask for the given template keys (≤ 3); resolves with {key: answer}. */
function askFor(keys, templates) {
  const chosen = templates.filter(t => keys.indexOf(t.key) >= 0).slice(0, 3)
  if (!chosen.length) return Promise.resolve({})
  return requestSubscribe(chosen.map(t => t.template_id)).then(answer => {
    const results = {}
    chosen.forEach(t => {
      const value = answer[t.template_id]
      if (['accept', 'reject', 'ban', 'filter'].indexOf(value) >= 0) results[t.key] = value
    })
    if (!Object.keys(results).length) return results
    return notices.recordSubscriptions(results).then(() => results, () => results)
  })
}

module.exports = { loadTemplates, askFor, resetCache: () => { templatesCache = null } }
