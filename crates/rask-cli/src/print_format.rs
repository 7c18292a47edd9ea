//! Formatting query results: an aligned table (comfy-table), CSV, JSON and NDJSON.
//!
//! Every format writes into a `&mut dyn Write`. Batches are rendered into memory first and
//! then written with `write_all`, so that a failed write surfaces as a plain
//! [`std::io::Error`] (the caller turns a broken pipe into a quiet exit) rather than an error
//! wrapped inside an Arrow or CSV writer.

use std::io::Write;

use anyhow::{Context, Result};
use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, SchemaRef};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use comfy_table::{Cell, CellAlignment, ContentArrangement, Table};

use crate::args::OutputFormat;

/// How many rows an elided table shows at its head and at its tail.
const ELIDED_HALF: usize = 20;

/// The border style of arrow's `pretty_format_batches`, so that printed results look like the
/// expected tables in rask's tests.
const TABLE_PRESET: &str = "||--+-++|    ++++++";

/// Options for printing results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrintOptions {
    /// The output format.
    pub format: OutputFormat,
    /// Fit tables to the terminal width, wrapping cells (only when writing to a terminal);
    /// otherwise every cell is printed whole on one line.
    pub fit_terminal: bool,
    /// Show only the first and last 20 rows of long tables (the interactive shell on a
    /// terminal); other formats always print every row.
    pub elide_rows: bool,
}

impl PrintOptions {
    /// Options for `format` that print every row and never wrap.
    pub fn new(format: OutputFormat) -> Self {
        PrintOptions {
            format,
            fit_terminal: false,
            elide_rows: false,
        }
    }
}

/// Writes one query result in the chosen format. Table output ends with a footer line such
/// as `3 rows`; the other formats write nothing but the data.
///
/// # Errors
///
/// Errors when a value cannot be formatted or `out` fails.
pub fn print_batches(
    out: &mut dyn Write,
    schema: &SchemaRef,
    batches: &[RecordBatch],
    options: &PrintOptions,
) -> Result<()> {
    match options.format {
        OutputFormat::Table => {
            let text = format_table(schema, batches, options)?;
            out.write_all(text.as_bytes())?;
        }
        OutputFormat::Csv => write_csv(out, schema, batches, true)?,
        OutputFormat::Json => write_json_array(out, batches)?,
        OutputFormat::Ndjson => write_ndjson(out, batches)?,
    }
    Ok(())
}

/// Formats a result as it arrives, for the data formats that need no look at the whole
/// result (CSV and NDJSON): each batch is formatted on the query worker that produced it
/// ([`rask::DataFrame::stream_map`]), a big one in pieces on idle workers too, so formatting
/// runs in parallel with the query instead of after it.
#[derive(Debug, Clone)]
pub struct StreamFormat {
    schema: SchemaRef,
    format: OutputFormat,
}

impl StreamFormat {
    /// A formatter for `format`, or `None` when the format needs the whole result (table,
    /// JSON array) or there are no columns.
    pub fn new(schema: SchemaRef, format: OutputFormat) -> Option<Self> {
        let streams = matches!(format, OutputFormat::Csv | OutputFormat::Ndjson);
        (streams && !schema.fields().is_empty()).then_some(StreamFormat { schema, format })
    }

    /// What comes before the rows (the CSV header; written even for an empty result).
    ///
    /// # Errors
    /// Formatting errors.
    pub fn header(&self) -> Result<Vec<u8>> {
        let mut buf = Vec::new();
        if self.format == OutputFormat::Csv {
            write_csv(&mut buf, &self.schema, &[], true)?;
        }
        Ok(buf)
    }

    /// The formatted rows of `batch`.
    ///
    /// # Errors
    /// Formatting errors.
    pub fn format(&self, batch: &RecordBatch) -> Result<Vec<u8>> {
        let mut buf = Vec::new();
        match self.format {
            OutputFormat::Csv if csv_by_hand(&self.schema) => {
                format_csv_split(&mut buf, batch, 0, batch.num_rows())?
            }
            OutputFormat::Csv => {
                write_csv_arrow(&mut buf, &self.schema, std::slice::from_ref(batch), false)?
            }
            _ => write_ndjson(&mut buf, std::slice::from_ref(batch))?,
        }
        Ok(buf)
    }
}

