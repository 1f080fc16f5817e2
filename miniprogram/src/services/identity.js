/** The parent: who they are (real-name binding) and their children. */
const { call } = require('../utils/request')

module.exports = {
  getMe: () => call('getMe'),
  bindIdentity: body => call('bindIdentity', { data: body }),
  openDispute: body => call('openIdentityDispute', { data: body }),
  listChildren: () => call('listChildren').then(body => body.items),
  getChild: id => call('getChild', { params: { child_id: id } }),
  addChild: body => call('addChild', { data: body }),
  updateChild: (id, body) => call('updateChild', { params: { child_id: id }, data: body }),
  /** 认领代报名: take over what a school registered at the counter (the slip's code). */
  claimFamily: body => call('claimFamily', { data: body }),
  /** The guardian's consent text and its version (POST /me/children names the version). */
  getConsentText: () => call('getConsentText'),
}
