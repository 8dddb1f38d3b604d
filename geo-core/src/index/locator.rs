//! [`AreaLocator`]: answers "which area contains this point" for a whole
//! layer, mostly without any polygon test.

use std::sync::Arc;

use geo_types::Coord;

use super::{ElementRef, PreparedArea};

const EMPTY: u32 = u32::MAX;
const FULL: u32 = 1 << 31;
/// Raster cells per area: ~16×16 cells per grid polygon leaves roughly a
/// fifth of the cells on a boundary.
const CELLS_PER_AREA: usize = 256;
const MAX_CELLS: usize = 1 << 22;

/// A uniform raster over the layer's bounding box. Each cell is either empty,
/// wholly inside one area (answered with no polygon test), or lists the
/// candidate areas whose boundary crosses it, tested with
/// [`PreparedArea::contains`]. Where areas overlap, the one with the smallest
/// planar area wins (ties by insertion order), the same rule as
/// [`super::SpatialIndex::grids_at`].
#[derive(Debug, Clone)]
pub struct AreaLocator {
    ids: Vec<ElementRef>,
    /// Owned copies, contiguous, to save a pointer hop per test.
    areas: Vec<PreparedArea>,
    x0: f64,
    y0: f64,
    inv_cw: f64,
    inv_ch: f64,
    nx: usize,
    ny: usize,
    /// `EMPTY`, `FULL | rank`, or the start in `entries` of a mixed cell's
    /// list: a count followed by that many ranks (`FULL` set when the cell
    /// lies wholly inside that area).
    cells: Vec<u32>,
    entries: Vec<u32>,
}

/// Shape of a built [`AreaLocator`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocatorStats {
    /// Raster columns × rows.
    pub cells: usize,
    /// Cells answered without a polygon test (inside one area or empty).
    pub direct_cells: usize,
    /// Cells needing a polygon test.
    pub mixed_cells: usize,
    /// Candidate entries over all mixed cells.
    pub entries: usize,
}

