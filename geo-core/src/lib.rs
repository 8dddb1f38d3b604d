//! # geo-core
//!
//! The domain layer of Wangge: the governance model (the six elements
//! 人/房/地/事/情/组织 and the grid hierarchy), identifier newtypes that cannot
//! hold invalid values, the two-level event taxonomy, geometry validation, CRS
//! conversion (WGS84 / GCJ-02 / BD-09), the in-memory spatial index and H3
//! cells. Storage in DuckDB lives behind the `store` feature so crates that
//! only compute never build DuckDB.
//!
//! ```
//! use geo_core::ids::GridCode;
//! let code = GridCode::parse("411481100001003").unwrap();
//! assert_eq!(code.division().as_str(), "411481100001");
//! ```

#![forbid(unsafe_code)]

pub mod assign;
pub mod crs;
pub mod crypt;
pub mod dataset;
pub mod error;
pub mod geometry;
pub mod h3;
pub mod ids;
pub mod index;
pub mod io;
pub mod model;
#[cfg(feature = "store")]
pub mod store;
pub mod taxonomy;

pub use dataset::{Dataset, DatasetSink};
pub use error::IdError;
