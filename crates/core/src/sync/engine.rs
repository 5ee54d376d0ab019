//! One sync session: push the outbox, send the photos the server lacks, pull server changes.
//! A session cut off anywhere resumes where it stopped: acks drop only acknowledged entries,
//! photo uploads resume from the server's offset, and each pulled page is applied whole
//! together with its cursor.

use super::SyncError;
use super::api::{self, ServerApi, Timeouts};
use super::progress::{SessionReport, SyncProgress, SyncStep};
use crate::photo::{DeviceKey, PhotoCache, PhotoDir, TrustedClock};
use crate::store::Store;
use crate::store::photo_cache::CacheVariant;
use crate::store::sync_state::PulledPage;
use fieldcheck_domain::china_time::china_date;
use fieldcheck_protocol::{
    LoginRequest, MAX_THUMBNAILS_PER_REQUEST, PROTOCOL_VERSION, PullRequest, PushRequest,
};
use futures_util::StreamExt;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::watch;

/// Outbox entries per push request.
const PUSH_BATCH: u32 = 1000;
/// Server changes per pull page.
const PULL_PAGE: u32 = 500;
/// Photos uploaded at once.
const PHOTO_CONCURRENCY: usize = 3;
/// Hashes per "which are missing" question.
const MISSING_BATCH: usize = 500;
/// Most photos fetched into the cache per session (the rest at the next one).
const FETCH_LIMIT: u32 = 2000;

/// The tablet's sync engine: shared by the UI's 同步 button and the background scheduler.
/// Never runs two sessions at once.
pub struct SyncEngine {
    store: Arc<Mutex<Store>>,
    photos: PhotoDir,
    clock: Arc<TrustedClock>,
    key: DeviceKey,
    progress: watch::Sender<SyncProgress>,
    running: tokio::sync::Mutex<()>,
    timeouts: Timeouts,
    /// Photos whose upload was cut off: ask the server's offset before sending them again.
    interrupted: Mutex<HashSet<String>>,
    /// Where other tablets' photos are kept, when the app has one.
    cache: Option<PhotoCache>,
    /// The last push was given a number in the server's line: ask for the turn before
    /// sending the batch again ([`ServerApi::turn`]).
    in_line: AtomicBool,
}

impl SyncEngine {
    /// An engine over the tablet's store, photo directory, trusted clock and signing key (the
    /// one it registers at sign-in and renews when the server has it wipe the tablet). From now
    /// on the store's hybrid clock reads its physical time from the trusted clock, so a tablet
    /// whose system clock is wrong stamps its changes at server time once it has synced.
    pub fn new(
        store: Arc<Mutex<Store>>,
        photos: PhotoDir,
        clock: Arc<TrustedClock>,
        key: DeviceKey,
    ) -> SyncEngine {
        store
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clock()
            .follow(clock.clone());
        let engine = SyncEngine {
            store,
            photos,
            clock,
            key,
            progress: watch::channel(SyncProgress::default()).0,
            running: tokio::sync::Mutex::new(()),
            timeouts: Timeouts::default(),
            interrupted: Mutex::default(),
            cache: None,
            in_line: AtomicBool::new(false),
        };
        engine.publish(|_| {});
        engine
    }

    /// The same engine filling `cache` with other tablets' photos after each pull.
    pub fn with_photo_cache(mut self, cache: PhotoCache) -> SyncEngine {
        self.cache = Some(cache);
        self
    }

    /// The same engine with other network timeouts (tests use short ones).
    pub fn with_timeouts(mut self, timeouts: Timeouts) -> SyncEngine {
        self.timeouts = timeouts;
        self
    }

    /// Progress snapshots, for the UI to watch.
    pub fn subscribe(&self) -> watch::Receiver<SyncProgress> {
        self.progress.subscribe()
    }

