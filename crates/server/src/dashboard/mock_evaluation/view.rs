//! The 模拟测评 page's estimate and its list of problems worth fixing first, as HTML: every
//! number of points with two decimals, zh-CN first and English through [`Lang::t`].

use super::data::RecoverableRow;
use crate::dashboard::i18n::Lang;
use crate::dashboard::scores::index_name;
use fieldcheck_domain::mock_evaluation::{Estimate, EstimateFault, Estimated, SiteAnswers};
use fieldcheck_protocol::{Site, Template};
use maud::{Markup, html};
use std::collections::BTreeMap;

/// Points with two decimals (0.01 points), as every number of points on the page is shown.
pub fn points(v: f64) -> String {
    format!("{v:.2}")
}

/// A sentence in the page's language from its Chinese and English forms.
fn say(l: Lang, zh: String, en: String) -> String {
    match l {
        Lang::Zh => zh,
        Lang::En => en,
    }
}

/// An estimate's 95 % interval as `low – high`, or a dash when there is none.
fn interval(e: &Estimated) -> Markup {
    match e.interval {
        Some((low, high)) => html! {
            span class="interval nowrap" data-low=(points(low)) data-high=(points(high)) {
                (points(low)) " – " (points(high))
            }
        },
        None => html! { span class="interval muted" { "—" } },
    }
}

/// Why the estimate cannot be made, in a sentence.
fn fault_sentence(l: Lang, fault: &EstimateFault, type_name: &dyn Fn(&str) -> String) -> String {
    match fault {
        EstimateFault::NothingApplicable => l
            .t(
                "抽中的点位还没有可计分的检查结果（没有完成的检查，或只有“不适用”的回答），无法估计得分。可先为抽中的点位派单检查。",
                "No sampled site has a scored answer yet (no finished inspection, or only 'not applicable' answers): there is nothing to estimate. Assign the sampled sites first.",
            )
            .to_string(),
        EstimateFault::UnknownSiteType(t) => say(
            l,
            format!("点位类型“{}”没有点位数，无法估计。", type_name(t)),
            format!("site type '{}' has no number of sites: no estimate.", type_name(t)),
        ),
        EstimateFault::MoreThanPopulation(t) => say(
            l,
            format!("点位类型“{}”抽中的点位多于该类点位总数，请刷新页面重新抽样。", type_name(t)),
            format!("more sites of type '{}' were sampled than it has: reload the page and draw again.", type_name(t)),
        ),
        EstimateFault::DuplicateSite(id) => say(
            l,
            format!("点位 {id} 被抽中两次，请刷新页面重新抽样。"),
            format!("site {id} was sampled twice: reload the page and draw again."),
        ),
    }
}

