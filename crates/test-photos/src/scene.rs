//! A street scene drawn by code: what the field photographs, with the textures, edges, smooth
//! sky and noise that decide how many bytes a JPEG of it needs.

use rayon::prelude::*;

/// A `width` × `height` street as packed RGB, reproducible from `seed`: sky and clouds, a row of
/// facades (tiles, windows with frames and reflections, air-conditioners, a shop sign), overhead
/// wires, trees, a pavement of tiles, an asphalt road with lane marks, a manhole cover, cracks
/// and a pothole, a street lamp, a cast shadow and vignetting; then a camera's slight lens blur
/// and sensor noise (stronger in the shadows, mostly in luma).
///
/// Every length is a fraction of the picture, so the scene looks the same at any size.
pub fn street_scene(seed: u64, width: u32, height: u32) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let mut canvas = Canvas::new(width, height);
    let s = width.max(height) as f32 / 4000.0; // texture scale: 1.0 at 12 MP
    let horizon = height as f32 * rng.range(0.55, 0.68);
    let sky_line = height as f32 * rng.range(0.10, 0.30);
    let noise_seed = rng.next() as u32;

    // Sky: a gradient with soft clouds.
    canvas.fill(0.0, 0.0, width as f32, horizon, |x, y| {
        let t = y / horizon;
        let base = mix([95.0, 145.0, 210.0], [200.0, 215.0, 232.0], t);
        let cloud = smoothstep(
            0.52,
            0.78,
            fbm(x / (700.0 * s), y / (260.0 * s), noise_seed, 5),
        );
        mix(base, [238.0, 240.0, 244.0], cloud * 0.9)
    });

    // Facades, left to right.
    let mut x0 = -rng.range(0.0, 0.1) * width as f32;
    while x0 < width as f32 {
        let w = rng.range(0.12, 0.32) * width as f32;
        let top = sky_line + rng.range(-0.08, 0.15) * height as f32;
        facade(&mut canvas, &mut rng, x0, top.max(0.0), w, horizon, s);
        x0 += w;
    }

    // Pavement and road.
    let kerb = horizon + (height as f32 - horizon) * rng.range(0.22, 0.35);
    let pave_seed = rng.next() as u32;
    let tile = 90.0 * s;
    canvas.fill(0.0, horizon, width as f32, kerb, |x, y| {
        let depth = 0.4 + 0.6 * (y - horizon) / (kerb - horizon);
        let (u, v) = (x / (tile * depth), (y - horizon) / (tile * 0.45 * depth));
        let grout = (u.fract() < 0.04 || v.fract() < 0.06) as u8 as f32;
        let shade = 172.0
            + 14.0 * fbm(x / (40.0 * s), y / (40.0 * s), pave_seed, 3)
            + 10.0 * hash2(u as i32, v as i32, pave_seed)
            - 55.0 * grout;
        [shade, shade * 0.98, shade * 0.94]
    });
    canvas.fill(0.0, kerb, width as f32, kerb + 22.0 * s, |_, _| {
        [205.0, 203.0, 198.0]
    });
    let road_seed = rng.next() as u32;
    canvas.fill(0.0, kerb + 22.0 * s, width as f32, height as f32, |x, y| {
        let grain = 26.0 * (hash2(x as i32, y as i32, road_seed) - 0.5);
        let gravel = 40.0 * fbm(x / (5.0 * s), y / (5.0 * s), road_seed ^ 7, 2);
        let stain = 30.0 * fbm(x / (300.0 * s), y / (200.0 * s), road_seed ^ 9, 3);
        let v = 62.0 + grain + gravel + stain;
        [v, v, v * 1.04]
    });
    let road_top = kerb + 22.0 * s;
    let lane_y = road_top + (height as f32 - road_top) * 0.45;
    let mut lx = rng.range(0.0, 0.2) * width as f32;
    while lx < width as f32 {
        canvas.fill(lx, lane_y, lx + 260.0 * s, lane_y + 26.0 * s, |x, y| {
            let wear = 40.0 * fbm(x / (8.0 * s), y / (8.0 * s), road_seed ^ 3, 2);
            [215.0 - wear, 212.0 - wear, 200.0 - wear]
        });
        lx += 520.0 * s;
    }
    manhole(
        &mut canvas,
        rng.range(0.25, 0.75) * width as f32,
        road_top + (height as f32 - road_top) * rng.range(0.55, 0.8),
        rng.range(150.0, 230.0) * s,
        s,
        rng.next() as u32,
    );
    for _ in 0..rng.below(4) + 2 {
        crack(&mut canvas, &mut rng, road_top, s);
    }
    pothole(&mut canvas, &mut rng, road_top, s);

    // Trees, a lamp and wires in front of the facades.
    for _ in 0..rng.below(3) + 1 {
        tree(&mut canvas, &mut rng, horizon, kerb, s);
    }
    lamp(
        &mut canvas,
        rng.range(0.1, 0.9) * width as f32,
        horizon,
        kerb,
        s,
    );
    for _ in 0..rng.below(5) + 3 {
        wire(&mut canvas, &mut rng, sky_line, horizon, s);
    }

    // Light: a cast shadow across the ground, and the lens's vignetting.
    let shadow_x = rng.range(0.2, 0.8) * width as f32;
    let slope = rng.range(-0.8, 0.8);
    let (w, h) = (width as f32, height as f32);
    canvas.map(|x, y, p| {
        let shade = if y > horizon && x > shadow_x + (y - horizon) * slope {
            0.62
        } else {
            1.0
        };
        let r2 = ((x / w - 0.5).powi(2) + (y / h - 0.5).powi(2)) * 2.0;
        let k = shade * (1.0 - 0.22 * r2);
        [p[0] * k, p[1] * k, p[2] * k]
    });
    canvas.camera(seed ^ 0xC0FF_EE00)
}

