//! The sparse adjacency graph of units: Delaunay neighbours of the unit
//! points (never an n×n matrix), cut at `max_link_m`, with every edge that
//! crosses a road, river or compound wall marked as a crossing.

use std::collections::HashMap;

use geo_core::ids::UnitId;
use rstar::{RTree, RTreeObject, AABB};
use serde::{Deserialize, Serialize};
use spade::{DelaunayTriangulation, Point2, Triangulation};

use super::{BarrierKind, RegridError, RegridInput, RegridParams, Stop};

/// A local equirectangular projection to metres around the input's centre;
/// accurate to well under 1 % over a town.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Projection {
    lon0: f64,
    lat0: f64,
    kx: f64,
    ky: f64,
}

impl Projection {
    pub(crate) fn around(points: impl Iterator<Item = (f64, f64)>) -> Self {
        let (mut sx, mut sy, mut n) = (0.0, 0.0, 0.0);
        for (x, y) in points {
            sx += x;
            sy += y;
            n += 1.0;
        }
        let (lon0, lat0) = if n > 0.0 {
            (sx / n, sy / n)
        } else {
            (0.0, 0.0)
        };
        Self {
            lon0,
            lat0,
            kx: 111_320.0 * lat0.to_radians().cos(),
            ky: 110_574.0,
        }
    }
    pub(crate) fn fwd(&self, x: f64, y: f64) -> [f64; 2] {
        [(x - self.lon0) * self.kx, (y - self.lat0) * self.ky]
    }
    pub(crate) fn inv(&self, p: [f64; 2]) -> (f64, f64) {
        (p[0] / self.kx + self.lon0, p[1] / self.ky + self.lat0)
    }
}

/// One neighbour relation in [`Adjacency`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdjacencyEdge {
    /// One unit.
    pub a: UnitId,
    /// The other unit.
    pub b: UnitId,
    /// Distance between the two entrances (metres).
    pub length_m: f64,
    /// The barrier crossed, if any (a change of compound counts as a wall).
    pub crossing: Option<BarrierKind>,
}

/// The adjacency graph the recommender uses for contiguity: a grid is
/// contiguous when its units are connected by these edges.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Adjacency {
    /// Undirected edges, each once.
    pub edges: Vec<AdjacencyEdge>,
}

/// Builds the adjacency graph of `input` exactly as [`regrid`](super::regrid)
/// does (dedicated units left out; units bigger than `max` bridged over by
/// joining their neighbours).
pub fn adjacency(input: &RegridInput, params: &RegridParams) -> Result<Adjacency, RegridError> {
    params.validate()?;
    let g = Graph::build(input, params, &Stop::never())?;
    let mut edges = Vec::new();
    for a in 0..g.n() {
        for e in g.edges(a) {
            if a < e.to {
                edges.push(AdjacencyEdge {
                    a: input.units[g.unit[a]].id,
                    b: input.units[g.unit[e.to]].id,
                    length_m: f64::from(e.length_m),
                    crossing: e.crossing,
                });
            }
        }
    }
    Ok(Adjacency { edges })
}

/// A directed half of an edge in the CSR graph.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Edge {
    pub(crate) to: usize,
    pub(crate) length_m: f32,
    pub(crate) crossing: Option<BarrierKind>,
    pub(crate) same_compound: bool,
}

/// The graph over active (non-dedicated) units, in CSR form, plus the
/// triangulation reused for the Voronoi cells.
pub(crate) struct Graph {
    /// Index into `input.units` of each node.
    pub(crate) unit: Vec<usize>,
    /// Projected position of each node (metres).
    pub(crate) pos: Vec<[f64; 2]>,
    /// True for a node bigger than `max` that was bridged over.
    pub(crate) bridged: Vec<bool>,
    offsets: Vec<usize>,
    adj: Vec<Edge>,
    pub(crate) proj: Projection,
    /// Distinct points (metres) and, per node, its point.
    pub(crate) sites: Vec<[f64; 2]>,
    pub(crate) site_of: Vec<usize>,
    pub(crate) tri: DelaunayTriangulation<Point2<f64>>,
}

