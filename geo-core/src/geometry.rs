//! Geometry validation and (opt-in) repair.
//!
//! Everything that enters the store goes through [`Limits`]: coordinates must
//! be finite WGS84 longitude/latitude, rings must be closed (a ring that is not
//! closed is *reported*, never silently closed), have at least four
//! coordinates and must not cross themselves or each other, and a geometry
//! must stay under a vertex count and an area cap.
//!
//! Repair is a separate, explicit step ([`repair_polygon`],
//! [`repair_multi_polygon`]) that returns what it changed as a list of
//! [`Repair`]s so an import can show it to the user.
//!
//! ```
//! use geo_core::geometry::{GeometryError, Limits};
//! use geo_types::polygon;
//!
//! let bow_tie = polygon![(x: 114.0, y: 34.0), (x: 114.01, y: 34.01), (x: 114.01, y: 34.0), (x: 114.0, y: 34.01)];
//! let err = Limits::default().validate_polygon(&bow_tie).unwrap_err();
//! assert!(matches!(err, GeometryError::SelfIntersection { .. }));
//! assert!(err.to_string().contains("crosses itself"));
//! ```

use std::fmt;

use geo::line_intersection::{line_intersection, LineIntersection};
use geo::{Area, BoundingRect, GeodesicArea, MakeValid};
use geo_types::{Coord, Geometry, Line, LineString, MultiPolygon, Point, Polygon};
use thiserror::Error;

/// Caps applied by validation. The defaults fit a town: the largest unit the
/// engine manages (a sub-district of ~200 km²) with room to spare.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Maximum number of coordinates of one geometry, all rings and parts.
    pub max_vertices: usize,
    /// Maximum number of polygons in a multipolygon.
    pub max_parts: usize,
    /// Maximum number of holes of one polygon.
    pub max_holes: usize,
    /// Maximum geodesic area of one (multi)polygon, km².
    pub max_area_km2: f64,
    /// Minimum geodesic area of one (multi)polygon, m² (rejects slivers and
    /// collapsed rings).
    pub min_area_m2: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_vertices: 100_000,
            max_parts: 1_000,
            max_holes: 1_000,
            max_area_km2: 1_000.0,
            min_area_m2: 0.5,
        }
    }
}

/// Where a ring sits in a (multi)polygon: part index and ring index, ring 0
/// being the exterior and ring `k` the hole `k - 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RingLoc {
    /// Polygon index inside a multipolygon (0 for a plain polygon).
    pub part: usize,
    /// Ring index: 0 = exterior, `k` = hole `k - 1`.
    pub ring: usize,
}

impl fmt::Display for RingLoc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.ring {
            0 => write!(f, "polygon {} exterior ring", self.part),
            k => write!(f, "polygon {} hole {}", self.part, k - 1),
        }
    }
}

