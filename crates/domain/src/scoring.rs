//! Scoring: pass rates, weighted scores and points lost per index.
//!
//! The national evaluation counts compliant observations among applicable observations,
//! aggregated by index (测评项目). This module computes the same numbers for one inspection or
//! for a pool of inspections (a site, a site type, the whole county). Pure functions: no I/O.
//!
//! # Semantics
//!
//! - An **observation** is an answered, applicable item: a verdict item answered 符合 or 不符合,
//!   a count item answered with a count, a percent item answered with a percentage.
//!   - Verdict items: `Compliant` is compliant, `NonCompliant` is not.
//!   - Count items: compliant iff `count >= min`.
//!   - Percent items: compliant iff `percent >= min` (exact comparison, no tolerance).
//! - `ItemValue::NotApplicable` (不适用) is valid for every kind of item and is **not** an
//!   observation: it is counted in `not_applicable` and left out of every numerator and
//!   denominator.
//! - A template item without a scored answer is **pending**: not an observation.
//! - A result that cannot be scored is counted in **invalid** and otherwise ignored: an item
//!   code not in the template, a value of the wrong kind for the item (e.g. `Count` for a
//!   verdict item), a percentage outside 0–100 or NaN, or a second result for an item already
//!   answered in the same inspection (the first one is scored). The store rejects these
//!   before they get here; scoring never panics on them. So for one inspection,
//!   `applicable + not_applicable + pending` = number of template items.
//! - **pass rate** = compliant / applicable, a fraction in 0..=1.
//! - **weighted score** = 100 × Σ weight(compliant) / Σ weight(applicable), on 0..=100.
//! - **points lost** by an item or an index = 100 × Σ weight(its non-compliant observations) /
//!   Σ weight(applicable), so `weighted_score + Σ points_lost = 100` (up to float error).
//! - Both rates are `None` when there are no observations (an empty or all-不适用 inspection);
//!   the weighted score is also `None`, and points lost are 0, if the applicable weights sum to
//!   0 or less (weights are meant to be > 0). No result is ever NaN from an empty input.
//! - **Pooling**: a pool of inspections is scored as if it were one big inspection: Σ compliant
//!   / Σ applicable and Σ compliant weights / Σ applicable weights across all of them. A small
//!   inspection therefore counts less than a big one; rates are never averaged.
//! - Items are pooled by (template id, item code), so the versions of one template pool
//!   together; indexes are pooled by index code, across templates. Labels (texts, index names)
//!   are those of the last inspection added that observed the item. Only items and indexes
//!   with at least one observation are listed.
//! - **Which inspections count** in pooled scores (a site, a site type, the county, the
//!   dashboard): only finished ones, never a discarded one ([`counts_in_scores`]). An
//!   inspection in progress has only its own live score.

use fieldcheck_protocol::{InspectionRecord, ItemKind, ItemValue, Template, TemplateItem};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The score of one inspection, or of a pool of inspections scored as one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Score {
    /// Number of inspections pooled (1 for [`score_inspection`]).
    pub inspections: usize,
    /// Observations: answered, applicable items.
    pub applicable: usize,
    /// Compliant observations (≤ `applicable`).
    pub compliant: usize,
    /// Items answered 不适用.
    pub not_applicable: usize,
    /// Template items without a scored answer.
    pub pending: usize,
    /// Results that could not be scored and were ignored.
    pub invalid: usize,
    /// `compliant / applicable` in 0..=1; `None` when there are no observations.
    pub pass_rate: Option<f64>,
    /// 100 × compliant weight / applicable weight, in 0..=100; `None` when there are no
    /// observations (or their weights sum to 0 or less).
    pub weighted_score: Option<f64>,
    /// Observed indexes, by `points_lost` descending, then `index_code`.
    pub by_index: Vec<IndexScore>,
    /// Observed items, by `points_lost` descending, then template id and item code: the items
    /// that lose the most come first.
    pub by_item: Vec<ItemScore>,
}

