//! Forensic evidence shared by the actions that fetch `/v2/forensics`: their shared parameters
//! (the type filter and the per-item limit), the filter they make, and the evidence table.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::tap_fields::{field, flag_text, text};
use crate::error::{Error, Result};
use crate::params::{fold_choice, parameters, Integer, List, Parameters};
use crate::protocol::{Row, Table};
use crate::tap::{member_of, TapObject};
use serde_json::value::RawValue;

/// Evidence types TAP reports.
pub(crate) const EVIDENCE_TYPES: &[&str] = &[
    "attachment",
    "cookie",
    "dns",
    "dropper",
    "file",
    "ids",
    "mutex",
    "network",
    "process",
    "registry",
    "screenshot",
    "url",
    "redirect_chain",
    "behavior",
];

/// The filter's default: the types that say most about a threat.
pub(crate) const DEFAULT_FILTER: &str =
    "attachment, dns, dropper, file, network, process, registry, screenshot, url, redirect_chain";

/// Default evidence items per campaign or threat.
pub(crate) const DEFAULT_LIMIT: i64 = 50;

parameters! {
    // The evidence parameters of every action that returns forensics, flattened into its own. (No
    // doc comment: a flattened schema would carry its description into the action's.)
    #[derive(Debug, Deserialize, JsonSchema)]
    pub(crate) struct EvidenceParams<'a> {
        /// Which evidence types to return (case-insensitive).
        #[param("Forensic Evidence Type Filter")]
        #[serde(default = "default_filter")]
        #[schemars(extend(
            "x-allowed-values" = ["attachment", "cookie", "dns", "dropper", "file", "ids", "mutex", "network", "process", "registry", "screenshot", "url", "redirect_chain", "behavior"]
        ))]
        #[serde(borrow)]
        pub(crate) forensic_evidence_type_filter: List<'a>,
        /// At most this many evidence items per campaign or threat (1..=1000).
        #[param(
            "Max Forensics Evidence To Return",
            aliases = ["max_results_to_return", "Max Results To Return"],
            range = 1..=1000
        )]
        #[serde(default = "default_limit")]
        pub(crate) max_forensics_evidence_to_return: Integer,
    }
}

fn default_filter() -> List<'static> {
    List::Text(DEFAULT_FILTER.into())
}

fn default_limit() -> Integer {
    Integer(DEFAULT_LIMIT)
}

impl EvidenceParams<'_> {
    /// The filter these parameters ask for, checked.
    pub(crate) fn filter(&self) -> Result<Filter> {
        let specs = <Self as Parameters<'_>>::specs();
        Filter::new(
            &self.forensic_evidence_type_filter,
            self.max_forensics_evidence_to_return.0,
            &specs[0].label(),
        )
    }
}

/// Which evidence to keep, and how much.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Filter {
    types: Vec<&'static str>,
    limit: usize,
}

impl Filter {
    /// Reads the type list; `filter_label` names its parameter in messages. The limit's range is
    /// declared with its parameter and checked when the request is read.
    pub(crate) fn new(types: &List, limit: i64, filter_label: &str) -> Result<Self> {
        let mut chosen = Vec::new();
        for item in types.split_commas() {
            let folded = fold_choice(&item);
            let Some(t) = EVIDENCE_TYPES.iter().find(|t| **t == folded) else {
                return Err(Error::invalid_parameter(format!(
                    "The parameter {filter_label} holds the unknown evidence type \"{item}\". Accepted: {}.",
                    EVIDENCE_TYPES.join(", ")
                )));
            };
            if !chosen.contains(t) {
                chosen.push(*t);
            }
        }
        Ok(Filter {
            types: chosen,
            limit: usize::try_from(limit).unwrap_or(0),
        })
    }

    /// Whether an item of this type is kept (case-insensitive; `redirect chain` = `redirect_chain`).
    /// A filter that names no type keeps every type; the limit still holds.
    fn keeps(&self, evidence_type: &str) -> bool {
        if self.types.is_empty() {
            return true;
        }
        let folded = fold_choice(evidence_type);
        self.types.iter().any(|t| *t == folded)
    }

