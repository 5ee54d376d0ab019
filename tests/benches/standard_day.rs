//! The standard day (issue #5): one inspector's day — 30 inspections, 600 item results,
//! 120 findings, 240 photos — synced to a real server through a link shaped to 2 MB/s and
//! 80 ms RTT. Reports wall time against bytes ÷ bandwidth, bytes on the wire against payload
//! bytes, and the number of HTTP requests.
//!
//! Run: `cargo build --release -p fieldcheck-server && cargo bench -p fieldcheck-tests --bench standard_day`

use fieldcheck_core::photo::{CaptureRequest, DeviceKey, PhotoDir, PhotoPipeline, TrustedClock};
use fieldcheck_core::store::Store;
use fieldcheck_core::store::catalog::SiteQuery;
use fieldcheck_core::store::findings::NewFinding;
use fieldcheck_core::store::inspections::NewInspection;
use fieldcheck_core::sync::SyncEngine;
use fieldcheck_protocol::{Category, ItemKind, ItemValue, PhotoKind, Severity};
use fieldcheck_tests::checker::check_converged;
use fieldcheck_tests::server::{INSPECTOR_PASSWORD, ServerProcess};
use fieldcheck_tests::shaping_proxy::{Shape, ShapingProxy};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const INSPECTIONS: usize = 30;
const RESULTS_PER_INSPECTION: usize = 20;
const FINDINGS_PER_INSPECTION: usize = 4;
const PHOTOS_PER_FINDING: usize = 2;
const SHAPE: Shape = Shape {
    bytes_per_sec: 2_000_000,
    one_way: Duration::from_millis(40),
};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let server_dir = tempfile::tempdir().unwrap();
    let tablet_dir = tempfile::tempdir().unwrap();
    ServerProcess::prepare(server_dir.path(), &["bench"]).unwrap();
    let server = ServerProcess::start(server_dir.path()).unwrap();

    let store = Arc::new(Mutex::new(
        Store::open(tablet_dir.path().join("tablet.db")).unwrap(),
    ));
    let clock = Arc::new(TrustedClock::new());
    let key = DeviceKey::load_or_create(tablet_dir.path()).unwrap();
    let engine = SyncEngine::new(
        store.clone(),
        PhotoDir::open(tablet_dir.path().join("photos")).unwrap(),
        clock.clone(),
        key.clone(),
    );
    let pipeline = PhotoPipeline::new(
        PhotoDir::open(tablet_dir.path().join("photos")).unwrap(),
        clock,
        key,
    );
    engine
        .login(&server.url, "bench", INSPECTOR_PASSWORD)
        .await
        .unwrap();
    engine.sync_now().await.unwrap();

    let made = Instant::now();
    let photo_bytes = record_day(&mut store.lock().unwrap(), &pipeline);
    let (records, record_bytes) = {
        let s = store.lock().unwrap();
        let pending = s.outbox_pending(u32::MAX).unwrap();
        let bytes: usize = pending
            .iter()
            .map(|e| serde_json::to_vec(&e.record).unwrap().len())
            .sum();
        (pending.len(), bytes as u64)
    };
    eprintln!("recorded the day in {:.1} s", made.elapsed().as_secs_f64());

    let proxy = ShapingProxy::start(server.url.trim_start_matches("http://").to_string(), SHAPE)
        .await
        .unwrap();
    {
        let mut s = store.lock().unwrap();
        let token = s.sync_state().unwrap().token.unwrap();
        s.save_login(&proxy.url, "bench", &token).unwrap();
    }
    let t = Instant::now();
    let report = engine.sync_now().await.unwrap();
    let wall = t.elapsed().as_secs_f64();
    check_converged(&store.lock().unwrap(), &server.export().unwrap()).unwrap();

    let up = proxy.counters.up.load(Ordering::Relaxed);
    let down = proxy.counters.down.load(Ordering::Relaxed);
    let ideal = up as f64 / SHAPE.bytes_per_sec as f64;
    let photos = INSPECTIONS * FINDINGS_PER_INSPECTION * PHOTOS_PER_FINDING;
    println!(
        "standard day: {records} records ({record_bytes} B JSON), {photos} photos ({photo_bytes} B, {:.0} KB each)",
        photo_bytes as f64 / photos as f64 / 1000.0
    );
    println!(
        "wall {wall:.2} s | upstream bytes ÷ bandwidth {ideal:.2} s | ratio {:.3} (goal ≤ 1.10)",
        wall / ideal
    );
    println!(
        "on the wire: {up} B up, {down} B down | payload {} B | wire/payload {:.3}",
        photo_bytes + record_bytes,
        (up + down) as f64 / (photo_bytes + record_bytes) as f64
    );
    println!(
        "HTTP requests {} for {photos} photos (goal ≤ photos + 6 = {}) over {} connections",
        report.requests,
        photos + 6,
        proxy.counters.connections.load(Ordering::Relaxed)
    );
}

/// Records the day; returns the stored photo bytes.
/// Distinct camera photos the day's 240 captures take turns with: each capture still stores a
/// photo of its own (the stamp's time and serial differ).
const CAMERA_PHOTOS: u64 = 8;

fn record_day(store: &mut Store, pipeline: &PhotoPipeline) -> u64 {
    let camera = fieldcheck_test_photos::corpus(CAMERA_PHOTOS);
    let sites = store.list_sites(&SiteQuery::default()).unwrap();
    let taxonomy = store.taxonomy().unwrap();
    let mut photo_bytes = 0;
    for n in 0..INSPECTIONS {
        let site = &sites[n % sites.len()];
        let template = store.latest_template_for(&site.site_type).unwrap().unwrap();
        let i = store
            .start_inspection(NewInspection {
                site_id: site.id,
                template_id: template.id.clone(),
                template_version: template.version,
                inspector: "bench".into(),
                position: None,
            })
            .unwrap();
        for r in 0..RESULTS_PER_INSPECTION {
            let item = &template.items[r % template.items.len()];
            let value = match item.kind {
                ItemKind::Verdict if r % 5 == 0 => ItemValue::NonCompliant,
                ItemKind::Verdict => ItemValue::Compliant,
                ItemKind::Count { min } => ItemValue::Count(min),
                ItemKind::Percent { min } => ItemValue::Percent(min),
            };
            store.record_result(i.id, &item.code, value, "").unwrap();
        }
        for f in 0..FINDINGS_PER_INSPECTION {
            let sub = &taxonomy[(n + f) % taxonomy.len()];
            let finding = store
                .add_finding(NewFinding {
                    site_id: site.id,
                    inspection_id: Some(i.id),
                    item_code: None,
                    category: sub.category,
                    subcategory: sub.code.clone(),
                    description: format!("{}：现场发现问题，需整改", sub.name_zh),
                    severity: if sub.category == Category::Component {
                        Severity::Major
                    } else {
                        Severity::Minor
                    },
                    position: None,
                    unit: None,
                    deadline: None,
                    same_day: f == 0,
                    reporter: "bench".into(),
                })
                .unwrap();
            for p in 0..PHOTOS_PER_FINDING {
                let jpeg = &camera[(n * 100 + f * 10 + p) % camera.len()].jpeg;
                let record = pipeline
                    .capture(
                        store,
                        &CaptureRequest {
                            bytes: jpeg,
                            kind: PhotoKind::Before,
                            finding_id: Some(finding.id),
                            inspection_id: Some(i.id),
                            position: None,
                            site_name: &site.name,
                            inspector: "bench",
                        },
                    )
                    .unwrap();
                photo_bytes += record.size_bytes;
            }
        }
        store.finish_inspection(i.id).unwrap();
    }
    photo_bytes
}
