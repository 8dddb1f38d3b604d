//! Stopping a run from outside: a cancel flag another thread sets and a time
//! budget. The search checks [`Stop::hit`] in its loops (every few thousand
//! annealing moves, every repair pass and round, between zones, and while the
//! graph joins the neighbours of units bigger than the maximum), so a stopped
//! run gives its core back within milliseconds and [`regrid_stoppable`]
//! answers [`RegridError::Cancelled`] or [`RegridError::OutOfTime`].
//!
//! ```
//! use std::sync::atomic::{AtomicBool, Ordering};
//! use std::sync::Arc;
//! use analytics::regrid::{regrid_stoppable, synthetic_town, RegridError, RegridParams, Stop};
//!
//! let cancel = Arc::new(AtomicBool::new(true)); // cancelled before it starts
//! let stop = Stop::new(cancel.clone(), None);
//! let input = synthetic_town(400, 7);
//! let err = regrid_stoppable(&input, &RegridParams::micro(30, 80), &mut |_| {}, &stop);
//! assert!(matches!(err, Err(RegridError::Cancelled)));
//! ```
//!
//! [`regrid_stoppable`]: super::regrid_stoppable
//! [`RegridError::Cancelled`]: super::RegridError::Cancelled
//! [`RegridError::OutOfTime`]: super::RegridError::OutOfTime

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::RegridError;

/// When a run must stop: a shared cancel flag and an optional deadline.
#[derive(Debug, Clone, Default)]
pub struct Stop {
    cancel: Option<Arc<AtomicBool>>,
    deadline: Option<(Instant, Duration)>,
}

impl Stop {
    /// A run that is never stopped.
    pub fn never() -> Self {
        Self::default()
    }

    /// Stops when `cancel` is set, or `budget` after now.
    pub fn new(cancel: Arc<AtomicBool>, budget: Option<Duration>) -> Self {
        Self {
            cancel: Some(cancel),
            deadline: budget.map(|b| (Instant::now() + b, b)),
        }
    }

    /// Whether the run must stop now.
    pub fn hit(&self) -> bool {
        self.cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::Relaxed))
            || self.deadline.is_some_and(|(d, _)| Instant::now() >= d)
    }

    /// `Ok` while the run may go on; the reason it must stop otherwise
    /// (cancellation wins over the budget).
    pub fn check(&self) -> Result<(), RegridError> {
        if self
            .cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::Relaxed))
        {
            return Err(RegridError::Cancelled);
        }
        match self.deadline {
            Some((d, budget)) if Instant::now() >= d => Err(RegridError::OutOfTime {
                budget_s: budget.as_secs_f64(),
            }),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use super::Stop;
    use crate::regrid::{regrid_stoppable, synthetic_town, RegridError, RegridParams};

    /// A run that would take hours: a million annealing moves per unit
    /// (bounds above every unit of the synthetic town, so the time is in
    /// the search).
    fn endless() -> RegridParams {
        let mut p = RegridParams::micro(40, 60);
        p.moves_per_unit = 1_000_000;
        p
    }

    #[test]
    fn a_cancelled_run_returns_promptly() {
        let input = synthetic_town(3000, 11);
        let cancel = Arc::new(AtomicBool::new(false));
        let stop = Stop::new(cancel.clone(), None);
        let flag = cancel.clone();
        let setter = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            flag.store(true, Ordering::Relaxed);
            Instant::now()
        });
        let out = regrid_stoppable(&input, &endless(), &mut |_| {}, &stop);
        let returned = Instant::now();
        let cancelled_at = setter.join().expect("setter");
        assert!(matches!(out, Err(RegridError::Cancelled)), "{out:?}");
        // Generous for a loaded machine; an unstopped run takes hours.
        let late = returned.saturating_duration_since(cancelled_at);
        assert!(
            late < Duration::from_secs(5),
            "returned {late:?} after the cancel"
        );
    }

    #[test]
    fn a_run_over_its_budget_stops_naming_it() {
        let input = synthetic_town(3000, 12);
        let stop = Stop::new(
            Arc::new(AtomicBool::new(false)),
            Some(Duration::from_millis(300)),
        );
        let t0 = Instant::now();
        let out = regrid_stoppable(&input, &endless(), &mut |_| {}, &stop);
        assert!(t0.elapsed() < Duration::from_secs(10), "{:?}", t0.elapsed());
        match out {
            Err(e @ RegridError::OutOfTime { .. }) => {
                assert_eq!(
                    e.to_string(),
                    "the run was stopped after its time budget of 0.3 s"
                );
            }
            other => panic!("expected OutOfTime, got {other:?}"),
        }
    }

    #[test]
    fn an_unstopped_run_is_not_disturbed() {
        let input = synthetic_town(300, 13);
        let stop = Stop::new(
            Arc::new(AtomicBool::new(false)),
            Some(Duration::from_secs(3600)),
        );
        let a = regrid_stoppable(&input, &RegridParams::micro(30, 80), &mut |_| {}, &stop)
            .expect("run");
        let b =
            crate::regrid::regrid(&input, &RegridParams::micro(30, 80), &mut |_| {}).expect("run");
        assert_eq!(a.grids, b.grids);
    }
}
