//! What the tables, the insight and the entities of Search Events read of an event: its fields as
//! text, read once from TAP's JSON as the answer arrives. (A map of parsed values per event cost
//! more than the rest of the run, and several times the memory of the events themselves.)

use crate::actions::tap_fields::{push_names_of_json, push_text_of_json};
use crate::actions::verdict::is_malicious_threat;
use crate::tap::{objects_in, pick_in, SiemEvent};

/// The fields of one event, as table text: one text of them all, one after another, and where
/// each ends (a week is thousands of events; a string of its own for each field was most of the
/// memory the report held besides the events).
#[derive(Debug)]
pub(super) struct Facts {
    /// The kind, as the result tags it (`clicks_permitted`, ...).
    pub(super) kind: &'static str,
    text: Box<str>,
    /// Where each field ends in `text`: the [`Field`]s, then the recipients, then four for each
    /// of a message's threats.
    ends: Box<[u32]>,
    /// How many recipients there are.
    recipients: u32,
}

/// The fields of [`Facts`] read once per event, in the order they are kept.
#[derive(Debug, Clone, Copy)]
pub(super) enum Field {
    /// `clickTime`, else `messageTime`, else `threatTime`.
    Time,
    Url,
    Sender,
    Subject,
    Classification,
    ThreatStatus,
    ThreatId,
    ClickIp,
    Campaign,
    Quarantine,
}

/// How many [`Field`]s there are.
const FIELDS: usize = 10;

/// The members an event is read for, each by its spellings: the [`Field`]s in their order, then
/// the recipients and the threats.
const EVENT_MEMBERS: [&[&str]; FIELDS + 2] = [
    // The first spelling TAP sent exactly, in this order, else the first in any case.
    &["clickTime", "messageTime", "threatTime"],
    &["url"],
    &["sender"],
    &["subject"],
    &["classification"],
    &["threatStatus"],
    &["threatID", "threatId"],
    &["clickIP"],
    &["campaignId", "campaignID"],
    &["quarantineFolder"],
    &["recipient"],
    &["threatsInfoMap"],
];

/// The members a threat is read for, in the order of [`Threat`]'s fields.
const THREAT_MEMBERS: [&[&str]; 4] = [
    &["threat"],
    &["classification"],
    &["threatStatus"],
    &["threatID", "threatId"],
];

/// One of a message's threats (its objects in `threatsInfoMap`).
#[derive(Debug, Clone, Copy)]
pub(super) struct Threat<'a> {
    pub(super) threat: &'a str,
    pub(super) classification: &'a str,
    pub(super) threat_status: &'a str,
    pub(super) threat_id: &'a str,
}

impl Facts {
    /// Reads `event`, an event of `kind`: a member TAP left out, or sent as `null`, is empty.
    pub(super) fn of(event: &SiemEvent, kind: &'static str) -> Facts {
        let members = event.pick(&EVENT_MEMBERS);
        let mut text = String::new();
        let mut ends = Vec::with_capacity(FIELDS + 2);
        let end = |text: &String| u32::try_from(text.len()).unwrap_or(u32::MAX);
        for json in &members[..FIELDS] {
            if let Some(json) = json {
                push_text_of_json(json, &mut text);
            }
            ends.push(end(&text));
        }
        if let Some(json) = members[FIELDS] {
            push_names_of_json(json, &mut text, &mut ends);
        }
        let recipients = ends.len() - FIELDS;
        for threat in members[FIELDS + 1].map(objects_in).unwrap_or_default() {
            for json in pick_in(&threat, &THREAT_MEMBERS) {
                if let Some(json) = json {
                    push_text_of_json(json, &mut text);
                }
                ends.push(end(&text));
            }
        }
        Facts {
            kind,
            text: text.into_boxed_str(),
            ends: ends.into_boxed_slice(),
            recipients: u32::try_from(recipients).unwrap_or(u32::MAX),
        }
    }

    /// The text of the `i`th part.
    fn part(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        self.text
            .get(start..self.ends[i] as usize)
            .unwrap_or_default()
    }

    /// A field's text.
    pub(super) fn get(&self, field: Field) -> &str {
        self.part(field as usize)
    }

    /// The recipients (one for a click, a list for a message).
    pub(super) fn recipients(&self) -> impl Iterator<Item = &str> {
        (FIELDS..FIELDS + self.recipients as usize).map(|i| self.part(i))
    }

    /// The recipients, as a table cell.
    pub(super) fn recipients_text(&self) -> String {
        self.recipients().collect::<Vec<_>>().join(", ")
    }

