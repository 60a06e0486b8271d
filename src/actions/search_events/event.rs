//! An event as Search Events keeps it: its JSON text as the result writes it, and where the text
//! of each field the tables, the insight and the entities read is, found once as the answer
//! arrives. (A map of parsed values per event cost more than the rest of the run, and several
//! times the memory of the events themselves; a copy of each field's text was still a fifth.)

use super::Kind;
use crate::actions::tap_fields::{push_names_of_json, push_text_of_json};
use crate::actions::verdict::is_malicious_threat;
use crate::tap::{objects_in, pick_in, SiemEvent};

/// An event kept: its text, and its fields' text in it.
#[derive(Debug)]
pub(super) struct Event {
    /// The kind.
    pub(super) kind: Kind,
    /// The event's JSON text.
    text: Box<str>,
    /// The text of the fields that are not a plain JSON string in `text` (a number, an escaped
    /// string, a list joined): usually none.
    own: Box<str>,
    /// Where each part is: the [`Field`]s, then the recipients, then four for each of a
    /// message's threats; in `text`, or in `own` when the start has [`OWN`] set.
    parts: Spans,
    /// How many recipients there are.
    recipients: u32,
}

/// Marks a part's start as one in [`Event::own`].
const OWN: u32 = 1 << 31;

/// Where an event's parts are: in 16 bits each when the event's texts are under 32 KiB, as
/// nearly all are (a week is thousands of events), else in 32.
#[derive(Debug)]
enum Spans {
    Short(Box<[(u16, u16)]>),
    Long(Box<[(u32, u32)]>),
}

impl Spans {
    fn of(parts: Vec<(u32, u32)>, longest: usize) -> Spans {
        if longest < 1 << 15 {
            // `OWN` moves to the top of 16 bits.
            let short = |at: u32| ((at & !OWN) as u16) | if at & OWN != 0 { 1 << 15 } else { 0 };
            Spans::Short(parts.iter().map(|&(s, e)| (short(s), e as u16)).collect())
        } else {
            Spans::Long(parts.into_boxed_slice())
        }
    }

    fn len(&self) -> usize {
        match self {
            Spans::Short(p) => p.len(),
            Spans::Long(p) => p.len(),
        }
    }

    /// The `i`th as (start with [`OWN`], end).
    fn get(&self, i: usize) -> (u32, u32) {
        match self {
            Spans::Short(p) => {
                let (s, e) = p[i];
                let own = if s & (1 << 15) != 0 { OWN } else { 0 };
                (u32::from(s & !(1 << 15)) | own, u32::from(e))
            }
            Spans::Long(p) => p[i],
        }
    }
}

/// The fields of an [`Event`] found once, in the order they are kept.
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

/// The parts of an [`Event`] as they are found.
struct Parts<'a> {
    text: &'a str,
    own: String,
    parts: Vec<(u32, u32)>,
}

impl<'a> Parts<'a> {
    /// A part at `start..end` of the event's text, or of `own`.
    fn push(&mut self, start: usize, end: usize, own: bool) {
        let flag = if own { OWN } else { 0 };
        let part = match (u32::try_from(start), u32::try_from(end)) {
            (Ok(start), Ok(end)) if start < OWN && end < OWN => (start | flag, end),
            // Past what a part can say: an empty part.
            _ => (0, 0),
        };
        self.parts.push(part);
    }

    /// Where `inner`, a slice of the event's text, starts in it.
    fn offset(&self, inner: &str) -> usize {
        inner.as_ptr() as usize - self.text.as_ptr() as usize
    }

    /// [`push_text_of_json`] of `json` (a member's text in the event's text) as a part: the
    /// string itself in the event's text when it is a plain one.
    fn text(&mut self, json: Option<&'a str>) {
        let Some(json) = json else {
            return self.push(0, 0, false);
        };
        if let Some(inner) = plain_string(json) {
            let start = self.offset(inner);
            return self.push(start, start + inner.len(), false);
        }
        let start = self.own.len();
        push_text_of_json(json, &mut self.own);
        self.push(start, self.own.len(), true);
    }

    /// [`push_names_of_json`] of `json` as parts, each in the event's text when the names are
    /// plain strings; how many there are.
    fn names(&mut self, json: Option<&'a str>) -> usize {
        let Some(json) = json else { return 0 };
        let before = self.parts.len();
        if let Some(inner) = plain_string(json) {
            if !inner.is_empty() {
                let start = self.offset(inner);
                self.push(start, start + inner.len(), false);
            }
        } else if let Ok(names) = serde_json::from_str::<Vec<&str>>(json) {
            // Borrowed only when none holds an escape.
            for name in names.into_iter().filter(|n| !n.is_empty()) {
                let start = self.offset(name);
                self.push(start, start + name.len(), false);
            }
        } else {
            let mut ends = Vec::new();
            let mut start = self.own.len();
            push_names_of_json(json, &mut self.own, &mut ends);
            for end in ends {
                self.push(start, end as usize, true);
                start = end as usize;
            }
        }
        self.parts.len() - before
    }
}

