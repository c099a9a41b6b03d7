// Offline verification of elicense paper seals, in the browser or in Node (>= 20).
//
//   "EL1:" + Base45( zlib( COSE_Sign1 ) )      (the seal format, version 1)
//
// text ─► size cap ─► Base45 (RFC 9285) ─► zlib inflate (capped) ─► strict CBOR
//      ─► COSE_Sign1 (alg ES256, 8-byte kid) ─► CWT claims ─► issuer by kid (cached trust list)
//      ─► ECDSA P-256 / SHA-256 over Sig_structure (WebCrypto) ─► iss, identifier, iat within
//      the certificate ─► status from the cached, signed status list ─► validity window
//
// The answer has the shape of the server's POST /v1/verify answer: { verdict: "valid" |
// "status_unknown" | "invalid", reason: { code, message }, licence fields … } plus
// `offline: true`; a revoked, suspended, expired or not yet valid seal's answer also
// carries the signature-checked licence as `licence`, and `status_as_of` /
// `stale_list_as_of` give the time of the status list used or found out of date. A status list that is missing, not signed by the licence's agency, for
// another list, or out of date (now - SKEW ≥ exp, or now - SKEW > iat + ttl) gives "status_unknown",
// never "valid". Time is an argument (seconds since the epoch). Nothing here does I/O: the
// caller passes the trust list, the licence types and a function that finds a cached
// status-list token by its URI.

export const SEAL_PREFIX = 'EL1:';
/** Longest seal text looked at, characters. */
export const MAX_SEAL_CHARS = 4096;
/** Largest compressed seal, bytes. */
export const MAX_COMPRESSED = 3000;
/** Largest inflated COSE_Sign1, bytes. */
export const MAX_INFLATED = 8192;
/** Allowed clock skew for the licence's and the status list's times, seconds (as the server). */
export const SKEW = 300;
/** Longest status-list token looked at, characters. */
export const MAX_STATUS_TOKEN = 4 * 1024 * 1024;
/** Most entries in a status list. */
export const MAX_STATUS_ENTRIES = 1 << 24;
/** Deepest CBOR nesting accepted. */
export const MAX_CBOR_DEPTH = 8;
/** Most items in one CBOR array or map. */
export const MAX_CBOR_ITEMS = 64;

const ROOT_ARC = '1.2.156.3005.2';
const STATUS_LIST_TYP = 'statuslist+jwt';

// CWT claim keys (RFC 8392) and this format's private-use key.
const ISS = 1;
const EXP = 4;
const NBF = 5;
const IAT = 6;
const STATUS = 65535;
const LICENCE = -65537;
const CLAIM_KEYS = new Set([ISS, EXP, NBF, IAT, STATUS, LICENCE]);

/** Why a seal is not accepted: `code` is the server's verdict code. */
export class SealError extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'SealError';
    this.code = code;
  }
}

const malformed = (message) => new SealError('malformed', message);

// ---- Base45 (RFC 9285) ------------------------------------------------------------------

const B45 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:';
const B45_VALUE = new Map([...B45].map((c, i) => [c, i]));

/** Decodes RFC 9285 Base45; throws SealError on a bad character, length or group value. */
export function base45Decode(text) {
  if (text.length % 3 === 1) throw malformed('the Base45 text has an impossible length');
  const out = new Uint8Array(Math.floor(text.length / 3) * 2 + (text.length % 3 === 2 ? 1 : 0));
  let o = 0;
  const value = (c) => {
    const v = B45_VALUE.get(c);
    if (v === undefined) throw malformed(`${JSON.stringify(c)} is not a Base45 character`);
    return v;
  };
  for (let i = 0; i < text.length; i += 3) {
    if (i + 2 < text.length) {
      const n = value(text[i]) + value(text[i + 1]) * 45 + value(text[i + 2]) * 2025;
      if (n > 0xffff) throw malformed('a Base45 group is larger than two bytes');
      out[o++] = n >> 8;
      out[o++] = n & 0xff;
    } else {
      const n = value(text[i]) + value(text[i + 1]) * 45;
      if (n > 0xff) throw malformed('the last Base45 group is larger than one byte');
      out[o++] = n;
    }
  }
  return out;
}

// ---- zlib (RFC 1950) ----------------------------------------------------------------------

