//! Get Campaign (SPEC §4.3): campaigns and their forensics, fetched concurrently, as JSON, one
//! insight, one THREATCAMPAIGN entity and tables per campaign.

use futures_util::future::join_all;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::future::Future;

use super::context::{
    campaign_ids_of, fatal_error, is_uuid, name_list, ActionDef, ActionInfo, Context, Outcome,
    FROM_ENTITIES,
};
use super::evidence::{self, EvidenceParams, Filter};
use super::tap_fields::{field, html_escape, names, text};
use super::verdict::Severity;

use crate::error::{Error, ErrorCode, Result};
use crate::params::parameters;
use crate::params::{Flag, List};
use crate::protocol::{Entity, ErrorEntry, Insight, JsonResult, Row, Table, TargetEntity};
use crate::tap::TapObject;
use foldhash::HashSet;

/// Get Campaign, as the registry lists it.
pub(crate) struct GetCampaign;

impl ActionDef for GetCampaign {
    const INFO: &'static ActionInfo = &ActionInfo {
        name: "get_campaign",
        display_name: "Get Campaign",
        script_name: "ProofPointTAP_GetCampaign",
        tool_name: "proof_point_tap_get_campaign",
        result_name: "campaign_info",
        description: "Get information about Proofpoint TAP campaigns, with their forensic evidence: one insight, one THREATCAMPAIGN entity and a table per campaign. Campaigns are fetched concurrently.",
    };
    type Params<'a> = Params<'a>;

    fn example() -> Value {
        json!({
            "action": "get_campaign",
            "case_id": "1042",
            "parameters": {
                "Campaign ID": "aa9b3d62-4d72-4ebc-8f39-3da3833e7038",
                "Fetch Forensics Info": true,
                "Forensic Evidence Type Filter": "url, file, redirect_chain",
                "Max Forensics Evidence To Return": 20
            }
        })
    }

    fn run<'a>(ctx: &'a Context, params: Params<'a>) -> impl Future<Output = Result<Outcome>> + 'a {
        run(ctx, params)
    }
}

parameters! {
    /// Parameters of Get Campaign.
    #[derive(Debug, Deserialize, JsonSchema)]
    #[schemars(title = "Get Campaign parameters")]
    pub(crate) struct Params<'a> {
        /// The campaign IDs (UUIDs), as a list or a comma-separated string; when empty, the
        /// THREATCAMPAIGN entities in scope.
        #[param("Campaign ID", aliases = ["campaign_ids"])]
        #[serde(default)]
        #[serde(borrow)]
        pub campaign_id: List<'a>,
        /// Add an insight per campaign to the case.
        #[param("Create Insight")]
        #[serde(default = "yes")]
        pub create_insight: Flag,
        /// Add a THREATCAMPAIGN entity per campaign to the case.
        #[param("Create Threat Campaign Entity")]
        #[serde(default = "yes")]
        pub create_threat_campaign_entity: Flag,
        /// Fetch each campaign's forensic evidence.
        #[param("Fetch Forensics Info")]
        #[serde(default = "yes")]
        pub fetch_forensics_info: Flag,
        /// The forensic evidence wanted: types and how many items.
        #[group]
        #[serde(borrow)]
        pub evidence: EvidenceParams<'a>,
    }
}

fn yes() -> Flag {
    Flag(true)
}

/// The parameters, checked: nothing is fetched until all of them are usable.
#[derive(Debug)]
struct Plan {
    ids: Vec<String>,
    /// Whether the ids came from the entities in scope, which the message then says.
    from_entities: bool,
    insights: bool,
    entities: bool,
    forensics: Option<Filter>,
}

fn plan(params: Params, entities: &[TargetEntity]) -> Result<Plan> {
    let mut seen = HashSet::default();
    let mut ids = Vec::new();
    for id in params.campaign_id.split_commas() {
        if !is_uuid(&id) {
            return Err(Error::invalid_parameter(format!(
                "The parameter \"Campaign ID\" (campaign_id) takes campaign IDs, which are UUIDs such as aa9b3d62-4d72-4ebc-8f39-3da3833e7038; \"{id}\" is not one."
            )));
        }
        if seen.insert(id.to_ascii_lowercase()) {
            ids.push(id);
        }
    }
    // No ids given: the THREATCAMPAIGN entities in scope (SPEC §4.11).
    let from_entities = ids.is_empty();
    if from_entities {
        for id in campaign_ids_of(entities) {
            if seen.insert(id.clone()) {
                ids.push(id);
            }
        }
    }
    if ids.is_empty() {
        return Err(Error::invalid_parameter(
            "The parameter \"Campaign ID\" (campaign_id) is mandatory: give one or more campaign IDs, or have THREATCAMPAIGN entities in scope.",
        ));
    }
    let filter = params.evidence.filter()?;
    Ok(Plan {
        ids,
        from_entities,
        insights: params.create_insight.0,
        entities: params.create_threat_campaign_entity.0,
        forensics: params.fetch_forensics_info.0.then_some(filter),
    })
}

