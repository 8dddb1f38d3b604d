//! Real data nobody here wrote, through the same path as `wangge import`:
//! parse, assign to grids, one store transaction; and the re-gridding
//! recommender on real San Francisco buildings.

use std::path::PathBuf;

use geo_core::io::{import, ElementKind, ImportOptions};
use geo_core::model::GridKind;
use geo_core::store::{Scope, Store};
use web_viewer::cli::regrid::summary_table;
use web_viewer::ingest::ingest;
use web_viewer::service::regrid::{load_input, regrid};

use crate::analytics::assert_violations_explained;
use crate::common::{regrid_request, temp_db};

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
    let mut store = crate::common::open_store(temp_db("hk"));
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
    let mut store = crate::common::open_store(temp_db("ljz"));
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
    let mut store = crate::common::open_store(temp_db("sf-osm"));
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
    let mut store = crate::common::open_store(temp_db("sf-events"));
    let t = std::time::Instant::now();
    ingest(&mut store, &batch, false, None).expect("stored");
    println!(
        "stored 315,027 events in {:.2} s",
        t.elapsed().as_secs_f64()
    );
    assert_eq!(count(&store, "events"), 315_027);
}

#[test]
fn san_francisco_buildings_regrid_without_violations_where_feasible() {
    // The user path of the issue: `wangge import osm sf-downtown.osm.pbf`,
    // then `wangge regrid --level micro --min 30 --max 80`. The import
    // estimates households and makes the default units itself.
    let path = real("sf-downtown.osm.pbf").display().to_string();
    let db = temp_db("sf-regrid");
    cli_import(&db, &["osm", &path]).expect("wangge import osm");
    let store = crate::common::open_store(&db);
    let buildings = store
        .load(&Scope::Town, geo_core::store::LoadSet::Spatial)
        .expect("load")
        .buildings;
    let estimated: u64 = buildings.iter().map(|b| u64::from(b.households)).sum();
    let n_units = count(&store, "units");
    assert!(estimated > 10_000, "{estimated} estimated households");
    assert!(
        n_units >= buildings.iter().filter(|b| b.households > 0).count() as u64,
        "{n_units} units: every building with households has one"
    );
    drop(store);

    let dir = db.parent().expect("temp dir").to_path_buf();
    for (level, min, max) in [("micro", 30, 80), ("comprehensive", 300, 500)] {
        // `wangge regrid` itself: no "no unit to re-grid".
        let (out, report) = (
            dir.join(format!("{level}.geojson")),
            dir.join(format!("{level}.json")),
        );
        let args = web_viewer::cli::regrid::RegridArgs {
            json: false,
            level: level.into(),
            community: None,
            min,
            max,
            mode: "max".into(),
            seed: 1,
            allow_floor_split: false,
            out: out.clone(),
            report: report.clone(),
            xlsx: None,
            dump_input: None,
            adopt: false,
            note: None,
        };
        let t = std::time::Instant::now();
        web_viewer::cli::regrid::run(&db, args).expect("wangge regrid");
        let r: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&report).expect("report written")).expect("json");
        assert_eq!(r["violations_where_feasible"], 0, "{level}: {r}");
        let fc: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&out).expect("proposal written")).expect("json");
        let grids = fc["features"].as_array().expect("features").len() as u64;

        // The same loading and engine the CLI ran, for the full check of
        // every violation's explanation.
        let store = crate::common::open_store(&db);
        let params = regrid_request(level, min, max).params().expect("params");
        let kind = if level == "micro" {
            GridKind::Micro
        } else {
            GridKind::Comprehensive
        };
        let input = load_input(&store, kind, None).expect("input");
        drop(store);
        assert_eq!(input.units.len() as u64, n_units);
        let households: u64 = input.units.iter().map(|u| u64::from(u.households)).sum();
        assert_eq!(
            households, estimated,
            "every estimated household has a unit"
        );
        assert!(
            input.barriers.len() >= 100,
            "{} road barriers",
            input.barriers.len()
        );
        let p = regrid(&input, &params, &mut |_| {}).expect("regrid");
        println!(
            "San Francisco downtown: {} buildings, {n_units} units, {households} estimated households, {level} {min}–{max}, CLI and check in {:.1} s\n{}",
            buildings.len(),
            t.elapsed().as_secs_f64(),
            summary_table(&p, &params)
        );
        assert_eq!(
            p.grids.len() as u64,
            grids,
            "the CLI's proposal is the same"
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

/// Runs `wangge import ARGS…` against the store file `db`, as the CLI does.
/// Errors come back as their full message (context chain included).
fn cli_import(db: &std::path::Path, args: &[&str]) -> Result<(), String> {
    let a = web_viewer::cli::import::ImportArgs::from_argv(
        std::iter::once("import").chain(args.iter().copied()),
    )
    .map_err(|e| format!("arguments: {e}"))?;
    crate::common::store_key(db); // as `wangge key init` would have
    web_viewer::cli::import::run(db, a).map_err(|e| format!("{e:#}"))
}

fn shipped_sf_map() -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data/maps/sf-incidents.toml");
    assert!(p.is_file(), "{}", p.display());
    p.display().to_string()
}

