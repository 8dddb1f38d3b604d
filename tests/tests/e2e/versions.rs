//! Grid versions on a real DuckDB file with the community-scale demo:
//! adopting a re-gridding proposal over HTTP (new version, old grids
//! retired but readable, history, every element re-assigned, the view and
//! tiles rebuilt, 409 on a second adoption or a stale proposal), a change
//! that fails in the middle leaving the store exactly as it was, and a grid
//! import re-assigning the elements.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use geo_core::model::{GridKind, GridRefs};
use geo_core::store::{Scope, Store, StoreError};
use serde_json::{json, Value};
use web_viewer::service::regrid::{change_from_proposal, load_input, regrid, RegridRequest};
use web_viewer::AppState;

use crate::common::{
    call, demo_store, get, header_text, micro_regrid_args, post, proxy_config, respond,
};

/// Status, ETag and body bytes.
async fn call_raw(st: &AppState, req: Request<Body>) -> (StatusCode, Option<String>, Vec<u8>) {
    let (status, headers, body) = respond(st, req).await;
    (status, header_text(&headers, header::ETAG), body)
}

fn codes(features: &Value) -> BTreeSet<String> {
    features
        .as_array()
        .expect("features")
        .iter()
        .map(|f| f["properties"]["code"].as_str().expect("code").to_string())
        .collect()
}

/// Starts a micro re-gridding job of community 1; waits while the
/// process-wide registry is busy with other tests' jobs.
async fn start_job(st: &AppState, seed: u64) -> String {
    let body = json!({"level": "micro", "community": "1", "min": 30, "max": 80, "seed": seed});
    let t = Instant::now();
    loop {
        let (s, v) = call(st, post("/api/v1/regrid", "planner", body.clone())).await;
        if s == StatusCode::CONFLICT && v["error"]["code"] == "busy" && t.elapsed().as_secs() < 300
        {
            tokio::time::sleep(Duration::from_millis(500)).await;
            continue;
        }
        assert_eq!(s, StatusCode::ACCEPTED, "{v}");
        return v["job"].as_str().expect("job").to_string();
    }
}

