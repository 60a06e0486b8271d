//! How the client talks to TAP (SPEC §5): one request with its timeout, the retry loop and its
//! backoff, the body cap, and the one place HTTP statuses and transport failures become error
//! codes.
//!
//! Redirects are never followed, bodies are capped at 32 MiB and errors quote neither the secret
//! nor the Authorization header.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::time::Instant;
use tracing::{debug, info, warn};
use url::Url;

use super::redact::Redactor;
use crate::config::{Config, Secret};
use crate::error::{Error, ErrorCode, Result};

/// Largest response body accepted.
const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;
/// How long establishing a connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Further tries after a connection error or a 502/503/504.
const MAX_RETRIES: u32 = 2;
/// A 429 is retried only when TAP asks to wait this long or less.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(5);

const USER_AGENT: &str = concat!("proofpoint-tap/", env!("CARGO_PKG_VERSION"));

/// The HTTP side of one run's client: where TAP is, who is asking, and until when.
#[derive(Debug)]
pub(crate) struct Transport {
    http: reqwest::Client,
    base: Url,
    principal: String,
    secret: Secret,
    timeout: Duration,
    deadline: Option<Instant>,
    requests: Arc<AtomicU64>,
    redactor: Redactor,
}

impl Transport {
    /// Builds the client from the configuration. `deadline` is when work must stop (the platform's
    /// deadline less the margin); `requests` counts every HTTP request sent.
    pub(crate) fn new(
        config: &Config,
        deadline: Option<Instant>,
        requests: Arc<AtomicU64>,
    ) -> Result<Self> {
        let base = config.api_url()?;
        let (principal, secret) = config.credentials()?;
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .user_agent(USER_AGENT)
            .default_headers(headers)
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(config.timeout);
        // Credentials never travel in clear: a proxy from the environment would see the
        // Authorization header of a plain http request, so http (loopback only) and any loopback
        // root go direct; https through a proxy is a tunnel the proxy cannot read.
        if base.scheme() == "http" || crate::config::is_loopback(&base) {
            builder = builder.no_proxy();
        }
        if !config.verify_ssl {
            warn!("TLS certificate verification is off (Verify SSL = false): the TAP server's identity is not checked");
            builder = builder.danger_accept_invalid_certs(true);
        }
        let http = builder.build().map_err(|e| {
            Error::new(
                ErrorCode::Internal,
                format!("the HTTP client could not be set up: {}", root_cause(&e)),
            )
        })?;
        Ok(Transport {
            http,
            base,
            principal: principal.to_owned(),
            secret: secret.clone(),
            timeout: config.timeout,
            deadline,
            requests,
            redactor: Redactor::new(principal, secret),
        })
    }

    /// Parses a TAP body as [`parse_json`] does; a large one on the blocking pool, so that the
    /// deadline can still be kept while it is read (a 32 MiB answer takes a good part of a
    /// second): at the deadline the answer counts as not finished, like a request cut short.
    pub(crate) async fn parse<T>(&self, body: Vec<u8>) -> Result<T>
    where
        T: DeserializeOwned + Send + 'static,
    {
        if body.len() < PARSE_ELSEWHERE_BYTES {
            return parse_json(&body);
        }
        let parsing = tokio::task::spawn_blocking(move || parse_json(&body));
        let joined = match self.deadline {
            None => parsing.await,
            Some(deadline) => match tokio::time::timeout_at(deadline, parsing).await {
                Ok(joined) => joined,
                Err(_) => return Err(deadline_error()),
            },
        };
        joined.unwrap_or_else(|e| {
            Err(Error::new(
                ErrorCode::Internal,
                format!("reading TAP's answer stopped unexpectedly: {e}"),
            ))
        })
    }

    /// What removes the credentials from text quoted from TAP.
    pub(crate) fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// `GET` of an endpoint under the API root; the body of a 2xx answer.
    pub(crate) async fn get(&self, segments: &[&str], query: &[(&str, &str)]) -> Result<Vec<u8>> {
        let url = self.url(segments, query)?;
        self.send(Method::GET, url, None).await
    }

