//! Integration tests of geo-core: tilings assign every point exactly once,
//! CRS round trips across China, validation messages, the assignment chain.

#![allow(clippy::unwrap_used)]

use geo::{Distance, Haversine};
use geo_core::assign::{assign_dataset, ElementRef as Assigned};
use geo_core::crs::Crs;
use geo_core::geometry::{GeometryError, Limits};
use geo_core::ids::{
    BuildingId, CommunityId, DivisionCode, EventId, GridCode, GridId, HouseholdId, PersonId,
};
use geo_core::index::{ElementRef, Layer, PreparedArea, SpatialIndex};
use geo_core::model::{
    Building, BuildingUse, Event, EventSource, Grid, GridKind, Household, Person, Sex, Tenure,
};
use geo_core::taxonomy::EventCategory;
use geo_core::Dataset;
use geo_types::{coord, polygon, Coord, LineString, MultiPolygon, Point, Polygon};
use proptest::prelude::*;

fn grid(id: u64, kind: GridKind, poly: Polygon<f64>) -> Grid {
    let div = DivisionCode::parse("411481100001").unwrap();
    Grid {
        id: GridId::new(id).unwrap(),
        code: GridCode::new(div, (id % 999) as u16 + 1).unwrap(),
        name: format!("第{id}网格"),
        kind,
        community: Some(CommunityId::new(1).unwrap()),
        parent: None,
        boundary: MultiPolygon(vec![poly]),
        workers: vec![],
    }
}

fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> Polygon<f64> {
    polygon![(x: x0, y: y0), (x: x1, y: y0), (x: x1, y: y1), (x: x0, y: y1)]
}

/// Rows of random heights, each cut into columns of random widths (so
/// vertical boundaries do not line up between rows: T-junctions).
fn brick_tiling(
    x0: f64,
    y0: f64,
    rows: &[f64],
    cols: &[Vec<f64>],
) -> (Vec<Polygon<f64>>, Vec<f64>, Vec<Vec<f64>>) {
    let mut polys = Vec::new();
    let mut ys = vec![y0];
    let mut xs_per_row = Vec::new();
    for (r, h) in rows.iter().enumerate() {
        let (ya, yb) = (*ys.last().unwrap(), ys.last().unwrap() + h);
        let mut xs = vec![x0];
        for w in &cols[r] {
            let (xa, xb) = (*xs.last().unwrap(), xs.last().unwrap() + w);
            polys.push(rect(xa, ya, xb, yb));
            xs.push(xb);
        }
        ys.push(yb);
        xs_per_row.push(xs);
    }
    (polys, ys, xs_per_row)
}

fn dataset_of(polys: &[Polygon<f64>], kind: GridKind) -> Dataset {
    let mut ds = Dataset::default();
    for (k, p) in polys.iter().enumerate() {
        ds.grids.push(grid(k as u64 + 1, kind, p.clone()));
    }
    ds
}

