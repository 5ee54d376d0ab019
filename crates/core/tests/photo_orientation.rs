//! The eight EXIF orientations of one picture all come out as the same upright photo.

use crate::photo_support;

use fieldcheck_core::photo::process;
use photo_support::{decode, jpeg, mean_diff, pattern, stamp};

// Large enough for the stamp (a smaller photo is refused: `PhotoError::TooSmall`).
const W: u32 = 600;
const H: u32 = 400;

/// Where the stored image's first row and first column are shown, per EXIF orientation
/// (the wording of the EXIF specification).
#[derive(Clone, Copy)]
enum Side {
    Top,
    Bottom,
    Left,
    Right,
}

fn sides(orientation: u16) -> (Side, Side) {
    use Side::*;
    match orientation {
        1 => (Top, Left),
        2 => (Top, Right),
        3 => (Bottom, Right),
        4 => (Bottom, Left),
        5 => (Left, Top),
        6 => (Right, Top),
        7 => (Right, Bottom),
        8 => (Left, Bottom),
        _ => unreachable!(),
    }
}

/// The pixels a camera stores for the upright picture `up` when it writes `orientation`.
fn stored(up: &[u8], orientation: u16) -> (Vec<u8>, u32, u32) {
    let (row0, col0) = sides(orientation);
    let rows_horizontal = matches!(row0, Side::Top | Side::Bottom);
    let (sw, sh) = if rows_horizontal { (W, H) } else { (H, W) };
    let mut out = vec![0u8; (sw * sh * 3) as usize];
    for r in 0..sh {
        for c in 0..sw {
            let (x, y) = match (row0, col0) {
                (Side::Top, Side::Left) => (c, r),
                (Side::Top, Side::Right) => (W - 1 - c, r),
                (Side::Bottom, Side::Right) => (W - 1 - c, H - 1 - r),
                (Side::Bottom, Side::Left) => (c, H - 1 - r),
                (Side::Left, Side::Top) => (r, c),
                (Side::Right, Side::Top) => (W - 1 - r, c),
                (Side::Right, Side::Bottom) => (W - 1 - r, H - 1 - c),
                (Side::Left, Side::Bottom) => (r, H - 1 - c),
                _ => unreachable!(),
            };
            let (s, d) = (((y * W + x) * 3) as usize, ((r * sw + c) * 3) as usize);
            out[d..d + 3].copy_from_slice(&up[s..s + 3]);
        }
    }
    (out, sw, sh)
}

#[test]
fn all_eight_orientations_come_out_upright_and_alike() {
    let up = pattern(W, H, 0, 1);
    let reference = decode(&process(&jpeg(&up, W, H, 95, None), &stamp()).unwrap().jpeg);
    assert_eq!((reference.1, reference.2), (W, H));
    // Above the watermark band the output is the picture itself.
    let above_band = 0..H / 2;
    let d = mean_diff(&reference.0, &up, W, above_band.clone());
    assert!(d < 4.0, "reference differs from the source by {d}");
    for orientation in 1..=8 {
        let (pixels, sw, sh) = stored(&up, orientation);
        let out = process(&jpeg(&pixels, sw, sh, 95, Some(orientation)), &stamp()).unwrap();
        assert_eq!((out.width, out.height), (W, H), "orientation {orientation}");
        let (rgb, w, h) = decode(&out.jpeg);
        assert_eq!((w, h), (W, H));
        let d = mean_diff(&rgb, &up, W, above_band.clone());
        assert!(
            d < 4.0,
            "orientation {orientation}: differs from upright by {d}"
        );
        let d = mean_diff(&rgb, &reference.0, W, 0..H);
        assert!(
            d < 4.0,
            "orientation {orientation}: differs from orientation 1 by {d}"
        );
    }
}

#[test]
fn a_wrong_turn_would_be_caught() {
    // The comparison itself can fail: the picture mirrored is far from the upright one.
    let up = pattern(W, H, 0, 1);
    let (mirrored, ..) = stored(&up, 2);
    assert!(mean_diff(&mirrored, &up, W, 0..H / 2) > 20.0);
}

