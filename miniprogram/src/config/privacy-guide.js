/**
 * Our own 用户隐私保护指引, item by item: what is collected, how, why, and which code
 * collects it (`apis`). The guide in the WeChat console (mp.weixin.qq.com → 设置 → 服务内容
 * 声明 → 用户隐私保护指引) declares the items with a `wechat` name; tests/privacy.test.js
 * checks that every privacy-scoped API the code calls is listed here, and README.md's
 * checklist follows this list.
 */
const ITEMS = [
  {
    key: 'wechat_identity',
    name: '微信身份标识',
    how: '登录时由微信提供的账号标识（openid）；不获取您的微信昵称和头像。',
    why: '识别您的账号，保存您的登记和报名。',
    apis: ['wx.login'],
  },
  {
    key: 'phone',
    name: '手机号',
    how: '实名登记时，由您点击“使用微信绑定的手机号”授权获取；不授权也可以报名。',
    why: '学校在审核、录取、现场确认时联系您。',
    apis: ['button open-type="getPhoneNumber"'],
    wechat: '手机号',
  },
  {
    key: 'identity',
    name: '监护人和孩子的姓名、证件号码及孩子的特殊群体信息',
    how: '实名登记和添加孩子时由您本人填写（随迁子女的居住证、残疾儿童的残疾证号和入学意愿也由您填写）；保存孩子的信息前，须监护人阅读并同意《儿童个人信息处理监护人同意书》。',
    why: '核实身份，确认入学年龄和报名条件，防止一个孩子被重复报名。',
    apis: [],
  },
  {
    key: 'address',
    name: '户籍地址和实际居住地址',
    how: '由您从乡镇、村（社区）列表中选择并填写；本平台不获取您的位置。',
    why: '确定孩子的服务区（划片）学校。',
    apis: [],
  },
  {
    key: 'photos',
    name: '证件材料的照片',
    how: '上传报名材料时，由您拍照或从相册选择户口簿、房产证明、居住证、出生医学证明等的照片。',
    why: '学校审核报名材料。',
    apis: ['wx.chooseMedia'],
    wechat: '选中的照片或视频信息',
  },
  {
    key: 'clipboard',
    name: '剪切板',
    how: '点击“复制证据文件地址”时写入链接；不读取剪切板。',
    why: '方便您在电脑上下载派位证据文件，核验派位结果。',
    apis: ['wx.setClipboardData'],
    wechat: '剪切板',
  },
]

const RECIPIENTS = '您报名的学校的招生工作人员和县教育局的招生工作人员，各自只能看到职责范围内的报名。证件号码和手机号在页面上默认隐去部分数字，查看完整号码须填写理由并留有记录。不出售，也不提供给与招生无关的单位或个人。'

const RETENTION = '信息加密保存。本季招生结束后，到教育局为本季设定的清除日期，证件号码、手机号和上传的材料照片将被删除，只保留不含个人身份的统计数字。'

const DELETION = '您可以在“我的 → 我的孩子”中查看和更正孩子的信息。如需删除信息或撤回同意，请联系报名学校或县教育局（电话见“学校”页面和招生公告）；撤回同意后将无法继续办理报名。'

module.exports = { ITEMS, RECIPIENTS, RETENTION, DELETION }
