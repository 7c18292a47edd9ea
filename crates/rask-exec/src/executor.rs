//! The executor: physical plans cut into pipelines at sinks, run morsel by morsel on a rayon
//! pool.
//!
//! A physical plan is a tree of sources, streaming operators (filter, projection) and sinks
//! (aggregate, sort, limit, ...). Execution walks it bottom-up: everything below a sink is one
//! pipeline whose work items are `(morsel, operator chain)` pairs. Workers (one per pool
//! thread) pull items from an atomic cursor, run the chain on each batch and push the result
//! into their own `SinkLocal`; once every item is done the sink's `finish` merges the locals and
//! becomes the source of the next pipeline. No channels, no per-operator threads.
//!
//! The `single-threaded` scheduler is the same code on one worker, taking items in order, so
//! its results are deterministic.

use std::any::Any;
use std::fmt::Debug;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use rask_common::{internal_err, Error, Result, SessionConfig};

use crate::join::blocks::BlockSource;
use crate::join::grace::{
    spill_build, BuildOutcome, GraceBuildSink, GraceProbeSink, GraceSource, PartitionKeys,
};
use crate::join::{JoinExec, JoinRun};
use crate::memory::{batch_memory, MemoryPool, Reservation};
use crate::source::{BatchIter, DataSource, MemorySource, Morsel, MorselRef};
use crate::spill::SpillManager;

/// A streaming operator: batch in, batch (or nothing) out, no state across batches.
pub trait StreamOperator: Send + Sync + Debug {
    /// Processes one batch.
    fn execute(&self, batch: RecordBatch) -> Result<Option<RecordBatch>>;
    /// One-line description for EXPLAIN.
    fn describe(&self) -> String;
    /// The schema of output batches given the input schema (default: unchanged).
    fn output_schema(&self, input: &SchemaRef) -> SchemaRef {
        Arc::clone(input)
    }
    /// For an operator that keeps or drops whole input rows, each output row coming from one
    /// input row: the input column that output column `output` passes on unchanged. `None`
    /// for other operators and computed columns. Runtime filters are traced through these.
    fn input_column(&self, _output: usize) -> Option<usize> {
        None
    }
    /// This operator handing on output columns `columns`, string columns its input brings as
    /// `Dictionary(Int32, Utf8)`, as they come (its output schema typing them so), and the
    /// input columns they come from; `None` when it reads them or cannot pass them on.
    fn pass_dictionaries(
        &self,
        _columns: &[usize],
    ) -> Option<(Arc<dyn StreamOperator>, Vec<usize>)> {
        None
    }
}

/// Per-worker state of a sink.
pub trait SinkLocal: Send {
    /// Consumes one batch; `item` is the work item's index (its order in the pipeline) and
    /// `partition` the table partition its morsel belongs to.
    fn sink(&mut self, item: usize, partition: usize, batch: RecordBatch) -> Result<()>;
    /// Called after the last batch of work item `item` (also when it produced none).
    fn item_done(&mut self, _item: usize, _partition: usize) -> Result<()> {
        Ok(())
    }
    /// For downcasting in `finish`.
    fn into_any(self: Box<Self>) -> Box<dyn Any + Send>;
}

/// A pipeline breaker: consumes all its input, then produces partitions of batches.
pub trait Sink: Send + Sync + Debug {
    /// A fresh per-worker state.
    fn make_local(&self, ctx: &TaskContext) -> Result<Box<dyn SinkLocal>>;
    /// Merges the workers' states into output partitions.
    fn finish(
        &self,
        locals: Vec<Box<dyn SinkLocal>>,
        ctx: &TaskContext,
    ) -> Result<Vec<Vec<RecordBatch>>>;
    /// Like [`Sink::finish`], but may return a source that produces its batches lazily, as
    /// the next pipeline pulls them (an external sort merging spilled runs, an aggregation
    /// finalising spilled partitions one by one). The executor calls this one.
    fn finish_source(
        &self,
        locals: Vec<Box<dyn SinkLocal>>,
        ctx: &TaskContext,
    ) -> Result<Arc<dyn DataSource>> {
        let parts = self.finish(locals, ctx)?;
        Ok(Arc::new(MemorySource::new(self.schema(), parts)))
    }
    /// Output schema.
    fn schema(&self) -> SchemaRef;
    /// One-line description for EXPLAIN.
    fn describe(&self) -> String;
    /// When set, the pipeline stops pulling new work once the sink has enough rows.
    fn wants_stop(&self) -> bool {
        false
    }
    /// Called once before the pipeline runs, with the flag workers check between items.
    fn set_stop_flag(&self, _flag: Arc<AtomicBool>) {}
    /// Called once before the pipeline runs with the partition of every work item, in item
    /// order (a writer uses it to keep each partition's rows in order).
    fn start(&self, _item_partitions: &[usize], _ctx: &TaskContext) -> Result<()> {
        Ok(())
    }
}

