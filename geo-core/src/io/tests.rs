//! Tests of import and export against the fixtures in `tests/fixtures/io`
//! and the real data beside the repository.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::*;
use crate::model::{PersonTag, Sex};
use crate::Dataset;

fn fixture(name: &str) -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/io")).join(name)
}

fn real(name: &str) -> PathBuf {
    let p = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/real"
    ))
    .join(name);
    assert!(
        p.exists(),
        "real-data file missing: {} (see shared/data/README.md)",
        p.display()
    );
    p
}

fn opts() -> ImportOptions<'static> {
    ImportOptions::default()
}

fn bytes(kind: ElementKind, text: &str, name: &str) -> Result<ImportBatch, ImportError> {
    import::read_bytes(kind, text.as_bytes(), name, &opts())
}

fn errors(e: &ImportError) -> Vec<&Problem> {
    e.problems().iter().filter(|p| p.is_error()).collect()
}

/// Each error as `location: reason`.
fn located_errors(e: &ImportError) -> Vec<String> {
    errors(e)
        .iter()
        .map(|p| format!("{}: {}", p.location, p.reason))
        .collect()
}

const FIXTURES: &[(ElementKind, &str)] = &[
    (ElementKind::Communities, "communities.geojson"),
    (ElementKind::Grids, "grids.geojson"),
    (ElementKind::Compounds, "compounds.geojson"),
    (ElementKind::Buildings, "buildings.geojson"),
    (ElementKind::Units, "units.csv"),
    (ElementKind::Households, "households.csv"),
    (ElementKind::Persons, "persons.csv"),
    (ElementKind::Places, "places.geojson"),
    (ElementKind::Events, "events.csv"),
    (ElementKind::Sentiments, "sentiments.csv"),
    (ElementKind::Organisations, "organisations.geojson"),
    (ElementKind::Roads, "roads.geojson"),
];

fn load_all() -> Dataset {
    let mut all = Dataset::default();
    for (kind, file) in FIXTURES {
        let b =
            import::read(*kind, &fixture(file), &opts()).unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert!(b.problems.is_empty(), "{kind}: {:?}", b.problems);
        assert!(!b.dataset.is_empty(), "{kind}");
        all.extend(b.dataset);
    }
    all
}

#[test]
fn fixtures_import_with_documented_mapping() {
    let d = load_all();
    assert_eq!(d.communities.len(), 2);
    assert!(d.communities[1].is_village);
    assert_eq!(d.communities[0].boundary.0.len(), 2);
    assert_eq!(
        d.communities[0].boundary.0[1].interiors().len(),
        1,
        "hole kept"
    );
    assert_eq!(d.grids[0].workers.len(), 2);
    assert_eq!(d.grids[1].parent.map(|g| g.get()), Some(11));
    let b = &d.buildings[0];
    assert_eq!((b.levels, b.height_m), (Some(6), Some(18.0)));
    assert_eq!(b.usage, crate::model::BuildingUse::Residential);
    assert!(d.buildings[1].households_estimated);
    assert_eq!(d.households[1].floor, -1);
    assert_eq!(d.households[1].tenure, crate::model::Tenure::Rented);
    assert!(d.households[1].group_rented);
    let p = &d.persons[0];
    assert_eq!((p.sex, p.birth_year), (Sex::Male, 1945));
    assert_eq!(
        p.tags,
        vec![PersonTag::ElderlyAlone, PersonTag::PartyMember]
    );
    // Birth year and sex read from the national ID.
    assert_eq!(
        (d.persons[1].birth_year, d.persons[1].sex),
        (1980, Sex::Female)
    );
    assert_eq!(
        d.persons[2].phone.as_ref().map(|p| p.reveal()),
        Some("13900001111")
    );
    let e = &d.events[0];
    assert_eq!(e.category.code(), "02.05");
    assert_eq!(
        e.reported_at.to_rfc3339(),
        "2024-03-01T14:10:00+00:00",
        "Beijing time"
    );
    assert_eq!(e.source, crate::model::EventSource::Hotline);
    assert_eq!(d.events[1].master.map(|m| m.get()), Some(61));
    assert_eq!(d.sentiments[1].score, Some(4.5));
    assert_eq!(d.organisations[0].members.len(), 2);
    assert_eq!(d.roads[0].class, crate::model::RoadClass::Arterial);
    assert!(matches!(
        d.places[1].geometry,
        geo_types::Geometry::Polygon(_)
    ));
}

/// Export then import once, so coordinates are at the export precision.
fn normalised(kind: ElementKind, d: &Dataset) -> Dataset {
    let mut gj = Vec::new();
    export::write_geojson(kind, d, &mut gj, Masking::Reveal).unwrap();
    import::read_bytes(kind, &gj, "export.geojson", &opts())
        .unwrap()
        .dataset
}

