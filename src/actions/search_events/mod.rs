//! Search Events (SPEC §4.7): SIEM clicks and messages for a window of at most 7 days, one call per
//! interval of at most an hour, newest first, concurrently, stopping once `max_events` are in hand —
//! the "clicks permitted" feed threat-intelligence platforms ingest, as a playbook action.

use std::future::Future;
use std::sync::atomic::Ordering;

use futures_util::stream::{self, StreamExt};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::context::{fatal_error, ActionDef, ActionInfo, Context, Outcome};

use crate::error::{Error, Result};
use crate::params::parameters;
use crate::params::time_window::{self, TimeFrame, TimeWindow};
use crate::params::{fold_choice, Flag, Integer, List};
use crate::protocol::ErrorEntry;
use crate::tap::{parse_json, SiemAnswer, SiemEvent};
use event::{Event, Field};
use foldhash::HashSet;

/// Search Events, as the registry lists it.
pub(crate) struct SearchEvents;

impl ActionDef for SearchEvents {
    const INFO: &'static ActionInfo = &ActionInfo {
        name: "search_events",
        display_name: "Search Events",
        script_name: "ProofPointTAP_SearchEvents",
        tool_name: "proof_point_tap_search_events",
        result_name: "events",
        description: "Search the Proofpoint TAP SIEM API for clicks and messages in a window of the last 7 days (permitted clicks on malicious links, blocked clicks, delivered and blocked messages), with entities, tables and an insight when something malicious was found.",
    };
    type Params<'a> = Params<'a>;

    fn example() -> Value {
        json!({
            "action": "search_events",
            "case_id": "1042",
            "parameters": {
                "Event Types": "Clicks Permitted",
                "Threat Status": "active",
                "Time Frame": "Last 6 Hours",
                "Max Events": 500,
                "Create Entities": true
            }
        })
    }

    fn run<'a>(ctx: &'a Context, params: Params<'a>) -> impl Future<Output = Result<Outcome>> + 'a {
        run(ctx, params)
    }
}

parameters! {
    /// Parameters of Search Events.
    #[derive(Debug, Deserialize, JsonSchema)]
    #[schemars(title = "Search Events parameters")]
    pub(crate) struct Params<'a> {
        /// Which events: clicks_permitted, clicks_blocked, messages_delivered, messages_blocked,
        /// issues (permitted clicks and delivered messages), or all.
        #[param("Event Types", aliases = ["Event Type", "event_type"])]
        #[serde(default = "all")]
        #[schemars(extend(
            "x-allowed-values" = ["all", "clicks_permitted", "clicks_blocked", "messages_delivered", "messages_blocked", "issues"]
        ))]
        #[serde(borrow)]
        pub event_types: List<'a>,
        /// Threat statuses: active, cleared, false_positive; empty or "Select One" means active and cleared.
        #[param("Threat Status")]
        #[serde(default)]
        #[schemars(extend("x-allowed-values" = ["active", "cleared", "false_positive"]))]
        #[serde(borrow)]
        pub threat_status: List<'a>,
        /// Threat types: url, attachment, message_text; empty means all.
        #[param("Threat Type")]
        #[serde(default)]
        #[schemars(extend("x-allowed-values" = ["url", "attachment", "message_text"]))]
        #[serde(borrow)]
        pub threat_type: List<'a>,
        /// The window: a time frame, or a start and an end time.
        #[group]
        pub window: TimeWindow<{ TimeFrame::LastHour.code() }>,
        /// A window of this many minutes up to now (1..=10080), instead of a time frame.
        #[param("Since Minutes", range = 1..=10080)]
        #[serde(default)]
        pub since_minutes: Option<Integer>,
        /// At most this many events (1..=10000); intervals are queried newest first and no call is made
        /// once this many are in hand.
        #[param(
            "Max Events",
            aliases = ["max_results_to_return", "Max Results To Return"],
            range = 1..=10000
        )]
        #[serde(default = "default_max")]
        pub max_events: Integer,
        /// Create DestinationURL, USERUNIQNAME and THREATSIGNATURE entities from the events.
        #[param("Create Entities")]
        #[serde(default = "yes")]
        pub create_entities: Flag,
        /// Filters applied to the events TAP returns: recipient, sender, URL, threat, campaign,
        /// message.
        #[group]
        #[serde(borrow)]
        pub hunt: HuntParams<'a>,
    }
}

