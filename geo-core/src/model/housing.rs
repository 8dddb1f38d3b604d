//! 房: compounds, buildings, units and households (户进房).

use geo_types::{MultiPolygon, Point};
use serde::{Deserialize, Serialize};

use crate::ids::{BuildingId, CommunityId, CompoundId, HouseholdId, UnitId};
use crate::vocab;

vocab!(
    /// Era and form of a residential compound.
    CompoundEra, "compound era" {
        /// 1980s–90s six-storey walk-ups (老旧小区).
        Walkup1980s => "walkup_1980s",
        /// 2000s mid-rise.
        Midrise2000s => "midrise_2000s",
        /// 2010s high-rise towers.
        Highrise2010s => "highrise_2010s",
        /// Villas / townhouses.
        Villa => "villa",
        /// Urban village (城中村): dense self-built low-rise.
        UrbanVillage => "urban_village",
        /// Work-unit or other housing.
        Other => "other",
    }
);

/// A walled residential compound (小区).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Compound {
    /// Identifier.
    pub id: CompoundId,
    /// Name, e.g. `建设路小区`.
    pub name: String,
    /// Community it lies in.
    pub community: Option<CommunityId>,
    /// Era / form.
    pub era: CompoundEra,
    /// Year built.
    pub built_year: Option<u16>,
    /// Wall line: one polygon, or several parts for a compound split by a
    /// road (kept as one element).
    pub boundary: MultiPolygon<f64>,
}

vocab!(
    /// Main use of a building.
    BuildingUse, "building use" {
        /// Housing.
        Residential => "residential" ("住宅", "Residential"),
        /// Shops below, housing above.
        Mixed => "mixed" ("商住", "Mixed"),
        /// Shops, offices.
        Commercial => "commercial" ("商业", "Commercial"),
        /// Factories, warehouses.
        Industrial => "industrial" ("工业", "Industrial"),
        /// Schools, kindergartens.
        Education => "education" ("教育", "Education"),
        /// Hospitals, clinics.
        Health => "health" ("医疗", "Health"),
        /// Government offices.
        Government => "government" ("政府", "Government"),
        /// Anything else.
        Other => "other" ("其他", "Other"),
    }
);

/// A building (楼栋).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Building {
    /// Identifier.
    pub id: BuildingId,
    /// Compound it stands in, if any.
    pub compound: Option<CompoundId>,
    /// Footprint (WGS84): one polygon, or the parts of a building given as a
    /// MultiPolygon (wings joined below ground, a building over a passage),
    /// kept as one element.
    pub footprint: MultiPolygon<f64>,
    /// Number of floors above ground.
    pub levels: Option<u16>,
    /// Height in metres.
    pub height_m: Option<f32>,
    /// Main use.
    pub usage: BuildingUse,
    /// Number of units (entrances/stairwells).
    pub units: u16,
    /// Number of households (dwellings); estimated when `households_estimated`.
    pub households: u32,
    /// True when `households` comes from the estimator, not a count.
    pub households_estimated: bool,
    /// Postal address, e.g. `建设路12号3号楼`.
    pub address: Option<String>,
}

/// A unit: entrance or stairwell of a building (单元), the smallest thing a
/// grid should not split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unit {
    /// Identifier.
    pub id: UnitId,
    /// Building.
    pub building: BuildingId,
    /// 1-based number within the building.
    pub number: u16,
    /// Households in the unit.
    pub households: u32,
    /// Entrance location (used for adjacency and assignment).
    pub entrance: Point<f64>,
}

vocab!(
    /// How a dwelling is held.
    Tenure, "tenure" {
        /// Owner-occupied.
        Owned => "owned",
        /// Rented.
        Rented => "rented",
        /// Public / work-unit housing.
        Public => "public",
        /// Vacant.
        Vacant => "vacant",
    }
);

/// A household / dwelling (户): 一户一档.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Household {
    /// Identifier.
    pub id: HouseholdId,
    /// Building.
    pub building: BuildingId,
    /// Unit, if the building has units.
    pub unit: Option<UnitId>,
    /// Floor (negative for basements).
    pub floor: i16,
    /// Room number, e.g. `302`.
    pub room: String,
    /// Number of residents.
    pub size: u8,
    /// Tenure.
    pub tenure: Tenure,
    /// Group rental (群租房).
    pub group_rented: bool,
    /// Party-member household (党员中心户).
    pub party_member: bool,
}
