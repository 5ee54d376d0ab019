//! 测评得分, the scores: pass rate and points lost by site type, by index and by site; the
//! items that lose the most points; a weekly trend; activity per inspector. Computed in SQL
//! over the summaries of `score_model`, built from core's scoring of each answer, with core's
//! definitions:
//! pass rate = compliant / applicable; points lost = 100 × weight of non-compliant answers /
//! weight of applicable answers of the pool (so score + Σ points lost = 100).

use super::error::PageError;
use super::i18n::Lang;
use super::layout::page;
use super::projection::refresh;
use super::reference::Reference;
use super::session::Session;
use crate::app::SharedState;
use crate::store::dashboard::Arg;
use crate::store::{Store, StoreResult};
use axum::extract::{Query, State};
use fieldcheck_store::dash_row;
use maud::{Markup, html};
use serde::Deserialize;
use std::collections::HashMap;

/// The scores' filter: a date range (empty = all time).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct ScoresFilter {
    /// First day `YYYY-MM-DD`, inclusive.
    pub from: String,
    /// Last day, inclusive.
    pub to: String,
}

dash_row! {
    /// One group's tally. Its columns sum `dash_daily_scores` rows of one dimension by group
    /// (index and item groups, which are not counted in inspections).
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct Tally {
        /// Group key (site type, index code, site id, week, inspector, or template/item).
        pub key: String = "group_key",
        /// Inspections in the group.
        pub inspections: i64 = "CAST(0 AS BIGINT)",
        /// Applicable answers.
        pub applicable: i64 = "CAST(SUM(applicable) AS BIGINT)",
        /// Compliant answers.
        pub compliant: i64 = "CAST(SUM(compliant) AS BIGINT)",
        /// Weight of applicable answers.
        pub weight: f64 = "CAST(SUM(weight) AS DOUBLE PRECISION)",
        /// Weight of non-compliant answers.
        pub lost_weight: f64 = "CAST(SUM(lost_weight) AS DOUBLE PRECISION)",
    }
}

dash_row! {
    /// One inspection's summary in `dash_inspection_scores`.
    struct InspectionScore {
        site_type: String,
        site_id: String,
        week: String,
        inspector: String,
        applicable: i64,
        compliant: i64,
        weight: f64,
        lost_weight: f64,
    }
}

impl Tally {
    /// Adds another group's counts to this one.
    pub fn add(&mut self, other: &Tally) {
        self.inspections += other.inspections;
        self.applicable += other.applicable;
        self.compliant += other.compliant;
        self.weight += other.weight;
        self.lost_weight += other.lost_weight;
    }

    /// Compliant / applicable, when there are answers.
    pub fn pass_rate(&self) -> Option<f64> {
        (self.applicable > 0).then(|| self.compliant as f64 / self.applicable as f64)
    }

    /// Points lost against a pool's total applicable weight.
    pub fn points_lost(&self, pool_weight: f64) -> f64 {
        if pool_weight > 0.0 {
            100.0 * self.lost_weight / pool_weight
        } else {
            0.0
        }
    }
}

/// Everything the scores page shows.
#[derive(Clone, Debug, Default)]
pub struct Scores {
    /// The whole pool.
    pub total: Tally,
    /// By site type.
    pub by_site_type: Vec<Tally>,
    /// By index code.
    pub by_index: Vec<Tally>,
    /// By site id.
    pub by_site: Vec<Tally>,
    /// By `template_id/item_code`, most points lost first (top 20).
    pub by_item: Vec<Tally>,
    /// By week (Monday date), newest first (12 weeks).
    pub by_week: Vec<Tally>,
    /// By inspector.
    pub by_inspector: Vec<Tally>,
    /// Findings recorded per inspector.
    pub findings_by_inspector: HashMap<String, i64>,
}

