//! The plan of one town, made before any batch is written: community
//! rectangles, the street grid, lots and their use, facilities, service
//! points (with the planted 15-minute gaps), roads with their junctions, and
//! the planted event hotspots. Everything a community batch needs from its
//! neighbours is decided here, so communities can then be generated (and
//! dropped) one at a time.

use geo_core::ids::DivisionCode;
use geo_core::model::{CompoundEra, RoadClass, ServiceKind};
use geo_core::taxonomy::EventCategory;

use super::frame::{Frame, Rect};
use super::names;
use super::rng::{chance, pick, stream, uf, ui, weighted, DemoRng};
use super::ScaleSpec;
use geo_core::IdError;

/// A facility occupying a whole lot; each gets a dedicated grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Facility {
    PrimarySchool,
    MiddleSchool,
    Kindergarten,
    Hospital,
    HealthCentre,
    Market,
    Park,
    Government,
    PoliceStation,
    IndustrialPlant,
    BusinessStreet,
    BusStation,
}

impl Facility {
    pub fn service(self) -> Option<ServiceKind> {
        Some(match self {
            Self::PrimarySchool | Self::MiddleSchool => ServiceKind::School,
            Self::Kindergarten => ServiceKind::Kindergarten,
            Self::Hospital => ServiceKind::Hospital,
            Self::HealthCentre => ServiceKind::Clinic,
            Self::Market => ServiceKind::Market,
            Self::Park => ServiceKind::Park,
            Self::Government => ServiceKind::Government,
            Self::IndustrialPlant => ServiceKind::IndustrialPark,
            Self::PoliceStation | Self::BusinessStreet | Self::BusStation => return None,
        })
    }
    pub fn label(self) -> &'static str {
        match self {
            Self::PrimarySchool => "实验小学",
            Self::MiddleSchool => "第二中学",
            Self::Kindergarten => "幼儿园",
            Self::Hospital => "人民医院",
            Self::HealthCentre => "社区卫生服务中心",
            Self::Market => "农贸市场",
            Self::Park => "公园",
            Self::Government => "镇政府",
            Self::PoliceStation => "派出所",
            Self::IndustrialPlant => "工业园",
            Self::BusinessStreet => "商业街",
            Self::BusStation => "汽车站",
        }
    }
}

/// What a lot holds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum LotUse {
    Housing(CompoundEra),
    Facility(Facility),
    Commercial,
    Green,
    Farmland,
    Vacant,
}

/// A lot: one cell of a community's street grid.
#[derive(Debug, Clone)]
pub(crate) struct Lot {
    pub rect: Rect,
    pub usage: LotUse,
}

/// The plan of one community or village.
#[derive(Debug, Clone)]
pub(crate) struct CommunityPlan {
    pub index: usize,
    pub code: DivisionCode,
    pub name: String,
    pub village: bool,
    pub rect: Rect,
    pub target_dwellings: f64,
    pub comprehensive: u32,
    pub lots: Vec<Lot>,
}

/// A service point (a place with a service) anywhere in the town.
#[derive(Debug, Clone)]
pub(crate) struct ServicePoint {
    pub community: usize,
    pub kind: ServiceKind,
    pub x: f64,
    pub y: f64,
    pub name: String,
    /// True for points that are not a facility lot (those are emitted with their lot).
    pub poi: bool,
}

/// A road of the plan.
#[derive(Debug, Clone)]
pub(crate) struct PlannedRoad {
    pub class: RoadClass,
    pub name: Option<String>,
    /// Community whose batch carries it (`None`: the town batch).
    pub community: Option<usize>,
    pub vertical: bool,
    /// Fixed coordinate (x for vertical, y for horizontal) and span.
    pub at: f64,
    pub from: f64,
    pub to: f64,
    /// Junction positions along the span (filled by `junctions`).
    pub stops: Vec<f64>,
}

