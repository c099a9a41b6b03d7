// Drives the counter page in headless Chromium (playwright-core) against a running server.
//
//   node run.mjs <page url> <cases.json> <screenshot dir>
//
// cases.json: { valid, revoked, suspended, expired, tampered: seal texts, sd_jwt, holder,
// photo: PNG path, camera: Y4M video path (the fake camera), profile: fresh user-data-dir,
// chromium: executable, table: fixtures/verdicts/table.json }.
// Prints "PASS name" / "FAIL name: why" per case, "SCREENSHOT path" per screenshot, and
// "N passed, N failed" last; exits 1 if any case failed. Half-way it prints STOP_SERVER
// and waits for a line "STOPPED" on standard input (the caller stops the server), then
// checks the offline behaviour.

import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { checkTable } from './verdict_table.mjs';

const [url, casesFile, shotDir] = process.argv.slice(2);
if (!url || !casesFile || !shotDir) {
  console.error('usage: node run.mjs <page url> <cases.json> <screenshot dir>');
  process.exit(2);
}
const c = JSON.parse(fs.readFileSync(casesFile, 'utf8'));
fs.mkdirSync(shotDir, { recursive: true });

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const input = readline.createInterface({ input: process.stdin });
const stdinLines = [];
const waiters = [];
input.on('line', (line) => {
  const w = waiters.shift();
  if (w) w(line.trim());
  else stdinLines.push(line.trim());
});
const nextLine = () =>
  stdinLines.length ? Promise.resolve(stdinLines.shift()) : new Promise((resolve) => waiters.push(resolve));

let passed = 0;
let failed = 0;

// The camera is Chromium's fake device playing c.camera (a Y4M video of a QR code).
const CAMERA_FLAGS = [
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  `--use-file-for-fake-video-capture=${c.camera}`,
];

const ctx = await chromium.launchPersistentContext(c.profile, {
  executablePath: c.chromium,
  headless: true,
  args: [...FLAGS, ...CAMERA_FLAGS],
  permissions: ['camera'],
  viewport: { width: 1280, height: 900 },
  locale: 'zh-CN',
  timezoneId: 'Asia/Shanghai',
});
const page = ctx.pages()[0] ?? (await ctx.newPage());
page.on('pageerror', (e) => console.log(`pageerror: ${e.message}`));
// Photos posted to the server: the camera must read its frames in the page.
let imagePosts = 0;
page.on('request', (r) => {
  if (r.method() === 'POST' && new URL(r.url()).pathname === '/v1/verify/image') imagePosts++;
});
const cspViolations = [];
page.on('console', (m) => {
  if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
});

async function shot(name) {
  const file = path.join(shotDir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`SCREENSHOT ${file}`);
}

async function kase(name, fn) {
  try {
    await fn();
    console.log(`PASS ${name}`);
    passed++;
  } catch (e) {
    console.log(`FAIL ${name}: ${String(e.message ?? e).split('\n')[0]}`);
    failed++;
    await shot(`${name}-failure`).catch(() => {});
  }
}

function expect(cond, what) {
  if (!cond) throw new Error(what);
}

const checks = () => page.evaluate(() => Number(document.body.dataset.checks ?? 0));

/** The verdict shown after the check that `action` starts. */
async function verdictAfter(action) {
  const before = await checks();
  await action();
  await page.waitForFunction((n) => Number(document.body.dataset.checks ?? 0) > n, before, { timeout: 20000 });
  return page.evaluate(() => {
    const panel = document.querySelector('#verdict');
    return {
      kind: panel.dataset.verdict,
      mode: panel.dataset.mode,
      word: document.querySelector('#verdict-word').textContent,
      modeText: document.querySelector('#verdict-mode').textContent,
      reason: document.querySelector('#verdict-reason').textContent,
      face: document.querySelector('#face').hidden ? '' : document.querySelector('#face').textContent,
      announce: document.querySelector('#announce').textContent,
      active: document.activeElement?.id ?? null,
    };
  });
}