/**
 * Inflates a complete zlib stream into at most `cap` bytes; stops reading at cap + 1.
 * A bad, truncated or over-long stream, or bytes after its end, throw SealError.
 */
export async function inflateCapped(bytes, cap, what = 'the seal') {
  const ds = new DecompressionStream('deflate');
  const writer = ds.writable.getWriter();
  const reader = ds.readable.getReader();
  // Errors surface on the reading side; the writing side's promise is only kept quiet.
  writer.write(bytes).then(() => writer.close()).catch(() => {});
  const chunks = [];
  let total = 0;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > cap) {
        reader.cancel().catch(() => {});
        throw new SealError('too_large', `${what} inflates to more than ${cap} bytes`);
      }
      chunks.push(value);
    }
  } catch (e) {
    if (e instanceof SealError) throw e;
    throw malformed(`${what} is not a complete zlib stream`);
  }
  const out = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

// ---- CBOR (RFC 8949), the subset seals use -------------------------------------------------

/** A CBOR tag and its content. */
export class Tagged {
  constructor(tag, value) {
    this.tag = tag;
    this.value = value;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes one CBOR item that fills `bytes` exactly. Strict: definite lengths only,
 * shortest-form arguments, no floats or undefined, map keys integers or text and never
 * repeated, at most MAX_CBOR_DEPTH deep and MAX_CBOR_ITEMS per array or map, integers
 * within ±2^53. Maps become `Map`s, byte strings `Uint8Array`s.
 */
export function decodeCbor(bytes) {
  const r = { b: bytes, p: 0 };
  const v = item(r, 0);
  if (r.p !== bytes.length) throw malformed(`${bytes.length - r.p} byte(s) follow the CBOR item`);
  return v;
}

function need(r, n) {
  if (n > r.b.length - r.p) throw malformed('the CBOR data ends early');
}

function argument(r, info) {
  if (info < 24) return info;
  const size = { 24: 1, 25: 2, 26: 4, 27: 8 }[info];
  if (size === undefined) {
    throw malformed(info === 31 ? 'indefinite-length CBOR is not accepted' : 'reserved CBOR encoding');
  }
  need(r, size);
  let n = 0;
  for (let i = 0; i < size; i++) n = n * 256 + r.b[r.p + i];
  r.p += size;
  const min = { 1: 24, 2: 0x100, 4: 0x10000, 8: 0x100000000 }[size];
  if (n < min) throw malformed('a CBOR argument is not in its shortest form');
  if (!Number.isSafeInteger(n)) throw malformed('a CBOR integer is too large');
  return n;
}

function item(r, depth) {
  if (depth > MAX_CBOR_DEPTH) throw malformed('the CBOR data is nested too deeply');
  need(r, 1);
  const initial = r.b[r.p++];
  const major = initial >> 5;
  const info = initial & 31;
  if (major === 7) {
    if (info === 20) return false;
    if (info === 21) return true;
    if (info === 22) return null;
    throw malformed('a CBOR float or simple value that seals do not use');
  }
  const n = argument(r, info);
  switch (major) {
    case 0:
      return n;
    case 1:
      return -1 - n;
    case 2:
    case 3: {
      need(r, n);
      const s = r.b.subarray(r.p, r.p + n);
      r.p += n;
      if (major === 2) return s;
      try {
        return utf8.decode(s);
      } catch {
        throw malformed('a CBOR text string is not UTF-8');
      }
    }
    case 4: {
      if (n > MAX_CBOR_ITEMS) throw malformed('a CBOR array is too long');
      const a = [];
      for (let i = 0; i < n; i++) a.push(item(r, depth + 1));
      return a;
    }
    case 5: {
      if (n > MAX_CBOR_ITEMS) throw malformed('a CBOR map is too long');
      const m = new Map();
      for (let i = 0; i < n; i++) {
        const k = item(r, depth + 1);
        if (typeof k !== 'number' && typeof k !== 'string') {
          throw malformed('a CBOR map key is neither an integer nor text');
        }
        if (m.has(k)) throw malformed(`the CBOR map key ${JSON.stringify(k)} is repeated`);
        m.set(k, item(r, depth + 1));
      }
      return m;
    }
    default: // 6: tag
      return new Tagged(n, item(r, depth + 1));
  }
}

function bstrHeader(major, n) {
  const m = major << 5;
  if (n < 24) return [m | n];
  if (n < 0x100) return [m | 24, n];
  if (n < 0x10000) return [m | 25, n >> 8, n & 0xff];
  return [m | 26, (n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
}

/** The COSE Sig_structure ["Signature1", protected, h'', payload], CBOR-encoded. */
export function sigStructure(protectedBytes, payloadBytes) {
  const context = new TextEncoder().encode('Signature1');
  const parts = [
    [0x84],
    bstrHeader(3, context.length),
    context,
    bstrHeader(2, protectedBytes.length),
    protectedBytes,
    [0x40],
    bstrHeader(2, payloadBytes.length),
    payloadBytes,
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

// ---- the seal -------------------------------------------------------------------------------

/** Whether `text` is a seal (by its prefix; nothing is decoded). */
export function isSeal(text) {
  return typeof text === 'string' && text.startsWith(SEAL_PREFIX);
}

const isText = (v) => typeof v === 'string';
const isUint = (v) => Number.isSafeInteger(v) && v >= 0;

/**
 * Decodes a seal without verifying it: the COSE parts, the kid and the claims.
 * Throws SealError ('malformed', 'too_large', 'unsupported_algorithm').
 */
export async function decodeSeal(text) {
  if (!isSeal(text)) throw malformed(`a seal starts with ${SEAL_PREFIX}`);
  if (text.length > MAX_SEAL_CHARS) {
    throw new SealError('too_large', `the seal is ${text.length} characters, more than ${MAX_SEAL_CHARS}`);
  }
  const compressed = base45Decode(text.slice(SEAL_PREFIX.length));
  if (compressed.length > MAX_COMPRESSED) {
    throw new SealError('too_large', `the seal is ${compressed.length} bytes compressed, more than ${MAX_COMPRESSED}`);
  }
  let cose = decodeCbor(await inflateCapped(compressed, MAX_INFLATED));
  if (cose instanceof Tagged) {
    if (cose.tag !== 18) throw malformed(`CBOR tag ${cose.tag} is not COSE_Sign1 (18)`);
    cose = cose.value;
  }
  if (!Array.isArray(cose) || cose.length !== 4) throw malformed('not a COSE_Sign1 array of 4');
  const [protectedBytes, unprotected, payloadBytes, signature] = cose;
  if (!(protectedBytes instanceof Uint8Array) || !(payloadBytes instanceof Uint8Array)) {
    throw malformed('the protected header and payload must be byte strings');
  }
  if (!(unprotected instanceof Map) || unprotected.size !== 0) {
    throw malformed('the unprotected header must be an empty map');
  }
  if (!(signature instanceof Uint8Array) || signature.length !== 64) {
    throw malformed('the signature must be 64 bytes (r‖s)');
  }
  const header = decodeCbor(protectedBytes);
  if (!(header instanceof Map)) throw malformed('the protected header is not a map');
  for (const k of header.keys()) {
    if (k === 2) throw malformed('the protected header carries crit, which is never accepted');
    if (k !== 1 && k !== 4) throw malformed(`unknown protected header parameter ${k}`);
  }
  const alg = header.get(1);
  if (alg !== -7) {
    throw new SealError('unsupported_algorithm', `unsupported algorithm ${alg}: seals are signed with ES256 (-7) only`);
  }
  const kid = header.get(4);
  if (!(kid instanceof Uint8Array) || kid.length !== 8) throw malformed('the kid must be 8 bytes');

  const claims = decodeCbor(payloadBytes);
  if (!(claims instanceof Map)) throw malformed('the payload is not a CWT claims map');
  for (const k of claims.keys()) {
    if (!CLAIM_KEYS.has(k)) throw malformed(`unknown claim ${JSON.stringify(k)}`);
  }
  const iss = claims.get(ISS);
  const iat = claims.get(IAT);
  const nbf = claims.get(NBF);
  const exp = claims.get(EXP);
  if (!isText(iss)) throw malformed('claim iss (1) is missing or not text');
  if (!isUint(iat)) throw malformed('claim iat (6) is missing or not a number');
  if (!isUint(nbf)) throw malformed('claim nbf (5) is missing or not a number');
  if (exp !== undefined && !isUint(exp)) throw malformed('claim exp (4) is not a number');
  let status = null;
  if (claims.has(STATUS)) {
    const s = claims.get(STATUS);
    const list = s instanceof Map && s.size === 1 ? s.get('status_list') : undefined;
    if (!(list instanceof Map) || list.size !== 2 || !isUint(list.get('idx')) || !isText(list.get('uri'))) {
      throw malformed('claim status (65535) is not {"status_list": {"idx", "uri"}}');
    }
    status = { idx: list.get('idx'), uri: list.get('uri') };
  }
  const licence = claims.get(LICENCE);
  if (
    !Array.isArray(licence) ||
    licence.length !== 4 ||
    !isText(licence[0]) ||
    !isText(licence[1]) ||
    !isText(licence[2]) ||
    !Array.isArray(licence[3]) ||
    !licence[3].every((f) => f === null || isText(f))
  ) {
    throw malformed('claim licence (-65537) is not [identifier, holder name, holder id, fields]');
  }
  return {
    protectedBytes,
    payloadBytes,
    signature,
    kid: b64uEncode(kid),
    iss,
    iat,
    nbf,
    exp: exp ?? null,
    status,
    licence: { id: licence[0], holderName: licence[1], holderId: licence[2], fields: licence[3] },
  };
}

// ---- helpers --------------------------------------------------------------------------------

/** base64url without padding. */
export function b64uEncode(bytes) {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Strict base64url (no padding) to bytes; null if not base64url. */
export function b64uDecode(text) {
  if (typeof text !== 'string' || !/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return null;
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4);
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Seconds since the epoch as RFC 3339 in China time, as the server writes times. */
export function formatTime(secs) {
  return new Date((secs + 8 * 3600) * 1000).toISOString().replace(/\.\d{3}Z$/, '+08:00');
}

async function importKey(jwk) {
  return crypto.subtle.importKey(
    'jwk',
    { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y, ext: true },
    { name: 'ECDSA', namedCurve: 'P-256' },
    false,
    ['verify'],
  );
}

async function es256Verify(jwk, signature, data) {
  try {
    const key = await importKey(jwk);
    return await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, signature, data);
  } catch {
    return false;
  }
}

const BASE36 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** The GB/T 36904 identifier's parts, with its MOD 37,36 check character verified. */
export function parseIdentifier(id) {
  if (id.length > 160 || !id.startsWith(`${ROOT_ARC}.`)) return null;
  const parts = id.slice(ROOT_ARC.length + 1).split('.');
  if (parts.length !== 5) return null;
  const [typeCode, issuer, serial, version, check] = parts;
  const component = /^[0-9A-Z]{1,32}$/;
  if (!component.test(typeCode) || !component.test(serial) || !/^[0-9A-Z]{18}$/.test(issuer)) return null;
  if (!/^[1-9][0-9]{0,3}$/.test(version) || check.length !== 1) return null;
  let p = 36;
  for (const c of typeCode + issuer + serial + version) {
    const s = (p + BASE36.indexOf(c)) % 36 || 36;
    p = (2 * s) % 37;
  }
  if (BASE36[(37 - p) % 36] !== check) return null;
  return { typeCode, issuer, serial, version: Number(version) };
}

// ---- status lists (draft-ietf-oauth-status-list, JWT form) ----------------------------------

/**
 * The status of entry `idx` from a `statuslist+jwt` token, if the token is usable for
 * `uri` at `now`: signed (ES256) by one of `keys` (trust-list issuers of the licence's own
 * agency), `sub` equal to `uri`, and fresh (now - SKEW < exp, now - SKEW <= iat + ttl, as
 * the server's verifier).
 * Returns { status: 0..255, iat } or { unknown: "why" }.
 */
export async function statusFromList(token, uri, idx, keys, now) {
  if (typeof token !== 'string' || token.length > MAX_STATUS_TOKEN) {
    return { unknown: 'the cached status list is missing or too large' };
  }
  const parts = token.trim().split('.');
  if (parts.length !== 3) return { unknown: 'the cached status list is not a JWT' };
  let header;
  let payload;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(b64uDecode(parts[0])));
    payload = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(b64uDecode(parts[1])));
  } catch {
    return { unknown: 'the cached status list cannot be read' };
  }
  if (header?.alg !== 'ES256' || header?.typ !== STATUS_LIST_TYP) {
    return { unknown: 'the cached status list is not an ES256 statuslist+jwt' };
  }
  const signature = b64uDecode(parts[2]);
  const input = new TextEncoder().encode(`${parts[0]}.${parts[1]}`);
  // Try the key the header names first, then the agency's other keys (rollover).
  const ordered = [...keys].sort((a, b) => (b.kid === header.kid) - (a.kid === header.kid));
  let signer = null;
  if (signature && signature.length === 64) {
    for (const k of ordered) {
      if (await es256Verify(k.jwk, signature, input)) {
        signer = k;
        break;
      }
    }
  }
  if (!signer) return { unknown: 'the cached status list is not signed by the licence\'s issuing agency' };
  if (payload?.sub !== uri) return { unknown: `the cached status list is for ${payload?.sub}, not ${uri}` };
  const { iat, exp, ttl } = payload;
  if (!isUint(iat)) return { unknown: 'the cached status list has no iat' };
  if (iat < signer.not_before_unix || iat > signer.not_after_unix) {
    return { unknown: 'the cached status list was signed outside its certificate\'s validity' };
  }
  if (iat > now + SKEW) return { unknown: 'the cached status list is dated in the future' };
  // The same clock skew as the server's verifier grants: a list is fresh while
  // now - SKEW < exp and now - SKEW <= iat + ttl.
  if (exp !== undefined && !(isUint(exp) && now - SKEW < exp)) {
    return { unknown: `the cached status list expired at ${formatTime(exp)}`, iat };
  }
  if (ttl !== undefined && !(isUint(ttl) && now - SKEW <= iat + ttl)) {
    return { unknown: `the cached status list from ${formatTime(iat)} is out of date (ttl ${ttl} s)`, iat };
  }
  const bits = payload.status_list?.bits;
  if (![1, 2, 4, 8].includes(bits)) return { unknown: 'the cached status list has bad bits' };
  const compressed = b64uDecode(payload.status_list?.lst);
  if (!compressed) return { unknown: 'the cached status list has a bad lst' };
  let bytes;
  try {
    bytes = await inflateCapped(compressed, (MAX_STATUS_ENTRIES * bits) / 8, 'the status list');
  } catch (e) {
    return { unknown: `the cached status list cannot be decoded: ${e.message}` };
  }
  const perByte = 8 / bits;
  const at = Math.floor(idx / perByte);
  if (at >= bytes.length) return { unknown: `index ${idx} is beyond the status list` };
  const status = (bytes[at] >> ((idx % perByte) * bits)) & ((1 << bits) - 1);
  return { status, iat };
}

// ---- verification ---------------------------------------------------------------------------

/**
 * Verifies a seal offline.
 *
 * ctx.trustList   the server's GET /v1/trust-list answer (issuers with kid, iss, code, jwk,
 *                 not_before_unix, not_after_unix), cached from this origin
 * ctx.types       GET /licence-types.json (type code → names and face-field labels)
 * ctx.statusList  async (uri) => the cached statuslist+jwt text for uri, or null
 * ctx.now         seconds since the epoch
 *
 * Returns the server's verdict shape with `offline: true`.
 */
export async function verifySeal(text, ctx) {
  const now = Math.floor(ctx.now);
  const fail = (code, message, extra = {}) => ({
    verdict: 'invalid',
    reason: { code, message },
    checked_at: formatTime(now),
    offline: true,
    ...extra,
  });
  let seal;
  try {
    seal = await decodeSeal(text);
  } catch (e) {
    if (e instanceof SealError) return fail(e.code, e.message);
    throw e;
  }
  const issuers = ctx.trustList?.issuers ?? [];
  const issuer = issuers.find((i) => i.kid === seal.kid);
  if (!issuer) {
    return fail('untrusted_issuer', `no issuer in the cached trust list has kid ${seal.kid}`);
  }
  const ok = await es256Verify(issuer.jwk, seal.signature, sigStructure(seal.protectedBytes, seal.payloadBytes));
  if (!ok) {
    return fail('bad_signature', 'bad signature: the seal was altered or not signed by the certificate it names');
  }
  if (seal.iss !== issuer.iss) {
    return fail('issuer_mismatch', `iss ${JSON.stringify(seal.iss)} is not the certificate's issuer ${JSON.stringify(issuer.iss)}`);
  }
  if (seal.iat < issuer.not_before_unix || seal.iat > issuer.not_after_unix) {
    return fail('certificate_not_valid_at_signing', `signed at ${formatTime(seal.iat)}, outside the certificate's validity`);
  }
  const id = parseIdentifier(seal.licence.id);
  if (!id) return fail('malformed', `the licence identifier ${JSON.stringify(seal.licence.id)} is invalid`);
  if (id.issuer !== issuer.code) {
    return fail('issuer_mismatch', `the identifier names agency ${id.issuer} but the certificate is ${issuer.code}'s`);
  }
  const type = (ctx.types?.types ?? []).find((t) => t.code === id.typeCode);
  if (!type) return fail('unknown_type', `unknown licence type code ${id.typeCode}`);
  if (seal.licence.fields.length !== type.fields.length) {
    return fail('malformed', `a ${type.slug} has ${type.fields.length} fields, the seal ${seal.licence.fields.length}`);
  }

  const fields = [];
  type.fields.forEach((f, i) => {
    const value = seal.licence.fields[i];
    if (value !== null) fields.push({ key: f.key, label_zh: f.label_zh, label_en: f.label_en, value });
  });
  // The licence as the server shows it; a genuine but revoked, suspended or expired
  // licence's answer carries it too (as `licence`), so the counter sees whose it is.
  const view = {
    licence_id: seal.licence.id,
    type: { code: type.code, slug: type.slug, name_zh: type.name_zh, name_en: type.name_en },
    issuer: { name: issuer.name, code: issuer.code, iss: issuer.iss, kid: issuer.kid },
    issued_at: formatTime(seal.iat),
    valid_from: formatTime(seal.nbf),
    valid_until: seal.exp === null ? null : formatTime(seal.exp),
    holder: { name: seal.licence.holderName, id: seal.licence.holderId },
    fields,
    key_bound: false,
    holder_bound: false,
  };

  // Revoked or suspended? (Before the validity window, as the server: revoked wins.)
  let status;
  let staleAsOf = {};
  if (!seal.status) {
    status = { state: 'unknown', reason: 'the licence carries no status-list reference' };
  } else {
    const keys = issuers.filter((i) => i.code === issuer.code);
    const token = await ctx.statusList(seal.status.uri);
    const found = token
      ? await statusFromList(token, seal.status.uri, seal.status.idx, keys, now)
      : { unknown: `no status list for ${seal.status.uri} is cached` };
    if (found.unknown) {
      status = { state: 'unknown', reason: found.unknown };
      if (found.iat !== undefined) staleAsOf = { stale_list_as_of: formatTime(found.iat) };
    } else if (found.status === 0) {
      status = { state: 'valid', source: 'status_list', as_of: formatTime(found.iat) };
    } else if (found.status === 1) {
      return fail('revoked', `revoked (status list of ${formatTime(found.iat)})`, {
        status_as_of: formatTime(found.iat),
        licence: view,
      });
    } else if (found.status === 2) {
      return fail('suspended', `suspended (status list of ${formatTime(found.iat)})`, {
        status_as_of: formatTime(found.iat),
        licence: view,
      });
    } else {
      status = { state: 'unknown', reason: `the status list gives the application-specific status ${found.status}` };
    }
  }

  if (seal.iat > now + SKEW || seal.nbf > now + SKEW) {
    return fail('not_yet_valid', `not yet valid: valid from ${formatTime(Math.max(seal.iat, seal.nbf))}`, {
      licence: view,
    });
  }
  if (seal.exp !== null && seal.exp <= now - SKEW) {
    return fail('expired', `expired on ${formatTime(seal.exp)}`, { licence: view });
  }
  const unknown = status.state === 'valid' ? {} : { reason: { code: 'status_unavailable', message: status.reason } };
  return {
    verdict: status.state === 'valid' ? 'valid' : 'status_unknown',
    ...view,
    ...unknown,
    status,
    status_reference: seal.status,
    checked_at: formatTime(now),
    offline: true,
    ...staleAsOf,
  };
}