    /// The evidence of every report of a `/v2/forensics` body that passes the filter, in TAP's
    /// order, at most the limit, merged into one list; with the first report's `scope`, `id` and
    /// `name` (or the given defaults when there is no report).
    pub(crate) fn apply(&self, body: TapObject, default_id: &str, default_name: &str) -> Evidence {
        let reports = self.filter_reports(body);
        let first = reports
            .first()
            .map(|r| r.object.view(&["scope", "id", "name"]));
        let meta = |keys: &[&str], default: &str| {
            first
                .as_ref()
                .and_then(|r| field(r, keys))
                .map(|v| text(Some(v)))
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| default.to_owned())
        };
        let (scope, id, name) = (
            meta(&["scope"], "CAMPAIGN"),
            meta(&["id"], default_id),
            meta(&["name"], default_name),
        );
        let mut evidence = Evidence {
            scope,
            id,
            name,
            forensics: Vec::new(),
            views: Vec::new(),
        };
        for report in reports {
            evidence.forensics.extend(report.kept);
            evidence.views.extend(report.views);
        }
        evidence
    }
}

/// The evidence of one campaign or threat, as Get Campaign returns it: the kept items as TAP sent
/// them, and a view of each for the tables and entities.
#[derive(Debug, Serialize)]
pub(crate) struct Evidence {
    scope: String,
    id: String,
    name: String,
    forensics: Vec<Box<RawValue>>,
    /// What tables and entities read of each kept item, in the same order.
    #[serde(skip)]
    pub(crate) views: Vec<Value>,
}

/// One report of a `/v2/forensics` body, with only the evidence the filter keeps.
#[derive(Debug)]
pub(crate) struct Report {
    /// The report as TAP sent it, its `forensics` the kept items.
    pub(crate) object: TapObject,
    kept: Vec<Box<RawValue>>,
    /// What tables and entities read of each kept item, in the same order.
    pub(crate) views: Vec<Value>,
}

impl Serialize for Report {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.object.serialize(s)
    }
}

impl Filter {
    /// The reports of a `/v2/forensics` body, each with its own fields and only the evidence that
    /// passes the filter; the limit counts across all reports of the body. No item is parsed
    /// whole: each is looked at for its type, and a kept one for what the tables read.
    pub(crate) fn filter_reports(&self, body: TapObject) -> Vec<Report> {
        let reports: Vec<TapObject> = body
            .raw(&["reports"])
            .and_then(|raw| serde_json::from_str(raw.get()).ok())
            .unwrap_or_default();
        drop(body);
        let mut left = self.limit;
        reports
            .into_iter()
            .map(|mut object| {
                let items: Vec<Box<RawValue>> = object
                    .take("forensics")
                    .and_then(|raw| serde_json::from_str(raw.get()).ok())
                    .unwrap_or_default();
                let kept: Vec<Box<RawValue>> = items
                    .into_iter()
                    .filter(|item| {
                        let kind = member_of(item, &["type"])
                            .map(|v| text(Some(&v)))
                            .unwrap_or_default();
                        self.keeps(&kind)
                    })
                    .take(left)
                    .collect();
                left -= kept.len();
                // In its place: the report's fields keep TAP's order.
                object.insert("forensics", &kept);
                let views = kept.iter().map(|item| item_view(item)).collect();
                Report {
                    object,
                    kept,
                    views,
                }
            })
            .collect()
    }
}

/// What the evidence table and entities read of an item (its type, description, verdict,
/// platforms, and the URL, path, hash and addresses of its `what`), parsed; the rest is not.
fn item_view(item: &RawValue) -> Value {
    let Ok(object) = serde_json::from_str::<TapObject>(item.get()) else {
        return Value::Object(Map::new());
    };
    let mut view = object.view(&["type", "display", "note", "malicious", "platforms"]);
    if let Some(what) = object
        .raw(&["what"])
        .and_then(|raw| serde_json::from_str::<TapObject>(raw.get()).ok())
    {
        view.insert(
            "what".into(),
            Value::Object(what.view(&["url", "path", "sha256", "ip", "ips"])),
        );
    }
    Value::Object(view)
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at most {})", self.types.join(", "), self.limit)
    }
}

