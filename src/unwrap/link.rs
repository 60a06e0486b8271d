//! The pieces of a link every wrapper reads: scheme, host, path, query parameters and fragment;
//! percent-decoding in its several dialects; HTML character references; and the clean-ups real
//! mail needs (quoted-printable residue, the single-slash artefact, upper-cased copies).

use std::borrow::Cow;

use super::chunk::Chunk;

/// The longest host any wrapper rewrites to (with room to spare); longer ones are no wrapper's.
pub(super) const MAX_HOST: usize = 64;

/// What a byte is to [`Link::parse`] in an authority: nothing special (0), its end, `@`, `:`,
/// `.`, an upper-case letter, or not ASCII.
const AUTHORITY: [u8; 256] = {
    let mut table = [0u8; 256];
    table[b'/' as usize] = END;
    table[b'?' as usize] = END;
    table[b'#' as usize] = END;
    table[b'\\' as usize] = END;
    table[b'@' as usize] = AT;
    table[b':' as usize] = COLON;
    table[b'.' as usize] = DOT;
    let mut b = b'A';
    while b <= b'Z' {
        table[b as usize] = UPPER;
        b += 1;
    }
    let mut b = 0x80;
    while b <= 0xFF {
        table[b] = NON_ASCII;
        b += 1;
    }
    table
};
const END: u8 = 1;
const AT: u8 = 2;
const COLON: u8 = 3;
const DOT: u8 = 4;
const UPPER: u8 = 5;
const NON_ASCII: u8 = 6;

/// An `http(s)` link split into its parts.
#[derive(Debug, Clone, Copy)]
pub(super) struct Link<'a> {
    /// The whole link.
    pub url: &'a str,
    /// The host as written, without user information or port.
    pub host: &'a str,
    /// What follows the authority: path, query and fragment.
    pub rest: &'a str,
    /// Where the host's label before the last starts in it.
    name_start: usize,
    /// Where the host's last label starts in it (0 when it has one label).
    tld_start: usize,
    /// Whether the host has upper-case letters.
    host_upper: bool,
    /// Whether the host has bytes beyond ASCII.
    host_non_ascii: bool,
}

/// The length of `http:` or `https:` (any case) at the start of `bytes`, or `None`.
fn http_scheme(bytes: &[u8]) -> Option<usize> {
    // One compare of four bytes rules out almost every other text.
    let head = bytes.get(..5)?;
    if u32::from_le_bytes([head[0], head[1], head[2], head[3]]) | 0x2020_2020
        != u32::from_le_bytes(*b"http")
    {
        return None;
    }
    match head[4] {
        b':' => Some(5),
        b's' | b'S' if bytes.get(5) == Some(&b':') => Some(6),
        _ => None,
    }
}

/// What follows `http:` or `https:` (any case) and one or two slashes (mail clients merge `//`
/// in hrefs); `None` for anything else: every wrapper's links are http(s).
pub(super) fn after_scheme(url: &str) -> Option<&str> {
    let after = url.get(http_scheme(url.as_bytes())?..)?;
    let after = after.strip_prefix('/')?;
    Some(after.strip_prefix('/').unwrap_or(after))
}

/// What [`Link::parse`] needs of an authority: where the host starts and the authority ends, the
/// last ':' and the last two dots, whether the host has upper-case letters or bytes beyond ASCII.
struct Authority {
    start: usize,
    end: usize,
    colon: Option<usize>,
    dots: (Option<usize>, Option<usize>),
    upper: bool,
    non_ascii: bool,
}

/// What [`quick_authority`] finds: where the authority ends, and where its last two labels
/// start (just past the last two dots; 0 where there is no such dot).
struct Quick {
    end: usize,
    name_start: usize,
    tld_start: usize,
}

