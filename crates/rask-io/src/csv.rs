//! CSV: options, schema inference across files, and line-aligned byte-range morsels.
//!
//! A file is cut into byte ranges of about [`DEFAULT_CSV_MORSEL_BYTES`]; each range starts at
//! the first line that begins at or after its nominal start and ends where the next range starts,
//! so every line is read by exactly one range. A quoted field may hold a newline, which breaks
//! this: a file with any quote character in it is read as one range, as is a gzip file.
//!
//! Decoding errors are turned into messages naming the file, the line, the column and the value.
//! Finding the line costs a pass over the file up to the range start; it happens only on the
//! error path.

use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::compute::{cast_with_options, CastOptions};
use arrow::csv::reader::{Decoder, Format};
use arrow::csv::ReaderBuilder;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::error::ArrowError;
use flate2::bufread::MultiGzDecoder;
use rask_common::{Error, Result, ScalarValue};
use rask_exec::{BatchIter, Morsel};

use crate::types::{make_batch, normalize_type, ColumnSource};

/// Default size of a CSV byte-range morsel.
pub(crate) const DEFAULT_CSV_MORSEL_BYTES: usize = 16 * 1024 * 1024;

/// At most this many files of a table are read to infer its schema (the first and last included).
const INFER_MAX_FILES: usize = 16;

/// How CSV files are read (and written, for `has_header` and `delimiter`).
///
/// ```
/// use rask_io::CsvOptions;
/// let tbl = CsvOptions::default().with_header(false).with_delimiter(b'|');
/// assert_eq!(tbl.delimiter, b'|');
/// ```
#[derive(Clone, Debug)]
pub struct CsvOptions {
    /// The first line holds column names (default `true`).
    pub has_header: bool,
    /// Field separator (default `,`).
    pub delimiter: u8,
    /// Quote character (default `"`).
    pub quote: u8,
    /// Escape character inside quoted fields (default none: quotes are doubled).
    pub escape: Option<u8>,
    /// Field values read as NULL (default `[""]`: an empty field is NULL, as in DuckDB).
    pub null_values: Vec<String>,
    /// The full schema of the files; no inference when set.
    pub schema: Option<SchemaRef>,
    /// Per-column types replacing the inferred ones.
    pub schema_overrides: Vec<(String, DataType)>,
    /// Rows sampled per file for inference (default 10,000).
    pub infer_rows: usize,
    /// `Some(true)`: gzip; `Some(false)`: plain; `None`: gzip when the name ends in `.gz`.
    pub compression: Option<bool>,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            has_header: true,
            delimiter: b',',
            quote: b'"',
            escape: None,
            null_values: vec![String::new()],
            schema: None,
            schema_overrides: Vec::new(),
            infer_rows: 10_000,
            compression: None,
        }
    }
}

impl CsvOptions {
    /// Sets whether the first line holds column names.
    pub fn with_header(mut self, has_header: bool) -> Self {
        self.has_header = has_header;
        self
    }
    /// Sets the field separator.
    pub fn with_delimiter(mut self, delimiter: u8) -> Self {
        self.delimiter = delimiter;
        self
    }
    /// Sets the quote character.
    pub fn with_quote(mut self, quote: u8) -> Self {
        self.quote = quote;
        self
    }
    /// Sets the escape character.
    pub fn with_escape(mut self, escape: Option<u8>) -> Self {
        self.escape = escape;
        self
    }
    /// Sets the field values read as NULL.
    pub fn with_null_values(mut self, null_values: Vec<String>) -> Self {
        self.null_values = null_values;
        self
    }
    /// Sets the full schema (no inference).
    pub fn with_schema(mut self, schema: SchemaRef) -> Self {
        self.schema = Some(schema);
        self
    }
    /// Overrides the type of one column after inference.
    pub fn with_schema_override(mut self, name: impl Into<String>, data_type: DataType) -> Self {
        self.schema_overrides.push((name.into(), data_type));
        self
    }
    /// Sets the number of rows sampled per file for inference.
    pub fn with_infer_rows(mut self, infer_rows: usize) -> Self {
        self.infer_rows = infer_rows;
        self
    }
    /// Sets the compression (`Some(true)` gzip, `None` by extension).
    pub fn with_compression(mut self, compression: Option<bool>) -> Self {
        self.compression = compression;
        self
    }

