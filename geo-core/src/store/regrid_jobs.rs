//! Re-gridding jobs (schema v11): what the server's background re-gridding
//! runs asked for, how they ended and what adopting one needs, so a finished
//! job can be read and adopted after a restart. The store keeps the answer
//! and the proposal as the JSON text the caller gives (it knows their
//! shape); the grid state the run read (`basis`) is kept so adoption still
//! refuses a stale proposal.
//!
//! Job IDs keep increasing: a new job takes the highest ID stored plus one,
//! and pruning never removes the newest job, so an ID is never handed out
//! twice. A job still `running` when the server stops is ended `failed` by
//! [`Store::fail_running_regrid_jobs`] when it starts again.

use duckdb::params;

use super::error::{Ctx, Result, StoreError};
use super::read::get;
use super::{GridState, Store};

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegridJobState {
    /// Running in this server process.
    Running,
    /// Finished with a proposal.
    Done,
    /// Ended with an error (its reason in `error`).
    Failed,
    /// Cancelled by its owner or a leader.
    Cancelled,
}

impl RegridJobState {
    /// The stored (and answered) name.
    pub fn code(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Done => "done",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    fn parse(s: &str, id: u64) -> Result<Self> {
        Ok(match s {
            "running" => Self::Running,
            "done" => Self::Done,
            "failed" => Self::Failed,
            "cancelled" => Self::Cancelled,
            _ => {
                return Err(StoreError::Corrupt {
                    table: "regrid_jobs",
                    id,
                    column: "state",
                    reason: format!("unknown job state {s:?}"),
                })
            }
        })
    }
}

/// A job as it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRegridJob {
    /// Who started it (`role:account`).
    pub owner: String,
    /// Level re-gridded (`micro`, `comprehensive`).
    pub level: String,
    /// Community re-gridded (raw ID); the whole town when `None`.
    pub community: Option<u64>,
    /// The run's parameters, JSON.
    pub params: String,
    /// Unix seconds.
    pub created_at: i64,
}

/// How a job ended.
#[derive(Debug, Clone, PartialEq)]
pub enum RegridJobEnd {
    /// With a proposal.
    Done {
        /// The answer (`{geojson, report}`), JSON.
        result: String,
        /// What adoption needs (the proposal), JSON.
        proposal: String,
        /// The grid state the run read.
        basis: GridState,
    },
    /// With an error.
    Failed(String),
    /// Cancelled, with who or what cancelled it.
    Cancelled(String),
}

/// One stored job.
#[derive(Debug, Clone, PartialEq)]
pub struct RegridJobRow {
    /// Job ID (from 1, never reused).
    pub id: u64,
    /// Who started it.
    pub owner: String,
    /// Level re-gridded.
    pub level: String,
    /// Community re-gridded (raw ID).
    pub community: Option<u64>,
    /// Parameters, JSON.
    pub params: String,
    /// Where it is.
    pub state: RegridJobState,
    /// Progress 0–1 when it ended (live progress is the server's).
    pub progress: f32,
    /// Why it failed or was cancelled.
    pub error: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds, once ended.
    pub finished_at: Option<i64>,
    /// Grid state the run read (done jobs).
    pub basis: Option<GridState>,
    /// The answer, JSON (done jobs).
    pub result: Option<String>,
    /// The proposal, JSON (done jobs).
    pub proposal: Option<String>,
    /// Grid version it was adopted as.
    pub adopted_version: Option<i64>,
}

const COLUMNS: &str = "id, owner, level, community, params, state, progress, error, created_at, \
     finished_at, basis_version, basis_grids, basis_retired, basis_communities, result, proposal, \
     adopted_version";

