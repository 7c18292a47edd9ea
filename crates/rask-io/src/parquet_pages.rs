//! The kept rows of fixed-width Parquet columns, read straight from their pages.
//!
//! The second pass of a filtered Parquet scan (see [`crate::parquet`]) wants a few rows of
//! each column chunk it reads. Arrow's reader, given those rows as a selection, decodes every
//! value of a page unless whole runs of it are skipped: it gathers each dictionary value,
//! widens each decimal to 128 bits, then drops the rows not kept. Here only the kept rows'
//! values are taken: a kept row's dictionary index is read straight out of its RLE or
//! bit-packed run, and a page without a kept row is not even decompressed.
//!
//! This serves flat `INT32`, `INT64`, `FLOAT` and `DOUBLE` columns without nulls, in `PLAIN`
//! or dictionary pages (v1 or v2), read as the arrow types the arrow reader gives them.
//! Anything else (another encoding, a page with nulls, a nested column) answers `None`, and
//! the caller reads that column through arrow.

use std::fs::File;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, Date32Array, Decimal128Array, Float32Array, Float64Array, Int32Array,
    Int64Array,
};
use arrow::datatypes::DataType;
use parquet::arrow::arrow_reader::ArrowReaderMetadata;
use parquet::basic::{Encoding, Type as PhysicalType};
use parquet::column::page::{Page, PageReader};
use parquet::errors::{ParquetError, Result};
use parquet::file::metadata::{ColumnChunkMetaData, RowGroupMetaData};
use parquet::file::serialized_reader::SerializedPageReader;

/// A Parquet physical type of fixed width, as its values are stored (little-endian).
trait Native: Copy {
    const WIDTH: usize;
    /// The value in `bytes` (exactly `WIDTH` of them).
    fn from_le(bytes: &[u8]) -> Self;
}

macro_rules! native {
    ($($t:ty),*) => {$(
        impl Native for $t {
            const WIDTH: usize = std::mem::size_of::<$t>();
            fn from_le(bytes: &[u8]) -> Self {
                let mut b = [0u8; std::mem::size_of::<$t>()];
                b.copy_from_slice(bytes);
                <$t>::from_le_bytes(b)
            }
        }
    )*};
}
native!(i32, i64, f32, f64);

/// The leaf of root column `root` when this module can read it as the arrow reader's type
/// for that root: a flat column of a fixed-width physical type that maps to it.
pub(crate) fn fixed_width_leaf(meta: &ArrowReaderMetadata, root: usize) -> Option<usize> {
    let schema = meta.parquet_schema();
    let leaf = (0..schema.num_columns()).find(|&l| schema.get_column_root_idx(l) == root)?;
    let descr = schema.column(leaf);
    let flat =
        descr.path().parts().len() == 1 && descr.max_rep_level() == 0 && descr.max_def_level() <= 1;
    let target = meta.schema().fields().get(root)?.data_type();
    (flat && converts(descr.physical_type(), target)).then_some(leaf)
}

/// Whether values of `physical` type become an array of `target` here.
fn converts(physical: PhysicalType, target: &DataType) -> bool {
    matches!(
        (physical, target),
        (
            PhysicalType::INT32,
            DataType::Int32 | DataType::Date32 | DataType::Decimal128(..)
        ) | (
            PhysicalType::INT64,
            DataType::Int64 | DataType::Decimal128(..)
        ) | (PhysicalType::FLOAT, DataType::Float32)
            | (PhysicalType::DOUBLE, DataType::Float64)
    )
}

