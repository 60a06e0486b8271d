//! Get Top Clickers (SPEC §4.6): `GET /v2/people/top-clickers`, paged; see `people.rs`.

use serde_json::{json, Value};

use super::people::{self, List};
use super::{ActionInfo, Context, Outcome};
use crate::error::Result;

pub use super::people::Params;

/// Names and texts of Get Top Clickers.
pub static INFO: ActionInfo = ActionInfo {
    name: "get_top_clickers",
    display_name: "Get Top Clickers",
    script_name: "ProofPointTAP_GetTopClickers",
    tool_name: "proof_point_tap_get_top_clickers",
    result_name: "top_clickers",
    description: "Get the people of the organisation who clicked most malicious links over the last 14, 30 or 90 days, with their clicks per threat family.",
};

/// Runs Get Top Clickers.
pub async fn run(ctx: &Context, params: Params) -> Result<Outcome> {
    people::run(ctx, List::TopClickers, params).await
}

/// An example request.
pub fn example() -> Value {
    json!({
        "action": "get_top_clickers",
        "case_id": "1042",
        "parameters": {"Window": 30, "Max Users": 25, "Create Entities": true},
        "configuration": super::example_configuration()
    })
}