impl PlannedRoad {
    pub fn points(&self) -> Vec<(f64, f64)> {
        let mut t = Vec::with_capacity(self.stops.len() + 2);
        t.push(self.from);
        t.extend(
            self.stops
                .iter()
                .copied()
                .filter(|s| *s > self.from && *s < self.to),
        );
        t.push(self.to);
        t.dedup();
        t.iter()
            .map(|&s| {
                if self.vertical {
                    (self.at, s)
                } else {
                    (s, self.at)
                }
            })
            .collect()
    }
}

/// A planted emerging hotspot.
#[derive(Debug, Clone)]
pub(crate) struct HotspotPlan {
    pub community: usize,
    pub x: f64,
    pub y: f64,
    pub category: EventCategory,
    /// Week indices (0 = the week starting 2025-11-03).
    pub weeks: Vec<u32>,
    pub per_week: u32,
}

/// The plan of one town.
#[derive(Debug, Clone)]
pub(crate) struct TownPlan {
    pub index: usize,
    pub code: DivisionCode,
    pub county: &'static str,
    pub name: String,
    pub frame: Frame,
    pub extent: Rect,
    pub communities: Vec<CommunityPlan>,
    pub roads: Vec<PlannedRoad>,
    pub services: Vec<ServicePoint>,
    pub hotspots: Vec<HotspotPlan>,
    pub canteen_gaps: Vec<usize>,
    /// Range of the dwellings a micro-grid is cut for.
    pub micro_households: (f64, f64),
}

/// Dezhou's counties (Shandong); the demo town is in 禹城市 371482.
pub(crate) const COUNTIES: &[&str] = &[
    "371482", "371402", "371403", "371422", "371423", "371424", "371425", "371426", "371427",
    "371428", "371481",
];

/// Weight of a village against an urban community when sharing out a
/// town's dwellings (before the area factor).
const VILLAGE_WEIGHT: f64 = 0.08;

/// Rough dwellings per m² of lot for each use (to decide how many lots to build).
fn density(era: CompoundEra) -> f64 {
    match era {
        CompoundEra::Walkup1980s => 0.022,
        CompoundEra::Midrise2000s => 0.016,
        CompoundEra::Highrise2010s => 0.05,
        CompoundEra::Villa => 0.003,
        CompoundEra::UrbanVillage => 0.035,
        CompoundEra::Other => 0.0035,
    }
}

fn div(code: &str) -> Result<DivisionCode, IdError> {
    DivisionCode::parse(code)
}

/// Splits `[lo, hi]` into pieces of about `step` metres with jittered cuts.
fn cuts(rng: &mut DemoRng, lo: f64, hi: f64, step: f64) -> Vec<f64> {
    let n = ((hi - lo) / step).round().max(1.0) as usize;
    let w = (hi - lo) / n as f64;
    (1..n)
        .map(|i| (lo + w * i as f64 + uf(rng, -0.12, 0.12) * w).round())
        .collect()
}

