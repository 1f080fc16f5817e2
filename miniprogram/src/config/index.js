/**
 * The one file a deployment edits: the mini-program's AppID and the API server.
 *
 * - appid: the AppID from mp.weixin.qq.com (开发 → 开发管理 → 开发设置). project.config.json
 *   must carry the same value (DevTools reads it there); `npm run configure` copies it and
 *   a test fails when the two differ.
 * - apiBaseUrl: the backend per build. `develop` is what DevTools runs (a local
 *   `scripts/server`, with "不校验合法域名" ticked in DevTools), `trial` the 体验版, `release`
 *   the published build. Trial and release must be an HTTPS domain listed under
 *   开发设置 → 服务器域名 (request 合法域名 and uploadFile 合法域名).
 * - qrLinkPrefix: the prefix configured under 扫普通链接二维码打开小程序; posters printed by
 *   scripts/make_qr carry `<prefix>s/<school code>`.
 * - authority: the education authority code; empty means the deployment's default one.
 * - simulatorUrl: for trying the develop build in DevTools against `scripts/server`, whose
 *   backend talks to the WeChat simulator: login codes are then minted by the simulator
 *   (POST /sim/login-code) for simulatorOpenid instead of by wx.login. Ignored by trial and
 *   release builds. Leave '' to log in through WeChat.
 */
module.exports = {
  appid: 'wx0000000000000000',
  apiBaseUrl: {
    develop: 'http://127.0.0.1:8000',
    trial: 'https://enroll.example.gov.cn',
    release: 'https://enroll.example.gov.cn',
  },
  qrLinkPrefix: 'https://enroll.example.gov.cn/mp/',
  authority: '',
  simulatorUrl: '',
  simulatorOpenid: 'o-devtools-parent',
  // How often the receipt page asks whether a queued registration was accepted.
  ticketPollMs: 2000,
}