/// Whether rask's own CSV formatter handles `schema` (otherwise arrow's writer does).
fn csv_by_hand(schema: &SchemaRef) -> bool {
    !schema.fields().is_empty() && !schema.fields().iter().any(|f| f.data_type().is_nested())
}

/// Appends `rows` rows of `batch` from `start` as CSV; big runs are halved and formatted on
/// the rayon pool (idle query workers take the other half).
fn format_csv_split(
    buf: &mut Vec<u8>,
    batch: &RecordBatch,
    start: usize,
    rows: usize,
) -> Result<()> {
    if rows <= CSV_SPLIT_ROWS {
        return format_csv_rows(buf, batch, start, rows);
    }
    let half = rows / 2;
    let mut right = Vec::new();
    let (a, b) = rayon::join(
        || format_csv_split(buf, batch, start, half),
        || format_csv_split(&mut right, batch, start + half, rows - half),
    );
    a?;
    b?;
    buf.extend_from_slice(&right);
    Ok(())
}

/// Renders batches as a table followed by a footer line (`3 rows`, `1 row`, or
/// `100 rows (40 shown)` when long results are elided).
pub fn format_table(
    schema: &SchemaRef,
    batches: &[RecordBatch],
    options: &PrintOptions,
) -> Result<String> {
    let total: usize = batches.iter().map(|b| b.num_rows()).sum();
    let elide = options.elide_rows && total > 2 * ELIDED_HALF;

    let mut table = Table::new();
    table.load_preset(TABLE_PRESET);
    if options.fit_terminal {
        table.set_content_arrangement(ContentArrangement::Dynamic);
    } else {
        table.set_content_arrangement(ContentArrangement::Disabled);
    }
    table.set_header(schema.fields().iter().map(|f| Cell::new(f.name())));

    let format_options = FormatOptions::default()
        .with_null("NULL")
        .with_display_error(true);
    let mut row_index = 0;
    for batch in batches {
        let formatters = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &format_options))
            .collect::<Result<Vec<_>, _>>()
            .context("cannot format the result")?;
        for row in 0..batch.num_rows() {
            let shown = !elide || row_index < ELIDED_HALF || row_index >= total - ELIDED_HALF;
            if elide && row_index == ELIDED_HALF {
                table.add_row(schema.fields().iter().map(|_| Cell::new("…")));
            }
            if shown {
                table.add_row(formatters.iter().map(|f| Cell::new(f.value(row))));
            }
            row_index += 1;
        }
    }

    for (i, field) in schema.fields().iter().enumerate() {
        if is_numeric(field.data_type()) {
            if let Some(column) = table.column_mut(i) {
                column.set_cell_alignment(CellAlignment::Right);
            }
        }
    }

    let mut text = table.to_string();
    text.push('\n');
    text.push_str(&row_count_footer(total, elide.then_some(2 * ELIDED_HALF)));
    text.push('\n');
    Ok(text)
}

