//! The runner: stdin to one envelope on stdout, and the exit-status policy.
//!
//! [`run_stdio`] is the whole pipeline of `proofpoint-tap run`; [`execute`] is its core, request
//! bytes in and an envelope out. Every failure — unusable input, unknown action, bad parameter, an
//! API that says no, a deadline, a panic — ends here as an envelope.

use std::any::Any;
use std::io::IsTerminal;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

use crate::actions::{failure_message, name_list, Action, Context, Outcome};
use crate::config::Config;
use crate::error::{Error, ErrorCode};
use crate::input::{self, Input};
use crate::params::time_window;
use crate::protocol::request::{self, Echo};
use crate::protocol::{
    scope, write, Entities, Envelope, ExecutionState, JsonResult, Metrics, RawParams,
};

/// How the process ends (SPEC §1): the one place exit codes are decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ExitStatus {
    /// 0: the action completed, or the command did what it was asked.
    Success,
    /// 1: the action failed or timed out, or the output could not be written.
    Failure,
    /// 2: the request itself was unusable, or the command line was.
    Unusable,
}

impl ExitStatus {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Failure => 1,
            ExitStatus::Unusable => 2,
        }
    }

    /// Failure when writing the output failed (a closed stdout is not a panic).
    pub(crate) fn of_output(written: std::io::Result<()>) -> Self {
        match written {
            Ok(()) => ExitStatus::Success,
            Err(_) => ExitStatus::Failure,
        }
    }
}

/// `proofpoint-tap run`: one request from stdin, its envelope on stdout. `cli_action` is the action
/// named on the command line, if any.
pub fn run_stdio(cli_action: Option<&str>, pretty: bool) -> ExitStatus {
    widen_pipes();
    if std::io::stdin().is_terminal() {
        eprintln!("proofpoint-tap: reading one JSON request from stdin (end with Ctrl-D)");
    }
    let envelope = catching(|| match input::read_stdin(DEADLINE_MARGIN) {
        Ok(Input::Ended(bytes)) => execute(bytes, cli_action, &|k| std::env::var(k).ok()),
        Ok(Input::CutAtDeadline(bytes)) => cut_at_deadline(bytes, cli_action),
        Err(e) => rejected(e),
    });
    let written = ExitStatus::of_output(write::envelope_to_stdout(&envelope, pretty));
    let status = written.max(exit_status(&envelope));
    // The process ends now: freeing a large envelope would only cost time.
    std::mem::forget(envelope);
    status
}

/// Pipe capacity asked for on stdin and stdout: 1 MiB, Linux's default ceiling for unprivileged
/// processes.
const PIPE_BYTES: usize = 1 << 20;

/// Enlarges stdin and stdout when they are pipes. A bulk request is megabytes each way, and with
/// the default 64 KiB pipe each side wakes the other hundreds of times; with 1 MiB both sides move
/// the data in a few large copies. Best effort: files, terminals and refusals are left as they are.
fn widen_pipes() {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsFd;
        // Fails with EBADF/EINVAL when the descriptor is not a pipe, EPERM over the user's pipe quota.
        let _ = rustix::pipe::fcntl_setpipe_size(std::io::stdin().as_fd(), PIPE_BYTES);
        let _ = rustix::pipe::fcntl_setpipe_size(std::io::stdout().as_fd(), PIPE_BYTES);
    }
}

/// How long before the platform's deadline work stops: requests are cut at that point and the
/// actions report what they finished.
pub(crate) const DEADLINE_MARGIN: Duration = Duration::from_secs(1);
/// After the working deadline, how long an action gets to assemble its partial result before the
/// runner abandons it and reports the whole action as timed out.
pub(crate) const DEADLINE_GRACE: Duration = Duration::from_millis(500);

