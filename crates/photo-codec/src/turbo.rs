//! JPEG pixels through libjpeg-turbo, behind the `turbojpeg` cargo feature (off by default; the
//! default build is pure Rust). The library is built from the source bundled with the
//! `turbojpeg-sys` crate by CMake (with NASM on x86), which also cross-compiles for Android.
//!
//! Decoding is done at any of libjpeg-turbo's DCT scales (n/8) — a 4000 px photo is decoded
//! straight to 2000 px under the pipeline's minimum decoded size (see `process.rs`) — and in
//! horizontal bands on all cores. A camera JPEG has no restart markers, so its Huffman data can
//! only be read from the start: each band's decoder reads the data above its band without
//! making pixels (libjpeg-turbo's `jpeg_skip_scanlines`) and stops at the band's bottom
//! (TurboJPEG's cropping region). The top bands are made taller, so that every band finishes
//! at about the same time; the result is the same, byte for byte, as one decoder's.
//! Encoding is about twice as fast as the pure-Rust encoder.

use crate::CodecError;
use crate::JPEG_QUALITY;
use rayon::prelude::*;
use std::ffi::{CStr, c_int};
use turbojpeg::raw;
use turbojpeg::{Compressor, Decompressor, Image, PixelFormat, ScalingFactor, Subsamp};

/// What making a row's pixels costs (IDCT, colour conversion) relative to Huffman-decoding it,
/// at half scale: measured on 12 MP camera-like photos as 25 ms against 50 ms.
const PIXELS_TO_HUFFMAN_COST: f64 = 0.5;
/// Most bands one photo is decoded in: past four, every band pays nearly the whole Huffman
/// pass, so more cores barely shorten the slowest band.
const MAX_BANDS: usize = 4;

fn failed(e: turbojpeg::Error) -> CodecError {
    corrupt(e.to_string())
}

fn corrupt(detail: String) -> CodecError {
    CodecError::Corrupt {
        format: "JPEG",
        detail,
    }
}

/// Decodes to packed RGB at the smallest DCT scale whose long edge is at least `target`
/// (or the full size, for smaller photos); returns pixels, width and height.
pub(crate) fn decode(bytes: &[u8], target: u32) -> Result<(Vec<u8>, u32, u32), CodecError> {
    decode_in_bands(
        bytes,
        target,
        rayon::current_num_threads().clamp(1, MAX_BANDS),
    )
}

/// [`decode`] in at most `parts` bands.
fn decode_in_bands(
    bytes: &[u8],
    target: u32,
    parts: usize,
) -> Result<(Vec<u8>, u32, u32), CodecError> {
    let mut decompressor = Decompressor::new().map_err(failed)?;
    let header = decompressor.read_header(bytes).map_err(failed)?;
    let long = header.width.max(header.height);
    let needed = long.min(target as usize);
    let factor = Decompressor::supported_scaling_factors()
        .into_iter()
        .filter(|f| f.num() <= f.denom() && f.scale(long) >= needed)
        .min_by_key(|f| f.scale(long))
        .unwrap_or(ScalingFactor::ONE);
    let size = header.scaled(factor);
    let row_bytes = size.width * 3;
    let mut pixels = vec![0u8; row_bytes * size.height];
    // Bands start on an iMCU row of the scaled image, where libjpeg-turbo skips cleanly.
    let unit = (header.subsamp.mcu_height() * factor.num())
        .div_ceil(factor.denom())
        .max(1);
    let mut bands = Vec::with_capacity(parts);
    let (mut rest, mut top) = (&mut pixels[..], 0);
    for bottom in band_bottoms(size.height, unit, parts) {
        let (band, below) = rest.split_at_mut((bottom - top) * row_bytes);
        bands.push((top, bottom, band));
        (rest, top) = (below, bottom);
    }
    bands.into_par_iter().try_for_each(|(top, bottom, band)| {
        decode_rows(bytes, factor, size.width, top..bottom, band)
    })?;
    Ok((pixels, size.width as u32, size.height as u32))
}

