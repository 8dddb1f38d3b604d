//! Re-gridding jobs of `wangge serve`, without HTTP: the store keeps every
//! job (`geo_core::store::RegridJobRow`, schema v11) so a restart loses
//! none; this module keeps what only a live process has — the running
//! jobs' progress and cancel flags ([`LiveJobs`]) — and runs a job
//! ([`run`]) on a blocking thread under a time budget
//! (`ServerConfig::regrid_budget`, `wangge serve --regrid-budget-s`).
//!
//! A job still `running` in the store when the server starts was cut by a
//! stop or a crash: it is ended `failed` with [`INTERRUPTED`] (not resumed:
//! the town may have changed meanwhile, a run is cheap to start again, and
//! resuming would start work nobody is waiting for).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use analytics::regrid::{RegridError, RegridParams, Stop};
use geo_core::model::GridKind;
use geo_core::store::{GridState, RegridJobEnd, Store};

use crate::service::regrid::{load_input, Proposal, RegridInput};

/// Why a job that was running when the server stopped is `failed`.
pub const INTERRUPTED: &str = "the server stopped while it ran; start it again";

/// Jobs kept in the store: the latest 64 (running ones are never dropped).
pub const MAX_JOBS: usize = 64;

/// Jobs allowed to run at once (the machine has few cores).
pub const MAX_RUNNING: usize = 2;

/// A running job as this process sees it.
#[derive(Debug)]
struct Live {
    progress: f32,
    cancel: Arc<AtomicBool>,
    /// Why it was cancelled (`cancelled by role:account`).
    cancelled: Option<String>,
}

#[derive(Debug, Default)]
struct Inner {
    running: HashMap<u64, Live>,
    /// Places taken by jobs being stored (not yet numbered).
    reserved: usize,
    /// Jobs whose adoption runs now.
    adopting: HashSet<u64>,
}

/// The running jobs of this process: progress, cancel flags, adoptions.
#[derive(Debug, Default)]
pub struct LiveJobs(Mutex<Inner>);

/// No place for one more job: `MAX_RUNNING` run.
#[derive(Debug, thiserror::Error)]
#[error("{0} re-gridding jobs are running; try again when one is done")]
pub struct Busy(pub usize);

impl LiveJobs {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding this lock leaves plain numbers behind: go on.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes a place for a job about to be stored.
    pub fn reserve(&self) -> Result<(), Busy> {
        let mut g = self.lock();
        let n = g.running.len() + g.reserved;
        if n >= MAX_RUNNING {
            return Err(Busy(n));
        }
        g.reserved += 1;
        Ok(())
    }

    /// Gives back a place taken by [`LiveJobs::reserve`]; with `Some(id)`
    /// the job runs now and its cancel flag is answered.
    pub fn settle(&self, id: Option<u64>) -> Arc<AtomicBool> {
        let mut g = self.lock();
        g.reserved = g.reserved.saturating_sub(1);
        let cancel = Arc::new(AtomicBool::new(false));
        if let Some(id) = id {
            g.running.insert(
                id,
                Live {
                    progress: 0.0,
                    cancel: cancel.clone(),
                    cancelled: None,
                },
            );
        }
        cancel
    }

    /// Live progress of a running job.
    pub fn progress(&self, id: u64) -> Option<f32> {
        self.lock().running.get(&id).map(|l| l.progress)
    }

    fn set_progress(&self, id: u64, f: f32) {
        if let Some(l) = self.lock().running.get_mut(&id) {
            l.progress = f;
        }
    }

    /// Sets the cancel flag of a running job with the reason its end
    /// records; `false` when it does not run in this process.
    pub fn cancel(&self, id: u64, reason: &str) -> bool {
        match self.lock().running.get_mut(&id) {
            Some(l) => {
                l.cancelled = Some(reason.to_string());
                l.cancel.store(true, Ordering::Relaxed);
                true
            }
            None => false,
        }
    }

    fn cancel_reason(&self, id: u64) -> String {
        self.lock()
            .running
            .get(&id)
            .and_then(|l| l.cancelled.clone())
            .unwrap_or_else(|| "cancelled".into())
    }

    fn finish(&self, id: u64) {
        self.lock().running.remove(&id);
    }

    /// Marks an adoption as running; `false` when one runs already.
    pub fn begin_adoption(&self, id: u64) -> bool {
        self.lock().adopting.insert(id)
    }

    /// Ends an adoption started by [`LiveJobs::begin_adoption`].
    pub fn end_adoption(&self, id: u64) {
        self.lock().adopting.remove(&id);
    }
}

/// What [`run`] needs besides the store.
#[derive(Debug, Clone)]
pub struct JobSpec {
    /// Job ID.
    pub id: u64,
    /// Level re-gridded.
    pub level: GridKind,
    /// Community as the request named it.
    pub community: Option<String>,
    /// Parameters.
    pub params: RegridParams,
    /// Time budget.
    pub budget: Duration,
    /// Its cancel flag ([`LiveJobs::settle`]).
    pub cancel: Arc<AtomicBool>,
}

