//! `wangge demo`: generate the demo town into the store.

use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use chrono::{DateTime, Utc};
use clap::Args;
use geo_core::index::SpatialIndex;
use geo_core::store::{Provenance, Store, StoreError};
use geo_core::{Dataset, DatasetSink};
use wangge_data::demo::{self, Scale};

use crate::ingest::{assign, IngestReport};
use crate::service::demo_feed;

/// Arguments of `wangge demo`.
#[derive(Args, Debug)]
pub struct DemoArgs {
    /// community (~12k residents), town (~125k), district (~420k) or province (10M+).
    #[arg(long, default_value = "town")]
    pub scale: String,
    /// Random seed; the same seed gives the same town.
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
    /// Write even if the store already holds data (IDs must not collide).
    #[arg(long)]
    pub force: bool,
    /// The "now" the year of events runs up to (RFC 3339, e.g.
    /// 2026-12-06T15:00:00+08:00); default: the current time. The same seed
    /// and time give the same demo.
    #[arg(long)]
    pub now: Option<String>,
}

/// Writes each generated batch to the store, assigning elements against all
/// grids seen so far.
pub struct StoreSink<'a> {
    store: &'a mut Store,
    index: SpatialIndex,
    /// Running totals.
    pub report: IngestReport,
    scale: String,
}

impl<'a> StoreSink<'a> {
    /// A sink writing into `store`.
    pub fn new(store: &'a mut Store, scale: &str) -> Self {
        Self {
            store,
            index: SpatialIndex::build(&Dataset::default()),
            report: IngestReport::default(),
            scale: scale.to_string(),
        }
    }
}

impl DatasetSink for StoreSink<'_> {
    type Error = StoreError;
    fn accept(&mut self, batch: Dataset) -> Result<(), StoreError> {
        for c in &batch.communities {
            let _ = self.index.insert_community(c);
        }
        for g in &batch.grids {
            let _ = self.index.insert_grid(g);
        }
        let (refs, r) = assign(&batch, &self.index, Some(self.store))?;
        let prov = Provenance {
            kind: "demo".into(),
            source: format!("wangge demo --scale {}", self.scale),
            crs: "wgs84".into(),
        };
        let w = self.store.write(&batch, &refs, Some(&prov))?;
        self.report.rows += w.rows;
        self.report.located += r.located;
        self.report.outside_every_grid += r.outside_every_grid;
        Ok(())
    }
}

