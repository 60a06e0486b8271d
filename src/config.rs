//! The integration instance configuration: request values first, then the environment.
//!
//! The secret lives in [`Secret`], whose `Debug` prints a placeholder and which has no `Display`,
//! so no log line or error can show it by accident.

use std::borrow::Cow;
use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::de::{self, Deserializer};
use serde::Deserialize;
use serde_json::{Map, Value};
use url::{Host, Url};

use crate::error::{Error, ErrorCode, Result};
use crate::params::{self, parameters, Flag, Integer, Section};

/// The default TAP API root.
pub(crate) const DEFAULT_API_ROOT: &str = "https://tap-api-v2.proofpoint.com";
/// Environment variable for the API root.
pub(crate) const ENV_API_ROOT: &str = "PROOFPOINT_TAP_API_ROOT";
/// Environment variable for the service principal.
pub(crate) const ENV_PRINCIPAL: &str = "PROOFPOINT_TAP_PRINCIPAL";
/// Environment variable for the service secret.
pub(crate) const ENV_SECRET: &str = "PROOFPOINT_TAP_SECRET";
/// Environment variable for TLS certificate verification.
pub(crate) const ENV_VERIFY_SSL: &str = "PROOFPOINT_TAP_VERIFY_SSL";

/// The TAP service secret. Its `Debug` never shows the value; use [`Secret::expose`] only where
/// the value goes onto the wire.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub(crate) fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value itself, for the Authorization header.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        // Deserialized through `Value` so that a wrong type is reported without quoting the value.
        match Value::deserialize(d)? {
            Value::String(s) => Ok(Secret(s)),
            _ => Err(de::Error::custom(
                "expected a string (the value is not shown)",
            )),
        }
    }
}

impl JsonSchema for Secret {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        "Secret".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"x-kind": "password", "type": "string", "writeOnly": true})
    }
}

parameters! {
    /// The configuration keys as the request may carry them (SPEC §2 `configuration`).
    #[derive(Debug, Default, Deserialize, JsonSchema)]
    #[schemars(title = "proofpoint-tap configuration")]
    pub(crate) struct ConfigInput {
        /// Root of the TAP API, path prefix kept. https, or http to a loopback host for local testing.
        /// Falls back to PROOFPOINT_TAP_API_ROOT, then `https://tap-api-v2.proofpoint.com`.
        #[param("Api Root")]
        #[serde(default)]
        #[schemars(extend("x-env" = "PROOFPOINT_TAP_API_ROOT", "default" = DEFAULT_API_ROOT))]
        pub api_root: Option<String>,
        /// The TAP service principal. Falls back to PROOFPOINT_TAP_PRINCIPAL.
        #[param("Username")]
        #[serde(default)]
        #[schemars(extend("x-env" = "PROOFPOINT_TAP_PRINCIPAL"))]
        pub username: Option<String>,
        /// The TAP service secret. Falls back to PROOFPOINT_TAP_SECRET.
        #[param("Password")]
        #[serde(default)]
        #[schemars(extend("x-env" = "PROOFPOINT_TAP_SECRET"))]
        pub password: Option<Secret>,
        /// Verify the server's TLS certificate. Falls back to PROOFPOINT_TAP_VERIFY_SSL, then true.
        #[param("Verify SSL")]
        #[serde(default)]
        #[schemars(extend("x-env" = "PROOFPOINT_TAP_VERIFY_SSL", "default" = true))]
        pub verify_ssl: Option<Flag>,
        /// Timeout of each HTTP request, in seconds (1..=600).
        #[param("Timeout Seconds", range = 1..=600)]
        #[serde(default)]
        #[schemars(extend("default" = 30))]
        pub timeout_seconds: Option<Integer>,
        /// How many TAP requests may be in flight at once (1..=32).
        #[param("Max Concurrency", range = 1..=32)]
        #[serde(default)]
        #[schemars(extend("default" = 4))]
        pub max_concurrency: Option<Integer>,
    }
}

/// The environment variable a configuration key falls back to, if any.
pub(crate) fn environment_variable(key: &str) -> Option<&'static str> {
    match key {
        "api_root" => Some(ENV_API_ROOT),
        "username" => Some(ENV_PRINCIPAL),
        "password" => Some(ENV_SECRET),
        "verify_ssl" => Some(ENV_VERIFY_SSL),
        _ => None,
    }
}

/// Whether the URL's host is this machine: a loopback address or `localhost`.
pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// The resolved configuration of one run.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// API root as given (validated when the client is built).
    pub api_root: String,
    /// Service principal, if configured anywhere.
    pub principal: Option<String>,
    /// Service secret, if configured anywhere.
    pub secret: Option<Secret>,
    /// Whether TLS certificates are verified.
    pub verify_ssl: bool,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Bound on concurrent TAP requests.
    pub max_concurrency: usize,
}

