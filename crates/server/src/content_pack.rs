//! The default checklist pack, `content/civilized-city`, carried inside the binary: `demo`,
//! `content check` and `content export` use it when no folder is named, and `serve` imports it
//! into a database that has no checklist yet, so an installed server works from any directory
//! with no files beside it. A folder named on the command line (`content import DIR`) still
//! replaces or adds versions.

use crate::app::AppState;
use crate::office::{Actor, Office, OfficeError};
use crate::store::Content;
use fieldcheck_domain::pack::{ContentError, Pack, PackFiles, parse_pack};
use include_dir::{Dir, include_dir};
use std::path::{Path, PathBuf};

/// The pack's files, as the repository holds them when the binary is built.
static PACK: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../../content/civilized-city");

/// How messages and the audit log name the embedded pack.
pub const SOURCE: &str = "内置清单 / built-in pack (content/civilized-city)";

/// The embedded pack's files, for [`parse_pack`].
struct EmbeddedFiles;

impl PackFiles for EmbeddedFiles {
    fn shown(&self, rel: &Path) -> PathBuf {
        Path::new("(built-in)").join(rel)
    }

    fn read(&self, rel: &Path) -> Result<String, ContentError> {
        let read_error = |why: &str| ContentError::Read {
            path: self.shown(rel),
            source: std::io::Error::other(why.to_string()),
        };
        let file = PACK
            .get_file(rel)
            .ok_or_else(|| read_error("not in the built-in pack"))?;
        file.contents_utf8()
            .map(str::to_string)
            .ok_or_else(|| read_error("not UTF-8"))
    }

    fn toml_files(&self, rel: &Path) -> Result<Vec<PathBuf>, ContentError> {
        let dir = if rel.as_os_str().is_empty() {
            &PACK
        } else {
            PACK.get_dir(rel).ok_or_else(|| ContentError::Read {
                path: self.shown(rel),
                source: std::io::Error::other("not in the built-in pack"),
            })?
        };
        let mut files: Vec<PathBuf> = dir
            .files()
            .map(|f| f.path().to_path_buf())
            .filter(|p| {
                p.extension().is_some_and(|e| e == "toml")
                    && p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| !n.starts_with('.'))
            })
            .collect();
        files.sort();
        Ok(files)
    }
}

/// The embedded pack, checked whole like a folder's.
pub fn embedded() -> Result<Pack, ContentError> {
    parse_pack(&EmbeddedFiles)
}

/// A checked pack as the store imports it.
pub fn content(pack: Pack) -> Content {
    Content {
        site_types: pack.site_types,
        templates: pack.templates,
        taxonomy: pack.taxonomy,
        units: pack.units,
    }
}

/// Imports the embedded pack when the database holds no checklist yet (a new installation);
/// returns whether it did. Audited like `content import`, by the server.
pub async fn import_if_empty(state: &AppState) -> Result<bool, OfficeError> {
    let rows = state
        .store
        .dash_query("SELECT COUNT(*) FROM templates", Vec::new())
        .await?;
    if rows.first().is_some_and(|r| r[0].int() > 0) {
        return Ok(false);
    }
    let pack = embedded().map_err(|e| {
        OfficeError::Store(crate::store::StoreError::Backend(format!(
            "the built-in pack: {e}"
        )))
    })?;
    Office::new(state, Actor::server_start())
        .import_content(&content(pack), SOURCE)
        .await?;
    Ok(true)
}

/// Writes the embedded pack's files into `dir` (made; must hold no pack yet) as editable TOML,
/// to change and import with `content import`. Returns the number of files written.
pub fn export(dir: &Path) -> std::io::Result<usize> {
    if dir.join("pack.toml").exists() {
        return Err(std::io::Error::other(format!(
            "{} 已有清单包 / {} holds a pack already",
            dir.display(),
            dir.display()
        )));
    }
    let mut written = 0;
    let mut dirs = vec![&PACK];
    while let Some(d) = dirs.pop() {
        for f in d.files() {
            let path = dir.join(f.path());
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(path, f.contents())?;
            written += 1;
        }
        dirs.extend(d.dirs());
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_embedded_pack_is_the_repositorys_and_exports_to_files_that_load_the_same() {
        let embedded = super::embedded().unwrap();
        let folder = fieldcheck_domain::pack_folder::load_pack(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../content/civilized-city"),
        )
        .unwrap();
        assert_eq!(embedded, folder);
        assert!(embedded.templates.len() >= 16);
        let dir = tempfile::tempdir().unwrap();
        let n = super::export(dir.path()).unwrap();
        assert!(n >= 20, "{n} files");
        assert_eq!(
            fieldcheck_domain::pack_folder::load_pack(dir.path()).unwrap(),
            embedded
        );
        assert!(super::export(dir.path()).is_err(), "never over a pack");
    }
}