    /// Whether `path` is read through gzip.
    pub(crate) fn is_compressed(&self, path: &Path) -> bool {
        self.compression
            .unwrap_or_else(|| path.to_string_lossy().to_ascii_lowercase().ends_with(".gz"))
    }

    /// The arrow-csv format; `header` says whether the first line is skipped.
    pub(crate) fn format(&self, header: bool) -> Result<Format> {
        let mut format = Format::default()
            .with_header(header)
            .with_delimiter(self.delimiter)
            .with_quote(self.quote);
        if let Some(escape) = self.escape {
            format = format.with_escape(escape);
        }
        if !(self.null_values.len() == 1 && self.null_values[0].is_empty()) {
            let pattern = if self.null_values.is_empty() {
                // matches nothing: no value is NULL
                r"[^\s\S]".to_string()
            } else {
                let alts: Vec<String> = self.null_values.iter().map(|v| regex::escape(v)).collect();
                format!("^(?:{})$", alts.join("|"))
            };
            let re = regex::Regex::new(&pattern).map_err(|e| {
                Error::Plan(format!(
                    "invalid CSV null values {:?}: {e}",
                    self.null_values
                ))
            })?;
            format = format.with_null_regex(re);
        }
        Ok(format)
    }
}

/// Opens `path` for sequential reading, through gzip when `compressed`, past a UTF-8 BOM.
pub(crate) fn open_reader(path: &Path, compressed: bool) -> Result<Box<dyn BufRead + Send>> {
    let file = File::open(path).map_err(|e| io_context(e, path))?;
    let mut reader: Box<dyn BufRead + Send> = if compressed {
        Box::new(BufReader::with_capacity(
            1 << 16,
            MultiGzDecoder::new(BufReader::with_capacity(1 << 16, file)),
        ))
    } else {
        Box::new(BufReader::with_capacity(1 << 16, file))
    };
    skip_bom(&mut reader).map_err(|e| io_context(e, path))?;
    Ok(reader)
}

fn skip_bom(reader: &mut dyn BufRead) -> std::io::Result<()> {
    let buf = reader.fill_buf()?;
    if buf.starts_with(&[0xEF, 0xBB, 0xBF]) {
        reader.consume(3);
    }
    Ok(())
}

/// An I/O error on `path`, worded for a user.
pub(crate) fn io_context(e: std::io::Error, path: &Path) -> Error {
    if e.kind() == std::io::ErrorKind::NotFound {
        Error::Plan(format!("no such file or directory: '{}'", path.display()))
    } else {
        Error::Io(e).context(format!("reading '{}'", path.display()))
    }
}

/// The first line of `path` (without its terminator), at most 1 MiB of it.
fn first_line(path: &Path, compressed: bool) -> Result<Vec<u8>> {
    let reader = open_reader(path, compressed)?;
    let mut line = Vec::new();
    reader
        .take(1 << 20)
        .read_until(b'\n', &mut line)
        .map_err(|e| io_context(e, path))?;
    while line.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        line.pop();
    }
    Ok(line)
}

/// One CSV file of a table.
#[derive(Debug)]
pub(crate) struct CsvFile {
    pub path: PathBuf,
    pub size: u64,
    pub compressed: bool,
    /// Whether the file holds the quote character anywhere (computed on first scan).
    has_quote: OnceLock<bool>,
}

impl CsvFile {
    pub(crate) fn new(path: PathBuf, size: u64, compressed: bool) -> Self {
        CsvFile {
            path,
            size,
            compressed,
            has_quote: OnceLock::new(),
        }
    }

    fn has_quote(&self, quote: u8) -> Result<bool> {
        if let Some(v) = self.has_quote.get() {
            return Ok(*v);
        }
        let mut file = File::open(&self.path).map_err(|e| io_context(e, &self.path))?;
        let mut buf = vec![0u8; 1 << 20];
        let mut found = false;
        loop {
            let n = file.read(&mut buf).map_err(|e| io_context(e, &self.path))?;
            if n == 0 {
                break;
            }
            if memchr::memchr(quote, &buf[..n]).is_some() {
                found = true;
                break;
            }
        }
        let _ = self.has_quote.set(found);
        Ok(found)
    }
}

