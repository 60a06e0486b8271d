//! The one error type of the runner, with the stable snake_case codes that reach the envelope.
//!
//! Every failure — a bad request, a parameter out of range, an HTTP status, a URL that does not
//! decode — is an [`Error`]. The runner turns it into an envelope in one place (`runner.rs`), so the
//! codes below are the complete vocabulary a playbook can branch on.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Why something failed. Serialized in snake_case; these names are part of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request could not be used: not JSON, not an object, a field of the wrong type, unknown scope.
    InvalidRequest,
    /// The action named in the request or on the command line is not one this binary knows.
    UnknownAction,
    /// A parameter (or configuration value) is unknown or has a value the action cannot use.
    InvalidParameter,
    /// Something the action needs (credentials, API root) is configured nowhere.
    MissingConfiguration,
    /// TAP answered 401 or 403.
    Unauthorized,
    /// TAP answered 404.
    NotFound,
    /// TAP answered 429.
    RateLimited,
    /// TAP answered 400.
    BadRequest,
    /// TAP answered 5xx.
    ServerError,
    /// A request got no complete answer within its timeout.
    Timeout,
    /// DNS, TCP or TLS failed before an answer arrived.
    Connection,
    /// TAP answered with a body that is not what TAP sends.
    InvalidResponse,
    /// The platform's execution deadline came before the work was done.
    DeadlineExceeded,
    /// A URL given to Decode URL is neither a URL Defense URL nor another known wrapper's.
    NotUrlDefense,
    /// A wrapped URL could not be decoded.
    DecodeFailed,
    /// A wrapper whose target only its vendor's server knows (Mimecast, some Sophos links).
    NotDecodableOffline,
    /// A bug: the action stopped unexpectedly.
    Internal,
}

impl ErrorCode {
    /// The snake_case name, as it appears in the envelope.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::UnknownAction => "unknown_action",
            ErrorCode::InvalidParameter => "invalid_parameter",
            ErrorCode::MissingConfiguration => "missing_configuration",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::NotFound => "not_found",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::ServerError => "server_error",
            ErrorCode::Timeout => "timeout",
            ErrorCode::Connection => "connection",
            ErrorCode::InvalidResponse => "invalid_response",
            ErrorCode::DeadlineExceeded => "deadline_exceeded",
            ErrorCode::NotUrlDefense => "not_url_defense",
            ErrorCode::DecodeFailed => "decode_failed",
            ErrorCode::NotDecodableOffline => "not_decodable_offline",
            ErrorCode::Internal => "internal",
        }
    }

    /// Whether this code means the request itself was unusable (exit status 2).
    pub fn is_request_error(self) -> bool {
        matches!(self, ErrorCode::InvalidRequest | ErrorCode::UnknownAction)
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failure with its code, a message for people, and the item it concerns (if one).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    /// Stable code.
    pub code: ErrorCode,
    /// Plain-words reason; never contains the TAP secret.
    pub message: String,
    /// The campaign id, URL, ... the error is about, when it is about one item.
    pub subject: Option<String>,
}

impl Error {
    /// An error with no subject.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Error {
            code,
            message: message.into(),
            subject: None,
        }
    }

    /// The same error, about one item.
    pub fn with_subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// Shorthand for [`ErrorCode::InvalidRequest`].
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Error::new(ErrorCode::InvalidRequest, message)
    }

    /// Shorthand for [`ErrorCode::InvalidParameter`].
    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        Error::new(ErrorCode::InvalidParameter, message)
    }
}

/// Result with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
