//! Integration tests of the tiles crate: decoded tiles, heatmaps, snapshots,
//! updates, PMTiles round trip, style and docs in sync.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use fast_mvt::{MvtGeometry, MvtReaderRef, MvtValueRef};
use geo_types::{Coord, LineString};
use tiles::heatmap::{res_for_zoom, suppress_below, HeatFilter, HeatIndex, StatusClass};
use tiles::sample::{self, PERSON_ID_NUMBER, PERSON_NAME, PERSON_PHONE, WORKER_NAME};
use tiles::{lonlat_to_tile, FieldType, Layer, TileFilter, TileOptions, TileSet};

fn sample_set() -> (geo_core::Dataset, TileSet) {
    let ds = sample::dataset().unwrap();
    let set = TileSet::build(&ds, TileOptions::default());
    (ds, set)
}

/// k = 3: roles without personal-data access (aggregated events).
fn filter() -> TileFilter {
    TileFilter::at(sample::now())
}

/// k = 1: roles with personal-data access (one point per event).
fn exact() -> TileFilter {
    TileFilter {
        min_count: 1,
        ..filter()
    }
}

/// A decoded feature, flattened for assertions and snapshots.
#[derive(Debug, Clone, serde::Serialize)]
struct DFeat {
    id: Option<u64>,
    kind: &'static str,
    coords: Vec<Vec<[i32; 2]>>,
    props: BTreeMap<String, serde_json::Value>,
}

fn value(v: MvtValueRef<'_>) -> serde_json::Value {
    match v {
        MvtValueRef::String(s) => serde_json::json!(s),
        MvtValueRef::Float(f) => serde_json::json!(f),
        MvtValueRef::Double(f) => serde_json::json!(f),
        MvtValueRef::Int(i) | MvtValueRef::SInt(i) => serde_json::json!(i),
        MvtValueRef::UInt(u) => serde_json::json!(u),
        MvtValueRef::Bool(b) => serde_json::json!(b),
        MvtValueRef::Null => serde_json::Value::Null,
    }
}

fn ring(ls: &LineString<i32>) -> Vec<[i32; 2]> {
    ls.0.iter().map(|c: &Coord<i32>| [c.x, c.y]).collect()
}

fn area2(r: &[[i32; 2]]) -> i64 {
    let n = r.len();
    (0..n)
        .map(|i| {
            i64::from(r[i][0]) * i64::from(r[(i + 1) % n][1])
                - i64::from(r[(i + 1) % n][0]) * i64::from(r[i][1])
        })
        .sum()
}

/// Decodes a tile, checking extent, coordinate ranges, winding and
/// attribute types on the way.
fn decode(bytes: &[u8]) -> BTreeMap<String, Vec<DFeat>> {
    let reader = MvtReaderRef::new(bytes).expect("valid MVT");
    let mut out = BTreeMap::new();
    let (lo, hi) = (-64, 4096 + 64);
    for layer in reader.layers() {
        assert_eq!(layer.extent(), 4096);
        assert_eq!(layer.version(), 2);
        let schema = Layer::parse(layer.name()).expect("known layer").fields();
        let mut feats = Vec::new();
        for f in layer.features() {
            let geom = f.geometry().expect("valid geometry");
            let (kind, coords) = match &geom {
                MvtGeometry::Point(p) => ("point", vec![vec![[p.x(), p.y()]]]),
                MvtGeometry::MultiPoint(m) => {
                    ("point", vec![m.0.iter().map(|p| [p.x(), p.y()]).collect()])
                }
                MvtGeometry::LineString(l) => ("line", vec![ring(l)]),
                MvtGeometry::MultiLineString(m) => ("line", m.0.iter().map(ring).collect()),
                MvtGeometry::Polygon(p) => (
                    "polygon",
                    std::iter::once(p.exterior())
                        .chain(p.interiors())
                        .map(ring)
                        .collect(),
                ),
                MvtGeometry::MultiPolygon(m) => (
                    "polygon",
                    m.0.iter()
                        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()).map(ring))
                        .collect(),
                ),
                other => panic!("unexpected geometry {other:?}"),
            };
            for r in &coords {
                for c in r {
                    assert!(
                        (lo..=hi).contains(&c[0]) && (lo..=hi).contains(&c[1]),
                        "{} coord {c:?} outside buffer",
                        layer.name()
                    );
                }
            }
            match &geom {
                MvtGeometry::Polygon(p) => check_winding(std::slice::from_ref(p)),
                MvtGeometry::MultiPolygon(m) => check_winding(&m.0),
                MvtGeometry::LineString(l) => assert!(l.0.len() >= 2),
                _ => {}
            }
            let mut props = BTreeMap::new();
            for (k, v) in f.properties_vec().expect("valid properties") {
                let field = schema
                    .iter()
                    .find(|fd| fd.name == k)
                    .unwrap_or_else(|| panic!("{}: undocumented attribute {k}", layer.name()));
                let ok = matches!(
                    (field.kind, v),
                    (FieldType::String, MvtValueRef::String(_))
                        | (FieldType::Boolean, MvtValueRef::Bool(_))
                        | (
                            FieldType::Number,
                            MvtValueRef::UInt(_)
                                | MvtValueRef::Int(_)
                                | MvtValueRef::SInt(_)
                                | MvtValueRef::Double(_)
                                | MvtValueRef::Float(_)
                        )
                );
                assert!(
                    ok,
                    "{}.{k} has type {v:?}, schema says {:?}",
                    layer.name(),
                    field.kind
                );
                props.insert(k.to_string(), value(v));
            }
            feats.push(DFeat {
                id: f.id(),
                kind,
                coords,
                props,
            });
        }
        out.insert(layer.name().to_string(), feats);
    }
    out
}

