//! What a hostile server, proxy or platform sends, through the real binary: each test holds one
//! hole closed (the cases of RELIABILITY.md's "hostile servers" table).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::stub::{Fault, Reply, Stub};
use crate::common::*;

/// A listener on loopback that counts connections and answers each with `reply`, then closes.
async fn raw_listener(reply: &'static [u8]) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = connections.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            let _ = socket.write_all(reply).await;
            let _ = socket.shutdown().await;
        }
    });
    (address, connections)
}

#[tokio::test]
async fn a_configuration_key_given_twice_is_refused() {
    let request = format!(
        r#"{{"action": "ping", "case_id": "7", "configuration": {{"api_root": "http://127.0.0.1:1", "username": "{PRINCIPAL}", "password": "first", "password": "{SECRET}"}}}}"#
    );
    let run = run_with(&[], request.as_bytes(), &[]).await;
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert_eq!(run.envelope["errors"][0]["code"], "invalid_request");
    assert_eq!(run.envelope["metrics"]["http_requests"], 0);
    assert_no_secret(&run);
    assert_envelope!("configuration_key_twice", run);
}

#[tokio::test]
async fn ping_refuses_a_2xx_that_is_not_json() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string("<html><body>Welcome to the hotel wifi</body></html>"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let run = run(&json!({"action": "ping", "configuration": config(&server.uri())})).await;
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert_eq!(run.envelope["errors"][0]["code"], "invalid_response");
    assert_envelope!("ping_non_json_2xx", run);
}

#[tokio::test]
async fn a_tls_failure_is_not_retried() {
    // Plain HTTP where TLS is expected: the handshake fails as it would on an untrusted certificate.
    let (address, connections) =
        raw_listener(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n").await;
    let run =
        run(&json!({"action": "ping", "configuration": config(&format!("https://{address}"))}))
            .await;
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert_eq!(run.envelope["errors"][0]["code"], "connection");
    assert_eq!(connections.load(Ordering::SeqCst), 1, "one try, no retry");
    assert_eq!(run.envelope["metrics"]["http_requests"], 1);
    let run = {
        let mut run = run;
        // The port differs between runs.
        let message = run.envelope["output_message"]
            .as_str()
            .unwrap()
            .replace(&address, "127.0.0.1:PORT");
        run.envelope["output_message"] = json!(message);
        let message = run.envelope["errors"][0]["message"]
            .as_str()
            .unwrap()
            .replace(&address, "127.0.0.1:PORT");
        run.envelope["errors"][0]["message"] = json!(message);
        run
    };
    assert_envelope!("tls_failure_not_retried", run);
}

/// A campaign id the stubs answer for.
const CAMPAIGN: &str = "aa9b3d62-4d72-4ebc-8f39-3da3833e7038";

fn get_campaign(uri: &str) -> serde_json::Value {
    json!({"action": "get_campaign", "case_id": "13",
           "parameters": {"campaign_id": CAMPAIGN, "fetch_forensics_info": false},
           "configuration": config(uri)})
}

#[tokio::test]
async fn an_endless_error_body_is_read_no_further_than_its_reason() {
    let stub = Stub::start(|_| Reply::json(400, Vec::new()).fault(Fault::Endless)).await;
    let started = std::time::Instant::now();
    let (run, peak_kib) =
        run_measured(&[], get_campaign(&stub.uri).to_string().as_bytes(), &[]).await;
    assert_eq!(
        run.envelope["errors"][0]["code"], "bad_request",
        "{}",
        run.stdout
    );
    // Before, the body was read whole until the 30 s timeout, growing by hundreds of MB a second.
    assert!(peak_kib < 64 * 1024, "peak RSS {peak_kib} KiB");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert_envelope!("endless_error_body", run);
}

/// Answers 400 with a page that echoes the request's headers, as WAFs and echo proxies do.
struct EchoHeaders;

impl wiremock::Respond for EchoHeaders {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        let mut page = String::from("Request rejected. Your request was:\n");
        // Not the host: its port changes from run to run.
        for (name, value) in request.headers.iter().filter(|(n, _)| n.as_str() != "host") {
            page.push_str(&format!("{name}: {}\n", value.to_str().unwrap_or("?")));
        }
        ResponseTemplate::new(400).set_body_string(page)
    }
}

