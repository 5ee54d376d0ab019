//! 模拟测评: a mock of the national evaluation, run by the county before the evaluators come.
//!
//! The evaluators draw a random sample of sites of each type, score what they see there, and
//! the county's score is what that sample says. This module does the same with the county's
//! own inspections:
//!
//! - [`draw_sample`]: a sample without replacement per site type, reproducible from a `u64`
//!   seed on every platform and Rust version (ChaCha8; see [`draw_sample`] for the procedure).
//! - [`estimate`]: the county's score by index (测评项目) and overall, estimated from the
//!   sampled sites' answers with the scoring of [`crate::scoring`] (points lost = 100 × weight
//!   of non-compliant answers / weight of applicable answers; score = 100 − Σ points lost):
//!   a combined ratio estimator stratified by site type, each type weighted by its number of
//!   sites, with a 95 % interval from the linearised variance with the finite-population
//!   correction (below).
//! - [`most_recoverable`]: the open problems ranked by the points fixing each would recover.
//!
//! Pure functions, no I/O: the caller gathers sites, answers and open problems.
//!
//! # Estimator
//!
//! The score is a ratio (scoring.rs): points lost = 100 × Σ weight(non-compliant) / Σ
//! weight(applicable). Over a sample stratified by site type it is estimated by the
//! **combined ratio estimator**: with `N_h` sites of type `h`, `n_h` of them sampled, and for
//! each sampled site `i` its applicable weight `x_i` and non-compliant weight `y_i`,
//!
//! `R̂ = Ŷ / X̂`, `Ŷ = Σ_h (N_h / n_h) Σ_i y_i`, `X̂ = Σ_h (N_h / n_h) Σ_i x_i`,
//!
//! so each stratum counts by its population, not by how many of its sites were drawn. When the
//! sample is proportional (`n_h / N_h` the same everywhere) this is exactly the pooled score of
//! the sampled answers, as the dashboard computes it; when it is not (the evaluators draw a
//! fixed number per type), it corrects the over-represented types.
//!
//! # Interval
//!
//! A 95 % interval from the linearised (Taylor) variance of the ratio, with the finite-
//! population correction:
//!
//! `V(R̂) ≈ Σ_h N_h² (1 − n_h/N_h) s²_h / n_h / X̂²`, `s²_h` the sample variance in stratum `h`
//! of the residuals `e_i = y_i − R̂ x_i`,
//!
//! and `R̂ ± t · √V` with Student's `t` at 97.5 % on `n − H` degrees of freedom (`n` sites, `H`
//! sampled types). Chosen over a bootstrap because it is deterministic (no second seed to
//! record), exact about the finite population (evaluators often draw a large share of a small
//! type; a census gives a zero-width interval, where a plain bootstrap would not), and cheap.
//! Bounds are clamped to 0–100. A type sampled once but not in full leaves its variance
//! unknown: then no interval is given.
//!
//! Per index, the same estimator gives the index's own score (its non-compliant over its
//! applicable weight) and the points the overall score loses on it (its non-compliant weight
//! over the applicable weight of all indexes), so the overall score and the indexes' points
//! lost sum to 100, as in scoring.
//!
//! Like every interval of this kind it is too narrow when a type's sample shows no spread on
//! what is estimated: an index observed on a single item of a type, never failed in that type's
//! sample, adds no variance although the type does fail it now and then. The overall score,
//! observed on every item of every site, is not affected in practice; an index seen on few
//! items is (in the generated county of the tests: 94 of 100 intervals hold the overall score,
//! 76 to 95 of 100 per index, the lowest for an index seen on one item of the largest type).

mod estimate;
mod recoverable;
pub(crate) mod sample;

pub use estimate::{
    Answer, Estimate, EstimateFault, Estimated, IndexEstimate, SiteAnswers, estimate,
};
pub use recoverable::{OpenProblem, Recoverable, most_recoverable};
pub use sample::draw_sample;

#[cfg(test)]
mod tests;