/// A geometry that failed validation. Every variant names the ring and, where
/// there is one, the offending coordinate.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum GeometryError {
    /// A point with a NaN/infinite or out-of-range coordinate.
    #[error("point ({x}, {y}) is invalid: {reason}")]
    InvalidPoint {
        /// Longitude given.
        x: f64,
        /// Latitude given.
        y: f64,
        /// Why it was refused.
        reason: &'static str,
    },
    /// A ring coordinate that is NaN/infinite or out of range.
    #[error("{at}, coordinate {index} ({x}, {y}) is invalid: {reason}")]
    InvalidCoord {
        /// Ring.
        at: RingLoc,
        /// Coordinate index in the ring.
        index: usize,
        /// Longitude given.
        x: f64,
        /// Latitude given.
        y: f64,
        /// Why it was refused.
        reason: &'static str,
    },
    /// First and last coordinates of a ring differ.
    #[error("{at} is not closed: first coordinate ({first_x}, {first_y}) differs from last ({last_x}, {last_y}); repair closes it")]
    UnclosedRing {
        /// Ring.
        at: RingLoc,
        /// First longitude.
        first_x: f64,
        /// First latitude.
        first_y: f64,
        /// Last longitude.
        last_x: f64,
        /// Last latitude.
        last_y: f64,
    },
    /// A ring needs at least 4 coordinates (3 distinct + closing).
    #[error("{at} has {count} coordinates; a closed ring needs at least 4 (3 distinct points and the closing one)")]
    TooFewCoords {
        /// Ring.
        at: RingLoc,
        /// Coordinates given.
        count: usize,
    },
    /// A ring crosses or touches itself.
    #[error("{at} crosses itself at ({x}, {y}) (edges {edge_a} and {edge_b})")]
    SelfIntersection {
        /// Ring.
        at: RingLoc,
        /// Longitude of the crossing.
        x: f64,
        /// Latitude of the crossing.
        y: f64,
        /// First edge (index of its start coordinate).
        edge_a: usize,
        /// Second edge (index of its start coordinate).
        edge_b: usize,
    },
    /// Two rings of a polygon cross or share an edge.
    #[error("{a} and {b} {reason} at ({x}, {y})")]
    RingsIntersect {
        /// First ring.
        a: RingLoc,
        /// Second ring.
        b: RingLoc,
        /// Longitude of the contact.
        x: f64,
        /// Latitude of the contact.
        y: f64,
        /// `cross` or `overlap along a line`.
        reason: &'static str,
    },
    /// A hole lies outside its exterior ring.
    #[error("{at} lies outside the exterior ring")]
    HoleOutsideShell {
        /// The hole.
        at: RingLoc,
    },
    /// Two polygons of a multipolygon overlap.
    #[error("polygons {a} and {b} of the multipolygon overlap")]
    PartsOverlap {
        /// First part.
        a: usize,
        /// Second part.
        b: usize,
    },
    /// More coordinates than [`Limits::max_vertices`].
    #[error("geometry has {count} coordinates, more than the limit of {max}")]
    TooManyVertices {
        /// Coordinates given.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// More parts than [`Limits::max_parts`] or holes than [`Limits::max_holes`].
    #[error("geometry has {count} {what}, more than the limit of {max}")]
    TooManyParts {
        /// `polygons` or `holes`.
        what: &'static str,
        /// Count given.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// Larger than [`Limits::max_area_km2`].
    #[error("geometry covers {area_km2:.1} km², more than the limit of {max_km2} km² (wrong CRS or units?)")]
    TooLarge {
        /// Geodesic area.
        area_km2: f64,
        /// The limit.
        max_km2: f64,
    },
    /// Smaller than [`Limits::min_area_m2`].
    #[error("geometry covers {area_m2:.3} m², less than the minimum of {min_m2} m² (collapsed or sliver polygon)")]
    TooSmall {
        /// Geodesic area.
        area_m2: f64,
        /// The limit.
        min_m2: f64,
    },
    /// Nothing to validate.
    #[error("{kind} is empty")]
    Empty {
        /// Geometry kind.
        kind: &'static str,
    },
    /// A geometry type that is not accepted here.
    #[error("{kind} geometries are not accepted here; expected {expected}")]
    Unsupported {
        /// Geometry kind given.
        kind: &'static str,
        /// What was expected.
        expected: &'static str,
    },
    /// Repair could not produce a valid polygon.
    #[error("{at} could not be repaired: {reason}")]
    RepairFailed {
        /// Ring or part being repaired.
        at: RingLoc,
        /// Why.
        reason: String,
    },
}

/// One change made by [`repair_polygon`] / [`repair_multi_polygon`].
#[derive(Debug, Clone, PartialEq)]
pub enum Repair {
    /// The ring was not closed; its first coordinate was appended.
    ClosedRing {
        /// Ring.
        at: RingLoc,
    },
    /// Consecutive duplicate coordinates were dropped.
    RemovedDuplicatePoints {
        /// Ring.
        at: RingLoc,
        /// How many were dropped.
        count: usize,
    },
    /// A hole with fewer than 3 distinct points was dropped.
    DroppedDegenerateHole {
        /// The hole.
        at: RingLoc,
    },
    /// A self-intersecting polygon was rebuilt (constrained triangulation,
    /// odd-even rule) into `parts` valid polygons.
    FixedSelfIntersection {
        /// Part index of the input.
        part: usize,
        /// Number of valid polygons produced.
        parts: usize,
    },
    /// [`repair_polygon`] must return one polygon: it kept the largest part
    /// and dropped the others.
    DroppedParts {
        /// How many parts were dropped.
        count: usize,
        /// Their total area in squared degrees (planar, for comparison only).
        area_deg2: f64,
    },
}

impl fmt::Display for Repair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ClosedRing { at } => write!(f, "{at}: closed the ring"),
            Self::RemovedDuplicatePoints { at, count } => {
                write!(f, "{at}: removed {count} duplicate consecutive points")
            }
            Self::DroppedDegenerateHole { at } => write!(f, "{at}: dropped a degenerate hole"),
            Self::FixedSelfIntersection { part, parts } => {
                write!(
                    f,
                    "polygon {part}: fixed self-intersection into {parts} polygon(s)"
                )
            }
            Self::DroppedParts { count, .. } => {
                write!(
                    f,
                    "kept the largest polygon, dropped {count} smaller one(s)"
                )
            }
        }
    }
}

fn check_lon_lat(x: f64, y: f64) -> Option<&'static str> {
    if !x.is_finite() || !y.is_finite() {
        Some("coordinates must be finite numbers (NaN or infinity given)")
    } else if !(-180.0..=180.0).contains(&x) {
        Some("longitude must be within [-180, 180] (projected metres or swapped axes?)")
    } else if !(-90.0..=90.0).contains(&y) {
        Some("latitude must be within [-90, 90] (swapped longitude/latitude?)")
    } else {
        None
    }
}

