//! A URL Defense v2/v3 encoder, the inverse of the decoder: used by the property tests (encode
//! then decode must give the URL back) and by the benchmarks to make realistic inputs. It does not
//! produce valid signatures; TAP would not accept its output.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use super::ALPHABET;

/// `https://urldefense.proofpoint.com/v2/url?u=...&d=...`: every byte but ASCII letters, digits,
/// `.` and `~` percent-encoded, then `%` written as `-` and `/` as `_`.
pub fn v2(url: &str) -> String {
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
/// characters `*`, `+`, `&`, `'`, `"`, `<`, `>`, space and `$` move into the table, consecutive
/// ones as `**X` runs of up to 65 bytes.
pub fn v3(url: &str) -> String {
    let bytes = url.as_bytes();
    let moved = |b: u8| !b.is_ascii() || b"*+&'\"<> $".contains(&b);
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
    let u = percent_encoding::utf8_percent_encode(url, percent_encoding::NON_ALPHANUMERIC);
    format!("https://urldefense.proofpoint.com/v1/url?u={u}&k=key%3D%0A&r=rcpt&m=msg&s=sig")
}
