// The counter verification page: inputs (handheld scanner, camera, photo, paste), the
// verdict, the licence face, the session's scan history, and the offline fallback.

import { applyI18n, lang, loadLang, reasonText, setLang, t } from './i18n.js';
import { decodeSeal, isSeal, verifySeal } from './offline.js';

const DATA_CACHE = 'elicense-data-v1';
const NET_TIMEOUT_MS = 3000;
const HISTORY_KEY = 'elicense.history';
const HISTORY_MAX = 10;
const MAX_LISTS_PER_ISSUER = 16;
const WARM_EVERY_MS = 5 * 60 * 1000;
const CAMERA_EVERY_MS = 200;
const MAX_FRAME_SIDE = 1280;
const MAX_UPLOAD_BYTES = 4 * 1024 * 1024;
const MAX_UPLOAD_SIDE = 2400;
const JSQR_SRC = '/vendor/jsQR.js';

const $ = (id) => document.getElementById(id);

/** The fetch failed (no answer, timeout, or a server-side failure): try offline. */
class Unreachable extends Error {}

let shown = { kind: 'idle' };
let online = true;
let camera = null;
let history = [];

// ---- network --------------------------------------------------------------------------------

async function fetchTimeout(url, options = {}, ms = NET_TIMEOUT_MS) {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), ms);
  try {
    const res = await fetch(url, { ...options, signal: ctl.signal });
    if (res.status >= 500 || res.status === 408) throw new Unreachable(`HTTP ${res.status}`);
    setOnline(res.headers.get('x-elicense-offline') !== '1');
    return res;
  } catch (e) {
    if (e instanceof Unreachable) throw e;
    setOnline(false);
    throw new Unreachable(e.message);
  } finally {
    clearTimeout(timer);
  }
}

function setOnline(value) {
  online = value;
  const net = $('net');
  net.textContent = t(value ? 'net_online' : 'net_offline');
  net.className = `net ${value ? 'net-on' : 'net-off'}`;
}

async function fetchAndCache(path) {
  const res = await fetchTimeout(path, { cache: 'no-cache' });
  if (!res.ok) return null;
  if ('caches' in self) {
    const cache = await caches.open(DATA_CACHE);
    await cache.put(path, res.clone());
  }
  return res;
}

async function cached(path) {
  if (!('caches' in self)) return null;
  return (await caches.match(path, { ignoreSearch: true })) ?? null;
}

/** The path on this origin of a status-list URI (the page only talks to its own origin). */
function statusListPath(uri) {
  try {
    const path = new URL(uri).pathname;
    return path.startsWith('/v1/status-lists/') ? path : null;
  } catch {
    return null;
  }
}

/** Fetches and stores the trust list and every issuer's status lists, for offline use. */
async function warmCaches() {
  try {
    const res = await fetchAndCache('/v1/trust-list');
    if (!res) return;
    await fetchAndCache('/licence-types.json');
    const trust = await res.json();
    const codes = [...new Set((trust.issuers ?? []).map((i) => i.code))];
    for (const code of codes) {
      for (let n = 0; n < MAX_LISTS_PER_ISSUER; n++) {
        if (!(await fetchAndCache(`/v1/status-lists/${encodeURIComponent(code)}/${n}`))) break;
      }
    }
  } catch {
    // Offline: what is cached stays.
  }
  await showCacheInfo();
}

async function showCacheInfo() {
  const el = $('cache-info');
  if (!('caches' in self)) {
    el.textContent = t('cache_unsupported');
    return;
  }
  const cache = await caches.open(DATA_CACHE);
  const keys = await cache.keys();
  const lists = keys.filter((r) => new URL(r.url).pathname.startsWith('/v1/status-lists/'));
  const trust = await cache.match('/v1/trust-list');
  let newest = null;
  for (const r of lists) {
    const token = await (await cache.match(r))?.text();
    const iat = listIat(token);
    if (iat !== null && (newest === null || iat > newest)) newest = iat;
  }
  el.textContent = trust
    ? t('cache_info', { lists: lists.length, time: newest === null ? '—' : formatDateTime(newest * 1000) })
    : t('cache_none');
  document.body.dataset.cachedLists = String(lists.length);
  document.body.dataset.cachedTrust = trust ? '1' : '0';
}

