//! `POST /api/v1/imports`: a file imported through the running server, so
//! a town office loads this week's register without stopping the map
//! (`wangge serve` holds the store; a second process cannot open it). The
//! body is the file; the query holds `kind`, `filename` and the options of
//! `wangge import` by their long names. The file is streamed to a temporary
//! file beside the store (owner-only, at most `--import-limit-mib`), then
//! imported by [`crate::service::import`] — the code of `wangge import` —
//! on the server's write connection in one transaction. After a commit the
//! view is rebuilt and every cached tile dropped, so tiles and lists show
//! the new rows at once. Every import, stored, dry or refused, leaves an
//! audit line with the account.

use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::Json;
use serde::Serialize;
use tokio::io::AsyncWriteExt;
use tokio_stream::StreamExt;

use crate::answers::ErrorBody;
use crate::error::{AppError, AppResult, ErrorCode};
use crate::role::{Access, Role};
use crate::service::import::{import_into, ImportOutcome, ImportRun, ImportSpec};
use crate::state::AppState;

/// The answer: the summary of `wangge import --json`, then the messages the
/// CLI prints on stderr and the dry run's report lines.
#[derive(Debug, Serialize)]
pub struct ImportAnswer {
    /// The summary (the shape of `wangge import --json`).
    #[serde(flatten)]
    pub outcome: ImportOutcome,
    /// Warnings and notes, one per line (what the CLI prints on stderr).
    pub messages: Vec<String>,
    /// A dry run's report lines (what the CLI prints on stdout).
    pub report: Vec<String>,
}

/// What a refused import adds to the error: the problem lines (file, line,
/// field, value) and the messages.
#[derive(Debug, Serialize)]
pub struct Refusal {
    /// One line per problem found.
    pub problems: Vec<String>,
    /// Other messages of the import.
    pub messages: Vec<String>,
}

/// A temporary file removed when dropped.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Content types an HTML form can send: never an upload's, so a page of
/// another site cannot start an import with a form.
fn form_type(ct: &str) -> bool {
    let ct = ct.trim().to_ascii_lowercase();
    [
        "application/x-www-form-urlencoded",
        "multipart/form-data",
        "text/plain",
    ]
    .iter()
    .any(|f| ct.starts_with(f))
}

/// The extension of an uploaded file name kept for format detection
/// (`.csv`, `.geojson`, `.xlsx`, `.zip`, `.osm.pbf`, `.csv.gz`): the last
/// one or two parts of letters and digits.
fn extension(filename: &str) -> Result<String, AppError> {
    let base = filename.rsplit(['/', '\\']).next().unwrap_or(filename);
    let parts: Vec<&str> = base.split('.').skip(1).collect();
    let ok =
        |p: &str| !p.is_empty() && p.len() <= 8 && p.chars().all(|c| c.is_ascii_alphanumeric());
    let tail: Vec<&str> = parts
        .iter()
        .rev()
        .take(2)
        .copied()
        .take_while(|p| ok(p))
        .collect();
    if tail.is_empty() {
        return Err(AppError::bad(
            ErrorCode::BadFormat,
            format!("filename {filename:?} has no extension (.csv, .geojson, .xlsx, .zip, .osm.pbf, .csv.gz)"),
        ));
    }
    let last = tail[0].to_ascii_lowercase();
    if last == "shp" || last == "dbf" {
        return Err(AppError::bad(
            ErrorCode::BadFormat,
            "upload a Shapefile as one .zip of its .shp, .dbf, .prj and .cpg",
        ));
    }
    let mut ext: Vec<String> = tail.iter().rev().map(|p| p.to_ascii_lowercase()).collect();
    // `x.2026.csv`: only a known double extension keeps two parts.
    if ext.len() == 2
        && !matches!(
            (ext[0].as_str(), ext[1].as_str()),
            ("osm", "pbf") | (_, "gz")
        )
    {
        ext.remove(0);
    }
    Ok(format!(".{}", ext.join(".")))
}

