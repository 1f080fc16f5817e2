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
  /** The separate consent to check documents against government data, and its version. */
  getDataCheckConsentText: () => call('getDataCheckConsentText'),
  /** Record that consent for one child; the checks run later (202). */
  askDataChecks: (id, version) => call('askDataChecks', {
    params: { child_id: id }, data: { consent_version: version, agreed: true } }),
  /** A child's checks: per document, verified or why not. */
  getDataChecks: id => call('getDataChecks', { params: { child_id: id } }),
}
