//! The dashboard's map with 10,000 findings (issue #20 item 6): in Debian's Chromium against a
//! release `fieldcheck-server`, the time from navigation to every point drawn (the page's
//! `fc-map-drawn` performance mark, set after Leaflet drew the canvas), the plain street plan
//! (no tiles: the zero-configuration default). The anchor, measured in the same run and the
//! same browser, is the ledger's first page: navigation to its load event.
//!
//! The findings are written through the server's own store (`apply_push`), spread around the
//! demo's sites (within about 400 m), a third dispatched, half of those past their deadline.
//!
//! Run: `cargo build --release -p fieldcheck-server && cargo bench -p fieldcheck-tests --bench map`
//! (`FIELDCHECK_BENCH_FINDINGS` sets another count).

use fantoccini::{Client, Locator};
use fieldcheck_protocol::{
    Category, FindingRecord, Hlc, OutboxEntry, Position, PositionSource, Record,
    RectificationAction, RectificationEventRecord, Severity, Site,
};
use fieldcheck_tests::chromium::Driver;
use fieldcheck_tests::server::{ServerCommand, ServerProcess};
use serde_json::Value;
use std::time::{Duration, Instant};
use uuid::Uuid;

mod common;

const RUNS: usize = 7;
const ADMIN: &str = "benchadmin";
const PASSWORD: &str = "diTu-bench-2026!";

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// A small deterministic generator (xorshift), so every run draws the same county.
struct Draw(u64);

impl Draw {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// A number in [-1, 1).
    fn unit(&mut self) -> f64 {
        (self.next() % 2_000_000) as f64 / 1_000_000.0 - 1.0
    }
}

/// Writes `total` findings with positions near the demo's sites through the server's store.
async fn county(data: &std::path::Path, total: usize) {
    let db = data.join("fieldcheck.sqlite3");
    let store = fieldcheck_store::open(db.to_str().unwrap()).await.unwrap();
    let sites: Vec<Site> = store
        .dash_query("SELECT payload FROM sites", vec![])
        .await
        .unwrap()
        .iter()
        .map(|r| serde_json::from_str(r[0].text()).unwrap())
        .filter(|s: &Site| s.position.is_some())
        .collect();
    let subcategory = store
        .dash_query("SELECT code FROM subcategories ORDER BY code", vec![])
        .await
        .unwrap()[0][0]
        .text()
        .to_string();
    let unit = store
        .dash_query("SELECT code FROM units ORDER BY code", vec![])
        .await
        .unwrap()[0][0]
        .text()
        .to_string();
    let device = common::reporter_with_tablets(&store, 1).await[0];
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let mut draw = Draw(0x9e37_79b9_7f4a_7c15);
    let mut seq = 0u64;
    let mut records = Vec::new();
    for n in 0..total {
        let site = &sites[n % sites.len()];
        let at = site.position.unwrap();
        let id = Uuid::now_v7();
        records.push(Record::Finding(FindingRecord {
            id,
            site_id: site.id,
            inspection_id: None,
            item_code: None,
            category: Category::Component,
            subcategory: subcategory.clone(),
            description: format!("井盖破损下沉，存在安全隐患（第{n}处）"),
            severity: Severity::Major,
            // About 400 m around the site.
            position: Some(Position {
                lat: at.lat + draw.unit() * 0.0036,
                lon: at.lon + draw.unit() * 0.0042,
                accuracy_m: 8.0,
                source: PositionSource::Gps,
            }),
            unit: None,
            deadline: None,
            same_day: false,
            reporter: "reporter".into(),
            device_id: device,
            created_at: now - (draw.next() % (84 * 86_400_000)) as i64,
            hlc: Hlc {
                time: ((now as u64) << 16) + n as u64,
                node: 1,
            },
        }));
        if n % 3 == 0 {
            records.push(Record::Rectification(RectificationEventRecord {
                id: Uuid::now_v7(),
                finding_id: id,
                action: RectificationAction::Dispatched,
                actor: "office".into(),
                note: String::new(),
                unit: Some(unit.clone()),
                deadline: Some(
                    if n % 2 == 0 {
                        "2020-01-01"
                    } else {
                        "2099-01-01"
                    }
                    .into(),
                ),
                photo_sha256: None,
                hlc: Hlc {
                    time: ((now as u64) << 16) + (total + n) as u64,
                    node: 1,
                },
            }));
        }
        if records.len() >= 2_000 || n + 1 == total {
            let entries: Vec<OutboxEntry> = records
                .drain(..)
                .map(|record| {
                    seq += 1;
                    OutboxEntry {
                        seq,
                        hlc: Hlc {
                            time: ((now as u64) << 16) + seq,
                            node: 2,
                        },
                        record,
                    }
                })
                .collect();
            store.apply_push(device, "", &entries).await.unwrap();
        }
    }
}

