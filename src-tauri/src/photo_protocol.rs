//! The `photo:` URI scheme: serves the tablet's stored photos and thumbnails to `<img>` tags,
//! by hash only (`photo://localhost/t-<sha256>` for a thumbnail, `.../p-<sha256>` for the
//! photo), so the UI needs no file-system permission at all.

use crate::state::{AppState, PHOTO_DIR};
use std::path::PathBuf;
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
    let dir = ctx
        .app_handle()
        .try_state::<AppState>()
        .map(|s| s.data_dir.join(PHOTO_DIR));
    let path = dir.and_then(|d| file_for(&d, request.uri().path()));
    tauri::async_runtime::spawn_blocking(move || {
        let response = match path.map(std::fs::read) {
            Some(Ok(bytes)) => Response::builder()
                .header(header::CONTENT_TYPE, "image/jpeg")
                .header(header::CACHE_CONTROL, "max-age=31536000, immutable")
                .body(bytes),
            _ => Response::builder()
                .status(StatusCode::NOT_FOUND)
                .body(Vec::new()),
        };
        responder.respond(response.expect("a response from valid parts"));
    });
}

/// The file a request path names: `/t-<sha256>` or `/p-<sha256>`, 64 lower-case hex digits.
fn file_for(dir: &std::path::Path, path: &str) -> Option<PathBuf> {
    let name = path.trim_start_matches('/');
    let (kind, sha) = name.split_once('-')?;
    let hex = sha.len() == 64 && sha.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    match kind {
        "t" if hex => Some(dir.join("thumbs").join(format!("{sha}.jpg"))),
        "p" if hex => Some(dir.join(format!("{sha}.jpg"))),
        _ => None,
    }
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