fn all() -> List<'static> {
    List::Text("all".into())
}
fn default_max() -> Integer {
    Integer(100)
}
fn yes() -> Flag {
    Flag(true)
}

/// The kinds of SIEM event, with their key in the API's body and their endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
enum Kind {
    ClicksPermitted,
    ClicksBlocked,
    MessagesDelivered,
    MessagesBlocked,
}

const KINDS: [Kind; 4] = [
    Kind::ClicksPermitted,
    Kind::ClicksBlocked,
    Kind::MessagesDelivered,
    Kind::MessagesBlocked,
];

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::ClicksPermitted => "clicks_permitted",
            Kind::ClicksBlocked => "clicks_blocked",
            Kind::MessagesDelivered => "messages_delivered",
            Kind::MessagesBlocked => "messages_blocked",
        }
    }
    /// The name as a JSON string.
    fn json_name(self) -> &'static str {
        match self {
            Kind::ClicksPermitted => "\"clicks_permitted\"",
            Kind::ClicksBlocked => "\"clicks_blocked\"",
            Kind::MessagesDelivered => "\"messages_delivered\"",
            Kind::MessagesBlocked => "\"messages_blocked\"",
        }
    }
    fn body_key(self) -> &'static str {
        match self {
            Kind::ClicksPermitted => "clicksPermitted",
            Kind::ClicksBlocked => "clicksBlocked",
            Kind::MessagesDelivered => "messagesDelivered",
            Kind::MessagesBlocked => "messagesBlocked",
        }
    }
}

/// The checked request.
#[derive(Debug)]
struct Plan {
    kinds: Vec<Kind>,
    /// The hunting filters, applied to the events as they come.
    hunt: Hunt,
    endpoint: &'static [&'static str],
    statuses: Vec<&'static str>,
    types: Vec<&'static str>,
    start: OffsetDateTime,
    end: OffsetDateTime,
    max: usize,
    entities: bool,
}

impl Plan {
    /// The window in equal slices of at most an hour, newest first.
    fn intervals(&self) -> Vec<String> {
        time_window::hour_slices(self.start, self.end)
    }

    fn endpoint_path(&self) -> String {
        format!("/v2/siem/{}", self.endpoint.join("/"))
    }
}

fn pick<'a>(values: &[String], allowed: &[(&str, &'a str)], label: &str) -> Result<Vec<&'a str>> {
    let mut out = Vec::new();
    for value in values {
        let folded = fold_choice(value);
        let Some((_, api)) = allowed.iter().find(|(k, _)| *k == folded) else {
            let accepted: Vec<&str> = allowed.iter().map(|(k, _)| *k).collect();
            return Err(Error::invalid_parameter(format!(
                "The parameter {label} holds the unknown value \"{value}\". Accepted: {}.",
                accepted.join(", ")
            )));
        };
        if !out.contains(api) {
            out.push(*api);
        }
    }
    Ok(out)
}

