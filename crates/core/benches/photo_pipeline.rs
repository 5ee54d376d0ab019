//! Photo pipeline benchmark: makes 12 MP street scenes as a camera's JPEGs (quality 92,
//! 4:2:0, 3-4 MB; every other one taken upright, EXIF orientation 6; `fieldcheck-test-photos`),
//! takes each through the whole capture (decode, resample to 2048 px, turn upright, stamp,
//! encode, thumbnail, hash, sign, durable store and SQLite record), and in the same run puts the
//! same files through `vipsthumbnail` (a process per call) and through libvips in-process
//! (pyvips) making the same two sizes, photo by photo in turn so that all meet the same load on a
//! shared machine; prints medians and the ratios. Then the photo's bytes and SSIM with the
//! encoder this build ships against the quality-80 encoder it replaced.
//!
//! Run: `cargo bench -p fieldcheck-core [--features turbojpeg] --bench photo_pipeline [-- PHOTOS]`
//! (default 12 photos). Needs `vipsthumbnail` (Debian: libvips-tools) and pyvips (`pip install
//! pyvips`) for the comparisons; without them, that part is skipped with a note.

use fieldcheck_core::photo::{
    CaptureRequest, CaptureTime, DeviceKey, JPEG_CODEC, PhotoDir, PhotoPipeline, Stamp,
    TrustedClock, process,
};
use fieldcheck_core::store::Store;
use fieldcheck_photo_codec::{decode, encode, upright_within};
use fieldcheck_protocol::{PhotoKind, Position, PositionSource, TimeSource};
use fieldcheck_test_photos::{corpus, reference_jpeg, ssim};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

fn main() {
    let photos: u64 = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .map_or(12, |a| a.parse().expect("PHOTOS is a number"));
    let tmp = tempfile::tempdir().expect("temp dir");
    let inputs = generate(tmp.path(), photos);
    let sizes: Vec<u64> = inputs.iter().map(|p| p.metadata().unwrap().len()).collect();
    println!(
        "{photos} street scenes, 12 MP camera JPEGs (half upright, EXIF 6), {:.1}-{:.1} MB; codec {JPEG_CODEC}",
        *sizes.iter().min().unwrap() as f64 / 1e6,
        *sizes.iter().max().unwrap() as f64 / 1e6
    );
    println!("machine: {}", machine());

    // Each photo goes through our capture and then through libvips, so that all see the same
    // moment of a shared, noisy machine.
    let mut capture = Capture::new(tmp.path());
    capture.run(&inputs[0]); // warm-up (thread pool, font, page cache)
    // The warm-up runs also tell whether libvips is installed.
    let vips = Some(Vips::new(tmp.path())).filter(|v| v.run(&inputs[0]).is_some());
    let mut pyvips = Pyvips::start(tmp.path());
    if pyvips.as_mut().and_then(|p| p.run(&inputs[0])).is_none() {
        pyvips = None;
    }
    let (mut ours, mut theirs, mut in_process) = (Vec::new(), Vec::new(), Vec::new());
    for input in &inputs {
        ours.push(capture.run(input));
        if let Some(vips) = &vips {
            theirs.push(vips.run(input).expect("vipsthumbnail ran before"));
        }
        if let Some(pyvips) = &mut pyvips {
            in_process.push(pyvips.run(input).expect("pyvips ran before"));
        }
    }
    let process_only = time_process(&inputs);
    println!("fieldcheck capture (whole pipeline): {}", summary(&ours));
    println!(
        "  of which process() alone:          {}",
        summary(&process_only)
    );
    for (name, times) in [
        ("vipsthumbnail 2048 + 320 (2 processes)", &theirs),
        ("libvips in-process (pyvips) 2048 + 320", &in_process),
    ] {
        if times.is_empty() {
            println!(
                "{name}: not installed, skipped (apt-get install libvips-tools; pip install pyvips)"
            );
            continue;
        }
        let pair_ratios: Vec<f64> = times.iter().zip(&ours).map(|(v, o)| v / o).collect();
        println!("{name}: {}", summary(times));
        println!(
            "  ratio to fieldcheck: {:.2}× of the medians, {:.2}× median of the per-photo ratios",
            median(times) / median(&ours),
            median(&pair_ratios)
        );
    }
    stages(&inputs);
    bytes_and_quality(&inputs);
}

