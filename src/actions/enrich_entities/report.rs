//! What Enrich Entities reports: an enrichment (with the entity's new flags) and, when suspicious,
//! an insight per enriched entity; the JSON result line by line; the message.

use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};

use super::Learned;
use crate::actions::context::{name_list, Context, Outcome};
use crate::actions::evidence::Report;
use crate::actions::tap_fields::{field, html_escape, names, text};
use crate::actions::verdict::{is_malicious_threat, Severity};
use crate::error::{Error, ErrorCode, Result};
use crate::protocol::{Enrichment, ErrorEntry, Insight, JsonResult};
use crate::tap::TapObject;

/// One entity's line of the JSON result.
#[derive(Serialize)]
struct Item<'a> {
    entity: &'a str,
    entity_type: &'a str,
    found: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    threat_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    summary: Option<&'a TapObject>,
    #[serde(skip_serializing_if = "Option::is_none")]
    campaign: Option<&'a TapObject>,
    #[serde(skip_serializing_if = "Option::is_none")]
    person: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    forensics: Option<&'a [Report]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    skipped: Option<&'a str>,
    /// The code of a lookup that failed (the message and `errors` say more).
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'static str>,
}

/// The envelope's parts from what was learned, entity by entity.
pub(super) fn report(
    ctx: &Context,
    learned: Vec<Result<Learned>>,
    mut errors: Vec<ErrorEntry>,
    people_note: &str,
    create_insight: bool,
) -> Outcome {
    let mut enriched: Vec<&str> = Vec::new();
    let mut not_found: Vec<&str> = Vec::new();
    let mut skipped: Vec<String> = Vec::new();
    // Lookups that failed, by why (SPEC §4.12: a rate limit is named as such).
    let mut throttled: Vec<&str> = Vec::new();
    let mut failed: Vec<&str> = Vec::new();
    let mut enrichments = Vec::new();
    let mut insights = Vec::new();
    let mut items: Vec<Item> = Vec::new();
    for (entity, result) in ctx.entities.iter().zip(&learned) {
        let mut item = Item {
            entity: &entity.identifier,
            entity_type: &entity.entity_type,
            found: false,
            threat_id: None,
            summary: None,
            campaign: None,
            person: None,
            forensics: None,
            skipped: None,
            error: None,
        };
        let mut properties = Map::new();
        let put = |p: &mut Map<String, Value>, key: &str, value: Value| {
            p.insert(format!("ProofPointTAP_{key}"), value);
        };
        let (suspicious, severity, what) = match result {
            Err(e) => {
                match e.code {
                    ErrorCode::RateLimited => throttled.push(&entity.identifier),
                    // The runner names what the deadline left unfinished.
                    ErrorCode::DeadlineExceeded => {}
                    _ => failed.push(&entity.identifier),
                }
                item.error = Some(e.code.as_str());
                errors.push(
                    Error::new(e.code, e.message.clone())
                        .with_subject(entity.identifier.clone())
                        .into(),
                );
                items.push(item);
                continue;
            }
            Ok(Learned::Skipped(why)) => {
                skipped.push(format!("{} ({why})", entity.identifier));
                item.skipped = Some(why);
                items.push(item);
                continue;
            }
            Ok(Learned::NotFound) => {
                not_found.push(&entity.identifier);
                items.push(item);
                continue;
            }
            Ok(Learned::Threat {
                id,
                summary,
                forensics,
            }) => {
                let v = summary.view(&[
                    "name",
                    "type",
                    "category",
                    "status",
                    "severity",
                    "attackSpread",
                    "identifiedAt",
                    "families",
                    "malware",
                    "actors",
                ]);
                let malicious = is_malicious_threat(
                    &text(field(&v, &["category"])),
                    &text(field(&v, &["status"])),
                );
                put(&mut properties, "threat_id", json!(id));
                for (key, names_) in [
                    ("name", "name"),
                    ("type", "type"),
                    ("category", "category"),
                    ("status", "status"),
                    ("severity", "severity"),
                    ("attack_spread", "attackSpread"),
                    ("identified_at", "identifiedAt"),
                ] {
                    // As TAP sent it: severity and attack spread stay numbers to compare.
                    let value = field(&v, &[names_]).cloned().unwrap_or(json!(""));
                    put(&mut properties, key, value);
                }
                for key in ["families", "malware", "actors"] {
                    put(
                        &mut properties,
                        key,
                        json!(names(field(&v, &[key])).join(", ")),
                    );
                }
                item.threat_id = Some(id);
                item.summary = Some(summary);
                item.forensics = forensics.as_deref();
                let what = format!(
                    "TAP threat {} ({}, {})",
                    text(field(&v, &["name"])),
                    text(field(&v, &["category"])),
                    text(field(&v, &["status"]))
                );
                (malicious, Severity::of(malicious, false), what)
            }
            Ok(Learned::Campaign(id, campaign)) => {
                let v = campaign.view(&["name", "families", "malware", "actors"]);
                put(&mut properties, "campaign_id", json!(id));
                put(&mut properties, "name", json!(text(field(&v, &["name"]))));
                for key in ["families", "malware", "actors"] {
                    put(
                        &mut properties,
                        key,
                        json!(names(field(&v, &[key])).join(", ")),
                    );
                }
                item.campaign = Some(campaign);
                // A campaign is malicious (SPEC §4.10).
                (
                    true,
                    Severity::Warn,
                    format!("TAP campaign {}", text(field(&v, &["name"]))),
                )
            }
            Ok(Learned::Person { vap, clicker }) => {
                let stat = |u: &Option<Map<String, Value>>, stats: &str, key: &str| {
                    u.as_ref()
                        .and_then(|u| field(u, &[stats]))
                        .and_then(Value::as_object)
                        .and_then(|s| field(s, &[key]))
                        .cloned()
                        .unwrap_or(Value::Null)
                };
                put(&mut properties, "vap", json!(vap.is_some()));
                put(
                    &mut properties,
                    "attack_index",
                    stat(vap, "threatStatistics", "attackIndex"),
                );
                put(&mut properties, "top_clicker", json!(clicker.is_some()));
                put(
                    &mut properties,
                    "click_count",
                    stat(clicker, "clickStatistics", "clickCount"),
                );
                item.person = Some(json!({"vap": vap, "top_clicker": clicker}));
                // A top clicker clicked malicious links through: exposed, so suspicious.
                let exposed = clicker.is_some();
                let what = match (vap.is_some(), exposed) {
                    (true, true) => "a Very Attacked Person and a Top Clicker in TAP",
                    (true, false) => "a Very Attacked Person in TAP",
                    _ => "a Top Clicker in TAP",
                };
                (exposed, Severity::of(exposed, exposed), what.to_owned())
            }
        };
        item.found = true;
        items.push(item);
        enriched.push(&entity.identifier);
        enrichments.push(Enrichment {
            identifier: entity.identifier.clone(),
            entity_type: entity.entity_type.clone(),
            properties,
            is_enriched: Some(true),
            is_suspicious: Some(suspicious),
        });
        if create_insight && suspicious {
            let html = format!(
                "<p><strong>{}</strong> is {}.</p>",
                html_escape(&entity.identifier),
                html_escape(&what)
            );
            let mut insight = Insight::general_html(
                format!("ProofPoint TAP: {}", html_escape(&entity.identifier)),
                html,
            );
            insight.severity = severity.as_str().into();
            insight.entity_identifier = Some(entity.identifier.clone());
            insight.insight_type = "entity".into();
            insights.push(insight);
        }
    }

    let mut message = if enriched.is_empty() {
        "No entities were enriched.".to_owned()
    } else {
        format!(
            "Successfully enriched the following entities using ProofPoint TAP: {}",
            name_list(&enriched, "enrichments")
        )
    };
    if !not_found.is_empty() {
        message.push_str(&format!(
            "\nAction wasn't able to find information in ProofPoint TAP for the following entities: {}",
            name_list(&not_found, "json_result")
        ));
    }
    if !skipped.is_empty() {
        let refs: Vec<&str> = skipped.iter().map(String::as_str).collect();
        message.push_str(&format!("\nSkipped: {}", name_list(&refs, "json_result")));
    }
    if !people_note.is_empty() {
        message.push_str(&format!(
            "\nPeople lists fetched once: {}",
            people_note.trim_end_matches("; ")
        ));
    }
    if !throttled.is_empty() {
        message.push_str(&format!(
            "\nRate limited (429: the TAP daily quota is spent), not looked up: {}",
            name_list(&throttled, "errors")
        ));
    }
    if !failed.is_empty() {
        message.push_str(&format!(
            "\nCould not be looked up (see errors): {}",
            name_list(&failed, "errors")
        ));
    }
    let found = !enriched.is_empty();
    let raw: Vec<Box<RawValue>> = items
        .iter()
        .filter_map(|i| serde_json::value::to_raw_value(i).ok())
        .collect();
    Outcome {
        json_result: JsonResult::raw(&raw),
        insights,
        enrichments,
        errors,
        ..Outcome::completed(found, message)
    }
}
