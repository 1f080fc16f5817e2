/** utils/idcard.js gives the backend's answers on the shared table, and helps while typing. */
const table = require('./fixtures/id_numbers.json')

const idcard = () => require('../src/utils/idcard')

describe('the shared table (tests/miniprogram/test_id_number_table.py runs it on the backend)', () => {
  test.each(table.cases.map(c => [c.note, c]))('%s', (note, c) => {
    const result = idcard().checkIdNumber(c.id_number, c.document_type || 'resident_id', table.today)
    const expected = c.client || c.expected
    expect(result.code === 'OK' ? 'OK' : result.code).toBe(expected)
    if (expected === 'OK') {
      if (c.birth_date) expect(result.birthDate).toBe(c.birth_date)
      if (c.sex) expect(result.sex).toBe(c.sex)
    } else if (c.message) {
      expect(result.message).toBe(c.message)
    }
  })
})

test('the check digit follows GB 11643', () => {
  expect(idcard().checkDigit('14112420180301915')).toBe('1')
  expect(idcard().checkDigit('14112420180301908')).toBe('X')
})

test('while typing: how many digits are left, then the verdict with birth date and sex', () => {
  const { liveHint } = idcard()
  expect(liveHint('', 'resident_id', table.today).state).toBe('none')
  expect(liveHint('1411242018', 'resident_id', table.today)).toEqual({ state: 'typing', text: '还差 8 位' })
  const ok = liveHint('141124201803019151', 'resident_id', table.today)
  expect(ok.state).toBe('ok')
  expect(ok.text).toBe('号码有效：2018年3月1日出生，男')
  expect(liveHint('141124201803019150', 'resident_id', table.today))
    .toEqual({ state: 'error', text: '身份证号码校验位不正确，请核对后重新输入' })
  expect(liveHint('1411242018A', 'resident_id', table.today).state).toBe('error')
  expect(liveHint('E12345678', 'foreign_passport', table.today).state).toBe('none')
})

test('eligibility is worded exactly as the server words it', () => {
  const { eligibility } = idcard()
  const season = { year: 2025, age_cutoff: '2019-08-31' }
  expect(eligibility('2019-08-31', season)).toEqual({ eligible: true, reason: '符合入学年龄（2019年8月31日及之前出生）' })
  expect(eligibility('2019-09-01', season)).toEqual({ eligible: false, reason: '未满6周岁：2025年入学需在2019年8月31日及之前出生' })
  expect(eligibility('2019-09-01', null).eligible).toBeNull()
})

test("today's date is Beijing's whatever the phone's zone", () => {
  // 2025-06-01 17:30 UTC is already 2 June in Beijing.
  expect(idcard().beijingToday(Date.UTC(2025, 5, 1, 17, 30))).toBe('2025-06-02')
})
