//! Steps the end-to-end tests take in the real app, written once: starting its desktop,
//! reading the app's database, answering what is left of a checklist, waiting for a re-check's
//! before-photo, drawing on a photo in the marker.

use crate::app_driver::{AppWindow, Desktop};
use serde_json::Value;
use std::path::Path;

/// The app's desktop (Xvfb, tauri-driver) with its data in `app_dir`, offering `server_url`.
pub fn app_desktop(app_dir: &Path, server_url: &str) -> Desktop {
    Desktop::start(&[
        ("FIELDCHECK_APP_DATA_DIR", app_dir.display().to_string()),
        ("FIELDCHECK_SERVER_URL", server_url.to_string()),
        // The app paints on the CPU unless told otherwise (src-tauri/src/main.rs); with CPU
        // painting, WebKitWebDriver's screenshot command leaves the next command hanging
        // (WebKitGTK 2.50), so these tests, which take screenshots, ask for compositing. The
        // binary is the same; the benchmark drives it as it ships.
        ("WEBKIT_DISABLE_COMPOSITING_MODE", "0".into()),
    ])
    .unwrap()
}

/// Waits until the open re-check shows its before-photo, decoded (`what` names it in a
/// timeout's message).
pub async fn wait_for_the_before_photo(w: &AppWindow, what: &str) {
    w.until(
        what,
        r#"const img = document.querySelector('[data-testid="recheck-before"] img');
           return !!img && img.complete && img.naturalWidth > 0"#,
    )
    .await
    .unwrap();
}

/// One text column of the app's database, by a query with one argument (`None`: no row).
pub fn app_text(db: &Path, query: &str, arg: &str) -> Option<String> {
    rusqlite::Connection::open(db)
        .unwrap()
        .query_row(query, [arg], |r| r.get(0))
        .ok()
}

/// Answers every item of the open inspection not answered yet: 符合, or 不适用 for a count or a
/// percentage; waits until each row shows its answer. Returns how many items the checklist has.
pub async fn answer_the_rest(w: &AppWindow) -> usize {
    let codes = w
        .js(r#"return [...document.querySelectorAll('[data-testid^="item-"]')].map(e => e.dataset.testid.slice(5))"#)
        .await
        .unwrap();
    let codes: Vec<String> = serde_json::from_value(codes).unwrap();
    for code in &codes {
        let row = format!(r#"document.querySelector('[data-testid="item-{code}"]')"#);
        if w.js(&format!("return {row}.dataset.answer")).await.unwrap() != "" {
            continue;
        }
        let verdict = w
            .js(&format!(
                r#"return !!document.querySelector('[data-testid="answer-{code}-compliant"]')"#
            ))
            .await
            .unwrap()
            == Value::Bool(true);
        let kind = if verdict {
            "compliant"
        } else {
            "not_applicable"
        };
        w.click(&format!("answer-{code}-{kind}")).await.unwrap();
        w.until(
            &format!("{code} answered"),
            &format!(r#"return {row}.dataset.answer === "{kind}""#),
        )
        .await
        .unwrap();
    }
    codes.len()
}

/// In the open photo marker: waits for the photo on the canvas, drags a finger across it (an
/// arrow) and waits until the drawing can be saved.
pub async fn draw_an_arrow(w: &AppWindow) {
    w.find("marker-canvas").await.unwrap();
    w.until(
        "the photo is on the canvas",
        // A canvas is 300 px wide before anything is drawn on it: wait for the photo's own size,
        // and for the canvas to be shown.
        r#"const c = document.querySelector('[data-testid="marker-canvas"]');
           const img = document.querySelector('[data-testid="marker-source"]');
           return img.complete && img.naturalWidth > 0 && c.width === img.naturalWidth
             && c.getBoundingClientRect().width > 0"#,
    )
    .await
    .unwrap();
    w.js(
        r#"const c = document.querySelector('[data-testid="marker-canvas"]');
            const r = c.getBoundingClientRect();
            const at = (type, fx, fy) => c.dispatchEvent(new PointerEvent(type, {
              bubbles: true, cancelable: true, pointerId: 7, pointerType: "touch", isPrimary: true,
              button: 0, clientX: r.left + r.width * fx, clientY: r.top + r.height * fy }));
            at("pointerdown", 0.3, 0.3); at("pointermove", 0.5, 0.5); at("pointerup", 0.6, 0.6);
            return true"#,
    )
    .await
    .unwrap();
    w.until(
        "the drawing can be saved",
        r#"return !document.querySelector('[data-testid="marker-save"]').disabled"#,
    )
    .await
    .unwrap();
}