/** A keyboard-wedge scanner: keystrokes then Enter, into whatever has focus. */
const scan = (text) =>
  verdictAfter(async () => {
    await page.keyboard.type(text);
    await page.keyboard.press('Enter');
  });

function expectVerdict(v, kind, word, mode) {
  expect(v.kind === kind, `expected ${kind}, shown ${v.kind} (${v.word}; ${v.reason})`);
  expect(v.word === word, `expected the word ${word}, shown ${v.word}`);
  expect(v.announce.startsWith(word), `not announced: ${v.announce}`);
  if (mode) expect(v.mode === mode, `expected a ${mode} check, got ${v.mode}`);
}

async function ready() {
  await page.waitForSelector('body[data-ready="1"]', { timeout: 20000 });
}

// ---- online --------------------------------------------------------------------------------

await page.goto(url);
await ready();
await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
await kase('scanner_focus_on_load', async () => {
  const active = await page.evaluate(() => document.activeElement?.id);
  expect(active === 'wedge', `focus is on ${active}, not the scanner input`);
  await shot('01-idle');
});

await kase('scanner_valid', async () => {
  const v = await scan(c.valid);
  expectVerdict(v, 'valid', '有效', 'online');
  expect(v.face.includes(c.holder), 'the licence face does not show the holder');
  expect(v.modeText.includes('在线核验'), `mode line: ${v.modeText}`);
  expect(v.active === 'wedge', `focus moved to ${v.active}`);
  await shot('02-valid-online');
});

await kase('scanner_revoked', async () => {
  const v = await scan(c.revoked);
  expectVerdict(v, 'revoked', '已撤销', 'online');
  // The reason in the page's language (web/i18n.js REASONS), not the server's English.
  expect(v.reason === '原因: 证照已被发证机关撤销', `reason: ${v.reason}`);
  expect(v.face.includes(c.holder), 'the revoked licence\'s face is not shown');
  await shot('03-revoked-online');
});

await kase('scanner_suspended', async () => {
  expectVerdict(await scan(c.suspended), 'suspended', '已暂扣', 'online');
  await shot('04-suspended-online');
});

await kase('scanner_expired', async () => {
  const v = await scan(c.expired);
  expectVerdict(v, 'expired', '已过期', 'online');
  expect(v.face.includes(c.holder), 'the expired licence\'s face is not shown');
  await shot('05-expired-online');
});

await kase('scanner_tampered', async () => {
  const v = await scan(c.tampered);
  expectVerdict(v, 'not_genuine', '非真实证照', 'online');
  expect(v.reason === '原因: 签名无效：证照被篡改或伪造', `reason: ${v.reason}`);
  expect(v.face === '', 'a face is shown for a licence that is not genuine');
  await shot('06-not-genuine-online');
});

await kase('scanner_garbage', async () => {
  expectVerdict(await scan('HELLO-NOT-A-LICENCE'), 'unreadable', '无法识别');
  await shot('07-unreadable');
});

await kase('focus_returns_after_click', async () => {
  await page.mouse.click(640, 880);
  await page.click('#history-clear');
  const active = await page.evaluate(() => new Promise((r) => setTimeout(() => r(document.activeElement?.id), 50)));
  expect(active === 'wedge', `focus is on ${active}`);
});

await kase('scan_after_opening_help', async () => {
  // Focus left on the help's summary (keyboard users): a scan still reaches the page.
  await page.focus('.help summary');
  const v = await scan(c.valid);
  expectVerdict(v, 'valid', '有效', 'online');
  expect(v.active === 'wedge', `focus is on ${v.active}`);
});

await kase('paste_sd_jwt', async () => {
  const v = await verdictAfter(async () => {
    await page.fill('#paste', c.sd_jwt);
    await page.click('#paste-form button[type=submit]');
  });
  expectVerdict(v, 'valid', '有效', 'online');
  expect(v.active === 'wedge', `focus did not return to the scanner input: ${v.active}`);
});

