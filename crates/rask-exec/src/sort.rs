//! `SortExec`: ORDER BY, with an optional fetch (Top-K), external when memory runs short.
//!
//! Each worker buffers the batches it is given, with their key columns, and reserves memory
//! for them (and for sorting them) before it keeps them. With a fetch, a worker keeps only its
//! best `fetch` rows: whenever its buffer grows past twice the fetch it sorts and truncates, so
//! `ORDER BY x LIMIT 10` over a billion rows holds a few thousand rows per worker.
//!
//! When the pool refuses a batch (or `force_spill` is set), the worker sorts its buffer into a
//! *run* and writes it to a spill file (Arrow IPC), frees the memory and goes on. `finish`
//! then spills what is left, merges runs in passes of at most as many runs as the read-back
//! buffers it could reserve allow (multi-level merge), and returns a source whose single
//! morsel streams the final k-way merge: the sorted output is never held in memory. Without
//! spills, `finish` sorts in memory and emits one ordered partition.
//!
//! Order is total and stable: rows with equal keys keep their input order within a worker
//! (runs are merged with the run index as the last key), so the `single-threaded` scheduler
//! gives one answer, Top-K included.

use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, RecordBatchOptions};
use arrow::compute::{interleave, SortOptions};
use arrow::datatypes::SchemaRef;
use arrow::row::{RowConverter, Rows, SortField};
use rask_common::{internal_err, Error, Result};

use crate::executor::{Sink, SinkLocal, TaskContext};
use crate::memory::{array_memory, batch_memory, Reservation};
use crate::physical_expr::PhysicalExpr;
use crate::source::{BatchIter, DataSource, MemorySource, Morsel, MorselRef};
use crate::spill::{SpillFile, SpillManager, SpillReader};

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

/// Merge passes read back at most this many runs at once.
const MAX_FAN_IN: usize = 64;

impl SortSpec {
    fn key_columns(&self, batch: &RecordBatch) -> Result<Vec<ArrayRef>> {
        self.keys
            .iter()
            .map(|k| k.expr.evaluate_to_array(batch))
            .collect()
    }

    fn converter(&self, keys: &[ArrayRef]) -> Result<RowConverter> {
        let fields = keys
            .iter()
            .zip(&self.keys)
            .map(|(a, k)| SortField::new_with_options(a.data_type().clone(), k.options))
            .collect();
        Ok(RowConverter::new(fields)?)
    }

    /// The order of the rows of `batches` (each with its key columns), first `limit` of them,
    /// as `(batch, row)` pairs. Ties keep input order: the row's position is the last key, so
    /// unstable algorithms are stable here.
    fn sorted_indices(
        &self,
        batches: &[(RecordBatch, Vec<ArrayRef>)],
        limit: Option<usize>,
    ) -> Result<Vec<(usize, usize)>> {
        let Some((_, first_keys)) = batches.first() else {
            return Ok(vec![]);
        };
        let converter = self.converter(first_keys)?;
        let mut rows = converter.empty_rows(0, 0);
        let mut starts = Vec::with_capacity(batches.len() + 1);
        let mut total = 0usize;
        for (b, keys) in batches {
            starts.push(total);
            converter.append(&mut rows, keys)?;
            total += b.num_rows();
        }
        starts.push(total);
        if total > u32::MAX as usize {
            return Err(Error::ResourcesExhausted(format!(
                "SortExec: {total} rows in one in-memory sort; lower --memory-limit so that \
                 the sort spills runs"
            )));
        }
        let mut idx: Vec<u32> = (0..total as u32).collect();
        let n = limit.unwrap_or(total).min(total);
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
        let mut out = Vec::with_capacity(idx.len());
        for i in idx {
            let i = i as usize;
            let b = starts.partition_point(|s| *s <= i) - 1;
            out.push((b, i - starts[b]));
        }
        Ok(out)
    }

    /// Sorts `batches` and hands the first `limit` rows to `emit` in chunks of `chunk` rows.
    fn sort_chunks(
        &self,
        batches: &[(RecordBatch, Vec<ArrayRef>)],
        limit: Option<usize>,
        chunk: usize,
        mut emit: impl FnMut(RecordBatch) -> Result<()>,
    ) -> Result<()> {
        let order = self.sorted_indices(batches, limit)?;
        let refs: Vec<&RecordBatch> = batches.iter().map(|(b, _)| b).collect();
        for part in order.chunks(chunk.max(1)) {
            emit(interleave_batches(&self.schema, &refs, part)?)?;
        }
        Ok(())
    }
}

