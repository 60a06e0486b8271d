//! Offline unwrapping of rewritten ("safe") links, with no I/O: Proofpoint URL Defense v1, v2 and
//! v3, and the other vendors' wrappers mail gateways put around links (Microsoft Safe Links,
//! FireEye, Barracuda, Sophos, Trend Micro, Symantec, Google, Cisco, Check Point / Avanan,
//! Libraesva, Hornetsecurity, Egress, Azure email), nested in any order up to [`MAX_LAYERS`] deep.
//!
//! Each vendor is a [`Wrapper`]: it recognises its links by host and path and takes one layer off.
//! [`decode_into`] peels layer after layer until what is left is no known wrapper. Links whose
//! target only the vendor's server knows (Mimecast, Sophos without `u=`) are
//! [`DecodeError::Opaque`], naming the vendor. Every failure says why; no input makes this panic.

mod chunk;
pub mod encode;
mod link;
mod urldefense;
mod vendors;

use std::borrow::Cow;
use std::fmt;

use link::Link;

pub use link::html_unescape;

/// The most layers unwrapped from one URL.
pub const MAX_LAYERS: usize = 5;

/// A wrapper taken off a URL, as named in Decode URL's `layers`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Layer {
    /// Proofpoint URL Defense v1 (`/v1/url?u=`).
    UrlDefenseV1,
    /// Proofpoint URL Defense v2 (`/v2/url?u=`).
    UrlDefenseV2,
    /// Proofpoint URL Defense v3 (`/v3/__...__;TABLE!...$`).
    UrlDefenseV3,
    /// Proofpoint URL Defense in a form only the TAP decode API reads.
    UrlDefense,
    /// Microsoft Defender for Office 365 Safe Links.
    SafeLinks,
    /// FireEye / Trellix Email Security.
    FireEye,
    /// Barracuda LinkProtect.
    Barracuda,
    /// Sophos Email.
    Sophos,
    /// Trend Micro Email Security click-time protection.
    TrendMicro,
    /// Symantec / Broadcom Email Security.cloud click-time protection.
    Symantec,
    /// Google's redirect (`www.google.*/url`).
    Google,
    /// Cisco Secure Email (IronPort).
    Cisco,
    /// Check Point Harmony Email on `url.avanan.click`.
    Avanan,
    /// Check Point Harmony Email on `protect.checkpoint.com` and `*.url-protection.com`.
    CheckPoint,
    /// Libraesva ESG.
    Libraesva,
    /// Hornetsecurity ATP.
    Hornetsecurity,
    /// Egress Defend.
    Egress,
    /// Azure email notifications' redirect.
    AzureEmail,
    /// Mimecast, whose links only Mimecast's servers resolve: never taken off.
    Mimecast,
}

impl Layer {
    /// The name in `layers`.
    pub fn name(self) -> &'static str {
        match self {
            Layer::UrlDefenseV1 => "urldefense_v1",
            Layer::UrlDefenseV2 => "urldefense_v2",
            Layer::UrlDefenseV3 => "urldefense_v3",
            Layer::UrlDefense => "urldefense",
            Layer::SafeLinks => "safelinks",
            Layer::FireEye => "fireeye",
            Layer::Barracuda => "barracuda",
            Layer::Sophos => "sophos",
            Layer::TrendMicro => "trendmicro",
            Layer::Symantec => "symantec",
            Layer::Google => "google",
            Layer::Cisco => "cisco",
            Layer::Avanan => "avanan",
            Layer::CheckPoint => "checkpoint",
            Layer::Libraesva => "libraesva",
            Layer::Hornetsecurity => "hornetsecurity",
            Layer::Egress => "egress",
            Layer::AzureEmail => "azure_email",
            Layer::Mimecast => "mimecast",
        }
    }

    /// The vendor's name, for messages.
    pub fn vendor(self) -> &'static str {
        match self {
            Layer::UrlDefenseV1 => "URL Defense v1",
            Layer::UrlDefenseV2 => "URL Defense v2",
            Layer::UrlDefenseV3 => "URL Defense v3",
            Layer::UrlDefense => "URL Defense",
            Layer::SafeLinks => "Safe Links",
            Layer::FireEye => "FireEye",
            Layer::Barracuda => "Barracuda",
            Layer::Sophos => "Sophos",
            Layer::TrendMicro => "Trend Micro",
            Layer::Symantec => "Symantec",
            Layer::Google => "Google redirect",
            Layer::Cisco => "Cisco Secure Email",
            Layer::Avanan => "Avanan",
            Layer::CheckPoint => "Check Point",
            Layer::Libraesva => "Libraesva",
            Layer::Hornetsecurity => "Hornetsecurity",
            Layer::Egress => "Egress",
            Layer::AzureEmail => "Azure email",
            Layer::Mimecast => "Mimecast",
        }
    }

    /// Whether this is a Proofpoint URL Defense layer: the only kind the TAP decode API reads.
    pub fn is_url_defense(self) -> bool {
        matches!(
            self,
            Layer::UrlDefenseV1 | Layer::UrlDefenseV2 | Layer::UrlDefenseV3 | Layer::UrlDefense
        )
    }
}

