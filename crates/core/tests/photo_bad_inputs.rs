//! Bad inputs each get their own clear error and leave no file and no record.

use crate::photo_support;

use fieldcheck_core::photo::{
    CaptureRequest, CodecError, DeviceKey, PhotoDir, PhotoError, PhotoPipeline, TrustedClock,
};
use fieldcheck_core::store::Store;
use fieldcheck_protocol::PhotoKind;
use photo_support::{jpeg, pattern};
use std::path::Path;
use std::sync::Arc;

fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path.display().to_string());
        }
    }
    out
}

fn capture(bytes: &[u8]) -> PhotoError {
    let tmp = tempfile::tempdir().unwrap();
    let mut store = Store::open(tmp.path().join("fieldcheck.db")).unwrap();
    let photos = tmp.path().join("photos");
    let pipeline = PhotoPipeline::new(
        PhotoDir::open(&photos).unwrap().with_min_free_bytes(0),
        Arc::new(TrustedClock::new()),
        DeviceKey::load_or_create(tmp.path()).unwrap(),
    );
    let request = CaptureRequest {
        bytes,
        kind: PhotoKind::Evidence,
        finding_id: None,
        inspection_id: None,
        position: None,
        site_name: "人民公园",
        inspector: "赵六",
    };
    let err = pipeline.capture(&mut store, &request).unwrap_err();
    assert_eq!(
        files_under(&photos),
        Vec::<String>::new(),
        "files left for {err}"
    );
    assert_eq!(
        store.outbox_pending(10).unwrap().len(),
        0,
        "record left for {err}"
    );
    err
}

#[test]
fn zero_bytes() {
    let err = capture(&[]);
    assert!(matches!(err, PhotoError::Image(CodecError::Empty)), "{err}");
    assert!(err.to_string().contains("0 字节"));
}

#[test]
fn truncated_jpeg() {
    let whole = jpeg(&pattern(640, 480, 20, 1), 640, 480, 90, Some(1));
    let err = capture(&whole[..whole.len() / 2]);
    assert!(
        matches!(
            err,
            PhotoError::Image(CodecError::Corrupt { format: "JPEG", .. })
        ),
        "{err}"
    );
    assert!(err.to_string().contains("不完整") && err.to_string().contains("incomplete"));
}

#[test]
fn png_header_claiming_40000_by_40000() {
    let mut bytes = Vec::new();
    let encoder = png::Encoder::new(&mut bytes, 40_000, 40_000);
    drop(encoder.write_header().unwrap()); // signature and IHDR only, no pixels
    let err = capture(&bytes);
    assert!(
        matches!(
            err,
            PhotoError::Image(CodecError::TooLarge {
                width: 40_000,
                height: 40_000,
                ..
            })
        ),
        "{err}"
    );
    assert!(err.to_string().contains("40000×40000"));
}

#[test]
fn jpeg_header_claiming_60000_by_60000_is_refused_before_decoding() {
    let mut bytes = jpeg(&pattern(16, 16, 0, 1), 16, 16, 90, None);
    let sof = bytes.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    bytes[sof + 5..sof + 9].copy_from_slice(&[0xEA, 0x60, 0xEA, 0x60]);
    let err = capture(&bytes);
    assert!(
        matches!(
            err,
            PhotoError::Image(CodecError::TooLarge {
                width: 60_000,
                height: 60_000,
                ..
            })
        ),
        "{err}"
    );
}

#[test]
fn text_file_named_jpg() {
    let err = capture(b"this is a shopping list, not a photo\n");
    assert!(
        matches!(err, PhotoError::Image(CodecError::UnsupportedFormat { found }) if found.contains("not an image")),
        "{err}"
    );
    let message = err.to_string();
    assert!(message.contains("只接受 JPEG 或 PNG") && message.contains("only JPEG and PNG"));
}

#[test]
fn heic_file() {
    let mut heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic".to_vec();
    heic.extend_from_slice(&[0; 64]);
    let err = capture(&heic);
    assert!(
        matches!(
            err,
            PhotoError::Image(CodecError::UnsupportedFormat { found: "HEIC/HEIF" })
        ),
        "{err}"
    );
    assert!(err.to_string().starts_with("不支持的图片格式（HEIC/HEIF）"));
}

#[test]
fn photo_too_small_for_its_stamp() {
    let err = capture(&jpeg(&pattern(240, 180, 20, 1), 240, 180, 90, None));
    assert!(
        matches!(
            err,
            PhotoError::TooSmall {
                width: 240,
                height: 180,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string().starts_with("照片太小（240×180 像素）"),
        "{err}"
    );
}
