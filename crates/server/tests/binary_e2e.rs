//! The real `fieldcheck-server` binary: admin commands on a data directory, then `serve` with
//! zero configuration besides the directory, a tablet's login → pull → push over HTTP, and a
//! graceful stop on SIGTERM.

use crate::common;

use common::*;
use fieldcheck_protocol::*;
use fieldcheck_testkit::server::ServerCommand;
use std::path::Path;
use std::time::Duration;
use uuid::Uuid;

const BIN: &str = env!("CARGO_BIN_EXE_fieldcheck-server");

/// `fieldcheck-server`, as built for these tests, on `data`.
fn server(data: &Path) -> ServerCommand {
    ServerCommand::with_binary(BIN, data)
}

/// Runs an admin command on `data` that must succeed, and returns its stdout.
fn run(data: &Path, args: &[&str]) -> String {
    server(data).admin(args).unwrap()
}

fn write_pack(dir: &Path) {
    std::fs::create_dir_all(dir.join("templates")).unwrap();
    std::fs::write(dir.join("pack.toml"), "name = \"测试包\"\n").unwrap();
    std::fs::write(
        dir.join("site-types.toml"),
        "[[site_types]]\ncode = \"back_alley\"\nname_zh = \"背街小巷\"\nname_en = \"Back alley\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("taxonomy.toml"),
        "[[subcategories]]\ncode = \"manhole_cover\"\ncategory = \"component\"\nname_zh = \"井盖\"\nname_en = \"Manhole cover\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("units.toml"),
        "[[units]]\ncode = \"urban_mgmt\"\nname_zh = \"城管局\"\nname_en = \"Urban management\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("templates/back_alley.toml"),
        r#"id = "back_alley"
version = 1
site_type = "back_alley"
name_zh = "背街小巷检查表"
name_en = "Back alley checklist"

[[items]]
code = "BA-01"
index_code = "II-26"
index_name_zh = "城市规划建设"
index_name_en = "Urban planning and construction"
text_zh = "路面平整完好"
title_en = "Road surface sound"
standard_zh = "路面已硬化且平整，无坑槽。"
kind = "verdict"
weight = 1.0
photo_required = true
"#,
    )
    .unwrap();
}

