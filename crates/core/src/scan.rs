//! Reading a site's QR label from a camera frame or photo (the desktop's webcam frame, or a
//! photo of the label): the image is decoded with the photo codec (size checked from its header
//! first, shrunk on decoding), turned upright and to grey, and the QR code found in it with
//! rqrr. What the text means is the domain's `site_label::parse`.

use fieldcheck_photo_codec::{CodecError, decode, upright_within};

/// Long edge a frame is shrunk to before the QR code is looked for: a phone camera's 4000 px
/// photo is searched at 1600 px, which bounds the work (the tests read labels whose code spans
/// about a third of a 1200 px frame; smaller labels in the frame are not measured yet).
pub const SCAN_LONG_EDGE: u32 = 1600;

/// Why no label text came out of an image.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// The image itself could not be read.
    #[error(transparent)]
    Image(#[from] CodecError),
    /// No QR code in the picture.
    #[error(
        "画面中没有找到二维码，请对准点位标签，保持平稳后重试 / No QR code found: aim at the site's label, hold still and try again"
    )]
    NoCode,
    /// A QR code was seen but could not be read (blurred, glare, torn).
    #[error(
        "二维码无法识别（可能模糊、反光或破损），请靠近一些再试，或手动选择点位 / The QR code cannot be read (blurred, glare or torn): come closer and try again, or pick the site by hand"
    )]
    Unreadable,
}

/// The text of the QR code in `image` (JPEG or PNG). When several codes are seen, the first
/// that reads.
pub fn read_qr(image: &[u8]) -> Result<String, ScanError> {
    let (rgb, width, height) = upright_within(decode(image, SCAN_LONG_EDGE)?, SCAN_LONG_EDGE);
    let (w, h) = (width as usize, height as usize);
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| {
        let p = &rgb[(y * w + x) * 3..][..3];
        // ITU-R BT.601 luma, in integers.
        ((299 * u32::from(p[0]) + 587 * u32::from(p[1]) + 114 * u32::from(p[2])) / 1000) as u8
    });
    let grids = prepared.detect_grids();
    if grids.is_empty() {
        return Err(ScanError::NoCode);
    }
    grids
        .iter()
        .find_map(|g| g.decode().ok().map(|(_, text)| text))
        .ok_or(ScanError::Unreadable)
}
