//! The actions: their names in every accepted spelling, their parameters, and dispatch.
//!
//! Each action is one module with its `Params` type (the single source of its parameters), its
//! `run` function and its unit tests. [`run`] is the one `match` from an action to its module.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, OnceLock};

use serde_json::Value;
use tokio::time::Instant;

use crate::client::TapClient;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::params::{self, Noun, ParamInfo};
use crate::wire::{
    Enrichment, Entity, ErrorEntry, ExecutionState, Insight, JsonResult, RawParams, Table,
    TargetEntity,
};

pub mod decode_url;
pub mod evidence;
pub mod get_campaign;
pub mod get_forensics;
pub mod get_top_clickers;
pub mod get_vaps;
pub mod list_campaigns;
pub mod people;
pub mod ping;
pub mod search_events;

/// Evaluates `$body` with `$p` standing for the action's parameter type: the one place that
/// pairs each action with its `Params`. `$p<'a>` takes the lifetime of the request text the
/// parameters may borrow from (unused by parameters that borrow nothing).
macro_rules! with_params {
    ($action:expr, $p:ident => $body:expr) => {
        match $action {
            Action::Ping => {
                type $p<'a> = ping::Params;
                $body
            }
            Action::DecodeUrl => {
                type $p<'a> = decode_url::Params<'a>;
                $body
            }
            Action::GetCampaign => {
                type $p<'a> = get_campaign::Params<'a>;
                $body
            }
            Action::GetForensics => {
                type $p<'a> = get_forensics::Params<'a>;
                $body
            }
            Action::ListCampaigns => {
                type $p<'a> = list_campaigns::Params;
                $body
            }
            Action::GetVaps => {
                type $p<'a> = get_vaps::Params;
                $body
            }
            Action::GetTopClickers => {
                type $p<'a> = get_top_clickers::Params;
                $body
            }
            Action::SearchEvents => {
                type $p<'a> = search_events::Params<'a>;
                $body
            }
        }
    };
}

/// An action this binary runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Test connectivity and credentials.
    Ping,
    /// Decode URL Defense URLs.
    DecodeUrl,
    /// Campaigns and their forensics.
    GetCampaign,
    /// Forensics of threats or campaigns.
    GetForensics,
    /// Campaigns updated in a window.
    ListCampaigns,
    /// The Very Attacked People list.
    GetVaps,
    /// The Top Clickers list.
    GetTopClickers,
    /// SIEM clicks and messages.
    SearchEvents,
}

/// The names and texts of one action.
#[derive(Debug)]
pub struct ActionInfo {
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

impl Action {
    /// Every action, in the order they are listed.
    pub const ALL: &'static [Action] = &[
        Action::Ping,
        Action::DecodeUrl,
        Action::GetCampaign,
        Action::GetForensics,
        Action::ListCampaigns,
        Action::GetVaps,
        Action::GetTopClickers,
        Action::SearchEvents,
    ];

