//! Server benchmark against the real `fieldcheck-server` binary (release build):
//!
//! - push ingest, records/s and p50/p99 per 100-record batch, on SQLite and on PostgreSQL
//!   (PostgreSQL when FIELDCHECK_BENCH_PG_URL or FIELDCHECK_TEST_PG_URL names a server; a
//!   fresh database is created);
//! - photo upload throughput (upload + SHA-256 + full decode + signature check) against raw
//!   disk writes measured with `dd`;
//! - server peak RSS while 200 photo uploads stream at once;
//! - server peak RSS under a 100-way sign-in storm (bounded Argon2 pool, and unbounded as the
//!   anchor), and a dashboard wrong-password sign-in's time for known and unknown names.
//!
//! Run: `cargo bench -p fieldcheck-server --bench server_bench` (from the repository root).

use ed25519_dalek::{Signer, SigningKey};
use fieldcheck_protocol::*;
use fieldcheck_testkit::content_dir;
use fieldcheck_testkit::server::{INSPECTOR_PASSWORD, ServerCommand, ServerProcess};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use sqlx::Connection;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;

const BIN: &str = env!("CARGO_BIN_EXE_fieldcheck-server");
const DEVICES: usize = 8;
const BATCHES_PER_DEVICE: usize = 40;
const INSPECTIONS_PER_BATCH: usize = 10;

/// Starts a server on `data` (on PostgreSQL at `db`, when given) with [`BENCH_LIMITS`].
fn start(data: PathBuf, db: Option<String>) -> ServerProcess {
    start_with(data, db, BENCH_LIMITS)
}

/// Limits for every bench server: tablets of one account sign in together from one address,
/// which the default failure count (attempts counted before the hash) would refuse past five.
const BENCH_LIMITS: &str = "[limits]\nlogin_max_failures = 100000\n";

/// Starts a server whose configuration file holds `config` (TOML), with the demo data and the
/// inspector `bench`.
fn start_with(data: PathBuf, db: Option<String>, config: &str) -> ServerProcess {
    let mut command = ServerCommand::with_binary(BIN, &data);
    if let Some(db) = db {
        command = command.global(["--database-url", db.as_str()]);
    }
    let command = command.config(config).unwrap();
    command.prepare(&content_dir(), &["bench"]).unwrap();
    command.serve().unwrap()
}

fn hlc_now() -> Hlc {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    Hlc {
        time: (d.as_secs() << 32) | u64::from(d.subsec_nanos()),
        node: 1,
    }
}

struct Tablet {
    http: reqwest::Client,
    base: String,
    token: String,
    id: Uuid,
    key: SigningKey,
    seq: u64,
}

impl Tablet {
    async fn login(base: &str, n: u8) -> Tablet {
        let http = reqwest::Client::new();
        let key = SigningKey::from_bytes(&[n.max(1); 32]);
        let id = Uuid::now_v7();
        let resp: LoginResponse = http
            .post(format!("{base}/api/v1/login"))
            .json(&LoginRequest {
                username: "bench".into(),
                password: INSPECTOR_PASSWORD.into(),
                device_id: id,
                device_public_key: hex::encode(key.verifying_key().to_bytes()),
                device_label: format!("bench {n}"),
                protocol_version: PROTOCOL_VERSION,
            })
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Tablet {
            http,
            base: base.into(),
            token: resp.token,
            id,
            key,
            seq: 0,
        }
    }

    async fn pull_site_and_template(&self) -> (Uuid, Template) {
        let (mut cursor, mut sites, mut templates) = (0, Vec::new(), Vec::new());
        loop {
            let page: PullResponse = self
                .http
                .post(format!("{}/api/v1/sync/pull", self.base))
                .bearer_auth(&self.token)
                .json(&PullRequest {
                    protocol_version: PROTOCOL_VERSION,
                    cursor,
                    limit: Some(500),
                    hlc: hlc_now(),
                    scope_version: None,
                })
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            for c in page.changes {
                match c.item {
                    ChangeItem::Site(s) => sites.push(s),
                    ChangeItem::Template(t) => templates.push(t),
                    _ => {}
                }
            }
            cursor = page.cursor;
            if !page.more {
                break;
            }
        }
        let site = sites.into_iter().next().expect("demo sites");
        let t = templates
            .into_iter()
            .find(|t| t.site_type == site.site_type)
            .expect("template for site");
        (site.id, t)
    }

    async fn push(&mut self, records: Vec<Record>) -> Duration {
        let entries: Vec<OutboxEntry> = records
            .into_iter()
            .map(|record| {
                self.seq += 1;
                OutboxEntry {
                    seq: self.seq,
                    hlc: hlc_now(),
                    record,
                }
            })
            .collect();
        let req = PushRequest {
            protocol_version: PROTOCOL_VERSION,
            device_id: self.id,
            hlc: hlc_now(),
            entries,
        };
        let t = Instant::now();
        let resp = self
            .http
            .post(format!("{}/api/v1/sync/push", self.base))
            .bearer_auth(&self.token)
            .json(&req)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
        let _: PushResponse = resp.json().await.unwrap();
        t.elapsed()
    }

