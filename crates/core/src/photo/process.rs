//! The image half of a capture: decode, downscale, turn upright, stamp, encode, hash.

use super::PhotoError;
use super::watermark::{Stamp, draw, stamp_lines};
use fieldcheck_photo_codec::{decode, encode, fit, resize, upright_within};
use sha2::{Digest, Sha256};

/// Longest edge of the stored photo, in pixels: larger photos are shrunk to it, except that a
/// JPEG whose DCT-scaled decode lands within 2.5 % below it (1997-2047 px) is kept at that size.
pub const PHOTO_LONG_EDGE: u32 = 2048;
/// Smallest long edge a JPEG is decoded to before the shrink to [`PHOTO_LONG_EDGE`]: 97.5 % of
/// it, 1997 px. The decoder picks the smallest DCT scale (1/8, 1/4, 1/2, 1/1, or libjpeg-turbo's
/// n/8) whose long edge is still at least this, and the photo is then shrunk to at most
/// [`PHOTO_LONG_EDGE`] (never enlarged). The trade-off: a 4000 × 3000 camera photo is stored at
/// 2000 × 1500 instead of 2048 × 1536 (about 2.4 % fewer pixels per edge), in exchange for decoding a quarter of its pixels at half scale with
/// no resampling pass, which is most of the pipeline's time. A 4096 px photo still becomes
/// exactly 2048 px, and photos under 1997 px keep their own size.
pub(crate) const MIN_DECODED_LONG_EDGE: u32 = (PHOTO_LONG_EDGE * 975).div_ceil(1000);
/// Long edge of the thumbnail, in pixels.
pub const THUMB_LONG_EDGE: u32 = 320;

/// A processed photo, ready to store.
#[derive(Clone, Debug)]
pub struct ProcessedPhoto {
    /// The stamped photo as JPEG (quality 80, 4:2:0).
    pub jpeg: Vec<u8>,
    /// Its thumbnail as JPEG.
    pub thumbnail: Vec<u8>,
    /// Width of `jpeg`.
    pub width: u32,
    /// Height of `jpeg`.
    pub height: u32,
    /// Lower-case hex SHA-256 of `jpeg`: the photo's name.
    pub sha256: String,
}

/// Turns camera bytes (JPEG or PNG) into the stored photo: checks the header's size before
/// decoding, applies the EXIF orientation, shrinks to at most [`PHOTO_LONG_EDGE`] (never
/// enlarges; a JPEG may end up to 2.5 % smaller, when that avoids decoding it at full size),
/// stamps the watermark, encodes, and makes a [`THUMB_LONG_EDGE`] thumbnail.
pub fn process(bytes: &[u8], stamp: &Stamp<'_>) -> Result<ProcessedPhoto, PhotoError> {
    let (mut pixels, width, height) =
        upright_within(decode(bytes, MIN_DECODED_LONG_EDGE)?, PHOTO_LONG_EDGE);
    draw(&mut pixels, width, height, &stamp_lines(stamp));
    let (tw, th) = fit(width, height, THUMB_LONG_EDGE);
    let (jpeg, thumbnail) = rayon::join(
        || encode(&pixels, width, height),
        || encode(&resize(&pixels, width, height, tw, th), tw, th),
    );
    let sha256 = hex::encode(Sha256::digest(&jpeg));
    Ok(ProcessedPhoto {
        jpeg,
        thumbnail,
        width,
        height,
        sha256,
    })
}
