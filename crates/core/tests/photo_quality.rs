//! The stored photo keeps what the camera saw. On street scenes like a 12 MP camera's (made by
//! `fieldcheck-test-photos`), the encoder this build ships keeps the SSIM of the quality-80
//! encoder it replaced, in fewer bytes; and a whole capture shows the scene upright at 2048 px.

use crate::photo_support::decode as decode_jpeg;
use fieldcheck_core::photo::process;
use fieldcheck_photo_codec::{decode, encode, resize, upright_within};
use fieldcheck_test_photos::{CameraPhoto, corpus, reference_jpeg, ssim};
use std::sync::LazyLock;

/// One photo taken upright (EXIF orientation 6) and one landscape.
static PHOTOS: LazyLock<Vec<CameraPhoto>> = LazyLock::new(|| corpus(2));

#[test]
fn the_encoder_keeps_the_quality_it_replaced_in_fewer_bytes() {
    for photo in PHOTOS.iter() {
        let (pixels, w, h) = upright_within(decode(&photo.jpeg, 1997).unwrap(), 2048);
        let ours = encode(&pixels, w, h);
        let before = reference_jpeg(&pixels, w, h);
        let now = ssim(&pixels, &decode_jpeg(&ours).0, w, h);
        let then = ssim(&pixels, &decode_jpeg(&before).0, w, h);
        assert!(
            now.luma >= then.luma - 0.0001 && now.chroma >= then.chroma - 0.001,
            "quality fell: {now:?} against {then:?}"
        );
        assert!(now.luma > 0.95, "luma SSIM {}", now.luma);
        assert!(
            (ours.len() as f64) < before.len() as f64 * 0.985,
            "{} bytes against {}",
            ours.len(),
            before.len()
        );
    }
}

#[test]
fn a_camera_photo_is_stored_upright_at_2048_px_and_shows_the_scene() {
    let stamp = crate::photo_support::stamp();
    for photo in PHOTOS.iter() {
        let out = process(&photo.jpeg, &stamp).unwrap();
        let (rgb, w, h) = decode_jpeg(&out.jpeg);
        let landscape = photo.width > photo.height;
        assert_eq!(
            (w, h),
            if landscape {
                (2048, 1536)
            } else {
                (1536, 2048)
            }
        );
        // The scene as seen, at the stored size: alike, though the stamp's card covers a
        // corner (a photo turned the wrong way scores about 0.2).
        let seen = resize(&photo.scene, photo.width, photo.height, w, h);
        let alike = ssim(&rgb, &seen, w, h);
        assert!(alike.luma > 0.8, "{alike:?}");
    }
}
