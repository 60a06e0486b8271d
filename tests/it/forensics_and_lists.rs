//! Get Threat Forensics, List Campaigns, Get Very Attacked People and Get Top Clickers through the
//! real binary against a local stub that asserts the exact query parameters sent.

use crate::common::*;
use serde_json::{json, Value};
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

const NOW: &str = "2021-03-25T12:00:00Z";
const C1: &str = "aa9b3d62-4d72-4ebc-8f39-3da3833e7038";
const T1: &str = "30f800f97aeaa8d62bdf3a6fb2b0681179a360c12e127f07038f8521461e5050";
const T2: &str = "0000aaaabbbbccccddddeeeeffff0000111122223333444455556666777788889";

async fn go(action: &str, parameters: Value, uri: &str) -> Run {
    let request = json!({"action": action, "case_id": "77", "parameters": parameters, "configuration": config(uri)});
    run_with(
        &[],
        request.to_string().as_bytes(),
        &[("PROOFPOINT_TAP_NOW", NOW)],
    )
    .await
}

async fn invalid(name: &str, action: &str, parameters: Value) {
    let run = go(action, parameters, "http://127.0.0.1:1").await;
    assert_eq!(run.code, 1, "{name}: {}", run.stdout);
    assert_eq!(
        run.envelope["errors"][0]["code"], "invalid_parameter",
        "{name}"
    );
    assert_eq!(run.envelope["metrics"]["http_requests"], 0, "{name}");
    assert_envelope!(name, run);
}

// --- Get Threat Forensics ------------------------------------------------------------------------

#[tokio::test]
async fn forensics_of_threats_with_entities() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/forensics"))
        .and(query_param("threatId", T1))
        .and(query_param("includeCampaignForensics", "true"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fixture("forensics_threat_mixed_types.json")),
        )
        .expect(1)
        .mount(&server)
        .await;
    let mut campaign = fixture("forensics_campaign.json");
    campaign["reports"][0]["forensics"][1]["malicious"] = json!(true);
    Mock::given(method("GET"))
        .and(path("/v2/forensics"))
        .and(query_param("threatId", T2))
        .and(query_param("includeCampaignForensics", "true"))
        .respond_with(ResponseTemplate::new(200).set_body_json(campaign))
        .expect(1)
        .mount(&server)
        .await;
    let params = json!({"Threat ID": format!("{T1}, {T2}"), "Include Campaign Forensics": true,
                        "Create Entities": "true", "Max Results To Return": 4});
    let run = go("Get Threat Forensics", params, &server.uri()).await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_envelope!("forensics_threats", run);
}

#[tokio::test]
async fn forensics_of_campaigns() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/forensics"))
        .and(query_param("campaignId", C1))
        .and(query_param_is_missing("threatId"))
        .and(query_param_is_missing("includeCampaignForensics"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("forensics_campaign.json")))
        .expect(1)
        .mount(&server)
        .await;
    let run = go(
        "get_forensics",
        json!({"campaign_id": C1, "forensic_evidence_type_filter": "url, screenshot"}),
        &server.uri(),
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_envelope!("forensics_campaigns", run);
}

#[tokio::test]
async fn forensics_partial_and_empty() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/forensics"))
        .and(query_param("threatId", T1))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"generated": "x", "reports": []})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/forensics"))
        .and(query_param("threatId", T2))
        .respond_with(ResponseTemplate::new(404))
        .expect(2)
        .mount(&server)
        .await;
    let run = go(
        "get_forensics",
        json!({"threat_id": [T1, T2]}),
        &server.uri(),
    )
    .await;
    assert_eq!(run.code, 0);
    assert_envelope!("forensics_partial", run);
    let run = go("get_forensics", json!({"threat_id": [T2]}), &server.uri()).await;
    assert_eq!(run.envelope["result_value"], false);
    assert_envelope!("forensics_none_found", run);
}

#[tokio::test]
async fn forensics_invalid_parameters() {
    invalid(
        "forensics_invalid_both_ids",
        "get_forensics",
        json!({"threat_id": T1, "campaign_id": C1}),
    )
    .await;
    invalid(
        "forensics_invalid_no_id",
        "get_forensics",
        json!({"create_entities": true}),
    )
    .await;
    invalid(
        "forensics_invalid_include_with_campaign",
        "get_forensics",
        json!({"campaign_id": C1, "include_campaign_forensics": "true"}),
    )
    .await;
    invalid(
        "forensics_invalid_limit",
        "get_forensics",
        json!({"threat_id": T1, "max_results_to_return": 0}),
    )
    .await;
    invalid(
        "forensics_invalid_threat_id",
        "get_forensics",
        json!({"threat_id": "abc&includeCampaignForensics=true"}),
    )
    .await;
}

// --- List Campaigns ------------------------------------------------------------------------------

fn ids_mock(interval: &str, size: &str, page: &str, status: u16, body: Value) -> Mock {
    Mock::given(method("GET"))
        .and(path("/v2/campaign/ids"))
        .and(query_param("interval", interval))
        .and(query_param("size", size))
        .and(query_param("page", page))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
}

