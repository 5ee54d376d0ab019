//! 17:00 (issue #5): 500 simulated tablets push the standard day's records at the same instant
//! to one real `fieldcheck-server` process (SQLite) on this machine.
//!
//! Each tablet is light: a registered device (real login with its own Ed25519 key) and its
//! day's outbox built in memory — 30 inspections (start + finish records), 600 item results,
//! 120 findings and 240 signed photo records, 1,020 entries — pushed the way the real client
//! does (`ServerApi::push`: gzip-compressed JSON, batches of 1,000), coming back when a number
//! in the server's line says (503 `queued`, as the app's scheduler does), honouring other 503/429 with
//! Retry-After and full-jitter backoff. Photo bytes are not uploaded: only the records.
//!
//! Reports the time until every entry is acknowledged, per-batch latency p50/p99 of the
//! successful requests, the 503s answered, the server's peak RSS (VmHWM), and checks the
//! server's export holds every record exactly once. Anchor: the same total pushed by ONE
//! tablet alone, in sequential batches, to a fresh server in the same run.
//!
//! Run: `cargo build --release -p fieldcheck-server && cargo bench -p fieldcheck-tests --bench five_pm`
//! (`FIVE_PM_TABLETS=N` changes the number of tablets, `FIVE_PM_BATCH=N` the entries per push,
//! `FIVE_PM_WAIT_TARGET_MS=N` the servers' `push_wait_target_ms`, for trying them out;
//! `FIVE_PM_SERVER_LOG=filter` runs the servers with that log filter, e.g.
//! `warn,fieldcheck_store::group_commit=debug` for each group commit's size and time, and keeps
//! their data directories and logs; `FIVE_PM_TRACE=1` prints a line per request on stderr:
//! `TRACE <s since the start> <device> <push|turn> <s taken> <ok|queued <ms told> <ahead>|error>`.)
//!
//! Scaled out (issue #19): `FIVE_PM_REPLICAS=N` runs N server processes on one PostgreSQL
//! database (`FIELDCHECK_TEST_PG_URL`, as `scripts/start-postgres.sh` prints it) with photos in
//! an S3-compatible bucket (`s3s-fs`), behind HAProxy (round-robin); the tablets push through
//! HAProxy, and the anchor's lone tablet to a deployment of the same kind. Peak RSS is each
//! replica's; server CPU is theirs summed. `FIVE_PM_S3=garage` keeps the photos in a Garage
//! node (`fieldcheck_testkit::garage`, installed by hand) instead of `s3s-fs`.

use fieldcheck_core::photo::DeviceKey;
use fieldcheck_core::sync::SyncError;
use fieldcheck_core::sync::api::{ServerApi, Timeouts, login};
use fieldcheck_core::sync::backoff::Backoff;
use fieldcheck_domain::clock::Clock;
use fieldcheck_domain::device_signature::verify_record;
use fieldcheck_protocol::{
    Category, ChangeItem, FindingRecord, InspectionRecord, ItemKind, ItemResultRecord, ItemValue,
    LoginRequest, OutboxEntry, PROTOCOL_VERSION, PhotoKind, PhotoRecord, PullRequest, PushRequest,
    Record, Severity, Site, Subcategory, Template, TimeSource,
};
use fieldcheck_testkit::balancer::Balancer;
use fieldcheck_testkit::garage::Garage;
use fieldcheck_testkit::s3::S3Server;
use fieldcheck_tests::server::{INSPECTOR_PASSWORD, ServerCommand, ServerProcess};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Barrier, Semaphore};
use uuid::Uuid;

const TABLETS: usize = 500;
const INSPECTIONS: usize = 30;
const RESULTS_PER_INSPECTION: usize = 20;
const FINDINGS_PER_INSPECTION: usize = 4;
const PHOTOS_PER_FINDING: usize = 2;
/// Entries in one day's outbox: start + finish per inspection, results, findings, photos.
const ENTRIES_PER_DAY: usize =
    INSPECTIONS * (2 + RESULTS_PER_INSPECTION + FINDINGS_PER_INSPECTION * (1 + PHOTOS_PER_FINDING));
/// Entries per push, as the sync engine sends them (`FIVE_PM_BATCH=N` tries another size).
const BATCH: usize = 1000;
const INSPECTORS: [&str; 4] = ["fivepm1", "fivepm2", "fivepm3", "fivepm4"];
/// Logins (Argon2) at once, before the burst.
const LOGINS_AT_ONCE: usize = 4;
/// Bounds: a tablet gives up after this long or this many failed tries.
const PHASE_LIMIT: Duration = Duration::from_secs(300);
const MAX_FAILURES: u32 = 60;
const TIMEOUTS: Timeouts = Timeouts {
    connect: Duration::from_secs(10),
    request: Duration::from_secs(60),
};

