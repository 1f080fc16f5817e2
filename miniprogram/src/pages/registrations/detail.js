/** One registration: its status timeline, what to fix, withdraw, and the appeal link. */
const ui = require('../../utils/ui')
const format = require('../../utils/format')
const registrations = require('../../services/registrations')
const { BASIS, UPLOAD_KIND, FAIRNESS_NOTICE } = require('../../config/domain')

const ROLE = { parent: '家长', school_staff: '学校', bureau_admin: '教育局', system: '系统' }

function timelineSteps(registration) {
  const events = registration.timeline || []
  return events.map((event, index) => ({
    title: event.status_name,
    time: `${format.dateTime(event.at)} · ${ROLE[event.actor_role] || ''}`,
    note: [event.reason, event.note].filter(Boolean).join('：'),
    state: index === events.length - 1 ? 'current' : 'done',
  }))
}

Page(ui.page({
  data: { loading: true, registration: null, steps: [], basisName: '', uploads: [],
    correction: null, fairness: FAIRNESS_NOTICE },

  onLoad(options) {
    this.id = Number(options.id)
  },

  onShow() {
    if (this.id) this.load()
  },

  load() {
    return registrations.get(this.id).then(registration => {
      const correction = registration.correction
      this.setData({
        loading: false,
        registration,
        steps: timelineSteps(registration),
        basisName: (BASIS[registration.basis] || {}).name || registration.basis,
        uploads: registration.uploads.map(u => UPLOAD_KIND[u.kind] || u.kind),
        submitted: format.dateTime(registration.submitted_at),
        correction: correction ? Object.assign({}, correction, {
          deadline: format.dateTime(correction.fix_deadline),
        }) : null,
      })
    }, err => {
      this.setData({ loading: false })
      ui.showError(err)
    })
  },

  onFix() {
    wx.navigateTo({ url: `/packages/register/form/form?mode=fix&id=${this.id}` })
  },

  onWithdraw() {
    return ui.confirm('撤回报名', '撤回后本次报名作废，报名时间内可以重新报名。确定撤回吗？', '确定撤回')
      .then(ok => {
        if (!ok) return null
        return registrations.withdraw(this.id).then(() => {
          ui.toast('已撤回')
          return this.load()
        }, err => ui.showError(err))
      })
  },

  onAdmission() {
    wx.navigateTo({ url: `/pages/admission/index?registration_id=${this.id}` })
  },

  onAppeal() {
    wx.navigateTo({ url: `/packages/complaints/new/new?type=appeal&registration=${this.id}` })
  },
}))
