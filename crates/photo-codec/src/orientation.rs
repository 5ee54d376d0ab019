//! EXIF orientation: reading the tag and turning pixels upright (all eight values).

use exif::{In, Tag};

/// The EXIF orientation of stored pixels, named by what must be done to show them upright.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Orientation {
    /// 1: already upright.
    Normal,
    /// 2: mirrored left-right.
    FlipH,
    /// 3: upside down.
    Rotate180,
    /// 4: mirrored top-bottom.
    FlipV,
    /// 5: mirrored along the main diagonal.
    Transpose,
    /// 6: must be turned 90° clockwise.
    Rotate90,
    /// 7: mirrored along the other diagonal.
    Transverse,
    /// 8: must be turned 90° counter-clockwise.
    Rotate270,
}

impl Orientation {
    /// The orientation for an EXIF tag value; unknown values count as upright.
    pub fn from_tag(value: u32) -> Orientation {
        match value {
            2 => Orientation::FlipH,
            3 => Orientation::Rotate180,
            4 => Orientation::FlipV,
            5 => Orientation::Transpose,
            6 => Orientation::Rotate90,
            7 => Orientation::Transverse,
            8 => Orientation::Rotate270,
            _ => Orientation::Normal,
        }
    }

    /// Reads the orientation from raw EXIF data (a TIFF structure); unreadable EXIF counts as
    /// upright, since the photo itself is still good evidence.
    pub fn from_exif(tiff: &[u8]) -> Orientation {
        exif::Reader::new()
            .read_raw(tiff.to_vec())
            .ok()
            .and_then(|e| {
                e.get_field(Tag::Orientation, In::PRIMARY)?
                    .value
                    .get_uint(0)
            })
            .map_or(Orientation::Normal, Orientation::from_tag)
    }

    /// Whether turning upright swaps width and height.
    pub fn swaps_sides(self) -> bool {
        matches!(
            self,
            Orientation::Transpose
                | Orientation::Rotate90
                | Orientation::Transverse
                | Orientation::Rotate270
        )
    }

    /// Turns packed RGB pixels of `width` × `height` upright; returns the new pixels and size.
    pub fn apply(self, rgb: Vec<u8>, width: u32, height: u32) -> (Vec<u8>, u32, u32) {
        let (w, h) = (width as isize, height as isize);
        let (ow, oh) = if self.swaps_sides() {
            (height, width)
        } else {
            (width, height)
        };
        // Where upright pixel (x, y) comes from, as stored pixel origin + x·step_x + y·step_y.
        let (origin, step_x, step_y) = match self {
            Orientation::Normal => return (rgb, width, height),
            Orientation::FlipH => (w - 1, -1, w),
            Orientation::Rotate180 => (h * w - 1, -1, -w),
            Orientation::FlipV => ((h - 1) * w, 1, -w),
            Orientation::Transpose => (0, w, 1),
            Orientation::Rotate90 => ((h - 1) * w, -w, 1),
            Orientation::Transverse => (h * w - 1, -w, -1),
            Orientation::Rotate270 => (w - 1, w, -1),
        };
        let walk = Walk {
            origin,
            step_x,
            step_y,
        };
        (remap(&rgb, &walk, ow as usize, oh as usize), ow, oh)
    }
}

/// Where each upright pixel comes from: the stored pixel at index
/// `origin + x·step_x + y·step_y` (in pixels). Each step is ±1 or ± the stored width.
struct Walk {
    origin: isize,
    step_x: isize,
    step_y: isize,
}

/// Side of the square tiles the upright image is made in. A quarter turn reads the stored
/// image by columns; within a 32 × 32 tile those reads stay on 32 stored rows, whose cache
/// lines and pages are then reused for the tile's 32 upright rows.
const TILE: usize = 32;

/// Builds the `ow` × `oh` upright image from the stored `rgb` along `walk`, tile by tile, with
/// bands of tiles on all cores.
fn remap(rgb: &[u8], walk: &Walk, ow: usize, oh: usize) -> Vec<u8> {
    use rayon::prelude::*;
    let (stored, _) = rgb.as_chunks::<3>();
    let mut out = vec![0u8; ow * oh * 3];
    out.par_chunks_mut(ow * 3 * TILE)
        .enumerate()
        .for_each(|(band_index, band)| {
            let y0 = band_index * TILE;
            let (band, _) = band.as_chunks_mut::<3>();
            let rows = band.len() / ow;
            for x0 in (0..ow).step_by(TILE) {
                let x1 = (x0 + TILE).min(ow);
                for dy in 0..rows {
                    let mut from =
                        walk.origin + x0 as isize * walk.step_x + (y0 + dy) as isize * walk.step_y;
                    for pixel in &mut band[dy * ow + x0..dy * ow + x1] {
                        *pixel = stored[from as usize];
                        from += walk.step_x;
                    }
                }
            }
        });
    out
}
