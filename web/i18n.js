// Page strings in Chinese (default) and English. Elements name their string with
// data-i18n="key" (text) or data-i18n-aria="key" (aria-label); t() fills {name} slots.

export const STRINGS = {
  'zh-CN': {
    title: '电子证照窗口核验',
    lang_toggle: 'English',
    lang_toggle_label: 'Switch to English',
    net_online: '已联网',
    net_offline: '离线',
    scanner_ready: '扫码枪就绪：直接扫码即可',
    scanner_idle: '点击此处后再用扫码枪扫码',
    wedge_label: '扫码枪输入',
    verdict_region: '核验结果',
    idle: '请扫描证照二维码',
    idle_detail: '扫码枪、摄像头、照片或粘贴文本均可。',
    checking: '正在核验…',
    checking_detail: '',
    valid: '有效',
    valid_detail: '签名有效，证照未被撤销或暂扣。',
    revoked: '已撤销',
    revoked_detail: '此证照已被撤销，不再有效。',
    suspended: '已暂扣',
    suspended_detail: '此证照目前被暂扣，暂不可用。',
    expired: '已过期',
    expired_detail: '此证照已超过有效期。',
    not_yet_valid: '尚未生效',
    not_yet_valid_detail: '此证照的有效期尚未开始。',
    not_genuine: '非真实证照',
    not_genuine_detail: '签名或签发机关核验未通过：证照可能被篡改或伪造。',
    status_unknown: '状态未知',
    status_unknown_detail: '签名有效，但无法确认是否已被撤销或暂扣，不能视为有效。',
    unreadable: '无法识别',
    unreadable_detail: '读到的内容不是电子证照。请重新扫码。',
    needs_server: '需要联网核验',
    needs_server_detail: '离线时只能核验纸质证照上的二维码印章；此内容需连接服务器核验。',
    mode_online: '在线核验（台账实时状态）',
    mode_offline: '离线核验；状态截至 {time}',
    mode_offline_nostatus: '离线核验；没有可用的状态列表',
    mode_offline_stale: '离线核验；缓存的状态列表（{time}）已过期',
    reason: '原因',
    face_heading: '证照信息',
    licence_type: '证照类型',
    licence_id: '证照标识',
    holder_name_organisation: '名称',
    holder_name_person: '姓名',
    holder_id_organisation: '统一社会信用代码',
    holder_id_person: '公民身份号码',
    valid_from: '有效期自',
    valid_until: '有效期至',
    no_end: '长期',
    issuer: '发证机关',
    checked_at: '核验时间',
    inputs_heading: '输入方式',
    camera_start: '摄像头扫码',
    camera_stop: '关闭摄像头',
    camera_unavailable: '无法打开摄像头：{error}',
    camera_hint: '将二维码对准摄像头…',
    camera_no_reader: '无法加载二维码识别组件（{error}）；请使用扫码枪或粘贴文本。',
    photo_upload: '上传照片',
    photo_drop: '或将二维码照片拖放到此处',
    photo_offline_unsupported: '离线时无法加载二维码识别组件，照片无法识别；请使用扫码枪或粘贴文本，或联网后重试。',
    photo_no_code: '照片中没有找到二维码。',
    photo_reading: '正在识别照片…',
    paste_label: '粘贴证照内容（二维码文本或 SD-JWT）',
    paste_verify: '核验',
    history_heading: '本次扫描记录',
    history_empty: '暂无记录',
    history_clear: '清除记录',
    history_offline: '离线',
    help_heading: '使用说明',
    help_scanner: '扫码枪（键盘模式）：页面始终准备接收扫码，扫完自动核验，无需点击输入框。如扫码时弹出中文输入法候选框，请把输入法切换到英文模式。',
    help_offline: '离线核验：页面会缓存本服务器发布的信任列表（签发机关公钥）和状态列表。断网时，页面在浏览器中用 WebCrypto（ECDSA P-256）核验二维码印章的签名，并用缓存的状态列表判断是否被撤销或暂扣。离线时页面信任的是它此前从本服务器取得的签发机关公钥（证书链已由服务器校验）。状态列表过期后结果为“状态未知”，不会显示“有效”。',
    help_camera: '摄像头和照片：摄像头画面在浏览器中识别二维码（浏览器自带的 BarcodeDetector，没有时使用随页面提供的 jsQR），画面不会上传。联网时照片交由服务器识别；断网时照片也在浏览器中识别，二维码印章随后离线核验。',
    help_privacy: '扫描记录只保存在本标签页中，关闭页面即清除。',
    cache_info: '离线数据：已缓存信任列表和 {lists} 份状态列表（最新签发于 {time}）。',
    cache_none: '尚无离线数据：需先联网打开本页面一次。',
    cache_unsupported: '此浏览器（或非 HTTPS 访问）不支持离线缓存。',
  },
  en: {
    title: 'Electronic licence counter check',
    lang_toggle: '中文',
    lang_toggle_label: '切换到中文',
    net_online: 'Online',
    net_offline: 'Offline',
    scanner_ready: 'Scanner ready: just scan',
    scanner_idle: 'Click here before scanning',
    wedge_label: 'Scanner input',
    verdict_region: 'Verification result',
    idle: 'Scan a licence QR code',
    idle_detail: 'Use a handheld scanner, the camera, a photo, or paste the text.',
    checking: 'Checking…',
    checking_detail: '',
    valid: 'Valid',
    valid_detail: 'Signature valid; not revoked or suspended.',
    revoked: 'Revoked',
    revoked_detail: 'This licence has been revoked and is no longer valid.',
    suspended: 'Suspended',
    suspended_detail: 'This licence is suspended for now.',
    expired: 'Expired',
    expired_detail: 'This licence is past its validity period.',
    not_yet_valid: 'Not yet valid',
    not_yet_valid_detail: 'The validity period of this licence has not begun.',
    not_genuine: 'Not genuine',
    not_genuine_detail: 'The signature or issuer check failed: the licence may be altered or forged.',
    status_unknown: 'Status unknown',
    status_unknown_detail: 'The signature is valid, but whether it was revoked or suspended cannot be established: do not treat it as valid.',
    unreadable: 'Could not read',
    unreadable_detail: 'What was read is not an electronic licence. Scan again.',
    needs_server: 'Needs the server',
    needs_server_detail: 'Offline, only the QR seal of a paper licence can be checked; this needs a connection to the server.',
    mode_online: 'Checked online (live ledger status)',
    mode_offline: 'Checked offline; status as of {time}',
    mode_offline_nostatus: 'Checked offline; no usable status list',
    mode_offline_stale: 'Checked offline; the cached status list ({time}) is out of date',
    reason: 'Reason',
    face_heading: 'Licence',
    licence_type: 'Licence type',
    licence_id: 'Identifier',
    holder_name_organisation: 'Name',
    holder_name_person: 'Name',
    holder_id_organisation: 'Unified social credit code',
    holder_id_person: 'ID number',
    valid_from: 'Valid from',
    valid_until: 'Valid until',
    no_end: 'No end date',
    issuer: 'Issuing authority',
    checked_at: 'Checked at',
    inputs_heading: 'Input',
    camera_start: 'Scan with camera',
    camera_stop: 'Stop camera',
    camera_unavailable: 'The camera cannot be opened: {error}',
    camera_hint: 'Hold the QR code in front of the camera…',
    camera_no_reader: 'The QR reader could not be loaded ({error}); use the scanner or paste the text.',
    photo_upload: 'Upload photo',
    photo_drop: 'or drop a photo of the QR code here',
    photo_offline_unsupported: 'Offline, the QR reader could not be loaded, so the photo cannot be read; use the scanner or paste the text, or retry online.',
    photo_no_code: 'No QR code was found in the photo.',
    photo_reading: 'Reading the photo…',
    paste_label: 'Paste the licence (QR text or SD-JWT)',
    paste_verify: 'Verify',
    history_heading: 'Scans this session',
    history_empty: 'No scans yet',
    history_clear: 'Clear',
    history_offline: 'offline',
    help_heading: 'Help',
    help_scanner: 'Handheld scanner (keyboard mode): the page is always ready; scan and it checks at once, no need to click an input box. If a Chinese input method pops up while scanning, switch it to English mode.',
    help_offline: 'Offline checks: the page caches the trust list (issuing authorities\' public keys) and the status lists published by this server. Without a network it verifies the QR seal\'s signature in the browser with WebCrypto (ECDSA P-256) and looks up revocation and suspension in the cached status list. Offline, the page trusts the issuer keys it fetched earlier from this server (which validated their certificate chains). Once a cached status list is out of date the result is "status unknown", never "valid".',
    help_camera: 'Camera and photos: camera frames are read in the browser (its own BarcodeDetector, or else the jsQR decoder served with the page) and are never uploaded. Online, photos are read by the server; offline, they are read in the browser too, and a paper seal is then checked offline.',
    help_privacy: 'The scan history stays in this tab only and is cleared when the page is closed.',
    cache_info: 'Offline data: the trust list and {lists} status list(s) are cached (newest signed {time}).',
    cache_none: 'No offline data yet: open this page once while online.',
    cache_unsupported: 'This browser (or a page not served over HTTPS) cannot keep offline data.',
  },
};