/// A physical plan.
#[derive(Debug, Clone)]
pub enum PhysicalPlan {
    /// Scan a source.
    Source(Arc<dyn DataSource>),
    /// Apply a streaming operator to every batch of the input.
    Stream {
        /// Input.
        input: Box<PhysicalPlan>,
        /// Operator.
        op: Arc<dyn StreamOperator>,
    },
    /// Consume the input into a sink; its output feeds what is above.
    Sink {
        /// Input.
        input: Box<PhysicalPlan>,
        /// Sink.
        sink: Arc<dyn Sink>,
    },
    /// Concatenate inputs with the same schema.
    Union {
        /// Inputs.
        inputs: Vec<PhysicalPlan>,
        /// Schema.
        schema: SchemaRef,
    },
    /// A subplan that several places of the plan read (the same aggregation of a `WITH`
    /// used twice): computed once, its output kept in memory for the others (see
    /// [`SharedPlan`]).
    Shared(Arc<SharedPlan>),
    /// A join: `build` runs to completion into the join's build sink, then the join's probe
    /// operator runs on every batch of `probe` (see [`crate::join`]).
    Join {
        /// The materialised input.
        build: Box<PhysicalPlan>,
        /// The streamed input.
        probe: Box<PhysicalPlan>,
        /// The join.
        join: Arc<dyn JoinExec>,
    },
}

impl PhysicalPlan {
    /// Output schema.
    pub fn schema(&self) -> SchemaRef {
        match self {
            PhysicalPlan::Source(s) => s.schema(),
            PhysicalPlan::Stream { op, input } => op.output_schema(&input.schema()),
            PhysicalPlan::Sink { sink, .. } => sink.schema(),
            PhysicalPlan::Union { schema, .. } => Arc::clone(schema),
            PhysicalPlan::Join { join, .. } => join.schema(),
            PhysicalPlan::Shared(s) => s.plan.schema(),
        }
    }

    /// Indented description (EXPLAIN's physical plan).
    pub fn display_indent(&self) -> String {
        let mut out = String::new();
        self.fmt_indent(&mut out, 0, &|_| String::new());
        out
    }

    /// The plan with what each operator did in the run of `ctx` (EXPLAIN ANALYZE): rows and
    /// time of streaming operators and sinks, peak memory and spilling of the buffering ones.
    pub fn display_analyzed(&self, ctx: &TaskContext) -> String {
        let mut out = String::new();
        self.fmt_indent(&mut out, 0, &|node| analyzed(node, ctx));
        out
    }

    fn fmt_indent(&self, out: &mut String, depth: usize, ann: &dyn Fn(&PhysicalPlan) -> String) {
        out.push_str(&"  ".repeat(depth));
        let line = match self {
            PhysicalPlan::Source(s) => format!("{s:?}").chars().take(200).collect::<String>(),
            PhysicalPlan::Stream { op, .. } => op.describe(),
            PhysicalPlan::Sink { sink, .. } => sink.describe(),
            PhysicalPlan::Union { .. } => "UnionExec".to_string(),
            PhysicalPlan::Join { join, .. } => join.describe(),
            PhysicalPlan::Shared(s) => format!("SharedExec: id={} (computed once)", s.id),
        };
        out.push_str(&line);
        out.push_str(&ann(self));
        out.push('\n');
        match self {
            PhysicalPlan::Source(_) => {}
            PhysicalPlan::Stream { input, .. } | PhysicalPlan::Sink { input, .. } => {
                input.fmt_indent(out, depth + 1, ann)
            }
            PhysicalPlan::Shared(s) => s.plan.fmt_indent(out, depth + 1, ann),
            PhysicalPlan::Union { inputs, .. } => {
                for i in inputs {
                    i.fmt_indent(out, depth + 1, ann);
                }
            }
            PhysicalPlan::Join { build, probe, .. } => {
                let pad = "  ".repeat(depth + 1);
                out.push_str(&format!("{pad}build:\n"));
                build.fmt_indent(out, depth + 2, ann);
                out.push_str(&format!("{pad}probe:\n"));
                probe.fmt_indent(out, depth + 2, ann);
            }
        }
    }
}

