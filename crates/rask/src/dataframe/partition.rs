//! DataFrame methods: the partition model (Dask's `repartition`, `shuffle`,
//! `map_partitions`, `persist`, `set_index` with divisions, `reset_index`).
//!
//! A frame's rows live in ordered partitions. `repartition` and `shuffle` add a
//! [`LogicalPlan::Repartition`] node, run by the engine's one `ShuffleExec` (spilling past the
//! memory limit); `map_partitions` adds a [`LogicalPlan::MapPartitions`] node. `persist` and
//! `set_index` run the plan at once (their nature needs the data) and return a frame over a
//! [`PersistedTable`] that later plans scan without recomputing.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, RecordBatch};
use arrow::compute::{concat, sort_to_indices, take_record_batch, SortOptions};
use arrow::datatypes::{DataType, SchemaRef};
use rask_common::{plan_err, Result, ScalarValue};
use rask_exec::map_partitions::MaterializeExec;
use rask_exec::SpillManager;
use rask_expr::{
    col, LogicalPlan, LogicalPlanBuilder, MapPartitions, Repartition, RepartitionScheme,
};

use super::DataFrame;
use crate::persist::{IndexInfo, PersistedTable};

/// Rows sampled by [`DataFrame::repartition_by_size`] to measure the bytes of a row.
const SIZE_SAMPLE_ROWS: usize = 10_000;

impl DataFrame {
    fn repartitioned(&self, scheme: RepartitionScheme) -> Result<DataFrame> {
        let node = Repartition::try_new(Arc::clone(&self.plan), scheme)?;
        Ok(self.with_plan(Arc::new(LogicalPlan::Repartition(node))))
    }

    /// Redistributes the rows into `npartitions` partitions of nearly equal row counts,
    /// keeping their order (Dask's `repartition(npartitions=n)`). Lazy: a shuffle in the plan.
    ///
    /// ```
    /// use rask::{ColumnData, SessionContext};
    /// # fn main() -> rask::Result<()> {
    /// let ctx = SessionContext::new();
    /// let df = ctx.from_columns(vec![("a", ColumnData::from(vec![1i64, 2, 3, 4, 5]))])?;
    /// let parts = df.repartition(2)?;
    /// assert_eq!(parts.npartitions(), 2);
    /// let sizes: Vec<usize> = parts
    ///     .collect_partitions()?
    ///     .iter()
    ///     .map(|p| p.iter().map(|b| b.num_rows()).sum())
    ///     .collect();
    /// assert_eq!(sizes, vec![3, 2]);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// When `npartitions` is 0.
    pub fn repartition(&self, npartitions: usize) -> Result<DataFrame> {
        if npartitions == 0 {
            return plan_err!("repartition: npartitions must be at least 1");
        }
        self.repartitioned(RepartitionScheme::RoundRobin(npartitions))
    }

    /// Repartitions so that each partition holds about `partition_size` bytes in memory
    /// (Dask's `repartition(partition_size=...)`), rows in order.
    ///
    /// The size is an estimate, computed eagerly as Dask does: the bytes of a row are measured
    /// on the first 10,000 rows (Arrow memory of the batches: fixed-width values, string
    /// bytes and offsets, validity); the row count comes from metadata when the frame is a
    /// plain scan (Parquet footers, in-memory tables) and is otherwise counted, which runs the
    /// plan. The partition count is `ceil(rows * bytes_per_row / partition_size)`, at least 1.
    ///
    /// ```
    /// use rask::{ColumnData, SessionContext};
    /// # fn main() -> rask::Result<()> {
    /// let ctx = SessionContext::new();
    /// let df = ctx.from_columns(vec![("a", ColumnData::from((0..1000i64).collect::<Vec<_>>()))])?;
    /// // 1000 BIGINTs take 8000 bytes: four partitions of at most 2000 bytes.
    /// assert_eq!(df.repartition_by_size(2000)?.npartitions(), 4);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// When `partition_size` is 0; errors of running the sample or the count.
    pub fn repartition_by_size(&self, partition_size: usize) -> Result<DataFrame> {
        if partition_size == 0 {
            return plan_err!("repartition_by_size: partition_size must be at least 1 byte");
        }
        let sample = self.head(SIZE_SAMPLE_ROWS).collect()?;
        let sample_rows: usize = sample.iter().map(|b| b.num_rows()).sum();
        let sample_bytes: usize = sample.iter().map(rask_exec::memory::batch_memory).sum();
        if sample_rows == 0 {
            return self.repartition(1);
        }
        let rows = if sample_rows < SIZE_SAMPLE_ROWS {
            sample_rows
        } else {
            match exact_rows(&self.plan) {
                Some(n) => n,
                None => self.count()?,
            }
        };
        let total = (rows as f64) * (sample_bytes as f64 / sample_rows as f64);
        let n = (total / partition_size as f64).ceil().max(1.0);
        self.repartition(n.min(1e6) as usize)
    }

