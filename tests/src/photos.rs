//! Test photos made by code: noisy JPEGs like a camera's.

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