impl Limits {
    /// Validates a WGS84 coordinate.
    pub fn validate_coord(&self, c: Coord<f64>) -> Result<(), GeometryError> {
        match check_lon_lat(c.x, c.y) {
            Some(reason) => Err(GeometryError::InvalidPoint {
                x: c.x,
                y: c.y,
                reason,
            }),
            None => Ok(()),
        }
    }

    /// Validates a WGS84 point.
    pub fn validate_point(&self, p: Point<f64>) -> Result<(), GeometryError> {
        self.validate_coord(p.0)
    }

    /// Validates rings given as raw coordinate lists (ring 0 exterior, then
    /// holes), before they become a [`Polygon`] (whose constructor closes
    /// rings silently). Reports unclosed rings.
    pub fn validate_rings(&self, rings: &[Vec<Coord<f64>>]) -> Result<(), GeometryError> {
        let rings: Vec<LineString<f64>> = rings.iter().map(|r| LineString(r.clone())).collect();
        let refs: Vec<&LineString<f64>> = rings.iter().collect();
        self.check_rings(0, &refs)?;
        let count: usize = refs.iter().map(|r| r.0.len()).sum();
        self.check_vertices(count)?;
        if let Some((ext, holes)) = rings.split_first() {
            let poly = Polygon::new(ext.clone(), holes.to_vec());
            self.check_area(poly.geodesic_area_unsigned())?;
        }
        Ok(())
    }

    /// Validates a polygon: coordinates, closed rings of ≥ 4 coordinates, no
    /// self-intersection, holes inside the shell and not crossing it, vertex
    /// and area caps.
    pub fn validate_polygon(&self, poly: &Polygon<f64>) -> Result<(), GeometryError> {
        self.check_polygon(0, poly)?;
        self.check_vertices(vertex_count(poly))?;
        self.check_area(poly.geodesic_area_unsigned())
    }

    /// Validates a multipolygon: every part as [`Limits::validate_polygon`],
    /// parts must not overlap, caps apply to the whole.
    pub fn validate_multi_polygon(&self, mp: &MultiPolygon<f64>) -> Result<(), GeometryError> {
        if mp.0.is_empty() {
            return Err(GeometryError::Empty {
                kind: "multipolygon",
            });
        }
        if mp.0.len() > self.max_parts {
            return Err(GeometryError::TooManyParts {
                what: "polygons",
                count: mp.0.len(),
                max: self.max_parts,
            });
        }
        self.check_vertices(mp.0.iter().map(vertex_count).sum())?;
        for (i, p) in mp.0.iter().enumerate() {
            self.check_polygon(i, p)?;
        }
        check_parts_disjoint(mp)?;
        self.check_area(mp.geodesic_area_unsigned())
    }

    /// Validates any geometry: points, polygons and multipolygons are checked
    /// fully; lines and multipoints have their coordinates checked.
    pub fn validate_geometry(&self, g: &Geometry<f64>) -> Result<(), GeometryError> {
        match g {
            Geometry::Point(p) => self.validate_point(*p),
            Geometry::Polygon(p) => self.validate_polygon(p),
            Geometry::MultiPolygon(mp) => self.validate_multi_polygon(mp),
            Geometry::MultiPoint(mp) => mp.0.iter().try_for_each(|p| self.validate_point(*p)),
            Geometry::LineString(ls) => {
                self.check_vertices(ls.0.len())?;
                ls.0.iter().try_for_each(|c| self.validate_coord(*c))
            }
            Geometry::MultiLineString(mls) => {
                self.check_vertices(mls.0.iter().map(|l| l.0.len()).sum())?;
                mls.0
                    .iter()
                    .flat_map(|l| l.0.iter())
                    .try_for_each(|c| self.validate_coord(*c))
            }
            Geometry::Line(l) => {
                self.validate_coord(l.start)?;
                self.validate_coord(l.end)
            }
            Geometry::Rect(r) => {
                self.validate_coord(r.min())?;
                self.validate_coord(r.max())
            }
            Geometry::Triangle(t) => t
                .to_array()
                .iter()
                .try_for_each(|c| self.validate_coord(*c)),
            Geometry::GeometryCollection(gc) => {
                gc.0.iter().try_for_each(|g| self.validate_geometry(g))
            }
        }
    }

