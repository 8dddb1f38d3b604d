//! Tiles over HTTP (issue 4): cache headers, invalidation after intake,
//! TileJSON, and k-anonymity of the heatmap and events layers by role. The
//! real router on a real DuckDB demo store, through `oneshot`.

use std::collections::BTreeMap;
use std::io::Read;

use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use fast_mvt::{MvtGeometry, MvtReaderRef, MvtValueRef};
use serde_json::{json, Value};
use web_viewer::AppState;

use crate::common::{demo_state as state, respond};

/// `GET uri` as `role` (`None`: no role header, i.e. the big screen).
async fn get(
    st: &AppState,
    uri: &str,
    role: Option<&str>,
    etag: Option<&str>,
) -> (StatusCode, Vec<u8>, HeaderMap) {
    let mut req = Request::get(uri);
    // No role: the big screen (reads need a signed-in caller).
    req = req.header("x-wangge-role", role.unwrap_or("screen"));
    // Tiles as a browser asks for them: gzip offered (`decode` gunzips).
    if uri.starts_with("/tiles/") {
        req = req.header(header::ACCEPT_ENCODING, "gzip, deflate, br");
    }
    if let Some(e) = etag {
        req = req.header(header::IF_NONE_MATCH, e);
    }
    let (status, headers, body) = respond(st, req.body(Body::empty()).expect("req")).await;
    (status, body, headers)
}

async fn get_json(st: &AppState, uri: &str, role: Option<&str>) -> Value {
    let (s, b, _) = get(st, uri, role, None).await;
    assert_eq!(s, StatusCode::OK, "{uri}: {}", String::from_utf8_lossy(&b));
    serde_json::from_slice(&b).expect("json")
}

/// One decoded feature: id, first point (tile units) and attributes.
#[derive(Debug)]
struct Feat {
    id: Option<u64>,
    at: Option<[i32; 2]>,
    props: BTreeMap<String, Value>,
}

/// Gunzips and decodes a tile body (empty for 204) into layer → features.
fn decode(gz: &[u8]) -> BTreeMap<String, Vec<Feat>> {
    let mut out = BTreeMap::new();
    if gz.is_empty() {
        return out;
    }
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(gz)
        .read_to_end(&mut raw)
        .expect("gzip body");
    let reader = MvtReaderRef::new(&raw).expect("valid MVT");
    for layer in reader.layers() {
        let feats = layer
            .features()
            .map(|f| {
                let at = match f.geometry().expect("geometry") {
                    MvtGeometry::Point(p) => Some([p.x(), p.y()]),
                    _ => None,
                };
                let props = f
                    .properties_vec()
                    .expect("properties")
                    .into_iter()
                    .map(|(k, v)| {
                        let v = match v {
                            MvtValueRef::String(s) => json!(s),
                            MvtValueRef::Bool(b) => json!(b),
                            MvtValueRef::UInt(u) => json!(u),
                            MvtValueRef::Int(i) | MvtValueRef::SInt(i) => json!(i),
                            MvtValueRef::Double(d) => json!(d),
                            MvtValueRef::Float(d) => json!(d),
                            MvtValueRef::Null => Value::Null,
                        };
                        (k.to_string(), v)
                    })
                    .collect();
                Feat {
                    id: f.id(),
                    at,
                    props,
                }
            })
            .collect();
        out.insert(layer.name().to_string(), feats);
    }
    out
}

/// `[west, south, east, north]` of the demo from `/api/v1/info`.
async fn extent(st: &AppState) -> [f64; 4] {
    let info = get_json(st, "/api/v1/info", None).await;
    let e = info["extent"].as_array().expect("extent");
    [0, 1, 2, 3].map(|i| e[i].as_f64().expect("number"))
}

/// Every tile of the extent at `z`.
fn tiles_over(e: [f64; 4], z: u8) -> Vec<(u32, u32)> {
    let (x0, y0) = tiles::lonlat_to_tile(e[0], e[3], z);
    let (x1, y1) = tiles::lonlat_to_tile(e[2], e[1], z);
    (x0..=x1)
        .flat_map(|x| (y0..=y1).map(move |y| (x, y)))
        .collect()
}

