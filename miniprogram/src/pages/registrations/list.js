/** 我的报名: every registration of the family, newest first. */
const ui = require('../../utils/ui')
const format = require('../../utils/format')
const registrations = require('../../services/registrations')
const { FAIRNESS_NOTICE } = require('../../config/domain')

const BADGE = {
  submitted: 'info', under_review: 'info', bureau_review: 'info', returned: 'warn',
  approved: 'ok', rejected: 'bad', withdrawn: 'bad',
}

Page(ui.page({
  data: { loading: true, items: [], fairness: FAIRNESS_NOTICE },

  onShow() {
    this.load()
  },

  onPullDownRefresh() {
    this.load().then(() => wx.stopPullDownRefresh())
  },

  load() {
    return registrations.list().then(body => {
      this.setData({
        loading: false,
        fairness: body.fairness_notice || FAIRNESS_NOTICE,
        items: body.items.map(item => Object.assign({}, item, {
          badge: BADGE[item.status] || 'info',
          submitted: format.dateTime(item.submitted_at),
          deadline: item.correction && item.correction.fix_deadline
            ? format.dateTime(item.correction.fix_deadline) : '',
        })),
      })
    }, err => {
      this.setData({ loading: false })
      ui.showError(err)
    })
  },

  onOpen(e) {
    wx.navigateTo({ url: `/pages/registrations/detail?id=${e.currentTarget.dataset.id}` })
  },

  onRegister() {
    wx.switchTab({ url: '/pages/home/home' })
  },
}))
