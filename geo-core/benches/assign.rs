//! Point-in-grid throughput: ~2,000 irregular grid polygons (20–60 vertices,
//! shared jittered edges) tiling a town-sized area, 1,000,000 seeded random
//! points. Prints build times, points/s on one thread, and checks that every
//! point got exactly one grid; then times `assign_batch`, the rule intake
//! and imports run, on a town-sized batch (buildings → units → households
//! → persons, events).
//!
//! Run: `cargo bench -p geo-core --bench assign`

use std::time::Instant;

use geo_core::ids::{CommunityId, DivisionCode, GridCode, GridId};
use geo_core::index::{ElementRef, Layer, PreparedArea, SpatialIndex};
use geo_core::model::{Grid, GridKind};
use geo_core::Dataset;
use geo_types::{Coord, LineString, MultiPolygon, Polygon};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rstar::{RTree, RTreeObject, AABB};

const SEED: u64 = 20_240_601;
/// 45 × 45 = 2,025 grids.
const SIDE: usize = 45;
const POINTS: usize = 1_000_000;
/// Town extent: ~9 km × 9 km around Yucheng county, Henan.
const X0: f64 = 115.85;
const Y0: f64 = 34.37;
const W: f64 = 0.098;
const H: f64 = 0.081;

type Rng = StdRng;

/// Jittered lattice corners; the outer ring stays on the rectangle.
fn corners(rng: &mut Rng) -> Vec<Vec<Coord<f64>>> {
    let (dx, dy) = (W / SIDE as f64, H / SIDE as f64);
    (0..=SIDE)
        .map(|j| {
            (0..=SIDE)
                .map(|i| {
                    let mut c = Coord {
                        x: X0 + i as f64 * dx,
                        y: Y0 + j as f64 * dy,
                    };
                    if i > 0 && i < SIDE {
                        c.x += rng.random_range(-0.25..0.25) * dx;
                    }
                    if j > 0 && j < SIDE {
                        c.y += rng.random_range(-0.25..0.25) * dy;
                    }
                    c
                })
                .collect()
        })
        .collect()
}

/// A shared edge from `a` to `b` with 4–14 jittered intermediate points
/// (straight on the outer boundary).
fn edge(rng: &mut Rng, a: Coord<f64>, b: Coord<f64>, outer: bool) -> Vec<Coord<f64>> {
    let k = rng.random_range(4..=14);
    let (ex, ey) = (b.x - a.x, b.y - a.y);
    let mut pts = vec![a];
    for s in 1..=k {
        let t = s as f64 / (k + 1) as f64;
        // Offsets shrink towards the corners so edges never cross there.
        let off = if outer {
            0.0
        } else {
            rng.random_range(-0.15..0.15) * t.min(1.0 - t)
        };
        pts.push(Coord {
            x: a.x + t * ex - off * ey,
            y: a.y + t * ey + off * ex,
        });
    }
    pts
}

fn tiling(rng: &mut Rng) -> Vec<Polygon<f64>> {
    let c = corners(rng);
    // Horizontal edges h[j][i]: c[j][i] → c[j][i+1]; vertical v[j][i]: c[j][i] → c[j+1][i].
    let h: Vec<Vec<Vec<Coord<f64>>>> = (0..=SIDE)
        .map(|j| {
            (0..SIDE)
                .map(|i| edge(rng, c[j][i], c[j][i + 1], j == 0 || j == SIDE))
                .collect()
        })
        .collect();
    let v: Vec<Vec<Vec<Coord<f64>>>> = (0..SIDE)
        .map(|j| {
            (0..=SIDE)
                .map(|i| edge(rng, c[j][i], c[j + 1][i], i == 0 || i == SIDE))
                .collect()
        })
        .collect();
    // An edge `[a, p1..pk]` (from a to b) walked backwards: `[b, pk..p1]`.
    let reversed = |e: &[Coord<f64>], b: Coord<f64>| -> Vec<Coord<f64>> {
        std::iter::once(b)
            .chain(e[1..].iter().rev().copied())
            .collect()
    };
    let mut polys = Vec::with_capacity(SIDE * SIDE);
    for j in 0..SIDE {
        for i in 0..SIDE {
            let mut ring: Vec<Coord<f64>> = Vec::new();
            ring.extend(&h[j][i]); // bottom, left → right
            ring.extend(&v[j][i + 1]); // right, bottom → top
            ring.extend(reversed(&h[j + 1][i], c[j + 1][i + 1])); // top, right → left
            ring.extend(reversed(&v[j][i], c[j + 1][i])); // left, top → bottom
            ring.push(c[j][i]);
            polys.push(Polygon::new(LineString(ring), vec![]));
        }
    }
    polys
}

