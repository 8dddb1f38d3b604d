//! Grid versions (网格版本). Grids are never deleted: a change retires the
//! grids it replaces (`grids.retired`, `grids.retired_in`) and inserts the
//! new ones with the next version number, so every earlier version stays
//! readable ([`Store::grids_of_version`]) and the history says who changed
//! what, when and why ([`Store::grid_versions`]).
//!
//! A change ([`Store::replace_grids`], or an import through
//! [`Store::write_grids`]) is one transaction: retire, insert, re-assign
//! every stored element against the grids now current by the one rule of
//! [`crate::assign`] (the plan's units and floor ranges where the plan puts
//! them), history row and audit line. Any error leaves the store as it was.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

use duckdb::{params, Connection};
use geo_types::{Coord, MultiPolygon};
use serde::{Deserialize, Serialize};

use super::codec::{self, bbox, geom_text, refs_params};
use super::columnar::ColumnAppender;
use super::error::{Ctx, Result, StoreError};
use super::read::{collect_on, communities_on, get, grids_on};
use super::Store;
use crate::assign::{
    household_parent, keep_declared_community, person_parent, refs_at, sentiment_parent, ElementRef,
};
use crate::crypt::Keyring;
use crate::dataset::Dataset;
use crate::geometry::Limits;
use crate::ids::{
    BuildingId, CommunityId, DivisionCode, EventId, GridCode, GridId, HouseholdId, PlaceId, UnitId,
};
use crate::index::SpatialIndex;
use crate::model::{Grid, GridKind, GridRefs, SentimentLink, Worker};

/// One grid of a change, before the store gives it an ID and a code.
#[derive(Debug, Clone, PartialEq)]
pub struct NewGrid {
    /// Boundary (WGS84). A micro-grid's is clipped to its parent's.
    pub boundary: MultiPolygon<f64>,
    /// Micro level: the current comprehensive grid it nests in (required).
    pub parent: Option<GridId>,
    /// Comprehensive level: its community (defaults to the change's).
    pub community: Option<CommunityId>,
    /// Name; `第N网格` / `<parent>N号微网格` when absent.
    pub name: Option<String>,
    /// Workers; those of the grid it replaces when empty.
    pub workers: Vec<Worker>,
    /// The current grid it mostly replaces (carries the workers over).
    pub replaces: Option<GridId>,
    /// Units the plan puts in this grid. They (and their households and
    /// residents) are assigned to it whatever their location; other elements
    /// are assigned by location.
    pub units: Vec<UnitId>,
    /// Set when the grid is a floor range of one unit: households of its
    /// units on floors `lo..=hi` belong to it.
    pub floors: Option<(i16, i16)>,
}

impl Default for NewGrid {
    fn default() -> Self {
        Self {
            boundary: MultiPolygon(Vec::new()),
            parent: None,
            community: None,
            name: None,
            workers: Vec::new(),
            replaces: None,
            units: Vec::new(),
            floors: None,
        }
    }
}

/// A replacement of the grids of one level, in one community or the whole
/// town (dedicated grids are never replaced).
#[derive(Debug, Clone)]
pub struct GridChange {
    /// Level replaced: micro or comprehensive. Replacing comprehensive grids
    /// also retires the micro-grids nested in them (they no longer nest).
    pub level: GridKind,
    /// The community whose grids of `level` are replaced; the whole level
    /// when `None`.
    pub community: Option<CommunityId>,
    /// The new grids.
    pub grids: Vec<NewGrid>,
    /// The grid state the change was prepared against: the change is refused
    /// ([`StoreError::Stale`]) when the store's differs.
    pub expected: Option<GridState>,
    /// Who (role or user).
    pub actor: String,
    /// Why.
    pub note: String,
    /// Where the change comes from, e.g. `regrid job 3`.
    pub source: String,
}

/// Who and why of a grid import ([`Store::write_grids`]).
#[derive(Debug, Clone, Default)]
pub struct GridImport {
    /// Who.
    pub actor: String,
    /// Why.
    pub note: String,
    /// Source, e.g. `import grids.geojson`.
    pub source: String,
}