    /// A message's threats.
    pub(super) fn threats(&self) -> impl Iterator<Item = Threat<'_>> {
        let first = FIELDS + self.recipients as usize;
        (first..self.ends.len()).step_by(4).map(move |i| Threat {
            threat: self.part(i),
            classification: self.part(i + 1),
            threat_status: self.part(i + 2),
            threat_id: self.part(i + 3),
        })
    }

    /// Whether the event concerns a malicious threat (SPEC §4.10): its own classification and
    /// status (a click), or any of its message's threats.
    pub(super) fn is_malicious(&self) -> bool {
        is_malicious_threat(
            self.get(Field::Classification),
            self.get(Field::ThreatStatus),
        ) || self.threats().any(|t| t.is_malicious())
    }

    /// Whether someone met what the event concerns: a permitted click, a delivered message.
    pub(super) fn is_exposure(&self) -> bool {
        matches!(self.kind, "clicks_permitted" | "messages_delivered")
    }

    /// Whether the event is a click (else a message).
    pub(super) fn is_click(&self) -> bool {
        self.kind.starts_with("clicks")
    }
}

impl Threat<'_> {
    /// Whether the threat is malicious (SPEC §4.10).
    pub(super) fn is_malicious(&self) -> bool {
        is_malicious_threat(self.classification, self.threat_status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::tap_fields::{field, names, text};
    use serde_json::{Map, Value};

    /// The fields as the report read them before, from a map of parsed values.
    fn from_values(event: &Map<String, Value>) -> Vec<String> {
        let mut parts: Vec<String> = EVENT_MEMBERS[..FIELDS]
            .iter()
            .map(|names| text(field(event, names)))
            .collect();
        parts.extend(names(field(event, &["recipient"])));
        if let Some(Value::Array(threats)) = field(event, &["threatsInfoMap"]) {
            for t in threats.iter().filter_map(Value::as_object) {
                parts.extend(THREAT_MEMBERS.iter().map(|names| text(field(t, names))));
            }
        }
        parts
    }

    #[test]
    fn read_as_the_values_read() {
        for json in [
            r#"{"clickTime": "2026-11-30T10:00:00.000Z", "threatTime": "x", "URL": "https://a.example/",
                "recipient": ["r1@example.com", "", null, 7, {"name": "n"}], "sender": {"id": 1},
                "classification": "MALWARE", "threatStatus": "active", "threatId": 12.5e0,
                "threatID": null, "clickIP": true, "campaignID": "c", "campaignId": "C",
                "quarantineFolder": null, "subject": "caf\u00e9 \"q\""}"#,
            r#"{"ThreatTime": "t", "messageTime": "m", "recipient": "one@example.com",
                "threatsInfoMap": [{"threat": "https://b.example/", "classification": "phish",
                "threatStatus": "falsePositive", "THREATID": "a"}, 3, [], {"threatId": "b",
                "threatID": "c", "threat": ["x", "y"]}], "unknown": {"deep": [1, 2]}}"#,
            r#"{"threatsInfoMap": {"not": "a list"}, "recipient": [], "url": ""}"#,
            r#"{}"#,
        ] {
            let object: SiemEvent = serde_json::from_str(json).unwrap();
            let values: Map<String, Value> = serde_json::from_str(json).unwrap();
            let facts = Facts::of(&object, "messages_delivered");
            let parts: Vec<&str> = (0..facts.ends.len()).map(|i| facts.part(i)).collect();
            assert_eq!(parts, from_values(&values), "{json}");
            assert_eq!(
                facts.recipients().count(),
                names(field(&values, &["recipient"])).len()
            );
        }
    }

    #[test]
    fn malicious_and_exposed() {
        let event: SiemEvent = serde_json::from_str(
            r#"{"threatsInfoMap": [{"classification": "spam"}, {"classification": "MALWARE",
                "threatStatus": "active", "threatID": "t"}]}"#,
        )
        .unwrap();
        let facts = Facts::of(&event, "messages_delivered");
        assert!(facts.is_malicious() && facts.is_exposure() && !facts.is_click());
        assert_eq!(facts.threats().count(), 2);
        assert_eq!(facts.threats().nth(1).map(|t| t.threat_id), Some("t"));
        let click: SiemEvent =
            serde_json::from_str(r#"{"classification": "spam", "threatStatus": "active"}"#)
                .unwrap();
        let facts = Facts::of(&click, "clicks_blocked");
        assert!(!facts.is_malicious() && !facts.is_exposure() && facts.is_click());
    }
}
