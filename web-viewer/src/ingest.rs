//! Ingest: assigns every element of a batch to the grids that contain it by
//! the one rule of [`geo_core::assign`] (人进户、户进房、房进格、格进图;
//! parents imported earlier are looked up in the store) and writes the batch
//! to the store in one transaction.

use geo_core::assign::{assign_batch, Assignments, NoStore};
use geo_core::index::SpatialIndex;
use geo_core::store::{Provenance, Store, StoreError, WriteReport};
use geo_core::Dataset;

/// What an ingest did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct IngestReport {
    /// Rows written.
    pub rows: u64,
    /// Point-located elements (buildings, units, places, events,
    /// organisations, compounds) that fell inside no grid and no community:
    /// usually a wrong `--crs`.
    pub outside_every_grid: u64,
    /// Point-located elements in the batch.
    pub located: u64,
}

/// Grid references computed for one batch.
pub type BatchRefs = Assignments;

/// Computes the grid references of every element of `batch`. `index` holds
/// the grids (and communities) to assign against; parents imported earlier
/// are looked up in `store`.
pub fn assign(
    batch: &Dataset,
    index: &SpatialIndex,
    store: Option<&Store>,
) -> Result<(BatchRefs, IngestReport), StoreError> {
    let refs = match store {
        Some(s) => assign_batch(batch, index, s)?,
        None => assign_batch(batch, index, &NoStore).unwrap_or_else(|never| match never {}),
    };
    let report = IngestReport {
        rows: 0,
        outside_every_grid: refs.outside.total() as u64,
        located: refs.outside.located as u64,
    };
    Ok((refs, report))
}

/// Builds the index of the grids to assign a batch against: the batch's own
/// grids and communities when it brings them (demo, grid imports), plus the
/// stored ones unless `batch_only`.
pub fn grid_index(
    batch: &Dataset,
    store: &Store,
    batch_only: bool,
) -> Result<SpatialIndex, StoreError> {
    let mut grids = Dataset {
        communities: batch.communities.clone(),
        grids: batch.grids.clone(),
        ..Dataset::default()
    };
    if !batch_only {
        grids.communities.extend(store.communities()?);
        grids.grids.extend(store.grids()?);
    }
    Ok(SpatialIndex::build(&grids))
}

/// Assigns and writes a batch (all-or-nothing).
pub fn ingest(
    store: &mut Store,
    batch: &Dataset,
    batch_only: bool,
    provenance: Option<&Provenance>,
) -> Result<IngestReport, StoreError> {
    let index = grid_index(batch, store, batch_only)?;
    let (refs, mut report) = assign(batch, &index, Some(store))?;
    let WriteReport { rows } = store.write(batch, &refs, provenance)?;
    report.rows = rows;
    Ok(report)
}
