//! The audit log, tamper-evident (schema 6).
//!
//! Every line (log-ins and failures, reveals of personal data, exports,
//! account changes, grid versions) has its place in a chain, `seq` = 1, 2, …
//! (unique), and `mac` = [`Keyring::audit_mac`] of the previous line's `mac`
//! and its own fields. The key comes from the store's key file, never from
//! the store, so someone who can write the store file but has not the key
//! cannot change, insert, remove or re-order a line without
//! [`Store::verify_audit`] naming the first line that no longer fits. What a
//! chain cannot show by itself is the loss of its newest lines: the check
//! answers the last line's number and MAC, which an operator records
//! elsewhere (a ticket, a printout) to detect that too.
//!
//! A key rotation re-chains the log under the new key after checking it
//! under the old one, and writes the outcome of that check as its own line.

use duckdb::{params, Connection, OptionalExt};

use super::error::Ctx;
use super::{Result, Store};
use crate::crypt::Keyring;

/// The schema version that introduced the chain.
pub(crate) const CHAINED_SINCE: i64 = 6;

/// The `mac` before the first line.
const GENESIS: [u8; 32] = [0; 32];

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditLine {
    /// Place in the chain, from 1.
    pub seq: i64,
    /// Unix time (seconds).
    pub at_s: i64,
    /// Account, token or system actor.
    pub actor: String,
    /// What was done (`login`, `login_failed`, `reveal`, `export`…).
    pub action: String,
    /// Details.
    pub detail: String,
}

/// The outcome of [`Store::verify_audit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditCheck {
    /// Lines in the log.
    pub lines: u64,
    /// The last line's number (0 for an empty log).
    pub last_seq: i64,
    /// The last line's MAC, hex (record it to detect a truncated log).
    pub last_mac: String,
    /// The first line that does not fit the chain, if any.
    pub broken: Option<AuditBreak>,
}