/// The part of a [`Score`] that falls on one index (测评项目).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct IndexScore {
    /// Index code, e.g. `II-26`.
    pub index_code: String,
    /// Chinese name, e.g. 城市规划建设.
    pub index_name_zh: String,
    /// English name.
    pub index_name_en: String,
    /// Observations of the index's items.
    pub applicable: usize,
    /// Compliant ones among them.
    pub compliant: usize,
    /// Points of the weighted score lost on this index; these sum with the weighted score to 100.
    pub points_lost: f64,
}

/// The part of a [`Score`] that falls on one template item.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ItemScore {
    /// Id of the template the item belongs to.
    pub template_id: String,
    /// Item code within the template.
    pub item_code: String,
    /// Code of the item's index.
    pub index_code: String,
    /// Chinese item text (测评内容).
    pub text_zh: String,
    /// English title.
    pub title_en: String,
    /// How many times the item was observed.
    pub observed: usize,
    /// How many of those observations were non-compliant.
    pub non_compliant: usize,
    /// Points of the weighted score lost on this item; these sum with the weighted score to 100.
    pub points_lost: f64,
}

/// Points of the weighted score that non-compliant weight `lost_weight` costs a pool whose
/// applicable weights sum to `pool_weight`: 100 × lost / pool (so a pool's score and the points
/// lost by all of its items add up to 100); 0 when the pool weighs 0 or less, never NaN.
#[must_use]
pub fn points_lost(lost_weight: f64, pool_weight: f64) -> f64 {
    if pool_weight > 0.0 {
        100.0 * lost_weight / pool_weight
    } else {
        0.0
    }
}

/// Whether an inspection's answers count in pooled scores: it was finished and not discarded.
/// One started by accident, or still in progress, counts nowhere but in its own live score.
#[must_use]
pub fn counts_in_scores(inspection: &InspectionRecord) -> bool {
    inspection.finished_at.is_some() && inspection.discarded_at.is_none()
}

/// Scores one inspection: `results` are (item code, answer) pairs, normally one per answered
/// item. Never panics, whatever the results hold (see the module doc for what is invalid).
#[must_use]
pub fn score_inspection<S: AsRef<str>>(template: &Template, results: &[(S, ItemValue)]) -> Score {
    let mut pool = ScoreAggregate::default();
    pool.add(template, results);
    pool.finish()
}

/// Scores inspections grouped by a key (a site id, a site type code...): each group is pooled
/// as one [`ScoreAggregate`]. Keys without inspections do not appear.
#[must_use]
pub fn aggregate_by<'a, K: Ord, S: AsRef<str> + 'a>(
    inspections: impl IntoIterator<Item = (K, &'a Template, &'a [(S, ItemValue)])>,
) -> BTreeMap<K, Score> {
    let mut pools: BTreeMap<K, ScoreAggregate> = BTreeMap::new();
    for (key, template, results) in inspections {
        pools.entry(key).or_default().add(template, results);
    }
    pools
        .into_iter()
        .map(|(key, pool)| (key, pool.finish()))
        .collect()
}

/// A pool of inspections being scored as one: [`add`](Self::add) each inspection, then
/// [`finish`](Self::finish).
#[derive(Clone, Debug, Default)]
pub struct ScoreAggregate {
    inspections: usize,
    not_applicable: usize,
    pending: usize,
    invalid: usize,
    /// Observations by (template id, item code).
    items: BTreeMap<(String, String), ItemTally>,
}

/// What the pool observed of one item.
#[derive(Clone, Debug)]
struct ItemTally {
    /// The item as in the last inspection that observed it (for its labels).
    item: TemplateItem,
    observed: usize,
    non_compliant: usize,
    compliant_weight: f64,
    lost_weight: f64,
}

/// A scorable answer.
enum Answer {
    NotApplicable,
    Observed { compliant: bool },
}

