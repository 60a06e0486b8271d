//! The integration tests, as one test binary: each module is one area, run through the real
//! binary (or, for the property tests, the real request path in process) against local servers.

#[macro_use]
mod common;

mod bad_input;
mod cli;
mod corpora;
mod decode_url;
mod enrich_entities;
mod faults;
mod forensics_and_lists;
mod generated_files;
mod get_campaign;
mod hostile;
mod mcp;
mod message_details;
mod ping;
mod request_props;
mod schemas;
mod search_events;
mod security;
mod threat_summary;
mod unwrap_props;