/// Nanoseconds this thread has spent on a CPU (Linux schedstat), so the
/// figure is not deflated by other processes on a busy machine.
fn cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Times `f`: (wall seconds, on-CPU seconds if known).
fn timed<T>(f: impl FnOnce() -> T) -> (T, f64, Option<f64>) {
    let c0 = cpu_ns();
    let t = Instant::now();
    let out = f();
    let wall = t.elapsed().as_secs_f64();
    let cpu = c0.zip(cpu_ns()).map(|(a, b)| (b - a) as f64 / 1e9);
    (out, wall, cpu)
}

fn rate(n: usize, wall: f64, cpu: Option<f64>) -> String {
    match cpu {
        Some(c) => format!(
            "{:.2} M points/s wall, {:.2} M points/s on-CPU",
            n as f64 / wall / 1e6,
            n as f64 / c / 1e6
        ),
        None => format!("{:.2} M points/s wall", n as f64 / wall / 1e6),
    }
}

struct Env(usize, AABB<[f64; 2]>);
impl RTreeObject for Env {
    type Envelope = AABB<[f64; 2]>;
    fn envelope(&self) -> Self::Envelope {
        self.1
    }
}

fn main() {
    let mut rng = Rng::seed_from_u64(SEED);
    let polys = tiling(&mut rng);
    let vertices: Vec<usize> = polys.iter().map(|p| p.exterior().0.len() - 1).collect();
    let div = DivisionCode::parse("411481100001").unwrap_or_else(|e| panic!("{e}"));
    let mut ds = Dataset::default();
    for (k, p) in polys.iter().enumerate() {
        let id = k as u64 + 1;
        ds.grids.push(Grid {
            id: GridId::new(id).unwrap_or_else(|e| panic!("{e}")),
            code: GridCode::new(div, (k % 999) as u16 + 1).unwrap_or_else(|e| panic!("{e}")),
            name: format!("第{id}网格"),
            kind: GridKind::Comprehensive,
            community: CommunityId::new(1).ok(),
            parent: None,
            boundary: MultiPolygon(vec![p.clone()]),
            workers: vec![],
        });
    }
    let points: Vec<Coord<f64>> = (0..POINTS)
        .map(|_| Coord {
            x: X0 + rng.random::<f64>() * W,
            y: Y0 + rng.random::<f64>() * H,
        })
        .collect();

    let t = Instant::now();
    let index = SpatialIndex::build(&ds);
    let build_tree = t.elapsed();
    let t = Instant::now();
    let locator = index.locator(Layer::Comprehensive);
    let build_locator = t.elapsed();
    let stats = locator.stats();

    let invalid = polys
        .iter()
        .filter(|p| {
            geo_core::geometry::Limits::default()
                .validate_polygon(p)
                .is_err()
        })
        .count();

    // Throughput: raster locator.
    let (found, locate_wall, locate_cpu) = timed(|| {
        points
            .iter()
            .map(|p| locator.locate(*p))
            .collect::<Vec<Option<ElementRef>>>()
    });

    // Throughput: full grids_at (four layers, only one populated here).
    index.prepare();
    let (unassigned, grids_at_wall, grids_at_cpu) = timed(|| {
        points
            .iter()
            .filter(|p| index.grids_at(**p).comprehensive.is_none())
            .count()
    });

    // Throughput and check: every point in exactly one grid, by testing
    // every polygon whose envelope holds it.
    let prepared: Vec<PreparedArea> = polys.iter().map(PreparedArea::from_polygon).collect();
    let tree = RTree::bulk_load(
        prepared
            .iter()
            .enumerate()
            .map(|(k, a)| {
                let r = a.bounding_rect();
                Env(
                    k,
                    AABB::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]),
                )
            })
            .collect(),
    );
    let ((bad, mismatched), brute_wall, brute_cpu) = timed(|| {
        let mut bad = 0usize;
        let mut mismatched = 0usize;
        for (p, f) in points.iter().zip(&found) {
            let hits: Vec<usize> = tree
                .locate_in_envelope_intersecting(AABB::from_point([p.x, p.y]))
                .filter(|e| prepared[e.0].contains(*p))
                .map(|e| e.0)
                .collect();
            if hits.len() != 1 {
                bad += 1;
            } else if *f
                != Some(ElementRef::Grid(
                    GridId::new(hits[0] as u64 + 1).unwrap_or_else(|e| panic!("{e}")),
                ))
            {
                mismatched += 1;
            }
        }
        (bad, mismatched)
    });

    // The whole chain as intake and imports run it (`assign_batch`, which
    // `wangge import`, the demo and the intake API call through
    // `web_viewer::ingest::assign`): against an index of the grids alone, a
    // town-sized batch of 100k buildings (~10 m footprints), a unit per
    // building at its entrance, two households per unit, two persons per
    // household, and 100k events.
    const ELEMENTS: usize = 100_000;
    let mut town = Dataset::default();
    for k in 0..ELEMENTS {
        let (x, y) = (
            X0 + rng.random::<f64>() * (W - 1e-4),
            Y0 + rng.random::<f64>() * (H - 1e-4),
        );
        let s = 9e-5;
        let id = k as u64 + 1;
        let building = geo_core::ids::BuildingId::new(id).unwrap_or_else(|e| panic!("{e}"));
        let unit = geo_core::ids::UnitId::new(id).unwrap_or_else(|e| panic!("{e}"));
        town.units.push(geo_core::model::Unit {
            id: unit,
            building,
            number: 1,
            households: 2,
            entrance: geo_types::Point::new(x + s / 2.0, y),
        });
        for h in 0..2u64 {
            let hid = geo_core::ids::HouseholdId::new(id * 2 + h).unwrap_or_else(|e| panic!("{e}"));
            town.households.push(geo_core::model::Household {
                id: hid,
                building,
                unit: Some(unit),
                floor: 1,
                room: String::new(),
                size: 2,
                tenure: geo_core::model::Tenure::Owned,
                group_rented: false,
                party_member: false,
            });
            for p in 0..2u64 {
                town.persons.push(geo_core::model::Person {
                    id: geo_core::ids::PersonId::new(hid.get() * 2 + p)
                        .unwrap_or_else(|e| panic!("{e}")),
                    household: Some(hid),
                    name: String::new(),
                    national_id: None,
                    phone: None,
                    birth_year: 1980,
                    sex: geo_core::model::Sex::Female,
                    tags: Vec::new(),
                });
            }
        }
        town.buildings.push(geo_core::model::Building {
            id: building,
            compound: None,
            footprint: Polygon::new(
                LineString(vec![
                    Coord { x, y },
                    Coord { x: x + s, y },
                    Coord { x: x + s, y: y + s },
                    Coord { x, y: y + s },
                    Coord { x, y },
                ]),
                vec![],
            )
            .into(),
            levels: Some(6),
            height_m: None,
            usage: geo_core::model::BuildingUse::Residential,
            units: 2,
            households: 24,
            households_estimated: false,
            address: None,
        });
    }
    let template = geo_core::model::Event::reported(
        geo_core::ids::EventId::new(1).unwrap_or_else(|e| panic!("{e}")),
        geo_core::taxonomy::EventCategory::all()
            .next()
            .unwrap_or_else(|| panic!("empty taxonomy")),
        String::new(),
        geo_types::Point::new(X0, Y0),
        chrono::DateTime::UNIX_EPOCH,
        geo_core::model::EventSource::Patrol,
    );
    for k in 0..ELEMENTS {
        let mut e = template.clone();
        e.id = geo_core::ids::EventId::new(k as u64 + 1).unwrap_or_else(|e| panic!("{e}"));
        e.location =
            geo_types::Point::new(X0 + rng.random::<f64>() * W, Y0 + rng.random::<f64>() * H);
        town.events.push(e);
    }
    let (town_index, town_build_wall, _) = timed(|| SpatialIndex::build(&ds));
    let (assignments, assign_wall, assign_cpu) =
        timed(|| geo_core::assign::assign_batch(&town, &town_index, &geo_core::assign::NoStore));
    let assignments = assignments.unwrap_or_else(|never| match never {});
    let town_outside = assignments.outside.total();
    let unassigned_persons = town
        .persons
        .iter()
        .filter(|p| {
            assignments
                .get(geo_core::assign::ElementRef::Person(p.id))
                .is_unassigned()
        })
        .count();

    println!("geo-core bench `assign` (seed {SEED})");
    println!("| item | value |");
    println!("|---|---|");
    println!(
        "| grids | {} ({}×{}), vertices {}–{} (mean {:.1}) |",
        polys.len(),
        SIDE,
        SIDE,
        vertices.iter().min().unwrap_or(&0),
        vertices.iter().max().unwrap_or(&0),
        vertices.iter().sum::<usize>() as f64 / vertices.len() as f64
    );
    println!("| points | {POINTS} |");
    println!(
        "| build SpatialIndex (R-trees, prepared areas) | {:.1} ms |",
        build_tree.as_secs_f64() * 1e3
    );
    println!(
        "| build raster locator | {:.1} ms ({} cells, {:.1} % mixed, {} candidate entries) |",
        build_locator.as_secs_f64() * 1e3,
        stats.cells,
        100.0 * stats.mixed_cells as f64 / stats.cells as f64,
        stats.entries
    );
    println!("| grids failing validation | {invalid} |");
    println!(
        "| locator.locate, 1 thread | {} |",
        rate(POINTS, locate_wall, locate_cpu)
    );
    println!(
        "| index.grids_at (4 layers), 1 thread | {} |",
        rate(POINTS, grids_at_wall, grids_at_cpu)
    );
    println!(
        "| R-tree + PreparedArea, all candidates | {} |",
        rate(POINTS, brute_wall, brute_cpu)
    );
    println!(
        "| SpatialIndex::build, {} grids (as ingest's grid_index) | {:.1} ms |",
        polys.len(),
        town_build_wall * 1e3
    );
    println!(
        "| assign_batch: {ELEMENTS} buildings, units, events; {} households, {} persons (incl. locator build), 1 thread | {:.0} ms wall{} |",
        town.households.len(),
        town.persons.len(),
        assign_wall * 1e3,
        assign_cpu
            .map(|c| format!(", {:.0} ms on-CPU", c * 1e3))
            .unwrap_or_default()
    );
    println!("| assigned elements outside every grid | {town_outside} |");
    println!("| persons in no grid | {unassigned_persons} |");
    println!("| points not in exactly one grid | {bad} |");
    println!("| locator disagreeing with brute force | {mismatched} |");
    println!("| grids_at with no grid | {unassigned} |");
    if bad != 0
        || mismatched != 0
        || unassigned != 0
        || invalid != 0
        || town_outside != 0
        || unassigned_persons != 0
    {
        eprintln!("FAILED: every point must land in exactly one grid");
        std::process::exit(1);
    }
}
