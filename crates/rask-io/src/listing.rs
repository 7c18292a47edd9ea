//! [`ListingTable`]: a file, directory or glob resolved to an ordered list of files, one
//! partition each, with hive partition columns and pruned scans.

use std::collections::HashMap;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};
use parquet::arrow::ProjectionMask;
use rask_common::{Error, Result, ScalarValue};
use rask_exec::join::runtime_filter::{
    scalar_as_i64, FilterUsefulness, RuntimeFilter, RuntimeFilterTarget,
};
use rask_exec::source::with_dictionaries;
use rask_exec::{create_physical_expr, DataSource, MorselRef};
use rask_expr::{conjunction, Expr, PlanSchema};

use crate::csv::{
    file_morsels, io_context, resolve_schema, CsvFile, CsvOptions, CsvScanConfig, CsvSchema,
    DEFAULT_CSV_MORSEL_BYTES,
};
use crate::parquet::{FirstPass, ParquetFile, ParquetFileScan, ParquetMorsel, ScanRuntimeFilter};
use crate::prune::{compare_scalars, extract_predicates, ColumnPredicate, ColumnStats};
use crate::scan_filter::ScanPredicate;
use crate::types::{column_difference, normalize_type, ColumnSource};
use crate::write_sink::HIVE_NULL;

/// The format of a table's files, with its read options.
#[derive(Clone, Debug)]
pub enum TableFormat {
    /// Delimited text.
    Csv(CsvOptions),
    /// Apache Parquet.
    Parquet,
}

/// A table stored as files: one file, a directory (read recursively) or a glob.
///
/// Each file is one partition, in path order. Columns are the files' columns followed by hive
/// partition columns (`dir/year=2024/part.parquet` adds `year`). Building one lists the files,
/// reads every Parquet footer and infers a CSV schema from a sample of the files; scanning reads
/// nothing until a morsel is opened.
///
/// ```no_run
/// use rask_io::{CsvOptions, ListingTable, TableFormat};
/// # fn main() -> rask_common::Result<()> {
/// let orders = ListingTable::try_new(
///     "tpch/orders.tbl",
///     TableFormat::Csv(CsvOptions::default().with_header(false).with_delimiter(b'|')),
/// )?;
/// let lineitem = ListingTable::try_new_infer("tpch/lineitem/")?;
/// assert_eq!(orders.npartitions(), 1);
/// # let _ = lineitem;
/// # Ok(())
/// # }
/// ```
pub struct ListingTable {
    path: String,
    files: Vec<PathBuf>,
    format: TableFormat,
    schema: SchemaRef,
    /// The leading columns of `schema` that come from the files; the rest are hive columns.
    file_columns: usize,
    /// Per file, its value for each hive column.
    hive_values: Vec<Arc<Vec<ScalarValue>>>,
    kind: Kind,
    csv_morsel_bytes: usize,
}

enum Kind {
    Parquet(Vec<Arc<ParquetFile>>),
    Csv {
        files: Vec<Arc<CsvFile>>,
        schema: CsvSchema,
    },
}

impl fmt::Debug for ListingTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ListingTable")
            .field("path", &self.path)
            .field("format", &self.format)
            .field("files", &self.files.len())
            .field("schema", &self.schema)
            .finish()
    }
}

impl ListingTable {
    /// Lists the files of `path` and reads their schema.
    ///
    /// `path` is a file, a directory (read recursively, files sorted by path, names starting
    /// with `.` or `_` skipped) or a glob such as `data/*.parquet` or `dir/**/*.csv`.
    ///
    /// # Errors
    ///
    /// A plan error naming `path` when nothing matches; an error naming the file when a file
    /// cannot be read or the files' columns disagree.
    pub fn try_new(path: &str, format: TableFormat) -> Result<Self> {
        let (files, base) = list_files(path)?;
        Self::from_files(path, files, &base, format)
    }

    /// Like [`ListingTable::try_new`], with the format picked from the files' extensions:
    /// `.parquet`/`.pq` are Parquet; `.csv`, `.txt`, `.tsv` (tab-separated) and `.tbl` (`|`,
    /// no header), each optionally `.gz`, are CSV.
    ///
    /// # Errors
    ///
    /// When the files have different or unknown extensions.
    pub fn try_new_infer(path: &str) -> Result<Self> {
        let (files, base) = list_files(path)?;
        let mut found: Vec<(FormatGuess, &Path)> = Vec::new();
        for file in &files {
            let guess = guess_format(file).ok_or_else(|| {
                Error::Plan(format!(
                    "cannot tell the format of '{}' from its extension (expected .parquet, .pq, \
                     .csv, .tsv, .txt or .tbl, the text ones optionally .gz); read it with an \
                     explicit format (read_csv / read_parquet)",
                    file.display()
                ))
            })?;
            if !found.iter().any(|(g, _)| *g == guess) {
                found.push((guess, file));
            }
        }
        if found.len() > 1 {
            let list: Vec<String> = found
                .iter()
                .map(|(g, f)| format!("'{}' ({})", f.display(), g.describe()))
                .collect();
            return Err(Error::Plan(format!(
                "'{path}' mixes file formats: {}; read them as separate tables or narrow the path \
                 with a glob",
                list.join(", ")
            )));
        }
        let format = found
            .first()
            .map_or(TableFormat::Parquet, |(g, _)| g.format());
        Self::from_files(path, files, &base, format)
    }

    fn from_files(
        path: &str,
        files: Vec<PathBuf>,
        base: &Path,
        format: TableFormat,
    ) -> Result<Self> {
        let hive = hive_partitions(&files, base)?;
        let (kind, file_fields) = match &format {
            TableFormat::Parquet => {
                let loaded = files
                    .iter()
                    .map(|f| ParquetFile::load(f.clone()).map(Arc::new))
                    .collect::<Result<Vec<_>>>()?;
                let fields = parquet_fields(&loaded)?;
                (Kind::Parquet(loaded), fields)
            }
            TableFormat::Csv(options) => {
                let csv_files = files
                    .iter()
                    .map(|f| {
                        let size = fs::metadata(f).map_err(|e| io_context(e, f))?.len();
                        Ok(Arc::new(CsvFile::new(
                            f.clone(),
                            size,
                            options.is_compressed(f),
                        )))
                    })
                    .collect::<Result<Vec<_>>>()?;
                let schema = resolve_schema(&csv_files, options)?;
                let fields: Vec<Field> = schema.decoder.fields()[..schema.visible]
                    .iter()
                    .map(|f| f.as_ref().clone())
                    .collect();
                (
                    Kind::Csv {
                        files: csv_files,
                        schema,
                    },
                    fields,
                )
            }
        };
        let file_columns = file_fields.len();
        let mut fields = file_fields;
        // Hive keys that repeat a file column are left to the file's data.
        let keep: Vec<usize> = (0..hive.keys.len())
            .filter(|&k| !fields.iter().any(|f| f.name() == &hive.keys[k]))
            .collect();
        for &k in &keep {
            fields.push(Field::new(&hive.keys[k], hive.types[k].clone(), true));
        }
        let hive_values = hive
            .values
            .into_iter()
            .map(|vals| Arc::new(keep.iter().map(|&k| vals[k].clone()).collect()))
            .collect();
        Ok(ListingTable {
            path: path.to_string(),
            files,
            format,
            schema: Arc::new(Schema::new(fields)),
            file_columns,
            hive_values,
            kind,
            csv_morsel_bytes: DEFAULT_CSV_MORSEL_BYTES,
        })
    }

    /// Sets the size of CSV byte-range morsels (default 16 MiB).
    pub fn with_csv_morsel_bytes(mut self, bytes: usize) -> Self {
        self.csv_morsel_bytes = bytes.max(1);
        self
    }

    /// The table's columns: the files' columns, then hive partition columns.
    pub fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    /// Number of leading columns of [`ListingTable::schema`] read from the files; the rest
    /// are hive partition columns.
    pub fn file_columns(&self) -> usize {
        self.file_columns
    }

    /// Number of partitions: one per file.
    pub fn npartitions(&self) -> usize {
        self.files.len()
    }

    /// The files, in partition order.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// The format and its options.
    pub fn format(&self) -> &TableFormat {
        &self.format
    }

    /// Exact number of rows, from Parquet footers; `None` for CSV.
    pub fn num_rows(&self) -> Option<usize> {
        match &self.kind {
            Kind::Parquet(files) => Some(files.iter().map(|f| f.num_rows()).sum()),
            Kind::Csv { .. } => None,
        }
    }

    /// Smallest and largest non-null value of column `column` (an index into
    /// [`ListingTable::schema`]), from Parquet statistics or hive values; `None` when unknown.
    pub fn column_min_max(&self, column: usize) -> Option<(ScalarValue, ScalarValue)> {
        let field = self.schema.fields().get(column)?;
        if column >= self.file_columns {
            let k = column - self.file_columns;
            let stats: Vec<ColumnStats> = self
                .hive_values
                .iter()
                .map(|vals| hive_stats(&vals[k]))
                .collect();
            return combine_min_max(stats.iter());
        }
        let Kind::Parquet(files) = &self.kind else {
            return None;
        };
        let mut all = Vec::new();
        for file in files {
            all.extend(file.row_group_stats(field.name(), field.data_type())?);
        }
        combine_min_max(all.iter())
    }

