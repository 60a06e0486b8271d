//! A minimal HTTP/1.1 stub of the TAP API, for what wiremock does not show: how many requests
//! were in flight at once. Every request is answered after `delay`, from `route(path_and_query)`.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

type Route = dyn Fn(&str) -> (u16, String) + Send + Sync;

struct State {
    delay: Duration,
    route: Box<Route>,
    in_flight: AtomicUsize,
    peak: AtomicUsize,
    seen: Mutex<Vec<String>>,
}

/// A running stub; it stops with the runtime that started it.
pub struct Stub {
    /// `http://127.0.0.1:PORT`.
    pub uri: String,
    state: Arc<State>,
}

impl Stub {
    /// Starts the stub on `127.0.0.1:0`.
    pub async fn start(
        delay: Duration,
        route: impl Fn(&str) -> (u16, String) + Send + Sync + 'static,
    ) -> Stub {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let uri = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(State {
            delay,
            route: Box::new(route),
            in_flight: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            seen: Mutex::new(Vec::new()),
        });
        let shared = state.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(serve(socket, shared.clone()));
            }
        });
        Stub { uri, state }
    }

    /// The most requests that were being answered at the same moment.
    pub fn peak(&self) -> usize {
        self.state.peak.load(Ordering::SeqCst)
    }

    /// Every request's path and query, in arrival order.
    pub fn requests(&self) -> Vec<String> {
        self.state.seen.lock().unwrap().clone()
    }
}

async fn serve(socket: TcpStream, state: Arc<State>) {
    // Without this, a small answer waits on the client's delayed ACK (tens of milliseconds).
    let _ = socket.set_nodelay(true);
    let (read, mut write) = socket.into_split();
    let mut reader = BufReader::new(read);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).await.unwrap_or(0) == 0 {
            return;
        }
        let mut length = 0usize;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).await.unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).await.is_err() {
            return;
        }
        let target = request_line
            .split_whitespace()
            .nth(1)
            .unwrap_or("/")
            .to_owned();
        let now = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        state.peak.fetch_max(now, Ordering::SeqCst);
        state.seen.lock().unwrap().push(target.clone());
        tokio::time::sleep(state.delay).await;
        let (status, body) = (state.route)(&target);
        state.in_flight.fetch_sub(1, Ordering::SeqCst);
        let answer = format!(
            "HTTP/1.1 {status} Stub\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        if write.write_all(answer.as_bytes()).await.is_err() {
            return;
        }
    }
}
