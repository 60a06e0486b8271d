//! The command line as people type it (SPEC §1): `ACTION` as `run ACTION`, `actions ACTION`,
//! completions, `--help`, and what a mistyped word gets.

use crate::common::*;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn command(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_proofpoint-tap"))
        .args(args)
        .stdin(std::process::Stdio::null())
        .env_remove("PROOFPOINT_TAP_LOG")
        .env_remove("RUST_LOG")
        .output()
        .expect("the binary runs")
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A TAP stub that answers Ping.
async fn ping_stub() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/campaign/00000000-0000-0000-0000-000000000000"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn an_action_is_a_subcommand() {
    let server = ping_stub().await;
    let uri = server.uri();
    let env = [
        ("PROOFPOINT_TAP_API_ROOT", uri.as_str()),
        ("PROOFPOINT_TAP_PRINCIPAL", PRINCIPAL),
        ("PROOFPOINT_TAP_SECRET", SECRET),
    ];
    // With the flags after the action, and by its display name.
    let run = run_with(&["ping", "--pretty"], b"{}", &env).await;
    assert_eq!(
        run.envelope["execution_state"], "completed",
        "{}",
        run.stdout
    );
    assert!(run.stdout.starts_with("{\n  \""), "{}", run.stdout);
    let example = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/actions/examples/decode_url.json"
    ))
    .expect("the example is checked in");
    let run = run_with(&["Decode URL"], &example, &[]).await;
    assert_eq!(run.envelope["action"], "decode_url");
    assert_eq!(
        run.envelope["execution_state"], "completed",
        "{}",
        run.stdout
    );
    // The action named here and another in the request: refused, as with `run ACTION`.
    let run = run_with(
        &["ping"],
        json!({"action": "decode_url"}).to_string().as_bytes(),
        &[],
    )
    .await;
    assert_eq!(run.code, 2);
    assert_eq!(run.error_codes(), ["invalid_request"]);
}

#[test]
fn a_word_that_is_neither_gets_a_usage_error_with_a_tip() {
    let out = command(&["pign"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "no envelope for a usage error");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("'pign' is neither a subcommand nor an action"),
        "{stderr}"
    );
    assert!(stderr.contains("a similar one exists: 'ping'"), "{stderr}");
    let out = command(&["ping", "--no-such-flag"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let out = command(&["actions", "no_such_action"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
}

#[test]
fn one_actions_parameters_as_a_table() {
    for (name, given) in [
        ("actions_get_campaign", "get_campaign"),
        ("actions_decode_url", "ProofPointTAP_DecodeURL"),
        ("actions_ping", "Ping"),
    ] {
        let out = command(&["actions", given]);
        assert!(out.status.success(), "{given}");
        insta::assert_snapshot!(name, stdout(&out));
    }
    let out = command(&["actions", "get_campaign", "--json"]);
    let def: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(def["name"], "Get Campaign");
}

#[test]
fn help_shows_examples_environment_and_exit_statuses() {
    let out = command(&["--help"]);
    assert!(out.status.success());
    insta::assert_snapshot!("help", stdout(&out));
}

#[test]
fn completions_for_every_shell() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = command(&["completions", shell]);
        assert!(out.status.success(), "{shell}");
        let script = stdout(&out);
        assert!(
            script.contains("proofpoint-tap") && script.contains("completions"),
            "{shell}"
        );
    }
    let out = command(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
}

/// `PROOFPOINT_TAP_LOG=debug` is this program's events, each naming the run's action and case, with
/// no source paths; the HTTP stack's own events appear only at `trace`.
#[tokio::test]
async fn logs_a_person_can_read() {
    let server = ping_stub().await;
    let uri = server.uri();
    let request = json!({"action": "ping", "case_id": 1042}).to_string();
    for (level, format) in [
        ("debug", "text"),
        ("debug", "json"),
        ("trace", "text"),
        ("trace", "json"),
    ] {
        let env = [
            ("PROOFPOINT_TAP_API_ROOT", uri.as_str()),
            ("PROOFPOINT_TAP_PRINCIPAL", PRINCIPAL),
            ("PROOFPOINT_TAP_SECRET", SECRET),
            ("PROOFPOINT_TAP_LOG", level),
        ];
        let run = run_with(&["--log-format", format], request.as_bytes(), &env).await;
        assert_eq!(
            run.envelope["execution_state"], "completed",
            "{}",
            run.stdout
        );
        let lines: Vec<&str> = run.stderr.lines().collect();
        assert!(
            lines.iter().any(|l| l.contains("TAP answered")),
            "{level} {format}: {}",
            run.stderr
        );
        for line in &lines {
            let context = match format {
                "text" => line.contains(r#"run{action="ping" case_id="1042"}"#),
                _ => line.contains(r#""span":{"action":"ping","case_id":"1042","name":"run"}"#),
            };
            assert!(context, "{level} {format}: a line without its run: {line}");
            assert!(
                !line.contains(".rs") && !line.contains("log.file") && !line.contains("/src/"),
                "{level} {format}: a source path: {line}"
            );
        }
        let dependencies = lines.iter().filter(|l| l.contains("hyper")).count();
        match level {
            "debug" => assert_eq!(dependencies, 0, "{format}: {}", run.stderr),
            _ => assert!(dependencies > 0, "{format}: {}", run.stderr),
        }
    }
}
