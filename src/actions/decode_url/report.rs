//! What Decode URL reports from its results: the JSON result, the message, the errors, the
//! entities and the enrichments.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use foldhash::HashSet;
use serde_json::{json, Map};

use super::{DecodeUrl, Decoded, Results, CHUNK};
use crate::actions::context::{
    counted_name_list, name_list, ActionDef, Context, Outcome, MAX_NAMED,
};
use crate::error::{Error, ErrorCode, Result};
use crate::protocol::{
    DecodedEntry, DecodedUrls, Enrichment, ErrorEntry, JsonResult, TargetEntity,
};

pub(super) fn outcome(
    ctx: &Context,
    create_entities: bool,
    inputs: &[Cow<'_, str>],
    keep: &[bool],
    results: Results,
    mut decoded: DecodedUrls,
    api_failure: Option<Error>,
) -> Result<Outcome> {
    let mut errors: Vec<ErrorEntry> = Vec::new();
    let mut failed_inputs: Vec<&str> = Vec::new();
    // Inputs not reached before the deadline: counted, and reported in one error.
    let mut unfinished: Option<(&str, usize)> = None;
    for (k, chunk) in results.into_iter().enumerate() {
        let (urls, kept) = (&inputs[k * CHUNK..], &keep[k * CHUNK..]);
        // Collected in place: the entries reuse the chunk's memory.
        let entries: Vec<DecodedEntry> = chunk
            .into_iter()
            .zip(urls)
            .zip(kept)
            .filter(|(_, &kept)| kept)
            .filter_map(|((result, input), _)| match result {
                Decoded::Ok {
                    encoded,
                    decoded: text,
                    source,
                    layers,
                    extra,
                } => Some(DecodedEntry {
                    encoded_url: encoded.unwrap_or_else(|| decoded.push_text(input)),
                    decoded_url: text,
                    source,
                    layers,
                    extra,
                }),
                Decoded::Failed(e) => {
                    failed_inputs.push(input);
                    errors.push((*e).into());
                    None
                }
                Decoded::Unfinished => {
                    unfinished.get_or_insert((input, 0)).1 += 1;
                    None
                }
                Decoded::Pending(pending) => {
                    let error = match (&api_failure, pending.local) {
                        (Some(api), local) => {
                            let mut message =
                                format!("the TAP decode API could not be used: {}", api.message);
                            if let Some(local) = local {
                                message = format!("{}; {message}", local.message);
                            }
                            Error::new(api.code, message).with_subject(input.to_string())
                        }
                        (None, Some(local)) => local,
                        (None, None) => Error::new(
                            ErrorCode::DecodeFailed,
                            "the TAP decode API gave no answer for this URL",
                        )
                        .with_subject(input.to_string()),
                    };
                    failed_inputs.push(input);
                    errors.push(error.into());
                    None
                }
            })
            .collect();
        decoded.push_chunk(entries);
    }

    let mut enrichments = Vec::new();
    // What is already an entity, to create none twice; not needed when none are created.
    let mut known: HashSet<CaseFolded> = ctx
        .entities
        .iter()
        .filter(|_| create_entities)
        .flat_map(|e| [CaseFolded::new(&e.identifier), CaseFolded::new(e.value())])
        .collect();
    // Target entities by the URL they hold, so that each decoded URL finds its own in one lookup
    // (a request can carry tens of thousands of URL entities).
    let mut by_url: HashMap<&str, Vec<&TargetEntity>> = HashMap::new();
    for entity in ctx.entities.iter().filter(|e| e.is_type("DestinationURL")) {
        by_url
            .entry(entity.value().trim())
            .or_default()
            .push(entity);
    }
    // Only when entities or enrichments are wanted: the list can hold tens of thousands of URLs.
    // New entities stay in the list, marked; the envelope writes them from there.
    let mut new_entities = Vec::new();
    if create_entities {
        new_entities.reserve(decoded.len());
        known.reserve(decoded.len());
    }
    if create_entities || !by_url.is_empty() {
        for item in decoded.iter() {
            for entity in by_url.get(item.encoded_url).into_iter().flatten() {
                let mut properties = Map::new();
                properties.insert("ProofPointTAP_decodedUrl".into(), json!(item.decoded_url));
                enrichments.push(Enrichment {
                    identifier: entity.identifier.clone(),
                    entity_type: entity.entity_type.clone(),
                    properties,
                    is_enriched: None,
                    is_suspicious: None,
                });
            }
            if create_entities {
                new_entities.push(known.insert(CaseFolded::new(item.decoded_url)));
            }
        }
    }
    drop(known);
    if create_entities {
        decoded.mark_new_entities(new_entities);
    }

    if decoded.is_empty() {
        if let Some(api) = api_failure.filter(|e| {
            matches!(
                e.code,
                ErrorCode::Unauthorized
                    | ErrorCode::Connection
                    | ErrorCode::Timeout
                    | ErrorCode::MissingConfiguration
                    | ErrorCode::InvalidParameter
            )
        }) {
            let message = format!(
                "Error executing action \"{}\". Reason: the TAP decode API could not be used: {}",
                DecodeUrl::INFO.display_name,
                api.message
            );
            let mut outcome = Outcome::failed(api, message);
            outcome.errors.extend(errors);
            return Ok(outcome);
        }
    }
    let message = if decoded.is_empty() {
        "None of the provided URLs were decoded in ProofPoint TAP.".to_owned()
    } else {
        // Only the first few are named; the list can hold tens of thousands.
        let names: Vec<&str> = decoded
            .iter()
            .take(MAX_NAMED)
            .map(|d| d.encoded_url)
            .collect();
        let mut m = format!(
            "Successfully decoded the following URLs in ProofPoint TAP: {}",
            counted_name_list(&names, decoded.len(), "json_result")
        );
        if !failed_inputs.is_empty() {
            m.push_str(&format!(
                "\nAction wasn't able to decode the following URLs in ProofPoint TAP: {}",
                name_list(&failed_inputs, "errors")
            ));
        }
        m
    };
    let mut message = message;
    if let Some((first, count)) = unfinished {
        let total = keep.iter().filter(|k| **k).count();
        errors.push(
            Error::new(
                ErrorCode::DeadlineExceeded,
                format!(
                    "{count} of {total} URLs were not decoded before the execution deadline, from \"{first}\" on"
                ),
            )
            .into(),
        );
        message.push_str(&format!(
            "\nStopped at the execution deadline: {count} of {total} URLs were not decoded (see errors)."
        ));
    }
    let any = !decoded.is_empty();
    Ok(Outcome {
        json_result: Some(JsonResult::DecodedUrls(Arc::new(decoded))),
        enrichments,
        errors,
        ..Outcome::completed(any, message)
    })
}

/// A text compared and hashed as its `to_lowercase()`, without making that copy when the text is
/// ASCII (a URL almost always is): the set of known entities holds tens of thousands of URLs.
enum CaseFolded<'a> {
    /// ASCII text, lower-cased byte by byte as it is read.
    Ascii(&'a [u8]),
    /// Any other text, lower-cased once.
    Lowered(String),
}

impl<'a> CaseFolded<'a> {
    fn new(text: &'a str) -> Self {
        if text.is_ascii() {
            CaseFolded::Ascii(text.as_bytes())
        } else {
            CaseFolded::Lowered(text.to_lowercase())
        }
    }

    /// The text's bytes, and whether they are still to be lower-cased.
    fn parts(&self) -> (&[u8], bool) {
        match self {
            CaseFolded::Ascii(b) => (b, true),
            CaseFolded::Lowered(s) => (s.as_bytes(), false),
        }
    }
}

impl PartialEq for CaseFolded<'_> {
    fn eq(&self, other: &Self) -> bool {
        match (self.parts(), other.parts()) {
            ((a, true), (b, true)) => a.eq_ignore_ascii_case(b),
            ((a, false), (b, false)) => a == b,
            ((raw, true), (low, false)) | ((low, false), (raw, true)) => {
                raw.len() == low.len()
                    && raw
                        .iter()
                        .zip(low)
                        .all(|(r, l)| r.to_ascii_lowercase() == *l)
            }
        }
    }
}

