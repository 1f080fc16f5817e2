/**
 * 我的: identity, children, the guardian's consent recorded for each child, claiming a
 * registration made at the counter, complaints, 隐私设置, large-text mode.
 */
const ui = require('../../utils/ui')
const format = require('../../utils/format')
const identity = require('../../services/identity')
const { RELATION, CONSENT_CHANNEL } = require('../../config/domain')

/** The consents as the page lists them: whose, when (Beijing time), how, which version. */
function consentRows(me) {
  const names = {}
  ;(me.children || []).forEach(child => { names[child.id] = child.name })
  return (me.consents || []).map(consent => ({
    childId: consent.child_id,
    childName: names[consent.child_id] || '',
    time: format.dateTime(consent.agreed_at),
    channel: CONSENT_CHANNEL[consent.channel] || '',
    version: consent.version,
    legacy: consent.channel === 'legacy',
  }))
}

Page(ui.page({
  data: { me: null, relationName: '', consents: [] },

  onShow() {
    return identity.getMe().then(me => {
      this.setData({
        me,
        relationName: me.identity ? RELATION[me.identity.relation] || '' : '',
        consents: consentRows(me),
      })
    }, err => ui.showError(err))
  },

  onLargeText(e) {
    ui.setLargeText(e.detail.value)
    this.setData({ largeText: Boolean(e.detail.value) })
  },

  onBind() {
    wx.navigateTo({ url: '/packages/identity/bind/bind' })
  },

  onChildren() {
    wx.navigateTo({ url: '/packages/identity/children/children' })
  },

  /** The school registered the child at the counter: take it over with the slip's code. */
  onClaim() {
    wx.navigateTo({ url: '/packages/identity/claim/claim' })
  },

  onComplaints() {
    wx.navigateTo({ url: '/packages/complaints/list/list' })
  },

  /** 隐私设置: the privacy guide, and agreeing to it later after a refusal. */
  onPrivacy() {
    wx.navigateTo({ url: '/packages/privacy/guide/guide' })
  },

  onMustRead() {
    wx.navigateTo({ url: '/packages/identity/must-read/must-read?review=1' })
  },
}))
