/** Load and render a page of src/ with options, and wait for its requests to settle. */
const path = require('path')
const simulate = require('miniprogram-simulate')

const ROOT = path.join(__dirname, '../../src')

/** Let queued timers and promise chains run (the fake server answers on a timer). */
async function flush(rounds = 30) {
  for (let i = 0; i < rounds; i += 1) {
    // eslint-disable-next-line no-await-in-loop
    await new Promise(resolve => setTimeout(resolve, 0))
  }
}

async function openPage(route, options = {}) {
  global.__pageOptions = options
  const id = simulate.load(path.join(ROOT, route), { rootPath: ROOT })
  const page = simulate.render(id)
  page.attach(document.createElement('parent-wrapper'))
  await flush()
  return page
}

function text(page, selector) {
  const node = page.querySelector(selector)
  return node ? node.dom.textContent.replace(/\s+/g, ' ').trim() : null
}

async function tap(page, selector, detail) {
  const node = page.querySelector(selector)
  if (!node) throw new Error(`nothing matches ${selector}`)
  node.dispatchEvent('tap', detail ? { detail } : undefined)
  await flush()
}

async function fire(page, selector, eventName, detail) {
  const node = page.querySelector(selector)
  if (!node) throw new Error(`nothing matches ${selector}`)
  node.dispatchEvent(eventName, { detail })
  await flush()
}

module.exports = { ROOT, openPage, flush, text, tap, fire }
