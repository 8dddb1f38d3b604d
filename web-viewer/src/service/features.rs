//! The map elements as GeoJSON features, as each caller may see them: the
//! one place that picks, scopes and shapes the features of a kind, so the
//! JSON API (`GET /api/v1/{kind}`) and the OGC API – Features collections
//! (`routes/ogc`) answer the same features with the same masking.
//!
//! Communities, grids and roads are the map's frame and listed town-wide; a
//! worker's compounds, buildings, units, places (but base-map places outside
//! every community) and organisations are those of its grids; events follow
//! [`Access::may_see_event`] and are coarsened (no title, H3 cell centre) for
//! roles that do not see single events.

use std::ops::Range;

use chrono::{DateTime, Utc};
use geo::{BoundingRect, InteriorPoint};
use geo_core::ids::{BuildingId, GridId};
use geo_core::model::{Event, GridRefs};
use geo_core::store::{EventFilter, Scope};
use serde_json::Value;

use crate::answers::{
    geometry, parts_geometry, BuildingProps, CommunityProps, CompoundProps, Feature, GridProps,
    OrganisationProps, PlaceProps, RoadProps, UnitProps,
};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::present::{coarse_point, coarsen, event_props, in_grids, scrub_event, worker_grids};
use crate::query::ListQuery;
use crate::role::{Access, Role};
use crate::view::TownView;

/// The kinds [`features`] answers.
pub const KINDS: &[&str] = &[
    "communities",
    "grids",
    "compounds",
    "buildings",
    "units",
    "places",
    "organisations",
    "roads",
    "events",
];

/// The grids of an element located by `p`, as ingest assigns them
/// (人进户、户进房、房进格): the point's grid of each level in the view's index.
pub fn refs_at(view: &TownView, p: Option<geo_types::Point<f64>>) -> GridRefs {
    p.map(|p| view.index.grids_at(p.0)).unwrap_or_default()
}

/// The store scope of a caller: a worker's grid codes resolved in the view.
pub fn scope_of(access: &Access, view: &TownView) -> Scope {
    access.scope(|c| {
        view.grid_by_code
            .get(c.as_str())
            .map(|&i| view.dataset.grids[i].id)
    })
}

/// True when an element passes the request's scope (a worker's own grids)
/// and its `grid=` filter; `refs` is only computed when either restricts.
fn visible(scope: &Scope, grid: Option<GridId>, refs: impl FnOnce() -> GridRefs) -> bool {
    if *scope == Scope::Town && grid.is_none() {
        return true;
    }
    let r = refs();
    scope.allows(&r) && in_grid(grid, &r)
}

/// True when `grid` is absent or one of the element's grids (any level).
fn in_grid(grid: Option<GridId>, r: &GridRefs) -> bool {
    grid.is_none_or(|g| [r.comprehensive, r.micro, r.dedicated].contains(&Some(g)))
}

fn in_bbox(b: &Option<[f64; 4]>, r: Option<geo_types::Rect<f64>>) -> bool {
    match (b, r) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some([w, s, e, n]), Some(r)) => {
            r.min().x <= *e && r.max().x >= *w && r.min().y <= *n && r.max().y >= *s
        }
    }
}

/// Whether `e` passes the filter. `coarse`: the caller gets the coarse copy,
/// so the box is tested against the point it is served at (its H3 cell's
/// centre), never the exact place — else counting what falls in small boxes
/// would locate each event to the metre.
fn event_matches(f: &EventFilter, e: &Event, r: &GridRefs, coarse: bool) -> bool {
    if let Some([w, s, ea, n]) = f.bbox {
        let (x, y) = if coarse {
            coarse_point(e.location.x(), e.location.y())
        } else {
            (e.location.x(), e.location.y())
        };
        if x < w || x > ea || y < s || y > n {
            return false;
        }
    }
    if let Some(c) = &f.category {
        if !e.category.code().starts_with(c.as_str()) {
            return false;
        }
    }
    if f.status.as_deref().is_some_and(|s| s != e.status.code())
        || f.source.as_deref().is_some_and(|s| s != e.source.code())
    {
        return false;
    }
    if f.from.is_some_and(|t| e.reported_at < t) || f.to.is_some_and(|t| e.reported_at >= t) {
        return false;
    }
    if let Some(g) = f.grid {
        if ![r.comprehensive, r.micro, r.dedicated].contains(&Some(g)) {
            return false;
        }
    }
    true
}

