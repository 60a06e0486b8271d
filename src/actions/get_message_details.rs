//! Get Message Details (SPEC §4.13): the TAP-specific details of one message, found by its
//! Message-ID header or its TAP GUID in the SIEM events of a window — every per-recipient event of
//! the message (delivered or blocked), the clicks on its URLs in the same window, and the summary
//! of each of its threats.
//!
//! With `message_time` the window is one hour either side of it: two or three SIEM calls.

use std::future::Future;

use futures_util::future::join_all;
use futures_util::stream::{self, StreamExt};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use time::{Duration, OffsetDateTime};

use super::context::{fatal_error, ActionDef, ActionInfo, Context, Outcome};
use super::tap_fields::{bare_message_id, field, html_escape, names, text};
use super::verdict::{is_malicious_threat, Severity};
use crate::error::{Error, ErrorCode, Result};
use crate::params::time_window::{self, TimeFrame, TimeWindow};
use crate::params::{parameters, Flag};
use crate::protocol::{Entity, ErrorEntry, Insight, JsonResult};
use crate::tap::{SiemAnswer, TapObject};

/// Get Message Details, as the registry lists it.
pub(crate) struct GetMessageDetails;

impl ActionDef for GetMessageDetails {
    const INFO: &'static ActionInfo = &ActionInfo {
        name: "get_message_details",
        display_name: "Get Message Details",
        script_name: "ProofPointTAP_GetMessageDetails",
        tool_name: "proof_point_tap_get_message_details",
        result_name: "message_details",
        description: "Get the Proofpoint TAP details of one message by its Message-ID or GUID: every per-recipient event (delivered or blocked), the clicks on its URLs in the same window, and the summary of each of its threats, with an insight and entities for recipients, sender and threats. With Message Time, 2-3 SIEM calls.",
    };
    type Params<'a> = Params;

    fn example() -> Value {
        json!({
            "action": "get_message_details",
            "case_id": "1042",
            // No Message Time: it must lie within the last 7 days, which no fixed time does for
            // long. Without it the whole week is searched.
            "parameters": {
                "Message ID": "<20210325101010.12345@mail.example>"
            }
        })
    }

    fn run<'a>(ctx: &'a Context, params: Params) -> impl Future<Output = Result<Outcome>> + 'a {
        run(ctx, params)
    }
}

parameters! {
    /// Parameters of Get Message Details.
    #[derive(Debug, Deserialize, JsonSchema)]
    #[schemars(title = "Get Message Details parameters")]
    pub struct Params {
        /// The message's Message-ID header (with or without angle brackets). Give this or GUID.
        #[param("Message ID")]
        #[serde(default)]
        pub message_id: Option<String>,
        /// The message's TAP GUID. Give this or Message ID.
        #[param("GUID")]
        #[serde(default)]
        pub guid: Option<String>,
        /// When the message was sent or received, ISO-8601: the search then covers one hour either
        /// side of it.
        #[param("Message Time")]
        #[serde(default)]
        pub message_time: Option<String>,
        /// Without Message Time, the window to search: a time frame, or a start and an end time.
        #[group]
        pub window: TimeWindow<{ TimeFrame::Last24Hours.code() }>,
        /// Create USERUNIQNAME entities for the recipients and the sender and THREATSIGNATURE
        /// entities for the threats.
        #[param("Create Entities")]
        #[serde(default = "yes")]
        pub create_entities: Flag,
    }
}

fn yes() -> Flag {
    Flag(true)
}

/// How the message is looked for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Wanted {
    /// By its Message-ID header, without angle brackets, lower-cased.
    MessageId(String),
    /// By its TAP GUID, lower-cased.
    Guid(String),
}

impl Wanted {
    fn shown(&self) -> String {
        match self {
            Wanted::MessageId(id) => format!("Message-ID <{id}>"),
            Wanted::Guid(guid) => format!("GUID {guid}"),
        }
    }

    fn matches(&self, message: &Map<String, Value>) -> bool {
        match self {
            Wanted::MessageId(id) => {
                bare_message_id(&text(field(message, &["messageID", "messageId"]))) == *id
            }
            Wanted::Guid(guid) => {
                text(field(message, &["GUID", "guid"])).eq_ignore_ascii_case(guid)
            }
        }
    }
}

