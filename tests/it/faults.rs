//! Fault injection: one healthy campaign and one whose requests misbehave, through the real binary
//! with trace logging on. For each fault: the envelope (snapshot), how many requests the stub saw,
//! how long it took, that every input item is in the results or in `errors`, and that neither the
//! secret nor the Authorization header reached stdout or stderr.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::common::stub::{Fault, Reply, Stub};
use crate::common::*;
use serde_json::{json, Value};

const HEALTHY: &str = "aa9b3d62-4d72-4ebc-8f39-3da3833e7038";
const FAULTY: &str = "f3ff0874-85ef-475e-b3fe-d05f97b2ed3f";
const MIB: usize = 1024 * 1024;

struct Scenario {
    name: &'static str,
    reply: Reply,
    configuration: Value,
    deadline_in: Option<Duration>,
    tries: usize,
    took: std::ops::Range<Duration>,
    exit: i32,
}

fn scenario(
    name: &'static str,
    reply: Reply,
    tries: usize,
    took_ms: std::ops::Range<u64>,
) -> Scenario {
    Scenario {
        name,
        reply,
        configuration: json!({}),
        deadline_in: None,
        tries,
        took: Duration::from_millis(took_ms.start)..Duration::from_millis(took_ms.end),
        exit: 0,
    }
}

