//! How many bytes each JPEG encoder needs for the SSIM today's encoder reaches, on Fieldcheck's
//! 12 MP street scenes shrunk to 2048 px as the pipeline does: the measurement behind the photo
//! encoder's choice (BENCHMARKS.md, "Photo bytes and quality").
//!
//! For each photo and each candidate, the lowest quality whose luma SSIM against the pixels
//! given to the encoder reaches today's (quality 80, standard tables, no Huffman optimisation)
//! is searched, and its bytes and encoding time reported; then medians over the photos.

use fieldcheck_photo_codec::{decode, upright_within};
use fieldcheck_test_photos::{Ssim, corpus, reference_jpeg, ssim};
use mozjpeg_rs::{Encoder, Preset, QuantTableIdx as Table, TrellisConfig};
use std::time::Instant;

/// One way of encoding: a name and `encode(pixels, width, height, quality)`.
type Candidate = (&'static str, Box<dyn Fn(&[u8], u32, u32, u8) -> Vec<u8>>);

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .map_or(6, |a| a.parse().expect("PHOTOS is a number"));
    let photos = corpus(n);
    println!(
        "{n} photos, camera JPEGs {:?} KB",
        photos
            .iter()
            .map(|p| p.jpeg.len() / 1000)
            .collect::<Vec<_>>()
    );
    let candidates: Vec<Candidate> = vec![
        (
            "libjpeg-turbo (same output)",
            Box::new(|p, w, h, q| turbo(p, w, h, q)),
        ),
        (
            "jpeg-encoder, Huffman optimised",
            Box::new(|p, w, h, q| huffman_optimised(p, w, h, q)),
        ),
        (
            "mozjpeg-rs standard tables",
            Box::new(|p, w, h, q| moz(p, w, h, q, Table::JpegAnnexK, false, false)),
        ),
        (
            "mozjpeg-rs standard + trellis",
            Box::new(|p, w, h, q| moz(p, w, h, q, Table::JpegAnnexK, true, false)),
        ),
        (
            "mozjpeg-rs default (Robidoux + trellis)",
            Box::new(|p, w, h, q| moz(p, w, h, q, Table::Robidoux, true, false)),
        ),
        (
            "mozjpeg-rs MS-SSIM tables + trellis",
            Box::new(|p, w, h, q| moz(p, w, h, q, Table::MssimTuned, true, false)),
        ),
        (
            "mozjpeg-rs Peterson tables + trellis",
            Box::new(|p, w, h, q| moz(p, w, h, q, Table::Peterson, true, false)),
        ),
        (
            "(progressive) standard + trellis",
            Box::new(|p, w, h, q| moz(p, w, h, q, Table::JpegAnnexK, true, true)),
        ),
    ];
    let mut rows: Vec<Vec<(u8, usize, f64, Ssim)>> = vec![Vec::new(); candidates.len()];
    let mut today = Vec::new();
    let mut ladder = vec![Vec::new(); 3];
    for photo in &photos {
        let (px, w, h) = upright_within(decode(&photo.jpeg, 1997).unwrap(), 2048);
        let reference = reference_jpeg(&px, w, h);
        let goal = ssim(&px, &decoded(&reference), w, h);
        today.push((reference.len(), goal));
        for (row, (_, encode)) in rows.iter_mut().zip(&candidates) {
            // The lowest quality reaching today's luma SSIM (SSIM grows with quality).
            let (mut lo, mut hi) = (40u8, 100u8);
            while lo < hi {
                let mid = (lo + hi) / 2;
                if ssim(&px, &decoded(&encode(&px, w, h, mid)), w, h).luma >= goal.luma {
                    hi = mid;
                } else {
                    lo = mid + 1;
                }
            }
            let start = Instant::now();
            let out = encode(&px, w, h, lo);
            let ms = start.elapsed().as_secs_f64() * 1e3;
            row.push((lo, out.len(), ms, ssim(&px, &decoded(&out), w, h)));
        }
        for (i, q) in [70, 75, 80].into_iter().enumerate() {
            let out = huffman_optimised(&px, w, h, q);
            ladder[i].push((out.len(), ssim(&px, &decoded(&out), w, h)));
        }
    }
    let today_kb = median(today.iter().map(|t| t.0 as f64 / 1000.0));
    println!(
        "today (quality 80, standard tables): median {today_kb:.0} KB, luma SSIM {:.4}, chroma {:.4}",
        median(today.iter().map(|t| t.1.luma)),
        median(today.iter().map(|t| t.1.chroma))
    );
    println!(
        "| encoder, at today's luma SSIM | quality | KB (median) | vs today | encode ms (median) | luma SSIM | chroma SSIM |"
    );
    for ((name, _), row) in candidates.iter().zip(&rows) {
        let kb = median(row.iter().map(|r| r.1 as f64 / 1000.0));
        println!(
            "| {name} | {:.0} | {kb:.0} | {:+.1} % | {:.0} | {:.4} | {:.4} |",
            median(row.iter().map(|r| f64::from(r.0))),
            (kb / today_kb - 1.0) * 100.0,
            median(row.iter().map(|r| r.2)),
            median(row.iter().map(|r| r.3.luma)),
            median(row.iter().map(|r| r.3.chroma)),
        );
    }
    for (q, runs) in [70, 75, 80].into_iter().zip(&ladder) {
        println!(
            "jpeg-encoder Huffman optimised, quality {q}: median {:.0} KB, luma SSIM {:.4}",
            median(runs.iter().map(|r| r.0 as f64 / 1000.0)),
            median(runs.iter().map(|r| r.1.luma))
        );
    }
}

/// libjpeg-turbo's output, made by mozjpeg's library set to libjpeg's defaults.
fn turbo(px: &[u8], w: u32, h: u32, q: u8) -> Vec<u8> {
    let mut c = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_RGB);
    c.set_fastest_defaults();
    c.set_size(w as usize, h as usize);
    c.set_quality(f32::from(q));
    c.set_chroma_sampling_pixel_sizes((2, 2), (2, 2));
    let mut s = c.start_compress(Vec::new()).unwrap();
    s.write_scanlines(px).unwrap();
    s.finish().unwrap()
}

/// Standard tables, Huffman tables made for the photo: what the pipeline ships.
fn huffman_optimised(px: &[u8], w: u32, h: u32, q: u8) -> Vec<u8> {
    let mut out = Vec::new();
    let mut e = jpeg_encoder::Encoder::new(&mut out, q);
    e.set_sampling_factor(jpeg_encoder::SamplingFactor::F_2_2);
    e.set_optimized_huffman_tables(true);
    e.encode(px, w as u16, h as u16, jpeg_encoder::ColorType::Rgb)
        .unwrap();
    out
}

fn moz(
    px: &[u8],
    w: u32,
    h: u32,
    q: u8,
    table: Table,
    trellis: bool,
    progressive: bool,
) -> Vec<u8> {
    let trellis = if trellis {
        TrellisConfig::default()
    } else {
        TrellisConfig::disabled()
    };
    Encoder::new(Preset::BaselineBalanced)
        .quality(q)
        .quant_tables(table)
        .trellis(trellis)
        .progressive(progressive)
        .encode_rgb(px, w, h)
        .unwrap()
}

fn decoded(jpeg: &[u8]) -> Vec<u8> {
    jpeg_decoder::Decoder::new(jpeg).decode().unwrap()
}

fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.collect();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 0 {
        (v[mid - 1] + v[mid]) / 2.0
    } else {
        v[mid]
    }
}
