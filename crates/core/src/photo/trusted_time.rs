//! Trusted capture time: the server's clock learned at the last sync, carried forward by the
//! device's monotonic clock, so that changing the tablet's system clock cannot move a stamp.
//!
//! The monotonic reference is `CLOCK_BOOTTIME` on Linux and Android, which keeps counting while
//! the tablet sleeps (Rust's `Instant` is `CLOCK_MONOTONIC` there and stops during suspend,
//! which would make every photo taken after a screen-off look early). Elsewhere (desktop
//! builds) it is `Instant`.
//!
//! The reference is kept in memory only: after the app restarts, capture times fall back to
//! the device clock, marked [`TimeSource::Device`], until the next sync feeds
//! [`TrustedClock::observe_server_time`] again. (Persisting the offset would not help: the
//! boot-time clock restarts with the device, and a saved wall-clock offset is exactly what a
//! changed system clock defeats.)

use fieldcheck_protocol::TimeSource;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A device clock further than this from trusted time is marked as off in the photo record.
pub const MAX_DEVICE_SKEW_MS: i64 = 2 * 60 * 1000;

/// The capture time of one photo.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CaptureTime {
    /// Milliseconds since the Unix epoch.
    pub unix_ms: i64,
    /// Trusted (server-anchored) or the device's own clock.
    pub source: TimeSource,
    /// Device wall clock minus `unix_ms`, in milliseconds (0 when `source` is `Device`).
    pub device_offset_ms: i64,
}

impl CaptureTime {
    /// Whether the device's wall clock is off by more than [`MAX_DEVICE_SKEW_MS`].
    pub fn device_clock_is_off(&self) -> bool {
        self.device_offset_ms.abs() > MAX_DEVICE_SKEW_MS
    }
}

/// Server time at the last sync and the monotonic reading taken with it.
#[derive(Clone, Copy)]
struct Anchor {
    server_unix_ms: i64,
    at: Duration,
}

/// The trusted clock, fed by the sync client and read at each capture. Share it (`Arc`).
#[derive(Default)]
pub struct TrustedClock {
    anchor: Mutex<Option<Anchor>>,
}

impl TrustedClock {
    /// A clock that has not seen the server yet: it reads the device clock.
    pub fn new() -> TrustedClock {
        TrustedClock::default()
    }

    /// Records the server's time, in milliseconds since the Unix epoch, as read from a sync
    /// response. Call it as soon as the response arrives; the stamp is then off by at most the
    /// network's one-way delay.
    pub fn observe_server_time(&self, server_unix_ms: i64) {
        let anchor = Anchor {
            server_unix_ms,
            at: monotonic(),
        };
        *self.anchor.lock().unwrap_or_else(|e| e.into_inner()) = Some(anchor);
    }

    /// The time now: trusted when a server time has been seen since start, else the device's.
    pub fn now(&self) -> CaptureTime {
        let anchor = *self.anchor.lock().unwrap_or_else(|e| e.into_inner());
        let device_ms = device_wall_ms();
        match anchor {
            None => CaptureTime {
                unix_ms: device_ms,
                source: TimeSource::Device,
                device_offset_ms: 0,
            },
            Some(a) => {
                let elapsed = monotonic().saturating_sub(a.at).as_millis() as i64;
                let unix_ms = a.server_unix_ms + elapsed;
                CaptureTime {
                    unix_ms,
                    source: TimeSource::Trusted,
                    device_offset_ms: device_ms - unix_ms,
                }
            }
        }
    }
}

fn device_wall_ms() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_millis() as i64,
        Err(before) => -(before.duration().as_millis() as i64),
    }
}

/// Time since boot, counting suspend.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn monotonic() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Boottime);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// Time since the first reading in this process.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn monotonic() -> Duration {
    use std::sync::OnceLock;
    use std::time::Instant;
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed()
}