fn count_events(store: &Store, status: Option<&str>, source: Option<&str>) -> u64 {
    let f = geo_core::store::EventFilter {
        status: status.map(str::to_string),
        source: source.map(str::to_string),
        ..Default::default()
    };
    store.count_events(&Scope::Town, &f).expect("count events")
}

#[test]
fn san_francisco_incidents_through_the_cli_close_the_resolved_ones() {
    let path = real("sf-incidents-downtown-2003-2015.csv.gz");
    let path = path.display().to_string();
    let map = shipped_sf_map();
    let db = temp_db("sf-cli");
    cli_import(
        &db,
        &[
            "events",
            &path,
            "--time-col",
            "datetime",
            "--lon-col",
            "lon",
            "--lat-col",
            "lat",
            "--category-col",
            "category",
            "--description-col",
            "descript",
            "--category-map",
            &map,
            "--tz",
            "America/Los_Angeles",
            "--resolution-col",
            "resolution",
            "--source",
            "patrol",
        ],
    )
    .expect("wangge import events");
    let store = crate::common::open_store(&db);
    assert_eq!(count(&store, "events"), 315_027);
    // Resolution NONE (168,323 rows) is open, every other value closed: the
    // same figure as the library's IncidentOptions::sf_incidents().
    assert_eq!(count_events(&store, Some("closed"), None), 146_704);
    assert_eq!(count_events(&store, Some("reported"), None), 168_323);
    assert_eq!(count_events(&store, None, Some("patrol")), 315_027);
}

#[test]
fn incident_cli_maps_closed_values_and_refuses_bad_flags() {
    let dir = temp_db("inc-cli").parent().expect("dir").to_path_buf();
    let csv = dir.join("cases.csv");
    std::fs::write(
        &csv,
        "时间,经度,纬度,类别,状态\n\
         2024-03-01 08:30,116.64,36.93,噪声扰民,已办结\n\
         2024-03-02 09:00,116.64,36.93,噪声扰民,处理中\n\
         2024-03-03 10:00,116.64,36.93,违章停车,办结\n\
         2024-03-04 11:00,116.64,36.93,违章停车,退回\n",
    )
    .expect("csv");
    let map = dir.join("map.toml");
    std::fs::write(
        &map,
        "[map]\n\"噪声扰民\" = \"02.05\"\n\"违章停车\" = \"02.01\"\n",
    )
    .expect("map");
    let (csv, map) = (csv.display().to_string(), map.display().to_string());
    let base = [
        "events",
        csv.as_str(),
        "--time-col",
        "时间",
        "--lon-col",
        "经度",
        "--lat-col",
        "纬度",
        "--category-col",
        "类别",
        "--category-map",
        map.as_str(),
    ];
    let with = |extra: &[&'static str]| {
        let mut v: Vec<&str> = base.to_vec();
        v.extend_from_slice(extra);
        v
    };
    // Refused before anything is stored, naming the flag.
    let db = temp_db("inc-cli-bad");
    let e = cli_import(&db, &with(&["--closed-values", "办结"])).unwrap_err();
    assert!(e.contains("--resolution-col"), "{e}");
    let e = cli_import(&db, &with(&["--source", "radio"])).unwrap_err();
    assert!(e.contains("--source"), "{e}");
    let e = cli_import(
        &db,
        &with(&[
            "--resolution-col",
            "状态",
            "--open-values",
            "处理中",
            "--closed-values",
            "办结",
        ]),
    )
    .unwrap_err();
    assert!(e.contains("not both"), "{e}");
    let e = cli_import(&db, &with(&["--resolution-col", "结果"])).unwrap_err();
    assert!(e.contains("结果"), "{e}");
    let store = crate::common::open_store(&db);
    assert_eq!(count(&store, "events"), 0);
    drop(store);

    // Only the listed values close an event (`|` separates, repeats add).
    let db = temp_db("inc-cli-closed");
    cli_import(
        &db,
        &with(&[
            "--resolution-col",
            "状态",
            "--closed-values",
            "已办结|办结",
            "--source",
            "resident",
        ]),
    )
    .expect("import with --closed-values");
    let store = crate::common::open_store(&db);
    assert_eq!(count(&store, "events"), 4);
    assert_eq!(count_events(&store, Some("closed"), None), 2);
    assert_eq!(count_events(&store, None, Some("resident")), 4);
    drop(store);

    // Open values replace the defaults: everything else closes.
    let db = temp_db("inc-cli-open");
    cli_import(
        &db,
        &with(&["--resolution-col", "状态", "--open-values", "处理中"]),
    )
    .expect("import with --open-values");
    let store = crate::common::open_store(&db);
    assert_eq!(count_events(&store, Some("closed"), None), 3);
    assert_eq!(
        count_events(&store, None, Some("hotline")),
        4,
        "default source"
    );
}

