//! The photo directory: files named by hash, written so that a photo is either wholly stored
//! and recorded or not there at all.
//!
//! Layout: `<root>/<sha256>.jpg` for photos and `<root>/thumbs/<sha256>.jpg` for thumbnails.
//! Each file is written to a temporary name in its own directory, fsynced, renamed, and the
//! directory fsynced; only then is the record committed. Any failure removes what this
//! capture created. Temporary files left by a crash are removed when the directory is opened.

use super::PhotoError;
use super::process::ProcessedPhoto;
use fieldcheck_protocol::PhotoRecord;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Free space below which a capture is refused by default: 200 MiB, room for the photo, its
/// thumbnail and the database's growth with a wide margin.
pub const DEFAULT_MIN_FREE_BYTES: u64 = 200 * 1024 * 1024;

const TEMP_PREFIX: &str = ".tmp-";

/// The file operations the photo directory needs; tests inject failures through it.
pub trait PhotoFs {
    /// Creates `path` (which must not exist), writes `bytes` and fsyncs it.
    fn write_synced(&self, path: &Path, bytes: &[u8]) -> io::Result<()>;
    /// Renames `from` to `to`, replacing `to`.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Fsyncs a directory, making renames and removals in it durable.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
    /// Removes a file.
    fn remove(&self, path: &Path) -> io::Result<()>;
    /// Bytes available to the app in the file system holding `dir`.
    fn available_space(&self, dir: &Path) -> io::Result<u64>;
}

/// The real file system.
#[derive(Clone, Copy, Debug, Default)]
pub struct OsFs;

impl PhotoFs for OsFs {
    fn write_synced(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)?;
        file.write_all(bytes)?;
        file.sync_all()
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        fs::File::open(dir)?.sync_all()
    }
    fn remove(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }
    fn available_space(&self, dir: &Path) -> io::Result<u64> {
        fs4::available_space(dir)
    }
}

/// The directory where photos are stored.
pub struct PhotoDir<F: PhotoFs = OsFs> {
    root: PathBuf,
    fs: F,
    min_free_bytes: u64,
}

impl PhotoDir<OsFs> {
    /// Opens (creating) the photo directory at `root` on the real file system.
    pub fn open(root: impl Into<PathBuf>) -> Result<PhotoDir<OsFs>, PhotoError> {
        PhotoDir::with_fs(root, OsFs)
    }
}

