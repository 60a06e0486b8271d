//! The TAP HTTP client (SPEC §5): one method per endpoint, one place mapping HTTP statuses and
//! transport failures to error codes, one retry loop.
//!
//! The client never follows redirects, caps bodies at 32 MiB, keeps the API root's path prefix and
//! refuses an API root that could leak the credentials (user info in the URL, plain http to a
//! host that is not loopback). Errors quote neither the secret nor the Authorization header.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio::time::Instant;
use tracing::{debug, info, warn};
use url::{Host, Url};

use crate::config::{Config, Secret};
use crate::error::{Error, ErrorCode, Result};

/// Largest response body accepted.
pub const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;
/// How long establishing a connection may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Further tries after a connection error or a 502/503/504.
pub const MAX_RETRIES: u32 = 2;
/// A 429 is retried only when TAP asks to wait this long or less.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(5);
/// The campaign id Ping asks for: all zeros, so TAP answers 404 after checking the credentials.
pub const PING_CAMPAIGN_ID: &str = "00000000-0000-0000-0000-000000000000";

const USER_AGENT: &str = concat!("proofpoint-tap/", env!("CARGO_PKG_VERSION"));

/// Checks an API root: a parsable URL, https (or http to a loopback host), no credentials, no
/// query or fragment. The returned URL keeps its path prefix.
pub fn validate_api_root(raw: &str) -> Result<Url> {
    let invalid = |why: String| Error::invalid_parameter(why);
    // A string with '@' may carry a password: never echo it.
    let shown = if raw.contains('@') {
        "(not shown)"
    } else {
        raw
    };
    let url = Url::parse(raw).map_err(|e| {
        invalid(format!(
            "the API root {shown} is not a valid URL ({e}); expected e.g. https://tap-api-v2.proofpoint.com"
        ))
    })?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(
            "the API root must not contain credentials; set Username and Password in the configuration instead".into(),
        ));
    }
    if url.cannot_be_a_base() || url.host().is_none() {
        return Err(invalid(format!("the API root {shown} has no host")));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid(format!(
            "the API root {shown} must not have a query or fragment"
        )));
    }
    let loopback = match url.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        scheme => Err(invalid(format!(
            "the API root {shown} uses {scheme}; TAP is reached over https (http is accepted only for a loopback host such as 127.0.0.1)"
        ))),
    }
}

/// A client for one run.
#[derive(Debug)]
pub struct TapClient {
    http: reqwest::Client,
    base: Url,
    principal: String,
    secret: Secret,
    timeout: Duration,
    deadline: Option<Instant>,
    requests: Arc<AtomicU64>,
}

impl TapClient {
    /// Builds the client from the configuration. `deadline` is when work must stop (the platform's
    /// deadline less the margin); `requests` counts every HTTP request sent.
    pub fn new(
        config: &Config,
        deadline: Option<Instant>,
        requests: Arc<AtomicU64>,
    ) -> Result<Self> {
        let base = validate_api_root(&config.api_root)?;
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
        Ok(TapClient {
            http,
            base,
            principal: principal.to_owned(),
            secret: secret.clone(),
            timeout: config.timeout,
            deadline,
            requests,
        })
    }

    /// `GET /v2/campaign/{all-zero id}`: a 200 or a 404 proves the credentials were accepted.
    /// This endpoint has no daily quota.
    pub async fn ping(&self) -> Result<()> {
        match self
            .get_bytes(&["v2", "campaign", PING_CAMPAIGN_ID], &[])
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.code == ErrorCode::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// `GET /v2/campaign/{id}`: the campaign exactly as TAP sent it.
    pub async fn campaign(&self, id: &str) -> Result<Map<String, Value>> {
        let body = self.get_bytes(&["v2", "campaign", id], &[]).await?;
        parse_json(&body)
    }

    /// `GET /v2/forensics?campaignId={id}`.
    pub async fn campaign_forensics(&self, id: &str) -> Result<Map<String, Value>> {
        let body = self
            .get_bytes(&["v2", "forensics"], &[("campaignId", id)])
            .await?;
        parse_json(&body)
    }

    /// `GET /v2/forensics?threatId={id}[&includeCampaignForensics=true]`.
    pub async fn threat_forensics(
        &self,
        id: &str,
        include_campaign: bool,
    ) -> Result<Map<String, Value>> {
        let mut query = vec![("threatId", id)];
        if include_campaign {
            query.push(("includeCampaignForensics", "true"));
        }
        let body = self.get_bytes(&["v2", "forensics"], &query).await?;
        parse_json(&body)
    }

    /// `GET /v2/campaign/ids?interval={start}/{end}&size=&page=` (50 calls a day). A 404 means no
    /// campaign in the interval and is answered as an empty list.
    pub async fn campaign_ids(
        &self,
        interval: &str,
        size: usize,
        page: usize,
    ) -> Result<Map<String, Value>> {
        let (size, page) = (size.to_string(), page.to_string());
        let query = [("interval", interval), ("size", &size), ("page", &page)];
        match self.get_bytes(&["v2", "campaign", "ids"], &query).await {
            Ok(body) => parse_json(&body),
            Err(e) if e.code == ErrorCode::NotFound => Ok(Map::new()),
            Err(e) => Err(e),
        }
    }

    /// `GET /v2/people/{vap|top-clickers}?window=&size=&page=`.
    pub async fn people(
        &self,
        list: &str,
        window: u32,
        size: usize,
        page: usize,
    ) -> Result<Map<String, Value>> {
        let (window, size, page) = (window.to_string(), size.to_string(), page.to_string());
        let query = [
            ("window", window.as_str()),
            ("size", &size),
            ("page", &page),
        ];
        let body = self.get_bytes(&["v2", "people", list], &query).await?;
        parse_json(&body)
    }

    /// `GET /v2/siem/{endpoint}?interval={start}/{end}&format=json` with `threatStatus` and
    /// `threatType` repeated for each value. Each call counts against a 1 800-a-day quota.
    pub async fn siem(
        &self,
        endpoint: &[&str],
        interval: &str,
        statuses: &[&str],
        types: &[&str],
    ) -> Result<Map<String, Value>> {
        let mut segments = vec!["v2", "siem"];
        segments.extend_from_slice(endpoint);
        let mut query = vec![("interval", interval), ("format", "json")];
        query.extend(statuses.iter().map(|s| ("threatStatus", *s)));
        query.extend(types.iter().map(|t| ("threatType", *t)));
        let body = self.get_bytes(&segments, &query).await?;
        parse_json(&body)
    }

    /// `POST /v2/url/decode` with `{"urls": [...]}`. Counts against the 1 800-a-day quota.
    pub async fn decode_urls(&self, urls: &[String]) -> Result<DecodeResponse> {
        #[derive(Serialize)]
        struct Body<'a> {
            urls: &'a [String],
        }
        let body = serde_json::to_vec(&Body { urls }).map_err(|e| {
            Error::new(
                ErrorCode::Internal,
                format!("could not encode the request: {e}"),
            )
        })?;
        let url = self.url(&["v2", "url", "decode"], &[])?;
        let answer = self.send(Method::POST, url, Some(body)).await?;
        parse_json(&answer)
    }

