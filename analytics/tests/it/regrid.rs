//! Re-gridding: invariants on generated instances, diagnostics, exports.

#![allow(clippy::unwrap_used)]

use std::collections::{HashMap, HashSet};

use analytics::regrid::{
    adjacency, adjusted_rand_index, regrid, to_geojson, write_xlsx, Barrier, BarrierKind,
    Diagnostic, Mode, Proposal, RegridInput, RegridParams, RegridUnit,
};
use geo_core::ids::{BuildingId, CompoundId, GridId, UnitId};
use geo_types::{LineString, Point};
use proptest::prelude::*;

/// Deterministic generator for test instances (SplitMix64).
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn f(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn range(&mut self, lo: u32, hi: u32) -> u32 {
        lo + (self.next() % u64::from(hi - lo + 1)) as u32
    }
}

const LON: f64 = 112.45;
const LAT: f64 = 34.62;
/// Degrees per metre (roughly) at the test latitude.
const DX: f64 = 1.0 / 91_700.0;
const DY: f64 = 1.0 / 110_574.0;

fn unit(id: u64, x_m: f64, y_m: f64, households: u32) -> RegridUnit {
    RegridUnit::new(
        UnitId::new(id).unwrap(),
        BuildingId::new(id).unwrap(),
        Point::new(LON + x_m * DX, LAT + y_m * DY),
        households,
    )
}

/// `n` units in `clusters` clusters about 150 m apart, households 1–40.
fn clustered(seed: u64, n: usize, clusters: usize) -> RegridInput {
    let mut g = Gen(seed);
    let centres: Vec<(f64, f64)> = (0..clusters)
        .map(|c| ((c % 3) as f64 * 150.0, (c / 3) as f64 * 150.0))
        .collect();
    let units = (0..n)
        .map(|i| {
            let (cx, cy) = centres[i % clusters];
            let r = 70.0 * g.f().sqrt();
            let a = g.f() * std::f64::consts::TAU;
            let mut u = unit(
                i as u64 + 1,
                cx + r * a.cos(),
                cy + r * a.sin(),
                g.range(1, 40),
            );
            u.elderly = g.range(0, 10);
            u.key_people = g.range(0, 1);
            u.events_12m = g.range(0, 5);
            u
        })
        .collect();
    RegridInput {
        units,
        ..Default::default()
    }
}

fn grid_of(p: &Proposal) -> HashMap<UnitId, usize> {
    let mut m = HashMap::new();
    for (i, g) in p.grids.iter().enumerate() {
        for u in &g.units {
            assert!(m.insert(*u, i).is_none(), "unit {u} is in two grids");
        }
    }
    m
}

fn assert_contiguous(input: &RegridInput, params: &RegridParams, p: &Proposal) {
    let adj = adjacency(input, params).unwrap();
    let of = grid_of(p);
    let mut nb: HashMap<UnitId, Vec<UnitId>> = HashMap::new();
    for e in &adj.edges {
        if of[&e.a] == of[&e.b] {
            nb.entry(e.a).or_default().push(e.b);
            nb.entry(e.b).or_default().push(e.a);
        }
    }
    for g in &p.grids {
        let mut seen: HashSet<UnitId> = HashSet::from([g.units[0]]);
        let mut stack = vec![g.units[0]];
        while let Some(u) = stack.pop() {
            for x in nb.get(&u).into_iter().flatten() {
                if seen.insert(*x) {
                    stack.push(*x);
                }
            }
        }
        assert_eq!(
            seen.len(),
            g.units.len(),
            "grid {} is not contiguous",
            g.code_hint
        );
    }
}

