/** One complaint: what was said, the answer, and each step by role. */
const ui = require('../../../utils/ui')
const format = require('../../../utils/format')
const complaints = require('../../../services/complaints')

const ROLE = { parent: '家长', school_staff: '学校', bureau_admin: '教育局', system: '系统' }

Page(ui.page({
  data: { complaint: null, steps: [] },

  onLoad(options) {
    return complaints.get(Number(options.id)).then(complaint => {
      const history = complaint.history || []
      this.setData({
        complaint: Object.assign({}, complaint, {
          filed: format.dateTime(complaint.filed_at),
          due: format.date(complaint.due_at),
          answered: format.dateTime(complaint.answered_at),
        }),
        steps: history.map((step, index) => ({
          title: step.status_name,
          time: `${format.dateTime(step.at)} · ${ROLE[step.actor_role] || ''}`,
          note: step.note || '',
          state: index === history.length - 1 ? 'current' : 'done',
        })),
      })
    }, err => ui.showError(err))
  },
}))