impl Eq for CaseFolded<'_> {}

impl Hash for CaseFolded<'_> {
    /// The lower-cased bytes in blocks of a fixed size, so that equal texts feed the hasher the
    /// same writes whichever way they are kept; then the length, as `str` does.
    fn hash<H: Hasher>(&self, state: &mut H) {
        let (bytes, fold) = self.parts();
        let mut block = [0u8; 64];
        for chunk in bytes.chunks(block.len()) {
            let block = &mut block[..chunk.len()];
            block.copy_from_slice(chunk);
            if fold {
                block.make_ascii_lowercase();
            }
            state.write(block);
        }
        state.write_usize(bytes.len());
    }
}

#[cfg(test)]
mod tests {
    use super::CaseFolded;
    use std::hash::BuildHasher;

    #[test]
    fn case_folded_texts_are_equal_as_their_lower_case() {
        let hasher = foldhash::fast::FixedState::default();
        let texts = [
            "https://A.example/Path?Q=1",
            "https://a.example/path?q=1",
            "HTTPS://A.EXAMPLE/PATH?Q=1",
            "https://a.example/path?q=2",
            "https://caf\u{c9}.example/",
            "https://caf\u{e9}.example/",
            "https://\u{212a}.example/",
            "https://k.example/",
            "https://a.example/\u{3a3}",
            &"https://long.example/".repeat(9),
            &"HTTPS://LONG.EXAMPLE/".repeat(9),
        ];
        for a in texts {
            for b in texts {
                let equal = a.to_lowercase() == b.to_lowercase();
                let (fa, fb) = (CaseFolded::new(a), CaseFolded::new(b));
                assert_eq!(fa == fb, equal, "{a} and {b}");
                if equal {
                    assert_eq!(hasher.hash_one(&fa), hasher.hash_one(&fb), "{a} and {b}");
                }
            }
        }
    }
}
