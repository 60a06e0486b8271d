//! The one writer of JSON to stdout: the envelope, and what `actions` and `schema` print.
//!
//! The envelope goes out as compact JSON, byte for byte what `serde_json::to_writer` writes for it,
//! but with Decode URL's list written by hand.
//!
//! A bulk Decode URL envelope is megabytes of URLs. Through serde each string is scanned one byte
//! at a time for characters to escape and each piece of punctuation is its own small write; here
//! a string is checked in one vectorised pass, almost never needs escaping, and goes out in one
//! copy. Everything else still goes through serde.

use std::io::{self, Write};

use serde::Serialize;

use super::decoded_urls::{DecodeSource, DecodedUrls};
use super::envelope::{Entities, Envelope, JsonResult};

/// Writes the envelope to stdout as one line (indented with `pretty`), streaming it rather than
/// building one large string first.
pub(crate) fn envelope_to_stdout(envelope: &Envelope, pretty: bool) -> io::Result<()> {
    if pretty {
        return text_to_stdout(&json_text(envelope, true));
    }
    match raw_stdout() {
        Some(file) => write_envelope_line(file, envelope),
        None => write_envelope_line(io::stdout().lock(), envelope),
    }
}

/// Writes `value` to stdout as JSON with a final newline.
pub(crate) fn json_to_stdout<T: Serialize>(value: &T, pretty: bool) -> io::Result<()> {
    text_to_stdout(&json_text(value, pretty))
}