/// The EXPLAIN ANALYZE annotation of one plan node: rows and time where it reads or streams,
/// and for buffering operators (sinks and joins) also their peak memory and spill files.
fn analyzed(node: &PhysicalPlan, ctx: &TaskContext) -> String {
    let stats = |key: usize| ctx.metrics.get(key).unwrap_or_default();
    let streaming = match node {
        PhysicalPlan::Source(s) => Some(op_key(s.as_ref())),
        PhysicalPlan::Stream { op, .. } => Some(op_key(op.as_ref())),
        _ => None,
    };
    if let Some(key) = streaming {
        let st = stats(key);
        return format!("  [rows={} time={}]", st.rows, fmt_ms(st.nanos));
    }
    let (key, mut parts) = match node {
        PhysicalPlan::Sink { sink, .. } => {
            let key = op_key(sink.as_ref());
            let (input, output) = (stats(key), stats(key ^ 1));
            (
                key,
                vec![
                    format!("rows_in={}", input.rows),
                    format!("rows_out={}", output.rows),
                    format!("time={}", fmt_ms(input.nanos + output.nanos)),
                ],
            )
        }
        PhysicalPlan::Join { join, .. } => {
            let key = op_key(join.as_ref());
            let (out, build, other) = (stats(key), stats(key ^ 1), stats(key ^ 2));
            (
                key,
                vec![
                    format!("rows={}", out.rows),
                    format!("build_rows={}", build.rows),
                    format!("time={}", fmt_ms(out.nanos + build.nanos + other.nanos)),
                ],
            )
        }
        _ => return String::new(),
    };
    let (files, bytes) = ctx.spill.scope_spills(key);
    parts.push(format!(
        "peak_mem={}",
        fmt_bytes(ctx.pool.scope_peak(key) as u64)
    ));
    parts.push(format!(
        "spill_count={files} spilled_bytes={}",
        fmt_bytes(bytes)
    ));
    format!("  [{}]", parts.join(" "))
}

fn fmt_ms(nanos: u64) -> String {
    format!("{:.3}ms", nanos as f64 / 1e6)
}

fn fmt_bytes(b: u64) -> String {
    if b < 1024 {
        format!("{b}B")
    } else if b < 1 << 20 {
        format!("{:.1}KiB", b as f64 / 1024.0)
    } else {
        format!("{:.1}MiB", b as f64 / (1 << 20) as f64)
    }
}

/// What operators see while running: configuration, the memory pool and the query's spill
/// directory.
#[derive(Debug, Clone)]
pub struct TaskContext {
    /// The session configuration.
    pub config: SessionConfig,
    /// The session's memory pool.
    pub pool: Arc<MemoryPool>,
    /// The query's spill files.
    pub spill: Arc<SpillManager>,
    /// Rows and time per operator (EXPLAIN ANALYZE).
    pub metrics: Arc<OperatorMetrics>,
    /// Morsels done and known so far, reported to a callback.
    pub progress: Arc<Progress>,
}

/// How far a query is: work items (morsels through a pipeline) done out of those known so
/// far (later pipelines add theirs when they start), and the time since it began.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProgressInfo {
    /// Work items finished.
    pub done: u64,
    /// Work items known.
    pub total: u64,
    /// Time since the query started.
    pub elapsed: std::time::Duration,
}

/// A progress callback.
pub type ProgressCallback = Arc<dyn Fn(ProgressInfo) + Send + Sync>;

/// Progress counters of one query run.
pub struct Progress {
    done: std::sync::atomic::AtomicU64,
    total: std::sync::atomic::AtomicU64,
    start: std::time::Instant,
    callback: Option<ProgressCallback>,
}

impl Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Progress")
            .field("done", &self.done)
            .field("total", &self.total)
            .finish()
    }
}

impl Progress {
    /// Counters reporting to `callback` (if any) after every work item.
    pub fn new(callback: Option<ProgressCallback>) -> Arc<Self> {
        Arc::new(Progress {
            done: Default::default(),
            total: Default::default(),
            start: std::time::Instant::now(),
            callback,
        })
    }

    fn add_total(&self, n: usize) {
        self.total.fetch_add(n as u64, Ordering::Relaxed);
        self.report();
    }

    fn item_done(&self) {
        self.done.fetch_add(1, Ordering::Relaxed);
        self.report();
    }

    fn report(&self) {
        if let Some(cb) = &self.callback {
            cb(self.snapshot());
        }
    }

    /// Where the query is now.
    pub fn snapshot(&self) -> ProgressInfo {
        ProgressInfo {
            done: self.done.load(Ordering::Relaxed),
            total: self.total.load(Ordering::Relaxed),
            elapsed: self.start.elapsed(),
        }
    }
}

/// Rows and time of each operator of a query, keyed by the operator's address.
#[derive(Debug, Default)]
pub struct OperatorMetrics {
    stats: Mutex<std::collections::HashMap<usize, OpStats>>,
}

/// What one operator did.
#[derive(Debug, Default, Clone, Copy)]
pub struct OpStats {
    /// Rows it output (stream operators) or consumed (sinks).
    pub rows: u64,
    /// Batches.
    pub batches: u64,
    /// Time spent in it, summed over workers.
    pub nanos: u64,
}

impl OperatorMetrics {
    fn merge(&self, local: impl IntoIterator<Item = (usize, OpStats)>) {
        if let Ok(mut m) = self.stats.lock() {
            for (k, v) in local {
                let e = m.entry(k).or_default();
                e.rows += v.rows;
                e.batches += v.batches;
                e.nanos += v.nanos;
            }
        }
    }

    /// The stats of the operator at `key` ([`op_key`]).
    pub fn get(&self, key: usize) -> Option<OpStats> {
        self.stats.lock().ok().and_then(|m| m.get(&key).copied())
    }
}

/// The metrics key of an operator or sink.
pub fn op_key<T: ?Sized>(op: &T) -> usize {
    op as *const T as *const () as usize
}

