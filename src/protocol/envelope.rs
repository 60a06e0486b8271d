//! The result envelope (SPEC §3) and its parts: what an action reports, as the platform reads it.
//!
//! No I/O here; [`super::write`] writes it. `schemas/result.schema.json` is generated from these
//! types and a test fails when the checked-in file drifts.

use schemars::JsonSchema;
use serde::de::Deserializer;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use std::sync::Arc;
use std::{fmt, io};

use super::decoded_urls::{DecodedUrl, DecodedUrls};
use crate::error::{Error, ErrorCode};

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
    #[schemars(with = "Vec<Entity>")]
    pub entities: Entities,
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
#[derive(Debug, Clone)]
pub enum JsonResult {
    /// Any JSON.
    Value(Value),
    /// Decode URL's list of decoded URLs (shared with the envelope's [`Entities`], which can
    /// name some of its URLs as new entities).
    DecodedUrls(Arc<DecodedUrls>),
    /// JSON already written, with TAP's objects passed through as TAP sent them.
    Raw(Box<RawValue>),
    /// JSON written only when the envelope is, straight into it: a result of many MiB (a week of
    /// events) is not held a second time as text.
    Streamed(Arc<dyn StreamedJson>),
}

/// A JSON result that writes itself (see [`JsonResult::Streamed`]).
pub trait StreamedJson: fmt::Debug + Send + Sync {
    /// Writes the result as compact JSON.
    fn write_json(&self, out: &mut dyn io::Write) -> io::Result<()>;
}

impl JsonResult {
    /// `result`, to be written when the envelope is.
    pub(crate) fn streamed(result: impl StreamedJson + 'static) -> Option<JsonResult> {
        Some(JsonResult::Streamed(Arc::new(result)))
    }

    /// The JSON text of a streamed result, for the ways of writing an envelope that go through
    /// serde (`--pretty`, MCP).
    fn streamed_text(result: &dyn StreamedJson) -> Result<Box<RawValue>, serde_json::Error> {
        let mut text = Vec::new();
        result
            .write_json(&mut text)
            .map_err(serde_json::Error::io)?;
        let text = String::from_utf8(text)
            .map_err(|e| serde_json::Error::io(io::Error::new(io::ErrorKind::InvalidData, e)))?;
        RawValue::from_string(text)
    }
}

impl JsonResult {
    /// `value` written out once, TAP's raw objects in it untouched; none when it cannot be
    /// written (it always can: what goes in is JSON already).
    pub(crate) fn raw(value: &impl Serialize) -> Option<JsonResult> {
        serde_json::value::to_raw_value(value)
            .ok()
            .map(JsonResult::Raw)
    }
}

impl PartialEq for JsonResult {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (JsonResult::Value(a), JsonResult::Value(b)) => a == b,
            (JsonResult::DecodedUrls(a), JsonResult::DecodedUrls(b)) => a == b,
            (JsonResult::Raw(a), JsonResult::Raw(b)) => a.get() == b.get(),
            (JsonResult::Streamed(a), JsonResult::Streamed(b)) => {
                match (Self::streamed_text(&**a), Self::streamed_text(&**b)) {
                    (Ok(a), Ok(b)) => a.get() == b.get(),
                    _ => false,
                }
            }
            _ => false,
        }
    }
}