fn round_trip(kind: ElementKind, d: &Dataset) {
    let mut gj = Vec::new();
    export::write_geojson(kind, d, &mut gj, Masking::Reveal).unwrap();
    let back = import::read_bytes(kind, &gj, "export.geojson", &opts()).unwrap_or_else(|e| {
        panic!(
            "{kind} GeoJSON re-import: {e}\n{}",
            String::from_utf8_lossy(&gj)
        )
    });
    assert!(&back.dataset == d, "{kind} via GeoJSON differs");
    let mut csv = Vec::new();
    export::write_csv(kind, d, &mut csv, Masking::Reveal).unwrap();
    let back = import::read_bytes(kind, &csv, "export.csv", &opts()).unwrap_or_else(|e| {
        panic!(
            "{kind} CSV re-import: {e}\n{}",
            String::from_utf8_lossy(&csv)
        )
    });
    assert!(&back.dataset == d, "{kind} via CSV differs");
}

#[test]
fn round_trip_every_kind() {
    for (kind, file) in FIXTURES {
        let d = import::read(*kind, &fixture(file), &opts())
            .unwrap()
            .dataset;
        round_trip(*kind, &d);
    }
}

#[test]
fn geojson_export_is_rfc7946() {
    let d = import::read(
        ElementKind::Communities,
        &fixture("communities.geojson"),
        &opts(),
    )
    .unwrap()
    .dataset;
    let mut out = Vec::new();
    export::write_geojson(ElementKind::Communities, &d, &mut out, Masking::Mask).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert!(v.get("crs").is_none());
    let ring = &v["features"][0]["geometry"]["coordinates"][1][0];
    let hole = &v["features"][0]["geometry"]["coordinates"][1][1];
    let area = |r: &serde_json::Value| {
        let pts: Vec<(f64, f64)> = r
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p[0].as_f64().unwrap(), p[1].as_f64().unwrap()))
            .collect();
        pts.windows(2)
            .map(|w| w[0].0 * w[1].1 - w[1].0 * w[0].1)
            .sum::<f64>()
    };
    assert!(area(ring) > 0.0, "exterior counter-clockwise");
    assert!(area(hole) < 0.0, "hole clockwise");
    // At most 7 decimals.
    let text = String::from_utf8(out).unwrap();
    assert!(!text.contains("113.4700000000"), "{text}");
}

#[test]
fn csv_injection_escaped_and_personal_data_masked() {
    let d = import::read(ElementKind::Persons, &fixture("persons.csv"), &opts())
        .unwrap()
        .dataset;
    let mut out = Vec::new();
    export::write_csv(ElementKind::Persons, &d, &mut out, Masking::Reveal).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("\"'=HYPERLINK(\"\"x\"\")\""), "{text}");
    assert!(text.contains("张三") && text.contains("411481194503010012"));

    let mut out = Vec::new();
    export::write_csv(ElementKind::Persons, &d, &mut out, Masking::Mask).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(!text.contains("张三") && text.contains("张*"), "{text}");
    assert!(
        !text.contains("411481194503010012") && text.contains("411481************"),
        "{text}"
    );
    assert!(
        !text.contains("13812345678") && text.contains("138****5678"),
        "{text}"
    );

    let mut out = Vec::new();
    export::write_geojson(ElementKind::Persons, &d, &mut out, Masking::Mask).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(
        !text.contains("张三") && !text.contains("13812345678"),
        "{text}"
    );
}

#[test]
fn field_map_and_chinese_headers() {
    let csv = "编号,户编号,姓名,身份证号码,性别,出生年份,人员类别\n1,,王五,11010519491231002X,男,1949,低保\n";
    let b = bytes(ElementKind::Persons, csv, "p.csv").unwrap();
    assert_eq!(b.dataset.persons[0].name, "王五");
    assert_eq!(b.dataset.persons[0].tags, vec![PersonTag::LowIncome]);

    let csv = "pid,who,sfz,gender,yob\n1,王五,11010519491231002X,F,1949\n";
    let mut o = opts();
    o.field_map = HashMap::from([
        ("id".into(), "pid".into()),
        ("name".into(), "WHO".into()),
        ("national_id".into(), "sfz".into()),
        ("birth_year".into(), "yob".into()),
    ]);
    let b = import::read_bytes(ElementKind::Persons, csv.as_bytes(), "p.csv", &o).unwrap();
    assert_eq!(b.dataset.persons[0].sex, Sex::Female);

    o.field_map.insert("nmae".into(), "x".into());
    let e = import::read_bytes(ElementKind::Persons, csv.as_bytes(), "p.csv", &o).unwrap_err();
    assert!(e.to_string().contains("unknown field \"nmae\""), "{e}");

    o.field_map.remove("nmae");
    o.field_map.insert("phone".into(), "tel_no".into());
    let e = import::read_bytes(ElementKind::Persons, csv.as_bytes(), "p.csv", &o).unwrap_err();
    assert!(
        e.to_string().contains("--map phone=tel_no: no such column"),
        "{e}"
    );
}

