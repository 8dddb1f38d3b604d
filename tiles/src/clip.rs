//! Geometry preparation in tile space: clipping to the buffered tile
//! (Sutherland–Hodgman per polygon ring, Liang–Barsky per line segment),
//! Douglas–Peucker simplification (geo's `Simplify`, epsilon in tile units),
//! rounding to integers and dropping degenerate results.

use fast_mvt::MvtCoord;
use geo::Simplify;
use geo_types::{Coord, LineString};

/// A point in tile space (f64, y down).
pub type P = [f64; 2];

/// Clips a closed ring (first point not repeated) to `[lo, hi]²`.
pub fn clip_ring(ring: &[P], lo: f64, hi: f64) -> Vec<P> {
    let mut out: Vec<P> = ring.to_vec();
    // (axis, bound, keep-when-greater)
    for (axis, bound, keep_ge) in [(0, lo, true), (0, hi, false), (1, lo, true), (1, hi, false)] {
        if out.is_empty() {
            break;
        }
        let inside = |p: &P| {
            if keep_ge {
                p[axis] >= bound
            } else {
                p[axis] <= bound
            }
        };
        let input = std::mem::take(&mut out);
        let mut prev = input[input.len() - 1];
        for &cur in &input {
            let (ci, pi) = (inside(&cur), inside(&prev));
            if ci != pi {
                let t = (bound - prev[axis]) / (cur[axis] - prev[axis]);
                let mut q = [
                    prev[0] + t * (cur[0] - prev[0]),
                    prev[1] + t * (cur[1] - prev[1]),
                ];
                q[axis] = bound;
                out.push(q);
            }
            if ci {
                out.push(cur);
            }
            prev = cur;
        }
    }
    out
}

/// Clips a line to `[lo, hi]²`; returns the pieces inside.
pub fn clip_line(line: &[P], lo: f64, hi: f64) -> Vec<Vec<P>> {
    let mut pieces = Vec::new();
    let mut cur: Vec<P> = Vec::new();
    for w in line.windows(2) {
        let (a, b) = (w[0], w[1]);
        match clip_segment(a, b, lo, hi) {
            Some((p, q, cut_end)) => {
                if cur.last() != Some(&p) {
                    if cur.len() >= 2 {
                        pieces.push(std::mem::take(&mut cur));
                    }
                    cur.clear();
                    cur.push(p);
                }
                cur.push(q);
                if cut_end && cur.len() >= 2 {
                    pieces.push(std::mem::take(&mut cur));
                }
            }
            None => {
                if cur.len() >= 2 {
                    pieces.push(std::mem::take(&mut cur));
                }
                cur.clear();
            }
        }
    }
    if cur.len() >= 2 {
        pieces.push(cur);
    }
    pieces
}

/// Liang–Barsky: the part of segment `a→b` inside the box, and whether `b`
/// was cut off.
fn clip_segment(a: P, b: P, lo: f64, hi: f64) -> Option<(P, P, bool)> {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let (mut t0, mut t1) = (0.0_f64, 1.0_f64);
    for (p, q) in [
        (-dx, a[0] - lo),
        (dx, hi - a[0]),
        (-dy, a[1] - lo),
        (dy, hi - a[1]),
    ] {
        if p == 0.0 {
            if q < 0.0 {
                return None;
            }
        } else {
            let r = q / p;
            if p < 0.0 {
                if r > t1 {
                    return None;
                }
                t0 = t0.max(r);
            } else {
                if r < t0 {
                    return None;
                }
                t1 = t1.min(r);
            }
        }
    }
    let at = |t: f64| [a[0] + t * dx, a[1] + t * dy];
    Some((at(t0), at(t1), t1 < 1.0))
}

fn simplify(points: Vec<P>, eps: f64, closed: bool) -> Vec<P> {
    if eps <= 0.0 || points.len() < 4 {
        return points;
    }
    let mut coords: Vec<Coord<f64>> = points.iter().map(|p| Coord { x: p[0], y: p[1] }).collect();
    if closed {
        coords.push(coords[0]);
    }
    let mut out: Vec<P> = LineString::new(coords)
        .simplify(eps)
        .0
        .into_iter()
        .map(|c| [c.x, c.y])
        .collect();
    if closed {
        out.pop();
    }
    out
}

