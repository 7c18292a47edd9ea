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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum FileFormat {
    /// Delimited text.
    Csv,
    #[default]
    /// Apache Parquet (the default; ZSTD level 1 unless [`PartitionWriter::try_new_parquet`] says otherwise).
    Parquet,
}

/// Compression of the Parquet files a [`PartitionWriter`] writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ParquetCompression {
    /// ZSTD at the given level (1..=22); the default is level 1, which compresses about as
    /// well as Snappy's output after a second pass and decodes almost as fast.
    Zstd(i32),
    /// Snappy: fastest to write and read, larger files.
    Snappy,
    /// No compression.
    Uncompressed,
}

impl Default for ParquetCompression {
    fn default() -> Self {
        ParquetCompression::Zstd(1)
    }
}

impl ParquetCompression {
    fn to_parquet(self, path: &Path) -> Result<Compression> {
        Ok(match self {
            ParquetCompression::Zstd(level) => {
                Compression::ZSTD(ZstdLevel::try_new(level).map_err(|e| write_error(path, e))?)
            }
            ParquetCompression::Snappy => Compression::SNAPPY,
            ParquetCompression::Uncompressed => Compression::UNCOMPRESSED,
        })
    }
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
        writer: Box<arrow::csv::Writer<CsvSink>>,
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
        Self::create(path, schema, format, csv, ParquetCompression::default())
    }

    /// A Parquet writer with the given compression (see [`PartitionWriter::try_new`]).
    ///
    /// # Errors
    ///
    /// When the directory or file cannot be created, or the ZSTD level is out of range.
    pub fn try_new_parquet(
        path: &Path,
        schema: SchemaRef,
        compression: ParquetCompression,
    ) -> Result<Self> {
        Self::create(
            path,
            schema,
            FileFormat::Parquet,
            &CsvOptions::default(),
            compression,
        )
    }

    fn create(
        path: &Path,
        schema: SchemaRef,
        format: FileFormat,
        csv: &CsvOptions,
        compression: ParquetCompression,
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
                let props = WriterProperties::builder()
                    .set_compression(compression.to_parquet(path)?)
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
                    writer: Box::new(w),
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

    /// Bytes the writer holds in memory (the Parquet row group being built; CSV writes
    /// through a 1 MiB buffer).
    pub fn buffered_bytes(&self) -> usize {
        match &self.inner {
            Some(Inner::Parquet(w)) => w.memory_size() + (1 << 20),
            _ => 1 << 20,
        }
    }

    /// Writes the row group being built (Parquet), so that its memory is released.
    ///
    /// # Errors
    /// I/O errors.
    pub fn flush(&mut self) -> Result<()> {
        match self.inner.as_mut() {
            Some(Inner::Parquet(w)) => w.flush().map_err(|e| write_error(&self.path, e)),
            _ => Ok(()),
        }
    }

    /// Completes the file and renames it into place.
    ///
    /// # Errors
    /// I/O errors.
    pub fn finish(self) -> Result<()> {
        self.close()?.persist()?;
        Ok(())
    }

    /// Completes the file under its temporary name; [`ClosedFile::persist`] renames it.
    ///
    /// # Errors
    /// I/O errors.
    pub fn close(mut self) -> Result<ClosedFile> {
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
        file.sync_all().map_err(|e| write_error(&path, e))?;
        drop(file);
        self.done = true;
        Ok(ClosedFile {
            tmp: std::mem::take(&mut self.tmp),
            path,
            done: false,
        })
    }
}

/// A complete file still under its hidden temporary name: [`ClosedFile::persist`] renames it
/// into place, dropping it deletes it.
#[derive(Debug)]
pub struct ClosedFile {
    tmp: PathBuf,
    path: PathBuf,
    done: bool,
}

impl ClosedFile {
    /// The path the file was created for.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Renames the file to the path it was created for.
    ///
    /// # Errors
    /// I/O errors.
    pub fn persist(self) -> Result<PathBuf> {
        let path = self.path.clone();
        self.persist_as(&path)?;
        Ok(path)
    }

    /// Renames the file to `path` (in the same directory or file system).
    ///
    /// # Errors
    /// I/O errors.
    pub fn persist_as(mut self, path: &Path) -> Result<()> {
        fs::rename(&self.tmp, path).map_err(|e| write_error(path, e))?;
        self.done = true;
        Ok(())
    }
}

impl Drop for ClosedFile {
    fn drop(&mut self) {
        if !self.done {
            let _ = fs::remove_file(&self.tmp);
        }
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, Int64Array, StringArray};

    use super::*;
    use crate::listing::{ListingTable, TableFormat};
    use crate::test_util::{collect, pretty};