await kase('english', async () => {
  await page.click('#lang');
  const word = await page.textContent('#verdict-word');
  expect(word === 'Valid', `after switching, the verdict reads ${word}`);
  await page.reload();
  await ready();
  const langAttr = await page.evaluate(() => document.documentElement.lang);
  expect(langAttr === 'en', `the language was not remembered: ${langAttr}`);
  expectVerdict(await scan(c.valid), 'valid', 'Valid', 'online');
  await shot('08-valid-english');
  expectVerdict(await scan(c.revoked), 'revoked', 'Revoked', 'online');
  await page.click('#lang');
  const back = await page.textContent('#verdict-word');
  expect(back === '已撤销', `after switching back, the verdict reads ${back}`);
});

await kase('history', async () => {
  const items = await page.$$eval('#history-list li', (lis) => lis.map((li) => li.className));
  expect(items.length >= 2 && items.length <= 10, `history has ${items.length} items`);
  expect(items[0].includes('h-revoked') && items[1].includes('h-valid'), `history order: ${items}`);
});

await kase('tablet_layout', async () => {
  await page.setViewportSize({ width: 820, height: 1180 });
  expectVerdict(await scan(c.valid), 'valid', '有效', 'online');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow <= 0, `the page is ${overflow}px wider than a tablet`);
  await shot('09-valid-tablet');
  await page.setViewportSize({ width: 1280, height: 900 });
});

await kase('photo_upload', async () => {
  const v = await verdictAfter(() => page.setInputFiles('#photo', c.photo));
  expectVerdict(v, 'valid', '有效', 'online');
  await shot('10-photo-valid');
});

await kase('photo_drop', async () => {
  const b64 = fs.readFileSync(c.photo).toString('base64');
  const v = await verdictAfter(async () => {
    const dt = await page.evaluateHandle((data) => {
      const bytes = Uint8Array.from(atob(data), (ch) => ch.charCodeAt(0));
      const transfer = new DataTransfer();
      transfer.items.add(new File([bytes], 'seal.png', { type: 'image/png' }));
      return transfer;
    }, b64);
    await page.dispatchEvent('#drop', 'drop', { dataTransfer: dt });
  });
  expectVerdict(v, 'valid', '有效', 'online');
});

await kase('scanner_tab_suffix', async () => {
  const v = await verdictAfter(async () => {
    await page.keyboard.type(c.revoked);
    await page.keyboard.press('Tab');
  });
  expectVerdict(v, 'revoked', '已撤销', 'online');
  expect(v.active === 'wedge', `focus moved to ${v.active}`);
});

/** The QR reader the page used last (body[data-decoder]); jsQR where Chromium has no BarcodeDetector (Linux). */
async function expectJsQR() {
  const { decoder, native } = await page.evaluate(() => ({
    decoder: document.body.dataset.decoder ?? null,
    native: 'BarcodeDetector' in self,
  }));
  expect(!native, 'this Chromium has a BarcodeDetector, so the jsQR path is not exercised');
  expect(decoder === 'jsqr', `the code was read by ${decoder}, not jsQR`);
}

await kase('camera_scan', async () => {
  const posts = imagePosts;
  const v = await verdictAfter(() => page.click('#camera'));
  expectVerdict(v, 'valid', '有效', 'online');
  await expectJsQR();
  expect(imagePosts === posts, `camera frames were sent to the server (${imagePosts - posts} photos)`);
  const stopped = await page.evaluate(() => document.querySelector('#camera-box').hidden);
  expect(stopped, 'the camera is still on after a code was read');
  await shot('11-camera-valid');
});

await kase('offline_data_cached', async () => {
  await page.waitForFunction(
    () => document.body.dataset.cachedTrust === '1' && Number(document.body.dataset.cachedLists) >= 1,
    null,
    { timeout: 10000 },
  );
  const controlled = await page.evaluate(() => navigator.serviceWorker.controller !== null);
  expect(controlled, 'the service worker does not control the page');
});

// ---- offline -------------------------------------------------------------------------------

console.log('STOP_SERVER');
const reply = await nextLine();
if (reply !== 'STOPPED') throw new Error(`expected STOPPED, got ${reply}`);

await kase('offline_reload', async () => {
  await page.reload();
  await ready();
  const net = await page.textContent('#net');
  expect(net === '离线', `the network indicator says ${net}`);
});