#[tokio::test]
async fn credentials_echoed_by_the_server_are_redacted() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(EchoHeaders)
        .mount(&server)
        .await;
    let env = [("PROOFPOINT_TAP_LOG", "trace")];
    let run = run_with(
        &[],
        get_campaign(&server.uri()).to_string().as_bytes(),
        &env,
    )
    .await;
    assert_eq!(
        run.envelope["errors"][0]["code"], "bad_request",
        "{}",
        run.stdout
    );
    assert_no_secret(&run);
    assert!(
        run.stdout.contains("authorization: <redacted>"),
        "{}",
        run.stdout
    );
    assert_envelope!("echoed_credentials", run);

    // A message holding the secret itself, and its base64 form.
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{PRINCIPAL}:{SECRET}"));
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(400).set_body_json(
            json!({"message": format!("secret {SECRET} and token {basic} are not accepted")}),
        ))
        .mount(&server)
        .await;
    let run = run_with(
        &[],
        get_campaign(&server.uri()).to_string().as_bytes(),
        &env,
    )
    .await;
    assert_no_secret(&run);
    assert!(
        run.stdout
            .contains("secret <redacted> and token <redacted> are not accepted"),
        "{}",
        run.stdout
    );
}

#[tokio::test]
async fn a_loopback_api_root_never_goes_through_a_proxy() {
    let (proxy, proxied) = raw_listener(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}").await;
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(404))
        .expect(1)
        .mount(&server)
        .await;
    let proxy_url = format!("http://{proxy}");
    let env = [
        ("HTTP_PROXY", proxy_url.as_str()),
        ("http_proxy", proxy_url.as_str()),
        ("ALL_PROXY", proxy_url.as_str()),
        ("HTTPS_PROXY", proxy_url.as_str()),
    ];
    let request = json!({"action": "ping", "configuration": config(&server.uri())});
    let run = run_with(&[], request.to_string().as_bytes(), &env).await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(
        proxied.load(Ordering::SeqCst),
        0,
        "the proxy saw the credentials"
    );
}

#[tokio::test]
async fn tap_strings_reach_the_case_wall_escaped_and_without_controls() {
    let mut campaign: serde_json::Value = fixture("campaign.json");
    campaign["id"] = json!(CAMPAIGN);
    campaign["name"] = json!("\u{1b}[2J\u{1b}[31mUrgent\u{1b}[0m \u{202e}fdp.exe\u{202c} </script><script>alert(1)</script>");
    campaign["description"] = json!("line one\u{7}\u{85}\nline two");
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(campaign))
        .mount(&server)
        .await;
    let run = run(&get_campaign(&server.uri())).await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    let insight = &run.envelope["insights"][0];
    assert_eq!(
        insight["title"],
        "[2J[31mUrgent[0m fdp.exe &lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;"
    );
    for text in [
        &run.envelope["output_message"],
        &insight["content"],
        &run.envelope["tables"],
    ] {
        let text = text.to_string();
        for bad in ["\\u001b", "\u{202e}", "\\u0007", "\u{85}"] {
            assert!(!text.contains(bad), "{bad:?} in {text}");
        }
    }
    assert!(!insight["content"].to_string().contains("<script>"));
    assert_envelope!("tap_strings_cleaned", run);
}

/// Runs `request` with the clock pinned, as the list tests do.
async fn run_at_now(request: serde_json::Value) -> Run {
    run_with(
        &[],
        request.to_string().as_bytes(),
        &[("PROOFPOINT_TAP_NOW", "2021-03-25T12:00:00Z")],
    )
    .await
}

fn users(range: std::ops::Range<usize>) -> serde_json::Value {
    let users: Vec<serde_json::Value> = range
        .map(|i| {
            json!({"identity": {"guid": format!("g-{i}"), "emails": [format!("u{i}@example.com")]},
                        "threatStatistics": {"attackIndex": 10, "families": []}})
        })
        .collect();
    json!({"users": users, "totalVapUsers": 100000})
}