/// A fingerprint of the grids: any change (new version, import, retire)
/// changes it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GridState {
    /// Current grid version (0 in a store without grids).
    pub version: i64,
    /// Grid rows, all versions.
    pub grids: u64,
    /// Retired grid rows.
    pub retired: u64,
    /// Communities.
    pub communities: u64,
}

impl fmt::Display for GridState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "version {}, {} grids of which {} retired, {} communities",
            self.version, self.grids, self.retired, self.communities
        )
    }
}

/// One entry of the grid history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GridVersion {
    /// Version number.
    pub version: i64,
    /// Level changed (`micro`, `comprehensive`, …), if one.
    pub level: Option<String>,
    /// Community changed (ID), if one.
    pub community: Option<u64>,
    /// Unix seconds (unknown for the grids stored before versioning).
    pub created_at: Option<i64>,
    /// Who.
    pub actor: String,
    /// Why.
    pub note: String,
    /// Where from: `regrid job N`, `import FILE`, `initial`.
    pub source: String,
    /// Codes of the grids retired.
    pub retired: Vec<String>,
    /// Codes of the grids created.
    pub created: Vec<String>,
    /// Elements whose grid references changed, per table.
    pub reassigned: BTreeMap<String, u64>,
}

/// What a change did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VersionReport {
    /// The new version.
    pub version: i64,
    /// Codes retired.
    pub retired: Vec<String>,
    /// Codes created.
    pub created: Vec<String>,
    /// Elements whose grid references changed, per table.
    pub reassigned: BTreeMap<String, u64>,
}

/// A grid of some version, with its life span.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VersionedGrid {
    /// The grid.
    pub grid: Grid,
    /// Version that created it.
    pub version: i64,
    /// Version that retired it (None: current).
    pub retired_in: Option<i64>,
}

/// Where the plan of a change puts a unit.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UnitPlan {
    grid: GridId,
    parent: Option<GridId>,
    community: Option<CommunityId>,
}

/// The plan of a change for [`reassign_on`].
pub(crate) struct Plan<'a> {
    level: GridKind,
    units: &'a HashMap<u64, UnitPlan>,
    /// (unit, lowest floor, highest floor, grid).
    floors: &'a [(u64, i16, i16, GridId)],
}

pub(crate) fn grid_state_on(conn: &Connection) -> Result<GridState> {
    let v = collect_on(
        conn,
        "SELECT greatest((SELECT coalesce(max(version), 0) FROM grids),
                         (SELECT coalesce(max(version), 0) FROM grid_versions)),
                (SELECT count(*) FROM grids), (SELECT count(*) FROM grids WHERE retired),
                (SELECT count(*) FROM communities)",
        &[],
        |r| {
            Ok(GridState {
                version: get::<i64>(r, 0)?,
                grids: get(r, 1)?,
                retired: get(r, 2)?,
                communities: get(r, 3)?,
            })
        },
    )?;
    Ok(v.into_iter().next().unwrap_or_default())
}

fn invalid(reason: impl Into<String>) -> StoreError {
    StoreError::InvalidChange {
        reason: reason.into(),
    }
}

fn version_i32(v: i64) -> Result<i32> {
    i32::try_from(v).map_err(|_| invalid(format!("grid version {v} out of range")))
}

/// Hands out unified grid codes that no grid of any version used, falling
/// back to codes free among the current grids when a parent ran out.
struct Codes {
    /// Every code stored (all versions) with its kind.
    all: HashMap<String, GridKind>,
    /// Codes of grids that stay current, and codes handed out.
    current: HashSet<String>,
}

impl Codes {
    fn take(&mut self, prefix: &str, kind: GridKind, what: &str) -> Result<(GridCode, u16)> {
        let len = prefix.len() + 3;
        let max_seq = self
            .all
            .iter()
            .filter(|(c, k)| c.len() == len && c.starts_with(prefix) && **k == kind)
            .filter_map(|(c, _)| c[prefix.len()..].parse::<u16>().ok())
            .max()
            .unwrap_or(0);
        let fresh =
            (max_seq + 1..=999).find(|s| !self.all.contains_key(&format!("{prefix}{s:03}")));
        let seq = fresh
            .or_else(|| (1..=999).find(|s| !self.current.contains(&format!("{prefix}{s:03}"))))
            .ok_or_else(|| invalid(format!("no free grid sequence left in {what} {prefix}")))?;
        let code = GridCode::parse(&format!("{prefix}{seq:03}"))
            .map_err(|e| invalid(format!("grid code in {what} {prefix}: {e}")))?;
        self.all.insert(code.as_str().to_string(), kind);
        self.current.insert(code.as_str().to_string());
        Ok((code, seq))
    }
}

