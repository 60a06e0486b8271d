//! Fuzzes the URL Defense decoder: any string, and any string behind each URL Defense prefix.
#![no_main]

use libfuzzer_sys::fuzz_target;
use proofpoint_tap::unwrap::decode;

const PREFIXES: [&str; 4] = [
    "",
    "https://urldefense.com/v3/__",
    "https://urldefense.proofpoint.com/v2/url?u=",
    "https://urldefense.proofpoint.com/v1/url?u=",
];

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let prefix = PREFIXES[usize::from(first) % PREFIXES.len()];
    let _ = decode(&format!("{prefix}{text}"));
});
