//! 地: places — facilities, parcels, public spaces and points of interest.

use geo_types::Geometry;
use serde::{Deserialize, Serialize};

use crate::ids::PlaceId;
use crate::vocab;

vocab!(
    /// Broad category of a place.
    PlaceCategory, "place category" {
        /// Service facility.
        Facility => "facility",
        /// Land parcel.
        Parcel => "parcel",
        /// Square, park, green space.
        PublicSpace => "public_space",
        /// Any other point of interest.
        Poi => "poi",
        /// River, lake, pond (base map).
        Water => "water",
    }
);

vocab!(
    /// Service offered at a place, used by the 15-minute life circle.
    ServiceKind, "service kind" {
        /// 老年食堂 / 助餐点.
        ElderlyCanteen => "elderly_canteen" ("老年食堂", "Elderly canteen"),
        /// 日间照料中心.
        DayCare => "day_care" ("日间照料中心", "Day care centre"),
        /// 社区卫生服务站 / 诊所.
        Clinic => "clinic" ("社区卫生服务站", "Clinic"),
        /// 医院.
        Hospital => "hospital" ("医院", "Hospital"),
        /// 中小学.
        School => "school" ("中小学", "School"),
        /// 幼儿园.
        Kindergarten => "kindergarten" ("幼儿园", "Kindergarten"),
        /// 党群服务中心.
        PartyServiceCentre => "party_service_centre" ("党群服务中心", "Party service centre"),
        /// 菜市场 / 农贸市场.
        Market => "market" ("菜市场", "Market"),
        /// 公园 / 广场.
        Park => "park" ("公园广场", "Park"),
        /// 政府机关.
        Government => "government" ("政府机关", "Government"),
        /// 工业园.
        IndustrialPark => "industrial_park" ("工业园", "Industrial park"),
    }
);

/// A place (地). Geometry is a point or a polygon (WGS84).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Place {
    /// Identifier.
    pub id: PlaceId,
    /// Name.
    pub name: String,
    /// Category.
    pub category: PlaceCategory,
    /// Service offered, if any.
    pub service: Option<ServiceKind>,
    /// Point or polygon.
    pub geometry: Geometry<f64>,
}