function listIat(token) {
  try {
    const payload = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const iat = JSON.parse(atob(payload + '='.repeat((4 - (payload.length % 4)) % 4))).iat;
    return Number.isSafeInteger(iat) ? iat : null;
  } catch {
    return null;
  }
}

// ---- verification ---------------------------------------------------------------------------

/** Scanner and paste text: line breaks and tabs out; outer spaces out except a seal's own. */
function normalise(text) {
  const s = String(text).replace(/[\r\n\t]/g, '').replace(/^\s+/, '');
  return isSeal(s) ? s : s.trimEnd();
}

const looksLikeSdJwt = (s) => /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+(~|$)/.test(s);

async function check(text) {
  try {
    const res = await fetchTimeout('/v1/verify', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ licence: text }),
    });
    const body = await res.json();
    if (isSeal(text) && body.verdict) {
      rememberStatusList(text);
      if (!body.licence_id && GENUINE_BUT_NOT_VALID.includes(body.reason?.code)) {
        body.licence = await sealFace(text);
      }
    }
    return { result: body, mode: 'online' };
  } catch (e) {
    if (!(e instanceof Unreachable)) throw e;
  }
  return { result: await checkOffline(text), mode: 'offline' };
}

async function checkOffline(text, { withStatus = true } = {}) {
  if (!isSeal(text)) return { page: looksLikeSdJwt(text) ? 'needs_server' : 'unreadable' };
  const [trust, types] = await Promise.all([cached('/v1/trust-list'), cached('/licence-types.json')]);
  if (!trust || !types) return { page: 'needs_server', message: t('cache_none') };
  return verifySeal(text, {
    trustList: await trust.json(),
    types: await types.json(),
    now: Date.now() / 1000,
    statusList: async (uri) => {
      if (!withStatus) return null;
      const path = statusListPath(uri);
      const res = path && (await cached(path));
      return res ? res.text() : null;
    },
  });
}

const GENUINE_BUT_NOT_VALID = ['revoked', 'suspended', 'expired', 'not_yet_valid'];

/**
 * The face of a seal the server found revoked, suspended or expired (its answer names no
 * licence): read from the seal itself, whose signature is checked here against the
 * cached trust list. Null if that is not possible.
 */
async function sealFace(text) {
  try {
    const r = await checkOffline(text, { withStatus: false });
    return r.licence_id ? r : (r.licence ?? null);
  } catch {
    return null;
  }
}

/** After an online check of a seal, keep its status list for offline use. */
async function rememberStatusList(text) {
  try {
    const path = statusListPath((await decodeSeal(text)).status?.uri ?? '');
    if (path && !(await cached(path))) {
      await fetchAndCache(path);
      await showCacheInfo();
    }
  } catch {
    // Nothing to remember.
  }
}

async function submit(raw, source) {
  const text = normalise(raw);
  if (!text) return;
  render({ kind: 'checking' });
  let outcome;
  try {
    outcome = await check(text);
  } catch (e) {
    outcome = { result: { page: 'unreadable', message: String(e.message ?? e) }, mode: 'offline' };
  }
  show(outcome.result, outcome.mode, source);
}

/** The page's verdict kind for a server or offline answer. */
function classify(result) {
  if (result.page) return result.page;
  if (result.error) return 'unreadable';
  if (result.verdict === 'valid') return 'valid';
  if (result.verdict === 'status_unknown') return 'status_unknown';
  const code = result.reason?.code;
  if (['revoked', 'suspended', 'expired', 'not_yet_valid'].includes(code)) return code;
  if (['malformed', 'too_large'].includes(code)) return 'unreadable';
  return 'not_genuine';
}

function show(result, mode, source) {
  const kind = classify(result);
  shown = { kind, result, mode };
  render(shown);
  document.body.dataset.checks = String(Number(document.body.dataset.checks ?? 0) + 1);
  addHistory({ at: Date.now(), kind, mode, source, result });
}

// ---- rendering ------------------------------------------------------------------------------

const CHINA = 'Asia/Shanghai';

const DATE_TIME = new Intl.DateTimeFormat('en-CA', {
  timeZone: CHINA,
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hourCycle: 'h23',
});

