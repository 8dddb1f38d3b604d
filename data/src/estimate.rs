//! Household estimation for buildings that come without a household
//! register (OpenStreetMap, footprint datasets).
//!
//! The estimate is `households = footprint_m2 × floors × residential_share /
//! dwelling_m2`, with floors taken from the best thing the building carries:
//!
//! 1. `levels` (OSM `building:levels`) — basis [`Basis::Levels`];
//! 2. else `height_m / floor_height_m`, rounded, at least 1 — [`Basis::Height`];
//! 3. else a default by use and footprint size — [`Basis::FootprintOnly`].
//!
//! Units (单元, entrances) come from the length of the footprint: one unit
//! per [`EstimateParams::unit_frontage_m`] of the long side of its minimum
//! rotated rectangle; a near-square footprint (a tower) has one.
//! [`default_units`] is the one rule that turns a building's household count
//! into [`Unit`] elements when a file brings households but no units (every
//! building import runs it, so `wangge regrid` has units to group).
//!
//! # How good is it
//!
//! Footprint × floors is the gross external floor area (建筑面积 including
//! walls, stairs and shared area), which is what the per-dwelling figure is
//! expressed in, so the formula is consistent. It is a planning estimate, not
//! a count: expect ±30 % per building and better over a grid (errors of
//! single buildings partly cancel). What it cannot know:
//!
//! - dwelling size varies by era and market (1980s walk-ups ~60 m², new
//!   towers 90–140 m²); one `dwelling_m2` is applied to all;
//! - vacancy, group rental (群租) and subdivided flats;
//! - which floors of a mixed building are housing (a single share is used);
//! - basements, setbacks and podiums: footprint × floors over-counts stepped
//!   towers whose footprint is the podium;
//! - buildings tagged `building=yes` whose use is unknown get use `other`
//!   and **no** households (unless [`EstimateParams::other_residential_share`]
//!   is raised) — with OSM data this is the largest source of
//!   under-counting; tag residential areas before trusting totals;
//! - for [`Basis::FootprintOnly`] the floors are a guess.
//!
//! Compare totals with census figures of the area (七普 community tables)
//! before drawing grids from them.

use std::collections::HashSet;

use geo::orient::{Direction, Orient};
use geo::{Distance, GeodesicArea, Haversine, MinimumRotatedRect};
use geo_core::ids::{BuildingId, UnitId};
use geo_core::model::{Building, BuildingUse, Unit};
use geo_types::{Point, Polygon};

/// Parameters of the estimate, with defaults for Chinese towns.
#[derive(Debug, Clone, PartialEq)]
pub struct EstimateParams {
    /// Gross floor area per dwelling, m². Default 90: the 2020 census (七普)
    /// gives 36.5 m² of floor area per urban resident and 2.62 people per
    /// household, ≈ 95 m²; rounded down for the smaller flats of towns.
    pub dwelling_m2: f64,
    /// Storey height used to turn `height_m` into floors, m. Default 3.0:
    /// residential storeys are 2.8–3.0 m (GB 50096 住宅设计规范), plus roof
    /// and parapet spread over the floors.
    pub floor_height_m: f64,
    /// Floors of a residential building with neither levels nor height.
    /// Default 6: the walk-up (多层) that dominates older compounds.
    pub default_levels_residential: u16,
    /// Floors of a residential building with a small footprint (a house or
    /// self-built village house) with neither levels nor height. Default 3.
    pub default_levels_small_house: u16,
    /// Footprints below this are "small houses", m². Default 150.
    pub small_house_footprint_m2: f64,
    /// Floors of any other building with neither levels nor height. Default 3.
    pub default_levels_other: u16,
    /// Share of a mixed building's floor area that is housing. Default 0.75
    /// (shops on the ground floor of a four-storey building).
    pub mixed_residential_share: f64,
    /// Share of the floor area of a building of unknown use (`other`, e.g.
    /// OSM `building=yes`) counted as housing. Default 0: such buildings get
    /// no households. Raise it (0.3–0.6) for extracts where residential
    /// buildings are mostly untagged, after checking against census totals.
    pub other_residential_share: f64,
    /// Frontage of one unit (stairwell with two to three flats a landing), m.
    /// Default 22.
    pub unit_frontage_m: f64,
}