impl TaskContext {
    /// The same context, with memory reserved and files spilled through it also counted
    /// for the operator at `key` (EXPLAIN ANALYZE).
    pub fn scoped(&self, key: usize) -> TaskContext {
        TaskContext {
            config: self.config.clone(),
            pool: self.pool.scoped(key),
            spill: self.spill.scoped(key),
            metrics: Arc::clone(&self.metrics),
            progress: Arc::clone(&self.progress),
        }
    }

    /// A context with its own pool sized from the configuration.
    pub fn new(config: SessionConfig) -> Self {
        let pool = MemoryPool::new(config.memory_limit);
        Self::with_pool(config, pool)
    }

    /// A context for one query on a session's `pool`.
    pub fn with_pool(config: SessionConfig, pool: Arc<MemoryPool>) -> Self {
        let spill = SpillManager::new(&config);
        TaskContext {
            config,
            pool,
            spill,
            metrics: Arc::new(OperatorMetrics::default()),
            progress: Progress::new(None),
        }
    }

    /// Reports progress to `callback` after every work item.
    pub fn with_progress(mut self, callback: Option<ProgressCallback>) -> Self {
        self.progress = Progress::new(callback);
        self
    }
}

/// Set by [`cancel_running_queries`] (the CLI's Ctrl-C handler); workers stop at the next
/// morsel and the query fails with a "cancelled" error.
static CANCELLED: AtomicBool = AtomicBool::new(false);

/// Asks every running query to stop; each fails with an error naming the cancellation, and
/// its spill files are removed as it unwinds. Returns whether a cancellation was already
/// pending (a second Ctrl-C).
pub fn cancel_running_queries() -> bool {
    CANCELLED.swap(true, Ordering::SeqCst)
}

/// Clears a cancellation (before the next query of a REPL).
pub fn reset_cancellation() {
    CANCELLED.store(false, Ordering::Relaxed);
}

fn check_cancelled() -> Result<()> {
    if CANCELLED.load(Ordering::Relaxed) {
        return Err(Error::Execution("query cancelled (Ctrl-C)".into()));
    }
    Ok(())
}

/// Streaming operators a work item's batches go through, each with its metrics key.
type Chain = Arc<Vec<(usize, Arc<dyn StreamOperator>)>>;

struct WorkItem {
    morsel: MorselRef,
    ops: Chain,
    /// Where the rows and time of reading the morsel are counted (0: nowhere).
    source_key: usize,
    /// This item runs only once the latch opens (every item counted in it finished).
    after: Option<Arc<Latch>>,
    /// Latches this item is counted in: each is counted down when it finishes.
    counts: Vec<Arc<Latch>>,
}

impl WorkItem {
    fn new(morsel: MorselRef, ops: Chain) -> Self {
        WorkItem {
            morsel,
            ops,
            source_key: 0,
            after: None,
            counts: Vec::new(),
        }
    }
}

/// Holds a work item back until the items counted in it have finished: the build rows a
/// join emits after probing (unmatched or matched build rows) wait for every probe item, and
/// then stream into the same pipeline instead of the probe output being buffered first.
///
/// The worker that takes a held item whose latch is closed parks it and goes on with other
/// items; the worker that finishes the last counted item runs it. Nothing ever waits, so a
/// worker blocked on a latch cannot hold (on its stack) an item the latch waits for.
#[derive(Debug)]
struct Latch {
    pending: AtomicUsize,
}

impl Latch {
    fn new(pending: usize) -> Arc<Self> {
        Arc::new(Latch {
            pending: AtomicUsize::new(pending),
        })
    }
    fn open(&self) -> bool {
        self.pending.load(Ordering::SeqCst) == 0
    }
    fn count_down(&self) {
        self.pending.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The rows a join emits after its probe input is through (see [`Latch`]).
struct AfterProbeMorsel {
    run: Arc<dyn JoinRun>,
    partition: usize,
}

impl Debug for AfterProbeMorsel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AfterProbeMorsel({})", self.partition)
    }
}

impl Morsel for AfterProbeMorsel {
    fn open(&self) -> Result<BatchIter> {
        Ok(Box::new(self.run.after_probe()?.into_iter().map(Ok)))
    }
    fn partition(&self) -> usize {
        self.partition
    }
}

/// The plan of [`PhysicalPlan::Shared`]: the first reader runs it and keeps its output
/// partitions, reserved in the memory pool; when they do not fit, each reader runs it again.
#[derive(Debug)]
pub struct SharedPlan {
    /// Names it in EXPLAIN (every place that reads it shows the same id).
    pub id: usize,
    /// The subplan.
    pub plan: PhysicalPlan,
    result: Mutex<Option<(Vec<Vec<RecordBatch>>, Reservation)>>,
}

impl SharedPlan {
    /// `plan`, to be computed once.
    pub fn new(id: usize, plan: PhysicalPlan) -> Self {
        SharedPlan {
            id,
            plan,
            result: Mutex::new(None),
        }
    }
}