/// Generates the demo into an open store with its year of events running up
/// to `now` (`wangge_data::demo::fixed_end()` for the fixed year the tests
/// count on), and records in the store that `wangge demo` made it
/// ([`crate::service::demo_feed::DemoMark`], which turns on the demo feed of
/// `wangge serve`); returns the totals.
pub fn generate_into(
    store: &mut Store,
    scale: Scale,
    seed: u64,
    now: DateTime<Utc>,
    show_progress: bool,
) -> Result<IngestReport> {
    let pb = super::bar(100, "generating");
    if !show_progress {
        pb.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let name = scale.as_str();
    let mut sink = StoreSink::new(store, name);
    let mut progress = |p: demo::Progress| {
        let done = f64::from(p.town.saturating_sub(1))
            + f64::from(p.community) / f64::from(p.communities.max(1));
        pb.set_position((100.0 * done / f64::from(p.towns.max(1))) as u64);
    };
    demo::generate_until(scale, seed, now, &mut sink, &mut progress)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    pb.finish_and_clear();
    let report = sink.report;
    seed_visits(store, seed, now)?;
    let last_event_id = store.max_event_id()?;
    demo_feed::mark(
        store,
        &demo_feed::DemoMark {
            scale: name.to_string(),
            seed,
            until: now.to_rfc3339(),
            last_event_id,
        },
    )?;
    Ok(report)
}

/// Visits and needs of the care-list households (`demo::visits`), so the
/// household files and the overdue lists have something to show. A store
/// that already holds visits (a second town with `--force`) gets none.
pub fn seed_visits(store: &mut Store, seed: u64, now: chrono::DateTime<chrono::Utc>) -> Result<()> {
    if store.visit_count()? > 0 {
        return Ok(());
    }
    let tagged: Vec<_> = store
        .care_rows(&geo_core::store::Scope::Town)?
        .into_iter()
        .filter(|r| geo_core::model::schedule_days(&r.tags).is_some())
        .map(|r| (r.household, r.tags))
        .collect();
    let (visits, needs) = demo::visits::plan(&tagged, seed, now);
    store.insert_visits(&visits, &needs)?;
    Ok(())
}

/// Runs `wangge demo`.
pub fn run(db: &Path, a: DemoArgs) -> Result<()> {
    let scale: Scale = a
        .scale
        .parse()
        .map_err(|e| anyhow::anyhow!("--scale: {e}"))?;
    let mut store = super::key::open_or_create_store(db)?;
    if !store.is_empty()? && !a.force {
        bail!(
            "store {} already holds data; use another --db, or --force to add a second town",
            db.display()
        );
    }
    let now = match &a.now {
        Some(t) => DateTime::parse_from_rfc3339(t)
            .map_err(|e| anyhow::anyhow!("--now {t:?}: {e} (expected RFC 3339)"))?
            .with_timezone(&Utc),
        None => Utc::now(),
    };
    let t = Instant::now();
    let r = generate_into(&mut store, scale, a.seed, now, true)?;
    eprintln!(
        "demo {:?} (seed {}): {} rows in {:.1} s into {}",
        scale,
        a.seed,
        r.rows,
        t.elapsed().as_secs_f64(),
        db.display()
    );
    if r.outside_every_grid > 0 {
        eprintln!(
            "warning: {} of {} located elements fall inside no grid",
            r.outside_every_grid, r.located
        );
    }
    print_demo_accounts(&demo_accounts(&mut store)?);
    Ok(())
}

/// One demo account with its password (shown once).
#[derive(Debug, Clone)]
pub struct DemoAccount {
    /// Log-in name.
    pub name: String,
    /// Role.
    pub role: &'static str,
    /// Random password, or the kiosk token for `screen`.
    pub secret: String,
    /// Scope in words.
    pub scope: String,
}

/// Creates one account per role on a demo store, each with a random
/// password, and a kiosk token for the big screen; returns them to be
/// printed once. Accounts that exist are left alone (not listed).
pub fn demo_accounts(store: &mut Store) -> Result<Vec<DemoAccount>> {
    use crate::auth::password::{random_password, AccountSpec};
    let now = chrono::Utc::now().timestamp();
    let grid = store
        .grids()?
        .into_iter()
        .find(|g| g.kind == geo_core::model::GridKind::Comprehensive)
        .map(|g| g.code.as_str().to_string())
        .context("the demo town has no comprehensive grid")?;
    // (name, shown name, role, grids, department, scope in words)
    type Plan<'a> = (
        &'a str,
        &'a str,
        &'a str,
        Vec<String>,
        Option<&'a str>,
        String,
    );
    let plan: [Plan<'_>; 5] = [
        (
            "leader",
            "镇领导（演示）",
            "leader",
            vec![],
            None,
            "whole town".into(),
        ),
        (
            "planner",
            "规划员（演示）",
            "planner",
            vec![],
            None,
            "aggregates".into(),
        ),
        (
            "worker",
            "网格员（演示）",
            "worker",
            vec![grid.clone()],
            None,
            format!("grid {grid}"),
        ),
        (
            "fire",
            "消防（演示）",
            "department",
            vec![],
            Some("fire_service"),
            "events dispatched to fire_service".into(),
        ),
        (
            "wall",
            "大屏账号（演示）",
            "screen",
            vec![],
            None,
            "read-only, aggregates".into(),
        ),
    ];
    let mut out = Vec::new();
    for (name, display, role, grids, dept, scope) in plan {
        if store.account(name)?.is_some() {
            continue;
        }
        let password = random_password();
        let row =
            AccountSpec::new(name, Some(display), role, &grids, dept)?.into_row(&password, now)?;
        store.add_account(&row)?;
        let spec_role = crate::role::Role::parse(role).name();
        out.push(DemoAccount {
            name: name.into(),
            role: spec_role,
            secret: password,
            scope,
        });
    }
    let token = super::user::add_kiosk_token(store, "screen", "demo wall", &[], now)?;
    out.push(DemoAccount {
        name: "kiosk token".into(),
        role: "screen",
        secret: token,
        scope: "open /screen?token=… or /embed?token=…".into(),
    });
    store.audit(
        "cli",
        "demo_accounts",
        &format!("{} accounts", out.len() - 1),
    )?;
    Ok(out)
}

/// Prints the demo accounts (stdout, one per line: `demo account: NAME ROLE SECRET SCOPE`).
pub fn print_demo_accounts(accounts: &[DemoAccount]) {
    if accounts.is_empty() {
        return;
    }
    println!("demo accounts (passwords shown once; change them with `wangge user passwd NAME`):");
    for a in accounts {
        println!(
            "demo account: {}\t{}\t{}\t{}",
            a.name, a.role, a.secret, a.scope
        );
    }
}
