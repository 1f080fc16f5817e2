/** 我的孩子: each child with eligibility for the current season. */
const ui = require('../../../utils/ui')
const identity = require('../../../services/identity')

Page(ui.page({
  data: { loading: true, items: [] },

  onShow() {
    return identity.listChildren().then(items => {
      this.setData({ loading: false, items })
    }, err => {
      this.setData({ loading: false })
      ui.showError(err)
    })
  },

  onAdd() {
    wx.navigateTo({ url: '/packages/identity/child-edit/child-edit' })
  },

  onEdit(e) {
    wx.navigateTo({ url: `/packages/identity/child-edit/child-edit?id=${e.currentTarget.dataset.id}` })
  },
}))
