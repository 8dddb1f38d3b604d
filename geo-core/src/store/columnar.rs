//! A column-wise appender: rows go into Arrow column builders typed from the
//! table's own schema, and reach DuckDB a record batch at a time
//! (`duckdb_append_data_chunk`, 2,048 rows per data chunk).
//!
//! DuckDB's row Appender binds and converts every value through the C API
//! (a lock and a `Value` per cell); for the large tables (persons,
//! households, events) that was most of an import. This keeps the same
//! calling shape (`append_row(params![..])`) so the write code reads as
//! before, and converts each value once, in Rust, into its column.

use duckdb::arrow::array::{
    ArrayRef, BinaryBuilder, BooleanBuilder, Float32Builder, Float64Builder, Int16Builder,
    Int32Builder, Int64Builder, StringBuilder, UInt16Builder, UInt32Builder, UInt64Builder,
    UInt8Builder,
};
use duckdb::arrow::datatypes::{DataType, Field, Schema};
use duckdb::arrow::record_batch::RecordBatch;
use duckdb::types::{ToSqlOutput, ValueRef};
use duckdb::{Appender, Connection, ToSql};
use std::sync::Arc;

use super::codec::refs_params;
use super::error::{Ctx, Result, StoreError};
use crate::model::GridRefs;

/// Rows buffered before they are handed to DuckDB (one row group).
const BATCH_ROWS: usize = 122_880;

enum Column {
    Bool(BooleanBuilder),
    U8(UInt8Builder),
    U16(UInt16Builder),
    U32(UInt32Builder),
    U64(UInt64Builder),
    I16(Int16Builder),
    I32(Int32Builder),
    I64(Int64Builder),
    F32(Float32Builder),
    F64(Float64Builder),
    Str(StringBuilder),
    Blob(BinaryBuilder),
}

impl Column {
    fn for_type(sql: &str) -> Option<Self> {
        Some(match sql {
            "BOOLEAN" => Self::Bool(BooleanBuilder::new()),
            "UTINYINT" => Self::U8(UInt8Builder::new()),
            "USMALLINT" => Self::U16(UInt16Builder::new()),
            "UINTEGER" => Self::U32(UInt32Builder::new()),
            "UBIGINT" => Self::U64(UInt64Builder::new()),
            "SMALLINT" => Self::I16(Int16Builder::new()),
            "INTEGER" => Self::I32(Int32Builder::new()),
            "BIGINT" => Self::I64(Int64Builder::new()),
            "FLOAT" => Self::F32(Float32Builder::new()),
            "DOUBLE" => Self::F64(Float64Builder::new()),
            "VARCHAR" => Self::Str(StringBuilder::new()),
            "BLOB" => Self::Blob(BinaryBuilder::new()),
            _ => return None,
        })
    }

    fn data_type(&self) -> DataType {
        match self {
            Self::Bool(_) => DataType::Boolean,
            Self::U8(_) => DataType::UInt8,
            Self::U16(_) => DataType::UInt16,
            Self::U32(_) => DataType::UInt32,
            Self::U64(_) => DataType::UInt64,
            Self::I16(_) => DataType::Int16,
            Self::I32(_) => DataType::Int32,
            Self::I64(_) => DataType::Int64,
            Self::F32(_) => DataType::Float32,
            Self::F64(_) => DataType::Float64,
            Self::Str(_) => DataType::Utf8,
            Self::Blob(_) => DataType::Binary,
        }
    }