/// The features of `kind` that `access` may see and that pass the query's
/// filters (`bbox`, `grid`, `kind`, `building`, and for events `category`,
/// `status`, `source`, `from`, `to`), in the list's order (events newest
/// first): how many pass, and those at positions in `window` (all without
/// one) — only those are built. 404 for a kind that is not one of [`KINDS`].
#[allow(clippy::too_many_arguments)]
pub fn features(
    view: &TownView,
    access: &Access,
    scope: &Scope,
    kind: &str,
    q: &ListQuery,
    bbox: Option<[f64; 4]>,
    grid_filter: Option<GridId>,
    now: DateTime<Utc>,
    window: Option<Range<u64>>,
    keep: Option<&dyn Keep>,
) -> AppResult<(u64, Vec<Value>)> {
    let scope = scope.clone();
    let mut feats = Sink {
        total: 0,
        window,
        out: Vec::new(),
        keep: keep.map(|k| (k, k.needs_geometry())),
    };
    match kind {
        "communities" => {
            for c in &view.dataset.communities {
                if !in_bbox(&bbox, c.boundary.bounding_rect()) {
                    continue;
                }
                feats.push(|| geometry(&c.boundary), || CommunityProps::of(c));
            }
        }
        "grids" => {
            let want_kind = q.kind.as_deref().map(geo_core::model::GridKind::parse).transpose()
                .map_err(|e| AppError::bad(ErrorCode::BadKind, e.to_string()))?;
            for g in &view.dataset.grids {
                if want_kind.is_some_and(|k| k != g.kind) || !in_bbox(&bbox, g.boundary.bounding_rect()) {
                    continue;
                }
                if grid_filter.is_some_and(|f| f != g.id && g.parent != Some(f)) {
                    continue;
                }
                feats.push(|| geometry(&g.boundary), || GridProps::of(view, g));
            }
        }
        "compounds" => {
            for c in &view.dataset.compounds {
                if !in_bbox(&bbox, c.boundary.bounding_rect())
                    || !visible(&scope, grid_filter, || refs_at(view, c.boundary.interior_point()))
                {
                    continue;
                }
                feats.push(|| parts_geometry(&c.boundary), || CompoundProps::of(c));
            }
        }
        "buildings" => {
            for b in &view.dataset.buildings {
                if !in_bbox(&bbox, b.footprint.bounding_rect())
                    || !visible(&scope, grid_filter, || refs_at(view, b.footprint.interior_point()))
                {
                    continue;
                }
                feats.push(|| parts_geometry(&b.footprint), || BuildingProps::of(b));
            }
        }
        "units" => {
            let building = q
                .building
                .as_deref()
                .filter(|s| !s.is_empty())
                .map(|s| s.parse::<BuildingId>())
                .transpose()
                .map_err(|e| AppError::bad(ErrorCode::BadId, format!("building: {e}")))?;
            for u in &view.dataset.units {
                if building.is_some_and(|b| b != u.building)
                    || !in_bbox(&bbox, Some(u.entrance.bounding_rect()))
                    || !visible(&scope, grid_filter, || refs_at(view, Some(u.entrance)))
                {
                    continue;
                }
                feats.push(|| geometry(&u.entrance), || UnitProps::of(u));
            }
        }
        "places" => {
            for pl in &view.dataset.places {
                // Places outside every community (rivers, lakes) are base
                // map: every scope sees them, as in the store's scoped reads.
                let shown = (scope == Scope::Town && grid_filter.is_none()) || {
                    let r = refs_at(view, pl.geometry.interior_point());
                    (scope.allows(&r) || r.community.is_none()) && in_grid(grid_filter, &r)
                };
                if !shown || !in_bbox(&bbox, pl.geometry.bounding_rect()) {
                    continue;
                }
                if q.kind.as_deref().is_some_and(|k| k != pl.category.code() && Some(k) != pl.service.map(|s| s.code())) {
                    continue;
                }
                feats.push(|| geometry(&pl.geometry), || PlaceProps::of(pl));
            }
        }
        "organisations" => {
            for o in &view.dataset.organisations {
                if !in_bbox(&bbox, o.geometry.bounding_rect())
                    || !visible(&scope, grid_filter, || refs_at(view, o.geometry.interior_point()))
                {
                    continue;
                }
                if q.kind.as_deref().is_some_and(|k| k != o.kind.code()) {
                    continue;
                }
                feats.push(|| geometry(&o.geometry), || OrganisationProps::of(o));
            }
        }
        "roads" => {
            for r in &view.dataset.roads {
                if !in_bbox(&bbox, r.line.bounding_rect()) {
                    continue;
                }
                feats.push(|| geometry(&r.line), || RoadProps::of(r));
            }
        }
        "events" => {
            let f = q.event_filter(view)?;
            let want_open = q.status.as_deref() == Some("open");
            let want_overdue = q.status.as_deref() == Some("overdue");
            let mine = worker_grids(access, view);
            // Newest first: the view keeps that order, so a page costs a
            // walk of the town's events (the count) and its own features —
            // and when nothing filters (the whole town, no filter, a role
            // that sees every event), not even the walk: the count is the
            // town's and the page is a slice of the order.
            let order: &[usize] = &view.events_newest;
            let every = scope == Scope::Town
                && f == EventFilter::default()
                && !want_open
                && !want_overdue
                && feats.keep.is_none()
                && (!access.role.sees_single_events() || access.role == Role::Leader);
            let walk = match (&feats.window, every) {
                (Some(w), true) => {
                    let at = |n: u64| usize::try_from(n).unwrap_or(usize::MAX).min(order.len());
                    let (from, to) = (at(w.start), at(w.end));
                    feats.total = from as u64;
                    &order[from..to.max(from)]
                }
                _ => order,
            };
            for &i in walk {
                let (e, r) = (&view.dataset.events[i], &view.event_refs[i]);
                let coarse = !access.role.sees_single_events();
                if !scope.allows(r) || !event_matches(&f, e, r, coarse) {
                    continue;
                }
                if (want_open && !e.status.is_open()) || (want_overdue && !e.is_overdue(now)) {
                    continue;
                }
                if access.role.sees_single_events()
                    && !access.may_see_event(e.handler.as_deref(), in_grids(&mine, r))
                {
                    continue;
                }
                // A role that does not see single events gets the coarse
                // copy: its H3 cell's centre and no title.
                let sees = access.role.sees_single_events();
                let at = if sees {
                    e.location
                } else {
                    let (lon, lat) = coarse_point(e.location.x(), e.location.y());
                    geo_types::Point::new(lon, lat)
                };
                feats.push(
                    || geometry(&at),
                    || {
                        let mut props = event_props(view, e, r, now);
                        if sees {
                            scrub_event(access.reveals(), view.names_of(e), &mut props);
                            props
                        } else {
                            coarsen(props)
                        }
                    },
                );
            }
            if every {
                feats.total = order.len() as u64;
            }
        }
        other => {
            return Err(AppError::NotFound(format!(
                "unknown element kind {other:?}; expected communities, grids, compounds, buildings, units, households, persons, places, events, sentiments, organisations or roads"
            )))
        }
    }
    Ok((feats.total, feats.out))
}