fn max_age(h: &HeaderMap) -> i64 {
    let cc = h
        .get(header::CACHE_CONTROL)
        .expect("Cache-Control on every tile")
        .to_str()
        .expect("ascii");
    cc.split(',')
        .find_map(|p| p.trim().strip_prefix("max-age="))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no max-age in {cc:?}"))
}

#[tokio::test]
async fn tiles_carry_cache_headers_and_change_after_intake() {
    let st = state("tiles-http-intake");
    let grids = get_json(&st, "/api/v1/grids?kind=micro&limit=1", None).await;
    let ip = grids["features"][0]["properties"]["interior_point"]
        .as_array()
        .expect("interior point")
        .clone();
    let (lon, lat) = (ip[0].as_f64().unwrap(), ip[1].as_f64().unwrap());
    let z = 16;
    let (x, y) = tiles::lonlat_to_tile(lon, lat, z);
    let events_uri = format!("/tiles/events/{z}/{x}/{y}.mvt");
    let all_uri = format!("/tiles/all/{z}/{x}/{y}.mvt");

    // Static layer: the full minute. Time-dependent ones: at most that.
    let (s, _, h) = get(
        &st,
        &format!("/tiles/buildings/{z}/{x}/{y}.mvt"),
        None,
        None,
    )
    .await;
    assert!(s == StatusCode::OK || s == StatusCode::NO_CONTENT, "{s}");
    assert_eq!(max_age(&h), 60);
    let (s, before, h) = get(&st, &events_uri, Some("leader"), None).await;
    assert!(s == StatusCode::OK || s == StatusCode::NO_CONTENT, "{s}");
    assert!((0..=60).contains(&max_age(&h)));
    let (s, all_before, h) = get(&st, &all_uri, Some("leader"), None).await;
    assert_eq!(s, StatusCode::OK);
    assert!((0..=60).contains(&max_age(&h)));
    assert_eq!(h[header::CONTENT_ENCODING], "gzip");
    let etag = h[header::ETAG].to_str().expect("etag").to_string();
    // Cached and unchanged: 304 with the same validators.
    let (s, _, h) = get(&st, &all_uri, Some("leader"), Some(&etag)).await;
    assert_eq!(s, StatusCode::NOT_MODIFIED);
    assert_eq!(h[header::ETAG].to_str().unwrap(), etag);
    assert!(h.contains_key(header::CACHE_CONTROL));

    let body = json!({"category": "02.05", "title": "夜间施工噪音", "lon": lon, "lat": lat, "source": "resident"});
    let req = Request::post("/api/v1/events")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .expect("req");
    let (status, _, b) = respond(&st, req).await;
    assert_eq!(status, StatusCode::CREATED);
    let ev: Value = serde_json::from_slice(&b).expect("json");
    let id = ev["id"].as_u64().expect("event id");

    let ids = |d: &BTreeMap<String, Vec<Feat>>| -> Vec<u64> {
        d.get("events")
            .into_iter()
            .flatten()
            .filter_map(|f| f.id)
            .collect()
    };
    let (s, after, _) = get(&st, &events_uri, Some("leader"), None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(!ids(&decode(&before)).contains(&id));
    assert!(
        ids(&decode(&after)).contains(&id),
        "the cached events tile was dropped on intake"
    );
    let (s, all_after, _) = get(&st, &all_uri, Some("leader"), Some(&etag)).await;
    assert_eq!(s, StatusCode::OK, "the old ETag no longer matches");
    assert_ne!(all_after, all_before);
    assert!(ids(&decode(&all_after)).contains(&id));
}

#[tokio::test]
async fn tilejson_is_3_0_for_every_layer() {
    let st = state("tiles-http-tilejson");
    for layer in ["all", "events", "heatmap", "buildings"] {
        let tj = get_json(&st, &format!("/tiles/{layer}.json"), None).await;
        assert_eq!(tj["tilejson"], "3.0.0", "{layer}: {tj}");
        let url = tj["tiles"][0].as_str().expect("tiles[0]");
        assert!(
            url.ends_with(&format!("/tiles/{layer}/{{z}}/{{x}}/{{y}}.mvt")),
            "{url}"
        );
        let (min, max) = (tj["minzoom"].as_u64(), tj["maxzoom"].as_u64());
        assert!(min.is_some() && max.is_some() && min <= max);
        let b = tj["bounds"].as_array().expect("bounds");
        assert_eq!(b.len(), 4);
        assert!(b[0].as_f64() < b[2].as_f64() && b[1].as_f64() < b[3].as_f64());
        let vl = tj["vector_layers"].as_array().expect("vector_layers");
        assert!(!vl.is_empty());
        for l in vl {
            assert!(l["id"].is_string() && l["fields"].is_object(), "{l}");
        }
        if layer == "events" {
            assert_eq!(vl[0]["fields"]["count"], "Number");
            assert_eq!(vl[0]["fields"]["overdue"], "Boolean");
        }
    }
    let (s, _, _) = get(&st, "/tiles/people.json", None, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn heatmap_is_k_anonymous_for_the_screen_but_not_for_a_leader() {
    let st = state("tiles-http-heatmap");
    let counts = |v: &Value| -> Vec<u64> {
        v["cells"]
            .as_array()
            .expect("cells")
            .iter()
            .map(|c| c["count"].as_u64().expect("count"))
            .collect()
    };
    for role in [None, Some("screen"), Some("planner")] {
        let v = get_json(&st, "/api/v1/heatmap?res=10", role).await;
        let c = counts(&v);
        assert!(!c.is_empty(), "{role:?}");
        assert!(c.iter().all(|n| *n >= 3), "{role:?}: {c:?}");
    }
    // The public sees no heatmap at all.
    let (s, _, _) = get(&st, "/api/v1/heatmap?res=10", Some("public"), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let leader = counts(&get_json(&st, "/api/v1/heatmap?res=10", Some("leader")).await);
    assert!(
        leader.iter().any(|n| *n < 3),
        "the demo has cells of one or two events: {leader:?}"
    );

    let e = extent(&st).await;
    let z = 15;
    let mut small = [0usize; 2];
    let mut total = [0usize; 2];
    for (x, y) in tiles_over(e, z) {
        for (i, role) in [None, Some("leader")].into_iter().enumerate() {
            let (s, b, _) = get(&st, &format!("/tiles/heatmap/{z}/{x}/{y}.mvt"), role, None).await;
            assert!(s == StatusCode::OK || s == StatusCode::NO_CONTENT, "{s}");
            for f in decode(&b).remove("heatmap").unwrap_or_default() {
                total[i] += 1;
                if f.props["count"].as_u64().expect("count") < 3 {
                    small[i] += 1;
                }
            }
        }
    }
    assert!(total[0] > 0, "screen heatmap tiles are not empty");
    assert_eq!(small[0], 0, "screen heatmap tiles: no cell under k = 3");
    assert!(small[1] > 0, "a leader's heatmap tiles keep small cells");
}

#[tokio::test]
async fn events_layer_is_coarsened_for_the_screen() {
    let st = state("tiles-http-events");
    let e = extent(&st).await;
    let z = 16;
    let (mut screen, mut leader) = (0usize, 0usize);
    let (mut screen_events, mut leader_events) = (0u64, 0u64);
    for (x, y) in tiles_over(e, z) {
        let uri = format!("/tiles/events/{z}/{x}/{y}.mvt");
        let (_, b, _) = get(&st, &uri, None, None).await;
        for f in decode(&b).remove("events").unwrap_or_default() {
            screen += 1;
            let keys: Vec<&str> = f.props.keys().map(String::as_str).collect();
            assert_eq!(
                keys,
                ["cell", "count", "grade", "group", "overdue", "res"],
                "no category, status, source or time for the screen"
            );
            let n = f.props["count"].as_u64().expect("count");
            assert!(n >= 3, "a screen point of {n} events");
            screen_events += n;
            // The point is the centre of its H3 cell.
            let cell = h3o::CellIndex::try_from(
                u64::from_str_radix(f.props["cell"].as_str().expect("cell"), 16).expect("hex"),
            )
            .expect("H3 cell");
            let c = h3o::LatLng::from(cell);
            let [wx, wy] = tiles::projection::to_world(c.lng(), c.lat());
            let n = f64::from(1u32 << z) * 4096.0;
            let want = [
                (wx * n - f64::from(x) * 4096.0).round() as i32,
                (wy * n - f64::from(y) * 4096.0).round() as i32,
            ];
            assert_eq!(f.at, Some(want), "snapped to the cell centre");
        }
        let (_, b, _) = get(&st, &uri, Some("leader"), None).await;
        for f in decode(&b).remove("events").unwrap_or_default() {
            leader += 1;
            assert!(f.props.contains_key("category") && !f.props.contains_key("count"));
            leader_events += 1;
        }
    }
    assert!(screen > 0, "the screen still sees where events are");
    assert!(
        leader > screen,
        "{leader} leader points vs {screen} screen points"
    );
    assert!(screen_events <= leader_events + leader_events / 2);
    // Overdue halos of the screen: the overdue filter keeps only overdue points.
    for (x, y) in tiles_over(e, z) {
        let uri = format!("/tiles/events/{z}/{x}/{y}.mvt?status=overdue");
        let (_, b, _) = get(&st, &uri, None, None).await;
        for f in decode(&b).remove("events").unwrap_or_default() {
            assert_eq!(f.props["overdue"], json!(true));
            assert!(f.props["count"].as_u64().expect("count") >= 3);
        }
    }
}

/// The differencing attack on the k-anonymous heatmap: the screen asks for
/// the whole map and for each first-level category group, and subtracts
/// (cell by cell) to get the counts of the other groups. With suppression
/// alone this gives small counts exactly; with the released counts rounded
/// to multiples of k it never does.
#[tokio::test]
async fn heatmap_differencing_reveals_no_small_count() {
    use std::collections::HashMap;
    let st = state("tiles-diff");
    let cells = |v: &Value| -> HashMap<String, i64> {
        v["cells"]
            .as_array()
            .expect("cells")
            .iter()
            .map(|c| {
                (
                    c["cell"].as_str().expect("cell").to_string(),
                    c["count"].as_i64().expect("count"),
                )
            })
            .collect()
    };
    let k = i64::from(st.0.config.k_anonymity);
    let groups: Vec<&str> = geo_core::taxonomy::GROUPS.iter().map(|g| g.0).collect();
    let q = |g: Option<&str>| match g {
        Some(g) => format!("/api/v1/heatmap?res=10&category={g}"),
        None => "/api/v1/heatmap?res=10".to_string(),
    };
    let truth_all = cells(&get_json(&st, &q(None), Some("leader")).await);
    let seen_all = cells(&get_json(&st, &q(None), Some("screen")).await);
    let (mut exact, mut exact_if_only_suppressed) = (0, 0);
    for g in &groups {
        let truth_g = cells(&get_json(&st, &q(Some(g)), Some("leader")).await);
        let seen_g = cells(&get_json(&st, &q(Some(g)), Some("screen")).await);
        for (cell, all) in &truth_all {
            let rest = all - truth_g.get(cell).copied().unwrap_or(0);
            if !(1..k).contains(&rest) {
                continue;
            }
            // What the screen derives for the other groups in this cell.
            let derived =
                seen_all.get(cell).copied().unwrap_or(0) - seen_g.get(cell).copied().unwrap_or(0);
            if derived == rest {
                exact += 1;
            }
            // The same attack on counts that are only suppressed below k.
            let only = |n: i64| if n >= k { n } else { 0 };
            if only(*all) - only(truth_g.get(cell).copied().unwrap_or(0)) == rest {
                exact_if_only_suppressed += 1;
            }
        }
    }
    assert!(
        exact_if_only_suppressed > 0,
        "the demo town must hold cells the attack breaks without rounding"
    );
    assert_eq!(
        exact, 0,
        "differencing gave {exact} small counts exactly (suppression alone: {exact_if_only_suppressed})"
    );
}
