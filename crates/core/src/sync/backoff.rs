//! Exponential backoff with full jitter: after the n-th failure in a row, wait a random time in
//! `0..min(cap, base × 2ⁿ)` (on top of the server's Retry-After, when it gave one), so that five
//! hundred tablets regaining signal at 17:00 do not all come back at the same instant.

use rand::Rng;
use std::time::Duration;

/// Backoff state: the number of failures in a row.
#[derive(Clone, Debug)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    failures: u32,
}

impl Backoff {
    /// A backoff starting at `base` and never waiting longer than `cap`.
    pub fn new(base: Duration, cap: Duration) -> Backoff {
        Backoff {
            base,
            cap,
            failures: 0,
        }
    }

    /// Records a failure and returns how long to wait before the next try. A server's
    /// Retry-After, when given, is waited in full and the jitter comes on top of it, so that
    /// tablets turned away together do not all come back at the same instant.
    pub fn fail(&mut self, retry_after: Option<Duration>) -> Duration {
        let ceiling = self
            .base
            .saturating_mul(1u32 << self.failures.min(16))
            .min(self.cap);
        self.failures = self.failures.saturating_add(1);
        let jittered = ceiling.mul_f64(rand::rng().random::<f64>());
        retry_after.unwrap_or_default() + jittered
    }

    /// Records a success: the next failure starts from `base` again.
    pub fn succeed(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_up_to_the_cap_and_reset() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
        for n in 0..12 {
            let ceiling = Duration::from_secs(1u64 << n).min(Duration::from_secs(60));
            assert!(b.fail(None) <= ceiling);
        }
        // Full jitter: over many draws at the cap, waits spread over the whole range.
        let draws: Vec<Duration> = (0..200).map(|_| b.fail(None)).collect();
        assert!(draws.iter().any(|d| *d < Duration::from_secs(15)));
        assert!(draws.iter().any(|d| *d > Duration::from_secs(45)));
        b.succeed();
        assert!(b.fail(None) <= Duration::from_secs(1));
    }

    #[test]
    fn retry_after_is_waited_with_jitter_on_top() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        let seven = Duration::from_secs(7);
        let waits: Vec<Duration> = (0..50).map(|_| b.fail(Some(seven))).collect();
        assert!(
            waits
                .iter()
                .all(|w| *w >= seven && *w <= seven + Duration::from_secs(1))
        );
        assert!(
            waits
                .iter()
                .any(|w| *w > seven + Duration::from_millis(100)),
            "jitter is added"
        );
    }
}