    /// A source reading this table.
    ///
    /// * `projection`: indices into [`ListingTable::schema`], the output columns in that order
    ///   (`None`: all).
    /// * `filters`: predicates over unqualified column names, used only to skip files and row
    ///   groups that cannot hold a matching row; the caller still applies them.
    /// * `limit`: with no filters, reading stops early: Parquet row groups past the first
    ///   `limit` rows get no morsel, and every morsel (Parquet or CSV) stops after `limit` rows.
    ///   The total may still exceed `limit`; the caller applies the exact limit.
    /// * `batch_size`: rows per batch.
    ///
    /// # Errors
    ///
    /// A projection index out of range.
    pub fn scan(
        &self,
        projection: Option<&[usize]>,
        filters: &[Expr],
        limit: Option<usize>,
        batch_size: usize,
    ) -> Result<Arc<dyn DataSource>> {
        self.scan_filtered(projection, filters, &[], limit, batch_size)
    }

    /// Whether [`ListingTable::scan_filtered`] can evaluate `predicate` (over unqualified
    /// column names) while reading: a Parquet table, and only file columns (not hive ones).
    pub fn can_filter_in_scan(&self, predicate: &Expr) -> bool {
        if !matches!(self.kind, Kind::Parquet(_)) {
            return false;
        }
        let columns = predicate.columns();
        !columns.is_empty()
            && columns.iter().all(|c| {
                self.schema
                    .index_of(&c.name)
                    .is_ok_and(|i| i < self.file_columns)
            })
            && create_physical_expr(predicate, &PlanSchema::from_arrow(None, &self.schema)).is_ok()
    }

    /// [`ListingTable::scan`] that also keeps only the rows where every one of `row_filters`
    /// (conjuncts over unqualified column names, each accepted by
    /// [`ListingTable::can_filter_in_scan`]) is TRUE. Parquet files evaluate them while
    /// decoding: the columns of later conjuncts and the output columns are decoded only for
    /// the rows earlier conjuncts keep.
    pub fn scan_filtered(
        &self,
        projection: Option<&[usize]>,
        filters: &[Expr],
        row_filters: &[Expr],
        limit: Option<usize>,
        batch_size: usize,
    ) -> Result<Arc<dyn DataSource>> {
        if let Some(p) = row_filters.iter().find(|p| !self.can_filter_in_scan(p)) {
            return Err(Error::Internal(format!(
                "filter '{p}' cannot be evaluated in the scan of '{}'",
                self.path
            )));
        }
        let ncols = self.schema.fields().len();
        let projection: Vec<usize> = match projection {
            Some(p) => p.to_vec(),
            None => (0..ncols).collect(),
        };
        if let Some(bad) = projection.iter().find(|&&i| i >= ncols) {
            return Err(Error::Plan(format!(
                "column index {bad} is out of range for table '{}' with {ncols} columns",
                self.path
            )));
        }
        let out_schema = Arc::new(self.schema.project(&projection)?);
        let batch_size = batch_size.max(1);
        let limit = if filters.is_empty() && row_filters.is_empty() {
            limit
        } else {
            None
        };
        // predicates on known columns: (column index, predicate)
        let predicates: Vec<(usize, ColumnPredicate)> = extract_predicates(filters)
            .into_iter()
            .filter_map(|p| Some((self.schema.index_of(&p.column).ok()?, p)))
            .collect();
        let keep_file = |i: usize| -> bool {
            predicates.iter().all(|(c, p)| {
                *c < self.file_columns
                    || p.may_match(
                        self.schema.field(*c).data_type(),
                        &hive_stats(&self.hive_values[i][*c - self.file_columns]),
                    )
            })
        };
        let file_projection: Vec<usize> = {
            let mut v: Vec<usize> = projection
                .iter()
                .copied()
                .filter(|&c| c < self.file_columns)
                .collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        let hive_source = |c: usize| ColumnSource::Hive(c - self.file_columns);
        let morsels = match &self.kind {
            Kind::Parquet(files) => {
                let first_pass = Arc::new(FirstPass::default());
                let mut morsels: Vec<Arc<ParquetMorsel>> = Vec::new();
                let mut rows = 0usize;
                'files: for (i, file) in files.iter().enumerate() {
                    if !keep_file(i) {
                        continue;
                    }
                    let row_groups = self.parquet_row_groups(file, &predicates);
                    if row_groups.is_empty() {
                        continue;
                    }
                    let scan = Arc::new(self.parquet_file_scan(
                        file,
                        i,
                        &projection,
                        &file_projection,
                        &out_schema,
                        row_filters,
                        batch_size,
                        limit,
                        &first_pass,
                    )?);
                    for rg in row_groups {
                        if limit.is_some_and(|l| rows >= l) {
                            break 'files;
                        }
                        rows += file.row_group_rows(rg);
                        morsels.push(Arc::new(ParquetMorsel {
                            scan: Arc::clone(&scan),
                            row_group: rg,
                            filters: Vec::new(),
                        }));
                    }
                }
                SourceMorsels::Parquet {
                    morsels,
                    filters: Vec::new(),
                }
            }
            Kind::Csv { files, schema } => {
                let TableFormat::Csv(options) = &self.format else {
                    return Err(Error::Internal("CSV table without CSV options".into()));
                };
                let rank = |c: usize| file_projection.binary_search(&c).unwrap_or(0);
                let output = projection
                    .iter()
                    .map(|&c| {
                        if c < self.file_columns {
                            ColumnSource::File(rank(c))
                        } else {
                            hive_source(c)
                        }
                    })
                    .collect();
                let config = Arc::new(CsvScanConfig {
                    options: options.clone(),
                    schema: schema.clone(),
                    projection: file_projection.clone(),
                    output,
                    out_schema: Arc::clone(&out_schema),
                    batch_size,
                    limit,
                });
                let files = files
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| keep_file(*i))
                    .map(|(i, f)| (i, Arc::clone(f), Arc::clone(&self.hive_values[i])))
                    .collect();
                SourceMorsels::Csv {
                    files,
                    config,
                    morsel_bytes: self.csv_morsel_bytes,
                }
            }
        };
        Ok(Arc::new(ListingSource {
            table: self.path.clone(),
            schema: out_schema,
            morsels,
            predicates: row_filters.iter().map(|p| p.to_string()).collect(),
            dictionary: Vec::new(),
        }))
    }

    /// Row groups of `file` that the predicates do not rule out.
    fn parquet_row_groups(
        &self,
        file: &ParquetFile,
        predicates: &[(usize, ColumnPredicate)],
    ) -> Vec<usize> {
        let n = file.num_row_groups();
        let mut keep = vec![true; n];
        for (c, p) in predicates {
            if *c >= self.file_columns {
                continue;
            }
            let field = self.schema.field(*c);
            let Some(stats) = file.row_group_stats(field.name(), field.data_type()) else {
                continue;
            };
            for (k, s) in keep.iter_mut().zip(&stats) {
                if *k && !p.may_match(field.data_type(), s) {
                    *k = false;
                }
            }
        }
        (0..n).filter(|&rg| keep[rg]).collect()
    }

    #[allow(clippy::too_many_arguments)]
    fn parquet_file_scan(
        &self,
        file: &Arc<ParquetFile>,
        partition: usize,
        projection: &[usize],
        file_projection: &[usize],
        out_schema: &SchemaRef,
        predicates: &[Expr],
        batch_size: usize,
        limit: Option<usize>,
        first_pass: &Arc<FirstPass>,
    ) -> Result<ParquetFileScan> {
        let first_pass = Arc::clone(first_pass);
        // table column -> root column of this file
        let reader_schema = file.meta.schema();
        let root_of = |c: usize| -> Result<usize> {
            let name = self.schema.field(c).name();
            reader_schema.index_of(name).map_err(|_| {
                Error::Execution(format!(
                    "parquet file '{}' has no column '{name}'",
                    file.path.display()
                ))
            })
        };
        // The filter's columns are read too (a filter above the scan reads them from its
        // output, so they are normally projected already).
        let mut filter_columns: Vec<usize> = Vec::new();
        for p in predicates {
            for c in p.columns() {
                filter_columns.push(self.schema.index_of(&c.name)?);
            }
        }
        let mut roots: Vec<usize> = file_projection
            .iter()
            .chain(&filter_columns)
            .map(|&c| root_of(c))
            .collect::<Result<_>>()?;
        roots.sort_unstable();
        roots.dedup();
        let output = projection
            .iter()
            .map(|&c| {
                if c < self.file_columns {
                    let root = root_of(c)?;
                    Ok(ColumnSource::File(roots.binary_search(&root).unwrap_or(0)))
                } else {
                    Ok(ColumnSource::Hive(c - self.file_columns))
                }
            })
            .collect::<Result<Vec<_>>>()?;
        let mask = ProjectionMask::roots(file.meta.parquet_schema(), roots.iter().copied());
        let (meta, predicates) = self.scan_predicates(file, predicates, &root_of, &roots)?;
        let shares = predicates
            .iter()
            .map(|p| first_pass.conjunct_share(&p.key))
            .collect();
        Ok(ParquetFileScan {
            file: Arc::clone(file),
            meta,
            predicates,
            shares,
            partition,
            mask,
            roots,
            output,
            out_schema: Arc::clone(out_schema),
            hive: Arc::clone(&self.hive_values[partition]),
            batch_size,
            limit,
            first_pass,
        })
    }
}

