//! Query strings of the API: the list filters and paging (`ListQuery`:
//! bbox, time, category, status, source, limit, offset), the heatmap and tile
//! filter, and the analytics formats, parsed as the routes parse them.
#![no_main]

use std::collections::HashMap;

use axum::extract::Query;
use axum::http::Uri;
use chrono::{TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use web_viewer::query::{self, ListQuery};

fuzz_target!(|data: &[u8]| {
    let Ok(qs) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(uri) = format!("/api/v1/events?{qs}").parse::<Uri>() else {
        return;
    };
    let now = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).single();
    let Some(now) = now else { return };
    if let Ok(Query(q)) = Query::<ListQuery>::try_from_uri(&uri) {
        let _ = q.page();
        if let Some(b) = &q.bbox {
            let _ = query::parse_bbox(b);
        }
        for t in [&q.from, &q.to].into_iter().flatten() {
            let _ = query::parse_time("from", t);
        }
        let _ = query::heat_filter(&q, now);
    }
    if let Ok(Query(p)) = Query::<HashMap<String, String>>::try_from_uri(&uri) {
        let _ = query::heat_filter_from(&p, now);
        let _ = query::format_of(p.get("format").map(String::as_str), None);
    }
});
