//! `wangge import`: element files (GeoJSON/CSV/Shapefile/Excel), OpenStreetMap PBF and
//! foreign incident CSV. Every import is all-or-nothing. The work is
//! [`crate::service::import`]; this module opens the store, or with
//! `--server URL` uploads the file to a running `wangge serve`
//! (`POST /api/v1/imports`), which imports it through the same code.

use std::io::{IsTerminal, Read, Write};
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, FromArgMatches};
use indicatif::{ProgressBar, ProgressStyle};

use crate::service::import::{import_into, ImportRun};
pub use crate::service::import::{
    read_elements_from, DefaultUnitsMade, ImportOutcome, ImportSpec, IncidentSummary,
};

/// Arguments of `wangge import`.
#[derive(Args, Debug)]
pub struct ImportArgs {
    /// What to import and how.
    #[command(flatten)]
    pub spec: ImportSpec,
    /// Print the summary as one JSON object on stdout (messages stay on
    /// stderr; a dry run's lines go there too).
    #[arg(long)]
    pub json: bool,
    /// Import through the `wangge serve` running at this URL
    /// (`http://127.0.0.1:8080`) instead of opening the store, which that
    /// server holds: the file is uploaded and imported there, all or
    /// nothing, and shows in its tiles and lists at once. Needs --user.
    #[arg(long, value_name = "URL", env = "WANGGE_SERVER")]
    pub server: Option<String>,
    /// With --server: the account to log in as (a leader); the password
    /// comes from the environment variable WANGGE_PASSWORD, else a prompt
    /// on the terminal.
    #[arg(long, value_name = "NAME", env = "WANGGE_USER")]
    pub user: Option<String>,
}

impl ImportArgs {
    /// Parses `import <kind> <FILE> [options]` as the command line does
    /// (`argv[0]` is the subcommand's name); tests drive the CLI with it.
    pub fn from_argv<I, T>(argv: I) -> Result<ImportArgs, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let m =
            ImportArgs::augment_args(clap::Command::new("import")).try_get_matches_from(argv)?;
        ImportArgs::from_arg_matches(&m)
    }
}

/// Runs `wangge import`: messages to stderr, the dry-run report to stdout.
pub fn run(db: &Path, a: ImportArgs) -> Result<()> {
    run_with(db, a, &mut std::io::stdout(), &mut std::io::stderr()).map(|_| ())
}