/// The schema CSV files are decoded with, and how much of it the table shows.
#[derive(Debug, Clone)]
pub(crate) struct CsvSchema {
    /// One field per field of a line, types normalised.
    pub decoder: SchemaRef,
    /// The leading fields of `decoder` the table shows; a trailing field that every line ends
    /// with an empty value for (TPC-H `.tbl` files end lines with `|`) is hidden.
    pub visible: usize,
}

/// Works out the schema of `files`: `options.schema` when given, else inferred per file and
/// merged; then `options.schema_overrides` applied.
pub(crate) fn resolve_schema(files: &[Arc<CsvFile>], options: &CsvOptions) -> Result<CsvSchema> {
    let first = files.first().map(|f| f.as_ref());
    let (mut fields, mut trailing) = match &options.schema {
        Some(schema) => {
            let fields: Vec<Field> = schema
                .fields()
                .iter()
                .map(|f| Field::new(f.name(), csv_type(f.data_type()), true))
                .collect();
            // A file whose lines carry one more (empty) field than the schema, as TPC-H's
            // `a|b|c|`, gets a hidden trailing column instead of an error on every line.
            let trailing = match first {
                Some(f) if f.size > 0 => {
                    let line = first_line(&f.path, f.compressed)?;
                    !line.contains(&options.quote)
                        && line.ends_with(&[options.delimiter])
                        && line.iter().filter(|b| **b == options.delimiter).count() == fields.len()
                }
                _ => false,
            };
            (fields, trailing)
        }
        None => infer_schema(files, options)?,
    };
    for (name, data_type) in &options.schema_overrides {
        let visible = fields.len() - trailing as usize;
        match fields[..visible].iter().position(|f| f.name() == name) {
            Some(i) => fields[i] = Field::new(name, csv_type(data_type), true),
            None => {
                let names: Vec<&str> = fields[..visible]
                    .iter()
                    .map(|f| f.name().as_str())
                    .collect();
                return Err(Error::Plan(format!(
                    "type override for unknown column '{name}'; the CSV columns are [{}]",
                    names.join(", ")
                )));
            }
        }
    }
    if fields.is_empty() {
        trailing = false;
    }
    let visible = fields.len() - trailing as usize;
    if trailing {
        let last = fields.len() - 1;
        fields[last] = Field::new("__trailing", DataType::Utf8, true);
    }
    Ok(CsvSchema {
        decoder: Arc::new(Schema::new(fields)),
        visible,
    })
}

/// The type a CSV column is decoded as.
fn csv_type(dt: &DataType) -> DataType {
    match normalize_type(dt) {
        DataType::Null => DataType::Utf8,
        other => other,
    }
}

/// Indices of the files sampled for inference: all when few, else evenly spread with the first
/// and last included.
fn sample_indices(n: usize) -> Vec<usize> {
    if n <= INFER_MAX_FILES {
        return (0..n).collect();
    }
    let mut out: Vec<usize> = (0..INFER_MAX_FILES)
        .map(|i| i * (n - 1) / (INFER_MAX_FILES - 1))
        .collect();
    out.dedup();
    out
}