/// The authority read sixteen bytes at a time, as almost every one is (lower case, no user
/// information, no port); `None` for the others, left to [`full_authority`]. Every decoded URL
/// is looked at, so this is written to take few branches whatever the host: a mispredicted
/// branch per dot cost more than all the rest.
fn quick_authority(bytes: &[u8]) -> Option<Quick> {
    let (mut name_start, mut tld_start) = (0, 0);
    let mut at = 0;
    loop {
        let rest = &bytes[at..];
        // Past the end reads as '/': the authority ends there at the latest.
        let chunk = match rest.get(..16) {
            Some(sixteen) => Chunk::load(sixteen),
            None => Chunk::padded(rest, b'/'),
        };
        let ends = chunk.mask(*b"/?#\\");
        let end = ends.trailing_zeros().min(16);
        let before = (1u32 << end) - 1;
        if (chunk.mask(*b"@:") | chunk.upper_or_non_ascii()) & before != 0 {
            return None;
        }
        // The last two dots in this chunk, as positions + 1 (0 for none).
        let found = chunk.mask([b'.']) & before;
        let last = 32 - found.leading_zeros() as usize;
        let prev = 32 - (found & !(1u32 << last >> 1)).leading_zeros() as usize;
        (name_start, tld_start) = match (prev, last) {
            (0, 0) => (name_start, tld_start),
            (0, last) => (tld_start, at + last),
            (prev, last) => (at + prev, at + last),
        };
        if ends != 0 {
            return Some(Quick {
                end: at + end as usize,
                name_start,
                tld_start,
            });
        }
        at += 16;
    }
}

/// The label before the last and the last of the host of `url`, read quickly: `None` when
/// [`quick_authority`] leaves the authority to the full reading, or when the host is empty or
/// ends in a dot.
pub(super) fn quick_labels(url: &str) -> Option<(&[u8], &[u8])> {
    let after = after_scheme(url)?.as_bytes();
    let Quick {
        end,
        name_start,
        tld_start,
    } = quick_authority(after)?;
    if tld_start == end {
        return None;
    }
    let host = &after[..end];
    let name_end = tld_start.saturating_sub(1);
    Some((
        &host[name_start.min(name_end)..name_end],
        &host[tld_start..],
    ))
}

/// The authority read byte by byte, in full: user information ends at the last '@'
/// (`https://urldefense.com@evil.example/` is a link to evil.example), a port follows the last
/// ':', the domain starts after the last dot but one.
fn full_authority(bytes: &[u8]) -> Authority {
    let (mut start, mut end) = (0, bytes.len());
    let mut colon = None;
    let mut dots = (None, None);
    let (mut upper, mut non_ascii) = (false, false);
    for (i, &b) in bytes.iter().enumerate() {
        match AUTHORITY[usize::from(b)] {
            0 => {}
            DOT => dots = (dots.1, Some(i)),
            END => {
                end = i;
                break;
            }
            UPPER => upper = true,
            COLON => colon = Some(i),
            AT => {
                start = i + 1;
                (colon, dots, upper, non_ascii) = (None, (None, None), false, false);
            }
            _ => non_ascii = true,
        }
    }
    Authority {
        start,
        end,
        colon,
        dots,
        upper,
        non_ascii,
    }
}

impl<'a> Link<'a> {
    /// `http:` or `https:` (any case), one or two slashes (mail clients merge `//` in hrefs),
    /// then the authority. `None` for anything else.
    pub fn parse(url: &'a str) -> Option<Self> {
        let after = after_scheme(url)?;
        let bytes = after.as_bytes();
        let Authority {
            start,
            end,
            colon,
            dots,
            upper,
            non_ascii,
        } = quick_authority(bytes).map_or_else(
            || full_authority(bytes),
            |q| Authority {
                start: 0,
                end: q.end,
                colon: None,
                dots: (q.name_start.checked_sub(1), q.tld_start.checked_sub(1)),
                upper: false,
                non_ascii: false,
            },
        );
        let host_end = match colon {
            Some(c) if bytes[c + 1..end].iter().all(u8::is_ascii_digit) => c,
            _ => end,
        };
        // A trailing dot (`urldefense.com.`) names the same host.
        let (host_end, dots) = match dots {
            (before, Some(last)) if last + 1 == host_end => (last, (None, before)),
            dots => (host_end, dots),
        };
        // Where the last two labels start, as offsets in the host (0 for none).
        let label = |dot: Option<usize>| match dot {
            Some(d) if d >= start && d < host_end => d + 1 - start,
            _ => 0,
        };
        let (tld_start, name_start) = (label(dots.1), label(dots.0));
        Some(Link {
            url,
            host: &after[start..host_end],
            rest: &after[end..],
            name_start,
            tld_start,
            host_upper: upper,
            host_non_ascii: non_ascii,
        })
    }

