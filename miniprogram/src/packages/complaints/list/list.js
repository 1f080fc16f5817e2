/** 投诉与申诉: the family's complaints with their answers. */
const ui = require('../../../utils/ui')
const format = require('../../../utils/format')
const complaints = require('../../../services/complaints')

Page(ui.page({
  data: { loading: true, items: [] },

  onShow() {
    return complaints.list().then(items => {
      this.setData({
        loading: false,
        items: items.map(item => Object.assign({}, item, {
          filed: format.dateTime(item.filed_at), due: format.date(item.due_at),
        })),
      })
    }, err => {
      this.setData({ loading: false })
      ui.showError(err)
    })
  },

  onNew() {
    wx.navigateTo({ url: '/packages/complaints/new/new' })
  },

  onOpen(e) {
    wx.navigateTo({ url: `/packages/complaints/detail/detail?id=${e.currentTarget.dataset.id}` })
  },
}))
