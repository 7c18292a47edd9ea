//! CSV: options, schema inference across files, and line-aligned byte-range morsels.
//!
//! A file is cut into byte ranges of about [`DEFAULT_CSV_MORSEL_BYTES`]; each range starts at
//! the first line that begins at or after its nominal start and ends where the next range starts,
//! so every line is read by exactly one range. A quoted field may hold a newline, which breaks
//! this: before cutting a file, one pass follows its quoting (a memchr jump from quote to
//! quote), and a file with a line break inside a quoted field is read as one range, as is a
//! gzip file (which cannot be entered in the middle).
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

use crate::types::{column_difference, make_batch, normalize_type, ColumnSource};

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
    /// Whether every newline of the file ends a record, so that it may be cut at any line
    /// start (computed on the first scan that wants to cut it).
    splittable: OnceLock<bool>,
}

impl CsvFile {
    pub(crate) fn new(path: PathBuf, size: u64, compressed: bool) -> Self {
        CsvFile {
            path,
            size,
            compressed,
            splittable: OnceLock::new(),
        }
    }

    /// Whether no quoted field of the file spans a line break (reads the file once).
    fn splittable(&self, options: &CsvOptions) -> Result<bool> {
        if let Some(v) = self.splittable.get() {
            return Ok(*v);
        }
        let mut file = File::open(&self.path).map_err(|e| io_context(e, &self.path))?;
        let mut scanner = QuoteScanner::new(options);
        let mut buf = vec![0u8; 1 << 20];
        let safe = loop {
            let n = file.read(&mut buf).map_err(|e| io_context(e, &self.path))?;
            if n == 0 {
                break true;
            }
            if !scanner.feed(&buf[..n]) {
                break false;
            }
        };
        let _ = self.splittable.set(safe);
        Ok(safe)
    }
}

/// Where a [`QuoteScanner`] is within a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum QuoteState {
    /// Outside quotes, at the start of a field.
    FieldStart,
    /// Outside quotes, inside an unquoted field (a quote here is an ordinary character).
    Unquoted,
    /// Inside a quoted field.
    Quoted,
    /// Inside a quoted field, right after the escape character.
    Escaped,
    /// Right after a quote that ended a quoted field, or starts a doubled quote.
    QuoteInQuoted,
}

/// Follows CSV quoting (as the arrow-csv reader does) to find a line break inside a quoted
/// field: the one case in which a line start is not a record start.
struct QuoteScanner {
    state: QuoteState,
    quote: u8,
    delimiter: u8,
    escape: Option<u8>,
}

impl QuoteScanner {
    fn new(options: &CsvOptions) -> Self {
        QuoteScanner {
            state: QuoteState::FieldStart,
            quote: options.quote,
            delimiter: options.delimiter,
            escape: options.escape.filter(|e| *e != options.quote),
        }
    }

    /// Scans the next bytes; false once a line break inside a quoted field is met.
    fn feed(&mut self, bytes: &[u8]) -> bool {
        use QuoteState as S;
        let mut i = 0;
        while i < bytes.len() {
            if matches!(self.state, S::FieldStart | S::Unquoted) {
                // Outside quotes only a quote matters: jump to the next one.
                match memchr::memchr(self.quote, &bytes[i..]) {
                    None => {
                        self.state = self.after_plain(bytes[bytes.len() - 1]);
                        return true;
                    }
                    Some(0) => {}
                    Some(k) => {
                        self.state = self.after_plain(bytes[i + k - 1]);
                        i += k;
                    }
                }
            }
            let b = bytes[i];
            let newline = b == b'\n' || b == b'\r';
            self.state = match self.state {
                S::FieldStart if b == self.quote => S::Quoted,
                S::FieldStart | S::Unquoted => self.after_plain(b),
                S::Quoted | S::Escaped if newline => return false,
                S::Quoted if Some(b) == self.escape => S::Escaped,
                S::Quoted if b == self.quote => S::QuoteInQuoted,
                S::Quoted | S::Escaped => S::Quoted,
                S::QuoteInQuoted if b == self.quote => S::Quoted,
                S::QuoteInQuoted => self.after_plain(b),
            };
            i += 1;
        }
        true
    }

