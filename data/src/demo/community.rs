//! One batch per community: compounds and buildings laid out on the planned
//! lots, units and households, people, today's (imperfect) grids, places,
//! organisations, events and sentiment.

use geo_core::ids::{
    BuildingId, CommunityId, CompoundId, GridCode, GridId, HouseholdId, OrganisationId, PlaceId,
    RoadId, UnitId,
};
use geo_core::model::{
    Building, BuildingUse, Community, Compound, CompoundEra, Grid, GridKind, Household,
    Organisation, OrganisationKind, Place, PlaceCategory, Road, ServiceKind, Tenure, Town, Unit,
    Worker, WorkerRole,
};
use geo_core::{Dataset, IdError};
use geo_types::{Geometry, Point};

use super::events::{self, Anchor, AnchorKind, EventMaker, HouseholdView};
use super::frame::{offset, ring, Rect};
use super::names;
use super::people::{self, Context, IdRegistry};
use super::plan::{CommunityPlan, Facility, LotUse, TownPlan};
use super::rng::{chance, stream, uf, ui, DemoRng};
use super::{next, Ids, PlantedHotspot, ServiceCoverage, Summary, WALK_15MIN_M};

/// What a community batch needs from the rest of its town.
pub(crate) struct TownState {
    first_community: u64,
    /// Service points of the whole town: (kind, x, y).
    services: Vec<(ServiceKind, f64, f64)>,
    /// Corners of every community rectangle (for shared T-junction vertices).
    corners: Vec<(f64, f64)>,
}

impl TownState {
    pub fn new(plan: &TownPlan, first_community: u64) -> Self {
        Self {
            first_community,
            services: plan.services.iter().map(|s| (s.kind, s.x, s.y)).collect(),
            corners: plan
                .communities
                .iter()
                .flat_map(|c| c.rect.corners())
                .collect(),
        }
    }
    fn community_id(&self, index: usize) -> Result<CommunityId, IdError> {
        CommunityId::new(self.first_community + index as u64)
    }
}

/// The town batch: the town itself and the arterials between communities.
pub(crate) fn town_batch(plan: &TownPlan, ids: &mut Ids) -> Result<Dataset, IdError> {
    let mut batch = Dataset {
        town: Some(Town {
            code: plan.code,
            name: plan.name.clone(),
            centre: plan.frame.point(plan.extent.cx(), plan.extent.cy()),
        }),
        ..Dataset::default()
    };
    for r in plan.roads.iter().filter(|r| r.community.is_none()) {
        batch.roads.push(Road {
            id: RoadId::new(next(&mut ids.road))?,
            name: r.name.clone(),
            class: r.class,
            line: plan.frame.line(&r.points()),
        });
    }
    Ok(batch)
}

/// A building before it gets its ID.
struct Spec {
    compound: Option<usize>,
    cx: f64,
    cy: f64,
    len: f64,
    depth: f64,
    angle: f64,
    levels: u16,
    usage: BuildingUse,
    units: u16,
    /// Dwellings per unit.
    per_unit: u32,
    /// Lowest dwelling floor and dwellings per floor (for room numbers).
    first_floor: i16,
    per_floor: u32,
    kind: AnchorKind,
    ctx: Context,
    housing: bool,
    label: String,
}

struct CompoundSpec {
    era: CompoundEra,
    name: String,
    rect: Rect,
    built: u16,
}

/// Era parameters: floors, units, dwellings per floor, unit width, depth, row gap, column gap.
fn era_params(rng: &mut DemoRng, era: CompoundEra) -> (u16, u16, u32, f64, f64, f64, f64) {
    match era {
        CompoundEra::Walkup1980s => (
            if chance(rng, 0.8) { 6 } else { 5 },
            ui(rng, 2, 4) as u16,
            2,
            13.0,
            11.0,
            14.0,
            8.0,
        ),
        CompoundEra::Midrise2000s => (
            ui(rng, 7, 11) as u16,
            ui(rng, 2, 3) as u16,
            2,
            15.0,
            13.0,
            22.0,
            12.0,
        ),
        CompoundEra::Highrise2010s => (
            ui(rng, 18, 33) as u16,
            ui(rng, 1, 2) as u16,
            if chance(rng, 0.3) { 3 } else { 4 },
            24.0,
            18.0,
            38.0,
            20.0,
        ),
        CompoundEra::Villa => (
            ui(rng, 2, 3) as u16,
            ui(rng, 3, 6) as u16,
            1,
            10.0,
            12.0,
            16.0,
            10.0,
        ),
        CompoundEra::UrbanVillage => (
            ui(rng, 2, 5) as u16,
            1,
            ui(rng, 1, 3) as u32,
            10.0,
            11.0,
            3.0,
            3.0,
        ),
        CompoundEra::Other => (ui(rng, 1, 2) as u16, 1, 1, 12.0, 9.0, 10.0, 8.0),
    }
}

fn era_kind(era: CompoundEra) -> (AnchorKind, Context) {
    match era {
        CompoundEra::Walkup1980s => (AnchorKind::Old, Context::Urban),
        CompoundEra::Midrise2000s => (AnchorKind::Mid, Context::Urban),
        CompoundEra::Highrise2010s => (AnchorKind::New, Context::Urban),
        CompoundEra::Villa => (AnchorKind::Villa, Context::Villa),
        CompoundEra::UrbanVillage => (AnchorKind::UrbanVillage, Context::Urban),
        _ => (AnchorKind::Rural, Context::Rural),
    }
}

