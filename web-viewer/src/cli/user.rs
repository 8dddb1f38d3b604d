//! `wangge user add|passwd|disable|enable|list` and `wangge token
//! add|revoke|list`: accounts and kiosk tokens in the store. Passwords are
//! read from standard input (`--password-stdin`) or asked for twice on the
//! terminal, never taken from the command line (it would land in the shell
//! history and the process list); `--random` makes one and prints it once.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use anyhow::{bail, Context, Result};
use chrono::Utc;
use clap::{Args, Subcommand};
use geo_core::store::{Store, TokenRow};

use crate::auth::password::{hash_password, random_password, AccountSpec};
use crate::auth::secret::new_kiosk_token;

/// Arguments of `wangge user`.
#[derive(Args, Debug)]
pub struct UserArgs {
    #[command(subcommand)]
    cmd: UserCmd,
}

#[derive(Subcommand, Debug)]
enum UserCmd {
    /// Add an account.
    Add {
        /// Log-in name (a-z, 0-9, '.', '_', '-').
        name: String,
        /// leader, planner, screen, worker or department.
        #[arg(long)]
        role: String,
        /// Name shown in the pages and the audit log.
        #[arg(long)]
        display_name: Option<String>,
        /// Grid codes of a worker (comma-separated or repeated).
        #[arg(long)]
        grids: Vec<String>,
        /// Department of a department user (as in the dispatch rules: `fire_service`).
        #[arg(long)]
        department: Option<String>,
        #[command(flatten)]
        pw: PasswordSource,
    },
    /// Change an account's password (ends its sessions at the next start).
    Passwd {
        /// Log-in name.
        name: String,
        #[command(flatten)]
        pw: PasswordSource,
    },
    /// Disable an account (it can no longer log in).
    Disable {
        /// Log-in name.
        name: String,
    },
    /// Enable a disabled account again.
    Enable {
        /// Log-in name.
        name: String,
    },
    /// List accounts (no password hashes).
    List,
}

#[derive(Args, Debug)]
struct PasswordSource {
    /// Read the password from the first line of standard input.
    #[arg(long, conflicts_with = "random")]
    password_stdin: bool,
    /// Make a random password and print it once.
    #[arg(long)]
    random: bool,
}

fn read_password(src: &PasswordSource) -> Result<(String, bool)> {
    if src.random {
        return Ok((random_password(), true));
    }
    let stdin = std::io::stdin();
    if src.password_stdin || !stdin.is_terminal() {
        let mut line = String::new();
        stdin
            .lock()
            .read_line(&mut line)
            .context("reading the password from stdin")?;
        return Ok((line.trim_end_matches(['\n', '\r']).to_string(), false));
    }
    bail!("give the password with --password-stdin (e.g. from a password manager) or use --random")
}

fn open(db: &Path) -> Result<Store> {
    super::key::open_store(db).map_err(|e| {
        if format!("{e:#}").contains("lock") {
            // A running `wangge serve` holds the file: its page and API
            // change accounts and tokens at once instead.
            e.context(
                "the store is held by a running `wangge serve`: change accounts and tokens in its \
                 page /admin as a leader (or POST /api/v1/accounts/NAME/disable, \
                 /api/v1/tokens/ID/revoke), or stop the server first",
            )
        } else {
            e
        }
    })
}

/// Runs `wangge user`.
pub fn run(db: &Path, a: UserArgs) -> Result<()> {
    let now = Utc::now().timestamp();
    match a.cmd {
        UserCmd::Add {
            name,
            role,
            display_name,
            grids,
            department,
            pw,
        } => {
            let spec = AccountSpec::new(
                &name,
                display_name.as_deref(),
                &role,
                &grids,
                department.as_deref(),
            )?;
            let (password, shown) = read_password(&pw)?;
            let row = spec.into_row(&password, now)?;
            let mut store = open(db)?;
            store.add_account(&row)?;
            store.audit(
                "cli",
                "account_add",
                &format!("{} role={}", row.name, row.role),
            )?;
            println!("account {} ({}) added", row.name, row.role);
            if shown {
                println!("password (shown once): {password}");
            }
        }
        UserCmd::Passwd { name, pw } => {
            let (password, shown) = read_password(&pw)?;
            let hash = hash_password(&password)?;
            let mut store = open(db)?;
            store.set_password_hash(&name, &hash, now)?;
            store.audit("cli", "account_passwd", &name)?;
            println!("password of {name} changed");
            if shown {
                println!("password (shown once): {password}");
            }
        }
        UserCmd::Disable { name } => {
            let mut store = open(db)?;
            store.set_account_disabled(&name, true, now)?;
            store.audit("cli", "account_disable", &name)?;
            println!("account {name} disabled");
        }
        UserCmd::Enable { name } => {
            let mut store = open(db)?;
            store.set_account_disabled(&name, false, now)?;
            store.audit("cli", "account_enable", &name)?;
            println!("account {name} enabled");
        }
        UserCmd::List => {
            let store = open(db)?;
            println!("name\trole\tdisplay name\tgrids\tdepartment\tdisabled");
            for a in store.accounts()? {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    a.name,
                    a.role,
                    a.display_name,
                    a.grids.join(","),
                    a.department.unwrap_or_default(),
                    a.disabled
                );
            }
        }
    }
    Ok(())
}

