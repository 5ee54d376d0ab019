//! The UI's TypeScript types (`ui/src/bindings/`), made from the Rust types the commands take
//! and return, so that the two cannot drift: the test below writes them to a temporary
//! directory and fails when the committed files differ. After changing a command's types, run
//! `FIELDCHECK_UPDATE_BINDINGS=1 cargo test -p fieldcheck-app --lib bindings` and commit.
//!
//! 64-bit integers (milliseconds since the epoch, byte counts) are declared `number`: JSON
//! carries them as numbers, and none of them comes near 2^53.

use crate::commands::findings::{FindingDetail, PhotoMeta, RecheckEntry};
use crate::commands::inspections::{Answered, InspectionScreen, Unfinished};
use crate::commands::session::{AppInfo, StorageInfo};
use crate::commands::sites::{Catalog, SitePage, TodaySite};
use crate::commands::sync::SyncStatus;
use crate::error::CommandErrorBody;
use fieldcheck_core::store::drafts::{DraftForm, FindingDraft};
use fieldcheck_core::store::findings::NewFinding;
use fieldcheck_core::sync::SyncProgress;
use fieldcheck_domain::rectification::Status;
use fieldcheck_protocol::{FindingRecord, ItemValue, PhotoRecord, Site};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use ts_rs::{Config, TS};

/// Where the committed declarations live.
fn committed_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/bindings")
}

/// Writes the declarations of every type the commands take or return (and of the types they
/// contain) into `dir`.
fn export_all(dir: &Path) {
    let cfg = Config::new().with_large_int("number").with_out_dir(dir);
    macro_rules! export {
        ($($t:ty),* $(,)?) => {
            $(<$t as TS>::export_all(&cfg).expect(concat!("exporting ", stringify!($t)));)*
        };
    }
    export!(
        Answered,
        AppInfo,
        Catalog,
        CommandErrorBody<'static>,
        DraftForm,
        FindingDetail,
        FindingDraft,
        FindingRecord,
        InspectionScreen,
        ItemValue,
        NewFinding,
        PhotoMeta,
        PhotoRecord,
        RecheckEntry,
        Site,
        SitePage,
        Status,
        StorageInfo,
        SyncProgress,
        SyncStatus,
        TodaySite,
        Unfinished,
    );
}

/// The `.ts` files directly in `dir`, by name.
fn ts_files(dir: &Path) -> BTreeMap<String, String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return BTreeMap::new();
    };
    entries
        .map(|e| e.expect("listing the bindings").path())
        .filter(|p| p.extension().is_some_and(|e| e == "ts"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (
                name,
                std::fs::read_to_string(&p).expect("reading a binding"),
            )
        })
        .collect()
}

#[test]
fn the_committed_typescript_types_match_the_rust_types() {
    let fresh = tempfile::tempdir().unwrap();
    export_all(fresh.path());
    let made = ts_files(fresh.path());
    assert!(made.contains_key("SitePage.ts") && made.contains_key("Site.ts"));
    let committed_dir = committed_dir();
    if std::env::var_os("FIELDCHECK_UPDATE_BINDINGS").is_some() {
        let _ = std::fs::remove_dir_all(&committed_dir);
        std::fs::create_dir_all(&committed_dir).unwrap();
        for (name, text) in &made {
            std::fs::write(committed_dir.join(name), text).unwrap();
        }
    }
    let committed = ts_files(&committed_dir);
    let differ: BTreeSet<&String> = made
        .keys()
        .chain(committed.keys())
        .filter(|name| made.get(*name) != committed.get(*name))
        .collect();
    assert!(
        differ.is_empty(),
        "ui/src/bindings is out of date with the Rust types ({differ:?}): run \
         FIELDCHECK_UPDATE_BINDINGS=1 cargo test -p fieldcheck-app --lib bindings, and commit"
    );
}