fn run(input: &RegridInput, params: &RegridParams) -> Proposal {
    regrid(input, params, &mut |_| {}).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn generated_instances_keep_every_invariant(
        seed in any::<u64>(),
        n in 20usize..400,
        clusters in 1usize..7,
        run_seed in 0u64..1000,
    ) {
        let input = clustered(seed, n, clusters);
        let params = RegridParams::micro(30, 80).with_seed(run_seed);
        let p = run(&input, &params);

        let total: u64 = input.units.iter().map(|u| u64::from(u.households)).sum();
        prop_assert_eq!(p.grids.iter().map(|g| g.households).sum::<u64>(), total);
        let of = grid_of(&p);
        prop_assert_eq!(of.len(), input.units.len());
        for g in &p.grids {
            prop_assert!((30..=80).contains(&g.households), "grid {} has {}", g.code_hint, g.households);
        }
        prop_assert_eq!(p.report.violations, 0);
        prop_assert_eq!(p.report.violations_where_feasible, 0);
        assert_contiguous(&input, &params, &p);

        let again = run(&input, &params);
        prop_assert_eq!(
            p.grids.iter().map(|g| &g.units).collect::<Vec<_>>(),
            again.grids.iter().map(|g| &g.units).collect::<Vec<_>>()
        );
    }
}

#[test]
fn isolated_compound_is_diagnosed_not_hidden() {
    let mut input = clustered(7, 150, 3);
    // Two entrances, 20 households, 2 km away from everything.
    input.units.push(unit(9001, 2_000.0, 2_000.0, 12));
    input.units.push(unit(9002, 2_010.0, 2_000.0, 8));
    let params = RegridParams::micro(30, 80);
    let p = run(&input, &params);
    let isolated = p.report.diagnostics.iter().find_map(|d| match d {
        Diagnostic::Infeasible {
            households,
            sample_units,
            ..
        } => Some((*households, sample_units.clone())),
        _ => None,
    });
    let (hh, sample) = isolated.expect("an Infeasible diagnostic for the isolated compound");
    assert_eq!(hh, 20);
    assert!(sample.contains(&UnitId::new(9001).unwrap()));
    let lone = p
        .grids
        .iter()
        .find(|g| g.units.contains(&UnitId::new(9001).unwrap()))
        .unwrap();
    assert_eq!(lone.households, 20);
    assert_eq!(p.report.violations, 1, "the under-loaded grid is counted");
    assert_eq!(p.report.after.under, 1);
    // It is explained by its part's diagnostic, not by a search failure.
    assert_eq!(p.report.violations_where_feasible, 0);
    assert!(p.report.diagnostics.iter().any(
        |d| matches!(d, Diagnostic::Infeasible { grids, .. } if grids.as_slice() == std::slice::from_ref(&lone.code_hint))
    ));
    assert!(!p
        .report
        .diagnostics
        .iter()
        .any(|d| matches!(d, Diagnostic::BoundsNotMet { .. })));
}

#[test]
fn walled_compound_too_small_is_joined_across_its_wall() {
    let mut input = clustered(11, 120, 2);
    // A walled compound of 20 households next to the others.
    let wall = LineString::from(vec![
        (LON + 300.0 * DX, LAT - 30.0 * DY),
        (LON + 300.0 * DX, LAT + 30.0 * DY),
    ]);
    input.barriers.push(Barrier {
        kind: BarrierKind::Wall,
        line: wall,
    });
    for (i, x) in [(1, 320.0), (2, 335.0)] {
        let mut u = unit(8000 + i, x, 0.0, 10);
        u.compound = Some(CompoundId::new(5).unwrap());
        input.units.push(u);
    }
    let params = RegridParams::micro(30, 80);
    let p = run(&input, &params);
    assert!(
        p.report
            .diagnostics
            .iter()
            .any(|d| matches!(d, Diagnostic::CrossedBarrier { households: 20, .. })),
        "{:?}",
        p.report.diagnostics
    );
    assert_eq!(p.report.violations, 0);
    assert_contiguous(&input, &params, &p);
}