    /// The endpoint URL under the API root. Each segment is percent-encoded as one path segment
    /// (`/`, `?` and `%` included), so no value can change the path.
    pub(crate) fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Result<Url> {
        if let Some(bad) = segments
            .iter()
            .find(|s| s.is_empty() || **s == "." || **s == "..")
        {
            return Err(Error::invalid_parameter(format!(
                "\"{bad}\" cannot be used as an identifier"
            )));
        }
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| Error::new(ErrorCode::Internal, "the API root cannot take a path"))?
            .pop_if_empty()
            .extend(segments);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url)
    }

    /// Sends one request with the retry policy of SPEC §5 and returns the body of a 2xx answer.
    pub(crate) async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<Vec<u8>>,
    ) -> Result<Vec<u8>> {
        let path = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        };
        let host = host_port(&url);
        let mut tries = 0;
        loop {
            tries += 1;
            let (timeout, cut_by_deadline) = self.request_timeout()?;
            let mut request = self
                .http
                .request(method.clone(), url.clone())
                .basic_auth(&self.principal, Some(self.secret.expose()))
                .timeout(timeout);
            if let Some(body) = &body {
                request = request
                    .header(CONTENT_TYPE, "application/json")
                    .body(body.clone());
            }
            self.requests.fetch_add(1, Ordering::Relaxed);
            let started = Instant::now();
            let failure = match request.send().await {
                Ok(response) => {
                    let status = response.status();
                    debug!(%method, path = %path, status = status.as_u16(), elapsed_ms = started.elapsed().as_millis() as u64, "TAP answered");
                    if status.is_success() {
                        match read_body(response, &host, timeout, cut_by_deadline).await {
                            Ok(bytes) => return Ok(bytes),
                            Err(failure) => failure,
                        }
                    } else {
                        let retry_after = retry_after(response.headers());
                        let detail = error_detail(response, &self.redactor).await;
                        status_failure(status, retry_after, detail)
                    }
                }
                Err(e) => transport_failure(&e, &host, timeout, cut_by_deadline),
            };
            let Some(delay) = failure.retry_in(tries) else {
                return Err(failure.error);
            };
            if let Some(deadline) = self.deadline {
                if Instant::now() + delay >= deadline {
                    info!(path = %path, "not retrying: the execution deadline is too close");
                    return Err(failure.error);
                }
            }
            info!(
                %method,
                path = %path,
                reason = %failure.error.message,
                attempt = tries + 1,
                of = MAX_RETRIES + 1,
                delay_ms = delay.as_millis() as u64,
                "retrying TAP request"
            );
            tokio::time::sleep(delay).await;
        }
    }

    /// The timeout for the next request — the configured one, cut short by the deadline — and
    /// whether the deadline is what limits it. No request starts once the deadline has passed.
    fn request_timeout(&self) -> Result<(Duration, bool)> {
        match self.deadline {
            None => Ok((self.timeout, false)),
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    Err(deadline_error())
                } else {
                    Ok((left.min(self.timeout), left < self.timeout))
                }
            }
        }
    }
}

/// A failed try and whether another may follow.
struct Failure {
    error: Error,
    retry: Retry,
}

enum Retry {
    Never,
    Backoff,
    After(Duration),
}

impl Failure {
    fn final_(error: Error) -> Self {
        Failure {
            error,
            retry: Retry::Never,
        }
    }

    /// How long to wait before try number `tries + 1`, or `None` when there is none.
    fn retry_in(&self, tries: u32) -> Option<Duration> {
        if tries > MAX_RETRIES {
            return None;
        }
        match self.retry {
            Retry::Never => None,
            Retry::After(d) => Some(d),
            Retry::Backoff => Some(backoff(tries)),
        }
    }
}

/// Exponential backoff from 250 ms, with ±50 % jitter so that parallel runs spread out.
fn backoff(tries: u32) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    let base = 250u64 << (tries - 1).min(6);
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    let jitter = base / 2 + random % (base + 1);
    Duration::from_millis(jitter)
}

