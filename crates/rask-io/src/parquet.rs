//! Parquet: footers loaded once per file, one morsel per row group, statistics for pruning.

use std::fmt;
use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, RecordBatch, UInt64Array};
use arrow::compute::{cast_with_options, CastOptions};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::arrow_reader::statistics::StatisticsConverter;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use parquet::arrow::ProjectionMask;
use parquet::basic::Encoding;
use rask_common::{Error, Result, ScalarValue};
use rask_exec::{BatchIter, Morsel};

use crate::csv::{hive_array, io_context};
use crate::prune::ColumnStats;
use crate::scan_filter::{apply, DictionaryCache, ScanPredicate};
use crate::types::{cast_if_needed, make_batch, normalize_type, ColumnSource};

/// One Parquet file of a table, its footer parsed.
pub(crate) struct ParquetFile {
    pub path: PathBuf,
    /// Footer, with the normalised schema supplied when the reader can produce it directly.
    pub meta: ArrowReaderMetadata,
    /// The schema of the file as written (what statistics are expressed in).
    pub file_schema: SchemaRef,
}

impl fmt::Debug for ParquetFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParquetFile")
            .field("path", &self.path)
            .field("row_groups", &self.meta.metadata().num_row_groups())
            .finish()
    }
}

/// `schema` with `map` applied to every top-level type (names, nullability, metadata kept).
fn map_types(schema: &Schema, map: impl Fn(&DataType) -> DataType) -> Schema {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| f.as_ref().clone().with_data_type(map(f.data_type())))
        .collect();
    Schema::new_with_metadata(fields, schema.metadata().clone())
}

/// Only the string and binary parts of [`normalize_type`], which the reader always supports.
fn normalize_strings(dt: &DataType) -> DataType {
    match dt {
        DataType::Utf8View | DataType::LargeUtf8 => DataType::Utf8,
        DataType::LargeBinary | DataType::BinaryView => DataType::Binary,
        DataType::Dictionary(_, v) if normalize_strings(v) == DataType::Utf8 => DataType::Utf8,
        other => other.clone(),
    }
}

impl ParquetFile {
    /// Reads the footer of `path`.
    pub(crate) fn load(path: PathBuf) -> Result<Self> {
        let file = File::open(&path).map_err(|e| io_context(e, &path))?;
        let meta = ArrowReaderMetadata::load(&file, ArrowReaderOptions::new()).map_err(|e| {
            Error::Execution(format!(
                "cannot read parquet file '{}': {e}; is it a complete parquet file?",
                path.display()
            ))
        })?;
        let file_schema = Arc::clone(meta.schema());
        // Ask the reader for the engine's types where it can produce them; what it cannot is
        // cast after reading.
        let mut meta = meta;
        for map in [
            normalize_type as fn(&DataType) -> DataType,
            normalize_strings,
        ] {
            let wanted = map_types(&file_schema, map);
            if wanted == *file_schema {
                break;
            }
            let options = ArrowReaderOptions::new().with_schema(Arc::new(wanted));
            if let Ok(m) = ArrowReaderMetadata::try_new(Arc::clone(meta.metadata()), options) {
                meta = m;
                break;
            }
        }
        Ok(ParquetFile {
            path,
            meta,
            file_schema,
        })
    }

    /// Number of rows in the file.
    pub(crate) fn num_rows(&self) -> usize {
        self.meta.metadata().file_metadata().num_rows().max(0) as usize
    }

    /// Whether root column `root` (of the reader's schema) is a flat column stored
    /// dictionary-encoded in every row group, every data page using the dictionary: read as
    /// `Dictionary(Int32, Utf8)`, its strings are decoded once per column chunk. A chunk whose
    /// dictionary overflowed falls back to plain pages, which the reader would have to turn
    /// back into a dictionary row by row.
    pub(crate) fn dictionary_encoded(&self, root: usize) -> bool {
        let reader_schema = self.meta.schema();
        let Some(field) = reader_schema.fields().get(root) else {
            return false;
        };
        let name = field.name();
        let Some(leaf) = self
            .meta
            .parquet_schema()
            .columns()
            .iter()
            .position(|c| c.path().parts().len() == 1 && c.path().parts()[0] == *name)
        else {
            return false;
        };
        let metadata = self.meta.metadata();
        metadata.num_row_groups() > 0
            && metadata.row_groups().iter().all(|rg| {
                let chunk = rg.column(leaf);
                let Some(dictionary_offset) = chunk.dictionary_page_offset() else {
                    return false;
                };
                match chunk.page_encoding_stats_mask() {
                    Some(mask) => {
                        mask.is_only(Encoding::RLE_DICTIONARY)
                            || mask.is_only(Encoding::PLAIN_DICTIONARY)
                    }
                    // No page statistics: only a dictionary small beside its chunk.
                    None => {
                        (chunk.data_page_offset() - dictionary_offset) * 10
                            < chunk.compressed_size()
                    }
                }
            })
    }

    /// Number of row groups.
    pub(crate) fn num_row_groups(&self) -> usize {
        self.meta.metadata().num_row_groups()
    }

    /// Rows in row group `rg`.
    pub(crate) fn row_group_rows(&self, rg: usize) -> usize {
        self.meta.metadata().row_group(rg).num_rows().max(0) as usize
    }