#[test]
fn road_is_not_crossed_when_both_sides_are_feasible() {
    // Two blocks of 10 x 10 units, 10 households each, split by a road.
    let mut units = Vec::new();
    for i in 0..200u64 {
        let side = if i < 100 { 0.0 } else { 220.0 };
        let j = i % 100;
        units.push(unit(
            i + 1,
            side + (j % 10) as f64 * 20.0,
            (j / 10) as f64 * 20.0,
            10,
        ));
    }
    let road = north_south_line(200.0);
    let input = RegridInput {
        units,
        barriers: vec![Barrier {
            kind: BarrierKind::Road,
            line: road,
        }],
        ..Default::default()
    };
    let p = run(&input, &RegridParams::micro(30, 80));
    assert_eq!(p.report.violations, 0);
    assert_no_grid_spans(&p, "road");
}

#[test]
fn oversized_unit_is_reported_and_kept_whole() {
    let mut input = clustered(3, 100, 2);
    input.units.push(unit(7777, 40.0, 10.0, 120));
    let params = RegridParams::micro(30, 80);
    let p = run(&input, &params);
    let tower = UnitId::new(7777).unwrap();
    assert!(p.report.diagnostics.iter().any(|d| matches!(
        d,
        Diagnostic::OversizedUnit { unit, households: 120, split_into: 1, .. } if *unit == tower
    )));
    let g = p.grids.iter().find(|g| g.units.contains(&tower)).unwrap();
    assert_eq!(g.units, vec![tower]);
    assert_eq!(g.households, 120);
    assert_eq!(p.report.after.over, 1);
    grid_of(&p);

    let split = run(
        &input,
        &RegridParams {
            allow_floor_split: true,
            ..params
        },
    );
    let parts: Vec<_> = split
        .grids
        .iter()
        .filter(|g| g.units == vec![tower])
        .collect();
    assert_eq!(parts.len(), 2);
    assert_eq!(parts.iter().map(|g| g.households).sum::<u64>(), 120);
    assert!(parts.iter().all(|g| g.households == 60));
    assert_eq!(split.report.violations, 0);
}

#[test]
fn ari_of_identical_partitions_is_one() {
    assert_eq!(adjusted_rand_index(&[3, 3, 1, 1, 2], &[3, 3, 1, 1, 2]), 1.0);
    // Today's grids = a valid proposal: minimal change keeps them.
    let input = clustered(5, 300, 4);
    let first = run(&input, &RegridParams::micro(30, 80));
    let mut today = input.clone();
    let of = grid_of(&first);
    for u in &mut today.units {
        u.current_grid = Some(GridId::new(of[&u.id] as u64 + 1).unwrap());
    }
    let again = run(
        &today,
        &RegridParams::micro(30, 80).with_mode(Mode::MinimalChange),
    );
    assert_eq!(again.report.before.over + again.report.before.under, 0);
    assert_eq!(again.report.violations, 0);
    let ari = again.report.adjusted_rand_index.unwrap();
    assert!(ari > 0.8, "minimal change moved too much: ARI {ari}");
    assert!(
        again.report.households_moved * 5 < 300 * 20,
        "{}",
        again.report.households_moved
    );
}

#[test]
fn minimal_change_repairs_overloaded_grids() {
    let mut input = clustered(9, 240, 3);
    // Today: three huge grids, one per cluster.
    for (i, u) in input.units.iter_mut().enumerate() {
        u.current_grid = Some(GridId::new(i as u64 % 3 + 1).unwrap());
    }
    let params = RegridParams::micro(30, 80).with_mode(Mode::MinimalChange);
    let p = run(&input, &params);
    assert_eq!(p.report.before.over, 3);
    assert_eq!(p.report.violations, 0);
    assert_contiguous(&input, &params, &p);
}

#[test]
fn count_mode_makes_the_requested_number() {
    let input = clustered(21, 200, 2);
    let total: u64 = input.units.iter().map(|u| u64::from(u.households)).sum();
    let n = (total / 60) as usize;
    let p = run(
        &input,
        &RegridParams::micro(30, 80).with_mode(Mode::Count(n)),
    );
    assert_eq!(p.grids.len(), n);
    assert_eq!(p.report.violations, 0);
}

