/**
 * 报名回执: the ticket of a queued submission, followed until the worker decides —
 * "排队中" (with the approximate place) → "已受理", or why it could not be accepted.
 */
const ui = require('../../../utils/ui')
const config = require('../../../config/index')
const registrations = require('../../../services/registrations')
const { TICKET_STATE, FAIRNESS_NOTICE } = require('../../../config/domain')

Page(ui.page({
  data: { ticket: '', school: '', state: 'queued', stateName: TICKET_STATE.queued,
    position: null, registrationId: null, error: null, fairness: FAIRNESS_NOTICE },

  onLoad(options) {
    this.registrationId = options.id ? Number(options.id) : null
    this.schoolCode = options.code || ''
    this.setData({ ticket: options.ticket || '', school: options.school || '' })
    this.active = true
    return this.poll()
  },

  onUnload() {
    this.active = false
    if (this.timer) clearTimeout(this.timer)
  },

  poll() {
    if (!this.active || !this.data.ticket) return null
    return registrations.getTicket(this.data.ticket).then(receipt => {
      this.setData({
        state: receipt.state,
        stateName: TICKET_STATE[receipt.state] || receipt.state,
        position: receipt.position,
        registrationId: receipt.registration_id || this.registrationId,
        error: receipt.error || null,
        fairness: receipt.fairness_notice || FAIRNESS_NOTICE,
      })
      if (receipt.state === 'queued') this.schedule()
    }, err => {
      // A network blip while waiting: keep following; a real error is shown.
      if (err.name === 'NetworkError') this.schedule()
      else ui.showError(err)
    })
  },

  schedule() {
    if (!this.active) return
    this.timer = setTimeout(() => this.poll(), config.ticketPollMs)
  },

  onDetail() {
    wx.redirectTo({ url: `/pages/registrations/detail?id=${this.data.registrationId}` })
  },

  /** Back to the form: the same school, or the same registration when it was a fix. */
  onBack() {
    const url = this.registrationId
      ? `/packages/register/form/form?mode=fix&id=${this.registrationId}`
      : `/packages/register/form/form?school=${encodeURIComponent(this.schoolCode)}`
    wx.redirectTo({ url })
  },

  onList() {
    wx.switchTab({ url: '/pages/registrations/list' })
  },
}))
