//! The store through the ingest path: figures, all-or-nothing writes, scope.

use chrono::Datelike;
use geo_core::ids::{HouseholdId, PersonId};
use geo_core::model::{Person, Sex};
use geo_core::store::{Scope, Store};
use geo_core::Dataset;
use web_viewer::ingest::ingest;

use crate::common::{demo_store, temp_db};

/// A person of `household` with no personal data beyond a test name.
fn test_person(id: u64, household: HouseholdId) -> Person {
    Person {
        id: PersonId::new(id).expect("id"),
        household: Some(household),
        name: "测试".into(),
        national_id: None,
        phone: None,
        birth_year: 1980,
        sex: Sex::Female,
        tags: vec![],
    }
}

fn count(store: &Store, kind: &str) -> u64 {
    let c = store.counts(&Scope::Town, 2026).expect("counts");
    c.elements
        .iter()
        .find(|(k, _)| k == kind)
        .map(|(_, n)| *n)
        .expect("kind counted")
}

#[test]
fn demo_community_is_linked_and_assigned() {
    let (store, _) = demo_store("linked");
    let c = store
        .counts(&Scope::Town, chrono::Utc::now().year())
        .expect("counts");
    assert!(
        (9_000..=15_000).contains(&c.residents),
        "residents {}",
        c.residents
    );
    assert_eq!(c.store_version, geo_core::store::SCHEMA_VERSION);
    for (kind, n) in &c.unassigned {
        if kind == "events" {
            // Reports may come from the streets around the grids, but rarely.
            let total = count(&store, "events");
            assert!(*n * 100 < total, "{n} of {total} events outside every grid");
        } else {
            assert_eq!(*n, 0, "{kind} outside every grid");
        }
    }
    assert!(count(&store, "households") > 3_000);
}

#[test]
fn id_probes_answer_the_same_for_ranges_gaps_and_missing_ids() {
    let (store, _) = demo_store("probes");
    let mut stored: Vec<u64> = store
        .households(&Scope::Town, None, None)
        .expect("households")
        .iter()
        .map(|h| h.id.get())
        .collect();
    stored.sort_unstable();
    let max = *stored.last().expect("households");
    let set = |v: &[u64]| {
        v.iter()
            .copied()
            .collect::<std::collections::HashSet<u64>>()
    };
    let probe = |ids: &[u64]| {
        store
            .existing_ids(geo_core::io::ElementKind::Households, ids)
            .expect("probe")
    };
    // Consecutive IDs all stored (a range), with gaps (a join), and with
    // missing ones of each shape: the found ones, and only those.
    let run: Vec<u64> = stored
        .windows(3)
        .find(|w| w[2] == w[0] + 2)
        .expect("a run")
        .to_vec();
    assert_eq!(probe(&run), set(&run));
    let gaps = [stored[0], stored[stored.len() / 2], max];
    assert_eq!(probe(&gaps), set(&gaps));
    assert_eq!(
        probe(&[max - 1, max, max + 1]),
        set(&[max - 1, max])
            .intersection(&set(&stored))
            .copied()
            .collect()
    );
    assert_eq!(probe(&[stored[0], max + 7]), set(&[stored[0]]));
    assert!(probe(&[max + 1, max + 2]).is_empty());
    // The stored grid references come back for the stored IDs only.
    let refs = store
        .refs_of(
            geo_core::io::ElementKind::Households,
            &[run[0], run[1], max + 3],
        )
        .expect("refs");
    assert_eq!(refs.len(), 2);
    let again = store
        .refs_of(
            geo_core::io::ElementKind::Households,
            &[run[0], max + 9, run[2] + 1_000_000_000],
        )
        .expect("refs");
    assert_eq!(again.get(&run[0]), refs.get(&run[0]));
    assert!(
        refs[&run[0]].community.is_some(),
        "demo households are assigned"
    );
}

/// The first row only.
fn first_row() -> Option<geo_core::store::Page> {
    Some(geo_core::store::Page {
        limit: 1,
        offset: 0,
    })
}