/// Where `process()`'s time goes, stage by stage, medians over the photos: the Huffman pass
/// alone (a decode at 1/8 scale, where the inverse DCT is next to nothing), the decode the
/// pipeline does, the resample to 2048 px and turning upright, and the photo's encoding.
fn stages(inputs: &[PathBuf]) {
    let ms = |start: Instant| start.elapsed().as_secs_f64() * 1e3;
    let (mut huffman, mut decoding, mut upright, mut encoding) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for path in inputs {
        let bytes = std::fs::read(path).unwrap();
        let start = Instant::now();
        decode(&bytes, 256).unwrap();
        huffman.push(ms(start));
        let start = Instant::now();
        let decoded = decode(&bytes, 1997).unwrap();
        decoding.push(ms(start));
        let start = Instant::now();
        let (px, w, h) = upright_within(decoded, 2048);
        upright.push(ms(start));
        let start = Instant::now();
        encode(&px, w, h);
        encoding.push(ms(start));
    }
    println!(
        "stages (medians): Huffman pass alone {:.1} ms; decode at the pipeline's scale {:.1} ms; \
         resample to 2048 + upright {:.1} ms; encode the photo {:.1} ms",
        median(&huffman),
        median(&decoding),
        median(&upright),
        median(&encoding)
    );
}

/// Per photo, the stored photo's bytes and SSIM against the pixels given to the encoder: this
/// build's encoder against the one it replaced (quality 80, standard Huffman tables).
fn bytes_and_quality(inputs: &[PathBuf]) {
    println!(
        "| photo | before: KB | luma SSIM | now: KB | luma SSIM | chroma SSIM before → now | encode ms now |"
    );
    let (mut before_kb, mut now_kb) = (Vec::new(), Vec::new());
    for (i, path) in inputs.iter().enumerate() {
        let bytes = std::fs::read(path).unwrap();
        let (px, w, h) = upright_within(decode(&bytes, 1997).unwrap(), 2048);
        let before = reference_jpeg(&px, w, h);
        let start = Instant::now();
        let now = encode(&px, w, h);
        let ms = start.elapsed().as_secs_f64() * 1e3;
        let (a, b) = (
            ssim(&px, &decoded(&before), w, h),
            ssim(&px, &decoded(&now), w, h),
        );
        before_kb.push(before.len() as f64 / 1000.0);
        now_kb.push(now.len() as f64 / 1000.0);
        println!(
            "| {i} | {:.0} | {:.4} | {:.0} | {:.4} | {:.4} → {:.4} | {ms:.1} |",
            before.len() as f64 / 1000.0,
            a.luma,
            now.len() as f64 / 1000.0,
            b.luma,
            a.chroma,
            b.chroma
        );
    }
    println!(
        "median photo: before {:.0} KB, now {:.0} KB ({:+.1} %)",
        median(&before_kb),
        median(&now_kb),
        (median(&now_kb) / median(&before_kb) - 1.0) * 100.0
    );
}

fn decoded(jpeg: &[u8]) -> Vec<u8> {
    jpeg_decoder::Decoder::new(jpeg).decode().unwrap()
}

/// Writes `n` street scenes as camera JPEGs.
fn generate(dir: &Path, n: u64) -> Vec<PathBuf> {
    corpus(n)
        .into_iter()
        .enumerate()
        .map(|(i, photo)| {
            let path = dir.join(format!("in-{i:02}.jpg"));
            std::fs::write(&path, photo.jpeg).unwrap();
            path
        })
        .collect()
}

fn request(bytes: &[u8]) -> CaptureRequest<'_> {
    CaptureRequest {
        bytes,
        kind: PhotoKind::Before,
        finding_id: None,
        inspection_id: None,
        position: Some(Position {
            lat: 30.274_15,
            lon: 120.155_15,
            accuracy_m: 8.0,
            source: PositionSource::Gps,
        }),
        site_name: "建设路菜市场",
        inspector: "王小红",
    }
}

/// The whole capture into a real store and photo directory.
struct Capture {
    store: Store,
    pipeline: PhotoPipeline,
}

impl Capture {
    fn new(dir: &Path) -> Capture {
        let app = dir.join("app");
        let clock = Arc::new(TrustedClock::new());
        clock.observe_server_time(1_764_028_798_900);
        Capture {
            store: Store::open(dir.join("bench.db")).unwrap(),
            pipeline: PhotoPipeline::new(
                PhotoDir::open(app.join("photos")).unwrap(),
                clock,
                DeviceKey::load_or_create(&app).unwrap(),
            ),
        }
    }