await kase('offline_valid', async () => {
  const v = await scan(c.valid);
  expectVerdict(v, 'valid', '有效', 'offline');
  expect(v.modeText.startsWith('离线核验；状态截至'), `mode line: ${v.modeText}`);
  expect(v.face.includes(c.holder), 'the licence face does not show the holder');
  await shot('12-valid-offline');
});

await kase('offline_revoked', async () => {
  const v = await scan(c.revoked);
  expectVerdict(v, 'revoked', '已撤销', 'offline');
  expect(v.reason === '原因: 证照已被发证机关撤销', `reason: ${v.reason}`);
  expect(v.modeText.startsWith('离线核验；状态截至'), `mode line: ${v.modeText}`);
  expect(v.face.includes(c.holder), 'the revoked licence\'s face is not shown');
  await shot('13-revoked-offline');
});

await kase('offline_tampered', async () => {
  const v = await scan(c.tampered);
  expectVerdict(v, 'not_genuine', '非真实证照', 'offline');
  expect(v.reason === '原因: 签名无效：证照被篡改或伪造', `reason: ${v.reason}`);
  await shot('14-not-genuine-offline');
});

await kase('offline_sd_jwt', async () => {
  const v = await verdictAfter(async () => {
    await page.fill('#paste', c.sd_jwt);
    await page.click('#paste-form button[type=submit]');
  });
  expectVerdict(v, 'needs_server', '需要联网核验', 'offline');
  await shot('15-sd-jwt-offline');
});

await kase('golden_table_offline', async () => {
  // The golden verdict table, checked by the page's own /offline.js (the server is down:
  // the module comes from the page, cached by the service worker).
  const table = JSON.parse(fs.readFileSync(c.table, 'utf8'));
  const results = await page.evaluate(
    `(async () => (${checkTable.toString()})(${JSON.stringify(table)}, await import('/offline.js')))()`,
  );
  for (const r of results) console.log(`VERDICT chromium ${r.name} ${r.verdict} ${r.code ?? '-'}`);
  const wrong = results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.problems.join('; ')}`);
  expect(results.length === table.cases.length, `${results.length} of ${table.cases.length} cases checked`);
  expect(wrong.length === 0, wrong.join(' | '));
});

await kase('offline_camera', async () => {
  // After the offline reload jsQR comes from the service worker's cache.
  await page.evaluate(() => delete document.body.dataset.decoder);
  const v = await verdictAfter(() => page.click('#camera'));
  expectVerdict(v, 'valid', '有效', 'offline');
  expect(v.modeText.startsWith('离线核验；状态截至'), `mode line: ${v.modeText}`);
  expect(v.face.includes(c.holder), 'the licence face does not show the holder');
  await expectJsQR();
  const stopped = await page.evaluate(() => document.querySelector('#camera-box').hidden);
  expect(stopped, 'the camera is still on after a code was read');
  await shot('16-camera-valid-offline');
});

await kase('offline_photo', async () => {
  // The server cannot read it: the photo is read in the page and the seal checked offline.
  await page.evaluate(() => delete document.body.dataset.decoder);
  const v = await verdictAfter(() => page.setInputFiles('#photo', c.photo));
  expectVerdict(v, 'valid', '有效', 'offline');
  expect(v.face.includes(c.holder), 'the licence face does not show the holder');
  await expectJsQR();
});

await kase('offline_stale_lists', async () => {
  // Two hours on: the cached status list (ttl one hour) is out of date.
  await page.clock.setFixedTime(Date.now() + 2 * 3600 * 1000);
  const v = await scan(c.valid);
  expectVerdict(v, 'status_unknown', '状态未知', 'offline');
  expect(v.reason.includes('out of date'), `reason: ${v.reason}`);
  expect(v.modeText.includes('已过期'), `mode line: ${v.modeText}`);
  await shot('17-status-unknown-stale-offline');
});

await kase('no_csp_violations', async () => {
  expect(cspViolations.length === 0, `CSP violations: ${cspViolations.join(' | ')}`);
});

await ctx.close();
input.close();
console.log(`browser: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