#[tokio::test]
async fn admin_commands_then_serve_sync_and_stop_gracefully() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let pack = tmp.path().join("pack");
    write_pack(&pack);

    let checked = run(&data, &["content", "check", pack.to_str().unwrap()]);
    assert!(
        checked.contains("back_alley") && checked.contains("1 items"),
        "{checked}"
    );
    let demo = run(&data, &["demo", "--pack", pack.to_str().unwrap()]);
    assert!(
        demo.contains("账号/account admin")
            && demo.contains("password")
            && demo.contains("3 sites assigned to inspector1 for "),
        "{demo}"
    );
    run(
        &data,
        &[
            "user",
            "add",
            "zhang",
            "--role",
            "inspector",
            "--password",
            "zhang-pw-2026",
        ],
    );
    let listed = run(&data, &["user", "list"]);
    assert!(
        listed.contains("zhang") && listed.contains("在用 / active"),
        "{listed}"
    );
    // An account that does not exist: one sentence in Chinese, then English.
    let out = server(&data)
        .output(&["user", "disable", "nobody"])
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("没有名为 nobody 的账号 / no account named nobody"),
        "{err}"
    );
    // The command line keeps the same account rules as the dashboard: a hidden direction
    // mark in a name, a short password or an unknown unit is refused and nothing is added.
    for (args, field) in [
        (
            [
                "user",
                "add",
                "li\u{202E}si",
                "--role",
                "inspector",
                "--password",
                "long-enough-pw",
            ],
            "name",
        ),
        (
            [
                "user",
                "add",
                "lisi",
                "--role",
                "inspector",
                "--password",
                "short",
            ],
            "password",
        ),
        (
            [
                "user",
                "add",
                "lisi",
                "--role",
                "unit-member",
                "--password",
                "long-enough-pw",
            ],
            "unit",
        ),
    ] {
        let out = server(&data).output(&args).unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains(field),
            "{args:?}: {err}"
        );
    }
    assert!(!run(&data, &["user", "list"]).contains("lisi"));

    let mut serving = server(&data).serve().unwrap();
    let base = serving.url.clone();
    let http = reqwest::Client::new();
    assert_eq!(
        http.get(format!("{base}/healthz"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "ok"
    );

    let dev = Device::new(1);
    let login: LoginResponse = http
        .post(format!("{base}/api/v1/login"))
        .json(&LoginRequest {
            username: "zhang".into(),
            password: "zhang-pw-2026".into(),
            device_id: dev.id,
            device_public_key: dev.public_hex(),
            device_label: "张工的平板".into(),
            protocol_version: PROTOCOL_VERSION,
        })
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let pulled: PullResponse = http
        .post(format!("{base}/api/v1/sync/pull"))
        .bearer_auth(&login.token)
        .json(&PullRequest {
            protocol_version: PROTOCOL_VERSION,
            cursor: 0,
            limit: None,
            hlc: hlc(),
            scope_version: None,
        })
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let site = pulled
        .changes
        .iter()
        .find_map(|c| match &c.item {
            ChangeItem::Site(s) => Some(s.id),
            _ => None,
        })
        .expect("demo sites are pulled");

    // `assign` refuses a date that does not exist; what it writes reaches the inspector.
    let site_arg = site.to_string();
    let assign = |date: &str| {
        server(&data)
            .output(&[
                "assign",
                "--inspector",
                "zhang",
                "--site",
                &site_arg,
                "--date",
                date,
            ])
            .unwrap()
    };
    let refused = assign("2026-02-30");
    assert!(
        !refused.status.success() && String::from_utf8_lossy(&refused.stderr).contains("date"),
        "{refused:?}"
    );
    let assigned = assign("2026-11-28");
    assert!(assigned.status.success(), "{assigned:?}");
    let later: PullResponse = http
        .post(format!("{base}/api/v1/sync/pull"))
        .bearer_auth(&login.token)
        .json(&PullRequest {
            protocol_version: PROTOCOL_VERSION,
            cursor: pulled.cursor,
            limit: None,
            hlc: hlc(),
            scope_version: None,
        })
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mine: Vec<&Assignment> = later
        .changes
        .iter()
        .filter_map(|c| match &c.item {
            ChangeItem::Assignment(a) => Some(a),
            _ => None,
        })
        .collect();
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!(
        (
            mine[0].inspector.as_str(),
            mine[0].site_id,
            mine[0].date.as_str()
        ),
        ("zhang", site, "2026-11-28")
    );
    let ins = Uuid::now_v7();
    let acked = push(
        &http,
        &base,
        &login.token,
        &dev,
        1,
        vec![
            inspection(&dev, ins, site),
            item(ins, "BA-01", ItemValue::Compliant),
        ],
    )
    .await;
    assert_eq!(acked.acked_through, 2);
    assert!(run(&data, &["device", "list"]).contains(&dev.id.to_string()));

    // A tablet that hangs up right after its photo's last byte (killed, or out of signal
    // before the answer) still has the photo checked and stored, and no pieces of it are left:
    // it will not ask about a stored photo again.
    let photo = jpeg(1600, 1200);
    let rec = photo_record(&dev, &photo, None, 1600, 1200);
    push(
        &http,
        &base,
        &login.token,
        &dev,
        3,
        vec![Record::Photo(rec.clone())],
    )
    .await;
    {
        use std::io::Write;
        let addr = base.strip_prefix("http://").unwrap();
        let mut hung_up = std::net::TcpStream::connect(addr).unwrap();
        write!(
            hung_up,
            "PATCH /api/v1/photos/{} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
             Upload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\n\
             Content-Length: {}\r\n\r\n",
            rec.sha256,
            login.token,
            photo.len()
        )
        .unwrap();
        hung_up.write_all(&photo).unwrap();
    }
    let pieces = data
        .join("photos")
        .join("partial")
        .join(format!("{}.part", rec.sha256));
    let mut waited = 0;
    loop {
        let status: UploadStatus = http
            .get(format!("{base}/api/v1/photos/{}/offset", rec.sha256))
            .bearer_auth(&login.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if status.complete {
            break;
        }
        assert!(waited < 100, "the photo was never stored: {status:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += 1;
    }
    assert!(!pieces.exists(), "{} is left", pieces.display());

    // A photo upload in flight when SIGTERM arrives still completes.
    let photo = jpeg(48, 32);
    let rec = photo_record(&dev, &photo, None, 48, 32);
    push(
        &http,
        &base,
        &login.token,
        &dev,
        4,
        vec![Record::Photo(rec.clone())],
    )
    .await;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(1);
    let body =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) });
    let upload = tokio::spawn(
        http.patch(format!("{base}/api/v1/photos/{}", rec.sha256))
            .bearer_auth(&login.token)
            .header("Upload-Offset", "0")
            .body(reqwest::Body::wrap_stream(body))
            .send(),
    );
    let half = photo.len() / 2;
    tx.send(Ok(photo[..half].to_vec())).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    serving.terminate();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        serving.try_wait().unwrap().is_none(),
        "still serving the upload"
    );
    tx.send(Ok(photo[half..].to_vec())).await.unwrap();
    drop(tx);
    let done = upload.await.unwrap().unwrap();
    assert_eq!(done.status(), 200, "the in-flight upload finished");
    assert!(done.json::<UploadStatus>().await.unwrap().complete);
    let mut waited = 0;
    let status = loop {
        if let Some(s) = serving.try_wait().unwrap() {
            break s;
        }
        assert!(waited < 100, "server did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(100));
        waited += 1;
    };
    assert!(status.success(), "clean exit on SIGTERM: {status:?}");
    let export = run(&data, &["export"]);
    assert!(
        export.contains(&ins.to_string()),
        "data kept after the stop"
    );
}

