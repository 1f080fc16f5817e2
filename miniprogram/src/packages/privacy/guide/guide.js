/**
 * 用户隐私保护指引 and 隐私设置: what the platform collects and why, who sees it, how long
 * it is kept (the season's purge date from the API), how to ask for deletion; whether the
 * family agreed in WeChat, and a way to agree later (我的 → 隐私设置).
 */
const ui = require('../../../utils/ui')
const format = require('../../../utils/format')
const privacy = require('../../../utils/privacy')
const identity = require('../../../services/identity')
const guide = require('../../../config/privacy-guide')

Page(ui.page({
  data: {
    items: guide.ITEMS,
    recipients: guide.RECIPIENTS,
    retention: guide.RETENTION,
    deletion: guide.DELETION,
    purgeDate: '',
    agreed: null,
    contractName: privacy.CONTRACT_NAME,
  },

  onLoad() {
    const consent = identity.getConsentText().then(text => {
      this.setData({ purgeDate: format.date(text.purge_personal_data_after) })
    }, () => null) // the guide reads without it: the date is also in the season's notices
    return Promise.all([this.refresh(), consent])
  },

  refresh() {
    return privacy.state().then(s => this.setData({ agreed: s.agreed, contractName: s.contractName }))
  },

  /** Agree now (WeChat's pop-up through ours); a refusal is explained and changes nothing. */
  onAgree() {
    return privacy.ensurePrivacy('上传报名材料、使用微信手机号和复制链接')
      .then(() => {
        ui.toast('已同意，相关功能可以使用了')
        return this.refresh()
      }, err => ui.showError(err))
  },

  onOpenContract() {
    privacy.openContract()
  },
}))
