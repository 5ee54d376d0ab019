//! The watermark: its text comes from the trusted clock; it is a card in the bottom-left
//! corner covering at most 12 % of the photo, legible on bright and dark photos, never cutting
//! a line; the thumbnail has its own legible stamp; a photo too small for the stamp is refused.

use crate::photo_support;

use fieldcheck_core::photo::{
    CaptureTime, CardLayout, CardRect, MAX_CARD_PERCENT, MIN_FONT_PX, PhotoError, Stamp,
    THUMB_FONT_PX, THUMB_LONG_EDGE, TrustedClock, card_layout, process, serial, stamp_lines,
    text_width, thumbnail, thumbnail_card_layout, thumbnail_lines,
};
use fieldcheck_domain::limits::{MAX_NAME, MAX_PERSON_NAME_CHARS};
use fieldcheck_protocol::{Position, PositionSource, TimeSource};
use photo_support::{decode, jpeg, pattern};
use std::time::{SystemTime, UNIX_EPOCH};
use uuid::Uuid;

/// 2025-11-24 23:59:58.900 UTC, which is 2025-11-25 07:59:58 in Beijing.
const SERVER_MS: i64 = 1_764_028_798_900;

fn stamp(time: CaptureTime, position: Option<Position>) -> Stamp<'static> {
    Stamp {
        time,
        position,
        site: "建设路菜市场",
        inspector: "王小红",
        serial: "1A2B-3C4D".into(),
    }
}

fn trusted() -> CaptureTime {
    CaptureTime {
        unix_ms: SERVER_MS,
        source: TimeSource::Trusted,
        device_offset_ms: 0,
    }
}

fn gps() -> Position {
    Position {
        lat: 30.274_15,
        lon: 120.155_15,
        accuracy_m: 8.4,
        source: PositionSource::Gps,
    }
}

fn device_now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// The longest stamp the writers allow: a site name of `MAX_NAME` characters and an
/// inspector's name of `MAX_PERSON_NAME_CHARS`, both of `c` (a Chinese character is 1 em wide,
/// `@` the widest glyph of the font), a device clock 19 years off, a manual position far from
/// the equator with a 100 km accuracy.
fn longest_lines(c: char) -> Vec<String> {
    let site: String = std::iter::repeat_n(c, MAX_NAME).collect();
    let inspector: String = std::iter::repeat_n(c, MAX_PERSON_NAME_CHARS).collect();
    let s = Stamp {
        time: CaptureTime {
            unix_ms: SERVER_MS,
            source: TimeSource::Trusted,
            device_offset_ms: -9_999_999 * 60_000,
        },
        position: Some(Position {
            lat: -89.999_999,
            lon: -179.999_999,
            accuracy_m: 99_999.0,
            source: PositionSource::Manual,
        }),
        site: &site,
        inspector: &inspector,
        serial: "8888-8888".into(),
    };
    stamp_lines(&s).to_vec()
}

fn percent(card: &CardLayout, width: u32, height: u32) -> f64 {
    card.rect.area() as f64 * 100.0 / (f64::from(width) * f64::from(height))
}

fn luma(p: &[u8]) -> f64 {
    0.299 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[2])
}

/// WCAG relative luminance of a grey of `luma` (0-255).
fn relative_luminance(luma: f64) -> f64 {
    let c = luma / 255.0;
    if c <= 0.039_28 {
        c / 12.92
    } else {
        ((c + 0.055) / 1.055).powf(2.4)
    }
}