fn check_winding(polys: &[geo_types::Polygon<i32>]) {
    for p in polys {
        let ext = ring(p.exterior());
        assert!(ext.len() >= 4, "ring too short: {ext:?}");
        assert!(
            area2(&ext) > 0,
            "exterior must be clockwise in y-down tile coordinates (positive area): {ext:?}"
        );
        for h in p.interiors() {
            assert!(area2(&ring(h)) < 0, "holes wind the other way");
        }
    }
}

fn assert_no_personal_data(bytes: &[u8], what: &str) {
    for needle in [
        PERSON_NAME,
        PERSON_PHONE,
        PERSON_ID_NUMBER,
        WORKER_NAME,
        "楼道堆物",
        "建设路12号",
    ] {
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "{what} leaks {needle:?}"
        );
    }
}

fn centre_tile(z: u8) -> (u32, u32) {
    lonlat_to_tile(sample::CENTRE[0] - 0.0045, sample::CENTRE[1] + 0.0018, z)
}

#[test]
fn every_layer_decodes_with_documented_attributes_and_no_personal_data() {
    let (_, set) = sample_set();
    let mut seen = std::collections::BTreeSet::new();
    for z in 8..=18 {
        let (cx, cy) = centre_tile(z);
        for (x, y) in [
            (cx, cy),
            (cx + 1, cy),
            (cx, cy + 1),
            (cx.saturating_sub(1), cy),
        ] {
            for layer in Layer::ALL {
                let bytes = set.tile(*layer, z, x, y, &filter()).unwrap();
                assert_no_personal_data(&bytes, &format!("{layer} {z}/{x}/{y}"));
                let decoded = decode(&bytes);
                for (name, feats) in decoded {
                    assert!(!feats.is_empty(), "empty layer {name} written");
                    if *layer != Layer::All {
                        assert_eq!(name, layer.name());
                    }
                    seen.insert(name);
                }
            }
        }
    }
    let expected: std::collections::BTreeSet<String> =
        Layer::PARTS.iter().map(|l| l.name().to_string()).collect();
    assert_eq!(seen, expected, "every layer has features somewhere");
}

#[test]
fn buildings_carry_extrusion_attributes() {
    let (_, set) = sample_set();
    let (x, y) = centre_tile(16);
    let d = decode(&set.tile(Layer::Buildings, 16, x, y, &filter()).unwrap());
    let b = &d["buildings"];
    assert_eq!(b.len(), 4);
    for f in b {
        for k in [
            "levels",
            "height",
            "min_height",
            "households",
            "usage",
            "units",
        ] {
            assert!(f.props.contains_key(k), "missing {k}: {:?}", f.props);
        }
        assert!(f.props["height"].as_f64().unwrap() > 0.0);
    }
    // Building 3 has no height: 6 levels × 3 m. Building 4 has no levels: 18.5 m / 3 ≈ 6.
    let by_id: BTreeMap<u64, &DFeat> = b.iter().map(|f| (f.id.unwrap(), f)).collect();
    assert_eq!(by_id[&3].props["height"], serde_json::json!(18.0));
    assert_eq!(by_id[&4].props["levels"], serde_json::json!(6));
}

