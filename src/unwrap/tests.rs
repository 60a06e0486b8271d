//! Unit tests of the decoder: the documented examples, each version's edge cases, the errors.

use super::*;
use base64::Engine as _;

/// The unwrapped URL, or the error alone.
fn decode(input: &str) -> Result<String, DecodeError> {
    super::decode(input).map_err(|f| f.error)
}

#[test]
fn documentation_examples() {
    let tsv = include_str!("../../tests/fixtures/url_defense_doc_examples.tsv");
    let mut n = 0;
    for line in tsv.lines().filter(|l| !l.trim().is_empty()) {
        let (encoded, expected) = line.split_once('\t').unwrap();
        assert_eq!(decode(encoded).as_deref(), Ok(expected), "{encoded}");
        n += 1;
    }
    assert_eq!(n, 4);
}

#[test]
fn v1_takes_u_up_to_k_and_unescapes() {
    assert_eq!(
        decode("https://urldefense.proofpoint.com/v1/url?u=http://a.example/x%3Fy%3D1&amp;k=abc&amp;r=z"),
        Ok("http://a.example/x?y=1".into())
    );
    assert_eq!(
        decode("https://urldefense.proofpoint.com/v1/url?u=http%3A%2F%2Fb.example%2F%26lt%3B&k=1"),
        Ok("http://b.example/<".into())
    );
    assert_eq!(
        decode("https://urldefense.proofpoint.com/v1/url?k=1&r=2"),
        Err(DecodeError::MissingTarget {
            vendor: "URL Defense v1",
            name: "u"
        })
    );
}

#[test]
fn v2_maps_dash_and_underscore() {
    assert_eq!(
        decode("https://urldefense.proofpoint.com/v2/url?u=https-3A__example.com_a-5Fb-2Dc-3Fq-3D1-26r-3D2"),
        Ok("https://example.com/a_b-c?q=1&r=2".into())
    );
    // `&d=` can be absent; the query may be `&amp;`-escaped.
    assert_eq!(
        decode("https://urldefense.proofpoint.com/v2/url?c=1&amp;u=http-3A__x.example_&amp;d=2"),
        Ok("http://x.example/".into())
    );
    assert_eq!(
        decode("https://urldefense.proofpoint.com/v2/url?u=http-3A__x.example_-C3-A9"),
        Ok("http://x.example/é".into())
    );
    assert_eq!(
        decode("https://urldefense.proofpoint.com/v2/url?u=http-3A__x.example_-FF"),
        Err(DecodeError::InvalidUtf8)
    );
}

#[test]
fn v3_runs_count_utf8_bytes() {
    // `w60j` is base64url for the bytes C3 AD 23: "í" (two bytes) then "#".
    assert_eq!(
        decode("https://urldefense.com/v3/__https://x.example/**A__;w60!!org!sig$"),
        Ok("https://x.example/í".into())
    );
    // A table with bytes no run takes is not what URL Defense writes: the URL was altered.
    assert_eq!(
        decode("https://urldefense.com/v3/__https://x.example/**A__;w60j!!org!sig$"),
        Err(DecodeError::TableLeftOver {
            unused: 1,
            table: 3
        })
    );
    assert_eq!(
        decode("https://urldefense.com/v3/__https://x.example/**A*__;w60j!!org!sig$"),
        Ok("https://x.example/í#".into())
    );
    // An empty table is the common case.
    assert_eq!(
        decode("https://urldefense.com/v3/__https://x.example/a__;!!org!sig$"),
        Ok("https://x.example/a".into())
    );
}

#[test]
fn v3_chained_runs() {
    let table: Vec<u8> = (0..131).map(|i| b'a' + (i % 26) as u8).collect();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&table);
    let url = format!("https://urldefense.com/v3/__https://x.example/**_**_*__;{b64}!!o!s$");
    let expected = format!("https://x.example/{}", String::from_utf8(table).unwrap());
    assert_eq!(decode(&url), Ok(expected));
}

#[test]
fn v3_anchors_on_the_last_valid_table() {
    // The mangled URL contains `__;` itself, followed by something that is not a table.
    assert_eq!(
        decode("https://urldefense.com/v3/__https://x.example/a__;b.c__d*__;Kw!!o!s$"),
        Ok("https://x.example/a__;b.c__d+".into())
    );
    assert_eq!(
        decode("https://urldefense.com/v3/__https://x.example/a__;Kw!b*__;Kw!!o!s$"),
        Ok("https://x.example/a__;Kw!b+".into())
    );
}