    /// Validates a GeoJSON geometry on its raw positions (so unclosed rings
    /// are caught before conversion closes them) and converts it.
    pub fn validate_geojson(&self, g: &geojson::Geometry) -> Result<Geometry<f64>, GeometryError> {
        use geojson::GeometryValue as Value;
        let to_rings = |rings: &Vec<Vec<geojson::Position>>| -> Vec<Vec<Coord<f64>>> {
            rings
                .iter()
                .map(|r| {
                    r.iter()
                        .map(|p| Coord {
                            x: p.as_slice().first().copied().unwrap_or(f64::NAN),
                            y: p.as_slice().get(1).copied().unwrap_or(f64::NAN),
                        })
                        .collect()
                })
                .collect()
        };
        let rings_to_poly = |rings: Vec<Vec<Coord<f64>>>| -> Polygon<f64> {
            let mut it = rings.into_iter().map(LineString);
            let ext = it.next().unwrap_or_else(|| LineString(vec![]));
            Polygon::new(ext, it.collect())
        };
        let geom = match &g.value {
            Value::Polygon { coordinates: rings } => {
                let rings = to_rings(rings);
                for (r, ring) in rings.iter().enumerate() {
                    check_closed(RingLoc { part: 0, ring: r }, ring)?;
                }
                Geometry::Polygon(rings_to_poly(rings))
            }
            Value::MultiPolygon { coordinates: polys } => {
                let mut out = Vec::with_capacity(polys.len());
                for (part, rings) in polys.iter().enumerate() {
                    let rings = to_rings(rings);
                    for (r, ring) in rings.iter().enumerate() {
                        check_closed(RingLoc { part, ring: r }, ring)?;
                    }
                    out.push(rings_to_poly(rings));
                }
                Geometry::MultiPolygon(MultiPolygon(out))
            }
            other => {
                let kind = other.type_name();
                Geometry::try_from(other).map_err(|_| GeometryError::Unsupported {
                    kind,
                    expected: "a GeoJSON geometry convertible to geo-types",
                })?
            }
        };
        self.validate_geometry(&geom)?;
        Ok(geom)
    }

    fn check_vertices(&self, count: usize) -> Result<(), GeometryError> {
        if count > self.max_vertices {
            return Err(GeometryError::TooManyVertices {
                count,
                max: self.max_vertices,
            });
        }
        Ok(())
    }

    fn check_area(&self, area_m2: f64) -> Result<(), GeometryError> {
        if area_m2 > self.max_area_km2 * 1e6 {
            return Err(GeometryError::TooLarge {
                area_km2: area_m2 / 1e6,
                max_km2: self.max_area_km2,
            });
        }
        if area_m2 < self.min_area_m2 {
            return Err(GeometryError::TooSmall {
                area_m2,
                min_m2: self.min_area_m2,
            });
        }
        Ok(())
    }

    fn check_polygon(&self, part: usize, poly: &Polygon<f64>) -> Result<(), GeometryError> {
        if poly.exterior().0.is_empty() {
            return Err(GeometryError::Empty { kind: "polygon" });
        }
        if poly.interiors().len() > self.max_holes {
            return Err(GeometryError::TooManyParts {
                what: "holes",
                count: poly.interiors().len(),
                max: self.max_holes,
            });
        }
        let rings: Vec<&LineString<f64>> = std::iter::once(poly.exterior())
            .chain(poly.interiors())
            .collect();
        self.check_rings(part, &rings)
    }

    /// Per-ring checks, crossings, then hole containment.
    fn check_rings(&self, part: usize, rings: &[&LineString<f64>]) -> Result<(), GeometryError> {
        if rings.is_empty() || rings[0].0.is_empty() {
            return Err(GeometryError::Empty { kind: "polygon" });
        }
        for (r, ring) in rings.iter().enumerate() {
            let at = RingLoc { part, ring: r };
            for (index, c) in ring.0.iter().enumerate() {
                if let Some(reason) = check_lon_lat(c.x, c.y) {
                    return Err(GeometryError::InvalidCoord {
                        at,
                        index,
                        x: c.x,
                        y: c.y,
                        reason,
                    });
                }
            }
            check_closed(at, &ring.0)?;
            let distinct = dedup_indexed(&ring.0).len();
            if ring.0.len() < 4 || distinct < 4 {
                return Err(GeometryError::TooFewCoords {
                    at,
                    count: ring.0.len(),
                });
            }
        }
        find_crossing(part, rings)?;
        // No crossings: a hole is inside the shell iff any of its vertices
        // not on the shell boundary is inside.
        let shell = Polygon::new(rings[0].clone(), vec![]);
        for (r, hole) in rings.iter().enumerate().skip(1) {
            use geo::{coordinate_position::CoordPos, CoordinatePosition};
            let mut inside = None;
            for c in &hole.0 {
                match shell.coordinate_position(c) {
                    CoordPos::Inside => {
                        inside = Some(true);
                        break;
                    }
                    CoordPos::Outside => {
                        inside = Some(false);
                        break;
                    }
                    CoordPos::OnBoundary => {}
                }
            }
            if inside == Some(false) {
                return Err(GeometryError::HoleOutsideShell {
                    at: RingLoc { part, ring: r },
                });
            }
        }
        Ok(())
    }
}

