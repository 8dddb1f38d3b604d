//! Assisting departments and notes of an event (schema v10). Dispatch names
//! one lead handler (`events.handler`) and any number of assisting
//! departments ("网格吹哨、部门报到"): they see the event and add notes or
//! feedback, but only the lead moves it. Notes are free text beside the
//! transitions, with who wrote them, for which department, and when.

use duckdb::params;

use super::error::{Ctx, Result};
use super::read::get;
use super::Store;
use crate::ids::EventId;

/// One note on an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteRow {
    /// The event.
    pub event: EventId,
    /// Unix seconds.
    pub at_s: i64,
    /// Who wrote it (`role:account`).
    pub actor: String,
    /// The department it was written for, when a department wrote it.
    pub department: Option<String>,
    /// The text.
    pub note: String,
}

/// Adds `departments` as assisting `event` (one already there stays), on
/// `conn` — inside the caller's transaction: [`Store::set_assists`] and
/// the intake of new events ([`Store::insert_events`]).
pub(super) fn add_assists(
    conn: &duckdb::Connection,
    event: EventId,
    departments: &[String],
    actor: &str,
    at_s: i64,
) -> Result<()> {
    let mut insert = conn
        .prepare_cached("INSERT INTO event_assists VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING")
        .ctx("preparing assisting departments")?;
    for d in departments {
        insert
            .execute(params![event.get(), d, actor, at_s])
            .ctx("adding an assisting department")?;
    }
    Ok(())
}

impl Store {
    /// Replaces the assisting departments of `event` (names without the
    /// `dept:` prefix), in one transaction; an empty list removes them.
    pub fn set_assists(
        &mut self,
        event: EventId,
        departments: &[String],
        actor: &str,
        at_s: i64,
    ) -> Result<()> {
        let tx = self.conn.transaction().ctx("starting a transaction")?;
        tx.execute(
            "DELETE FROM event_assists WHERE event = ?",
            params![event.get()],
        )
        .ctx("clearing assisting departments")?;
        add_assists(&tx, event, departments, actor, at_s)?;
        tx.commit().ctx("committing assisting departments")?;
        Ok(())
    }

    /// The assisting departments of `event`, by name.
    pub fn assists_of(&self, event: EventId) -> Result<Vec<String>> {
        self.collect(
            "SELECT department FROM event_assists WHERE event = ? ORDER BY department",
            &[duckdb::types::Value::UBigInt(event.get())],
            |r| get(r, 0),
        )
    }

    /// The events `department` assists, by raw ID.
    pub fn assisted_by(&self, department: &str) -> Result<Vec<u64>> {
        self.collect(
            "SELECT event FROM event_assists WHERE department = ? ORDER BY event",
            &[duckdb::types::Value::Text(department.to_string())],
            |r| get(r, 0),
        )
    }

    /// Adds a note to an event.
    pub fn add_event_note(&self, n: &NoteRow) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO event_notes VALUES (?, ?, ?, ?, ?)",
                params![n.event.get(), n.at_s, n.actor, n.department, n.note],
            )
            .ctx("adding a note")?;
        Ok(())
    }

    /// The notes of an event, oldest first.
    pub fn event_notes(&self, event: EventId) -> Result<Vec<NoteRow>> {
        self.collect(
            "SELECT at_s, actor, department, note FROM event_notes WHERE event = ?
             ORDER BY at_s, rowid",
            &[duckdb::types::Value::UBigInt(event.get())],
            |r| {
                Ok(NoteRow {
                    event,
                    at_s: get(r, 0)?,
                    actor: get(r, 1)?,
                    department: get(r, 2)?,
                    note: get(r, 3)?,
                })
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assists_are_replaced_and_notes_kept_in_order() {
        let mut store = Store::open_in_memory().expect("store");
        let ev = EventId::new(7).expect("id");
        store
            .set_assists(ev, &["police".into(), "fire_service".into()], "leader:l", 1)
            .expect("set");
        assert_eq!(
            store.assists_of(ev).expect("list"),
            ["fire_service", "police"]
        );
        store
            .set_assists(ev, &["police".into()], "leader:l", 2)
            .expect("replace");
        assert_eq!(store.assists_of(ev).expect("list"), ["police"]);
        assert_eq!(store.assisted_by("police").expect("by"), [7]);
        assert!(store.assisted_by("fire_service").expect("by").is_empty());
        for (at, text) in [(5, "到场"), (3, "已联系物业")] {
            store
                .add_event_note(&NoteRow {
                    event: ev,
                    at_s: at,
                    actor: "department:p".into(),
                    department: Some("police".into()),
                    note: text.into(),
                })
                .expect("note");
        }
        let notes = store.event_notes(ev).expect("notes");
        assert_eq!(
            notes.iter().map(|n| n.note.as_str()).collect::<Vec<_>>(),
            ["已联系物业", "到场"]
        );
    }
}
