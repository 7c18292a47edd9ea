//! `ShuffleExec`: the one shuffle of the engine (DESIGN.md §2).
//!
//! A shuffle is a materialising sink: each worker routes the rows of every batch to one of `n`
//! output partitions, and at `finish` partition `q` of every worker becomes output partition
//! `q`. Repartitioning by key, partitioned writes and (later) the distributed exchange all go
//! through it; the distributed mode only changes where partition `q` is delivered (`q mod W`).
//!
//! * `Hash(keys, n)`: the key columns are hashed with the engine hash
//!   ([`crate::hash::hash_columns`]); equal keys meet in one partition.
//! * `RoundRobin(n)`: `n` partitions of nearly equal row counts, rows in input order (the
//!   input is cut into contiguous ranges at `finish`, like Dask's `repartition(npartitions)`).
//! * `Range { key, bounds }`: partition `i` holds the rows with `bounds[i-1] <= key <
//!   bounds[i]` (`bounds` sorted ascending, `n = bounds.len() + 1`); NULL keys go to the last
//!   partition. `set_index` range-partitions with sampled boundaries this way.
//!
//! # Ordering
//! Within an output partition, rows keep their input order.
//!
//! # Memory
//! Workers buffer their partitions in a [`PartitionBuffer`] that reserves from the session
//! pool (a spillable reservation); when the pool refuses, the worker writes every buffered
//! batch to Arrow IPC spill files (one per partition) and goes on. The next pipeline reads the
//! spilled partitions back as it pulls them.

use std::sync::Arc;

use arrow::array::{make_comparator, ArrayRef, RecordBatch, UInt32Array};
use arrow::compute::{take_record_batch, SortOptions};
use arrow::datatypes::SchemaRef;
use rask_common::{internal_err, plan_err, Result};

use crate::executor::{Sink, SinkLocal, TaskContext};
use crate::hash::hash_columns;
use crate::partition_store::{PartitionBuffer, PartitionStore};
use crate::physical_expr::PhysicalExpr;
use crate::source::DataSource;

/// How rows are routed to output partitions.
#[derive(Debug, Clone)]
pub enum Partitioning {
    /// Rows with equal keys go to the same one of `n` partitions.
    Hash(Vec<PhysicalExpr>, usize),
    /// `n` partitions of nearly equal row counts, in input order.
    RoundRobin(usize),
    /// Sorted ranges of `key` split at `bounds` (see the module documentation).
    Range {
        /// The key.
        key: PhysicalExpr,
        /// Ascending split points, of the key's type.
        bounds: ArrayRef,
    },
}

impl Partitioning {
    /// Number of output partitions.
    pub fn partition_count(&self) -> usize {
        match self {
            Partitioning::Hash(_, n) | Partitioning::RoundRobin(n) => (*n).max(1),
            Partitioning::Range { bounds, .. } => bounds.len() + 1,
        }
    }
}

/// The bucket of a hash among `n`: the high bits, so that it is independent of the low bits
/// that hash tables use.
pub fn bucket_of(hash: u64, n: usize) -> usize {
    (((hash >> 32) * n as u64) >> 32) as usize
}

/// For each row of `key`, the range of `bounds` (ascending) it falls in: the number of
/// bounds `<=` the value; NULLs go to `bounds.len()`.
///
/// # Errors
/// When the key and the bounds cannot be compared (different types).
pub fn range_partitions(key: &ArrayRef, bounds: &ArrayRef) -> Result<Vec<usize>> {
    if key.data_type() != bounds.data_type() {
        return plan_err!(
            "range partitioning: key of type {} but bounds of type {}",
            key.data_type(),
            bounds.data_type()
        );
    }
    let cmp = make_comparator(key.as_ref(), bounds.as_ref(), SortOptions::default())?;
    let nb = bounds.len();
    Ok((0..key.len())
        .map(|i| {
            if key.is_null(i) {
                return nb;
            }
            // First bound greater than the value.
            let (mut lo, mut hi) = (0, nb);
            while lo < hi {
                let mid = (lo + hi) / 2;
                if cmp(i, mid) == std::cmp::Ordering::Less {
                    hi = mid;
                } else {
                    lo = mid + 1;
                }
            }
            lo
        })
        .collect())
}

