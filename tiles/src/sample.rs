//! Deterministic sample data: a small hand-made town for tests, snapshots and
//! the `dump` example, and a seeded synthetic town of any size for benchmarks.
//! Both carry a resident with a name, ID number and phone, and an event whose
//! title names them, so tests can prove none of it reaches a tile.

use chrono::{DateTime, Duration, TimeZone, Utc};
use geo_core::ids::{
    BuildingId, CommunityId, CompoundId, DivisionCode, EventId, GridCode, GridId, HouseholdId,
    NationalId, PersonId, Phone, PlaceId, RoadId,
};
use geo_core::model::{
    Building, BuildingUse, Community, Compound, CompoundEra, Event, EventSource, EventStatus,
    Grade, Grid, GridKind, Person, Place, PlaceCategory, Road, RoadClass, ServiceKind, Sex, Town,
    Worker, WorkerRole,
};
use geo_core::taxonomy::{EventCategory, CATEGORIES};
use geo_core::{Dataset, IdError};
use geo_types::{Geometry, LineString, MultiPolygon, Point, Polygon};

/// Centre of the sample towns (lon, lat).
pub const CENTRE: [f64; 2] = [113.30, 34.40];

/// The resident's name in the sample data (must never appear in a tile).
pub const PERSON_NAME: &str = "张秀英";
/// The resident's ID number in the sample data (must never appear in a tile).
pub const PERSON_ID_NUMBER: &str = "11010519491231002X";
/// The resident's phone in the sample data (must never appear in a tile).
pub const PERSON_PHONE: &str = "13812345678";
/// A grid worker's name in the sample data (must never appear in a tile).
pub const WORKER_NAME: &str = "李建国";

/// The instant the sample data is judged at (overdue, heatmap windows).
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 6, 30, 0, 0, 0)
        .single()
        .unwrap_or_default()
}

/// A rectangle polygon from lon/lat corners.
fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> Polygon<f64> {
    Polygon::new(
        LineString::from(vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]),
        vec![],
    )
}

/// Metres to degrees near the centre.
fn dx(m: f64) -> f64 {
    m / (111_320.0 * CENTRE[1].to_radians().cos())
}
fn dy(m: f64) -> f64 {
    m / 110_574.0
}
/// A rectangle given in metres east/north of the centre.
fn rect_m(e0: f64, n0: f64, e1: f64, n1: f64) -> Polygon<f64> {
    rect(
        CENTRE[0] + dx(e0),
        CENTRE[1] + dy(n0),
        CENTRE[0] + dx(e1),
        CENTRE[1] + dy(n1),
    )
}
fn pt_m(e: f64, n: f64) -> Point<f64> {
    Point::new(CENTRE[0] + dx(e), CENTRE[1] + dy(n))
}

fn resident() -> Result<Person, IdError> {
    Ok(Person {
        id: PersonId::new(1)?,
        household: Some(HouseholdId::new(1)?),
        name: PERSON_NAME.into(),
        national_id: Some(NationalId::parse(PERSON_ID_NUMBER)?),
        phone: Some(Phone::parse(PERSON_PHONE)?),
        birth_year: 1949,
        sex: Sex::Female,
        tags: vec![],
    })
}

fn town() -> Result<Town, IdError> {
    Ok(Town {
        code: DivisionCode::parse("411481100000")?,
        name: "城关镇".into(),
        centre: pt_m(0.0, 0.0),
    })
}

#[allow(clippy::too_many_arguments)]
fn event(
    id: u64,
    cat: &str,
    at: Point<f64>,
    days_ago: i64,
    source: EventSource,
    status: EventStatus,
    grade: Grade,
    title: String,
) -> Result<Event, IdError> {
    let reported = now() - Duration::days(days_ago);
    let category = EventCategory::parse(cat)?;
    let deadline = reported + Duration::hours(i64::from(category.def().limit_h));
    let resolved = (!status.is_open()).then(|| reported + Duration::hours(10));
    Ok(Event {
        id: EventId::new(id)?,
        category,
        title,
        location: at,
        reported_at: reported,
        source,
        status,
        grade,
        deadline: Some(deadline),
        handler: Some("grid".into()),
        resolved_at: resolved,
        satisfaction: None,
        master: None,
        reporter_household: Some(HouseholdId::new(1)?),
    })
}

