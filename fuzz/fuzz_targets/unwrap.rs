//! Fuzzes the unwrapping of rewritten links: any string, and any string behind the start of each
//! wrapper's links (URL Defense and the other vendors'), so that every decoder is reached.
#![no_main]

use libfuzzer_sys::fuzz_target;
use proofpoint_tap::unwrap::{decode, decode_for_api, peel, Scratch};

const PREFIXES: [&str; 20] = [
    "",
    "https://urldefense.com/v3/__",
    "https://urldefense.proofpoint.com/v2/url?u=",
    "https://urldefense.proofpoint.com/v1/url?u=",
    "https://nam12.safelinks.protection.outlook.com/?url=",
    "https://protect2.fireeye.com/v1/url?k=1&u=",
    "https://linkprotect.cudasvc.com/url?a=",
    "https://eu-central-1.protection.sophos.com/?d=x&u=",
    "https://ctp.trendmicro.com/wis/clicktime/v2/clickthrough?url=",
    "https://clicktime.symantec.com/3KG?u=",
    "https://www.google.com/url?q=",
    "https://secure-web.cisco.com/1tl/",
    "https://url.avanan.click/v2/___",
    "https://protect.checkpoint.com/v2/r01/___",
    "https://checkpoint.url-protection.com/v1/url?o=",
    "https://urlsand.esvalabs.com/?u=",
    "https://atpscan.global.hornetsecurity.com/?u=",
    "https://links.eu1.defend.egress.com/Warning?Base64Url=",
    "https://emails.azure.microsoft.com/redirect/?destination=",
    "https://protect-us.mimecast.com/s/",
];

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let url = format!("{}{text}", PREFIXES[usize::from(first) % PREFIXES.len()]);
    let _ = decode(&url);
    let _ = peel(&url);
    let _ = decode_for_api(&url, &mut String::new(), &mut Scratch::default());
});
