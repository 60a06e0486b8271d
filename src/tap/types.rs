//! TAP's answers where the runner looks inside them. Everything else passes through as TAP sent
//! it; fields TAP adds are kept, not dropped.

use serde::Deserialize;
use serde_json::{Map, Value};

/// The body of `POST /v2/url/decode`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct DecodeResponse {
    /// One item per URL sent.
    #[serde(default)]
    pub(crate) urls: Vec<DecodedItem>,
}

/// One URL of a decode answer; fields TAP adds for authenticated calls are kept in `extra`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct DecodedItem {
    /// The URL as sent.
    #[serde(rename = "encodedUrl", alias = "encodedURL", default)]
    pub(crate) encoded_url: String,
    /// The decoded URL, absent when decoding failed.
    #[serde(rename = "decodedUrl", alias = "decodedURL", default)]
    pub(crate) decoded_url: Option<String>,
    /// Whether TAP decoded it.
    #[serde(default)]
    pub(crate) success: bool,
    /// TAP's reason for a failure.
    #[serde(default)]
    pub(crate) error: Option<String>,
    /// Everything else TAP sent (`messageGuid`, `clusterName`, `recipientEmail`, ...).
    #[serde(flatten)]
    pub(crate) extra: Map<String, Value>,
}
