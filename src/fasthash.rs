//! The hash set for de-duplicating large lists of strings within one run.
//!
//! The standard SipHash resists hash flooding at a cost paid on every byte; foldhash hashes long
//! strings several words at a time and is still seeded per process, which suits a process that
//! lives for one request.

use std::collections::HashSet;

/// A `HashSet` with foldhash's fast, randomly seeded hasher.
pub type FastSet<T> = HashSet<T, foldhash::fast::RandomState>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_find_what_they_hold() {
        let mut set = FastSet::default();
        for i in 0..10_000 {
            assert!(set.insert(format!("https://x.example/{i}")));
        }
        assert!(!set.insert("https://x.example/42".to_owned()));
        assert!(set.contains("https://x.example/9999"));
        assert!(!set.contains("https://x.example/10000"));
    }
}
