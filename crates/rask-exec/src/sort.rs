//! `SortExec`: ORDER BY, with an optional fetch (Top-K).
//!
//! Each worker buffers the batches it is given. With a fetch, a worker keeps only its best
//! `fetch` rows: whenever its buffer grows past twice the fetch it sorts and truncates, so a
//! `ORDER BY x LIMIT 10` over a billion rows holds a few thousand rows per worker. `finish`
//! concatenates the workers' rows, computes the sort order once on arrow's row format and
//! emits one ordered partition.
//!
//! Memory is reserved from the session pool before buffers grow; spilling sorted runs comes
//! with the out-of-core work.

use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, UInt32Array};
use arrow::compute::{concat_batches, take_record_batch, SortOptions};
use arrow::datatypes::SchemaRef;
use arrow::row::{RowConverter, SortField};
use rask_common::Result;

use crate::executor::{Sink, SinkLocal, TaskContext};
use crate::memory::Reservation;
use crate::physical_expr::PhysicalExpr;

/// One sort key: an expression over the input and its order.
#[derive(Debug, Clone)]
pub struct PhysicalSortExpr {
    /// The key.
    pub expr: PhysicalExpr,
    /// Ascending / descending and NULL placement.
    pub options: SortOptions,
}

/// Sorts its whole input (or keeps its first `fetch` rows in order).
#[derive(Debug)]
pub struct SortExec {
    inner: Arc<SortSpec>,
}

#[derive(Debug)]
struct SortSpec {
    keys: Vec<PhysicalSortExpr>,
    fetch: Option<usize>,
    schema: SchemaRef,
}

impl SortExec {
    /// A sort of input batches with `schema` by `keys`, keeping the first `fetch` rows.
    pub fn new(keys: Vec<PhysicalSortExpr>, fetch: Option<usize>, schema: SchemaRef) -> Self {
        SortExec {
            inner: Arc::new(SortSpec {
                keys,
                fetch,
                schema,
            }),
        }
    }
}

impl SortSpec {
    /// Sorts `batch` and keeps the first `limit` rows.
    fn sort_batch(&self, batch: &RecordBatch, limit: Option<usize>) -> Result<RecordBatch> {
        let indices = self.sort_indices(batch, limit)?;
        Ok(take_record_batch(batch, &indices)?)
    }

    /// The order of `batch`'s rows (first `limit` of them), on arrow's row format. Ties keep
    /// input order, so the `single-threaded` scheduler gives one answer, Top-K included.
    fn sort_indices(&self, batch: &RecordBatch, limit: Option<usize>) -> Result<UInt32Array> {
        let keys: Vec<ArrayRef> = self
            .keys
            .iter()
            .map(|k| k.expr.evaluate_to_array(batch))
            .collect::<Result<_>>()?;
        let fields = keys
            .iter()
            .zip(&self.keys)
            .map(|(a, k)| SortField::new_with_options(a.data_type().clone(), k.options))
            .collect();
        let converter = RowConverter::new(fields)?;
        let rows = converter.convert_columns(&keys)?;
        let mut idx: Vec<u32> = (0..batch.num_rows() as u32).collect();
        let n = limit.unwrap_or(idx.len()).min(idx.len());
        // Row index as the last key: a total order, so unstable algorithms are stable here.
        let cmp = |a: &u32, b: &u32| {
            rows.row(*a as usize)
                .cmp(&rows.row(*b as usize))
                .then(a.cmp(b))
        };
        if n == 0 {
            idx.clear();
        } else if n < idx.len() {
            idx.select_nth_unstable_by(n - 1, cmp);
            idx.truncate(n);
        }
        idx.sort_unstable_by(cmp);
        Ok(UInt32Array::from(idx))
    }
}

struct SortLocal {
    batches: Vec<RecordBatch>,
    rows: usize,
    reservation: Reservation,
    spec: Arc<SortSpec>,
}

impl SinkLocal for SortLocal {
    fn sink(&mut self, _item: usize, _partition: usize, batch: RecordBatch) -> Result<()> {
        self.reservation.try_grow(batch.get_array_memory_size())?;
        self.rows += batch.num_rows();
        self.batches.push(batch);
        if let Some(fetch) = self.spec.fetch {
            // Top-K: keep the buffer near `fetch` rows.
            if self.rows > fetch.max(1024).saturating_mul(2) {
                let all = concat_batches(&self.spec.schema, &self.batches)?;
                let top = self.spec.sort_batch(&all, Some(fetch))?;
                self.rows = top.num_rows();
                self.reservation.try_resize(top.get_array_memory_size())?;
                self.batches = vec![top];
            }
        }
        Ok(())
    }
    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any + Send> {
        self
    }
}

impl Sink for SortExec {
    fn make_local(&self, ctx: &TaskContext) -> Result<Box<dyn SinkLocal>> {
        Ok(Box::new(SortLocal {
            batches: vec![],
            rows: 0,
            reservation: ctx.pool.reservation("SortExec"),
            spec: Arc::clone(&self.inner),
        }))
    }

    fn finish(
        &self,
        locals: Vec<Box<dyn SinkLocal>>,
        ctx: &TaskContext,
    ) -> Result<Vec<Vec<RecordBatch>>> {
        let mut batches = Vec::new();
        let mut reservations = Vec::new();
        for l in locals {
            let l = l
                .into_any()
                .downcast::<SortLocal>()
                .map_err(|_| rask_common::Error::Internal("SortExec: foreign local".into()))?;
            batches.extend(l.batches);
            reservations.push(l.reservation);
        }
        let all = concat_batches(&self.inner.schema, &batches)?;
        drop(batches);
        let mut res = ctx.pool.reservation("SortExec(output)");
        res.try_grow(all.get_array_memory_size())?;
        let sorted = self.inner.sort_batch(&all, self.inner.fetch)?;
        drop(all);
        drop(reservations);
        let batch_size = ctx.config.batch_size.max(1);
        let mut out = Vec::new();
        let mut offset = 0;
        while offset < sorted.num_rows() {
            let len = batch_size.min(sorted.num_rows() - offset);
            out.push(sorted.slice(offset, len));
            offset += len;
        }
        Ok(vec![out])
    }

    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.inner.schema)
    }

    fn describe(&self) -> String {
        let keys: Vec<String> = self
            .inner
            .keys
            .iter()
            .map(|k| {
                format!(
                    "{} {}{}",
                    k.expr,
                    if k.options.descending { "DESC" } else { "ASC" },
                    if k.options.nulls_first {
                        " NULLS FIRST"
                    } else {
                        " NULLS LAST"
                    }
                )
            })
            .collect();
        match self.inner.fetch {
            Some(f) => format!("SortExec: TopK(fetch={f}) [{}]", keys.join(", ")),
            None => format!("SortExec: [{}]", keys.join(", ")),
        }
    }
}