/// Issue #19's goals: all acknowledged within 20 s and within 0.75 of the one-tablet anchor.
const GOAL_WALL_S: f64 = 20.0;
/// Scaled out (replicas on PostgreSQL and a bucket): all acknowledged within 30 s.
const GOAL_WALL_REPLICAS_S: f64 = 30.0;
const GOAL_RATIO: f64 = 0.75;
const GOAL_P99_S: f64 = 2.0;
const GOAL_RSS_MB: f64 = 300.0;

/// One signed-in simulated tablet.
struct Tablet {
    device_id: Uuid,
    inspector: &'static str,
    key: DeviceKey,
    api: ServerApi,
}

/// What a tablet needs to know to make valid records.
struct Reference {
    sites: Vec<Site>,
    templates: HashMap<String, Template>,
    subcategories: Vec<Subcategory>,
}

/// What the pushes of one phase measured.
#[derive(Default)]
struct PushStats {
    latencies: Vec<Duration>,
    busy: u64,
    queued: u64,
    /// Turns asked for with a number held (`POST /sync/turn`), and how many were given.
    turns: (u64, u64),
    other_errors: u64,
    acked: u64,
    finished_at: Vec<Duration>,
    first_error: Option<String>,
}

/// Entries per push: [`BATCH`] unless `FIVE_PM_BATCH` says otherwise.
fn batch_size() -> usize {
    static SIZE: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *SIZE.get_or_init(|| {
        std::env::var("FIVE_PM_BATCH")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(BATCH)
    })
}