fn vertex_count(p: &Polygon<f64>) -> usize {
    p.exterior().0.len() + p.interiors().iter().map(|r| r.0.len()).sum::<usize>()
}

fn check_closed(at: RingLoc, ring: &[Coord<f64>]) -> Result<(), GeometryError> {
    if let (Some(first), Some(last)) = (ring.first(), ring.last()) {
        if first != last {
            return Err(GeometryError::UnclosedRing {
                at,
                first_x: first.x,
                first_y: first.y,
                last_x: last.x,
                last_y: last.y,
            });
        }
    }
    Ok(())
}

/// The ring without consecutive duplicates, with the index of each kept
/// coordinate in the original ring.
fn dedup_indexed(ring: &[Coord<f64>]) -> Vec<(usize, Coord<f64>)> {
    let mut out: Vec<(usize, Coord<f64>)> = Vec::with_capacity(ring.len());
    for (i, c) in ring.iter().enumerate() {
        if out.last().is_none_or(|(_, l)| l != c) {
            out.push((i, *c));
        }
    }
    out
}

struct Seg {
    ring: usize,
    /// Index among the ring's deduplicated segments.
    k: usize,
    /// Index of the start coordinate in the original ring.
    orig: usize,
    line: Line<f64>,
    min_x: f64,
    max_x: f64,
    min_y: f64,
    max_y: f64,
}

/// Sweep over x: finds the first pair of edges that cross (same ring,
/// non-adjacent), fold back (adjacent, collinear overlap), or cross / overlap
/// between rings (a single touching point between rings is allowed).
fn find_crossing(part: usize, rings: &[&LineString<f64>]) -> Result<(), GeometryError> {
    let mut segs = Vec::new();
    let mut seg_counts = Vec::with_capacity(rings.len());
    for (r, ring) in rings.iter().enumerate() {
        let pts = dedup_indexed(&ring.0);
        let n = pts.len().saturating_sub(1);
        seg_counts.push(n);
        for (k, w) in pts.windows(2).enumerate() {
            let (a, b) = (w[0].1, w[1].1);
            segs.push(Seg {
                ring: r,
                k,
                orig: w[0].0,
                line: Line::new(a, b),
                min_x: a.x.min(b.x),
                max_x: a.x.max(b.x),
                min_y: a.y.min(b.y),
                max_y: a.y.max(b.y),
            });
        }
    }
    segs.sort_by(|a, b| a.min_x.total_cmp(&b.min_x));
    let mut active: Vec<usize> = Vec::new();
    for i in 0..segs.len() {
        let s = &segs[i];
        active.retain(|&j| segs[j].max_x >= s.min_x);
        for &j in &active {
            let t = &segs[j];
            if t.max_y < s.min_y || t.min_y > s.max_y {
                continue;
            }
            let Some(hit) = line_intersection(s.line, t.line) else {
                continue;
            };
            let (x, y) = match hit {
                LineIntersection::SinglePoint { intersection, .. } => {
                    (intersection.x, intersection.y)
                }
                LineIntersection::Collinear { intersection } => {
                    (intersection.start.x, intersection.start.y)
                }
            };
            if s.ring == t.ring {
                let n = seg_counts[s.ring];
                let (lo, hi) = (s.k.min(t.k), s.k.max(t.k));
                let adjacent = hi - lo == 1 || (lo == 0 && hi + 1 == n);
                let fold = matches!(hit, LineIntersection::Collinear { .. });
                if adjacent && !fold {
                    continue;
                }
                let (a, b) = (s.orig.min(t.orig), s.orig.max(t.orig));
                return Err(GeometryError::SelfIntersection {
                    at: RingLoc { part, ring: s.ring },
                    x,
                    y,
                    edge_a: a,
                    edge_b: b,
                });
            }
            let reason = match hit {
                LineIntersection::Collinear { .. } => "overlap along a line",
                LineIntersection::SinglePoint {
                    is_proper: true, ..
                } => "cross",
                LineIntersection::SinglePoint { .. } => continue,
            };
            let (ra, rb) = (s.ring.min(t.ring), s.ring.max(t.ring));
            return Err(GeometryError::RingsIntersect {
                a: RingLoc { part, ring: ra },
                b: RingLoc { part, ring: rb },
                x,
                y,
                reason,
            });
        }
        active.push(i);
    }
    Ok(())
}

