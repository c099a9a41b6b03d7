// The golden verdict table (fixtures/verdicts/table.json) under `node --test`: web/offline.js
// gives every seal case the verdict and reason code the Rust verifier gives
// (tests/verdict_table.rs). Needs nothing but Node >= 20; run by tests/browser.rs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import * as o from '../../web/offline.js';
import { checkTable } from './verdict_table.mjs';

const table = JSON.parse(fs.readFileSync(new URL('../../fixtures/verdicts/table.json', import.meta.url), 'utf8'));

test('the golden table covers the cases both verifiers must agree on', () => {
  const names = new Set(table.cases.map((c) => c.name));
  for (const n of ['valid', 'revoked', 'suspended', 'expired', 'forged', 'tampered', 'stale_list']) {
    assert.ok(names.has(n), `no case ${n}`);
  }
});

for (const c of table.cases) {
  test(`golden verdict ${c.name}: ${c.what}`, async () => {
    const [r] = await checkTable({ ...table, cases: [c] }, o);
    assert.ok(r.ok, r.problems.join('; '));
    console.log(`VERDICT node ${r.name} ${r.verdict} ${r.code ?? '-'}`);
  });
}
