//! The trusted clock: server time carried forward by the monotonic clock, the device clock
//! before the first sync, and a device clock more than two minutes off marked as such.

use fieldcheck_core::photo::{CaptureTime, MAX_DEVICE_SKEW_MS, TrustedClock};
use fieldcheck_protocol::TimeSource;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn device_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[test]
fn before_the_first_sync_the_device_clock_is_used_and_marked() {
    let before = device_ms();
    let t = TrustedClock::new().now();
    assert_eq!(t.source, TimeSource::Device);
    assert_eq!(t.device_offset_ms, 0);
    assert!((before..=device_ms()).contains(&t.unix_ms));
}

#[test]
fn after_a_sync_time_follows_the_server_not_the_device() {
    let clock = TrustedClock::new();
    // The server is ten minutes behind this device's wall clock.
    let server = device_ms() - 600_000;
    clock.observe_server_time(server);
    std::thread::sleep(Duration::from_millis(50));
    let t = clock.now();
    assert_eq!(t.source, TimeSource::Trusted);
    assert!((server + 50..server + 1_000).contains(&t.unix_ms), "{t:?}");
    assert!((599_000..=601_000).contains(&t.device_offset_ms), "{t:?}");
    assert!(t.device_clock_is_off());

    // A later sync replaces the reference.
    let server = device_ms() + 30_000;
    clock.observe_server_time(server);
    let t = clock.now();
    assert!((server..server + 1_000).contains(&t.unix_ms));
    assert!(!t.device_clock_is_off(), "30 s is within tolerance: {t:?}");
}

#[test]
fn the_two_minute_threshold() {
    let at = |offset| CaptureTime {
        unix_ms: 0,
        source: TimeSource::Trusted,
        device_offset_ms: offset,
    };
    assert!(!at(MAX_DEVICE_SKEW_MS).device_clock_is_off());
    assert!(at(MAX_DEVICE_SKEW_MS + 1).device_clock_is_off());
    assert!(at(-MAX_DEVICE_SKEW_MS - 1).device_clock_is_off());
    assert_eq!(MAX_DEVICE_SKEW_MS, 120_000);
}