/// The text of `json` when it is a JSON string without escapes: what it reads as, in place.
fn plain_string(json: &str) -> Option<&str> {
    let inner = json.strip_prefix('"')?.strip_suffix('"')?;
    (!inner.contains('\\')).then_some(inner)
}

impl Event {
    /// Keeps `event`, an event of `kind`: a member TAP left out, or sent as `null`, is empty.
    pub(super) fn of(event: SiemEvent, kind: Kind) -> Event {
        let members = event.pick(&EVENT_MEMBERS);
        let mut parts = Parts {
            text: event.text(),
            own: String::new(),
            parts: Vec::with_capacity(FIELDS + 2),
        };
        for json in &members[..FIELDS] {
            parts.text(*json);
        }
        let recipients = parts.names(members[FIELDS]);
        for threat in members[FIELDS + 1].map(objects_in).unwrap_or_default() {
            for json in pick_in(&threat, &THREAT_MEMBERS) {
                parts.text(json);
            }
        }
        let Parts { own, parts, .. } = parts;
        let longest = own.len().max(event.text().len());
        Event {
            kind,
            own: own.into_boxed_str(),
            parts: Spans::of(parts, longest),
            recipients: u32::try_from(recipients).unwrap_or(0),
            text: event.into_text(),
        }
    }

    /// The event's JSON text, as the result writes it.
    pub(super) fn into_text(self) -> Box<str> {
        self.text
    }

    /// The text of the `i`th part.
    fn part(&self, i: usize) -> &str {
        let (start, end) = self.parts.get(i);
        let (text, start) = if start & OWN != 0 {
            (&*self.own, start & !OWN)
        } else {
            (&*self.text, start)
        };
        text.get(start as usize..end as usize).unwrap_or_default()
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
        (first..self.parts.len()).step_by(4).map(move |i| Threat {
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
        matches!(self.kind, Kind::ClicksPermitted | Kind::MessagesDelivered)
    }

    /// Whether the event is a click (else a message).
    pub(super) fn is_click(&self) -> bool {
        matches!(self.kind, Kind::ClicksPermitted | Kind::ClicksBlocked)
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
            r#"{"threatsInfoMap": {"not": "a list"}, "recipient": ["a@example.com", "", "b@example.com"],
                "url": "", "Url": "shadowed"}"#,
            r#"{"recipient": [], "sender": "", "threatsInfoMap": [{"threat": "plain"}]}"#,
            r#"{}"#,
        ] {
            let object: SiemEvent = serde_json::from_str(json).unwrap();
            let values: Map<String, Value> = serde_json::from_str(json).unwrap();
            let facts = Event::of(object, Kind::MessagesDelivered);
            let parts: Vec<&str> = (0..facts.parts.len()).map(|i| facts.part(i)).collect();
            assert_eq!(parts, from_values(&values), "{json}");
            assert_eq!(
                facts.recipients().count(),
                names(field(&values, &["recipient"])).len()
            );
        }
    }

    #[test]
    fn a_long_event_reads_the_same() {
        let long = "x".repeat(40_000);
        let json = format!(
            r#"{{"subject": "{long}", "url": "u", "recipient": ["a", "b\u00e9"], "sender": 5}}"#
        );
        let values: Map<String, Value> = serde_json::from_str(&json).unwrap();
        let event = Event::of(serde_json::from_str(&json).unwrap(), Kind::MessagesBlocked);
        assert!(matches!(event.parts, Spans::Long(_)));
        let parts: Vec<&str> = (0..event.parts.len()).map(|i| event.part(i)).collect();
        assert_eq!(parts, from_values(&values));
        let short = Event::of(
            serde_json::from_str(r#"{"url": "u"}"#).unwrap(),
            Kind::ClicksBlocked,
        );
        assert!(matches!(short.parts, Spans::Short(_)));
    }

    #[test]
    fn malicious_and_exposed() {
        let event: SiemEvent = serde_json::from_str(
            r#"{"threatsInfoMap": [{"classification": "spam"}, {"classification": "MALWARE",
                "threatStatus": "active", "threatID": "t"}]}"#,
        )
        .unwrap();
        let facts = Event::of(event, Kind::MessagesDelivered);
        assert!(facts.is_malicious() && facts.is_exposure() && !facts.is_click());
        assert_eq!(facts.threats().count(), 2);
        assert_eq!(facts.threats().nth(1).map(|t| t.threat_id), Some("t"));
        let click: SiemEvent =
            serde_json::from_str(r#"{"classification": "spam", "threatStatus": "active"}"#)
                .unwrap();
        let facts = Event::of(click, Kind::ClicksBlocked);
        assert!(!facts.is_malicious() && !facts.is_exposure() && facts.is_click());
    }
}
