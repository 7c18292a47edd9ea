//! Writers: one output partition per file, written under a hidden temporary name and renamed
//! into place when complete, so readers never see half a file.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use flate2::write::GzEncoder;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use rask_common::{Error, Result};

use crate::csv::CsvOptions;

/// Rows per Parquet row group written (DuckDB's row-group size).
const ROW_GROUP_ROWS: usize = 122_880;

/// Format of a written file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileFormat {
    /// Delimited text.
    Csv,
    /// Apache Parquet (ZSTD level 1).
    Parquet,
}

/// The name of partition `index`'s file: `part-00000.parquet`, `part-00001.csv`, ...
///
/// ```
/// use rask_io::{part_file_name, FileFormat};
/// assert_eq!(part_file_name(7, FileFormat::Parquet), "part-00007.parquet");
/// ```
pub fn part_file_name(index: usize, format: FileFormat) -> String {
    let ext = match format {
        FileFormat::Csv => "csv",
        FileFormat::Parquet => "parquet",
    };
    format!("part-{index:05}.{ext}")
}

/// Distinguishes temporary files of writers of one process.
static TEMP_COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A CSV byte sink, plain or gzip.
enum CsvSink {
    Plain(BufWriter<File>),
    Gzip(GzEncoder<BufWriter<File>>),
}

impl Write for CsvSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            CsvSink::Plain(w) => w.write(buf),
            CsvSink::Gzip(w) => w.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            CsvSink::Plain(w) => w.flush(),
            CsvSink::Gzip(w) => w.flush(),
        }
    }
}

enum Inner {
    Parquet(Box<ArrowWriter<BufWriter<File>>>),
    Csv {
        writer: arrow::csv::Writer<CsvSink>,
        wrote: bool,
    },
}

/// Writes one partition to one file, atomically.
///
/// The data goes to a hidden temporary file next to the target (`.<name>.tmp-<pid>-<n>`);
/// [`PartitionWriter::finish`] renames it to the target. Dropping the writer unfinished (an
/// error, a panic, a cancelled query) deletes the temporary file.
///
/// ```no_run
/// # use std::sync::Arc;
/// # use arrow::array::{Int64Array, RecordBatch};
/// use rask_io::{part_file_name, CsvOptions, FileFormat, PartitionWriter};
/// # fn main() -> rask_common::Result<()> {
/// # let batch = RecordBatch::try_from_iter([("a", Arc::new(Int64Array::from(vec![1])) as _)])?;
/// let path = std::path::Path::new("out").join(part_file_name(0, FileFormat::Parquet));
/// let mut w = PartitionWriter::try_new(&path, batch.schema(), FileFormat::Parquet, &CsvOptions::default())?;
/// w.write(&batch)?;
/// w.finish()?;
/// # Ok(())
/// # }
/// ```
pub struct PartitionWriter {
    path: PathBuf,
    tmp: PathBuf,
    schema: SchemaRef,
    inner: Option<Inner>,
    done: bool,
}

impl std::fmt::Debug for PartitionWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartitionWriter")
            .field("path", &self.path)
            .field("tmp", &self.tmp)
            .finish()
    }
}

fn write_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Execution(format!("failed to write '{}': {e}", path.display()))
}

impl PartitionWriter {
    /// Creates `path`'s parent directories and a temporary file beside `path`. CSV files use
    /// `csv`'s header, delimiter and quote, and are gzip-compressed when `csv.compression` is
    /// `Some(true)` or (when `None`) `path` ends in `.gz`.
    ///
    /// # Errors
    ///
    /// When the directory or file cannot be created.
    pub fn try_new(
        path: &Path,
        schema: SchemaRef,
        format: FileFormat,
        csv: &CsvOptions,
    ) -> Result<Self> {
        let name = path
            .file_name()
            .ok_or_else(|| Error::Plan(format!("'{}' is not a file path", path.display())))?
            .to_string_lossy()
            .into_owned();
        let dir = path.parent().unwrap_or(Path::new(""));
        if !dir.as_os_str().is_empty() {
            fs::create_dir_all(dir).map_err(|e| write_error(dir, e))?;
        }
        let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".{name}.tmp-{}-{n}", std::process::id()));
        let file = File::create(&tmp).map_err(|e| write_error(&tmp, e))?;
        let mut writer = PartitionWriter {
            path: path.to_path_buf(),
            tmp,
            schema: SchemaRef::clone(&schema),
            inner: None,
            done: false,
        };
        let out = BufWriter::with_capacity(1 << 20, file);
        writer.inner = Some(match format {
            FileFormat::Parquet => {
                let level = ZstdLevel::try_new(1).map_err(|e| write_error(path, e))?;
                let props = WriterProperties::builder()
                    .set_compression(Compression::ZSTD(level))
                    .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
                    .build();
                let w = ArrowWriter::try_new(out, schema, Some(props))
                    .map_err(|e| write_error(path, e))?;
                Inner::Parquet(Box::new(w))
            }
            FileFormat::Csv => {
                let sink = if csv.is_compressed(path) {
                    CsvSink::Gzip(GzEncoder::new(out, flate2::Compression::default()))
                } else {
                    CsvSink::Plain(out)
                };
                let w = arrow::csv::WriterBuilder::new()
                    .with_header(csv.has_header)
                    .with_delimiter(csv.delimiter)
                    .with_quote(csv.quote)
                    .build(sink);
                Inner::Csv {
                    writer: w,
                    wrote: false,
                }
            }
        });
        Ok(writer)
    }

    /// Appends `batch`, which must have the writer's schema.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let path = &self.path;
        match self.inner.as_mut() {
            Some(Inner::Parquet(w)) => w.write(batch).map_err(|e| write_error(path, e)),
            Some(Inner::Csv { writer, wrote }) => {
                *wrote = true;
                writer.write(batch).map_err(|e| write_error(path, e))
            }
            None => Err(Error::Internal("write after finish".into())),
        }
    }

    /// Completes the file and renames it into place.
    pub fn finish(mut self) -> Result<()> {
        let path = self.path.clone();
        let out = match self.inner.take() {
            Some(Inner::Parquet(w)) => w.into_inner().map_err(|e| write_error(&path, e))?,
            Some(Inner::Csv { mut writer, wrote }) => {
                if !wrote {
                    // an empty partition still gets its header
                    let empty = RecordBatch::new_empty(SchemaRef::clone(&self.schema));
                    writer.write(&empty).map_err(|e| write_error(&path, e))?;
                }
                match writer.into_inner() {
                    CsvSink::Plain(w) => w,
                    CsvSink::Gzip(g) => g.finish().map_err(|e| write_error(&path, e))?,
                }
            }
            None => return Err(Error::Internal("finish called twice".into())),
        };
        let file = out
            .into_inner()
            .map_err(|e| write_error(&path, e.error()))?;
        drop(file);
        fs::rename(&self.tmp, &path).map_err(|e| write_error(&path, e))?;
        self.done = true;
        Ok(())
    }
}

impl Drop for PartitionWriter {
    fn drop(&mut self) {
        if !self.done {
            self.inner.take();
            let _ = fs::remove_file(&self.tmp);
        }
    }
}
