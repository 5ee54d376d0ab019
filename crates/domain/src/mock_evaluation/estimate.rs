//! Estimating the county's score, by index and overall, from the sampled sites' answers.
//!
//! The estimator and its interval are described in the parent module's doc.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

/// One answer of a sampled site, as scoring counts it: an applicable, scored observation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    /// Index code (测评项目) of the item.
    pub index_code: String,
    /// The item's weight (> 0; a negative or non-finite weight is ignored).
    pub weight: f64,
    /// Whether it complied.
    pub compliant: bool,
}

/// A sampled site and its scored answers (不适用 and unscored answers left out, as scoring
/// leaves them out).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SiteAnswers {
    /// The site.
    pub site_id: Uuid,
    /// Its site type code (its stratum).
    pub site_type: String,
    /// Its answers.
    pub answers: Vec<Answer>,
}

/// An estimated number of points with its 95 % interval, rounded to 0.01.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Estimated {
    /// The point estimate.
    pub value: f64,
    /// `(low, high)`, within 0–100 and around `value`; `None` when the sample cannot tell
    /// (a type with a single sampled site that is not its whole population).
    pub interval: Option<(f64, f64)>,
}

/// The estimate for one index (测评项目).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IndexEstimate {
    /// Index code.
    pub index_code: String,
    /// The index's own score: 100 − 100 × its non-compliant weight / its applicable weight.
    pub score: Estimated,
    /// Points the county's overall score loses on this index: 100 × its non-compliant weight /
    /// the applicable weight of every index. These and the overall score sum to 100 (up to
    /// rounding).
    pub points_lost: Estimated,
}

/// The county's estimated score.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// The overall score: 100 − Σ points lost.
    pub score: Estimated,
    /// Each index with applicable weight in the sample, most points lost first, ties by code.
    pub by_index: Vec<IndexEstimate>,
    /// Sampled sites.
    pub sites: usize,
    /// Degrees of freedom of the interval: sampled sites − sampled types.
    pub degrees_of_freedom: usize,
    /// Types with sites in the population but none sampled: the estimate does not speak for
    /// them (it is the score of the sampled types' sites).
    pub unsampled_types: Vec<String>,
}

/// Why no estimate can be made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EstimateFault {
    /// A sampled site's type has no population size.
    #[error("site type {0} has no population size")]
    UnknownSiteType(String),
    /// More sites of a type were sampled than the type has.
    #[error("more sites of type {0} sampled than it has")]
    MoreThanPopulation(String),
    /// A site appears twice in the sample.
    #[error("site {0} sampled twice")]
    DuplicateSite(Uuid),
    /// No sampled answer carries weight: there is nothing to score.
    #[error("no applicable answer in the sample")]
    NothingApplicable,
}

/// A sampled site's (non-compliant, applicable) weight, overall and by index.
#[derive(Default)]
struct SiteWeights {
    total: (f64, f64),
    by_index: BTreeMap<String, (f64, f64)>,
}

/// One sampled type: its population and its sites' weights.
struct Stratum {
    population: f64,
    sites: Vec<SiteWeights>,
}

/// A ratio `R̂` and its standard error (`None`: not estimable).
struct Ratio {
    value: f64,
    se: Option<f64>,
}

/// Estimates the county's score by index and overall from the sampled sites' answers, each
/// type weighted by `population_by_type` (its number of sites). See the module doc for the
/// estimator and the interval. Sample order does not matter.
pub fn estimate(
    population_by_type: &BTreeMap<String, usize>,
    sample: &[SiteAnswers],
) -> Result<Estimate, EstimateFault> {
    let mut strata: BTreeMap<&str, Stratum> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    let mut indexes = BTreeSet::new();
    for site in sample {
        let population = *population_by_type
            .get(&site.site_type)
            .ok_or_else(|| EstimateFault::UnknownSiteType(site.site_type.clone()))?;
        if !seen.insert(site.site_id) {
            return Err(EstimateFault::DuplicateSite(site.site_id));
        }
        let stratum = strata.entry(&site.site_type).or_insert(Stratum {
            population: population as f64,
            sites: Vec::new(),
        });
        if stratum.sites.len() == population {
            return Err(EstimateFault::MoreThanPopulation(site.site_type.clone()));
        }
        let mut w = SiteWeights::default();
        for a in site
            .answers
            .iter()
            .filter(|a| a.weight.is_finite() && a.weight >= 0.0)
        {
            let lost = if a.compliant { 0.0 } else { a.weight };
            let index = w.by_index.entry(a.index_code.clone()).or_default();
            *index = (index.0 + lost, index.1 + a.weight);
            w.total = (w.total.0 + lost, w.total.1 + a.weight);
            indexes.insert(a.index_code.as_str());
        }
        stratum.sites.push(w);
    }
    let strata: Vec<Stratum> = strata.into_values().collect();
    let degrees_of_freedom = sample.len() - strata.len();
    let t = t_975(degrees_of_freedom);
    let overall = ratio(&strata, |s| s.total).ok_or(EstimateFault::NothingApplicable)?;

    let mut by_index: Vec<(IndexEstimate, f64)> = Vec::new();
    for code in indexes {
        let of = |s: &SiteWeights| s.by_index.get(code).copied().unwrap_or_default();
        let Some(own) = ratio(&strata, of) else {
            continue;
        };
        let share = ratio(&strata, |s| (of(s).0, s.total.1))
            .expect("the overall applicable weight is positive");
        by_index.push((
            IndexEstimate {
                index_code: code.to_owned(),
                score: points(&own, t, true),
                points_lost: points(&share, t, false),
            },
            share.value,
        ));
    }
    by_index.sort_by(|a, b| b.1.total_cmp(&a.1));

    let sampled: BTreeSet<&str> = sample.iter().map(|s| s.site_type.as_str()).collect();
    Ok(Estimate {
        score: points(&overall, t, true),
        by_index: by_index.into_iter().map(|(e, _)| e).collect(),
        sites: sample.len(),
        degrees_of_freedom,
        unsampled_types: population_by_type
            .iter()
            .filter(|(t, n)| **n > 0 && !sampled.contains(t.as_str()))
            .map(|(t, _)| t.clone())
            .collect(),
    })
}

