//! Demo generator: determinism, town and community figures, referential
//! integrity, grid tiling and the planted patterns.

use std::collections::{HashMap, HashSet};

use geo::Contains;
use geo_core::ids::NationalId;
use geo_core::model::{GridKind, Tenure};
use geo_core::taxonomy::EventCategory;
use geo_core::{Dataset, DatasetSink};
use wangge_data::demo::{generate, DemoError, Scale, Summary, REFERENCE_YEAR};

fn run(scale: Scale, seed: u64) -> (Summary, Dataset) {
    let mut all = Dataset::default();
    let summary = generate(scale, seed, &mut all, &mut |_| {}).expect("generation failed");
    (summary, all)
}

/// Keeps the first `keep` batches, then refuses.
struct FirstBatches {
    keep: usize,
    batches: Vec<Dataset>,
}

impl DatasetSink for FirstBatches {
    type Error = String;
    fn accept(&mut self, batch: Dataset) -> Result<(), String> {
        if self.batches.len() == self.keep {
            return Err("enough".into());
        }
        self.batches.push(batch);
        Ok(())
    }
}

fn valid_coord(x: f64, y: f64) -> bool {
    (115.0..=118.5).contains(&x) && (36.0..=38.0).contains(&y)
}

fn check_integrity(d: &Dataset) {
    fn unique<T: std::hash::Hash + Eq>(it: impl Iterator<Item = T>, what: &str) {
        let mut seen = HashSet::new();
        for x in it {
            assert!(seen.insert(x), "duplicate {what} id");
        }
    }
    unique(d.communities.iter().map(|x| x.id), "community");
    unique(d.grids.iter().map(|x| x.id), "grid");
    unique(d.grids.iter().map(|x| x.code.clone()), "grid code");
    unique(d.compounds.iter().map(|x| x.id), "compound");
    unique(d.buildings.iter().map(|x| x.id), "building");
    unique(d.units.iter().map(|x| x.id), "unit");
    unique(d.households.iter().map(|x| x.id), "household");
    unique(d.persons.iter().map(|x| x.id), "person");
    unique(d.places.iter().map(|x| x.id), "place");
    unique(d.events.iter().map(|x| x.id), "event");
    unique(d.sentiments.iter().map(|x| x.id), "sentiment");
    unique(d.organisations.iter().map(|x| x.id), "organisation");
    unique(d.roads.iter().map(|x| x.id), "road");
    unique(
        d.persons
            .iter()
            .filter_map(|p| p.national_id.as_ref().map(|n| n.reveal().to_string())),
        "national",
    );

    let households: HashMap<_, _> = d.households.iter().map(|h| (h.id, h)).collect();
    let buildings: HashSet<_> = d.buildings.iter().map(|b| b.id).collect();
    let units: HashMap<_, _> = d.units.iter().map(|u| (u.id, u)).collect();
    let compounds: HashSet<_> = d.compounds.iter().map(|c| c.id).collect();
    let grids: HashSet<_> = d.grids.iter().map(|g| g.id).collect();
    let communities: HashSet<_> = d.communities.iter().map(|c| c.id).collect();
    let persons: HashSet<_> = d.persons.iter().map(|p| p.id).collect();
    let events: HashSet<_> = d.events.iter().map(|e| e.id).collect();

    let mut size_count: HashMap<_, u32> = HashMap::new();
    for p in &d.persons {
        let h = p.household.expect("every demo person has a household");
        assert!(households.contains_key(&h), "person's household missing");
        *size_count.entry(h).or_default() += 1;
        let id = p.national_id.as_ref().expect("national id");
        let parsed = NationalId::parse(id.reveal()).expect("valid checksum");
        assert_eq!(
            &parsed.reveal()[6..10],
            p.birth_year.to_string(),
            "birth date matches birth year"
        );
        let age = p.age_in(REFERENCE_YEAR);
        assert!((0..=110).contains(&age), "age {age}");
    }
    for h in &d.households {
        assert!(
            buildings.contains(&h.building),
            "household's building missing"
        );
        let u = units
            .get(&h.unit.expect("unit"))
            .expect("household's unit missing");
        assert_eq!(u.building, h.building);
        assert_eq!(
            u32::from(h.size),
            size_count.get(&h.id).copied().unwrap_or(0),
            "household size = members"
        );
        assert_eq!(h.size == 0, h.tenure == Tenure::Vacant);
    }
    for u in &d.units {
        assert!(buildings.contains(&u.building));
        assert!(valid_coord(u.entrance.x(), u.entrance.y()));
    }
    for b in &d.buildings {
        if let Some(c) = b.compound {
            assert!(compounds.contains(&c), "building's compound missing");
        }
        assert!(b
            .footprint
            .exterior()
            .0
            .iter()
            .all(|c| valid_coord(c.x, c.y)));
        assert!(b.levels.unwrap_or(0) >= 1);
    }
    for g in &d.grids {
        assert!(communities.contains(&g.community.expect("grid community")));
        if g.kind == GridKind::Micro {
            assert!(grids.contains(&g.parent.expect("micro parent")));
            assert!(g.code.is_micro());
        }
        if g.kind == GridKind::Dedicated {
            assert!(g.code.as_str()[12..15].starts_with('9'), "{}", g.code);
        }
        assert!(g
            .boundary
            .0
            .iter()
            .all(|p| p.exterior().0.iter().all(|c| valid_coord(c.x, c.y))));
    }
    for e in &d.events {
        assert!(valid_coord(e.location.x(), e.location.y()));
        if let Some(h) = e.reporter_household {
            assert!(households.contains_key(&h));
        }
        if let Some(m) = e.master {
            assert!(events.contains(&m));
        }
        if let Some(r) = e.resolved_at {
            assert!(r >= e.reported_at);
        }
    }
    for o in &d.organisations {
        assert!(o.members.iter().all(|p| persons.contains(p)));
    }
    for s in &d.sentiments {
        match s.link {
            geo_core::model::SentimentLink::Household(h) => assert!(households.contains_key(&h)),
            geo_core::model::SentimentLink::Event(e) => assert!(events.contains(&e)),
            geo_core::model::SentimentLink::Place(_) => {}
        }
    }
}