#[test]
fn v3_failures_say_why() {
    let d = |s: &str| decode(s).unwrap_err();
    assert_eq!(
        d("https://urldefense.com/v3/__https://x.example/a"),
        DecodeError::TruncatedTable
    );
    assert_eq!(
        d("https://urldefense.com/v3/__https://x.example/a__;Kw"),
        DecodeError::TruncatedTable
    );
    assert_eq!(
        d("https://urldefense.com/v3/__https://x.example/a__;K.w!!$"),
        DecodeError::BadBase64
    );
    assert_eq!(
        d("https://urldefense.com/v3/__https://x.example/a__;K!!$"),
        DecodeError::BadBase64
    );
    assert_eq!(
        d("https://urldefense.com/v3/__https://x.example/**.__;Kw!!$"),
        DecodeError::BadRunToken('.')
    );
    assert_eq!(
        d("https://urldefense.com/v3/__https://x.example/**__;Kw!!$"),
        DecodeError::RunPastTable { table: 1 }
    );
    assert_eq!(
        d("https://urldefense.com/v3/__https://x.example/**B__;Kw!!$"),
        DecodeError::RunPastTable { table: 1 }
    );
    assert_eq!(
        d("https://urldefense.com/v3/__https://x.example/*__;_w!!$"),
        DecodeError::InvalidUtf8
    );
}

#[test]
fn hosts_schemes_and_the_single_slash_artefact() {
    for host in urldefense::HOSTS {
        let url = format!("https:/{host}/v3/__https://x.example/__;!!o!s$");
        assert_eq!(decode(&url), Ok("https://x.example/".into()), "{url}");
    }
    assert_eq!(
        decode("HTTP://URLDEFENSE.US:443/V3/__https://x.example/__;!!o!s$"),
        Ok("https://x.example/".into())
    );
    assert_eq!(
        decode("https://example.com/v3/__x__;!!$"),
        Err(DecodeError::NotWrapped)
    );
    assert_eq!(
        decode("https://urldefense.com.evil.example/v3/__x__;!!$"),
        Err(DecodeError::NotWrapped)
    );
    assert_eq!(decode("not a url"), Err(DecodeError::NotWrapped));
    assert_eq!(
        decode("https://urldefense.com/v4/__x"),
        Err(DecodeError::UnknownVersion)
    );
    assert_eq!(decode(""), Err(DecodeError::NotWrapped));
}

#[test]
fn nested_layers() {
    let inner = "https://urldefense.com/v3/__https://x.example/a*b__;Kw!!o!s$";
    let outer = encode::v2(inner);
    assert_eq!(decode(&outer), Ok("https://x.example/a+b".into()));
    let mut url = "https://x.example/".to_owned();
    for _ in 0..MAX_LAYERS {
        url = encode::v2(&url);
    }
    assert_eq!(decode(&url), Ok("https://x.example/".into()));
    url = encode::v3(&url);
    assert_eq!(decode(&url), Err(DecodeError::TooManyLayers));
}

#[test]
fn quoted_printable_residue() {
    assert_eq!(
        decode(
            "https://urldefense.proofpoint.com/v2/url?u=3Dhttp-3A__x.example_&d=3DDwM=\n&c=3Dabc"
        ),
        Ok("http://x.example/".into())
    );
    assert_eq!(
        decode("https://urldefense.com/v3/__https://x.example/?a=3Db__;!!o!s=\r\n$"),
        Ok("https://x.example/?a=b".into())
    );
    // A bare '=' means the text is not quoted-printable: "=3D" stays.
    assert_eq!(
        decode("https://urldefense.com/v3/__https://x.example/?a=3D&b=1__;!!o!s$"),
        Ok("https://x.example/?a=3D&b=1".into())
    );
}

#[test]
fn html_unescape_handles_named_and_numeric() {
    assert_eq!(
        html_unescape("a&amp;b&lt;&#39;&#x41;&bogus;&"),
        "a&b<'A&bogus;&"
    );
    // HTML5: references to NUL and surrogates are U+FFFD.
    assert_eq!(html_unescape("&#0;&#xD800;"), "\u{FFFD}\u{FFFD}");
}

