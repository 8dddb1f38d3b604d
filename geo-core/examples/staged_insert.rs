//! Does DuckDB store a large batch faster through an in-memory temp table
//! and one parallel `INSERT INTO .. SELECT` than through a direct append?
//! 1,000,000 person-shaped rows (12 columns, as `persons`) as Arrow record
//! batches into a fresh DuckDB file, each way twice, in one transaction.
//!
//! `cargo run --release -p geo-core --features store --example staged_insert`
//!
//! Modes: `direct` (append to the table), `staged` (append to a temp table,
//! then one `INSERT .. SELECT`), `unordered` (staged with
//! `preserve_insertion_order = false`: rows no longer in file order),
//! `plain-ids` (direct, with `national_id` and `phone` stored uncompressed),
//! `numeric-ids` (direct, the two as `UBIGINT` numbers, as schema v3 keeps
//! them)
//! and `after-5000` (direct, into a table already holding 5,000 rows, whose
//! partial last row group the checkpoint at close rewrites). Each line gives
//! the time to append, to commit, to close, and the file's size.
//! Figures are in `bench/RESULTS-foundation.md`.

use duckdb::arrow::array::{ArrayRef, StringBuilder, UInt16Builder, UInt64Builder};
use duckdb::arrow::datatypes::{DataType, Field, Schema};
use duckdb::arrow::record_batch::RecordBatch;
use duckdb::Connection;
use std::sync::Arc;
use std::time::Instant;

const DDL: &str = "(id UBIGINT NOT NULL, household UBIGINT, name VARCHAR NOT NULL,
  national_id VARCHAR, phone VARCHAR, birth_year USMALLINT NOT NULL, sex VARCHAR NOT NULL,
  tags VARCHAR NOT NULL, community UBIGINT, comprehensive UBIGINT, micro UBIGINT, dedicated UBIGINT)";

fn batches(n: usize) -> Vec<RecordBatch> {
    let mut t = 1u64;
    let schema = Arc::new(Schema::new(
        [
            ("id", 0),
            ("h", 0),
            ("n", 1),
            ("nid", 1),
            ("ph", 1),
            ("y", 2),
            ("s", 1),
            ("t", 1),
            ("c", 0),
            ("g", 0),
            ("m", 0),
            ("d", 0),
        ]
        .iter()
        .map(|(k, ty)| {
            Field::new(
                *k,
                match ty {
                    0 => DataType::UInt64,
                    1 => DataType::Utf8,
                    _ => DataType::UInt16,
                },
                true,
            )
        })
        .collect::<Vec<_>>(),
    ));
    let mut out = vec![];
    for start in (0..n).step_by(122_880) {
        let end = (start + 122_880).min(n);
        let mut u: Vec<UInt64Builder> = (0..6).map(|_| UInt64Builder::new()).collect();
        let mut s: Vec<StringBuilder> = (0..5).map(|_| StringBuilder::new()).collect();
        let mut y = UInt16Builder::new();
        for i in start..end {
            t ^= t << 13;
            t ^= t >> 7;
            t ^= t << 17;
            u[0].append_value(i as u64);
            u[1].append_value(50_000_000 + i as u64 / 3);
            s[0].append_value(format!("张{}", i % 997));
            s[1].append_value(format!("3714821{:011}", t % 100_000_000_000));
            s[2].append_value(format!("13{:09}", t % 1_000_000_000));
            y.append_value(1930 + (t % 90) as u16);
            s[3].append_value(if t.is_multiple_of(2) {
                "male"
            } else {
                "female"
            });
            s[4].append_value(if t.is_multiple_of(23) { "floating" } else { "" });
            for (k, b) in u.iter_mut().enumerate().skip(2) {
                b.append_value(1000 + (i as u64 / 500) * k as u64);
            }
        }
        let mut cols: Vec<ArrayRef> = vec![];
        let mut uf: Vec<ArrayRef> = u
            .iter_mut()
            .map(|b| Arc::new(b.finish()) as ArrayRef)
            .collect();
        let mut sf: Vec<ArrayRef> = s
            .iter_mut()
            .map(|b| Arc::new(b.finish()) as ArrayRef)
            .collect();
        cols.push(uf.remove(0));
        cols.push(uf.remove(0));
        cols.push(sf.remove(0));
        cols.push(sf.remove(0));
        cols.push(sf.remove(0));
        cols.push(Arc::new(y.finish()));
        cols.push(sf.remove(0));
        cols.push(sf.remove(0));
        cols.extend(uf);
        out.push(RecordBatch::try_new(schema.clone(), cols).expect("duckdb"));
    }
    out
}