/// Builds the plan of town `index` of a run.
pub(crate) fn plan_town(spec: &ScaleSpec, seed: u64, index: usize) -> Result<TownPlan, IdError> {
    let mut rng = stream(seed, &[index as u64, u64::MAX]);
    let county = COUNTIES[index % COUNTIES.len()];
    let town_no = 100 + index / COUNTIES.len();
    let code = div(&format!("{county}{town_no:03}000"))?;
    let name = names::town_name(index);

    // Community rectangles: an urban array, villages in bands around it.
    let n = spec.urban;
    let (cols, rows) = match n {
        0 | 1 => (1usize, 1usize),
        _ => {
            let c = ((n as f64 * 1.3).sqrt()).ceil() as usize;
            (c, n.div_ceil(c))
        }
    };
    let cell = spec.community_side_m;
    let widths: Vec<f64> = (0..cols)
        .map(|_| (cell * uf(&mut rng, 0.85, 1.15)).round())
        .collect();
    let heights: Vec<f64> = (0..rows)
        .map(|_| (cell * spec.community_aspect * uf(&mut rng, 0.85, 1.15)).round())
        .collect();
    let band = if spec.villages > 0 { 2500.0 } else { 0.0 };
    let core_w: f64 = widths.iter().sum();
    let core_h: f64 = heights.iter().sum();
    let mut rects: Vec<(Rect, bool)> = Vec::new();
    let mut y = band;
    'outer: for h in &heights {
        let mut x = 0.0;
        for w in &widths {
            if rects.len() == n {
                break 'outer;
            }
            rects.push((Rect::new(x, y, x + w, y + h), false));
            x += w;
        }
        y += h;
    }
    // With an incomplete last row, stretch its last community to the edge.
    if let Some((last, _)) = rects.last_mut() {
        last.x1 = core_w;
    }
    if spec.villages > 0 {
        let per_band = spec.villages / 3;
        let right = spec.villages - 2 * per_band;
        for (b, y0) in [(0usize, 0.0), (1, band + core_h)] {
            let _ = b;
            let w = core_w / per_band as f64;
            for i in 0..per_band {
                let x0 = (w * i as f64).round();
                let x1 = if i + 1 == per_band {
                    core_w
                } else {
                    (w * (i + 1) as f64).round()
                };
                rects.push((Rect::new(x0, y0, x1, y0 + band), true));
            }
        }
        let total_h = core_h + 2.0 * band;
        let h = total_h / right as f64;
        for i in 0..right {
            let y0 = (h * i as f64).round();
            let y1 = if i + 1 == right {
                total_h
            } else {
                (h * (i + 1) as f64).round()
            };
            rects.push((Rect::new(core_w, y0, core_w + band, y1), true));
        }
    }
    let extent = Rect::new(0.0, 0.0, core_w + band, core_h + 2.0 * band);

    // Residents and grid quotas per community.
    let weights: Vec<f64> = rects
        .iter()
        .map(|(r, v)| {
            // A village's cluster of about 600 m holds ~650 dwellings: its
            // weight keeps the target below that, so thinning rather than
            // lack of room sets its size and the scale's residents are met.
            let w = if *v {
                VILLAGE_WEIGHT * uf(&mut rng, 0.7, 1.3)
            } else {
                uf(&mut rng, 0.6, 1.4)
            };
            w * (r.w() * r.h() / (cell * cell * spec.community_aspect))
                .sqrt()
                .min(1.6)
        })
        .collect();
    let wsum: f64 = weights.iter().sum();
    let dwellings = spec.residents_per_town * super::DWELLINGS_PER_RESIDENT;
    let targets: Vec<f64> = weights.iter().map(|w| dwellings * w / wsum).collect();
    let comp_quota = largest_remainder(spec.comprehensive, &targets, 1);
    let urban_idx: Vec<usize> = (0..rects.len()).filter(|i| !rects[*i].1).collect();
    let mut ded_quota = vec![0u32; rects.len()];
    {
        let flat = vec![1.0; urban_idx.len()];
        let q = largest_remainder(spec.dedicated, &flat, 0);
        for (k, i) in urban_idx.iter().enumerate() {
            ded_quota[*i] = q[k];
        }
    }

    let centre = (extent.cx(), band + core_h / 2.0);
    let max_d = (core_w.powi(2) + core_h.powi(2)).sqrt() / 2.0 + 1.0;

    // Town-wide facilities placed once, in the community nearest the centre
    // (hospital, government) or on the edge (industrial park, bus station).
    let nearest_centre = urban_idx
        .iter()
        .copied()
        .min_by(|a, b| {
            let da = dist(rects[*a].0.cx(), rects[*a].0.cy(), centre.0, centre.1);
            let db = dist(rects[*b].0.cx(), rects[*b].0.cy(), centre.0, centre.1);
            da.total_cmp(&db)
        })
        .unwrap_or(0);
    let edge_comm = urban_idx
        .iter()
        .copied()
        .max_by(|a, b| {
            rects[*a]
                .0
                .cx()
                .total_cmp(&rects[*b].0.cx())
                .then(rects[*b].0.cy().total_cmp(&rects[*a].0.cy()))
        })
        .unwrap_or(0);

    let mut communities = Vec::with_capacity(rects.len());
    let mut village_no = 0usize;
    let mut urban_no = 0usize;
    for (i, (r, village)) in rects.iter().enumerate() {
        let seq = if *village {
            village_no += 1;
            200 + village_no
        } else {
            urban_no += 1;
            urban_no
        };
        let ccode = div(&format!("{}{seq:03}", code.town_prefix()))?;
        let cname = if spec.urban == 1 && !village {
            "武汉路社区".to_string()
        } else {
            names::community_name(&mut rng, i + index * 3 + 1, *village)
        };
        // Era mix: old in the centre, towers and urban villages at the edge.
        let d = dist(r.cx(), r.cy(), centre.0, centre.1) / max_d;
        let era_w = if *village {
            vec![0.0, 0.0, 0.0, 0.0, 0.0, 1.0]
        } else if spec.walkup_share > 0.0 {
            let s = spec.walkup_share;
            vec![
                s,
                (1.0 - s) * 0.5,
                (1.0 - s) * 0.3,
                0.0,
                (1.0 - s) * 0.2,
                0.0,
            ]
        } else {
            vec![
                0.1 + 0.45 * (1.0 - d),
                0.3,
                0.1 + 0.4 * d,
                0.05,
                0.04 + 0.14 * d,
                0.0,
            ]
        };
        let mut facilities: Vec<Facility> = Vec::new();
        if !village {
            let q = ded_quota[i] as usize;
            let mut want = vec![Facility::PrimarySchool, Facility::Kindergarten];
            if i == nearest_centre {
                want.extend([
                    Facility::Government,
                    Facility::Hospital,
                    Facility::Market,
                    Facility::PoliceStation,
                ]);
            }
            if i == edge_comm && spec.urban > 1 {
                want.extend([
                    Facility::IndustrialPlant,
                    Facility::IndustrialPlant,
                    Facility::IndustrialPlant,
                    Facility::BusStation,
                ]);
            }
            let extra = [
                Facility::Market,
                Facility::Park,
                Facility::MiddleSchool,
                Facility::BusinessStreet,
                Facility::Kindergarten,
                Facility::HealthCentre,
                Facility::Park,
                Facility::BusinessStreet,
            ];
            while want.len() < q {
                want.push(pick(&mut rng, &extra));
            }
            want.truncate(q);
            facilities = want;
        }
        let lots = plan_lots(&mut rng, r, *village, &facilities, targets[i], &era_w);
        communities.push(CommunityPlan {
            index: i,
            code: ccode,
            name: cname,
            village: *village,
            rect: *r,
            target_dwellings: targets[i],
            comprehensive: comp_quota[i],
            lots,
        });
    }

    let canteen_gaps = choose_gaps(&mut rng, &communities, &extent);
    let services = plan_services(&mut rng, &communities, &canteen_gaps);
    let roads = plan_roads(&communities, &extent, index);
    let hotspots = plan_hotspots(&mut rng, &communities, spec.hotspots_per_town);

    // Province runs put towns side by side on a 6 km lattice around Yucheng.
    let (lon_c, lat_c) = if spec.towns > 1 {
        let per_row = 12;
        let (gx, gy) = ((index % per_row) as f64, (index / per_row) as f64);
        (
            116.30 + gx * (extent.w() + 1500.0) / 88_900.0,
            36.75 + gy * (extent.h() + 1500.0) / 110_950.0,
        )
    } else {
        (116.64, 36.93)
    };
    let rot = uf(&mut rng, 3.0, 11.0);
    let frame = Frame::new(lon_c, lat_c, extent.cx(), extent.cy(), rot);
    Ok(TownPlan {
        index,
        code,
        county,
        name,
        frame,
        extent,
        communities,
        roads,
        services,
        hotspots,
        canteen_gaps,
        micro_households: spec.micro_households,
    })
}