impl Default for EstimateParams {
    fn default() -> Self {
        Self {
            dwelling_m2: 90.0,
            floor_height_m: 3.0,
            default_levels_residential: 6,
            default_levels_small_house: 3,
            small_house_footprint_m2: 150.0,
            default_levels_other: 3,
            mixed_residential_share: 0.75,
            other_residential_share: 0.0,
            unit_frontage_m: 22.0,
        }
    }
}

impl EstimateParams {
    /// Checks the parameters a user can set (`--dwelling-m2`,
    /// `--floor-height-m`, and the shares), naming the first one out of its
    /// range: a dwelling of 10–1,000 m², a storey of 2–10 m, shares 0–1.
    ///
    /// ```
    /// use wangge_data::estimate::EstimateParams;
    /// assert!(EstimateParams::default().validate().is_ok());
    /// let p = EstimateParams { dwelling_m2: 0.0, ..EstimateParams::default() };
    /// assert!(p.validate().unwrap_err().contains("dwelling_m2"));
    /// ```
    pub fn validate(&self) -> Result<(), String> {
        let check = |name: &str, v: f64, lo: f64, hi: f64, unit: &str| {
            if v.is_finite() && (lo..=hi).contains(&v) {
                Ok(())
            } else {
                Err(format!("{name} = {v} is outside {lo}–{hi}{unit}"))
            }
        };
        check("dwelling_m2", self.dwelling_m2, 10.0, 1000.0, " m²")?;
        check("floor_height_m", self.floor_height_m, 2.0, 10.0, " m")?;
        check(
            "mixed_residential_share",
            self.mixed_residential_share,
            0.0,
            1.0,
            "",
        )?;
        check(
            "other_residential_share",
            self.other_residential_share,
            0.0,
            1.0,
            "",
        )?;
        Ok(())
    }
}

/// Where the floor count of an estimate came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Basis {
    /// `levels` of the building.
    Levels,
    /// `height_m / floor_height_m`.
    Height,
    /// Neither: a default by use and footprint.
    FootprintOnly,
}

impl Basis {
    /// Every basis, best first.
    pub const ALL: [Basis; 3] = [Basis::Levels, Basis::Height, Basis::FootprintOnly];
    /// A stable lowercase name.
    pub fn code(self) -> &'static str {
        match self {
            Self::Levels => "levels",
            Self::Height => "height",
            Self::FootprintOnly => "footprint_only",
        }
    }
}

/// The estimate for one building.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// Estimated households (0 for non-residential uses).
    pub households: u32,
    /// Estimated units (entrances); 0 for non-residential uses.
    pub units: u16,
    /// Floors used.
    pub floors: u16,
    /// Footprint area, geodesic m².
    pub footprint_m2: f64,
    /// Gross floor area, m².
    pub floor_area_m2: f64,
    /// Where the floors came from.
    pub basis: Basis,
}

