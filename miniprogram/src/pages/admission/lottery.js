/** A published lottery: the committed list, the named public value, the seed and the order. */
const ui = require('../../utils/ui')
const privacy = require('../../utils/privacy')
const format = require('../../utils/format')
const env = require('../../config/env')
const admission = require('../../services/admission')

Page(ui.page({
  data: { lottery: null },

  onLoad(options) {
    return admission.getLottery(Number(options.id)).then(lottery => {
      this.setData({
        lottery: Object.assign({}, lottery, {
          frozen: format.dateTime(lottery.frozen_at),
          drawn: format.dateTime(lottery.drawn_at),
        }),
      })
    }, err => ui.showError(err))
  },

  /** Copy the evidence file's address (the clipboard is privacy-scoped: after the
   * agreement): anyone can re-run the draw from it. */
  onCopyEvidence() {
    const url = this.data.lottery.evidence_url
    return privacy.ensurePrivacy('复制证据文件地址').then(() => {
      wx.setClipboardData({ data: /^https?:/.test(url) ? url : env.apiBaseUrl() + url })
    }, () => null)
  },
}))