export const LANGS = Object.keys(STRINGS);

// Verdict reason codes (the server's, the CLI's and offline.js's) as the page says them:
// one table, one row per code, a string per language.
export const REASONS = {
  revoked: { 'zh-CN': '证照已被发证机关撤销', en: 'The issuing agency has revoked this licence' },
  suspended: { 'zh-CN': '证照已被发证机关暂扣', en: 'The issuing agency has suspended this licence' },
  expired: { 'zh-CN': '证照已超过有效期', en: 'The licence has expired' },
  not_yet_valid: { 'zh-CN': '证照有效期尚未开始', en: 'The licence is not valid yet' },
  bad_signature: { 'zh-CN': '签名无效：证照被篡改或伪造', en: 'Bad signature: the licence was altered or forged' },
  untrusted_issuer: { 'zh-CN': '签发机关不在信任列表中', en: 'The issuer is not in the trust list' },
  bad_chain: { 'zh-CN': '签发机关证书链无效', en: "The issuer's certificate chain is not valid" },
  certificate_not_valid_at_signing: { 'zh-CN': '签发时签发机关证书不在有效期内', en: "The issuer's certificate was not valid when it signed" },
  issuer_mismatch: { 'zh-CN': '签发机关与证书不符', en: 'The issuer does not match its certificate' },
  disclosure_mismatch: { 'zh-CN': '披露内容与签名不符', en: 'A disclosed field does not match the signature' },
  key_binding_failed: { 'zh-CN': '持证人绑定核验失败', en: 'The holder key binding failed' },
  unsupported_algorithm: { 'zh-CN': '不支持的签名算法', en: 'Unsupported signature algorithm' },
  forbidden_header: { 'zh-CN': '证照头部含有不允许的字段', en: 'The licence header carries a forbidden field' },
  unknown_type: { 'zh-CN': '未知的证照类型', en: 'Unknown licence type' },
  malformed: { 'zh-CN': '内容格式不正确', en: 'The content is malformed' },
  too_large: { 'zh-CN': '内容过长', en: 'The content is too large' },
  status_unavailable: { 'zh-CN': '无法确认证照状态（状态列表缺失或已过期）', en: 'The status could not be established (status list missing or out of date)' },
  status_not_checked: { 'zh-CN': '未核验证照状态', en: 'The status was not checked' },
};

