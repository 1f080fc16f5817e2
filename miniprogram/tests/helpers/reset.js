/** Every test starts with fresh modules (module-level caches), a fresh app and wx. */
const { installWx } = require('./wx')

beforeEach(() => {
  jest.resetModules()
  global.__app = { globalData: { user: null, authority: '' } }
  global.__pageOptions = {}
  installWx()
})