pub(crate) fn dist(ax: f64, ay: f64, bx: f64, by: f64) -> f64 {
    ((ax - bx).powi(2) + (ay - by).powi(2)).sqrt()
}

/// Distributes `total` over `weights` (largest remainder), at least `min` each.
fn largest_remainder(total: u32, weights: &[f64], min: u32) -> Vec<u32> {
    if weights.is_empty() {
        return Vec::new();
    }
    let sum: f64 = weights.iter().sum::<f64>().max(1e-9);
    let exact: Vec<f64> = weights.iter().map(|w| f64::from(total) * w / sum).collect();
    let mut out: Vec<u32> = exact.iter().map(|e| e.floor() as u32).collect();
    let mut rest = total.saturating_sub(out.iter().sum());
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|a, b| {
        (exact[*b] - exact[*b].floor()).total_cmp(&(exact[*a] - exact[*a].floor()))
    });
    for i in order.iter().cycle().take(weights.len() * 2) {
        if rest == 0 {
            break;
        }
        out[*i] += 1;
        rest -= 1;
    }
    for o in &mut out {
        *o = (*o).max(min);
    }
    out
}

/// Street lines of a community: (position, class) including both edges.
pub(crate) fn lines(r: &Rect, village: bool, vertical: bool) -> Vec<(f64, RoadClass)> {
    let (lo, hi) = if vertical { (r.x0, r.x1) } else { (r.y0, r.y1) };
    let mut rng = stream(
        lo.to_bits() ^ hi.to_bits().rotate_left(17),
        &[u64::from(vertical)],
    );
    let mut out = vec![(lo, RoadClass::Arterial)];
    if village {
        // A cluster of about 600 m in the middle, cut by lanes; fields around.
        let mid = (lo + hi) / 2.0;
        let (c0, c1) = ((mid - 300.0).round(), (mid + 300.0).round());
        out.push((c0, RoadClass::Local));
        for c in cuts(&mut rng, c0, c1, 150.0) {
            out.push((c, RoadClass::Alley));
        }
        out.push((c1, RoadClass::Local));
    } else {
        let streets = cuts(&mut rng, lo, hi, 330.0);
        let mut edges = vec![lo];
        edges.extend(streets.iter().copied());
        edges.push(hi);
        for (k, pair) in edges.windows(2).enumerate() {
            if k > 0 {
                out.push((pair[0], RoadClass::Local));
            }
            if pair[1] - pair[0] > 220.0 {
                let lane = ((pair[0] + pair[1]) / 2.0 + uf(&mut rng, -20.0, 20.0)).round();
                out.push((lane, RoadClass::Alley));
            }
        }
    }
    out.push((hi, RoadClass::Arterial));
    out
}

