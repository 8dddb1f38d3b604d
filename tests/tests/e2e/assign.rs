//! The one grid-assignment rule, through its three paths: for random grids
//! and elements, what an import or intake stores (`ingest`), what a grid
//! import and a grid change store after re-assigning every element
//! (`Store::write_grids`, `Store::replace_grids`), and what
//! `geo_core::assign::assign_dataset` answers are the same references.

use std::collections::HashMap;

use geo_core::assign::{assign_dataset, ElementRef};
use geo_core::ids::{
    BuildingId, CommunityId, CompoundId, DivisionCode, EventId, GridCode, GridId, HouseholdId,
    OrganisationId, PersonId, PlaceId, SentimentId, UnitId,
};
use geo_core::index::SpatialIndex;
use geo_core::model::{
    Building, BuildingUse, Community, Compound, CompoundEra, Event, EventSource, Grid, GridKind,
    GridRefs, Household, Organisation, OrganisationKind, Person, Place, PlaceCategory, Sentiment,
    SentimentKind, SentimentLink, Sex, Tenure, Unit,
};
use geo_core::store::{GridChange, GridImport, NewGrid, Store};
use geo_core::taxonomy::EventCategory;
use geo_core::Dataset;
use geo_types::{Coord, Geometry, LineString, MultiPolygon, Point, Polygon};
use proptest::prelude::*;
use web_viewer::ingest::ingest;

use crate::common::temp_db;

const X0: f64 = 114.0;
const Y0: f64 = 34.0;
/// The community's side (~1 km); elements fall up to 10 % beyond it.
const SIDE: f64 = 0.01;

fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> Polygon<f64> {
    Polygon::new(
        LineString(vec![
            Coord { x: x0, y: y0 },
            Coord { x: x1, y: y0 },
            Coord { x: x1, y: y1 },
            Coord { x: x0, y: y1 },
            Coord { x: x0, y: y0 },
        ]),
        vec![],
    )
}

/// An L-shaped footprint (its centroid may lie outside it) or a triangle.
fn shape(x: f64, y: f64, s: f64, l: bool) -> Polygon<f64> {
    let c = |dx: f64, dy: f64| Coord {
        x: x + dx * s,
        y: y + dy * s,
    };
    let ring = if l {
        vec![
            c(0.0, 0.0),
            c(1.0, 0.0),
            c(1.0, 0.2),
            c(0.2, 0.2),
            c(0.2, 1.0),
            c(0.0, 1.0),
            c(0.0, 0.0),
        ]
    } else {
        vec![c(0.0, 0.0), c(1.0, 0.1), c(0.3, 0.9), c(0.0, 0.0)]
    };
    Polygon::new(LineString(ring), vec![])
}

/// A point of the test area, from two fractions in 0..1.
fn at(fx: f64, fy: f64) -> Coord<f64> {
    Coord {
        x: X0 - 0.1 * SIDE + fx * 1.2 * SIDE,
        y: Y0 - 0.1 * SIDE + fy * 1.2 * SIDE,
    }
}

fn division() -> DivisionCode {
    DivisionCode::parse("411481100001").expect("division")
}

fn community() -> Community {
    Community {
        id: CommunityId::new(1).expect("id"),
        code: division(),
        name: "测试社区".into(),
        is_village: false,
        boundary: MultiPolygon(vec![rect(X0, Y0, X0 + SIDE, Y0 + SIDE)]),
    }
}

/// Comprehensive strips cut at `cuts` (fractions), micro-grids and a
/// dedicated grid from rectangles `(x, y, w, h)` in fractions.
fn grids(
    cuts: &[f64],
    micro: &[(f64, f64, f64, f64)],
    dedicated: &[(f64, f64, f64, f64)],
) -> Vec<Grid> {
    let mut xs: Vec<f64> = cuts.iter().map(|f| X0 + f * SIDE).collect();
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    let mut edges = vec![X0];
    edges.extend(
        xs.into_iter()
            .filter(|x| *x > X0 + 1e-5 && *x < X0 + SIDE - 1e-5),
    );
    edges.push(X0 + SIDE);
    let frac_rect = |&(x, y, w, h): &(f64, f64, f64, f64)| {
        let (x0, y0) = (X0 + x * SIDE, Y0 + y * SIDE);
        rect(x0, y0, x0 + w * SIDE, y0 + h * SIDE)
    };
    let mut out = Vec::new();
    let mut push = |kind: GridKind, boundary: Polygon<f64>| {
        let n = out.len() as u64 + 1;
        out.push(Grid {
            id: GridId::new(n).expect("id"),
            code: GridCode::new(division(), n as u16).expect("code"),
            name: format!("第{n}网格"),
            kind,
            community: CommunityId::new(1).ok(),
            parent: None,
            boundary: MultiPolygon(vec![boundary]),
            workers: Vec::new(),
        });
    };
    for w in edges.windows(2) {
        push(GridKind::Comprehensive, rect(w[0], Y0, w[1], Y0 + SIDE));
    }
    for r in micro {
        push(GridKind::Micro, frac_rect(r));
    }
    for r in dedicated {
        push(GridKind::Dedicated, frac_rect(r));
    }
    out
}

