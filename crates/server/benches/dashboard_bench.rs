//! Office dashboard benchmark: server time of the ledger page and the scores page with 100,000
//! findings (and 10,000 inspections with every item answered) in a SQLite store, the .xlsx
//! export of 10,000 ledger rows, a workbook of 1,000 rows with a thumbnail in each, and the
//! bulletin (通报) of the 12 weeks that hold all 100,000 findings, as a page and as a .docx.
//! Requests go through the real router in process (the HTTP stack, session check, SQL, HTML
//! rendering); the anchor, measured in the same run, is a `SELECT COUNT(*)` over the 100,000
//! findings.
//!
//! Run: `cargo bench -p fieldcheck-server --bench dashboard_bench` (from the repository root).

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use fieldcheck_protocol::*;
use fieldcheck_server::app::{AppState, router};
use fieldcheck_server::blobs::LocalBlobs;
use fieldcheck_server::config::Limits;
use fieldcheck_server::dashboard::export::{SheetInput, write_xlsx};
use fieldcheck_server::dashboard::i18n::Lang;
use fieldcheck_server::dashboard::ledger::{LedgerFilter, LedgerRow};
use fieldcheck_server::dashboard::reference::Reference;
use fieldcheck_server::store::{Content, DynStore, NewDevice, UserRow};
use http_body_util::BodyExt;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;
use tower::ServiceExt;
use uuid::Uuid;

const FINDINGS: usize = 100_000;
const INSPECTIONS: usize = 10_000;
const RUNS: usize = 15;
/// Runs of each bulletin request (each reads and judges all 100,000 findings).
const BULLETIN_RUNS: usize = 7;

/// The workbook's input for `rows`, with no numbers, marked copies or item texts.
fn sheet<'a>(
    rows: &'a [LedgerRow],
    none: &'a HashMap<String, String>,
    thumbs: &'a HashMap<String, Vec<u8>>,
    reference: &'a Reference,
) -> SheetInput<'a> {
    SheetInput {
        rows,
        numbers: none,
        marked: none,
        items: none,
        thumbs,
        reference,
        base_url: "http://127.0.0.1:8080",
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

async fn seed(store: &DynStore) -> Content {
    let pack = fieldcheck_domain::pack_folder::load_pack(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../content/civilized-city"
    )))
    .unwrap();
    let content = Content {
        site_types: pack.site_types,
        templates: pack.templates,
        taxonomy: pack.taxonomy,
        units: pack.units,
    };
    store.import_content(&content).await.unwrap();
    fieldcheck_server::demo::load(store.as_ref(), &content)
        .await
        .unwrap();
    store
        .create_user(&UserRow {
            name: "bench".into(),
            role: Role::Admin,
            unit: None,
            password_hash: fieldcheck_server::auth::hash_password("bench-pw").unwrap(),
            disabled: false,
            created_at: 0,
            display_name: String::new(),
        })
        .await
        .unwrap();
    content
}

fn hlc(n: u64) -> Hlc {
    Hlc {
        time: (1_780_000_000u64 << 32) + n,
        node: 1,
    }
}

