//! Real data nobody here wrote, through the same path as `wangge import`:
//! parse, assign to grids, one store transaction; and the re-gridding
//! recommender on real San Francisco buildings.

use std::path::PathBuf;

use geo_core::ids::UnitId;
use geo_core::io::{import, ElementKind, ImportOptions};
use geo_core::model::{Building, GridKind, Unit};
use geo_core::store::{Scope, Store};
use geo_types::Point;
use web_viewer::cli::regrid::{load_input, regrid, summary_table, RegridRequest};
use web_viewer::ingest::ingest;

use crate::analytics::assert_violations_explained;
use crate::common::temp_db;

fn real(name: &str) -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data/real")
        .join(name);
    assert!(
        p.exists(),
        "real-data file missing: {} (expected beside the repository in ../shared/data/real/)",
        p.display()
    );
    p
}

fn count(store: &Store, kind: &str) -> u64 {
    let c = store.counts(&Scope::Town, 2026).expect("counts");
    c.elements
        .iter()
        .find(|(k, _)| k == kind)
        .map(|(_, n)| *n)
        .expect("kind counted")
}

#[test]
fn hong_kong_constituencies_import_as_452_communities() {
    let path = real("hk-dcca-2019.geojson");
    let opts = ImportOptions {
        division_prefix: Some("810000000".into()),
        ..ImportOptions::default()
    };
    let batch = import::read(ElementKind::Communities, &path, &opts).expect("HK import");
    let mut store = Store::open(temp_db("hk")).expect("store");
    ingest(&mut store, &batch.dataset, false, None).expect("stored");
    assert_eq!(count(&store, "communities"), 452);
    // Importing the same file again is refused as a whole: nothing doubles.
    assert!(ingest(&mut store, &batch.dataset, false, None).is_err());
    assert_eq!(count(&store, "communities"), 452);
}

#[test]
fn lujiazui_tile_cut_buildings_merge_by_id() {
    let path = real("shanghai-lujiazui-buildings.geojson");
    let without = import::read(ElementKind::Buildings, &path, &ImportOptions::default());
    let err = without.expect_err("duplicate ids refused without --merge-by-id");
    assert!(err.to_string().to_lowercase().contains("id"), "{err}");
    let opts = ImportOptions {
        merge_by_id: true,
        negative_ids: true,
        ..ImportOptions::default()
    };
    let batch = import::read(ElementKind::Buildings, &path, &opts).expect("merged import");
    let n = batch.dataset.buildings.len();
    assert!(
        (1_300..=1_517).contains(&n),
        "{n} buildings after merging pieces"
    );
    let mut store = Store::open(temp_db("ljz")).expect("store");
    ingest(&mut store, &batch.dataset, false, None).expect("stored");
    assert_eq!(count(&store, "buildings"), n as u64);
}

#[test]
fn san_francisco_osm_imports_with_estimated_households() {
    let path = real("sf-downtown.osm.pbf");
    let mut imp =
        wangge_data::osm::read_pbf(&path, &wangge_data::osm::OsmOptions::default()).expect("osm");
    let est = wangge_data::estimate::estimate_all(&mut imp.dataset.buildings, &Default::default());
    let b = imp.dataset.buildings.len();
    assert!((7_000..=8_600).contains(&b), "{b} buildings");
    assert!(est.households > 10_000, "{est}");
    let mut store = Store::open(temp_db("sf-osm")).expect("store");
    ingest(&mut store, &imp.dataset, false, None).expect("stored");
    assert_eq!(count(&store, "buildings"), b as u64);
    assert!(count(&store, "roads") >= 5_000);
}

#[test]
fn san_francisco_incidents_import_as_events() {
    let path = real("sf-incidents-downtown-2003-2015.csv.gz");
    let opts =
        wangge_data::incidents::IncidentOptions::sf_incidents().expect("shipped SF category map");
    let imp = wangge_data::incidents::read_events(&path, &opts).expect("incidents");
    assert_eq!(imp.events.len(), 315_027);
    let batch = geo_core::Dataset {
        events: imp.events,
        ..geo_core::Dataset::default()
    };
    let mut store = Store::open(temp_db("sf-events")).expect("store");
    let t = std::time::Instant::now();
    ingest(&mut store, &batch, false, None).expect("stored");
    println!(
        "stored 315,027 events in {:.2} s",
        t.elapsed().as_secs_f64()
    );
    assert_eq!(count(&store, "events"), 315_027);
}