struct Seg {
    a: [f64; 2],
    b: [f64; 2],
    kind: BarrierKind,
}

impl RTreeObject for Seg {
    type Envelope = AABB<[f64; 2]>;
    fn envelope(&self) -> Self::Envelope {
        AABB::from_corners(self.a, self.b)
    }
}

fn orient(p: [f64; 2], q: [f64; 2], r: [f64; 2]) -> f64 {
    (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])
}

fn on_segment(p: [f64; 2], q: [f64; 2], r: [f64; 2]) -> bool {
    r[0] >= p[0].min(q[0])
        && r[0] <= p[0].max(q[0])
        && r[1] >= p[1].min(q[1])
        && r[1] <= p[1].max(q[1])
}

/// True when segments p–q and r–s share a point.
pub(crate) fn segments_cross(p: [f64; 2], q: [f64; 2], r: [f64; 2], s: [f64; 2]) -> bool {
    let d1 = orient(r, s, p);
    let d2 = orient(r, s, q);
    let d3 = orient(p, q, r);
    let d4 = orient(p, q, s);
    if ((d1 > 0.0 && d2 < 0.0) || (d1 < 0.0 && d2 > 0.0))
        && ((d3 > 0.0 && d4 < 0.0) || (d3 < 0.0 && d4 > 0.0))
    {
        return true;
    }
    (d1 == 0.0 && on_segment(r, s, p))
        || (d2 == 0.0 && on_segment(r, s, q))
        || (d3 == 0.0 && on_segment(p, q, r))
        || (d4 == 0.0 && on_segment(p, q, s))
}

/// Rank of a crossing: the worse barrier wins when an edge crosses several.
fn rank(k: BarrierKind) -> u8 {
    match k {
        BarrierKind::Wall => 1,
        BarrierKind::Road => 2,
        BarrierKind::River => 3,
    }
}

fn worse(a: Option<BarrierKind>, b: Option<BarrierKind>) -> Option<BarrierKind> {
    match (a, b) {
        (Some(x), Some(y)) => Some(if rank(x) >= rank(y) { x } else { y }),
        (x, None) => x,
        (None, y) => y,
    }
}

struct RawEdge {
    a: usize,
    b: usize,
    len: f64,
    crossing: Option<BarrierKind>,
}

impl Graph {
    pub(crate) fn n(&self) -> usize {
        self.unit.len()
    }

    pub(crate) fn edges(&self, v: usize) -> &[Edge] {
        &self.adj[self.offsets[v]..self.offsets[v + 1]]
    }