impl<F: PhotoFs> PhotoDir<F> {
    /// Opens (creating) the photo directory at `root` through `fs`, and removes temporary
    /// files a crash left behind.
    pub fn with_fs(root: impl Into<PathBuf>, fs: F) -> Result<PhotoDir<F>, PhotoError> {
        let root = root.into();
        let dir = PhotoDir {
            root,
            fs,
            min_free_bytes: DEFAULT_MIN_FREE_BYTES,
        };
        for d in [dir.root.clone(), dir.thumbs()] {
            fs::create_dir_all(&d).map_err(PhotoError::io("create photo directory"))?;
            let entries = fs::read_dir(&d).map_err(PhotoError::io("list photo directory"))?;
            for entry in entries.flatten() {
                if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
                    dir.fs
                        .remove(&entry.path())
                        .map_err(PhotoError::io("remove temporary file"))?;
                }
            }
        }
        Ok(dir)
    }

    /// Sets the free space below which captures are refused.
    pub fn with_min_free_bytes(mut self, bytes: u64) -> PhotoDir<F> {
        self.min_free_bytes = bytes;
        self
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the photo named `sha256` is stored.
    pub fn photo_path(&self, sha256: &str) -> PathBuf {
        self.root.join(format!("{sha256}.jpg"))
    }

    /// Where the thumbnail of the photo named `sha256` is stored.
    pub fn thumb_path(&self, sha256: &str) -> PathBuf {
        self.thumbs().join(format!("{sha256}.jpg"))
    }

    fn thumbs(&self) -> PathBuf {
        self.root.join("thumbs")
    }

    /// Refuses with [`PhotoError::StorageLow`] when free space is below the threshold. Call it
    /// before opening the camera too, so the inspector learns before taking the picture.
    pub fn check_free_space(&self) -> Result<(), PhotoError> {
        let available = self
            .fs
            .available_space(&self.root)
            .map_err(PhotoError::io("check free space"))?;
        if available < self.min_free_bytes {
            return Err(PhotoError::StorageLow {
                available_mb: available / 1_000_000,
                required_mb: self.min_free_bytes.div_ceil(1_000_000),
            });
        }
        Ok(())
    }

    /// Removes photos (and their thumbnails) that `is_recorded` says the database does not
    /// know: what a power cut between the rename and the commit leaves. Call it at start-up,
    /// before any capture runs. Returns how many photos were removed.
    pub fn remove_unrecorded<E>(
        &self,
        is_recorded: impl Fn(&str) -> Result<bool, E>,
    ) -> Result<usize, PhotoError>
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        let entries = fs::read_dir(&self.root).map_err(PhotoError::io("list photo directory"))?;
        let mut removed = 0;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(sha256) = name.strip_suffix(".jpg") else {
                continue;
            };
            if is_recorded(sha256).map_err(|e| PhotoError::Record(Box::new(e)))? {
                continue;
            }
            for path in [self.photo_path(sha256), self.thumb_path(sha256)] {
                match self.fs.remove(&path) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => {
                        return Err(PhotoError::io("remove unrecorded photo")(e));
                    }
                    _ => {}
                }
            }
            removed += 1;
        }
        Ok(removed)
    }

    /// Removes the photo named `sha256` and its thumbnail (either may be missing already), and
    /// makes the removal durable. Only for a photo whose record is gone.
    pub fn remove_photo(&self, sha256: &str) -> Result<(), PhotoError> {
        for path in [self.photo_path(sha256), self.thumb_path(sha256)] {
            match self.fs.remove(&path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => {
                    return Err(PhotoError::io("remove photo")(e));
                }
                _ => {}
            }
        }
        for dir in [self.root.clone(), self.thumbs()] {
            self.fs
                .sync_dir(&dir)
                .map_err(PhotoError::io("sync photo directory"))?;
        }
        Ok(())
    }

    /// Stores the photo and its thumbnail durably under the photo's hash, then calls `commit`
    /// with `record` (one database transaction: the photo row and its outbox entry). If any
    /// step fails, the files this call created are removed and nothing is recorded. A photo
    /// already on disk under the same hash (same bytes) is left in place.
    pub fn save<E>(
        &self,
        photo: &ProcessedPhoto,
        record: &PhotoRecord,
        commit: impl FnOnce(&PhotoRecord) -> Result<(), E>,
    ) -> Result<(), PhotoError>
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        let files = [
            (self.photo_path(&photo.sha256), &photo.jpeg),
            (self.thumb_path(&photo.sha256), &photo.thumbnail),
        ];
        let mut created = Vec::new();
        let stored = files
            .iter()
            .try_for_each(|(path, bytes)| self.place(path, bytes, &mut created));
        let result =
            stored.and_then(|()| commit(record).map_err(|e| PhotoError::Record(Box::new(e))));
        if result.is_err() {
            for path in &created {
                let _ = self.fs.remove(path);
            }
            for dir in [self.root.clone(), self.thumbs()] {
                let _ = self.fs.sync_dir(&dir);
            }
        }
        result
    }

    /// Writes `bytes` to `path` through a synced temporary file; adds `path` to `created` once
    /// it exists because of this call.
    fn place(
        &self,
        path: &Path,
        bytes: &[u8],
        created: &mut Vec<PathBuf>,
    ) -> Result<(), PhotoError> {
        if path.exists() {
            return Ok(());
        }
        let dir = path
            .parent()
            .expect("photo paths are inside the photo directory");
        let name = path
            .file_name()
            .expect("photo paths name a file")
            .to_string_lossy();
        let temp = dir.join(format!("{TEMP_PREFIX}{}-{name}", std::process::id()));
        let written = self
            .fs
            .write_synced(&temp, bytes)
            .map_err(PhotoError::io("write temporary file"))
            .and_then(|()| {
                self.fs
                    .rename(&temp, path)
                    .map_err(PhotoError::io("rename into place"))
            });
        if let Err(e) = written {
            let _ = self.fs.remove(&temp);
            return Err(e);
        }
        created.push(path.to_owned());
        self.fs
            .sync_dir(dir)
            .map_err(PhotoError::io("sync photo directory"))
    }
}
