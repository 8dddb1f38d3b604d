//! Real-data onboarding against the files in `shared/data/real` (next to the
//! workspace): OSM PBF of downtown San Francisco, the SFPD incident extract.
//! A missing file fails the test with its path.

#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::PathBuf;

use geo_core::model::{BuildingUse, EventSource, EventStatus};
use wangge_data::estimate::{estimate_all, Basis, EstimateParams};
use wangge_data::incidents::{
    read_events, CategoryMap, IncidentError, IncidentOptions, TextEncoding,
};
use wangge_data::osm::{read_pbf, OsmOptions, WAY_ID_OFFSET};

/// A file of the shared real-data folder; panics naming it when absent.
fn real(name: &str) -> PathBuf {
    let p = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/real"
    ))
    .join(name);
    assert!(
        p.is_file(),
        "real-data file missing: {} (expected in shared/data/real next to the workspace)",
        p.display()
    );
    p
}

/// A scratch file unique to this test process.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wangge-data-it-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn sf_downtown_osm_buildings_roads_and_estimate() {
    let mut imp = read_pbf(real("sf-downtown.osm.pbf"), &OsmOptions::default()).unwrap();
    let r = &imp.report;
    println!("{r}");
    let n = imp.dataset.buildings.len();
    assert!((7_000..=8_600).contains(&n), "{n} buildings");
    assert_eq!(r.buildings as usize, n);
    // Every building has levels, height or neither.
    assert!(r.with_levels.max(r.with_height) + r.with_neither <= r.buildings);
    assert!(r.with_levels + r.with_height + r.with_neither >= r.buildings);
    assert!(
        imp.dataset.roads.len() >= 5_000,
        "{} roads",
        imp.dataset.roads.len()
    );
    assert!(!imp.dataset.places.is_empty());
    // IDs are unique and ways sit in their own range.
    let mut ids: Vec<u64> = imp.dataset.buildings.iter().map(|b| b.id.get()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), n, "duplicate building IDs");
    assert!(ids.iter().all(|&i| i > WAY_ID_OFFSET));
    // Footprints are closed rings in downtown SF.
    for b in &imp.dataset.buildings {
        assert!(!b.footprint.0.is_empty());
        let ext = b.footprint.0[0].exterior();
        assert_eq!(ext.0.first(), ext.0.last());
        let c = ext.0[0];
        assert!(
            (-122.6..-122.3).contains(&c.x) && (37.6..37.9).contains(&c.y),
            "{c:?}"
        );
    }
    assert!(
        r.by_use
            .get(&BuildingUse::Residential)
            .copied()
            .unwrap_or(0)
            > 0
    );

    let er = estimate_all(&mut imp.dataset.buildings, &EstimateParams::default());
    println!("{er}");
    assert!(er.households > 0);
    assert_eq!(er.by_basis.iter().sum::<u64>(), er.residential);
    assert!(er.count(Basis::Levels) + er.count(Basis::Height) > 0);
    assert!(imp
        .dataset
        .buildings
        .iter()
        .all(|b| b.households_estimated && (b.households > 0) == (b.units > 0)));
}

#[test]
fn sf_incidents_all_rows_all_categories() {
    let opts = IncidentOptions::sf_incidents().unwrap();
    let imp = read_events(real("sf-incidents-downtown-2003-2015.csv.gz"), &opts).unwrap();
    let r = &imp.report;
    println!("{r}");
    assert_eq!(imp.events.len(), 315_027);
    assert_eq!(r.rows, 315_027);
    assert!(r.gzip);
    assert_eq!(r.mapped.len(), 39, "{:?}", r.mapped.keys());
    assert!(r.unmapped.is_empty(), "{:?}", r.unmapped);
    assert_eq!(r.skipped_rows, 0);
    assert_eq!(
        r.by_category.get("06.01").copied(),
        Some(69_009 + 9_746 + 8_620 + 8_189 + 1_815 + 626)
    );
    // NONE is open; every other resolution is closed.
    assert_eq!(r.closed, 315_027 - 168_323);
    let first = &imp.events[0];
    // 2003-01-12 23:50 Pacific standard time = 2003-01-13 07:50 UTC.
    assert_eq!(first.reported_at.to_rfc3339(), "2003-01-13T07:50:00+00:00");
    assert_eq!(first.status, EventStatus::Closed);
    assert_eq!(first.source, EventSource::Patrol);
    assert!(first.title.contains("DRIVERS LICENSE"), "{}", first.title);
    assert!(imp
        .events
        .iter()
        .all(|e| (-122.5..-122.3).contains(&e.location.x())));
}

