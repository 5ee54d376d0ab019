//! SSIM (Wang, Bovik, Sheikh and Simoncelli, 2004) with its usual settings: an 11-tap Gaussian
//! window of σ 1.5, K1 = 0.01, K2 = 0.03, on 8-bit values.
//!
//! Written here rather than taken from a crate: `dssim` is AGPL, and `image-compare` averages
//! SSIM over 8 × 8 windows that line up with JPEG's blocks, so it cannot see blocking.

use rayon::prelude::*;

/// How alike two pictures are, from 0 (nothing in common) to 1 (identical).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ssim {
    /// Mean SSIM of luma (BT.601 Y): edges, texture, text.
    pub luma: f64,
    /// Mean SSIM of the two chroma planes (Cb, Cr).
    pub chroma: f64,
}

/// SSIM of packed RGB pictures `a` and `b`, both `width` × `height`.
pub fn ssim(a: &[u8], b: &[u8], width: u32, height: u32) -> Ssim {
    assert_eq!(a.len(), b.len(), "pictures of the same size");
    assert_eq!(a.len(), width as usize * height as usize * 3, "packed RGB");
    let planes = |rgb: &[u8]| -> [Vec<f32>; 3] {
        let (mut y, mut cb, mut cr) = (Vec::new(), Vec::new(), Vec::new());
        for p in rgb.chunks_exact(3) {
            let [r, g, b] = [p[0], p[1], p[2]].map(f32::from);
            y.push(0.299 * r + 0.587 * g + 0.114 * b);
            cb.push(128.0 - 0.168_736 * r - 0.331_264 * g + 0.5 * b);
            cr.push(128.0 + 0.5 * r - 0.418_688 * g - 0.081_312 * b);
        }
        [y, cb, cr]
    };
    let (pa, pb) = (planes(a), planes(b));
    let (w, h) = (width as usize, height as usize);
    let plane = |i: usize| mean_ssim(&pa[i], &pb[i], w, h);
    Ssim {
        luma: plane(0),
        chroma: (plane(1) + plane(2)) / 2.0,
    }
}

/// Mean of the SSIM map of one plane.
fn mean_ssim(x: &[f32], y: &[f32], w: usize, h: usize) -> f64 {
    const C1: f32 = (0.01 * 255.0) * (0.01 * 255.0);
    const C2: f32 = (0.03 * 255.0) * (0.03 * 255.0);
    let xx: Vec<f32> = x.iter().map(|v| v * v).collect();
    let yy: Vec<f32> = y.iter().map(|v| v * v).collect();
    let xy: Vec<f32> = x.iter().zip(y).map(|(a, b)| a * b).collect();
    let [mx, my, sxx, syy, sxy] = [x, y, &xx, &yy, &xy].map(|p| blur(p, w, h));
    let sum: f64 = (0..w * h)
        .into_par_iter()
        .map(|i| {
            let (mx, my) = (mx[i], my[i]);
            let vx = sxx[i] - mx * mx;
            let vy = syy[i] - my * my;
            let cov = sxy[i] - mx * my;
            f64::from(
                ((2.0 * mx * my + C1) * (2.0 * cov + C2))
                    / ((mx * mx + my * my + C1) * (vx + vy + C2)),
            )
        })
        .sum();
    sum / (w * h) as f64
}

/// The plane smoothed by the 11-tap Gaussian of σ 1.5, both ways; edges repeat.
fn blur(p: &[f32], w: usize, h: usize) -> Vec<f32> {
    let taps: [f32; 11] = {
        let raw: [f32; 11] = std::array::from_fn(|i| {
            let d = i as f32 - 5.0;
            (-d * d / (2.0 * 1.5 * 1.5)).exp()
        });
        let sum: f32 = raw.iter().sum();
        raw.map(|t| t / sum)
    };
    let mut across = vec![0.0f32; w * h];
    across
        .par_chunks_mut(w)
        .zip(p.par_chunks(w))
        .for_each(|(out, row)| {
            for (x, o) in out.iter_mut().enumerate() {
                *o = taps
                    .iter()
                    .enumerate()
                    .map(|(k, t)| t * row[(x + k).saturating_sub(5).min(w - 1)])
                    .sum();
            }
        });
    let mut down = vec![0.0f32; w * h];
    down.par_chunks_mut(w).enumerate().for_each(|(y, out)| {
        for (k, t) in taps.iter().enumerate() {
            let src = &across[(y + k).saturating_sub(5).min(h - 1) * w..][..w];
            for (o, s) in out.iter_mut().zip(src) {
                *o += t * s;
            }
        }
    });
    down
}
