//! Writing frames to files: [`WriteBuilder`] (`to_parquet`/`to_csv`) and `COPY ... TO`.
//!
//! The result streams into the files as it is computed ([`rask_io::WriteSink`]): nothing holds
//! the whole result, and files appear under their final names only when the query succeeded.

use std::path::Path;
use std::sync::Arc;

use arrow::array::Int64Array;
use rask_common::{plan_err, Error, Result};
use rask_io::{CsvOptions, FileFormat, ParquetCompression, WriteOptions, WriteSink};

use crate::dataframe::DataFrame;

/// A pending write of a frame, from [`DataFrame::to_parquet`] or [`DataFrame::to_csv`]:
/// set options, then [`WriteBuilder::write`].
///
/// ```
/// # fn main() -> rask::Result<()> {
/// let ctx = rask::SessionContext::new();
/// let df = ctx.sql("SELECT * FROM (VALUES (2020, 'a', 1), (2021, 'b', 2), (2020, 'c', 3)) t(year, k, v)")?;
/// let dir = std::env::temp_dir().join(format!("rask-doc-hive-{}", std::process::id()));
/// let out = dir.to_str().unwrap();
/// let rows = df.to_parquet(out).partition_on(["year"]).write()?;
/// assert_eq!(rows, 3);
/// assert!(dir.join("year=2020").is_dir() && dir.join("year=2021").is_dir());
/// // reading the directory back gives the year column again (from the directory names)
/// assert_eq!(ctx.read_parquet(out)?.query("year = 2020")?.count()?, 2);
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a WriteBuilder writes nothing until .write() is called"]
pub struct WriteBuilder {
    df: DataFrame,
    target: String,
    options: WriteOptions,
}

impl WriteBuilder {
    pub(crate) fn new(df: &DataFrame, target: &str, format: FileFormat) -> Self {
        WriteBuilder {
            df: df.clone(),
            target: target.to_string(),
            options: WriteOptions {
                format,
                single_file: is_file_target(target),
                ..WriteOptions::default()
            },
        }
    }

    /// Writes hive-style `col=value/` directories (Dask's `partition_on`): each row goes to
    /// the directory of its values, and the columns are left out of the files (reading the
    /// directory back restores them from the names, as integers when every value is one,
    /// otherwise as strings). NULL is written as `__HIVE_DEFAULT_PARTITION__`.
    pub fn partition_on<I, S>(mut self, columns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.options.partition_by = columns
            .into_iter()
            .map(|c| c.as_ref().to_string())
            .collect();
        self
    }

    /// Parquet compression (default ZSTD level 1).
    pub fn compression(mut self, compression: ParquetCompression) -> Self {
        self.options.compression = compression;
        self
    }

    /// Replaces the `part-*` files and `key=value` directories of an earlier write in the
    /// target directory (removed once the new files are complete). Without it, writing into
    /// a non-empty directory is an error.
    pub fn overwrite(mut self, overwrite: bool) -> Self {
        self.options.overwrite = overwrite;
        self
    }

    /// CSV: write a header line (default true).
    pub fn header(mut self, header: bool) -> Self {
        self.options.csv.has_header = header;
        self
    }

    /// CSV: the field delimiter (default `,`).
    pub fn delimiter(mut self, delimiter: u8) -> Self {
        self.options.csv.delimiter = delimiter;
        self
    }

    /// Runs the frame and writes it: a directory with one `part-NNNNN` file per output
    /// partition, or one file when the target ends in `.parquet`/`.csv`/`.csv.gz`. Returns
    /// the number of rows written.
    ///
    /// # Errors
    /// Reading/computing errors; a non-empty output directory without
    /// [`WriteBuilder::overwrite`]; unknown partition columns; I/O errors (nothing is left
    /// behind).
    pub fn write(self) -> Result<usize> {
        run_write(&self.df, &self.target, self.options)
    }
}

/// Whether `target` names one file rather than a directory.
fn is_file_target(target: &str) -> bool {
    let lower = target.to_lowercase();
    [".parquet", ".csv", ".csv.gz", ".pq", ".tsv"]
        .iter()
        .any(|e| lower.ends_with(e))
}

