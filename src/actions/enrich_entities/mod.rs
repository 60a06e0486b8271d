//! Enrich Entities (SPEC §4.9): what TAP knows about the alert's entities, and how bad it is.
//!
//! URLs (unwrapped from URL Defense first) are looked up as threats by the SHA-256 of the threat
//! string TAP recorded, which may or may not carry the scheme; SHA-256 hashes and threat signatures
//! directly; campaigns by id; people by their place on the VAP and Top Clickers lists, each list
//! fetched once per run. Threat summaries are documented as not throttled: enriching spends no
//! daily quota unless people or forensics are asked for.

use std::future::Future;

use futures_util::future::join_all;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::context::{
    campaign_ids_of, fatal_error, is_sha256, is_threat_id, ActionDef, ActionInfo, Context, Outcome,
};
use super::evidence::{EvidenceParams, Report};
use super::people::{self, List};
use super::tap_fields::{field, names};
use crate::error::{Error, ErrorCode, Result};
use crate::params::{parameters, Flag, Integer};
use crate::protocol::{ErrorEntry, TargetEntity};
use crate::tap::TapObject;
use crate::unwrap;

/// Enrich Entities, as the registry lists it.
pub(crate) struct EnrichEntities;

impl ActionDef for EnrichEntities {
    const INFO: &'static ActionInfo = &ActionInfo {
        name: "enrich_entities",
        display_name: "Enrich Entities",
        script_name: "ProofPointTAP_EnrichEntities",
        tool_name: "proof_point_tap_enrich_entities",
        result_name: "is_success",
        description: "Enrich the alert's entities with what Proofpoint TAP knows: URLs and SHA-256 hashes as TAP threats, threat signatures, campaigns, and people on the Very Attacked People and Top Clickers lists; each enriched entity gets TAP's verdict (is_suspicious) and, when suspicious, an insight.",
    };
    type Params<'a> = Params<'a>;

    fn example() -> Value {
        json!({
            "action": "enrich_entities",
            "case_id": "1042",
            "target_entities": [
                {"identifier": "KLONGKRU.AC.TH/", "entity_type": "DestinationURL",
                 "additional_properties": {"OriginalIdentifier": "klongkru.ac.th/"}},
                {"identifier": "JANE.DOE@EXAMPLE.COM", "entity_type": "USERUNIQNAME"}
            ],
            "parameters": {"Lookup People": true, "People Window": 30}
        })
    }

    fn run<'a>(ctx: &'a Context, params: Params<'a>) -> impl Future<Output = Result<Outcome>> + 'a {
        run(ctx, params)
    }
}

parameters! {
    /// Parameters of Enrich Entities.
    #[derive(Debug, Deserialize, JsonSchema)]
    #[schemars(title = "Enrich Entities parameters")]
    pub struct Params<'a> {
        /// Look people up on the Very Attacked People and Top Clickers lists (fetched once per
        /// run; these endpoints count against TAP's daily quota).
        #[param("Lookup People")]
        #[serde(default = "yes")]
        pub lookup_people: Flag,
        /// The people lists' period, in days: 14, 30 or 90.
        #[param("People Window")]
        #[serde(default = "thirty")]
        #[schemars(extend("x-allowed-values" = ["14", "30", "90"]))]
        pub people_window: Integer,
        /// Also fetch the forensics of each threat found.
        #[param("Include Forensics")]
        #[serde(default)]
        pub include_forensics: Flag,
        /// The forensic evidence wanted: types and how many items.
        #[group]
        #[serde(borrow)]
        pub evidence: EvidenceParams<'a>,
        /// Add an insight per suspicious entity, attached to it.
        #[param("Create Insight")]
        #[serde(default = "yes")]
        pub create_insight: Flag,
    }
}

fn yes() -> Flag {
    Flag(true)
}

fn thirty() -> Integer {
    Integer(30)
}

/// Users read of each people list.
const PEOPLE_MAX: usize = 1000;

