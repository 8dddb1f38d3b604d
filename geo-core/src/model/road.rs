//! Roads of the base map; also the walking network of the 15-minute circle
//! and barriers for re-gridding.

use geo_types::LineString;
use serde::{Deserialize, Serialize};

use crate::ids::RoadId;
use crate::vocab;

vocab!(
    /// Road class, from arterial down to footpath.
    RoadClass, "road class" {
        /// 主干道.
        Arterial => "arterial",
        /// 次干道 / 支路.
        Local => "local",
        /// 小巷 / 胡同.
        Alley => "alley",
        /// Footpath.
        Path => "path",
    }
);

/// A road centre line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Road {
    /// Identifier.
    pub id: RoadId,
    /// Name, if any.
    pub name: Option<String>,
    /// Class.
    pub class: RoadClass,
    /// Centre line (WGS84).
    pub line: LineString<f64>,
}