impl Scores {
    /// Computes the scores for a range of China-time days `YYYY-MM-DD` (inclusive; `None` is
    /// open-ended), from the per-inspection and per-day summaries of `score_model`.
    pub async fn load(
        store: &dyn Store,
        from: Option<&str>,
        to: Option<&str>,
    ) -> StoreResult<Scores> {
        refresh(store).await?;
        let mut conds = Vec::new();
        let mut args = Vec::new();
        if let Some(f) = from {
            args.push(Arg::from(f));
            conds.push(format!("day >= ${}", args.len()));
        }
        if let Some(t) = to {
            args.push(Arg::from(t));
            conds.push(format!("day <= ${}", args.len()));
        }
        let days = conds.join(" AND ");
        // Index and item totals per day, summed over the range, most points lost first.
        let daily = |dimension: &str, limit: u32| {
            let sql = format!(
                "SELECT {} FROM dash_daily_scores WHERE dimension = '{dimension}' {} \
                 GROUP BY group_key ORDER BY SUM(lost_weight) DESC, group_key LIMIT {limit}",
                Tally::columns(),
                if days.is_empty() {
                    String::new()
                } else {
                    format!("AND {days}")
                }
            );
            let args = args.clone();
            async move {
                store.dash_query(&sql, args).await.map(|rows| {
                    rows.iter()
                        .map(|r| Tally::from_cells(r))
                        .collect::<Vec<_>>()
                })
            }
        };
        // One row per inspection feeds the total and the groupings an inspection belongs to
        // as a whole.
        let per_inspection = store
            .dash_query(
                &format!(
                    "SELECT {} FROM dash_inspection_scores {}",
                    InspectionScore::columns(),
                    if days.is_empty() {
                        String::new()
                    } else {
                        format!("WHERE {days}")
                    }
                ),
                args.clone(),
            )
            .await?;
        let mut total = Tally {
            key: "all".into(),
            ..Tally::default()
        };
        let mut groups: [HashMap<String, Tally>; 4] = Default::default();
        for r in &per_inspection {
            let r = InspectionScore::from_cells(r);
            let one = Tally {
                key: String::new(),
                inspections: 1,
                applicable: r.applicable,
                compliant: r.compliant,
                weight: r.weight,
                lost_weight: r.lost_weight,
            };
            total.add(&one);
            for (g, key) in groups
                .iter_mut()
                .zip([&r.site_type, &r.site_id, &r.week, &r.inspector])
            {
                let key = key.clone();
                g.entry(key.clone())
                    .or_insert_with(|| Tally {
                        key,
                        ..Tally::default()
                    })
                    .add(&one);
            }
        }
        let [by_site_type, by_site, by_week, by_inspector] = groups;
        let findings_by_inspector = findings_by_inspector(store, from, to).await?;
        let by_lost = |m: HashMap<String, Tally>, limit: usize| {
            let mut v: Vec<Tally> = m.into_values().collect();
            v.sort_by(|a, b| {
                b.lost_weight
                    .total_cmp(&a.lost_weight)
                    .then(a.key.cmp(&b.key))
            });
            v.truncate(limit);
            v
        };
        let mut by_week: Vec<Tally> = by_week.into_values().collect();
        by_week.sort_by(|a, b| b.key.cmp(&a.key));
        by_week.truncate(12);
        let mut by_inspector: Vec<Tally> = by_inspector.into_values().collect();
        by_inspector.sort_by(|a, b| b.inspections.cmp(&a.inspections).then(a.key.cmp(&b.key)));
        Ok(Scores {
            total,
            by_site_type: by_lost(by_site_type, 100),
            by_index: daily("index", 100).await?,
            by_site: by_lost(by_site, 50),
            by_item: daily("item", 20).await?,
            by_week,
            by_inspector,
            findings_by_inspector,
        })
    }
}

/// Findings recorded per inspector over the same China-time days.
async fn findings_by_inspector(
    store: &dyn Store,
    from: Option<&str>,
    to: Option<&str>,
) -> StoreResult<HashMap<String, i64>> {
    let start = fieldcheck_domain::china_time::china_midnight;
    let mut conds = Vec::new();
    let mut args = Vec::new();
    if let Some(f) = from.and_then(start) {
        args.push(Arg::Int(f));
        conds.push(format!("created_at >= ${}", args.len()));
    }
    if let Some(t) = to.and_then(start) {
        args.push(Arg::Int(t + 86_400_000));
        conds.push(format!("created_at < ${}", args.len()));
    }
    let filter = if conds.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conds.join(" AND "))
    };
    Ok(store
        .dash_query(
            &format!(
                "SELECT reporter, CAST(COUNT(*) AS BIGINT) FROM dash_ledger {filter} GROUP BY reporter"
            ),
            args,
        )
        .await?
        .iter()
        .map(|r| (r[0].text().to_string(), r[1].int()))
        .collect())
}

/// An index's code and name in the language, as the checklists name it (the code alone when
/// no checklist does).
pub fn index_name(templates: &[fieldcheck_protocol::Template], l: Lang, code: &str) -> String {
    templates
        .iter()
        .flat_map(|t| &t.items)
        .find(|i| i.index_code == code)
        .map_or_else(
            || code.to_string(),
            |i| format!("{code} {}", l.name(&i.index_name_zh, &i.index_name_en)),
        )
}

/// A 0..1 rate as a percentage with one decimal, "—" when there is none.
pub(super) fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), |v| format!("{:.1}%", v * 100.0))
}