/// Runs physical plans.
#[derive(Debug)]
pub struct Executor {
    ctx: TaskContext,
}

impl Executor {
    /// An executor for one query.
    pub fn new(ctx: TaskContext) -> Self {
        Executor { ctx }
    }

    /// The context queries run in.
    pub fn context(&self) -> &TaskContext {
        &self.ctx
    }

    /// Runs `plan` to completion and returns its output batches in order.
    pub fn collect(&self, plan: &PhysicalPlan) -> Result<Vec<RecordBatch>> {
        let sink = Arc::new(CollectSink {
            schema: plan.schema(),
        });
        let parts = self.run_into(plan, sink)?;
        Ok(parts.into_iter().flatten().collect())
    }

    /// Runs `plan` and returns its output partitions (for writers that keep one file per
    /// partition).
    pub fn collect_partitions(&self, plan: &PhysicalPlan) -> Result<Vec<Vec<RecordBatch>>> {
        let sink = Arc::new(PartitionedCollectSink {
            schema: plan.schema(),
        });
        self.run_into(plan, sink)
    }

    /// Runs `plan` into `sink` and returns the sink's output.
    pub fn run_into(
        &self,
        plan: &PhysicalPlan,
        sink: Arc<dyn Sink>,
    ) -> Result<Vec<Vec<RecordBatch>>> {
        let items = self.compile(plan)?;
        let key = op_key(sink.as_ref());
        self.run_pipeline(items, sink.as_ref(), &self.ctx.scoped(key), key)
    }

    /// The probe pipeline of a join whose build side is in `run`.
    fn compile_probe(
        &self,
        run: Arc<dyn JoinRun>,
        probe: &PhysicalPlan,
        key: usize,
    ) -> Result<Vec<WorkItem>> {
        let mut items = self.compile(probe)?;
        append_operator(&mut items, &run.probe_operator()?, key);
        if !run.emits_after_probe() {
            return Ok(items);
        }
        // Build rows are emitted once every probe batch has been seen: one more item, held
        // back until the probe items finished, in a partition of its own.
        let latch = Latch::new(items.len());
        for it in &mut items {
            it.counts.push(Arc::clone(&latch));
        }
        let partition = partition_count(&items);
        let mut after = WorkItem::new(
            Arc::new(AfterProbeMorsel { run, partition }),
            Arc::new(vec![]),
        );
        after.after = Some(latch);
        after.source_key = key;
        items.push(after);
        Ok(items)
    }

