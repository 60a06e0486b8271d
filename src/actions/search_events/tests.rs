//! Unit tests of Search Events: planning the calls, de-duplication, the outcome.

use super::*;
use crate::params::{parse, Section};

fn plan_of(v: Value) -> Result<Plan> {
    let now = time_window::parse("2021-03-25T12:00:00Z").unwrap();
    plan(
        &parse::<Params, _>(v.as_object().unwrap().clone(), Section::Parameters)?,
        now,
    )
}

#[test]
fn endpoints_per_selection() {
    let endpoint = |v: Value| plan_of(v).unwrap().endpoint_path();
    assert_eq!(endpoint(json!({})), "/v2/siem/all");
    assert_eq!(
        endpoint(json!({"Event Type": "Clicks Permitted"})),
        "/v2/siem/clicks/permitted"
    );
    assert_eq!(
        endpoint(json!({"event_types": ["messages_blocked"]})),
        "/v2/siem/messages/blocked"
    );
    assert_eq!(
        endpoint(json!({"event_types": "issues"})),
        "/v2/siem/issues"
    );
    assert_eq!(
        endpoint(json!({"event_types": "messages delivered, clicks permitted"})),
        "/v2/siem/issues"
    );
    assert_eq!(
        endpoint(json!({"event_types": "clicks_blocked, messages_blocked"})),
        "/v2/siem/all"
    );
}

#[test]
fn statuses_and_types_map_to_the_api() {
    let p = plan_of(json!({"Threat Status": "Select One"})).unwrap();
    assert_eq!(p.statuses, ["active", "cleared"]);
    let p = plan_of(
        json!({"threat_status": "False Positive, active", "threat_type": "message_text, URL"}),
    )
    .unwrap();
    assert_eq!(p.statuses, ["falsePositive", "active"]);
    assert_eq!(p.types, ["messageText", "url"]);
    assert!(plan_of(json!({"threat_status": "stale"}))
        .unwrap_err()
        .message
        .contains("unknown value \"stale\""));
}

#[test]
fn windows_split_evenly_newest_first() {
    let p = plan_of(json!({"since_minutes": 90})).unwrap();
    assert_eq!(
        p.intervals(),
        [
            "2021-03-25T11:15:00Z/2021-03-25T12:00:00Z",
            "2021-03-25T10:30:00Z/2021-03-25T11:15:00Z"
        ]
    );
    assert_eq!(
        plan_of(json!({})).unwrap().intervals(),
        ["2021-03-25T11:00:00Z/2021-03-25T12:00:00Z"]
    );
    assert_eq!(
        plan_of(json!({"time_frame": "Last 24 Hours"}))
            .unwrap()
            .intervals()
            .len(),
        24
    );
    assert_eq!(
        plan_of(json!({"time_frame": "Last Week"}))
            .unwrap()
            .intervals()
            .len(),
        167
    );
}

#[test]
fn invalid_windows() {
    let msg = |v: Value| plan_of(v).unwrap_err().message;
    assert!(msg(json!({"since_minutes": 0})).contains("between 1 and 10080"));
    assert!(msg(json!({"start_time": "2021-03-25T11:59:30Z"})).contains("shorter than a minute"));
    assert!(msg(json!({"start_time": "2021-03-10T00:00:00Z"})).contains("more than 7 days back"));
    assert!(msg(json!({"max_events": 10001})).contains("between 1 and 10000"));
}

#[test]
fn sorting_in_place_is_the_stable_sort() {
    // Keys with many ties, so that stability shows; every permutation kind (fixed points, long
    // and short cycles) comes up across the lengths.
    for len in 0..40usize {
        let items: Vec<(u8, usize)> = (0..len).map(|i| (((i * 7 + len) % 5) as u8, i)).collect();
        let mut expected = items.clone();
        expected.sort_by_key(|item| std::cmp::Reverse(item.0));
        let mut sorted = items;
        sort_moving_once(&mut sorted, |a, b| b.0.cmp(&a.0));
        assert_eq!(sorted, expected, "{len} items");
    }
}
