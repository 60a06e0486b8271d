//! Every way a request can be unusable gets one `failed` envelope that says what to fix, through
//! the real binary.

use crate::common::*;
use serde_json::json;

async fn bad(name: &str, stdin: &[u8], args: &[&str], exit: i32) {
    let run = run_with(args, stdin, &[]).await;
    assert_eq!(run.code, exit, "{name}: {}", run.stdout);
    assert_eq!(run.envelope["execution_state"], "failed", "{name}");
    assert_eq!(run.envelope["metrics"]["http_requests"], 0, "{name}");
    assert_envelope!(name, run);
}

#[tokio::test]
async fn empty_stdin() {
    bad("empty_stdin", b"", &[], 2).await;
}

#[tokio::test]
async fn not_json() {
    bad("not_json", b"action=ping", &[], 2).await;
}

#[tokio::test]
async fn not_an_object() {
    bad("not_an_object", br#"["ping"]"#, &[], 2).await;
}

#[tokio::test]
async fn wrong_field_types() {
    let request = json!({"action": "ping", "case_id": "7", "alert_group_identifiers": ["A"],
                         "target_entities": {"identifier": "x"}});
    bad(
        "wrong_field_type_target_entities",
        request.to_string().as_bytes(),
        &[],
        2,
    )
    .await;
    let request = json!({"action": "ping", "case_id": 1.5});
    bad(
        "wrong_field_type_case_id",
        request.to_string().as_bytes(),
        &[],
        2,
    )
    .await;
    let request = json!({"action": "ping", "parameters": ["a"]});
    bad(
        "wrong_field_type_parameters",
        request.to_string().as_bytes(),
        &[],
        2,
    )
    .await;
    let request = json!({"action": 7});
    bad(
        "wrong_field_type_action",
        request.to_string().as_bytes(),
        &[],
        2,
    )
    .await;
}

#[tokio::test]
async fn unknown_action() {
    let request = json!({"action": "Delete Everything", "case_id": "12"});
    bad("unknown_action", request.to_string().as_bytes(), &[], 2).await;
}

#[tokio::test]
async fn missing_action() {
    bad("missing_action", br#"{"case_id": "12"}"#, &[], 2).await;
}

#[tokio::test]
async fn command_line_and_request_disagree() {
    bad(
        "action_mismatch",
        br#"{"action": "ping"}"#,
        &["run", "decode-it"],
        2,
    )
    .await;
}

#[tokio::test]
async fn unknown_parameter() {
    let request = json!({"action": "ping", "parameters": {"verbose": true}});
    bad("unknown_parameter", request.to_string().as_bytes(), &[], 1).await;
}

#[tokio::test]
async fn unknown_configuration_key() {
    let request = json!({"action": "ping", "configuration": {"Api Rooot": "https://x.example"}});
    bad(
        "unknown_configuration_key",
        request.to_string().as_bytes(),
        &[],
        1,
    )
    .await;
}

#[tokio::test]
async fn unknown_scope() {
    let request = json!({"action": "ping", "scope": "Suspicious entities"});
    bad("unknown_scope", request.to_string().as_bytes(), &[], 2).await;
}

#[tokio::test]
async fn oversized_input() {
    let mut big = b"{\"action\": \"ping\", \"pad\": \"".to_vec();
    big.resize(16 * 1024 * 1024 + 10, b'a');
    big.extend_from_slice(b"\"}");
    bad("oversized_input", &big, &[], 2).await;
}

#[tokio::test]
async fn a_bom_is_tolerated() {
    let run = run_with(
        &[],
        b"\xEF\xBB\xBF{\"action\": \"ping\", \"case_id\": \"3\"}",
        &[],
    )
    .await;
    assert_eq!(run.envelope["errors"][0]["code"], "missing_configuration");
}

#[tokio::test]
async fn usage_errors_print_no_envelope() {
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_proofpoint-tap"))
        .arg("--no-such-flag")
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
    assert!(run.stdout.is_empty());
    assert!(String::from_utf8_lossy(&run.stderr).contains("--no-such-flag"));
}
