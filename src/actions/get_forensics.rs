//! Get Threat Forensics (SPEC §4.4): the forensic evidence of threats or campaigns, fetched
//! concurrently, with the evidence filter and limit of Get Campaign, a table per id and, on
//! request, FILEHASH and DestinationURL entities.

use futures_util::future::join_all;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::future::Future;

use super::evidence::{self, EvidenceParams, Filter};

use super::context::{
    campaign_ids_of, fatal_error, is_threat_id, is_uuid, name_list, threat_ids_of, ActionDef,
    ActionInfo, Context, Outcome, FROM_ENTITIES,
};
use super::tap_fields::{field, flag_text, text};

use crate::error::{Error, Result};
use crate::params::parameters;
use crate::params::{Flag, List};
use crate::protocol::{Entity, ErrorEntry, JsonResult, TargetEntity};
use foldhash::HashSet;

/// Get Threat Forensics, as the registry lists it.
pub(crate) struct GetForensics;

impl ActionDef for GetForensics {
    const INFO: &'static ActionInfo = &ActionInfo {
        name: "get_forensics",
        display_name: "Get Threat Forensics",
        script_name: "ProofPointTAP_GetThreatForensics",
        tool_name: "proof_point_tap_get_threat_forensics",
        result_name: "forensics_info",
        description: "Get the forensic evidence of Proofpoint TAP threats or campaigns, filtered by evidence type, with a table per id and optional FILEHASH and DestinationURL entities.",
    };
    type Params<'a> = Params<'a>;

    fn example() -> Value {
        json!({
            "action": "get_forensics",
            "case_id": "1042",
            "parameters": {
                "Threat ID": "30f800f97aeaa8d62bdf3a6fb2b0681179a360c12e127f07038f8521461e5050",
                "Include Campaign Forensics": false,
                "Max Results To Return": 20,
                "Create Entities": true
            }
        })
    }

    fn run<'a>(ctx: &'a Context, params: Params<'a>) -> impl Future<Output = Result<Outcome>> + 'a {
        run(ctx, params)
    }
}

parameters! {
    /// Parameters of Get Threat Forensics.
    #[derive(Debug, Deserialize, JsonSchema)]
    #[schemars(title = "Get Threat Forensics parameters")]
    pub(crate) struct Params<'a> {
        /// Threat IDs, as a list or a comma-separated string. Give these or Campaign ID, not both;
        /// when both are empty, the THREATSIGNATURE and SHA-256 FILEHASH entities in scope (else
        /// the THREATCAMPAIGN ones).
        #[param("Threat ID", aliases = ["threat_ids"])]
        #[serde(default)]
        #[serde(borrow)]
        pub threat_id: List<'a>,
        /// Campaign IDs (UUIDs). Give these or Threat ID, not both.
        #[param("Campaign ID", aliases = ["campaign_ids"])]
        #[serde(default)]
        #[serde(borrow)]
        pub campaign_id: List<'a>,
        /// With Threat ID: also return the forensics of the campaign each threat belongs to.
        #[param("Include Campaign Forensics")]
        #[serde(default)]
        pub include_campaign_forensics: Flag,
        /// The forensic evidence wanted: types and how many items.
        #[group]
        #[serde(borrow)]
        pub evidence: EvidenceParams<'a>,
        /// Create a FILEHASH entity per distinct evidence SHA-256 and a DestinationURL entity per
        /// distinct malicious evidence URL.
        #[param("Create Entities")]
        #[serde(default)]
        pub create_entities: Flag,
    }
}

/// What the ids are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Threat { include_campaign: bool },
    Campaign,
}

impl Kind {
    fn plural(self) -> &'static str {
        match self {
            Kind::Threat { .. } => "threats",
            Kind::Campaign => "campaigns",
        }
    }
    fn scope(self) -> &'static str {
        match self {
            Kind::Threat { .. } => "THREAT",
            Kind::Campaign => "CAMPAIGN",
        }
    }
}