/// What was fetched for one campaign.
struct Fetched {
    id: String,
    campaign: Result<Read>,
}

/// A campaign as read: TAP's object (its evidence in place when fetched), what the tables and
/// the insight read of it, and its evidence.
struct Read {
    campaign: TapObject,
    view: Map<String, Value>,
    name: String,
    evidence_views: Vec<Value>,
    forensics_error: Option<Error>,
}

/// Reads a fetched campaign and its forensics: CPU work for big answers, run off the runtime
/// thread.
fn read_campaign(
    mut campaign: TapObject,
    forensics: Option<Result<TapObject>>,
    filter: Option<&Filter>,
    id: &str,
) -> Read {
    // What is read of the campaign; the rest (its members above all) passes through raw.
    let view = campaign.view(&VIEWED);
    let name = text(field(&view, &["name"]));
    let name = if name.is_empty() { id.to_owned() } else { name };
    let mut evidence_views = Vec::new();
    let mut forensics_error = None;
    if let (Some(filter), Some(forensics)) = (filter, forensics) {
        let body = match forensics {
            Ok(body) => Some(body),
            // A campaign without forensics: TAP answers 404; report no evidence.
            Err(e) if e.code == ErrorCode::NotFound => Some(TapObject::default()),
            // Not fetched is not "none" (SPEC §4.12): `forensics: null`, and the error says why.
            Err(e) => {
                forensics_error = Some(
                    Error::new(
                        e.code,
                        format!(
                            "the campaign's forensics could not be fetched: {}",
                            e.message
                        ),
                    )
                    .with_subject(id.to_owned()),
                );
                None
            }
        };
        match body {
            Some(body) => {
                let mut evidence = filter.apply(body, id, &name);
                evidence_views = std::mem::take(&mut evidence.views);
                campaign.insert("forensics", &evidence);
            }
            None => campaign.insert("forensics", &Value::Null),
        }
    }
    Read {
        campaign,
        view,
        name,
        evidence_views,
        forensics_error,
    }
}

/// Runs Get Campaign.
pub(crate) async fn run(ctx: &Context, params: Params<'_>) -> Result<Outcome> {
    let plan = plan(params, &ctx.entities)?;
    let client = ctx.client()?;
    // One set of request slots: a campaign and its forensics may run side by side.
    let slots = ctx.request_slots();
    let with_forensics = plan.forensics.is_some();
    let filter = &plan.forensics;
    let fetches = plan.ids.iter().map(|id| {
        let slots = &slots;
        async move {
            let campaign = slots.run(client.campaign(id));
            let forensics = async {
                if !with_forensics {
                    return None;
                }
                Some(slots.run(client.campaign_forensics(id)).await)
            };
            let (campaign, forensics) = tokio::join!(campaign, forensics);
            let read = match campaign {
                Err(e) => Err(e),
                Ok(campaign) => {
                    let (filter, id) = (filter.clone(), id.clone());
                    ctx.off_thread(move || read_campaign(campaign, forensics, filter.as_ref(), &id))
                        .await
                }
            };
            Fetched {
                id: id.clone(),
                campaign: read.map_err(|e| e.with_subject(id.clone())),
            }
        }
    });
    let fetched = join_all(fetches).await;
    outcome(&plan, fetched)
}

