//! Get Threat Summary (SPEC §4.8): what TAP knows of threats by their ids —
//! `GET /v2/threat/summary/{id}` per id, concurrently (documented as not throttled) — as JSON, a
//! table, an insight per threat and, when asked, a THREATSIGNATURE entity per threat.
//!
//! The ids come from the parameter, else from the entities in scope (§4.11): THREATSIGNATURE
//! entities, and FILEHASH entities holding a SHA-256 (an attachment's threat id is its SHA-256).

use std::future::Future;

use futures_util::future::join_all;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::context::{
    fatal_error, is_sha256, is_threat_id, name_list, threat_ids_of, ActionDef, ActionInfo, Context,
    Outcome, FROM_ENTITIES,
};
use super::tap_fields::{field, html_escape, names, text};
use super::verdict::{is_malicious_threat, Severity};
use crate::error::{Error, ErrorCode, Result};
use crate::params::{parameters, Flag, List};
use crate::protocol::{Entity, ErrorEntry, Insight, JsonResult, Row, Table};
use crate::tap::TapObject;

/// Get Threat Summary, as the registry lists it.
pub(crate) struct GetThreatSummary;

impl ActionDef for GetThreatSummary {
    const INFO: &'static ActionInfo = &ActionInfo {
        name: "get_threat_summary",
        display_name: "Get Threat Summary",
        script_name: "ProofPointTAP_GetThreatSummary",
        tool_name: "proof_point_tap_get_threat_summary",
        result_name: "threat_summaries",
        description: "Get what Proofpoint TAP knows of threats by their ids (from the parameter, or from the THREATSIGNATURE and SHA-256 FILEHASH entities in scope): category, status, severity, attack spread, actors, families and malware, with a table, an insight per threat and optional THREATSIGNATURE entities. Spends no throttled quota.",
    };
    type Params<'a> = Params<'a>;

    fn example() -> Value {
        json!({
            "action": "get_threat_summary",
            "case_id": "1042",
            "parameters": {
                "Threat ID": "d22be456cbc0a0e5d900696c36c92c547bea13cc76d32b63ed85b4fc5704d9cb",
                "Create Insight": true,
                "Create Entities": false
            }
        })
    }

    fn run<'a>(ctx: &'a Context, params: Params<'a>) -> impl Future<Output = Result<Outcome>> + 'a {
        run(ctx, params)
    }
}

parameters! {
    /// Parameters of Get Threat Summary.
    #[derive(Debug, Deserialize, JsonSchema)]
    #[schemars(title = "Get Threat Summary parameters")]
    pub struct Params<'a> {
        /// Threat IDs, as a list or a comma-separated string; when empty, the THREATSIGNATURE and
        /// SHA-256 FILEHASH entities in scope.
        #[param("Threat ID", aliases = ["threat_ids"])]
        #[serde(default)]
        #[serde(borrow)]
        pub threat_id: List<'a>,
        /// Add an insight per threat to the case.
        #[param("Create Insight")]
        #[serde(default = "yes")]
        pub create_insight: Flag,
        /// Create a THREATSIGNATURE entity per threat found.
        #[param("Create Entities")]
        #[serde(default)]
        pub create_entities: Flag,
    }
}

fn yes() -> Flag {
    Flag(true)
}

/// One threat id to look up, and the entity it came from, if one.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Wanted {
    id: String,
    entity: Option<String>,
}

