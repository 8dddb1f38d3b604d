//! The grid-assignment rule 人进户、户进房、房进格、格进图: which grids (and
//! community) an element lies in. It is defined here once; intake and
//! imports (`web-viewer`'s `ingest`, through [`assign_batch`]), the
//! re-assignment after a grid change (`store::versions`) and
//! [`assign_dataset`] all call it.
//!
//! | element | placed by |
//! |---|---|
//! | compound, building | a point inside its boundary / footprint ([`Located`]) |
//! | place, organisation | its point, or a point inside its area ([`Located`]) |
//! | unit | its entrance ([`Located`]) |
//! | event | its location ([`Located`]) |
//! | household | its unit when it has one, else its building ([`household_parent`]) |
//! | person | its household ([`person_parent`]) |
//! | sentiment | the household, place or event it is about ([`sentiment_parent`]) |
//!
//! A point goes to the grids of each level that contain it
//! ([`SpatialIndex::grids_at`]: where grids of a level overlap, the smallest
//! wins). An element whose parent is unknown lies in no grid. A compound
//! outside every community keeps the community it was declared in
//! ([`keep_declared_community`]).
//!
//! The store keeps each located element's point in its `lon`/`lat` columns,
//! written from [`Located::assignment_point`], so re-assignment reads the
//! same point back without parsing geometries.
//!
//! ```
//! use geo_core::assign::{household_parent, ElementRef};
//! use geo_core::ids::{BuildingId, UnitId};
//!
//! let b = BuildingId::new(1).unwrap();
//! let u = UnitId::new(2).unwrap();
//! assert_eq!(household_parent(Some(u), b), ElementRef::Unit(u));
//! assert_eq!(household_parent(None, b), ElementRef::Building(b));
//! ```

mod batch;

use geo::InteriorPoint;
use geo_types::{Coord, Geometry};

pub use batch::{
    assign_batch, assign_dataset, Assignments, NoStore, OutsideCounts, RefMap, StoredRefs,
};

use crate::ids::{
    BuildingId, CommunityId, CompoundId, EventId, HouseholdId, OrganisationId, PersonId, PlaceId,
    SentimentId, UnitId,
};
use crate::index::SpatialIndex;
use crate::model::{Building, Compound, Event, GridRefs, Organisation, Place, SentimentLink, Unit};

/// An element that has grid references.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ElementRef {
    /// A compound.
    Compound(CompoundId),
    /// A building.
    Building(BuildingId),
    /// A unit.
    Unit(UnitId),
    /// A household.
    Household(HouseholdId),
    /// A person.
    Person(PersonId),
    /// A place.
    Place(PlaceId),
    /// An event.
    Event(EventId),
    /// A sentiment record.
    Sentiment(SentimentId),
    /// An organisation.
    Organisation(OrganisationId),
}

impl ElementRef {
    /// The element's kind (its store table).
    pub fn kind(self) -> crate::io::ElementKind {
        use crate::io::ElementKind as K;
        match self {
            Self::Compound(_) => K::Compounds,
            Self::Building(_) => K::Buildings,
            Self::Unit(_) => K::Units,
            Self::Household(_) => K::Households,
            Self::Person(_) => K::Persons,
            Self::Place(_) => K::Places,
            Self::Event(_) => K::Events,
            Self::Sentiment(_) => K::Sentiments,
            Self::Organisation(_) => K::Organisations,
        }
    }

    /// The element's ID number.
    pub fn id(self) -> u64 {
        match self {
            Self::Compound(i) => i.get(),
            Self::Building(i) => i.get(),
            Self::Unit(i) => i.get(),
            Self::Household(i) => i.get(),
            Self::Person(i) => i.get(),
            Self::Place(i) => i.get(),
            Self::Event(i) => i.get(),
            Self::Sentiment(i) => i.get(),
            Self::Organisation(i) => i.get(),
        }
    }
}

/// An element placed in grids by a point of its own.
pub trait Located {
    /// The point that places the element (`None` for an empty geometry).
    fn assignment_point(&self) -> Option<Coord<f64>>;
}

