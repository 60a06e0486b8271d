//! Encoders written from each wrapper's rules, the inverse of the decoders: used by the property
//! tests (wrap a URL in a chain of wrappers, unwrap it, get it back) and by the benchmarks to make
//! realistic inputs. Signatures and tokens are placeholders; no vendor would accept these links.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::urldefense::ALPHABET;
use super::Layer;

/// What the HTML of a mail holds in an href: an `&` that could start a character reference
/// written `&amp;` (URL Defense v1 and v2 encode the attribute as written, and their decoders
/// unescape it); the others, such as the `&` of `&id=`, as they are, as mail writes them.
fn as_attribute(url: &str) -> String {
    let mut out = String::with_capacity(url.len());
    for (i, part) in url.split('&').enumerate() {
        if i > 0 {
            let escape = super::link::reference_may_follow(part.as_bytes());
            out.push_str(if escape { "&amp;" } else { "&" });
        }
        out.push_str(part);
    }
    out
}

/// `https://urldefense.proofpoint.com/v2/url?u=...&d=...`: every byte but ASCII letters, digits,
/// `.` and `~` percent-encoded, then `%` written as `-` and `/` as `_`.
pub fn v2(url: &str) -> String {
    let url = as_attribute(url);
    let mut u = String::with_capacity(url.len() * 2);
    for &b in url.as_bytes() {
        match b {
            b'/' => u.push('_'),
            b if b.is_ascii_alphanumeric() || b == b'.' || b == b'~' => u.push(b as char),
            b => {
                u.push('-');
                u.push_str(&format!("{b:02X}"));
            }
        }
    }
    format!("https://urldefense.proofpoint.com/v2/url?u={u}&d=DwMFaQ&c=org&r=rcpt&m=msg&s=sig&e=")
}

/// `https://urldefense.com/v3/__<mangled>__;<table>!!org!sig$`: non-ASCII bytes and the
/// characters `*`, `+`, `&`, `'`, `"`, `<`, `>`, space, `$`, `%` and `#` move into the table,
/// consecutive ones as `**X` runs of up to 65 bytes.
pub fn v3(url: &str) -> String {
    let bytes = url.as_bytes();
    let moved = |b: u8| !b.is_ascii() || b"*+&'\"<> $%#".contains(&b);
    let mut mangled = String::with_capacity(url.len());
    let mut table = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !moved(bytes[i]) {
            mangled.push(bytes[i] as char);
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && moved(bytes[i]) {
            i += 1;
        }
        table.extend_from_slice(&bytes[start..i]);
        let mut left = i - start;
        while left > 0 {
            if left == 1 {
                mangled.push('*');
                left = 0;
            } else {
                let n = left.min(65);
                mangled.push_str("**");
                mangled.push(ALPHABET[n - 2] as char);
                left -= n;
            }
        }
    }
    format!(
        "https://urldefense.com/v3/__{mangled}__;{}!!org!sig$",
        URL_SAFE_NO_PAD.encode(&table)
    )
}

/// `https://urldefense.proofpoint.com/v1/url?u=<percent-encoded>&k=...`.
pub fn v1(url: &str) -> String {
    let attribute = as_attribute(url);
    let u = utf8_percent_encode(&attribute, NON_ALPHANUMERIC);
    format!("https://urldefense.proofpoint.com/v1/url?u={u}&k=key%3D%0A&r=rcpt&m=msg&s=sig")
}

/// Every byte but ASCII letters, digits and `-._~` percent-encoded.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn pct(url: &str) -> String {
    utf8_percent_encode(url, COMPONENT).to_string()
}

