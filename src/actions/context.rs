//! What every action builds on: the names and texts an action declares, the context it runs in
//! (configuration, entities, deadline, the TAP client, the slots for requests in flight), the
//! outcome it returns, and the wording shared by their messages.
//!
//! Action modules import from here, [`ActionDef`] included; nothing here knows any action.

use std::future::Future;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, OnceLock};

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;
use tokio::time::Instant;

use crate::config::Config;
use crate::error::{Error, ErrorCode, Result};
use crate::params::Parameters;
use crate::protocol::{
    Enrichment, Entity, ErrorEntry, ExecutionState, Insight, JsonResult, Row, Table, TargetEntity,
};
use crate::tap::TapClient;

/// The names and texts of one action.
#[derive(Debug)]
pub(crate) struct ActionInfo {
    /// Canonical name, as the envelope reports it.
    pub name: &'static str,
    /// SOAR display name.
    pub display_name: &'static str,
    /// SOAR script name.
    pub script_name: &'static str,
    /// MCP tool name.
    pub tool_name: &'static str,
    /// Name of the script result.
    pub result_name: &'static str,
    /// What it does, in one or two sentences.
    pub description: &'static str,
}

/// What an action declares about itself, once.
pub(crate) trait ActionDef: 'static {
    /// Its names and texts.
    const INFO: &'static ActionInfo;
    /// Its parameters; they may borrow from the request text (`'a`).
    type Params<'a>: Deserialize<'a> + JsonSchema + Parameters<'a>;
    /// An example request a playbook engineer can pipe in.
    fn example() -> Value;
    /// Runs the action. An `Err` fails the whole action.
    fn run<'a>(
        ctx: &'a Context,
        params: Self::Params<'a>,
    ) -> impl Future<Output = Result<Outcome>> + 'a;
}

/// What an action runs with.
#[derive(Debug)]
pub(crate) struct Context {
    /// The target entities left after scope filtering.
    pub entities: Vec<TargetEntity>,
    /// The resolved configuration.
    pub config: Config,
    /// When work must stop (the platform's deadline less the margin).
    pub deadline: Option<Instant>,
    /// HTTP requests sent, for `metrics`.
    pub http_requests: Arc<AtomicU64>,
    /// What this run takes as now (see [`crate::params::time_window::now`]).
    pub now: time::OffsetDateTime,
    /// The request text; results may keep slices of it instead of copies.
    pub request_text: Arc<String>,
    client: OnceLock<TapClient>,
}

impl Context {
    /// A context; the TAP client is built on first use, so actions that need no network build none.
    pub(crate) fn new(
        entities: Vec<TargetEntity>,
        config: Config,
        deadline: Option<Instant>,
        now: time::OffsetDateTime,
        request_text: Arc<String>,
    ) -> Self {
        Context {
            entities,
            config,
            deadline,
            http_requests: Arc::default(),
            now,
            request_text,
            client: OnceLock::new(),
        }
    }

    /// Runs CPU-bound `work` (reading a big answer) on the blocking pool, so that the deadline
    /// timer can still fire meanwhile; at the deadline it counts as not finished
    /// (`deadline_exceeded`), and is left to end on its own.
    pub(crate) async fn off_thread<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T> {
        self.started_off_thread(work).await
    }

    /// As [`Context::off_thread`], but `work` starts now rather than when the returned future is
    /// first awaited: a caller can go on with the next call while an answer is read.
    pub(crate) fn started_off_thread<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> impl Future<Output = Result<T>> + '_ {
        let running = tokio::task::spawn_blocking(work);
        self.joined(running)
    }

    async fn joined<T>(&self, running: tokio::task::JoinHandle<T>) -> Result<T> {
        let joined = match self.deadline {
            None => running.await,
            Some(deadline) => tokio::time::timeout_at(deadline, running)
                .await
                .map_err(|_| {
                    Error::new(
                        ErrorCode::DeadlineExceeded,
                        "not finished before the execution deadline (reading the answer took too long)",
                    )
                })?,
        };
        joined.map_err(|e| {
            Error::new(
                ErrorCode::Internal,
                format!("reading TAP's answer stopped unexpectedly: {e}"),
            )
        })
    }

    /// The slots for TAP requests in flight in this run: `max_concurrency` of them.
    pub(crate) fn request_slots(&self) -> RequestSlots {
        RequestSlots(tokio::sync::Semaphore::new(self.config.max_concurrency))
    }
}

/// At most `max_concurrency` requests in flight: every concurrent TAP call takes a slot.
#[derive(Debug)]
pub(crate) struct RequestSlots(tokio::sync::Semaphore);

impl RequestSlots {
    /// Runs `work` once a slot is free.
    pub(crate) async fn run<F: std::future::Future>(&self, work: F) -> F::Output {
        // The semaphore is never closed, so acquiring only waits.
        let _slot = self.0.acquire().await;
        work.await
    }
}