    /// Hash-partitions the rows by the columns `on` (Dask's `shuffle(on)`): rows with equal
    /// keys end up in the same partition. The partition count stays the same (see
    /// [`DataFrame::repartition_by`] to choose it). Lazy. Later group-bys and joins are
    /// computed as usual and give the same answers as without the shuffle.
    ///
    /// ```
    /// use rask::{ColumnData, SessionContext};
    /// # fn main() -> rask::Result<()> {
    /// let ctx = SessionContext::new();
    /// let df = ctx
    ///     .from_columns(vec![("k", ColumnData::from(vec!["a", "b", "a", "c", "b", "a"]))])?
    ///     .repartition(3)?
    ///     .shuffle(&["k"])?;
    /// assert_eq!(df.npartitions(), 3);
    /// // Every key lives in exactly one partition.
    /// let mut owners = std::collections::HashMap::new();
    /// for (p, batches) in df.collect_partitions()?.iter().enumerate() {
    ///     for b in batches {
    ///         let keys = b.column(0).as_any().downcast_ref::<arrow::array::StringArray>().unwrap();
    ///         for k in keys.iter().flatten() {
    ///             assert_eq!(*owners.entry(k.to_string()).or_insert(p), p);
    ///         }
    ///     }
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// When `on` is empty or names an unknown column.
    pub fn shuffle(&self, on: &[&str]) -> Result<DataFrame> {
        self.repartition_by(on, self.npartitions())
    }

    /// Hash-partitions the rows by the columns `on` into `npartitions` partitions. Lazy.
    ///
    /// ```
    /// use rask::{ColumnData, SessionContext};
    /// # fn main() -> rask::Result<()> {
    /// let ctx = SessionContext::new();
    /// let df = ctx.from_columns(vec![("k", ColumnData::from(vec![1i64, 2, 3, 1]))])?;
    /// let by_k = df.repartition_by(&["k"], 4)?;
    /// assert_eq!(by_k.npartitions(), 4);
    /// assert_eq!(by_k.count()?, 4);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// When `on` is empty, names an unknown column, or `npartitions` is 0.
    pub fn repartition_by(&self, on: &[&str], npartitions: usize) -> Result<DataFrame> {
        if on.is_empty() {
            return plan_err!("shuffle: give at least one column to partition on");
        }
        if npartitions == 0 {
            return plan_err!("repartition_by: npartitions must be at least 1");
        }
        let keys = on.iter().map(|c| col(c)).collect();
        self.repartitioned(RepartitionScheme::Hash(keys, npartitions))
    }

    /// Calls `func` once per partition with all the partition's rows as one batch (in
    /// order), and makes its results the new partitions (Dask's `map_partitions` with
    /// `meta`). The output schema is declared, so planning never runs `func`; a result of
    /// another schema fails the query with an error naming the column. Empty partitions are
    /// not passed to `func`. Lazy; a partition (and `func`'s output) must fit in memory, the
    /// others wait spilled.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use arrow::array::{Int64Array, RecordBatch};
    /// use arrow::datatypes::{DataType, Field, Schema};
    /// use rask::{ColumnData, SessionContext};
    /// # fn main() -> rask::Result<()> {
    /// let ctx = SessionContext::new();
    /// let df = ctx
    ///     .from_columns(vec![("v", ColumnData::from(vec![1i64, 2, 3, 4]))])?
    ///     .repartition(2)?;
    /// // One row per partition: its number of rows.
    /// let schema = Arc::new(Schema::new(vec![Field::new("rows", DataType::Int64, false)]));
    /// let out_schema = Arc::clone(&schema);
    /// let sizes = df.map_partitions(schema, move |batch: RecordBatch| {
    ///     let n = Int64Array::from(vec![batch.num_rows() as i64]);
    ///     Ok(RecordBatch::try_new(Arc::clone(&out_schema), vec![Arc::new(n)])?)
    /// })?;
    /// assert_eq!(sizes.count()?, 2);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// None when building; running fails when `func` fails or returns another schema.
    pub fn map_partitions<F>(&self, schema: SchemaRef, func: F) -> Result<DataFrame>
    where
        F: Fn(RecordBatch) -> Result<RecordBatch> + Send + Sync + 'static,
    {
        let node = MapPartitions::new(Arc::clone(&self.plan), Arc::new(func), "<closure>", schema);
        Ok(self.with_plan(Arc::new(LogicalPlan::MapPartitions(node))))
    }