fn plan(params: &Params, entities: &[TargetEntity]) -> Result<Plan> {
    let threats = params.threat_id.split_commas();
    let campaigns = params.campaign_id.split_commas();
    let (kind, ids) = match (threats.is_empty(), campaigns.is_empty()) {
        // No ids given: the entities in scope (SPEC §4.11), threats first.
        (true, true) => {
            let threats: Vec<String> = threat_ids_of(entities).into_iter().map(|(id, _)| id).collect();
            let campaigns = campaign_ids_of(entities);
            let kind = if !threats.is_empty() {
                Kind::Threat {
                    include_campaign: params.include_campaign_forensics.0,
                }
            } else if !campaigns.is_empty() && !params.include_campaign_forensics.0 {
                Kind::Campaign
            } else {
                return Err(Error::invalid_parameter(
                    "Give the threats in \"Threat ID\" (threat_id) or the campaigns in \"Campaign ID\" (campaign_id), or have THREATSIGNATURE, SHA-256 FILEHASH or THREATCAMPAIGN entities in scope.",
                ));
            };
            let ids = if threats.is_empty() { campaigns } else { threats };
            return Ok(Plan {
                kind,
                ids: dedup(ids),
                filter: params.evidence.filter()?,
                from_entities: true,
            });
        }
        (false, false) => {
            return Err(Error::invalid_parameter(
                "Give either \"Threat ID\" (threat_id) or \"Campaign ID\" (campaign_id), not both: TAP looks up forensics by one kind of id at a time.",
            ))
        }
        (false, true) => (
            Kind::Threat {
                include_campaign: params.include_campaign_forensics.0,
            },
            threats,
        ),
        (true, false) => {
            if params.include_campaign_forensics.0 {
                return Err(Error::invalid_parameter(
                    "\"Include Campaign Forensics\" (include_campaign_forensics) applies to \"Threat ID\" only; campaign forensics are what \"Campaign ID\" returns.",
                ));
            }
            (Kind::Campaign, campaigns)
        }
    };
    for id in &ids {
        let valid = match kind {
            Kind::Campaign => is_uuid(id),
            Kind::Threat { .. } => is_threat_id(id),
        };
        if !valid {
            return Err(Error::invalid_parameter(match kind {
                Kind::Campaign => format!("The parameter \"Campaign ID\" (campaign_id) takes campaign IDs, which are UUIDs; \"{id}\" is not one."),
                Kind::Threat { .. } => format!("The parameter \"Threat ID\" (threat_id) takes threat IDs (letters, digits, '-', '_', '.'); \"{id}\" is not one."),
            }));
        }
    }
    Ok(Plan {
        kind,
        ids: dedup(ids),
        filter: params.evidence.filter()?,
        from_entities: false,
    })
}

/// The ids to fetch, checked: their kind, the evidence wanted, and whether they came from the
/// entities in scope (which the message then says).
#[derive(Debug)]
struct Plan {
    kind: Kind,
    ids: Vec<String>,
    filter: Filter,
    from_entities: bool,
}

/// `ids` without repeats (ignoring case), in order.
fn dedup(ids: Vec<String>) -> Vec<String> {
    let mut seen = HashSet::default();
    ids.into_iter()
        .filter(|id| seen.insert(id.to_ascii_lowercase()))
        .collect()
}

/// Runs Get Threat Forensics.
pub(crate) async fn run(ctx: &Context, params: Params<'_>) -> Result<Outcome> {
    let Plan {
        kind,
        ids,
        filter,
        from_entities,
    } = plan(&params, &ctx.entities)?;
    let client = ctx.client()?;
    let slots = ctx.request_slots();
    let fetches = ids.iter().map(|id| {
        let (filter, slots) = (filter.clone(), &slots);
        async move {
            let body = slots
                .run(async move {
                    match kind {
                        Kind::Threat { include_campaign } => {
                            client.threat_forensics(id, include_campaign).await
                        }
                        Kind::Campaign => client.campaign_forensics(id).await,
                    }
                })
                .await?;
            // Reading a big answer is CPU work: off the runtime thread, within the deadline.
            ctx.off_thread(move || filter.filter_reports(body)).await
        }
    });
    let fetched = join_all(fetches).await;
    if let Some(fatal) = fatal_error(fetched.iter().map(|r| r.as_ref().err())) {
        return Err(fatal);
    }

    let mut found = Vec::new();
    let mut missing = Vec::new();
    let mut json = Vec::new();
    let mut tables = Vec::new();
    let mut errors: Vec<ErrorEntry> = Vec::new();
    let mut entities = Vec::new();
    let mut seen_entities = HashSet::default();
    for (id, result) in ids.iter().zip(fetched) {
        let reports = match result {
            Ok(body) => body,
            Err(e) => {
                missing.push(id.as_str());
                errors.push(e.with_subject(id.clone()).into());
                continue;
            }
        };
        let evidence: Vec<&Value> = reports.iter().flat_map(|r| &r.views).collect();
        if !evidence.is_empty() {
            tables.push(evidence::table(
                format!("Forensics {id} Evidence"),
                evidence.iter().copied(),
            ));
        }
        if params.create_entities.0 {
            entities.extend(evidence_entities(&evidence, kind, id, &mut seen_entities));
        }
        json.push(Forensics {
            id: id.clone(),
            scope: kind.scope(),
            reports,
        });
        found.push(id.as_str());
    }

    let plural = kind.plural();
    if found.is_empty() {
        return Ok(Outcome {
            errors,
            ..Outcome::completed(
                false,
                format!("No forensics were found in ProofPoint TAP for the provided {plural}."),
            )
        });
    }
    let mut message = format!(
        "Successfully fetched forensics for the following {plural} in ProofPoint TAP{}: {}",
        if from_entities { FROM_ENTITIES } else { "" },
        name_list(&found, "json_result")
    );
    if !missing.is_empty() {
        message.push_str(&format!(
            "\nAction wasn't able to fetch forensics for the following {plural} in ProofPoint TAP: {}",
            name_list(&missing, "errors")
        ));
    }
    Ok(Outcome {
        json_result: JsonResult::raw(&json),
        entities,
        tables,
        errors,
        ..Outcome::completed(true, message)
    })
}

