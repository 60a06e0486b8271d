//! The wire, apart from any action: the request read from stdin, the envelope written to stdout,
//! their JSON Schemas and the one writer of JSON to stdout.
//!
//! These types are the contract of SPEC §2 and §3; `schemas/` is generated from them (see
//! [`schema`]) and a test fails when the checked-in files drift.

pub(crate) mod decoded_urls;
pub(crate) mod envelope;
pub(crate) mod request;
pub(crate) mod schema;
pub(crate) mod scope;
pub(crate) mod write;

pub use decoded_urls::{DecodeSource, DecodedEntry, DecodedUrls, TextRef};
pub use envelope::{
    Enrichment, Entities, Entity, Envelope, ErrorEntry, ExecutionState, Insight, JsonResult,
    Metrics, Row, StreamedJson, Table,
};
pub(crate) use request::{RawParams, Request, TargetEntity};