/// Parts of a multipolygon must not share interior: checked on pairs whose
/// bounding boxes overlap, with a planar intersection area test.
fn check_parts_disjoint(mp: &MultiPolygon<f64>) -> Result<(), GeometryError> {
    use geo::BooleanOps;
    let rects: Vec<_> = mp.0.iter().map(|p| p.bounding_rect()).collect();
    for a in 0..mp.0.len() {
        for b in a + 1..mp.0.len() {
            let (Some(ra), Some(rb)) = (rects[a], rects[b]) else {
                continue;
            };
            let overlap = ra.min().x < rb.max().x
                && rb.min().x < ra.max().x
                && ra.min().y < rb.max().y
                && rb.min().y < ra.max().y;
            if !overlap {
                continue;
            }
            let inter = mp.0[a].intersection(&mp.0[b]);
            let smaller = mp.0[a].unsigned_area().min(mp.0[b].unsigned_area());
            if inter.unsigned_area() > smaller * 1e-9 {
                return Err(GeometryError::PartsOverlap { a, b });
            }
        }
    }
    Ok(())
}

/// Repairs one polygon: closes rings, drops consecutive duplicate points and
/// degenerate holes, and rebuilds self-intersecting rings (keeping the largest
/// resulting polygon). Returns the repaired polygon and what was changed
/// (empty when it was already valid). Non-finite or out-of-range coordinates
/// cannot be repaired.
///
/// ```
/// use geo_core::geometry::{repair_polygon, Limits, Repair};
/// use geo_types::polygon;
///
/// let bow_tie = polygon![(x: 114.0, y: 34.0), (x: 114.01, y: 34.01), (x: 114.01, y: 34.0), (x: 114.0, y: 34.01)];
/// let (fixed, repairs) = repair_polygon(&bow_tie).unwrap();
/// assert!(Limits::default().validate_polygon(&fixed).is_ok());
/// assert!(matches!(repairs[0], Repair::FixedSelfIntersection { parts: 2, .. }));
/// ```
pub fn repair_polygon(poly: &Polygon<f64>) -> Result<(Polygon<f64>, Vec<Repair>), GeometryError> {
    let (mp, mut repairs) = repair_part(0, poly)?;
    let mut parts = mp.0;
    parts.sort_by(|a, b| b.unsigned_area().total_cmp(&a.unsigned_area()));
    let mut it = parts.into_iter();
    let Some(largest) = it.next() else {
        return Err(GeometryError::RepairFailed {
            at: RingLoc { part: 0, ring: 0 },
            reason: "nothing left after repair".to_string(),
        });
    };
    let rest: Vec<Polygon<f64>> = it.collect();
    if !rest.is_empty() {
        repairs.push(Repair::DroppedParts {
            count: rest.len(),
            area_deg2: rest.iter().map(|p| p.unsigned_area()).sum(),
        });
    }
    Ok((largest, repairs))
}

/// Repairs every part of a multipolygon like [`repair_polygon`], keeping all
/// resulting polygons.
pub fn repair_multi_polygon(
    mp: &MultiPolygon<f64>,
) -> Result<(MultiPolygon<f64>, Vec<Repair>), GeometryError> {
    let mut out = Vec::with_capacity(mp.0.len());
    let mut repairs = Vec::new();
    for (i, p) in mp.0.iter().enumerate() {
        let (fixed, r) = repair_part(i, p)?;
        out.extend(fixed.0);
        repairs.extend(r);
    }
    Ok((MultiPolygon(out), repairs))
}

fn repair_part(
    part: usize,
    poly: &Polygon<f64>,
) -> Result<(MultiPolygon<f64>, Vec<Repair>), GeometryError> {
    let mut repairs = Vec::new();
    let mut rings: Vec<LineString<f64>> = Vec::new();
    for (r, ring) in std::iter::once(poly.exterior())
        .chain(poly.interiors())
        .enumerate()
    {
        let at = RingLoc { part, ring: r };
        for (index, c) in ring.0.iter().enumerate() {
            if let Some(reason) = check_lon_lat(c.x, c.y) {
                return Err(GeometryError::InvalidCoord {
                    at,
                    index,
                    x: c.x,
                    y: c.y,
                    reason,
                });
            }
        }
        let mut coords = ring.0.clone();
        if let (Some(f), Some(l)) = (coords.first().copied(), coords.last().copied()) {
            if f != l {
                coords.push(f);
                repairs.push(Repair::ClosedRing { at });
            }
        }
        let deduped: Vec<Coord<f64>> = dedup_indexed(&coords).into_iter().map(|p| p.1).collect();
        if deduped.len() < coords.len() {
            repairs.push(Repair::RemovedDuplicatePoints {
                at,
                count: coords.len() - deduped.len(),
            });
        }
        if deduped.len() < 4 {
            if r == 0 {
                return Err(GeometryError::TooFewCoords {
                    at,
                    count: ring.0.len(),
                });
            }
            repairs.push(Repair::DroppedDegenerateHole { at });
            continue;
        }
        rings.push(LineString(deduped));
    }
    let refs: Vec<&LineString<f64>> = rings.iter().collect();
    let crossing = find_crossing(part, &refs).is_err();
    let mut it = rings.into_iter();
    let ext = it.next().unwrap_or_else(|| LineString(vec![]));
    let cleaned = Polygon::new(ext, it.collect());
    if !crossing {
        return Ok((MultiPolygon(vec![cleaned]), repairs));
    }
    let fixed = cleaned
        .make_valid()
        .map_err(|e| GeometryError::RepairFailed {
            at: RingLoc { part, ring: 0 },
            reason: e.to_string(),
        })?;
    repairs.push(Repair::FixedSelfIntersection {
        part,
        parts: fixed.0.len(),
    });
    Ok((fixed, repairs))
}