fn round_dedup(points: &[P]) -> Vec<MvtCoord> {
    let mut out: Vec<MvtCoord> = Vec::with_capacity(points.len());
    for p in points {
        let c = MvtCoord {
            x: p[0].round() as i32,
            y: p[1].round() as i32,
        };
        if out.last() != Some(&c) {
            out.push(c);
        }
    }
    out
}

/// Twice the signed area (surveyor's formula) of a ring in tile coordinates;
/// positive means clockwise on screen (y down), the MVT exterior winding.
pub fn ring_area2(ring: &[MvtCoord]) -> i64 {
    let n = ring.len();
    (0..n)
        .map(|i| {
            let (a, b) = (ring[i], ring[(i + 1) % n]);
            i64::from(a.x) * i64::from(b.y) - i64::from(b.x) * i64::from(a.y)
        })
        .sum()
}

/// Clips, simplifies and rounds a ring; `None` when it degenerates
/// (fewer than 3 distinct points or zero area).
pub fn prepare_ring(ring: &[P], lo: f64, hi: f64, eps: f64) -> Option<Vec<MvtCoord>> {
    let clipped = clip_ring(ring, lo, hi);
    if clipped.len() < 3 {
        return None;
    }
    let mut out = round_dedup(&simplify(clipped, eps, true));
    while out.len() > 1 && out.first() == out.last() {
        out.pop();
    }
    if out.len() < 3 || ring_area2(&out) == 0 {
        return None;
    }
    Some(out)
}

/// Clips, simplifies and rounds a line; drops pieces of fewer than 2 distinct points.
pub fn prepare_line(line: &[P], lo: f64, hi: f64, eps: f64) -> Vec<Vec<MvtCoord>> {
    clip_line(line, lo, hi)
        .into_iter()
        .map(|piece| round_dedup(&simplify(piece, eps, false)))
        .filter(|p| p.len() >= 2)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_clipped_to_box() {
        let sq = [
            [-100.0, -100.0],
            [200.0, -100.0],
            [200.0, 200.0],
            [-100.0, 200.0],
        ];
        let r = prepare_ring(&sq, 0.0, 100.0, 0.0).unwrap();
        assert_eq!(r.len(), 4);
        assert!(r
            .iter()
            .all(|c| (0..=100).contains(&c.x) && (0..=100).contains(&c.y)));
        assert_eq!(ring_area2(&r).abs(), 2 * 100 * 100);
    }

    #[test]
    fn ring_outside_dropped_and_sliver_dropped() {
        let out = [[200.0, 200.0], [300.0, 200.0], [300.0, 300.0]];
        assert!(prepare_ring(&out, 0.0, 100.0, 0.0).is_none());
        let sliver = [[10.0, 10.0], [10.2, 10.1], [10.1, 10.3]];
        assert!(prepare_ring(&sliver, 0.0, 100.0, 0.0).is_none());
    }

    #[test]
    fn line_crossing_box_twice_gives_two_pieces() {
        let l = [
            [-10.0, 10.0],
            [50.0, 10.0],
            [50.0, 200.0],
            [60.0, 200.0],
            [60.0, 20.0],
            [200.0, 20.0],
        ];
        let pieces = prepare_line(&l, 0.0, 100.0, 0.0);
        assert_eq!(pieces.len(), 2, "{pieces:?}");
        assert_eq!(pieces[0][0], MvtCoord { x: 0, y: 10 });
        assert_eq!(pieces[1].last(), Some(&MvtCoord { x: 100, y: 20 }));
    }

    #[test]
    fn line_inside_kept_whole() {
        let l = [[1.0, 1.0], [5.0, 5.0], [9.0, 1.0]];
        let pieces = prepare_line(&l, 0.0, 100.0, 0.0);
        assert_eq!(
            pieces,
            vec![vec![
                MvtCoord { x: 1, y: 1 },
                MvtCoord { x: 5, y: 5 },
                MvtCoord { x: 9, y: 1 }
            ]]
        );
    }
}
