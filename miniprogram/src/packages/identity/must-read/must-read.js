/** 报名须知: read to the end and tick before the first registration of the season. */
const ui = require('../../../utils/ui')
const flow = require('../../../utils/flow')
const format = require('../../../utils/format')
const catalogue = require('../../../services/catalogue')

function sections(season) {
  const cutoff = season ? format.date(season.age_cutoff) : '招生季规定日期'
  const window = season
    ? `${format.dateTime(season.registration_opens_at)} 至 ${format.dateTime(season.registration_closes_at)}`
    : '以教育局公告为准'
  const list = [
    { title: '一、免试就近入学', text: '学校按划片范围招生，依据孩子的户籍所在地或家庭实际居住地确定学校。不举行任何形式的考试、测试或面试，不需要任何竞赛证书。' },
    { title: '二、入学年龄', text: `本季招收 ${cutoff} 及之前出生的适龄儿童。` },
    { title: '三、报名时间', text: `网上报名时间：${window}。报名先后不影响录取，报名时间内任何时候提交都一样，请不要抢在第一时间。` },
    { title: '四、实名填报', text: '请用监护人本人的微信实名登记。所填信息和上传材料必须真实；弄虚作假的，取消入学资格。' },
    { title: '五、一个孩子一条报名', text: '每个孩子本季只能有一条有效报名。需要换学校时，请在报名时间内先撤回原报名。' },
    { title: '六、材料要清晰完整', text: '照片要清楚、四角完整。学校审核后如需修改，会通过微信消息和本平台“消息”通知您，请在期限内修改并重新提交。' },
    { title: '七、个人信息保护', text: '身份证号、手机号等个人信息加密保存，仅用于本次入学，招生结束后按规定删除。' },
    { title: '八、咨询与监督', text: '对招生工作有疑问或意见，可在“我的 → 投诉与申诉”提出，教育局将在规定时间内答复。' },
  ]
  // The bureau's own notice for this season (招生日程 in the console), when it wrote one.
  if (season && season.must_read_notice) list.push({ title: '九、本季须知', text: season.must_read_notice })
  return list
}

Page(ui.page({
  data: { sections: [], readToEnd: false, ticked: false, review: false },

  onLoad(options) {
    this.school = options.school || ''
    this.setData({ review: options.review === '1', sections: sections(null) })
    return catalogue.getCurrentSeason().then(season => {
      this.season = season
      this.setData({ sections: sections(season) })
    }, err => ui.showError(err))
  },

  onReady() {
    // A tall screen may show everything at once: then there is nothing to scroll.
    if (typeof wx.createSelectorQuery !== 'function') return
    wx.createSelectorQuery().in(this)
      .select('.must-read-scroll').boundingClientRect()
      .select('.must-read-content').boundingClientRect()
      .exec(rects => {
        if (rects && rects[0] && rects[1] && rects[1].height <= rects[0].height + 4) {
          this.setData({ readToEnd: true })
        }
      })
  },

  onScrolledToEnd() {
    if (!this.data.readToEnd) this.setData({ readToEnd: true })
  },

  onTick(e) {
    this.setData({ ticked: (e.detail.value || []).indexOf('agree') >= 0 })
  },

  onAgree() {
    if (!this.data.readToEnd || !this.data.ticked) {
      ui.toast('请读完须知并勾选同意')
      return null
    }
    flow.markNoticeRead(this.season)
    return flow.nextStep(this.school).then(url => wx.redirectTo({ url }), err => ui.showError(err))
  },
}))