#[test]
fn grid_kinds_appear_at_their_zooms() {
    let (_, set) = sample_set();
    let kinds = |z: u8| -> std::collections::BTreeSet<String> {
        let (x, y) = lonlat_to_tile(sample::CENTRE[0], sample::CENTRE[1], z);
        let mut out = std::collections::BTreeSet::new();
        for dx in 0..=1 {
            for dy in 0..=1 {
                let d = decode(
                    &set.tile(Layer::Grids, z, x + dx, y + dy, &filter())
                        .unwrap(),
                );
                for f in d.get("grids").into_iter().flatten() {
                    out.insert(f.props["kind"].as_str().unwrap().to_string());
                }
            }
        }
        out
    };
    assert!(kinds(10).is_empty());
    assert_eq!(kinds(11).into_iter().collect::<Vec<_>>(), ["comprehensive"]);
    assert_eq!(
        kinds(12).into_iter().collect::<Vec<_>>(),
        ["comprehensive", "dedicated"]
    );
    assert_eq!(
        kinds(14).into_iter().collect::<Vec<_>>(),
        ["comprehensive", "dedicated", "micro"]
    );
}

#[test]
fn events_carry_no_reporter_and_respect_filters() {
    let (ds, set) = sample_set();
    let z = 15;
    let (x, y) = lonlat_to_tile(sample::CENTRE[0], sample::CENTRE[1], z);
    let mut total = 0;
    let mut overdue = 0;
    for dx in -1i64..=1 {
        for dy in -1i64..=1 {
            let (tx, ty) = ((x as i64 + dx) as u32, (y as i64 + dy) as u32);
            let mut f = exact();
            f.events.statuses = vec![StatusClass::Overdue];
            let d = decode(&set.tile(Layer::Events, z, tx, ty, &f).unwrap());
            for e in d.get("events").into_iter().flatten() {
                assert_eq!(e.props["overdue"], serde_json::json!(true));
            }
            overdue += d.get("events").map_or(0, Vec::len);
            // thinning is off at z16+: count all there instead
            let d = decode(
                &set.tile(Layer::Events, 16, tx * 2, ty * 2, &exact())
                    .unwrap(),
            );
            total += d.get("events").map_or(0, Vec::len);
        }
    }
    let expect_overdue = ds
        .events
        .iter()
        .filter(|e| e.is_overdue(sample::now()))
        .count();
    assert!(
        overdue > 0 && overdue <= expect_overdue,
        "{overdue} vs {expect_overdue}"
    );
    assert!(total > 0);
}

#[test]
fn heatmap_counts_equal_brute_force() {
    let ds = sample::synthetic_town(11, 200, 5_000).unwrap();
    let index = HeatIndex::build(&ds.events);
    let now = sample::now();
    let cats: Vec<_> = geo_core::taxonomy::EventCategory::all().take(9).collect();
    let filters = [
        HeatFilter::at(now),
        HeatFilter {
            from: Some(now - chrono::Duration::days(90)),
            to: Some(now - chrono::Duration::days(10)),
            ..HeatFilter::at(now)
        },
        HeatFilter {
            categories: cats.clone(),
            statuses: vec![StatusClass::Overdue, StatusClass::Closed],
            ..HeatFilter::at(now)
        },
        HeatFilter {
            sources: vec![geo_core::model::EventSource::Hotline],
            statuses: vec![StatusClass::Open],
            ..HeatFilter::at(now)
        },
    ];
    for f in &filters {
        for res in 7..=10u8 {
            let cells = index.aggregate(f, res);
            let mut brute: BTreeMap<u64, u32> = BTreeMap::new();
            for e in &ds.events {
                let t_ok = f.from.is_none_or(|t| e.reported_at >= t)
                    && f.to.is_none_or(|t| e.reported_at < t);
                let class = if !e.status.is_open() {
                    StatusClass::Closed
                } else if e.is_overdue(now) {
                    StatusClass::Overdue
                } else {
                    StatusClass::Open
                };
                let ok = t_ok
                    && (f.categories.is_empty() || f.categories.contains(&e.category))
                    && (f.sources.is_empty() || f.sources.contains(&e.source))
                    && (f.statuses.is_empty() || f.statuses.contains(&class));
                if ok {
                    let ll = h3o::LatLng::new(e.location.y(), e.location.x()).unwrap();
                    let cell = ll.to_cell(h3o::Resolution::try_from(res).unwrap());
                    *brute.entry(u64::from(cell)).or_default() += 1;
                }
            }
            let got: BTreeMap<u64, u32> =
                cells.iter().map(|c| (u64::from(c.cell), c.count)).collect();
            assert_eq!(got, brute, "res {res} filter {f:?}");
            assert!(brute.values().sum::<u32>() > 0);
        }
    }
}

