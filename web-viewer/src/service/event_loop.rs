//! The event loop (闭环) without HTTP: the rules of a move (a new grade
//! re-computes the deadline from the report, a reopening owes a fresh limit
//! from now, a manual escalation moves the handler up like the time-limit
//! check), the traffic-light state, receipts, and the escalation run that
//! `wangge serve` repeats in the background.
//!
//! [`apply_change`] is a pure function of the event, its timeline, the rules
//! and the time; [`commit`] and [`run_escalation`] write the store first
//! (event row and transition row in one transaction), then the in-memory
//! view, the tile cache and the event stream. The routes (`routes::events`)
//! only read the request and shape the answer.

use std::time::Duration;

use analytics::events::limits::{escalate, escalate_due, EscalateError, SlaLevel};
use analytics::events::merge::MergeError;
use analytics::events::{dispatch::Handler, EventRules};
use chrono::{DateTime, TimeZone, Utc};
use geo_core::ids::EventId;
use geo_core::model::lifecycle::{LifecycleError, Timeline, Transition};
use geo_core::model::{Event, EventStatus, Grade, GridRefs};
use geo_core::store::{Store, StoreError, TransitionRow};

use crate::error::{AppError, AppResult};
use crate::present::{ChangedEvent, Located, Sla, TransitionView};
use crate::state::AppState;

/// Actor recorded for escalations made by the time-limit check.
pub const SLA_ACTOR: &str = "sla";

/// A refused or failed event-loop request (`routes::events` answers the
/// refusals 409 with the details a client needs to recover).
#[derive(Debug)]
pub enum LoopError {
    /// Any other API error.
    App(AppError),
    /// The state machine refused the move.
    Lifecycle(LifecycleError),
    /// The merge was refused.
    Merge(MergeError),
    /// The escalation was refused (no handler, top of the chain).
    Escalate(EscalateError),
}

impl From<AppError> for LoopError {
    fn from(e: AppError) -> Self {
        LoopError::App(e)
    }
}

impl From<StoreError> for LoopError {
    fn from(e: StoreError) -> Self {
        LoopError::App(e.into())
    }
}

impl From<LifecycleError> for LoopError {
    fn from(e: LifecycleError) -> Self {
        LoopError::Lifecycle(e)
    }
}

impl From<EscalateError> for LoopError {
    fn from(e: EscalateError) -> Self {
        match e {
            EscalateError::Lifecycle(l) => LoopError::Lifecycle(l),
            other => LoopError::Escalate(other),
        }
    }
}

/// What a transition request asks for, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// Target status (never `merged`: merging has its own route).
    pub to: EventStatus,
    /// Who moves it.
    pub actor: String,
    /// Note for the timeline.
    pub note: String,
    /// Grade, on acceptance only.
    pub grade: Option<Grade>,
    /// Satisfaction 1–5, on `reviewed` only.
    pub satisfaction: Option<u8>,
    /// Handler chosen on dispatch, overriding the rule.
    pub handler: Option<Handler>,
}

/// Applies `c` to `ev` at `now` and returns the transition to record.
///
/// The rules: a manual escalation moves the handler one level up (as the
/// time-limit check does) and keeps the note; any other move goes through
/// the state machine with the stored `timeline`. A grade given on
/// acceptance re-computes the deadline from the report time; a reopening
/// owes the work again, so the deadline is a fresh limit from `now`.
pub fn apply_change(
    ev: &mut Event,
    timeline: &mut Timeline,
    c: &Change,
    rules: &EventRules,
    now: DateTime<Utc>,
) -> Result<Transition, LoopError> {
    let mut t = if c.to == EventStatus::Escalated {
        let mut t = escalate(ev, rules, &c.actor, now)?.transition;
        if !c.note.is_empty() {
            t.note = format!("{}; {}", t.note, c.note);
        }
        t
    } else {
        timeline
            .apply(ev, c.to, &c.actor, now, &c.note, &rules.lifecycle)?
            .clone()
    };
    if let Some(g) = c.grade {
        ev.grade = g;
        ev.deadline = Some(rules.limits.deadline(ev.reported_at, ev.category, g));
        if t.note.is_empty() {
            t.note = format!("graded {g}");
        }
    }
    if let Some(h) = &c.handler {
        ev.handler = Some(h.code());
    }
    if c.satisfaction.is_some() {
        ev.satisfaction = c.satisfaction;
    }
    if c.to == EventStatus::Reopened {
        ev.deadline = Some(rules.limits.deadline(now, ev.category, ev.grade));
    }
    Ok(t)
}

