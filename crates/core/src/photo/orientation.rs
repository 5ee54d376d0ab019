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
        if self == Orientation::Normal {
            return (rgb, width, height);
        }
        let (w, h) = (width as usize, height as usize);
        let (ow, oh) = if self.swaps_sides() { (h, w) } else { (w, h) };
        let mut out = vec![0u8; rgb.len()];
        // For each upright pixel (x, y), the stored pixel it comes from.
        let source = |x: usize, y: usize| -> (usize, usize) {
            match self {
                Orientation::Normal => (x, y),
                Orientation::FlipH => (w - 1 - x, y),
                Orientation::Rotate180 => (w - 1 - x, h - 1 - y),
                Orientation::FlipV => (x, h - 1 - y),
                Orientation::Transpose => (y, x),
                Orientation::Rotate90 => (y, h - 1 - x),
                Orientation::Transverse => (w - 1 - y, h - 1 - x),
                Orientation::Rotate270 => (w - 1 - y, x),
            }
        };
        for (y, row) in out.chunks_exact_mut(ow * 3).enumerate() {
            for (x, px) in row.chunks_exact_mut(3).enumerate() {
                let (sx, sy) = source(x, y);
                let i = (sy * w + sx) * 3;
                px.copy_from_slice(&rgb[i..i + 3]);
            }
        }
        (out, ow as u32, oh as u32)
    }
}