/// The options of `COPY ... TO target (options)`.
pub(crate) fn copy_options(target: &str, options: &[(String, String)]) -> Result<WriteOptions> {
    let lower = target.to_lowercase();
    let mut out = WriteOptions {
        format: if lower.ends_with(".csv") || lower.ends_with(".csv.gz") {
            FileFormat::Csv
        } else {
            FileFormat::Parquet
        },
        csv: CsvOptions::default(),
        single_file: is_file_target(target),
        ..WriteOptions::default()
    };
    let yes = |v: &str| !matches!(v, "false" | "0" | "no" | "off");
    let mut level: Option<i32> = None;
    for (k, v) in options {
        let v_l = v.to_lowercase();
        match k.to_lowercase().as_str() {
            "format" => {
                out.format = match v_l.as_str() {
                    "parquet" => FileFormat::Parquet,
                    "csv" => FileFormat::Csv,
                    other => return plan_err!("COPY FORMAT must be parquet or csv, got '{other}'"),
                }
            }
            "header" => out.csv.has_header = yes(&v_l),
            "delimiter" | "delim" | "sep" => match v.as_bytes() {
                [c] => out.csv.delimiter = *c,
                _ => return plan_err!("COPY DELIMITER must be one character, got '{v}'"),
            },
            "overwrite" | "overwrite_or_ignore" => out.overwrite = yes(&v_l),
            "partition_by" => {
                out.partition_by = v
                    .trim_matches(|c| c == '(' || c == ')')
                    .split(',')
                    .map(|s| s.trim().trim_matches('"').to_string())
                    .filter(|s| !s.is_empty())
                    .collect();
                if out.partition_by.is_empty() {
                    return plan_err!("COPY PARTITION_BY needs columns: PARTITION_BY (a, b)");
                }
            }
            "compression" | "codec" => {
                out.compression = match v_l.as_str() {
                    "zstd" => ParquetCompression::Zstd(1),
                    "snappy" => ParquetCompression::Snappy,
                    "uncompressed" | "none" => ParquetCompression::Uncompressed,
                    other => {
                        return plan_err!(
                            "COPY COMPRESSION must be zstd, snappy or uncompressed, got '{other}'"
                        )
                    }
                }
            }
            "compression_level" => match v.parse::<i32>() {
                Ok(l) => level = Some(l),
                Err(_) => return plan_err!("COPY COMPRESSION_LEVEL must be an integer, got '{v}'"),
            },
            other => {
                return plan_err!(
                    "unknown COPY option '{other}' (known: FORMAT, HEADER, DELIMITER, OVERWRITE, \
                     PARTITION_BY, COMPRESSION, COMPRESSION_LEVEL)"
                )
            }
        }
    }
    if let Some(l) = level {
        out.compression = ParquetCompression::Zstd(l);
    }
    if out.single_file && !out.partition_by.is_empty() {
        return plan_err!(
            "PARTITION_BY writes a directory of key=value folders; '{target}' names a file"
        );
    }
    Ok(out)
}

/// Checks the target, then streams the frame's result into files.
pub(crate) fn run_write(df: &DataFrame, target: &str, options: WriteOptions) -> Result<usize> {
    let path = Path::new(target);
    if options.single_file {
        if path.is_dir() {
            return plan_err!("'{target}' is a directory; name a file, or drop the extension");
        }
    } else if path.is_file() {
        return plan_err!("'{target}' is a file; writing a partitioned result needs a directory");
    } else if path.exists() && !options.overwrite {
        let mut entries = std::fs::read_dir(path)
            .map_err(|e| Error::Plan(format!("cannot read directory '{target}': {e}")))?;
        if entries.next().is_some() {
            return plan_err!(
                "output directory '{target}' is not empty; remove it, or overwrite it \
                 (COPY ... (OVERWRITE true), or .overwrite(true))"
            );
        }
    }
    let sink = Arc::new(WriteSink::try_new(path, &df.schema(), options)?);
    let out = df.run_into_sink(sink)?;
    let count = out
        .iter()
        .flatten()
        .find(|b| b.num_rows() > 0)
        .and_then(|b| b.column(0).as_any().downcast_ref::<Int64Array>().cloned())
        .map_or(0, |a| a.value(0));
    Ok(usize::try_from(count).unwrap_or(0))
}