fn main() {
    let n = 1_000_000;
    let b = batches(n);
    let modes = [
        "direct",
        "staged",
        "unordered",
        "plain-ids",
        "numeric-ids",
        "after-5000",
    ];
    for mode in modes.iter().chain(&modes).copied() {
        let path = std::env::temp_dir().join(format!("stage-{mode}.duckdb"));
        let _ = std::fs::remove_file(&path);
        let _ = std::fs::remove_file(path.with_extension("duckdb.wal"));
        let mut c = Connection::open(&path).expect("duckdb");
        let ddl = match mode {
            "plain-ids" => DDL.replace(
                "national_id VARCHAR, phone VARCHAR",
                "national_id VARCHAR USING COMPRESSION uncompressed, \
                 phone VARCHAR USING COMPRESSION uncompressed",
            ),
            "numeric-ids" => DDL.replace(
                "national_id VARCHAR, phone VARCHAR",
                "national_id UBIGINT, phone UBIGINT",
            ),
            _ => DDL.to_string(),
        };
        // The numbers are made before the clock starts, as the text is.
        let numbers = (mode == "numeric-ids").then(|| numeric_ids(&b));
        c.execute_batch(&format!("CREATE TABLE persons {ddl}"))
            .expect("duckdb");
        if mode == "after-5000" {
            c.execute_batch(
                "INSERT INTO persons (id, name, birth_year, sex, tags)
                   SELECT range + 10000000, 'x', 1950, 'male', '' FROM range(5000);
                 CHECKPOINT;",
            )
            .expect("duckdb");
        }
        let t0 = Instant::now();
        let tx = c.transaction().expect("duckdb");
        let staged = matches!(mode, "staged" | "unordered");
        let target = if staged {
            tx.execute_batch(&format!("CREATE TEMP TABLE stage {DDL}"))
                .expect("duckdb");
            "stage"
        } else {
            "persons"
        };
        {
            let mut a = tx.appender(target).expect("duckdb");
            for rb in numbers.as_ref().unwrap_or(&b) {
                a.append_record_batch(rb.clone()).expect("duckdb");
            }
            a.flush().expect("duckdb");
        }
        let t1 = t0.elapsed();
        if mode == "unordered" {
            tx.execute_batch("SET preserve_insertion_order = false")
                .expect("duckdb");
        }
        if staged {
            tx.execute_batch("INSERT INTO persons SELECT * FROM stage; DROP TABLE stage;")
                .expect("duckdb");
        }
        tx.commit().expect("duckdb");
        let t2 = t0.elapsed();
        let cnt: u64 = c
            .query_row("SELECT count(*) FROM persons", [], |r| r.get(0))
            .expect("duckdb");
        let t3 = t0.elapsed();
        drop(c);
        let mb = std::fs::metadata(&path).map_or(0, |m| m.len()) as f64 / 1e6;
        println!(
            "{mode:>10}: append {:.2} s, commit {:.2} s, close {:.2} s, {cnt} rows, {mb:.0} MB",
            t1.as_secs_f64(),
            (t2 - t1).as_secs_f64(),
            (t0.elapsed() - t3).as_secs_f64()
        );
    }
}

/// The batches with `national_id` and `phone` as numbers: the ID's 17
/// digits, the phone's digit count × 10¹³ plus its digits (schema v3).
fn numeric_ids(batches: &[RecordBatch]) -> Vec<RecordBatch> {
    use duckdb::arrow::array::{Array, StringArray, UInt64Array};
    batches
        .iter()
        .map(|rb| {
            let mut cols: Vec<ArrayRef> = rb.columns().to_vec();
            let mut fields: Vec<Field> = rb
                .schema()
                .fields()
                .iter()
                .map(|f| f.as_ref().clone())
                .collect();
            for c in [3, 4] {
                let text = cols[c]
                    .as_any()
                    .downcast_ref::<StringArray>()
                    .expect("text column");
                let numbers: UInt64Array = (0..text.len())
                    .map(|i| {
                        let t = text.value(i);
                        let n: u64 = t[..t.len().min(17)].parse().ok()?;
                        Some(if c == 4 {
                            t.len() as u64 * 10_000_000_000_000 + n
                        } else {
                            n
                        })
                    })
                    .collect();
                cols[c] = Arc::new(numbers);
                fields[c] = Field::new(fields[c].name(), DataType::UInt64, true);
            }
            RecordBatch::try_new(Arc::new(Schema::new(fields)), cols).expect("duckdb")
        })
        .collect()
}