/// Runs one request. `cli_action` is the action named on the command line, if any; `env` looks
/// up environment variables (injected so tests control it).
pub fn execute(
    input: Vec<u8>,
    cli_action: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Envelope {
    let started = std::time::Instant::now();
    // Shared: parameters borrow from it, and a result may keep slices of it (Decode URL's
    // encoded URLs) instead of copying them.
    let text = request::text(input).map(Arc::new);
    let prepared = match &text {
        Ok(text) => prepare(text, cli_action, env),
        Err(rejected) => Err(rejection((**rejected).clone(), cli_action)),
    };
    let (echo, action, outcome, http_requests) = match prepared {
        Err(rejection) => {
            let (echo, action, error) = *rejection;
            let message = failure_message(action.map(|a| a.info().display_name), &error);
            (echo, action, Outcome::failed(error, message), 0)
        }
        Ok(prepared) => {
            let Prepared {
                span,
                echo,
                action,
                ctx,
                parameters,
            } = prepared;
            let outcome = span.in_scope(|| {
                tracing::debug!("starting");
                let outcome = run_action(action, &ctx, parameters);
                tracing::debug!(
                    state = ?outcome.state,
                    http_requests = ctx.http_requests.load(Ordering::Relaxed),
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "finished"
                );
                outcome
            });
            let requests = ctx.http_requests.load(Ordering::Relaxed);
            (echo, Some(action), outcome, requests)
        }
    };
    envelope(
        echo,
        action,
        outcome,
        Metrics {
            duration_ms: started.elapsed().as_millis() as u64,
            http_requests,
        },
    )
}

struct Prepared<'a> {
    /// The run's span: every log line of the run names the action and the case.
    span: tracing::Span,
    echo: Echo,
    action: Action,
    ctx: Context,
    parameters: RawParams<'a>,
}

type Rejection = Box<(Echo, Option<Action>, Error)>;

/// A request that could not be read, with the action named on the command line if it was not.
fn rejection(rejected: (Error, Echo), cli_action: Option<&str>) -> Rejection {
    let (error, mut echo) = rejected;
    echo.action = cli_action.map(str::to_owned).or(echo.action);
    let action = echo.action.as_deref().and_then(Action::resolve);
    Box::new((echo, action, error))
}

/// Everything that can be checked before the action starts.
fn prepare<'a>(
    text: &'a Arc<String>,
    cli_action: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Prepared<'a>, Rejection> {
    let request = request::parse(text).map_err(|rejected| rejection(*rejected, cli_action))?;
    let mut echo = request.echo();
    let action = resolve_action(request.action.as_deref(), cli_action).map_err(|e| {
        echo.action = cli_action.map(str::to_owned).or(echo.action.clone());
        Box::new((echo.clone(), None, e))
    })?;
    // At warn, so that the lines shown at the default filter carry it too.
    let span = tracing::warn_span!(
        "run",
        action = action.info().name,
        case_id = echo.case_id.as_deref().unwrap_or_default()
    );
    let _entered = span.enter();
    let reject = |e: Error| Box::new((echo.clone(), Some(action), e));
    let entities =
        scope::apply(request.scope.as_deref(), request.target_entities).map_err(reject)?;
    let config = Config::resolve(&request.configuration, env).map_err(reject)?;
    let now = time_window::now(env).map_err(reject)?;
    let deadline = match request.execution_deadline_unix_time_ms {
        None => None,
        Some(ms) => Some(working_deadline(ms).map_err(reject)?),
    };
    drop(_entered);
    Ok(Prepared {
        span,
        echo,
        action,
        ctx: Context::new(entities, config, deadline, now, Arc::clone(text)),
        parameters: request.parameters,
    })
}

/// Picks the action from the request and the command line; they must agree when both are given.
fn resolve_action(requested: Option<&str>, cli: Option<&str>) -> Result<Action, Error> {
    let requested = requested.map(str::trim).filter(|s| !s.is_empty());
    let name = match (requested, cli) {
        (None, None) => {
            return Err(Error::invalid_request(format!(
                "No action given: set \"action\" in the request or name it on the command line (proofpoint-tap run ACTION). Actions: {}.",
                action_names()
            )))
        }
        (Some(r), None) => r,
        (None, Some(c)) => c,
        (Some(r), Some(c)) => {
            let (ra, ca) = (Action::resolve(r), Action::resolve(c));
            if ra.is_some() && ra == ca {
                r
            } else {
                return Err(Error::invalid_request(format!(
                    "The command line names the action \"{c}\" but the request names \"{r}\"; give one, or the same in both."
                )));
            }
        }
    };
    Action::resolve(name).ok_or_else(|| {
        Error::new(
            ErrorCode::UnknownAction,
            format!("Unknown action \"{name}\". Actions: {}.", action_names()),
        )
    })
}