#[test]
fn missing_required_column_named() {
    let e = bytes(ElementKind::Persons, "id,sex\n1,男\n", "p.csv").unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("field name") && msg.contains("姓名") && msg.contains("--map name=COLUMN"),
        "{msg}"
    );
}

#[test]
fn gbk_file() {
    let text = std::fs::read_to_string(fixture("persons.csv")).unwrap();
    let gbk = encoding_rs::GBK.encode(&text).0.into_owned();
    let b = import::read_bytes(ElementKind::Persons, &gbk, "p.csv", &opts()).unwrap();
    assert_eq!(b.stats.encoding, "GBK");
    assert_eq!(b.dataset.persons[0].name, "张三");
    let mut o = opts();
    o.encoding = Encoding::Utf8;
    let e = import::read_bytes(ElementKind::Persons, &gbk, "p.csv", &o).unwrap_err();
    assert_eq!(
        e.to_string(),
        "p.csv: line 2 is not valid UTF-8; the file looks GBK-encoded: use --encoding gbk"
    );
    let bom = [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat();
    let b = import::read_bytes(ElementKind::Persons, &bom, "p.csv", &opts()).unwrap();
    assert_eq!(b.dataset.persons.len(), 3, "BOM stripped, header found");
}

#[test]
fn malformed_json_has_line_and_column() {
    let text = "{\"type\": \"FeatureCollection\",\n \"features\": [\n  {\"type\": \"Feature\", \"properties\": {,}}\n]}";
    let e = bytes(ElementKind::Places, text, "p.geojson").unwrap_err();
    assert!(matches!(e, ImportError::Json { line: 3, .. }), "{e}");
    assert!(
        e.to_string()
            .starts_with("p.geojson: malformed JSON at line 3, column"),
        "{e}"
    );
    let e = bytes(
        ElementKind::Places,
        "{\"type\":\"Point\",\"coordinates\":[1,2]}",
        "p.geojson",
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("expected a Feature or FeatureCollection"),
        "{e}"
    );
}

#[test]
fn deep_nesting_is_a_clean_error() {
    let depth = 10_000;
    let text = format!(
        "{{\"type\":\"Feature\",\"properties\":{{\"x\":{}{}}}}}",
        "[".repeat(depth),
        "]".repeat(depth)
    );
    // Run on a small stack: a recursion bug would overflow it.
    let h = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || {
            bytes(ElementKind::Places, &text, "deep.geojson")
                .map(|_| ())
                .unwrap_err()
                .to_string()
        })
        .unwrap();
    let msg = h.join().expect("no stack overflow");
    assert!(msg.contains("recursion limit"), "{msg}");
}

#[test]
fn size_cap() {
    let mut o = opts();
    o.max_bytes = 100;
    let text = std::fs::read(fixture("persons.csv")).unwrap();
    assert!(text.len() > 100);
    let e = import::read_from(ElementKind::Persons, text.as_slice(), "p.csv", &o).unwrap_err();
    assert_eq!(
        e.to_string(),
        "p.csv: larger than the limit of 100 bytes (raise max_bytes to import it)"
    );
    let e = import::read(ElementKind::Persons, &fixture("persons.csv"), &o).unwrap_err();
    assert!(matches!(e, ImportError::TooLarge { .. }));
}

#[test]
fn bad_coordinates() {
    let csv = "id,category,reported_at,lon,lat\n1,02.01,2024-01-01,NaN,34\n2,02.01,2024-01-01,inf,34\n3,02.01,2024-01-01,213.4,34\n4,02.01,2024-01-01,113.4,94\n5,02.01,2024-01-01,113.4,34.1\n";
    let e = bytes(ElementKind::Events, csv, "e.csv").unwrap_err();
    let errs = errors(&e);
    assert_eq!(errs.len(), 4, "{e}");
    assert!(
        errs[0].reason.contains("finite") && errs[0].location == Location::Line(2),
        "{e}"
    );
    assert!(errs[1].reason.contains("finite"), "{e}");
    assert!(errs[2].reason.contains("longitude"), "{e}");
    assert!(errs[3].reason.contains("latitude"), "{e}");
    let gj = r#"{"type":"Feature","properties":{"id":1,"name":"x","category":"poi"},"geometry":{"type":"Point","coordinates":[1e3,34]}}"#;
    let e = bytes(ElementKind::Places, gj, "p.geojson").unwrap_err();
    assert!(e.to_string().contains("feature 0, field geometry"), "{e}");
}

const OPEN: &str = "[[113.47,34.15],[113.4703,34.15],[113.4703,34.1503],[113.47,34.1503]]";
const BOW: &str =
    "[[113.47,34.15],[113.4703,34.1503],[113.4703,34.15],[113.47,34.1503],[113.47,34.15]]";