impl Serialize for JsonResult {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            JsonResult::Value(v) => v.serialize(s),
            JsonResult::DecodedUrls(list) => list.serialize(s),
            JsonResult::Raw(raw) => raw.serialize(s),
            JsonResult::Streamed(result) => Self::streamed_text(&**result)
                .map_err(serde::ser::Error::custom)?
                .serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for JsonResult {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Value::deserialize(d).map(JsonResult::Value)
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
        // Made to size: a run can make thousands of entities.
        let mut properties = Map::with_capacity(1 + extra.len());
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

/// The entities of an envelope: those listed one by one, then one `DestinationURL` per URL a
/// Decode URL result marks as new ([`DecodedUrls::mark_new_entities`]).
///
/// The marked ones are not copied out of the result: a bulk request makes tens of thousands, and
/// as [`Entity`] values each would be a map and four strings. They are written as
/// [`Entity::new`] would make them, with the encoded URL as `ProofPointTAP_encodedUrl`.
#[derive(Debug, Clone, Default)]
pub struct Entities {
    listed: Vec<Entity>,
    decoded: Option<Arc<DecodedUrls>>,
}

impl Entities {
    /// `listed`, then the URLs of `decoded` marked as new entities.
    pub fn new(listed: Vec<Entity>, decoded: Option<Arc<DecodedUrls>>) -> Self {
        let decoded = decoded.filter(|list| list.new_entities().next().is_some());
        Entities { listed, decoded }
    }

    /// The entities listed one by one.
    pub fn listed(&self) -> &[Entity] {
        &self.listed
    }

    /// The decoded URLs that are new entities, after the listed ones.
    pub fn decoded(&self) -> impl Iterator<Item = DecodedUrl<'_>> {
        self.decoded_for_writing().map(|(url, _)| url)
    }

    /// [`Entities::decoded`], each with whether its encoded URL was read from the request
    /// ([`DecodedUrls::iter_for_writing`]).
    pub(crate) fn decoded_for_writing(&self) -> impl Iterator<Item = (DecodedUrl<'_>, bool)> {
        self.decoded
            .iter()
            .flat_map(|list| list.new_entities_for_writing())
    }

    /// How many entities there are.
    pub fn len(&self) -> usize {
        self.listed.len() + self.decoded().count()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every entity as an [`Entity`] value, the marked URLs made into values here.
    pub fn to_vec(&self) -> Vec<Entity> {
        let mut all = self.listed.clone();
        all.extend(
            self.decoded()
                .map(|url| url_entity(url.decoded_url, url.encoded_url)),
        );
        all
    }
}

/// The entity Decode URL makes of a URL it decoded.
fn url_entity(decoded: &str, encoded: &str) -> Entity {
    let mut extra = Map::new();
    extra.insert(
        DECODED_ENTITY_PROPERTY.into(),
        Value::String(encoded.to_owned()),
    );
    Entity::new(decoded, DECODED_ENTITY_TYPE, extra)
}

/// The type of the entities Decode URL makes.
const DECODED_ENTITY_TYPE: &str = "DestinationURL";

/// The property of those entities that holds the URL as given.
const DECODED_ENTITY_PROPERTY: &str = "ProofPointTAP_encodedUrl";

impl From<Vec<Entity>> for Entities {
    fn from(listed: Vec<Entity>) -> Self {
        Entities {
            listed,
            decoded: None,
        }
    }
}

impl PartialEq for Entities {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.to_vec() == other.to_vec()
    }
}

impl Serialize for Entities {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = s.serialize_seq(Some(self.len()))?;
        for entity in &self.listed {
            seq.serialize_element(entity)?;
        }
        for url in self.decoded() {
            seq.serialize_element(&url_entity(url.decoded_url, url.encoded_url))?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for Entities {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Vec::<Entity>::deserialize(d).map(Entities::from)
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
    /// The entity's new `is_enriched` flag, where the action sets it (Enrich Entities).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_enriched: Option<bool>,
    /// The entity's new `is_suspicious` flag, where the action sets it (Enrich Entities).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_suspicious: Option<bool>,
}

/// A data table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Table {
    /// Table title.
    pub title: String,
    /// Column names.
    pub columns: Vec<String>,
    /// Rows, each as long as `columns`.
    pub rows: Vec<Row>,
}

/// One row of a [`Table`]: its cells kept as one text, written and read as a list of strings. (A
/// table can have thousands of rows; a string for each cell and a list for each row were most of
/// what it held.)
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Row {
    text: Box<str>,
    /// Where each cell ends in `text`.
    ends: Box<[u32]>,
}

impl Row {
    /// A row of these cells.
    pub fn new<S: AsRef<str>>(cells: impl IntoIterator<Item = S>) -> Row {
        // Sized first, so that the text and the ends are each one allocation of the size kept:
        // grown cell by cell they were a dozen reallocations a row, and tables have thousands.
        let cells: Vec<S> = cells.into_iter().collect();
        let mut text = String::with_capacity(cells.iter().map(|c| c.as_ref().len()).sum());
        let mut ends = Vec::with_capacity(cells.len());
        for cell in cells {
            text.push_str(cell.as_ref());
            // Past 4 GiB a cell reads as empty rather than wrong.
            ends.push(u32::try_from(text.len()).unwrap_or(u32::MAX));
        }
        Row {
            text: text.into_boxed_str(),
            ends: ends.into_boxed_slice(),
        }
    }

    /// The cells, in order.
    pub fn cells(&self) -> impl Iterator<Item = &str> {
        (0..self.ends.len()).map(|i| &self[i])
    }

    /// How many cells there are.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
}

impl std::ops::Index<usize> for Row {
    type Output = str;
    fn index(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        self.text
            .get(start as usize..self.ends[i] as usize)
            .unwrap_or_default()
    }
}

impl From<Vec<String>> for Row {
    fn from(cells: Vec<String>) -> Row {
        Row::new(cells)
    }
}

impl<const N: usize> PartialEq<[&str; N]> for Row {
    fn eq(&self, other: &[&str; N]) -> bool {
        self.cells().eq(other.iter().copied())
    }
}

impl fmt::Debug for Row {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.cells()).finish()
    }
}

impl Serialize for Row {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.cells())
    }
}

impl<'de> Deserialize<'de> for Row {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Vec::<String>::deserialize(d).map(Row::new)
    }
}

impl JsonSchema for Row {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> std::borrow::Cow<'static, str> {
        <Vec<String>>::schema_name()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        <Vec<String>>::json_schema(generator)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_is_written_read_and_described_as_a_list_of_strings() {
        let cells = vec!["a".to_owned(), String::new(), "caf\u{e9} \"q\"".to_owned()];
        let row = Row::from(cells.clone());
        assert_eq!(
            serde_json::to_string(&row).unwrap(),
            serde_json::to_string(&cells).unwrap()
        );
        let read: Row = serde_json::from_str(&serde_json::to_string(&cells).unwrap()).unwrap();
        assert_eq!(read, row);
        assert_eq!((row.len(), &row[1], &row[2]), (3, "", "caf\u{e9} \"q\""));
        assert_eq!(row, ["a", "", "caf\u{e9} \"q\""]);
        assert_eq!(format!("{row:?}"), format!("{cells:?}"));
        assert!(Row::new(Vec::<String>::new()).is_empty());
        assert_eq!(
            schemars::schema_for!(Vec<Row>),
            schemars::schema_for!(Vec<Vec<String>>)
        );
    }
}
