//! What Decode URL reports from its results: the JSON result, the message, the errors, the
//! entities and the enrichments.

use std::borrow::Cow;
use std::collections::HashMap;

use foldhash::HashSet;
use serde_json::{json, Map};

use super::{DecodeUrl, Decoded, Results, CHUNK};
use crate::actions::context::{
    counted_name_list, name_list, ActionDef, Context, Outcome, MAX_NAMED,
};
use crate::error::{Error, ErrorCode, Result};
use crate::protocol::{
    DecodedEntry, DecodedUrls, Enrichment, Entity, ErrorEntry, JsonResult, TargetEntity,
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
    let mut entities = Vec::new();
    // What is already an entity, to create none twice; not needed when none are created.
    let mut known: HashSet<String> = ctx
        .entities
        .iter()
        .filter(|_| create_entities)
        .flat_map(|e| [e.identifier.to_lowercase(), e.value().to_lowercase()])
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
            if create_entities && known.insert(item.decoded_url.to_lowercase()) {
                let mut extra = Map::new();
                extra.insert("ProofPointTAP_encodedUrl".into(), json!(item.encoded_url));
                entities.push(Entity::new(
                    item.decoded_url.to_owned(),
                    "DestinationURL",
                    extra,
                ));
            }
        }
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
        json_result: Some(JsonResult::DecodedUrls(decoded)),
        entities,
        enrichments,
        errors,
        ..Outcome::completed(any, message)
    })
}