fn containing(polys: &[PreparedArea], c: Coord<f64>) -> usize {
    polys.iter().filter(|p| p.contains(c)).count()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Every point of the half-open area `[x0, x1) × [y0, y1)`, including
    /// points exactly on shared edges and corners, lands in exactly one grid;
    /// the R-tree path, the raster locator and a brute-force count agree.
    #[test]
    fn brick_tiling_assigns_each_point_once(
        x0 in 100.0f64..120.0, y0 in 25.0f64..40.0,
        rows in prop::collection::vec(0.0005f64..0.004, 1..6),
        col_seed in prop::collection::vec(prop::collection::vec(0.0005f64..0.004, 1..6), 6),
        probes in prop::collection::vec((0.0f64..1.0, 0.0f64..1.0, 0usize..4), 200),
    ) {
        let cols: Vec<Vec<f64>> = (0..rows.len()).map(|r| col_seed[r].clone()).collect();
        let (polys, ys, xs) = brick_tiling(x0, y0, &rows, &cols);
        let prepared: Vec<PreparedArea> = polys.iter().map(PreparedArea::from_polygon).collect();
        let index = SpatialIndex::build(&dataset_of(&polys, GridKind::Comprehensive));
        for (u, v, mode) in probes {
            // Pick a row, then a point inside it, on a vertical edge, on the
            // row's bottom edge, or on a corner.
            let r = ((v * rows.len() as f64) as usize).min(rows.len() - 1);
            let row_xs = &xs[r];
            let width = row_xs.last().unwrap() - x0;
            let c = match mode {
                0 => coord! { x: x0 + u * width, y: ys[r] + v.fract() * rows[r] },
                1 => coord! { x: row_xs[((u * row_xs.len() as f64) as usize).min(row_xs.len() - 2)], y: ys[r] + 0.5 * rows[r] },
                2 => coord! { x: x0 + u * width, y: ys[r] },
                _ => coord! { x: row_xs[((u * row_xs.len() as f64) as usize).min(row_xs.len() - 2)], y: ys[r] },
            };
            // Rows have different widths: only points inside the union count.
            let inside_union = c.x < *row_xs.last().unwrap();
            if !inside_union {
                continue;
            }
            prop_assert_eq!(containing(&prepared, c), 1, "point {:?}", c);
            let slow = index.locate(Layer::Comprehensive, c);
            prop_assert!(slow.is_some());
            let fast = index.locator(Layer::Comprehensive).locate(c);
            prop_assert_eq!(slow, fast, "R-tree and raster disagree at {:?}", c);
        }
        // The open top and right sides belong to nothing.
        let top = coord! { x: x0, y: *ys.last().unwrap() };
        prop_assert_eq!(containing(&prepared, top), 0);
        let right = coord! { x: *xs[0].last().unwrap(), y: y0 };
        prop_assert_eq!(containing(&prepared, right), 0);
    }

    /// A jittered lattice (sloped shared edges, identical coordinates walked
    /// in opposite directions): points on and near edges land exactly once.
    #[test]
    fn jittered_tiling_assigns_each_point_once(
        n in 2usize..7,
        jitter in prop::collection::vec((-0.3f64..0.3, -0.3f64..0.3), 64),
        probes in prop::collection::vec((0.0f64..1.0, 0.0f64..1.0, 0.0f64..1.0, 0usize..3), 200),
    ) {
        let (x0, y0, d) = (114.3, 34.8, 0.002);
        let corner = |i: usize, j: usize| -> Coord<f64> {
            let (jx, jy) = jitter[(j * (n + 1) + i) % jitter.len()];
            let inner_x = i > 0 && i < n;
            let inner_y = j > 0 && j < n;
            coord! {
                x: x0 + (i as f64 + if inner_x { jx } else { 0.0 }) * d,
                y: y0 + (j as f64 + if inner_y { jy } else { 0.0 }) * d,
            }
        };
        let mut polys = Vec::new();
        for j in 0..n {
            for i in 0..n {
                polys.push(Polygon::new(
                    LineString(vec![corner(i, j), corner(i + 1, j), corner(i + 1, j + 1), corner(i, j + 1), corner(i, j)]),
                    vec![],
                ));
            }
        }
        let prepared: Vec<PreparedArea> = polys.iter().map(PreparedArea::from_polygon).collect();
        let index = SpatialIndex::build(&dataset_of(&polys, GridKind::Micro));
        let locator = index.locator(Layer::Micro);
        for (u, v, t, mode) in probes {
            let (i, j) = (((u * n as f64) as usize).min(n - 1), ((v * n as f64) as usize).min(n - 1));
            let c = match mode {
                // On (or within rounding of) the cell's left or bottom edge.
                0 => { let (a, b) = (corner(i, j), corner(i, j + 1)); coord! { x: a.x + t * (b.x - a.x), y: a.y + t * (b.y - a.y) } }
                1 => { let (a, b) = (corner(i, j), corner(i + 1, j)); coord! { x: a.x + t * (b.x - a.x), y: a.y + t * (b.y - a.y) } }
                // A lattice corner.
                _ => corner(i, j),
            };
            prop_assert_eq!(containing(&prepared, c), 1, "point {:?}", c);
            prop_assert_eq!(index.locate(Layer::Micro, c), locator.locate(c));
        }
    }

    /// WGS84 → GCJ-02/BD-09 → WGS84 stays within 0.5 m (aim: < 1 cm)
    /// anywhere in China's bounding box.
    #[test]
    fn crs_round_trip_across_china(lon in 73.6f64..134.7, lat in 18.2f64..53.5) {
        let w = coord! { x: lon, y: lat };
        for crs in [Crs::Gcj02, Crs::Bd09] {
            let back = crs.to_wgs84(crs.from_wgs84(w));
            let d = Haversine.distance(Point(w), Point(back));
            prop_assert!(d < 0.01, "{crs}: round trip off by {d} m at {w:?}");
            let there = crs.from_wgs84(crs.to_wgs84(w));
            let d = Haversine.distance(Point(w), Point(there));
            prop_assert!(d < 0.01, "{crs}: inverse round trip off by {d} m at {w:?}");
        }
    }
}

