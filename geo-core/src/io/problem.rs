//! Problems found in an import file and the import error.

use std::fmt;

use thiserror::Error;

/// Where in the file a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Location {
    /// The file as a whole (header, missing column, option).
    File,
    /// A CSV line, 1-based (line 1 is the header).
    Line(u64),
    /// A GeoJSON feature, 0-based index in the `features` array.
    Feature(usize),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File => f.write_str("file"),
            Self::Line(n) => write!(f, "line {n}"),
            Self::Feature(n) => write!(f, "feature {n}"),
        }
    }
}

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// The file cannot be imported while it has any.
    Error,
    /// Imported anyway (a repair, a default, a skipped feature); shown to the user.
    Warning,
}

/// One problem of an import file. Personal values (names, ID numbers,
/// phones) are masked in `value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// Where.
    pub location: Location,
    /// Our field name (`national_id`, `geometry`…), empty for the whole record.
    pub field: String,
    /// The offending value as given (masked when personal), possibly shortened.
    pub value: String,
    /// Why it was refused or changed.
    pub reason: String,
    /// Error or warning.
    pub severity: Severity,
}

impl Problem {
    /// True for an error.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.severity == Severity::Warning {
            f.write_str("warning: ")?;
        }
        write!(f, "{}", self.location)?;
        if !self.field.is_empty() {
            write!(f, ", field {}", self.field)?;
        }
        if !self.value.is_empty() {
            write!(f, ", value {:?}", self.value)?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// How many problems [`ImportError::Invalid`]'s message lists.
pub const SHOWN_PROBLEMS: usize = 20;

/// Why a file could not be imported. Nothing of the file is imported when
/// this is returned.
#[derive(Debug, Error)]
pub enum ImportError {
    /// The file could not be opened or read.
    #[error("{file}: cannot read: {source}")]
    Io {
        /// File name.
        file: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is larger than [`crate::io::ImportOptions::max_bytes`].
    #[error("{file}: larger than the limit of {max_bytes} bytes (raise max_bytes to import it)")]
    TooLarge {
        /// File name.
        file: String,
        /// The limit.
        max_bytes: u64,
    },
    /// The bytes are not text in the declared or detected encoding.
    #[error("{file}: line {line} is not valid {encoding}{hint}")]
    Encoding {
        /// File name.
        file: String,
        /// 1-based line of the first bad byte.
        line: u64,
        /// The encoding tried.
        encoding: &'static str,
        /// What to do about it (starts with `; ` when present).
        hint: String,
    },
    /// The format could not be told from the name or the content.
    #[error("{file}: cannot tell whether this is GeoJSON or CSV: {reason}")]
    UnknownFormat {
        /// File name.
        file: String,
        /// What was seen.
        reason: String,
    },
    /// Malformed JSON (includes nesting deeper than the parser allows).
    #[error("{file}: malformed JSON at line {line}, column {column}: {reason}")]
    Json {
        /// File name.
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's message.
        reason: String,
    },
    /// Valid JSON that is not a GeoJSON Feature or FeatureCollection.
    #[error("{file}: not GeoJSON: {reason}")]
    NotGeoJson {
        /// File name.
        file: String,
        /// What was found instead.
        reason: String,
    },
    /// A CSV file that could not be split into records.
    #[error("{file}: malformed CSV at line {line}: {reason}")]
    Csv {
        /// File name.
        file: String,
        /// 1-based line.
        line: u64,
        /// The parser's message.
        reason: String,
    },
    /// The content has errors: every problem found is listed (warnings too).
    #[error("{}", format_invalid(file, problems))]
    Invalid {
        /// File name.
        file: String,
        /// All problems, errors and warnings, in file order.
        problems: Vec<Problem>,
    },
}

impl ImportError {
    /// The problems of an [`ImportError::Invalid`], empty for other variants.
    pub fn problems(&self) -> &[Problem] {
        match self {
            Self::Invalid { problems, .. } => problems,
            _ => &[],
        }
    }
}

fn format_invalid(file: &str, problems: &[Problem]) -> String {
    use fmt::Write as _;
    let errors = problems.iter().filter(|p| p.is_error()).count();
    let warnings = problems.len() - errors;
    let mut s = format!("{file}: {errors} error(s)");
    if warnings > 0 {
        let _ = write!(s, " and {warnings} warning(s)");
    }
    s.push_str(", nothing imported:");
    // Errors first, then warnings, each in file order.
    let shown = problems
        .iter()
        .filter(|p| p.is_error())
        .chain(problems.iter().filter(|p| !p.is_error()))
        .take(SHOWN_PROBLEMS);
    for p in shown {
        let _ = write!(s, "\n  {file}: {p}");
    }
    if problems.len() > SHOWN_PROBLEMS {
        let _ = write!(s, "\n  … and {} more", problems.len() - SHOWN_PROBLEMS);
    }
    s
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn problem(n: u64) -> Problem {
        Problem {
            location: Location::Line(n),
            field: "birth_year".into(),
            value: "abc".into(),
            reason: "not a year".into(),
            severity: Severity::Error,
        }
    }

    #[test]
    fn invalid_lists_first_twenty() {
        let e = ImportError::Invalid {
            file: "p.csv".into(),
            problems: (2..40).map(problem).collect(),
        };
        let msg = e.to_string();
        assert!(
            msg.starts_with("p.csv: 38 error(s), nothing imported:"),
            "{msg}"
        );
        assert!(msg.contains("p.csv: line 2, field birth_year, value \"abc\": not a year"));
        assert!(msg.contains("line 21,"));
        assert!(!msg.contains("line 22,"), "{msg}");
        assert!(msg.contains("… and 18 more"));
    }
}
