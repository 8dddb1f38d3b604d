//! The server's tile cache: keyed on the parsed tile and filter (so
//! `from=2026-01-01` and `from=2026-01-01T00:00:00Z` share one entry and
//! the order or repetition of parameters does not matter), capped by bytes
//! (the oldest entries go first).

use std::collections::{HashMap, VecDeque};

use bytes::Bytes;
use tiles::heatmap::HeatFilter;

/// A cached tile, gzip-compressed and decoded, with its ETag.
#[derive(Clone)]
pub struct CachedTile {
    /// Gzip bytes, for clients that offer gzip.
    pub gz: Bytes,
    /// The same tile decoded, for clients that do not: kept beside the gzip
    /// copy so neither answer costs a (de)compression.
    pub raw: Bytes,
    /// Strong ETag of the gzip copy; the identity copy's is
    /// [`CachedTile::etag_identity`].
    pub etag: String,
    /// The tile depends on the time and is stale from this instant
    /// (`tiles::EncodedTile::valid_until`).
    pub valid_until: Option<chrono::DateTime<chrono::Utc>>,
}

impl CachedTile {
    /// Strong ETag of the identity copy: another representation, so another
    /// tag (RFC 9110 §8.8.3).
    pub fn etag_identity(&self) -> String {
        format!("{}-id\"", self.etag.trim_end_matches('"'))
    }
}

/// What a tile answer depends on: the tile, the parsed filter (times as
/// instants, categories, statuses and sources sorted and de-duplicated; the
/// clock's `now` is not part of it) and the k-anonymity threshold.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TileKey {
    /// The layer's name.
    pub layer: &'static str,
    /// Zoom.
    pub z: u8,
    /// Column.
    pub x: u32,
    /// Row.
    pub y: u32,
    /// `from` as Unix milliseconds.
    pub from_ms: Option<i64>,
    /// `to` as Unix milliseconds.
    pub to_ms: Option<i64>,
    /// Category codes.
    pub categories: Vec<&'static str>,
    /// Status classes.
    pub statuses: Vec<String>,
    /// Source codes.
    pub sources: Vec<&'static str>,
    /// k-anonymity threshold of the caller's role.
    pub k: u32,
}

impl TileKey {
    /// The key of a tile of `layer` under `filter`.
    pub fn new(layer: tiles::Layer, (z, x, y): (u8, u32, u32), f: &HeatFilter, k: u32) -> Self {
        let mut categories: Vec<&'static str> = f.categories.iter().map(|c| c.code()).collect();
        categories.sort_unstable();
        categories.dedup();
        let mut statuses: Vec<String> = f.statuses.iter().map(|s| format!("{s:?}")).collect();
        statuses.sort_unstable();
        statuses.dedup();
        let mut sources: Vec<&'static str> = f.sources.iter().map(|s| s.code()).collect();
        sources.sort_unstable();
        sources.dedup();
        Self {
            layer: layer.name(),
            z,
            x,
            y,
            from_ms: f.from.map(|t| t.timestamp_millis()),
            to_ms: f.to.map(|t| t.timestamp_millis()),
            categories,
            statuses,
            sources,
            k,
        }
    }

    /// Bytes the key takes, roughly (for the cap).
    fn weight(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.categories.len() * 16
            + self.statuses.iter().map(|s| s.len() + 24).sum::<usize>()
            + self.sources.len() * 16
    }
}

/// The cache: at most `max_bytes` of tiles and keys.
pub struct TileCache {
    map: HashMap<TileKey, CachedTile>,
    order: VecDeque<TileKey>,
    bytes: usize,
    max_bytes: usize,
}

impl TileCache {
    /// An empty cache holding at most `max_bytes`.
    pub fn new(max_bytes: usize) -> Self {
        Self {
            map: HashMap::new(),
            order: VecDeque::new(),
            bytes: 0,
            max_bytes,
        }
    }

    fn weight(key: &TileKey, t: &CachedTile) -> usize {
        key.weight() + t.gz.len() + t.raw.len() + t.etag.len() + 64
    }

