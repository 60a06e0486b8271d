//! Keeping the credentials out of whatever TAP sends back: an error page that echoes the request
//! headers, a message that quotes the secret.

use crate::config::Secret;

/// Removes the credentials from text quoted from TAP: an error page that echoes the request
/// headers (WAFs and echo proxies do) would otherwise carry them to stdout and the logs.
#[derive(Debug, Clone)]
pub(crate) struct Redactor {
    /// Longest first, so that `Basic <base64>` goes whole before its base64 alone.
    needles: Vec<Secret>,
}

impl Redactor {
    /// Redacts the secret, the base64 of `principal:secret` and the `Authorization` value.
    pub(crate) fn new(principal: &str, secret: &Secret) -> Self {
        use base64::Engine;
        let basic = base64::engine::general_purpose::STANDARD
            .encode(format!("{principal}:{}", secret.expose()));
        let mut needles = vec![
            Secret::new(format!("Basic {basic}")),
            Secret::new(basic),
            secret.clone(),
        ];
        needles.retain(|n| !n.expose().is_empty());
        needles.sort_by_key(|n| std::cmp::Reverse(n.expose().len()));
        Redactor { needles }
    }

    /// `text` with every credential form replaced by `<redacted>`.
    pub(crate) fn redact(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for needle in &self.needles {
            if text.contains(needle.expose()) {
                text = text.replace(needle.expose(), "<redacted>");
            }
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_credential_form_is_redacted() {
        use base64::Engine;
        let r = Redactor::new("svc", &Secret::new("s3cret"));
        let basic = base64::engine::general_purpose::STANDARD.encode("svc:s3cret");
        assert_eq!(
            r.redact(&format!("Authorization: Basic {basic}; {basic}; s3cret!")),
            "Authorization: <redacted>; <redacted>; <redacted>!"
        );
        assert_eq!(r.redact("nothing here"), "nothing here");
    }
}