/// `interleave_record_batch` that also handles batches without columns.
fn interleave_batches(
    schema: &SchemaRef,
    batches: &[&RecordBatch],
    indices: &[(usize, usize)],
) -> Result<RecordBatch> {
    let columns = (0..schema.fields().len())
        .map(|c| {
            let cols: Vec<&dyn arrow::array::Array> =
                batches.iter().map(|b| b.column(c).as_ref()).collect();
            Ok(interleave(&cols, indices)?)
        })
        .collect::<Result<Vec<_>>>()?;
    let options = RecordBatchOptions::new().with_row_count(Some(indices.len()));
    Ok(RecordBatch::try_new_with_options(
        Arc::clone(schema),
        columns,
        &options,
    )?)
}

struct SortLocal {
    batches: Vec<(RecordBatch, Vec<ArrayRef>)>,
    rows: usize,
    reservation: Reservation,
    spec: Arc<SortSpec>,
    spill: Arc<SpillManager>,
    force_spill: bool,
    batch_size: usize,
    runs: Vec<SpillFile>,
}

impl SortLocal {
    /// Bytes a buffered batch needs: itself, its keys, and their share of sorting (row
    /// encoding about the size of the keys, plus an index per row).
    fn cost(&self, batch: &RecordBatch, keys: &[ArrayRef]) -> usize {
        let mut bytes = batch_memory(batch) + 24 * batch.num_rows();
        for (k, e) in keys.iter().zip(&self.spec.keys) {
            let size = array_memory(k.as_ref());
            // The row encoding; computed keys are held besides the batch.
            bytes += size;
            if !matches!(e.expr, PhysicalExpr::Column(_)) {
                bytes += size;
            }
        }
        bytes
    }

    /// Sorts the buffer into a run on disk and frees its memory.
    fn spill_run(&mut self) -> Result<()> {
        if self.batches.is_empty() {
            return Ok(());
        }
        let mut writer = self.spill.writer(&self.spec.schema, "sort")?;
        // Runs are written in chunks of about 1/32 of the memory they were sorted in, so a
        // merge with that much memory reads back a dozen runs at once.
        let chunk = (self.rows / 32).clamp(64, self.batch_size.max(64));
        self.spec
            .sort_chunks(&self.batches, self.spec.fetch, chunk, |c| writer.write(&c))?;
        self.runs.push(writer.finish()?);
        self.batches.clear();
        self.rows = 0;
        self.reservation.free();
        Ok(())
    }
}

impl SinkLocal for SortLocal {
    fn sink(&mut self, _item: usize, _partition: usize, batch: RecordBatch) -> Result<()> {
        let keys = self.spec.key_columns(&batch)?;
        let cost = self.cost(&batch, &keys);
        if self.reservation.try_grow(cost).is_err() {
            self.spill_run()?;
            self.reservation.try_grow(cost)?;
        }
        self.rows += batch.num_rows();
        self.batches.push((batch, keys));
        if self.force_spill {
            return self.spill_run();
        }
        if let Some(fetch) = self.spec.fetch {
            // Top-K: keep the buffer near `fetch` rows.
            if self.rows > fetch.max(1024).saturating_mul(2) {
                let mut kept = Vec::new();
                self.spec
                    .sort_chunks(&self.batches, Some(fetch), usize::MAX, |c| {
                        kept.push(c);
                        Ok(())
                    })?;
                self.batches.clear();
                self.rows = 0;
                self.reservation.free();
                let mut keyed = Vec::with_capacity(kept.len());
                let mut cost = 0;
                for b in kept {
                    let keys = self.spec.key_columns(&b)?;
                    cost += self.cost(&b, &keys);
                    keyed.push((b, keys));
                }
                if self.reservation.try_grow(cost).is_ok() {
                    self.rows = keyed.iter().map(|(b, _)| b.num_rows()).sum();
                    self.batches = keyed;
                } else {
                    // The best `fetch` rows do not fit: they are sorted, so they are a run.
                    let mut writer = self.spill.writer(&self.spec.schema, "sort")?;
                    for (b, _) in &keyed {
                        let chunk = self.batch_size.max(1);
                        let mut off = 0;
                        while off < b.num_rows() {
                            let len = chunk.min(b.num_rows() - off);
                            writer.write(&b.slice(off, len))?;
                            off += len;
                        }
                    }
                    self.runs.push(writer.finish()?);
                }
            }
        }
        Ok(())
    }
    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any + Send> {
        self
    }
}