/// The error that fails a whole per-item action, if any: rejected credentials anywhere, or no item
/// that got through to TAP at all (every one a connection failure or timeout).
pub(crate) fn fatal_error<'a>(
    mut errors: impl Iterator<Item = Option<&'a Error>>,
) -> Option<Error> {
    let mut all_unreachable = true;
    let mut first_unreachable = None;
    let mut any = false;
    for error in errors.by_ref() {
        any = true;
        match error {
            Some(e) if e.code == ErrorCode::Unauthorized => {
                return Some(Error::new(e.code, e.message.clone()))
            }
            Some(e) if matches!(e.code, ErrorCode::Connection | ErrorCode::Timeout) => {
                first_unreachable.get_or_insert_with(|| Error::new(e.code, e.message.clone()));
            }
            _ => all_unreachable = false,
        }
    }
    if any && all_unreachable {
        first_unreachable
    } else {
        None
    }
}

impl Context {
    /// The TAP client, built (and the API root and credentials checked) on first call.
    pub(crate) fn client(&self) -> Result<&TapClient> {
        if let Some(client) = self.client.get() {
            return Ok(client);
        }
        let client = TapClient::new(&self.config, self.deadline, self.http_requests.clone())?;
        Ok(self.client.get_or_init(|| client))
    }
}

/// What an action produced; the runner adds the echoed request fields and metrics.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    /// How the run ended.
    pub state: ExecutionState,
    /// The script result.
    pub result_value: bool,
    /// For people.
    pub output_message: String,
    /// The JSON result, if any.
    pub json_result: Option<JsonResult>,
    /// Insights to add.
    pub insights: Vec<Insight>,
    /// Entities to add.
    pub entities: Vec<Entity>,
    /// Enrichments of target entities.
    pub enrichments: Vec<Enrichment>,
    /// Tables to attach.
    pub tables: Vec<Table>,
    /// Failures.
    pub errors: Vec<ErrorEntry>,
}

impl Outcome {
    /// Removes control characters and BiDi overrides from what people read on the case wall: the
    /// message, the insights and the tables (whatever TAP put in its strings).
    pub(crate) fn strip_controls(&mut self) {
        use super::tap_fields::strip_controls as strip;
        strip(&mut self.output_message);
        for insight in &mut self.insights {
            strip(&mut insight.title);
            strip(&mut insight.content);
        }
        for table in &mut self.tables {
            strip(&mut table.title);
            table.columns.iter_mut().for_each(strip);
            for row in &mut table.rows {
                if row.cells().any(super::tap_fields::has_controls) {
                    let mut cells: Vec<String> = row.cells().map(str::to_owned).collect();
                    cells.iter_mut().for_each(strip);
                    *row = Row::new(cells);
                }
            }
        }
    }

    /// A completed run with nothing but a result and a message.
    pub(crate) fn completed(result_value: bool, output_message: impl Into<String>) -> Self {
        Outcome {
            state: ExecutionState::Completed,
            result_value,
            output_message: output_message.into(),
            json_result: None,
            insights: Vec::new(),
            entities: Vec::new(),
            enrichments: Vec::new(),
            tables: Vec::new(),
            errors: Vec::new(),
        }
    }

    /// A failed run: `error` is the one entry of `errors`.
    pub(crate) fn failed(error: Error, output_message: impl Into<String>) -> Self {
        Outcome {
            state: ExecutionState::Failed,
            errors: vec![error.into()],
            ..Outcome::completed(false, output_message)
        }
    }
}

/// The most calls one run makes to one paged endpoint, whatever the server answers (SPEC §5).
pub(crate) const MAX_PAGED_CALLS: usize = 20;

/// Keeps a paged listing bounded whatever the server sends: it stops when a page adds nothing
/// new (a server that ignores `page`, repeats items or sends them without ids), when the pages the
/// asked maximum needs are done, and at [`MAX_PAGED_CALLS`] calls of the endpoint; and it says why
/// when the reason is not the ordinary end of the list.
#[derive(Debug)]
pub(crate) struct Paging {
    endpoint: &'static str,
    calls: usize,
    stop: Option<PagingStop>,
}

/// Why a listing stopped before the list said it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PagingStop {
    NothingNew,
    CallLimit,
}

impl Paging {
    /// A listing of `endpoint` (as named in messages, e.g. `/v2/campaign/ids`).
    pub(crate) fn new(endpoint: &'static str) -> Self {
        Paging {
            endpoint,
            calls: 0,
            stop: None,
        }
    }

    /// Whether one more call may be made; counts it when it may.
    pub(crate) fn may_call(&mut self) -> bool {
        if self.calls >= MAX_PAGED_CALLS {
            self.stop = Some(PagingStop::CallLimit);
            return false;
        }
        self.calls += 1;
        true
    }

