//! The real app binary in WebKitGTK (tauri-driver + WebKitWebDriver under Xvfb) against a real
//! fieldcheck-server process: sign in; inspect a back alley; record a finding with two photos
//! through the file input; stop the server and keep working; quit and restart the app in the
//! middle of the inspection and resume it; start the server again; sync; then the server holds
//! exactly what was recorded, photos verified byte for byte. A zh-CN screenshot of each main
//! screen is saved under `<target>/test-artifacts/app/`.
//!
//! Needs `ui/dist` built, `cargo build -p fieldcheck-app -p fieldcheck-server`, and the
//! packages xvfb and webkit2gtk-driver plus `cargo install tauri-driver` (scripts/install-deps.sh).

use fieldcheck_core::store::Store;
use fieldcheck_domain::site_label::SiteLabel;
use fieldcheck_protocol::{ItemValue, PositionSource};
use fieldcheck_tests::app_driver::{AppWindow, app_binary, artifacts_dir};
use fieldcheck_tests::app_steps::{app_desktop, draw_an_arrow, wait_for_the_before_photo};
use fieldcheck_tests::checker::check_converged_and_stored;
use fieldcheck_tests::server::{INSPECTOR_PASSWORD, ServerProcess};
use serde_json::Value;

const USER: &str = "xiaowang";
const ALLEY: &str = "文庙后巷";
const DESCRIPTION: &str = "井盖破损下沉，存在安全隐患";

/// The codes of the inspection screen's items and whether each takes a verdict.
async fn items(w: &AppWindow) -> Vec<(String, bool)> {
    let v = w
        .js(
            r#"return [...document.querySelectorAll('[data-testid^="item-"]')].map(e => {
                 const code = e.dataset.testid.slice(5);
                 return [code, !!e.querySelector(`[data-testid="answer-${code}-compliant"]`)];
               })"#,
        )
        .await
        .unwrap();
    serde_json::from_value(v).unwrap()
}