fn main() {
    let tablets: usize = std::env::var("FIVE_PM_TABLETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(TABLETS);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(tablets));
}

/// The servers a burst goes to: one process on SQLite (the county's default), or replicas on
/// PostgreSQL and a bucket behind HAProxy.
struct Deployment {
    /// Where tablets push.
    url: String,
    servers: Vec<ServerProcess>,
    /// The PostgreSQL database's URL (replicas), or none (SQLite in the data directory).
    database: Option<String>,
    bucket: Option<Bucket>,
    _balancer: Option<Balancer>,
    _dir: tempfile::TempDir,
}

/// The S3-compatible server the replicas keep photos in.
enum Bucket {
    S3s(S3Server),
    Garage(Garage),
}

impl Bucket {
    /// `s3s-fs`, or Garage when `FIVE_PM_S3=garage`, under `dir`.
    fn start(dir: &Path) -> Bucket {
        if std::env::var("FIVE_PM_S3").as_deref() == Ok("garage") {
            Bucket::Garage(Garage::start(&dir.join("garage")).unwrap())
        } else {
            Bucket::S3s(S3Server::start(&dir.join("s3")).unwrap())
        }
    }

    /// The servers' `[s3]` configuration for it.
    fn config_toml(&self) -> String {
        match self {
            Bucket::S3s(s3) => s3.config_toml(&s3.url()),
            Bucket::Garage(g) => g.config_toml(&g.url()),
        }
        .unwrap()
    }
}

/// The servers' `[limits]`: `push_wait_target_ms` from `FIVE_PM_WAIT_TARGET_MS` when set (0:
/// no numbers, every push waits in line on the server), else the server's default.
fn limits_toml() -> String {
    match std::env::var("FIVE_PM_WAIT_TARGET_MS") {
        Ok(ms) => format!(
            "[limits]\npush_wait_target_ms = {}\n",
            ms.parse::<u64>().unwrap()
        ),
        Err(_) => String::new(),
    }
}

impl Deployment {
    /// `replicas` 0: one server on SQLite; N: N servers on PostgreSQL + S3 behind HAProxy.
    fn start(replicas: usize) -> Deployment {
        let log = std::env::var("FIVE_PM_SERVER_LOG").ok();
        let dir = tempfile::Builder::new()
            .disable_cleanup(log.is_some())
            .tempdir()
            .unwrap();
        if log.is_some() {
            println!("servers' data and logs kept in {}", dir.path().display());
        }
        let limits = limits_toml();
        if replicas == 0 {
            let command = ServerCommand::new(&dir.path().join("server"))
                .log_filter(log.as_deref().unwrap_or("warn"))
                .config(&limits)
                .unwrap();
            command
                .prepare(&fieldcheck_tests::content_dir(), &INSPECTORS)
                .unwrap();
            let server = command.serve().unwrap();
            return Deployment {
                url: server.url.clone(),
                servers: vec![server],
                database: None,
                bucket: None,
                _balancer: None,
                _dir: dir,
            };
        }
        let database = fieldcheck_testkit::postgres::fresh_database()
            .unwrap()
            .expect("FIVE_PM_REPLICAS needs FIELDCHECK_TEST_PG_URL");
        let bucket = Bucket::start(dir.path());
        let s3_config = format!("{}\n{limits}", bucket.config_toml());
        let command = |n: usize| {
            ServerCommand::new(&dir.path().join(format!("replica{n}")))
                .log_filter(log.as_deref().unwrap_or("warn"))
                .global(["--database-url", database.as_str()])
                .config(&s3_config)
                .unwrap()
        };
        command(0)
            .prepare(&fieldcheck_tests::content_dir(), &INSPECTORS)
            .unwrap();
        let servers: Vec<ServerProcess> =
            (0..replicas).map(|n| command(n).serve().unwrap()).collect();
        let urls: Vec<String> = servers.iter().map(|s| s.url.clone()).collect();
        let balancer = Balancer::start(dir.path(), &urls).unwrap();
        Deployment {
            url: balancer.url.clone(),
            servers,
            database: Some(database),
            bucket: Some(bucket),
            _balancer: Some(balancer),
            _dir: dir,
        }
    }

    /// What keeps the photos.
    fn bucket_name(&self) -> &'static str {
        match &self.bucket {
            None => "",
            Some(Bucket::S3s(_)) => "s3s-fs",
            Some(Bucket::Garage(_)) => "Garage",
        }
    }

    fn pids(&self) -> Vec<u32> {
        self.servers.iter().map(ServerProcess::pid).collect()
    }

    /// The largest of the servers' `field` (kB) in /proc/PID/status.
    fn max_rss_kb(&self, field: &str) -> u64 {
        self.pids()
            .into_iter()
            .map(|p| rss_kb(p, field))
            .max()
            .unwrap_or(0)
    }

    /// CPU ticks of all servers.
    fn cpu_ticks(&self) -> u64 {
        self.pids().into_iter().map(cpu_ticks).sum()
    }

    /// Starts each server's peak-RSS count afresh (Linux: "5" resets VmHWM to VmRSS).
    fn reset_peak_rss(&self) {
        for pid in self.pids() {
            std::fs::write(format!("/proc/{pid}/clear_refs"), "5").expect("reset VmHWM");
        }
    }

    /// Bytes the database takes on disk: PostgreSQL's `pg_database_size`, or the SQLite file
    /// with its write-ahead log.
    fn database_bytes(&self) -> u64 {
        match &self.database {
            Some(url) => {
                let out = std::process::Command::new("psql")
                    .arg(url)
                    .args(["-tAc", "SELECT pg_database_size(current_database())"])
                    .output()
                    .unwrap();
                String::from_utf8_lossy(&out.stdout)
                    .trim()
                    .parse()
                    .unwrap_or(0)
            }
            None => ["fieldcheck.sqlite3", "fieldcheck.sqlite3-wal"]
                .iter()
                .filter_map(|f| std::fs::metadata(self.servers[0].data_dir().join(f)).ok())
                .map(|m| m.len())
                .sum(),
        }
    }

    fn export(&self) -> Value {
        self.servers[0].export().unwrap()
    }
}

