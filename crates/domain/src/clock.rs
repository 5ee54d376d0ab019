//! The hybrid logical clock that orders every change, on the tablet and on the server. Its
//! physical time is the system clock until it [`Clock::follow`]s another source (the
//! tablet's trusted clock: server time carried forward since the last sync).
//!
//! The hybrid clock keeps uhlc's stamp format ([`uhlc::NTP64`]: 32.32 fixed-point seconds,
//! node id in the low bits of the ordering) and its rules (a stamp is the larger of the physical
//! time and the last stamp plus one tick; a merged stamp further ahead than [`MAX_DRIFT`] is
//! refused). It is written here rather than used from `uhlc::HLC` because uhlc reads physical
//! time through a plain `fn() -> NTP64`, which cannot carry one device's trusted clock: a
//! tablet whose system clock is a day ahead would stamp every change a day ahead, and an office
//! 结案 made in the meantime would look older than a field event made before it.

use fieldcheck_protocol::Hlc;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use uhlc::NTP64;
use uuid::Uuid;

/// Largest amount by which a stamp from another clock may run ahead of this one and still be
/// merged. Beyond it the stamp is refused, so that one wild clock cannot drag everyone's ahead.
pub const MAX_DRIFT: Duration = Duration::from_secs(36 * 3600);

/// A stamp from another clock ran further ahead of ours than [`MAX_DRIFT`].
#[derive(Debug, thiserror::Error)]
#[error("时钟偏差过大：对方时间戳 {stamp} 超前本机超过 {hours} 小时 / clock drift too large: stamp {stamp} is more than {hours} h ahead", hours = MAX_DRIFT.as_secs() / 3600)]
pub struct DriftError {
    /// The refused stamp.
    pub stamp: Hlc,
}

/// Where a clock reads physical time from, when not from the system clock.
pub trait PhysicalTime: Send + Sync {
    /// Unix milliseconds now.
    fn now_unix_ms(&self) -> i64;
}

/// A hybrid logical clock identified by a device (or server) id.
pub struct Clock {
    node: u128,
    last: Mutex<u64>,
    trusted: Mutex<Option<Arc<dyn PhysicalTime>>>,
}

impl Clock {
    /// A clock with the given id, reading the system wall clock until [`Clock::follow`].
    pub fn new(id: Uuid) -> Clock {
        Clock {
            // A v7 UUID is never all zeroes; the nil id used in tests becomes 1.
            node: id.as_u128().max(1),
            last: Mutex::new(0),
            trusted: Mutex::new(None),
        }
    }

    /// Reads physical time from `trusted` from now on (on the tablet: server time learned at
    /// the last sync carried forward by the boot-time clock, or the device clock until a
    /// server is seen).
    pub fn follow(&self, trusted: Arc<dyn PhysicalTime>) {
        *lock(&self.trusted) = Some(trusted);
    }

    /// The source this clock follows, if any.
    pub fn followed(&self) -> Option<Arc<dyn PhysicalTime>> {
        lock(&self.trusted).clone()
    }

    /// A fresh stamp, greater than every stamp this clock issued or merged before.
    pub fn now(&self) -> Hlc {
        let physical = self.physical();
        let mut last = lock(&self.last);
        *last = physical.max(*last + 1);
        Hlc {
            time: *last,
            node: self.node,
        }
    }

    /// Merges a stamp seen elsewhere (the server's, a device's, or one read back from the
    /// database), so that later stamps order after it. [`Hlc::ZERO`] changes nothing.
    pub fn merge(&self, stamp: Hlc) -> Result<(), DriftError> {
        if stamp == Hlc::ZERO {
            return Ok(());
        }
        if !self.within_drift(stamp) {
            return Err(DriftError { stamp });
        }
        let mut last = lock(&self.last);
        *last = (*last).max(stamp.time);
        Ok(())
    }

    /// Whether `stamp` is no more than [`MAX_DRIFT`] ahead of this clock's physical time now,
    /// i.e. whether [`Clock::merge`] would take it.
    pub fn within_drift(&self, stamp: Hlc) -> bool {
        stamp.time
            <= self
                .physical()
                .saturating_add(NTP64::from(MAX_DRIFT).as_u64())
    }

    /// Physical time now, as an NTP64 value.
    fn physical(&self) -> u64 {
        let trusted = lock(&self.trusted).clone();
        match trusted {
            Some(t) => ntp_from_unix_ms(t.now_unix_ms()),
            None => {
                let since_epoch = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default();
                NTP64::from(since_epoch).as_u64()
            }
        }
    }
}

/// The stamp clock `node` gives at Unix milliseconds `ms` with no earlier event to follow:
/// for records made after the fact (the demo's history), never for live work.
pub fn stamp_at(ms: i64, node: u128) -> Hlc {
    Hlc {
        time: ntp_from_unix_ms(ms),
        node,
    }
}

fn ntp_from_unix_ms(ms: i64) -> u64 {
    NTP64::from(Duration::from_millis(u64::try_from(ms).unwrap_or(0))).as_u64()
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The system's wall clock in Unix milliseconds (0 before 1970): what the server stamps
/// rows, sessions and audit entries with.
pub fn wall_clock_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_grow_and_carry_the_id() {
        let id = Uuid::now_v7();
        let c = Clock::new(id);
        let a = c.now();
        let b = c.now();
        assert!(b > a);
        assert_eq!(a.node, id.as_u128());
    }

    #[test]
    fn merge_moves_past_a_later_stamp_and_refuses_a_wild_one() {
        let c = Clock::new(Uuid::now_v7());
        let now = c.now();
        let ahead = Hlc {
            time: now.time + (3600u64 << 32),
            node: 7,
        };
        c.merge(ahead).unwrap();
        assert!(c.now() > ahead);
        let wild = Hlc {
            time: now.time + ((MAX_DRIFT.as_secs() + 3 * 3600) << 32),
            node: 7,
        };
        let err = c.merge(wild).unwrap_err();
        assert!(err.to_string().contains("clock drift"));
        assert!(c.now() < wild);
        assert!(c.within_drift(ahead) && !c.within_drift(wild));
        c.merge(Hlc::ZERO).unwrap();
    }

    /// A physical time fixed at a Unix millisecond.
    struct Fixed(i64);

    impl PhysicalTime for Fixed {
        fn now_unix_ms(&self) -> i64 {
            self.0
        }
    }

    #[test]
    fn a_followed_source_sets_the_physical_time() {
        let device_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        let behind = device_ms - 24 * 3600 * 1000;
        let c = Clock::new(Uuid::now_v7());
        c.follow(Arc::new(Fixed(behind)));
        let stamp = c.now();
        assert!(stamp.time.abs_diff(ntp_from_unix_ms(behind)) < 60u64 << 32);
        assert!(c.followed().is_some());
    }
}
