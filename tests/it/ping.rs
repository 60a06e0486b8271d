//! Ping through the real binary against a local stub of the TAP API.

use crate::common::*;
use serde_json::json;
use wiremock::matchers::{basic_auth, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const PING_PATH: &str = "/v2/campaign/00000000-0000-0000-0000-000000000000";

async fn stub(status: u16, body: &str, expect: u64) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(PING_PATH))
        .and(basic_auth(PRINCIPAL, SECRET))
        .and(header("accept", "application/json"))
        .respond_with(ResponseTemplate::new(status).set_body_string(body))
        .expect(expect)
        .mount(&server)
        .await;
    server
}

fn ping(uri: &str) -> serde_json::Value {
    json!({"action": "ping", "case_id": 1042, "alert_group_identifiers": ["ALERT_1"],
           "configuration": config(uri)})
}

#[tokio::test]
async fn ping_succeeds_on_404_for_the_all_zero_campaign() {
    let server = stub(404, "The campaign ID or threat ID does not exist.", 1).await;
    let run = run(&ping(&server.uri())).await;
    assert_eq!(run.code, 0);
    assert_eq!(run.envelope["metrics"]["http_requests"], 1);
    assert_envelope!("ping_success", run);
}

#[tokio::test]
async fn ping_succeeds_on_200() {
    let server = stub(200, "{}", 1).await;
    let run = run(&ping(&server.uri())).await;
    assert_eq!(run.code, 0);
    assert_eq!(run.envelope["execution_state"], "completed");
}

#[tokio::test]
async fn ping_keeps_the_api_root_path_prefix() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/tap{PING_PATH}")))
        .respond_with(ResponseTemplate::new(404))
        .expect(1)
        .mount(&server)
        .await;
    let run = run(&ping(&format!("{}/tap/", server.uri()))).await;
    assert_eq!(
        run.envelope["execution_state"], "completed",
        "{}",
        run.stdout
    );
}