/// A building's footprint or a compound's wall as files and answers carry
/// it: a Polygon when it has one part, else the MultiPolygon (as it came).
///
/// ```
/// use geo_core::geometry::polygonal;
/// use geo_types::{polygon, Geometry, MultiPolygon};
///
/// let p = polygon![(x: 0., y: 0.), (x: 1., y: 0.), (x: 1., y: 1.)];
/// assert!(matches!(polygonal(&MultiPolygon(vec![p.clone()])), Geometry::Polygon(_)));
/// assert!(matches!(polygonal(&MultiPolygon(vec![p.clone(), p])), Geometry::MultiPolygon(_)));
/// ```
pub fn polygonal(mp: &MultiPolygon<f64>) -> Geometry<f64> {
    match mp.0.as_slice() {
        [one] => Geometry::Polygon(one.clone()),
        _ => Geometry::MultiPolygon(mp.clone()),
    }
}

/// A point inside a geometry, used to place areas in grids (房进格): the
/// centroid when it falls inside (the usual case for compact footprints),
/// otherwise [`geo::InteriorPoint`]. `None` for empty geometries.
///
/// ```
/// use geo_core::geometry::representative_point;
/// use geo_types::{polygon, Geometry};
///
/// // An L-shaped footprint whose centroid falls outside it.
/// let l = polygon![(x: 0., y: 0.), (x: 10., y: 0.), (x: 10., y: 1.), (x: 1., y: 1.), (x: 1., y: 10.), (x: 0., y: 10.)];
/// let p = representative_point(&Geometry::Polygon(l.clone())).unwrap();
/// assert!(geo_core::index::PreparedArea::from_polygon(&l).contains(p));
/// ```
pub fn representative_point(g: &Geometry<f64>) -> Option<Coord<f64>> {
    use geo::{Centroid, InteriorPoint};
    match g {
        Geometry::Point(p) => Some(p.0),
        Geometry::Polygon(p) => polygon_point(p, &crate::index::PreparedArea::from_polygon(p)),
        Geometry::MultiPolygon(mp) => {
            let largest =
                mp.0.iter()
                    .max_by(|a, b| a.unsigned_area().total_cmp(&b.unsigned_area()))?;
            polygon_point(largest, &crate::index::PreparedArea::from_polygon(largest))
        }
        other => other
            .interior_point()
            .map(|p| p.0)
            .or_else(|| other.centroid().map(|p| p.0)),
    }
}

/// [`representative_point`] of a polygon, given it already prepared.
pub fn polygon_point(
    p: &Polygon<f64>,
    prepared: &crate::index::PreparedArea,
) -> Option<Coord<f64>> {
    use geo::{Centroid, InteriorPoint};
    if let Some(c) = p.centroid() {
        if prepared.contains(c.0) {
            return Some(c.0);
        }
    }
    p.interior_point().map(|p| p.0)
}

