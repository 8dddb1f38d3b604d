//! The event loop (闭环) without HTTP: intake of a new event
//! ([`file_event`], for `POST /api/v1/events` and the demo feed), the rules
//! of a move (a new grade
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

use analytics::events::limits::{due, escalate, escalate_due, EscalateError};
use analytics::events::merge::MergeError;
use analytics::events::{dispatch::Handler, EventRules};
use chrono::{DateTime, TimeZone, Utc};
use geo_core::ids::EventId;
use geo_core::model::lifecycle::{LifecycleError, Timeline, Transition};
use geo_core::model::{Event, EventStatus, Grade, GridRefs};
use geo_core::store::{Store, StoreError, TransitionRow};

use crate::error::{AppError, AppResult};
use crate::present::{ChangedEvent, Duplicate, Located, Reported, Sla, TransitionView};
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

/// The open events that are due to climb at `now` (red or overdue, or
/// still `reported` past the acceptance limit, see
/// [`analytics::events::limits::due`]): the ones an escalation run re-checks
/// and moves up, or reports as stopped.
pub fn due_for_escalation(
    events: &[Event],
    rules: &EventRules,
    now: DateTime<Utc>,
) -> Vec<EventId> {
    events
        .iter()
        .filter(|e| due(e, &rules.limits, now).is_some())
        .map(|e| e.id)
        .collect()
}

/// A new event filed by intake: stored, in the view and the tiles.
#[derive(Debug)]
pub struct Filed {
    /// The event as stored (handler and deadline set).
    pub event: Event,
    /// Its grids.
    pub refs: GridRefs,
    /// The dispatch decision and the possible duplicates.
    pub intake: analytics::events::Intake,
}

/// Files a new event: `make` builds it in status `reported` with the next
/// free ID; the event rules pick its handler and deadline and propose
/// duplicates; the event, its first transition (actor `actor`) and its
/// assisting departments are stored in one transaction (shared with the
/// intakes that wait beside it, [`crate::service::intake_queue`]), then the
/// view and the tiles are updated. The
/// caller answers and streams it ([`reported`], [`broadcast`]).
pub async fn file_event(
    st: &AppState,
    make: impl FnOnce(EventId) -> Event,
    actor: String,
) -> AppResult<Filed> {
    let (event, refs, intake) = {
        let mut view = st.view_mut()?;
        let id = EventId::new(view.next_event_id).map_err(|e| AppError::Internal(e.to_string()))?;
        let mut e = make(id);
        view.next_event_id += 1;
        let refs = view.index.grids_at(e.location.0);
        // Dispatch rule → handler, time limit → deadline, near-duplicates.
        let intake = st.0.rules.intake_newest_first(
            &mut e,
            &refs,
            &view.dataset.events,
            &view.events_newest,
        );
        (e, refs, intake)
    };
    let stored = event.clone();
    // The rule's assisting departments (网格吹哨、部门报到) see it too.
    let assisting: Vec<String> = intake
        .assignment
        .assist
        .iter()
        .filter_map(|h| match h {
            Handler::Department(d) if Some(h.code()) != event.handler => Some(d.clone()),
            _ => None,
        })
        .collect();
    // Written with the intakes waiting beside it, in one transaction.
    crate::service::intake_queue::store(
        st,
        crate::service::intake_queue::Pending {
            event: stored,
            refs,
            actor,
            assists: assisting,
        },
    )
    .await?;
    let inval = st.view_mut()?.upsert_event(event.clone()).1;
    st.invalidate_tiles(&inval)?;
    Ok(Filed {
        event,
        refs,
        intake,
    })
}

/// The answer (and stream message) of a filed event at `now`: the event,
/// the reporter's receipt, the dispatch decision, its time-limit state and
/// the possible duplicates.
pub fn reported(st: &AppState, f: &Filed, now: DateTime<Utc>) -> AppResult<Reported> {
    let located = {
        let view = st.view()?;
        Located::of(&view, &f.event, &f.refs, now)
    };
    Ok(Reported {
        event: located,
        receipt: receipt(&st.0.auth.receipt_key, &f.event),
        dispatch: f.intake.assignment.clone(),
        sla: Sla::of(&st.0.rules, &f.event, now),
        duplicates: f
            .intake
            .candidates
            .iter()
            .map(|c| Duplicate {
                id: c.id.get(),
                score: c.score,
                distance_m: c.distance_m,
                hours_apart: c.hours_apart,
                text_similarity: c.text_similarity,
            })
            .collect(),
    })
}

/// What an event's detail reads from the store beside the view: its
/// timeline, photos, assisting departments and notes.
#[derive(Debug)]
pub struct EventExtras {
    /// The stored transitions, in order.
    pub timeline: Vec<TransitionRow>,
    /// Its photos.
    pub photos: Vec<geo_core::store::PhotoRow>,
    /// Its assisting departments.
    pub assisting: Vec<String>,
    /// Notes on it.
    pub notes: Vec<geo_core::store::NoteRow>,
}

/// The [`EventExtras`] of `id`, read on a read connection, or as read
/// before if no write has ended since ([`crate::read_cache`]).
pub async fn extras(st: &AppState, id: EventId) -> AppResult<std::sync::Arc<EventExtras>> {
    st.read_cached(&st.0.event_extras, id, move |s| {
        Ok(EventExtras {
            timeline: s.timeline(id)?,
            photos: s.photos_of(id)?,
            assisting: s.assists_of(id)?,
            notes: s.event_notes(id)?,
        })
    })
    .await
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

/// A due event an escalation run did not move, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Stopped {
    /// The event.
    pub id: EventId,
    /// Its handler.
    pub handler: Option<String>,
    /// Why it did not climb.
    pub reason: String,
}

