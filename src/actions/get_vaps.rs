//! Get Very Attacked People (SPEC §4.6): `GET /v2/people/vap`, paged; see `people.rs`.

use serde_json::{json, Value};

use super::people::{self, List};
use super::{ActionInfo, Context, Outcome};
use crate::error::Result;

pub use super::people::Params;

/// Names and texts of Get Very Attacked People.
pub static INFO: ActionInfo = ActionInfo {
    name: "get_vaps",
    display_name: "Get Very Attacked People",
    script_name: "ProofPointTAP_GetVeryAttackedPeople",
    tool_name: "proof_point_tap_get_very_attacked_people",
    result_name: "vaps",
    description: "Get the people of the organisation attacked most over the last 14, 30 or 90 days (the VAP list), with their attack index and the threat families that targeted them.",
};

/// Runs Get Very Attacked People.
pub async fn run(ctx: &Context, params: Params) -> Result<Outcome> {
    people::run(ctx, List::VeryAttacked, params).await
}

/// An example request.
pub fn example() -> Value {
    json!({
        "action": "get_vaps",
        "case_id": "1042",
        "parameters": {"Window": 30, "Max Users": 25, "Create Entities": true},
        "configuration": super::example_configuration()
    })
}
