//! 导入模板包 in the browser: an admin uploads a template pack as a .zip of its folder (the
//! folder `content/civilized-city` zipped, as any office PC's "压缩" makes it). The archive is
//! unpacked into memory with limits on entries and sizes, checked whole by the domain's
//! [`parse_pack`] exactly as `fieldcheck-server content import` checks a folder, and imported in one
//! transaction; a pack with any error changes nothing and the page names the file, the entry
//! and the field.

use super::error::PageError;
use super::session::Session;
use crate::app::SharedState;
use crate::office::{Office, OfficeError};
use crate::store::{Content, StoreError};
use axum::extract::{Multipart, State};
use axum::response::{Redirect, Response};
use fieldcheck_domain::pack::{ContentError, PackFiles, parse_pack};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Largest upload accepted: a pack is text, the national one about 100 KB zipped.
pub const MAX_ZIP_BYTES: usize = 4 * 1024 * 1024;
/// Most entries (files and folders) in the archive.
const MAX_ENTRIES: usize = 500;
/// Largest unpacked file.
const MAX_FILE_BYTES: u64 = 2 * 1024 * 1024;
/// Largest unpacked total (guards against a zip bomb).
const MAX_TOTAL_BYTES: u64 = 16 * 1024 * 1024;

fn bad(zh: &str, en: &str) -> PageError {
    PageError::invalid("pack", zh, en)
}

/// A pack's `.toml` files, unpacked into memory from the archive, under the folder that holds
/// `pack.toml` (the archive's root or the one folder it contains).
struct ZipFiles {
    root: PathBuf,
    files: BTreeMap<PathBuf, String>,
}

impl PackFiles for ZipFiles {
    fn shown(&self, rel: &Path) -> PathBuf {
        rel.to_path_buf()
    }

    fn read(&self, rel: &Path) -> Result<String, ContentError> {
        self.files
            .get(&self.root.join(rel))
            .cloned()
            .ok_or_else(|| ContentError::Read {
                path: rel.to_path_buf(),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "not in the archive / 压缩文件中没有",
                ),
            })
    }

    fn toml_files(&self, rel: &Path) -> Result<Vec<PathBuf>, ContentError> {
        let dir = self.root.join(rel);
        Ok(self
            .files
            .keys()
            .filter(|p| p.parent() == Some(dir.as_path()))
            .filter(|p| {
                p.file_name()
                    .is_some_and(|n| !n.to_string_lossy().starts_with('.'))
            })
            .filter_map(|p| p.file_name().map(|n| rel.join(n)))
            .collect())
    }
}

/// Unpacks the `.toml` files of the archive `bytes` into memory, within the limits on entries
/// and sizes, each checked to stay inside the archive's folder and to be UTF-8 text.
fn unpack(bytes: &[u8]) -> Result<ZipFiles, PageError> {
    let not_zip = || {
        bad(
            "不是有效的 .zip 压缩文件，请把模板包文件夹压缩为 .zip 后上传",
            "not a valid .zip archive; zip the template pack's folder and upload the .zip",
        )
    };
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|_| not_zip())?;
    if archive.len() > MAX_ENTRIES {
        return Err(bad(
            &format!("压缩文件中的文件超过 {MAX_ENTRIES} 个，请只压缩模板包文件夹"),
            &format!("more than {MAX_ENTRIES} files in the archive; zip only the pack's folder"),
        ));
    }
    let mut total = 0u64;
    let mut roots: Vec<PathBuf> = Vec::new();
    let mut files = BTreeMap::new();
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).map_err(|_| not_zip())?;
        let Some(name) = file.enclosed_name() else {
            return Err(bad(
                "压缩文件中有指向文件夹之外的路径，已拒绝",
                "the archive holds a path leading outside its folder; refused",
            ));
        };
        if file.is_dir() || name.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let shown = name.display().to_string();
        let mut bytes = Vec::new();
        (&mut file)
            .take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|_| {
                bad(
                    &format!("{shown}：无法解压，压缩文件可能已损坏"),
                    &format!("{shown}: cannot be unpacked; the archive may be damaged"),
                )
            })?;
        total += bytes.len() as u64;
        if bytes.len() as u64 > MAX_FILE_BYTES || total > MAX_TOTAL_BYTES {
            return Err(bad(
                &format!(
                    "{shown}：解压后过大（单个文件不超过 {} MB，合计不超过 {} MB）",
                    MAX_FILE_BYTES >> 20,
                    MAX_TOTAL_BYTES >> 20
                ),
                &format!(
                    "{shown}: too large unpacked (at most {} MB a file, {} MB in all)",
                    MAX_FILE_BYTES >> 20,
                    MAX_TOTAL_BYTES >> 20
                ),
            ));
        }
        let text = String::from_utf8(bytes).map_err(|_| {
            bad(
                &format!("{shown}：不是 UTF-8 编码的文本，请用 UTF-8 保存"),
                &format!("{shown}: not UTF-8 text; save it as UTF-8"),
            )
        })?;
        if name.file_name().is_some_and(|f| f == "pack.toml") {
            roots.push(name.parent().map(Path::to_path_buf).unwrap_or_default());
        }
        files.insert(name, text);
    }
    roots.sort_by_key(|r| r.components().count());
    match roots.first() {
        Some(root) if root.components().count() <= 1 => Ok(ZipFiles {
            root: root.clone(),
            files,
        }),
        _ => Err(bad(
            "压缩文件中找不到 pack.toml：请压缩整个模板包文件夹（含 pack.toml、site-types.toml、taxonomy.toml、units.toml 和 templates/）",
            "no pack.toml in the archive: zip the whole pack folder (pack.toml, site-types.toml, taxonomy.toml, units.toml and templates/)",
        )),
    }
}

