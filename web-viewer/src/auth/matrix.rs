//! The access matrix: which roles may call which route, and in what scope.
//! [`crate::auth::guard`] enforces the role column on every request; the
//! handlers enforce the scope (a worker's grids, a department's events) and
//! answer 404 for what lies outside it. `docs/api.md` carries the table
//! [`render`] makes, and a test fails when a route of the router has no row
//! or the document drifts.

use crate::role::Role;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    /// Anyone, signed in or not.
    Anyone,
    /// These signed-in roles.
    Roles(&'static [Role]),
    /// An Open311 client: a form post with its `api_key` and no other
    /// credential (no session cookie, so no CSRF through it).
    ApiKey,
}

/// One row of the matrix.
#[derive(Debug, Clone, Copy)]
pub struct Row {
    /// HTTP method.
    pub method: &'static str,
    /// Route pattern as the router declares it.
    pub path: &'static str,
    /// Who may call it.
    pub who: Who,
    /// What each role sees (documentation).
    pub scope: &'static str,
    /// A page: the unauthenticated are sent to `/login` instead of a 401.
    pub page: bool,
    /// A write whose body is a file (a photo) with its own content type,
    /// checked by the handler, instead of JSON; CSRF is still required.
    pub raw_body: bool,
}

const SIGNED_IN: &[Role] = &[
    Role::Leader,
    Role::Planner,
    Role::Screen,
    Role::Worker,
    Role::Department,
];
const HANDLERS: &[Role] = &[Role::Leader, Role::Worker, Role::Department];
const ANALYSTS: &[Role] = &[Role::Leader, Role::Planner];
const AGGREGATES: &[Role] = &[Role::Leader, Role::Planner, Role::Screen];
const LEADER_DEPT: &[Role] = &[Role::Leader, Role::Department];
const LEADERS: &[Role] = &[Role::Leader];
const PEOPLE: &[Role] = &[Role::Leader, Role::Worker];

const fn row(method: &'static str, path: &'static str, who: Who, scope: &'static str) -> Row {
    Row {
        method,
        path,
        who,
        scope,
        page: false,
        raw_body: false,
    }
}

const fn upload(path: &'static str, who: Who, scope: &'static str) -> Row {
    Row {
        method: "POST",
        path,
        who,
        scope,
        page: false,
        raw_body: true,
    }
}

const fn page(path: &'static str, who: Who, scope: &'static str) -> Row {
    Row {
        method: "GET",
        path,
        who,
        scope,
        page: true,
        raw_body: false,
    }
}