/// Appends grids as rows of grid version `version` (batch writes and grid
/// changes share it).
pub(super) fn append_grids(conn: &Connection, grids: &[Grid], version: i32) -> Result<()> {
    let mut a = ColumnAppender::new(conn, "grids")?;
    for g in grids {
        let b = bbox(&g.boundary.clone().into());
        let workers = serde_json::to_string(&g.workers).unwrap_or_else(|_| "[]".into());
        a.append_row(params![
            g.id.get(),
            g.code.as_str(),
            g.name,
            g.kind.code(),
            g.community.map(|i| i.get()),
            g.parent.map(|i| i.get()),
            geom_text(&g.boundary),
            workers,
            version,
            false,
            b.map(|b| b.min().x),
            b.map(|b| b.min().y),
            b.map(|b| b.max().x),
            b.map(|b| b.max().y),
            None::<i32>
        ])?;
    }
    a.finish()
}

/// The four stored grid-reference columns of a row.
type RefCols = [Option<u64>; 4];

/// Reads `SELECT id, …, community, comprehensive, micro, dedicated FROM
/// table`: `cols` are the columns between the ID and the references.
fn rows_of<T>(
    conn: &Connection,
    table: &str,
    cols: &str,
    n: usize,
    read: impl Fn(&duckdb::Row<'_>) -> Result<T>,
) -> Result<Vec<(u64, T, RefCols)>> {
    collect_on(
        conn,
        &format!("SELECT id, {cols}, community, comprehensive, micro, dedicated FROM {table}"),
        &[],
        |r| {
            Ok((
                get::<u64>(r, 0)?,
                read(r)?,
                [
                    get::<Option<u64>>(r, n + 1)?,
                    get::<Option<u64>>(r, n + 2)?,
                    get::<Option<u64>>(r, n + 3)?,
                    get::<Option<u64>>(r, n + 4)?,
                ],
            ))
        },
    )
}

/// Writes the rows whose references changed back to `table` (through the
/// temp table `new_refs`); answers how many.
fn write_back(conn: &Connection, table: &str, changed: &[(u64, RefCols)]) -> Result<u64> {
    if changed.is_empty() {
        return Ok(0);
    }
    conn.execute_batch("DELETE FROM new_refs")
        .ctx("re-assignment")?;
    let mut a = ColumnAppender::new(conn, "new_refs")?;
    for (id, r) in changed {
        a.append_row(params![id, r[0], r[1], r[2], r[3]])?;
    }
    a.finish()?;
    let n = conn
        .execute(
            &format!(
                "UPDATE {table} t SET community = s.community, comprehensive = s.comprehensive,
                 micro = s.micro, dedicated = s.dedicated FROM new_refs s WHERE t.id = s.id"
            ),
            [],
        )
        .ctx(format!("re-assigning {table}"))?;
    Ok(n as u64)
}

/// The element of a stored row, by its table.
fn element_of(table: &'static str, id: u64) -> Result<Option<ElementRef>> {
    Ok(Some(match table {
        "buildings" => ElementRef::Building(codec::id(table, id, "id", id, BuildingId::new)?),
        "units" => ElementRef::Unit(codec::id(table, id, "id", id, UnitId::new)?),
        "households" => ElementRef::Household(codec::id(table, id, "id", id, HouseholdId::new)?),
        "places" => ElementRef::Place(codec::id(table, id, "id", id, PlaceId::new)?),
        "events" => ElementRef::Event(codec::id(table, id, "id", id, EventId::new)?),
        _ => return Ok(None),
    }))
}

/// Re-assigns every stored element against the current grids (in `conn`'s
/// transaction) by the rule of [`crate::assign`], with the plan's units
/// (and floors) where the plan puts them; answers the rows changed per
/// table.
pub(crate) fn reassign_on(
    conn: &Connection,
    plan: Option<Plan<'_>>,
) -> Result<BTreeMap<String, u64>> {
    let ds = Dataset {
        communities: communities_on(conn)?,
        grids: grids_on(conn, "NOT retired")?,
        ..Dataset::default()
    };
    let index = SpatialIndex::build(&ds);
    index.prepare();
    let parent_of: HashMap<GridId, Option<GridId>> =
        ds.grids.iter().map(|g| (g.id, g.parent)).collect();
    conn.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS new_refs (id UBIGINT, community UBIGINT,
         comprehensive UBIGINT, micro UBIGINT, dedicated UBIGINT)",
    )
    .ctx("re-assignment")?;
    let mut out = BTreeMap::new();
    let mut planned = HashSet::new();
    // The new references of the elements others take theirs from.
    let mut parents: HashMap<ElementRef, GridRefs> = HashMap::new();
    let mut changed: Vec<(u64, RefCols)> = Vec::new();
    // 房进格, 格进图: everything with a point of its own, stored in lon/lat
    // by [`crate::assign::Located`].
    for table in [
        "compounds",
        "buildings",
        "units",
        "places",
        "events",
        "organisations",
    ] {
        let rows = rows_of(conn, table, "lon, lat", 2, |r| {
            Ok(
                match (get::<Option<f64>>(r, 1)?, get::<Option<f64>>(r, 2)?) {
                    (Some(x), Some(y)) => Some(Coord { x, y }),
                    _ => None,
                },
            )
        })?;
        changed.clear();
        for (id, point, old) in rows {
            let mut r = refs_at(&index, point);
            if table == "units" {
                if let Some(p) = plan
                    .as_ref()
                    .and_then(|p| p.units.get(&id).map(|u| (p.level, u)))
                {
                    planned.insert(id);
                    apply_plan(p.0, p.1, &mut r, &parent_of);
                }
            }
            if table == "compounds" {
                // The community a compound had stands for the one it was
                // declared in (not kept apart).
                let had = old[0].and_then(|c| CommunityId::new(c).ok());
                r = keep_declared_community(r, had);
            }
            if let Some(e) = element_of(table, id)? {
                parents.insert(e, r);
            }
            let new = refs_params(&r);
            if new != old {
                changed.push((id, new));
            }
        }
        out.insert(table.to_string(), write_back(conn, table, &changed)?);
    }
    if let Some(p) = &plan {
        if let Some(u) = p.units.keys().filter(|u| !planned.contains(*u)).min() {
            return Err(invalid(format!(
                "unit {u} of the change is not in the store"
            )));
        }
    }
    let inherit = |parents: &HashMap<ElementRef, GridRefs>, e: Option<ElementRef>| {
        e.and_then(|e| parents.get(&e).copied()).unwrap_or_default()
    };
    // 户进房, then the plan's floor ranges.
    let floors = plan.as_ref().map(|p| p.floors).unwrap_or(&[]);
    let level = plan.as_ref().map(|p| p.level);
    let rows = rows_of(conn, "households", "unit, building, floor", 3, |r| {
        Ok((
            get::<Option<u64>>(r, 1)?,
            get::<u64>(r, 2)?,
            get::<i16>(r, 3)?,
        ))
    })?;
    changed.clear();
    for (id, (unit, building, floor), old) in rows {
        let t = "households";
        let parent = household_parent(
            codec::opt_id(t, id, "unit", unit, UnitId::new)?,
            codec::id(t, id, "building", building, BuildingId::new)?,
        );
        let mut r = inherit(&parents, Some(parent));
        for &(u, lo, hi, grid) in floors {
            if unit == Some(u) && (lo..=hi).contains(&floor) {
                match level {
                    Some(GridKind::Micro) => r.micro = Some(grid),
                    _ => r.comprehensive = Some(grid),
                }
            }
        }
        parents.insert(
            ElementRef::Household(codec::id(t, id, "id", id, HouseholdId::new)?),
            r,
        );
        let new = refs_params(&r);
        if new != old {
            changed.push((id, new));
        }
    }
    out.insert(
        "households".into(),
        write_back(conn, "households", &changed)?,
    );
    // 人进户.
    let rows = rows_of(conn, "persons", "household", 1, |r| {
        get::<Option<u64>>(r, 1)
    })?;
    changed.clear();
    for (id, household, old) in rows {
        let h = codec::opt_id("persons", id, "household", household, HouseholdId::new)?;
        let new = refs_params(&inherit(&parents, person_parent(h)));
        if new != old {
            changed.push((id, new));
        }
    }
    out.insert("persons".into(), write_back(conn, "persons", &changed)?);
    let rows = rows_of(conn, "sentiments", "link_kind, link_id", 2, |r| {
        Ok((get::<String>(r, 1)?, get::<u64>(r, 2)?))
    })?;
    changed.clear();
    for (id, (kind, link), old) in rows {
        let t = "sentiments";
        let link = match kind.as_str() {
            "household" => {
                SentimentLink::Household(codec::id(t, id, "link_id", link, HouseholdId::new)?)
            }
            "place" => SentimentLink::Place(codec::id(t, id, "link_id", link, PlaceId::new)?),
            "event" => SentimentLink::Event(codec::id(t, id, "link_id", link, EventId::new)?),
            other => {
                return Err(StoreError::Corrupt {
                    table: t,
                    id,
                    column: "link_kind",
                    reason: format!("unknown link kind {other:?}"),
                })
            }
        };
        let new = refs_params(&inherit(&parents, Some(sentiment_parent(link))));
        if new != old {
            changed.push((id, new));
        }
    }
    out.insert(
        "sentiments".into(),
        write_back(conn, "sentiments", &changed)?,
    );
    Ok(out)
}

