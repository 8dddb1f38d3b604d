//! "My events" (`GET /api/v1/inbox`): the events a caller works on — a
//! worker's grids, a department's dispatched events (as lead, or assisting:
//! marked, without moves), the whole town for a leader — most urgent first, with counts per status and the handlers an
//! event may be dispatched to. The page `/inbox` is built on it.

use std::collections::BTreeMap;

use analytics::events::dispatch::Handler;
use axum::extract::{Query, State};
use axum::Json;
use geo_core::model::EventStatus;
use serde::Deserialize;

use crate::error::{AppError, AppResult, ErrorCode};
use crate::present::{
    allowed_moves, in_grids, sla_rank, worker_grids, Inbox, InboxItem, Located, Sla,
};
use crate::role::{Access, Role};
use crate::service::report::{self, HotspotRow};
use crate::state::AppState;

/// Most events one answer holds.
const MAX_LIMIT: usize = 1000;
/// Events one answer holds when `limit=` is not given.
const DEFAULT_LIMIT: usize = 200;

/// Query of `GET /api/v1/inbox`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InboxQuery {
    /// Comma-separated statuses to list; default the open ones (not closed,
    /// rejected or merged); `all` for every status.
    status: Option<String>,
    /// Most events answered (1..=1000, default 200).
    limit: Option<usize>,
}

impl InboxQuery {
    fn statuses(&self) -> Result<Vec<EventStatus>, AppError> {
        match self.status.as_deref().map(str::trim) {
            None | Some("") => Ok(EventStatus::ALL
                .iter()
                .copied()
                .filter(|s| {
                    !matches!(
                        s,
                        EventStatus::Closed | EventStatus::Rejected | EventStatus::Merged
                    )
                })
                .collect()),
            Some("all") => Ok(EventStatus::ALL.to_vec()),
            Some(list) => list
                .split(',')
                .map(|s| {
                    EventStatus::parse(s.trim())
                        .map_err(|e| AppError::bad(ErrorCode::BadStatus, e.to_string()))
                })
                .collect(),
        }
    }

    fn limit(&self) -> Result<usize, AppError> {
        match self.limit {
            None => Ok(DEFAULT_LIMIT),
            Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            Some(n) => Err(AppError::bad(
                ErrorCode::BadLimit,
                format!("limit={n}: must be 1..={MAX_LIMIT}"),
            )),
        }
    }
}

/// The handlers of the dispatch rules (leads, assistants, fallback and the
/// department of last resort) after the three levels, without repeats.
fn handlers(st: &AppState) -> Vec<String> {
    let rules = &st.0.rules;
    let mut out: Vec<String> = ["grid", "community", "town"].map(String::from).to_vec();
    let all = rules
        .rules
        .iter()
        .flat_map(|r| std::iter::once(&r.handler).chain(r.assist.iter()))
        .chain([&rules.fallback, &rules.escalation_department]);
    let mut depts: Vec<String> = all
        .filter(|h| matches!(h, Handler::Department(_)))
        .map(Handler::code)
        .collect();
    depts.sort();
    depts.dedup();
    out.extend(depts);
    out
}

