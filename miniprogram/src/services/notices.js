/** Subscribe-message templates, subscriptions and the in-app inbox. */
const { call } = require('../utils/request')

module.exports = {
  listTemplates: () => call('listNoticeTemplates').then(body => body.items),
  recordSubscriptions: results => call('recordSubscriptions', { data: { results } }),
  list: page => call('listNotices', { query: { page: page || 1, page_size: 20 } }),
  markRead: id => call('readNotice', { params: { notice_id: id }, data: {} }),
}