/// Repartitions its input (see the module documentation).
#[derive(Debug)]
pub struct ShuffleExec {
    partitioning: Partitioning,
    schema: SchemaRef,
}

impl ShuffleExec {
    /// A shuffle of batches with `schema`.
    pub fn new(partitioning: Partitioning, schema: SchemaRef) -> Self {
        ShuffleExec {
            partitioning,
            schema,
        }
    }
}

struct ShuffleLocal {
    buffer: PartitionBuffer,
    partitioning: Partitioning,
    hashes: Vec<u64>,
}

impl ShuffleLocal {
    /// Sends row `indices[q]` of `batch` to partition `q`.
    fn scatter(&mut self, item: usize, batch: RecordBatch, parts: Vec<usize>) -> Result<()> {
        let n = self.partitioning.partition_count();
        let rows = batch.num_rows();
        let mut indices: Vec<Vec<u32>> = vec![Vec::new(); n];
        for (row, q) in parts.into_iter().enumerate() {
            indices[q.min(n - 1)].push(row as u32);
        }
        for (q, idx) in indices.into_iter().enumerate() {
            if idx.len() == rows {
                return self.buffer.push(q, item, batch);
            }
            if !idx.is_empty() {
                let idx = UInt32Array::from(idx);
                self.buffer
                    .push(q, item, take_record_batch(&batch, &idx)?)?;
            }
        }
        Ok(())
    }
}

impl SinkLocal for ShuffleLocal {
    fn sink(&mut self, item: usize, _partition: usize, batch: RecordBatch) -> Result<()> {
        match &self.partitioning {
            // Everything in one ordered run; cut into partitions at finish.
            Partitioning::RoundRobin(_) => self.buffer.push(0, item, batch),
            Partitioning::Hash(keys, n) => {
                let n = *n;
                let cols: Vec<ArrayRef> = keys
                    .iter()
                    .map(|k| k.evaluate_to_array(&batch))
                    .collect::<Result<_>>()?;
                hash_columns(&cols, batch.num_rows(), &mut self.hashes)?;
                let parts = self.hashes.iter().map(|h| bucket_of(*h, n)).collect();
                self.scatter(item, batch, parts)
            }
            Partitioning::Range { key, bounds } => {
                let k = key.evaluate_to_array(&batch)?;
                let parts = range_partitions(&k, bounds)?;
                self.scatter(item, batch, parts)
            }
        }
    }
    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any + Send> {
        self
    }
}

impl ShuffleExec {
    fn store(&self, locals: Vec<Box<dyn SinkLocal>>) -> Result<PartitionStore> {
        let mut buffers = Vec::with_capacity(locals.len());
        for l in locals {
            let Ok(l) = l.into_any().downcast::<ShuffleLocal>() else {
                return internal_err!("unexpected sink local in ShuffleExec");
            };
            buffers.push(l.buffer);
        }
        let n = self.partitioning.partition_count();
        let mut store = PartitionBuffer::finish_all(buffers, Arc::clone(&self.schema), n)?;
        if let Partitioning::RoundRobin(n) = &self.partitioning {
            store.rebalance(*n);
        }
        Ok(store)
    }
}

impl Sink for ShuffleExec {
    fn make_local(&self, ctx: &TaskContext) -> Result<Box<dyn SinkLocal>> {
        let reservation = ctx
            .pool
            .spillable_reservation("ShuffleExec", ctx.config.effective_threads());
        Ok(Box::new(ShuffleLocal {
            buffer: PartitionBuffer::new(
                Arc::clone(&self.schema),
                Arc::clone(&ctx.spill),
                "shuffle",
                reservation,
                ctx.config.force_spill,
            ),
            partitioning: self.partitioning.clone(),
            hashes: Vec::new(),
        }))
    }

