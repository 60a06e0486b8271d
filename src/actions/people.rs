//! Get Very Attacked People and Get Top Clickers (SPEC §4.6): `GET /v2/people/vap` and
//! `GET /v2/people/top-clickers`, one action each over the same machinery — the window, paging
//! through `size`/`page`, the table and the USERUNIQNAME entities.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::future::Future;

use super::context::{ActionDef, ActionInfo, Context, Outcome, Paging};
use super::tap_fields::{field, names, text};

use crate::error::{Error, Result};
use crate::params::parameters;
use crate::params::{Flag, Integer};
use crate::protocol::{Entity, ErrorEntry, JsonResult, Row, Table};
use crate::tap::{member_of, TapObject, VIEW_BUDGET};
use foldhash::HashSet;
use serde_json::value::RawValue;

/// Get Very Attacked People, as the registry lists it.
pub(crate) struct GetVaps;

impl ActionDef for GetVaps {
    const INFO: &'static ActionInfo = &ActionInfo {
        name: "get_vaps",
        display_name: "Get Very Attacked People",
        script_name: "ProofPointTAP_GetVeryAttackedPeople",
        tool_name: "proof_point_tap_get_very_attacked_people",
        result_name: "vaps",
        description: "Get the people of the organisation attacked most over the last 14, 30 or 90 days (the VAP list), with their attack index and the threat families that targeted them.",
    };
    type Params<'a> = Params;

    fn example() -> Value {
        example(Self::INFO)
    }

    fn run<'a>(ctx: &'a Context, params: Params) -> impl Future<Output = Result<Outcome>> + 'a {
        run(ctx, List::VeryAttacked, params)
    }
}

/// Get Top Clickers, as the registry lists it.
pub(crate) struct GetTopClickers;

impl ActionDef for GetTopClickers {
    const INFO: &'static ActionInfo = &ActionInfo {
        name: "get_top_clickers",
        display_name: "Get Top Clickers",
        script_name: "ProofPointTAP_GetTopClickers",
        tool_name: "proof_point_tap_get_top_clickers",
        result_name: "top_clickers",
        description: "Get the people of the organisation who clicked most malicious links over the last 14, 30 or 90 days, with their clicks per threat family.",
    };
    type Params<'a> = Params;

    fn example() -> Value {
        example(Self::INFO)
    }

    fn run<'a>(ctx: &'a Context, params: Params) -> impl Future<Output = Result<Outcome>> + 'a {
        run(ctx, List::TopClickers, params)
    }
}

/// The example request of either list.
fn example(info: &ActionInfo) -> Value {
    json!({
        "action": info.name,
        "case_id": "1042",
        "parameters": {"Window": 30, "Max Users": 25, "Create Entities": true}
    })
}

/// Users per page asked of TAP.
const PAGE_SIZE: usize = 200;

/// Which list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum List {
    /// `/v2/people/vap`.
    VeryAttacked,
    /// `/v2/people/top-clickers`.
    TopClickers,
}

impl List {
    fn path(self) -> &'static str {
        match self {
            List::VeryAttacked => "vap",
            List::TopClickers => "top-clickers",
        }
    }
    pub(crate) fn endpoint(self) -> &'static str {
        match self {
            List::VeryAttacked => "/v2/people/vap",
            List::TopClickers => "/v2/people/top-clickers",
        }
    }
    fn title(self) -> &'static str {
        match self {
            List::VeryAttacked => "Very Attacked People",
            List::TopClickers => "Top Clickers",
        }
    }
    fn people(self, n: usize) -> String {
        match (self, n) {
            (List::VeryAttacked, 1) => "1 very attacked person".into(),
            (List::VeryAttacked, n) => format!("{n} very attacked people"),
            (List::TopClickers, 1) => "1 top clicker".into(),
            (List::TopClickers, n) => format!("{n} top clickers"),
        }
    }
}

parameters! {
    /// Parameters of both people actions.
    #[derive(Debug, Deserialize, JsonSchema)]
    #[schemars(title = "People list parameters")]
    pub(crate) struct Params {
        /// The period, in days: 14, 30 or 90.
        #[param("Window")]
        #[serde(default = "default_window")]
        #[schemars(extend("x-allowed-values" = ["14", "30", "90"]))]
        pub window: Integer,
        /// At most this many users (1..=10000); TAP is paged through as needed.
        #[param(
            "Max Users",
            aliases = ["max_results_to_return", "Max Results To Return"],
            range = 1..=10000
        )]
        #[serde(default = "default_max")]
        pub max_users: Integer,
        /// Create a USERUNIQNAME entity per e-mail address, with the user's statistics as properties.
        #[param("Create Entities")]
        #[serde(default)]
        pub create_entities: Flag,
    }
}

fn default_window() -> Integer {
    Integer(30)
}

fn default_max() -> Integer {
    Integer(100)
}

