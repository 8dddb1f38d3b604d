//! Analytics through the store, the CLI functions and the HTTP API:
//! re-gridding the demo community, indicators, the planted hotspots and
//! canteen gaps of the demo, and weekly hotspots over real San Francisco
//! incidents.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use chrono::Datelike;
use geo_core::model::{GridKind, ServiceKind};
use geo_core::store::{LoadSet, Scope, Store};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;
use wangge_data::demo::{self, Scale};
use web_viewer::cli::demo::generate_into;
use web_viewer::cli::regrid::{load_input, regrid, summary_table, RegridRequest};
use web_viewer::cli::report;
use web_viewer::{app, AppState, ServerConfig};

use crate::common::{demo_store, temp_db};

async fn call(st: &AppState, req: Request<Body>) -> (StatusCode, Value) {
    let resp = app(st.clone()).oneshot(req).await.expect("response");
    let status = resp.status();
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

fn get(uri: &str, role: &str) -> Request<Body> {
    Request::get(uri)
        .header("x-wangge-role", role)
        .body(Body::empty())
        .expect("request")
}

fn post(uri: &str, role: &str, body: Value) -> Request<Body> {
    Request::post(uri)
        .header("x-wangge-role", role)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .expect("request")
}

/// The demo Summary (planted patterns) of a scale and seed, regenerated in memory.
fn summary(scale: Scale, seed: u64) -> demo::Summary {
    let mut sink = geo_core::Dataset::default();
    demo::generate(scale, seed, &mut sink, &mut |_| {}).expect("demo summary")
}

#[test]
fn regrid_micro_on_demo_community_repairs_loads() {
    let (store, path) = demo_store("regrid-cli");
    let req = RegridRequest {
        level: "micro".into(),
        community: None,
        min: 30,
        max: 80,
        mode: "max".into(),
        seed: 1,
        allow_floor_split: false,
    };
    let params = req.params().expect("params");
    let input = load_input(&store, GridKind::Micro, None).expect("input");
    let t = Instant::now();
    let p = regrid(&input, &params, &mut |_| {}).expect("regrid");
    println!("{}", summary_table(&p, &params));
    println!(
        "re-gridded {} units in {:.2} s",
        input.units.len(),
        t.elapsed().as_secs_f64()
    );
    let r = &p.report;
    let before_bad = r.before.over + r.before.under;
    let after_bad = r.after.over + r.after.under;
    assert!(r.before.grids > 50, "today's micro-grids: {:?}", r.before);
    assert!(
        after_bad <= before_bad,
        "before {:?}, after {:?}",
        r.before,
        r.after
    );
    if before_bad > 0 {
        assert!(
            after_bad < before_bad,
            "before {:?}, after {:?}",
            r.before,
            r.after
        );
    }
    // Every remaining violation is explained by a diagnostic.
    let explained = r
        .diagnostics
        .iter()
        .filter(|d| {
            matches!(
                web_viewer::cli::regrid::diagnostic_kind(d),
                "bounds_not_met" | "oversized_unit" | "infeasible"
            )
        })
        .count();
    assert!(
        r.violations == 0 || explained >= 1,
        "{} violations, diagnostics {:?}",
        r.violations,
        r.diagnostics
    );
    for g in &p.grids {
        if g.households < 30 || g.households > 80 {
            let explained = r.diagnostics.iter().any(|d| {
                let v = serde_json::to_value(d).unwrap_or(Value::Null);
                v["grid"] == json!(g.code_hint)
                    || (g.units.len() == 1 && v["unit"] == json!(g.units[0].get()))
            });
            assert!(
                explained,
                "grid {} with {} households has no diagnostic",
                g.code_hint, g.households
            );
        }
    }
    let households: u64 = input
        .units
        .iter()
        .filter(|u| u.dedicated.is_none())
        .map(|u| u64::from(u.households))
        .sum();
    assert_eq!(
        p.grids
            .iter()
            .filter(|g| g.floor_part.is_none())
            .map(|g| g.households)
            .sum::<u64>(),
        households
    );

    // The CLI writes GeoJSON, the JSON report and the workbook.
    drop(store);
    let dir = path.parent().expect("dir").to_path_buf();
    let out = dir.join("proposal.geojson");
    let rep = dir.join("report.json");
    let xlsx = dir.join("report.xlsx");
    web_viewer::cli::regrid::run(
        &path,
        web_viewer::cli::regrid::RegridArgs {
            level: "micro".into(),
            community: Some("1".into()),
            min: 30,
            max: 80,
            mode: "max".into(),
            seed: 1,
            allow_floor_split: false,
            out: out.clone(),
            report: rep.clone(),
            xlsx: Some(xlsx.clone()),
            dump_input: None,
            adopt: false,
            note: None,
        },
    )
    .expect("wangge regrid");
    let fc: Value = serde_json::from_slice(&std::fs::read(&out).expect("geojson")).expect("json");
    let rv: Value = serde_json::from_slice(&std::fs::read(&rep).expect("report")).expect("json");
    assert_eq!(
        fc["features"].as_array().map(Vec::len),
        rv["after"]["grids"].as_u64().map(|n| n as usize)
    );
    assert_eq!(
        rv["violations"],
        json!(r.violations),
        "same seed, same proposal"
    );
    assert_eq!(&std::fs::read(&xlsx).expect("xlsx")[..2], b"PK");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regrid_job_over_http() {
    let (store, path) = demo_store("regrid-http");
    let st = AppState::new(store, ServerConfig::new(path)).expect("state");
    let body = json!({"level": "micro", "min": 30, "max": 80, "mode": "max", "seed": 3});
    let (s, v) = call(&st, post("/api/v1/regrid", "screen", body.clone())).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    let (s, v) = call(
        &st,
        post(
            "/api/v1/regrid",
            "planner",
            json!({"min": 30, "max": 80, "mode": "most"}),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("most"),
        "{v}"
    );
    let (s, v) = call(
        &st,
        post(
            "/api/v1/regrid",
            "planner",
            json!({"min": 30, "max": 80, "community": "nowhere"}),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");

    let (s, v) = call(&st, post("/api/v1/regrid", "planner", body)).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    let job = v["job"].as_str().expect("job id").to_string();
    let t = Instant::now();
    let done = loop {
        let (s, v) = call(&st, get(&format!("/api/v1/regrid/{job}"), "planner")).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        match v["status"].as_str() {
            Some("done") => break v,
            Some("running") => {
                let p = v["progress"].as_f64().unwrap_or(-1.0);
                assert!((0.0..=1.0).contains(&p), "{v}");
            }
            other => panic!("job ended {other:?}: {v}"),
        }
        assert!(
            t.elapsed() < Duration::from_secs(300),
            "job still running after 300 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let report = &done["result"]["report"];
    let features = done["result"]["geojson"]["features"]
        .as_array()
        .expect("features");
    println!(
        "HTTP job {job}: {:.1} s, before {}, after {}, violations {}, moved {}",
        t.elapsed().as_secs_f64(),
        report["before"],
        report["after"],
        report["violations"],
        report["households_moved"]
    );
    assert_eq!(
        Some(features.len() as u64),
        report["after"]["grids"].as_u64()
    );
    assert!(features
        .iter()
        .all(|f| f["geometry"]["type"] == "MultiPolygon"));
    let before_bad = report["before"]["over"].as_u64().unwrap_or(0)
        + report["before"]["under"].as_u64().unwrap_or(0);
    assert!(
        report["violations"].as_u64().unwrap_or(u64::MAX) <= before_bad,
        "{report}"
    );
    // Aggregates only: no personal field anywhere in the proposal.
    let text = done.to_string();
    for field in ["\"name\"", "national_id", "phone"] {
        assert!(!text.contains(field), "proposal carries {field}");
    }
    let (s, _) = call(&st, get("/api/v1/regrid/999999", "planner")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn indicators_per_community_and_grid() {
    let (store, path) = demo_store("indicators");
    let st = AppState::new(store, ServerConfig::new(path)).expect("state");
    let (s, v) = call(&st, get("/api/v1/indicators?level=community", "planner")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let rows = v["rows"].as_array().expect("rows");
    let town = rows
        .iter()
        .find(|r| r["area"]["level"] == "town")
        .expect("town row");
    let comm = rows
        .iter()
        .find(|r| r["area"]["level"] == "community")
        .expect("community row");
    println!("community indicators {} – {}: {comm}", v["from"], v["to"]);
    assert!(comm["households"].as_u64().unwrap_or(0) > 3_000, "{comm}");
    assert!(comm["events"].as_u64().unwrap_or(0) > 50, "{comm}");
    assert!(comm["events"].as_u64() <= town["events"].as_u64());
    let share = comm["satisfaction_share"].as_f64().expect("rated events");
    assert!((0.0..=1.0).contains(&share));

    let (s, v) = call(
        &st,
        get(
            "/api/v1/indicators?level=grid&from=2026-01-01&to=2026-07-01",
            "planner",
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let grids: Vec<&Value> = v["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter(|r| r["area"]["level"] == "comprehensive")
        .collect();
    assert!(grids.len() >= 8, "{} comprehensive rows", grids.len());
    let sum: u64 = grids
        .iter()
        .map(|r| r["events"].as_u64().unwrap_or(0))
        .sum();
    let town = v["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["area"]["level"] == "town")
        .expect("town");
    assert!(
        sum <= town["events"].as_u64().unwrap_or(0)
            && sum * 10 >= town["events"].as_u64().unwrap_or(0) * 9,
        "grids {sum}, town {town}"
    );
    assert!(grids
        .iter()
        .all(|g| g["code"].as_str().is_some_and(|c| c.len() >= 12)));

    let (s, v) = call(&st, get("/api/v1/indicators?level=street", "planner")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let (s, v) = call(&st, get("/api/v1/indicators?from=2026-13-01", "planner")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn planted_hotspots_are_found_on_the_demo_community() {
    let (store, path) = demo_store("hotspots");
    let planted = summary(Scale::Community, 7).planted.hotspots;
    assert!(!planted.is_empty(), "the community demo plants hotspots");
    let ds = store.load(&Scope::Town, LoadSet::Spatial).expect("load");
    let params = report::hotspot_params(9, 8).expect("params");
    let t = Instant::now();
    let found = report::hotspots_of(&ds.events, None, None, &params).expect("hotspots");
    let score = report::score_planted(&found, &planted, 8);
    println!(
        "{} events, {} flagged cell-weeks in {:.0} ms; planted {} cell-weeks: precision {:.2}, recall {:.2} (tp {}, fp {}, fn {})",
        ds.events.len(),
        found.len(),
        t.elapsed().as_secs_f64() * 1000.0,
        report::planted_triples(&planted, 8).len(),
        score.precision,
        score.recall,
        score.true_positives,
        score.false_positives,
        score.false_negatives
    );
    for c in report::top_cells(&found, 5) {
        println!(
            "  {} ({:.5}, {:.5}) {} weeks, {} events, {}",
            c.area,
            c.lon.unwrap_or(0.0),
            c.lat.unwrap_or(0.0),
            c.flags,
            c.events,
            c.top_category
        );
    }
    assert!(score.recall >= 0.5, "recall {:.2}", score.recall);

    // The API flags the planted cell in a planted week.
    let st = AppState::new(store, ServerConfig::new(path)).expect("state");
    let p = &planted[0];
    let week = p.week_starts[p.week_starts.len() / 2];
    let cell = format!("{:x}", p.h3_res9);
    let (s, v) = call(
        &st,
        get(&format!("/api/v1/hotspots?week={week}&res=9"), "planner"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["week_start"], json!(week.to_string()));
    let hs = v["hotspots"].as_array().expect("hotspots");
    assert!(
        hs.iter()
            .any(|h| h["area"] == json!(cell) && h["category"] == json!(p.category)),
        "planted {cell} {} not in {v}",
        p.category
    );
    let (s, v) = call(
        &st,
        get(
            &format!("/api/v1/hotspots?week={week}&category={}", p.category),
            "screen",
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v["hotspots"]
        .as_array()
        .expect("hotspots")
        .iter()
        .all(|h| h["category"] == json!(p.category)));
    let (s, _) = call(&st, get("/api/v1/hotspots?res=3", "planner")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canteen_gap_communities_have_lower_coverage() {
    let path = temp_db("coverage-town");
    let mut store = Store::open(&path).expect("store");
    let t = Instant::now();
    generate_into(&mut store, Scale::Town, 2026, false).expect("town demo");
    println!("town demo stored in {:.1} s", t.elapsed().as_secs_f64());
    let planted = summary(Scale::Town, 2026).planted;
    assert!(
        !planted.canteen_gap_communities.is_empty(),
        "the town demo plants canteen gaps"
    );
    // Re-gridding a town community with chains of over-sized stairwells
    // (this once exhausted memory while bridging them in the graph).
    let input = load_input(&store, GridKind::Micro, Some("禹王路社区")).expect("input");
    let params = RegridRequest {
        level: "micro".into(),
        community: None,
        min: 30,
        max: 80,
        mode: "max".into(),
        seed: 1,
        allow_floor_split: false,
    }
    .params()
    .expect("params");
    let p = regrid(&input, &params, &mut |_| {}).expect("regrid");
    println!("{}", summary_table(&p, &params));
    let r = &p.report;
    assert!(r.violations < r.before.over + r.before.under, "{r:?}");
    let st = AppState::new(store, ServerConfig::new(path)).expect("state");
    let t = Instant::now();
    let (s, v) = call(
        &st,
        get("/api/v1/coverage?service=elderly_canteen", "planner"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    println!("coverage over HTTP in {:.1} s", t.elapsed().as_secs_f64());
    let gaps: Vec<u64> = planted
        .canteen_gap_communities
        .iter()
        .map(|c| c.get())
        .collect();
    let truth: BTreeMap<u64, f64> = planted
        .coverage
        .iter()
        .filter(|c| c.service == ServiceKind::ElderlyCanteen)
        .map(|c| (c.community.get(), c.share()))
        .collect();
    let (mut gap, mut other) = (Vec::new(), Vec::new());
    for c in v["communities"].as_array().expect("communities") {
        let id = c["community"].as_u64().expect("id");
        let share = c["covered_share"].as_f64().expect("share");
        let is_gap = gaps.contains(&id);
        println!(
            "  {:<3} {:<12} {:>6} households, covered {:>5.1} % (generator's street-distance truth {:>5.1} %){}",
            id,
            c["name"].as_str().unwrap_or(""),
            c["households"],
            share * 100.0,
            truth.get(&id).copied().unwrap_or(f64::NAN) * 100.0,
            if is_gap { "  ← planted gap" } else { "" }
        );
        if is_gap {
            gap.push(share);
        } else {
            other.push(share);
        }
    }
    assert_eq!(
        gap.len(),
        gaps.len(),
        "every gap community has a coverage row"
    );
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    println!(
        "mean elderly-canteen coverage: gap communities {:.1} %, others {:.1} %",
        mean(&gap) * 100.0,
        mean(&other) * 100.0
    );
    assert!(
        mean(&gap) + 0.25 < mean(&other),
        "gap {:?} vs others {:?}",
        gap,
        other
    );
    let worst_other = other.iter().copied().fold(f64::INFINITY, f64::min);
    assert!(
        gap.iter().all(|g| *g < worst_other),
        "a gap community {gap:?} covers more than another {worst_other}"
    );
    let grids = v["grids"].as_array().expect("grids");
    assert!(grids.len() >= 80, "{} grid rows", grids.len());
    let text = v.to_string();
    assert!(!text.contains("national_id") && !text.contains("phone"));
    let (s, _) = call(&st, get("/api/v1/coverage?service=spa", "planner")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[test]
fn sf_incidents_weekly_emerging_hotspots_2003_2015() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data/real/sf-incidents-downtown-2003-2015.csv.gz");
    assert!(
        path.exists(),
        "real-data file missing: {} (expected beside the repository in ../shared/data/real/)",
        path.display()
    );
    let opts = wangge_data::incidents::IncidentOptions::sf_incidents().expect("SF category map");
    let t = Instant::now();
    let imp = wangge_data::incidents::read_events(&path, &opts).expect("SF incidents");
    let read_s = t.elapsed().as_secs_f64();
    // Weeks start on Monday in San Francisco (UTC−8; DST does not matter for weekly bins).
    let offset = -8;
    let params = report::hotspot_params(9, offset).expect("params");
    let t = Instant::now();
    let found = report::hotspots_of(&imp.events, None, None, &params).expect("hotspots");
    println!(
        "{} SF incidents read in {:.1} s; {} flagged cell×category×weeks in {:.2} s",
        imp.events.len(),
        read_s,
        found.len(),
        t.elapsed().as_secs_f64()
    );
    let mut by_year: BTreeMap<i32, Vec<_>> = BTreeMap::new();
    for h in &found {
        by_year
            .entry(report::week_start_date(h.week, offset).year())
            .or_default()
            .push(*h);
    }
    for (year, hs) in &by_year {
        let top = report::top_cells(hs, 3);
        let line: Vec<String> = top
            .iter()
            .map(|c| {
                format!(
                    "{} ({:.4},{:.4}) {}×{} {}ev",
                    c.area,
                    c.lat.unwrap_or(0.0),
                    c.lon.unwrap_or(0.0),
                    c.flags,
                    c.top_category,
                    c.events
                )
            })
            .collect();
        println!("  {year}: {:>4} flags; top {}", hs.len(), line.join("; "));
    }
    assert!(imp.events.len() > 300_000, "{}", imp.events.len());
    assert!(
        by_year.len() >= 12,
        "flagged weeks in only {} years: {:?}",
        by_year.len(),
        by_year.keys()
    );
    assert!(by_year.keys().all(|y| (2003..=2015).contains(y)));
    // Flags are rare: far fewer than the active cell-weeks.
    assert!(found.len() < imp.events.len() / 20, "{} flags", found.len());
    assert!(found
        .iter()
        .all(|h| h.count >= 4 && f64::from(h.count) > h.baseline && h.q_value <= 0.05));
}