/// The threat ids a URL may have in TAP, in the order tried (SPEC §4.9): the SHA-256 of the URL as
/// given, of the URL without `http://` / `https://`, and of each with one trailing `/` added or
/// removed; without repeats, at most 4.
pub(crate) fn url_threat_ids(url: &str) -> Vec<String> {
    let url = url.trim();
    let bare = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .unwrap_or(url);
    let toggle = |s: &str| match s.strip_suffix('/') {
        Some(without) => without.to_owned(),
        None => format!("{s}/"),
    };
    let mut candidates: Vec<String> = Vec::new();
    for c in [url.to_owned(), bare.to_owned(), toggle(url), toggle(bare)] {
        if !c.is_empty() && !candidates.contains(&c) {
            candidates.push(c);
        }
    }
    candidates
        .iter()
        .take(4)
        .map(|c| hex(&Sha256::digest(c.as_bytes())))
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What one entity is looked up as.
#[derive(Debug, Clone)]
enum Ask {
    /// Threat ids to try in order; the first TAP knows wins.
    Threat(Vec<String>),
    Campaign(String),
    Person(String),
    Skip(&'static str),
}

fn ask(entity: &TargetEntity, lookup_people: bool) -> Ask {
    let value = entity.value().trim();
    if entity.is_type("DestinationURL") {
        // Unwrapped first: TAP records the URL the wrapper stands for.
        let url = unwrap::decode(value).unwrap_or_else(|_| value.to_owned());
        return Ask::Threat(url_threat_ids(&url));
    }
    if entity.is_type("FILEHASH") {
        return if is_sha256(value) {
            Ask::Threat(vec![value.to_ascii_lowercase()])
        } else {
            Ask::Skip("TAP identifies attachments by SHA-256")
        };
    }
    if entity.is_type("THREATSIGNATURE") && is_threat_id(value) {
        let id = if is_sha256(value) {
            value.to_ascii_lowercase()
        } else {
            value.to_owned()
        };
        return Ask::Threat(vec![id]);
    }
    if entity.is_type("THREATCAMPAIGN") {
        return match campaign_ids_of(std::slice::from_ref(entity)).pop() {
            Some(id) => Ask::Campaign(id),
            None => Ask::Skip("no campaign id (a campaign_id property or a UUID identifier)"),
        };
    }
    if entity.is_type("USERUNIQNAME") || value.contains('@') {
        return if lookup_people {
            Ask::Person(value.to_lowercase())
        } else {
            Ask::Skip("Lookup People is off")
        };
    }
    Ask::Skip("TAP has nothing to look up for this entity type")
}

/// What was learned of one entity.
enum Learned {
    Threat {
        id: String,
        summary: TapObject,
        forensics: Option<Vec<Report>>,
    },
    Campaign(String, TapObject),
    Person {
        vap: Option<Map<String, Value>>,
        clicker: Option<Map<String, Value>>,
    },
    NotFound,
    Skipped(&'static str),
}

/// Runs Enrich Entities.
pub(crate) async fn run(ctx: &Context, params: Params<'_>) -> Result<Outcome> {
    let window = params.people_window.0;
    if ![14, 30, 90].contains(&window) {
        return Err(Error::invalid_parameter(format!(
            "The parameter \"People Window\" (people_window) must be 14, 30 or 90 days, not {window}."
        )));
    }
    let filter = params.evidence.filter()?;
    if ctx.entities.is_empty() {
        return Ok(Outcome::completed(
            false,
            "No entities were enriched: there are no entities in scope.",
        ));
    }
    let asks: Vec<Ask> = ctx
        .entities
        .iter()
        .map(|e| ask(e, params.lookup_people.0))
        .collect();
    let client = ctx.client()?;

    // The people lists, once per run, only when someone is to be looked up.
    let mut people_note = String::new();
    let mut lists: Vec<(List, Vec<Map<String, Value>>)> = Vec::new();
    let mut list_errors: Vec<ErrorEntry> = Vec::new();
    if asks.iter().any(|a| matches!(a, Ask::Person(_))) {
        for list in [List::VeryAttacked, List::TopClickers] {
            match people::fetch(ctx, list, window as u32, PEOPLE_MAX).await {
                Ok(fetched) => {
                    people_note.push_str(&format!(
                        "{} page{} of {}; ",
                        fetched.pages,
                        if fetched.pages == 1 { "" } else { "s" },
                        list.endpoint()
                    ));
                    list_errors.extend(fetched.errors);
                    let users = fetched
                        .users
                        .iter()
                        .filter_map(|u| serde_json::from_str::<TapObject>(u.get()).ok())
                        .map(|u| u.view(&["identity", "threatStatistics", "clickStatistics"]))
                        .collect();
                    lists.push((list, users));
                }
                Err(e) if e.code == ErrorCode::Unauthorized => return Err(e),
                Err(e) => list_errors.push(e.with_subject(list.endpoint()).into()),
            }
        }
    }

    let slots = ctx.request_slots();
    let with_forensics = params.include_forensics.0;
    let lists = &lists;
    let lookups = asks.iter().map(|a| {
        let (slots, filter) = (&slots, filter.clone());
        async move {
            match a {
                Ask::Skip(why) => Ok(Learned::Skipped(why)),
                Ask::Person(email) => Ok(person(lists, email)),
                Ask::Campaign(id) => match slots.run(client.campaign(id)).await {
                    Ok(c) => Ok(Learned::Campaign(id.clone(), c)),
                    Err(e) if e.code == ErrorCode::NotFound => Ok(Learned::NotFound),
                    Err(e) => Err(e),
                },
                Ask::Threat(ids) => {
                    for id in ids {
                        match slots.run(client.threat_summary(id)).await {
                            Ok(summary) => {
                                let forensics = if with_forensics {
                                    let body =
                                        slots.run(client.threat_forensics(id, false)).await?;
                                    Some(ctx.off_thread(move || filter.filter_reports(body)).await?)
                                } else {
                                    None
                                };
                                return Ok(Learned::Threat {
                                    id: id.clone(),
                                    summary,
                                    forensics,
                                });
                            }
                            Err(e) if e.code == ErrorCode::NotFound => continue,
                            Err(e) => return Err(e),
                        }
                    }
                    Ok(Learned::NotFound)
                }
            }
        }
    });
    let learned: Vec<Result<Learned>> = join_all(lookups).await;
    if let Some(fatal) = fatal_error(learned.iter().map(|l| l.as_ref().err())) {
        return Err(fatal);
    }
    Ok(report(
        ctx,
        learned,
        list_errors,
        &people_note,
        params.create_insight.0,
    ))
}

/// A person's places on the lists, matched by e-mail address ignoring case.
fn person(lists: &[(List, Vec<Map<String, Value>>)], email: &str) -> Learned {
    let find = |wanted: List| {
        lists
            .iter()
            .filter(|(list, _)| *list == wanted)
            .flat_map(|(_, users)| users)
            .find(|u| {
                let identity = field(u, &["identity"]).and_then(Value::as_object);
                identity.is_some_and(|i| {
                    names(field(i, &["emails"]))
                        .iter()
                        .any(|e| e.eq_ignore_ascii_case(email))
                })
            })
            .cloned()
    };
    let (vap, clicker) = (find(List::VeryAttacked), find(List::TopClickers));
    if vap.is_none() && clicker.is_none() {
        Learned::NotFound
    } else {
        Learned::Person { vap, clicker }
    }
}

mod report;
use report::report;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_threat_ids_follow_the_candidate_order() {
        // Verified on public TAP data: the threat `klongkru.ac.th/` has this id.
        let known = "d22be456cbc0a0e5d900696c36c92c547bea13cc76d32b63ed85b4fc5704d9cb";
        assert_eq!(url_threat_ids("klongkru.ac.th/")[0], known);
        // Given with a scheme and without the slash, it is the fourth candidate.
        let ids = url_threat_ids("http://klongkru.ac.th");
        assert_eq!(ids.len(), 4);
        assert_eq!(ids[3], known);
        // A click carries the SHA-256 of the whole URL, scheme included: the first candidate.
        let url = "http://tapdemo.evilscheme.org/files/tapdemo_313631383934343434362e3638.docx";
        assert_eq!(url_threat_ids(url)[0], hex(&Sha256::digest(url.as_bytes())));
        // No repeats, never more than four.
        assert_eq!(url_threat_ids("a/").len(), 2);
    }
}
