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
    pub(crate) fn apply(self, rgb: Vec<u8>, width: u32, height: u32) -> (Vec<u8>, u32, u32) {
        let (w, h) = (width as usize, height as usize);
        let (ow, oh) = if self.swaps_sides() { (h, w) } else { (w, h) };
        // For each upright pixel (x, y), the stored pixel it comes from; one monomorphic copy
        // loop per orientation, so the choice is made once, not per pixel.
        let out = match self {
            Orientation::Normal => return (rgb, width, height),
            Orientation::FlipH => remap(&rgb, w, ow, oh, |x, y| (w - 1 - x, y)),
            Orientation::Rotate180 => remap(&rgb, w, ow, oh, |x, y| (w - 1 - x, h - 1 - y)),
            Orientation::FlipV => remap(&rgb, w, ow, oh, |x, y| (x, h - 1 - y)),
            Orientation::Transpose => remap(&rgb, w, ow, oh, |x, y| (y, x)),
            Orientation::Rotate90 => remap(&rgb, w, ow, oh, |x, y| (y, h - 1 - x)),
            Orientation::Transverse => remap(&rgb, w, ow, oh, |x, y| (w - 1 - y, h - 1 - x)),
            Orientation::Rotate270 => remap(&rgb, w, ow, oh, |x, y| (w - 1 - y, x)),
        };
        (out, ow as u32, oh as u32)
    }
}

/// Output rows per parallel band, and output columns per tile within a band: a 90° turn reads
/// the source by columns, so working in 16 × 64 tiles keeps those reads within a few cache
/// lines per source row instead of one cache miss per pixel.
const BAND_ROWS: usize = 16;
const TILE_COLS: usize = 64;

/// Builds the `ow` × `oh` upright image from the stored `rgb` (`w` pixels a row), taking each
/// upright pixel (x, y) from the stored pixel `source(x, y)`; bands of rows run on all cores.
fn remap(
    rgb: &[u8],
    w: usize,
    ow: usize,
    oh: usize,
    source: impl Fn(usize, usize) -> (usize, usize) + Sync,
) -> Vec<u8> {
    use rayon::prelude::*;
    let mut out = vec![0u8; ow * oh * 3];
    out.par_chunks_mut(ow * 3 * BAND_ROWS)
        .enumerate()
        .for_each(|(band_index, band)| {
            let y0 = band_index * BAND_ROWS;
            for x0 in (0..ow).step_by(TILE_COLS) {
                let x1 = (x0 + TILE_COLS).min(ow);
                for (dy, row) in band.chunks_exact_mut(ow * 3).enumerate() {
                    for x in x0..x1 {
                        let (sx, sy) = source(x, y0 + dy);
                        let i = (sy * w + sx) * 3;
                        row[x * 3..x * 3 + 3].copy_from_slice(&rgb[i..i + 3]);
                    }
                }
            }
        });
    out
}