/// Raw draws of one random town: element positions as fractions, links as
/// indices taken modulo the number of targets.
#[derive(Debug, Clone)]
struct Draw {
    cuts: Vec<f64>,
    micro: Vec<(f64, f64, f64, f64)>,
    dedicated: Vec<(f64, f64, f64, f64)>,
    compounds: Vec<(f64, f64, bool)>,
    buildings: Vec<(f64, f64, bool)>,
    units: Vec<(u16, f64, f64)>,
    households: Vec<(u16, Option<u16>)>,
    persons: Vec<Option<u16>>,
    places: Vec<(f64, f64, bool)>,
    events: Vec<(f64, f64)>,
    organisations: Vec<(f64, f64, bool)>,
    sentiments: Vec<(u8, u16)>,
    new_cuts: Vec<f64>,
}

fn frac() -> impl Strategy<Value = f64> {
    0.0..1.0f64
}

fn frac_rect() -> impl Strategy<Value = (f64, f64, f64, f64)> {
    (0.0..0.8f64, 0.0..0.8f64, 0.05..0.2f64, 0.05..0.2f64)
}

fn draw() -> impl Strategy<Value = Draw> {
    (
        (
            prop::collection::vec(frac(), 0..4),
            prop::collection::vec(frac_rect(), 0..3),
            prop::collection::vec(frac_rect(), 0..2),
            prop::collection::vec((frac(), frac(), any::<bool>()), 0..3),
            prop::collection::vec((frac(), frac(), any::<bool>()), 1..8),
            prop::collection::vec((any::<u16>(), frac(), frac()), 0..10),
            prop::collection::vec((any::<u16>(), prop::option::of(any::<u16>())), 0..12),
        ),
        (
            prop::collection::vec(prop::option::of(any::<u16>()), 0..16),
            prop::collection::vec((frac(), frac(), any::<bool>()), 0..4),
            prop::collection::vec((frac(), frac()), 0..5),
            prop::collection::vec((frac(), frac(), any::<bool>()), 0..3),
            prop::collection::vec((0..3u8, any::<u16>()), 0..5),
            prop::collection::vec(frac(), 1..4),
        ),
    )
        .prop_map(
            |(
                (cuts, micro, dedicated, compounds, buildings, units, households),
                (persons, places, events, organisations, sentiments, new_cuts),
            )| Draw {
                cuts,
                micro,
                dedicated,
                compounds,
                buildings,
                units,
                households,
                persons,
                places,
                events,
                organisations,
                sentiments,
                new_cuts,
            },
        )
}