    fn batch() -> RecordBatch {
        RecordBatch::try_from_iter([
            ("a", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef),
            (
                "b",
                Arc::new(StringArray::from(vec![Some("x,y"), None])) as ArrayRef,
            ),
        ])
        .unwrap()
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn parquet_is_renamed_on_finish() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir
            .path()
            .join("out")
            .join(part_file_name(0, FileFormat::Parquet));
        let b = batch();
        let mut w =
            PartitionWriter::try_new(&path, b.schema(), FileFormat::Parquet, &Default::default())
                .unwrap();
        w.write(&b).unwrap();
        // while writing only a hidden temporary file exists, which listing skips
        let during = names(&dir.path().join("out"));
        assert_eq!(during.len(), 1);
        assert!(
            during[0].starts_with(".part-00000.parquet.tmp-"),
            "{during:?}"
        );
        w.finish().unwrap();
        assert_eq!(names(&dir.path().join("out")), ["part-00000.parquet"]);
        let t = ListingTable::try_new(path.to_str().unwrap(), TableFormat::Parquet).unwrap();
        assert_eq!(t.num_rows(), Some(2));
        let out = collect(&t.scan(None, &[], None, 1024).unwrap()).unwrap();
        assert_eq!(
            pretty(&out),
            "+---+-----+\n| a | b   |\n+---+-----+\n| 1 | x,y |\n| 2 |     |\n+---+-----+"
        );
    }

    #[test]
    fn abandoned_or_failed_write_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let b = batch();
        for format in [FileFormat::Parquet, FileFormat::Csv] {
            let path = dir.path().join(part_file_name(0, format));
            let mut w =
                PartitionWriter::try_new(&path, b.schema(), format, &Default::default()).unwrap();
            w.write(&b).unwrap();
            drop(w);
        }
        assert!(names(dir.path()).is_empty());
        // a batch of another schema fails, and the file is removed when the writer is dropped
        let path = dir.path().join("x.parquet");
        let mut w =
            PartitionWriter::try_new(&path, b.schema(), FileFormat::Parquet, &Default::default())
                .unwrap();
        let other =
            RecordBatch::try_from_iter([("z", Arc::new(StringArray::from(vec!["q"])) as ArrayRef)])
                .unwrap();
        let err = w.write(&other).unwrap_err();
        assert!(err.to_string().contains("x.parquet"), "{err}");
        drop(w);
        assert!(names(dir.path()).is_empty());
        // a bad ZSTD level fails before anything is left behind
        let err = PartitionWriter::try_new_parquet(&path, b.schema(), ParquetCompression::Zstd(99))
            .unwrap_err();
        assert!(err.to_string().contains("x.parquet"), "{err}");
        assert!(names(dir.path()).is_empty());
    }

    #[test]
    fn csv_with_header_plain_and_gzip() {
        let dir = tempfile::tempdir().unwrap();
        let b = batch();
        let plain = dir.path().join("a.csv");
        let mut w =
            PartitionWriter::try_new(&plain, b.schema(), FileFormat::Csv, &Default::default())
                .unwrap();
        w.write(&b).unwrap();
        w.finish().unwrap();
        assert_eq!(fs::read_to_string(&plain).unwrap(), "a,b\n1,\"x,y\"\n2,\n");

        let gz = dir.path().join("g/b.csv.gz");
        let mut w = PartitionWriter::try_new(&gz, b.schema(), FileFormat::Csv, &Default::default())
            .unwrap();
        w.write(&b).unwrap();
        w.finish().unwrap();
        let t = ListingTable::try_new_infer(dir.path().join("g").to_str().unwrap()).unwrap();
        let out = collect(&t.scan(None, &[], None, 1024).unwrap()).unwrap();
        assert_eq!(
            pretty(&out),
            "+---+-----+\n| a | b   |\n+---+-----+\n| 1 | x,y |\n| 2 |     |\n+---+-----+"
        );

        // an empty partition still gets its header; '|' without header
        let empty = dir.path().join("e.tbl");
        let options = CsvOptions::default()
            .with_header(false)
            .with_delimiter(b'|');
        let mut w =
            PartitionWriter::try_new(&empty, b.schema(), FileFormat::Csv, &options).unwrap();
        w.write(&b).unwrap();
        w.finish().unwrap();
        assert_eq!(fs::read_to_string(&empty).unwrap(), "1|x,y\n2|\n");
        let header_only = dir.path().join("h.csv");
        let w = PartitionWriter::try_new(
            &header_only,
            b.schema(),
            FileFormat::Csv,
            &Default::default(),
        )
        .unwrap();
        w.finish().unwrap();
        assert_eq!(fs::read_to_string(&header_only).unwrap(), "a,b\n");
    }

    #[test]
    fn parquet_compressions() {
        let dir = tempfile::tempdir().unwrap();
        let b = batch();
        for (i, c) in [
            ParquetCompression::Snappy,
            ParquetCompression::Zstd(3),
            ParquetCompression::Uncompressed,
        ]
        .into_iter()
        .enumerate()
        {
            let path = dir.path().join(part_file_name(i, FileFormat::Parquet));
            let mut w = PartitionWriter::try_new_parquet(&path, b.schema(), c).unwrap();
            w.write(&b).unwrap();
            w.finish().unwrap();
            let file = File::open(&path).unwrap();
            let reader = parquet::file::serialized_reader::SerializedFileReader::new(file).unwrap();
            use parquet::file::reader::FileReader;
            let codec = reader.metadata().row_group(0).column(0).compression();
            let expected = match c {
                ParquetCompression::Snappy => "SNAPPY",
                ParquetCompression::Zstd(_) => "ZSTD",
                ParquetCompression::Uncompressed => "UNCOMPRESSED",
            };
            assert!(format!("{codec:?}").starts_with(expected), "{codec:?}");
        }
        let t = ListingTable::try_new(dir.path().to_str().unwrap(), TableFormat::Parquet).unwrap();
        assert_eq!((t.npartitions(), t.num_rows()), (3, Some(6)));
    }
}