/// [`run`] with its output (`--dry-run` report, or the `--json` summary)
/// and messages (warnings, problems, the summary line) written to the given
/// writers.
pub fn run_with(
    db: &Path,
    a: ImportArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<ImportOutcome> {
    if let Some(url) = a.server.clone() {
        return remote::run(&url, &a, out, err);
    }
    let mut store = super::key::open_store(db)?;
    let mut local = |out: &mut dyn Write, err: &mut dyn Write| {
        import_into(
            &mut store,
            &a.spec,
            &mut ImportRun {
                out,
                err,
                bars: true,
                actor: "cli".into(),
            },
        )
    };
    if !a.json {
        return local(out, err);
    }
    // With --json stdout holds the summary only: the lines a dry run would
    // print there go to stderr after the messages.
    let mut held = Vec::new();
    let done = local(&mut held, err);
    err.write_all(&held)?;
    let outcome = done?;
    serde_json::to_writer_pretty(&mut *out, &outcome)?;
    writeln!(out)?;
    Ok(outcome)
}

/// `wangge import --server URL`: log in as the pages do (session cookie
/// and CSRF token), upload the file with a progress bar, print what the
/// server answered as the local import would.
mod remote {
    use super::*;
    use serde_json::Value;

    /// Options the upload sends in the query: every option of the spec that
    /// differs from its default, by its long name.
    fn query(a: &ImportSpec) -> Result<Vec<(String, String)>> {
        let mut q: Vec<(String, String)> = Vec::new();
        let mut put = |k: &str, v: String| q.push((k.to_string(), v));
        let file_name = a
            .file
            .file_name()
            .map(|f| f.to_string_lossy().to_string())
            .ok_or_else(|| anyhow!("{}: not a file", a.file.display()))?;
        put("kind", a.kind.clone());
        put("filename", file_name);
        if a.crs != "wgs84" {
            put("crs", a.crs.clone());
        }
        if a.encoding != "auto" {
            put("encoding", a.encoding.clone());
        }
        if a.tz != "Asia/Shanghai" {
            put("tz", a.tz.clone());
        }
        if a.ids != "file" {
            put("ids", a.ids.clone());
        }
        let texts = [
            ("map", &a.map),
            ("division_prefix", &a.division_prefix),
            ("time_col", &a.time_col),
            ("lon_col", &a.lon_col),
            ("lat_col", &a.lat_col),
            ("category_col", &a.category_col),
            ("description_col", &a.description_col),
            ("resolution_col", &a.resolution_col),
            ("source", &a.source),
            ("use_values", &a.use_values),
            ("sheet", &a.sheet),
            ("address_col", &a.address_col),
        ];
        for (k, v) in texts {
            if let Some(v) = v {
                put(k, v.clone());
            }
        }
        if !a.open_values.is_empty() {
            put("open_values", a.open_values.join("|"));
        }
        if !a.closed_values.is_empty() {
            put("closed_values", a.closed_values.join("|"));
        }
        if let Some(v) = a.dwelling_m2 {
            put("dwelling_m2", v.to_string());
        }
        if let Some(v) = a.floor_height_m {
            put("floor_height_m", v.to_string());
        }
        let flags = [
            ("repair", a.repair),
            ("merge_by_id", a.merge_by_id),
            ("negative_ids", a.negative_ids),
            ("dry_run", a.dry_run),
            ("estimate_households", a.estimate_households),
            ("explode", a.explode),
            ("no_default_units", a.no_default_units),
            ("skip_bad_rows", a.skip_bad_rows),
        ];
        for (k, on) in flags {
            if on {
                put(k, "1".into());
            }
        }
        if let Some(p) = &a.category_map {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("reading the category map {}", p.display()))?;
            put("category_map", text);
        }
        if a.rejects.is_some() {
            bail!(
                "--rejects writes a file on the machine that imports; with --server import \
                 without it (the summary counts the skipped rows per problem)"
            );
        }
        if a.dispatch_rules.is_some() {
            bail!(
                "--dispatch-rules: with --server the server's own event rules give imported \
                 events their handler and deadline (wangge serve --dispatch-rules)"
            );
        }
        Ok(q)
    }

    /// The password: WANGGE_PASSWORD, else asked on the terminal without echo.
    fn password(user: &str) -> Result<String> {
        if let Ok(p) = std::env::var("WANGGE_PASSWORD") {
            return Ok(p);
        }
        let mut tty = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/tty")
            .context("no password: set WANGGE_PASSWORD or run on a terminal to be asked")?;
        write!(tty, "password of {user}: ")?;
        tty.flush()?;
        let before = rustix::termios::tcgetattr(&tty).ok();
        if let Some(t) = &before {
            let mut quiet = t.clone();
            quiet.local_modes.remove(rustix::termios::LocalModes::ECHO);
            let _ = rustix::termios::tcsetattr(&tty, rustix::termios::OptionalActions::Now, &quiet);
        }
        let mut line = String::new();
        let read = std::io::BufRead::read_line(&mut std::io::BufReader::new(&tty), &mut line);
        if let Some(t) = &before {
            let _ = rustix::termios::tcsetattr(&tty, rustix::termios::OptionalActions::Now, t);
        }
        writeln!(tty)?;
        read.context("reading the password")?;
        Ok(line.trim_end_matches(['\n', '\r']).to_string())
    }

    /// A file being uploaded, ticking a bar as it is read.
    struct Ticking<R> {
        inner: R,
        pb: ProgressBar,
    }

    impl<R: Read> Read for Ticking<R> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.inner.read(buf)?;
            self.pb.inc(n as u64);
            if n == 0 {
                self.pb.set_message("importing");
            }
            Ok(n)
        }
    }

    fn error_message(status: u16, v: &Value, body: &str) -> String {
        v["error"]["message"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| {
                format!(
                    "HTTP {status}: {}",
                    body.chars().take(300).collect::<String>()
                )
            })
    }

    pub(super) fn run(
        url: &str,
        a: &ImportArgs,
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) -> Result<ImportOutcome> {
        let base = url.trim_end_matches('/');
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            bail!("--server {url:?}: expected http://HOST:PORT or https://HOST");
        }
        let user = a
            .user
            .clone()
            .context("--server needs --user NAME (a leader's account; password from WANGGE_PASSWORD or the terminal)")?;
        let spec = &a.spec;
        let q = query(spec)?;
        let mut file = std::fs::File::open(&spec.file)
            .with_context(|| format!("reading {}", spec.file.display()))?;
        let len = file.metadata()?.len();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(std::time::Duration::from_secs(15)))
            .build()
            .into();
        let unreachable = |e: ureq::Error| anyhow!("server {base} unreachable: {e}");
        let password = password(&user)?;
        let login = serde_json::json!({"name": user, "password": password}).to_string();
        let mut r = agent
            .post(&format!("{base}/api/v1/session"))
            .header("Content-Type", "application/json")
            .send(login.as_bytes())
            .map_err(unreachable)?;
        let status = r.status().as_u16();
        let cookie: Vec<String> = r
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.split(';').next())
            .map(str::to_string)
            .collect();
        let body = r.body_mut().read_to_string().unwrap_or_default();
        let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        if status != 200 {
            bail!(
                "log-in as {user} at {base} refused ({status}): {}",
                error_message(status, &v, &body)
            );
        }
        let csrf = v["csrf"]
            .as_str()
            .context("the server's log-in answer has no CSRF token")?
            .to_string();
        let cookie = cookie.join("; ");
        let pb = if std::io::stderr().is_terminal() {
            ProgressBar::new(len)
        } else {
            ProgressBar::hidden()
        };
        pb.set_style(
            ProgressStyle::with_template(
                "{spinner} {msg:<10} [{bar:30}] {bytes}/{total_bytes} ({elapsed}, eta {eta})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        pb.set_message("uploading");
        pb.enable_steady_tick(std::time::Duration::from_millis(200));
        let query = serde_urlencoded::to_string(&q)?;
        let mut reader = Ticking {
            inner: &mut file,
            pb: pb.clone(),
        };
        let sent = agent
            .post(&format!("{base}/api/v1/imports?{query}"))
            .header("Cookie", &cookie)
            .header("X-CSRF-Token", &csrf)
            .header("Content-Type", "application/octet-stream")
            .header("Content-Length", &len.to_string())
            .send(ureq::SendBody::from_reader(&mut reader));
        pb.finish_and_clear();
        let mut r = sent.map_err(unreachable)?;
        let status = r.status().as_u16();
        let body = r
            .body_mut()
            .with_config()
            .limit(64 << 20)
            .read_to_string()
            .unwrap_or_default();
        // Log out: the session is of no further use.
        let _ = agent
            .delete(&format!("{base}/api/v1/session"))
            .header("Cookie", &cookie)
            .header("X-CSRF-Token", &csrf)
            .call();
        let mut v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        let lines = |v: &Value, key: &str| -> Vec<String> {
            v[key]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|l| l.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut messages = lines(&v, "messages");
        messages.extend(lines(&v["error"], "messages"));
        let report = lines(&v, "report");
        for m in &messages {
            writeln!(err, "{m}")?;
        }
        if status != 200 {
            let detail = &v["error"];
            let problems = lines(detail, "problems");
            // As the local import: a dry run lists the problems as its
            // report; otherwise the error below holds them.
            if spec.dry_run {
                for p in &problems {
                    if a.json {
                        writeln!(err, "{p}")?;
                    } else {
                        writeln!(out, "{p}")?;
                    }
                }
            }
            let msg = error_message(status, &v, &body);
            bail!(match status {
                401 => format!("{base}: not signed in ({msg})"),
                403 => format!("{base}: {user} may not import ({msg})"),
                413 => format!("{}: too large for the server ({msg})", spec.file.display()),
                _ => msg,
            });
        }
        if let Some(o) = v.as_object_mut() {
            o.remove("messages");
            o.remove("report");
            // The file as given here, as the local import names it.
            if o.contains_key("file") {
                o.insert("file".into(), Value::from(spec.file.display().to_string()));
            }
        }
        let outcome = outcome_of(&v, spec)?;
        for l in &report {
            if a.json {
                writeln!(err, "{l}")?;
            } else {
                writeln!(out, "{l}")?;
            }
        }
        if a.json {
            serde_json::to_writer_pretty(&mut *out, &v)?;
            writeln!(out)?;
        }
        Ok(outcome)
    }

    /// The figures of the answer as an [`ImportOutcome`] (what callers of
    /// [`super::run_with`] get back); the file is named as given here.
    fn outcome_of(v: &Value, spec: &ImportSpec) -> Result<ImportOutcome> {
        let n = |k: &str| v[k].as_u64().unwrap_or(0);
        if !v.is_object() {
            bail!("the server answered no import summary: {v}");
        }
        Ok(ImportOutcome {
            kind: v["kind"].as_str().unwrap_or(&spec.kind).to_string(),
            file: spec.file.display().to_string(),
            dry_run: v["dry_run"].as_bool().unwrap_or(spec.dry_run),
            elements: n("elements") as usize,
            rows: n("rows"),
            located: n("located"),
            outside_every_grid: n("outside_every_grid"),
            numbered_ids: v["numbered_ids"]
                .as_array()
                .and_then(|a| Some([a.first()?.as_u64()?, a.get(1)?.as_u64()?])),
            dispatched: n("dispatched") as usize,
            seconds: v["seconds"].as_f64().unwrap_or(0.0),
            ..ImportOutcome::default()
        })
    }
}
