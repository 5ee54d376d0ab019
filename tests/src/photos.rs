//! Test photos made by code: noisy JPEGs like a camera's, a photo of a printed QR label, and a
//! smooth street for screenshots.

use rand::{Rng, SeedableRng};

/// A `width`×`height` JPEG of a gradient with noise, reproducible from `seed`.
pub fn noisy_jpeg(width: u16, height: u16, seed: u64) -> Vec<u8> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut rgb = Vec::with_capacity(width as usize * height as usize * 3);
    for y in 0..height as u32 {
        for x in 0..width as u32 {
            let n: u8 = rng.random_range(0..48);
            rgb.extend_from_slice(&[
                (x % 256) as u8 ^ n,
                (y % 256) as u8,
                ((x + y) % 256) as u8 ^ n,
            ]);
        }
    }
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, 90)
        .encode(&rgb, width, height, jpeg_encoder::ColorType::Rgb)
        .expect("encode test JPEG");
    out
}

/// A JPEG of a QR code holding `text`, as a photo of a printed label: dark modules of 10
/// pixels on a light page, with its quiet zone.
pub fn qr_jpeg(text: &str) -> Vec<u8> {
    let code = qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::Q)
        .expect("the text fits in a QR code");
    let (modules, n) = (code.to_colors(), code.width());
    let (module, margin) = (10, 8);
    let side = (n + 2 * margin) * module;
    let mut rgb = Vec::with_capacity(side * side * 3);
    for y in 0..side {
        for x in 0..side {
            let (mx, my) = (
                (x / module).wrapping_sub(margin),
                (y / module).wrapping_sub(margin),
            );
            let dark = mx < n && my < n && modules[my * n + mx] == qrcode::Color::Dark;
            rgb.extend_from_slice(&[if dark { 25 } else { 235 }; 3]);
        }
    }
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, 90)
        .encode(&rgb, side as u16, side as u16, jpeg_encoder::ColorType::Rgb)
        .expect("encode test JPEG");
    out
}

/// A `width`×`height` JPEG of a street drawn by code (sky, road, a kerb and, when `broken`, a
/// dark hole in the road): smooth, so screenshots that show it stay small (the gallery).
pub fn street_jpeg(width: u16, height: u16, broken: bool) -> Vec<u8> {
    let (w, h) = (i64::from(width), i64::from(height));
    let (cx, cy, r) = (w / 2, h * 3 / 4, w / 10);
    let mut rgb = Vec::with_capacity(width as usize * height as usize * 3);
    for y in 0..h {
        for x in 0..w {
            let (dx, dy) = (x - cx, (y - cy) * 2);
            let pixel = if broken && dx * dx + dy * dy < r * r {
                [40, 36, 32]
            } else if y < h * 2 / 5 {
                let t = (y * 60 / h) as u8;
                [150 + t, 190 + t / 2, 230]
            } else if y < h * 2 / 5 + h / 40 {
                [200, 200, 196]
            } else {
                let shade = (100 + (y - h * 2 / 5) * 60 / h) as u8;
                [shade, shade, shade + 8]
            };
            rgb.extend_from_slice(&pixel);
        }
    }
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, 90)
        .encode(&rgb, width, height, jpeg_encoder::ColorType::Rgb)
        .expect("encode test JPEG");
    out
}