/// The elements of a draw (no grids, no community).
fn elements(d: &Draw) -> Dataset {
    let mut ds = Dataset::default();
    let geometry = |fx: f64, fy: f64, area: bool| {
        let c = at(fx, fy);
        if area {
            Geometry::Polygon(shape(c.x, c.y, 4e-4, true))
        } else {
            Geometry::Point(Point(c))
        }
    };
    for (i, &(fx, fy, declared)) in d.compounds.iter().enumerate() {
        let c = at(fx, fy);
        ds.compounds.push(Compound {
            id: CompoundId::new(i as u64 + 1).expect("id"),
            name: format!("小区{i}"),
            community: declared.then(|| CommunityId::new(1).expect("id")),
            era: CompoundEra::Walkup1980s,
            built_year: None,
            boundary: rect(c.x, c.y, c.x + 1e-3, c.y + 1e-3).into(),
        });
    }
    for (i, &(fx, fy, l)) in d.buildings.iter().enumerate() {
        let c = at(fx, fy);
        ds.buildings.push(Building {
            id: BuildingId::new(i as u64 + 1).expect("id"),
            compound: None,
            footprint: shape(c.x, c.y, 2e-4, l).into(),
            levels: Some(6),
            height_m: None,
            usage: BuildingUse::Residential,
            units: 1,
            households: 1,
            households_estimated: false,
            address: None,
        });
    }
    let nb = ds.buildings.len();
    for (i, &(b, fx, fy)) in d.units.iter().enumerate() {
        ds.units.push(Unit {
            id: UnitId::new(i as u64 + 1).expect("id"),
            building: ds.buildings[b as usize % nb].id,
            number: i as u16 + 1,
            households: 1,
            entrance: Point(at(fx, fy)),
        });
    }
    for (i, &(b, u)) in d.households.iter().enumerate() {
        let unit = u
            .filter(|_| !ds.units.is_empty())
            .map(|u| ds.units[u as usize % ds.units.len()].clone());
        ds.households.push(Household {
            id: HouseholdId::new(i as u64 + 1).expect("id"),
            building: unit
                .as_ref()
                .map_or(ds.buildings[b as usize % nb].id, |u| u.building),
            unit: unit.map(|u| u.id),
            floor: 1,
            room: "101".into(),
            size: 1,
            tenure: Tenure::Owned,
            group_rented: false,
            party_member: false,
        });
    }
    for (i, &h) in d.persons.iter().enumerate() {
        let household = h
            .filter(|_| !ds.households.is_empty())
            .map(|h| ds.households[h as usize % ds.households.len()].id);
        ds.persons.push(Person {
            id: PersonId::new(i as u64 + 1).expect("id"),
            household,
            name: "张三".into(),
            national_id: None,
            phone: None,
            birth_year: 1970,
            sex: Sex::Female,
            tags: Vec::new(),
        });
    }
    for (i, &(fx, fy, area)) in d.places.iter().enumerate() {
        ds.places.push(Place {
            id: PlaceId::new(i as u64 + 1).expect("id"),
            name: format!("场所{i}"),
            category: PlaceCategory::Facility,
            service: None,
            geometry: geometry(fx, fy, area),
        });
    }
    for (i, &(fx, fy)) in d.events.iter().enumerate() {
        ds.events.push(Event::reported(
            EventId::new(i as u64 + 1).expect("id"),
            EventCategory::all().next().expect("category"),
            "路灯不亮",
            Point(at(fx, fy)),
            chrono::DateTime::UNIX_EPOCH,
            EventSource::Patrol,
        ));
    }
    for (i, &(fx, fy, area)) in d.organisations.iter().enumerate() {
        ds.organisations.push(Organisation {
            id: OrganisationId::new(i as u64 + 1).expect("id"),
            name: format!("组织{i}"),
            kind: OrganisationKind::PartyBranch,
            geometry: geometry(fx, fy, area),
            compound: None,
            members: Vec::new(),
            member_count: 0,
        });
    }
    for &(kind, k) in &d.sentiments {
        let k = k as usize;
        let link = match kind {
            0 if !ds.households.is_empty() => {
                SentimentLink::Household(ds.households[k % ds.households.len()].id)
            }
            1 if !ds.places.is_empty() => SentimentLink::Place(ds.places[k % ds.places.len()].id),
            _ if !ds.events.is_empty() => SentimentLink::Event(ds.events[k % ds.events.len()].id),
            _ => continue,
        };
        ds.sentiments.push(Sentiment {
            id: SentimentId::new(ds.sentiments.len() as u64 + 1).expect("id"),
            kind: SentimentKind::Feedback,
            score: None,
            text: String::new(),
            at: chrono::DateTime::UNIX_EPOCH,
            link,
        });
    }
    ds
}

/// Every element of `ds`.
fn every_element(ds: &Dataset) -> Vec<ElementRef> {
    let mut v: Vec<ElementRef> = Vec::new();
    v.extend(ds.compounds.iter().map(|x| ElementRef::Compound(x.id)));
    v.extend(ds.buildings.iter().map(|x| ElementRef::Building(x.id)));
    v.extend(ds.units.iter().map(|x| ElementRef::Unit(x.id)));
    v.extend(ds.households.iter().map(|x| ElementRef::Household(x.id)));
    v.extend(ds.persons.iter().map(|x| ElementRef::Person(x.id)));
    v.extend(ds.places.iter().map(|x| ElementRef::Place(x.id)));
    v.extend(ds.events.iter().map(|x| ElementRef::Event(x.id)));
    v.extend(ds.sentiments.iter().map(|x| ElementRef::Sentiment(x.id)));
    v.extend(
        ds.organisations
            .iter()
            .map(|x| ElementRef::Organisation(x.id)),
    );
    v
}