const GBK_CSV: &str = "时间,经度,纬度,类别,描述\n\
2024-03-01 08:30:00,121.5012,31.2345,噪声扰民,夜间施工噪音\n\
2024/3/2 21:05,121.5020,31.2350,违章停车,小区门口占道停车\n\
2024-03-03T10:00:00+08:00,121.5031,31.2361,其他投诉,楼道堆放杂物\n";

fn gbk_options() -> IncidentOptions {
    let map = CategoryMap::from_toml_str(
        "default = \"09.01\"\n[map]\n\"噪声扰民\" = \"02.05\"\n\"违章停车\" = \"02.01\"\n",
        "test map",
    )
    .unwrap();
    let mut o = IncidentOptions::new("时间", "经度", "纬度", "类别", map);
    o.description_column = Some("描述".into());
    o
}

#[test]
fn gbk_csv_detected_and_declared_utf8_refused() {
    let (bytes, _, unmappable) = encoding_rs::GBK.encode(GBK_CSV);
    assert!(!unmappable);
    assert!(
        std::str::from_utf8(&bytes).is_err(),
        "the test file must not be UTF-8"
    );
    let path = scratch("gbk.csv");
    std::fs::write(&path, &bytes).unwrap();

    let imp = read_events(&path, &gbk_options()).unwrap();
    assert_eq!(imp.report.encoding, "GBK");
    assert_eq!(imp.events.len(), 3);
    assert_eq!(imp.events[0].category.code(), "02.05");
    assert_eq!(imp.events[0].title, "夜间施工噪音 (噪声扰民)");
    // Asia/Shanghai by default.
    assert_eq!(
        imp.events[0].reported_at.to_rfc3339(),
        "2024-03-01T00:30:00+00:00"
    );
    assert_eq!(
        imp.events[1].reported_at.to_rfc3339(),
        "2024-03-02T13:05:00+00:00"
    );
    assert_eq!(imp.events[2].category.code(), "09.01");
    assert_eq!(imp.report.unmapped.get("其他投诉"), Some(&1));

    let mut declared = gbk_options();
    declared.encoding = TextEncoding::Utf8;
    let err = read_events(&path, &declared).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, IncidentError::Encoding { .. }), "{msg}");
    assert!(msg.contains("looks like GBK"), "{msg}");
    assert!(msg.contains("gbk.csv") && msg.contains("line 1"), "{msg}");

    // The same text gzip-compressed under a misleading name still reads.
    let gz = scratch("gbk-really-gzip.csv");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&bytes).unwrap();
    std::fs::write(&gz, enc.finish().unwrap()).unwrap();
    let imp = read_events(&gz, &gbk_options()).unwrap();
    assert!(imp.report.gzip);
    assert_eq!(imp.events.len(), 3);
}

#[test]
fn unknown_category_without_default_is_refused_by_name() {
    let path = scratch("unknown.csv");
    std::fs::write(
        &path,
        "t,x,y,c\n2024-01-01 00:00:00,121.5,31.2,FRAUD\n2024-01-01 00:00:00,121.5,31.2,UFO SIGHTING\n2024-01-02 00:00:00,121.5,31.2,UFO SIGHTING\n",
    )
    .unwrap();
    let map = CategoryMap::from_toml_str("[map]\nFRAUD = \"06.02\"\n", "test map").unwrap();
    let err = read_events(&path, &IncidentOptions::new("t", "x", "y", "c", map)).unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, IncidentError::UnmappedCategories { .. }),
        "{msg}"
    );
    assert!(msg.contains("\"UFO SIGHTING\" (2 rows)"), "{msg}");
    assert!(!msg.contains("FRAUD"), "{msg}");
}