/// The ids to look up: the parameter's, else the entities' (SPEC §4.11); whether they came from
/// the entities, for the message; and the FILEHASH entities passed over, which it names too.
fn wanted<'c>(ctx: &'c Context, params: &Params) -> Result<(Vec<Wanted>, bool, Vec<&'c str>)> {
    let mut out: Vec<Wanted> = Vec::new();
    let mut push = |id: String, entity: Option<String>| {
        if !out.iter().any(|w| w.id == id) {
            out.push(Wanted { id, entity });
        }
    };
    let given = params.threat_id.split_commas();
    if !given.is_empty() {
        for id in given {
            if !is_threat_id(&id) {
                return Err(Error::invalid_parameter(format!(
                    "The parameter \"Threat ID\" (threat_id) takes threat ids (letters, digits, '-', '_' and '.'); \"{id}\" is not one."
                )));
            }
            // Threat ids are lowercase hex when they are SHA-256s (SOAR upper-cases identifiers).
            let id = if is_sha256(&id) {
                id.to_ascii_lowercase()
            } else {
                id
            };
            push(id, None);
        }
        return Ok((out, false, Vec::new()));
    }
    for (id, entity) in threat_ids_of(&ctx.entities) {
        push(id, Some(entity));
    }
    let skipped = ctx
        .entities
        .iter()
        .filter(|e| e.is_type("FILEHASH") && !is_sha256(e.value().trim()))
        .map(|e| e.identifier.as_str())
        .collect();
    if out.is_empty() {
        return Err(Error::invalid_parameter(
            "The parameter \"Threat ID\" (threat_id) is mandatory: give threat ids, or have THREATSIGNATURE or SHA-256 FILEHASH entities in scope.",
        ));
    }
    Ok((out, true, skipped))
}

/// Runs Get Threat Summary.
pub(crate) async fn run(ctx: &Context, params: Params<'_>) -> Result<Outcome> {
    let (wanted, from_entities, skipped) = wanted(ctx, &params)?;
    let source = if from_entities { FROM_ENTITIES } else { "" };
    // Hashes that cannot be threat ids are said, not dropped unseen.
    let skipped_line = (!skipped.is_empty()).then(|| {
        format!(
            "\nSkipped FILEHASH entities that are not SHA-256 (TAP identifies attachments by SHA-256): {}",
            name_list(&skipped, "target_entities")
        )
    });
    let client = ctx.client()?;
    let slots = ctx.request_slots();
    let fetched = join_all(
        wanted
            .iter()
            .map(|w| slots.run(client.threat_summary(&w.id))),
    )
    .await;
    if let Some(fatal) = fatal_error(fetched.iter().map(|r| r.as_ref().err())) {
        return Err(fatal);
    }

    let mut found: Vec<&str> = Vec::new();
    let mut missing: Vec<&str> = Vec::new();
    let mut json: Vec<TapObject> = Vec::new();
    let mut rows = Vec::new();
    let mut insights = Vec::new();
    let mut entities = Vec::new();
    let mut errors: Vec<ErrorEntry> = Vec::new();
    for (w, result) in wanted.iter().zip(fetched) {
        let summary = match result {
            Ok(summary) => summary,
            Err(e) => {
                missing.push(&w.id);
                let e = if e.code == ErrorCode::NotFound {
                    Error::new(e.code, "TAP knows no threat with this id (HTTP 404)")
                } else {
                    e
                };
                errors.push(e.with_subject(w.id.clone()).into());
                continue;
            }
        };
        let view = summary.view(&VIEWED);
        let malicious = is_malicious_threat(
            &text(field(&view, &["category", "classification"])),
            &text(field(&view, &["status"])),
        );
        rows.push(Row::from(row(&view, &w.id)));
        if params.create_insight.0 {
            insights.push(insight(&view, w, malicious));
        }
        if params.create_entities.0 {
            let mut extra = Map::new();
            for (key, names) in [
                ("ProofPointTAP_name", &["name"][..]),
                ("ProofPointTAP_category", &["category"][..]),
                ("ProofPointTAP_status", &["status"][..]),
            ] {
                extra.insert(key.into(), json!(text(field(&view, names))));
            }
            let mut entity = Entity::new(w.id.clone(), "THREATSIGNATURE", extra);
            entity.is_suspicious = malicious;
            entities.push(entity);
        }
        json.push(summary);
        found.push(&w.id);
    }

    if found.is_empty() {
        return Ok(Outcome {
            errors,
            ..Outcome::completed(
                false,
                format!(
                    "No threat summaries were found in ProofPoint TAP{source}.{}",
                    skipped_line.unwrap_or_default()
                ),
            )
        });
    }
    let mut message = format!(
        "Successfully fetched the summaries of the following threats from ProofPoint TAP{source}: {}",
        name_list(&found, "json_result")
    );
    if !missing.is_empty() {
        message.push_str(&format!(
            "\nAction wasn't able to fetch the summaries of the following threats from ProofPoint TAP: {}",
            name_list(&missing, "errors")
        ));
    }
    message.push_str(&skipped_line.unwrap_or_default());
    Ok(Outcome {
        json_result: JsonResult::raw(&json),
        insights,
        entities,
        tables: vec![Table {
            title: "Threat Summary".into(),
            columns: COLUMNS.iter().map(|c| c.to_string()).collect(),
            rows,
        }],
        errors,
        ..Outcome::completed(true, message)
    })
}