    /// Runs the frame once and keeps its partitions (Dask's `persist`): later queries over
    /// the returned frame scan them instead of recomputing, with the same partition count.
    /// Eager by nature.
    ///
    /// The partitions stay in memory under a reservation from the session's memory pool
    /// (consumer `PersistedFrame`), held as long as a frame over them lives. Past the memory
    /// limit they go to Arrow IPC files in a directory of their own (under the session's
    /// spill directory), read back when scanned and removed with the last frame over them.
    /// Per partition, column minimums, maximums and NULL counts are kept, so that filters
    /// skip partitions that cannot match (see [`PersistedTable`]).
    ///
    /// ```
    /// use rask::{col, lit, ColumnData, SessionContext};
    /// # fn main() -> rask::Result<()> {
    /// let ctx = SessionContext::new();
    /// let df = ctx
    ///     .from_columns(vec![("v", ColumnData::from(vec![1i64, 2, 3, 4]))])?
    ///     .filter(col("v").gt(lit(1i64)))?
    ///     .persist()?;
    /// assert_eq!(df.count()?, 3);
    /// assert_eq!(df.count()?, 3); // scans the kept rows, no recomputation
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// Any error of running the frame; spill I/O errors.
    pub fn persist(&self) -> Result<DataFrame> {
        let table = PersistedTable::new(self.materialize()?, None);
        self.over_persisted(table)
    }

    /// Runs the plan into a store of partitions with statistics.
    fn materialize(&self) -> Result<rask_exec::partition_store::PartitionStore> {
        let (_, physical) = self.state.physical_plan(&self.plan)?;
        let manager = SpillManager::new(&self.state.config);
        let sink = Arc::new(MaterializeExec::new(
            self.schema(),
            manager,
            self.npartitions(),
        ));
        let run_sink: Arc<dyn rask_exec::Sink> = Arc::clone(&sink) as _;
        self.state.run(|exec| exec.run_into(&physical, run_sink))?;
        sink.take()
    }

    fn over_persisted(&self, table: PersistedTable) -> Result<DataFrame> {
        let plan = LogicalPlanBuilder::scan("persisted", Arc::new(table))?.build();
        Ok(self.with_plan(plan))
    }

    /// The persisted table this frame reads directly (a frame made by
    /// [`DataFrame::persist`] or [`DataFrame::set_index`], possibly under filters and column
    /// selections), for its counters.
    ///
    /// ```
    /// use rask::{ColumnData, SessionContext};
    /// # fn main() -> rask::Result<()> {
    /// let ctx = SessionContext::new();
    /// let df = ctx.from_columns(vec![("v", ColumnData::from(vec![1i64, 2]))])?;
    /// assert!(df.persisted_table().is_none());
    /// let kept = df.persist()?;
    /// assert_eq!(kept.persisted_table().map(|t| t.rows()), Some(2));
    /// # Ok(())
    /// # }
    /// ```
    pub fn persisted_table(&self) -> Option<&PersistedTable> {
        fn walk(p: &LogicalPlan) -> Option<&PersistedTable> {
            match p {
                LogicalPlan::TableScan(s) => s.source.as_any().downcast_ref::<PersistedTable>(),
                LogicalPlan::Filter(f) => walk(&f.input),
                LogicalPlan::Projection(p) => walk(&p.input),
                LogicalPlan::SubqueryAlias(a) => walk(&a.input),
                _ => None,
            }
        }
        walk(&self.plan)
    }

    /// The index column set by [`DataFrame::set_index`], while the frame keeps it (through
    /// filters, and selections that keep the column).
    ///
    /// ```
    /// use rask::{ColumnData, SessionContext};
    /// # fn main() -> rask::Result<()> {
    /// let ctx = SessionContext::new();
    /// let df = ctx.from_columns(vec![("t", ColumnData::from(vec![3i64, 1, 2]))])?;
    /// assert_eq!(df.set_index("t")?.index().as_deref(), Some("t"));
    /// assert_eq!(df.index(), None);
    /// # Ok(())
    /// # }
    /// ```
    pub fn index(&self) -> Option<String> {
        self.index_info().map(|i| i.column.clone())
    }

