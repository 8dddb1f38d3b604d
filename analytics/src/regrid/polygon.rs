//! Grid shapes: the Voronoi cell of every unit site (from the triangulation
//! built for the adjacency), dissolved per grid and clipped to the boundary,
//! so that the grids of a proposal tile the area. Shape measures are taken in
//! projected metres.

use geo::{Area, BooleanOps, ConvexHull, Euclidean, Length};
use geo_types::{Coord, LineString, MultiPolygon, Polygon, Rect};
use spade::handles::FixedVertexHandle;
use spade::Triangulation;

use super::graph::{Graph, Projection};

/// Shape of one grid in WGS84 with its measures.
pub(crate) struct Shape {
    pub(crate) polygon: MultiPolygon<f64>,
    pub(crate) area_m2: f64,
    pub(crate) polsby_popper: f64,
    pub(crate) convex_hull_ratio: f64,
}

fn cell(g: &Graph, site: usize) -> Option<Polygon<f64>> {
    let v = g.tri.vertex(FixedVertexHandle::from_index(site));
    let mut ring: Vec<Coord<f64>> = Vec::new();
    for e in v.out_edges() {
        let f = e.face().as_inner()?;
        let c = f.circumcenter();
        ring.push(Coord { x: c.x, y: c.y });
    }
    if ring.len() < 3 {
        return None;
    }
    let mut p = Polygon::new(LineString::from(ring), vec![]);
    if p.signed_area() < 0.0 {
        p.exterior_mut(|r| r.0.reverse());
    }
    Some(p)
}

fn project(mp: &MultiPolygon<f64>, proj: &Projection) -> MultiPolygon<f64> {
    use geo::MapCoords;
    mp.map_coords(|c| {
        let p = proj.fwd(c.x, c.y);
        Coord { x: p[0], y: p[1] }
    })
}

fn unproject(mp: &MultiPolygon<f64>, proj: &Projection) -> MultiPolygon<f64> {
    use geo::MapCoords;
    mp.map_coords(|c| {
        let (x, y) = proj.inv([c.x, c.y]);
        Coord { x, y }
    })
}

/// Builds the shape of each grid. `owner[site]` is the grid owning a site
/// (the grid of most of its households when units share an entrance).
pub(crate) fn shapes(
    g: &Graph,
    owner: &[Option<usize>],
    grids: usize,
    boundary: &MultiPolygon<f64>,
) -> Vec<Shape> {
    let clip: MultiPolygon<f64> = if boundary.0.is_empty() {
        let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        for p in &g.sites {
            x0 = x0.min(p[0]);
            y0 = y0.min(p[1]);
            x1 = x1.max(p[0]);
            y1 = y1.max(p[1]);
        }
        let m = 30.0;
        MultiPolygon(vec![Rect::new(
            Coord {
                x: x0 - m,
                y: y0 - m,
            },
            Coord {
                x: x1 + m,
                y: y1 + m,
            },
        )
        .to_polygon()])
    } else {
        project(boundary, &g.proj)
    };
    let mut cells: Vec<Vec<Polygon<f64>>> = vec![Vec::new(); grids];
    for (site, o) in owner.iter().enumerate() {
        if let (Some(o), Some(c)) = (o, cell(g, site)) {
            if let Some(list) = cells.get_mut(*o) {
                list.push(c);
            }
        }
    }
    cells
        .into_iter()
        .map(|list| {
            let merged = geo::unary_union(list.iter());
            let clipped = merged.intersection(&clip);
            let area = clipped.unsigned_area();
            let perimeter: f64 = clipped
                .0
                .iter()
                .map(|p| {
                    Euclidean.length(p.exterior())
                        + p.interiors()
                            .iter()
                            .map(|r| Euclidean.length(r))
                            .sum::<f64>()
                })
                .sum();
            let hull = clipped.convex_hull().unsigned_area();
            Shape {
                polygon: unproject(&clipped, &g.proj),
                area_m2: area,
                polsby_popper: if perimeter > 0.0 {
                    4.0 * std::f64::consts::PI * area / (perimeter * perimeter)
                } else {
                    0.0
                },
                convex_hull_ratio: if hull > 0.0 { area / hull } else { 0.0 },
            }
        })
        .collect()
}