/// The message asked for and the window to search.
fn plan(params: &Params, now: OffsetDateTime) -> Result<(Wanted, OffsetDateTime, OffsetDateTime)> {
    fn given(v: &Option<String>) -> Option<&str> {
        v.as_deref().map(str::trim).filter(|v| !v.is_empty())
    }
    let wanted = match (given(&params.message_id), given(&params.guid)) {
        (Some(_), Some(_)) => {
            return Err(Error::invalid_parameter(
                "Give either \"Message ID\" (message_id) or \"GUID\" (guid), not both.",
            ))
        }
        (None, None) => {
            return Err(Error::invalid_parameter(
                "Give the message's \"Message ID\" (message_id) or its \"GUID\" (guid).",
            ))
        }
        (Some(id), None) => Wanted::MessageId(bare_message_id(id)),
        (None, Some(guid)) => Wanted::Guid(guid.to_lowercase()),
    };
    let (start, end) = match given(&params.message_time) {
        Some(t) => {
            let at = time_window::parse_param(t, "\"Message Time\" (message_time)")?;
            let start = (at - Duration::HOUR).max(now - time_window::LAST_WEEK);
            let end = (at + Duration::HOUR).min(now);
            if start >= end {
                return Err(Error::invalid_parameter(format!(
                    "The parameter \"Message Time\" (message_time) must lie within the last 7 days, not {}.",
                    time_window::format(at)
                )));
            }
            (start, end)
        }
        None => params.window.resolve(None, now)?,
    };
    Ok((wanted, start, end))
}

/// The SIEM lists, by their key in an answer.
const MESSAGES: [(&str, &str); 2] = [
    ("messagesDelivered", "messages_delivered"),
    ("messagesBlocked", "messages_blocked"),
];
const CLICKS: [(&str, &str); 2] = [
    ("clicksPermitted", "clicks_permitted"),
    ("clicksBlocked", "clicks_blocked"),
];

/// What the message's events and clicks say, as read from the answers.
#[derive(Default)]
struct Found {
    messages: Vec<(TapObject, Map<String, Value>)>,
    clicks: Vec<(TapObject, Map<String, Value>)>,
    seen: Vec<String>,
}

/// Every event of `lists` in an answer, tagged with its kind, with a view of what is read.
fn events_of(
    body: &mut SiemAnswer,
    lists: &[(&str, &str)],
) -> Vec<(TapObject, Map<String, Value>)> {
    let mut out = Vec::new();
    for (key, kind) in lists {
        for mut event in body.take(key) {
            event.insert("event_type", kind);
            let mut view = event.view(&VIEWED);
            view.insert("event_type".into(), json!(kind));
            out.push((event, view));
        }
    }
    out
}

/// The members of an event this action reads.
const VIEWED: [&str; 16] = [
    "id",
    "GUID",
    "guid",
    "messageID",
    "messageId",
    "messageTime",
    "clickTime",
    "recipient",
    "sender",
    "subject",
    "url",
    "classification",
    "threatStatus",
    "threatID",
    "threatsInfoMap",
    "quarantineFolder",
];