/// The entrances of a building with estimated households: `b.units` of
/// them (at least one, at most one per household) spread evenly along the
/// longer side of its footprint's bounding box through the footprint's
/// vertex mean, households shared out evenly. This is the frame
/// `wangge regrid` reads (units with households; OSM has no entrances).
fn units_of(b: &Building, next_id: &mut u64) -> Vec<Unit> {
    if b.households == 0 {
        return Vec::new();
    }
    let ring = &b.footprint.exterior().0;
    let pts = &ring[..ring.len().saturating_sub(1).max(1)];
    let n = pts.len() as f64;
    let (mx, my) = (
        pts.iter().map(|c| c.x).sum::<f64>() / n,
        pts.iter().map(|c| c.y).sum::<f64>() / n,
    );
    let (x0, x1) = pts
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), c| (a.min(c.x), b.max(c.x)));
    let (y0, y1) = pts
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), c| (a.min(c.y), b.max(c.y)));
    let wide = (x1 - x0) * my.to_radians().cos() >= y1 - y0;
    let k = u32::from(b.units.max(1)).min(b.households);
    (0..k)
        .map(|i| {
            let f = (f64::from(i) + 0.5) / f64::from(k);
            let entrance = if wide {
                Point::new(x0 + f * (x1 - x0), my)
            } else {
                Point::new(mx, y0 + f * (y1 - y0))
            };
            *next_id += 1;
            Unit {
                id: UnitId::new(*next_id).expect("unit id"),
                building: b.id,
                number: (i + 1) as u16,
                households: b.households / k + u32::from(i < b.households % k),
                entrance,
            }
        })
        .collect()
}

#[test]
fn san_francisco_buildings_regrid_without_violations_where_feasible() {
    let path = real("sf-downtown.osm.pbf");
    let mut imp =
        wangge_data::osm::read_pbf(&path, &wangge_data::osm::OsmOptions::default()).expect("osm");
    let est = wangge_data::estimate::estimate_all(&mut imp.dataset.buildings, &Default::default());
    let mut next = 0;
    let units: Vec<Unit> = imp
        .dataset
        .buildings
        .iter()
        .flat_map(|b| units_of(b, &mut next))
        .collect();
    let households: u64 = units.iter().map(|u| u64::from(u.households)).sum();
    assert_eq!(
        households, est.households,
        "every estimated household has a unit"
    );
    imp.dataset.units = units;
    let n_units = imp.dataset.units.len();
    let db = temp_db("sf-regrid");
    let mut store = Store::open(&db).expect("store");
    ingest(&mut store, &imp.dataset, false, None).expect("stored");

    // The CLI's own loading path: units, grid references (none: SF has no
    // grids, so the whole area is one part), roads as barriers.
    for (level, min, max) in [("micro", 30, 80), ("comprehensive", 300, 500)] {
        let params = RegridRequest {
            level: level.into(),
            community: None,
            min,
            max,
            mode: "max".into(),
            seed: 1,
            allow_floor_split: false,
        }
        .params()
        .expect("params");
        let kind = if level == "micro" {
            GridKind::Micro
        } else {
            GridKind::Comprehensive
        };
        let input = load_input(&store, kind, None).expect("input");
        assert_eq!(input.units.len(), n_units);
        assert!(
            input.barriers.len() >= 100,
            "{} road barriers",
            input.barriers.len()
        );
        let t = std::time::Instant::now();
        let p = regrid(&input, &params, &mut |_| {}).expect("regrid");
        println!(
            "San Francisco downtown: {} buildings, {n_units} units, {households} estimated households, {level} {min}–{max}, {:.1} s\n{}",
            imp.dataset.buildings.len(),
            t.elapsed().as_secs_f64(),
            summary_table(&p, &params)
        );
        // Units up to `max` are grouped into grids of at most `max`.
        let grouped: u64 = input
            .units
            .iter()
            .filter(|u| u.households <= max)
            .map(|u| u64::from(u.households))
            .sum();
        assert!(p.grids.len() as u64 >= grouped / u64::from(max));
        assert_violations_explained(&input, &p, min, max);
    }
}
