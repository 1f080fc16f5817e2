/**
 * 入场凭证: the signed QR ticket staff scan at check-in, and its code to type if a scanner
 * fails. Appointment notices open this page (backend: pages/onsite/ticket?booking_id=).
 */
const ui = require('../../utils/ui')
const format = require('../../utils/format')
const admission = require('../../services/admission')

Page(ui.page({
  data: { ticket: null },

  onLoad(options) {
    this.bookingId = Number(options.booking_id)
    return this.load()
  },

  load() {
    return admission.getEntryTicket(this.bookingId).then(ticket => {
      // Full brightness makes the code easier to scan from a phone screen.
      if (wx.setScreenBrightness) wx.setScreenBrightness({ value: 1, fail() {} })
      this.setData({
        ticket: Object.assign({}, ticket, {
          time: `${format.dateTime(ticket.slot.starts_at)} — ${format.dateTime(ticket.slot.ends_at).slice(-5)}`,
        }),
      })
    }, err => ui.showError(err))
  },

  onCancel() {
    return ui.confirm('取消预约', '取消后名额让给其他家庭，可以重新预约其他时段。确定取消吗？', '确定取消').then(ok => {
      if (!ok) return null
      return admission.cancelBooking(this.bookingId).then(() => {
        ui.toast('已取消预约')
        wx.navigateBack()
      }, err => ui.showError(err))
    })
  },
}))
