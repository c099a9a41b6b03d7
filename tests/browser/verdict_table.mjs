// The golden verdict table (fixtures/verdicts/table.json, made by tests/verdict_table.rs
// with the Rust verifier) checked with web/offline.js.
//
// `checkTable(table, offline)` is self-contained (it uses nothing from this module's
// scope), so tests/browser/run.mjs can send its source into the page and run it against
// the page's own /offline.js in Chromium, as verdicts.test.mjs runs it under Node.
//
// Each seal case is verified offline with the table's trust list, licence types, the
// case's cached status lists and time; the answer must have the Rust verdict's `verdict`
// and reason code, and for a valid or status-unknown licence the same identifier, validity
// and status (state, source, time). SD-JWT cases are for the server: offline.js must not
// take them for seals (the page says they need the server).
// Returns one { name, ok, verdict, code, problems } per case.

export async function checkTable(table, offline) {
  const results = [];
  for (const c of table.cases) {
    const want = c.expected;
    const problems = [];
    const same = (what, got, expected) => {
      if (JSON.stringify(got ?? null) !== JSON.stringify(expected ?? null)) {
        problems.push(`${what}: offline.js ${JSON.stringify(got ?? null)}, Rust ${JSON.stringify(expected ?? null)}`);
      }
    };
    if (c.format !== 'seal') {
      if (offline.isSeal(c.input)) problems.push('offline.js takes an SD-JWT for a seal');
      results.push({ name: c.name, ok: problems.length === 0, verdict: 'needs_server', code: null, problems });
      continue;
    }
    let got;
    try {
      got = await offline.verifySeal(c.input, {
        trustList: table.trust_list,
        types: table.types,
        now: c.now,
        statusList: async (uri) => c.status_lists[uri] ?? null,
      });
    } catch (e) {
      problems.push(`offline.js threw: ${e?.message ?? e}`);
      results.push({ name: c.name, ok: false, verdict: null, code: null, problems });
      continue;
    }
    same('verdict', got.verdict, want.verdict);
    same('reason.code', got.reason?.code, want.reason?.code);
    if (want.verdict !== 'invalid') {
      for (const key of ['licence_id', 'issued_at', 'valid_from', 'valid_until']) same(key, got[key], want[key]);
      same('holder.name', got.holder?.name, want.holder?.name);
      same('holder.id', got.holder?.id, want.holder?.id);
      same('type.code', got.type?.code, want.type?.code);
      same('issuer.kid', got.issuer?.kid, want.issuer?.kid);
      same('status.state', got.status?.state, want.status?.state);
      same('status.source', got.status?.source, want.status?.source);
      same('status.as_of', got.status?.as_of, want.status?.as_of);
      same('status_reference', got.status_reference, want.status_reference?.status_list);
    }
    if (got.offline !== true) problems.push('the answer is not marked offline');
    results.push({ name: c.name, ok: problems.length === 0, verdict: got.verdict, code: got.reason?.code ?? null, problems });
  }
  return results;
}
