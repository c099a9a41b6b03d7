// Unit tests of web/offline.js under `node --test` (Node >= 20: WebCrypto, DecompressionStream).
//
// The format tests need nothing. The verification tests read seals, the trust list, the
// licence types and status lists that tests/browser.rs got from the real server, from the
// JSON file named by ELICENSE_OFFLINE_FIXTURES; without it they are skipped.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import zlib from 'node:zlib';
import * as o from '../../web/offline.js';

const fixturesPath = process.env.ELICENSE_OFFLINE_FIXTURES;
const fx = fixturesPath ? JSON.parse(fs.readFileSync(fixturesPath, 'utf8')) : null;
const needsFixtures = { skip: fx ? false : 'ELICENSE_OFFLINE_FIXTURES not set (run by tests/browser.rs)' };

// ---- format -------------------------------------------------------------------------------

test('Base45 decodes the RFC 9285 examples and refuses bad input', () => {
  const text = (s) => Buffer.from(o.base45Decode(s)).toString();
  assert.equal(text('BB8'), 'AB');
  assert.equal(text('%69 VD92EX0'), 'Hello!!');
  assert.equal(text('UJCLQE7W581'), 'base-45');
  assert.equal(text('QED8WEX0'), 'ietf!');
  assert.throws(() => o.base45Decode('GGW'), /larger than two bytes/);
  assert.throws(() => o.base45Decode('ZZZZ'), /impossible length/);
  assert.throws(() => o.base45Decode('ab'), /not a Base45 character/);
});

test('inflate stops at its cap and refuses broken streams', async () => {
  const z = zlib.deflateSync(Buffer.from('hello'));
  assert.equal(Buffer.from(await o.inflateCapped(z, 100)).toString(), 'hello');
  await assert.rejects(o.inflateCapped(zlib.deflateSync(Buffer.alloc(100_000)), 8192), { code: 'too_large' });
  await assert.rejects(o.inflateCapped(z.subarray(0, z.length - 2), 100), { code: 'malformed' });
  const badSum = Buffer.from(z);
  badSum[badSum.length - 1] ^= 1;
  await assert.rejects(o.inflateCapped(badSum, 100), { code: 'malformed' });
});

test('CBOR decoding is strict', () => {
  const d = (bytes) => o.decodeCbor(Uint8Array.from(bytes));
  assert.deepEqual(d([0x83, 0x01, 0x20, 0x62, 0x68, 0x69]), [1, -1, 'hi']);
  assert.equal(d([0x3a, 0x00, 0x01, 0x00, 0x00]), -65537);
  const m = d([0xa2, 0x01, 0xf6, 0x19, 0xff, 0xff, 0x40]);
  assert.equal(m.get(1), null);
  assert.deepEqual(m.get(65535), new Uint8Array(0));
  const tagged = d([0xd2, 0x80]);
  assert.ok(tagged instanceof o.Tagged && tagged.tag === 18);
  for (const [bytes, why] of [
    [[0x18, 0x01], /shortest form/],
    [[0x19, 0x00, 0xff], /shortest form/],
    [[0xa2, 0x01, 0x01, 0x01, 0x02], /repeated/],
    [[0x9f, 0xff], /indefinite/],
    [[0x01, 0x00], /follow the CBOR item/],
    [[0x62, 0x68], /ends early/],
    [[0xf9, 0x3c, 0x00], /float/],
    [[0x62, 0xc3, 0x28], /UTF-8/],
    [[0xa1, 0x80, 0x01], /neither an integer nor text/],
    [Array(12).fill(0x81).concat([0x01]), /nested too deeply/],
    [[0x98, 0x41], /too long/],
  ]) {
    assert.throws(() => d(bytes), why, `bytes ${bytes}`);
  }
});

