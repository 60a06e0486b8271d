//! Enrich Entities through the real binary against a local stub of the TAP API.

use serde_json::{json, Value};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::*;

/// The public example: TAP's threat `klongkru.ac.th/` has this id.
const URL_THREAT: &str = "d22be456cbc0a0e5d900696c36c92c547bea13cc76d32b63ed85b4fc5704d9cb";
const FILE_THREAT: &str = "3f8e5b2b1c0bd3e1f0c0c49a5ac4a1f3d7a0a59cba8f4c3c3b9e6e0f2a1b4c5d";
const SIGNATURE: &str = "2fab740f143fc1aa4c1cd0146d334c5593b1428f6d062b2c406e5efe8abe95ca";
const CAMPAIGN: &str = "aa9b3d62-4d72-4ebc-8f39-3da3833e7038";

/// The sample summary as threat `id`: a `url`, `attachment` or `messageText` threat.
fn summary(id: &str, name: &str, kind: &str, category: &str, status: &str) -> ResponseTemplate {
    let mut s = fixture("threat_summary.json");
    s["id"] = json!(id);
    s["name"] = json!(name);
    s["type"] = json!(kind);
    s["category"] = json!(category);
    s["status"] = json!(status);
    ResponseTemplate::new(200).set_body_json(s)
}