fn outcome(plan: &Plan, fetched: Vec<Fetched>) -> Result<Outcome> {
    if let Some(fatal) = fatal_error(fetched.iter().map(|f| f.campaign.as_ref().err())) {
        return Err(fatal);
    }

    let mut found = Vec::new();
    // Campaigns not reported, by why: not found, rate limited, or another failure.
    let mut missing = Vec::new();
    let mut throttled = Vec::new();
    let mut failed = Vec::new();
    let mut without_forensics = Vec::new();
    let mut json = Vec::new();
    let mut insights = Vec::new();
    let mut entities = Vec::new();
    let mut details = Vec::new();
    let mut evidence_tables = Vec::new();
    let mut errors: Vec<ErrorEntry> = Vec::new();
    for Fetched { id, campaign } in fetched {
        let Read {
            campaign,
            view,
            name,
            evidence_views,
            forensics_error,
        } = match campaign {
            Ok(read) => read,
            Err(e) => {
                match e.code {
                    ErrorCode::NotFound => missing.push(id),
                    ErrorCode::RateLimited => throttled.push(id),
                    // The runner names what the deadline left unfinished.
                    ErrorCode::DeadlineExceeded => {}
                    _ => failed.push(id),
                }
                errors.push(e.into());
                continue;
            }
        };
        if let Some(e) = forensics_error {
            without_forensics.push(id.clone());
            errors.push(e.into());
        }
        if !evidence_views.is_empty() {
            evidence_tables.push(evidence::table(
                format!("Campaign {id} Evidence"),
                &evidence_views,
            ));
        }
        details.push(Row::from(details_row(&view, &name)));
        if plan.insights {
            // The title is TAP text too: escaped like the body. A campaign is malicious
            // (SPEC §4.10); what it says of who was exposed is not known here.
            let mut insight = Insight::general_html(html_escape(&name), insight_html(&view, &name));
            insight.severity = Severity::of(true, false).as_str().into();
            insights.push(insight);
        }
        if plan.entities {
            let mut extra = Map::new();
            extra.insert("campaign_id".into(), json!(id));
            let mut entity = Entity::new(name, "THREATCAMPAIGN", extra);
            entity.is_suspicious = true;
            entities.push(entity);
        }
        json.push(campaign);
        found.push(id);
    }

    // What is missing and why, for the message (SPEC §4.12).
    let mut gaps = String::new();
    for (ids, text) in [
        (
            &missing,
            "Action wasn't able to find information for the following campaigns in ProofPoint TAP",
        ),
        (
            &throttled,
            "Rate limited (429: the TAP daily quota is spent), not fetched",
        ),
        (&failed, "Could not be fetched (see errors)"),
        (
            &without_forensics,
            "Forensics could not be fetched for the following campaigns",
        ),
    ] {
        if !ids.is_empty() {
            let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
            gaps.push_str(&format!("\n{text}: {}", name_list(&refs, "errors")));
        }
    }
    if found.is_empty() {
        let mut message = "No information about provided campaigns was found.".to_owned();
        if !throttled.is_empty() || !failed.is_empty() {
            message.push_str(&gaps);
        }
        return Ok(Outcome {
            errors,
            ..Outcome::completed(false, message)
        });
    }
    let found_refs: Vec<&str> = found.iter().map(String::as_str).collect();
    let mut message = format!(
        "Successfully found information for the following campaigns in ProofPoint TAP{}: {}",
        if plan.from_entities {
            FROM_ENTITIES
        } else {
            ""
        },
        name_list(&found_refs, "json_result")
    );
    message.push_str(&gaps);
    let mut tables = vec![Table {
        title: "Campaign Details".into(),
        columns: DETAIL_COLUMNS.iter().map(|c| c.to_string()).collect(),
        rows: details,
    }];
    tables.extend(evidence_tables);
    Ok(Outcome {
        json_result: JsonResult::raw(&json),
        insights,
        entities,
        tables,
        errors,
        ..Outcome::completed(true, message)
    })
}

/// The members of a campaign the details row and the insight read.
const VIEWED: [&str; 9] = [
    "name",
    "description",
    "startDate",
    "start_date",
    "families",
    "malware",
    "techniques",
    "actors",
    "brands",
];

const DETAIL_COLUMNS: [&str; 8] = [
    "Name",
    "Description",
    "Start Date",
    "Related Families",
    "Related Malware",
    "Related Techniques",
    "Related Actors",
    "Related Brands",
];

fn related(campaign: &Map<String, Value>, key: &str) -> Vec<String> {
    names(field(campaign, &[key]))
}

fn details_row(campaign: &Map<String, Value>, name: &str) -> Vec<String> {
    vec![
        name.to_owned(),
        text(field(campaign, &["description"])),
        text(field(campaign, &["startDate", "start_date"])),
        related(campaign, "families").join(", "),
        related(campaign, "malware").join(", "),
        related(campaign, "techniques").join(", "),
        related(campaign, "actors").join(", "),
        related(campaign, "brands").join(", "),
    ]
}

