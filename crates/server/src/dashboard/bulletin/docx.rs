//! The bulletin as a Word document (.docx, docx-rs), always in Chinese: the title, the period,
//! the overall sentence, the tables the grouping asks for, the red and black lists, points
//! lost by index and the worst cases with their before and after thumbnails (at most
//! `data::MAX_WORST` cases, so at most twice as many pictures).
//!
//! Chinese text is set in 宋体 (title 黑体), Latin text and numbers in Times New Roman; the
//! document's font table names SimSun and SimHei as their alternatives, so Word finds them on a
//! system with English font names, and other readers substitute a CJK font. The pictures are
//! the 320-pixel JPEG thumbnails as they are: docx-rs stores every picture under a `.png` name,
//! so each gets its real content type in the package (an OPC override), with no re-encoding.

use super::Grouping;
use super::data::Report;
use super::view::{Section, heading, rate, sections, summary, title, top_indexes, unit_label};
use crate::app::SharedState;
use crate::dashboard::i18n::Lang;
use crate::dashboard::ledger::fmt_time;
use crate::dashboard::reference::Reference;
use docx_rs::{
    AlignmentType, Docx, Paragraph, Pic, Run, RunFonts, Shading, Table, TableCell, TableRow,
    WidthType,
};
use fieldcheck_domain::bulletin::{Figures, Row};
use std::collections::HashMap;

/// The document's content type.
pub const MIME: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
/// A picture's largest printed width: 7.5 cm in EMU, two side by side within an A4 page's
/// text width.
const PICTURE_EMU: u32 = 2_700_000;
/// A picture's largest printed height: 5.6 cm in EMU (a 4:3 photo at the full width).
const PICTURE_HEIGHT_EMU: u32 = 2_016_000;
/// The text width of the page in twentieths of a point (A4 less docx-rs's default margins).
const TEXT_WIDTH: usize = 8_500;
const FONT_TABLE: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:fonts xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:font w:name="宋体"><w:altName w:val="SimSun"/><w:charset w:val="86"/><w:family w:val="auto"/><w:pitch w:val="variable"/></w:font><w:font w:name="黑体"><w:altName w:val="SimHei"/><w:charset w:val="86"/><w:family w:val="modern"/><w:pitch w:val="fixed"/></w:font><w:font w:name="Times New Roman"><w:charset w:val="00"/><w:family w:val="roman"/><w:pitch w:val="variable"/></w:font></w:fonts>"#;

