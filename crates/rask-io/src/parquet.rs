//! Parquet: footers loaded once per file, one morsel per row group, statistics for pruning.

use std::fmt;
use std::fs::File;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use arrow::array::{
    new_empty_array, Array, ArrayRef, BooleanArray, BooleanBufferBuilder, RecordBatch, UInt64Array,
};
use arrow::buffer::BooleanBuffer;
use arrow::compute::{cast_with_options, concat, concat_batches, filter_record_batch, CastOptions};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::error::ArrowError;
use parquet::arrow::arrow_reader::statistics::StatisticsConverter;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReader,
    ParquetRecordBatchReaderBuilder, RowSelection,
};
use parquet::arrow::ProjectionMask;
use parquet::basic::Encoding;
use rask_common::{internal_err, Error, Result, ScalarValue};
use rask_exec::join::runtime_filter::{FilterUsefulness, RuntimeFilter, RuntimeFilterSlot};
use rask_exec::{BatchIter, Morsel};

use crate::csv::{hive_array, io_context};
use crate::parquet_pages;
use crate::prune::ColumnStats;
use crate::scan_filter::{apply, select, DictionaryCache, ScanPredicate};
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
    /// What each of `predicates` kept so far, over every file of the scan.
    pub shares: Vec<Arc<KeptShare>>,
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
    /// What the first passes of the scan's row groups kept (see [`ParquetMorsel`]).
    pub first_pass: Arc<FirstPass>,
}

/// Rows read and kept by the first passes of a scan's row groups, counting every row as kept
/// where the second pass could not skip. Once they kept more than [`FirstPass::SPARSE`] of
/// their rows, later row groups are read in one pass: the second pass would decode nearly
/// every row anyway, and two passes cost more than one (TPC-H Q1 keeps 98% of `lineitem`).
#[derive(Debug, Default)]
pub(crate) struct FirstPass {
    /// Rows read and kept (or not skipped) by the first passes.
    passes: KeptShare,
    /// Rows each group of the scan's conjuncts tested and kept, in whichever stage it was,
    /// by the table columns the group reads ([`ScanPredicate::key`]).
    conjuncts: Mutex<Vec<(Vec<usize>, Arc<KeptShare>)>>,
}

/// Rows tested and kept, counted by the threads of a scan.
#[derive(Debug, Default)]
pub(crate) struct KeptShare {
    rows: AtomicU64,
    kept: AtomicU64,
}

impl KeptShare {
    fn record(&self, rows: usize, kept: usize) {
        self.rows.fetch_add(rows as u64, Ordering::Relaxed);
        self.kept.fetch_add(kept as u64, Ordering::Relaxed);
    }

    /// The share of the rows tested that were kept; `None` before any.
    fn share(&self) -> Option<f64> {
        let rows = self.rows.load(Ordering::Relaxed);
        (rows > 0).then(|| self.kept.load(Ordering::Relaxed) as f64 / rows as f64)
    }
}

impl FirstPass {
    /// Largest share of rows kept for which the second pass skips the others (on TPC-H
    /// scale 1, 0.05 to 1 gave the same total; never skipping, 6% more).
    const SPARSE: f64 = 0.25;
    /// Fewest rows per selected run for skipping: arrow decodes every row and filters below
    /// 32 rows per skip or read.
    const RUN_ROWS: usize = 64;

    fn sparse(rows: usize, kept: usize) -> bool {
        kept as f64 <= Self::SPARSE * rows as f64
    }

    /// Whether a second pass over `rows` rows skips those not kept: few kept, in long runs.
    fn skips(rows: usize, kept: usize, runs: usize) -> bool {
        Self::sparse(rows, kept) && rows >= Self::RUN_ROWS * runs
    }

    fn record(&self, rows: usize, kept: usize) {
        self.passes.record(rows, kept);
    }

