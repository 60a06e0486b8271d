//! Fuzzes everything that reads a request before an action runs: size, BOM, UTF-8, JSON, field
//! types, action names, scope, configuration and every action's parameters. No action is run, so
//! no input can make a network call.
#![no_main]

use libfuzzer_sys::fuzz_target;
use proofpoint_tap::actions::Action;
use proofpoint_tap::config::Config;
use proofpoint_tap::{request, scope};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = request::text(data.to_vec()) else {
        return;
    };
    let Ok(request) = request::parse(&text) else {
        return;
    };
    let _ = request.action.as_deref().map(Action::resolve);
    let _ = scope::apply(request.scope.as_deref(), request.target_entities.clone());
    let _ = Config::resolve(&request.configuration, |_| None);
    for action in Action::ALL {
        let _ = action.check_parameters(&request.parameters);
    }
});
