//! Timings of the governance analytics on seeded synthetic inputs of named
//! sizes. Run: `cargo bench -p analytics --bench analytics`.
//!
//! | case | input |
//! |---|---|
//! | indicators | one year of 30,000 events in 87 grids / 12 communities |
//! | hotspots | 1,000,000 point events over 52 weeks, H3 res 9, 28 categories (also on 40,000 repeated coordinates, and pre-binned to cells) |
//! | coverage | 50,000 households on a 61 × 61 street grid (80 m blocks), 6 service kinds |

use std::collections::HashMap;
use std::time::{Duration as StdDuration, Instant};

use analytics::coverage::{coverage_on, CoverageParams, Origin, WalkGraph};
use analytics::hotspots::{detect, detect_all_weeks, HotspotInput, HotspotParams, Location, Week};
use analytics::indicators::{indicators, AreaKey, AreaLevel, AreaSize, IndicatorInput, Window};
use chrono::{DateTime, Duration, TimeZone, Utc};
use geo_core::ids::{BuildingId, CommunityId, EventId, GridId, PlaceId, RoadId};
use geo_core::model::{
    Event, EventSource, EventStatus, Grade, GridRefs, Place, PlaceCategory, Road, RoadClass,
    ServiceKind,
};
use geo_core::taxonomy::EventCategory;
use geo_types::{Geometry, LineString, Point};

/// SplitMix64.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn time<T>(f: impl FnOnce() -> T) -> (T, StdDuration) {
    let t = Instant::now();
    let out = f();
    (out, t.elapsed())
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_default()
}

fn id<T: TryFrom<u64>>(raw: u64) -> T
where
    T::Error: std::fmt::Debug,
{
    T::try_from(raw).unwrap_or_else(|e| panic!("bench id {raw}: {e:?}"))
}

fn bench_indicators(rng: &mut Rng) -> (String, StdDuration) {
    let n = 30_000;
    let cats: Vec<EventCategory> = EventCategory::all().collect();
    let t0 = start();
    let mut events = Vec::with_capacity(n);
    let mut refs = Vec::with_capacity(n);
    for i in 0..n {
        let at = t0 + Duration::seconds(rng.below(365 * 86_400) as i64);
        let handled_h = 1 + rng.below(96) as i64;
        let grid = 1 + rng.below(87);
        let resolved = rng.unit() < 0.9;
        events.push(Event {
            id: id::<EventId>(i as u64 + 1),
            category: cats[rng.below(cats.len() as u64) as usize],
            title: String::new(),
            location: Point::new(116.0, 39.0),
            reported_at: at,
            source: EventSource::ALL[rng.below(4) as usize],
            status: if resolved {
                EventStatus::Closed
            } else {
                EventStatus::InProgress
            },
            grade: Grade::General,
            deadline: Some(at + Duration::hours(48)),
            handler: Some(
                if rng.unit() < 0.7 {
                    "grid"
                } else {
                    "community"
                }
                .into(),
            ),
            resolved_at: resolved.then(|| at + Duration::hours(handled_h)),
            satisfaction: resolved.then(|| 1 + rng.below(5) as u8),
            master: None,
            reporter_household: None,
        });
        refs.push(GridRefs {
            community: Some(id::<CommunityId>(1 + (grid - 1) % 12)),
            comprehensive: Some(id::<GridId>(grid)),
            micro: None,
            dedicated: None,
        });
    }
    let mut sizes = HashMap::new();
    for g in 1..=87 {
        sizes.insert(
            AreaKey {
                level: AreaLevel::Comprehensive,
                id: g,
            },
            AreaSize {
                households: 400,
                persons: 1_100,
                grid_workers: 2,
            },
        );
    }
    let input = IndicatorInput {
        events: &events,
        refs: &refs,
        sizes: &sizes,
        reopened: None,
        workers: None,
    };
    let year = Window {
        from: t0,
        to: t0 + Duration::days(365),
    };
    let (rep, d) = time(|| indicators(&input, year));
    let rows = rep.map(|r| r.rows.len()).unwrap_or(0);
    (format!("30,000 events, 1 year → {rows} area rows"), d)
}

fn hotspot_events(rng: &mut Rng, n: usize) -> Vec<HotspotInput> {
    let cats: Vec<EventCategory> = EventCategory::all().collect();
    let t0 = start();
    (0..n)
        .map(|_| {
            // a 10 km town around (116.40, 39.90), denser in the centre
            let r = rng.unit().sqrt() * 0.05;
            let a = rng.unit() * std::f64::consts::TAU;
            HotspotInput {
                location: Location::Point(Point::new(116.40 + r * a.cos(), 39.90 + r * a.sin())),
                time: t0 + Duration::seconds(rng.below(364 * 86_400) as i64),
                category: cats[rng.below(cats.len() as u64) as usize],
            }
        })
        .collect()
}