    /// The state after an ordinary (non-quote) byte outside quotes.
    fn after_plain(&self, b: u8) -> QuoteState {
        if b == self.delimiter || b == b'\n' || b == b'\r' {
            QuoteState::FieldStart
        } else {
            QuoteState::Unquoted
        }
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
            let mut fields: Vec<Field> = schema
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
            if trailing {
                // decoded as an extra (hidden) column
                fields.push(Field::new("__trailing", DataType::Utf8, true));
            }
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
    // Types come from a sample of the files; every file's first line is checked for the
    // column names (a header-only read infers no types: `Null`, which merges with anything).
    let sampled = sample_indices(files.len());
    let mut inferred: Vec<(&CsvFile, Schema)> = Vec::new();
    for (i, file) in files.iter().enumerate() {
        let file = file.as_ref();
        if file.size == 0 {
            continue;
        }
        let rows = if sampled.binary_search(&i).is_ok() {
            options.infer_rows.max(1)
        } else {
            0
        };
        let reader = open_reader(&file.path, file.compressed)?;
        let (schema, _) = format.infer_schema(reader, Some(rows)).map_err(|e| {
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
            let (a, b) = (first_file.path.display(), file.path.display());
            return Err(Error::Plan(format!(
                "CSV files of one table have different columns: {}. File {a} has [{}] but \
                 file {b} has [{}]; read them as separate tables, or narrow the path with a glob",
                column_difference(&first_names, &these, &a.to_string(), &b.to_string()),
                first_names.join(", "),
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
        file.compressed || file.size <= morsel_bytes || !file.splittable(&config.options)?;
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
                    "failed to parse '{value}' as {} in file {path}, line {}, column '{}': \
                     clean the data, or pass a schema override giving column '{}' a type that \
                     holds this value (for example Utf8)",
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

#[cfg(test)]
mod tests {
    use std::io::Write;

    use arrow::array::Int64Array;
    use arrow::datatypes::Int64Type;

    use super::*;
    use crate::listing::{ListingTable, TableFormat};
    use crate::test_util::{collect, pretty, rows, write_text};

    fn s(p: &Path) -> &str {
        p.to_str().unwrap()
    }

    fn csv(options: CsvOptions) -> TableFormat {
        TableFormat::Csv(options)
    }

    /// `feed` in one piece and byte by byte agree, and give `expected`.
    fn splittable(text: &str, options: &CsvOptions, expected: bool) {
        let mut whole = QuoteScanner::new(options);
        assert_eq!(whole.feed(text.as_bytes()), expected, "{text:?}");
        let mut bytes = QuoteScanner::new(options);
        let ok = text.bytes().all(|b| bytes.feed(&[b]));
        assert_eq!(ok, expected, "{text:?} byte by byte");
    }

    #[test]
    fn quote_scanner() {
        let o = CsvOptions::default();
        splittable("a,b\n1,2\n", &o, true);
        splittable("a,\"b,\"\"c\"\"\",d\n\"x\"\n", &o, true);
        splittable("a,\"b\nc\"\n", &o, false);
        splittable("a,\"b\r\nc\"\n", &o, false);
        // a quote inside an unquoted field is data; the next field may still open quotes
        splittable("a\"b\nc\"d\n", &o, true);
        splittable("x\"y,\"z\nw\"\n", &o, false);
        // text after a closing quote is unquoted
        splittable("\"a\"b\"\nc\n", &o, true);
        let e = CsvOptions::default().with_escape(Some(b'\\'));
        splittable("\"a\\\"b\",c\n", &e, true);
        splittable("\"a\\\nb\"\n", &e, false);
        let q = CsvOptions::default().with_quote(b'\'').with_delimiter(b';');
        splittable("'a\"b';\"c\n'd\n'\n", &q, false);
        splittable("'a\"b';\"c\n\"d\n", &q, true);
    }

    /// `n` lines of `id,name,comment` with quoted comments holding commas and quotes.
    fn quoted_csv(n: usize) -> String {
        let mut text = String::from("id,name,comment\n");
        for i in 0..n {
            text.push_str(&format!("{i},n{i},\"c, \"\"{i}\"\"\"\n"));
        }
        text
    }

    #[test]
    fn byte_range_morsels_cover_every_line_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        write_text(&path, &quoted_csv(1000));
        let whole = ListingTable::try_new(s(&path), csv(CsvOptions::default())).unwrap();
        let expected = collect(&whole.scan(None, &[], None, 64).unwrap()).unwrap();
        assert_eq!(
            whole
                .scan(None, &[], None, 64)
                .unwrap()
                .morsels()
                .unwrap()
                .len(),
            1
        );
        for bytes in [1, 7, 100, 1000, 4096] {
            let t = ListingTable::try_new(s(&path), csv(CsvOptions::default()))
                .unwrap()
                .with_csv_morsel_bytes(bytes);
            let src = t.scan(None, &[], None, 64).unwrap();
            let morsels = src.morsels().unwrap();
            assert!(morsels.len() > 1, "{bytes}");
            assert!(morsels.iter().all(|m| m.partition() == 0));
            let out = collect(&src).unwrap();
            assert_eq!(pretty(&out), pretty(&expected), "morsel bytes {bytes}");
        }
        assert_eq!(rows(&expected), 1000);
        let out = collect(&whole.scan(Some(&[2]), &[], None, 2000).unwrap()).unwrap();
        assert_eq!(out[0].column(0).as_string::<i32>().value(7), "c, \"7\"");
    }

    #[test]
    fn quoted_newline_reads_file_as_one_morsel() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        let mut text = quoted_csv(200);
        text.push_str("1000,x,\"two\nlines\"\n");
        text.push_str(&quoted_csv(200)[16..]);
        write_text(&path, &text);
        let t = ListingTable::try_new(s(&path), csv(CsvOptions::default()))
            .unwrap()
            .with_csv_morsel_bytes(64);
        let src = t.scan(Some(&[0, 2]), &[], None, 1024).unwrap();
        assert_eq!(src.morsels().unwrap().len(), 1);
        let out = collect(&src).unwrap();
        assert_eq!(rows(&out), 401);
        assert_eq!(out[0].column(1).as_string::<i32>().value(200), "two\nlines");
    }

    #[test]
    fn bad_value_names_file_line_column_value_and_fix() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.csv");
        let mut text = String::from("id,name\n");
        for i in 0..500 {
            text.push_str(&format!("{i},n{i}\n"));
        }
        text.push_str("abc,oops\n");
        for i in 0..100 {
            text.push_str(&format!("{i},m{i}\n"));
        }
        write_text(&path, &text);
        let options = CsvOptions::default().with_infer_rows(100);
        for morsel_bytes in [1 << 20, 500] {
            let t = ListingTable::try_new(s(&path), csv(options.clone()))
                .unwrap()
                .with_csv_morsel_bytes(morsel_bytes);
            assert_eq!(t.schema().field(0).data_type(), &DataType::Int64);
            let err = collect(&t.scan(None, &[], None, 64).unwrap()).unwrap_err();
            let msg = err.to_string();
            assert!(matches!(err, Error::Execution(_)), "{msg}");
            for part in [
                "bad.csv",
                "line 502",
                "column 'id'",
                "'abc'",
                "Int64",
                "schema override",
            ] {
                assert!(msg.contains(part), "{part} not in: {msg}");
            }
        }
        // the fix works
        let t = ListingTable::try_new(
            s(&path),
            csv(options.with_schema_override("id", DataType::Utf8)),
        )
        .unwrap();
        assert_eq!(
            rows(&collect(&t.scan(None, &[], None, 64).unwrap()).unwrap()),
            601
        );
    }

    #[test]
    fn wrong_field_count_names_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ragged.csv");
        write_text(&path, "a,b\n1,2\n3,4,5\n");
        // met while inferring
        let msg = ListingTable::try_new(s(&path), csv(CsvOptions::default()))
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("ragged.csv") && msg.contains("line 3"),
            "{msg}"
        );
        // met while reading
        let options = CsvOptions::default().with_infer_rows(1);
        let t = ListingTable::try_new(s(&path), csv(options)).unwrap();
        let msg = collect(&t.scan(None, &[], None, 64).unwrap())
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("ragged.csv") && msg.contains("line 3"),
            "{msg}"
        );
    }

    #[test]
    fn options_delimiter_quote_escape_nulls_no_header() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.txt");
        write_text(&path, "1;'a;b';NA\n2;'it\\'s';3.5\nNA;'';NA\n");
        let options = CsvOptions::default()
            .with_header(false)
            .with_delimiter(b';')
            .with_quote(b'\'')
            .with_escape(Some(b'\\'))
            .with_null_values(vec!["NA".into()]);
        let t = ListingTable::try_new(s(&path), csv(options)).unwrap();
        let schema = t.schema();
        let types: Vec<&DataType> = schema.fields().iter().map(|f| f.data_type()).collect();
        assert_eq!(
            types,
            [&DataType::Int64, &DataType::Utf8, &DataType::Float64]
        );
        let out = collect(&t.scan(None, &[], None, 64).unwrap()).unwrap();
        assert_eq!(
            pretty(&out),
            "+----------+----------+----------+\n\
             | column_1 | column_2 | column_3 |\n\
             +----------+----------+----------+\n\
             | 1        | a;b      |          |\n\
             | 2        | it's     | 3.5      |\n\
             |          |          |          |\n\
             +----------+----------+----------+"
        );
        // with "NA" as the only null string, the empty quoted field is an empty string
        assert!(out[0].column(1).is_valid(2));
        assert!(out[0].column(0).is_null(2));
    }

    #[test]
    fn gzip_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv.gz");
        let file = File::create(&path).unwrap();
        let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
        gz.write_all(quoted_csv(300).as_bytes()).unwrap();
        gz.finish().unwrap();
        let t = ListingTable::try_new(s(&path), csv(CsvOptions::default()))
            .unwrap()
            .with_csv_morsel_bytes(10);
        assert_eq!(t.schema().field(0).data_type(), &DataType::Int64);
        let src = t.scan(None, &[], None, 64).unwrap();
        assert_eq!(src.morsels().unwrap().len(), 1);
        assert_eq!(rows(&collect(&src).unwrap()), 300);
        // forced off: the gzip bytes are not CSV
        let plain = CsvOptions::default().with_compression(Some(false));
        assert!(ListingTable::try_new(s(&path), csv(plain))
            .and_then(|t| collect(&t.scan(None, &[], None, 64)?))
            .is_err());
    }

