//! Files a town office has, through `wangge import` as a user runs it:
//! vendor building outlines with floors but no households and zero IDs,
//! Web Mercator GeoJSON, and a projected CRS the import must refuse.
//! The files are in `tests/data/` (see its README).

use std::path::{Path, PathBuf};

use geo_core::store::{LoadSet, Scope};

use crate::common::{open_store, store_key, temp_db};

fn data(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join(name);
    assert!(p.is_file(), "test file missing: {}", p.display());
    p.display().to_string()
}

/// Runs `wangge import ARGS…` on the store `db`; `Ok` holds what it wrote
/// (the dry-run report, then warnings, estimate, summary), `Err` the full
/// error message.
fn import(db: &Path, args: &[&str]) -> Result<String, String> {
    let a = web_viewer::cli::import::ImportArgs::from_argv(
        std::iter::once("import").chain(args.iter().copied()),
    )
    .map_err(|e| format!("arguments: {e}"))?;
    store_key(db);
    let (mut out, mut err) = (Vec::new(), Vec::new());
    web_viewer::cli::import::run_with(db, a, &mut out, &mut err)
        .map(|_| {
            format!(
                "{}{}",
                String::from_utf8_lossy(&out),
                String::from_utf8_lossy(&err)
            )
        })
        .map_err(|e| format!("{e:#}"))
}

fn regrid_micro(db: &Path) -> serde_json::Value {
    let dir = db.parent().expect("dir");
    let (out, report) = (dir.join("proposal.geojson"), dir.join("report.json"));
    web_viewer::cli::regrid::run(
        db,
        web_viewer::cli::regrid::RegridArgs {
            json: false,
            level: "micro".into(),
            community: None,
            min: 30,
            max: 80,
            mode: "max".into(),
            seed: 1,
            allow_floor_split: false,
            out,
            report: report.clone(),
            xlsx: None,
            dump_input: None,
            adopt: false,
            note: None,
        },
    )
    .expect("wangge regrid --level micro --min 30 --max 80");
    serde_json::from_slice(&std::fs::read(report).expect("report")).expect("json")
}

#[test]
fn vendor_buildings_with_floors_and_zero_ids_end_in_a_regrid_proposal() {
    let file = data("vendor-buildings.geojson");
    let db = temp_db("vendor");
    // Zero IDs: refused as a whole, and the error names the option.
    let err = import(&db, &["buildings", &file, "--estimate-households"]).unwrap_err();
    assert!(err.contains("--ids auto"), "{err}");
    assert!(err.contains("nothing was stored"), "{err}");
    assert!(open_store(&db).is_empty().expect("empty"));

    let args = [
        "buildings",
        &file,
        "--ids",
        "auto",
        "--estimate-households",
        "--map",
        "use=用途",
        "--use-values",
        "宿舍=residential",
        "--dwelling-m2",
        "90",
    ];
    let dry: Vec<&str> = args.iter().copied().chain(["--dry-run"]).collect();
    let said = import(&db, &dry).expect("dry run");
    assert!(
        said.contains("would store") && said.contains("(IDs 1–30 numbered"),
        "{said}"
    );
    assert!(
        open_store(&db).is_empty().expect("empty"),
        "a dry run stores nothing"
    );
    let said = import(&db, &args).expect("import with --ids auto --estimate-households");
    assert!(said.contains("IDs 1–30 numbered in file order"), "{said}");
    assert!(said.contains("default units"), "{said}");
    let d = open_store(&db)
        .load(&Scope::Town, LoadSet::Spatial)
        .expect("load");
    let ids: Vec<u64> = d.buildings.iter().map(|b| b.id.get()).collect();
    assert_eq!(ids, (1..=30).collect::<Vec<u64>>());
    // 60 m × 12 m: 6 floors → 48 households, 11 floors → 88; 宿舍 counts as
    // housing through --use-values, 商业 gets none.
    let shops = d.buildings.iter().filter(|b| b.households == 0).count();
    assert_eq!(shops, 5, "the five 商业 buildings");
    for b in d.buildings.iter().filter(|b| b.households > 0) {
        assert!(b.households_estimated);
        let expect = if b.levels == Some(6) { 48 } else { 88 };
        assert!(b.households.abs_diff(expect) <= 1, "{b:?}");
        let units: Vec<_> = d.units.iter().filter(|u| u.building == b.id).collect();
        assert_eq!(units.len(), 3, "60 m long: three entrances");
        assert_eq!(
            units.iter().map(|u| u.households).sum::<u32>(),
            b.households
        );
    }
    let r = regrid_micro(&db);
    assert_eq!(r["violations_where_feasible"], 0, "{r}");
    assert!(r["after"]["grids"].as_u64().expect("grids") >= 10, "{r}");

    // The same file gives the same IDs in another store; a dry run says so
    // too and stores nothing.
    let again = temp_db("vendor-again");
    import(&again, &args).expect("again");
    let d2 = open_store(&again)
        .load(&Scope::Town, LoadSet::Spatial)
        .expect("load");
    assert_eq!(d2.buildings, d.buildings);
    assert_eq!(d2.units, d.units);
}

