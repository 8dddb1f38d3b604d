//! Real data nobody here wrote, through the same path as `wangge import`:
//! parse, assign to grids, one store transaction.

use std::path::PathBuf;

use geo_core::io::{import, ElementKind, ImportOptions};
use geo_core::store::{Scope, Store};
use web_viewer::ingest::ingest;

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