/// Arguments of `wangge token`.
#[derive(Args, Debug)]
pub struct TokenArgs {
    #[command(subcommand)]
    cmd: TokenCmd,
}

#[derive(Subcommand, Debug)]
enum TokenCmd {
    /// Make a read-only kiosk token for a big screen or an embed, or with
    /// `--role open311` an Open311 API key for a hotline platform or an app
    /// (printed once).
    Add {
        /// Role of the token: `screen` (a kiosk) or `open311` (an Open311
        /// client's `api_key`, which may only file requests).
        #[arg(long, default_value = "screen")]
        role: String,
        /// Event source of an Open311 key's requests: hotline (12345),
        /// resident (an app), sensor, patrol.
        #[arg(long, default_value = "hotline")]
        source: String,
        /// What it is for (the wall, the dashboard).
        #[arg(long, default_value = "")]
        label: String,
        /// Origins that may frame `/embed` with it (repeatable).
        #[arg(long = "allow-origin")]
        origins: Vec<String>,
    },
    /// Revoke a token by its ID (takes effect when the server next starts).
    Revoke {
        /// The token's ID (`wangge token list`).
        id: String,
    },
    /// List tokens (IDs, never secrets).
    List,
}

/// Runs `wangge token`.
pub fn run_token(db: &Path, a: TokenArgs) -> Result<()> {
    let now = Utc::now().timestamp();
    match a.cmd {
        TokenCmd::Add { role, origins, .. } if role == "open311" && !origins.is_empty() => {
            bail!("--allow-origin is for kiosk tokens; an Open311 key is sent by a server, not framed")
        }
        TokenCmd::Add {
            role,
            label,
            source,
            ..
        } if role == "open311" => {
            let key = add_open311_key(&mut open(db)?, &source, &label, now)?;
            println!("Open311 api_key (shown once; files requests as source {source}):\n{key}");
            println!("post: curl -d api_key={key} -d service_code=02.01 -d lat=… -d long=… http://HOST:PORT/open311/v2/requests.xml");
        }
        TokenCmd::Add {
            role,
            label,
            origins,
            ..
        } => {
            let token = add_kiosk_token(&mut open(db)?, &role, &label, &origins, now)?;
            println!("kiosk token (shown once; read-only, role {role}):\n{token}");
            println!("big screen: http://HOST:PORT/screen?token={token}");
            println!("embed:      http://HOST:PORT/embed?token={token}");
        }
        TokenCmd::Revoke { id } => {
            let mut store = open(db)?;
            store.revoke_token(&id, now)?;
            store.audit("cli", "token_revoke", &id)?;
            println!("token {id} revoked (restart the server to apply)");
        }
        TokenCmd::List => {
            let store = open(db)?;
            println!("id\trole\tlabel\torigins\trevoked");
            for t in store.tokens()? {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    t.id,
                    t.role,
                    t.label,
                    t.origins.join(","),
                    t.revoked_at.is_some()
                );
            }
        }
    }
    Ok(())
}

/// Stores a new kiosk token and returns it (the only time it exists in full).
pub fn add_kiosk_token(
    store: &mut Store,
    role: &str,
    label: &str,
    origins: &[String],
    now: i64,
) -> Result<String> {
    if role != "screen" {
        bail!("role {role:?}: kiosk tokens are read-only screen tokens (--role screen); an Open311 key is --role open311");
    }
    for o in origins {
        if !(o.starts_with("https://") || o.starts_with("http://")) || o.contains(' ') {
            bail!("origin {o:?}: write it as https://host[:port]");
        }
    }
    let (id, token, digest) = new_kiosk_token();
    store.add_token(&TokenRow {
        id: id.clone(),
        secret_sha256: digest,
        role: role.to_string(),
        label: label.to_string(),
        origins: origins.to_vec(),
        created_at: now,
        revoked_at: None,
    })?;
    store.audit(
        "cli",
        "token_add",
        &format!("{id} role={role} label={label}"),
    )?;
    Ok(token)
}

