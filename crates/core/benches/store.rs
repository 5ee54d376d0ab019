//! Store benchmarks (issue #2): a durable item result with its outbox entry, and loading a
//! 60-item inspection with 100,000 findings in the database.
//!
//! Run: `cargo bench -p fieldcheck-core --bench store`. Each figure is printed with an anchor
//! measured in the same run (the disk's own write+fdatasync; a one-row primary-key read), since
//! the machines are shared and noisy: compare ratios.

use fieldcheck_core::store::Store;
use fieldcheck_core::store::inspections::NewInspection;
use fieldcheck_domain::pack::Pack;
use fieldcheck_protocol::{
    Category, FindingRecord, Hlc, ItemKind, ItemValue, Severity, Site, SiteType, Subcategory,
    Template, TemplateItem, Unit,
};
use std::io::Write;
use std::time::{Duration, Instant};
use uuid::Uuid;

const WRITES: usize = 1000;
const FINDINGS: usize = 100_000;
const SITES: usize = 1000;
const LOADS: usize = 300;

fn main() {
    let dir =
        tempfile::tempdir_in(std::env::var("BENCH_DIR").unwrap_or_else(|_| ".".into())).unwrap();
    let mut store = Store::open(dir.path().join("bench.db")).unwrap();
    store.import_pack(&pack()).unwrap();
    let sites: Vec<Site> = (0..SITES).map(site).collect();
    for s in &sites {
        store.upsert_site(s).unwrap();
    }
    let inspection = store
        .start_inspection(NewInspection {
            site_id: sites[0].id,
            template_id: "bench".into(),
            template_version: 1,
            inspector: "基准".into(),
            position: None,
        })
        .unwrap();

    // 1. One durable item result with its outbox entry, against write+fdatasync of 4 KiB.
    let mut anchor_file = std::fs::File::create(dir.path().join("anchor")).unwrap();
    let anchor = sample(WRITES, |_| {
        anchor_file.write_all(&[7u8; 4096]).unwrap();
        anchor_file.sync_data().unwrap();
    });
    let record = sample(WRITES, |n| {
        let code = format!("B-{:02}", n % 60);
        let value = if n % 3 == 0 {
            ItemValue::NonCompliant
        } else {
            ItemValue::Compliant
        };
        store
            .record_result(inspection.id, &code, value, "基准测试")
            .unwrap();
    });
    report(
        "record_result (durable, with outbox entry)",
        &record,
        "write 4 KiB + fdatasync",
        &anchor,
    );

    // 2. Load a 60-item inspection with its results and the site's open findings,
    //    with 100,000 findings in the database.
    let findings: Vec<FindingRecord> = (0..FINDINGS)
        .map(|n| finding(&sites[n % SITES], n))
        .collect();
    for chunk in findings.chunks(10_000) {
        store.apply_remote(chunk, &[]).unwrap();
    }
    let site_id = sites[1].id;
    let pk = sample(LOADS, |_| {
        std::hint::black_box(store.site(site_id).unwrap());
    });
    let mut open = 0;
    let load = sample(LOADS, |_| {
        let view = store.load_inspection(inspection.id).unwrap();
        open = view.open_findings.len();
        assert_eq!(view.results.len(), 60);
    });
    report(
        &format!(
            "load_inspection (60 items, {open} open findings of the site, {FINDINGS} findings in all)"
        ),
        &load,
        "one site read by primary key",
        &pk,
    );
}

/// Runs `f` `n` times and returns the sorted durations.
fn sample(n: usize, mut f: impl FnMut(usize)) -> Vec<Duration> {
    let mut out: Vec<Duration> = (0..n)
        .map(|i| {
            let t = Instant::now();
            f(i);
            t.elapsed()
        })
        .collect();
    out.sort();
    out
}

fn pct(v: &[Duration], p: f64) -> f64 {
    v[((v.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1000.0
}

fn report(what: &str, v: &[Duration], anchor_name: &str, anchor: &[Duration]) {
    println!(
        "{what}: p50 {:.3} ms, p99 {:.3} ms | anchor ({anchor_name}): p50 {:.3} ms | ratio p50 {:.2}x",
        pct(v, 0.5),
        pct(v, 0.99),
        pct(anchor, 0.5),
        pct(v, 0.5) / pct(anchor, 0.5)
    );
}

fn pack() -> Pack {
    let items = (0..60)
        .map(|n| TemplateItem {
            code: format!("B-{n:02}"),
            index_code: format!("II-{}", n / 10),
            index_name_zh: "市容市貌".into(),
            index_name_en: "City appearance".into(),
            text_zh: "路面平整，无坑洼".into(),
            title_en: "Road surface even".into(),
            standard_zh: "路面硬化平整，无坑洼积水，井盖完好".into(),
            standard_en: None,
            subcategory: None,
            unit: None,
            kind: ItemKind::Verdict,
            weight: 1.0 + (n % 3) as f64,
            photo_required: n % 2 == 0,
        })
        .collect();
    Pack {
        name: "bench".into(),
        site_types: vec![SiteType {
            code: "bench".into(),
            name_zh: "背街小巷".into(),
            name_en: "Back alley".into(),
        }],
        templates: vec![Template {
            id: "bench".into(),
            version: 1,
            site_type: "bench".into(),
            name_zh: "背街小巷".into(),
            name_en: "Back alley".into(),
            items,
        }],
        taxonomy: vec![Subcategory {
            code: "manhole_cover".into(),
            category: Category::Component,
            name_zh: "井盖".into(),
            name_en: "Manhole cover".into(),
        }],
        units: vec![Unit {
            code: "urban_mgmt".into(),
            name_zh: "城管局".into(),
            name_en: "Urban management".into(),
        }],
    }
}

fn site(n: usize) -> Site {
    Site {
        id: Uuid::now_v7(),
        name: format!("幸福巷 {n} 号"),
        site_type: "bench".into(),
        district: "城关区".into(),
        street: "东岗街道".into(),
        address: format!("东岗西路 {n} 号"),
        position: None,
        unit: None,
        qr_code: None,
    }
}

fn finding(site: &Site, n: usize) -> FindingRecord {
    FindingRecord {
        id: Uuid::now_v7(),
        site_id: site.id,
        inspection_id: None,
        item_code: None,
        category: Category::Component,
        subcategory: "manhole_cover".into(),
        description: format!("井盖破损，编号 {n}"),
        severity: Severity::Major,
        position: None,
        unit: Some("urban_mgmt".into()),
        deadline: None,
        same_day: false,
        reporter: "基准".into(),
        device_id: Uuid::nil(),
        created_at: n as i64,
        hlc: Hlc {
            time: n as u64,
            node: 1,
        },
    }
}
