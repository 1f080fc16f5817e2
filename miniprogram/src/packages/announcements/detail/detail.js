/** One published announcement with its attachments. */
const ui = require('../../../utils/ui')
const format = require('../../../utils/format')
const env = require('../../../config/env')
const catalogue = require('../../../services/catalogue')

Page(ui.page({
  data: { item: null },

  onLoad(options) {
    return catalogue.getAnnouncement(Number(options.id)).then(item => {
      this.setData({
        item: Object.assign({}, item, {
          date: format.dateTime(item.published_at),
          scope: item.school ? item.school.name : '教育局',
        }),
      })
    }, err => ui.showError(err))
  },

  /** Download an attachment and open it (PDF) or show it (image). */
  onAttachment(e) {
    const attachment = this.data.item.attachments[e.currentTarget.dataset.index]
    const url = /^https?:/.test(attachment.url) ? attachment.url : env.apiBaseUrl() + attachment.url
    wx.showLoading({ title: '正在打开' })
    wx.downloadFile({
      url,
      success: res => {
        wx.hideLoading()
        if (attachment.content_type.indexOf('image/') === 0) {
          wx.previewImage({ urls: [res.tempFilePath] })
        } else {
          wx.openDocument({ filePath: res.tempFilePath, fileType: 'pdf', showMenu: true })
        }
      },
      fail: () => {
        wx.hideLoading()
        ui.toast('附件打开失败，请稍后重试')
      },
    })
  },
}))
