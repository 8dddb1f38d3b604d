//! OGC API – Features (issue 18) through the real router on a demo store:
//! every collection answers each role exactly the features our own JSON API
//! answers it, pages with `next` links add up to `numberMatched`, `bbox`,
//! `datetime` and property filters cut the same sets the JSON API's filters
//! cut, `crs` re-projects with `Content-Crs`, and bad parameters are 400s
//! that name the parameter. (The access matrix sweep in `matrix.rs` calls
//! every route as every role, in and out of scope, over a real socket.)

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use serde_json::Value;
use web_viewer::AppState;

use crate::common::{demo_state, respond};

/// A caller in proxy mode: role, grids, department.
#[derive(Clone, Copy)]
struct As<'a> {
    role: Option<&'a str>,
    grids: Option<&'a str>,
    dept: Option<&'a str>,
}

const PUBLIC: As<'static> = As {
    role: None,
    grids: None,
    dept: None,
};

fn role(r: &str) -> As<'_> {
    As {
        role: Some(r),
        grids: None,
        dept: None,
    }
}

async fn get(st: &AppState, who: As<'_>, uri: &str) -> (StatusCode, Value, axum::http::HeaderMap) {
    let mut r = Request::get(uri);
    if let Some(x) = who.role {
        r = r.header("x-wangge-role", x);
    }
    if let Some(g) = who.grids {
        r = r.header("x-wangge-grids", g);
    }
    if let Some(d) = who.dept {
        r = r.header("x-wangge-department", d);
    }
    let (s, h, b) = respond(st, r.body(Body::empty()).expect("request")).await;
    (s, serde_json::from_slice(&b).unwrap_or(Value::Null), h)
}

async fn ok(st: &AppState, who: As<'_>, uri: &str) -> Value {
    let (s, v, _) = get(st, who, uri).await;
    assert_eq!(s, StatusCode::OK, "{uri}: {v}");
    v
}

fn ids(v: &Value, pointer: &str) -> BTreeSet<u64> {
    v["features"]
        .as_array()
        .expect("features")
        .iter()
        .map(|f| f.pointer(pointer).and_then(Value::as_u64).expect("an id"))
        .collect()
}

/// Every page of `uri`, following `next` links (absolute URLs of the
/// request's host).
async fn all_pages(st: &AppState, who: As<'_>, uri: &str) -> (BTreeSet<u64>, u64, usize) {
    let mut out = BTreeSet::new();
    let mut next = Some(uri.to_string());
    let mut matched = None;
    let mut pages = 0;
    while let Some(u) = next.take() {
        let v = ok(st, who, &u).await;
        pages += 1;
        let n = v["numberReturned"].as_u64().expect("numberReturned");
        assert_eq!(
            n as usize,
            v["features"].as_array().expect("features").len()
        );
        let m = v["numberMatched"].as_u64().expect("numberMatched");
        assert!(
            matched.is_none_or(|x| x == m),
            "numberMatched changed between pages"
        );
        matched = Some(m);
        let before = out.len();
        out.extend(ids(&v, "/id"));
        assert_eq!(
            out.len(),
            before + n as usize,
            "a feature repeated across pages of {uri}"
        );
        next = v["links"]
            .as_array()
            .expect("links")
            .iter()
            .find(|l| l["rel"] == "next")
            .and_then(|l| l["href"].as_str())
            .map(|h| {
                h.split_once("/ogc/")
                    .map(|(_, p)| format!("/ogc/{p}"))
                    .expect("an /ogc link")
            });
        assert!(pages < 1000, "no end to the pages of {uri}");
    }
    (out, matched.unwrap_or(0), pages)
}

const COLLECTIONS: &[&str] = &[
    "communities",
    "grids",
    "compounds",
    "buildings",
    "places",
    "roads",
    "events",
];