/// One building's front: wall colour and tiles, grime, a grid of windows, an air-conditioner
/// here and there, sometimes a shop sign above the ground floor.
fn facade(c: &mut Canvas, rng: &mut Rng, x0: f32, top: f32, w: f32, bottom: f32, s: f32) {
    const WALLS: [[f32; 3]; 6] = [
        [214.0, 200.0, 178.0],
        [180.0, 178.0, 172.0],
        [168.0, 92.0, 70.0],
        [226.0, 224.0, 218.0],
        [196.0, 170.0, 130.0],
        [150.0, 160.0, 168.0],
    ];
    let wall = WALLS[rng.below(WALLS.len() as u32) as usize];
    let tile = rng.range(18.0, 40.0) * s;
    let seed = rng.next() as u32;
    c.fill(x0, top, x0 + w, bottom, |x, y| {
        let grout = ((x / tile).fract() < 0.08 || (y / (tile * 0.5)).fract() < 0.12) as u8 as f32;
        let grime = fbm(x / (220.0 * s), y / (300.0 * s), seed, 4);
        let k = 0.82 + 0.3 * grime - 0.07 * grout + 0.09 * (hash2(x as i32, y as i32, seed) - 0.5);
        [wall[0] * k, wall[1] * k, wall[2] * k]
    });
    // The building's shaded side.
    c.fill(x0 + w - 14.0 * s, top, x0 + w, bottom, |_, _| {
        [70.0, 68.0, 66.0]
    });

    let (cell_w, cell_h) = (rng.range(150.0, 260.0) * s, rng.range(160.0, 230.0) * s);
    let shop = rng.below(2) == 0;
    let last_floor = if shop { bottom - cell_h * 1.3 } else { bottom };
    let mut y = top + cell_h * 0.3;
    while y + cell_h * 0.7 < last_floor {
        let mut x = x0 + cell_w * 0.25;
        while x + cell_w * 0.6 < x0 + w - 14.0 * s {
            window(c, rng, x, y, cell_w * 0.55, cell_h * 0.6, s);
            if rng.below(5) == 0 {
                let (ax, ay) = (x + cell_w * 0.05, y + cell_h * 0.63);
                c.fill(ax, ay, ax + cell_w * 0.4, ay + cell_h * 0.25, |x, y| {
                    let fins = ((y / (6.0 * s)).fract() < 0.4) as u8 as f32;
                    let v = 222.0 - 30.0 * fins - 10.0 * ((x - ax) / (cell_w * 0.4));
                    [v, v, v - 4.0]
                });
            }
            x += cell_w;
        }
        y += cell_h;
    }
    if shop {
        sign(
            c,
            rng,
            x0 + w * 0.08,
            last_floor + cell_h * 0.1,
            w * 0.8,
            cell_h * 0.45,
            s,
        );
    }
}