test('the Sig_structure is the COSE Signature1 array', () => {
  const s = o.sigStructure(Uint8Array.from([0xa1, 0x01, 0x26]), Uint8Array.from([0xa0]));
  const decoded = o.decodeCbor(s);
  assert.equal(decoded[0], 'Signature1');
  assert.deepEqual([...decoded[1]], [0xa1, 0x01, 0x26]);
  assert.equal(decoded[2].length, 0);
  assert.deepEqual([...decoded[3]], [0xa0]);
});

test('identifiers are checked with their MOD 37,36 character', () => {
  // An identifier the Rust issuer made (elicense issue, fixtures/requests/business_licence.json).
  const id = '1.2.156.3005.2.1001.11350100MB00000012.20240301000123.1.S';
  assert.deepEqual(o.parseIdentifier(id), {
    typeCode: '1001',
    issuer: '11350100MB00000012',
    serial: '20240301000123',
    version: 1,
  });
  assert.equal(o.parseIdentifier(id.replace(/S$/, 'T')), null);
  assert.equal(o.parseIdentifier(id.replace('.1.S', '.01.S')), null);
  assert.equal(o.parseIdentifier(id.replace(/^1/, '2')), null);
});

// ---- verification against the server's own output ------------------------------------------

const ctx = (over = {}) => ({
  trustList: fx.trust_list,
  types: fx.types,
  now: fx.now,
  statusList: async (uri) => fx.status_lists[uri] ?? null,
  ...over,
});

const listClaims = (token) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
const listOfA = () => Object.entries(fx.status_lists).find(([uri]) => uri.includes('/11350100MB00000012/'));

test('a valid seal is valid offline, with the face labelled and the status list time', needsFixtures, async () => {
  const r = await o.verifySeal(fx.seals.valid, ctx());
  assert.equal(r.verdict, 'valid', JSON.stringify(r.reason ?? r.status));
  assert.equal(r.offline, true);
  assert.equal(r.licence_id, fx.seals.valid_id);
  assert.equal(r.holder.name, fx.holder);
  assert.equal(r.type.code, '1001');
  assert.equal(r.fields[0].label_zh, '类型');
  assert.equal(r.status.source, 'status_list');
  assert.equal(r.status.as_of, o.formatTime(listClaims(listOfA()[1]).iat));
  assert.ok(o.parseIdentifier(r.licence_id), 'the identifier parses');
  for (const key of ['licence_id', 'type', 'issuer', 'issued_at', 'valid_from', 'holder', 'fields', 'status', 'checked_at']) {
    assert.ok(key in r, `the answer has ${key}, as the server's`);
  }
});

test('revoked, suspended and expired seals say so offline', needsFixtures, async () => {
  const revoked = await o.verifySeal(fx.seals.revoked, ctx());
  assert.equal(revoked.reason.code, 'revoked');
  assert.ok(revoked.status_as_of);
  assert.equal(revoked.licence.holder.name, fx.holder, 'the genuine licence is named');
  assert.equal((await o.verifySeal(fx.seals.suspended, ctx())).reason.code, 'suspended');
  const expired = await o.verifySeal(fx.seals.expired, ctx());
  assert.equal(expired.reason.code, 'expired');
  assert.equal(expired.licence.holder.name, fx.holder);
  assert.equal((await o.verifySeal(fx.seals.tampered, ctx())).licence, undefined);
});

test('a seal of the second agency is checked against its own list', needsFixtures, async () => {
  assert.equal((await o.verifySeal(fx.seals.other_agency, ctx())).verdict, 'valid');
});

test('a seal altered after signing is not genuine', needsFixtures, async () => {
  const r = await o.verifySeal(fx.seals.tampered, ctx());
  assert.equal(r.verdict, 'invalid');
  assert.equal(r.reason.code, 'bad_signature');
});

test('a seal from a foreign PKI is untrusted', needsFixtures, async () => {
  assert.equal((await o.verifySeal(fx.seals.foreign, ctx())).reason.code, 'untrusted_issuer');
});

