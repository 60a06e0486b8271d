//! Wire types: the request read from stdin and the envelope written to stdout.
//!
//! No I/O here. These types are the contract of SPEC §2 and §3; `schemas/` is generated from them
//! (see `schema.rs`) and a test fails when the checked-in files drift.

use std::fmt;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::error::{Error, ErrorCode};

/// One action request, as a SOAR platform sends it. Unknown top-level fields are ignored.
// The parameters stay raw JSON text borrowed from the request (`'a`): each is read into its
// action's typed parameter only once, so a list of fifty thousand URLs is never copied first.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[schemars(title = "proofpoint-tap action request")]
pub struct Request<'a> {
    /// The action to run: `ping`, `decode_url`, `get_campaign`, or one of their tool, script or
    /// display names (case-insensitive). May be given on the command line instead.
    #[serde(default)]
    pub action: Option<String>,
    /// The SOAR case the action runs for; a string or an integer, echoed back as a string.
    #[serde(default)]
    #[schemars(with = "Option<CaseIdSchema>")]
    pub case_id: Option<CaseId>,
    /// The alert group identifiers of the case, echoed back.
    #[serde(default, deserialize_with = "null_as_default")]
    pub alert_group_identifiers: Vec<String>,
    /// The entities the action runs on, before scope filtering.
    #[serde(default, deserialize_with = "null_as_default")]
    pub target_entities: Vec<TargetEntity>,
    /// Which target entities to use; default `All entities`.
    #[serde(default)]
    pub scope: Option<String>,
    /// The action's parameters, by snake_case key or SOAR display name.
    #[serde(default, borrow)]
    #[schemars(with = "Map<String, Value>")]
    pub parameters: RawParams<'a>,
    /// The integration instance settings; see `integration.json`. Missing values fall back to the
    /// environment.
    #[serde(default, deserialize_with = "null_as_default")]
    pub configuration: Map<String, Value>,
    /// The platform's deadline for the action, in milliseconds since the Unix epoch.
    #[serde(default)]
    pub execution_deadline_unix_time_ms: Option<u64>,
}

/// The request's `parameters` object: each key with the raw JSON text of its value, in request
/// order (a key given twice appears twice). `null` reads as no parameters.
#[derive(Debug, Clone, Default)]
pub struct RawParams<'a>(pub Vec<(String, &'a RawValue)>);

impl Serialize for RawParams<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for RawParams<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RawParamsVisitor;
        impl<'de> Visitor<'de> for RawParamsVisitor {
            type Value = RawParams<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(RawParams::default())
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(RawParams::default())
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, &'de RawValue>()? {
                    entries.push(entry);
                }
                Ok(RawParams(entries))
            }
        }
        deserializer.deserialize_any(RawParamsVisitor)
    }
}

/// A case id, accepted as a string or an integer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseId(pub String);

/// Schema stand-in for [`CaseId`].
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum CaseIdSchema {
    Text(String),
    Number(i64),
}

impl<'de> Deserialize<'de> for CaseId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct CaseIdVisitor;
        impl Visitor<'_> for CaseIdVisitor {
            type Value = CaseId;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an integer")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<CaseId, E> {
                Ok(CaseId(v.to_owned()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<CaseId, E> {
                Ok(CaseId(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<CaseId, E> {
                Ok(CaseId(v.to_string()))
            }
        }
        deserializer.deserialize_any(CaseIdVisitor)
    }
}

/// An entity of the case, as the platform sends it. The PascalCase spellings of the SOAR tools are
/// accepted too.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
pub struct TargetEntity {
    /// The entity's identifier (SOAR upper-cases it).
    #[serde(alias = "Identifier")]
    pub identifier: String,
    /// SOAR entity type: `DestinationURL`, `THREATCAMPAIGN`, `USERUNIQNAME`, `ADDRESS`, `FILEHASH`, ...
    #[serde(alias = "EntityType")]
    pub entity_type: String,
    /// Extra properties; `OriginalIdentifier` holds the identifier as it was before upper-casing.
    #[serde(
        default,
        alias = "AdditionalProperties",
        deserialize_with = "null_as_default"
    )]
    pub additional_properties: Map<String, Value>,
}

