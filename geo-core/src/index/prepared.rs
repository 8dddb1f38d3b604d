//! [`PreparedArea`]: a (multi)polygon prepared for fast point-in-polygon
//! tests with a fixed tie rule, so that polygons tiling an area give every
//! point to exactly one of them.

use geo_types::{Coord, MultiPolygon, Polygon, Rect};

/// One edge with its endpoints ordered by y (`y0 < y1`), so the crossing test
/// computes the same thing whichever polygon the edge belongs to.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Edge {
    x0: f64,
    y0: f64,
    x1: f64,
    y1: f64,
}

impl Edge {
    /// True when the ray from `(x, y)` towards +x crosses this edge: the edge
    /// spans `y` half-open (`y0 <= y < y1`) and the point is strictly left
    /// of it.
    #[inline(always)]
    fn crosses(&self, x: f64, y: f64) -> bool {
        self.y0 <= y
            && y < self.y1
            && (self.x1 - self.x0) * (y - self.y0) - (self.y1 - self.y0) * (x - self.x0) > 0.0
    }
}

/// A polygonal area prepared for point-in-polygon tests: its non-horizontal
/// edges bucketed into horizontal bands.
///
/// # Tie rule
///
/// Crossing number with half-open edges: a point on a boundary belongs to the
/// polygon lying to its right (+x) for a vertical-ish edge, and to the polygon
/// above it (+y) for a horizontal edge. In other words every polygon is closed
/// on its left/bottom and open on its right/top. Because each edge is
/// normalised by y before the test, the two polygons sharing an edge always
/// decide the same way, so a tiling assigns every point to exactly one tile.
///
/// ```
/// use geo_core::index::PreparedArea;
/// use geo_types::{coord, polygon};
///
/// let left = PreparedArea::from_polygon(&polygon![(x: 0., y: 0.), (x: 1., y: 0.), (x: 1., y: 1.), (x: 0., y: 1.)]);
/// let right = PreparedArea::from_polygon(&polygon![(x: 1., y: 0.), (x: 2., y: 0.), (x: 2., y: 1.), (x: 1., y: 1.)]);
/// let on_edge = coord! { x: 1.0, y: 0.5 };
/// assert!(!left.contains(on_edge) && right.contains(on_edge));
/// ```
#[derive(Debug, Clone)]
pub struct PreparedArea {
    min: Coord<f64>,
    max: Coord<f64>,
    band_inv_h: f64,
    /// `offsets[b]..offsets[b + 1]` indexes `band_edges` for band `b`.
    offsets: Vec<u32>,
    band_edges: Vec<Edge>,
    /// Every edge, for distances.
    edges: Vec<Edge>,
    area: f64,
}

impl PreparedArea {
    /// Prepares a polygon (holes included).
    pub fn from_polygon(p: &Polygon<f64>) -> Self {
        Self::from_rings(polygon_rings(p))
    }

    /// Prepares a multipolygon (all parts and holes; even-odd rule).
    pub fn from_multi_polygon(mp: &MultiPolygon<f64>) -> Self {
        Self::from_rings(mp.0.iter().flat_map(polygon_rings))
    }