    fn photo_record(&self, bytes: &[u8], width: u32, height: u32) -> PhotoRecord {
        let mut r = PhotoRecord {
            sha256: hex::encode(Sha256::digest(bytes)),
            finding_id: None,
            inspection_id: None,
            kind: PhotoKind::Evidence,
            width,
            height,
            size_bytes: bytes.len() as u64,
            captured_at: 1_700_000_000_000,
            time_source: TimeSource::Trusted,
            device_clock_offset_ms: 0,
            position: None,
            device_id: self.id,
            signature: String::new(),
            hlc: hlc_now(),
            marked_from: None,
        };
        r.signature = hex::encode(
            self.key
                .sign(&fieldcheck_domain::device_signature::signed_message(&r))
                .to_bytes(),
        );
        r
    }
}

fn inspection_records(dev: Uuid, site: Uuid, t: &Template) -> Vec<Record> {
    let ins = Uuid::now_v7();
    let mut out = vec![Record::Inspection(InspectionRecord {
        id: ins,
        site_id: site,
        template_id: t.id.clone(),
        template_version: t.version,
        inspector: "bench".into(),
        device_id: dev,
        started_at: 1_700_000_000_000,
        finished_at: None,
        position: None,
        discarded_at: None,
    })];
    for item in t.items.iter().cycle().take(9) {
        let value = match item.kind {
            ItemKind::Verdict => ItemValue::Compliant,
            ItemKind::Count { min } => ItemValue::Count(min),
            ItemKind::Percent { min } => ItemValue::Percent(min),
        };
        out.push(Record::ItemResult(ItemResultRecord {
            inspection_id: ins,
            item_code: item.code.clone(),
            value,
            note: String::new(),
            hlc: hlc_now(),
        }));
    }
    out
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn push_ingest(server: &ServerProcess) -> String {
    let mut tasks = Vec::new();
    let start = Instant::now();
    for n in 0..DEVICES {
        let base = server.url.clone();
        tasks.push(tokio::spawn(async move {
            let mut tab = Tablet::login(&base, n as u8 + 1).await;
            let (site, t) = tab.pull_site_and_template().await;
            let mut lat = Vec::new();
            for _ in 0..BATCHES_PER_DEVICE {
                let records: Vec<Record> = (0..INSPECTIONS_PER_BATCH)
                    .flat_map(|_| inspection_records(tab.id, site, &t))
                    .collect();
                lat.push(tab.push(records).await);
            }
            lat
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.unwrap());
    }
    let secs = start.elapsed().as_secs_f64();
    lat.sort();
    let records = DEVICES * BATCHES_PER_DEVICE * INSPECTIONS_PER_BATCH * 10;
    format!(
        "{records} records in {} batches of 100 from {DEVICES} concurrent devices: {:.0} records/s, p50 {:.1} ms, p99 {:.1} ms per batch",
        lat.len(),
        records as f64 / secs,
        percentile(&lat, 0.50).as_secs_f64() * 1000.0,
        percentile(&lat, 0.99).as_secs_f64() * 1000.0
    )
}

/// A noisy JPEG (hard to compress, so realistically large) and a way to make distinct copies.
fn noisy_jpeg(width: u32, height: u32) -> Vec<u8> {
    let mut state = 0x1234_5678u32;
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let n = (state & 0x3f) as u8;
        image::Rgb([(x % 200) as u8 + n, (y % 200) as u8 + n, 60 + n])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 92)
        .encode_image(&img)
        .unwrap();
    out.into_inner()
}

/// The same image with a JPEG comment segment naming `n`: same pixels, different hash.
fn variant(jpeg: &[u8], n: usize) -> Vec<u8> {
    let text = format!("fieldcheck bench {n}");
    let len = (text.len() + 2) as u16;
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xFE]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(&jpeg[2..]);
    out
}

async fn upload(tab: &Tablet, sha: &str, body: reqwest::Body) {
    let resp = tab
        .http
        .patch(format!("{}/api/v1/photos/{sha}", tab.base))
        .bearer_auth(&tab.token)
        .header("Upload-Offset", "0")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
}

fn dd_mb_per_s(dir: &Path) -> f64 {
    let target = dir.join("dd.bin");
    let out = Command::new("dd")
        .arg("if=/dev/zero")
        .arg(format!("of={}", target.display()))
        .args(["bs=1M", "count=512", "conv=fdatasync"])
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&target);
    let text = String::from_utf8_lossy(&out.stderr);
    // "536870912 bytes (537 MB, 512 MiB) copied, 0.9 s, 596 MB/s"
    let secs: f64 = text
        .split(", ")
        .find_map(|p| p.strip_suffix(" s").and_then(|s| s.trim().parse().ok()))
        .expect("dd summary");
    536_870_912.0 / secs / 1e6
}

