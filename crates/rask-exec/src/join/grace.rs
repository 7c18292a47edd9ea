//! Out-of-core hash joins: the grace hash join.
//!
//! The executor runs a join's build input into a [`GraceBuildSink`] first. It keeps build
//! batches in memory, reserving what the build sink will need for them (the batches, their
//! concatenated copy, hashes and table entries). When the pool refuses (or `force_spill` is set), every
//! worker switches to spilling: its buffered and later batches are split by the hash of the
//! build keys into [`GRACE_PARTITIONS`] spill files. If nothing was spilled, the batches go
//! to the join's own build sink as before (and if *that* runs out of memory, they are spilled
//! after all). Otherwise the probe input is split the same way into files
//! ([`GraceProbeSink`]), and a [`GraceSource`] of one morsel per partition joins partition
//! pairs: build partition `p` into a fresh run of the join, probe partition `p` through its
//! probe operator, then the build rows the join emits after probing. Rows with equal keys
//! land in the same partition, so every join type is computed partition by partition.
//! The null-aware anti join (`NOT IN`) depends on NULLs anywhere in the build input: its
//! build split leaves out rows with a NULL key and notes that it saw one; then the probe split
//! writes nothing when it did (`x NOT IN (.., NULL, ..)` is never TRUE), leaves out probe rows
//! with a NULL key when the build input has rows (`NULL NOT IN (non-empty)` is never TRUE),
//! and keeps them all when it has none. Each partition pair is then a null-aware anti join
//! without NULL keys, whose answer is the partition's share of the whole.
//!
//! A build partition that still does not fit is split again (both sides, by other hash bits)
//! and its sub-partitions joined one by one, up to three more levels; past that (one key with
//! more rows than memory holds) the join fails with `ResourcesExhausted`.

use std::any::Any;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use arrow::array::{ArrayRef, BooleanArray, RecordBatch};
use arrow::compute::{filter, filter_record_batch};
use arrow::datatypes::SchemaRef;
use rask_common::{internal_err, Error, Result};

use super::build::key_validity;
use super::JoinExec;
use crate::executor::{Sink, SinkLocal, StreamOperator, TaskContext};
use crate::hash::hash_rows;
use crate::memory::{batch_memory, Reservation};
use crate::physical_expr::PhysicalExpr;
use crate::source::{batches_of, BatchIter, DataSource, Morsel, MorselRef};
use crate::spill::{gather_partitions, FilesReader, PartitionedSpill, SpillFile, SpillManager};

/// Both inputs of a spilled join are split into this many partitions.
pub const GRACE_PARTITIONS: usize = 32;

/// The key expressions a join's inputs are partitioned by.
#[derive(Debug, Clone)]
pub struct PartitionKeys {
    /// Over the build input.
    pub build: Vec<PhysicalExpr>,
    /// Over the probe input.
    pub probe: Vec<PhysicalExpr>,
    /// A null-aware anti join (`NOT IN`): rows with NULL keys are split as the module says.
    pub null_aware: bool,
}

impl PartitionKeys {
    /// No keys: every row goes to one partition (a nested loop join's inputs, see
    /// [`blocks`](super::blocks)).
    pub fn none() -> Self {
        PartitionKeys {
            build: Vec::new(),
            probe: Vec::new(),
            null_aware: false,
        }
    }
}

/// What a split does with rows that have a NULL key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NullRows {
    /// Partitions them like any row.
    Keep,
    /// Leaves them out (and notes that it saw one).
    Drop,
    /// Leaves out every row.
    DropAll,
}

impl NullRows {
    /// How the build split of a join treats NULL keys.
    fn build(keys: &PartitionKeys) -> Self {
        if keys.null_aware {
            NullRows::Drop
        } else {
            NullRows::Keep
        }
    }

    /// How the probe split treats NULL keys, given what the build split saw.
    fn probe(keys: &PartitionKeys, build: &Split) -> Self {
        if !keys.null_aware {
            NullRows::Keep
        } else if build.null_keys {
            NullRows::DropAll
        } else if build.files.iter().flatten().any(|f| f.rows() > 0) {
            NullRows::Drop
        } else {
            NullRows::Keep
        }
    }
}

