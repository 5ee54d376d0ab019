//! Test images made by code: JPEGs with a hand-written EXIF orientation, PNGs, and decoding
//! of the pipeline's output.

#![allow(dead_code)] // each test file uses a different part

use fieldcheck_core::photo::{CaptureTime, Stamp};
use fieldcheck_protocol::TimeSource;
use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

/// An RGB picture with large, asymmetric colour areas (so any wrong turn or mirror shows) and
/// mild noise from a fixed seed.
pub fn pattern(width: u32, height: u32, noise: u8, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    let mut out = Vec::with_capacity((width * height * 3) as usize);
    for y in 0..height {
        for x in 0..width {
            let (fx, fy) = (x * 4 / width, y * 3 / height);
            let base: [i32; 3] = match (fx, fy) {
                (0, 0) => [220, 30, 30],
                (1 | 2, 0) => [30, 200, 40],
                (3, _) => [240, 240, 60],
                (_, 1) => [30, 60, 220],
                _ => [120, (x * 255 / width) as i32, (y * 255 / height) as i32],
            };
            for c in base {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let n = if noise == 0 {
                    0
                } else {
                    (state % (2 * u64::from(noise) + 1)) as i32 - i32::from(noise)
                };
                out.push((c + n).clamp(0, 255) as u8);
            }
        }
    }
    out
}

/// Encodes RGB as a JPEG (quality `quality`, 4:2:0), with an EXIF orientation tag when given.
pub fn jpeg(rgb: &[u8], width: u32, height: u32, quality: u8, orientation: Option<u16>) -> Vec<u8> {
    let mut plain = Vec::new();
    let mut encoder = Encoder::new(&mut plain, quality);
    encoder.set_sampling_factor(SamplingFactor::F_2_2);
    encoder
        .encode(rgb, width as u16, height as u16, ColorType::Rgb)
        .unwrap();
    match orientation {
        None => plain,
        Some(o) => {
            let mut out = plain[..2].to_vec(); // SOI
            out.extend_from_slice(&fieldcheck_test_photos::exif_app1(o));
            out.extend_from_slice(&plain[2..]);
            out
        }
    }
}

/// Encodes RGB as a PNG.
pub fn png(rgb: &[u8], width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().unwrap();
    writer.write_image_data(rgb).unwrap();
    writer.finish().unwrap();
    out
}

/// Decodes a JPEG to RGB: (pixels, width, height).
pub fn decode(jpeg: &[u8]) -> (Vec<u8>, u32, u32) {
    let mut d = jpeg_decoder::Decoder::new(jpeg);
    let px = d.decode().unwrap();
    let info = d.info().unwrap();
    (px, u32::from(info.width), u32::from(info.height))
}

/// Mean absolute difference per channel over rows `rows` of two same-size RGB images.
pub fn mean_diff(a: &[u8], b: &[u8], width: u32, rows: std::ops::Range<u32>) -> f64 {
    let (s, e) = (
        (rows.start * width * 3) as usize,
        (rows.end * width * 3) as usize,
    );
    let sum: u64 = a[s..e]
        .iter()
        .zip(&b[s..e])
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    sum as f64 / (e - s) as f64
}

/// Mean luma (0-255) over rows `rows` of an RGB image.
pub fn mean_luma(rgb: &[u8], width: u32, rows: std::ops::Range<u32>) -> f64 {
    let (s, e) = (
        (rows.start * width * 3) as usize,
        (rows.end * width * 3) as usize,
    );
    let px = &rgb[s..e];
    let sum: f64 = px
        .chunks_exact(3)
        .map(|p| 0.299 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[2]))
        .sum();
    sum / (px.len() / 3) as f64
}

/// A usual stamp: calibrated time, no position, a short site name and inspector.
pub fn stamp() -> Stamp<'static> {
    Stamp {
        time: CaptureTime {
            unix_ms: 1_764_000_000_000,
            source: TimeSource::Trusted,
            device_offset_ms: 0,
        },
        position: None,
        site: "建设路菜市场",
        inspector: "李明",
        serial: "0000-0000".into(),
    }
}
