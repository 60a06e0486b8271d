//! Security checks through the real binary: API roots that could leak credentials are refused
//! before any connection, identifiers cannot steer the request path, and the secret appears in no
//! output, whatever went wrong and at whatever log level.

use crate::common::stub::{Reply, Stub};
use crate::common::*;
use serde_json::{json, Value};

const C1: &str = "aa9b3d62-4d72-4ebc-8f39-3da3833e7038";

async fn stub() -> Stub {
    Stub::start(|_| Reply::json(200, json!({"id": C1, "name": "n"}).to_string())).await
}

fn campaign_request(api_root: &str, campaign_id: Value) -> Value {
    json!({"action": "get_campaign",
           "parameters": {"campaign_id": campaign_id, "fetch_forensics_info": false},
           "configuration": {"api_root": api_root, "username": PRINCIPAL, "password": SECRET}})
}

async fn traced(request: &Value) -> Run {
    run_with(
        &[],
        request.to_string().as_bytes(),
        &[("PROOFPOINT_TAP_LOG", "trace")],
    )
    .await
}

#[tokio::test]
async fn api_roots_that_could_leak_are_refused_before_connecting() {
    let stub = stub().await;
    let port = stub.uri.rsplit(':').next().unwrap().to_owned();
    let cases = [
        (
            "api_root_with_credentials",
            format!("http://{PRINCIPAL}:{SECRET}@127.0.0.1:{port}"),
        ),
        (
            "api_root_plain_http_remote",
            "http://tap.example.com".to_owned(),
        ),
        ("api_root_unparsable", "tap api v2".to_owned()),
        ("api_root_other_scheme", format!("ftp://127.0.0.1:{port}")),
        (
            "api_root_with_query",
            format!("http://127.0.0.1:{port}/?redirect=https://tap.example.com"),
        ),
    ];
    for (name, root) in cases {
        let run = traced(&campaign_request(&root, json!(C1))).await;
        assert_eq!(run.code, 1, "{name}");
        assert_eq!(run.envelope["metrics"]["http_requests"], 0, "{name}");
        assert_no_secret(&run);
        if name != "api_root_with_query" && name != "api_root_other_scheme" {
            assert_envelope!(name, run);
        }
    }
    assert!(
        stub.requests().is_empty(),
        "no request reached the stub: {:?}",
        stub.requests()
    );
}

#[tokio::test]
async fn identifiers_cannot_change_the_request_path() {
    let stub = stub().await;
    for id in [
        "../../v2/people/vap",
        "..%2F..%2Fv2%2Fpeople%2Fvap",
        "x?campaignId=1",
        C1.replace('-', "/").as_str(),
        "%2e%2e",
    ] {
        let run = traced(&campaign_request(&stub.uri, json!(id))).await;
        assert_eq!(
            run.envelope["errors"][0]["code"], "invalid_parameter",
            "{id}"
        );
        assert_eq!(run.envelope["metrics"]["http_requests"], 0, "{id}");
    }
    assert!(stub.requests().is_empty());
    let run = traced(&campaign_request(&stub.uri, json!(C1))).await;
    assert_eq!(run.code, 0);
    assert_eq!(stub.requests(), [format!("/v2/campaign/{C1}")]);
}

#[tokio::test]
async fn the_secret_is_not_echoed_by_request_errors() {
    let cases = [
        json!({"action": "ping", "configuration": SECRET}).to_string(),
        json!({"action": "ping", "configuration": {"password": 123456789}}).to_string(),
        json!({"action": "ping", "configuration": {"password": [SECRET]}}).to_string(),
        json!({"action": "ping", "configuration": {"Pasword": SECRET}}).to_string(),
        json!({"action": "ping", "configuration": {"password": SECRET, "timeout_seconds": "x"}})
            .to_string(),
        format!(r#"{{"action": "ping", "configuration": {{"password": "{SECRET}""#),
        format!(r#"{{"action": "ping", "configuration": {{"password": "{SECRET}"}}, }}"#),
    ];
    for case in cases {
        let run = run_with(&[], case.as_bytes(), &[("PROOFPOINT_TAP_LOG", "trace")]).await;
        assert_eq!(run.envelope["execution_state"], "failed", "{case}");
        assert_no_secret(&run);
        assert!(!run.stdout.contains("123456789"), "{case}");
    }
}

#[tokio::test]
async fn the_secret_stays_out_of_every_log_format() {
    let stub = stub().await;
    for format in ["text", "json"] {
        let mut request = campaign_request(&stub.uri, json!(C1));
        request["configuration"]["verify_ssl"] = json!(false);
        let run = run_with(
            &["--log-format", format],
            request.to_string().as_bytes(),
            &[("RUST_LOG", "trace")],
        )
        .await;
        assert_eq!(run.code, 0);
        assert!(
            run.stderr.contains("TLS certificate verification is off"),
            "verify_ssl false warns"
        );
        assert_no_secret(&run);
    }
    // The secret from the environment, with a connection failure that reqwest describes.
    let env = [
        ("PROOFPOINT_TAP_PRINCIPAL", PRINCIPAL),
        ("PROOFPOINT_TAP_SECRET", SECRET),
        ("PROOFPOINT_TAP_LOG", "trace"),
    ];
    let run = run_with(
        &["run", "ping"],
        br#"{"configuration": {"api_root": "http://127.0.0.1:1/tap"}}"#,
        &env,
    )
    .await;
    assert_eq!(run.envelope["errors"][0]["code"], "connection");
    assert_no_secret(&run);
}
