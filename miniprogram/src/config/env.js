/** Resolve the API base URL for the build that is running (develop / trial / release). */
const config = require('./index')

function envVersion() {
  try {
    return wx.getAccountInfoSync().miniProgram.envVersion || 'release'
  } catch (err) {
    return 'release'
  }
}

function apiBaseUrl() {
  const urls = config.apiBaseUrl
  const base = urls[envVersion()] || urls.release
  return base.replace(/\/+$/, '')
}

module.exports = { envVersion, apiBaseUrl }
