//! Event photos (schema v7) and visit photos (schema v10): which photo
//! belongs to which event or visit, who added it and when. The image files
//! themselves are content-addressed (SHA-256) in a folder beside the store, written by the edge (`web-viewer`), which
//! is the only crate that knows file paths; a photo added to two events is
//! one file and two rows.

use duckdb::params;

use super::error::{Ctx, Result};
use super::read::get;
use super::{Scope, Store};
use crate::ids::{EventId, HouseholdId, VisitId};

/// One photo of an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoRow {
    /// The event.
    pub event: EventId,
    /// Hex SHA-256 of the stored (re-encoded, metadata-free) image.
    pub sha256: String,
    /// `image/jpeg` or `image/png`.
    pub content_type: String,
    /// Size of the stored image in bytes.
    pub bytes: u64,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Who added it (`role:account`).
    pub actor: String,
    /// Unix seconds when it was added.
    pub at_s: i64,
}

impl Store {
    /// Links a photo to its event; adding the same photo to the same event
    /// again changes nothing (answers `false`).
    pub fn add_photo(&self, p: &PhotoRow) -> Result<bool> {
        let n = self
            .conn
            .execute(
                "INSERT INTO event_photos
                 SELECT ?, ?, ?, ?, ?, ?, ?, ?
                 WHERE NOT EXISTS (SELECT 1 FROM event_photos WHERE event = ? AND sha256 = ?)",
                params![
                    p.event.get(),
                    p.sha256,
                    p.content_type,
                    p.bytes,
                    p.width,
                    p.height,
                    p.actor,
                    p.at_s,
                    p.event.get(),
                    p.sha256
                ],
            )
            .ctx("adding a photo")?;
        Ok(n > 0)
    }

    /// The photos of an event, oldest first.
    pub fn photos_of(&self, event: EventId) -> Result<Vec<PhotoRow>> {
        self.collect(
            "SELECT sha256, content_type, bytes, width, height, actor, at_s
             FROM event_photos WHERE event = ? ORDER BY at_s, sha256",
            &[duckdb::types::Value::UBigInt(event.get())],
            |r| {
                Ok(PhotoRow {
                    event,
                    sha256: get(r, 0)?,
                    content_type: get(r, 1)?,
                    bytes: get(r, 2)?,
                    width: get(r, 3)?,
                    height: get(r, 4)?,
                    actor: get(r, 5)?,
                    at_s: get(r, 6)?,
                })
            },
        )
    }
}

/// One photo of a visit: the same content-addressed files as event photos.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitPhotoRow {
    /// The visit.
    pub visit: VisitId,
    /// Hex SHA-256 of the stored image (the same file name as an event
    /// photo's).
    pub sha256: String,
    /// `image/jpeg` or `image/png`.
    pub content_type: String,
    /// Size of the stored image in bytes.
    pub bytes: u64,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Who added it (`role:account`).
    pub actor: String,
    /// Unix seconds when it was added.
    pub at_s: i64,
}

impl Store {
    /// The household of a visit, if the visit exists inside `scope` (a
    /// visit follows its household's grids).
    pub fn visit_household(&self, scope: &Scope, visit: VisitId) -> Result<Option<HouseholdId>> {
        let v: Vec<u64> = self.collect(
            &format!(
                "SELECT household FROM visits WHERE id = ? AND household IN
                 (SELECT id FROM households WHERE {})",
                scope.sql()
            ),
            &[duckdb::types::Value::UBigInt(visit.get())],
            |r| get(r, 0),
        )?;
        Ok(v.first().and_then(|h| HouseholdId::new(*h).ok()))
    }