/// Estimates the households and units of one building without changing it.
///
/// ```
/// use geo_core::ids::BuildingId;
/// use geo_core::model::{Building, BuildingUse};
/// use geo_types::polygon;
/// use wangge_data::estimate::{estimate_households, Basis, EstimateParams};
/// // About 60 m × 12 m at 31° N, six floors.
/// let footprint = polygon![
///     (x: 121.5000, y: 31.2300), (x: 121.50063, y: 31.2300),
///     (x: 121.50063, y: 31.23011), (x: 121.5000, y: 31.23011), (x: 121.5000, y: 31.2300),
/// ]
/// .into();
/// let b = Building {
///     id: BuildingId::new(1).unwrap(), compound: None, footprint, levels: Some(6),
///     height_m: None, usage: BuildingUse::Residential, units: 0, households: 0,
///     households_estimated: false, address: None,
/// };
/// let e = estimate_households(&b, &EstimateParams::default());
/// assert_eq!(e.basis, Basis::Levels);
/// assert!((45..=50).contains(&e.households), "{}", e.households); // 723 m² × 6 / 90
/// assert_eq!(e.units, 3);
/// ```
pub fn estimate_households(b: &Building, p: &EstimateParams) -> Estimate {
    // The geodesic area needs the standard winding (exterior counter-clockwise),
    // else it measures the rest of the earth.
    let footprint_m2 = b
        .footprint
        .orient(Direction::Default)
        .geodesic_area_unsigned();
    let (floors, basis) = if let Some(l) = b.levels.filter(|&l| l > 0) {
        (l, Basis::Levels)
    } else if let Some(h) = b.height_m.filter(|h| h.is_finite() && *h > 0.0) {
        let f = (f64::from(h) / p.floor_height_m.max(0.1)).round().max(1.0);
        (f.min(f64::from(u16::MAX)) as u16, Basis::Height)
    } else {
        let residential = matches!(b.usage, BuildingUse::Residential | BuildingUse::Mixed)
            || (b.usage == BuildingUse::Other && p.other_residential_share > 0.0);
        let l = if !residential {
            p.default_levels_other
        } else if footprint_m2 < p.small_house_footprint_m2 {
            p.default_levels_small_house
        } else {
            p.default_levels_residential
        };
        (l.max(1), Basis::FootprintOnly)
    };
    let floor_area_m2 = footprint_m2 * f64::from(floors);
    let share = match b.usage {
        BuildingUse::Residential => 1.0,
        BuildingUse::Mixed => p.mixed_residential_share.clamp(0.0, 1.0),
        BuildingUse::Other => p.other_residential_share.clamp(0.0, 1.0),
        _ => 0.0,
    };
    let households = if share > 0.0 && p.dwelling_m2 > 0.0 {
        // At least one dwelling in any residential building.
        (floor_area_m2 * share / p.dwelling_m2)
            .round()
            .clamp(1.0, f64::from(u32::MAX)) as u32
    } else {
        0
    };
    let units = if households == 0 {
        0
    } else {
        units_from_footprint(b, p).min(u16::try_from(households).unwrap_or(u16::MAX))
    };
    Estimate {
        households,
        units,
        floors,
        footprint_m2,
        floor_area_m2,
        basis,
    }
}

/// One unit per `unit_frontage_m` of the long side of the minimum rotated
/// rectangle; 1 for towers (long side < 1.5 × short side). A building of
/// several parts gets the sum of its parts'.
fn units_from_footprint(b: &Building, p: &EstimateParams) -> u16 {
    b.footprint
        .0
        .iter()
        .map(|part| part_units(part, p))
        .fold(0u16, u16::saturating_add)
        .max(1)
}

fn part_units(part: &Polygon<f64>, p: &EstimateParams) -> u16 {
    let Some(rect) = part.minimum_rotated_rect() else {
        return 1;
    };
    let c: Vec<Point<f64>> = rect.exterior().points().collect();
    if c.len() < 3 {
        return 1;
    }
    let a = Haversine.distance(c[0], c[1]);
    let d = Haversine.distance(c[1], c[2]);
    let (long, short) = if a >= d { (a, d) } else { (d, a) };
    if long < 1.5 * short || p.unit_frontage_m <= 0.0 {
        return 1;
    }
    (long / p.unit_frontage_m)
        .round()
        .clamp(1.0, f64::from(u16::MAX)) as u16
}

/// The entrances of a building: `k` points shared out among its parts in
/// proportion to their own entrance counts (largest remainder), and in each
/// part spread evenly, at `(i + ½) / n`, along the longer side (in metres)
/// of its bounding box, on the line through the mean of its vertices. For
/// the rectangles and slabs most buildings are, that is the middle line of
/// the building; in a strongly concave footprint (an L, a U) an entrance can
/// fall just outside it.
fn entrances(b: &Building, k: u32, p: &EstimateParams) -> Vec<Point<f64>> {
    let parts = &b.footprint.0;
    if parts.len() <= 1 {
        return parts
            .first()
            .map_or_else(Vec::new, |q| part_entrances(q, k));
    }
    let weights: Vec<u32> = parts.iter().map(|q| u32::from(part_units(q, p))).collect();
    parts
        .iter()
        .zip(share_out(k, &weights))
        .flat_map(|(q, n)| part_entrances(q, n))
        .collect()
}