async fn run(tablets: usize) {
    let replicas: usize = std::env::var("FIVE_PM_REPLICAS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let keys_dir = tempfile::tempdir().unwrap();
    let server = Deployment::start(replicas);
    let idle_rss = server.max_rss_kb("VmRSS");

    let t = Instant::now();
    let fleet = sign_in(&server.url, keys_dir.path(), 0, tablets).await;
    let login_s = t.elapsed().as_secs_f64();
    let (login_peak, login_rss) = (server.max_rss_kb("VmHWM"), server.max_rss_kb("VmRSS"));
    eprintln!(
        "{tablets} logins in {login_s:.1} s (not counted); server peak RSS so far {} MB",
        login_peak / 1024
    );
    server.reset_peak_rss();
    let reference = pull_reference(&fleet[0].api).await;
    let days: Vec<Vec<OutboxEntry>> = fleet
        .iter()
        .map(|tab| build_day(tab, &reference, 0, 1))
        .collect();
    let json_bytes: usize = days
        .iter()
        .flatten()
        .map(|e| serde_json::to_vec(e).unwrap().len())
        .sum();
    let expected = expected_rows(&days);
    let total_entries = (tablets * ENTRIES_PER_DAY) as u64;
    assert_eq!(
        days.iter().map(Vec::len).sum::<usize>() as u64,
        total_entries
    );
    eprintln!(
        "built {total_entries} entries ({:.1} MB JSON) in memory",
        json_bytes as f64 / 1e6
    );

    let public_keys: HashMap<Uuid, String> = fleet
        .iter()
        .map(|t| (t.device_id, t.key.public_key_hex()))
        .collect();
    let costs = server_side_costs(&days[..days.len().min(10)], &public_keys);

    // The burst: every tablet waits at the barrier, then pushes its whole day.
    let stats = Arc::new(Mutex::new(PushStats::default()));
    let barrier = Arc::new(Barrier::new(tablets + 1));
    let mut tasks = Vec::new();
    let start_slot = Arc::new(Mutex::new(None::<Instant>));
    for (tablet, day) in fleet.into_iter().zip(days) {
        let (stats, barrier, start_slot) = (stats.clone(), barrier.clone(), start_slot.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let t0 = start_slot
                .lock()
                .unwrap()
                .get_or_insert_with(Instant::now)
                .to_owned();
            push_day(&tablet, &day, t0, &stats).await;
        }));
    }
    let cpu_server_before = server.cpu_ticks();
    let cpu_self_before = cpu_ticks(std::process::id());
    barrier.wait().await;
    let burst_start = *start_slot.lock().unwrap().get_or_insert_with(Instant::now);
    for task in tasks {
        task.await.unwrap();
    }
    let burst_wall = burst_start.elapsed();
    let server_cpu = (server.cpu_ticks() - cpu_server_before) as f64 / 100.0;
    let client_cpu = (cpu_ticks(std::process::id()) - cpu_self_before) as f64 / 100.0;
    let peak_rss = server.max_rss_kb("VmHWM");
    let stats = Arc::try_unwrap(stats).ok().unwrap().into_inner().unwrap();

    // Nothing lost, nothing doubled.
    let t = Instant::now();
    let database_bytes = server.database_bytes();
    let export = server.export();
    let verdict = check_export(&export, &expected);
    drop(export);
    eprintln!("export checked in {:.1} s", t.elapsed().as_secs_f64());
    let bucket_name = server.bucket_name();
    drop(server);

    // Anchor: the same total from ONE tablet, sequential batches, to a fresh server.
    let anchor_server = Deployment::start(replicas);
    let lone = sign_in(&anchor_server.url, keys_dir.path(), tablets, 1)
        .await
        .pop()
        .unwrap();
    let anchor_reference = pull_reference(&lone.api).await;
    let anchor_day = build_day(&lone, &anchor_reference, 0, tablets);
    let anchor_stats = Mutex::new(PushStats::default());
    let anchor_cpu_before = anchor_server.cpu_ticks();
    let t0 = Instant::now();
    push_day(&lone, &anchor_day, t0, &anchor_stats).await;
    let anchor_wall = t0.elapsed();
    let anchor_cpu = (anchor_server.cpu_ticks() - anchor_cpu_before) as f64 / 100.0;
    let anchor_rss = anchor_server.max_rss_kb("VmHWM");
    let anchor_stats = anchor_stats.into_inner().unwrap();
    drop(anchor_server);

    // Figures.
    let mut lat = stats.latencies.clone();
    lat.sort();
    let mut anchor_lat = anchor_stats.latencies.clone();
    anchor_lat.sort();
    let mut done = stats.finished_at.clone();
    done.sort();
    let wall = burst_wall.as_secs_f64();
    let all_acked = stats.acked == total_entries;
    if replicas > 0 {
        println!(
            "deployment: {replicas} replicas on PostgreSQL + an S3 bucket ({}) behind HAProxy; RSS per replica, CPU summed",
            bucket_name
        );
    } else {
        println!("deployment: one server on SQLite");
    }
    println!(
        "17:00: {tablets} tablets × {ENTRIES_PER_DAY} entries = {total_entries} entries ({:.1} MB JSON), batches of {}",
        json_bytes as f64 / 1e6,
        batch_size()
    );
    // Scaled out, the goal is a wall time alone (no ratio to the anchor).
    let (goal_wall, goal_ratio) = if replicas > 0 {
        (GOAL_WALL_REPLICAS_S, f64::INFINITY)
    } else {
        (GOAL_WALL_S, GOAL_RATIO)
    };
    println!(
        "all acknowledged: {} ({} of {total_entries}) in {wall:.2} s (goal ≤ {goal_wall} s); tablets done p50 {:.2} s, last {:.2} s",
        all_acked,
        stats.acked,
        pct(&done, 0.50).as_secs_f64(),
        done.last().copied().unwrap_or_default().as_secs_f64()
    );
    println!(
        "throughput {:.0} entries/s | {} successful batches, latency p50 {:.3} s, p99 {:.3} s, max {:.3} s (goal p99 ≤ {GOAL_P99_S} s)",
        stats.acked as f64 / wall,
        lat.len(),
        pct(&lat, 0.50).as_secs_f64(),
        pct(&lat, 0.99).as_secs_f64(),
        lat.last().copied().unwrap_or_default().as_secs_f64()
    );
    println!(
        "numbers in the line given or shown again (503 queued): {} | turns asked {}, given {} | other 503/429: {} | other failed tries: {}",
        stats.queued, stats.turns.0, stats.turns.1, stats.busy, stats.other_errors
    );
    if let Some(e) = &stats.first_error {
        println!("first failure: {e}");
    }
    println!(
        "server peak RSS (VmHWM) {:.1} MB, idle {:.1} MB (goal ≤ {GOAL_RSS_MB} MB)",
        peak_rss as f64 / 1024.0,
        idle_rss as f64 / 1024.0
    );
    println!(
        "before the burst: {tablets} logins ({LOGINS_AT_ONCE} at a time) took {login_s:.1} s; server peak RSS then {:.1} MB, RSS at the burst's start {:.1} MB",
        login_peak as f64 / 1024.0,
        login_rss as f64 / 1024.0
    );
    println!(
        "CPU during the burst: server {server_cpu:.1} s, this client {client_cpu:.1} s, over {wall:.2} s wall on 2 cores"
    );
    println!("export: {verdict}");
    println!(
        "database on disk after the burst: {:.1} MB ({:.0} bytes per entry, demo content included)",
        database_bytes as f64 / 1e6,
        database_bytes as f64 / total_entries as f64
    );
    println!(
        "where server time goes, per entry, measured in this process on 10 tablets' days: {costs}"
    );
    let anchor_s = anchor_wall.as_secs_f64();
    println!(
        "anchor: ONE tablet, {} entries in {} sequential batches: {anchor_s:.2} s ({:.0} entries/s), batch p50 {:.3} s, p99 {:.3} s, server CPU {anchor_cpu:.1} s, peak RSS {:.1} MB, acked {}",
        anchor_day.len(),
        anchor_lat.len(),
        anchor_stats.acked as f64 / anchor_s,
        pct(&anchor_lat, 0.50).as_secs_f64(),
        pct(&anchor_lat, 0.99).as_secs_f64(),
        anchor_rss as f64 / 1024.0,
        anchor_stats.acked
    );
    println!(
        "ratio burst wall / anchor wall: {:.2} (goal ≤ {GOAL_RATIO})",
        wall / anchor_s
    );
    println!(
        "goals: all acknowledged ≤ {goal_wall} s, ratio ≤ {goal_ratio}, p99 ≤ {GOAL_P99_S} s, peak RSS ≤ {GOAL_RSS_MB} MB"
    );
    let met = all_acked
        && verdict.starts_with("ok")
        && wall <= goal_wall
        && wall / anchor_s <= goal_ratio
        && pct(&lat, 0.99).as_secs_f64() <= GOAL_P99_S
        && peak_rss as f64 / 1024.0 <= GOAL_RSS_MB;
    println!("goals met: {met}");
}

