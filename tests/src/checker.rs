//! The one checker that compares a tablet's state with the server's: used by every sync test.

use anyhow::{Result, bail};
use fieldcheck_core::store::Store;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Checks that the server export holds every record of `tablet` exactly once and with the same
/// content: inspections, latest item answers, findings, photo records and rectification steps.
/// The tablet's outbox must be empty (everything acknowledged).
pub fn check_converged(tablet: &Store, export: &Value) -> Result<()> {
    let pending = tablet.outbox_stats()?.pending;
    if pending != 0 {
        bail!("{pending} outbox entries are still unacknowledged");
    }
    let device = tablet.device_id().to_string();
    let mine = |key: &str| -> Result<Vec<&Value>> {
        let all = export[key]
            .as_array()
            .ok_or_else(|| anyhow::anyhow!("export has no {key}"))?;
        Ok(all
            .iter()
            .filter(|v| v["device_id"].as_str().is_none_or(|d| d == device))
            .collect())
    };

    let mut inspections = tablet.unfinished_inspections()?;
    inspections.extend(tablet.finished_inspections(None)?);
    let server_inspections = unique(
        mine("inspections")?,
        |v| v["id"].as_str().map(str::to_string),
        "inspection",
    )?;
    let ids: BTreeSet<String> = inspections.iter().map(|i| i.id.to_string()).collect();
    let server_ids: BTreeSet<String> = server_inspections.keys().cloned().collect();
    if ids != server_ids {
        bail!("inspections differ: tablet {ids:?}, server {server_ids:?}");
    }
    let mut findings = Vec::new();
    let mut results = BTreeMap::new();
    for i in &inspections {
        let server = &server_inspections[&i.id.to_string()];
        if **server != serde_json::to_value(i)? {
            bail!(
                "inspection {} differs: tablet {:?}, server {server}",
                i.id,
                i
            );
        }
        for r in tablet.results(i.id)? {
            results.insert(
                format!("{}/{}", r.inspection_id, r.item_code),
                serde_json::to_value(&r)?,
            );
        }
        findings.extend(tablet.inspection_findings(i.id)?);
    }
    let server_results: Vec<&Value> = export["item_results"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|v| v["inspection_id"].as_str().is_some_and(|i| ids.contains(i)))
                .collect()
        })
        .unwrap_or_default();
    let server_results = unique(
        server_results,
        |v| {
            Some(format!(
                "{}/{}",
                v["inspection_id"].as_str()?,
                v["item_code"].as_str()?
            ))
        },
        "item result",
    )?;
    if results.len() != server_results.len() {
        bail!(
            "{} item results on the tablet, {} on the server",
            results.len(),
            server_results.len()
        );
    }
    for (k, v) in &results {
        if server_results.get(k).copied() != Some(v) {
            bail!(
                "item result {k} differs: tablet {v}, server {:?}",
                server_results.get(k)
            );
        }
    }

    let server_findings = unique(
        mine("findings")?,
        |v| v["id"].as_str().map(str::to_string),
        "finding",
    )?;
    // Findings made outside an inspection are found through the server's list.
    for id in server_findings.keys() {
        if findings.iter().all(|f| f.id.to_string() != *id) {
            match tablet.finding(id.parse()?) {
                Ok(f) if f.inspection_id.is_none() => findings.push(f),
                _ => bail!("the server holds finding {id} of this tablet that the tablet lacks"),
            }
        }
    }
    if findings.len() != server_findings.len() {
        bail!(
            "{} findings on the tablet, {} on the server",
            findings.len(),
            server_findings.len()
        );
    }
    let server_photos = unique(
        mine("photos")?,
        |v| v["sha256"].as_str().map(str::to_string),
        "photo",
    )?;
    for f in &findings {
        if server_findings.get(&f.id.to_string()).copied() != Some(&serde_json::to_value(f)?) {
            bail!("finding {} differs or is missing on the server", f.id);
        }
    }
    // Findings of other tablets that this one pulled: its own photos and steps on them count too.
    let mut held: Vec<_> = findings.iter().map(|f| f.id).collect();
    for v in export["findings"].as_array().into_iter().flatten() {
        let Some(id) = v["id"].as_str().and_then(|s| s.parse().ok()) else {
            continue;
        };
        if v["device_id"].as_str() != Some(device.as_str()) && tablet.finding(id).is_ok() {
            held.push(id);
        }
    }
    let mut photo_count = 0;
    for f in &held {
        for p in tablet
            .finding_photos(*f)?
            .into_iter()
            .filter(|p| p.device_id.to_string() == device)
        {
            photo_count += 1;
            let Some(server) = server_photos.get(&p.sha256) else {
                bail!("photo {} missing on the server", p.sha256)
            };
            for field in [
                "captured_at",
                "signature",
                "width",
                "height",
                "size_bytes",
                "kind",
                "time_source",
            ] {
                if server[field] != serde_json::to_value(&p)?[field] {
                    bail!("photo {} field {field} differs", p.sha256);
                }
            }
        }
        let log: BTreeSet<String> = tablet
            .rectification_log(*f)?
            .iter()
            .map(|e| e.id.to_string())
            .collect();
        let server_events: Vec<&Value> = export["events"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|e| e["finding_id"].as_str() == Some(&f.to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let server_events = unique(
            server_events,
            |v| v["id"].as_str().map(str::to_string),
            "event",
        )?;
        let server_ids: BTreeSet<String> = server_events.keys().cloned().collect();
        if log != server_ids {
            bail!("finding {f}: steps differ: tablet {log:?}, server {server_ids:?}");
        }
    }
    if photo_count != server_photos.len() {
        bail!(
            "{photo_count} photos on the tablet, {} on the server",
            server_photos.len()
        );
    }
    Ok(())
}

/// Where a server keeps its photos, as files the checker can read.
#[derive(Clone, Copy, Debug)]
pub enum ServerPhotos<'a> {
    /// The local store under a server's data directory.
    Local(&'a Path),
    /// An S3 bucket served by `s3s-fs` from this directory (each object a file at its key).
    Bucket(&'a Path),
}

impl<'a> From<&'a Path> for ServerPhotos<'a> {
    fn from(data_dir: &'a Path) -> Self {
        ServerPhotos::Local(data_dir)
    }
}

impl ServerPhotos<'_> {
    fn photo(&self, sha: &str) -> std::path::PathBuf {
        let root = match self {
            ServerPhotos::Local(data_dir) => data_dir.join("photos"),
            ServerPhotos::Bucket(bucket) => bucket.join("photos"),
        };
        root.join(&sha[..2]).join(format!("{sha}.jpg"))
    }

    fn unfinished_upload(&self, sha: &str) -> std::path::PathBuf {
        match self {
            ServerPhotos::Local(data_dir) => data_dir
                .join("photos")
                .join("partial")
                .join(format!("{sha}.part")),
            // A directory of pieces: s3s-fs leaves it behind, empty, once they are deleted.
            ServerPhotos::Bucket(bucket) => bucket.join("partial").join(sha),
        }
    }
}

