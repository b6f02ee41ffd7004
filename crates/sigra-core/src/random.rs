//! The one source of randomness in sigra-core: the operating system's CSPRNG.
//!
//! Every token, salt, nonce, code and key that sigra-core makes comes from here. Draws of a
//! number below a bound use rejection sampling, so no value is more likely than another
//! (no modulo bias).

/// The operating system's random number generator failed.
///
/// On any supported platform this does not happen after boot; sigra-core still reports it as
/// an error instead of panicking.
#[derive(Debug, thiserror::Error)]
#[error("the operating system's random number generator failed: {0}")]
pub struct RandomError(getrandom::Error);

/// Fills `buf` with bytes from the operating system's CSPRNG.
///
/// ```
/// let mut key = [0u8; 32];
/// sigra_core::random::fill(&mut key)?;
/// # Ok::<(), sigra_core::random::RandomError>(())
/// ```
pub fn fill(buf: &mut [u8]) -> Result<(), RandomError> {
    getrandom::fill(buf).map_err(RandomError)
}

/// Returns `N` random bytes.
///
/// ```
/// let salt: [u8; 16] = sigra_core::random::bytes()?;
/// # Ok::<(), sigra_core::random::RandomError>(())
/// ```
pub fn bytes<const N: usize>() -> Result<[u8; N], RandomError> {
    let mut out = [0u8; N];
    fill(&mut out)?;
    Ok(out)
}

/// Returns a uniformly distributed integer in `0..bound`, without modulo bias.
///
/// Draws 32-bit values and rejects those at or above the largest multiple of `bound`, so every
/// result is equally likely. A `bound` of 0 or 1 returns 0.
///
/// ```
/// let digit = sigra_core::random::below(10)?;
/// assert!(digit < 10);
/// # Ok::<(), sigra_core::random::RandomError>(())
/// ```
pub fn below(bound: u32) -> Result<u32, RandomError> {
    if bound <= 1 {
        return Ok(0);
    }
    // The largest multiple of `bound` that fits in u32's range (2^32 values).
    let zone = u64::from(u32::MAX) + 1 - ((u64::from(u32::MAX) + 1) % u64::from(bound));
    loop {
        let draw = u64::from(u32::from_le_bytes(bytes::<4>()?));
        if draw < zone {
            // `draw % bound < bound <= u32::MAX`, so the conversion cannot fail.
            return Ok(u32::try_from(draw % u64::from(bound)).unwrap_or(0));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn below_stays_in_range() {
        for bound in [1u32, 2, 3, 10, 32, 1_000_000, u32::MAX] {
            for _ in 0..200 {
                assert!(below(bound).unwrap() < bound.max(1));
            }
        }
        assert_eq!(below(0).unwrap(), 0);
    }

    #[test]
    fn bytes_are_not_constant() {
        let a: [u8; 32] = bytes().unwrap();
        let b: [u8; 32] = bytes().unwrap();
        assert_ne!(a, b);
    }
}