/// Where and why the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditBreak {
    /// The line's number (or the number expected where one is missing).
    pub seq: i64,
    /// What is wrong with it.
    pub reason: String,
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn last_link(conn: &Connection) -> Result<(i64, [u8; 32])> {
    let row: Option<(i64, Vec<u8>)> = conn
        .query_row(
            "SELECT seq, mac FROM audit_log WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .ctx("reading the audit chain")?;
    Ok(match row {
        Some((seq, mac)) => (seq, mac.try_into().unwrap_or(GENESIS)),
        None => (0, GENESIS),
    })
}

/// Appends one chained line (inside the caller's transaction, if any). Two
/// writers racing for the same `seq` cannot both succeed: the unique index
/// refuses the second.
pub(crate) fn append(
    conn: &Connection,
    keys: &Keyring,
    at_s: i64,
    actor: &str,
    action: &str,
    detail: &str,
) -> Result<()> {
    let (seq, prev) = last_link(conn)?;
    let seq = seq + 1;
    let mac = keys.audit_mac(&prev, seq, at_s, [actor, action, detail]);
    conn.execute(
        "INSERT INTO audit_log (at_s, actor, action, detail, seq, mac) VALUES (?, ?, ?, ?, ?, ?)",
        params![at_s, actor, action, detail, seq, mac.to_vec()],
    )
    .ctx("writing audit log")?;
    Ok(())
}

/// A stored line: the line, its `rowid`, its place (0: none).
struct Stored {
    seq: i64,
    rowid: i64,
    at_s: i64,
    actor: String,
    action: String,
    detail: String,
}

impl Stored {
    fn line(self) -> AuditLine {
        AuditLine {
            seq: self.seq,
            at_s: self.at_s,
            actor: self.actor,
            action: self.action,
            detail: self.detail,
        }
    }
}

/// Every line in chain order (lines without a place last, in file order),
/// with its MAC; only those of `action` when given.
fn all_lines(conn: &Connection, action: Option<&str>) -> Result<Vec<(Stored, Option<Vec<u8>>)>> {
    let mut stmt = conn
        .prepare(
            "SELECT coalesce(seq, 0), rowid, at_s, actor, action, detail, mac FROM audit_log
             WHERE ?::VARCHAR IS NULL OR action = ? ORDER BY seq NULLS LAST, rowid",
        )
        .ctx("reading audit log")?;
    let rows = stmt
        .query_map(params![action, action], |r| {
            Ok((
                Stored {
                    seq: r.get(0)?,
                    rowid: r.get(1)?,
                    at_s: r.get(2)?,
                    actor: r.get(3)?,
                    action: r.get(4)?,
                    detail: r.get(5)?,
                },
                r.get(6)?,
            ))
        })
        .ctx("reading audit log")?;
    rows.collect::<std::result::Result<Vec<_>, _>>()
        .ctx("reading audit log")
}

/// Checks the chain of `conn`'s log under `keys`.
fn verify(conn: &Connection, keys: &Keyring) -> Result<AuditCheck> {
    let lines = all_lines(conn, None)?;
    let mut prev = GENESIS;
    let mut broken = None;
    let mut last_seq = 0;
    for (i, (line, mac)) in lines.iter().enumerate() {
        let expected = i as i64 + 1;
        let reason = match (line.seq, mac) {
            (0, _) | (_, None) => {
                Some("a line without a place in the chain (inserted around the log)".to_string())
            }
            (s, _) if s > expected => Some(format!("line {expected} is missing (the next is {s})")),
            (s, _) if s != expected => Some(format!("line {s} is out of place")),
            (_, Some(m)) => {
                let want = keys.audit_mac(
                    &prev,
                    expected,
                    line.at_s,
                    [&line.actor, &line.action, &line.detail],
                );
                if m.as_slice() == want {
                    prev = want;
                    None
                } else {
                    Some(
                        "the line was changed, or the log was written with another key".to_string(),
                    )
                }
            }
        };
        if let Some(reason) = reason {
            broken = Some(AuditBreak {
                seq: expected,
                reason,
            });
            break;
        }
        last_seq = expected;
    }
    Ok(AuditCheck {
        lines: lines.len() as u64,
        last_seq,
        last_mac: hex(&prev),
        broken,
    })
}

/// Chains the lines of a log written before the chain existed (schema 6's
/// migration): numbered 1, 2, … in the order they were written. Returns the
/// number of lines.
pub(crate) fn chain_all(conn: &Connection, keys: &Keyring) -> Result<u64> {
    let lines = all_lines(conn, None)?;
    let mut prev = GENESIS;
    let mut update = conn
        .prepare("UPDATE audit_log SET seq = ?, mac = ? WHERE rowid = ?")
        .ctx("chaining the audit log")?;
    for (i, (l, _)) in lines.iter().enumerate() {
        let seq = i as i64 + 1;
        prev = keys.audit_mac(&prev, seq, l.at_s, [&l.actor, &l.action, &l.detail]);
        update
            .execute(params![seq, prev.to_vec(), l.rowid])
            .ctx("chaining the audit log")?;
    }
    Ok(lines.len() as u64)
}

/// Re-computes the MAC of every placed line under `keys`, keeping the
/// numbers (a gap, or a line without a place, stays visible).
fn remac(conn: &Connection, keys: &Keyring) -> Result<()> {
    let mut prev = GENESIS;
    let mut update = conn
        .prepare("UPDATE audit_log SET mac = ? WHERE rowid = ?")
        .ctx("re-chaining the audit log")?;
    for (l, _) in all_lines(conn, None)?.iter().filter(|(l, _)| l.seq > 0) {
        prev = keys.audit_mac(&prev, l.seq, l.at_s, [&l.actor, &l.action, &l.detail]);
        update
            .execute(params![prev.to_vec(), l.rowid])
            .ctx("re-chaining the audit log")?;
    }
    Ok(())
}

/// Re-keys the chain inside a key rotation's transaction: checks it under
/// `old`, chains it under `new`, and appends a line saying what the check
/// found (so a rotation cannot quietly launder an edited log).
pub(crate) fn rekey(conn: &Connection, old: &Keyring, new: &Keyring, at_s: i64) -> Result<()> {
    let check = verify(conn, old)?;
    remac(conn, new)?;
    let outcome = match &check.broken {
        None => format!(
            "audit chain of {} lines verified under key {}",
            check.lines,
            old.id()
        ),
        Some(b) => format!(
            "audit chain BROKEN under key {} at line {}: {}",
            old.id(),
            b.seq,
            b.reason
        ),
    };
    append(
        conn,
        new,
        at_s,
        "wangge key rotate",
        "key_rotate",
        &format!("{outcome}; re-chained under key {}", new.id()),
    )
}

impl Store {
    /// Appends a chained line to the audit log (log-ins, reveals of
    /// personal data, exports, account changes).
    pub fn audit(&self, actor: &str, action: &str, detail: &str) -> Result<()> {
        append(
            &self.conn,
            &self.keys,
            chrono::Utc::now().timestamp(),
            actor,
            action,
            detail,
        )
    }

    /// Audit log lines in chain order, optionally only those of one action
    /// (`wangge audit`, tests).
    pub fn audit_log(&self, action: Option<&str>) -> Result<Vec<AuditLine>> {
        Ok(all_lines(&self.conn, action)?
            .into_iter()
            .map(|(l, _)| l.line())
            .collect())
    }

    /// Audit log lines, oldest first, optionally only those of one action:
    /// `(at_s, actor, action, detail)`.
    pub fn audit_lines(&self, action: Option<&str>) -> Result<Vec<(i64, String, String, String)>> {
        Ok(self
            .audit_log(action)?
            .into_iter()
            .map(|l| (l.at_s, l.actor, l.action, l.detail))
            .collect())
    }

    /// Number of audit log lines with this action (tests, reports).
    pub fn audit_count(&self, action: &str) -> Result<u64> {
        self.conn
            .query_row(
                "SELECT count(*) FROM audit_log WHERE action = ?",
                [action],
                |r| r.get(0),
            )
            .ctx("counting audit log")
    }

    /// Checks the audit log's chain under the store's key: the first line
    /// that was changed, inserted, removed or moved, if any.
    pub fn verify_audit(&self) -> Result<AuditCheck> {
        verify(&self.conn, &self.keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypt::KeySecret;

    fn store(tag: &str) -> (Store, std::path::PathBuf, Keyring) {
        let dir = std::env::temp_dir().join(format!("wangge-audit-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("a.duckdb");
        let keys = Keyring::new(&KeySecret::generate().expect("key"));
        let s = Store::open(&path, &keys).expect("open");
        for i in 0..5 {
            s.audit(
                &format!("user{i}"),
                "reveal",
                &format!("persons list {i}; reason: 走访"),
            )
            .expect("audit");
        }
        (s, path, keys)
    }

    fn tamper(path: &std::path::Path, sql: &str) {
        let c = Connection::open(path).expect("raw");
        c.execute_batch(sql).expect("tamper");
    }

    #[test]
    fn an_untouched_chain_verifies_and_names_its_last_line() {
        let (s, _, _) = store("ok");
        let c = s.verify_audit().expect("verify");
        assert_eq!((c.lines, c.last_seq, c.broken), (5, 5, None));
        assert_eq!(c.last_mac.len(), 64);
        let lines = s.audit_log(Some("reveal")).expect("lines");
        assert_eq!(
            lines.iter().map(|l| l.seq).collect::<Vec<_>>(),
            vec![1, 2, 3, 4, 5]
        );
    }

    #[test]
    fn a_changed_a_removed_and_an_inserted_line_are_each_found() {
        for (tag, sql, seq, word) in [
            ("edit", "UPDATE audit_log SET detail = 'nothing' WHERE seq = 3", 3, "changed"),
            ("actor", "UPDATE audit_log SET actor = 'someone' WHERE seq = 2", 2, "changed"),
            ("drop", "DELETE FROM audit_log WHERE seq = 2", 2, "missing"),
            ("raw", "INSERT INTO audit_log (at_s, actor, action, detail) VALUES (0, 'x', 'login', 'forged')", 6, "without a place"),
            ("swap", "UPDATE audit_log SET seq = 100 WHERE seq = 4; UPDATE audit_log SET seq = 4 WHERE seq = 5; UPDATE audit_log SET seq = 5 WHERE seq = 100", 4, "changed"),
        ] {
            let (s, path, keys) = store(tag);
            drop(s);
            tamper(&path, sql);
            let s = Store::open(&path, &keys).expect("reopen");
            let b = s.verify_audit().expect("verify").broken.unwrap_or_else(|| panic!("{tag}: not found"));
            assert_eq!(b.seq, seq, "{tag}: {b:?}");
            assert!(b.reason.contains(word), "{tag}: {b:?}");
        }
    }

    #[test]
    fn a_rechained_log_does_not_verify_without_the_key() {
        // Whoever edits the file and re-computes the MACs without the key
        // (here: with another key) is found at the first line.
        let (s, path, keys) = store("forge");
        let other = Keyring::new(&KeySecret::generate().expect("key"));
        remac(&s.conn, &other).expect("forged chain");
        drop(s);
        let s = Store::open(&path, &keys).expect("reopen");
        assert_eq!(
            s.verify_audit().expect("verify").broken.map(|b| b.seq),
            Some(1)
        );
    }

    #[test]
    fn key_rotation_rechains_and_records_what_it_found() {
        let (mut s, _, _) = store("rotate");
        let new = Keyring::new(&KeySecret::generate().expect("key"));
        s.rotate_key(&new).expect("rotate");
        let c = s.verify_audit().expect("verify under the new key");
        assert_eq!((c.lines, c.broken), (6, None));
        let last = s.audit_log(Some("key_rotate")).expect("lines");
        assert!(
            last[0].detail.contains("audit chain of 5 lines verified"),
            "{last:?}"
        );
    }

    #[test]
    fn the_migration_chains_the_lines_of_a_version_5_store() {
        let (s, path, keys) = store("v5");
        drop(s);
        // Back to schema 5: no chain columns, lines as version 5 wrote them,
        // none of the tables of later versions.
        tamper(
            &path,
            "DROP INDEX audit_log_seq; ALTER TABLE audit_log DROP COLUMN mac;
             ALTER TABLE audit_log DROP COLUMN seq; DROP TABLE event_photos;
             DROP TABLE visits; DROP TABLE needs; DROP TABLE event_assists;
             DROP TABLE event_notes; DROP TABLE visit_photos; DROP TABLE regrid_jobs; DROP TABLE persons;
             CREATE TABLE persons (id UBIGINT NOT NULL, household UBIGINT, name VARCHAR NOT NULL,
               national_id BLOB, phone BLOB, national_id_hash UBIGINT, birth_year USMALLINT NOT NULL,
               sex VARCHAR NOT NULL, tags VARCHAR NOT NULL, community UBIGINT, comprehensive UBIGINT,
               micro UBIGINT, dedicated UBIGINT);
             INSERT INTO audit_log VALUES (1, 'zhang', 'login', 'from 127.0.0.1');
             UPDATE meta SET value = '5' WHERE key = 'schema_version';",
        );
        let s = Store::open(&path, &keys).expect("migrate");
        assert_eq!(
            s.schema_version().expect("version"),
            super::super::SCHEMA_VERSION
        );
        let c = s.verify_audit().expect("verify");
        assert_eq!((c.lines, c.last_seq, c.broken), (6, 6, None));
        s.audit("li", "login", "after the migration")
            .expect("append");
        assert_eq!(s.verify_audit().expect("verify").last_seq, 7);
    }
}