fn plan_lots(
    rng: &mut DemoRng,
    r: &Rect,
    village: bool,
    facilities: &[Facility],
    target: f64,
    era_w: &[f64],
) -> Vec<Lot> {
    const ERAS: [CompoundEra; 6] = [
        CompoundEra::Walkup1980s,
        CompoundEra::Midrise2000s,
        CompoundEra::Highrise2010s,
        CompoundEra::Villa,
        CompoundEra::UrbanVillage,
        CompoundEra::Other,
    ];
    let xs = lines(r, village, true);
    let ys = lines(r, village, false);
    let mut lots = Vec::new();
    for xw in xs.windows(2) {
        for yw in ys.windows(2) {
            let rect = Rect::new(xw[0].0, yw[0].0, xw[1].0, yw[1].0);
            lots.push(Lot {
                rect,
                usage: LotUse::Vacant,
            });
        }
    }
    if village {
        let mid = (r.cx(), r.cy());
        for lot in &mut lots {
            let inside =
                (lot.rect.cx() - mid.0).abs() < 300.0 && (lot.rect.cy() - mid.1).abs() < 300.0;
            lot.usage = if inside {
                LotUse::Housing(CompoundEra::Other)
            } else {
                LotUse::Farmland
            };
        }
        return lots;
    }
    // Shuffle the order in which lots are given a use.
    let mut order: Vec<usize> = (0..lots.len()).collect();
    for i in (1..order.len()).rev() {
        let j = ui(rng, 0, i as i64) as usize;
        order.swap(i, j);
    }
    let mut it = order.into_iter();
    for f in facilities {
        if let Some(i) = it.next() {
            lots[i].usage = LotUse::Facility(*f);
        }
    }
    let mut capacity = 0.0;
    let mut rest = Vec::new();
    for i in it {
        if capacity < target * 1.15 {
            let era = ERAS[weighted(rng, era_w)];
            lots[i].usage = LotUse::Housing(era);
            let a = lots[i].rect.inset(12.0);
            capacity += density(era) * a.w() * a.h();
        } else {
            rest.push(i);
        }
    }
    for i in rest {
        lots[i].usage = match weighted(rng, &[0.3, 0.2, 0.5]) {
            0 => LotUse::Commercial,
            1 => LotUse::Green,
            _ => LotUse::Vacant,
        };
    }
    lots
}

