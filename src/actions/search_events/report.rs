//! What Search Events reports from the events it fetched: the message, the JSON result, the table,
//! the insight and the entities.

use std::collections::hash_map::Entry;

use foldhash::HashMap;
use serde_json::{json, Map};

use super::event::{Event, Field};
use super::{Kind, Plan};
use crate::actions::context::Outcome;
use crate::actions::tap_fields::html_escape;
use crate::actions::verdict::Severity;
use crate::params::time_window;
use crate::protocol::{Entity, ErrorEntry, Insight, JsonResult, Row, StreamedJson, Table};

pub(super) fn outcome(
    plan: &Plan,
    events: Vec<Event>,
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
            let n = events.iter().filter(|e| e.kind == *k).count();
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

    let insights = insight(&events).into_iter().collect();
    let entities = if plan.entities {
        entities(&events)
    } else {
        Vec::new()
    };
    let found = !events.is_empty();
    let (clicks, messages): (Vec<&Event>, Vec<&Event>) = events.iter().partition(|e| e.is_click());
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
                    Row::new([
                        e.get(Field::Time),
                        e.kind.name(),
                        &e.recipients_text(),
                        e.get(Field::Url),
                        e.get(Field::Classification),
                        e.get(Field::ThreatStatus),
                        e.get(Field::ClickIp),
                        e.get(Field::Campaign),
                    ])
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
                    let mut classes: Vec<&str> = e.threats().map(|t| t.classification).collect();
                    classes.dedup();
                    let threats: Vec<&str> = e.threats().map(|t| t.threat).collect();
                    Row::new([
                        e.get(Field::Time),
                        e.kind.name(),
                        e.get(Field::Sender),
                        &e.recipients_text(),
                        e.get(Field::Subject),
                        &threats.join(", "),
                        &classes.join(", "),
                        e.get(Field::Quarantine),
                    ])
                })
                .collect(),
        });
    }
    let events = events.into_iter().map(Event::into_text).collect();
    Outcome {
        json_result: events_result(
            events,
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
fn insight(events: &[Event]) -> Option<Insight> {
    let malicious: Vec<&Event> = events.iter().filter(|e| e.is_malicious()).collect();
    if malicious.is_empty() {
        return None;
    }
    let mut html = format!(
        "<h2><strong>{} malicious event{}</strong></h2><ul>",
        malicious.len(),
        if malicious.len() == 1 { "" } else { "s" }
    );
    for e in malicious.iter().take(50) {
        let line = if e.is_click() {
            format!(
                "{} {} {} at {} ({})",
                e.recipients_text(),
                if e.kind == Kind::ClicksPermitted {
                    "clicked"
                } else {
                    "was blocked from"
                },
                e.get(Field::Url),
                e.get(Field::Time),
                e.get(Field::Classification)
            )
        } else {
            format!(
                "\"{}\" from {} to {} {} at {}",
                e.get(Field::Subject),
                e.get(Field::Sender),
                e.recipients_text(),
                if e.kind == Kind::MessagesDelivered {
                    "was delivered"
                } else {
                    "was blocked"
                },
                e.get(Field::Time)
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
    let exposed = malicious.iter().any(|e| e.is_exposure());
    insight.severity = Severity::of(true, exposed).as_str().into();
    Some(insight)
}

/// DestinationURL per click URL, USERUNIQNAME per recipient and sender, THREATSIGNATURE per
/// threat id; distinct, with the earliest event time as `first_seen`.
fn entities<'a>(events: &'a [Event]) -> Vec<Entity> {
    // (identifier, type, role, first seen, suspicious), in the order first met
    let mut found: Vec<(&'a str, &'static str, Option<&'static str>, &'a str, bool)> = Vec::new();
    // Where each (type, lower-cased identifier) is in `found`: a week of events can name
    // thousands of distinct URLs and people, and a search of the list for each was quadratic.
    let mut index: HashMap<(&'static str, String), usize> = HashMap::default();
    let mut add = |identifier: &'a str,
                   entity_type: &'static str,
                   role: Option<&'static str>,
                   time: &'a str,
                   suspicious: bool| {
        if identifier.is_empty() {
            return;
        }
        match index.entry((entity_type, identifier.to_lowercase())) {
            Entry::Occupied(at) => {
                let entry = &mut found[*at.get()];
                if time < entry.3 && !time.is_empty() {
                    entry.3 = time;
                }
                entry.4 |= suspicious;
            }
            Entry::Vacant(slot) => {
                slot.insert(found.len());
                found.push((identifier, entity_type, role, time, suspicious));
            }
        }
    };
    for e in events {
        let time = e.get(Field::Time);
        let malicious = e.is_malicious();
        if e.is_click() {
            add(e.get(Field::Url), "DestinationURL", None, time, malicious);
        }
        // A recipient is suspicious when they met the threat: clicked it, or got the message.
        for recipient in e.recipients() {
            let exposed = malicious && e.is_exposure();
            add(recipient, "USERUNIQNAME", Some("recipient"), time, exposed);
        }
        add(
            e.get(Field::Sender),
            "USERUNIQNAME",
            Some("sender"),
            time,
            false,
        );
        add(
            e.get(Field::ThreatId),
            "THREATSIGNATURE",
            None,
            time,
            malicious,
        );
        for t in e.threats() {
            add(t.threat_id, "THREATSIGNATURE", None, time, t.is_malicious());
        }
    }
    found
        .into_iter()
        .map(|(identifier, entity_type, role, first_seen, suspicious)| {
            let mut extra = Map::with_capacity(2);
            if let Some(role) = role {
                extra.insert("role".into(), json!(role));
            }
            extra.insert("first_seen".into(), json!(first_seen));
            let mut entity = Entity::new(identifier.to_owned(), entity_type, extra);
            entity.is_suspicious = suspicious;
            entity
        })
        .collect()
}

/// `{"events": [...]}`, the events as TAP sent them, each with its `event_type`; with
/// `"complete": false` and the reason when some were not fetched (SPEC §4.12). Written straight
/// into the envelope from each event's JSON text: a week of events is tens of MiB.
fn events_result(events: Vec<Box<str>>, incomplete: Option<&'static str>) -> Option<JsonResult> {
    #[derive(Debug)]
    struct Result {
        events: Vec<Box<str>>,
        incomplete: Option<&'static str>,
    }
    impl StreamedJson for Result {
        fn write_json(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
            out.write_all(b"{\"events\":[")?;
            for (i, event) in self.events.iter().enumerate() {
                if i > 0 {
                    out.write_all(b",")?;
                }
                out.write_all(event.as_bytes())?;
            }
            out.write_all(b"]")?;
            if let Some(reason) = self.incomplete {
                out.write_all(b",\"complete\":false,\"incomplete_reason\":")?;
                serde_json::to_writer(&mut *out, reason)?;
            }
            out.write_all(b"}")
        }
    }
    JsonResult::streamed(Result { events, incomplete })
}