impl Store {
    /// Stores a new `running` job and answers its ID (the highest stored
    /// plus one), then drops the oldest ended jobs beyond the latest `keep`
    /// (running jobs are never dropped), in one transaction.
    pub fn start_regrid_job(&mut self, job: &NewRegridJob, keep: usize) -> Result<u64> {
        let tx = self.conn.transaction().ctx("starting a transaction")?;
        let id: u64 = tx
            .query_row(
                "SELECT CAST(coalesce(max(id), 0) + 1 AS UBIGINT) FROM regrid_jobs",
                [],
                |r| r.get(0),
            )
            .ctx("numbering a re-gridding job")?;
        tx.execute(
            "INSERT INTO regrid_jobs (id, owner, level, community, params, state, progress, created_at)
             VALUES (?, ?, ?, ?, ?, 'running', 0, ?)",
            params![
                id,
                job.owner,
                job.level,
                job.community,
                job.params,
                job.created_at
            ],
        )
        .ctx("storing a re-gridding job")?;
        tx.execute(
            "DELETE FROM regrid_jobs WHERE state <> 'running'
               AND id NOT IN (SELECT id FROM regrid_jobs ORDER BY id DESC LIMIT ?)",
            params![keep.max(1) as u64],
        )
        .ctx("dropping old re-gridding jobs")?;
        tx.commit().ctx("committing a re-gridding job")?;
        Ok(id)
    }

    /// Ends a `running` job; answers whether it was running (a job ends
    /// once: the first end wins, a later one changes nothing).
    pub fn end_regrid_job(
        &mut self,
        id: u64,
        end: &RegridJobEnd,
        progress: f32,
        at_s: i64,
    ) -> Result<bool> {
        let n = match end {
            RegridJobEnd::Done {
                result,
                proposal,
                basis,
            } => self.conn.execute(
                "UPDATE regrid_jobs SET state = 'done', progress = ?, finished_at = ?,
                   basis_version = ?, basis_grids = ?, basis_retired = ?, basis_communities = ?,
                   result = ?, proposal = ?
                 WHERE id = ? AND state = 'running'",
                params![
                    progress,
                    at_s,
                    basis.version,
                    basis.grids,
                    basis.retired,
                    basis.communities,
                    result,
                    proposal,
                    id
                ],
            ),
            RegridJobEnd::Failed(reason) | RegridJobEnd::Cancelled(reason) => {
                let state = if matches!(end, RegridJobEnd::Failed(_)) {
                    "failed"
                } else {
                    "cancelled"
                };
                self.conn.execute(
                    "UPDATE regrid_jobs SET state = ?, progress = ?, finished_at = ?, error = ?
                     WHERE id = ? AND state = 'running'",
                    params![state, progress, at_s, reason, id],
                )
            }
        }
        .ctx("ending a re-gridding job")?;
        Ok(n > 0)
    }

    /// Ends every job still `running` as `failed` with `reason` (at server
    /// start: no job runs before it); answers how many.
    pub fn fail_running_regrid_jobs(&mut self, reason: &str, at_s: i64) -> Result<usize> {
        self.conn
            .execute(
                "UPDATE regrid_jobs SET state = 'failed', finished_at = ?, error = ?
                 WHERE state = 'running'",
                params![at_s, reason],
            )
            .ctx("failing interrupted re-gridding jobs")
    }

    /// Records that job `id` was adopted as grid version `version`.
    pub fn set_regrid_job_adopted(&mut self, id: u64, version: i64) -> Result<()> {
        self.conn
            .execute(
                "UPDATE regrid_jobs SET adopted_version = ? WHERE id = ?",
                params![version, id],
            )
            .ctx("recording a re-gridding job's adoption")?;
        Ok(())
    }

    /// One job, if stored.
    pub fn regrid_job(&self, id: u64) -> Result<Option<RegridJobRow>> {
        let rows = self.collect(
            &format!("SELECT {COLUMNS} FROM regrid_jobs WHERE id = ?"),
            &[duckdb::types::Value::UBigInt(id)],
            |r| {
                let id: u64 = get(r, 0)?;
                let state: String = get(r, 5)?;
                let basis_version: Option<i64> = get(r, 10)?;
                let basis = match basis_version {
                    Some(version) => Some(GridState {
                        version,
                        grids: get(r, 11)?,
                        retired: get(r, 12)?,
                        communities: get(r, 13)?,
                    }),
                    None => None,
                };
                Ok(RegridJobRow {
                    id,
                    owner: get(r, 1)?,
                    level: get(r, 2)?,
                    community: get(r, 3)?,
                    params: get(r, 4)?,
                    state: RegridJobState::parse(&state, id)?,
                    progress: get(r, 6)?,
                    error: get(r, 7)?,
                    created_at: get(r, 8)?,
                    finished_at: get(r, 9)?,
                    basis,
                    result: get(r, 14)?,
                    proposal: get(r, 15)?,
                    adopted_version: get(r, 16)?,
                })
            },
        )?;
        Ok(rows.into_iter().next())
    }