/// Wraps `url` in one layer of `layer`'s wrapper, as the vendor writes it; `None` for a layer
/// that has no encoder (URL Defense of unknown version, Mimecast).
pub fn wrap(layer: Layer, url: &str) -> Option<String> {
    Some(match layer {
        Layer::UrlDefenseV1 => v1(url),
        Layer::UrlDefenseV2 => v2(url),
        Layer::UrlDefenseV3 => v3(url),
        Layer::SafeLinks => format!(
            "https://nam12.safelinks.protection.outlook.com/?url={}&data=05%7C02%7Cuser%40example.com%7C0%7C0&sdata=c2ln&reserved=0",
            pct(url)
        ),
        Layer::FireEye => format!(
            "https://protect2.fireeye.com/v1/url?k=31323334-2d2d&q=1&e=7c1b2a00-0000-4000-8000-000000000000&u={}",
            pct(url)
        ),
        Layer::Barracuda => format!(
            "https://linkprotect.cudasvc.com/url?a={}&c=E,1,c2lnbmF0dXJl&typo=1",
            pct(url)
        ),
        Layer::Sophos => format!(
            "https://eu-central-1.protection.sophos.com/?d=example.com&u={}&i=aWQ=&t=dA==&h=0d&s=1",
            pct(&STANDARD.encode(url))
        ),
        Layer::TrendMicro => format!(
            "https://ddec1-0-en-ctp.trendmicro.com:443/wis/clicktime/v1/query?url={}&umid=6a6586e6-1bcb-48d2-8c0c-75ef6bb15df9&auth=0000-1111",
            pct(url)
        ),
        Layer::Symantec => format!("https://clicktime.symantec.com/3KG6rdmTz1v?u={}", pct(url)),
        Layer::Google => format!(
            "https://www.google.com/url?q={}&sa=D&usg=AOvVaw0",
            utf8_percent_encode(url, COMPONENT).to_string().replace("%20", "+")
        ),
        Layer::Cisco => format!("https://secure-web.cisco.com/1tlPsGZcvzB/{}", pct(url)),
        Layer::Avanan | Layer::CheckPoint => {
            // Written as it is, the fragment after the blob. A `*` before two hex digits would
            // read as an escape, and `___` as the end: such URLs cannot be written.
            let (body, fragment) = match url.split_once('#') {
                Some((body, fragment)) => (body, Some(fragment)),
                None => (url, None),
            };
            let star_escape = body
                .match_indices('*')
                .any(|(i, _)| super::link::hex_pair(&body.as_bytes()[i + 1..]).is_some());
            if body.contains("___") || star_escape {
                return None;
            }
            let host = if layer == Layer::Avanan {
                "url.avanan.click/v2"
            } else {
                "protect.checkpoint.com/v2/r01"
            };
            let fragment = fragment.map(|f| format!("#{f}")).unwrap_or_default();
            format!("https://{host}/___{body}___.YXAzOnRlbmFudDphOm86MDo2OjA{fragment}")
        }
        Layer::Libraesva => format!(
            "https://urlsand.esvalabs.com/?u={}&e=09733f94&h=e09f2efa&f=y&p=n",
            pct(url)
        ),
        Layer::Hornetsecurity => format!(
            "http://atpscan.global.hornetsecurity.com/?d=ZA&f=Zg&i=&k=zA1z&m=bQ&n=bg&r=cg&s=cw&u={}",
            pct(url)
        ),
        Layer::Egress => format!(
            "https://links.eu1.defend.egress.com/Warning?crId=69f33d43&Domain=example.com&Threat=eNpz&Lang=en&Base64Url={}&@OriginalLink=example.com",
            URL_SAFE_NO_PAD.encode(miniz_oxide::deflate::compress_to_vec_zlib(url.as_bytes(), 6))
        ),
        Layer::AzureEmail => format!(
            "https://emails.azure.microsoft.com/redirect/?destination={}",
            pct(url)
        ),
        Layer::UrlDefense | Layer::Mimecast => return None,
    })
}

/// Every layer [`wrap`] can write.
pub const WRAPPABLE: [Layer; 17] = [
    Layer::UrlDefenseV1,
    Layer::UrlDefenseV2,
    Layer::UrlDefenseV3,
    Layer::SafeLinks,
    Layer::FireEye,
    Layer::Barracuda,
    Layer::Sophos,
    Layer::TrendMicro,
    Layer::Symantec,
    Layer::Google,
    Layer::Cisco,
    Layer::Avanan,
    Layer::CheckPoint,
    Layer::Libraesva,
    Layer::Hornetsecurity,
    Layer::Egress,
    Layer::AzureEmail,
];
