/**
 * Pages in miniprogram-simulate: Page({...}) becomes Component({...}) with the page's
 * functions as methods and its life cycle mapped (attached → onLoad + onShow,
 * ready → onReady, detached → onUnload). App() and getApp() are stubs; a test sets the
 * options the page is opened with through `global.__pageOptions`.
 */
global.__app = { globalData: { user: null, authority: '' } }

global.App = definition => {
  global.__appDefinition = definition
  global.__app = definition
}

global.getApp = () => global.__app

global.Page = definition => {
  const methods = {}
  Object.keys(definition).forEach(key => {
    if (typeof definition[key] === 'function') methods[key] = definition[key]
  })
  Component({
    data: JSON.parse(JSON.stringify(definition.data || {})),
    methods,
    lifetimes: {
      attached() {
        const options = Object.assign({}, global.__pageOptions || {})
        this.options = options
        if (definition.onLoad) this.__loaded = definition.onLoad.call(this, options)
        if (definition.onShow) this.__shown = definition.onShow.call(this)
      },
      ready() {
        if (definition.onReady) definition.onReady.call(this)
      },
      detached() {
        if (definition.onUnload) definition.onUnload.call(this)
      },
    },
  })
}