async fn wait_done(st: &AppState, job: &str) -> Value {
    let t = Instant::now();
    loop {
        let (s, v) = call(st, get(&format!("/api/v1/regrid/{job}"), "planner")).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        match v["status"].as_str() {
            Some("done") => return v,
            Some("running") => {}
            other => panic!("job {job} ended {other:?}: {v}"),
        }
        assert!(
            t.elapsed() < Duration::from_secs(300),
            "job {job} still running"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Every stored reference of households, persons, buildings and units.
fn all_refs(store: &Store) -> HashMap<&'static str, geo_core::assign::RefMap<u64>> {
    let ds = store
        .load(&Scope::Town, geo_core::store::LoadSet::All)
        .expect("load");
    let mut out = HashMap::new();
    for (table, ids) in [
        (
            "households",
            ds.households.iter().map(|h| h.id.get()).collect::<Vec<_>>(),
        ),
        ("persons", ds.persons.iter().map(|p| p.id.get()).collect()),
        (
            "buildings",
            ds.buildings.iter().map(|b| b.id.get()).collect(),
        ),
        ("units", ds.units.iter().map(|u| u.id.get()).collect()),
    ] {
        assert!(!ids.is_empty(), "demo has no {table}");
        let kind = geo_core::io::ElementKind::parse(table).expect("a kind");
        out.insert(table, store.refs_of(kind, &ids).expect("refs"));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adopt_regrid_over_http_makes_a_new_version() {
    let (store, path) = demo_store("versions-http");
    let st = AppState::new(store, proxy_config(path)).expect("state");

    let (s, v) = call(&st, get("/api/v1/grids/versions", "screen")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["current"], json!(1), "{v}");
    assert_eq!(v["versions"][0]["source"], json!("initial"), "{v}");
    let (s, v) = call(&st, get("/api/v1/grids?kind=micro", "planner")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let old_micro = codes(&v["features"]);
    assert!(old_micro.len() > 20, "{} micro-grids", old_micro.len());
    // A grid tile at the middle of the town, in the cache before the change.
    let (_, v) = call(&st, get("/api/v1/info", "planner")).await;
    let ext: Vec<f64> = v["extent"]
        .as_array()
        .expect("extent")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect();
    let (lon, lat) = ((ext[0] + ext[2]) / 2.0, (ext[1] + ext[3]) / 2.0);
    let z = 15u32;
    let n = f64::from(1u32 << z);
    let x = ((lon + 180.0) / 360.0 * n) as u32;
    let lr = lat.to_radians();
    let y = ((1.0 - (lr.tan() + 1.0 / lr.cos()).ln() / std::f64::consts::PI) / 2.0 * n) as u32;
    let tile = format!("/tiles/grids/{z}/{x}/{y}");
    let (s, etag_before, _) = call_raw(&st, get(&tile, "planner")).await;
    assert_eq!(s, StatusCode::OK, "tile {tile}");

    let job = start_job(&st, 3).await;
    let done = wait_done(&st, &job).await;
    let features = done["result"]["geojson"]["features"]
        .as_array()
        .expect("features")
        .clone();
    let report = done["result"]["report"].clone();
    println!(
        "job {job}: {} proposed grids, before {}, after {}",
        features.len(),
        report["before"],
        report["after"]
    );

    let adopt = format!("/api/v1/regrid/{job}/adopt");
    let (s, v) = call(&st, post(&adopt, "screen", json!({}))).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    let (s, v) = call(&st, post(&adopt, "planner", json!({"nope": 1}))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let (s, v) = call(
        &st,
        post("/api/v1/regrid/999999/adopt", "planner", json!({})),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");

    let t = Instant::now();
    let (s, adopted) = call(
        &st,
        post(
            &adopt,
            "planner",
            json!({"note": "30–80 households per micro-grid"}),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{adopted}");
    println!(
        "adopted in {:.2} s: {}",
        t.elapsed().as_secs_f64(),
        json!({"version": adopted["version"], "retired": adopted["retired"].as_array().map(Vec::len),
               "created": adopted["created"].as_array().map(Vec::len), "reassigned": adopted["reassigned"]})
    );
    assert_eq!(adopted["version"], json!(2));
    let retired: BTreeSet<String> = adopted["retired"]
        .as_array()
        .expect("retired")
        .iter()
        .map(|c| c.as_str().expect("code").to_string())
        .collect();
    assert_eq!(
        retired, old_micro,
        "every micro-grid of the community retired"
    );
    let created: Vec<String> = adopted["created"]
        .as_array()
        .expect("created")
        .iter()
        .map(|c| c.as_str().expect("code").to_string())
        .collect();
    assert_eq!(created.len(), features.len());
    assert!(created
        .iter()
        .all(|c| c.len() == 18 && !old_micro.contains(c)));
    assert!(
        adopted["reassigned"]["households"].as_u64().unwrap_or(0) > 0,
        "{adopted}"
    );
    assert!(
        adopted["reassigned"]["persons"].as_u64().unwrap_or(0) > 0,
        "{adopted}"
    );

    // A second adoption of the same job is refused.
    let (s, v) = call(&st, post(&adopt, "planner", json!({}))).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["error"]["code"], json!("already_adopted"), "{v}");

    // The view shows the new grids at once, with the proposal's loads.
    let (s, v) = call(&st, get("/api/v1/grids?kind=micro", "planner")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let now_micro = codes(&v["features"]);
    assert_eq!(now_micro, created.iter().cloned().collect::<BTreeSet<_>>());
    let view_hh: HashMap<String, u64> = v["features"]
        .as_array()
        .expect("features")
        .iter()
        .map(|f| {
            (
                f["properties"]["code"].as_str().expect("code").to_string(),
                f["properties"]["households"].as_u64().expect("households"),
            )
        })
        .collect();
    for (code, f) in created.iter().zip(&features) {
        assert_eq!(
            view_hh.get(code).copied(),
            f["properties"]["households"].as_u64(),
            "households of new grid {code} (proposal {})",
            f["properties"]["code_hint"]
        );
    }
    let first = &created[0];
    let (s, v) = call(&st, get(&format!("/api/v1/grids/{first}"), "planner")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, _) = call(
        &st,
        get(
            &format!("/api/v1/grids/{}", old_micro.iter().next().expect("old")),
            "planner",
        ),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "retired grids are not current");
    let (s, etag_after, _) = call_raw(&st, get(&tile, "planner")).await;
    assert!(
        s == StatusCode::OK || s == StatusCode::NO_CONTENT,
        "tile {tile}: {s}"
    );
    assert_ne!(etag_before, etag_after, "tile {tile} was rebuilt");
    let (_, v) = call(&st, get(&format!("/api/v1/regrid/{job}"), "planner")).await;
    assert_eq!(v["adopted_version"], json!(2), "{v}");

    // History and old versions.
    let (s, v) = call(&st, get("/api/v1/grids/versions", "screen")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["current"], json!(2));
    let versions = v["versions"].as_array().expect("versions");
    assert_eq!(versions.len(), 2, "{v}");
    let h = &versions[1];
    assert_eq!(h["version"], json!(2));
    assert_eq!(h["level"], json!("micro"));
    assert_eq!(
        h["actor"],
        json!("planner:planner"),
        "the signed-in account adopted it"
    );
    assert_eq!(h["note"], json!("30–80 households per micro-grid"));
    assert_eq!(h["source"], json!(format!("regrid job {job}")));
    assert_eq!(h["created"], adopted["created"]);
    assert_eq!(h["retired"], adopted["retired"]);
    assert!(h["created_at"].as_i64().is_some());
    let (s, v) = call(&st, get("/api/v1/grids/versions/1", "screen")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let v1: Vec<&Value> = v["features"].as_array().expect("features").iter().collect();
    let v1_micro: BTreeSet<String> = v1
        .iter()
        .filter(|f| f["properties"]["kind"] == "micro")
        .map(|f| f["properties"]["code"].as_str().expect("code").to_string())
        .collect();
    assert_eq!(v1_micro, old_micro, "version 1 still readable");
    assert!(v1
        .iter()
        .filter(|f| f["properties"]["kind"] == "micro")
        .all(|f| f["properties"]["retired_in"] == json!(2)));
    assert!(v1
        .iter()
        .filter(|f| f["properties"]["kind"] != "micro")
        .all(|f| f["properties"]["retired_in"].is_null()));
    let (s, v) = call(&st, get("/api/v1/grids/versions/2", "screen")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let v2_micro: BTreeSet<String> = v["features"]
        .as_array()
        .expect("features")
        .iter()
        .filter(|f| f["properties"]["kind"] == "micro")
        .map(|f| f["properties"]["code"].as_str().expect("code").to_string())
        .collect();
    assert_eq!(v2_micro, now_micro);
    let (s, _) = call(&st, get("/api/v1/grids/versions/3", "screen")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = call(&st, get("/api/v1/grids/versions/two", "screen")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // In the store: every reference points at a current grid, per-grid
    // household counts equal the proposal's, persons follow households.
    {
        let store = st.0.store.lock().expect("store");
        let current: HashMap<u64, geo_core::model::Grid> = store
            .grids()
            .expect("grids")
            .into_iter()
            .map(|g| (g.id.get(), g))
            .collect();
        let id_of: HashMap<&str, u64> = current
            .values()
            .map(|g| (g.code.as_str(), g.id.get()))
            .collect();
        let refs = all_refs(&store);
        for (table, rows) in &refs {
            for (id, r) in rows {
                for g in [r.comprehensive, r.micro, r.dedicated]
                    .into_iter()
                    .flatten()
                {
                    assert!(
                        current.contains_key(&g.get()),
                        "{table} {id} refers to retired grid {g}"
                    );
                }
                if let Some(m) = r.micro {
                    let g = &current[&m.get()];
                    assert_eq!(g.kind, GridKind::Micro);
                    assert_eq!(g.parent, r.comprehensive, "{table} {id}: micro nests");
                }
            }
        }
        let mut per_grid: HashMap<u64, u64> = HashMap::new();
        for r in refs["households"].values() {
            if let Some(m) = r.micro {
                *per_grid.entry(m.get()).or_default() += 1;
            }
        }
        for (code, f) in created.iter().zip(&features) {
            assert_eq!(
                per_grid.get(&id_of[code.as_str()]).copied().unwrap_or(0),
                f["properties"]["households"].as_u64().expect("households"),
                "stored households of {code}"
            );
        }
        let ds = store
            .load(&Scope::Town, geo_core::store::LoadSet::All)
            .expect("load");
        for p in &ds.persons {
            if let Some(h) = p.household {
                assert_eq!(
                    refs["persons"][&p.id.get()],
                    refs["households"][&h.get()],
                    "person {} follows household {h}",
                    p.id
                );
            }
        }
        assert_eq!(store.audit_count("grid_version").expect("audit"), 1);
    }

    // Two proposals computed on version 2: the first adopted, the second
    // is stale, and refusing it changes nothing.
    let job_b = start_job(&st, 5).await;
    wait_done(&st, &job_b).await;
    let job_c = start_job(&st, 6).await;
    wait_done(&st, &job_c).await;
    // A change is a JSON request: a bodiless post without the JSON type (what
    // a cross-site form can send) is refused and changes nothing.
    let (s, v) = call(
        &st,
        Request::post(format!("/api/v1/regrid/{job_b}/adopt"))
            .header("x-wangge-role", "leader")
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(
        s,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "adopt as a form: {v}"
    );
    let (s, v) = call(
        &st,
        Request::post(format!("/api/v1/regrid/{job_b}/adopt"))
            .header("x-wangge-role", "leader")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "adopt without a body: {v}");
    assert_eq!(v["version"], json!(3));
    let (s, v) = call(
        &st,
        post(
            &format!("/api/v1/regrid/{job_c}/adopt"),
            "planner",
            json!({}),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["error"]["code"], json!("stale_proposal"), "{v}");
    let (_, v) = call(&st, get("/api/v1/grids/versions", "screen")).await;
    assert_eq!(v["current"], json!(3));
    assert_eq!(v["versions"].as_array().map(Vec::len), Some(3));
}

#[test]
fn failed_change_leaves_the_store_unchanged() {
    let (mut store, _path) = demo_store("versions-atomic");
    let req = RegridRequest {
        level: "micro".into(),
        community: Some("1".into()),
        min: 30,
        max: 80,
        mode: "max".into(),
        seed: 2,
        allow_floor_split: false,
        moves_per_unit: None,
    };
    let params = req.params().expect("params");
    let basis = store.grid_state().expect("state");
    let input = load_input(&store, GridKind::Micro, Some("1")).expect("input");
    let p = regrid(&input, &params, &mut |_| {}).expect("regrid");
    let community = store.communities().expect("communities")[0].id;
    let good = change_from_proposal(
        &p,
        GridKind::Micro,
        Some(community),
        Some(basis),
        "test",
        "",
        "test",
    );

    let snapshot = |s: &Store| {
        let codes: Vec<String> = s
            .grids()
            .expect("grids")
            .iter()
            .map(|g| g.code.as_str().to_string())
            .collect();
        (
            s.grid_state().expect("state"),
            codes,
            s.grid_versions().expect("versions").len(),
            s.counts(&Scope::Town, 2026).expect("counts"),
            s.audit_count("grid_version").expect("audit"),
        )
    };
    let before = snapshot(&store);
    let refs_before = all_refs(&store);

    // A unit that is not stored: found while re-assigning, after the old
    // grids were retired and the new ones inserted in the transaction.
    let mut bad = good.clone();
    bad.grids
        .last_mut()
        .expect("grid")
        .units
        .push(geo_core::ids::UnitId::new(999_999_999).expect("id"));
    let err = store.replace_grids(&bad).expect_err("unknown unit");
    assert!(matches!(err, StoreError::InvalidChange { .. }), "{err}");
    assert!(err.to_string().contains("999999999"), "{err}");
    assert_eq!(snapshot(&store), before, "nothing changed");
    assert_eq!(all_refs(&store), refs_before, "no reference changed");

    // A change prepared against other grids is stale.
    let mut stale = good.clone();
    stale.expected = Some(geo_core::store::GridState {
        retired: basis.retired + 1,
        ..basis
    });
    let err = store.replace_grids(&stale).expect_err("stale");
    assert!(matches!(err, StoreError::Stale { .. }), "{err}");
    assert_eq!(snapshot(&store), before);

    // Invalid geometry is refused before anything is written.
    let mut nan = good.clone();
    nan.grids[0].boundary.0[0].exterior_mut(|r| r.0[0].x = f64::NAN);
    let err = store.replace_grids(&nan).expect_err("NaN");
    assert!(err.to_string().contains("new grid 1"), "{err}");
    assert_eq!(snapshot(&store), before);

    // The good change applies; version 1 stays readable.
    let old_micro: BTreeSet<String> = store
        .grids()
        .expect("grids")
        .iter()
        .filter(|g| g.kind == GridKind::Micro)
        .map(|g| g.code.as_str().to_string())
        .collect();
    let rep = store.replace_grids(&good).expect("change");
    assert_eq!(rep.version, 2);
    let v1: BTreeSet<String> = store
        .grids_of_version(1)
        .expect("v1")
        .iter()
        .filter(|g| g.grid.kind == GridKind::Micro)
        .map(|g| g.grid.code.as_str().to_string())
        .collect();
    assert_eq!(v1, old_micro);
    assert_eq!(store.audit_count("grid_version").expect("audit"), 1);
    let c = store.counts(&Scope::Town, 2026).expect("counts");
    assert_eq!(c.grid_version, 2);
    assert_eq!(c.retired_grids, old_micro.len() as u64);
    let grids_now = c
        .elements
        .iter()
        .find(|(k, _)| k == "grids")
        .map(|(_, n)| *n)
        .expect("grids");
    assert_eq!(
        grids_now,
        before.1.len() as u64 - old_micro.len() as u64 + rep.created.len() as u64,
        "info counts current grids"
    );
    // Re-applying the same (now stale) change is refused.
    let err = store.replace_grids(&good).expect_err("stale");
    assert!(matches!(err, StoreError::Stale { .. }), "{err}");
}

#[test]
fn importing_grids_reassigns_elements() {
    let (store, path) = demo_store("versions-import");
    let grids = store.grids().expect("grids");
    let refs_before = all_refs(&store);
    // The micro-grid with the most households; a new, smaller micro-grid
    // drawn tightly around one of its buildings (footprint and entrances)
    // takes that building's households.
    let mut per_grid: HashMap<u64, u64> = HashMap::new();
    for r in refs_before["households"].values() {
        if let Some(m) = r.micro {
            *per_grid.entry(m.get()).or_default() += 1;
        }
    }
    let (&gid, _) = per_grid
        .iter()
        .max_by_key(|(id, n)| (**n, **id))
        .expect("grid");
    let g = grids.iter().find(|g| g.id.get() == gid).expect("grid");
    let parent = grids
        .iter()
        .find(|p| Some(p.id) == g.parent)
        .expect("parent");
    let ds = store
        .load(&Scope::Town, geo_core::store::LoadSet::All)
        .expect("load");
    let in_g = |r: &GridRefs| r.micro.map(|m| m.get()) == Some(gid);
    let mut hh_of: HashMap<u64, u64> = HashMap::new();
    for h in &ds.households {
        if in_g(&refs_before["households"][&h.id.get()]) {
            *hh_of.entry(h.building.get()).or_default() += 1;
        }
    }
    let building = ds
        .buildings
        .iter()
        .filter(|b| hh_of.contains_key(&b.id.get()))
        .filter(|b| {
            ds.units
                .iter()
                .filter(|u| u.building == b.id)
                .all(|u| in_g(&refs_before["units"][&u.id.get()]))
        })
        .min_by_key(|b| (hh_of[&b.id.get()], b.id))
        .unwrap_or_else(|| {
            panic!(
                "no building of grid {} whose units all lie in it: {hh_of:?}",
                g.code
            )
        });
    let (mut w, mut s, mut e, mut n) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    let entrances = ds
        .units
        .iter()
        .filter(|u| u.building == building.id)
        .map(|u| u.entrance.0);
    for c in building
        .footprint
        .0
        .iter()
        .flat_map(|p| p.exterior().0.iter().copied())
        .chain(entrances)
    {
        (w, s, e, n) = (w.min(c.x), s.min(c.y), e.max(c.x), n.max(c.y));
    }
    let m = 2e-5; // ≈ 2 m around the building
    let ring = json!([
        [w - m, s - m],
        [e + m, s - m],
        [e + m, n + m],
        [w - m, n + m],
        [w - m, s - m]
    ]);
    let new_id = grids.iter().map(|g| g.id.get()).max().expect("max") + 1;
    let code = parent.code.child(777).expect("code");
    let fc = json!({"type": "FeatureCollection", "features": [{
        "type": "Feature",
        "properties": {"id": new_id, "code": code.as_str(), "name": "新划微网格", "kind": "micro",
                        "community_id": g.community.map(|c| c.get()), "parent_id": parent.id.get()},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }]});
    drop(store);
    let file = path.parent().expect("dir").join("new-grids.geojson");
    std::fs::write(&file, fc.to_string()).expect("write");
    let args = web_viewer::cli::import::ImportArgs::from_argv([
        "import",
        "grids",
        file.to_str().expect("utf-8 path"),
    ])
    .expect("arguments");
    web_viewer::cli::import::run(&path, args).expect("import grids");

    let store = crate::common::open_store(&path);
    let refs_after = all_refs(&store);
    let moved: Vec<u64> = refs_after["households"]
        .iter()
        .filter(|(_, r)| r.micro.map(|m| m.get()) == Some(new_id))
        .map(|(id, _)| *id)
        .collect();
    println!(
        "imported micro-grid {} inside {}: {} of its {} households moved",
        code,
        g.code,
        moved.len(),
        per_grid[&gid]
    );
    assert!(!moved.is_empty(), "no household moved into the new grid");
    assert!((moved.len() as u64) < per_grid[&gid]);
    for h in &moved {
        let was = refs_before["households"][h];
        assert_eq!(
            was.micro.map(|m| m.get()),
            Some(gid),
            "household {h} came from {}",
            g.code
        );
        assert_eq!(refs_after["households"][h].comprehensive, was.comprehensive);
    }
    let moved_set: HashSet<u64> = moved.iter().copied().collect();
    let changed_households = refs_after["households"]
        .iter()
        .filter(|(id, r)| refs_before["households"][*id] != **r)
        .count();
    assert_eq!(
        changed_households,
        moved.len(),
        "only those households changed"
    );
    let persons_moved = refs_after["persons"]
        .values()
        .filter(|r| r.micro.map(|m| m.get()) == Some(new_id))
        .count();
    assert!(persons_moved > 0);
    assert!(refs_after["buildings"]
        .values()
        .any(|r| r.micro.map(|m| m.get()) == Some(new_id)));
    for p in &ds.persons {
        if let Some(h) = p.household {
            let in_new = refs_after["persons"][&p.id.get()].micro.map(|m| m.get()) == Some(new_id);
            assert_eq!(in_new, moved_set.contains(&h.get()), "person {}", p.id);
        }
    }
    let versions = store.grid_versions().expect("versions");
    let last = versions.last().expect("history");
    assert_eq!(last.version, 2);
    assert_eq!(last.source, "import new-grids.geojson");
    assert_eq!(last.created, vec![code.as_str().to_string()]);
    assert!(last.retired.is_empty());
    assert_eq!(
        last.reassigned.get("households").copied(),
        Some(moved.len() as u64)
    );
    let v2 = store.grids_of_version(2).expect("v2");
    assert!(v2
        .iter()
        .any(|x| x.grid.id.get() == new_id && x.version == 2));
    let v1 = store.grids_of_version(1).expect("v1");
    assert!(v1.iter().all(|x| x.grid.id.get() != new_id));
}

#[test]
fn cli_adopt_and_comprehensive_change() {
    let (store, path) = demo_store("versions-cli");
    drop(store);
    let dir = path.parent().expect("dir").to_path_buf();
    web_viewer::cli::regrid::run(
        &path,
        web_viewer::cli::regrid::RegridArgs {
            adopt: true,
            note: Some("from the CLI".into()),
            ..micro_regrid_args(&dir)
        },
    )
    .expect("wangge regrid --adopt");
    let mut store = crate::common::open_store(&path);
    let last = store.grid_versions().expect("versions").pop().expect("v");
    assert_eq!(last.version, 2);
    assert_eq!(last.note, "from the CLI");
    assert_eq!(last.source, "wangge regrid (seed 1)");
    assert_eq!(last.actor, "cli");

    // Comprehensive level: the nested micro-grids retire with their parents.
    let before = store.grids().expect("grids");
    let old_comp: BTreeSet<String> = before
        .iter()
        .filter(|g| g.kind == GridKind::Comprehensive)
        .map(|g| g.code.as_str().to_string())
        .collect();
    let micro_n = before.iter().filter(|g| g.kind == GridKind::Micro).count();
    let params = RegridRequest {
        level: "comprehensive".into(),
        community: Some("1".into()),
        min: 300,
        max: 500,
        mode: "max".into(),
        seed: 1,
        allow_floor_split: false,
        moves_per_unit: None,
    }
    .params()
    .expect("params");
    let basis = store.grid_state().expect("state");
    let input = load_input(&store, GridKind::Comprehensive, Some("1")).expect("input");
    let p = regrid(&input, &params, &mut |_| {}).expect("regrid");
    let community = store.communities().expect("communities")[0].clone();
    let change = change_from_proposal(
        &p,
        GridKind::Comprehensive,
        Some(community.id),
        Some(basis),
        "test",
        "",
        "test",
    );
    let rep = store.replace_grids(&change).expect("comprehensive change");
    assert_eq!(rep.version, 3);
    assert_eq!(rep.retired.len(), old_comp.len() + micro_n);
    assert!(rep
        .created
        .iter()
        .all(|c| c.len() == 15 && c.starts_with(community.code.as_str()) && !old_comp.contains(c)));
    let now = store.grids().expect("grids");
    assert_eq!(now.iter().filter(|g| g.kind == GridKind::Micro).count(), 0);
    let refs = all_refs(&store);
    let current: HashSet<u64> = now.iter().map(|g| g.id.get()).collect();
    for r in refs["households"].values() {
        assert!(r.micro.is_none());
        assert!(r.comprehensive.is_some_and(|g| current.contains(&g.get())));
    }
    let mut per_grid: HashMap<u64, u64> = HashMap::new();
    for r in refs["households"].values() {
        *per_grid
            .entry(r.comprehensive.map(|g| g.get()).unwrap_or(0))
            .or_default() += 1;
    }
    let id_of: HashMap<&str, u64> = now.iter().map(|g| (g.code.as_str(), g.id.get())).collect();
    for (code, g) in rep.created.iter().zip(&p.grids) {
        assert_eq!(
            per_grid.get(&id_of[code.as_str()]).copied().unwrap_or(0),
            g.households
        );
    }
}

/// 人进户 as stored: every person of the demo carries exactly its
/// household's grids (the write reads persons' references by position).
#[test]
fn every_stored_person_has_its_households_grids() {
    let (store, _path) = demo_store("person-refs");
    let ds = store
        .load(&Scope::Town, geo_core::store::LoadSet::All)
        .expect("load");
    let refs = all_refs(&store);
    let mut checked = 0;
    for p in &ds.persons {
        let Some(h) = p.household else { continue };
        let mine = refs["persons"][&p.id.get()];
        let theirs = refs["households"][&h.get()];
        assert_eq!(mine, theirs, "person {} of household {h}", p.id);
        assert!(mine.micro.is_some(), "person {} has a micro-grid", p.id);
        checked += 1;
    }
    assert!(checked > 1_000, "{checked} persons checked");
}
