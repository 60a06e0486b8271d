//! What Search Events reports from the events it fetched: the message, the JSON result, the table,
//! the insight and the entities.

use std::collections::hash_map::Entry;

use foldhash::HashMap;
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::Plan;
use crate::actions::context::Outcome;
use crate::actions::tap_fields::{field, html_escape, names, text};
use crate::actions::verdict::{is_malicious_threat, Severity};
use crate::params::time_window;
use crate::protocol::{Entity, ErrorEntry, Insight, JsonResult, StreamedJson, Table};
use crate::tap::TapObject;

fn event_time(event: &Map<String, Value>) -> String {
    text(field(event, &["clickTime", "messageTime", "threatTime"]))
}

/// Whether an event concerns a malicious threat (SPEC §4.10): its own classification and status
/// (a click), or any of its message's threats.
fn is_malicious(event: &Map<String, Value>) -> bool {
    let judged = |o: &Map<String, Value>| {
        is_malicious_threat(
            &text(field(o, &["classification"])),
            &text(field(o, &["threatStatus"])),
        )
    };
    if judged(event) {
        return true;
    }
    match field(event, &["threatsInfoMap"]) {
        Some(Value::Array(threats)) => threats.iter().filter_map(Value::as_object).any(judged),
        _ => false,
    }
}

/// Whether someone met what the event concerns: a permitted click, a delivered message.
fn is_exposure(event: &Map<String, Value>) -> bool {
    matches!(
        kind_of(event).as_str(),
        "clicks_permitted" | "messages_delivered"
    )
}

fn kind_of(event: &Map<String, Value>) -> String {
    text(event.get("event_type"))
}

pub(super) fn outcome(
    plan: &Plan,
    raw_events: Vec<TapObject>,
    events: Vec<Map<String, Value>>,
    errors: Vec<ErrorEntry>,
    calls: usize,
    stopped_early: bool,
) -> Outcome {
    let between = format!(
        "between {} and {}",
        time_window::format(plan.start),
        time_window::format(plan.end)
    );
    let spent = format!(
        "{calls} call{} to {} (each counts against TAP's daily quota of 1 800)",
        if calls == 1 { "" } else { "s" },
        plan.endpoint_path()
    );
    let counts: Vec<String> = plan
        .kinds
        .iter()
        .map(|k| {
            let n = events.iter().filter(|e| kind_of(e) == k.name()).count();
            format!("{}: {n}", k.name().replace('_', " "))
        })
        .collect();
    let mut message = if events.is_empty() {
        format!("No events were found in ProofPoint TAP {between}; {spent}.")
    } else {
        format!(
            "Found {} event{} in ProofPoint TAP {between} ({}); {spent}.",
            events.len(),
            if events.len() == 1 { "" } else { "s" },
            counts.join(", ")
        )
    };
    if stopped_early {
        message.push_str(&format!(
            "\nStopped at {} events (Max Events): older intervals were not queried.",
            plan.max
        ));
    }
    if !errors.is_empty() {
        message.push_str(
            "\nThe result is incomplete: some intervals could not be queried (see errors).",
        );
    }
    if !plan.hunt.is_empty() {
        message.push_str("\nOnly the events that pass the hunting filters are counted and listed.");
    }

    let clicks: Vec<&Map<String, Value>> = events
        .iter()
        .filter(|e| kind_of(e).starts_with("clicks"))
        .collect();
    let messages: Vec<&Map<String, Value>> = events
        .iter()
        .filter(|e| kind_of(e).starts_with("messages"))
        .collect();
    let mut tables = Vec::new();
    if !clicks.is_empty() {
        tables.push(Table {
            title: "Clicks".into(),
            columns: [
                "Time",
                "Type",
                "Recipient",
                "URL",
                "Classification",
                "Threat Status",
                "Click IP",
                "Campaign",
            ]
            .map(String::from)
            .to_vec(),
            rows: clicks
                .iter()
                .map(|e| {
                    vec![
                        event_time(e),
                        kind_of(e),
                        text(field(e, &["recipient"])),
                        text(field(e, &["url"])),
                        text(field(e, &["classification"])),
                        text(field(e, &["threatStatus"])),
                        text(field(e, &["clickIP"])),
                        text(field(e, &["campaignId", "campaignID"])),
                    ]
                })
                .collect(),
        });
    }
    if !messages.is_empty() {
        tables.push(Table {
            title: "Messages".into(),
            columns: [
                "Time",
                "Type",
                "Sender",
                "Recipients",
                "Subject",
                "Threats",
                "Classification",
                "Quarantine",
            ]
            .map(String::from)
            .to_vec(),
            rows: messages
                .iter()
                .map(|e| {
                    let threats: Vec<&Map<String, Value>> = match field(e, &["threatsInfoMap"]) {
                        Some(Value::Array(t)) => t.iter().filter_map(Value::as_object).collect(),
                        _ => Vec::new(),
                    };
                    let mut classes: Vec<String> = threats
                        .iter()
                        .map(|t| text(field(t, &["classification"])))
                        .collect();
                    classes.dedup();
                    vec![
                        event_time(e),
                        kind_of(e),
                        text(field(e, &["sender"])),
                        names(field(e, &["recipient"])).join(", "),
                        text(field(e, &["subject"])),
                        threats
                            .iter()
                            .map(|t| text(field(t, &["threat"])))
                            .collect::<Vec<_>>()
                            .join(", "),
                        classes.join(", "),
                        text(field(e, &["quarantineFolder"])),
                    ]
                })
                .collect(),
        });
    }
    let insights = insight(&events).into_iter().collect();
    let entities = if plan.entities {
        entities(&events)
    } else {
        Vec::new()
    };
    let found = !events.is_empty();
    Outcome {
        json_result: events_result(
            raw_events,
            (!errors.is_empty()).then_some("some intervals could not be queried (see errors)"),
        ),
        insights,
        entities,
        tables,
        errors,
        ..Outcome::completed(found, message)
    }
}

