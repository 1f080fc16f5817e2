/** 报名须知: read to the end and tick before the first registration of the season. */
const ui = require('../../../utils/ui')
const flow = require('../../../utils/flow')
const catalogue = require('../../../services/catalogue')

// The sections, with the season's dates and the bureau's own notice, come from the API
// (`must_read` of the season), as on the PC pages.
function sections(season) {
  return (season && season.must_read) || []
}

Page(ui.page({
  data: { sections: [], readToEnd: false, ticked: false, review: false },

  onLoad(options) {
    this.school = options.school || ''
    this.setData({ review: options.review === '1', sections: sections(null) })
    return catalogue.getCurrentSeason().then(season => {
      this.season = season
      this.setData({ sections: sections(season) })
    }, err => ui.showError(err))
  },

  onReady() {
    // A tall screen may show everything at once: then there is nothing to scroll.
    if (typeof wx.createSelectorQuery !== 'function') return
    wx.createSelectorQuery().in(this)
      .select('.must-read-scroll').boundingClientRect()
      .select('.must-read-content').boundingClientRect()
      .exec(rects => {
        if (rects && rects[0] && rects[1] && rects[1].height <= rects[0].height + 4) {
          this.setData({ readToEnd: true })
        }
      })
  },

  onScrolledToEnd() {
    if (!this.data.readToEnd) this.setData({ readToEnd: true })
  },

  onTick(e) {
    this.setData({ ticked: (e.detail.value || []).indexOf('agree') >= 0 })
  },

  onAgree() {
    if (!this.data.readToEnd || !this.data.ticked) {
      ui.toast('请读完须知并勾选同意')
      return null
    }
    flow.markNoticeRead(this.season)
    return flow.nextStep(this.school).then(url => wx.redirectTo({ url }), err => ui.showError(err))
  },
}))
