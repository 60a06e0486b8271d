//! The JSON Schemas of the wire types: the request and the result envelope.
//!
//! The schemas of the configuration and of each action's parameters come from their own structs;
//! `manifest` gathers them all into `schemas/`.

use schemars::schema_for;
use serde_json::Value;

use super::{Envelope, Request};

/// The request's and the envelope's schemas, by name.
pub(crate) fn wire() -> [(&'static str, Value); 2] {
    [
        ("request", schema_for!(Request).to_value()),
        ("result", schema_for!(Envelope).to_value()),
    ]
}