    fn index_info(&self) -> Option<&IndexInfo> {
        let info = self.persisted_table()?.index()?;
        // The column must still be there under its name.
        self.plan
            .schema()
            .fields()
            .iter()
            .any(|(_, f)| f.name() == &info.column)
            .then_some(info)
    }

    /// Dask's divisions of a frame made by [`DataFrame::set_index`]: the smallest index value
    /// of each partition, then the largest value of the last (`npartitions + 1` values,
    /// ascending). `None` for other frames, and when a partition holds only NULL index values.
    ///
    /// ```
    /// use rask::{ColumnData, ScalarValue, SessionContext};
    /// # fn main() -> rask::Result<()> {
    /// let ctx = SessionContext::new();
    /// let df = ctx
    ///     .from_columns(vec![("t", ColumnData::from(vec![5i64, 1, 4, 2, 3, 6]))])?
    ///     .repartition(2)?
    ///     .set_index("t")?;
    /// let int = |v| ScalarValue::Int64(Some(v));
    /// assert_eq!(df.divisions(), Some(vec![int(1), int(4), int(6)]));
    /// # Ok(())
    /// # }
    /// ```
    pub fn divisions(&self) -> Option<Vec<ScalarValue>> {
        self.index_info()?.divisions.clone()
    }

    /// Sorts the frame by `column` into range partitions with known boundaries (Dask's
    /// `set_index`): partition `i` holds the rows whose `column` lies between
    /// `divisions()[i]` and `divisions()[i + 1]`, sorted within the partition; NULLs come last,
    /// in the last partition. The column stays a column (rask frames have no separate index).
    ///
    /// Eager by nature, like Dask: the boundaries are computed exactly, from a sort of the
    /// column's non-NULL values (the column alone is collected; quantiles at `i / n` for `n`
    /// = the current partition count, duplicates merged), then the rows are range-partitioned
    /// by the engine's shuffle, sorted per partition and persisted as by
    /// [`DataFrame::persist`] (spilling past the memory limit). Empty partitions are dropped.
    ///
    /// Later filters on the column (`=`, `<`, `BETWEEN`, `IN`, ...) skip partitions whose
    /// range cannot match: EXPLAIN shows `PersistedScan: partitions=read/total`. Joins on the
    /// index of two such frames are ordinary hash joins (correct whatever the divisions; no
    /// partition-wise merge join yet).
    ///
    /// ```
    /// use rask::{col, lit, ColumnData, SessionContext};
    /// # fn main() -> rask::Result<()> {
    /// let ctx = SessionContext::new();
    /// let df = ctx
    ///     .from_columns(vec![("t", ColumnData::from((0..100i64).rev().collect::<Vec<_>>()))])?
    ///     .repartition(4)?
    ///     .set_index("t")?;
    /// assert_eq!(df.npartitions(), 4);
    /// let late = df.filter(col("t").gt_eq(lit(80i64)))?;
    /// assert_eq!(late.count()?, 20);
    /// assert!(late.explain()?.contains("partitions=1/4"));
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// An unknown column, or one of a type without a supported order (nested types,
    /// intervals, binary): cast it first. Errors of running the frame.
    pub fn set_index(&self, column: &str) -> Result<DataFrame> {
        let schema = self.schema();
        let Ok(idx) = schema.index_of(column) else {
            return plan_err!(
                "set_index: no column '{column}' (columns: {})",
                self.columns().join(", ")
            );
        };
        let t = schema.field(idx).data_type().clone();
        let supported = t.is_integer()
            || t.is_floating()
            || matches!(
                t,
                DataType::Utf8
                    | DataType::LargeUtf8
                    | DataType::Utf8View
                    | DataType::Date32
                    | DataType::Decimal128(_, _)
                    | DataType::Timestamp(arrow::datatypes::TimeUnit::Microsecond, None)
            );
        if !supported {
            return plan_err!(
                "set_index: column '{column}' has type {t}, which set_index cannot range-partition; \
                 cast it to an integer, float, decimal, string, date or timestamp first"
            );
        }
        let key = col(column);
        let nparts = self.npartitions().max(1);
        // Exact boundaries from a sort of the key column.
        let keys = self.select(vec![key.clone()])?.collect()?;
        let arrays: Vec<&dyn Array> = keys.iter().map(|b| b.column(0).as_ref()).collect();
        let bounds = if arrays.is_empty() {
            vec![]
        } else {
            let all = concat(&arrays)?;
            boundaries(&all, nparts)?
        };
        let sorted_col = idx;
        let sort_fn = move |batch: RecordBatch| -> Result<RecordBatch> {
            let order = sort_to_indices(
                batch.column(sorted_col),
                Some(SortOptions {
                    descending: false,
                    nulls_first: false,
                }),
                None,
            )?;
            Ok(take_record_batch(&batch, &order)?)
        };
        let ranged = self.repartitioned(RepartitionScheme::Range { expr: key, bounds })?;
        let node = MapPartitions::new(
            Arc::clone(&ranged.plan),
            Arc::new(sort_fn),
            &format!("sort within partitions by {column}"),
            Arc::clone(&schema),
        );
        let sorted = ranged.with_plan(Arc::new(LogicalPlan::MapPartitions(node)));
        let mut store = sorted.materialize()?;
        store.drop_empty_partitions();
        let mut table = PersistedTable::new(store, None);
        let divisions = divisions_of(&table.bounds(idx));
        table = table.with_index(Some(IndexInfo {
            column: column.to_string(),
            divisions,
        }));
        self.over_persisted(table)
    }