impl ListingTable {
    /// `predicates` bound to what the reader of `file` returns, cheapest first, and the
    /// footer to read with: string columns that a conjunct reads alone, and that the file
    /// stores dictionary-encoded, are read as `Dictionary(Int32, Utf8)`.
    fn scan_predicates(
        &self,
        file: &ParquetFile,
        predicates: &[Expr],
        root_of: &dyn Fn(usize) -> Result<usize>,
        roots: &[usize],
    ) -> Result<(ArrowReaderMetadata, Vec<ScanPredicate>)> {
        let reader_schema = file.meta.schema();
        // Conjuncts on the same columns are evaluated together: (roots, table columns, conjuncts).
        let mut groups: Vec<(Vec<usize>, Vec<usize>, Vec<Expr>)> = Vec::new();
        for p in predicates {
            let mut columns: Vec<(usize, usize)> = Vec::new();
            for c in p.columns() {
                let i = self.schema.index_of(&c.name)?;
                let root = root_of(i)?;
                if !columns.iter().any(|&(r, _)| r == root) {
                    columns.push((root, i));
                }
            }
            columns.sort_unstable();
            let (group_roots, table_columns): (Vec<usize>, Vec<usize>) =
                columns.into_iter().unzip();
            match groups.iter_mut().find(|(r, _, _)| *r == group_roots) {
                Some((_, _, exprs)) => exprs.push(p.clone()),
                None => groups.push((group_roots, table_columns, vec![p.clone()])),
            }
        }
        let mut bound = Vec::with_capacity(groups.len());
        let mut dictionary_roots = Vec::new();
        for (group_roots, table_columns, exprs) in groups {
            // Nullable: the per-value path evaluates the conjunct on NULL too.
            let fields: Vec<Field> = table_columns
                .iter()
                .map(|&i| self.schema.field(i).clone().with_nullable(true))
                .collect();
            let schema = Arc::new(Schema::new(fields));
            let Some(conjuncts) = conjunction(exprs) else {
                continue;
            };
            let expr = create_physical_expr(&conjuncts, &PlanSchema::from_arrow(None, &schema))?;
            let dictionary = match (group_roots.as_slice(), table_columns.as_slice()) {
                ([root], [i]) => {
                    *self.schema.field(*i).data_type() == DataType::Utf8
                        && *reader_schema.field(*root).data_type() == DataType::Utf8
                        && file.dictionary_encoded(*root)
                }
                _ => false,
            };
            if dictionary {
                dictionary_roots.push(group_roots[0]);
            }
            let columns = group_roots
                .iter()
                .map(|r| roots.binary_search(r).unwrap_or(0))
                .collect();
            let mut key = table_columns;
            key.sort_unstable();
            let rank = if dictionary {
                0
            } else {
                group_roots.len().min(2)
            };
            bound.push((
                rank,
                ScanPredicate {
                    columns,
                    expr,
                    schema,
                    dictionary,
                    key,
                },
            ));
        }
        let mut meta = file.meta.clone();
        if !dictionary_roots.is_empty() {
            let wanted = with_dictionaries(reader_schema, &dictionary_roots);
            let options = ArrowReaderOptions::new().with_schema(Arc::new(wanted));
            match ArrowReaderMetadata::try_new(Arc::clone(file.meta.metadata()), options) {
                Ok(m) => meta = m,
                // The reader cannot read these as dictionaries: evaluate row by row.
                Err(_) => bound.iter_mut().for_each(|(_, p)| p.dictionary = false),
            }
        }
        // Cheapest first: per distinct value, then one column, then several; stable.
        bound.sort_by_key(|(rank, _)| *rank);
        Ok((meta, bound.into_iter().map(|(_, p)| p).collect()))
    }
}

/// Stats of a file's hive value: min = max = the value.
fn hive_stats(value: &ScalarValue) -> ColumnStats {
    if value.is_null() {
        ColumnStats {
            min: None,
            max: None,
            null_count: Some(1),
            row_count: Some(1),
            nan_free: true,
        }
    } else {
        ColumnStats {
            min: Some(value.clone()),
            max: Some(value.clone()),
            null_count: Some(0),
            row_count: None,
            nan_free: true,
        }
    }
}

/// Overall (min, max) of `stats`; `None` if any part holding values has unknown bounds.
fn combine_min_max<'a>(
    stats: impl Iterator<Item = &'a ColumnStats>,
) -> Option<(ScalarValue, ScalarValue)> {
    let mut min: Option<ScalarValue> = None;
    let mut max: Option<ScalarValue> = None;
    for s in stats {
        if s.row_count == Some(0) {
            continue;
        }
        if matches!((s.null_count, s.row_count), (Some(n), Some(r)) if n >= r) {
            continue;
        }
        let (lo, hi) = (s.min.clone()?, s.max.clone()?);
        min = match min {
            None => Some(lo),
            Some(m) => Some(if compare_scalars(&lo, &m)?.is_lt() {
                lo
            } else {
                m
            }),
        };
        max = match max {
            None => Some(hi),
            Some(m) => Some(if compare_scalars(&hi, &m)?.is_gt() {
                hi
            } else {
                m
            }),
        };
    }
    Some((min?, max?))
}

/// The table-level fields of Parquet files: the first file's columns, types normalised and
/// widened where files differ.
fn parquet_fields(files: &[Arc<ParquetFile>]) -> Result<Vec<Field>> {
    let Some(first) = files.first() else {
        return Ok(Vec::new());
    };
    let normalized = |f: &ParquetFile| -> Vec<Field> {
        f.file_schema
            .fields()
            .iter()
            .map(|x| Field::new(x.name(), normalize_type(x.data_type()), x.is_nullable()))
            .collect()
    };
    let names =
        |fields: &[Field]| -> Vec<String> { fields.iter().map(|f| f.name().clone()).collect() };
    let mut fields = normalized(first);
    let first_names = names(&fields);
    for file in &files[1..] {
        let other = normalized(file);
        let mut other_names = names(&other);
        let mut sorted_first = first_names.clone();
        other_names.sort();
        sorted_first.sort();
        if other_names != sorted_first {
            let (a, b) = (first.path.display(), file.path.display());
            let these = names(&other);
            return Err(Error::Plan(format!(
                "Parquet files of one table have different columns: {}. File {a} has [{}] but \
                 file {b} has [{}]; read them as separate tables, or narrow the path with a glob",
                column_difference(&first_names, &these, &a.to_string(), &b.to_string()),
                first_names.join(", "),
                these.join(", ")
            )));
        }
        for field in fields.iter_mut() {
            let Some(o) = other.iter().find(|o| o.name() == field.name()) else {
                continue;
            };
            let merged = widen(field.data_type(), o.data_type()).ok_or_else(|| {
                Error::Plan(format!(
                    "column '{}' is {} in file {} but {} in file {}; use separate tables or \
                     rewrite the files with one type",
                    field.name(),
                    field.data_type(),
                    first.path.display(),
                    o.data_type(),
                    file.path.display()
                ))
            })?;
            *field = Field::new(field.name(), merged, field.is_nullable() || o.is_nullable());
        }
    }
    Ok(fields)
}

/// A type holding values of both, for columns that differ between Parquet files.
fn widen(a: &DataType, b: &DataType) -> Option<DataType> {
    use DataType as D;
    Some(match (a, b) {
        _ if a == b => a.clone(),
        (D::Null, t) | (t, D::Null) => t.clone(),
        (D::Int32, D::Int64) | (D::Int64, D::Int32) => D::Int64,
        (D::Int32 | D::Int64, D::Float64) | (D::Float64, D::Int32 | D::Int64) => D::Float64,
        (D::Decimal128(p1, s1), D::Decimal128(p2, s2)) if s1 == s2 => {
            D::Decimal128(*p1.max(p2), *s1)
        }
        _ => return None,
    })
}

/// Hive partition keys, their types, and each file's values.
struct HivePartitions {
    keys: Vec<String>,
    types: Vec<DataType>,
    values: Vec<Vec<ScalarValue>>,
}

