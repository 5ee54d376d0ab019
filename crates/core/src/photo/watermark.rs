//! The evidence stamp (水印): a compact card in the bottom-left corner of the photo, like a
//! watermark camera's, so that the rest of the photo (the base of a lamp post, the ground
//! round a manhole) stays as it was taken.
//!
//! - **What it draws**: a translucent dark card with rounded corners, a small margin (1/64 of
//!   the short edge) from the left and bottom edges, holding the lines of [`stamp_lines`]
//!   (capture time to the second, position and accuracy or 无定位, site, inspector and serial)
//!   in white, in the bundled Noto Sans CJK SC Bold subset. A character outside the subset is
//!   drawn as the font's box glyph (.notdef), never skipped and never a crash.
//! - **Size, wrapping, the 12 % rule** ([`card_layout`]): the font's em (the height of a
//!   Chinese character) is 1/48 of the photo's short edge, between [`MIN_FONT_PX`] (14) and
//!   [`MAX_FONT_PX`] (48): 32 px on a 2048 × 1536 photo, where the usual four lines take 3.8 %
//!   of the photo. A line wider than the card may be (60 % of the photo's width) wraps, at a
//!   space or next to a Chinese character, never inside a number, a time or a coordinate such
//!   as `N30.274150°` unless that alone is wider than the card. The card never covers more than
//!   [`MAX_CARD_PERCENT`] (12 %) of the photo: while it would, the font shrinks a pixel at a
//!   time, down to [`MIN_FONT_PX`], and then the card may grow wider (fewer, longer lines).
//!   **No line is ever cut** (no `…`).
//! - **Contrast**: the card darkens what is under it to 40 %, so white text keeps a contrast of
//!   at least 5.7:1 on a white wall (relative luminance 1.0 against 0.13) and more on anything
//!   darker.
//! - **The smallest photo**: [`process`](super::process) refuses, with
//!   [`PhotoError::TooSmall`], a photo (as stored: shrunk to 2048 px and upright) on which the
//!   whole stamp cannot fit in 12 % at [`MIN_FONT_PX`] ([`CardLayout::fits_photo`]); the error
//!   names the smallest size of the same shape that would do. A usual stamp (a site name of
//!   a few characters) needs 512 × 384 at 4:3, about 653 × 490 when it says the device clock
//!   is off (a longer first line); the longest the writers allow (a site name of
//!   [`MAX_NAME`](fieldcheck_domain::limits::MAX_NAME) = 100 characters, an inspector's name of
//!   [`MAX_PERSON_NAME_CHARS`](fieldcheck_domain::limits::MAX_PERSON_NAME_CHARS) = 32, a
//!   device clock years off, a manual position) about 933 × 700, and 1024 × 768 always
//!   suffices. Camera and gallery photos are far larger; a marked copy
//!   ([`PhotoPipeline::mark`](super::PhotoPipeline::mark)) gets no new stamp and is not
//!   concerned.
//! - **The thumbnail** (320 px) is shrunk from the unstamped photo, on which the photo's card
//!   would be 3 to 5 px high, and gets a card of its own ([`thumbnail_card_layout`]): the
//!   capture time to the minute and the serial ([`thumbnail_lines`]) at [`THUMB_FONT_PX`]
//!   (16 px, a digit's ink 12 px high), 10.4 % of a 320 × 240 thumbnail (13.8 % of a 16:9
//!   photo's 320 × 180).

use super::PhotoError;
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

/// The font at an em (the size of a Chinese character) of `em` pixels. (`ab_glyph`'s
/// [`PxScale`] is the height from ascent to descent, 1.448 em for this font.)
fn font_at(em: u32) -> ab_glyph::PxScaleFont<&'static FontRef<'static>> {
    let per_em = FONT.height_unscaled() / FONT.units_per_em().unwrap_or(1000.0);
    (&*FONT).into_scaled(PxScale::from(em as f32 * per_em))
}

/// The most of a photo's area the stamp card covers, in percent.
pub const MAX_CARD_PERCENT: u64 = 12;
/// The smallest font size of the photo's stamp, in pixels (the em: a Chinese character is
/// about this high, a digit about 3/4 of it). The font shrinks to it only for long text on a
/// small photo.
pub const MIN_FONT_PX: u32 = 14;
/// The largest font size of the photo's stamp, in pixels.
pub const MAX_FONT_PX: u32 = 48;
/// The font size (em) of the thumbnail's stamp, in pixels: a digit's ink is 12 px high, a
/// Chinese character's 14 px.
pub const THUMB_FONT_PX: u32 = 16;

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

