//! URL Defense decoding, with no I/O: v1, v2 and v3 rewritten URLs on `urldefense.proofpoint.com`,
//! `urldefense.com` and `urldefense.us`, nested up to [`MAX_LAYERS`] deep.
//!
//! Also handled: `&amp;`-escaped queries, the `https:/host` single-slash artefact, quoted-printable
//! residue from raw mail (`=3D`, soft line breaks), and v3 substitution runs counted in UTF-8 bytes.
//! Every failure is a [`DecodeError`] saying why; no input makes [`decode`] panic.

pub mod encode;

use std::borrow::Cow;

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;

/// The most URL Defense layers unwrapped from one URL.
pub const MAX_LAYERS: usize = 5;

/// The hosts URL Defense rewrites to.
pub const HOSTS: [&str; 3] = [
    "urldefense.proofpoint.com",
    "urldefense.com",
    "urldefense.us",
];

/// The base64url alphabet; a v3 run `**X` takes 2 + (index of X) bytes.
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Base64url with or without padding, lenient about trailing bits (tables are cut at byte
/// boundaries by the encoder, never padded).
const TABLE_ENGINE: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Why a URL could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Not a URL on a URL Defense host.
    #[error("not a URL Defense URL (expected https://urldefense.com/v3/..., https://urldefense.proofpoint.com/v2/url?u=... or urldefense.us)")]
    NotUrlDefense,
    /// A URL Defense host, but not a path of a known version.
    #[error("unknown URL Defense format (the path is not /v1/url, /v2/url or /v3/__)")]
    UnknownVersion,
    /// A v1/v2 URL without its `u` parameter.
    #[error("the {0} URL has no u= parameter")]
    MissingTarget(&'static str),
    /// A v3 URL without a `__;TABLE!` part.
    #[error("the v3 URL has no __;TABLE! part: it may have been cut short")]
    TruncatedTable,
    /// The v3 table is not base64url.
    #[error("the v3 substitution table is not valid base64url")]
    BadBase64,
    /// A `**X` run token whose X is not a base64url character.
    #[error("the v3 URL has an invalid run token **{0}")]
    BadRunToken(char),
    /// The runs ask for more bytes than the table holds.
    #[error("the v3 URL uses more substitution bytes than its table holds ({table} bytes)")]
    RunPastTable {
        /// Bytes in the table.
        table: usize,
    },
    /// The decoded bytes are not UTF-8.
    #[error("the decoded URL is not valid UTF-8")]
    InvalidUtf8,
    /// Still URL Defense after [`MAX_LAYERS`] layers.
    #[error("more than {MAX_LAYERS} nested URL Defense layers")]
    TooManyLayers,
}

impl DecodeError {
    /// Whether the TAP decode API might succeed where local decoding did not: a URL on a URL
    /// Defense host, in a form this decoder does not read. Sending anything else wastes quota.
    pub fn worth_asking_the_api(&self) -> bool {
        !matches!(self, DecodeError::NotUrlDefense)
    }
}

/// Decodes a URL Defense URL, unwrapping nested layers. Leading and trailing whitespace and
/// quoted-printable residue are removed first.
pub fn decode(input: &str) -> Result<String, DecodeError> {
    let mut out = String::new();
    decode_into(input, &mut out, &mut Scratch::default())?;
    Ok(out)
}

/// Buffers reused from one URL to the next, so that decoding many URLs allocates almost nothing.
#[derive(Debug, Default)]
pub struct Scratch {
    bytes: Vec<u8>,
    layer: String,
}

/// As [`decode`], appending the decoded URL to `out`; on failure `out` is left as it was.
pub fn decode_into(
    input: &str,
    out: &mut String,
    scratch: &mut Scratch,
) -> Result<(), DecodeError> {
    let Scratch { bytes, layer } = scratch;
    let mut html = layer_into(&clean(input), bytes)?;
    for depth in 1..=MAX_LAYERS {
        let text = finish(bytes, html)?;
        if version_of(&text).is_none() {
            out.push_str(&text);
            return Ok(());
        }
        if depth == MAX_LAYERS {
            break;
        }
        layer.clear();
        layer.push_str(&text);
        html = layer_into(layer, bytes)?;
    }
    Err(DecodeError::TooManyLayers)
}

/// The text of one decoded layer: UTF-8 checked and, for v1/v2, HTML references unescaped.
fn finish(bytes: &[u8], html: bool) -> Result<Cow<'_, str>, DecodeError> {
    let text = std::str::from_utf8(bytes).map_err(|_| DecodeError::InvalidUtf8)?;
    Ok(if html {
        html_unescape(text)
    } else {
        Cow::Borrowed(text)
    })
}