impl Config {
    /// Reads the request's `configuration`, filling gaps from `env` (a lookup such as
    /// `std::env::var`, injected for tests).
    pub(crate) fn resolve(
        raw: &Map<String, Value>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self> {
        let input: ConfigInput = params::parse(raw.clone(), Section::Configuration)?;
        let env = |key: &str| env(key).filter(|v| !v.trim().is_empty());
        let verify_ssl = match input.verify_ssl {
            Some(Flag(v)) => v,
            None => match env(ENV_VERIFY_SSL) {
                None => true,
                Some(v) => match v.trim().to_ascii_lowercase().as_str() {
                    "true" | "1" | "yes" => true,
                    "false" | "0" | "no" => false,
                    _ => {
                        return Err(Error::new(
                            ErrorCode::InvalidParameter,
                            format!("{ENV_VERIFY_SSL} must be true or false, not \"{v}\"."),
                        ))
                    }
                },
            },
        };
        // In range: their ranges are declared with them and checked when they are read.
        let timeout = input.timeout_seconds.map_or(30, |Integer(v)| v);
        let max_concurrency = input.max_concurrency.map_or(4, |Integer(v)| v);
        Ok(Config {
            api_root: input
                .api_root
                .filter(|s| !s.trim().is_empty())
                .or_else(|| env(ENV_API_ROOT))
                .unwrap_or_else(|| DEFAULT_API_ROOT.to_owned())
                .trim()
                .to_owned(),
            principal: input.username.or_else(|| env(ENV_PRINCIPAL)),
            secret: input.password.or_else(|| env(ENV_SECRET).map(Secret)),
            verify_ssl,
            timeout: Duration::from_secs(timeout as u64),
            max_concurrency: max_concurrency as usize,
        })
    }

    /// The API root as a URL, once [`validate_api_root`] accepts it.
    pub(crate) fn api_url(&self) -> Result<Url> {
        validate_api_root(&self.api_root)
    }

    /// The principal and secret, or a `missing_configuration` error saying where to set them.
    pub(crate) fn credentials(&self) -> Result<(&str, &Secret)> {
        match (&self.principal, &self.secret) {
            (Some(p), Some(s)) => Ok((p, s)),
            (None, _) => Err(Error::new(
                ErrorCode::MissingConfiguration,
                format!("no TAP service principal is configured. Set \"Username\" in the configuration or {ENV_PRINCIPAL} in the environment."),
            )),
            (_, None) => Err(Error::new(
                ErrorCode::MissingConfiguration,
                format!("no TAP service secret is configured. Set \"Password\" in the configuration or {ENV_SECRET} in the environment."),
            )),
        }
    }
}

/// Checks an API root: a parsable URL, https (or http to a loopback host), no credentials, no
/// query or fragment. The returned URL keeps its path prefix.
pub(crate) fn validate_api_root(raw: &str) -> Result<Url> {
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
    let loopback = is_loopback(&url);
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        scheme => Err(invalid(format!(
            "the API root {shown} uses {scheme}; TAP is reached over https (http is accepted only for a loopback host such as 127.0.0.1)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn resolve(v: Value, env: &[(&str, &str)]) -> Result<Config> {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::resolve(v.as_object().unwrap(), |k| {
            env.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn request_values_win_over_environment() {
        let c = resolve(
            json!({"Api Root": "https://a.example", "Username": "u", "Password": "p", "Verify SSL": "false"}),
            &[(ENV_API_ROOT, "https://b.example"), (ENV_PRINCIPAL, "v"), (ENV_SECRET, "q")],
        )
        .unwrap();
        assert_eq!(c.api_root, "https://a.example");
        assert_eq!(c.principal.as_deref(), Some("u"));
        assert_eq!(c.secret, Some(Secret::new("p")));
        assert!(!c.verify_ssl);
    }

    #[test]
    fn environment_and_defaults_fill_gaps() {
        let c = resolve(
            json!({"api_root": ""}),
            &[(ENV_PRINCIPAL, "v"), (ENV_SECRET, "q")],
        )
        .unwrap();
        assert_eq!(c.api_root, DEFAULT_API_ROOT);
        assert!(c.verify_ssl, "missing Verify SSL means verify");
        assert_eq!(c.timeout, Duration::from_secs(30));
        assert_eq!(c.max_concurrency, 4);
        assert!(c.credentials().is_ok());
        let c = resolve(json!({}), &[(ENV_VERIFY_SSL, "FALSE")]).unwrap();
        assert!(!c.verify_ssl);
        assert_eq!(
            c.credentials().unwrap_err().code,
            ErrorCode::MissingConfiguration
        );
    }

    #[test]
    fn secret_is_never_shown() {
        let c = resolve(json!({"password": "hunter2-secret"}), &[]).unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
        let e = resolve(json!({"password": 987654321}), &[]).unwrap_err();
        assert!(!e.message.contains("987654321"), "{}", e.message);
    }

    #[test]
    fn tuning_keys_are_bounded() {
        let e = resolve(json!({"max_concurrency": "0"}), &[]).unwrap_err();
        assert!(e.message.contains("between 1 and 32"), "{}", e.message);
        let c = resolve(json!({"timeout_seconds": "5", "max_concurrency": 8}), &[]).unwrap();
        assert_eq!((c.timeout.as_secs(), c.max_concurrency), (5, 8));
    }

    #[test]
    fn unknown_keys_are_ignored_but_near_misses_refused() {
        let c = resolve(
            json!({"apiroot": "https://x.example", "AgentIdentifier": 1}),
            &[],
        )
        .unwrap();
        assert_eq!(c.api_root, "https://x.example");
        let e = resolve(json!({"max_concurency": 8}), &[]).unwrap_err();
        assert!(
            e.message
                .contains("Did you mean \"Max Concurrency\" (max_concurrency)?"),
            "{}",
            e.message
        );
    }

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
}
