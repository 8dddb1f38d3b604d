//! Group commit of intakes. Every intake must be durable before its 201
//! (the kill -9 guarantee: its transaction committed, the WAL synced), and
//! a commit of one event costs as much as a commit of many — most of it is
//! DuckDB's per-transaction work and the sync, not the row. So intakes that
//! arrive while the write connection is busy wait together in this queue,
//! and one turn at the connection (a task of its own, `next_turn`) writes
//! all that wait in one transaction ([`Store::insert_events`]) and tells
//! each its outcome.
//!
//! Rules that keep this safe:
//! - an intake is answered only from the outcome of the transaction that
//!   wrote it (never 201 before its commit);
//! - at most `--max-waiting-writes` intakes wait for the next turn; one
//!   more is refused at once (503 `overloaded`) and not stored, as any
//!   write past the waiting limit;
//! - one turn at the write connection is asked for at a time; it takes
//!   every intake waiting when it starts, and when more came while it
//!   wrote, it asks for the next turn (so other writes get their turns in
//!   between);
//! - a refused turn (503 `overloaded`) takes the waiting intakes out of the
//!   queue and answers them so: a refused intake is never stored behind
//!   the caller's back;
//! - when the transaction of a group fails, each event is written again on
//!   its own, so one bad event fails alone.

use std::sync::Mutex;

use geo_core::model::{Event, GridRefs};
use geo_core::store::{NewEvent, Store};
use tokio::sync::oneshot;

use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// An intake to store: the event, its grids, who filed it and its
/// assisting departments.
#[derive(Debug)]
pub struct Pending {
    /// The event, in status `reported`, with its handler and deadline.
    pub event: Event,
    /// Its grids.
    pub refs: GridRefs,
    /// Who filed it.
    pub actor: String,
    /// Assisting departments (names without `dept:`).
    pub assists: Vec<String>,
}

type Outcome = Result<(), AppError>;

struct Waiting {
    pending: Pending,
    done: oneshot::Sender<Outcome>,
}

#[derive(Default)]
struct Queue {
    waiting: Vec<Waiting>,
    /// A turn at the write connection is asked for or running: it will
    /// take everything waiting (and ask for the next turn if more came).
    turn: bool,
}

/// The intakes waiting for the write connection (see the module docs).
#[derive(Default)]
pub struct IntakeQueue(Mutex<Queue>);

impl std::fmt::Debug for IntakeQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.0.lock().map(|q| q.waiting.len()).unwrap_or(0);
        f.debug_struct("IntakeQueue").field("waiting", &n).finish()
    }
}

impl IntakeQueue {
    fn queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues `pending` unless `max_waiting` intakes wait already (then
    /// `None`: not queued); `Some(true)` when no turn is asked for yet, so
    /// the caller must ask for one ([`next_turn`]).
    fn push(
        &self,
        pending: Pending,
        done: oneshot::Sender<Outcome>,
        max_waiting: usize,
    ) -> Option<bool> {
        let mut q = self.queue();
        if q.waiting.len() >= max_waiting.max(1) {
            return None;
        }
        q.waiting.push(Waiting { pending, done });
        Some(!std::mem::replace(&mut q.turn, true))
    }

    /// Everything waiting, for a turn to write.
    fn take(&self) -> Vec<Waiting> {
        std::mem::take(&mut self.queue().waiting)
    }

    /// After a turn: true when more intakes came meanwhile (the turn stays
    /// asked for, the caller asks for the next), false when none wait (no
    /// turn asked for any more).
    fn end_turn(&self) -> bool {
        let mut q = self.queue();
        q.turn = !q.waiting.is_empty();
        q.turn
    }

    /// Writes every waiting intake (holding the write connection `s`) in
    /// one transaction and tells each its outcome; when that transaction
    /// fails, each alone. Returns how many were written.
    pub fn write_waiting(&self, s: &mut Store) -> usize {
        let group = self.take();
        if group.is_empty() {
            return 0;
        }
        let rows: Vec<NewEvent<'_>> = group.iter().map(|w| new_event(&w.pending)).collect();
        let together = s.insert_events(&rows);
        drop(rows);
        match together {
            Ok(()) => {
                let n = group.len();
                for w in group {
                    let _ = w.done.send(Ok(()));
                }
                n
            }
            Err(e) if group.len() == 1 => {
                if let Some(w) = group.into_iter().next() {
                    let _ = w.done.send(Err(AppError::from(e)));
                }
                0
            }
            Err(e) => {
                tracing::warn!(
                    "a group of {} intakes failed together ({e}); writing each alone",
                    group.len()
                );
                let mut written = 0;
                for w in group {
                    let r = s.insert_events(&[new_event(&w.pending)]);
                    written += usize::from(r.is_ok());
                    let _ = w.done.send(r.map_err(AppError::from));
                }
                written
            }
        }
    }

    /// Refuses every waiting intake with `e` (none of them is written).
    fn refuse_waiting(&self, e: &AppError) {
        for w in self.take() {
            let _ = w.done.send(Err(e.clone()));
        }
    }
}

fn new_event(p: &Pending) -> NewEvent<'_> {
    NewEvent {
        event: &p.event,
        refs: p.refs,
        actor: &p.actor,
        assists: &p.assists,
    }
}