    /// Where the conjuncts on the table columns `key` count what they keep.
    pub(crate) fn conjunct_share(&self, key: &[usize]) -> Arc<KeptShare> {
        let mut shares = self.conjuncts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, share)) = shares.iter().find(|(k, _)| k == key) {
            return Arc::clone(share);
        }
        let share = Arc::new(KeptShare::default());
        shares.push((key.to_vec(), Arc::clone(&share)));
        share
    }

    /// Whether the first passes so far kept few enough rows for two passes to pay.
    fn pays(&self) -> bool {
        self.passes.share().is_none_or(|kept| kept <= Self::SPARSE)
    }
}

/// A join's runtime filter on one output column of a Parquet scan, which the scan applies
/// while reading (see [`ParquetMorsel`]); shared by the morsels of one source.
#[derive(Debug)]
pub(crate) struct ScanRuntimeFilter {
    /// Column of the scan's output.
    pub column: usize,
    pub slot: RuntimeFilterSlot,
    /// The column's `(min, max)` per morsel of the source, in the `i64` form of integer-like
    /// keys: row groups whose range holds no build key are skipped.
    pub ranges: Vec<Option<(i64, i64)>>,
    pub usefulness: FilterUsefulness,
}

/// One row group of one Parquet file.
///
/// With filter conjuncts or published runtime filters, a row group is read in stages
/// ([`Stage`]): each group of conjuncts on the same columns is one, each column that runtime
/// filters alone test another. The stage that pays most (see [`ParquetMorsel::stages`]) is
/// read first, every row, through arrow; each later stage's columns not read yet are read
/// only for the rows kept so far, and tested on them; then the other columns, for the rows
/// kept (TPC-H Q6 reads `l_shipdate` for every row, `l_discount` for the 15% it keeps, ...). Only the kept rows' values of fixed-width
/// columns are read ([`parquet_pages`]); other columns go through arrow with a
/// [`RowSelection`] (arrow skips runs of rows not kept). So a filter that keeps 5% of
/// `lineitem` spares decoding 95% of the columns it does not test. Without either, one pass.
pub(crate) struct ParquetMorsel {
    pub scan: Arc<ParquetFileScan>,
    pub row_group: usize,
    /// Runtime filters to apply (those published when the morsels were listed).
    pub filters: Vec<Arc<ScanRuntimeFilter>>,
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

/// A runtime filter to test on a read batch: the filter, the column's position among the
/// scan's roots, its output type, and where to count what it keeps.
type ActiveFilter<'a> = (
    Arc<RuntimeFilter>,
    usize,
    &'a DataType,
    &'a FilterUsefulness,
);

impl ParquetMorsel {
    fn read_error(&self, e: impl fmt::Display) -> Error {
        read_error(&self.scan, self.row_group, e)
    }

    /// A reader of the scan's roots at `positions` (ascending) of this row group.
    fn reader(
        &self,
        positions: &[usize],
        selection: Option<RowSelection>,
    ) -> Result<ParquetRecordBatchReader> {
        let scan = &self.scan;
        let path = &scan.file.path;
        let file = File::open(path).map_err(|e| io_context(e, path))?;
        let mask = ProjectionMask::roots(
            scan.meta.parquet_schema(),
            positions.iter().map(|&p| scan.roots[p]),
        );
        let mut builder =
            ParquetRecordBatchReaderBuilder::new_with_metadata(file, scan.meta.clone())
                .with_row_groups(vec![self.row_group])
                .with_projection(mask)
                .with_batch_size(scan.batch_size);
        if let Some(limit) = scan.limit {
            builder = builder.with_limit(limit);
        }
        if let Some(selection) = selection {
            builder = builder.with_row_selection(selection);
        }
        builder.build().map_err(|e| self.read_error(e))
    }

