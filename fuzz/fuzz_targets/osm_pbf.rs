//! OpenStreetMap PBF import (`wangge import osm file.osm.pbf`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use wangge_data::osm::{read_pbf_bytes, OsmOptions};

fuzz_target!(|data: &[u8]| {
    let _ = read_pbf_bytes("fuzz.osm.pbf", data, &OsmOptions::default());
});
