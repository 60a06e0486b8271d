//! Proofpoint URL Defense, the wrapper TAP itself writes: v1 (`/v1/url?u=`), v2 (`/v2/url?u=`)
//! and v3 (`/v3/__<URL>__;<table>!<org>!<signature>$`) on `urldefense.proofpoint.com`,
//! `urldefense.com` and `urldefense.us`.
//!
//! v3 substitution runs count UTF-8 bytes, and a table that does not add up (a run past its end,
//! bytes left over) is an error, never a guess.

use super::link::{param, percent_decode, strip_prefix_ci, Escapes, Link};
use super::{DecodeError, Layer, Peeled, Wrapper};

/// The hosts URL Defense rewrites to.
pub const HOSTS: [&str; 3] = [
    "urldefense.proofpoint.com",
    "urldefense.com",
    "urldefense.us",
];

/// The base64url alphabet; a v3 run `**X` takes 2 + (index of X) bytes.
pub(super) const ALPHABET: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// The beginnings of the links URL Defense writes, and their hosts.
pub(super) static EXACT_PREFIXES: [(&str, &str); 3] = [
    ("https://urldefense.com/v3/__", "urldefense.com"),
    (
        "https://urldefense.proofpoint.com/v2/url?",
        "urldefense.proofpoint.com",
    ),
    (
        "https://urldefense.proofpoint.com/v1/url?",
        "urldefense.proofpoint.com",
    ),
];

/// URL Defense, all versions.
pub(super) struct UrlDefense;

enum Version<'a> {
    V1(&'a str),
    V2(&'a str),
    V3(&'a str),
    Unknown,
}

fn version_of<'a>(link: &Link<'a>) -> Version<'a> {
    let rest = link.rest;
    // The spellings URL Defense itself writes, checked exactly before any other case.
    if let Some(r) = rest.strip_prefix("/v3/__") {
        Version::V3(r)
    } else if let Some(q) = rest.strip_prefix("/v2/url?") {
        Version::V2(q)
    } else if let Some(q) = rest.strip_prefix("/v1/url?") {
        Version::V1(q)
    } else if let Some(r) = strip_prefix_ci(rest, "/v3/__") {
        Version::V3(r)
    } else if let Some(q) = strip_prefix_ci(rest, "/v2/url?") {
        Version::V2(q)
    } else if let Some(q) = strip_prefix_ci(rest, "/v1/url?") {
        Version::V1(q)
    } else {
        Version::Unknown
    }
}

impl Wrapper for UrlDefense {
    fn claims(&self, host: &str, _link: &Link<'_>) -> bool {
        HOSTS.contains(&host)
    }

    fn layer_of(&self, link: &Link<'_>) -> Layer {
        match version_of(link) {
            Version::V1(_) => Layer::UrlDefenseV1,
            Version::V2(_) => Layer::UrlDefenseV2,
            Version::V3(_) => Layer::UrlDefenseV3,
            Version::Unknown => Layer::UrlDefense,
        }
    }

    fn unwrap(&self, link: &Link<'_>, out: &mut Vec<u8>) -> Result<Peeled, DecodeError> {
        let missing = |vendor| DecodeError::MissingTarget { vendor, name: "u" };
        match version_of(link) {
            // v1: `u` is percent-encoded and ends at the next `&` (most carry `&k=` next, some
            // `&d=&c=&r=` like v2).
            Version::V1(query) => {
                let target = param(query, "u").ok_or(missing("URL Defense v1"))?;
                let ascii = percent_decode(target, Escapes::Percent, out);
                Ok(Peeled {
                    layer: Layer::UrlDefenseV1,
                    html: true,
                    utf8: ascii,
                })
            }
            Version::V2(query) => {
                let target = param(query, "u").ok_or(missing("URL Defense v2"))?;
                let ascii = percent_decode(target, Escapes::Dashes, out);
                Ok(Peeled {
                    layer: Layer::UrlDefenseV2,
                    html: true,
                    utf8: ascii,
                })
            }
            Version::V3(rest) => {
                let ascii = decode_v3(rest, out)?;
                Ok(Peeled {
                    layer: Layer::UrlDefenseV3,
                    html: false,
                    utf8: ascii,
                })
            }
            Version::Unknown => Err(DecodeError::UnknownVersion),
        }
    }
}

