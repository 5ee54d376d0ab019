//! The estimator against a generated county whose full-data score is known from
//! [`crate::scoring`].

use super::estimate::t_975;
use super::sample::Stream;
use super::*;
use crate::scoring::ScoreAggregate;
use fieldcheck_protocol::{ItemKind, ItemValue, Template, TemplateItem};
use std::collections::BTreeMap;
use uuid::Uuid;

/// A generated site: its id, its type and its answers by item code.
type Site = (Uuid, String, Vec<(String, ItemValue)>);

/// A generated county: a template per site type and every site's answers.
struct County {
    templates: BTreeMap<String, Template>,
    sites: Vec<Site>,
}

/// Site types: (code, number of sites, compliance rate). Far from equal rates, so weighting
/// strata by their population matters.
const TYPES: [(&str, usize, f64); 4] = [
    ("market", 60, 0.55),
    ("residential", 95, 0.72),
    ("road", 140, 0.92),
    ("school", 45, 0.84),
];
const INDEXES: usize = 5;

fn item(code: String, index: usize, weight: f64) -> TemplateItem {
    TemplateItem {
        code,
        index_code: format!("I-{index}"),
        index_name_zh: format!("测评项目{index}"),
        index_name_en: format!("Index {index}"),
        text_zh: "内容".into(),
        title_en: "Item".into(),
        standard_zh: "标准".into(),
        standard_en: None,
        subcategory: None,
        unit: None,
        kind: ItemKind::Verdict,
        weight,
        photo_required: false,
    }
}

/// A county from `seed`: each type's template has 10 items over the indexes with weights 0.5 to
/// 3; each site has its own compliance propensity around its type's rate (±0.15), and answers
/// each item 不适用 one time in ten, else 符合 with its propensity.
fn county(seed: u64) -> County {
    let mut s = Stream::new(seed, 0);
    let mut templates = BTreeMap::new();
    let mut sites = Vec::new();
    let mut next_id = 1u128;
    for (site_type, count, rate) in TYPES {
        let items = (0..10)
            .map(|k| {
                let index = 1 + s.below(INDEXES as u64) as usize;
                item(
                    format!("{site_type}-{k}"),
                    index,
                    0.5 + 0.5 * s.below(6) as f64,
                )
            })
            .collect();
        let template = Template {
            id: site_type.into(),
            version: 1,
            site_type: site_type.into(),
            name_zh: "模板".into(),
            name_en: "Template".into(),
            items,
        };
        for _ in 0..count {
            let propensity = (rate + 0.3 * (s.unit() - 0.5)).clamp(0.0, 1.0);
            let answers = template
                .items
                .iter()
                .map(|i| {
                    let value = if s.unit() < 0.1 {
                        ItemValue::NotApplicable
                    } else if s.unit() < propensity {
                        ItemValue::Compliant
                    } else {
                        ItemValue::NonCompliant
                    };
                    (i.code.clone(), value)
                })
                .collect();
            sites.push((Uuid::from_u128(next_id), site_type.to_owned(), answers));
            next_id += 1;
        }
        templates.insert(site_type.to_owned(), template);
    }
    County { templates, sites }
}

impl County {
    fn populations(&self) -> BTreeMap<String, usize> {
        TYPES.iter().map(|&(t, n, _)| (t.to_owned(), n)).collect()
    }

    fn by_type(&self) -> BTreeMap<String, Vec<Uuid>> {
        let mut map: BTreeMap<String, Vec<Uuid>> = BTreeMap::new();
        for (id, t, _) in &self.sites {
            map.entry(t.clone()).or_default().push(*id);
        }
        map
    }

    /// The pooled score of `sites` (all, or only the answers to `index`), by scoring.rs.
    fn pooled(&self, sites: &[Uuid], index: Option<&str>) -> crate::scoring::Score {
        let mut pool = ScoreAggregate::default();
        for (_, t, answers) in self.sites.iter().filter(|s| sites.contains(&s.0)) {
            let template = &self.templates[t];
            let kept: Vec<_> = answers
                .iter()
                .filter(|(code, _)| {
                    index.is_none_or(|x| {
                        template
                            .items
                            .iter()
                            .any(|i| &i.code == code && i.index_code == x)
                    })
                })
                .cloned()
                .collect();
            pool.add(template, &kept);
        }
        pool.finish()
    }

    fn all_ids(&self) -> Vec<Uuid> {
        self.sites.iter().map(|s| s.0).collect()
    }

    /// The sampled sites' scored answers, as the caller of [`estimate`] gathers them.
    fn answers(&self, ids: &[Uuid]) -> Vec<SiteAnswers> {
        self.sites
            .iter()
            .filter(|s| ids.contains(&s.0))
            .map(|(id, t, answers)| SiteAnswers {
                site_id: *id,
                site_type: t.clone(),
                answers: answers
                    .iter()
                    .filter(|(_, v)| *v != ItemValue::NotApplicable)
                    .map(|(code, v)| {
                        let item = self.templates[t].items.iter().find(|i| &i.code == code);
                        let item = item.unwrap();
                        Answer {
                            index_code: item.index_code.clone(),
                            weight: item.weight,
                            compliant: *v == ItemValue::Compliant,
                        }
                    })
                    .collect(),
            })
            .collect()
    }

