//! `proofpoint-tap mcp` driven by a real MCP client (the official Rust SDK's), over the binary's
//! stdin and stdout, against a local stub of the TAP API.

use std::process::Stdio;
use std::time::Duration;

use crate::common::*;
use rmcp::model::{
    CallToolRequest, CallToolRequestParams, CallToolResult, ClientRequest, JsonObject,
};
use rmcp::service::{PeerRequestOptions, RunningService};
use rmcp::{RoleClient, ServiceExt};
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CAMPAIGN: &str = "aa9b3d62-4d72-4ebc-8f39-3da3833e7038";

struct Session {
    client: RunningService<RoleClient, ()>,
    child: tokio::process::Child,
}

/// The binary's MCP server with the configuration in its environment, and a client connected.
async fn session(api_root: &str) -> Session {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_proofpoint-tap"))
        .arg("mcp")
        .env("PROOFPOINT_TAP_API_ROOT", api_root)
        .env("PROOFPOINT_TAP_PRINCIPAL", PRINCIPAL)
        .env("PROOFPOINT_TAP_SECRET", SECRET)
        .env_remove("PROOFPOINT_TAP_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().expect("stdout");
    let stdin = child.stdin.take().expect("stdin");
    let client = ().serve((stdout, stdin)).await.expect("the session initializes");
    Session { client, child }
}

fn arguments(value: Value) -> JsonObject {
    value.as_object().cloned().expect("an object")
}

async fn call(session: &Session, tool: &str, args: Value) -> CallToolResult {
    session
        .client
        .call_tool(CallToolRequestParams::new(tool.to_owned()).with_arguments(arguments(args)))
        .await
        .expect("a tool result")
}

fn text(result: &CallToolResult) -> String {
    serde_json::to_value(&result.content)
        .unwrap_or_default()
        .to_string()
}

async fn stub() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/v2/campaign/{CAMPAIGN}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("campaign.json")))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/forensics"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"generated": "2026-01-01T00:00:00Z", "reports": []})),
        )
        .mount(&server)
        .await;
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_action_is_a_tool_an_agent_can_call() {
    let server = stub().await;
    let session = session(&server.uri()).await;

    // Every action is listed, with valid input and output schemas and read-only annotations.
    let tools = session.client.list_all_tools().await.expect("tools/list");
    let listed = std::process::Command::new(env!("CARGO_BIN_EXE_proofpoint-tap"))
        .args(["actions", "--json"])
        .output()
        .expect("actions --json");
    let actions: Vec<Value> = serde_json::from_slice(&listed.stdout).expect("JSON");
    assert_eq!(tools.len(), actions.len());
    for tool in &tools {
        assert!(tool.name.starts_with("proof_point_tap_"), "{}", tool.name);
        let input = Value::Object((*tool.input_schema).clone());
        jsonschema::validator_for(&input).unwrap_or_else(|e| panic!("{}: {e}", tool.name));
        let output =
            Value::Object((*tool.output_schema.clone().expect("an output schema")).clone());
        jsonschema::validator_for(&output).unwrap_or_else(|e| panic!("{}: {e}", tool.name));
        let annotations = tool.annotations.clone().expect("annotations");
        assert_eq!(
            (annotations.read_only_hint, annotations.open_world_hint),
            (Some(true), Some(true))
        );
    }
    let decode = tools
        .iter()
        .find(|t| t.name == "proof_point_tap_decode_url")
        .expect("decode_url");
    assert!(decode.input_schema["properties"]
        .get("encoded_ur_ls")
        .is_some());

    // Decode URL offline, under the SecOps tool's argument name.
    let url = "https://urldefense.com/v3/__https://x.example/a__;!!o!s$";
    let result = call(
        &session,
        "proof_point_tap_decode_url",
        json!({"encoded_ur_ls": url, "decode_mode": "local", "case_id": "7"}),
    )
    .await;
    assert_eq!(result.is_error, Some(false), "{}", text(&result));
    let envelope = result
        .structured_content
        .clone()
        .expect("structured content");
    assert_eq!(envelope["execution_state"], "completed");
    assert_eq!(envelope["case_id"], "7");
    assert_eq!(
        envelope["json_result"][0]["decodedUrl"],
        "https://x.example/a"
    );
    jsonschema::validator_for(&Value::Object(
        (*decode.output_schema.clone().unwrap()).clone(),
    ))
    .unwrap()
    .validate(&envelope)
    .expect("the envelope matches the output schema");

    // Get Campaign against the stub, with the configuration from the environment.
    let result = call(
        &session,
        "proof_point_tap_get_campaign",
        json!({"campaign_id": CAMPAIGN, "fetch_forensics_info": false}),
    )
    .await;
    assert_eq!(result.is_error, Some(false), "{}", text(&result));
    assert_eq!(
        result.structured_content.as_ref().unwrap()["metrics"]["http_requests"],
        1
    );

    // A bad argument is a tool error naming the parameter, not a protocol error.
    let result = call(
        &session,
        "proof_point_tap_get_campaign",
        json!({"campaign_id": CAMPAIGN, "max_forensics_evidence_to_return": 5000}),
    )
    .await;
    assert_eq!(result.is_error, Some(true));
    assert!(
        text(&result).contains("max_forensics_evidence_to_return"),
        "{}",
        text(&result)
    );

    // A configuration argument is refused, never used: no request reaches another API root.
    let requests_before = server.received_requests().await.unwrap_or_default().len();
    let result = call(
        &session,
        "proof_point_tap_ping",
        json!({"configuration": {"api_root": "https://evil.example"}}),
    )
    .await;
    assert_eq!(result.is_error, Some(true));
    assert!(text(&result).contains("environment"), "{}", text(&result));
    assert_eq!(
        server.received_requests().await.unwrap_or_default().len(),
        requests_before
    );

    // An unknown tool is a protocol error (-32602).
    let error = session
        .client
        .call_tool(CallToolRequestParams::new("proof_point_tap_no_such_tool"))
        .await
        .expect_err("a protocol error");
    assert!(format!("{error:?}").contains("-32602"), "{error:?}");

    // Closing stdin ends the server cleanly.
    close(session).await;
}