    /// Links a photo to a visit; the same photo again changes nothing
    /// (answers `false`). The caller has checked the visit's scope.
    pub fn add_visit_photo(&self, p: &VisitPhotoRow) -> Result<bool> {
        let n = self
            .conn
            .execute(
                "INSERT INTO visit_photos
                 SELECT ?, ?, ?, ?, ?, ?, ?, ?
                 WHERE NOT EXISTS (SELECT 1 FROM visit_photos WHERE visit = ? AND sha256 = ?)",
                params![
                    p.visit.get(),
                    p.sha256,
                    p.content_type,
                    p.bytes,
                    p.width,
                    p.height,
                    p.actor,
                    p.at_s,
                    p.visit.get(),
                    p.sha256
                ],
            )
            .ctx("adding a visit photo")?;
        Ok(n > 0)
    }

    /// The photos of the visits of `household` inside `scope`, oldest first.
    pub fn visit_photos(
        &self,
        scope: &Scope,
        household: HouseholdId,
    ) -> Result<Vec<VisitPhotoRow>> {
        self.collect(
            &format!(
                "SELECT p.visit, p.sha256, p.content_type, p.bytes, p.width, p.height, p.actor, p.at_s
                 FROM visit_photos p JOIN visits v ON v.id = p.visit
                 WHERE v.household = ? AND v.household IN (SELECT id FROM households WHERE {})
                 ORDER BY p.at_s, p.sha256",
                scope.sql()
            ),
            &[duckdb::types::Value::UBigInt(household.get())],
            |r| {
                let v: u64 = get(r, 0)?;
                Ok(VisitPhotoRow {
                    visit: super::codec::id("visit_photos", v, "visit", v, VisitId::new)?,
                    sha256: get(r, 1)?,
                    content_type: get(r, 2)?,
                    bytes: get(r, 3)?,
                    width: get(r, 4)?,
                    height: get(r, 5)?,
                    actor: get(r, 6)?,
                    at_s: get(r, 7)?,
                })
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_photo_is_linked_once_per_event() {
        let store = Store::open_in_memory().expect("store");
        let ev = EventId::new(7).expect("id");
        let p = PhotoRow {
            event: ev,
            sha256: "ab".repeat(32),
            content_type: "image/png".into(),
            bytes: 10,
            width: 2,
            height: 3,
            actor: "worker:w1".into(),
            at_s: 100,
        };
        assert!(store.add_photo(&p).expect("add"));
        assert!(!store.add_photo(&p).expect("again"));
        let other = PhotoRow {
            event: EventId::new(8).expect("id"),
            ..p.clone()
        };
        assert!(store.add_photo(&other).expect("other event"));
        assert_eq!(store.photos_of(ev).expect("list"), vec![p]);
    }

    #[test]
    fn a_visit_photo_is_linked_once_and_read_only_inside_the_scope() {
        let store = Store::open_in_memory().expect("store");
        store
            .conn
            .execute_batch(
                "INSERT INTO households (id, building, floor, room, size, tenure, group_rented, party_member, comprehensive) VALUES (5, 1, 1, '101', 2, 'owned', false, false, 11);
                 INSERT INTO visits VALUES (3, 5, 100, 'routine', '', 'worker:w', 100);",
            )
            .expect("rows");
        let visit = VisitId::new(3).expect("id");
        let p = VisitPhotoRow {
            visit,
            sha256: "cd".repeat(32),
            content_type: "image/jpeg".into(),
            bytes: 10,
            width: 2,
            height: 3,
            actor: "worker:w".into(),
            at_s: 200,
        };
        assert!(store.add_visit_photo(&p).expect("add"));
        assert!(!store.add_visit_photo(&p).expect("again"));
        let hh = HouseholdId::new(5).expect("id");
        let mine = Scope::Grids([crate::ids::GridId::new(11).expect("g")].into());
        let other = Scope::Grids([crate::ids::GridId::new(12).expect("g")].into());
        assert_eq!(store.visit_household(&mine, visit).expect("in"), Some(hh));
        assert_eq!(store.visit_household(&other, visit).expect("out"), None);
        assert_eq!(store.visit_photos(&mine, hh).expect("list"), vec![p]);
        assert!(store.visit_photos(&other, hh).expect("list").is_empty());
    }
}
