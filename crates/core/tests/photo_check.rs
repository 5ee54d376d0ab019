//! What a server checks before it accepts a photo ([`check_image`]) and the thumbnails it
//! serves ([`thumbnail`]), through the same codec as the capture.

use crate::photo_support::{decode, jpeg, pattern, png};
use fieldcheck_core::photo::{CodecError, check_image, image_mime, thumbnail};

#[test]
fn a_whole_jpeg_and_png_pass_with_their_header_size() {
    let rgb = pattern(640, 480, 20, 1);
    let info = check_image(&jpeg(&rgb, 640, 480, 90, None), 4096).unwrap();
    assert_eq!(
        (info.mime, info.width, info.height),
        ("image/jpeg", 640, 480)
    );
    let info = check_image(&png(&rgb, 640, 480), 4096).unwrap();
    assert_eq!(
        (info.mime, info.width, info.height),
        ("image/png", 640, 480)
    );
}

#[test]
fn a_jpeg_cut_short_is_refused_though_its_header_is_whole() {
    let whole = jpeg(&pattern(640, 480, 20, 2), 640, 480, 90, None);
    let err = check_image(&whole[..whole.len() * 2 / 3], 4096).unwrap_err();
    assert!(
        matches!(err, CodecError::Corrupt { format: "JPEG", .. }),
        "{err}"
    );
}

#[test]
fn an_image_over_the_side_limit_is_refused_by_its_header() {
    let rgb = pattern(640, 480, 20, 3);
    let err = check_image(&jpeg(&rgb, 640, 480, 90, None), 600).unwrap_err();
    assert!(
        matches!(
            err,
            CodecError::TooLarge {
                width: 640,
                height: 480,
                max_side: 600,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn anything_else_is_not_an_image() {
    assert!(check_image(b"GIF89a....", 4096).is_err());
    assert!(check_image(b"hello", 4096).is_err());
    assert_eq!(image_mime(b"hello"), None);
    assert_eq!(
        image_mime(&png(&pattern(8, 8, 0, 0), 8, 8)),
        Some("image/png")
    );
}

#[test]
fn a_thumbnail_is_upright_and_fits_its_long_edge() {
    // Stored 400 × 300 with EXIF orientation 6 (turn 90° clockwise): upright it is 300 × 400.
    let rgb = pattern(400, 300, 10, 4);
    let thumb = thumbnail(&jpeg(&rgb, 400, 300, 90, Some(6)), 160).unwrap();
    let (_, w, h) = decode(&thumb);
    assert_eq!((w, h), (120, 160));
    // Never enlarged.
    let small = thumbnail(&jpeg(&rgb, 400, 300, 90, None), 1000).unwrap();
    let (_, w, h) = decode(&small);
    assert_eq!((w, h), (400, 300));
}