/// A filter over the caller's own copy of each feature (the OGC API's
/// property equalities and CQL2): [`features`] runs it on each feature the
/// caller may see before counting it, on the properties alone unless it
/// reads the geometry, so a filtered page costs the properties of the
/// town's features and the geometry of the page's.
pub trait Keep: Sync {
    /// True when `feature` (a GeoJSON feature of the caller's copy; its
    /// `geometry` null unless [`Keep::needs_geometry`]) passes.
    fn keeps(&self, feature: &Value) -> bool;
    /// True when the filter reads the geometry (a spatial predicate).
    fn needs_geometry(&self) -> bool;
}

/// Counts the features that pass (the filter, when there is one) and builds
/// only those of the window: a page of a large list costs its page, not the
/// whole list.
struct Sink<'k> {
    total: u64,
    window: Option<Range<u64>>,
    out: Vec<Value>,
    /// The filter, and whether it reads the geometry (asked once a request,
    /// not once a feature).
    keep: Option<(&'k dyn Keep, bool)>,
}

impl Sink<'_> {
    fn in_window(&self) -> bool {
        self.window.as_ref().is_none_or(|w| w.contains(&self.total))
    }

    fn push<P: serde::Serialize>(
        &mut self,
        geometry: impl FnOnce() -> geojson::Geometry,
        properties: impl FnOnce() -> P,
    ) {
        let Some((keep, needs)) = self.keep else {
            if self.in_window() {
                self.out.push(
                    Feature {
                        kind: "Feature",
                        geometry: geometry(),
                        properties: properties(),
                    }
                    .to_value(),
                );
            }
            self.total += 1;
            return;
        };
        let mut geometry = Some(geometry);
        let mut shape = || {
            geometry.take().map_or(Value::Null, |g| {
                serde_json::to_value(g()).unwrap_or(Value::Null)
            })
        };
        let mut f = serde_json::json!({
            "type": "Feature",
            "geometry": if needs { shape() } else { Value::Null },
            "properties": serde_json::to_value(properties()).unwrap_or(Value::Null),
        });
        if !keep.keeps(&f) {
            return;
        }
        if self.in_window() {
            if !needs {
                f["geometry"] = shape();
            }
            self.out.push(f);
        }
        self.total += 1;
    }
}
