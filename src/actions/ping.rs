//! Ping (SPEC §4.1): proves the API root is reachable and the credentials accepted, spending no
//! throttled quota.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Value};
use std::future::Future;

use super::context::{ActionDef, ActionInfo, Context, Outcome};

use crate::error::Result;
use crate::params::parameters;

/// Ping, as the registry lists it.
pub(crate) struct Ping;

impl ActionDef for Ping {
    const INFO: &'static ActionInfo = &ActionInfo {
        name: "ping",
        display_name: "Ping",
        script_name: "ProofPointTAP_Ping",
        tool_name: "proof_point_tap_ping",
        result_name: "is_success",
        description: "Test connectivity to Proofpoint TAP with the parameters provided in the integration configuration. Spends no throttled API quota.",
    };
    type Params<'a> = Params;

    fn example() -> Value {
        json!({
            "action": "ping",
            "case_id": "1042"
        })
    }

    fn run<'a>(ctx: &'a Context, params: Params) -> impl Future<Output = Result<Outcome>> + 'a {
        run(ctx, params)
    }
}

parameters! {
    /// Ping takes no parameters.
    #[derive(Debug, Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    #[schemars(title = "Ping parameters")]
    pub(crate) struct Params {}
}

/// The message of a successful Ping.
pub(crate) const SUCCESS: &str =
    "Successfully connected to the ProofPoint TAP server with the provided connection parameters!";

/// Runs Ping. Every failure — configuration, credentials, throttling, network — completes the
/// envelope as `failed` with the reason in plain words.
pub(crate) async fn run(ctx: &Context, _params: Params) -> Result<Outcome> {
    let result = match ctx.client() {
        Ok(client) => client.ping().await,
        Err(e) => Err(e),
    };
    Ok(match result {
        Ok(()) => Outcome::completed(true, SUCCESS),
        Err(e) => {
            let message = format!(
                "Failed to connect to the ProofPoint TAP server! Reason: {}",
                e.message
            );
            Outcome::failed(e, message)
        }
    })
}
