//! Fieldcheck's tablet app: the Tauri 2 shell over `fieldcheck-core`.
//!
//! The UI (`../ui`, built to `../ui/dist` and embedded) calls the [`commands`]; each is a few
//! lines over core. The database and photos live in the platform's app data directory (or
//! `FIELDCHECK_APP_DATA_DIR`); sync runs in the background (core's scheduler) and its progress
//! reaches the UI as [`SYNC_PROGRESS_EVENT`] events. Photos arrive as raw binary IPC bodies and
//! are shown through the `photo:` scheme ([`photo_protocol`]).

#[cfg(test)]
mod bindings;
pub mod commands;
pub mod error;
pub mod photo_protocol;
pub mod state;

use fieldcheck_core::sync::scheduler::{Pacing, Trigger};
use state::AppState;
use std::path::PathBuf;
use tauri::{Emitter, Manager, Runtime};

/// Event carrying `SyncProgress` snapshots to the UI.
pub const SYNC_PROGRESS_EVENT: &str = "sync-progress";
/// Environment variable that puts the app data directory elsewhere (tests use a fresh one).
pub const DATA_DIR_ENV: &str = "FIELDCHECK_APP_DATA_DIR";
/// Environment variable with the server address offered on first start.
pub const SERVER_URL_ENV: &str = "FIELDCHECK_SERVER_URL";

/// Where the app keeps its data.
#[derive(Clone, Debug)]
pub enum DataDir {
    /// The platform's app data directory.
    Platform,
    /// This directory.
    At(PathBuf),
}

impl DataDir {
    /// `FIELDCHECK_APP_DATA_DIR` when set, else the platform's.
    pub fn from_env() -> DataDir {
        std::env::var_os(DATA_DIR_ENV)
            .filter(|d| !d.is_empty())
            .map_or(DataDir::Platform, |d| DataDir::At(d.into()))
    }
}

/// The app's state, commands, photo scheme and background sync on `builder`: shared by the
/// real app and the command tests, so both register the same things.
pub fn builder<R: Runtime>(builder: tauri::Builder<R>, data_dir: DataDir) -> tauri::Builder<R> {
    builder
        .register_asynchronous_uri_scheme_protocol(photo_protocol::SCHEME, photo_protocol::serve)
        .invoke_handler(tauri::generate_handler![
            commands::session::app_info,
            commands::session::login,
            commands::session::logout,
            commands::session::storage_info,
            commands::session::set_photo_cache_cap,
            commands::sites::catalog,
            commands::sites::today_sites,
            commands::sites::list_sites,
            commands::sites::site_page,
            commands::sites::scan_label,
            commands::sites::scan_label_text,
            commands::inspections::start_inspection,
            commands::inspections::unfinished_inspections,
            commands::inspections::load_inspection,
            commands::inspections::record_result,
            commands::inspections::finish_inspection,
            commands::inspections::discard_inspection,
            commands::findings::add_finding,
            commands::findings::finding_draft,
            commands::findings::discard_finding_draft,
            commands::findings::add_photo,
            commands::findings::mark_photo,
            commands::findings::fetch_photo,
            commands::findings::finding_detail,
            commands::findings::rechecks,
            commands::findings::recheck,
            commands::sync::sync_status,
            commands::sync::sync_now,
        ])
        .setup(move |app| {
            let dir = match data_dir {
                DataDir::At(dir) => dir,
                DataDir::Platform => app.path().app_data_dir()?,
            };
            let server = std::env::var(SERVER_URL_ENV).ok().filter(|s| !s.is_empty());
            let state = AppState::open(&dir, server)?;
            start_background_sync(app.handle(), &state);
            app.manage(state);
            Ok(())
        })
}

/// Starts core's scheduler and forwards its progress to the UI as events.
fn start_background_sync<R: Runtime>(app: &tauri::AppHandle<R>, state: &AppState) {
    tauri::async_runtime::block_on(async { state.start_scheduler(Pacing::default()) });
    let mut progress = state.engine.subscribe();
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        while progress.changed().await.is_ok() {
            let snapshot = progress.borrow_and_update().clone();
            let _ = app.emit(SYNC_PROGRESS_EVENT, snapshot);
        }
    });
}

/// Runs the app (desktop `main` and the mobile entry point).
#[cfg_attr(mobile, tauri::mobile_entry_point)]
pub fn run() {
    let app = tauri::Builder::default();
    #[cfg(mobile)]
    let app = app
        .plugin(tauri_plugin_geolocation::init())
        .plugin(tauri_plugin_barcode_scanner::init());
    builder(app, DataDir::from_env())
        .build(tauri::generate_context!())
        .expect("the Fieldcheck app failed to start")
        .run(|app, event| {
            // Android suspends the app's threads: sync again when it comes back.
            if let tauri::RunEvent::Resumed = event
                && let Some(state) = app.try_state::<AppState>()
            {
                state.trigger_sync(Trigger::Resumed);
            }
        });
}