    /// The action's names and texts.
    pub fn info(self) -> &'static ActionInfo {
        match self {
            Action::Ping => &ping::INFO,
            Action::DecodeUrl => &decode_url::INFO,
            Action::GetCampaign => &get_campaign::INFO,
            Action::GetForensics => &get_forensics::INFO,
            Action::ListCampaigns => &list_campaigns::INFO,
            Action::GetVaps => &get_vaps::INFO,
            Action::GetTopClickers => &get_top_clickers::INFO,
            Action::SearchEvents => &search_events::INFO,
        }
    }

    /// The action's parameters.
    pub fn params(self) -> Vec<ParamInfo> {
        with_params!(self, P => params::describe::<P<'static>>())
    }

    /// The JSON Schema of the action's parameters.
    pub fn params_schema(self) -> Value {
        with_params!(self, P => params::schema_generator().into_root_schema_for::<P<'static>>().to_value())
    }

    /// Reads `raw` as this action's parameters without running anything (used by the fuzzer).
    pub fn check_parameters(self, raw: &RawParams<'_>) -> Result<()> {
        let raw = raw.0.iter().cloned();
        with_params!(self, P => params::parse::<P<'_>, _>(raw, Noun::Parameter).map(drop))
    }

    /// An example request a playbook engineer can pipe in.
    pub fn example(self) -> Value {
        match self {
            Action::Ping => ping::example(),
            Action::DecodeUrl => decode_url::example(),
            Action::GetCampaign => get_campaign::example(),
            Action::GetForensics => get_forensics::example(),
            Action::ListCampaigns => list_campaigns::example(),
            Action::GetVaps => get_vaps::example(),
            Action::GetTopClickers => get_top_clickers::example(),
            Action::SearchEvents => search_events::example(),
        }
    }

    /// Finds an action by any accepted name: canonical, tool, script or display name, ignoring case.
    pub fn resolve(name: &str) -> Option<Action> {
        let name = name.trim();
        Action::ALL.iter().copied().find(|a| {
            let i = a.info();
            [i.name, i.display_name, i.script_name, i.tool_name]
                .iter()
                .any(|n| n.eq_ignore_ascii_case(name))
        })
    }
}

/// What an action runs with.
#[derive(Debug)]
pub struct Context {
    /// The target entities left after scope filtering.
    pub entities: Vec<TargetEntity>,
    /// The resolved configuration.
    pub config: Config,
    /// When work must stop (the platform's deadline less the margin).
    pub deadline: Option<Instant>,
    /// HTTP requests sent, for `metrics`.
    pub http_requests: Arc<AtomicU64>,
    /// What this run takes as now (see [`crate::timewin::now`]).
    pub now: time::OffsetDateTime,
    /// The request text; results may keep slices of it instead of copies.
    pub request_text: Arc<String>,
    client: OnceLock<TapClient>,
}

impl Context {
    /// A context; the TAP client is built on first use, so actions that need no network build none.
    pub fn new(
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

    /// The bound on TAP requests in flight for this run.
    pub fn bound(&self) -> Bound {
        Bound(tokio::sync::Semaphore::new(self.config.max_concurrency))
    }
}

/// At most `max_concurrency` requests in flight: every concurrent TAP call goes through one.
#[derive(Debug)]
pub struct Bound(tokio::sync::Semaphore);

impl Bound {
    /// Runs `work` once a slot is free.
    pub async fn run<F: std::future::Future>(&self, work: F) -> F::Output {
        // The semaphore is never closed, so acquiring only waits.
        let _slot = self.0.acquire().await;
        work.await
    }
}

/// The error that fails a whole per-item action, if any: rejected credentials anywhere, or no item
/// that got through to TAP at all (every one a connection failure or timeout).
pub fn fatal_error<'a>(mut errors: impl Iterator<Item = Option<&'a Error>>) -> Option<Error> {
    let mut all_unreachable = true;
    let mut first_unreachable = None;
    let mut any = false;
    for error in errors.by_ref() {
        any = true;
        match error {
            Some(e) if e.code == crate::error::ErrorCode::Unauthorized => {
                return Some(Error::new(e.code, e.message.clone()))
            }
            Some(e)
                if matches!(
                    e.code,
                    crate::error::ErrorCode::Connection | crate::error::ErrorCode::Timeout
                ) =>
            {
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
    pub fn client(&self) -> Result<&TapClient> {
        if let Some(client) = self.client.get() {
            return Ok(client);
        }
        let client = TapClient::new(&self.config, self.deadline, self.http_requests.clone())?;
        Ok(self.client.get_or_init(|| client))
    }
}

/// What an action produced; the runner adds the echoed request fields and metrics.
#[derive(Debug, Clone)]
pub struct Outcome {
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
    /// A completed run with nothing but a result and a message.
    pub fn completed(result_value: bool, output_message: impl Into<String>) -> Self {
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
    pub fn failed(error: Error, output_message: impl Into<String>) -> Self {
        Outcome {
            state: ExecutionState::Failed,
            errors: vec![error.into()],
            ..Outcome::completed(false, output_message)
        }
    }
}

/// The configuration every example request carries: placeholders for the credentials, which a
/// reader replaces or leaves out in favour of the environment.
pub fn example_configuration() -> Value {
    serde_json::json!({
        "api_root": "https://tap-api-v2.proofpoint.com",
        "username": "<TAP service principal>",
        "password": "<TAP service secret>",
        "verify_ssl": true
    })
}

/// At most this many items are named in an output message; the rest are counted.
pub const MAX_NAMED: usize = 50;

/// `a, b, c`, or `a, b, ... and 950 more (see json_result)` past [`MAX_NAMED`] items: a message is
/// read by people, the full list is in the JSON result.
pub fn name_list(items: &[&str], full_list_in: &str) -> String {
    counted_name_list(
        &items[..items.len().min(MAX_NAMED)],
        items.len(),
        full_list_in,
    )
}

/// As [`name_list`], given the first items (at least [`MAX_NAMED`] when there are that many) and
/// how many there are in all.
pub fn counted_name_list(first: &[&str], total: usize, full_list_in: &str) -> String {
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

/// The message of a failure no action worded itself.
pub fn failure_message(action: Option<Action>, error: &Error) -> String {
    match action {
        Some(a) => format!(
            "Error executing action \"{}\". Reason: {}",
            a.info().display_name,
            error.message
        ),
        None => error.message.clone(),
    }
}

/// Parses the parameters and runs the action. An `Err` fails the whole action.
pub async fn run(action: Action, ctx: &Context, raw: RawParams<'_>) -> Result<Outcome> {
    let raw = raw.0;
    match action {
        Action::Ping => ping::run(ctx, params::parse(raw, Noun::Parameter)?).await,
        Action::DecodeUrl => decode_url::run(ctx, params::parse(raw, Noun::Parameter)?).await,
        Action::GetCampaign => get_campaign::run(ctx, params::parse(raw, Noun::Parameter)?).await,
        Action::GetForensics => get_forensics::run(ctx, params::parse(raw, Noun::Parameter)?).await,
        Action::ListCampaigns => {
            list_campaigns::run(ctx, params::parse(raw, Noun::Parameter)?).await
        }
        Action::GetVaps => get_vaps::run(ctx, params::parse(raw, Noun::Parameter)?).await,
        Action::GetTopClickers => {
            get_top_clickers::run(ctx, params::parse(raw, Noun::Parameter)?).await
        }
        Action::SearchEvents => search_events::run(ctx, params::parse(raw, Noun::Parameter)?).await,
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