/// Reads `key=value` directories between `base` and each file.
fn hive_partitions(files: &[PathBuf], base: &Path) -> Result<HivePartitions> {
    let mut per_file: Vec<Vec<(String, Option<String>)>> = Vec::with_capacity(files.len());
    for file in files {
        let rel = file.strip_prefix(base).unwrap_or(file);
        let mut pairs = Vec::new();
        if let Some(parent) = rel.parent() {
            for comp in parent.components() {
                let s = comp.as_os_str().to_string_lossy();
                if let Some((k, v)) = s.split_once('=') {
                    if !k.is_empty() {
                        let v = percent_decode(v);
                        let v = (v != HIVE_NULL && !v.is_empty()).then_some(v);
                        pairs.push((percent_decode(k), v));
                    }
                }
            }
        }
        per_file.push(pairs);
    }
    let keys: Vec<String> = per_file
        .first()
        .map(|p| p.iter().map(|(k, _)| k.clone()).collect())
        .unwrap_or_default();
    for (i, pairs) in per_file.iter().enumerate() {
        let these: Vec<&String> = pairs.iter().map(|(k, _)| k).collect();
        if these.len() != keys.len() || these.iter().zip(&keys).any(|(a, b)| *a != b) {
            return Err(Error::Plan(format!(
                "hive partition directories differ: file {} has keys [{}] but file {} has [{}]; \
                 give every file the same key=value directories, or read them as separate tables",
                files[0].display(),
                keys.join(", "),
                files[i].display(),
                these
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    }
    let types: Vec<DataType> = (0..keys.len())
        .map(|k| {
            let mut any = false;
            let all_int = per_file.iter().all(|pairs| match &pairs[k].1 {
                Some(v) => {
                    any = true;
                    v.parse::<i64>().is_ok()
                }
                None => true,
            });
            if all_int && any {
                DataType::Int64
            } else {
                DataType::Utf8
            }
        })
        .collect();
    let values = per_file
        .into_iter()
        .map(|pairs| {
            pairs
                .into_iter()
                .zip(&types)
                .map(|((_, v), t)| match t {
                    DataType::Int64 => ScalarValue::Int64(v.and_then(|v| v.parse().ok())),
                    _ => ScalarValue::Utf8(v),
                })
                .collect()
        })
        .collect();
    Ok(HivePartitions {
        keys,
        types,
        values,
    })
}

/// Decodes `%XX` escapes (as Hive writes them); other text is kept.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
}

fn is_glob(path: &str) -> bool {
    path.contains(['*', '?', '['])
}

fn is_hidden(name: &str) -> bool {
    name.starts_with('.') || name.starts_with('_')
}

/// The files of `path` in order, and the directory hive partitions are read below.
fn list_files(path: &str) -> Result<(Vec<PathBuf>, PathBuf)> {
    if is_glob(path) {
        return list_glob(path);
    }
    let p = Path::new(path);
    let meta = fs::metadata(p).map_err(|e| io_context(e, p))?;
    if meta.is_file() {
        let base = p.parent().map(Path::to_path_buf).unwrap_or_default();
        return Ok((vec![p.to_path_buf()], base));
    }
    let mut files = Vec::new();
    walk(p, &mut files, 0)?;
    files.sort();
    if files.is_empty() {
        return Err(Error::Plan(format!(
            "directory '{path}' contains no data files (names starting with '.' or '_' are \
             skipped)"
        )));
    }
    Ok((files, p.to_path_buf()))
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>, depth: usize) -> Result<()> {
    if depth > 64 {
        return Err(Error::Plan(format!(
            "directory '{}' is nested too deeply (a symlink loop?)",
            dir.display()
        )));
    }
    let entries = fs::read_dir(dir).map_err(|e| io_context(e, dir))?;
    for entry in entries {
        let entry = entry.map_err(|e| io_context(e, dir))?;
        let name = entry.file_name();
        if is_hidden(&name.to_string_lossy()) {
            continue;
        }
        let path = entry.path();
        let meta = fs::metadata(&path).map_err(|e| io_context(e, &path))?;
        if meta.is_dir() {
            walk(&path, out, depth + 1)?;
        } else if meta.is_file() {
            out.push(path);
        }
    }
    Ok(())
}

fn list_glob(pattern: &str) -> Result<(Vec<PathBuf>, PathBuf)> {
    let options = glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: true,
    };
    let paths = glob::glob_with(pattern, options)
        .map_err(|e| Error::Plan(format!("invalid glob pattern '{pattern}': {e}")))?;
    // Hive directories are read below the part of the pattern without wildcards.
    let mut base = PathBuf::new();
    for comp in Path::new(pattern).components() {
        if is_glob(&comp.as_os_str().to_string_lossy()) {
            break;
        }
        base.push(comp);
    }
    // Hidden names ('.x', '_x') matched by a wildcard are skipped, as in a directory listing;
    // a pattern component that itself starts with '.' or '_' lets such names through.
    let explicit: Vec<char> = Path::new(pattern)
        .strip_prefix(&base)
        .unwrap_or(Path::new(pattern))
        .components()
        .filter_map(|c| match c {
            std::path::Component::Normal(name) => name.to_string_lossy().chars().next(),
            _ => None,
        })
        .filter(|c| *c == '.' || *c == '_')
        .collect();
    let mut files = Vec::new();
    for entry in paths {
        let path = entry.map_err(|e| {
            let p = e.path().to_path_buf();
            io_context(e.into(), &p)
        })?;
        let hidden = path
            .strip_prefix(&base)
            .unwrap_or(&path)
            .components()
            .any(|c| {
                let std::path::Component::Normal(name) = c else {
                    return false;
                };
                let name = name.to_string_lossy();
                is_hidden(&name) && !name.chars().next().is_some_and(|h| explicit.contains(&h))
            });
        if hidden {
            continue;
        }
        if path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(Error::Plan(format!("no files match '{pattern}'")));
    }
    Ok((files, base))
}

/// A format read from a file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FormatGuess {
    Parquet,
    Csv,
    Tsv,
    Tbl,
}

impl FormatGuess {
    fn format(self) -> TableFormat {
        match self {
            FormatGuess::Parquet => TableFormat::Parquet,
            FormatGuess::Csv => TableFormat::Csv(CsvOptions::default()),
            FormatGuess::Tsv => TableFormat::Csv(CsvOptions::default().with_delimiter(b'\t')),
            FormatGuess::Tbl => TableFormat::Csv(
                CsvOptions::default()
                    .with_delimiter(b'|')
                    .with_header(false),
            ),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            FormatGuess::Parquet => "Parquet",
            FormatGuess::Csv => "CSV",
            FormatGuess::Tsv => "tab-separated",
            FormatGuess::Tbl => "'|'-separated .tbl",
        }
    }
}

fn guess_format(path: &Path) -> Option<FormatGuess> {
    let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
    let (stem, gz) = match name.strip_suffix(".gz") {
        Some(s) => (s, true),
        None => (name.as_str(), false),
    };
    let ext = stem.rsplit_once('.')?.1;
    match ext {
        "parquet" | "pq" if !gz => Some(FormatGuess::Parquet),
        "csv" | "txt" => Some(FormatGuess::Csv),
        "tsv" => Some(FormatGuess::Tsv),
        "tbl" => Some(FormatGuess::Tbl),
        _ => None,
    }
}

/// The morsels of a scan: ready for Parquet, cut on demand for CSV (which may read each file
/// once to look for quote characters).
enum SourceMorsels {
    Parquet {
        morsels: Vec<Arc<ParquetMorsel>>,
        /// Runtime filters: they skip row groups by their statistics, and the morsels apply
        /// them to rows as they read them.
        filters: Vec<Arc<ScanRuntimeFilter>>,
    },
    Csv {
        files: Vec<(usize, Arc<CsvFile>, Arc<Vec<ScalarValue>>)>,
        config: Arc<CsvScanConfig>,
        morsel_bytes: usize,
    },
}

/// The [`DataSource`] of a [`ListingTable::scan`].
struct ListingSource {
    table: String,
    schema: SchemaRef,
    morsels: SourceMorsels,
    /// Filter conjuncts evaluated while reading (shown by EXPLAIN).
    predicates: Vec<String>,
    /// Columns read as dictionaries (shown by EXPLAIN).
    dictionary: Vec<String>,
}

impl fmt::Debug for ListingSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (kind, files) = match &self.morsels {
            SourceMorsels::Parquet { morsels, .. } => ("parquet", morsels.len()),
            SourceMorsels::Csv { files, .. } => ("csv", files.len()),
        };
        let mut d = f.debug_struct("ListingSource");
        d.field("table", &self.table)
            .field("kind", &kind)
            .field("parts", &files);
        if !self.predicates.is_empty() {
            d.field("filter", &self.predicates.join(" AND "));
        }
        if !self.dictionary.is_empty() {
            d.field("dictionary", &self.dictionary.join(", "));
        }
        d.finish()
    }
}

impl DataSource for ListingSource {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn with_runtime_filters(&self, filters: &[RuntimeFilterTarget]) -> Option<Arc<dyn DataSource>> {
        let SourceMorsels::Parquet {
            morsels,
            filters: published,
        } = &self.morsels
        else {
            return None;
        };
        let mut scan_filters = published.clone();
        for (column, slot) in filters {
            let field = self.schema.fields().get(*column)?;
            // Statistics per file, read once for all of its row groups.
            let mut file_stats: HashMap<*const ParquetFile, Option<Vec<ColumnStats>>> =
                HashMap::new();
            let mut per_morsel = Vec::with_capacity(morsels.len());
            for m in morsels {
                let stats = file_stats
                    .entry(Arc::as_ptr(&m.scan.file))
                    .or_insert_with(|| {
                        m.scan.file.row_group_stats(field.name(), field.data_type())
                    });
                let range = stats.as_ref().and_then(|s| {
                    let s = s.get(m.row_group)?;
                    Some((
                        scalar_as_i64(s.min.as_ref()?)?,
                        scalar_as_i64(s.max.as_ref()?)?,
                    ))
                });
                per_morsel.push(range);
            }
            scan_filters.push(Arc::new(ScanRuntimeFilter {
                column: *column,
                slot: slot.clone(),
                ranges: per_morsel,
                usefulness: FilterUsefulness::default(),
            }));
        }
        Some(Arc::new(ListingSource {
            table: self.table.clone(),
            schema: Arc::clone(&self.schema),
            morsels: SourceMorsels::Parquet {
                morsels: morsels.clone(),
                filters: scan_filters,
            },
            predicates: self.predicates.clone(),
            dictionary: self.dictionary.clone(),
        }))
    }

    fn with_dictionary_columns(&self, columns: &[usize]) -> Option<Arc<dyn DataSource>> {
        let SourceMorsels::Parquet { morsels, filters } = &self.morsels else {
            return None;
        };
        if columns.is_empty()
            || morsels.is_empty()
            || columns.iter().any(|&c| {
                self.schema.fields().get(c).map(|f| f.data_type()) != Some(&DataType::Utf8)
            })
        {
            return None;
        }
        let schema = Arc::new(with_dictionaries(&self.schema, columns));
        // One new file scan per file scan, read with those roots as dictionaries.
        let mut scans: HashMap<*const ParquetFileScan, Arc<ParquetFileScan>> = HashMap::new();
        let mut out = Vec::with_capacity(morsels.len());
        for m in morsels {
            let scan = match scans.get(&Arc::as_ptr(&m.scan)) {
                Some(s) => Arc::clone(s),
                None => {
                    let s = Arc::new(dictionary_scan(&m.scan, columns, &schema)?);
                    scans.insert(Arc::as_ptr(&m.scan), Arc::clone(&s));
                    s
                }
            };
            out.push(Arc::new(ParquetMorsel {
                scan,
                row_group: m.row_group,
                filters: Vec::new(),
            }));
        }
        Some(Arc::new(ListingSource {
            table: self.table.clone(),
            schema,
            morsels: SourceMorsels::Parquet {
                morsels: out,
                filters: filters.clone(),
            },
            predicates: self.predicates.clone(),
            dictionary: columns
                .iter()
                .map(|&c| self.schema.field(c).name().clone())
                .collect(),
        }))
    }

