//! The read side of the store's codec: for each element kind, the columns
//! it is read from and how one row of them becomes the model type (the write
//! side is `write`'s `append_all` rows and [`super::codec`]'s geometry and
//! vocabulary codecs). Every read of a whole element goes through [`Decode`],
//! so a column is named once for reading. People are read by `read`'s
//! `persons_where`, which also opens their sealed columns.

use duckdb::Row;
use geo_types::Point;

use super::codec::{id, opt_id, parse_geom, parse_line, parse_multi, vocab};
use super::error::{Result, StoreError};
use super::read::{get, ts};
use crate::ids::*;
use crate::model::*;
use crate::taxonomy::EventCategory;

/// An element as read from its table.
pub(crate) trait Decode: Sized {
    /// The table.
    const TABLE: &'static str;
    /// The columns [`Decode::decode`] reads, in its order.
    const COLS: &'static str;
    /// The element of one row of [`Decode::COLS`].
    fn decode(r: &Row<'_>) -> Result<Self>;
}

/// `SELECT` of `T`'s columns from its table, followed by `rest` (`WHERE …
/// ORDER BY …`, built by the store's own code, never from user text).
pub(crate) fn select<T: Decode>(rest: &str) -> String {
    format!("SELECT {} FROM {} {rest}", T::COLS, T::TABLE)
}

impl Decode for Community {
    const TABLE: &'static str = "communities";
    const COLS: &'static str = "id, code, name, is_village, geom";
    fn decode(r: &Row<'_>) -> Result<Self> {
        let rid: u64 = get(r, 0)?;
        Ok(Community {
            id: id("communities", rid, "id", rid, CommunityId::new)?,
            code: vocab(
                "communities",
                rid,
                "code",
                &get::<String>(r, 1)?,
                DivisionCode::parse,
            )?,
            name: get(r, 2)?,
            is_village: get(r, 3)?,
            boundary: parse_multi("communities", rid, &get::<String>(r, 4)?)?,
        })
    }
}

impl Decode for Grid {
    const TABLE: &'static str = "grids";
    const COLS: &'static str = "id, code, name, kind, community, parent, geom, workers";
    fn decode(r: &Row<'_>) -> Result<Self> {
        let rid: u64 = get(r, 0)?;
        let workers: Vec<Worker> =
            serde_json::from_str(&get::<String>(r, 7)?).map_err(|e| StoreError::Corrupt {
                table: "grids",
                id: rid,
                column: "workers",
                reason: e.to_string(),
            })?;
        Ok(Grid {
            id: id("grids", rid, "id", rid, GridId::new)?,
            code: vocab("grids", rid, "code", &get::<String>(r, 1)?, GridCode::parse)?,
            name: get(r, 2)?,
            kind: vocab("grids", rid, "kind", &get::<String>(r, 3)?, GridKind::parse)?,
            community: opt_id("grids", rid, "community", get(r, 4)?, CommunityId::new)?,
            parent: opt_id("grids", rid, "parent", get(r, 5)?, GridId::new)?,
            boundary: parse_multi("grids", rid, &get::<String>(r, 6)?)?,
            workers,
        })
    }
}

impl Decode for Compound {
    const TABLE: &'static str = "compounds";
    const COLS: &'static str = "id, name, era, built_year, geom, community";
    fn decode(r: &Row<'_>) -> Result<Self> {
        let rid: u64 = get(r, 0)?;
        Ok(Compound {
            id: id("compounds", rid, "id", rid, CompoundId::new)?,
            name: get(r, 1)?,
            era: vocab(
                "compounds",
                rid,
                "era",
                &get::<String>(r, 2)?,
                CompoundEra::parse,
            )?,
            built_year: get(r, 3)?,
            boundary: parse_multi("compounds", rid, &get::<String>(r, 4)?)?,
            community: opt_id("compounds", rid, "community", get(r, 5)?, CommunityId::new)?,
        })
    }
}

impl Decode for Building {
    const TABLE: &'static str = "buildings";
    const COLS: &'static str = "id, compound, geom, levels, height_m, usage, units, households, households_estimated, address";
    fn decode(r: &Row<'_>) -> Result<Self> {
        let rid: u64 = get(r, 0)?;
        Ok(Building {
            id: id("buildings", rid, "id", rid, BuildingId::new)?,
            compound: opt_id("buildings", rid, "compound", get(r, 1)?, CompoundId::new)?,
            footprint: parse_multi("buildings", rid, &get::<String>(r, 2)?)?,
            levels: get(r, 3)?,
            height_m: get(r, 4)?,
            usage: vocab(
                "buildings",
                rid,
                "usage",
                &get::<String>(r, 5)?,
                BuildingUse::parse,
            )?,
            units: get(r, 6)?,
            households: get(r, 7)?,
            households_estimated: get(r, 8)?,
            address: get(r, 9)?,
        })
    }
}

impl Decode for Unit {
    const TABLE: &'static str = "units";
    const COLS: &'static str = "id, building, number, households, lon, lat";
    fn decode(r: &Row<'_>) -> Result<Self> {
        let rid: u64 = get(r, 0)?;
        Ok(Unit {
            id: id("units", rid, "id", rid, UnitId::new)?,
            building: id("units", rid, "building", get(r, 1)?, BuildingId::new)?,
            number: get(r, 2)?,
            households: get(r, 3)?,
            entrance: Point::new(get(r, 4)?, get(r, 5)?),
        })
    }
}

impl Decode for Place {
    const TABLE: &'static str = "places";
    const COLS: &'static str = "id, name, category, service, geom";
    fn decode(r: &Row<'_>) -> Result<Self> {
        let rid: u64 = get(r, 0)?;
        let service: Option<String> = get(r, 3)?;
        Ok(Place {
            id: id("places", rid, "id", rid, PlaceId::new)?,
            name: get(r, 1)?,
            category: vocab(
                "places",
                rid,
                "category",
                &get::<String>(r, 2)?,
                PlaceCategory::parse,
            )?,
            service: service
                .map(|t| vocab("places", rid, "service", &t, ServiceKind::parse))
                .transpose()?,
            geometry: parse_geom("places", rid, &get::<String>(r, 4)?)?,
        })
    }
}

impl Decode for Organisation {
    const TABLE: &'static str = "organisations";
    const COLS: &'static str = "id, name, kind, geom, compound, members, member_count";
    fn decode(r: &Row<'_>) -> Result<Self> {
        let rid: u64 = get(r, 0)?;
        let members: Vec<u64> =
            serde_json::from_str(&get::<String>(r, 5)?).map_err(|e| StoreError::Corrupt {
                table: "organisations",
                id: rid,
                column: "members",
                reason: e.to_string(),
            })?;
        Ok(Organisation {
            id: id("organisations", rid, "id", rid, OrganisationId::new)?,
            name: get(r, 1)?,
            kind: vocab(
                "organisations",
                rid,
                "kind",
                &get::<String>(r, 2)?,
                OrganisationKind::parse,
            )?,
            geometry: parse_geom("organisations", rid, &get::<String>(r, 3)?)?,
            compound: opt_id(
                "organisations",
                rid,
                "compound",
                get(r, 4)?,
                CompoundId::new,
            )?,
            members: members
                .into_iter()
                .filter_map(|m| PersonId::new(m).ok())
                .collect(),
            member_count: get(r, 6)?,
        })
    }
}

impl Decode for Road {
    const TABLE: &'static str = "roads";
    const COLS: &'static str = "id, name, class, geom";
    fn decode(r: &Row<'_>) -> Result<Self> {
        let rid: u64 = get(r, 0)?;
        Ok(Road {
            id: id("roads", rid, "id", rid, RoadId::new)?,
            name: get(r, 1)?,
            class: vocab(
                "roads",
                rid,
                "class",
                &get::<String>(r, 2)?,
                RoadClass::parse,
            )?,
            line: parse_line("roads", rid, &get::<String>(r, 3)?)?,
        })
    }
}

impl Decode for Household {
    const TABLE: &'static str = "households";
    const COLS: &'static str =
        "id, building, unit, floor, room, size, tenure, group_rented, party_member";
    fn decode(r: &Row<'_>) -> Result<Self> {
        let rid: u64 = get(r, 0)?;
        Ok(Household {
            id: id("households", rid, "id", rid, HouseholdId::new)?,
            building: id("households", rid, "building", get(r, 1)?, BuildingId::new)?,
            unit: opt_id("households", rid, "unit", get(r, 2)?, UnitId::new)?,
            floor: get(r, 3)?,
            room: get(r, 4)?,
            size: get(r, 5)?,
            tenure: vocab(
                "households",
                rid,
                "tenure",
                &get::<String>(r, 6)?,
                Tenure::parse,
            )?,
            group_rented: get(r, 7)?,
            party_member: get(r, 8)?,
        })
    }
}

impl Decode for Event {
    const TABLE: &'static str = "events";
    const COLS: &'static str = "id, category, title, lon, lat, reported_at, source, status, grade, deadline, handler, resolved_at, satisfaction, master, reporter_household";
    fn decode(r: &Row<'_>) -> Result<Self> {
        let rid: u64 = get(r, 0)?;
        let t = "events";
        Ok(Event {
            id: id(t, rid, "id", rid, EventId::new)?,
            category: vocab(
                t,
                rid,
                "category",
                &get::<String>(r, 1)?,
                EventCategory::parse,
            )?,
            title: get(r, 2)?,
            location: Point::new(get(r, 3)?, get(r, 4)?),
            reported_at: ts(t, rid, "reported_at", get(r, 5)?)?,
            source: vocab(t, rid, "source", &get::<String>(r, 6)?, EventSource::parse)?,
            status: vocab(t, rid, "status", &get::<String>(r, 7)?, EventStatus::parse)?,
            grade: vocab(t, rid, "grade", &get::<String>(r, 8)?, Grade::parse)?,
            deadline: get::<Option<i64>>(r, 9)?
                .map(|v| ts(t, rid, "deadline", v))
                .transpose()?,
            handler: get(r, 10)?,
            resolved_at: get::<Option<i64>>(r, 11)?
                .map(|v| ts(t, rid, "resolved_at", v))
                .transpose()?,
            satisfaction: get(r, 12)?,
            master: opt_id(t, rid, "master", get(r, 13)?, EventId::new)?,
            reporter_household: opt_id(
                t,
                rid,
                "reporter_household",
                get(r, 14)?,
                HouseholdId::new,
            )?,
        })
    }
}

impl Decode for Sentiment {
    const TABLE: &'static str = "sentiments";
    const COLS: &'static str = "id, kind, score, text, at_s, link_kind, link_id";
    fn decode(r: &Row<'_>) -> Result<Self> {
        let rid: u64 = get(r, 0)?;
        let lk: String = get(r, 5)?;
        let lid: u64 = get(r, 6)?;
        let link = match lk.as_str() {
            "household" => {
                SentimentLink::Household(id("sentiments", rid, "link_id", lid, HouseholdId::new)?)
            }
            "place" => SentimentLink::Place(id("sentiments", rid, "link_id", lid, PlaceId::new)?),
            _ => SentimentLink::Event(id("sentiments", rid, "link_id", lid, EventId::new)?),
        };
        Ok(Sentiment {
            id: id("sentiments", rid, "id", rid, SentimentId::new)?,
            kind: vocab(
                "sentiments",
                rid,
                "kind",
                &get::<String>(r, 1)?,
                SentimentKind::parse,
            )?,
            score: get(r, 2)?,
            text: get(r, 3)?,
            at: ts("sentiments", rid, "at", get(r, 4)?)?,
            link,
        })
    }
}
