//! Export of any result table to CSV (UTF-8 with BOM, so Excel opens Chinese
//! text correctly) or to an `.xlsx` workbook. A row type says its column
//! names and cells by implementing [`Table`]. Text cells that a spreadsheet
//! would read as formulas are escaped as the element export escapes them
//! ([`geo_core::io::export::escape_formula`]).
//!
//! ```
//! use analytics::table::{to_csv, Cell, Table};
//! struct R { grid: u64, share: f64 }
//! impl Table for R {
//!     fn headers() -> Vec<&'static str> { vec!["grid", "share"] }
//!     fn cells(&self) -> Vec<Cell> { vec![Cell::Int(self.grid as i64), Cell::Float(self.share)] }
//! }
//! let mut out = Vec::new();
//! to_csv(&[R { grid: 7, share: 0.5 }], &mut out).unwrap();
//! assert_eq!(String::from_utf8(out).unwrap(), "\u{feff}grid,share\r\n7,0.5\r\n");
//! ```

use std::io::Write;

use geo_core::io::export::escape_formula;
use thiserror::Error;

/// One cell of a table.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Text.
    Text(String),
    /// Integer.
    Int(i64),
    /// Number (NaN is written empty).
    Float(f64),
    /// No value.
    Empty,
}

impl From<Option<f64>> for Cell {
    fn from(v: Option<f64>) -> Self {
        v.map_or(Cell::Empty, Cell::Float)
    }
}

/// A row type that can be exported.
pub trait Table {
    /// Column names, in order.
    fn headers() -> Vec<&'static str>;
    /// Every column name as written, in order: [`Table::headers`], and for
    /// a table with columns made at run time (one per person tag) those too.
    fn columns() -> Vec<String> {
        Self::headers().into_iter().map(String::from).collect()
    }
    /// Cells of this row, in the order of [`Table::columns`].
    fn cells(&self) -> Vec<Cell>;
}

