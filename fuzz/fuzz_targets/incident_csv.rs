//! Incident CSV import with a category map (`wangge import events`): the
//! input is `flags, CSV` (gzip or not) read with the shipped San Francisco
//! map and columns, or with flag `0x08` `flags, map TOML, NUL, CSV`; flag
//! `0x10` names column `c` the address column, `0x20` keeps the rejects.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wangge_data::incidents::{read_events_bytes, CategoryMap, IncidentOptions, TextEncoding};

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let Ok(mut opts) = IncidentOptions::sf_incidents() else {
        return;
    };
    let split = rest.iter().position(|&b| b == 0).filter(|_| flags & 0x08 != 0);
    let csv = match split {
        Some(i) => {
            let Ok(text) = std::str::from_utf8(&rest[..i]) else {
                return;
            };
            match CategoryMap::from_toml_str(text, "fuzz.toml") {
                Ok(map) => opts.categories = map,
                Err(_) => return,
            }
            &rest[i + 1..]
        }
        None => rest,
    };
    opts.skip_bad_rows = flags & 0x01 != 0;
    opts.keep_rejects = flags & 0x20 != 0;
    if flags & 0x10 != 0 {
        opts.address_column = Some("c".into());
    }
    opts.encoding = match (flags >> 1) & 0x03 {
        0 => TextEncoding::Auto,
        1 => TextEncoding::Utf8,
        _ => TextEncoding::Gbk,
    };
    // Keep a bomb cheap: the caps are what is under test, not the machine.
    opts.max_inflated_bytes = 8 << 20;
    let _ = read_events_bytes("fuzz.csv", csv.to_vec(), &opts);
});
