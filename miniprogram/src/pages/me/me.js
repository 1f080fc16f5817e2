/** 我的: identity, children, claiming a registration made at the counter, complaints, large-text mode. */
const ui = require('../../utils/ui')
const identity = require('../../services/identity')
const { RELATION } = require('../../config/domain')

Page(ui.page({
  data: { me: null, relationName: '' },

  onShow() {
    return identity.getMe().then(me => {
      this.setData({
        me,
        relationName: me.identity ? RELATION[me.identity.relation] || '' : '',
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

  onMustRead() {
    wx.navigateTo({ url: '/packages/identity/must-read/must-read?review=1' })
  },
}))