    pub(crate) fn build(
        input: &RegridInput,
        params: &RegridParams,
        stop: &Stop,
    ) -> Result<Self, RegridError> {
        let mut seen = HashMap::new();
        for u in &input.units {
            if seen.insert(u.id, ()).is_some() {
                return Err(RegridError::DuplicateUnit { unit: u.id });
            }
            if !(u.point.x().is_finite() && u.point.y().is_finite()) {
                return Err(RegridError::BadPoint {
                    unit: u.id,
                    x: u.point.x(),
                    y: u.point.y(),
                });
            }
        }
        let unit: Vec<usize> = (0..input.units.len())
            .filter(|&i| input.units[i].dedicated.is_none())
            .collect();
        if unit.is_empty() {
            return Err(RegridError::Empty);
        }
        let proj = Projection::around(
            unit.iter()
                .map(|&i| (input.units[i].point.x(), input.units[i].point.y())),
        );
        let pos: Vec<[f64; 2]> = unit
            .iter()
            .map(|&i| proj.fwd(input.units[i].point.x(), input.units[i].point.y()))
            .collect();

        // Distinct sites: units sharing an entrance point share a site.
        let mut site_index: HashMap<(u64, u64), usize> = HashMap::new();
        let mut sites: Vec<[f64; 2]> = Vec::new();
        let mut site_of = Vec::with_capacity(pos.len());
        let mut first_node: Vec<usize> = Vec::new();
        let mut raw: Vec<RawEdge> = Vec::new();
        for (v, p) in pos.iter().enumerate() {
            let key = (p[0].to_bits(), p[1].to_bits());
            let s = *site_index.entry(key).or_insert_with(|| {
                sites.push(*p);
                first_node.push(v);
                sites.len() - 1
            });
            if first_node[s] != v {
                raw.push(RawEdge {
                    a: first_node[s],
                    b: v,
                    len: 0.0,
                    crossing: None,
                });
            }
            site_of.push(s);
        }
        let n_sites = sites.len();

        // Four far corners make every real site's Voronoi cell bounded and
        // the input never collinear.
        let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        for p in &sites {
            x0 = x0.min(p[0]);
            y0 = y0.min(p[1]);
            x1 = x1.max(p[0]);
            y1 = y1.max(p[1]);
        }
        let pad = ((x1 - x0).max(y1 - y0)).max(100.0) * 3.0;
        let mut all: Vec<Point2<f64>> = sites.iter().map(|p| Point2::new(p[0], p[1])).collect();
        all.extend([
            Point2::new(x0 - pad, y0 - pad),
            Point2::new(x1 + pad, y0 - pad),
            Point2::new(x1 + pad, y1 + pad),
            Point2::new(x0 - pad, y1 + pad),
        ]);
        let tri = DelaunayTriangulation::<Point2<f64>>::bulk_load_stable(all).map_err(|e| {
            RegridError::Triangulation {
                points: n_sites,
                reason: format!("{e:?}"),
            }
        })?;

        for e in tri.undirected_edges() {
            let [a, b] = e.vertices();
            let (a, b) = (a.fix().index(), b.fix().index());
            if a >= n_sites || b >= n_sites {
                continue;
            }
            let (pa, pb) = (sites[a], sites[b]);
            let len = ((pa[0] - pb[0]).powi(2) + (pa[1] - pb[1]).powi(2)).sqrt();
            if len > params.max_link_m {
                continue;
            }
            raw.push(RawEdge {
                a: first_node[a],
                b: first_node[b],
                len,
                crossing: None,
            });
        }

        // Barrier crossings.
        let segs: Vec<Seg> = input
            .barriers
            .iter()
            .flat_map(|bar| {
                bar.line.lines().map(move |l| Seg {
                    a: proj.fwd(l.start.x, l.start.y),
                    b: proj.fwd(l.end.x, l.end.y),
                    kind: bar.kind,
                })
            })
            .collect();
        let seg_tree = RTree::bulk_load(segs);
        for e in &mut raw {
            let (p, q) = (pos[e.a], pos[e.b]);
            let env = AABB::from_corners(p, q);
            for s in seg_tree.locate_in_envelope_intersecting(env) {
                if segments_cross(p, q, s.a, s.b) {
                    e.crossing = worse(e.crossing, Some(s.kind));
                }
            }
            let (ca, cb) = (
                input.units[unit[e.a]].compound,
                input.units[unit[e.b]].compound,
            );
            if ca != cb {
                e.crossing = worse(e.crossing, Some(BarrierKind::Wall));
            }
        }

        // Units bigger than `max` become grids of their own (whole, or split
        // by floors); their neighbours are joined so the rest stays connected
        // around them.
        let n = unit.len();
        let bridged: Vec<bool> = unit
            .iter()
            .map(|&i| input.units[i].households > params.max)
            .collect();
        if bridged.iter().any(|&b| b) {
            let mut nb: Vec<Vec<(usize, f64, Option<BarrierKind>)>> = vec![Vec::new(); n];
            for e in &raw {
                nb[e.a].push((e.b, e.len, e.crossing));
                nb[e.b].push((e.a, e.len, e.crossing));
            }
            for s in (0..n).filter(|&s| bridged[s]) {
                // Joining the neighbours of many big units grows quadratic
                // lists (small bounds): a stopped run gives up here too.
                stop.check()?;
                let mut around: Vec<_> = nb[s].iter().copied().filter(|x| x.0 != s).collect();
                // One entry per neighbour (the shortest): chains of bridged
                // units would otherwise multiply the lists at every step.
                around.sort_by(|p, q| p.0.cmp(&q.0).then(p.1.total_cmp(&q.1)));
                around.dedup_by_key(|x| x.0);
                for (i, &(x, lx, cx)) in around.iter().enumerate() {
                    for &(y, ly, cy) in &around[i + 1..] {
                        if x != y {
                            nb[x].push((y, lx + ly, worse(cx, cy)));
                            nb[y].push((x, lx + ly, worse(cx, cy)));
                        }
                    }
                }
                for &(x, _, _) in &around {
                    nb[x].retain(|e| e.0 != s);
                }
                nb[s].clear();
            }
            raw = Vec::new();
            for (a, list) in nb.iter().enumerate() {
                for &(b, len, crossing) in list {
                    if a < b {
                        raw.push(RawEdge {
                            a,
                            b,
                            len,
                            crossing,
                        });
                    }
                }
            }
        }

        // Deduplicate and build the CSR form.
        let mut pairs: Vec<(usize, usize, f64, Option<BarrierKind>)> = raw
            .iter()
            .map(|e| (e.a.min(e.b), e.a.max(e.b), e.len, e.crossing))
            .filter(|e| e.0 != e.1)
            .collect();
        pairs.sort_by(|x, y| (x.0, x.1).cmp(&(y.0, y.1)).then(x.2.total_cmp(&y.2)));
        pairs.dedup_by(|x, y| x.0 == y.0 && x.1 == y.1);
        let mut degree = vec![0usize; n + 1];
        for p in &pairs {
            degree[p.0] += 1;
            degree[p.1] += 1;
        }
        let mut offsets = vec![0usize; n + 1];
        for v in 0..n {
            offsets[v + 1] = offsets[v] + degree[v];
        }
        let mut fill = offsets.clone();
        let blank = Edge {
            to: 0,
            length_m: 0.0,
            crossing: None,
            same_compound: false,
        };
        let mut adj = vec![blank; offsets[n]];
        for &(a, b, len, crossing) in &pairs {
            let ca = input.units[unit[a]].compound;
            let same_compound = ca.is_some() && ca == input.units[unit[b]].compound;
            for (from, to) in [(a, b), (b, a)] {
                adj[fill[from]] = Edge {
                    to,
                    length_m: len as f32,
                    crossing,
                    same_compound,
                };
                fill[from] += 1;
            }
        }
        Ok(Self {
            unit,
            pos,
            bridged,
            offsets,
            adj,
            proj,
            sites,
            site_of,
            tri,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crossing_segments() {
        assert!(segments_cross(
            [0.0, 0.0],
            [2.0, 2.0],
            [0.0, 2.0],
            [2.0, 0.0]
        ));
        assert!(!segments_cross(
            [0.0, 0.0],
            [1.0, 0.0],
            [0.0, 1.0],
            [1.0, 1.0]
        ));
        assert!(segments_cross(
            [0.0, 0.0],
            [2.0, 0.0],
            [1.0, 0.0],
            [1.0, 5.0]
        ));
    }

    #[test]
    fn projection_round_trips() {
        let p = Projection::around([(112.4, 34.6), (112.5, 34.7)].into_iter());
        let m = p.fwd(112.41, 34.61);
        let (x, y) = p.inv(m);
        assert!((x - 112.41).abs() < 1e-12 && (y - 34.61).abs() < 1e-12);
    }
}
