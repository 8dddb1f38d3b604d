//! 一户一档 and 民情 through HTTP on a real server over the demo community:
//! the household file is scoped (another grid's worker gets 404, roles
//! without people 403), masked, revealed one member at a time with a reason
//! that lands in the audit log; visits are recorded with needs (CSRF, field
//! errors), needs closed once; overdue visits are listed per scope; the 民情
//! layer holds grid figures only.

use serde_json::{json, Value};

use crate::auth::{blocking, http, login, server, Resp};

fn get(addr: std::net::SocketAddr, path: &str, cookie: &str) -> Resp {
    http(addr, "GET", path, &[("Cookie", cookie)], None)
}

fn post(addr: std::net::SocketAddr, path: &str, s: &(String, String), body: &Value) -> Resp {
    http(
        addr,
        "POST",
        path,
        &[
            ("Cookie", &s.0),
            ("X-CSRF-Token", &s.1),
            ("Content-Type", "application/json"),
        ],
        Some(&body.to_string()),
    )
}

/// A household on the care lists inside the worker's grid and one outside
/// it, from the leader's overdue list and the worker's.
fn households(addr: std::net::SocketAddr, leader: &str, worker: &str, grid: &str) -> (u64, u64) {
    let mine = get(addr, "/api/v1/visits/overdue?limit=5000", worker);
    assert_eq!(mine.status, 200, "{}", mine.body);
    let mine = mine.json();
    let all = get(addr, "/api/v1/visits/overdue?limit=5000", leader).json();
    let list = |v: &Value| v["households"].as_array().expect("households").clone();
    let inside = list(&mine);
    assert!(!inside.is_empty(), "the worker's grid has no overdue visit");
    assert!(
        inside.iter().all(|h| h["grid"].as_str() == Some(grid)),
        "the worker's overdue list leaves grid {grid}"
    );
    assert!(
        mine["total"].as_u64() < all["total"].as_u64(),
        "the worker's list is the town's"
    );
    let outside = list(&all)
        .into_iter()
        .find(|h| h["grid"].as_str() != Some(grid))
        .expect("an overdue household outside the worker's grid");
    (
        inside[0]["household"].as_u64().expect("id"),
        outside["household"].as_u64().expect("id"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_household_file_is_scoped_masked_and_revealed_with_an_audit_line() {
    let srv = server("household-file", |_| {}).await;
    let (addr, grid, state) = (srv.addr, srv.worker_grid.clone(), srv.state.clone());
    blocking(move || {
        let (leader, _) = login(addr, "leader");
        let worker = login(addr, "worker");
        let (planner, _) = login(addr, "planner");
        let (fire, _) = login(addr, "fire");
        let (inside, outside) = households(addr, &leader, &worker.0, &grid);

        let r = get(
            addr,
            &format!("/api/v1/households/{inside}/file"),
            &worker.0,
        );
        assert_eq!(r.status, 200, "{}", r.body);
        let f = r.json();
        assert_eq!(f["grids"]["comprehensive"], grid.as_str());
        let members = f["members"].as_array().expect("members").clone();
        assert!(!members.is_empty(), "household {inside} has no members");
        assert!(
            members
                .iter()
                .all(|m| m["name"].as_str().is_some_and(|n| n.contains('*'))
                    && m["revealed"] == false),
            "members not masked: {members:?}"
        );
        assert!(
            !f["tags"].as_array().expect("tags").is_empty(),
            "a care-list household without tags"
        );
        assert_eq!(f["schedule"]["overdue"], true, "{}", f["schedule"]);
        assert_eq!(f["revealed"], "none");

        // Another grid: absent, for reading and for writing.
        let r = get(
            addr,
            &format!("/api/v1/households/{outside}/file"),
            &worker.0,
        );
        assert_eq!(r.status, 404, "{}", r.body);
        let r = post(
            addr,
            &format!("/api/v1/households/{outside}/visits"),
            &worker,
            &json!({"kind": "routine"}),
        );
        assert_eq!(r.status, 404, "{}", r.body);
        // Roles without people: refused.
        for (who, cookie) in [("planner", &planner), ("fire", &fire)] {
            let r = get(addr, &format!("/api/v1/households/{inside}/file"), cookie);
            assert_eq!(r.status, 403, "{who}: {}", r.body);
        }

        // The leader reveals one member of a household in another grid.
        let f = get(addr, &format!("/api/v1/households/{outside}/file"), &leader).json();
        let member = f["members"][0]["id"].as_u64().expect("a member");
        let r = http(
            addr,
            "GET",
            &format!("/api/v1/households/{outside}/file?person={member}"),
            &[
                ("Cookie", &leader),
                (
                    "X-Wangge-Reveal-Reason",
                    "%E5%85%A5%E6%88%B7%E6%A0%B8%E5%AE%9E",
                ),
            ],
            None,
        );
        assert_eq!(r.status, 200, "{}", r.body);
        let f = r.json();
        assert_eq!(f["revealed"], "one");
        for m in f["members"].as_array().expect("members") {
            let shown = m["id"].as_u64() == Some(member);
            assert_eq!(m["revealed"], shown, "{m}");
            assert_eq!(
                m["name"].as_str().is_some_and(|n| n.contains('*')),
                !shown,
                "{m}"
            );
        }
        let store = state.0.store.lock().expect("store");
        let lines = store.audit_lines(Some("reveal")).expect("audit");
        assert!(
            lines.iter().any(|(_, actor, _, d)| actor == "leader:leader"
                && d.contains(&format!("household {outside} file, person {member}"))
                && d.contains("入户核实")),
            "no audit line of the reveal: {lines:?}"
        );
    })
    .await
    .expect("file");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visit_is_recorded_with_its_needs_and_a_need_closes_once() {
    let srv = server("household-visit", |_| {}).await;
    let (addr, grid, state) = (srv.addr, srv.worker_grid.clone(), srv.state.clone());
    blocking(move || {
        let leader = login(addr, "leader");
        let worker = login(addr, "worker");
        let (inside, outside) = households(addr, &leader.0, &worker.0, &grid);
        let path = format!("/api/v1/households/{inside}/visits");
        let good = json!({"kind": "night", "notes": "夜访，独居老人反映腿脚不便",
            "needs": [{"text": "需要助餐服务", "category": "care"}]});

        // Without the CSRF token: refused, nothing recorded.
        let r = http(
            addr,
            "POST",
            &path,
            &[("Cookie", &worker.0), ("Content-Type", "application/json")],
            Some(&good.to_string()),
        );
        assert_eq!(
            (r.status, r.json()["error"]["code"].as_str()),
            (403, Some("csrf")),
            "{}",
            r.body
        );
        // An unknown kind: the error names the field and the choices.
        let r = post(addr, &path, &worker, &json!({"kind": "patrol"}));
        assert_eq!(r.status, 400, "{}", r.body);
        assert_eq!(r.json()["error"]["code"], "bad_visit_kind");
        let msg = r.json()["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(
            msg.starts_with("kind:") && msg.contains("follow_up"),
            "{msg}"
        );
        let r = post(
            addr,
            &path,
            &worker,
            &json!({"kind": "routine", "needs": [{"text": "x", "category": "food"}]}),
        );
        assert_eq!(r.json()["error"]["code"], "bad_need", "{}", r.body);
        assert!(r.body.contains("needs[0].category"), "{}", r.body);
        let r = post(
            addr,
            &path,
            &worker,
            &json!({"kind": "routine", "at": "2999-01-01T00:00:00Z"}),
        );
        assert_eq!(r.json()["error"]["code"], "bad_time", "{}", r.body);
        let before = get(
            addr,
            &format!("/api/v1/households/{inside}/file"),
            &worker.0,
        )
        .json();
        assert_eq!(before["schedule"]["overdue"], true);

        let r = post(addr, &path, &worker, &good);
        assert_eq!(r.status, 201, "{}", r.body);
        let rec = r.json();
        assert_eq!(rec["visit"]["actor"], "worker:worker");
        let need = rec["needs"][0]["id"].as_u64().expect("need id");
        let f = get(
            addr,
            &format!("/api/v1/households/{inside}/file"),
            &worker.0,
        )
        .json();
        assert_eq!(
            f["visits"][0]["id"], rec["visit"]["id"],
            "the new visit is not the newest"
        );
        assert_eq!(f["visits"][0]["kind"], "night");
        assert_eq!(f["schedule"]["overdue"], false, "{}", f["schedule"]);
        let n = f["needs"]
            .as_array()
            .expect("needs")
            .iter()
            .find(|n| n["id"].as_u64() == Some(need))
            .expect("the need")
            .clone();
        assert_eq!(n["open"], true);
        assert!(f["visits"][0]["notes"]
            .as_str()
            .unwrap_or_default()
            .starts_with("夜访"));
        let mine = get(addr, "/api/v1/visits/overdue?limit=5000", &worker.0).json();
        assert!(
            !mine["households"]
                .as_array()
                .expect("list")
                .iter()
                .any(|h| h["household"].as_u64() == Some(inside)),
            "the visited household is still overdue"
        );

        // Close once; the second close is a conflict; another grid's need is absent.
        let close = format!("/api/v1/needs/{need}/close");
        let r = post(addr, &close, &worker, &json!({}));
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json()["open"], false);
        assert_eq!(r.json()["closed_by"], "worker:worker");
        let r = post(addr, &close, &worker, &json!({}));
        assert_eq!(
            (r.status, r.json()["error"]["code"].as_str()),
            (409, Some("need_closed")),
            "{}",
            r.body
        );
        let r = post(
            addr,
            &format!("/api/v1/households/{outside}/visits"),
            &leader,
            &json!({"kind": "follow_up", "needs": [{"text": "楼道灯坏了", "category": "repair"}]}),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        let theirs = r.json()["needs"][0]["id"].as_u64().expect("need");
        let r = post(
            addr,
            &format!("/api/v1/needs/{theirs}/close"),
            &worker,
            &json!({}),
        );
        assert_eq!(r.status, 404, "{}", r.body);

        let store = state.0.store.lock().expect("store");
        let visits = store.audit_lines(Some("visit")).expect("audit");
        assert!(
            visits
                .iter()
                .any(|(_, a, _, d)| a == "worker:worker"
                    && d.contains(&format!("household {inside}"))),
            "{visits:?}"
        );
        assert_eq!(
            store.audit_lines(Some("need_close")).expect("audit").len(),
            1
        );
    })
    .await
    .expect("visit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sentiment_layer_holds_grid_figures_only() {
    let srv = server("household-layer", |_| {}).await;
    let addr = srv.addr;
    blocking(move || {
        let (planner, _) = login(addr, "planner");
        let (leader, _) = login(addr, "leader");
        let r = get(addr, "/api/v1/grids/sentiment", &planner);
        assert_eq!(r.status, 200, "{}", r.body);
        let layer = r.json();
        assert_eq!(layer["type"], "FeatureCollection");
        assert_eq!(layer["k"], 3);
        let feats = layer["features"].as_array().expect("features").clone();
        assert!(!feats.is_empty());
        let keys = [
            "code",
            "name",
            "households",
            "open_needs",
            "overdue_visits",
            "risk",
            "attention_per_100",
        ];
        for f in &feats {
            assert!(
                ["Polygon", "MultiPolygon"].contains(&f["geometry"]["type"].as_str().unwrap_or("")),
                "{}",
                f["properties"]
            );
            let p = f["properties"].as_object().expect("properties");
            assert!(p.keys().all(|k| keys.contains(&k.as_str())), "{p:?}");
            for k in ["open_needs", "overdue_visits", "risk"] {
                assert!(
                    p[k].is_null() || p[k].as_u64().is_some_and(|n| n == 0 || n >= 3),
                    "{k}: {p:?}"
                );
            }
        }
        let overdue: u64 = feats
            .iter()
            .filter_map(|f| f["properties"]["overdue_visits"].as_u64())
            .sum();
        assert!(overdue > 0, "no overdue visits on the layer");
        // The leader's figures are not suppressed and add up to the overdue list.
        let full = get(addr, "/api/v1/grids/sentiment", &leader).json();
        let sum: u64 = full["features"]
            .as_array()
            .expect("features")
            .iter()
            .map(|f| f["properties"]["overdue_visits"].as_u64().expect("a count"))
            .sum();
        let list = get(addr, "/api/v1/visits/overdue?limit=1", &leader).json();
        let in_grids: u64 = list["grids"]
            .as_array()
            .expect("grids")
            .iter()
            .filter(|g| !g["grid"].is_null())
            .map(|g| g["overdue"].as_u64().expect("n"))
            .sum();
        assert_eq!(sum, in_grids, "the layer and the overdue list disagree");
        assert_eq!(list["households"].as_array().map(Vec::len), Some(1));
    })
    .await
    .expect("layer");
}