/// Picks the communities planted without an elderly canteen within reach:
/// about one in five urban communities, on the town's edge, not adjacent.
fn choose_gaps(rng: &mut DemoRng, communities: &[CommunityPlan], extent: &Rect) -> Vec<usize> {
    let urban: Vec<&CommunityPlan> = communities.iter().filter(|c| !c.village).collect();
    if urban.len() < 4 {
        return Vec::new();
    }
    let want = (urban.len() as f64 * 0.2).round().max(1.0) as usize;
    let core_x1 = urban.iter().map(|c| c.rect.x1).fold(0.0, f64::max);
    let core_y0 = urban.iter().map(|c| c.rect.y0).fold(f64::MAX, f64::min);
    let core_y1 = urban.iter().map(|c| c.rect.y1).fold(0.0, f64::max);
    let _ = extent;
    let mut edge: Vec<usize> = urban
        .iter()
        .filter(|c| {
            c.rect.x0 <= 0.0 || c.rect.x1 >= core_x1 || c.rect.y0 <= core_y0 || c.rect.y1 >= core_y1
        })
        .map(|c| c.index)
        .collect();
    for i in (1..edge.len()).rev() {
        let j = ui(rng, 0, i as i64) as usize;
        edge.swap(i, j);
    }
    let mut out: Vec<usize> = Vec::new();
    for i in edge {
        if out.len() == want {
            break;
        }
        if out
            .iter()
            .all(|&o| !touches(&communities[o].rect, &communities[i].rect))
        {
            out.push(i);
        }
    }
    out.sort_unstable();
    out
}

fn touches(a: &Rect, b: &Rect) -> bool {
    a.x0 <= b.x1 + 1.0 && b.x0 <= a.x1 + 1.0 && a.y0 <= b.y1 + 1.0 && b.y0 <= a.y1 + 1.0
}

fn plan_services(
    rng: &mut DemoRng,
    communities: &[CommunityPlan],
    gaps: &[usize],
) -> Vec<ServicePoint> {
    let mut out = Vec::new();
    for c in communities {
        for lot in &c.lots {
            if let LotUse::Facility(f) = lot.usage {
                if let Some(kind) = f.service() {
                    out.push(ServicePoint {
                        community: c.index,
                        kind,
                        x: lot.rect.cx(),
                        y: lot.rect.cy(),
                        name: format!("{}{}", c.name.trim_end_matches("社区"), f.label()),
                        poi: false,
                    });
                }
            }
        }
        let built: Vec<&Lot> = c
            .lots
            .iter()
            .filter(|l| matches!(l.usage, LotUse::Housing(_) | LotUse::Commercial))
            .collect();
        if built.is_empty() {
            continue;
        }
        // A point on the south edge of a lot, by its gate.
        let at =
            |l: &Lot, rng: &mut DemoRng| (l.rect.cx() + uf(rng, -30.0, 30.0), l.rect.y0 + 16.0);
        let short = c
            .name
            .trim_end_matches("社区")
            .trim_end_matches('村')
            .to_string();
        let mut push = |kind: ServiceKind, lot: &Lot, name: String, rng: &mut DemoRng| {
            let (x, y) = at(lot, rng);
            out.push(ServicePoint {
                community: c.index,
                kind,
                x,
                y,
                name,
                poi: true,
            });
        };
        push(
            ServiceKind::PartyServiceCentre,
            pick(rng, &built),
            format!("{short}党群服务中心"),
            rng,
        );
        if chance(rng, if c.village { 0.7 } else { 0.85 }) {
            push(
                ServiceKind::Clinic,
                pick(rng, &built),
                format!("{short}卫生室"),
                rng,
            );
        }
        if chance(rng, if c.village { 0.3 } else { 0.6 }) {
            push(
                ServiceKind::DayCare,
                pick(rng, &built),
                format!("{short}日间照料中心"),
                rng,
            );
        }
        if gaps.contains(&c.index) || (c.village && !chance(rng, 0.4)) {
            continue;
        }
        // Neighbours of a gap put their canteen on their far side.
        let near_gap: Vec<&Rect> = gaps
            .iter()
            .map(|g| &communities[*g].rect)
            .filter(|g| touches(g, &c.rect))
            .collect();
        let lot = if !near_gap.is_empty() {
            built
                .iter()
                .max_by(|a, b| {
                    let da = near_gap
                        .iter()
                        .map(|g| dist(a.rect.cx(), a.rect.cy(), g.cx(), g.cy()))
                        .fold(f64::MAX, f64::min);
                    let db = near_gap
                        .iter()
                        .map(|g| dist(b.rect.cx(), b.rect.cy(), g.cx(), g.cy()))
                        .fold(f64::MAX, f64::min);
                    da.total_cmp(&db)
                })
                .copied()
        } else if communities.len() == 1 {
            // A single community: the canteen sits in a corner, leaving the far side uncovered.
            built
                .iter()
                .max_by(|a, b| {
                    dist(a.rect.cx(), a.rect.cy(), c.rect.cx(), c.rect.cy()).total_cmp(&dist(
                        b.rect.cx(),
                        b.rect.cy(),
                        c.rect.cx(),
                        c.rect.cy(),
                    ))
                })
                .copied()
        } else {
            Some(pick(rng, &built))
        };
        if let Some(lot) = lot {
            push(
                ServiceKind::ElderlyCanteen,
                lot,
                format!("{short}长者食堂"),
                rng,
            );
        }
    }
    out
}