    /// The tile of `key`, if cached.
    pub fn get(&self, key: &TileKey) -> Option<&CachedTile> {
        self.map.get(key)
    }

    /// Caches `t`, dropping the oldest entries past the cap (a tile larger
    /// than the whole cap is not kept).
    pub fn insert(&mut self, key: TileKey, t: CachedTile) {
        let w = Self::weight(&key, &t);
        if w > self.max_bytes {
            return;
        }
        if let Some(old) = self.map.remove(&key) {
            self.bytes -= Self::weight(&key, &old);
        }
        while self.bytes + w > self.max_bytes {
            let Some(k) = self.order.pop_front() else {
                break;
            };
            if let Some(old) = self.map.remove(&k) {
                self.bytes -= Self::weight(&k, &old);
            }
        }
        self.bytes += w;
        self.order.push_back(key.clone());
        self.map.insert(key, t);
        // Keys of entries dropped by `retain` linger in `order`; keep it small.
        if self.order.len() > 2 * self.map.len() + 64 {
            let map = &self.map;
            self.order.retain(|k| map.contains_key(k));
        }
    }

    /// Keeps the entries `keep` says yes to.
    pub fn retain(&mut self, mut keep: impl FnMut(&TileKey) -> bool) {
        let mut freed = 0;
        self.map.retain(|k, t| {
            let kept = keep(k);
            if !kept {
                freed += Self::weight(k, t);
            }
            kept
        });
        self.bytes -= freed;
    }

    /// Drops every entry.
    pub fn clear(&mut self) {
        self.map.clear();
        self.order.clear();
        self.bytes = 0;
    }

    /// Entries cached.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// No entry cached.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Bytes held (tiles and keys).
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::HashMap;

    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::query::heat_filter_from;

    fn key(q: &[(&str, &str)]) -> TileKey {
        let p: HashMap<String, String> = q
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let now = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
        let f = heat_filter_from(&p, now).unwrap();
        TileKey::new(tiles::Layer::parse("events").unwrap(), (14, 1, 2), &f, 3)
    }

    fn tile(n: usize) -> CachedTile {
        CachedTile {
            gz: Bytes::from(vec![0u8; n]),
            raw: Bytes::new(),
            etag: "\"e\"".into(),
            valid_until: None,
        }
    }

    #[test]
    fn spellings_of_one_filter_share_one_key() {
        let a = key(&[("from", "2026-01-01"), ("category", "01.01,02.01")]);
        let b = key(&[
            ("from", "2026-01-01T00:00:00Z"),
            ("category", "02.01,01.01,01.01"),
        ]);
        let c = key(&[("from", "1767225600"), ("category", "02.01,01.01")]);
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert_ne!(a, key(&[("from", "2026-01-02")]));
        assert_ne!(key(&[]), key(&[("status", "open")]));
    }

    #[test]
    fn the_cache_stays_under_its_byte_cap() {
        let mut cache = TileCache::new(100_000);
        for day in 0..3_000u32 {
            let from = (Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0).unwrap()
                + chrono::Duration::hours(i64::from(day)))
            .to_rfc3339();
            cache.insert(key(&[("from", &from)]), tile(1_000));
            assert!(cache.bytes() <= 100_000, "{}", cache.bytes());
        }
        assert!(cache.len() > 10 && cache.len() < 100, "{}", cache.len());
        // The newest entry is there, the oldest went first.
        let newest = (Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0).unwrap()
            + chrono::Duration::hours(2_999))
        .to_rfc3339();
        assert!(cache.get(&key(&[("from", &newest)])).is_some());
        assert!(cache.get(&key(&[("from", "2020-01-01")])).is_none());
        // A tile larger than the whole cap is not kept; retain frees bytes.
        cache.insert(key(&[]), tile(200_000));
        assert!(cache.get(&key(&[])).is_none());
        cache.retain(|_| false);
        assert_eq!((cache.len(), cache.bytes()), (0, 0));
    }
}
