//! Test photos made by code: noisy JPEGs like a camera's, and a photo of a printed QR label.

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
