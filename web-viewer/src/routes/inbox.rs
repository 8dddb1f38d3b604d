//! "My events" (`GET /api/v1/inbox`): the events a caller works on — a
//! worker's grids, a department's dispatched events, the whole town for a
//! leader — most urgent first, with counts per status and the handlers an
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
/// grids; department: dispatched to it; leader: the town), sorted overdue,
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
    let view = st.view()?;
    let mine = worker_grids(&access, &view);
    let mut counts: BTreeMap<&'static str, u64> =
        EventStatus::ALL.iter().map(|s| (s.code(), 0)).collect();
    let mut total = 0;
    let mut items: Vec<InboxItem> = Vec::new();
    for (i, e) in view.dataset.events.iter().enumerate() {
        let refs = &view.event_refs[i];
        if !access.may_see_event(e.handler.as_deref(), in_grids(&mine, refs)) {
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
            allowed: allowed_moves(e.status),
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
        events: items,
        handlers: handlers(&st),
    }))
}
