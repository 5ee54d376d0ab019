//! Which open problems are worth fixing first before the evaluators come.

use super::estimate::round2;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// An open problem (a finding not fixed yet) against a scored item.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OpenProblem {
    /// The finding.
    pub finding_id: Uuid,
    /// Index code (测评项目) of the item it fails.
    pub index_code: String,
    /// The item's weight: what its non-compliant answer costs.
    pub item_weight: f64,
    /// The applicable weight of the index in the pool being scored (all answers to the
    /// index's items), which the problem's answer is part of.
    pub index_weight: f64,
}

/// What fixing one open problem would recover.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Recoverable {
    /// The finding.
    pub finding_id: Uuid,
    /// Its index code.
    pub index_code: String,
    /// Points of the index's score recovered if its answer turned compliant:
    /// 100 × item weight / index weight, within 0–100, rounded to 0.01. A problem whose
    /// weights are not finite, or whose index weight is not positive, recovers 0.
    pub points: f64,
}

/// The open problems ranked by the points fixing each would recover (most first), ties (equal
/// to 0.01, as shown) by finding id. Fixing a non-compliant answer leaves the applicable weight
/// as it is and removes its weight from the non-compliant weight, so it recovers 100 × item
/// weight / applicable weight of the pool: of the index's score with the index's weight, as
/// here (pass the pool's total applicable weight as `index_weight` for points of the overall
/// score).
pub fn most_recoverable(open: &[OpenProblem]) -> Vec<Recoverable> {
    let mut ranked: Vec<Recoverable> = open
        .iter()
        .map(|p| {
            let usable = p.item_weight.is_finite() && p.index_weight.is_finite();
            let points = if usable && p.index_weight > 0.0 {
                (100.0 * p.item_weight / p.index_weight).clamp(0.0, 100.0)
            } else {
                0.0
            };
            Recoverable {
                finding_id: p.finding_id,
                index_code: p.index_code.clone(),
                points: round2(points),
            }
        })
        .collect();
    ranked.sort_by(|a, b| {
        b.points
            .total_cmp(&a.points)
            .then(a.finding_id.cmp(&b.finding_id))
    });
    ranked
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock_evaluation::sample::Stream;

    fn problem(id: u128, index: &str, item_weight: f64, index_weight: f64) -> OpenProblem {
        OpenProblem {
            finding_id: Uuid::from_u128(id),
            index_code: index.into(),
            item_weight,
            index_weight,
        }
    }

    #[test]
    fn a_heavy_item_in_a_thin_index_recovers_most() {
        // I-1: 3 of 10 → 30 points; I-2: 3 of 60 → 5; I-3: 1 of 4 → 25.
        let ranked = most_recoverable(&[
            problem(1, "I-2", 3.0, 60.0),
            problem(2, "I-1", 3.0, 10.0),
            problem(3, "I-3", 1.0, 4.0),
        ]);
        let got: Vec<(u128, f64)> = ranked
            .iter()
            .map(|r| (r.finding_id.as_u128(), r.points))
            .collect();
        assert_eq!(got, [(2, 30.0), (3, 25.0), (1, 5.0)]);
    }

    #[test]
    fn ties_go_by_finding_id_whatever_the_input_order() {
        // 100 × 1/3 and 100 × 0.1/0.3 are the same points, however the floats round.
        let mut open = vec![
            problem(9, "I-1", 1.0, 3.0),
            problem(4, "I-2", 0.1, 0.3),
            problem(7, "I-3", 2.0, 6.0),
        ];
        let ids =
            |r: Vec<Recoverable>| r.iter().map(|r| r.finding_id.as_u128()).collect::<Vec<_>>();
        assert_eq!(ids(most_recoverable(&open)), [4, 7, 9]);
        open.reverse();
        assert_eq!(ids(most_recoverable(&open)), [4, 7, 9]);
    }

    #[test]
    fn broken_weights_recover_nothing_and_never_more_than_the_index() {
        let ranked = most_recoverable(&[
            problem(1, "I-1", 1.0, 0.0),
            problem(2, "I-1", f64::NAN, 5.0),
            problem(3, "I-1", 1.0, f64::INFINITY),
            problem(4, "I-1", 8.0, 5.0),
        ]);
        let got: Vec<(u128, f64)> = ranked
            .iter()
            .map(|r| (r.finding_id.as_u128(), r.points))
            .collect();
        assert_eq!(got, [(4, 100.0), (1, 0.0), (2, 0.0), (3, 0.0)]);
    }

    /// Fixing each problem, one at a time, in a generated pool of answers and re-scoring the
    /// index shows what it really recovers; the ranking must follow it.
    #[test]
    fn the_ranking_follows_what_rescoring_recovers() {
        let mut s = Stream::new(5, 0);
        // A pool of answers: (index, weight, compliant), with open problems among the
        // non-compliant ones.
        let pool: Vec<(usize, f64, bool)> = (0..200)
            .map(|_| {
                let weight = 0.5 + 4.5 * s.unit();
                (s.below(4) as usize, weight, s.unit() < 0.8)
            })
            .collect();
        let index_score = |answers: &[(usize, f64, bool)], index: usize| {
            let of: Vec<_> = answers.iter().filter(|a| a.0 == index).collect();
            let all: f64 = of.iter().map(|a| a.1).sum();
            100.0 - 100.0 * of.iter().filter(|a| !a.2).map(|a| a.1).sum::<f64>() / all
        };
        let mut open = Vec::new();
        let mut truth = Vec::new();
        for (i, a) in pool.iter().enumerate().filter(|(_, a)| !a.2) {
            let index_weight: f64 = pool.iter().filter(|b| b.0 == a.0).map(|b| b.1).sum();
            open.push(problem(i as u128, &format!("I-{}", a.0), a.1, index_weight));
            let mut fixed = pool.clone();
            fixed[i].2 = true;
            let recovered = index_score(&fixed, a.0) - index_score(&pool, a.0);
            truth.push((i as u128, recovered));
        }
        assert!(open.len() > 20);
        let ranked = most_recoverable(&open);
        for r in &ranked {
            let (_, real) = truth
                .iter()
                .find(|t| t.0 == r.finding_id.as_u128())
                .unwrap();
            assert!((r.points - real).abs() <= 0.005 + 1e-9, "{r:?} vs {real}");
        }
        for pair in ranked.windows(2) {
            assert!(pair[0].points >= pair[1].points);
        }
    }
}
