//! What the bulletin says, in both of its forms: its title, the overall sentence, the
//! sections a grouping prints and their headings, the figures as text (shared with the Word
//! document), and the page's markup of each section.

use super::Grouping;
use super::data::Report;
use crate::dashboard::i18n::Lang;
use crate::dashboard::reference::Reference;
use fieldcheck_domain::bulletin::{Figures, IndexLoss, Row};
use maud::{Markup, html};

/// Indexes named beside each district and street: the ones losing most.
const TOP_INDEXES: usize = 3;

/// The bulletin's title: 「示范县创建全国文明城市工作通报（2026年第49期）」, numbered by ISO week
/// when the period is one Monday-to-Sunday week, else with its days.
pub fn title(l: Lang, report: &Report) -> String {
    let p = &report.bulletin.period;
    let county = report.county.as_deref().unwrap_or("");
    let title = match (l, p.week_number()) {
        (Lang::Zh, Some((y, w))) => format!("{county}创建全国文明城市工作通报（{y}年第{w}期）"),
        (Lang::Zh, None) => format!(
            "{county}创建全国文明城市工作通报（{}至{}）",
            p.first, p.last
        ),
        (Lang::En, Some((y, w))) => {
            format!("{county} civilized-city campaign bulletin, {y} week {w}")
        }
        (Lang::En, None) => format!(
            "{county} civilized-city campaign bulletin, {} to {}",
            p.first, p.last
        ),
    };
    title.trim_start().to_string()
}

/// 按期整改率 as a percentage with one decimal, or — when nothing is decided.
pub fn rate(f: &Figures) -> String {
    f.on_time_rate()
        .map_or_else(|| "—".into(), |r| format!("{:.1}%", r * 100.0))
}

/// The indexes losing most in a pool, as `name 1.23` joined by `、`.
pub fn top_indexes(l: Lang, report: &Report, losses: Option<&Vec<IndexLoss>>) -> String {
    losses
        .map(|list| {
            list.iter()
                .filter(|x| x.points_lost > 0.0)
                .take(TOP_INDEXES)
                .map(|x| {
                    format!(
                        "{} {:.2}",
                        report.index_name(l, &x.index_code),
                        x.points_lost
                    )
                })
                .collect::<Vec<_>>()
                .join(l.t("、", ", "))
        })
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "—".into())
}

/// A unit's name, or 未指定单位 for findings with none.
pub fn unit_label(l: Lang, reference: &Reference, unit: Option<&str>) -> String {
    unit.map_or_else(
        || l.t("未指定单位", "no unit").to_string(),
        |u| reference.unit_name(l, u).to_string(),
    )
}

fn figure_cells(f: &Figures) -> Markup {
    html! {
        td class="num found" { (f.found) } td class="num on-time" { (f.on_time) }
        td class="num late" { (f.late) } td class="num overdue" { (f.overdue) }
        td class="num pending" { (f.pending) } td class="num reopened" { (f.reopened) }
        td class="num rate" { (rate(f)) }
    }
}

fn figure_heads(l: Lang) -> Markup {
    html! {
        th class="num" { (l.t("发现问题", "Found")) } th class="num" { (l.t("按期整改", "On time")) }
        th class="num" { (l.t("逾期整改", "Late")) } th class="num" { (l.t("逾期未改", "Overdue")) }
        th class="num" { (l.t("整改中", "Pending")) } th class="num" { (l.t("复发", "Reopened")) }
        th class="num" { (l.t("按期整改率", "On-time rate")) }
    }
}

fn unit_list(l: Lang, id: &str, reference: &Reference, rows: &[Row<String>]) -> Markup {
    html! {
        ol class="unit-list" id=(id) {
            @for r in rows { li data-unit=(r.key) {
                (reference.unit_name(l, &r.key)) "：" (l.t("按期整改率 ", "on-time rate ")) (rate(&r.figures))
                "，" (l.t("逾期未改 ", "overdue ")) (r.figures.overdue)
            } }
        }
        @if rows.is_empty() { p class="muted" { (l.t("本期无。", "None this period.")) } }
    }
}