#[test]
fn heatmap_tile_suppresses_small_cells() {
    let (_, set) = sample_set();
    let z = 14;
    let (x, y) = lonlat_to_tile(sample::CENTRE[0] - 0.0048, sample::CENTRE[1] + 0.0011, z);
    let counts = |k: u32| -> Vec<u64> {
        let f = TileFilter {
            min_count: k,
            ..filter()
        };
        decode(&set.tile(Layer::Heatmap, z, x, y, &f).unwrap())
            .get("heatmap")
            .into_iter()
            .flatten()
            .filter(|f| f.props["kind"] == "point")
            .map(|f| f.props["count"].as_u64().unwrap())
            .collect()
    };
    let open = counts(1);
    let safe = counts(3);
    assert!(
        open.iter().any(|c| *c < 3),
        "sample has single events: {open:?}"
    );
    assert!(!safe.is_empty() && safe.iter().all(|c| *c >= 3), "{safe:?}");
    let idx = set.heat();
    let all = idx.aggregate(&HeatFilter::at(sample::now()), res_for_zoom(z));
    assert!(suppress_below(all.clone(), 3).len() < all.len());
}

#[test]
fn snapshot_sample_tiles() {
    let (_, set) = sample_set();
    let (x, y) = centre_tile(15);
    insta::assert_json_snapshot!(
        "all_z15",
        decode(&set.tile(Layer::All, 15, x, y, &filter()).unwrap())
    );
    let (x, y) = centre_tile(12);
    insta::assert_json_snapshot!(
        "all_z12",
        decode(&set.tile(Layer::All, 12, x, y, &filter()).unwrap())
    );
}

#[test]
fn upsert_event_changes_tile_and_reports_invalidation() {
    let (ds, mut set) = sample_set();
    let mut e = ds.events[6].clone();
    let z = 16;
    let new_at = geo_types::Point::new(sample::CENTRE[0] + 0.002, sample::CENTRE[1] - 0.001);
    let (x, y) = lonlat_to_tile(new_at.x(), new_at.y(), z);
    let before = decode(&set.tile(Layer::Events, z, x, y, &exact()).unwrap());
    e.location = new_at;
    let inv = set.upsert_event(&e);
    let after = decode(&set.tile(Layer::Events, z, x, y, &exact()).unwrap());
    let ids = |d: &BTreeMap<String, Vec<DFeat>>| {
        d.get("events")
            .into_iter()
            .flatten()
            .filter_map(|f| f.id)
            .collect::<Vec<_>>()
    };
    assert!(!ids(&before).contains(&e.id.get()));
    assert!(ids(&after).contains(&e.id.get()));
    assert!(inv.affects(Layer::Events, z, x, y));
    assert!(inv.affects(Layer::All, z, x, y));
    assert!(inv.affects(
        Layer::Heatmap,
        3,
        lonlat_to_tile(new_at.x(), new_at.y(), 3).0,
        lonlat_to_tile(new_at.x(), new_at.y(), 3).1
    ));
    assert!(!inv.affects(Layer::Buildings, z, x, y));
    assert!(!inv.affects(Layer::Events, z, x + 50, y));
    assert_eq!(set.heat().len(), ds.events.len());
    assert!(set.remove_event(e.id).is_some());
    assert_eq!(set.heat().len(), ds.events.len() - 1);
}

#[test]
fn replace_grids_invalidates_grid_tiles() {
    let (ds, mut set) = sample_set();
    let grids: Vec<_> = ds
        .grids
        .iter()
        .filter(|g| g.kind != geo_core::model::GridKind::Micro)
        .cloned()
        .collect();
    let inv = set.replace_grids(&grids);
    assert!(inv.layers.contains(&Layer::Grids) && inv.layers.contains(&Layer::Labels));
    let (x, y) = centre_tile(15);
    assert!(inv.affects(Layer::Grids, 15, x, y));
    let d = decode(&set.tile(Layer::Grids, 15, x, y, &filter()).unwrap());
    assert!(d["grids"].iter().all(|f| f.props["kind"] != "micro"));
}

#[test]
fn large_town_tiles_stay_under_the_limit() {
    let ds = sample::synthetic_town(3, 3_000, 30_000).unwrap();
    let opts = TileOptions {
        max_tile_bytes: 60_000,
        ..TileOptions::default()
    };
    let set = TileSet::build(&ds, opts);
    for z in [10u8, 12, 14] {
        let (x, y) = lonlat_to_tile(sample::CENTRE[0], sample::CENTRE[1], z);
        for layer in [Layer::Events, Layer::Buildings, Layer::Heatmap] {
            let bytes = set.tile(layer, z, x, y, &filter()).unwrap();
            assert!(bytes.len() <= 60_000, "{layer} z{z}: {} bytes", bytes.len());
            assert_no_personal_data(&bytes, "large town");
        }
        for f in [filter(), exact()] {
            let all = set.tile(Layer::All, z, x, y, &f).unwrap();
            assert!(all.len() <= 60_000, "all z{z}: {}", all.len());
        }
    }
}