/// Runs Get Message Details.
pub(crate) async fn run(ctx: &Context, params: Params) -> Result<Outcome> {
    let (wanted, start, end) = plan(&params, ctx.now)?;
    let client = ctx.client()?;
    let intervals = time_window::hour_slices(start, end);
    let answers: Vec<Result<SiemAnswer>> = stream::iter(intervals.iter())
        .map(|interval| client.siem(&["all"], interval, &["active", "cleared"], &[]))
        .buffered(ctx.config.max_concurrency)
        .collect()
        .await;
    if let Some(fatal) = fatal_error(answers.iter().map(|a| a.as_ref().err())) {
        return Err(fatal);
    }
    let mut errors: Vec<ErrorEntry> = Vec::new();
    let mut bodies = Vec::new();
    for (interval, answer) in intervals.iter().zip(answers) {
        match answer {
            Ok(body) => bodies.push(body),
            Err(e) => errors.push(e.with_subject(interval.clone()).into()),
        }
    }
    // The message's events first: they say which GUID and which URLs its clicks carry.
    let mut found = Found::default();
    for body in &mut bodies {
        for (event, view) in events_of(body, &MESSAGES) {
            if wanted.matches(&view) && remember(&mut found.seen, &view) {
                found.messages.push((event, view));
            }
        }
    }
    let guids: Vec<String> = found
        .messages
        .iter()
        .map(|(_, v)| text(field(v, &["GUID", "guid"])).to_lowercase())
        .filter(|g| !g.is_empty())
        .collect();
    let urls: Vec<String> = found
        .messages
        .iter()
        .flat_map(|(_, v)| threats(v))
        .map(|t| text(field(&t, &["threat"])).to_lowercase())
        .filter(|u| !u.is_empty())
        .collect();
    for body in &mut bodies {
        for (event, view) in events_of(body, &CLICKS) {
            let guid = text(field(&view, &["GUID", "guid"])).to_lowercase();
            let url = text(field(&view, &["url"])).to_lowercase();
            let ours = guids.contains(&guid) || (!url.is_empty() && urls.contains(&url));
            if ours && remember(&mut found.seen, &view) {
                found.clicks.push((event, view));
            }
        }
    }
    let calls = intervals.len();
    let between = format!(
        "between {} and {}",
        time_window::format(start),
        time_window::format(end)
    );
    let spent = format!(
        "{calls} call{} to /v2/siem/all",
        if calls == 1 { "" } else { "s" }
    );
    if found.messages.is_empty() {
        let mut message = format!(
            "No message with {} was found in ProofPoint TAP {between}; {spent}.",
            wanted.shown()
        );
        if !errors.is_empty() {
            message.push_str("\nSome intervals could not be queried (see errors).");
        }
        return Ok(Outcome {
            errors,
            ..Outcome::completed(false, message)
        });
    }

    // Each threat's summary (documented as not throttled).
    let mut threat_ids: Vec<String> = Vec::new();
    for (_, v) in &found.messages {
        for t in threats(v) {
            let id = text(field(&t, &["threatID", "threatId"]));
            if !id.is_empty() && !threat_ids.contains(&id) {
                threat_ids.push(id);
            }
        }
    }
    let slots = ctx.request_slots();
    let summaries = join_all(
        threat_ids
            .iter()
            .map(|id| slots.run(client.threat_summary(id))),
    )
    .await;
    let mut summary_list = Vec::new();
    for (id, summary) in threat_ids.iter().zip(summaries) {
        match summary {
            Ok(s) => summary_list.push(s),
            Err(e) if e.code == ErrorCode::NotFound => {}
            Err(e) => errors.push(e.with_subject(id.clone()).into()),
        }
    }

    let outcome = report(
        &wanted,
        found,
        summary_list,
        errors,
        &between,
        &spent,
        params.create_entities.0,
    );
    Ok(outcome)
}

/// Counts an event once (the same event comes back from neighbouring intervals).
fn remember(seen: &mut Vec<String>, view: &Map<String, Value>) -> bool {
    let key = format!(
        "{}\n{}\n{}",
        text(view.get("event_type")),
        text(field(view, &["id"])),
        text(field(view, &["recipient"]))
    );
    if seen.contains(&key) {
        false
    } else {
        seen.push(key);
        true
    }
}

/// A message event's threats.
fn threats(view: &Map<String, Value>) -> Vec<Map<String, Value>> {
    match field(view, &["threatsInfoMap"]) {
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_object).cloned().collect(),
        _ => Vec::new(),
    }
}

/// Whether a message event carries a malicious threat.
fn carries_malicious(view: &Map<String, Value>) -> bool {
    threats(view).iter().any(|t| {
        is_malicious_threat(
            &text(field(t, &["classification"])),
            &text(field(t, &["threatStatus"])),
        )
    })
}

/// Whether a click was on a malicious URL.
fn malicious_click(view: &Map<String, Value>) -> bool {
    is_malicious_threat(
        &text(field(view, &["classification"])),
        &text(field(view, &["threatStatus"])),
    )
}