#[tokio::test]
async fn every_collection_answers_each_role_what_the_json_api_answers() {
    let st = demo_state("ogc-roles");
    let grids = ok(
        &st,
        role("leader"),
        "/api/v1/grids?kind=comprehensive&limit=1",
    )
    .await;
    let grid = grids["features"][0]["properties"]["code"]
        .as_str()
        .expect("a grid code")
        .to_string();
    let callers = [
        ("leader", role("leader")),
        ("planner", role("planner")),
        ("screen", role("screen")),
        (
            "worker",
            As {
                role: Some("worker"),
                grids: Some(&grid),
                dept: None,
            },
        ),
        (
            "fire",
            As {
                role: Some("department"),
                grids: None,
                dept: Some("fire_service"),
            },
        ),
    ];
    let mut leader_counts = Vec::new();
    for (name, who) in callers {
        for c in COLLECTIONS {
            let ours = ok(&st, who, &format!("/api/v1/{c}?limit=10000")).await;
            let (got, matched, pages) =
                all_pages(&st, who, &format!("/ogc/collections/{c}/items?limit=400")).await;
            let want = ids(&ours, "/properties/id");
            assert_eq!(got, want, "{name} {c}: OGC items differ from /api/v1/{c}");
            assert_eq!(
                matched,
                ours["total"].as_u64().expect("total"),
                "{name} {c}"
            );
            assert!(pages >= 1);
            if name == "leader" {
                leader_counts.push((c, want.len()));
            }
            if name == "worker" && ["compounds", "buildings", "events"].contains(c) {
                let all = leader_counts
                    .iter()
                    .find(|(k, _)| *k == c)
                    .expect("leader first")
                    .1;
                assert!(want.len() < all, "{c}: the worker sees the whole town");
            }
        }
    }
    println!("leader's collections: {leader_counts:?}");
    // Planners and the screen get events without title, at the H3 cell.
    let v = ok(
        &st,
        role("planner"),
        "/ogc/collections/events/items?limit=50",
    )
    .await;
    for f in v["features"].as_array().expect("features") {
        assert!(f["properties"].get("title").is_none(), "{f}");
        assert_eq!(f["properties"]["coarse"], true);
    }
    // The department: only events dispatched to it.
    let v = ok(
        &st,
        callers[4].1,
        "/ogc/collections/events/items?limit=10000",
    )
    .await;
    assert!(v["numberMatched"].as_u64().unwrap_or(0) > 0);
    for f in v["features"].as_array().expect("features") {
        assert_eq!(f["properties"]["handler"], "dept:fire_service");
    }
    // One feature: the worker's own building is served, another grid's is
    // absent (404, as an ID that does not exist).
    let worker = callers[3].1;
    let mine = ok(&st, worker, "/ogc/collections/buildings/items?limit=1").await;
    let mine = mine["features"][0]["id"].as_u64().expect("a building");
    let (s, f, h) = get(
        &st,
        worker,
        &format!("/ogc/collections/buildings/items/{mine}"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{f}");
    assert_eq!(f["id"].as_u64(), Some(mine));
    assert_eq!(h[header::CONTENT_TYPE], "application/geo+json");
    let theirs = ok(&st, role("leader"), "/api/v1/buildings?limit=10000").await;
    let mine_all = ok(&st, worker, "/api/v1/buildings?limit=10000").await;
    let outside = ids(&theirs, "/properties/id")
        .difference(&ids(&mine_all, "/properties/id"))
        .next()
        .copied()
        .expect("a building outside the worker's grid");
    let (s, e, _) = get(
        &st,
        worker,
        &format!("/ogc/collections/buildings/items/{outside}"),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{e}");
    let (s, _, _) = get(
        &st,
        role("leader"),
        &format!("/ogc/collections/buildings/items/{outside}"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _, _) = get(
        &st,
        role("leader"),
        "/ogc/collections/buildings/items/999999999",
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_public_sees_the_service_but_no_data() {
    let st = demo_state("ogc-public");
    for uri in ["/ogc", "/ogc/", "/ogc/conformance", "/ogc/api"] {
        let (s, v, _) = get(&st, PUBLIC, uri).await;
        assert_eq!(s, StatusCode::OK, "{uri}: {v}");
    }
    for uri in [
        "/ogc/collections",
        "/ogc/collections/buildings",
        "/ogc/collections/buildings/items",
        "/ogc/collections/events/items",
        "/ogc/collections/events/queryables",
    ] {
        let (s, v, _) = get(&st, PUBLIC, uri).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{uri}: {v}");
    }
}

#[tokio::test]
async fn landing_conformance_collections_and_the_openapi_document() {
    let st = demo_state("ogc-docs");
    let leader = role("leader");
    let (s, land, h) = get(&st, leader, "/ogc").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h[header::CONTENT_TYPE], "application/json");
    let rels: Vec<&str> = land["links"]
        .as_array()
        .expect("links")
        .iter()
        .filter_map(|l| l["rel"].as_str())
        .collect();
    for r in ["self", "service-desc", "conformance", "data"] {
        assert!(rels.contains(&r), "landing page without {r}: {land}");
    }
    let conf = ok(&st, leader, "/ogc/conformance").await;
    let classes = conf["conformsTo"].as_array().expect("conformsTo");
    for c in [
        "ogcapi-features-1/1.0/conf/core",
        "conf/geojson",
        "conf/oas30",
        "ogcapi-features-2/1.0/conf/crs",
    ] {
        assert!(
            classes
                .iter()
                .any(|x| x.as_str().is_some_and(|x| x.contains(c))),
            "{c}"
        );
    }
    let cols = ok(&st, leader, "/ogc/collections").await;
    let listed: Vec<&str> = cols["collections"]
        .as_array()
        .expect("collections")
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert_eq!(listed, COLLECTIONS);
    let b = ok(&st, leader, "/ogc/collections/buildings").await;
    assert_eq!(
        b["extent"]["spatial"]["bbox"][0].as_array().map(Vec::len),
        Some(4)
    );
    assert!(b["crs"]
        .as_array()
        .expect("crs")
        .iter()
        .any(|c| c == "http://www.opengis.net/def/crs/EPSG/0/3857"));
    let (s, _, _) = get(&st, leader, "/ogc/collections/persons").await;
    assert_eq!(s, StatusCode::NOT_FOUND, "personal data is no collection");
    let (s, _, _) = get(&st, leader, "/ogc/collections/households/items").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, api, h) = get(&st, PUBLIC, "/ogc/api").await;
    assert_eq!(s, StatusCode::OK);
    assert!(h[header::CONTENT_TYPE]
        .to_str()
        .unwrap_or("")
        .starts_with("application/vnd.oai.openapi+json"));
    assert_eq!(api["openapi"], "3.0.3");
    let params: Vec<&str> = api["paths"]["/collections/buildings/items"]["get"]["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    for p in [
        "bbox", "bbox-crs", "crs", "datetime", "limit", "grid", "usage", "levels",
    ] {
        assert!(params.contains(&p), "buildings items lack {p}: {params:?}");
    }
    let q = ok(&st, leader, "/ogc/collections/events/queryables").await;
    assert_eq!(q["properties"]["status"]["type"], "string");
}

#[tokio::test]
async fn filters_cut_what_the_json_api_filters_cut() {
    let st = demo_state("ogc-filters");
    let leader = role("leader");
    let info = ok(&st, leader, "/api/v1/info").await;
    let e: Vec<f64> = info["extent"]
        .as_array()
        .expect("extent")
        .iter()
        .filter_map(Value::as_f64)
        .collect();
    let (cx, cy) = ((e[0] + e[2]) / 2.0, (e[1] + e[3]) / 2.0);
    let bbox = format!("{},{},{},{}", e[0], e[1], cx, cy);
    let ours = ok(
        &st,
        leader,
        &format!("/api/v1/buildings?limit=10000&bbox={bbox}"),
    )
    .await;
    let all = ok(&st, leader, "/ogc/collections/buildings/items?limit=1").await;
    let v = ok(
        &st,
        leader,
        &format!("/ogc/collections/buildings/items?limit=10000&bbox={bbox}"),
    )
    .await;
    assert_eq!(ids(&v, "/id"), ids(&ours, "/properties/id"));
    let n = v["numberMatched"].as_u64().expect("matched");
    assert!(
        n > 0 && n < all["numberMatched"].as_u64().expect("all"),
        "bbox kept {n}"
    );
    // The same bbox in EPSG:4326 (lat,lon) and in Web Mercator metres.
    let lat_lon = format!("{},{},{},{}", e[1], e[0], cy, cx);
    let v4326 = ok(&st, leader, &format!("/ogc/collections/buildings/items?limit=10000&bbox={lat_lon}&bbox-crs=http://www.opengis.net/def/crs/EPSG/0/4326")).await;
    assert_eq!(v4326["numberMatched"].as_u64(), Some(n));
    let merc = |lon: f64, lat: f64| {
        let r = 6_378_137.0_f64;
        (
            r * lon.to_radians(),
            r * (std::f64::consts::FRAC_PI_4 + lat.to_radians() / 2.0)
                .tan()
                .ln(),
        )
    };
    let (x0, y0) = merc(e[0], e[1]);
    let (x1, y1) = merc(cx, cy);
    let v3857 = ok(&st, leader, &format!("/ogc/collections/buildings/items?limit=10000&bbox={x0},{y0},{x1},{y1}&bbox-crs=EPSG:3857")).await;
    assert_eq!(v3857["numberMatched"].as_u64(), Some(n));
    // Property filters: the same as filtering the JSON API's features.
    let ours = ok(&st, leader, "/api/v1/buildings?limit=10000").await;
    let usage = ours["features"][0]["properties"]["usage"]
        .as_str()
        .expect("usage")
        .to_string();
    let want: BTreeSet<u64> = ours["features"]
        .as_array()
        .expect("features")
        .iter()
        .filter(|f| f["properties"]["usage"] == usage.as_str())
        .filter_map(|f| f["properties"]["id"].as_u64())
        .collect();
    let v = ok(
        &st,
        leader,
        &format!("/ogc/collections/buildings/items?limit=10000&usage={usage}"),
    )
    .await;
    assert_eq!(ids(&v, "/id"), want);
    assert!(want.len() < ours["features"].as_array().map_or(0, Vec::len));
    let v = ok(
        &st,
        leader,
        "/ogc/collections/grids/items?limit=10000&kind=micro",
    )
    .await;
    let g = ok(&st, leader, "/api/v1/grids?limit=10000&kind=micro").await;
    assert_eq!(ids(&v, "/id"), ids(&g, "/properties/id"));
    let v = ok(
        &st,
        leader,
        "/ogc/collections/events/items?limit=10000&status=closed&category=02",
    )
    .await;
    let g = ok(
        &st,
        leader,
        "/api/v1/events?limit=10000&status=closed&category=02",
    )
    .await;
    assert_eq!(ids(&v, "/id"), ids(&g, "/properties/id"));
    assert!(!ids(&v, "/id").is_empty());
    // datetime: an interval of the events' report times, as from/to.
    let v = ok(&st, leader, "/ogc/collections/events/items?limit=10000&datetime=2026-09-01T00:00:00Z/2026-09-30T23:59:59Z").await;
    let g = ok(
        &st,
        leader,
        "/api/v1/events?limit=10000&from=2026-09-01&to=2026-10-01",
    )
    .await;
    assert_eq!(ids(&v, "/id"), ids(&g, "/properties/id"));
    assert!(!ids(&v, "/id").is_empty());
    let v = ok(
        &st,
        leader,
        "/ogc/collections/events/items?limit=10000&datetime=../2026-01-01T00:00:00Z",
    )
    .await;
    let g = ok(
        &st,
        leader,
        "/api/v1/events?limit=10000&to=2026-01-01T00:00:01Z",
    )
    .await;
    assert_eq!(ids(&v, "/id"), ids(&g, "/properties/id"));
}

#[tokio::test]
async fn crs_reprojects_and_says_so() {
    let st = demo_state("ogc-crs");
    let leader = role("leader");
    let base = "/ogc/collections/events/items?limit=5";
    let (s, v84, h) = get(&st, leader, base).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        h["content-crs"],
        "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>"
    );
    let p84 = v84["features"][0]["geometry"]["coordinates"].clone();
    let (lon, lat) = (p84[0].as_f64().expect("lon"), p84[1].as_f64().expect("lat"));
    let (_, v, h) = get(
        &st,
        leader,
        &format!("{base}&crs=http://www.opengis.net/def/crs/EPSG/0/4326"),
    )
    .await;
    assert_eq!(
        h["content-crs"],
        "<http://www.opengis.net/def/crs/EPSG/0/4326>"
    );
    let p = &v["features"][0]["geometry"]["coordinates"];
    assert_eq!(
        (p[0].as_f64(), p[1].as_f64()),
        (Some(lat), Some(lon)),
        "EPSG:4326 is lat,lon"
    );
    let (_, v, h) = get(
        &st,
        leader,
        &format!("{base}&crs=http://www.opengis.net/def/crs/EPSG/0/3857"),
    )
    .await;
    assert_eq!(
        h["content-crs"],
        "<http://www.opengis.net/def/crs/EPSG/0/3857>"
    );
    let x = v["features"][0]["geometry"]["coordinates"][0]
        .as_f64()
        .expect("x");
    assert!((x - 6_378_137.0 * lon.to_radians()).abs() < 0.01, "x {x}");
    let (_, v, h) = get(
        &st,
        leader,
        &format!("{base}&crs=urn:x-wangge:def:crs:gcj02"),
    )
    .await;
    assert_eq!(h["content-crs"], "<urn:x-wangge:def:crs:gcj02>");
    let p = &v["features"][0]["geometry"]["coordinates"];
    let want = geo_core::crs::Crs::Gcj02.from_wgs84(geo_types::coord! { x: lon, y: lat });
    assert!((p[0].as_f64().expect("x") - want.x).abs() < 1e-8);
    assert!((p[1].as_f64().expect("y") - want.y).abs() < 1e-8);
    // One feature too.
    let id = v84["features"][0]["id"].as_u64().expect("id");
    let (s, f, h) = get(
        &st,
        leader,
        &format!("/ogc/collections/events/items/{id}?crs=EPSG:4326"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{f}");
    assert_eq!(
        h["content-crs"],
        "<http://www.opengis.net/def/crs/EPSG/0/4326>"
    );
    assert_eq!(f["geometry"]["coordinates"][0].as_f64(), Some(lat));
}

#[tokio::test]
async fn items_are_gzipped_only_for_clients_that_offer_gzip() {
    let st = demo_state("ogc-gzip");
    let uri = "/ogc/collections/buildings/items?limit=500";
    let req = |ae: Option<&str>| {
        let mut r = Request::get(uri).header("x-wangge-role", "leader");
        if let Some(ae) = ae {
            r = r.header(header::ACCEPT_ENCODING, ae);
        }
        r.body(Body::empty()).expect("request")
    };
    let (s, h, plain) = respond(&st, req(None)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(!h.contains_key(header::CONTENT_ENCODING), "{h:?}");
    let (s, h, gz) = respond(&st, req(Some("gzip"))).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h[header::CONTENT_ENCODING], "gzip");
    assert!(h[header::VARY]
        .to_str()
        .unwrap_or("")
        .to_ascii_lowercase()
        .contains("accept-encoding"));
    let mut raw = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut raw).expect("gzip");
    let (a, b): (Value, Value) = (
        serde_json::from_slice(&plain).expect("json"),
        serde_json::from_slice(&raw).expect("json"),
    );
    assert_eq!(a["features"], b["features"]);
    assert!(
        gz.len() * 3 < plain.len(),
        "{} gzip bytes of {}",
        gz.len(),
        plain.len()
    );
}

#[tokio::test]
async fn bad_parameters_are_400s_naming_them() {
    let st = demo_state("ogc-bad");
    let leader = role("leader");
    for (q, code, names) in [
        ("limit=lots", "bad_limit", "limit=\"lots\""),
        ("limit=-3", "bad_limit", "limit"),
        ("bbox=1,2,3", "bad_bbox", "bbox=\"1,2,3\""),
        ("bbox=a,b,c,d", "bad_bbox", "bbox"),
        ("crs=EPSG:2000", "bad_crs", "crs=\"EPSG:2000\""),
        ("bbox=0,0,1,1&bbox-crs=nope", "bad_crs", "bbox-crs=\"nope\""),
        ("datetime=soon", "bad_time", "datetime=\"soon\""),
        ("status=lost", "bad_status", "lost"),
        ("category=99.99", "bad_category", "99.99"),
        ("offset=x", "bad_query", "offset=\"x\""),
        ("colour=red", "bad_query", "colour=\"red\""),
        ("grid=nowhere", "bad_grid_code", "nowhere"),
    ] {
        let (s, v, _) = get(&st, leader, &format!("/ogc/collections/events/items?{q}")).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{q}: {v}");
        assert_eq!(v["error"]["code"], code, "{q}: {v}");
        let msg = v["error"]["message"].as_str().unwrap_or_default();
        assert!(msg.contains(names), "{q}: {msg}");
    }
    let (s, v, _) = get(&st, leader, "/ogc/collections/buildings/items/abc").await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["error"]["code"], "bad_id");
}