impl SortExec {
    /// Whether to sort in memory: nothing was spilled, and the output (about the size of the
    /// input) fits beside the input in what is left of the pool.
    fn in_memory(locals: &[SortLocal], ctx: &TaskContext) -> bool {
        if locals.iter().any(|l| !l.runs.is_empty()) {
            return false;
        }
        let held: usize = locals.iter().map(|l| l.reservation.size()).sum();
        held <= ctx.pool.limit().saturating_sub(ctx.pool.used())
    }

    fn take_locals(locals: Vec<Box<dyn SinkLocal>>) -> Result<Vec<SortLocal>> {
        locals
            .into_iter()
            .map(|l| {
                l.into_any()
                    .downcast::<SortLocal>()
                    .map(|l| *l)
                    .map_err(|_| Error::Internal("SortExec: foreign local".into()))
            })
            .collect()
    }

    /// The in-memory sort of every worker's buffer: one ordered partition.
    fn sort_in_memory(
        &self,
        locals: Vec<SortLocal>,
        ctx: &TaskContext,
    ) -> Result<Vec<Vec<RecordBatch>>> {
        let mut batches = Vec::new();
        let mut reservations = Vec::new();
        for l in locals {
            batches.extend(l.batches);
            reservations.push(l.reservation);
        }
        let mut out = Vec::new();
        let mut res = ctx.pool.reservation("SortExec(output)");
        self.inner.sort_chunks(
            &batches,
            self.inner.fetch,
            ctx.config.batch_size.max(1),
            |c| {
                res.try_grow(c.get_array_memory_size())?;
                out.push(c);
                Ok(())
            },
        )?;
        drop(batches);
        drop(reservations);
        Ok(vec![out])
    }

    /// Spills what is left, merges runs until one pass can read them all back, and returns
    /// the source of the final merge.
    fn merge_runs(&self, locals: Vec<SortLocal>, ctx: &TaskContext) -> Result<MergeSource> {
        let mut runs = Vec::new();
        for mut l in locals {
            l.spill_run()?;
            runs.append(&mut l.runs);
        }
        let fan_in = |runs: &[SpillFile]| -> Result<(usize, Reservation)> {
            let per_run = runs
                .iter()
                .map(|r| r.max_batch_memory())
                .max()
                .unwrap_or(0)
                .saturating_mul(3)
                .max(1);
            let mut res = ctx.pool.reservation("SortExec(merge)");
            let mut k = 0;
            while k < runs.len().min(MAX_FAN_IN) && res.try_grow(per_run).is_ok() {
                k += 1;
            }
            if k < 2 && runs.len() > 1 {
                return Err(Error::ResourcesExhausted(format!(
                    "SortExec needs {} bytes to merge two sorted runs, but the memory limit \
                     of {} bytes has {} in use. Raise --memory-limit",
                    per_run * 2,
                    ctx.pool.limit(),
                    ctx.pool.used()
                )));
            }
            Ok((k.max(1), res))
        };
        loop {
            let (k, res) = fan_in(&runs)?;
            if runs.len() <= k {
                return Ok(MergeSource {
                    morsel: Arc::new(MergeMorsel {
                        spec: Arc::clone(&self.inner),
                        batch_size: ctx.config.batch_size.max(1),
                        input: std::sync::Mutex::new(Some((runs, res))),
                    }),
                });
            }
            // One pass: merge groups of `k` runs into new runs, in order (stability).
            let mut next = Vec::new();
            let mut rest = runs.into_iter();
            loop {
                let group: Vec<SpillFile> = rest.by_ref().take(k).collect();
                if group.is_empty() {
                    break;
                }
                if group.len() == 1 {
                    next.extend(group);
                    continue;
                }
                let mut writer = ctx.spill.writer(&self.inner.schema, "sort")?;
                let merge = MergeIter::new(
                    Arc::clone(&self.inner),
                    &group,
                    ctx.config.batch_size.max(1),
                    self.inner.fetch,
                )?;
                for b in merge {
                    writer.write(&b?)?;
                }
                next.push(writer.finish()?);
            }
            drop(res);
            runs = next;
        }
    }
}

