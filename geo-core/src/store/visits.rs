//! Households' files (一户一档): one household with its members, its visits
//! and needs, and the care-list rows the visit schedule is computed from.
//! Visits and needs carry no grid columns of their own: every read joins
//! `households` under the caller's [`Scope`], so they follow the household
//! through a re-gridding.

use chrono::{DateTime, Utc};
use duckdb::params;

use super::codec::{id, opt_id, vocab};
use super::decode::{select, Decode};
use super::error::{Ctx, Result};
use super::read::{get, ts};
use super::{Scope, Store};
use crate::ids::*;
use crate::model::*;

/// One household on the care lists or not, as the schedule and the 民情
/// figures need it: its grids, its members' tags, its last visit and its
/// open needs. No personal data.
#[derive(Debug, Clone, PartialEq)]
pub struct CareRow {
    /// Household.
    pub household: HouseholdId,
    /// Building.
    pub building: BuildingId,
    /// Room number.
    pub room: String,
    /// Its grids.
    pub refs: GridRefs,
    /// Distinct tags of its members.
    pub tags: Vec<PersonTag>,
    /// Last visit, if any.
    pub last_visit: Option<DateTime<Utc>>,
    /// Open needs.
    pub open_needs: u32,
}

/// Where a household lives in its building (a building's household list).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dwelling {
    /// Household.
    pub household: HouseholdId,
    /// Unit.
    pub unit: Option<UnitId>,
    /// Floor.
    pub floor: i16,
    /// Room.
    pub room: String,
}

/// A visit to record ([`Store::record_visit`]).
#[derive(Debug, Clone, PartialEq)]
pub struct NewVisit {
    /// The household visited (its scope checked by the caller).
    pub household: HouseholdId,
    /// When.
    pub at: DateTime<Utc>,
    /// Kind.
    pub kind: VisitKind,
    /// Notes.
    pub notes: String,
    /// Who records it (`role:name`).
    pub actor: String,
    /// Needs it found.
    pub needs: Vec<NewNeed>,
}

/// A need to record with a visit.
#[derive(Debug, Clone, PartialEq)]
pub struct NewNeed {
    /// Category.
    pub category: NeedCategory,
    /// Short text.
    pub text: String,
}

fn in_scope(scope: &Scope) -> String {
    format!(
        "household IN (SELECT id FROM households WHERE {})",
        scope.sql()
    )
}

fn decode_visit(r: &duckdb::Row<'_>) -> Result<Visit> {
    let rid: u64 = get(r, 0)?;
    Ok(Visit {
        id: id("visits", rid, "id", rid, VisitId::new)?,
        household: id("visits", rid, "household", get(r, 1)?, HouseholdId::new)?,
        at: ts("visits", rid, "at_s", get(r, 2)?)?,
        kind: vocab(
            "visits",
            rid,
            "kind",
            &get::<String>(r, 3)?,
            VisitKind::parse,
        )?,
        notes: get(r, 4)?,
        actor: get(r, 5)?,
    })
}

fn decode_need(r: &duckdb::Row<'_>) -> Result<Need> {
    let rid: u64 = get(r, 0)?;
    Ok(Need {
        id: id("needs", rid, "id", rid, NeedId::new)?,
        household: id("needs", rid, "household", get(r, 1)?, HouseholdId::new)?,
        visit: opt_id("needs", rid, "visit", get(r, 2)?, VisitId::new)?,
        category: vocab(
            "needs",
            rid,
            "category",
            &get::<String>(r, 3)?,
            NeedCategory::parse,
        )?,
        text: get(r, 4)?,
        opened_at: ts("needs", rid, "opened_at", get(r, 5)?)?,
        closed_at: get::<Option<i64>>(r, 6)?
            .map(|v| ts("needs", rid, "closed_at", v))
            .transpose()?,
        closed_by: get(r, 7)?,
    })
}

const VISIT_COLS: &str = "id, household, at_s, kind, notes, actor";
const NEED_COLS: &str = "id, household, visit, category, text, opened_at, closed_at, closed_by";

impl Store {
    /// One household, if it exists inside `scope` (outside it is absent).
    pub fn household(&self, scope: &Scope, household: HouseholdId) -> Result<Option<Household>> {
        let mut v = self.collect(
            &select::<Household>(&format!("WHERE {} AND id = ?", scope.sql())),
            &[household.get().into()],
            Household::decode,
        )?;
        Ok(v.pop())
    }