/// Every route of the router.
pub const ROWS: &[Row] = &[
    row("GET", "/healthz", Who::Anyone, "status and schema version only"),
    page("/login", Who::Anyone, "the log-in page"),
    row("GET", "/assets/{*path}", Who::Anyone, "the pages' static files"),
    row("GET", "/glyphs/{fontstack}/{range}", Who::Anyone, "font glyphs"),
    page("/", Who::Roles(SIGNED_IN), "the viewer; what it shows follows the API below"),
    page("/admin", Who::Roles(LEADERS), "accounts and kiosk tokens: add, disable, enable, new password, revoke"),
    page("/dashboard", Who::Roles(ANALYSTS), "indicators per community, grid or worker (leaders) as a ranking table and a choropleth, Excel download of the table, emerging hotspots with their events"),
    page("/inbox", Who::Roles(HANDLERS), "my events (我的事件): the inbox and the event loop's moves; what it shows follows the API below"),
    page("/household", Who::Roles(PEOPLE), "一户一档: a household's file (`?id=`), or the worker's overdue visits"),
    page("/screen", Who::Roles(SIGNED_IN), "the big screen (a kiosk token signs it in)"),
    page("/embed", Who::Roles(SIGNED_IN), "the embeddable map (kiosk token as `?token=`)"),
    row("GET", "/ogc", Who::Anyone, "OGC API – Features landing page: links only, no data"),
    row("GET", "/ogc/", Who::Anyone, "the landing page again (clients such as OWSLib add the slash)"),
    row("GET", "/ogc/conformance", Who::Anyone, "the conformance classes"),
    row("GET", "/ogc/api", Who::Anyone, "the OpenAPI 3.0 document: every collection's query parameters, no data"),
    row("GET", "/ogc/collections", Who::Roles(SIGNED_IN), "the collections (communities, grids, compounds, buildings, places, roads, events) and the town's extent"),
    row("GET", "/ogc/collections/{collection}", Who::Roles(SIGNED_IN), "one collection"),
    row("GET", "/ogc/collections/{collection}/queryables", Who::Roles(SIGNED_IN), "the properties the items filter on"),
    row("GET", "/ogc/collections/{collection}/items", Who::Roles(SIGNED_IN), "features as `GET /api/v1/{kind}` shows them: worker own grids (communities, grids, roads town-wide); events leader all, worker own grids, department dispatched to it, planner and screen without title and exact place"),
    row("GET", "/ogc/collections/{collection}/items/{feature}", Who::Roles(SIGNED_IN), "one feature as in the items; out of the caller's scope 404, as if absent"),
    row("GET", "/open311/v2/{file}", Who::Anyone, "Open311 GeoReport v2 `services.{xml,json}` (the taxonomy, zh and en, and the configured foreign codes) and `requests.{xml,json}`: the coarse copy of events of public-facing categories (category, status, times; place at the centre of its H3 cell; no description, address, handler or receipt; disputes, people services and key persons withheld)"),
    Row { method: "POST", path: "/open311/v2/{file}", who: Who::ApiKey, scope: "`requests.{xml,json}`: file a request (form-encoded with the client's `api_key`, `wangge token add --role open311`; no cookie, no other credential) through the intake, as the key's source", page: false, raw_body: false },
    row("GET", "/open311/v2/services/{file}", Who::Anyone, "one service's definition (its attributes)"),
    row("GET", "/open311/v2/requests/{file}", Who::Anyone, "one request: the coarse copy, as in the list (404 for a withheld category)"),
    row("GET", "/open311/v2/tokens/{file}", Who::Anyone, "the request ID of a token (the receipt a post answered)"),
    row("GET", "/style.json", Who::Roles(SIGNED_IN), "the map style"),
    row("GET", "/tiles/{file}", Who::Roles(SIGNED_IN), "TileJSON"),
    row("GET", "/tiles/{layer}/{z}/{x}/{y}", Who::Roles(SIGNED_IN), "tiles; events aggregated (k-anonymous) for planner and screen, `Cache-Control: private`"),
    row("POST", "/api/v1/session", Who::Anyone, "log in (name, password): sets the session cookie"),
    row("GET", "/api/v1/session", Who::Anyone, "who am I (401 when not signed in) and the CSRF token"),
    row("DELETE", "/api/v1/session", Who::Anyone, "log out"),
    row("POST", "/api/v1/session/kiosk", Who::Anyone, "exchange a kiosk token for a read-only screen session"),
    row("GET", "/api/v1/accounts", Who::Roles(LEADERS), "accounts and kiosk tokens (no hashes, no secrets)"),
    row("POST", "/api/v1/accounts", Who::Roles(LEADERS), "add an account; its random password is answered once; audited"),
    row("POST", "/api/v1/accounts/{name}/{action}", Who::Roles(LEADERS), "disable, enable, or reset the password (answered once); ends the account's sessions; audited"),
    row("POST", "/api/v1/tokens/{id}/revoke", Who::Roles(LEADERS), "revoke a kiosk token now; its screens are signed out; audited"),
    row("GET", "/api/v1/info", Who::Roles(SIGNED_IN), "counts; a worker's are of their grids"),
    row("GET", "/api/v1/kpi", Who::Roles(SIGNED_IN), "town figures (aggregates)"),
    row("GET", "/api/v1/search", Who::Roles(SIGNED_IN), "grids, communities, compounds and building addresses by name (never people)"),
    row("GET", "/api/v1/heatmap", Who::Roles(SIGNED_IN), "H3 counts; k-anonymous with restricted filters for roles without reveal"),
    row("GET", "/api/v1/stream/events", Who::Roles(SIGNED_IN), "events as the caller may see them: leader all, worker own grids, department dispatched to it, planner and screen without title and exact place"),
    row("GET", "/api/v1/grids/versions", Who::Roles(SIGNED_IN), "grid history (who adopted, when, why)"),
    row("GET", "/api/v1/grids/sentiment", Who::Roles(SIGNED_IN), "民情 per comprehensive grid: households with open needs, overdue visits, risk tags (counts below k suppressed for roles without people)"),
    row("GET", "/api/v1/grids/versions/{version}", Who::Roles(SIGNED_IN), "grids of a version"),
    row("GET", "/api/v1/grids/{code}", Who::Roles(SIGNED_IN), "grid figures (aggregates)"),
    row("GET", "/api/v1/buildings/{id}", Who::Roles(SIGNED_IN), "building figures; households for leader and worker in scope"),
    row("GET", "/api/v1/households/{id}/file", Who::Roles(PEOPLE), "leader any; worker in own grids, else 404; members masked unless revealed with a reason (audited)"),
    row("POST", "/api/v1/households/{id}/visits", Who::Roles(PEOPLE), "as for the file; actor = the account; audited"),
    upload("/api/v1/visits/{id}/photos", Who::Roles(PEOPLE), "a visit of a household in scope (leader any; worker own grids), else 404; the raw JPEG or PNG body (10 MiB at most), re-encoded without EXIF (GPS included); actor = the account; audited"),
    row("GET", "/api/v1/visits/{id}/photos/{photo}", Who::Roles(PEOPLE), "as for adding; audited"),
    row("GET", "/api/v1/visits/{id}/photos/{photo}/thumb", Who::Roles(PEOPLE), "as for adding (320 px thumbnail); audited"),
    row("POST", "/api/v1/needs/{id}/close", Who::Roles(PEOPLE), "leader any; worker needs of households in own grids, else 404; audited"),
    row("GET", "/api/v1/visits/overdue", Who::Roles(PEOPLE), "overdue visits of the care lists: leader town, worker own grids; counted per grid"),
    row("GET", "/api/v1/events/{id}", Who::Roles(HANDLERS), "leader any; worker in own grids; department dispatched to it as lead or assisting; else 404"),
    row("POST", "/api/v1/events/{id}/transition", Who::Roles(HANDLERS), "leader any; worker in own grids; the lead department (an assisting one: 403); else 404; `assisting` on dispatch; actor = the account"),
    row("POST", "/api/v1/events/{id}/notes", Who::Roles(HANDLERS), "as for reading (assisting departments too); the status does not change; actor = the account"),
    upload("/api/v1/events/{id}/photos", Who::Roles(HANDLERS), "as for reading; the raw JPEG or PNG body (10 MiB at most), re-encoded without EXIF (GPS included); actor = the account"),
    row("GET", "/api/v1/events/{id}/photos/{photo}", Who::Roles(HANDLERS), "as for reading the event; audited"),
    row("GET", "/api/v1/events/{id}/photos/{photo}/thumb", Who::Roles(HANDLERS), "as for reading the event (320 px thumbnail); audited"),
    row("POST", "/api/v1/events/{id}/merge", Who::Roles(HANDLERS), "as for reading, both events"),
    row("GET", "/api/v1/alerts", Who::Roles(AGGREGATES), "the town's overdue and red open events, open escalations and the latest week's emerging hotspots (aggregates), most urgent first; the coarse copy (no title, handler or exact place) for planner and screen"),
    row("GET", "/api/v1/inbox", Who::Roles(HANDLERS), "my events, most urgent first, with counts per status: worker own grids; department dispatched to it; leader the town; titles scrubbed"),
    row("POST", "/api/v1/escalate", Who::Roles(LEADER_DEPT), "escalate red and overdue events now"),
    row("GET", "/api/v1/receipts/{receipt}", Who::Anyone, "status and timeline of one report, no personal data"),
    row("GET", "/api/v1/events", Who::Roles(SIGNED_IN), "leader all; worker own grids; department dispatched to it; planner and screen without title and exact place"),
    row("POST", "/api/v1/events", Who::Anyone, "intake; the server sets grade and source for the public"),
    row("POST", "/api/v1/regrid", Who::Roles(ANALYSTS), "start a re-gridding job (owned by the caller)"),
    row("GET", "/api/v1/regrid/{job}", Who::Roles(ANALYSTS), "the caller's own jobs (leaders: all)"),
    row("POST", "/api/v1/regrid/{job}/cancel", Who::Roles(ANALYSTS), "cancel the caller's own running job (leaders: all)"),
    row("POST", "/api/v1/regrid/{job}/adopt", Who::Roles(ANALYSTS), "adopt the caller's own job (leaders: all); actor = the account"),
    row("GET", "/api/v1/indicators", Who::Roles(AGGREGATES), "indicators (aggregates; `level=worker` names workers: leaders only; `format=csv` or `xlsx` downloads the rows, `rank=` the ranked table as shown)"),
    row("GET", "/api/v1/hotspots", Who::Roles(AGGREGATES), "emerging hotspots (aggregates)"),
    row("GET", "/api/v1/coverage", Who::Roles(AGGREGATES), "15-minute coverage (aggregates)"),
    upload("/api/v1/imports", Who::Roles(LEADERS), "import a file (the raw body; never a form's content type) as `wangge import` does, options in the query; town-wide, all or nothing; `--import-limit-mib`; answers the summary of `wangge import --json`; 422 lists the problems, nothing stored; audited with the account"),
    row("POST", "/api/v1/persons/lookup", Who::Roles(PEOPLE), "people by ID number (in the body, never the URL); worker: own grids, masked unless revealed with a reason; every look-up audited"),
    row("GET", "/api/v1/{kind}", Who::Roles(SIGNED_IN), "GeoJSON of a kind; people, households and sentiments for leader and worker only (worker: own grids), masked unless revealed with a reason"),
];