    /// `url`, known to start with `https://` and `host` in lower case.
    pub fn known(url: &'a str, host: &'a str) -> Self {
        let start = "https://".len();
        Link {
            url,
            host: &url[start..start + host.len()],
            rest: &url[start + host.len()..],
            name_start: 0,
            tld_start: 0,
            host_upper: false,
            host_non_ascii: false,
        }
    }

    /// The host in lower case, in `buf` unless it is lower case already, with its label before
    /// the last and its last (`example`, `com`); `None` when it is too long or not ASCII to be any
    /// wrapper's.
    pub fn lower_host<'s>(&self, buf: &'s mut [u8; MAX_HOST]) -> Option<(&'s str, &'s str, &'s str)>
    where
        'a: 's,
    {
        let host = self.host.as_bytes();
        if host.len() > MAX_HOST || self.host_non_ascii {
            return None;
        }
        let lower = if self.host_upper {
            let buf = &mut buf[..host.len()];
            buf.copy_from_slice(host);
            buf.make_ascii_lowercase();
            std::str::from_utf8(buf).ok()?
        } else {
            self.host
        };
        let (name, tld) = match self.tld_start {
            0 => ("", lower),
            t => (lower.get(self.name_start..t - 1).unwrap_or(""), &lower[t..]),
        };
        Some((lower, name, tld))
    }

    /// The path: `rest` up to the query or fragment.
    pub fn path(&self) -> &'a str {
        let end = self
            .rest
            .bytes()
            .position(|b| b == b'?' || b == b'#')
            .unwrap_or(self.rest.len());
        &self.rest[..end]
    }

    /// The query, without `?`, up to the fragment; empty when there is none.
    pub fn query(&self) -> &'a str {
        let (before, _) = self.split_fragment();
        before.split_once('?').map_or("", |(_, q)| q)
    }

    /// `rest` up to the first `#`, and the fragment after it.
    pub fn split_fragment(&self) -> (&'a str, Option<&'a str>) {
        match self.rest.split_once('#') {
            Some((before, fragment)) => (before, Some(fragment)),
            None => (self.rest, None),
        }
    }

    /// The wrapper's own fragment, to carry over to a target that has none.
    pub fn fragment(&self) -> Option<&'a str> {
        self.split_fragment().1
    }
}

pub(super) fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// The value of query parameter `name`: after `name=` at the start of the query, or after `&` or
/// `&amp;` (links copied out of HTML text); up to the next `&`.
pub(super) fn param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    param_from(query, name).map(|start| {
        let value = &query[start..];
        &value[..memchr::memchr(b'&', value.as_bytes()).unwrap_or(value.len())]
    })
}

/// Where the value of parameter `name` starts in `query`. Only the `&` signs are visited.
pub(super) fn param_from(query: &str, name: &str) -> Option<usize> {
    let bytes = query.as_bytes();
    let named_at = |at: usize| {
        let after = &bytes[at..];
        (after.len() > name.len()
            && after.starts_with(name.as_bytes())
            && after[name.len()] == b'=')
            .then_some(at + name.len() + 1)
    };
    if let Some(start) = named_at(0) {
        return Some(start);
    }
    memchr::memchr_iter(b'&', bytes).find_map(|i| {
        named_at(i + 1).or_else(|| {
            bytes[i + 1..]
                .starts_with(b"amp;")
                .then(|| named_at(i + 5))
                .flatten()
        })
    })
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

/// Whether `bytes` starts with two hex digits.
pub(super) fn hex_pair(bytes: &[u8]) -> Option<u8> {
    let high = HEX[usize::from(*bytes.first()?)];
    let low = HEX[usize::from(*bytes.get(1)?)];
    (high < 16 && low < 16).then_some(high << 4 | low)
}

/// How a wrapper percent-encodes its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Escapes {
    /// `%XX`; `+` is itself.
    Percent,
    /// `%XX`, and `+` is a space (HTML forms: Google's redirect).
    Form,
    /// URL Defense v2: `-XX` for `%XX`, `_` for `/`.
    Dashes,
}

/// Decodes `text` once into `out`. An escape without two hex digits is kept as it is. Returns
/// whether every escape stood for an ASCII byte (then what it wrote is UTF-8, as `text` is).
pub(super) fn percent_decode(text: &str, escapes: Escapes, out: &mut Vec<u8>) -> bool {
    match escapes {
        Escapes::Percent => decode_escapes::<b'%', false, false>(text.as_bytes(), out),
        Escapes::Form => decode_escapes::<b'%', false, true>(text.as_bytes(), out),
        Escapes::Dashes => decode_escapes::<b'-', true, false>(text.as_bytes(), out),
    }
}

