//! Photo pipeline benchmark: generates 12 MP noisy JPEGs (4000 × 3000, EXIF orientation 6),
//! takes each through the whole capture (decode, shrink to 2048 px, turn upright, watermark,
//! encode, thumbnail, hash, sign, durable store and SQLite record), and in the same run puts the
//! same files through `vipsthumbnail` making the same two sizes, photo by photo in turn so that
//! both meet the same load on a shared machine; prints medians and the ratio.
//!
//! Run: `cargo bench -p fieldcheck-core --bench photo_pipeline [-- PHOTOS]` (default 12 photos).
//! Needs `vipsthumbnail` (Debian: libvips-tools) for the comparison; without it, that part is
//! skipped with a note.

use fieldcheck_core::photo::{
    CaptureRequest, CaptureTime, DeviceKey, PhotoDir, PhotoPipeline, Stamp, TrustedClock, process,
};
use fieldcheck_core::store::Store;
use fieldcheck_protocol::{PhotoKind, Position, PositionSource, TimeSource};
use jpeg_encoder::{ColorType, Encoder, SamplingFactor};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

const WIDTH: u16 = 4000;
const HEIGHT: u16 = 3000;

fn main() {
    let photos: usize = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .map_or(12, |a| a.parse().expect("PHOTOS is a number"));
    let tmp = tempfile::tempdir().expect("temp dir");
    let inputs = generate(tmp.path(), photos);
    let sizes: Vec<u64> = inputs.iter().map(|p| p.metadata().unwrap().len()).collect();
    println!(
        "{photos} photos {WIDTH}×{HEIGHT}, EXIF orientation 6, {:.1}-{:.1} MB",
        *sizes.iter().min().unwrap() as f64 / 1e6,
        *sizes.iter().max().unwrap() as f64 / 1e6
    );
    println!("machine: {}", machine());

    // Each photo goes through our capture and then through vipsthumbnail, so that both see
    // the same moment of a shared, noisy machine.
    let mut capture = Capture::new(tmp.path());
    capture.run(&inputs[0]); // warm-up (thread pool, font, page cache)
    // The warm-up run also tells whether vipsthumbnail is installed.
    let vips = Some(Vips::new(tmp.path())).filter(|v| v.run(&inputs[0]).is_some());
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for input in &inputs {
        ours.push(capture.run(input));
        if let Some(vips) = &vips {
            theirs.push(vips.run(input).expect("vipsthumbnail ran before"));
        }
    }
    let process_only = time_process(&inputs);
    println!("fieldcheck capture (whole pipeline): {}", summary(&ours));
    println!(
        "  of which process() alone:          {}",
        summary(&process_only)
    );
    if vips.is_none() {
        println!("vipsthumbnail not found: comparison skipped (apt-get install libvips-tools)");
        return;
    }
    let pair_ratios: Vec<f64> = theirs.iter().zip(&ours).map(|(v, o)| v / o).collect();
    println!("vipsthumbnail 2048 + 320:            {}", summary(&theirs));
    println!(
        "ratio vipsthumbnail / fieldcheck: {:.2}× of the medians, {:.2}× median of the per-photo ratios",
        median(&theirs) / median(&ours),
        median(&pair_ratios)
    );
}

/// Writes `n` noisy 12 MP JPEGs (quality 92, 4:2:0) with EXIF orientation 6.
fn generate(dir: &Path, n: usize) -> Vec<PathBuf> {
    (0..n)
        .map(|i| {
            let mut state = 0x9E37_79B9_7F4A_7C15_u64 ^ (i as u64 + 1);
            let (w, h) = (usize::from(WIDTH), usize::from(HEIGHT));
            let mut rgb = Vec::with_capacity(w * h * 3);
            for y in 0..h {
                for x in 0..w {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    let n = (state & 0x1F) as i32 - 16;
                    let base = [
                        (x * 255 / w) as i32,
                        ((x / 200 + y / 150) % 2 * 120 + 60) as i32,
                        (y * 255 / h) as i32,
                    ];
                    rgb.extend(base.map(|c| (c + n + (i as i32 * 7)).clamp(0, 255) as u8));
                }
            }
            let mut jpeg = Vec::new();
            let mut encoder = Encoder::new(&mut jpeg, 92);
            encoder.set_sampling_factor(SamplingFactor::F_2_2);
            encoder.encode(&rgb, WIDTH, HEIGHT, ColorType::Rgb).unwrap();
            let mut file = jpeg[..2].to_vec();
            file.extend_from_slice(&exif_orientation_6());
            file.extend_from_slice(&jpeg[2..]);
            let path = dir.join(format!("in-{i:02}.jpg"));
            std::fs::write(&path, file).unwrap();
            path
        })
        .collect()
}

/// APP1 with a big-endian TIFF holding Orientation = 6.
fn exif_orientation_6() -> Vec<u8> {
    let mut seg = vec![0xFF, 0xE1, 0, 34];
    seg.extend_from_slice(
        b"Exif\0\0MM\0\x2a\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x06\0\0\0\0\0\0",
    );
    seg
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