    /// Turns a plan into work items, running every sink below the top on the way.
    fn compile(&self, plan: &PhysicalPlan) -> Result<Vec<WorkItem>> {
        Ok(match plan {
            PhysicalPlan::Source(s) => source_items(s.as_ref(), op_key(s.as_ref()))?,
            PhysicalPlan::Stream { input, op } => {
                let mut items = self.compile(input)?;
                append_operator(&mut items, op, op_key(op.as_ref()));
                items
            }
            PhysicalPlan::Join { build, probe, join } => {
                join.reset_runtime_filters();
                // The join's memory and spill files are counted under its key; its output
                // rows and probe time under `key`, its build rows and time under `key ^ 1`,
                // and the time of other passes (replaying or splitting inputs) under
                // `key ^ 2` (keys are addresses, aligned, so these never collide).
                let key = op_key(join.as_ref());
                let jctx = self.ctx.scoped(key);
                // A nested loop join that can run in blocks is buffered and spilled like a
                // hash join's inputs, without keys.
                let (keys, blocks) = match join.partition_keys() {
                    Some(keys) => (keys, None),
                    None => match join.block_plan().transpose()? {
                        Some(plan) => (PartitionKeys::none(), Some(plan)),
                        None => {
                            let run = join.start(&jctx)?;
                            let build_items = self.compile(build)?;
                            let sink = run.build_sink();
                            self.run_pipeline(build_items, sink.as_ref(), &jctx, key ^ 1)?;
                            run.publish_runtime_filters()?;
                            return self.compile_probe(run, probe, key);
                        }
                    },
                };
                // Buffer the build input; past the memory limit, split it into spill files.
                let buffer = GraceBuildSink::new(&keys, build.schema());
                let locals = self.run_workers(self.compile(build)?, &buffer, &jctx, key ^ 1)?;
                let split = match buffer.build_outcome(locals)? {
                    BuildOutcome::InMemory(parts) => {
                        let run = join.start(&jctx)?;
                        let src = MemorySource::new(build.schema(), parts.clone());
                        let items = source_items(&src, 0)?;
                        let sink = run.build_sink();
                        match self.run_pipeline(items, sink.as_ref(), &jctx, key ^ 2) {
                            Ok(_) => {
                                run.publish_runtime_filters()?;
                                return self.compile_probe(run, probe, key);
                            }
                            Err(e) if matches!(e.root(), Error::ResourcesExhausted(_)) => {
                                drop(run);
                                spill_build(parts, &keys, &build.schema(), &jctx)?
                            }
                            Err(e) => return Err(e),
                        }
                    }
                    BuildOutcome::Spilled(split) => split,
                };
                // Grace hash join: split the probe input the same way, join partition pairs.
                let splitter = GraceProbeSink::new(&keys, &split, probe.schema());
                let locals = self.run_workers(self.compile(probe)?, &splitter, &jctx, key ^ 2)?;
                let probe_files = splitter.files(locals)?;
                let src: Arc<dyn DataSource> = match blocks {
                    Some(plan) => Arc::new(BlockSource::new(
                        plan,
                        &jctx,
                        split.files.into_iter().flatten().collect(),
                        probe_files.into_iter().flatten().collect(),
                    )),
                    None => Arc::new(GraceSource::new(
                        Arc::clone(join),
                        &jctx,
                        split.files,
                        probe_files,
                    )),
                };
                source_items(src.as_ref(), key)?
            }
            PhysicalPlan::Shared(shared) => {
                let mut result = shared
                    .result
                    .lock()
                    .map_err(|_| Error::Internal("shared plan lock poisoned".into()))?;
                let parts = match result.as_ref() {
                    Some((parts, _)) => parts.clone(),
                    None => {
                        let schema = shared.plan.schema();
                        let items = self.compile(&shared.plan)?;
                        let sink = PartitionedCollectSink { schema };
                        let parts = self.run_pipeline(items, &sink, &self.ctx, 0)?;
                        let mut reservation = self.ctx.pool.reservation("SharedExec");
                        let bytes = parts.iter().flatten().map(batch_memory).sum();
                        if reservation.try_grow(bytes).is_ok() {
                            *result = Some((parts.clone(), reservation));
                        }
                        parts
                    }
                };
                drop(result);
                source_items(&MemorySource::new(shared.plan.schema(), parts), 0)?
            }
            PhysicalPlan::Sink { input, sink } => {
                let items = self.compile(input)?;
                let src = self.run_pipeline_source(items, sink.as_ref())?;
                // Reading the output (finalising spilled partitions, merging sorted runs)
                // is the sink's work too: counted under `key ^ 1`.
                source_items(src.as_ref(), op_key(sink.as_ref()) ^ 1)?
            }
            PhysicalPlan::Union { inputs, .. } => {
                // Partitions of later inputs follow those of earlier ones.
                let mut all = Vec::new();
                let mut offset = 0;
                for i in inputs {
                    let items = self.compile(i)?;
                    let count = partition_count(&items);
                    all.extend(items.into_iter().map(|it| WorkItem {
                        morsel: if offset == 0 {
                            it.morsel
                        } else {
                            Arc::new(OffsetMorsel {
                                inner: it.morsel,
                                offset,
                            })
                        },
                        ..it
                    }));
                    offset += count;
                }
                all
            }
        })
    }

    /// Runs `items` into `sink` with `ctx` (scoped to the operator that owns the sink), and
    /// counts rows and time under `key`.
    fn run_pipeline(
        &self,
        items: Vec<WorkItem>,
        sink: &dyn Sink,
        ctx: &TaskContext,
        key: usize,
    ) -> Result<Vec<Vec<RecordBatch>>> {
        let locals = self.run_workers(items, sink, ctx, key)?;
        let t = std::time::Instant::now();
        let out = sink.finish(locals, ctx);
        self.add_finish_time(key, t);
        out
    }

    fn add_finish_time(&self, key: usize, start: std::time::Instant) {
        let nanos = start.elapsed().as_nanos() as u64;
        self.ctx.metrics.merge([(
            key,
            OpStats {
                nanos,
                ..OpStats::default()
            },
        )]);
    }

    fn run_pipeline_source(
        &self,
        items: Vec<WorkItem>,
        sink: &dyn Sink,
    ) -> Result<Arc<dyn DataSource>> {
        let key = op_key(sink);
        let ctx = self.ctx.scoped(key);
        let locals = self.run_workers(items, sink, &ctx, key)?;
        let t = std::time::Instant::now();
        let out = sink.finish_source(locals, &ctx);
        self.add_finish_time(key, t);
        out
    }