fn plan_roads(communities: &[CommunityPlan], extent: &Rect, town: usize) -> Vec<PlannedRoad> {
    let mut roads: Vec<PlannedRoad> = Vec::new();
    // Community edges become arterials of the town batch, merged per line.
    for vertical in [true, false] {
        let mut segs: Vec<(f64, f64, f64)> = Vec::new();
        for c in communities {
            let r = &c.rect;
            if vertical {
                segs.push((r.x0, r.y0, r.y1));
                segs.push((r.x1, r.y0, r.y1));
            } else {
                segs.push((r.y0, r.x0, r.x1));
                segs.push((r.y1, r.x0, r.x1));
            }
        }
        segs.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
        let mut merged: Vec<(f64, f64, f64)> = Vec::new();
        for s in segs {
            match merged.last_mut() {
                Some(m) if m.0 == s.0 && s.1 <= m.2 => m.2 = m.2.max(s.2),
                _ => merged.push(s),
            }
        }
        let mut name_no = 0usize;
        let mut last_at = f64::NAN;
        for (at, from, to) in merged {
            if at != last_at {
                name_no += 1;
                last_at = at;
            }
            let outer = if vertical {
                at == 0.0 || at == extent.x1
            } else {
                at == 0.0 || at == extent.y1
            };
            roads.push(PlannedRoad {
                class: if outer {
                    RoadClass::Local
                } else {
                    RoadClass::Arterial
                },
                name: Some(names::street_name(name_no + town * 13, vertical, true)),
                community: None,
                vertical,
                at,
                from,
                to,
                stops: Vec::new(),
            });
        }
    }
    // Streets and lanes inside each community, and urban-village alleys.
    for c in communities {
        for vertical in [true, false] {
            let ls = lines(&c.rect, c.village, vertical);
            let (from, to) = if vertical {
                (c.rect.y0, c.rect.y1)
            } else {
                (c.rect.x0, c.rect.x1)
            };
            for (k, (at, class)) in ls.iter().enumerate() {
                if *class == RoadClass::Arterial {
                    continue;
                }
                let name = match class {
                    RoadClass::Local => Some(names::street_name(
                        c.index * 7 + k + town * 29,
                        vertical,
                        false,
                    )),
                    _ => None,
                };
                roads.push(PlannedRoad {
                    class: *class,
                    name,
                    community: Some(c.index),
                    vertical,
                    at: *at,
                    from,
                    to,
                    stops: Vec::new(),
                });
            }
        }
        for lot in &c.lots {
            if lot.usage == LotUse::Housing(CompoundEra::UrbanVillage) {
                let mut y = lot.rect.y0 + 36.0;
                while y < lot.rect.y1 - 20.0 {
                    roads.push(PlannedRoad {
                        class: RoadClass::Path,
                        name: None,
                        community: Some(c.index),
                        vertical: false,
                        at: y,
                        from: lot.rect.x0,
                        to: lot.rect.x1,
                        stops: Vec::new(),
                    });
                    y += 34.0;
                }
            }
        }
    }
    junctions(&mut roads);
    roads
}