/// The values of leaf column `leaf` of row group `rg` at `rows` (ascending positions in the
/// row group), as an array of `target`; `None` where a page or the chunk is of a kind this
/// module does not read (see the module's documentation).
pub(crate) fn read_rows(
    file: &File,
    rg: &RowGroupMetaData,
    leaf: usize,
    rows: &[u32],
    target: &DataType,
) -> Result<Option<ArrayRef>> {
    let chunk = rg.column(leaf);
    let descr = chunk.column_descr();
    if descr.max_rep_level() != 0 || descr.max_def_level() > 1 {
        return Ok(None);
    }
    // An optional column is read only where its statistics say it holds no null: its
    // definition levels are then skipped, and its values are one per row.
    let optional = descr.max_def_level() == 1;
    if optional && chunk.statistics().and_then(|s| s.null_count_opt()) != Some(0) {
        return Ok(None);
    }
    let chunk_rows = usize::try_from(rg.num_rows()).unwrap_or(0);
    let read = Chunk {
        file,
        chunk,
        chunk_rows,
        optional,
        rows,
    };
    fn array(a: impl Array + 'static) -> ArrayRef {
        Arc::new(a)
    }
    // `None` where a page is not one this reader decodes: arrow reads the column instead.
    Ok(match (descr.physical_type(), target) {
        (PhysicalType::INT32, DataType::Int32) => {
            read.values::<i32>()?.map(|v| array(Int32Array::from(v)))
        }
        (PhysicalType::INT32, DataType::Date32) => {
            read.values::<i32>()?.map(|v| array(Date32Array::from(v)))
        }
        (PhysicalType::INT32, DataType::Decimal128(p, s)) => read
            .values::<i32>()?
            .map(|v| decimal(v.into_iter().map(i128::from), *p, *s).map(array))
            .transpose()?,
        (PhysicalType::INT64, DataType::Int64) => {
            read.values::<i64>()?.map(|v| array(Int64Array::from(v)))
        }
        (PhysicalType::INT64, DataType::Decimal128(p, s)) => read
            .values::<i64>()?
            .map(|v| decimal(v.into_iter().map(i128::from), *p, *s).map(array))
            .transpose()?,
        (PhysicalType::FLOAT, DataType::Float32) => {
            read.values::<f32>()?.map(|v| array(Float32Array::from(v)))
        }
        (PhysicalType::DOUBLE, DataType::Float64) => {
            read.values::<f64>()?.map(|v| array(Float64Array::from(v)))
        }
        _ => None,
    })
}

fn decimal(values: impl Iterator<Item = i128>, p: u8, s: i8) -> Result<Decimal128Array> {
    Decimal128Array::from_iter_values(values)
        .with_precision_and_scale(p, s)
        .map_err(|e| ParquetError::General(e.to_string()))
}

/// One column chunk to read the values of `rows` from.
struct Chunk<'a> {
    file: &'a File,
    chunk: &'a ColumnChunkMetaData,
    chunk_rows: usize,
    optional: bool,
    rows: &'a [u32],
}

impl Chunk<'_> {
    /// The values of the rows, page by page; `None` at a page this module does not read.
    fn values<T: Native>(&self) -> Result<Option<Vec<T>>> {
        let rows = self.rows;
        let file = self
            .file
            .try_clone()
            .map_err(|e| ParquetError::External(e.into()))?;
        let mut pages =
            SerializedPageReader::new(Arc::new(file), self.chunk, self.chunk_rows, None)?;
        let mut dictionary: Option<Vec<T>> = None;
        let mut out: Vec<T> = Vec::with_capacity(rows.len());
        // `rows[next..]` are still to read; `start` is the first row of the next page.
        let mut next = 0usize;
        let mut start = 0usize;
        while next < rows.len() {
            let Some(meta) = pages.peek_next_page()? else {
                return Err(ParquetError::EOF(format!(
                    "column chunk ended at row {start}, before row {}",
                    rows[next]
                )));
            };
            if !meta.is_dict {
                if let Some(n) = meta.num_rows.or(meta.num_levels) {
                    if rows[next] as usize >= start + n {
                        pages.skip_next_page()?;
                        start += n;
                        continue;
                    }
                }
            }
            let Some(page) = pages.get_next_page()? else {
                return Err(ParquetError::EOF("column chunk ended early".into()));
            };
            let (data, values, encoding) = match &page {
                Page::DictionaryPage {
                    buf,
                    num_values,
                    encoding,
                    ..
                } => {
                    if !matches!(encoding, Encoding::PLAIN | Encoding::PLAIN_DICTIONARY) {
                        return Ok(None);
                    }
                    dictionary = Some(plain::<T>(buf, *num_values as usize)?);
                    continue;
                }
                Page::DataPage {
                    buf,
                    num_values,
                    encoding,
                    def_level_encoding,
                    ..
                } => {
                    let mut data: &[u8] = buf;
                    if self.optional {
                        // Definition levels: a 4-byte length, then the levels.
                        if *def_level_encoding != Encoding::RLE || data.len() < 4 {
                            return Ok(None);
                        }
                        let len = u32::from_le_bytes([data[0], data[1], data[2], data[3]]);
                        data = data
                            .get(4 + len as usize..)
                            .ok_or_else(|| corrupt("levels"))?;
                    }
                    (data, *num_values as usize, *encoding)
                }
                Page::DataPageV2 {
                    buf,
                    num_values,
                    encoding,
                    num_nulls,
                    def_levels_byte_len,
                    rep_levels_byte_len,
                    ..
                } => {
                    if *num_nulls != 0 {
                        return Ok(None);
                    }
                    let levels = (*def_levels_byte_len + *rep_levels_byte_len) as usize;
                    let data = buf.get(levels..).ok_or_else(|| corrupt("levels"))?;
                    (data, *num_values as usize, *encoding)
                }
            };
            let end = next + rows[next..].partition_point(|&r| (r as usize) < start + values);
            let wanted = &rows[next..end];
            let taken = match encoding {
                Encoding::PLAIN => take_plain(data, values, start, wanted, &mut out)?,
                Encoding::RLE_DICTIONARY | Encoding::PLAIN_DICTIONARY => {
                    let dictionary = dictionary
                        .as_deref()
                        .ok_or_else(|| corrupt("a dictionary page before its data pages"))?;
                    take_indexed(data, values, start, wanted, dictionary, &mut out)?
                }
                _ => false,
            };
            if !taken {
                return Ok(None);
            }
            next = end;
            start += values;
        }
        Ok(Some(out))
    }
}