#[test]
fn legacy_names_are_exactly_those_html5_reads_without_semicolon() {
    // htmlize's table of entities spells each bare one without `;`.
    let names: std::collections::BTreeMap<&[u8], bool> = htmlize::ENTITIES
        .keys()
        .map(|k| {
            let name = k.strip_prefix(b"&").unwrap_or(k);
            (name.strip_suffix(b";").unwrap_or(name), !k.ends_with(b";"))
        })
        .fold(Default::default(), |mut all, (name, bare)| {
            *all.entry(name).or_default() |= bare;
            all
        });
    for (name, bare) in &names {
        assert_eq!(
            link::is_legacy_name(name),
            *bare,
            "{}",
            String::from_utf8_lossy(name)
        );
    }
    assert_eq!(names.values().filter(|b| **b).count(), 106);
    for text in [
        "a&utm_source=1",
        "a&id=2",
        "a&notit=1",
        "a&amp1",
        "a&b",
        "a&",
    ] {
        assert_eq!(html_unescape(text), text);
        assert_eq!(htmlize::unescape_attribute(text), text, "{text}");
    }
    assert_eq!(html_unescape("a&amp;b&lt;c&#38;d&not/"), "a&b<c&d¬/");
}

#[test]
fn v3_tables_decode_as_the_base64_crate_does() {
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut out = [0u8; 64];
    for len in 0..40 {
        let bytes: Vec<u8> = (0..len).map(|i| (i * 97 + len * 13) as u8).collect();
        let text = engine.encode(&bytes);
        let n = urldefense::decode_table(text.as_bytes(), &mut out);
        assert_eq!(n.map(|n| &out[..n]), Some(&bytes[..]), "{text}");
    }
    // A last group of one character is no byte; other characters are not base64url.
    for bad in ["A", "AAAAA", "AA=A", "AA+A", "AA/A", "AA A"] {
        assert_eq!(
            urldefense::decode_table(bad.as_bytes(), &mut out),
            None,
            "{bad}"
        );
    }
    // Bits past the last whole byte are ignored, as URL Defense's tables leave them.
    assert_eq!(urldefense::decode_table(b"w7", &mut out), Some(1));
    assert_eq!(out[0], 0xC3);
    // Too small an output is refused, not overrun.
    assert_eq!(urldefense::decode_table(b"AAAA", &mut out[..2]), None);
}

/// The quick look at every decoded URL may say "perhaps" for a link that is no wrapper's, but
/// never "no" for one that is: on every registered domain in its spellings, and on every URL of
/// the shared corpora with every layer inside it.
#[test]
fn the_quick_look_never_misses_a_wrapper() {
    let mut urls = Vec::new();
    for (tld, name, _) in REGISTRY {
        for host in [
            format!("{name}.{tld}"),
            format!("eu1.{name}.{tld}"),
            format!("a.b.c.d.e.f.g.h.i.j.{name}.{tld}"),
            format!("{}.{}", name.to_uppercase(), tld),
            format!("{name}.{tld}."),
            format!("{name}.{tld}:443"),
            format!("user@{name}.{tld}"),
        ] {
            for scheme in ["https://", "http://", "https:/", "HTTPS://"] {
                for rest in ["", "/", "/v3/__x__;!!$", "?u=x", "#f", "\\x"] {
                    let url = format!("{scheme}{host}{rest}");
                    // On a registered domain: "perhaps", whatever the path.
                    assert!(may_be_wrapped(&url), "missed {url}");
                    urls.push(url);
                }
            }
        }
    }
    for host in [
        "google.com",
        "www.google.co.uk",
        "google.de",
        "WWW.GOOGLE.FR",
    ] {
        urls.push(format!("https://{host}/url?q=https://x.example/"));
    }
    let corpora = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpora");
    for file in ["urldefense_real.tsv", "wrappers_real.tsv"] {
        if let Ok(text) = std::fs::read_to_string(format!("{corpora}/{file}")) {
            urls.extend(text.lines().flat_map(|l| l.split('\t').map(str::to_owned)));
        }
    }
    let mut looked = 0;
    for url in &urls {
        // The URL, and every link unwrapped from it on the way in.
        let mut text = url.clone();
        loop {
            if wrapper_of(&text).is_some() {
                assert!(may_be_wrapped(&text), "missed {text}");
                looked += 1;
            }
            match peel(&text) {
                Ok((_, inner)) => text = inner,
                Err(_) => break,
            }
        }
    }
    assert!(looked > 1_000, "{looked}");
}
