//! Import rate of people from CSV into a real DuckDB file, end to end:
//! parse (geo_core::io) → assign → one store transaction.
//!
//! `cargo bench -p wangge-tests --bench import [-- ROWS]` (default 1,000,000).

use std::io::Write;
use std::time::Instant;

use geo_core::ids::NationalId;
use geo_core::io::{import, ElementKind, ImportOptions};
use geo_core::store::Store;
use web_viewer::ingest::ingest;

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let dir = std::env::temp_dir().join(format!("wangge-bench-import-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let csv = dir.join("people.csv");
    {
        let mut w = std::io::BufWriter::new(std::fs::File::create(&csv).expect("csv"));
        writeln!(
            w,
            "id,household_id,name,national_id,phone,birth_year,sex,tags"
        )
        .expect("write");
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for i in 1..=n {
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
                "{i},,张{},{body}{check},13{:09},{year},{sex},{tag}",
                i % 997,
                state % 1_000_000_000
            )
            .expect("write");
        }
    }
    let bytes = std::fs::metadata(&csv).map(|m| m.len()).unwrap_or(0);

    let t0 = Instant::now();
    let batch = import::read(ElementKind::Persons, &csv, &ImportOptions::default()).expect("parse");
    let parse_s = t0.elapsed().as_secs_f64();

    let db = dir.join("bench.duckdb");
    let mut store = Store::open(&db).expect("store");
    let t1 = Instant::now();
    let r = ingest(&mut store, &batch.dataset, false, None).expect("store");
    let store_s = t1.elapsed().as_secs_f64();
    let total = parse_s + store_s;

    println!(
        "people import, {n} rows, {:.1} MB CSV, into {}",
        bytes as f64 / 1e6,
        db.display()
    );
    println!("| step | seconds | rows/s |");
    println!("|---|---:|---:|");
    println!(
        "| parse + validate CSV | {parse_s:.2} | {:.0} |",
        n as f64 / parse_s
    );
    println!(
        "| assign + DuckDB write (one transaction) | {store_s:.2} | {:.0} |",
        n as f64 / store_s
    );
    println!("| total | {total:.2} | {:.0} |", n as f64 / total);
    assert_eq!(r.rows as usize, n);
    let _ = std::fs::remove_dir_all(&dir);
}