#[test]
fn web_mercator_geojson_is_converted_and_other_projections_refused() {
    let wgs = temp_db("wgs84");
    import(
        &wgs,
        &[
            "buildings",
            &data("vendor-buildings.geojson"),
            "--ids",
            "auto",
        ],
    )
    .expect("wgs84");
    let merc = temp_db("3857");
    let said = import(
        &merc,
        &[
            "buildings",
            &data("vendor-buildings-3857.geojson"),
            "--ids",
            "auto",
        ],
    )
    .expect("the crs member EPSG:3857 is honoured");
    assert!(said.contains("Web Mercator"), "{said}");
    let a = open_store(&wgs)
        .load(&Scope::Town, LoadSet::Spatial)
        .expect("a");
    let b = open_store(&merc)
        .load(&Scope::Town, LoadSet::Spatial)
        .expect("b");
    assert_eq!(a.buildings.len(), 30);
    for (x, y) in a.buildings.iter().zip(&b.buildings) {
        for (p, q) in x
            .footprint
            .0
            .iter()
            .flat_map(|p| &p.exterior().0)
            .zip(y.footprint.0.iter().flat_map(|p| &p.exterior().0))
        {
            assert!(
                (p.x - q.x).abs() < 1e-6 && (p.y - q.y).abs() < 1e-6,
                "{p:?} vs {q:?}"
            );
        }
    }
    // A file in a projection we cannot convert: refused, naming it.
    let gk = temp_db("4547");
    let err = import(
        &gk,
        &[
            "buildings",
            &data("vendor-buildings-4547.geojson"),
            "--ids",
            "auto",
        ],
    )
    .unwrap_err();
    assert!(err.contains("EPSG::4547") && err.contains("crs"), "{err}");
    assert!(err.contains("nothing was stored"), "{err}");
    assert!(open_store(&gk).is_empty().expect("empty"));
    // --crs gcj02 contradicts a Web Mercator member.
    let err = import(
        &temp_db("3857-gcj"),
        &[
            "buildings",
            &data("vendor-buildings-3857.geojson"),
            "--ids",
            "auto",
            "--crs",
            "gcj02",
        ],
    )
    .unwrap_err();
    assert!(
        err.contains("Web Mercator") && err.contains("gcj02"),
        "{err}"
    );
}