/// Puts a planned unit in its new grid: the level's reference is the plan's
/// grid and the references above it follow the grid's parent and community.
fn apply_plan(
    level: GridKind,
    p: &UnitPlan,
    r: &mut GridRefs,
    parent_of: &HashMap<GridId, Option<GridId>>,
) {
    match level {
        GridKind::Micro => {
            r.micro = Some(p.grid);
            r.comprehensive = p.parent.or(r.comprehensive);
        }
        _ => {
            r.comprehensive = Some(p.grid);
            if r.micro
                .is_some_and(|m| parent_of.get(&m).copied().flatten() != Some(p.grid))
            {
                r.micro = None;
            }
        }
    }
    r.community = p.community.or(r.community);
}

#[allow(clippy::too_many_arguments)]
fn insert_history(
    conn: &Connection,
    keys: &Keyring,
    version: i64,
    level: Option<&str>,
    community: Option<CommunityId>,
    actor: &str,
    note: &str,
    source: &str,
    retired: &[String],
    created: &[String],
    reassigned: &BTreeMap<String, u64>,
) -> Result<()> {
    let now = chrono::Utc::now().timestamp();
    conn.execute(
        "INSERT INTO grid_versions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        params![
            version,
            level,
            community.map(|c| c.get()),
            now,
            actor,
            note,
            source,
            json(retired),
            json(created),
            json(reassigned)
        ],
    )
    .ctx("writing grid history")?;
    let moved: u64 = reassigned.values().sum();
    super::audit::append(
        conn,
        keys,
        now,
        actor,
        "grid_version",
        &format!(
            "grid version {version} from {source}: {} grids retired, {} created, \
             {moved} element references changed",
            retired.len(),
            created.len()
        ),
    )
}

