// Service worker of the counter page: keeps the page, the trust list and the status lists
// so a counter can verify paper seals while the server cannot be reached.
//
// Page files and API GETs (trust list, status lists) are network-first: a fresh copy is
// fetched and stored whenever the server answers; the stored copy is used only when it
// does not (or not within a few seconds). POSTs (verification) are never touched. The
// shell includes the vendored QR decoder, so camera scans work offline too.

const SHELL_CACHE = 'elicense-shell-v1';
const DATA_CACHE = 'elicense-data-v1';
const SHELL = [
  '/',
  '/app.js',
  '/offline.js',
  '/i18n.js',
  '/vendor/jsQR.js',
  '/style.css',
  '/icon.svg',
  '/manifest.webmanifest',
  '/licence-types.json',
];
const NETWORK_TIMEOUT_MS = 4000;

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(SHELL_CACHE)
      .then((cache) => cache.addAll(SHELL.map((url) => new Request(url, { cache: 'no-cache' }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) =>
        Promise.all(
          names
            .filter((n) => n.startsWith('elicense-') && n !== SHELL_CACHE && n !== DATA_CACHE)
            .map((n) => caches.delete(n)),
        ),
      )
      .then(() => self.clients.claim()),
  );
});

function withTimeout(promise, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timeout')), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

async function networkFirst(request, cacheName, key) {
  try {
    const response = await withTimeout(fetch(request), NETWORK_TIMEOUT_MS);
    if (response.ok) {
      const cache = await caches.open(cacheName);
      await cache.put(key, response.clone());
    }
    return response;
  } catch (e) {
    const cached = await caches.match(key, { ignoreSearch: true });
    if (!cached) throw e;
    // Marked, so the page knows the server did not answer.
    const headers = new Headers(cached.headers);
    headers.set('x-elicense-offline', '1');
    return new Response(cached.body, { status: cached.status, statusText: cached.statusText, headers });
  }
}

self.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname === '/v1/trust-list' || url.pathname.startsWith('/v1/status-lists/')) {
    event.respondWith(networkFirst(request, DATA_CACHE, url.pathname));
  } else if (SHELL.includes(url.pathname)) {
    event.respondWith(networkFirst(request, SHELL_CACHE, url.pathname));
  }
});
