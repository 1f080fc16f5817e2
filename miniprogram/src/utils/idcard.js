/**
 * Resident ID numbers (GB 11643): the same checks, in the same order and with the same
 * codes and messages, as the backend (backend/identity/documents.py, python-stdnum).
 * Region codes are checked by the server only (it knows every code ever assigned).
 * tests/fixtures/id_numbers.json is the shared table both test suites run.
 */
const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
const CHECK_CHARS = '10X98765432'
// 港澳台居民居住证 numbers carry these region prefixes.
const HMT_PREFIXES = ['810000', '820000', '830000']
const GB11643_TYPES = ['resident_id', 'hmt_residence_permit']

const MESSAGES = {
  ID_NUMBER_REQUIRED: '请填写证件号码',
  ID_NUMBER_LENGTH: '身份证号码应为 18 位',
  ID_NUMBER_FORMAT: '身份证号码前 17 位应为数字，最后一位为数字或 X',
  ID_NUMBER_CHECKSUM: '身份证号码校验位不正确，请核对后重新输入',
  ID_NUMBER_DATE_OR_REGION: '身份证号码中的出生日期或地区代码无效',
  ID_NUMBER_DATE: '身份证号码中的出生日期无效',
  RESIDENT_IS_HMT: '该号码是港澳台居民居住证号码，请选择对应证件类型',
  HMT_NOT_HMT: '港澳台居民居住证号码应以 810000、820000 或 830000 开头',
}

function normalize(raw) {
  return String(raw || '').replace(/[\s-]/g, '').toUpperCase()
}

function checkDigit(first17) {
  let sum = 0
  for (let i = 0; i < 17; i += 1) sum += Number(first17[i]) * WEIGHTS[i]
  return CHECK_CHARS[sum % 11]
}

function pad(n) {
  return n < 10 ? `0${n}` : String(n)
}

function birthDateOf(number) {
  const year = Number(number.slice(6, 10))
  const month = Number(number.slice(10, 12))
  const day = Number(number.slice(12, 14))
  const date = new Date(Date.UTC(year, month - 1, day))
  const valid = year >= 1 && month >= 1 && month <= 12 && day >= 1
    && date.getUTCFullYear() === year && date.getUTCMonth() === month - 1
    && date.getUTCDate() === day
  return valid ? `${number.slice(6, 10)}-${pad(month)}-${pad(day)}` : null
}

function fail(code, messageKey) {
  return { ok: false, code, message: MESSAGES[messageKey || code] }
}

/**
 * Check a GB 11643 number. `today` is 'YYYY-MM-DD' (Beijing date; default: now).
 * Returns {ok, number, birthDate, sex} or {ok: false, code, message}.
 */
function checkIdNumber(raw, documentType, today) {
  const type = documentType || 'resident_id'
  const number = normalize(raw)
  if (!number) return fail('ID_NUMBER_REQUIRED')
  if (number.length !== 18) return fail('ID_NUMBER_LENGTH')
  if (!/^\d{17}$/.test(number.slice(0, 17))) return fail('ID_NUMBER_FORMAT')
  if (number[17] !== checkDigit(number)) return fail('ID_NUMBER_CHECKSUM')
  const birthDate = birthDateOf(number)
  if (!birthDate) return fail('ID_NUMBER_INVALID', 'ID_NUMBER_DATE_OR_REGION')
  const todayDate = today || beijingToday()
  if (birthDate > todayDate || birthDate < '1900-01-01') {
    return fail('ID_NUMBER_INVALID', 'ID_NUMBER_DATE')
  }
  const isHmt = HMT_PREFIXES.indexOf(number.slice(0, 6)) >= 0
  if (type === 'resident_id' && isHmt) return fail('ID_NUMBER_TYPE_MISMATCH', 'RESIDENT_IS_HMT')
  if (type === 'hmt_residence_permit' && !isHmt) {
    return fail('ID_NUMBER_TYPE_MISMATCH', 'HMT_NOT_HMT')
  }
  // The 17th digit is odd for men and even for women.
  const sex = Number(number[16]) % 2 === 1 ? 'male' : 'female'
  return { ok: true, code: 'OK', number, birthDate, sex }
}

/** What to show under the field while typing: nothing, "还差 N 位", an error or a tick. */
function liveHint(raw, documentType, today) {
  const type = documentType || 'resident_id'
  if (GB11643_TYPES.indexOf(type) < 0) return { state: 'none', text: '' }
  const number = normalize(raw)
  if (!number) return { state: 'none', text: '' }
  if (number.length < 18 && /^\d*$/.test(number)) {
    return { state: 'typing', text: `还差 ${18 - number.length} 位` }
  }
  const result = checkIdNumber(number, type, today)
  if (!result.ok) return { state: 'error', text: result.message }
  const sexName = result.sex === 'male' ? '男' : '女'
  return { state: 'ok', text: `号码有效：${formatDateCn(result.birthDate)}出生，${sexName}`, result }
}

function formatDateCn(isoDate) {
  const [y, m, d] = isoDate.split('-').map(Number)
  return `${y}年${m}月${d}日`
}

/** Today's date in Beijing, whatever the phone's time zone. */
function beijingToday(now) {
  const shifted = new Date((now || Date.now()) + 8 * 3600 * 1000)
  return `${shifted.getUTCFullYear()}-${pad(shifted.getUTCMonth() + 1)}-${pad(shifted.getUTCDate())}`
}

/** Age eligibility exactly as the backend words it (identity/eligibility.py). */
function eligibility(birthDate, season) {
  if (!season || !season.age_cutoff) {
    return { eligible: null, reason: '当前没有招生季，暂无法判断入学年龄' }
  }
  const cutoff = formatDateCn(season.age_cutoff)
  if (birthDate > season.age_cutoff) {
    return { eligible: false, reason: `未满6周岁：${season.year}年入学需在${cutoff}及之前出生` }
  }
  return { eligible: true, reason: `符合入学年龄（${cutoff}及之前出生）` }
}

module.exports = {
  normalize, checkDigit, checkIdNumber, liveHint, eligibility, beijingToday, formatDateCn,
  GB11643_TYPES, MESSAGES,
}