/// One input of a join split into partitions.
pub struct Split {
    /// Per partition, the files of every worker.
    pub files: Vec<Vec<SpillFile>>,
    /// Rows with a NULL key were left out ([`NullRows::Drop`]).
    pub null_keys: bool,
}

/// The partition of a hash; each recursion `depth` uses other bits.
fn grace_partition(hash: u64, depth: u32) -> usize {
    (((hash.rotate_left(11 * depth) >> 32) * GRACE_PARTITIONS as u64) >> 32) as usize
}

/// Per-partition spill files of one input, written by one worker.
struct PartitionWriters {
    files: PartitionedSpill,
    keys: Vec<PhysicalExpr>,
    /// Recursion depth (0: the first split).
    depth: u32,
    nulls: NullRows,
    /// A row with a NULL key was left out.
    saw_null: bool,
}

impl PartitionWriters {
    fn new(
        spill: Arc<SpillManager>,
        schema: SchemaRef,
        keys: Vec<PhysicalExpr>,
        nulls: NullRows,
    ) -> Self {
        PartitionWriters {
            files: PartitionedSpill::new(spill, schema, "join", GRACE_PARTITIONS),
            keys,
            depth: 0,
            nulls,
            saw_null: false,
        }
    }

    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 || self.nulls == NullRows::DropAll {
            return Ok(());
        }
        let keys = self
            .keys
            .iter()
            .map(|k| k.evaluate_to_array(batch))
            .collect::<Result<Vec<_>>>()?;
        let valid = match self.nulls {
            NullRows::Drop => key_validity(&keys),
            _ => None,
        };
        if let Some(valid) = valid {
            self.saw_null = true;
            let keep = BooleanArray::new(valid.into_inner(), None);
            let batch = filter_record_batch(batch, &keep)?;
            let keys = keys
                .iter()
                .map(|k| filter(k.as_ref(), &keep))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            return self.write_hashed(&batch, &keys);
        }
        self.write_hashed(batch, &keys)
    }

    fn write_hashed(&mut self, batch: &RecordBatch, keys: &[ArrayRef]) -> Result<()> {
        // No keys (a nested loop join's inputs): every row hashes alike, one partition.
        let hashes = hash_rows(keys, batch.num_rows())?;
        let depth = self.depth;
        self.files
            .write(batch, &hashes, |h| grace_partition(h, depth))
    }
}

/// Gathers per-partition files from every worker.
fn collect(all: Vec<PartitionWriters>) -> Result<Split> {
    let null_keys = all.iter().any(|w| w.saw_null);
    let files = all
        .into_iter()
        .map(|w| w.files.finish())
        .collect::<Result<Vec<_>>>()?;
    Ok(Split {
        files: gather_partitions(files, GRACE_PARTITIONS),
        null_keys,
    })
}

/// Buffers the build input, or splits it into spill files once memory runs short.
#[derive(Debug)]
pub struct GraceBuildSink {
    keys: Vec<PhysicalExpr>,
    nulls: NullRows,
    schema: SchemaRef,
    /// Set by the first worker that spills: the others follow.
    spilling: Arc<AtomicBool>,
}

impl GraceBuildSink {
    /// A sink for build batches of `schema` partitioned by `keys.build`.
    pub fn new(keys: &PartitionKeys, schema: SchemaRef) -> Self {
        GraceBuildSink {
            keys: keys.build.clone(),
            nulls: NullRows::build(keys),
            schema,
            spilling: Arc::new(AtomicBool::new(false)),
        }
    }
}

/// What holding `batch` in a join's build side costs: the batch, its copy when the build
/// concatenates, and per row a hash and hash table entries.
fn build_cost(batch: &RecordBatch) -> usize {
    2 * batch_memory(batch) + 32 * batch.num_rows()
}

struct GraceBuildLocal {
    batches: Vec<RecordBatch>,
    reservation: Reservation,
    writers: Option<PartitionWriters>,
    spill: Arc<SpillManager>,
    keys: Vec<PhysicalExpr>,
    nulls: NullRows,
    schema: SchemaRef,
    spilling: Arc<AtomicBool>,
    force: bool,
}