/// The members of a summary the table and the insight read.
const VIEWED: [&str; 14] = [
    "id",
    "name",
    "type",
    "category",
    "classification",
    "status",
    "severity",
    "attackSpread",
    "identifiedAt",
    "actors",
    "families",
    "malware",
    "techniques",
    "brands",
];

const COLUMNS: [&str; 13] = [
    "ID",
    "Name",
    "Type",
    "Category",
    "Status",
    "Severity",
    "Attack Spread",
    "Identified At",
    "Actors",
    "Families",
    "Malware",
    "Techniques",
    "Brands",
];

fn row(view: &Map<String, Value>, id: &str) -> Vec<String> {
    let shown_id = text(field(view, &["id"]));
    vec![
        if shown_id.is_empty() {
            id.to_owned()
        } else {
            shown_id
        },
        text(field(view, &["name"])),
        text(field(view, &["type"])),
        text(field(view, &["category", "classification"])),
        text(field(view, &["status"])),
        text(field(view, &["severity"])),
        text(field(view, &["attackSpread"])),
        text(field(view, &["identifiedAt"])),
        names(field(view, &["actors"])).join(", "),
        names(field(view, &["families"])).join(", "),
        names(field(view, &["malware"])).join(", "),
        names(field(view, &["techniques"])).join(", "),
        names(field(view, &["brands"])).join(", "),
    ]
}

/// The insight of one threat: every TAP string escaped; about its entity when it came from one.
fn insight(view: &Map<String, Value>, wanted: &Wanted, malicious: bool) -> Insight {
    let name = text(field(view, &["name"]));
    let title = if name.is_empty() {
        wanted.id.clone()
    } else {
        name
    };
    let line = |label: &str, value: String| {
        let shown = if value.is_empty() {
            "—".to_owned()
        } else {
            html_escape(&value)
        };
        format!("<p><strong>{label}:</strong> {shown}</p>")
    };
    let mut html = format!("<h2><strong>{}</strong></h2>", html_escape(&title));
    html.push_str(&line("Threat ID", wanted.id.clone()));
    for (label, keys) in [
        ("Category", &["category", "classification"][..]),
        ("Type", &["type"][..]),
        ("Status", &["status"][..]),
        ("Severity", &["severity"][..]),
        ("Attack Spread", &["attackSpread"][..]),
        ("Identified At", &["identifiedAt"][..]),
    ] {
        html.push_str(&line(label, text(field(view, keys))));
    }
    for (label, key) in [
        ("Actors", "actors"),
        ("Families", "families"),
        ("Malware", "malware"),
        ("Techniques", "techniques"),
        ("Brands", "brands"),
    ] {
        html.push_str(&line(label, names(field(view, &[key])).join(", ")));
    }
    let mut insight = Insight::general_html(html_escape(&title), html);
    // A summary says nothing of who was exposed: at most a warning.
    insight.severity = Severity::of(malicious, false).as_str().into();
    if let Some(entity) = &wanted.entity {
        insight.entity_identifier = Some(entity.clone());
        insight.insight_type = "entity".into();
    }
    insight
}