/** A time as YYYY-MM-DD HH:MM:SS in China time (the same in both languages). */
function formatDateTime(ms) {
  const p = Object.fromEntries(DATE_TIME.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`;
}

/** A licence date as YYYY-MM-DD in China time (as the face fields are written). */
function formatDate(text) {
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) return text;
  return new Date(ms).toLocaleDateString('en-CA', { timeZone: CHINA, year: 'numeric', month: '2-digit', day: '2-digit' });
}

const when = (text) => (text ? formatDateTime(Date.parse(text)) : '');

function statusAsOf(result) {
  return result.status_as_of ?? (result.status?.state === 'valid' ? result.status.as_of : null);
}

function render(state) {
  const { kind, result = {}, mode } = state;
  const panel = $('verdict');
  panel.className = `verdict v-${kind}`;
  panel.dataset.verdict = kind;
  panel.dataset.mode = mode ?? '';
  panel.querySelector('use').setAttribute('href', `#i-${kind}`);
  const word = t(kind);
  $('verdict-word').textContent = word;
  $('verdict-detail').textContent = t(`${kind}_detail`);

  const reason = $('verdict-reason');
  // A known reason code in the page's language; the answer's own (English) message else.
  // For an unknown status the message is kept too: it names the list and why it is unusable.
  const known = reasonText(result.reason?.code);
  const detail = result.reason?.message ?? result.error?.message ?? result.message ?? result.status?.reason;
  const why = kind === 'valid'
    ? null
    : known && kind === 'status_unknown' && detail ? `${known} (${detail})` : (known ?? detail);
  reason.hidden = !why;
  reason.textContent = why ? `${t('reason')}: ${why}` : '';

  const modeLine = $('verdict-mode');
  modeLine.hidden = !mode;
  if (mode === 'online') {
    modeLine.textContent = t('mode_online');
  } else if (mode === 'offline') {
    const asOf = statusAsOf(result);
    modeLine.textContent = asOf
      ? t('mode_offline', { time: when(asOf) })
      : result.stale_list_as_of
        ? t('mode_offline_stale', { time: when(result.stale_list_as_of) })
        : t('mode_offline_nostatus');
  }
  modeLine.className = `verdict-mode ${mode === 'offline' ? 'mode-offline' : ''}`;

  renderFace(result);
  if (kind !== 'checking') {
    const name = result.holder?.name ?? result.licence?.holder?.name;
    const holder = name ? ` ${name}` : '';
    $('announce').textContent = `${word}.${holder}`;
  }
}

let typesCache = null;
async function loadTypes() {
  if (typesCache) return typesCache;
  try {
    const res = (await cached('/licence-types.json')) ?? (await fetchTimeout('/licence-types.json'));
    typesCache = await res.json();
  } catch {
    typesCache = { types: [] };
  }
  return typesCache;
}

function renderFace(answer) {
  const face = $('face');
  const list = $('face-list');
  list.replaceChildren();
  const result = answer.licence_id ? answer : answer.licence;
  if (!result?.licence_id) {
    face.hidden = true;
    return;
  }
  const en = lang() === 'en';
  const typeInfo = typesCache?.types?.find((x) => x.code === result.type?.code);
  const kind = typeInfo?.holder_kind === 'person' ? 'person' : 'organisation';
  const rows = [
    [t('licence_type'), en ? result.type?.name_en : result.type?.name_zh],
    [t(`holder_name_${kind}`), result.holder?.name],
    [t(`holder_id_${kind}`), result.holder?.id],
    ...(result.fields ?? []).map((f) => [en ? f.label_en : f.label_zh, f.value]),
    [t('valid_from'), result.valid_from && formatDate(result.valid_from)],
    [t('valid_until'), result.valid_until ? formatDate(result.valid_until) : t('no_end')],
    [t('issuer'), result.issuer && `${result.issuer.name}（${result.issuer.code}）`],
    [t('licence_id'), result.licence_id],
    [t('checked_at'), when(answer.checked_at)],
  ];
  for (const [label, value] of rows) {
    if (!value) continue;
    const dt = document.createElement('dt');
    dt.textContent = label;
    const dd = document.createElement('dd');
    dd.textContent = value;
    list.append(dt, dd);
  }
  face.hidden = false;
}

// ---- history --------------------------------------------------------------------------------

function loadHistory() {
  try {
    const h = JSON.parse(sessionStorage.getItem(HISTORY_KEY) ?? '[]');
    return Array.isArray(h) ? h.slice(0, HISTORY_MAX) : [];
  } catch {
    return [];
  }
}

function addHistory({ at, kind, mode, result }) {
  history.unshift({
    at,
    kind,
    mode,
    holder: result.holder?.name ?? result.licence?.holder?.name ?? null,
    id: result.licence_id ?? result.licence?.licence_id ?? null,
  });
  history = history.slice(0, HISTORY_MAX);
  try {
    sessionStorage.setItem(HISTORY_KEY, JSON.stringify(history));
  } catch {
    // Kept in memory only.
  }
  renderHistory();
}

function renderHistory() {
  const list = $('history-list');
  list.replaceChildren();
  for (const h of history) {
    const li = document.createElement('li');
    li.className = `h-item h-${h.kind}`;
    const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    svg.setAttribute('class', 'h-icon');
    svg.setAttribute('aria-hidden', 'true');
    const use = document.createElementNS('http://www.w3.org/2000/svg', 'use');
    use.setAttribute('href', `#i-${h.kind}`);
    svg.append(use);
    const word = document.createElement('strong');
    word.textContent = t(h.kind);
    const time = document.createElement('time');
    time.dateTime = new Date(h.at).toISOString();
    time.textContent = formatDateTime(h.at);
    const who = document.createElement('span');
    who.className = 'h-holder';
    who.textContent = [h.holder, h.mode === 'offline' ? `（${t('history_offline')}）` : ''].filter(Boolean).join(' ');
    li.append(svg, word, who, time);
    list.append(li);
  }
  $('history-empty').hidden = history.length > 0;
}

// ---- inputs ---------------------------------------------------------------------------------

const wedge = () => $('wedge');

/** Whether the user is typing somewhere on purpose (the paste box), so focus stays there. */
function userIsEditing() {
  const a = document.activeElement;
  return a && a !== wedge() && (a.tagName === 'TEXTAREA' || (a.tagName === 'INPUT' && a.type === 'text'));
}

function focusWedge() {
  if (!userIsEditing()) wedge().focus({ preventScroll: true });
}

function showScannerState() {
  const ready = document.activeElement === wedge();
  $('scanner').classList.toggle('ready', ready);
  $('scanner-text').textContent = t(ready ? 'scanner_ready' : 'scanner_idle');
}

function wireScanner() {
  const input = wedge();
  input.addEventListener('keydown', (e) => {
    // Scanners end a code with Enter (or, set up so, Tab).
    if (e.key === 'Enter' || (e.key === 'Tab' && input.value)) {
      e.preventDefault();
      const text = input.value;
      input.value = '';
      submit(text, 'scanner');
    }
  });
  input.addEventListener('paste', (e) => {
    const text = e.clipboardData?.getData('text');
    if (text) {
      e.preventDefault();
      submit(text, 'paste');
    }
  });
  input.addEventListener('focus', showScannerState);
  input.addEventListener('blur', () => {
    showScannerState();
    // Focus lost to nothing (a click on the page background): take it back.
    setTimeout(() => {
      if (document.activeElement === document.body || document.activeElement === null) focusWedge();
    }, 0);
  });
  // After a click on a button or elsewhere, the scanner is ready again.
  document.addEventListener('click', (e) => {
    if (e.target.closest('textarea, input[type=file], label[for=photo]')) return;
    setTimeout(focusWedge, 0);
  });
  // A scanner's keystrokes while focus is on no text field (a button, the help, nothing)
  // go to the scanner input. Space and Enter keep their meaning for keyboard users.
  document.addEventListener(
    'keydown',
    (e) => {
      if (e.key.length !== 1 || e.key === ' ' || e.ctrlKey || e.metaKey || e.altKey) return;
      if (document.activeElement !== input && !userIsEditing()) input.focus({ preventScroll: true });
    },
    true,
  );
  window.addEventListener('focus', () => setTimeout(focusWedge, 0));
}

function wirePaste() {
  const form = $('paste-form');
  const area = $('paste');
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    submit(area.value, 'paste');
    area.value = '';
    focusWedge();
  });
  area.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) form.requestSubmit();
  });
}

