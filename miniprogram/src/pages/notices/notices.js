/** 消息: the in-app inbox; every notice, whether or not WeChat delivered it. */
const ui = require('../../utils/ui')
const format = require('../../utils/format')
const notices = require('../../services/notices')

Page(ui.page({
  data: { loading: true, items: [], unread: 0, total: 0, page: 1 },

  onShow() {
    this.load(1)
  },

  onPullDownRefresh() {
    this.load(1).then(() => wx.stopPullDownRefresh())
  },

  onReachBottom() {
    if (this.data.items.length < this.data.total) this.load(this.data.page + 1)
  },

  load(page) {
    return notices.list(page).then(body => {
      const items = body.items.map(item => Object.assign({}, item, {
        time: format.dateTime(item.created_at),
      }))
      this.setData({
        loading: false,
        items: page === 1 ? items : this.data.items.concat(items),
        unread: body.unread,
        total: body.total,
        page,
      })
      this.updateBadge(body.unread)
    }, err => {
      this.setData({ loading: false })
      ui.showError(err)
    })
  },

  updateBadge(unread) {
    if (unread > 0) {
      wx.setTabBarBadge({ index: 2, text: unread > 99 ? '99+' : String(unread), fail() {} })
    } else {
      wx.removeTabBarBadge({ index: 2, fail() {} })
    }
  },

  onOpen(e) {
    const index = e.currentTarget.dataset.index
    const item = this.data.items[index]
    const open = () => {
      if (item.page) wx.navigateTo({ url: `/${item.page.replace(/^\/+/, '')}` })
    }
    if (item.read) return open()
    return notices.markRead(item.id).then(updated => {
      this.setData({ [`items[${index}].read`]: updated.read, unread: Math.max(0, this.data.unread - 1) })
      this.updateBadge(this.data.unread)
      open()
    }, err => ui.showError(err))
  },
}))