/// Closes the client's end and waits for the server to exit: it must, at once and with success.
async fn close(session: Session) {
    let Session { client, mut child } = session;
    client.cancel().await.expect("the client closes");
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("the server exits when stdin closes")
        .expect("an exit status");
    assert!(status.success(), "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_call_can_be_cancelled() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/v2/campaign/{CAMPAIGN}")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(fixture("campaign.json"))
                .set_delay(Duration::from_secs(30)),
        )
        .mount(&server)
        .await;
    let session = session(&server.uri()).await;
    let params = CallToolRequestParams::new("proof_point_tap_get_campaign").with_arguments(
        arguments(json!({"campaign_id": CAMPAIGN, "fetch_forensics_info": false})),
    );
    let handle = session
        .client
        .send_cancellable_request(
            ClientRequest::CallToolRequest(CallToolRequest::new(params)),
            PeerRequestOptions::no_options(),
        )
        .await
        .expect("sent");
    // Cancel once the call is waiting on TAP.
    for _ in 0..100 {
        if !server
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        !server
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty(),
        "the call reached TAP"
    );
    handle
        .cancel(Some("the agent moved on".into()))
        .await
        .expect("cancelled");
    // The server goes on serving: another call completes while the cancelled one still waits.
    let started = std::time::Instant::now();
    let result = call(&session, "proof_point_tap_decode_url", json!({"encoded_ur_ls": "https://urldefense.com/v3/__https://x.example/__;!!o!s$", "decode_mode": "local"})).await;
    assert_eq!(result.is_error, Some(false));
    assert!(started.elapsed() < Duration::from_secs(10));
    // The cancelled call's work (TAP has not answered) does not keep the server alive.
    close(session).await;
}

/// The protocol version (the client's when supported: both of 2025), `ping`, and an unknown
/// method, in raw JSON-RPC lines.
#[test]
fn protocol_versions_ping_and_unknown_methods() {
    for (asked, answered) in [("2025-06-18", "2025-06-18"), ("2025-11-25", "2025-11-25")] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_proofpoint-tap"))
            .arg("mcp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the binary starts");
        let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": asked, "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}});
        {
            use std::io::Write;
            let mut stdin = child.stdin.take().expect("stdin");
            writeln!(stdin, "{initialize}").expect("written");
            writeln!(
                stdin,
                r#"{{"jsonrpc": "2.0", "method": "notifications/initialized"}}"#
            )
            .expect("written");
            writeln!(stdin, r#"{{"jsonrpc": "2.0", "id": 2, "method": "ping"}}"#).expect("written");
            writeln!(
                stdin,
                r#"{{"jsonrpc": "2.0", "id": 3, "method": "no/such"}}"#
            )
            .expect("written");
        }
        let out = child
            .wait_with_output()
            .expect("the server exits when stdin closes");
        assert!(out.status.success());
        let replies: Vec<Value> = out
            .stdout
            .split(|b| *b == b'\n')
            .filter(|line| !line.is_empty())
            .map(|line| serde_json::from_slice(line).expect("JSON-RPC"))
            .collect();
        let reply = |id: i64| replies.iter().find(|r| r["id"] == id).expect("a reply");
        assert_eq!(
            reply(1)["result"]["protocolVersion"],
            answered,
            "{replies:?}"
        );
        assert_eq!(reply(2)["result"], json!({}), "ping");
        assert_eq!(reply(3)["error"]["code"], -32601, "an unknown method");
    }
}
