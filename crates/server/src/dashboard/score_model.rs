//! The scores' read models, kept by the same refresh as the ledger: each answer scored
//! (`dash_results`), one summary row per inspection (`dash_inspection_scores`) and per-day
//! totals by index and by item (`dash_daily_scores`), of finished inspections only (the
//! domain's `counts_in_scores`: not one in progress or discarded). The scores page reads only the two
//! summaries, so its cost grows with inspections and days, not with answers. A dirty
//! inspection's rows and the totals of every day it touched (before and after the change) are
//! rewritten in one transaction.

use super::projection::{MAX_BATCHES, dirty, placeholders, sites};
use crate::store::dashboard::{Arg, Statement};
use crate::store::{Store, StoreResult};
use chrono::{Datelike, NaiveDate};
use fieldcheck_domain::scoring::{counts_in_scores, score_inspection};
use fieldcheck_protocol::{InspectionRecord, ItemResultRecord, Site, Template};
use std::collections::{BTreeSet, HashMap};

/// Templates by (id, version).
type Templates = HashMap<(String, i64), Template>;

async fn templates(store: &dyn Store) -> StoreResult<Templates> {
    Ok(super::reference::templates(store)
        .await?
        .into_iter()
        .map(|t| ((t.id.clone(), i64::from(t.version)), t))
        .collect())
}

/// One scored answer: the item, its index, whether it complied, and the item's weight.
#[derive(Clone, Debug, PartialEq)]
pub struct ScoredAnswer {
    /// Item code.
    pub item_code: String,
    /// Index code of the item.
    pub index_code: String,
    /// Whether the answer complied.
    pub compliant: bool,
    /// The item's weight.
    pub weight: f64,
}

/// Each scored answer of one inspection; answers that are 不适用 or cannot be scored are left
/// out, exactly as core's scoring leaves them out.
pub fn scored_answers(template: &Template, results: &[ItemResultRecord]) -> Vec<ScoredAnswer> {
    results
        .iter()
        .filter_map(|r| {
            let score = score_inspection(template, &[(r.item_code.as_str(), r.value)]);
            let item = score.by_item.first()?;
            let weight = template
                .items
                .iter()
                .find(|i| i.code == r.item_code)?
                .weight;
            Some(ScoredAnswer {
                item_code: r.item_code.clone(),
                index_code: item.index_code.clone(),
                compliant: item.non_compliant == 0,
                weight,
            })
        })
        .collect()
}

/// The Monday of the (China-time) week of Unix milliseconds `ms`, as `YYYY-MM-DD`.
pub fn week_of(ms: i64) -> String {
    let day = fieldcheck_domain::china_time::china_date(ms);
    NaiveDate::parse_from_str(&day, "%Y-%m-%d")
        .map(|d| {
            (d - chrono::Duration::days(i64::from(d.weekday().num_days_from_monday())))
                .format("%Y-%m-%d")
                .to_string()
        })
        .unwrap_or(day)
}

/// Rewrites one day's totals by index and by item from that day's scored answers.
fn daily_totals(day: &str) -> [Statement; 3] {
    let totals = |dimension: &str, key: &str| {
        format!(
            "INSERT INTO dash_daily_scores (dimension, day, group_key, applicable, compliant, weight, lost_weight) \
             SELECT '{dimension}', day, {key}, CAST(COUNT(*) AS BIGINT), CAST(SUM(compliant) AS BIGINT), \
             CAST(SUM(weight) AS DOUBLE PRECISION), CAST(SUM(CASE WHEN compliant = 0 THEN weight ELSE 0 END) AS DOUBLE PRECISION) \
             FROM dash_results WHERE day = $1 GROUP BY day, {key}"
        )
    };
    [
        (
            "DELETE FROM dash_daily_scores WHERE day = $1".into(),
            vec![day.into()],
        ),
        (totals("index", "index_code"), vec![day.into()]),
        (
            totals("item", "template_id || '/' || item_code"),
            vec![day.into()],
        ),
    ]
}

