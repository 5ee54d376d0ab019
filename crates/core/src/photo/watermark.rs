//! The evidence watermark: a translucent dark band along the bottom of the photo with white
//! Chinese text (capture time to the second, position and accuracy or 无定位, site, inspector,
//! serial), drawn with the bundled Noto Sans CJK SC Bold subset.
//!
//! The band darkens what is under it to 40 %, so white text keeps a contrast of at least about
//! 5:1 on a white wall and more on anything darker. A character outside the font subset is
//! drawn as the font's box glyph (.notdef), never skipped and never a crash.

use crate::clock::CaptureTime;
use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};
use fieldcheck_protocol::{Position, PositionSource, TimeSource};
use sha2::{Digest, Sha256};
use std::sync::LazyLock;
use uuid::Uuid;

/// The bundled font: Noto Sans CJK SC Bold, subset to 通用规范汉字表 + ASCII + CJK punctuation
/// by `scripts/make-font-subset.sh` (SIL OFL 1.1, see `assets/OFL.txt`).
static FONT: LazyLock<FontRef<'static>> = LazyLock::new(|| {
    FontRef::try_from_slice(include_bytes!("../../assets/NotoSansSC-Bold-subset.otf"))
        .expect("the bundled font parses (checked by the photo tests)")
});

/// Everything stamped into a photo.
#[derive(Clone, Debug)]
pub struct Stamp<'a> {
    /// Capture time, from [`super::TrustedClock::now`].
    pub time: CaptureTime,
    /// Where, when known.
    pub position: Option<Position>,
    /// Site name.
    pub site: &'a str,
    /// Inspector's name.
    pub inspector: &'a str,
    /// Short serial, from [`serial`].
    pub serial: String,
}

/// The short serial stamped into a photo: the first 32 bits of SHA-256 over the device id and
/// the capture time, as `XXXX-XXXX`. It cannot come from the stored file's hash, which exists
/// only after stamping; made this way, the office can recompute it from the photo record alone
/// and so check that a printed stamp belongs to that record.
pub fn serial(device_id: Uuid, captured_at_ms: i64) -> String {
    let digest = Sha256::digest(format!(
        "fieldcheck-serial-v1\n{device_id}\n{captured_at_ms}\n"
    ));
    let h = hex::encode_upper(&digest[..4]);
    format!("{}-{}", &h[..4], &h[4..])
}

/// The text lines of the stamp, top to bottom.
pub fn stamp_lines(stamp: &Stamp<'_>) -> [String; 4] {
    let time = fieldcheck_domain::china_time::china_datetime(stamp.time.unix_ms);
    let time_line = match stamp.time.source {
        TimeSource::Device => format!("{time} 北京时间 · 设备时钟（未校准）"),
        TimeSource::Trusted if stamp.time.device_clock_is_off() => {
            let minutes = stamp.time.device_offset_ms.abs() / 60_000;
            let way = if stamp.time.device_offset_ms > 0 {
                "快"
            } else {
                "慢"
            };
            format!("{time} 北京时间 · 已校准（设备时钟{way} {minutes} 分钟）")
        }
        TimeSource::Trusted => format!("{time} 北京时间 · 已校准"),
    };
    let place_line = match stamp.position {
        None => "无定位".to_owned(),
        Some(p) => {
            let ns = if p.lat < 0.0 { 'S' } else { 'N' };
            let ew = if p.lon < 0.0 { 'W' } else { 'E' };
            let manual = match p.source {
                PositionSource::Gps => "",
                PositionSource::Manual => "（手动输入）",
            };
            format!(
                "{ns}{:.6}° {ew}{:.6}° ±{:.0}m{manual}",
                p.lat.abs(),
                p.lon.abs(),
                p.accuracy_m
            )
        }
    };
    [
        time_line,
        place_line,
        format!("地点：{}", printable(stamp.site)),
        format!(
            "巡查员：{}　编号：{}",
            printable(stamp.inspector),
            stamp.serial
        ),
    ]
}

/// Replaces control characters (line breaks in a typed name) with spaces.
fn printable(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Darkens a band along the bottom of packed RGB pixels and writes `lines` into it in white.
pub(crate) fn draw(rgb: &mut [u8], width: u32, height: u32, lines: &[String]) {
    let (w, h) = (width as usize, height as usize);
    let font_px = (width.min(height) as f32 / 42.0).clamp(12.0, 48.0);
    let line_h = (font_px * 1.3).ceil() as usize;
    let pad = (font_px * 0.5).ceil() as usize;
    let band_top = h.saturating_sub(lines.len() * line_h + 2 * pad);
    for v in &mut rgb[band_top * w * 3..] {
        *v = ((u16::from(*v) * 102) >> 8) as u8;
    }
    let font = FONT.as_scaled(PxScale::from(font_px));
    let max_width = w.saturating_sub(2 * pad) as f32;
    for (i, line) in lines.iter().enumerate() {
        let baseline = (band_top + pad + i * line_h) as f32 + font.ascent();
        let mut x = pad as f32;
        for c in fitted(&font, line, max_width).chars() {
            let id = font.glyph_id(c);
            let glyph = id.with_scale_and_position(font_px, point(x, baseline));
            x += font.h_advance(id);
            let Some(outlined) = font.outline_glyph(glyph) else {
                continue; // a space
            };
            let bounds = outlined.px_bounds();
            outlined.draw(|gx, gy, coverage| {
                let px = bounds.min.x as i64 + i64::from(gx);
                let py = bounds.min.y as i64 + i64::from(gy);
                if (0..w as i64).contains(&px) && (0..h as i64).contains(&py) {
                    let at = (py as usize * w + px as usize) * 3;
                    for v in &mut rgb[at..at + 3] {
                        let c = coverage.clamp(0.0, 1.0);
                        *v = (f32::from(*v) + (255.0 - f32::from(*v)) * c).round() as u8;
                    }
                }
            });
        }
    }
}

/// `line` cut and ended with `…` if it is wider than `max_width` pixels.
fn fitted<F: Font, S: ScaleFont<F>>(font: &S, line: &str, max_width: f32) -> String {
    let width = |s: &str| -> f32 { s.chars().map(|c| font.h_advance(font.glyph_id(c))).sum() };
    if width(line) <= max_width {
        return line.to_owned();
    }
    let ellipsis = width("…");
    let mut used = 0.0;
    let mut out = String::new();
    for c in line.chars() {
        used += font.h_advance(font.glyph_id(c));
        if used + ellipsis > max_width {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out
}