/// A part of the bulletin, in the order printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    /// 总体情况: the overall sentence and figures.
    Overall,
    /// 各区县情况.
    Districts,
    /// 各街道情况.
    Streets,
    /// 责任单位排名.
    Units,
    /// 红榜.
    Red,
    /// 黑榜.
    Black,
    /// 测评项目失分情况.
    Indexes,
    /// 典型问题: the worst cases with their photos.
    Worst,
}

/// The sections a grouping prints, in order.
pub fn sections(group: Grouping) -> Vec<Section> {
    let mut out = vec![Section::Overall];
    if group.shows(Grouping::District) {
        out.push(Section::Districts);
    }
    if group.shows(Grouping::Street) {
        out.push(Section::Streets);
    }
    if group.shows(Grouping::Unit) {
        out.extend([Section::Units, Section::Red, Section::Black]);
    }
    out.extend([Section::Indexes, Section::Worst]);
    out
}

/// The heading of the `n`-th section (from 0): 「一、总体情况」, or "1. Overall".
pub fn heading(l: Lang, n: usize, s: Section) -> String {
    const NUMERALS: [&str; 10] = ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十"];
    let name = match s {
        Section::Overall => l.t("总体情况", "Overall"),
        Section::Districts => l.t("各区县情况", "By district"),
        Section::Streets => l.t("各街道情况", "By street"),
        Section::Units => l.t("责任单位排名", "Units ranked"),
        Section::Red => l.t("红榜（表现最好的单位）", "Red list (the best units)"),
        Section::Black => l.t("黑榜（表现最差的单位）", "Black list (the worst units)"),
        Section::Indexes => l.t("测评项目失分情况", "Points lost by index"),
        Section::Worst => l.t("典型问题（逾期最久）", "Worst cases (longest overdue)"),
    };
    match l {
        Lang::Zh => format!("{}、{name}", NUMERALS.get(n).copied().unwrap_or("十")),
        Lang::En => format!("{}. {name}", n + 1),
    }
}

