//! Points lost by index (测评项目) for the county, each district and each street, from the
//! weights of scored answers (the scoring module's definition: 100 × the weight of the
//! non-compliant answers / the weight of all applicable answers of the pool, so a pool's score
//! and the points its indexes lose add up to 100).

use crate::scoring::points_lost;
use std::collections::BTreeMap;

/// The scored answers of one index at one place, summed: what the caller reads from its
/// scored answers (finished, not discarded inspections of the period).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IndexWeights<'a> {
    /// District of the inspected sites.
    pub district: &'a str,
    /// Street of the inspected sites.
    pub street: &'a str,
    /// The index's code, e.g. `II-20`.
    pub index_code: &'a str,
    /// Σ weight of the applicable answers.
    pub weight: f64,
    /// Σ weight of the non-compliant ones.
    pub lost_weight: f64,
}

/// The points one index lost in a pool.
#[derive(Clone, Debug, PartialEq)]
pub struct IndexLoss {
    /// The index's code.
    pub index_code: String,
    /// Points of the pool's weighted score lost on it.
    pub points_lost: f64,
}

/// Points lost by index per pool; each list has every index observed in the pool, most points
/// lost first, then by code.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IndexLosses {
    /// The whole county.
    pub county: Vec<IndexLoss>,
    /// Per district.
    pub by_district: BTreeMap<String, Vec<IndexLoss>>,
    /// Per (district, street).
    pub by_street: BTreeMap<(String, String), Vec<IndexLoss>>,
}

/// One pool's weights: total applicable weight, and (weight, lost weight) per index.
#[derive(Default)]
struct Pool(f64, BTreeMap<String, f64>);

impl Pool {
    fn add(&mut self, w: &IndexWeights) {
        self.0 += w.weight;
        *self.1.entry(w.index_code.to_string()).or_default() += w.lost_weight;
    }

    fn losses(self) -> Vec<IndexLoss> {
        let total = self.0;
        let mut list: Vec<IndexLoss> = self
            .1
            .into_iter()
            .map(|(index_code, lost)| IndexLoss {
                index_code,
                points_lost: points_lost(lost, total),
            })
            .collect();
        // In code order already; the sort is stable.
        list.sort_by(|a, b| b.points_lost.total_cmp(&a.points_lost));
        list
    }
}

/// Points lost by index for the county, each district and each street.
pub fn index_losses<'a>(rows: impl IntoIterator<Item = IndexWeights<'a>>) -> IndexLosses {
    let mut county = Pool::default();
    let mut districts: BTreeMap<String, Pool> = BTreeMap::new();
    let mut streets: BTreeMap<(String, String), Pool> = BTreeMap::new();
    for w in rows {
        county.add(&w);
        districts.entry(w.district.to_string()).or_default().add(&w);
        streets
            .entry((w.district.to_string(), w.street.to_string()))
            .or_default()
            .add(&w);
    }
    IndexLosses {
        county: county.losses(),
        by_district: districts
            .into_iter()
            .map(|(k, p)| (k, p.losses()))
            .collect(),
        by_street: streets.into_iter().map(|(k, p)| (k, p.losses())).collect(),
    }
}
