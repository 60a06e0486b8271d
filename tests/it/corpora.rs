//! The shared corpora of real rewritten URLs, read in place from `../shared/corpora/`: every real
//! URL Defense URL decodes to its true target, every other vendor's link comes off to its target
//! (or is refused, naming the vendor, when only the vendor can resolve it), and the damaged URL
//! Defense URL fails instead of being guessed.

use proofpoint_tap::unwrap::{decode, peel, DecodeError, Layer};

/// The rows of a corpus file, split at tabs. A missing corpus fails the test: these files are
/// the project's ground truth, not optional extras.
fn rows(file: &str) -> Vec<Vec<String>> {
    let path = format!("{}/../shared/corpora/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("the corpus {path} must be readable: {e}"));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect()
}

/// What `url` is once every wrapper is off; the URL itself when it is not wrapped.
fn fully_unwrapped(url: &str) -> Result<String, DecodeError> {
    match decode(url) {
        Ok(target) => Ok(target),
        Err(f) if f.error == DecodeError::NotWrapped => Ok(url.to_owned()),
        Err(f) => Err(f.error),
    }
}

/// How unwrapping `url` entirely differs from unwrapping its one-layer `target` entirely, if it does.
fn whole_chain_disagrees(url: &str, target: &str) -> Option<String> {
    let whole = decode(url).map_err(|f| f.error);
    let expected = fully_unwrapped(target);
    (whole != expected)
        .then(|| format!("{url}\n  whole chain {whole:?}\n  want        {expected:?}"))
}

#[test]
fn every_real_url_defense_url_decodes_to_its_true_target() {
    let rows = rows("urldefense_real.tsv");
    assert_eq!(rows.len(), 807, "the corpus has 807 rows");
    let mut wrong = Vec::new();
    for row in &rows {
        let (encoded, target) = (&row[0], &row[1]);
        // The corpus gives the target of the URL Defense layers; other vendors' links inside
        // them (Safe Links, FireEye) are the next test's business.
        let mut text = encoded.clone();
        let mut layers = Vec::new();
        loop {
            match peel(&text) {
                Ok((layer, inner)) if layer.is_url_defense() => {
                    layers.push(layer);
                    text = inner;
                }
                Ok(_) | Err(DecodeError::NotWrapped) => break,
                Err(e) => {
                    text = format!("error: {e}");
                    break;
                }
            }
        }
        if text != *target || layers.is_empty() {
            wrong.push(format!("{encoded}\n  got  {text}\n  want {target}"));
            continue;
        }
        // The whole chain agrees with unwrapping the target itself.
        wrong.extend(whole_chain_disagrees(encoded, target));
    }
    assert!(
        wrong.is_empty(),
        "{} of {} rows decode wrongly:\n{}",
        wrong.len(),
        rows.len(),
        wrong.join("\n")
    );
}

/// The layer a corpus vendor name stands for.
fn layer_named(vendor: &str) -> Option<Layer> {
    proofpoint_tap::unwrap::encode::WRAPPABLE
        .into_iter()
        .find(|l| l.name() == vendor.replace('-', "_"))
}

#[test]
fn every_other_vendors_link_in_the_corpus_comes_off() {
    let rows = rows("wrappers_real.tsv");
    assert_eq!(rows.len(), 82, "the corpus has 82 rows");
    let mut wrong = Vec::new();
    for row in &rows {
        let (vendor, wrapped, target) = (&row[0], &row[1], &row[2]);
        if target.starts_with("!OPAQUE") {
            match decode(wrapped).map_err(|f| f.error) {
                Err(DecodeError::Opaque { vendor: named, .. })
                    if named.eq_ignore_ascii_case(vendor) => {}
                other => wrong.push(format!(
                    "{wrapped}\n  got  {other:?}\n  want opaque {vendor}"
                )),
            }
            continue;
        }
        let Some(layer) = layer_named(vendor) else {
            wrong.push(format!("{wrapped}\n  no layer is named {vendor}"));
            continue;
        };
        match peel(wrapped) {
            Ok((got, inner)) if got == layer && inner == *target => {}
            other => {
                wrong.push(format!(
                    "{wrapped}\n  got  {other:?}\n  want ({layer:?}, {target})"
                ));
                continue;
            }
        }
        wrong.extend(whole_chain_disagrees(wrapped, target));
    }
    assert!(
        wrong.is_empty(),
        "{} of {} rows unwrap wrongly:\n{}",
        wrong.len(),
        rows.len(),
        wrong.join("\n")
    );
}

#[test]
fn the_damaged_url_defense_url_fails_instead_of_being_guessed() {
    let rows = rows("urldefense_invalid.tsv");
    assert_eq!(rows.len(), 1);
    for row in rows {
        assert_eq!(row[1], "!ERROR");
        let failure = decode(&row[0]).expect_err("a damaged table is an error");
        assert!(
            matches!(failure.error, DecodeError::TableLeftOver { unused: 1, .. }),
            "{failure}"
        );
    }
}
