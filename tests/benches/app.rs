//! The tablet app's speed as an inspector feels it, measured in the real app (release build,
//! WebKitGTK under Xvfb, driven through tauri-driver) against a real server:
//! - app start to an interactive site list (process start to the list rendered with sites);
//! - a tap on 不符合 to the row showing it (click → IPC → SQLite commit → row re-rendered);
//! - photo chosen to its stamped thumbnail visible (file input change → raw IPC body → photo
//!   pipeline → thumbnail loaded through the `photo:` scheme).
//!
//! Anchor, measured in the same run: one `app_info` IPC round trip from the page.
//!
//! Run: `(cd ui && npm ci && npm run build) && cargo build --release -p fieldcheck-app -p fieldcheck-server && cargo bench -p fieldcheck-tests --bench app`

use fieldcheck_tests::app_driver::{AppWindow, Desktop, app_binary};
use fieldcheck_tests::server::{INSPECTOR_PASSWORD, ServerProcess};
use serde_json::json;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const STARTS: usize = 5;
const TAPS: usize = 12;
const PHOTOS: usize = 6;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn epoch_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        * 1000.0
}

async fn ipc_round_trip(w: &AppWindow) -> f64 {
    let v = w
        .client
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
               const t0 = performance.now();
               window.__TAURI_INTERNALS__.invoke("app_info").then(() => done(performance.now() - t0));"#,
            vec![],
        )
        .await
        .unwrap();
    v.as_f64().unwrap()
}