fn building_file(rings: &[&str]) -> String {
    let feats: Vec<String> = rings
        .iter()
        .enumerate()
        .map(|(i, r)| {
            format!(
                r#"{{"type":"Feature","properties":{{"id":{}}},"geometry":{{"type":"Polygon","coordinates":[{r}]}}}}"#,
                i + 1
            )
        })
        .collect();
    format!(
        r#"{{"type":"FeatureCollection","features":[{}]}}"#,
        feats.join(",")
    )
}

#[test]
fn bad_rings_refused_or_repaired() {
    let text = building_file(&[OPEN, BOW]);
    let e = bytes(ElementKind::Buildings, &text, "b.geojson").unwrap_err();
    let errs = errors(&e);
    assert_eq!(errs.len(), 2, "{e}");
    assert!(
        errs[0].reason.contains("not closed") && errs[0].location == Location::Feature(0),
        "{e}"
    );
    assert!(
        errs[1].reason.contains("crosses itself") && errs[1].location == Location::Feature(1),
        "{e}"
    );
    let mut o = opts();
    o.repair = true;
    let b = import::read_bytes(ElementKind::Buildings, text.as_bytes(), "b.geojson", &o).unwrap();
    assert_eq!(b.dataset.buildings.len(), 2);
    assert_eq!(b.stats.repaired, 2);
    assert!(b.problems.iter().all(|p| !p.is_error()) && b.problems.len() >= 2);
}

#[test]
fn duplicate_ids_named() {
    let csv = "id,building_id,floor,room\n7,1,1,101\n8,1,1,102\n7,1,2,201\n";
    let e = bytes(ElementKind::Households, csv, "h.csv").unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("line 4, field id, value \"7\": duplicate id 7 (first at line 2)"),
        "{msg}"
    );
}

#[test]
fn bad_national_id_masked() {
    let csv = "id,name,national_id,sex,birth_year\n1,赵六,110105194912310021,男,1949\n";
    let e = bytes(ElementKind::Persons, csv, "p.csv").unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("check character"), "{msg}");
    assert!(msg.contains("110105************"), "{msg}");
    assert!(!msg.contains("110105194912310021"), "{msg}");
}

#[test]
fn unknown_event_category() {
    let csv = "id,category,reported_at,lon,lat\n1,99.99,2024-01-01,113.4,34.1\n2,外星人入侵,2024-01-01,113.4,34.1\n";
    let e = bytes(ElementKind::Events, csv, "e.csv").unwrap_err();
    let errs = errors(&e);
    assert_eq!(errs.len(), 2);
    assert_eq!(errs[0].field, "category");
    assert_eq!(errs[0].value, "99.99");
    assert!(errs[0].reason.contains("taxonomy"), "{e}");
    assert_eq!(errs[1].value, "外星人入侵");
}

/// A store stand-in that counts its batch probes.
struct Probes {
    known: std::collections::HashSet<u64>,
    calls: std::cell::RefCell<Vec<(ElementKind, Vec<u64>)>>,
    fail: bool,
}

impl ReferenceLookup for Probes {
    fn contains(&self, _: ElementKind, _: u64) -> bool {
        panic!("the import must probe in batches, not one ID at a time")
    }
    fn existing(
        &self,
        kind: ElementKind,
        ids: &[u64],
    ) -> Result<std::collections::HashSet<u64>, String> {
        self.calls.borrow_mut().push((kind, ids.to_vec()));
        if self.fail {
            return Err("database is locked".into());
        }
        Ok(ids
            .iter()
            .copied()
            .filter(|i| self.known.contains(i))
            .collect())
    }
}

#[test]
fn references_are_probed_once_per_kind_with_distinct_ids() {
    let mut csv = String::from("id,household_id,name,sex,birth_year\n");
    for i in 1..=3000u64 {
        csv.push_str(&format!("{i},{},甲,男,1950\n", 100 + i % 1000));
    }
    csv.push_str("3001,77777,乙,女,1960\n");
    let probes = Probes {
        known: (100..1100).collect(),
        calls: Default::default(),
        fail: false,
    };
    let mut o = opts();
    o.references = Some(&probes);
    let e = import::read_bytes(ElementKind::Persons, csv.as_bytes(), "p.csv", &o).unwrap_err();
    let errs = errors(&e);
    assert_eq!(errs.len(), 1, "{e}");
    assert_eq!(errs[0].location, Location::Line(3002));
    assert_eq!(errs[0].reason, "household 77777 is not in the store");
    let calls = probes.calls.borrow();
    assert_eq!(calls.len(), 1, "one probe for the households");
    assert_eq!(calls[0].0, ElementKind::Households);
    assert_eq!(calls[0].1.len(), 1001, "distinct IDs only");
    assert!(calls[0].1.windows(2).all(|w| w[0] < w[1]), "sorted");
    drop(calls);

    // A failing lookup is one clear file error, not 3,001 missing households.
    let failing = Probes {
        known: Default::default(),
        calls: Default::default(),
        fail: true,
    };
    let mut o = opts();
    o.references = Some(&failing);
    let e = import::read_bytes(ElementKind::Persons, csv.as_bytes(), "p.csv", &o).unwrap_err();
    let errs = errors(&e);
    assert_eq!(errs.len(), 1, "{e}");
    assert!(
        errs[0]
            .reason
            .contains("could not check references to households")
            && errs[0].reason.contains("database is locked"),
        "{}",
        errs[0].reason
    );
}

