//! Random bytes and random JSON through the whole request path, in process: every input gets
//! exactly one envelope that serializes to one line of JSON, and nothing panics.
//!
//! No input can reach a network: credentials are removed from every generated configuration and
//! the environment offers none, so every action that would call TAP stops at the credential check.

use proofpoint_tap::runner;
use proptest::prelude::*;
use serde_json::{Map, Value};

const KEYS: &[&str] = &[
    "action",
    "case_id",
    "alert_group_identifiers",
    "target_entities",
    "scope",
    "parameters",
    "configuration",
    "execution_deadline_unix_time_ms",
    "identifier",
    "entity_type",
    "additional_properties",
    "Identifier",
    "EntityType",
    "OriginalIdentifier",
    "encoded_urls",
    "Encoded URLs",
    "decode_mode",
    "create_url_entities",
    "campaign_id",
    "Campaign ID",
    "fetch_forensics_info",
    "forensic_evidence_type_filter",
    "max_forensics_evidence_to_return",
    "api_root",
    "verify_ssl",
    "timeout_seconds",
    "max_concurrency",
    "x",
];

const WORDS: &[&str] = &[
    "ping",
    "decode_url",
    "Decode URL",
    "get_campaign",
    "ProofPointTAP_GetCampaign",
    "All URLs",
    "All entities",
    "DestinationURL",
    "local",
    "auto",
    "api",
    "true",
    "FALSE",
    "50",
    "-1",
    "1001",
    "aa9b3d62-4d72-4ebc-8f39-3da3833e7038",
    "url, dns",
    "https://urldefense.com/v3/__https://x.example/*__;Kw!!o!s$",
    "https://urldefense.proofpoint.com/v2/url?u=http-3A__x.example_&d=1",
    "",
    " ",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        proptest::sample::select(WORDS).prop_map(Value::from),
        any::<String>().prop_map(Value::from),
    ]
}

fn json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((proptest::sample::select(KEYS), inner), 0..8).prop_map(
                |pairs| {
                    Value::Object(
                        pairs
                            .into_iter()
                            .map(|(k, v)| (k.to_owned(), v))
                            .collect::<Map<_, _>>(),
                    )
                }
            ),
        ]
    })
}

/// Removes anything that could let a request reach a server: credentials, and any API root.
fn disarm(value: &mut Value) {
    if let Some(object) = value.as_object_mut() {
        let mut configuration = Map::new();
        configuration.insert("api_root".into(), Value::from("http://127.0.0.1:1"));
        object.insert("configuration".into(), Value::Object(configuration));
    }
}

fn check(input: Vec<u8>) -> Result<(), TestCaseError> {
    let envelope = runner::catching(|| runner::execute(input, None, &|_| None));
    prop_assert_eq!(envelope.metrics.http_requests, 0);
    let text = serde_json::to_string(&envelope).expect("the envelope serializes");
    prop_assert!(!text.contains('\n'));
    let back: Value = serde_json::from_str(&text).expect("and parses back");
    prop_assert!(back["errors"].is_array() && back["tables"].is_array());
    if runner::exit_status(&envelope) != runner::ExitStatus::Success {
        prop_assert!(!envelope.errors.is_empty(), "a failure says why");
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut value: Value = match serde_json::from_slice(&bytes) { Ok(v) => v, Err(_) => Value::Null };
        if value.is_object() {
            disarm(&mut value);
            check(value.to_string().into_bytes())?;
        } else {
            check(bytes)?;
        }
    }

    #[test]
    fn random_json(mut value in json(), action in proptest::sample::select(WORDS)) {
        if let Some(object) = value.as_object_mut() {
            object.entry("action").or_insert(Value::from(action));
        }
        disarm(&mut value);
        check(value.to_string().into_bytes())?;
    }
}
