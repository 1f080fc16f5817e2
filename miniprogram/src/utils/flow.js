/**
 * The steps before a first registration, in order: the must-read notice for this season,
 * the real-name binding, at least one child. `nextStep` says where to go; each step page
 * calls it again when done, so the family always lands on the next thing to do.
 */
const catalogue = require('../services/catalogue')
const identity = require('../services/identity')

const MUST_READ_PREFIX = 'mustRead:'

function mustReadKey(season) {
  return `${MUST_READ_PREFIX}${season ? season.id : 'none'}`
}

function hasReadNotice(season) {
  return Boolean(wx.getStorageSync(mustReadKey(season)))
}

function markNoticeRead(season) {
  wx.setStorageSync(mustReadKey(season), Date.now())
}

function withSchool(url, school) {
  return school ? `${url}${url.indexOf('?') >= 0 ? '&' : '?'}school=${encodeURIComponent(school)}` : url
}

/** The URL of the next step towards the registration form (with the school, if chosen). */
function nextStep(school) {
  return catalogue.getCurrentSeason().then(season => {
    if (!hasReadNotice(season)) return withSchool('/packages/identity/must-read/must-read', school)
    return identity.getMe().then(me => {
      if (!me.identity_bound) return withSchool('/packages/identity/bind/bind', school)
      if (!me.children || !me.children.length) {
        return withSchool('/packages/identity/child-edit/child-edit', school)
      }
      return withSchool('/packages/register/form/form', school)
    })
  })
}

module.exports = { nextStep, hasReadNotice, markNoticeRead, mustReadKey }