/// Pushes the inspections (every item answered) and findings, with office steps on a share.
async fn fill(store: &DynStore, content: &Content) {
    let dev = Uuid::now_v7();
    store
        .register_device(&NewDevice {
            id: dev,
            user_name: "bench".into(),
            public_key: "00".repeat(32),
            label: "bench".into(),
            token_hash: "bench".into(),
            token_expires_at: i64::MAX,
            at: 0,
        })
        .await
        .unwrap();
    let sites: Vec<Site> = store
        .dash_query("SELECT payload FROM sites", Vec::new())
        .await
        .unwrap()
        .iter()
        .map(|r| serde_json::from_str(r[0].text()).unwrap())
        .collect();
    let mut rng = StdRng::seed_from_u64(42);
    let now = fieldcheck_server::clock::now_ms();
    let twelve_weeks = 84 * 86_400_000i64;
    let mut seq = 0u64;
    let mut n = 0u64;
    let mut batch = Vec::new();
    let flush = |batch: &mut Vec<Record>, seq: &mut u64| {
        let entries: Vec<OutboxEntry> = batch
            .drain(..)
            .map(|record| {
                *seq += 1;
                OutboxEntry {
                    seq: *seq,
                    hlc: hlc(*seq),
                    record,
                }
            })
            .collect();
        entries
    };
    let mut inspections = Vec::new();
    for i in 0..INSPECTIONS {
        let site = &sites[i % sites.len()];
        let template = content
            .templates
            .iter()
            .find(|t| t.site_type == site.site_type)
            .unwrap_or(&content.templates[0]);
        let id = Uuid::now_v7();
        inspections.push(id);
        let started_at = now - rng.random_range(0..twelve_weeks);
        batch.push(Record::Inspection(InspectionRecord {
            id,
            site_id: site.id,
            template_id: template.id.clone(),
            template_version: template.version,
            inspector: format!("inspector{}", i % 8),
            device_id: dev,
            started_at,
            // Finished: only finished inspections count in scores.
            finished_at: Some(started_at + 1_800_000),
            position: None,
            discarded_at: None,
        }));
        for item in &template.items {
            n += 1;
            let bad = rng.random_bool(0.2);
            batch.push(Record::ItemResult(ItemResultRecord {
                inspection_id: id,
                item_code: item.code.clone(),
                value: match item.kind {
                    ItemKind::Verdict if bad => ItemValue::NonCompliant,
                    ItemKind::Verdict => ItemValue::Compliant,
                    ItemKind::Count { min } => {
                        ItemValue::Count(if bad { min.saturating_sub(1) } else { min })
                    }
                    ItemKind::Percent { min } => {
                        ItemValue::Percent(if bad { (min - 1.0).max(0.0) } else { 100.0 })
                    }
                },
                note: String::new(),
                hlc: hlc(n),
            }));
        }
        if batch.len() > 2_000 {
            let e = flush(&mut batch, &mut seq);
            store.apply_push(dev, "", &e).await.unwrap();
        }
    }
    let mut events = Vec::new();
    for f in 0..FINDINGS {
        let site = &sites[f % sites.len()];
        let sub = &content.taxonomy[rng.random_range(0..content.taxonomy.len())];
        let id = Uuid::now_v7();
        n += 1;
        batch.push(Record::Finding(FindingRecord {
            id,
            site_id: site.id,
            inspection_id: Some(inspections[f % inspections.len()]),
            item_code: None,
            category: sub.category,
            subcategory: sub.code.clone(),
            description: format!("{}问题 {f}", sub.name_zh),
            severity: Severity::Minor,
            position: None,
            unit: None,
            deadline: None,
            same_day: f % 10 == 0,
            reporter: format!("inspector{}", f % 8),
            device_id: dev,
            created_at: now - rng.random_range(0..twelve_weeks),
            hlc: hlc(n),
        }));
        if f % 3 == 0 {
            let unit = &content.units[rng.random_range(0..content.units.len())];
            n += 1;
            events.push(RectificationEventRecord {
                id: Uuid::now_v7(),
                finding_id: id,
                action: RectificationAction::Dispatched,
                actor: "bench".into(),
                note: String::new(),
                unit: Some(unit.code.clone()),
                deadline: Some(if f % 2 == 0 {
                    "2020-01-01".into()
                } else {
                    "2099-01-01".into()
                }),
                photo_sha256: None,
                hlc: hlc(n),
            });
        }
        if batch.len() > 2_000 {
            let e = flush(&mut batch, &mut seq);
            store.apply_push(dev, "", &e).await.unwrap();
        }
    }
    for e in events {
        batch.push(Record::Rectification(e));
        if batch.len() > 2_000 {
            let e = flush(&mut batch, &mut seq);
            store.apply_push(dev, "", &e).await.unwrap();
        }
    }
    let e = flush(&mut batch, &mut seq);
    store.apply_push(dev, "", &e).await.unwrap();
}