    /// The households of a building in `scope`, by unit, floor and room
    /// (no personal data).
    pub fn households_of_building(
        &self,
        scope: &Scope,
        building: BuildingId,
    ) -> Result<Vec<Dwelling>> {
        self.collect(
            &format!(
                "SELECT id, unit, floor, room FROM households WHERE {} AND building = ?
                 ORDER BY unit NULLS FIRST, floor, room, id",
                scope.sql()
            ),
            &[building.get().into()],
            |r| {
                let rid: u64 = get(r, 0)?;
                Ok(Dwelling {
                    household: id("households", rid, "id", rid, HouseholdId::new)?,
                    unit: opt_id("households", rid, "unit", get(r, 1)?, UnitId::new)?,
                    floor: get(r, 2)?,
                    room: get(r, 3)?,
                })
            },
        )
    }

    /// The members of a household in `scope`. Callers mask as for
    /// [`Store::persons`].
    pub fn members(&self, scope: &Scope, household: HouseholdId) -> Result<Vec<Person>> {
        self.persons_where(
            &format!("{} AND household = ?", scope.sql()),
            &[household.get().into()],
            None,
        )
    }

    /// Visits of a household in `scope`, newest first.
    pub fn visits_of(&self, scope: &Scope, household: HouseholdId) -> Result<Vec<Visit>> {
        self.collect(
            &format!(
                "SELECT {VISIT_COLS} FROM visits WHERE {} AND household = ? ORDER BY at_s DESC, id DESC",
                in_scope(scope)
            ),
            &[household.get().into()],
            decode_visit,
        )
    }

    /// Needs of a household in `scope`, open first, newest first.
    pub fn needs_of(&self, scope: &Scope, household: HouseholdId) -> Result<Vec<Need>> {
        self.collect(
            &format!(
                "SELECT {NEED_COLS} FROM needs WHERE {} AND household = ?
                 ORDER BY closed_at IS NOT NULL, opened_at DESC, id DESC",
                in_scope(scope)
            ),
            &[household.get().into()],
            decode_need,
        )
    }

    /// One need, if it exists inside `scope`.
    pub fn need(&self, scope: &Scope, need: NeedId) -> Result<Option<Need>> {
        let mut v = self.collect(
            &format!(
                "SELECT {NEED_COLS} FROM needs WHERE {} AND id = ?",
                in_scope(scope)
            ),
            &[need.get().into()],
            decode_need,
        )?;
        Ok(v.pop())
    }

    /// Records a visit and the needs it found, in one transaction; IDs are
    /// the next free ones. The caller has checked the household's scope.
    pub fn record_visit(
        &mut self,
        v: &NewVisit,
        recorded_at: DateTime<Utc>,
    ) -> Result<(Visit, Vec<Need>)> {
        let NewVisit {
            household,
            at,
            kind,
            notes,
            actor,
            needs,
        } = v;
        let (household, at, kind) = (*household, *at, *kind);
        let tx = self.conn.transaction().ctx("starting visit")?;
        let next = |table: &str| -> Result<u64> {
            tx.query_row(
                &format!("SELECT coalesce(max(id), 0) + 1 FROM {table}"),
                [],
                |r| r.get::<_, u64>(0),
            )
            .ctx(format!("next {table} id"))
        };
        let vid = next("visits")?;
        let first_need = next("needs")?;
        tx.execute(
            "INSERT INTO visits VALUES (?, ?, ?, ?, ?, ?, ?)",
            params![
                vid,
                household.get(),
                at.timestamp(),
                kind.code(),
                notes,
                actor,
                recorded_at.timestamp()
            ],
        )
        .ctx("writing visit")?;
        let visit = Visit {
            id: id("visits", vid, "id", vid, VisitId::new)?,
            household,
            at,
            kind,
            notes: notes.clone(),
            actor: actor.clone(),
        };
        let mut out = Vec::new();
        for (nid, n) in (first_need..).zip(needs) {
            tx.execute(
                "INSERT INTO needs VALUES (?, ?, ?, ?, ?, ?, NULL, NULL)",
                params![
                    nid,
                    household.get(),
                    vid,
                    n.category.code(),
                    n.text,
                    at.timestamp()
                ],
            )
            .ctx("writing need")?;
            out.push(Need {
                id: id("needs", nid, "id", nid, NeedId::new)?,
                household,
                visit: Some(visit.id),
                category: n.category,
                text: n.text.clone(),
                opened_at: at,
                closed_at: None,
                closed_by: None,
            });
        }
        tx.commit().ctx("committing visit")?;
        Ok((visit, out))
    }

    /// Closes an open need (the caller has checked its scope and that it is
    /// open); answers it as closed.
    pub fn close_need(&mut self, need: &Need, at: DateTime<Utc>, actor: &str) -> Result<Need> {
        self.conn
            .execute(
                "UPDATE needs SET closed_at = ?, closed_by = ? WHERE id = ? AND closed_at IS NULL",
                params![at.timestamp(), actor, need.id.get()],
            )
            .ctx("closing need")?;
        Ok(Need {
            closed_at: Some(at),
            closed_by: Some(actor.to_string()),
            ..need.clone()
        })
    }

