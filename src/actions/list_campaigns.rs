//! List Campaigns (SPEC §4.5): the campaigns TAP updated in a time window, from
//! `/v2/campaign/ids`, which allows 50 calls a day: the window is split into day-long intervals,
//! queried newest first, and no call is made once enough campaigns are listed.

use std::future::Future;
use std::sync::atomic::Ordering;

use futures_util::future::join_all;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};

use super::context::{fatal_error, ActionDef, ActionInfo, Context, Outcome, Paging};
use super::tap_fields::{field, text};

use crate::error::{Error, ErrorCode, Result};
use crate::params::parameters;
use crate::params::time_window::{self, TimeFrame, TimeWindow};
use crate::params::{Flag, Integer};
use crate::protocol::{ErrorEntry, JsonResult, Row, Table};
use crate::tap::TapObject;
use foldhash::HashSet;
use serde_json::value::RawValue;

/// List Campaigns, as the registry lists it.
pub(crate) struct ListCampaigns;

impl ActionDef for ListCampaigns {
    const INFO: &'static ActionInfo = &ActionInfo {
        name: "list_campaigns",
        display_name: "List Campaigns",
        script_name: "ProofPointTAP_ListCampaigns",
        tool_name: "proof_point_tap_list_campaigns",
        result_name: "campaigns",
        description: "List the Proofpoint TAP campaigns updated in a time window (at most 7 days back), optionally with each campaign's details. The endpoint allows 50 calls a day; the output says how many were spent.",
    };
    type Params<'a> = Params;

    fn example() -> Value {
        json!({
            "action": "list_campaigns",
            "case_id": "1042",
            "parameters": {"Time Frame": "Last 24 Hours", "Max Campaigns": 50, "Fetch Details": false}
        })
    }

    fn run<'a>(ctx: &'a Context, params: Params) -> impl Future<Output = Result<Outcome>> + 'a {
        run(ctx, params)
    }
}

/// Campaigns per page: the most TAP returns.
const PAGE_SIZE: usize = 200;
/// The longest interval one call may cover.
const INTERVAL: Duration = Duration::DAY;

parameters! {
    /// Parameters of List Campaigns.
    #[derive(Debug, Deserialize, JsonSchema)]
    #[schemars(title = "List Campaigns parameters")]
    pub(crate) struct Params {
        /// The window: a time frame, or a start and an end time.
        #[group]
        pub window: TimeWindow<{ TimeFrame::Last24Hours.code() }>,
        /// At most this many campaigns (1..=200).
        #[param(
            "Max Campaigns",
            aliases = ["max_results_to_return", "Max Results To Return"],
            range = 1..=200
        )]
        #[serde(default = "default_max")]
        pub max_campaigns: Integer,
        /// Fetch each listed campaign's details (one GET /v2/campaign/{id} each, no forensics).
        #[param("Fetch Details")]
        #[serde(default)]
        pub fetch_details: Flag,
    }
}

fn default_max() -> Integer {
    Integer(100)
}

/// The checked window and limit.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Window {
    start: OffsetDateTime,
    end: OffsetDateTime,
    max: usize,
}

impl Window {
    /// Day-long intervals, newest first; the oldest may be shorter.
    fn intervals(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut end = self.end;
        while end > self.start {
            let start = (end - INTERVAL).max(self.start);
            out.push(format!(
                "{}/{}",
                time_window::format(start),
                time_window::format(end)
            ));
            end = start;
        }
        out
    }
}

fn window(params: &Params, now: OffsetDateTime) -> Result<Window> {
    let max = params.max_campaigns.0;
    let (start, end) = params.window.resolve(None, now)?;
    Ok(Window {
        start,
        end,
        max: max as usize,
    })
}

