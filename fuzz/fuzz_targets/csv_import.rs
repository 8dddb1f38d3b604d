//! CSV import (`wangge import <kind> file.csv`, UTF-8 or GBK): the first byte
//! picks the element kind and the encoding, the rest is the file.
#![no_main]

use geo_core::io::{import, ElementKind, Encoding, Format, ImportOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, file)) = data.split_first() else {
        return;
    };
    let kinds = ElementKind::ALL;
    let kind = kinds[usize::from(flags & 0x0f) % kinds.len()];
    let encoding = match (flags >> 4) & 0x03 {
        0 => Encoding::Auto,
        1 => Encoding::Utf8,
        _ => Encoding::Gbk,
    };
    let opts = ImportOptions {
        format: Format::Csv,
        encoding,
        negative_ids: flags & 0x40 != 0,
        max_bytes: 4 << 20,
        ..ImportOptions::default()
    };
    let _ = import::read_bytes(kind, file, "fuzz.csv", &opts);
});
