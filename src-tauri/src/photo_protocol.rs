//! The `photo:` URI scheme: serves the tablet's stored photos and thumbnails to `<img>` tags,
//! by hash only (`photo://localhost/t-<sha256>` for a thumbnail, `.../p-<sha256>` for the
//! photo), so the UI needs no file-system permission at all. Other tablets' photos come from
//! the photo cache (a thumbnail stands in for a full photo not fetched yet). Answers carry
//! `Access-Control-Allow-Origin: *` so that the marking screen may draw a photo on a canvas and
//! export it.

use crate::state::{AppState, PHOTO_DIR};
use fieldcheck_core::photo::PhotoCache;
use fieldcheck_core::store::Store;
use fieldcheck_core::store::photo_cache::CacheVariant;
use std::path::PathBuf;
use std::sync::Mutex;
use tauri::http::{Request, Response, StatusCode, header};
use tauri::{Manager, Runtime, UriSchemeContext, UriSchemeResponder};

/// The scheme's name.
pub const SCHEME: &str = "photo";

/// Answers one request of the scheme off the UI's thread.
pub fn serve<R: Runtime>(
    ctx: UriSchemeContext<'_, R>,
    request: Request<Vec<u8>>,
    responder: UriSchemeResponder,
) {
    let held = ctx
        .app_handle()
        .try_state::<AppState>()
        .map(|s| (s.data_dir.join(PHOTO_DIR), s.store.clone(), s.cache.clone()));
    let path = request.uri().path().to_string();
    tauri::async_runtime::spawn_blocking(move || {
        let found = held.and_then(|(dir, store, cache)| read(&dir, &store, &cache, &path));
        let response = match found {
            Some(bytes) => Response::builder()
                .header(header::CONTENT_TYPE, "image/jpeg")
                .header(header::CACHE_CONTROL, "no-cache")
                .header(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")
                .body(bytes),
            _ => Response::builder()
                .status(StatusCode::NOT_FOUND)
                .body(Vec::new()),
        };
        responder.respond(response.expect("a response from valid parts"));
    });
}

/// The bytes a request path names: the tablet's own photo, else the cached copy (marked used).
fn read(
    dir: &std::path::Path,
    store: &Mutex<Store>,
    cache: &PhotoCache,
    path: &str,
) -> Option<Vec<u8>> {
    if let Some(bytes) = file_for(dir, path).and_then(|f| std::fs::read(f).ok()) {
        return Some(bytes);
    }
    let (thumb, sha) = parse(path)?;
    let wanted: &[CacheVariant] = if thumb {
        &[CacheVariant::Thumb]
    } else {
        &[CacheVariant::Full, CacheVariant::Thumb]
    };
    let mut store = store.lock().unwrap_or_else(|e| e.into_inner());
    let now = fieldcheck_domain::clock::wall_clock_ms();
    wanted.iter().find_map(|v| {
        let file = cache.get(&mut store, sha, *v, now).ok()??;
        std::fs::read(file).ok()
    })
}

/// What a request path names: `/t-<sha256>` (thumbnail) or `/p-<sha256>` (photo), 64
/// lower-case hex digits; `(thumb, sha)`.
fn parse(path: &str) -> Option<(bool, &str)> {
    let name = path.trim_start_matches('/');
    let (kind, sha) = name.split_once('-')?;
    let hex = fieldcheck_domain::limits::is_sha256(sha);
    match kind {
        "t" if hex => Some((true, sha)),
        "p" if hex => Some((false, sha)),
        _ => None,
    }
}

/// The file in the photo directory a request path names.
fn file_for(dir: &std::path::Path, path: &str) -> Option<PathBuf> {
    let (thumb, sha) = parse(path)?;
    Some(if thumb {
        dir.join("thumbs").join(format!("{sha}.jpg"))
    } else {
        dir.join(format!("{sha}.jpg"))
    })
}

#[cfg(test)]
mod tests {
    use super::file_for;
    use std::path::Path;

    #[test]
    fn only_hashes_name_files() {
        let sha = "ab".repeat(32);
        let dir = Path::new("/d");
        assert_eq!(
            file_for(dir, &format!("/t-{sha}")),
            Some(dir.join("thumbs").join(format!("{sha}.jpg")))
        );
        assert_eq!(
            file_for(dir, &format!("/p-{sha}")),
            Some(dir.join(format!("{sha}.jpg")))
        );
        for bad in [
            "/p-../../etc/passwd",
            "/x-00",
            &format!("/t-{}", "AB".repeat(32)),
            "/",
        ] {
            assert_eq!(file_for(dir, bad), None, "{bad}");
        }
    }
}
