// Words of the console, Chinese first, English second. The choice is kept in localStorage (it
// says nothing about the person) and sent to the server as Accept-Language.

const WORDS = {
  appName: ['桥 · 工作台', 'Qiao · Console'],
  skip: ['跳到主要内容', 'Skip to main content'],
  language: ['English', '中文'],
  languageLabel: ['切换到英文', 'Switch to Chinese'],
  signIn: ['登录', 'Sign in'],
  signInTitle: ['工作人员登录', 'Staff sign-in'],
  signInHelp: ['居委会和服务机构工作人员使用本系统维护服务信息。', 'Neighbourhood committee and provider staff keep service listings here.'],
  username: ['用户名', 'Username'],
  password: ['密码', 'Password'],
  signingIn: ['正在登录…', 'Signing in…'],
  signOut: ['退出登录', 'Sign out'],
  sessionExpired: ['登录已过期，请重新登录。您正在填写的内容不会丢失。', 'Your session has expired. Sign in again; what you were typing is kept.'],
  otherAccount: ['已用其他账号登录，页面已重新载入。', 'Signed in as another account: the page was reloaded.'],
  notStaff: ['此账号不是工作人员账号，不能使用工作台。', 'This account is not a staff account and cannot use the console.'],
  loading: ['正在载入…', 'Loading…'],
  saving: ['正在保存…', 'Saving…'],
  saved: ['已保存', 'Saved'],
  failed: ['失败：', 'Failed: '],
  networkError: ['网络连接失败，请检查网络后重试。', 'The network failed; check the connection and try again.'],
  nothingChanged: ['没有改动', 'Nothing changed'],
  // navigation
  navArea: ['我的片区', 'My area'],
  navStale: ['待核实', 'Due for checking'],
  navSuggestions: ['群众建议', 'Suggestions'],
  navImport: ['表格导入', 'Spreadsheet import'],
  navServices: ['我的服务', 'My services'],
  navReferrals: ['转介', 'Referrals'],
  signedInAs: ['当前账号：', 'Signed in as '],
  // area
  areaTitle: ['我的片区', 'My area'],
  areaHelp: ['地图显示片区边界和片区内的服务地点。点击地点打开服务。', 'The map shows your area and the places of its services. Choose a place to open its service.'],
  mapDatum: ['坐标系', 'Datum'],
  datumWgs: ['WGS-84（GPS）', 'WGS-84 (GPS)'],
  datumGcj: ['GCJ-02（高德、腾讯、微信地图）', 'GCJ-02 (Amap, Tencent, WeChat maps)'],
  datumBd: ['BD-09（百度地图）', 'BD-09 (Baidu maps)'],
  mapCaption: ['底图为空白背景（离线可用）；边界与地点使用同一坐标系。', 'Plain background (works offline); boundary and places are drawn in the same datum.'],
  mapLabel: ['片区地图', 'Map of the area'],
  noArea: ['此账号没有片区边界（管理员或服务机构）。', 'This account has no area boundary (an admin or a provider).'],
  listings: ['服务列表', 'Listings'],
  name: ['名称', 'Name'],
  status: ['状态', 'Status'],
  lastVerified: ['最近核实', 'Last checked'],
  never: ['从未', 'never'],
  places: ['地点', 'Places'],
  more: ['加载更多', 'Load more'],
  none: ['暂无', 'None'],
  ACTIVE: ['正常', 'Active'],
  TEMPORARILY_CLOSED: ['暂停服务', 'Temporarily closed'],
  INACTIVE: ['已停止', 'Inactive'],
  DEFUNCT: ['已归档', 'Archived'],
  // listing
  listingTitle: ['服务信息', 'Listing'],
  back: ['返回', 'Back'],
  editTitle: ['修改信息', 'Edit'],
  category: ['类别', 'Category'],
  nameZh: ['名称（中文）', 'Name (Chinese)'],
  nameEn: ['名称（英文）', 'Name (English)'],
  descriptionZh: ['简介（中文）', 'Description (Chinese)'],
  descriptionEn: ['简介（英文）', 'Description (English)'],
  feesZh: ['收费说明（中文）', 'Fees (Chinese)'],
  feesEn: ['收费说明（英文）', 'Fees (English)'],
  applyZh: ['申请方式（中文）', 'How to apply (Chinese)'],
  applyEn: ['申请方式（英文）', 'How to apply (English)'],
  save: ['保存', 'Save'],
  verifyTitle: ['核实', 'Check'],
  verifyHelp: ['已电话或上门确认信息无误时，点“已核实”。', 'When you have confirmed the listing by phone or visit, choose "Checked".'],
  verify: ['已核实', 'Checked'],
  verified: ['已记录核实', 'Recorded as checked'],
  statusTitle: ['服务状态', 'Status'],
  closeReasonZh: ['暂停原因（中文）', 'Why closed (Chinese)'],
  closeReasonEn: ['暂停原因（英文）', 'Why closed (English)'],
  closeTemporarily: ['暂停服务', 'Close temporarily'],
  reopen: ['恢复服务', 'Reopen'],
  archive: ['归档（从目录中移除）', 'Archive (remove from the directory)'],
  archiveConfirm: ['归档后此服务将从公开目录中消失。确定归档吗？', 'Archiving removes this service from the public directory. Archive it?'],
  archived: ['已归档。此服务已不在公开目录中。', 'Archived: the service is no longer in the public directory.'],
  historyTitle: ['修改记录', 'Change history'],
  field: ['项目', 'Field'],
  before: ['原值', 'Before'],
  after: ['新值', 'After'],
  who: ['修改人', 'By'],
  when: ['时间', 'When'],
  keepHours: ['开放时间、名额和通知', 'Hours, capacity and notice'],
  // stale
  staleTitle: ['待核实的服务', 'Listings due for checking'],
  staleHelp: ['超过所选天数没有核实的服务（或从未核实）。', 'Listings not checked for the chosen number of days (or never).'],
  olderThan: ['未核实天数超过', 'Not checked for more than (days)'],
  show: ['显示', 'Show'],
  // suggestions
  suggestionsTitle: ['群众提交的修改建议', 'Edit suggestions from the public'],
  suggestionsHelp: ['接受后修改会直接写入服务信息并记入修改记录；拒绝需说明原因。', 'Accepting applies the change to the listing and its history; rejecting needs a reason.'],
  kind: ['类型', 'Kind'],
  proposed: ['建议内容', 'Proposed'],
  comment: ['留言', 'Comment'],
  CLOSED: ['已关闭', 'Closed'],
  MOVED: ['已搬迁', 'Moved'],
  WRONG_PHONE: ['电话有误', 'Wrong phone'],
  OTHER: ['其他', 'Other'],
  accept: ['接受', 'Accept'],
  reject: ['拒绝', 'Reject'],
  rejectReason: ['拒绝原因', 'Reason for rejecting'],
  accepted: ['已接受', 'Accepted'],
  rejected: ['已拒绝', 'Rejected'],
  noSuggestions: ['没有待处理的建议。', 'No suggestions waiting.'],
  // import
  importTitle: ['从表格导入服务', 'Import listings from a spreadsheet'],
  importHelp: ['在 Excel 或 WPS 中另存为 CSV（UTF-8）。所有行都检查无误才会导入；有问题时一行也不导入，问题会显示在对应行旁边。', 'Save the spreadsheet as CSV (UTF-8). Nothing is imported unless every row is right; problems are shown next to their rows.'],
  chooseFile: ['选择 CSV 文件', 'Choose a CSV file'],
  orPaste: ['或粘贴 CSV 内容', 'or paste the CSV text'],
  importButton: ['检查并导入', 'Check and import'],
  importing: ['正在检查并导入…', 'Checking and importing…'],
  importedN: ['已导入 {n} 条服务。', 'Imported {n} listings.'],
  importRefused: ['有 {n} 处问题，未导入任何内容。请修改后再试。', '{n} problems: nothing was imported. Fix them and try again.'],
  row: ['行', 'Row'],
  line: ['表格行号', 'Sheet row'],
  problems: ['问题', 'Problems'],
  wholeFile: ['整个文件', 'Whole file'],
  fileRead: ['已读取文件 {name}', 'Read {name}'],
  // provider
  servicesTitle: ['我的服务', 'My services'],
  servicesHelp: ['保持开放时间、名额和通知为最新，居民才能放心前往。', 'Keep hours, capacity and notices current so people can rely on them.'],
  hoursTitle: ['每周开放时间', 'Weekly hours'],
  hoursHelp: ['每天最多两个时段（如上午和下午）。不开放的日子留空。', 'Up to two periods a day (e.g. morning and afternoon). Leave closed days empty.'],
  day: ['星期', 'Day'],
  period1: ['时段一', 'Period 1'],
  period2: ['时段二', 'Period 2'],
  opens: ['开门', 'Opens'],
  closes: ['关门', 'Closes'],
  MO: ['星期一', 'Monday'], TU: ['星期二', 'Tuesday'], WE: ['星期三', 'Wednesday'], TH: ['星期四', 'Thursday'],
  FR: ['星期五', 'Friday'], SA: ['星期六', 'Saturday'], SU: ['星期日', 'Sunday'],
  exceptionsTitle: ['节假日和临时安排', 'Holidays and exceptions'],
  exceptionsHelp: ['某天全天关闭时，开门和关门都留空。', 'For a day closed all day, leave opens and closes empty.'],
  date: ['日期', 'Date'],
  reasonZh: ['原因（中文）', 'Reason (Chinese)'],
  reasonEn: ['原因（英文）', 'Reason (English)'],
  pastDays: ['已过去的日期（{n} 天）', 'Past days ({n})'],
  addException: ['添加一天', 'Add a day'],
  remove: ['删除', 'Remove'],
  saveHours: ['保存开放时间', 'Save hours'],
  halfPeriod: ['{day}：开门和关门时间要一起填写。', '{day}: give both opening and closing times.'],
  capacityTitle: ['名额', 'Capacity'],
  ACCEPTING: ['可接收', 'Accepting'],
  WAITLIST: ['需排队', 'Waiting list'],
  FULL: ['已满', 'Full'],
  noteZh: ['说明（中文）', 'Note (Chinese)'],
  noteEn: ['说明（英文）', 'Note (English)'],
  saveCapacity: ['保存名额', 'Save capacity'],
  alertTitle: ['通知', 'Notice'],
  alertHelp: ['显示在服务页面顶部，例如“仅七八月开放”。两栏都留空并保存即清除。', 'Shown at the top of the service, e.g. "runs only in July and August". Save both empty to clear it.'],
  alertZh: ['通知（中文）', 'Notice (Chinese)'],
  alertEn: ['通知（英文）', 'Notice (English)'],
  saveAlert: ['保存通知', 'Save notice'],
  bothLanguages: ['请同时填写中文和英文（英文可与中文相同）。', 'Fill in both Chinese and English (the English may repeat the Chinese).'],
  // field names in the change history
  'field.name_zh': ['名称（中文）', 'Name (Chinese)'],
  'field.name_en': ['名称（英文）', 'Name (English)'],
  'field.description_zh': ['简介（中文）', 'Description (Chinese)'],
  'field.description_en': ['简介（英文）', 'Description (English)'],
  'field.fees_description_zh': ['收费说明（中文）', 'Fees (Chinese)'],
  'field.fees_description_en': ['收费说明（英文）', 'Fees (English)'],
  'field.application_process_zh': ['申请方式（中文）', 'How to apply (Chinese)'],
  'field.application_process_en': ['申请方式（英文）', 'How to apply (English)'],
  'field.status': ['状态', 'Status'],
  'field.category_term_id': ['类别', 'Category'],
  'field.alert_zh': ['通知（中文）', 'Notice (Chinese)'],
  'field.alert_en': ['通知（英文）', 'Notice (English)'],
  'field.assured_date': ['核实日期', 'Checked on'],
  'field.assurer': ['核实人', 'Checked by'],
  'field.hours': ['开放时间', 'Hours'],
  'field.exceptions': ['节假日安排', 'Exceptions'],
  'field.capacity': ['名额', 'Capacity'],
  notFound: ['找不到此页面。', 'Page not found.'],
};