/// The insight body. Every string from TAP is escaped: a campaign description is attacker-chosen
/// text as far as the case wall is concerned.
fn insight_html(campaign: &Map<String, Value>, name: &str) -> String {
    let line = |label: &str, values: Vec<String>| {
        let shown = if values.is_empty() {
            "—".to_owned()
        } else {
            html_escape(&values.join(", "))
        };
        format!("<p><strong>{label}:</strong> {shown}</p>")
    };
    let start = text(field(campaign, &["startDate", "start_date"]));
    let description = text(field(campaign, &["description"]));
    let mut html = format!("<h2><strong>{}</strong></h2>", html_escape(name));
    html.push_str(&line(
        "Start Date",
        vec![start].into_iter().filter(|s| !s.is_empty()).collect(),
    ));
    html.push_str(&line("Families", related(campaign, "families")));
    html.push_str(&line("Malware", related(campaign, "malware")));
    html.push_str(&line("Techniques", related(campaign, "techniques")));
    html.push_str(&line("Actors", related(campaign, "actors")));
    html.push_str(&line("Brands", related(campaign, "brands")));
    if !description.trim().is_empty() {
        let body = html_escape(description.trim())
            .replace("\r\n", "\n")
            .replace('\n', "<br>");
        html.push_str(&format!("<p><strong>Description:</strong><br>{body}</p>"));
    }
    html
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::{parse, Section};

    fn plan_of(v: Value) -> Result<Plan> {
        plan(
            parse(v.as_object().unwrap().clone(), Section::Parameters)?,
            &[],
        )
    }

    #[test]
    fn ids_are_uuids_deduplicated_in_order() {
        let p = plan_of(json!({"Campaign ID": "AA9B3D62-4d72-4ebc-8f39-3da3833e7038, f3ff0874-85ef-475e-b3fe-d05f97b2ed3f,aa9b3d62-4d72-4ebc-8f39-3da3833e7038"})).unwrap();
        assert_eq!(
            p.ids,
            [
                "AA9B3D62-4d72-4ebc-8f39-3da3833e7038",
                "f3ff0874-85ef-475e-b3fe-d05f97b2ed3f"
            ]
        );
        assert!(p.insights && p.entities && p.forensics.is_some());
        let e = plan_of(json!({"campaign_id": "../admin"})).unwrap_err();
        assert!(
            e.message.contains("\"../admin\" is not one"),
            "{}",
            e.message
        );
        assert!(plan_of(json!({"campaign_id": ","}))
            .unwrap_err()
            .message
            .contains("mandatory"));
        assert!(plan_of(json!({}))
            .unwrap_err()
            .message
            .contains("mandatory"));
    }

    #[test]
    fn flags_and_limits_as_strings() {
        let p = plan_of(
            json!({"campaign_id": ["aa9b3d62-4d72-4ebc-8f39-3da3833e7038"],
            "Fetch Forensics Info": "false", "Create Insight": "False",
            "max_forensics_evidence_to_return": "7"}),
        )
        .unwrap();
        assert!(p.forensics.is_none() && !p.insights);
        let e = plan_of(
            json!({"campaign_id": "aa9b3d62-4d72-4ebc-8f39-3da3833e7038",
            "Max Forensics Evidence To Return": "1001"}),
        )
        .unwrap_err();
        assert!(
            e.message.contains("between 1 and 1000, not 1001"),
            "{}",
            e.message
        );
    }

    #[test]
    fn uuid_shape() {
        assert!(is_uuid("aa9b3d62-4d72-4ebc-8f39-3da3833e7038"));
        assert!(!is_uuid("aa9b3d62-4d72-4ebc-8f39-3da3833e703"));
        assert!(!is_uuid("aa9b3d62-4d72-4ebc-8f39-3da3833e7038-1"));
        assert!(!is_uuid("zz9b3d62-4d72-4ebc-8f39-3da3833e7038"));
    }

    #[test]
    fn insight_escapes_tap_text() {
        let c: Map<String, Value> = serde_json::from_value(json!({
            "name": "<b>x</b>", "description": "<script>alert(1)</script>\nline",
            "families": [{"name": "A&B"}], "startDate": "2021-03-24"
        }))
        .unwrap();
        let html = insight_html(&c, "<b>x</b>");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;<br>line"));
        assert!(html.contains("<h2><strong>&lt;b&gt;x&lt;/b&gt;</strong></h2>"));
        assert!(html.contains("A&amp;B"));
        assert!(!html.contains("<script>"));
    }
}