/// Lays out rows of buildings of `era` in `area`.
fn layout(
    rng: &mut DemoRng,
    era: CompoundEra,
    area: &Rect,
    compound: usize,
    cname: &str,
    out: &mut Vec<Spec>,
) {
    let (kind, ctx) = era_kind(era);
    let (_, _, _, unit_w, depth0, row_gap, col_gap) = era_params(rng, era);
    let mut y = area.y0 + depth0 / 2.0 + 2.0;
    let mut no = 0;
    while y + depth0 / 2.0 < area.y1 {
        let mut x = area.x0 + 2.0;
        let (levels, units, per_floor, _, depth, _, _) = era_params(rng, era);
        loop {
            let levels = if matches!(era, CompoundEra::UrbanVillage | CompoundEra::Other) {
                era_params(rng, era).0
            } else {
                levels
            };
            let w = match era {
                CompoundEra::UrbanVillage => uf(rng, 8.0, 12.0),
                _ => f64::from(units) * unit_w,
            };
            if x + w > area.x1 - 2.0 {
                break;
            }
            let angle = match era {
                CompoundEra::UrbanVillage => uf(rng, -4.0, 4.0),
                CompoundEra::Other => uf(rng, -6.0, 6.0),
                _ => 0.0,
            };
            let per_unit = match era {
                CompoundEra::Villa | CompoundEra::Other => 1,
                _ => u32::from(levels) * per_floor,
            };
            no += 1;
            out.push(Spec {
                compound: Some(compound),
                cx: x + w / 2.0,
                cy: y,
                len: w,
                depth,
                angle,
                levels,
                usage: BuildingUse::Residential,
                units,
                per_unit,
                first_floor: 1,
                per_floor: if per_unit == 1 { 1 } else { per_floor },
                kind,
                ctx,
                housing: true,
                label: format!("{cname}{no}号楼"),
            });
            x += w + col_gap * uf(rng, 0.8, 1.3);
        }
        y += depth0 + row_gap * uf(rng, 0.9, 1.2);
    }
}

fn facility_buildings(
    rng: &mut DemoRng,
    f: Facility,
    area: &Rect,
    label: &str,
    out: &mut Vec<Spec>,
) {
    let (usage, n, levels, len, depth, kind) = match f {
        Facility::PrimarySchool | Facility::MiddleSchool => (
            BuildingUse::Education,
            3,
            4,
            60.0_f64,
            16.0,
            AnchorKind::School,
        ),
        Facility::Kindergarten => (BuildingUse::Education, 1, 3, 40.0, 16.0, AnchorKind::School),
        Facility::Hospital => (
            BuildingUse::Health,
            2,
            ui(rng, 6, 12) as u16,
            60.0,
            22.0,
            AnchorKind::Hospital,
        ),
        Facility::HealthCentre => (BuildingUse::Health, 1, 4, 40.0, 15.0, AnchorKind::Hospital),
        Facility::Market => (
            BuildingUse::Commercial,
            2,
            1,
            80.0,
            30.0,
            AnchorKind::Market,
        ),
        Facility::Park => (BuildingUse::Other, 0, 1, 10.0, 10.0, AnchorKind::Park),
        Facility::Government => (
            BuildingUse::Government,
            2,
            ui(rng, 5, 8) as u16,
            55.0,
            18.0,
            AnchorKind::Office,
        ),
        Facility::PoliceStation => (
            BuildingUse::Government,
            1,
            4,
            40.0,
            15.0,
            AnchorKind::Office,
        ),
        Facility::IndustrialPlant => (
            BuildingUse::Industrial,
            4,
            1,
            70.0,
            30.0,
            AnchorKind::Industrial,
        ),
        Facility::BusinessStreet => (
            BuildingUse::Commercial,
            6,
            3,
            36.0,
            14.0,
            AnchorKind::Commercial,
        ),
        Facility::BusStation => (
            BuildingUse::Commercial,
            1,
            2,
            60.0,
            25.0,
            AnchorKind::Commercial,
        ),
    };
    let cols = 2usize;
    for i in 0..n {
        let (col, row) = (i % cols, i / cols);
        let cx = area.x0 + area.w() * (0.27 + 0.46 * col as f64);
        let cy = area.y0 + depth / 2.0 + 6.0 + row as f64 * (depth + 22.0);
        if cy + depth / 2.0 > area.y1 {
            break;
        }
        out.push(Spec {
            compound: None,
            cx,
            cy,
            len: len.min(area.w() * 0.44),
            depth,
            angle: 0.0,
            levels,
            usage,
            units: 0,
            per_unit: 0,
            first_floor: 1,
            per_floor: 0,
            kind,
            ctx: Context::Urban,
            housing: false,
            label: label.to_string(),
        });
    }
}

