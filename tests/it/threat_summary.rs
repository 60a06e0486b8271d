//! Get Threat Summary through the real binary against a local stub of the TAP API.

use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::*;

const URL_THREAT: &str = "d22be456cbc0a0e5d900696c36c92c547bea13cc76d32b63ed85b4fc5704d9cb";
const FILE_THREAT: &str = "3f8e5b2b1c0bd3e1f0c0c49a5ac4a1f3d7a0a59cba8f4c3c3b9e6e0f2a1b4c5d";
const UNKNOWN: &str = "0000000000000000000000000000000000000000000000000000000000000001";

/// The sample summary under another id, name and verdict.
fn summary(id: &str, name: &str, category: &str, status: &str) -> Value {
    let mut s = fixture("threat_summary.json");
    s["id"] = json!(id);
    s["name"] = json!(name);
    s["category"] = json!(category);
    s["status"] = json!(status);
    s
}

async fn stub(answers: &[(&str, ResponseTemplate)]) -> MockServer {
    let server = MockServer::start().await;
    for (id, answer) in answers {
        Mock::given(method("GET"))
            .and(path(format!("/v2/threat/summary/{id}")))
            .respond_with(answer.clone())
            .mount(&server)
            .await;
    }
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    server
}

fn found(id: &str, name: &str, category: &str, status: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(summary(id, name, category, status))
}

async fn summaries(server: &MockServer, parameters: Value, entities: Value) -> Run {
    let request = json!({"action": "Get Threat Summary", "case_id": "1042",
                         "target_entities": entities, "parameters": parameters,
                         "configuration": config(&server.uri())});
    let run = run(&request).await;
    assert_no_secret(&run);
    run
}

#[tokio::test]
async fn all_found() {
    let server = stub(&[
        (
            URL_THREAT,
            found(URL_THREAT, "klongkru.ac.th/", "phish", "active"),
        ),
        (
            FILE_THREAT,
            found(FILE_THREAT, "invoice.xlsm", "spam", "active"),
        ),
    ])
    .await;
    let ids = format!("{URL_THREAT}, {}", FILE_THREAT.to_ascii_uppercase());
    let run = summaries(
        &server,
        json!({"Threat ID": ids, "Create Entities": true}),
        json!([]),
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(
        run.envelope["insights"][0]["severity"], "warn",
        "phish, active"
    );
    assert_eq!(run.envelope["insights"][1]["severity"], "info", "spam");
    assert_eq!(run.envelope["entities"][0]["is_suspicious"], true);
    assert_eq!(run.envelope["entities"][1]["is_suspicious"], false);
    assert_envelope!("summary_all_found", run);
}

#[tokio::test]
async fn some_found() {
    let server = stub(&[(
        URL_THREAT,
        found(URL_THREAT, "klongkru.ac.th/", "phish", "cleared"),
    )])
    .await;
    let run = summaries(
        &server,
        json!({"threat_id": [URL_THREAT, UNKNOWN]}),
        json!([]),
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.envelope["errors"][0]["code"], "not_found");
    assert_eq!(run.envelope["json_result"].as_array().unwrap().len(), 1);
    assert_envelope!("summary_some_found", run);
}

#[tokio::test]
async fn none_found() {
    let server = stub(&[]).await;
    let run = summaries(&server, json!({"threat_id": UNKNOWN}), json!([])).await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.envelope["result_value"], false);
    assert_envelope!("summary_none_found", run);
}

#[tokio::test]
async fn unauthorized_fails_the_action() {
    let server = stub(&[(URL_THREAT, ResponseTemplate::new(401))]).await;
    let run = summaries(
        &server,
        json!({"threat_id": [URL_THREAT, UNKNOWN]}),
        json!([]),
    )
    .await;
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert_eq!(run.envelope["errors"][0]["code"], "unauthorized");
    assert_envelope!("summary_unauthorized", run);
}

#[tokio::test]
async fn rate_limited_and_failing_items_are_named_and_the_rest_go_on() {
    let server = stub(&[
        (
            URL_THREAT,
            found(URL_THREAT, "klongkru.ac.th/", "phish", "active"),
        ),
        (FILE_THREAT, ResponseTemplate::new(429)),
        (UNKNOWN, ResponseTemplate::new(500)),
    ])
    .await;
    let run = summaries(
        &server,
        json!({"threat_id": [URL_THREAT, FILE_THREAT, UNKNOWN]}),
        json!([]),
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.error_codes(), ["rate_limited", "server_error"]);
    assert_envelope!("summary_rate_limited_and_server_error", run);
}

#[tokio::test]
async fn ids_come_from_the_entities_in_scope() {
    let server = stub(&[
        (
            URL_THREAT,
            found(URL_THREAT, "klongkru.ac.th/", "phish", "active"),
        ),
        (
            FILE_THREAT,
            found(FILE_THREAT, "invoice.xlsm", "malware", "active"),
        ),
    ])
    .await;
    let entities = json!([
        {"identifier": URL_THREAT.to_ascii_uppercase(), "entity_type": "THREATSIGNATURE"},
        {"Identifier": FILE_THREAT.to_ascii_uppercase(), "EntityType": "FILEHASH",
         "AdditionalProperties": {"OriginalIdentifier": FILE_THREAT}},
        {"identifier": "D41D8CD98F00B204E9800998ECF8427E", "entity_type": "FILEHASH"},
        {"identifier": "HTTPS://EXAMPLE.COM/", "entity_type": "DestinationURL"},
        {"identifier": "AA9B3D62-4D72-4EBC-8F39-3DA3833E7038", "entity_type": "THREATCAMPAIGN"},
        {"identifier": "USER@EXAMPLE.COM", "entity_type": "USERUNIQNAME"}
    ]);
    let run = summaries(&server, json!({"Create Entities": true}), entities).await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    let insights = run.envelope["insights"].as_array().unwrap();
    assert_eq!(insights.len(), 2);
    assert_eq!(
        insights[0]["entity_identifier"],
        URL_THREAT.to_ascii_uppercase()
    );
    assert_eq!(insights[1]["type"], "entity");
    assert!(run.envelope["output_message"]
        .as_str()
        .unwrap()
        .contains("ProofPoint TAP (ids from the entities in scope): "));
    assert_envelope!("summary_from_entities", run);
}

#[tokio::test]
async fn no_ids_anywhere_is_a_parameter_error() {
    let server = stub(&[]).await;
    let entities = json!([{"identifier": "HTTPS://EXAMPLE.COM/", "entity_type": "DestinationURL"}]);
    let run = summaries(&server, json!({}), entities).await;
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert_eq!(run.envelope["errors"][0]["code"], "invalid_parameter");
    assert_eq!(run.envelope["metrics"]["http_requests"], 0);
    assert_envelope!("summary_no_ids", run);
}