impl TargetEntity {
    /// The value to act on: `OriginalIdentifier` where the platform kept it, else the identifier.
    pub fn value(&self) -> &str {
        match self.additional_properties.get("OriginalIdentifier") {
            Some(Value::String(original)) if !original.trim().is_empty() => original,
            _ => &self.identifier,
        }
    }

    /// Whether the entity is of the given SOAR type (compared case-insensitively).
    pub fn is_type(&self, entity_type: &str) -> bool {
        self.entity_type.eq_ignore_ascii_case(entity_type)
    }
}

fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Where an action run ended up. Ordered as the SOAR SDK numbers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExecutionState {
    /// The action ran; `result_value` says whether it found what it was asked for.
    Completed,
    /// Reserved for asynchronous actions; this binary never reports it.
    InProgress,
    /// The action could not do its work; `errors` says why.
    Failed,
    /// The platform's deadline came first; finished items are reported.
    TimedOut,
}

/// The one JSON document written to stdout.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[schemars(title = "proofpoint-tap result envelope")]
pub struct Envelope {
    /// The canonical action name; the name as given when it is not a known action; null when none
    /// could be read.
    pub action: Option<String>,
    /// The request's `case_id`, as a string.
    pub case_id: Option<String>,
    /// The request's `alert_group_identifiers`.
    pub alert_group_identifiers: Vec<String>,
    /// How the run ended.
    pub execution_state: ExecutionState,
    /// The script result: true when the action found what it was asked for.
    pub result_value: bool,
    /// The name of the script result (`is_success`, `decoded_urls`, `campaign_info`); null when the
    /// action is unknown.
    pub result_name: Option<String>,
    /// For people: one line per outcome.
    pub output_message: String,
    /// The action's JSON result; null when there is none.
    #[schemars(with = "Option<Value>")]
    pub json_result: Option<JsonResult>,
    /// Insights for the platform to add to the case.
    pub insights: Vec<Insight>,
    /// Entities for the platform to add to the case.
    pub entities: Vec<Entity>,
    /// Properties for the platform to add to existing target entities.
    pub enrichments: Vec<Enrichment>,
    /// Data tables for the platform to attach to the case.
    pub tables: Vec<Table>,
    /// What went wrong, whole-action or per item.
    pub errors: Vec<ErrorEntry>,
    /// Measurements of this run: the only field that may differ between two runs of one request.
    pub metrics: Metrics,
}

/// An action's JSON result. Most are a [`Value`]; the potentially huge ones stay typed so that they
/// are serialized once, straight into stdout, instead of being built as a tree or a string first.
#[derive(Debug, Clone, PartialEq)]
pub enum JsonResult {
    /// Any JSON.
    Value(Value),
    /// Decode URL's list of decoded URLs.
    DecodedUrls(DecodedUrls),
}

impl Serialize for JsonResult {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            JsonResult::Value(v) => v.serialize(s),
            JsonResult::DecodedUrls(list) => list.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for JsonResult {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Value::deserialize(d).map(JsonResult::Value)
    }
}

/// Where a URL was decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DecodeSource {
    /// Offline, by this binary.
    Local,
    /// By TAP's `POST /v2/url/decode`.
    Api,
}

/// Decode URL's `json_result`: one `{encodedUrl, decodedUrl, success, source}` object per decoded
/// URL, in input order, plus the fields TAP's decode API adds for authenticated calls.
///
/// A request can carry tens of thousands of URLs, so texts are not one allocation each: they live
/// back to back in a few large buffers (the request itself, one per decoding thread), each entry
/// says where its texts are, and entries come in chunks kept as the decoding produced them.
#[derive(Debug, Clone, Default)]
pub struct DecodedUrls {
    buffers: Vec<Buffer>,
    /// Texts kept one at a time by [`DecodedUrls::push_text`].
    own: String,
    chunks: Vec<Vec<DecodedEntry>>,
}

#[derive(Debug, Clone)]
enum Buffer {
    Own(String),
    /// Text shared with others, such as the request the encoded URLs were read from.
    Shared(Arc<String>),
}