/// The stored references of every element of `ds`.
fn stored(store: &Store, ds: &Dataset) -> HashMap<ElementRef, GridRefs> {
    let mut out = HashMap::new();
    let elements = every_element(ds);
    use geo_core::io::ElementKind as K;
    for table in [
        K::Compounds,
        K::Buildings,
        K::Units,
        K::Households,
        K::Persons,
        K::Places,
        K::Events,
        K::Sentiments,
        K::Organisations,
    ] {
        let these: Vec<ElementRef> = elements
            .iter()
            .copied()
            .filter(|e| e.kind() == table)
            .collect();
        let ids: Vec<u64> = these.iter().map(|e| e.id()).collect();
        let refs = store.refs_of(table, &ids).expect("refs");
        for e in these {
            out.insert(e, refs.get(&e.id()).copied().expect("stored element"));
        }
    }
    out
}

/// What `assign_dataset` answers for the elements of `ds` against `grids`.
fn expected(
    ds: &Dataset,
    communities: Vec<Community>,
    grids: Vec<Grid>,
) -> HashMap<ElementRef, GridRefs> {
    let index = SpatialIndex::build(&Dataset {
        communities,
        grids,
        ..Dataset::default()
    });
    let a = assign_dataset(ds, &index);
    every_element(ds)
        .into_iter()
        .map(|e| (e, a.get(e)))
        .collect()
}

fn assert_same(
    what: &str,
    got: &HashMap<ElementRef, GridRefs>,
    want: &HashMap<ElementRef, GridRefs>,
) -> Result<(), TestCaseError> {
    let mut diff: Vec<String> = want
        .iter()
        .filter(|(e, r)| got.get(e) != Some(r))
        .map(|(e, r)| format!("{e:?}: {what} {:?}, assign_dataset {r:?}", got.get(e)))
        .collect();
    diff.sort();
    prop_assert!(diff.is_empty(), "{}", diff.join("\n"));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn import_reassignment_and_assign_dataset_agree(d in draw()) {
        let elems = elements(&d);
        let grid_set = grids(&d.cuts, &d.micro, &d.dedicated);
        let want = expected(&elems, vec![community()], grid_set.clone());

        // Import / intake: grids first, then the elements through `ingest`.
        let mut imported = crate::common::open_store(temp_db("assign-import"));
        let with_grids = Dataset {
            communities: vec![community()],
            grids: grid_set.clone(),
            ..Dataset::default()
        };
        ingest(&mut imported, &with_grids, false, None).expect("grids");
        ingest(&mut imported, &elems, false, None).expect("elements");
        assert_same("ingest", &stored(&imported, &elems), &want)?;

        // Re-assignment: the elements stored before any grid, then a grid
        // import re-assigns every one of them.
        let mut reassigned = crate::common::open_store(temp_db("assign-reassign"));
        ingest(&mut reassigned, &elems, false, None).expect("elements");
        reassigned
            .write_grids(&with_grids, &|_| GridRefs::default(), None, &GridImport::default())
            .expect("grid import");
        assert_same("write_grids", &stored(&reassigned, &elems), &want)?;

        // A grid change: new comprehensive strips replace the old ones.
        let strips = grids(&d.new_cuts, &[], &[]);
        let change = GridChange {
            level: GridKind::Comprehensive,
            community: CommunityId::new(1).ok(),
            grids: strips
                .iter()
                .map(|g| NewGrid {
                    boundary: g.boundary.clone(),
                    ..NewGrid::default()
                })
                .collect(),
            expected: None,
            actor: "test".into(),
            note: String::new(),
            source: "test".into(),
        };
        reassigned.replace_grids(&change).expect("grid change");
        let want = expected(
            &elems,
            reassigned.communities().expect("communities"),
            reassigned.grids().expect("grids"),
        );
        assert_same("replace_grids", &stored(&reassigned, &elems), &want)?;
    }
}