/// A table of plain strings in the same style, without a footer (for dot commands).
pub fn format_plain_table(header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> String {
    let mut table = Table::new();
    table.load_preset(TABLE_PRESET);
    table.set_header(header.iter().copied());
    for row in rows {
        table.add_row(row);
    }
    table.to_string()
}

/// `1 row`, `3 rows`, or `100 rows (40 shown)`.
pub fn row_count_footer(rows: usize, shown: Option<usize>) -> String {
    let noun = if rows == 1 { "row" } else { "rows" };
    match shown {
        Some(shown) => format!("{rows} {noun} ({shown} shown)"),
        None => format!("{rows} {noun}"),
    }
}

fn is_numeric(data_type: &DataType) -> bool {
    data_type.is_numeric() || matches!(data_type, DataType::Dictionary(_, v) if v.is_numeric())
}

/// A header line, then one RFC 4180 line per row; NULL is an empty field.
///
/// Values are formatted like arrow's CSV writer (the default [`FormatOptions`], NULL as
/// nothing) and quoted only when they hold a comma, a quote, `\r` or `\n`; a row of one empty
/// field is written `""` (an empty line would be skipped by readers). Large results are
/// formatted on several threads, a window of row chunks at a time, and written in order.
fn write_csv(
    out: &mut dyn Write,
    schema: &SchemaRef,
    batches: &[RecordBatch],
    header: bool,
) -> Result<()> {
    let ncols = schema.fields().len();
    if !csv_by_hand(schema) {
        return write_csv_arrow(out, schema, batches, header);
    }
    if header {
        let mut head = Vec::new();
        for (i, f) in schema.fields().iter().enumerate() {
            if i > 0 {
                head.push(b',');
            }
            push_csv_field(&mut head, f.name().as_bytes(), ncols == 1);
        }
        head.push(b'\n');
        out.write_all(&head)?;
    }

    // Row chunks of at most CSV_CHUNK_ROWS rows, in output order.
    let mut chunks: Vec<(usize, usize, usize)> = Vec::new();
    let mut total = 0;
    for (b, batch) in batches.iter().enumerate() {
        let n = batch.num_rows();
        total += n;
        let mut start = 0;
        while start < n {
            let len = CSV_CHUNK_ROWS.min(n - start);
            chunks.push((b, start, len));
            start += len;
        }
    }
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(chunks.len());
    if threads <= 1 || total < CSV_PARALLEL_ROWS {
        let mut buf = Vec::new();
        for &(b, start, len) in &chunks {
            buf.clear();
            format_csv_rows(&mut buf, &batches[b], start, len)?;
            out.write_all(&buf)?;
        }
        return Ok(());
    }
    let window = threads * 4;
    let mut bufs: Vec<Vec<u8>> = Vec::new();
    for group in chunks.chunks(window) {
        let slots: Vec<std::sync::Mutex<Vec<u8>>> = (0..group.len())
            .map(|_| {
                let mut buf = bufs.pop().unwrap_or_default();
                buf.clear();
                std::sync::Mutex::new(buf)
            })
            .collect();
        let next = std::sync::atomic::AtomicUsize::new(0);
        let first_error: std::sync::Mutex<Option<anyhow::Error>> = std::sync::Mutex::new(None);
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(&(b, start, len)) = group.get(i) else {
                        break;
                    };
                    let mut slot = slots[i].lock().unwrap_or_else(|e| e.into_inner());
                    if let Err(e) = format_csv_rows(&mut slot, &batches[b], start, len) {
                        let mut first = first_error.lock().unwrap_or_else(|e| e.into_inner());
                        first.get_or_insert(e);
                        break;
                    }
                });
            }
        });
        if let Some(e) = first_error.into_inner().unwrap_or_else(|e| e.into_inner()) {
            return Err(e);
        }
        for slot in slots {
            let buf = slot.into_inner().unwrap_or_else(|e| e.into_inner());
            out.write_all(&buf)?;
            bufs.push(buf);
        }
    }
    Ok(())
}

/// Rows per formatting task of the CSV writer.
const CSV_CHUNK_ROWS: usize = 16 * 1024;
/// Runs of more rows than this in one streamed batch are formatted in halves.
const CSV_SPLIT_ROWS: usize = 4 * 1024;
/// Results with fewer rows are formatted on the calling thread.
const CSV_PARALLEL_ROWS: usize = 64 * 1024;

/// One CSV field: quoted (quotes doubled) when it holds a comma, a quote, CR or LF, or when it
/// is empty and the only field of its row.
#[inline]
fn push_csv_field(buf: &mut Vec<u8>, field: &[u8], only_field: bool) {
    let needs_quotes = field
        .iter()
        .any(|&c| matches!(c, b',' | b'"' | b'\r' | b'\n'))
        || (only_field && field.is_empty());
    if !needs_quotes {
        buf.extend_from_slice(field);
        return;
    }
    buf.push(b'"');
    for &c in field {
        if c == b'"' {
            buf.push(b'"');
        }
        buf.push(c);
    }
    buf.push(b'"');
}

