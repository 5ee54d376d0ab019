//! The image half of a capture: decode, downscale, turn upright, stamp, encode, hash.

use super::PhotoError;
use super::watermark::{
    Stamp, draw_card, fitting_card, stamp_lines, thumbnail_card_layout, thumbnail_lines,
};
use fieldcheck_photo_codec::{decode, encode, fit, resize, upright_within};
use sha2::{Digest, Sha256};

/// Longest edge of the stored photo, in pixels: every photo larger than this is stored at
/// exactly this long edge (its aspect ratio kept), on every build; smaller photos keep their
/// size.
pub const PHOTO_LONG_EDGE: u32 = 2048;
/// Smallest long edge a JPEG is decoded to before it is resampled to [`PHOTO_LONG_EDGE`]: 97.5 %
/// of it, 1997 px. The decoder picks the smallest DCT scale it has (1/8, 1/4, 1/2, 1/1; or
/// libjpeg-turbo's n/8) whose long edge is still at least this; the pixels are then resampled to
/// the size [`fieldcheck_photo_codec::upright_within`] gives, which depends on the photo alone.
/// The trade-off: a 4000 × 3000 camera photo is decoded at half scale (2000 × 1500, a quarter of
/// its pixels, most of the pipeline's time saved) and stretched 2.4 % to 2048 × 1536, rather than
/// decoded at 5/8 or whole and shrunk; a 3264 × 2448 photo, decoded at 5/8 by libjpeg-turbo
/// (2040 px) and whole by the pure-Rust decoder, becomes 2048 × 1536 on both.
pub(crate) const MIN_DECODED_LONG_EDGE: u32 = (PHOTO_LONG_EDGE * 975).div_ceil(1000);
/// Long edge of the thumbnail, in pixels.
pub const THUMB_LONG_EDGE: u32 = 320;

/// A processed photo, ready to store.
#[derive(Clone, Debug)]
pub struct ProcessedPhoto {
    /// The stamped photo as baseline JPEG (quality 80, 4:2:0, Huffman tables made for it).
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
/// decoding, applies the EXIF orientation, resamples a larger photo to exactly
/// [`PHOTO_LONG_EDGE`] on its long edge (a smaller one keeps its size),
/// refuses a photo too small to carry its whole stamp legibly ([`PhotoError::TooSmall`]),
/// stamps the watermark card ([`super::card_layout`]), encodes, and makes a
/// [`THUMB_LONG_EDGE`] thumbnail from the unstamped photo with its own stamp
/// ([`super::thumbnail_card_layout`]).
pub fn process(bytes: &[u8], stamp: &Stamp<'_>) -> Result<ProcessedPhoto, PhotoError> {
    let (mut pixels, width, height) =
        upright_within(decode(bytes, MIN_DECODED_LONG_EDGE)?, PHOTO_LONG_EDGE);
    let card = fitting_card(width, height, &stamp_lines(stamp))?;
    // The thumbnail is shrunk from the unstamped photo and gets its own, legible stamp.
    let (tw, th) = fit(width, height, THUMB_LONG_EDGE);
    let mut thumb = resize(&pixels, width, height, tw, th);
    let thumb_card = thumbnail_card_layout(tw, th, &thumbnail_lines(stamp));
    draw_card(&mut thumb, tw, th, &thumb_card);
    let (jpeg, thumbnail) = rayon::join(
        || {
            draw_card(&mut pixels, width, height, &card);
            encode(&pixels, width, height)
        },
        || encode(&thumb, tw, th),
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