/// The layers taken off one URL, outermost first. Five bytes: a bulk request keeps one per URL.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Layers([Option<Layer>; MAX_LAYERS]);

impl Layers {
    /// One more layer, inside the others. Past [`MAX_LAYERS`], nothing is added.
    pub fn push(&mut self, layer: Layer) {
        if let Some(slot) = self.0.iter_mut().find(|l| l.is_none()) {
            *slot = Some(layer);
        }
    }

    /// The layers, outermost first.
    pub fn iter(&self) -> impl Iterator<Item = Layer> + '_ {
        self.0.iter().map_while(|l| *l)
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0[0].is_none()
    }

    /// These layers, then `inner`'s.
    pub fn then(mut self, inner: Layers) -> Layers {
        inner.iter().for_each(|l| self.push(l));
        self
    }
}

impl fmt::Display for Layers {
    /// `URL Defense v3 → Safe Links`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, layer) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(" → ")?;
            }
            f.write_str(layer.vendor())?;
        }
        Ok(())
    }
}

impl serde::Serialize for Layers {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter().map(Layer::name))
    }
}

/// Why one layer could not be taken off.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// No known wrapper's link.
    #[error("not a rewritten link: neither URL Defense (urldefense.com, urldefense.proofpoint.com, urldefense.us) nor another known safe-link wrapper")]
    NotWrapped,
    /// The platform upper-cased the URL, which destroys case-sensitive encodings.
    #[error("the URL was upper-cased by the platform; pass its OriginalIdentifier")]
    UpperCased,
    /// A wrapper whose target only its vendor's server knows.
    #[error("{vendor} links are resolved only by {vendor}'s servers{}: it cannot be decoded offline, and the TAP decode API does not read it", .hint.as_ref().map(|h| format!(" (the link names the domain {h})")).unwrap_or_default())]
    Opaque {
        /// The vendor.
        vendor: &'static str,
        /// The target's domain, when the link names it.
        hint: Option<String>,
    },
    /// A URL Defense host, but not a path of a known version.
    #[error("unknown URL Defense format (the path is not /v1/url, /v2/url or /v3/__)")]
    UnknownVersion,
    /// A wrapper's link without the parameter that holds the target.
    #[error("the {vendor} link has no {name}= parameter")]
    MissingTarget {
        /// The wrapper.
        vendor: &'static str,
        /// The parameter.
        name: &'static str,
    },
    /// A wrapper's encoded target that does not decode (base64, zlib, a path form).
    #[error("the {vendor} link's target is not valid {encoding}")]
    BadEncoding {
        /// The wrapper.
        vendor: &'static str,
        /// What it should have been.
        encoding: &'static str,
    },
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
    #[error("the v3 URL uses more substitution bytes than its table holds ({table} bytes): the URL was altered")]
    RunPastTable {
        /// Bytes in the table.
        table: usize,
    },
    /// The runs leave table bytes unused.
    #[error(
        "the v3 URL leaves {unused} of its {table} substitution bytes unused: the URL was altered"
    )]
    TableLeftOver {
        /// Bytes not used.
        unused: usize,
        /// Bytes in the table.
        table: usize,
    },
    /// The decoded bytes are not UTF-8.
    #[error("the decoded URL is not valid UTF-8")]
    InvalidUtf8,
    /// A URL Defense link not decoded offline, as asked ([`decode_for_api`]).
    #[error("left for the TAP decode API")]
    LeftForApi,
    /// Still wrapped after [`MAX_LAYERS`] layers.
    #[error("more than {MAX_LAYERS} nested wrapper layers")]
    TooManyLayers,
}