/// The reason of a job stopped by its budget.
pub fn over_budget(budget: Duration) -> String {
    format!(
        "stopped after the time budget of {} s (wangge serve --regrid-budget-s); \
         re-grid one community or allow wider bounds, or raise the budget",
        budget.as_secs()
    )
}

/// What a job reads before it runs: the grid state it starts from and the
/// town's input ([`read_input`]), or why they could not be read.
pub type JobInput = Result<(RegridInput, GridState), String>;

/// Reads a job's input on `store` (a read connection: the job never holds
/// the write connection, so intake and moves go on while a town loads).
/// The grid state is read first: a grid change committed between the two
/// reads makes the proposal look stale at adoption (refused, run again),
/// never fresh when it is not.
pub fn read_input(store: &Store, level: GridKind, community: Option<&str>) -> JobInput {
    let basis = store.grid_state().map_err(|e| e.to_string())?;
    let input = load_input(store, level, community).map_err(|e| format!("{e:#}"))?;
    Ok((input, basis))
}

/// Runs job `spec` on this (blocking) thread on the `input` read for it:
/// runs the recommender under `stop` (the cancel flag and the budget,
/// counted from the job's start, reading the town included), then stores
/// how it ended (the first end wins: a job cancelled over HTTP is stored
/// `cancelled` at once and this end changes nothing) and leaves
/// [`LiveJobs`]. `now_s` gives the end time.
pub fn run(
    store: &Mutex<Store>,
    live: &LiveJobs,
    spec: &JobSpec,
    stop: Stop,
    input: JobInput,
    now_s: impl Fn() -> i64,
) {
    let id = spec.id;
    // A panic in the search must still end the job and free its place.
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let (input, basis) = input.map_err(Stopped::Failed)?;
        compute(live, spec, &stop, &input).map(|(result, proposal)| (result, proposal, basis))
    }))
    .unwrap_or_else(|_| {
        Err(Stopped::Failed(
            "the run stopped on an internal error".into(),
        ))
    });
    let progress = live.progress(id).unwrap_or(0.0);
    let end = match outcome {
        Ok((result, proposal, basis)) => match serde_json::to_string(&proposal) {
            Ok(proposal) => RegridJobEnd::Done {
                result,
                proposal,
                basis,
            },
            Err(e) => RegridJobEnd::Failed(format!("encoding: {e}")),
        },
        Err(Stopped::Cancelled) => RegridJobEnd::Cancelled(live.cancel_reason(id)),
        Err(Stopped::Failed(e)) => {
            tracing::warn!(job = id, error = %e, "re-gridding job failed");
            RegridJobEnd::Failed(e)
        }
    };
    let p = if matches!(end, RegridJobEnd::Done { .. }) {
        1.0
    } else {
        progress
    };
    match store.lock() {
        Ok(mut s) => {
            if let Err(e) = s.end_regrid_job(id, &end, p, now_s()) {
                tracing::error!(job = id, error = %e, "storing the end of a re-gridding job");
            }
        }
        Err(_) => tracing::error!(job = id, "store lock poisoned: job end not stored"),
    }
    live.finish(id);
}

enum Stopped {
    Cancelled,
    Failed(String),
}

fn compute(
    live: &LiveJobs,
    spec: &JobSpec,
    stop: &Stop,
    input: &RegridInput,
) -> Result<(String, Proposal), Stopped> {
    let id = spec.id;
    let why = |e: RegridError| match e {
        RegridError::Cancelled => Stopped::Cancelled,
        RegridError::OutOfTime { .. } => Stopped::Failed(over_budget(spec.budget)),
        e => Stopped::Failed(e.to_string()),
    };
    stop.check().map_err(why)?;
    live.set_progress(id, 0.05);
    let mut last = 0.0f32;
    let proposal = analytics::regrid::regrid_stoppable(
        input,
        &spec.params,
        &mut |f| {
            if f - last >= 0.01 || f >= 1.0 {
                last = f;
                live.set_progress(id, 0.05 + 0.95 * f.clamp(0.0, 1.0));
            }
        },
        stop,
    )
    .map_err(why)?;
    let result = JobResult {
        geojson: analytics::regrid::to_geojson(&proposal),
        report: &proposal.report,
    };
    let result = serde_json::to_string(&result).map_err(|e| Stopped::Failed(e.to_string()))?;
    Ok((result, proposal))
}

/// The stored answer of a finished job (`GET /api/v1/regrid/{job}` serves
/// it): the proposal as GeoJSON and its report.
#[derive(serde::Serialize)]
struct JobResult<'a, G: serde::Serialize> {
    geojson: G,
    report: &'a analytics::regrid::RegridReport,
}