    /// The runtime filters published and still useful, on file columns.
    fn active_filters(&self) -> Vec<ActiveFilter<'_>> {
        let scan = &self.scan;
        self.filters
            .iter()
            .filter(|f| !f.usefulness.is_off())
            .filter_map(|f| {
                let ColumnSource::File(p) = scan.output.get(f.column)? else {
                    return None;
                };
                let field = scan.out_schema.fields().get(f.column)?;
                Some((f.slot.get()?, *p, field.data_type(), &f.usefulness))
            })
            .collect()
    }

    /// The filters of a scan as stages (see [`ParquetMorsel`]): one per group of conjuncts
    /// (with the runtime filters on its columns), one per column that runtime filters alone
    /// test. First the stage whose cost per row over the share of rows it drops is the
    /// smallest (the order that reads least for independent filters), where a column is cost
    /// 1 when it is fixed-width or read as a dictionary, 3 otherwise (strings), and a stage
    /// not seen yet drops half; on ties runtime filters first (a join's build keys usually
    /// keep few rows), then the conjuncts in their order (cheapest first).
    fn stages(&self, filters: &[ActiveFilter<'_>]) -> Vec<Stage> {
        let scan = &self.scan;
        let mut stages: Vec<Stage> = Vec::new();
        for (i, p) in scan.predicates.iter().enumerate() {
            let mut columns = p.columns.clone();
            columns.sort_unstable();
            columns.dedup();
            match stages.iter_mut().find(|s| s.columns == columns) {
                Some(s) => s.conjuncts.push(i),
                None => stages.push(Stage {
                    columns,
                    conjuncts: vec![i],
                    filters: Vec::new(),
                }),
            }
        }
        // Runtime filters on a column some conjuncts read are tested with them.
        let mut alone: Vec<Stage> = Vec::new();
        for (i, f) in filters.iter().enumerate() {
            if let Some(s) = stages
                .iter_mut()
                .find(|s| s.columns.binary_search(&f.1).is_ok())
            {
                s.filters.push(i);
            } else if let Some(s) = alone.iter_mut().find(|s| s.columns == [f.1]) {
                s.filters.push(i);
            } else {
                alone.push(Stage {
                    columns: vec![f.1],
                    conjuncts: Vec::new(),
                    filters: vec![i],
                });
            }
        }
        alone.extend(stages);
        let stages = alone;
        let dictionary_read = |p: usize| {
            scan.predicates
                .iter()
                .any(|q| q.dictionary && q.columns.first() == Some(&p))
        };
        let rank = |s: &Stage| {
            let conjuncts = s
                .conjuncts
                .iter()
                .filter_map(|&i| scan.shares.get(i)?.share());
            let filters = s.filters.iter().filter_map(|&i| filters[i].3.kept_share());
            let kept = conjuncts
                .chain(filters)
                .fold(None, |k: Option<f64>, s| Some(k.unwrap_or(1.0) * s))
                .unwrap_or(0.5);
            let cost: f64 = s
                .columns
                .iter()
                .map(|&p| {
                    let fixed = parquet_pages::fixed_width_leaf(&scan.meta, scan.roots[p]);
                    if fixed.is_some() || dictionary_read(p) {
                        1.0
                    } else {
                        3.0
                    }
                })
                .sum();
            cost / (1.0 - kept).max(1e-3)
        };
        let mut ranked: Vec<(f64, Stage)> = stages.into_iter().map(|s| (rank(&s), s)).collect();
        ranked.sort_by(|a, b| a.0.total_cmp(&b.0));
        ranked.into_iter().map(|(_, s)| s).collect()
    }

    /// The conjuncts of `stage` bound to a batch of its columns, and where each counts what
    /// it keeps.
    fn stage_predicates(&self, stage: &Stage) -> (Vec<ScanPredicate>, Vec<Arc<KeptShare>>) {
        let scan = &self.scan;
        let chosen: Vec<ScanPredicate> = stage
            .conjuncts
            .iter()
            .filter_map(|&i| scan.predicates.get(i).cloned())
            .collect();
        let shares = stage
            .conjuncts
            .iter()
            .filter_map(|&i| scan.shares.get(i).cloned())
            .collect();
        (bind_to(&chosen, &stage.columns), shares)
    }

    /// Root `p`'s values at `rows` (ascending) of this row group of `rg_rows` rows: from its
    /// pages where it is a fixed-width column (see [`parquet_pages`]), else through arrow.
    fn read_kept(&self, file: &File, p: usize, rows: &[u32], rg_rows: usize) -> Result<ArrayRef> {
        let scan = &self.scan;
        let root = scan.roots[p];
        if let Some(leaf) = parquet_pages::fixed_width_leaf(&scan.meta, root) {
            let row_group = scan.meta.metadata().row_group(self.row_group);
            let target = scan.meta.schema().field(root).data_type();
            if let Some(column) = parquet_pages::read_rows(file, row_group, leaf, rows, target)
                .map_err(|e| self.read_error(e))?
            {
                return Ok(column);
            }
        }
        let mut bits = BooleanBufferBuilder::new(rg_rows);
        bits.append_n(rg_rows, false);
        for &r in rows {
            bits.set_bit(r as usize, true);
        }
        let selection = RowSelection::from_filters(&[BooleanArray::new(bits.finish(), None)]);
        let batches = self
            .reader(&[p], Some(selection))?
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| self.read_error(e))?;
        let arrays: Vec<&dyn Array> = batches.iter().map(|b| b.column(0).as_ref()).collect();
        let column = if arrays.is_empty() {
            new_empty_array(scan.meta.schema().field(root).data_type())
        } else {
            concat(&arrays)?
        };
        if column.len() != rows.len() {
            return internal_err!(
                "parquet second pass read {} rows, the first kept {}",
                column.len(),
                rows.len()
            );
        }
        Ok(column)
    }

    /// The stages after the first, then the other columns, each read for the rows kept so
    /// far (see [`ParquetMorsel`]). `first` are the first stage's columns; `masks` and `kept`
    /// what it kept of each batch of the `rg_rows` rows.
    fn open_staged(
        &self,
        first: &[usize],
        masks: &[(Option<BooleanBuffer>, usize)],
        kept: Vec<RecordBatch>,
        later: &[Stage],
        filters: &[ActiveFilter<'_>],
        rg_rows: usize,
    ) -> Result<BatchIter> {
        let scan = Arc::clone(&self.scan);
        let mut rows: Vec<u32> = Vec::new();
        let mut offset = 0usize;
        for (mask, n) in masks {
            let Ok(end) = u32::try_from(offset + n) else {
                return internal_err!("a parquet row group of over 2^32 rows");
            };
            match mask {
                Some(m) => rows.extend(m.set_indices().map(|i| (offset + i) as u32)),
                None => rows.extend(offset as u32..end),
            }
            offset += n;
        }
        let firsts = concat_batches(&kept[0].schema(), &kept)?;
        let mut columns: Vec<Option<ArrayRef>> = vec![None; scan.roots.len()];
        for (i, &p) in first.iter().enumerate() {
            columns[p] = Some(Arc::clone(firsts.column(i)));
        }
        let path = &scan.file.path;
        let file = File::open(path).map_err(|e| io_context(e, path))?;
        let reader_schema = scan.meta.schema();
        for stage in later {
            // Columns an earlier stage read are there already, for the rows kept so far.
            let read: Vec<ArrayRef> = stage
                .columns
                .iter()
                .map(|&p| match &columns[p] {
                    Some(c) => Ok(Arc::clone(c)),
                    None => self.read_kept(&file, p, &rows, rg_rows),
                })
                .collect::<Result<_>>()?;
            let n = rows.len();
            let mut keep: Option<BooleanBuffer> = None;
            if !stage.conjuncts.is_empty() {
                let fields: Vec<Field> = stage
                    .columns
                    .iter()
                    .map(|&p| reader_schema.field(scan.roots[p]).clone())
                    .collect();
                let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), read.clone())?;
                let (predicates, shares) = self.stage_predicates(stage);
                let mut caches: Vec<DictionaryCache> = vec![None; predicates.len()];
                let record = |i: usize, tested, kept| {
                    if let Some(s) = shares.get(i) {
                        s.record(tested, kept);
                    }
                };
                let (mask, _) = select(&predicates, &mut caches, batch, record)?.finish();
                keep = mask;
            }
            for &i in &stage.filters {
                let (filter, p, data_type, usefulness) = &filters[i];
                let Ok(at) = stage.columns.binary_search(p) else {
                    continue;
                };
                let column = cast_if_needed(&read[at], data_type)?;
                let Some(k) = filter.keep(&column) else {
                    continue;
                };
                usefulness.record(n, k.true_count());
                let k = match k.nulls() {
                    Some(nulls) => k.values() & nulls.inner(),
                    None => k.values().clone(),
                };
                keep = Some(match keep {
                    Some(m) => &m & &k,
                    None => k,
                });
            }
            for (&p, column) in stage.columns.iter().zip(read) {
                columns[p] = Some(column);
            }
            let Some(keep) = keep else {
                continue;
            };
            if keep.count_set_bits() == n {
                continue;
            }
            let mask = BooleanArray::new(keep, None);
            rows = rows
                .iter()
                .zip(mask.values().iter())
                .filter_map(|(&r, k)| k.then_some(r))
                .collect();
            if rows.is_empty() {
                return Ok(Box::new(std::iter::empty()));
            }
            for column in columns.iter_mut().flatten() {
                *column = arrow::compute::filter(column.as_ref(), &mask)?;
            }
        }
        let columns: Vec<ArrayRef> = columns
            .into_iter()
            .enumerate()
            .map(|(p, c)| match c {
                Some(c) => Ok(c),
                None => self.read_kept(&file, p, &rows, rg_rows),
            })
            .collect::<Result<_>>()?;
        // Only the kept rows were read: the passes paid.
        scan.first_pass.record(rg_rows, rows.len());
        let total = rows.len();
        let size = scan.batch_size.max(1);
        Ok(Box::new((0..total).step_by(size).map(move |start| {
            let n = size.min(total - start);
            let slices: Vec<ArrayRef> = columns.iter().map(|c| c.slice(start, n)).collect();
            assemble(&scan, &slices, n)
        })))
    }

    /// Two passes or more (see [`ParquetMorsel`]).
    fn open_filtered(&self, filters: Vec<ActiveFilter<'_>>) -> Result<BatchIter> {
        let scan = Arc::clone(&self.scan);
        let mut stages = self.stages(&filters);
        let later = stages.split_off(1.min(stages.len()));
        let Some(stage) = stages.pop() else {
            return internal_err!("a filtered parquet scan without filters");
        };
        let (predicates, shares) = self.stage_predicates(&stage);
        // Positions (among the scan's roots) read in the first pass: the first stage's.
        let first = stage.columns;
        let at = |p: usize| first.binary_search(&p).unwrap_or(0);
        let mut caches: Vec<DictionaryCache> = vec![None; predicates.len()];
        let mut masks: Vec<(Option<BooleanBuffer>, usize)> = Vec::new();
        let mut kept: Vec<RecordBatch> = Vec::new();
        let mut kept_rows = 0usize;
        let mut read_rows = 0usize;
        for batch in self.reader(&first, None)? {
            let batch = batch.map_err(|e| self.read_error(e))?;
            let rows = batch.num_rows();
            read_rows += rows;
            let record = |i: usize, tested, kept| {
                if let Some(s) = shares.get(i) {
                    s.record(tested, kept);
                }
            };
            let mut selection = select(&predicates, &mut caches, batch, record)?;
            for &i in &stage.filters {
                let (filter, p, data_type, usefulness) = &filters[i];
                let n = selection.batch.num_rows();
                if n == 0 {
                    break;
                }
                let column = cast_if_needed(selection.batch.column(at(*p)), data_type)?;
                let Some(keep) = filter.keep(&column) else {
                    continue;
                };
                usefulness.record(n, keep.true_count());
                selection.keep(&keep)?;
            }
            let (mask, batch) = selection.finish();
            kept_rows += batch.num_rows();
            masks.push((mask, rows));
            kept.push(batch);
        }
        let rest: Vec<usize> = (0..scan.roots.len())
            .filter(|p| first.binary_search(p).is_err())
            .collect();
        if kept_rows == 0 {
            return Ok(Box::new(std::iter::empty()));
        }
        if rest.is_empty() {
            // The first pass read every root, in order.
            return Ok(Box::new(
                kept.into_iter()
                    .filter(|b| b.num_rows() > 0)
                    .map(move |b| assemble(&scan, b.columns(), b.num_rows())),
            ));
        }
        let fixed_width = rest
            .iter()
            .all(|&p| parquet_pages::fixed_width_leaf(&scan.meta, scan.roots[p]).is_some());
        if !later.is_empty() || fixed_width {
            let kept: Vec<RecordBatch> = kept.into_iter().filter(|b| b.num_rows() > 0).collect();
            return self.open_staged(&first, &masks, kept, &later, &filters, read_rows);
        }
        let (error_scan, rg) = (Arc::clone(&scan), self.row_group);
        let read_error = move |e: ArrowError| read_error(&error_scan, rg, e);
        // Output columns in the order of the scan's roots, from the two passes.
        let combine = move |firsts: &RecordBatch, rests: &RecordBatch| {
            let columns: Vec<ArrayRef> = (0..scan.roots.len())
                .map(|p| match first.binary_search(&p) {
                    Ok(i) => Arc::clone(firsts.column(i)),
                    Err(_) => Arc::clone(rests.column(rest_index(&first, p))),
                })
                .collect();
            assemble(&scan, &columns, firsts.num_rows())
        };
        // Selected runs: arrow skips rows run by run, and decodes every row (then filters)
        // when runs are short, which is no better than one pass.
        let runs: usize = masks
            .iter()
            .map(|(m, _)| m.as_ref().map_or(1, |m| m.set_slices().count()))
            .sum();
        let skips = FirstPass::skips(read_rows, kept_rows, runs);
        self.scan
            .first_pass
            .record(read_rows, if skips { kept_rows } else { read_rows });
        // Sparse but in short runs: still through a selection (arrow then decodes and
        // filters batch by batch, and its batches stay full); later row groups take one pass.
        if !FirstPass::sparse(read_rows, kept_rows) {
            // Most rows kept: decoding the rest for every row and filtering is cheaper than
            // skipping. The second pass's batches have the first pass's sizes.
            let reader = self.reader(&rest, None)?;
            let mut first_pass = masks.into_iter().zip(kept);
            return Ok(Box::new(reader.filter_map(move |batch| {
                let ((mask, _), firsts) = first_pass.next()?;
                let step = || -> Result<Option<RecordBatch>> {
                    let batch = batch.map_err(&read_error)?;
                    if firsts.num_rows() == 0 {
                        return Ok(None);
                    }
                    let batch = match mask {
                        Some(m) => filter_record_batch(&batch, &BooleanArray::new(m, None))?,
                        None => batch,
                    };
                    combine(&firsts, &batch).map(Some)
                };
                step().transpose()
            })));
        }
        let selection = row_selection(&masks);
        let kept: Vec<RecordBatch> = kept.into_iter().filter(|b| b.num_rows() > 0).collect();
        let firsts = concat_batches(&kept[0].schema(), &kept)?;
        let mut offset = 0usize;
        let reader = self.reader(&rest, Some(selection))?;
        Ok(Box::new(reader.map(move |batch| {
            let batch = batch.map_err(&read_error)?;
            let n = batch.num_rows();
            if offset + n > firsts.num_rows() {
                return internal_err!(
                    "parquet second pass read {} rows, the first kept {}",
                    offset + n,
                    firsts.num_rows()
                );
            }
            let slice = firsts.slice(offset, n);
            offset += n;
            combine(&slice, &batch)
        })))
    }
}

