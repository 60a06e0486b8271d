//! A fast, non-cryptographic hasher for de-duplicating large lists of strings within one run.
//!
//! The standard SipHash resists hash flooding, which matters for long-lived services fed by
//! strangers; this process lives for one request, so speed wins. The mixing step is the
//! multiply-rotate of rustc's FxHasher.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

/// The hasher.
#[derive(Debug, Default, Clone, Copy)]
pub struct FxHasher(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

/// A `HashSet` with [`FxHasher`].
pub type FastSet<T> = HashSet<T, BuildHasherDefault<FxHasher>>;

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