#[test]
fn tile_errors_name_the_value() {
    let (_, set) = sample_set();
    let e = set.tile(Layer::Grids, 3, 8, 0, &filter()).unwrap_err();
    assert!(e.to_string().contains("3/8/0"), "{e}");
    let e = set.tile(Layer::Grids, 23, 0, 0, &filter()).unwrap_err();
    assert!(e.to_string().contains("23"), "{e}");
    assert!(Layer::parse("persons")
        .unwrap_err()
        .to_string()
        .contains("persons"));
}

#[test]
fn pmtiles_round_trip() {
    let (_, set) = sample_set();
    let dir = std::env::temp_dir().join(format!("wangge-tiles-it-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("sample.pmtiles");
    let mut calls = 0;
    let report =
        tiles::pmtiles_export::export_pmtiles(&set, &path, 10, 15, &filter(), &mut |_, _, _| {
            calls += 1
        })
        .unwrap();
    assert!(calls > 0);
    assert!(report.tiles_written > 0 && report.tiles_written <= report.tiles_visited);
    assert!(report.largest_tile_bytes < 500_000);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let backend = pmtiles::MmapBackend::try_from(&path).await.unwrap();
        let reader = pmtiles::AsyncPmTilesReader::try_from_source(backend)
            .await
            .unwrap();
        let h = reader.get_header();
        assert_eq!((h.min_zoom, h.max_zoom), (10, 15));
        assert_eq!(
            h.n_addressed_tiles().map(|n| n.get()),
            Some(report.tiles_written)
        );
        let (x, y) = centre_tile(15);
        let got = reader
            .get_tile_decompressed(pmtiles::TileCoord::new(15, x, y).unwrap())
            .await
            .unwrap()
            .expect("tile present");
        assert_eq!(
            got.as_ref(),
            set.tile(Layer::All, 15, x, y, &filter())
                .unwrap()
                .as_slice()
        );
        let far = reader
            .get_tile(pmtiles::TileCoord::new(15, 0, 0).unwrap())
            .await
            .unwrap();
        assert!(far.is_none());
    });
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn style_references_existing_sources_layers_and_fields() {
    let dark = tiles::style::StyleOptions {
        lang: tiles::style::Lang::En,
        theme: tiles::style::Theme::Dark,
        ..Default::default()
    };
    let style = tiles::style::style_json("http://localhost:8080/", dark);
    assert_eq!(style["sources"]["live"]["type"], "geojson");
    let opts = tiles::style::StyleOptions {
        lang: tiles::style::Lang::En,
        ..Default::default()
    };
    let style = tiles::style::style_json("http://localhost:8080/", opts);
    let sources = style["sources"].as_object().unwrap();
    for l in style["layers"].as_array().unwrap() {
        if l["type"] == "background" {
            continue;
        }
        let src = l["source"].as_str().unwrap();
        assert!(sources.contains_key(src), "{src}");
        if sources[src]["type"] == "geojson" {
            // The 民情 layer: per-grid figures of the API, not a tile layer;
            // the caller's open events: filled by the page from the API.
            match src {
                "sentiment" => assert!(sources[src]["data"]
                    .as_str()
                    .unwrap()
                    .ends_with("/api/v1/grids/sentiment")),
                "mine" => assert_eq!(sources[src]["data"]["features"], serde_json::json!([])),
                other => panic!("unexpected GeoJSON source {other}"),
            }
            continue;
        }
        assert!(
            src == "overdue" || src == l["source-layer"],
            "{} draws {} from source {src}",
            l["id"],
            l["source-layer"]
        );
        let layer = Layer::parse(l["source-layer"].as_str().unwrap()).unwrap();
        let text = l.to_string();
        for cap in text.split("[\"get\",\"").skip(1) {
            let field = cap.split('"').next().unwrap();
            assert!(
                layer.fields().iter().any(|f| f.name == field),
                "{} uses unknown field {field}",
                l["id"]
            );
        }
    }
    assert_eq!(
        sources["grids"]["tiles"][0],
        "http://localhost:8080/tiles/grids/{z}/{x}/{y}.mvt"
    );
    assert!(style.to_string().contains("fill-extrusion"));
}

/// The legend the pages draw is the style's: every colour of a toggle's
/// legend entry is painted by a layer that toggle shows, in both themes.
#[test]
fn style_legend_colours_are_painted_by_the_toggled_layers() {
    use tiles::style::{StyleOptions, Theme};
    for theme in [Theme::Light, Theme::Dark] {
        let style = tiles::style::style_json(
            "http://h",
            StyleOptions {
                theme,
                ..Default::default()
            },
        );
        let layers = style["layers"].as_array().unwrap();
        let legend = style["metadata"]["wangge:legend"].as_object().unwrap();
        for (key, colours) in legend {
            let toggled: Vec<&serde_json::Value> = layers
                .iter()
                .filter(|l| l["metadata"]["wangge:toggle"] == key.as_str())
                .collect();
            if key == "base" {
                assert_eq!(
                    colours[0], layers[0]["paint"]["background-color"],
                    "{theme:?}"
                );
                assert!(!toggled.is_empty());
                continue;
            }
            assert!(
                !toggled.is_empty(),
                "{theme:?}: legend key {key} toggles no layer"
            );
            for c in colours.as_array().unwrap() {
                let painted = toggled
                    .iter()
                    .any(|l| l["paint"].to_string().contains(c.as_str().unwrap()));
                // The dark wall draws buildings in its own greys.
                let dark_buildings = theme == Theme::Dark && key.starts_with("buildings");
                assert!(
                    painted || dark_buildings,
                    "{theme:?}: legend colour {c} of {key} is painted by no layer of it"
                );
            }
        }
        // Every toggle of a layer has a legend entry.
        for l in layers {
            if let Some(k) = l["metadata"]["wangge:toggle"].as_str() {
                assert!(
                    legend.contains_key(k),
                    "{} toggles {k}, which has no legend entry",
                    l["id"]
                );
            }
        }
    }
}

#[test]
fn layers_md_is_in_sync() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/LAYERS.md");
    let on_disk = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read tiles/LAYERS.md: {e}"));
    assert_eq!(
        on_disk,
        tiles::layers_markdown(),
        "tiles/LAYERS.md is stale: regenerate it with the dump example"
    );
}

