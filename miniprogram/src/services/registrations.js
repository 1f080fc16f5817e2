/** Registrations: documents, submit (queued, with an Idempotency-Key), ticket, fixes. */
const { call, upload } = require('../utils/request')

module.exports = {
  // Which documents each basis and each special group needs (public).
  getRequirements: () => call('getRequirements'),
  uploadDocument: (filePath, kind) => upload('uploadDocument', filePath, { kind }),
  submit: (body, key) => call('submitRegistration', {
    data: body, header: { 'Idempotency-Key': key },
  }),
  edit: (id, body, key) => call('editRegistration', {
    params: { registration_id: id }, data: body, header: { 'Idempotency-Key': key },
  }),
  // Polled in the background: no retry prompt on a network blip.
  getTicket: ticket => call('getTicket', { params: { ticket }, silent: true }),
  list: () => call('listRegistrations'),
  get: id => call('getRegistration', { params: { registration_id: id } }),
  withdraw: id => call('withdrawRegistration', { params: { registration_id: id }, data: {} }),
}
