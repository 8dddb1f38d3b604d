//! Seeded synthetic towns for benchmarks, comparisons and demos: walled
//! compounds of walk-up buildings on a lattice, blocks of 2 × 2 compounds
//! between roads, some unwalled urban-village compounds.

use geo_core::ids::{BuildingId, CompoundId, UnitId};
use geo_types::{LineString, Point};

use super::rng::SplitMix64;
use super::{Barrier, BarrierKind, RegridInput, RegridUnit};

/// Centre of the synthetic town (Luoyang, WGS84).
const LON: f64 = 112.45;
const LAT: f64 = 34.62;
const M_LON: f64 = 1.0 / 91_700.0;
const M_LAT: f64 = 1.0 / 110_574.0;
const CELL_W: f64 = 150.0;
const CELL_H: f64 = 120.0;

fn ll(x: f64, y: f64) -> (f64, f64) {
    (LON + x * M_LON, LAT + y * M_LAT)
}

/// About `n` units (exactly `n`) in walled compounds with 4–40 households
/// each, roads between blocks of 2 × 2 compounds. Same `seed`, same town.
///
/// ```
/// let town = analytics::regrid::synthetic_town(500, 7);
/// assert_eq!(town.units.len(), 500);
/// assert!(!town.barriers.is_empty());
/// ```
pub fn synthetic_town(n: usize, seed: u64) -> RegridInput {
    let mut rng = SplitMix64::new(seed);
    let per_compound = 11.0;
    let compounds = ((n as f64 / per_compound).ceil() as usize).max(1);
    let cols = (compounds as f64).sqrt().ceil() as usize;
    let rows = compounds.div_ceil(cols);
    let mut units = Vec::with_capacity(n);
    let mut barriers = Vec::new();
    let mut building = 0u64;
    let mut c = 0usize;
    while units.len() < n {
        let (col, row) = (c % cols, (c / cols) % rows.max(1));
        let lap = c / (cols * rows.max(1));
        let x0 = col as f64 * CELL_W + lap as f64 * 3.0;
        let y0 = row as f64 * CELL_H + lap as f64 * 3.0;
        c += 1;
        let walled = rng.below(10) < 8;
        let compound = CompoundId::new(c as u64).ok().filter(|_| walled);
        if walled {
            let (a, b) = (x0 + 8.0, y0 + 8.0);
            let (d, e) = (x0 + CELL_W - 8.0, y0 + CELL_H - 8.0);
            barriers.push(Barrier {
                kind: BarrierKind::Wall,
                line: LineString::from(vec![ll(a, b), ll(d, b), ll(d, e), ll(a, e), ll(a, b)]),
            });
        }
        let rows_b = 2 + rng.below(2);
        for br in 0..rows_b {
            let buildings_in_row = 1 + rng.below(2);
            for bi in 0..buildings_in_row {
                building += 1;
                let entrances = 2 + rng.below(3);
                for k in 0..entrances {
                    if units.len() >= n {
                        break;
                    }
                    let x = x0 + 20.0 + bi as f64 * 60.0 + k as f64 * 12.0 + rng.unit_f64() * 2.0;
                    let y = y0 + 20.0 + br as f64 * 28.0 + rng.unit_f64() * 2.0;
                    let id = units.len() as u64 + 1;
                    let (lon, lat) = ll(x, y);
                    let (Ok(uid), Ok(bid)) = (UnitId::new(id), BuildingId::new(building)) else {
                        continue;
                    };
                    let mut u =
                        RegridUnit::new(uid, bid, Point::new(lon, lat), 4 + rng.below(37) as u32);
                    u.compound = compound;
                    u.residents = u.households * 2 + rng.below(u.households as usize + 1) as u32;
                    u.elderly = rng.below(u.households as usize / 2 + 1) as u32;
                    u.key_people = u32::from(rng.below(20) == 0);
                    u.events_12m = rng.below(6) as u32;
                    u.floors = Some(6);
                    units.push(u);
                }
            }
        }
    }
    // Roads between blocks of 2 × 2 compounds.
    let (w, h) = (cols as f64 * CELL_W, rows as f64 * CELL_H);
    for i in (0..=cols).step_by(2) {
        let x = i as f64 * CELL_W;
        barriers.push(Barrier {
            kind: BarrierKind::Road,
            line: LineString::from(vec![ll(x, -20.0), ll(x, h + 20.0)]),
        });
    }
    for j in (0..=rows).step_by(2) {
        let y = j as f64 * CELL_H;
        barriers.push(Barrier {
            kind: BarrierKind::Road,
            line: LineString::from(vec![ll(-20.0, y), ll(w + 20.0, y)]),
        });
    }
    RegridInput {
        units,
        barriers,
        ..Default::default()
    }
}