fn corrupt(what: &str) -> ParquetError {
    ParquetError::General(format!("corrupt page: expected {what}"))
}

/// The `n` PLAIN values of `data`.
fn plain<T: Native>(data: &[u8], n: usize) -> Result<Vec<T>> {
    let bytes = data
        .get(..n * T::WIDTH)
        .ok_or_else(|| corrupt("the dictionary's values"))?;
    Ok(bytes.chunks_exact(T::WIDTH).map(T::from_le).collect())
}

/// Appends to `out` the values at `wanted` (rows of the row group, those from `start` on
/// being this page's) of a PLAIN page of `n` values.
fn take_plain<T: Native>(
    data: &[u8],
    n: usize,
    start: usize,
    wanted: &[u32],
    out: &mut Vec<T>,
) -> Result<bool> {
    if data.len() < n * T::WIDTH {
        return Err(corrupt("a value per row"));
    }
    for &r in wanted {
        let at = (r as usize - start) * T::WIDTH;
        out.push(T::from_le(&data[at..at + T::WIDTH]));
    }
    Ok(true)
}

/// Appends to `out` the values at `wanted` of a dictionary-encoded page of `n` values: a
/// bit width, then runs of the RLE/bit-packed hybrid encoding of the dictionary indices.
fn take_indexed<T: Native>(
    data: &[u8],
    n: usize,
    start: usize,
    wanted: &[u32],
    dictionary: &[T],
    out: &mut Vec<T>,
) -> Result<bool> {
    let Some((&width, runs)) = data.split_first() else {
        return Err(corrupt("a bit width"));
    };
    let width = width as usize;
    if width > 32 {
        return Ok(false);
    }
    let lookup = |index: u64| {
        dictionary
            .get(index as usize)
            .copied()
            .ok_or_else(|| corrupt("a dictionary index within the dictionary"))
    };
    let mut pos = 0usize;
    // First value (in the page) of the next run; next wanted row.
    let mut first = 0usize;
    let mut k = 0usize;
    while k < wanted.len() {
        if first >= n {
            return Err(corrupt("an index per row"));
        }
        let header = uleb128(runs, &mut pos)?;
        let count;
        if header & 1 == 1 {
            // Bit-packed: groups of 8 values, `width` bytes a group.
            let groups = usize::try_from(header >> 1).unwrap_or(usize::MAX);
            count = groups.saturating_mul(8);
            let len = groups.saturating_mul(width);
            let packed = runs
                .get(pos..)
                .ok_or_else(|| corrupt("bit-packed indices"))?;
            let packed = &packed[..len.min(packed.len())];
            while k < wanted.len() && (wanted[k] as usize - start) < first.saturating_add(count) {
                let j = wanted[k] as usize - start - first;
                out.push(lookup(unpack(packed, j, width))?);
                k += 1;
            }
            pos = pos.saturating_add(len);
        } else {
            // A run of one repeated index.
            count = usize::try_from(header >> 1).unwrap_or(usize::MAX);
            let bytes = width.div_ceil(8);
            let value = runs
                .get(pos..)
                .and_then(|r| r.get(..bytes))
                .ok_or_else(|| corrupt("a repeated index"))?;
            let index = value
                .iter()
                .rev()
                .fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
            pos += bytes;
            if k < wanted.len() && (wanted[k] as usize - start) < first.saturating_add(count) {
                let v = lookup(index)?;
                while k < wanted.len() && (wanted[k] as usize - start) < first.saturating_add(count)
                {
                    out.push(v);
                    k += 1;
                }
            }
        }
        if count == 0 {
            return Err(corrupt("a run of at least one value"));
        }
        first = first.saturating_add(count);
    }
    Ok(true)
}