#[test]
fn progress_is_reported_up_to_the_total() {
    let mut csv = String::from("id,name,sex,birth_year\n");
    for i in 1..=10_000u64 {
        csv.push_str(&format!("{i},甲,男,1950\n"));
    }
    let seen = std::cell::RefCell::new(Vec::new());
    let tick = |done: u64, total: u64| seen.borrow_mut().push((done, total));
    let mut o = opts();
    o.progress = Some(&tick);
    import::read_bytes(ElementKind::Persons, csv.as_bytes(), "p.csv", &o).unwrap();
    let seen = seen.into_inner();
    let total = csv.len() as u64;
    assert!(seen.len() >= 3, "{seen:?}");
    assert!(seen.windows(2).all(|w| w[0].0 < w[1].0), "{seen:?}");
    assert!(seen.iter().all(|&(_, t)| t == total));
    assert_eq!(seen.last(), Some(&(total, total)));
}

#[test]
fn each_record_of_a_run_with_a_missing_reference_is_reported() {
    // The people of one household follow one another; the household is
    // asked for once, and every one of its people is reported.
    let csv = "id,household_id,name,sex,birth_year\n1,401,甲,男,1950\n2,999,乙,女,1960\n3,999,丙,男,1961\n4,401,丁,女,1990\n5,999,戊,女,1991\n";
    let asked = std::cell::RefCell::new(Vec::new());
    let known = |k: ElementKind, id: u64| {
        asked.borrow_mut().push(id);
        k == ElementKind::Households && id == 401
    };
    let mut o = opts();
    o.references = Some(&known);
    let e = import::read_bytes(ElementKind::Persons, csv.as_bytes(), "p.csv", &o).unwrap_err();
    let lines: Vec<Location> = errors(&e).iter().map(|p| p.location).collect();
    assert_eq!(
        lines,
        [Location::Line(3), Location::Line(4), Location::Line(6)],
        "{e}"
    );
    assert_eq!(
        asked.into_inner(),
        [401, 999],
        "each distinct household asked once"
    );
}

#[test]
fn references_checked_against_store() {
    let csv = "id,household_id,name,sex,birth_year\n1,401,甲,男,1950\n2,999,乙,女,1960\n";
    let asked = std::cell::Cell::new(0);
    let known = |k: ElementKind, id: u64| {
        asked.set(asked.get() + 1);
        k == ElementKind::Households && id == 401
    };
    let mut o = opts();
    o.references = Some(&known);
    let e = import::read_bytes(ElementKind::Persons, csv.as_bytes(), "p.csv", &o).unwrap_err();
    let errs = errors(&e);
    assert_eq!(errs.len(), 1, "{e}");
    assert_eq!(errs[0].location, Location::Line(3));
    assert_eq!(errs[0].reason, "household 999 is not in the store");
    let csv3 = "id,household_id,name,sex,birth_year\n1,401,甲,男,1950\n2,401,乙,女,1960\n";
    asked.set(0);
    import::read_bytes(ElementKind::Persons, csv3.as_bytes(), "p.csv", &o).unwrap();
    assert_eq!(asked.get(), 1, "each distinct reference asked once");
    // Self references resolve inside the file.
    let csv = "id,category,reported_at,master_id,lon,lat\n1,02.01,2024-01-01,,113.4,34.1\n2,02.01,2024-01-01,1,113.4,34.1\n3,02.01,2024-01-01,5,113.4,34.1\n";
    let e = import::read_bytes(ElementKind::Events, csv.as_bytes(), "e.csv", &o).unwrap_err();
    assert_eq!(errors(&e).len(), 1, "{e}");
    assert!(
        e.to_string()
            .contains("event 5 is not in this file nor in the store"),
        "{e}"
    );
}