    #[test]
    fn inference_samples_every_file_and_overrides() {
        let dir = tempfile::tempdir().unwrap();
        write_text(&dir.path().join("a.csv"), "x,y,z\n1,1,2020-01-01\n");
        write_text(&dir.path().join("b.csv"), "x,y,z\n2,2.5,2020-01-02\n");
        write_text(&dir.path().join("c.csv"), "x,y,z\nthree,3,2020-01-03\n");
        let t = ListingTable::try_new(s(dir.path()), csv(CsvOptions::default())).unwrap();
        let schema = t.schema();
        let types: Vec<&DataType> = schema.fields().iter().map(|f| f.data_type()).collect();
        assert_eq!(
            types,
            [&DataType::Utf8, &DataType::Float64, &DataType::Date32]
        );
        assert_eq!(
            rows(&collect(&t.scan(None, &[], None, 64).unwrap()).unwrap()),
            3
        );

        let options = CsvOptions::default()
            .with_schema_override("y", DataType::Decimal128(10, 2))
            .with_schema_override("z", DataType::Utf8);
        let t = ListingTable::try_new(s(dir.path()), csv(options)).unwrap();
        let schema = t.schema();
        let types: Vec<&DataType> = schema.fields().iter().map(|f| f.data_type()).collect();
        assert_eq!(
            types,
            [
                &DataType::Utf8,
                &DataType::Decimal128(10, 2),
                &DataType::Utf8
            ]
        );
        let out = collect(&t.scan(Some(&[1]), &[], None, 64).unwrap()).unwrap();
        assert_eq!(
            pretty(&out),
            "+------+\n| y    |\n+------+\n| 1.00 |\n| 2.50 |\n| 3.00 |\n+------+"
        );
        let bad = CsvOptions::default().with_schema_override("nope", DataType::Utf8);
        let err = ListingTable::try_new(s(dir.path()), csv(bad)).unwrap_err();
        assert!(err.to_string().contains("'nope'"), "{err}");
    }