// ---- images (upload, drop, camera) ----------------------------------------------------------
//
// QR codes in pictures are read in the browser: with its own BarcodeDetector where there is
// one, otherwise with jsQR (web/vendor/jsQR.js, third-party, unmodified), loaded on first
// use. The text read goes the same way as a scanner's. Photos go to the server
// (POST /v1/verify/image) while it answers, and are read here when it does not.

async function detector() {
  if (!('BarcodeDetector' in self)) return null;
  try {
    const formats = await BarcodeDetector.getSupportedFormats();
    return formats.includes('qr_code') ? new BarcodeDetector({ formats: ['qr_code'] }) : null;
  } catch {
    return null;
  }
}

let jsQRLoad = null;

/** jsQR's decode function; its UMD bundle sets `self.jsQR` when run as a classic script. */
function loadJsQR() {
  if (typeof self.jsQR === 'function') return Promise.resolve(self.jsQR);
  jsQRLoad ??= new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = JSQR_SRC;
    script.addEventListener('load', () =>
      typeof self.jsQR === 'function' ? resolve(self.jsQR) : reject(new Error('jsQR did not load')),
    );
    script.addEventListener('error', () => {
      jsQRLoad = null;
      script.remove();
      reject(new Error('the QR decoder could not be loaded'));
    });
    document.head.append(script);
  });
  return jsQRLoad;
}

