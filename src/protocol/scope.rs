//! Entity scopes: which target entities an action sees.
//!
//! The platform normally resolves the scope before the action runs; the runner applies the
//! predefined scopes it knows so that a request piped in by hand behaves the same way.

use crate::error::{Error, Result};
use crate::protocol::TargetEntity;

/// The scope used when the request names none.
pub(crate) const DEFAULT_SCOPE: &str = "All entities";

/// Predefined scopes and the SOAR entity types each keeps (`None`: all of them).
pub(crate) const SCOPES: &[(&str, Option<&[&str]>)] = &[
    (DEFAULT_SCOPE, None),
    ("All URLs", Some(&["DestinationURL"])),
    ("All users", Some(&["USERUNIQNAME"])),
    ("All IP addresses", Some(&["ADDRESS"])),
    (
        "All file hashes",
        Some(&["FILEHASH", "PARENTHASH", "CHILDHASH"]),
    ),
    ("All hostnames", Some(&["HOSTNAME"])),
    (
        "All domains",
        Some(&["DOMAIN", "DESTINATIONDOMAIN", "SOURCEDOMAIN"]),
    ),
    ("All threat signatures entities", Some(&["THREATSIGNATURE"])),
    ("All threat campaigns", Some(&["THREATCAMPAIGN"])),
    ("All threat actors", Some(&["THREATACTOR"])),
    ("All email subjects", Some(&["EMAILSUBJECT"])),
    ("All file names", Some(&["FILENAME"])),
    (
        "All processes",
        Some(&["PROCESS", "PARENTPROCESS", "CHILDPROCESS"]),
    ),
    ("All MAC addresses", Some(&["MacAddress"])),
    ("All CVEs", Some(&["CVE", "CVEID"])),
    ("All phone numbers", Some(&["PHONENUMBER"])),
];

/// Keeps the entities in `scope` (case-insensitive; default `All entities`), order unchanged.
pub(crate) fn apply(scope: Option<&str>, entities: Vec<TargetEntity>) -> Result<Vec<TargetEntity>> {
    let name = scope
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or(DEFAULT_SCOPE);
    let Some((_, types)) = SCOPES.iter().find(|(s, _)| s.eq_ignore_ascii_case(name)) else {
        let accepted: Vec<&str> = SCOPES.iter().map(|(s, _)| *s).collect();
        return Err(Error::invalid_request(format!(
            "Unknown scope \"{name}\". Accepted scopes: {}.",
            accepted.join(", ")
        )));
    };
    Ok(match types {
        None => entities,
        Some(types) => entities
            .into_iter()
            .filter(|e| types.iter().any(|t| e.is_type(t)))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entity(id: &str, t: &str) -> TargetEntity {
        TargetEntity {
            identifier: id.into(),
            entity_type: t.into(),
            additional_properties: Default::default(),
        }
    }

    #[test]
    fn filters_by_type_case_insensitively() {
        let all = vec![
            entity("a", "DestinationURL"),
            entity("b", "USERUNIQNAME"),
            entity("c", "destinationurl"),
        ];
        let urls = apply(Some("all urls"), all.clone()).unwrap();
        assert_eq!(
            urls.iter()
                .map(|e| e.identifier.as_str())
                .collect::<Vec<_>>(),
            ["a", "c"]
        );
        assert_eq!(apply(None, all.clone()).unwrap().len(), 3);
        assert_eq!(apply(Some(" "), all).unwrap().len(), 3);
    }

    #[test]
    fn unknown_scope_lists_the_accepted_ones() {
        let e = apply(Some("Some entities"), vec![]).unwrap_err();
        assert!(e.message.starts_with(
            "Unknown scope \"Some entities\". Accepted scopes: All entities, All URLs"
        ));
    }
}
