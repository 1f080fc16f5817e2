/** Public catalogue: season, regions, schools, zones, announcements. */
const { call } = require('../utils/request')

module.exports = {
  getCurrentSeason: () => call('getCurrentSeason'),
  listRegions: () => call('listRegions').then(body => body.items),
  listSchools: town => call('listSchools', { query: { town } }).then(body => body.items),
  getSchool: code => call('getSchool', { params: { code } }),
  lookupZone: regionCode => call('lookupZone', { query: { region_code: regionCode } }),
  listCategories: () => call('listCategories'),
  listAnnouncements: query => call('listAnnouncements', { query }),
  getAnnouncement: id => call('getAnnouncement', { params: { announcement_id: id } }),
}