/// Maps a non-2xx status to its error and retry rule. The one place statuses become codes.
fn status_failure(
    status: StatusCode,
    retry_after: Option<Duration>,
    detail: Option<String>,
) -> Failure {
    let code = status.as_u16();
    let with_detail = |text: String| match &detail {
        Some(d) => format!("{text}: {d}"),
        None => text,
    };
    match code {
        400 => Failure::final_(Error::new(
            ErrorCode::BadRequest,
            with_detail(format!("TAP rejected the request as malformed (HTTP {code})")),
        )),
        401 | 403 => Failure::final_(Error::new(
            ErrorCode::Unauthorized,
            format!("the service principal or secret was rejected (HTTP {code})"),
        )),
        404 => Failure::final_(Error::new(
            ErrorCode::NotFound,
            format!("TAP has no such item (HTTP {code})"),
        )),
        429 => Failure {
            error: Error::new(
                ErrorCode::RateLimited,
                format!("TAP is throttling these credentials: too many requests over the past 24 hours (HTTP {code})"),
            ),
            retry: match retry_after {
                Some(d) if d <= MAX_RETRY_AFTER => Retry::After(d),
                _ => Retry::Never,
            },
        },
        500..=599 => Failure {
            error: Error::new(
                ErrorCode::ServerError,
                format!("the TAP server failed to answer the request (HTTP {code})"),
            ),
            retry: if matches!(code, 502..=504) {
                Retry::Backoff
            } else {
                Retry::Never
            },
        },
        300..=399 => Failure::final_(Error::new(
            ErrorCode::InvalidResponse,
            format!("TAP answered with a redirect (HTTP {code}), which is not followed; check the API root"),
        )),
        _ => Failure::final_(Error::new(
            ErrorCode::InvalidResponse,
            format!("TAP answered with the unexpected status HTTP {code}"),
        )),
    }
}

fn deadline_error() -> Error {
    Error::new(
        ErrorCode::DeadlineExceeded,
        "not finished before the execution deadline (no new request starts, requests in flight are cancelled)",
    )
}

/// Maps a reqwest error to its error and retry rule.
fn transport_failure(
    e: &reqwest::Error,
    host: &str,
    timeout: Duration,
    cut_by_deadline: bool,
) -> Failure {
    let cause = root_cause(e);
    if e.is_timeout() {
        if cut_by_deadline {
            return Failure::final_(deadline_error());
        }
        return Failure::final_(Error::new(
            ErrorCode::Timeout,
            format!(
                "TAP did not answer within {} s (timeout_seconds)",
                timeout.as_secs_f64()
            ),
        ));
    }
    // A TLS failure (a certificate not trusted, a server that does not speak TLS) will not heal in
    // half a second: it is not retried. rustls' errors reach us as I/O errors of kind InvalidData.
    if e.is_connect() && is_tls_failure(e) {
        return Failure::final_(Error::new(
            ErrorCode::Connection,
            format!("the TLS connection to {host} failed: {cause} (check the certificate, or Verify SSL)"),
        ));
    }
    // Only a failure to connect names the host: it is the part a person can check.
    let message = if e.is_connect() {
        format!("could not connect to {host}: {cause}")
    } else {
        format!("the connection to TAP failed before the answer was complete: {cause}")
    };
    Failure {
        error: Error::new(ErrorCode::Connection, message),
        retry: Retry::Backoff,
    }
}

/// Reads a 2xx body, at most [`MAX_BODY_BYTES`].
async fn read_body(
    mut response: reqwest::Response,
    host: &str,
    timeout: Duration,
    cut_by_deadline: bool,
) -> std::result::Result<Vec<u8>, Failure> {
    let too_big = || {
        Failure::final_(Error::new(
            ErrorCode::InvalidResponse,
            format!(
                "TAP's answer is larger than {} MiB",
                MAX_BODY_BYTES / (1024 * 1024)
            ),
        ))
    };
    if response.content_length().unwrap_or(0) > MAX_BODY_BYTES as u64 {
        return Err(too_big());
    }
    let mut body = Vec::with_capacity(response.content_length().unwrap_or(0) as usize);
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_BODY_BYTES {
                    return Err(too_big());
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(e) => return Err(transport_failure(&e, host, timeout, cut_by_deadline)),
        }
    }
}

/// The most of an error body read: its reason is at the start.
const ERROR_BODY_BYTES: usize = 64 * 1024;

/// A short reason from an error body (`{"message": ...}` or plain text), for 400 answers. At most
/// [`ERROR_BODY_BYTES`] are read, however long the body is; the text is redacted before it is
/// cut short, so that no piece of a secret survives.
async fn error_detail(mut response: reqwest::Response, redactor: &Redactor) -> Option<String> {
    if response.status() != StatusCode::BAD_REQUEST {
        return None;
    }
    let mut bytes = Vec::new();
    while bytes.len() < ERROR_BODY_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            _ => break,
        }
    }
    bytes.truncate(ERROR_BODY_BYTES);
    let text = match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(o)) => ["message", "error", "errorMessage"]
            .iter()
            .find_map(|k| o.get(*k).and_then(Value::as_str).map(str::to_owned))?,
        _ => String::from_utf8_lossy(&bytes).trim().to_owned(),
    };
    let text = redactor.redact(&text);
    // Line breaks and other controls become spaces: the reason is one line of a message.
    let text: Vec<&str> = text
        .split(char::is_control)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let text: String = text.join(" ").chars().take(200).collect();
    (!text.is_empty()).then_some(text)
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let secs: u64 = headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs))
}