#[test]
fn a_multipolygon_building_is_kept_with_its_parts_or_exploded_never_refused() {
    let file = data("vendor-multipart.geojson");
    let db = temp_db("multipart");
    let err = import(&db, &["buildings", &file]).unwrap_err();
    assert!(err.contains("--ids auto"), "zero IDs: {err}");
    assert!(open_store(&db).is_empty().expect("empty"));
    // Kept: the joined feature (features are counted from 0: the second)
    // is one building of two parts, and the import says so.
    let said = import(
        &db,
        &["buildings", &file, "--ids", "auto", "--estimate-households"],
    )
    .expect("kept whole");
    assert!(
        said.contains("1 building(s) given as a MultiPolygon kept as one building with its parts")
            && said.contains("--explode"),
        "{said}"
    );
    let d = open_store(&db)
        .load(&Scope::Town, LoadSet::Spatial)
        .expect("load");
    let parts: Vec<usize> = d.buildings.iter().map(|b| b.footprint.0.len()).collect();
    assert_eq!(parts, [1, 2, 1], "three buildings, the second in two parts");
    // 60 m × 12 m + 40 m × 12 m, six floors, 90 m² a dwelling: 48 + 32.
    assert!(
        d.buildings[1].households.abs_diff(80) <= 2,
        "{:?}",
        d.buildings[1]
    );
    // Its default units stand in its parts, not in the gap between them.
    let joined = &d.buildings[1];
    let units: Vec<_> = d.units.iter().filter(|u| u.building == joined.id).collect();
    assert!(units.len() >= 2, "{units:?}");
    for part in &joined.footprint.0 {
        let (lo, hi) =
            part.exterior()
                .0
                .iter()
                .fold(([f64::MAX; 2], [f64::MIN; 2]), |(lo, hi), c| {
                    (
                        [lo[0].min(c.x), lo[1].min(c.y)],
                        [hi[0].max(c.x), hi[1].max(c.y)],
                    )
                });
        let inside = |u: &&&geo_core::model::Unit| {
            (lo[0]..=hi[0]).contains(&u.entrance.x()) && (lo[1]..=hi[1]).contains(&u.entrance.y())
        };
        assert!(
            units.iter().any(|u| inside(&u)),
            "no entrance in part {part:?}"
        );
    }
    // The export carries the parts as a MultiPolygon, the others as Polygons.
    let out = db.with_extension("geojson");
    web_viewer::cli::export::run(
        &db,
        web_viewer::cli::export::ExportArgs {
            kind: "buildings".into(),
            format: "geojson".into(),
            out: Some(out.clone()),
            reveal_reason: None,
            crs: "wgs84".into(),
        },
    )
    .expect("export");
    let fc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("read")).expect("json");
    let kinds: Vec<&str> = fc["features"]
        .as_array()
        .expect("features")
        .iter()
        .map(|f| f["geometry"]["type"].as_str().expect("type"))
        .collect();
    assert_eq!(kinds, ["Polygon", "MultiPolygon", "Polygon"]);

    // Exploded on request: one building of each part.
    let db = temp_db("multipart-explode");
    let err = import(&db, &["buildings", &file, "--explode"]).unwrap_err();
    assert!(err.contains("--ids auto"), "{err}");
    let said = import(
        &db,
        &[
            "buildings",
            &file,
            "--ids",
            "auto",
            "--explode",
            "--estimate-households",
        ],
    )
    .expect("exploded");
    assert!(said.contains("IDs 1–4"), "{said}");
    let d = open_store(&db)
        .load(&Scope::Town, LoadSet::Spatial)
        .expect("load");
    assert_eq!(
        d.buildings.len(),
        4,
        "the two parts are buildings of their own"
    );
    // Both slabs of the joined feature are housing with their own estimate
    // and units: 60 m × 12 m × 6 / 90 = 48, 40 m × 12 m × 6 / 90 = 32.
    let hh: Vec<u32> = d.buildings.iter().map(|b| b.households).collect();
    assert_eq!(hh.len(), 4);
    assert!(hh[1].abs_diff(48) <= 1 && hh[2].abs_diff(32) <= 1, "{hh:?}");
    assert_eq!(hh[3], 0);
    assert!(d.units.iter().any(|u| u.building == d.buildings[2].id));
}