/// The page's markup of section `s` (its heading is the caller's).
pub fn section(l: Lang, s: Section, report: &Report, reference: &Reference) -> Markup {
    let b = &report.bulletin;
    let t = &b.total;
    match s {
        Section::Overall => html! {
            p id="bulletin-summary" { (summary(l, t)) }
            div class="cards" {
                div class="card" { (l.t("发现问题", "Found")) b id="total-found" { (t.found) } }
                div class="card good" { (l.t("按期整改", "On time")) b id="total-on-time" { (t.on_time) } }
                div class="card alert" { (l.t("逾期整改", "Late")) b id="total-late" { (t.late) } }
                div class="card alert" { (l.t("逾期未改", "Overdue")) b id="total-overdue" { (t.overdue) } }
                div class="card" { (l.t("整改中", "Pending")) b id="total-pending" { (t.pending) } }
                div class="card alert" { (l.t("复发", "Reopened")) b id="total-reopened" { (t.reopened) } }
                div class="card" { (l.t("按期整改率", "On-time rate")) b id="total-rate" { (rate(t)) } }
            }
            @if t.found == 0 { p class="notice" id="bulletin-empty" { (l.t("本期未发现问题。", "No findings in this period.")) } }
        },
        Section::Districts => html! {
            div class="table-wrap" { table class="figures" id="by-district" {
                thead { tr { th { (l.t("区县", "District")) } (figure_heads(l)) th { (l.t("失分最多的测评项目", "Indexes losing most")) } } }
                tbody { @for r in &b.by_district { tr class="district-row" data-key=(r.key) {
                    td { (r.key) } (figure_cells(&r.figures))
                    td { (top_indexes(l, report, report.losses.by_district.get(&r.key))) }
                } } }
            } }
        },
        Section::Streets => html! {
            div class="table-wrap" { table class="figures" id="by-street" {
                thead { tr { th { (l.t("区县", "District")) } th { (l.t("街道", "Street")) } (figure_heads(l)) th { (l.t("失分最多的测评项目", "Indexes losing most")) } } }
                tbody { @for r in &b.by_street { tr class="street-row" data-key=(r.key.1) {
                    td { (r.key.0) } td { (r.key.1) } (figure_cells(&r.figures))
                    td { (top_indexes(l, report, report.losses.by_street.get(&r.key))) }
                } } }
            } }
        },
        Section::Units => html! {
            p class="muted" { (l.t("按按期整改率排名；相同时逾期未改少者、复发少者、按期整改多者在前，再按单位代码。", "Ranked by on-time rate; ties: fewer overdue, fewer reopened, more on time, then unit code.")) }
            div class="table-wrap" { table class="figures" id="by-unit" {
                thead { tr { th class="num" { (l.t("排名", "Rank")) } th { (l.t("责任单位", "Unit")) } (figure_heads(l)) } }
                tbody { @for r in &b.by_unit { tr class="unit-row" data-key=(r.key.as_deref().unwrap_or("")) {
                    td class="num rank" { @if let Some(n) = r.key.as_ref().and_then(|k| b.ranking.iter().position(|x| &x.key == k)) { (n + 1) } @else { "—" } }
                    td { (unit_label(l, reference, r.key.as_deref())) } (figure_cells(&r.figures))
                } } }
            } }
        },
        Section::Red => unit_list(l, "red-list", reference, &b.red),
        Section::Black => unit_list(l, "black-list", reference, &b.black),
        Section::Indexes => html! {
            table class="figures" id="index-losses" {
                thead { tr { th { (l.t("测评项目", "Index")) } th class="num" { (l.t("失分", "Points lost")) } } }
                tbody { @for x in &report.losses.county { tr class="index-row" data-key=(x.index_code) {
                    td { (x.index_code) " " (report.index_name(l, &x.index_code)) } td class="num" { (format!("{:.2}", x.points_lost)) }
                } } }
            }
            @if report.losses.county.is_empty() { p class="muted" { (l.t("本期没有完成的检查。", "No finished inspections this period.")) } }
        },
        Section::Worst => html! {
            @for w in &report.worst {
                section class="report-block worst-case" data-finding=(w.judged.finding_id) {
                    h3 { a href={ "/dashboard/findings/" (w.judged.finding_id) } { (w.number) } " " (w.site) " · " (w.description) }
                    p { (unit_label(l, reference, w.judged.unit.as_deref())) " · "
                        (l.t("期限", "Deadline")) "：" (w.judged.deadline.as_deref().unwrap_or("—")) " · "
                        (l.t("逾期 ", "late by ")) span class="days-late" { (w.judged.days_late) } (l.t(" 天", " days")) }
                    div class="photos" {
                        @for (photo, caption) in [(&w.before, l.t("整改前", "Before")), (&w.after, l.t("整改后", "After"))] {
                            figure {
                                @if let Some(sha) = photo { img src={ "/dashboard/photos/" (sha) "/thumb" } alt=(caption); }
                                @else { p class="muted" { (l.t("无照片", "no photo")) } }
                                figcaption { (caption) }
                            }
                        }
                    }
                }
            }
            @if report.worst.is_empty() { p class="muted" id="no-worst" { (l.t("本期没有逾期问题。", "Nothing overdue this period.")) } }
        },
    }
}

/// The overall sentence: 本期共发现问题 N 个，按期整改 …；按期整改率 P。
pub fn summary(l: Lang, t: &Figures) -> String {
    match l {
        Lang::Zh => format!(
            "本期共发现问题 {} 个，按期整改 {} 个，逾期整改 {} 个，逾期未改 {} 个，整改中 {} 个，其中复发问题 {} 个；按期整改率 {}。",
            t.found,
            t.on_time,
            t.late,
            t.overdue,
            t.pending,
            t.reopened,
            rate(t)
        ),
        Lang::En => format!(
            "{} findings this period: {} fixed on time, {} late, {} overdue, {} pending; {} reopened. On-time rate {}.",
            t.found,
            t.on_time,
            t.late,
            t.overdue,
            t.pending,
            t.reopened,
            rate(t)
        ),
    }
}
