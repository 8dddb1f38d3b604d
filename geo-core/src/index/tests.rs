use super::*;
use crate::ids::{DivisionCode, GridCode};
use geo_types::{coord, polygon, MultiPolygon, Point};

fn square(x0: f64, y0: f64, d: f64) -> Polygon<f64> {
    polygon![(x: x0, y: y0), (x: x0 + d, y: y0), (x: x0 + d, y: y0 + d), (x: x0, y: y0 + d)]
}

fn grid(id: u64, kind: GridKind, poly: Polygon<f64>) -> Grid {
    let div = DivisionCode::parse("411481100001").unwrap();
    Grid {
        id: GridId::new(id).unwrap(),
        code: GridCode::new(div, id as u16).unwrap(),
        name: format!("第{id}网格"),
        kind,
        community: Some(CommunityId::new(1).unwrap()),
        parent: None,
        boundary: MultiPolygon(vec![poly]),
        workers: vec![],
    }
}

fn building(id: u64, poly: Polygon<f64>) -> Building {
    Building {
        id: BuildingId::new(id).unwrap(),
        compound: None,
        footprint: poly.into(),
        levels: Some(6),
        height_m: None,
        usage: crate::model::BuildingUse::Residential,
        units: 2,
        households: 24,
        households_estimated: false,
        address: None,
    }
}

#[test]
fn grids_at_uses_tie_rule_and_both_paths_agree() {
    let mut ds = Dataset::default();
    ds.grids
        .push(grid(1, GridKind::Comprehensive, square(114.0, 34.0, 0.01)));
    ds.grids
        .push(grid(2, GridKind::Comprehensive, square(114.01, 34.0, 0.01)));
    ds.grids
        .push(grid(3, GridKind::Dedicated, square(114.005, 34.005, 0.002)));
    ds.grids
        .push(grid(4, GridKind::Dedicated, square(114.004, 34.004, 0.01)));
    let index = SpatialIndex::build(&ds);
    let on_edge = coord! { x: 114.01, y: 34.005 };
    let slow = index.grids_at(on_edge);
    assert_eq!(slow.comprehensive, Some(GridId::new(2).unwrap()));
    let inner = coord! { x: 114.0055, y: 34.0055 };
    // Overlapping dedicated grids: the smaller one wins.
    assert_eq!(
        index.grids_at(inner).dedicated,
        Some(GridId::new(3).unwrap())
    );
    let before: Vec<GridRefs> = (0..400)
        .map(|i| index.grids_at(coord! { x: 113.999 + (i % 20) as f64 * 0.0011, y: 33.999 + (i / 20) as f64 * 0.0007 }))
        .collect();
    index.prepare();
    let after: Vec<GridRefs> = (0..400)
        .map(|i| index.grids_at(coord! { x: 113.999 + (i % 20) as f64 * 0.0011, y: 33.999 + (i / 20) as f64 * 0.0007 }))
        .collect();
    assert_eq!(before, after);
    assert_eq!(index.grids_at(on_edge), slow);
    assert!(index.grids_at(coord! { x: 120.0, y: 30.0 }).is_unassigned());
}

#[test]
fn insert_remove_and_queries() {
    let mut index = SpatialIndex::new(34.0);
    index
        .insert_grid(&grid(1, GridKind::Comprehensive, square(114.0, 34.0, 0.01)))
        .unwrap();
    index.prepare();
    let p = coord! { x: 114.005, y: 34.005 };
    assert_eq!(
        index.grids_at(p).comprehensive,
        Some(GridId::new(1).unwrap())
    );
    for i in 1..=10u64 {
        let b = building(i, square(114.0 + i as f64 * 0.001, 34.001, 0.0003));
        index.insert_building(&b).unwrap();
    }
    assert_eq!(index.len(Layer::Building), 10);
    let found = index.buildings_in(&square(114.0005, 34.0, 0.003));
    assert_eq!(found.len(), 3, "{found:?}");
    let near = index.nearest(Layer::Building, coord! { x: 114.00515, y: 34.00115 }, 2);
    assert_eq!(
        near[0],
        (ElementRef::Building(BuildingId::new(5).unwrap()), 0.0)
    );
    assert!(near[1].1 > 50.0 && near[1].1 < 100.0, "{near:?}");
    assert!(index.remove_building(BuildingId::new(5).unwrap()));
    assert!(!index.remove_building(BuildingId::new(5).unwrap()));
    assert_eq!(index.len(Layer::Building), 9);
    let in_box = index.in_bbox(
        Layer::Building,
        Rect::new(coord! {x: 114.0, y: 34.0}, coord! {x: 114.0045, y: 34.01}),
    );
    assert_eq!(in_box.len(), 4);
    // Moving the grid invalidates the locator.
    index
        .insert_grid(&grid(
            1,
            GridKind::Comprehensive,
            square(114.02, 34.0, 0.01),
        ))
        .unwrap();
    assert_eq!(index.grids_at(p).comprehensive, None);
    assert_eq!(index.len(Layer::Comprehensive), 1);
}

#[test]
fn nan_event_is_refused() {
    let index = SpatialIndex::new(34.0);
    let ev_point = Point::new(f64::NAN, 34.0);
    let e = index.point_entry(ElementRef::Event(EventId::new(1).unwrap()), ev_point.0);
    assert!(matches!(e, Err(IndexError::Unlocatable { .. })));
    assert!(index.locate(Layer::Comprehensive, ev_point.0).is_none());
    assert!(index.nearest(Layer::Event, ev_point.0, 3).is_empty());
    index.prepare();
    assert!(index.grids_at(ev_point.0).is_unassigned());
}

#[test]
fn index_is_shareable_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<SpatialIndex>();
    assert_send_sync::<AreaLocator>();
}