impl GraceBuildLocal {
    fn start_spilling(&mut self) -> Result<()> {
        let mut w = PartitionWriters::new(
            Arc::clone(&self.spill),
            Arc::clone(&self.schema),
            self.keys.clone(),
            self.nulls,
        );
        for b in std::mem::take(&mut self.batches) {
            w.write(&b)?;
        }
        self.reservation.free();
        self.writers = Some(w);
        self.spilling.store(true, Ordering::Relaxed);
        Ok(())
    }
}

impl SinkLocal for GraceBuildLocal {
    fn sink(&mut self, _item: usize, _partition: usize, batch: RecordBatch) -> Result<()> {
        if self.writers.is_none()
            && (self.force
                || self.spilling.load(Ordering::Relaxed)
                || self.reservation.try_grow(build_cost(&batch)).is_err())
        {
            self.start_spilling()?;
        }
        match &mut self.writers {
            Some(w) => w.write(&batch),
            None => {
                self.batches.push(batch);
                Ok(())
            }
        }
    }
    fn into_any(self: Box<Self>) -> Box<dyn Any + Send> {
        self
    }
}

impl Sink for GraceBuildSink {
    fn make_local(&self, ctx: &TaskContext) -> Result<Box<dyn SinkLocal>> {
        Ok(Box::new(GraceBuildLocal {
            batches: Vec::new(),
            reservation: ctx.pool.spillable_reservation(
                // No keys: a nested loop join's build side (see `blocks`).
                if self.keys.is_empty() {
                    "NestedLoopJoinExec(build)"
                } else {
                    "HashJoinExec(build)"
                },
                ctx.config.effective_threads(),
            ),
            writers: None,
            spill: Arc::clone(&ctx.spill),
            keys: self.keys.clone(),
            nulls: self.nulls,
            schema: Arc::clone(&self.schema),
            spilling: Arc::clone(&self.spilling),
            force: ctx.config.force_spill,
        }))
    }
    fn finish(
        &self,
        _locals: Vec<Box<dyn SinkLocal>>,
        _ctx: &TaskContext,
    ) -> Result<Vec<Vec<RecordBatch>>> {
        internal_err!("GraceBuildSink is finished by the executor through build_outcome")
    }
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }
    fn describe(&self) -> String {
        "GraceBuildSink".into()
    }
}

/// What the build phase produced.
pub enum BuildOutcome {
    /// Everything fits: the build batches, one list per worker.
    InMemory(Vec<Vec<RecordBatch>>),
    /// Spilled into partitions.
    Spilled(Split),
}

impl GraceBuildSink {
    /// Collects the workers' buffers or files (spilling every buffer if any worker spilled).
    pub fn build_outcome(&self, locals: Vec<Box<dyn SinkLocal>>) -> Result<BuildOutcome> {
        let mut locals = locals
            .into_iter()
            .map(|l| match l.into_any().downcast::<GraceBuildLocal>() {
                Ok(l) => Ok(*l),
                Err(_) => internal_err!("GraceBuildSink: foreign local"),
            })
            .collect::<Result<Vec<_>>>()?;
        if !locals.iter().any(|l| l.writers.is_some()) {
            return Ok(BuildOutcome::InMemory(
                locals.into_iter().map(|l| l.batches).collect(),
            ));
        }
        let mut all = Vec::new();
        for l in &mut locals {
            if l.writers.is_none() {
                l.start_spilling()?;
            }
            all.extend(l.writers.take());
        }
        Ok(BuildOutcome::Spilled(collect(all)?))
    }
}

/// Spills build batches already in memory (after the join's build sink ran out of memory).
pub fn spill_build(
    parts: Vec<Vec<RecordBatch>>,
    keys: &PartitionKeys,
    schema: &SchemaRef,
    ctx: &TaskContext,
) -> Result<Split> {
    let mut w = PartitionWriters::new(
        Arc::clone(&ctx.spill),
        Arc::clone(schema),
        keys.build.clone(),
        NullRows::build(keys),
    );
    for b in parts.into_iter().flatten() {
        w.write(&b)?;
    }
    collect(vec![w])
}

/// Splits the probe input into spill files by the hash of the probe keys.
#[derive(Debug)]
pub struct GraceProbeSink {
    keys: Vec<PhysicalExpr>,
    nulls: NullRows,
    schema: SchemaRef,
}

