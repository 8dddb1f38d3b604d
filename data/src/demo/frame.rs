//! Local metric frames. A town is laid out in metres on an axis-aligned plan
//! (streets along x and y) and then rotated and placed on WGS84 around its
//! centre, so streets and buildings come out as rotated rectangles. Every
//! vertex goes through the same function, so equal plan points give equal
//! coordinates and shared edges stay shared.

use geo_types::{Coord, LineString, MultiPolygon, Point, Polygon};

/// Metres per degree of latitude near 37° N.
const M_PER_DEG_LAT: f64 = 110_950.0;

/// An axis-aligned rectangle of the plan, in metres.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Rect {
    pub x0: f64,
    pub y0: f64,
    pub x1: f64,
    pub y1: f64,
}

impl Rect {
    pub fn new(x0: f64, y0: f64, x1: f64, y1: f64) -> Self {
        Self { x0, y0, x1, y1 }
    }
    pub fn w(&self) -> f64 {
        self.x1 - self.x0
    }
    pub fn h(&self) -> f64 {
        self.y1 - self.y0
    }
    pub fn cx(&self) -> f64 {
        (self.x0 + self.x1) / 2.0
    }
    pub fn cy(&self) -> f64 {
        (self.y0 + self.y1) / 2.0
    }
    pub fn inset(&self, d: f64) -> Rect {
        let dx = d.min(self.w() / 3.0);
        let dy = d.min(self.h() / 3.0);
        Rect::new(self.x0 + dx, self.y0 + dy, self.x1 - dx, self.y1 - dy)
    }
    pub fn corners(&self) -> [(f64, f64); 4] {
        [
            (self.x0, self.y0),
            (self.x1, self.y0),
            (self.x1, self.y1),
            (self.x0, self.y1),
        ]
    }
}

/// The counter-clockwise closed ring of `r`, with every point of `extra`
/// that lies strictly inside one of its edges inserted in order (so a
/// neighbour's corner on this edge — a T-junction — becomes a shared vertex).
pub(crate) fn ring(r: &Rect, extra: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(5);
    let edge = |pts: &mut Vec<(f64, f64)>,
                start: (f64, f64),
                on: &dyn Fn(&(f64, f64)) -> bool,
                key: &dyn Fn(&(f64, f64)) -> f64| {
        pts.push(start);
        let mut mid: Vec<(f64, f64)> = extra.iter().copied().filter(|p| on(p)).collect();
        mid.sort_by(|a, b| key(a).total_cmp(&key(b)));
        mid.dedup();
        pts.extend(mid);
    };
    let (x0, y0, x1, y1) = (r.x0, r.y0, r.x1, r.y1);
    edge(
        &mut out,
        (x0, y0),
        &|p| p.1 == y0 && p.0 > x0 && p.0 < x1,
        &|p| p.0,
    );
    edge(
        &mut out,
        (x1, y0),
        &|p| p.0 == x1 && p.1 > y0 && p.1 < y1,
        &|p| p.1,
    );
    edge(
        &mut out,
        (x1, y1),
        &|p| p.1 == y1 && p.0 > x0 && p.0 < x1,
        &|p| -p.0,
    );
    edge(
        &mut out,
        (x0, y1),
        &|p| p.0 == x0 && p.1 > y0 && p.1 < y1,
        &|p| -p.1,
    );
    out.push((x0, y0));
    out
}

/// Places a town plan on WGS84: plan point (x, y) in metres is rotated by
/// `rot` around the plan centre, which lands on (`lon_c`, `lat_c`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Frame {
    lon_c: f64,
    lat_c: f64,
    cx: f64,
    cy: f64,
    cos: f64,
    sin: f64,
    m_per_deg_lon: f64,
}

impl Frame {
    pub fn new(lon_c: f64, lat_c: f64, plan_cx: f64, plan_cy: f64, rot_deg: f64) -> Self {
        let r = rot_deg.to_radians();
        Self {
            lon_c,
            lat_c,
            cx: plan_cx,
            cy: plan_cy,
            cos: r.cos(),
            sin: r.sin(),
            m_per_deg_lon: M_PER_DEG_LAT * 1.000_5 * lat_c.to_radians().cos(),
        }
    }