#[test]
fn shapes_tile_the_area_and_export() {
    let input = clustered(4, 200, 3);
    let p = run(&input, &RegridParams::micro(30, 80));
    let area: f64 = p.grids.iter().map(|g| g.area_m2).sum();
    // Bounding box of the points plus the 30 m margin.
    let xs: Vec<f64> = input.units.iter().map(|u| u.point.x()).collect();
    let ys: Vec<f64> = input.units.iter().map(|u| u.point.y()).collect();
    let w = (xs.iter().cloned().fold(f64::MIN, f64::max)
        - xs.iter().cloned().fold(f64::MAX, f64::min))
        / DX
        + 60.0;
    let h = (ys.iter().cloned().fold(f64::MIN, f64::max)
        - ys.iter().cloned().fold(f64::MAX, f64::min))
        / DY
        + 60.0;
    assert!(
        (area / (w * h) - 1.0).abs() < 0.02,
        "grids cover {area} of {}",
        w * h
    );
    for g in &p.grids {
        assert!(g.polsby_popper > 0.0 && g.polsby_popper <= 1.0);
        assert!(g.convex_hull_ratio > 0.0 && g.convex_hull_ratio <= 1.0 + 1e-9);
    }

    let fc = to_geojson(&p);
    assert_eq!(fc.features.len(), p.grids.len());
    let json = serde_json::to_string(&p).unwrap();
    assert!(json.contains("\"adjusted_rand_index\""));

    let path = std::env::temp_dir().join(format!("regrid-{}.xlsx", std::process::id()));
    write_xlsx(&p, &path).unwrap();
    assert!(std::fs::metadata(&path).unwrap().len() > 1000);
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn bad_parameters_are_refused_with_the_value() {
    let input = clustered(1, 30, 1);
    let err = regrid(&input, &RegridParams::micro(80, 30), &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("max = 30"), "{err}");
    let mut dup = input.clone();
    dup.units.push(dup.units[0].clone());
    let err = regrid(&dup, &RegridParams::micro(30, 80), &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("more than once"), "{err}");
}

#[test]
fn water_places_of_a_dataset_are_river_barriers() {
    use geo_core::ids::PlaceId;
    use geo_core::model::{GridKind, Place, PlaceCategory, Unit};
    use geo_types::{Geometry, Polygon};
    // Two blocks of 10 x 10 entrances, 10 households each, either side of a
    // river drawn as a line; a pond (polygon) and a point-only water place.
    let mut ds = geo_core::Dataset::default();
    for i in 0..200u64 {
        let side = if i < 100 { 0.0 } else { 220.0 };
        let j = i % 100;
        ds.units.push(Unit {
            id: UnitId::new(i + 1).unwrap(),
            building: BuildingId::new(i + 1).unwrap(),
            number: 1,
            households: 10,
            entrance: Point::new(
                LON + (side + (j % 10) as f64 * 20.0) * DX,
                LAT + (j / 10) as f64 * 20.0 * DY,
            ),
        });
    }
    let river = north_south_line(200.0);
    let pond = Polygon::new(
        LineString::from(vec![
            (LON - 0.01, LAT - 0.01),
            (LON - 0.009, LAT - 0.01),
            (LON - 0.009, LAT - 0.009),
            (LON - 0.01, LAT - 0.01),
        ]),
        vec![],
    );
    for (id, geometry) in [
        (1, Geometry::LineString(river.clone())),
        (2, Geometry::Polygon(pond.clone())),
        (3, Geometry::Point(Point::new(LON, LAT))),
    ] {
        ds.places.push(Place {
            id: PlaceId::new(id).unwrap(),
            name: format!("water {id}"),
            category: PlaceCategory::Water,
            service: None,
            geometry,
        });
    }
    let input = RegridInput::from_dataset(&ds, GridKind::Micro, chrono::Utc::now(), |_| {
        Default::default()
    });
    let rivers: Vec<&LineString<f64>> = input
        .barriers
        .iter()
        .filter(|b| b.kind == BarrierKind::River)
        .map(|b| &b.line)
        .collect();
    assert_eq!(rivers, vec![&river, pond.exterior()]);

    let params = RegridParams::micro(30, 80);
    let crossing = adjacency(&input, &params)
        .unwrap()
        .edges
        .iter()
        .filter(|e| e.crossing == Some(BarrierKind::River))
        .count();
    assert!(crossing > 0, "links across the river are marked");
    let p = run(&input, &params);
    assert_eq!(p.report.violations, 0);
    assert_no_grid_spans(&p, "river");
}

#[test]
fn lumpy_part_is_joined_across_a_road_after_a_failed_search() {
    // East of a road: two units of 22 and 78 households (100 in all, so the
    // household count alone allows grids of 30–80, but no grouping of these
    // two units does). West: a block of 10-household units.
    let mut units = Vec::new();
    for i in 0..40u64 {
        units.push(unit(
            i + 1,
            (i % 8) as f64 * 20.0,
            (i / 8) as f64 * 20.0,
            10,
        ));
    }
    units.push(unit(101, 200.0, 40.0, 22));
    units.push(unit(102, 200.0, 60.0, 78));
    let road = north_south_line(180.0);
    let input = RegridInput {
        units,
        barriers: vec![Barrier {
            kind: BarrierKind::Road,
            line: road,
        }],
        ..Default::default()
    };
    let params = RegridParams::micro(30, 80);
    let p = run(&input, &params);
    assert_eq!(p.report.violations, 0, "{:?}", p.report.diagnostics);
    assert!(
        p.report.diagnostics.iter().any(|d| matches!(
            d,
            Diagnostic::CrossedBarrier {
                barrier: BarrierKind::Road,
                households: 100,
                ..
            }
        )),
        "{:?}",
        p.report.diagnostics
    );
    assert_contiguous(&input, &params, &p);
}

#[test]
fn unit_whose_neighbours_are_all_too_big_is_diagnosed() {
    // 20 households between two units of 70: a grid holding the 20 holds
    // at least 90 > 80, while the households (160) would allow 2–5 grids.
    let input = RegridInput {
        units: vec![
            unit(1, 0.0, 0.0, 70),
            unit(2, 30.0, 0.0, 20),
            unit(3, 60.0, 0.0, 70),
        ],
        ..Default::default()
    };
    let p = run(&input, &RegridParams::micro(30, 80));
    assert_eq!(p.report.violations, 1);
    assert_eq!(p.report.violations_where_feasible, 0);
    let lone = p
        .grids
        .iter()
        .find(|g| g.units.contains(&UnitId::new(2).unwrap()))
        .unwrap();
    assert!(
        p.report.diagnostics.iter().any(|d| matches!(
            d,
            Diagnostic::Infeasible { grids, households: 20, units: 1, .. }
                if grids.as_slice() == std::slice::from_ref(&lone.code_hint)
        )),
        "{:?}",
        p.report.diagnostics
    );
}

/// Units 1–100 lie west of the barrier: no grid of `p` holds units of both sides.
fn assert_no_grid_spans(p: &Proposal, barrier: &str) {
    for g in &p.grids {
        let west = g.units.iter().filter(|u| u.get() <= 100).count();
        assert!(
            west == 0 || west == g.units.len(),
            "grid {} spans the {barrier}",
            g.code_hint
        );
    }
}

/// A straight line running north–south through the whole test area, `x_m`
/// metres east of the origin (a road or river barrier).
fn north_south_line(x_m: f64) -> LineString<f64> {
    LineString::from(vec![
        (LON + x_m * DX, LAT - 0.01),
        (LON + x_m * DX, LAT + 0.01),
    ])
}