    /// Milliseconds for one photo's whole capture, reading the file from disk.
    fn run(&mut self, path: &Path) -> f64 {
        let start = Instant::now();
        let bytes = std::fs::read(path).unwrap();
        self.pipeline
            .capture(&mut self.store, &request(&bytes))
            .unwrap();
        start.elapsed().as_secs_f64() * 1000.0
    }
}

/// Milliseconds per photo for `process()` alone, bytes already in memory.
fn time_process(inputs: &[PathBuf]) -> Vec<f64> {
    let stamp = Stamp {
        time: CaptureTime {
            unix_ms: 1_764_028_798_900,
            source: TimeSource::Trusted,
            device_offset_ms: 0,
        },
        position: None,
        site: "建设路菜市场",
        inspector: "王小红",
        serial: "1A2B-3C4D".into(),
    };
    inputs
        .iter()
        .map(|p| {
            let bytes = std::fs::read(p).unwrap();
            let start = Instant::now();
            process(&bytes, &stamp).unwrap();
            start.elapsed().as_secs_f64() * 1000.0
        })
        .collect()
}

/// `vipsthumbnail` making the 2048 px photo and the 320 px thumbnail (quality 80).
struct Vips {
    out: PathBuf,
}

impl Vips {
    fn new(dir: &Path) -> Vips {
        let out = dir.join("vips");
        std::fs::create_dir_all(&out).unwrap();
        Vips { out }
    }

    /// Milliseconds for one photo's two sizes, or `None` when vipsthumbnail is not installed.
    fn run(&self, path: &Path) -> Option<f64> {
        let start = Instant::now();
        for size in ["2048", "320"] {
            let target = self.out.join(format!("%s-{size}.jpg[Q=80]"));
            let status = Command::new("vipsthumbnail")
                .arg(path)
                .args(["-s", size, "-o"])
                .arg(&target)
                .status()
                .ok()?;
            assert!(
                status.success(),
                "vipsthumbnail failed on {}",
                path.display()
            );
        }
        Some(start.elapsed().as_secs_f64() * 1000.0)
    }
}

/// libvips in one long-lived Python process (pyvips), so no process start is counted: each
/// photo's path goes in on a line, and the milliseconds its two sizes took come back.
struct Pyvips {
    _child: Child,
    paths: ChildStdin,
    times: BufReader<ChildStdout>,
}

/// The Python side of [`Pyvips`]: `thumbnail` (shrink-on-load, EXIF orientation) to 2048 and
/// 320 px, each saved as a quality-80 JPEG.
const PYVIPS: &str = r#"
import sys, time, pyvips
out = sys.argv[1]
for line in sys.stdin:
    path = line.strip()
    start = time.perf_counter()
    for size in (2048, 320):
        pyvips.Image.thumbnail(path, size).jpegsave(f"{out}/py-{size}.jpg", Q=80)
    print((time.perf_counter() - start) * 1000, flush=True)
"#;

impl Pyvips {
    /// Starts Python with pyvips, or `None` when either is missing.
    fn start(dir: &Path) -> Option<Pyvips> {
        let mut child = Command::new("python3")
            .args(["-c", PYVIPS])
            .arg(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let paths = child.stdin.take()?;
        let times = BufReader::new(child.stdout.take()?);
        Some(Pyvips {
            _child: child,
            paths,
            times,
        })
    }

    /// Milliseconds for one photo's two sizes, or `None` when pyvips did not answer.
    fn run(&mut self, path: &Path) -> Option<f64> {
        writeln!(self.paths, "{}", path.display()).ok()?;
        let mut line = String::new();
        self.times.read_line(&mut line).ok()?;
        line.trim().parse().ok()
    }
}

fn median(ms: &[f64]) -> f64 {
    let mut v = ms.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len().is_multiple_of(2) {
        (v[mid - 1] + v[mid]) / 2.0
    } else {
        v[mid]
    }
}

fn summary(ms: &[f64]) -> String {
    let min = ms.iter().copied().fold(f64::INFINITY, f64::min);
    let max = ms.iter().copied().fold(0.0, f64::max);
    format!(
        "median {:.1} ms/photo (min {min:.1}, max {max:.1})",
        median(ms)
    )
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load = load
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ");
    format!("{cores} cores, {cpu}, load average {load}")
}