    /// IDs of the stored jobs, oldest first.
    pub fn regrid_job_ids(&self) -> Result<Vec<u64>> {
        self.collect("SELECT id FROM regrid_jobs ORDER BY id", &[], |r| get(r, 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypt::Keyring;

    fn new_job(owner: &str) -> NewRegridJob {
        NewRegridJob {
            owner: owner.into(),
            level: "micro".into(),
            community: Some(3),
            params: r#"{"min":30}"#.into(),
            created_at: 100,
        }
    }

    #[test]
    fn a_job_ends_once_and_keeps_what_adoption_needs() {
        let mut store = Store::open_in_memory().expect("store");
        let id = store
            .start_regrid_job(&new_job("planner:p"), 64)
            .expect("start");
        assert_eq!(id, 1);
        let basis = GridState {
            version: 2,
            grids: 40,
            retired: 5,
            communities: 3,
        };
        let done = RegridJobEnd::Done {
            result: r#"{"report":{}}"#.into(),
            proposal: r#"{"grids":[]}"#.into(),
            basis,
        };
        assert!(store.end_regrid_job(id, &done, 1.0, 160).expect("end"));
        // A cancel that comes after the end changes nothing.
        let late = RegridJobEnd::Cancelled("cancelled by planner:p".into());
        assert!(!store.end_regrid_job(id, &late, 0.5, 170).expect("late"));
        store.set_regrid_job_adopted(id, 3).expect("adopted");
        let row = store.regrid_job(id).expect("read").expect("stored");
        assert_eq!(row.state, RegridJobState::Done);
        assert_eq!(row.owner, "planner:p");
        assert_eq!(row.community, Some(3));
        assert_eq!(row.basis, Some(basis));
        assert_eq!(row.proposal.as_deref(), Some(r#"{"grids":[]}"#));
        assert_eq!(row.finished_at, Some(160));
        assert_eq!(row.adopted_version, Some(3));
        assert_eq!(row.error, None);
        assert!(store.regrid_job(99).expect("read").is_none());
    }

    #[test]
    fn ids_keep_increasing_across_a_reopen_and_running_jobs_fail_at_start() {
        let dir = std::env::temp_dir().join(format!("wangge-jobs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("jobs.duckdb");
        let keys = Keyring::ephemeral().expect("key");
        {
            let mut store = Store::open(&path, &keys).expect("open");
            for _ in 0..3 {
                store
                    .start_regrid_job(&new_job("planner:p"), 64)
                    .expect("start");
            }
            store
                .end_regrid_job(1, &RegridJobEnd::Failed("no units".into()), 0.1, 5)
                .expect("end");
        }
        let mut store = Store::open(&path, &keys).expect("reopen");
        assert_eq!(
            store
                .fail_running_regrid_jobs("the server stopped", 200)
                .expect("fail"),
            2
        );
        let two = store.regrid_job(2).expect("read").expect("stored");
        assert_eq!(two.state, RegridJobState::Failed);
        assert_eq!(two.error.as_deref(), Some("the server stopped"));
        assert_eq!(two.finished_at, Some(200));
        // The first job's own reason is kept.
        let one = store.regrid_job(1).expect("read").expect("stored");
        assert_eq!(one.error.as_deref(), Some("no units"));
        assert_eq!(
            store
                .start_regrid_job(&new_job("leader:l"), 64)
                .expect("start"),
            4
        );
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn pruning_keeps_the_latest_and_every_running_job() {
        let mut store = Store::open_in_memory().expect("store");
        let first = store
            .start_regrid_job(&new_job("planner:p"), 3)
            .expect("start");
        for _ in 0..5 {
            let id = store
                .start_regrid_job(&new_job("planner:p"), 3)
                .expect("start");
            store
                .end_regrid_job(id, &RegridJobEnd::Failed("x".into()), 0.0, 1)
                .expect("end");
        }
        // The latest 3 IDs stay, and job 1, which still runs.
        let ids = store.regrid_job_ids().expect("ids");
        assert_eq!(ids, [first, 4, 5, 6]);
        let next = store
            .start_regrid_job(&new_job("planner:p"), 3)
            .expect("start");
        assert_eq!(next, 7);
        assert_eq!(store.regrid_job_ids().expect("ids"), [first, 5, 6, 7]);
    }
}
