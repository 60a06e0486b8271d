//! Get Message Details through the real binary against a local stub of the SIEM and threat APIs.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::common::*;

const NOW: &str = "2021-03-25T12:00:00Z";
const GUID: &str = "c26dbea0-80d5-463b-b93c-4e8b708219ce";
const THREAT: &str = "2fab740f143fc1aa4c1cd0146d334c5593b1428f6d062b2c406e5efe8abe95ca";

/// The sample message to one recipient, under its own event id.
fn event(id: &str, recipient: &str) -> Value {
    let mut m = fixture("siem_all.json")["messagesBlocked"][0].clone();
    m["id"] = json!(id);
    m["GUID"] = json!(GUID);
    m["messageID"] = json!("<20210325101010.12345@mail.example>");
    m["recipient"] = json!([recipient]);
    m["messageTime"] = json!("2021-03-25T10:10:10.000Z");
    m["threatsInfoMap"][0]["threatID"] = json!(THREAT);
    m["threatsInfoMap"][0]["threatStatus"] = json!("active");
    m
}

/// Answers the interval that holds 10:10 with the message and a click on it; others empty.
struct Siem(Arc<AtomicUsize>);

impl Respond for Siem {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.0.fetch_add(1, Ordering::SeqCst);
        let interval = request
            .url
            .query_pairs()
            .find(|(k, _)| k == "interval")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        let (start, end) = interval.split_once('/').unwrap();
        let holds = start <= "2021-03-25T10:10:10Z" && "2021-03-25T10:10:10Z" < end;
        if !holds {
            return ResponseTemplate::new(200).set_body_json(json!({"queryEndTime": NOW}));
        }
        let mut click = fixture("siem_all.json")["clicksPermitted"][0].clone();
        click["GUID"] = json!(GUID);
        click["recipient"] = json!("bob@example.com");
        click["clickTime"] = json!("2021-03-25T10:20:00.000Z");
        ResponseTemplate::new(200).set_body_json(json!({
            "queryEndTime": NOW,
            "messagesDelivered": [event("m-1", "alice@example.com"), event("m-2", "bob@example.com")],
            "messagesBlocked": [event("m-3", "carol@example.com")],
            "clicksPermitted": [click], "clicksBlocked": []
        }))
    }
}

async fn stub() -> (MockServer, Arc<AtomicUsize>) {
    let server = MockServer::start().await;
    let calls = Arc::new(AtomicUsize::new(0));
    Mock::given(method("GET"))
        .and(path("/v2/siem/all"))
        .respond_with(Siem(calls.clone()))
        .mount(&server)
        .await;
    let mut summary: Value = fixture("threat_summary.json");
    summary["id"] = json!(THREAT);
    Mock::given(method("GET"))
        .and(path_regex("^/v2/threat/summary/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(summary))
        .mount(&server)
        .await;
    (server, calls)
}

async fn details(server: &MockServer, parameters: Value) -> Run {
    let request = json!({"action": "Get Message Details", "case_id": "7",
                         "parameters": parameters, "configuration": config(&server.uri())});
    let run = run_with(
        &[],
        request.to_string().as_bytes(),
        &[("PROOFPOINT_TAP_NOW", NOW)],
    )
    .await;
    assert_no_secret(&run);
    run
}

#[tokio::test]
async fn by_message_id_and_time_in_two_calls() {
    let (server, calls) = stub().await;
    let run = details(
        &server,
        json!({"Message ID": "20210325101010.12345@MAIL.example", "Message Time": "2021-03-25T10:10:10Z"}),
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(
        calls.load(Ordering::SeqCst) <= 3,
        "{} SIEM calls",
        calls.load(Ordering::SeqCst)
    );
    let result = &run.envelope["json_result"];
    assert_eq!(result["messages"].as_array().unwrap().len(), 3);
    assert_eq!(result["clicks"].as_array().unwrap().len(), 1);
    // The sample message carries two threats.
    assert_eq!(result["threats"].as_array().unwrap().len(), 2);
    assert_eq!(
        run.envelope["insights"][0]["severity"], "critical",
        "delivered and clicked"
    );
    assert_envelope!("message_by_id", run);
}

#[tokio::test]
async fn by_guid_over_the_default_window() {
    let (server, calls) = stub().await;
    let run = details(
        &server,
        json!({"guid": GUID.to_uppercase(), "Create Entities": false}),
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        24,
        "Last 24 Hours, an hour a call"
    );
    assert_eq!(
        run.envelope["json_result"]["messages"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(run.envelope["entities"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn not_found_says_the_window() {
    let (server, _) = stub().await;
    let run = details(
        &server,
        json!({"message_id": "<nope@example>", "message_time": "2021-03-25T06:00:00Z"}),
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.envelope["result_value"], false);
    assert_envelope!("message_not_found", run);
}

#[tokio::test]
async fn one_id_is_needed_and_one_only() {
    let (server, calls) = stub().await;
    let run = details(&server, json!({})).await;
    assert_eq!(run.envelope["errors"][0]["code"], "invalid_parameter");
    let run = details(&server, json!({"message_id": "a@b", "guid": GUID})).await;
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert_envelope!("message_both_ids", run);
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn unauthorized_fails_the_action() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    let run = details(
        &server,
        json!({"guid": GUID, "message_time": "2021-03-25T10:10:10Z"}),
    )
    .await;
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert_eq!(run.envelope["errors"][0]["code"], "unauthorized");
    assert_envelope!("message_unauthorized", run);
}

/// A failing slice of the window and a rate-limited threat summary are named; the rest is reported.
#[tokio::test]
async fn a_failed_slice_and_a_throttled_summary_are_named() {
    let server = MockServer::start().await;
    let calls = Arc::new(AtomicUsize::new(0));
    // The slice before the message answers 500; the message's slice answers.
    Mock::given(method("GET"))
        .and(path("/v2/siem/all"))
        .and(wiremock::matchers::query_param(
            "interval",
            "2021-03-25T09:10:10Z/2021-03-25T10:10:10Z",
        ))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/siem/all"))
        .respond_with(Siem(calls.clone()))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/v2/threat/summary/{THREAT}")))
        .respond_with(ResponseTemplate::new(429))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex("^/v2/threat/summary/"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    let run = details(
        &server,
        json!({"guid": GUID, "message_time": "2021-03-25T10:10:10Z"}),
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.error_codes(), ["server_error", "rate_limited"]);
    assert_eq!(run.envelope["json_result"]["complete"], false);
    assert_envelope!("message_partial", run);
}
