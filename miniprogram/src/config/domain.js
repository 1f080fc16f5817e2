/**
 * Names and rules the pages show, keyed by the API's values. The keys must exist in the
 * backend's OpenAPI document (checked by tests/contract.test.js).
 */

// Registration statuses (docs/REVIEW.md); the API also sends status_name.
const REGISTRATION_STATUS = {
  submitted: '已受理',
  under_review: '审核中',
  returned: '退回修改',
  bureau_review: '待教育局复核',
  approved: '审核通过',
  rejected: '未通过',
  withdrawn: '已撤回',
}

// What the intake ticket says while the queue works (TicketOut.state).
const TICKET_STATE = {
  queued: '排队中',
  accepted: '已受理',
  rejected: '未能受理',
}

// Registration basis (SubmitIn.basis) with the words a family understands.
const BASIS = {
  hukou: { name: '户籍', hint: '孩子户口在本校招生范围内' },
  residence: { name: '实际居住地', hint: '在本校招生范围内有房产或租房' },
  residence_permit: { name: '居住证（随迁子女）', hint: '父母持本县居住证在此务工或经商' },
}
const BASIS_KEYS = ['hukou', 'residence', 'residence_permit']

// Names of document kinds for documents already submitted (报名详情). Which documents a
// registration needs is the API's (GET /registrations/requirements), never a copy here.
const UPLOAD_KIND = {
  hukou_book: '户口簿（户主页及儿童页）',
  property_certificate: '房产证或购房合同',
  rental_record: '房屋租赁备案证明',
  residence_permit: '居住证',
  birth_certificate: '出生医学证明',
  disability_certificate: '残疾证或残疾评估意见',
  entitlement_proof: '优抚对象证明材料',
  employment_proof: '务工或经商证明',
  identity_document: '护照、通行证或港澳台居民居住证',
  other: '其他材料',
}

// The most common reasons schools send documents back (reviews/reasons.py), as a checklist
// shown before each upload: a photo that passes this list rarely comes back.
const COMMON_CHECKS = [
  '照片清晰，文字能看清，没有反光、没有手指遮挡',
  '证件四个角都拍进去了，不要只拍一部分',
  '上传的材料与所选类型一致',
  '材料上的姓名、证件号码与孩子的信息一致',
]
const UPLOAD_CHECKS = {
  hukou_book: ['户口簿首页（户主页）和孩子本人页都要上传', ...COMMON_CHECKS],
  property_certificate: ['房产证要拍到房屋坐落地址那一页', ...COMMON_CHECKS],
  rental_record: ['租赁备案证明要在有效期内', ...COMMON_CHECKS],
  residence_permit: ['居住证要在有效期内，正反两面都要拍', ...COMMON_CHECKS],
  entitlement_proof: ['证明材料要有出具单位的印章', ...COMMON_CHECKS],
}

const RELATION = {
  father: '父亲',
  mother: '母亲',
  grandparent: '祖父母 / 外祖父母',
  other_guardian: '其他监护人',
}
const RELATION_KEYS = ['father', 'mother', 'grandparent', 'other_guardian']

const DOCUMENT_TYPE = {
  resident_id: '居民身份证',
  hmt_residence_permit: '港澳台居民居住证',
  hk_macau_permit: '港澳居民来往内地通行证',
  taiwan_permit: '台湾居民来往大陆通行证',
  foreign_passport: '外国护照',
  foreign_permanent_residence: '外国人永久居留身份证',
}
const DOCUMENT_TYPE_KEYS = Object.keys(DOCUMENT_TYPE)

const COMPLAINT_TYPE = {
  complaint: '投诉',
  appeal: '申诉',
  report: '举报',
}
const COMPLAINT_TYPE_KEYS = ['complaint', 'appeal', 'report']

const SCHOOL_TYPE = { public: '公办', private: '民办' }

// Where the guardian's consent to processing a child's data was given (ConsentOut.channel).
const CONSENT_CHANNEL = {
  mini_program: '在小程序中勾选同意',
  pc: '在电脑网页上勾选同意',
  counter: '在学校窗口当面同意',
  legacy: '本功能上线前添加，未记录同意',
}

const FAIRNESS_NOTICE = '报名先后不影响录取'

// Notice templates asked for when a registration is submitted (at most three per call).
const SUBMIT_TEMPLATE_KEYS = ['registration_received', 'correction_requested', 'review_result']

module.exports = {
  CONSENT_CHANNEL,
  REGISTRATION_STATUS,
  TICKET_STATE,
  BASIS,
  BASIS_KEYS,
  UPLOAD_KIND,
  UPLOAD_CHECKS,
  COMMON_CHECKS,
  RELATION,
  RELATION_KEYS,
  DOCUMENT_TYPE,
  DOCUMENT_TYPE_KEYS,
  COMPLAINT_TYPE,
  COMPLAINT_TYPE_KEYS,
  SCHOOL_TYPE,
  FAIRNESS_NOTICE,
  SUBMIT_TEMPLATE_KEYS,
}