/// The text lines of the photo's stamp, top to bottom.
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

/// The text lines of the thumbnail's stamp: the capture time to the minute in China time
/// (`2026-12-01 14:05`) and the serial (`编号 1A2B-3C4D`).
pub fn thumbnail_lines(stamp: &Stamp<'_>) -> [String; 2] {
    let mut time = fieldcheck_domain::china_time::china_datetime(stamp.time.unix_ms);
    time.truncate("YYYY-MM-DD HH:MM".len());
    [time, format!("编号 {}", stamp.serial)]
}

/// Replaces control characters (line breaks in a typed name) with spaces.
fn printable(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// A rectangle of pixels: columns `x..x + width`, rows `y..y + height`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CardRect {
    /// Left column.
    pub x: u32,
    /// Top row.
    pub y: u32,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl CardRect {
    /// Its area in pixels.
    pub fn area(&self) -> u64 {
        u64::from(self.width) * u64::from(self.height)
    }

    /// Whether pixel (`x`, `y`) lies inside.
    pub fn contains(&self, x: u32, y: u32) -> bool {
        (self.x..self.x + self.width).contains(&x) && (self.y..self.y + self.height).contains(&y)
    }
}

/// Where and how a stamp card is drawn: the result of [`card_layout`] or
/// [`thumbnail_card_layout`], computed without touching a pixel.
#[derive(Clone, Debug, PartialEq)]
pub struct CardLayout {
    /// The card; nothing outside it is drawn on.
    pub rect: CardRect,
    /// Font size (em) in pixels.
    pub font_px: u32,
    /// Space between the card's edge and the text, in pixels.
    pub padding: u32,
    /// Distance from one line's top to the next's, in pixels.
    pub line_height: u32,
    /// The lines as drawn, top to bottom: the stamp's lines, the long ones wrapped. Joined, they
    /// hold every character of the stamp's lines but the spaces where a line was wrapped.
    pub lines: Vec<String>,
}

impl CardLayout {
    /// Whether this card, as the stamp of a `width` × `height` photo, keeps the rules: a font of
    /// at least [`MIN_FONT_PX`], at most [`MAX_CARD_PERCENT`] of the photo's area, and inside
    /// the photo with room for its margin above. [`process`](super::process) refuses a photo on
    /// which [`card_layout`] cannot keep them.
    pub fn fits_photo(&self, width: u32, height: u32) -> bool {
        let area = u64::from(width) * u64::from(height);
        self.font_px >= MIN_FONT_PX
            && self.rect.area() * 100 <= area * MAX_CARD_PERCENT
            && self.rect.x + self.rect.width <= width
            && self.rect.y > 0
    }
}

/// The photo's stamp card for `lines` on a `width` × `height` photo: in the bottom-left
/// corner, a margin of 1/64 of the short edge (at least 4 px) from both edges, at most 60 % of
/// the width wide. The font starts at 1/48 of the short edge, between [`MIN_FONT_PX`] and
/// [`MAX_FONT_PX`]; lines wider than the card wrap ([`CardLayout::lines`]), and while the card
/// would cover more than [`MAX_CARD_PERCENT`] of the photo or not fit its height, the font
/// shrinks a pixel at a time down to [`MIN_FONT_PX`]. At that size the card may then grow to
/// 70, 80, 90 and 100 % of the width (less wrapping, so fewer lines) to stay within 12 %: on a
/// small photo a wider card is better than an illegible one.
///
/// If even that does not fit (only text beyond the writers' limits, or a photo smaller than
/// [`process`](super::process) takes), the card at [`MIN_FONT_PX`] is as wide as the photo and
/// covers more than 12 %, and if it would still be taller than the photo the font goes on
/// shrinking: the text is never cut.
pub fn card_layout(width: u32, height: u32, lines: &[String]) -> CardLayout {
    let short = width.min(height);
    let margin = (short / 64).max(4);
    let start = (short / 48).clamp(MIN_FONT_PX, MAX_FONT_PX);
    let max_width = width * 3 / 5;
    let max_area = u64::from(width) * u64::from(height) * MAX_CARD_PERCENT / 100;
    for font_px in (MIN_FONT_PX..=start).rev() {
        let card = arrange(width, height, lines, font_px, margin, max_width);
        if card.rect.area() <= max_area && fits_height(&card, height, margin) {
            return card;
        }
    }
    // Rather than refuse the photo, a card at the smallest font may grow wider.
    let full_width = width.saturating_sub(2 * margin);
    for tenths in 7..=10 {
        let card = arrange(
            width,
            height,
            lines,
            MIN_FONT_PX,
            margin,
            full_width * tenths / 10,
        );
        if card.rect.area() <= max_area && fits_height(&card, height, margin) {
            return card;
        }
    }
    for font_px in (1..=MIN_FONT_PX).rev() {
        let card = arrange(width, height, lines, font_px, margin, full_width);
        if fits_height(&card, height, margin) || font_px == 1 {
            return card;
        }
    }
    unreachable!("the loop returns at 1 px")
}

/// The thumbnail's stamp card for `lines` (from [`thumbnail_lines`]) on a `width` × `height`
/// thumbnail: in the bottom-left corner, 4 px from both edges, at [`THUMB_FONT_PX`] (a digit's
/// ink 12 px high). On a 320 × 240 (or 240 × 320) thumbnail the card is 150 × 53 px, 10.4 % of
/// it, and less on a squarer one; a photo wider than 4:3 has a smaller thumbnail, so the same
/// card covers more of it: 13.8 % at 16:9 (320 × 180). On a thumbnail too flat for two lines
/// (a panorama's) the two lines become one, and only if that does not fit either does the font
/// shrink: the text is never cut.
pub fn thumbnail_card_layout(width: u32, height: u32, lines: &[String]) -> CardLayout {
    let margin = 4;
    let max_width = width.saturating_sub(2 * margin);
    let one_line = [lines.join("　")];
    for font_px in (1..=THUMB_FONT_PX).rev() {
        for lines in [lines, &one_line[..]] {
            let card = arrange(width, height, lines, font_px, margin, max_width);
            if fits_height(&card, height, margin) {
                return card;
            }
        }
    }
    arrange(width, height, &one_line, 1, margin, max_width)
}

/// The card for `lines` at `font_px`, wrapped to at most `max_width` (card included), placed
/// `margin` from the left and bottom edges.
fn arrange(
    width: u32,
    height: u32,
    lines: &[String],
    font_px: u32,
    margin: u32,
    max_width: u32,
) -> CardLayout {
    let padding = font_px.div_ceil(2);
    let line_height = (font_px * 13).div_ceil(10);
    let text_max = max_width.saturating_sub(2 * padding).max(font_px) as f32;
    let wrapped: Vec<String> = lines
        .iter()
        .flat_map(|line| wrap(font_px, line, text_max))
        .collect();
    let widest = wrapped
        .iter()
        .map(|l| text_width(font_px, l).ceil() as u32)
        .max()
        .unwrap_or(0);
    let n = wrapped.len().max(1) as u32;
    let card_width = (widest + 2 * padding).min(width);
    let card_height = (2 * padding + (n - 1) * line_height + font_px).min(height);
    CardLayout {
        rect: CardRect {
            x: margin.min(width - card_width),
            y: height.saturating_sub(margin + card_height),
            width: card_width,
            height: card_height,
        },
        font_px,
        padding,
        line_height,
        lines: wrapped,
    }
}

/// Whether the card leaves its margin above it.
fn fits_height(card: &CardLayout, height: u32, margin: u32) -> bool {
    let n = card.lines.len().max(1) as u32;
    2 * card.padding + (n - 1) * card.line_height + card.font_px + 2 * margin <= height
}

/// The width of `text` at a font (em) of `font_px`, in pixels, as the card draws it.
pub fn text_width(font_px: u32, text: &str) -> f32 {
    let font = font_at(font_px);
    text.chars().map(|c| font.h_advance(font.glyph_id(c))).sum()
}

/// `line` wrapped to lines of at most `max_width` pixels at a font (em) of `font_px`
/// ([`super::line_wrap::wrap`]).
fn wrap(font_px: u32, line: &str, max_width: f32) -> Vec<String> {
    let font = font_at(font_px);
    super::line_wrap::wrap(line, max_width, |c| font.h_advance(font.glyph_id(c)))
}

/// Draws `card` into packed RGB pixels of a `width` × `height` image: darkens its rectangle
/// (rounded corners) to 40 % and writes its lines in white.
pub(crate) fn draw_card(rgb: &mut [u8], width: u32, height: u32, card: &CardLayout) {
    let w = width as usize;
    let r = card.rect;
    let radius = (card.font_px as f32 * 0.4).round();
    for y in r.y..(r.y + r.height).min(height) {
        for x in r.x..(r.x + r.width).min(width) {
            let cover = corner_cover(x - r.x, y - r.y, r.width, r.height, radius);
            let at = (y as usize * w + x as usize) * 3;
            for v in &mut rgb[at..at + 3] {
                *v = if cover >= 1.0 {
                    ((u16::from(*v) * 102) >> 8) as u8
                } else {
                    (f32::from(*v) * (1.0 - 0.6 * cover)).round() as u8
                };
            }
        }
    }
    let clip = |px: i64, py: i64| {
        (i64::from(r.x)..i64::from((r.x + r.width).min(width))).contains(&px)
            && (i64::from(r.y)..i64::from((r.y + r.height).min(height))).contains(&py)
    };
    for outlined in glyphs(card) {
        let bounds = outlined.px_bounds();
        outlined.draw(|gx, gy, coverage| {
            let px = bounds.min.x as i64 + i64::from(gx);
            let py = bounds.min.y as i64 + i64::from(gy);
            if clip(px, py) {
                let at = (py as usize * w + px as usize) * 3;
                let c = coverage.clamp(0.0, 1.0);
                for v in &mut rgb[at..at + 3] {
                    *v = (f32::from(*v) + (255.0 - f32::from(*v)) * c).round() as u8;
                }
            }
        });
    }
}

/// The outlines of `card`'s characters, placed on the image (spaces have none).
fn glyphs(card: &CardLayout) -> impl Iterator<Item = ab_glyph::OutlinedGlyph> + '_ {
    let font = font_at(card.font_px);
    // A Chinese character's em box spans 0.88 em above the baseline and 0.12 em below.
    let em_top = (card.font_px as f32 * 0.88).round();
    let r = card.rect;
    card.lines.iter().enumerate().flat_map(move |(i, line)| {
        let baseline = (r.y + card.padding + i as u32 * card.line_height) as f32 + em_top;
        let mut x = (r.x + card.padding) as f32;
        line.chars()
            .filter_map(move |c| {
                let id = font.glyph_id(c);
                let glyph = id.with_scale_and_position(font.scale(), point(x, baseline));
                x += font.h_advance(id);
                font.outline_glyph(glyph)
            })
            .collect::<Vec<_>>()
    })
}