/// Writes the bytes one layer decodes to into `out` (cleared first). Returns whether they still
/// need HTML references unescaped (v1 and v2 targets).
fn layer_into(url: &str, out: &mut Vec<u8>) -> Result<bool, DecodeError> {
    out.clear();
    match version_of(url) {
        None => Err(DecodeError::NotUrlDefense),
        Some(Version::V1(query)) => {
            let target = target_param(query, true).ok_or(DecodeError::MissingTarget("v1"))?;
            unescape_target::<false>(target, out);
            Ok(true)
        }
        Some(Version::V2(query)) => {
            let target = target_param(query, false).ok_or(DecodeError::MissingTarget("v2"))?;
            unescape_target::<true>(target, out);
            Ok(true)
        }
        Some(Version::V3(rest)) => decode_v3(rest, out).map(|()| false),
        Some(Version::Unknown) => Err(DecodeError::UnknownVersion),
    }
}

enum Version<'a> {
    V1(&'a str),
    V2(&'a str),
    V3(&'a str),
    Unknown,
}

/// `scheme:` + one or two slashes + a URL Defense host; returns what follows the host.
fn split_host(url: &str) -> Option<&str> {
    let rest = strip_prefix_ci(url, "https:").or_else(|| strip_prefix_ci(url, "http:"))?;
    let rest = rest.strip_prefix('/')?;
    let rest = rest.strip_prefix('/').unwrap_or(rest);
    // Every URL Defense host starts with "urldefense"; most URLs checked here are ordinary links
    // (each decoded URL is checked for another layer), ruled out by their first letter.
    if !rest
        .as_bytes()
        .first()
        .is_some_and(|b| b.eq_ignore_ascii_case(&b'u'))
    {
        return None;
    }
    let host_end = rest
        .bytes()
        .take(40)
        .position(|b| matches!(b, b'/' | b'?' | b'#'))
        .unwrap_or(rest.len().min(40));
    if host_end == 40 {
        return None; // longer than any URL Defense host with a port
    }
    let host = &rest[..host_end];
    let host = match host.bytes().rposition(|b| b == b':') {
        Some(colon) if host[colon + 1..].bytes().all(|b| b.is_ascii_digit()) => &host[..colon],
        _ => host,
    };
    HOSTS
        .iter()
        .any(|h| h.len() == host.len() && h.eq_ignore_ascii_case(host))
        .then(|| &rest[host_end..])
}

fn version_of(url: &str) -> Option<Version<'_>> {
    // The spellings URL Defense itself writes, checked exactly before the general path.
    if let Some(rest) = url.strip_prefix("https://urldefense.com/v3/__") {
        return Some(Version::V3(rest));
    }
    if let Some(query) = url.strip_prefix("https://urldefense.proofpoint.com/v2/url?") {
        return Some(Version::V2(query));
    }
    if let Some(query) = url.strip_prefix("https://urldefense.proofpoint.com/v1/url?") {
        return Some(Version::V1(query));
    }
    let path = split_host(url)?;
    Some(if let Some(q) = strip_prefix_ci(path, "/v1/url?") {
        Version::V1(q)
    } else if let Some(q) = strip_prefix_ci(path, "/v2/url?") {
        Version::V2(q)
    } else if let Some(r) = strip_prefix_ci(path, "/v3/__") {
        Version::V3(r)
    } else {
        Version::Unknown
    })
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// The value of the `u` parameter: after `u=` at the start of the query, or after `&u=` or
/// `&amp;u=`; up to the next `&` (v2, whose targets encode `&`), or up to `&k=` / `&amp;k=` (v1,
/// which at times leaves `&` inside `u` unencoded). Only the `&` signs are visited.
fn target_param(query: &str, v1: bool) -> Option<&str> {
    let bytes = query.as_bytes();
    let param_at = |i: usize, name: &[u8]| -> Option<usize> {
        // `i` is at a '&': the parameter `name` starts right after it, or after "amp;".
        let after = &bytes[i + 1..];
        if after.starts_with(name) {
            Some(i + 1 + name.len())
        } else if after.starts_with(b"amp;") && after[4..].starts_with(name) {
            Some(i + 5 + name.len())
        } else {
            None
        }
    };
    let start = if bytes.starts_with(b"u=") {
        2
    } else {
        memchr::memchr_iter(b'&', bytes).find_map(|i| param_at(i, b"u="))?
    };
    let end = memchr::memchr_iter(b'&', &bytes[start..])
        .map(|i| start + i)
        .find(|&i| !v1 || param_at(i, b"k=").is_some())
        .unwrap_or(bytes.len());
    Some(&query[start..end])
}

/// Hex digit values; 0xFF for anything else.
const HEX: [u8; 256] = {
    let mut table = [0xFF; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        table[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

/// Percent-decodes `target` into `out` in one pass; for v2, `-` stands for `%` and `_` for `/`. An
/// escape without two hex digits is kept as it is (as `%`).
fn unescape_target<const V2: bool>(target: &str, out: &mut Vec<u8>) {
    let bytes = target.as_bytes();
    // Escapes come every few bytes in a v2 target, so this is one loop over bytes, writing into a
    // slice sized for the longest result (no byte expands) rather than pushing one at a time.
    let start = out.len();
    out.resize(start + bytes.len(), 0);
    let dst = &mut out[start..];
    let (mut i, mut w) = (0, 0);
    while i < bytes.len() {
        let b = bytes[i];
        if b != b'%' && !(V2 && b == b'-') {
            dst[w] = if V2 && b == b'_' { b'/' } else { b };
            w += 1;
            i += 1;
            continue;
        }
        let high = bytes.get(i + 1).map_or(0xFF, |&h| HEX[usize::from(h)]);
        let low = bytes.get(i + 2).map_or(0xFF, |&l| HEX[usize::from(l)]);
        if high < 16 && low < 16 {
            dst[w] = high << 4 | low;
            i += 3;
        } else {
            dst[w] = b'%';
            i += 1;
        }
        w += 1;
    }
    out.truncate(start + w);
}

/// Run lengths by token byte: `**X` stands for 2 + (index of X in the base64url alphabet) bytes;
/// 0 for a byte that is not in the alphabet.
const RUN_LENGTH: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut i = 0;
    while i < ALPHABET.len() {
        table[ALPHABET[i] as usize] = i as u8 + 2;
        i += 1;
    }
    table
};

/// Tables up to this many bytes are decoded on the stack; longer ones (rare) on the heap.
const STACK_TABLE: usize = 256;

/// `rest` is what follows `/v3/__`: `<mangled URL>__;<table>!<opaque>$`. Writes the bytes it
/// stands for into `out`.
fn decode_v3(rest: &str, out: &mut Vec<u8>) -> Result<(), DecodeError> {
    let (mangled, table_text) = find_v3_table(rest)?;
    let mut stack = [0u8; STACK_TABLE];
    let heap;
    let table: &[u8] = if table_text.len() / 4 * 3 + 3 <= STACK_TABLE {
        let n = TABLE_ENGINE
            .decode_slice(table_text, &mut stack)
            .map_err(|_| DecodeError::BadBase64)?;
        &stack[..n]
    } else {
        heap = TABLE_ENGINE
            .decode(table_text)
            .map_err(|_| DecodeError::BadBase64)?;
        &heap
    };
    let mangled_text = mangled;
    let mangled = mangled.as_bytes();
    out.reserve(mangled.len() + table.len());
    let mut used = 0usize;
    let mut i = 0usize;
    while i < mangled.len() {
        let b = mangled[i];
        if b != b'*' {
            // Copy the run of ordinary bytes up to the next '*' in one go.
            let next = memchr::memchr(b'*', &mangled[i..]).map_or(mangled.len(), |p| i + p);
            out.extend_from_slice(&mangled[i..next]);
            i = next;
            continue;
        }
        let (count, width) = if mangled.get(i + 1) == Some(&b'*') && i + 2 < mangled.len() {
            let count = RUN_LENGTH[usize::from(mangled[i + 2])];
            if count == 0 {
                // Both '*' are ASCII, so i + 2 is a character boundary.
                let ch = mangled_text[i + 2..].chars().next();
                return Err(DecodeError::BadRunToken(
                    ch.unwrap_or(char::REPLACEMENT_CHARACTER),
                ));
            }
            (usize::from(count), 3)
        } else {
            (1, 1)
        };
        let bytes = table
            .get(used..used + count)
            .ok_or(DecodeError::RunPastTable { table: table.len() })?;
        out.extend_from_slice(bytes);
        used += count;
        i += width;
    }
    Ok(())
}

/// Splits `<mangled>__;<table>!...` at the last `__;` followed by a base64url table and `!`; the
/// mangled URL may itself contain `__` and even `__;`.
fn find_v3_table(rest: &str) -> Result<(&str, &str), DecodeError> {
    let mut bad_table = false;
    let bytes = rest.as_bytes();
    let mut end = rest.len();
    // `;` is rare in URLs: find it from the end, then look for the `__` before it.
    while let Some(semi) = memchr::memrchr(b';', &bytes[..end]) {
        end = semi;
        if semi < 2 || &bytes[semi - 2..semi] != b"__" {
            continue;
        }
        let pos = semi - 2;
        let after = &rest[pos + 3..];
        let table_len = after
            .bytes()
            .position(|b| !(b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
            .unwrap_or(after.len());
        match after.as_bytes().get(table_len) {
            Some(b'!') => return Ok((&rest[..pos], &after[..table_len])),
            Some(_) => bad_table = true,
            None => {}
        }
    }
    Err(if bad_table {
        DecodeError::BadBase64
    } else {
        DecodeError::TruncatedTable
    })
}

/// Removes quoted-printable residue from text pasted out of raw mail: soft line breaks always, and
/// `=XX` escapes when every `=` in the text is one (as in a quoted-printable body, where `=` itself
/// is `=3D`).
fn clean(input: &str) -> Cow<'_, str> {
    let trimmed = input.trim();
    // One look at each '=' decides whether there is anything to do; most URLs need nothing.
    let bytes = trimmed.as_bytes();
    let (mut soft_break, mut escaped_equals) = (false, false);
    for i in memchr::memchr_iter(b'=', bytes) {
        match (bytes.get(i + 1), bytes.get(i + 2)) {
            (Some(b'\n'), _) | (Some(b'\r'), Some(b'\n')) => soft_break = true,
            (Some(b'3'), Some(b'D' | b'd')) => escaped_equals = true,
            _ => {}
        }
    }
    if !soft_break && !escaped_equals {
        return Cow::Borrowed(trimmed);
    }
    let unbroken: Cow<'_, str> = if soft_break {
        Cow::Owned(trimmed.replace("=\r\n", "").replace("=\n", ""))
    } else {
        Cow::Borrowed(trimmed)
    };
    if !escaped_equals {
        return unbroken;
    }
    let bytes = unbroken.as_bytes();
    let all_escapes = bytes.iter().enumerate().all(|(i, &b)| {
        b != b'='
            || (bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    });
    if !all_escapes {
        return unbroken;
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' {
            let hex = &unbroken[i + 1..i + 3];
            out.push(u8::from_str_radix(hex, 16).unwrap_or(b'='));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    match String::from_utf8(out) {
        Ok(s) => Cow::Owned(s),
        Err(_) => unbroken,
    }
}

/// Unescapes the HTML character references URL Defense leaves in v1/v2 targets: `&amp;`, `&lt;`,
/// `&gt;`, `&quot;`, `&apos;` and numeric `&#NN;` / `&#xHH;`.
pub fn html_unescape(s: &str) -> Cow<'_, str> {
    // Byte searches: most targets have no '&' at all.
    if !s.as_bytes().contains(&b'&') || !s.as_bytes().contains(&b';') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find('&') {
        out.push_str(&rest[..pos]);
        let tail = &rest[pos..];
        let entity = tail
            .find(';')
            .filter(|&end| end <= 10)
            .and_then(|end| Some((unescape_entity(&tail[1..end])?, end)));
        match entity {
            Some((c, end)) => {
                out.push(c);
                rest = &tail[end + 1..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

fn unescape_entity(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => {
            let num = name.strip_prefix('#')?;
            let code = match num.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => num.parse().ok()?,
            };
            char::from_u32(code).filter(|c| *c != '\0')
        }
    }
}

#[cfg(test)]
mod tests;