/// The combined ratio estimate of Σ y / Σ x, where `yx` gives a site's `(y, x)`; `None` when
/// the estimated Σ x is not positive.
fn ratio(strata: &[Stratum], yx: impl Fn(&SiteWeights) -> (f64, f64)) -> Option<Ratio> {
    let expand = |s: &Stratum, f: &dyn Fn((f64, f64)) -> f64| {
        s.population / s.sites.len() as f64 * s.sites.iter().map(|w| f(yx(w))).sum::<f64>()
    };
    let y: f64 = strata.iter().map(|s| expand(s, &|p| p.0)).sum();
    let x: f64 = strata.iter().map(|s| expand(s, &|p| p.1)).sum();
    if x <= 0.0 || !x.is_finite() {
        return None;
    }
    let r = y / x;
    let mut variance = 0.0;
    for s in strata {
        let n = s.sites.len() as f64;
        if n >= s.population {
            continue; // a census of the type: no sampling error
        }
        if s.sites.len() < 2 {
            return Some(Ratio { value: r, se: None });
        }
        let e: Vec<f64> = s.sites.iter().map(&yx).map(|(y, x)| y - r * x).collect();
        let mean = e.iter().sum::<f64>() / n;
        let s2 = e.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
        variance += s.population.powi(2) * (1.0 - n / s.population) * s2 / n;
    }
    Some(Ratio {
        value: r,
        se: Some(variance.sqrt() / x),
    })
}

/// A ratio as points: `100 × (1 − R̂)` for a score, `100 × R̂` for points lost, with its
/// interval, rounded to 0.01.
fn points(r: &Ratio, t: f64, score: bool) -> Estimated {
    let value = if score {
        100.0 * (1.0 - r.value)
    } else {
        100.0 * r.value
    };
    let interval = r.se.map(|se| {
        let half = if se > 0.0 { t * 100.0 * se } else { 0.0 };
        (
            round2((value - half).clamp(0.0, 100.0)),
            round2((value + half).clamp(0.0, 100.0)),
        )
    });
    Estimated {
        value: round2(value),
        interval,
    }
}

/// `x` rounded to 0.01.
pub(crate) fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Student's t quantile at 97.5 % on `df` degrees of freedom: the `t` with `P(|T| ≤ t) = 0.95`,
/// found by bisection on the exact distribution function for whole degrees of freedom
/// (Abramowitz & Stegun 26.7.3–4) up to 1000, by the Cornish–Fisher expansion in `1/df`
/// beyond (error far below 1e-9 there). `df` 0 gives +∞.
pub(crate) fn t_975(df: usize) -> f64 {
    const Z: f64 = 1.959_963_984_540_054;
    if df == 0 {
        return f64::INFINITY;
    }
    if df > 1000 {
        let (v, z2) = (df as f64, Z * Z);
        let g1 = (z2 + 1.0) * Z / 4.0;
        let g2 = ((5.0 * z2 + 16.0) * z2 + 3.0) * Z / 96.0;
        let g3 = (((3.0 * z2 + 19.0) * z2 + 17.0) * z2 - 15.0) * Z / 384.0;
        return Z + g1 / v + g2 / v.powi(2) + g3 / v.powi(3);
    }
    // P(|T| ≤ t) grows with t, and t_975(1) ≈ 12.71 is the largest.
    let (mut low, mut high) = (0.0_f64, 13.0_f64);
    for _ in 0..64 {
        let mid = (low + high) / 2.0;
        if central_t(mid, df) < 0.95 {
            low = mid;
        } else {
            high = mid;
        }
    }
    (low + high) / 2.0
}

/// `P(|T| ≤ t)` for Student's t on `df` ≥ 1 degrees of freedom, with `θ = atan(t / √df)`:
/// odd `df`: (2/π)(θ + sin θ (cos θ + (2/3) cos³θ + … + (2·4…(df−3))/(3·5…(df−2)) cos^(df−2)θ));
/// even `df`: sin θ (1 + (1/2) cos²θ + … + (1·3…(df−3))/(2·4…(df−2)) cos^(df−2)θ).
fn central_t(t: f64, df: usize) -> f64 {
    let theta = (t / (df as f64).sqrt()).atan();
    let (sin, cos) = theta.sin_cos();
    let cos2 = cos * cos;
    // Terms go up to cos^(df−2); each multiplies the last by cos² · k / (k + 1).
    let series = |first: f64, mut k: usize| {
        let (mut term, mut sum) = (first, first);
        while k + 3 <= df {
            term *= cos2 * k as f64 / (k + 1) as f64;
            sum += term;
            k += 2;
        }
        sum
    };
    if df % 2 == 1 {
        let inner = if df == 1 { 0.0 } else { series(cos, 2) };
        std::f64::consts::FRAC_2_PI * (theta + sin * inner)
    } else {
        sin * series(1.0, 1)
    }
}