/// A window: white frame, glass that mirrors the sky above and is dark below, sometimes a
/// curtain.
fn window(c: &mut Canvas, rng: &mut Rng, x0: f32, y0: f32, w: f32, h: f32, s: f32) {
    let frame = 7.0 * s;
    c.fill(x0, y0, x0 + w, y0 + h, |_, _| [236.0, 236.0, 232.0]);
    let curtain = [
        rng.range(90.0, 220.0),
        rng.range(80.0, 200.0),
        rng.range(70.0, 180.0),
    ];
    let has_curtain = rng.below(3) == 0;
    let seed = rng.next() as u32;
    c.fill(
        x0 + frame,
        y0 + frame,
        x0 + w - frame,
        y0 + h - frame,
        |x, y| {
            let t = (y - y0) / h;
            let mullion = ((x - x0 - w / 2.0).abs() < frame / 2.0) as u8 as f32;
            if has_curtain && (x - x0) < w * 0.45 {
                let fold = 0.85 + 0.15 * ((x - x0) / (9.0 * s)).sin();
                return [curtain[0] * fold, curtain[1] * fold, curtain[2] * fold];
            }
            let reflect = mix([150.0, 175.0, 200.0], [35.0, 40.0, 48.0], t.powf(0.7));
            let n = 20.0 * fbm(x / (30.0 * s), y / (30.0 * s), seed, 2);
            let glass = [reflect[0] + n, reflect[1] + n, reflect[2] + n];
            mix(glass, [236.0, 236.0, 232.0], mullion)
        },
    );
}

/// A shop sign: a red or blue board with rows of white characters (strokes in cells).
fn sign(c: &mut Canvas, rng: &mut Rng, x0: f32, y0: f32, w: f32, h: f32, s: f32) {
    let board = if rng.below(2) == 0 {
        [190.0, 28.0, 32.0]
    } else {
        [22.0, 64.0, 160.0]
    };
    c.fill(x0, y0, x0 + w, y0 + h, |_, _| board);
    let cell = h * 0.62;
    let stroke = (cell * 0.1).max(2.0 * s);
    let mut cx = x0 + cell * 0.4;
    while cx + cell < x0 + w - cell * 0.3 {
        for _ in 0..rng.below(4) + 3 {
            let horizontal = rng.below(2) == 0;
            let (a, b) = (rng.range(0.0, 0.8), rng.range(0.1, 0.9));
            let (sx, sy) = (cx + a * cell, y0 + h * 0.19 + b * cell * 0.85);
            let (ex, ey) = if horizontal {
                (sx + rng.range(0.3, 0.9) * cell * (1.0 - a), sy + stroke)
            } else {
                (sx + stroke, sy + rng.range(0.3, 0.8) * cell)
            };
            c.fill(sx, sy, ex, ey.min(y0 + h - cell * 0.1), |_, _| {
                [250.0, 248.0, 240.0]
            });
        }
        cx += cell * 1.15;
    }
}

/// A manhole cover seen at an angle: a rim, a raised grid and rust.
fn manhole(c: &mut Canvas, cx: f32, cy: f32, r: f32, s: f32, seed: u32) {
    c.fill(cx - r, cy - r * 0.5, cx + r, cy + r * 0.5, |x, y| {
        let (dx, dy) = ((x - cx) / r, (y - cy) / (r * 0.5));
        let d = (dx * dx + dy * dy).sqrt();
        if d > 1.0 {
            return [f32::NAN; 3]; // outside: keep the road
        }
        let rim = (d > 0.88) as u8 as f32;
        let grid = (((x - cx) / (22.0 * s)).fract().abs() < 0.25
            || ((y - cy) / (11.0 * s)).fract().abs() < 0.25) as u8 as f32;
        let rust = fbm(x / (25.0 * s), y / (25.0 * s), seed, 3);
        let v = 58.0 + 40.0 * rim + 28.0 * grid;
        [v + 40.0 * rust, v + 18.0 * rust, v]
    });
}

