//! Lost answers and crashes during issuance: the real service is SIGKILLed while a batch is
//! being issued, restarted, and the agency sends the same batch again. Each licence is
//! recorded exactly once, those recorded before the crash come back as they were, and the
//! ledger verifies.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::binary::*;
use serde_json::Value;
use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const ROUNDS: usize = 6;
const BATCH: usize = 40;

fn batch(round: usize) -> String {
    let requests: Vec<Value> = (0..BATCH)
        .map(|i| serde_json::from_str(&business_request(&format!("K{round}N{i}"))).unwrap())
        .collect();
    serde_json::json!({ "requests": requests }).to_string()
}

fn start(dir: &Path) -> Running {
    serve(
        dir,
        &[
            "--bind",
            "127.0.0.1:0",
            "--log-format",
            "off",
            "--max-batch",
            "100",
        ],
    )
}

fn kill9(r: Running) {
    let mut child = r.child;
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn a_batch_cut_short_by_a_crash_is_completed_by_sending_it_again() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = start(dir.path());
    let agency = r
        .stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("agency "))
        .and_then(|l| l.split(':').next())
        .unwrap()
        .to_owned();
    let token = token(dir.path(), "keys", &agency);
    let mut seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64
        | 1;
    let mut all_ids = HashSet::new();
    let mut replayed_total = 0;
    let mut cut_short = 0;
    for round in 0..ROUNDS {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        // Spread over the batch's run, with jitter.
        let delay = Duration::from_millis(15 + 45 * round as u64 + seed % 30);
        let body = batch(round);
        let url = r.url.clone();
        let (t, b) = (token.clone(), body.clone());
        let sender = std::thread::spawn(move || {
            agent()
                .post(&format!("{url}/v1/licences/batch"))
                .header("authorization", &format!("Bearer {t}"))
                .header("content-type", "application/json")
                .send(&b)
                .map(|res| res.status().as_u16())
        });
        std::thread::sleep(delay);
        kill9(r);
        let first = sender.join().unwrap();
        if !matches!(first, Ok(201)) {
            cut_short += 1;
        }
        r = start(dir.path());
        let (code, answer) = post_agency(&r, "/v1/licences/batch", &token, &body);
        assert_eq!(code, 201, "round {round}: {answer}");
        let results = answer["results"].as_array().unwrap();
        assert_eq!(results.len(), BATCH);
        let mut ids = HashSet::new();
        for res in results {
            assert!(res.get("error").is_none(), "round {round}: {res}");
            let id = res["licence_id"].as_str().unwrap().to_owned();
            replayed_total += usize::from(res["replayed"] == true);
            assert!(ids.insert(id.clone()), "round {round}: {id} twice");
            let (code, status) = get(&r, &format!("/v1/licences/{id}/status"));
            assert_eq!(
                (code, &status["state"]),
                (200, &Value::from("valid")),
                "{status}"
            );
        }
        all_ids.extend(ids);
        // What the first attempt acknowledged in full is all replayed now.
        if matches!(first, Ok(201)) {
            assert!(
                results.iter().all(|x| x["replayed"] == true),
                "round {round}"
            );
        }
    }
    let (_, ready) = get(&r, "/readyz");
    // Exactly one issuance event per licence: nothing issued twice, nothing lost.
    assert_eq!(
        ready["ledger_size"].as_u64().unwrap(),
        (ROUNDS * BATCH) as u64
    );
    assert_eq!(all_ids.len(), ROUNDS * BATCH);
    let (code, _, _) = stop(r);
    assert_eq!(code, 0);
    let out = elicense(dir.path())
        .args(["ledger", "verify"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    println!(
        "{ROUNDS} batches of {BATCH} cut short by SIGKILL ({cut_short} before their answer), \
         resent: {replayed_total} licences came back as recorded, {} issued in the retry, each once",
        ROUNDS * BATCH - replayed_total
    );
    assert!(
        replayed_total > 0 && cut_short > 0,
        "the kills never landed inside a batch: the test did not exercise a partial batch"
    );
}