impl Buffer {
    fn as_str(&self) -> &str {
        match self {
            Buffer::Own(s) => s,
            Buffer::Shared(s) => s,
        }
    }
}

/// One entry of a [`DecodedUrls`]: where its texts are kept, and what else it says.
#[derive(Debug, Clone)]
pub struct DecodedEntry {
    /// The URL as given.
    pub encoded_url: TextRef,
    /// The URL it stands for.
    pub decoded_url: TextRef,
    /// Where it was decoded.
    pub source: DecodeSource,
    /// Fields TAP's decode API adds for authenticated calls.
    pub extra: Option<Box<Map<String, Value>>>,
}

/// Where a text is kept in a [`DecodedUrls`]: a buffer and a byte range in it.
///
/// Twelve bytes, not four words: a bulk request makes two per URL, and every page of them is
/// memory the process must fault in and give back. Offsets fit in 32 bits since a request is at
/// most 16 MiB and no decoded URL is longer than its encoded form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextRef {
    /// As returned by [`DecodedUrls::add_buffer`] or [`DecodedUrls::add_shared`]; [`OWN`] for the
    /// texts kept by [`DecodedUrls::push_text`].
    buffer: u32,
    start: u32,
    end: u32,
}

/// [`TextRef::buffer`] of the texts a [`DecodedUrls`] keeps itself.
const OWN: u32 = u32::MAX;

impl TextRef {
    /// `range` of buffer `buffer`.
    pub fn new(buffer: usize, range: std::ops::Range<usize>) -> Self {
        let buffer = u32::try_from(buffer)
            .ok()
            .filter(|&b| b != OWN)
            .expect("fewer than 4 billion text buffers");
        Self::at(buffer, range)
    }

    fn at(buffer: u32, range: std::ops::Range<usize>) -> Self {
        let offset = |n: usize| u32::try_from(n).expect("texts of a request are under 4 GiB");
        TextRef {
            buffer,
            start: offset(range.start),
            end: offset(range.end),
        }
    }

    fn range(&self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// One decoded URL, as read from a [`DecodedUrls`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DecodedUrl<'a> {
    /// The URL as given.
    pub encoded_url: &'a str,
    /// The URL it stands for.
    pub decoded_url: &'a str,
    /// Where it was decoded.
    pub source: DecodeSource,
    /// Fields TAP's decode API adds for authenticated calls (`messageGuid`, `clusterName`, ...).
    pub extra: Option<&'a Map<String, Value>>,
}

impl DecodedUrls {
    /// Takes a buffer of texts; [`TextRef`]s into it use the number returned.
    pub fn add_buffer(&mut self, text: String) -> usize {
        self.buffers.push(Buffer::Own(text));
        self.buffers.len() - 1
    }

    /// Keeps a shared text (the request) as a buffer, so that slices of it need no copy.
    pub fn add_shared(&mut self, text: Arc<String>) -> usize {
        self.buffers.push(Buffer::Shared(text));
        self.buffers.len() - 1
    }

    /// How many buffers there are: the number the next one added will get.
    pub fn buffer_count(&self) -> usize {
        self.buffers.len()
    }

    /// Keeps a text of its own (an API answer, a URL with escapes) and says where it is.
    pub fn push_text(&mut self, text: &str) -> TextRef {
        let start = self.own.len();
        self.own.push_str(text);
        TextRef::at(OWN, start..self.own.len())
    }

    /// Appends entries, kept as they are; their texts must be kept in this list's buffers.
    pub fn push_chunk(&mut self, entries: Vec<DecodedEntry>) {
        if !entries.is_empty() {
            self.chunks.push(entries);
        }
    }

    fn resolve(&self, at: &TextRef) -> &str {
        let buffer = match at.buffer {
            OWN => &self.own,
            b => self.buffers[b as usize].as_str(),
        };
        &buffer[at.range()]
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.chunks.iter().map(Vec::len).sum()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.chunks.is_empty()
    }

