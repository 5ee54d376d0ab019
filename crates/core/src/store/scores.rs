//! Scores read from the store: an inspection's live score, and pools per site and site type.

use super::{Result, Store};
use fieldcheck_domain::scoring::{Score, ScoreAggregate, counts_in_scores, score_inspection};
use fieldcheck_protocol::{ItemResultRecord, ItemValue};
use std::collections::BTreeMap;
use uuid::Uuid;

impl Store {
    /// The live score of one inspection (finished or not).
    pub fn inspection_score(&self, inspection_id: Uuid) -> Result<Score> {
        let inspection = self.inspection(inspection_id)?;
        let template = self.template(&inspection.template_id, inspection.template_version)?;
        Ok(score_inspection(
            &template,
            &pairs(&self.results(inspection_id)?),
        ))
    }

    /// The pooled score of a site's finished inspections.
    pub fn site_score(&self, site_id: Uuid) -> Result<Score> {
        let mut pool = ScoreAggregate::default();
        let counted = self.finished_inspections(Some(site_id))?;
        for inspection in counted.iter().filter(|i| counts_in_scores(i)) {
            let template = self.template(&inspection.template_id, inspection.template_version)?;
            pool.add(&template, &pairs(&self.results(inspection.id)?));
        }
        Ok(pool.finish())
    }

    /// The pooled score of every site type's finished inspections, by site type code.
    pub fn scores_by_site_type(&self) -> Result<BTreeMap<String, Score>> {
        let mut pools: BTreeMap<String, ScoreAggregate> = BTreeMap::new();
        let counted = self.finished_inspections(None)?;
        for inspection in counted.iter().filter(|i| counts_in_scores(i)) {
            let template = self.template(&inspection.template_id, inspection.template_version)?;
            pools
                .entry(template.site_type.clone())
                .or_default()
                .add(&template, &pairs(&self.results(inspection.id)?));
        }
        Ok(pools.into_iter().map(|(k, v)| (k, v.finish())).collect())
    }
}

/// Item codes and answers, as scoring takes them.
pub(super) fn pairs(results: &[ItemResultRecord]) -> Vec<(&str, ItemValue)> {
    results
        .iter()
        .map(|r| (r.item_code.as_str(), r.value))
        .collect()
}