/// An export that failed.
#[derive(Debug, Error)]
pub enum ExportError {
    /// Writing the CSV failed.
    #[error("writing CSV failed: {0}")]
    Io(#[from] std::io::Error),
    /// Building the workbook failed.
    #[error("writing xlsx sheet {sheet:?} failed: {message}")]
    Xlsx {
        /// Sheet.
        sheet: String,
        /// Library message.
        message: String,
    },
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn cell_text(c: &Cell) -> String {
    match c {
        Cell::Text(s) => csv_field(&escape_formula(s)),
        Cell::Int(i) => i.to_string(),
        Cell::Float(f) if f.is_finite() => f.to_string(),
        Cell::Float(_) | Cell::Empty => String::new(),
    }
}

/// Writes rows as RFC 4180 CSV with a header line and a UTF-8 BOM.
pub fn to_csv<R: Table, W: Write>(rows: &[R], mut out: W) -> Result<(), ExportError> {
    let head: Vec<String> = R::columns().iter().map(|h| csv_field(h)).collect();
    write!(out, "\u{feff}{}\r\n", head.join(","))?;
    for r in rows {
        let line: Vec<String> = r.cells().iter().map(cell_text).collect();
        write!(out, "{}\r\n", line.join(","))?;
    }
    out.flush()?;
    Ok(())
}

/// Builds an `.xlsx` workbook with one sheet of rows and returns its bytes.
pub fn to_xlsx<R: Table>(rows: &[R], sheet: &str) -> Result<Vec<u8>, ExportError> {
    let mut wb = Workbook::new();
    wb.sheet(rows, sheet)?;
    wb.to_bytes()
}

/// An `.xlsx` workbook of several tables, one sheet each, in order.
///
/// ```
/// use analytics::table::{Cell, Table, Workbook};
/// struct R(u32);
/// impl Table for R {
///     fn headers() -> Vec<&'static str> { vec!["n"] }
///     fn cells(&self) -> Vec<Cell> { vec![Cell::Int(i64::from(self.0))] }
/// }
/// let mut wb = Workbook::new();
/// wb.sheet(&[R(1)], "grids").unwrap().sheet(&[R(2)], "communities").unwrap();
/// assert_eq!(&wb.to_bytes().unwrap()[..2], b"PK");
/// ```
pub struct Workbook(rust_xlsxwriter::Workbook);

impl Default for Workbook {
    fn default() -> Self {
        Self::new()
    }
}

impl Workbook {
    /// An empty workbook.
    pub fn new() -> Self {
        Self(rust_xlsxwriter::Workbook::new())
    }

    /// Adds a sheet named `sheet` holding `rows` under a bold header line.
    pub fn sheet<R: Table>(&mut self, rows: &[R], sheet: &str) -> Result<&mut Self, ExportError> {
        self.sheet_of(&R::columns(), rows.iter().map(Table::cells), sheet)
    }

    /// Adds a sheet of rows whose columns are known only at run time (the
    /// element exports): `headers` in a bold line, then each row's cells;
    /// numbers are written as numbers, text as text.
    pub fn sheet_of<H: AsRef<str>>(
        &mut self,
        headers: &[H],
        rows: impl IntoIterator<Item = Vec<Cell>>,
        sheet: &str,
    ) -> Result<&mut Self, ExportError> {
        use rust_xlsxwriter::Format;
        let err = |e: rust_xlsxwriter::XlsxError| ExportError::Xlsx {
            sheet: sheet.to_string(),
            message: e.to_string(),
        };
        let ws = self.0.add_worksheet();
        ws.set_name(sheet).map_err(err)?;
        let bold = Format::new().set_bold();
        for (c, h) in headers.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, h.as_ref(), &bold)
                .map_err(err)?;
        }
        for (i, cells) in rows.into_iter().enumerate() {
            let row = (i + 1) as u32;
            for (c, cell) in cells.iter().enumerate() {
                let col = c as u16;
                match cell {
                    Cell::Text(s) => ws.write_string(row, col, s).map(|_| ()),
                    Cell::Int(v) => ws.write_number(row, col, *v as f64).map(|_| ()),
                    Cell::Float(v) if v.is_finite() => ws.write_number(row, col, *v).map(|_| ()),
                    Cell::Float(_) | Cell::Empty => Ok(()),
                }
                .map_err(err)?;
            }
        }
        Ok(self)
    }

    /// The workbook's bytes.
    pub fn to_bytes(mut self) -> Result<Vec<u8>, ExportError> {
        self.0.save_to_buffer().map_err(|e| ExportError::Xlsx {
            sheet: String::new(),
            message: e.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Row(&'static str, Option<f64>);
    impl Table for Row {
        fn headers() -> Vec<&'static str> {
            vec!["name", "v"]
        }
        fn cells(&self) -> Vec<Cell> {
            vec![Cell::Text(self.0.into()), self.1.into()]
        }
    }

    #[test]
    fn csv_quotes_and_xlsx_is_zip() {
        let mut out = Vec::new();
        to_csv(&[Row("a,\"b\"", None)], &mut out).unwrap();
        assert!(String::from_utf8(out)
            .unwrap()
            .ends_with("\"a,\"\"b\"\"\",\r\n"));
        let x = to_xlsx(&[Row("网格", Some(1.5))], "grids").unwrap();
        assert_eq!(&x[..2], b"PK");
    }

    #[test]
    fn csv_text_cells_are_formula_escaped_like_the_element_export() {
        for (cell, want) in [
            ("=1+1", "'=1+1"),
            ("+86", "'+86"),
            ("-2", "'-2"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            (
                "=HYPERLINK(\"http://x\",\"y\")",
                "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"",
            ),
            ("网格 1", "网格 1"),
        ] {
            let mut out = Vec::new();
            to_csv(&[Row(cell, Some(-1.5))], &mut out).unwrap();
            let text = String::from_utf8(out).unwrap();
            let line = text.lines().nth(1).unwrap();
            assert_eq!(line, format!("{want},-1.5"), "{cell:?}");
            assert_eq!(
                geo_core::io::export::escape_formula(cell).trim_start_matches('\''),
                cell
            );
        }
    }
}
