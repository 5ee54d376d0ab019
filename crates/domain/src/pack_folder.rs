//! Template packs from a folder on disk (`content/<pack>/`): the files are read here and
//! checked whole by [`parse_pack`]. The one part of this crate that touches files, behind the
//! `folder` feature (off by default): the server's `content import` and test code turn it on;
//! the tablet engine receives its packs through sync and never reads a folder.

use crate::pack::{ContentError, Pack, PackFiles, parse_pack};
use std::fs;
use std::path::{Path, PathBuf};

/// A pack's folder on disk.
pub struct DirFiles(pub PathBuf);

impl PackFiles for DirFiles {
    fn shown(&self, rel: &Path) -> PathBuf {
        self.0.join(rel)
    }

    fn read(&self, rel: &Path) -> Result<String, ContentError> {
        let path = self.0.join(rel);
        fs::read_to_string(&path).map_err(|source| ContentError::Read { path, source })
    }

    fn toml_files(&self, rel: &Path) -> Result<Vec<PathBuf>, ContentError> {
        let dir = self.0.join(rel);
        let read_error = |source| ContentError::Read {
            path: dir.clone(),
            source,
        };
        let mut files = Vec::new();
        for entry in fs::read_dir(&dir).map_err(read_error)? {
            let path = entry.map_err(read_error)?.path();
            let visible = path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| !n.starts_with('.'));
            if visible
                && path.extension().is_some_and(|e| e == "toml")
                && path.is_file()
                && let Some(name) = path.file_name()
            {
                files.push(rel.join(name));
            }
        }
        files.sort();
        Ok(files)
    }
}

/// Loads and validates the pack in the folder `dir` (see [`crate::pack`] for its
/// files and rules): a whole pack or the first error, naming the file, line, entry and field.
pub fn load_pack(dir: &Path) -> Result<Pack, ContentError> {
    parse_pack(&DirFiles(dir.to_path_buf()))
}
