//! Re-gridding glue shared by `wangge regrid` (`cli::regrid`) and the HTTP
//! job (`POST /api/v1/regrid`): the request and its checks, what a run reads
//! from the store ([`load_input`]) and the grid change that adopts a
//! proposal ([`change_from_proposal`]).

use std::collections::HashSet;

use analytics::regrid::Mode;
pub use analytics::regrid::{
    regrid, Diagnostic, Parent, Proposal, RegridInput, RegridParams, RegridReport,
};
use anyhow::{anyhow, bail, Context, Result};
use chrono::{DateTime, Utc};
use geo::BoundingRect;
use geo_core::ids::{CommunityId, UnitId};
use geo_core::model::{Community, GridKind};
use geo_core::store::{GridChange, GridState, LoadSet, NewGrid, Scope, Store};
use serde::Deserialize;

/// Parameters of one run, as the CLI and the HTTP body give them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegridRequest {
    /// `micro` or `comprehensive`.
    #[serde(default = "default_level")]
    pub level: String,
    /// Community (division code, name or ID); whole town when absent.
    #[serde(default)]
    pub community: Option<String>,
    /// Fewest households per grid.
    pub min: u32,
    /// Most households per grid.
    pub max: u32,
    /// `max`, `count:N` or `minimal-change`.
    #[serde(default = "default_mode")]
    pub mode: String,
    /// Seed.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Split units bigger than `max` into floor ranges.
    #[serde(default)]
    pub allow_floor_split: bool,
    /// Search effort: annealing moves tried per unit (1–[`MAX_MOVES`],
    /// default 30); more is slower and may give better shapes.
    #[serde(default)]
    pub moves_per_unit: Option<u32>,
}

fn default_level() -> String {
    "micro".into()
}
fn default_mode() -> String {
    "max".into()
}
fn default_seed() -> u64 {
    1
}

/// A request parameter that cannot be used, with the reason.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// `level` is not micro or comprehensive.
    #[error("level={0:?}: expected micro or comprehensive")]
    Level(String),
    /// `mode` is not max, count:N or minimal-change.
    #[error("mode={0:?}: expected max, count:N (N ≥ 1) or minimal-change")]
    Mode(String),
    /// No community has this code, name or ID.
    #[error("community={0:?}: no community has this division code, name or ID")]
    Community(String),
    /// The parameters are out of their domain.
    #[error("{0}")]
    Params(#[from] analytics::regrid::RegridError),
    /// The search effort is outside 1–[`MAX_MOVES`].
    #[error("moves_per_unit={0}: expected 1 to {MAX_MOVES}")]
    Moves(u32),
    /// Below the floors of a request: tiny grids make the search explode
    /// (min 1, max 2 ran for minutes) and no town is gridded that finely.
    #[error("min={min}, max={max}: a re-gridding needs min ≥ {MIN_HOUSEHOLDS} and max ≥ {MIN_SPAN} + min households per grid")]
    Floor {
        /// `min` asked for.
        min: u32,
        /// `max` asked for.
        max: u32,
    },
}

/// Floor of `min`: fewest households per grid a request may ask for.
pub const MIN_HOUSEHOLDS: u32 = 10;
/// Floor of `max - min`: the room the partition needs to balance grids.
pub const MIN_SPAN: u32 = 10;
/// Most annealing moves per unit a request may ask for (the server's time
/// budget bounds the run in any case).
pub const MAX_MOVES: u32 = 10_000;

impl RegridRequest {
    /// Checks the request and turns it into the recommender's parameters.
    pub fn params(&self) -> Result<RegridParams, RequestError> {
        if self.min < MIN_HOUSEHOLDS || self.max < self.min.saturating_add(MIN_SPAN) {
            return Err(RequestError::Floor {
                min: self.min,
                max: self.max,
            });
        }
        let level = match self.level.trim().to_ascii_lowercase().as_str() {
            "micro" => GridKind::Micro,
            "comprehensive" => GridKind::Comprehensive,
            _ => return Err(RequestError::Level(self.level.clone())),
        };
        let mode = parse_mode(&self.mode).ok_or_else(|| RequestError::Mode(self.mode.clone()))?;
        let mut p = match level {
            GridKind::Micro => RegridParams::micro(self.min, self.max),
            _ => RegridParams::comprehensive(self.min, self.max),
        }
        .with_mode(mode)
        .with_seed(self.seed);
        p.allow_floor_split = self.allow_floor_split;
        if let Some(n) = self.moves_per_unit {
            if !(1..=MAX_MOVES).contains(&n) {
                return Err(RequestError::Moves(n));
            }
            p.moves_per_unit = n;
        }
        p.validate()?;
        Ok(p)
    }

    /// The community asked for, looked up among `communities`.
    pub fn community_id(
        &self,
        communities: &[Community],
    ) -> Result<Option<CommunityId>, RequestError> {
        match self
            .community
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => Ok(None),
            Some(s) => find_community(communities, s)
                .map(|c| Some(c.id))
                .ok_or_else(|| RequestError::Community(s.to_string())),
        }
    }
}

/// Parses `max`, `count:N` or `minimal-change`.
pub fn parse_mode(s: &str) -> Option<Mode> {
    let t = s.trim().to_ascii_lowercase();
    match t.as_str() {
        "max" => Some(Mode::Max),
        "minimal-change" | "minimal_change" | "minimal" => Some(Mode::MinimalChange),
        _ => t
            .strip_prefix("count:")
            .and_then(|n| n.trim().parse::<usize>().ok())
            .filter(|&n| n > 0)
            .map(Mode::Count),
    }
}