fn plan(params: &Params, now: OffsetDateTime) -> Result<Plan> {
    let max = params.max_events.0;
    let chosen = pick(
        &params.event_types.split_commas(),
        &[
            ("all", "all"),
            ("issues", "issues"),
            ("clicks_permitted", "clicks_permitted"),
            ("clicks_blocked", "clicks_blocked"),
            ("messages_delivered", "messages_delivered"),
            ("messages_blocked", "messages_blocked"),
        ],
        "\"Event Types\" (event_types)",
    )?;
    let mut kinds: Vec<Kind> = Vec::new();
    for c in &chosen {
        let add: &[Kind] = match *c {
            "all" => &KINDS,
            "issues" => &[Kind::ClicksPermitted, Kind::MessagesDelivered],
            // `pick` accepted only the names above and the kinds' own names.
            name => match KINDS.iter().find(|k| k.name() == name) {
                Some(kind) => std::slice::from_ref(kind),
                None => &[],
            },
        };
        for k in add {
            if !kinds.contains(k) {
                kinds.push(*k);
            }
        }
    }
    if kinds.is_empty() {
        kinds = KINDS.to_vec();
    }
    kinds.sort_by_key(|k| KINDS.iter().position(|x| x == k));
    // One call per interval whatever the selection: the specific endpoint when it returns exactly
    // what was asked, else /v2/siem/all with the rest left out here.
    let endpoint: &'static [&'static str] = match kinds.as_slice() {
        [Kind::ClicksPermitted] => &["clicks", "permitted"],
        [Kind::ClicksBlocked] => &["clicks", "blocked"],
        [Kind::MessagesDelivered] => &["messages", "delivered"],
        [Kind::MessagesBlocked] => &["messages", "blocked"],
        [Kind::ClicksPermitted, Kind::MessagesDelivered] => &["issues"],
        _ => &["all"],
    };
    let statuses: Vec<String> = params
        .threat_status
        .split_commas()
        .into_iter()
        .filter(|s| fold_choice(s) != "select_one")
        .collect();
    let mut statuses = pick(
        &statuses,
        &[
            ("active", "active"),
            ("cleared", "cleared"),
            ("false_positive", "falsePositive"),
            ("falsepositive", "falsePositive"),
        ],
        "\"Threat Status\" (threat_status)",
    )?;
    if statuses.is_empty() {
        statuses = vec!["active", "cleared"];
    }
    let types = pick(
        &params.threat_type.split_commas(),
        &[
            ("url", "url"),
            ("attachment", "attachment"),
            ("message_text", "messageText"),
            ("messagetext", "messageText"),
        ],
        "\"Threat Type\" (threat_type)",
    )?;
    let (start, end) = params
        .window
        .resolve(params.since_minutes.map(|m| m.0), now)?;
    Ok(Plan {
        kinds,
        hunt: Hunt::default(),
        endpoint,
        statuses,
        types,
        start,
        end,
        max: max as usize,
        entities: params.create_entities.0,
    })
}

