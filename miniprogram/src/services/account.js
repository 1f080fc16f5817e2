/** The parent's account: signing in on a PC by scanning its code (docs/PC_LOGIN.md). */
const { call } = require('../utils/request')

module.exports = {
  /** The PC's code was scanned: the sign-in is now this parent's; where the PC is. */
  scanPcLogin: scene => call('scanPcLogin', { data: { scene } }),
  /** The parent's answer: 'confirm' signs the PC in, 'refuse' ends it; a getPhoneNumber
   * code goes with a confirmation for the PC's real-name binding. */
  decidePcLogin: (scene, decision, phoneCode) => call('decidePcLogin', {
    data: phoneCode ? { scene, decision, phone_code: phoneCode } : { scene, decision },
  }),
}