    /// Signs in to `server_url`, registering this device and its photo-signing key.
    pub async fn login(
        &self,
        server_url: &str,
        username: &str,
        password: &str,
    ) -> Result<(), SyncError> {
        let device_id = self.store().device_id();
        let req = LoginRequest {
            username: username.to_string(),
            password: password.to_string(),
            device_id,
            device_public_key: self.key.public_key_hex(),
            // What the office sees: short enough to read, the id's last (random) digits to
            // tell tablets apart (a UUIDv7 starts with its creation time).
            device_label: format!("巡查平板 {}", &device_id.simple().to_string()[24..]),
            protocol_version: PROTOCOL_VERSION,
        };
        let resp = api::login(server_url, &req, self.timeouts)
            .await
            .map_err(|e| match e {
                SyncError::NoSignal(detail) => SyncError::Unreachable {
                    url: server_url.to_string(),
                    detail,
                },
                other => other,
            })?;
        self.clock.observe_server_time(resp.server_time_ms);
        let mut store = self.store();
        let _ = store.clock().merge(resp.server_hlc);
        store.save_login(server_url, &resp.username, &resp.token)?;
        store.save_county(resp.county_id)?;
        store.save_display_name(resp.display_name.as_deref())?;
        Ok(())
    }

    /// Runs one session now (waiting for a running one to end first) and records its outcome.
    pub async fn sync_now(&self) -> Result<SessionReport, SyncError> {
        let _one_at_a_time = self.running.lock().await;
        let state = self.store().sync_state()?;
        let (Some(base), Some(token)) = (state.server_url, state.token) else {
            return Err(SyncError::NotSignedIn);
        };
        let api = ServerApi::new(&base, &token, self.timeouts)?;
        let mut report = SessionReport::default();
        let mut outcome = self.session(&api, &mut report).await;
        if matches!(outcome, Err(SyncError::Revoked)) {
            match self.wipe_if_confirmed(&api).await {
                Ok(true) => outcome = Err(SyncError::Wiped),
                // Not confirmed, or no answer: keep everything and ask again next time.
                Ok(false) => {}
                Err(e) if e.is_transient() => {}
                Err(e) => outcome = Err(e),
            }
        }
        let mut store = self.store();
        match &outcome {
            Ok(()) => store.record_sync_outcome(Ok(self.clock.now().unix_ms))?,
            Err(e) => {
                if matches!(e, SyncError::LoginExpired) {
                    store.forget_token()?;
                }
                store.record_sync_outcome(Err(&e.to_string()))?;
            }
        }
        drop(store);
        self.publish(|p| p.step = SyncStep::Idle);
        outcome.map(|()| report)
    }

    async fn session(&self, api: &ServerApi, report: &mut SessionReport) -> Result<(), SyncError> {
        self.publish(|p| {
            p.step = SyncStep::Pushing;
            p.bytes_sent = 0;
            p.bytes_total = 0;
        });
        self.push(api, report).await?;
        self.publish(|p| p.step = SyncStep::Photos);
        self.upload_photos(api, report).await?;
        self.publish(|p| p.step = SyncStep::Pulling);
        self.pull(api, report).await?;
        self.fetch_photos(api, report).await;
        Ok(())
    }

    /// Fills the photo cache after a pull: the thumbnails of every pulled photo it lacks, in
    /// batches, and the full photos of today's re-checks (open findings at the sites assigned
    /// for today). A photo that cannot be fetched (or kept: a copy that is not the photo) now
    /// is counted in the report and tried at the next session; the session's records are safe
    /// either way.
    async fn fetch_photos(&self, api: &ServerApi, report: &mut SessionReport) {
        let Some(cache) = &self.cache else { return };
        let thumbs = self.store().remote_photos_without_thumb(FETCH_LIMIT);
        for batch in thumbs
            .unwrap_or_default()
            .chunks(MAX_THUMBNAILS_PER_REQUEST)
        {
            report.requests += 1;
            match api.thumbnails(batch.to_vec()).await {
                Ok(got) => {
                    // Only what was asked for: the server names the thumbnails it sends.
                    for (sha, bytes) in got.into_iter().filter(|(sha, _)| batch.contains(sha)) {
                        self.keep(cache, &sha, CacheVariant::Thumb, &bytes, report);
                    }
                }
                Err(_) => {
                    report.photos_not_fetched += batch.len() as u64;
                    return;
                }
            }
        }
        let today = china_date(self.clock.now().unix_ms);
        let due = self.store().prefetch_candidates(&today, FETCH_LIMIT);
        for sha in due.unwrap_or_default() {
            report.requests += 1;
            match api.photo(&sha).await {
                Ok(bytes) => self.keep(cache, &sha, CacheVariant::Full, &bytes, report),
                Err(e) => {
                    report.photos_not_fetched += 1;
                    if e.is_transient() {
                        return;
                    }
                }
            }
        }
    }