/// Threat: one client holds connections open by sending a request a byte at a time. The real
/// binary, with one-second read timeouts, closes a connection whose headers do not arrive and
/// answers (and frees) a request whose body does not.
#[tokio::test]
async fn slow_clients_are_cut_off() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let serving = server(&dir.path().join("data"))
        .config("[limits]\nheader_read_timeout_secs = 1\nbody_read_timeout_secs = 1\n")
        .unwrap()
        .serve()
        .unwrap();
    let base = serving.url.clone();
    let addr = base.strip_prefix("http://").unwrap().to_string();
    let connect = || {
        let s = std::net::TcpStream::connect(&addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s
    };
    let started = std::time::Instant::now();
    let mut slow_headers = connect();
    slow_headers
        .write_all(b"POST /api/v1/login HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let mut buf = Vec::new();
    let _ = slow_headers.read_to_end(&mut buf);
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "closed after {:?}",
        started.elapsed()
    );

    let started = std::time::Instant::now();
    let mut slow_body = connect();
    slow_body
        .write_all(b"POST /api/v1/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"username\"")
        .unwrap();
    let mut answer = [0u8; 12];
    slow_body.read_exact(&mut answer).unwrap();
    assert!(
        answer.starts_with(b"HTTP/1.1 4"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    assert!(started.elapsed() < Duration::from_secs(8));
}

/// Pushes `records` of `dev` as outbox entries from `first` over HTTP; they must be taken.
async fn push(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    dev: &Device,
    first: u64,
    records: Vec<Record>,
) -> PushResponse {
    let push = PushRequest {
        protocol_version: PROTOCOL_VERSION,
        device_id: dev.id,
        hlc: hlc(),
        entries: entries(first, records),
    };
    let resp = http
        .post(format!("{base}/api/v1/sync/push"))
        .bearer_auth(token)
        .json(&push)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

/// The service unit shipped in `crates/server/deploy/`, with its binary path pointed at `bin`.
fn service_unit(bin: &str) -> String {
    let unit = include_str!("../deploy/fieldcheck-server.service");
    assert!(unit.contains("ExecStart=/usr/bin/fieldcheck-server "));
    unit.replace("/usr/bin/fieldcheck-server", bin)
}

#[test]
fn the_service_unit_verifies_is_hardened_and_its_command_serves() {
    let tmp = tempfile::tempdir().unwrap();
    let unit = service_unit(BIN);
    let path = tmp.path().join("fieldcheck-server.service");
    std::fs::write(&path, &unit).unwrap();
    let verify = std::process::Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .expect("systemd-analyze (Debian package systemd) is installed");
    assert!(
        verify.status.success() && verify.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    // systemd's own scale of exposure: 0 (locked down) to 10 (exposed); under 2 is "OK".
    let security = std::process::Command::new("systemd-analyze")
        .args(["security", "--offline=yes"])
        .arg(&path)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&security.stdout);
    let level: f64 = report
        .lines()
        .find_map(|l| l.split("Overall exposure level for ").nth(1))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in: {report}"));
    assert!(level <= 2.0, "exposure {level}:\n{report}");

    // Its command line, with the state directory and port moved here, serves.
    let exec = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .unwrap();
    let data = tmp.path().join("state");
    let args: Vec<String> = exec
        .split_whitespace()
        .skip(1)
        .map(|a| match a {
            "/var/lib/fieldcheck" => data.to_string_lossy().into_owned(),
            "0.0.0.0:8080" => "127.0.0.1:0".into(),
            a => a.to_string(),
        })
        .collect();
    let mut child = fieldcheck_testkit::process::Guarded::spawn(
        std::process::Command::new(BIN)
            .args(&args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null()),
    )
    .unwrap();
    let stdout = child.stdout.take().unwrap();
    let line = std::io::BufRead::lines(std::io::BufReader::new(stdout))
        .next()
        .unwrap()
        .unwrap();
    assert!(line.starts_with("listening on http://127.0.0.1:"), "{line}");
    assert!(
        data.join("fieldcheck.sqlite3").exists(),
        "state in its directory"
    );
    child.kill();
}

#[test]
fn check_config_reports_each_part_and_fails_when_one_does_not_answer() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    // A fresh directory: everything will be made at first start.
    let ok = server(&data)
        .output(&["check-config", "--listen", "127.0.0.1:0"])
        .unwrap();
    let text = String::from_utf8_lossy(&ok.stdout);
    assert!(ok.status.success(), "{text}");
    for part in [
        "数据目录 / data directory",
        "数据库 / database",
        "照片 / photos",
        "监听地址 / listen address",
        "推送排队 / push line",
    ] {
        assert!(text.contains(&format!("✔ {part}: ")), "{text}");
    }
    assert!(
        text.contains("SQLite")
            && text.contains("首次启动时创建 / not there yet: created at first start"),
        "{text}"
    );
    assert!(text.contains("750 ms (默认 / the default)"), "{text}");
    assert!(!data.exists(), "check-config makes nothing");
    // After a first start the database answers.
    run(&data, &["user", "list"]);
    let ok = server(&data)
        .output(&["check-config", "--listen", "127.0.0.1:0"])
        .unwrap();
    let text = String::from_utf8_lossy(&ok.stdout);
    assert!(text.contains("answers; schema up to date"), "{text}");
    // A port already taken, and a data directory that is a file: both reported, exit 1.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let file = tmp.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let bad = ServerCommand::with_binary(BIN, &file)
        .output(&[
            "check-config",
            "--listen",
            &taken.local_addr().unwrap().to_string(),
        ])
        .unwrap();
    let text = String::from_utf8_lossy(&bad.stdout);
    assert!(!bad.status.success(), "{text}");
    assert!(text.contains("✘ 数据目录 / data directory: "), "{text}");
    assert!(text.contains("✘ 监听地址 / listen address: "), "{text}");
    assert!(
        text.contains("无法在此监听 / cannot listen there"),
        "{text}"
    );
}

/// Runs the binary in `cwd` with `args`; returns (success, stdout + stderr).
fn run_in(cwd: &Path, args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(BIN)
        .current_dir(cwd)
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test]
async fn demo_and_serve_work_from_any_directory_with_the_built_in_checklist() {
    // A directory outside the repository, with nothing in it: no content folder to find.
    let cwd = tempfile::tempdir().unwrap();
    let (ok, text) = run_in(cwd.path(), &["content", "check"]);
    assert!(ok && text.contains("16 templates"), "{text}");
    let (ok, text) = run_in(cwd.path(), &["--data-dir", "demo-data", "demo", "--empty"]);
    assert!(ok, "demo from any directory: {text}");
    assert!(text.contains("demo sites loaded"), "{text}");
    // `serve` on a database that has no checklist yet imports the built-in one.
    let data = cwd.path().join("fresh");
    let process = server(&data).serve().unwrap();
    let templates: i64 = rusqlite::Connection::open(data.join("fieldcheck.sqlite3"))
        .unwrap()
        .query_row("SELECT COUNT(*) FROM templates", [], |r| r.get(0))
        .unwrap();
    assert!(
        templates >= 16,
        "{templates} templates after the first start"
    );
    process.terminate();
    // Written out as TOML, changed, imported again: the folder replaces the version.
    let (ok, text) = run_in(cwd.path(), &["content", "export", "pack"]);
    assert!(ok, "{text}");
    let (ok, text) = run_in(cwd.path(), &["content", "check", "pack"]);
    assert!(ok && text.contains("16 templates"), "{text}");
    let (ok, text) = run_in(cwd.path(), &["content", "export", "pack"]);
    assert!(
        !ok && text.contains("已有清单包"),
        "never over a pack: {text}"
    );
}

#[test]
fn version_names_the_commit_it_was_built_from() {
    let (ok, text) = run_in(Path::new("."), &["--version"]);
    assert!(ok, "{text}");
    assert_eq!(
        text.trim(),
        format!("fieldcheck-server {}", fieldcheck_build_info::VERSION_LINE)
    );
    let head = std::process::Command::new("git")
        .args(["rev-parse", "--short=10", "HEAD"])
        .output()
        .unwrap();
    if head.status.success() {
        assert_eq!(
            fieldcheck_build_info::COMMIT,
            String::from_utf8_lossy(&head.stdout).trim(),
            "the commit checked out when it was built"
        );
    }
}
