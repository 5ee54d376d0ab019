//! What the app holds while it runs: the tablet's store, photo pipeline and sync engine, all
//! over one app data directory.

use crate::error::{CommandError, CommandResult};
use fieldcheck_core::photo::{
    DeviceKey, PhotoCache, PhotoDir, PhotoPipeline, TrustedClock, tidy_at_start,
};
use fieldcheck_core::store::Store;
use fieldcheck_core::sync::SyncEngine;
use fieldcheck_core::sync::scheduler::{Pacing, Scheduler, Trigger};
use fieldcheck_domain::clock::wall_clock_ms;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

/// The database file inside the app data directory.
pub const DATABASE_FILE: &str = "fieldcheck.db";
/// The photo directory inside the app data directory.
pub const PHOTO_DIR: &str = "photos";
/// The cache of other tablets' photos inside the app data directory.
pub const PHOTO_CACHE_DIR: &str = "photo-cache";

/// The tablet as the commands see it. Managed by Tauri (`State<AppState>`).
pub struct AppState {
    /// The local database.
    pub store: Arc<Mutex<Store>>,
    /// The photo pipeline (processing is CPU work: run it off the UI's thread).
    pub photos: Arc<PhotoPipeline>,
    /// Other tablets' photos (before-photos of re-checks), fetched by the sync engine.
    pub cache: PhotoCache,
    /// The sync engine shared with the background scheduler.
    pub engine: Arc<SyncEngine>,
    /// The app data directory.
    pub data_dir: PathBuf,
    /// Server address to offer on first start (from `FIELDCHECK_SERVER_URL`).
    pub default_server_url: Option<String>,
    scheduler: Mutex<Option<Scheduler>>,
}

impl AppState {
    /// Opens the tablet in `data_dir` (creating it): the database, the photo directory (with
    /// photos a power cut left unrecorded, and draft photos of forms left unsaved for a week,
    /// removed), the photo cache, the signing key and the
    /// sync engine.
    pub fn open(data_dir: &Path, default_server_url: Option<String>) -> CommandResult<AppState> {
        std::fs::create_dir_all(data_dir).map_err(|e| CommandError::DataDir {
            path: data_dir.display().to_string(),
            detail: e.to_string(),
        })?;
        let mut store = Store::open(data_dir.join(DATABASE_FILE))?;
        let photo_dir = PhotoDir::open(data_dir.join(PHOTO_DIR))?;
        tidy_at_start(&mut store, &photo_dir, wall_clock_ms())?;
        let store = Arc::new(Mutex::new(store));
        let clock = Arc::new(TrustedClock::new());
        let key = DeviceKey::load_or_create(data_dir)?;
        let cache = PhotoCache::open(data_dir.join(PHOTO_CACHE_DIR))?;
        let engine = SyncEngine::new(
            store.clone(),
            PhotoDir::open(data_dir.join(PHOTO_DIR))?,
            clock.clone(),
            key.clone(),
        )
        .with_photo_cache(cache.clone());
        let photos = PhotoPipeline::new(photo_dir, clock, key);
        Ok(AppState {
            store,
            photos: Arc::new(photos),
            cache,
            engine: Arc::new(engine),
            data_dir: data_dir.to_path_buf(),
            default_server_url,
            scheduler: Mutex::new(None),
        })
    }

    /// The store, locked. A panic in another command never makes it unusable.
    pub fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts background sync on the current tokio runtime: at once, on triggers, on a timer,
    /// and with backoff after failures.
    pub fn start_scheduler(&self, pacing: Pacing) {
        let scheduler = Scheduler::start(self.engine.clone(), pacing);
        *self.scheduler.lock().unwrap_or_else(|e| e.into_inner()) = Some(scheduler);
    }

    /// Asks the background scheduler for a session soon (no-op before it started).
    pub fn trigger_sync(&self, why: Trigger) {
        if let Some(s) = self
            .scheduler
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            s.trigger(why);
        }
    }

    /// The signed-in person's name (姓名) as photos print it: the name the server gave at
    /// sign-in, else the account name.
    pub fn person_name(&self) -> CommandResult<String> {
        let state = self.store().sync_state()?;
        match state.display_name.filter(|n| !n.is_empty()) {
            Some(name) => Ok(name),
            None => self.inspector(),
        }
    }

    /// The signed-in inspector's account name.
    pub fn inspector(&self) -> CommandResult<String> {
        self.store()
            .sync_state()?
            .username
            .ok_or(CommandError::Input {
                field: "username",
                zh: "尚未登录，请先登录",
                en: "not signed in: sign in first",
            })
    }
}
