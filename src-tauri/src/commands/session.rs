//! First start, sign-in, sign-out, and what the settings screen shows.

use crate::error::{CommandError, CommandResult};
use crate::state::{AppState, DATABASE_FILE, PHOTO_DIR};
use fieldcheck_core::sync::scheduler::Trigger;
use serde::Serialize;
use std::path::Path;
use tauri::State;

/// Who is signed in where, and what the app runs on.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct AppInfo {
    /// A device token is held: the app can sync.
    pub signed_in: bool,
    /// The inspector's account name, kept after sign-out so unsynced work stays theirs.
    pub username: Option<String>,
    /// The county server last signed in to.
    pub server_url: Option<String>,
    /// The server address to offer on first start.
    pub default_server_url: Option<String>,
    /// This tablet's id.
    pub device_id: String,
    /// Android or iOS (a position comes from the geolocation plugin there).
    pub mobile: bool,
    /// Today in China time, `YYYY-MM-DD`.
    pub today: String,
    /// How this binary was built, as the shipped app must be: the UI served from the embedded
    /// assets (Tauri's production asset protocol) and the photo codec in use.
    pub build: BuildInfo,
}

/// Build facts the end-to-end tests check, so that the binary they drive is the one that ships.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct BuildInfo {
    /// Built without Tauri's `custom-protocol` feature (a `tauri dev` binary): never shipped.
    pub dev: bool,
    /// The JPEG codec of the photo pipeline (`libjpeg-turbo` or `pure-rust`).
    pub photo_codec: &'static str,
    /// The crate version.
    pub version: &'static str,
    /// The commit it was built from (10 hex digits, or `unknown`).
    pub commit: &'static str,
}

/// Who is signed in, for the first screen.
#[tauri::command(rename_all = "snake_case")]
pub fn app_info(state: State<'_, AppState>) -> CommandResult<AppInfo> {
    let store = state.store();
    let sync = store.sync_state()?;
    Ok(AppInfo {
        signed_in: sync.token.is_some(),
        username: sync.username,
        server_url: sync.server_url,
        default_server_url: state.default_server_url.clone(),
        device_id: store.device_id().to_string(),
        mobile: cfg!(mobile),
        today: china_today(),
        build: BuildInfo {
            dev: tauri::is_dev(),
            photo_codec: fieldcheck_core::photo::JPEG_CODEC,
            version: fieldcheck_build_info::VERSION,
            commit: fieldcheck_build_info::COMMIT,
        },
    })
}

/// Signs in to the county server and starts a sync at once.
#[tauri::command(rename_all = "snake_case")]
pub async fn login(
    state: State<'_, AppState>,
    server_url: String,
    username: String,
    password: String,
) -> CommandResult<AppInfo> {
    let server_url = server_url.trim().trim_end_matches('/').to_string();
    let engine = state.engine.clone();
    engine
        .login(&server_url, username.trim(), &password)
        .await?;
    state.trigger_sync(Trigger::Manual);
    app_info(state)
}

/// Signs out: forgets the device token. Unsynced work stays on the tablet.
#[tauri::command(rename_all = "snake_case")]
pub fn logout(state: State<'_, AppState>) -> CommandResult<()> {
    Ok(state.store().forget_token()?)
}

/// What the settings screen shows about the tablet's storage.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct StorageInfo {
    /// The database with its WAL, in bytes.
    pub database_bytes: u64,
    /// Photos and thumbnails, in bytes.
    pub photo_bytes: u64,
    /// Photos recorded.
    pub photo_count: u64,
    /// Other tablets' photos held in the photo cache, in bytes.
    pub cache_bytes: u64,
    /// The photo cache's cap, in bytes (least recently used photos go beyond it).
    pub cache_cap_bytes: u64,
    /// The app data directory.
    pub data_dir: String,
}

/// Storage used by the app.
#[tauri::command(rename_all = "snake_case")]
pub fn storage_info(state: State<'_, AppState>) -> CommandResult<StorageInfo> {
    let database_bytes = ["", "-wal", "-shm"]
        .iter()
        .map(|s| file_size(&state.data_dir.join(format!("{DATABASE_FILE}{s}"))))
        .sum();
    let photos = state.data_dir.join(PHOTO_DIR);
    let store = state.store();
    Ok(StorageInfo {
        database_bytes,
        photo_bytes: dir_size(&photos) + dir_size(&photos.join("thumbs")),
        photo_count: count_photos(&photos),
        cache_bytes: store.cache_total()?,
        cache_cap_bytes: store.photo_cache_cap()?,
        data_dir: state.data_dir.display().to_string(),
    })
}

/// Smallest photo cache cap the settings accept, in megabytes.
const MIN_CACHE_MB: u64 = 100;

/// Sets the photo cache's cap in megabytes (at least [`MIN_CACHE_MB`]); copies beyond it go at
/// the next fetch, least recently used first. The tablet's own photos never count.
#[tauri::command(rename_all = "snake_case")]
pub fn set_photo_cache_cap(state: State<'_, AppState>, megabytes: u64) -> CommandResult<()> {
    if !(MIN_CACHE_MB..=1_000_000).contains(&megabytes) {
        return Err(CommandError::Input {
            field: "megabytes",
            zh: "照片缓存上限至少 100 MB",
            en: "the photo cache needs at least 100 MB",
        });
    }
    state.store().set_photo_cache_cap(megabytes * 1024 * 1024)?;
    Ok(())
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| e.metadata().ok().filter(|m| m.is_file()))
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

fn count_photos(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().ends_with(".jpg"))
                .count() as u64
        })
        .unwrap_or(0)
}

/// Today's date in China time (UTC+8), as assignments name their day.
pub fn china_today() -> String {
    fieldcheck_domain::china_time::china_date(chrono::Utc::now().timestamp_millis())
}