/// Infers each sampled file's schema and merges them. Returns the fields and whether the last
/// one is a hidden trailing column.
fn infer_schema(files: &[Arc<CsvFile>], options: &CsvOptions) -> Result<(Vec<Field>, bool)> {
    let format = options.format(options.has_header)?;
    // (file, inferred schema) of the files that had any columns
    let mut inferred: Vec<(&CsvFile, Schema)> = Vec::new();
    for i in sample_indices(files.len()) {
        let file = files[i].as_ref();
        if file.size == 0 {
            continue;
        }
        let reader = open_reader(&file.path, file.compressed)?;
        let (schema, _) = format
            .infer_schema(reader, Some(options.infer_rows.max(1)))
            .map_err(|e| {
                Error::Execution(format!(
                    "cannot infer the schema of CSV file '{}': {}; check the delimiter ('{}') \
                     and header options, or give the schema explicitly",
                    file.path.display(),
                    arrow_message(&e),
                    options.delimiter as char
                ))
            })?;
        if schema.fields().is_empty() {
            continue;
        }
        inferred.push((file, schema));
    }
    let Some((first_file, first_schema)) = inferred.first() else {
        return Ok((Vec::new(), false));
    };
    let names =
        |s: &Schema| -> Vec<String> { s.fields().iter().map(|f| f.name().clone()).collect() };
    let first_names = names(first_schema);
    let mut types: Vec<DataType> = first_schema
        .fields()
        .iter()
        .map(|f| f.data_type().clone())
        .collect();
    for (file, schema) in &inferred[1..] {
        let these = names(schema);
        if these != first_names {
            return Err(Error::Plan(format!(
                "file {} has columns [{}] but file {} has [{}]; use a schema override or \
                 separate tables",
                first_file.path.display(),
                first_names.join(", "),
                file.path.display(),
                these.join(", ")
            )));
        }
        for (t, f) in types.iter_mut().zip(schema.fields()) {
            *t = merge_types(t, f.data_type());
        }
    }
    // A trailing empty field on every line: TPC-H's `a|b|c|`.
    let trailing = {
        let last = first_names.len() - 1;
        let name = &first_names[last];
        let unnamed = if options.has_header {
            name.is_empty()
        } else {
            *name == format!("column_{}", last + 1)
        };
        unnamed && types[last] == DataType::Null && first_names.len() > 1 && {
            let line = first_line(&first_file.path, first_file.compressed)?;
            line.ends_with(&[options.delimiter])
        }
    };
    let fields = first_names
        .iter()
        .zip(types)
        .map(|(n, t)| Field::new(n, csv_type(&t), true))
        .collect();
    Ok((fields, trailing))
}

/// The type holding values of both `a` and `b` (as inferred by arrow-csv).
fn merge_types(a: &DataType, b: &DataType) -> DataType {
    use DataType as D;
    match (a, b) {
        _ if a == b => a.clone(),
        (D::Null, t) | (t, D::Null) => t.clone(),
        (D::Int64, D::Float64) | (D::Float64, D::Int64) => D::Float64,
        (D::Date32 | D::Timestamp(_, _), D::Date32 | D::Timestamp(_, _)) => {
            D::Timestamp(TimeUnit::Microsecond, None)
        }
        _ => D::Utf8,
    }
}

/// What every morsel of one CSV scan shares.
#[derive(Debug)]
pub(crate) struct CsvScanConfig {
    pub options: CsvOptions,
    pub schema: CsvSchema,
    /// Decoder columns read, ascending and unique.
    pub projection: Vec<usize>,
    /// Where each output column comes from.
    pub output: Vec<ColumnSource>,
    pub out_schema: SchemaRef,
    pub batch_size: usize,
    pub limit: Option<usize>,
}

/// Cuts `file` into morsels of about `morsel_bytes`.
pub(crate) fn file_morsels(
    file: &Arc<CsvFile>,
    partition: usize,
    hive: &Arc<Vec<ScalarValue>>,
    config: &Arc<CsvScanConfig>,
    morsel_bytes: usize,
) -> Result<Vec<CsvMorsel>> {
    let morsel_bytes = morsel_bytes.max(1) as u64;
    let whole =
        file.compressed || file.size <= morsel_bytes || file.has_quote(config.options.quote)?;
    let ranges: Vec<(u64, u64)> = if whole {
        vec![(0, u64::MAX)]
    } else {
        let n = file.size.div_ceil(morsel_bytes);
        (0..n)
            .map(|i| {
                let end = if i + 1 == n {
                    u64::MAX
                } else {
                    (i + 1) * morsel_bytes
                };
                (i * morsel_bytes, end)
            })
            .collect()
    };
    Ok(ranges
        .into_iter()
        .map(|(start, end)| CsvMorsel {
            file: Arc::clone(file),
            partition,
            start,
            end,
            hive: Arc::clone(hive),
            config: Arc::clone(config),
        })
        .collect())
}