/// Tiles covering the whole town at `z`.
fn town_tiles(set: &TileSet, z: u8) -> Vec<(u32, u32)> {
    let b = set.bounds().unwrap();
    let nw = tiles::projection::to_world(b[0], b[3]);
    let se = tiles::projection::to_world(b[2], b[1]);
    tiles::TileRange::covering(z, [nw[0], nw[1], se[0], se[1]], 0.0)
        .tiles()
        .collect()
}

#[test]
fn time_dependent_tiles_expire_when_an_event_turns_overdue() {
    let (ds, set) = sample_set();
    let now = sample::now();
    let second = chrono::Duration::seconds(1);
    let e = ds
        .events
        .iter()
        .filter(|e| e.status.is_open() && e.resolved_at.is_none())
        .filter(|e| e.deadline.is_some_and(|d| d > now))
        .min_by_key(|e| e.deadline)
        .expect("the sample has an open event that is not yet due");
    let deadline = e.deadline.unwrap();
    let z = 16;
    let (x, y) = lonlat_to_tile(e.location.x(), e.location.y(), z);
    for (layer, f) in [
        (Layer::Events, exact()),
        (Layer::Events, filter()),
        (Layer::All, exact()),
    ] {
        let t0 = set.tile_with_expiry(layer, z, x, y, &f).unwrap();
        let until = t0
            .valid_until
            .unwrap_or_else(|| panic!("{layer} (k={}) depends on the time", f.min_count));
        assert!(
            until > now && until <= deadline + second,
            "{until} vs {deadline}"
        );
        // The same tile up to the last second before, another one from then on.
        let at = |t| {
            let mut g = f.clone();
            g.events.now = t;
            set.tile_with_expiry(layer, z, x, y, &g).unwrap()
        };
        let before = at(until - second);
        assert_eq!(before.bytes, t0.bytes, "{layer} k={}", f.min_count);
        assert_eq!(before.valid_until, Some(until));
        if f.min_count == 1 {
            let later = at(until);
            assert_ne!(later.bytes, t0.bytes, "{layer}: an event turned overdue");
            assert!(later.valid_until.is_none_or(|u| u > until));
        }
    }
    // Static layers and a heatmap of every status never expire by time.
    let (bx, by) = centre_tile(z);
    let t = set
        .tile_with_expiry(Layer::Buildings, z, bx, by, &exact())
        .unwrap();
    assert!(!t.bytes.is_empty() && t.valid_until.is_none());
    assert!(set
        .tile_with_expiry(Layer::Heatmap, z, x, y, &filter())
        .unwrap()
        .valid_until
        .is_none());
    let mut open_only = filter();
    open_only.events.statuses = vec![StatusClass::Open];
    let t = set
        .tile_with_expiry(Layer::Heatmap, z, x, y, &open_only)
        .unwrap();
    assert!(t.valid_until.is_some_and(|u| u <= deadline + second));
}

