//! Scoped pulls (issue #16): a county server holding 1,000,000 findings across 100 districts;
//! one inspector confined to one district signs in on a fresh tablet and pulls, through a link
//! shaped to 2 MB/s and 80 ms RTT. Reports the bytes, the requests and the wall time of that
//! first pull against bytes ÷ bandwidth.
//!
//! The county is written through the server's own store (`apply_push`, the code a push runs:
//! change log and places included), then the release server serves it.
//!
//! Run: `cargo build --release -p fieldcheck-server && cargo bench -p fieldcheck-tests --bench scoped_pull`
//! (`FIELDCHECK_BENCH_FINDINGS` sets another total, e.g. 100000 for a quick look).

use fieldcheck_core::photo::{DeviceKey, PhotoCache, PhotoDir, TrustedClock};
use fieldcheck_core::store::Store;
use fieldcheck_core::sync::SyncEngine;
use fieldcheck_protocol::{Category, FindingRecord, Hlc, OutboxEntry, Record, Severity, Site};
use fieldcheck_tests::server::{INSPECTOR_PASSWORD, ServerProcess};
use fieldcheck_tests::shaping_proxy::{Shape, ShapingProxy};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use uuid::Uuid;

mod common;

const DISTRICTS: usize = 100;
const SITES_PER_DISTRICT: usize = 50;
const BATCH: usize = 5_000;
const SHAPE: Shape = Shape {
    bytes_per_sec: 2_000_000,
    one_way: Duration::from_millis(40),
};

fn district(d: usize) -> String {
    format!("第{:02}区", d + 1)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let total: usize = std::env::var("FIELDCHECK_BENCH_FINDINGS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let per_district = total / DISTRICTS;
    let server_dir = tempfile::tempdir().unwrap();
    let tablet_dir = tempfile::tempdir().unwrap();
    ServerProcess::prepare(server_dir.path(), &["bench"]).unwrap();

    // The county, written through the server's store.
    let made = Instant::now();
    let db = server_dir.path().join("fieldcheck.sqlite3");
    let store = fieldcheck_store::open(db.to_str().unwrap()).await.unwrap();
    let first_code = |sql: &'static str| {
        let store = store.clone();
        async move {
            store.dash_query(sql, vec![]).await.unwrap()[0][0]
                .text()
                .to_string()
        }
    };
    let site_type = first_code("SELECT code FROM site_types ORDER BY code").await;
    let subcategory = first_code("SELECT code FROM subcategories ORDER BY code").await;
    let sites: Vec<Site> = (0..DISTRICTS * SITES_PER_DISTRICT)
        .map(|n| Site {
            id: Uuid::now_v7(),
            name: format!("测试点位{n}"),
            site_type: site_type.clone(),
            district: district(n / SITES_PER_DISTRICT),
            street: format!("街道{}", n % 7),
            address: format!("测试路{n}号"),
            position: None,
            unit: None,
            qr_code: None,
        })
        .collect();
    for chunk in sites.chunks(1_000) {
        store.put_sites(chunk).await.unwrap();
    }
    // One tablet per district, pushing in rounds, so that each district's findings are spread
    // over the whole change log as a season's work would be.
    let devices = common::reporter_with_tablets(&store, DISTRICTS).await;
    let mut tick = 0u64;
    for round in 0..per_district.div_ceil(BATCH) {
        let (from, to) = (round * BATCH, ((round + 1) * BATCH).min(per_district));
        for (d, device) in devices.iter().enumerate() {
            let here = &sites[d * SITES_PER_DISTRICT..(d + 1) * SITES_PER_DISTRICT];
            let entries: Vec<OutboxEntry> = (from..to)
                .map(|n| {
                    tick += 1;
                    let hlc = Hlc {
                        time: (1_764_028_800_000u64 << 16) + tick,
                        node: 1,
                    };
                    OutboxEntry {
                        seq: n as u64 + 1,
                        hlc,
                        record: Record::Finding(FindingRecord {
                            id: Uuid::now_v7(),
                            site_id: here[n % here.len()].id,
                            inspection_id: None,
                            item_code: None,
                            category: Category::Component,
                            subcategory: subcategory.clone(),
                            description: format!("井盖破损下沉，存在安全隐患（第{n}处）"),
                            severity: Severity::Major,
                            position: None,
                            unit: None,
                            deadline: Some("2026-12-31".into()),
                            same_day: false,
                            reporter: "reporter".into(),
                            device_id: *device,
                            created_at: 1_764_028_800_000 + n as i64,
                            hlc,
                        }),
                    }
                })
                .collect();
            store.apply_push(*device, "", &entries).await.unwrap();
        }
        eprintln!(
            "{} findings written in {:.0} s",
            to * DISTRICTS,
            made.elapsed().as_secs_f64()
        );
    }
    let scope = store
        .set_account_districts("bench", &[district(0)])
        .await
        .unwrap();
    assert_eq!(scope.districts, [district(0)]);
    drop(store);
    eprintln!(
        "county of {} findings made in {:.0} s",
        per_district * DISTRICTS,
        made.elapsed().as_secs_f64()
    );

    let server = ServerProcess::start(server_dir.path()).unwrap();
    let tablet = Arc::new(Mutex::new(
        Store::open(tablet_dir.path().join("tablet.db")).unwrap(),
    ));
    let engine = SyncEngine::new(
        tablet.clone(),
        PhotoDir::open(tablet_dir.path().join("photos")).unwrap(),
        Arc::new(TrustedClock::new()),
        DeviceKey::load_or_create(tablet_dir.path()).unwrap(),
    )
    .with_photo_cache(PhotoCache::open(tablet_dir.path().join("photo-cache")).unwrap());
    let proxy = ShapingProxy::start(server.url.trim_start_matches("http://").to_string(), SHAPE)
        .await
        .unwrap();
    engine
        .login(&proxy.url, "bench", INSPECTOR_PASSWORD)
        .await
        .unwrap();
    let (up0, down0) = (
        proxy.counters.up.load(Ordering::Relaxed),
        proxy.counters.down.load(Ordering::Relaxed),
    );
    let t = Instant::now();
    let report = engine.sync_now().await.unwrap();
    let wall = t.elapsed().as_secs_f64();
    let up = proxy.counters.up.load(Ordering::Relaxed) - up0;
    let down = proxy.counters.down.load(Ordering::Relaxed) - down0;
    let ideal = (up + down) as f64 / SHAPE.bytes_per_sec as f64;
    let held: usize = {
        let s = tablet.lock().unwrap();
        sites
            .iter()
            .map(|site| s.open_findings(site.id).unwrap().len())
            .sum()
    };
    assert_eq!(held, per_district, "the district's findings, no other");
    println!(
        "county: {} findings in {DISTRICTS} districts, {} sites; inspector confined to one district",
        per_district * DISTRICTS,
        sites.len()
    );
    println!(
        "first pull: {} changes, {held} findings held | {down} B down, {up} B up | {} requests",
        report.changes_pulled, report.requests
    );
    println!(
        "wall {wall:.2} s | bytes ÷ bandwidth {ideal:.2} s | ratio {:.2} | goals ≤ 15 MB, ≤ 10 s",
        wall / ideal
    );
}
