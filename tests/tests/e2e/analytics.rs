//! Analytics through the store, the CLI functions and the HTTP API:
//! re-gridding the demo community, indicators, the planted hotspots and
//! canteen gaps of the demo, and weekly hotspots over real San Francisco
//! incidents.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use chrono::Datelike;
use geo_core::model::{GridKind, ServiceKind};
use geo_core::store::{LoadSet, Scope, Store};
use serde_json::{json, Value};
use wangge_data::demo::{self, Scale};
use web_viewer::cli::demo::generate_into;
use web_viewer::cli::regrid::summary_table;
use web_viewer::cli::report as report_cli;
use web_viewer::service::regrid::{load_input, regrid, Diagnostic, Parent, Proposal, RegridInput};
use web_viewer::service::report;
use web_viewer::service::report::AreaLevel;
use web_viewer::AppState;

use crate::common::{
    call, demo_store, get, header_text, micro_regrid_args, post, proxy_config, regrid_request,
    respond, temp_db,
};

/// Status, content type and body bytes.
async fn call_raw(st: &AppState, req: Request<Body>) -> (StatusCode, String, Vec<u8>) {
    let (status, headers, body) = respond(st, req).await;
    let ctype = header_text(&headers, header::CONTENT_TYPE).unwrap_or_default();
    (status, ctype, body)
}

/// Rows of a CSV written by `analytics::table::to_csv` (BOM, CRLF, no quoted
/// commas in numeric tables), keyed by header.
fn parse_csv(bytes: &[u8]) -> Vec<HashMap<String, String>> {
    let text = String::from_utf8(bytes.to_vec()).expect("utf-8");
    let text = text.strip_prefix('\u{feff}').expect("BOM");
    let mut lines = text.split("\r\n").filter(|l| !l.is_empty());
    let head: Vec<String> = lines
        .next()
        .expect("header")
        .split(',')
        .map(str::to_string)
        .collect();
    lines
        .map(|l| {
            head.iter()
                .cloned()
                .zip(l.split(',').map(str::to_string))
                .collect()
        })
        .collect()
}

/// The town demo (seed 2026), generated once per test run; each caller gets
/// its own copy of the DuckDB file.
fn town_store(tag: &str) -> (Store, PathBuf) {
    static TOWN: OnceLock<PathBuf> = OnceLock::new();
    let template = TOWN.get_or_init(|| {
        let path = temp_db("town-template");
        let mut store = crate::common::open_store(&path);
        let t = Instant::now();
        generate_into(
            &mut store,
            Scale::Town,
            2026,
            wangge_data::demo::fixed_end(),
            false,
        )
        .expect("town demo");
        println!("town demo stored in {:.1} s", t.elapsed().as_secs_f64());
        path
    });
    let path = temp_db(tag);
    crate::common::copy_store(template, &path);
    (crate::common::open_store(&path), path)
}

/// The recommender's promise: every grid outside `min..=max` lies in a part
/// the diagnostics call infeasible (and that part really cannot be divided
/// within the bounds) or is one unit bigger than `max`; no grid of a feasible
/// part violates the bounds; every unit is in exactly one grid.
pub(crate) fn assert_violations_explained(input: &RegridInput, p: &Proposal, min: u32, max: u32) {
    let r = &p.report;
    let (lo, hi) = (u64::from(min), u64::from(max));
    let not_met: Vec<&Diagnostic> = r
        .diagnostics
        .iter()
        .filter(|d| matches!(d, Diagnostic::BoundsNotMet { .. }))
        .collect();
    assert!(
        not_met.is_empty() && r.violations_where_feasible == 0,
        "{} violations in parts the diagnostics call feasible: {not_met:?}",
        r.violations_where_feasible
    );
    let mut infeasible_grids: HashMap<&str, u64> = HashMap::new();
    for d in &r.diagnostics {
        if let Diagnostic::Infeasible {
            grids, households, ..
        } = d
        {
            let h = *households;
            assert!(
                h < lo || h.div_ceil(hi) > h / lo,
                "a part of {h} households is called infeasible for {min}–{max}: {d:?}"
            );
            for g in grids {
                infeasible_grids.insert(g, h);
            }
        }
    }
    let oversized: Vec<u64> = r
        .diagnostics
        .iter()
        .filter_map(|d| match d {
            Diagnostic::OversizedUnit {
                unit, households, ..
            } => {
                assert!(*households > max, "{d:?}");
                Some(unit.get())
            }
            _ => None,
        })
        .collect();
    let mut bad = 0;
    for g in &p.grids {
        if (lo..=hi).contains(&g.households) {
            continue;
        }
        bad += 1;
        let by_unit = g.units.len() == 1 && oversized.contains(&g.units[0].get());
        assert!(
            by_unit || infeasible_grids.contains_key(g.code_hint.as_str()),
            "grid {} with {} households is outside {min}–{max} and no Infeasible or \
             OversizedUnit diagnostic explains it",
            g.code_hint,
            g.households
        );
    }
    assert_eq!(bad, r.violations);
    let mut seen: HashMap<u64, usize> = HashMap::new();
    for g in p
        .grids
        .iter()
        .filter(|g| g.floor_part.is_none_or(|f| f.part == 1))
    {
        for u in &g.units {
            *seen.entry(u.get()).or_default() += 1;
        }
    }
    let assigned = input.units.iter().filter(|u| u.dedicated.is_none());
    for u in assigned {
        assert_eq!(
            seen.get(&u.id.get()),
            Some(&1),
            "unit {} not in exactly one grid",
            u.id
        );
    }
}