/// Every action, as `name (Display Name)`, for messages that list them.
pub(crate) fn action_names() -> String {
    Action::ALL
        .iter()
        .map(|a| format!("{} ({})", a.info().name, a.info().display_name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The instant work must stop: the platform's deadline less [`DEADLINE_MARGIN`]. A deadline that
/// leaves no time fails at once, before any HTTP call.
fn working_deadline(deadline_ms: u64) -> Result<Instant, Error> {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64;
    let left = Duration::from_millis(deadline_ms.saturating_sub(now_ms));
    match left.checked_sub(DEADLINE_MARGIN) {
        Some(budget) if !budget.is_zero() => Ok(Instant::now() + budget),
        _ => Err(Error::new(
            ErrorCode::DeadlineExceeded,
            format!(
                "the execution deadline is less than {} s away or already past; nothing was done",
                DEADLINE_MARGIN.as_secs()
            ),
        )),
    }
}

/// Runs the action on a single-threaded runtime: TAP calls are I/O-bound, and one thread starts
/// fastest.
fn run_action(action: Action, ctx: &Context, parameters: RawParams<'_>) -> Outcome {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let error = Error::new(
                ErrorCode::Internal,
                format!("the async runtime could not start: {e}"),
            );
            let message = failure_message(Some(action.info().display_name), &error);
            return Outcome::failed(error, message);
        }
    };
    let result = runtime.block_on(async {
        let work = action.run(ctx, parameters);
        match ctx.deadline {
            None => work.await,
            Some(deadline) => match tokio::time::timeout_at(deadline + DEADLINE_GRACE, work).await {
                Ok(result) => result,
                Err(_) => Err(Error::new(
                    ErrorCode::DeadlineExceeded,
                    "the action did not finish before the execution deadline; requests in flight were cancelled",
                )),
            },
        }
    });
    // Parsing abandoned at the deadline may still be running on the blocking pool: not waited
    // for, the process ends with the envelope.
    runtime.shutdown_background();
    match result {
        Ok(outcome) => outcome,
        Err(error) => {
            let message = failure_message(Some(action.info().display_name), &error);
            let mut outcome = Outcome::failed(error.clone(), message);
            if error.code == ErrorCode::DeadlineExceeded {
                outcome.state = ExecutionState::TimedOut;
            }
            outcome
        }
    }
}

fn envelope(echo: Echo, action: Option<Action>, outcome: Outcome, metrics: Metrics) -> Envelope {
    let mut outcome = outcome;
    outcome.strip_controls();
    if outcome
        .errors
        .iter()
        .any(|e| e.code == ErrorCode::DeadlineExceeded)
    {
        outcome.state = ExecutionState::TimedOut;
        let unfinished: Vec<&str> = outcome
            .errors
            .iter()
            .filter(|e| e.code == ErrorCode::DeadlineExceeded)
            .filter_map(|e| e.subject.as_deref())
            .collect();
        if !unfinished.is_empty() {
            outcome.output_message.push_str(&format!(
                "\nStopped at the execution deadline; not finished: {}",
                name_list(&unfinished, "errors")
            ));
        }
    }
    // Decode URL's new entities are marked in its result list, not copied out of it.
    let decoded = match &outcome.json_result {
        Some(JsonResult::DecodedUrls(list)) => Some(Arc::clone(list)),
        _ => None,
    };
    Envelope {
        action: action.map(|a| a.info().name.to_owned()).or(echo.action),
        case_id: echo.case_id,
        alert_group_identifiers: echo.alert_group_identifiers,
        execution_state: outcome.state,
        result_value: outcome.result_value,
        result_name: action.map(|a| a.info().result_name.to_owned()),
        output_message: outcome.output_message,
        json_result: outcome.json_result,
        insights: outcome.insights,
        entities: Entities::new(outcome.entities, decoded),
        enrichments: outcome.enrichments,
        tables: outcome.tables,
        errors: outcome.errors,
        metrics,
    }
}