#[test]
fn a_gbk_shapefile_imports_with_its_chinese_attributes_zipped_or_not() {
    use geo_core::model::BuildingUse;
    let shp = data("office-buildings-gbk.shp");
    let db = temp_db("shp");
    let err = import(&db, &["buildings", &shp]).unwrap_err();
    assert!(err.contains("--ids auto"), "{err}");
    let said = import(
        &db,
        &["buildings", &shp, "--ids", "auto", "--estimate-households"],
    )
    .expect("import of the GBK Shapefile");
    assert!(
        said.contains("DBF encoding GBK (from the .cpg), CRS EPSG:4326"),
        "{said}"
    );
    let d = open_store(&db)
        .load(&Scope::Town, LoadSet::Spatial)
        .expect("load");
    assert_eq!(d.buildings.len(), 12);
    let first = &d.buildings[0];
    assert_eq!(first.address.as_deref(), Some("幸福路1号1幢"));
    assert_eq!(first.levels, Some(6));
    // 户数 given (36) is kept as counted; the others are estimated.
    assert_eq!((first.households, first.households_estimated), (36, false));
    assert_eq!(d.buildings[2].usage, BuildingUse::Mixed, "商住");
    assert_eq!(d.buildings[3].usage, BuildingUse::Commercial, "商业");
    assert_eq!(d.buildings[3].households, 0);
    assert!(d.buildings[1].households_estimated && d.buildings[1].households > 0);
    let units_hh: u64 = d.units.iter().map(|u| u64::from(u.households)).sum();
    let hh: u64 = d.buildings.iter().map(|b| u64::from(b.households)).sum();
    assert_eq!(units_hh, hh, "every household has a unit");

    // The same files zipped without the .cpg: GBK detected, same buildings.
    let zdb = temp_db("shp-zip");
    let said = import(
        &zdb,
        &[
            "buildings",
            &data("office-buildings-gbk.zip"),
            "--ids",
            "auto",
            "--estimate-households",
        ],
    )
    .expect("zipped Shapefile");
    assert!(said.contains("GBK (detected; no .cpg)"), "{said}");
    let z = open_store(&zdb)
        .load(&Scope::Town, LoadSet::Spatial)
        .expect("load");
    assert_eq!(z.buildings, d.buildings);

    // A Gauss–Krüger .prj: refused, naming the CRS; nothing stored.
    let gdb = temp_db("shp-gk");
    let err = import(
        &gdb,
        &[
            "buildings",
            &data("office-buildings-gk.zip"),
            "--ids",
            "auto",
        ],
    )
    .unwrap_err();
    assert!(
        err.contains("Xian_1980_3_Degree_GK_CM_120E") && err.contains("office-buildings-gk.zip"),
        "{err}"
    );
    assert!(err.contains("nothing was stored"), "{err}");
    assert!(open_store(&gdb).is_empty().expect("empty"));
}

#[test]
fn an_excel_register_with_merged_headers_imports_its_events() {
    use chrono::TimeZone;
    use geo_core::ids::EventId;
    let file = data("office-events-register.xlsx");
    let db = temp_db("xlsx");
    // The first sheet holds instructions: no header there, and the error
    // names the sheet.
    let err = import(&db, &["events", &file]).unwrap_err();
    assert!(
        err.contains("sheet 说明") && err.contains("no header row"),
        "{err}"
    );
    assert!(err.contains("nothing was stored"), "{err}");
    let said = import(&db, &["events", &file, "--sheet", "台账"]).expect("the register sheet");
    assert!(
        said.contains("sheet 台账, header in row 3, 5 data rows"),
        "{said}"
    );
    let store = open_store(&db);
    let ev = |id: u64| {
        store
            .event(&Scope::Town, EventId::new(id).expect("id"))
            .expect("stored event")
    };
    let bj = |y, mo, d, h, mi| {
        chrono::FixedOffset::east_opt(8 * 3600)
            .expect("offset")
            .with_ymd_and_hms(y, mo, d, h, mi, 0)
            .single()
            .expect("time")
            .with_timezone(&chrono::Utc)
    };
    // An Excel date-time cell, a date-only cell, text with dashes and with
    // slashes: all read as Beijing time.
    assert_eq!(ev(1).reported_at, bj(2026, 10, 3, 9, 30));
    assert_eq!(ev(1).category.code(), "01.01");
    assert_eq!(ev(1).title, "楼上漏水引发争执");
    assert_eq!(ev(3).reported_at, bj(2026, 10, 8, 8, 15));
    assert_eq!(ev(4).reported_at, bj(2026, 10, 12, 0, 0));
    assert_eq!(ev(5).reported_at, bj(2026, 10, 20, 14, 0));
    assert!((ev(2).location.x() - 121.5021).abs() < 1e-9);
    // A sheet that does not exist: the error lists the sheets.
    let err = import(&temp_db("xlsx-2"), &["events", &file, "--sheet", "2025"]).unwrap_err();
    assert!(err.contains("说明, 台账"), "{err}");
}