/// A community by 12-digit division code, name or numeric ID.
pub fn find_community<'a>(communities: &'a [Community], s: &str) -> Option<&'a Community> {
    communities
        .iter()
        .find(|c| c.code.as_str() == s || c.name == s || c.id.get().to_string() == s)
}

/// Loads what a run reads from the store: every unit with its stored grid
/// references (today's grid and its parent at `level`), households,
/// residents, elderly, key people, events of the 12 months before the latest
/// event, roads and compound walls. With `community`, only its units are
/// kept and the grids tile its boundary. `community` is a division code,
/// name or ID (see [`find_community`]).
pub fn load_input(store: &Store, level: GridKind, community: Option<&str>) -> Result<RegridInput> {
    let ds = store
        .load(&Scope::Town, LoadSet::All)
        .context("loading the town")?;
    let community = match community.map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(
            find_community(&ds.communities, s)
                .map(|c| c.id)
                .ok_or_else(|| RequestError::Community(s.to_string()))?,
        ),
    };
    let ids: Vec<u64> = ds.units.iter().map(|u| u.id.get()).collect();
    let refs = store
        .refs_of(geo_core::io::ElementKind::Units, &ids)
        .context("reading unit grid references")?;
    let as_of: DateTime<Utc> = ds
        .events
        .iter()
        .map(|e| e.reported_at)
        .max()
        .unwrap_or_else(Utc::now);
    let mut input = RegridInput::from_dataset(&ds, level, as_of, |u: UnitId| {
        refs.get(&u.get()).copied().unwrap_or_default()
    });
    if let Some(c) = community {
        let comm = ds
            .communities
            .iter()
            .find(|x| x.id == c)
            .ok_or_else(|| anyhow!("community {c} is not in the store"))?;
        let keep: HashSet<u64> = refs
            .iter()
            .filter(|(_, r)| r.community == Some(c))
            .map(|(id, _)| *id)
            .collect();
        input.units.retain(|u| keep.contains(&u.id.get()));
        input.boundary = comm.boundary.clone();
        if let Some(r) = comm.boundary.bounding_rect() {
            let m = 0.002; // ≈ 200 m: barriers just outside still cut links at the edge
            let (w, s, e, n) = (r.min().x - m, r.min().y - m, r.max().x + m, r.max().y + m);
            input.barriers.retain(|b| {
                b.line.bounding_rect().is_some_and(|br| {
                    br.min().x <= e && br.max().x >= w && br.min().y <= n && br.max().y >= s
                })
            });
        }
    }
    if input.units.is_empty() {
        bail!(
            "no unit to re-grid{}",
            community
                .map(|c| format!(" in community {c}"))
                .unwrap_or_default()
        );
    }
    Ok(input)
}

/// Resolves a community given as division code, name or ID.
pub fn resolve_community(store: &Store, community: Option<&str>) -> Result<Option<CommunityId>> {
    match community.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => Ok(Some(
            find_community(&store.communities()?, s)
                .map(|c| c.id)
                .ok_or_else(|| RequestError::Community(s.to_string()))?,
        )),
    }
}

/// The grid change that adopts proposal `p`, computed at `level` for
/// `community` (the whole town when `None`) against grid state `basis`.
/// Each proposed grid brings its units (their households follow them); a
/// grid that is a floor range of a unit brings the households of its floors.
pub fn change_from_proposal(
    p: &Proposal,
    level: GridKind,
    community: Option<CommunityId>,
    basis: Option<GridState>,
    actor: &str,
    note: &str,
    source: &str,
) -> GridChange {
    let grids = p
        .grids
        .iter()
        .map(|g| {
            let (parent, comm) = match g.parent {
                Some(Parent::Grid(x)) => (Some(x), None),
                Some(Parent::Community(c)) => (None, Some(c)),
                None => (None, None),
            };
            let (units, floors) = match g.floor_part {
                None => (g.units.clone(), None),
                Some(f) => match (f.first_floor, f.last_floor) {
                    (Some(lo), Some(hi)) => (
                        g.units.clone(),
                        Some((
                            i16::try_from(lo).unwrap_or(i16::MAX),
                            i16::try_from(hi).unwrap_or(i16::MAX),
                        )),
                    ),
                    // Floors unknown: the first part keeps the households.
                    _ if f.part == 1 => (g.units.clone(), Some((i16::MIN, i16::MAX))),
                    _ => (Vec::new(), None),
                },
            };
            NewGrid {
                boundary: g.polygon.clone(),
                parent,
                community: comm.or(community),
                replaces: g.replaces,
                units,
                floors,
                ..NewGrid::default()
            }
        })
        .collect();
    GridChange {
        level,
        community,
        grids,
        expected: basis,
        actor: actor.to_string(),
        note: note.to_string(),
        source: source.to_string(),
    }
}

/// One line per element table of what a grid change re-assigned.
pub fn version_summary(v: &geo_core::store::VersionReport) -> String {
    let moved: Vec<String> = v
        .reassigned
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    format!(
        "grid version {}: {} grids retired, {} created; references changed: {}",
        v.version,
        v.retired.len(),
        v.created.len(),
        if moved.is_empty() {
            "none".to_string()
        } else {
            moved.join(", ")
        }
    )
}