    fn keep(
        &self,
        cache: &PhotoCache,
        sha: &str,
        variant: CacheVariant,
        bytes: &[u8],
        report: &mut SessionReport,
    ) {
        let now = self.clock.now().unix_ms;
        match cache.put(&mut self.store(), sha, variant, bytes, now) {
            Ok(()) => report.photos_fetched += 1,
            Err(_) => report.photos_not_fetched += 1,
        }
    }

    /// Fetches one photo of another tablet into the cache now (a re-check opened it): its
    /// file, or the error (offline, not on the server yet).
    pub async fn fetch_photo(&self, sha256: &str) -> Result<std::path::PathBuf, SyncError> {
        let cache = self.cache.as_ref().ok_or(SyncError::NotSignedIn)?;
        let state = self.store().sync_state()?;
        let (Some(base), Some(token)) = (state.server_url, state.token) else {
            return Err(SyncError::NotSignedIn);
        };
        let api = ServerApi::new(&base, &token, self.timeouts)?;
        let bytes = api.photo(sha256).await?;
        let now = self.clock.now().unix_ms;
        cache
            .put(&mut self.store(), sha256, CacheVariant::Full, &bytes, now)
            .map_err(|e| SyncError::LocalFile(e.to_string()))?;
        Ok(cache.path(sha256, CacheVariant::Full))
    }

    async fn push(&self, api: &ServerApi, report: &mut SessionReport) -> Result<(), SyncError> {
        loop {
            let (entries, device_id, hlc) = {
                let store = self.store();
                (
                    store.outbox_pending(PUSH_BATCH)?,
                    store.device_id(),
                    store.clock().now(),
                )
            };
            let Some(last) = entries.last().map(|e| e.seq) else {
                return Ok(());
            };
            let first = entries[0].seq;
            let req = PushRequest {
                protocol_version: PROTOCOL_VERSION,
                device_id,
                hlc,
                entries,
            };
            if self.in_line.load(Ordering::Relaxed) {
                report.requests += 1;
                api.turn().await?;
            }
            report.requests += 1;
            let answer = api.push(&req).await;
            let queued = matches!(answer, Err(SyncError::Queued { .. }));
            self.in_line.store(queued, Ordering::Relaxed);
            let (resp, sent) = answer?;
            self.clock.observe_server_time(resp.server_time_ms);
            let mut store = self.store();
            let _ = store.clock().merge(resp.server_hlc);
            if resp.acked_through < first {
                return Err(SyncError::Refused {
                    seq: Some(first),
                    message: format!(
                        "server acknowledged only up to #{} of #{first}-#{last}",
                        resp.acked_through
                    ),
                });
            }
            let dropped = store.ack_outbox(resp.acked_through)?;
            report.records_pushed += dropped as u64;
            report.bytes_sent += sent;
            drop(store);
            self.publish(|p| p.bytes_sent += sent);
        }
    }

    async fn upload_photos(
        &self,
        api: &ServerApi,
        report: &mut SessionReport,
    ) -> Result<(), SyncError> {
        let pending: Vec<String> = self
            .store()
            .photos_not_uploaded()?
            .into_iter()
            .map(|p| p.sha256)
            .collect();
        let mut missing = Vec::new();
        for chunk in pending.chunks(MISSING_BATCH) {
            report.requests += 1;
            let lacking = api.missing(chunk.to_vec()).await?;
            let held: Vec<String> = chunk
                .iter()
                .filter(|h| !lacking.contains(h))
                .cloned()
                .collect();
            self.store().mark_photos_uploaded(&held)?;
            missing.extend(lacking);
        }
        let total: u64 = missing
            .iter()
            .map(|h| {
                std::fs::metadata(self.photos.photo_path(h))
                    .map(|m| m.len())
                    .unwrap_or(0)
            })
            .sum();
        self.publish(|p| p.bytes_total = p.bytes_sent + total);
        let mut uploads =
            futures_util::stream::iter(missing.into_iter().map(|sha| self.upload_one(api, sha)))
                .buffer_unordered(PHOTO_CONCURRENCY);
        while let Some(done) = uploads.next().await {
            let (sha, sent, requests) = done?;
            report.photos_uploaded += 1;
            report.bytes_sent += sent;
            report.requests += requests;
            self.store().mark_photos_uploaded(&[sha])?;
            self.publish(|p| p.bytes_sent += sent);
        }
        Ok(())
    }