    fn morsels(&self) -> Result<Vec<MorselRef>> {
        match &self.morsels {
            SourceMorsels::Parquet { morsels, filters } => {
                // The runtime filters published by now: they skip row groups by their
                // statistics, and the morsels test them on rows as they read them.
                let published: Vec<(Arc<RuntimeFilter>, &Arc<ScanRuntimeFilter>)> = filters
                    .iter()
                    .filter_map(|f| Some((f.slot.get()?, f)))
                    .collect();
                let to_apply: Vec<Arc<ScanRuntimeFilter>> =
                    published.iter().map(|(_, f)| Arc::clone(f)).collect();
                Ok(morsels
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| {
                        published.iter().all(|(f, s)| match s.ranges[*i] {
                            Some((lo, hi)) => f.may_hold_range(lo, hi),
                            None => !f.is_empty(),
                        })
                    })
                    .map(|(_, m)| -> MorselRef {
                        if to_apply.is_empty() {
                            Arc::clone(m) as MorselRef
                        } else {
                            Arc::new(ParquetMorsel {
                                scan: Arc::clone(&m.scan),
                                row_group: m.row_group,
                                filters: to_apply.clone(),
                            })
                        }
                    })
                    .collect())
            }
            SourceMorsels::Csv {
                files,
                config,
                morsel_bytes,
            } => {
                let mut out: Vec<MorselRef> = Vec::new();
                for (partition, file, hive) in files {
                    for m in file_morsels(file, *partition, hive, config, *morsel_bytes)? {
                        out.push(Arc::new(m));
                    }
                }
                Ok(out)
            }
        }
    }
}

