//! The other vendors' safe-link wrappers, one [`Wrapper`] each. Their host patterns and rules
//! are documented with their sources in the README's wrappers table.
//!
//! Most keep the target in one query parameter, percent-encoded once ([`QueryParam`]); Sophos and
//! Egress encode it in base64 (Egress deflated first); Cisco and Check Point put it in the path.
//! Mimecast's and some Sophos and Symantec links name only a token the vendor resolves: those are
//! [`DecodeError::Opaque`].

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;

use super::link::{
    carry_fragment, hex_pair, param, param_from, percent_decode, strip_prefix_ci, Escapes, Link,
};
use super::{DecodeError, Layer, Peeled, Wrapper};

/// A wrapper whose target is one query parameter, decoded once.
pub(super) struct QueryParam {
    layer: Layer,
    /// Whether a host belongs to this wrapper.
    hosts: fn(&str) -> bool,
    /// A path the link must start with (case-insensitive), or "" for any.
    path: &'static str,
    /// The parameters holding the target, the first present and non-empty one wins.
    names: &'static [&'static str],
    escapes: Escapes,
    /// Whether an unencoded target (`u=https://...`, as old FireEye and new Symantec links
    /// write it) runs to the end of the query: it is the last parameter, and may hold `&`.
    raw_tail: bool,
    /// Without the parameter the link is opaque (the vendor resolves a token), not broken.
    opaque_without: bool,
}

impl QueryParam {
    fn target<'a>(&self, link: &Link<'a>) -> Option<&'a str> {
        let query = link.query();
        self.names.iter().find_map(|name| {
            let value = param(query, name).filter(|v| !v.is_empty())?;
            if self.raw_tail && value.contains("://") {
                let start = param_from(query, name)?;
                return Some(&query[start..]);
            }
            Some(value)
        })
    }
}

impl Wrapper for QueryParam {
    fn claims(&self, host: &str, link: &Link<'_>) -> bool {
        (self.hosts)(host) && strip_prefix_ci(link.path(), self.path).is_some()
    }

    fn layer_of(&self, _link: &Link<'_>) -> Layer {
        self.layer
    }

    fn unwrap(&self, link: &Link<'_>, out: &mut Vec<u8>) -> Result<Peeled, DecodeError> {
        let Some(target) = self.target(link) else {
            return Err(if self.opaque_without {
                DecodeError::Opaque {
                    vendor: self.layer.vendor(),
                    hint: None,
                }
            } else {
                DecodeError::MissingTarget {
                    vendor: self.layer.vendor(),
                    name: self.names[0],
                }
            });
        };
        percent_decode(target, self.escapes, out);
        carry_fragment(out, link.fragment());
        Ok(Peeled::plain(self.layer))
    }
}

fn subdomain_of(host: &str, domain: &str) -> bool {
    host.strip_suffix(domain)
        .is_some_and(|head| head.ends_with('.') && head.len() > 1)
}

/// Microsoft Defender for Office 365 Safe Links, in every cloud: `url=`, percent-decoded once.
pub(super) const SAFE_LINKS: QueryParam = QueryParam {
    layer: Layer::SafeLinks,
    hosts: |host| {
        ["safelinks.protection.outlook.com", "safelinks.protection.office365.us", "safelinks.protection.outlook.cn"]
            .iter()
            .any(|d| subdomain_of(host, d))
            // Teams' Safe Links page.
            || host == "statics.teams.cdn.office.net"
    },
    path: "",
    names: &["url"],
    escapes: Escapes::Percent,
    raw_tail: false,
    opaque_without: false,
};
/// FireEye / Trellix Email Security: `u=`, percent-decoded once (old links leave it unencoded).
pub(super) const FIREEYE: QueryParam = QueryParam {
    layer: Layer::FireEye,
    hosts: |host| host == "protect2.fireeye.com" || host == "protect.fireeye.com",
    path: "",
    names: &["u"],
    escapes: Escapes::Percent,
    raw_tail: true,
    opaque_without: false,
};

/// Barracuda LinkProtect: `/url?a=`, percent-decoded once.
pub(super) const BARRACUDA: QueryParam = QueryParam {
    layer: Layer::Barracuda,
    hosts: |host| host == "linkprotect.cudasvc.com",
    path: "/url",
    names: &["a"],
    escapes: Escapes::Percent,
    raw_tail: false,
    opaque_without: false,
};

/// Trend Micro click-time protection: `/wis/clicktime/...?url=`, percent-decoded once.
pub(super) const TREND_MICRO: QueryParam = QueryParam {
    layer: Layer::TrendMicro,
    hosts: |host| subdomain_of(host, "trendmicro.com"),
    path: "/wis/clicktime/",
    names: &["url"],
    escapes: Escapes::Percent,
    raw_tail: false,
    opaque_without: false,
};