/// Filters a Parquet scan tests together on the same columns (see [`ParquetMorsel`]).
struct Stage {
    /// Positions among the scan's roots, ascending.
    columns: Vec<usize>,
    /// The scan's conjuncts tested here (indices among its predicates), in order.
    conjuncts: Vec<usize>,
    /// The runtime filters tested here (indices among the active ones).
    filters: Vec<usize>,
}

/// `predicates` bound to a batch of the roots at `columns` (ascending positions among the
/// scan's roots, holding every column the predicates read).
fn bind_to(predicates: &[ScanPredicate], columns: &[usize]) -> Vec<ScanPredicate> {
    predicates
        .iter()
        .map(|p| {
            let mut p = p.clone();
            p.columns = p
                .columns
                .iter()
                .map(|c| columns.binary_search(c).unwrap_or(0))
                .collect();
            p
        })
        .collect()
}

/// The rows that first-pass masks keep (`None`: every one of the `n` rows of a batch).
fn row_selection(masks: &[(Option<BooleanBuffer>, usize)]) -> RowSelection {
    let bits: Vec<BooleanArray> = masks
        .iter()
        .map(|(m, n)| match m {
            Some(m) => BooleanArray::new(m.clone(), None),
            None => BooleanArray::new(BooleanBuffer::new_set(*n), None),
        })
        .collect();
    RowSelection::from_filters(&bits)
}

