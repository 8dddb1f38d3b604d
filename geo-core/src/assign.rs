//! The assignment chain 人进户、户进房、房进格、格进图: every element gets the
//! community and grids of each level that contain it.
//!
//! - buildings by their representative point (inside the footprint),
//! - units by their entrance, falling back to their building,
//! - households by their unit, else their building,
//! - persons by their household,
//! - places, organisations and compounds by their point or representative
//!   point, events by their location.
//!
//! The share of located elements that fall outside every grid is reported:
//! a high share usually means the data came in the wrong CRS (GCJ-02 read as
//! WGS84 shifts points by hundreds of metres).

use std::collections::HashMap;

use geo_types::Coord;

use crate::geometry::{polygon_point, representative_point};
use crate::ids::{
    BuildingId, CompoundId, EventId, HouseholdId, OrganisationId, PersonId, PlaceId, UnitId,
};
use crate::index::{PreparedArea, SpatialIndex};
use crate::model::GridRefs;
use crate::Dataset;

/// Counts of elements that could not be placed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutsideCounts {
    /// Elements with a location of their own (buildings, units, places,
    /// events, organisations, compounds).
    pub located: usize,
    /// Buildings outside every grid and community.
    pub buildings: usize,
    /// Units outside (entrance and building both outside).
    pub units: usize,
    /// Places outside.
    pub places: usize,
    /// Events outside.
    pub events: usize,
    /// Organisations outside.
    pub organisations: usize,
    /// Compounds outside.
    pub compounds: usize,
    /// Households whose building/unit is unknown.
    pub unlinked_households: usize,
    /// Persons with no household, or whose household is unknown.
    pub unlinked_persons: usize,
    /// Located elements with no usable geometry.
    pub unlocatable: usize,
}

impl OutsideCounts {
    /// Located elements outside every grid.
    pub fn total(&self) -> usize {
        self.buildings
            + self.units
            + self.places
            + self.events
            + self.organisations
            + self.compounds
    }
}

/// The grids of every element of a dataset.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Assignments {
    /// Buildings.
    pub buildings: HashMap<BuildingId, GridRefs>,
    /// Units.
    pub units: HashMap<UnitId, GridRefs>,
    /// Households.
    pub households: HashMap<HouseholdId, GridRefs>,
    /// Persons.
    pub persons: HashMap<PersonId, GridRefs>,
    /// Places.
    pub places: HashMap<PlaceId, GridRefs>,
    /// Events.
    pub events: HashMap<EventId, GridRefs>,
    /// Organisations.
    pub organisations: HashMap<OrganisationId, GridRefs>,
    /// Compounds.
    pub compounds: HashMap<CompoundId, GridRefs>,
    /// What could not be placed.
    pub outside: OutsideCounts,
}

impl Assignments {
    /// Share (0–1) of located elements outside every grid.
    pub fn outside_share(&self) -> f64 {
        if self.outside.located == 0 {
            0.0
        } else {
            self.outside.total() as f64 / self.outside.located as f64
        }
    }

    /// True when so many elements fall outside the grids (over half of at
    /// least 20) that the data is probably in another CRS than declared.
    pub fn suspect_wrong_crs(&self) -> bool {
        self.outside.located >= 20 && self.outside_share() > 0.5
    }
}

/// Assigns every element of `ds` to grids using `index` (whose locators are
/// built first; see [`SpatialIndex::prepare`]).
pub fn assign_dataset(ds: &Dataset, index: &SpatialIndex) -> Assignments {
    index.prepare();
    let mut out = Assignments::default();
    let mut counts = OutsideCounts::default();
    let place = |c: Option<Coord<f64>>, outside: &mut usize, unlocatable: &mut usize| {
        let Some(c) = c else {
            *unlocatable += 1;
            *outside += 1;
            return GridRefs::default();
        };
        let refs = index.grids_at(c);
        if refs.is_unassigned() {
            *outside += 1;
        }
        refs
    };

    for b in &ds.buildings {
        counts.located += 1;
        let c = index
            .building_point(b.id)
            .or_else(|| polygon_point(&b.footprint, &PreparedArea::from_polygon(&b.footprint)));
        let refs = place(c, &mut counts.buildings, &mut counts.unlocatable);
        out.buildings.insert(b.id, refs);
    }
    for u in &ds.units {
        counts.located += 1;
        let mut refs = index.grids_at(u.entrance.0);
        if refs.is_unassigned() {
            refs = out.buildings.get(&u.building).copied().unwrap_or_default();
            if refs.is_unassigned() {
                counts.units += 1;
            }
        }
        out.units.insert(u.id, refs);
    }
    for h in &ds.households {
        let via_unit = h
            .unit
            .and_then(|u| out.units.get(&u))
            .filter(|r| !r.is_unassigned());
        let refs = match via_unit.or_else(|| out.buildings.get(&h.building)) {
            Some(r) => *r,
            None => {
                counts.unlinked_households += 1;
                GridRefs::default()
            }
        };
        out.households.insert(h.id, refs);
    }
    for p in &ds.persons {
        let refs = match p.household.and_then(|h| out.households.get(&h)) {
            Some(r) => *r,
            None => {
                counts.unlinked_persons += 1;
                GridRefs::default()
            }
        };
        out.persons.insert(p.id, refs);
    }
    for p in &ds.places {
        counts.located += 1;
        let refs = place(
            representative_point(&p.geometry),
            &mut counts.places,
            &mut counts.unlocatable,
        );
        out.places.insert(p.id, refs);
    }
    for e in &ds.events {
        counts.located += 1;
        let refs = place(
            Some(e.location.0),
            &mut counts.events,
            &mut counts.unlocatable,
        );
        out.events.insert(e.id, refs);
    }
    for o in &ds.organisations {
        counts.located += 1;
        let refs = place(
            representative_point(&o.geometry),
            &mut counts.organisations,
            &mut counts.unlocatable,
        );
        out.organisations.insert(o.id, refs);
    }
    for c in &ds.compounds {
        counts.located += 1;
        let refs = place(
            polygon_point(&c.boundary, &PreparedArea::from_polygon(&c.boundary)),
            &mut counts.compounds,
            &mut counts.unlocatable,
        );
        out.compounds.insert(c.id, refs);
    }
    out.outside = counts;
    out
}