/// How much of pixel (`x`, `y`) of a `w` × `h` card with corners of `radius` the card covers:
/// 1 away from the corners, antialiased along their arcs.
fn corner_cover(x: u32, y: u32, w: u32, h: u32, radius: f32) -> f32 {
    let radius = radius.min(w as f32 / 2.0).min(h as f32 / 2.0);
    let (px, py) = (x as f32 + 0.5, y as f32 + 0.5);
    let cx = px.clamp(radius, w as f32 - radius);
    let cy = py.clamp(radius, h as f32 - radius);
    let d = ((px - cx).powi(2) + (py - cy).powi(2)).sqrt();
    (radius - d + 0.5).clamp(0.0, 1.0)
}

/// The card of the stamp `lines` on a photo of `width` × `height` (as stored: shrunk and
/// upright), or the refusal of a photo on which it would not keep the rules of
/// [`CardLayout::fits_photo`], naming the smallest size of the same shape on which it would.
pub(crate) fn fitting_card(
    width: u32,
    height: u32,
    lines: &[String],
) -> Result<CardLayout, PhotoError> {
    let card = card_layout(width, height, lines);
    if card.fits_photo(width, height) {
        return Ok(card);
    }
    let long = width.max(height);
    let (mut min_width, mut min_height) = (width, height);
    // 2 % larger at a time, up to the largest photo kept.
    for step in 1..=u64::from(super::PHOTO_LONG_EDGE) {
        let scale = |side: u32| (u64::from(side) * (50 + step)).div_ceil(50) as u32;
        (min_width, min_height) = (scale(width), scale(height));
        if card_layout(min_width, min_height, lines).fits_photo(min_width, min_height)
            || scale(long) >= super::PHOTO_LONG_EDGE
        {
            break;
        }
    }
    Err(PhotoError::TooSmall {
        width,
        height,
        min_width,
        min_height,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(site: &str) -> Vec<String> {
        vec![
            "2025-11-25 07:59:58 北京时间 · 已校准（设备时钟快 12 分钟）".into(),
            "S33.500000° W70.250000° ±50m（手动输入）".into(),
            format!("地点：{site}"),
            "巡查员：Jörg gypsy@{[]}　编号：1A2B-3C4D".into(),
        ]
    }

    /// Every glyph's ink lies inside the card with room to spare (the clipping in `draw_card`
    /// never cuts a character), and nothing outside the card's rectangle is touched.
    #[test]
    fn ink_stays_inside_the_card_and_nothing_outside_changes() {
        let cases = [
            (2048, 1536, lines("建设路菜市场")),
            (1536, 2048, lines(&"很长的站点名称（东门）".repeat(9))),
            (640, 480, lines("人民公园")),
            (320, 240, thumbnail_lines_for_test()),
        ];
        for (w, h, lines) in cases {
            let card = if w == 320 {
                thumbnail_card_layout(w, h, &lines)
            } else {
                card_layout(w, h, &lines)
            };
            let r = card.rect;
            assert!(r.x + r.width <= w && r.y + r.height <= h, "{w}×{h}: {r:?}");
            for g in glyphs(&card) {
                let b = g.px_bounds();
                assert!(
                    b.min.x >= (r.x + 1) as f32
                        && b.max.x <= (r.x + r.width - 1) as f32
                        && b.min.y >= (r.y + 1) as f32
                        && b.max.y <= (r.y + r.height - 1) as f32,
                    "{w}×{h}: a glyph at {b:?} leaves {r:?}"
                );
            }
            let source: Vec<u8> = (0..w * h * 3).map(|i| (i * 7 % 251) as u8).collect();
            let mut rgb = source.clone();
            draw_card(&mut rgb, w, h, &card);
            for y in 0..h {
                for x in 0..w {
                    let at = ((y * w + x) * 3) as usize;
                    if !r.contains(x, y) {
                        assert_eq!(rgb[at..at + 3], source[at..at + 3], "({x}, {y}) outside");
                    }
                }
            }
            let changed_inside = (r.y..r.y + r.height)
                .flat_map(|y| (r.x..r.x + r.width).map(move |x| ((y * w + x) * 3) as usize))
                .filter(|&at| rgb[at..at + 3] != source[at..at + 3])
                .count() as u64;
            assert!(
                changed_inside > r.area() * 9 / 10,
                "{w}×{h}: the card is drawn"
            );
        }
    }

    fn thumbnail_lines_for_test() -> Vec<String> {
        vec!["2026-12-01 14:05".into(), "编号 1A2B-3C4D".into()]
    }

    #[test]
    fn words_numbers_and_coordinates_stay_whole() {
        let line = "N30.274150° E120.155150° ±8m（手动输入）";
        for max in [
            "E120.155150°",
            "N30.274150° E1",
            "N30.274150° E120.155150° ±8",
        ] {
            let max = text_width(20, max);
            let wrapped = wrap(20, line, max);
            assert!(wrapped.len() > 1, "{wrapped:?}");
            assert!(
                wrapped.iter().all(|l| text_width(20, l) <= max),
                "{wrapped:?}"
            );
            assert_eq!(
                wrapped.concat().replace(' ', ""),
                line.replace(' ', ""),
                "only spaces go"
            );
            for whole in ["N30.274150°", "E120.155150°", "±8m", "入）"] {
                assert!(
                    wrapped.iter().any(|l| l.contains(whole)),
                    "{whole}: {wrapped:?}"
                );
            }
            assert!(
                !wrapped
                    .iter()
                    .any(|l| l.starts_with('）') || l.ends_with('（'))
            );
        }
        assert_eq!(
            wrap(20, line, text_width(20, "E120.155150°")),
            ["N30.274150°", "E120.155150°", "±8m（手动输", "入）"]
        );
        let long_word = "A".repeat(50);
        let wrapped = wrap(20, &long_word, text_width(20, "AAAAAAAAAA"));
        assert_eq!(
            wrapped.concat(),
            long_word,
            "a word wider than the card wraps"
        );
        assert!(wrapped.iter().all(|l| l.len() <= 10));
        assert_eq!(wrap(20, "", 100.0), [""]);
    }
}
