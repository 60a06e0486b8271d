//! Search Events through the real binary against a local stub that serves events per interval and
//! records every query.

use std::sync::Arc;

use crate::common::*;
use serde_json::{json, Value};
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const NOW: &str = "2021-03-25T12:00:00Z";

fn body(clicks: Vec<Value>, messages: Vec<Value>) -> Value {
    json!({"queryEndTime": NOW, "clicksPermitted": clicks, "clicksBlocked": [], "messagesDelivered": messages, "messagesBlocked": []})
}

/// A click of the sample message's URL: `id` tells clicks apart; they share the message's GUID,
/// as clicks of one message to several people do.
fn click(id: &str, time: &str, recipient: &str) -> Value {
    let mut c = fixture("siem_all.json")["clicksPermitted"][0].clone();
    c["id"] = json!(id);
    c["clickTime"] = json!(time);
    c["recipient"] = json!(recipient);
    c
}

/// Answers each request from `answer(interval)`.
struct PerInterval(Arc<dyn Fn(&str) -> ResponseTemplate + Send + Sync>);

impl Respond for PerInterval {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let interval = query(request, "interval").pop().unwrap_or_default();
        (self.0)(&interval)
    }
}

fn query(request: &Request, key: &str) -> Vec<String> {
    request
        .url
        .query_pairs()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
        .collect()
}

async fn stub(answer: impl Fn(&str) -> ResponseTemplate + Send + Sync + 'static) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path_regex("^/v2/siem/"))
        .respond_with(PerInterval(Arc::new(answer)))
        .mount(&server)
        .await;
    server
}

async fn search(parameters: Value, server: &MockServer, extra: Value) -> Run {
    let mut configuration = config(&server.uri());
    for (k, v) in extra.as_object().unwrap() {
        configuration[k] = v.clone();
    }
    let request = json!({"action": "Search Events", "case_id": "88", "parameters": parameters, "configuration": configuration});
    run_with(
        &[],
        request.to_string().as_bytes(),
        &[("PROOFPOINT_TAP_NOW", NOW)],
    )
    .await
}

#[tokio::test]
async fn clicks_only() {
    let server = stub(|_| {
        ResponseTemplate::new(200).set_body_json(
            json!({"queryEndTime": NOW, "clicksPermitted": fixture("siem_all.json")["clicksPermitted"]}),
        )
    })
    .await;
    let run = search(
        json!({"Event Type": "Clicks Permitted"}),
        &server,
        json!({}),
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].url.path(), "/v2/siem/clicks/permitted");
    assert_eq!(
        query(&requests[0], "interval"),
        ["2021-03-25T11:00:00Z/2021-03-25T12:00:00Z"]
    );
    assert_eq!(query(&requests[0], "format"), ["json"]);
    assert_eq!(
        query(&requests[0], "threatStatus"),
        ["active", "cleared"],
        "both statuses in one call"
    );
    assert!(query(&requests[0], "threatType").is_empty());
    assert_envelope!("events_clicks_only", run);
}

#[tokio::test]
async fn messages_only() {
    let server = stub(|_| {
        ResponseTemplate::new(200).set_body_json(
            json!({"queryEndTime": NOW, "messagesBlocked": fixture("siem_all.json")["messagesBlocked"]}),
        )
    })
    .await;
    let params = json!({"event_types": ["messages_blocked"], "threat_status": "False Positive", "threat_type": "attachment, message_text"});
    let run = search(params, &server, json!({})).await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests[0].url.path(), "/v2/siem/messages/blocked");
    assert_eq!(query(&requests[0], "threatStatus"), ["falsePositive"]);
    assert_eq!(
        query(&requests[0], "threatType"),
        ["attachment", "messageText"]
    );
    assert_envelope!("events_messages_only", run);
}

