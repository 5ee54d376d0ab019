//! The tablet app's speed as an inspector feels it, measured in the real app (release build,
//! WebKitGTK under Xvfb, driven through tauri-driver) against a real server:
//! - app start to an interactive site list (process start to the list rendered with sites);
//! - a tap on 不符合 to the row showing it (click → IPC → SQLite commit → row re-rendered);
//! - photo chosen to its stamped thumbnail visible (file input change → raw IPC body → photo
//!   pipeline → thumbnail loaded through the `photo:` scheme);
//! - scrolling a 60-item checklist (a back-alley template grown to 60 items for the run):
//!   the longest frame, and the 95th percentile, while the page scrolls by 40 px a frame.
//!
//! Anchors, measured in the same run: one `app_info` IPC round trip from the page, and a frame
//! of the same page standing still.
//!
//! The app must be the release build as the bundle ships it (checked: not a dev build,
//! libjpeg-turbo); `scripts/bench-app.sh` builds it and runs this.

use fieldcheck_tests::app_driver::{AppWindow, Desktop, app_binary};
use fieldcheck_tests::server::{INSPECTOR_PASSWORD, ServerProcess};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const STARTS: usize = 5;
const TAPS: usize = 12;
const PHOTOS: usize = 6;
/// Items of the checklist that is scrolled.
const CHECKLIST_ITEMS: usize = 60;
/// Scrolls from top to bottom and back, each.
const SCROLLS: usize = 3;

/// A copy of the shipped template pack in `dir` whose back-alley checklist has
/// [`CHECKLIST_ITEMS`] items (its own items repeated under new codes).
fn pack_with_long_checklist(dir: &Path) -> PathBuf {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                copy(&path, &to.join(entry.file_name()));
            } else {
                std::fs::copy(&path, to.join(entry.file_name())).unwrap();
            }
        }
    }
    let pack = dir.join("pack");
    copy(&fieldcheck_tests::content_dir(), &pack);
    let path = pack.join("templates/back_alley.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    // `[[items]]` on a line of its own (the header's comments mention it too).
    let mut parts = text.split("\n[[items]]\n");
    let head = parts.next().unwrap().to_string();
    let items: Vec<&str> = parts.collect();
    let mut out = head;
    for n in 0..CHECKLIST_ITEMS {
        let item: String = items[n % items.len()]
            .lines()
            .map(|l| {
                if l.starts_with("code = ") {
                    format!("code = \"BA-{:02}\"", n + 1)
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        out.push_str("\n[[items]]\n");
        out.push_str(&item);
        out.push('\n');
    }
    std::fs::write(&path, out).unwrap();
    pack
}

/// Frame intervals (ms) while the page scrolls by 40 px a frame from the top to the bottom and
/// back, or, with `still`, over 120 frames of the page standing still (20 s at most).
async fn frames(w: &AppWindow, still: bool) -> Vec<f64> {
    let v = w
        .client
        .execute_async(
            r#"const [still, done] = arguments;
               const page = document.scrollingElement;
               page.scrollTop = 0;
               const frames = [], t0 = performance.now();
               let last = null, down = true, prev = -1, stalled = 0;
               function tick(t) {
                 if (last !== null) frames.push(t - last);
                 last = t;
                 if (t - t0 > 20000) return done(frames);
                 if (still) {
                   if (frames.length >= 120) return done(frames);
                 } else {
                   // At either end the page stops moving: turn back at the bottom, stop at the top.
                   const y = page.scrollTop;
                   stalled = y === prev ? stalled + 1 : 0;
                   prev = y;
                   if (stalled >= 2) {
                     if (!down) return done(frames);
                     down = false;
                     stalled = 0;
                   }
                   page.scrollTop = y + (down ? 40 : -40);
                 }
                 requestAnimationFrame(tick);
               }
               requestAnimationFrame(tick);"#,
            vec![json!(still)],
        )
        .await
        .unwrap();
    serde_json::from_value(v).unwrap()
}

fn percentile(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

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
    let pack = pack_with_long_checklist(server_dir.path());
    let data = server_dir.path().join("server");
    ServerProcess::prepare_with_pack(&data, &pack, &["bench"]).unwrap();
    let server = ServerProcess::start(&data).unwrap();
    let app = app_binary().unwrap();
    let desktop = Desktop::start(&[
        (
            "FIELDCHECK_APP_DATA_DIR",
            app_dir.path().display().to_string(),
        ),
        ("FIELDCHECK_SERVER_URL", server.url.clone()),
    ])
    .unwrap();

    // Sign in once; the first sync brings the sites. Only the shipped build is measured.
    let w = desktop.open(&app).await.unwrap();
    w.ensure_shipped_build().await.unwrap();
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
    let items = w
        .js(r#"return document.querySelectorAll('[data-testid^="item-"]').length"#)
        .await
        .unwrap();
    assert_eq!(items, json!(CHECKLIST_ITEMS), "the checklist to scroll");
    let still = frames(&w, true).await;
    let mut scrolling = Vec::new();
    for _ in 0..SCROLLS {
        scrolling.extend(frames(&w, false).await);
    }
    w.js("window.scrollTo(0, 0); return true").await.unwrap();
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
    let frame = median(still.clone());
    println!(
        "frame, page standing still (anchor 2)   median {frame:8.1} ms  (max {:.1}, n={})",
        still.iter().copied().fold(0.0, f64::max),
        still.len()
    );
    println!(
        "frame, scrolling {CHECKLIST_ITEMS} items                 median {:8.1} ms  (p95 {:.1}, max {:.1}, n={})  = {:.2}× a still frame",
        median(scrolling.clone()),
        percentile(scrolling.clone(), 0.95),
        scrolling.iter().copied().fold(0.0, f64::max),
        scrolling.len(),
        median(scrolling.clone()) / frame
    );
}
