//! The demo's month of history, made through the store's own doors from the real checklist
//! pack: the office sees findings in every status, some overdue, numbered by the day they were
//! found, with photos that are really stored and signed by the tablet that took them; scores
//! have a month of inspections; a second run adds nothing.

use fieldcheck_domain::rectification::Status;
use fieldcheck_server::app::AppState;
use fieldcheck_server::blobs::{BlobStore, LocalBlobs};
use fieldcheck_server::config::Limits;
use fieldcheck_server::dashboard::projection;
use fieldcheck_server::store::Content;
use fieldcheck_server::{demo, demo_history};
use std::collections::BTreeSet;
use std::sync::Arc;

fn content() -> Content {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../content/civilized-city");
    let pack = fieldcheck_domain::pack_folder::load_pack(&dir).unwrap();
    Content {
        site_types: pack.site_types,
        templates: pack.templates,
        taxonomy: pack.taxonomy,
        units: pack.units,
    }
}

#[tokio::test]
async fn the_demo_office_has_a_month_of_work_in_every_status() {
    let dir = tempfile::tempdir().unwrap();
    let store = fieldcheck_server::store::open(dir.path().join("db.sqlite3").to_str().unwrap())
        .await
        .unwrap();
    let content = content();
    store.import_content(&content).await.unwrap();
    demo::load(store.as_ref(), &content).await.unwrap();
    let photos = dir.path().join("photos");
    let state = AppState::new(
        store.clone(),
        Arc::new(LocalBlobs::new(photos.clone())),
        Limits::default(),
    );
    let sites = demo::sites(&content).unwrap();
    let units = demo::unit_accounts(&content);
    let inspectors = [demo::DEMO_INSPECTOR, demo::SECOND_INSPECTOR];
    let load = || demo_history::load(&state, &content, &sites, &inspectors, &units);
    let made = load().await.unwrap();
    assert!(made.inspections >= 100, "{made:?}");
    assert!(made.findings >= 50, "{made:?}");
    assert_eq!(
        load().await.unwrap(),
        Default::default(),
        "a second run adds nothing"
    );

    projection::refresh(store.as_ref()).await.unwrap();
    let ledger = store
        .dash_query(
            "SELECT status, CAST(due_open AS BIGINT), deadline FROM dash_ledger",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(ledger.len(), made.findings);
    let statuses: BTreeSet<&str> = ledger.iter().map(|r| r[0].text()).collect();
    for s in Status::ALL {
        assert!(
            statuses.contains(s.as_str()),
            "no {s:?} finding: {statuses:?}"
        );
    }
    let today = fieldcheck_domain::china_time::china_date(fieldcheck_server::clock::now_ms());
    let overdue = ledger
        .iter()
        .filter(|r| r[1].int() == 1 && r[2].opt_text().is_some_and(|d| d < today))
        .count();
    assert!(overdue > 0, "some findings are overdue");

    // Numbers follow the day each problem was found, across the month.
    let days = store
        .dash_query("SELECT DISTINCT china_day FROM finding_numbers", vec![])
        .await
        .unwrap();
    assert!(days.len() >= 20, "{} days", days.len());

    // Every photo the records name is stored, and a tablet's is signed by its tablet.
    let stored = store
        .dash_query(
            "SELECT p.payload, d.public_key FROM photos p JOIN devices d ON d.id = p.device_id",
            vec![],
        )
        .await
        .unwrap();
    assert!(stored.len() >= made.findings);
    let blobs = LocalBlobs::new(photos);
    for row in &stored {
        let record: fieldcheck_protocol::PhotoRecord = serde_json::from_str(row[0].text()).unwrap();
        let blob = blobs.read(&record.sha256).await.unwrap().expect("stored");
        let bytes = blob.bytes(u64::MAX).await.unwrap();
        assert_eq!(bytes.len() as u64, record.size_bytes);
        fieldcheck_server::photo_check::verify_signature(&record, row[1].text())
            .expect("signed by the tablet that took it");
    }
    // Each step is dated within the month, and each fix has its own after-photo.
    let steps = store
        .dash_query("SELECT payload FROM rectification_events", vec![])
        .await
        .unwrap();
    let now = fieldcheck_server::clock::now_ms();
    let mut evidence = Vec::new();
    for row in &steps {
        let e: fieldcheck_protocol::RectificationEventRecord =
            serde_json::from_str(row[0].text()).unwrap();
        let at = e.hlc.unix_millis();
        assert!(
            at <= now && at > now - (demo_history::DAYS + 1) * 86_400_000,
            "{e:?}"
        );
        evidence.extend(e.photo_sha256);
    }
    let distinct: BTreeSet<&String> = evidence.iter().collect();
    assert!(!evidence.is_empty());
    assert_eq!(
        distinct.len(),
        evidence.len(),
        "every fix has its own after-photo"
    );
    fieldcheck_server::dashboard::score_model::refresh_inspections(store.as_ref())
        .await
        .unwrap();
    let scored = store
        .dash_query("SELECT COUNT(*) FROM dash_inspection_scores", vec![])
        .await
        .unwrap();
    assert_eq!(
        scored[0][0].int() as usize,
        made.inspections,
        "every inspection counts"
    );
    let people = fieldcheck_server::dashboard::reference::Reference::load(store.as_ref())
        .await
        .unwrap();
    assert_eq!(people.person_name(demo::DEMO_INSPECTOR), "张伟");
}