/// A dark crack wandering across the road.
fn crack(c: &mut Canvas, rng: &mut Rng, road_top: f32, s: f32) {
    let (w, h) = (c.width as f32, c.height as f32);
    let (mut x, mut y) = (rng.range(0.0, w), rng.range(road_top, h));
    let mut angle = rng.range(0.0, std::f32::consts::TAU);
    for _ in 0..rng.below(300) + 200 {
        angle += rng.range(-0.5, 0.5);
        x += angle.cos() * 4.0 * s;
        y += angle.sin() * 4.0 * s;
        let r = 2.5 * s;
        c.fill(x - r, y - r, x + r, y + r, |_, _| [28.0, 27.0, 26.0]);
    }
}

/// A pothole: a dark, wet, gravelly hollow.
fn pothole(c: &mut Canvas, rng: &mut Rng, road_top: f32, s: f32) {
    let (w, h) = (c.width as f32, c.height as f32);
    let (cx, cy) = (
        rng.range(0.1, 0.9) * w,
        rng.range(road_top + 0.1 * (h - road_top), h),
    );
    let r = rng.range(120.0, 220.0) * s;
    let seed = rng.next() as u32;
    c.fill(
        cx - r * 1.3,
        cy - r * 0.7,
        cx + r * 1.3,
        cy + r * 0.7,
        |x, y| {
            let (dx, dy) = ((x - cx) / r, (y - cy) / (r * 0.5));
            let edge = 1.0 + 0.3 * (fbm(x / (40.0 * s), y / (40.0 * s), seed, 3) - 0.5);
            if (dx * dx + dy * dy).sqrt() > edge {
                return [f32::NAN; 3];
            }
            let stones = 45.0 * fbm(x / (6.0 * s), y / (6.0 * s), seed ^ 5, 2);
            [30.0 + stones, 28.0 + stones, 26.0 + stones]
        },
    );
}

/// A street tree: a trunk and an irregular canopy of leaves in light and shade.
fn tree(c: &mut Canvas, rng: &mut Rng, horizon: f32, kerb: f32, s: f32) {
    let w = c.width as f32;
    let (tx, base) = (rng.range(0.05, 0.95) * w, rng.range(horizon, kerb));
    let r = rng.range(350.0, 650.0) * s;
    let trunk = 40.0 * s;
    let seed = rng.next() as u32;
    c.fill(tx - trunk, base - r * 1.6, tx + trunk, base, |x, y| {
        let bark = 30.0 * fbm(x / (6.0 * s), y / (30.0 * s), seed, 3);
        [90.0 + bark, 70.0 + bark, 52.0 + bark]
    });
    let (cx, cy) = (tx, base - r * 1.6);
    c.fill(cx - r * 1.2, cy - r, cx + r * 1.2, cy + r * 0.9, |x, y| {
        let (dx, dy) = ((x - cx) / (r * 1.2), (y - cy) / r);
        let edge = 0.75 + 0.5 * fbm(x / (120.0 * s), y / (120.0 * s), seed ^ 1, 4);
        if (dx * dx + dy * dy).sqrt() > edge {
            return [f32::NAN; 3];
        }
        let leaves = fbm(x / (7.0 * s), y / (7.0 * s), seed ^ 2, 3).powf(1.5) * 1.6;
        let light = fbm(x / (90.0 * s), y / (90.0 * s), seed ^ 3, 3) - dy * 0.3;
        let k = (0.35 + 0.9 * leaves * light.clamp(0.2, 1.2)).min(1.3);
        [55.0 * k + 10.0, 105.0 * k + 12.0, 42.0 * k + 6.0]
    });
}

