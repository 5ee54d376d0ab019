//! The tablet's trusted wall clock ([`TrustedClock`]): server time learned at the last sync,
//! carried forward by the boot-time clock. Photo stamps read it, and the hybrid logical clock
//! (`fieldcheck_domain::clock::Clock`) follows it once the sync engine starts.

mod trusted;

pub use trusted::{CaptureTime, MAX_DEVICE_SKEW_MS, TrustedClock};

impl fieldcheck_domain::clock::PhysicalTime for TrustedClock {
    fn now_unix_ms(&self) -> i64 {
        self.now().unix_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fieldcheck_domain::clock::Clock;
    use fieldcheck_protocol::Hlc;
    use std::sync::Arc;
    use std::time::{SystemTime, UNIX_EPOCH};
    use uuid::Uuid;

    /// Seconds between a stamp's physical part and Unix milliseconds `ms`.
    fn apart_s(stamp: Hlc, ms: i64) -> u64 {
        (stamp.time >> 32).abs_diff((ms / 1000) as u64)
    }

    fn device_ms() -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64
    }

    #[test]
    fn a_followed_trusted_clock_sets_the_physical_time() {
        let device_ms = device_ms();
        let day_ms = 24 * 3600 * 1000;
        for server_ms in [device_ms - day_ms, device_ms + day_ms] {
            let trusted = Arc::new(TrustedClock::new());
            let c = Clock::new(Uuid::now_v7());
            c.follow(trusted.clone());
            // Before any server time the device clock is used.
            let before = c.now();
            assert!(apart_s(before, device_ms) < 60);
            trusted.observe_server_time(server_ms);
            let stamp = c.now();
            // A stamp never goes back, so it is at least the earlier one ...
            assert!(stamp > before);
            // ... and when the server is ahead, stamps follow the server's time, not the device's.
            if server_ms > device_ms {
                assert!(apart_s(stamp, server_ms) < 60);
            }
        }
    }

    #[test]
    fn a_fresh_clock_behind_the_device_stamps_at_server_time() {
        let server_ms = device_ms() - 24 * 3600 * 1000;
        let trusted = Arc::new(TrustedClock::new());
        trusted.observe_server_time(server_ms);
        let c = Clock::new(Uuid::now_v7());
        c.follow(trusted);
        assert!(apart_s(c.now(), server_ms) < 60);
    }
}