async fn get(app: &axum::Router, path: &str, cookie: &str) -> (StatusCode, usize, f64) {
    let t = Instant::now();
    let resp = app
        .clone()
        .oneshot(
            Request::builder()
                .uri(path)
                .header(header::COOKIE, cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let status = resp.status();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, body.len(), t.elapsed().as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() {
    // The bulletin logs how long each phase of its read took.
    tracing_subscriber::fmt()
        .with_env_filter("fieldcheck::bulletin=debug")
        .without_time()
        .init();
    let dir = tempfile::tempdir().unwrap();
    let store = fieldcheck_server::store::open(dir.path().join("bench.sqlite3").to_str().unwrap())
        .await
        .unwrap();
    let content = seed(&store).await;
    let t = Instant::now();
    fill(&store, &content).await;
    println!(
        "filled {FINDINGS} findings and {INSPECTIONS} inspections in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    fieldcheck_server::dashboard::projection::refresh(store.as_ref())
        .await
        .unwrap();
    println!(
        "first refresh of the read models (after the bulk load): {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let photos = dir.path().join("photos");
    let state = Arc::new(AppState::new(
        store.clone(),
        Arc::new(LocalBlobs::new(photos.clone())),
        Limits::default(),
    ));
    let app = router(state.clone());
    let (token, _) = fieldcheck_server::dashboard::session::open(&state, "bench")
        .await
        .unwrap();
    let cookie = format!("fc_session={token}");

    let mut anchor = Vec::new();
    let mut rows = Vec::new();
    let now = fieldcheck_server::clock::now_ms();
    let month = format!(
        "/dashboard/scores?from={}&to={}",
        fieldcheck_domain::china_time::china_date(now - 29 * 86_400_000),
        fieldcheck_domain::china_time::china_date(now)
    );
    let pages: [(&str, &str); 6] = [
        ("overview (总览), the home page", "/dashboard/overview"),
        ("ledger, first page, no filter", "/dashboard/ledger"),
        (
            "ledger, overdue + street + sorted by deadline",
            "/dashboard/ledger?overdue=1&street=%E5%9F%8E%E5%85%B3%E8%A1%97%E9%81%93&sort=deadline&dir=asc",
        ),
        (
            "ledger, page 1,000 (offset 49,950)",
            "/dashboard/ledger?page=1000",
        ),
        ("scores page (all time)", "/dashboard/scores"),
        ("scores page (the last 30 days)", &month),
    ];
    for (name, path) in pages {
        let (status, bytes, _) = get(&app, path, &cookie).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        let mut times = Vec::new();
        for _ in 0..RUNS {
            times.push(get(&app, path, &cookie).await.2);
            let t = Instant::now();
            store
                .dash_query("SELECT CAST(COUNT(*) AS BIGINT) FROM findings", Vec::new())
                .await
                .unwrap();
            anchor.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        rows.push((name, median(times), bytes));
    }
    // 通报 (issue #20 item 3) over the 12 weeks that hold every one of the 100,000 findings:
    // the page, and the Word document (no worst case has a stored photo here).
    let twelve_weeks = format!(
        "period=custom&from={}&to={}",
        fieldcheck_domain::china_time::china_date(now - 84 * 86_400_000),
        fieldcheck_domain::china_time::china_date(now)
    );
    let mut bulletins = Vec::new();
    for (name, path) in [
        (
            "bulletin (通报) page, 12 weeks: all 100,000 findings",
            format!("/dashboard/bulletin?{twelve_weeks}"),
        ),
        (
            "bulletin as a Word document (.docx), the same 12 weeks",
            format!("/dashboard/bulletin.docx?{twelve_weeks}"),
        ),
    ] {
        let (status, bytes, _) = get(&app, &path, &cookie).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        let mut times = Vec::new();
        for _ in 0..BULLETIN_RUNS {
            times.push(get(&app, &path, &cookie).await.2);
            let t = Instant::now();
            store
                .dash_query("SELECT CAST(COUNT(*) AS BIGINT) FROM findings", Vec::new())
                .await
                .unwrap();
            anchor.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        bulletins.push((name, median(times), bytes));
    }
    let reference = Reference::load(store.as_ref()).await.unwrap();
    let query = LedgerFilter::default().query(None).unwrap();
    let none = HashMap::new();
    let no_thumbs = HashMap::new();
    let mut export = Vec::new();
    let mut size = 0;
    for _ in 0..5 {
        let t = Instant::now();
        let ledger = query.all(store.as_ref(), 10_000).await.unwrap();
        let book = write_xlsx(
            &sheet(&ledger, &none, &no_thumbs, &reference),
            Lang::Zh,
            &|_| {},
        )
        .unwrap();
        size = book.len();
        export.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    // A printed list: 1,000 rows, each with its own 320 px thumbnail in the cell.
    let mut printed = query.all(store.as_ref(), 1_000).await.unwrap();
    let mut thumbs = HashMap::new();
    for (i, row) in printed.iter_mut().enumerate() {
        let sha = format!("{i:064x}");
        let shade = (i % 251) as u8;
        let rgb: Vec<u8> = (0..320 * 240)
            .flat_map(|p| [shade, ((p + i) % 256) as u8, (p / 320 % 256) as u8])
            .collect();
        thumbs.insert(sha.clone(), fieldcheck_photo_codec::encode(&rgb, 320, 240));
        row.thumb = Some(sha);
    }
    let thumb_bytes: usize = thumbs.values().map(Vec::len).sum();
    let mut with_photos = Vec::new();
    let mut photo_size = 0;
    for _ in 0..5 {
        let t = Instant::now();
        let book = write_xlsx(
            &sheet(&printed, &none, &thumbs, &reference),
            Lang::Zh,
            &|_| {},
        )
        .unwrap();
        photo_size = book.len();
        with_photos.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let anchor = median(anchor);
    println!("anchor: SELECT COUNT(*) over {FINDINGS} findings: median {anchor:.2} ms");
    println!("| what | median | anchor | ratio | goal |");
    println!("|---|---|---|---|---|");
    for (name, ms, bytes) in rows {
        println!(
            "| {name} ({} KB of HTML) | {ms:.1} ms | {anchor:.2} ms | {:.0}× | ≤ 200 ms |",
            bytes / 1024,
            ms / anchor
        );
    }
    for (name, ms, bytes) in bulletins {
        println!(
            "| {name} ({} KB) | {ms:.0} ms | {anchor:.2} ms | {:.0}× | ≤ 2 s |",
            bytes / 1024,
            ms / anchor
        );
    }
    let e = median(export);
    println!(
        "| .xlsx export of 10,000 rows (query + workbook, {} KB) | {e:.0} ms | {anchor:.2} ms | {:.0}× | — |",
        size / 1024,
        e / anchor
    );
    let p = median(with_photos);
    println!(
        "| .xlsx of 1,000 rows with a thumbnail each (workbook only; {} KB of thumbnails, file {} KB) | {p:.0} ms | {anchor:.2} ms | {:.0}× | — |",
        thumb_bytes / 1024,
        photo_size / 1024,
        p / anchor
    );
}
