/** After review: lottery places, seat offers, the class, on-site slots and the entry ticket. */
const { call } = require('../utils/request')

module.exports = {
  getAdmission: registrationId => call('getAdmission', { params: { registration_id: registrationId } }),
  listOffers: () => call('listOffers').then(body => body.items),
  confirmOffer: id => call('confirmOffer', { params: { offer_id: id } }),
  declineOffer: id => call('declineOffer', { params: { offer_id: id } }),
  withdrawOffer: (id, reason) => call('withdrawOffer', {
    params: { offer_id: id }, data: reason ? { reason } : {},
  }),
  getLottery: id => call('getLottery', { params: { lottery_id: id } }),
  getClass: registrationId => call('getClass', { params: { registration_id: registrationId } }),
  listSlots: registrationId => call('listSlots', { query: { registration_id: registrationId } })
    .then(body => body.items),
  bookSlot: (registrationId, slotId) => call('bookSlot', {
    data: { registration_id: registrationId, slot_id: slotId },
  }),
  listBookings: () => call('listBookings').then(body => body.items),
  cancelBooking: id => call('cancelBooking', { params: { booking_id: id } }),
  getEntryTicket: id => call('getEntryTicket', { params: { booking_id: id } }),
}