/// Navigates to `path` and returns the page's timings: navigation start to the load event, and
/// to the `fc-map-drawn` mark when `map` (after waiting for it).
async fn visit(c: &Client, base: &str, path: &str, map: bool) -> (f64, Option<f64>, Value) {
    c.goto(&format!("{base}{path}")).await.unwrap();
    let mut drawn = None;
    if map {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let v = c
                .execute(
                    "const m = performance.getEntriesByName('fc-map-drawn')[0];
                     const el = document.getElementById('map');
                     return [m ? m.startTime : null, el ? el.dataset.ready || '' : '', el ? el.dataset.drawnPoints || '' : ''];",
                    vec![],
                )
                .await
                .unwrap();
            assert_ne!(v[1], "failed", "the map failed");
            if let Some(t) = v[0].as_f64() {
                drawn = Some(t);
                break;
            }
            assert!(Instant::now() < deadline, "the map never drew");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let v = c
        .execute(
            "const n = performance.getEntriesByType('navigation')[0];
             const points = performance.getEntriesByType('resource').find(r => r.name.includes('/points.json'));
             const el = document.getElementById('map');
             return {load: n.loadEventEnd, html: n.decodedBodySize,
                     points: points ? {ms: points.duration, start: points.startTime, bytes: points.encodedBodySize, json: points.decodedBodySize} : null,
                     drawn: el ? Number(el.dataset.drawnPoints || 0) : null};",
            vec![],
        )
        .await
        .unwrap();
    (v["load"].as_f64().unwrap(), drawn, v)
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .unwrap_or("?")
        .trim()
        .to_string();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cores} cores, {cpu:?}")
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let total: usize = std::env::var("FIELDCHECK_BENCH_FINDINGS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    println!(
        "machine: {}; load average {} at the start",
        machine(),
        load_average()
    );
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    ServerProcess::prepare(data, &["bench"]).unwrap();
    ServerCommand::new(data)
        .admin(&[
            "user",
            "add",
            "--role",
            "admin",
            "--password",
            PASSWORD,
            ADMIN,
        ])
        .unwrap();
    let made = Instant::now();
    county(data, total).await;
    println!(
        "{total} findings written in {:.1} s",
        made.elapsed().as_secs_f64()
    );
    let server = ServerProcess::start(data).unwrap();
    let driver = Driver::start();
    let profile = tempfile::tempdir().unwrap();
    let c = driver.browser(profile.path()).await;
    c.set_window_size(1280, 900).await.unwrap();
    c.goto(&format!("{}/dashboard/login", server.url))
        .await
        .unwrap();
    for (id, text) in [("username", ADMIN), ("password", PASSWORD)] {
        c.find(Locator::Id(id))
            .await
            .unwrap()
            .send_keys(text)
            .await
            .unwrap();
    }
    c.find(Locator::Id("login-submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::Id("status-counts"))
        .await
        .unwrap();
    // Warm up: the read models' first refresh after the bulk load, the scripts in the cache.
    let t = Instant::now();
    visit(&c, &server.url, "/dashboard/ledger", false).await;
    println!(
        "first ledger view (read models built): {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let (_, first, facts) = visit(&c, &server.url, "/dashboard/map", true).await;
    println!(
        "first map view (scripts not cached): drawn at {:.0} ms; {facts}",
        first.unwrap()
    );
    assert_eq!(
        facts["drawn"].as_u64(),
        Some(total as u64),
        "every finding drawn"
    );
    let (mut drawn, mut map_load, mut points_ms, mut ledger) = (vec![], vec![], vec![], vec![]);
    let mut last = Value::Null;
    for _ in 0..RUNS {
        let (load, at, facts) = visit(&c, &server.url, "/dashboard/map", true).await;
        drawn.push(at.unwrap());
        map_load.push(load);
        points_ms.push(facts["points"]["ms"].as_f64().unwrap());
        last = facts;
        let (load, _, _) = visit(&c, &server.url, "/dashboard/ledger", false).await;
        ledger.push(load);
    }
    let (d, l) = (median(drawn.clone()), median(ledger.clone()));
    println!("map, navigation → every point drawn (ms): {drawn:?}");
    println!("ledger, navigation → load event (ms): {ledger:?}");
    println!("last map view: {last}");
    println!("| what | median of {RUNS} | anchor: ledger page (same run) | ratio | goal |");
    println!("|---|---|---|---|---|");
    println!(
        "| map with {total} findings: navigation → every point drawn | {d:.0} ms | {l:.0} ms | {:.1}× | ≤ 1 s {} |",
        d / l,
        if d <= 1000.0 { "✔" } else { "✘" }
    );
    println!(
        "| of which points.json ({} KB gzip, {} KB JSON) | {:.0} ms | | | |",
        last["points"]["bytes"].as_u64().unwrap_or(0) / 1024,
        last["points"]["json"].as_u64().unwrap_or(0) / 1024,
        median(points_ms)
    );
    println!(
        "| map page's load event | {:.0} ms | | | |",
        median(map_load)
    );
    println!("load average {} at the end", load_average());
    c.close().await.unwrap();
}