/// Over- and under-loaded grids today and in the proposal.
fn print_before_after(what: &str, p: &Proposal) {
    let r = &p.report;
    println!(
        "{what}: today {} grids, {} over + {} under = {} outside the bounds; proposal {} grids, {} over + {} under = {} ({} in parts the diagnostics call feasible)",
        r.before.grids,
        r.before.over,
        r.before.under,
        r.before.over + r.before.under,
        r.after.grids,
        r.after.over,
        r.after.under,
        r.violations,
        r.violations_where_feasible
    );
}

/// The demo Summary (planted patterns) of a scale and seed, regenerated in memory.
fn summary(scale: Scale, seed: u64) -> demo::Summary {
    let mut sink = geo_core::Dataset::default();
    demo::generate(scale, seed, &mut sink, &mut |_| {}).expect("demo summary")
}

#[test]
fn regrid_micro_on_demo_community_repairs_loads() {
    let (store, path) = demo_store("regrid-cli");
    let req = regrid_request("micro", 30, 80);
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
    print_before_after("demo community, micro 30–80", &p);
    assert_violations_explained(&input, &p, 30, 80);
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
            xlsx: Some(xlsx.clone()),
            ..micro_regrid_args(&dir)
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
    let st = AppState::new(store, proxy_config(path)).expect("state");
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
    // Found by attacking the server: min 1, max 2 ran for minutes. Floors.
    for (min, max) in [(1, 2), (9, 100), (30, 35)] {
        let (s, v) = call(
            &st,
            post("/api/v1/regrid", "planner", json!({"min": min, "max": max})),
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
        assert_eq!(v["error"]["code"], "bad_param", "{v}");
        let m = v["error"]["message"].as_str().unwrap_or("");
        assert!(
            m.contains(&format!("min={min}")) && m.contains("min ≥ 10"),
            "{m}"
        );
    }
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

/// Per-worker indicators: leaders only (a worker row names a person); each
/// row is one worker of a grid, named and nothing else, counting the events
/// of the grid they serve; the ranked workbook is the dashboard's table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn indicators_per_worker_for_leaders_only_and_the_ranked_workbook() {
    let (store, path) = demo_store("indicators-workers");
    let st = AppState::new(store, proxy_config(path)).expect("state");
    for role in ["planner", "screen"] {
        let (s, v) = call(&st, get("/api/v1/indicators?level=worker", role)).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{role}: {v}");
    }
    let (s, v) = call(&st, get("/api/v1/indicators?level=worker", "leader")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let rows = v["rows"].as_array().expect("rows");
    let workers: Vec<&Value> = rows
        .iter()
        .filter(|r| r["area"]["level"] == "worker")
        .collect();
    assert!(!workers.is_empty());
    let allowed = [
        "area",
        "name",
        "code",
        "worker_role",
        "window",
        "households",
        "events",
        "merged",
        "events_per_1000_households",
        "resolved",
        "closed_in_grid_share",
        "median_handling_h",
        "p90_handling_h",
        "overdue",
        "rated",
        "satisfaction_mean",
        "satisfaction_share",
        "reopen_rate",
        "grid_workers",
        "workload_per_worker",
        "prev_events",
        "events_change",
        "prev_median_handling_h",
        "prev_closed_in_grid_share",
        "prev_satisfaction_share",
    ];
    for w in &workers {
        let keys: Vec<&String> = w.as_object().expect("row").keys().collect();
        assert!(keys.iter().all(|k| allowed.contains(&k.as_str())), "{w}");
    }
    // A worker's figures are those of the grid they serve.
    let (_, g) = call(&st, get("/api/v1/indicators?level=grid", "leader")).await;
    let grids = g["rows"].as_array().expect("rows");
    let (w, grid) = workers
        .iter()
        .find_map(|w| {
            let grid = grids.iter().find(|r| r["code"] == w["code"])?;
            (w["worker_role"] == "grid_worker").then_some((w, grid))
        })
        .expect("a grid worker of a comprehensive grid");
    assert_eq!(w["events"], grid["events"], "{w} vs {grid}");
    // The ranked workbook: the level's rows, best first.
    let (s, _, bytes) = respond(
        &st,
        get(
            "/api/v1/indicators?level=worker&format=xlsx&rank=overdue",
            "leader",
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(&bytes[..2], b"PK");
    let (s, v) = call(
        &st,
        get(
            "/api/v1/indicators?level=worker&format=xlsx&rank=nope",
            "leader",
        ),
    )
    .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_rank"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn indicators_per_community_and_grid() {
    let (store, path) = demo_store("indicators");
    let st = AppState::new(store, proxy_config(path)).expect("state");
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
    // Found where planted, and few flags elsewhere.
    assert!(score.recall >= 0.8, "recall {:.2}: {score:?}", score.recall);
    assert!(
        score.precision >= 0.75,
        "precision {:.2}: {score:?}",
        score.precision
    );

    // The API flags the planted cell in a planted week.
    let st = AppState::new(store, proxy_config(path.clone())).expect("state");
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
    // The same week as a CSV download.
    let (s, ctype, body) = call_raw(
        &st,
        get(
            &format!("/api/v1/hotspots?week={week}&res=9&format=csv"),
            "planner",
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(ctype.starts_with("text/csv"), "{ctype}");
    let csv = parse_csv(&body);
    assert_eq!(csv.len(), hs.len());
    assert!(csv
        .iter()
        .any(|r| r["area"] == cell && r["category"] == p.category));

    // `wangge report hotspots --all-weeks --csv --xlsx` writes every flag.
    drop(st);
    let dir = path.parent().expect("dir").to_path_buf();
    let (c, x) = (dir.join("hotspots.csv"), dir.join("hotspots.xlsx"));
    report_cli::run(
        &path,
        report_cli::ReportArgs {
            what: report_cli::ReportCommand::Hotspots(report_cli::HotspotArgs {
                json: false,
                week: None,
                all_weeks: true,
                res: 9,
                category: None,
                top: 5,
                csv: Some(c.clone()),
                xlsx: Some(x.clone()),
            }),
        },
    )
    .expect("wangge report hotspots");
    let rows = parse_csv(&std::fs::read(&c).expect("csv"));
    assert_eq!(rows.len(), found.len());
    assert!(rows
        .iter()
        .all(|r| r["q_value"].parse::<f64>().is_ok_and(|q| q <= 0.01)));
    assert_eq!(&std::fs::read(&x).expect("xlsx")[..2], b"PK");
}

#[test]
fn town_demo_regrid_at_both_levels() {
    let (store, _path) = town_store("regrid-town");
    // Comprehensive grids of 300–500 households inside each community.
    let params = regrid_request("comprehensive", 300, 500)
        .params()
        .expect("params");
    let input = load_input(&store, GridKind::Comprehensive, None).expect("input");
    let t = Instant::now();
    let p = regrid(&input, &params, &mut |_| {}).expect("regrid");
    println!(
        "town, comprehensive level: {} units in {:.1} s\n{}",
        input.units.len(),
        t.elapsed().as_secs_f64(),
        summary_table(&p, &params)
    );
    print_before_after("town demo, comprehensive 300–500", &p);
    let r = &p.report;
    assert!(
        r.before.grids >= 30,
        "today's comprehensive grids: {:?}",
        r.before
    );
    assert!(
        r.violations < r.before.over + r.before.under,
        "before {:?}, after {:?}",
        r.before,
        r.after
    );
    assert_violations_explained(&input, &p, 300, 500);
    assert!(p
        .grids
        .iter()
        .all(|g| matches!(g.parent, Some(Parent::Community(_)))));

    // Micro-grids of 30–80 in a town community with chains of over-sized
    // stairwells (this once exhausted memory while bridging them).
    let input = load_input(&store, GridKind::Micro, Some("禹王路社区")).expect("input");
    let params = regrid_request("micro", 30, 80).params().expect("params");
    let p = regrid(&input, &params, &mut |_| {}).expect("regrid");
    println!("{}", summary_table(&p, &params));
    print_before_after("town community 禹王路社区, micro 30–80", &p);
    let r = &p.report;
    assert!(r.violations < r.before.over + r.before.under, "{r:?}");
    assert_violations_explained(&input, &p, 30, 80);
}

/// `wangge report indicators` (the CLI: its CSV exports) and
/// `GET /api/v1/indicators` give the same figures on the town demo, and the
/// reopen rate counts an event reopened and closed again (from its stored
/// timeline).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_indicators_cli_equals_api_on_town() {
    let (mut store, path) = town_store("indicators-town");
    let (ds, before, window) =
        report::stored_indicators(&store, AreaLevel::Community, None, None).expect("indicators");
    let town_before = before
        .rows
        .iter()
        .find(|r| r.area.level == AreaLevel::Town)
        .expect("town row")
        .reopen_rate
        .expect("closed events");
    // Reopen a closed event of the window, then close it again.
    let e = ds
        .events
        .iter()
        .filter(|e| window.contains(e.reported_at))
        .find(|e| e.status == geo_core::model::EventStatus::Closed)
        .expect("a closed event in the window")
        .clone();
    let at = e.resolved_at.unwrap_or(e.reported_at).timestamp() + 3600;
    let step = |from: &str, to: &str, at: i64| geo_core::store::TransitionRow {
        from: Some(from.into()),
        to: to.into(),
        at,
        actor: "test".into(),
        note: "resident says the leak is back".into(),
    };
    let mut reopened = e.clone();
    reopened.status = geo_core::model::EventStatus::Reopened;
    store
        .update_event(&reopened, &step("closed", "reopened", at))
        .expect("reopen");
    store
        .update_event(&e, &step("reopened", "closed", at + 7200))
        .expect("close again");
    drop(store);

    let dir = path.parent().expect("dir").to_path_buf();
    let (rows_csv, bd_csv, xlsx) = (
        dir.join("indicators.csv"),
        dir.join("breakdown.csv"),
        dir.join("indicators.xlsx"),
    );
    let t = Instant::now();
    report_cli::run(
        &path,
        report_cli::ReportArgs {
            what: report_cli::ReportCommand::Indicators(report_cli::IndicatorArgs {
                json: false,
                from: None,
                to: None,
                level: "community".into(),
                csv: Some(rows_csv.clone()),
                breakdown_csv: Some(bd_csv.clone()),
                xlsx: Some(xlsx.clone()),
            }),
        },
    )
    .expect("wangge report indicators");
    println!(
        "wangge report indicators in {:.2} s",
        t.elapsed().as_secs_f64()
    );
    let store = crate::common::open_store(&path);
    let (ds, now, window) =
        report::stored_indicators(&store, AreaLevel::Community, None, None).expect("indicators");
    print!("{}", report_cli::indicators_text(&ds, &now, window));
    let town_now = now
        .rows
        .iter()
        .find(|r| r.area.level == AreaLevel::Town)
        .expect("town row");
    println!(
        "town reopen rate {:.4} → {:.4} after reopening and closing event {}",
        town_before,
        town_now.reopen_rate.unwrap_or(f64::NAN),
        e.id
    );
    assert!(
        town_now.reopen_rate.expect("rate") > town_before,
        "an event reopened and closed again still counts as reopened"
    );
    assert_eq!(&std::fs::read(&xlsx).expect("xlsx")[..2], b"PK");

    let cli_rows = parse_csv(&std::fs::read(&rows_csv).expect("csv"));
    let cli_bd = parse_csv(&std::fs::read(&bd_csv).expect("csv"));
    assert!(cli_rows.len() >= 5, "{} rows", cli_rows.len());
    let st = AppState::new(store, proxy_config(path)).expect("state");
    let (s, v) = call(&st, get("/api/v1/indicators?level=community", "planner")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let api_rows = v["rows"].as_array().expect("rows");
    assert_eq!(api_rows.len(), cli_rows.len());
    let num = |x: &str| -> Option<f64> { (!x.is_empty()).then(|| x.parse().expect("number")) };
    let mut compared = 0;
    for c in &cli_rows {
        let a = api_rows
            .iter()
            .find(|r| {
                r["area"]["level"] == json!(c["level"])
                    && r["area"]["id"].as_u64().map(|x| x.to_string()) == Some(c["area_id"].clone())
            })
            .unwrap_or_else(|| panic!("API has no row for {c:?}"));
        for field in [
            "households",
            "events",
            "merged",
            "resolved",
            "overdue",
            "rated",
            "closed_in_grid_share",
            "median_handling_h",
            "p90_handling_h",
            "satisfaction_share",
            "reopen_rate",
            "prev_events",
            "events_change",
        ] {
            let (cv, av) = (num(&c[field]), a[field].as_f64());
            match (cv, av) {
                (Some(x), Some(y)) => assert!(
                    (x - y).abs() <= 1e-9 * x.abs().max(1.0),
                    "{field} of {}: CLI {x}, API {y}",
                    c["area_id"]
                ),
                (None, None) => {}
                _ => panic!("{field} of {}: CLI {cv:?}, API {av:?}", c["area_id"]),
            }
            compared += 1;
        }
    }
    let api_town = api_rows
        .iter()
        .find(|r| r["area"]["level"] == "town")
        .expect("town");
    assert_eq!(api_town["reopen_rate"].as_f64(), town_now.reopen_rate);
    // The breakdown by category and by source is the same too, and sums up.
    let api_bd = v["breakdown"].as_array().expect("breakdown");
    assert_eq!(api_bd.len(), cli_bd.len());
    for c in &cli_bd {
        assert!(
            api_bd
                .iter()
                .any(|b| b["area"]["level"] == json!(c["level"])
                    && b["area"]["id"].as_u64().map(|x| x.to_string())
                        == Some(c["area_id"].clone())
                    && b["dimension"] == json!(c["dimension"])
                    && b["key"] == json!(c["key"])
                    && b["count"].as_u64().map(|x| x.to_string()) == Some(c["count"].clone())
                    && b["prev_count"].as_u64().map(|x| x.to_string())
                        == Some(c["prev_count"].clone())),
            "API breakdown lacks {c:?}"
        );
    }
    for dim in ["category", "source"] {
        let sum: u64 = api_bd
            .iter()
            .filter(|b| b["area"]["level"] == "town" && b["dimension"] == dim)
            .map(|b| b["count"].as_u64().unwrap_or(0))
            .sum();
        assert_eq!(
            Some(sum),
            api_town["events"].as_u64(),
            "town events by {dim}"
        );
    }
    println!(
        "CLI and API agree on {compared} figures of {} areas and {} breakdown rows",
        cli_rows.len(),
        cli_bd.len()
    );
    // The same table as a CSV download.
    let (s, ctype, body) = call_raw(
        &st,
        get("/api/v1/indicators?level=community&format=csv", "planner"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(ctype.starts_with("text/csv"), "{ctype}");
    assert_eq!(parse_csv(&body), cli_rows);
    // And as the dashboard's Excel download: a workbook (a zip file; the
    // browser test checks the page's download of it).
    let (s, ctype, body) = call_raw(
        &st,
        get("/api/v1/indicators?level=community&format=xlsx", "planner"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(ctype.contains("spreadsheetml"), "{ctype}");
    assert_eq!(&body[..2], b"PK", "an xlsx file is a zip");
    let (s, v) = call(&st, get("/api/v1/indicators?format=pdf", "planner")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        v.to_string().contains("xlsx"),
        "the error names the formats: {v}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canteen_gap_communities_have_lower_coverage() {
    let (store, path) = town_store("coverage-town");
    let planted = summary(Scale::Town, 2026).planted;
    assert!(
        !planted.canteen_gap_communities.is_empty(),
        "the town demo plants canteen gaps"
    );
    let st = AppState::new(store, proxy_config(path.clone())).expect("state");
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

    // The map layer: one polygon per comprehensive grid with its shares.
    let (s, ctype, body) = call_raw(
        &st,
        get(
            "/api/v1/coverage?service=elderly_canteen&format=geojson",
            "planner",
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(ctype.contains("geo+json"), "{ctype}");
    let fc: Value = serde_json::from_slice(&body).expect("geojson");
    let features = fc["features"].as_array().expect("features");
    let with_grid = grids.iter().filter(|g| g["grid"].is_string()).count();
    assert_eq!(features.len(), with_grid);
    for f in features {
        assert_eq!(f["geometry"]["type"], "MultiPolygon", "{f}");
        let code = &f["properties"]["code"];
        let row = grids
            .iter()
            .find(|g| &g["grid"] == code)
            .expect("grid row of the feature");
        assert_eq!(f["properties"]["covered_share"], row["covered_share"]);
        assert_eq!(f["properties"]["households"], row["households"]);
    }
    // The per-grid rows as a CSV download.
    let (s, ctype, body) = call_raw(
        &st,
        get(
            "/api/v1/coverage?service=elderly_canteen&format=csv",
            "planner",
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(ctype.starts_with("text/csv"), "{ctype}");
    let csv = parse_csv(&body);
    assert_eq!(csv.len(), grids.len());
    let hh = |rows: &mut dyn Iterator<Item = u64>| rows.sum::<u64>();
    assert_eq!(
        hh(&mut csv
            .iter()
            .map(|r| r["households"].parse::<u64>().expect("int"))),
        hh(&mut grids.iter().map(|g| g["households"].as_u64().unwrap_or(0)))
    );
    // Every key population the store tags has its two columns, summing to
    // the answer's town-wide figures.
    let keys = v["key_populations"].as_array().expect("key_populations");
    assert!(keys.len() >= 5, "{keys:?}");
    let sum = |col: &str| -> u64 {
        csv.iter()
            .map(|r| r.get(col).unwrap_or_else(|| panic!("no column {col}")))
            .map(|x| x.parse::<u64>().expect("int"))
            .sum()
    };
    for k in keys {
        let tag = k["tag"].as_str().expect("tag");
        assert_eq!(sum(&format!("{tag}_households")), k["households"], "{tag}");
        assert_eq!(
            sum(&format!("{tag}_beyond")),
            k["households_beyond"],
            "{tag}"
        );
    }
    assert!(
        keys.iter()
            .any(|k| k["tag"] != "elderly_alone" && k["households"].as_u64() > Some(0)),
        "the demo tags households with more than elderly living alone: {keys:?}"
    );
    let (s, _) = call(&st, get("/api/v1/coverage?format=shp", "planner")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // `wangge report coverage` writes the same rows as CSV, xlsx and GeoJSON.
    drop(st);
    let dir = path.parent().expect("dir").to_path_buf();
    let (c, x, g) = (
        dir.join("coverage.csv"),
        dir.join("coverage.xlsx"),
        dir.join("coverage.geojson"),
    );
    report_cli::run(
        &path,
        report_cli::ReportArgs {
            what: report_cli::ReportCommand::Coverage(report_cli::CoverageArgs {
                json: false,
                service: "elderly_canteen".into(),
                minutes: 15.0,
                csv: Some(c.clone()),
                xlsx: Some(x.clone()),
                geojson: Some(g.clone()),
            }),
        },
    )
    .expect("wangge report coverage");
    assert_eq!(parse_csv(&std::fs::read(&c).expect("csv")), csv);
    assert_eq!(&std::fs::read(&x).expect("xlsx")[..2], b"PK");
    let cli_fc: Value = serde_json::from_slice(&std::fs::read(&g).expect("geojson")).expect("json");
    assert_eq!(cli_fc["features"], fc["features"]);
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
