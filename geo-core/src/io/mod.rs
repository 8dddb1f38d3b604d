//! Import and export of elements as GeoJSON and CSV.
//!
//! - [`import::read`] parses one file of one [`ElementKind`] into a
//!   [`Dataset`](crate::Dataset) holding only that kind, or fails with *every*
//!   problem found ([`ImportError::Invalid`]), so a dry run can print them all.
//!   Column names follow a documented default mapping per kind (see
//!   `docs/import.md` and [`fields`]), with aliases (Chinese headers, OSM tags)
//!   and user overrides ([`import::ImportOptions::field_map`], the CLI's
//!   `--map name=姓名`). A GeoJSON `crs` member naming EPSG:4326, CRS84,
//!   EPSG:4490 or EPSG:3857 is honoured (3857 converted) and any other
//!   refused; files that are not registers may be numbered in file order
//!   ([`import::ImportOptions::auto_ids`]) and their MultiPolygon buildings
//!   split ([`import::ImportOptions::explode`]).
//! - [`export::write_geojson`] and [`export::write_csv`] write one kind back
//!   out, masking personal data unless [`Masking::Reveal`] is given;
//!   [`geoparquet`] writes the same rows ([`export::rows`]) as GeoParquet 1.0.
//!
//! ```
//! use geo_core::io::{import, ElementKind};
//!
//! let csv = "id,household_id,name,national_id,sex,birth_year,tags\n\
//!            1,,张三,11010519491231002X,男,1949,独居老人;党员\n";
//! let batch = import::read_bytes(ElementKind::Persons, csv.as_bytes(), "people.csv",
//!                                &import::ImportOptions::default()).unwrap();
//! let p = &batch.dataset.persons[0];
//! assert_eq!(p.name, "张三");
//! assert_eq!(p.tags.len(), 2);
//! ```

mod build;
pub mod encoding;
pub mod export;
pub mod fields;
mod geom;
pub mod geoparquet;
pub mod import;
mod kind;
mod problem;
mod source;
mod values;

pub use encoding::Encoding;
pub use export::{ExportError, Masking};
pub use import::{Format, ImportBatch, ImportOptions, ImportStats, ReferenceLookup};
pub use kind::ElementKind;
pub use problem::{ImportError, Location, Problem, Severity};

#[cfg(test)]
mod tests;