async fn photo_throughput(server: &ServerProcess) -> String {
    let mut tab = Tablet::login(&server.url, 200).await;
    let base_img = noisy_jpeg(2400, 1800);
    let photos: Vec<Vec<u8>> = (0..16).map(|n| variant(&base_img, n)).collect();
    let records = photos
        .iter()
        .map(|p| Record::Photo(tab.photo_record(p, 2400, 1800)))
        .collect();
    tab.push(records).await;
    let total: usize = photos.iter().map(Vec::len).sum();
    let start = Instant::now();
    for p in &photos {
        let sha = hex::encode(Sha256::digest(p));
        upload(&tab, &sha, reqwest::Body::from(p.clone())).await;
    }
    let secs = start.elapsed().as_secs_f64();
    let mbps = total as f64 / secs / 1e6;
    let dd = dd_mb_per_s(server.data_dir());
    let t = Instant::now();
    for p in photos.iter().take(4) {
        image::load_from_memory(p).unwrap();
    }
    let decode_ms = t.elapsed().as_secs_f64() * 1000.0 / 4.0;
    format!(
        "16 photos of {:.1} MB (2400×1800 JPEG), one after another: {mbps:.0} MB/s ({:.0} ms per photo) including SHA-256, full decode and signature check; one decode alone in the client: {decode_ms:.0} ms; raw disk write (dd bs=1M count=512 conv=fdatasync): {dd:.0} MB/s; ratio {:.2}",
        total as f64 / 16.0 / 1e6,
        secs * 1000.0 / 16.0,
        mbps / dd
    )
}

fn rss_kb(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| {
            l.strip_prefix(field)
                .map(|v| v.trim().trim_end_matches(" kB").trim().parse().unwrap())
        })
        .unwrap()
}

async fn concurrent_upload_rss(server: &ServerProcess) -> String {
    // Fifty tablets, four uploads each (a tablet may hold four sync requests at once).
    let base_img = noisy_jpeg(1200, 900);
    let mut uploads = Vec::new();
    for t in 0..50u8 {
        let mut tab = Tablet::login(&server.url, 100 + t).await;
        let photos: Vec<Vec<u8>> = (0..4)
            .map(|n| variant(&base_img, 1000 + usize::from(t) * 4 + n))
            .collect();
        let records = photos
            .iter()
            .map(|p| Record::Photo(tab.photo_record(p, 1200, 900)))
            .collect();
        tab.push(records).await;
        let tab = Arc::new(tab);
        uploads.extend(photos.into_iter().map(|p| (tab.clone(), p)));
    }
    let pid = server.pid();
    let before = rss_kb(pid, "VmRSS:");
    let start = Instant::now();
    let mut tasks = Vec::new();
    for (tab, p) in uploads {
        tasks.push(tokio::spawn(async move {
            let sha = hex::encode(Sha256::digest(&p));
            // A slow tablet: 64 KiB every 40 ms, so that all 200 are in flight together.
            let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
                p.chunks(64 * 1024).map(|c| Ok(c.to_vec())).collect();
            let stream = futures_util::stream::iter(chunks).then(|c| async move {
                tokio::time::sleep(Duration::from_millis(40)).await;
                c
            });
            upload(&tab, &sha, reqwest::Body::wrap_stream(stream)).await;
        }));
    }
    let mut peak_sampled = 0;
    while !tasks.iter().all(|t| t.is_finished()) {
        peak_sampled = peak_sampled.max(rss_kb(pid, "VmRSS:"));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for t in tasks {
        t.await.unwrap();
    }
    let hwm = rss_kb(pid, "VmHWM:");
    format!(
        "200 concurrent uploads (50 tablets × 4) of {:.2} MB each (1200×900 JPEG, streamed in 64 KiB chunks) took {:.1} s; server RSS before {:.0} MB, peak sampled {:.0} MB, VmHWM (whole run) {:.0} MB",
        base_img.len() as f64 / 1e6,
        start.elapsed().as_secs_f64(),
        before as f64 / 1024.0,
        peak_sampled as f64 / 1024.0,
        hwm as f64 / 1024.0
    )
}

/// A hundred sign-ins at once with names that do not exist (the attacker's cheapest storm),
/// sampling the server's memory; then the time of a wrong password for a known and for an
/// unknown name at the dashboard, ten of each, interleaved.
async fn login_storm(server: &ServerProcess) -> String {
    let pid = server.pid();
    let before = rss_kb(pid, "VmRSS:");
    let http = reqwest::Client::new();
    let started = Instant::now();
    let tasks: Vec<_> = (0..100)
        .map(|n| {
            let (http, base) = (http.clone(), server.url.clone());
            tokio::spawn(async move {
                let key = SigningKey::from_bytes(&[7; 32]);
                http.post(format!("{base}/api/v1/login"))
                    .json(&LoginRequest {
                        username: format!("storm-{n}"),
                        password: "guess-guess".into(),
                        device_id: Uuid::now_v7(),
                        device_public_key: hex::encode(key.verifying_key().to_bytes()),
                        device_label: "storm".into(),
                        protocol_version: PROTOCOL_VERSION,
                    })
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            })
        })
        .collect();
    let mut peak = 0;
    while !tasks.iter().all(|t| t.is_finished()) {
        peak = peak.max(rss_kb(pid, "VmRSS:"));
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut answers = std::collections::BTreeMap::new();
    for t in tasks {
        *answers.entry(t.await.unwrap()).or_insert(0) += 1;
    }
    let took = started.elapsed();
    let hwm = rss_kb(pid, "VmHWM:");
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for i in 0..10 {
        known.push(dashboard_login_ms(&http, &server.url, "admin").await);
        unknown.push(dashboard_login_ms(&http, &server.url, &format!("nobody{i}")).await);
    }
    let (k, u) = (median(&mut known), median(&mut unknown));
    format!(
        "100 parallel sign-ins took {:.1} s, answers {answers:?}; RSS before {:.0} MB, peak sampled {:.0} MB, VmHWM {:.0} MB. Dashboard wrong password, median of 10: known name {k:.0} ms, unknown name {u:.0} ms (ratio {:.2})",
        took.as_secs_f64(),
        before as f64 / 1024.0,
        peak as f64 / 1024.0,
        hwm as f64 / 1024.0,
        u / k
    )
}

/// Milliseconds a wrong-password dashboard sign-in for `name` takes (the form's CSRF cookie
/// fetched first, not timed).
async fn dashboard_login_ms(http: &reqwest::Client, base: &str, name: &str) -> f64 {
    let page = http
        .get(format!("{base}/dashboard/login"))
        .send()
        .await
        .unwrap();
    let cookie = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("fc_login_csrf="))
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let csrf = cookie.trim_start_matches("fc_login_csrf=").to_string();
    let started = Instant::now();
    let status = http
        .post(format!("{base}/dashboard/login"))
        .header("cookie", &cookie)
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", name),
            ("password", "wrong-guess"),
        ])
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 401, "{name}");
    started.elapsed().as_secs_f64() * 1000.0
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

