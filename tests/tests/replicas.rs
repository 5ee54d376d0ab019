//! Two `fieldcheck-server` processes on one PostgreSQL database and one S3-compatible bucket,
//! behind HAProxy (round-robin, no stickiness), keep no state a user can notice:
//!
//! - a photo upload cut off on replica A resumes on replica B from the bytes A staged in the
//!   bucket (B sends only the rest);
//! - a dashboard session and its CSRF token opened on A work on B; an export started through A
//!   shows its progress and downloads through B;
//! - failed logins count once across both: the lockout holds whichever replica is asked;
//! - a replica killed (SIGKILL) while tablets push through the balancer loses nothing: the
//!   tablets' work converges on the other, every photo in the bucket, nothing applied twice.
//!
//! Seed: `REPLICAS_SEED` (printed at the start).

use fieldcheck_core::sync::api::Timeouts;
use fieldcheck_testkit::balancer::Balancer;
use fieldcheck_testkit::s3::{BUCKET, S3Server};
use fieldcheck_tests::checker::{ServerPhotos, check_converged_and_stored};
use fieldcheck_tests::fault_proxy::{Fault, FaultConfig, FaultProxy};
use fieldcheck_tests::office::{OFFICE_PASSWORD, OFFICE_USER};
use fieldcheck_tests::server::{INSPECTOR_PASSWORD, ServerCommand, ServerProcess};
use fieldcheck_tests::tablet::Tablet;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use std::time::{Duration, Instant};

const USERS: [&str; 2] = ["xiaochen", "xiaozhou"];

/// A browser's side of the dashboard over plain HTTP, keeping its own cookies, on any replica.
struct Browser {
    http: reqwest::Client,
    cookies: Vec<String>,
}

impl Browser {
    fn new() -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: Vec::new(),
        }
    }

    fn keep_cookies(&mut self, resp: &reqwest::Response) {
        for c in resp.headers().get_all(SET_COOKIE) {
            let pair = c.to_str().unwrap().split(';').next().unwrap().to_string();
            let name = pair.split('=').next().unwrap().to_string();
            self.cookies.retain(|k| !k.starts_with(&format!("{name}=")));
            self.cookies.push(pair);
        }
    }

    async fn get(&mut self, url: &str) -> (StatusCode, String) {
        let resp = self
            .http
            .get(url)
            .header(COOKIE, self.cookies.join("; "))
            .send()
            .await
            .unwrap();
        self.keep_cookies(&resp);
        (resp.status(), resp.text().await.unwrap())
    }

    async fn get_bytes(&mut self, url: &str) -> (StatusCode, Vec<u8>) {
        let resp = self
            .http
            .get(url)
            .header(COOKIE, self.cookies.join("; "))
            .send()
            .await
            .unwrap();
        (resp.status(), resp.bytes().await.unwrap().to_vec())
    }

    /// Posts a form; returns the status and where it redirects.
    async fn post(&mut self, url: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
        let resp = self
            .http
            .post(url)
            .header(COOKIE, self.cookies.join("; "))
            .form(form)
            .send()
            .await
            .unwrap();
        self.keep_cookies(&resp);
        let to = resp
            .headers()
            .get(LOCATION)
            .map(|l| l.to_str().unwrap().to_string())
            .unwrap_or_default();
        (resp.status(), to)
    }

    /// Signs in on `base`; returns the status of the login form's answer.
    async fn login(&mut self, base: &str, user: &str, password: &str) -> StatusCode {
        let (_, page) = self.get(&format!("{base}/dashboard/login")).await;
        let csrf = hidden(&page, "csrf");
        self.post(
            &format!("{base}/dashboard/login"),
            &[("csrf", &csrf), ("username", user), ("password", password)],
        )
        .await
        .0
    }
}