/// `scan` with its output columns `columns` read as dictionaries, and `schema` out; `None`
/// unless each comes from a column the file stores dictionary-encoded throughout.
fn dictionary_scan(
    scan: &ParquetFileScan,
    columns: &[usize],
    schema: &SchemaRef,
) -> Option<ParquetFileScan> {
    let mut dictionary_roots = Vec::with_capacity(columns.len());
    for &c in columns {
        let ColumnSource::File(i) = scan.output.get(c)? else {
            return None;
        };
        let root = *scan.roots.get(*i)?;
        if !scan.file.dictionary_encoded(root) {
            return None;
        }
        dictionary_roots.push(root);
    }
    let wanted = with_dictionaries(scan.meta.schema(), &dictionary_roots);
    let options = ArrowReaderOptions::new().with_schema(Arc::new(wanted));
    let meta = ArrowReaderMetadata::try_new(Arc::clone(scan.meta.metadata()), options).ok()?;
    Some(ParquetFileScan {
        file: Arc::clone(&scan.file),
        meta,
        predicates: scan.predicates.clone(),
        shares: scan.shares.clone(),
        partition: scan.partition,
        mask: scan.mask.clone(),
        roots: scan.roots.clone(),
        output: scan.output.clone(),
        out_schema: Arc::clone(schema),
        hive: Arc::clone(&scan.hive),
        batch_size: scan.batch_size,
        limit: scan.limit,
        first_pass: Arc::clone(&scan.first_pass),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{collect, pretty, rows, write_parquet, write_text};
    use arrow::array::{
        Array, ArrayRef, AsArray, DictionaryArray, Float32Array, Int16Array, Int64Array,
        LargeStringArray, RecordBatch, StringArray, StringViewArray, TimestampNanosecondArray,
        UInt64Array,
    };
    use arrow::datatypes::{Int32Type, TimeUnit};
    use rask_expr::{col, lit};

    fn batch(ids: std::ops::Range<i64>) -> RecordBatch {
        let names: Vec<String> = ids.clone().map(|i| format!("n{i}")).collect();
        let scores: Vec<f64> = ids.clone().map(|i| i as f64 / 2.0).collect();
        RecordBatch::try_from_iter([
            (
                "id",
                Arc::new(Int64Array::from_iter_values(ids)) as ArrayRef,
            ),
            ("name", Arc::new(StringArray::from(names)) as ArrayRef),
            (
                "score",
                Arc::new(arrow::array::Float64Array::from(scores)) as ArrayRef,
            ),
        ])
        .unwrap()
    }

    fn s(p: &Path) -> &str {
        p.to_str().unwrap()
    }

    #[test]
    fn parquet_projection_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        write_parquet(&path, &[batch(0..3)], 1000);
        let t = ListingTable::try_new(s(&path), TableFormat::Parquet).unwrap();
        assert_eq!(t.npartitions(), 1);
        assert_eq!(t.num_rows(), Some(3));
        let src = t.scan(Some(&[2, 0]), &[], None, 1024).unwrap();
        let out = collect(&src).unwrap();
        assert_eq!(
            pretty(&out),
            "+-------+----+\n| score | id |\n+-------+----+\n| 0.0   | 0  |\n| 0.5   | 1  |\n| 1.0   | 2  |\n+-------+----+"
        );
        // empty projection still counts rows
        let src = t.scan(Some(&[]), &[], None, 2).unwrap();
        let out = collect(&src).unwrap();
        assert_eq!(rows(&out), 3);
        assert_eq!(out[0].num_columns(), 0);
        // out of range
        assert!(t.scan(Some(&[3]), &[], None, 2).is_err());
    }

    #[test]
    fn directory_and_glob() {
        let dir = tempfile::tempdir().unwrap();
        write_parquet(&dir.path().join("b.parquet"), &[batch(10..12)], 1000);
        write_parquet(&dir.path().join("a.parquet"), &[batch(0..2)], 1000);
        write_parquet(&dir.path().join("sub/c.parquet"), &[batch(20..21)], 1000);
        write_text(&dir.path().join("_SUCCESS"), "");
        write_text(&dir.path().join(".hidden.parquet"), "junk");
        write_text(&dir.path().join("_tmp/x.parquet"), "junk");
        let t = ListingTable::try_new(s(dir.path()), TableFormat::Parquet).unwrap();
        let names: Vec<String> = t
            .files()
            .iter()
            .map(|f| f.strip_prefix(dir.path()).unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["a.parquet", "b.parquet", "sub/c.parquet"]);
        let out = collect(&t.scan(Some(&[0]), &[], None, 1024).unwrap()).unwrap();
        let ids: Vec<i64> = out
            .iter()
            .flat_map(|b| {
                b.column(0)
                    .as_primitive::<arrow::datatypes::Int64Type>()
                    .values()
                    .to_vec()
            })
            .collect();
        assert_eq!(ids, [0, 1, 10, 11, 20]);
        let m = t.scan(None, &[], None, 1024).unwrap().morsels().unwrap();
        assert_eq!(
            m.iter().map(|m| m.partition()).collect::<Vec<_>>(),
            [0, 1, 2]
        );

        let glob = format!("{}/*.parquet", s(dir.path()));
        let t = ListingTable::try_new(&glob, TableFormat::Parquet).unwrap();
        assert_eq!(t.npartitions(), 2);
        let glob = format!("{}/**/*.parquet", s(dir.path()));
        let t = ListingTable::try_new_infer(&glob).unwrap();
        assert_eq!(t.npartitions(), 3);
        assert!(matches!(t.format(), TableFormat::Parquet));

        let err = ListingTable::try_new(&format!("{}/*.csv", s(dir.path())), TableFormat::Parquet)
            .unwrap_err();
        assert!(err.to_string().contains("no files match"), "{err}");
        let missing = dir.path().join("nope");
        let err = ListingTable::try_new(s(&missing), TableFormat::Parquet).unwrap_err();
        assert!(matches!(err, Error::Plan(_)), "{err}");
        assert!(
            err.to_string().contains("no such file or directory"),
            "{err}"
        );
        assert!(err.to_string().contains("nope"), "{err}");
    }

    #[test]
    fn corrupt_parquet_names_file() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.parquet");
        write_text(&empty, "");
        let err = ListingTable::try_new(s(&empty), TableFormat::Parquet).unwrap_err();
        assert!(err.to_string().contains("empty.parquet"), "{err}");
        let junk = dir.path().join("junk.parquet");
        write_text(&junk, "this is not parquet at all, just some text");
        let err = ListingTable::try_new(s(&junk), TableFormat::Parquet).unwrap_err();
        assert!(err.to_string().contains("junk.parquet"), "{err}");
    }

    #[test]
    fn hive_columns_and_pruning() {
        let dir = tempfile::tempdir().unwrap();
        let mut n = 0;
        for year in [2022, 2023, 2024] {
            for month in [1, 2] {
                let p = dir
                    .path()
                    .join(format!("year={year}/month={month}/part.parquet"));
                write_parquet(&p, &[batch(n..n + 2)], 1000);
                n += 2;
            }
        }
        let p = dir
            .path()
            .join("year=__HIVE_DEFAULT_PARTITION__/month=1/part.parquet");
        write_parquet(&p, &[batch(100..101)], 1000);
        let t = ListingTable::try_new(s(dir.path()), TableFormat::Parquet).unwrap();
        let schema = t.schema();
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, ["id", "name", "score", "year", "month"]);
        assert_eq!(schema.field(3).data_type(), &DataType::Int64);
        assert_eq!(
            t.column_min_max(3),
            Some((
                ScalarValue::Int64(Some(2022)),
                ScalarValue::Int64(Some(2024))
            ))
        );

        let count = |filters: &[Expr]| -> (usize, usize) {
            let src = t.scan(Some(&[0, 3, 4]), filters, None, 1024).unwrap();
            let files = src.morsels().unwrap().len();
            (files, rows(&collect(&src).unwrap()))
        };
        assert_eq!(count(&[]), (7, 13));
        assert_eq!(count(&[col("year").eq(lit(2024i64))]), (2, 4));
        assert_eq!(count(&[col("year").gt(lit(2022i64))]), (4, 8));
        assert_eq!(
            count(&[col("year").isin(vec![lit(2022i64), lit(2024i64)])]),
            (4, 8)
        );
        assert_eq!(
            count(&[col("year").eq(lit(2024i64)).and(col("month").eq(lit(2i64)))]),
            (1, 2)
        );
        assert_eq!(count(&[col("year").is_null()]), (1, 1));
        // OR is not understood: nothing pruned
        assert_eq!(
            count(&[col("year").eq(lit(2024i64)).or(col("id").eq(lit(0i64)))]),
            (7, 13)
        );
        let out = collect(
            &t.scan(Some(&[3, 0]), &[col("year").is_null()], None, 1024)
                .unwrap(),
        )
        .unwrap();
        assert_eq!(
            pretty(&out),
            "+------+-----+\n| year | id  |\n+------+-----+\n|      | 100 |\n+------+-----+"
        );
    }

    #[test]
    fn hive_utf8_and_inconsistent() {
        let dir = tempfile::tempdir().unwrap();
        write_parquet(&dir.path().join("k=a/x.parquet"), &[batch(0..1)], 10);
        write_parquet(&dir.path().join("k=b%2Fc/x.parquet"), &[batch(1..2)], 10);
        let t = ListingTable::try_new(s(dir.path()), TableFormat::Parquet).unwrap();
        assert_eq!(t.schema().field(3).data_type(), &DataType::Utf8);
        let out = collect(
            &t.scan(Some(&[3]), &[col("k").eq(lit("b/c"))], None, 8)
                .unwrap(),
        )
        .unwrap();
        assert_eq!(pretty(&out), "+-----+\n| k   |\n+-----+\n| b/c |\n+-----+");
        write_parquet(&dir.path().join("y.parquet"), &[batch(1..2)], 10);
        let err = ListingTable::try_new(s(dir.path()), TableFormat::Parquet).unwrap_err();
        assert!(err.to_string().contains("hive partition"), "{err}");
    }

    #[test]
    fn non_nullable_dictionary_strings_are_tested_per_value() {
        // A NOT NULL string column (as TPC-H's): the per-value path evaluates the conjunct on
        // the dictionary plus a NULL slot, which its schema must allow.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let values: Vec<&str> = (0..1000).map(|i| ["MAIL", "SHIP", "AIR"][i % 3]).collect();
        let batch = RecordBatch::try_new(
            Arc::new(Schema::new(vec![Field::new("s", DataType::Utf8, false)])),
            vec![Arc::new(StringArray::from(values)) as ArrayRef],
        )
        .unwrap();
        write_parquet(&path, &[batch], 1000);
        let t = ListingTable::try_new(s(&path), TableFormat::Parquet).unwrap();
        let Kind::Parquet(files) = &t.kind else {
            panic!("not parquet")
        };
        let predicate = col("s").isin(vec![lit("MAIL"), lit("SHIP")]);
        let (meta, predicates) = t
            .scan_predicates(&files[0], &[predicate], &|c| Ok(c), &[0])
            .unwrap();
        assert!(predicates[0].dictionary);
        let file = fs::File::open(&path).unwrap();
        let batch =
            parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::new_with_metadata(
                file, meta,
            )
            .build()
            .unwrap()
            .next()
            .unwrap()
            .unwrap();
        let mask = predicates[0]
            .evaluate_dictionary(&batch, &mut None)
            .expect("the per-value path");
        assert_eq!(mask.true_count(), 667);
    }

    #[test]
    fn group_key_columns_read_as_dictionaries() {
        use arrow::compute::cast;
        use parquet::arrow::ArrowWriter;
        use parquet::file::properties::WriterProperties;
        let dir = tempfile::tempdir().unwrap();
        let schema = Arc::new(Schema::new(vec![
            Field::new("k", DataType::Utf8, true),
            Field::new("v", DataType::Int64, false),
        ]));
        let keys: Vec<Option<&str>> = (0..3000)
            .map(|i| [Some("a"), None, Some("bb"), Some("ccc")][i % 4])
            .collect();
        let batch = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![
                Arc::new(StringArray::from(keys.clone())) as ArrayRef,
                Arc::new(Int64Array::from_iter_values(0..3000)),
            ],
        )
        .unwrap();
        let write = |name: &str, dictionary: bool| {
            let path = dir.path().join(name);
            let props = WriterProperties::builder()
                .set_max_row_group_row_count(Some(1000))
                .set_dictionary_enabled(dictionary)
                .build();
            let file = fs::File::create(&path).unwrap();
            let mut w = ArrowWriter::try_new(file, Arc::clone(&schema), Some(props)).unwrap();
            w.write(&batch).unwrap();
            w.close().unwrap();
            path
        };
        let dict_path = write("dict.parquet", true);
        let plain_path = write("plain.parquet", false);

        let t = ListingTable::try_new(s(&dict_path), TableFormat::Parquet).unwrap();
        let source = t.scan(Some(&[1, 0]), &[], None, 700).unwrap();
        // Only string columns.
        assert!(source.with_dictionary_columns(&[0]).is_none());
        let dict = source
            .with_dictionary_columns(&[1])
            .expect("dictionary-encoded");
        assert!(format!("{dict:?}").contains("dictionary: \"k\""));
        let batches = collect(&dict).unwrap();
        assert_eq!(rows(&batches), 3000);
        let mut got: Vec<Option<String>> = Vec::new();
        for b in &batches {
            assert!(matches!(
                b.column(1).data_type(),
                DataType::Dictionary(_, _)
            ));
            let k = cast(b.column(1), &DataType::Utf8).unwrap();
            got.extend(k.as_string::<i32>().iter().map(|v| v.map(str::to_string)));
        }
        let want: Vec<Option<String>> = keys.iter().map(|k| k.map(str::to_string)).collect();
        assert_eq!(got, want);

        // A file that stores the column plainly: the scan stays as it is.
        let t = ListingTable::try_new(s(&plain_path), TableFormat::Parquet).unwrap();
        let source = t.scan(None, &[], None, 700).unwrap();
        assert!(source.with_dictionary_columns(&[0]).is_none());
    }

    /// Rows (id, name, score) of the batches, in order.
    fn id_name_score(batches: &[RecordBatch]) -> Vec<(i64, String, f64)> {
        let mut out = Vec::new();
        for b in batches {
            let id = b.column(0).as_primitive::<arrow::datatypes::Int64Type>();
            let name = b.column(1).as_string::<i32>();
            let score = b.column(2).as_primitive::<arrow::datatypes::Float64Type>();
            for i in 0..b.num_rows() {
                out.push((id.value(i), name.value(i).to_string(), score.value(i)));
            }
        }
        out
    }

    #[test]
    fn filters_read_in_two_passes_keep_the_right_rows() {
        use rask_exec::join::runtime_filter::{RuntimeFilter, RuntimeFilterSlot};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        write_parquet(&path, &[batch(0..20_000)], 5_000);
        let t = ListingTable::try_new(s(&path), TableFormat::Parquet).unwrap();
        let want = |keep: &dyn Fn(i64) -> bool| -> Vec<(i64, String, f64)> {
            (0..20_000)
                .filter(|&i| keep(i))
                .map(|i| (i, format!("n{i}"), i as f64 / 2.0))
                .collect()
        };
        // A long run (the second pass skips), scattered rows (arrow decodes and filters),
        // most rows (one pass after the first row group), none; conjuncts on two and three
        // columns, each a stage (a string column among them, read for the rows kept or
        // tested first), in every order a scan may pick.
        type Case = (Vec<Expr>, Box<dyn Fn(i64) -> bool>);
        let cases: Vec<Case> = vec![
            (
                vec![col("id")
                    .gt_eq(lit(6_000i64))
                    .and(col("id").lt(lit(6_400i64)))],
                Box::new(|i| (6_000..6_400).contains(&i)),
            ),
            (
                vec![col("score").lt(lit(9_000.0)).and(col("id").gt(lit(100i64)))],
                Box::new(|i| i > 100 && (i as f64 / 2.0) < 9_000.0),
            ),
            (vec![col("id").lt(lit(0i64))], Box::new(|_| false)),
            (
                vec![col("score").lt(lit(9_000.0)), col("id").gt(lit(100i64))],
                Box::new(|i| i > 100 && (i as f64 / 2.0) < 9_000.0),
            ),
            (
                vec![
                    col("score").gt_eq(lit(1_000.0)),
                    col("name").like(lit("n1%")),
                    col("id").lt(lit(15_000i64)),
                ],
                Box::new(|i| (2_000..15_000).contains(&i) && format!("n{i}").starts_with("n1")),
            ),
            (
                vec![col("name").like(lit("%7")), col("id").gt_eq(lit(19_990i64))],
                Box::new(|i| i >= 19_990 && i % 10 == 7),
            ),
        ];
        for (predicates, keep) in &cases {
            for batch_size in [1_000, 4_096] {
                let src = t
                    .scan_filtered(Some(&[0, 1, 2]), &[], predicates, None, batch_size)
                    .unwrap();
                let got = id_name_score(&collect(&src).unwrap());
                assert_eq!(
                    got,
                    want(keep.as_ref()),
                    "{predicates:?} batch {batch_size}"
                );
            }
        }
        // Published runtime filters on `id`. The scan's filtering is an optimisation (the
        // RuntimeFilterExec above it guarantees the answer): a range, in long runs, is read
        // in two passes throughout; scattered keys only in the first row group, one pass
        // after it, every row then coming through whole.
        let publish = |slot: &RuntimeFilterSlot, keys: Vec<i64>| {
            let keys: ArrayRef = Arc::new(Int64Array::from(keys));
            slot.set(RuntimeFilter::from_keys(&keys).unwrap().map(Arc::new));
        };
        let filtered_scan = || {
            let slot = RuntimeFilterSlot::default();
            let src = t.scan(Some(&[0, 1, 2]), &[], None, 2_048).unwrap();
            (
                src.with_runtime_filters(&[(0, slot.clone())]).unwrap(),
                slot,
            )
        };
        let (src, slot) = filtered_scan();
        publish(&slot, (12_345..13_000).collect());
        let got = id_name_score(&collect(&src).unwrap());
        assert_eq!(got, want(&|i| (12_345..13_000).contains(&i)));
        let (src, slot) = filtered_scan();
        publish(&slot, (0..20_000).step_by(37).collect());
        let got = id_name_score(&collect(&src).unwrap());
        let first_group = want(&|i| i < 5_000 && i % 37 == 0);
        assert_eq!(got[..first_group.len()], first_group[..]);
        assert_eq!(got[first_group.len()..], want(&|i| i >= 5_000)[..]);
    }

    #[test]
    fn runtime_filters_skip_row_groups_once_published() {
        use arrow::array::Int64Array;
        use rask_exec::join::runtime_filter::{RuntimeFilter, RuntimeFilterSlot};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        write_parquet(&path, &[batch(0..100)], 10);
        let t = ListingTable::try_new(s(&path), TableFormat::Parquet).unwrap();
        let slot = RuntimeFilterSlot::default();
        let src = t.scan(Some(&[1, 0]), &[], None, 1024).unwrap();
        let src = src.with_runtime_filters(&[(1, slot.clone())]).unwrap();
        // nothing published yet: every row group
        assert_eq!(src.morsels().unwrap().len(), 10);
        let publish = |keys: Vec<Option<i64>>| {
            let keys: ArrayRef = Arc::new(Int64Array::from(keys));
            slot.set(RuntimeFilter::from_keys(&keys).unwrap().map(Arc::new));
        };
        // few keys: only the row groups holding one
        publish(vec![Some(5), Some(57), None, Some(58)]);
        assert_eq!(src.morsels().unwrap().len(), 2);
        // a range, as a bitmap: the row groups it overlaps that hold a key
        publish(
            (30..=49)
                .map(Some)
                .chain((0..300).map(|i| Some(1000 + i)))
                .collect(),
        );
        assert_eq!(src.morsels().unwrap().len(), 2);
        // no key at all: nothing is read
        publish(vec![None]);
        assert_eq!(src.morsels().unwrap().len(), 0);
        slot.set(None);
        assert_eq!(src.morsels().unwrap().len(), 10);
        // CSV sources prune nothing (the filter operator above them still filters)
        let csv = dir.path().join("t.csv");
        fs::write(&csv, "id\n1\n").unwrap();
        let c = ListingTable::try_new_infer(s(&csv)).unwrap();
        let src = c.scan(None, &[], None, 1024).unwrap();
        assert!(src.with_runtime_filters(&[(0, slot)]).is_none());
    }

    #[test]
    fn row_group_pruning() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        write_parquet(&path, &[batch(0..100)], 10);
        let t = ListingTable::try_new(s(&path), TableFormat::Parquet).unwrap();
        let scan = |filters: &[Expr]| -> (usize, usize) {
            let src = t.scan(Some(&[0]), filters, None, 1024).unwrap();
            (src.morsels().unwrap().len(), rows(&collect(&src).unwrap()))
        };
        assert_eq!(scan(&[]), (10, 100));
        assert_eq!(scan(&[col("id").gt(lit(85i64))]), (2, 20));
        assert_eq!(scan(&[col("id").gt_eq(lit(90i64))]), (1, 10));
        assert_eq!(scan(&[lit(15i64).gt(col("id"))]), (2, 20));
        assert_eq!(scan(&[col("id").eq(lit(42i64))]), (1, 10));
        assert_eq!(scan(&[col("id").between(lit(25i64), lit(34i64))]), (2, 20));
        assert_eq!(
            scan(&[col("id").isin(vec![lit(5i64), lit(95i64)])]),
            (2, 20)
        );
        assert_eq!(
            scan(&[col("id").gt(lit(20i64)).and(col("id").lt(lit(40i64)))]),
            (2, 20)
        );
        assert_eq!(scan(&[col("id").eq(lit(1000i64))]), (0, 0));
        // strings compare bytewise: "n0".."n9" (row group 0) also brackets "n55"
        assert_eq!(scan(&[col("name").eq(lit("n55"))]), (2, 20));
        assert_eq!(scan(&[col("name").eq(lit("n35"))]), (2, 20));
        assert_eq!(scan(&[col("name").gt(lit("n95"))]), (1, 10));
        // the writer records null counts (all zero): IS NULL rules out every row group
        assert_eq!(scan(&[col("id").is_null()]), (0, 0));
        assert_eq!(scan(&[col("id").is_not_null()]), (10, 100));
        // a text literal against an Int64 column prunes nothing
        assert_eq!(scan(&[col("id").eq(lit("5"))]), (10, 100));
        // limit without filters stops early
        let src = t.scan(None, &[], Some(15), 1024).unwrap();
        assert_eq!(src.morsels().unwrap().len(), 2);
        assert_eq!(
            t.column_min_max(0),
            Some((ScalarValue::Int64(Some(0)), ScalarValue::Int64(Some(99))))
        );
        assert_eq!(
            t.column_min_max(1),
            Some((
                ScalarValue::Utf8(Some("n0".into())),
                ScalarValue::Utf8(Some("n99".into()))
            ))
        );
    }

    #[test]
    fn date_and_decimal_pruning() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let days: Vec<i32> = (0..40).map(|i| 10_000 + i * 10).collect();
        let prices: Vec<i128> = (0..40).map(|i| i * 100).collect();
        let b = RecordBatch::try_from_iter([
            (
                "d",
                Arc::new(arrow::array::Date32Array::from(days)) as ArrayRef,
            ),
            (
                "p",
                Arc::new(
                    arrow::array::Decimal128Array::from(prices)
                        .with_precision_and_scale(15, 2)
                        .unwrap(),
                ) as ArrayRef,
            ),
        ])
        .unwrap();
        write_parquet(&path, &[b], 10);
        let t = ListingTable::try_new(s(&path), TableFormat::Parquet).unwrap();
        let n = |filters: &[Expr]| {
            t.scan(None, filters, None, 64)
                .unwrap()
                .morsels()
                .unwrap()
                .len()
        };
        // day 10_100 = 1997-08-27; row groups hold days 10000..10090, 10100..10190, ...
        assert_eq!(n(&[col("d").lt(lit("1997-08-27"))]), 1);
        assert_eq!(n(&[col("d").lt(lit(ScalarValue::Date32(Some(10_100))))]), 1);
        assert_eq!(n(&[col("p").gt_eq(lit(30i64))]), 1); // 30.00 = 3000: last group only
        assert_eq!(n(&[col("p").lt(lit(0.5))]), 1);
        assert_eq!(
            n(&[col("p").eq(lit(ScalarValue::Decimal128(Some(1500), 15, 2)))]),
            1
        );
    }

    #[test]
    fn parquet_types_are_normalised() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let dict: DictionaryArray<Int32Type> = vec!["x", "y", "x"].into_iter().collect();
        let b = RecordBatch::try_from_iter([
            (
                "large",
                Arc::new(LargeStringArray::from(vec!["a", "b", "c"])) as ArrayRef,
            ),
            (
                "view",
                Arc::new(StringViewArray::from(vec!["d", "e", "f"])) as ArrayRef,
            ),
            ("dict", Arc::new(dict) as ArrayRef),
            (
                "small",
                Arc::new(Int16Array::from(vec![1, 2, 3])) as ArrayRef,
            ),
            (
                "big",
                Arc::new(UInt64Array::from(vec![4, 5, 6])) as ArrayRef,
            ),
            (
                "f",
                Arc::new(Float32Array::from(vec![1.5, 2.5, 3.5])) as ArrayRef,
            ),
            (
                "ts",
                Arc::new(
                    TimestampNanosecondArray::from(vec![
                        1_000_000_000,
                        2_000_000_000,
                        3_000_000_000,
                    ])
                    .with_timezone("UTC"),
                ) as ArrayRef,
            ),
        ])
        .unwrap();
        write_parquet(&path, &[b], 2);
        let t = ListingTable::try_new(s(&path), TableFormat::Parquet).unwrap();
        let types: Vec<DataType> = t
            .schema()
            .fields()
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        assert_eq!(
            types,
            [
                DataType::Utf8,
                DataType::Utf8,
                DataType::Utf8,
                DataType::Int32,
                DataType::Int64,
                DataType::Float64,
                DataType::Timestamp(TimeUnit::Microsecond, None),
            ]
        );
        let out = collect(&t.scan(Some(&[6, 2, 4, 0]), &[], None, 1024).unwrap()).unwrap();
        assert_eq!(
            pretty(&out),
            "+---------------------+------+-----+-------+\n\
             | ts                  | dict | big | large |\n\
             +---------------------+------+-----+-------+\n\
             | 1970-01-01T00:00:01 | x    | 4   | a     |\n\
             | 1970-01-01T00:00:02 | y    | 5   | b     |\n\
             | 1970-01-01T00:00:03 | x    | 6   | c     |\n\
             +---------------------+------+-----+-------+"
        );
        // statistics come back in the normalised types and prune
        let ts = ScalarValue::TimestampMicros(Some(2_500_000));
        let src = t.scan(None, &[col("ts").gt(lit(ts))], None, 1024).unwrap();
        assert_eq!(src.morsels().unwrap().len(), 1);
        assert_eq!(
            t.column_min_max(6),
            Some((
                ScalarValue::TimestampMicros(Some(1_000_000)),
                ScalarValue::TimestampMicros(Some(3_000_000))
            ))
        );
        let src = t
            .scan(None, &[col("dict").eq(lit("y"))], None, 1024)
            .unwrap();
        assert_eq!(src.morsels().unwrap().len(), 1);
        let _ = out[0]
            .column(0)
            .as_primitive::<arrow::datatypes::TimestampMicrosecondType>()
            .len();
    }

    #[test]
    fn parquet_files_with_different_int_widths() {
        let dir = tempfile::tempdir().unwrap();
        let a = RecordBatch::try_from_iter([(
            "x",
            Arc::new(arrow::array::Int32Array::from(vec![1])) as ArrayRef,
        )])
        .unwrap();
        let b =
            RecordBatch::try_from_iter([("x", Arc::new(Int64Array::from(vec![2])) as ArrayRef)])
                .unwrap();
        write_parquet(&dir.path().join("a.parquet"), &[a], 10);
        write_parquet(&dir.path().join("b.parquet"), &[b], 10);
        let t = ListingTable::try_new(s(dir.path()), TableFormat::Parquet).unwrap();
        assert_eq!(t.schema().field(0).data_type(), &DataType::Int64);
        let out = collect(&t.scan(None, &[], None, 1024).unwrap()).unwrap();
        assert_eq!(rows(&out), 2);
        let c =
            RecordBatch::try_from_iter([("y", Arc::new(Int64Array::from(vec![2])) as ArrayRef)])
                .unwrap();
        write_parquet(&dir.path().join("c.parquet"), &[c], 10);
        let err = ListingTable::try_new(s(dir.path()), TableFormat::Parquet).unwrap_err();
        let msg = err.to_string();
        for part in ["a.parquet", "c.parquet", "'x'"] {
            assert!(msg.contains(part), "{part} not in: {msg}");
        }
    }

    #[test]
    fn infer_format_from_extensions() {
        let dir = tempfile::tempdir().unwrap();
        write_text(
            &dir.path().join("t.tbl"),
            "1|a|1998-01-02|\n2|b|1998-01-03|\n",
        );
        let t = ListingTable::try_new_infer(s(&dir.path().join("t.tbl"))).unwrap();
        let schema = t.schema();
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        // the empty field after the trailing '|' is hidden
        assert_eq!(names, ["column_1", "column_2", "column_3"]);
        assert_eq!(schema.field(2).data_type(), &DataType::Date32);
        let out = collect(&t.scan(Some(&[2, 0]), &[], None, 1024).unwrap()).unwrap();
        assert_eq!(
            pretty(&out),
            "+------------+----------+\n| column_3   | column_1 |\n+------------+----------+\n| 1998-01-02 | 1        |\n| 1998-01-03 | 2        |\n+------------+----------+"
        );
        write_text(&dir.path().join("d/a.tsv"), "x\ty\n1\t2\n");
        let t = ListingTable::try_new_infer(s(&dir.path().join("d"))).unwrap();
        assert_eq!(t.schema().fields().len(), 2);
        write_text(&dir.path().join("d/b.csv"), "x,y\n1,2\n");
        let err = ListingTable::try_new_infer(s(&dir.path().join("d"))).unwrap_err();
        assert!(err.to_string().contains("mixes file formats"), "{err}");
        write_text(&dir.path().join("e/a.json"), "{}");
        let err = ListingTable::try_new_infer(s(&dir.path().join("e"))).unwrap_err();
        assert!(err.to_string().contains("a.json"), "{err}");
    }

    #[test]
    fn tbl_with_explicit_schema_and_trailing_delimiter() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("orders.tbl");
        write_text(&path, "1|12.50|1998-01-02|\n2|3.25|1998-01-03|\n");
        let schema = Arc::new(Schema::new(vec![
            Field::new("o_id", DataType::Int64, false),
            Field::new("o_price", DataType::Decimal128(15, 2), false),
            Field::new("o_date", DataType::Date32, false),
        ]));
        let options = CsvOptions::default()
            .with_header(false)
            .with_delimiter(b'|')
            .with_schema(schema);
        let t = ListingTable::try_new(s(&path), TableFormat::Csv(options)).unwrap();
        assert_eq!(t.schema().fields().len(), 3);
        let f = col("o_date").lt(lit("1998-01-03"));
        let out = collect(&t.scan(Some(&[1, 2]), &[f], None, 1024).unwrap()).unwrap();
        assert_eq!(
            pretty(&out),
            "+---------+------------+\n| o_price | o_date     |\n+---------+------------+\n| 12.50   | 1998-01-02 |\n| 3.25    | 1998-01-03 |\n+---------+------------+"
        );
        let _ = out[0]
            .column(0)
            .as_any()
            .downcast_ref::<arrow::array::Decimal128Array>()
            .unwrap();
    }
}