/// `cell` clipped to `parent`, so a micro-grid nests in its comprehensive
/// grid (proposal cells are clipped to the community only). Slivers under
/// 1 m² are dropped; a cell that misses its parent is kept whole.
fn nest_in(cell: &MultiPolygon<f64>, parent: &MultiPolygon<f64>) -> MultiPolygon<f64> {
    use geo::{BooleanOps, GeodesicArea};
    let clipped = cell.intersection(parent);
    let kept: Vec<_> = clipped
        .0
        .into_iter()
        .filter(|p| p.geodesic_area_unsigned() >= 1.0)
        .collect();
    if kept.is_empty() {
        cell.clone()
    } else {
        MultiPolygon(kept)
    }
}

/// A history column as JSON text.
fn json<T: Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

/// Records an import that brought grids or communities as `version`:
/// re-assigns everything, writes the history row and the audit line.
pub(crate) fn record_import(
    conn: &Connection,
    keys: &Keyring,
    batch: &Dataset,
    version: i64,
    imp: &GridImport,
) -> Result<VersionReport> {
    let reassigned = reassign_on(conn, None)?;
    let created: Vec<String> = batch
        .grids
        .iter()
        .map(|g| g.code.as_str().to_string())
        .collect();
    let mut kinds: Vec<&str> = batch.grids.iter().map(|g| g.kind.code()).collect();
    kinds.sort_unstable();
    kinds.dedup();
    let level = match (kinds.as_slice(), batch.communities.is_empty()) {
        ([k], true) => Some(*k),
        ([], false) => Some("community"),
        _ => None,
    };
    insert_history(
        conn,
        keys,
        version,
        level,
        None,
        &imp.actor,
        &imp.note,
        &imp.source,
        &[],
        &created,
        &reassigned,
    )?;
    Ok(VersionReport {
        version,
        retired: Vec::new(),
        created,
        reassigned,
    })
}

