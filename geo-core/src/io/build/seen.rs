//! Duplicate-ID tracking of a [`super::Builder`]: a fast integer hasher, the
//! set of IDs taken so far (exact, or deferred to one sort at the end for
//! files whose IDs come in order), and the merge of the sets of parallel
//! chunks.

use std::hash::{BuildHasherDefault, Hasher};

use super::*;

/// A multiply-rotate hasher (as in rustc's FxHash) for integer IDs: the
/// duplicate check runs once per record and SipHash would dominate it.
#[derive(Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(SEED);
    }
}

type IdMap<V> = HashMap<u64, V, BuildHasherDefault<IdHasher>>;

/// The IDs a builder has taken.
pub(super) enum Seen {
    /// Each ID with its element index and first location: a repeat is
    /// reported where it occurs, and merge-by-id finds the element to merge
    /// into.
    Exact(IdMap<(usize, Location)>),
    /// The IDs alone, in the order taken until [`Seen::seal`] sorts them;
    /// repeats are looked for then. Far cheaper for a million rows than a
    /// hash map; a file that repeats an ID is read again with
    /// [`Seen::Exact`], so its problems are the same either way.
    Deferred(Vec<u64>),
}

impl Seen {
    pub(super) fn new(exact: bool) -> Self {
        if exact {
            Seen::Exact(IdMap::default())
        } else {
            Seen::Deferred(Vec::new())
        }
    }

    pub(super) fn empty_like(&self) -> Self {
        Seen::new(matches!(self, Seen::Exact(_)))
    }

    pub(super) fn reserve(&mut self, records: usize) {
        match self {
            Seen::Exact(m) => m.reserve(records),
            Seen::Deferred(ids) => ids.reserve(records),
        }
    }

    /// The first element with this ID, when known now.
    pub(super) fn first(&self, key: u64) -> Option<(usize, Location)> {
        match self {
            Seen::Exact(m) => m.get(&key).copied(),
            Seen::Deferred(_) => None,
        }
    }

    pub(super) fn claim(&mut self, key: u64, index: usize, loc: Location) {
        match self {
            Seen::Exact(m) => {
                m.insert(key, (index, loc));
            }
            Seen::Deferred(ids) => ids.push(key),
        }
    }

    /// Sorts deferred IDs (quick when they came in order).
    pub(super) fn seal(&mut self) {
        if let Seen::Deferred(ids) = self {
            ids.sort_unstable();
        }
    }

    /// True if a deferred set (sealed) holds an ID twice; an exact one
    /// reports repeats as problems instead.
    pub(super) fn repeated(&self) -> bool {
        matches!(self, Seen::Deferred(ids) if has_repeat(ids))
    }

    /// Whether `key` was taken (a deferred set must be sealed).
    pub(super) fn contains(&self, key: u64) -> bool {
        match self {
            Seen::Exact(m) => m.contains_key(&key),
            Seen::Deferred(ids) => ids.binary_search(&key).is_ok(),
        }
    }

    /// Takes in the IDs of the builder that follows (its element indices
    /// after `offset`; both sealed). `false`, with `self` unchanged, when an
    /// ID of `later` is already here or repeats within `later`.
    pub(super) fn absorb(&mut self, later: Seen, offset: usize) -> bool {
        match (self, later) {
            (Seen::Exact(m), Seen::Exact(l)) => {
                if l.keys().any(|k| m.contains_key(k)) {
                    return false;
                }
                m.extend(l.into_iter().map(|(k, (i, loc))| (k, (i + offset, loc))));
                true
            }
            (Seen::Deferred(ids), Seen::Deferred(l)) => {
                if has_repeat(&l) {
                    return false;
                }
                match (ids.last(), l.first()) {
                    // Parts of a file numbered in order: no merge needed.
                    (None, _) | (_, None) => ids.extend(l),
                    (Some(a), Some(b)) if a < b => ids.extend(l),
                    _ => match merge_unique(ids, &l) {
                        Some(m) => *ids = m,
                        None => return false,
                    },
                }
                true
            }
            // One kind of set per read: builders of a file are made alike.
            _ => false,
        }
    }
}

/// An ascending list holds an ID twice.
pub(super) fn has_repeat(ids: &[u64]) -> bool {
    ids.windows(2).any(|w| w[0] == w[1])
}

/// Merges two ascending ID lists; `None` if they share an ID.
pub(super) fn merge_unique(a: &[u64], b: &[u64]) -> Option<Vec<u64>> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => {
                out.push(a[i]);
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                out.push(b[j]);
                j += 1;
            }
            std::cmp::Ordering::Equal => return None,
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    Some(out)
}

#[cfg(test)]
mod seen_tests {
    use super::*;

    fn deferred(ids: &[u64]) -> Seen {
        let mut s = Seen::new(false);
        for (i, &id) in ids.iter().enumerate() {
            s.claim(id, i, Location::Line(i as u64 + 2));
        }
        s.seal();
        s
    }

    #[test]
    fn deferred_ids_find_repeats_within_and_across_parts() {
        assert!(!deferred(&[5, 1, 9]).repeated());
        assert!(deferred(&[5, 1, 5]).repeated());
        let mut a = deferred(&[1, 4, 8]);
        assert!(a.absorb(deferred(&[2, 3, 20]), 3));
        assert!(a.contains(3) && a.contains(20) && !a.contains(5));
        assert!(!a.absorb(deferred(&[30, 8]), 6), "8 is taken");
        assert!(!a.contains(30), "unchanged after a refused absorb");
        assert!(
            !a.absorb(deferred(&[40, 40]), 6),
            "a part that repeats an ID"
        );
    }

    #[test]
    fn merging_sorted_ids() {
        assert_eq!(merge_unique(&[1, 5], &[2, 9]), Some(vec![1, 2, 5, 9]));
        assert_eq!(merge_unique(&[1, 5], &[6, 7]), Some(vec![1, 5, 6, 7]));
        assert_eq!(merge_unique(&[], &[3]), Some(vec![3]));
        assert_eq!(merge_unique(&[1, 5], &[5]), None);
    }
}