impl GraceProbeSink {
    /// A sink for probe batches of `schema` partitioned by `keys.probe`, after the build
    /// input was split into `build`.
    pub fn new(keys: &PartitionKeys, build: &Split, schema: SchemaRef) -> Self {
        GraceProbeSink {
            keys: keys.probe.clone(),
            nulls: NullRows::probe(keys, build),
            schema,
        }
    }

    /// Per partition, the probe files of every worker.
    pub fn files(&self, locals: Vec<Box<dyn SinkLocal>>) -> Result<Vec<Vec<SpillFile>>> {
        let mut all = Vec::new();
        for l in locals {
            match l.into_any().downcast::<GraceProbeLocal>() {
                Ok(l) => all.push(l.writers),
                Err(_) => return internal_err!("GraceProbeSink: foreign local"),
            }
        }
        Ok(collect(all)?.files)
    }
}

struct GraceProbeLocal {
    writers: PartitionWriters,
}

impl SinkLocal for GraceProbeLocal {
    fn sink(&mut self, _item: usize, _partition: usize, batch: RecordBatch) -> Result<()> {
        self.writers.write(&batch)
    }
    fn into_any(self: Box<Self>) -> Box<dyn Any + Send> {
        self
    }
}

impl Sink for GraceProbeSink {
    fn make_local(&self, ctx: &TaskContext) -> Result<Box<dyn SinkLocal>> {
        Ok(Box::new(GraceProbeLocal {
            writers: PartitionWriters::new(
                Arc::clone(&ctx.spill),
                Arc::clone(&self.schema),
                self.keys.clone(),
                self.nulls,
            ),
        }))
    }
    fn finish(
        &self,
        _locals: Vec<Box<dyn SinkLocal>>,
        _ctx: &TaskContext,
    ) -> Result<Vec<Vec<RecordBatch>>> {
        internal_err!("GraceProbeSink is finished by the executor through files")
    }
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }
    fn describe(&self) -> String {
        "GraceProbeSink".into()
    }
}

type PairFiles = Arc<Mutex<Option<(Vec<SpillFile>, Vec<SpillFile>)>>>;

/// The joined partitions of a spilled join: one morsel (and output partition) each.
#[derive(Debug)]
pub struct GraceSource {
    join: Arc<dyn JoinExec>,
    ctx: TaskContext,
    pairs: Vec<PairFiles>,
}

impl GraceSource {
    /// Joins `build[p]` with `probe[p]` for every partition `p`.
    pub fn new(
        join: Arc<dyn JoinExec>,
        ctx: &TaskContext,
        build: Vec<Vec<SpillFile>>,
        probe: Vec<Vec<SpillFile>>,
    ) -> Self {
        GraceSource {
            join,
            ctx: ctx.clone(),
            pairs: build
                .into_iter()
                .zip(probe)
                .map(|pair| Arc::new(Mutex::new(Some(pair))))
                .collect(),
        }
    }
}

impl DataSource for GraceSource {
    fn schema(&self) -> SchemaRef {
        self.join.schema()
    }
    fn morsels(&self) -> Result<Vec<MorselRef>> {
        Ok(self
            .pairs
            .iter()
            .enumerate()
            .map(|(p, files)| {
                Arc::new(GraceMorsel {
                    join: Arc::clone(&self.join),
                    ctx: self.ctx.clone(),
                    files: Arc::clone(files),
                    partition: p,
                }) as MorselRef
            })
            .collect())
    }
}

#[derive(Debug)]
struct GraceMorsel {
    join: Arc<dyn JoinExec>,
    ctx: TaskContext,
    files: PairFiles,
    partition: usize,
}

impl Morsel for GraceMorsel {
    fn open(&self) -> Result<BatchIter> {
        let files = self
            .files
            .lock()
            .map_err(|_| Error::Internal("grace join lock poisoned".into()))?
            .take();
        let Some((build, probe)) = files else {
            return internal_err!("a grace join partition was read twice");
        };
        let Some(keys) = self.join.partition_keys() else {
            return internal_err!("a grace join without partition keys");
        };
        let mut it = GraceIter {
            join: Arc::clone(&self.join),
            ctx: self.ctx.clone(),
            keys,
            partition: self.partition,
            pending: vec![(build, probe, 1)],
            current: None,
            tail: None,
        };
        Ok(batches_of(move || it.step()))
    }
    fn partition(&self) -> usize {
        self.partition
    }
}