#[tokio::test]
async fn ping_unauthorized() {
    let server = stub(401, r#"{"message": "access denies"}"#, 1).await;
    let run = run(&ping(&server.uri())).await;
    assert_eq!(run.code, 1);
    assert_no_secret(&run);
    assert_envelope!("ping_unauthorized", run);
}

#[tokio::test]
async fn ping_rate_limited_is_not_retried() {
    let server = stub(429, "", 1).await;
    let run = run(&ping(&server.uri())).await;
    assert_eq!(run.code, 1);
    assert_envelope!("ping_rate_limited", run);
}

#[tokio::test]
async fn ping_server_error() {
    let server = stub(500, "oops", 1).await;
    let run = run(&ping(&server.uri())).await;
    assert_eq!(run.code, 1);
    assert_envelope!("ping_server_error", run);
}

#[tokio::test]
async fn ping_connection_refused() {
    // Nothing listens on port 1 of the loopback address.
    let run = run(&ping("http://127.0.0.1:1")).await;
    assert_eq!(run.code, 1);
    assert_eq!(
        run.envelope["metrics"]["http_requests"], 3,
        "connection errors are retried twice"
    );
    assert_envelope!("ping_connection_refused", run);
}

#[tokio::test]
async fn ping_without_credentials() {
    let run =
        run(&json!({"action": "ping", "configuration": {"api_root": "http://127.0.0.1:1"}})).await;
    assert_eq!(run.code, 1);
    assert_eq!(run.envelope["metrics"]["http_requests"], 0);
    assert_envelope!("ping_missing_configuration", run);
}

#[tokio::test]
async fn ping_takes_configuration_from_the_environment() {
    let server = stub(404, "", 1).await;
    let uri = server.uri();
    let env = [
        ("PROOFPOINT_TAP_API_ROOT", uri.as_str()),
        ("PROOFPOINT_TAP_PRINCIPAL", PRINCIPAL),
        ("PROOFPOINT_TAP_SECRET", SECRET),
    ];
    let run = run_with(&["run", "Ping"], b"{}", &env).await;
    assert_eq!(run.code, 0, "{}", run.stdout);
}

#[tokio::test]
async fn ping_refuses_a_plain_http_api_root_before_connecting() {
    let run = run(&ping("http://tap-api-v2.proofpoint.com")).await;
    assert_eq!(run.code, 1);
    assert_eq!(run.envelope["metrics"]["http_requests"], 0);
    assert_envelope!("ping_insecure_api_root", run);
}

#[tokio::test]
async fn the_secret_stays_out_of_logs_at_trace_level() {
    for status in [200, 401, 500] {
        let server = stub(status, "{}", 1).await;
        let run = run_with(
            &["--log-format", "json"],
            ping(&server.uri()).to_string().as_bytes(),
            &[("PROOFPOINT_TAP_LOG", "trace")],
        )
        .await;
        assert!(!run.stderr.is_empty(), "trace logging produced lines");
        assert_no_secret(&run);
    }
    let run = run_with(
        &[],
        ping("http://127.0.0.1:1").to_string().as_bytes(),
        &[("RUST_LOG", "trace")],
    )
    .await;
    assert!(
        run.stderr.contains("retrying TAP request"),
        "retries are logged: {}",
        run.stderr
    );
    assert_no_secret(&run);
}

#[tokio::test]
async fn pretty_output_is_one_indented_document() {
    let server = stub(404, "", 1).await;
    let run = run_with_pretty(ping(&server.uri())).await;
    assert!(run.starts_with("{\n  \"action\": \"ping\""), "{run}");
    assert!(run.ends_with("}\n"));
    let _: serde_json::Value = serde_json::from_str(&run).unwrap();
}

async fn run_with_pretty(request: serde_json::Value) -> String {
    use std::process::Stdio;
    use tokio::io::AsyncWriteExt;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_proofpoint-tap"))
        .arg("--pretty")
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(request.to_string().as_bytes())
        .await
        .unwrap();
    drop(stdin);
    String::from_utf8(child.wait_with_output().await.unwrap().stdout).unwrap()
}

/// Platforms add configuration keys of their own: each is ignored, named in one warning line.
#[tokio::test]
async fn platform_configuration_keys_are_ignored_with_one_warning() {
    let server = stub(404, "", 1).await;
    let mut request = ping(&server.uri());
    request["configuration"]["AgentIdentifier"] = json!("agent-7");
    request["configuration"]["Region"] = json!("eu");
    let run = run(&request).await;
    assert_eq!(
        run.envelope["execution_state"], "completed",
        "{}",
        run.stdout
    );
    let warnings: Vec<&str> = run.stderr.lines().filter(|l| l.contains("WARN")).collect();
    assert_eq!(warnings.len(), 1, "{}", run.stderr);
    assert!(
        warnings[0].contains("\"AgentIdentifier\"") && warnings[0].contains("\"Region\""),
        "{}",
        warnings[0]
    );
    assert!(!run.stderr.contains(SECRET));
}

/// A key two edits from one of ours is a typo, not a platform's key: refused, naming the meant one.
#[tokio::test]
async fn a_near_miss_configuration_key_names_the_meant_one() {
    for (typo, meant) in [
        ("api_rot", "api_root"),
        ("Verify SLL", "verify_ssl"),
        ("usrname", "username"),
    ] {
        let request = json!({"action": "ping", "configuration": {typo: "x"}});
        let run = run(&request).await;
        assert_eq!(run.code, 1, "{typo}");
        let message = run.envelope["errors"][0]["message"]
            .as_str()
            .unwrap_or_default();
        assert!(
            message.contains(&format!(
                "Unknown configuration key \"{typo}\". Did you mean"
            )) && message.contains(&format!("({meant})?")),
            "{typo}: {message}"
        );
    }
}

/// The shipped example, run as a newcomer would with the environment set, goes where the
/// environment says: examples carry no configuration to override it.
#[tokio::test]
async fn the_shipped_example_runs_on_the_environment() {
    let server = stub(404, "", 1).await;
    let example = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/actions/examples/ping.json"
    ))
    .expect("the example is checked in");
    let uri = server.uri();
    let env = [
        ("PROOFPOINT_TAP_API_ROOT", uri.as_str()),
        ("PROOFPOINT_TAP_PRINCIPAL", PRINCIPAL),
        ("PROOFPOINT_TAP_SECRET", SECRET),
    ];
    let run = run_with(&[], &example, &env).await;
    assert_eq!(
        run.envelope["execution_state"], "completed",
        "{}",
        run.stdout
    );
}