fn check(params: &Params) -> Result<(u32, usize)> {
    let window = params.window.0;
    if ![14, 30, 90].contains(&window) {
        return Err(Error::invalid_parameter(format!(
            "The parameter \"Window\" (window) must be 14, 30 or 90 days, not {window}."
        )));
    }
    let max = params.max_users.0;
    Ok((window as u32, max as usize))
}

/// A people list as fetched: TAP's first page around its users, the users as TAP sent them (each
/// once), what went wrong with a later page, and how paging went.
pub(crate) struct Fetched {
    pub(crate) body: Option<TapObject>,
    pub(crate) users: Vec<Box<RawValue>>,
    pub(crate) errors: Vec<ErrorEntry>,
    pub(crate) paging: Paging,
    pub(crate) pages: usize,
}

/// Fetches up to `max` users of a list over `window` days, paged. An error before any page is the
/// whole list's; after, it is kept with what was fetched.
pub(crate) async fn fetch(ctx: &Context, list: List, window: u32, max: usize) -> Result<Fetched> {
    let client = ctx.client()?;
    let size = PAGE_SIZE.min(max);
    let mut fetched = Fetched {
        body: None,
        users: Vec::new(),
        errors: Vec::new(),
        paging: Paging::new(list.endpoint()),
        pages: 0,
    };
    let mut seen = HashSet::default();
    for page in 1..=Paging::pages_needed(max, size) {
        if !fetched.paging.may_call() {
            break;
        }
        let mut answer = match client.people(list.path(), window, size, page).await {
            Ok(answer) => answer,
            // Nothing fetched yet: the action has nothing to report.
            Err(e) if fetched.body.is_none() => return Err(e),
            Err(e) => {
                fetched
                    .errors
                    .push(e.with_subject(format!("page {page}")).into());
                break;
            }
        };
        fetched.pages += 1;
        // Taken in place, so that TAP's field order survives in the JSON result.
        let page_users: Vec<Box<RawValue>> = answer
            .take("users")
            .and_then(|raw| serde_json::from_str(raw.get()).ok())
            .unwrap_or_default();
        let got = page_users.len();
        let before = fetched.users.len();
        // A user seen on an earlier page (a server ignoring `page`) is not listed twice.
        fetched
            .users
            .extend(page_users.into_iter().filter(|u| seen.insert(user_key(u))));
        let new = fetched.users.len() - before;
        fetched.body.get_or_insert(answer);
        if fetched.users.len() >= max || !fetched.paging.goes_on(got, new, size) {
            break;
        }
    }
    fetched.users.truncate(max);
    Ok(fetched)
}

/// Runs one of the people actions.
pub(crate) async fn run(ctx: &Context, list: List, params: Params) -> Result<Outcome> {
    let (window, max) = check(&params)?;
    let Fetched {
        body,
        users,
        errors,
        paging,
        ..
    } = fetch(ctx, list, window, max).await?;
    // What the table and the entities read of each user, within one budget.
    let mut budget = VIEW_BUDGET;
    let views: Vec<Map<String, Value>> = users
        .iter()
        .filter_map(|u| serde_json::from_str::<TapObject>(u.get()).ok())
        .map(|u| {
            u.view_within(
                &["identity", "threatStatistics", "clickStatistics"],
                &mut budget,
            )
        })
        .collect();

    let entities = if params.create_entities.0 {
        user_entities(list, &views)
    } else {
        Vec::new()
    };
    let rows: Vec<Row> = views.iter().map(|u| Row::from(row(list, u))).collect();
    let mut message = if users.is_empty() {
        format!(
            "No {} were found in ProofPoint TAP over the last {window} days.",
            list.title().to_lowercase()
        )
    } else {
        format!(
            "Found {} in ProofPoint TAP over the last {window} days.",
            list.people(users.len())
        )
    };
    if !errors.is_empty() {
        message
            .push_str("\nThe list is incomplete: a later page could not be fetched (see errors).");
    }
    if let Some(note) = paging.note() {
        message.push('\n');
        message.push_str(&note);
    }
    let found = !users.is_empty();
    let mut json = body.unwrap_or_default();
    json.insert("users", &users);
    // An incomplete list says so in the result too (SPEC §4.12).
    let incomplete = if !errors.is_empty() {
        Some("a later page could not be fetched (see errors)".to_owned())
    } else {
        paging.note()
    };
    if let Some(reason) = incomplete {
        json.insert("complete", &false);
        json.insert("incomplete_reason", &reason);
    }
    let tables = if rows.is_empty() {
        Vec::new()
    } else {
        vec![Table {
            title: list.title().into(),
            columns: columns(list),
            rows,
        }]
    };
    Ok(Outcome {
        json_result: JsonResult::raw(&json),
        entities,
        tables,
        errors,
        ..Outcome::completed(found, message)
    })
}

fn columns(list: List) -> Vec<String> {
    let score = match list {
        List::VeryAttacked => "Attack Index",
        List::TopClickers => "Clicks",
    };
    [
        "Name",
        "Emails",
        "Department",
        "Title",
        "VIP",
        score,
        "Families",
    ]
    .iter()
    .map(|c| c.to_string())
    .collect()
}

