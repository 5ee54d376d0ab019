//! Trusted capture time: the server's clock learned at the last sync, carried forward by the
//! device's monotonic clock, so that changing the tablet's system clock cannot move a stamp.
//!
//! The monotonic reference is `CLOCK_BOOTTIME` on Linux and Android, which keeps counting while
//! the tablet sleeps (Rust's `Instant` is `CLOCK_MONOTONIC` there and stops during suspend,
//! which would make every photo taken after a screen-off look early). Elsewhere (desktop
//! builds) it is `Instant`.
//!
//! A clock made with [`TrustedClock::persistent`] also keeps the reference in a small file,
//! together with the kernel's boot id, so that an app restart without signal keeps trusted time:
//! the boot-time clock is still the same one. After a reboot the file no longer applies (the
//! boot-time clock restarted) and capture times fall back to the device clock, marked
//! [`TimeSource::Device`], until the next sync feeds [`TrustedClock::observe_server_time`]
//! again. (A saved wall-clock offset would not do: a changed system clock is exactly what it
//! cannot see.)

use fieldcheck_protocol::TimeSource;
use std::path::PathBuf;
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
    file: Option<PathBuf>,
}

impl TrustedClock {
    /// A clock that has not seen the server yet: it reads the device clock.
    pub fn new() -> TrustedClock {
        TrustedClock::default()
    }

    /// A clock that keeps its reference in `file` (in the app's data directory) and starts from
    /// it when the device has not rebooted since it was written. A missing, unreadable or stale
    /// file just means the device clock until the next sync.
    pub fn persistent(file: impl Into<PathBuf>) -> TrustedClock {
        let file = file.into();
        let anchor = std::fs::read_to_string(&file)
            .ok()
            .and_then(|text| Anchor::parse(&text));
        TrustedClock {
            anchor: Mutex::new(anchor),
            file: Some(file),
        }
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
        if let (Some(file), Some(text)) = (&self.file, anchor.to_text()) {
            // Best effort: without the file the next start reads the device clock until a sync.
            let tmp = file.with_extension("tmp");
            if std::fs::write(&tmp, text).is_ok() {
                let _ = std::fs::rename(&tmp, file);
            }
        }
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

impl Anchor {
    /// `boot-id server-ms boot-time-ms`, or `None` where the boot id cannot be read.
    fn to_text(self) -> Option<String> {
        Some(format!(
            "{} {} {}\n",
            boot_id()?,
            self.server_unix_ms,
            self.at.as_millis()
        ))
    }

    /// The anchor saved by [`Anchor::to_text`], if it was saved since the last boot.
    fn parse(text: &str) -> Option<Anchor> {
        let mut parts = text.split_whitespace();
        let (boot, server, at) = (parts.next()?, parts.next()?, parts.next()?);
        if Some(boot) != boot_id().as_deref() {
            return None;
        }
        let at = Duration::from_millis(at.parse().ok()?);
        if at > monotonic() {
            return None;
        }
        Some(Anchor {
            server_unix_ms: server.parse().ok()?,
            at,
        })
    }
}

/// The kernel's id of the current boot (Linux and Android), which changes at every reboot.
fn boot_id() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn a_persistent_clock_survives_a_restart_but_not_a_reboot() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("trusted-time");
        let server_ms = device_wall_ms() - 24 * 3600 * 1000;
        TrustedClock::persistent(&file).observe_server_time(server_ms);

        let restarted = TrustedClock::persistent(&file).now();
        assert_eq!(restarted.source, TimeSource::Trusted);
        assert!(
            (restarted.unix_ms - server_ms).abs() < 60_000,
            "{restarted:?}"
        );

        // Written in another boot: not trusted.
        let text = std::fs::read_to_string(&file).unwrap();
        let other_boot = text.replacen(
            &boot_id().unwrap(),
            "00000000-0000-0000-0000-000000000000",
            1,
        );
        std::fs::write(&file, other_boot).unwrap();
        assert_eq!(
            TrustedClock::persistent(&file).now().source,
            TimeSource::Device
        );
        std::fs::write(&file, "garbage").unwrap();
        assert_eq!(
            TrustedClock::persistent(&file).now().source,
            TimeSource::Device
        );
    }
}
