//! What does sealing ID numbers and phones cost an import, and in which
//! layout? 1,000,000 person-shaped rows (as `persons`) into a fresh DuckDB
//! file, the two secret columns in each candidate layout, each twice, plus
//! the cost of the cryptography alone on one thread.
//!
//! `cargo run --release -p geo-core --features store --example sealed_insert`
//!
//! Layouts: `numbers` (schema 3–4: the two as plain `UBIGINT`, no
//! encryption: the floor), `two-blobs` (schema 5–8: each sealed alone,
//! 36-byte `BLOB`s, plus the look-up hash), `one-blob` (both sealed
//! together with a stored 12-byte nonce, 44 bytes), `blob32` (schema 9:
//! together, nonce from the person's ID, 32 bytes), each `-raw` with
//! `USING COMPRESSION uncompressed` (schema 9 is `blob32-raw`), and `u64x4`
//! (the 32 bytes as four `UBIGINT`s). Figures are in
//! `bench/RESULTS-foundation.md`.

use duckdb::arrow::array::{ArrayRef, BinaryBuilder, StringBuilder, UInt16Builder, UInt64Builder};
use duckdb::arrow::datatypes::{DataType, Field, Schema};
use duckdb::arrow::record_batch::RecordBatch;
use duckdb::Connection;
use geo_core::crypt::{Column, KeySecret, Keyring, PersonSecrets};
use geo_core::ids::NationalId;
use std::sync::Arc;
use std::time::Instant;

const N: usize = 1_000_000;
const ROWS: usize = 122_880;

fn secrets() -> Vec<PersonSecrets> {
    let mut t = 0x2545_f491_4f6c_dd1du64;
    (0..N as u64)
        .map(|i| {
            t ^= t << 13;
            t ^= t >> 7;
            t ^= t << 17;
            PersonSecrets {
                id: 60_000_000 + i,
                national_id: NationalId::from_digits(37_148_219_000_000_000 + t % 1_000_000_000)
                    .ok(),
                phone: Some(110_000_000_000_000 + t % 1_000_000_000),
            }
        })
        .collect()
}

