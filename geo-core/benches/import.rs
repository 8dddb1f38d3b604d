//! Import throughput: writes seeded people to a temporary CSV and times
//! `io::import::read` (decode, parse, validate every ID checksum, duplicate
//! and reference checks). Run with `cargo bench -p geo-core --bench import`.

use std::collections::HashSet;
use std::io::Write;
use std::time::Instant;

use geo_core::ids::NationalId;
use geo_core::io::{import, ElementKind, ImportOptions};

/// SplitMix64: a tiny seeded generator, enough for benchmark inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const SURNAMES: &[&str] = &["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴"];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "秀英", "敏", "静", "强", "磊", "洋", "艳", "勇", "军",
];
const TAGS: &[&str] = &["独居老人", "党员", "低保", "流动人口", "残疾人", "退役军人"];

fn write_people(path: &std::path::Path, n: u64, seed: u64) -> std::io::Result<u64> {
    let mut rng = Rng(seed);
    let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(
        w,
        "id,household_id,name,national_id,phone,birth_year,sex,tags"
    )?;
    for id in 1..=n {
        let year = 1930 + rng.below(90);
        let male = rng.below(2) == 0;
        let seq = rng.below(500) * 2 + u64::from(male);
        let first17 = format!(
            "411481{year}{:02}{:02}{seq:03}",
            1 + rng.below(12),
            1 + rng.below(28)
        );
        let check = NationalId::check_char(&first17) as char;
        let name = format!(
            "{}{}",
            SURNAMES[rng.below(SURNAMES.len() as u64) as usize],
            GIVEN[rng.below(GIVEN.len() as u64) as usize]
        );
        let phone = 13_000_000_000 + rng.below(999_999_999);
        let tags = match rng.below(10) {
            0 => TAGS[rng.below(TAGS.len() as u64) as usize].to_string(),
            1 => format!("{};党员", TAGS[rng.below(3) as usize]),
            _ => String::new(),
        };
        writeln!(
            w,
            "{id},{},{name},{first17}{check},{phone},{year},{},{tags}",
            1 + (id - 1) / 3,
            if male { "男" } else { "女" }
        )?;
    }
    w.flush()?;
    Ok(std::fs::metadata(path)?.len())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("wangge-import-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    println!("| input | rows | MB | references | parse s | rows/s | MB/s |");
    println!("|---|---:|---:|---|---:|---:|---:|");
    for (label, n) in [("persons 100k", 100_000u64), ("persons 1M", 1_000_000)] {
        let path = dir.join(format!("persons-{n}.csv"));
        let bytes = write_people(&path, n, 42)?;
        // Baseline: the csv crate alone, reading every record as bytes.
        let t = Instant::now();
        let text = std::fs::read(&path)?;
        let mut rdr = csv::ReaderBuilder::new().from_reader(text.as_slice());
        let mut rec = csv::ByteRecord::new();
        let mut rows = 0u64;
        while rdr.read_byte_record(&mut rec)? {
            rows += rec.len() as u64 / 8;
        }
        let s = t.elapsed().as_secs_f64();
        assert_eq!(rows, n);
        println!(
            "| {label} | {n} | {:.1} | baseline: csv crate only | {s:.3} | {:.0} | {:.0} |",
            bytes as f64 / 1e6,
            n as f64 / s,
            bytes as f64 / 1e6 / s
        );
        let households: HashSet<u64> = (1..=n.div_ceil(3)).collect();
        let lookup =
            |k: ElementKind, id: u64| k == ElementKind::Households && households.contains(&id);
        for with_refs in [false, true] {
            let mut opts = ImportOptions::default();
            if with_refs {
                opts.references = Some(&lookup);
            }
            let t = Instant::now();
            let batch = import::read(ElementKind::Persons, &path, &opts)?;
            let s = t.elapsed().as_secs_f64();
            assert_eq!(batch.dataset.persons.len() as u64, n);
            println!(
                "| {label} | {n} | {:.1} | {} | {s:.3} | {:.0} | {:.0} |",
                bytes as f64 / 1e6,
                if with_refs { "HashSet lookup" } else { "none" },
                n as f64 / s,
                bytes as f64 / 1e6 / s
            );
        }
        std::fs::remove_file(&path)?;
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
