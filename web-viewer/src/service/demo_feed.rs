//! The demo town lives in the present: on a store `wangge demo` made (its
//! `meta` table holds a [`DemoMark`] under [`DEMO_META`]), `wangge serve`
//! files a new demo event every few minutes (`--demo-feed-every`, off with
//! `--no-demo-feed`), so today's counts, the stream and the traffic lights
//! move through the day. Each event is filed like any intake (handler,
//! deadline, first transition, stream) with source `demo`, so it never
//! passes for a real report. Its category, place and title are those of an
//! event the generator made (picked by the mark's seed and a counter, the
//! place moved a few metres), so the feed keeps the town's mix.

use std::time::Duration;

use chrono::{DateTime, Utc};
use geo_core::ids::EventId;
use geo_core::model::{Event, EventSource, EventStatus};
use geo_core::store::{Store, StoreError};
use serde::{Deserialize, Serialize};

use crate::error::{AppError, AppResult};
use crate::service::event_loop::{broadcast, file_event, reported, Filed};
use crate::state::AppState;

/// The `meta` key of a store `wangge demo` made.
pub const DEMO_META: &str = "demo";

/// Actor of the feed's intake transitions.
pub const DEMO_ACTOR: &str = "demo-feed";

/// What `wangge demo` records in the store it made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoMark {
    /// Scale generated.
    pub scale: String,
    /// Seed.
    pub seed: u64,
    /// The "now" the year of events ends at, RFC 3339.
    pub until: String,
    /// The highest event ID the generator wrote: the feed's templates.
    pub last_event_id: u64,
}

/// Records that `store` was made by `wangge demo`.
pub fn mark(store: &mut Store, m: &DemoMark) -> Result<(), StoreError> {
    let text = serde_json::to_string(m).unwrap_or_default();
    store.set_meta(DEMO_META, &text)
}

/// The mark of a demo store; `None` for any other store (or a mark this
/// version cannot read).
pub fn demo_mark(store: &Store) -> Result<Option<DemoMark>, StoreError> {
    Ok(store
        .meta(DEMO_META)?
        .and_then(|t| serde_json::from_str(&t).ok()))
}

/// SplitMix64: a well-mixed 64-bit value of `x`.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The `n`-th demo event of the feed at `now` with ID `id`: a copy of the
/// category, title and place (moved up to 10 m) of one of `templates`
/// (picked by `seed` and `n`; events of the feed and merged ones are never
/// templates), in status `reported`, grade general, source `demo`. `None`
/// when there is no template.
pub fn demo_event(
    templates: &[Event],
    seed: u64,
    n: u64,
    id: EventId,
    now: DateTime<Utc>,
) -> Option<Event> {
    let usable = |e: &&Event| e.source != EventSource::Demo && e.status != EventStatus::Merged;
    let count = templates.iter().filter(usable).count() as u64;
    if count == 0 {
        return None;
    }
    let h = mix(seed ^ mix(n));
    let t = templates.iter().filter(usable).nth((h % count) as usize)?;
    let (dx_m, dy_m) = (
        ((h >> 20) % 2001) as f64 / 100.0 - 10.0,
        ((h >> 40) % 2001) as f64 / 100.0 - 10.0,
    );
    let lat = t.location.y();
    let m_per_deg_lon = 111_320.0 * lat.to_radians().cos().max(0.01);
    let at = geo_types::Point::new(
        t.location.x() + dx_m / m_per_deg_lon,
        lat + dy_m / 110_950.0,
    );
    Some(Event::reported(
        id,
        t.category,
        t.title.clone(),
        at,
        now,
        EventSource::Demo,
    ))
}

/// Files the `n`-th demo event at the state's clock and streams it.
pub async fn file_demo_event(st: &AppState, m: &DemoMark, n: u64) -> AppResult<Option<Filed>> {
    let now = st.now();
    let template = {
        let view = st.view()?;
        let generated: Vec<Event> = view
            .dataset
            .events
            .iter()
            .filter(|e| e.id.get() <= m.last_event_id)
            .cloned()
            .collect();
        let probe = EventId::new(u64::MAX).map_err(|e| AppError::Internal(e.to_string()))?;
        demo_event(&generated, m.seed, n, probe, now)
    };
    let Some(template) = template else {
        return Ok(None);
    };
    let filed = file_event(
        st,
        move |id| Event { id, ..template },
        DEMO_ACTOR.to_string(),
    )
    .await?;
    broadcast(st, &reported(st, &filed, now)?);
    Ok(Some(filed))
}

/// Files a demo event every `every` until the runtime stops (the first one
/// after `every`); failures are logged and retried at the next tick.
pub async fn demo_feed_loop(st: AppState, m: DemoMark, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    // Continue the count after the events the feed filed before a restart.
    let mut n = st
        .view()
        .map(|v| {
            v.dataset
                .events
                .iter()
                .filter(|e| e.source == EventSource::Demo)
                .count() as u64
        })
        .unwrap_or(0);
    loop {
        tick.tick().await;
        match file_demo_event(&st, &m, n).await {
            Ok(Some(f)) => tracing::info!(event = %f.event.id, "demo feed filed an event"),
            Ok(None) => tracing::warn!("demo feed: the store holds no demo event to copy"),
            Err(e) => tracing::warn!(error = ?e, "demo feed failed"),
        }
        n += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use geo_core::taxonomy::EventCategory;

    fn ev(id: u64, source: EventSource) -> Event {
        Event::reported(
            EventId::new(id).unwrap(),
            EventCategory::parse("02.05").unwrap(),
            format!("噪声：{id}号楼"),
            geo_types::Point::new(116.6, 36.9),
            Utc.with_ymd_and_hms(2026, 3, 1, 8, 0, 0).unwrap(),
            source,
        )
    }

    #[test]
    fn a_demo_event_copies_a_generated_one_and_says_it_is_demo() {
        let now = Utc.with_ymd_and_hms(2026, 12, 6, 7, 0, 0).unwrap();
        let templates = [ev(1, EventSource::Hotline), ev(2, EventSource::Demo)];
        let id = EventId::new(9).unwrap();
        for n in 0..20 {
            let e = demo_event(&templates, 2026, n, id, now).unwrap();
            assert_eq!(
                (e.id, e.source, e.status),
                (id, EventSource::Demo, EventStatus::Reported)
            );
            assert_eq!((e.reported_at, e.title.as_str()), (now, "噪声：1号楼"));
            assert!((e.location.x() - 116.6).abs() < 0.00013, "{:?}", e.location);
            assert!((e.location.y() - 36.9).abs() < 0.0001, "{:?}", e.location);
        }
        // the same seed and counter give the same event
        assert_eq!(
            demo_event(&templates, 2026, 3, id, now),
            demo_event(&templates, 2026, 3, id, now)
        );
        assert_eq!(demo_event(&templates[1..], 2026, 0, id, now), None);
    }
}
