/** 临县义务教育入学服务平台: the parents' mini-program. */
const request = require('./utils/request')

App({
  globalData: {
    user: null,
    // Set when a county poster (a=<authority>) was scanned; catalogue calls pass it on.
    authority: '',
  },

  onLaunch() {
    // Log in early so the first tap does not wait; a failure here is retried on demand.
    request.ensureLogin().catch(() => {})
  },
})