/// A stub that knows the threats and the campaign above, and Jane on both people lists.
async fn stub(overrides: &[(&str, ResponseTemplate)]) -> MockServer {
    let server = MockServer::start().await;
    for (id, answer) in overrides {
        Mock::given(method("GET"))
            .and(path(format!("/v2/threat/summary/{id}")))
            .respond_with(answer.clone())
            .mount(&server)
            .await;
    }
    for (id, answer) in [
        (
            URL_THREAT,
            summary(URL_THREAT, "klongkru.ac.th/", "url", "phish", "active"),
        ),
        (
            FILE_THREAT,
            summary(
                FILE_THREAT,
                "invoice.xlsm",
                "attachment",
                "malware",
                "active",
            ),
        ),
        (
            SIGNATURE,
            summary(SIGNATURE, "spam run", "messageText", "spam", "active"),
        ),
    ] {
        Mock::given(method("GET"))
            .and(path(format!("/v2/threat/summary/{id}")))
            .respond_with(answer)
            .mount(&server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path_regex("^/v2/threat/summary/"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    let mut campaign = fixture("campaign.json");
    campaign["id"] = json!(CAMPAIGN);
    Mock::given(method("GET"))
        .and(path(format!("/v2/campaign/{CAMPAIGN}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(campaign))
        .mount(&server)
        .await;
    for (list, stats) in [
        ("vap", json!({"attackIndex": 1805, "families": []})),
        ("top-clickers", json!({"clickCount": 3, "families": []})),
    ] {
        let key = if list == "vap" {
            "threatStatistics"
        } else {
            "clickStatistics"
        };
        let mut user = json!({"identity": {"guid": "g-jane", "emails": ["jane.doe@example.com"], "name": "Jane"}});
        user[key] = stats;
        Mock::given(method("GET"))
            .and(path(format!("/v2/people/{list}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"users": [user]})))
            .mount(&server)
            .await;
    }
    server
}

fn entity(identifier: &str, entity_type: &str) -> Value {
    json!({"identifier": identifier.to_ascii_uppercase(), "entity_type": entity_type,
           "additional_properties": {"OriginalIdentifier": identifier}})
}

async fn enrich(server: &MockServer, entities: Value, parameters: Value) -> Run {
    let request = json!({"action": "Enrich Entities", "case_id": "1042", "target_entities": entities,
                         "parameters": parameters, "configuration": config(&server.uri())});
    let run = run(&request).await;
    assert_no_secret(&run);
    run
}

async fn calls(server: &MockServer, prefix: &str) -> usize {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path().starts_with(prefix))
        .count()
}

#[tokio::test]
async fn entities_of_every_type_are_enriched() {
    let server = stub(&[]).await;
    let entities = json!([
        entity("http://klongkru.ac.th", "DestinationURL"),
        entity(FILE_THREAT, "FILEHASH"),
        entity(SIGNATURE, "THREATSIGNATURE"),
        {"identifier": "TORDAL", "entity_type": "THREATCAMPAIGN", "additional_properties": {"campaign_id": CAMPAIGN}},
        entity("jane.doe@example.com", "USERUNIQNAME"),
        entity("d41d8cd98f00b204e9800998ecf8427e", "FILEHASH"),
        entity("10.0.0.1", "ADDRESS")
    ]);
    let run = enrich(&server, entities, json!({})).await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    let flags: Vec<(&str, bool)> = run.envelope["enrichments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["entity_type"].as_str().unwrap(),
                e["is_suspicious"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        flags,
        [
            ("DestinationURL", true),
            ("FILEHASH", true),
            ("THREATSIGNATURE", false),
            ("THREATCAMPAIGN", true),
            ("USERUNIQNAME", true)
        ]
    );
    // The URL was found by its fourth candidate: the scheme off, a slash added.
    assert_eq!(run.envelope["json_result"][0]["threat_id"], URL_THREAT);
    // Each people list once, one page each.
    assert_eq!(calls(&server, "/v2/people/vap").await, 1);
    assert_eq!(calls(&server, "/v2/people/top-clickers").await, 1);
    assert_envelope!("enrich_every_type", run);
}

#[tokio::test]
async fn some_found_and_none_found() {
    let server = stub(&[]).await;
    let run = enrich(
        &server,
        json!([
            entity("https://unknown.example/a", "DestinationURL"),
            entity(SIGNATURE, "THREATSIGNATURE")
        ]),
        json!({"Lookup People": false}),
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    // An unknown URL costs at most four lookups; the signature one more.
    assert_eq!(calls(&server, "/v2/threat/summary/").await, 5);
    assert_envelope!("enrich_some_found", run);
    let run = enrich(
        &server,
        json!([entity("https://unknown.example/b", "DestinationURL")]),
        json!({}),
    )
    .await;
    assert_eq!(run.envelope["result_value"], false);
    assert_envelope!("enrich_none_found", run);
}

#[tokio::test]
async fn unauthorized_fails_the_action() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    let run = enrich(
        &server,
        json!([entity(SIGNATURE, "THREATSIGNATURE")]),
        json!({}),
    )
    .await;
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert_envelope!("enrich_unauthorized", run);
}

#[tokio::test]
async fn a_throttled_and_a_failing_lookup_are_named_and_the_rest_go_on() {
    let server = stub(&[
        (FILE_THREAT, ResponseTemplate::new(429)),
        (SIGNATURE, ResponseTemplate::new(500)),
    ])
    .await;
    let entities = json!([
        entity("klongkru.ac.th/", "DestinationURL"),
        entity(FILE_THREAT, "FILEHASH"),
        entity(SIGNATURE, "THREATSIGNATURE")
    ]);
    let run = enrich(&server, entities, json!({})).await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.error_codes(), ["rate_limited", "server_error"]);
    assert_envelope!("enrich_partial", run);
}

#[tokio::test]
async fn fifty_urls_spend_no_throttled_call() {
    let server = stub(&[]).await;
    let entities: Vec<Value> = (0..50)
        .map(|i| entity(&format!("https://host{i}.example/"), "DestinationURL"))
        .collect();
    let run = enrich(&server, json!(entities), json!({})).await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    let requests = server.received_requests().await.unwrap();
    assert!(requests
        .iter()
        .all(|r| r.url.path().starts_with("/v2/threat/summary/")));
    assert!(requests.len() <= 200, "{} lookups", requests.len());
}

#[tokio::test]
async fn forensics_of_the_threats_found_when_asked() {
    let server = stub(&[]).await;
    Mock::given(method("GET"))
        .and(path("/v2/forensics"))
        .and(wiremock::matchers::query_param("threatId", FILE_THREAT))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fixture("forensics_threat_mixed_types.json")),
        )
        .expect(1)
        .mount(&server)
        .await;
    let run = enrich(
        &server,
        json!([entity(FILE_THREAT, "FILEHASH"), entity("https://unknown.example/", "DestinationURL")]),
        json!({"Include Forensics": true, "Max Forensics Evidence To Return": 2, "Lookup People": false}),
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    let reports = run.envelope["json_result"][0]["forensics"]
        .as_array()
        .unwrap();
    let items: usize = reports
        .iter()
        .map(|r| r["forensics"].as_array().unwrap().len())
        .sum();
    assert_eq!(items, 2, "the limit holds");
    assert!(run.envelope["json_result"][1].get("forensics").is_none());
}

#[tokio::test]
async fn safe_link_wrapped_urls_are_looked_up_as_their_targets() {
    use proofpoint_tap::unwrap::encode::{v3, wrap};
    use proofpoint_tap::unwrap::Layer;
    let server = stub(&[]).await;
    // As mail gateways leave them: Safe Links around URL Defense, and FireEye.
    let safe_links = wrap(Layer::SafeLinks, &v3("http://klongkru.ac.th")).unwrap();
    let fireeye = wrap(Layer::FireEye, "http://klongkru.ac.th/").unwrap();
    let entities = json!([
        entity(&safe_links, "DestinationURL"),
        entity(&fireeye, "DestinationURL")
    ]);
    let run = enrich(&server, entities, json!({"Lookup People": false})).await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    let found: Vec<&Value> = run.envelope["json_result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["threat_id"])
        .collect();
    assert_eq!(found, [URL_THREAT, URL_THREAT]);
    assert_envelope!("enrich_wrapped_urls", run);
}