/// Checks against the TPC-H SF 0.01 data committed under `datasets/`.
#[cfg(test)]
mod dataset_tests {
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{DataType, Int64Type};
    use rask_expr::{col, lit};

    use super::*;
    use crate::test_util::collect;

    const LINEITEM_ROWS: usize = 60_175;

    fn dataset(rel: &str) -> String {
        format!("{}/../../datasets/{rel}", env!("CARGO_MANIFEST_DIR"))
    }

    /// Rows and the sum of `l_orderkey` of a full scan.
    fn rows_and_key_sum(t: &ListingTable) -> (usize, i64) {
        let key = t.schema().index_of("l_orderkey").unwrap();
        let out = collect(&t.scan(Some(&[key]), &[], None, 8192).unwrap()).unwrap();
        let rows = out.iter().map(|b| b.num_rows()).sum();
        let sum = out
            .iter()
            .flat_map(|b| b.column(0).as_primitive::<Int64Type>().values().to_vec())
            .sum();
        (rows, sum)
    }

    #[test]
    fn listing_table_is_send_sync_debug() {
        fn check<T: Send + Sync + fmt::Debug>() {}
        check::<ListingTable>();
        check::<TableFormat>();
    }

    #[test]
    fn tpch_lineitem_parquet_and_csv_agree() {
        let pq = ListingTable::try_new_infer(&dataset("tpch-sf0.01/lineitem")).unwrap();
        assert_eq!(pq.npartitions(), 2);
        assert_eq!(pq.num_rows(), Some(LINEITEM_ROWS));
        let csv = ListingTable::try_new(
            &dataset("tpch-sf0.01-csv/lineitem"),
            TableFormat::Csv(CsvOptions::default()),
        )
        .unwrap()
        .with_csv_morsel_bytes(256 * 1024);
        assert_eq!(csv.npartitions(), 2);
        assert_eq!(csv.num_rows(), None);
        let names = |t: &ListingTable| -> Vec<String> {
            t.schema()
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect()
        };
        assert_eq!(names(&pq), names(&csv));
        assert_eq!(names(&pq).len(), 16);

        // strings come out as Utf8 (the files hold Utf8View), in the schema and the batches
        for t in [&pq, &csv] {
            let schema = t.schema();
            for name in ["l_returnflag", "l_shipinstruct", "l_comment"] {
                assert_eq!(
                    schema.field_with_name(name).unwrap().data_type(),
                    &DataType::Utf8
                );
            }
            let out = collect(&t.scan(None, &[], Some(10), 1024).unwrap()).unwrap();
            for b in &out {
                for (f, c) in b.schema().fields().iter().zip(b.columns()) {
                    assert_eq!(f.data_type(), c.data_type());
                    assert!(!matches!(
                        c.data_type(),
                        DataType::Utf8View | DataType::LargeUtf8 | DataType::BinaryView
                    ));
                }
            }
        }
        assert_eq!(
            pq.schema()
                .field_with_name("l_extendedprice")
                .unwrap()
                .data_type(),
            &DataType::Decimal128(15, 2)
        );
        assert_eq!(
            csv.schema()
                .field_with_name("l_shipdate")
                .unwrap()
                .data_type(),
            &DataType::Date32
        );

        // the CSV files are cut into several line-aligned morsels despite their quotes
        let morsels = csv.scan(None, &[], None, 8192).unwrap().morsels().unwrap();
        assert!(morsels.len() > 4, "{}", morsels.len());
        let (pq_rows, pq_sum) = rows_and_key_sum(&pq);
        assert_eq!(pq_rows, LINEITEM_ROWS);
        assert_eq!(rows_and_key_sum(&csv), (pq_rows, pq_sum));

        // full rows read back identically (first and last rows of the table)
        let pq_all = collect(&pq.scan(None, &[], None, 8192).unwrap()).unwrap();
        let csv_all = collect(&csv.scan(None, &[], None, 8192).unwrap()).unwrap();
        let comment = pq.schema().index_of("l_comment").unwrap();
        let first = |b: &[arrow::array::RecordBatch]| {
            b[0].column(comment).as_string::<i32>().value(0).to_string()
        };
        let last = |b: &[arrow::array::RecordBatch]| {
            let c = b[b.len() - 1].column(comment).as_string::<i32>();
            c.value(c.len() - 1).to_string()
        };
        assert_eq!(first(&pq_all), first(&csv_all));
        assert_eq!(last(&pq_all), last(&csv_all));

        // statistics: shipdate bounds, and pruning by them
        let (lo, hi) = pq
            .column_min_max(pq.schema().index_of("l_shipdate").unwrap())
            .unwrap();
        assert!(
            matches!((&lo, &hi), (ScalarValue::Date32(Some(a)), ScalarValue::Date32(Some(b))) if a < b)
        );
        let none = pq
            .scan(None, &[col("l_shipdate").lt(lit("1900-01-01"))], None, 8192)
            .unwrap();
        assert!(none.morsels().unwrap().is_empty());
    }
}
