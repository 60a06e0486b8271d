//! The shipped JSON Schemas against the binary: every example request validates, and a table of
//! requests is accepted or refused alike by a real JSON Schema validator and by the binary.

use std::path::Path;

use crate::common::*;
use serde_json::{json, Value};

fn schema(name: &str) -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("schemas")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    jsonschema::validator_for(&serde_json::from_str(&text).expect("JSON")).expect("a valid schema")
}

/// Whether the shipped schemas accept `request`: the request schema, the action's parameter
/// schema for `parameters`, the configuration schema for `configuration`.
fn schemas_accept(request: &Value) -> bool {
    let action = request["action"]
        .as_str()
        .expect("the table names actions canonically");
    schema("request.schema.json").is_valid(request)
        && schema(&format!("{action}.parameters.schema.json"))
            .is_valid(request.get("parameters").unwrap_or(&json!({})))
        && schema("configuration.schema.json")
            .is_valid(request.get("configuration").unwrap_or(&json!({})))
}

/// Whether the binary accepts `request`: it may fail for want of credentials, but not because the
/// request, a parameter or a configuration key is wrong.
async fn binary_accepts(request: &Value) -> bool {
    let run = run_with(&[], request.to_string().as_bytes(), &[]).await;
    !run.error_codes()
        .iter()
        .any(|c| ["invalid_request", "invalid_parameter", "unknown_action"].contains(c))
}

#[tokio::test]
async fn every_example_request_validates() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("actions/examples");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).expect("the examples are checked in") {
        let path = entry.expect("an entry").path();
        let request: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert!(
            schemas_accept(&request),
            "{} fails its schemas",
            path.display()
        );
        assert!(
            binary_accepts(&request).await,
            "{} is refused",
            path.display()
        );
        seen += 1;
    }
    assert!(seen >= 11, "{seen}");
}

const CAMPAIGN: &str = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";

/// What the schemas cannot say, and the table leaves out: checks that depend on the time or on the
/// entities (a Message Time within the last week, a campaign id from the parameter or the
/// entities), a parameter given twice with different values, a configuration key two edits from
/// one of ours (refused by the binary, let through by the schema), an unknown scope.
#[tokio::test]
async fn schemas_and_binary_agree() {
    let url = "https://urldefense.com/v3/__https://x.example/__;!!o!s$";
    let local = |parameters: Value| {
        json!({"action": "decode_url", "parameters": {"decode_mode": "local", "encoded_urls": url}})
            .as_object()
            .cloned()
            .map(|mut r| {
                r["parameters"]
                    .as_object_mut()
                    .unwrap()
                    .extend(parameters.as_object().unwrap().clone());
                Value::Object(r)
            })
            .unwrap()
    };
    let entity = |e: Value| json!({"action": "decode_url", "target_entities": [e], "parameters": {"decode_mode": "local"}});
    let table: Vec<(&str, Value, bool)> = vec![
        (
            "display-name key",
            local(json!({"Create URL Entities": false})),
            true,
        ),
        (
            "upper-case key",
            local(json!({"CREATE_URL_ENTITIES": false})),
            true,
        ),
        (
            "string boolean, any case",
            local(json!({"create_url_entities": "tRuE"})),
            true,
        ),
        (
            "boolean that is none",
            local(json!({"create_url_entities": "yes"})),
            false,
        ),
        (
            "choice in another case",
            local(json!({"decode_mode": "Local"})),
            true,
        ),
        (
            "choice that is none",
            local(json!({"decode_mode": "remote"})),
            false,
        ),
        (
            "empty value: the default",
            local(json!({"create_url_entities": ""})),
            true,
        ),
        ("unknown parameter", local(json!({"bogus": 1})), false),
        (
            "near-miss parameter",
            local(json!({"create_url_entitie": true})),
            false,
        ),
        (
            "PascalCase entity",
            entity(json!({"Identifier": url, "EntityType": "DestinationURL"})),
            true,
        ),
        (
            "PascalCase entity with properties",
            entity(
                json!({"Identifier": "X", "EntityType": "DestinationURL", "AdditionalProperties": {"OriginalIdentifier": url}}),
            ),
            true,
        ),
        (
            "entity with null properties",
            entity(
                json!({"identifier": url, "entity_type": "DestinationURL", "additional_properties": null}),
            ),
            true,
        ),
        (
            "entity without identifier",
            entity(json!({"entity_type": "DestinationURL"})),
            false,
        ),
        (
            "entity field twice",
            entity(json!({"identifier": url, "Identifier": url, "entity_type": "DestinationURL"})),
            false,
        ),
        (
            "integer case id",
            json!({"action": "ping", "case_id": 1042}),
            true,
        ),
        (
            "object case id",
            json!({"action": "ping", "case_id": {}}),
            false,
        ),
        (
            "numeric string in range",
            json!({"action": "get_campaign", "parameters": {"campaign_id": CAMPAIGN, "Max Forensics Evidence To Return": "1000"}}),
            true,
        ),
        (
            "number out of range",
            json!({"action": "get_campaign", "parameters": {"campaign_id": CAMPAIGN, "max_forensics_evidence_to_return": 5000}}),
            false,
        ),
        (
            "numeric string out of range",
            json!({"action": "list_campaigns", "parameters": {"max_campaigns": " 201 "}}),
            false,
        ),
        (
            "zero",
            json!({"action": "search_events", "parameters": {"max_events": 0}}),
            false,
        ),
        (
            "a platform's configuration key",
            json!({"action": "ping", "configuration": {"AgentIdentifier": "a-7"}}),
            true,
        ),
        (
            "configuration out of range",
            json!({"action": "ping", "configuration": {"timeout_seconds": 0}}),
            false,
        ),
        (
            "configuration display name",
            json!({"action": "ping", "configuration": {"Verify SSL": "False"}}),
            true,
        ),
    ];
    for (what, request, expected) in table {
        assert_eq!(
            schemas_accept(&request),
            expected,
            "{what}: the schemas, on {request}"
        );
        assert_eq!(
            binary_accepts(&request).await,
            expected,
            "{what}: the binary, on {request}"
        );
    }
}