    /// Appends one value, converted to the column's type; a value that does
    /// not fit (wrong kind, out of range) is refused with the reason.
    fn push(&mut self, v: ValueRef<'_>) -> std::result::Result<(), String> {
        fn int<T: TryFrom<i128>>(v: &ValueRef<'_>) -> std::result::Result<T, String> {
            let wide = match *v {
                ValueRef::TinyInt(x) => i128::from(x),
                ValueRef::SmallInt(x) => i128::from(x),
                ValueRef::Int(x) => i128::from(x),
                ValueRef::BigInt(x) => i128::from(x),
                ValueRef::HugeInt(x) => x,
                ValueRef::UTinyInt(x) => i128::from(x),
                ValueRef::USmallInt(x) => i128::from(x),
                ValueRef::UInt(x) => i128::from(x),
                ValueRef::UBigInt(x) => i128::from(x),
                ref other => return Err(format!("expected an integer, got {other:?}")),
            };
            T::try_from(wide).map_err(|_| format!("{wide} is out of the column's range"))
        }
        fn float(v: &ValueRef<'_>) -> std::result::Result<f64, String> {
            match *v {
                ValueRef::Float(x) => Ok(f64::from(x)),
                ValueRef::Double(x) => Ok(x),
                _ => int::<i64>(v).map(|i| i as f64),
            }
        }
        if matches!(v, ValueRef::Null) {
            match self {
                Self::Bool(b) => b.append_null(),
                Self::U8(b) => b.append_null(),
                Self::U16(b) => b.append_null(),
                Self::U32(b) => b.append_null(),
                Self::U64(b) => b.append_null(),
                Self::I16(b) => b.append_null(),
                Self::I32(b) => b.append_null(),
                Self::I64(b) => b.append_null(),
                Self::F32(b) => b.append_null(),
                Self::F64(b) => b.append_null(),
                Self::Str(b) => b.append_null(),
                Self::Blob(b) => b.append_null(),
            }
            return Ok(());
        }
        match self {
            Self::Bool(b) => match v {
                ValueRef::Boolean(x) => b.append_value(x),
                other => return Err(format!("expected a boolean, got {other:?}")),
            },
            Self::U8(b) => b.append_value(int(&v)?),
            Self::U16(b) => b.append_value(int(&v)?),
            Self::U32(b) => b.append_value(int(&v)?),
            Self::U64(b) => b.append_value(int(&v)?),
            Self::I16(b) => b.append_value(int(&v)?),
            Self::I32(b) => b.append_value(int(&v)?),
            Self::I64(b) => b.append_value(int(&v)?),
            Self::F32(b) => b.append_value(float(&v)? as f32),
            Self::F64(b) => b.append_value(float(&v)?),
            Self::Str(b) => match v {
                ValueRef::Text(t) => b.append_value(
                    std::str::from_utf8(t).map_err(|e| format!("text is not UTF-8: {e}"))?,
                ),
                other => return Err(format!("expected text, got {other:?}")),
            },
            Self::Blob(b) => match v {
                ValueRef::Blob(x) => b.append_value(x),
                other => return Err(format!("expected bytes, got {other:?}")),
            },
        }
        Ok(())
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Self::Bool(b) => Arc::new(b.finish()),
            Self::U8(b) => Arc::new(b.finish()),
            Self::U16(b) => Arc::new(b.finish()),
            Self::U32(b) => Arc::new(b.finish()),
            Self::U64(b) => Arc::new(b.finish()),
            Self::I16(b) => Arc::new(b.finish()),
            Self::I32(b) => Arc::new(b.finish()),
            Self::I64(b) => Arc::new(b.finish()),
            Self::F32(b) => Arc::new(b.finish()),
            Self::F64(b) => Arc::new(b.finish()),
            Self::Str(b) => Arc::new(b.finish()),
            Self::Blob(b) => Arc::new(b.finish()),
        }
    }
}

/// Rows of one table gathered column-wise into Arrow record batches
/// (`Send`: a producer thread can fill it while DuckDB stores the last one).
pub(crate) struct Columns {
    table: String,
    schema: Arc<Schema>,
    columns: Vec<Column>,
    rows: usize,
}

