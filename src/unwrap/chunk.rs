//! Sixteen bytes at a time: the few vector operations the decoder's two hottest loops need (the
//! authority of every decoded URL, the escapes of a percent-encoded target), with SSE2 on x86-64,
//! where it is always present, and plain loops elsewhere. Masks have one bit per byte, lowest
//! first. Bytes go in and out through `u64`s; the only `unsafe` is calling SSE2 intrinsics, built
//! only when the target has SSE2 (every x86-64 does).

/// Sixteen bytes.
#[derive(Clone, Copy)]
pub(super) struct Chunk(imp::Lanes);

impl Chunk {
    /// The first sixteen bytes of `bytes`, which must hold that many.
    #[inline(always)]
    pub fn load(bytes: &[u8]) -> Self {
        let lo = u64::from_le_bytes(bytes[..8].try_into().expect("eight bytes"));
        let hi = u64::from_le_bytes(bytes[8..16].try_into().expect("eight bytes"));
        Chunk(imp::from_halves(lo, hi))
    }

    /// `bytes` (fewer than sixteen), then `fill`.
    #[inline(always)]
    pub fn padded(bytes: &[u8], fill: u8) -> Self {
        let mut buf = [fill; 16];
        buf[..bytes.len()].copy_from_slice(bytes);
        Chunk::load(&buf)
    }

    /// Writes the sixteen bytes at the start of `out`, which must have room for them.
    #[inline(always)]
    pub fn store(self, out: &mut [u8]) {
        let (lo, hi) = imp::halves(self.0);
        out[..8].copy_from_slice(&lo.to_le_bytes());
        out[8..16].copy_from_slice(&hi.to_le_bytes());
    }

    /// The bytes equal to any of `set`.
    #[inline(always)]
    pub fn mask<const N: usize>(self, set: [u8; N]) -> u32 {
        imp::mask(self.0, set)
    }

    /// The bytes that are ASCII upper-case letters or not ASCII.
    #[inline(always)]
    pub fn upper_or_non_ascii(self) -> u32 {
        imp::upper_or_non_ascii(self.0)
    }

    /// The same bytes with every `from` made `to`.
    #[inline(always)]
    pub fn replace(self, from: u8, to: u8) -> Self {
        Chunk(imp::replace(self.0, from, to))
    }
}

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
use sse2 as imp;

#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
use portable as imp;

// SAFETY (every `unsafe` below): these intrinsics need only SSE2, which this module is built for
// (`target_feature = "sse2"`), and none of them touches memory.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod sse2 {
    use std::arch::x86_64::{
        __m128i, _mm_and_si128, _mm_andnot_si128, _mm_cmpeq_epi8, _mm_cmpgt_epi8, _mm_cmplt_epi8,
        _mm_cvtsi128_si64, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8, _mm_set_epi64x,
        _mm_setzero_si128, _mm_unpackhi_epi64,
    };

    pub type Lanes = __m128i;

    #[inline(always)]
    pub fn from_halves(lo: u64, hi: u64) -> Lanes {
        unsafe { _mm_set_epi64x(hi as i64, lo as i64) }
    }

    #[inline(always)]
    pub fn halves(v: Lanes) -> (u64, u64) {
        unsafe {
            let lo = _mm_cvtsi128_si64(v) as u64;
            let hi = _mm_cvtsi128_si64(_mm_unpackhi_epi64(v, v)) as u64;
            (lo, hi)
        }
    }

    #[inline(always)]
    pub fn mask<const N: usize>(v: Lanes, set: [u8; N]) -> u32 {
        unsafe {
            let mut hits = _mm_setzero_si128();
            for b in set {
                hits = _mm_or_si128(hits, _mm_cmpeq_epi8(v, _mm_set1_epi8(b as i8)));
            }
            _mm_movemask_epi8(hits) as u32
        }
    }

    #[inline(always)]
    pub fn upper_or_non_ascii(v: Lanes) -> u32 {
        // Signed bytes: non-ASCII ones are negative, so only 'A'..='Z' lie in (0x40, 0x5B).
        unsafe {
            let upper = _mm_and_si128(
                _mm_cmpgt_epi8(v, _mm_set1_epi8(0x40)),
                _mm_cmplt_epi8(v, _mm_set1_epi8(0x5B)),
            );
            (_mm_movemask_epi8(upper) | _mm_movemask_epi8(v)) as u32
        }
    }

    #[inline(always)]
    pub fn replace(v: Lanes, from: u8, to: u8) -> Lanes {
        unsafe {
            let hit = _mm_cmpeq_epi8(v, _mm_set1_epi8(from as i8));
            _mm_or_si128(
                _mm_andnot_si128(hit, v),
                _mm_and_si128(hit, _mm_set1_epi8(to as i8)),
            )
        }
    }
}

/// The same operations one byte at a time: used where SSE2 is not, and checked against it.
#[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), allow(dead_code))]
mod portable {
    pub type Lanes = [u8; 16];

    pub fn from_halves(lo: u64, hi: u64) -> Lanes {
        let mut v = [0; 16];
        v[..8].copy_from_slice(&lo.to_le_bytes());
        v[8..].copy_from_slice(&hi.to_le_bytes());
        v
    }

    pub fn halves(v: Lanes) -> (u64, u64) {
        let half = |h: &[u8]| u64::from_le_bytes(h.try_into().expect("eight bytes"));
        (half(&v[..8]), half(&v[8..]))
    }

    fn bits(v: Lanes, hit: impl Fn(u8) -> bool) -> u32 {
        v.iter()
            .enumerate()
            .filter(|(_, &b)| hit(b))
            .fold(0, |m, (i, _)| m | 1 << i)
    }

    pub fn mask<const N: usize>(v: Lanes, set: [u8; N]) -> u32 {
        bits(v, |b| set.contains(&b))
    }

    pub fn upper_or_non_ascii(v: Lanes) -> u32 {
        bits(v, |b| b.is_ascii_uppercase() || !b.is_ascii())
    }

    pub fn replace(mut v: Lanes, from: u8, to: u8) -> Lanes {
        v.iter_mut().filter(|b| **b == from).for_each(|b| *b = to);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::{imp, portable, Chunk};

    /// Every byte value in every lane, against the plain loops.
    #[test]
    fn agrees_with_the_plain_loops() {
        for round in 0..64u32 {
            let bytes: Vec<u8> = (0..16u32)
                .map(|i| (round * 16 + i).wrapping_mul(37) as u8)
                .collect();
            let chunk = Chunk::load(&bytes);
            let plain: [u8; 16] = bytes.clone().try_into().unwrap();
            assert_eq!(
                chunk.mask(*b"/?#\\"),
                portable::mask(plain, *b"/?#\\"),
                "{bytes:?}"
            );
            assert_eq!(chunk.mask([b'.']), portable::mask(plain, [b'.']));
            assert_eq!(
                chunk.upper_or_non_ascii(),
                portable::upper_or_non_ascii(plain),
                "{bytes:?}"
            );
            let mut out = [0u8; 16];
            chunk.replace(b'_', b'/').store(&mut out);
            assert_eq!(out, portable::replace(plain, b'_', b'/'));
            assert_eq!(imp::halves(chunk.0), portable::halves(plain));
        }
    }

    #[test]
    fn pads_short_input() {
        let chunk = Chunk::padded(b"ab.c", b'/');
        assert_eq!(chunk.mask([b'/']), 0xFFF0);
        assert_eq!(chunk.mask([b'.']), 0b100);
    }
}