/// The envelope of a request whose stdin was still open at its deadline: nothing was run. A
/// complete request is `timed_out` with `deadline_exceeded`; an incomplete one with
/// `invalid_request`, since it could not have run anyway.
fn cut_at_deadline(bytes: Vec<u8>, cli_action: Option<&str>) -> Envelope {
    let text = request::text(bytes).map(Arc::new);
    let parsed = text.as_ref().ok().map(|text| request::parse(text));
    let (echo, error) = match parsed {
        Some(Ok(request)) => (
            request.echo(),
            Error::new(
                ErrorCode::DeadlineExceeded,
                "stdin was still open at the execution deadline, so the request never ended and nothing was done; close stdin after the request",
            ),
        ),
        Some(Err(rejected)) => (
            rejected.1,
            Error::invalid_request(
                "The request was not complete when the execution deadline came: stdin stayed open with only part of a request on it.",
            ),
        ),
        None => (
            Echo::default(),
            Error::invalid_request(
                "The request was not complete when the execution deadline came: stdin stayed open with only part of a request on it.",
            ),
        ),
    };
    let mut echo = echo;
    echo.action = cli_action.map(str::to_owned).or(echo.action);
    let action = echo.action.as_deref().and_then(Action::resolve);
    let message = failure_message(action.map(|a| a.info().display_name), &error);
    let mut outcome = Outcome::failed(error, message);
    outcome.state = ExecutionState::TimedOut;
    envelope(echo, action, outcome, Metrics::default())
}

/// The envelope for input that never reached [`execute`] (stdin unreadable).
pub(crate) fn rejected(error: Error) -> Envelope {
    let message = error.message.clone();
    envelope(
        Echo::default(),
        None,
        Outcome::failed(error, message),
        Metrics::default(),
    )
}

/// Runs `f`, turning a panic into a `failed` envelope with code `internal`.
pub fn catching(f: impl FnOnce() -> Envelope) -> Envelope {
    panic::catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        let error = Error::new(
            ErrorCode::Internal,
            format!(
                "Internal error: the action stopped unexpectedly ({}). Please report this with the request that caused it.",
                panic_text(payload.as_ref())
            ),
        );
        rejected(error)
    })
}

fn panic_text(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("panic")
}

/// The exit status of a run (SPEC §1): success when completed; unusable when the request itself
/// was; failure for any other failure or a timeout.
pub fn exit_status(envelope: &Envelope) -> ExitStatus {
    match envelope.execution_state {
        ExecutionState::Completed | ExecutionState::InProgress => ExitStatus::Success,
        ExecutionState::Failed | ExecutionState::TimedOut => {
            if envelope.errors.iter().any(|e| e.code.is_request_error()) {
                ExitStatus::Unusable
            } else {
                ExitStatus::Failure
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn a_panic_becomes_an_internal_envelope() {
        let prev = panic::take_hook();
        panic::set_hook(Box::new(|_| {}));
        let e = catching(|| panic!("boom"));
        panic::set_hook(prev);
        assert_eq!(e.execution_state, ExecutionState::Failed);
        assert_eq!(e.errors[0].code, ErrorCode::Internal);
        assert!(e.output_message.contains("(boom)"));
        assert_eq!(exit_status(&e), ExitStatus::Failure);
    }

    #[test]
    fn action_names_resolve_from_request_and_command_line() {
        let ping = Action::resolve("ping").unwrap();
        assert_eq!(resolve_action(Some("ProofPointTAP_Ping"), None), Ok(ping));
        assert_eq!(resolve_action(None, Some("PING")), Ok(ping));
        assert_eq!(
            resolve_action(Some("proof_point_tap_ping"), Some("Ping")),
            Ok(ping)
        );
        assert_eq!(
            resolve_action(None, None).unwrap_err().code,
            ErrorCode::InvalidRequest
        );
        assert_eq!(
            resolve_action(Some("nope"), None).unwrap_err().code,
            ErrorCode::UnknownAction
        );
        assert_eq!(
            resolve_action(Some("nope"), Some("ping")).unwrap_err().code,
            ErrorCode::InvalidRequest
        );
    }

    #[test]
    fn a_past_deadline_fails_at_once() {
        let e = execute(
            br#"{"action":"ping","execution_deadline_unix_time_ms":1}"#.to_vec(),
            None,
            &no_env,
        );
        assert_eq!(e.execution_state, ExecutionState::TimedOut);
        assert_eq!(e.errors[0].code, ErrorCode::DeadlineExceeded);
        assert_eq!(e.metrics.http_requests, 0);
        assert_eq!(exit_status(&e), ExitStatus::Failure);
    }

    #[test]
    fn exit_codes_follow_the_state() {
        let e = execute(b"nope".to_vec(), None, &no_env);
        assert_eq!(exit_status(&e), ExitStatus::Unusable);
        let e = execute(
            br#"{"action":"ping","parameters":{"x":1}}"#.to_vec(),
            None,
            &no_env,
        );
        assert_eq!(e.errors[0].code, ErrorCode::InvalidParameter);
        assert_eq!(exit_status(&e), ExitStatus::Failure);
    }
}