/// Pixels of `rect` in an RGB image `width` wide, as (x, y, pixel).
fn pixels_in<'a>(
    rgb: &'a [u8],
    width: u32,
    rect: CardRect,
) -> impl Iterator<Item = (u32, u32, &'a [u8])> + 'a {
    (rect.y..rect.y + rect.height).flat_map(move |y| {
        (rect.x..rect.x + rect.width).map(move |x| {
            let at = ((y * width + x) * 3) as usize;
            (x, y, &rgb[at..at + 3])
        })
    })
}

/// Checks that the stamped `out` equals `reference` (the same photo unstamped) outside `card`
/// up to JPEG noise: every 16 × 16 block that does not touch the card (grown by 8 px for the
/// JPEG's own blocks) differs by less than 1.5 per channel on average.
fn untouched_outside(out: &[u8], reference: &[u8], width: u32, height: u32, card: CardRect) {
    let (x0, y0) = (card.x.saturating_sub(8), card.y.saturating_sub(8));
    let (x1, y1) = (card.x + card.width + 8, card.y + card.height + 8);
    for by in (0..height).step_by(16) {
        for bx in (0..width).step_by(16) {
            let (ex, ey) = ((bx + 16).min(width), (by + 16).min(height));
            if bx < x1 && ex > x0 && by < y1 && ey > y0 {
                continue;
            }
            let mut sum = 0u64;
            for y in by..ey {
                let (s, e) = (
                    ((y * width + bx) * 3) as usize,
                    ((y * width + ex) * 3) as usize,
                );
                sum += out[s..e]
                    .iter()
                    .zip(&reference[s..e])
                    .map(|(a, b)| u64::from(a.abs_diff(*b)))
                    .sum::<u64>();
            }
            let mean = sum as f64 / f64::from((ex - bx) * (ey - by) * 3);
            assert!(
                mean < 1.5,
                "block at ({bx}, {by}) outside the card {card:?} changed by {mean:.1}"
            );
        }
    }
}

#[test]
fn text_comes_from_the_trusted_clock() {
    let clock = TrustedClock::new();
    clock.observe_server_time(SERVER_MS);
    let time = clock.now();
    assert_eq!(time.source, TimeSource::Trusted);
    assert!((SERVER_MS..SERVER_MS + 1000).contains(&time.unix_ms));
    let lines = stamp_lines(&stamp(time, Some(gps())));
    // The device clock is years ahead of this server time, so the stamp says it is off.
    assert!(
        lines[0].starts_with("2025-11-25 07:59:5"),
        "time line: {}",
        lines[0]
    );
    assert!(
        lines[0].contains("已校准") && lines[0].contains("设备时钟快"),
        "{}",
        lines[0]
    );
    assert_eq!(lines[1], "N30.274150° E120.155150° ±8m");
    assert_eq!(lines[2], "地点：建设路菜市场");
    assert_eq!(lines[3], "巡查员：王小红　编号：1A2B-3C4D");
    // The thumbnail's stamp: the same time to the minute, and the serial.
    assert_eq!(
        thumbnail_lines(&stamp(trusted(), None)),
        ["2025-11-25 07:59", "编号 1A2B-3C4D"]
    );
}

#[test]
fn text_without_sync_or_position_says_so() {
    let time = TrustedClock::new().now();
    assert_eq!(time.source, TimeSource::Device);
    let lines = stamp_lines(&stamp(time, None));
    assert!(lines[0].contains("设备时钟（未校准）"), "{}", lines[0]);
    assert_eq!(lines[1], "无定位");

    let manual = Position {
        lat: -33.5,
        lon: -70.25,
        accuracy_m: 50.0,
        source: PositionSource::Manual,
    };
    let near = CaptureTime {
        unix_ms: device_now_ms(),
        source: TimeSource::Trusted,
        device_offset_ms: -90_000,
    };
    let lines = stamp_lines(&stamp(near, Some(manual)));
    assert!(
        lines[0].ends_with("已校准"),
        "a 90 s skew is tolerated: {}",
        lines[0]
    );
    assert_eq!(lines[1], "S33.500000° W70.250000° ±50m（手动输入）");
}

#[test]
fn serial_is_reproducible_from_the_record() {
    let device = Uuid::from_u128(7);
    let a = serial(device, SERVER_MS);
    assert_eq!(a, serial(device, SERVER_MS));
    assert_ne!(a, serial(device, SERVER_MS + 1));
    assert_ne!(a, serial(Uuid::from_u128(8), SERVER_MS));
    assert_eq!(a.len(), 9);
    assert_eq!(a.as_bytes()[4], b'-');
}

/// A 4:3 and a 3:4 photo at the stored size: the card is in the bottom-left corner, covers at
/// most 12 % (3.8 % with the usual stamp), is darker than the photo under it, and every pixel
/// outside it is the photo's.
#[test]
fn the_card_covers_at_most_12_percent_and_leaves_the_rest_untouched() {
    let s = stamp(trusted(), Some(gps()));
    for (w, h) in [(2048u32, 1536u32), (1536, 2048)] {
        let source = pattern(w, h, 3, u64::from(w));
        let bytes = jpeg(&source, w, h, 92, None);
        let out = process(&bytes, &s).unwrap();
        let (rgb, ow, oh) = decode(&out.jpeg);
        // The same photo through the same decoder and encoder, without a stamp.
        let (unstamped, ..) = decode(&thumbnail(&bytes, w.max(h)).unwrap());
        assert_eq!((ow, oh), (w, h));
        let card = card_layout(w, h, &stamp_lines(&s));
        let r = card.rect;
        let share = percent(&card, w, h);
        println!(
            "{w}×{h}: card {r:?}, {share:.2} % of the photo, font {} px",
            card.font_px
        );
        assert!(share <= 5.0, "the usual stamp is compact: {share:.2} %");
        // Bottom-left, with a margin; far from the middle.
        assert!((16..=48).contains(&r.x), "{r:?}");
        assert!((16..=48).contains(&(h - r.y - r.height)), "{r:?}");
        assert!(r.x + r.width < w / 2 && r.y > h * 3 / 4, "{r:?}");
        assert_eq!(card.font_px, w.min(h) / 48);
        untouched_outside(&rgb, &unstamped, w, h, r);
        // The card darkens what is under it (its text aside).
        let inner = CardRect {
            x: r.x + 2,
            y: r.y + 2,
            width: r.width - 4,
            height: r.height - 4,
        };
        let (mut dark, mut n) = (0usize, 0usize);
        for (x, y, p) in pixels_in(&rgb, w, inner) {
            let at = ((y * w + x) * 3) as usize;
            n += 1;
            if luma(p) < luma(&source[at..at + 3]) * 0.6 {
                dark += 1;
            }
        }
        assert!(dark > n * 2 / 3, "{dark} of {n} pixels darkened");

        // Even the longest stamp the writers allow stays within 12 % here.
        for c in ['国', '@'] {
            let longest = card_layout(w, h, &longest_lines(c));
            let share = percent(&longest, w, h);
            println!(
                "{w}×{h}, longest stamp ({c}): {share:.2} %, font {} px",
                longest.font_px
            );
            assert!(share <= MAX_CARD_PERCENT as f64, "{share:.2} %");
            assert!(longest.fits_photo(w, h));
        }
    }
}

/// The old band on the same photo would have changed everything below 85 % of its height:
/// the check above does catch a band.
#[test]
fn a_full_width_band_would_be_caught() {
    let (w, h) = (640u32, 480u32);
    let source = pattern(w, h, 3, 1);
    let mut banded = source.clone();
    for v in &mut banded[((h * 85 / 100) * w * 3) as usize..] {
        *v = ((u16::from(*v) * 102) >> 8) as u8;
    }
    let card = card_layout(w, h, &stamp_lines(&stamp(trusted(), None)));
    let caught = std::panic::catch_unwind(|| untouched_outside(&banded, &source, w, h, card.rect));
    assert!(caught.is_err());
}

/// Every line, however long, is drawn whole: wrapped, never cut or ended with "…", and each
/// wrapped line fits in the card.
#[test]
fn no_line_is_ever_cut() {
    let long_place = Position {
        lat: -89.999_999,
        lon: -179.999_999,
        accuracy_m: 12_345.0,
        source: PositionSource::Manual,
    };
    let off = CaptureTime {
        device_offset_ms: 3_000 * 60_000,
        ..trusted()
    };
    let site = "文庙后巷（东段）12号院北侧 Wenmiao Back Lane East Section No.12 north side";
    let stamps = [
        stamp_lines(&stamp(trusted(), Some(gps()))).to_vec(),
        stamp_lines(&Stamp {
            site,
            inspector: "Jörg Müller-Lüdenscheidt 欧阳",
            ..stamp(off, Some(long_place))
        })
        .to_vec(),
        longest_lines('国'),
        longest_lines('@'),
        longest_lines('A'),
    ];
    let sizes = [
        (2048, 1536),
        (1536, 2048),
        (2048, 1365),
        (1024, 768),
        (768, 1024),
        (1200, 900),
        (640, 480),
        (2048, 600),
        (600, 2048),
    ];
    for lines in &stamps {
        for &(w, h) in &sizes {
            let card = card_layout(w, h, lines);
            let drawn: String = card.lines.concat().split_whitespace().collect();
            let given: String = lines.concat().split_whitespace().collect();
            assert_eq!(drawn, given, "{w}×{h}: every character, in order");
            assert!(!card.lines.iter().any(|l| l.contains('…')), "{w}×{h}");
            for l in &card.lines {
                let lw = text_width(card.font_px, l);
                assert!(
                    lw <= (card.rect.width - 2 * card.padding) as f32,
                    "{w}×{h}: {l} is {lw} px wide in {:?}",
                    card.rect
                );
            }
            let n = card.lines.len() as u32;
            assert!(
                2 * card.padding + (n - 1) * card.line_height + card.font_px <= card.rect.height
            );
            assert!(card.rect.x + card.rect.width <= w && card.rect.y + card.rect.height <= h);
            // Numbers and coordinates stay whole.
            for token in lines.iter().flat_map(|l| l.split_whitespace()) {
                if token.starts_with(['N', 'S']) && token.ends_with('°')
                    || token.contains(':')
                    || token.starts_with("20")
                {
                    assert!(
                        card.lines.iter().any(|l| l.contains(token)),
                        "{w}×{h}: {token} split: {:?}",
                        card.lines
                    );
                }
            }
        }
    }
}

/// A site name of the longest length allowed wraps onto more lines and the font shrinks, to
/// stay within 12 %, instead of being cut; on a photo too small even at the smallest font it
/// is refused, and a name longer than any writer allows is still drawn whole.
#[test]
fn long_site_names_wrap_and_shrink_instead_of_being_cut() {
    let site: String = "很长的站点名称（东）".repeat(10);
    assert_eq!(site.chars().count(), MAX_NAME);
    let inspector = "欧阳".repeat(MAX_PERSON_NAME_CHARS / 2);
    let s = Stamp {
        site: &site,
        inspector: &inspector,
        ..stamp(trusted(), Some(gps()))
    };
    let lines = stamp_lines(&s);
    let (w, h) = (1024u32, 768u32);
    let card = card_layout(w, h, &lines);
    let start = h / 48;
    assert!(
        card.font_px < start && card.font_px >= MIN_FONT_PX,
        "shrunk from {start} to {} px",
        card.font_px
    );
    assert!(card.lines.len() > 4, "wrapped: {:?}", card.lines);
    assert!(percent(&card, w, h) <= MAX_CARD_PERCENT as f64);
    let site_rows = card
        .lines
        .iter()
        .skip(2)
        .take_while(|l| !l.starts_with("巡查员"));
    assert_eq!(
        site_rows.cloned().collect::<String>(),
        lines[2],
        "the site line, whole, over several rows"
    );

    // Drawn: a band of text for every row, on a black photo.
    let source = vec![5u8; (w * h * 3) as usize];
    let out = process(&jpeg(&source, w, h, 90, None), &s).unwrap();
    let (rgb, ..) = decode(&out.jpeg);
    let r = card.rect;
    let lit_rows: Vec<u32> = (r.y..r.y + r.height)
        .filter(|&y| {
            (r.x..r.x + r.width).any(|x| luma(&rgb[((y * w + x) * 3) as usize..][..3]) > 180.0)
        })
        .collect();
    let bands = lit_rows.windows(2).filter(|p| p[1] > p[0] + 1).count() + 1;
    assert_eq!(bands, card.lines.len(), "rows of text drawn");
    // Every row is drawn to its end: its ink reaches into its last character's em.
    for (row, line) in card.lines.iter().enumerate() {
        let y0 = r.y + card.padding + row as u32 * card.line_height;
        let right = (y0..y0 + card.font_px)
            .flat_map(|y| (r.x..r.x + r.width).map(move |x| (x, y)))
            .filter(|&(x, y)| luma(&rgb[((y * w + x) * 3) as usize..][..3]) > 180.0)
            .map(|(x, _)| x)
            .max()
            .unwrap();
        let end = (r.x + card.padding) as f32 + text_width(card.font_px, line);
        assert!(
            (end - card.font_px as f32..=end + 1.0).contains(&(right as f32)),
            "{line}: ink ends at {right}, text at {end}"
        );
    }

    // Too small for it at the smallest font: refused, not cut.
    let small = jpeg(&vec![128u8; 640 * 480 * 3], 640, 480, 90, None);
    assert!(matches!(
        process(&small, &s),
        Err(PhotoError::TooSmall { .. })
    ));
    // Longer than any writer allows: still whole, within the photo, even if over 12 %.
    let absurd = "很长的站点名称".repeat(60);
    let lines = stamp_lines(&Stamp {
        site: &absurd,
        ..stamp(trusted(), None)
    });
    let card = card_layout(w, h, &lines);
    assert_eq!(
        card.lines.concat().replace(' ', ""),
        lines.concat().replace(' ', "")
    );
    assert!(card.rect.y > 0 && card.rect.x + card.rect.width <= w);
}

/// On a white wall and on a black night, the card's text stands out: white on the card
/// darkened to 40 %, a contrast of at least 5:1.
fn legible_on(fill: u8) {
    let (w, h) = (1200u32, 900u32);
    let source = vec![fill; (w * h * 3) as usize];
    let s = stamp(trusted(), Some(gps()));
    let out = process(&jpeg(&source, w, h, 90, None), &s).unwrap();
    let (rgb, ..) = decode(&out.jpeg);
    let card = card_layout(w, h, &stamp_lines(&s));
    untouched_outside(&rgb, &source, w, h, card.rect);
    let mut lumas: Vec<f64> = pixels_in(&rgb, w, card.rect)
        .map(|(.., p)| luma(p))
        .collect();
    lumas.sort_by(f64::total_cmp);
    let background = lumas[lumas.len() / 2];
    let text = lumas[lumas.len() * 99 / 100];
    let text_px = lumas.iter().filter(|&&l| l > 200.0).count();
    assert!(text_px > 1000, "only {text_px} text pixels");
    assert!(
        background <= f64::from(fill) * 0.42 + 3.0,
        "background {background} on {fill}"
    );
    let contrast = (relative_luminance(text) + 0.05) / (relative_luminance(background) + 0.05);
    println!("on {fill}: text {text:.0}, background {background:.0}, contrast {contrast:.1}:1");
    assert!(contrast >= 5.0, "contrast {contrast:.2}:1");
}

#[test]
fn the_card_is_legible_on_a_white_photo() {
    legible_on(250);
}

#[test]
fn the_card_is_legible_on_a_black_photo() {
    legible_on(5);
}

/// The thumbnail is shrunk from the unstamped photo (the photo's card, shrunk, would be 3 to
/// 5 px high) and has its own card: time to the minute and serial, 11 px high or more, in its
/// bottom-left corner, within 10.5 % of a 4:3 thumbnail.
#[test]
fn the_thumbnail_has_its_own_legible_stamp() {
    let (w, h) = (2048u32, 1536u32);
    let site = "人民路与解放路交叉口东南角人行道井盖及周边绿化带护栏（编号 YS-0231）";
    let s = Stamp {
        site,
        ..stamp(trusted(), Some(gps()))
    };
    let photo_card = card_layout(w, h, &stamp_lines(&s));
    for fill in [5u8, 250] {
        let source = vec![fill; (w * h * 3) as usize];
        let out = process(&jpeg(&source, w, h, 90, None), &s).unwrap();
        let (thumb, tw, th) = decode(&out.thumbnail);
        assert_eq!((tw, th), (THUMB_LONG_EDGE, 240));
        let card = thumbnail_card_layout(tw, th, &thumbnail_lines(&s));
        assert_eq!(card.font_px, THUMB_FONT_PX);
        assert_eq!(card.lines, thumbnail_lines(&s));
        let share = percent(&card, tw, th);
        println!("thumbnail {tw}×{th}: card {:?}, {share:.2} %", card.rect);
        assert!(share <= 10.5, "{share:.2} %");
        assert!(card.rect.x <= 8 && th - card.rect.y - card.rect.height <= 8);
        // Outside its card, the thumbnail is the unstamped photo, also where the photo's card
        // (wider than the thumbnail's) lies.
        let shrunk = vec![fill; (tw * th * 3) as usize];
        untouched_outside(&thumb, &shrunk, tw, th, card.rect);
        let beyond = card.rect.x + card.rect.width + 8;
        assert!(photo_card.rect.x + photo_card.rect.width > (beyond + 4) * w / tw);
        if fill == 5 {
            // Text: bright pixels, each line's ink at least 11 px high.
            let r = card.rect;
            for (i, line) in card.lines.iter().enumerate() {
                let top = r.y + card.padding + i as u32 * card.line_height;
                let lit: Vec<u32> = (top.saturating_sub(2)..top + card.font_px + 2)
                    .filter(|&y| {
                        (r.x..r.x + r.width)
                            .filter(|&x| luma(&thumb[((y * tw + x) * 3) as usize..][..3]) > 128.0)
                            .count()
                            > 1
                    })
                    .collect();
                let ink = lit.last().unwrap() - lit.first().unwrap() + 1;
                println!("thumbnail line {line}: ink {ink} px high");
                assert!(ink >= 11, "{line}: {ink} px");
            }
        }
    }
}

/// Its bound on every thumbnail shape: within 10.5 % of a 4:3 (or squarer) thumbnail, 14 % of
/// a 16:9 one; on a panorama's flat thumbnail the lines go onto one, and it still fits.
#[test]
fn the_thumbnail_card_bound() {
    let lines = thumbnail_lines(&stamp(trusted(), None));
    for (w, h, most) in [
        (320, 240, 10.5),
        (240, 320, 10.5),
        (320, 320, 10.5),
        (320, 256, 10.5),
        (320, 180, 14.0),
        (180, 320, 14.0),
    ] {
        let card = thumbnail_card_layout(w, h, &lines);
        let share = percent(&card, w, h);
        println!("thumbnail {w}×{h}: {share:.2} %");
        assert!(share <= most, "{w}×{h}: {share:.2} %");
        assert_eq!(card.lines, lines);
        assert_eq!(card.font_px, THUMB_FONT_PX);
    }
    let flat = thumbnail_card_layout(320, 40, &lines);
    assert_eq!(flat.lines.len(), 1);
    assert!(flat.rect.y > 0 && flat.rect.height < 40);
    assert_eq!(flat.lines[0], lines.join("　"));
}

#[test]
fn characters_outside_the_font_still_render() {
    let (w, h) = (800u32, 600u32);
    let source = pattern(w, h, 4, 9);
    let time = CaptureTime {
        unix_ms: SERVER_MS,
        source: TimeSource::Device,
        device_offset_ms: 0,
    };
    let common = Stamp {
        inspector: "张三",
        ..stamp(time, None)
    };
    // 𪚥 (U+2A6A5) is not in 通用规范汉字表, nor are emoji or controls.
    let rare = Stamp {
        inspector: "张𪚥🙂\u{0}\n",
        ..stamp(time, None)
    };
    let a = decode(
        &process(&jpeg(&source, w, h, 90, None), &common)
            .unwrap()
            .jpeg,
    )
    .0;
    let b = decode(&process(&jpeg(&source, w, h, 90, None), &rare).unwrap().jpeg).0;
    // The missing characters are drawn (as boxes) in the inspector's line, so the card
    // differs there.
    let card = card_layout(w, h, &stamp_lines(&rare));
    let row = CardRect {
        y: card.rect.y + card.padding + 3 * card.line_height,
        height: card.font_px,
        ..card.rect
    };
    let diff: u64 = pixels_in(&a, w, row)
        .zip(pixels_in(&b, w, row))
        .map(|((.., p), (.., q))| {
            p.iter()
                .zip(q)
                .map(|(x, y)| u64::from(x.abs_diff(*y)))
                .sum::<u64>()
        })
        .sum();
    assert!(diff as f64 / row.area() as f64 > 5.0, "{diff}");
}

/// A photo too small to carry its whole stamp legibly within 12 % is refused, in Chinese then
/// English, naming the size it needs; at that size it is taken. The usual stamp needs about
/// 512 × 384, so 640 × 480 is taken; the longest the writers allow fits 1024 × 768.
#[test]
fn a_photo_too_small_for_its_stamp_is_refused() {
    let s = stamp(trusted(), Some(gps()));
    let small = jpeg(&pattern(320, 240, 4, 1), 320, 240, 90, None);
    let err = process(&small, &s).unwrap_err();
    let PhotoError::TooSmall {
        width,
        height,
        min_width,
        min_height,
    } = err
    else {
        panic!("{err}");
    };
    assert_eq!((width, height), (320, 240));
    assert!((480..=560).contains(&min_width), "{min_width}×{min_height}");
    assert_eq!(min_width * 3, min_height * 4, "the same shape");
    let text = err.to_string();
    let (zh, en) = (
        text.find("照片太小（320×240 像素）").unwrap(),
        text.find("The photo is too small (320×240 px)").unwrap(),
    );
    assert!(zh < en, "{text}");
    assert!(
        text.contains(&format!("{min_width}×{min_height}")),
        "{text}"
    );

    let at_least = pattern(min_width, min_height, 4, 1);
    process(&jpeg(&at_least, min_width, min_height, 90, None), &s).unwrap();
    let (uw, uh) = (min_width * 9 / 10, min_height * 9 / 10);
    assert!(
        !card_layout(uw, uh, &stamp_lines(&s)).fits_photo(uw, uh),
        "the size named is within 10 % of the least"
    );
    // A PNG is refused alike; a 640 × 480 photo is taken.
    let png = photo_support::png(&pattern(200, 300, 0, 2), 200, 300);
    assert!(matches!(
        process(&png, &s),
        Err(PhotoError::TooSmall { .. })
    ));
    let vga = process(&jpeg(&pattern(640, 480, 4, 3), 640, 480, 90, None), &s).unwrap();
    assert_eq!((vga.width, vga.height), (640, 480));

    // The longest stamp the writers allow fits 1024 × 768 either way round.
    for c in ['国', '@'] {
        for (w, h) in [(1024, 768), (768, 1024)] {
            let card = card_layout(w, h, &longest_lines(c));
            println!(
                "longest ({c}) on {w}×{h}: {:.2} %, font {}",
                percent(&card, w, h),
                card.font_px
            );
            assert!(card.fits_photo(w, h), "{w}×{h}");
        }
    }
}