/// The value of hidden field `name` in a page.
fn hidden(page: &str, name: &str) -> String {
    let at = page
        .find(&format!("name=\"{name}\" value=\""))
        .unwrap_or_else(|| panic!("no field {name} in the page"));
    let rest = &page[at + name.len() + 15..];
    rest[..rest.find('"').unwrap()].to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_behind_a_balancer_keep_no_state_a_user_can_notice() {
    let Some(database) = fieldcheck_testkit::postgres::fresh_database().unwrap() else {
        eprintln!("skipped: FIELDCHECK_SKIP_PG=1");
        return;
    };
    let started = Instant::now();
    let seed: u64 = std::env::var("REPLICAS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("REPLICAS_SEED={seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let s3 = S3Server::start(&dir.path().join("s3")).unwrap();
    let bucket = dir.path().join("s3").join(BUCKET);
    // Each replica has its own data directory (nothing in it is shared; it holds nothing).
    let replica = |name: &str| {
        ServerCommand::new(&dir.path().join(name))
            .global(["--database-url", database.as_str()])
            // The balancer's X-Forwarded-For names the client (for the sign-in limits).
            .config(&format!(
                "trusted_proxies = [\"127.0.0.1\"]\n{}",
                s3.config_toml(&s3.url()).unwrap()
            ))
            .unwrap()
    };
    let (cmd_a, cmd_b) = (replica("a"), replica("b"));
    cmd_a
        .prepare(&fieldcheck_tests::content_dir(), &USERS)
        .unwrap();
    cmd_a
        .admin(&[
            "user",
            "add",
            "--role",
            "admin",
            "--password",
            OFFICE_PASSWORD,
            OFFICE_USER,
        ])
        .unwrap();
    let mut a = cmd_a.serve().unwrap();
    let b = cmd_b.serve().unwrap();
    let lb = Balancer::start(dir.path(), &[a.url.clone(), b.url.clone()]).unwrap();
    let timeouts = Timeouts {
        connect: Duration::from_secs(2),
        request: Duration::from_secs(20),
    };

    // 1. An upload cut off on A resumes on B.
    let mut cut_only = [0; 9];
    cut_only[Fault::ALL
        .iter()
        .position(|f| *f == Fault::CutRequestBody)
        .unwrap()] = 1;
    let cut_to_a = FaultProxy::start(
        a.url.trim_start_matches("http://").parse().unwrap(),
        FaultConfig {
            rate: 1e-6,
            upload_rate: 1.0,
            weights: cut_only,
            stall: Duration::from_secs(2),
            seed: rng.random(),
        },
    )
    .await
    .unwrap();
    let first_dir = tempfile::tempdir().unwrap();
    let first = Tablet::open(first_dir.path(), USERS[0], timeouts, &mut rng);
    first
        .engine
        .login(&cut_to_a.url(), USERS[0], INSPECTOR_PASSWORD)
        .await
        .unwrap();
    first.engine.sync_now().await.unwrap();
    first.record(&mut rng, true);
    let cut = first.engine.sync_now().await;
    assert!(cut.is_err(), "every upload to A is cut: {cut:?}");
    // A finishes writing what arrived after the tablet saw the cut.
    let wait = Instant::now();
    while s3.objects("partial/").is_empty() {
        assert!(
            wait.elapsed() < Duration::from_secs(10),
            "A staged none of the cut upload's bytes in the bucket ({cut:?})"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let photo_bytes: u64 = std::fs::read_dir(first_dir.path().join("photos"))
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    first
        .engine
        .login(&b.url, USERS[0], INSPECTOR_PASSWORD)
        .await
        .unwrap();
    let resumed = first.engine.sync_now().await.unwrap();
    assert_eq!(resumed.photos_uploaded, 1);
    assert!(
        resumed.bytes_sent < photo_bytes,
        "B resumed from A's staged bytes: sent {} of the photo's {photo_bytes}",
        resumed.bytes_sent
    );

    // 2. The dashboard: a session opened on A, an export started through A, read through B.
    let mut browser = Browser::new();
    assert_eq!(
        browser.login(&a.url, OFFICE_USER, OFFICE_PASSWORD).await,
        StatusCode::SEE_OTHER
    );
    let (status, ledger) = browser.get(&format!("{}/dashboard/ledger", b.url)).await;
    assert_eq!(status, StatusCode::OK, "A's session works on B");
    let csrf = hidden(&ledger, "csrf");
    let (status, job) = browser
        .post(
            &format!("{}/dashboard/exports", a.url),
            &[("csrf", &csrf), ("query", "")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "B's CSRF token works on A");
    let ready = Instant::now();
    loop {
        let (status, page) = browser.get(&format!("{}{job}", b.url)).await;
        assert_eq!(status, StatusCode::OK, "B shows A's export job");
        if page.contains("export-ready") {
            break;
        }
        assert!(!page.contains("export-failed"), "the export failed");
        assert!(
            ready.elapsed() < Duration::from_secs(30),
            "the export never finished"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (status, xlsx) = browser.get_bytes(&format!("{}{job}/file", b.url)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        xlsx.starts_with(b"PK"),
        "an .xlsx (a zip) downloads through B"
    );

    // 3. Failed logins count once across both replicas.
    let mut stranger = Browser::new();
    for i in 0..5 {
        let base = if i % 2 == 0 { &a.url } else { &b.url };
        assert_eq!(
            stranger.login(base, OFFICE_USER, "wrong-password").await,
            StatusCode::UNAUTHORIZED
        );
    }
    for base in [&a.url, &b.url] {
        assert_eq!(
            stranger.login(base, OFFICE_USER, OFFICE_PASSWORD).await,
            StatusCode::TOO_MANY_REQUESTS,
            "locked out on every replica"
        );
    }

    // 4. Two tablets through the balancer; A is killed while they push.
    let second_dir = tempfile::tempdir().unwrap();
    let second = Tablet::open(second_dir.path(), USERS[1], timeouts, &mut rng);
    for t in [&first, &second] {
        t.engine
            .login(&lb.url, &t.user, INSPECTOR_PASSWORD)
            .await
            .unwrap();
        t.engine.sync_now().await.unwrap();
    }
    for round in 0..6 {
        for t in [&first, &second] {
            for n in 0..3 {
                t.record(&mut rng, n == 0);
            }
        }
        let kill_now = round == 3;
        let syncs = async {
            let (x, y) = tokio::join!(first.engine.sync_now(), second.engine.sync_now());
            [x, y]
        };
        let results = if kill_now {
            let delay = Duration::from_millis(rng.random_range(5..80));
            let (results, ()) = tokio::join!(syncs, async {
                tokio::time::sleep(delay).await;
                a.kill();
            });
            results
        } else {
            syncs.await
        };
        for r in results {
            if let Err(e) = r {
                assert!(
                    e.is_transient(),
                    "round {round}: not retried by itself: {e}"
                );
            }
        }
    }
    // Until both tablets have everything through (on B alone now).
    let deadline = Instant::now() + Duration::from_secs(60);
    for t in [&first, &second] {
        while let Err(e) = t.engine.sync_now().await {
            assert!(e.is_transient(), "{e}");
            assert!(Instant::now() < deadline, "never converged: {e}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let export = b.export().unwrap();
    for (t, tdir) in [(&first, &first_dir), (&second, &second_dir)] {
        let store = t.store.lock().unwrap();
        let photos = check_converged_and_stored(
            &store,
            &tdir.path().join("photos"),
            &export,
            ServerPhotos::Bucket(&bucket),
        )
        .unwrap_or_else(|e| panic!("seed {seed}: {} {e:#}", t.user));
        assert!(photos >= 6, "{}: {photos} photos", t.user);
    }
    assert!(
        !dir.path().join("a/photos").exists() && !dir.path().join("b/photos").exists(),
        "the replicas keep no photos of their own"
    );
    drop::<ServerProcess>(b);
    eprintln!("replicas: {:.1?}", started.elapsed());
}
