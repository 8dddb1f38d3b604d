//! The store through the ingest path: figures, all-or-nothing writes, scope.

use chrono::Datelike;
use geo_core::ids::{HouseholdId, PersonId};
use geo_core::model::{Person, Sex};
use geo_core::store::{Scope, Store};
use geo_core::Dataset;
use web_viewer::ingest::ingest;

use crate::common::{demo_store, temp_db};

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
fn failed_import_leaves_store_unchanged() {
    let (mut store, _) = demo_store("atomic");
    let before = store.counts(&Scope::Town, 2026).expect("counts");
    let ghost = Person {
        id: PersonId::new(9_999_999_999).expect("id"),
        household: Some(HouseholdId::new(8_888_888_888).expect("id")),
        name: "测试".into(),
        national_id: None,
        phone: None,
        birth_year: 1980,
        sex: Sex::Female,
        tags: vec![],
    };
    let batch = Dataset {
        persons: vec![ghost],
        ..Dataset::default()
    };
    let err = ingest(&mut store, &batch, false, None).expect_err("missing household refused");
    let msg = err.to_string();
    assert!(msg.contains("household 8888888888"), "{msg}");
    assert_eq!(store.counts(&Scope::Town, 2026).expect("counts"), before);

    // A duplicate ID of an already stored person is refused the same way.
    let existing = store
        .persons(
            &Scope::Town,
            None,
            Some(geo_core::store::Page {
                limit: 1,
                offset: 0,
            }),
        )
        .expect("persons");
    let dup = Dataset {
        persons: existing,
        ..Dataset::default()
    };
    assert!(ingest(&mut store, &dup, false, None).is_err());
    assert_eq!(store.counts(&Scope::Town, 2026).expect("counts"), before);
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
        let mut s = Store::open(&path).expect("open");
        web_viewer::cli::demo::generate_into(&mut s, wangge_data::demo::Scale::Community, 3, false)
            .expect("demo");
    }
    let s = Store::open(&path).expect("reopen");
    assert_eq!(
        s.schema_version().expect("version"),
        geo_core::store::SCHEMA_VERSION
    );
    assert!(count(&s, "persons") > 0);
}
