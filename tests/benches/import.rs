//! Import rate of people from CSV into a real DuckDB file, end to end,
//! through the code `wangge import persons FILE` runs.
//!
//! Setup (not timed): the community demo town (grids, buildings) plus
//! ROWS / 3 households spread over its buildings, stored in a DuckDB file.
//! The CSV holds ROWS people whose `household_id`s all exist in that store,
//! so every reference is checked against it, as in a real import.
//!
//! Timed: (1) the phases one by one — read and validate the CSV with the
//! store as reference lookup (`cli::import::read_elements_from`: one batch
//! probe per referenced kind), grid assignment (人进户) with the persons'
//! sealing started beside it (`Store::seal_ahead`), the one write
//! transaction (`Store::write_sealed`) — and (2) the whole CLI
//! (`cli::import::run_with`, the function `wangge import` calls) on a copy
//! of the same store.
//!
//! ID numbers and phones are encrypted at rest (each person's pair sealed
//! together with AES-256-GCM-SIV, and a keyed look-up hash,
//! `geo_core::crypt`): the sealing of the batch is timed alone too, and the
//! rate without it is printed beside the rate with it.
//!
//! `cargo bench -p wangge-tests --bench import [-- ROWS]` (default 1,000,000).

use std::io::Write;
use std::time::Instant;

use geo_core::crypt::{seal_all, PersonSecrets};
use geo_core::ids::{HouseholdId, NationalId};
use geo_core::io::{ElementKind, ImportOptions};
use geo_core::model::{Household, Tenure};
use geo_core::store::{LoadSet, Scope, Store};
use geo_core::Dataset;
use web_viewer::cli::import::{read_elements_from, run_with, ImportArgs};
use web_viewer::ingest::{assign, grid_index, ingest};

/// First household ID of the setup (after the demo's own).
const HOUSEHOLD0: u64 = 50_000_000;

fn write_people(path: &std::path::Path, n: usize) -> u64 {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).expect("csv"));
    writeln!(
        w,
        "id,household_id,name,national_id,phone,birth_year,sex,tags"
    )
    .expect("write");
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for i in 0..n as u64 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let year = 1930 + (state % 90) as u32;
        let body = format!(
            "371482{year:04}{:02}{:02}{:03}",
            1 + state % 12,
            1 + (state >> 8) % 28,
            (state >> 16) % 1000
        );
        let check = NationalId::check_char(&body) as char;
        let tag = match state % 23 {
            0 => "elderly_alone",
            1 => "party_member",
            2 => "floating",
            _ => "",
        };
        let sex = if state & 1 == 0 { "male" } else { "female" };
        writeln!(
            w,
            "{},{},张{},{body}{check},13{:09},{year},{sex},{tag}",
            60_000_000 + i,
            HOUSEHOLD0 + i / 3,
            i % 997,
            state % 1_000_000_000
        )
        .expect("write");
    }
    w.flush().expect("flush");
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// Opens the store with its key file beside it (created on first use).
fn open_store(db: &std::path::Path) -> Store {
    let key = web_viewer::cli::key::default_key_path(db);
    let keys = if key.exists() {
        web_viewer::cli::key::load(&key).expect("key file")
    } else {
        web_viewer::cli::key::create(&key).expect("key file")
    };
    Store::open(db, &keys).expect("store")
}