/// How well `pattern` matches `path`: `None` when it does not, else the
/// number of literal segments (the most specific row wins).
fn score(pattern: &str, path: &str) -> Option<usize> {
    let mut lit = 0;
    let mut ps = path.split('/');
    for seg in pattern.split('/') {
        if seg.starts_with("{*") {
            return Some(lit);
        }
        let p = ps.next()?;
        if seg.starts_with('{') {
            if p.is_empty() {
                return None;
            }
        } else if seg == p {
            lit += 1;
        } else {
            return None;
        }
    }
    ps.next().is_none().then_some(lit)
}

/// The row of a request; `None` when no route matches (the router answers
/// 404 or 405). `HEAD` is looked up as `GET`.
pub fn lookup(method: &str, path: &str) -> Option<&'static Row> {
    let method = if method == "HEAD" { "GET" } else { method };
    ROWS.iter()
        .filter(|r| r.method == method)
        .filter_map(|r| score(r.path, path).map(|s| (s, r)))
        .max_by_key(|(s, _)| *s)
        .map(|(_, r)| r)
}

/// The Markdown table of the matrix (in `docs/api.md`).
pub fn render() -> String {
    let mut out = String::from("| method | route | ");
    for r in Role::ALL {
        out.push_str(r.name());
        out.push_str(" | ");
    }
    out.push_str("scope |\n|---|---|");
    for _ in Role::ALL {
        out.push_str(":-:|");
    }
    out.push_str("---|\n");
    for row in ROWS {
        out.push_str(&format!("| {} | `{}` | ", row.method, row.path));
        for r in Role::ALL {
            let cell = match row.who {
                Who::Anyone => "✓ | ",
                Who::Roles(rs) if rs.contains(&r) => "✓ | ",
                Who::Roles(_) => "– | ",
                Who::ApiKey if r == Role::Public => "key | ",
                Who::ApiKey => "– | ",
            };
            out.push_str(cell);
        }
        out.push_str(row.scope);
        out.push_str(" |\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(method, path)` of every route `app.rs` declares, read from its source.
    fn declared_routes() -> Vec<(String, String)> {
        let src = include_str!("../app.rs");
        let api_start = src.find("let api = Router::new()").expect("the api router");
        let api_end = api_start + src[api_start..].find(';').expect("end of the api router");
        let mut out = Vec::new();
        for (i, _) in src.match_indices(".route(") {
            let after = &src[i + 7..];
            let q = after.find('"').expect("a route path literal");
            let rest = &after[q + 1..];
            let path = &rest[..rest.find('"').expect("a route path literal")];
            let end = [".route(", ".layer(", ".fallback(", ".nest("]
                .iter()
                .filter_map(|m| rest.find(m))
                .min()
                .unwrap_or(rest.len());
            let body = &rest[..end];
            let prefix = if (api_start..api_end).contains(&i) {
                "/api/v1"
            } else {
                ""
            };
            let full = if path == "/" && !prefix.is_empty() {
                prefix.to_string()
            } else {
                format!("{prefix}{path}")
            };
            for m in ["get", "post", "delete", "put", "patch"] {
                let called = body.match_indices(&format!("{m}(")).any(|(j, _)| {
                    j == 0
                        || !body.as_bytes()[j - 1].is_ascii_alphanumeric()
                            && body.as_bytes()[j - 1] != b'_'
                });
                if called {
                    out.push((m.to_ascii_uppercase(), full.clone()));
                }
            }
        }
        out
    }

    #[test]
    fn every_route_has_exactly_one_row_and_every_row_a_route() {
        let routes = declared_routes();
        assert!(
            routes.len() >= 30,
            "read only {} routes from app.rs",
            routes.len()
        );
        for (m, p) in &routes {
            let n = ROWS.iter().filter(|r| r.method == m && r.path == p).count();
            assert_eq!(
                n, 1,
                "route {m} {p}: {n} rows in the access matrix (add one to matrix.rs)"
            );
        }
        for r in ROWS {
            assert!(
                routes.iter().any(|(m, p)| m == r.method && p == r.path),
                "matrix row {} {} names no route of app.rs",
                r.method,
                r.path
            );
        }
    }

    #[test]
    fn docs_api_md_carries_the_matrix() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/api.md");
        let doc = std::fs::read_to_string(path).expect("docs/api.md");
        const START: &str = "<!-- matrix:start -->\n";
        let start = doc.find(START).expect("matrix start marker") + START.len();
        let end = doc.find("<!-- matrix:end -->").expect("matrix end marker");
        if std::env::var_os("WANGGE_BLESS").is_some() {
            let new = format!("{}{}{}", &doc[..start], render(), &doc[end..]);
            std::fs::write(path, new).expect("write docs/api.md");
            return;
        }
        assert_eq!(
            &doc[start..end],
            render(),
            "docs/api.md's access matrix differs from matrix.rs: paste render()'s output between the markers"
        );
    }

    #[test]
    fn the_most_specific_row_wins() {
        assert_eq!(
            lookup("GET", "/api/v1/grids/versions").map(|r| r.path),
            Some("/api/v1/grids/versions")
        );
        assert_eq!(
            lookup("GET", "/api/v1/grids/440305001001").map(|r| r.path),
            Some("/api/v1/grids/{code}")
        );
        assert_eq!(
            lookup("GET", "/api/v1/persons").map(|r| r.path),
            Some("/api/v1/{kind}")
        );
        assert_eq!(
            lookup("GET", "/api/v1/events").map(|r| r.path),
            Some("/api/v1/events")
        );
        assert_eq!(
            lookup("HEAD", "/assets/a/b.js").map(|r| r.path),
            Some("/assets/{*path}")
        );
        assert_eq!(lookup("POST", "/api/v1/persons").map(|r| r.path), None);
        assert!(lookup("GET", "/nothing/here/at/all").is_none());
    }
}
