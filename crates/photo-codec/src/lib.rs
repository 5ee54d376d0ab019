//! Fieldcheck's image codec: what both the tablet's capture pipeline and the server do with
//! photo bytes, in memory.
//!
//! - [`check_image`]: is this a whole JPEG or PNG within the size limits? The size is read from
//!   the header and checked before any pixel is decoded (a decompression bomb is refused
//!   unread).
//! - [`decode`], [`upright_within`], [`resize`], [`encode`]: the steps of making a stored
//!   photo; [`thumbnail`] strings them together.
//! - [`CodecError`]: why bytes were refused, in zh-CN and English.
//!
//! The `turbojpeg` feature decodes and encodes JPEG with libjpeg-turbo, decoding in bands on all
//! cores (see `turbo.rs` and `BENCHMARKS.md`, "Photo pipeline"); the desktop app and the server
//! turn it on. Without it the codec is pure Rust, for targets where libjpeg-turbo is not built
//! (the Android and iOS app). [`JPEG_CODEC`] says which one a build has.
//!
//! Owns: formats, limits on image size, orientation, resampling, JPEG settings. Must not
//! depend on files, fonts, the store or the network: the watermark and the photo directory are
//! the tablet engine's (`fieldcheck-core`), the blob store the server's.

mod decode;
mod error;
mod orientation;
mod resize;
#[cfg(feature = "turbojpeg")]
mod turbo;

pub use decode::{Decoded, ImageInfo, MAX_PIXELS, MAX_SIDE, check_image, decode, image_mime};
pub use error::CodecError;
pub use orientation::Orientation;
pub use resize::{fit, resize};

/// JPEG quality of every photo and thumbnail this codec encodes.
pub const JPEG_QUALITY: u8 = 80;

/// The JPEG codec this build decodes and encodes photos with: `libjpeg-turbo` with the
/// `turbojpeg` feature (the desktop app and the server), `pure-rust` without it (Android).
pub const JPEG_CODEC: &str = if cfg!(feature = "turbojpeg") {
    "libjpeg-turbo"
} else {
    "pure-rust"
};

/// A JPEG thumbnail of `bytes` (JPEG or PNG), upright, at most `long_edge` pixels on its long
/// side (never enlarged). A JPEG is decoded at the smallest DCT scale that still reaches
/// `long_edge`, so a thumbnail of a large photo costs a fraction of a full decode.
pub fn thumbnail(bytes: &[u8], long_edge: u32) -> Result<Vec<u8>, CodecError> {
    let (pixels, width, height) = upright_within(decode(bytes, long_edge)?, long_edge);
    Ok(encode(&pixels, width, height))
}

/// Decoded pixels resampled to the image's own size shrunk to at most `long_edge` on its long
/// side ([`fit`] of `full_width` × `full_height`, never larger than the image), and turned
/// upright: (pixels, width, height).
///
/// The size depends on the image alone, never on the DCT scale it was decoded at: a JPEG
/// decoded a little short of it (libjpeg-turbo's 5/8 of 3264 px is 2040 px, half of 4000 px is
/// 2000 px) is stretched to it, by at most the shortfall its decoder was allowed.
pub fn upright_within(decoded: Decoded, long_edge: u32) -> (Vec<u8>, u32, u32) {
    let (w, h) = fit(decoded.full_width, decoded.full_height, long_edge);
    let pixels = if (w, h) == (decoded.width, decoded.height) {
        decoded.rgb
    } else {
        resize(&decoded.rgb, decoded.width, decoded.height, w, h)
    };
    decoded.orientation.apply(pixels, w, h)
}

/// Encodes packed RGB of `width` × `height` (at most 65 535 px a side) as baseline JPEG at
/// [`JPEG_QUALITY`], 4:2:0, with Huffman tables made for the image.
#[cfg(feature = "turbojpeg")]
pub use turbo::encode;

#[cfg(not(any(feature = "turbojpeg", feature = "pure-rust")))]
compile_error!("fieldcheck-photo-codec needs a JPEG encoder: feature `turbojpeg` or `pure-rust`");

/// Encodes packed RGB of `width` × `height` (at most 65 535 px a side) as baseline JPEG at
/// [`JPEG_QUALITY`], 4:2:0, with Huffman tables made for the image.
#[cfg(all(feature = "pure-rust", not(feature = "turbojpeg")))]
pub fn encode(rgb: &[u8], width: u32, height: u32) -> Vec<u8> {
    use jpeg_encoder::{ColorType, Encoder, SamplingFactor};
    let mut out = Vec::with_capacity(rgb.len() / 8);
    let mut encoder = Encoder::new(&mut out, JPEG_QUALITY);
    encoder.set_sampling_factor(SamplingFactor::F_2_2);
    encoder.set_optimized_huffman_tables(true);
    // Callers pass decoded, shrunk photos, and writing to a Vec cannot fail.
    encoder
        .encode(rgb, width as u16, height as u16, ColorType::Rgb)
        .expect("encoding RGB of at most 65 535 px a side into memory");
    out
}