/// A partition still too big for memory is split again by other hash bits, this many times.
const MAX_DEPTH: u32 = 3;

/// One partition pair being joined: the run holding its build side, and the probe files.
struct PairRun {
    run: Arc<dyn super::JoinRun>,
    op: Arc<dyn StreamOperator>,
    probe: FilesReader<SpillFile>,
}

/// Joins one partition (and, when it had to be split, its sub-partitions one by one).
struct GraceIter {
    join: Arc<dyn JoinExec>,
    ctx: TaskContext,
    keys: PartitionKeys,
    partition: usize,
    /// `(build files, probe files, depth)` still to join.
    pending: Vec<(Vec<SpillFile>, Vec<SpillFile>, u32)>,
    current: Option<PairRun>,
    tail: Option<std::vec::IntoIter<RecordBatch>>,
}

/// Splits the rows of `files` by the hash of `keys` at recursion `depth`.
fn resplit(
    files: Vec<SpillFile>,
    keys: &[PhysicalExpr],
    depth: u32,
    ctx: &TaskContext,
) -> Result<Vec<Vec<SpillFile>>> {
    let Some(schema) = files.first().map(|f| Arc::clone(f.schema())) else {
        return Ok((0..GRACE_PARTITIONS).map(|_| Vec::new()).collect());
    };
    // Rows with NULL keys were handled by the first split.
    let mut w = PartitionWriters::new(
        Arc::clone(&ctx.spill),
        schema,
        keys.to_vec(),
        NullRows::Keep,
    );
    w.depth = depth;
    for f in &files {
        for b in f.read()? {
            w.write(&b?)?;
        }
    }
    drop(files);
    Ok(collect(vec![w])?.files)
}

impl GraceIter {
    /// Builds the next pending pair; splits it when its build side does not fit.
    fn start_next(&mut self) -> Result<bool> {
        while let Some((build, probe, depth)) = self.pending.pop() {
            if build.is_empty() && probe.is_empty() {
                continue;
            }
            let run = self.join.start(&self.ctx)?;
            let built = (|| -> Result<()> {
                let sink = run.build_sink();
                let mut local = sink.make_local(&self.ctx)?;
                for f in &build {
                    for b in f.read()? {
                        local.sink(0, self.partition, b?)?;
                    }
                }
                sink.finish(vec![local], &self.ctx)?;
                Ok(())
            })();
            match built {
                Ok(()) => {
                    drop(build);
                    let op = run.probe_operator()?;
                    self.current = Some(PairRun {
                        run,
                        op,
                        probe: FilesReader::new(probe),
                    });
                    return Ok(true);
                }
                Err(e)
                    if matches!(e.root(), Error::ResourcesExhausted(_)) && depth <= MAX_DEPTH =>
                {
                    drop(run);
                    let b = resplit(build, &self.keys.build, depth, &self.ctx)?;
                    let p = resplit(probe, &self.keys.probe, depth, &self.ctx)?;
                    // Popped from the back: keep sub-partition order.
                    for (bp, pp) in b.into_iter().zip(p).rev() {
                        self.pending.push((bp, pp, depth + 1));
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok(false)
    }

    fn step(&mut self) -> Result<Option<RecordBatch>> {
        loop {
            if let Some(t) = &mut self.tail {
                if let Some(b) = t.next() {
                    return Ok(Some(b));
                }
                self.tail = None;
            }
            let Some(cur) = &mut self.current else {
                if self.start_next()? {
                    continue;
                }
                return Ok(None);
            };
            if let Some(b) = cur.probe.next_batch()? {
                if let Some(out) = cur.op.execute(b)? {
                    if out.num_rows() > 0 {
                        return Ok(Some(out));
                    }
                }
                continue;
            }
            // This pair is probed: the build rows the join emits now.
            let rest = if cur.run.emits_after_probe() {
                cur.run.after_probe()?
            } else {
                Vec::new()
            };
            self.current = None;
            self.tail = Some(rest.into_iter());
        }
    }
}