/// Why a URL could not be unwrapped, and how far unwrapping got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What went wrong.
    pub error: DecodeError,
    /// The layers taken off before it went wrong, outermost first.
    pub layers: Layers,
    /// The link that could not be unwrapped, when it is not the URL as given (it was found inside
    /// [`Failure::layers`]).
    pub inner: Option<String>,
    /// The wrapper of the link that could not be unwrapped, when it is a known one.
    pub wrapper: Option<Layer>,
}

impl Failure {
    fn new(error: DecodeError) -> Self {
        Failure {
            error,
            layers: Layers::default(),
            inner: None,
            wrapper: None,
        }
    }

    /// The URL Defense link the TAP decode API may read where offline decoding did not (`input`
    /// itself or a link found inside it), or `None`: only URL Defense links go to the API, and
    /// none that was upper-cased (its signature no longer matches).
    pub fn for_api<'a>(&'a self, input: &'a str) -> Option<&'a str> {
        let url_defense = self.wrapper.is_some_and(Layer::is_url_defense);
        let readable = !matches!(
            self.error,
            DecodeError::UpperCased | DecodeError::TooManyLayers | DecodeError::Opaque { .. }
        );
        (url_defense && readable).then(|| self.inner.as_deref().unwrap_or(input.trim()))
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            None => write!(f, "{}", self.error),
            Some(inner) => write!(
                f,
                "{} (in the link found inside the {} layer: {inner})",
                self.error, self.layers
            ),
        }
    }
}

impl std::error::Error for Failure {}

/// Unwraps a URL, layer after layer. Leading and trailing whitespace and quoted-printable residue
/// are removed first.
pub fn decode(input: &str) -> Result<String, Box<Failure>> {
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

/// As [`decode`], appending the unwrapped URL to `out` and returning the layers taken off; on
/// failure `out` is left as it was.
pub fn decode_into(
    input: &str,
    out: &mut String,
    scratch: &mut Scratch,
) -> Result<Layers, Box<Failure>> {
    unwrap_into(input, out, scratch, Offline::All)
}

/// As [`decode_into`], but a URL Defense layer is not decoded: the failure's
/// [`Failure::for_api`] is the URL Defense link reached, for the TAP decode API. Layers of other
/// vendors around it are taken off; a URL without URL Defense is unwrapped entirely.
pub fn decode_for_api(
    input: &str,
    out: &mut String,
    scratch: &mut Scratch,
) -> Result<Layers, Box<Failure>> {
    unwrap_into(input, out, scratch, Offline::AllButUrlDefense)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Offline {
    All,
    AllButUrlDefense,
}

/// Takes one layer off `input`: the wrapper and the URL it wraps. For inspecting a chain one step
/// at a time; [`decode`] peels them all.
pub fn peel(input: &str) -> Result<(Layer, String), DecodeError> {
    let input = link::clean(input);
    let (wrapper, link) = wrapper_of(&input).ok_or(DecodeError::NotWrapped)?;
    let mut bytes = Vec::new();
    let (layer, text) = one_layer(wrapper, &link, &mut bytes)?;
    Ok((layer, text.into_owned()))
}

/// Whether `url` is on a wrapper's host, and which, without decoding it.
pub fn wrapper_kind(url: &str) -> Option<Layer> {
    let (wrapper, link) = wrapper_of(url.trim())?;
    Some(wrapper.layer_of(&link))
}

fn unwrap_into(
    input: &str,
    out: &mut String,
    scratch: &mut Scratch,
    offline: Offline,
) -> Result<Layers, Box<Failure>> {
    let Scratch { bytes, layer } = scratch;
    let input = link::clean(input);
    let (mut wrapper, mut link) =
        wrapper_of(&input).ok_or_else(|| Box::new(Failure::new(DecodeError::NotWrapped)))?;
    let mut layers = Layers::default();
    // The layer is worked out again only on failure: most URLs never need it.
    let fail = |error, layers: Layers, wrapper: &dyn Wrapper, link: &Link<'_>| {
        Box::new(Failure {
            error,
            inner: (!layers.is_empty()).then(|| link.url.to_owned()),
            layers,
            wrapper: Some(wrapper.layer_of(link)),
        })
    };
    if link::upper_cased(&input) {
        return Err(fail(DecodeError::UpperCased, layers, wrapper, &link));
    }
    loop {
        if layers.len() == MAX_LAYERS {
            return Err(fail(DecodeError::TooManyLayers, layers, wrapper, &link));
        }
        if offline == Offline::AllButUrlDefense && wrapper.layer_of(&link).is_url_defense() {
            return Err(fail(DecodeError::LeftForApi, layers, wrapper, &link));
        }
        let (done, text) = match one_layer(wrapper, &link, bytes) {
            Ok(done) => done,
            Err(e) => return Err(fail(e, layers, wrapper, &link)),
        };
        layers.push(done);
        if !may_be_wrapped(&text) || wrapper_of(&text).is_none() {
            out.push_str(&text);
            return Ok(layers);
        }
        layer.clear();
        layer.push_str(&text);
        (wrapper, link) = wrapper_of(layer).expect("found just above");
    }
}

/// One layer off `link`: which it was, and the text it wrapped (UTF-8 checked, the single-slash
/// artefact mended).
fn one_layer<'b>(
    wrapper: &dyn Wrapper,
    link: &Link<'_>,
    bytes: &'b mut Vec<u8>,
) -> Result<(Layer, Cow<'b, str>), DecodeError> {
    bytes.clear();
    let peeled = wrapper.unwrap(link, bytes)?;
    link::mend_single_slash(bytes);
    let text = if peeled.utf8 {
        debug_assert!(std::str::from_utf8(bytes).is_ok(), "{bytes:?}");
        // SAFETY: `Peeled::utf8` promises UTF-8 text with ASCII bytes replaced by ASCII bytes,
        // and the mending above put one ASCII byte after an ASCII scheme: still UTF-8.
        unsafe { std::str::from_utf8_unchecked(bytes) }
    } else {
        std::str::from_utf8(bytes).map_err(|_| DecodeError::InvalidUtf8)?
    };
    let text = if peeled.html {
        html_unescape(text)
    } else {
        Cow::Borrowed(text)
    };
    Ok((peeled.layer, text))
}