/// `k` shared out in proportion to `weights` (largest remainder; ties to
/// the earlier part), the shares summing to `k`.
fn share_out(k: u32, weights: &[u32]) -> Vec<u32> {
    let total: u64 = weights.iter().map(|&w| u64::from(w)).sum::<u64>().max(1);
    let exact: Vec<u64> = weights
        .iter()
        .map(|&w| u64::from(k) * u64::from(w))
        .collect();
    let mut shares: Vec<u32> = exact.iter().map(|e| (e / total) as u32).collect();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(exact[i] % total));
    let given: u32 = shares.iter().sum();
    for &i in order.iter().cycle().take(k.saturating_sub(given) as usize) {
        shares[i] += 1;
    }
    shares
}

fn part_entrances(part: &Polygon<f64>, k: u32) -> Vec<Point<f64>> {
    let ring = &part.exterior().0;
    let pts = &ring[..ring.len().saturating_sub(1).max(1).min(ring.len())];
    if pts.is_empty() {
        return Vec::new();
    }
    let n = pts.len() as f64;
    let (mx, my) = (
        pts.iter().map(|c| c.x).sum::<f64>() / n,
        pts.iter().map(|c| c.y).sum::<f64>() / n,
    );
    let (x0, x1) = pts
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), c| (a.min(c.x), b.max(c.x)));
    let (y0, y1) = pts
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), c| (a.min(c.y), b.max(c.y)));
    let wide = (x1 - x0) * my.to_radians().cos() >= y1 - y0;
    (0..k)
        .map(|i| {
            let f = (f64::from(i) + 0.5) / f64::from(k);
            if wide {
                Point::new(x0 + f * (x1 - x0), my)
            } else {
                Point::new(mx, y0 + f * (y1 - y0))
            }
        })
        .collect()
}

/// What [`default_units`] did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DefaultUnits {
    /// The units made, numbered from the first ID given.
    pub units: Vec<Unit>,
    /// Buildings that got them.
    pub buildings: u64,
    /// Households shared out among them.
    pub households: u64,
}

impl std::fmt::Display for DefaultUnits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} default units (one per entrance estimated from the footprint) for {} buildings \
             with {} households and no units",
            self.units.len(),
            self.buildings,
            self.households
        )
    }
}

/// Default units for every building of `buildings` that has households but
/// no unit in `units` (the units of the same batch): as many as the
/// building's `units` says, else one per entrance estimated from its
/// footprint (the rule of [`estimate_households`]), never more than its
/// households; entrances spread along the footprint's longer side;
/// households
/// shared out evenly (the first units take the remainder). A building whose
/// `units` was 0 gets the number made. IDs are `first_id`, `first_id + 1`…
/// in building order, so the same file gives the same units.
///
/// `Err` names the building when an ID would overflow.
///
/// ```
/// use geo_core::ids::BuildingId;
/// use geo_core::model::{Building, BuildingUse};
/// use geo_types::polygon;
/// use wangge_data::estimate::{default_units, EstimateParams};
/// let footprint = polygon![
///     (x: 121.5000, y: 31.2300), (x: 121.50063, y: 31.2300),
///     (x: 121.50063, y: 31.23011), (x: 121.5000, y: 31.23011), (x: 121.5000, y: 31.2300),
/// ]
/// .into();
/// let mut b = vec![Building {
///     id: BuildingId::new(7).unwrap(), compound: None, footprint, levels: Some(6),
///     height_m: None, usage: BuildingUse::Residential, units: 0, households: 47,
///     households_estimated: false, address: None,
/// }];
/// let made = default_units(&mut b, &[], 100, &EstimateParams::default()).unwrap();
/// assert_eq!(made.units.len(), 3); // 60 m long: one entrance per 22 m
/// assert_eq!(made.units.iter().map(|u| u.households).collect::<Vec<_>>(), [16, 16, 15]);
/// assert_eq!((made.units[0].id.get(), b[0].units), (100, 3));
/// ```
pub fn default_units(
    buildings: &mut [Building],
    units: &[Unit],
    first_id: u64,
    p: &EstimateParams,
) -> Result<DefaultUnits, String> {
    let has_units: HashSet<BuildingId> = units.iter().map(|u| u.building).collect();
    let mut out = DefaultUnits::default();
    let mut next = first_id.max(1);
    for b in buildings.iter_mut() {
        if b.households == 0 || has_units.contains(&b.id) {
            continue;
        }
        let wanted = if b.units > 0 {
            b.units
        } else {
            units_from_footprint(b, p)
        };
        let k = u32::from(wanted.max(1)).min(b.households);
        for (i, entrance) in entrances(b, k, p).into_iter().enumerate() {
            let i = i as u32;
            let id = UnitId::new(next)
                .map_err(|e| format!("building {}: unit ID {next}: {e}", b.id.get()))?;
            next = next
                .checked_add(1)
                .ok_or_else(|| format!("building {}: unit IDs overflow", b.id.get()))?;
            out.units.push(Unit {
                id,
                building: b.id,
                number: u16::try_from(i + 1).unwrap_or(u16::MAX),
                households: b.households / k + u32::from(i < b.households % k),
                entrance,
            });
        }
        if b.units == 0 {
            b.units = u16::try_from(k).unwrap_or(u16::MAX);
        }
        out.buildings += 1;
        out.households += u64::from(b.households);
    }
    Ok(out)
}