    /// Metres per degree of longitude at the town's latitude.
    pub fn m_per_deg_lon(&self) -> f64 {
        self.m_per_deg_lon
    }

    /// WGS84 of plan point (x, y).
    pub fn coord(&self, x: f64, y: f64) -> Coord<f64> {
        let dx = x - self.cx;
        let dy = y - self.cy;
        let e = dx * self.cos - dy * self.sin;
        let n = dx * self.sin + dy * self.cos;
        Coord {
            x: self.lon_c + e / self.m_per_deg_lon,
            y: self.lat_c + n / M_PER_DEG_LAT,
        }
    }

    pub fn point(&self, x: f64, y: f64) -> Point<f64> {
        Point(self.coord(x, y))
    }

    pub fn line(&self, pts: &[(f64, f64)]) -> LineString<f64> {
        LineString(pts.iter().map(|p| self.coord(p.0, p.1)).collect())
    }

    pub fn polygon(&self, ring: &[(f64, f64)]) -> Polygon<f64> {
        Polygon::new(self.line(ring), vec![])
    }

    pub fn rect(&self, r: &Rect) -> Polygon<f64> {
        self.polygon(&ring(r, &[]))
    }

    pub fn multi(&self, ring: &[(f64, f64)]) -> MultiPolygon<f64> {
        MultiPolygon(vec![self.polygon(ring)])
    }

    /// A rectangle of `len` × `depth` metres centred on (cx, cy), its long
    /// side turned by `angle_deg` from the plan's x axis.
    pub fn footprint(
        &self,
        cx: f64,
        cy: f64,
        len: f64,
        depth: f64,
        angle_deg: f64,
    ) -> Polygon<f64> {
        let pts = rotated_rect(cx, cy, len, depth, angle_deg);
        self.polygon(&pts)
    }
}

/// Corners (closed ring, counter-clockwise) of a rotated rectangle.
pub(crate) fn rotated_rect(
    cx: f64,
    cy: f64,
    len: f64,
    depth: f64,
    angle_deg: f64,
) -> Vec<(f64, f64)> {
    let (s, c) = angle_deg.to_radians().sin_cos();
    let (hl, hd) = (len / 2.0, depth / 2.0);
    let corner = |u: f64, v: f64| (cx + u * c - v * s, cy + u * s + v * c);
    vec![
        corner(-hl, -hd),
        corner(hl, -hd),
        corner(hl, hd),
        corner(-hl, hd),
        corner(-hl, -hd),
    ]
}

/// Rotates plan offset (u, v) by `angle_deg` and adds it to (cx, cy).
pub(crate) fn offset(cx: f64, cy: f64, u: f64, v: f64, angle_deg: f64) -> (f64, f64) {
    let (s, c) = angle_deg.to_radians().sin_cos();
    (cx + u * c - v * s, cy + u * s + v * c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_inserts_t_junctions_in_order() {
        let r = Rect::new(0.0, 0.0, 10.0, 10.0);
        let pts = ring(
            &r,
            &[(4.0, 0.0), (2.0, 0.0), (10.0, 5.0), (5.0, 5.0), (0.0, 0.0)],
        );
        assert_eq!(
            pts,
            vec![
                (0.0, 0.0),
                (2.0, 0.0),
                (4.0, 0.0),
                (10.0, 0.0),
                (10.0, 5.0),
                (10.0, 10.0),
                (0.0, 10.0),
                (0.0, 0.0)
            ]
        );
    }

    #[test]
    fn frame_scale_is_metric() {
        let f = Frame::new(116.64, 36.93, 0.0, 0.0, 0.0);
        let a = f.coord(0.0, 0.0);
        let b = f.coord(1000.0, 1000.0);
        assert!((a.x - 116.64).abs() < 1e-12 && (a.y - 36.93).abs() < 1e-12);
        // 1 km east is ~0.0112°, 1 km north ~0.0090° at this latitude.
        assert!((b.x - a.x - 0.01124).abs() < 2e-4, "{}", b.x - a.x);
        assert!((b.y - a.y - 0.00901).abs() < 1e-4, "{}", b.y - a.y);
    }
}