#[test]
fn failed_import_leaves_store_unchanged() {
    let (mut store, _) = demo_store("atomic");
    let before = store.counts(&Scope::Town, 2026).expect("counts");
    let stored = store
        .households(&Scope::Town, None, first_row())
        .expect("households")[0]
        .id;
    let ghost = HouseholdId::new(8_888_888_888).expect("id");
    // Runs of people per household, as files list them: the write checks
    // each household once and names the first person of the first ghost.
    let persons = vec![
        test_person(9_000_000_001, stored),
        test_person(9_000_000_002, stored),
        test_person(9_000_000_003, ghost),
        test_person(9_000_000_004, ghost),
        test_person(9_000_000_005, stored),
    ];
    let batch = Dataset {
        persons,
        ..Dataset::default()
    };
    let err = ingest(&mut store, &batch, false, None).expect_err("missing household refused");
    let msg = err.to_string();
    assert!(msg.contains("household 8888888888"), "{msg}");
    assert_eq!(
        msg,
        "person 9000000003: household 8888888888 does not exist in the file or the store"
    );
    assert_eq!(store.counts(&Scope::Town, 2026).expect("counts"), before);

    // A duplicate ID of an already stored person is refused the same way.
    let existing = store
        .persons(&Scope::Town, None, first_row())
        .expect("persons");
    let dup = Dataset {
        persons: existing,
        ..Dataset::default()
    };
    assert!(ingest(&mut store, &dup, false, None).is_err());
    assert_eq!(store.counts(&Scope::Town, 2026).expect("counts"), before);
}

/// Everything the store holds, as text: the counts and every element of
/// every kind exported unmasked (the export reads through the store's one
/// repository layer, ordered by ID).
fn snapshot(store: &Store) -> (geo_core::store::Counts, Vec<u8>) {
    use geo_core::io::{export, ElementKind, Masking};
    let counts = store.counts(&Scope::Town, 2026).expect("counts");
    let all = store
        .load(&Scope::Town, geo_core::store::LoadSet::All)
        .expect("load");
    let mut text = Vec::new();
    for &kind in ElementKind::ALL {
        text.extend_from_slice(format!("== {}\n", kind.as_str()).as_bytes());
        export::write_csv(kind, &all, &mut text, Masking::Reveal).expect("export");
    }
    (counts, text)
}

#[test]
fn import_failing_inside_the_write_transaction_leaves_store_unchanged() {
    use geo_core::ids::PlaceId;
    use geo_core::model::{Household, Tenure};
    let (mut store, _) = demo_store("atomic-tx");
    let before = snapshot(&store);
    let stored = store
        .load(&Scope::Town, geo_core::store::LoadSet::Spatial)
        .expect("load");
    let building = stored.buildings[0].id;
    // 500 new households and 1,000 people living in them: every check made
    // before the transaction passes, and they are written (households and
    // persons come before places in the transaction)…
    let households: Vec<Household> = (0..500u64)
        .map(|i| Household {
            id: HouseholdId::new(7_000_000_000 + i).expect("id"),
            building,
            unit: None,
            floor: 1,
            room: format!("{}", 101 + i),
            size: 2,
            tenure: Tenure::Rented,
            group_rented: false,
            party_member: false,
        })
        .collect();
    let persons: Vec<Person> = (0..1_000u64)
        .map(|i| test_person(7_100_000_000 + i, households[(i / 2) as usize].id))
        .collect();
    // …then a new place, and one whose ID is already stored: only the
    // places table's primary key, inside the transaction, refuses it.
    let mut fresh = stored.places[0].clone();
    fresh.id = PlaceId::new(7_200_000_000).expect("id");
    let dup = stored.places[1].clone();
    let dup_id = dup.id.get();
    let batch = Dataset {
        households,
        persons,
        places: vec![fresh, dup],
        ..Dataset::default()
    };
    let prov = geo_core::store::Provenance {
        kind: "mixed".into(),
        source: "atomic.csv".into(),
        crs: "wgs84".into(),
    };
    let err = ingest(&mut store, &batch, false, Some(&prov)).expect_err("duplicate place refused");
    let msg = err.to_string();
    let lower = msg.to_lowercase();
    assert!(
        msg.contains(&dup_id.to_string())
            && (lower.contains("constraint") || lower.contains("duplicate key")),
        "the database refused the batch mid-transaction: {msg}"
    );
    let after = snapshot(&store);
    assert_eq!(after.0, before.0, "counts unchanged");
    assert!(
        after.1 == before.1,
        "content unchanged ({} vs {} bytes)",
        after.1.len(),
        before.1.len()
    );
    // The same store still takes the batch once the duplicate is gone.
    let mut ok = batch.clone();
    ok.places.pop();
    let r = ingest(&mut store, &ok, false, Some(&prov)).expect("store takes the valid batch");
    assert_eq!(r.rows, 1_501);
    assert_eq!(
        count(&store, "persons"),
        count_of(&before.0, "persons") + 1_000
    );
}