    async fn get_bytes(&self, segments: &[&str], query: &[(&str, &str)]) -> Result<Vec<u8>> {
        let url = self.url(segments, query)?;
        self.send(Method::GET, url, None).await
    }

    /// The endpoint URL under the API root. Each segment is percent-encoded as one path segment
    /// (`/`, `?` and `%` included), so no value can change the path.
    fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Result<Url> {
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
    async fn send(&self, method: Method, url: Url, body: Option<Vec<u8>>) -> Result<Vec<u8>> {
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
                        let detail = error_detail(response).await;
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

/// A short reason from an error body (`{"message": ...}` or plain text), for 400 answers.
async fn error_detail(response: reqwest::Response) -> Option<String> {
    if response.status() != StatusCode::BAD_REQUEST {
        return None;
    }
    let bytes = response.bytes().await.ok()?;
    let bytes = &bytes[..bytes.len().min(64 * 1024)];
    let text = match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(o)) => ["message", "error", "errorMessage"]
            .iter()
            .find_map(|k| o.get(*k).and_then(Value::as_str).map(str::to_owned))?,
        _ => String::from_utf8_lossy(bytes).trim().to_owned(),
    };
    let text: String = text.chars().filter(|c| !c.is_control()).take(200).collect();
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

/// Parses a TAP body, mapping failure to `invalid_response`.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T> {
    serde_json::from_slice(body).map_err(|e| {
        Error::new(
            ErrorCode::InvalidResponse,
            format!("TAP's answer is not the JSON expected ({e})"),
        )
    })
}

/// The body of `POST /v2/url/decode`.
#[derive(Debug, Clone, Deserialize)]
pub struct DecodeResponse {
    /// One item per URL sent.
    #[serde(default)]
    pub urls: Vec<DecodedItem>,
}

/// One URL of a decode answer; fields TAP adds for authenticated calls are kept in `extra`.
#[derive(Debug, Clone, Deserialize)]
pub struct DecodedItem {
    /// The URL as sent.
    #[serde(rename = "encodedUrl", alias = "encodedURL", default)]
    pub encoded_url: String,
    /// The decoded URL, absent when decoding failed.
    #[serde(rename = "decodedUrl", alias = "decodedURL", default)]
    pub decoded_url: Option<String>,
    /// Whether TAP decoded it.
    #[serde(default)]
    pub success: bool,
    /// TAP's reason for a failure.
    #[serde(default)]
    pub error: Option<String>,
    /// Everything else TAP sent (`messageGuid`, `clusterName`, `recipientEmail`, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_root_rules() {
        assert!(validate_api_root("https://tap-api-v2.proofpoint.com").is_ok());
        assert_eq!(
            validate_api_root("https://proxy.example/tap/")
                .unwrap()
                .path(),
            "/tap/"
        );
        assert!(validate_api_root("http://127.0.0.1:8080").is_ok());
        assert!(validate_api_root("http://127.9.9.9").is_ok());
        assert!(validate_api_root("http://[::1]:1").is_ok());
        assert!(validate_api_root("http://localhost:1").is_ok());
        for bad in [
            "http://tap-api-v2.proofpoint.com",
            "http://10.0.0.1",
            "ftp://127.0.0.1",
            "tap-api-v2.proofpoint.com",
            "https://",
            "https://h.example/?a=b",
            "https://h.example/#x",
        ] {
            let e = validate_api_root(bad).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidParameter, "{bad}");
        }
        let e = validate_api_root("https://user:s3cr3t@h.example").unwrap_err();
        assert!(e.message.contains("must not contain credentials"));
        assert!(!e.message.contains("s3cr3t"));
        let e = validate_api_root("ht!tp://user:s3cr3t@h").unwrap_err();
        assert!(!e.message.contains("s3cr3t"), "{}", e.message);
    }

    fn client(root: &str) -> TapClient {
        let config = Config {
            api_root: root.into(),
            principal: Some("p".into()),
            secret: Some(Secret::new("s")),
            verify_ssl: true,
            timeout: Duration::from_secs(1),
            max_concurrency: 1,
        };
        TapClient::new(&config, None, Arc::default()).unwrap()
    }

    #[test]
    fn path_parts_cannot_change_the_path() {
        let c = client("https://proxy.example/tap/");
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
