//! Proofpoint URL Defense, the wrapper TAP itself writes: v1 (`/v1/url?u=`), v2 (`/v2/url?u=`)
//! and v3 (`/v3/__<URL>__;<table>!<org>!<signature>$`) on `urldefense.proofpoint.com`,
//! `urldefense.com` and `urldefense.us`.
//!
//! v3 substitution runs count UTF-8 bytes, and a table that does not add up (a run past its end,
//! bytes left over) is an error, never a guess.

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;

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

/// Base64url with or without padding, lenient about trailing bits (tables are cut at byte
/// boundaries by the encoder, never padded).
const TABLE_ENGINE: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// The beginnings of the links URL Defense writes, and their hosts.
pub(super) const EXACT_PREFIXES: [(&str, &str); 3] = [
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
                percent_decode(target, Escapes::Percent, out);
                Ok(Peeled {
                    layer: Layer::UrlDefenseV1,
                    html: true,
                })
            }
            Version::V2(query) => {
                let target = param(query, "u").ok_or(missing("URL Defense v2"))?;
                percent_decode(target, Escapes::Dashes, out);
                Ok(Peeled {
                    layer: Layer::UrlDefenseV2,
                    html: true,
                })
            }
            Version::V3(rest) => {
                decode_v3(rest, out)?;
                Ok(Peeled::plain(Layer::UrlDefenseV3))
            }
            Version::Unknown => Err(DecodeError::UnknownVersion),
        }
    }
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
    if used < table.len() {
        return Err(DecodeError::TableLeftOver {
            unused: table.len() - used,
            table: table.len(),
        });
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
