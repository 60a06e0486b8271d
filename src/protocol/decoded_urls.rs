//! Decode URL's `json_result`, kept compact: a bulk request carries tens of thousands of URLs, so
//! their texts live in a few shared buffers and each entry says where its texts are.

use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use crate::unwrap::Layers;

/// Where a URL was decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DecodeSource {
    /// Offline, by this binary.
    Local,
    /// By TAP's `POST /v2/url/decode`.
    Api,
}

/// Decode URL's `json_result`: one `{encodedUrl, decodedUrl, success, source, layers}` object per decoded
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
    /// Which entries are new entities, by position; empty when none are.
    new_entities: Vec<bool>,
}

#[derive(Debug, Clone)]
enum Buffer {
    Own(String),
    /// The request, shared: each text taken from it is the contents of a JSON string that held
    /// no escapes, and so is written out as it is (see [`DecodedUrls::add_request`]).
    Request(Arc<String>),
}

impl Buffer {
    fn as_str(&self) -> &str {
        match self {
            Buffer::Own(s) => s,
            Buffer::Request(s) => s,
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
    /// The wrappers taken off, outermost first.
    pub layers: Layers,
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
    /// As returned by [`DecodedUrls::add_buffer`] or [`DecodedUrls::add_request`]; [`OWN`] for the
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
    /// The wrappers taken off, outermost first.
    pub layers: Layers,
    /// Fields TAP's decode API adds for authenticated calls (`messageGuid`, `clusterName`, ...).
    pub extra: Option<&'a Map<String, Value>>,
}

impl DecodedUrls {
    /// Takes a buffer of texts; [`TextRef`]s into it use the number returned.
    pub fn add_buffer(&mut self, text: String) -> usize {
        self.buffers.push(Buffer::Own(text));
        self.buffers.len() - 1
    }

    /// Keeps the request text as a buffer, so that the URLs read from it need no copy. A
    /// [`TextRef`] into it must be (a trimmed part of) the contents of one of its JSON strings
    /// that held no escape, as a string borrowed by serde_json is: such text has no quote,
    /// backslash or control character, so it is written without looking for any.
    pub fn add_request(&mut self, text: Arc<String>) -> usize {
        self.buffers.push(Buffer::Request(text));
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

    /// Marks the entries that are new entities: `marks[i]` for the `i`-th entry (see
    /// [`crate::protocol::Entities`]).
    pub fn mark_new_entities(&mut self, marks: Vec<bool>) {
        debug_assert_eq!(marks.len(), self.len());
        self.new_entities = if marks.contains(&true) {
            marks
        } else {
            Vec::new()
        };
    }

    /// The entries marked as new entities, in order.
    pub fn new_entities(&self) -> impl Iterator<Item = DecodedUrl<'_>> {
        self.new_entities_for_writing().map(|(url, _)| url)
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
        self.chunks.iter().flatten().map(|e| self.entry(e))
    }

    /// The entries in order, each with whether its encoded URL was read from the request (and
    /// so needs no escaping; see [`DecodedUrls::add_request`]).
    pub(crate) fn iter_for_writing(&self) -> impl Iterator<Item = (DecodedUrl<'_>, bool)> {
        self.chunks.iter().flatten().map(|e| {
            let from_request = matches!(
                self.buffers.get(e.encoded_url.buffer as usize),
                Some(Buffer::Request(_))
            );
            (self.entry(e), from_request)
        })
    }

    /// [`DecodedUrls::new_entities`], each with whether its encoded URL was read from the
    /// request, as [`DecodedUrls::iter_for_writing`] says.
    pub(crate) fn new_entities_for_writing(&self) -> impl Iterator<Item = (DecodedUrl<'_>, bool)> {
        self.iter_for_writing()
            .zip(&self.new_entities)
            .filter(|(_, &new)| new)
            .map(|(url, _)| url)
    }

    fn entry<'a>(&'a self, e: &'a DecodedEntry) -> DecodedUrl<'a> {
        DecodedUrl {
            encoded_url: self.resolve(&e.encoded_url),
            decoded_url: self.resolve(&e.decoded_url),
            source: e.source,
            layers: e.layers,
            extra: e.extra.as_deref(),
        }
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
        let mut map = s.serialize_map(Some(5 + extra))?;
        map.serialize_entry("encodedUrl", self.encoded_url)?;
        map.serialize_entry("decodedUrl", self.decoded_url)?;
        map.serialize_entry("success", &true)?;
        map.serialize_entry("source", &self.source)?;
        map.serialize_entry("layers", &self.layers)?;
        for (key, value) in self.extra.into_iter().flatten() {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}
