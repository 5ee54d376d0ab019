//! The photo evidence pipeline: from the bytes the camera gives to a stamped, signed photo
//! stored under its hash and recorded in the store.
//!
//! One capture ([`PhotoPipeline::capture`]):
//! 1. the free space of the photo directory is checked ([`PhotoDir::check_free_space`]);
//! 2. the capture time is read from the [`TrustedClock`] (server time at the last sync plus
//!    the device's boot-time clock; the device clock before the first sync, marked so);
//! 3. the image is decoded (JPEG or PNG, size checked from the header first), resampled to 2048 px,
//!    turned upright by its EXIF orientation, refused if too small to carry its whole stamp
//!    legibly ([`PhotoError::TooSmall`]), stamped with the Chinese watermark card
//!    (bottom-left, at most 12 % of the photo), encoded as JPEG (quality 80, 4:2:0) with a
//!    320 px thumbnail shrunk from the unstamped photo and given its own legible stamp, and
//!    hashed ([`process`]);
//! 4. the record (hash, time, position, device …) is signed with the device's Ed25519 key
//!    ([`DeviceKey`]);
//! 5. both files are written durably under the hash, and only then the record is committed with
//!    [`Store::add_photo`] (photo row and outbox entry in one transaction). A failure at any
//!    step leaves no file and no record ([`PhotoDir::save`]). A power cut between the rename and
//!    the commit can leave a whole but unrecorded file: call [`tidy_at_start`] at start-up.
//!
//! A photo taken in the finding form before 保存 goes the same way through
//! [`PhotoPipeline::capture_draft`], except that its record waits as a draft (see
//! [`crate::store::drafts`]) until the finding is saved or discarded.
//!
//! Decoding, orientation, resampling and encoding are `fieldcheck-photo-codec`'s; its
//! `turbojpeg` feature (turned on here by this crate's own `turbojpeg` feature, as the desktop
//! app does) uses libjpeg-turbo. [`JPEG_CODEC`] says which codec a build has.

mod cache;
mod error;
mod line_wrap;
mod process;
mod signing;
mod storage;
mod watermark;

pub use crate::clock::{CaptureTime, MAX_DEVICE_SKEW_MS, TrustedClock};
pub use cache::PhotoCache;
pub use error::PhotoError;
pub use fieldcheck_photo_codec::{
    CodecError, ImageInfo, JPEG_CODEC, JPEG_QUALITY, MAX_PIXELS, MAX_SIDE, Orientation,
    check_image, image_mime, thumbnail,
};
pub use process::{PHOTO_LONG_EDGE, ProcessedPhoto, THUMB_LONG_EDGE, process};
pub use signing::{DeviceKey, KEY_FILE};
pub use storage::{DEFAULT_MIN_FREE_BYTES, OsFs, PhotoDir, PhotoFs};
pub use watermark::{
    CardLayout, CardRect, MAX_CARD_PERCENT, MAX_FONT_PX, MIN_FONT_PX, Stamp, THUMB_FONT_PX,
    card_layout, serial, stamp_lines, text_width, thumbnail_card_layout, thumbnail_lines,
};

use crate::store::Store;
use crate::store::drafts::DraftForm;
use fieldcheck_protocol::{CheckInRecord, PhotoKind, PhotoRecord, Position};
use std::sync::Arc;
use uuid::Uuid;

/// What the inspector supplies with one photo.
#[derive(Clone, Debug)]
pub struct CaptureRequest<'a> {
    /// The bytes as the camera or file picker gave them.
    pub bytes: &'a [u8],
    /// Before, after or evidence.
    pub kind: PhotoKind,
    /// The finding it belongs to, if any.
    pub finding_id: Option<Uuid>,
    /// The inspection it belongs to, if any.
    pub inspection_id: Option<Uuid>,
    /// Where it was taken, when known.
    pub position: Option<Position>,
    /// Site name for the watermark.
    pub site_name: &'a str,
    /// Inspector's name for the watermark.
    pub inspector: &'a str,
}

/// The device's photo pipeline: its photo directory, trusted clock and signing key.
pub struct PhotoPipeline<F: PhotoFs = OsFs> {
    dir: PhotoDir<F>,
    clock: Arc<TrustedClock>,
    key: DeviceKey,
}

impl<F: PhotoFs> PhotoPipeline<F> {
    /// A pipeline storing into `dir`, stamping time from `clock` (shared with the sync client)
    /// and signing with `key`.
    pub fn new(dir: PhotoDir<F>, clock: Arc<TrustedClock>, key: DeviceKey) -> PhotoPipeline<F> {
        PhotoPipeline { dir, clock, key }
    }

    /// The photo directory.
    pub fn dir(&self) -> &PhotoDir<F> {
        &self.dir
    }

    /// Takes in one photo: processes, stamps, signs, stores and records it (see the module
    /// documentation). Returns the record as committed, before the store's HLC stamp.
    pub fn capture(
        &self,
        store: &mut Store,
        request: &CaptureRequest<'_>,
    ) -> Result<PhotoRecord, PhotoError> {
        let (photo, record) = self.take(store, request)?;
        self.dir.save(&photo, &record, |r| store.add_photo(r))?;
        Ok(record)
    }

    /// Takes in one photo for a finding not saved yet (`request.finding_id`, the id its form
    /// picked, see [`Store::finding_draft`]): processed, stamped, signed and stored like
    /// [`PhotoPipeline::capture`], but its record waits as a draft of `form`, queued only when
    /// the finding is saved ([`Store::add_finding_as`]).
    pub fn capture_draft(
        &self,
        store: &mut Store,
        form: &DraftForm,
        request: &CaptureRequest<'_>,
    ) -> Result<PhotoRecord, PhotoError> {
        let (photo, record) = self.take(store, request)?;
        self.dir
            .save(&photo, &record, |r| store.add_draft_photo(form, r))?;
        Ok(record)
    }