/// Answers one item: 不符合 for `bad`, else 符合, a count of 10 or 96.5%.
async fn answer(w: &AppWindow, code: &str, verdict: bool, bad: bool) {
    if verdict {
        let kind = if bad { "non_compliant" } else { "compliant" };
        w.click(&format!("answer-{code}-{kind}")).await.unwrap();
        let row = format!("item-{code}");
        w.until(
            &format!("{code} shows {kind}"),
            &format!(r#"return document.querySelector('[data-testid="{row}"]').dataset.answer === "{kind}""#),
        )
        .await
        .unwrap();
    } else {
        let input = w.find(&format!("value-{code}")).await.unwrap();
        let percent = w.js(&format!(
            r#"return document.querySelector('[data-testid="item-{code}"]').textContent.includes('%')"#
        ))
        .await
        .unwrap();
        let value = if percent == Value::Bool(true) {
            "96.5"
        } else {
            "10"
        };
        input.send_keys(&format!("{value}\u{E004}")).await.unwrap();
        w.until(
            &format!("{code} answered"),
            &format!(r#"return document.querySelector('[data-testid="item-{code}"]').dataset.answer !== """#),
        )
        .await
        .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inspectors_day_in_the_real_app_ends_with_the_server_holding_it_all() {
    let server_dir = tempfile::tempdir().unwrap();
    let app_dir = tempfile::tempdir().unwrap();
    let photo_dir = tempfile::tempdir().unwrap();
    ServerProcess::prepare(server_dir.path(), &[USER]).unwrap();
    let mut server = ServerProcess::start(server_dir.path()).unwrap();
    let address = server.url.trim_start_matches("http://").to_string();
    let app = app_binary().unwrap();
    let desktop = app_desktop(app_dir.path(), &server.url);
    let photos: Vec<_> = (0..2)
        .map(|seed| {
            let path = photo_dir.path().join(format!("camera-{seed}.jpg"));
            std::fs::write(
                &path,
                fieldcheck_tests::photos::noisy_jpeg(1600, 1200, seed),
            )
            .unwrap();
            path
        })
        .collect();

    // First start: the server address is offered; sign in. The app is the one that ships.
    let w = desktop.open(&app).await.unwrap();
    w.ensure_shipped_build().await.unwrap();
    let offered = w
        .find("login-server")
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(offered.as_deref(), Some(server.url.as_str()));
    w.type_into("login-username", USER).await.unwrap();
    w.type_into("login-password", INSPECTOR_PASSWORD)
        .await
        .unwrap();
    w.screenshot("01-login").await.unwrap();
    w.click("login-submit").await.unwrap();

    // Today's screen and the site list, filled by the first sync.
    w.until(
        "the back alley is listed",
        &format!(r#"return [...document.querySelectorAll('[data-testid="site-list"] strong')].some(e => e.textContent === "{ALLEY}")"#),
    )
    .await
    .unwrap();
    w.screenshot("02-today-and-sites").await.unwrap();
    let site_button = w
        .js(&format!(
            r#"return [...document.querySelectorAll('[data-testid="site-list"] button')].find(b => b.querySelector('strong').textContent === "{ALLEY}").dataset.testid"#
        ))
        .await
        .unwrap();
    // The inspector opens the site by scanning its QR label: a photo of the label the office
    // printed, naming the county the app learnt at sign-in.
    let site = site_button.as_str().unwrap().trim_start_matches("site-");
    let app_db = app_dir.path().join("fieldcheck.db");
    scan_label(&w, &app_db, site.parse().unwrap(), photo_dir.path()).await;
    w.until(
        "the scanned label opened the back alley",
        &format!(r#"return document.querySelector('[data-testid="site-page"]').textContent.includes("{ALLEY}")"#),
    )
    .await
    .unwrap();
    w.screenshot("03-site").await.unwrap();
    w.click("start-inspection").await.unwrap();
    w.find("inspection-header").await.unwrap();

    // Answer the first half: the first verdict item fails.
    let all = items(&w).await;
    assert!(all.len() >= 6, "{all:?}");
    let failing = all.iter().find(|(_, verdict)| *verdict).unwrap().0.clone();
    let half = all.len() / 2;
    for (code, verdict) in &all[..half] {
        answer(&w, code, *verdict, *code == failing).await;
    }
    w.screenshot("04-inspection").await.unwrap();

    // A finding for the failing item, with two photos through the file input.
    w.click(&format!("add-finding-{failing}")).await.unwrap();
    w.find("finding-form").await.unwrap();
    w.find("finding-subcategory")
        .await
        .unwrap()
        .select_by_value("manhole_cover")
        .await
        .unwrap();
    w.type_into("finding-description", DESCRIPTION)
        .await
        .unwrap();
    w.click("finding-severity-critical").await.unwrap();
    w.click("finding-same-day").await.unwrap();
    w.type_into("finding-lat", "30.2731").await.unwrap();
    w.type_into("finding-lon", "120.1620").await.unwrap();
    w.type_into("finding-accuracy", "20").await.unwrap();
    w.click("finding-save").await.unwrap();
    w.find("finding-saved").await.unwrap();
    for (n, photo) in photos.iter().enumerate() {
        w.find("photo-input-before")
            .await
            .unwrap()
            .send_keys(photo.to_str().unwrap())
            .await
            .unwrap();
        w.until(
            "the stamped thumbnail shows",
            &format!(
                r#"const t = document.querySelectorAll('[data-testid="photo-thumb"]');
                   return t.length === {} && [...t].every(i => i.complete && i.naturalWidth > 0)"#,
                n + 1
            ),
        )
        .await
        .unwrap();
    }
    w.screenshot("05-finding").await.unwrap();
    w.click("photo-thumb").await.unwrap();
    w.until(
        "the photo shows",
        r#"const i = document.querySelector('[data-testid="photo-full"]'); return !!i && i.complete && i.naturalWidth > 0"#,
    )
    .await
    .unwrap();
    w.screenshot("06-photo-viewer").await.unwrap();
    w.click("photo-close").await.unwrap();
    w.click("finding-done").await.unwrap();
    w.find("inspection-header").await.unwrap();

    // The server goes away; work goes on.
    server.kill();
    let (second, rest) = all[half..].split_at(1);
    answer(&w, &second[0].0, second[0].1, false).await;
    w.click("tab-sync").await.unwrap();
    w.click("sync-now").await.unwrap();
    w.find("badge-offline").await.unwrap();
    let error = w.text("sync-error").await.unwrap();
    assert!(error.contains("没有网络信号"), "{error}");
    w.screenshot("07-sync-offline").await.unwrap();

    // Quit in the middle of the inspection and start again: it is offered for resuming.
    w.quit().await.unwrap();
    let w = desktop.open(&app).await.unwrap();
    w.click("tab-home").await.unwrap();
    let resume = w
        .js(r#"const b = document.querySelector('[data-testid^="resume-"]'); return b ? b.dataset.testid : null"#)
        .await
        .unwrap();
    let resume = match resume {
        Value::String(s) => s,
        _ => {
            w.find("resume").await.unwrap();
            w.js(r#"return document.querySelector('[data-testid^="resume-"]').dataset.testid"#)
                .await
                .unwrap()
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    w.screenshot("08-resume").await.unwrap();
    w.click(&resume).await.unwrap();
    w.find("inspection-header").await.unwrap();
    for (code, _) in all[..=half].iter() {
        let shown = w
            .js(&format!(
                r#"return document.querySelector('[data-testid="item-{code}"]').dataset.answer"#
            ))
            .await
            .unwrap();
        let expected = if *code == failing {
            "non_compliant"
        } else {
            ""
        };
        if expected.is_empty() {
            assert_ne!(
                shown,
                Value::String(String::new()),
                "{code} lost its answer"
            );
        } else {
            assert_eq!(shown, Value::String(expected.into()), "{code}");
        }
    }
    for (code, verdict) in rest {
        answer(&w, code, *verdict, false).await;
    }
    let progress = w.text("inspection-progress").await.unwrap();
    assert_eq!(progress, format!("已检查 {0} / {0} 项", all.len()));
    w.click("finish-inspection").await.unwrap();
    w.find("finish-summary").await.unwrap();
    w.click("summary-done").await.unwrap();
    w.find("site-list").await.unwrap();

    // The server is back: sync, and everything arrives.
    let server = ServerProcess::start_on(server_dir.path(), &address).unwrap();
    w.click("tab-sync").await.unwrap();
    w.click("sync-now").await.unwrap();
    w.find("sync-all-done").await.unwrap();
    w.until(
        "the badges say synced",
        r#"return !document.querySelector('[data-testid="badge-offline"]') && !!document.querySelector('[data-testid="badge-synced"]')"#,
    )
    .await
    .unwrap();
    w.screenshot("09-sync-done").await.unwrap();
    w.click("tab-rechecks").await.unwrap();
    w.find("rechecks").await.unwrap();
    // Nobody has sent the new finding to a unit yet (待派遣): nothing to go back to.
    w.until(
        "the list says there is nothing to re-check",
        &format!(
            r#"return document.querySelector('[data-testid="rechecks"]').innerText.includes("没有待复查的问题") && !document.body.innerText.includes("{DESCRIPTION}")"#
        ),
    )
    .await
    .unwrap();
    w.screenshot("10-rechecks").await.unwrap();
    w.click("tab-settings").await.unwrap();
    w.until("storage shows", r#"return document.querySelector('[data-testid="settings-storage"]').textContent.includes("2 张")"#)
        .await
        .unwrap();
    w.screenshot("11-settings").await.unwrap();
    w.quit().await.unwrap();
    drop(desktop);

    // The tablet holds what was done on screen, and the server holds exactly that.
    let store = Store::open(app_dir.path().join("fieldcheck.db")).unwrap();
    let finished = store.finished_inspections(None).unwrap();
    assert_eq!(finished.len(), 1);
    assert!(store.unfinished_inspections().unwrap().is_empty());
    let results = store.results(finished[0].id).unwrap();
    assert_eq!(results.len(), all.len());
    let failed: Vec<_> = results
        .iter()
        .filter(|r| r.value == ItemValue::NonCompliant)
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].item_code, failing);
    let findings = store.inspection_findings(finished[0].id).unwrap();
    assert_eq!(findings.len(), 1);
    let f = &findings[0];
    // The form proposed the item's wording; the inspector's words follow it.
    assert!(
        f.description
            .ends_with(&format!("不符合要求。{DESCRIPTION}")),
        "{}",
        f.description
    );
    assert_eq!(
        (f.same_day, f.subcategory.as_str()),
        (true, "manhole_cover")
    );
    assert_eq!(f.item_code.as_deref(), Some(failing.as_str()));
    let position = f.position.expect("the typed position");
    assert_eq!(
        (position.lat, position.source),
        (30.2731, PositionSource::Manual)
    );
    assert_eq!(store.finding_photos(f.id).unwrap().len(), 2);
    let number = store
        .finding_number(f.id)
        .unwrap()
        .expect("numbered at sync");
    assert!(
        fieldcheck_domain::finding_number::is_valid(&number),
        "{number}"
    );
    let checked = check_converged_and_stored(
        &store,
        &app_dir.path().join("photos"),
        &server.export().unwrap(),
        server_dir.path(),
    )
    .unwrap();
    assert_eq!(checked, 2);
    println!("screenshots: {}", artifacts_dir().display());
}

/// Scans `site`'s QR label on the home screen: a photo of the label the office printed, naming
/// the county the app (database `app_db`) learnt at sign-in; waits for the site page.
async fn scan_label(
    w: &AppWindow,
    app_db: &std::path::Path,
    site: uuid::Uuid,
    dir: &std::path::Path,
) {
    let county: String = rusqlite::Connection::open(app_db)
        .unwrap()
        .query_row("SELECT county_id FROM sync_state", [], |r| r.get(0))
        .unwrap();
    let label = SiteLabel {
        county: county.parse().unwrap(),
        site,
    };
    let label_photo = dir.join("label.jpg");
    std::fs::write(
        &label_photo,
        fieldcheck_tests::photos::qr_jpeg(&label.text()),
    )
    .unwrap();
    w.find("scan-label")
        .await
        .unwrap()
        .send_keys(label_photo.to_str().unwrap())
        .await
        .unwrap();
    w.find("site-page").await.unwrap();
}

/// Waits until `query` (one integer) on the SQLite file `db` returns at least `want`.
async fn until_rows(db: &std::path::Path, query: &str, arg: &str, want: i64) {
    for _ in 0..300 {
        let n: i64 = rusqlite::Connection::open(db)
            .unwrap()
            .query_row(query, [arg], |r| r.get(0))
            .unwrap_or(0);
        if n >= want {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    panic!("{query} ({arg}) never reached {want}");
}

/// 回头看 in the real app (issue #16): inspector A (a tablet in this process) reports a
/// finding with a before-photo; inspector B signs in on the app, syncs, goes offline, checks
/// in by scanning the site's label, opens A's finding and sees A's before-photo from the cache,
/// takes an after-photo, marks it with a finger-drawn arrow, confirms the fix, and syncs when
/// the server is back. The office then holds both photos, the marked copy linked to its
/// original and the signed check-in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recheck_of_another_inspectors_finding_reaches_the_office_with_its_marking() {
    use rand::SeedableRng;

    let (server_dir, app_dir, a_dir, photo_dir) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    ServerProcess::prepare(server_dir.path(), &[USER, "xiaoli"]).unwrap();
    fieldcheck_tests::office::add_office_account(server_dir.path()).unwrap();
    let server = ServerProcess::start(server_dir.path()).unwrap();
    let address = server.url.trim_start_matches("http://").to_string();

    // Inspector A reports the finding with a before-photo and syncs.
    let a = fieldcheck_tests::tablet::Tablet::open(
        a_dir.path(),
        "xiaoli",
        fieldcheck_core::sync::api::Timeouts::default(),
        &mut rand::rngs::StdRng::seed_from_u64(5),
    );
    a.engine
        .login(&server.url, "xiaoli", INSPECTOR_PASSWORD)
        .await
        .unwrap();
    a.engine.sync_now().await.unwrap();
    let (finding, before) = a.report_finding(ALLEY, 21);
    a.engine.sync_now().await.unwrap();
    // The office sends it to a unit: from now on inspectors go back to it (回头看).
    let deadline =
        fieldcheck_domain::china_time::china_date(fieldcheck_domain::clock::wall_clock_ms());
    let office_key = tempfile::tempdir().unwrap();
    fieldcheck_tests::office::dispatch(
        &server.url,
        office_key.path(),
        finding.id,
        "housing",
        &deadline,
    )
    .await
    .unwrap();

    // Inspector B signs in on the app; the first sync brings the finding and the thumbnail.
    let desktop = app_desktop(app_dir.path(), &server.url);
    let w = desktop.open(&app_binary().unwrap()).await.unwrap();
    w.type_into("login-username", USER).await.unwrap();
    w.type_into("login-password", INSPECTOR_PASSWORD)
        .await
        .unwrap();
    w.click("login-submit").await.unwrap();
    let app_db = app_dir.path().join("fieldcheck.db");
    until_rows(
        &app_db,
        "SELECT COUNT(*) FROM photo_cache WHERE sha256 = ?1 AND variant = 'thumb'",
        &before.sha256,
        1,
    )
    .await;

    // Offline from here: the server stops.
    drop(server);
    scan_label(&w, &app_db, finding.site_id, photo_dir.path()).await;
    w.until(
        "the site page says checked in",
        r#"return document.querySelector('[data-testid="checkin"]').textContent.includes("✓")"#,
    )
    .await
    .unwrap();
    w.screenshot("12-site-checked-in").await.unwrap();

    // The re-check: A's before-photo shows from the cache, offline.
    w.click("tab-rechecks").await.unwrap();
    w.find("rechecks").await.unwrap();
    let row = format!("finding-{}", finding.id);
    w.until(
        "A's finding is listed",
        &format!(r#"return !!document.querySelector('[data-testid="{row}"] button')"#),
    )
    .await
    .unwrap();
    w.js(&format!(
        r#"document.querySelector('[data-testid="{row}"] button').click(); return true"#
    ))
    .await
    .unwrap();
    w.find("recheck").await.unwrap();
    wait_for_the_before_photo(&w, "A's before-photo is shown").await;
    let after_photo = photo_dir.path().join("after.jpg");
    std::fs::write(
        &after_photo,
        fieldcheck_tests::photos::noisy_jpeg(1600, 1200, 22),
    )
    .unwrap();
    w.find("photo-input-after")
        .await
        .unwrap()
        .send_keys(after_photo.to_str().unwrap())
        .await
        .unwrap();
    w.find("recheck-mark").await.unwrap();
    w.click("recheck-mark").await.unwrap();
    // A finger's drag across the photo: an arrow.
    draw_an_arrow(&w).await;
    w.screenshot("13-marking").await.unwrap();
    w.click("marker-save").await.unwrap();
    w.find("recheck-marked-thumb").await.unwrap();
    w.js(r#"document.querySelector('[data-testid="recheck"]').scrollIntoView(); return true"#)
        .await
        .unwrap();
    w.screenshot("14-recheck-before-after").await.unwrap();
    w.click("recheck-fixed").await.unwrap();
    w.find("recheck-done").await.unwrap();

    // Online again: sync.
    let server = ServerProcess::start_on(server_dir.path(), &address).unwrap();
    w.click("tab-sync").await.unwrap();
    w.click("sync-now").await.unwrap();
    w.find("sync-all-done").await.unwrap();
    w.quit().await.unwrap();
    drop(desktop);

    // The office holds A's before-photo, B's after-photo and its marked copy (linked to it,
    // every one stored), B's step and B's check-in.
    let export = server.export().unwrap();
    let photos: Vec<&Value> = export["photos"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["finding_id"] == finding.id.to_string())
        .collect();
    assert_eq!(photos.len(), 3, "{photos:?}");
    let marked = photos
        .iter()
        .find(|p| p["marked_from"].is_string())
        .expect("a marked copy");
    let original = marked["marked_from"].as_str().unwrap();
    let after = photos
        .iter()
        .find(|p| p["sha256"] == original)
        .expect("the original of the marked copy");
    assert_eq!(after["kind"], "after");
    assert_eq!(marked["kind"], "after");
    let db = rusqlite::Connection::open(server_dir.path().join("fieldcheck.sqlite3")).unwrap();
    for sha in [
        before.sha256.as_str(),
        original,
        marked["sha256"].as_str().unwrap(),
    ] {
        let stored: Option<i64> = db
            .query_row(
                "SELECT stored_at FROM photos WHERE sha256 = ?1",
                [sha],
                |r| r.get(0),
            )
            .unwrap();
        assert!(stored.is_some(), "{sha} reached the server");
    }
    let check_ins: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM check_ins WHERE inspector = ?1 AND site_id = ?2",
            [USER, &finding.site_id.to_string()],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(check_ins, 1);
    let steps = export["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["finding_id"] == finding.id.to_string() && e["actor"] == USER)
        .count();
    assert_eq!(steps, 1, "B's re-check step");
}