/// The point of a geometry that places it: the point itself, else a point
/// inside it (`geo`'s interior point).
pub fn area_point(g: &Geometry<f64>) -> Option<Coord<f64>> {
    match g {
        Geometry::Point(p) => Some(p.0),
        other => other.interior_point().map(|p| p.0),
    }
}

impl Located for Compound {
    fn assignment_point(&self) -> Option<Coord<f64>> {
        self.boundary.interior_point().map(|p| p.0)
    }
}

impl Located for Building {
    fn assignment_point(&self) -> Option<Coord<f64>> {
        self.footprint.interior_point().map(|p| p.0)
    }
}

impl Located for Unit {
    fn assignment_point(&self) -> Option<Coord<f64>> {
        Some(self.entrance.0)
    }
}

impl Located for Place {
    fn assignment_point(&self) -> Option<Coord<f64>> {
        area_point(&self.geometry)
    }
}

impl Located for Organisation {
    fn assignment_point(&self) -> Option<Coord<f64>> {
        area_point(&self.geometry)
    }
}

impl Located for Event {
    fn assignment_point(&self) -> Option<Coord<f64>> {
        Some(self.location.0)
    }
}

/// The grids of an element placed at `point` (none without a point, or
/// with a non-finite one).
pub fn refs_at(index: &SpatialIndex, point: Option<Coord<f64>>) -> GridRefs {
    match point {
        Some(c) if c.x.is_finite() && c.y.is_finite() => index.grids_at(c),
        _ => GridRefs::default(),
    }
}

/// 户进房: the element a household takes its grids from — its unit (a
/// micro-grid may split a building) when it has one, else its building.
pub fn household_parent(unit: Option<UnitId>, building: BuildingId) -> ElementRef {
    match unit {
        Some(u) => ElementRef::Unit(u),
        None => ElementRef::Building(building),
    }
}

/// 人进户: the element a person takes its grids from — its household (none:
/// the person lies in no grid).
pub fn person_parent(household: Option<HouseholdId>) -> Option<ElementRef> {
    household.map(ElementRef::Household)
}

/// The element a sentiment record takes its grids from.
pub fn sentiment_parent(link: SentimentLink) -> ElementRef {
    match link {
        SentimentLink::Household(h) => ElementRef::Household(h),
        SentimentLink::Place(p) => ElementRef::Place(p),
        SentimentLink::Event(e) => ElementRef::Event(e),
    }
}

/// A compound outside every community keeps the community it was declared
/// in (by its file, or, on re-assignment, the one it had).
pub fn keep_declared_community(mut refs: GridRefs, declared: Option<CommunityId>) -> GridRefs {
    refs.community = refs.community.or(declared);
    refs
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use geo_types::{coord, polygon, Point};

    #[test]
    fn area_point_of_a_point_is_the_point_and_of_a_polygon_inside_it() {
        let p = Geometry::Point(Point::new(114.0, 34.0));
        assert_eq!(area_point(&p), Some(coord! { x: 114.0, y: 34.0 }));
        // An L shape whose centroid lies outside it.
        let l = polygon![
            (x: 0.0, y: 0.0), (x: 10.0, y: 0.0), (x: 10.0, y: 1.0),
            (x: 1.0, y: 1.0), (x: 1.0, y: 10.0), (x: 0.0, y: 10.0), (x: 0.0, y: 0.0)
        ];
        let c = area_point(&Geometry::Polygon(l.clone())).unwrap();
        let prepared = crate::index::PreparedArea::from_polygon(&l);
        assert!(prepared.contains(c), "{c:?}");
    }

    #[test]
    fn parents_follow_the_chain() {
        let h = HouseholdId::new(3).unwrap();
        assert_eq!(person_parent(Some(h)), Some(ElementRef::Household(h)));
        assert_eq!(person_parent(None), None);
        let e = EventId::new(4).unwrap();
        assert_eq!(
            sentiment_parent(SentimentLink::Event(e)),
            ElementRef::Event(e)
        );
    }

    #[test]
    fn no_point_or_a_non_finite_one_is_in_no_grid() {
        let index = SpatialIndex::build(&crate::Dataset::default());
        assert!(refs_at(&index, None).is_unassigned());
        assert!(refs_at(&index, Some(coord! { x: f64::NAN, y: 34.0 })).is_unassigned());
    }
}
