//! GeoJSON import (`wangge import <kind> file.geojson`): the first byte picks
//! the element kind and the options, the rest is the file.
#![no_main]

use geo_core::io::{import, ElementKind, Format, ImportOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, file)) = data.split_first() else {
        return;
    };
    let kinds = ElementKind::ALL;
    let kind = kinds[usize::from(flags & 0x0f) % kinds.len()];
    let opts = ImportOptions {
        format: Format::GeoJson,
        repair: flags & 0x10 != 0,
        merge_by_id: flags & 0x20 != 0,
        negative_ids: flags & 0x40 != 0,
        max_bytes: 4 << 20,
        ..ImportOptions::default()
    };
    let _ = import::read_bytes(kind, file, "fuzz.geojson", &opts);
});