/// The open events with a handler that are red or overdue at `now`: the
/// ones an escalation run re-checks and moves up.
pub fn due_for_escalation(
    events: &[Event],
    rules: &EventRules,
    now: DateTime<Utc>,
) -> Vec<EventId> {
    events
        .iter()
        .filter(|e| {
            e.status.is_open()
                && e.handler.is_some()
                && rules.limits.sla(e, now).level >= SlaLevel::Red
        })
        .map(|e| e.id)
        .collect()
}

/// The receipt token handed to whoever reported an event
/// (`R<id>-<32 hex>`): the event ID and a 128-bit HMAC-SHA-256 of the ID and
/// report time under the server's secret key, so receipts cannot be guessed
/// or enumerated. It only opens the status and timeline of the report.
pub fn receipt(key: &[u8], e: &Event) -> String {
    let mac = crate::auth::secret::mac128(key, &format!("{}:{}", e.id, e.reported_at.timestamp()));
    format!("R{}-{mac}", e.id)
}

/// The event ID a receipt names (not yet checked against its HMAC).
pub fn receipt_id(r: &str) -> Option<EventId> {
    let (id, _) = r.strip_prefix('R')?.split_once('-')?;
    id.parse().ok()
}

fn row(t: &Transition) -> TransitionRow {
    TransitionRow {
        from: Some(t.from.code().to_string()),
        to: t.to.code().to_string(),
        at: t.at.timestamp(),
        actor: t.actor.clone(),
        note: t.note.clone(),
    }
}

/// The state machine's timeline from stored transition rows.
pub fn timeline_of(rows: &[TransitionRow]) -> Timeline {
    Timeline(
        rows.iter()
            .filter_map(|r| {
                let to = EventStatus::parse(&r.to).ok()?;
                let from = r
                    .from
                    .as_deref()
                    .and_then(|f| EventStatus::parse(f).ok())
                    .unwrap_or(to);
                Some(Transition {
                    from,
                    to,
                    at: Utc.timestamp_opt(r.at, 0).single()?,
                    actor: r.actor.clone(),
                    note: r.note.clone(),
                })
            })
            .collect(),
    )
}

/// A change written to the store and the view.
#[derive(Debug)]
pub struct Applied {
    /// The event after the change.
    pub event: Event,
    /// Its grids.
    pub refs: GridRefs,
    /// The move.
    pub transition: Transition,
}

/// Persists `event` with its transition, then updates the view and drops the
/// tiles it touches. Called with the store lock held.
pub fn commit(st: &AppState, s: &mut Store, event: Event, t: Transition) -> AppResult<Applied> {
    s.update_event(&event, &row(&t))?;
    let (refs, inval) = st.view_mut()?.upsert_event(event.clone());
    st.invalidate_tiles(&inval)?;
    Ok(Applied {
        event,
        refs,
        transition: t,
    })
}

/// An event after a change (as answered and streamed), with its time-limit
/// state and the transition.
pub fn changed(st: &AppState, a: &Applied, now: DateTime<Utc>) -> AppResult<ChangedEvent> {
    let view = st.view()?;
    Ok(ChangedEvent {
        event: Located::of(&view, &a.event, &a.refs, now),
        sla: Sla::of(&st.0.rules, &a.event, now),
        transition: TransitionView::from(&a.transition),
    })
}

