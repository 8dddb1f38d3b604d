//! Reads. Every public read takes a [`Scope`].

use chrono::{DateTime, TimeZone, Utc};
use duckdb::{params_from_iter, Row};
use geo_types::Point;
use serde::Serialize;

use super::codec::{id, opt_id, vocab};
use super::decode::{select, Decode};
use super::error::{Ctx, Result, StoreError};
use super::sealing::open_secrets;
use super::{Scope, Store};
use crate::assign::{ElementRef, RefMap, StoredRefs};
use crate::dataset::Dataset;
use crate::ids::*;
use crate::io::ElementKind;
use crate::model::*;

/// Which tables [`Store::load`] reads. People, households and sentiment are
/// large and personal: the server queries them on demand instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadSet {
    /// Everything with a geometry: communities, grids, compounds, buildings,
    /// units, places, events, organisations, roads.
    Spatial,
    /// Every table.
    All,
}

/// `(name, count)` pairs as one JSON object (`{"persons": 126470, …}`), in
/// their order: what a script reading `wangge info --json` or
/// `/api/v1/info` expects, rather than an array of pairs.
fn pairs_as_object<S: serde::Serializer>(
    pairs: &[(String, u64)],
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut m = s.serialize_map(Some(pairs.len()))?;
    for (k, n) in pairs {
        m.serialize_entry(k, n)?;
    }
    m.end()
}

/// Element counts and extent (`wangge info`).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Counts {
    /// Schema version.
    pub store_version: i64,
    /// Town name, if set.
    pub town: Option<String>,
    /// Rows per element table.
    #[serde(serialize_with = "pairs_as_object")]
    pub elements: Vec<(String, u64)>,
    /// Grids per kind.
    #[serde(serialize_with = "pairs_as_object")]
    pub grids_by_kind: Vec<(String, u64)>,
    /// Elements (buildings, households, persons, events) per grid level that
    /// fall inside no grid of that level.
    #[serde(serialize_with = "pairs_as_object")]
    pub unassigned: Vec<(String, u64)>,
    /// Extent `[west, south, east, north]` of communities and grids.
    pub extent: Option<[f64; 4]>,
    /// Total residents (sum of persons).
    pub residents: u64,
    /// Share of persons aged 60+ in the reference year.
    pub aged60_share: f64,
    /// Events per calendar month in Beijing time (`YYYY-MM`, count).
    #[serde(serialize_with = "pairs_as_object")]
    pub events_per_month: Vec<(String, u64)>,
    /// Current grid version (see [`Store::grid_versions`]).
    pub grid_version: i64,
    /// Grids of earlier versions, kept retired.
    pub retired_grids: u64,
}

/// Population figures of one grid (any level).
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct GridPopulation {
    /// Grid ID.
    pub grid: u64,
    /// Households.
    pub households: u64,
    /// Residents.
    pub residents: u64,
    /// Residents aged 60+ in the reference year.
    pub aged60: u64,
    /// Elderly living alone.
    pub elderly_alone: u64,
}

/// One stored event transition.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TransitionRow {
    /// Previous status (None at intake).
    pub from: Option<String>,
    /// New status.
    pub to: String,
    /// Unix seconds.
    pub at: i64,
    /// Who.
    pub actor: String,
    /// Note.
    pub note: String,
}

/// Filter for event reads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventFilter {
    /// `[w, s, e, n]`.
    pub bbox: Option<[f64; 4]>,
    /// Category code `NN.MM` or group `NN`.
    pub category: Option<String>,
    /// Status code.
    pub status: Option<String>,
    /// Source code.
    pub source: Option<String>,
    /// From (inclusive).
    pub from: Option<DateTime<Utc>>,
    /// To (exclusive).
    pub to: Option<DateTime<Utc>>,
    /// Only elements of this grid (any level).
    pub grid: Option<GridId>,
}

/// Paging.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    /// Maximum rows.
    pub limit: u64,
    /// Rows to skip.
    pub offset: u64,
}

pub(crate) fn ts(
    table: &'static str,
    row: u64,
    column: &'static str,
    v: i64,
) -> Result<DateTime<Utc>> {
    Utc.timestamp_opt(v, 0).single().ok_or(StoreError::Corrupt {
        table,
        id: row,
        column,
        reason: format!("timestamp {v} out of range"),
    })
}