/// Every unit entrance lies in its community and in exactly one
/// comprehensive grid and one micro-grid of it.
fn check_grids_cover_units(d: &Dataset) {
    let by_community: HashMap<_, Vec<_>> = d.grids.iter().fold(HashMap::new(), |mut m, g| {
        m.entry(g.community).or_insert_with(Vec::new).push(g);
        m
    });
    for u in &d.units {
        let community = d
            .communities
            .iter()
            .filter(|c| c.boundary.contains(&u.entrance))
            .collect::<Vec<_>>();
        assert_eq!(
            community.len(),
            1,
            "unit {} in {} communities",
            u.id,
            community.len()
        );
        let grids = &by_community[&Some(community[0].id)];
        for kind in [GridKind::Comprehensive, GridKind::Micro] {
            let n = grids
                .iter()
                .filter(|g| g.kind == kind && g.boundary.contains(&u.entrance))
                .count();
            assert_eq!(n, 1, "unit {} lies in {n} {kind} grids", u.id);
        }
    }
}

#[test]
fn same_seed_same_data_other_seed_differs() {
    let first = |seed| {
        let mut sink = FirstBatches {
            keep: 2,
            batches: Vec::new(),
        };
        let r = generate(Scale::Community, seed, &mut sink, &mut |_| {});
        assert!(r.is_ok(), "community scale has exactly two batches");
        sink.batches
    };
    let (a, b, c) = (first(42), first(42), first(43));
    assert_eq!(a, b);
    assert_ne!(a[1].persons, c[1].persons);
    let (sa, _) = run(Scale::Community, 42);
    let (sb, _) = run(Scale::Community, 42);
    let (sc, _) = run(Scale::Community, 43);
    assert_eq!(sa, sb);
    assert_ne!(sa, sc);
}

#[test]
fn sink_errors_stop_the_stream() {
    let mut sink = FirstBatches {
        keep: 3,
        batches: Vec::new(),
    };
    let mut calls = 0;
    let err = generate(Scale::Province, 1, &mut sink, &mut |_| calls += 1).unwrap_err();
    match err {
        DemoError::Sink { batch, error } => {
            assert_eq!(batch, 3);
            assert_eq!(error, "enough");
        }
        other => panic!("unexpected {other}"),
    }
    assert_eq!(calls, 2, "progress after each community batch");
    assert!(sink.batches[0].town.is_some());
}

#[test]
fn community_scale_figures() {
    let (s, d) = run(Scale::Community, 7);
    check_integrity(&d);
    check_grids_cover_units(&d);
    assert_eq!(s.communities, 1);
    assert!((10_000..=14_000).contains(&s.persons), "{}", s.persons);
    assert!((10..=18).contains(&s.compounds), "{}", s.compounds);
    assert!((65..=105).contains(&s.micro_grids), "{}", s.micro_grids);
    assert_eq!(s.persons as usize, d.persons.len());
    assert_eq!(s.events as usize, d.events.len());
    let walkups = d
        .compounds
        .iter()
        .filter(|c| c.era == geo_core::model::CompoundEra::Walkup1980s)
        .count();
    assert!(
        walkups * 2 > d.compounds.len(),
        "mostly 1980s compounds: {walkups}/{}",
        d.compounds.len()
    );
}

