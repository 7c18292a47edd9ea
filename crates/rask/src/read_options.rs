//! [`ReadOptions`]: keyword-style options of
//! [`SessionContext::read_parquet_with`] and [`SessionContext::read_csv_with`] (pandas' and
//! Dask's `columns=`, `dtype=`, `filters=`, hive partitioning, CSV dialect).

use std::sync::Arc;

use arrow::datatypes::{DataType, SchemaRef};
use rask_common::{plan_err, Result};
use rask_expr::{col, Expr};
use rask_io::{CsvOptions, TableFormat};

use crate::catalog::FileTable;
use crate::context::SessionContext;
use crate::dataframe::DataFrame;

/// Options for reading files, built keyword by keyword:
///
/// * [`ReadOptions::columns`]: read only these columns, in this order (a projection: Parquet
///   decodes only them).
/// * [`ReadOptions::filter`]: keep rows matching a predicate (added as a filter on the frame;
///   the optimizer pushes it into the scan, which skips files, row groups and hive
///   directories that cannot match). Several calls are ANDed.
/// * [`ReadOptions::dtypes`]: column types. For CSV the values are parsed as these types
///   (schema overrides: no inference for them); for Parquet the columns are cast.
/// * [`ReadOptions::hive_partitioning`]: whether `key=value` directories become columns
///   (default true).
/// * CSV only: [`ReadOptions::delimiter`], [`ReadOptions::header`], [`ReadOptions::quote`],
///   [`ReadOptions::escape`], [`ReadOptions::null_values`], [`ReadOptions::schema`],
///   [`ReadOptions::sample_rows`].
///
/// ```
/// use arrow::datatypes::DataType;
/// use rask::{col, lit, ReadOptions, SessionContext};
/// # fn main() -> rask::Result<()> {
/// let ctx = SessionContext::new();
/// let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../datasets/tpch-sf0.01/nation");
/// let df = ctx.read_parquet_with(
///     dir,
///     ReadOptions::new()
///         .columns(["n_name", "n_regionkey"])
///         .filter(col("n_regionkey").eq(lit(1i64)))
///         .dtypes([("n_regionkey", DataType::Int32)]),
/// )?;
/// assert_eq!(df.columns(), vec!["n_name", "n_regionkey"]);
/// assert_eq!(df.schema().field(1).data_type(), &DataType::Int32);
/// assert_eq!(df.count()?, 5);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct ReadOptions {
    columns: Option<Vec<String>>,
    filters: Vec<Expr>,
    dtypes: Vec<(String, DataType)>,
    hive_partitioning: bool,
    csv: CsvOptions,
    /// Names of CSV-only options that were set (an error for Parquet).
    csv_only: Vec<&'static str>,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            columns: None,
            filters: vec![],
            dtypes: vec![],
            hive_partitioning: true,
            csv: CsvOptions::default(),
            csv_only: vec![],
        }
    }
}

impl ReadOptions {
    /// No options: every column, every row, inferred types, hive columns on.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads only `columns`, in this order.
    pub fn columns<I, S>(mut self, columns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.columns = Some(columns.into_iter().map(Into::into).collect());
        self
    }

    /// Keeps rows where `predicate` is TRUE (ANDed with earlier filters).
    pub fn filter(mut self, predicate: Expr) -> Self {
        self.filters.push(predicate);
        self
    }

    /// Column types (CSV: parsed as; Parquet: cast to).
    pub fn dtypes<I, S>(mut self, dtypes: I) -> Self
    where
        I: IntoIterator<Item = (S, DataType)>,
        S: Into<String>,
    {
        self.dtypes
            .extend(dtypes.into_iter().map(|(n, t)| (n.into(), t)));
        self
    }

    /// Whether `key=value` directories become columns (default true).
    pub fn hive_partitioning(mut self, on: bool) -> Self {
        self.hive_partitioning = on;
        self
    }

    /// CSV field separator (default `,`).
    pub fn delimiter(mut self, delimiter: u8) -> Self {
        self.csv.delimiter = delimiter;
        self.csv_only.push("delimiter");
        self
    }

    /// Whether the first CSV line holds column names (default true).
    pub fn header(mut self, header: bool) -> Self {
        self.csv.has_header = header;
        self.csv_only.push("header");
        self
    }

    /// CSV quote character (default `"`).
    pub fn quote(mut self, quote: u8) -> Self {
        self.csv.quote = quote;
        self.csv_only.push("quote");
        self
    }

    /// CSV escape character inside quoted fields (default none).
    pub fn escape(mut self, escape: u8) -> Self {
        self.csv.escape = Some(escape);
        self.csv_only.push("escape");
        self
    }