/// Asks for a turn at the write connection that writes what waits, and
/// after it the next turn while intakes keep coming. Runs as its own task,
/// so a caller that goes away does not stop the others' write.
fn next_turn(st: &AppState) {
    let st = st.clone();
    tokio::spawn(async move {
        let me = st.clone();
        let turn = st
            .with_store(move |s| {
                me.0.intakes.write_waiting(s);
                Ok(())
            })
            .await;
        if let Err(e) = turn {
            // Refused (503 overloaded) or the task failed before writing:
            // what waits is not stored, and is answered so.
            st.0.intakes.refuse_waiting(&e);
        }
        if st.0.intakes.end_turn() {
            next_turn(&st);
        }
    });
}

/// Stores `pending` durably, together with the intakes waiting beside it:
/// `Ok` once the transaction that wrote it committed; an error when it was
/// not stored (503 when the write connection's queue is full).
pub async fn store(st: &AppState, pending: Pending) -> AppResult<()> {
    let (done, outcome) = oneshot::channel();
    let max = st.0.config.max_waiting_writes;
    match st.0.intakes.push(pending, done, max) {
        Some(true) => next_turn(st),
        Some(false) => {}
        // As many intakes wait for the next turn as writes may wait: refused
        // at once, not queued until a time-out, and not stored.
        None => return Err(crate::state::overloaded("writes", max)),
    }
    outcome
        .await
        .map_err(|_| AppError::Internal("the intake's writer stopped before its outcome".into()))?
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use geo_core::ids::EventId;
    use geo_core::model::EventSource;
    use geo_core::store::{EventFilter, Scope};
    use geo_core::taxonomy::EventCategory;

    fn stored(s: &Store) -> usize {
        s.count_events(&Scope::Town, &EventFilter::default())
            .expect("count") as usize
    }

    fn pending(id: u64) -> Pending {
        let at = chrono::Utc.with_ymd_and_hms(2026, 12, 7, 8, 0, 0).unwrap();
        let cat = EventCategory::parse("09.01").expect("category");
        Pending {
            event: Event::reported(
                EventId::new(id).expect("id"),
                cat,
                format!("report {id}"),
                geo_types::Point::new(116.6, 36.9),
                at,
                EventSource::Resident,
            ),
            refs: GridRefs::default(),
            actor: "worker:w1".into(),
            assists: if id.is_multiple_of(2) {
                vec!["城管".into()]
            } else {
                vec![]
            },
        }
    }

    /// Intakes waiting together are written by one turn, each answered Ok,
    /// with their transitions and assisting departments; an event whose ID
    /// is taken fails alone and the others of its group are stored.
    #[test]
    fn a_group_is_written_in_one_turn_and_a_bad_event_fails_alone() {
        let mut s = Store::open_in_memory().expect("store");
        let q = IntakeQueue::default();
        let mut outcomes = Vec::new();
        for id in 1..=5 {
            let (tx, rx) = oneshot::channel();
            assert!(q.push(pending(id), tx, 100).is_some(), "queued");
            outcomes.push(rx);
        }
        assert_eq!(q.write_waiting(&mut s), 5);
        for mut rx in outcomes {
            assert!(matches!(rx.try_recv(), Ok(Ok(()))));
        }
        assert_eq!(q.write_waiting(&mut s), 0, "nothing waits any more");
        assert_eq!(stored(&s), 5);
        assert_eq!(s.assists_of(EventId::new(4).unwrap()).unwrap(), ["城管"]);
        assert_eq!(s.timeline(EventId::new(3).unwrap()).unwrap().len(), 1);

        // 3 again (a duplicate ID) between two new ones.
        let mut outcomes = Vec::new();
        for id in [6, 3, 7] {
            let (tx, rx) = oneshot::channel();
            assert!(q.push(pending(id), tx, 100).is_some(), "queued");
            outcomes.push((id, rx));
        }
        assert_eq!(q.write_waiting(&mut s), 2);
        for (id, mut rx) in outcomes {
            let r = rx.try_recv().expect("answered");
            assert_eq!(r.is_ok(), id != 3, "event {id}: {r:?}");
        }
        assert_eq!(stored(&s), 7);
    }

    /// One turn is asked for at a time: the first intake asks, the ones
    /// queued while it is asked for do not; past the waiting limit one more
    /// is refused; after a turn the next is asked for only when intakes
    /// came meanwhile. Refused intakes are answered and never written.
    #[test]
    fn one_turn_at_a_time_and_refused_intakes_are_not_written() {
        let mut s = Store::open_in_memory().expect("store");
        let q = IntakeQueue::default();
        let (tx, _a) = oneshot::channel();
        assert_eq!(
            q.push(pending(1), tx, 2),
            Some(true),
            "the first asks for a turn"
        );
        let (tx, _b) = oneshot::channel();
        assert_eq!(
            q.push(pending(2), tx, 2),
            Some(false),
            "a turn is asked for already"
        );
        let (tx, _c) = oneshot::channel();
        assert!(
            q.push(pending(3), tx, 2).is_none(),
            "two wait: the third is refused"
        );
        assert_eq!(q.write_waiting(&mut s), 2);
        assert!(!q.end_turn(), "nothing came during the turn");
        let (tx, mut refused) = oneshot::channel();
        assert_eq!(q.push(pending(3), tx, 2), Some(true));
        q.refuse_waiting(&AppError::Internal("refused".into()));
        assert!(matches!(refused.try_recv(), Ok(Err(AppError::Internal(_)))));
        assert!(!q.end_turn());
        assert_eq!(q.write_waiting(&mut s), 0);
        assert_eq!(stored(&s), 2);
    }

    fn state(max_waiting_writes: usize) -> AppState {
        let mut config = crate::config::ServerConfig::new("memory".into());
        config.max_waiting_writes = max_waiting_writes;
        AppState::new(Store::open_in_memory().expect("store"), config).expect("state")
    }

    /// 200 intakes at once through [`store`]: every one answered Ok and
    /// stored (however the turns grouped them).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_intakes_are_all_stored_in_groups() {
        let st = state(256);
        let calls: Vec<_> = (1..=200)
            .map(|id| {
                let st = st.clone();
                tokio::spawn(async move { store(&st, pending(id)).await })
            })
            .collect();
        for c in calls {
            c.await.expect("task").expect("stored");
        }
        let n = st
            .with_reader(|s| Ok(s.count_events(&Scope::Town, &EventFilter::default())?))
            .await
            .expect("count");
        assert_eq!(n, 200);
    }

    /// When the write connection's queue is full the intake is answered
    /// 503 and is not stored, not even later (no ghost event).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_refused_intake_is_never_stored_later() {
        let st = state(0);
        // The long write holds the only place.
        let (release, busy) = crate::state::tests::hold_the_write_connection(&st, "busy").await;
        crate::state::tests::until_full(&st.0.writes).await;
        match store(&st, pending(9)).await {
            Err(AppError::Status(code, crate::error::ErrorCode::Overloaded, _)) => {
                assert_eq!(code, axum::http::StatusCode::SERVICE_UNAVAILABLE)
            }
            other => panic!("expected 503 overloaded, got {other:?}"),
        }
        release.send(()).expect("release");
        busy.await.expect("task").expect("write");
        // A later intake gets its turn; the refused one is not in the store.
        store(&st, pending(10)).await.expect("stored");
        let ids: Vec<u64> = st
            .with_reader(|s| Ok(s.events(&Scope::Town, &EventFilter::default(), None)?))
            .await
            .expect("events")
            .iter()
            .map(|e| e.id.get())
            .collect();
        assert_eq!(ids, [10]);
    }
}
