//! What a hostile server, proxy or platform sends, through the real binary: each test holds one
//! hole closed (the cases of RELIABILITY.md's "hostile servers" table).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

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