/// Symantec click-time protection: `u=`, percent-decoded once; links without it are opaque.
pub(super) const SYMANTEC: QueryParam = QueryParam {
    layer: Layer::Symantec,
    hosts: |host| host == "clicktime.symantec.com",
    path: "",
    names: &["u"],
    escapes: Escapes::Percent,
    raw_tail: true,
    opaque_without: true,
};

/// Google's redirect: `/url?q=` (or `url=` when `q` is empty), form-encoded.
pub(super) const GOOGLE: QueryParam = QueryParam {
    layer: Layer::Google,
    hosts: is_google_host,
    path: "/url",
    names: &["q", "url"],
    escapes: Escapes::Form,
    raw_tail: false,
    opaque_without: false,
};

/// `www.google.<tld>` or `google.<tld>`, with one- or two-label public suffixes (`google.co.uk`).
pub(super) fn is_google_host(host: &str) -> bool {
    let rest = host.strip_prefix("www.").unwrap_or(host);
    let Some(suffix) = rest.strip_prefix("google.") else {
        return false;
    };
    let labels: Vec<&str> = suffix.split('.').collect();
    matches!(labels.len(), 1 | 2)
        && labels
            .iter()
            .all(|l| (2..=3).contains(&l.len()) && l.bytes().all(|b| b.is_ascii_lowercase()))
}

/// Libraesva ESG: `u=`, percent-decoded once.
pub(super) const LIBRAESVA: QueryParam = QueryParam {
    layer: Layer::Libraesva,
    hosts: |host| host == "urlsand.esvalabs.com",
    path: "",
    names: &["u"],
    escapes: Escapes::Percent,
    raw_tail: false,
    opaque_without: false,
};

/// Hornetsecurity ATP: `u=`, percent-decoded once.
pub(super) const HORNETSECURITY: QueryParam = QueryParam {
    layer: Layer::Hornetsecurity,
    hosts: |host| host == "atpscan.global.hornetsecurity.com",
    path: "",
    names: &["u"],
    escapes: Escapes::Percent,
    raw_tail: false,
    opaque_without: false,
};

/// Azure email notifications: `/redirect/?destination=`, percent-decoded once.
pub(super) const AZURE_EMAIL: QueryParam = QueryParam {
    layer: Layer::AzureEmail,
    hosts: |host| host == "emails.azure.microsoft.com",
    path: "/redirect",
    names: &["destination"],
    escapes: Escapes::Percent,
    raw_tail: false,
    opaque_without: false,
};

/// Base64, standard or URL-safe alphabet (the caller maps the latter), padded or not.
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Decodes base64 in either alphabet, after undoing percent-encoding of `=`, `+` and `/`.
fn base64_any(text: &str) -> Option<Vec<u8>> {
    let mut unescaped = Vec::with_capacity(text.len());
    percent_decode(text, Escapes::Percent, &mut unescaped);
    for b in &mut unescaped {
        *b = match *b {
            b'-' => b'+',
            b'_' => b'/',
            b => b,
        };
    }
    LENIENT_BASE64.decode(&unescaped).ok()
}

/// Sophos Email: `u=` holds the URL in base64; newer time-of-click links carry no `u=` and are
/// opaque.
pub(super) struct Sophos;

impl Wrapper for Sophos {
    fn claims(&self, host: &str, _link: &Link<'_>) -> bool {
        subdomain_of(host, "protection.sophos.com")
    }

    fn layer_of(&self, _link: &Link<'_>) -> Layer {
        Layer::Sophos
    }

    fn unwrap(&self, link: &Link<'_>, out: &mut Vec<u8>) -> Result<Peeled, DecodeError> {
        let query = link.query();
        let Some(target) = param(query, "u").filter(|u| !u.is_empty()) else {
            return Err(DecodeError::Opaque {
                vendor: Layer::Sophos.vendor(),
                hint: param(query, "d").map(str::to_owned),
            });
        };
        let bytes = base64_any(target).ok_or(DecodeError::BadEncoding {
            vendor: Layer::Sophos.vendor(),
            encoding: "base64",
        })?;
        out.extend_from_slice(&bytes);
        carry_fragment(out, link.fragment());
        Ok(Peeled::plain(Layer::Sophos))
    }
}

/// The most an Egress target may inflate to: no URL is longer, and a hostile link cannot make
/// the decoder allocate more.
const EGRESS_MAX_URL: usize = 64 * 1024;

/// Egress Defend: `Base64Url=` is the base64url of the zlib-deflated URL.
pub(super) struct Egress;

impl Wrapper for Egress {
    fn claims(&self, host: &str, _link: &Link<'_>) -> bool {
        subdomain_of(host, "defend.egress.com")
    }

    fn layer_of(&self, _link: &Link<'_>) -> Layer {
        Layer::Egress
    }