/// The statistics object and the names of its score and per-family count fields.
fn statistics(
    list: List,
    user: &Map<String, Value>,
) -> (Option<&Map<String, Value>>, &'static str, &'static str) {
    match list {
        List::VeryAttacked => (
            field(user, &["threatStatistics"]).and_then(Value::as_object),
            "attackIndex",
            "score",
        ),
        List::TopClickers => (
            field(user, &["clickStatistics"]).and_then(Value::as_object),
            "clickCount",
            "clicks",
        ),
    }
}

/// `credential phishing (700), malware (155)`.
fn families(stats: Option<&Map<String, Value>>, count: &str) -> String {
    match stats.and_then(|s| field(s, &["families"])) {
        Some(Value::Array(families)) => families
            .iter()
            .filter_map(Value::as_object)
            .map(|f| {
                let name = text(field(f, &["name"]));
                match field(f, &[count]) {
                    Some(n) => format!("{name} ({})", text(Some(n))),
                    None => name,
                }
            })
            .collect::<Vec<_>>()
            .join(", "),
        other => names(other).join(", "),
    }
}

fn row(list: List, user: &Map<String, Value>) -> Vec<String> {
    let empty = Map::new();
    let identity = field(user, &["identity"])
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let (stats, score, count) = statistics(list, user);
    vec![
        text(field(identity, &["name"])),
        text(field(identity, &["emails"])),
        text(field(identity, &["department"])),
        text(field(identity, &["title"])),
        text(field(identity, &["vip"])),
        text(stats.and_then(|s| field(s, &[score]))),
        families(stats, count),
    ]
}

/// What tells two users apart: their identity's GUID, else their e-mail addresses, else the whole
/// entry.
fn user_key(user: &RawValue) -> String {
    let identity = member_of(user, &["identity"]);
    let guid = text(identity.as_ref().and_then(|i| i.get("guid")));
    if !guid.is_empty() {
        return format!("guid\n{guid}");
    }
    let emails = text(identity.as_ref().and_then(|i| i.get("emails")));
    if !emails.is_empty() {
        return format!("emails\n{emails}");
    }
    format!("entry\n{}", user.get())
}

/// A USERUNIQNAME per distinct e-mail address, carrying the user's statistics.
fn user_entities(list: List, users: &[Map<String, Value>]) -> Vec<Entity> {
    let empty = Map::new();
    let mut seen = HashSet::default();
    let mut entities = Vec::new();
    for user in users {
        let identity = field(user, &["identity"])
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let (stats, score, count) = statistics(list, user);
        let mut properties = Map::new();
        let score_key = match list {
            List::VeryAttacked => "ProofPointTAP_attackIndex",
            List::TopClickers => "ProofPointTAP_clickCount",
        };
        properties.insert(
            score_key.into(),
            stats
                .and_then(|s| field(s, &[score]))
                .cloned()
                .unwrap_or(Value::Null),
        );
        properties.insert(
            "ProofPointTAP_families".into(),
            json!(families(stats, count)),
        );
        properties.insert(
            "ProofPointTAP_vip".into(),
            field(identity, &["vip"]).cloned().unwrap_or(Value::Null),
        );
        let name = text(field(identity, &["name"]));
        if !name.is_empty() {
            properties.insert("ProofPointTAP_name".into(), json!(name));
        }
        for email in names(field(identity, &["emails"])) {
            if seen.insert(email.to_lowercase()) {
                entities.push(Entity::new(email, "USERUNIQNAME", properties.clone()));
            }
        }
    }
    entities
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::{parse, Section};

    fn check_of(v: Value) -> Result<(u32, usize)> {
        check(&parse::<Params, _>(
            v.as_object().unwrap().clone(),
            Section::Parameters,
        )?)
    }

    #[test]
    fn window_and_limit() {
        assert_eq!(check_of(json!({})).unwrap(), (30, 100));
        assert_eq!(
            check_of(json!({"Window": "90", "Max Results To Return": "5"})).unwrap(),
            (90, 5)
        );
        assert!(check_of(json!({"window": 7}))
            .unwrap_err()
            .message
            .contains("14, 30 or 90 days, not 7"));
        assert!(check_of(json!({"max_users": 0})).is_err());
    }

    #[test]
    fn rows_from_the_samples() {
        let body: Map<String, Value> =
            serde_json::from_str(include_str!("../../tests/fixtures/people_vap.json")).unwrap();
        let users = body["users"].as_array().unwrap();
        let r = row(List::VeryAttacked, users[1].as_object().unwrap());
        assert_eq!(r[5], "1805");
        assert_eq!(
            r[6],
            "malspam (1), malware (155), credential phishing (700)"
        );
        let body: Map<String, Value> = serde_json::from_str(include_str!(
            "../../tests/fixtures/people_top_clickers.json"
        ))
        .unwrap();
        let r = row(List::TopClickers, body["users"][0].as_object().unwrap());
        assert_eq!((r[5].as_str(), r[6].as_str()), ("2", "Malware (2)"));
    }
}