    /// Statistics of column `name` per row group, in the type `table_type`. `None` when the file
    /// has no such column or the statistics cannot be read.
    pub(crate) fn row_group_stats(
        &self,
        name: &str,
        table_type: &DataType,
    ) -> Option<Vec<ColumnStats>> {
        let metadata = self.meta.metadata();
        let converter = StatisticsConverter::try_new(
            name,
            &self.file_schema,
            metadata.file_metadata().schema_descr(),
        )
        .ok()?
        .with_missing_null_counts_as_zero(false);
        let rgs = metadata.row_groups();
        let to_table = |a: ArrayRef| -> Option<ArrayRef> {
            let options = CastOptions {
                safe: true,
                format_options: Default::default(),
            };
            if a.data_type() == table_type {
                Some(a)
            } else {
                cast_with_options(&a, table_type, &options).ok()
            }
        };
        let mins = to_table(converter.row_group_mins(rgs.iter()).ok()?);
        let maxes = to_table(converter.row_group_maxes(rgs.iter()).ok()?);
        let nulls: Option<UInt64Array> = converter.row_group_null_counts(rgs.iter()).ok();
        let scalar = |a: &Option<ArrayRef>, i: usize| -> Option<ScalarValue> {
            let a = a.as_ref()?;
            if i >= a.len() || a.is_null(i) {
                return None;
            }
            ScalarValue::try_from_array(a.as_ref(), i).ok()
        };
        let float = matches!(table_type, DataType::Float64 | DataType::Float32);
        Some(
            (0..rgs.len())
                .map(|i| ColumnStats {
                    min: scalar(&mins, i),
                    max: scalar(&maxes, i),
                    null_count: nulls
                        .as_ref()
                        .filter(|n| i < n.len() && n.is_valid(i))
                        .map(|n| n.value(i)),
                    row_count: Some(rgs[i].num_rows().max(0) as u64),
                    nan_free: !float,
                })
                .collect(),
        )
    }
}

/// What every morsel of one file of a Parquet scan shares.
pub(crate) struct ParquetFileScan {
    pub file: Arc<ParquetFile>,
    /// The file's footer with the types this scan reads (string columns of dictionary-path
    /// predicates as dictionaries).
    pub meta: ArrowReaderMetadata,
    /// Filter conjuncts evaluated while reading, in order.
    pub predicates: Vec<ScanPredicate>,
    pub partition: usize,
    /// Root columns of the file read.
    pub mask: ProjectionMask,
    /// The same roots, ascending: `ColumnSource::File(i)` is `roots[i]`.
    pub roots: Vec<usize>,
    /// Where each output column comes from (`File(i)`: position in the read batch).
    pub output: Vec<ColumnSource>,
    pub out_schema: SchemaRef,
    pub hive: Arc<Vec<ScalarValue>>,
    pub batch_size: usize,
    pub limit: Option<usize>,
}

/// One row group of one Parquet file.
pub(crate) struct ParquetMorsel {
    pub scan: Arc<ParquetFileScan>,
    pub row_group: usize,
}

impl fmt::Debug for ParquetMorsel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParquetMorsel")
            .field("path", &self.scan.file.path)
            .field("partition", &self.scan.partition)
            .field("row_group", &self.row_group)
            .finish()
    }
}

impl Morsel for ParquetMorsel {
    fn open(&self) -> Result<BatchIter> {
        let scan = Arc::clone(&self.scan);
        let path = &scan.file.path;
        let file = File::open(path).map_err(|e| io_context(e, path))?;
        let mut builder =
            ParquetRecordBatchReaderBuilder::new_with_metadata(file, scan.meta.clone())
                .with_row_groups(vec![self.row_group])
                .with_projection(scan.mask.clone())
                .with_batch_size(scan.batch_size);
        if let Some(limit) = scan.limit {
            builder = builder.with_limit(limit);
        }
        let rg = self.row_group;
        let read_error = move |path: &PathBuf, e: String| {
            Error::Execution(format!(
                "failed to read parquet file '{}' (row group {rg}): {e}",
                path.display()
            ))
        };
        let reader = builder
            .build()
            .map_err(|e| read_error(path, e.to_string()))?;
        let mut caches: Vec<DictionaryCache> = vec![None; scan.predicates.len()];
        Ok(Box::new(reader.map(move |batch| {
            let batch = batch.map_err(|e| read_error(&scan.file.path, e.to_string()))?;
            let batch = apply(&scan.predicates, &mut caches, batch)?;
            assemble(&scan, &batch).map_err(|e| read_error(&scan.file.path, e.to_string()))
        })))
    }

    fn partition(&self) -> usize {
        self.scan.partition
    }
}

/// The output batch of `scan` from a batch the reader returned.
fn assemble(scan: &ParquetFileScan, batch: &RecordBatch) -> Result<RecordBatch> {
    let rows = batch.num_rows();
    let columns = scan
        .output
        .iter()
        .zip(scan.out_schema.fields())
        .map(|(src, field)| match src {
            ColumnSource::File(i) => cast_if_needed(batch.column(*i), field.data_type()),
            ColumnSource::Hive(i) => hive_array(&scan.hive[*i], field.data_type(), rows),
        })
        .collect::<Result<Vec<_>>>()?;
    make_batch(&scan.out_schema, columns, rows)
}