/// The JSON result, message, insight and entities.
fn report(
    wanted: &Wanted,
    found: Found,
    summaries: Vec<TapObject>,
    errors: Vec<ErrorEntry>,
    between: &str,
    spent: &str,
    create_entities: bool,
) -> Outcome {
    let kind = |v: &Map<String, Value>| text(v.get("event_type"));
    let delivered = found
        .messages
        .iter()
        .filter(|(_, v)| kind(v) == "messages_delivered")
        .count();
    let blocked = found.messages.len() - delivered;
    let malicious = found.messages.iter().any(|(_, v)| carries_malicious(v));
    // Someone met it: the malicious message was delivered, or a malicious link clicked through.
    let exposed = found
        .messages
        .iter()
        .any(|(_, v)| kind(v) == "messages_delivered" && carries_malicious(v))
        || found
            .clicks
            .iter()
            .any(|(_, v)| kind(v) == "clicks_permitted" && malicious_click(v));
    let first = &found.messages[0].1;
    let subject = text(field(first, &["subject"]));
    let sender = text(field(first, &["sender"]));

    let mut message = format!(
        "Found the message with {} in ProofPoint TAP {between}: {} recipient event{} (delivered: {delivered}, blocked: {blocked}), {} click{} on its URLs, {} threat summar{}; {spent}.",
        wanted.shown(),
        found.messages.len(),
        if found.messages.len() == 1 { "" } else { "s" },
        found.clicks.len(),
        if found.clicks.len() == 1 { "" } else { "s" },
        summaries.len(),
        if summaries.len() == 1 { "y" } else { "ies" },
    );
    if !errors.is_empty() {
        message.push_str("\nThe result is incomplete (see errors).");
    }

    let mut html = format!(
        "<h2><strong>{}</strong></h2><p><strong>From:</strong> {}</p><ul>",
        html_escape(if subject.is_empty() {
            "(no subject)"
        } else {
            &subject
        }),
        html_escape(&sender)
    );
    for (_, v) in &found.messages {
        html.push_str(&format!(
            "<li>{} {} at {}</li>",
            html_escape(&names(field(v, &["recipient"])).join(", ")),
            if kind(v) == "messages_delivered" {
                "received it"
            } else {
                "did not get it (blocked)"
            },
            html_escape(&text(field(v, &["messageTime"])))
        ));
    }
    for (_, v) in &found.clicks {
        html.push_str(&format!(
            "<li>{} {} {} at {}</li>",
            html_escape(&text(field(v, &["recipient"]))),
            if kind(v) == "clicks_permitted" {
                "clicked"
            } else {
                "was blocked from"
            },
            html_escape(&text(field(v, &["url"]))),
            html_escape(&text(field(v, &["clickTime"])))
        ));
    }
    html.push_str("</ul>");
    let mut insight = Insight::general_html(
        format!("ProofPoint TAP: message {}", html_escape(&wanted.shown())),
        html,
    );
    insight.severity = Severity::of(malicious, exposed).as_str().into();

    let mut entities: Vec<Entity> = Vec::new();
    if create_entities {
        let mut add =
            |identifier: String, entity_type: &str, role: Option<&str>, suspicious: bool| {
                if identifier.is_empty() {
                    return;
                }
                if let Some(e) = entities.iter_mut().find(|e| {
                    e.entity_type == entity_type && e.identifier.eq_ignore_ascii_case(&identifier)
                }) {
                    e.is_suspicious |= suspicious;
                    return;
                }
                let mut extra = Map::new();
                if let Some(role) = role {
                    extra.insert("role".into(), json!(role));
                }
                let mut entity = Entity::new(identifier, entity_type, extra);
                entity.is_suspicious = suspicious;
                entities.push(entity);
            };
        for (_, v) in &found.messages {
            let exposed = kind(v) == "messages_delivered" && carries_malicious(v);
            for r in names(field(v, &["recipient"])) {
                add(r, "USERUNIQNAME", Some("recipient"), exposed);
            }
        }
        for (_, v) in &found.clicks {
            let exposed = kind(v) == "clicks_permitted" && malicious_click(v);
            add(
                text(field(v, &["recipient"])),
                "USERUNIQNAME",
                Some("recipient"),
                exposed,
            );
        }
        add(sender.clone(), "USERUNIQNAME", Some("sender"), false);
        for (_, v) in &found.messages {
            for t in threats(v) {
                let bad = is_malicious_threat(
                    &text(field(&t, &["classification"])),
                    &text(field(&t, &["threatStatus"])),
                );
                add(
                    text(field(&t, &["threatID", "threatId"])),
                    "THREATSIGNATURE",
                    None,
                    bad,
                );
            }
        }
    }

    #[derive(Serialize)]
    struct Details<'a> {
        found_by: String,
        messages: Vec<&'a TapObject>,
        clicks: Vec<&'a TapObject>,
        threats: &'a [TapObject],
        #[serde(skip_serializing_if = "Option::is_none")]
        complete: Option<bool>,
        #[serde(skip_serializing_if = "Option::is_none")]
        incomplete_reason: Option<&'static str>,
    }
    let details = Details {
        found_by: wanted.shown(),
        messages: found.messages.iter().map(|(e, _)| e).collect(),
        clicks: found.clicks.iter().map(|(e, _)| e).collect(),
        threats: &summaries,
        complete: (!errors.is_empty()).then_some(false),
        incomplete_reason: (!errors.is_empty())
            .then_some("part of the window or a threat summary could not be fetched (see errors)"),
    };
    Outcome {
        json_result: JsonResult::raw(&details),
        insights: vec![insight],
        entities,
        errors,
        ..Outcome::completed(true, message)
    }
}