#[test]
fn bad_rows_fail_or_are_skipped_and_reported() {
    let path = scratch("bad.csv");
    std::fs::write(
        &path,
        "t,x,y,c\n2024-01-01 00:00:00,121.5,31.2,A\n2024-01-01 00:00:00,east,31.2,A\nnot a time,121.5,31.2,A\n2024-01-03 00:00:00,121.5,95,A\n",
    )
    .unwrap();
    let map = CategoryMap::from_toml_str("[map]\nA = \"02.02\"\n", "test map").unwrap();
    let mut o = IncidentOptions::new("t", "x", "y", "c", map);
    let err = read_events(&path, &o).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("bad.csv")
            && msg.contains("line 3")
            && msg.contains("\"x\"")
            && msg.contains("\"east\""),
        "{msg}"
    );
    // Every row was read: the error counts all three, per problem.
    assert!(
        msg.contains("3 bad rows (1 with a coordinate that is not a number, 1 with a coordinate out of range, 1 with a time that does not parse)")
            && msg.contains("--skip-bad-rows"),
        "{msg}"
    );

    o.skip_bad_rows = true;
    o.max_row_errors = 2;
    let imp = read_events(&path, &o).unwrap();
    assert_eq!(imp.events.len(), 1);
    assert_eq!(imp.report.skipped_rows, 3);
    assert_eq!(imp.report.row_errors.len(), 2);
    assert_eq!(imp.report.row_errors[1].line, 4);
    assert_eq!(imp.report.row_errors[1].column, "t");
    assert!(imp.report.rejects.is_empty(), "kept only when asked");
    o.keep_rejects = true;
    let imp = read_events(&path, &o).unwrap();
    let kept: Vec<(u64, &str, Vec<&str>)> = imp
        .report
        .rejects
        .iter()
        .map(|r| {
            (
                r.error.line,
                r.error.problem.code(),
                r.fields.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        kept,
        vec![
            (
                3,
                "coordinate_not_a_number",
                vec!["2024-01-01 00:00:00", "east", "31.2", "A"]
            ),
            (4, "bad_time", vec!["not a time", "121.5", "31.2", "A"]),
            (
                5,
                "coordinate_out_of_range",
                vec!["2024-01-03 00:00:00", "121.5", "95", "A"]
            ),
        ],
        "all rejects, beyond max_row_errors"
    );

    let missing = IncidentOptions::new("time", "x", "y", "c", CategoryMap::default());
    let msg = read_events(&path, &missing).unwrap_err().to_string();
    assert!(
        msg.contains("\"time\"") && msg.contains("t, x, y, c"),
        "{msg}"
    );
}

#[test]
fn lujiazui_pieces_merge_by_id() {
    use wangge_data::lujiazui::merge_by_id;
    let (buildings, r) = merge_by_id(real("shanghai-lujiazui-buildings.geojson")).unwrap();
    println!("{r:?}");
    assert_eq!(r.features, 1_981);
    assert_eq!(r.distinct_ids, 1_517);
    // Every id is a building, a 3D part or points only.
    assert_eq!(r.buildings + r.part_only_ids + r.point_only_ids, 1_517);
    assert!(
        (1_300..=1_517).contains(&buildings.len()),
        "{}",
        buildings.len()
    );
    assert!(r.merged > 0 && r.pieces > r.buildings);
    // The convention centre comes in 6 pieces and is one building again.
    let icc = buildings
        .iter()
        .find(|b| b.id.get() == WAY_ID_OFFSET + 40_778_072)
        .expect("Shanghai International Convention Center");
    assert_eq!(icc.address.as_deref(), Some("滨江大道2727号"));
    let e = wangge_data::estimate::estimate_households(icc, &EstimateParams::default());
    assert!(e.footprint_m2 > 10_000.0, "{}", e.footprint_m2);
}
