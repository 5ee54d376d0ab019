//! Reading site labels from pictures made here: the label's QR code drawn on a page, then
//! turned, blurred, partly covered and saved as a camera would (JPEG) or a screenshot (PNG).

use crate::photo_support::{jpeg, pattern, png};
use fieldcheck_core::scan::{ScanError, read_qr};
use fieldcheck_domain::site_label::SiteLabel;
use uuid::Uuid;

/// A 1200 × 900 grey page with the QR code of `text` in the middle, 10 pixels a module, turned
/// by `degrees` around the centre.
fn page(text: &str, degrees: f64) -> (Vec<u8>, u32, u32) {
    let code = qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::Q).unwrap();
    let (modules, n) = (code.to_colors(), code.width());
    let (w, h, module) = (1200usize, 900usize, 10.0);
    let (sin, cos) = degrees.to_radians().sin_cos();
    let mut rgb = vec![0u8; w * h * 3];
    for y in 0..h {
        for x in 0..w {
            // Where this pixel falls in the unturned code, in modules from its corner.
            let (dx, dy) = (x as f64 - w as f64 / 2.0, y as f64 - h as f64 / 2.0);
            let u = (cos * dx + sin * dy) / module + n as f64 / 2.0;
            let v = (-sin * dx + cos * dy) / module + n as f64 / 2.0;
            let dark = u >= 0.0
                && v >= 0.0
                && (u as usize) < n
                && (v as usize) < n
                && modules[v as usize * n + u as usize] == qrcode::Color::Dark;
            let value = if dark { 30 } else { 225 };
            rgb[(y * w + x) * 3..][..3].fill(value);
        }
    }
    (rgb, w as u32, h as u32)
}

/// A box blur of `radius` pixels (a shaky hand, or a lens out of focus).
fn blur(rgb: &[u8], w: u32, h: u32, radius: i64) -> Vec<u8> {
    let (w, h) = (w as i64, h as i64);
    let mut out = rgb.to_vec();
    for y in 0..h {
        for x in 0..w {
            let mut sum = 0u32;
            let mut count = 0u32;
            for yy in (y - radius).max(0)..=(y + radius).min(h - 1) {
                for xx in (x - radius).max(0)..=(x + radius).min(w - 1) {
                    sum += u32::from(rgb[((yy * w + xx) * 3) as usize]);
                    count += 1;
                }
            }
            out[((y * w + x) * 3) as usize..][..3].fill((sum / count) as u8);
        }
    }
    out
}

/// Paints the box (x, y, width, height) mid-grey: a sticker or a smear over the label.
fn cover(rgb: &mut [u8], w: u32, (x0, y0, cw, ch): (u32, u32, u32, u32)) {
    for y in y0..y0 + ch {
        for x in x0..x0 + cw {
            rgb[((y * w + x) * 3) as usize..][..3].fill(128);
        }
    }
}

/// A label of fixed ids, so that every run draws the same code.
fn label() -> String {
    SiteLabel {
        county: Uuid::from_u128(0x0193_7a2e_5c40_7d11_8a3b_44f0_9e21_c7d5),
        site: Uuid::from_u128(0x0193_7a2e_6102_7e55_9c17_0b3d_52aa_e840),
    }
    .text()
}

#[test]
fn a_straight_label_reads_from_a_jpeg_and_a_png() {
    let text = label();
    let (rgb, w, h) = page(&text, 0.0);
    assert_eq!(read_qr(&jpeg(&rgb, w, h, 85, None)).unwrap(), text);
    assert_eq!(read_qr(&png(&rgb, w, h)).unwrap(), text);
}

#[test]
fn a_turned_label_reads() {
    let text = label();
    for degrees in [12.0, 33.0, 90.0, 137.0, 200.0] {
        let (rgb, w, h) = page(&text, degrees);
        let read = read_qr(&jpeg(&rgb, w, h, 85, None));
        assert_eq!(
            read.ok().as_deref(),
            Some(text.as_str()),
            "turned {degrees}°"
        );
    }
}

#[test]
fn a_blurred_label_reads() {
    let text = label();
    let (rgb, w, h) = page(&text, 7.0);
    let blurred = blur(&rgb, w, h, 3);
    assert_eq!(read_qr(&jpeg(&blurred, w, h, 80, None)).unwrap(), text);
}

#[test]
fn a_partly_covered_label_reads() {
    let text = label();
    let (mut rgb, w, h) = page(&text, 0.0);
    // The code's side is 10 px a module; a grey patch over about a tenth of its data,
    // clear of the three finder patterns in its corners.
    let side = qrcode::QrCode::with_error_correction_level(&text, qrcode::EcLevel::Q)
        .unwrap()
        .width() as u32
        * 10;
    let (x0, y0) = (600 - side / 2, 450 - side / 2);
    cover(
        &mut rgb,
        w,
        (x0 + side * 2 / 5, y0 + side * 2 / 5, side / 3, side / 4),
    );
    assert_eq!(read_qr(&jpeg(&rgb, w, h, 85, None)).unwrap(), text);
}

#[test]
fn a_picture_without_a_label_says_so() {
    let rgb = pattern(1200, 900, 40, 5);
    assert!(matches!(
        read_qr(&jpeg(&rgb, 1200, 900, 85, None)),
        Err(ScanError::NoCode)
    ));
    let err = read_qr(b"not an image").unwrap_err();
    assert!(matches!(err, ScanError::Image(_)), "{err}");
    assert!(
        ScanError::NoCode
            .to_string()
            .starts_with("画面中没有找到二维码")
    );
}