/// `GET /api/v1/inbox?status=&limit=`: the caller's events (worker: own
/// grids; department: dispatched to it as lead or assisting; leader: the town), sorted overdue,
/// red, yellow, green, then by deadline; titles scrubbed of personal data.
pub async fn inbox(
    State(st): State<AppState>,
    access: Access,
    Query(q): Query<InboxQuery>,
) -> AppResult<Json<Inbox>> {
    if !matches!(access.role, Role::Leader | Role::Worker | Role::Department) {
        return Err(AppError::Forbidden(
            "the inbox is of workers, departments and leaders".into(),
        ));
    }
    let wanted = q.statuses()?;
    let limit = q.limit()?;
    let now = st.now();
    // The events the caller's department assists (seen, not moved).
    let assisted: std::collections::HashSet<u64> = match access.department() {
        Some(d) if access.role == Role::Department => {
            let d = d.to_string();
            st.with_store(move |s| Ok(s.assisted_by(&d)?))
                .await?
                .into_iter()
                .collect()
        }
        _ => Default::default(),
    };
    let view = st.view()?;
    let mine = worker_grids(&access, &view);
    let mut counts: BTreeMap<&'static str, u64> =
        EventStatus::ALL.iter().map(|s| (s.code(), 0)).collect();
    let mut total = 0;
    let mut items: Vec<InboxItem> = Vec::new();
    for (i, e) in view.dataset.events.iter().enumerate() {
        let refs = &view.event_refs[i];
        let lead = access.may_see_event(e.handler.as_deref(), in_grids(&mine, refs));
        let assisting = !lead && assisted.contains(&e.id.get());
        if !lead && !assisting {
            continue;
        }
        total += 1;
        *counts.entry(e.status.code()).or_default() += 1;
        if !wanted.contains(&e.status) {
            continue;
        }
        let mut event = Located::of(&view, e, refs, now);
        let title = geo_core::ids::scrub_text(&event.props.title);
        event.props.title = geo_core::ids::scrub_names(&title, view.names_of(e));
        items.push(InboxItem {
            event,
            sla: Sla::of(&st.0.rules, e, now),
            allowed: if assisting {
                Vec::new()
            } else {
                allowed_moves(e.status)
            },
            assisting,
        });
    }
    drop(view);
    items.sort_by(|a, b| {
        let deadline = |x: &InboxItem| x.sla.as_ref().map(|s| s.deadline.clone());
        sla_rank(a.sla.as_ref())
            .cmp(&sla_rank(b.sla.as_ref()))
            .then_with(|| {
                let (da, db) = (deadline(a), deadline(b));
                // Events with a deadline before those without one.
                da.is_none().cmp(&db.is_none()).then(da.cmp(&db))
            })
            .then(a.event.props.id.cmp(&b.event.props.id))
    });
    let matched = items.len() as u64;
    items.truncate(limit);
    let (scope, of) = match access.role {
        Role::Worker => (
            "grids",
            access
                .grid_codes
                .iter()
                .map(|g| g.as_str().to_string())
                .collect(),
        ),
        Role::Department => (
            "department",
            access.department().into_iter().map(String::from).collect(),
        ),
        _ => ("town", Vec::new()),
    };
    Ok(Json(Inbox {
        scope,
        of,
        counts,
        total,
        matched,
        handler_names: st
            .0
            .rules
            .departments
            .iter()
            .map(|(d, n)| (format!("dept:{d}"), n.clone()))
            .collect(),
        events: items,
        handlers: handlers(&st),
    }))
}

/// Most events `GET /api/v1/alerts` lists.
const ALERT_ITEMS: usize = 50;

/// One alert: an open event past or near its deadline, or escalated, as the
/// caller may see it (the coarse copy for planners and the screen: no
/// title, no handler, its place moved to its H3 cell's centre).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Alert {
    /// The event as the caller may see it (with `lon`/`lat`).
    #[serde(flatten)]
    pub event: serde_json::Map<String, serde_json::Value>,
    /// Its time-limit state.
    pub sla: Option<Sla>,
}

/// `GET /api/v1/alerts`: what the command centre acts on.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Alerts {
    /// Open events by traffic light: `overdue`, `red`, `yellow`.
    pub counts: BTreeMap<&'static str, u64>,
    /// Overdue and red events, most urgent first (at most 50).
    pub red: Vec<Alert>,
    /// Escalated events still open, newest report first (at most 50).
    pub escalated: Vec<Alert>,
    /// Monday (local) of the week the hotspots are of: the latest week
    /// holding an event, or the week before when the latest has no hotspot
    /// yet; `null` when there is no event.
    pub hotspot_week: Option<String>,
    /// Emerging hotspots of that week (aggregates: an H3 cell, a category,
    /// counts), most significant first (at most 10), as
    /// `GET /api/v1/hotspots` answers them.
    pub hotspots: Vec<HotspotRow>,
}

