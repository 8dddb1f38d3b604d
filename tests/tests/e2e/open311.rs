//! Open311 GeoReport v2 (issue 18) through a real server over a real store
//! in log-in mode: the service list (our taxonomy and a configured foreign
//! code), a form post with an API key made as `wangge token add --role
//! open311` makes, which enters the intake like any event (grids, handler,
//! deadline, then escalation), the public reads (never the description,
//! address, handler, receipt or exact place), tokens, errors in the Open311
//! form, and the attacks: no key, a wrong or revoked key, a session cookie,
//! a kiosk token, a JSON body.

use serde_json::{json, Value};
use web_viewer::present::coarse_point;

use crate::auth::{blocking, http, login, server_after, Resp};

const FORM: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded");
const JURISDICTION: &str = "chengguan.test";

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The one Open311 error of an answer (JSON form).
fn open311_error(r: &Resp) -> (u64, String) {
    let v = r.json();
    let e = &v[0];
    (
        e["code"]
            .as_u64()
            .unwrap_or_else(|| panic!("an Open311 error: {}", r.body)),
        e["description"].as_str().unwrap_or("").to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open311_files_through_the_intake_and_answers_the_public_coarsely() {
    let mut key = String::new();
    let srv = server_after(
        "open311",
        |path| {
            let mut store = crate::common::open_store(path);
            key = web_viewer::cli::user::add_open311_key(&mut store, "hotline", "12345", 0)
                .expect("open311 key");
        },
        |cfg| {
            cfg.open311.jurisdiction_id = Some(JURISDICTION.into());
            let cat = geo_core::taxonomy::EventCategory::parse("02.05").expect("category");
            cfg.open311.codes.insert("PT-0205", cat);
        },
    )
    .await;
    let (addr, state) = (srv.addr, srv.state.clone());
    let kiosk = srv.kiosk.clone();
    let key2 = key.clone();
    let (id, token, exact) = blocking(move || {
        let key = key2;
        let get = |path: &str| http(addr, "GET", path, &[], None);
        // Services: every category of the taxonomy and the foreign code.
        let r = get("/open311/v2/services.json");
        assert_eq!(r.status, 200, "{}", r.body);
        let services = r.json();
        let n = services.as_array().expect("services").len();
        assert_eq!(n, geo_core::taxonomy::CATEGORIES.len() + 1, "{}", r.body);
        assert!(services
            .as_array()
            .expect("services")
            .iter()
            .any(|s| s["service_code"] == "PT-0205"));
        let x = get(&format!(
            "/open311/v2/services.xml?jurisdiction_id={JURISDICTION}"
        ));
        assert_eq!(x.status, 200, "{}", x.body);
        assert!(x
            .header("content-type")
            .is_some_and(|c| c.starts_with("application/xml")));
        assert!(
            x.body.contains("<services><service>")
                && x.body.contains("<service_code>01.01</service_code>"),
            "{}",
            x.body
        );
        assert!(
            x.body.contains("<service_name>邻里纠纷</service_name>"),
            "zh names in XML"
        );
        let d = get("/open311/v2/services/02.05.json").json();
        assert_eq!(d["attributes"][0]["code"], "location_detail", "{d}");
        let d = get("/open311/v2/services/PT-0205.xml");
        assert!(
            // The specification's order: service_code, then attributes.
            d.body.contains(
                "<service_definition><service_code>PT-0205</service_code><attributes><attribute>"
            ),
            "{}",
            d.body
        );

        // A leader's view of the town: an exact position inside a grid.
        let (lead, lead_csrf) = login(addr, "leader");
        let ev = http(
            addr,
            "GET",
            "/api/v1/events?limit=1",
            &[("Cookie", &lead)],
            None,
        )
        .json();
        let c = &ev["features"][0]["geometry"]["coordinates"];
        let (lon, lat) = (c[0].as_f64().expect("lon"), c[1].as_f64().expect("lat"));

        // The attacks first: every one refused, nothing filed.
        let body = form(&[
            ("service_code", "02.05"),
            ("lat", &lat.to_string()),
            ("long", &lon.to_string()),
            ("description", "井盖缺失"),
        ]);
        let post = |headers: &[(&str, &str)], b: &str| {
            http(addr, "POST", "/open311/v2/requests.json", headers, Some(b))
        };
        let r = post(&[FORM], &body);
        assert_eq!(r.status, 401, "no api_key: {}", r.body);
        assert_eq!(open311_error(&r).0, 401);
        assert!(
            open311_error(&r).1.starts_with("unauthenticated: "),
            "{}",
            r.body
        );
        let wrong = format!("wgo_000000000000_{}", "0".repeat(64));
        for k in [
            wrong.as_str(),
            "guess",
            &format!("{}x", &key[..key.len() - 1]),
        ] {
            let r = post(&[FORM], &format!("{body}&api_key={}", enc(k)));
            assert_eq!(r.status, 401, "api_key {k:?}: {}", r.body);
        }
        // A kiosk token is no API key, as a key or as a bearer.
        let r = post(&[FORM], &format!("{body}&api_key={}", enc(&kiosk)));
        assert_eq!(r.status, 401, "kiosk token as api_key: {}", r.body);
        let bearer = format!("Bearer {kiosk}");
        let r = post(
            &[FORM, ("Authorization", &bearer)],
            &format!("{body}&api_key={}", enc(&key)),
        );
        assert_eq!(r.status, 403, "kiosk bearer with a key: {}", r.body);
        // A session cookie never authorises a form post, with its CSRF
        // token or without, with a key or without (a cross-site form).
        for (b, csrf) in [
            (body.clone(), false),
            (body.clone(), true),
            (format!("{body}&api_key={}", enc(&key)), true),
        ] {
            let mut h = vec![FORM, ("Cookie", lead.as_str())];
            if csrf {
                h.push(("X-CSRF-Token", lead_csrf.as_str()));
            }
            let r = post(&h, &b);
            assert_eq!(r.status, 403, "cookie form post: {}", r.body);
            assert!(open311_error(&r).1.contains("api_key"), "{}", r.body);
        }
        // The key in a JSON body is not a form.
        let r = post(
            &[("Content-Type", "application/json")],
            &json!({"api_key": key, "service_code": "02.05"}).to_string(),
        );
        assert_eq!(r.status, 415, "JSON body: {}", r.body);
        // The key in the query string is not taken either.
        let r = http(
            addr,
            "POST",
            &format!("/open311/v2/requests.json?api_key={}", enc(&key)),
            &[FORM],
            Some(&body),
        );
        assert_eq!(r.status, 401, "api_key in the URL: {}", r.body);
        let after = http(
            addr,
            "GET",
            "/api/v1/events?limit=1",
            &[("Cookie", &lead)],
            None,
        )
        .json();
        assert_eq!(after["total"], ev["total"], "a refused post filed nothing");

        // Bad fields: each named, in the Open311 form, XML for .xml.
        let with_key = |extra: &[(&str, &str)]| {
            let mut p: Vec<(&str, &str)> = vec![("api_key", key.as_str())];
            p.extend_from_slice(extra);
            form(&p)
        };
        let (la, lo) = (lat.to_string(), lon.to_string());
        for (extra, status, needle) in [
            (
                vec![
                    ("service_code", "99.99"),
                    ("lat", la.as_str()),
                    ("long", lo.as_str()),
                ],
                400,
                "bad_service_code: service_code \"99.99\"",
            ),
            (vec![("service_code", "02.05")], 400, "bad_location"),
            (
                vec![
                    ("service_code", "02.05"),
                    ("lat", "north"),
                    ("long", lo.as_str()),
                ],
                400,
                "lat=\"north\"",
            ),
            (
                vec![
                    ("service_code", "02.05"),
                    ("lat", la.as_str()),
                    ("long", lo.as_str()),
                    ("jurisdiction_id", "elsewhere"),
                ],
                400,
                "bad_jurisdiction: jurisdiction_id \"elsewhere\"",
            ),
            (
                vec![("service_code", "02.05"), ("address_string", "火星路1号")],
                400,
                "bad_address",
            ),
            (
                vec![
                    ("service_code", "02.05"),
                    ("lat", la.as_str()),
                    ("long", lo.as_str()),
                    ("attribute[colour]", "red"),
                ],
                400,
                "attribute[colour]",
            ),
            (
                vec![
                    ("service_code", "02.05"),
                    ("lat", la.as_str()),
                    ("long", lo.as_str()),
                    ("media_url", "file:///etc/passwd"),
                ],
                400,
                "bad_media_url",
            ),
        ] {
            let r = post(&[FORM], &with_key(&extra));
            assert_eq!(r.status, status, "{extra:?}: {}", r.body);
            let (code, desc) = open311_error(&r);
            assert_eq!(code, u64::from(status));
            assert!(desc.contains(needle), "{extra:?}: {desc}");
        }
        let r = http(
            addr,
            "POST",
            "/open311/v2/requests.xml",
            &[FORM],
            Some(&with_key(&[
                ("service_code", "99.99"),
                ("lat", &la),
                ("long", &lo),
            ])),
        );
        assert_eq!(r.status, 400);
        assert!(
            r.body
                .contains("<errors><error><code>400</code><description>bad_service_code: "),
            "{}",
            r.body
        );

        // The post: a foreign code, personal data in the description and
        // the contact fields, an attribute and a photo's URL.
        let b = with_key(&[
            ("jurisdiction_id", JURISDICTION),
            ("service_code", "PT-0205"),
            ("lat", &la),
            ("long", &lo),
            ("description", "路灯不亮，联系张三 13812345678"),
            ("attribute[location_detail]", "3号楼2单元"),
            ("media_url", "https://photos.example/p/1.jpg"),
            ("first_name", "三"),
            ("last_name", "张"),
            ("phone", "13812345678"),
            ("email", "zhang@example.com"),
        ]);
        let r = post(&[FORM], &b);
        assert_eq!(r.status, 201, "{}", r.body);
        let created = r.json();
        let id: u64 = created[0]["service_request_id"]
            .as_str()
            .expect("id")
            .parse()
            .expect("number");
        let token = created[0]["token"].as_str().expect("token").to_string();
        // It entered the intake: grids, handler, deadline, source hotline,
        // the key's actor, as the leader sees it.
        let e = http(
            addr,
            "GET",
            &format!("/api/v1/events/{id}"),
            &[("Cookie", &lead)],
            None,
        );
        assert_eq!(e.status, 200, "{}", e.body);
        let e = e.json();
        assert_eq!(e["category"], "02.05", "{e}");
        assert_eq!(e["source"], "hotline");
        assert_eq!(e["status"], "reported");
        assert!(
            e["handler"].is_string() && e["deadline"].is_string(),
            "dispatched with a deadline: {e}"
        );
        assert!(
            e["grids"]["comprehensive"].is_string(),
            "assigned to a grid: {e}"
        );
        assert!(
            e["timeline"][0]["actor"]
                .as_str()
                .is_some_and(|a| a.starts_with("public:open311:")),
            "{e}"
        );
        let title = e["title"].as_str().unwrap_or("");
        assert!(
            title.contains("路灯不亮")
                && title.contains("3号楼2单元")
                && title.contains("photos.example"),
            "{title}"
        );
        assert!(
            !e.to_string().contains("zhang@example.com"),
            "contact data is not kept: {e}"
        );
        // A family dispute is filed like any request, but no public read
        // shows it: the filer learns its ID from the token, the public gets
        // 404 by ID and never sees it in a list; the leader sees it.
        let b = with_key(&[
            ("jurisdiction_id", JURISDICTION),
            ("service_code", "01.02"),
            ("lat", &la),
            ("long", &lo),
            ("description", "家庭纠纷"),
        ]);
        let r = post(&[FORM], &b);
        assert_eq!(r.status, 201, "{}", r.body);
        let private = r.json();
        let ptoken = private[0]["token"].as_str().expect("token").to_string();
        let pid = private[0]["service_request_id"]
            .as_str()
            .expect("id")
            .to_string();
        let t = http(
            addr,
            "GET",
            &format!("/open311/v2/tokens/{ptoken}.json"),
            &[],
            None,
        );
        assert_eq!(t.status, 200, "{}", t.body);
        assert!(t.body.contains(&pid), "{}", t.body);
        let one = http(
            addr,
            "GET",
            &format!("/open311/v2/requests/{pid}.json"),
            &[],
            None,
        );
        assert_eq!(
            one.status, 404,
            "a private category reads as absent: {}",
            one.body
        );
        let list = http(
            addr,
            "GET",
            &format!("/open311/v2/requests.json?service_request_id={pid},{id}"),
            &[],
            None,
        );
        assert_eq!(list.status, 200, "{}", list.body);
        assert!(
            !list.body.contains(&format!("\"{pid}\"")) && list.body.contains(&format!("\"{id}\"")),
            "{}",
            list.body
        );
        let e = http(
            addr,
            "GET",
            &format!("/api/v1/events/{pid}"),
            &[("Cookie", &lead)],
            None,
        );
        assert_eq!(e.status, 200, "the leader sees it: {}", e.body);
        (id, token, (lon, lat))
    })
    .await
    .expect("posts");

    // Escalation runs over it like any event: a month later it has climbed.
    let later = chrono::Utc::now() + chrono::Duration::days(30);
    let run = web_viewer::service::event_loop::run_escalation(&state, later)
        .await
        .expect("escalation run");
    assert!(
        run.escalated.iter().any(|(e, _)| e.id.get() == id),
        "the Open311 request escalated past its deadline: {:?}",
        run.escalated
            .iter()
            .map(|(e, _)| e.id.get())
            .collect::<Vec<_>>()
    );

    blocking(move || {
        let get = |path: &str| http(addr, "GET", path, &[], None);
        // The public reads: the coarse copy only.
        let one = get(&format!("/open311/v2/requests/{id}.json"));
        assert_eq!(one.status, 200, "{}", one.body);
        let r = &one.json()[0];
        assert_eq!(r["service_request_id"], id.to_string());
        assert_eq!(r["status"], "open");
        assert!(
            r["status_notes"]
                .as_str()
                .is_some_and(|s| s.contains("escalated")),
            "{r}"
        );
        assert_eq!(r["service_code"], "02.05");
        for field in ["description", "address", "agency_responsible", "media_url"] {
            assert!(r[field].is_null(), "{field} is never public: {r}");
        }
        let (clon, clat) = coarse_point(exact.0, exact.1);
        assert_eq!(
            (r["long"].as_f64(), r["lat"].as_f64()),
            (Some(clon), Some(clat)),
            "{r}"
        );
        assert_ne!((clon, clat), exact, "the public place is not the exact one");
        for secret in [
            "路灯不亮",
            "13812345678",
            "张三",
            "3号楼",
            "photos.example",
            "dept:",
        ] {
            assert!(!one.body.contains(secret), "{secret} in {}", one.body);
        }
        assert!(!one.body.contains(&token), "the token is not public");
        let x = get(&format!(
            "/open311/v2/requests.xml?service_request_id={id},999999"
        ));
        assert_eq!(x.status, 200, "{}", x.body);
        assert!(
            x.body.contains("<service_requests><request>")
                && x.body
                    .contains(&format!("<service_request_id>{id}</service_request_id>")),
            "{}",
            x.body
        );
        assert_eq!(
            x.body.matches("<request>").count(),
            1,
            "an unknown ID is left out"
        );
        // Tokens name the request; an altered one is unknown.
        let t = get(&format!("/open311/v2/tokens/{token}.json")).json();
        assert_eq!(t[0]["service_request_id"], id.to_string(), "{t}");
        let bad = format!("{}.json", crate::common::altered(&token));
        assert_eq!(get(&format!("/open311/v2/tokens/{bad}")).status, 404);

        // The list: every request of the window, as the leader counts them;
        // no title, handler, receipt or exact place of any event.
        let (lead, _) = login(addr, "leader");
        let all = http(
            addr,
            "GET",
            "/api/v1/events?limit=10000",
            &[("Cookie", &lead)],
            None,
        )
        .json();
        let feats = all["features"].as_array().expect("events").clone();
        let start = "2026-09-01T00:00:00Z";
        let end = "2026-11-01T00:00:00Z";
        let in_window = |f: &&Value| {
            let t = chrono::DateTime::parse_from_rfc3339(
                f["properties"]["reported_at"].as_str().expect("time"),
            )
            .expect("rfc3339");
            t >= chrono::DateTime::parse_from_rfc3339(start).expect("start")
                && t <= chrono::DateTime::parse_from_rfc3339(end).expect("end")
        };
        // Disputes (01), people services (05) and key persons (06.03) are
        // withheld from the public.
        let public = |f: &&Value| {
            let c = f["properties"]["category"].as_str().unwrap_or("");
            !(c.starts_with("01.") || c.starts_with("05.") || c == "06.03")
        };
        assert!(
            feats.iter().filter(in_window).any(|f| !public(&f)),
            "the window has withheld categories, so the filter is tested"
        );
        let closed: Vec<&Value> = feats
            .iter()
            .filter(in_window)
            .filter(public)
            .filter(|f| {
                matches!(
                    f["properties"]["status"].as_str(),
                    Some("resolved" | "reviewed" | "closed" | "rejected" | "merged")
                )
            })
            .collect();
        let r = get(&format!(
            "/open311/v2/requests.json?status=closed&start_date={start}&end_date={end}"
        ));
        assert_eq!(r.status, 200, "{}", r.body);
        let list = r.json();
        let list = list.as_array().expect("requests");
        assert_eq!(
            list.len(),
            closed.len().min(1000),
            "closed requests of the window"
        );
        assert!(!list.is_empty(), "the demo has closed events in the window");
        assert!(list.iter().all(|x| x["status"] == "closed"));
        let exact: std::collections::HashMap<String, (f64, f64)> = feats
            .iter()
            .map(|f| {
                let c = &f["geometry"]["coordinates"];
                (
                    f["properties"]["id"]
                        .to_string()
                        .trim_matches('"')
                        .to_string(),
                    (c[0].as_f64().unwrap_or(0.0), c[1].as_f64().unwrap_or(0.0)),
                )
            })
            .collect();
        for x in list {
            let id = x["service_request_id"].as_str().expect("id");
            let (lon, lat) = exact[id];
            assert_eq!(
                (x["long"].as_f64(), x["lat"].as_f64()),
                (
                    Some(coarse_point(lon, lat).0),
                    Some(coarse_point(lon, lat).1)
                ),
                "{x}"
            );
        }
        for f in &feats {
            let t = f["properties"]["title"].as_str().unwrap_or("");
            if t.chars().count() >= 4 {
                assert!(!r.body.contains(t), "a title in the public list: {t}");
            }
            if let Some(h) = f["properties"]["handler"].as_str() {
                assert!(
                    !r.body.contains(&format!("\"{h}\"")),
                    "a handler in the public list: {h}"
                );
            }
        }
        assert!(!r.body.contains("receipt") && !r.body.contains("title"));
        // Bad reads, named, in the Open311 form.
        for (path, status, needle) in [
            (
                "/open311/v2/requests.json?status=pending",
                400,
                "status \"pending\"",
            ),
            (
                "/open311/v2/requests.json?start_date=yesterday",
                400,
                "start_date=\"yesterday\"",
            ),
            (
                "/open311/v2/requests.json?start_date=2026-01-01&end_date=2026-12-01",
                400,
                "at most 90 days",
            ),
            (
                "/open311/v2/requests.json?service_code=XX",
                400,
                "service_code \"XX\"",
            ),
            ("/open311/v2/requests.json?colour=red", 400, "colour"),
            (
                "/open311/v2/requests.json?jurisdiction_id=elsewhere",
                400,
                "bad_jurisdiction",
            ),
            ("/open311/v2/requests/abc.json", 400, "\"abc\""),
            ("/open311/v2/requests/999999.json", 404, "999999"),
            ("/open311/v2/services/99.99.json", 404, "99.99"),
            ("/open311/v2/nothing.json", 404, "nothing.json"),
        ] {
            let r = get(path);
            assert_eq!(r.status, status, "{path}: {}", r.body);
            let (code, desc) = open311_error(&r);
            assert_eq!(code, u64::from(status), "{path}");
            assert!(desc.contains(needle), "{path}: {desc}");
        }
        // Neither .xml nor .json: answered in XML, the format the spec requires.
        let r = get("/open311/v2/services.csv");
        assert_eq!(r.status, 400);
        assert!(
            r.body
                .contains("<description>bad_format: &quot;services.csv&quot;"),
            "{}",
            r.body
        );
        let r = get("/open311/v2/services/99.99.xml");
        assert!(
            r.body.contains("<errors><error><code>404</code>"),
            "{}",
            r.body
        );
    })
    .await
    .expect("reads");

    // A revoked key files nothing more.
    let kid = key
        .strip_prefix("wgo_")
        .and_then(|r| r.split('_').next())
        .expect("key id")
        .to_string();
    blocking(move || {
        let (lead, csrf) = login(addr, "leader");
        let r = http(
            addr,
            "POST",
            &format!("/api/v1/tokens/{kid}/revoke"),
            &[
                ("Cookie", &lead),
                ("X-CSRF-Token", &csrf),
                ("Content-Type", "application/json"),
            ],
            Some("{}"),
        );
        assert_eq!(r.status, 200, "revoke: {}", r.body);
        let r = http(
            addr,
            "POST",
            "/open311/v2/requests.json",
            &[FORM],
            Some(&form(&[
                ("api_key", &key),
                ("service_code", "02.05"),
                ("address_string", "x"),
            ])),
        );
        assert_eq!(r.status, 401, "revoked key: {}", r.body);
    })
    .await
    .expect("revocation");
}
