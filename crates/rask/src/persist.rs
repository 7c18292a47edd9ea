//! [`PersistedTable`]: the partitions of a persisted frame (`persist`, `set_index`), in memory
//! or spilled, with per-partition statistics that let scans skip partitions.

use std::any::Any;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use arrow::datatypes::{DataType, SchemaRef};
use rask_common::{Result, ScalarValue};
use rask_exec::partition_store::{PartitionStore, StoreSource};
use rask_exec::{DataSource, MorselRef};
use rask_expr::{Expr, TableSource};
use rask_io::{stats_may_match, ColumnStats};

/// The sorted column of a frame made by `set_index`, and its partitions' boundaries.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct IndexInfo {
    /// The index column.
    pub(crate) column: String,
    /// Dask's divisions: the smallest index value of each partition, then the largest of the
    /// last one (`npartitions + 1` values); `None` when some partition has only NULL keys.
    pub(crate) divisions: Option<Vec<ScalarValue>>,
}

/// Counters of the scans of a persisted table.
#[derive(Debug, Default)]
struct ScanCounters {
    scans: AtomicUsize,
    read: AtomicUsize,
    skipped: AtomicUsize,
}

/// A materialised frame: its partitions as computed once by
/// [`DataFrame::persist`](crate::DataFrame::persist) or
/// [`DataFrame::set_index`](crate::DataFrame::set_index), kept in memory under a reservation
/// from the session's pool or, past the memory limit, in Arrow IPC files in a directory of
/// its own that is removed when the last frame over the table is dropped.
///
/// Scans skip the partitions whose column statistics (min, max, NULL count, gathered while
/// persisting) show that no row can pass the scan's filters, with the same rules as Parquet
/// row-group pruning; EXPLAIN shows `PersistedScan: partitions=read/total`.
///
/// ```
/// use rask::{col, lit, ColumnData, SessionContext};
/// # fn main() -> rask::Result<()> {
/// let ctx = SessionContext::new();
/// let df = ctx
///     .from_columns(vec![("k", ColumnData::from((0..100i64).collect::<Vec<_>>()))])?
///     .repartition(4)?
///     .persist()?;
/// let hits = df.filter(col("k").gt_eq(lit(90i64)))?;
/// assert_eq!(hits.count()?, 10);
/// let table = df.persisted_table().expect("a persisted frame");
/// assert_eq!(table.partitions_skipped(), 3);
/// # Ok(())
/// # }
/// ```
pub struct PersistedTable {
    store: Arc<PartitionStore>,
    index: Option<IndexInfo>,
    counters: Arc<ScanCounters>,
}

impl fmt::Debug for PersistedTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PersistedTable({:?})", self.store)
    }
}

impl PersistedTable {
    pub(crate) fn new(store: PartitionStore, index: Option<IndexInfo>) -> Self {
        PersistedTable {
            store: Arc::new(store),
            index,
            counters: Arc::default(),
        }
    }

    /// The same partitions with other index information (`reset_index`).
    pub(crate) fn with_index(&self, index: Option<IndexInfo>) -> Self {
        PersistedTable {
            store: Arc::clone(&self.store),
            index,
            counters: Arc::default(),
        }
    }

    pub(crate) fn index(&self) -> Option<&IndexInfo> {
        self.index.as_ref()
    }

    /// Scans planned so far (each query over the table plans one per reference).
    pub fn scans(&self) -> usize {
        self.counters.scans.load(Ordering::Relaxed)
    }

    /// Partitions the scans planned so far read.
    pub fn partitions_read(&self) -> usize {
        self.counters.read.load(Ordering::Relaxed)
    }

    /// Partitions the scans planned so far skipped by statistics.
    pub fn partitions_skipped(&self) -> usize {
        self.counters.skipped.load(Ordering::Relaxed)
    }

    /// Rows held.
    pub fn rows(&self) -> usize {
        self.store.num_rows()
    }

    /// Spill files holding some of the partitions (0 when all fit in memory).
    pub fn spill_files(&self) -> usize {
        self.store.spill_files()
    }

    /// Bytes of the partitions kept in memory.
    pub fn memory_bytes(&self) -> usize {
        self.store.memory_bytes()
    }

    /// Per partition, the smallest and largest value of `column` (`None` when unknown, or
    /// when the partition has no non-NULL value).
    pub(crate) fn bounds(&self, column: usize) -> Vec<Option<(ScalarValue, ScalarValue)>> {
        let Some(stats) = self.store.statistics() else {
            return vec![None; self.store.npartitions()];
        };
        stats
            .iter()
            .map(|s| {
                let c = s.columns.get(column)?;
                Some((c.min.clone()?, c.max.clone()?))
            })
            .collect()
    }

    /// A source over the partitions that may hold rows passing `filters` (unqualified).
    pub(crate) fn scan(
        &self,
        projection: Option<&[usize]>,
        filters: &[Expr],
    ) -> Result<PersistedScan> {
        let total = self.store.npartitions();
        let schema = self.store.schema();
        let keep: Vec<usize> = match self.store.statistics() {
            Some(stats) if !filters.is_empty() => (0..total)
                .filter(|&p| {
                    let Some(s) = stats.get(p) else { return true };
                    stats_may_match(filters, &|name: &str| {
                        let i = schema.index_of(name).ok()?;
                        let c = s.columns.get(i)?;
                        let t = match &c.min {
                            Some(v) => v.data_type(),
                            None => schema.field(i).data_type().clone(),
                        };
                        let float = matches!(t, DataType::Float64 | DataType::Float32);
                        let nan = |v: &Option<ScalarValue>| {
                            matches!(v, Some(ScalarValue::Float64(Some(x))) if x.is_nan())
                        };
                        Some((
                            t,
                            ColumnStats {
                                min: c.min.clone(),
                                max: c.max.clone(),
                                null_count: Some(c.null_count),
                                row_count: Some(s.rows),
                                nan_free: !float || !(nan(&c.min) || nan(&c.max)),
                            },
                        ))
                    })
                })
                .collect(),
            _ => (0..total).collect(),
        };
        self.counters.scans.fetch_add(1, Ordering::Relaxed);
        self.counters.read.fetch_add(keep.len(), Ordering::Relaxed);
        self.counters
            .skipped
            .fetch_add(total - keep.len(), Ordering::Relaxed);
        let read = keep.len();
        let source = self
            .store
            .source(Some(keep), projection.map(|p| p.to_vec()))?;
        Ok(PersistedScan {
            source,
            read,
            total,
        })
    }
}

impl TableSource for PersistedTable {
    fn schema(&self) -> SchemaRef {
        self.store.schema()
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn npartitions(&self) -> usize {
        self.store.npartitions()
    }
    fn num_rows(&self) -> Option<usize> {
        Some(self.store.num_rows())
    }
    fn supports_filter_pruning(&self) -> bool {
        true
    }
}

/// The scan of a [`PersistedTable`]: the partitions that survived pruning.
pub(crate) struct PersistedScan {
    source: StoreSource,
    read: usize,
    total: usize,
}

impl fmt::Debug for PersistedScan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PersistedScan: partitions={}/{} ({} skipped by statistics)",
            self.read,
            self.total,
            self.total - self.read
        )
    }
}

impl DataSource for PersistedScan {
    fn schema(&self) -> SchemaRef {
        self.source.schema()
    }
    fn morsels(&self) -> Result<Vec<MorselRef>> {
        self.source.morsels()
    }
}