#[tokio::test]
async fn paging_traps_are_left_after_a_few_calls() {
    // Campaign ids without ids: the page adds nothing, however full it is.
    let stub = Stub::start(|_| {
        let campaigns: Vec<serde_json::Value> = (0..200)
            .map(|_| json!({"lastUpdatedAt": "2021-03-25T11:00:00Z"}))
            .collect();
        Reply::json(200, json!({"campaigns": campaigns}).to_string())
    })
    .await;
    let run = run_at_now(json!({"action": "list_campaigns", "parameters": {"time_frame": "Last Week", "max_campaigns": 200},
                                "configuration": config(&stub.uri)}))
    .await;
    assert_eq!(stub.count("/v2/campaign/ids"), 1, "{}", run.stdout);
    assert_envelope!("paging_items_without_ids", run);

    // A server that ignores `page` and repeats one user: the second page adds nothing.
    let stub = Stub::start(|_| {
        let one = users(0..1)["users"][0].clone();
        Reply::json(200, json!({"users": vec![one; 200]}).to_string())
    })
    .await;
    let run = run_at_now(
        json!({"action": "get_vaps", "parameters": {"max_users": 1000},
                                "configuration": config(&stub.uri)}),
    )
    .await;
    assert_eq!(stub.count("/v2/people/vap"), 2, "{}", run.stdout);
    assert_eq!(
        run.envelope["json_result"]["users"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_envelope!("paging_page_ignored", run);

    // A list without end: new users on every page, until the call limit.
    let next = Arc::new(AtomicUsize::new(0));
    let stub = Stub::start(move |_| {
        let first = next.fetch_add(200, Ordering::SeqCst);
        Reply::json(200, users(first..first + 200).to_string())
    })
    .await;
    let run = run_at_now(
        json!({"action": "get_top_clickers", "parameters": {"max_users": 10000},
                                "configuration": config(&stub.uri)}),
    )
    .await;
    assert_eq!(stub.count("/v2/people/top-clickers"), 20, "{}", run.stdout);
    assert!(
        run.envelope["output_message"]
            .as_str()
            .unwrap()
            .ends_with("Paging stopped after 20 calls of /v2/people/top-clickers, the most one run makes; the list may be incomplete."),
        "{}",
        run.stdout
    );
}

/// Writes `request` to the binary's stdin and leaves stdin open; the envelope and how long after
/// the deadline it came (negative: before).
async fn with_stdin_left_open(request: &str, deadline_ms: u64) -> (Run, i64) {
    use std::process::Stdio;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_proofpoint-tap"))
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(request.as_bytes()).await.unwrap();
    stdin.flush().await.unwrap();
    let output = tokio::time::timeout(std::time::Duration::from_secs(20), child.wait_with_output())
        .await
        .expect("an envelope while stdin is still open")
        .unwrap();
    let late_ms = unix_ms() as i64 - deadline_ms as i64;
    drop(stdin);
    let stdout = String::from_utf8(output.stdout).unwrap();
    let run = Run {
        envelope: serde_json::from_str(&stdout).expect("one JSON envelope"),
        stdout,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        code: output.status.code().unwrap(),
    };
    (run, late_ms)
}

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

#[tokio::test]
async fn a_stdin_never_closed_stops_at_the_deadline() {
    let deadline = unix_ms() + 2500;
    let complete = json!({"action": "ping", "case_id": "41", "execution_deadline_unix_time_ms": deadline,
                          "configuration": {"api_root": "http://127.0.0.1:1"}});
    let (run, late_ms) = with_stdin_left_open(&complete.to_string(), deadline).await;
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert_eq!(run.envelope["execution_state"], "timed_out");
    assert_eq!(run.envelope["errors"][0]["code"], "deadline_exceeded");
    assert!(
        late_ms < 0,
        "the envelope came {late_ms} ms after the deadline"
    );
    assert!(late_ms > -1500, "it came too early: {late_ms} ms");
    assert_envelope!("stdin_open_complete", run);

    let deadline = unix_ms() + 2500;
    let partial = format!(
        r#"{{"execution_deadline_unix_time_ms": {deadline}, "action": "ping", "case_id": "42", "parame"#
    );
    let (run, late_ms) = with_stdin_left_open(&partial, deadline).await;
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert_eq!(run.envelope["execution_state"], "timed_out");
    assert_eq!(run.envelope["errors"][0]["code"], "invalid_request");
    assert!(
        late_ms < 0,
        "the envelope came {late_ms} ms after the deadline"
    );
    assert_envelope!("stdin_open_incomplete", run);
}

/// A campaign of about `mib` MiB whose bulk is what makes a tree of values grow most: tiny values
/// in its members list and in a list the tables read; and forensics of as many tiny evidence items.
fn hostile_answers(mib: usize) -> (Vec<u8>, Vec<u8>) {
    let mut campaign: serde_json::Value = fixture("campaign.json");
    campaign["campaignMembers"] = json!(vec![0; mib * 1024 * 1024 / 4]);
    campaign["families"] = json!(vec![json!({}); mib * 1024 * 1024 / 6]);
    let item = json!({"type": "url", "display": "d", "malicious": true, "what": {"url": "http://a.example/"}});
    let items = vec![item; mib * 1024 * 1024 / 80];
    let forensics = json!({"generated": "2021-03-25T00:00:00Z",
                           "reports": [{"scope": "CAMPAIGN", "id": "x", "name": "n", "forensics": items}]});
    (
        serde_json::to_vec(&campaign).unwrap(),
        serde_json::to_vec(&forensics).unwrap(),
    )
}

fn four_campaigns(uri: &str, deadline: Option<u64>) -> serde_json::Value {
    let ids: Vec<String> = (1..=4)
        .map(|i| format!("aa9b3d62-4d72-4ebc-8f39-3da3833e703{i}"))
        .collect();
    let mut request = json!({"action": "get_campaign", "case_id": "13",
                             "parameters": {"campaign_id": ids, "max_forensics_evidence_to_return": 3},
                             "configuration": config(uri)});
    if let Some(deadline) = deadline {
        request["execution_deadline_unix_time_ms"] = json!(deadline);
    }
    request
}

async fn hostile_stub(mib: usize) -> Stub {
    let (campaign, forensics) = hostile_answers(mib);
    Stub::start(move |path| {
        let body = if path.starts_with("/v2/forensics") {
            &forensics
        } else {
            &campaign
        };
        Reply::json(200, body.clone())
    })
    .await
}

#[tokio::test]
async fn big_answers_pass_through_without_a_tree_per_value() {
    let stub = hostile_stub(8).await;
    let (run, peak_kib) = run_measured(
        &[],
        four_campaigns(&stub.uri, None).to_string().as_bytes(),
        &[],
    )
    .await;
    assert_eq!(run.code, 0, "{}", &run.stderr);
    assert_eq!(run.envelope["json_result"].as_array().unwrap().len(), 4);
    let first = &run.envelope["json_result"][0];
    assert_eq!(
        first["campaignMembers"].as_array().unwrap().len(),
        8 * 1024 * 1024 / 4
    );
    assert_eq!(first["forensics"]["forensics"].as_array().unwrap().len(), 3);
    // 64 MiB of answers; as trees of values they took several GiB.
    assert!(peak_kib < 512 * 1024, "peak RSS {peak_kib} KiB");
}

#[tokio::test]
async fn the_deadline_holds_while_big_answers_are_read() {
    let stub = hostile_stub(8).await;
    let deadline = unix_ms() + 2500;
    let request = four_campaigns(&stub.uri, Some(deadline)).to_string();
    let env = [("PROOFPOINT_TAP_LOG", "proofpoint_tap=debug")];
    let run = run_with(&[], request.as_bytes(), &env).await;
    let late_ms = unix_ms() as i64 - deadline as i64;
    assert!(
        late_ms < 0,
        "the envelope came {late_ms} ms after the deadline: {} {}",
        run.stdout.chars().take(600).collect::<String>(),
        run.stderr
    );
    let state = run.envelope["execution_state"].as_str().unwrap();
    assert!(state == "completed" || state == "timed_out", "{state}");
}

#[tokio::test]
async fn big_event_and_user_lists_pass_through_too() {
    // Items made of tiny values, 8 MiB an answer.
    let filler = json!(vec![0; 300]);
    let events: Vec<serde_json::Value> = (0..9000)
        .map(|i| {
            json!({"id": format!("e{i}"), "clickTime": "2021-03-25T11:30:00.000Z",
                        "recipient": format!("u{i}@example.com"), "x": filler})
        })
        .collect();
    let siem =
        json!({"queryEndTime": "2021-03-25T12:00:00Z", "clicksPermitted": events}).to_string();
    let users: Vec<serde_json::Value> = (0..9000)
        .map(|i| {
            json!({"identity": {"guid": format!("g{i}"), "emails": [format!("u{i}@example.com")]},
                        "threatStatistics": {"attackIndex": 1}, "x": filler})
        })
        .collect();
    let people = json!({"users": users}).to_string();
    let stub = Stub::start(move |path| {
        if path.starts_with("/v2/siem") {
            Reply::json(200, siem.clone())
        } else {
            Reply::json(200, people.clone())
        }
    })
    .await;
    let env = [("PROOFPOINT_TAP_NOW", "2021-03-25T12:00:00Z")];
    let request = json!({"action": "search_events", "parameters": {"since_minutes": 120, "max_events": 10000,
                         "event_types": "clicks_permitted"}, "configuration": config(&stub.uri)});
    let (run, peak_kib) = run_measured(&[], request.to_string().as_bytes(), &env).await;
    assert_eq!(run.code, 0, "{}", &run.stdout[..run.stdout.len().min(500)]);
    assert_eq!(
        run.envelope["json_result"]["events"]
            .as_array()
            .unwrap()
            .len(),
        9000
    );
    assert!(
        peak_kib < 160 * 1024,
        "Search Events peak RSS {peak_kib} KiB"
    );
    let request = json!({"action": "get_vaps", "parameters": {"max_users": 10000},
                         "configuration": config(&stub.uri)});
    let (run, peak_kib) = run_measured(&[], request.to_string().as_bytes(), &env).await;
    assert_eq!(run.code, 0, "{}", &run.stdout[..run.stdout.len().min(500)]);
    assert_eq!(
        run.envelope["json_result"]["users"]
            .as_array()
            .unwrap()
            .len(),
        9000
    );
    assert!(peak_kib < 96 * 1024, "people peak RSS {peak_kib} KiB");
}
