/** The project as WeChat DevTools opens it: config files, pages, sub-packages, every page renders. */
const fs = require('fs')
const path = require('path')
const { ROOT, openPage } = require('./helpers/page')

const PROJECT = path.join(__dirname, '..')
const app = JSON.parse(fs.readFileSync(path.join(ROOT, 'app.json'), 'utf8'))
const project = JSON.parse(fs.readFileSync(path.join(PROJECT, 'project.config.json'), 'utf8'))

const pages = app.pages.concat(...app.subpackages.map(p => p.pages.map(page => `${p.root}/${page}`)))

test('project.config.json points at src/ and carries the AppID of src/config/index.js', () => {
  expect(project.miniprogramRoot).toBe('src/')
  expect(project.compileType).toBe('miniprogram')
  expect(project.appid).toBe(require('../src/config/index').appid)
})

test('every page has its four files and every sub-package page lives under its root', () => {
  const missing = []
  pages.forEach(page => ['js', 'json', 'wxml', 'wxss'].forEach(ext => {
    if (!fs.existsSync(path.join(ROOT, `${page}.${ext}`))) missing.push(`${page}.${ext}`)
  }))
  expect(missing).toEqual([])
  expect(app.subpackages.map(p => p.root)).toEqual(expect.arrayContaining(['packages/identity', 'packages/schools', 'packages/register', 'packages/complaints']))
})

test('tab pages are in the main package, with icons that exist', () => {
  app.tabBar.list.forEach(tab => {
    expect(app.pages).toContain(tab.pagePath)
    expect(fs.existsSync(path.join(ROOT, tab.iconPath))).toBe(true)
    expect(fs.existsSync(path.join(ROOT, tab.selectedIconPath))).toBe(true)
  })
})

test('notice links open pages that exist (the backend writes pages/registrations/detail)', () => {
  expect(app.pages).toContain('pages/registrations/detail')
  expect(fs.existsSync(path.join(ROOT, app.sitemapLocation))).toBe(true)
})

test('every page the backend puts in a notice exists', () => {
  const backend = path.join(PROJECT, '..', 'backend')
  const found = new Set()
  const walk = dir => fs.readdirSync(dir, { withFileTypes: true }).forEach(entry => {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) walk(full)
    else if (entry.name.endsWith('.py')) {
      const source = fs.readFileSync(full, 'utf8')
      for (const m of source.matchAll(/["'](pages\/[\w/-]+)\?/g)) found.add(m[1])
    }
  })
  walk(backend)
  expect(found.size).toBeGreaterThanOrEqual(3)
  expect([...found].filter(page => pages.indexOf(page) < 0)).toEqual([])
})

test('every navigation target in the code is a page of app.json', () => {
  const targets = new Set()
  const walk = dir => fs.readdirSync(dir, { withFileTypes: true }).forEach(entry => {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) walk(full)
    else if (entry.name.endsWith('.js')) {
      const source = fs.readFileSync(full, 'utf8')
      for (const m of source.matchAll(/['`]\/((?:pages|packages)\/[\w/-]+)/g)) targets.add(m[1])
    }
  })
  walk(ROOT)
  expect([...targets].filter(t => pages.indexOf(t) < 0)).toEqual([])
})

test('all user-facing text in the templates is Chinese (no stray English words)', () => {
  const english = []
  pages.forEach(page => {
    const wxml = fs.readFileSync(path.join(ROOT, `${page}.wxml`), 'utf8')
    const visible = wxml.replace(/\{\{[^}]*\}\}/g, ' ').replace(/<[^>]*>/g, ' ')
    const words = visible.match(/[A-Za-z]{3,}/g)
    if (words) english.push(`${page}: ${words.join(' ')}`)
  })
  expect(english).toEqual([])
})

describe('every page renders with an empty backend', () => {
  test.each(pages)('%s', async page => {
    server.on('GET', '/api/v1/seasons/current', { status: 404, body: { error: { code: 'NO_CURRENT_SEASON', message: '当前没有进行中的招生季' } } })
    const rendered = await openPage(page, {})
    expect(rendered.dom.innerHTML).toContain('main--page')
    rendered.detach()
  })
})
