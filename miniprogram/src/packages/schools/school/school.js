/** A school, as its QR poster opens it: zone, plan, materials, contacts, 实施办法. */
const ui = require('../../../utils/ui')
const qr = require('../../../utils/qr')
const flow = require('../../../utils/flow')
const format = require('../../../utils/format')
const catalogue = require('../../../services/catalogue')
const { BASIS, SCHOOL_TYPE } = require('../../../config/domain')

function materialsOf(required) {
  return Object.keys(required || {}).map(key => {
    const value = required[key]
    return {
      key,
      name: (BASIS[key] || {}).name || key,
      items: Array.isArray(value) ? value : [String(value)],
    }
  })
}

Page(ui.page({
  data: { loading: true, school: null, typeName: '', materials: [], announcements: [],
    planExpanded: false },

  onLoad(options) {
    let code = options.code || ''
    const entry = qr.parseEntry(options)
    if (entry && entry.type === 'school') code = entry.code
    if (!code) {
      wx.redirectTo({ url: `/packages/schools/unknown/unknown?raw=${encodeURIComponent((entry && entry.raw) || '')}` })
      return null
    }
    this.code = code
    return this.load()
  },

  load() {
    const code = this.code
    return catalogue.getSchool(code).then(school => {
      wx.setNavigationBarTitle({ title: school.name })
      this.setData({
        loading: false,
        school,
        typeName: SCHOOL_TYPE[school.type] || '',
        materials: materialsOf(school.required_materials),
      })
      return catalogue.listAnnouncements({ school: code, page_size: 5 }).then(body => {
        this.setData({
          announcements: body.items.map(item => Object.assign({}, item, {
            date: format.date(item.published_at),
          })),
        })
      }, () => null)
    }, err => {
      this.setData({ loading: false })
      if (err.status === 404) {
        wx.redirectTo({ url: `/packages/schools/unknown/unknown?code=${encodeURIComponent(code)}` })
        return
      }
      ui.showError(err)
    })
  },

  onTogglePlan() {
    this.setData({ planExpanded: !this.data.planExpanded })
  },

  onCall(e) {
    wx.makePhoneCall({ phoneNumber: String(e.currentTarget.dataset.phone).replace(/[^\d-]/g, ''), fail() {} })
  },

  onRegister() {
    return flow.nextStep(this.code).then(url => wx.navigateTo({ url }), err => ui.showError(err))
  },

  onFinder() {
    wx.navigateTo({ url: '/packages/schools/finder/finder' })
  },

  onAnnouncement(e) {
    wx.navigateTo({ url: `/packages/announcements/detail/detail?id=${e.currentTarget.dataset.id}` })
  },
}))
