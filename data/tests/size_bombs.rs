//! Size bombs in the import files (issue 17): each is refused with a message
//! naming the problem, in bounded memory. Memory is the peak resident set
//! (`VmHWM`) of a child process that reads one file and nothing else: this
//! binary runs itself once per file (`WANGGE_SIZE_BOMB=<file>`), so no other
//! test's memory is counted. Not a libtest harness (`harness = false`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use geo_core::io::{import, ElementKind, ImportOptions};
use wangge_data::osm::{read_pbf, OsmOptions};

const CHILD: &str = "WANGGE_SIZE_BOMB";

/// In the child: reads the file, prints its answer and the peak RSS.
fn child(path: &Path) {
    let name = path.to_string_lossy();
    let answer = if name.ends_with(".geojson") {
        match import::read(ElementKind::Buildings, path, &ImportOptions::default()) {
            Ok(b) => format!("read {} buildings", b.dataset.buildings.len()),
            Err(e) => e.to_string(),
        }
    } else {
        match read_pbf(path, &OsmOptions::default()) {
            Ok(r) => format!("read {} buildings", r.dataset.buildings.len()),
            Err(e) => e.to_string(),
        }
    };
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let peak_kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status");
    println!("{peak_kb}\n{answer}");
}

/// In the parent: the child's answer and its peak RSS in bytes.
fn read_in_child(path: &Path) -> (String, u64) {
    let out = Command::new(std::env::current_exe().expect("this test binary"))
        .env(CHILD, path)
        .output()
        .expect("the child runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "child failed: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (peak, answer) = text.split_once('\n').expect("peak and answer");
    (
        answer.trim().to_string(),
        peak.parse::<u64>().expect("peak in kB") * 1024,
    )
}

/// One GeoJSON building of a ring of `n` positions (about 30 bytes each).
fn ring_file(n: usize) -> String {
    let mut s = String::with_capacity(n * 32 + 200);
    s.push_str(r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"id":1},"geometry":{"type":"Polygon","coordinates":[["#);
    for k in 0..n {
        let a = (k % (n - 1)) as f64 / (n - 1) as f64 * std::f64::consts::TAU;
        if k > 0 {
            s.push(',');
        }
        s.push_str(&format!(
            "[{:.9},{:.9}]",
            121.5 + 0.01 * a.cos(),
            31.2 + 0.01 * a.sin()
        ));
    }
    s.push_str("]]}}]}");
    s
}

/// A protobuf length-delimited field.
fn field(out: &mut Vec<u8>, number: u8, bytes: &[u8]) {
    field_start(out, number, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// The key and length of a length-delimited field of `len` bytes.
fn field_start(out: &mut Vec<u8>, number: u8, len: u64) {
    out.push(number << 3 | 2);
    varint(out, len);
}

/// A protobuf varint field.
fn varint_field(out: &mut Vec<u8>, number: u8, v: u64) {
    out.push(number << 3);
    varint(out, v);
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A PBF file of one `OSMData` blob whose header claims `datasize` bytes;
/// the `blob` bytes follow as given, however many they are.
fn pbf(datasize: u64, blob: &[u8]) -> Vec<u8> {
    let mut header = Vec::new();
    field(&mut header, 1, b"OSMData"); // type
    varint_field(&mut header, 3, datasize);
    let mut file = (header.len() as u32).to_be_bytes().to_vec();
    file.extend_from_slice(&header);
    file.extend_from_slice(blob);
    file
}

/// A PBF of one `OSMData` blob of zlib data inflating to `start` and then
/// `unit` repeated up to `total` bytes, claiming a raw size of 2 GB.
fn zlib_pbf(start: &[u8], unit: &[u8], total: usize) -> Vec<u8> {
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(start).expect("compress");
    let chunk: Vec<u8> = unit
        .iter()
        .copied()
        .cycle()
        .take((1 << 20) / unit.len() * unit.len())
        .collect();
    for _ in 0..total / chunk.len() {
        z.write_all(&chunk).expect("compress");
    }
    let zlib = z.finish().expect("compress");
    let mut blob = Vec::new();
    varint_field(&mut blob, 2, 0x7FFF_FFFF); // raw_size
    field(&mut blob, 3, &zlib); // zlib_data
    pbf(blob.len() as u64, &blob)
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write the test file");
    path
}

const MB: u64 = 1 << 20;

fn main() {
    if let Some(path) = std::env::var_os(CHILD) {
        child(Path::new(&path));
        return;
    }
    let dir = std::env::temp_dir().join(format!("wangge-size-bombs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temporary folder");
    // The baseline: the child reading a file of one small building.
    let small = write(&dir, "small.geojson", ring_file(5).as_bytes());
    let (answer, base) = read_in_child(&small);
    assert_eq!(answer, "read 1 buildings");

    // GeoJSON: one ring of 2,000,001 positions (55 MB; read as one JSON
    // tree it took 703 MB). Refused before its geometry is parsed: the
    // reader holds the file's bytes and little else.
    let text = ring_file(2_000_001);
    let ring = write(&dir, "ring.geojson", text.as_bytes());
    let size = text.len() as u64;
    drop(text);
    let (answer, peak) = read_in_child(&ring);
    assert!(
        answer.contains("feature 0")
            && answer.contains("geometry has 2000001 coordinates, more than the limit of 100000"),
        "{answer}"
    );
    let grown = peak.saturating_sub(base);
    println!(
        "GeoJSON, one ring of 2,000,001 positions: {} MB file, peak RSS {} MB beyond the baseline ({} MB)",
        size / MB,
        grown / MB,
        base / MB
    );
    assert!(
        grown < size * 3 / 2,
        "{grown} bytes beyond the baseline for a {size}-byte file"
    );

    // PBF: a blob header claiming 4 GB.
    let mut huge_header = 0xFFFF_FFF0u32.to_be_bytes().to_vec();
    huge_header.extend_from_slice(&[0; 64]);
    let path = write(&dir, "header.osm.pbf", &huge_header);
    let (answer, peak) = read_in_child(&path);
    assert!(
        answer.contains("header.osm.pbf") && answer.contains("blob header is too big"),
        "{answer}"
    );
    assert!(peak.saturating_sub(base) < 8 * MB, "{peak}");
    println!("PBF, a blob header claiming 4 GB: {answer}");

    // PBF: a blob claiming 2 GB of data, 100 bytes given.
    let mut blob = Vec::new();
    field(&mut blob, 1, &[0x0A; 100]); // raw
    let path = write(&dir, "datasize.osm.pbf", &pbf(0x7FFF_FFFF, &blob));
    let (answer, peak) = read_in_child(&path);
    assert!(answer.contains("datasize.osm.pbf"), "{answer}");
    assert!(peak.saturating_sub(base) < 8 * MB, "{peak}");
    println!("PBF, a blob claiming 2 GB with 100 bytes given: {answer}");

    // PBF: zlib blobs that inflate to 1 GiB and claim a raw size of 2 GB:
    // one field of 1 GiB, and 1 GiB of small unknown fields (which a
    // protobuf reader keeps). The decoder stops at its cap of 32 MiB of
    // inflated data per block.
    let mut one_field = Vec::new();
    field_start(&mut one_field, 1, 1 << 30);
    let bombs = [
        ("one-field.osm.pbf", one_field, b"aaaaaaaa".as_slice()),
        (
            "unknown-fields.osm.pbf",
            Vec::new(),
            [0xF8, 0x06, 0x01].as_slice(),
        ),
    ];
    for (name, start, unit) in bombs {
        let path = write(&dir, name, &zlib_pbf(&start, unit, 1 << 30));
        let size = std::fs::metadata(&path).expect("written").len();
        let (answer, peak) = read_in_child(&path);
        assert!(answer.contains(name), "{answer}");
        let grown = peak.saturating_sub(base);
        println!(
            "PBF, {} kB of zlib inflating to 1 GiB ({name}): peak RSS {} MB beyond the baseline: {answer}",
            size / 1024,
            grown / MB
        );
        assert!(grown < 400 * MB, "{grown}");
    }
    std::fs::remove_dir_all(&dir).ok();
}
