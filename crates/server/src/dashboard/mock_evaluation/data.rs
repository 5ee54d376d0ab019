//! What the 模拟测评 page reads and how it reads its form: the draw (seed and sample sizes),
//! the sampled sites' answers from the score model, and the open problems with what fixing
//! each would recover. The rules (drawing, estimating, ranking) are the domain's
//! `fieldcheck_domain::mock_evaluation`; this module only gathers their inputs.

use crate::dashboard::error::PageError;
use crate::dashboard::numbers::{finding_numbers, rows_for_findings};
use crate::dashboard::reference::Reference;
use crate::store::{Store, StoreResult};
use fieldcheck_domain::mock_evaluation::{
    Answer, OpenProblem, Recoverable, draw_sample, most_recoverable,
};
use fieldcheck_domain::rectification::Status;
use fieldcheck_domain::scoring::counts_in_scores;
use fieldcheck_protocol::{InspectionRecord, Template, TemplateItem};
use fieldcheck_store::dash_row;
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

/// The sample size a type gets when the form does not say: the evaluators' usual five sites,
/// or the whole type when it has fewer.
pub const DEFAULT_SIZE: usize = 5;

/// Open problems listed at most, those recovering the most points first.
pub const RECOVERABLE_SHOWN: usize = 20;

/// The form field that holds a site type's sample size.
pub fn size_field(site_type: &str) -> String {
    format!("size_{site_type}")
}

/// The value of field `name` in a form's fields (the first, when sent twice), else `""`.
pub fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

/// Sites per site type, every site of the county counted (the population each type's sample
/// is drawn from and weighted by).
pub fn populations(reference: &Reference) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for s in &reference.sites {
        *counts.entry(s.site_type.clone()).or_default() += 1;
    }
    counts
}

/// One draw of the mock evaluation: the seed and the sample size of each site type. The same
/// draw over the same sites gives the same sample (`fieldcheck_domain::mock_evaluation::
/// draw_sample`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Draw {
    /// The seed.
    pub seed: u64,
    /// Sites to draw per site type, each at most the type's number of sites.
    pub sizes: BTreeMap<String, usize>,
}

impl Draw {
    /// Reads a draw from a form's fields: `seed` (a whole number 0 to 2^64 − 1; when empty or
    /// absent, a fresh random seed if `random_seed`, else a fault of `seed`) and `size_<type>`
    /// for each type of `populations` (absent or empty: [`DEFAULT_SIZE`] or the type's whole
    /// population when smaller; a size above the population takes the whole type). A value
    /// that is not a whole number is a fault of its field.
    pub fn from_fields(
        fields: &[(String, String)],
        populations: &BTreeMap<String, usize>,
        random_seed: bool,
    ) -> Result<Draw, PageError> {
        let seed = match field(fields, "seed").trim() {
            "" if random_seed => rand::random::<u64>(),
            "" => {
                return Err(PageError::invalid(
                    "seed",
                    "请填写随机种子（抽样用的整数）",
                    "give the seed (the whole number the sample is drawn with)",
                ));
            }
            s => s.parse::<u64>().map_err(|_| {
                PageError::invalid(
                    "seed",
                    "随机种子应为 0 到 18446744073709551615 之间的整数",
                    "the seed is a whole number from 0 to 18446744073709551615",
                )
            })?,
        };
        let mut sizes = BTreeMap::new();
        for (site_type, &population) in populations {
            let name = size_field(site_type);
            let size = match field(fields, &name).trim() {
                "" => DEFAULT_SIZE,
                s => s.parse::<usize>().map_err(|_| {
                    PageError::invalid(
                        &name,
                        "样本量应为 0 或正整数",
                        "the sample size is 0 or a whole number",
                    )
                })?,
            };
            sizes.insert(site_type.clone(), size.min(population));
        }
        Ok(Draw { seed, sizes })
    }

    /// The draw as form fields: `seed` and each `size_<type>`, which [`Draw::from_fields`]
    /// reads back as the same draw.
    pub fn fields(&self) -> Vec<(String, String)> {
        let mut fields = vec![("seed".to_string(), self.seed.to_string())];
        for (site_type, size) in &self.sizes {
            fields.push((size_field(site_type), size.to_string()));
        }
        fields
    }

    /// The draw as a query string (the page's address for this very sample).
    pub fn query(&self) -> String {
        serde_urlencoded::to_string(self.fields()).unwrap_or_default()
    }