/// Base64url digit values by byte; [`NOT_A_DIGIT`] for the others. A v3 run `**X` stands for 2 +
/// (the value of X) bytes.
const DIGIT: [u8; 256] = {
    let mut table = [NOT_A_DIGIT; 256];
    let mut i = 0;
    while i < ALPHABET.len() {
        table[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    table
};
const NOT_A_DIGIT: u8 = 0xFF;

/// Tables up to this many bytes are decoded on the stack; longer ones (rare) on the heap.
const STACK_TABLE: usize = 96;

/// Decodes a v3 table into `out`, returning how many bytes it holds: base64url without padding
/// (URL Defense cuts the table at a byte boundary), bits past the last whole byte ignored. `None`
/// when it is not base64url or `out` is too short. (Hand-written rather than the `base64`
/// crate's engine: tables are a few characters long, and every v3 URL has one; the engine's
/// set-up cost more than the decoding.)
pub(super) fn decode_table(text: &[u8], out: &mut [u8]) -> Option<usize> {
    let digit = |b: u8| match DIGIT[usize::from(b)] {
        NOT_A_DIGIT => None,
        d => Some(u32::from(d)),
    };
    let mut n = 0;
    let mut groups = text.chunks_exact(4);
    for g in &mut groups {
        let v = digit(g[0])? << 18 | digit(g[1])? << 12 | digit(g[2])? << 6 | digit(g[3])?;
        out.get_mut(n..n + 3)?
            .copy_from_slice(&v.to_be_bytes()[1..]);
        n += 3;
    }
    let last: &[u8] = match *groups.remainder() {
        [] => &[],
        [a, b] => &(digit(a)? << 18 | digit(b)? << 12).to_be_bytes()[1..2],
        [a, b, c] => &(digit(a)? << 18 | digit(b)? << 12 | digit(c)? << 6).to_be_bytes()[1..3],
        // One character is not a whole byte.
        _ => return None,
    };
    out.get_mut(n..n + last.len())?.copy_from_slice(last);
    Some(n + last.len())
}

/// `rest` is what follows `/v3/__`: `<mangled URL>__;<table>!<opaque>$`. Writes the bytes it
/// stands for into `out`, and whether its table is all ASCII (then what it wrote is UTF-8: the
/// mangled text with ASCII tokens replaced by ASCII bytes).
fn decode_v3(rest: &str, out: &mut Vec<u8>) -> Result<bool, DecodeError> {
    let (mangled, table_text) = find_v3_table(rest)?;
    let mut stack = [0u8; STACK_TABLE];
    let mut heap = Vec::new();
    let room = table_text.len() / 4 * 3 + 2;
    let buf: &mut [u8] = if room <= STACK_TABLE {
        &mut stack
    } else {
        heap.resize(room, 0);
        &mut heap
    };
    let n = decode_table(table_text.as_bytes(), buf).ok_or(DecodeError::BadBase64)?;
    let table = &buf[..n];
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
            let digit = DIGIT[usize::from(mangled[i + 2])];
            if digit == NOT_A_DIGIT {
                // Both '*' are ASCII, so i + 2 is a character boundary.
                let ch = mangled_text[i + 2..].chars().next();
                return Err(DecodeError::BadRunToken(
                    ch.unwrap_or(char::REPLACEMENT_CHARACTER),
                ));
            }
            (usize::from(digit) + 2, 3)
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
    if used < table.len() {
        return Err(DecodeError::TableLeftOver {
            unused: table.len() - used,
            table: table.len(),
        });
    }
    Ok(table.is_ascii())
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