    /// CSV field values read as NULL (default: the empty field).
    pub fn null_values<I, S>(mut self, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.csv.null_values = values.into_iter().map(Into::into).collect();
        self.csv_only.push("null_values");
        self
    }

    /// The full CSV schema: no inference.
    pub fn schema(mut self, schema: SchemaRef) -> Self {
        self.csv.schema = Some(schema);
        self.csv_only.push("schema");
        self
    }

    /// Rows sampled per CSV file to infer types (default 10,000).
    pub fn sample_rows(mut self, rows: usize) -> Self {
        self.csv.infer_rows = rows.max(1);
        self.csv_only.push("sample_rows");
        self
    }
}

impl SessionContext {
    /// A lazy frame over Parquet files with [`ReadOptions`] (columns, filters, dtypes, hive
    /// partitioning); see [`ReadOptions`] for an example.
    ///
    /// # Errors
    /// When nothing matches `path`, the files cannot be read, an option names an unknown
    /// column, a cast is impossible, or a CSV-only option was set.
    pub fn read_parquet_with(&self, path: &str, options: ReadOptions) -> Result<DataFrame> {
        if let Some(o) = options.csv_only.first() {
            return plan_err!("read_parquet_with: option '{o}' applies to CSV files only");
        }
        let table = FileTable::open_as(path, TableFormat::Parquet)?;
        self.read_with(path, table, options, true)
    }

    /// A lazy frame over CSV files with [`ReadOptions`] (columns, filters, dtypes, hive
    /// partitioning, delimiter, header, ...).
    ///
    /// ```
    /// use arrow::datatypes::DataType;
    /// use rask::{col, lit, ReadOptions, SessionContext};
    /// # fn main() -> rask::Result<()> {
    /// let dir = std::env::temp_dir().join(format!("rask-doc-read-csv-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir).unwrap();
    /// let file = dir.join("t.csv");
    /// std::fs::write(&file, "a|b|c\n1|x|2.5\n2|y|\n3|z|4\n").unwrap();
    /// let ctx = SessionContext::new();
    /// let df = ctx.read_csv_with(
    ///     file.to_str().unwrap(),
    ///     ReadOptions::new()
    ///         .delimiter(b'|')
    ///         .dtypes([("a", DataType::Int32)])
    ///         .columns(["a", "c"])
    ///         .filter(col("b").not_eq(lit("y"))),
    /// )?;
    /// assert_eq!(df.columns(), vec!["a", "c"]);
    /// assert_eq!(df.schema().field(0).data_type(), &DataType::Int32);
    /// assert_eq!(df.count()?, 2);
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// When nothing matches `path`, the files cannot be read or parsed with the given types,
    /// or an option names an unknown column.
    pub fn read_csv_with(&self, path: &str, options: ReadOptions) -> Result<DataFrame> {
        let mut csv = options.csv.clone();
        csv.schema_overrides.extend(options.dtypes.iter().cloned());
        let table = FileTable::open_as(path, TableFormat::Csv(csv))?;
        self.read_with(path, table, options, false)
    }

    fn read_with(
        &self,
        path: &str,
        table: FileTable,
        options: ReadOptions,
        cast_dtypes: bool,
    ) -> Result<DataFrame> {
        let file_columns = table.table.file_columns();
        let schema = rask_expr::TableSource::schema(&table);
        let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
        for (n, _) in &options.dtypes {
            if !names.contains(n) {
                return plan_err!(
                    "dtypes: no column '{n}' in '{path}' (columns: {})",
                    names.join(", ")
                );
            }
        }
        let mut df = self.frame_over(path, Arc::new(table))?;
        for f in options.filters {
            df = df.filter(f)?;
        }
        let mut keep: Vec<String> = match options.columns {
            Some(c) => {
                for n in &c {
                    if !names.contains(n) {
                        return plan_err!(
                            "columns: no column '{n}' in '{path}' (columns: {})",
                            names.join(", ")
                        );
                    }
                }
                c
            }
            None => names.clone(),
        };
        if !options.hive_partitioning {
            keep.retain(|n| names.iter().position(|m| m == n) < Some(file_columns));
        }
        let exprs = keep
            .iter()
            .map(|n| {
                let c = col(n.as_str());
                match options.dtypes.iter().find(|(m, _)| m == n) {
                    Some((_, t)) if cast_dtypes => c.cast(t.clone()).alias(n.as_str()),
                    _ => c,
                }
            })
            .collect::<Vec<_>>();
        if keep == names && (!cast_dtypes || options.dtypes.is_empty()) {
            return Ok(df);
        }
        df.select(exprs)
    }
}