/// Sends a message to the event stream (no subscriber is not an error).
/// Sends an event message to every open stream. The stream never reveals,
/// so the names of the reporting household's residents are masked here,
/// once, where the view knows them; each stream then keeps what its caller
/// may see ([`crate::present::event_message_for`]).
pub fn broadcast<T: serde::Serialize>(st: &AppState, v: &T) {
    use serde_json::Value;
    let Ok(Value::Object(mut m)) = serde_json::to_value(v) else {
        return;
    };
    if let (Some(id), Ok(view)) = (m.get("id").and_then(Value::as_u64), st.view()) {
        let names = view.names_of_id(id).to_vec();
        drop(view);
        crate::present::scrub_event(false, &names, &mut m);
    }
    let _ = st.0.events_tx.send(Value::Object(m).to_string());
}

/// Escalates every open event that is red or overdue at `now` and still has
/// a level above it; each escalation is stored (event and transition row),
/// applied to the view and streamed. Returns the escalated events with their
/// transitions.
///
/// The due events are picked from the view first; each is then re-checked
/// and escalated under the store lock on its own, so a long run (the first
/// one after start-up may move thousands) does not hold up other requests and
/// never overwrites a move made meanwhile.
pub async fn run_escalation(
    st: &AppState,
    now: DateTime<Utc>,
) -> AppResult<Vec<(Event, Transition)>> {
    let due = due_for_escalation(&st.view()?.dataset.events, &st.0.rules, now);
    let mut out = Vec::with_capacity(due.len());
    for id in due {
        let st2 = st.clone();
        let applied = st
            .with_store(move |s| {
                let Some(&i) = st2.view()?.event_pos.get(&id) else {
                    return Ok(None);
                };
                let mut ev = [st2.view()?.dataset.events[i].clone()];
                match escalate_due(&mut ev, &st2.0.rules, SLA_ACTOR, now).pop() {
                    Some((_, esc)) => {
                        let [ev] = ev;
                        Ok(Some(commit(&st2, s, ev, esc.transition)?))
                    }
                    None => Ok(None),
                }
            })
            .await?;
        if let Some(a) = applied {
            broadcast(st, &changed(st, &a, now)?);
            out.push((a.event, a.transition));
        }
    }
    Ok(out)
}