/// One pass over the bytes, writing into a slice sized for the longest result (no byte expands):
/// escapes come every few bytes in a URL Defense v2 target. The bytes between escapes go sixteen
/// at a time (with `_` and `+` replaced in the same step).
fn decode_escapes<const ESCAPE: u8, const SLASH: bool, const PLUS: bool>(
    bytes: &[u8],
    out: &mut Vec<u8>,
) -> bool {
    let mut escaped = 0u8;
    let start = out.len();
    out.resize(start + bytes.len(), 0);
    let dst = &mut out[start..];
    let (mut i, mut w) = (0, 0);
    while i < bytes.len() {
        if let Some(sixteen) = bytes.get(i..i + 16) {
            let chunk = Chunk::load(sixteen);
            let mut plain = chunk;
            if SLASH {
                plain = plain.replace(b'_', b'/');
            }
            if PLUS {
                plain = plain.replace(b'+', b' ');
            }
            // w <= i, so there is room; bytes past the next escape are written over below.
            plain.store(&mut dst[w..]);
            match chunk.mask([ESCAPE]) {
                0 => {
                    (i, w) = (i + 16, w + 16);
                    continue;
                }
                escapes => {
                    let n = escapes.trailing_zeros() as usize;
                    (i, w) = (i + n, w + n);
                }
            }
        } else if bytes[i] != ESCAPE {
            dst[w] = match bytes[i] {
                b'_' if SLASH => b'/',
                b'+' if PLUS => b' ',
                b => b,
            };
            (i, w) = (i + 1, w + 1);
            continue;
        }
        // bytes[i] is an escape.
        match hex_pair(&bytes[i + 1..]) {
            Some(byte) => {
                dst[w] = byte;
                escaped |= byte;
                i += 3;
            }
            None => {
                dst[w] = b'%';
                i += 1;
            }
        }
        w += 1;
    }
    out.truncate(start + w);
    escaped.is_ascii()
}

/// Appends the wrapper's own `#fragment` to a target that has none: browsers carry a request's
/// fragment over a redirect whose location has none (RFC 9110 §10.2.2).
pub(super) fn carry_fragment(out: &mut Vec<u8>, fragment: Option<&str>) {
    if let Some(fragment) = fragment {
        if !out.contains(&b'#') {
            out.push(b'#');
            out.extend_from_slice(fragment.as_bytes());
        }
    }
}

/// `https:/host` (one slash) becomes `https://host`: the wrapped URL sat in a path, where mail
/// clients merge `//`.
pub(super) fn mend_single_slash(bytes: &mut Vec<u8>) {
    let Some(after_scheme) = http_scheme(bytes) else {
        return;
    };
    if bytes.get(after_scheme) == Some(&b'/')
        && bytes.get(after_scheme + 1).is_some_and(|&b| b != b'/')
    {
        bytes.insert(after_scheme, b'/');
    }
}

/// Whether the platform upper-cased the link: it has letters and none is lower case.
pub(super) fn upper_cased(url: &str) -> bool {
    // The first letter decides for almost every link (the `h` of `https`).
    let bytes = url.as_bytes();
    match bytes.iter().find(|b| b.is_ascii_alphabetic()) {
        Some(first) if first.is_ascii_uppercase() => !bytes.iter().any(u8::is_ascii_lowercase),
        _ => false,
    }
}

/// Unescapes HTML character references by the HTML5 rules for attribute values, where URL Defense
/// v1 and v2 found their targets: `&amp;` is `&`, but `&region=` stays as it is (a reference
/// without `;` followed by `=` or a letter or digit is left alone).
pub fn html_unescape(s: &str) -> Cow<'_, str> {
    if !may_hold_references(s.as_bytes()) {
        return Cow::Borrowed(s);
    }
    htmlize::unescape_attribute(s)
}

/// Whether an attribute value may hold a character reference (see [`reference_may_follow`]).
fn may_hold_references(bytes: &[u8]) -> bool {
    memchr::memchr_iter(b'&', bytes).any(|i| reference_may_follow(&bytes[i + 1..]))
}

