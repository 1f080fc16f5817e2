/**
 * 录取结果: the family's pseudonymous id, its place in each published lottery (with the
 * evidence anyone can re-run), its seat offers to confirm or decline, and the class.
 * Notices about results open this page (backend: pages/admission/index?registration_id=).
 */
const ui = require('../../utils/ui')
const format = require('../../utils/format')
const admission = require('../../services/admission')

const OUTCOME = { admitted: '录取', waitlisted: '候补' }

function offerView(offer) {
  return Object.assign({}, offer, {
    respondBy: format.dateTime(offer.respond_by),
    canConfirm: offer.actions.indexOf('confirm') >= 0,
    canDecline: offer.actions.indexOf('decline') >= 0,
    canWithdraw: offer.actions.indexOf('withdraw') >= 0,
  })
}

Page(ui.page({
  data: { loading: true, admission: null, lotteries: [], offers: [], confirmed: null,
    classResult: null },

  onLoad(options) {
    this.registrationId = Number(options.registration_id || options.id)
  },

  onShow() {
    if (this.registrationId) this.load()
  },

  load() {
    const result = admission.getAdmission(this.registrationId).then(body => {
      const offers = body.offers.map(offerView)
      this.setData({
        loading: false,
        admission: body,
        lotteries: body.lotteries.map(lottery => Object.assign({}, lottery, {
          outcomeName: OUTCOME[lottery.outcome] || '待派位',
        })),
        offers,
        confirmed: offers.find(o => o.status === 'confirmed') || null,
      })
    }, err => {
      this.setData({ loading: false })
      ui.showError(err)
    })
    // The class is published later; until then the API answers 404.
    const classResult = admission.getClass(this.registrationId).then(value => {
      this.setData({ classResult: Object.assign({}, value, { published: format.dateTime(value.published_at) }) })
    }, () => this.setData({ classResult: null }))
    return Promise.all([result, classResult])
  },

  offerAt(e) {
    return this.data.offers[e.currentTarget.dataset.index]
  },

  onConfirm(e) {
    const offer = this.offerAt(e)
    return ui.confirm('确认入学', `确认在${offer.school.name}入学吗？确认后请按时预约现场确认。`, '确认入学')
      .then(ok => (ok ? admission.confirmOffer(offer.id).then(() => {
        ui.toast('已确认')
        return this.load()
      }, err => ui.showError(err)) : null))
  },

  onDecline(e) {
    const offer = this.offerAt(e)
    return ui.confirm('放弃学位', `放弃后，该学位将依次递补给候补家庭，不能撤回。确定放弃${offer.school.name}的学位吗？`, '确定放弃')
      .then(ok => (ok ? admission.declineOffer(offer.id).then(() => this.load(), err => ui.showError(err)) : null))
  },

  onWithdraw(e) {
    const offer = this.offerAt(e)
    return ui.confirm('退出已确认的学位', '退出后学位将递补给候补家庭，不能撤回。确定退出吗？', '确定退出')
      .then(ok => (ok ? admission.withdrawOffer(offer.id, '家长在小程序中退出').then(() => this.load(),
        err => ui.showError(err)) : null))
  },

  onEvidence(e) {
    wx.navigateTo({ url: `/pages/admission/lottery?id=${e.currentTarget.dataset.id}` })
  },

  onBook() {
    wx.navigateTo({ url: `/pages/onsite/booking?registration_id=${this.registrationId}` })
  },
}))