/// `GET /dashboard/scores` (admins).
pub async fn scores_page(
    State(state): State<SharedState>,
    session: Session,
    Query(filter): Query<ScoresFilter>,
) -> Result<Markup, PageError> {
    let l = session.lang;
    let range = super::ledger::LedgerFilter {
        from: filter.from.clone(),
        to: filter.to.clone(),
        ..Default::default()
    };
    range.query(None)?;
    let day = |d: &str| Some(d.to_string()).filter(|d| !d.is_empty());
    let (from, to) = (day(&filter.from), day(&filter.to));
    let scores = Scores::load(state.store.as_ref(), from.as_deref(), to.as_deref()).await?;
    let reference = Reference::load(state.store.as_ref()).await?;
    let templates = super::reference::templates(state.store.as_ref()).await?;
    let index_name = |code: &str| index_name(&templates, l, code);
    let item_name = |key: &str| -> String {
        let (tid, code) = key.split_once('/').unwrap_or(("", key));
        templates
            .iter()
            .filter(|t| t.id == tid)
            .max_by_key(|t| t.version)
            .and_then(|t| t.items.iter().find(|i| i.code == code))
            .map_or_else(
                || key.to_string(),
                |i| format!("{code} {}", l.name(&i.text_zh, &i.title_en)),
            )
    };
    let site_name = |id: &str| -> String {
        reference
            .sites
            .iter()
            .find(|s| s.id.to_string() == id)
            .map_or_else(|| id.to_string(), |s| s.name.clone())
    };
    let w = scores.total.weight;
    let table = |id: &str, title: &str, rows: &[Tally], name: &dyn Fn(&str) -> String| {
        html! {
            h2 { (title) }
            table id=(id) {
                thead { tr { th { (l.t("名称", "Name")) } th { (l.t("检查次数", "Inspections")) } th { (l.t("观测数", "Observations")) } th { (l.t("符合率", "Pass rate")) } th { (l.t("失分", "Points lost")) } th {} } }
                tbody { @for t in rows { tr {
                    td { (name(&t.key)) } td { @if t.inspections > 0 { (t.inspections) } @else { "—" } } td { (t.applicable) } td { (pct(t.pass_rate())) }
                    td { (format!("{:.2}", t.points_lost(w))) }
                    td { div class="bar" style={ "width:" (format!("{:.0}", (t.points_lost(w) * 4.0).min(300.0))) "px" } {} }
                } } }
            }
        }
    };
    let body = html! {
        form class="filters" method="get" action="/dashboard/scores" {
            label { (l.t("起始日期", "From")) input type="date" name="from" value=(filter.from); }
            label { (l.t("截止日期", "To")) input type="date" name="to" value=(filter.to); }
            button type="submit" { (l.t("统计", "Show")) }
        }
        div class="cards" {
            div class="card" { (l.t("综合符合率", "Pass rate")) b id="total-pass-rate" { (pct(scores.total.pass_rate())) } }
            div class="card" { (l.t("加权得分", "Weighted score")) b id="total-score" { @if w > 0.0 { (format!("{:.2}", 100.0 - scores.total.points_lost(w))) } @else { "—" } } }
            div class="card" { (l.t("检查次数", "Inspections")) b { (scores.total.inspections) } }
            div class="card" { (l.t("观测数", "Observations")) b { (scores.total.applicable) } }
        }
        (table("by-site-type", l.t("按点位类型", "By site type"), &scores.by_site_type, &|k| reference.site_type_name(l, k).to_string()))
        (table("by-index", l.t("按测评项目", "By index"), &scores.by_index, &index_name))
        (table("by-item", l.t("失分最多的测评内容", "Items losing the most points"), &scores.by_item, &item_name))
        (table("by-site", l.t("按点位", "By site"), &scores.by_site, &site_name))
        (table("by-week", l.t("每周趋势", "Weekly trend"), &scores.by_week, &|k| format!("{k} {}", l.t("起的一周", "week"))))
        h2 { (l.t("督查员工作量", "Activity per inspector")) }
        table id="by-inspector" {
            thead { tr { th { (l.t("督查员", "Inspector")) } th { (l.t("检查次数", "Inspections")) } th { (l.t("观测数", "Observations")) } th { (l.t("发现问题", "Findings")) } } }
            tbody { @for t in &scores.by_inspector { tr {
                td { (t.key) } td { (t.inspections) } td { (t.applicable) } td { (scores.findings_by_inspector.get(&t.key).copied().unwrap_or(0)) }
            } } }
        }
    };
    Ok(page(&session, l.t("测评得分", "Scores"), body))
}