/// A line-aligned byte range of one CSV file.
pub(crate) struct CsvMorsel {
    file: Arc<CsvFile>,
    partition: usize,
    /// Nominal start: the range begins at the first line starting at or after it.
    start: u64,
    /// Nominal end (`u64::MAX`: end of file): the range ends where the next one begins.
    end: u64,
    hive: Arc<Vec<ScalarValue>>,
    config: Arc<CsvScanConfig>,
}

impl fmt::Debug for CsvMorsel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CsvMorsel")
            .field("path", &self.file.path)
            .field("partition", &self.partition)
            .field("start", &self.start)
            .field("end", &self.end)
            .finish()
    }
}

/// The offset of the first line starting at or after `pos` (`size` when none does).
fn line_start_at_or_after(file: &mut File, pos: u64, size: u64) -> std::io::Result<u64> {
    if pos == 0 {
        return Ok(0);
    }
    if pos >= size {
        return Ok(size);
    }
    // A line starts at `pos` when the byte before it is a newline.
    file.seek(SeekFrom::Start(pos - 1))?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut offset = pos - 1;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(size);
        }
        if let Some(i) = memchr::memchr(b'\n', &buf[..n]) {
            return Ok((offset + i as u64 + 1).min(size));
        }
        offset += n as u64;
    }
}

/// The byte range `[start, end)` one morsel reads, `end` `None` for end of file.
#[derive(Debug, Clone, Copy)]
struct ByteRange {
    start: u64,
    end: Option<u64>,
}

impl CsvMorsel {
    fn resolve_range(&self) -> Result<ByteRange> {
        if self.start == 0 && self.end == u64::MAX {
            return Ok(ByteRange {
                start: 0,
                end: None,
            });
        }
        let path = &self.file.path;
        let mut f = File::open(path).map_err(|e| io_context(e, path))?;
        let size = self.file.size;
        let start =
            line_start_at_or_after(&mut f, self.start, size).map_err(|e| io_context(e, path))?;
        let end = if self.end == u64::MAX {
            None
        } else {
            Some(line_start_at_or_after(&mut f, self.end, size).map_err(|e| io_context(e, path))?)
        };
        Ok(ByteRange { start, end })
    }

    fn header_in_range(&self) -> bool {
        self.start == 0 && self.config.options.has_header
    }
}

/// Opens the bytes of `range` of `file`.
fn open_range(file: &CsvFile, range: ByteRange) -> Result<Box<dyn BufRead + Send>> {
    if file.compressed || (range.start == 0 && range.end.is_none()) {
        return open_reader(&file.path, file.compressed);
    }
    let path = &file.path;
    let mut f = File::open(path).map_err(|e| io_context(e, path))?;
    f.seek(SeekFrom::Start(range.start))
        .map_err(|e| io_context(e, path))?;
    let len = range
        .end
        .map_or(u64::MAX, |end| end.saturating_sub(range.start));
    let mut reader: Box<dyn BufRead + Send> =
        Box::new(BufReader::with_capacity(1 << 16, f.take(len)));
    if range.start == 0 {
        skip_bom(&mut reader).map_err(|e| io_context(e, path))?;
    }
    Ok(reader)
}

impl Morsel for CsvMorsel {
    fn open(&self) -> Result<BatchIter> {
        let range = self.resolve_range()?;
        let config = &self.config;
        if range.end.is_some_and(|end| end <= range.start) {
            return Ok(Box::new(std::iter::empty()));
        }
        let reader = open_range(&self.file, range)?;
        let decoder = ReaderBuilder::new(Arc::clone(&config.schema.decoder))
            .with_format(config.options.format(self.header_in_range())?)
            .with_batch_size(config.batch_size)
            .with_projection(config.projection.clone())
            .build_decoder();
        Ok(Box::new(CsvBatchIter {
            reader,
            decoder,
            morsel: CsvMorselInfo {
                file: Arc::clone(&self.file),
                range,
                header: self.header_in_range(),
                config: Arc::clone(&self.config),
            },
            hive: Arc::clone(&self.hive),
            rows_done: 0,
            done: false,
        }))
    }

