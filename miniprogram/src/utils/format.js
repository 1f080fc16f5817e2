/** Times from the API are ISO 8601 in Beijing time (+08:00): shown as they are written. */
const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2}))?/

function dateTime(iso) {
  const m = ISO.exec(String(iso || ''))
  if (!m) return ''
  const date = `${Number(m[1])}年${Number(m[2])}月${Number(m[3])}日`
  return m[4] ? `${date} ${m[4]}:${m[5]}` : date
}

function date(iso) {
  const m = ISO.exec(String(iso || ''))
  return m ? `${Number(m[1])}年${Number(m[2])}月${Number(m[3])}日` : ''
}

function monthDayTime(iso) {
  const m = ISO.exec(String(iso || ''))
  if (!m) return ''
  const day = `${Number(m[2])}月${Number(m[3])}日`
  return m[4] ? `${day} ${m[4]}:${m[5]}` : day
}

/** "3天5小时12分" from a duration in milliseconds (at least "不到1分钟"). */
function duration(ms) {
  if (ms < 60000) return '不到1分钟'
  const minutes = Math.floor(ms / 60000)
  const days = Math.floor(minutes / 1440)
  const hours = Math.floor((minutes % 1440) / 60)
  const mins = minutes % 60
  let text = ''
  if (days) text += `${days}天`
  if (days || hours) text += `${hours}小时`
  return `${text}${mins}分`
}

/**
 * The registration window seen from `now`: before it a countdown to the opening, during it
 * a countdown to the close, after it a plain sentence.
 */
function windowCountdown(season, now) {
  if (!season) return { state: 'none', text: '' }
  const at = now === undefined ? Date.now() : now
  const opens = Date.parse(season.registration_opens_at)
  const closes = Date.parse(season.registration_closes_at)
  if (at < opens) {
    return { state: 'before', label: '距报名开始还有', text: duration(opens - at) }
  }
  if (at < closes) {
    return { state: 'open', label: '报名进行中，距截止还有', text: duration(closes - at) }
  }
  return { state: 'closed', label: '本季报名已结束', text: '' }
}

module.exports = { dateTime, date, monthDayTime, duration, windowCountdown }