/// Whether an `&` followed by `after` may start a character reference in an attribute value:
/// `#`, letters and digits then `;`, or exactly one of the names HTML5 also reads without `;`
/// (`&amp`, `&copy`, ...) followed by neither `=` nor a letter or digit. In an attribute every
/// other `&` is a plain `&` (the HTML5 rule above), and that is what queries are made of:
/// `&id=`, `&utm_source=`.
pub(super) fn reference_may_follow(after: &[u8]) -> bool {
    if after.first() == Some(&b'#') {
        return true;
    }
    let name = after
        .iter()
        .position(|b| !b.is_ascii_alphanumeric())
        .unwrap_or(after.len());
    match after.get(name) {
        _ if name == 0 => false,
        Some(b';') => true,
        Some(b'=') => false,
        _ => is_legacy_name(&after[..name]),
    }
}

/// Whether `name` is one of the named character references HTML5 reads without a trailing `;`
/// (the WHATWG list of legacy names).
pub(super) fn is_legacy_name(name: &[u8]) -> bool {
    matches!(
        name,
        b"AElig"
            | b"AMP"
            | b"Aacute"
            | b"Acirc"
            | b"Agrave"
            | b"Aring"
            | b"Atilde"
            | b"Auml"
            | b"COPY"
            | b"Ccedil"
            | b"ETH"
            | b"Eacute"
            | b"Ecirc"
            | b"Egrave"
            | b"Euml"
            | b"GT"
            | b"Iacute"
            | b"Icirc"
            | b"Igrave"
            | b"Iuml"
            | b"LT"
            | b"Ntilde"
            | b"Oacute"
            | b"Ocirc"
            | b"Ograve"
            | b"Oslash"
            | b"Otilde"
            | b"Ouml"
            | b"QUOT"
            | b"REG"
            | b"THORN"
            | b"Uacute"
            | b"Ucirc"
            | b"Ugrave"
            | b"Uuml"
            | b"Yacute"
            | b"aacute"
            | b"acirc"
            | b"acute"
            | b"aelig"
            | b"agrave"
            | b"amp"
            | b"aring"
            | b"atilde"
            | b"auml"
            | b"brvbar"
            | b"ccedil"
            | b"cedil"
            | b"cent"
            | b"copy"
            | b"curren"
            | b"deg"
            | b"divide"
            | b"eacute"
            | b"ecirc"
            | b"egrave"
            | b"eth"
            | b"euml"
            | b"frac12"
            | b"frac14"
            | b"frac34"
            | b"gt"
            | b"iacute"
            | b"icirc"
            | b"iexcl"
            | b"igrave"
            | b"iquest"
            | b"iuml"
            | b"laquo"
            | b"lt"
            | b"macr"
            | b"micro"
            | b"middot"
            | b"nbsp"
            | b"not"
            | b"ntilde"
            | b"oacute"
            | b"ocirc"
            | b"ograve"
            | b"ordf"
            | b"ordm"
            | b"oslash"
            | b"otilde"
            | b"ouml"
            | b"para"
            | b"plusmn"
            | b"pound"
            | b"quot"
            | b"raquo"
            | b"reg"
            | b"sect"
            | b"shy"
            | b"sup1"
            | b"sup2"
            | b"sup3"
            | b"szlig"
            | b"thorn"
            | b"times"
            | b"uacute"
            | b"ucirc"
            | b"ugrave"
            | b"uml"
            | b"uuml"
            | b"yacute"
            | b"yen"
            | b"yuml"
    )
}

/// Removes quoted-printable residue from text pasted out of raw mail: soft line breaks always, and
/// `=XX` escapes when every `=` in the text is one (as in a quoted-printable body, where `=` itself
/// is `=3D`).
pub(super) fn clean(input: &str) -> Cow<'_, str> {
    let trimmed = input.trim();
    // One look at each '=' decides whether there is anything to do; most URLs need nothing.
    // (A substring search for "=3" costs more than this on real links, which hold few '='.)
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
    let all_escapes = memchr::memchr_iter(b'=', bytes).all(|i| hex_pair(&bytes[i + 1..]).is_some());
    if !all_escapes {
        return unbroken;
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], hex_pair(&bytes[i + 1..])) {
            (b'=', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    match String::from_utf8(out) {
        Ok(s) => Cow::Owned(s),
        Err(_) => unbroken,
    }
}