    /// Prepares rings given with a flag telling holes from shells.
    fn from_rings<'a>(rings: impl Iterator<Item = (&'a [Coord<f64>], bool)>) -> Self {
        let mut edges = Vec::new();
        let mut min = Coord {
            x: f64::INFINITY,
            y: f64::INFINITY,
        };
        let mut max = Coord {
            x: f64::NEG_INFINITY,
            y: f64::NEG_INFINITY,
        };
        let mut area = 0.0;
        for (ring, hole) in rings {
            let mut twice_area = 0.0;
            for w in ring.windows(2) {
                let (a, b) = (w[0], w[1]);
                min.x = min.x.min(a.x).min(b.x);
                min.y = min.y.min(a.y).min(b.y);
                max.x = max.x.max(a.x).max(b.x);
                max.y = max.y.max(a.y).max(b.y);
                twice_area += a.x * b.y - b.x * a.y;
                let (lo, hi) = if a.y <= b.y { (a, b) } else { (b, a) };
                edges.push(Edge {
                    x0: lo.x,
                    y0: lo.y,
                    x1: hi.x,
                    y1: hi.y,
                });
            }
            // Rings that are not closed are closed here (validation reports
            // them; the index must not crash on them).
            if let (Some(&a), Some(&b)) = (ring.last(), ring.first()) {
                if a != b {
                    twice_area += a.x * b.y - b.x * a.y;
                    let (lo, hi) = if a.y <= b.y { (a, b) } else { (b, a) };
                    edges.push(Edge {
                        x0: lo.x,
                        y0: lo.y,
                        x1: hi.x,
                        y1: hi.y,
                    });
                }
            }
            let ring_area = (twice_area / 2.0_f64).abs();
            area += if hole { -ring_area } else { ring_area };
        }
        let sloped: Vec<Edge> = edges.iter().copied().filter(|e| e.y0 < e.y1).collect();
        let n_bands = (sloped.len() / 2).clamp(1, 4096);
        let height = max.y - min.y;
        let band_inv_h = if height > 0.0 {
            n_bands as f64 / height
        } else {
            0.0
        };
        let band_of = |y: f64| -> usize {
            let b = (y - min.y) * band_inv_h;
            if b <= 0.0 {
                0
            } else {
                (b as usize).min(n_bands - 1)
            }
        };
        let mut counts = vec![0u32; n_bands + 1];
        for e in &sloped {
            for b in band_of(e.y0)..=band_of(e.y1) {
                counts[b + 1] += 1;
            }
        }
        for b in 0..n_bands {
            counts[b + 1] += counts[b];
        }
        let mut fill = counts.clone();
        let mut band_edges = vec![
            Edge {
                x0: 0.0,
                y0: 0.0,
                x1: 0.0,
                y1: 0.0
            };
            counts[n_bands] as usize
        ];
        for e in &sloped {
            for b in band_of(e.y0)..=band_of(e.y1) {
                band_edges[fill[b] as usize] = *e;
                fill[b] += 1;
            }
        }
        Self {
            min,
            max,
            band_inv_h,
            offsets: counts,
            band_edges,
            edges,
            area: area.max(0.0),
        }
    }

    /// True when `c` is inside (see the tie rule above). NaN is never inside.
    #[inline]
    pub fn contains(&self, c: Coord<f64>) -> bool {
        // Half-open bounding box: consistent with the tie rule (nothing is
        // inside at x == max.x or y == max.y).
        if !(c.x >= self.min.x && c.x < self.max.x && c.y >= self.min.y && c.y < self.max.y) {
            return false;
        }
        let n_bands = self.offsets.len() - 1;
        let b = (((c.y - self.min.y) * self.band_inv_h) as usize).min(n_bands - 1);
        let (lo, hi) = (self.offsets[b] as usize, self.offsets[b + 1] as usize);
        let mut inside = false;
        for e in &self.band_edges[lo..hi] {
            if e.crosses(c.x, c.y) {
                inside = !inside;
            }
        }
        inside
    }

    /// Bounding box.
    pub fn bounding_rect(&self) -> Rect<f64> {
        Rect::new(self.min, self.max)
    }

    /// Planar area in squared coordinate units (used to rank overlapping
    /// areas: the smaller, more specific one wins).
    pub fn planar_area(&self) -> f64 {
        self.area
    }

    /// Iterates edges as `((x0, y0), (x1, y1))`.
    pub(crate) fn edge_coords(&self) -> impl Iterator<Item = (Coord<f64>, Coord<f64>)> + '_ {
        self.edges
            .iter()
            .map(|e| (Coord { x: e.x0, y: e.y0 }, Coord { x: e.x1, y: e.y1 }))
    }

    /// Squared distance from `c` to the boundary after scaling x by `kx`,
    /// or 0 when `c` is inside.
    pub(crate) fn distance_2_scaled(&self, c: Coord<f64>, kx: f64) -> f64 {
        if self.contains(c) {
            return 0.0;
        }
        let mut best = f64::INFINITY;
        for e in &self.edges {
            let (ax, ay, bx, by) = (e.x0 * kx, e.y0, e.x1 * kx, e.y1);
            let (px, py) = (c.x * kx, c.y);
            let (dx, dy) = (bx - ax, by - ay);
            let len2 = dx * dx + dy * dy;
            let t = if len2 > 0.0 {
                (((px - ax) * dx + (py - ay) * dy) / len2).clamp(0.0, 1.0)
            } else {
                0.0
            };
            let (qx, qy) = (ax + t * dx - px, ay + t * dy - py);
            best = best.min(qx * qx + qy * qy);
        }
        best
    }
}

fn polygon_rings(p: &Polygon<f64>) -> impl Iterator<Item = (&[Coord<f64>], bool)> {
    std::iter::once((&p.exterior().0[..], false))
        .chain(p.interiors().iter().map(|r| (&r.0[..], true)))
}

/// Conservative segment / closed-rectangle overlap test.
pub(crate) fn segment_touches_rect(
    a: Coord<f64>,
    b: Coord<f64>,
    lo: Coord<f64>,
    hi: Coord<f64>,
) -> bool {
    if a.x.max(b.x) < lo.x || a.x.min(b.x) > hi.x || a.y.max(b.y) < lo.y || a.y.min(b.y) > hi.y {
        return false;
    }
    let side = |x: f64, y: f64| (b.x - a.x) * (y - a.y) - (b.y - a.y) * (x - a.x);
    let s = [
        side(lo.x, lo.y),
        side(hi.x, lo.y),
        side(hi.x, hi.y),
        side(lo.x, hi.y),
    ];
    !(s.iter().all(|v| *v > 0.0) || s.iter().all(|v| *v < 0.0))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use geo_types::{coord, polygon};

    #[test]
    fn square_with_hole() {
        let p = polygon!(
            exterior: [(x: 0., y: 0.), (x: 10., y: 0.), (x: 10., y: 10.), (x: 0., y: 10.)],
            interiors: [[(x: 4., y: 4.), (x: 6., y: 4.), (x: 6., y: 6.), (x: 4., y: 6.)]],
        );
        let a = PreparedArea::from_polygon(&p);
        assert!(a.contains(coord! {x: 1., y: 1.}));
        assert!(!a.contains(coord! {x: 5., y: 5.}));
        assert!(!a.contains(coord! {x: 11., y: 5.}));
        assert!(!a.contains(coord! {x: f64::NAN, y: 5.}));
        // Closed left/bottom, open right/top.
        assert!(a.contains(coord! {x: 0., y: 0.}));
        assert!(!a.contains(coord! {x: 10., y: 5.}));
        assert!(!a.contains(coord! {x: 5., y: 10.}));
        assert_eq!(a.planar_area(), 96.0);
    }

    #[test]
    fn agrees_with_geo_away_from_edges() {
        use geo::Contains;
        let p = polygon![(x: 0., y: 0.), (x: 7., y: 1.), (x: 9., y: 8.), (x: 4., y: 3.), (x: 1., y: 9.)];
        let a = PreparedArea::from_polygon(&p);
        for i in 0..100 {
            for j in 0..100 {
                let c = coord! { x: i as f64 * 0.0937 + 0.013, y: j as f64 * 0.0911 + 0.007 };
                assert_eq!(a.contains(c), p.contains(&c), "{c:?}");
            }
        }
    }
}