let current = localStorage.getItem('qiao.console.lang') === 'en' ? 'en' : 'zh';

/** The current language: 'zh' or 'en'. */
export function lang() {
  return current;
}

export function setLang(next) {
  current = next === 'en' ? 'en' : 'zh';
  localStorage.setItem('qiao.console.lang', current);
  document.documentElement.lang = current === 'en' ? 'en' : 'zh-CN';
}

/** The word for `key` in the current language, with `{name}` placeholders filled in. */
export function t(key, params = {}) {
  const pair = WORDS[key];
  const text = pair ? pair[current === 'en' ? 1 : 0] : key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(params[name] ?? ''));
}

/**
 * The server writes messages as "English (中文)": show the part in the chosen language, and the
 * whole message when it does not have that shape.
 */
export function serverMessage(message) {
  const match = /^([\s\S]*?)\s*[（(]([^()（）]*[\u4e00-\u9fff][^()（）]*)[)）]\s*$/.exec(message || '');
  if (!match) return message || '';
  return current === 'en' ? match[1] : match[2];
}

/** A history field's name in words, or the field's own name when there are none for it. */
export function fieldName(name) {
  return WORDS[`field.${name}`] ? t(`field.${name}`) : name;
}

/** The Accept-Language header for the chosen language. */
export function acceptLanguage() {
  return current === 'en' ? 'en' : 'zh-CN';
}

setLang(current);
