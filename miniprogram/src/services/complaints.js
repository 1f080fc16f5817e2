/** Complaints, appeals and reports (监督举报). */
const { call } = require('../utils/request')

module.exports = {
  list: () => call('listComplaints').then(body => body.items),
  file: body => call('fileComplaint', { data: body }),
  get: id => call('getComplaint', { params: { complaint_id: id } }),
}