    /// Discards the photos taken for unsaved finding `finding_id` (取消): their records, then
    /// their files (a file left by a crash in between is removed at the next start by
    /// [`tidy_at_start`]). Returns how many photos were discarded.
    pub fn discard_draft(&self, store: &mut Store, finding_id: Uuid) -> Result<usize, PhotoError> {
        let shas = store
            .discard_draft(finding_id)
            .map_err(|e| PhotoError::Record(Box::new(e)))?;
        for sha in &shas {
            self.dir.remove_photo(sha)?;
        }
        Ok(shas.len())
    }

    /// Processes, stamps and signs one photo, ready to be stored.
    fn take(
        &self,
        store: &Store,
        request: &CaptureRequest<'_>,
    ) -> Result<(ProcessedPhoto, PhotoRecord), PhotoError> {
        self.dir.check_free_space()?;
        let time = self.clock.now();
        let device_id = store.device_id();
        let stamp = Stamp {
            time,
            position: request.position,
            site: request.site_name,
            inspector: request.inspector,
            serial: serial(device_id, time.unix_ms),
        };
        let photo = process(request.bytes, &stamp)?;
        let mut record = PhotoRecord {
            sha256: photo.sha256.clone(),
            finding_id: request.finding_id,
            inspection_id: request.inspection_id,
            kind: request.kind,
            width: photo.width,
            height: photo.height,
            size_bytes: photo.jpeg.len() as u64,
            captured_at: time.unix_ms,
            time_source: time.source,
            device_clock_offset_ms: time.device_offset_ms,
            position: request.position,
            device_id,
            signature: String::new(),
            hlc: store.clock().now(),
            marked_from: None,
        };
        self.key.sign(&mut record);
        Ok((photo, record))
    }

    /// Keeps a marked copy of photo `original` (arrows, circles, text drawn on it on the
    /// tablet): the image is checked and re-encoded within [`PHOTO_LONG_EDGE`], recorded for the
    /// same finding and kind with `marked_from` naming the original, signed, and stored like a
    /// capture. The original stays exactly as captured and signed.
    pub fn mark(
        &self,
        store: &mut Store,
        original: &str,
        bytes: &[u8],
    ) -> Result<PhotoRecord, PhotoError> {
        self.dir.check_free_space()?;
        let (source, remote) = store
            .photo(original)
            .map_err(|e| PhotoError::Record(Box::new(e)))?;
        check_image(bytes, MAX_SIDE)?;
        let jpeg = thumbnail(bytes, PHOTO_LONG_EDGE)?;
        let info = check_image(&jpeg, PHOTO_LONG_EDGE)?;
        let photo = ProcessedPhoto {
            thumbnail: thumbnail(&jpeg, THUMB_LONG_EDGE)?,
            width: info.width,
            height: info.height,
            sha256: hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&jpeg)),
            jpeg,
        };
        let time = self.clock.now();
        let mut record = PhotoRecord {
            sha256: photo.sha256.clone(),
            finding_id: source.finding_id,
            // Another tablet's inspection is not held here.
            inspection_id: source.inspection_id.filter(|_| !remote),
            kind: source.kind,
            width: photo.width,
            height: photo.height,
            size_bytes: photo.jpeg.len() as u64,
            captured_at: time.unix_ms,
            time_source: time.source,
            device_clock_offset_ms: time.device_offset_ms,
            position: source.position,
            device_id: store.device_id(),
            signature: String::new(),
            hlc: store.clock().now(),
            marked_from: Some(original.to_string()),
        };
        self.key.sign(&mut record);
        self.dir.save(&photo, &record, |r| store.add_photo(r))?;
        Ok(record)
    }

    /// Records a check-in (到场核验) at `site_id` from a scanned label: trusted time, position
    /// when known, signed with the device key, queued for the server.
    pub fn check_in(
        &self,
        store: &mut Store,
        site_id: Uuid,
        label: &str,
        inspector: &str,
        position: Option<Position>,
    ) -> Result<CheckInRecord, PhotoError> {
        let time = self.clock.now();
        let mut record = CheckInRecord {
            id: Uuid::now_v7(),
            site_id,
            label: label.to_string(),
            inspector: inspector.to_string(),
            device_id: store.device_id(),
            at: time.unix_ms,
            time_source: time.source,
            device_clock_offset_ms: time.device_offset_ms,
            position,
            signature: String::new(),
            hlc: store.clock().now(),
        };
        self.key.sign_check_in(&mut record);
        store
            .add_check_in(&record)
            .map_err(|e| PhotoError::Record(Box::new(e)))
    }
}

/// How long photos taken for a finding that was never saved are kept: 7 days. An inspector
/// who closed the app mid-form finds them again the same day; a form abandoned for a week
/// is not coming back.
pub const DRAFT_MAX_AGE_MS: i64 = 7 * 24 * 60 * 60 * 1000;

/// Tidies the photo directory at start-up, before any capture runs: drops draft photos taken
/// more than [`DRAFT_MAX_AGE_MS`] before `now_ms`, then removes every photo file that neither a
/// record nor a draft keeps (a power cut between a file's rename and its commit, a discard cut
/// short). Returns how many files were removed.
pub fn tidy_at_start<F: PhotoFs>(
    store: &mut Store,
    dir: &PhotoDir<F>,
    now_ms: i64,
) -> Result<usize, PhotoError> {
    store
        .drop_drafts_before(now_ms - DRAFT_MAX_AGE_MS)
        .map_err(|e| PhotoError::Record(Box::new(e)))?;
    dir.remove_unrecorded(|sha| store.keeps_photo_file(sha))
}
