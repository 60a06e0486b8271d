//! `cargo bench --bench get_campaign`: 20 campaigns with forensics against a local stub that
//! answers every request after 100 ms, through the release binary.
//!
//! 40 requests at `max_concurrency` 4 cannot take less than ceil(40 / 4) × 100 ms = 1 s; the
//! target is a wall time within 1.25× of that bound. Figures are medians of 5 runs with min and max.

#[path = "../tests/it/common/stub.rs"]
mod stub;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

const CAMPAIGNS: usize = 20;
const DELAY: Duration = Duration::from_millis(100);
const ROUNDS: usize = 5;

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let campaign = include_str!("../tests/fixtures/campaign.json");
    let forensics = include_str!("../tests/fixtures/forensics_campaign.json");
    let stub = runtime.block_on(stub::Stub::start(move |target| {
        let body = if target.starts_with("/v2/forensics") {
            forensics
        } else {
            campaign
        };
        stub::Reply::json(200, body).after(DELAY)
    }));
    let ids: Vec<String> = (0..CAMPAIGNS)
        .map(|i| format!("00000000-0000-4000-8000-{i:012}"))
        .collect();
    println!(
        "Get Campaign: {CAMPAIGNS} campaigns with forensics, stub delay {} ms, {ROUNDS} runs each",
        DELAY.as_millis()
    );
    println!();
    println!("| max_concurrency | requests | lower bound (ms) | median (ms) | min | max | median / bound | target |");
    println!("|---|---|---|---|---|---|---|---|");
    for concurrency in [4usize, 8] {
        let request = json!({
            "action": "get_campaign",
            "parameters": {"campaign_id": ids, "fetch_forensics_info": true},
            "configuration": {"api_root": stub.uri, "username": "bench", "password": "bench",
                              "max_concurrency": concurrency}
        })
        .to_string();
        let requests = CAMPAIGNS * 2;
        let bound = requests.div_ceil(concurrency) as f64 * DELAY.as_secs_f64() * 1000.0;
        let mut times: Vec<f64> = (0..ROUNDS)
            .map(|_| {
                let start = Instant::now();
                let mut child = Command::new(env!("CARGO_BIN_EXE_proofpoint-tap"))
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("binary starts");
                child
                    .stdin
                    .take()
                    .unwrap()
                    .write_all(request.as_bytes())
                    .unwrap();
                let out = child.wait_with_output().unwrap();
                let elapsed = start.elapsed().as_secs_f64() * 1000.0;
                let envelope: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
                assert_eq!(envelope["execution_state"], "completed", "{envelope}");
                assert_eq!(envelope["json_result"].as_array().unwrap().len(), CAMPAIGNS);
                elapsed
            })
            .collect();
        times.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let median = times[ROUNDS / 2];
        let ratio = median / bound;
        let target = if concurrency == 4 {
            if ratio <= 1.25 {
                "<= 1.25 (met)"
            } else {
                "<= 1.25 (MISSED)"
            }
        } else {
            "—"
        };
        println!(
            "| {concurrency} | {requests} | {bound:.0} | {median:.0} | {:.0} | {:.0} | {ratio:.2} | {target} |",
            times[0],
            times[ROUNDS - 1]
        );
    }
}