/// What one escalation run did.
#[derive(Debug, Default)]
pub struct RunOutcome {
    /// Events moved one level up, with their transitions.
    pub escalated: Vec<(Event, Transition)>,
    /// Due events already at a department, the top of the chain: they stop
    /// climbing.
    pub at_top: Vec<Stopped>,
    /// Due events that could not climb for another reason (no handler, a
    /// stored handler that is not valid).
    pub refused: Vec<Stopped>,
}

impl RunOutcome {
    /// Records a due event that did not climb: at the top of the chain, or
    /// refused for another reason (logged).
    fn stop(&mut self, id: EventId, handler: Option<String>, e: &EscalateError) {
        let top = matches!(e, EscalateError::TopLevel { .. });
        if !top {
            tracing::warn!(event = %id, error = %e, "escalation refused");
        }
        let stopped = Stopped {
            id,
            handler,
            reason: e.to_string(),
        };
        if top {
            self.at_top.push(stopped);
        } else {
            self.refused.push(stopped);
        }
    }
}

/// Climbs every event that is due at `now` one level (grid → community →
/// town → department): red or overdue events, escalated ones again when
/// their fresh deadline runs out, and events nobody accepted within the
/// acceptance limit. Each climb is stored (event and transition row, actor
/// [`SLA_ACTOR`]), applied to the view and streamed; events at the top of
/// the chain and refusals are returned (and logged), never dropped.
///
/// The due events are picked from the view first; each is then re-checked
/// and escalated under the store lock on its own, so a long run (the first
/// one after start-up may move thousands) does not hold up other requests and
/// never overwrites a move made meanwhile.
pub async fn run_escalation(st: &AppState, now: DateTime<Utc>) -> AppResult<RunOutcome> {
    let due = due_for_escalation(&st.view()?.dataset.events, &st.0.rules, now);
    let mut out = RunOutcome::default();
    for id in due {
        // Tried on a copy from the view first: an event that cannot climb
        // (at the top, no handler) is reported without taking the store.
        let refused = {
            let view = st.view()?;
            let Some(&i) = view.event_pos.get(&id) else {
                continue;
            };
            let mut ev = [view.dataset.events[i].clone()];
            match escalate_due(&mut ev, &st.0.rules, SLA_ACTOR, now).pop() {
                Some(o) => o.result.err().map(|e| (ev[0].handler.clone(), e)),
                None => continue,
            }
        };
        if let Some((handler, e)) = refused {
            out.stop(id, handler, &e);
            continue;
        }
        let st2 = st.clone();
        let result = st
            .with_store(move |s| {
                let Some(&i) = st2.view()?.event_pos.get(&id) else {
                    return Ok(None);
                };
                let mut ev = [st2.view()?.dataset.events[i].clone()];
                let Some(o) = escalate_due(&mut ev, &st2.0.rules, SLA_ACTOR, now).pop() else {
                    return Ok(None);
                };
                let [ev] = ev;
                Ok(Some(match o.result {
                    Ok(esc) => Ok(commit(&st2, s, ev, esc.transition)?),
                    Err(e) => Err((ev.handler.clone(), e)),
                }))
            })
            .await?;
        match result {
            None => {}
            Some(Ok(a)) => {
                broadcast(st, &changed(st, &a, now)?);
                out.escalated.push((a.event, a.transition));
            }
            Some(Err((handler, e))) => out.stop(id, handler, &e),
        }
    }
    Ok(out)
}

/// Runs [`run_escalation`] at the state's clock every `every` until the
/// runtime stops; what it moved, what stopped at the top and what it could
/// not move are logged; failures are logged and retried at the next tick.
pub async fn escalation_loop(st: AppState, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match run_escalation(&st, st.now()).await {
            Ok(run) => {
                if !run.escalated.is_empty() {
                    tracing::info!(count = run.escalated.len(), "escalated due events");
                }
                if !run.at_top.is_empty() {
                    tracing::info!(
                        count = run.at_top.len(),
                        "due events at a department, the top of the chain: not escalated"
                    );
                }
                if !run.refused.is_empty() {
                    tracing::warn!(count = run.refused.len(), "due events could not escalate");
                }
            }
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
    fn red_overdue_and_unaccepted_events_are_due() {
        let rules = rules();
        let mut e = event();
        e.deadline = Some(rules.limits.deadline(at(0), e.category, e.grade));
        let deadline = e.deadline.unwrap();
        assert!(due_for_escalation(&[e.clone()], &rules, at(0)).is_empty());
        // still reported past the acceptance limit, though green
        assert_eq!(due_for_escalation(&[e.clone()], &rules, at(3)), vec![e.id]);
        e.status = EventStatus::InProgress;
        assert!(due_for_escalation(&[e.clone()], &rules, at(3)).is_empty());
        assert_eq!(
            due_for_escalation(&[e.clone()], &rules, deadline + D::hours(1)),
            vec![e.id]
        );
        // no handler: still due, so the run reports it instead of skipping it
        e.handler = None;
        assert_eq!(
            due_for_escalation(&[e.clone()], &rules, deadline + D::hours(1)),
            vec![e.id]
        );
        e.status = EventStatus::Resolved;
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
