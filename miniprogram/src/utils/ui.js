/** Messages, the large-text mode and the page base every page is built on. */
const LARGE_TEXT_KEY = 'largeText'

function isLargeText() {
  return Boolean(wx.getStorageSync(LARGE_TEXT_KEY))
}

function setLargeText(on) {
  wx.setStorageSync(LARGE_TEXT_KEY, on ? 1 : 0)
}

/** Show an error's Chinese message in a dialog (not again after a network retry prompt). */
function showError(err, title) {
  if (!err || err.shown) return
  const message = (err && err.message) || '系统繁忙，请稍后再试'
  wx.showModal({ title: title || '提示', content: message, showCancel: false, confirmText: '知道了' })
}

function toast(title) {
  wx.showToast({ title, icon: 'none', duration: 2500 })
}

function confirm(title, content, confirmText) {
  return new Promise(resolve => {
    wx.showModal({
      title, content, confirmText: confirmText || '确定', cancelText: '取消',
      success: res => resolve(Boolean(res.confirm)),
      fail: () => resolve(false),
    })
  })
}

/**
 * Page() options with the shared behaviour: `largeText` in data (refreshed on every show,
 * so a switch on the 我的 page applies everywhere) and the text-mode class for the root.
 */
function page(definition) {
  const data = Object.assign({ largeText: false }, definition.data || {})
  const onLoad = definition.onLoad
  const onShow = definition.onShow
  return Object.assign({}, definition, {
    data,
    onLoad(options) {
      this.setData({ largeText: isLargeText() })
      if (onLoad) return onLoad.call(this, options || {})
      return undefined
    },
    onShow() {
      if (this.data.largeText !== isLargeText()) this.setData({ largeText: isLargeText() })
      if (onShow) return onShow.call(this)
      return undefined
    },
  })
}

module.exports = { isLargeText, setLargeText, showError, toast, confirm, page }