/// One insight when anything malicious turned up: who clicked what, and which malicious messages
/// reached whom. Every TAP string is escaped.
fn insight(events: &[Map<String, Value>]) -> Option<Insight> {
    let malicious: Vec<&Map<String, Value>> = events.iter().filter(|e| is_malicious(e)).collect();
    if malicious.is_empty() {
        return None;
    }
    let mut html = format!(
        "<h2><strong>{} malicious event{}</strong></h2><ul>",
        malicious.len(),
        if malicious.len() == 1 { "" } else { "s" }
    );
    for e in malicious.iter().take(50) {
        let kind = kind_of(e);
        let line = if kind.starts_with("clicks") {
            format!(
                "{} {} {} at {} ({})",
                text(field(e, &["recipient"])),
                if kind == "clicks_permitted" {
                    "clicked"
                } else {
                    "was blocked from"
                },
                text(field(e, &["url"])),
                event_time(e),
                text(field(e, &["classification"]))
            )
        } else {
            format!(
                "\"{}\" from {} to {} {} at {}",
                text(field(e, &["subject"])),
                text(field(e, &["sender"])),
                names(field(e, &["recipient"])).join(", "),
                if kind == "messages_delivered" {
                    "was delivered"
                } else {
                    "was blocked"
                },
                event_time(e)
            )
        };
        html.push_str(&format!("<li>{}</li>", html_escape(&line)));
    }
    html.push_str("</ul>");
    if malicious.len() > 50 {
        html.push_str(&format!(
            "<p>and {} more (see the JSON result)</p>",
            malicious.len() - 50
        ));
    }
    let mut insight = Insight::general_html("ProofPoint TAP: malicious clicks and messages", html);
    // Critical when someone was exposed: a permitted click, a delivered message.
    let exposed = malicious.iter().any(|e| is_exposure(e));
    insight.severity = Severity::of(true, exposed).as_str().into();
    Some(insight)
}