    /// Sends one photo. When nothing goes wrong that is one request with the whole photo. A
    /// photo cut off earlier in this engine's life first asks where the server stands; a server
    /// that holds another number of bytes says so, and the upload resumes there.
    /// Returns (hash, bytes sent, requests).
    async fn upload_one(
        &self,
        api: &ServerApi,
        sha: String,
    ) -> Result<(String, u64, u64), SyncError> {
        let bytes = std::fs::read(self.photos.photo_path(&sha))
            .map_err(|e| SyncError::LocalFile(format!("{sha}: {e}")))?;
        let total = bytes.len() as u64;
        let (mut requests, mut sent, mut offset) = (0, 0, 0);
        if self.interrupted().contains(&sha) {
            requests += 1;
            let status = api.offset(&sha).await?;
            if status.complete {
                self.interrupted().remove(&sha);
                return Ok((sha, sent, requests));
            }
            offset = status.offset.min(total);
        }
        for _ in 0..3 {
            requests += 1;
            let body = bytes[offset as usize..].to_vec();
            sent += body.len() as u64;
            match api.upload(&sha, offset, body).await {
                Ok(status) if status.complete => {
                    self.interrupted().remove(&sha);
                    return Ok((sha, sent, requests));
                }
                Ok(status) => offset = status.offset.min(total),
                Err(e) => {
                    self.interrupted().insert(sha);
                    return Err(e);
                }
            }
        }
        Err(SyncError::Refused {
            seq: None,
            message: format!("照片 {sha} 未被接收 / photo {sha} was not accepted"),
        })
    }

    /// Asks the server whether this device is revoked and, only when it says so for this very
    /// device, wipes the store, the photo directory and the photo cache and renews the signing
    /// key (the wiped
    /// device's key is gone with its data). Returns whether it wiped.
    async fn wipe_if_confirmed(&self, api: &ServerApi) -> Result<bool, SyncError> {
        let status = api.revocation().await?;
        let mut store = self.store();
        if !status.revoked || status.device_id != store.device_id() {
            return Ok(false);
        }
        store.wipe()?;
        self.photos
            .remove_unrecorded(|sha| store.has_photo(sha))
            .map_err(|e| SyncError::LocalFile(e.to_string()))?;
        if let Some(cache) = &self.cache {
            cache
                .clear()
                .map_err(|e| SyncError::LocalFile(e.to_string()))?;
        }
        self.key
            .renew()
            .map_err(|e| SyncError::LocalFile(e.to_string()))?;
        self.interrupted().clear();
        Ok(true)
    }

    fn interrupted(&self) -> MutexGuard<'_, HashSet<String>> {
        self.interrupted.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn pull(&self, api: &ServerApi, report: &mut SessionReport) -> Result<(), SyncError> {
        loop {
            let req = {
                let store = self.store();
                let state = store.sync_state()?;
                PullRequest {
                    protocol_version: PROTOCOL_VERSION,
                    cursor: state.pull_cursor,
                    limit: Some(PULL_PAGE),
                    hlc: store.clock().now(),
                    scope_version: state.scope_version,
                }
            };
            report.requests += 1;
            let resp = api.pull(&req).await?;
            self.clock.observe_server_time(resp.server_time_ms);
            let mut store = self.store();
            let _ = store.clock().merge(resp.server_hlc);
            store.apply_pull(&PulledPage {
                changes: &resp.changes,
                cursor: resp.cursor,
                scope_version: resp.scope_version,
                reset: resp.reset,
            })?;
            report.changes_pulled += resp.changes.len() as u64;
            if !resp.more {
                return Ok(());
            }
        }
    }

    fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Refreshes the counts from the store, applies `change`, and publishes the snapshot.
    fn publish(&self, change: impl FnOnce(&mut SyncProgress)) {
        let counts = {
            let store = self.store();
            let stats = store.outbox_stats().ok();
            let photos = store.photos_not_uploaded().map(|p| p.len() as u64).ok();
            let state = store.sync_state().ok();
            (stats, photos, state)
        };
        self.progress.send_modify(|p| {
            if let Some(s) = counts.0 {
                p.records_pending = s.pending;
            }
            if let Some(n) = counts.1 {
                p.photos_pending = n;
            }
            if let Some(s) = counts.2 {
                p.last_success_ms = s.last_success_ms;
                p.last_error = s.last_error;
            }
            change(p);
        });
    }
}