/// Judges a value against an item's kind; `None` when the value does not fit the kind.
fn judge(kind: ItemKind, value: ItemValue) -> Option<Answer> {
    let compliant = match (kind, value) {
        (_, ItemValue::NotApplicable) => return Some(Answer::NotApplicable),
        (ItemKind::Verdict, ItemValue::Compliant) => true,
        (ItemKind::Verdict, ItemValue::NonCompliant) => false,
        (ItemKind::Count { min }, ItemValue::Count(n)) => n >= min,
        (ItemKind::Percent { min }, ItemValue::Percent(p)) if (0.0..=100.0).contains(&p) => {
            p >= min
        }
        _ => return None,
    };
    Some(Answer::Observed { compliant })
}

impl ScoreAggregate {
    /// Adds one inspection made against `template`, with its (item code, answer) results.
    /// Never panics, whatever the results hold.
    pub fn add<S: AsRef<str>>(&mut self, template: &Template, results: &[(S, ItemValue)]) {
        self.inspections += 1;
        let mut answered = vec![false; template.items.len()];
        for (code, value) in results {
            let scored = template
                .items
                .iter()
                .position(|item| item.code == code.as_ref())
                .filter(|&i| !answered[i])
                .and_then(|i| Some((i, judge(template.items[i].kind, *value)?)));
            let Some((i, answer)) = scored else {
                self.invalid += 1;
                continue;
            };
            answered[i] = true;
            let item = &template.items[i];
            let compliant = match answer {
                Answer::NotApplicable => {
                    self.not_applicable += 1;
                    continue;
                }
                Answer::Observed { compliant } => compliant,
            };
            let tally = self
                .items
                .entry((template.id.clone(), item.code.clone()))
                .or_insert_with(|| ItemTally {
                    item: item.clone(),
                    observed: 0,
                    non_compliant: 0,
                    compliant_weight: 0.0,
                    lost_weight: 0.0,
                });
            tally.item.clone_from(item);
            tally.observed += 1;
            if compliant {
                tally.compliant_weight += item.weight;
            } else {
                tally.non_compliant += 1;
                tally.lost_weight += item.weight;
            }
        }
        self.pending += answered.iter().filter(|&&a| !a).count();
    }