    /// The sampled sites per type, in type-code order, each type's sites in drawn order.
    pub fn sample(&self, reference: &Reference) -> Vec<(String, Vec<Uuid>)> {
        let mut by_type: BTreeMap<String, Vec<Uuid>> = BTreeMap::new();
        for s in &reference.sites {
            by_type.entry(s.site_type.clone()).or_default().push(s.id);
        }
        draw_sample(&by_type, &self.sizes, self.seed)
    }
}

/// A sampled site's latest finished inspection and the answers the estimate takes from it.
#[derive(Clone, Debug)]
pub struct Inspected {
    /// The inspection: finished, not discarded (`counts_in_scores`), the site's latest by
    /// finish time.
    pub inspection: InspectionRecord,
    /// Its scored answers (不适用 and unscored answers left out, as the score model leaves
    /// them out).
    pub answers: Vec<Answer>,
}

dash_row! {
    /// One scored answer in `dash_results`.
    struct ResultRow {
        inspection_id: String,
        index_code: String,
        compliant: bool,
        weight: f64,
    }
}

/// For each of `sites` that has one, its latest finished inspection in the score model
/// (`dash_inspection_scores`: inspections that count in scores and have a scored answer),
/// latest by finish time (then start, then id), with its scored answers from `dash_results`.
/// The read models must be refreshed first.
pub async fn latest_inspected(
    store: &dyn Store,
    sites: &[Uuid],
) -> StoreResult<HashMap<Uuid, Inspected>> {
    let ids: Vec<String> = sites.iter().map(Uuid::to_string).collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let rows = rows_for_findings(
        store,
        "SELECT i.payload FROM dash_inspection_scores s JOIN inspections i ON i.id = s.inspection_id WHERE s.site_id IN (",
        &ids,
    )
    .await?;
    let mut latest: HashMap<Uuid, InspectionRecord> = HashMap::new();
    for r in &rows {
        let i: InspectionRecord = serde_json::from_str(r[0].text())?;
        if !counts_in_scores(&i) {
            continue;
        }
        let key = |i: &InspectionRecord| (i.finished_at, i.started_at, i.id);
        if latest
            .get(&i.site_id)
            .is_none_or(|held| key(&i) > key(held))
        {
            latest.insert(i.site_id, i);
        }
    }
    let inspection_ids: Vec<String> = latest.values().map(|i| i.id.to_string()).collect();
    let inspection_ids: Vec<&str> = inspection_ids.iter().map(String::as_str).collect();
    let select = format!(
        "SELECT {} FROM dash_results WHERE inspection_id IN (",
        ResultRow::columns()
    );
    let mut answers: HashMap<String, Vec<Answer>> = HashMap::new();
    for r in rows_for_findings(store, &select, &inspection_ids).await? {
        let r = ResultRow::from_cells(&r);
        answers.entry(r.inspection_id).or_default().push(Answer {
            index_code: r.index_code,
            weight: r.weight,
            compliant: r.compliant,
        });
    }
    Ok(latest
        .into_iter()
        .map(|(site, inspection)| {
            let answers = answers
                .remove(&inspection.id.to_string())
                .unwrap_or_default();
            (
                site,
                Inspected {
                    inspection,
                    answers,
                },
            )
        })
        .collect())
}

/// An open problem ranked by what fixing it recovers, with what the page shows of it.
#[derive(Clone, Debug)]
pub struct RecoverableRow {
    /// The ranking's entry: finding, index and points recovered.
    pub recoverable: Recoverable,
    /// The finding's short number, when it has one.
    pub number: Option<String>,
    /// The checklist item it fails.
    pub item_code: String,
    /// The item's text, as its checklist words it (Chinese, English).
    pub item_text: (String, String),
    /// Site name, district and street.
    pub site: (String, String, String),
    /// Its status (stored name).
    pub status: String,
}

dash_row! {
    /// An open finding against a checklist item, as the ledger holds it.
    struct OpenRow {
        finding_id: String,
        site_type: String,
        item_code: String,
    }
}

dash_row! {
    /// What the list shows of a finding.
    struct ShownRow {
        finding_id: String,
        site_name: String,
        district: String,
        street: String,
        status: String,
    }
}

/// The item `code` of a site type's checklist, newest version first; else of any checklist
/// (`templates` newest version first per checklist, as `reference::templates` gives them).
fn item_of<'a>(templates: &'a [Template], site_type: &str, code: &str) -> Option<&'a TemplateItem> {
    let find = |same_type: bool| {
        templates
            .iter()
            .filter(|t| !same_type || t.site_type == site_type)
            .flat_map(|t| &t.items)
            .find(|i| i.code == code)
    };
    find(true).or_else(|| find(false))
}