/// [`check_converged`], and then the photo bytes: the tablet has no photo left to send, and the
/// server's photo store (`server`: a data directory's, or a bucket) holds every photo of the tablet exactly as the
/// tablet stored it in `tablet_photos`, named by the SHA-256 of its bytes, with no unfinished
/// upload of it left behind. Returns the number of photos checked.
pub fn check_converged_and_stored<'a>(
    tablet: &Store,
    tablet_photos: &Path,
    export: &Value,
    server: impl Into<ServerPhotos<'a>>,
) -> Result<usize> {
    let server = server.into();
    check_converged(tablet, export)?;
    let unsent = tablet.photos_not_uploaded()?;
    if !unsent.is_empty() {
        bail!(
            "{} photos are still waiting to be uploaded, e.g. {}",
            unsent.len(),
            unsent[0].sha256
        );
    }
    let device = tablet.device_id().to_string();
    let photos = export["photos"]
        .as_array()
        .ok_or_else(|| anyhow::anyhow!("export has no photos"))?;
    let mut checked = 0;
    for p in photos
        .iter()
        .filter(|p| p["device_id"].as_str() == Some(device.as_str()))
    {
        let sha = p["sha256"]
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("photo without sha256: {p}"))?;
        let stored = server.photo(sha);
        let bytes = std::fs::read(&stored)
            .map_err(|e| anyhow::anyhow!("photo {sha} is not in the server's store: {e}"))?;
        let digest: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        if digest != sha {
            bail!("the server's photo {sha} holds bytes hashing to {digest}");
        }
        let mine = std::fs::read(tablet_photos.join(format!("{sha}.jpg")))?;
        if mine != bytes {
            bail!("the server's photo {sha} differs from the tablet's");
        }
        if p["size_bytes"].as_u64() != Some(bytes.len() as u64) {
            bail!(
                "photo {sha}: record says {} bytes, the server holds {}",
                p["size_bytes"],
                bytes.len()
            );
        }
        let partial = server.unfinished_upload(sha);
        let left = || -> std::io::Result<bool> {
            Ok(if partial.is_dir() {
                std::fs::read_dir(&partial)?.next().is_some()
            } else {
                partial.exists()
            })
        };
        // A request of a killed tablet may still be in flight (its bytes buffered, its body
        // ending at most the server's 30 s body-idle limit later); it drops its pieces once it
        // sees the photo stored. What must hold is that none is left once requests have ended.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(40);
        while left()? && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        if left()? {
            bail!(
                "photo {sha} is stored, yet an unfinished upload of it is left at {}",
                partial.display()
            );
        }
        checked += 1;
    }
    Ok(checked)
}

/// Indexes `values` by `key`, failing on a duplicate (a record applied twice).
fn unique<'a>(
    values: Vec<&'a Value>,
    key: impl Fn(&Value) -> Option<String>,
    what: &str,
) -> Result<BTreeMap<String, &'a Value>> {
    let mut out = BTreeMap::new();
    for v in values {
        let Some(k) = key(v) else {
            bail!("{what} without a key: {v}")
        };
        if out.insert(k.clone(), v).is_some() {
            bail!("{what} {k} is on the server twice");
        }
    }
    Ok(out)
}