/// Stores a new Open311 API key for a client filing as `source` and returns
/// it (the only time it exists in full). Kept in the kiosk-token table with
/// the role `open311:<source>`: listed, revoked (`wangge token revoke`,
/// `POST /api/v1/tokens/{id}/revoke`) and audited as tokens are.
pub fn add_open311_key(store: &mut Store, source: &str, label: &str, now: i64) -> Result<String> {
    let src = geo_core::model::EventSource::parse(source)
        .map_err(|e| anyhow::anyhow!("--source: {e}"))?;
    if src == geo_core::model::EventSource::Demo {
        bail!("--source demo is the demo feed's; an Open311 client files as hotline, resident, sensor or patrol");
    }
    let (id, key, digest) = crate::auth::secret::new_open311_key();
    let role = format!("{}{}", crate::auth::guard::OPEN311_ROLE_PREFIX, src.code());
    store.add_token(&TokenRow {
        id: id.clone(),
        secret_sha256: digest,
        role: role.clone(),
        label: label.to_string(),
        origins: Vec::new(),
        created_at: now,
        revoked_at: None,
    })?;
    store.audit(
        "cli",
        "token_add",
        &format!("{id} role={role} label={label}"),
    )?;
    Ok(key)
}

/// Arguments of `wangge audit`.
#[derive(Args, Debug)]
pub struct AuditArgs {
    /// Only lines of this action (`reveal`, `export`, `login`, `login_failed`…).
    #[arg(long)]
    action: Option<String>,
    /// Output format: `tsv` (a table to read), `jsonl` (one JSON object a
    /// line, for an archive or a SIEM).
    #[arg(long, default_value = "tsv", value_parser = ["tsv", "jsonl"])]
    format: String,
    /// Check the log's chain instead of printing it: exits non-zero naming
    /// the first line that was changed, inserted, removed or moved.
    #[arg(long)]
    verify: bool,
}

/// One exported line of `wangge audit --format jsonl`.
#[derive(serde::Serialize)]
struct AuditOut<'a> {
    seq: i64,
    at: String,
    actor: &'a str,
    action: &'a str,
    detail: &'a str,
}

/// Runs `wangge audit`: the audit log, oldest first, as a table (line
/// number, time, actor, action, detail) or JSON lines; `--verify` checks
/// its chain.
pub fn run_audit(db: &Path, a: AuditArgs) -> Result<()> {
    let store = open(db)?;
    let mut out = std::io::stdout().lock();
    if a.verify {
        let c = store.verify_audit()?;
        if let Some(b) = c.broken {
            bail!(
                "the audit log is BROKEN at line {} of {}: {} (the lines before it, 1..{}, are intact)",
                b.seq,
                c.lines,
                b.reason,
                c.last_seq
            );
        }
        writeln!(
            out,
            "audit log intact: {} lines; last line {} with MAC {} \
             (keep this pair elsewhere: a log cut short after it no longer ends with it)",
            c.lines, c.last_seq, c.last_mac
        )?;
        return Ok(());
    }
    if a.format == "tsv" {
        writeln!(out, "seq\tat\tactor\taction\tdetail")?;
    }
    for l in store.audit_log(a.action.as_deref())? {
        let at = chrono::DateTime::from_timestamp(l.at_s, 0)
            .map(|d| d.to_rfc3339())
            .unwrap_or_else(|| l.at_s.to_string());
        if a.format == "jsonl" {
            let line = AuditOut {
                seq: l.seq,
                at,
                actor: &l.actor,
                action: &l.action,
                detail: &l.detail,
            };
            writeln!(out, "{}", serde_json::to_string(&line)?)?;
        } else {
            writeln!(
                out,
                "{}\t{at}\t{}\t{}\t{}",
                l.seq,
                l.actor.replace(['\t', '\n'], " "),
                l.action,
                l.detail.replace(['\t', '\n'], " ")
            )?;
        }
    }
    Ok(())
}