/** The picture's pixels, scaled down to at most `maxSide` on the long side. */
function pixels(source, width, height, maxSide, canvas) {
  const scale = Math.min(1, maxSide / Math.max(width, height));
  canvas.width = Math.max(1, Math.round(width * scale));
  canvas.height = Math.max(1, Math.round(height * scale));
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  ctx.drawImage(source, 0, 0, canvas.width, canvas.height);
  return ctx.getImageData(0, 0, canvas.width, canvas.height);
}

/**
 * A QR reader: `{ name, read(source, width, height) }`, where `read` gives the text of the
 * first QR code in the picture or null. Camera frames are read without trying inverted
 * colours (twice as fast; a seal is dark on light), photos with.
 */
async function qrReader({ maxSide, inverted }) {
  const d = await detector();
  if (d) {
    return {
      name: 'barcode-detector',
      read: async (source) => (await d.detect(source))[0]?.rawValue ?? null,
    };
  }
  const jsQR = await loadJsQR();
  const canvas = document.createElement('canvas');
  const inversionAttempts = inverted ? 'attemptBoth' : 'dontInvert';
  return {
    name: 'jsqr',
    read: async (source, width, height) => {
      const img = pixels(source, width, height, maxSide, canvas);
      return jsQR(img.data, img.width, img.height, { inversionAttempts })?.data ?? null;
    },
  };
}

/** Large or unusual images are re-encoded as JPEG of at most MAX_UPLOAD_SIDE pixels. */
async function uploadable(file) {
  if (file.size <= MAX_UPLOAD_BYTES && (file.type === 'image/png' || file.type === 'image/jpeg')) return file;
  const bitmap = await createImageBitmap(file);
  const scale = Math.min(1, MAX_UPLOAD_SIDE / Math.max(bitmap.width, bitmap.height));
  const canvas = document.createElement('canvas');
  canvas.width = Math.round(bitmap.width * scale);
  canvas.height = Math.round(bitmap.height * scale);
  canvas.getContext('2d').drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close();
  return new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', 0.92));
}

async function verifyImageOnline(blob) {
  const res = await fetchTimeout('/v1/verify/image', {
    method: 'POST',
    headers: { 'content-type': blob.type || 'application/octet-stream' },
    body: blob,
  });
  return res.json();
}