/// The stored size of a `width` × `height` JPEG with EXIF `orientation`, and of its thumbnail.
fn sizes(width: u32, height: u32, orientation: Option<u16>) -> ((u32, u32), (u32, u32)) {
    let pixels = pattern(width, height, 8, u64::from(width));
    let out = process(&jpeg(&pixels, width, height, 85, orientation), &stamp()).unwrap();
    let (jpeg_pixels, w, h) = decode(&out.jpeg);
    assert_eq!(
        (w, h),
        (out.width, out.height),
        "reported size is the JPEG's"
    );
    assert_eq!(jpeg_pixels.len(), (w * h * 3) as usize);
    let (_, tw, th) = decode(&out.thumbnail);
    ((w, h), (tw, th))
}

#[test]
fn large_photos_become_exactly_2048_whatever_the_decoder_scales_and_small_ones_keep_their_size() {
    // Run on both builds (libjpeg-turbo decodes at n/8 scales, the pure-Rust decoder at 1/8,
    // 1/4, 1/2 and 1/1): the stored size depends on the photo alone.
    // Half scale is short of 1997 px: decoded whole, shrunk to 2048.
    assert_eq!(sizes(3000, 2000, Some(6)), ((1365, 2048), (213, 320)));
    // 12 MP cameras: half scale gives 2000 px, stretched to 2048.
    assert_eq!(sizes(4000, 3000, Some(6)), ((1536, 2048), (240, 320)));
    assert_eq!(sizes(4032, 3024, None), ((2048, 1536), (320, 240)));
    // 8 MP: libjpeg-turbo decodes at 5/8 (2040 px), the pure-Rust decoder whole (3264 px).
    assert_eq!(sizes(3264, 2448, None), ((2048, 1536), (320, 240)));
    // Half scale gives 2048 px exactly; a little more is shrunk to 2048.
    assert_eq!(sizes(4096, 3072, None), ((2048, 1536), (320, 240)));
    assert_eq!(sizes(4200, 2800, None), ((2048, 1365), (320, 213)));
    // 16 MP, 4:3 and 16:9.
    assert_eq!(sizes(4608, 3456, Some(6)), ((1536, 2048), (240, 320)));
    assert_eq!(sizes(5120, 2880, None), ((2048, 1152), (320, 180)));
    // Small photos keep their size.
    assert_eq!(sizes(1000, 750, None), ((1000, 750), (320, 240)));
    assert_eq!(sizes(640, 480, None), ((640, 480), (320, 240)));
}

#[test]
fn a_half_scale_decode_is_upright_and_matches_the_picture() {
    // A 4000 × 3000 camera photo, EXIF orientation 6 (stored turned a quarter left), takes the
    // DCT half-scale path, stretched to 2048 px; its upper half matches the upright picture.
    let (w, h) = (3000, 4000);
    let up = pattern(w, h, 0, 9);
    let mut stored = vec![0u8; up.len()];
    for r in 0..w {
        for c in 0..h {
            let (s, d) = (
                ((c * w + w - 1 - r) * 3) as usize,
                ((r * h + c) * 3) as usize,
            );
            stored[d..d + 3].copy_from_slice(&up[s..s + 3]);
        }
    }
    let out = process(&jpeg(&stored, h, w, 90, Some(6)), &stamp()).unwrap();
    let (rgb, ow, oh) = decode(&out.jpeg);
    assert_eq!((ow, oh), (1536, 2048));
    let reference = pattern(1536, 2048, 0, 9);
    let d = mean_diff(&rgb, &reference, 1536, 0..1024);
    assert!(d < 4.0, "differs from the upright picture by {d}");
}

#[test]
fn a_large_png_is_shrunk_to_2048() {
    // PNG has no DCT scaling: always decoded whole and shrunk to exactly 2048 px.
    let pixels = pattern(4000, 3000, 0, 5);
    let out = process(&photo_support::png(&pixels, 4000, 3000), &stamp()).unwrap();
    assert_eq!((out.width, out.height), (2048, 1536));
}

#[test]
fn png_is_accepted() {
    let up = pattern(W, H, 0, 4);
    let out = process(&photo_support::png(&up, W, H), &stamp()).unwrap();
    let (rgb, w, h) = decode(&out.jpeg);
    assert_eq!((w, h), (W, H));
    assert!(mean_diff(&rgb, &up, W, 0..H / 2) < 4.0);
}