const DAY1: &str = "2021-03-24T12:00:00Z/2021-03-25T12:00:00Z";
const DAY2: &str = "2021-03-23T12:00:00Z/2021-03-24T12:00:00Z";
const DAY3: &str = "2021-03-22T12:00:00Z/2021-03-23T12:00:00Z";

fn campaign_ids(ids: &[&str]) -> Value {
    json!({"campaigns": ids.iter().map(|id| json!({"id": id, "lastUpdatedAt": "2021-03-25T10:37:46.000Z"})).collect::<Vec<_>>()})
}

#[tokio::test]
async fn list_campaigns_last_24_hours() {
    let server = MockServer::start().await;
    ids_mock(DAY1, "100", "1", 200, fixture("campaign_ids.json"))
        .expect(1)
        .mount(&server)
        .await;
    let run = go("List Campaigns", json!({}), &server.uri()).await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_envelope!("list_campaigns_default", run);
}

#[tokio::test]
async fn list_campaigns_none_in_the_interval() {
    let server = MockServer::start().await;
    ids_mock(DAY1, "100", "1", 404, json!({}))
        .expect(1)
        .mount(&server)
        .await;
    let run = go("list_campaigns", json!({}), &server.uri()).await;
    assert_eq!(run.code, 0);
    assert_eq!(run.envelope["result_value"], false);
    assert_envelope!("list_campaigns_empty", run);
}

#[tokio::test]
async fn list_campaigns_walks_days_newest_first_and_pages_past_duplicates() {
    let server = MockServer::start().await;
    ids_mock(DAY1, "3", "1", 200, campaign_ids(&["a"]))
        .expect(1)
        .mount(&server)
        .await;
    // Two more wanted: the page size for this interval is 2; "a" is a duplicate, so page 2 follows.
    ids_mock(DAY2, "2", "1", 200, campaign_ids(&["a", "b"]))
        .expect(1)
        .mount(&server)
        .await;
    ids_mock(DAY2, "2", "2", 200, campaign_ids(&["c", "d"]))
        .expect(1)
        .mount(&server)
        .await;
    let params = json!({"Start Time": "2021-03-22T12:00:00Z", "max_campaigns": "3"});
    let run = go("list_campaigns", params, &server.uri()).await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(run.envelope["output_message"]
        .as_str()
        .unwrap()
        .contains("3 calls to /v2/campaign/ids"));
    assert_envelope!("list_campaigns_paging", run);
}

#[tokio::test]
async fn list_campaigns_with_details_and_a_missing_one() {
    let server = MockServer::start().await;
    ids_mock(
        DAY1,
        "100",
        "1",
        200,
        campaign_ids(&[C1, "f3ff0874-85ef-475e-b3fe-d05f97b2ed3f"]),
    )
    .expect(1)
    .mount(&server)
    .await;
    Mock::given(method("GET"))
        .and(path(format!("/v2/campaign/{C1}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"id": C1, "name": "Tordal", "startDate": "2021-03-24T00:01:00.000Z"}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/campaign/f3ff0874-85ef-475e-b3fe-d05f97b2ed3f"))
        .respond_with(ResponseTemplate::new(404))
        .expect(1)
        .mount(&server)
        .await;
    let run = go(
        "list_campaigns",
        json!({"Fetch Details": true}),
        &server.uri(),
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_envelope!("list_campaigns_details", run);
}

#[tokio::test]
async fn list_campaigns_stops_when_the_quota_is_spent() {
    let server = MockServer::start().await;
    ids_mock(DAY1, "100", "1", 200, campaign_ids(&["a"]))
        .expect(1)
        .mount(&server)
        .await;
    ids_mock(DAY2, "99", "1", 429, json!({}))
        .expect(1)
        .mount(&server)
        .await;
    ids_mock(DAY3, "99", "1", 200, campaign_ids(&["b"]))
        .expect(0)
        .mount(&server)
        .await;
    let run = go(
        "list_campaigns",
        json!({"start_time": "2021-03-22T12:00:00Z"}),
        &server.uri(),
    )
    .await;
    assert_eq!(run.code, 0);
    assert_envelope!("list_campaigns_quota_spent", run);
}

#[tokio::test]
async fn list_campaigns_invalid_windows() {
    invalid(
        "list_campaigns_invalid_start_after_end",
        "list_campaigns",
        json!({"start_time": "2021-03-25T10:00:00Z", "end_time": "2021-03-25T09:00:00Z"}),
    )
    .await;
    invalid(
        "list_campaigns_invalid_too_far_back",
        "list_campaigns",
        json!({"start_time": "2021-03-10T00:00:00Z"}),
    )
    .await;
    invalid(
        "list_campaigns_invalid_custom_without_start",
        "list_campaigns",
        json!({"Time Frame": "Custom"}),
    )
    .await;
    invalid(
        "list_campaigns_invalid_limit",
        "list_campaigns",
        json!({"Max Results To Return": 500}),
    )
    .await;
    invalid(
        "list_campaigns_invalid_time",
        "list_campaigns",
        json!({"end_time": "tomorrow"}),
    )
    .await;
}

// --- People ---------------------------------------------------------------------------------------

fn people_mock(list: &str, window: &str, size: &str, page: &str, status: u16, body: Value) -> Mock {
    Mock::given(method("GET"))
        .and(path(format!("/v2/people/{list}")))
        .and(query_param("window", window))
        .and(query_param("size", size))
        .and(query_param("page", page))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
}

fn users(n: usize, offset: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            json!({"identity": {"emails": [format!("u{}@example.com", i + offset)]},
                   "threatStatistics": {"attackIndex": 900 + i}})
        })
        .collect()
}