/// The bottom row (exclusive) of each of at most `parts` bands covering `height` rows, on
/// multiples of `unit` except the last. Band i's decoder Huffman-decodes everything above its
/// bottom and makes pixels for its own rows only, so with cost `c` per row of pixels (relative
/// to 1 per Huffman row) equal finishing times need bottom_i·(1 + c) − c·bottom_(i−1) to be the
/// same for every band.
fn band_bottoms(height: usize, unit: usize, parts: usize) -> Vec<usize> {
    let c = PIXELS_TO_HUFFMAN_COST;
    // Each bottom as a multiple of the shared finishing time, then scaled to the last = height.
    let mut shares = Vec::with_capacity(parts);
    let mut previous = 0.0;
    for _ in 0..parts {
        previous = (1.0 + c * previous) / (1.0 + c);
        shares.push(previous);
    }
    let last = previous;
    let mut bottoms: Vec<usize> = shares
        .iter()
        .map(|share| ((share / last * height as f64 / unit as f64).round() as usize) * unit)
        .filter(|&bottom| bottom > 0 && bottom < height)
        .collect();
    bottoms.dedup();
    bottoms.push(height);
    bottoms
}

/// A TurboJPEG decompressor made through the raw API, which (unlike the `turbojpeg` crate's
/// wrapper) can set a cropping region.
struct RawDecompressor(raw::tjhandle);

impl RawDecompressor {
    fn new() -> Result<Self, CodecError> {
        // SAFETY: tj3Init has no preconditions; a null handle is checked for.
        let handle = unsafe { raw::tj3Init(raw::TJINIT_TJINIT_DECOMPRESS as c_int) };
        if handle.is_null() {
            return Err(corrupt("libjpeg-turbo could not start a decoder".into()));
        }
        Ok(RawDecompressor(handle))
    }

    /// Turns a TurboJPEG return code into a result carrying its error text.
    fn check(&self, code: c_int) -> Result<(), CodecError> {
        if code == 0 {
            return Ok(());
        }
        // SAFETY: the handle is live; tj3GetErrorStr returns a NUL-terminated string owned
        // by the handle (or a static one), read before the handle is used again.
        let text = unsafe { CStr::from_ptr(raw::tj3GetErrorStr(self.0)) };
        Err(corrupt(text.to_string_lossy().into_owned()))
    }
}

impl Drop for RawDecompressor {
    fn drop(&mut self) {
        // SAFETY: the handle came from tj3Init and is destroyed once.
        unsafe { raw::tj3Destroy(self.0) }
    }
}

/// Decodes rows `rows` of the image at `factor` into `band` (packed RGB, `width` pixels a row).
fn decode_rows(
    bytes: &[u8],
    factor: ScalingFactor,
    width: usize,
    rows: std::ops::Range<usize>,
    band: &mut [u8],
) -> Result<(), CodecError> {
    let too_big = |_| corrupt("image too large".into());
    let int = |n: usize| c_int::try_from(n).map_err(too_big);
    assert_eq!(
        band.len(),
        rows.len() * width * 3,
        "band buffer fits its rows"
    );
    let decoder = RawDecompressor::new()?;
    let scaling = raw::tjscalingfactor {
        num: int(factor.num())?,
        denom: int(factor.denom())?,
    };
    // Cropping only the rows: x = 0 and w = 0 mean the full width.
    let region = raw::tjregion {
        x: 0,
        y: int(rows.start)?,
        w: 0,
        h: int(rows.len())?,
    };
    // SAFETY: `bytes` and `band` outlive the calls; `band` holds `rows.len()` rows of
    // `width` × 3 bytes (asserted above), which is what tj3Decompress8 writes for this
    // cropping region with pitch `width` × 3 in RGB.
    unsafe {
        decoder.check(raw::tj3DecompressHeader(
            decoder.0,
            bytes.as_ptr(),
            bytes.len() as _,
        ))?;
        decoder.check(raw::tj3SetScalingFactor(decoder.0, scaling))?;
        decoder.check(raw::tj3SetCroppingRegion(decoder.0, region))?;
        decoder.check(raw::tj3Decompress8(
            decoder.0,
            bytes.as_ptr(),
            bytes.len() as _,
            band.as_mut_ptr(),
            int(width * 3)?,
            raw::TJPF_TJPF_RGB as c_int,
        ))
    }
}