fn count_of(c: &geo_core::store::Counts, kind: &str) -> u64 {
    c.elements
        .iter()
        .find(|(k, _)| k == kind)
        .map(|(_, n)| *n)
        .expect("kind counted")
}

#[test]
fn worker_scope_sees_only_own_grid() {
    let (store, _) = demo_store("scope");
    let grids = store.grids().expect("grids");
    let g = grids
        .iter()
        .find(|g| g.kind == geo_core::model::GridKind::Comprehensive)
        .expect("a comprehensive grid");
    let scope = Scope::Grids([g.id].into_iter().collect());
    let mine = store.households(&scope, None, None).expect("households");
    let all = store
        .households(&Scope::Town, None, None)
        .expect("households");
    assert!(
        !mine.is_empty() && mine.len() < all.len(),
        "{} of {}",
        mine.len(),
        all.len()
    );
    let none = store
        .households(&Scope::Grids(Default::default()), None, None)
        .expect("households");
    assert!(none.is_empty());
}

#[test]
fn reopen_keeps_data_and_version() {
    let path = temp_db("reopen");
    {
        let mut s = crate::common::open_store(&path);
        web_viewer::cli::demo::generate_into(
            &mut s,
            wangge_data::demo::Scale::Community,
            3,
            wangge_data::demo::fixed_end(),
            false,
        )
        .expect("demo");
    }
    let s = crate::common::open_store(&path);
    assert_eq!(
        s.schema_version().expect("version"),
        geo_core::store::SCHEMA_VERSION
    );
    assert!(count(&s, "persons") > 0);
}

#[test]
fn cli_import_with_a_wrong_crs_warns_with_the_count_outside_every_grid() {
    use geo_core::crs::Crs;
    use geo_core::geometry::representative_point;
    use web_viewer::cli::import::{run_with, ImportArgs};
    let (store, db) = demo_store("wrong-crs");
    // True WGS84 positions: one inside each comprehensive grid.
    let points: Vec<_> = store
        .grids()
        .expect("grids")
        .iter()
        .filter(|g| g.kind == geo_core::model::GridKind::Comprehensive)
        .filter_map(|g| representative_point(&g.boundary.clone().into()))
        .collect();
    let index = web_viewer::ingest::grid_index(&Dataset::default(), &store, false).expect("index");
    // Read as BD-09 they move ~600 m: those that leave the town entirely.
    let expected = points
        .iter()
        .filter(|&&p| index.grids_at(Crs::Bd09.to_wgs84(p)).is_unassigned())
        .count() as u64;
    let n = points.len() as u64;
    assert!(
        expected > 0,
        "the fixture must put points outside: {expected} of {n}"
    );
    let places_before = count(&store, "places");
    drop(store); // the CLI opens the file itself
    let csv = db.with_file_name("pois.csv");
    let mut text = String::from("id,name,category,lon,lat\n");
    for (i, p) in points.iter().enumerate() {
        text.push_str(&format!(
            "{},门店{i},poi,{},{}\n",
            8_000_000_000u64 + i as u64,
            p.x,
            p.y
        ));
    }
    std::fs::write(&csv, text).expect("csv");
    let file = csv.to_str().expect("utf-8 path");

    let run = |argv: &[&str]| {
        let args = ImportArgs::from_argv(argv.iter().copied()).expect("arguments");
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let outcome = run_with(&db, args, &mut out, &mut err).expect("import runs");
        (
            outcome,
            String::from_utf8(out).expect("utf-8"),
            String::from_utf8(err).expect("utf-8"),
        )
    };
    let (o, out, err) = run(&["import", "places", file, "--crs", "bd09", "--dry-run"]);
    assert_eq!((o.located, o.outside_every_grid), (n, expected), "{err}");
    assert!(
        err.contains(&format!(
            "warning: {expected} of {n} located elements fall inside no grid — is --crs bd09 right?"
        )),
        "{err}"
    );
    assert!(
        out.contains(&format!(
            "{n} located elements, {expected} outside every grid"
        )) && out.contains("nothing was stored"),
        "{out}"
    );

    // Declared right, nothing is outside, no warning, and the import stores.
    let (o, _, err) = run(&["import", "places", file, "--crs", "wgs84"]);
    assert_eq!(o.outside_every_grid, 0, "{err}");
    assert!(!err.contains("warning"), "{err}");
    assert_eq!(o.rows, n);
    let store = crate::common::open_store(&db);
    assert_eq!(count(&store, "places"), places_before + n);
}