/// A new owner-only file in the folder of the store.
async fn temp_file(dir: &Path, ext: &str) -> Result<(TempFile, tokio::fs::File), AppError> {
    let name = format!(".wangge-import-{}{ext}", crate::auth::secret::random_hex());
    let path = dir.join(name);
    let file = tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .await
        .map_err(|e| AppError::Internal(format!("temporary file {}: {e}", path.display())))?;
    Ok((TempFile(path), file))
}

fn too_large(limit: usize) -> AppError {
    AppError::Status(
        StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::BodyTooLarge,
        format!(
            "the file is larger than the server's import limit of {} MiB (wangge serve --import-limit-mib)",
            limit >> 20
        ),
    )
}

/// `POST /api/v1/imports?kind=K&filename=F[&option=value…]`.
pub async fn upload(
    State(st): State<AppState>,
    access: Access,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> AppResult<axum::response::Response> {
    // The matrix lets leaders only; said again where the write happens.
    if access.role != Role::Leader {
        return Err(AppError::Forbidden(format!(
            "role {} may not import",
            access.role.name()
        )));
    }
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if ct.is_empty() || form_type(ct) {
        return Err(AppError::Status(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::UnsupportedMediaType,
            format!(
                "an import's body is the file itself (Content-Type: application/octet-stream), \
                 not {}",
                if ct.is_empty() { "an untyped body" } else { ct }
            ),
        ));
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(uri.query().unwrap_or(""))
        .map_err(|e| AppError::bad(ErrorCode::BadQuery, format!("bad query string: {e}")))?;
    let take = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_string())
    };
    let kind = take("kind").filter(|k| !k.is_empty()).ok_or_else(|| {
        AppError::bad(
            ErrorCode::BadKind,
            "kind is missing (kind=persons, buildings, …, osm)",
        )
    })?;
    let filename = take("filename").filter(|f| !f.is_empty()).ok_or_else(|| {
        AppError::bad(
            ErrorCode::BadParam,
            "filename is missing (filename=register.csv)",
        )
    })?;
    let category_map = pairs
        .iter()
        .find(|(k, _)| k == "category_map" || k == "category-map")
        .map(|(_, v)| v.clone());
    let options: Vec<(String, String)> = pairs
        .iter()
        .filter(|(k, _)| {
            !matches!(
                k.as_str(),
                "kind" | "filename" | "category_map" | "category-map"
            )
        })
        .cloned()
        .collect();
    let ext = extension(&filename)?;
    let dir =
        st.0.config
            .db
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    // Options first: a wrong one is refused before the file is read.
    let (saved, mut file) = temp_file(&dir, &ext).await?;
    let mut spec = ImportSpec::from_query(&kind, &saved.0, &options)
        .map_err(|e| AppError::bad(ErrorCode::BadParam, e))?;
    let limit = st.0.config.import_limit;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let mut over = declared.is_some_and(|n| n > limit as u64);
    let mut written: usize = 0;
    let mut stream = body.into_data_stream();
    // Over the limit, the rest is read and dropped (up to 64 MiB more) so
    // the client hears the 413 instead of a cut connection.
    let drain_until = limit.saturating_add(64 << 20);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk
            .map_err(|e| AppError::bad(ErrorCode::BadBody, format!("the upload was cut: {e}")))?;
        written = written.saturating_add(chunk.len());
        if written > limit {
            over = true;
        }
        if over {
            if written > drain_until {
                break;
            }
            continue;
        }
        file.write_all(&chunk)
            .await
            .map_err(|e| AppError::Internal(format!("writing the upload: {e}")))?;
    }
    if over {
        return Err(too_large(limit));
    }
    file.flush()
        .await
        .map_err(|e| AppError::Internal(format!("writing the upload: {e}")))?;
    drop(file);
    let map_file = match category_map {
        Some(text) => {
            let (path, mut f) = temp_file(&dir, ".toml").await?;
            f.write_all(text.as_bytes())
                .await
                .map_err(|e| AppError::Internal(format!("writing the category map: {e}")))?;
            f.flush()
                .await
                .map_err(|e| AppError::Internal(format!("writing the category map: {e}")))?;
            spec.category_map = Some(path.0.clone());
            Some(path)
        }
        None => None,
    };
    // Imported events enter dispatch by the server's own event rules.
    spec.dispatch_rules = st.0.config.dispatch_rules.clone();
    let actor = access.actor();
    let st2 = st.clone();
    let shown = filename.clone();
    let done = st
        .with_store(move |s| {
            let (mut out, mut err) = (Vec::new(), Vec::new());
            let result = import_into(
                s,
                &spec,
                &mut ImportRun {
                    out: &mut out,
                    err: &mut err,
                    bars: false,
                    actor: actor.clone(),
                },
            );
            let lines = |b: &[u8]| -> Vec<String> {
                String::from_utf8_lossy(b)
                    .lines()
                    .filter(|l| !l.trim().is_empty())
                    .map(str::to_string)
                    .collect()
            };
            let (report, messages) = (lines(&out), lines(&err));
            match result {
                Ok(mut outcome) => {
                    outcome.file = shown.clone();
                    let what = if outcome.dry_run {
                        "import_dry_run"
                    } else {
                        "import"
                    };
                    s.audit(
                        &actor,
                        what,
                        &format!(
                            "{} from {shown}: {} elements, {} rows, {:.2} s",
                            outcome.kind, outcome.elements, outcome.rows, outcome.seconds
                        ),
                    )?;
                    if !outcome.dry_run {
                        st2.reload_view(s).map_err(|e| {
                            AppError::Internal(format!(
                                "{} rows imported, but the view could not be rebuilt: {e}",
                                outcome.rows
                            ))
                        })?;
                    }
                    Ok(Ok(ImportAnswer {
                        outcome,
                        messages,
                        report,
                    }))
                }
                Err(e) => {
                    let message = format!("{e:#}").replace(&spec_path(&spec), &shown);
                    s.audit(
                        &actor,
                        "import_refused",
                        &format!(
                            "{} from {shown}: {}",
                            spec.kind,
                            message.lines().next().unwrap_or("")
                        ),
                    )?;
                    let fix = |v: Vec<String>| -> Vec<String> {
                        v.into_iter()
                            .map(|l| l.replace(&spec_path(&spec), &shown))
                            .collect()
                    };
                    // A dry run lists the problems as its report; otherwise
                    // they are the lines of the error after its first.
                    let problems = if report.is_empty() {
                        message
                            .lines()
                            .skip(1)
                            .filter(|l| !l.trim().is_empty() && !l.contains("nothing was stored"))
                            .map(str::to_string)
                            .collect()
                    } else {
                        fix(report)
                    };
                    Ok(Err((message, problems, fix(messages))))
                }
            }
        })
        .await;
    drop(map_file);
    drop(saved);
    match done? {
        Ok(answer) => {
            tracing::info!(
                kind = %answer.outcome.kind,
                rows = answer.outcome.rows,
                dry_run = answer.outcome.dry_run,
                "import through the server"
            );
            Ok(axum::response::IntoResponse::into_response(Json(answer)))
        }
        Err((message, problems, messages)) => Ok(axum::response::IntoResponse::into_response((
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(ErrorBody::with(
                ErrorCode::ImportRefused,
                message,
                Refusal { problems, messages },
            )),
        ))),
    }
}

/// The saved file's path as messages name it.
fn spec_path(spec: &ImportSpec) -> String {
    spec.file.display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_keep_what_format_detection_reads() {
        assert_eq!(extension("户籍.csv").ok().as_deref(), Some(".csv"));
        assert_eq!(extension("week 49.2026.csv").ok().as_deref(), Some(".csv"));
        assert_eq!(extension("sh.osm.pbf").ok().as_deref(), Some(".osm.pbf"));
        assert_eq!(extension("calls.CSV.GZ").ok().as_deref(), Some(".csv.gz"));
        assert_eq!(extension("a/b/../c.xlsx").ok().as_deref(), Some(".xlsx"));
        assert!(extension("buildings.shp").is_err());
        assert!(extension("noext").is_err());
        assert!(extension("x.c$v").is_err());
    }

    #[test]
    fn form_types_are_refused() {
        assert!(form_type("application/x-www-form-urlencoded"));
        assert!(form_type("multipart/form-data; boundary=x"));
        assert!(form_type("Text/Plain;charset=UTF-8"));
        assert!(!form_type("application/octet-stream"));
        assert!(!form_type("text/csv"));
    }
}