/// What taking a layer off found out.
struct Peeled {
    /// Which layer it was.
    layer: Layer,
    /// Whether the target is known to be UTF-8 without looking: it is the link's own text (UTF-8)
    /// with ASCII bytes put in place of ASCII bytes (URL Defense's runs and escapes, when all
    /// they stand for is ASCII). Saves a pass over every decoded URL.
    utf8: bool,
    /// Whether the target still holds HTML character references (URL Defense v1 and v2 encode
    /// the href attribute as written in the mail's HTML).
    html: bool,
}

impl Peeled {
    fn plain(layer: Layer) -> Self {
        Peeled {
            layer,
            html: false,
            utf8: false,
        }
    }
}

/// One vendor's wrapper: how its links are recognised, and how one layer comes off.
trait Wrapper: Sync {
    /// Whether `link`, on `host` (its host in lower case), is this wrapper's. Called only for
    /// hosts under one of the domains [`REGISTRY`] lists this wrapper for.
    fn claims(&self, host: &str, link: &Link<'_>) -> bool;

    /// The layer a link of this wrapper is, before decoding it.
    fn layer_of(&self, link: &Link<'_>) -> Layer;

    /// Writes the URL `link` wraps into `out` (empty).
    fn unwrap(&self, link: &Link<'_>, out: &mut Vec<u8>) -> Result<Peeled, DecodeError>;
}

/// The domains wrappers rewrite links to, as (last label, label before it), and whose links they
/// are. The registry: a new vendor is a [`Wrapper`] and a line here. (Google's redirect is on
/// `google.<tld>` and `google.co.uk`: see [`wrapper_for`].)
const REGISTRY: [(&str, &str, &dyn Wrapper); 21] = {
    use vendors::*;
    [
        ("com", "urldefense", &urldefense::UrlDefense),
        ("com", "proofpoint", &urldefense::UrlDefense),
        ("us", "urldefense", &urldefense::UrlDefense),
        ("com", "outlook", &SAFE_LINKS),
        ("us", "office365", &SAFE_LINKS),
        ("cn", "outlook", &SAFE_LINKS),
        ("net", "office", &SAFE_LINKS),
        ("com", "fireeye", &FIREEYE),
        ("com", "cudasvc", &BARRACUDA),
        ("com", "sophos", &Sophos),
        ("com", "trendmicro", &TREND_MICRO),
        ("com", "symantec", &SYMANTEC),
        ("com", "cisco", &Cisco),
        ("click", "avanan", &CheckPoint),
        ("com", "checkpoint", &CheckPoint),
        ("com", "url-protection", &CheckPoint),
        ("com", "esvalabs", &LIBRAESVA),
        ("com", "hornetsecurity", &HORNETSECURITY),
        ("com", "egress", &Egress),
        ("com", "mimecast", &Mimecast),
        ("com", "microsoft", &AZURE_EMAIL),
    ]
};

/// A first look at the label before the last, which rules out almost every host in a few
/// loads: bit `n` of `NAME_FILTER[0][b]` is set when a registered name (or `google`) starts with
/// `b` and is `n` bytes long, of `NAME_FILTER[1][b]` when one ends with `b`.
static NAME_FILTER: [[u32; 256]; 2] = {
    let mut filter = [[0u32; 256]; 2];
    let mut i = 0;
    while i <= REGISTRY.len() {
        let name = match i {
            i if i < REGISTRY.len() => REGISTRY[i].1.as_bytes(),
            _ => b"google",
        };
        filter[0][name[0] as usize] |= 1 << name.len();
        filter[1][name[name.len() - 1] as usize] |= 1 << name.len();
        i += 1;
    }
    filter
};

/// Whether [`NAME_FILTER`] lets `name` (lower case) through.
fn may_be_registered(name: &[u8]) -> bool {
    let (Some(&first), Some(&last)) = (name.first(), name.last()) else {
        return false;
    };
    let bit = 1u32.checked_shl(name.len() as u32).unwrap_or(0);
    NAME_FILTER[0][usize::from(first)] & NAME_FILTER[1][usize::from(last)] & bit != 0
}

/// The wrapper that rewrites links to hosts under `name.tld` (the host's last two labels, lower
/// case), or to `host` itself.
fn wrapper_for(name: &str, tld: &str, host: &str) -> Option<&'static dyn Wrapper> {
    if may_be_registered(name.as_bytes()) {
        if let Some((_, _, wrapper)) = REGISTRY.iter().find(|(t, n, _)| *n == name && *t == tld) {
            return Some(*wrapper);
        }
        if name == "google" {
            return Some(&vendors::GOOGLE);
        }
    }
    // google.<two-letter or three-letter label>.<country> (google.co.uk).
    (tld.len() == 2 && name.len() <= 3 && vendors::is_google_host(host)).then_some(&vendors::GOOGLE)
}

/// Whether `url` may be some wrapper's link, from its last two labels alone without taking it
/// apart: `false` for almost every decoded URL, and never for one [`wrapper_of`] finds. Every
/// decoded URL is looked at, so this is the decoder's hottest question.
fn may_be_wrapped(url: &str) -> bool {
    match link::quick_labels(url) {
        Some((name, tld)) => may_be_registered(name) || (tld.len() == 2 && name.len() <= 3),
        // Not http(s) (no wrapper's), or an authority the quick reading leaves alone.
        None => link::after_scheme(url).is_some(),
    }
}

/// The wrapper whose link `url` is, with the link's parts.
fn wrapper_of(url: &str) -> Option<(&'static dyn Wrapper, Link<'_>)> {
    // The spellings URL Defense itself writes, known without looking further.
    if url.as_bytes().get(8) == Some(&b'u') {
        for (prefix, host) in &urldefense::EXACT_PREFIXES {
            if url.starts_with(prefix) {
                return Some((&urldefense::UrlDefense, Link::known(url, host)));
            }
        }
    }
    let link = Link::parse(url)?;
    let mut host = [0u8; link::MAX_HOST];
    let (host, name, tld) = link.lower_host(&mut host)?;
    wrapper_for(name, tld, host)
        .filter(|w| w.claims(host, &link))
        .map(|w| (w, link))
}

#[cfg(test)]
mod tests;
