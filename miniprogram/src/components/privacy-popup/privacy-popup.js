/**
 * WeChat's privacy pop-up, our way: shown while a privacy-scoped call waits for the
 * family's agreement (utils/privacy.js opens it from wx.onNeedPrivacyAuthorization),
 * with the agreePrivacyAuthorization button, a refusal that keeps the rest usable, and
 * the guide from the WeChat console (wx.openPrivacyContract). Every page that calls a
 * privacy-scoped API carries one.
 */
const privacy = require('../../utils/privacy')

Component({
  options: { addGlobalClass: true },
  data: { show: false, purpose: '', contractName: privacy.CONTRACT_NAME, agreeId: privacy.AGREE_BUTTON_ID },
  lifetimes: {
    attached() {
      this.unsubscribe = privacy.subscribe({
        open: purpose => {
          this.setData({ show: true, purpose })
          privacy.state().then(s => this.setData({ contractName: s.contractName }))
        },
        close: () => this.setData({ show: false, purpose: '' }),
      })
    },
    detached() {
      if (this.unsubscribe) this.unsubscribe()
    },
  },
  methods: {
    onAgree() {
      privacy.answer(true)
    },
    onDisagree() {
      privacy.answer(false)
    },
    onOpenContract() {
      privacy.openContract()
    },
    noop() {},
  },
})