impl Columns {
    /// Empty columns typed from `table`'s schema (a table of this store or a
    /// temp table).
    pub(crate) fn of(conn: &Connection, table: &str) -> Result<Self> {
        let types: Vec<String> = {
            let mut st = conn
                .prepare(&format!(
                    "SELECT type FROM pragma_table_info('{}') ORDER BY cid",
                    table.replace('\'', "''")
                ))
                .ctx(format!("reading the columns of {table}"))?;
            let rows = st
                .query_map([], |r| r.get::<_, String>(0))
                .ctx(format!("reading the columns of {table}"))?;
            rows.collect::<std::result::Result<_, _>>()
                .ctx(format!("reading the columns of {table}"))?
        };
        let columns = types
            .iter()
            .enumerate()
            .map(|(i, t)| {
                Column::for_type(t).ok_or_else(|| StoreError::Column {
                    table: table.to_string(),
                    column: i,
                    reason: format!("column type {t} has no column-wise appender"),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let schema = Arc::new(Schema::new(
            columns
                .iter()
                .enumerate()
                .map(|(i, c)| Field::new(format!("c{i}"), c.data_type(), true))
                .collect::<Vec<_>>(),
        ));
        Ok(Self {
            table: table.to_string(),
            schema,
            columns,
            rows: 0,
        })
    }

    /// Adds one row: a value per column, in the table's column order.
    /// Returns a full batch every [`BATCH_ROWS`] rows.
    pub(crate) fn push(&mut self, row: &[&dyn ToSql]) -> Result<Option<RecordBatch>> {
        self.push_parts(&[row])
    }

    /// Adds one row of an element assigned to grids: its own values, then
    /// the four reference columns every such table ends with (格进图).
    pub(crate) fn push_with_refs(
        &mut self,
        row: &[&dyn ToSql],
        refs: &GridRefs,
    ) -> Result<Option<RecordBatch>> {
        let r = refs_params(refs);
        let refs: [&dyn ToSql; 4] = [&r[0], &r[1], &r[2], &r[3]];
        self.push_parts(&[row, &refs])
    }

    /// Adds one row given as consecutive pieces (no copy into one slice).
    fn push_parts(&mut self, parts: &[&[&dyn ToSql]]) -> Result<Option<RecordBatch>> {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        if len != self.columns.len() {
            return Err(self.refused(
                len.min(self.columns.len()),
                format!("a row of {len} values for {} columns", self.columns.len()),
            ));
        }
        let row = parts.iter().flat_map(|p| p.iter());
        for (i, (value, column)) in row.zip(self.columns.iter_mut()).enumerate() {
            let out = value.to_sql().ctx(self.table.clone())?;
            let v = match &out {
                ToSqlOutput::Borrowed(v) => *v,
                ToSqlOutput::Owned(v) => ValueRef::from(v),
                _ => return Err(self.refused(i, "a value kind this appender does not take".into())),
            };
            if let Err(reason) = column.push(v) {
                // The columns are ragged now: the caller's transaction is
                // abandoned with this error, so nothing is stored.
                return Err(self.refused(i, reason));
            }
        }
        self.rows += 1;
        if self.rows == BATCH_ROWS {
            self.take()
        } else {
            Ok(None)
        }
    }

    /// The rows gathered so far as one batch (none when empty).
    pub(crate) fn take(&mut self) -> Result<Option<RecordBatch>> {
        if self.rows == 0 {
            return Ok(None);
        }
        let arrays: Vec<ArrayRef> = self.columns.iter_mut().map(Column::finish).collect();
        self.rows = 0;
        RecordBatch::try_new(self.schema.clone(), arrays)
            .map(Some)
            .map_err(|e| self.refused(0, e.to_string()))
    }

    fn refused(&self, column: usize, reason: String) -> StoreError {
        StoreError::Column {
            table: self.table.clone(),
            column,
            reason,
        }
    }
}

fn store_batch(appender: &mut Appender<'_>, table: &str, batch: RecordBatch) -> Result<()> {
    appender
        .append_record_batch(batch)
        .ctx(format!("writing {table} (nothing was stored)"))
}

fn flush(appender: &mut Appender<'_>, table: &str) -> Result<()> {
    appender.flush().map_err(|source| StoreError::Db {
        context: format!("writing {table} (nothing was stored)"),
        source,
    })
}

/// Appends rows to one table, column-wise, on the caller's thread. Call
/// [`ColumnAppender::finish`] to hand the last rows over; dropping it
/// without does not store them.
pub(crate) struct ColumnAppender<'c> {
    appender: Appender<'c>,
    columns: Columns,
}

impl<'c> ColumnAppender<'c> {
    /// An appender to `table`, its columns typed from the table's schema.
    pub(crate) fn new(conn: &'c Connection, table: &str) -> Result<Self> {
        let columns = Columns::of(conn, table)?;
        let appender = conn.appender(table).ctx(table.to_string())?;
        Ok(Self { appender, columns })
    }

    /// Appends one row: a value per column, in the table's column order.
    pub(crate) fn append_row(&mut self, row: &[&dyn ToSql]) -> Result<()> {
        let batch = self.columns.push(row)?;
        self.store(batch)
    }

    /// Hands a full batch, if any, to DuckDB.
    fn store(&mut self, batch: Option<RecordBatch>) -> Result<()> {
        match batch {
            Some(batch) => store_batch(&mut self.appender, &self.columns.table, batch),
            None => Ok(()),
        }
    }

    /// Hands the buffered rows to DuckDB and flushes its appender.
    pub(crate) fn finish(mut self) -> Result<()> {
        let last = self.columns.take()?;
        self.store(last)?;
        flush(&mut self.appender, &self.columns.table)
    }
}

/// Appends one row per item to `table` (`row` gets the item's index and
/// the item). Past one batch of rows, a second
/// thread turns items into column batches while this one stores the
/// previous batch in DuckDB (the connection stays on the caller's thread),
/// so a large import keeps both halves busy. The first error (a value that
/// does not fit, or DuckDB refusing a batch) stops both and is returned.
pub(crate) fn append_all<T, F>(conn: &Connection, table: &str, items: &[T], row: F) -> Result<()>
where
    T: Sync,
    F: Fn(usize, &T, &mut Columns) -> Result<Option<RecordBatch>> + Sync,
{
    let mut out = ColumnAppender::new(conn, table)?;
    if items.len() <= BATCH_ROWS {
        for (i, item) in items.iter().enumerate() {
            let batch = row(i, item, &mut out.columns)?;
            out.store(batch)?;
        }
        return out.finish();
    }
    let ColumnAppender {
        mut appender,
        columns,
    } = out;
    let (send, receive) = std::sync::mpsc::sync_channel::<Result<RecordBatch>>(1);
    std::thread::scope(|s| {
        let row = &row;
        s.spawn(move || {
            let mut columns = columns;
            for (i, item) in items.iter().enumerate() {
                match row(i, item, &mut columns) {
                    Ok(None) => {}
                    Ok(Some(batch)) => {
                        if send.send(Ok(batch)).is_err() {
                            return; // the storing side stopped on an error
                        }
                    }
                    Err(e) => {
                        let _ = send.send(Err(e));
                        return;
                    }
                }
            }
            if let Some(last) = columns.take().transpose() {
                let _ = send.send(last);
            }
        });
        // Dropping `receive` on an error ends the producer's next send.
        for batch in receive {
            store_batch(&mut appender, table, batch?)?;
        }
        flush(&mut appender, table)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use duckdb::params;

    fn conn() -> Connection {
        let c = Connection::open_in_memory().expect("db");
        c.execute_batch(
            "CREATE TABLE t (a UBIGINT NOT NULL, b VARCHAR, c SMALLINT, d FLOAT, e BOOLEAN,
             f UTINYINT, g DOUBLE, h BIGINT, i INTEGER, j USMALLINT, k UINTEGER)",
        )
        .expect("table");
        c
    }

    #[test]
    fn rows_round_trip_every_column_type_and_null() {
        let c = conn();
        let mut a = ColumnAppender::new(&c, "t").expect("appender");
        for i in 0..300_000u64 {
            let b = (i % 7 != 0).then(|| format!("名{i}"));
            a.append_row(params![
                i,
                b,
                -(i as i64 % 100) as i16,
                0.5f32,
                i % 2 == 0,
                (i % 256) as u8,
                i as f64 / 3.0,
                -(i as i64),
                i as i32,
                (i % 60_000) as u16,
                i as u32
            ])
            .expect("row");
        }
        a.finish().expect("finish");
        let (n, nulls, sum, last): (u64, u64, u64, String) = c
            .query_row(
                "SELECT count(*), count(*) - count(b), sum(a)::UBIGINT, any_value(b) FILTER (a = 299_998) FROM t",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .expect("query");
        assert_eq!(n, 300_000);
        assert_eq!(nulls, 300_000u64.div_ceil(7));
        assert_eq!(sum, 299_999 * 300_000 / 2);
        assert_eq!(last, "名299998");
        let (c_, h, k): (i16, i64, u32) = c
            .query_row("SELECT c, h, k FROM t WHERE a = 12345", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .expect("row");
        assert_eq!((c_, h, k), (-45, -12345, 12345));
    }

    #[test]
    fn a_value_out_of_range_or_of_the_wrong_kind_is_refused_by_column() {
        let c = conn();
        let mut a = ColumnAppender::new(&c, "t").expect("appender");
        let e = a
            .append_row(params![
                1u64, "x", 40_000i32, 0.5f32, true, 1u8, 1.0, 1i64, 1i32, 1u16, 1u32
            ])
            .expect_err("40000 does not fit SMALLINT");
        assert!(e.to_string().contains("column 2"), "{e}");
        assert!(e.to_string().contains("40000"), "{e}");
        let mut a = ColumnAppender::new(&c, "t").expect("appender");
        let e = a
            .append_row(params![1u64, 5i32, 1i16])
            .expect_err("3 values for 11 columns");
        assert!(e.to_string().contains("3 values for 11 columns"), "{e}");
        let mut a = ColumnAppender::new(&c, "t").expect("appender");
        let e = a
            .append_row(params![
                1u64, "x", 1i16, 0.5f32, "yes", 1u8, 1.0, 1i64, 1i32, 1u16, 1u32
            ])
            .expect_err("text into BOOLEAN");
        assert!(e.to_string().contains("expected a boolean"), "{e}");
    }

    #[test]
    fn a_null_into_a_not_null_column_fails_at_finish_and_stores_nothing() {
        let c = conn();
        let mut a = ColumnAppender::new(&c, "t").expect("appender");
        a.append_row(params![
            None::<u64>,
            "x",
            1i16,
            0.5f32,
            true,
            1u8,
            1.0,
            1i64,
            1i32,
            1u16,
            1u32
        ])
        .expect("buffered");
        assert!(a.finish().is_err(), "NOT NULL holds");
        let n: u64 = c
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .expect("count");
        assert_eq!(n, 0);
    }

    #[test]
    fn append_all_keeps_order_across_threads_and_an_error_midway_stores_nothing() {
        let mut c = Connection::open_in_memory().expect("db");
        c.execute_batch("CREATE TABLE n (id UBIGINT NOT NULL, label VARCHAR NOT NULL)")
            .expect("table");
        let items: Vec<u64> = (0..400_000).collect();
        {
            let tx = c.transaction().expect("tx");
            append_all(&tx, "n", &items, |_, i, cols| {
                cols.push(params![*i, format!("#{i}")])
            })
            .expect("append");
            tx.commit().expect("commit");
        }
        let (n, first, last): (u64, String, String) = c
            .query_row(
                "SELECT count(*), first(label ORDER BY rowid), last(label ORDER BY rowid) FROM n",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .expect("query");
        assert_eq!(
            (n, first.as_str(), last.as_str()),
            (400_000, "#0", "#399999")
        );
        {
            let tx = c.transaction().expect("tx");
            let e = append_all(&tx, "n", &items, |_, i, cols| {
                // A value of the wrong kind past the first batches.
                if *i == 300_000 {
                    cols.push(params![*i, 7i32])
                } else {
                    cols.push(params![*i, "x"])
                }
            })
            .expect_err("the bad row stops the append");
            assert!(e.to_string().contains("expected text"), "{e}");
        }
        let n: u64 = c
            .query_row("SELECT count(*) FROM n", [], |r| r.get(0))
            .expect("count");
        assert_eq!(n, 400_000, "the abandoned transaction stored nothing");
    }
}
