/**
 * Every API call the mini-program makes: name → [method, path template, options].
 *
 * Path templates use the OpenAPI document's parameter names, so
 * tests/contract.test.js checks each entry against /api/v1/openapi.json as it is.
 * Options: `auth: false` for public endpoints (no token, no re-login), `authority: true`
 * for catalogue endpoints that take ?authority= (set when a county's QR code was scanned),
 * `upload: true` for multipart uploads through wx.uploadFile.
 */
module.exports = {
  // accounts
  wechatLogin: ['POST', '/api/v1/auth/wechat-login', { auth: false }],
  logout: ['POST', '/api/v1/auth/logout'],
  getMe: ['GET', '/api/v1/me'],
  scanPcLogin: ['POST', '/api/v1/auth/pc-login/scan'],
  decidePcLogin: ['POST', '/api/v1/auth/pc-login/confirm'],

  // identity
  bindIdentity: ['POST', '/api/v1/me/identity'],
  getIdentity: ['GET', '/api/v1/me/identity'],
  openIdentityDispute: ['POST', '/api/v1/me/identity/disputes'],
  listChildren: ['GET', '/api/v1/me/children'],
  addChild: ['POST', '/api/v1/me/children'],
  getChild: ['GET', '/api/v1/me/children/{child_id}'],
  updateChild: ['PATCH', '/api/v1/me/children/{child_id}'],
  claimFamily: ['POST', '/api/v1/me/claims'],
  listCategories: ['GET', '/api/v1/categories', { auth: false }],
  getConsentText: ['GET', '/api/v1/privacy/consent-text', { auth: false, authority: true }],
  // government data checks (docs/VERIFICATION.md): the separate consent, then the results
  getDataCheckConsentText: ['GET', '/api/v1/privacy/data-check-consent-text', { auth: false }],
  askDataChecks: ['POST', '/api/v1/me/children/{child_id}/data-checks'],
  getDataChecks: ['GET', '/api/v1/me/children/{child_id}/data-checks'],

  // catalogue (public)
  getCurrentSeason: ['GET', '/api/v1/seasons/current', { auth: false, authority: true }],
  listRegions: ['GET', '/api/v1/regions', { auth: false, authority: true }],
  listSchools: ['GET', '/api/v1/schools', { auth: false, authority: true }],
  getSchool: ['GET', '/api/v1/schools/{code}', { auth: false }],
  lookupZone: ['GET', '/api/v1/zones/lookup', { auth: false }],
  listAnnouncements: ['GET', '/api/v1/announcements', { auth: false, authority: true }],
  getAnnouncement: ['GET', '/api/v1/announcements/{announcement_id}', { auth: false }],

  // documents
  uploadDocument: ['POST', '/api/v1/uploads', { upload: true }],

  // registrations
  getRequirements: ['GET', '/api/v1/registrations/requirements', { auth: false }],
  submitRegistration: ['POST', '/api/v1/registrations'],
  editRegistration: ['PATCH', '/api/v1/registrations/{registration_id}'],
  getTicket: ['GET', '/api/v1/registrations/tickets/{ticket}'],
  listRegistrations: ['GET', '/api/v1/registrations'],
  getRegistration: ['GET', '/api/v1/registrations/{registration_id}'],
  withdrawRegistration: ['POST', '/api/v1/registrations/{registration_id}/withdraw'],

  // notices
  listNoticeTemplates: ['GET', '/api/v1/notices/templates', { auth: false }],
  recordSubscriptions: ['POST', '/api/v1/me/subscriptions'],
  listNotices: ['GET', '/api/v1/me/notices'],
  readNotice: ['POST', '/api/v1/me/notices/{notice_id}/read'],

  // admission: lottery results, offers, class (docs/ADMISSION.md)
  getAdmission: ['GET', '/api/v1/registrations/{registration_id}/admission'],
  listOffers: ['GET', '/api/v1/offers'],
  confirmOffer: ['POST', '/api/v1/offers/{offer_id}/confirm'],
  declineOffer: ['POST', '/api/v1/offers/{offer_id}/decline'],
  withdrawOffer: ['POST', '/api/v1/offers/{offer_id}/withdraw'],
  getLottery: ['GET', '/api/v1/lotteries/{lottery_id}', { auth: false }],
  getClass: ['GET', '/api/v1/registrations/{registration_id}/class'],

  // on-site confirmation: time slots and the QR entry ticket
  listSlots: ['GET', '/api/v1/onsite/slots'],
  bookSlot: ['POST', '/api/v1/onsite/bookings'],
  listBookings: ['GET', '/api/v1/onsite/bookings'],
  cancelBooking: ['DELETE', '/api/v1/onsite/bookings/{booking_id}'],
  getEntryTicket: ['GET', '/api/v1/onsite/bookings/{booking_id}/ticket'],

  // complaints
  listComplaints: ['GET', '/api/v1/complaints'],
  fileComplaint: ['POST', '/api/v1/complaints'],
  getComplaint: ['GET', '/api/v1/complaints/{complaint_id}'],
}
