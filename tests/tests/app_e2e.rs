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
use fieldcheck_tests::app_driver::{AppWindow, Desktop, app_binary, artifacts_dir};
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
    let desktop = Desktop::start(&[
        (
            "FIELDCHECK_APP_DATA_DIR",
            app_dir.path().display().to_string(),
        ),
        ("FIELDCHECK_SERVER_URL", server.url.clone()),
        // The app paints on the CPU unless told otherwise (src-tauri/src/main.rs); with CPU
        // painting, WebKitWebDriver's screenshot command leaves the next command hanging
        // (WebKitGTK 2.50), so this test, which takes screenshots, asks for compositing. The
        // binary is the same; the benchmark drives it as it ships.
        ("WEBKIT_DISABLE_COMPOSITING_MODE", "0".into()),
    ])
    .unwrap();
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
    let county: String = rusqlite::Connection::open(app_dir.path().join("fieldcheck.db"))
        .unwrap()
        .query_row("SELECT county_id FROM sync_state", [], |r| r.get(0))
        .unwrap();
    let label = SiteLabel {
        county: county.parse().unwrap(),
        site: site.parse().unwrap(),
    };
    let label_photo = photo_dir.path().join("label.jpg");
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
    w.until(
        "the finding is listed",
        &format!(r#"return document.body.innerText.includes("{DESCRIPTION}")"#),
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
    assert_eq!(
        (f.description.as_str(), f.same_day, f.subcategory.as_str()),
        (DESCRIPTION, true, "manhole_cover")
    );
    assert_eq!(f.item_code.as_deref(), Some(failing.as_str()));
    let position = f.position.expect("the typed position");
    assert_eq!(
        (position.lat, position.source),
        (30.2731, PositionSource::Manual)
    );
    assert_eq!(store.finding_photos(f.id).unwrap().len(), 2);
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
