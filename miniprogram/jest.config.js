/** Jest runs the mini-program's pages in jsdom through miniprogram-simulate. */
module.exports = {
  testEnvironment: 'jsdom',
  roots: ['<rootDir>/tests'],
  testMatch: ['**/*.test.js'],
  setupFiles: ['<rootDir>/tests/helpers/page-shim.js'],
  setupFilesAfterEnv: ['<rootDir>/tests/helpers/reset.js'],
  testTimeout: 20000,
}