#[test]
fn self_references_resolve_whatever_the_order_of_ids() {
    // IDs out of order (the deferred ID check sorts them before looking up
    // the references), a reference forward to a later record, one missing.
    let csv = "id,category,reported_at,master_id,lon,lat\n9,02.01,2024-01-01,,113.4,34.1\n3,02.01,2024-01-01,12,113.4,34.1\n12,02.01,2024-01-01,,113.4,34.1\n5,02.01,2024-01-01,4,113.4,34.1\n";
    let nothing_stored = |_: ElementKind, _: u64| false;
    let mut o = opts();
    o.references = Some(&nothing_stored);
    let read = |csv: &str| import::read_bytes(ElementKind::Events, csv.as_bytes(), "e.csv", &o);
    let e = read(csv).unwrap_err();
    let errs = errors(&e);
    assert_eq!(errs.len(), 1, "{e}");
    assert_eq!(errs[0].location, Location::Line(5));
    assert_eq!(
        errs[0].reason,
        "event 4 is not in this file nor in the store"
    );
    let ok = csv.replace(",4,113.4", ",9,113.4");
    let b = read(&ok).unwrap();
    let ids: Vec<u64> = b.dataset.events.iter().map(|e| e.id.get()).collect();
    assert_eq!(ids, [9, 3, 12, 5], "file order kept");
}

#[test]
fn a_repeated_id_out_of_order_is_reported_at_its_line() {
    let csv = "id,building_id,floor,room\n9,1,1,101\n3,1,1,102\n9,1,2,201\n3,1,2,202\n";
    let e = bytes(ElementKind::Households, csv, "h.csv").unwrap_err();
    let reasons = located_errors(&e);
    assert_eq!(
        reasons,
        [
            "line 4: duplicate id 9 (first at line 2)",
            "line 5: duplicate id 3 (first at line 3)"
        ]
    );
}

#[test]
fn every_problem_listed() {
    let mut csv = String::from("id,name,sex,birth_year\n");
    for i in 1..=30 {
        csv.push_str(&format!("{i},某,火星,1950\n"));
    }
    csv.push_str("0,某,男,1950\n");
    let e = bytes(ElementKind::Persons, &csv, "p.csv").unwrap_err();
    assert_eq!(e.problems().len(), 31);
    let msg = e.to_string();
    assert!(
        msg.starts_with("p.csv: 31 error(s), nothing imported:"),
        "{msg}"
    );
    assert!(msg.contains("… and 11 more"), "{msg}");
}

#[test]
fn lujiazui_buildings_merge_by_id() {
    let path = real("shanghai-lujiazui-buildings.geojson");
    let e = import::read(ElementKind::Buildings, &path, &opts()).unwrap_err();
    assert!(e.to_string().contains("--merge-by-id"), "{e}");
    assert!(
        e.problems()
            .iter()
            .any(|p| p.reason.contains("--negative-ids")),
        "{e}"
    );
    let mut o = opts();
    o.merge_by_id = true;
    o.negative_ids = true;
    let b = import::read(ElementKind::Buildings, &path, &o).unwrap_or_else(|e| panic!("{e}"));
    let n = b.dataset.buildings.len();
    // 1,517 distinct IDs, of which 67 only as points (entrances, addresses).
    assert_eq!(n, 1450, "{:?}", b.stats);
    assert_eq!(b.stats.skipped, 409);
    assert!(b.stats.merged_pieces > 100, "{:?}", b.stats);
    let convention = b
        .dataset
        .buildings
        .iter()
        .find(|b| b.id.get() == 40778072)
        .unwrap();
    assert_eq!(convention.height_m, Some(20.0));
    let relation = import::NEGATIVE_ID_BASE + 6639844;
    assert!(b.dataset.buildings.iter().any(|b| b.id.get() == relation));
    let with_height = b
        .dataset
        .buildings
        .iter()
        .filter(|b| b.height_m.is_some())
        .count();
    assert!(with_height > 600, "{with_height}");
    round_trip(
        ElementKind::Buildings,
        &normalised(ElementKind::Buildings, &b.dataset),
    );
}

#[test]
fn hong_kong_communities() {
    let path = real("hk-dcca-2019.geojson");
    let e = import::read(ElementKind::Communities, &path, &opts()).unwrap_err();
    assert!(e.to_string().contains("division prefix"), "{e}");
    let mut o = opts();
    o.division_prefix = Some("810000000".into());
    let b = import::read(ElementKind::Communities, &path, &o).unwrap_or_else(|e| panic!("{e}"));
    let c = &b.dataset.communities;
    assert_eq!(c.len(), 452);
    assert_eq!(c[0].name, "A04");
    assert_eq!(c[0].id.get(), 1);
    assert_eq!(c[451].code.as_str(), "810000000452");
    assert!(b
        .problems
        .iter()
        .any(|p| p.reason.contains("numbered by feature position")));
    round_trip(
        ElementKind::Communities,
        &normalised(ElementKind::Communities, &b.dataset),
    );
}

