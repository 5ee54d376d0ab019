//! Storage: a stored photo is whole, named by its hash, signed and recorded; a failure at any
//! step (disk full, refused record) leaves the directory and the database as they were.

use crate::photo_support;

use fieldcheck_core::photo::{
    CaptureRequest, DeviceKey, KEY_FILE, OsFs, PhotoDir, PhotoError, PhotoFs, PhotoPipeline,
    TrustedClock,
};
use fieldcheck_core::store::Store;
use fieldcheck_domain::device_signature::verify_record;
use fieldcheck_protocol::{PhotoKind, Position, PositionSource, TimeSource};
use photo_support::{jpeg, pattern};
use sha2::{Digest, Sha256};
use std::cell::Cell;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tempfile::TempDir;
use uuid::Uuid;

/// The real file system, except that operation number `fail_at` (counting from 0) fails as a
/// full disk would; a failing write leaves half the bytes behind first.
struct FullDisk {
    fail_at: usize,
    count: Cell<usize>,
}

impl FullDisk {
    fn step(&self) -> io::Result<()> {
        let n = self.count.get();
        self.count.set(n + 1);
        if n == self.fail_at {
            return Err(io::Error::from_raw_os_error(28)); // ENOSPC
        }
        Ok(())
    }
}

impl PhotoFs for FullDisk {
    fn write_synced(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        if let Err(e) = self.step() {
            std::fs::write(path, &bytes[..bytes.len() / 2])?;
            return Err(e);
        }
        OsFs.write_synced(path, bytes)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.step()?;
        OsFs.rename(from, to)
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        self.step()?;
        OsFs.sync_dir(dir)
    }
    fn remove(&self, path: &Path) -> io::Result<()> {
        OsFs.remove(path)
    }
    fn available_space(&self, dir: &Path) -> io::Result<u64> {
        OsFs.available_space(dir)
    }
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
}

struct Setup {
    tmp: TempDir,
    store: Store,
    bytes: Vec<u8>,
}

fn setup() -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path().join("fieldcheck.db")).unwrap();
    let bytes = jpeg(&pattern(1600, 1200, 12, 3), 1600, 1200, 90, Some(6));
    Setup { tmp, store, bytes }
}

fn pipeline<F: PhotoFs>(tmp: &TempDir, fs: F, clock: Arc<TrustedClock>) -> PhotoPipeline<F> {
    PhotoPipeline::new(
        PhotoDir::with_fs(tmp.path().join("photos"), fs)
            .unwrap()
            .with_min_free_bytes(0),
        clock,
        DeviceKey::load_or_create(tmp.path()).unwrap(),
    )
}

fn request(bytes: &[u8]) -> CaptureRequest<'_> {
    CaptureRequest {
        bytes,
        kind: PhotoKind::Before,
        finding_id: None,
        inspection_id: None,
        position: Some(Position {
            lat: 30.5,
            lon: 114.3,
            accuracy_m: 6.0,
            source: PositionSource::Gps,
        }),
        site_name: "中山路背街小巷",
        inspector: "陈静",
    }
}

#[test]
fn a_stored_photo_is_whole_named_by_its_hash_signed_and_recorded() {
    let Setup {
        tmp,
        mut store,
        bytes,
    } = setup();
    let clock = Arc::new(TrustedClock::new());
    clock.observe_server_time(1_764_028_798_900);
    let p = pipeline(&tmp, OsFs, clock);
    let record = p.capture(&mut store, &request(&bytes)).unwrap();

    let stored = std::fs::read(p.dir().photo_path(&record.sha256)).unwrap();
    assert_eq!(hex::encode(Sha256::digest(&stored)), record.sha256);
    assert_eq!(stored.len() as u64, record.size_bytes);
    assert_eq!((record.width, record.height), (1200, 1600));
    assert!(p.dir().thumb_path(&record.sha256).is_file());
    assert_eq!(record.time_source, TimeSource::Trusted);
    assert!(
        record.device_clock_offset_ms > 120_000,
        "device clock is a year ahead here"
    );
    assert_eq!(record.device_id, store.device_id());
    assert!(store.has_photo(&record.sha256).unwrap());
    assert_eq!(store.outbox_pending(10).unwrap().len(), 1);

    let key = DeviceKey::load_or_create(tmp.path()).unwrap();
    assert!(verify_record(&key.public_key_hex(), &record));
    let mut forged = record.clone();
    forged.captured_at += 60_000;
    assert!(!verify_record(&key.public_key_hex(), &forged));
    let mut forged = record.clone();
    forged.sha256 = hex::encode(Sha256::digest(b"other bytes"));
    assert!(!verify_record(&key.public_key_hex(), &forged));
}

#[test]
fn disk_full_at_any_step_leaves_no_file_and_no_record() {
    let Setup {
        tmp,
        mut store,
        bytes,
    } = setup();
    let photos = tmp.path().join("photos");
    let mut fail_at = 0;
    loop {
        let fs = FullDisk {
            fail_at,
            count: Cell::new(0),
        };
        let p = pipeline(&tmp, fs, Arc::new(TrustedClock::new()));
        match p.capture(&mut store, &request(&bytes)) {
            Err(err) => {
                assert!(matches!(err, PhotoError::Io { .. }), "{err}");
                assert_eq!(
                    files_under(&photos),
                    Vec::<PathBuf>::new(),
                    "step {fail_at}"
                );
                assert_eq!(store.outbox_pending(10).unwrap().len(), 0, "step {fail_at}");
                assert_eq!(store.integrity_check().unwrap(), ["ok"]);
            }
            Ok(record) => {
                // Two files, each written, renamed and its directory synced: six steps.
                assert_eq!(fail_at, 6);
                assert_eq!(files_under(&photos).len(), 2);
                assert!(store.has_photo(&record.sha256).unwrap());
                break;
            }
        }
        fail_at += 1;
    }
}