/// A street lamp: a grey pole and its head.
fn lamp(c: &mut Canvas, x: f32, horizon: f32, kerb: f32, s: f32) {
    let top = horizon - (kerb - horizon) * 2.5;
    c.fill(x - 12.0 * s, top, x + 12.0 * s, kerb, |px, _| {
        let round = 1.0 - ((px - x) / (12.0 * s)).powi(2) * 0.4;
        [120.0 * round, 124.0 * round, 128.0 * round]
    });
    c.fill(x - 12.0 * s, top, x + 160.0 * s, top + 18.0 * s, |_, _| {
        [110.0, 112.0, 116.0]
    });
    c.fill(
        x + 100.0 * s,
        top + 18.0 * s,
        x + 170.0 * s,
        top + 40.0 * s,
        |_, _| [230.0, 226.0, 200.0],
    );
}

/// An overhead wire sagging between two points, about 3 px thick at 12 MP.
fn wire(c: &mut Canvas, rng: &mut Rng, sky_line: f32, horizon: f32, s: f32) {
    let w = c.width as f32;
    let (y0, y1) = (
        rng.range(sky_line * 0.3, horizon * 0.8),
        rng.range(sky_line * 0.3, horizon * 0.8),
    );
    let sag = rng.range(20.0, 160.0) * s;
    let half = 1.6 * s;
    for xi in 0..c.width {
        let t = xi as f32 / w;
        let y = y0 + (y1 - y0) * t + sag * 4.0 * t * (1.0 - t);
        c.fill(xi as f32, y - half, xi as f32 + 1.0, y + half, |_, _| {
            [34.0, 34.0, 36.0]
        });
    }
}

/// A picture being drawn, in floating-point RGB.
struct Canvas {
    width: u32,
    height: u32,
    px: Vec<[f32; 3]>,
}

impl Canvas {
    fn new(width: u32, height: u32) -> Canvas {
        Canvas {
            width,
            height,
            px: vec![[0.0; 3]; width as usize * height as usize],
        }
    }

    /// Paints the rectangle [x0, x1) × [y0, y1) (clipped) with `paint(x, y)`; a NaN colour
    /// leaves the pixel as it was (for round shapes).
    fn fill(
        &mut self,
        x0: f32,
        y0: f32,
        x1: f32,
        y1: f32,
        paint: impl Fn(f32, f32) -> [f32; 3] + Sync,
    ) {
        let clip = |v: f32, max: u32| (v.max(0.0) as u32).min(max) as usize;
        let (x0, x1) = (clip(x0, self.width), clip(x1, self.width));
        let (y0, y1) = (clip(y0, self.height), clip(y1, self.height));
        if x0 >= x1 || y0 >= y1 {
            return;
        }
        let w = self.width as usize;
        self.px[y0 * w..y1 * w]
            .par_chunks_mut(w)
            .enumerate()
            .for_each(|(i, row)| {
                let y = (y0 + i) as f32 + 0.5;
                for (x, p) in row.iter_mut().enumerate().take(x1).skip(x0) {
                    let c = paint(x as f32 + 0.5, y);
                    if !c[0].is_nan() {
                        *p = c;
                    }
                }
            });
    }

    /// Replaces every pixel by `f(x, y, pixel)`.
    fn map(&mut self, f: impl Fn(f32, f32, [f32; 3]) -> [f32; 3] + Sync) {
        let w = self.width as usize;
        self.px.par_chunks_mut(w).enumerate().for_each(|(y, row)| {
            for (x, p) in row.iter_mut().enumerate() {
                *p = f(x as f32 + 0.5, y as f32 + 0.5, *p);
            }
        });
    }