#[test]
fn validation_catches_nan() {
    let err = Limits::default()
        .validate_point(Point::new(f64::NAN, 34.0))
        .unwrap_err();
    assert!(err.to_string().contains("finite"), "{err}");
    let ring = vec![
        coord! {x: 114.0, y: 34.0},
        coord! {x: f64::NAN, y: 34.0},
        coord! {x: 114.01, y: 34.01},
        coord! {x: 114.0, y: 34.0},
    ];
    let err = Limits::default().validate_rings(&[ring]).unwrap_err();
    assert!(
        matches!(err, GeometryError::InvalidCoord { index: 1, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("coordinate 1"), "{err}");
}

#[test]
fn validation_catches_out_of_range() {
    // Web-Mercator metres read as degrees.
    let err = Limits::default()
        .validate_point(Point::new(12_724_000.0, 4_100_000.0))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("longitude must be within [-180, 180]"),
        "{err}"
    );
    let err = Limits::default()
        .validate_point(Point::new(34.0, 114.0))
        .unwrap_err();
    assert!(err.to_string().contains("latitude"), "{err}");
}

#[test]
fn validation_catches_unclosed_ring() {
    let ring = vec![
        coord! {x: 114.0, y: 34.0},
        coord! {x: 114.01, y: 34.0},
        coord! {x: 114.01, y: 34.01},
        coord! {x: 114.0, y: 34.01},
    ];
    let err = Limits::default().validate_rings(&[ring]).unwrap_err();
    assert!(matches!(err, GeometryError::UnclosedRing { .. }));
    assert_eq!(
        err.to_string(),
        "polygon 0 exterior ring is not closed: first coordinate (114, 34) differs from last (114, 34.01); repair closes it"
    );
    let gj: geojson::Geometry = serde_json::from_str(
        r#"{"type":"Polygon","coordinates":[[[114.0,34.0],[114.01,34.0],[114.01,34.01],[114.0,34.01]]]}"#,
    )
    .unwrap();
    assert!(matches!(
        Limits::default().validate_geojson(&gj),
        Err(GeometryError::UnclosedRing { .. })
    ));
}

#[test]
fn validation_catches_bow_tie() {
    let bow_tie = polygon![(x: 114.0, y: 34.0), (x: 114.01, y: 34.01), (x: 114.01, y: 34.0), (x: 114.0, y: 34.01)];
    let err = Limits::default().validate_polygon(&bow_tie).unwrap_err();
    assert_eq!(
        err,
        GeometryError::SelfIntersection {
            at: geo_core::geometry::RingLoc { part: 0, ring: 0 },
            x: 114.005,
            y: 34.005,
            edge_a: 0,
            edge_b: 2
        }
    );
    assert_eq!(
        err.to_string(),
        "polygon 0 exterior ring crosses itself at (114.005, 34.005) (edges 0 and 2)"
    );
    let geo_says_invalid = !geo::Validation::is_valid(&bow_tie);
    assert!(geo_says_invalid);
}

fn building(id: u64, poly: Polygon<f64>) -> Building {
    Building {
        id: BuildingId::new(id).unwrap(),
        compound: None,
        footprint: poly.into(),
        levels: Some(6),
        height_m: None,
        usage: BuildingUse::Residential,
        units: 0,
        households: 1,
        households_estimated: false,
        address: None,
    }
}

#[test]
fn assignment_chain_person_household_building_grid() {
    let mut ds = Dataset::default();
    ds.grids.push(grid(
        1,
        GridKind::Comprehensive,
        rect(114.0, 34.0, 114.01, 34.01),
    ));
    ds.grids.push(grid(
        2,
        GridKind::Comprehensive,
        rect(114.01, 34.0, 114.02, 34.01),
    ));
    ds.grids.push(grid(
        3,
        GridKind::Micro,
        rect(114.01, 34.0, 114.015, 34.005),
    ));
    ds.buildings
        .push(building(1, rect(114.011, 34.001, 114.012, 34.0015)));
    ds.buildings
        .push(building(2, rect(114.5, 34.5, 114.501, 34.501)));
    ds.households.push(Household {
        id: HouseholdId::new(7).unwrap(),
        building: BuildingId::new(1).unwrap(),
        unit: None,
        floor: 3,
        room: "302".into(),
        size: 2,
        tenure: Tenure::Owned,
        group_rented: false,
        party_member: false,
    });
    ds.persons.push(Person {
        id: PersonId::new(9).unwrap(),
        household: Some(HouseholdId::new(7).unwrap()),
        name: "张三".into(),
        national_id: None,
        phone: None,
        birth_year: 1950,
        sex: Sex::Male,
        tags: vec![],
    });
    ds.events.push(Event::reported(
        EventId::new(1).unwrap(),
        EventCategory::all().next().unwrap(),
        "路灯不亮",
        Point::new(114.005, 34.005),
        chrono::DateTime::UNIX_EPOCH,
        EventSource::Patrol,
    ));
    let index = SpatialIndex::build(&ds);
    let a = assign_dataset(&ds, &index);
    let g = |id| Some(GridId::new(id).unwrap());
    let p = a.get(Assigned::Person(PersonId::new(9).unwrap()));
    assert_eq!(
        (p.comprehensive, p.micro, p.community),
        (g(2), g(3), CommunityId::new(1).ok())
    );
    assert_eq!(a.get(Assigned::Household(HouseholdId::new(7).unwrap())), p);
    assert_eq!(
        a.get(Assigned::Event(EventId::new(1).unwrap()))
            .comprehensive,
        g(1)
    );
    assert!(a
        .get(Assigned::Building(BuildingId::new(2).unwrap()))
        .is_unassigned());
    assert_eq!(a.outside.buildings, 1);
    assert_eq!(a.outside.located, 3);
    assert!(!a.suspect_wrong_crs());
    let households = index.households_in(&rect(114.0, 34.0, 114.02, 34.01), &ds);
    assert_eq!(households, vec![HouseholdId::new(7).unwrap()]);
    assert_eq!(
        index.nearest(Layer::Building, coord! {x: 114.0115, y: 34.0012}, 1)[0].0,
        ElementRef::Building(BuildingId::new(1).unwrap())
    );
}

#[test]
fn wrong_crs_is_flagged() {
    // Grids in WGS84, events given in BD-09 but read as WGS84: ~1 km off.
    let mut ds = Dataset::default();
    ds.grids.push(grid(
        1,
        GridKind::Comprehensive,
        rect(114.0, 34.0, 114.004, 34.004),
    ));
    for k in 0..40u64 {
        let w = coord! { x: 114.0 + (k % 8) as f64 * 0.0005, y: 34.0 + (k / 8) as f64 * 0.0008 };
        let shifted = Crs::Bd09.from_wgs84(w);
        ds.events.push(Event::reported(
            EventId::new(k + 1).unwrap(),
            EventCategory::all().next().unwrap(),
            "积水",
            Point(shifted),
            chrono::DateTime::UNIX_EPOCH,
            EventSource::Hotline,
        ));
    }
    let index = SpatialIndex::build(&ds);
    let a = assign_dataset(&ds, &index);
    assert!(a.suspect_wrong_crs(), "outside share {}", a.outside_share());
    for e in &mut ds.events {
        e.location = Point(Crs::Bd09.to_wgs84(e.location.0));
    }
    let a = assign_dataset(&ds, &index);
    assert_eq!(a.outside.events, 0);
}
