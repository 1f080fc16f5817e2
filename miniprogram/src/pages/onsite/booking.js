/** 预约现场确认: the admitting school's time slots (分时段), so families arrive at set times. */
const ui = require('../../utils/ui')
const format = require('../../utils/format')
const admission = require('../../services/admission')

Page(ui.page({
  data: { loading: true, slots: [], booking: null },

  onLoad(options) {
    this.registrationId = Number(options.registration_id)
    return this.load()
  },

  load() {
    const slots = admission.listSlots(this.registrationId).then(items => {
      this.setData({
        slots: items.map(slot => Object.assign({}, slot, {
          time: `${format.dateTime(slot.starts_at)} — ${format.dateTime(slot.ends_at).slice(-5)}`,
        })),
      })
    })
    const bookings = admission.listBookings().then(items => {
      const mine = items.find(b => b.registration_id === this.registrationId) || null
      this.setData({ booking: mine })
    })
    return Promise.all([slots, bookings]).then(() => this.setData({ loading: false }), err => {
      this.setData({ loading: false })
      ui.showError(err)
    })
  },

  onBook(e) {
    const slot = this.data.slots[e.currentTarget.dataset.index]
    const moving = Boolean(this.data.booking)
    const text = `${slot.time}\n${slot.place}${moving ? '\n改约后，原来的入场凭证作废。' : ''}`
    return ui.confirm(moving ? '改约到这个时段' : '预约这个时段', text, '确定预约').then(ok => {
      if (!ok) return null
      return admission.bookSlot(this.registrationId, slot.id).then(booking => {
        wx.redirectTo({ url: `/pages/onsite/ticket?booking_id=${booking.id}` })
      }, err => ui.showError(err))
    })
  },

  onTicket() {
    wx.navigateTo({ url: `/pages/onsite/ticket?booking_id=${this.data.booking.id}` })
  },
}))