#[tokio::test]
async fn vaps_with_entities() {
    let server = MockServer::start().await;
    people_mock("vap", "30", "100", "1", 200, fixture("people_vap.json"))
        .expect(1)
        .mount(&server)
        .await;
    let run = go(
        "Get Very Attacked People",
        json!({"create_entities": true}),
        &server.uri(),
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_envelope!("vaps", run);
}

#[tokio::test]
async fn top_clickers_cut_to_max_users() {
    let server = MockServer::start().await;
    people_mock(
        "top-clickers",
        "90",
        "1",
        "1",
        200,
        fixture("people_top_clickers.json"),
    )
    .expect(1)
    .mount(&server)
    .await;
    let run = go(
        "get_top_clickers",
        json!({"Window": "90", "Max Users": 1}),
        &server.uri(),
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(
        run.envelope["json_result"]["users"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_envelope!("top_clickers", run);
}

#[tokio::test]
async fn vaps_paging() {
    let server = MockServer::start().await;
    let page = |n, offset| json!({"users": users(n, offset), "totalVapUsers": 250, "interval": "x", "averageAttackIndex": 1, "vapAttackIndexThreshold": 2});
    people_mock("vap", "14", "200", "1", 200, page(200, 0))
        .expect(1)
        .mount(&server)
        .await;
    people_mock("vap", "14", "200", "2", 200, page(50, 200))
        .expect(1)
        .mount(&server)
        .await;
    let run = go(
        "get_vaps",
        json!({"window": 14, "max_users": 300}),
        &server.uri(),
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(
        run.envelope["json_result"]["users"]
            .as_array()
            .unwrap()
            .len(),
        250
    );
    assert_eq!(run.envelope["metrics"]["http_requests"], 2);
    assert_envelope!("vaps_paging", run);
}

#[tokio::test]
async fn vaps_later_page_fails() {
    let server = MockServer::start().await;
    people_mock(
        "vap",
        "30",
        "200",
        "1",
        200,
        json!({"users": users(200, 0), "totalVapUsers": 900}),
    )
    .expect(1)
    .mount(&server)
    .await;
    people_mock("vap", "30", "200", "2", 500, json!({}))
        .expect(1)
        .mount(&server)
        .await;
    let run = go("get_vaps", json!({"max_users": 201}), &server.uri()).await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.envelope["errors"][0]["subject"], "page 2");
    assert_envelope!("vaps_partial", run);
}

#[tokio::test]
async fn people_empty_and_invalid() {
    let server = MockServer::start().await;
    people_mock(
        "top-clickers",
        "30",
        "100",
        "1",
        200,
        json!({"users": [], "totalTopClickers": 0, "interval": "x"}),
    )
    .expect(1)
    .mount(&server)
    .await;
    let run = go("get_top_clickers", json!({}), &server.uri()).await;
    assert_eq!(run.envelope["result_value"], false);
    assert_envelope!("top_clickers_empty", run);
    invalid("people_invalid_window", "get_vaps", json!({"window": 7})).await;
    invalid(
        "people_invalid_max_users",
        "get_top_clickers",
        json!({"max_users": "0"}),
    )
    .await;
}

/// With no id given, the threat ids of the THREATSIGNATURE and SHA-256 FILEHASH entities in scope.
#[tokio::test]
async fn forensics_of_the_threats_in_scope() {
    // An attachment's threat id is its SHA-256.
    const ATTACHMENT: &str = "3f8e5b2b1c0bd3e1f0c0c49a5ac4a1f3d7a0a59cba8f4c3c3b9e6e0f2a1b4c5d";
    let server = MockServer::start().await;
    for id in [T1, ATTACHMENT] {
        Mock::given(method("GET"))
            .and(path("/v2/forensics"))
            .and(query_param("threatId", id))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(fixture("forensics_threat_mixed_types.json")),
            )
            .expect(1)
            .mount(&server)
            .await;
    }
    let request = json!({"action": "get_forensics", "case_id": "77", "parameters": {},
        "target_entities": [
            {"identifier": T1.to_ascii_uppercase(), "entity_type": "THREATSIGNATURE"},
            {"identifier": ATTACHMENT.to_ascii_uppercase(), "entity_type": "FILEHASH"},
            {"identifier": "AA9B3D62-4D72-4EBC-8F39-3DA3833E7038", "entity_type": "THREATCAMPAIGN"}
        ],
        "configuration": config(&server.uri())});
    let run = run(&request).await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_envelope!("forensics_from_entities", run);
}