/// Makes `count` devices (keys in `keys_dir/<n>`) and logs each in, a few at a time.
async fn sign_in(url: &str, keys_dir: &Path, first: usize, count: usize) -> Vec<Tablet> {
    let slots = Arc::new(Semaphore::new(LOGINS_AT_ONCE));
    let mut tasks = Vec::new();
    for n in first..first + count {
        let (url, slots) = (url.to_string(), slots.clone());
        let dir = keys_dir.join(n.to_string());
        tasks.push(tokio::spawn(async move {
            let _slot = slots.acquire().await.unwrap();
            let key = DeviceKey::load_or_create(&dir).unwrap();
            let device_id = Uuid::now_v7();
            let inspector = INSPECTORS[n % INSPECTORS.len()];
            let req = LoginRequest {
                username: inspector.into(),
                password: INSPECTOR_PASSWORD.into(),
                device_id,
                device_public_key: key.public_key_hex(),
                device_label: format!("巡查平板 {n:03}"),
                protocol_version: PROTOCOL_VERSION,
            };
            let resp = login(&url, &req, TIMEOUTS).await.unwrap();
            let api = ServerApi::new(&url, &resp.token, TIMEOUTS).unwrap();
            Tablet {
                device_id,
                inspector,
                key,
                api,
            }
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

/// Pulls every page once and keeps sites, the latest template of each site type and the
/// taxonomy.
async fn pull_reference(api: &ServerApi) -> Reference {
    let clock = Clock::new(Uuid::now_v7());
    let (mut sites, mut templates, mut subcategories) =
        (Vec::new(), HashMap::<String, Template>::new(), Vec::new());
    let mut cursor = 0;
    for _ in 0..1000 {
        let page = api
            .pull(&PullRequest {
                protocol_version: PROTOCOL_VERSION,
                cursor,
                limit: Some(500),
                hlc: clock.now(),
                scope_version: None,
            })
            .await
            .unwrap();
        for c in page.changes {
            match c.item {
                ChangeItem::Site(s) => sites.push(s),
                ChangeItem::Template(t) => {
                    let newer = templates
                        .get(&t.site_type)
                        .is_none_or(|old| old.version < t.version);
                    if newer {
                        templates.insert(t.site_type.clone(), t);
                    }
                }
                ChangeItem::Subcategory(s) => subcategories.push(s),
                _ => {}
            }
        }
        cursor = page.cursor;
        if !page.more {
            break;
        }
    }
    sites.retain(|s| templates.contains_key(&s.site_type));
    assert!(
        !sites.is_empty() && !subcategories.is_empty(),
        "the demo data has sites, templates and a taxonomy"
    );
    Reference {
        sites,
        templates,
        subcategories,
    }
}

/// The standard day's outbox of one tablet, `days` times over, as valid entries from seq 1.
fn build_day(tablet: &Tablet, r: &Reference, salt: usize, days: usize) -> Vec<OutboxEntry> {
    let clock = Clock::new(tablet.device_id);
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let mut entries = Vec::with_capacity(ENTRIES_PER_DAY * days);
    let mut push = |record: Record, clock: &Clock| {
        let seq = entries.len() as u64 + 1;
        entries.push(OutboxEntry {
            seq,
            hlc: clock.now(),
            record,
        });
    };
    for n in 0..INSPECTIONS * days {
        let site = &r.sites[(n + salt) % r.sites.len()];
        let template = &r.templates[&site.site_type];
        let mut inspection = InspectionRecord {
            id: Uuid::now_v7(),
            site_id: site.id,
            template_id: template.id.clone(),
            template_version: template.version,
            inspector: tablet.inspector.into(),
            device_id: tablet.device_id,
            started_at: now_ms - 3_600_000,
            finished_at: None,
            position: site.position,
            discarded_at: None,
        };
        push(Record::Inspection(inspection.clone()), &clock);
        for k in 0..RESULTS_PER_INSPECTION {
            // Distinct items where the template has enough (an answer again replaces the first).
            let item = &template.items[k % template.items.len()];
            let value = match item.kind {
                ItemKind::Verdict if k % 5 == 0 => ItemValue::NonCompliant,
                ItemKind::Verdict => ItemValue::Compliant,
                ItemKind::Count { min } => ItemValue::Count(min),
                ItemKind::Percent { min } => ItemValue::Percent(min),
            };
            let hlc = clock.now();
            push(
                Record::ItemResult(ItemResultRecord {
                    inspection_id: inspection.id,
                    item_code: item.code.clone(),
                    value,
                    note: String::new(),
                    hlc,
                }),
                &clock,
            );
        }
        for f in 0..FINDINGS_PER_INSPECTION {
            let sub = &r.subcategories[(n + f) % r.subcategories.len()];
            let finding = FindingRecord {
                id: Uuid::now_v7(),
                site_id: site.id,
                inspection_id: Some(inspection.id),
                item_code: None,
                category: sub.category,
                subcategory: sub.code.clone(),
                description: format!("{}：现场发现问题，需整改", sub.name_zh),
                severity: if sub.category == Category::Component {
                    Severity::Major
                } else {
                    Severity::Minor
                },
                position: site.position,
                unit: None,
                deadline: None,
                same_day: f == 0,
                reporter: tablet.inspector.into(),
                device_id: tablet.device_id,
                created_at: now_ms,
                hlc: clock.now(),
            };
            push(Record::Finding(finding.clone()), &clock);
            for p in 0..PHOTOS_PER_FINDING {
                let sha: String = Sha256::digest(format!("{}/{n}/{f}/{p}", tablet.device_id))
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                let mut photo = PhotoRecord {
                    sha256: sha,
                    finding_id: Some(finding.id),
                    inspection_id: Some(inspection.id),
                    kind: PhotoKind::Before,
                    width: 2048,
                    height: 1536,
                    size_bytes: 350_000,
                    captured_at: now_ms,
                    time_source: TimeSource::Trusted,
                    device_clock_offset_ms: 0,
                    position: site.position,
                    device_id: tablet.device_id,
                    signature: String::new(),
                    hlc: clock.now(),
                    marked_from: None,
                };
                tablet.key.sign(&mut photo);
                push(Record::Photo(photo), &clock);
            }
        }
        inspection.finished_at = Some(now_ms);
        push(Record::Inspection(inspection), &clock);
    }
    entries
}

/// Whether each request's answer is traced on stderr (`FIVE_PM_TRACE=1`).
fn trace() -> bool {
    std::env::var_os("FIVE_PM_TRACE").is_some()
}

/// Pushes `day` in batches, retrying on busy answers and failures within the bounds.
async fn push_day(tablet: &Tablet, day: &[OutboxEntry], t0: Instant, stats: &Mutex<PushStats>) {
    let clock = Clock::new(tablet.device_id);
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
    let mut failures = 0;
    let mut next = 0;
    // A number held in the server's line: ask for the turn before sending the batch again.
    let mut in_line = false;
    let trace = trace();
    while next < day.len() {
        if t0.elapsed() > PHASE_LIMIT || failures >= MAX_FAILURES {
            let mut s = stats.lock().unwrap();
            s.first_error.get_or_insert(format!(
                "device {} gave up at seq {}",
                tablet.device_id,
                next + 1
            ));
            return;
        }
        let turn = if in_line {
            stats.lock().unwrap().turns.0 += 1;
            tablet.api.turn().await
        } else {
            Ok(())
        };
        let sent = Instant::now();
        let result = match turn {
            Ok(()) => {
                if in_line {
                    stats.lock().unwrap().turns.1 += 1;
                }
                let batch = &day[next..(next + batch_size()).min(day.len())];
                let req = PushRequest {
                    protocol_version: PROTOCOL_VERSION,
                    device_id: tablet.device_id,
                    hlc: clock.now(),
                    entries: batch.to_vec(),
                };
                tablet.api.push(&req).await
            }
            Err(e) => Err(e),
        };
        let took = sent.elapsed();
        if trace {
            let answer = match &result {
                Ok(_) => "ok".to_string(),
                Err(SyncError::Queued { retry_after, ahead }) => {
                    format!("queued {} {ahead}", retry_after.as_millis())
                }
                Err(e) => format!("error {e}"),
            };
            let asked = if in_line { "turn" } else { "push" };
            eprintln!(
                "TRACE {:.3} {} {asked} {:.3} {answer}",
                t0.elapsed().as_secs_f64(),
                tablet.device_id,
                took.as_secs_f64()
            );
        }
        in_line = matches!(result, Err(SyncError::Queued { .. }));
        match result {
            Ok((resp, _)) => {
                backoff.succeed();
                let acked = resp.acked_through as usize;
                let mut s = stats.lock().unwrap();
                s.latencies.push(took);
                s.acked += acked.saturating_sub(next) as u64;
                if acked <= next {
                    s.first_error
                        .get_or_insert(format!("ack {acked} did not move past {next}"));
                    failures += 1;
                }
                next = next.max(acked);
            }
            Err(e) => {
                failures += 1;
                if let SyncError::Queued { retry_after, .. } = e {
                    // A number in the server's line: come back when it says, as the app does.
                    stats.lock().unwrap().queued += 1;
                    tokio::time::sleep(retry_after).await;
                    continue;
                }
                let retry_after = match &e {
                    SyncError::Busy { retry_after } => {
                        stats.lock().unwrap().busy += 1;
                        Some(*retry_after)
                    }
                    other => {
                        let mut s = stats.lock().unwrap();
                        s.other_errors += 1;
                        s.first_error.get_or_insert(other.to_string());
                        None
                    }
                };
                tokio::time::sleep(backoff.fail(retry_after)).await;
            }
        }
    }
    stats.lock().unwrap().finished_at.push(t0.elapsed());
}

/// The rows the server should hold after the pushes: keys by kind, as the export names them.
struct Expected {
    kinds: Vec<(&'static str, HashSet<String>)>,
    finished: usize,
}

fn expected_rows(days: &[Vec<OutboxEntry>]) -> Expected {
    let (mut inspections, mut results, mut findings, mut photos) = (
        HashSet::new(),
        HashSet::new(),
        HashSet::new(),
        HashSet::new(),
    );
    let mut finished = HashSet::new();
    for e in days.iter().flatten() {
        match &e.record {
            Record::Inspection(r) => {
                inspections.insert(r.id.to_string());
                if r.finished_at.is_some() {
                    finished.insert(r.id);
                }
            }
            Record::ItemResult(r) => {
                results.insert(format!("{}/{}", r.inspection_id, r.item_code));
            }
            Record::Finding(r) => {
                findings.insert(r.id.to_string());
            }
            Record::Photo(r) => {
                photos.insert(r.sha256.clone());
            }
            Record::Rectification(_) | Record::CheckIn(_) => {}
        }
    }
    Expected {
        kinds: vec![
            ("inspections", inspections),
            ("item_results", results),
            ("findings", findings),
            ("photos", photos),
        ],
        finished: finished.len(),
    }
}

/// Checks the export holds exactly the expected rows, none twice and none missing.
fn check_export(export: &Value, expected: &Expected) -> String {
    let s = |v: &Value, k: &str| v[k].as_str().unwrap_or_default().to_string();
    let mut faults = Vec::new();
    for (kind, want) in &expected.kinds {
        let rows = export[*kind]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        let keys: HashSet<String> = rows
            .iter()
            .map(|v| match *kind {
                "item_results" => format!("{}/{}", s(v, "inspection_id"), s(v, "item_code")),
                "photos" => s(v, "sha256"),
                _ => s(v, "id"),
            })
            .collect();
        if keys.len() != rows.len() {
            faults.push(format!(
                "{kind}: {} rows but {} distinct keys",
                rows.len(),
                keys.len()
            ));
        }
        let missing = want.difference(&keys).count();
        let extra = keys.difference(want).count();
        if missing + extra > 0 {
            faults.push(format!(
                "{kind}: {missing} missing, {extra} unexpected of {}",
                want.len()
            ));
        }
    }
    let finished = export["inspections"].as_array().map_or(0, |a| {
        a.iter().filter(|i| !i["finished_at"].is_null()).count()
    });
    if finished != expected.finished {
        faults.push(format!(
            "{finished} inspections finished, expected {}",
            expected.finished
        ));
    }
    if faults.is_empty() {
        let counts: Vec<String> = expected
            .kinds
            .iter()
            .map(|(k, w)| format!("{} {k}", w.len()))
            .collect();
        format!("ok ({}, each exactly once)", counts.join(", "))
    } else {
        faults.join("; ")
    }
}

/// Two costs the server pays for every pushed entry, measured here with the same code: parsing
/// the JSON and, for photo records, verifying the Ed25519 signature.
fn server_side_costs(days: &[Vec<OutboxEntry>], public_keys: &HashMap<Uuid, String>) -> String {
    let json: Vec<Vec<u8>> = days
        .iter()
        .map(|d| serde_json::to_vec(d).unwrap())
        .collect();
    let entries: usize = days.iter().map(Vec::len).sum();
    let t = Instant::now();
    for j in &json {
        std::hint::black_box(serde_json::from_slice::<Vec<OutboxEntry>>(j).unwrap());
    }
    let parse_us = t.elapsed().as_secs_f64() * 1e6 / entries as f64;
    let photos: Vec<&PhotoRecord> = days
        .iter()
        .flatten()
        .filter_map(|e| match &e.record {
            Record::Photo(p) => Some(p),
            _ => None,
        })
        .collect();
    let t = Instant::now();
    for p in &photos {
        assert!(verify_record(&public_keys[&p.device_id], p));
    }
    let verify_us = t.elapsed().as_secs_f64() * 1e6 / photos.len() as f64;
    let per_day_ms = (parse_us * ENTRIES_PER_DAY as f64
        + verify_us * (INSPECTIONS * FINDINGS_PER_INSPECTION * PHOTOS_PER_FINDING) as f64)
        / 1000.0;
    format!(
        "JSON parse {parse_us:.1} µs/entry, signature check {verify_us:.1} µs/photo record; one tablet's day {per_day_ms:.1} ms of these two alone"
    )
}

/// A `/proc/<pid>/status` figure in kB (VmRSS, VmHWM).
fn rss_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| {
            l.strip_prefix(field)?
                .trim_start_matches(':')
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

/// User + system CPU of a process, in clock ticks (1/100 s).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<&str> = after.split_whitespace().collect();
    // After the name: state is field 3, utime 14, stime 15 (1-based over the whole line).
    fields
        .get(11)
        .and_then(|u| u.parse::<u64>().ok())
        .unwrap_or(0)
        + fields
            .get(12)
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(0)
}

fn pct(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1]
}