/// DestinationURL per click URL, USERUNIQNAME per recipient and sender, THREATSIGNATURE per
/// threat id; distinct, with the earliest event time as `first_seen`.
fn entities(events: &[Map<String, Value>]) -> Vec<Entity> {
    // (identifier, type, role, first seen, suspicious), in the order first met
    let mut found: Vec<(String, &'static str, Option<&'static str>, String, bool)> = Vec::new();
    // Where each (type, lower-cased identifier) is in `found`: a week of events can name
    // thousands of distinct URLs and people, and a search of the list for each was quadratic.
    let mut index: HashMap<(&'static str, String), usize> = HashMap::default();
    let mut add = |identifier: String,
                   entity_type: &'static str,
                   role: Option<&'static str>,
                   time: &str,
                   suspicious: bool| {
        if identifier.is_empty() {
            return;
        }
        match index.entry((entity_type, identifier.to_lowercase())) {
            Entry::Occupied(at) => {
                let entry = &mut found[*at.get()];
                if time < entry.3.as_str() && !time.is_empty() {
                    entry.3 = time.to_owned();
                }
                entry.4 |= suspicious;
            }
            Entry::Vacant(slot) => {
                slot.insert(found.len());
                found.push((identifier, entity_type, role, time.to_owned(), suspicious));
            }
        }
    };
    for e in events {
        let time = event_time(e);
        let malicious = is_malicious(e);
        if kind_of(e).starts_with("clicks") {
            add(
                text(field(e, &["url"])),
                "DestinationURL",
                None,
                &time,
                malicious,
            );
        }
        // A recipient is suspicious when they met the threat: clicked it, or got the message.
        for recipient in names(field(e, &["recipient"])) {
            let exposed = malicious && is_exposure(e);
            add(recipient, "USERUNIQNAME", Some("recipient"), &time, exposed);
        }
        add(
            text(field(e, &["sender"])),
            "USERUNIQNAME",
            Some("sender"),
            &time,
            false,
        );
        add(
            text(field(e, &["threatID", "threatId"])),
            "THREATSIGNATURE",
            None,
            &time,
            malicious,
        );
        if let Some(Value::Array(threats)) = field(e, &["threatsInfoMap"]) {
            for t in threats.iter().filter_map(Value::as_object) {
                let threat_malicious = is_malicious_threat(
                    &text(field(t, &["classification"])),
                    &text(field(t, &["threatStatus"])),
                );
                add(
                    text(field(t, &["threatID", "threatId"])),
                    "THREATSIGNATURE",
                    None,
                    &time,
                    threat_malicious,
                );
            }
        }
    }
    found
        .into_iter()
        .map(|(identifier, entity_type, role, first_seen, suspicious)| {
            let mut extra = Map::new();
            if let Some(role) = role {
                extra.insert("role".into(), json!(role));
            }
            extra.insert("first_seen".into(), json!(first_seen));
            let mut entity = Entity::new(identifier, entity_type, extra);
            entity.is_suspicious = suspicious;
            entity
        })
        .collect()
}

/// `{"events": [...]}`, the events as TAP sent them, each with its `event_type`; with
/// `"complete": false` and the reason when some were not fetched (SPEC §4.12). Written straight
/// into the envelope: a week of events is tens of MiB.
fn events_result(events: Vec<TapObject>, incomplete: Option<&'static str>) -> Option<JsonResult> {
    #[derive(Debug)]
    struct Result {
        events: Vec<TapObject>,
        incomplete: Option<&'static str>,
    }
    impl StreamedJson for Result {
        fn write_json(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
            #[derive(Serialize)]
            struct Events<'a> {
                events: &'a [TapObject],
                #[serde(skip_serializing_if = "Option::is_none")]
                complete: Option<bool>,
                #[serde(skip_serializing_if = "Option::is_none")]
                incomplete_reason: Option<&'a str>,
            }
            let result = Events {
                events: &self.events,
                complete: self.incomplete.map(|_| false),
                incomplete_reason: self.incomplete,
            };
            serde_json::to_writer(out, &result).map_err(std::io::Error::from)
        }
    }
    JsonResult::streamed(Result { events, incomplete })
}