#[test]
fn crs_converted_on_import() {
    let csv = "id,name,category,lon,lat\n1,x,poi,113.4757,34.1535\n";
    let mut o = opts();
    o.crs = crate::crs::Crs::Gcj02;
    let b = import::read_bytes(ElementKind::Places, csv.as_bytes(), "p.csv", &o).unwrap();
    let geo_types::Geometry::Point(p) = b.dataset.places[0].geometry else {
        panic!()
    };
    let dx = (p.x() - 113.4757).abs();
    assert!(dx > 1e-4 && dx < 1e-2, "GCJ-02 offset removed: {dx}");
}

mod prop {
    use super::*;
    use crate::ids::{HouseholdId, NationalId, PersonId, Phone};
    use crate::model::Person;
    use proptest::prelude::*;

    fn person() -> impl Strategy<Value = Person> {
        (
            1u64..u64::MAX / 2,
            proptest::option::of(1u64..1_000_000),
            "[\\p{Han}a-zA-Z=+@ '-]{1,8}",
            proptest::option::of((
                "[1-6][0-9]{5}",
                1900u16..2020,
                1u32..=12,
                1u32..=28,
                0u32..1000,
            )),
            proptest::option::of(13_000_000_000u64..19_999_999_999),
            1880u16..2100,
            any::<bool>(),
            proptest::sample::subsequence(crate::model::PersonTag::ALL.to_vec(), 0..4),
        )
            .prop_map(|(id, hh, name, nid, phone, by, male, tags)| {
                let national_id = nid.map(|(region, y, m, d, seq)| {
                    let first = format!("{region}{y}{m:02}{d:02}{seq:03}");
                    let check = NationalId::check_char(&first) as char;
                    NationalId::parse(&format!("{first}{check}")).unwrap()
                });
                Person {
                    id: PersonId::new(id).unwrap(),
                    household: hh.map(|h| HouseholdId::new(h).unwrap()),
                    name: name
                        .trim()
                        .to_string()
                        .chars()
                        .filter(|c| *c != ' ')
                        .collect::<String>()
                        .replace('\'', "x"),
                    national_id,
                    phone: phone.map(|p| Phone::parse(&p.to_string()).unwrap()),
                    birth_year: by,
                    sex: if male { Sex::Male } else { Sex::Female },
                    tags,
                }
            })
            .prop_filter("name not empty", |p| !p.name.is_empty())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn persons_round_trip(people in proptest::collection::vec(person(), 1..20)) {
            let mut seen = std::collections::HashSet::new();
            let persons: Vec<Person> = people.into_iter().filter(|p| seen.insert(p.id)).collect();
            let d = Dataset { persons, ..Dataset::default() };
            round_trip(ElementKind::Persons, &d);
        }
    }
}

/// A people CSV over [`import::PARALLEL_CSV_BYTES`] with bad rows spread
/// through it, quoted cells holding newlines and commas, and (optionally) an
/// ID repeated far apart.
fn big_people_csv(repeat_id: bool) -> String {
    let mut csv = String::from("id,household_id,name,national_id,sex,birth_year,tags\n");
    let mut i = 0u64;
    while csv.len() < import::PARALLEL_CSV_BYTES * 2 {
        i += 1;
        let name = match i % 997 {
            0 => "\"多行\n姓名\"".to_string(),
            1 => "\"逗,号 \"\"引\"\"\"".to_string(),
            _ => format!("张{}", i % 89),
        };
        let year = match i % 4_999 {
            0 => "1700".to_string(), // out of range: an error on this line
            _ => (1930 + i % 80).to_string(),
        };
        let nid = match i % 7_919 {
            0 => "110101199003071234", // bad checksum
            _ => "",
        };
        let id = if repeat_id && i == 40_000 { 7 } else { i };
        csv.push_str(&format!("{id},,{name},{nid},男,{year},党员\n"));
    }
    csv
}

/// Reads a people CSV in `parts` (see [`import::read_bytes_in`]).
fn read_people(csv: &str, parts: Option<usize>) -> Result<ImportBatch, ImportError> {
    import::read_bytes_in(
        ElementKind::Persons,
        csv.as_bytes(),
        "p.csv",
        &opts(),
        parts,
    )
}

#[test]
fn a_csv_read_in_parallel_parts_equals_the_serial_read() {
    let csv = big_people_csv(false);
    let serial = read_people(&csv, Some(1)).expect_err("bad rows");
    for parts in [2, 3, 8] {
        let parallel = read_people(&csv, Some(parts)).expect_err("bad rows");
        assert_eq!(parallel.problems(), serial.problems(), "{parts} parts");
    }
    let lines: Vec<u64> = errors(&serial)
        .iter()
        .filter_map(|p| match p.location {
            Location::Line(l) => Some(l),
            _ => None,
        })
        .collect();
    assert!(
        lines.len() >= 10 && lines.windows(2).all(|w| w[0] < w[1]),
        "{lines:?}"
    );
    // Line numbers count the newlines inside quoted names: the first bad
    // birth year is record 4,999, after 5 quoted two-line names.
    assert_eq!(lines[0], 1 + 4_999 + 5);

    // Without the bad rows, the elements come out identical and in order.
    let clean = csv
        .replace(",1700,", ",1950,")
        .replace("110101199003071234", "");
    let serial = read_people(&clean, Some(1)).expect("clean");
    let parallel = read_people(&clean, None).expect("clean");
    assert!(serial.dataset.persons.len() > 20_000);
    assert_eq!(parallel.dataset, serial.dataset);
    assert_eq!(parallel.stats, serial.stats);
    assert_eq!(parallel.problems, serial.problems);
    // The same with the parts fixed, whatever the cores of this machine.
    let four = read_people(&clean, Some(4)).expect("clean");
    assert_eq!(four.dataset, serial.dataset);
}

