//! JPEG pixels through libjpeg-turbo, behind the `turbojpeg` cargo feature (off by default; the
//! default build is pure Rust). The library is built from the source bundled with the
//! `turbojpeg-sys` crate by CMake (with NASM on x86), which also cross-compiles for Android.
//! It decodes at any of libjpeg-turbo's DCT scales (n/8) — a 4000 px photo is decoded straight to
//! 2000 px under the pipeline's minimum decoded size (see `process.rs`) — and encodes about twice
//! as fast as the pure-Rust encoder.

use super::PhotoError;
use super::process::JPEG_QUALITY;
use turbojpeg::{Compressor, Decompressor, Image, PixelFormat, ScalingFactor, Subsamp};

fn failed(e: turbojpeg::Error) -> PhotoError {
    PhotoError::Corrupt {
        format: "JPEG",
        detail: e.to_string(),
    }
}

/// Decodes to packed RGB at the smallest DCT scale whose long edge is at least `target`
/// (or the full size, for smaller photos); returns pixels, width and height.
pub(crate) fn decode(bytes: &[u8], target: u32) -> Result<(Vec<u8>, u32, u32), PhotoError> {
    let mut decompressor = Decompressor::new().map_err(failed)?;
    let header = decompressor.read_header(bytes).map_err(failed)?;
    let long = header.width.max(header.height);
    let needed = long.min(target as usize);
    let factor = Decompressor::supported_scaling_factors()
        .into_iter()
        .filter(|f| f.num() <= f.denom() && f.scale(long) >= needed)
        .min_by_key(|f| f.scale(long))
        .unwrap_or(ScalingFactor::ONE);
    decompressor.set_scaling_factor(factor).map_err(failed)?;
    let size = header.scaled(factor);
    let mut image = Image {
        pixels: vec![0u8; size.width * size.height * 3],
        width: size.width,
        pitch: size.width * 3,
        height: size.height,
        format: PixelFormat::RGB,
    };
    decompressor
        .decompress(bytes, image.as_deref_mut())
        .map_err(failed)?;
    Ok((image.pixels, size.width as u32, size.height as u32))
}

/// Encodes packed RGB as JPEG at [`JPEG_QUALITY`], 4:2:0.
pub(crate) fn encode(rgb: &[u8], width: u32, height: u32) -> Vec<u8> {
    let image = Image {
        pixels: rgb,
        width: width as usize,
        pitch: width as usize * 3,
        height: height as usize,
        format: PixelFormat::RGB,
    };
    let mut compressor = Compressor::new().expect("libjpeg-turbo allocates a compressor");
    compressor
        .set_quality(i32::from(JPEG_QUALITY))
        .expect("quality 80 is valid");
    compressor
        .set_subsamp(Subsamp::Sub2x2)
        .expect("4:2:0 is valid");
    compressor
        .compress_to_vec(image)
        .expect("encoding RGB into memory")
}