/// Unpacks and checks a pack; messages name the file inside the pack.
fn check(archive: &[u8]) -> Result<Content, PageError> {
    let files = unpack(archive)?;
    let pack = parse_pack(&files).map_err(|e| {
        let msg = e.to_string();
        bad(&msg, &msg)
    })?;
    Ok(Content {
        site_types: pack.site_types,
        templates: pack.templates,
        taxonomy: pack.taxonomy,
        units: pack.units,
    })
}

/// `POST /dashboard/manage/packs` (multipart: `csrf`, `pack`): imports a zipped template pack;
/// a refused pack brings the management page back with the reason beside the form.
pub async fn import_pack(
    State(state): State<SharedState>,
    session: Session,
    form: Multipart,
) -> Result<Response, PageError> {
    let result = import(&state, &session, form).await;
    super::manage::answer(&state, &session, "pack-form", &[], result).await
}

/// Reads, checks and imports the uploaded pack.
async fn import(
    state: &SharedState,
    session: &Session,
    mut form: Multipart,
) -> Result<Redirect, PageError> {
    let too_big = || {
        bad(
            &format!("文件超过 {} MB", MAX_ZIP_BYTES >> 20),
            &format!("the file is larger than {} MB", MAX_ZIP_BYTES >> 20),
        )
    };
    let mut csrf = String::new();
    let mut archive: Vec<u8> = Vec::new();
    while let Some(field) = form.next_field().await.map_err(|_| too_big())? {
        match field.name().unwrap_or("") {
            "csrf" => csrf = field.text().await.map_err(|_| PageError::csrf())?,
            "pack" => archive = field.bytes().await.map_err(|_| too_big())?.to_vec(),
            _ => {}
        }
    }
    session.check_csrf(&csrf)?;
    if archive.is_empty() {
        return Err(bad("请选择模板包 .zip 文件", "choose the pack's .zip file"));
    }
    if archive.len() > MAX_ZIP_BYTES {
        return Err(too_big());
    }
    let content = tokio::task::spawn_blocking(move || check(&archive))
        .await
        .map_err(|e| PageError::from(crate::error::ApiError::internal(e)))??;
    Office::new(state, session.actor())
        .import_content(&content, "content.zip")
        .await
        .map_err(|e| match e {
            OfficeError::Store(StoreError::Conflict(msg)) => bad(
                &format!("已有同版本号但内容不同的检查表，请提高修改过的检查表的 version 后再导入（{msg}）"),
                &msg,
            ),
            other => PageError::from(other),
        })?;
    Ok(Redirect::to("/dashboard/manage#templates"))
}