#[test]
fn an_id_repeated_across_parts_is_reported_as_by_a_serial_read() {
    let csv = big_people_csv(true);
    let serial = read_people(&csv, Some(1)).expect_err("duplicate");
    let parallel = read_people(&csv, Some(4)).expect_err("duplicate");
    assert_eq!(parallel.problems(), serial.problems());
    assert!(
        errors(&parallel)
            .iter()
            .any(|p| p.reason.starts_with("duplicate id 7 (first at line 8)")),
        "{parallel}"
    );
}

#[test]
fn multipolygon_compounds_and_buildings_are_kept_with_their_parts() {
    let two = r#"{"type":"MultiPolygon","coordinates":[
        [[[114.0,34.0],[114.001,34.0],[114.001,34.001],[114.0,34.001],[114.0,34.0]]],
        [[[114.002,34.0],[114.003,34.0],[114.003,34.001],[114.002,34.001],[114.002,34.0]]]]}"#;
    let compounds = format!(
        r#"{{"type":"FeatureCollection","features":[{{"type":"Feature","geometry":{two},"properties":{{"id":7,"name":"跨路小区"}}}}]}}"#
    );
    let c =
        bytes(ElementKind::Compounds, &compounds, "c.geojson").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.dataset.compounds.len(), 1);
    assert_eq!(
        c.dataset.compounds[0].boundary.0.len(),
        2,
        "both parts kept"
    );
    round_trip(ElementKind::Compounds, &c.dataset);
    let buildings = compounds
        .replace("跨路小区", "")
        .replace(r#""name":"","#, "");
    let b =
        bytes(ElementKind::Buildings, &buildings, "b.geojson").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(b.dataset.buildings[0].footprint.0.len(), 2);
    assert_eq!(b.stats.multipart, 1);
    assert!(
        b.problems
            .iter()
            .any(|p| !p.is_error() && p.reason.contains("kept as one building with its parts")),
        "{:?}",
        b.problems
    );
    round_trip(ElementKind::Buildings, &b.dataset);
}

/// A geometry of more positions than the limit is refused naming its
/// feature, the other features read as usual, and one at the limit is read:
/// both through the member-by-member path of long features, which counts
/// the positions before any tree is built (the memory that saves is
/// measured by `wangge-data`'s `size_bombs` test).
#[test]
fn a_ring_past_the_vertex_limit_is_refused_naming_its_feature() {
    let file = |n: usize| {
        let ring: Vec<String> = (0..n)
            .map(|k| {
                let a = (k % (n - 1)) as f64 / (n - 1) as f64 * std::f64::consts::TAU;
                format!(
                    "[{:.9}, {:.9}]",
                    121.5 + 0.01 * a.cos(),
                    31.2 + 0.01 * a.sin()
                )
            })
            .collect();
        let square =
            "[[121.50,31.20],[121.501,31.20],[121.501,31.201],[121.50,31.201],[121.50,31.20]]";
        format!(
            r#"{{"type":"FeatureCollection","features":[
            {{"type":"Feature","properties":{{"id":1,"note":"[[[1,2]]]"}},"geometry":{{"type":"Polygon","coordinates":[{square}]}}}},
            {{"type":"Feature","properties":{{"id":2}},"geometry":{{"type":"Polygon","coordinates":[[{}]]}}}}]}}"#,
            ring.join(",")
        )
    };
    let e = bytes(ElementKind::Buildings, &file(100_001), "ring.geojson").unwrap_err();
    let reasons = located_errors(&e);
    assert_eq!(
        reasons,
        ["feature 1: geometry has 100001 coordinates, more than the limit of 100000"],
        "{e}"
    );
    // At the limit the ring is read.
    let b = bytes(ElementKind::Buildings, &file(100_000), "ring.geojson")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(b.dataset.buildings.len(), 2);
    // Strings are skipped when positions are counted; empty arrays are none.
    assert_eq!(
        super::source::positions_in(r#"{"type":"[[x","coordinates":[[[1, 2], [ 3,4]], []]}"#),
        2
    );
}