    fn finish(
        &self,
        locals: Vec<Box<dyn SinkLocal>>,
        _ctx: &TaskContext,
    ) -> Result<Vec<Vec<RecordBatch>>> {
        let store = self.store(locals)?;
        (0..store.npartitions())
            .map(|p| store.read_partition(p))
            .collect()
    }

    fn finish_source(
        &self,
        locals: Vec<Box<dyn SinkLocal>>,
        _ctx: &TaskContext,
    ) -> Result<Arc<dyn DataSource>> {
        let store = Arc::new(self.store(locals)?);
        Ok(Arc::new(store.source(None, None)?))
    }

    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn describe(&self) -> String {
        match &self.partitioning {
            Partitioning::Hash(keys, n) => {
                let keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
                format!("ShuffleExec: hash([{}], {n})", keys.join(", "))
            }
            Partitioning::RoundRobin(n) => format!("ShuffleExec: round_robin({n})"),
            Partitioning::Range { key, bounds } => {
                format!("ShuffleExec: range({key}, {} partitions)", bounds.len() + 1)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::executor::{Executor, PhysicalPlan};
    use crate::source::MemorySource;
    use arrow::array::{AsArray, Int64Array};
    use arrow::datatypes::{DataType, Field, Int64Type, Schema};
    use rask_common::SessionConfig;

    fn input(rows: i64, parts: usize) -> (SchemaRef, Vec<Vec<RecordBatch>>) {
        let schema = Arc::new(Schema::new(vec![
            Field::new("k", DataType::Int64, true),
            Field::new("v", DataType::Int64, false),
        ]));
        let mut partitions = vec![Vec::new(); parts];
        for start in (0..rows).step_by(100) {
            let end = (start + 100).min(rows);
            let k: Int64Array = (start..end)
                .map(|i| if i % 17 == 0 { None } else { Some(i % 13) })
                .collect();
            let v: Int64Array = (start..end).collect();
            let b =
                RecordBatch::try_new(Arc::clone(&schema), vec![Arc::new(k), Arc::new(v)]).unwrap();
            partitions[(start / 100) as usize % parts].push(b);
        }
        (schema, partitions)
    }

    #[test]
    fn equal_keys_meet_in_one_partition_and_no_row_is_lost() {
        for threads in [1, 3] {
            let (schema, parts) = input(2000, 4);
            let plan = PhysicalPlan::Sink {
                input: Box::new(PhysicalPlan::Source(Arc::new(MemorySource::new(
                    Arc::clone(&schema),
                    parts,
                )))),
                sink: Arc::new(ShuffleExec::new(
                    Partitioning::Hash(vec![PhysicalExpr::Column(0)], 5),
                    Arc::clone(&schema),
                )),
            };
            let exec = Executor::new(TaskContext::new(
                SessionConfig::default().with_threads(threads),
            ));
            let out = exec.collect_partitions(&plan).unwrap();
            // The collect sink keeps the shuffle's partitions as they are.
            let mut owner: std::collections::HashMap<Option<i64>, usize> = Default::default();
            let mut values = Vec::new();
            for (p, batches) in out.iter().enumerate() {
                for b in batches {
                    let k = b.column(0).as_primitive::<Int64Type>();
                    for (i, key) in k.iter().enumerate() {
                        let prev = owner.insert(key, p);
                        assert!(
                            prev.is_none() || prev == Some(p),
                            "key {key:?} in two partitions"
                        );
                        values.push(b.column(1).as_primitive::<Int64Type>().value(i));
                    }
                }
            }
            values.sort_unstable();
            assert_eq!(values, (0..2000).collect::<Vec<_>>());
            assert!(
                owner
                    .values()
                    .collect::<std::collections::HashSet<_>>()
                    .len()
                    > 1
            );
        }
    }

    fn run(plan: &PhysicalPlan, config: SessionConfig) -> Vec<Vec<RecordBatch>> {
        Executor::new(TaskContext::new(config))
            .collect_partitions(plan)
            .unwrap()
    }

    fn shuffle(parts: Vec<Vec<RecordBatch>>, schema: &SchemaRef, p: Partitioning) -> PhysicalPlan {
        PhysicalPlan::Sink {
            input: Box::new(PhysicalPlan::Source(Arc::new(MemorySource::new(
                Arc::clone(schema),
                parts,
            )))),
            sink: Arc::new(ShuffleExec::new(p, Arc::clone(schema))),
        }
    }

    fn column(batches: &[RecordBatch], c: usize) -> Vec<Option<i64>> {
        batches
            .iter()
            .flat_map(|b| {
                b.column(c)
                    .as_primitive::<Int64Type>()
                    .iter()
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn round_robin_cuts_balanced_ranges_in_order() {
        for threads in [1, 3] {
            let (schema, parts) = input(1050, 4);
            let plan = shuffle(parts, &schema, Partitioning::RoundRobin(4));
            let out = run(&plan, SessionConfig::default().with_threads(threads));
            let sizes: Vec<usize> = out.iter().map(|p| column(p, 1).len()).collect();
            assert_eq!(sizes, [263, 263, 262, 262]);
            // Input order: partition by partition of the source (batches of 100 dealt to 4).
            let (_, parts) = input(1050, 4);
            let want: Vec<Option<i64>> = parts.iter().flat_map(|p| column(p, 1)).collect();
            let got: Vec<Option<i64>> = out.iter().flat_map(|p| column(p, 1)).collect();
            assert_eq!(got, want);
        }
    }

    #[test]
    fn range_partitions_split_at_bounds_with_nulls_last() {
        let (schema, parts) = input(2000, 3);
        let bounds: ArrayRef = Arc::new(Int64Array::from(vec![3, 9]));
        let plan = shuffle(
            parts,
            &schema,
            Partitioning::Range {
                key: PhysicalExpr::Column(0),
                bounds,
            },
        );
        let out = run(&plan, SessionConfig::default().with_threads(2));
        assert_eq!(out.len(), 3);
        let k = |p: usize| column(&out[p], 0);
        assert!(k(0).iter().all(|v| v.is_some_and(|v| v < 3)));
        assert!(k(1).iter().all(|v| v.is_some_and(|v| (3..9).contains(&v))));
        assert!(k(2).iter().all(|v| v.is_none_or(|v| v >= 9)));
        assert!(k(2).iter().any(Option::is_none));
        assert_eq!(k(0).len() + k(1).len() + k(2).len(), 2000);
        let err = range_partitions(
            &(Arc::new(Int64Array::from(vec![1])) as ArrayRef),
            &(Arc::new(arrow::array::StringArray::from(vec!["a"])) as ArrayRef),
        )
        .unwrap_err();
        assert!(err.to_string().contains("bounds of type Utf8"), "{err}");
    }

    #[test]
    fn shuffle_spills_past_the_memory_limit() {
        let dir = tempfile::tempdir().unwrap();
        for force in [false, true] {
            let (schema, parts) = input(20_000, 4);
            let plan = shuffle(
                parts,
                &schema,
                Partitioning::Hash(vec![PhysicalExpr::Column(0)], 3),
            );
            let config = SessionConfig::default()
                .with_threads(2)
                .with_memory_limit(if force { usize::MAX } else { 20_000 })
                .with_force_spill(force)
                .with_spill_dir(dir.path());
            let ctx = TaskContext::new(config);
            let exec = Executor::new(ctx.clone());
            let out = exec.collect_partitions(&plan).unwrap();
            assert!(ctx.spill.metrics().spill_count() > 0);
            let mut v: Vec<Option<i64>> = out.iter().flat_map(|p| column(p, 1)).collect();
            v.sort_unstable();
            assert_eq!(v, (0..20_000).map(Some).collect::<Vec<_>>());
        }
    }

    #[test]
    fn buckets_cover_the_range() {
        let n = 7;
        let mut seen = vec![false; n];
        for i in 0..10_000u64 {
            seen[bucket_of(crate::hash::mix64(i), n)] = true;
        }
        assert!(seen.iter().all(|s| *s));
        assert_eq!(bucket_of(u64::MAX, n), n - 1);
    }
}