/// Value `j` of `width` bits (at most 32) packed least significant bit first in `packed`,
/// the bytes past its end read as zeros.
fn unpack(packed: &[u8], j: usize, width: usize) -> u64 {
    if width == 0 {
        return 0;
    }
    let bit = j * width;
    let byte = bit / 8;
    let mut word = [0u8; 8];
    if let Some(bytes) = packed.get(byte..) {
        let n = bytes.len().min(8);
        word[..n].copy_from_slice(&bytes[..n]);
    }
    (u64::from_le_bytes(word) >> (bit % 8)) & ((1u64 << width) - 1)
}

/// An unsigned LEB128 number at `*pos`, which moves past it.
fn uleb128(data: &[u8], pos: &mut usize) -> Result<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let &b = data.get(*pos).ok_or_else(|| corrupt("a run header"))?;
        *pos += 1;
        value |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(corrupt("a run header of at most 64 bits"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bit-packs `values` at `width` bits, least significant bit first.
    fn pack(values: &[u64], width: usize) -> Vec<u8> {
        let mut out = vec![0u8; (values.len() * width).div_ceil(8)];
        for (i, &v) in values.iter().enumerate() {
            for b in 0..width {
                if v >> b & 1 == 1 {
                    let bit = i * width + b;
                    out[bit / 8] |= 1 << (bit % 8);
                }
            }
        }
        out
    }

    #[test]
    fn unpacks_every_width() {
        for width in 1..=32usize {
            let values: Vec<u64> = (0..40u64)
                .map(|i| (i * 2_654_435_761) & ((1u64 << width) - 1))
                .collect();
            let packed = pack(&values, width);
            for (j, &v) in values.iter().enumerate() {
                assert_eq!(unpack(&packed, j, width), v, "width {width} value {j}");
            }
        }
    }

    #[test]
    fn takes_wanted_rows_from_mixed_runs() {
        // Width 3: an RLE run of 5 times index 2, then one bit-packed group of 8, then an
        // RLE run of 4 times index 7.
        let dictionary: Vec<i64> = (0..8).map(|i| i * 100).collect();
        let packed_values = [1u64, 0, 3, 4, 5, 6, 7, 2];
        let mut data = vec![3u8, 5 << 1, 2, (1 << 1) | 1];
        data.extend(pack(&packed_values, 3));
        data.extend([4 << 1, 7]);
        let all: Vec<i64> = [2, 2, 2, 2, 2]
            .iter()
            .chain(packed_values.iter())
            .chain([7, 7, 7, 7].iter())
            .map(|&i| dictionary[i as usize])
            .collect();
        // The page's rows start at row 10 of the row group.
        for wanted in [
            vec![10u32, 14, 15, 22, 26],
            (10..27).collect::<Vec<u32>>(),
            vec![26],
            vec![],
        ] {
            let mut out = Vec::new();
            assert!(take_indexed(&data, 17, 10, &wanted, &dictionary, &mut out).unwrap());
            let expected: Vec<i64> = wanted.iter().map(|&r| all[r as usize - 10]).collect();
            assert_eq!(out, expected);
        }
    }

    #[test]
    fn a_corrupt_page_is_an_error_not_a_panic() {
        let dictionary = vec![1i32, 2];
        let mut out = Vec::new();
        let valid = [1u8, 4 << 1, 1, (1 << 1) | 1, 0xff];
        assert!(take_indexed(&valid, 12, 0, &[3, 11], &dictionary, &mut out).is_ok());
        assert_eq!(out, [2, 2]);
        // An index past the dictionary.
        assert!(take_indexed(&[2u8, 4 << 1, 3], 4, 0, &[0], &dictionary, &mut out).is_err());
        // Runs ending before the page's rows do.
        assert!(take_indexed(&[1u8, 2 << 1, 0], 8, 0, &[5], &dictionary, &mut out).is_err());
        // A truncated header, a missing bit width, a short PLAIN page.
        assert!(take_indexed(&[1u8, 0x80], 8, 0, &[5], &dictionary, &mut out).is_err());
        assert!(take_indexed(&[], 8, 0, &[5], &dictionary, &mut out).is_err());
        assert!(take_plain::<i32>(&[0, 0, 0], 1, 0, &[0], &mut out).is_err());
    }

    mod files {
        use super::super::*;
        use arrow::array::{Array, RecordBatch, UInt32Array};
        use arrow::compute::take;
        use arrow::datatypes::{Field, Schema};
        use parquet::arrow::arrow_reader::{ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
        use parquet::arrow::ArrowWriter;
        use parquet::basic::Compression;
        use parquet::file::properties::{WriterProperties, WriterVersion};

        const ROWS: usize = 5000;

        /// Columns of every kind `read_rows` takes, and two it leaves to arrow (`nulls`:
        /// optional with NULLs; `text`: not fixed-width).
        fn batch() -> RecordBatch {
            let i = 0..ROWS as i64;
            let few = |k: i64| (k * 7919) % 13;
            let columns: Vec<(&str, ArrayRef, bool)> = vec![
                (
                    "i32",
                    Arc::new(Int32Array::from_iter_values(
                        i.clone().map(|k| few(k) as i32 - 6),
                    )),
                    false,
                ),
                (
                    "i64",
                    Arc::new(Int64Array::from_iter_values(i.clone().map(|k| k * k - 7))),
                    false,
                ),
                (
                    "date",
                    Arc::new(Date32Array::from_iter_values(
                        i.clone().map(|k| 9000 + few(k) as i32),
                    )),
                    false,
                ),
                (
                    "dec64",
                    Arc::new(
                        decimal(i.clone().map(|k| i128::from(few(k) * 1001 - 5000)), 15, 2)
                            .unwrap(),
                    ),
                    false,
                ),
                (
                    "dec32",
                    Arc::new(decimal(i.clone().map(|k| i128::from(k % 977)), 7, 2).unwrap()),
                    false,
                ),
                (
                    "f32",
                    Arc::new(Float32Array::from_iter_values(
                        i.clone().map(|k| few(k) as f32 / 4.0),
                    )),
                    false,
                ),
                (
                    "f64",
                    Arc::new(Float64Array::from_iter_values(
                        i.clone().map(|k| k as f64 * 0.5),
                    )),
                    false,
                ),
                (
                    "optional",
                    Arc::new(Int64Array::from_iter_values(i.clone().map(few))),
                    true,
                ),
                (
                    "nulls",
                    Arc::new(Int64Array::from_iter(
                        i.clone().map(|k| (k % 5 != 0).then_some(k)),
                    )),
                    true,
                ),
                (
                    "text",
                    Arc::new(arrow::array::StringArray::from_iter_values(
                        i.clone().map(|k| k.to_string()),
                    )),
                    false,
                ),
            ];
            let schema = Schema::new(
                columns
                    .iter()
                    .map(|(n, a, nullable)| Field::new(*n, a.data_type().clone(), *nullable))
                    .collect::<Vec<_>>(),
            );
            RecordBatch::try_new(Arc::new(schema), columns.into_iter().map(|c| c.1).collect())
                .unwrap()
        }

        /// Writer settings: dictionaries (overflowing into PLAIN pages in the second), PLAIN
        /// only, data pages v2, small pages (many a chunk), compression.
        fn writers() -> Vec<(&'static str, WriterProperties)> {
            let base = || {
                WriterProperties::builder()
                    .set_max_row_group_row_count(Some(2048))
                    .set_data_page_row_count_limit(300)
                    .set_write_batch_size(100)
            };
            vec![
                ("dictionary", base().build()),
                (
                    "dictionary overflowing into plain pages",
                    base().set_dictionary_page_size_limit(512).build(),
                ),
                (
                    "dictionary, v2 pages, zstd",
                    base()
                        .set_writer_version(WriterVersion::PARQUET_2_0)
                        .set_compression(Compression::ZSTD(Default::default()))
                        .build(),
                ),
                (
                    // Its overflowing chunks fall back to DELTA_BINARY_PACKED: arrow reads them.
                    "dictionary overflowing, v2 pages",
                    base()
                        .set_dictionary_page_size_limit(512)
                        .set_writer_version(WriterVersion::PARQUET_2_0)
                        .build(),
                ),
                (
                    "plain, snappy",
                    base()
                        .set_dictionary_enabled(false)
                        .set_compression(Compression::SNAPPY)
                        .build(),
                ),
            ]
        }

        #[test]
        fn kept_rows_equal_arrows_reading() {
            let dir = tempfile::tempdir().unwrap();
            let data = batch();
            for (name, props) in writers() {
                let path = dir
                    .path()
                    .join(format!("{}.parquet", name.replace([' ', ','], "_")));
                let mut w =
                    ArrowWriter::try_new(File::create(&path).unwrap(), data.schema(), Some(props))
                        .unwrap();
                w.write(&data).unwrap();
                w.close().unwrap();
                let file = File::open(&path).unwrap();
                let meta = ArrowReaderMetadata::load(&file, ArrowReaderOptions::new()).unwrap();
                let expected: Vec<RecordBatch> =
                    ParquetRecordBatchReaderBuilder::new_with_metadata(
                        file.try_clone().unwrap(),
                        meta.clone(),
                    )
                    .build()
                    .unwrap()
                    .collect::<std::result::Result<_, _>>()
                    .unwrap();
                let expected = arrow::compute::concat_batches(&data.schema(), &expected).unwrap();
                assert_eq!(expected, data, "{name}: arrow's reading");
                let mut first = 0usize;
                for (g, rg) in meta.metadata().row_groups().iter().enumerate() {
                    let n = rg.num_rows() as usize;
                    let selections: Vec<Vec<u32>> = vec![
                        (0..n as u32).collect(),
                        (0..n as u32)
                            .filter(|r| r.wrapping_mul(2_654_435_761u32) % 100 < 3)
                            .collect(),
                        vec![0, n as u32 - 1],
                        (700..760).collect(),
                        vec![],
                    ];
                    for (c, field) in data.schema().fields().iter().enumerate() {
                        let leaf = fixed_width_leaf(&meta, c);
                        let fixed = !matches!(field.name().as_str(), "text");
                        assert_eq!(leaf.is_some(), fixed, "{name}: {}", field.name());
                        let Some(leaf) = leaf else { continue };
                        for rows in &selections {
                            let got = read_rows(&file, rg, leaf, rows, field.data_type()).unwrap();
                            if field.name() == "nulls" {
                                assert!(got.is_none(), "{name}: a column with NULLs goes to arrow");
                                continue;
                            }
                            let encodings = rg.column(leaf).encodings().collect::<Vec<_>>();
                            let readable = encodings.iter().all(|e| {
                                matches!(
                                    e,
                                    Encoding::PLAIN
                                        | Encoding::PLAIN_DICTIONARY
                                        | Encoding::RLE_DICTIONARY
                                        | Encoding::RLE
                                )
                            });
                            let Some(got) = got else {
                                assert!(
                                    !readable,
                                    "{name}: {} not read ({encodings:?})",
                                    field.name()
                                );
                                continue;
                            };
                            let at = UInt32Array::from_iter_values(
                                rows.iter().map(|&r| r + first as u32),
                            );
                            let want = take(expected.column(c), &at, None).unwrap();
                            assert_eq!(
                                got.as_ref(),
                                want.as_ref(),
                                "{name}: {} of row group {g}",
                                field.name()
                            );
                            assert_eq!(got.data_type(), want.data_type());
                        }
                    }
                    first += n;
                }
            }
        }
    }
}