/// The columns of an evidence table.
pub(crate) const COLUMNS: [&str; 8] = [
    "Type",
    "Description",
    "Malicious",
    "URL",
    "Path",
    "SHA256",
    "IP Address",
    "Platforms",
];

/// An evidence table titled `title` from filtered evidence items (`forensics` of [`Filter::apply`]).
pub(crate) fn table<'a>(title: String, items: impl IntoIterator<Item = &'a Value>) -> Table {
    let empty = Map::new();
    let rows = items
        .into_iter()
        .map(|item| {
            let item = item.as_object().unwrap_or(&empty);
            let what = field(item, &["what"])
                .and_then(Value::as_object)
                .unwrap_or(&empty);
            let ip = field(what, &["ip"]).or_else(|| field(what, &["ips"]));
            let platforms: Vec<String> = match field(item, &["platforms"]) {
                Some(Value::Array(list)) => list
                    .iter()
                    .filter_map(Value::as_object)
                    .map(|p| text(field(p, &["name", "os"])))
                    .filter(|s| !s.is_empty())
                    .collect(),
                other => vec![text(other)],
            };
            Row::new([
                text(field(item, &["type"])),
                text(field(item, &["display", "note"])),
                flag_text(field(item, &["malicious"])),
                text(field(what, &["url"])),
                text(field(what, &["path"])),
                text(field(what, &["sha256"])),
                text(ip),
                platforms.join(", "),
            ])
        })
        .collect();
    Table {
        title,
        columns: COLUMNS.iter().map(|c| c.to_string()).collect(),
        rows,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn filter(types: &str, limit: i64) -> Result<Filter> {
        Filter::new(&List::Text(types.into()), limit, "\"F\"")
    }

    fn body() -> TapObject {
        serde_json::from_str(include_str!("../../tests/fixtures/forensics_campaign.json")).unwrap()
    }

    fn types(v: &Evidence) -> Vec<String> {
        let v = serde_json::to_value(v).unwrap();
        v["forensics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["type"].as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn filter_and_limit() {
        let all = filter(DEFAULT_FILTER, 50).unwrap().apply(body(), "x", "y");
        assert_eq!(
            types(&all),
            [
                "file",
                "url",
                "screenshot",
                "network",
                "redirect_chain",
                "dns"
            ]
        );
        assert_eq!(serde_json::to_value(&all).unwrap()["scope"], "CAMPAIGN");
        let some = filter("URL, Redirect Chain", 50)
            .unwrap()
            .apply(body(), "x", "y");
        assert_eq!(types(&some), ["url", "redirect_chain"]);
        let limited = filter(DEFAULT_FILTER, 2).unwrap().apply(body(), "x", "y");
        assert_eq!(types(&limited), ["file", "url"]);
    }

    #[test]
    fn no_report_and_no_what() {
        let empty = TapObject::default();
        let v = filter("url", 5)
            .unwrap()
            .apply(empty.clone(), "cid", "cname");
        assert_eq!(
            serde_json::to_value(&v).unwrap(),
            json!({"scope": "CAMPAIGN", "id": "cid", "name": "cname", "forensics": []})
        );
        let t = table("T".into(), &[json!({"type": "url", "malicious": 1})]);
        assert_eq!(t.rows, [["url", "", "true", "", "", "", "", ""]]);
    }

    #[test]
    fn bad_values_name_the_parameter() {
        let e = filter("url, pdf", 5).unwrap_err();
        assert!(
            e.message.contains("unknown evidence type \"pdf\""),
            "{}",
            e.message
        );
        let unfiltered = filter(",", 3).unwrap().apply(body(), "x", "y");
        assert_eq!(types(&unfiltered), ["file", "url", "screenshot"]);
    }

    #[test]
    fn table_rows_from_the_sample() {
        let v = filter(DEFAULT_FILTER, 50).unwrap().apply(body(), "x", "y");
        let t = table("Campaign x Evidence".into(), &v.views);
        assert_eq!(&t.rows[0][0], "file");
        assert_eq!(&t.rows[0][6], "");
        assert_eq!(&t.rows[3][6], "54.230.xx.xx");
        assert_eq!(&t.rows[5][6], "99.84.xx.xx");
        assert_eq!(&t.rows[0][7], "Win10");
    }
}