/// The forensics of one id, as the JSON result lists them.
#[derive(Serialize)]
struct Forensics {
    id: String,
    scope: &'static str,
    reports: Vec<evidence::Report>,
}

/// Whether a URL is on a host of Proofpoint's own (its sandbox's screenshots and the like).
fn is_proofpoint_host(url: &str) -> bool {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        .is_some_and(|h| h == "proofpoint.com" || h.ends_with(".proofpoint.com"))
}

/// A FILEHASH per distinct malicious (or attached) file and a DestinationURL per distinct
/// malicious URL, suspicious when the evidence is malicious.
fn evidence_entities(
    evidence: &[&Value],
    kind: Kind,
    id: &str,
    seen: &mut HashSet<String>,
) -> Vec<Entity> {
    let empty = Map::new();
    let source_key = match kind {
        Kind::Threat { .. } => "threat_id",
        Kind::Campaign => "campaign_id",
    };
    let mut entities = Vec::new();
    for item in evidence.iter().filter_map(|v| v.as_object()) {
        let what = field(item, &["what"])
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let evidence_type = text(field(item, &["type"]));
        let malicious = flag_text(field(item, &["malicious"])) == "true";
        // Only what an analyst acts on (SPEC §4.10): a file when it is malicious or the
        // attachment itself; a URL when it is malicious and not Proofpoint's own sandbox.
        let mut candidates = Vec::new();
        let sha256 = text(field(what, &["sha256"]));
        if !sha256.is_empty() && (malicious || evidence_type.eq_ignore_ascii_case("attachment")) {
            candidates.push((sha256, "FILEHASH"));
        }
        let url = text(field(what, &["url"]));
        if !url.is_empty() && malicious && !is_proofpoint_host(&url) {
            candidates.push((url, "DestinationURL"));
        }
        for (identifier, entity_type) in candidates {
            if seen.insert(format!("{entity_type}:{}", identifier.to_lowercase())) {
                let mut extra = Map::new();
                extra.insert("evidence_type".into(), json!(evidence_type));
                extra.insert(source_key.into(), json!(id));
                let mut entity = Entity::new(identifier, entity_type, extra);
                entity.is_suspicious = malicious;
                entities.push(entity);
            }
        }
    }
    entities
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::{parse, Section};

    fn plan_of(v: Value) -> Result<(Kind, Vec<String>, Filter)> {
        let params = parse::<Params, _>(v.as_object().unwrap().clone(), Section::Parameters)?;
        plan(&params, &[]).map(|p| (p.kind, p.ids, p.filter))
    }

    #[test]
    fn exactly_one_kind_of_id() {
        assert!(plan_of(json!({}))
            .unwrap_err()
            .message
            .contains("Give the threats"));
        let e = plan_of(
            json!({"threat_id": "a", "campaign_id": "aa9b3d62-4d72-4ebc-8f39-3da3833e7038"}),
        )
        .unwrap_err();
        assert!(e.message.contains("not both"));
        let e = plan_of(json!({"campaign_id": "aa9b3d62-4d72-4ebc-8f39-3da3833e7038", "include_campaign_forensics": true})).unwrap_err();
        assert!(e.message.contains("applies to \"Threat ID\" only"));
        let (kind, ids, _) =
            plan_of(json!({"Threat ID": "abc, ABC, def", "Include Campaign Forensics": "true"}))
                .unwrap();
        assert_eq!(
            kind,
            Kind::Threat {
                include_campaign: true
            }
        );
        assert_eq!(ids, ["abc", "def"]);
        assert!(plan_of(json!({"threat_id": "a/../b"})).is_err());
        assert!(plan_of(json!({"threat_id": ".."})).is_err());
    }

    #[test]
    fn the_limit_has_two_names() {
        let (_, _, f) = plan_of(json!({"threat_id": "a", "Max Results To Return": "3"})).unwrap();
        assert!(f.to_string().ends_with("(at most 3)"));
    }
}