/// Opens the app and returns the time from before the process was started to the site list
/// rendered with sites, as marked by the page (`performance.mark("sites-interactive")`).
async fn start(desktop: &Desktop, app: &std::path::Path) -> (AppWindow, f64) {
    let t0 = epoch_ms();
    let w = desktop.open(app).await.unwrap();
    w.until(
        "site list",
        r#"const l = document.querySelector('[data-testid="site-list"]');
           return !!l && l.dataset.ready === "yes" && l.querySelectorAll("li").length > 0"#,
    )
    .await
    .unwrap();
    let mark = w
        .js(r#"return performance.timeOrigin + performance.getEntriesByName("sites-interactive")[0].startTime"#)
        .await
        .unwrap();
    (w, mark.as_f64().unwrap() - t0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let server_dir = tempfile::tempdir().unwrap();
    let app_dir = tempfile::tempdir().unwrap();
    ServerProcess::prepare(server_dir.path(), &["bench"]).unwrap();
    let server = ServerProcess::start(server_dir.path()).unwrap();
    let app = app_binary().unwrap();
    let desktop = Desktop::start(&[
        (
            "FIELDCHECK_APP_DATA_DIR",
            app_dir.path().display().to_string(),
        ),
        ("FIELDCHECK_SERVER_URL", server.url.clone()),
    ])
    .unwrap();

    // Sign in once; the first sync brings the sites.
    let w = desktop.open(&app).await.unwrap();
    w.type_into("login-username", "bench").await.unwrap();
    w.type_into("login-password", INSPECTOR_PASSWORD)
        .await
        .unwrap();
    w.click("login-submit").await.unwrap();
    w.until(
        "sites pulled",
        r#"return document.querySelectorAll('[data-testid="site-list"] li').length >= 10"#,
    )
    .await
    .unwrap();
    w.quit().await.unwrap();

    let mut starts = Vec::new();
    for _ in 0..STARTS {
        let (w, ms) = start(&desktop, &app).await;
        starts.push(ms);
        w.quit().await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let (w, _) = start(&desktop, &app).await;
    let anchors: Vec<f64> = {
        let mut v = Vec::new();
        for _ in 0..20 {
            v.push(ipc_round_trip(&w).await);
        }
        v
    };

    // Taps on 不符合 in a back-alley inspection.
    let alley = w
        .js(r#"return document.querySelector('[data-testid="site-list"] [data-site-type="back_alley"]').dataset.testid"#)
        .await
        .unwrap();
    w.click(alley.as_str().unwrap()).await.unwrap();
    w.click("start-inspection").await.unwrap();
    w.find("inspection-header").await.unwrap();
    let codes: Vec<String> = serde_json::from_value(
        w.js(r#"return [...document.querySelectorAll('[data-testid$="-non_compliant"]')].map(b => b.dataset.testid.slice(7, -14))"#)
            .await
            .unwrap(),
    )
    .unwrap();
    let mut taps = Vec::new();
    for (i, code) in codes.iter().cycle().take(TAPS).enumerate() {
        // 不符合 on every item, then 符合 on the same items: every tap changes its row.
        let kind = if (i / codes.len()).is_multiple_of(2) {
            "non_compliant"
        } else {
            "compliant"
        };
        let v = w
            .client
            .execute_async(
                r#"const [code, kind, done] = arguments;
                   const row = document.querySelector(`[data-testid="item-${code}"]`);
                   const button = row.querySelector(`[data-testid="answer-${code}-${kind}"]`);
                   const t0 = performance.now();
                   const seen = () => row.dataset.answer === kind && button.getAttribute("aria-pressed") === "true";
                   const obs = new MutationObserver(() => { if (seen()) { obs.disconnect(); requestAnimationFrame(() => done(performance.now() - t0)); } });
                   obs.observe(row, { attributes: true, subtree: true });
                   button.click();"#,
                vec![json!(code), json!(kind)],
            )
            .await
            .unwrap();
        taps.push(v.as_f64().unwrap());
    }

    // Photos on a finding: chosen to thumbnail visible.
    let failing = w
        .js(r#"return document.querySelector('[data-answer="non_compliant"]').dataset.testid.slice(5)"#)
        .await
        .unwrap();
    let failing = failing.as_str().unwrap();
    w.click(&format!("add-finding-{failing}")).await.unwrap();
    w.click("finding-description").await.unwrap();
    w.find("finding-subcategory")
        .await
        .unwrap()
        .select_by_value("manhole_cover")
        .await
        .unwrap();
    w.type_into("finding-description", "井盖破损")
        .await
        .unwrap();
    w.click("finding-save").await.unwrap();
    w.find("finding-saved").await.unwrap();
    let photo_dir = tempfile::tempdir().unwrap();
    let mut photos = Vec::new();
    for n in 0..PHOTOS {
        // A 12-megapixel camera photo (4000×3000), as a tablet's camera hands it over.
        let path = photo_dir.path().join(format!("p{n}.jpg"));
        std::fs::write(
            &path,
            fieldcheck_tests::photos::noisy_jpeg(4000, 3000, n as u64),
        )
        .unwrap();
        w.js("performance.clearMarks(); return true").await.unwrap();
        w.find("photo-input-before")
            .await
            .unwrap()
            .send_keys(path.to_str().unwrap())
            .await
            .unwrap();
        w.until(
            "thumbnail",
            r#"return performance.getEntriesByName("thumb-visible").length > 0"#,
        )
        .await
        .unwrap();
        let v = w
            .js(r#"return performance.getEntriesByName("thumb-visible")[0].startTime - performance.getEntriesByName("photo-chosen")[0].startTime"#)
            .await
            .unwrap();
        photos.push(v.as_f64().unwrap());
    }
    w.quit().await.unwrap();

    let anchor = median(anchors);
    let report = |name: &str, v: Vec<f64>| {
        let n = v.len();
        let (lo, hi) = (
            v.iter().copied().fold(f64::MAX, f64::min),
            v.iter().copied().fold(0.0, f64::max),
        );
        let m = median(v);
        println!(
            "{name:<40} median {m:8.1} ms  (min {lo:.1}, max {hi:.1}, n={n})  = {:.0}× anchor",
            m / anchor
        );
    };
    println!("anchor: app_info IPC round trip        median {anchor:8.2} ms");
    report("start → interactive site list", starts);
    report("tap 不符合 → row shows it", taps);
    report("photo chosen (12 MP) → thumbnail visible", photos);
}