/// A small hand-made town: one community, two comprehensive grids, one
/// micro-grid, one dedicated grid, a compound with four buildings, three
/// roads, a river, a park, a clinic and twelve events (a cluster of five, so
/// heatmap cells above k = 3 exist).
///
/// ```
/// let ds = tiles::sample::dataset().unwrap();
/// assert_eq!(ds.buildings.len(), 4);
/// ```
pub fn dataset() -> Result<Dataset, IdError> {
    let comm = CommunityId::new(1)?;
    let div = DivisionCode::parse("411481100001")?;
    let worker = |role| Worker {
        name: WORKER_NAME.into(),
        role,
        full_time: true,
    };
    let grid = |id: u64,
                code: GridCode,
                name: &str,
                kind,
                parent,
                poly: Polygon<f64>|
     -> Result<Grid, IdError> {
        Ok(Grid {
            id: GridId::new(id)?,
            code,
            name: name.into(),
            kind,
            community: Some(comm),
            parent,
            boundary: MultiPolygon(vec![poly]),
            workers: vec![worker(WorkerRole::GridWorker)],
        })
    };
    let g1 = GridCode::new(div, 1)?;
    let grids = vec![
        grid(
            1,
            g1.clone(),
            "第1网格",
            GridKind::Comprehensive,
            None,
            rect_m(-600.0, -400.0, 0.0, 400.0),
        )?,
        grid(
            2,
            GridCode::new(div, 2)?,
            "第2网格",
            GridKind::Comprehensive,
            None,
            rect_m(0.0, -400.0, 600.0, 400.0),
        )?,
        grid(
            3,
            g1.child(1)?,
            "第1-1微网格",
            GridKind::Micro,
            Some(GridId::new(1)?),
            rect_m(-600.0, 0.0, -300.0, 400.0),
        )?,
        grid(
            4,
            GridCode::new(div, 901)?,
            "实验小学专属网格",
            GridKind::Dedicated,
            None,
            rect_m(150.0, 100.0, 350.0, 300.0),
        )?,
    ];
    // A compound with a courtyard hole in its wall polygon.
    let mut wall = rect_m(-500.0, 50.0, -320.0, 350.0);
    wall.interiors_push(rect_m(-450.0, 150.0, -400.0, 200.0).exterior().clone());
    let compound = Compound {
        id: CompoundId::new(1)?,
        name: "建设路小区".into(),
        community: Some(comm),
        era: CompoundEra::Walkup1980s,
        built_year: Some(1992),
        boundary: wall.into(),
    };
    let mut buildings = Vec::new();
    for (i, (e, n)) in [
        (-480.0, 80.0),
        (-380.0, 80.0),
        (-480.0, 250.0),
        (-380.0, 250.0),
    ]
    .iter()
    .enumerate()
    {
        buildings.push(Building {
            id: BuildingId::new(i as u64 + 1)?,
            compound: Some(compound.id),
            footprint: rect_m(*e, *n, e + 50.0, n + 15.0).into(),
            levels: if i == 3 { None } else { Some(6) },
            height_m: if i == 2 { None } else { Some(18.5) },
            usage: if i == 3 {
                BuildingUse::Mixed
            } else {
                BuildingUse::Residential
            },
            units: 3,
            households: 36,
            households_estimated: false,
            address: Some(format!("建设路12号{}号楼", i + 1)),
        });
    }
    let road = |id: u64, name: Option<&str>, class, pts: &[(f64, f64)]| -> Result<Road, IdError> {
        Ok(Road {
            id: RoadId::new(id)?,
            name: name.map(String::from),
            class,
            line: LineString::from(pts.iter().map(|(e, n)| pt_m(*e, *n).0).collect::<Vec<_>>()),
        })
    };
    let roads = vec![
        road(
            1,
            Some("建设路"),
            RoadClass::Arterial,
            &[(-900.0, 0.0), (900.0, 0.0)],
        )?,
        road(
            2,
            Some("人民街"),
            RoadClass::Local,
            &[(0.0, -600.0), (0.0, 600.0)],
        )?,
        road(
            3,
            None,
            RoadClass::Alley,
            &[(-500.0, 200.0), (-300.0, 210.0), (-200.0, 260.0)],
        )?,
    ];
    let places = vec![
        Place {
            id: PlaceId::new(1)?,
            name: "颍河".into(),
            category: PlaceCategory::Water,
            service: None,
            geometry: Geometry::Polygon(rect_m(-900.0, -380.0, 900.0, -330.0)),
        },
        Place {
            id: PlaceId::new(2)?,
            name: "人民公园".into(),
            category: PlaceCategory::PublicSpace,
            service: Some(ServiceKind::Park),
            geometry: Geometry::Polygon(rect_m(100.0, -300.0, 400.0, -100.0)),
        },
        Place {
            id: PlaceId::new(3)?,
            name: "城关社区卫生服务站".into(),
            category: PlaceCategory::Facility,
            service: Some(ServiceKind::Clinic),
            geometry: Geometry::Point(pt_m(200.0, 50.0)),
        },
    ];
    use EventSource::*;
    use EventStatus::*;
    let mut events = Vec::new();
    // A cluster of five in the compound (the heatmap cell survives k = 3).
    for i in 0..5u64 {
        let title = if i == 0 {
            format!("{PERSON_NAME}反映楼道堆物 电话{PERSON_PHONE}")
        } else {
            "楼道堆物".into()
        };
        let status = [Reported, Dispatched, Closed, InProgress, Resolved][i as usize];
        events.push(event(
            i + 1,
            "04.01",
            pt_m(-440.0 + i as f64 * 3.0, 120.0),
            3 + i as i64,
            Resident,
            status,
            Grade::General,
            title,
        )?);
    }
    let singles: [(f64, f64, &str, EventSource, EventStatus, i64); 7] = [
        (250.0, 200.0, "02.05", Hotline, Closed, 40),
        (300.0, -200.0, "07.02", Patrol, Accepted, 1),
        (-100.0, -50.0, "02.01", Patrol, Dispatched, 20),
        (500.0, 300.0, "03.02", Resident, Reviewed, 60),
        (-550.0, -300.0, "01.01", Hotline, Escalated, 90),
        (50.0, 350.0, "04.03", Sensor, Reported, 0),
        (-250.0, 320.0, "05.01", Hotline, Closed, 120),
    ];
    for (i, (e, n, cat, src, st, ago)) in singles.into_iter().enumerate() {
        events.push(event(
            10 + i as u64,
            cat,
            pt_m(e, n),
            ago,
            src,
            st,
            Grade::Major,
            "事件".into(),
        )?);
    }
    Ok(Dataset {
        town: Some(town()?),
        communities: vec![Community {
            id: comm,
            code: div,
            name: "武汉路社区".into(),
            is_village: false,
            boundary: MultiPolygon(vec![rect_m(-600.0, -400.0, 600.0, 400.0)]),
        }],
        grids,
        compounds: vec![compound],
        buildings,
        persons: vec![resident()?],
        places,
        events,
        roads,
        ..Dataset::default()
    })
}