async fn fresh_pg(base: &str) -> String {
    let name = format!("fc_bench_{}", Uuid::now_v7().simple());
    let mut conn = sqlx::PgConnection::connect(base).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let (prefix, _) = base.rsplit_once('/').unwrap();
    format!("{prefix}/{name}")
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cores} cores, {cpu}")
}

#[tokio::main]
async fn main() {
    println!("machine: {}", machine());
    let tmp = tempfile::tempdir().unwrap();
    let sqlite = start(tmp.path().join("sqlite"), None);
    println!("push ingest, SQLite: {}", push_ingest(&sqlite).await);
    println!(
        "photo upload, SQLite server, local blobs: {}",
        photo_throughput(&sqlite).await
    );
    drop(sqlite);
    let fresh = start(tmp.path().join("rss"), None);
    println!(
        "memory (fresh server): {}",
        concurrent_upload_rss(&fresh).await
    );
    drop(fresh);
    // The storm and the timing runs come from one address.
    let storm = start(tmp.path().join("storm"), None);
    println!(
        "login storm (bounded hash pool, default 2 slots): {}",
        login_storm(&storm).await
    );
    drop(storm);
    // The anchor: the same storm when every sign-in may hash at once (no bound), as before.
    let unbounded = start_with(
        tmp.path().join("unbounded"),
        None,
        "[limits]\nlogin_max_failures = 100000\nmax_concurrent_hashes = 100\nmax_waiting_hashes = 1000\n",
    );
    println!(
        "login storm (anchor: 100 hash slots): {}",
        login_storm(&unbounded).await
    );
    drop(unbounded);
    let pg = std::env::var("FIELDCHECK_BENCH_PG_URL")
        .or_else(|_| std::env::var("FIELDCHECK_TEST_PG_URL"));
    match pg {
        Ok(base) => {
            let db = fresh_pg(&base).await;
            let server = start(tmp.path().join("pg"), Some(db));
            println!("push ingest, PostgreSQL: {}", push_ingest(&server).await);
        }
        Err(_) => println!(
            "push ingest, PostgreSQL: skipped (set FIELDCHECK_BENCH_PG_URL or FIELDCHECK_TEST_PG_URL)"
        ),
    }
}