#[test]
fn town_scale_figures() {
    let (s, d) = run(Scale::Town, 1);
    check_integrity(&d);
    check_grids_cover_units(&d);
    assert!(
        (110_000..=140_000).contains(&s.persons),
        "residents {}",
        s.persons
    );
    assert_eq!(s.communities, 12);
    assert!(
        (80..=95).contains(&s.comprehensive_grids),
        "{}",
        s.comprehensive_grids
    );
    assert!(
        (70..=85).contains(&s.dedicated_grids),
        "{}",
        s.dedicated_grids
    );
    let old = s.share_aged_60_plus();
    assert!((0.17..=0.23).contains(&old), "aged 60+ {old}");
    let mean = s.persons as f64 / s.occupied_households as f64;
    assert!((2.4..=2.8).contains(&mean), "household size {mean}");
    assert!((15_000..=40_000).contains(&s.events), "events {}", s.events);
    for m in &s.events_by_month {
        assert!(
            (1_000..=4_000).contains(&m.events),
            "{} has {}",
            m.month,
            m.events
        );
    }

    // Comprehensive grids are imperfect: some well above 500 households, some below 300.
    let mut hh_per_grid: HashMap<_, u32> = HashMap::new();
    let comp: Vec<_> = d
        .grids
        .iter()
        .filter(|g| g.kind == GridKind::Comprehensive)
        .collect();
    for u in &d.units {
        if let Some(g) = comp.iter().find(|g| g.boundary.contains(&u.entrance)) {
            *hh_per_grid.entry(g.id).or_default() += u.households;
        }
    }
    assert!(hh_per_grid.values().any(|n| *n > 600), "{hh_per_grid:?}");
    assert!(comp
        .iter()
        .any(|g| hh_per_grid.get(&g.id).copied().unwrap_or(0) < 300));

    // Micro-grids sometimes split a building's units (re-gridding has work to do).
    let micro: Vec<_> = d
        .grids
        .iter()
        .filter(|g| g.kind == GridKind::Micro)
        .collect();
    let mut micro_of_building: HashMap<_, HashSet<_>> = HashMap::new();
    for u in &d.units {
        if let Some(g) = micro.iter().find(|g| g.boundary.contains(&u.entrance)) {
            micro_of_building
                .entry(u.building)
                .or_default()
                .insert(g.id);
        }
    }
    let split = micro_of_building.values().filter(|s| s.len() > 1).count();
    assert!(split > 10, "{split} buildings split across micro-grids");

    // Heating complaints belong to the heating season.
    let heating = EventCategory::parse("03.03").unwrap();
    let (winter, other): (Vec<_>, Vec<_>) = d
        .events
        .iter()
        .filter(|e| e.category == heating)
        .partition(|e| wangge_data::demo::in_heating_season(e.reported_at));
    assert!(
        winter.len() > 10 * other.len().max(1),
        "{} vs {}",
        winter.len(),
        other.len()
    );

    // Planted canteen gaps really are gaps; elsewhere most households are covered.
    assert!(!s.planted.canteen_gap_communities.is_empty());
    for cov in s
        .planted
        .coverage
        .iter()
        .filter(|c| c.service == geo_core::model::ServiceKind::ElderlyCanteen)
    {
        let gap = s.planted.canteen_gap_communities.contains(&cov.community);
        if gap {
            assert!(cov.share() < 0.5, "planted gap covered {}", cov.share());
        }
    }

    // Planted hotspots: the category's weekly count in the cell jumps.
    assert_eq!(s.planted.hotspots.len(), 3);
    for h in &s.planted.hotspots {
        let cell = h3o::CellIndex::try_from(h.h3_res9).unwrap();
        let cat = EventCategory::parse(&h.category).unwrap();
        let in_cell = |e: &&geo_core::model::Event| {
            e.category == cat
                && h3o::LatLng::new(e.location.y(), e.location.x())
                    .unwrap()
                    .to_cell(h3o::Resolution::Nine)
                    == cell
        };
        let week_of = |e: &geo_core::model::Event| {
            let local = (e.reported_at + chrono::Duration::hours(8)).date_naive();
            h.week_starts
                .iter()
                .any(|w| local >= *w && local < *w + chrono::Duration::days(7))
        };
        let hot = d
            .events
            .iter()
            .filter(in_cell)
            .filter(|e| week_of(e))
            .count();
        let before = d
            .events
            .iter()
            .filter(in_cell)
            .filter(|e| !week_of(e))
            .count();
        let weeks = h.week_starts.len();
        assert!(hot >= weeks * h.extra_per_week as usize, "{hot}");
        let base_rate = before as f64 / (52 - weeks) as f64;
        assert!(
            hot as f64 / weeks as f64 > 4.0 * base_rate.max(1.0),
            "hot {hot} vs base {base_rate}"
        );
    }
    assert!(!s.planted.duplicates.is_empty());
}