fn street_grid(n: usize, block_m: f64) -> Vec<Road> {
    let dlat = block_m / 111_195.0;
    let dlon = dlat / 39.9_f64.to_radians().cos();
    let (lon0, lat0) = (116.40, 39.90);
    let mut roads = Vec::new();
    for i in 0..n {
        let h: LineString<f64> = (0..n)
            .map(|j| (lon0 + j as f64 * dlon, lat0 + i as f64 * dlat))
            .collect::<Vec<_>>()
            .into();
        let v: LineString<f64> = (0..n)
            .map(|j| (lon0 + i as f64 * dlon, lat0 + j as f64 * dlat))
            .collect::<Vec<_>>()
            .into();
        for line in [h, v] {
            roads.push(Road {
                id: id::<RoadId>(roads.len() as u64 + 1),
                name: None,
                class: RoadClass::Local,
                line,
            });
        }
    }
    roads
}

fn main() {
    let mut rng = Rng(20_240_501);
    let mut table: Vec<(&str, String, StdDuration)> = Vec::new();

    let (what, d) = bench_indicators(&mut rng);
    table.push(("indicators", what, d));

    let events = hotspot_events(&mut rng, 1_000_000);
    let params = HotspotParams::default();
    let (all, d) = time(|| detect_all_weeks(&events, &params));
    let flagged = all.map(|v| v.len()).unwrap_or(0);
    table.push((
        "hotspots all weeks",
        format!("1,000,000 points, 52 weeks → {flagged} flagged"),
        d,
    ));
    // Incident files repeat coordinates (SF 2003–2015: street corners).
    let spots: Vec<Location> = events.iter().take(40_000).map(|e| e.location).collect();
    let repeated: Vec<HotspotInput> = events
        .iter()
        .map(|e| HotspotInput {
            location: spots[rng.below(spots.len() as u64) as usize],
            ..*e
        })
        .collect();
    let (all, d) = time(|| detect_all_weeks(&repeated, &params));
    let flagged = all.map(|v| v.len()).unwrap_or(0);
    table.push((
        "hotspots all weeks, repeated points",
        format!("1,000,000 points on 40,000 coordinates → {flagged} flagged"),
        d,
    ));
    let cells: Vec<HotspotInput> = events
        .iter()
        .map(|e| {
            let Location::Point(p) = e.location else {
                return *e;
            };
            let cell = h3o::LatLng::new(p.y(), p.x())
                .map(|ll| ll.to_cell(params.resolution))
                .unwrap_or_else(|err| panic!("bench point {p:?}: {err}"));
            HotspotInput {
                location: Location::Cell(cell),
                ..*e
            }
        })
        .collect();
    let (all, d) = time(|| detect_all_weeks(&cells, &params));
    let flagged = all.map(|v| v.len()).unwrap_or(0);
    table.push((
        "hotspots all weeks, pre-binned",
        format!("1,000,000 H3 cells, 52 weeks → {flagged} flagged"),
        d,
    ));
    let last = Week::of(start() + Duration::days(360), params.utc_offset_h);
    let (one, d) = time(|| detect(&events, last, &params));
    let flagged = one.map(|v| v.len()).unwrap_or(0);
    table.push((
        "hotspots one week",
        format!("1,000,000 points → {flagged} flagged"),
        d,
    ));

    let cparams = CoverageParams::default();
    let roads = street_grid(61, 80.0);
    let (graph, d_build) = time(|| WalkGraph::build(&roads, &cparams));
    let span = 60.0 * 80.0;
    let dlat = 1.0 / 111_195.0;
    let dlon = dlat / 39.9_f64.to_radians().cos();
    let kinds = [
        ServiceKind::ElderlyCanteen,
        ServiceKind::DayCare,
        ServiceKind::Clinic,
        ServiceKind::School,
        ServiceKind::Market,
        ServiceKind::Park,
    ];
    let places: Vec<Place> = (0..60)
        .map(|i| Place {
            id: id::<PlaceId>(i + 1),
            name: String::new(),
            category: PlaceCategory::Facility,
            service: Some(kinds[i as usize % kinds.len()]),
            geometry: Geometry::Point(Point::new(
                116.40 + rng.unit() * span * dlon,
                39.90 + rng.unit() * span * dlat,
            )),
        })
        .collect();
    let origins: Vec<Origin> = (0..50_000)
        .map(|i| Origin {
            building: id::<BuildingId>(i + 1),
            location: Point::new(
                116.40 + rng.unit() * span * dlon,
                39.90 + rng.unit() * span * dlat,
            ),
            grid: Some(id::<GridId>(1 + i % 87)),
            households: 1,
            elderly_alone: u32::from(rng.unit() < 0.05),
            tagged: [0; analytics::coverage::TAGS],
        })
        .collect();
    let (rep, d) = time(|| coverage_on(&graph, &places, &origins, &cparams));
    table.push((
        "coverage graph",
        format!(
            "61 × 61 streets → {} nodes, {} edges",
            graph.node_count(),
            graph.edge_count()
        ),
        d_build,
    ));
    table.push((
        "coverage",
        format!("50,000 households × 6 kinds → {} grid rows", rep.rows.len()),
        d,
    ));
    table.push(("coverage total", "graph + coverage".into(), d + d_build));

    println!("| case | input | ms |");
    println!("|---|---|---:|");
    for (name, what, d) in table {
        println!("| {name} | {what} | {:.1} |", d.as_secs_f64() * 1e3);
    }
}
