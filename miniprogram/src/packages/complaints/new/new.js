/** File a complaint, appeal or report about a school or one of the family's registrations. */
const ui = require('../../../utils/ui')
const complaints = require('../../../services/complaints')
const catalogue = require('../../../services/catalogue')
const registrations = require('../../../services/registrations')
const { COMPLAINT_TYPE, COMPLAINT_TYPE_KEYS } = require('../../../config/domain')

Page(ui.page({
  data: {
    types: COMPLAINT_TYPE_KEYS.map(key => ({ key, name: COMPLAINT_TYPE[key] })),
    type: 'complaint',
    registrations: [],
    registrationNames: [],
    registrationIndex: -1,
    schools: [],
    schoolNames: [],
    schoolIndex: -1,
    text: '',
    anonymous: false,
    submitting: false,
  },

  onLoad(options) {
    if (options.type && COMPLAINT_TYPE[options.type]) this.setData({ type: options.type })
    const wanted = options.registration ? Number(options.registration) : 0
    const mine = registrations.list().then(body => {
      const items = body.items
      this.setData({
        registrations: items,
        registrationNames: ['不针对某条报名'].concat(items.map(r => `${r.child.name} · ${r.school.name}（${r.status_name}）`)),
        registrationIndex: wanted ? items.findIndex(r => r.id === wanted) + 1 : 0,
      })
    }, () => this.setData({ registrationNames: ['不针对某条报名'], registrationIndex: 0 }))
    const schools = catalogue.listSchools().then(items => {
      this.setData({ schools: items, schoolNames: items.map(s => s.name) })
    })
    return Promise.all([mine, schools]).catch(err => ui.showError(err))
  },

  onType(e) {
    this.setData({ type: e.detail.value })
  },

  onRegistration(e) {
    this.setData({ registrationIndex: Number(e.detail.value) })
  },

  onSchool(e) {
    this.setData({ schoolIndex: Number(e.detail.value) })
  },

  onText(e) {
    this.setData({ text: e.detail.value })
  },

  onAnonymous(e) {
    this.setData({ anonymous: Boolean(e.detail.value) })
  },

  body() {
    const body = { type: this.data.type, text: this.data.text.trim(), anonymous: this.data.anonymous }
    const registration = this.data.registrations[this.data.registrationIndex - 1]
    if (registration) body.registration_id = registration.id
    else if (this.data.schoolIndex >= 0) body.school_code = this.data.schools[this.data.schoolIndex].code
    return body
  },

  onSubmit() {
    const body = this.body()
    if (!body.registration_id && !body.school_code) {
      ui.showError({ message: '请选择相关的报名或学校' })
      return null
    }
    if (body.text.length < 5) {
      ui.showError({ message: '请把情况写清楚（至少 5 个字）' })
      return null
    }
    this.setData({ submitting: true })
    return complaints.file(body).then(complaint => {
      this.setData({ submitting: false })
      wx.redirectTo({ url: `/packages/complaints/detail/detail?id=${complaint.id}` })
    }, err => {
      this.setData({ submitting: false })
      ui.showError(err)
    })
  },
}))