#[test]
fn k_anonymous_events_layer_never_singles_out_an_event() {
    let ds = sample::synthetic_town(9, 600, 4_000).unwrap();
    let set = TileSet::build(&ds, TileOptions::default());
    let now = sample::now();
    let k = 3u32;
    for z in [12u8, 14, 16] {
        let res = res_for_zoom(z);
        // Finest-resolution groups are complete: brute-force their counts.
        let mut brute: BTreeMap<(u64, bool), u64> = BTreeMap::new();
        for e in &ds.events {
            let ll = h3o::LatLng::new(e.location.y(), e.location.x()).unwrap();
            let cell = u64::from(ll.to_cell(h3o::Resolution::try_from(res).unwrap()));
            *brute.entry((cell, e.is_overdue(now))).or_default() += 1;
        }
        let mut seen: BTreeMap<u64, u64> = BTreeMap::new();
        for (x, y) in town_tiles(&set, z) {
            let bytes = set.tile(Layer::Events, z, x, y, &filter()).unwrap();
            assert_no_personal_data(&bytes, "aggregated events");
            for f in decode(&bytes).remove("events").unwrap_or_default() {
                let keys: Vec<&str> = f.props.keys().map(String::as_str).collect();
                assert_eq!(
                    keys,
                    ["cell", "count", "grade", "group", "overdue", "res"],
                    "z{z}: no category, status, source or time of a single event"
                );
                let count = f.props["count"].as_u64().unwrap();
                assert!(count >= u64::from(k), "z{z}: a point of {count} events");
                let cell = h3o::CellIndex::try_from(
                    u64::from_str_radix(f.props["cell"].as_str().unwrap(), 16).unwrap(),
                )
                .unwrap();
                let r = f.props["res"].as_u64().unwrap() as u8;
                assert_eq!(u8::from(cell.resolution()), r);
                assert!(r <= res && r + 2 >= res && r >= 7, "z{z}: res {r}");
                // The point is the cell centre, not an event's location.
                let c = h3o::LatLng::from(cell);
                let (tx, ty) = lonlat_to_tile(c.lng(), c.lat(), z);
                let [wx, wy] = tiles::projection::to_world(c.lng(), c.lat());
                let n = f64::from(1u32 << z) * 4096.0;
                let want = [
                    (wx * n - f64::from(x) * 4096.0).round() as i32,
                    (wy * n - f64::from(y) * 4096.0).round() as i32,
                ];
                assert!(tx.abs_diff(x) <= 1 && ty.abs_diff(y) <= 1);
                assert_eq!(f.coords[0][0], want, "z{z}: point at the cell centre");
                let overdue = f.props["overdue"].as_bool().unwrap();
                if r == res {
                    assert_eq!(
                        count,
                        brute[&(u64::from(cell), overdue)],
                        "z{z}: count of {cell}"
                    );
                }
                // A point in two tiles' buffers carries the same count in both.
                let id = f.id.unwrap();
                assert_eq!(*seen.entry(id).or_insert(count), count, "z{z}: {cell}");
            }
        }
        let total: u64 = seen.values().sum();
        assert!(
            total > 0 && total <= ds.events.len() as u64,
            "z{z}: {total} of {} events",
            ds.events.len()
        );
    }
    // The same tile for a leader: one point per event, with its category.
    let n_exact = |(x, y): (u32, u32)| set.tile(Layer::Events, 16, x, y, &exact()).unwrap().len();
    let (x, y) = town_tiles(&set, 16)
        .into_iter()
        .max_by_key(|t| n_exact(*t))
        .unwrap();
    let rows = decode(&set.tile(Layer::Events, 16, x, y, &exact()).unwrap());
    let aggregated = decode(&set.tile(Layer::Events, 16, x, y, &filter()).unwrap());
    let n = |d: &BTreeMap<String, Vec<DFeat>>| d.get("events").map_or(0, Vec::len);
    assert!(
        n(&rows) > n(&aggregated),
        "{} vs {}",
        n(&rows),
        n(&aggregated)
    );
    assert!(rows["events"]
        .iter()
        .all(|f| f.props.contains_key("category")));
}