/// Runs Search Events.
pub(crate) async fn run(ctx: &Context, params: Params<'_>) -> Result<Outcome> {
    let mut plan = plan(&params, ctx.now)?;
    plan.hunt = params.hunt.hunt(&ctx.entities);
    let client = ctx.client()?;
    let intervals = plan.intervals();
    // Calls spent are the requests actually sent, retries included: each one counts.
    let sent_before = ctx.http_requests.load(Ordering::Relaxed);
    // `buffered` keeps up to max_concurrency calls in flight and yields them in order, newest
    // interval first; leaving the loop drops the rest, so no further call starts. (Letting calls
    // run further ahead of the one awaited was a few per cent faster at 50 ms latency, but
    // spends more of the daily quota when max_events stops the run early, as it usually does.)
    let mut answers = stream::iter(intervals.iter())
        .map(|interval| {
            let plan = &plan;
            async move {
                // The call's slot is free once the body is in: reading it goes on off the
                // runtime thread while the next call is made. What the report reads of each
                // event is found then too, and each event is kept as the JSON text the result
                // writes: one allocation per event, not one per member.
                let answer = client
                    .siem_body(plan.endpoint, interval, &plan.statuses, &plan.types)
                    .await
                    .map(|body| {
                        let (kinds, hunt) = (plan.kinds.clone(), plan.hunt.clone());
                        ctx.started_off_thread(move || {
                            parse_json(&body).map(|answer| split_answer(answer, &kinds, &hunt))
                        })
                    });
                (interval, answer)
            }
        })
        .buffered(ctx.config.max_concurrency);

    let mut events: Vec<Event> = Vec::new();
    let mut seen = HashSet::default();
    let mut errors: Vec<ErrorEntry> = Vec::new();
    let mut failures: Vec<Error> = Vec::new();
    let mut answered = 0usize;
    let mut stopped_early = false;
    while let Some((interval, answer)) = answers.next().await {
        let answer = match answer {
            Ok(reading) => reading.await.and_then(|read| read),
            Err(e) => Err(e),
        };
        match answer {
            Ok(fetched) => {
                answered += 1;
                for (key, event) in fetched {
                    if seen.insert(key) {
                        events.push(event);
                    }
                }
            }
            Err(e) => {
                failures.push(e.clone());
                errors.push(e.with_subject(interval.clone()).into());
            }
        }
        if events.len() >= plan.max {
            stopped_early = answered + failures.len() < intervals.len();
            break;
        }
    }
    drop(answers);
    if answered == 0 {
        if let Some(fatal) = fatal_error(failures.iter().map(Some)) {
            return Err(fatal);
        }
    }
    if let Some(e) = failures
        .iter()
        .find(|e| e.code == crate::error::ErrorCode::Unauthorized)
    {
        return Err(Error::new(e.code, e.message.clone()));
    }
    // Newest first: the ISO-8601 times TAP sends sort as text.
    drop(seen);
    sort_moving_once(&mut events, |a, b| {
        b.get(Field::Time).cmp(a.get(Field::Time))
    });
    events.truncate(plan.max);
    events.shrink_to_fit();
    let calls = (ctx.http_requests.load(Ordering::Relaxed) - sent_before) as usize;
    Ok(outcome(&plan, events, errors, calls, stopped_early))
}

/// Sorts `items` as a stable sort by `compare` does, moving each item at most once: the order
/// is found on positions, then applied in place, so there is no scratch copy of the items (a
/// week's events are thousands, and the stable sort's scratch space is as large as half of them).
fn sort_moving_once<T>(items: &mut [T], mut compare: impl FnMut(&T, &T) -> std::cmp::Ordering) {
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by(|&a, &b| compare(&items[a], &items[b]));
    // Position k is to hold the item now at order[k]: each cycle of that mapping is followed
    // once, and each position marked done as it is filled.
    for start in 0..order.len() {
        let mut k = start;
        loop {
            let from = order[k];
            order[k] = k;
            if from == start {
                break;
            }
            items.swap(k, from);
            k = from;
        }
    }
}

/// The events of an answer that pass the hunting filters, each kind's list in turn; CPU work for
/// a big answer, run off the runtime thread.
fn split_answer(
    mut answer: SiemAnswer<SiemEvent>,
    kinds: &[Kind],
    hunt: &Hunt,
) -> Vec<(String, Event)> {
    let mut out = Vec::new();
    for kind in kinds {
        for event in answer.take(kind.body_key()) {
            if !hunt.is_empty() && !hunt.matches(&event.to_object()) {
                continue;
            }
            let key = dedup_key(kind.name(), &event);
            let event = event.tagged("event_type", kind.json_name());
            out.push((key, Event::of(event, *kind)));
        }
    }
    out
}

/// What makes two events the same (SPEC §4.7): the same event can come back in neighbouring
/// intervals. Not the GUID: TAP sends one message event per recipient, all with the message's
/// GUID. An event's `id` within its kind; without an id, the whole event.
fn dedup_key(kind: &str, event: &SiemEvent) -> String {
    let id = event.text_of(&["id"]);
    if id.is_empty() {
        format!("{kind}\nevent\n{}", event.text())
    } else {
        format!("{kind}\nid\n{id}")
    }
}

mod event;
mod hunt;
mod report;
use hunt::{Hunt, HuntParams};
use report::outcome;
#[cfg(test)]
mod tests;
