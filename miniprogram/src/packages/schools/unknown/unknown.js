/** A scanned code we do not know: say so kindly and offer the ways on. */
const ui = require('../../../utils/ui')

Page(ui.page({
  data: { code: '' },

  onLoad(options) {
    this.setData({ code: options.code || '' })
  },

  onFinder() {
    wx.redirectTo({ url: '/packages/schools/finder/finder' })
  },

  onHome() {
    wx.switchTab({ url: '/pages/home/home' })
  },
}))
