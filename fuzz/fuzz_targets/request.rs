//! Fuzzes everything that reads a request before an action runs: size, BOM, UTF-8, JSON, field
//! types, action names, scope, configuration and every action's parameters. No action is run, so
//! no input can make a network call.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| proofpoint_tap::check_request(data));