fn rate(n: usize, s: f64) -> String {
    format!("{:.0}", n as f64 / s)
}

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let dir = std::env::temp_dir().join(format!("wangge-bench-import-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");

    // Setup: demo town + n/3 households, in a real DuckDB file.
    let t = Instant::now();
    let db = dir.join("bench.duckdb");
    let households = n.div_ceil(3);
    {
        let mut store = open_store(&db);
        web_viewer::cli::demo::generate_into(
            &mut store,
            wangge_data::demo::Scale::Community,
            7,
            wangge_data::demo::fixed_end(),
            false,
        )
        .expect("demo");
        let buildings: Vec<_> = store
            .load(&Scope::Town, LoadSet::Spatial)
            .expect("load")
            .buildings
            .iter()
            .filter(|b| b.usage.code() == "residential")
            .map(|b| b.id)
            .collect();
        assert!(!buildings.is_empty(), "the demo has residential buildings");
        let batch = Dataset {
            households: (0..households as u64)
                .map(|i| Household {
                    id: HouseholdId::new(HOUSEHOLD0 + i).expect("id"),
                    building: buildings[i as usize % buildings.len()],
                    unit: None,
                    floor: 1 + (i % 18) as i16,
                    room: format!("{}", 101 + i % 4),
                    size: 3,
                    tenure: Tenure::Owned,
                    group_rented: false,
                    party_member: false,
                })
                .collect(),
            ..Dataset::default()
        };
        ingest(&mut store, &batch, false, None).expect("households");
    }
    let copy = dir.join("bench-cli.duckdb");
    std::fs::copy(&db, &copy).expect("copy store");
    let key = web_viewer::cli::key::default_key_path(&db);
    std::fs::copy(&key, web_viewer::cli::key::default_key_path(&copy)).expect("copy key");
    let keys = web_viewer::cli::key::load(&key).expect("key");
    let csv = dir.join("people.csv");
    let bytes = write_people(&csv, n);
    let setup_s = t.elapsed().as_secs_f64();

    // (1) Phase by phase.
    let mut store = open_store(&db);
    let t0 = Instant::now();
    let batch = read_elements_from(ElementKind::Persons, &csv, ImportOptions::default(), &store)
        .expect("parse");
    let parse_s = t0.elapsed().as_secs_f64();
    assert_eq!(batch.dataset.persons.len(), n);
    let ts = Instant::now();
    let sealed = seal_all(&keys, &batch.dataset.persons, |p| PersonSecrets {
        id: p.id.get(),
        national_id: p.national_id,
        phone: p.phone.map(|n| n.code()),
    });
    let seal_s = ts.elapsed().as_secs_f64();
    assert_eq!(sealed.len(), n);
    drop(sealed);
    let t1 = Instant::now();
    // As `wangge import` does: the seals are made on the other cores while
    // the assignment runs on one, and the write waits for them.
    let sealing = store.seal_ahead(&batch.dataset.persons);
    let index = grid_index(&batch.dataset, &store, false).expect("index");
    let (refs, report) = assign(&batch.dataset, &index, Some(&store)).expect("assign");
    let assign_s = t1.elapsed().as_secs_f64();
    assert_eq!(report.outside_every_grid, 0, "every person reaches a grid");
    let t2 = Instant::now();
    let w = store
        .write_sealed(&batch.dataset, &refs, None, Some(sealing))
        .expect("write");
    let write_s = t2.elapsed().as_secs_f64();
    assert_eq!(w.rows as usize, n);
    let t4 = Instant::now();
    drop(batch);
    drop(refs);
    drop(store);
    let close_s = t4.elapsed().as_secs_f64();

    // (2) The whole CLI, on a copy of the same store.
    let args = ImportArgs::from_argv(["import", "persons", csv.to_str().expect("utf-8 path")])
        .expect("args");
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let t3 = Instant::now();
    let outcome = run_with(&copy, args, &mut out, &mut err).expect("cli import");
    let cli_s = t3.elapsed().as_secs_f64();
    assert_eq!(
        outcome.rows as usize,
        n,
        "{}",
        String::from_utf8_lossy(&err)
    );

    println!(
        "people import: {n} rows, {:.1} MB CSV, {households} households in the store (setup {setup_s:.1} s)",
        bytes as f64 / 1e6
    );
    println!("| step | seconds | people/s |");
    println!("|---|---:|---:|");
    println!(
        "| read + validate CSV, household_ids probed in the store (one batch probe) | {parse_s:.2} | {} |",
        rate(n, parse_s)
    );
    println!(
        "| assign grids (人进户: households' stored refs), the sealing started beside it | {assign_s:.2} | {} |",
        rate(n, assign_s)
    );
    println!(
        "| DuckDB write (checks, the seals awaited, one transaction) | {write_s:.2} | {} |",
        rate(n, write_s)
    );
    println!(
        "| of which at most: seal ID numbers and phones (AES-256-GCM-SIV + keyed hash, all cores), timed alone | {seal_s:.2} | {} |",
        rate(n, seal_s)
    );
    println!(
        "| free the batch, close the store (DuckDB checkpoint) | {close_s:.2} | {} |",
        rate(n, close_s)
    );
    let total = parse_s + assign_s + write_s + close_s;
    println!("| sum of the phases | {total:.2} | {} |", rate(n, total));
    println!(
        "| `wangge import persons` end to end (run_with: open, read, assign, write) | {cli_s:.2} | {} |",
        rate(n, cli_s)
    );
    println!(
        "| the same without the sealing time (a plain store's rate, at most) | {:.2} | {} |",
        cli_s - seal_s,
        rate(n, cli_s - seal_s)
    );
    println!(
        "import with encryption: {} people/s; without it: {} people/s (aim: 500000)",
        rate(n, cli_s),
        rate(n, cli_s - seal_s)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