/// Most hotspots `GET /api/v1/alerts` lists.
const ALERT_HOTSPOTS: usize = 10;

/// The emerging hotspots (H3 resolution 9, UTC+8) of the latest week
/// holding an event, or of the week before when the latest (a week just
/// begun) has none yet.
async fn latest_hotspots(st: &AppState) -> AppResult<(Option<String>, Vec<HotspotRow>)> {
    let offset = 8;
    let events = st.view()?.dataset.events.clone();
    let Some(latest) = report::latest_week(&events, offset) else {
        return Ok((None, Vec::new()));
    };
    let params = report::hotspot_params(9, offset).map_err(AppError::Internal)?;
    let (week, hs) = tokio::task::spawn_blocking(move || {
        let mut out = (latest, Vec::new());
        for week in [latest, report::Week(latest.0 - 1)] {
            let hs = report::hotspots_of(&events, None, Some(week), &params)?;
            out = (week, hs);
            if !out.1.is_empty() {
                break;
            }
        }
        Ok::<_, analytics::hotspots::HotspotError>(out)
    })
    .await
    .map_err(|e| AppError::Internal(format!("hotspot task failed: {e}")))?
    .map_err(|e| AppError::Internal(e.to_string()))?;
    let mut rows = report::hotspot_rows(&hs, offset);
    rows.truncate(ALERT_HOTSPOTS);
    Ok((
        Some(report::week_start_date(week, offset).to_string()),
        rows,
    ))
}

/// `GET /api/v1/alerts`: the town's overdue and red events, its open
/// escalations and the latest week's emerging hotspots, for the big screen
/// and the leaders (aggregate roles; the screen and planners get each
/// event's coarse copy).
pub async fn alerts(State(st): State<AppState>, access: Access) -> AppResult<Json<Alerts>> {
    let (hotspot_week, hotspots) = latest_hotspots(&st).await?;
    let now = st.now();
    let view = st.view()?;
    let mut counts: BTreeMap<&'static str, u64> =
        ["overdue", "red", "yellow"].map(|l| (l, 0)).into();
    let mut red: Vec<(u8, String, Alert)> = Vec::new();
    let mut escalated: Vec<(i64, Alert)> = Vec::new();
    for (i, e) in view.dataset.events.iter().enumerate() {
        if !e.status.is_open() {
            continue;
        }
        let sla = Sla::of(&st.0.rules, e, now);
        let level = sla.as_ref().map_or("none", |s| s.level);
        if let Some(n) = counts.get_mut(level) {
            *n += 1;
        }
        let urgent = matches!(level, "overdue" | "red");
        let up = e.status == EventStatus::Escalated;
        if !urgent && !up {
            continue;
        }
        let refs = &view.event_refs[i];
        // Free text scrubbed of ID numbers, phones and the reporting
        // household's names, as in the stream's replay.
        let mut m = crate::present::to_map(&Located::of(&view, e, refs, now));
        crate::present::scrub_event(false, view.names_of(e), &mut m);
        let Some(event) = crate::present::event_message_for(&access, m) else {
            continue;
        };
        let alert = Alert { event, sla };
        if urgent {
            let deadline = alert.sla.as_ref().map(|s| s.deadline.clone());
            red.push((
                sla_rank(alert.sla.as_ref()),
                deadline.unwrap_or_default(),
                alert.clone(),
            ));
        }
        if up {
            escalated.push((e.reported_at.timestamp(), alert));
        }
    }
    red.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
    escalated.sort_by_key(|x| std::cmp::Reverse(x.0));
    Ok(Json(Alerts {
        counts,
        red: red.into_iter().take(ALERT_ITEMS).map(|x| x.2).collect(),
        escalated: escalated
            .into_iter()
            .take(ALERT_ITEMS)
            .map(|x| x.1)
            .collect(),
        hotspot_week,
        hotspots,
    }))
}