    /// Runs every work item into the sink's per-worker states; returns them in worker order.
    /// The sink sees `ctx`; its rows and time are counted under `sink_key`.
    fn run_workers(
        &self,
        items: Vec<WorkItem>,
        sink: &dyn Sink,
        ctx: &TaskContext,
        sink_key: usize,
    ) -> Result<Vec<Box<dyn SinkLocal>>> {
        self.ctx.progress.add_total(items.len());
        let stop = Arc::new(AtomicBool::new(false));
        if sink.wants_stop() {
            sink.set_stop_flag(Arc::clone(&stop));
        }
        let item_partitions: Vec<usize> = items.iter().map(|it| it.morsel.partition()).collect();
        sink.start(&item_partitions, ctx)?;
        let workers = self.ctx.config.effective_threads().min(items.len()).max(1);
        let cursor = AtomicUsize::new(0);
        let first_error: Mutex<Option<Error>> = Mutex::new(None);
        let locals: Mutex<Vec<(usize, Box<dyn SinkLocal>)>> = Mutex::new(Vec::new());
        // Items taken while their latch was closed (see [`Latch`]); only looked at when a
        // pipeline has held items.
        let parked: Mutex<Vec<usize>> = Mutex::new(Vec::new());
        let held = items.iter().any(|it| it.after.is_some());
        let run_worker = |w: usize| {
            // A panic in an operator is a bug; it still becomes an error, never an abort.
            let guarded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                (|| -> Result<()> {
                    let mut local = sink.make_local(ctx)?;
                    let mut stats: std::collections::HashMap<usize, OpStats> =
                        std::collections::HashMap::new();
                    let outcome = (|| -> Result<()> {
                        loop {
                            if stop.load(Ordering::Relaxed) {
                                break;
                            }
                            let ready = if held {
                                take_ready(&parked, &items)?
                            } else {
                                None
                            };
                            let i = match ready {
                                Some(i) => i,
                                None => {
                                    let i = cursor.fetch_add(1, Ordering::Relaxed);
                                    if i >= items.len() {
                                        break;
                                    }
                                    i
                                }
                            };
                            let item = &items[i];
                            if let Some(latch) = &item.after {
                                let mut p = parked.lock().map_err(|_| poisoned())?;
                                if !latch.open() {
                                    p.push(i);
                                    continue;
                                }
                            }
                            check_cancelled()?;
                            let mut t = std::time::Instant::now();
                            for batch in item.morsel.open()? {
                                let batch = batch?;
                                if item.source_key != 0 {
                                    let e = stats.entry(item.source_key).or_default();
                                    e.nanos += t.elapsed().as_nanos() as u64;
                                    e.batches += 1;
                                    e.rows += batch.num_rows() as u64;
                                }
                                let mut b = Some(batch);
                                for (key, op) in item.ops.iter() {
                                    match b {
                                        Some(x) => {
                                            let t = std::time::Instant::now();
                                            b = op.execute(x)?;
                                            let e = stats.entry(*key).or_default();
                                            e.nanos += t.elapsed().as_nanos() as u64;
                                            e.batches += 1;
                                            e.rows += b.as_ref().map_or(0, |x| x.num_rows() as u64);
                                        }
                                        None => break,
                                    }
                                }
                                if let Some(x) = b {
                                    if x.num_rows() > 0 || x.num_columns() == 0 {
                                        let t = std::time::Instant::now();
                                        let rows = x.num_rows() as u64;
                                        local.sink(i, item.morsel.partition(), x)?;
                                        let e = stats.entry(sink_key).or_default();
                                        e.nanos += t.elapsed().as_nanos() as u64;
                                        e.batches += 1;
                                        e.rows += rows;
                                    }
                                }
                                t = std::time::Instant::now();
                            }
                            if item.source_key != 0 {
                                let e = stats.entry(item.source_key).or_default();
                                e.nanos += t.elapsed().as_nanos() as u64;
                            }
                            local.item_done(i, item.morsel.partition())?;
                            for latch in &item.counts {
                                latch.count_down();
                            }
                            self.ctx.progress.item_done();
                        }
                        Ok(())
                    })();
                    if let Ok(mut l) = locals.lock() {
                        l.push((w, local));
                    }
                    stats.remove(&0);
                    self.ctx.metrics.merge(stats);
                    outcome
                })()
            }));
            let result = guarded.unwrap_or_else(|payload| {
                let msg = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown cause".to_string());
                Err(Error::Internal(format!(
                    "a worker panicked ({msg}); this is a bug in rask, please report it"
                )))
            });
            if let Err(e) = result {
                stop.store(true, Ordering::Relaxed);
                if let Ok(mut slot) = first_error.lock() {
                    if slot.is_none() {
                        *slot = Some(e);
                    }
                }
            }
        };
        if workers == 1 {
            run_worker(0);
        } else {
            rayon::scope(|s| {
                for w in 0..workers {
                    let run_worker = &run_worker;
                    s.spawn(move |_| run_worker(w));
                }
            });
        }
        if let Some(e) = first_error.into_inner().map_err(|_| poisoned())? {
            return Err(e);
        }
        let mut locals = locals.into_inner().map_err(|_| poisoned())?;
        locals.sort_by_key(|(w, _)| *w);
        Ok(locals.into_iter().map(|(_, l)| l).collect())
    }
}

/// One work item per morsel of `source`, whose reading is counted under `key`.
fn source_items(source: &dyn DataSource, key: usize) -> Result<Vec<WorkItem>> {
    let empty: Chain = Arc::new(vec![]);
    Ok(source
        .morsels()?
        .into_iter()
        .map(|m| WorkItem {
            source_key: key,
            ..WorkItem::new(m, Arc::clone(&empty))
        })
        .collect())
}

/// How many partitions `items` cover (the highest partition index plus one).
fn partition_count(items: &[WorkItem]) -> usize {
    items
        .iter()
        .map(|it| it.morsel.partition() + 1)
        .max()
        .unwrap_or(0)
}