#[test]
fn composite_stays_under_the_limit_on_a_dense_town() {
    // 80,000 events over a town of 6,000 buildings (~4 km across).
    let ds = sample::synthetic_town(5, 6_000, 80_000).unwrap();
    // Default limit (500 kB), and a tight one that every busy tile hits.
    for limit in [500_000usize, 60_000] {
        let set = TileSet::build(
            &ds,
            TileOptions {
                max_tile_bytes: limit,
                ..TileOptions::default()
            },
        );
        let mut capped = 0;
        let mut sizes = Vec::new();
        for z in [11u8, 12, 13, 14, 15, 16, 17] {
            let tiles = town_tiles(&set, z);
            for (x, y) in tiles.iter().step_by((tiles.len() / 6).max(1)) {
                for f in [filter(), exact()] {
                    let all = set.tile(Layer::All, z, *x, *y, &f).unwrap();
                    let gz = tiles::gzip(&all).unwrap();
                    assert!(all.len() <= limit, "z{z}: {} bytes", all.len());
                    assert!(gz.len() <= limit, "z{z}: {} bytes gzip", gz.len());
                    sizes.push(gz.len());
                    let parts: Vec<Vec<u8>> = Layer::PARTS
                        .iter()
                        .map(|l| set.tile(*l, z, *x, *y, &f).unwrap())
                        .collect();
                    if parts.iter().map(Vec::len).sum::<usize>() > limit {
                        capped += 1;
                        // The budget is shared: no layer is crowded out.
                        let got = decode(&all);
                        for (l, p) in Layer::PARTS.iter().zip(&parts) {
                            if !p.is_empty() {
                                assert!(got.contains_key(l.name()), "z{z}: {l} left out");
                            }
                        }
                    }
                }
            }
        }
        sizes.sort_unstable();
        let median = sizes[sizes.len() / 2];
        eprintln!(
            "limit {limit}: {capped} capped, composite gzip median {median}, max {:?}",
            sizes.last()
        );
        assert!(median < 100_000, "median composite {median} bytes gzip");
        if limit < 500_000 {
            assert!(capped > 0, "the dense town must exercise the composite cap");
        }
    }
}

#[test]
fn pmtiles_export_is_the_same_on_any_number_of_threads() {
    let (_, set) = sample_set();
    let dir = std::env::temp_dir().join(format!("wangge-tiles-threads-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut archives = Vec::new();
    for threads in [1, 3] {
        let path = dir.join(format!("t{threads}.pmtiles"));
        let mut last = BTreeMap::new();
        let r = tiles::pmtiles_export::export_pmtiles_with(
            &set,
            &path,
            10,
            16,
            &filter(),
            threads,
            &mut |z, done, total| {
                assert!(done <= total);
                last.insert(z, (done, total));
            },
        )
        .unwrap();
        assert!(r.tiles_written > 0);
        assert_eq!(last.len(), 7, "progress for every zoom");
        assert!(last.values().all(|(d, t)| d == t), "{last:?}");
        assert_eq!(r.per_zoom.iter().map(|p| p.1).sum::<u64>(), r.tiles_written);
        archives.push(std::fs::read(&path).unwrap());
    }
    assert_eq!(archives[0], archives[1]);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The light map names by zoom (communities at town scale, comprehensive
/// and dedicated grids from `LABEL_ZOOM_GRIDS`, the rest from
/// `LABEL_ZOOM_DETAIL`), no label may overlap another, communities win a
/// collision, micro-grids are drawn from `MICRO_GRID_ZOOM`, and the
/// hexagon wash fades as one zooms in. (The browser tests check what this
/// renders; `tiles/check` validates the expressions with MapLibre's spec.)
#[test]
fn labels_and_grids_appear_by_zoom_and_never_overlap() {
    use tiles::style::{LABEL_ZOOM_DETAIL, LABEL_ZOOM_GRIDS, MICRO_GRID_ZOOM};
    let style = tiles::style::style_json("http://localhost:8080/", Default::default());
    let layer = |id: &str| {
        style["layers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["id"] == id)
            .unwrap_or_else(|| panic!("no layer {id}"))
            .clone()
    };
    let labels = layer("labels");
    let field = &labels["layout"]["text-field"];
    assert_eq!(field[0], "step");
    assert_eq!(field[1], serde_json::json!(["zoom"]));
    assert_eq!(field[3], LABEL_ZOOM_GRIDS);
    assert_eq!(field[5], LABEL_ZOOM_DETAIL);
    let kinds = |stop: &serde_json::Value| stop[2].clone();
    assert_eq!(kinds(&field[2]), serde_json::json!(["community"]));
    assert_eq!(
        kinds(&field[4]),
        serde_json::json!(["community", "comprehensive", "dedicated"])
    );
    assert_eq!(
        labels["layout"]["symbol-sort-key"][3], 0,
        "communities first"
    );
    for l in style["layers"].as_array().unwrap() {
        for k in ["text-allow-overlap", "text-ignore-placement"] {
            assert!(l["layout"].get(k).is_none(), "{} sets {k}", l["id"]);
        }
    }
    for id in ["wg-grids-micro-fill", "wg-grids-micro-line"] {
        assert_eq!(layer(id)["minzoom"], MICRO_GRID_ZOOM, "{id}");
    }
    for id in ["wg-grids-comprehensive-line", "wg-grids-dedicated-line"] {
        assert!(
            layer(id).get("minzoom").is_none(),
            "{id} is drawn at every zoom"
        );
    }
    let hex = &layer("wg-hex")["paint"]["fill-opacity"];
    assert_eq!(hex[0], "interpolate");
    assert!(
        hex[6].as_f64().unwrap() < hex[4].as_f64().unwrap() / 2.0,
        "the wash fades: {hex}"
    );
}