    /// Writes visits and needs made elsewhere (the demo town), keeping their
    /// IDs, in one transaction.
    pub fn insert_visits(&mut self, visits: &[Visit], needs: &[Need]) -> Result<()> {
        let tx = self.conn.transaction().ctx("starting visits")?;
        {
            let mut v = tx
                .prepare("INSERT INTO visits VALUES (?, ?, ?, ?, ?, ?, ?)")
                .ctx("writing visits")?;
            for x in visits {
                v.execute(params![
                    x.id.get(),
                    x.household.get(),
                    x.at.timestamp(),
                    x.kind.code(),
                    x.notes,
                    x.actor,
                    x.at.timestamp()
                ])
                .ctx("writing visits")?;
            }
            let mut n = tx
                .prepare("INSERT INTO needs VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
                .ctx("writing needs")?;
            for x in needs {
                n.execute(params![
                    x.id.get(),
                    x.household.get(),
                    x.visit.map(|v| v.get()),
                    x.category.code(),
                    x.text,
                    x.opened_at.timestamp(),
                    x.closed_at.map(|t| t.timestamp()),
                    x.closed_by
                ])
                .ctx("writing needs")?;
            }
        }
        tx.commit().ctx("committing visits")
    }

    /// Every household in `scope` with its grids, its members' tags, its
    /// last visit and its open needs (the visit schedule, the 民情 layer).
    pub fn care_rows(&self, scope: &Scope) -> Result<Vec<CareRow>> {
        let sql = format!(
            "WITH h AS (SELECT id, building, room, community, comprehensive, micro, dedicated
                        FROM households WHERE {}),
                  t AS (SELECT household, string_agg(tags, ';') AS tags FROM persons
                        WHERE household IN (SELECT id FROM h) AND tags <> '' GROUP BY household),
                  v AS (SELECT household, max(at_s) AS last FROM visits GROUP BY household),
                  n AS (SELECT household, count(*) AS open FROM needs WHERE closed_at IS NULL
                        GROUP BY household)
             SELECT h.id, h.building, h.room, h.community, h.comprehensive, h.micro, h.dedicated,
                    coalesce(t.tags, ''), v.last, coalesce(n.open, 0)
             FROM h LEFT JOIN t ON t.household = h.id LEFT JOIN v ON v.household = h.id
                    LEFT JOIN n ON n.household = h.id
             ORDER BY h.id",
            scope.sql()
        );
        self.collect(&sql, &[], |r| {
            let rid: u64 = get(r, 0)?;
            let tags: String = get(r, 7)?;
            let mut tags: Vec<PersonTag> = tags
                .split(';')
                .filter(|t| !t.is_empty())
                .map(|t| vocab("persons", rid, "tags", t, PersonTag::parse))
                .collect::<Result<_>>()?;
            tags.sort_unstable();
            tags.dedup();
            Ok(CareRow {
                household: id("households", rid, "id", rid, HouseholdId::new)?,
                building: id("households", rid, "building", get(r, 1)?, BuildingId::new)?,
                room: get(r, 2)?,
                refs: GridRefs {
                    community: opt_id(
                        "households",
                        rid,
                        "community",
                        get(r, 3)?,
                        CommunityId::new,
                    )?,
                    comprehensive: opt_id(
                        "households",
                        rid,
                        "comprehensive",
                        get(r, 4)?,
                        GridId::new,
                    )?,
                    micro: opt_id("households", rid, "micro", get(r, 5)?, GridId::new)?,
                    dedicated: opt_id("households", rid, "dedicated", get(r, 6)?, GridId::new)?,
                },
                tags,
                last_visit: get::<Option<i64>>(r, 8)?
                    .map(|v| ts("visits", rid, "at_s", v))
                    .transpose()?,
                open_needs: get::<i64>(r, 9)?.try_into().unwrap_or(u32::MAX),
            })
        })
    }

    /// Number of stored visits.
    pub fn visit_count(&self) -> Result<u64> {
        self.conn
            .query_row("SELECT count(*) FROM visits", [], |r| r.get(0))
            .ctx("counting visits")
    }

    /// The grids of one household (for its file's grid codes).
    pub fn household_refs(&self, household: HouseholdId) -> Result<Option<GridRefs>> {
        Ok(self
            .refs_of(crate::io::ElementKind::Households, &[household.get()])?
            .remove(&household.get()))
    }
}
