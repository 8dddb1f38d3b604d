//! Excel registers (台账, `.xlsx` / `.xls`) as town offices keep them: a
//! title row or two, a header that may span two rows with merged cells, then
//! one row per element.
//!
//! [`read`] turns one sheet into the CSV text `geo_core::io::import` reads,
//! so an Excel register imports exactly like a CSV of the same kind:
//!
//! - **sheet**: the first, or the one named;
//! - **merged cells** (`calamine`): every cell of a merged region takes the
//!   value of its top-left cell, in the header (a group title over several
//!   columns, a column name over two header rows) and in the data (a
//!   household number merged over its members' rows);
//! - **header row**: among the first [`HEADER_SEARCH`] rows, the one with
//!   the most cells naming a field of the kind (the lower one on a tie, so
//!   the sub-headers of a two-row header win over its group titles);
//! - **dates**: cells formatted as dates (Excel serials) and ISO date text
//!   become `YYYY-MM-DD` (`YYYY-MM-DD HH:MM:SS` with a time); dates typed as
//!   text with slashes (`2026/10/5 9:30`) become `2026-10-05 09:30`, other
//!   text is passed on as written;
//! - **rows**: empty rows are skipped; numbers that are whole are written
//!   without a decimal point (`1949`, not `1949.0`).
//!
//! [`Converted::excel_row`] maps a line of the CSV (as import problems name
//! it) back to the sheet's row.

use std::path::Path;

use calamine::{open_workbook_auto, Data, Reader, Sheets};

/// Rows searched for the header.
pub const HEADER_SEARCH: usize = 15;

/// A sheet read into CSV text.
#[derive(Debug, Clone)]
pub struct Converted {
    /// CSV with one header line.
    pub csv: String,
    /// The sheet read.
    pub sheet: String,
    /// 1-based sheet row of the header.
    pub header_row: usize,
    /// 1-based sheet row of each data line, in order (line 2 of the CSV is
    /// `rows[0]`).
    pub rows: Vec<usize>,
}

impl Converted {
    /// The sheet row of CSV line `line` (1 is the header).
    pub fn excel_row(&self, line: usize) -> Option<usize> {
        if line == 1 {
            Some(self.header_row)
        } else {
            self.rows.get(line.checked_sub(2)?).copied()
        }
    }
}

/// True for the files [`read`] takes: `.xlsx`, `.xlsm`, `.xls`.
pub fn is_excel(path: &Path) -> bool {
    matches!(
        path.extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("xlsx" | "xlsm" | "xls")
    )
}

/// Days from the Excel epoch (1899-12-30, the 1900 system with its leap-year
/// quirk already folded in for dates after February 1900) to a date text.
fn serial_text(serial: f64) -> String {
    let days = serial.floor();
    let secs = ((serial - days) * 86_400.0).round() as i64;
    // Out of the calendar's range (a corrupt cell): the number as it is.
    let t = chrono::NaiveDate::from_ymd_opt(1899, 12, 30)
        .and_then(|b| b.and_hms_opt(0, 0, 0))
        .zip(chrono::TimeDelta::try_days(days as i64))
        .and_then(|(b, d)| b.checked_add_signed(d))
        .zip(chrono::TimeDelta::try_seconds(secs))
        .and_then(|(t, s)| t.checked_add_signed(s));
    match t {
        Some(t) if secs == 0 => t.format("%Y-%m-%d").to_string(),
        Some(t) => t.format("%Y-%m-%d %H:%M:%S").to_string(),
        None => serial.to_string(),
    }
}

/// `2026/10/5 9:30` (how Excel on Chinese Windows shows a date typed as
/// text) as `2026-10-05 09:30`; any other text unchanged.
fn slash_date(s: &str) -> String {
    let (date, time) = s.split_once(' ').unwrap_or((s, ""));
    let parts: Vec<&str> = date.split('/').collect();
    let num = |p: &str, max: u32| p.parse::<u32>().ok().filter(|n| (1..=max).contains(n));
    match parts.as_slice() {
        [y, m, d] if y.len() == 4 && y.parse::<u32>().is_ok() => match (num(m, 12), num(d, 31)) {
            (Some(m), Some(d)) => {
                let t = time.trim();
                let t = match t.split_once(':') {
                    Some((h, rest)) if h.len() == 1 => format!(" 0{h}:{rest}"),
                    Some(_) => format!(" {t}"),
                    None if t.is_empty() => String::new(),
                    None => return s.to_string(),
                };
                format!("{y}-{m:02}-{d:02}{t}")
            }
            _ => s.to_string(),
        },
        _ => s.to_string(),
    }
}

fn text(d: &Data) -> String {
    match d {
        Data::String(s) => slash_date(s.trim()),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(dt) => serial_text(dt.as_f64()),
        Data::DateTimeIso(s) => s.replace('T', " "),
        Data::DurationIso(s) => s.clone(),
        Data::Error(_) | Data::Empty => String::new(),
    }
}

