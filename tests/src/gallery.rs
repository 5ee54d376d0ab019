//! The screenshot gallery (`docs/gallery/`, issue #17): every screen of the app and the
//! dashboard at the three sizes the product is checked at, taken by the gallery tests
//! (`tests/tests/gallery_app.rs`, `tests/tests/gallery_dashboard.rs`).
//!
//! The pictures go to `docs/gallery/<side>/` only with `FIELDCHECK_UPDATE_GALLERY=1` (as the
//! bindings with `FIELDCHECK_UPDATE_BINDINGS=1`); otherwise to
//! `<target>/test-artifacts/gallery/<side>/`, so that a normal test run leaves the repository
//! clean. When updating, each picture is re-encoded with `pngquant` if it is installed
//! (Debian's `pngquant`), which keeps the gallery a few megabytes.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The sizes every screen is shown at: a landscape tablet or laptop, an older 4:3 screen, and
/// a portrait tablet (width, height in CSS pixels).
pub const SIZES: [(u32, u32); 3] = [(1280, 800), (1024, 768), (800, 1280)];

/// The environment variable that sends the pictures to `docs/gallery/`.
pub const UPDATE_VAR: &str = "FIELDCHECK_UPDATE_GALLERY";

/// Whether this run updates `docs/gallery/` (`FIELDCHECK_UPDATE_GALLERY=1`).
pub fn updating() -> bool {
    std::env::var(UPDATE_VAR).is_ok_and(|v| v == "1")
}

/// `1280x800` for (1280, 800).
pub fn size_name((width, height): (u32, u32)) -> String {
    format!("{width}x{height}")
}

/// Where the pictures of `side` (`app` or `dashboard`) go, created: `docs/gallery/<side>` when
/// [`updating`], else `<target>/test-artifacts/gallery/<side>`.
pub fn dir(side: &str) -> PathBuf {
    let dir = if updating() {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../docs/gallery")
            .join(side)
    } else {
        let target = crate::server::binary()
            .parent()
            .and_then(Path::parent)
            .expect("target directory")
            .to_path_buf();
        target.join("test-artifacts/gallery").join(side)
    };
    std::fs::create_dir_all(&dir).expect("create the gallery directory");
    dir
}

/// Saves one screenshot as `<dir(side)>/<name>-<size>.png` and returns its path; when
/// [`updating`], re-encodes it with `pngquant` if that is installed.
pub fn save(side: &str, name: &str, size: (u32, u32), png: &[u8]) -> PathBuf {
    let path = dir(side).join(format!("{name}-{}.png", size_name(size)));
    std::fs::write(&path, png).expect("write the screenshot");
    if updating() {
        // A missing pngquant leaves the full-size picture; the exit code 98/99 means the
        // quantized one would not be smaller or good enough, which leaves it too.
        let _ = Command::new("pngquant")
            .args(["--force", "--skip-if-larger", "--quality", "65-90"])
            .args(["--ext", ".png"])
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    path
}

/// The app's error banners: `ErrorNote` (`.notice`, `role=alert`) and inline `.error`s.
pub const APP_BANNERS: &str = "[role=alert], .error, .notice";

/// The dashboard's error banners: `p.error` (sign-in, error pages, failed exports) and
/// `role=alert` (a refused form). Its `.notice` is information (待派遣, an import report).
pub const DASHBOARD_BANNERS: &str = "[role=alert], .error";

/// A script (a WebDriver `execute` body) that describes the page as the gallery tests check
/// it: `{ width, height, scrollWidth, key, alerts }`, where `key` says whether the element
/// `arguments[0]` (a CSS selector) is on screen with a size, and `alerts` lists the texts of
/// visible error banners (elements matching `arguments[2]`, [`APP_BANNERS`] or
/// [`DASHBOARD_BANNERS`]) outside `arguments[1]` (a CSS selector of banners the screen is
/// meant to show, or "").
pub const PAGE_FACTS: &str = r#"
const [keySel, allowed, banners] = arguments;
const shown = (e) => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0
  && getComputedStyle(e).visibility !== 'hidden'; };
const key = [...document.querySelectorAll(keySel)].some(shown);
const alerts = [...document.querySelectorAll(banners)]
  .filter(e => shown(e) && !(allowed && e.closest(allowed)))
  .map(e => e.innerText.trim()).filter(t => t.length > 0);
return { width: window.innerWidth, height: window.innerHeight,
         scrollWidth: document.documentElement.scrollWidth, key, alerts };
"#;

/// What [`PAGE_FACTS`] returned, checked: the viewport is `size`, nothing is wider than it,
/// the key element is shown and no unexpected error banner is. Panics naming `screen`.
pub fn check_page(screen: &str, size: (u32, u32), facts: &serde_json::Value) {
    let at = size_name(size);
    let num = |k: &str| facts[k].as_f64().unwrap_or(f64::NAN);
    assert_eq!(
        (num("width"), num("height")),
        (f64::from(size.0), f64::from(size.1)),
        "{screen} at {at}: the viewport is not the gallery size: {facts}"
    );
    assert!(
        num("scrollWidth") <= num("width"),
        "{screen} at {at}: the page is wider than the window (horizontal scrolling): {facts}"
    );
    assert_eq!(
        facts["key"],
        serde_json::Value::Bool(true),
        "{screen} at {at}: its key element is not shown: {facts}"
    );
    assert_eq!(
        facts["alerts"].as_array().map(Vec::len),
        Some(0),
        "{screen} at {at}: an error banner is shown: {facts}"
    );
}