impl Sink for SortExec {
    fn make_local(&self, ctx: &TaskContext) -> Result<Box<dyn SinkLocal>> {
        Ok(Box::new(SortLocal {
            batches: vec![],
            rows: 0,
            reservation: ctx
                .pool
                .spillable_reservation("SortExec", ctx.config.effective_threads()),
            spec: Arc::clone(&self.inner),
            spill: Arc::clone(&ctx.spill),
            force_spill: ctx.config.force_spill,
            batch_size: ctx.config.batch_size.max(1),
            runs: vec![],
        }))
    }

    fn finish(
        &self,
        locals: Vec<Box<dyn SinkLocal>>,
        ctx: &TaskContext,
    ) -> Result<Vec<Vec<RecordBatch>>> {
        let locals = Self::take_locals(locals)?;
        if Self::in_memory(&locals, ctx) {
            return self.sort_in_memory(locals, ctx);
        }
        let source = self.merge_runs(locals, ctx)?;
        let mut out = Vec::new();
        for m in source.morsels()? {
            for b in m.open()? {
                out.push(b?);
            }
        }
        Ok(vec![out])
    }

    fn finish_source(
        &self,
        locals: Vec<Box<dyn SinkLocal>>,
        ctx: &TaskContext,
    ) -> Result<Arc<dyn DataSource>> {
        let locals = Self::take_locals(locals)?;
        if Self::in_memory(&locals, ctx) {
            let parts = self.sort_in_memory(locals, ctx)?;
            return Ok(Arc::new(MemorySource::new(self.schema(), parts)));
        }
        Ok(Arc::new(self.merge_runs(locals, ctx)?))
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

/// The final merge of spilled runs, as a source of one morsel (one ordered partition).
#[derive(Debug)]
struct MergeSource {
    morsel: Arc<MergeMorsel>,
}

impl DataSource for MergeSource {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.morsel.spec.schema)
    }
    fn morsels(&self) -> Result<Vec<MorselRef>> {
        Ok(vec![Arc::clone(&self.morsel) as MorselRef])
    }
}

#[derive(Debug)]
struct MergeMorsel {
    spec: Arc<SortSpec>,
    batch_size: usize,
    /// The runs and the read-back reservation, taken by `open`.
    input: std::sync::Mutex<Option<(Vec<SpillFile>, Reservation)>>,
}

impl Morsel for MergeMorsel {
    fn open(&self) -> Result<BatchIter> {
        // The runs are read once; they (and the read-back reservation) go with the iterator,
        // so the files are deleted as soon as the merge is done.
        let input = self
            .input
            .lock()
            .map_err(|_| Error::Internal("SortExec: runs lock poisoned".into()))?
            .take();
        let Some((runs, reservation)) = input else {
            return internal_err!("SortExec: merged output read twice");
        };
        let mut iter = MergeIter::new(
            Arc::clone(&self.spec),
            &runs,
            self.batch_size,
            self.spec.fetch,
        )?;
        iter.hold = Some((runs, reservation));
        Ok(Box::new(iter))
    }
    fn partition(&self) -> usize {
        0
    }
}

/// One run being read back: its current batch, that batch's key rows, and the position.
struct RunCursor {
    reader: SpillReader,
    rows: Rows,
    pos: usize,
    /// Index of the current batch in the merge's `sources`.
    source: usize,
}

/// K-way merge of sorted runs on arrow's row format, with a binary heap of run indices.
struct MergeIter {
    spec: Arc<SortSpec>,
    converter: Option<RowConverter>,
    cursors: Vec<Option<RunCursor>>,
    heap: Vec<usize>,
    /// Batches referenced by the output being built.
    sources: Vec<RecordBatch>,
    pending: Vec<(usize, usize)>,
    batch_size: usize,
    remaining: usize,
    started: bool,
    failed: bool,
    /// Keeps the runs' files and the read-back reservation alive while merging.
    hold: Option<(Vec<SpillFile>, Reservation)>,
}

