//! Test harness: runs the real binary with piped stdin and a clean environment, and checks that
//! stdout holds exactly one JSON document followed by a newline.
#![allow(dead_code)]

pub mod stub;

use std::process::Stdio;

use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

/// The service principal every stub expects.
pub const PRINCIPAL: &str = "svc-principal-7f3a";
/// The secret every stub expects; tests assert it never reaches stdout or stderr.
pub const SECRET: &str = "S3cr3t-TAP-value-91d2c";

/// What one run of the binary produced.
pub struct Run {
    /// The envelope parsed from stdout.
    pub envelope: Value,
    /// stdout as written.
    pub stdout: String,
    /// stderr as written.
    pub stderr: String,
    /// Exit status.
    pub code: i32,
}

/// Runs `proofpoint-tap ARGS` with `stdin` piped in and only `env` set.
pub async fn run_with(args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_proofpoint-tap"))
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut pipe = child.stdin.take().expect("stdin is piped");
    let input = stdin.to_vec();
    // The binary may stop reading early (oversized input): a broken pipe here is expected.
    let writer = tokio::spawn(async move {
        let _ = pipe.write_all(&input).await;
    });
    let output = child.wait_with_output().await.expect("the binary runs");
    writer.await.expect("writer finished");
    let stdout = String::from_utf8(output.stdout).expect("stdout is UTF-8");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let code = output.status.code().expect("exited normally");
    if args
        .first()
        .is_some_and(|a| *a == "actions" || *a == "schema")
    {
        return Run {
            envelope: Value::Null,
            stdout,
            stderr,
            code,
        };
    }
    assert!(
        stdout.ends_with('\n'),
        "stdout ends with a newline: {stdout:?}"
    );
    assert_eq!(
        stdout.trim_end_matches('\n').matches('\n').count(),
        0,
        "exactly one line on stdout without --pretty: {stdout:?}"
    );
    let envelope: Value = serde_json::from_str(&stdout).expect("stdout is one JSON document");
    Run {
        envelope,
        stdout,
        stderr,
        code,
    }
}

/// Runs `proofpoint-tap` (default `run`) with `request` on stdin.
pub async fn run(request: &Value) -> Run {
    run_with(&[], request.to_string().as_bytes(), &[]).await
}

/// A configuration pointing at `uri` with the test credentials.
pub fn config(uri: &str) -> Value {
    serde_json::json!({"api_root": uri, "username": PRINCIPAL, "password": SECRET})
}

/// Asserts the secret and its Basic auth form appear nowhere in the run's output.
pub fn assert_no_secret(run: &Run) {
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{PRINCIPAL}:{SECRET}"));
    for (name, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        assert!(!text.contains(SECRET), "the secret leaked to {name}");
        assert!(
            !text.contains(&basic),
            "the Basic auth header leaked to {name}"
        );
    }
}

/// Snapshot of a whole envelope with only `metrics` redacted.
#[macro_export]
macro_rules! assert_envelope {
    ($name:expr, $run:expr) => {
        insta::assert_json_snapshot!($name, $run.envelope, {".metrics" => "[metrics]"})
    };
}