    /// The pool's score (see the module doc for the definitions).
    #[must_use]
    pub fn finish(self) -> Score {
        let tallies = self.items.values();
        let applicable: usize = tallies.clone().map(|t| t.observed).sum();
        let non_compliant: usize = tallies.clone().map(|t| t.non_compliant).sum();
        let compliant_weight: f64 = tallies.clone().map(|t| t.compliant_weight).sum();
        let total_weight = compliant_weight + tallies.map(|t| t.lost_weight).sum::<f64>();
        let weight_ok = applicable > 0 && total_weight > 0.0;
        let points = |weight: f64| {
            if weight_ok {
                points_lost(weight, total_weight)
            } else {
                0.0
            }
        };

        let mut by_index: BTreeMap<&str, IndexScore> = BTreeMap::new();
        let mut by_item = Vec::with_capacity(self.items.len());
        for ((template_id, item_code), t) in &self.items {
            let index = by_index
                .entry(&t.item.index_code)
                .or_insert_with(|| IndexScore {
                    index_code: t.item.index_code.clone(),
                    index_name_zh: t.item.index_name_zh.clone(),
                    index_name_en: t.item.index_name_en.clone(),
                    applicable: 0,
                    compliant: 0,
                    points_lost: 0.0,
                });
            index.applicable += t.observed;
            index.compliant += t.observed - t.non_compliant;
            index.points_lost += points(t.lost_weight);
            by_item.push(ItemScore {
                template_id: template_id.clone(),
                item_code: item_code.clone(),
                index_code: t.item.index_code.clone(),
                text_zh: t.item.text_zh.clone(),
                title_en: t.item.title_en.clone(),
                observed: t.observed,
                non_compliant: t.non_compliant,
                points_lost: points(t.lost_weight),
            });
        }
        let mut by_index: Vec<IndexScore> = by_index.into_values().collect();
        // Both lists are already in code order, and the sorts are stable.
        by_index.sort_by(|a, b| b.points_lost.total_cmp(&a.points_lost));
        by_item.sort_by(|a, b| b.points_lost.total_cmp(&a.points_lost));

        Score {
            inspections: self.inspections,
            applicable,
            compliant: applicable - non_compliant,
            not_applicable: self.not_applicable,
            pending: self.pending,
            invalid: self.invalid,
            pass_rate: (applicable > 0)
                .then(|| (applicable - non_compliant) as f64 / applicable as f64),
            weighted_score: weight_ok.then(|| 100.0 * compliant_weight / total_weight),
            by_index,
            by_item,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ItemValue::{Compliant as C, NonCompliant as Nc, NotApplicable as Na};

    fn item(code: &str, index: &str, kind: ItemKind, weight: f64) -> TemplateItem {
        TemplateItem {
            code: code.into(),
            index_code: index.into(),
            index_name_zh: format!("测评项目{index}"),
            index_name_en: format!("Index {index}"),
            text_zh: format!("内容{code}"),
            title_en: format!("Item {code}"),
            standard_zh: "标准".into(),
            standard_en: None,
            subcategory: None,
            unit: None,
            kind,
            weight,
            photo_required: false,
        }
    }

    fn template(id: &str, items: Vec<TemplateItem>) -> Template {
        Template {
            id: id.into(),
            version: 1,
            site_type: id.into(),
            name_zh: "模板".into(),
            name_en: "Template".into(),
            items,
        }
    }

    /// Four verdict items: I-1 holds A1 (weight 2) and A2 (1); I-2 holds B1 (3) and B2 (4).
    fn verdicts() -> Template {
        template(
            "alley",
            vec![
                item("A1", "I-1", ItemKind::Verdict, 2.0),
                item("A2", "I-1", ItemKind::Verdict, 1.0),
                item("B1", "I-2", ItemKind::Verdict, 3.0),
                item("B2", "I-2", ItemKind::Verdict, 4.0),
            ],
        )
    }

    fn assert_close(actual: f64, expected: f64) {
        assert!(
            (actual - expected).abs() < 1e-9,
            "{actual} is not {expected}"
        );
    }

    /// (index code, applicable, compliant, points lost) of each index, in order.
    fn indexes(score: &Score) -> Vec<(&str, usize, usize, f64)> {
        score
            .by_index
            .iter()
            .map(|i| {
                (
                    i.index_code.as_str(),
                    i.applicable,
                    i.compliant,
                    i.points_lost,
                )
            })
            .collect()
    }

    fn assert_sums_to_100(score: &Score) {
        let lost: f64 = score.by_index.iter().map(|i| i.points_lost).sum();
        assert_close(score.weighted_score.unwrap() + lost, 100.0);
        let lost: f64 = score.by_item.iter().map(|i| i.points_lost).sum();
        assert_close(score.weighted_score.unwrap() + lost, 100.0);
    }

    #[test]
    fn weighted_verdicts_across_two_indexes() {
        let s = score_inspection(&verdicts(), &[("A1", C), ("A2", Nc), ("B1", Nc), ("B2", C)]);
        assert_eq!(
            (s.applicable, s.compliant, s.pending, s.invalid),
            (4, 2, 0, 0)
        );
        // 2 / 4
        assert_close(s.pass_rate.unwrap(), 0.5);
        // compliant weight A1 2 + B2 4 = 6, applicable weight 2+1+3+4 = 10: 100 × 6/10
        assert_close(s.weighted_score.unwrap(), 60.0);
        // I-2 loses B1: 100 × 3/10 = 30; I-1 loses A2: 100 × 1/10 = 10
        assert_eq!(indexes(&s), vec![("I-2", 2, 1, 30.0), ("I-1", 2, 1, 10.0)]);
        assert_eq!(s.by_index[0].index_name_zh, "测评项目I-2");
        assert_eq!(s.by_index[0].index_name_en, "Index I-2");
        // 60 + 30 + 10
        assert_sums_to_100(&s);
    }

    #[test]
    fn not_applicable_leaves_both_numerator_and_denominator() {
        let s = score_inspection(
            &verdicts(),
            &[("A1", C), ("A2", Na), ("B1", Nc), ("B2", Na)],
        );
        assert_eq!((s.applicable, s.compliant, s.not_applicable), (2, 1, 2));
        assert_eq!(s.pending, 0);
        // 1 / 2
        assert_close(s.pass_rate.unwrap(), 0.5);
        // compliant weight A1 2, applicable weight A1 2 + B1 3 = 5: 100 × 2/5
        assert_close(s.weighted_score.unwrap(), 40.0);
        // I-2 loses B1: 100 × 3/5 = 60; I-1 loses nothing
        assert_eq!(indexes(&s), vec![("I-2", 1, 0, 60.0), ("I-1", 1, 1, 0.0)]);
        // 40 + 60
        assert_sums_to_100(&s);
    }

    #[test]
    fn count_item_is_compliant_from_its_minimum() {
        let t = template(
            "market",
            vec![
                item("M1", "I-3", ItemKind::Count { min: 5 }, 1.0),
                item("M2", "I-3", ItemKind::Verdict, 1.0),
            ],
        );
        // 4 < 5: 0 of 2 observations, 100 × 0/2 = 0
        let s = score_inspection(&t, &[("M1", ItemValue::Count(4)), ("M2", Nc)]);
        assert_eq!((s.applicable, s.compliant), (2, 0));
        assert_close(s.weighted_score.unwrap(), 0.0);
        // 5 ≥ 5: 1 of 2, 100 × 1/2 = 50
        let s = score_inspection(&t, &[("M1", ItemValue::Count(5)), ("M2", Nc)]);
        assert_eq!((s.applicable, s.compliant), (2, 1));
        assert_close(s.pass_rate.unwrap(), 0.5);
        assert_close(s.weighted_score.unwrap(), 50.0);
    }

    #[test]
    fn percent_item_is_compliant_from_its_threshold() {
        let t = template(
            "road",
            vec![item("L1", "I-4", ItemKind::Percent { min: 95.0 }, 2.0)],
        );
        // 94.9 < 95: 0 of 1
        let s = score_inspection(&t, &[("L1", ItemValue::Percent(94.9))]);
        assert_eq!((s.applicable, s.compliant), (1, 0));
        assert_close(s.pass_rate.unwrap(), 0.0);
        assert_close(s.weighted_score.unwrap(), 0.0);
        assert_eq!(indexes(&s), vec![("I-4", 1, 0, 100.0)]);
        // 95.0 ≥ 95: 1 of 1
        let s = score_inspection(&t, &[("L1", ItemValue::Percent(95.0))]);
        assert_eq!((s.applicable, s.compliant), (1, 1));
        assert_close(s.pass_rate.unwrap(), 1.0);
        assert_close(s.weighted_score.unwrap(), 100.0);
        assert_eq!(indexes(&s), vec![("I-4", 1, 1, 0.0)]);
    }

    #[test]
    fn empty_inspection_has_no_rates() {
        let s = score_inspection::<&str>(&verdicts(), &[]);
        assert_eq!(
            (s.inspections, s.applicable, s.compliant, s.pending),
            (1, 0, 0, 4)
        );
        assert_eq!((s.pass_rate, s.weighted_score), (None, None));
        assert!(s.by_index.is_empty() && s.by_item.is_empty());

        let s = score_inspection::<String>(&template("none", vec![]), &[]);
        assert_eq!((s.applicable, s.pending), (0, 0));
        assert_eq!((s.pass_rate, s.weighted_score), (None, None));
    }

    #[test]
    fn all_not_applicable_has_no_rates() {
        let s = score_inspection(
            &verdicts(),
            &[("A1", Na), ("A2", Na), ("B1", Na), ("B2", Na)],
        );
        assert_eq!((s.applicable, s.not_applicable, s.pending), (0, 4, 0));
        assert_eq!((s.pass_rate, s.weighted_score), (None, None));
        assert!(s.by_index.is_empty());
    }

    #[test]
    fn zero_weights_give_no_weighted_score_and_no_nan() {
        let t = template("zero", vec![item("Z1", "I-9", ItemKind::Verdict, 0.0)]);
        let s = score_inspection(&t, &[("Z1", Nc)]);
        // 0 of 1 observed, but 0 applicable weight
        assert_eq!(s.pass_rate, Some(0.0));
        assert_eq!(s.weighted_score, None);
        assert_eq!(indexes(&s), vec![("I-9", 1, 0, 0.0)]);
    }

    #[test]
    fn invalid_results_are_counted_and_ignored() {
        let t = template(
            "mixed",
            vec![
                item("V1", "I-1", ItemKind::Verdict, 1.0),
                item("N1", "I-1", ItemKind::Count { min: 2 }, 1.0),
                item("P1", "I-2", ItemKind::Percent { min: 90.0 }, 1.0),
                item("V2", "I-2", ItemKind::Verdict, 1.0),
            ],
        );
        let results = [
            ("V1", ItemValue::Count(3)),       // wrong kind
            ("N1", C),                         // wrong kind
            ("P1", ItemValue::Count(99)),      // wrong kind
            ("P1", ItemValue::Percent(120.0)), // out of range
            ("P1", ItemValue::Percent(f64::NAN)),
            ("ZZ-99", C), // not in the template
            ("N1", Na),   // 不适用 fits every kind
            ("V2", Nc),
            ("V2", C), // second answer to V2
        ];
        let s = score_inspection(&t, &results);
        assert_eq!(s.invalid, 7);
        // V2 observed; N1 不适用; V1 and P1 have no scored answer
        assert_eq!(
            (s.applicable, s.compliant, s.not_applicable, s.pending),
            (1, 0, 1, 2)
        );
        // 0 of 1
        assert_eq!(s.pass_rate, Some(0.0));
        assert_eq!(s.weighted_score, Some(0.0));
        assert_eq!(indexes(&s), vec![("I-2", 1, 0, 100.0)]);
    }

    #[test]
    fn weighted_score_and_points_lost_sum_to_100() {
        let t = template(
            "odd",
            vec![
                item("A", "I-1", ItemKind::Verdict, 0.1),
                item("B", "I-1", ItemKind::Verdict, 0.2),
                item("C", "I-2", ItemKind::Count { min: 3 }, 0.7),
                item("D", "I-3", ItemKind::Percent { min: 95.0 }, 1.3),
                item("E", "I-3", ItemKind::Verdict, 2.9),
            ],
        );
        let results = [
            ("A", Nc),
            ("B", C),
            ("C", ItemValue::Count(1)),
            ("D", ItemValue::Percent(80.0)),
            ("E", C),
        ];
        let s = score_inspection(&t, &results);
        // applicable weight 0.1+0.2+0.7+1.3+2.9 = 5.2; compliant B 0.2 + E 2.9 = 3.1
        assert_close(s.weighted_score.unwrap(), 100.0 * 3.1 / 5.2);
        // I-3 loses D: 100 × 1.3/5.2 = 25; I-2 loses C: 100 × 0.7/5.2; I-1 loses A: 100 × 0.1/5.2
        assert_close(s.by_index[0].points_lost, 25.0);
        assert_close(s.by_index[1].points_lost, 100.0 * 0.7 / 5.2);
        assert_close(s.by_index[2].points_lost, 100.0 * 0.1 / 5.2);
        assert_sums_to_100(&s);
    }

    /// X: A1 compliant, the rest 不适用 (1 observation). Y: only B2 compliant (4 observations).
    fn two_inspections() -> [(&'static str, Vec<(&'static str, ItemValue)>); 2] {
        [
            ("X", vec![("A1", C), ("A2", Na), ("B1", Na), ("B2", Na)]),
            ("Y", vec![("A1", Nc), ("A2", Nc), ("B1", Nc), ("B2", C)]),
        ]
    }

    #[test]
    fn pooling_sums_observations_rather_than_averaging_rates() {
        let t = verdicts();
        let mut pool = ScoreAggregate::default();
        for (_, results) in two_inspections() {
            pool.add(&t, &results);
        }
        let s = pool.finish();
        assert_eq!(
            (s.inspections, s.applicable, s.compliant, s.not_applicable),
            (2, 5, 2, 3)
        );
        // X 1/1 and Y 1/4 pool to (1+1)/(1+4) = 0.4, not the mean (1 + 0.25)/2 = 0.625
        assert_close(s.pass_rate.unwrap(), 0.4);
        // compliant weight X.A1 2 + Y.B2 4 = 6; applicable X 2 + Y 10 = 12: 100 × 6/12 = 50,
        // not the mean of X 100 and Y 40 = 70
        assert_close(s.weighted_score.unwrap(), 50.0);
        // I-1 loses Y.A1 2 + Y.A2 1: 100 × 3/12 = 25; I-2 loses Y.B1 3: 100 × 3/12 = 25;
        // tied, so by code
        assert_eq!(indexes(&s), vec![("I-1", 3, 1, 25.0), ("I-2", 2, 1, 25.0)]);
        assert_sums_to_100(&s);
    }

    #[test]
    fn items_are_ranked_by_points_lost_across_inspections() {
        let t = verdicts();
        let mut pool = ScoreAggregate::default();
        for (_, results) in two_inspections() {
            pool.add(&t, &results);
        }
        let s = pool.finish();
        let ranking: Vec<_> = s
            .by_item
            .iter()
            .map(|i| (i.item_code.as_str(), i.observed, i.non_compliant))
            .collect();
        // applicable weight 12 (as above). B1: 100 × 3/12 = 25; A1: 100 × 2/12 = 16.67;
        // A2: 100 × 1/12 = 8.33; B2: never non-compliant, 0
        assert_eq!(
            ranking,
            vec![("B1", 1, 1), ("A1", 2, 1), ("A2", 1, 1), ("B2", 1, 0)]
        );
        assert_close(s.by_item[0].points_lost, 25.0);
        assert_close(s.by_item[1].points_lost, 100.0 * 2.0 / 12.0);
        assert_close(s.by_item[2].points_lost, 100.0 * 1.0 / 12.0);
        assert_close(s.by_item[3].points_lost, 0.0);
        assert_eq!(s.by_item[0].template_id, "alley");
        assert_eq!(s.by_item[0].index_code, "I-2");
        assert_eq!(s.by_item[0].text_zh, "内容B1");
    }

    #[test]
    fn aggregate_by_groups_per_key() {
        let alley = verdicts();
        let market = template(
            "market",
            vec![item("M1", "I-3", ItemKind::Count { min: 5 }, 1.0)],
        );
        let [(_, x), (_, y)] = two_inspections();
        let m = vec![("M1", ItemValue::Count(7))];
        let by_site = aggregate_by([
            ("site-1", &alley, x.as_slice()),
            ("site-2", &market, m.as_slice()),
            ("site-1", &alley, y.as_slice()),
        ]);
        assert_eq!(by_site.len(), 2);
        // site-1 pools X and Y: 2/5, as above
        assert_eq!(by_site["site-1"].inspections, 2);
        assert_close(by_site["site-1"].pass_rate.unwrap(), 0.4);
        assert_close(by_site["site-1"].weighted_score.unwrap(), 50.0);
        // site-2: 7 ≥ 5, 1/1
        assert_eq!(by_site["site-2"].inspections, 1);
        assert_close(by_site["site-2"].weighted_score.unwrap(), 100.0);

        let by_type = aggregate_by(
            [(&alley, &x), (&alley, &y), (&market, &m)]
                .map(|(t, r)| (t.site_type.as_str(), t, r.as_slice())),
        );
        assert_eq!(by_type["alley"], by_site["site-1"]);
        assert_eq!(by_type["market"], by_site["site-2"]);
    }
}