test('a trust list giving another key for the kid makes the signature fail', needsFixtures, async () => {
  const trust = structuredClone(fx.trust_list);
  const [a, b] = trust.issuers;
  [a.jwk, b.jwk] = [b.jwk, a.jwk];
  assert.equal((await o.verifySeal(fx.seals.valid, ctx({ trustList: trust }))).reason.code, 'bad_signature');
});

test('a stale or expired status list gives status unknown, never valid', needsFixtures, async () => {
  const { iat, exp, ttl } = listClaims(listOfA()[1]);
  assert.ok(ttl > 0 && exp > iat + ttl);
  // Fresh up to iat + ttl, plus the clock skew the server's verifier also grants.
  const justFresh = await o.verifySeal(fx.seals.valid, ctx({ now: iat + ttl + o.SKEW }));
  assert.equal(justFresh.verdict, 'valid');
  for (const now of [iat + ttl + o.SKEW + 1, iat + ttl + o.SKEW + 60, exp + o.SKEW, exp + 86_400]) {
    const r = await o.verifySeal(fx.seals.valid, ctx({ now }));
    assert.equal(r.verdict, 'status_unknown', `at ${now}`);
    assert.equal(r.status.state, 'unknown');
    assert.match(r.status.reason, /out of date|expired/);
    assert.equal(r.stale_list_as_of, o.formatTime(iat));
    // A revoked licence is not reported revoked from a stale list either: unknown.
    const rev = await o.verifySeal(fx.seals.revoked, ctx({ now }));
    assert.equal(rev.verdict, 'status_unknown', `revoked at ${now}`);
  }
});

test('a missing, foreign or altered status list gives status unknown', needsFixtures, async () => {
  const none = await o.verifySeal(fx.seals.valid, ctx({ statusList: async () => null }));
  assert.equal(none.verdict, 'status_unknown');
  const otherAgencysList = Object.entries(fx.status_lists).find(([uri]) => !uri.includes('/11350100MB00000012/'))[1];
  const foreign = await o.verifySeal(fx.seals.valid, ctx({ statusList: async () => otherAgencysList }));
  assert.equal(foreign.verdict, 'status_unknown');
  assert.match(foreign.status.reason, /not signed by the licence's issuing agency/);
  const [h, p, s] = listOfA()[1].split('.');
  const claims = listClaims(listOfA()[1]);
  claims.ttl = 10 * 365 * 86_400;
  const altered = [h, Buffer.from(JSON.stringify(claims)).toString('base64url'), s].join('.');
  const r = await o.verifySeal(fx.seals.valid, ctx({ statusList: async () => altered }));
  assert.equal(r.verdict, 'status_unknown');
});

test('malformed and oversized seals are refused before any signature check', needsFixtures, async () => {
  const code = async (text) => (await o.verifySeal(text, ctx())).reason.code;
  assert.equal(await code('EL1:'), 'malformed');
  assert.equal(await code('EL1:!!!'), 'malformed');
  assert.equal(await code(fx.seals.valid.slice(0, -3)), 'malformed');
  assert.equal(await code(`EL1:${'0'.repeat(5000)}`), 'too_large');
  const bomb = zlib.deflateSync(Buffer.alloc(50_000));
  const b45 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:';
  let enc = '';
  for (let i = 0; i < bomb.length; i += 2) {
    let n = i + 1 < bomb.length ? bomb[i] * 256 + bomb[i + 1] : bomb[i];
    const digits = i + 1 < bomb.length ? 3 : 2;
    for (let k = 0; k < digits; k++) {
      enc += b45[n % 45];
      n = Math.floor(n / 45);
    }
  }
  assert.equal(await code(`EL1:${enc}`), 'too_large');
  await assert.rejects(o.decodeSeal(fx.seals.sd_jwt), { code: 'malformed' });
  assert.equal(o.isSeal(fx.seals.sd_jwt), false);
});
