//! Event photos (schema v7): which photo belongs to which event, who added
//! it and when. The image files themselves are content-addressed (SHA-256)
//! in a folder beside the store, written by the edge (`web-viewer`), which
//! is the only crate that knows file paths; a photo added to two events is
//! one file and two rows.

use duckdb::params;

use super::error::{Ctx, Result};
use super::read::get;
use super::Store;
use crate::ids::EventId;

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
}
