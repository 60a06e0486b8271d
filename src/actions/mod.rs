//! The actions, and the one registry that lists them.
//!
//! Each action is one module with a unit type implementing [`context::ActionDef`]: its names and texts, its
//! `Params` type (the single source of its parameters), an example request and `run`. [`Action`]
//! is a handle to one registered definition; [`Action::ALL`] is the registry. Adding an action is
//! one new module and one line there.
//!
//! Shared machinery sits below the actions, in [`context`] (context, outcome, messages),
//! [`evidence`] (forensic evidence), [`tap_fields`] (reading TAP's fields as text) and [`verdict`]
//! (what is malicious, how severe).

pub(crate) mod context;
mod decode_url;
mod enrich_entities;
mod evidence;
mod get_campaign;
mod get_forensics;
mod get_message_details;
mod get_threat_summary;
mod list_campaigns;
mod people;
mod ping;
mod search_events;
pub(crate) mod tap_fields;
pub(crate) mod verdict;

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use serde_json::Value;

use crate::error::Result;
use crate::params::{self, ParamInfo, Section};
use crate::params::{ParamSpec, Parameters};
use crate::protocol::RawParams;
use context::ActionDef;
pub(crate) use context::{failure_message, name_list, ActionInfo, Context, Outcome};

/// A registered action: a handle to its [`ActionDef`], cheap to copy and compare.
#[derive(Clone, Copy)]
pub(crate) struct Action(&'static dyn Registered);

impl Action {
    /// Every action, in the order they are listed: the registry.
    pub(crate) const ALL: &'static [Action] = &[
        Action::of::<ping::Ping>(),
        Action::of::<decode_url::DecodeUrl>(),
        Action::of::<get_campaign::GetCampaign>(),
        Action::of::<get_forensics::GetForensics>(),
        Action::of::<list_campaigns::ListCampaigns>(),
        Action::of::<people::GetVaps>(),
        Action::of::<people::GetTopClickers>(),
        Action::of::<search_events::SearchEvents>(),
        Action::of::<get_threat_summary::GetThreatSummary>(),
        Action::of::<get_message_details::GetMessageDetails>(),
        Action::of::<enrich_entities::EnrichEntities>(),
    ];

    const fn of<A: ActionDef>() -> Action {
        Action(Entry::<A>::ENTRY)
    }

    /// The action's names and texts.
    pub(crate) fn info(self) -> &'static ActionInfo {
        self.0.info()
    }

    /// Finds an action by any accepted name: canonical, tool, script or display name, ignoring case.
    pub(crate) fn resolve(name: &str) -> Option<Action> {
        let name = name.trim();
        Action::ALL.iter().copied().find(|a| {
            let i = a.info();
            [i.name, i.display_name, i.script_name, i.tool_name]
                .iter()
                .any(|n| n.eq_ignore_ascii_case(name))
        })
    }

    /// The action's parameters as its JSON Schema describes them (for `actions/` and the CLI).
    pub(crate) fn params(self) -> Vec<ParamInfo> {
        self.0.params()
    }

    /// The parameters as declared.
    pub(crate) fn specs(self) -> Vec<ParamSpec> {
        self.0.specs()
    }

    /// The JSON Schema of the action's parameters.
    pub(crate) fn params_schema(self) -> Value {
        self.0.params_schema()
    }

    /// An example request.
    pub(crate) fn example(self) -> Value {
        self.0.example()
    }

    /// Reads `raw` as this action's parameters without running anything (used by the fuzzer).
    pub(crate) fn check_parameters(self, raw: &RawParams<'_>) -> Result<()> {
        self.0.check(raw)
    }

    /// Parses the parameters and runs the action. An `Err` fails the whole action.
    pub(crate) fn run<'a>(self, ctx: &'a Context, raw: RawParams<'a>) -> LocalFuture<'a> {
        self.0.run(ctx, raw)
    }
}

impl PartialEq for Action {
    fn eq(&self, other: &Self) -> bool {
        self.info().name == other.info().name
    }
}

impl Eq for Action {}

impl fmt::Debug for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Action({})", self.info().name)
    }
}

/// An action's run, boxed so that every action's can be held alike.
pub(crate) type LocalFuture<'a> = Pin<Box<dyn Future<Output = Result<Outcome>> + 'a>>;

/// An [`ActionDef`] seen without its types: what [`Action`] calls.
trait Registered: Sync {
    fn info(&self) -> &'static ActionInfo;
    fn params(&self) -> Vec<ParamInfo>;
    fn specs(&self) -> Vec<ParamSpec>;
    fn params_schema(&self) -> Value;
    fn example(&self) -> Value;
    fn check(&self, raw: &RawParams<'_>) -> Result<()>;
    fn run<'a>(&self, ctx: &'a Context, raw: RawParams<'a>) -> LocalFuture<'a>;
}

/// The one implementation of [`Registered`], for any action.
struct Entry<A>(PhantomData<fn() -> A>);

impl<A: ActionDef> Entry<A> {
    const ENTRY: &'static dyn Registered = &Entry::<A>(PhantomData);
}

impl<A: ActionDef> Registered for Entry<A> {
    fn info(&self) -> &'static ActionInfo {
        A::INFO
    }

    fn params(&self) -> Vec<ParamInfo> {
        params::describe::<A::Params<'static>>()
    }

    fn specs(&self) -> Vec<ParamSpec> {
        <A::Params<'static> as Parameters<'static>>::specs()
    }

    fn params_schema(&self) -> Value {
        params::schema_for::<A::Params<'static>>(Section::Parameters)
    }

    fn example(&self) -> Value {
        A::example()
    }

    fn check(&self, raw: &RawParams<'_>) -> Result<()> {
        let raw = raw.0.iter().cloned();
        params::parse::<A::Params<'_>, _>(raw, Section::Parameters).map(drop)
    }

    fn run<'a>(&self, ctx: &'a Context, raw: RawParams<'a>) -> LocalFuture<'a> {
        Box::pin(async move {
            let params = params::parse::<A::Params<'a>, _>(raw.0, Section::Parameters)?;
            A::run(ctx, params).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_declared_spec_is_what_its_schema_says() {
        for action in Action::ALL {
            let infos = action.params();
            let specs = action.0.specs();
            assert_eq!(
                specs.iter().map(|s| s.key).collect::<Vec<_>>(),
                infos.iter().map(|i| i.key.as_str()).collect::<Vec<_>>(),
                "{}",
                action.info().name
            );
            for (spec, info) in specs.iter().zip(&infos) {
                params::spec::assert_spec_matches(spec, info);
            }
        }
    }

    #[test]
    fn examples_name_their_action_and_parse() {
        for action in Action::ALL {
            let example = action.example();
            assert_eq!(example["action"], action.info().name);
            // Configuration in a request overrides the environment: an example's placeholders
            // would send whoever runs it to the real TAP host with a made-up principal.
            assert!(example.get("configuration").is_none(), "{example}");
            let text = example.to_string();
            let request = crate::protocol::request::parse(&text).unwrap();
            assert!(action.check_parameters(&request.parameters).is_ok());
        }
    }

    #[test]
    fn names_are_unique() {
        // A name may repeat within one action ("ping" and "Ping"), never across two.
        let mut names: Vec<String> = Action::ALL
            .iter()
            .flat_map(|a| {
                let i = a.info();
                let mut own = [i.name, i.display_name, i.script_name, i.tool_name]
                    .map(str::to_ascii_lowercase)
                    .to_vec();
                own.sort();
                own.dedup();
                own
            })
            .collect();
        let all = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), all);
    }
}
