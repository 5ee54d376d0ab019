//! A tablet killed mid-write loses nothing it acknowledged and applies nothing twice.
//!
//! A child process writes to a real SQLite file as fast as it can and prints each write after
//! it returned; it is SIGKILLed at a random moment, 50 times over the same database. After each
//! kill the database is reopened and checked.

use fieldcheck_core::store::Store;
use fieldcheck_protocol::{Hlc, ItemResultRecord, Record};
use fieldcheck_tests::process::Guarded;
use rand::{Rng, SeedableRng};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;
use uuid::Uuid;

const KILLS: usize = 50;

/// Writes a child acknowledged, as parsed from its output.
#[derive(Default)]
struct Acked {
    started: Vec<Uuid>,
    finished: Vec<Uuid>,
    findings: Vec<Uuid>,
    results: Vec<(Uuid, String, Hlc)>,
}

impl Acked {
    fn len(&self) -> usize {
        self.started.len() + self.finished.len() + self.findings.len() + self.results.len()
    }

    fn read(&mut self, line: &str) {
        let parts: Vec<&str> = line.split(' ').collect();
        match parts[..] {
            ["I", id] => self.started.push(id.parse().unwrap()),
            ["X", id] => self.finished.push(id.parse().unwrap()),
            ["F", id] => self.findings.push(id.parse().unwrap()),
            ["R", i, item, hlc] => {
                self.results
                    .push((i.parse().unwrap(), item.to_string(), hlc.parse().unwrap()))
            }
            _ => panic!("unexpected line from writer: {line:?}"),
        }
    }
}

#[test]
fn sigkill_during_writes_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tablet.db");
    let seed: u64 = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("CRASH_SEED={seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut acked = Acked::default();

    for run in 0..KILLS {
        let mut child = Guarded::spawn(
            Command::new(env!("CARGO_BIN_EXE_store-writer"))
                .arg(&db)
                .arg(fieldcheck_tests::content_dir())
                .arg(rng.random::<u64>().to_string())
                .stdout(Stdio::piped()),
        )
        .expect("start writer");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        assert_eq!(lines.next().unwrap().unwrap(), "ready", "run {run}");
        let reader =
            std::thread::spawn(move || lines.map_while(Result::ok).collect::<Vec<String>>());
        std::thread::sleep(Duration::from_millis(rng.random_range(5..120)));
        child.kill();
        let before = acked.len();
        for line in reader.join().unwrap() {
            acked.read(&line);
        }
        check(&db, &acked, run + 1).unwrap_or_else(|e| panic!("run {run} (seed {seed}): {e}"));
        assert!(acked.len() >= before, "run {run}");
    }
    eprintln!(
        "acknowledged: {} results, {} findings, {} started, {} finished",
        acked.results.len(),
        acked.findings.len(),
        acked.started.len(),
        acked.finished.len()
    );
    assert!(
        acked.results.len() > KILLS,
        "the writer barely wrote: {} results",
        acked.results.len()
    );
}

/// Reopens the database and checks it against what the writer acknowledged over `runs` runs.
fn check(db: &std::path::Path, acked: &Acked, runs: usize) -> Result<(), String> {
    let store = Store::open(db).map_err(|e| e.to_string())?;
    let integrity = store.integrity_check().map_err(|e| e.to_string())?;
    if integrity != ["ok"] {
        return Err(format!("integrity_check: {integrity:?}"));
    }
    let stats = store.outbox_stats().map_err(|e| e.to_string())?;
    let outbox = store.outbox_pending(u32::MAX).map_err(|e| e.to_string())?;
    let seqs: Vec<u64> = outbox.iter().map(|e| e.seq).collect();
    if seqs != (1..=stats.last_seq).collect::<Vec<_>>() {
        return Err(format!(
            "outbox sequence has a gap or hole: last {} but {} entries",
            stats.last_seq,
            seqs.len()
        ));
    }
    // Each run may have committed one write it was killed before printing.
    if outbox.len() < acked.len() || outbox.len() > acked.len() + runs {
        return Err(format!(
            "{} outbox entries for {} acknowledged writes in {runs} runs",
            outbox.len(),
            acked.len()
        ));
    }

    let mut results: HashMap<(Uuid, &str, Hlc), usize> = HashMap::new();
    let mut findings: HashMap<Uuid, usize> = HashMap::new();
    let mut started: HashMap<Uuid, usize> = HashMap::new();
    let mut finished: HashMap<Uuid, usize> = HashMap::new();
    for e in &outbox {
        match &e.record {
            Record::ItemResult(ItemResultRecord {
                inspection_id,
                item_code,
                hlc,
                ..
            }) => {
                *results
                    .entry((*inspection_id, item_code.as_str(), *hlc))
                    .or_default() += 1
            }
            Record::Finding(f) => *findings.entry(f.id).or_default() += 1,
            Record::Inspection(i) if i.finished_at.is_none() => {
                *started.entry(i.id).or_default() += 1
            }
            Record::Inspection(i) => *finished.entry(i.id).or_default() += 1,
            other => return Err(format!("unexpected record {other:?}")),
        }
    }
    let once = |n: Option<&usize>, what: String| match n {
        Some(1) => Ok(()),
        Some(n) => Err(format!("{what} queued {n} times")),
        None => Err(format!("{what} acknowledged but lost")),
    };
    for (i, item, hlc) in &acked.results {
        once(
            results.get(&(*i, item.as_str(), *hlc)),
            format!("result {i}/{item}@{hlc}"),
        )?;
        let stored = store.results(*i).map_err(|e| e.to_string())?;
        let row = stored
            .iter()
            .find(|r| &r.item_code == item)
            .ok_or(format!("result {i}/{item} missing"))?;
        if row.hlc < *hlc {
            return Err(format!("result {i}/{item} went back in time"));
        }
    }
    for f in &acked.findings {
        once(findings.get(f), format!("finding {f}"))?;
        store.finding(*f).map_err(|e| format!("finding {f}: {e}"))?;
    }
    for i in &acked.started {
        once(started.get(i), format!("inspection {i}"))?;
    }
    for i in &acked.finished {
        once(finished.get(i), format!("finish of {i}"))?;
        if store
            .inspection(*i)
            .map_err(|e| e.to_string())?
            .finished_at
            .is_none()
        {
            return Err(format!("inspection {i} acknowledged finished but is not"));
        }
    }
    Ok(())
}