#[test]
fn a_refused_record_removes_the_files() {
    let Setup {
        tmp,
        mut store,
        bytes,
    } = setup();
    let p = pipeline(&tmp, OsFs, Arc::new(TrustedClock::new()));
    let mut req = request(&bytes);
    req.finding_id = Some(Uuid::now_v7()); // no such finding: the store refuses
    let err = p.capture(&mut store, &req).unwrap_err();
    assert!(matches!(err, PhotoError::Record(_)), "{err}");
    assert_eq!(
        files_under(&tmp.path().join("photos")),
        Vec::<PathBuf>::new()
    );
    assert_eq!(store.outbox_pending(10).unwrap().len(), 0);
}

#[test]
fn a_file_already_stored_under_the_hash_is_kept_when_a_record_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = PhotoDir::open(tmp.path()).unwrap();
    let time = fieldcheck_core::photo::CaptureTime {
        unix_ms: 0,
        source: TimeSource::Device,
        device_offset_ms: 0,
    };
    let stamp = fieldcheck_core::photo::Stamp {
        time,
        position: None,
        site: "站",
        inspector: "人",
        serial: "0000-0000".into(),
    };
    let photo = fieldcheck_core::photo::process(
        &jpeg(&pattern(640, 480, 0, 1), 640, 480, 90, None),
        &stamp,
    )
    .unwrap();
    let store = Store::open(tmp.path().join("db")).unwrap();
    let record = fieldcheck_protocol::PhotoRecord {
        sha256: photo.sha256.clone(),
        finding_id: None,
        inspection_id: None,
        kind: PhotoKind::Evidence,
        width: photo.width,
        height: photo.height,
        size_bytes: photo.jpeg.len() as u64,
        captured_at: 0,
        time_source: TimeSource::Device,
        device_clock_offset_ms: 0,
        position: None,
        device_id: store.device_id(),
        signature: String::new(),
        hlc: store.clock().now(),
        marked_from: None,
    };
    dir.save(&photo, &record, |_| Ok::<(), io::Error>(()))
        .unwrap();
    let refused = dir.save(&photo, &record, |_| Err(io::Error::other("duplicate")));
    assert!(matches!(refused, Err(PhotoError::Record(_))));
    assert_eq!(
        std::fs::read(dir.photo_path(&photo.sha256)).unwrap(),
        photo.jpeg
    );
    assert!(dir.thumb_path(&photo.sha256).is_file());
}

#[test]
fn low_storage_refuses_the_capture_with_advice() {
    let Setup {
        tmp,
        mut store,
        bytes,
    } = setup();
    let p = PhotoPipeline::new(
        PhotoDir::open(tmp.path().join("photos"))
            .unwrap()
            .with_min_free_bytes(u64::MAX),
        Arc::new(TrustedClock::new()),
        DeviceKey::load_or_create(tmp.path()).unwrap(),
    );
    let err = p.capture(&mut store, &request(&bytes)).unwrap_err();
    assert!(matches!(err, PhotoError::StorageLow { .. }), "{err}");
    let message = err.to_string();
    assert!(message.starts_with("存储空间不足"), "{message}");
    assert!(message.contains("请同步后清理") && message.contains("sync and free space"));
    assert_eq!(
        files_under(&tmp.path().join("photos")),
        Vec::<PathBuf>::new()
    );
}

#[test]
fn temporary_files_left_by_a_crash_are_removed_on_open() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("thumbs")).unwrap();
    std::fs::write(tmp.path().join(".tmp-1-abc.jpg"), b"half").unwrap();
    std::fs::write(tmp.path().join("thumbs/.tmp-1-abc.jpg"), b"half").unwrap();
    std::fs::write(tmp.path().join("keep.jpg"), b"whole").unwrap();
    PhotoDir::open(tmp.path()).unwrap();
    assert_eq!(files_under(tmp.path()), vec![tmp.path().join("keep.jpg")]);
}

#[cfg(unix)]
#[test]
fn the_device_key_is_private_and_stable() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let a = DeviceKey::load_or_create(tmp.path()).unwrap();
    let path = tmp.path().join(KEY_FILE);
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let b = DeviceKey::load_or_create(tmp.path()).unwrap();
    assert_eq!(a.public_key_hex(), b.public_key_hex());
    assert_eq!(a.public_key_hex().len(), 64);

    std::fs::write(&path, b"short").unwrap();
    let err = DeviceKey::load_or_create(tmp.path()).err().unwrap();
    assert!(matches!(err, PhotoError::DeviceKey { .. }), "{err}");
}

#[test]
fn photos_left_unrecorded_by_a_power_cut_are_removed_at_start() {
    let Setup {
        tmp,
        mut store,
        bytes,
    } = setup();
    let p = pipeline(&tmp, OsFs, Arc::new(TrustedClock::new()));
    let kept = p.capture(&mut store, &request(&bytes)).unwrap();
    // As if the power went off after the rename, before the commit.
    let orphan = "ab".repeat(32);
    std::fs::write(p.dir().photo_path(&orphan), b"whole but unrecorded").unwrap();
    std::fs::write(p.dir().thumb_path(&orphan), b"thumb").unwrap();

    let removed = p
        .dir()
        .remove_unrecorded(|sha| store.has_photo(sha))
        .unwrap();
    assert_eq!(removed, 1);
    assert!(!p.dir().photo_path(&orphan).exists());
    assert!(!p.dir().thumb_path(&orphan).exists());
    assert!(p.dir().photo_path(&kept.sha256).is_file());
    assert!(p.dir().thumb_path(&kept.sha256).is_file());
}