    fn partition(&self) -> usize {
        self.partition
    }
}

/// What an open morsel needs to know to explain an error.
struct CsvMorselInfo {
    file: Arc<CsvFile>,
    range: ByteRange,
    header: bool,
    config: Arc<CsvScanConfig>,
}

struct CsvBatchIter {
    reader: Box<dyn BufRead + Send>,
    decoder: Decoder,
    morsel: CsvMorselInfo,
    hive: Arc<Vec<ScalarValue>>,
    /// Data rows of this range decoded so far.
    rows_done: usize,
    done: bool,
}

impl CsvBatchIter {
    fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        let path = &self.morsel.file.path;
        loop {
            let buf = self.reader.fill_buf().map_err(|e| io_context(e, path))?;
            let decoded = match self.decoder.decode(buf) {
                Ok(n) => n,
                Err(e) => return Err(self.morsel.explain(e, self.rows_done)),
            };
            self.reader.consume(decoded);
            if decoded == 0 || self.decoder.capacity() == 0 {
                break;
            }
        }
        let batch = match self.decoder.flush() {
            Ok(Some(b)) => b,
            Ok(None) => return Ok(None),
            Err(e) => return Err(self.morsel.explain(e, self.rows_done)),
        };
        self.rows_done += batch.num_rows();
        let config = &self.morsel.config;
        let mut rows = batch.num_rows();
        if let Some(limit) = config.limit {
            if self.rows_done >= limit {
                self.done = true;
                rows -= self.rows_done - limit;
            }
        }
        let batch = batch.slice(0, rows);
        let columns = config
            .output
            .iter()
            .zip(config.out_schema.fields())
            .map(|(src, field)| match src {
                ColumnSource::File(i) => Ok(Arc::clone(batch.column(*i))),
                ColumnSource::Hive(i) => hive_array(&self.hive[*i], field.data_type(), rows),
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Some(make_batch(&config.out_schema, columns, rows)?))
    }
}

/// A column repeating a hive partition value.
pub(crate) fn hive_array(
    value: &ScalarValue,
    data_type: &DataType,
    rows: usize,
) -> Result<ArrayRef> {
    let array = value.to_array(rows)?;
    crate::types::cast_if_needed(&array, data_type)
}

