/** 临县义务教育入学服务平台: the parents' mini-program. */
const request = require('./utils/request')
const privacy = require('./utils/privacy')

App({
  globalData: {
    user: null,
    // Set when a county poster (a=<authority>) was scanned; catalogue calls pass it on.
    authority: '',
  },

  onLaunch() {
    // WeChat asks for the privacy agreement through this listener (utils/privacy.js): the
    // privacy-popup on the page shows, and nothing privacy-scoped runs before an answer.
    privacy.listen()
    // Log in early so the first tap does not wait; a failure here is retried on demand.
    request.ensureLogin().catch(() => {})
  },
})