impl AreaLocator {
    /// Builds the locator. Areas are ranked by planar area (smallest first),
    /// then by their position in `items`.
    pub fn new(items: Vec<(ElementRef, Arc<PreparedArea>)>) -> Self {
        let mut items = items;
        items.sort_by(|a, b| a.1.planar_area().total_cmp(&b.1.planar_area()));
        let (ids, areas): (Vec<_>, Vec<_>) = items
            .into_iter()
            .map(|(id, a)| (id, PreparedArea::clone(&a)))
            .unzip();
        let mut min = Coord {
            x: f64::INFINITY,
            y: f64::INFINITY,
        };
        let mut max = Coord {
            x: f64::NEG_INFINITY,
            y: f64::NEG_INFINITY,
        };
        for a in &areas {
            let r = a.bounding_rect();
            min.x = min.x.min(r.min().x);
            min.y = min.y.min(r.min().y);
            max.x = max.x.max(r.max().x);
            max.y = max.y.max(r.max().y);
        }
        let (w, h) = (max.x - min.x, max.y - min.y);
        if areas.is_empty() || !(w > 0.0 && h > 0.0) {
            return Self {
                ids,
                areas,
                x0: 0.0,
                y0: 0.0,
                inv_cw: 0.0,
                inv_ch: 0.0,
                nx: 0,
                ny: 0,
                cells: Vec::new(),
                entries: Vec::new(),
            };
        }
        let target = (areas.len() * CELLS_PER_AREA).clamp(1024, MAX_CELLS) as f64;
        let nx = ((target * w / h).sqrt().ceil() as usize).clamp(1, 1 << 14);
        let ny = ((target / nx as f64).ceil() as usize).clamp(1, 1 << 14);
        let (cw, ch) = (w / nx as f64, h / ny as f64);
        let (inv_cw, inv_ch) = (nx as f64 / w, ny as f64 / h);
        // Classification rectangles are widened a little so that a point
        // mapped to a cell by floating-point division always lies inside it.
        let (mx, my) = (cw * 1e-6, ch * 1e-6);
        let cell_of = |v: f64, v0: f64, inv: f64, n: usize| -> usize {
            let f = (v - v0) * inv;
            if f <= 0.0 {
                0
            } else {
                (f as usize).min(n - 1)
            }
        };

        let mut pairs: Vec<(u32, u32)> = Vec::new();
        let mut touched: Vec<bool> = Vec::new();
        for (i, area) in areas.iter().enumerate() {
            let r = area.bounding_rect();
            let (cx0, cx1) = (
                cell_of(r.min().x - mx, min.x, inv_cw, nx),
                cell_of(r.max().x + mx, min.x, inv_cw, nx),
            );
            let (cy0, cy1) = (
                cell_of(r.min().y - my, min.y, inv_ch, ny),
                cell_of(r.max().y + my, min.y, inv_ch, ny),
            );
            let bw = cx1 - cx0 + 1;
            touched.clear();
            touched.resize(bw * (cy1 - cy0 + 1), false);
            for (a, b) in area.edge_coords() {
                let ex0 = cell_of(a.x.min(b.x) - mx, min.x, inv_cw, nx).max(cx0);
                let ex1 = cell_of(a.x.max(b.x) + mx, min.x, inv_cw, nx).min(cx1);
                let ey0 = cell_of(a.y.min(b.y) - my, min.y, inv_ch, ny).max(cy0);
                let ey1 = cell_of(a.y.max(b.y) + my, min.y, inv_ch, ny).min(cy1);
                for cy in ey0..=ey1 {
                    for cx in ex0..=ex1 {
                        let lo = Coord {
                            x: min.x + cx as f64 * cw - mx,
                            y: min.y + cy as f64 * ch - my,
                        };
                        let hi = Coord {
                            x: min.x + (cx + 1) as f64 * cw + mx,
                            y: min.y + (cy + 1) as f64 * ch + my,
                        };
                        if super::prepared::segment_touches_rect(a, b, lo, hi) {
                            touched[(cy - cy0) * bw + (cx - cx0)] = true;
                        }
                    }
                }
            }
            let i = i as u32;
            for cy in cy0..=cy1 {
                for cx in cx0..=cx1 {
                    let cell = (cy * nx + cx) as u32;
                    if touched[(cy - cy0) * bw + (cx - cx0)] {
                        pairs.push((cell, i));
                    } else {
                        let centre = Coord {
                            x: min.x + (cx as f64 + 0.5) * cw,
                            y: min.y + (cy as f64 + 0.5) * ch,
                        };
                        if area.contains(centre) {
                            pairs.push((cell, i | FULL));
                        }
                    }
                }
            }
        }
        pairs.sort_unstable_by_key(|&(c, e)| (c, e & !FULL));

        let mut cells = vec![EMPTY; nx * ny];
        let mut entries: Vec<u32> = Vec::new();
        let mut k = 0;
        while k < pairs.len() {
            let cell = pairs[k].0;
            let mut end = k;
            while end < pairs.len() && pairs[end].0 == cell {
                end += 1;
            }
            let first = pairs[k].1;
            cells[cell as usize] = if first & FULL != 0 {
                first
            } else {
                let start = entries.len();
                entries.push(0);
                for &(_, e) in &pairs[k..end] {
                    entries.push(e);
                    if e & FULL != 0 {
                        break;
                    }
                }
                entries[start] = (entries.len() - start - 1) as u32;
                start as u32
            };
            k = end;
        }
        Self {
            ids,
            areas,
            x0: min.x,
            y0: min.y,
            inv_cw,
            inv_ch,
            nx,
            ny,
            cells,
            entries,
        }
    }

    /// The area containing `c` (the smallest one where areas overlap).
    #[inline]
    pub fn locate(&self, c: Coord<f64>) -> Option<ElementRef> {
        self.locate_index(c).map(|i| self.ids[i])
    }

    /// Like [`AreaLocator::locate`], returning the area's rank (smallest area
    /// first) instead of its reference.
    #[inline]
    pub fn locate_index(&self, c: Coord<f64>) -> Option<usize> {
        let fx = (c.x - self.x0) * self.inv_cw;
        let fy = (c.y - self.y0) * self.inv_ch;
        if !(fx >= 0.0 && fy >= 0.0 && fx < self.nx as f64 && fy < self.ny as f64) {
            return None;
        }
        let v = self.cells[fy as usize * self.nx + fx as usize];
        if v & FULL != 0 {
            return if v == EMPTY {
                None
            } else {
                Some((v & !FULL) as usize)
            };
        }
        let start = v as usize + 1;
        let n = self.entries[v as usize] as usize;
        for &e in &self.entries[start..start + n] {
            let i = (e & !FULL) as usize;
            if e & FULL != 0 || self.areas[i].contains(c) {
                return Some(i);
            }
        }
        None
    }

    /// Number of areas.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when the locator holds no area.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Raster statistics.
    pub fn stats(&self) -> LocatorStats {
        let mixed = self.cells.iter().filter(|v| **v & FULL == 0).count();
        LocatorStats {
            cells: self.cells.len(),
            direct_cells: self.cells.len() - mixed,
            mixed_cells: mixed,
            entries: self.entries.len() - mixed,
        }
    }
}