#[tokio::test]
async fn all_events() {
    let server = stub(|_| ResponseTemplate::new(200).set_body_json(fixture("siem_all.json"))).await;
    let run = search(json!({}), &server, json!({})).await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(
        server.received_requests().await.unwrap()[0].url.path(),
        "/v2/siem/all"
    );
    assert_envelope!("events_all", run);
}

#[tokio::test]
async fn no_events() {
    let server = stub(|_| ResponseTemplate::new(200).set_body_json(body(vec![], vec![]))).await;
    let run = search(json!({"Time Frame": "Last 6 Hours"}), &server, json!({})).await;
    assert_eq!(run.code, 0);
    assert_eq!(run.envelope["result_value"], false);
    assert_eq!(server.received_requests().await.unwrap().len(), 6);
    assert_envelope!("events_empty", run);
}

#[tokio::test]
async fn duplicates_across_intervals_are_dropped() {
    let server = stub(|interval| {
        let newer = interval.starts_with("2021-03-25T11:00:00Z");
        let clicks = if newer {
            vec![
                click("g-1", "2021-03-25T10:59:50.000Z", "a@example.com"),
                click("g-2", "2021-03-25T11:30:00.000Z", "b@example.com"),
            ]
        } else {
            vec![click("g-1", "2021-03-25T10:59:50.000Z", "a@example.com")]
        };
        ResponseTemplate::new(200).set_body_json(body(clicks, vec![]))
    })
    .await;
    let run = search(
        json!({"since_minutes": "120", "event_types": "clicks_permitted"}),
        &server,
        json!({}),
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(
        run.envelope["json_result"]["events"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_envelope!("events_dedup", run);
}

#[tokio::test]
async fn a_48_hour_window_is_48_calls() {
    let server = stub(|interval| {
        let clicks = if interval.starts_with("2021-03-24T00:00:00Z") {
            vec![click("g-9", "2021-03-24T00:10:00.000Z", "c@example.com")]
        } else {
            vec![]
        };
        ResponseTemplate::new(200).set_body_json(body(clicks, vec![]))
    })
    .await;
    let params = json!({"Start Time": "2021-03-23T12:00:00Z", "End Time": "2021-03-25T12:00:00Z"});
    let run = search(params, &server, json!({})).await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 48);
    let mut intervals: Vec<String> = requests
        .iter()
        .map(|r| query(r, "interval")[0].clone())
        .collect();
    intervals.sort();
    intervals.dedup();
    assert_eq!(intervals.len(), 48, "each hour asked once");
    assert_envelope!("events_48_hours", run);
}

#[tokio::test]
async fn stops_once_max_events_are_in_hand() {
    let server = stub(|_| {
        ResponseTemplate::new(200).set_body_json(body(
            vec![
                click("g-a", "2021-03-25T11:10:00.000Z", "a@example.com"),
                click("g-b", "2021-03-25T11:20:00.000Z", "b@example.com"),
            ],
            vec![],
        ))
    })
    .await;
    let run = search(
        json!({"time_frame": "Last 24 Hours", "max_events": 2}),
        &server,
        json!({"max_concurrency": 1}),
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        1,
        "the newest interval was enough"
    );
    assert_envelope!("events_early_stop", run);
}

#[tokio::test]
async fn a_failed_interval_is_reported_and_the_rest_kept() {
    let server = stub(|interval| {
        if interval.starts_with("2021-03-25T10:00:00Z") {
            ResponseTemplate::new(429)
        } else {
            let guid = format!("g-{}", &interval[11..13]);
            ResponseTemplate::new(200).set_body_json(body(
                vec![click(&guid, &interval[..20], "a@example.com")],
                vec![],
            ))
        }
    })
    .await;
    let run = search(json!({"since_minutes": 180}), &server, json!({})).await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(
        run.envelope["errors"][0]["subject"],
        "2021-03-25T10:00:00Z/2021-03-25T11:00:00Z"
    );
    assert_envelope!("events_failed_interval", run);
}

#[tokio::test]
async fn unauthorized_fails() {
    let server = stub(|_| ResponseTemplate::new(401)).await;
    let run = search(json!({}), &server, json!({})).await;
    assert_eq!(run.code, 1);
    assert_no_secret(&run);
    assert_envelope!("events_unauthorized", run);
}

#[tokio::test]
async fn invalid_windows_and_values() {
    let server = stub(|_| ResponseTemplate::new(500)).await;
    for (name, params) in [
        ("events_invalid_since_minutes", json!({"since_minutes": 0})),
        (
            "events_invalid_start_after_end",
            json!({"start_time": "2021-03-25T11:00:00Z", "end_time": "2021-03-25T10:00:00Z"}),
        ),
        (
            "events_invalid_too_far_back",
            json!({"start_time": "2021-03-17T00:00:00Z"}),
        ),
        (
            "events_invalid_too_short",
            json!({"start_time": "2021-03-25T11:59:45Z"}),
        ),
        (
            "events_invalid_event_type",
            json!({"event_types": "clicks, messages"}),
        ),
        ("events_invalid_max_events", json!({"max_events": "0"})),
    ] {
        let run = search(params, &server, json!({})).await;
        assert_eq!(run.code, 1, "{name}");
        assert_eq!(
            run.envelope["errors"][0]["code"], "invalid_parameter",
            "{name}"
        );
        assert_envelope!(name, run);
    }
    assert!(
        server.received_requests().await.unwrap().is_empty(),
        "validated before any call"
    );
}

#[tokio::test]
async fn the_deadline_keeps_finished_slices() {
    // The newest slice answers at once, the others only after 10 s; the platform's deadline is
    // 2.5 s away, so work stops after about 1.5 s.
    let server = stub(|interval| {
        let answer = ResponseTemplate::new(200).set_body_json(body(
            vec![click(
                &format!("g{}", &interval[11..13]),
                &interval[..20],
                "a@example.com",
            )],
            vec![],
        ));
        if interval.starts_with("2021-03-25T11:00:00Z") {
            answer
        } else {
            answer.set_delay(std::time::Duration::from_secs(10))
        }
    })
    .await;
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let mut configuration = config(&server.uri());
    configuration["max_concurrency"] = json!(1);
    let request = json!({"action": "search_events", "parameters": {"since_minutes": 180},
                         "configuration": configuration, "execution_deadline_unix_time_ms": now_ms + 2500});
    let started = std::time::Instant::now();
    let run = run_with(
        &[],
        request.to_string().as_bytes(),
        &[("PROOFPOINT_TAP_NOW", NOW)],
    )
    .await;
    assert!(
        started.elapsed() < std::time::Duration::from_millis(2300),
        "out before the deadline"
    );
    assert_eq!(run.code, 1);
    assert_eq!(run.envelope["execution_state"], "timed_out");
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        2,
        "no call starts after the deadline"
    );
    assert_envelope!("events_deadline", run);
}

/// A message to three people is three events with one GUID; the same event without an id, sent
/// again by the neighbouring interval, is one.
#[tokio::test]
async fn one_event_per_recipient_and_whole_events_without_id() {
    let message = |id: Option<&str>, recipient: &str| {
        let mut m = fixture("siem_all.json")["messagesBlocked"][0].clone();
        m["recipient"] = json!([recipient]);
        m["messageTime"] = json!("2021-03-25T11:10:00.000Z");
        if let Some(id) = id {
            m["id"] = json!(id);
        }
        m
    };
    let server = stub(move |interval| {
        let mut messages = vec![message(None, "no-id@example.com")];
        if interval.starts_with("2021-03-25T11:00:00Z") {
            for (id, to) in [("m-1", "a@example.com"), ("m-2", "b@example.com"), ("m-3", "c@example.com")] {
                messages.push(message(Some(id), to));
            }
        }
        ResponseTemplate::new(200).set_body_json(json!({
            "queryEndTime": NOW, "clicksPermitted": [], "clicksBlocked": [], "messagesDelivered": [],
            "messagesBlocked": messages
        }))
    })
    .await;
    let run = search(
        json!({"since_minutes": 120, "event_types": "messages_blocked"}),
        &server,
        json!({}),
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    let events = run.envelope["json_result"]["events"].as_array().unwrap();
    let recipients: Vec<&str> = events
        .iter()
        .map(|e| e["recipient"][0].as_str().unwrap())
        .collect();
    assert_eq!(recipients.len(), 4, "{recipients:?}");
    for to in [
        "a@example.com",
        "b@example.com",
        "c@example.com",
        "no-id@example.com",
    ] {
        assert!(recipients.contains(&to), "{to} in {recipients:?}");
    }
    let guids: std::collections::HashSet<&str> =
        events.iter().map(|e| e["GUID"].as_str().unwrap()).collect();
    assert_eq!(guids.len(), 1, "one message, one GUID");
}

/// A message event: one recipient, a subject, a Message-ID and one threat.
fn message(id: &str, recipient: &str, subject: &str, threat_id: &str) -> Value {
    let mut m = fixture("siem_all.json")["messagesBlocked"][0].clone();
    m["id"] = json!(id);
    m["recipient"] = json!([recipient]);
    m["subject"] = json!(subject);
    m["messageID"] = json!(format!("<{id}@mail.example>"));
    m["messageTime"] = json!("2021-03-25T11:20:00.000Z");
    m["threatsInfoMap"][0]["threatID"] = json!(threat_id);
    m
}

fn hunting_stub_body() -> Value {
    json!({"queryEndTime": NOW, "clicksPermitted": [
        click("c-1", "2021-03-25T11:10:00.000Z", "alice@example.com"),
        click("c-2", "2021-03-25T11:11:00.000Z", "bob@example.com")
    ], "clicksBlocked": [], "messagesDelivered": [],
    "messagesBlocked": [
        message("m-1", "alice@example.com", "Invoice 42 overdue", "t-aaa"),
        message("m-2", "carol@example.com", "Lunch?", "t-bbb")
    ]})
}

#[tokio::test]
async fn hunting_filters_keep_only_matching_events() {
    let server = stub(|_| ResponseTemplate::new(200).set_body_json(hunting_stub_body())).await;
    // Recipient, any case: alice's click and message.
    let run = search(
        json!({"Recipient": "ALICE@example.com", "event_types": "all"}),
        &server,
        json!({}),
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    let ids: Vec<&str> = run.envelope["json_result"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["m-1", "c-1"]);
    assert_envelope!("events_hunt_recipient", run);

    // Subject (contains), Message-ID without brackets, and a threat of the message.
    for filter in [
        json!({"subject": "invoice"}),
        json!({"Message ID": "m-1@MAIL.example"}),
        json!({"threat_id": "T-AAA"}),
    ] {
        let run = search(filter.clone(), &server, json!({})).await;
        let ids: Vec<&str> = run.envelope["json_result"]["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["m-1"], "{filter}");
    }
}

#[tokio::test]
async fn hunting_by_the_entities_in_scope_and_max_events_after_filtering() {
    let server = stub(|_| ResponseTemplate::new(200).set_body_json(hunting_stub_body())).await;
    let request = json!({"action": "search_events", "case_id": "88",
        "parameters": {"filter_by_entities": true, "max_events": 1},
        "target_entities": [{"identifier": "BOB@EXAMPLE.COM", "entity_type": "USERUNIQNAME"}],
        "configuration": config(&server.uri())});
    let run = run_with(
        &[],
        request.to_string().as_bytes(),
        &[("PROOFPOINT_TAP_NOW", NOW)],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    let events = run.envelope["json_result"]["events"].as_array().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["id"], "c-2");
    assert_envelope!("events_hunt_entities", run);
}