    /// What the camera makes of the scene: a slight lens blur (1-2-1 both ways), then sensor
    /// noise whose strength grows with the light (shot noise) above a floor (read noise),
    /// mostly in luma, as a phone's processing leaves it; rounded to 8-bit RGB.
    fn camera(self, seed: u64) -> Vec<u8> {
        let (w, h) = (self.width as usize, self.height as usize);
        let blur_rows: Vec<[f32; 3]> = self
            .px
            .par_chunks(w)
            .flat_map_iter(|row| {
                (0..w).map(move |x| {
                    let (l, r) = (row[x.saturating_sub(1)], row[(x + 1).min(w - 1)]);
                    std::array::from_fn(|c| (l[c] + 2.0 * row[x][c] + r[c]) / 4.0)
                })
            })
            .collect();
        let mut out = vec![0u8; w * h * 3];
        out.par_chunks_mut(w * 3).enumerate().for_each(|(y, row)| {
            let mut rng = Rng::new(seed ^ (y as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let (up, down) = (y.saturating_sub(1) * w, (y + 1).min(h - 1) * w);
            for x in 0..w {
                let p: [f32; 3] = std::array::from_fn(|c| {
                    (blur_rows[up + x][c] + 2.0 * blur_rows[y * w + x][c] + blur_rows[down + x][c])
                        / 4.0
                });
                let luma = 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
                let sigma = (0.16 * luma.max(0.0) + 2.0).sqrt();
                let shared = rng.gauss() * sigma;
                for c in 0..3 {
                    let v = p[c] + shared + rng.gauss() * sigma * 0.35;
                    row[x * 3 + c] = v.round().clamp(0.0, 255.0) as u8;
                }
            }
        });
        out
    }
}

/// xorshift64*: small, fast and reproducible; quality enough for pictures.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x2545_F491_4F6C_DD1D) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [lo, hi).
    fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * ((self.next() >> 40) as f32 / (1u64 << 24) as f32)
    }

    /// Uniform in 0..n.
    fn below(&mut self, n: u32) -> u32 {
        ((self.next() >> 32) % u64::from(n)) as u32
    }

    /// Standard normal (Box-Muller).
    fn gauss(&mut self) -> f32 {
        let u = self.range(1e-6, 1.0);
        let v = self.range(0.0, 1.0);
        (-2.0 * u.ln()).sqrt() * (std::f32::consts::TAU * v).cos()
    }
}

fn mix(a: [f32; 3], b: [f32; 3], t: f32) -> [f32; 3] {
    std::array::from_fn(|c| a[c] + (b[c] - a[c]) * t)
}

fn smoothstep(lo: f32, hi: f32, v: f32) -> f32 {
    let t = ((v - lo) / (hi - lo)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// A hash of a lattice point, uniform in [0, 1).
fn hash2(x: i32, y: i32, seed: u32) -> f32 {
    let mut h = (x as u32).wrapping_mul(0x8DA6_B343)
        ^ (y as u32).wrapping_mul(0xD816_3841)
        ^ seed.wrapping_mul(0xCB1A_B31F);
    h ^= h >> 13;
    h = h.wrapping_mul(0x5BD1_E995);
    h ^= h >> 15;
    (h >> 8) as f32 / (1u32 << 24) as f32
}

/// Smooth value noise in [0, 1): the lattice hashes, blended with a smoothstep.
fn value_noise(x: f32, y: f32, seed: u32) -> f32 {
    let (xi, yi) = (x.floor(), y.floor());
    let (fx, fy) = (x - xi, y - yi);
    let (u, v) = (fx * fx * (3.0 - 2.0 * fx), fy * fy * (3.0 - 2.0 * fy));
    let (xi, yi) = (xi as i32, yi as i32);
    let a = hash2(xi, yi, seed) + (hash2(xi + 1, yi, seed) - hash2(xi, yi, seed)) * u;
    let b = hash2(xi, yi + 1, seed) + (hash2(xi + 1, yi + 1, seed) - hash2(xi, yi + 1, seed)) * u;
    a + (b - a) * v
}

/// Fractal noise in about [0, 1): `octaves` of value noise, each twice as fine and half as
/// strong as the last.
fn fbm(x: f32, y: f32, seed: u32, octaves: u32) -> f32 {
    let (mut sum, mut amp, mut norm, mut f) = (0.0, 1.0, 0.0, 1.0);
    for o in 0..octaves {
        sum += amp * value_noise(x * f, y * f, seed.wrapping_add(o * 1013));
        norm += amp;
        amp *= 0.5;
        f *= 2.0;
    }
    sum / norm
}