#[test]
fn osm_estimate_follows_dwelling_and_storey_overrides() {
    let path = real("sf-downtown.osm.pbf").display().to_string();
    // Households stored per building, in total and for buildings whose floors
    // come from their height (no levels).
    let import = |tag: &str, extra: &[&str]| -> (u64, u64, u64) {
        let db = temp_db(tag);
        let mut args = vec!["osm", path.as_str()];
        args.extend_from_slice(extra);
        cli_import(&db, &args).expect("wangge import osm");
        let store = crate::common::open_store(&db);
        let d = store
            .load(&Scope::Town, geo_core::store::LoadSet::Spatial)
            .expect("load");
        let total: u64 = d.buildings.iter().map(|b| u64::from(b.households)).sum();
        let by_height: u64 = d
            .buildings
            .iter()
            .filter(|b| b.levels.is_none() && b.height_m.is_some())
            .map(|b| u64::from(b.households))
            .sum();
        let by_levels: u64 = d
            .buildings
            .iter()
            .filter(|b| b.levels.is_some())
            .map(|b| u64::from(b.households))
            .sum();
        assert!(d.buildings.iter().all(|b| b.households_estimated));
        (total, by_height, by_levels)
    };
    let (total, height, levels) = import("osm-default", &[]);
    assert!(
        total > 10_000 && height > 500 && levels > 500,
        "{total} {height} {levels}"
    );
    // Half the floor area per dwelling: about twice the households.
    let (t2, h2, l2) = import("osm-dwelling", &["--dwelling-m2", "45"]);
    let r = t2 as f64 / total as f64;
    assert!(
        (1.85..=2.15).contains(&r),
        "--dwelling-m2 45: {t2} vs {total}"
    );
    assert!(h2 > height && l2 > levels);
    // Twice the storey height: buildings known by height get about half the
    // floors; buildings with levels do not change.
    let (_, h3, l3) = import("osm-storey", &["--floor-height-m", "6"]);
    assert_eq!(l3, levels, "--floor-height-m leaves levels alone");
    let r = h3 as f64 / height as f64;
    assert!(
        (0.4..=0.65).contains(&r),
        "--floor-height-m 6: {h3} vs {height}"
    );
    // Out-of-range values are refused before anything is stored.
    let db = temp_db("osm-bad");
    let e = cli_import(&db, &["osm", path.as_str(), "--dwelling-m2", "0"]).unwrap_err();
    assert!(e.contains("dwelling_m2"), "{e}");
    let store = crate::common::open_store(&db);
    assert_eq!(count(&store, "buildings"), 0);
}