fn commercial_buildings(rng: &mut DemoRng, area: &Rect, label: &str, out: &mut Vec<Spec>) {
    // Street-front mixed buildings (shops below, flats above) on the south
    // and north edges, a few shop boxes between.
    for (y, up) in [(area.y0 + 8.0, true), (area.y1 - 8.0, false)] {
        let mut x = area.x0 + 3.0;
        loop {
            let units = ui(rng, 2, 3) as u16;
            let w = f64::from(units) * 14.0;
            if x + w > area.x1 - 3.0 {
                break;
            }
            let levels = ui(rng, 4, 6) as u16;
            out.push(Spec {
                compound: None,
                cx: x + w / 2.0,
                cy: if up { y + 4.0 } else { y - 4.0 },
                len: w,
                depth: 12.0,
                angle: 0.0,
                levels,
                usage: BuildingUse::Mixed,
                units,
                per_unit: u32::from(levels - 1) * 2,
                first_floor: 2,
                per_floor: 2,
                kind: AnchorKind::Commercial,
                ctx: Context::Urban,
                housing: true,
                label: format!("{label}沿街楼"),
            });
            x += w + uf(rng, 4.0, 10.0);
        }
    }
    for _ in 0..ui(rng, 1, 3) {
        out.push(Spec {
            compound: None,
            cx: uf(rng, area.x0 + 30.0, area.x1 - 30.0),
            cy: area.cy() + uf(rng, -10.0, 10.0),
            len: 30.0,
            depth: 20.0,
            angle: 0.0,
            levels: ui(rng, 2, 4) as u16,
            usage: BuildingUse::Commercial,
            units: 0,
            per_unit: 0,
            first_floor: 1,
            per_floor: 0,
            kind: AnchorKind::Commercial,
            ctx: Context::Urban,
            housing: false,
            label: format!("{label}商铺"),
        });
    }
}

/// Boundaries `[lo, c1, …, hi]` cutting `pts` (coordinate, weight) into
/// pieces whose weights follow `shares`, cuts falling between points.
fn quantile_cuts(pts: &mut [(f64, u32)], lo: f64, hi: f64, shares: &[f64]) -> Vec<f64> {
    let k = shares.len().max(1);
    let min_gap = ((hi - lo) / (k as f64 * 4.0)).min(8.0);
    let mut out = vec![lo];
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total: f64 = pts.iter().map(|p| f64::from(p.1)).sum();
    let ssum: f64 = shares.iter().sum::<f64>().max(1e-9);
    let mut acc = 0.0;
    let mut target = 0.0;
    let mut j = 0usize;
    for (i, s) in shares.iter().enumerate().take(k - 1) {
        target += s / ssum;
        let mut cut = if total <= 0.0 || pts.is_empty() {
            lo + (hi - lo) * target
        } else {
            let goal = target * total;
            while j < pts.len() && acc + f64::from(pts[j].1) / 2.0 < goal {
                acc += f64::from(pts[j].1);
                j += 1;
            }
            while j > 0 && j < pts.len() && pts[j].0 == pts[j - 1].0 {
                acc += f64::from(pts[j].1);
                j += 1;
            }
            match j {
                0 => pts[0].0 - 1.0,
                j if j >= pts.len() => pts[pts.len() - 1].0 + 1.0,
                j => (pts[j - 1].0 + pts[j].0) / 2.0,
            }
        };
        let prev = out[out.len() - 1];
        let max = hi - min_gap * (k - 1 - i) as f64;
        cut = cut.clamp(prev + min_gap, max.max(prev + min_gap));
        out.push(cut);
    }
    out.push(hi);
    out
}

/// Index of the interval of `bounds` holding `v`.
fn slot(bounds: &[f64], v: f64) -> usize {
    bounds[1..bounds.len() - 1].partition_point(|b| *b <= v)
}

/// Splits `n` into `parts` near-equal integers.
fn split(n: usize, parts: usize) -> Vec<usize> {
    let parts = parts.max(1);
    (0..parts)
        .map(|i| n / parts + usize::from(i < n % parts))
        .collect()
}

/// A tiling of a rectangle: columns, then rows inside each column.
struct Tiling {
    cols: Vec<f64>,
    rows: Vec<Vec<f64>>,
    /// Cell index of the first cell of each column.
    first: Vec<usize>,
}

impl Tiling {
    fn new(
        rng: &mut DemoRng,
        r: &Rect,
        n: usize,
        pts: &[(f64, f64, u32)],
        noise: (f64, f64),
        across: bool,
    ) -> Self {
        let n = n.max(1);
        let ncols = ((n as f64 * r.w() / r.h()).sqrt().round() as usize).clamp(1, n);
        let per_col = split(n, ncols);
        let (a, b) = noise;
        let shares: Vec<f64> = per_col
            .iter()
            .map(|c| *c as f64 * uf(rng, 0.85, 1.15))
            .collect();
        let mut xs: Vec<(f64, u32)> = pts.iter().map(|p| (p.0, p.2)).collect();
        let cols = quantile_cuts(&mut xs, r.x0, r.x1, &shares);
        let mut rows = Vec::with_capacity(ncols);
        let mut first = Vec::with_capacity(ncols);
        let mut cell = 0;
        for (ci, cnt) in per_col.iter().enumerate() {
            let mut ys: Vec<(f64, u32)> = pts
                .iter()
                .filter(|p| slot(&cols, p.0) == ci)
                .map(|p| (p.1, p.2))
                .collect();
            let s: Vec<f64> = (0..*cnt).map(|_| uf(rng, a, b)).collect();
            let _ = across;
            rows.push(quantile_cuts(&mut ys, r.y0, r.y1, &s));
            first.push(cell);
            cell += cnt;
        }
        Self { cols, rows, first }
    }
    fn cell_of(&self, x: f64, y: f64) -> usize {
        let c = slot(&self.cols, x);
        self.first[c] + slot(&self.rows[c], y)
    }
    fn rects(&self) -> Vec<Rect> {
        let mut out = Vec::new();
        for (c, w) in self.cols.windows(2).enumerate() {
            for h in self.rows[c].windows(2) {
                out.push(Rect::new(w[0], h[0], w[1], h[1]));
            }
        }
        out
    }
}

