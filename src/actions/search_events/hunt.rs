//! The hunting filters of Search Events (SPEC §4.13): the SIEM API has none, so they are applied
//! to the events TAP returns — they spend no fewer calls, and Max Events counts what passes them.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::actions::tap_fields::{bare_message_id, field, names, text};
use crate::params::{parameters, Flag, List};
use crate::protocol::TargetEntity;
use crate::tap::TapObject;

parameters! {
    // The hunting filters, flattened into Search Events' parameters. (No doc comment: a flattened
    // schema would carry its description into the action's.)
    #[derive(Debug, Deserialize, JsonSchema)]
    pub(crate) struct HuntParams<'a> {
        /// Only events for these recipients (e-mail addresses, any case).
        #[param("Recipient")]
        #[serde(default)]
        #[serde(borrow)]
        pub(crate) recipient: List<'a>,
        /// Only events from these senders: the envelope sender or the header From.
        #[param("Sender")]
        #[serde(default)]
        #[serde(borrow)]
        pub(crate) sender: List<'a>,
        /// Only clicks on these URLs, and messages carrying them as threats.
        #[param("URL")]
        #[serde(default)]
        #[serde(borrow)]
        pub(crate) url: List<'a>,
        /// Only events about these threat ids.
        #[param("Threat ID")]
        #[serde(default)]
        #[serde(borrow)]
        pub(crate) threat_id: List<'a>,
        /// Only events about these campaigns.
        #[param("Campaign ID")]
        #[serde(default)]
        #[serde(borrow)]
        pub(crate) campaign_id: List<'a>,
        /// Only events of the messages with these Message-ID headers.
        #[param("Message ID")]
        #[serde(default)]
        #[serde(borrow)]
        pub(crate) message_id: List<'a>,
        /// Only events of the messages with these TAP GUIDs.
        #[param("GUID")]
        #[serde(default)]
        #[serde(borrow)]
        pub(crate) guid: List<'a>,
        /// Only messages whose subject contains one of these texts (any case).
        #[param("Subject")]
        #[serde(default)]
        #[serde(borrow)]
        pub(crate) subject: List<'a>,
        /// Also filter by the entities in scope: USERUNIQNAME as recipients, DestinationURL as URLs,
        /// THREATSIGNATURE as threat ids.
        #[param("Filter By Entities")]
        #[serde(default)]
        pub(crate) filter_by_entities: Flag,
    }
}

/// The filters, ready to match: every value lower-cased.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Hunt {
    recipients: Vec<String>,
    senders: Vec<String>,
    urls: Vec<String>,
    threat_ids: Vec<String>,
    campaign_ids: Vec<String>,
    message_ids: Vec<String>,
    guids: Vec<String>,
    subjects: Vec<String>,
}

impl HuntParams<'_> {
    /// The filters asked for, the entities' included when `filter_by_entities` is set.
    pub(super) fn hunt(&self, entities: &[TargetEntity]) -> Hunt {
        let list = |l: &List| -> Vec<String> {
            l.split_commas().iter().map(|s| s.to_lowercase()).collect()
        };
        let mut hunt = Hunt {
            recipients: list(&self.recipient),
            senders: list(&self.sender),
            urls: list(&self.url),
            threat_ids: list(&self.threat_id),
            campaign_ids: list(&self.campaign_id),
            message_ids: list(&self.message_id)
                .iter()
                .map(|m| bare_message_id(m))
                .collect(),
            guids: list(&self.guid),
            subjects: list(&self.subject),
        };
        if self.filter_by_entities.0 {
            for e in entities {
                let value = e.value().trim().to_lowercase();
                if e.is_type("USERUNIQNAME") {
                    hunt.recipients.push(value);
                } else if e.is_type("DestinationURL") {
                    hunt.urls.push(value);
                } else if e.is_type("THREATSIGNATURE") {
                    hunt.threat_ids.push(value);
                }
            }
        }
        hunt
    }
}

/// The members the filters read.
const READ: [&str; 12] = [
    "recipient",
    "sender",
    "headerFrom",
    "fromAddress",
    "url",
    "threatID",
    "threatId",
    "campaignId",
    "campaignID",
    "messageID",
    "GUID",
    "subject",
];

impl Hunt {
    /// Whether no filter is set.
    pub(crate) fn is_empty(&self) -> bool {
        *self == Hunt::default()
    }

    /// Whether the event passes every filter that is set.
    pub(super) fn matches(&self, event: &TapObject) -> bool {
        if self.is_empty() {
            return true;
        }
        let mut view = event.view(&READ);
        // A message's threats: their ids, URLs and campaigns count as the message's.
        let threats: Vec<Map<String, Value>> = event
            .raw(&["threatsInfoMap"])
            .and_then(|raw| serde_json::from_str::<Vec<TapObject>>(raw.get()).ok())
            .unwrap_or_default()
            .iter()
            .map(|t| t.view(&["threatID", "threatId", "threat", "campaignID", "campaignId"]))
            .collect();
        view.remove("threatsInfoMap");
        let of = |o: &Map<String, Value>, keys: &[&str]| -> Vec<String> {
            names(field(o, keys))
                .into_iter()
                .map(|s| s.to_lowercase())
                .collect()
        };
        let any_equal = |wanted: &[String], found: Vec<String>| {
            wanted.is_empty() || found.iter().any(|f| wanted.contains(f))
        };
        let threat_values =
            |keys: &[&str]| -> Vec<String> { threats.iter().flat_map(|t| of(t, keys)).collect() };
        let mut ids = of(&view, &["threatID", "threatId"]);
        ids.extend(threat_values(&["threatID", "threatId"]));
        let mut urls = of(&view, &["url"]);
        urls.extend(threat_values(&["threat"]));
        let mut campaigns = of(&view, &["campaignId", "campaignID"]);
        campaigns.extend(threat_values(&["campaignID", "campaignId"]));
        let from = text(field(&view, &["headerFrom"])).to_lowercase();
        let mut senders = of(&view, &["sender"]);
        senders.extend(of(&view, &["fromAddress"]));
        let sender_ok = self.senders.is_empty()
            || senders.iter().any(|s| self.senders.contains(s))
            || self.senders.iter().any(|s| from.contains(s.as_str()));
        let subject = text(field(&view, &["subject"])).to_lowercase();
        let subject_ok =
            self.subjects.is_empty() || self.subjects.iter().any(|s| subject.contains(s.as_str()));
        let message_ids: Vec<String> = of(&view, &["messageID"])
            .iter()
            .map(|m| bare_message_id(m))
            .collect();
        any_equal(&self.recipients, of(&view, &["recipient"]))
            && sender_ok
            && any_equal(&self.urls, urls)
            && any_equal(&self.threat_ids, ids)
            && any_equal(&self.campaign_ids, campaigns)
            && any_equal(&self.message_ids, message_ids)
            && any_equal(&self.guids, of(&view, &["GUID"]))
            && subject_ok
    }
}