async function handleImage(file) {
  if (!file) return;
  render({ kind: 'checking' });
  $('verdict-detail').textContent = t('photo_reading');
  try {
    const body = await verifyImageOnline(await uploadable(file));
    show(body, 'online', 'photo');
    return;
  } catch (e) {
    if (!(e instanceof Unreachable)) {
      show({ page: 'unreadable', message: String(e.message ?? e) }, 'online', 'photo');
      return;
    }
  }
  // Offline: the code is read here and the seal verified against the cached lists.
  let reader;
  try {
    reader = await qrReader({ maxSide: MAX_UPLOAD_SIDE, inverted: true });
  } catch {
    show({ page: 'needs_server', message: t('photo_offline_unsupported') }, 'offline', 'photo');
    return;
  }
  try {
    const bitmap = await createImageBitmap(file);
    let text;
    try {
      text = await reader.read(bitmap, bitmap.width, bitmap.height);
    } finally {
      bitmap.close();
    }
    document.body.dataset.decoder = reader.name;
    if (!text) {
      show({ page: 'unreadable', message: t('photo_no_code') }, 'offline', 'photo');
      return;
    }
    show(await checkOffline(normalise(text)), 'offline', 'photo');
  } catch (e) {
    show({ page: 'unreadable', message: String(e.message ?? e) }, 'offline', 'photo');
  }
}

function wireImages() {
  const photo = $('photo');
  photo.addEventListener('change', () => {
    handleImage(photo.files?.[0]);
    photo.value = '';
    focusWedge();
  });
  const drop = $('drop');
  document.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  document.addEventListener('dragleave', (e) => {
    if (!e.relatedTarget) drop.classList.remove('over');
  });
  document.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    handleImage(e.dataTransfer?.files?.[0]);
  });
  $('camera').addEventListener('click', () => (camera ? stopCamera() : startCamera()));
}

async function startCamera() {
  const box = $('camera-box');
  const msg = $('camera-msg');
  const video = $('video');
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false });
  } catch (e) {
    box.hidden = false;
    msg.textContent = t('camera_unavailable', { error: e.message ?? e.name });
    return;
  }
  const session = { stream, timer: null };
  camera = session;
  video.srcObject = stream;
  await video.play().catch(() => {});
  box.hidden = false;
  msg.textContent = t('camera_hint');
  $('camera').textContent = t('camera_stop');
  let reader;
  try {
    reader = await qrReader({ maxSide: MAX_FRAME_SIDE, inverted: false });
  } catch (e) {
    msg.textContent = t('camera_no_reader', { error: e.message ?? e });
    return;
  }
  if (camera !== session) return;
  document.body.dataset.decoder = reader.name;
  // A few frames a second; the next one only after this one is read.
  const tick = async () => {
    if (camera !== session) return;
    try {
      if (video.readyState >= 2 && video.videoWidth > 0) {
        const text = await reader.read(video, video.videoWidth, video.videoHeight);
        if (text && camera === session) {
          stopCamera();
          submit(text, 'camera');
          return;
        }
      }
    } catch {
      // This frame could not be read: try the next.
    }
    if (camera === session) session.timer = setTimeout(tick, CAMERA_EVERY_MS);
  };
  tick();
}

function stopCamera() {
  if (!camera) return;
  clearTimeout(camera.timer);
  for (const track of camera.stream.getTracks()) track.stop();
  camera = null;
  $('video').srcObject = null;
  $('camera-box').hidden = true;
  $('camera').textContent = t('camera_start');
  focusWedge();
}

// ---- start ----------------------------------------------------------------------------------

function applyLanguage() {
  applyI18n(document);
  const button = $('lang');
  button.textContent = t('lang_toggle');
  button.setAttribute('aria-label', t('lang_toggle_label'));
  button.lang = lang() === 'en' ? 'zh-CN' : 'en';
  setOnline(online);
  showScannerState();
  $('camera').textContent = t(camera ? 'camera_stop' : 'camera_start');
  render(shown);
  renderHistory();
  showCacheInfo().catch(() => {});
}

function init() {
  loadLang();
  history = loadHistory();
  $('lang').addEventListener('click', () => {
    setLang(lang() === 'en' ? 'zh-CN' : 'en');
    applyLanguage();
  });
  $('history-clear').addEventListener('click', () => {
    history = [];
    sessionStorage.removeItem(HISTORY_KEY);
    renderHistory();
  });
  wireScanner();
  wirePaste();
  wireImages();
  window.addEventListener('online', () => warmCaches());
  applyLanguage();
  focusWedge();
  loadTypes().then(() => render(shown));
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => {});
  }
  warmCaches().finally(() => {
    document.body.dataset.ready = '1';
  });
  setInterval(warmCaches, WARM_EVERY_MS);
}

init();