/// Encodes packed RGB as baseline JPEG at [`JPEG_QUALITY`], 4:2:0, with Huffman tables made
/// for the image (a second pass over the coefficients).
pub fn encode(rgb: &[u8], width: u32, height: u32) -> Vec<u8> {
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
        .set_optimize(true)
        .expect("optimised Huffman tables are valid");
    compressor
        .compress_to_vec(image)
        .expect("encoding RGB into memory")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_cover_the_image_on_imcu_rows_with_taller_bands_on_top() {
        for parts in 1..=4 {
            let bottoms = band_bottoms(1500, 8, parts);
            assert_eq!(bottoms.len(), parts, "{parts} bands of a 1500-row image");
            assert_eq!(*bottoms.last().unwrap(), 1500);
            let mut top = 0;
            let mut heights = Vec::new();
            for &bottom in &bottoms {
                assert!(bottom > top, "bands are not empty: {bottoms:?}");
                if bottom != 1500 {
                    assert_eq!(bottom % 8, 0, "band bottoms sit on iMCU rows: {bottoms:?}");
                }
                heights.push(bottom - top);
                top = bottom;
            }
            assert!(
                heights.windows(2).all(|pair| pair[0] >= pair[1]),
                "upper bands are taller: {heights:?}"
            );
        }
        // Two bands at the measured cost ratio: the top band has three quarters of the rows.
        assert_eq!(band_bottoms(1500, 8, 2), vec![1128, 1500]);
        // Too few rows to split: one band.
        assert_eq!(band_bottoms(4, 8, 4), vec![4]);
    }

    /// Whole-image decoding through the `turbojpeg` crate: what the banded decode must equal.
    fn decode_whole(bytes: &[u8], factor: ScalingFactor) -> Vec<u8> {
        let mut decompressor = Decompressor::new().unwrap();
        let header = decompressor.read_header(bytes).unwrap();
        decompressor.set_scaling_factor(factor).unwrap();
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
            .unwrap();
        image.pixels
    }

    fn sample_jpeg(width: usize, height: usize, subsamp: Subsamp) -> Vec<u8> {
        let mut state = 0x2545_F491_4F6C_DD1D_u64;
        let rgb: Vec<u8> = (0..width * height * 3)
            .map(|i| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                ((i / 3 % width + i / (width * 3)) as u64 / 4 + (state & 0x3F)) as u8
            })
            .collect();
        let image = Image {
            pixels: &rgb[..],
            width,
            pitch: width * 3,
            height,
            format: PixelFormat::RGB,
        };
        let mut compressor = Compressor::new().unwrap();
        compressor.set_quality(90).unwrap();
        compressor.set_subsamp(subsamp).unwrap();
        compressor.compress_to_vec(image).unwrap()
    }

    #[test]
    fn banded_decoding_equals_whole_decoding_byte_for_byte() {
        // Odd sizes, every common subsampling, and the scales the pipeline picks (full size
        // for small photos, where 4:2:0's upsampling needs rows from the band above).
        let cases = [
            (641, 479, Subsamp::Sub2x2, 2000),
            (641, 479, Subsamp::None, 2000),
            (641, 479, Subsamp::Sub2x1, 2000),
            (641, 479, Subsamp::Gray, 2000),
            (1601, 1203, Subsamp::Sub2x2, 700),
            (1601, 1203, Subsamp::Sub2x1, 1000),
            (1203, 1601, Subsamp::None, 300),
        ];
        for ((width, height, subsamp, target), parts) in cases.into_iter().zip((2..=4).cycle()) {
            let jpeg = sample_jpeg(width, height, subsamp);
            let (banded, w, h) = decode_in_bands(&jpeg, target, parts).unwrap();
            let factor = Decompressor::supported_scaling_factors()
                .into_iter()
                .find(|f| f.scale(width) == w as usize && f.scale(height) == h as usize)
                .expect("decoded at one of libjpeg-turbo's scales");
            assert!(
                banded == decode_whole(&jpeg, factor),
                "{width}×{height} {subsamp:?} at {}/{} in {parts} bands: pixels differ",
                factor.num(),
                factor.denom()
            );
        }
    }

    #[test]
    fn a_truncated_jpeg_fails_in_whichever_band_reaches_the_cut() {
        let jpeg = sample_jpeg(1601, 1203, Subsamp::Sub2x2);
        let cut = &jpeg[..jpeg.len() * 9 / 10];
        assert!(matches!(
            decode(cut, 2000),
            Err(CodecError::Corrupt { format: "JPEG", .. })
        ));
    }
}