/// A parked item whose latch has opened, removed from the parked list.
fn take_ready(parked: &Mutex<Vec<usize>>, items: &[WorkItem]) -> Result<Option<usize>> {
    let mut p = parked.lock().map_err(|_| poisoned())?;
    let ready = p
        .iter()
        .position(|&i| items[i].after.as_ref().is_none_or(|l| l.open()));
    Ok(ready.map(|k| p.swap_remove(k)))
}

/// Appends `op` to the chain of every item; items share chains, so each distinct chain is
/// extended once.
fn append_operator(items: &mut [WorkItem], op: &Arc<dyn StreamOperator>, key: usize) {
    let mut cache: Vec<(Chain, Chain)> = Vec::new();
    for it in items {
        let found = cache.iter().find(|(old, _)| Arc::ptr_eq(old, &it.ops));
        let new = match found {
            Some((_, new)) => Arc::clone(new),
            None => {
                let mut v = it.ops.as_ref().clone();
                v.push((key, Arc::clone(op)));
                let new: Chain = Arc::new(v);
                cache.push((Arc::clone(&it.ops), Arc::clone(&new)));
                new
            }
        };
        it.ops = new;
    }
}

/// A morsel whose partition index is shifted (an input of a union after the first).
#[derive(Debug)]
struct OffsetMorsel {
    inner: MorselRef,
    offset: usize,
}

impl Morsel for OffsetMorsel {
    fn open(&self) -> Result<BatchIter> {
        self.inner.open()
    }
    fn partition(&self) -> usize {
        self.inner.partition() + self.offset
    }
}

fn poisoned() -> Error {
    Error::Internal("a worker panicked".into())
}

/// Collects batches in work-item order into one partition.
#[derive(Debug)]
struct CollectSink {
    schema: SchemaRef,
}

/// Per-worker batches tagged with their work item and sequence.
pub struct OrderedLocal {
    /// `(item, seq, partition, batch)`
    pub batches: Vec<(usize, usize, usize, RecordBatch)>,
    seq: usize,
}

impl OrderedLocal {
    /// Empty.
    pub fn new() -> Self {
        OrderedLocal {
            batches: Vec::new(),
            seq: 0,
        }
    }

    /// Merges locals, ordered by (item, seq); returns `(partition, batch)`.
    pub fn merge(locals: Vec<Box<dyn SinkLocal>>) -> Result<Vec<(usize, RecordBatch)>> {
        let mut all = Vec::new();
        for l in locals {
            match l.into_any().downcast::<OrderedLocal>() {
                Ok(o) => all.extend(o.batches),
                Err(_) => return internal_err!("unexpected sink local"),
            }
        }
        all.sort_by_key(|(i, s, _, _)| (*i, *s));
        Ok(all.into_iter().map(|(_, _, p, b)| (p, b)).collect())
    }
}

impl Default for OrderedLocal {
    fn default() -> Self {
        Self::new()
    }
}

impl SinkLocal for OrderedLocal {
    fn sink(&mut self, item: usize, partition: usize, batch: RecordBatch) -> Result<()> {
        self.batches.push((item, self.seq, partition, batch));
        self.seq += 1;
        Ok(())
    }
    fn into_any(self: Box<Self>) -> Box<dyn Any + Send> {
        self
    }
}

impl Sink for CollectSink {
    fn make_local(&self, _ctx: &TaskContext) -> Result<Box<dyn SinkLocal>> {
        Ok(Box::new(OrderedLocal::new()))
    }
    fn finish(
        &self,
        locals: Vec<Box<dyn SinkLocal>>,
        _ctx: &TaskContext,
    ) -> Result<Vec<Vec<RecordBatch>>> {
        Ok(vec![OrderedLocal::merge(locals)?
            .into_iter()
            .map(|(_, b)| b)
            .collect()])
    }
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }
    fn describe(&self) -> String {
        "CollectExec".into()
    }
}

/// Collects batches keeping the partitions of the morsels they came from.
#[derive(Debug)]
struct PartitionedCollectSink {
    schema: SchemaRef,
}

impl Sink for PartitionedCollectSink {
    fn make_local(&self, _ctx: &TaskContext) -> Result<Box<dyn SinkLocal>> {
        Ok(Box::new(OrderedLocal::new()))
    }
    fn finish(
        &self,
        locals: Vec<Box<dyn SinkLocal>>,
        _ctx: &TaskContext,
    ) -> Result<Vec<Vec<RecordBatch>>> {
        let mut parts: Vec<Vec<RecordBatch>> = Vec::new();
        let mut last: Option<usize> = None;
        for (partition, b) in OrderedLocal::merge(locals)? {
            if last != Some(partition) {
                parts.push(Vec::new());
                last = Some(partition);
            }
            if let Some(p) = parts.last_mut() {
                p.push(b);
            }
        }
        Ok(parts)
    }
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }
    fn describe(&self) -> String {
        "CollectPartitionsExec".into()
    }
}