    #[test]
    fn many_files_are_sampled_beyond_the_first() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..40 {
            let value = if i == 39 {
                "1.5".to_string()
            } else {
                i.to_string()
            };
            write_text(
                &dir.path().join(format!("f{i:02}.csv")),
                &format!("v\n{value}\n"),
            );
        }
        let t = ListingTable::try_new(s(dir.path()), csv(CsvOptions::default())).unwrap();
        assert_eq!(t.npartitions(), 40);
        assert_eq!(t.schema().field(0).data_type(), &DataType::Float64);
        assert_eq!(
            rows(&collect(&t.scan(None, &[], None, 64).unwrap()).unwrap()),
            40
        );
    }

    #[test]
    fn differing_columns_name_both_files_and_the_column() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..30 {
            write_text(&dir.path().join(format!("f{i:02}.csv")), "a,b\n1,2\n");
        }
        // f05 is not among the sampled files; its header is still checked
        write_text(&dir.path().join("f05.csv"), "a,c\n1,2\n");
        let err = ListingTable::try_new(s(dir.path()), csv(CsvOptions::default())).unwrap_err();
        let msg = err.to_string();
        for part in ["f00.csv", "f05.csv", "'b'"] {
            assert!(msg.contains(part), "{part} not in: {msg}");
        }
    }

    #[test]
    fn limit_and_hive_columns() {
        let dir = tempfile::tempdir().unwrap();
        for k in [1, 2] {
            write_text(
                &dir.path().join(format!("k={k}/data.csv")),
                &quoted_csv(100),
            );
        }
        let t = ListingTable::try_new(s(dir.path()), csv(CsvOptions::default())).unwrap();
        assert_eq!(t.schema().field(3).name(), "k");
        assert_eq!(t.schema().field(3).data_type(), &DataType::Int64);
        let filters = [rask_expr::col("k").eq(rask_expr::lit(2i64))];
        let out = collect(&t.scan(Some(&[3, 0]), &filters, None, 64).unwrap()).unwrap();
        assert_eq!(rows(&out), 100);
        let ks = out[0].column(0).as_primitive::<Int64Type>();
        assert_eq!(ks, &Int64Array::from(vec![2; ks.len()]));
        let src = t.scan(None, &[], Some(5), 64).unwrap();
        let out: Vec<RecordBatch> = src.morsels().unwrap()[0]
            .open()
            .unwrap()
            .collect::<Result<_>>()
            .unwrap();
        assert_eq!(rows(&out), 5);
    }
}