async fn check(s: Scenario) {
    let faulty = s.reply.clone();
    let stub = Stub::start(move |target| {
        if target.ends_with(FAULTY) {
            faulty.clone()
        } else {
            Reply::json(
                200,
                json!({"id": HEALTHY, "name": "Healthy campaign", "description": "ok"}).to_string(),
            )
        }
    })
    .await;
    let mut configuration = config(&stub.uri);
    for (k, v) in s.configuration.as_object().unwrap() {
        configuration[k] = v.clone();
    }
    let mut request = json!({
        "action": "get_campaign", "case_id": "fault",
        "parameters": {"campaign_id": [HEALTHY, FAULTY], "fetch_forensics_info": false,
                       "create_insight": false, "create_threat_campaign_entity": false},
        "configuration": configuration,
    });
    if let Some(d) = s.deadline_in {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        request["execution_deadline_unix_time_ms"] = json!((now + d).as_millis() as u64);
    }
    let started = Instant::now();
    let run = run_with(
        &[],
        request.to_string().as_bytes(),
        &[("PROOFPOINT_TAP_LOG", "trace")],
    )
    .await;
    let took = started.elapsed();
    let name = s.name;
    assert_eq!(run.code, s.exit, "{name}: exit status; {}", run.stdout);
    assert_eq!(
        stub.count(&format!("/v2/campaign/{FAULTY}")),
        s.tries,
        "{name}: requests for the faulty campaign"
    );
    assert!(
        s.took.contains(&took),
        "{name}: took {took:?}, expected {:?}",
        s.took
    );
    assert_no_secret(&run);
    if s.tries > 1 {
        assert!(
            run.stderr.contains("retrying TAP request"),
            "{name}: retries are logged at info"
        );
    }
    // Nothing is lost: each campaign is in the results or in the errors — unless the whole action
    // failed before it started on any item.
    let whole_action_failed = run.envelope["json_result"].is_null()
        && run.envelope["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["subject"].is_null());
    let found: Vec<&str> = run.envelope["json_result"].as_array().map_or(vec![], |a| {
        a.iter().filter_map(|c| c["id"].as_str()).collect()
    });
    let failed: Vec<&str> = run.envelope["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["subject"].as_str())
        .collect();
    for id in [HEALTHY, FAULTY]
        .into_iter()
        .filter(|_| !whole_action_failed)
    {
        assert!(
            found.contains(&id) || failed.contains(&id),
            "{name}: {id} is neither found nor in errors"
        );
    }
    assert_envelope!(format!("fault_{name}"), run);
}

#[tokio::test]
async fn server_error_is_not_retried() {
    check(scenario("http_500", Reply::json(500, "{}"), 1, 0..2000)).await;
}

#[tokio::test]
async fn bad_gateway_is_retried_twice_with_backoff() {
    // Backoff: 250 ms then 500 ms, each ±50 %.
    check(scenario(
        "http_502",
        Reply::json(502, "bad gateway"),
        3,
        375..3000,
    ))
    .await;
}

#[tokio::test]
async fn gateway_timeout_is_retried_twice() {
    check(scenario("http_504", Reply::json(504, ""), 3, 375..3000)).await;
}

#[tokio::test]
async fn rate_limit_with_short_retry_after_is_retried() {
    let reply = Reply::json(429, "{}").header("Retry-After", "1");
    check(scenario("http_429_retry_after_1", reply, 3, 2000..4500)).await;
}

#[tokio::test]
async fn rate_limit_with_long_retry_after_is_not_retried() {
    let reply = Reply::json(429, "{}").header("Retry-After", "3600");
    check(scenario("http_429_retry_after_3600", reply, 1, 0..2000)).await;
}

#[tokio::test]
async fn slow_answer_times_out_and_is_not_retried() {
    let mut s = scenario(
        "slow_answer",
        Reply::json(200, "{}").after(Duration::from_secs(6)),
        1,
        900..3000,
    );
    s.configuration = json!({"timeout_seconds": 1});
    check(s).await;
}

#[tokio::test]
async fn truncated_body_is_retried() {
    let reply = Reply::json(200, r#"{"id": "f3ff0874"#).fault(Fault::Truncate);
    check(scenario("truncated_body", reply, 3, 375..3000)).await;
}

#[tokio::test]
async fn non_json_body() {
    check(scenario(
        "non_json_body",
        Reply::json(200, "<html><body>Service moved</body></html>"),
        1,
        0..2000,
    ))
    .await;
}

#[tokio::test]
async fn empty_body() {
    check(scenario("empty_body", Reply::json(200, ""), 1, 0..2000)).await;
}

#[tokio::test]
async fn huge_body_with_length() {
    check(scenario(
        "huge_body_declared",
        Reply::json(200, vec![b' '; 33 * MIB]),
        1,
        0..5000,
    ))
    .await;
}

#[tokio::test]
async fn huge_body_without_length() {
    let reply = Reply::json(200, vec![b' '; 40 * MIB]).fault(Fault::NoLength);
    check(scenario("huge_body_streamed", reply, 1, 0..5000)).await;
}

#[tokio::test]
async fn connection_dropped_is_retried() {
    check(scenario(
        "connection_dropped",
        Reply::json(200, "{}").fault(Fault::Drop),
        3,
        375..3000,
    ))
    .await;
}

#[tokio::test]
async fn redirect_is_not_followed() {
    let reply = Reply::json(302, "").header("Location", &format!("/v2/campaign/{HEALTHY}"));
    check(scenario("redirect", reply, 1, 0..2000)).await;
}

#[tokio::test]
async fn deadline_reports_what_finished() {
    // The platform's deadline is 2.5 s away: work stops 1 s before it, so the envelope is out after
    // about 1.5 s, with the healthy campaign found and the slow one marked deadline_exceeded.
    let mut s = scenario(
        "deadline",
        Reply::json(200, "{}").after(Duration::from_secs(10)),
        1,
        1300..2300,
    );
    s.deadline_in = Some(Duration::from_millis(2500));
    s.exit = 1;
    check(s).await;
}

#[tokio::test]
async fn deadline_already_past_sends_nothing() {
    let mut s = scenario("deadline_past", Reply::json(200, "{}"), 0, 0..1500);
    s.deadline_in = Some(Duration::from_millis(300));
    s.exit = 1;
    check(s).await;
}

#[tokio::test]
async fn no_retry_past_the_deadline() {
    // TAP asks to retry after 5 s, but work must stop in 2 s: the 429 is reported, not waited out.
    let reply = Reply::json(429, "{}").header("Retry-After", "5");
    let mut s = scenario("retry_not_past_deadline", reply, 1, 0..1500);
    s.deadline_in = Some(Duration::from_secs(3));
    check(s).await;
}
