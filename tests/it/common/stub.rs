//! A minimal HTTP/1.1 stub of the TAP API, for what wiremock does not do: count the requests in
//! flight at once, and misbehave on purpose — answer late, cut a body short, drop the connection,
//! send a body with no length. Every request gets the [`Reply`] that `route(path_and_query)` makes.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// How to break an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// A well-formed answer.
    None,
    /// Declare a longer body than is sent, then close the connection.
    Truncate,
    /// Close the connection without answering.
    Drop,
    /// Send the body without a length, then close the connection.
    NoLength,
    /// Send the body without a length, then send it again and again, never ending: until the
    /// client hangs up, or 20 s have passed.
    Endless,
}

/// One answer.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Body bytes.
    pub body: Vec<u8>,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// Wait this long before answering.
    pub delay: Duration,
    /// How to break it.
    pub fault: Fault,
}

impl Reply {
    /// A JSON answer.
    pub fn json(status: u16, body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status,
            body: body.into(),
            headers: Vec::new(),
            delay: Duration::ZERO,
            fault: Fault::None,
        }
    }
    /// The same answer after `delay`.
    pub fn after(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }
    /// The same answer with one more header.
    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.into(), value.into()));
        self
    }
    /// The same answer, broken.
    pub fn fault(mut self, fault: Fault) -> Reply {
        self.fault = fault;
        self
    }
}

type Route = dyn Fn(&str) -> Reply + Send + Sync;

struct State {
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
    pub async fn start(route: impl Fn(&str) -> Reply + Send + Sync + 'static) -> Stub {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let uri = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(State {
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

    /// How many requests had a path and query starting with `prefix`.
    pub fn count(&self, prefix: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.starts_with(prefix))
            .count()
    }
}

async fn serve(socket: TcpStream, state: Arc<State>) {
    // Without this, a small answer waits on the client's delayed ACK (tens of milliseconds).
    let _ = socket.set_nodelay(true);
    let mut stream = BufReader::new(socket);
    loop {
        let mut request_line = String::new();
        if stream.read_line(&mut request_line).await.unwrap_or(0) == 0 {
            return;
        }
        let mut length = 0usize;
        loop {
            let mut header = String::new();
            if stream.read_line(&mut header).await.unwrap_or(0) == 0 {
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
        if stream.read_exact(&mut body).await.is_err() {
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
        let reply = (state.route)(&target);
        tokio::time::sleep(reply.delay).await;
        state.in_flight.fetch_sub(1, Ordering::SeqCst);
        let mut head = format!(
            "HTTP/1.1 {} Stub\r\nContent-Type: application/json\r\n",
            reply.status
        );
        for (name, value) in &reply.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        match reply.fault {
            Fault::None => head.push_str(&format!("Content-Length: {}\r\n\r\n", reply.body.len())),
            Fault::Truncate => head.push_str(&format!(
                "Content-Length: {}\r\n\r\n",
                reply.body.len() + 1000
            )),
            Fault::NoLength | Fault::Endless => head.push_str("Connection: close\r\n\r\n"),
            Fault::Drop => return,
        }
        let mut answer = head.into_bytes();
        answer.extend_from_slice(&reply.body);
        let socket = stream.get_mut();
        if socket.write_all(&answer).await.is_err() {
            return;
        }
        if reply.fault == Fault::Endless {
            let started = std::time::Instant::now();
            let chunk = if reply.body.is_empty() {
                vec![b' '; 64 * 1024]
            } else {
                reply.body.clone()
            };
            while started.elapsed() < Duration::from_secs(20) {
                if socket.write_all(&chunk).await.is_err() {
                    return;
                }
            }
        }
        if reply.fault != Fault::None {
            let _ = socket.shutdown().await;
            return;
        }
    }
}