    /// The estimate from a sample of `size` sites per type drawn with `seed`.
    fn mock(&self, size: usize, seed: u64) -> (Vec<Uuid>, Estimate) {
        let sizes = TYPES
            .iter()
            .map(|&(t, _, _)| (t.to_owned(), size))
            .collect();
        let drawn: Vec<Uuid> = draw_sample(&self.by_type(), &sizes, seed)
            .into_iter()
            .flat_map(|(_, ids)| ids)
            .collect();
        let e = estimate(&self.populations(), &self.answers(&drawn)).unwrap();
        (drawn, e)
    }
}

fn contains(interval: Option<(f64, f64)>, x: f64) -> bool {
    let (low, high) = interval.expect("an interval");
    (low..=high).contains(&round2(x))
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn width(e: &Estimated) -> f64 {
    let (low, high) = e.interval.unwrap();
    high - low
}

#[test]
fn a_census_gives_the_full_data_score_with_no_uncertainty() {
    let c = county(1);
    let (_, e) = c.mock(1000, 0);
    let truth = c.pooled(&c.all_ids(), None);
    let score = truth.weighted_score.unwrap();
    assert_eq!(e.score.value, round2(score));
    assert_eq!(e.score.interval, Some((round2(score), round2(score))));
    assert_eq!(e.by_index.len(), truth.by_index.len());
    for (got, want) in e.by_index.iter().zip(&truth.by_index) {
        assert_eq!(
            got.index_code, want.index_code,
            "same order: most lost first"
        );
        assert_eq!(got.points_lost.value, round2(want.points_lost));
        let own = c.pooled(&c.all_ids(), Some(&want.index_code));
        assert_eq!(got.score.value, round2(own.weighted_score.unwrap()));
    }
    assert_eq!((e.sites, e.degrees_of_freedom), (340, 336));
}

#[test]
fn a_proportional_sample_scores_as_its_pooled_answers() {
    let c = county(2);
    // One site in five of every type: 12, 19, 28, 9.
    let sizes = TYPES
        .iter()
        .map(|&(t, n, _)| (t.to_owned(), n / 5))
        .collect();
    for seed in 0..10 {
        let drawn: Vec<Uuid> = draw_sample(&c.by_type(), &sizes, seed)
            .into_iter()
            .flat_map(|(_, ids)| ids)
            .collect();
        let e = estimate(&c.populations(), &c.answers(&drawn)).unwrap();
        let pooled = c.pooled(&drawn, None);
        assert_eq!(e.score.value, round2(pooled.weighted_score.unwrap()));
        for want in &pooled.by_index {
            let got = e.by_index.iter().find(|i| i.index_code == want.index_code);
            assert_eq!(got.unwrap().points_lost.value, round2(want.points_lost));
        }
    }
}

#[test]
fn the_full_data_score_lies_in_the_interval_for_most_samples() {
    let c = county(3);
    let truth = c.pooled(&c.all_ids(), None).weighted_score.unwrap();
    let (mut covered, mut estimates, mut naive) = (0, Vec::new(), Vec::new());
    let mut index_covered: BTreeMap<String, usize> = BTreeMap::new();
    for seed in 0..100 {
        // 15 of each type: far from proportional (15 of 45 schools, 15 of 140 roads).
        let (drawn, e) = c.mock(15, seed);
        covered += usize::from(contains(e.score.interval, truth));
        estimates.push(e.score.value);
        naive.push(c.pooled(&drawn, None).weighted_score.unwrap());
        for i in &e.by_index {
            let own = c.pooled(&c.all_ids(), Some(&i.index_code));
            let hit = contains(i.score.interval, own.weighted_score.unwrap());
            *index_covered.entry(i.index_code.clone()).or_default() += usize::from(hit);
        }
    }
    eprintln!("overall: {covered} of 100 intervals hold {truth:.2}; by index: {index_covered:?}");
    assert!(covered >= 85, "{covered} of 100");
    // An index seen on one item of a type (I-3 on roads) is where a Wald interval is weakest:
    // a sample of 15 roads with no failure on it shows that type no spread (see the module
    // doc). Still, most intervals must hold the index's score.
    for (index, hits) in &index_covered {
        assert!(*hits >= 70, "{index}: {hits} of 100");
    }
    // Weighted by population the estimate centres on the truth; pooling the sample as is
    // over-counts the market and the school, which comply less than the many roads.
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    eprintln!(
        "mean estimate {:.2}, mean naive pooled {:.2}, truth {truth:.2}",
        mean(&estimates),
        mean(&naive)
    );
    assert!((mean(&estimates) - truth).abs() < 0.6);
    assert!(truth - mean(&naive) > 1.5);
}

#[test]
fn the_interval_shrinks_as_the_sample_grows() {
    let c = county(4);
    let mean_width = |size: usize| {
        (0..30)
            .map(|seed| width(&c.mock(size, seed).1.score))
            .sum::<f64>()
            / 30.0
    };
    let widths: Vec<f64> = [6, 12, 24, 40].into_iter().map(mean_width).collect();
    eprintln!("mean 95 % widths for 6, 12, 24, 40 sites a type: {widths:.2?}");
    for pair in widths.windows(2) {
        assert!(pair[1] < pair[0], "{widths:?}");
    }
    // Quadrupling the sample at least halves the width (more, with the finite population).
    assert!(widths[2] < widths[0] / 2.0, "{widths:?}");
    assert_eq!(width(&c.mock(1000, 0).1.score), 0.0);
}

#[test]
fn index_points_lost_and_the_score_make_100() {
    let c = county(5);
    for seed in 0..20 {
        let (_, e) = c.mock(10, seed);
        let lost: f64 = e.by_index.iter().map(|i| i.points_lost.value).sum();
        // Each rounded value is off by at most 0.005.
        let slack = 0.005 * (e.by_index.len() + 1) as f64 + 1e-9;
        assert!((e.score.value + lost - 100.0).abs() <= slack, "seed {seed}");
        for i in &e.by_index {
            let (low, high) = i.points_lost.interval.unwrap();
            assert!(low <= i.points_lost.value && i.points_lost.value <= high);
            assert!((0.0..=100.0).contains(&low) && high <= 100.0);
        }
        let lost: Vec<f64> = e.by_index.iter().map(|i| i.points_lost.value).collect();
        assert!(lost.windows(2).all(|p| p[0] >= p[1]), "most lost first");
    }
}

#[test]
fn the_order_of_the_sample_does_not_matter() {
    let c = county(6);
    let (drawn, e) = c.mock(10, 77);
    let mut answers = c.answers(&drawn);
    answers.reverse();
    assert_eq!(estimate(&c.populations(), &answers).unwrap(), e);
}

#[test]
fn types_left_out_are_named_and_a_lone_site_gives_no_interval() {
    let c = county(7);
    let mut sizes: BTreeMap<String, usize> = [("market", 5), ("road", 5)]
        .map(|(t, n)| (t.to_owned(), n))
        .into();
    let drawn = |sizes: &BTreeMap<String, usize>| -> Vec<Uuid> {
        let sample = draw_sample(&c.by_type(), sizes, 1);
        sample.into_iter().flat_map(|(_, ids)| ids).collect()
    };
    let e = estimate(&c.populations(), &c.answers(&drawn(&sizes))).unwrap();
    assert_eq!(e.unsampled_types, ["residential", "school"]);
    assert!(e.score.interval.is_some());
    sizes.insert("school".into(), 1);
    let e = estimate(&c.populations(), &c.answers(&drawn(&sizes))).unwrap();
    assert_eq!(e.unsampled_types, ["residential"]);
    assert_eq!(
        e.score.interval, None,
        "one school of 45 says nothing of its spread"
    );
    // A type with a single site, sampled whole, is known exactly.
    let mut populations = c.populations();
    populations.insert("school".into(), 1);
    let e = estimate(&populations, &c.answers(&drawn(&sizes))).unwrap();
    assert!(e.score.interval.is_some());
}

#[test]
fn what_cannot_be_estimated_is_refused() {
    let c = county(8);
    let ids = c.all_ids();
    let mut answers = c.answers(&ids[..3]);
    let populations = c.populations();
    let mut unknown = answers.clone();
    unknown[0].site_type = "bridge".into();
    assert_eq!(
        estimate(&populations, &unknown),
        Err(EstimateFault::UnknownSiteType("bridge".into()))
    );
    let mut twice = answers.clone();
    twice.push(answers[1].clone());
    assert_eq!(
        estimate(&populations, &twice),
        Err(EstimateFault::DuplicateSite(answers[1].site_id))
    );
    let small: BTreeMap<String, usize> = [("market".to_owned(), 2)].into();
    assert_eq!(
        estimate(&small, &answers),
        Err(EstimateFault::MoreThanPopulation("market".into()))
    );
    for a in &mut answers {
        a.answers.iter_mut().for_each(|x| x.weight = 0.0);
    }
    answers[0].answers[0].weight = f64::NAN;
    assert_eq!(
        estimate(&populations, &answers),
        Err(EstimateFault::NothingApplicable)
    );
    assert_eq!(
        estimate(&populations, &[]),
        Err(EstimateFault::NothingApplicable)
    );
}

#[test]
fn t_quantiles_match_the_tables() {
    // Student's t at 97.5 %, from the printed tables.
    for (df, table) in [
        (1, 12.706),
        (2, 4.303),
        (3, 3.182),
        (4, 2.776),
        (5, 2.571),
        (10, 2.228),
        (30, 2.042),
        (120, 1.980),
    ] {
        // The tables give 3 decimals.
        assert!(
            (t_975(df) - table).abs() <= 0.0005,
            "df {df}: {}",
            t_975(df)
        );
    }
    assert!(t_975(0).is_infinite());
    assert!(
        (t_975(1000) - t_975(1001)).abs() < 1e-5,
        "the two methods meet"
    );
    assert!((t_975(1_000_000) - 1.960).abs() < 0.0005);
}