impl Iterator for CsvBatchIter {
    type Item = Result<RecordBatch>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.next_batch() {
            Ok(Some(b)) => Some(Ok(b)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// The message of an arrow error without its "Csv error:"-style prefix.
fn arrow_message(e: &ArrowError) -> String {
    match e {
        ArrowError::CsvError(m) | ArrowError::ParseError(m) => m.clone(),
        other => other.to_string(),
    }
}

/// The number after `key` in `msg`.
fn number_after(msg: &str, key: &str) -> Option<usize> {
    let rest = &msg[msg.find(key)? + key.len()..];
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}

impl CsvMorselInfo {
    /// Number of lines before the start of the range (reads the file up to it).
    fn lines_before(&self) -> Result<usize> {
        if self.range.start == 0 {
            return Ok(0);
        }
        let path = &self.file.path;
        let mut f = File::open(path)
            .map_err(|e| io_context(e, path))?
            .take(self.range.start);
        let mut buf = vec![0u8; 1 << 20];
        let mut count = 0;
        loop {
            let n = f.read(&mut buf).map_err(|e| io_context(e, path))?;
            if n == 0 {
                return Ok(count);
            }
            count += memchr::memchr_iter(b'\n', &buf[..n]).count();
        }
    }

    /// Turns a decoder error met after `rows_done` data rows into a message naming the file,
    /// line, column and value.
    fn explain(&self, e: ArrowError, rows_done: usize) -> Error {
        let path = self.file.path.display();
        let lines_before = match self.lines_before() {
            Ok(n) => n,
            Err(err) => return err,
        };
        let msg = arrow_message(&e);
        let options = &self.config.options;
        if msg.contains("incorrect number of fields") {
            // `line` counts records of this range from 1, the header included
            let expected = number_after(&msg, "expected ");
            if let Some(line) = number_after(&msg, "for line ") {
                let found = msg
                    .split(" got ")
                    .nth(1)
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "a different number".into());
                return Error::Execution(format!(
                    "file {path}, line {}: expected {} fields but found {found}; check the \
                     delimiter ('{}') and quoting, or fix the line",
                    lines_before + line,
                    expected.map_or("more".to_string(), |n| n.to_string()),
                    options.delimiter as char,
                ));
            }
        }
        let first_line = lines_before + self.header as usize + rows_done + 1;
        if matches!(e, ArrowError::ParseError(_)) {
            if let Some((row, col, value)) = self.find_bad_value(rows_done) {
                let field = self.config.schema.decoder.field(col);
                return Error::Execution(format!(
                    "failed to parse '{value}' as {} in file {path}, line {}, column '{}': fix \
                     the value, or declare the column with a schema override (e.g. \
                     read_csv(..., types={{'{}': 'VARCHAR'}}) / --table options)",
                    field.data_type(),
                    lines_before + self.header as usize + row + 1,
                    field.name(),
                    field.name(),
                ));
            }
        }
        Error::Execution(format!(
            "failed to read file {path} near line {first_line}: {msg}; fix the data, or \
             declare the column types with a schema override"
        ))
    }

    /// Re-reads the failing batch as text to find the first value that does not parse as its
    /// column type: (data row within the range, decoder column, value).
    fn find_bad_value(&self, rows_done: usize) -> Option<(usize, usize, String)> {
        let schema = &self.config.schema.decoder;
        let columns: Vec<usize> = self
            .config
            .projection
            .iter()
            .copied()
            .filter(|c| schema.field(*c).data_type() != &DataType::Utf8)
            .collect();
        if columns.is_empty() {
            return None;
        }
        let text_schema = Arc::new(Schema::new(
            schema
                .fields()
                .iter()
                .map(|f| Field::new(f.name(), DataType::Utf8, true))
                .collect::<Vec<_>>(),
        ));
        let reader = open_range(&self.file, self.range).ok()?;
        let format = self.config.options.format(self.header).ok()?;
        let batches = ReaderBuilder::new(text_schema)
            .with_format(format)
            .with_batch_size(self.config.batch_size)
            .with_projection(columns.clone())
            .build_buffered(reader)
            .ok()?;
        let window_end = rows_done + self.config.batch_size;
        let mut row = 0;
        for batch in batches {
            let batch = batch.ok()?;
            let n = batch.num_rows();
            if row + n > rows_done {
                let skip = rows_done.saturating_sub(row);
                let mut best: Option<(usize, usize, String)> = None;
                for (j, col) in columns.iter().enumerate() {
                    let target = schema.field(*col).data_type();
                    if let Some((r, v)) = first_unparsable(batch.column(j), target, skip) {
                        if best.as_ref().is_none_or(|b| r < b.0) {
                            best = Some((r, *col, v));
                        }
                    }
                }
                if let Some((r, col, v)) = best {
                    return Some((row + r, col, v));
                }
            }
            row += n;
            if row >= window_end {
                break;
            }
        }
        None
    }
}

/// The first row at or after `skip` whose text does not convert to `target`.
fn first_unparsable(text: &ArrayRef, target: &DataType, skip: usize) -> Option<(usize, String)> {
    let strings = text.as_string_opt::<i32>()?;
    if target == &DataType::Boolean {
        // arrow-csv reads only true/false (any case); casts accept more
        return (skip..strings.len()).find_map(|i| {
            let s = strings.is_valid(i).then(|| strings.value(i))?;
            (!s.eq_ignore_ascii_case("true") && !s.eq_ignore_ascii_case("false"))
                .then(|| (i, s.to_string()))
        });
    }
    let options = CastOptions {
        safe: true,
        format_options: Default::default(),
    };
    let cast = cast_with_options(text, target, &options).ok()?;
    (skip..strings.len())
        .find(|&i| strings.is_valid(i) && cast.is_null(i))
        .map(|i| (i, strings.value(i).to_string()))
}
