//! Answers read from the store, kept until the next write.
//!
//! Every call of [`AppState::with_store`](crate::AppState::with_store) — the
//! one way to the write connection — counts one more *store generation*
//! when it ends. A read that keeps what it read under the generation it saw
//! *before* reading is served again only while no write has ended since: a
//! write's answer leaves after its generation was counted, so a caller
//! reading after its own write never gets what was read before it. A write
//! that commits while such a read runs only makes the entry look older than
//! it is (it is dropped at the next look-up), never newer.
//!
//! Used for the store reads of an event's detail (timeline, photos,
//! assisting departments, notes), which a busy list of events asks for
//! again and again while nothing changes.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

/// Values by key, each valid for the store generation it was read at. At
/// most `cap` entries: past it the cache starts again empty (entries of
/// older generations are worthless anyway).
#[derive(Debug)]
pub struct ReadCache<K, V> {
    entries: Mutex<HashMap<K, (u64, Arc<V>)>>,
    cap: usize,
}

impl<K: Eq + Hash, V> ReadCache<K, V> {
    /// An empty cache of at most `cap` entries.
    pub fn new(cap: usize) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            cap: cap.max(1),
        }
    }

    /// The value of `key` read at generation `now`, if any.
    pub fn get(&self, key: &K, now: u64) -> Option<Arc<V>> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(key)
            .filter(|(generation, _)| *generation == now)
            .map(|(_, v)| v.clone())
    }

    /// Keeps `value` of `key`, read at generation `read_at` (the generation
    /// seen before the read began).
    pub fn put(&self, key: K, read_at: u64, value: Arc<V>) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= self.cap {
                entries.retain(|_, (generation, _)| *generation == read_at);
                if entries.len() >= self.cap {
                    entries.clear();
                }
            }
            entries.insert(key, (read_at, value));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_lives_until_the_next_generation_and_the_cap_holds() {
        let c: ReadCache<u32, String> = ReadCache::new(2);
        c.put(1, 7, Arc::new("a".into()));
        assert_eq!(c.get(&1, 7).as_deref().map(String::as_str), Some("a"));
        assert!(c.get(&1, 8).is_none(), "a write ended since: read again");
        assert!(c.get(&2, 7).is_none());
        c.put(2, 7, Arc::new("b".into()));
        c.put(3, 8, Arc::new("c".into()));
        // Past the cap the older generation's entries went first.
        assert!(c.get(&1, 7).is_none() && c.get(&2, 7).is_none());
        assert_eq!(c.get(&3, 8).as_deref().map(String::as_str), Some("c"));
        c.put(4, 8, Arc::new("d".into()));
        c.put(5, 8, Arc::new("e".into()));
        assert!(c.entries.lock().unwrap().len() <= 2, "never past the cap");
    }
}