/// Runs List Campaigns.
pub(crate) async fn run(ctx: &Context, params: Params) -> Result<Outcome> {
    let window = window(&params, ctx.now)?;
    let client = ctx.client()?;
    // Campaigns as TAP listed them, passed through.
    let mut listed: Vec<TapObject> = Vec::new();
    let mut seen = HashSet::default();
    let mut errors: Vec<ErrorEntry> = Vec::new();
    // Calls spent are the requests actually sent, retries included: each one counts.
    let sent_before = ctx.http_requests.load(Ordering::Relaxed);
    let intervals = window.intervals();
    let mut paging = Paging::new("/v2/campaign/ids");
    'intervals: for (n, interval) in intervals.iter().enumerate() {
        // One page size per interval: TAP's page N means items (N-1)*size+1 .. N*size.
        let size = PAGE_SIZE.min(window.max - listed.len()).max(1);
        for page in 1..=Paging::pages_needed(window.max, size) {
            if !paging.may_call() {
                break 'intervals;
            }
            let body = match client.campaign_ids(interval, size, page).await {
                Ok(body) => body,
                Err(e) if matches!(e.code, ErrorCode::Unauthorized) => return Err(e),
                Err(e) if listed.is_empty() && n == 0 && page == 1 && is_unreachable(&e) => {
                    return Err(e)
                }
                Err(e) => {
                    let quota = e.code == ErrorCode::RateLimited;
                    errors.push(e.with_subject(interval.clone()).into());
                    if quota {
                        // The daily quota is spent: every further call would be refused too.
                        for skipped in &intervals[n + 1..] {
                            errors.push(
                                Error::new(
                                    ErrorCode::RateLimited,
                                    "not queried: the daily quota of /v2/campaign/ids is spent",
                                )
                                .with_subject(skipped.clone())
                                .into(),
                            );
                        }
                        break 'intervals;
                    }
                    continue 'intervals;
                }
            };
            let items: Vec<Box<RawValue>> = body
                .raw(&["campaigns"])
                .and_then(|raw| serde_json::from_str(raw.get()).ok())
                .unwrap_or_default();
            let got = items.len();
            let before = listed.len();
            for item in items {
                if let Ok(item) = serde_json::from_str::<TapObject>(item.get()) {
                    let id = item.text_of(&["id"]);
                    if !id.is_empty() && seen.insert(id.to_ascii_lowercase()) {
                        listed.push(item);
                    }
                }
                if listed.len() >= window.max {
                    break 'intervals;
                }
            }
            if !paging.goes_on(got, listed.len() - before, size) {
                if paging.note().is_some() {
                    break 'intervals;
                }
                break;
            }
        }
    }

    let calls = (ctx.http_requests.load(Ordering::Relaxed) - sent_before) as usize;
    // Errors so far are about intervals; detail errors below are about single campaigns.
    let intervals_missed = !errors.is_empty();
    // A campaign's details pass through as TAP sent them, never parsed whole.
    let mut details: Vec<Option<TapObject>> = vec![None; listed.len()];
    if params.fetch_details.0 && !listed.is_empty() {
        let slots = ctx.request_slots();
        let ids: Vec<String> = listed.iter().map(|c| c.text_of(&["id"])).collect();
        let fetched = join_all(ids.iter().map(|id| slots.run(client.campaign(id)))).await;
        if let Some(fatal) = fatal_error(fetched.iter().map(|d| d.as_ref().err())) {
            return Err(fatal);
        }
        for ((slot, id), detail) in details.iter_mut().zip(&ids).zip(fetched) {
            match detail {
                Ok(detail) => *slot = Some(detail),
                Err(e) => errors.push(e.with_subject(id.clone()).into()),
            }
        }
    }
    let mut outcome = outcome(&window, listed, details, errors, calls, intervals_missed);
    if let Some(note) = paging.note() {
        outcome.output_message.push('\n');
        outcome.output_message.push_str(&note);
    }
    Ok(outcome)
}

fn is_unreachable(e: &Error) -> bool {
    matches!(e.code, ErrorCode::Connection | ErrorCode::Timeout)
}