/// A thumbnail to print: its bytes, kind and size in pixels.
#[derive(Clone, Debug)]
pub struct Photo {
    /// The image file (a JPEG thumbnail).
    pub bytes: Vec<u8>,
    /// `image/jpeg` or `image/png`.
    pub mime: &'static str,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// The thumbnails of the worst cases' photos, by hash; a photo that cannot be had (not
/// uploaded yet, unreadable: logged by the thumbnail maker) is left out and printed as 无照片.
pub async fn photos(state: &SharedState, report: &Report) -> HashMap<String, Photo> {
    let mut out = HashMap::new();
    let mut shas: Vec<String> = Vec::new();
    for w in &report.worst {
        shas.extend(w.before.iter().chain(&w.after).cloned());
    }
    for sha in shas {
        if out.contains_key(&sha) || !fieldcheck_domain::limits::is_sha256(&sha) {
            continue;
        }
        let Ok(bytes) = crate::thumbnails::thumbnail(state, &sha).await else {
            continue;
        };
        if let Ok(info) = fieldcheck_photo_codec::check_image(&bytes, 4096) {
            out.insert(
                sha,
                Photo {
                    bytes,
                    mime: info.mime,
                    width: info.width.max(1),
                    height: info.height.max(1),
                },
            );
        }
    }
    out
}

fn body_fonts() -> RunFonts {
    RunFonts::new()
        .east_asia("宋体")
        .ascii("Times New Roman")
        .hi_ansi("Times New Roman")
        .hint("eastAsia")
}

fn text(s: impl Into<String>) -> Run {
    Run::new().add_text(s).fonts(body_fonts())
}

fn para(s: impl Into<String>) -> Paragraph {
    Paragraph::new().add_run(text(s))
}

fn head(s: impl Into<String>) -> Paragraph {
    Paragraph::new()
        .add_run(
            Run::new()
                .add_text(s)
                .bold()
                .size(28)
                .fonts(body_fonts().east_asia("黑体")),
        )
        .keep_next(true)
}

fn cell(s: impl Into<String>, header: bool) -> TableCell {
    let run = if header {
        text(s).bold().size(18)
    } else {
        text(s).size(21)
    };
    let c = TableCell::new().add_paragraph(Paragraph::new().add_run(run));
    if header {
        c.shading(Shading::new().fill("EEF2F6"))
    } else {
        c
    }
}

/// A header cell whose row stays on the page of the row after it.
fn cell_kept_with_next(s: &str) -> TableCell {
    TableCell::new()
        .add_paragraph(
            Paragraph::new()
                .add_run(text(s).bold().size(18))
                .keep_next(true),
        )
        .shading(Shading::new().fill("EEF2F6"))
}

/// A table: a header row, then the rows, its columns `grid` wide (twentieths of a point).
fn table(heads: &[&str], rows: Vec<Vec<String>>, grid: Vec<usize>) -> Table {
    let mut all = vec![TableRow::new(
        heads.iter().map(|h| cell(*h, true)).collect(),
    )];
    all.extend(
        rows.into_iter()
            .map(|r| TableRow::new(r.into_iter().map(|c| cell(c, false)).collect())),
    );
    Table::new(all)
        .set_grid(grid)
        .width(TEXT_WIDTH, WidthType::Dxa)
}

/// A figure column's width; the seven of them take 4,760 of the page's 8,500.
const FIGURE_WIDTH: usize = 680;

/// Column widths: `first`, the seven figures, then `last`.
fn grid(first: &[usize], last: &[usize]) -> Vec<usize> {
    first
        .iter()
        .copied()
        .chain([FIGURE_WIDTH; 7])
        .chain(last.iter().copied())
        .collect()
}

const FIGURE_HEADS: [&str; 7] = [
    "发现问题",
    "按期整改",
    "逾期整改",
    "逾期未改",
    "整改中",
    "复发",
    "按期整改率",
];

fn figures(f: &Figures) -> Vec<String> {
    vec![
        f.found.to_string(),
        f.on_time.to_string(),
        f.late.to_string(),
        f.overdue.to_string(),
        f.pending.to_string(),
        f.reopened.to_string(),
        rate(f),
    ]
}

fn with_heads(first: &[&'static str], last: &[&'static str]) -> Vec<&'static str> {
    first
        .iter()
        .chain(FIGURE_HEADS.iter())
        .chain(last.iter())
        .copied()
        .collect()
}

fn unit_lines(reference: &Reference, rows: &[Row<String>]) -> Vec<Paragraph> {
    if rows.is_empty() {
        return vec![para("本期无。")];
    }
    rows.iter()
        .enumerate()
        .map(|(i, r)| {
            para(format!(
                "{}. {}：按期整改率 {}，按期整改 {} 个，逾期未改 {} 个。",
                i + 1,
                reference.unit_name(Lang::Zh, &r.key),
                rate(&r.figures),
                r.figures.on_time,
                r.figures.overdue
            ))
        })
        .collect()
}

/// The picture of photo `sha` within 7.5 × 5.6 cm, or 无照片.
fn picture(photos: &HashMap<String, Photo>, sha: Option<&String>) -> Paragraph {
    let Some(p) = sha.and_then(|s| Some((s, photos.get(s)?))) else {
        return para("无照片");
    };
    let (sha, photo) = p;
    let (w, h) = (u64::from(photo.width), u64::from(photo.height));
    let (box_w, box_h) = (u64::from(PICTURE_EMU), u64::from(PICTURE_HEIGHT_EMU));
    // The larger side that fits the box, the other in proportion.
    let (width, height) = if w * box_h >= h * box_w {
        (box_w, box_w * h / w)
    } else {
        (box_h * w / h, box_h)
    };
    let emu = |v: u64| u32::try_from(v).unwrap_or(PICTURE_EMU);
    let pic = Pic::new_with_dimensions(photo.bytes.clone(), photo.width, photo.height)
        .id(picture_id(sha))
        .size(emu(width), emu(height));
    Paragraph::new().add_run(Run::new().add_image(pic))
}

/// A picture's id and file name in the package: one per photo, so a photo shown twice is
/// stored once.
fn picture_id(sha: &str) -> String {
    format!("photo{}", &sha[..16])
}

/// Writes the bulletin as a .docx: the sections `group` asks for, in Chinese.
pub fn write(
    report: &Report,
    reference: &Reference,
    group: Grouping,
    photos: &HashMap<String, Photo>,
) -> Result<Vec<u8>, String> {
    let l = Lang::Zh;
    let b = &report.bulletin;
    let mut doc = Docx::new().default_fonts(body_fonts()).default_size(24);
    doc = doc
        .add_paragraph(
            Paragraph::new().align(AlignmentType::Center).add_run(
                Run::new()
                    .add_text(title(l, report))
                    .bold()
                    .size(36)
                    .color("B3261E")
                    .fonts(body_fonts().east_asia("黑体")),
            ),
        )
        .add_paragraph(
            para(format!(
                "通报期间：{} 至 {}；统计截至 {}",
                b.period.first,
                b.period.last,
                fmt_time(b.as_of_ms)
            ))
            .align(AlignmentType::Center),
        );
    for (n, s) in sections(group).into_iter().enumerate() {
        doc = doc.add_paragraph(head(heading(l, n, s)));
        doc = match s {
            Section::Overall => doc.add_paragraph(para(summary(l, &b.total))),
            Section::Districts => doc.add_table(table(
                &with_heads(&["区县"], &["失分最多的测评项目"]),
                b.by_district
                    .iter()
                    .map(|r| {
                        let mut row = vec![r.key.clone()];
                        row.extend(figures(&r.figures));
                        row.push(top_indexes(
                            l,
                            report,
                            report.losses.by_district.get(&r.key),
                        ));
                        row
                    })
                    .collect(),
                grid(&[1_440], &[2_300]),
            )),
            Section::Streets => doc.add_table(table(
                &with_heads(&["区县", "街道"], &["失分最多的测评项目"]),
                b.by_street
                    .iter()
                    .map(|r| {
                        let mut row = vec![r.key.0.clone(), r.key.1.clone()];
                        row.extend(figures(&r.figures));
                        row.push(top_indexes(l, report, report.losses.by_street.get(&r.key)));
                        row
                    })
                    .collect(),
                grid(&[1_100, 1_240], &[1_400]),
            )),
            Section::Units => doc.add_table(table(
                &with_heads(&["排名", "责任单位"], &[]),
                b.by_unit
                    .iter()
                    .map(|r| {
                        let rank = r
                            .key
                            .as_ref()
                            .and_then(|k| b.ranking.iter().position(|x| &x.key == k))
                            .map_or_else(|| "—".to_string(), |n| (n + 1).to_string());
                        let mut row = vec![rank, unit_label(l, reference, r.key.as_deref())];
                        row.extend(figures(&r.figures));
                        row
                    })
                    .collect(),
                grid(&[640, 3_100], &[]),
            )),
            Section::Red => unit_lines(reference, &b.red)
                .into_iter()
                .fold(doc, Docx::add_paragraph),
            Section::Black => unit_lines(reference, &b.black)
                .into_iter()
                .fold(doc, Docx::add_paragraph),
            Section::Indexes if report.losses.county.is_empty() => {
                doc.add_paragraph(para("本期没有完成的检查。"))
            }
            Section::Indexes => doc.add_table(table(
                &["测评项目", "失分"],
                report
                    .losses
                    .county
                    .iter()
                    .map(|x| {
                        vec![
                            format!("{} {}", x.index_code, report.index_name(l, &x.index_code)),
                            format!("{:.2}", x.points_lost),
                        ]
                    })
                    .collect(),
                vec![6_000, 2_500],
            )),
            Section::Worst if report.worst.is_empty() => {
                doc.add_paragraph(para("本期没有逾期问题。"))
            }
            Section::Worst => report.worst.iter().fold(doc, |doc, w| {
                doc.add_paragraph(
                    para(format!(
                        "{} {}：{}（{}，期限 {}，逾期 {} 天）",
                        w.number,
                        w.site,
                        w.description,
                        unit_label(l, reference, w.judged.unit.as_deref()),
                        w.judged.deadline.as_deref().unwrap_or("—"),
                        w.judged.days_late
                    ))
                    .keep_next(true),
                )
                .add_table(
                    Table::new(vec![
                        // Kept with the pictures' row, which is never split across pages.
                        TableRow::new(vec![
                            cell_kept_with_next("整改前"),
                            cell_kept_with_next("整改后"),
                        ]),
                        TableRow::new(vec![
                            TableCell::new().add_paragraph(picture(photos, w.before.as_ref())),
                            TableCell::new().add_paragraph(picture(photos, w.after.as_ref())),
                        ])
                        .cant_split(),
                    ])
                    .set_grid(vec![TEXT_WIDTH / 2, TEXT_WIDTH / 2])
                    .width(TEXT_WIDTH, WidthType::Dxa),
                )
            }),
        };
    }
    doc = doc.add_paragraph(para(format!(
        "创城办 · 生成时间 {}",
        fmt_time(crate::clock::now_ms())
    )));
    // Every picture's real content type (docx-rs names each file `.png`).
    let mut typed: Vec<(String, &'static str)> = report
        .worst
        .iter()
        .flat_map(|w| [&w.before, &w.after])
        .flatten()
        .filter_map(|sha| Some((picture_id(sha), photos.get(sha)?.mime)))
        .collect();
    typed.sort();
    typed.dedup();
    for (id, mime) in typed {
        doc.content_type = doc
            .content_type
            .add_content(format!("/word/media/{id}.png"), mime);
    }
    let mut xml = doc.build();
    xml.font_table = FONT_TABLE.as_bytes().to_vec();
    let mut out = std::io::Cursor::new(Vec::new());
    xml.pack(&mut out).map_err(|e| e.to_string())?;
    Ok(out.into_inner())
}
