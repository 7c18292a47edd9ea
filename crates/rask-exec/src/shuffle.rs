//! `ShuffleExec`: the one shuffle of the engine (DESIGN.md §2).
//!
//! A shuffle is a materialising sink: each worker hashes the key columns of every batch with the
//! engine hash ([`crate::hash::hash_columns`]), appends the rows to one of `n` buckets, and at
//! `finish` bucket `q` of every worker becomes output partition `q`. Repartitioning by key,
//! partitioned writes and (later) the distributed exchange all go through it; the distributed
//! mode only changes where bucket `q` is delivered (`q mod W`). Round-robin partitioning deals
//! whole batches out in turn, for `repartition(n)` without keys.
//!
//! Bucket memory is reserved from the session pool before it grows; spilling buckets as Arrow
//! IPC comes with the out-of-core work and changes nothing here but `SinkLocal::sink`.

use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, UInt32Array};
use arrow::compute::{concat_batches, take_record_batch};
use arrow::datatypes::SchemaRef;
use rask_common::{internal_err, Result};

use crate::executor::{Sink, SinkLocal, TaskContext};
use crate::hash::hash_columns;
use crate::memory::Reservation;
use crate::physical_expr::PhysicalExpr;

/// How rows are routed to output partitions.
#[derive(Debug, Clone)]
pub enum Partitioning {
    /// Rows with equal keys go to the same one of `n` partitions.
    Hash(Vec<PhysicalExpr>, usize),
    /// Batches dealt out to `n` partitions in turn.
    RoundRobin(usize),
}

impl Partitioning {
    /// Number of output partitions.
    pub fn partition_count(&self) -> usize {
        match self {
            Partitioning::Hash(_, n) | Partitioning::RoundRobin(n) => (*n).max(1),
        }
    }
}

/// The bucket of a hash among `n`: the high bits, so that it is independent of the low bits
/// that hash tables use.
pub fn bucket_of(hash: u64, n: usize) -> usize {
    (((hash >> 32) * n as u64) >> 32) as usize
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
    buckets: Vec<Vec<RecordBatch>>,
    partitioning: Partitioning,
    hashes: Vec<u64>,
    next: usize,
    reservation: Reservation,
}

impl SinkLocal for ShuffleLocal {
    fn sink(&mut self, _item: usize, _partition: usize, batch: RecordBatch) -> Result<()> {
        self.reservation.try_grow(batch.get_array_memory_size())?;
        let n = self.buckets.len();
        match &self.partitioning {
            Partitioning::RoundRobin(_) => {
                self.buckets[self.next % n].push(batch);
                self.next += 1;
            }
            Partitioning::Hash(keys, _) => {
                let rows = batch.num_rows();
                let cols: Vec<ArrayRef> = keys
                    .iter()
                    .map(|k| k.evaluate_to_array(&batch))
                    .collect::<Result<_>>()?;
                hash_columns(&cols, rows, &mut self.hashes)?;
                let mut indices: Vec<Vec<u32>> = vec![Vec::new(); n];
                for (row, h) in self.hashes.iter().enumerate() {
                    indices[bucket_of(*h, n)].push(row as u32);
                }
                for (q, idx) in indices.into_iter().enumerate() {
                    if idx.len() == rows {
                        self.buckets[q].push(batch);
                        break;
                    }
                    if !idx.is_empty() {
                        let idx = UInt32Array::from(idx);
                        self.buckets[q].push(take_record_batch(&batch, &idx)?);
                    }
                }
            }
        }
        Ok(())
    }
    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any + Send> {
        self
    }
}

impl Sink for ShuffleExec {
    fn make_local(&self, ctx: &TaskContext) -> Result<Box<dyn SinkLocal>> {
        Ok(Box::new(ShuffleLocal {
            buckets: vec![Vec::new(); self.partitioning.partition_count()],
            partitioning: self.partitioning.clone(),
            hashes: Vec::new(),
            next: 0,
            reservation: ctx.pool.reservation("ShuffleExec"),
        }))
    }

    fn finish(
        &self,
        locals: Vec<Box<dyn SinkLocal>>,
        ctx: &TaskContext,
    ) -> Result<Vec<Vec<RecordBatch>>> {
        let n = self.partitioning.partition_count();
        let mut out: Vec<Vec<RecordBatch>> = vec![Vec::new(); n];
        let mut reservations = Vec::new();
        for l in locals {
            let Ok(l) = l.into_any().downcast::<ShuffleLocal>() else {
                return internal_err!("unexpected sink local in ShuffleExec");
            };
            for (q, batches) in l.buckets.into_iter().enumerate() {
                out[q].extend(batches);
            }
            reservations.push(l.reservation);
        }
        // Many small slices make slow morsels: coalesce each partition into batches of about
        // the configured size.
        let target = ctx.config.batch_size.max(1);
        out.into_iter()
            .map(|batches| {
                let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
                if batches.len() <= 1 || rows / batches.len() >= target / 2 {
                    return Ok(batches);
                }
                let all = concat_batches(&self.schema, &batches)?;
                let mut parts = Vec::new();
                let mut off = 0;
                while off < all.num_rows() {
                    let len = target.min(all.num_rows() - off);
                    parts.push(all.slice(off, len));
                    off += len;
                }
                Ok(parts)
            })
            .collect()
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