    /// Whether to ask for the next page, after one that held `got` items of which `new` were not
    /// listed before, asked with page size `size`.
    pub(crate) fn goes_on(&mut self, got: usize, new: usize, size: usize) -> bool {
        if got > 0 && new == 0 {
            self.stop = Some(PagingStop::NothingNew);
            return false;
        }
        got >= size
    }

    /// The pages at most needed for `max` items at `size` a page.
    pub(crate) fn pages_needed(max: usize, size: usize) -> usize {
        max.div_ceil(size.max(1))
    }

    /// A line for the output message when paging stopped for another reason than the end of the
    /// list or the asked maximum.
    pub(crate) fn note(&self) -> Option<String> {
        let endpoint = self.endpoint;
        self.stop.map(|stop| match stop {
            PagingStop::NothingNew => format!(
                "Paging stopped: a page of {endpoint} added nothing new (its items were repeats of earlier ones, or had no id)."
            ),
            PagingStop::CallLimit => format!(
                "Paging stopped after {MAX_PAGED_CALLS} calls of {endpoint}, the most one run makes; the list may be incomplete."
            ),
        })
    }
}

/// Whether `s` is a UUID (`8-4-4-4-12` hex digits).
pub(crate) fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, len)| g.len() == len && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Whether `s` can be a TAP threat id: letters, digits, `-`, `_`, `.`; at most 256 characters.
pub(crate) fn is_threat_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 256
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        && s != "."
        && s != ".."
}

/// Whether `s` is a SHA-256 in hex.
pub(crate) fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The threat ids the entities in scope stand for (SPEC §4.11): THREATSIGNATURE identifiers, and
/// SHA-256 FILEHASH ones (an attachment's threat id is its SHA-256), hex lower-cased (SOAR
/// upper-cases identifiers). Each with the identifier of its entity, in entity order.
pub(crate) fn threat_ids_of(entities: &[TargetEntity]) -> Vec<(String, String)> {
    entities
        .iter()
        .filter_map(|e| {
            let value = e.value().trim();
            let id = if e.is_type("THREATSIGNATURE") && is_threat_id(value) {
                if is_sha256(value) {
                    value.to_ascii_lowercase()
                } else {
                    value.to_owned()
                }
            } else if e.is_type("FILEHASH") && is_sha256(value) {
                value.to_ascii_lowercase()
            } else {
                return None;
            };
            Some((id, e.identifier.clone()))
        })
        .collect()
}

/// The campaign ids the THREATCAMPAIGN entities in scope stand for (SPEC §4.11): their
/// `campaign_id` property (as this integration's own entities carry it), else an identifier
/// that is a UUID.
pub(crate) fn campaign_ids_of(entities: &[TargetEntity]) -> Vec<String> {
    entities
        .iter()
        .filter(|e| e.is_type("THREATCAMPAIGN"))
        .filter_map(|e| {
            let property = e
                .additional_properties
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("campaign_id"))
                .and_then(|(_, v)| v.as_str())
                .map(str::trim)
                .filter(|v| is_uuid(v));
            property
                .or_else(|| Some(e.value().trim()).filter(|v| is_uuid(v)))
                .map(str::to_ascii_lowercase)
        })
        .collect()
}

/// The note a message ends with when ids came from the entities in scope.
pub(crate) const FROM_ENTITIES: &str = " (ids from the entities in scope)";

/// At most this many items are named in an output message; the rest are counted.
pub(crate) const MAX_NAMED: usize = 50;

/// `a, b, c`, or `a, b, ... and 950 more (see json_result)` past [`MAX_NAMED`] items: a message is
/// read by people, the full list is in the JSON result.
pub(crate) fn name_list(items: &[&str], full_list_in: &str) -> String {
    counted_name_list(
        &items[..items.len().min(MAX_NAMED)],
        items.len(),
        full_list_in,
    )
}

/// As [`name_list`], given the first items (at least [`MAX_NAMED`] when there are that many) and
/// how many there are in all.
pub(crate) fn counted_name_list(first: &[&str], total: usize, full_list_in: &str) -> String {
    let named = &first[..first.len().min(MAX_NAMED)];
    if total <= named.len() {
        return named.join(", ");
    }
    format!(
        "{} and {} more (see {full_list_in})",
        named.join(", "),
        total - named.len()
    )
}

/// The message of a failure no action worded itself, for the action with this display name (none
/// when the action is not known).
pub(crate) fn failure_message(display_name: Option<&str>, error: &Error) -> String {
    match display_name {
        Some(name) => format!(
            "Error executing action \"{name}\". Reason: {}",
            error.message
        ),
        None => error.message.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_name_lists_are_counted_not_printed() {
        let few = ["a", "b"];
        assert_eq!(name_list(&few, "errors"), "a, b");
        let many: Vec<String> = (0..MAX_NAMED + 3).map(|i| i.to_string()).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        let text = name_list(&many, "json_result");
        assert!(text.starts_with("0, 1, 2"));
        assert!(
            text.ends_with(", 49 and 3 more (see json_result)"),
            "{text}"
        );
    }
}