/** The reason `code` in the current language, or null for a code the table lacks. */
export function reasonText(code) {
  const row = code ? REASONS[code] : undefined;
  return row ? (row[current] ?? row['zh-CN']) : null;
}

const STORAGE_KEY = 'elicense.lang';
let current = 'zh-CN';

/** The language in use. */
export function lang() {
  return current;
}

/** Loads the remembered language (zh-CN unless English was chosen before). */
export function loadLang() {
  let saved = null;
  try {
    saved = localStorage.getItem(STORAGE_KEY);
  } catch {
    // Storage may be disabled; the default stands.
  }
  current = LANGS.includes(saved) ? saved : 'zh-CN';
  return current;
}

/** Switches language and remembers the choice. */
export function setLang(next) {
  if (!LANGS.includes(next)) return;
  current = next;
  try {
    localStorage.setItem(STORAGE_KEY, next);
  } catch {
    // Not remembered; still switched.
  }
}

/** The string `key` in the current language, with `{name}` slots filled from `vars`. */
export function t(key, vars = {}) {
  const s = STRINGS[current][key] ?? STRINGS['zh-CN'][key] ?? key;
  return s.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}

/** Fills every data-i18n / data-i18n-aria element under `root`. */
export function applyI18n(root) {
  document.documentElement.lang = current;
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-aria]')) {
    el.setAttribute('aria-label', t(el.dataset.i18nAria));
  }
  document.title = t('title');
}
