//! A tablet stand-in for the crash test: writes item results, findings and inspections to a real
//! store as fast as it can, and prints one line per write after the write has returned.
//!
//! Usage: `store-writer DB CONTENT_DIR SEED`. Prints `ready`, then lines
//! `I <inspection>` (started), `R <inspection> <item> <hlc>` (result), `F <finding>` (finding),
//! `X <inspection>` (finished), until it is killed.

use anyhow::{Context, Result};
use fieldcheck_core::store::Store;
use fieldcheck_core::store::catalog::SiteQuery;
use fieldcheck_core::store::findings::NewFinding;
use fieldcheck_core::store::inspections::NewInspection;
use fieldcheck_protocol::{ItemKind, ItemValue, Severity};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use std::io::Write;
use std::path::PathBuf;

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let db = PathBuf::from(args.next().context("DB path")?);
    let content = PathBuf::from(args.next().context("content dir")?);
    let seed: u64 = args.next().context("seed")?.parse()?;
    let mut rng = StdRng::seed_from_u64(seed);
    let mut store = Store::open(&db)?;
    if store.list_sites(&SiteQuery::default())?.is_empty() {
        fieldcheck_tests::seed_demo_sites(&mut store, &content)?;
    }
    let sites = store.list_sites(&SiteQuery::default())?;
    let taxonomy = store.taxonomy()?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "ready")?;
    out.flush()?;
    loop {
        let open = store.unfinished_inspections()?;
        let roll = rng.random_range(0..100);
        let line = if open.is_empty() || roll < 8 {
            let site = sites.choose(&mut rng).expect("sites");
            let t = store
                .latest_template_for(&site.site_type)?
                .context("template")?;
            let i = store.start_inspection(NewInspection {
                site_id: site.id,
                template_id: t.id.clone(),
                template_version: t.version,
                inspector: "崩溃测试".into(),
                position: None,
            })?;
            format!("I {}", i.id)
        } else {
            let inspection = open.choose(&mut rng).expect("open");
            if roll < 13 {
                store.finish_inspection(inspection.id)?;
                format!("X {}", inspection.id)
            } else if roll < 30 {
                let sub = taxonomy.choose(&mut rng).expect("taxonomy");
                let f = store.add_finding(NewFinding {
                    site_id: inspection.site_id,
                    inspection_id: Some(inspection.id),
                    item_code: None,
                    category: sub.category,
                    subcategory: sub.code.clone(),
                    description: format!("{}问题 #{}", sub.name_zh, rng.random::<u16>()),
                    severity: Severity::Minor,
                    position: None,
                    unit: None,
                    deadline: None,
                    same_day: rng.random_bool(0.3),
                    reporter: "崩溃测试".into(),
                })?;
                format!("F {}", f.id)
            } else {
                let t = store.template(&inspection.template_id, inspection.template_version)?;
                let item = t.items.choose(&mut rng).expect("items");
                let value = match item.kind {
                    ItemKind::Verdict => *[
                        ItemValue::Compliant,
                        ItemValue::NonCompliant,
                        ItemValue::NotApplicable,
                    ]
                    .choose(&mut rng)
                    .expect("values"),
                    ItemKind::Count { .. } => ItemValue::Count(rng.random_range(0..20)),
                    ItemKind::Percent { .. } => {
                        ItemValue::Percent(rng.random_range(0..=1000) as f64 / 10.0)
                    }
                };
                let r = store.record_result(inspection.id, &item.code, value, "")?;
                format!("R {} {} {}", inspection.id, item.code, r.hlc)
            }
        };
        writeln!(out, "{line}")?;
        out.flush()?;
    }
}