fn workers(rng: &mut DemoRng, kind: GridKind) -> Vec<Worker> {
    let name = |rng: &mut DemoRng| {
        let male = chance(rng, 0.4);
        let s = names::surname(rng);
        names::full_name(rng, s, male)
    };
    match kind {
        GridKind::Comprehensive => vec![
            Worker {
                name: name(rng),
                role: WorkerRole::GridWorker,
                full_time: true,
            },
            Worker {
                name: name(rng),
                role: WorkerRole::GridLeader,
                full_time: false,
            },
        ],
        GridKind::Micro => vec![Worker {
            name: name(rng),
            role: WorkerRole::NeighbourhoodHead,
            full_time: false,
        }],
        GridKind::Dedicated => vec![Worker {
            name: name(rng),
            role: WorkerRole::GridWorker,
            full_time: false,
        }],
    }
}

/// Generates the batch of community `c`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn generate_community(
    plan: &TownPlan,
    c: &CommunityPlan,
    period: &events::Period,
    state: &mut TownState,
    seed: u64,
    ids: &mut Ids,
    registry: &mut IdRegistry,
    summary: &mut Summary,
) -> Result<Dataset, IdError> {
    let mut rng = stream(seed, &[plan.index as u64, c.index as u64]);
    let f = &plan.frame;
    let cid = state.community_id(c.index)?;
    let mut batch = Dataset::default();
    batch.communities.push(Community {
        id: cid,
        code: c.code,
        name: c.name.clone(),
        is_village: c.village,
        boundary: f.multi(&ring(&c.rect, &state.corners)),
    });
    for r in plan.roads.iter().filter(|r| r.community == Some(c.index)) {
        batch.roads.push(Road {
            id: RoadId::new(next(&mut ids.road))?,
            name: r.name.clone(),
            class: r.class,
            line: f.line(&r.points()),
        });
    }

    // Lots → compounds, facility parcels and building specs.
    let mut compounds: Vec<CompoundSpec> = Vec::new();
    let mut specs: Vec<Spec> = Vec::new();
    let mut facility_lots: Vec<(Facility, Rect)> = Vec::new();
    let mut open_lots: Vec<(LotUse, Rect)> = Vec::new();
    for lot in &c.lots {
        let parcel = lot.rect.inset(if c.village { 6.0 } else { 12.0 });
        match lot.usage {
            LotUse::Housing(era) => {
                let name = names::compound_name(&mut rng, era.code());
                let built = match era {
                    CompoundEra::Walkup1980s => ui(&mut rng, 1981, 1996),
                    CompoundEra::Midrise2000s => ui(&mut rng, 1998, 2009),
                    CompoundEra::Highrise2010s => ui(&mut rng, 2010, 2022),
                    CompoundEra::Villa => ui(&mut rng, 2005, 2020),
                    _ => ui(&mut rng, 1975, 2015),
                } as u16;
                let idx = compounds.len();
                layout(&mut rng, era, &parcel.inset(4.0), idx, &name, &mut specs);
                compounds.push(CompoundSpec {
                    era,
                    name,
                    rect: parcel,
                    built,
                });
            }
            LotUse::Facility(fac) => {
                let label = format!("{}{}", c.name.trim_end_matches("社区"), fac.label());
                facility_buildings(&mut rng, fac, &parcel, &label, &mut specs);
                facility_lots.push((fac, parcel));
            }
            LotUse::Commercial => {
                let label = names::any_stem(&mut rng).to_string();
                commercial_buildings(&mut rng, &parcel, &label, &mut specs);
                open_lots.push((lot.usage, parcel));
            }
            u => open_lots.push((u, parcel)),
        }
    }
    // Thin housing to the community's target number of dwellings.
    let dwell = |s: &Spec| {
        if s.housing {
            f64::from(s.units) * f64::from(s.per_unit)
        } else {
            0.0
        }
    };
    let fixed: f64 = specs
        .iter()
        .filter(|s| s.compound.is_none())
        .map(dwell)
        .sum();
    let flexible: f64 = specs
        .iter()
        .filter(|s| s.compound.is_some())
        .map(dwell)
        .sum();
    let keep = ((c.target_dwellings - fixed) / flexible.max(1.0)).clamp(0.05, 1.0);
    let mut seen_compound = vec![false; compounds.len()];
    specs.retain(|s| match s.compound {
        None => true,
        Some(ci) => {
            let first = !seen_compound[ci];
            seen_compound[ci] = true;
            first || uf(&mut rng, 0.0, 1.0) < keep
        }
    });

    // Compounds.
    let mut compound_ids = Vec::with_capacity(compounds.len());
    for cs in &compounds {
        let id = CompoundId::new(next(&mut ids.compound))?;
        compound_ids.push(id);
        batch.compounds.push(Compound {
            id,
            name: cs.name.clone(),
            community: Some(cid),
            era: cs.era,
            built_year: Some(cs.built),
            boundary: f.rect(&cs.rect).into(),
        });
    }

    // Buildings, units, dwellings (households come after the grids).
    struct Dwelling {
        building: BuildingId,
        unit: UnitId,
        floor: i16,
        room: String,
        x: f64,
        y: f64,
        spec: usize,
    }
    let mut dwellings: Vec<Dwelling> = Vec::new();
    let mut building_of_spec = Vec::with_capacity(specs.len());
    let mut anchors: Vec<Anchor> = Vec::new();
    for (si, s) in specs.iter().enumerate() {
        let id = BuildingId::new(next(&mut ids.building))?;
        building_of_spec.push(id);
        let households = if s.housing {
            u32::from(s.units) * s.per_unit
        } else {
            0
        };
        let address = s
            .compound
            .map_or_else(|| s.label.clone(), |_| s.label.clone());
        batch.buildings.push(Building {
            id,
            compound: s.compound.map(|ci| compound_ids[ci]),
            footprint: f.footprint(s.cx, s.cy, s.len, s.depth, s.angle).into(),
            levels: Some(s.levels),
            height_m: Some(
                f32::from(s.levels)
                    * if s.usage == BuildingUse::Industrial {
                        8.0
                    } else {
                        3.0
                    }
                    + 0.6,
            ),
            usage: s.usage,
            units: s.units,
            households,
            households_estimated: false,
            address: Some(address),
        });
        let unit_w = s.len / f64::from(s.units.max(1));
        for u in 0..s.units {
            let (ex, ey) = offset(
                s.cx,
                s.cy,
                -s.len / 2.0 + unit_w * (f64::from(u) + 0.5),
                -s.depth / 2.0 - 1.5,
                s.angle,
            );
            let uid = UnitId::new(next(&mut ids.unit))?;
            batch.units.push(Unit {
                id: uid,
                building: id,
                number: u + 1,
                households: s.per_unit,
                entrance: f.point(ex, ey),
            });
            for k in 0..s.per_unit {
                let per_floor = s.per_floor.max(1);
                let floor = s.first_floor + (k / per_floor) as i16;
                let room = format!("{}{:02}", floor, k % per_floor + 1);
                dwellings.push(Dwelling {
                    building: id,
                    unit: uid,
                    floor,
                    room,
                    x: ex,
                    y: ey,
                    spec: si,
                });
            }
        }
        if !s.housing {
            anchors.push(Anchor {
                location: f.point(s.cx, s.cy),
                weight: 0.0,
                kind: s.kind,
                label: s.label.clone(),
                households: (0, 0),
            });
        }
    }
    // Facility anchors carry the site's event rate (once per lot).
    let mut seen_label = std::collections::HashSet::new();
    for a in &mut anchors {
        if seen_label.insert(a.label.clone()) {
            a.weight = a.kind.rate();
        }
    }
    for (fac, r) in &facility_lots {
        if *fac == Facility::Park {
            anchors.push(Anchor {
                location: f.point(r.cx(), r.cy()),
                weight: AnchorKind::Park.rate(),
                kind: AnchorKind::Park,
                label: format!("{}{}", c.name.trim_end_matches("社区"), fac.label()),
                households: (0, 0),
            });
        }
    }

    // Today's grids.
    let pts: Vec<(f64, f64, u32)> = specs
        .iter()
        .filter(|s| s.housing)
        .flat_map(|s| {
            let unit_w = s.len / f64::from(s.units.max(1));
            (0..s.units).map(move |u| {
                let (x, y) = offset(
                    s.cx,
                    s.cy,
                    -s.len / 2.0 + unit_w * (f64::from(u) + 0.5),
                    -s.depth / 2.0 - 1.5,
                    s.angle,
                );
                (x, y, s.per_unit)
            })
        })
        .collect();
    let comp = Tiling::new(
        &mut rng,
        &c.rect,
        c.comprehensive as usize,
        &pts,
        (0.45, 1.55),
        true,
    );
    let comp_rects = comp.rects();
    let comp_corners: Vec<(f64, f64)> = comp_rects.iter().flat_map(|r| r.corners()).collect();
    let mut micro_tilings = Vec::with_capacity(comp_rects.len());
    for (ci, r) in comp_rects.iter().enumerate() {
        let inside: Vec<(f64, f64, u32)> = pts
            .iter()
            .copied()
            .filter(|p| comp.cell_of(p.0, p.1) == ci)
            .collect();
        let hh: u32 = inside.iter().map(|p| p.2).sum();
        let target = uf(&mut rng, plan.micro_households.0, plan.micro_households.1);
        let m = ((f64::from(hh) / target).round() as usize).max(1);
        micro_tilings.push(Tiling::new(&mut rng, r, m, &inside, (0.75, 1.25), false));
    }
    let micro_rects: Vec<Vec<Rect>> = micro_tilings.iter().map(Tiling::rects).collect();
    let micro_corners: Vec<(f64, f64)> = micro_rects
        .iter()
        .flatten()
        .flat_map(|r| r.corners())
        .collect();
    let mut comp_ids = Vec::with_capacity(comp_rects.len());
    let mut micro_ids: Vec<Vec<GridId>> = Vec::with_capacity(comp_rects.len());
    for (ci, r) in comp_rects.iter().enumerate() {
        let id = GridId::new(next(&mut ids.grid))?;
        comp_ids.push(id);
        let code = GridCode::new(c.code, ci as u16 + 1)?;
        batch.grids.push(Grid {
            id,
            code: code.clone(),
            name: format!("第{}网格", ci + 1),
            kind: GridKind::Comprehensive,
            community: Some(cid),
            parent: None,
            boundary: f.multi(&ring(r, &comp_corners)),
            workers: workers(&mut rng, GridKind::Comprehensive),
        });
        let mut mids = Vec::new();
        for (mi, mr) in micro_rects[ci].iter().enumerate() {
            let mid = GridId::new(next(&mut ids.grid))?;
            mids.push(mid);
            batch.grids.push(Grid {
                id: mid,
                code: code.child(mi as u16 + 1)?,
                name: format!("第{}网格{}号微网格", ci + 1, mi + 1),
                kind: GridKind::Micro,
                community: Some(cid),
                parent: Some(id),
                boundary: f.multi(&ring(mr, &micro_corners)),
                workers: workers(&mut rng, GridKind::Micro),
            });
        }
        micro_ids.push(mids);
    }
    for (k, (fac, r)) in facility_lots.iter().enumerate() {
        batch.grids.push(Grid {
            id: GridId::new(next(&mut ids.grid))?,
            code: GridCode::new(c.code, 901 + k as u16)?,
            name: format!("{}{}专属网格", c.name.trim_end_matches("社区"), fac.label()),
            kind: GridKind::Dedicated,
            community: Some(cid),
            parent: None,
            boundary: f.multi(&ring(r, &[])),
            workers: workers(&mut rng, GridKind::Dedicated),
        });
    }

    // Households and people.
    let county = super::plan::COUNTIES
        .iter()
        .position(|k| *k == plan.county)
        .unwrap_or(0);
    let mut occupied: Vec<HouseholdId> = Vec::new();
    let mut views: Vec<HouseholdView> = Vec::new();
    let mut party_by_grid: Vec<Vec<geo_core::ids::PersonId>> = vec![Vec::new(); comp_rects.len()];
    let mut volunteers: Vec<geo_core::ids::PersonId> = Vec::new();
    let mut hh_xy: Vec<(f64, f64)> = Vec::new();
    let mut spec_range: Vec<(usize, usize)> = vec![(usize::MAX, 0); specs.len()];
    for d in &dwellings {
        let s = &specs[d.spec];
        let era = s.compound.map(|ci| compounds[ci].era);
        let (rent_p, vacant_p, public_p, low_p) = match era {
            Some(CompoundEra::Walkup1980s) => (0.22, 0.06, 0.12, 0.05),
            Some(CompoundEra::Midrise2000s) => (0.15, 0.07, 0.02, 0.02),
            Some(CompoundEra::Highrise2010s) => (0.12, 0.16, 0.0, 0.01),
            Some(CompoundEra::Villa) => (0.05, 0.2, 0.0, 0.0),
            Some(CompoundEra::UrbanVillage) => (0.65, 0.04, 0.0, 0.06),
            Some(CompoundEra::Other) => (0.03, 0.12, 0.0, 0.06),
            None => (0.35, 0.08, 0.0, 0.03),
        };
        let r = uf(&mut rng, 0.0, 1.0);
        let tenure = if r < vacant_p {
            Tenure::Vacant
        } else if r < vacant_p + rent_p {
            Tenure::Rented
        } else if r < vacant_p + rent_p + public_p {
            Tenure::Public
        } else {
            Tenure::Owned
        };
        let floating = match tenure {
            Tenure::Rented => chance(
                &mut rng,
                if era == Some(CompoundEra::UrbanVillage) {
                    0.85
                } else {
                    0.45
                },
            ),
            Tenure::Vacant => false,
            _ => chance(&mut rng, 0.03),
        };
        let ctx = if floating && tenure == Tenure::Rented {
            Context::FloatingRental
        } else {
            s.ctx
        };
        let size = if tenure == Tenure::Vacant {
            0
        } else {
            people::household_size(&mut rng, ctx)
        };
        let hid = HouseholdId::new(next(&mut ids.household))?;
        let group_rented = tenure == Tenure::Rented
            && chance(
                &mut rng,
                if era == Some(CompoundEra::UrbanVillage) {
                    0.08
                } else {
                    0.01
                },
            );
        let mut party_household = false;
        if size > 0 {
            let first_person = batch.persons.len();
            let facts = people::persons(
                &mut rng,
                registry,
                &mut ids.person,
                hid,
                size,
                ctx,
                county,
                floating,
                low_p,
                &mut batch.persons,
            )?;
            party_household = facts.party_members > 0 && chance(&mut rng, 0.35);
            let gi = comp.cell_of(d.x, d.y);
            for p in &batch.persons[first_person..] {
                if p.has(geo_core::model::PersonTag::PartyMember) {
                    party_by_grid[gi].push(p.id);
                }
                if volunteers.len() < 60
                    && (p.has(geo_core::model::PersonTag::PartyMember)
                        || p.age_in(super::REFERENCE_YEAR) >= 60)
                    && chance(&mut rng, 0.1)
                {
                    volunteers.push(p.id);
                }
            }
            let ri = occupied.len();
            let sr = &mut spec_range[d.spec];
            sr.0 = sr.0.min(ri);
            sr.1 = sr.1.max(ri + 1);
            occupied.push(hid);
            hh_xy.push((d.x, d.y));
            views.push(HouseholdView {
                id: hid,
                facts,
                kind: s.kind,
            });
        }
        batch.households.push(Household {
            id: hid,
            building: d.building,
            unit: Some(d.unit),
            floor: d.floor,
            room: d.room.clone(),
            size,
            tenure,
            group_rented,
            party_member: party_household,
        });
    }
    drop(dwellings);
    // Residential anchors: one per housing building, weighted by its occupied households.
    for (si, s) in specs.iter().enumerate() {
        if !s.housing {
            continue;
        }
        let (a, b) = spec_range[si];
        if a == usize::MAX {
            continue;
        }
        let kind = if s.kind == AnchorKind::Commercial {
            AnchorKind::Mid
        } else {
            s.kind
        };
        anchors.push(Anchor {
            location: f.point(s.cx, s.cy),
            weight: (b - a) as f64 * kind.rate(),
            kind,
            label: s.label.clone(),
            households: (a, b),
        });
    }
    let _ = building_of_spec;

    // Places: service points of this community, facility parcels, open lots.
    let short = c
        .name
        .trim_end_matches("社区")
        .trim_end_matches('村')
        .to_string();
    let mut party_centre = f.point(c.rect.cx(), c.rect.cy());
    for s in plan
        .services
        .iter()
        .filter(|s| s.community == c.index && s.poi)
    {
        let p = f.point(s.x, s.y);
        if s.kind == ServiceKind::PartyServiceCentre {
            party_centre = p;
        }
        batch.places.push(Place {
            id: PlaceId::new(next(&mut ids.place))?,
            name: s.name.clone(),
            category: PlaceCategory::Facility,
            service: Some(s.kind),
            geometry: Geometry::Point(p),
        });
    }
    for (fac, r) in &facility_lots {
        batch.places.push(Place {
            id: PlaceId::new(next(&mut ids.place))?,
            name: format!("{short}{}", fac.label()),
            category: if *fac == Facility::Park {
                PlaceCategory::PublicSpace
            } else {
                PlaceCategory::Facility
            },
            service: fac.service(),
            geometry: Geometry::Polygon(f.rect(r)),
        });
    }
    let mut ponds = 0;
    for (u, r) in &open_lots {
        let (name, cat) = match u {
            LotUse::Green if chance(&mut rng, 0.6) => ("街头游园", PlaceCategory::PublicSpace),
            LotUse::Vacant if chance(&mut rng, 0.3) => ("储备用地", PlaceCategory::Parcel),
            LotUse::Farmland if ponds == 0 && chance(&mut rng, 0.2) => {
                ponds += 1;
                ("坑塘", PlaceCategory::Water)
            }
            _ => continue,
        };
        batch.places.push(Place {
            id: PlaceId::new(next(&mut ids.place))?,
            name: format!("{short}{name}"),
            category: cat,
            service: None,
            geometry: Geometry::Polygon(f.rect(&r.inset(10.0))),
        });
    }

    // Organisations.
    let mut org = |batch: &mut Dataset,
                   name: String,
                   kind,
                   geometry,
                   compound,
                   members: Vec<_>,
                   count: u32|
     -> Result<(), IdError> {
        batch.organisations.push(Organisation {
            id: OrganisationId::new(next(&mut ids.organisation))?,
            name,
            kind,
            geometry,
            compound,
            member_count: count.max(members.len() as u32),
            members,
        });
        Ok(())
    };
    let committee = if c.village {
        "村民委员会"
    } else {
        "居民委员会"
    };
    org(
        &mut batch,
        format!("{}{committee}", c.name),
        OrganisationKind::ResidentsCommittee,
        Geometry::Point(party_centre),
        None,
        Vec::new(),
        ui(&mut rng, 5, 9) as u32,
    )?;
    for (gi, members) in party_by_grid.into_iter().enumerate() {
        let r = &comp_rects[gi];
        let n = members.len() as u32;
        org(
            &mut batch,
            format!("{}第{}网格党支部", c.name, gi + 1),
            OrganisationKind::PartyBranch,
            Geometry::Point(f.point(r.cx(), r.cy())),
            None,
            members,
            n,
        )?;
    }
    for (ci, cs) in compounds.iter().enumerate() {
        let p = match cs.era {
            CompoundEra::Walkup1980s => 0.45,
            CompoundEra::Midrise2000s => 0.85,
            CompoundEra::Highrise2010s | CompoundEra::Villa => 1.0,
            _ => 0.0,
        };
        if chance(&mut rng, p) {
            let company = names::property_company(&mut rng);
            org(
                &mut batch,
                format!("{company}（{}项目部）", cs.name),
                OrganisationKind::PropertyCompany,
                Geometry::Polygon(f.rect(&cs.rect)),
                Some(compound_ids[ci]),
                Vec::new(),
                ui(&mut rng, 4, 40) as u32,
            )?;
            let oc_p = if cs.era == CompoundEra::Highrise2010s {
                0.6
            } else {
                0.35
            };
            if chance(&mut rng, oc_p) {
                let gate = f.point(cs.rect.cx(), cs.rect.y0);
                org(
                    &mut batch,
                    format!("{}业主委员会", cs.name),
                    OrganisationKind::OwnersCommittee,
                    Geometry::Point(gate),
                    Some(compound_ids[ci]),
                    Vec::new(),
                    ui(&mut rng, 5, 9) as u32,
                )?;
            }
        }
    }
    for k in 0..ui(&mut rng, 1, 3) {
        let take = volunteers.len().min(ui(&mut rng, 8, 25) as usize);
        let members: Vec<_> = volunteers
            .iter()
            .skip(k as usize * 5)
            .take(take)
            .copied()
            .collect();
        let name = ["志愿服务队", "红马甲巡逻队", "银龄志愿者协会"][k as usize % 3];
        let count = members.len() as u32 + ui(&mut rng, 0, 40) as u32;
        org(
            &mut batch,
            format!("{short}{name}"),
            OrganisationKind::VolunteerTeam,
            Geometry::Point(party_centre),
            None,
            members,
            count,
        )?;
    }
    if !c.village && chance(&mut rng, 0.6) {
        org(
            &mut batch,
            format!("{short}老年协会"),
            OrganisationKind::SocialOrganisation,
            Geometry::Point(party_centre),
            None,
            Vec::new(),
            ui(&mut rng, 20, 120) as u32,
        )?;
    }
    for (fac, r) in &facility_lots {
        let n = match fac {
            Facility::IndustrialPlant => ui(&mut rng, 1, 3),
            Facility::Market | Facility::BusinessStreet => ui(&mut rng, 2, 6),
            _ => 0,
        };
        for _ in 0..n {
            let p = f.point(uf(&mut rng, r.x0, r.x1), uf(&mut rng, r.y0, r.y1));
            let name = names::enterprise(&mut rng, *fac == Facility::IndustrialPlant);
            org(
                &mut batch,
                name,
                OrganisationKind::Enterprise,
                Geometry::Point(p),
                None,
                Vec::new(),
                ui(&mut rng, 3, 300) as u32,
            )?;
        }
    }
    for (u, r) in &open_lots {
        if *u == LotUse::Commercial {
            for _ in 0..ui(&mut rng, 2, 5) {
                let p = f.point(uf(&mut rng, r.x0, r.x1), r.y0 + 8.0);
                let name = names::enterprise(&mut rng, false);
                org(
                    &mut batch,
                    name,
                    OrganisationKind::Enterprise,
                    Geometry::Point(p),
                    None,
                    Vec::new(),
                    ui(&mut rng, 2, 15) as u32,
                )?;
            }
        }
    }

    // Events, planted hotspots, sentiment.
    let m_per_deg_lon = f.m_per_deg_lon();
    let mut maker = EventMaker {
        period: *period,
        anchors: &anchors,
        households: &occupied,
        next_id: &mut ids.event,
        m_per_deg_lon,
    };
    let (mut evs, groups) = maker.background(&mut rng)?;
    for h in plan.hotspots.iter().filter(|h| h.community == c.index) {
        let p = f.point(h.x, h.y);
        let Ok(ll) = h3o::LatLng::new(p.y(), p.x()) else {
            continue;
        };
        let cell = ll.to_cell(h3o::Resolution::Nine);
        let centre_ll = h3o::LatLng::from(cell);
        let centre = Point::new(centre_ll.lng(), centre_ll.lat());
        let anchor = anchors
            .iter()
            .min_by(|a, b| {
                let da =
                    (a.location.x() - centre.x()).powi(2) + (a.location.y() - centre.y()).powi(2);
                let db =
                    (b.location.x() - centre.x()).powi(2) + (b.location.y() - centre.y()).powi(2);
                da.total_cmp(&db)
            })
            .cloned()
            .unwrap_or(Anchor {
                location: centre,
                weight: 0.0,
                kind: AnchorKind::Mid,
                label: short.clone(),
                households: (0, 0),
            });
        maker.hotspot(
            &mut rng, cell, centre, h.category, &h.weeks, h.per_week, &anchor, &mut evs,
        )?;
        summary.planted.hotspots.push(PlantedHotspot {
            community: cid,
            h3_res9: u64::from(cell),
            centre,
            category: h.category.code().to_string(),
            week_starts: h
                .weeks
                .iter()
                .map(|w| period.week_zero() + chrono::Duration::days(i64::from(*w) * 7))
                .collect(),
            extra_per_week: h.per_week,
        });
    }
    summary.planted.duplicates.extend(groups);
    batch.sentiments = events::sentiments(&mut rng, period, &views, &evs, &mut ids.sentiment)?;
    batch.events = evs;

    // 15-minute coverage truth (street distance on the grid ≈ Manhattan).
    for kind in [
        ServiceKind::ElderlyCanteen,
        ServiceKind::DayCare,
        ServiceKind::Clinic,
        ServiceKind::School,
        ServiceKind::Kindergarten,
        ServiceKind::PartyServiceCentre,
        ServiceKind::Market,
        ServiceKind::Park,
    ] {
        let sites: Vec<(f64, f64)> = state
            .services
            .iter()
            .filter(|s| s.0 == kind)
            .map(|s| (s.1, s.2))
            .collect();
        let covered = hh_xy
            .iter()
            .filter(|(x, y)| {
                sites
                    .iter()
                    .any(|(sx, sy)| (x - sx).abs() + (y - sy).abs() <= WALK_15MIN_M)
            })
            .count() as u64;
        summary.planted.coverage.push(ServiceCoverage {
            community: cid,
            service: kind,
            households: hh_xy.len() as u64,
            covered,
        });
    }
    Ok(batch)
}
