/** 首页: the season timeline and countdown, announcements, and the ways in. */
const ui = require('../../utils/ui')
const qr = require('../../utils/qr')
const format = require('../../utils/format')
const flow = require('../../utils/flow')
const catalogue = require('../../services/catalogue')
const { FAIRNESS_NOTICE } = require('../../config/domain')

function phaseSteps(season, now) {
  return (season.phases || []).map(phase => {
    const ended = Date.parse(phase.ends_at) <= now
    const current = phase.key === season.current_phase
    return {
      title: phase.name,
      time: `${format.monthDayTime(phase.starts_at)} — ${format.monthDayTime(phase.ends_at)}`,
      state: current ? 'current' : (ended ? 'done' : 'todo'),
    }
  })
}

Page(ui.page({
  data: {
    loading: true,
    season: null,
    steps: [],
    countdown: { state: 'none', label: '', text: '' },
    announcements: [],
    fairness: FAIRNESS_NOTICE,
    error: '',
  },

  onLoad(options) {
    const entry = qr.parseEntry(options)
    if (entry && this.follow(entry)) return
    this.load()
  },

  onShow() {
    this.startTimer()
  },

  onHide() {
    this.stopTimer()
  },

  onUnload() {
    this.stopTimer()
  },

  onPullDownRefresh() {
    this.load().then(() => wx.stopPullDownRefresh())
  },

  /** Act on a scanned code; true when the page navigated away. */
  follow(entry) {
    if (entry.type === 'school') {
      wx.navigateTo({ url: `/packages/schools/school/school?code=${encodeURIComponent(entry.code)}` })
      this.load()
      return true
    }
    if (entry.type === 'authority') {
      getApp().globalData.authority = entry.code
      return false
    }
    if (entry.type === 'pc-login') {
      wx.navigateTo({ url: `/packages/account/pc-login/pc-login?scene=${encodeURIComponent(entry.scene)}` })
      this.load()
      return true
    }
    if (entry.type === 'unknown') {
      wx.navigateTo({ url: `/packages/schools/unknown/unknown?raw=${encodeURIComponent(entry.raw || '')}` })
      this.load()
      return true
    }
    return false
  },

  load() {
    this.setData({ loading: true, error: '' })
    const season = catalogue.getCurrentSeason().then(value => {
      this.season = value
      this.setData({
        season: value,
        fairness: value.fairness_notice || FAIRNESS_NOTICE,
      })
      this.refreshClock()
    }, err => {
      this.season = null
      this.setData({ season: null, error: err.code === 'NO_CURRENT_SEASON'
        ? '目前没有正在进行的招生季，请留意教育局公告。' : err.message })
    })
    const news = catalogue.listAnnouncements({ page_size: 5 }).then(body => {
      this.setData({
        announcements: body.items.map(item => Object.assign({}, item, {
          date: format.date(item.published_at),
          scope: item.school ? item.school.name : '教育局',
        })),
      })
    }, () => this.setData({ announcements: [] }))
    return Promise.all([season, news]).then(() => this.setData({ loading: false }))
  },

  refreshClock() {
    if (!this.season) return
    const now = Date.now()
    this.setData({
      steps: phaseSteps(this.season, now),
      countdown: format.windowCountdown(this.season, now),
    })
  },

  startTimer() {
    this.stopTimer()
    this.timer = setInterval(() => this.refreshClock(), 30000)
  },

  stopTimer() {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
  },

  onRegister() {
    return flow.nextStep('').then(url => wx.navigateTo({ url }), err => ui.showError(err))
  },

  onFindSchool() {
    wx.navigateTo({ url: '/packages/schools/finder/finder' })
  },

  onScan() {
    wx.scanCode({
      onlyFromCamera: false,
      scanType: ['qrCode', 'wxCode'],
      success: res => {
        const entry = qr.parseScanResult(res)
        if (!entry || entry.type === 'home') return
        if (!this.follow(entry)) this.load()
      },
    })
  },

  onMyRegistrations() {
    wx.switchTab({ url: '/pages/registrations/list' })
  },

  onAnnouncement(e) {
    wx.navigateTo({ url: `/packages/announcements/detail/detail?id=${e.currentTarget.dataset.id}` })
  },
}))