/// Reads `sheet` (the first when `None`) of the workbook at `path`;
/// `known` says whether a header text names a field of the kind imported.
pub fn read(
    path: &Path,
    sheet: Option<&str>,
    known: &dyn Fn(&str) -> bool,
) -> Result<Converted, String> {
    let name = path.display().to_string();
    let mut wb: Sheets<_> =
        open_workbook_auto(path).map_err(|e| format!("{name}: not a readable workbook: {e}"))?;
    let names = wb.sheet_names();
    let sheet = match sheet {
        Some(s) => names
            .iter()
            .find(|n| n.as_str() == s)
            .cloned()
            .ok_or_else(|| {
                format!(
                    "{name}: no sheet {s:?}; the sheets are {}",
                    names.join(", ")
                )
            })?,
        None => names
            .first()
            .cloned()
            .ok_or_else(|| format!("{name}: the workbook has no sheet"))?,
    };
    let range = wb
        .worksheet_range(&sheet)
        .map_err(|e| format!("{name}, sheet {sheet}: cannot read: {e}"))?;
    let merges = match &mut wb {
        Sheets::Xlsx(x) => x
            .worksheet_merge_cells(&sheet)
            .transpose()
            .map_err(|e| format!("{name}, sheet {sheet}: merged cells: {e}"))?
            .unwrap_or_default(),
        Sheets::Xls(x) => x.worksheet_merge_cells(&sheet).unwrap_or_default(),
        _ => Vec::new(),
    };
    let (r0, c0) = range.start().unwrap_or((0, 0));
    let mut grid: Vec<Vec<String>> = range.rows().map(|r| r.iter().map(text).collect()).collect();
    for m in &merges {
        let at = |r: u32, c: u32| {
            Some((
                usize::try_from(r.checked_sub(r0)?).ok()?,
                usize::try_from(c.checked_sub(c0)?).ok()?,
            ))
        };
        let Some((tr, tc)) = at(m.start.0, m.start.1) else {
            continue;
        };
        let Some(v) = grid.get(tr).and_then(|r| r.get(tc)).cloned() else {
            continue;
        };
        for r in m.start.0..=m.end.0 {
            for c in m.start.1..=m.end.1 {
                if let Some(cell) = at(r, c).and_then(|(r, c)| grid.get_mut(r)?.get_mut(c)) {
                    cell.clone_from(&v);
                }
            }
        }
    }
    let score = |row: &Vec<String>| row.iter().filter(|c| !c.is_empty() && known(c)).count();
    let (h, best) = grid
        .iter()
        .take(HEADER_SEARCH)
        .enumerate()
        .map(|(i, r)| (i, score(r)))
        .fold(
            (0, 0),
            |acc, (i, s)| if s >= acc.1 && s > 0 { (i, s) } else { acc },
        );
    if best == 0 {
        return Err(format!(
            "{name}, sheet {sheet}: no header row in the first {HEADER_SEARCH} rows names a field of this kind (see docs/import.md; --map ours=theirs names a column we do not know)"
        ));
    }
    let width = grid.iter().map(Vec::len).max().unwrap_or(0);
    let mut header: Vec<String> = grid[h].clone();
    header.resize(width, String::new());
    for (i, c) in header.iter_mut().enumerate() {
        if c.is_empty() {
            *c = format!("column_{}", i + 1);
        }
    }
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    let csv_err = |e: csv::Error| format!("{name}, sheet {sheet}: {e}");
    w.write_record(&header).map_err(csv_err)?;
    let mut rows = Vec::new();
    for (i, row) in grid.iter().enumerate().skip(h + 1) {
        if row.iter().all(String::is_empty) {
            continue;
        }
        let mut cells = row.clone();
        cells.resize(width, String::new());
        w.write_record(&cells).map_err(csv_err)?;
        rows.push(r0 as usize + i + 1);
    }
    let csv = String::from_utf8(w.into_inner().map_err(|e| format!("{name}: {e}"))?)
        .map_err(|e| format!("{name}: {e}"))?;
    Ok(Converted {
        csv,
        sheet,
        header_row: r0 as usize + h + 1,
        rows,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn serials() {
        assert_eq!(serial_text(45_231.0), "2023-11-01");
        assert_eq!(serial_text(45_231.5), "2023-11-01 12:00:00");
        assert_eq!(serial_text(1.0e300), 1.0e300f64.to_string(), "no panic");
        assert_eq!(slash_date("2026/10/5 9:30"), "2026-10-05 09:30");
        assert_eq!(slash_date("2026/10/20"), "2026-10-20");
        assert_eq!(slash_date("1/2/3"), "1/2/3");
        assert_eq!(slash_date("幸福路1号"), "幸福路1号");
    }
}