/// The statements that rewrite one inspection's answers and summary.
fn inspection_rows(
    i: &InspectionRecord,
    template: &Template,
    site: Option<&Site>,
    answers: &[ItemResultRecord],
) -> Vec<Statement> {
    let id = i.id.to_string();
    let day = fieldcheck_domain::china_time::china_date(i.started_at);
    let scored = scored_answers(template, answers);
    let mut stmts: Vec<Statement> = Vec::with_capacity(scored.len() + 1);
    for a in &scored {
        stmts.push((
            "INSERT INTO dash_results (inspection_id, item_code, template_id, index_code, day, compliant, weight) VALUES ($1, $2, $3, $4, $5, $6, $7)".into(),
            vec![
                id.clone().into(),
                a.item_code.clone().into(),
                i.template_id.clone().into(),
                a.index_code.clone().into(),
                day.clone().into(),
                Arg::Int(i64::from(a.compliant)),
                Arg::Real(a.weight),
            ],
        ));
    }
    // An inspection with no scored answer yet is not counted, as it has no pass rate.
    if !scored.is_empty() {
        let compliant = scored.iter().filter(|a| a.compliant).count();
        let weight: f64 = scored.iter().map(|a| a.weight).sum();
        let lost: f64 = scored
            .iter()
            .filter(|a| !a.compliant)
            .map(|a| a.weight)
            .sum();
        let site_type = site.map_or("", |s| s.site_type.as_str());
        stmts.push((
            "INSERT INTO dash_inspection_scores (inspection_id, day, site_id, site_type, week, inspector, applicable, compliant, weight, lost_weight) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)".into(),
            vec![
                id.into(),
                day.into(),
                i.site_id.to_string().into(),
                site_type.into(),
                week_of(i.started_at).into(),
                i.inspector.clone().into(),
                Arg::Int(scored.len() as i64),
                Arg::Int(compliant as i64),
                Arg::Real(weight),
                Arg::Real(lost),
            ],
        ));
    }
    stmts
}

/// Recomputes the dirty inspections' rows and the totals of the days they touch.
pub async fn refresh_inspections(store: &dyn Store) -> StoreResult<()> {
    let mut caches: Option<(HashMap<String, Site>, Templates)> = None;
    for _ in 0..MAX_BATCHES {
        let batch = dirty(store, "dash_dirty_inspections", "inspection_id").await?;
        if batch.is_empty() {
            return Ok(());
        }
        if caches.is_none() {
            caches = Some((sites(store).await?, templates(store).await?));
        }
        let (sites, templates) = caches.as_ref().expect("loaded above");
        let ids: Vec<Arg> = batch.iter().map(|(id, _)| Arg::from(id.as_str())).collect();
        let list = placeholders(1, ids.len());
        // The days these inspections counted on before, whose totals change too.
        let mut days: BTreeSet<String> = store
            .dash_query(
                &format!(
                    "SELECT DISTINCT day FROM dash_inspection_scores WHERE inspection_id IN ({list})"
                ),
                ids.clone(),
            )
            .await?
            .iter()
            .map(|r| r[0].text().to_string())
            .collect();
        let inspections = store
            .dash_query(
                &format!("SELECT payload FROM inspections WHERE id IN ({list})"),
                ids.clone(),
            )
            .await?;
        let mut results: HashMap<String, Vec<ItemResultRecord>> = HashMap::new();
        for r in store
            .dash_query(
                &format!(
                    "SELECT inspection_id, payload FROM item_results WHERE inspection_id IN ({list})"
                ),
                ids.clone(),
            )
            .await?
        {
            results
                .entry(r[0].text().to_string())
                .or_default()
                .push(serde_json::from_str(r[1].text())?);
        }
        let mut stmts: Vec<Statement> = vec![
            (
                format!("DELETE FROM dash_results WHERE inspection_id IN ({list})"),
                ids.clone(),
            ),
            (
                format!("DELETE FROM dash_inspection_scores WHERE inspection_id IN ({list})"),
                ids,
            ),
        ];
        for r in &inspections {
            let i: InspectionRecord = serde_json::from_str(r[0].text())?;
            // The one choice of what the scores count: finished inspections, never one in
            // progress or discarded (its old rows were deleted above, its days recomputed).
            if !counts_in_scores(&i) {
                continue;
            }
            let Some(template) =
                templates.get(&(i.template_id.clone(), i64::from(i.template_version)))
            else {
                continue;
            };
            let answers = results
                .get(&i.id.to_string())
                .map_or(&[][..], Vec::as_slice);
            days.insert(fieldcheck_domain::china_time::china_date(i.started_at));
            stmts.extend(inspection_rows(
                &i,
                template,
                sites.get(&i.site_id.to_string()),
                answers,
            ));
        }
        for day in &days {
            stmts.extend(daily_totals(day));
        }
        for (id, generation) in &batch {
            stmts.push((
                "DELETE FROM dash_dirty_inspections WHERE inspection_id = $1 AND gen = $2".into(),
                vec![id.as_str().into(), Arg::Int(*generation)],
            ));
        }
        store.dash_exec(stmts).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_start_on_monday_in_china_time() {
        // 2026-11-27 is a Friday; its week starts on Monday 2026-11-23.
        let friday = chrono::NaiveDate::from_ymd_opt(2026, 11, 27)
            .unwrap()
            .and_hms_opt(4, 0, 0)
            .unwrap()
            .and_utc()
            .timestamp_millis();
        assert_eq!(week_of(friday), "2026-11-23");
    }
}