    /// The entries in order.
    pub fn iter(&self) -> impl Iterator<Item = DecodedUrl<'_>> {
        self.chunks.iter().flatten().map(|e| DecodedUrl {
            encoded_url: self.resolve(&e.encoded_url),
            decoded_url: self.resolve(&e.decoded_url),
            source: e.source,
            extra: e.extra.as_deref(),
        })
    }
}

impl PartialEq for DecodedUrls {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Serialize for DecodedUrls {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl Serialize for DecodedUrl<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let extra = self.extra.map_or(0, Map::len);
        let mut map = s.serialize_map(Some(4 + extra))?;
        map.serialize_entry("encodedUrl", self.encoded_url)?;
        map.serialize_entry("decodedUrl", self.decoded_url)?;
        map.serialize_entry("success", &true)?;
        map.serialize_entry("source", &self.source)?;
        for (key, value) in self.extra.into_iter().flatten() {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

/// A case insight.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Insight {
    /// Title shown on the insight.
    pub title: String,
    /// Body; HTML with every TAP string escaped.
    pub content: String,
    /// Always `html`.
    pub content_type: String,
    /// The entity the insight is about, or null for a general insight.
    pub entity_identifier: Option<String>,
    /// `info`, `warn` or `error`.
    pub severity: String,
    /// `general` or `entity`.
    #[serde(rename = "type")]
    pub insight_type: String,
    /// Always `ProofPointTAP`.
    pub triggered_by: String,
}

impl Insight {
    /// A general, informational HTML insight.
    pub fn general_html(title: impl Into<String>, content: impl Into<String>) -> Self {
        Insight {
            title: title.into(),
            content: content.into(),
            content_type: "html".into(),
            entity_identifier: None,
            severity: "info".into(),
            insight_type: "general".into(),
            triggered_by: crate::INTEGRATION_IDENTIFIER.into(),
        }
    }
}

/// An entity for the platform to create.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Entity {
    /// The entity's identifier.
    pub identifier: String,
    /// SOAR entity type.
    pub entity_type: String,
    /// Whether the entity belongs to the organisation.
    pub is_internal: bool,
    /// Whether the entity is suspicious.
    pub is_suspicious: bool,
    /// Whether the entity carries enrichment.
    pub is_enriched: bool,
    /// Whether the entity is vulnerable.
    pub is_vulnerable: bool,
    /// Properties; always holds `is_new_entity: true`.
    pub properties: Map<String, Value>,
}

impl Entity {
    /// A new entity with `is_new_entity: true` and the given extra properties.
    pub fn new(
        identifier: impl Into<String>,
        entity_type: impl Into<String>,
        extra: Map<String, Value>,
    ) -> Self {
        let mut properties = Map::new();
        properties.insert("is_new_entity".into(), Value::Bool(true));
        properties.extend(extra);
        Entity {
            identifier: identifier.into(),
            entity_type: entity_type.into(),
            is_internal: false,
            is_suspicious: false,
            is_enriched: false,
            is_vulnerable: false,
            properties,
        }
    }
}

/// Properties to add to an existing target entity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Enrichment {
    /// The target entity's identifier, as the platform sent it.
    pub identifier: String,
    /// The target entity's type.
    pub entity_type: String,
    /// Properties to set, prefixed `ProofPointTAP_`.
    pub properties: Map<String, Value>,
}

/// A data table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Table {
    /// Table title.
    pub title: String,
    /// Column names.
    pub columns: Vec<String>,
    /// Rows, each as long as `columns`.
    pub rows: Vec<Vec<String>>,
}

/// One failure, of the whole action or of one item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ErrorEntry {
    /// Stable code.
    pub code: ErrorCode,
    /// Plain-words reason.
    pub message: String,
    /// The item concerned (campaign id, URL, ...), when the error is about one item.
    pub subject: Option<String>,
}

impl From<Error> for ErrorEntry {
    fn from(e: Error) -> Self {
        ErrorEntry {
            code: e.code,
            message: e.message,
            subject: e.subject,
        }
    }
}

/// Measurements of one run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Metrics {
    /// Wall time from start to envelope, in milliseconds.
    pub duration_ms: u64,
    /// HTTP requests sent to TAP, retries included.
    pub http_requests: u64,
}