    fn unwrap(&self, link: &Link<'_>, out: &mut Vec<u8>) -> Result<Peeled, DecodeError> {
        let bad = |encoding| DecodeError::BadEncoding {
            vendor: Layer::Egress.vendor(),
            encoding,
        };
        let target = param(link.query(), "Base64Url").ok_or(DecodeError::MissingTarget {
            vendor: Layer::Egress.vendor(),
            name: "Base64Url",
        })?;
        let deflated = base64_any(target).ok_or(bad("base64url"))?;
        let url =
            miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(&deflated, EGRESS_MAX_URL)
                .map_err(|_| bad("zlib data"))?;
        out.extend_from_slice(&url);
        Ok(Peeled::plain(Layer::Egress))
    }
}

/// Cisco Secure Email: `secure-web.cisco.com/<token>/<percent-encoded URL>`.
pub(super) struct Cisco;

impl Wrapper for Cisco {
    fn claims(&self, host: &str, _link: &Link<'_>) -> bool {
        host == "secure-web.cisco.com"
    }

    fn layer_of(&self, _link: &Link<'_>) -> Layer {
        Layer::Cisco
    }

    fn unwrap(&self, link: &Link<'_>, out: &mut Vec<u8>) -> Result<Peeled, DecodeError> {
        let (before, fragment) = link.split_fragment();
        // The token is the first path segment; the encoded URL is the rest.
        let target = before
            .strip_prefix('/')
            .and_then(|p| p.split_once('/'))
            .map(|(_, target)| target)
            .filter(|t| !t.is_empty())
            .ok_or(DecodeError::BadEncoding {
                vendor: Layer::Cisco.vendor(),
                encoding: "/<token>/<encoded URL> path",
            })?;
        percent_decode(target, Escapes::Percent, out);
        carry_fragment(out, fragment);
        Ok(Peeled::plain(Layer::Cisco))
    }
}

/// Check Point Harmony Email (Avanan). v2: `/v2/[rNN/]___<URL>___.<blob>`, the URL written as
/// it is but for `*XX` standing for `%XX`; a `#fragment` after the blob is the URL's. v1:
/// `*.url-protection.com/v1/[rNN/]url?o=<URL>`, percent-decoded once.
pub(super) struct CheckPoint;

impl CheckPoint {
    fn layer(host: &str) -> Layer {
        if host.eq_ignore_ascii_case("url.avanan.click") {
            Layer::Avanan
        } else {
            Layer::CheckPoint
        }
    }
}

impl Wrapper for CheckPoint {
    fn claims(&self, host: &str, _link: &Link<'_>) -> bool {
        host == "url.avanan.click"
            || host == "protect.checkpoint.com"
            || subdomain_of(host, "url-protection.com")
    }

    fn layer_of(&self, link: &Link<'_>) -> Layer {
        CheckPoint::layer(link.host)
    }

    fn unwrap(&self, link: &Link<'_>, out: &mut Vec<u8>) -> Result<Peeled, DecodeError> {
        let layer = CheckPoint::layer(link.host);
        let bad = DecodeError::BadEncoding {
            vendor: layer.vendor(),
            encoding: "___<URL>___.<blob> path",
        };
        if strip_prefix_ci(link.rest, "/v1/").is_some() {
            let target = param(link.query(), "o").ok_or(DecodeError::MissingTarget {
                vendor: layer.vendor(),
                name: "o",
            })?;
            percent_decode(target, Escapes::Percent, out);
            carry_fragment(out, link.fragment());
            return Ok(Peeled::plain(layer));
        }
        let body = strip_prefix_ci(link.rest, "/v2/").ok_or(bad.clone())?;
        let start = body.find("___").ok_or(bad.clone())? + 3;
        // The URL may contain `___.` itself: the blob follows the last one.
        let end = body.rfind("___.").filter(|&e| e >= start).ok_or(bad)?;
        let blob_and_fragment = &body[end + 4..];
        unstar(&body[start..end], out);
        carry_fragment(out, blob_and_fragment.split_once('#').map(|(_, f)| f));
        Ok(Peeled::plain(layer))
    }
}

/// Copies `text`, writing each `*XX` (two hex digits) as `%XX`.
fn unstar(text: &str, out: &mut Vec<u8>) {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'*' && hex_pair(&bytes[i + 1..]).is_some() {
            out.push(b'%');
        } else {
            out.push(bytes[i]);
        }
        i += 1;
    }
}

/// Mimecast: `/s/<token>` is resolved by Mimecast's servers only; `domain=` names the target's
/// domain, if anything.
pub(super) struct Mimecast;

impl Wrapper for Mimecast {
    fn claims(&self, host: &str, _link: &Link<'_>) -> bool {
        host.starts_with("protect-") || host == "protect.mimecast.com"
    }

    fn layer_of(&self, _link: &Link<'_>) -> Layer {
        Layer::Mimecast
    }

    fn unwrap(&self, link: &Link<'_>, _out: &mut Vec<u8>) -> Result<Peeled, DecodeError> {
        Err(DecodeError::Opaque {
            vendor: Layer::Mimecast.vendor(),
            hint: param(link.query(), "domain")
                .filter(|d| !d.is_empty())
                .map(str::to_owned),
        })
    }
}