    /// Forgets the index set by [`DataFrame::set_index`] (the column stays, as pandas' and
    /// Dask's `reset_index` turn the index back into a column): no divisions, same rows and
    /// partitions. A frame without an index is returned unchanged.
    ///
    /// ```
    /// use rask::{ColumnData, SessionContext};
    /// # fn main() -> rask::Result<()> {
    /// let ctx = SessionContext::new();
    /// let df = ctx
    ///     .from_columns(vec![("t", ColumnData::from(vec![2i64, 1]))])?
    ///     .set_index("t")?;
    /// let plain = df.reset_index()?;
    /// assert_eq!(plain.divisions(), None);
    /// assert_eq!(plain.columns(), vec!["t"]);
    /// assert_eq!(plain.count()?, 2);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// None at present (a `Result` for API stability).
    pub fn reset_index(&self) -> Result<DataFrame> {
        let plan = LogicalPlan::transform_up(Arc::clone(&self.plan), &mut |node| {
            Ok(match node {
                LogicalPlan::TableScan(mut s) => {
                    if let Some(t) = s.source.as_any().downcast_ref::<PersistedTable>() {
                        if t.index().is_some() {
                            s.source = Arc::new(t.with_index(None));
                        }
                    }
                    LogicalPlan::TableScan(s)
                }
                other => other,
            })
        })?;
        Ok(self.with_plan(plan))
    }
}

/// The exact row count of `plan` when metadata tells it without running anything.
fn exact_rows(plan: &LogicalPlan) -> Option<usize> {
    match plan {
        LogicalPlan::TableScan(s) if s.filters.is_empty() && s.fetch.is_none() => {
            s.source.num_rows()
        }
        LogicalPlan::Projection(p) => exact_rows(&p.input),
        LogicalPlan::SubqueryAlias(a) => exact_rows(&a.input),
        LogicalPlan::Repartition(r) => exact_rows(&r.input),
        _ => None,
    }
}

/// `n - 1` split points at the quantiles `i / n` of the non-NULL values of `keys`, ascending
/// and without repeats.
fn boundaries(keys: &ArrayRef, n: usize) -> Result<Vec<ScalarValue>> {
    let order = sort_to_indices(
        keys.as_ref(),
        Some(SortOptions {
            descending: false,
            nulls_first: false,
        }),
        None,
    )?;
    let valid = keys.len() - keys.null_count();
    let mut out: Vec<ScalarValue> = Vec::new();
    for i in 1..n {
        let pos = i * valid / n;
        if pos == 0 || pos >= valid {
            continue;
        }
        let row = order.value(pos) as usize;
        let v = ScalarValue::try_from_array(keys.as_ref(), row)?;
        if v.is_null() {
            continue;
        }
        if out.last() != Some(&v) {
            out.push(v);
        }
    }
    Ok(out)
}

/// Divisions from per-partition (min, max) of the index column.
fn divisions_of(bounds: &[Option<(ScalarValue, ScalarValue)>]) -> Option<Vec<ScalarValue>> {
    let mut out = Vec::with_capacity(bounds.len() + 1);
    for b in bounds {
        out.push(b.as_ref()?.0.clone());
    }
    out.push(bounds.last()?.as_ref()?.1.clone());
    Some(out)
}