/// How one column of a batch is written.
enum CsvColumn<'a> {
    /// Integers, written with [`push_int`].
    Int(Box<dyn Fn(usize) -> i64 + 'a>),
    UInt(&'a arrow::array::UInt64Array),
    /// Strings, written as they are (quoted when needed).
    Str(Box<dyn Fn(usize) -> &'a [u8] + 'a>),
    /// Anything else, through arrow's display formatter.
    Other(ArrayFormatter<'a>),
}

/// Appends `rows` rows of `batch` from `start`, each ending in `\n`.
fn format_csv_rows(
    buf: &mut Vec<u8>,
    batch: &RecordBatch,
    start: usize,
    rows: usize,
) -> Result<()> {
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{Int16Type, Int32Type, Int64Type, Int8Type};
    use arrow::datatypes::{UInt16Type, UInt32Type, UInt8Type};
    use std::fmt::Write as _;

    let options = FormatOptions::default().with_null("");
    let ncols = batch.num_columns();
    let columns = batch
        .columns()
        .iter()
        .map(|c| -> Result<(CsvColumn<'_>, &dyn Array)> {
            let col = c.as_ref();
            let kind = match c.data_type() {
                DataType::Int8 => {
                    let a = c.as_primitive::<Int8Type>();
                    CsvColumn::Int(Box::new(move |i| a.value(i) as i64))
                }
                DataType::Int16 => {
                    let a = c.as_primitive::<Int16Type>();
                    CsvColumn::Int(Box::new(move |i| a.value(i) as i64))
                }
                DataType::Int32 => {
                    let a = c.as_primitive::<Int32Type>();
                    CsvColumn::Int(Box::new(move |i| a.value(i) as i64))
                }
                DataType::Int64 => {
                    let a = c.as_primitive::<Int64Type>();
                    CsvColumn::Int(Box::new(move |i| a.value(i)))
                }
                DataType::UInt8 => {
                    let a = c.as_primitive::<UInt8Type>();
                    CsvColumn::Int(Box::new(move |i| a.value(i) as i64))
                }
                DataType::UInt16 => {
                    let a = c.as_primitive::<UInt16Type>();
                    CsvColumn::Int(Box::new(move |i| a.value(i) as i64))
                }
                DataType::UInt32 => {
                    let a = c.as_primitive::<UInt32Type>();
                    CsvColumn::Int(Box::new(move |i| a.value(i) as i64))
                }
                DataType::UInt64 => CsvColumn::UInt(c.as_primitive()),
                DataType::Utf8 => {
                    let a = c.as_string::<i32>();
                    CsvColumn::Str(Box::new(move |i| a.value(i).as_bytes()))
                }
                DataType::LargeUtf8 => {
                    let a = c.as_string::<i64>();
                    CsvColumn::Str(Box::new(move |i| a.value(i).as_bytes()))
                }
                DataType::Utf8View => {
                    let a = c.as_string_view();
                    CsvColumn::Str(Box::new(move |i| a.value(i).as_bytes()))
                }
                _ => CsvColumn::Other(
                    ArrayFormatter::try_new(col, &options)
                        .context("cannot format the result as CSV")?,
                ),
            };
            Ok((kind, col))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut text = String::new();
    for row in start..start + rows {
        for (j, (kind, col)) in columns.iter().enumerate() {
            if j > 0 {
                buf.push(b',');
            }
            let only = ncols == 1;
            if col.is_null(row) {
                if only {
                    buf.extend_from_slice(b"\"\"");
                }
                continue;
            }
            match kind {
                CsvColumn::Int(v) => push_int(buf, v(row)),
                CsvColumn::UInt(a) => {
                    let v = a.value(row);
                    match i64::try_from(v) {
                        Ok(v) => push_int(buf, v),
                        Err(_) => {
                            let _ = write!(text, "{v}");
                            buf.extend_from_slice(text.as_bytes());
                            text.clear();
                        }
                    }
                }
                CsvColumn::Str(v) => push_csv_field(buf, v(row), only),
                CsvColumn::Other(f) => {
                    text.clear();
                    f.value(row)
                        .write(&mut text)
                        .map_err(|e| anyhow::anyhow!("{e}"))
                        .with_context(|| {
                            format!(
                                "cannot format the result as CSV (row {}, column {})",
                                row + 1,
                                j + 1
                            )
                        })?;
                    push_csv_field(buf, text.as_bytes(), only);
                }
            }
        }
        buf.push(b'\n');
    }
    Ok(())
}

/// Appends the decimal digits of `v`.
#[inline]
fn push_int(buf: &mut Vec<u8>, v: i64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    let neg = v < 0;
    let mut u = v.unsigned_abs();
    loop {
        i -= 1;
        tmp[i] = b'0' + (u % 10) as u8;
        u /= 10;
        if u == 0 {
            break;
        }
    }
    if neg {
        buf.push(b'-');
    }
    buf.extend_from_slice(&tmp[i..]);
}

/// The arrow CSV writer (zero-column and nested results).
fn write_csv_arrow(
    out: &mut dyn Write,
    schema: &SchemaRef,
    batches: &[RecordBatch],
    header: bool,
) -> Result<()> {
    let empty;
    let batches = if batches.is_empty() && header {
        // The CSV writer writes its header with the first batch: give it one.
        empty = [RecordBatch::new_empty(std::sync::Arc::clone(schema))];
        &empty[..]
    } else {
        batches
    };
    for (i, batch) in batches.iter().enumerate() {
        let mut writer = arrow::csv::WriterBuilder::new()
            .with_header(i == 0 && header)
            .build(Vec::new());
        writer
            .write(batch)
            .context("cannot format the result as CSV")?;
        out.write_all(&writer.into_inner())?;
    }
    Ok(())
}

/// One JSON array holding an object per row, NULLs included as `null`.
fn write_json_array(out: &mut dyn Write, batches: &[RecordBatch]) -> Result<()> {
    let mut writer = arrow::json::WriterBuilder::new()
        .with_explicit_nulls(true)
        .build::<_, arrow::json::writer::JsonArray>(Vec::new());
    for batch in batches {
        writer
            .write(batch)
            .context("cannot format the result as JSON")?;
    }
    writer
        .finish()
        .context("cannot format the result as JSON")?;
    let mut buf = writer.into_inner();
    if buf.is_empty() {
        // No batch at all: still an (empty) array.
        buf.extend_from_slice(b"[]");
    }
    buf.push(b'\n');
    out.write_all(&buf)?;
    Ok(())
}

/// One JSON object per line, NULLs included as `null`.
fn write_ndjson(out: &mut dyn Write, batches: &[RecordBatch]) -> Result<()> {
    for batch in batches {
        let mut writer = arrow::json::WriterBuilder::new()
            .with_explicit_nulls(true)
            .build::<_, arrow::json::writer::LineDelimited>(Vec::new());
        writer
            .write(batch)
            .context("cannot format the result as JSON")?;
        writer
            .finish()
            .context("cannot format the result as JSON")?;
        out.write_all(&writer.into_inner())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{
        ArrayRef, Date32Array, Decimal128Array, Float64Array, Int64Array, StringArray,
    };
    use arrow::datatypes::{Field, Schema};

    use super::*;

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("name", DataType::Utf8, true),
            Field::new("price", DataType::Decimal128(15, 2), true),
            Field::new("day", DataType::Date32, true),
            Field::new("x", DataType::Float64, true),
        ]))
    }

    /// Rows `start..start+n`: row 1 has a NULL id, row 2 a NULL name.
    fn batch(start: i64, n: i64) -> RecordBatch {
        let rows = start..start + n;
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from_iter(
                rows.clone().map(|i| (i != 1).then_some(i)),
            )),
            Arc::new(StringArray::from_iter(
                rows.clone().map(|i| (i != 2).then(|| format!("n{i}"))),
            )),
            Arc::new(
                Decimal128Array::from_iter_values(rows.clone().map(|i| i as i128 * 1005))
                    .with_precision_and_scale(15, 2)
                    .unwrap(),
            ),
            Arc::new(Date32Array::from_iter_values(
                rows.clone().map(|i| 10957 + i as i32),
            )),
            Arc::new(Float64Array::from_iter_values(rows.map(|i| i as f64 / 4.0))),
        ];
        RecordBatch::try_new(schema(), columns).unwrap()
    }

    fn print(format: OutputFormat, batches: &[RecordBatch]) -> String {
        let mut out = Vec::new();
        print_batches(&mut out, &schema(), batches, &PrintOptions::new(format)).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn table() {
        let expected = "\
+------+------+-------+------------+------+
|   id | name | price | day        |    x |
+------+------+-------+------------+------+
|    0 | n0   |  0.00 | 2000-01-01 |  0.0 |
| NULL | n1   | 10.05 | 2000-01-02 | 0.25 |
|    2 | NULL | 20.10 | 2000-01-03 |  0.5 |
+------+------+-------+------------+------+
3 rows
";
        assert_eq!(
            print(OutputFormat::Table, &[batch(0, 2), batch(2, 1)]),
            expected
        );
    }

    #[test]
    fn table_footers() {
        let one = print(OutputFormat::Table, &[batch(5, 1)]);
        assert!(one.ends_with("+\n1 row\n"), "{one}");
        let none = print(OutputFormat::Table, &[]);
        assert!(none.contains("| id"), "{none}");
        assert!(none.ends_with("+\n0 rows\n"), "{none}");
    }

    #[test]
    fn table_elides_long_results() {
        let batches = [batch(0, 30), batch(30, 30)];
        let options = PrintOptions {
            elide_rows: true,
            ..PrintOptions::new(OutputFormat::Table)
        };
        let text = format_table(&schema(), &batches, &options).unwrap();
        assert!(text.ends_with("\n60 rows (40 shown)\n"), "{text}");
        let lines: Vec<&str> = text.lines().collect();
        // top border, header, separator, 20 rows, `…`, 20 rows, bottom border, footer
        assert_eq!(lines.len(), 3 + 20 + 1 + 20 + 1 + 1);
        assert!(lines[3].contains("n0 "));
        assert!(lines[22].contains("n19 "));
        assert!(lines[23].contains('…'));
        assert!(lines[24].contains("n40 "));
        assert!(lines[43].contains("n59 "));

        // Exactly 40 rows are not elided, and one-shot output never is.
        let text = format_table(&schema(), &batches[..1], &options).unwrap();
        assert!(text.ends_with("\n30 rows\n"));
        let all = print(OutputFormat::Table, &batches);
        assert_eq!(all.lines().count(), 3 + 60 + 1 + 1);
    }

    #[test]
    fn csv() {
        let expected = "\
id,name,price,day,x
0,n0,0.00,2000-01-01,0.0
,n1,10.05,2000-01-02,0.25
2,,20.10,2000-01-03,0.5
";
        assert_eq!(
            print(OutputFormat::Csv, &[batch(0, 2), batch(2, 1)]),
            expected
        );
        assert_eq!(print(OutputFormat::Csv, &[]), "id,name,price,day,x\n");
    }

    #[test]
    fn csv_quotes_like_rfc_4180() {
        let schema = Arc::new(Schema::new(vec![Field::new("s", DataType::Utf8, true)]));
        let column = StringArray::from(vec![Some("a,b"), Some("say \"hi\""), None, Some("")]);
        let batch = RecordBatch::try_new(Arc::clone(&schema), vec![Arc::new(column)]).unwrap();
        let mut out = Vec::new();
        print_batches(
            &mut out,
            &schema,
            &[batch],
            &PrintOptions::new(OutputFormat::Csv),
        )
        .unwrap();
        // A one-column row whose field is empty is written `""` by the csv crate (an empty
        // line would be skipped by readers), so NULL and '' look alike only in this case.
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "s\n\"a,b\"\n\"say \"\"hi\"\"\"\n\"\"\n\"\"\n"
        );
    }

    #[test]
    fn json() {
        let expected = concat!(
            r#"[{"id":0,"name":"n0","price":0.00,"day":"2000-01-01","x":0.0},"#,
            r#"{"id":null,"name":"n1","price":10.05,"day":"2000-01-02","x":0.25},"#,
            r#"{"id":2,"name":null,"price":20.10,"day":"2000-01-03","x":0.5}]"#,
            "\n"
        );
        assert_eq!(
            print(OutputFormat::Json, &[batch(0, 2), batch(2, 1)]),
            expected
        );
        assert_eq!(print(OutputFormat::Json, &[]), "[]\n");
    }

    #[test]
    fn ndjson() {
        let expected = concat!(
            r#"{"id":0,"name":"n0","price":0.00,"day":"2000-01-01","x":0.0}"#,
            "\n",
            r#"{"id":null,"name":"n1","price":10.05,"day":"2000-01-02","x":0.25}"#,
            "\n",
            r#"{"id":2,"name":null,"price":20.10,"day":"2000-01-03","x":0.5}"#,
            "\n",
        );
        assert_eq!(
            print(OutputFormat::Ndjson, &[batch(0, 2), batch(2, 1)]),
            expected
        );
        assert_eq!(print(OutputFormat::Ndjson, &[]), "");
    }

    #[test]
    fn footer() {
        assert_eq!(row_count_footer(0, None), "0 rows");
        assert_eq!(row_count_footer(1, None), "1 row");
        assert_eq!(row_count_footer(2, None), "2 rows");
        assert_eq!(row_count_footer(100, Some(40)), "100 rows (40 shown)");
    }
}