fn outcome(
    window: &Window,
    listed: Vec<TapObject>,
    details: Vec<Option<TapObject>>,
    errors: Vec<ErrorEntry>,
    calls: usize,
    intervals_missed: bool,
) -> Outcome {
    let between = format!(
        "between {} and {}",
        time_window::format(window.start),
        time_window::format(window.end)
    );
    let spent = format!(
        "{calls} call{} to /v2/campaign/ids (TAP allows 50 a day)",
        if calls == 1 { "" } else { "s" }
    );
    let mut message = if listed.is_empty() {
        format!("No campaigns were found in ProofPoint TAP {between}; {spent}.")
    } else {
        format!(
            "Found {} campaign{} in ProofPoint TAP {between}; {spent}.",
            listed.len(),
            if listed.len() == 1 { "" } else { "s" }
        )
    };
    if intervals_missed {
        message.push_str(
            "\nThe list is incomplete: some intervals could not be queried (see errors).",
        );
    }
    let with_details = details.iter().any(Option::is_some);
    let mut columns = vec!["ID", "Last Updated At"];
    if with_details {
        columns.extend(["Name", "Start Date"]);
    }
    let rows = listed
        .iter()
        .zip(&details)
        .map(|(c, detail)| {
            let mut row = vec![c.text_of(&["id"]), c.text_of(&["lastUpdatedAt"])];
            if with_details {
                let view = detail.as_ref().map(|d| d.view(&["name", "startDate"]));
                row.push(
                    view.as_ref()
                        .map(|d| text(field(d, &["name"])))
                        .unwrap_or_default(),
                );
                row.push(
                    view.as_ref()
                        .map(|d| text(field(d, &["startDate"])))
                        .unwrap_or_default(),
                );
            }
            Row::from(row)
        })
        .collect();
    let tables = if listed.is_empty() {
        Vec::new()
    } else {
        vec![Table {
            title: "Campaigns".into(),
            columns: columns.into_iter().map(str::to_owned).collect(),
            rows,
        }]
    };
    let found = !listed.is_empty();
    Outcome {
        json_result: json_result(listed, details),
        tables,
        errors,
        ..Outcome::completed(found, message)
    }
}

/// The listed campaigns, each with its details (when fetched) as TAP sent them.
fn json_result(listed: Vec<TapObject>, details: Vec<Option<TapObject>>) -> Option<JsonResult> {
    let items: Vec<TapObject> = listed
        .into_iter()
        .zip(details)
        .map(|(mut object, detail)| {
            if let Some(detail) = detail {
                object.insert("details", &detail);
            }
            object
        })
        .collect();
    JsonResult::raw(&items)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::{parse, Section};

    fn now() -> OffsetDateTime {
        time_window::parse("2021-03-25T12:00:00Z").unwrap()
    }

    fn window_of(v: Value) -> Result<Window> {
        window(
            &parse::<Params, _>(v.as_object().unwrap().clone(), Section::Parameters)?,
            now(),
        )
    }

    #[test]
    fn frames_and_custom_windows() {
        let w = window_of(json!({})).unwrap();
        assert_eq!(w.intervals(), ["2021-03-24T12:00:00Z/2021-03-25T12:00:00Z"]);
        let w = window_of(json!({"Time Frame": "Last Hour"})).unwrap();
        assert_eq!(w.intervals(), ["2021-03-25T11:00:00Z/2021-03-25T12:00:00Z"]);
        let w = window_of(json!({"time_frame": "Last Week"})).unwrap();
        let intervals = w.intervals();
        assert_eq!(intervals.len(), 7);
        assert_eq!(intervals[0], "2021-03-24T12:00:00Z/2021-03-25T12:00:00Z");
        assert_eq!(intervals[6], "2021-03-18T13:00:00Z/2021-03-19T12:00:00Z");
        let w = window_of(
            json!({"Start Time": "2021-03-23T00:00:00Z", "End Time": "2021-03-24T06:00:00Z"}),
        )
        .unwrap();
        assert_eq!(
            w.intervals(),
            [
                "2021-03-23T06:00:00Z/2021-03-24T06:00:00Z",
                "2021-03-23T00:00:00Z/2021-03-23T06:00:00Z"
            ]
        );
    }

    #[test]
    fn invalid_windows_say_why() {
        let msg = |v: Value| window_of(v).unwrap_err().message;
        assert!(msg(json!({"time_frame": "Custom"})).contains("needs \"Start Time\""));
        assert!(msg(
            json!({"start_time": "2021-03-25T10:00:00Z", "end_time": "2021-03-25T09:00:00Z"})
        )
        .contains("must be before"));
        assert!(
            msg(json!({"start_time": "2021-03-17T00:00:00Z"})).contains("more than 7 days back")
        );
        assert!(msg(json!({"start_time": "last tuesday"})).contains("ISO-8601"));
        assert!(msg(json!({"max_campaigns": 201})).contains("between 1 and 200"));
        assert!(msg(json!({"time_frame": "Last Month"})).contains("unknown variant"));
    }
}
