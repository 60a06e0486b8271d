//! Unit tests of Decode URL: splitting, de-duplication, API answers among local results.

use super::*;

#[test]
fn strings_split_only_before_a_scheme() {
    let split = |s: &str| List::Text(s.into()).split_with(split_urls);
    assert_eq!(
        split("https://a.example/x,y, https://b.example/,\nHTTP://c.example ,not-a-url"),
        vec![
            "https://a.example/x,y",
            "https://b.example/",
            "HTTP://c.example ,not-a-url"
        ]
    );
    assert_eq!(
        split("https://a.example/?q=1,2"),
        vec!["https://a.example/?q=1,2"]
    );
    assert_eq!(split(" \n "), Vec::<String>::new());
}