/// The estimate: the overall score and each index's score and points lost, each with its
/// 95 % interval (two decimals), why there is no interval when there is none (the site types
/// with a single inspected site out of several, named), the site types the estimate does not
/// speak for, and the sampled sites not inspected yet; or why no estimate can be made.
pub fn estimate_section(
    l: Lang,
    estimated: &Result<Estimate, EstimateFault>,
    answered: &[SiteAnswers],
    populations: &BTreeMap<String, usize>,
    not_inspected: &[&Site],
    templates: &[Template],
    type_name: &dyn Fn(&str) -> String,
) -> Markup {
    let mut inspected_by_type: BTreeMap<&str, usize> = BTreeMap::new();
    for a in answered {
        *inspected_by_type.entry(a.site_type.as_str()).or_default() += 1;
    }
    // A type with one inspected site that is not the whole type shows no spread.
    let lone: Vec<String> = inspected_by_type
        .iter()
        .filter(|(t, n)| **n == 1 && populations.get(**t).is_some_and(|p| *p > 1))
        .map(|(t, _)| type_name(t))
        .collect();
    let names = |v: &[String]| v.join(l.t("、", ", "));
    html! {
        section id="estimate" {
            h2 { (l.t("估计得分", "Estimated score")) }
            p class="muted" {
                (l.t("按点位类型分层、以各类点位总数加权的比率估计（与“测评得分”同一算法：失分 = 100 × 不符合项权重 ÷ 适用项权重）；95% 区间来自线性化方差，含有限总体校正，按 t 分布。每个抽中点位只用它最近一次完成的检查。",
                     "A ratio estimate stratified by site type, each type weighted by its number of sites (scored as on the Scores page: points lost = 100 × weight of non-compliant answers ÷ weight of applicable answers); the 95 % interval from the linearised variance with the finite-population correction, on Student's t. Each sampled site counts with its latest finished inspection."))
            }
            @match estimated {
                Ok(e) => {
                    div class="cards" {
                        div class="card" { (l.t("估计总分", "Estimated score"))
                            b id="score-value" { (points(e.score.value)) }
                            small id="score-interval" { (l.t("95% 区间 ", "95 % interval ")) (interval(&e.score)) } }
                        div class="card" { (l.t("有检查结果的抽样点位", "Sampled sites inspected"))
                            b id="estimate-sites" { (e.sites) } }
                        div class="card" { (l.t("自由度", "Degrees of freedom"))
                            b { (e.degrees_of_freedom) } }
                    }
                    @if e.score.interval.is_none() {
                        p class="notice" id="no-interval" {
                            @if lone.is_empty() {
                                (l.t("样本无法说明得分的离散程度，因此不给出 95% 区间。", "The sample cannot show how scores spread, so no 95 % interval is given."))
                            } @else {
                                (say(l,
                                    format!("不给出 95% 区间：{} 只有 1 个抽中的点位有检查结果（又不是该类的全部点位），无法估计这类点位之间的差异。请加大这些类型的样本量，或先完成抽中点位的检查。", names(&lone)),
                                    format!("No 95 % interval: {} has only one sampled site with an inspection (and it is not the whole type), so how its sites differ cannot be estimated. Draw more sites of it, or inspect the sampled ones first.", names(&lone))))
                            }
                        }
                    }
                    @if !e.unsampled_types.is_empty() {
                        @let unsampled: Vec<String> = e.unsampled_types.iter().map(|t| type_name(t)).collect();
                        p class="notice" id="unsampled-types" {
                            (say(l,
                                format!("以下类型没有抽中或抽中的点位都未检查，估计不代表它们：{}。", names(&unsampled)),
                                format!("These types have no sampled site with an inspection, and the estimate does not speak for them: {}.", names(&unsampled))))
                        }
                    }
                    table id="index-estimates" {
                        thead { tr {
                            th { (l.t("测评项目", "Index")) }
                            th class="num" { (l.t("得分", "Score")) }
                            th { (l.t("得分 95% 区间", "Score, 95 % interval")) }
                            th class="num" { (l.t("失分", "Points lost")) }
                            th { (l.t("失分 95% 区间", "Points lost, 95 % interval")) }
                        } }
                        tbody {
                            @for i in &e.by_index {
                                tr class="index-estimate" data-index=(i.index_code) {
                                    td { (index_name(templates, l, &i.index_code)) }
                                    td class="num" { (points(i.score.value)) }
                                    td { (interval(&i.score)) }
                                    td class="num" data-points-lost=(points(i.points_lost.value)) { (points(i.points_lost.value)) }
                                    td { (interval(&i.points_lost)) }
                                }
                            }
                        }
                    }
                },
                Err(fault) => p class="notice" id="no-estimate" { (fault_sentence(l, fault, type_name)) },
            }
            @if !not_inspected.is_empty() {
                h3 { (l.t("尚未检查的抽样点位", "Sampled sites not inspected yet")) " (" (not_inspected.len()) ")" }
                p class="muted" { (l.t("这些点位没有完成的检查，不计入估计。", "These sites have no finished inspection and are left out of the estimate.")) }
                ul id="not-inspected" {
                    @for s in not_inspected {
                        li data-site=(s.id) { (s.name) " · " (s.district) " " (s.street) }
                    }
                }
            }
        }
    }
}

/// The open problems recovering the most points if fixed first, each linked to its page.
pub fn recoverable_section(l: Lang, rows: &[RecoverableRow], templates: &[Template]) -> Markup {
    html! {
        section id="recoverable" {
            h2 { (l.t("先整改哪些问题挽回分值最多", "Which open problems recover the most points if fixed first")) }
            p class="muted" {
                (l.t("未结案、对应检查项的问题，按整改后所属测评项目得分可回升的分值排序（前 20 条）：100 × 检查项权重 ÷ 该测评项目在全部已完成检查中的适用权重。",
                     "Findings not closed that fail a checklist item, ranked by the points their index's score would regain if fixed (top 20): 100 × the item's weight ÷ the index's applicable weight over every finished inspection."))
            }
            @if rows.is_empty() {
                p id="no-recoverable" { (l.t("没有未结案且对应检查项的问题。", "No open finding fails a checklist item.")) }
            } @else {
                table id="recoverable-list" {
                    thead { tr {
                        th { (l.t("编号", "No.")) }
                        th { (l.t("点位", "Site")) }
                        th { (l.t("检查项", "Item")) }
                        th { (l.t("测评项目", "Index")) }
                        th { (l.t("状态", "Status")) }
                        th class="num" { (l.t("可挽回分值", "Points recovered")) }
                    } }
                    tbody {
                        @for r in rows {
                            @let id = r.recoverable.finding_id;
                            tr class="recoverable" data-finding=(id) data-points=(points(r.recoverable.points)) {
                                td { a href={ "/dashboard/findings/" (id) } { (r.number.as_deref().unwrap_or(l.t("查看", "Open"))) } }
                                td { (r.site.0) br; small class="muted" { (r.site.1) " " (r.site.2) } }
                                td { (r.item_code) " " (l.name(&r.item_text.0, &r.item_text.1)) }
                                td { (index_name(templates, l, &r.recoverable.index_code)) }
                                td { (crate::dashboard::ledger::status_badge(l, &r.status, false)) }
                                td class="num" { (points(r.recoverable.points)) }
                            }
                        }
                    }
                }
            }
        }
    }
}