/// The GeoJSON name of a geometry's type (`Point`, `MultiPolygon`…), for
/// messages that say what was found instead of what was expected.
pub fn type_name(g: &geo_types::Geometry<f64>) -> &'static str {
    use geo_types::Geometry;
    match g {
        Geometry::Point(_) => "Point",
        Geometry::Line(_) => "Line",
        Geometry::LineString(_) => "LineString",
        Geometry::Polygon(_) => "Polygon",
        Geometry::MultiPoint(_) => "MultiPoint",
        Geometry::MultiLineString(_) => "MultiLineString",
        Geometry::MultiPolygon(_) => "MultiPolygon",
        Geometry::GeometryCollection(_) => "GeometryCollection",
        Geometry::Rect(_) => "Rect",
        Geometry::Triangle(_) => "Triangle",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use geo_types::{coord, polygon};

    fn square(x0: f64, y0: f64, d: f64) -> Vec<Coord<f64>> {
        vec![
            coord! {x: x0, y: y0},
            coord! {x: x0 + d, y: y0},
            coord! {x: x0 + d, y: y0 + d},
            coord! {x: x0, y: y0 + d},
            coord! {x: x0, y: y0},
        ]
    }

    #[test]
    fn valid_square_passes() {
        let l = Limits::default();
        assert_eq!(l.validate_rings(&[square(114.0, 34.0, 0.01)]), Ok(()));
    }

    #[test]
    fn unclosed_ring_is_reported_not_closed() {
        let mut ring = square(114.0, 34.0, 0.01);
        ring.pop();
        let err = Limits::default().validate_rings(&[ring]).unwrap_err();
        assert!(matches!(
            err,
            GeometryError::UnclosedRing {
                at: RingLoc { part: 0, ring: 0 },
                ..
            }
        ));
        assert!(err.to_string().contains("not closed"), "{err}");
    }

    #[test]
    fn hole_crossing_shell_is_reported() {
        let shell = square(114.0, 34.0, 0.01);
        let hole = square(114.005, 34.005, 0.01);
        let err = Limits::default()
            .validate_rings(&[shell, hole])
            .unwrap_err();
        assert!(
            matches!(
                err,
                GeometryError::RingsIntersect {
                    reason: "cross",
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn hole_outside_shell_is_reported() {
        let shell = square(114.0, 34.0, 0.01);
        let hole = square(114.02, 34.02, 0.001);
        let err = Limits::default()
            .validate_rings(&[shell, hole])
            .unwrap_err();
        assert_eq!(
            err,
            GeometryError::HoleOutsideShell {
                at: RingLoc { part: 0, ring: 1 }
            }
        );
    }

    #[test]
    fn spike_is_a_self_intersection() {
        let p = polygon![(x: 114.0, y: 34.0), (x: 114.01, y: 34.0), (x: 114.02, y: 34.0), (x: 114.01, y: 34.0), (x: 114.01, y: 34.01)];
        let err = Limits::default().validate_polygon(&p).unwrap_err();
        assert!(
            matches!(err, GeometryError::SelfIntersection { .. }),
            "{err}"
        );
    }

    #[test]
    fn area_caps_apply() {
        let big = Polygon::new(LineString(square(100.0, 30.0, 2.0)), vec![]);
        assert!(matches!(
            Limits::default().validate_polygon(&big),
            Err(GeometryError::TooLarge { .. })
        ));
        let tiny = Polygon::new(LineString(square(114.0, 34.0, 1e-7)), vec![]);
        assert!(matches!(
            Limits::default().validate_polygon(&tiny),
            Err(GeometryError::TooSmall { .. })
        ));
    }

    #[test]
    fn vertex_cap_applies() {
        let l = Limits {
            max_vertices: 4,
            ..Limits::default()
        };
        let p = Polygon::new(LineString(square(114.0, 34.0, 0.01)), vec![]);
        assert_eq!(
            l.validate_polygon(&p),
            Err(GeometryError::TooManyVertices { count: 5, max: 4 })
        );
    }

    #[test]
    fn overlapping_parts_are_reported() {
        let a = Polygon::new(LineString(square(114.0, 34.0, 0.01)), vec![]);
        let b = Polygon::new(LineString(square(114.005, 34.005, 0.01)), vec![]);
        let c = Polygon::new(LineString(square(114.01, 34.0, 0.01)), vec![]);
        let l = Limits::default();
        assert_eq!(
            l.validate_multi_polygon(&MultiPolygon(vec![a.clone(), b])),
            Err(GeometryError::PartsOverlap { a: 0, b: 1 })
        );
        // Sharing an edge is not an overlap.
        assert_eq!(l.validate_multi_polygon(&MultiPolygon(vec![a, c])), Ok(()));
    }

    #[test]
    fn repair_reports_closing_and_duplicates() {
        let mut ring = square(114.0, 34.0, 0.01);
        ring.pop();
        ring.insert(1, ring[1]);
        // Build the polygon without the closing constructor (as serde does).
        let poly: Polygon<f64> = serde_json::from_value(serde_json::json!({
            "exterior": ring.iter().map(|c| serde_json::json!({"x": c.x, "y": c.y})).collect::<Vec<_>>(),
            "interiors": []
        }))
        .unwrap();
        let err = Limits::default().validate_polygon(&poly).unwrap_err();
        assert!(matches!(err, GeometryError::UnclosedRing { .. }), "{err}");
        let (fixed, repairs) = repair_polygon(&poly).unwrap();
        assert_eq!(
            repairs,
            vec![
                Repair::ClosedRing {
                    at: RingLoc { part: 0, ring: 0 }
                },
                Repair::RemovedDuplicatePoints {
                    at: RingLoc { part: 0, ring: 0 },
                    count: 1
                }
            ]
        );
        assert_eq!(Limits::default().validate_polygon(&fixed), Ok(()));
        assert_eq!(fixed.exterior().0.len(), 5);
    }

    #[test]
    fn valid_polygon_needs_no_repair() {
        let p = Polygon::new(LineString(square(114.0, 34.0, 0.01)), vec![]);
        let (fixed, repairs) = repair_polygon(&p).unwrap();
        assert!(repairs.is_empty());
        assert_eq!(fixed, p);
    }
}