/// The open problems (findings against a checklist item whose status, the ledger's
/// `derive_status`, is not 已结案) that recover the most points if fixed first, ranked by the
/// domain's `most_recoverable`, at most [`RECOVERABLE_SHOWN`]. A problem's item weight is its
/// checklist item's (its site type's newest checklist that has the item); its index weight is
/// the index's applicable weight in the score model's pool: every answer of every finished
/// inspection, as the scores page counts them with no date range. The read models must be
/// refreshed first.
pub async fn recoverable(
    store: &dyn Store,
    templates: &[Template],
) -> StoreResult<Vec<RecoverableRow>> {
    let pool: HashMap<String, f64> = store
        .dash_query(
            "SELECT group_key, CAST(SUM(weight) AS DOUBLE PRECISION) FROM dash_daily_scores \
             WHERE dimension = 'index' GROUP BY group_key",
            Vec::new(),
        )
        .await?
        .iter()
        .map(|r| (r[0].text().to_string(), r[1].real()))
        .collect();
    let open = store
        .dash_query(
            &format!(
                "SELECT {} FROM dash_ledger WHERE status <> $1 AND item_code IS NOT NULL",
                OpenRow::columns()
            ),
            vec![Status::Closed.as_str().into()],
        )
        .await?;
    let mut items: HashMap<Uuid, (String, (String, String))> = HashMap::new();
    let mut problems = Vec::with_capacity(open.len());
    for r in &open {
        let r = OpenRow::from_cells(r);
        let (Ok(id), Some(item)) = (
            r.finding_id.parse::<Uuid>(),
            item_of(templates, &r.site_type, &r.item_code),
        ) else {
            continue; // an item no checklist has: nothing to score it by
        };
        problems.push(OpenProblem {
            finding_id: id,
            index_code: item.index_code.clone(),
            item_weight: item.weight,
            index_weight: pool.get(&item.index_code).copied().unwrap_or(0.0),
        });
        let text = (item.text_zh.clone(), item.title_en.clone());
        items.insert(id, (r.item_code, text));
    }
    let mut ranked = most_recoverable(&problems);
    ranked.truncate(RECOVERABLE_SHOWN);
    let ids: Vec<String> = ranked.iter().map(|r| r.finding_id.to_string()).collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let select = format!(
        "SELECT {} FROM dash_ledger WHERE finding_id IN (",
        ShownRow::columns()
    );
    let shown: HashMap<String, ShownRow> = rows_for_findings(store, &select, &ids)
        .await?
        .iter()
        .map(|r| {
            let r = ShownRow::from_cells(r);
            (r.finding_id.clone(), r)
        })
        .collect();
    let mut numbers = finding_numbers(store, &ids).await?;
    Ok(ranked
        .into_iter()
        .map(|recoverable| {
            let id = recoverable.finding_id.to_string();
            let (item_code, item_text) = items
                .remove(&recoverable.finding_id)
                .expect("every ranked problem was read above");
            let row = shown.get(&id);
            RecoverableRow {
                number: numbers.remove(&id),
                item_code,
                item_text,
                site: row.map_or_else(Default::default, |r| {
                    (r.site_name.clone(), r.district.clone(), r.street.clone())
                }),
                status: row.map_or_else(String::new, |r| r.status.clone()),
                recoverable,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_draw_reads_back_from_its_own_fields_and_sizes_default_to_five() {
        let populations: BTreeMap<String, usize> =
            [("market".to_string(), 12), ("school".to_string(), 3)].into();
        let draw = Draw::from_fields(&fields(&[("seed", "42")]), &populations, false).unwrap();
        assert_eq!(draw.seed, 42);
        assert_eq!(draw.sizes["market"], 5);
        assert_eq!(draw.sizes["school"], 3, "no more than the type has");
        let read = Draw::from_fields(&draw.fields(), &populations, false).unwrap();
        assert_eq!(read, draw);
        let big = fields(&[("seed", "18446744073709551615"), ("size_market", "40")]);
        let draw = Draw::from_fields(&big, &populations, false).unwrap();
        assert_eq!((draw.seed, draw.sizes["market"]), (u64::MAX, 12));
        assert!(Draw::from_fields(&fields(&[]), &populations, true).is_ok());
        for bad in [
            fields(&[]),
            fields(&[("seed", "-1")]),
            fields(&[("seed", "1"), ("size_school", "two")]),
        ] {
            assert!(
                Draw::from_fields(&bad, &populations, false).is_err(),
                "{bad:?}"
            );
        }
    }
}