/// SplitMix64: a tiny seeded generator (no dependency for sample data).
#[derive(Debug, Clone)]
pub struct SplitMix(u64);

impl SplitMix {
    /// Seeds the generator.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `[0, 1)`.
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// A seeded synthetic town of about `buildings` buildings in compounds of 16
/// on a street grid, 4 communities, 4×4 comprehensive grids per community with
/// 2×2 micro-grids each, a river, parks, facilities and `events` events over
/// the year before [`now`], clustered around a few hot spots.
pub fn synthetic_town(seed: u64, buildings: usize, events: usize) -> Result<Dataset, IdError> {
    let mut rng = SplitMix::new(seed);
    let compounds_n = buildings.div_ceil(16).max(1);
    let side = (compounds_n as f64).sqrt().ceil() as usize; // compounds per row
    let block = 220.0; // metres per block (compound + street)
    let half = side as f64 * block / 2.0;
    let mut ds = Dataset {
        town: Some(town()?),
        persons: vec![resident()?],
        ..Dataset::default()
    };
    // Communities: 4 quadrants; grids 4x4 each; micro 2x2 each.
    let mut grid_id = 0;
    for q in 0..4u64 {
        let (qx, qy) = ((q % 2) as f64, (q / 2) as f64);
        let (e0, n0) = (-half + qx * half, -half + qy * half);
        let div = DivisionCode::parse(&format!("411481100{:03}", q + 1))?;
        let comm = CommunityId::new(q + 1)?;
        ds.communities.push(Community {
            id: comm,
            code: div,
            name: format!("第{}社区", q + 1),
            is_village: q == 3,
            boundary: MultiPolygon(vec![rect_m(e0, n0, e0 + half, n0 + half)]),
        });
        let gs = half / 4.0;
        for gi in 0..16u16 {
            let (ge, gn) = (e0 + f64::from(gi % 4) * gs, n0 + f64::from(gi / 4) * gs);
            grid_id += 1;
            let code = GridCode::new(div, gi + 1)?;
            let parent = GridId::new(grid_id)?;
            ds.grids.push(Grid {
                id: parent,
                code: code.clone(),
                name: format!("第{}网格", gi + 1),
                kind: GridKind::Comprehensive,
                community: Some(comm),
                parent: None,
                boundary: MultiPolygon(vec![rect_m(ge, gn, ge + gs, gn + gs)]),
                workers: vec![Worker {
                    name: WORKER_NAME.into(),
                    role: WorkerRole::GridWorker,
                    full_time: true,
                }],
            });
            for mi in 0..4u16 {
                let (me, mn) = (
                    ge + f64::from(mi % 2) * gs / 2.0,
                    gn + f64::from(mi / 2) * gs / 2.0,
                );
                grid_id += 1;
                ds.grids.push(Grid {
                    id: GridId::new(grid_id)?,
                    code: code.child(mi + 1)?,
                    name: format!("第{}-{}微网格", gi + 1, mi + 1),
                    kind: GridKind::Micro,
                    community: Some(comm),
                    parent: Some(parent),
                    boundary: MultiPolygon(vec![rect_m(me, mn, me + gs / 2.0, mn + gs / 2.0)]),
                    workers: vec![],
                });
            }
        }
        grid_id += 1;
        ds.grids.push(Grid {
            id: GridId::new(grid_id)?,
            code: GridCode::new(div, 901)?,
            name: format!("第{}社区学校专属网格", q + 1),
            kind: GridKind::Dedicated,
            community: Some(comm),
            parent: None,
            boundary: MultiPolygon(vec![rect_m(e0 + 30.0, n0 + 30.0, e0 + 230.0, n0 + 190.0)]),
            workers: vec![],
        });
    }
    // Compounds and buildings.
    let mut bid = 0u64;
    for c in 0..compounds_n {
        let (e0, n0) = (
            -half + (c % side) as f64 * block,
            -half + (c / side) as f64 * block,
        );
        let cid = CompoundId::new(c as u64 + 1)?;
        ds.compounds.push(Compound {
            id: cid,
            name: format!("{}号小区", c + 1),
            community: None,
            era: CompoundEra::ALL[rng.below(CompoundEra::ALL.len() as u64) as usize],
            built_year: Some(1980 + rng.below(44) as u16),
            boundary: rect_m(e0 + 10.0, n0 + 10.0, e0 + block - 30.0, n0 + block - 30.0).into(),
        });
        for b in 0..16 {
            if bid as usize >= buildings {
                break;
            }
            bid += 1;
            let (be, bn) = (
                e0 + 20.0 + (b % 4) as f64 * 42.0,
                n0 + 20.0 + (b / 4) as f64 * 42.0,
            );
            let levels = [2u16, 6, 11, 18, 26][rng.below(5) as usize];
            let w = 20.0 + rng.f64() * 14.0;
            ds.buildings.push(Building {
                id: BuildingId::new(bid)?,
                compound: Some(cid),
                footprint: rect_m(be, bn, be + w, bn + 12.0 + rng.f64() * 6.0).into(),
                levels: Some(levels),
                height_m: Some(f32::from(levels) * 3.0),
                usage: BuildingUse::ALL[rng.below(BuildingUse::ALL.len() as u64) as usize],
                units: 1 + rng.below(4) as u16,
                households: u32::from(levels) * 4,
                households_estimated: true,
                address: None,
            });
        }
    }
    // Street grid.
    for i in 0..=side {
        let v = -half + i as f64 * block - 10.0;
        let class = if i % 4 == 0 {
            RoadClass::Arterial
        } else {
            RoadClass::Local
        };
        let id = 2 * i as u64 + 1;
        ds.roads.push(Road {
            id: RoadId::new(id)?,
            name: Some(format!("纬{}路", i + 1)),
            class,
            line: LineString::from(vec![pt_m(-half, v).0, pt_m(half, v).0]),
        });
        ds.roads.push(Road {
            id: RoadId::new(id + 1)?,
            name: Some(format!("经{}路", i + 1)),
            class,
            line: LineString::from(vec![pt_m(v, -half).0, pt_m(v, half).0]),
        });
    }
    // A river, parks and facilities.
    ds.places.push(Place {
        id: PlaceId::new(1)?,
        name: "颍河".into(),
        category: PlaceCategory::Water,
        service: None,
        geometry: Geometry::Polygon(rect_m(
            -half - 500.0,
            -half - 120.0,
            half + 500.0,
            -half - 40.0,
        )),
    });
    for i in 0..12u64 {
        let (e, n) = (
            (rng.f64() - 0.5) * 2.0 * half,
            (rng.f64() - 0.5) * 2.0 * half,
        );
        let park = i % 3 == 0;
        ds.places.push(Place {
            id: PlaceId::new(i + 2)?,
            name: format!("设施{}", i + 1),
            category: if park {
                PlaceCategory::PublicSpace
            } else {
                PlaceCategory::Facility
            },
            service: Some(ServiceKind::ALL[rng.below(ServiceKind::ALL.len() as u64) as usize]),
            geometry: if park {
                Geometry::Polygon(rect_m(e, n, e + 120.0, n + 80.0))
            } else {
                Geometry::Point(pt_m(e, n))
            },
        });
    }
    // Events around hot spots.
    let spots: Vec<(f64, f64)> = (0..8)
        .map(|_| {
            (
                (rng.f64() - 0.5) * 2.0 * half,
                (rng.f64() - 0.5) * 2.0 * half,
            )
        })
        .collect();
    for i in 0..events {
        let (e, n) = if rng.below(10) < 7 {
            let (se, sn) = spots[rng.below(spots.len() as u64) as usize];
            (
                se + (rng.f64() - 0.5) * 400.0,
                sn + (rng.f64() - 0.5) * 400.0,
            )
        } else {
            (
                (rng.f64() - 0.5) * 2.0 * half,
                (rng.f64() - 0.5) * 2.0 * half,
            )
        };
        let cat = CATEGORIES[rng.below(CATEGORIES.len() as u64) as usize].code;
        let status = EventStatus::ALL[rng.below(EventStatus::ALL.len() as u64) as usize];
        // The four real-world sources (not the demo feed's).
        const REAL: [EventSource; 4] = [
            EventSource::Patrol,
            EventSource::Hotline,
            EventSource::Resident,
            EventSource::Sensor,
        ];
        let source = REAL[rng.below(REAL.len() as u64) as usize];
        let grade = Grade::ALL[rng.below(Grade::ALL.len() as u64) as usize];
        let ago = rng.below(365) as i64;
        let title = if i == 0 {
            format!("{PERSON_NAME} {PERSON_PHONE}")
        } else {
            String::new()
        };
        ds.events.push(event(
            i as u64 + 1,
            cat,
            pt_m(e, n),
            ago,
            source,
            status,
            grade,
            title,
        )?);
    }
    Ok(ds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_builds() {
        let ds = dataset().unwrap();
        assert_eq!(ds.events.len(), 12);
        assert_eq!(ds.grids.len(), 4);
    }

    #[test]
    fn synthetic_sizes() {
        let ds = synthetic_town(7, 100, 50).unwrap();
        assert_eq!(ds.buildings.len(), 100);
        assert_eq!(ds.events.len(), 50);
        assert_eq!(ds.grids.len(), 4 * (16 * 5 + 1));
        let again = synthetic_town(7, 100, 50).unwrap();
        assert_eq!(ds, again, "same seed gives the same town");
    }
}