/// Writes `text` to stdout as it is.
pub(crate) fn text_to_stdout(text: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// Indented JSON with a final newline, as every generated file is written.
pub(crate) fn pretty(value: &impl Serialize) -> String {
    json_text(value, true)
}

/// JSON text with a final newline.
fn json_text<T: Serialize + ?Sized>(value: &T, pretty: bool) -> String {
    let mut text = if pretty {
        serde_json::to_string_pretty(value)
    } else {
        serde_json::to_string(value)
    }
    .unwrap_or_else(|e| format!("{{\"error\": \"could not serialize: {e}\"}}"));
    text.push('\n');
    text
}

/// Stdout as a plain file. Rust's `Stdout` is line-buffered: every write is searched for its last
/// newline, which for a one-line envelope of megabytes is a scan of all of it for nothing.
#[cfg(unix)]
fn raw_stdout() -> Option<std::fs::File> {
    use std::os::fd::AsFd;
    // Flushed first, so that nothing written through `Stdout` before comes out after.
    io::stdout().flush().ok()?;
    let fd = io::stdout().as_fd().try_clone_to_owned().ok()?;
    Some(std::fs::File::from(fd))
}

#[cfg(not(unix))]
fn raw_stdout() -> Option<std::fs::File> {
    None
}

fn write_envelope_line(out: impl Write, envelope: &Envelope) -> io::Result<()> {
    // Large enough that a bulk envelope crosses the pipe in few writes; more only costs memory.
    let mut out = io::BufWriter::with_capacity(OUT_BUFFER, out);
    write_envelope(&mut out, envelope)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// Bytes the envelope is written in.
const OUT_BUFFER: usize = 256 << 10;

/// Writes `envelope` as one line of compact JSON (no final newline).
pub(crate) fn write_envelope(out: &mut impl Write, envelope: &Envelope) -> io::Result<()> {
    // Every field is named, so a field added to `Envelope` does not compile until it is written
    // here; the order is the declaration order, which a test holds against serde's output.
    let Envelope {
        action,
        case_id,
        alert_group_identifiers,
        execution_state,
        result_value,
        result_name,
        output_message,
        json_result,
        insights,
        entities,
        enrichments,
        tables,
        errors,
        metrics,
    } = envelope;
    out.write_all(b"{\"action\":")?;
    serde_json::to_writer(&mut *out, action)?;
    member(out, "case_id", case_id)?;
    member(out, "alert_group_identifiers", alert_group_identifiers)?;
    member(out, "execution_state", execution_state)?;
    member(out, "result_value", result_value)?;
    member(out, "result_name", result_name)?;
    member(out, "output_message", output_message)?;
    out.write_all(b",\"json_result\":")?;
    match json_result {
        Some(JsonResult::DecodedUrls(list)) => write_decoded_urls(out, list)?,
        Some(JsonResult::Streamed(result)) => result.write_json(out)?,
        other => serde_json::to_writer(&mut *out, other)?,
    }
    member(out, "insights", insights)?;
    out.write_all(b",\"entities\":")?;
    write_entities(out, entities)?;
    member(out, "enrichments", enrichments)?;
    member(out, "tables", tables)?;
    member(out, "errors", errors)?;
    member(out, "metrics", metrics)?;
    out.write_all(b"}")
}

/// `,"name":value`, a member after the first; `name` is one of the envelope's own keys, which need
/// no escaping.
fn member<T: Serialize + ?Sized>(out: &mut impl Write, name: &str, value: &T) -> io::Result<()> {
    out.write_all(b",\"")?;
    out.write_all(name.as_bytes())?;
    out.write_all(b"\":")?;
    serde_json::to_writer(&mut *out, value)?;
    Ok(())
}

/// Decode URL's `json_result`, as `DecodedUrls`' `Serialize` would write it.
fn write_decoded_urls(out: &mut impl Write, list: &DecodedUrls) -> io::Result<()> {
    out.write_all(b"[")?;
    for (i, (url, from_request)) in list.iter_for_writing().enumerate() {
        out.write_all(if i == 0 { b"{" } else { b",{" })?;
        out.write_all(b"\"encodedUrl\":")?;
        write_encoded(out, url.encoded_url, from_request)?;
        out.write_all(b",\"decodedUrl\":")?;
        write_str(out, url.decoded_url)?;
        out.write_all(match url.source {
            DecodeSource::Local => b",\"success\":true,\"source\":\"local\"",
            DecodeSource::Api => b",\"success\":true,\"source\":\"api\"",
        })?;
        out.write_all(b",\"layers\":[")?;
        for (i, layer) in url.layers.iter().enumerate() {
            // Layer names are plain lower-case words: nothing to escape.
            out.write_all(if i == 0 { b"\"" } else { b",\"" })?;
            out.write_all(layer.name().as_bytes())?;
            out.write_all(b"\"")?;
        }
        out.write_all(b"]")?;
        for (key, value) in url.extra.into_iter().flatten() {
            out.write_all(b",")?;
            serde_json::to_writer(&mut *out, key)?;
            out.write_all(b":")?;
            serde_json::to_writer(&mut *out, value)?;
        }
        out.write_all(b"}")?;
    }
    out.write_all(b"]")
}

/// The envelope's entities, as `Entities`' `Serialize` would write them: the listed ones through
/// serde, Decode URL's by hand, like its list.
fn write_entities(out: &mut impl Write, entities: &Entities) -> io::Result<()> {
    out.write_all(b"[")?;
    let mut first = true;
    for entity in entities.listed() {
        if !std::mem::take(&mut first) {
            out.write_all(b",")?;
        }
        serde_json::to_writer(&mut *out, entity)?;
    }
    for (url, from_request) in entities.decoded_for_writing() {
        if !std::mem::take(&mut first) {
            out.write_all(b",")?;
        }
        out.write_all(b"{\"identifier\":")?;
        write_str(out, url.decoded_url)?;
        // What `url_entity` makes, in `Entity`'s order (a test holds the two together).
        out.write_all(
            b",\"entity_type\":\"DestinationURL\",\"is_internal\":false,\"is_suspicious\":false,\"is_enriched\":false,\"is_vulnerable\":false,\"properties\":{\"is_new_entity\":true,\"ProofPointTAP_encodedUrl\":",
        )?;
        write_encoded(out, url.encoded_url, from_request)?;
        out.write_all(b"}}")?;
    }
    out.write_all(b"]")
}

/// A JSON string: as is between quotes when nothing in it needs escaping, else through serde.
fn write_str(out: &mut impl Write, s: &str) -> io::Result<()> {
    if needs_escape(s.as_bytes()) {
        serde_json::to_writer(&mut *out, s)?;
        return Ok(());
    }
    out.write_all(b"\"")?;
    out.write_all(s.as_bytes())?;
    out.write_all(b"\"")
}

/// An encoded URL: as is between quotes when it was read from the request, since it was the
/// contents of a JSON string without escapes there (half the bytes of a bulk envelope are these,
/// and looking through them again was 7 % of a bulk decode's instructions); else as
/// [`write_str`].
fn write_encoded(out: &mut impl Write, s: &str, from_request: bool) -> io::Result<()> {
    if !from_request {
        return write_str(out, s);
    }
    debug_assert!(
        !needs_escape(s.as_bytes()),
        "{s:?} was read from the request"
    );
    out.write_all(b"\"")?;
    out.write_all(s.as_bytes())?;
    out.write_all(b"\"")
}

/// Whether JSON needs any of these bytes escaped: a quote, a backslash or a control character
/// (serde_json escapes exactly these). No early exit, so that the compiler vectorises the loop.
fn needs_escape(bytes: &[u8]) -> bool {
    bytes.iter().fold(false, |found, &b| {
        found | (b < 0x20) | (b == b'"') | (b == b'\\')
    })
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Map, Value};

    use super::*;
    use crate::error::ErrorCode;
    use crate::protocol::decoded_urls::{DecodedEntry, TextRef};
    use crate::protocol::envelope::{
        Enrichment, Entity, ErrorEntry, ExecutionState, Insight, Metrics, Table,
    };

    fn envelope(json_result: Option<JsonResult>) -> Envelope {
        let decoded = match &json_result {
            Some(JsonResult::DecodedUrls(list)) => Some(std::sync::Arc::clone(list)),
            _ => None,
        };
        let mut properties = Map::new();
        properties.insert(
            "ProofPointTAP_decodedUrl".into(),
            json!("https://a.example/\"q\""),
        );
        Envelope {
            action: Some("decode_url".into()),
            case_id: Some("1042".into()),
            alert_group_identifiers: vec!["ALERT \"1\"".into()],
            execution_state: ExecutionState::Completed,
            result_value: true,
            result_name: Some("decoded_urls".into()),
            output_message: "Successfully decoded:\n\tà, \\ and \u{2028}".into(),
            json_result,
            insights: vec![Insight::general_html("T", "<b>x</b>")],
            entities: Entities::new(
                vec![Entity::new(
                    "HTTPS://B.EXAMPLE",
                    "DestinationURL",
                    Map::new(),
                )],
                decoded,
            ),
            enrichments: vec![Enrichment {
                identifier: "u".into(),
                entity_type: "DestinationURL".into(),
                properties,
                is_enriched: Some(true),
                is_suspicious: Some(false),
            }],
            tables: vec![Table {
                title: "t".into(),
                columns: vec!["a".into()],
                rows: vec![crate::protocol::Row::new(["\u{1}"])],
            }],
            errors: vec![ErrorEntry {
                code: ErrorCode::DecodeFailed,
                message: "m".into(),
                subject: None,
            }],
            metrics: Metrics {
                duration_ms: 41,
                http_requests: 2,
            },
        }
    }

    fn written(envelope: &Envelope) -> String {
        let mut out = Vec::new();
        write_envelope(&mut out, envelope).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// A streamed result: its texts as a JSON list.
    #[derive(Debug)]
    struct Texts(Vec<String>);

    impl crate::protocol::StreamedJson for Texts {
        fn write_json(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
            serde_json::to_writer(out, &self.0).map_err(Into::into)
        }
    }

    #[test]
    fn writes_what_serde_writes() {
        let texts = [
            "https://plain.example/a?b=c",
            "https://quote.example/\"x\"",
            "https://backslash.example/a\\b",
            "https://control.example/a\nb\u{1}c\u{7f}",
            "https://caf\u{e9}.example/\u{2028}/\u{1F600}",
            "",
        ];
        let mut list = DecodedUrls::default();
        let joined: String = texts.concat();
        let buffer = list.add_buffer(joined.clone());
        let mut entries = Vec::new();
        let mut at = 0;
        for (i, text) in texts.iter().enumerate() {
            let range = at..at + text.len();
            at += text.len();
            let mut extra = Map::new();
            extra.insert("messageGuid".into(), json!(format!("g\"{i}")));
            extra.insert("n".into(), json!(i));
            entries.push(DecodedEntry {
                encoded_url: list.push_text(&format!("https://urldefense.com/v3/__{text}")),
                decoded_url: TextRef::new(buffer, range),
                source: if i % 2 == 0 {
                    DecodeSource::Local
                } else {
                    DecodeSource::Api
                },
                layers: {
                    let mut layers = crate::unwrap::Layers::default();
                    for layer in [
                        crate::unwrap::Layer::UrlDefenseV3,
                        crate::unwrap::Layer::SafeLinks,
                    ]
                    .into_iter()
                    .take(i % 3)
                    {
                        layers.push(layer);
                    }
                    layers
                },
                extra: (i % 3 == 0).then(|| Box::new(extra)),
            });
        }
        // And one encoded URL read from the request, as Decode URL keeps those: written
        // without an escape check.
        let request =
            r#"{"encoded_urls": ["https://urldefense.com/v3/__https://plain.example/__;!!x$"]}"#;
        let at = request.find("https://urldefense").unwrap();
        let end = at + request[at..].find('"').unwrap();
        let from_request = list.add_request(std::sync::Arc::new(request.to_owned()));
        entries.push(DecodedEntry {
            encoded_url: TextRef::new(from_request, at..end),
            decoded_url: TextRef::new(buffer, 0..texts[0].len()),
            source: DecodeSource::Local,
            layers: crate::unwrap::Layers::default(),
            extra: None,
        });
        list.push_chunk(entries[..2].to_vec());
        list.push_chunk(entries[2..].to_vec());
        assert_eq!(list.len(), texts.len() + 1);
        assert_eq!(list.iter_for_writing().filter(|(_, r)| *r).count(), 1);
        let unmarked = list.clone();
        // Some of them new entities, across both chunks, the one from the request among them.
        list.mark_new_entities((0..=texts.len()).map(|i| i % 2 == 0).collect());
        assert_eq!(list.new_entities().count(), texts.len() / 2 + 1);

        for result in [
            Some(JsonResult::DecodedUrls(list.into())),
            Some(JsonResult::DecodedUrls(unmarked.into())),
            Some(JsonResult::DecodedUrls(DecodedUrls::default().into())),
            JsonResult::streamed(Texts(texts.iter().map(|t| t.to_string()).collect())),
            Some(JsonResult::Value(json!([{"a": "\"b\""}]))),
            Some(JsonResult::Value(Value::Null)),
            None,
        ] {
            let envelope = envelope(result);
            assert_eq!(
                written(&envelope),
                serde_json::to_string(&envelope).unwrap()
            );
        }
    }

    #[test]
    fn escapes_exactly_what_serde_json_escapes() {
        for b in 0..=255u8 {
            let text = [b'a', b];
            let Ok(s) = std::str::from_utf8(&text) else {
                continue;
            };
            let by_serde = serde_json::to_string(s).unwrap();
            let plain = format!("\"{s}\"");
            assert_eq!(needs_escape(&text), by_serde != plain, "byte {b:#04x}");
        }
        // Long texts too, past any vector width, with the escape at the end.
        let long = format!("{}\u{7f}é\"", "x".repeat(100));
        assert!(needs_escape(long.as_bytes()));
        assert!(!needs_escape(&long.as_bytes()[..long.len() - 1]));
    }
}