pub(crate) fn get<T: duckdb::types::FromSql>(r: &Row<'_>, i: usize) -> Result<T> {
    r.get(i).ctx("reading row")
}

impl Store {
    pub(crate) fn collect<T>(
        &self,
        sql: &str,
        args: &[duckdb::types::Value],
        f: impl Fn(&Row<'_>) -> Result<T>,
    ) -> Result<Vec<T>> {
        collect_on(&self.conn, sql, args, f)
    }

    /// Loads the elements visible in `scope`.
    pub fn load(&self, scope: &Scope, set: LoadSet) -> Result<Dataset> {
        let s = scope.sql();
        let mut d = Dataset {
            town: self.town()?,
            ..Dataset::default()
        };
        d.communities = communities_on(&self.conn)?;
        d.grids = self.grids()?;
        d.compounds = self.collect(
            &select::<Compound>(&format!("WHERE {s} ORDER BY id")),
            &[],
            Compound::decode,
        )?;
        d.buildings = self.collect(
            &select::<Building>(&format!("WHERE {s} ORDER BY id")),
            &[],
            Building::decode,
        )?;
        d.units = self.collect(
            &select::<Unit>(&format!("WHERE {s} ORDER BY id")),
            &[],
            Unit::decode,
        )?;
        d.places = self.collect(
            &select::<Place>(&format!("WHERE {s} OR community IS NULL ORDER BY id")),
            &[],
            Place::decode,
        )?;
        d.events = self.events(scope, &EventFilter::default(), None)?;
        d.organisations = self.collect(
            &select::<Organisation>(&format!("WHERE {s} ORDER BY id")),
            &[],
            Organisation::decode,
        )?;
        d.roads = self.collect(&select::<Road>("ORDER BY id"), &[], Road::decode)?;
        if set == LoadSet::All {
            d.households = self.households(scope, None, None)?;
            d.persons = self.persons(scope, None, None)?;
            d.sentiments = self.sentiments(scope)?;
        }
        Ok(d)
    }

    /// The town, if one is stored.
    pub fn town(&self) -> Result<Option<Town>> {
        let mut v = self.collect("SELECT code, name, lon, lat FROM town LIMIT 1", &[], |r| {
            Ok(Town {
                code: vocab(
                    "town",
                    0,
                    "code",
                    &get::<String>(r, 0)?,
                    DivisionCode::parse,
                )?,
                name: get(r, 1)?,
                centre: Point::new(get(r, 2)?, get(r, 3)?),
            })
        })?;
        Ok(v.pop())
    }

    /// Every community (public structure, not scoped).
    pub fn communities(&self) -> Result<Vec<Community>> {
        communities_on(&self.conn)
    }

    /// All current grids (grids are public structure, not scoped).
    pub fn grids(&self) -> Result<Vec<Grid>> {
        grids_on(&self.conn, "NOT retired")
    }

    /// Households in scope (optionally of one grid), paged.
    pub fn households(
        &self,
        scope: &Scope,
        grid: Option<GridId>,
        page: Option<Page>,
    ) -> Result<Vec<Household>> {
        let sql = select::<Household>(&format!(
            "WHERE {} AND {} ORDER BY id {}",
            scope.sql(),
            grid_cond(grid),
            page_sql(page)
        ));
        self.collect(&sql, &[], Household::decode)
    }

    /// People in scope (optionally of one grid), paged. Callers mask names,
    /// ID numbers and phones before anything leaves the process.
    pub fn persons(
        &self,
        scope: &Scope,
        grid: Option<GridId>,
        page: Option<Page>,
    ) -> Result<Vec<Person>> {
        self.persons_where(
            &format!("{} AND {}", scope.sql(), grid_cond(grid)),
            &[],
            page,
        )
    }

    /// Number of households in scope (optionally of one grid): the match
    /// count of [`Store::households`] over all pages.
    pub fn count_households(&self, scope: &Scope, grid: Option<GridId>) -> Result<u64> {
        self.count_in("households", scope, grid)
    }

    /// Number of people in scope (optionally of one grid): the match count
    /// of [`Store::persons`] over all pages.
    pub fn count_persons(&self, scope: &Scope, grid: Option<GridId>) -> Result<u64> {
        self.count_in("persons", scope, grid)
    }

    fn count_in(&self, table: &'static str, scope: &Scope, grid: Option<GridId>) -> Result<u64> {
        let sql = format!(
            "SELECT count(*) FROM {table} WHERE {} AND {}",
            scope.sql(),
            grid_cond(grid)
        );
        let mut v = self.collect(&sql, &[], |r| get::<u64>(r, 0))?;
        Ok(v.pop().unwrap_or(0))
    }

    /// The people in scope with this ID number (exact look-up through the
    /// keyed hash, confirmed by decrypting: no row is decrypted but those
    /// whose hash matches). Callers mask as for [`Store::persons`].
    pub fn persons_by_national_id(&self, scope: &Scope, id: &NationalId) -> Result<Vec<Person>> {
        let hash = self.keys().lookup_hash(id);
        let mut people = self.persons_where(
            &format!("{} AND national_id_hash = ?", scope.sql()),
            &[hash.into()],
            None,
        )?;
        people.retain(|p| p.national_id.as_ref() == Some(id));
        Ok(people)
    }

    pub(crate) fn persons_where(
        &self,
        cond: &str,
        args: &[duckdb::types::Value],
        page: Option<Page>,
    ) -> Result<Vec<Person>> {
        let sql = format!(
            "SELECT id, household, name, secrets, birth_year, sex, tags
             FROM persons WHERE {cond} ORDER BY id {}",
            page_sql(page)
        );
        let keys = self.keys();
        self.collect(&sql, args, |r| {
            let rid: u64 = get(r, 0)?;
            let tags: String = get(r, 6)?;
            let (national_id, phone) = open_secrets(keys, r, rid, 3)?;
            Ok(Person {
                id: id("persons", rid, "id", rid, PersonId::new)?,
                household: opt_id("persons", rid, "household", get(r, 1)?, HouseholdId::new)?,
                name: get(r, 2)?,
                national_id: opt_id(
                    "persons",
                    rid,
                    "national_id",
                    national_id,
                    NationalId::from_digits,
                )?,
                phone: opt_id("persons", rid, "phone", phone, Phone::from_code)?,
                birth_year: get(r, 4)?,
                sex: vocab("persons", rid, "sex", &get::<String>(r, 5)?, Sex::parse)?,
                tags: tags
                    .split(';')
                    .filter(|t| !t.is_empty())
                    .map(|t| vocab("persons", rid, "tags", t, PersonTag::parse))
                    .collect::<Result<_>>()?,
            })
        })
    }

    /// Names of the residents of each of `households`, for masking them in
    /// free text about those households ([`crate::ids::scrub_names`]).
    /// Households without residents are absent from the map.
    pub fn resident_names(
        &self,
        households: &[HouseholdId],
    ) -> Result<std::collections::HashMap<HouseholdId, Vec<String>>> {
        let mut out: std::collections::HashMap<HouseholdId, Vec<String>> = Default::default();
        if households.is_empty() {
            return Ok(out);
        }
        let mut ids: Vec<u64> = households.iter().map(|h| h.get()).collect();
        ids.sort_unstable();
        ids.dedup();
        let list = ids.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
        let rows = self.collect(
            &format!("SELECT household, name FROM persons WHERE household IN ({list}) ORDER BY id"),
            &[],
            |r| Ok((get::<u64>(r, 0)?, get::<String>(r, 1)?)),
        )?;
        for (h, name) in rows {
            if let Ok(h) = HouseholdId::new(h) {
                out.entry(h).or_default().push(name);
            }
        }
        Ok(out)
    }

    /// Sentiment records in scope.
    pub fn sentiments(&self, scope: &Scope) -> Result<Vec<Sentiment>> {
        let sql = select::<Sentiment>(&format!("WHERE {} ORDER BY id", scope.sql()));
        self.collect(&sql, &[], Sentiment::decode)
    }

    /// Events in scope matching `filter`, newest first when paged.
    pub fn events(
        &self,
        scope: &Scope,
        filter: &EventFilter,
        page: Option<Page>,
    ) -> Result<Vec<Event>> {
        let (cond, args) = event_cond(filter);
        let order = if page.is_some() {
            "reported_at DESC, id"
        } else {
            "id"
        };
        let sql = select::<Event>(&format!(
            "WHERE {} AND {cond} ORDER BY {order} {}",
            scope.sql(),
            page_sql(page)
        ));
        self.collect(&sql, &args, Event::decode)
    }

    /// Number of events in scope matching `filter`.
    pub fn count_events(&self, scope: &Scope, filter: &EventFilter) -> Result<u64> {
        let (cond, args) = event_cond(filter);
        let sql = format!(
            "SELECT count(*) FROM events WHERE {} AND {cond}",
            scope.sql()
        );
        let mut v = self.collect(&sql, &args, |r| get::<u64>(r, 0))?;
        Ok(v.pop().unwrap_or(0))
    }

    /// One event by ID, if visible in scope.
    pub fn event(&self, scope: &Scope, event: EventId) -> Result<Event> {
        let sql = select::<Event>(&format!("WHERE {} AND id = {}", scope.sql(), event.get()));
        self.collect(&sql, &[], Event::decode)?
            .pop()
            .ok_or(StoreError::NotFound {
                kind: "event",
                id: event.to_string(),
            })
    }

    /// The stored transitions of an event, oldest first.
    pub fn timeline(&self, event: EventId) -> Result<Vec<TransitionRow>> {
        self.collect(
            "SELECT from_status, to_status, at_s, actor, note FROM event_transitions
             WHERE event = ? ORDER BY seq",
            &[duckdb::types::Value::UBigInt(event.get())],
            |r| {
                Ok(TransitionRow {
                    from: get(r, 0)?,
                    to: get(r, 1)?,
                    at: get(r, 2)?,
                    actor: get(r, 3)?,
                    note: get(r, 4)?,
                })
            },
        )
    }

    /// IDs of the events whose stored timeline holds a transition to
    /// `status` (e.g. `reopened`: every event reopened at least once, even
    /// if closed again since).
    pub fn events_ever(&self, status: EventStatus) -> Result<std::collections::HashSet<u64>> {
        let v = self.collect(
            "SELECT DISTINCT event FROM event_transitions WHERE to_status = ?",
            &[duckdb::types::Value::Text(status.code().to_string())],
            |r| get::<u64>(r, 0),
        )?;
        Ok(v.into_iter().collect())
    }

    /// The highest unit ID stored (default units of an import continue
    /// from it).
    pub fn max_unit_id(&self) -> Result<u64> {
        let mut v = self.collect("SELECT coalesce(max(id), 0) FROM units", &[], |r| {
            get::<u64>(r, 0)
        })?;
        Ok(v.pop().unwrap_or(0))
    }

    /// The highest event ID stored (new IDs continue from it).
    pub fn max_event_id(&self) -> Result<u64> {
        let mut v = self.collect("SELECT coalesce(max(id), 0) FROM events", &[], |r| {
            get::<u64>(r, 0)
        })?;
        Ok(v.pop().unwrap_or(0))
    }

    /// Per-grid population figures: (grid id, households, residents, aged 60+,
    /// elderly living alone), over grids of every level, for `year`.
    pub fn grid_population(&self, year: i32) -> Result<Vec<GridPopulation>> {
        let sql = format!(
            "WITH p AS (SELECT comprehensive, micro, dedicated, birth_year, tags FROM persons),
             h AS (SELECT comprehensive, micro, dedicated FROM households),
             hc AS (SELECT g, count(*) n FROM (SELECT comprehensive g FROM h UNION ALL SELECT micro FROM h
                    UNION ALL SELECT dedicated FROM h) WHERE g IS NOT NULL GROUP BY g),
             pc AS (SELECT g, count(*) n, count(*) FILTER (WHERE {year} - birth_year >= 60) AS elderly,
                    count(*) FILTER (WHERE tags LIKE '%elderly_alone%') alone
                    FROM (SELECT comprehensive g, birth_year, tags FROM p UNION ALL
                          SELECT micro, birth_year, tags FROM p UNION ALL
                          SELECT dedicated, birth_year, tags FROM p) WHERE g IS NOT NULL GROUP BY g)
             SELECT g.id, coalesce(hc.n, 0), coalesce(pc.n, 0), coalesce(pc.elderly, 0), coalesce(pc.alone, 0)
             FROM grids g LEFT JOIN hc ON hc.g = g.id LEFT JOIN pc ON pc.g = g.id WHERE NOT g.retired"
        );
        self.collect(&sql, &[], |r| {
            Ok(GridPopulation {
                grid: get(r, 0)?,
                households: get(r, 1)?,
                residents: get(r, 2)?,
                aged60: get(r, 3)?,
                elderly_alone: get(r, 4)?,
            })
        })
    }

    /// Counts per element, per grid kind, unassigned elements and extent.
    pub fn counts(&self, scope: &Scope, year: i32) -> Result<Counts> {
        let s = scope.sql();
        let mut c = Counts {
            store_version: self.schema_version()?,
            town: self.town()?.map(|t| t.name),
            ..Counts::default()
        };
        // Retired grids stay in the table (grid versions); counts are of today's.
        for (t, cond) in [
            ("communities", "TRUE"),
            ("grids", "NOT retired"),
            ("roads", "TRUE"),
        ] {
            let n = self.collect(
                &format!("SELECT count(*) FROM {t} WHERE {cond}"),
                &[],
                |r| get::<u64>(r, 0),
            )?;
            c.elements
                .push((t.to_string(), n.first().copied().unwrap_or(0)));
        }
        for t in [
            "compounds",
            "buildings",
            "units",
            "households",
            "persons",
            "places",
            "events",
            "sentiments",
            "organisations",
        ] {
            let n = self.collect(&format!("SELECT count(*) FROM {t} WHERE {s}"), &[], |r| {
                get::<u64>(r, 0)
            })?;
            c.elements
                .push((t.to_string(), n.first().copied().unwrap_or(0)));
        }
        c.grids_by_kind = self.collect(
            "SELECT kind, count(*) FROM grids WHERE NOT retired GROUP BY kind ORDER BY kind",
            &[],
            |r| Ok((get(r, 0)?, get(r, 1)?)),
        )?;
        for t in ["buildings", "households", "persons", "events"] {
            let n = self.collect(
                &format!("SELECT count(*) FROM {t} WHERE {s} AND comprehensive IS NULL AND community IS NULL"),
                &[],
                |r| get::<u64>(r, 0),
            )?;
            c.unassigned
                .push((t.to_string(), n.first().copied().unwrap_or(0)));
        }
        let ext = self.collect(
            "SELECT min(minx), min(miny), max(maxx), max(maxy) FROM
             (SELECT minx, miny, maxx, maxy FROM communities UNION ALL
              SELECT minx, miny, maxx, maxy FROM grids WHERE NOT retired)",
            &[],
            |r| {
                let v: [Option<f64>; 4] = [get(r, 0)?, get(r, 1)?, get(r, 2)?, get(r, 3)?];
                Ok(match v {
                    [Some(a), Some(b), Some(c), Some(d)] => Some([a, b, c, d]),
                    _ => None,
                })
            },
        )?;
        c.extent = ext.into_iter().flatten().next();
        let pop = self.collect(
            &format!(
                "SELECT count(*), count(*) FILTER (WHERE {year} - birth_year >= 60) FROM persons WHERE {s}"
            ),
            &[],
            |r| Ok((get::<u64>(r, 0)?, get::<u64>(r, 1)?)),
        )?;
        if let Some((n, old)) = pop.first() {
            c.residents = *n;
            c.aged60_share = if *n > 0 { *old as f64 / *n as f64 } else { 0.0 };
        }
        let state = self.grid_state()?;
        c.grid_version = state.version;
        c.retired_grids = state.retired;
        c.events_per_month = self.collect(
            &format!(
                "SELECT strftime(to_timestamp(reported_at + 8 * 3600), '%Y-%m') m, count(*) FROM events
                 WHERE {s} GROUP BY m ORDER BY m"
            ),
            &[],
            |r| Ok((get(r, 0)?, get(r, 1)?)),
        )?;
        Ok(c)
    }
}

/// Runs a query on `conn` and decodes every row with `f`.
pub(crate) fn collect_on<T>(
    conn: &duckdb::Connection,
    sql: &str,
    args: &[duckdb::types::Value],
    f: impl Fn(&Row<'_>) -> Result<T>,
) -> Result<Vec<T>> {
    let mut st = conn.prepare(sql).ctx(format!("preparing {sql}"))?;
    let mut rows = st.query(params_from_iter(args.iter())).ctx("querying")?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().ctx("reading rows")? {
        out.push(f(r)?);
    }
    Ok(out)
}

/// Every community (also inside a transaction: `conn` may be one).
pub(crate) fn communities_on(conn: &duckdb::Connection) -> Result<Vec<Community>> {
    collect_on(
        conn,
        &select::<Community>("ORDER BY id"),
        &[],
        Community::decode,
    )
}

/// Grids matching `cond` (an SQL condition over the `grids` table built by
/// this module, never from user text), by ID.
pub(crate) fn grids_on(conn: &duckdb::Connection, cond: &str) -> Result<Vec<Grid>> {
    collect_on(
        conn,
        &select::<Grid>(&format!("WHERE {cond} ORDER BY id")),
        &[],
        Grid::decode,
    )
}

fn grid_cond(grid: Option<GridId>) -> String {
    match grid {
        None => "TRUE".into(),
        Some(g) => {
            let g = g.get();
            format!("(comprehensive = {g} OR micro = {g} OR dedicated = {g})")
        }
    }
}

fn page_sql(page: Option<Page>) -> String {
    match page {
        None => String::new(),
        Some(p) => format!("LIMIT {} OFFSET {}", p.limit, p.offset),
    }
}

fn event_cond(f: &EventFilter) -> (String, Vec<duckdb::types::Value>) {
    use duckdb::types::Value;
    let mut c = vec!["TRUE".to_string()];
    let mut a = Vec::new();
    if let Some([w, s, e, n]) = f.bbox {
        c.push("lon BETWEEN ? AND ? AND lat BETWEEN ? AND ?".into());
        a.extend([
            Value::Double(w),
            Value::Double(e),
            Value::Double(s),
            Value::Double(n),
        ]);
    }
    if let Some(cat) = &f.category {
        if cat.len() == 2 {
            c.push("starts_with(category, ?)".into());
        } else {
            c.push("category = ?".into());
        }
        a.push(Value::Text(cat.clone()));
    }
    if let Some(s) = &f.status {
        c.push("status = ?".into());
        a.push(Value::Text(s.clone()));
    }
    if let Some(s) = &f.source {
        c.push("source = ?".into());
        a.push(Value::Text(s.clone()));
    }
    if let Some(t) = f.from {
        c.push("reported_at >= ?".into());
        a.push(Value::BigInt(t.timestamp()));
    }
    if let Some(t) = f.to {
        c.push("reported_at < ?".into());
        a.push(Value::BigInt(t.timestamp()));
    }
    if let Some(g) = f.grid {
        c.push(grid_cond(Some(g)));
    }
    (c.join(" AND "), a)
}

impl Store {
    /// Stored grid references of rows of an element table (buildings, units,
    /// households, persons…), for elements whose parent was imported earlier.
    pub fn refs_of(&self, kind: ElementKind, ids: &[u64]) -> Result<RefMap<u64>> {
        use ElementKind as K;
        if matches!(kind, K::Communities | K::Grids | K::Roads) {
            return Err(StoreError::NotFound {
                kind: "grid references of",
                id: kind.as_str().to_string(),
            });
        }
        let table = kind.as_str();
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            return Ok(RefMap::default());
        }
        // One join against the probe table, whatever the number of IDs.
        let sql = format!(
            "SELECT t.id, t.community, t.comprehensive, t.micro, t.dedicated FROM {} t {}",
            table,
            self.probe(&ids)?
        );
        let rows = self.collect(&sql, &[], |r| {
            let rid: u64 = get(r, 0)?;
            Ok((
                rid,
                GridRefs {
                    community: opt_id(table, rid, "community", get(r, 1)?, CommunityId::new)?,
                    comprehensive: opt_id(table, rid, "comprehensive", get(r, 2)?, GridId::new)?,
                    micro: opt_id(table, rid, "micro", get(r, 3)?, GridId::new)?,
                    dedicated: opt_id(table, rid, "dedicated", get(r, 4)?, GridId::new)?,
                },
            ))
        })?;
        Ok(rows.into_iter().collect())
    }

    /// True when the store holds no grids and no buildings (a fresh file).
    pub fn is_empty(&self) -> Result<bool> {
        let n = self.collect(
            "SELECT (SELECT count(*) FROM grids) + (SELECT count(*) FROM buildings) + (SELECT count(*) FROM events)",
            &[],
            |r| get::<u64>(r, 0),
        )?;
        Ok(n.first().copied().unwrap_or(0) == 0)
    }

    /// IDs stored in an element table among `ids` (reference checks of imports).
    pub fn existing_ids(
        &self,
        kind: ElementKind,
        ids: &[u64],
    ) -> Result<std::collections::HashSet<u64>> {
        let table = kind.as_str();
        if ids.is_empty() {
            return Ok(std::collections::HashSet::new());
        }
        // Nothing to find when the probe misses the stored ID range (the
        // common case: new IDs continue after the stored ones).
        let (lo, hi) = ids
            .iter()
            .fold((u64::MAX, 0u64), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        let range = self.collect(
            &format!("SELECT min(id), max(id) FROM {}", table),
            &[],
            |r| Ok((get::<Option<u64>>(r, 0)?, get::<Option<u64>>(r, 1)?)),
        )?;
        match range.first() {
            Some((Some(min), Some(max))) if lo <= *max && hi >= *min => {}
            _ => return Ok(std::collections::HashSet::new()),
        }
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let probe = self.probe(&ids)?;
        // Usually every ID is there: then a count says so, and no row
        // needs to come back.
        let found = self.collect(
            &format!("SELECT count(DISTINCT t.id) FROM {} t {probe}", table),
            &[],
            |r| get::<u64>(r, 0),
        )?;
        if found.first().copied() == Some(ids.len() as u64) {
            return Ok(ids.into_iter().collect());
        }
        let sql = format!("SELECT DISTINCT t.id FROM {} t {probe}", table);
        let found = self.collect(&sql, &[], |r| get::<u64>(r, 0))?;
        Ok(found.into_iter().collect())
    }

    /// The clause that keeps the rows `t` of `ids` (ascending, distinct): a
    /// range when they are consecutive (DuckDB skips row groups by their
    /// min/max), else a hash join against the session's temp table of the
    /// probed IDs (DuckDB pushes the probe's min/max into the scan as well).
    fn probe(&self, ids: &[u64]) -> Result<String> {
        match (ids.first(), ids.last()) {
            (Some(&lo), Some(&hi))
                if hi.checked_sub(lo).and_then(|d| d.checked_add(1)) == Some(ids.len() as u64) =>
            {
                Ok(format!("WHERE t.id BETWEEN {lo} AND {hi}"))
            }
            _ => {
                self.fill_probe(ids)?;
                Ok("JOIN probe_ids p ON t.id = p.id".into())
            }
        }
    }

    /// Replaces the rows of the session's temp table `probe_ids` with `ids`
    /// (one Appender pass: the batch probes of [`Store::existing_ids`] and
    /// [`Store::refs_of`] join against it).
    fn fill_probe(&self, ids: &[u64]) -> Result<()> {
        self.conn
            .execute_batch(
                "CREATE TEMP TABLE IF NOT EXISTS probe_ids (id UBIGINT); DELETE FROM probe_ids;",
            )
            .ctx("probing IDs")?;
        let mut a = super::columnar::ColumnAppender::new(&self.conn, "probe_ids")?;
        for id in ids {
            a.append_row(duckdb::params![*id])?;
        }
        a.finish()
    }
}

/// The store answers the look-ups of parents stored before a batch
/// ([`crate::assign::assign_batch`]) with one probe per kind
/// ([`Store::refs_of`]).
impl StoredRefs for Store {
    type Error = StoreError;

    fn stored_refs(&self, elements: &[ElementRef]) -> Result<RefMap<ElementRef>> {
        let mut out = RefMap::with_capacity_and_hasher(elements.len(), Default::default());
        let mut rest = elements;
        while let Some(&first) = rest.first() {
            let table = first.kind();
            let n = rest
                .iter()
                .position(|e| e.kind() != table)
                .unwrap_or(rest.len());
            let (these, tail) = rest.split_at(n);
            let ids: Vec<u64> = these.iter().map(|e| e.id()).collect();
            let found = self.refs_of(table, &ids)?;
            out.extend(
                these
                    .iter()
                    .filter_map(|e| found.get(&e.id()).map(|r| (*e, *r))),
            );
            rest = tail;
        }
        Ok(out)
    }
}

/// The store answers the reference checks of an import
/// ([`crate::io::ImportOptions::references`]) with one batch probe per
/// referenced kind ([`Store::existing_ids`]).
impl crate::io::ReferenceLookup for Store {
    fn contains(&self, kind: crate::io::ElementKind, id: u64) -> bool {
        self.existing_ids(kind, &[id])
            .is_ok_and(|s| s.contains(&id))
    }

    fn existing(
        &self,
        kind: crate::io::ElementKind,
        ids: &[u64],
    ) -> std::result::Result<std::collections::HashSet<u64>, String> {
        self.existing_ids(kind, ids).map_err(|e| e.to_string())
    }
}
