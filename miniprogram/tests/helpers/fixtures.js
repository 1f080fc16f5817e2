/** API answers shaped like the backend's response models. */
function iso(ms) {
  // An ISO time in Beijing (+08:00), as the API writes them.
  const shifted = new Date(ms + 8 * 3600 * 1000).toISOString().slice(0, 19)
  return `${shifted}+08:00`
}

const DAY = 24 * 3600 * 1000

// The 报名须知 as the API writes it for the season below (backend/seasons/must_read.py).
function mustRead(notice) {
  const list = [
    { title: '一、免试就近入学', text: '学校按划片范围招生，不举行任何形式的考试、测试或面试。' },
    { title: '二、入学年龄', text: '本季招收 2019年8月31日 及之前出生的适龄儿童。' },
    { title: '三、报名时间', text: '报名先后不影响录取，报名时间内任何时候提交都一样。' },
  ]
  if (notice) list.push({ title: '九、本季须知', text: notice })
  return list
}

function season(overrides = {}) {
  const now = Date.now()
  const opens = now + 2 * DAY
  const closes = now + 6 * DAY
  return Object.assign({
    id: 7, authority: 'linxian', year: 2025, stage: 'primary', name: '2025年小学招生（示例）',
    age_cutoff: '2019-08-31',
    phases: [
      { key: 'publicity', name: '招生宣传', starts_at: iso(now - 4 * DAY), ends_at: iso(now + 2 * DAY) },
      { key: 'county_plan_published', name: '平台发布县级实施方案', starts_at: iso(now - 2 * DAY), ends_at: iso(now - DAY) },
      { key: 'registration', name: '平台报名', starts_at: iso(opens), ends_at: iso(closes) },
    ],
    registration_opens_at: iso(opens), registration_closes_at: iso(closes),
    state: 'in_progress', current_phase: 'publicity', is_sample: true,
    fairness_notice: '报名先后不影响录取', must_read_notice: '',
    must_read: mustRead(overrides.must_read_notice),
  }, overrides)
}

function school(overrides = {}) {
  return Object.assign({
    code: 'LX001', name: '临泉镇第一小学（示例）', type: 'public', authority: 'linxian',
    town: { code: 'LX-LQ', name: '临泉镇' }, address: '临县临泉镇示例路 1 号（示例地址）',
    plan: { season_year: 2025, classes: 6, class_size: 45, seats: 270 }, is_sample: true,
    contacts: [{ name: '招生办（示例）', phone: '0358-0001001' }],
    zone: [{ code: 'LX-LQ-001', name: '东关社区（示例）' }, { code: 'LX-LQ-003', name: '南关社区（示例）' }],
    required_materials: { hukou: ['户口簿（户主页、儿童页）', '出生医学证明'], residence: ['房产证或购房合同'] },
    implementation_plan: '临泉镇第一小学（示例）入学工作实施办法\n一、招生原则：免试就近入学。',
  }, overrides)
}

function child(overrides = {}) {
  return Object.assign({
    id: 11, name: '张小示', document_type: 'resident_id', id_number: '141124********0915',
    birth_date: '2018-03-01', sex: 'male',
    hukou: { region: { code: 'LX-LQ-001', name: '东关社区（示例）', town: '临泉镇' }, address: '' },
    residence: null, residence_permit: null, categories: [], disability: null,
    required_documents: [],
    eligibility: { eligible: true, reason: '符合入学年龄（2019年8月31日及之前出生）', season_year: 2025, age_cutoff: '2019-08-31' },
  }, overrides)
}

function regions() {
  return {
    items: [
      { code: 'LX-LQ', name: '临泉镇', villages: [
        { code: 'LX-LQ-001', name: '东关社区（示例）', level: 'community' },
        { code: 'LX-LQ-002', name: '西关社区（示例）', level: 'community' },
      ] },
      { code: 'LX-BW', name: '白文镇', villages: [
        { code: 'LX-BW-001', name: '示例一村', level: 'village' },
      ] },
    ],
  }
}

function categories() {
  return {
    categories: [
      { key: 'migrant', name: '随迁子女', required_documents: [{ kind: 'residence_permit', name: '居住证' }] },
      { key: 'disability', name: '残疾儿童少年', required_documents: [{ kind: 'disability_certificate', name: '残疾证或残疾评估意见' }] },
    ],
    placement_wishes: { regular_class: '随班就读', special_school: '特教学校', home_teaching: '送教上门' },
    document_kinds: {},
  }
}

/** GET /registrations/requirements: documents per basis (a group is "one of these"). */
function requirements(bases) {
  const doc = (kind, name) => ({ kind, name })
  const names = {
    hukou_book: '户口簿（户主页及儿童页）', property_certificate: '房产证或购房合同',
    rental_record: '房屋租赁备案证明', residence_permit: '居住证', birth_certificate: '出生医学证明',
    disability_certificate: '残疾证或残疾评估意见', entitlement_proof: '优抚对象证明材料',
    employment_proof: '务工或经商证明', identity_document: '护照、通行证或港澳台居民居住证',
    other: '其他材料',
  }
  const table = bases || {
    hukou: [['hukou_book']],
    residence: [['hukou_book'], ['property_certificate', 'rental_record']],
    residence_permit: [['residence_permit']],
  }
  return {
    bases: Object.keys(table).map(basis => ({
      basis, documents: table[basis].map(group => group.map(kind => doc(kind, names[kind]))),
    })),
    categories: [
      { key: 'migrant', name: '随迁子女', required_documents: [doc('residence_permit', names.residence_permit)] },
      { key: 'disability', name: '残疾儿童少年', required_documents: [doc('disability_certificate', names.disability_certificate)] },
    ],
    document_kinds: names,
  }
}

function registration(overrides = {}) {
  return Object.assign({
    id: 5, ticket: 'T-abcdef123456', status: 'submitted', status_name: '已受理', season_year: 2025,
    school: { code: 'LX001', name: '临泉镇第一小学（示例）' }, child: { id: 11, name: '张小示' },
    basis: 'hukou', out_of_zone: false, submitted_at: '2025-08-05T09:12:00+08:00',
    uploads: [{ upload_id: 'u1'.padEnd(32, '0'), kind: 'hukou_book' }],
    timeline: [{ status: 'submitted', status_name: '已受理', at: '2025-08-05T09:12:00+08:00',
      actor_role: 'parent', reason_code: null, reason: null, note: null }],
    can_withdraw: true, correction: null, fairness_notice: '报名先后不影响录取',
  }, overrides)
}

const TEMPLATES = {
  items: [
    { key: 'registration_received', template_id: 'TPL_REG_RECEIVED', title: '报名已受理' },
    { key: 'correction_requested', template_id: 'TPL_CORRECTION', title: '报名材料需要修改' },
    { key: 'review_result', template_id: 'TPL_REVIEW_RESULT', title: '报名审核结果' },
    { key: 'admission_result', template_id: 'TPL_ADMISSION_RESULT', title: '录取结果通知' },
  ],
}

/** GET /privacy/consent-text: the guardian's consent text and its version. */
function consentText(overrides = {}) {
  return Object.assign({
    version: '2025-1', title: '儿童个人信息处理监护人同意书',
    text: '根据《中华人民共和国个人信息保护法》第三十一条……\n一、处理哪些信息\n孩子的姓名、证件号码……',
    purge_personal_data_after: '2025-12-31',
  }, overrides)
}

module.exports = {
  iso, DAY, season, school, child, regions, categories, requirements, registration, consentText, TEMPLATES,
}
