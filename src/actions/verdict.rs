//! The verdict rule (SPEC §4.10): when TAP's data means something is malicious, and how severe an
//! insight about it is. One rule in one place, for every action that judges.

/// Whether a threat is malicious: classified (or categorised) `malware`, `phish` or `impostor`,
/// and `active` (not `cleared` or `falsePositive`). `spam` is not malicious. Compared ignoring case,
/// `phishing` read as `phish`.
pub(crate) fn is_malicious_threat(classification: &str, status: &str) -> bool {
    let classification = classification.trim().to_ascii_lowercase();
    let status = status.trim().to_ascii_lowercase();
    let harmful = matches!(
        classification.as_str(),
        "malware" | "phish" | "phishing" | "impostor"
    );
    harmful && status == "active"
}

/// How severe an insight is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Severity {
    /// Nothing malicious.
    Info,
    /// Something malicious, with no sign that anyone was exposed.
    Warn,
    /// Someone was exposed: a permitted click on, or a delivered message carrying, a malicious
    /// threat.
    Critical,
}

impl Severity {
    /// The severity of what is `malicious`, `exposed` saying whether someone met it.
    pub(crate) fn of(malicious: bool, exposed: bool) -> Severity {
        match (malicious, exposed) {
            (false, _) => Severity::Info,
            (true, false) => Severity::Warn,
            (true, true) => Severity::Critical,
        }
    }

    /// As the envelope spells it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warn => "warn",
            Severity::Critical => "critical",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_classification_and_status() {
        let classifications = [
            "malware", "phish", "impostor", "spam", "MALWARE", "Phishing", "", "unknown",
        ];
        let statuses = ["active", "cleared", "falsePositive", "ACTIVE", ""];
        for c in classifications {
            for s in statuses {
                let expected = ["malware", "phish", "impostor", "phishing"]
                    .contains(&c.to_ascii_lowercase().as_str())
                    && s.eq_ignore_ascii_case("active");
                assert_eq!(is_malicious_threat(c, s), expected, "{c} / {s}");
            }
        }
    }

    #[test]
    fn severity_follows_exposure() {
        assert_eq!(Severity::of(false, true), Severity::Info);
        assert_eq!(Severity::of(true, false), Severity::Warn);
        assert_eq!(Severity::of(true, true).as_str(), "critical");
    }
}