fn batches(layout: &str, keys: &Keyring, people: &[PersonSecrets]) -> Vec<RecordBatch> {
    let secret_cols: Vec<(&str, DataType)> = match layout {
        "numbers" => vec![("nid", DataType::UInt64), ("ph", DataType::UInt64)],
        "two-blobs" => vec![
            ("nid", DataType::Binary),
            ("ph", DataType::Binary),
            ("h", DataType::UInt64),
        ],
        "u64x4" => vec![
            ("s0", DataType::UInt64),
            ("s1", DataType::UInt64),
            ("s2", DataType::UInt64),
            ("s3", DataType::UInt64),
            ("h", DataType::UInt64),
        ],
        _ => vec![("s", DataType::Binary), ("h", DataType::UInt64)],
    };
    let mut fields = vec![
        Field::new("id", DataType::UInt64, true),
        Field::new("hh", DataType::UInt64, true),
        Field::new("name", DataType::Utf8, true),
    ];
    fields.extend(
        secret_cols
            .iter()
            .map(|(n, t)| Field::new(*n, t.clone(), true)),
    );
    fields.extend([
        Field::new("y", DataType::UInt16, true),
        Field::new("sex", DataType::Utf8, true),
        Field::new("tags", DataType::Utf8, true),
        Field::new("c", DataType::UInt64, true),
        Field::new("g", DataType::UInt64, true),
        Field::new("m", DataType::UInt64, true),
        Field::new("d", DataType::UInt64, true),
    ]);
    let schema = Arc::new(Schema::new(fields));
    let mut nonces = keys.nonces().expect("nonces");
    people
        .chunks(ROWS)
        .map(|chunk| {
            let mut id = UInt64Builder::new();
            let mut hh = UInt64Builder::new();
            let mut name = StringBuilder::new();
            let mut y = UInt16Builder::new();
            let mut sex = StringBuilder::new();
            let mut tags = StringBuilder::new();
            let mut refs: Vec<UInt64Builder> = (0..4).map(|_| UInt64Builder::new()).collect();
            let mut n1 = UInt64Builder::new();
            let mut n2 = UInt64Builder::new();
            let mut b1 = BinaryBuilder::new();
            let mut b2 = BinaryBuilder::new();
            let mut h = UInt64Builder::new();
            let mut w: Vec<UInt64Builder> = (0..4).map(|_| UInt64Builder::new()).collect();
            for p in chunk {
                let i = p.id;
                id.append_value(i);
                hh.append_value(50_000_000 + i / 3);
                name.append_value(format!("张{}", i % 997));
                y.append_value(1930 + (i % 90) as u16);
                sex.append_value(if i % 2 == 0 { "male" } else { "female" });
                tags.append_value(if i % 23 == 0 { "floating" } else { "" });
                for (k, b) in refs.iter_mut().enumerate() {
                    b.append_value(1000 + (i / 500) * (k as u64 + 1));
                }
                let nid = p.national_id.expect("id");
                let ph = p.phone.expect("phone");
                match layout {
                    "numbers" => {
                        n1.append_value(nid.digits());
                        n2.append_value(ph);
                    }
                    "two-blobs" => {
                        b1.append_value(keys.seal_column(
                            Column::NationalId,
                            i,
                            nid.digits(),
                            nonces.next(),
                        ));
                        b2.append_value(keys.seal_column(Column::Phone, i, ph, nonces.next()));
                        h.append_value(keys.lookup_hash(&nid));
                    }
                    "u64x4" => {
                        let s = keys.seal(p).expect("some");
                        for (k, b) in w.iter_mut().enumerate() {
                            let mut x = [0u8; 8];
                            x.copy_from_slice(&s[8 * k..8 + 8 * k]);
                            b.append_value(u64::from_le_bytes(x));
                        }
                        h.append_value(keys.lookup_hash(&nid));
                    }
                    "blob32-raw" | "blob32" => {
                        let s = keys.seal(p).expect("some");
                        b1.append_value(s);
                        h.append_value(keys.lookup_hash(&nid));
                    }
                    _ => {
                        // A stored 12-byte nonce before the 32 bytes.
                        let mut v = nonces.next().to_vec();
                        v.extend_from_slice(&keys.seal(p).expect("some"));
                        b1.append_value(v);
                        h.append_value(keys.lookup_hash(&nid));
                    }
                }
            }
            let mut cols: Vec<ArrayRef> = vec![
                Arc::new(id.finish()),
                Arc::new(hh.finish()),
                Arc::new(name.finish()),
            ];
            match layout {
                "numbers" => {
                    cols.push(Arc::new(n1.finish()));
                    cols.push(Arc::new(n2.finish()));
                }
                "two-blobs" => {
                    cols.push(Arc::new(b1.finish()));
                    cols.push(Arc::new(b2.finish()));
                    cols.push(Arc::new(h.finish()));
                }
                "u64x4" => {
                    cols.extend(w.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
                    cols.push(Arc::new(h.finish()));
                }
                _ => {
                    cols.push(Arc::new(b1.finish()));
                    cols.push(Arc::new(h.finish()));
                }
            }
            cols.push(Arc::new(y.finish()));
            cols.push(Arc::new(sex.finish()));
            cols.push(Arc::new(tags.finish()));
            cols.extend(refs.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
            RecordBatch::try_new(schema.clone(), cols).expect("batch")
        })
        .collect()
}

fn main() {
    let keys = Keyring::new(&KeySecret::generate().expect("key"));
    let people = secrets();

    // The cryptography alone, one thread.
    for _ in 0..2 {
        let mut nonces = keys.nonces().expect("nonces");
        let t = Instant::now();
        let mut sink = 0u64;
        for p in &people {
            let n = p.national_id.expect("id");
            let a = keys.seal_column(Column::NationalId, p.id, n.digits(), nonces.next());
            let b = keys.seal_column(Column::Phone, p.id, p.phone.expect("phone"), nonces.next());
            sink ^= u64::from(a[20] ^ b[20]);
        }
        let two = t.elapsed().as_secs_f64();
        let t = Instant::now();
        for p in &people {
            let s = keys.seal(p).expect("some");
            sink ^= u64::from(s[20]);
        }
        let one = t.elapsed().as_secs_f64();
        let t = Instant::now();
        for p in &people {
            sink ^= keys.lookup_hash(&p.national_id.expect("id"));
        }
        let hash = t.elapsed().as_secs_f64();
        println!(
            "crypto, 1 thread, {N} people: two seals {two:.3} s, one seal {one:.3} s, look-up hash {hash:.3} s ({sink:x})"
        );
    }

    let layouts = [
        "numbers",
        "two-blobs",
        "one-blob",
        "one-blob-raw",
        "blob32",
        "blob32-raw",
        "u64x4",
    ];
    for layout in layouts.iter().chain(&layouts) {
        let path = std::env::temp_dir().join(format!("sealed-{layout}.duckdb"));
        let _ = std::fs::remove_file(&path);
        let _ = std::fs::remove_file(path.with_extension("duckdb.wal"));
        let t0 = Instant::now();
        let b = batches(layout, &keys, &people);
        let build = t0.elapsed().as_secs_f64();
        let secret_ddl = match *layout {
            "numbers" => "national_id UBIGINT, phone UBIGINT",
            "two-blobs" => "national_id BLOB, phone BLOB, national_id_hash UBIGINT",
            "u64x4" => "s0 UBIGINT, s1 UBIGINT, s2 UBIGINT, s3 UBIGINT, national_id_hash UBIGINT",
            "blob32-raw" | "one-blob-raw" => {
                "secrets BLOB USING COMPRESSION uncompressed, national_id_hash UBIGINT"
            }
            _ => "secrets BLOB, national_id_hash UBIGINT",
        };
        let mut c = Connection::open(&path).expect("duckdb");
        c.execute_batch(&format!(
            "CREATE TABLE persons (id UBIGINT NOT NULL, household UBIGINT, name VARCHAR NOT NULL,
               {secret_ddl}, birth_year USMALLINT NOT NULL, sex VARCHAR NOT NULL,
               tags VARCHAR NOT NULL, community UBIGINT, comprehensive UBIGINT, micro UBIGINT,
               dedicated UBIGINT)"
        ))
        .expect("duckdb");
        let t0 = Instant::now();
        let tx = c.transaction().expect("duckdb");
        {
            let mut a = tx.appender("persons").expect("duckdb");
            for rb in &b {
                a.append_record_batch(rb.clone()).expect("duckdb");
            }
            a.flush().expect("duckdb");
        }
        let t1 = t0.elapsed();
        tx.commit().expect("duckdb");
        let t2 = t0.elapsed();
        drop(c);
        let close = t0.elapsed() - t2;
        let mb = std::fs::metadata(&path).map_or(0, |m| m.len()) as f64 / 1e6;
        println!(
            "{layout:>10}: build batches (incl. sealing, 1 thread) {build:.2} s, append {:.2} s, commit {:.2} s, close {:.2} s, {mb:.0} MB",
            t1.as_secs_f64(),
            (t2 - t1).as_secs_f64(),
            close.as_secs_f64()
        );
        let _ = std::fs::remove_file(&path);
    }
}
