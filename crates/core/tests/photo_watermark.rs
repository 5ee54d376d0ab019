//! The watermark: its text comes from the trusted clock, and the band is drawn legibly on
//! bright and dark photos.

use crate::photo_support;

use fieldcheck_core::photo::{CaptureTime, Stamp, TrustedClock, process, serial, stamp_lines};
use fieldcheck_protocol::{Position, PositionSource, TimeSource};
use photo_support::{decode, jpeg, mean_diff, mean_luma, pattern};
use std::time::{SystemTime, UNIX_EPOCH};
use uuid::Uuid;

/// 2025-11-24 23:59:58.900 UTC, which is 2025-11-25 07:59:58 in Beijing.
const SERVER_MS: i64 = 1_764_028_798_900;

fn stamp(time: CaptureTime, position: Option<Position>) -> Stamp<'static> {
    Stamp {
        time,
        position,
        site: "建设路菜市场",
        inspector: "王小红",
        serial: "1A2B-3C4D".into(),
    }
}

fn device_now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[test]
fn text_comes_from_the_trusted_clock() {
    let clock = TrustedClock::new();
    clock.observe_server_time(SERVER_MS);
    let time = clock.now();
    assert_eq!(time.source, TimeSource::Trusted);
    assert!((SERVER_MS..SERVER_MS + 1000).contains(&time.unix_ms));
    let position = Position {
        lat: 30.274_15,
        lon: 120.155_15,
        accuracy_m: 8.4,
        source: PositionSource::Gps,
    };
    let lines = stamp_lines(&stamp(time, Some(position)));
    // The device clock is years ahead of this server time, so the stamp says it is off.
    assert!(
        lines[0].starts_with("2025-11-25 07:59:5"),
        "time line: {}",
        lines[0]
    );
    assert!(
        lines[0].contains("已校准") && lines[0].contains("设备时钟快"),
        "{}",
        lines[0]
    );
    assert_eq!(lines[1], "N30.274150° E120.155150° ±8m");
    assert_eq!(lines[2], "地点：建设路菜市场");
    assert_eq!(lines[3], "巡查员：王小红　编号：1A2B-3C4D");
}

#[test]
fn text_without_sync_or_position_says_so() {
    let time = TrustedClock::new().now();
    assert_eq!(time.source, TimeSource::Device);
    let lines = stamp_lines(&stamp(time, None));
    assert!(lines[0].contains("设备时钟（未校准）"), "{}", lines[0]);
    assert_eq!(lines[1], "无定位");

    let manual = Position {
        lat: -33.5,
        lon: -70.25,
        accuracy_m: 50.0,
        source: PositionSource::Manual,
    };
    let near = CaptureTime {
        unix_ms: device_now_ms(),
        source: TimeSource::Trusted,
        device_offset_ms: -90_000,
    };
    let lines = stamp_lines(&stamp(near, Some(manual)));
    assert!(
        lines[0].ends_with("已校准"),
        "a 90 s skew is tolerated: {}",
        lines[0]
    );
    assert_eq!(lines[1], "S33.500000° W70.250000° ±50m（手动输入）");
}

#[test]
fn serial_is_reproducible_from_the_record() {
    let device = Uuid::from_u128(7);
    let a = serial(device, SERVER_MS);
    assert_eq!(a, serial(device, SERVER_MS));
    assert_ne!(a, serial(device, SERVER_MS + 1));
    assert_ne!(a, serial(Uuid::from_u128(8), SERVER_MS));
    assert_eq!(a.len(), 9);
    assert_eq!(a.as_bytes()[4], b'-');
}

fn band_check(fill: u8) {
    let (w, h) = (1200u32, 900u32);
    let source = vec![fill; (w * h * 3) as usize];
    let time = CaptureTime {
        unix_ms: SERVER_MS,
        source: TimeSource::Trusted,
        device_offset_ms: 0,
    };
    let out = process(&jpeg(&source, w, h, 90, None), &stamp(time, None)).unwrap();
    let (rgb, ..) = decode(&out.jpeg);
    // Above the band: untouched.
    assert!(mean_diff(&rgb, &source, w, 0..h / 2) < 2.0);
    // The band (bottom rows) differs from the source: darkened, with white text.
    let band = h - 40..h - 10;
    assert!(mean_diff(&rgb, &source, w, band.clone()) > 10.0 || fill < 40);
    let luma_above = mean_luma(&rgb, w, 0..h / 2);
    let luma_band = mean_luma(&rgb, w, h - 120..h);
    if fill > 128 {
        assert!(
            luma_band < luma_above * 0.7,
            "band {luma_band} vs {luma_above}"
        );
    }
    // Text: bright pixels in the band, well above the darkened background.
    let text_px = rgb[((h - 120) * w * 3) as usize..]
        .chunks_exact(3)
        .filter(|p| p.iter().all(|&c| c > 200))
        .count();
    assert!(text_px > 500, "only {text_px} text pixels");
}

#[test]
fn band_is_legible_on_a_white_photo() {
    band_check(250);
}

#[test]
fn band_is_legible_on_a_black_photo() {
    band_check(5);
}

#[test]
fn characters_outside_the_font_still_render() {
    let (w, h) = (800u32, 600u32);
    let source = pattern(w, h, 4, 9);
    let time = CaptureTime {
        unix_ms: SERVER_MS,
        source: TimeSource::Device,
        device_offset_ms: 0,
    };
    let common = Stamp {
        inspector: "张三",
        ..stamp(time, None)
    };
    // 𪚥 (U+2A6A5) is not in 通用规范汉字表, nor are emoji or controls.
    let rare = Stamp {
        inspector: "张𪚥🙂\u{0}\n",
        ..stamp(time, None)
    };
    let a = decode(
        &process(&jpeg(&source, w, h, 90, None), &common)
            .unwrap()
            .jpeg,
    )
    .0;
    let b = decode(&process(&jpeg(&source, w, h, 90, None), &rare).unwrap().jpeg).0;
    // The missing characters are drawn (as boxes), so the band differs.
    assert!(mean_diff(&a, &b, w, h - 120..h) > 0.5);
}

#[test]
fn long_site_names_are_cut_before_the_edge() {
    let long = "很长的站点名称".repeat(40);
    let time = CaptureTime {
        unix_ms: SERVER_MS,
        source: TimeSource::Trusted,
        device_offset_ms: 0,
    };
    let s = Stamp {
        site: &long,
        ..stamp(time, None)
    };
    let (w, h) = (640u32, 480u32);
    let source = vec![128u8; (w * h * 3) as usize];
    let out = process(&jpeg(&source, w, h, 90, None), &s).unwrap();
    let (rgb, ..) = decode(&out.jpeg);
    // The band's margin on the right stays free of text: the line was cut with "…".
    let bright_at_edge = (h - 100..h)
        .flat_map(|y| (w - 4..w).map(move |x| ((y * w + x) * 3) as usize))
        .filter(|&i| rgb[i..i + 3].iter().all(|&c| c > 200))
        .count();
    assert_eq!(bright_at_edge, 0);
    // …while text does reach well into the right half.
    let bright_right_half = (h - 100..h)
        .flat_map(|y| (w / 2..w - 4).map(move |x| ((y * w + x) * 3) as usize))
        .filter(|&i| rgb[i..i + 3].iter().all(|&c| c > 200))
        .count();
    assert!(bright_right_half > 100);
}