impl Store {
    /// The grid fingerprint (current version, rows, retired rows,
    /// communities), for detecting that grids changed since a proposal.
    pub fn grid_state(&self) -> Result<GridState> {
        grid_state_on(&self.conn)
    }

    /// Replaces the grids of one level (of one community, or the whole
    /// town) by `change.grids` as a new version, in one transaction: the old
    /// grids are retired (kept, readable by version), the new ones get IDs,
    /// unified codes (community division code + sequence; micro-grids: their
    /// comprehensive grid's code + sequence) and the next version number,
    /// every element is re-assigned, and the history row and audit line are
    /// written. Any error (stale state, invalid grid, unknown unit, DuckDB)
    /// leaves the store unchanged.
    pub fn replace_grids(&mut self, change: &GridChange) -> Result<VersionReport> {
        if !matches!(change.level, GridKind::Micro | GridKind::Comprehensive) {
            return Err(invalid(
                "only micro or comprehensive grids are replaced; dedicated grids are drawn by hand",
            ));
        }
        if change.grids.is_empty() {
            return Err(invalid("the change brings no grid"));
        }
        let limits = Limits::default();
        let mut in_grid: HashMap<UnitId, bool> = HashMap::new();
        for (i, g) in change.grids.iter().enumerate() {
            for p in &g.boundary.0 {
                for c in std::iter::once(p.exterior())
                    .chain(p.interiors())
                    .flat_map(|r| r.0.iter())
                {
                    limits
                        .validate_coord(*c)
                        .map_err(|e| invalid(format!("new grid {}: {e}", i + 1)))?;
                }
            }
            if let Some((lo, hi)) = g.floors {
                if lo > hi {
                    return Err(invalid(format!(
                        "new grid {}: floor range {lo}..{hi} is empty",
                        i + 1
                    )));
                }
            }
            for u in &g.units {
                let part = g.floors.is_some();
                if let Some(was_part) = in_grid.insert(*u, part) {
                    if !(was_part && part) {
                        return Err(invalid(format!("unit {u} is in two new grids")));
                    }
                }
            }
        }
        let tx = self.conn.transaction().ctx("starting grid change")?;
        let state = grid_state_on(&tx)?;
        if let Some(expected) = change.expected {
            if expected != state {
                return Err(StoreError::Stale {
                    expected: expected.to_string(),
                    found: state.to_string(),
                });
            }
        }
        let version = state.version + 1;
        let v32 = version_i32(version)?;
        let communities = communities_on(&tx)?;
        if let Some(c) = change.community {
            if !communities.iter().any(|x| x.id == c) {
                return Err(invalid(format!("community {c} is not in the store")));
            }
        }
        let current = grids_on(&tx, "NOT retired")?;
        let mut retire: Vec<&Grid> = current
            .iter()
            .filter(|g| {
                g.kind == change.level && change.community.is_none_or(|c| g.community == Some(c))
            })
            .collect();
        if change.level == GridKind::Comprehensive {
            let ids: HashSet<GridId> = retire.iter().map(|g| g.id).collect();
            retire.extend(current.iter().filter(|g| {
                g.kind == GridKind::Micro && g.parent.is_some_and(|p| ids.contains(&p))
            }));
        }
        let retired_ids: HashSet<GridId> = retire.iter().map(|g| g.id).collect();
        let by_id: HashMap<GridId, &Grid> = current.iter().map(|g| (g.id, g)).collect();
        let all = collect_on(&tx, "SELECT code, kind FROM grids", &[], |r| {
            Ok((get::<String>(r, 0)?, get::<String>(r, 1)?))
        })?;
        let mut codes = Codes {
            all: all
                .into_iter()
                .filter_map(|(c, k)| GridKind::parse(&k).ok().map(|k| (c, k)))
                .collect(),
            current: current
                .iter()
                .filter(|g| !retired_ids.contains(&g.id))
                .map(|g| g.code.as_str().to_string())
                .collect(),
        };
        let first_id = collect_on(&tx, "SELECT coalesce(max(id), 0) FROM grids", &[], |r| {
            get::<u64>(r, 0)
        })?
        .first()
        .copied()
        .unwrap_or(0)
            + 1;
        let mut made: Vec<Grid> = Vec::with_capacity(change.grids.len());
        for (i, ng) in change.grids.iter().enumerate() {
            let n = i + 1;
            let (community, parent, code, name, boundary) = match change.level {
                GridKind::Micro => {
                    let p = ng.parent.ok_or_else(|| {
                        invalid(format!(
                            "new micro-grid {n} has no comprehensive grid to nest in \
                             (draw comprehensive grids there first)"
                        ))
                    })?;
                    let pg = by_id
                        .get(&p)
                        .filter(|g| g.kind == GridKind::Comprehensive)
                        .ok_or_else(|| {
                            invalid(format!(
                                "new micro-grid {n}: grid {p} is not a current comprehensive grid"
                            ))
                        })?;
                    if change.community.is_some_and(|c| pg.community != Some(c)) {
                        return Err(invalid(format!(
                            "new micro-grid {n}: its parent {} lies in another community",
                            pg.code
                        )));
                    }
                    let (code, seq) =
                        codes.take(&pg.code.as_str()[..15], GridKind::Micro, "grid")?;
                    let name = ng
                        .name
                        .clone()
                        .unwrap_or_else(|| format!("{}{seq}号微网格", pg.name));
                    (
                        pg.community,
                        Some(p),
                        code,
                        name,
                        nest_in(&ng.boundary, &pg.boundary),
                    )
                }
                _ => {
                    let c = ng.community.or(change.community).ok_or_else(|| {
                        invalid(format!("new comprehensive grid {n} has no community"))
                    })?;
                    if change.community.is_some_and(|cc| cc != c) {
                        return Err(invalid(format!(
                            "new comprehensive grid {n} lies in community {c}, not in the \
                             community changed"
                        )));
                    }
                    let comm = communities.iter().find(|x| x.id == c).ok_or_else(|| {
                        invalid(format!(
                            "new comprehensive grid {n}: community {c} is not stored"
                        ))
                    })?;
                    let div: &DivisionCode = &comm.code;
                    let (code, seq) =
                        codes.take(div.as_str(), GridKind::Comprehensive, "community")?;
                    let name = ng.name.clone().unwrap_or_else(|| format!("第{seq}网格"));
                    (Some(c), None, code, name, ng.boundary.clone())
                }
            };
            let workers = if ng.workers.is_empty() {
                ng.replaces
                    .and_then(|r| by_id.get(&r))
                    .map(|g| g.workers.clone())
                    .unwrap_or_default()
            } else {
                ng.workers.clone()
            };
            let id = GridId::new(first_id + i as u64).map_err(|e| invalid(e.to_string()))?;
            made.push(Grid {
                id,
                code,
                name,
                kind: change.level,
                community,
                parent,
                boundary,
                workers,
            });
        }
        if !retire.is_empty() {
            let list: Vec<String> = retire.iter().map(|g| g.id.get().to_string()).collect();
            tx.execute(
                &format!(
                    "UPDATE grids SET retired = TRUE, retired_in = ? WHERE id IN ({})",
                    list.join(",")
                ),
                [v32],
            )
            .ctx("retiring grids")?;
        }
        append_grids(&tx, &made, v32)?;
        let mut units: HashMap<u64, UnitPlan> = HashMap::new();
        let mut floors: Vec<(u64, i16, i16, GridId)> = Vec::new();
        for (ng, g) in change.grids.iter().zip(&made) {
            let p = UnitPlan {
                grid: g.id,
                parent: g.parent,
                community: g.community,
            };
            for u in &ng.units {
                units.entry(u.get()).or_insert(p);
                if let Some((lo, hi)) = ng.floors {
                    floors.push((u.get(), lo, hi, g.id));
                }
            }
        }
        let reassigned = reassign_on(
            &tx,
            Some(Plan {
                level: change.level,
                units: &units,
                floors: &floors,
            }),
        )?;
        let retired: Vec<String> = retire.iter().map(|g| g.code.as_str().to_string()).collect();
        let created: Vec<String> = made.iter().map(|g| g.code.as_str().to_string()).collect();
        insert_history(
            &tx,
            &self.keys,
            version,
            Some(change.level.code()),
            change.community,
            &change.actor,
            &change.note,
            &change.source,
            &retired,
            &created,
            &reassigned,
        )?;
        tx.commit().ctx("committing grid change")?;
        Ok(VersionReport {
            version,
            retired,
            created,
            reassigned,
        })
    }

