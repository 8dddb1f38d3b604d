//! `wangge key`: the key file that seals ID numbers and phones at rest, and
//! how every command finds it.
//!
//! The key lives in its own file, never in the store: `--key FILE`, else
//! `WANGGE_KEY_FILE`, else the store's path with `.key` appended
//! (`town.duckdb.key`). It is 64 hex digits (or 32 raw bytes), readable by
//! its owner only; a key file others may read or write is refused. A store
//! records the ID of its key and refuses any other key. Only `wangge demo`
//! and `wangge serve` on a new store create a key themselves; every other
//! command on a store without a key names `wangge key init`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use geo_core::crypt::{KeySecret, Keyring};
use geo_core::store::{Store, StoreError};

/// Arguments of `wangge key`.
#[derive(Args, Debug)]
pub struct KeyArgs {
    /// What to do.
    #[command(subcommand)]
    pub cmd: KeyCmd,
}

/// `wangge key` subcommands.
#[derive(Subcommand, Debug)]
pub enum KeyCmd {
    /// Create the key file of the store (never overwrites one).
    Init,
    /// Re-encrypt every ID number and phone under a new key, in one
    /// transaction (the new key file is created when absent).
    Rotate {
        /// The new key file.
        #[arg(long, value_name = "FILE")]
        new_key: PathBuf,
    },
    /// Print the key file's path and key ID, and the store's key ID.
    Show,
}

/// The key file given by `--key` (or `WANGGE_KEY_FILE` through clap).
static KEY_FILE: OnceLock<PathBuf> = OnceLock::new();

/// Sets the key file of this process (`wangge --key FILE`); the first call wins.
pub fn use_key_file(path: PathBuf) {
    let _ = KEY_FILE.set(path);
}

/// Where the key of store `db` is: `--key`, else `WANGGE_KEY_FILE`, else
/// `db` with `.key` appended.
pub fn key_path(db: &Path) -> PathBuf {
    if let Some(p) = KEY_FILE.get() {
        return p.clone();
    }
    if let Some(p) = std::env::var_os("WANGGE_KEY_FILE").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    default_key_path(db)
}

/// `db` with `.key` appended (`town.duckdb.key`).
pub fn default_key_path(db: &Path) -> PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push(".key");
    PathBuf::from(s)
}

/// Reads a key file, refusing one that others may read or write.
pub fn load(path: &Path) -> Result<Keyring> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "no key file {}: create one with `wangge --db STORE key init` \
             (or name it with --key FILE or WANGGE_KEY_FILE)",
            path.display()
        ),
        Err(e) => return Err(e).with_context(|| format!("reading key file {}", path.display())),
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            bail!(
                "key file {} may be read or written by others (mode {mode:03o}): \
                 `chmod 600 {}` and check who saw it",
                path.display(),
                path.display()
            );
        }
    }
    #[cfg(not(unix))]
    let _ = meta;
    let bytes =
        std::fs::read(path).with_context(|| format!("reading key file {}", path.display()))?;
    let secret = KeySecret::from_file_bytes(&bytes)
        .with_context(|| format!("key file {}", path.display()))?;
    Ok(Keyring::new(&secret))
}

/// Creates a new key file (mode 0600), refusing to overwrite one.
pub fn create(path: &Path) -> Result<Keyring> {
    let secret = KeySecret::generate()?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = match options.open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => bail!(
            "key file {} exists already: refusing to overwrite it \
             (the store it seals could not be read any more)",
            path.display()
        ),
        Err(e) => return Err(e).with_context(|| format!("creating key file {}", path.display())),
    };
    f.write_all(secret.to_file_text().as_bytes())
        .and_then(|()| f.sync_all())
        .with_context(|| format!("writing key file {}", path.display()))?;
    Ok(Keyring::new(&secret))
}

/// Opens store `db` with its key file ([`key_path`]).
pub fn open_store(db: &Path) -> Result<Store> {
    let path = key_path(db);
    let keys = load(&path)?;
    open_with(db, &keys, &path)
}

