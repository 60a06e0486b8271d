//! Test harness: runs the real binary with piped stdin and a clean environment, and checks that
//! stdout holds exactly one JSON document followed by a newline.
#![allow(dead_code)]

pub mod stub;

use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

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

impl Run {
    /// The codes of the envelope's `errors`, in order.
    pub fn error_codes(&self) -> Vec<&str> {
        self.envelope["errors"]
            .as_array()
            .expect("errors is a list")
            .iter()
            .map(|e| e["code"].as_str().expect("each error has a code"))
            .collect()
    }
}

/// Runs `proofpoint-tap ARGS` with `stdin` piped in and only `env` set.
pub async fn run_with(args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> Run {
    run_measured(args, stdin, env).await.0
}

/// As [`run_with`], and the process's peak resident memory in KiB, read from outside
/// (`VmHWM` of `/proc/PID/status`, sampled every 5 ms while it runs).
pub async fn run_measured(args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> (Run, u64) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_proofpoint-tap"))
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let pid = child.id().expect("a running child has a pid");
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let done = done.clone();
        tokio::spawn(async move {
            let mut peak = 0u64;
            while !done.load(Ordering::SeqCst) {
                if let Some(kib) = peak_rss_kib(pid) {
                    peak = peak.max(kib);
                }
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            peak
        })
    };
    let mut pipe = child.stdin.take().expect("stdin is piped");
    let input = stdin.to_vec();
    // The binary may stop reading early (oversized input): a broken pipe here is expected.
    let writer = tokio::spawn(async move {
        let _ = pipe.write_all(&input).await;
    });
    let output = child.wait_with_output().await.expect("the binary runs");
    done.store(true, Ordering::SeqCst);
    let peak = sampler.await.expect("sampler finished");
    writer.await.expect("writer finished");
    (finish(args, output), peak)
}

/// `VmHWM` (peak resident set) of a running process, in KiB.
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn finish(args: &[&str], output: std::process::Output) -> Run {
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
    if !args.contains(&"--pretty") {
        assert_eq!(
            stdout.trim_end_matches('\n').matches('\n').count(),
            0,
            "exactly one line on stdout without --pretty: {stdout:?}"
        );
    }
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

/// A fixture of `tests/fixtures/`, built from real TAP bodies.
pub fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect("the fixture exists"))
        .expect("the fixture is JSON")
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