/// Whether a TLS handshake is what failed: an I/O error of kind `InvalidData` in the chain. The
/// connector wraps it in another I/O error, whose `source` skips it, so wrapped I/O errors are
/// opened with `get_ref`.
fn is_tls_failure(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::InvalidData {
                return true;
            }
            if let Some(inner) = io.get_ref() {
                cause = Some(inner);
                continue;
            }
        }
        cause = c.source();
    }
    false
}

/// The innermost cause of an error, which is the one that says what happened.
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause: &(dyn std::error::Error + 'static) = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

fn host_port(url: &Url) -> String {
    match (url.host_str(), url.port_or_known_default()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_owned(),
        _ => "the TAP server".to_owned(),
    }
}

/// Bodies at least this large are parsed on the blocking pool.
const PARSE_ELSEWHERE_BYTES: usize = 1 << 20;

/// Parses a TAP body, mapping failure to `invalid_response`.
pub(crate) fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T> {
    // Checked as UTF-8 once, in one pass, rather than each string and raw member on its own as
    // it is read (a fifth of reading a week of events); text that is not UTF-8 is read as bytes,
    // for the error that says where.
    let parsed = match std::str::from_utf8(body) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(body),
    };
    parsed.map_err(|e| {
        Error::new(
            ErrorCode::InvalidResponse,
            format!("TAP's answer is not the JSON expected ({e})"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transport(root: &str) -> Transport {
        let config = Config {
            api_root: root.into(),
            principal: Some("p".into()),
            secret: Some(Secret::new("s")),
            verify_ssl: true,
            timeout: Duration::from_secs(1),
            max_concurrency: 1,
        };
        Transport::new(&config, None, Arc::default()).unwrap()
    }

    #[test]
    fn path_parts_cannot_change_the_path() {
        let c = transport("https://proxy.example/tap/");
        let u = c.url(&["v2", "campaign", "a/../b?c=%2F"], &[]).unwrap();
        assert_eq!(
            u.as_str(),
            "https://proxy.example/tap/v2/campaign/a%2F..%2Fb%3Fc=%252F"
        );
        assert!(c.url(&["v2", "campaign", ".."], &[]).is_err());
        let u = c
            .url(&["v2", "forensics"], &[("campaignId", "x&y=1")])
            .unwrap();
        assert_eq!(
            u.as_str(),
            "https://proxy.example/tap/v2/forensics?campaignId=x%26y%3D1"
        );
    }

    #[test]
    fn statuses_map_to_codes() {
        let code = |s: u16| {
            status_failure(StatusCode::from_u16(s).unwrap(), None, None)
                .error
                .code
        };
        assert_eq!(code(400), ErrorCode::BadRequest);
        assert_eq!(code(401), ErrorCode::Unauthorized);
        assert_eq!(code(403), ErrorCode::Unauthorized);
        assert_eq!(code(404), ErrorCode::NotFound);
        assert_eq!(code(429), ErrorCode::RateLimited);
        assert_eq!(code(500), ErrorCode::ServerError);
        assert_eq!(code(302), ErrorCode::InvalidResponse);
        assert_eq!(code(418), ErrorCode::InvalidResponse);
        let retried = |s: u16, after: Option<u64>| {
            status_failure(
                StatusCode::from_u16(s).unwrap(),
                after.map(Duration::from_secs),
                None,
            )
            .retry_in(1)
            .is_some()
        };
        assert!(retried(502, None) && retried(503, None) && retried(504, None));
        assert!(!retried(500, None) && !retried(429, None) && !retried(429, Some(60)));
        assert!(retried(429, Some(5)));
        assert!(status_failure(StatusCode::BAD_GATEWAY, None, None)
            .retry_in(3)
            .is_none());
    }

    #[test]
    fn backoff_grows_with_jitter() {
        for tries in 1..=2 {
            let base = 250u64 << (tries - 1);
            let d = backoff(tries).as_millis() as u64;
            assert!(d >= base / 2 && d <= base * 3 / 2, "{d}");
        }
    }
}
