//! A tablet's day against a real server process: sign in, pull the sites, inspect, record a
//! finding with two photos, keep working while the server is down, sync when it is back, and
//! end with the server holding exactly what the tablet recorded.

use fieldcheck_core::photo::CaptureRequest;
use fieldcheck_core::store::catalog::SiteQuery;
use fieldcheck_core::store::findings::NewFinding;
use fieldcheck_core::store::inspections::NewInspection;
use fieldcheck_core::sync::SyncError;
use fieldcheck_core::sync::api::Timeouts;
use fieldcheck_protocol::{Category, ItemKind, ItemValue, PhotoKind, Severity};
use fieldcheck_tests::checker::check_converged;
use fieldcheck_tests::server::{INSPECTOR_PASSWORD, ServerProcess};
use fieldcheck_tests::tablet::Tablet;
use rand::SeedableRng;
use rand::rngs::StdRng;

fn tablet(dir: &std::path::Path, user: &str) -> Tablet {
    Tablet::open(
        dir,
        user,
        Timeouts::default(),
        &mut StdRng::seed_from_u64(7),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_day_with_an_outage_ends_with_the_server_holding_everything_once() {
    let server_dir = tempfile::tempdir().unwrap();
    let tablet_dir = tempfile::tempdir().unwrap();
    ServerProcess::prepare(server_dir.path(), &["xiaowang"]).unwrap();
    let mut server = ServerProcess::start(server_dir.path()).unwrap();
    let t = tablet(tablet_dir.path(), "xiaowang");

    assert!(matches!(
        t.engine.sync_now().await,
        Err(SyncError::NotSignedIn)
    ));
    t.engine
        .login(&server.url, "xiaowang", INSPECTOR_PASSWORD)
        .await
        .unwrap();
    let first = t.engine.sync_now().await.unwrap();
    assert!(first.changes_pulled > 0, "{first:?}");

    // Inspect a back alley from the pulled site list.
    let (site, template) = {
        let store = t.store.lock().unwrap();
        let site = store
            .list_sites(&SiteQuery {
                site_type: Some("back_alley".into()),
                text: None,
            })
            .unwrap()
            .into_iter()
            .next()
            .expect("a back alley was pulled");
        let template = store
            .latest_template_for("back_alley")
            .unwrap()
            .expect("its template was pulled");
        (site, template)
    };
    let inspection = {
        let mut store = t.store.lock().unwrap();
        let i = store
            .start_inspection(NewInspection {
                site_id: site.id,
                template_id: template.id.clone(),
                template_version: template.version,
                inspector: "xiaowang".into(),
                position: None,
            })
            .unwrap();
        for (n, item) in template.items.iter().enumerate() {
            let value = match item.kind {
                ItemKind::Verdict if n == 0 => ItemValue::NonCompliant,
                ItemKind::Verdict => ItemValue::Compliant,
                ItemKind::Count { min } => ItemValue::Count(min),
                ItemKind::Percent { .. } => ItemValue::Percent(96.5),
            };
            store.record_result(i.id, &item.code, value, "").unwrap();
        }
        i
    };
    let finding = t
        .store
        .lock()
        .unwrap()
        .add_finding(NewFinding {
            site_id: site.id,
            inspection_id: Some(inspection.id),
            item_code: Some(template.items[0].code.clone()),
            category: Category::Component,
            subcategory: "manhole_cover".into(),
            description: "井盖破损下沉，存在安全隐患".into(),
            severity: Severity::Critical,
            position: None,
            unit: None,
            deadline: None,
            same_day: false,
            reporter: "xiaowang".into(),
        })
        .unwrap();
    for seed in 0..2 {
        let jpeg = fieldcheck_tests::photos::noisy_jpeg(1600, 1200, seed);
        let mut store = t.store.lock().unwrap();
        t.photos
            .capture(
                &mut store,
                &CaptureRequest {
                    bytes: &jpeg,
                    kind: PhotoKind::Before,
                    finding_id: Some(finding.id),
                    inspection_id: Some(inspection.id),
                    position: None,
                    site_name: &site.name,
                    inspector: "xiaowang",
                },
            )
            .unwrap();
    }

    // The server goes away; work goes on and nothing is lost.
    let address = server.url.trim_start_matches("http://").to_string();
    server.kill();
    t.store
        .lock()
        .unwrap()
        .finish_inspection(inspection.id)
        .unwrap();
    let offline = t.engine.sync_now().await.unwrap_err();
    assert!(matches!(offline, SyncError::NoSignal(_)), "{offline:?}");
    let progress = t.engine.subscribe().borrow().clone();
    assert!(
        progress.records_pending > 0 && progress.photos_pending == 2,
        "{progress:?}"
    );
    assert!(
        progress
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("没有网络信号")),
        "{progress:?}"
    );

    let server = ServerProcess::start_on(server_dir.path(), &address).unwrap();
    let report = t.engine.sync_now().await.unwrap();
    assert_eq!(report.photos_uploaded, 2, "{report:?}");
    let progress = t.engine.subscribe().borrow().clone();
    assert_eq!(
        (progress.records_pending, progress.photos_pending),
        (0, 0),
        "{progress:?}"
    );
    assert!(progress.last_error.is_none() && progress.last_success_ms.is_some());

    check_converged(&t.store.lock().unwrap(), &server.export().unwrap()).unwrap();

    // A second session has nothing to send.
    let again = t.engine.sync_now().await.unwrap();
    assert_eq!(
        (again.records_pushed, again.photos_uploaded),
        (0, 0),
        "{again:?}"
    );
    check_converged(&t.store.lock().unwrap(), &server.export().unwrap()).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduler_syncs_by_itself_when_the_server_comes_back() {
    use fieldcheck_core::sync::scheduler::{Pacing, Scheduler, Trigger};
    // A trigger while a session may be running merges and never blocks.
    use std::time::Duration;

    let server_dir = tempfile::tempdir().unwrap();
    let tablet_dir = tempfile::tempdir().unwrap();
    ServerProcess::prepare(server_dir.path(), &["xiaoli"]).unwrap();
    let mut server = ServerProcess::start(server_dir.path()).unwrap();
    let address = server.url.trim_start_matches("http://").to_string();
    let t = tablet(tablet_dir.path(), "xiaoli");
    t.engine
        .login(&server.url, "xiaoli", INSPECTOR_PASSWORD)
        .await
        .unwrap();
    let engine = t.engine.clone();
    engine.sync_now().await.unwrap();
    server.kill();

    // Work recorded while the server is down.
    {
        let mut store = t.store.lock().unwrap();
        let site = store.list_sites(&SiteQuery::default()).unwrap().remove(0);
        let template = store.latest_template_for(&site.site_type).unwrap().unwrap();
        store
            .start_inspection(NewInspection {
                site_id: site.id,
                template_id: template.id.clone(),
                template_version: template.version,
                inspector: "xiaoli".into(),
                position: None,
            })
            .unwrap();
    }
    let pacing = Pacing {
        every: Duration::from_secs(600),
        retry_base: Duration::from_millis(100),
        retry_cap: Duration::from_millis(800),
    };
    let scheduler = Scheduler::start(engine.clone(), pacing);
    let mut progress = engine.subscribe();
    scheduler.trigger(Trigger::Manual);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(progress.borrow().records_pending > 0);
    assert!(
        progress.borrow().last_error.is_some(),
        "the scheduler tried while the server was down"
    );

    let server = ServerProcess::start_on(server_dir.path(), &address).unwrap();
    // No trigger: the scheduler's own retries (a probe with backoff) find the server.
    tokio::time::timeout(
        Duration::from_secs(30),
        progress.wait_for(|p| p.records_pending == 0 && p.last_error.is_none()),
    )
    .await
    .expect("synced within 30 s of the server coming back")
    .unwrap();
    check_converged(&t.store.lock().unwrap(), &server.export().unwrap()).unwrap();
}