/// Runs [`run_escalation`] at the state's clock every `every` until the
/// runtime stops; failures are logged and retried at the next tick.
pub async fn escalation_loop(st: AppState, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match run_escalation(&st, st.now()).await {
            Ok(done) if !done.is_empty() => {
                tracing::info!(count = done.len(), "escalated red and overdue events");
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = ?e, "escalation run failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration as D;
    use geo_core::model::EventSource;
    use geo_core::taxonomy::EventCategory;

    fn at(h: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap() + D::hours(h)
    }

    fn event() -> Event {
        let mut e = Event::reported(
            EventId::new(4711).unwrap(),
            EventCategory::parse("02.05").unwrap(),
            "噪声",
            geo_types::Point::new(116.6, 36.9),
            at(0),
            EventSource::Resident,
        );
        e.handler = Some("grid".into());
        e
    }

    fn change(to: EventStatus) -> Change {
        Change {
            to,
            actor: "worker:w1".into(),
            note: String::new(),
            grade: None,
            satisfaction: None,
            handler: None,
        }
    }

    fn rules() -> EventRules {
        EventRules::builtin().unwrap()
    }

    #[test]
    fn a_new_grade_recomputes_the_deadline_from_the_report() {
        let rules = rules();
        let mut e = event();
        let mut tl = Timeline::default();
        let c = Change {
            grade: Some(Grade::Urgent),
            ..change(EventStatus::Accepted)
        };
        let t = apply_change(&mut e, &mut tl, &c, &rules, at(3)).unwrap();
        assert_eq!(e.grade, Grade::Urgent);
        assert_eq!(
            e.deadline,
            Some(rules.limits.deadline(at(0), e.category, Grade::Urgent))
        );
        assert_eq!(t.note, "graded urgent");
        assert_eq!(t.to, EventStatus::Accepted);
    }

    #[test]
    fn a_reopening_owes_a_fresh_limit_from_now() {
        let rules = rules();
        let mut e = event();
        let mut tl = Timeline::default();
        for (h, to) in [
            (1, EventStatus::Accepted),
            (2, EventStatus::Dispatched),
            (3, EventStatus::InProgress),
            (4, EventStatus::Resolved),
            (5, EventStatus::Reviewed),
            (6, EventStatus::Closed),
        ] {
            apply_change(&mut e, &mut tl, &change(to), &rules, at(h)).unwrap();
        }
        let t = apply_change(
            &mut e,
            &mut tl,
            &change(EventStatus::Reopened),
            &rules,
            at(10),
        )
        .unwrap();
        assert_eq!(t.to, EventStatus::Reopened);
        assert_eq!(
            e.deadline,
            Some(rules.limits.deadline(at(10), e.category, e.grade))
        );
    }

    #[test]
    fn a_manual_escalation_moves_the_handler_up_and_keeps_the_note() {
        let rules = rules();
        let mut e = event();
        let mut tl = Timeline::default();
        apply_change(
            &mut e,
            &mut tl,
            &change(EventStatus::Accepted),
            &rules,
            at(1),
        )
        .unwrap();
        let c = Change {
            note: "no answer".into(),
            ..change(EventStatus::Escalated)
        };
        let t = apply_change(&mut e, &mut tl, &c, &rules, at(2)).unwrap();
        assert_eq!(e.handler.as_deref(), Some("community"));
        assert!(t.note.ends_with("; no answer"), "{}", t.note);
    }

    #[test]
    fn an_illegal_move_is_refused() {
        let mut e = event();
        let err = apply_change(
            &mut e,
            &mut Timeline::default(),
            &change(EventStatus::Closed),
            &rules(),
            at(1),
        );
        assert!(matches!(err, Err(LoopError::Lifecycle(_))), "{err:?}");
    }

    #[test]
    fn only_red_and_overdue_events_with_a_handler_are_due() {
        let rules = rules();
        let mut e = event();
        e.deadline = Some(rules.limits.deadline(at(0), e.category, e.grade));
        let deadline = e.deadline.unwrap();
        assert!(due_for_escalation(&[e.clone()], &rules, at(0)).is_empty());
        assert_eq!(
            due_for_escalation(&[e.clone()], &rules, deadline + D::hours(1)),
            vec![e.id]
        );
        e.handler = None;
        assert!(due_for_escalation(&[e], &rules, deadline + D::hours(1)).is_empty());
    }

    #[test]
    fn receipt_round_trips_its_id() {
        let e = event();
        let r = receipt(b"test key", &e);
        assert!(r.starts_with("R4711-"), "{r}");
        assert_eq!(receipt_id(&r), Some(e.id));
        assert_eq!(receipt_id("4711-abc"), None);
        assert_eq!(receipt_id("Rx-1"), None);
    }

    #[test]
    fn stored_rows_rebuild_the_timeline() {
        let rows = vec![
            TransitionRow {
                from: None,
                to: "reported".into(),
                at: 100,
                actor: "intake".into(),
                note: "intake".into(),
            },
            TransitionRow {
                from: Some("reported".into()),
                to: "accepted".into(),
                at: 200,
                actor: "centre".into(),
                note: String::new(),
            },
        ];
        let tl = timeline_of(&rows);
        assert_eq!(tl.0.len(), 2);
        assert_eq!(tl.0[0].from, EventStatus::Reported);
        assert_eq!(
            tl.last_at(EventStatus::Accepted),
            Utc.timestamp_opt(200, 0).single()
        );
    }
}