/// Opens store `db`, creating its key file first when neither the key file
/// nor the store exists yet (`wangge demo`, `wangge serve` of the demo).
pub fn open_or_create_store(db: &Path) -> Result<Store> {
    let path = key_path(db);
    if !path.exists() && !db.exists() {
        let keys = create(&path)?;
        eprintln!(
            "created key file {} (key id {}): ID numbers and phones in {} are encrypted with it; \
             keep it out of the store's backups and back it up apart",
            path.display(),
            keys.id(),
            db.display()
        );
        return open_with(db, &keys, &path);
    }
    open_store(db)
}

fn open_with(db: &Path, keys: &Keyring, key_file: &Path) -> Result<Store> {
    Store::open(db, keys).map_err(|e| match e {
        StoreError::WrongKey { stored, given } => anyhow::anyhow!(
            "key file {} does not match store {} (the store's key id is {stored}, the file's {given})",
            key_file.display(),
            db.display()
        ),
        e => anyhow::Error::new(e).context(format!("opening store {}", db.display())),
    })
}

/// Runs `wangge key`.
pub fn run(db: &Path, a: KeyArgs) -> Result<()> {
    let path = key_path(db);
    match a.cmd {
        KeyCmd::Init => {
            let keys = create(&path)?;
            println!("key file {} (key id {})", path.display(), keys.id());
            eprintln!(
                "keep it apart from the store and its backups, and back it up apart: \
                 without it no ID number or phone in {} can be read",
                db.display()
            );
            Ok(())
        }
        KeyCmd::Show => {
            let keys = load(&path)?;
            println!("key file {} (key id {})", path.display(), keys.id());
            let store = open_with(db, &keys, &path)?;
            println!("store {} (key id {})", db.display(), store.key_id());
            Ok(())
        }
        KeyCmd::Rotate { new_key } => {
            let mut store = open_store(db)?;
            let new = if new_key.exists() {
                load(&new_key)?
            } else {
                create(&new_key)?
            };
            if new.id() == store.key_id() {
                bail!("{} is the store's key already", new_key.display());
            }
            let n = store
                .rotate_key(&new)
                .context("re-encrypting (nothing was changed)")?;
            println!(
                "re-encrypted {n} people: store {} now opens with {} (key id {}) only",
                db.display(),
                new_key.display(),
                new.id()
            );
            eprintln!(
                "next: mv {} {}, and destroy the old key once no backup needs it",
                new_key.display(),
                path.display()
            );
            Ok(())
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("wangge-key-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("dir");
        d
    }

    #[test]
    fn a_key_file_is_created_owner_only_and_never_overwritten() {
        let d = dir("create");
        let p = d.join("s.duckdb.key");
        let k = create(&p).expect("create");
        let mode = std::fs::metadata(&p).expect("file").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(load(&p).expect("load").id(), k.id());
        let e = create(&p).expect_err("exists");
        assert!(e.to_string().contains("refusing to overwrite"), "{e}");
        assert_eq!(load(&p).expect("kept").id(), k.id());
    }

    #[test]
    fn a_key_file_others_may_read_is_refused() {
        let d = dir("mode");
        let p = d.join("k");
        create(&p).expect("create");
        for mode in [0o644, 0o640, 0o604, 0o620] {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).expect("chmod");
            let e = load(&p).expect_err("refused");
            assert!(e.to_string().contains("chmod 600"), "{mode:o}: {e}");
        }
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o400)).expect("chmod");
        assert!(load(&p).is_ok());
        let e = load(&d.join("absent")).expect_err("missing");
        assert!(e.to_string().contains("wangge --db STORE key init"), "{e}");
    }

    #[test]
    fn a_store_refuses_another_key_by_name() {
        let d = dir("wrong");
        let db = d.join("s.duckdb");
        let k = create(&default_key_path(&db)).expect("key");
        drop(open_with(&db, &k, &default_key_path(&db)).expect("store"));
        let other = create(&d.join("other.key")).expect("other");
        let e = open_with(&db, &other, &d.join("other.key")).expect_err("wrong key");
        let msg = e.to_string();
        assert!(
            msg.contains("other.key does not match store") && msg.contains(k.id()),
            "{msg}"
        );
    }
}