    /// The grid history, oldest first. Grids stored before any change (a
    /// demo, the first import) show as version 1, source `initial`.
    pub fn grid_versions(&self) -> Result<Vec<GridVersion>> {
        let corrupt =
            |version: i64, column: &'static str, e: serde_json::Error| StoreError::Corrupt {
                table: "grid_versions",
                id: version.max(0) as u64,
                column,
                reason: e.to_string(),
            };
        let mut out = self.collect(
            "SELECT version, level, community, created_at, actor, note, source, retired, created,
             reassigned FROM grid_versions ORDER BY version",
            &[],
            |r| {
                let version: i64 = get(r, 0)?;
                Ok(GridVersion {
                    version,
                    level: get(r, 1)?,
                    community: get(r, 2)?,
                    created_at: get(r, 3)?,
                    actor: get(r, 4)?,
                    note: get(r, 5)?,
                    source: get(r, 6)?,
                    retired: serde_json::from_str(&get::<String>(r, 7)?)
                        .map_err(|e| corrupt(version, "retired", e))?,
                    created: serde_json::from_str(&get::<String>(r, 8)?)
                        .map_err(|e| corrupt(version, "created", e))?,
                    reassigned: serde_json::from_str(&get::<String>(r, 9)?)
                        .map_err(|e| corrupt(version, "reassigned", e))?,
                })
            },
        )?;
        if !out.iter().any(|v| v.version == 1) {
            let created = self.collect(
                "SELECT code FROM grids WHERE version = 1 ORDER BY id",
                &[],
                |r| get::<String>(r, 0),
            )?;
            if !created.is_empty() {
                let at = self
                    .collect("SELECT min(at_s) FROM provenance", &[], |r| {
                        get::<Option<i64>>(r, 0)
                    })?
                    .into_iter()
                    .flatten()
                    .next();
                out.insert(
                    0,
                    GridVersion {
                        version: 1,
                        level: None,
                        community: None,
                        created_at: at,
                        actor: String::new(),
                        note: "grids as first stored".into(),
                        source: "initial".into(),
                        retired: Vec::new(),
                        created,
                        reassigned: BTreeMap::new(),
                    },
                );
            }
        }
        Ok(out)
    }

    /// The grids that were current in `version` (retired since or not).
    pub fn grids_of_version(&self, version: i64) -> Result<Vec<VersionedGrid>> {
        let state = self.grid_state()?;
        if version < 1 || version > state.version {
            return Err(StoreError::NotFound {
                kind: "grid version",
                id: version.to_string(),
            });
        }
        let cond = format!(
            "version <= {version} AND (NOT retired OR coalesce(retired_in, 0) > {version})"
        );
        let grids = grids_on(&self.conn, &cond)?;
        let spans: HashMap<u64, (i64, Option<i64>)> = self
            .collect(
                &format!("SELECT id, version, retired_in FROM grids WHERE {cond}"),
                &[],
                |r| Ok((get::<u64>(r, 0)?, (get::<i64>(r, 1)?, get(r, 2)?))),
            )?
            .into_iter()
            .collect();
        Ok(grids
            .into_iter()
            .map(|grid| {
                let (version, retired_in) = spans.get(&grid.id.get()).copied().unwrap_or((1, None));
                VersionedGrid {
                    grid,
                    version,
                    retired_in,
                }
            })
            .collect())
    }
}