/// The error of a failed read of row group `rg` of `scan`'s file.
fn read_error(scan: &ParquetFileScan, rg: usize, e: impl fmt::Display) -> Error {
    Error::Execution(format!(
        "failed to read parquet file '{}' (row group {rg}): {e}",
        scan.file.path.display()
    ))
}

/// Position of root position `p` among the roots not in `first`.
fn rest_index(first: &[usize], p: usize) -> usize {
    p - first.partition_point(|&f| f < p)
}

impl Morsel for ParquetMorsel {
    fn open(&self) -> Result<BatchIter> {
        let filters = self.active_filters();
        if self.scan.limit.is_none()
            && (!self.scan.predicates.is_empty() || !filters.is_empty())
            && self.scan.first_pass.pays()
        {
            return self.open_filtered(filters);
        }
        let scan = Arc::clone(&self.scan);
        let all: Vec<usize> = (0..scan.roots.len()).collect();
        let reader = self.reader(&all, None)?;
        let rg = self.row_group;
        // Conjuncts come here once two passes stopped paying (see `FirstPass`).
        let mut caches: Vec<DictionaryCache> = vec![None; scan.predicates.len()];
        Ok(Box::new(reader.map(move |batch| {
            let batch = batch.map_err(|e| read_error(&scan, rg, e))?;
            let batch = apply(&scan.predicates, &mut caches, batch)?;
            assemble(&scan, batch.columns(), batch.num_rows())
        })))
    }

    fn partition(&self) -> usize {
        self.scan.partition
    }
}

/// The output batch of `scan` from the columns the reader returned (one per root, in order).
fn assemble(scan: &ParquetFileScan, read: &[ArrayRef], rows: usize) -> Result<RecordBatch> {
    let columns = scan
        .output
        .iter()
        .zip(scan.out_schema.fields())
        .map(|(src, field)| match src {
            ColumnSource::File(i) => cast_if_needed(&read[*i], field.data_type()),
            ColumnSource::Hive(i) => hive_array(&scan.hive[*i], field.data_type(), rows),
        })
        .collect::<Result<Vec<_>>>()?;
    make_batch(&scan.out_schema, columns, rows)
}