#[test]
fn a_hotline_export_with_rows_lacking_coordinates_stores_the_good_rows_and_writes_the_rejects() {
    let file = data("hotline-export-gbk.csv");
    let map = data("hotline-categories.toml");
    let db = temp_db("hotline");
    let base = [
        "events",
        file.as_str(),
        "--time-col",
        "受理时间",
        "--lon-col",
        "经度",
        "--lat-col",
        "纬度",
        "--category-col",
        "诉求类别",
        "--description-col",
        "诉求内容",
        "--address-col",
        "事发地址",
        "--category-map",
        map.as_str(),
        "--resolution-col",
        "办理状态",
        "--closed-values",
        "已办结",
    ];
    // Without --skip-bad-rows: every row is read, the error counts the bad
    // ones per problem and names the option, nothing is stored.
    let err = import(&db, &base).unwrap_err();
    assert!(err.contains("6 bad rows"), "{err}");
    assert!(
        err.contains("3 with no coordinates, only an address (geocoding is out of scope"),
        "{err}"
    );
    assert!(
        err.contains("1 with no coordinates and no address")
            && err.contains("1 with a coordinate that is not a number")
            && err.contains("1 with a time that does not parse"),
        "{err}"
    );
    assert!(
        err.contains("--skip-bad-rows") && err.contains("--rejects FILE"),
        "{err}"
    );
    assert!(err.contains("nothing was stored"), "{err}");
    assert!(open_store(&db).is_empty().expect("empty"));

    // --rejects alone, or on a register, is refused before anything is read.
    let rejects = db.parent().expect("dir").join("rejects.csv");
    let r = rejects.display().to_string();
    let mut args = base.to_vec();
    args.extend(["--rejects", r.as_str()]);
    let err = import(&db, &args).unwrap_err();
    assert!(
        err.contains("--rejects FILE needs --skip-bad-rows"),
        "{err}"
    );
    let err = import(
        &db,
        &[
            "buildings",
            &data("vendor-buildings.geojson"),
            "--skip-bad-rows",
        ],
    )
    .unwrap_err();
    assert!(err.contains("for foreign incident CSVs"), "{err}");

    args.push("--skip-bad-rows");
    let said = import(&db, &args).expect("the good rows");
    assert!(said.contains("20 rows, 14 events (GBK)"), "{said}");
    assert!(said.contains("6 bad rows skipped"), "{said}");
    assert!(
        said.contains("3 with no coordinates, only an address (geocoding is out of scope: add lon/lat) (address_only)"),
        "{said}"
    );
    assert!(said.contains("6 skipped rows written to"), "{said}");
    let store = open_store(&db);
    let events = store
        .events(&Scope::Town, &Default::default(), None)
        .expect("events");
    assert_eq!(events.len(), 14);
    assert!(events.iter().any(|e| e.title == "夜间施工噪音 (噪音扰民)"));

    // The rejects file: the export's own columns, then where and why.
    let text = std::fs::read_to_string(&rejects).expect("rejects file");
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = rdr
        .headers()
        .expect("header")
        .iter()
        .map(str::to_string)
        .collect();
    assert_eq!(header[0], "工单编号");
    assert_eq!(
        &header[8..],
        [
            "reject_line",
            "reject_problem",
            "reject_column",
            "reject_reason"
        ]
    );
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.expect("row")).collect();
    assert_eq!(rows.len(), 6);
    let problem = |order: &str| {
        rows.iter()
            .find(|r| &r[0] == order)
            .map(|r| (r[9].to_string(), r[10].to_string()))
            .unwrap_or_else(|| panic!("{order} not in the rejects: {text}"))
    };
    assert_eq!(
        problem("RX202611020090"),
        ("address_only".into(), "事发地址".into())
    );
    assert_eq!(
        problem("RX202611050093"),
        ("no_location".into(), "经度".into())
    );
    assert_eq!(
        problem("RX202611050094"),
        ("coordinate_not_a_number".into(), "经度".into())
    );
    assert_eq!(
        problem("RX202611060095"),
        ("bad_time".into(), "受理时间".into())
    );
    // Line numbers point into the original file (header = line 1).
    let line = rows
        .iter()
        .find(|r| &r[0] == "RX202611020090")
        .map(|r| r[8].to_string());
    assert_eq!(line.as_deref(), Some("5"));
}
