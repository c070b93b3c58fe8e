//! The one backoff rule: exponential from a base, capped, with jitter taking it down to half.
//! The API client spaces its retries of one request with it, and the daemon its retries of a
//! failing cluster.

use std::time::Duration;

/// The delay before attempt `n` (1, 2, ...) after a failure: `base`·2^(n-1), at most `cap`,
/// then scaled by a factor in [0.5, 1.0] from `rand` (in [0, 1)), so clients that failed
/// together do not come back together.
pub fn delay(base: Duration, n: u32, cap: Duration, rand: f64) -> Duration {
    let exp = base
        .saturating_mul(1u32 << n.saturating_sub(1).min(20))
        .min(cap);
    exp.mul_f64(0.5 + 0.5 * rand.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_caps_and_jitters_down_to_half() {
        let s = Duration::from_secs;
        assert_eq!(delay(s(10), 1, s(300), 0.0), s(5));
        assert_eq!(delay(s(10), 3, s(300), 0.0), s(20));
        assert_eq!(delay(s(10), 3, s(300), 1.0), s(40));
        assert_eq!(delay(s(10), 30, s(300), 0.0), s(150));
        assert_eq!(delay(s(10), 0, s(300), 1.0), s(10));
    }
}