impl MergeIter {
    fn new(
        spec: Arc<SortSpec>,
        runs: &[SpillFile],
        batch_size: usize,
        fetch: Option<usize>,
    ) -> Result<Self> {
        let mut cursors = Vec::with_capacity(runs.len());
        for r in runs {
            cursors.push(Some(RunCursor {
                reader: r.read()?,
                rows: RowConverter::new(vec![])?.empty_rows(0, 0),
                pos: 0,
                source: usize::MAX,
            }));
        }
        Ok(MergeIter {
            spec,
            converter: None,
            cursors,
            heap: Vec::new(),
            sources: Vec::new(),
            pending: Vec::new(),
            batch_size,
            remaining: fetch.unwrap_or(usize::MAX),
            started: false,
            failed: false,
            hold: None,
        })
    }

    /// Loads the next non-empty batch of run `r`; false when the run is exhausted.
    fn advance_batch(&mut self, r: usize) -> Result<bool> {
        loop {
            let Some(c) = self.cursors[r].as_mut() else {
                return Ok(false);
            };
            let Some(batch) = c.reader.next().transpose()? else {
                self.cursors[r] = None;
                return Ok(false);
            };
            if batch.num_rows() == 0 {
                continue;
            }
            let keys = self.spec.key_columns(&batch)?;
            if self.converter.is_none() {
                self.converter = Some(self.spec.converter(&keys)?);
            }
            let Some(conv) = &self.converter else {
                return internal_err!("SortExec: merge without a row converter");
            };
            let rows = conv.convert_columns(&keys)?;
            let Some(c) = self.cursors[r].as_mut() else {
                return internal_err!("SortExec: run vanished");
            };
            c.rows = rows;
            c.pos = 0;
            c.source = self.sources.len();
            self.sources.push(batch);
            return Ok(true);
        }
    }

    fn less(&self, a: usize, b: usize) -> bool {
        match (&self.cursors[a], &self.cursors[b]) {
            (Some(x), Some(y)) => x
                .rows
                .row(x.pos)
                .cmp(&y.rows.row(y.pos))
                .then(a.cmp(&b))
                .is_lt(),
            _ => a < b,
        }
    }

    fn sift_down(&mut self, mut i: usize) {
        let n = self.heap.len();
        loop {
            let l = 2 * i + 1;
            if l >= n {
                break;
            }
            let mut m = l;
            if l + 1 < n && self.less(self.heap[l + 1], self.heap[l]) {
                m = l + 1;
            }
            if self.less(self.heap[m], self.heap[i]) {
                self.heap.swap(i, m);
                i = m;
            } else {
                break;
            }
        }
    }

    fn start(&mut self) -> Result<()> {
        for r in 0..self.cursors.len() {
            if self.advance_batch(r)? {
                self.heap.push(r);
            }
        }
        for i in (0..self.heap.len() / 2).rev() {
            self.sift_down(i);
        }
        Ok(())
    }

    /// Builds the next output batch.
    fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        if !self.started {
            self.started = true;
            self.start()?;
        }
        self.pending.clear();
        while self.pending.len() < self.batch_size && self.remaining > 0 {
            let Some(&top) = self.heap.first() else {
                break;
            };
            let Some(c) = self.cursors[top].as_mut() else {
                return internal_err!("SortExec: heap holds an exhausted run");
            };
            self.pending.push((c.source, c.pos));
            self.remaining -= 1;
            c.pos += 1;
            if c.pos >= c.rows.num_rows() && !self.advance_batch(top)? {
                let last = self.heap.len() - 1;
                self.heap.swap(0, last);
                self.heap.pop();
            }
            self.sift_down(0);
        }
        if self.pending.is_empty() {
            return Ok(None);
        }
        let refs: Vec<&RecordBatch> = self.sources.iter().collect();
        let out = interleave_batches(&self.spec.schema, &refs, &self.pending)?;
        // Keep only the batches the runs are still reading.
        let mut kept = Vec::new();
        for c in self.cursors.iter_mut().flatten() {
            if c.source != usize::MAX {
                kept.push(self.sources[c.source].clone());
                c.source = kept.len() - 1;
            }
        }
        self.sources = kept;
        Ok(Some(out))
    }
}

impl Iterator for MergeIter {
    type Item = Result<RecordBatch>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        match self.next_batch() {
            Ok(Some(b)) => Some(Ok(b)),
            Ok(None) => {
                self.hold = None;
                None
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}