/// What [`estimate_all`] did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EstimateReport {
    /// Buildings seen.
    pub buildings: u64,
    /// Buildings that got households (residential and mixed).
    pub residential: u64,
    /// Residential buildings by basis: levels, height, footprint only.
    pub by_basis: [u64; 3],
    /// Households estimated in total.
    pub households: u64,
    /// Households of buildings whose floors came from levels, height,
    /// footprint only.
    pub households_by_basis: [u64; 3],
    /// Buildings left alone because they already had counted households.
    pub kept_counted: u64,
}

impl EstimateReport {
    /// Residential buildings with basis `b`.
    pub fn count(&self, b: Basis) -> u64 {
        self.by_basis[b as usize]
    }
}

impl std::fmt::Display for EstimateReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{} buildings, {} residential/mixed, {} households estimated ({} kept as counted)",
            self.buildings, self.residential, self.households, self.kept_counted
        )?;
        for b in Basis::ALL {
            writeln!(
                f,
                "  basis {:<15} {:>7} buildings {:>9} households",
                b.code(),
                self.by_basis[b as usize],
                self.households_by_basis[b as usize]
            )?;
        }
        Ok(())
    }
}

/// Estimates every building in place: sets `households`, `units` and
/// `households_estimated = true`. Buildings whose households were counted
/// (`households > 0` and `households_estimated == false`) are kept.
pub fn estimate_all(buildings: &mut [Building], p: &EstimateParams) -> EstimateReport {
    let mut r = EstimateReport::default();
    for b in buildings.iter_mut() {
        r.buildings += 1;
        if b.households > 0 && !b.households_estimated {
            r.kept_counted += 1;
            continue;
        }
        let e = estimate_households(b, p);
        b.households = e.households;
        b.units = e.units;
        b.households_estimated = true;
        if e.households > 0 {
            r.residential += 1;
            r.by_basis[e.basis as usize] += 1;
            r.households += u64::from(e.households);
            r.households_by_basis[e.basis as usize] += u64::from(e.households);
        }
    }
    r
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use geo_core::ids::BuildingId;
    use geo_types::polygon;

    /// A `w` × `h` metre rectangle near 31° N.
    fn building(w_m: f64, h_m: f64, usage: BuildingUse) -> Building {
        let dx = w_m / (111_320.0 * 31.23f64.to_radians().cos());
        let dy = h_m / 110_574.0;
        let (x, y) = (121.5, 31.23);
        Building {
            id: BuildingId::new(1).unwrap(),
            compound: None,
            footprint: polygon![(x: x, y: y), (x: x + dx, y: y), (x: x + dx, y: y + dy), (x: x, y: y + dy), (x: x, y: y)].into(),
            levels: None,
            height_m: None,
            usage,
            units: 0,
            households: 0,
            households_estimated: false,
            address: None,
        }
    }

    #[test]
    fn winding_does_not_matter() {
        let p = EstimateParams::default();
        let mut b = building(60.0, 12.0, BuildingUse::Residential);
        b.footprint.0[0].exterior_mut(|r| r.0.reverse());
        let e = estimate_households(&b, &p);
        assert!((e.footprint_m2 - 720.0).abs() < 10.0, "{}", e.footprint_m2);
    }

    #[test]
    fn bases_in_order() {
        let p = EstimateParams::default();
        let mut b = building(60.0, 12.0, BuildingUse::Residential);
        let e = estimate_households(&b, &p);
        assert_eq!(e.basis, Basis::FootprintOnly);
        assert_eq!(e.floors, 6);
        assert!((e.footprint_m2 - 720.0).abs() < 10.0, "{}", e.footprint_m2);
        assert_eq!(e.households, 48);
        b.height_m = Some(54.0);
        let e = estimate_households(&b, &p);
        assert_eq!((e.basis, e.floors), (Basis::Height, 18));
        b.levels = Some(11);
        let e = estimate_households(&b, &p);
        assert_eq!((e.basis, e.floors), (Basis::Levels, 11));
        assert_eq!(e.households, 88);
    }

    #[test]
    fn only_housing_gets_households() {
        let p = EstimateParams::default();
        let office = building(40.0, 40.0, BuildingUse::Commercial);
        assert_eq!(estimate_households(&office, &p).households, 0);
        let unknown = building(40.0, 20.0, BuildingUse::Other);
        assert_eq!(estimate_households(&unknown, &p).households, 0);
        let half = EstimateParams {
            other_residential_share: 0.5,
            ..EstimateParams::default()
        };
        // 800 m² × 6 floors × 0.5 / 90 = 26.7
        assert_eq!(estimate_households(&unknown, &half).households, 27);
        let mut mixed = building(40.0, 20.0, BuildingUse::Mixed);
        mixed.levels = Some(4);
        // 800 m² × 4 × 0.75 / 90 = 26.7
        assert_eq!(estimate_households(&mixed, &p).households, 27);
        let house = building(10.0, 10.0, BuildingUse::Residential);
        let e = estimate_households(&house, &p);
        assert_eq!((e.floors, e.households, e.units), (3, 3, 1));
    }

    #[test]
    fn units_follow_length() {
        let p = EstimateParams::default();
        let slab = building(88.0, 12.0, BuildingUse::Residential);
        assert_eq!(estimate_households(&slab, &p).units, 4);
        let tower = building(30.0, 28.0, BuildingUse::Residential);
        assert_eq!(estimate_households(&tower, &p).units, 1);
    }

    #[test]
    fn default_units_share_households_and_stay_inside() {
        let p = EstimateParams::default();
        // An L: 120 m × 12 m with a 12 m × 40 m wing.
        let (x, y) = (121.5, 31.23);
        let mx = 1.0 / (111_320.0 * 31.23f64.to_radians().cos());
        let my = 1.0 / 110_574.0;
        let mut l = building(120.0, 12.0, BuildingUse::Residential);
        l.footprint = polygon![
            (x: x, y: y), (x: x + 120.0 * mx, y: y), (x: x + 120.0 * mx, y: y + 12.0 * my),
            (x: x + 12.0 * mx, y: y + 12.0 * my), (x: x + 12.0 * mx, y: y + 40.0 * my),
            (x: x, y: y + 40.0 * my), (x: x, y: y)
        ]
        .into();
        l.households = 41;
        let mut tiny = building(10.0, 10.0, BuildingUse::Residential);
        tiny.id = BuildingId::new(2).unwrap();
        tiny.households = 1;
        tiny.units = 3; // more units than households: one unit
        let mut has = building(60.0, 12.0, BuildingUse::Residential);
        has.id = BuildingId::new(3).unwrap();
        has.households = 20;
        let mut none = building(60.0, 12.0, BuildingUse::Commercial);
        none.id = BuildingId::new(4).unwrap();
        let stored = Unit {
            id: UnitId::new(1).unwrap(),
            building: has.id,
            number: 1,
            households: 20,
            entrance: Point::new(x, y),
        };
        let mut bs = vec![l, tiny, has, none];
        let made = default_units(&mut bs, &[stored], 10, &p).unwrap();
        assert_eq!((made.buildings, made.households), (2, 42));
        assert_eq!(made.units.iter().map(|u| u.households).sum::<u32>(), 42);
        for u in &made.units {
            let b = bs.iter().find(|b| b.id == u.building).unwrap();
            let r = geo::BoundingRect::bounding_rect(&b.footprint).unwrap();
            assert!(
                (r.min().x..=r.max().x).contains(&u.entrance.x())
                    && (r.min().y..=r.max().y).contains(&u.entrance.y()),
                "{u:?}"
            );
        }

        let ids: Vec<u64> = made.units.iter().map(|u| u.id.get()).collect();
        assert_eq!(ids, (10..10 + ids.len() as u64).collect::<Vec<_>>());
        assert_eq!(bs[1].units, 3, "a unit count given is kept");
        assert_eq!(
            made.units.iter().filter(|u| u.building == bs[1].id).count(),
            1
        );
        assert_eq!(bs[0].units, 5, "120 m long: one entrance per 22 m");
        assert_eq!(bs[3].units, 0);
        // The same buildings give the same units.
        let again = default_units(&mut bs.clone(), &[], 10, &p).unwrap();
        assert_eq!(again.units[..made.units.len()], made.units[..]);
    }

    #[test]
    fn a_building_of_two_parts_sums_them_and_gets_entrances_in_each() {
        let p = EstimateParams::default();
        // Two slabs, 60 m × 12 m and 40 m × 12 m, 30 m apart: one building
        // given as a MultiPolygon.
        let a = building(60.0, 12.0, BuildingUse::Residential);
        let mut b = building(40.0, 12.0, BuildingUse::Residential);
        let shift = 42.0 / 110_574.0;
        b.footprint.0[0].exterior_mut(|r| r.0.iter_mut().for_each(|c| c.y += shift));
        let mut two = a.clone();
        two.footprint.0.push(b.footprint.0[0].clone());
        let e = estimate_households(&two, &p);
        // 720 m² + 480 m², 6 floors, 90 m² a dwelling.
        assert_eq!(e.households, 80);
        assert_eq!(e.units, 3 + 2, "each part's entrances");
        two.households = e.households;
        let made = default_units(std::slice::from_mut(&mut two), &[], 1, &p).unwrap();
        assert_eq!(made.units.len(), 5);
        let inside = |part: &Polygon<f64>, u: &Unit| {
            let r = geo::BoundingRect::bounding_rect(part).unwrap();
            (r.min().x..=r.max().x).contains(&u.entrance.x())
                && (r.min().y..=r.max().y).contains(&u.entrance.y())
        };
        let per_part: Vec<usize> = two
            .footprint
            .0
            .iter()
            .map(|q| made.units.iter().filter(|u| inside(q, u)).count())
            .collect();
        assert_eq!(per_part, [3, 2], "no entrance in the gap between the parts");
        assert_eq!(share_out(4, &[3, 2]), [2, 2]);
        assert_eq!(share_out(1, &[3, 2]), [1, 0]);
        assert_eq!(share_out(7, &[0, 0]).iter().sum::<u32>(), 7);
    }

    #[test]
    fn estimate_all_keeps_counted() {
        let p = EstimateParams::default();
        let mut counted = building(60.0, 12.0, BuildingUse::Residential);
        counted.households = 36;
        let mut bs = vec![
            counted,
            building(60.0, 12.0, BuildingUse::Residential),
            building(60.0, 12.0, BuildingUse::Industrial),
        ];
        let r = estimate_all(&mut bs, &p);
        assert_eq!(bs[0].households, 36);
        assert!(!bs[0].households_estimated);
        assert!(bs[1].households_estimated && bs[1].households == 48);
        assert_eq!(bs[2].households, 0);
        assert_eq!((r.kept_counted, r.residential, r.households), (1, 1, 48));
        assert_eq!(r.count(Basis::FootprintOnly), 1);
    }
}