/// Records every crossing or T-junction as a vertex of both roads.
fn junctions(roads: &mut [PlannedRoad]) {
    let n = roads.len();
    let mut stops: Vec<Vec<f64>> = vec![Vec::new(); n];
    for i in 0..n {
        if !roads[i].vertical {
            continue;
        }
        for j in 0..n {
            if roads[j].vertical {
                continue;
            }
            let (v, h) = (&roads[i], &roads[j]);
            if v.at >= h.from && v.at <= h.to && h.at >= v.from && h.at <= v.to {
                stops[i].push(h.at);
                stops[j].push(v.at);
            }
        }
    }
    for (r, mut s) in roads.iter_mut().zip(stops) {
        s.sort_by(f64::total_cmp);
        s.dedup();
        r.stops = s;
    }
}

fn plan_hotspots(
    rng: &mut DemoRng,
    communities: &[CommunityPlan],
    count: usize,
) -> Vec<HotspotPlan> {
    let mut out = Vec::new();
    let cands: Vec<(usize, &Lot)> = communities
        .iter()
        .filter(|c| !c.village)
        .flat_map(|c| c.lots.iter().map(move |l| (c.index, l)))
        .filter(|(_, l)| {
            matches!(
                l.usage,
                LotUse::Housing(CompoundEra::Walkup1980s)
                    | LotUse::Housing(CompoundEra::UrbanVillage)
                    | LotUse::Facility(Facility::Market)
            )
        })
        .collect();
    if cands.is_empty() {
        return out;
    }
    let mut used: Vec<usize> = Vec::new();
    let mut used_lots: Vec<usize> = Vec::new();
    for _ in 0..count * 8 {
        if out.len() == count {
            break;
        }
        let k = ui(rng, 0, cands.len() as i64 - 1) as usize;
        let (ci, lot) = cands[k];
        if used_lots.contains(&k) || (used.contains(&ci) && communities.len() > count) {
            continue;
        }
        used.push(ci);
        used_lots.push(k);
        let codes: &[&str] = match lot.usage {
            LotUse::Facility(_) => &["02.04", "02.02", "08.01"],
            LotUse::Housing(CompoundEra::UrbanVillage) => &["04.04", "02.02", "04.01"],
            _ => &["04.04", "03.02", "02.05", "01.01"],
        };
        let Ok(category) = EventCategory::parse(pick(rng, codes)) else {
            continue;
        };
        let len = ui(rng, 2, 3) as u32;
        let start = ui(rng, 42, 51 - i64::from(len) + 1) as u32;
        out.push(HotspotPlan {
            community: ci,
            x: lot.rect.cx(),
            y: lot.rect.cy(),
            category,
            weeks: (start..start + len).collect(),
            per_week: ui(rng, 10, 18) as u32,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn largest_remainder_sums() {
        let q = largest_remainder(87, &[1.0, 2.0, 1.5, 0.7], 1);
        assert_eq!(q.iter().sum::<u32>(), 87);
        assert!(q[1] > q[3]);
    }

    #[test]
    fn road_points_include_junctions() {
        let r = PlannedRoad {
            class: RoadClass::Local,
            name: None,
            community: None,
            vertical: true,
            at: 5.0,
            from: 0.0,
            to: 10.0,
            stops: vec![0.0, 3.0, 10.0],
        };
        assert_eq!(r.points(), vec![(5.0, 0.0), (5.0, 3.0), (5.0, 10.0)]);
    }
}
