//! Out-of-core nested loop joins: block by block.
//!
//! A nested loop join has no key to split its inputs by. When its build side does not fit,
//! the executor spills both inputs as it does for a grace join (with no key, every row goes
//! to one partition; see [`grace`](super::grace)), and a [`BlockSource`] reads the build side
//! back in blocks that fit, joining each block with the probe files.
//!
//! Every build row is in one block and meets every probe row there, so pairs, and the build
//! rows emitted after probing (outer, right semi and right anti joins), come block by block.
//! Whether a probe row is output by a semi, anti or outer join depends on every block: the
//! probe rows that no block has matched yet are kept in spill files, and each block's anti
//! join over them (null-aware for `NOT IN`) writes the next ones. A semi join outputs each
//! block's matches among them; after the last block an anti join outputs what is left, and an
//! outer join outputs it with NULL build columns.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use arrow::array::{new_null_array, ArrayRef, RecordBatch};
use arrow::datatypes::SchemaRef;
use rask_common::{internal_err, Error, Result};
use rask_expr::JoinType;

use super::{BuildOutput, JoinCore, JoinExec, JoinRun, NestedLoopJoinExec, ProbeOutput};
use crate::executor::{StreamOperator, TaskContext};
use crate::memory::{batch_memory, Reservation};
use crate::source::{batches_of, BatchIter, DataSource, Morsel, MorselRef};
use crate::spill::{FilesReader, SpillFile, SpillWriter};

/// The joins a block runs, derived from the join's type.
#[derive(Debug, Clone)]
pub struct BlockPlan {
    /// Joins every probe row with the block: pairs, then build rows after probing.
    pairs: Option<Arc<dyn JoinExec>>,
    /// Outputs the block's matches among the probe rows not matched yet.
    semi: Option<Arc<dyn JoinExec>>,
    /// Keeps the probe rows the block does not match (they go on to the next block).
    anti: Option<Arc<dyn JoinExec>>,
    /// What the probe rows that no block matched become.
    last: Last,
    /// The join's output schema.
    schema: SchemaRef,
    build_schema: SchemaRef,
    build_is_right: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Last {
    Nothing,
    /// Output as they are (anti joins).
    Rows,
    /// Output with NULL build columns (outer joins).
    Padded,
}

impl BlockPlan {
    /// The plan of the nested loop join `core` (which is `join`).
    pub(super) fn new(core: &JoinCore, join: Arc<dyn JoinExec>) -> Result<Self> {
        let variant = |t: JoinType, both_sides: bool| -> Result<Arc<dyn JoinExec>> {
            let mut spec = core.spec.clone();
            spec.join_type = t;
            spec.runtime_filters = Vec::new();
            if !both_sides {
                spec.schema = Arc::clone(&core.probe_schema);
            }
            Ok(Arc::new(NestedLoopJoinExec::try_new(spec)?))
        };
        let (pairs_keeping_build, semi, anti) = if core.build_is_right() {
            (JoinType::Right, JoinType::LeftSemi, JoinType::LeftAnti)
        } else {
            (JoinType::Left, JoinType::RightSemi, JoinType::RightAnti)
        };
        let mut plan = BlockPlan {
            pairs: None,
            semi: None,
            anti: None,
            last: Last::Nothing,
            schema: Arc::clone(&core.spec.schema),
            build_schema: Arc::clone(&core.build_schema),
            build_is_right: core.build_is_right(),
        };
        match core.probe_output {
            ProbeOutput::Pairs | ProbeOutput::Nothing => plan.pairs = Some(join),
            ProbeOutput::PairsOuter => {
                let t = if core.build_output == BuildOutput::Unmatched {
                    pairs_keeping_build
                } else {
                    JoinType::Inner
                };
                plan.pairs = Some(variant(t, true)?);
                plan.anti = Some(variant(anti, false)?);
                plan.last = Last::Padded;
            }
            ProbeOutput::Semi => {
                plan.semi = Some(variant(semi, false)?);
                plan.anti = Some(variant(anti, false)?);
            }
            ProbeOutput::Anti => {
                plan.anti = Some(variant(anti, false)?);
                plan.last = Last::Rows;
            }
            ProbeOutput::AntiNullAware => {
                plan.anti = Some(variant(JoinType::LeftAntiNullAware, false)?);
                plan.last = Last::Rows;
            }
        }
        Ok(plan)
    }

    /// `batch` (pairs of a variant, or unmatched probe rows) in the join's output schema.
    fn conform(&self, batch: RecordBatch, pad: bool) -> Result<RecordBatch> {
        let mut columns = batch.columns().to_vec();
        if pad {
            let n = batch.num_rows();
            let nulls: Vec<ArrayRef> = self
                .build_schema
                .fields()
                .iter()
                .map(|f| new_null_array(f.data_type(), n))
                .collect();
            columns = if self.build_is_right {
                columns.into_iter().chain(nulls).collect()
            } else {
                nulls.into_iter().chain(columns).collect()
            };
        }
        Ok(RecordBatch::try_new(Arc::clone(&self.schema), columns)?)
    }
}

type Files = Arc<Mutex<Option<(Vec<SpillFile>, Vec<SpillFile>)>>>;

/// A spilled nested loop join: one morsel that joins the build side block by block.
#[derive(Debug)]
pub struct BlockSource {
    plan: BlockPlan,
    ctx: TaskContext,
    files: Files,
}

impl BlockSource {
    /// Joins the build rows in `build` with the probe rows in `probe`.
    pub fn new(
        plan: BlockPlan,
        ctx: &TaskContext,
        build: Vec<SpillFile>,
        probe: Vec<SpillFile>,
    ) -> Self {
        BlockSource {
            plan,
            ctx: ctx.clone(),
            files: Arc::new(Mutex::new(Some((build, probe)))),
        }
    }
}

impl DataSource for BlockSource {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.plan.schema)
    }
    fn morsels(&self) -> Result<Vec<MorselRef>> {
        Ok(vec![Arc::new(BlockMorsel {
            plan: self.plan.clone(),
            ctx: self.ctx.clone(),
            files: Arc::clone(&self.files),
        })])
    }
}

#[derive(Debug)]
struct BlockMorsel {
    plan: BlockPlan,
    ctx: TaskContext,
    files: Files,
}

impl Morsel for BlockMorsel {
    fn open(&self) -> Result<BatchIter> {
        let files = self
            .files
            .lock()
            .map_err(|_| Error::Internal("block join lock poisoned".into()))?
            .take();
        let Some((build, probe)) = files else {
            return internal_err!("a block nested loop join was read twice");
        };
        let probe: Vec<Arc<SpillFile>> = probe.into_iter().map(Arc::new).collect();
        let mut it = BlockIter {
            plan: self.plan.clone(),
            reservation: self.ctx.pool.reservation("NestedLoopJoinExec(block)"),
            ctx: self.ctx.clone(),
            build: FilesReader::new(build),
            carry: None,
            open: probe.clone(),
            probe,
            block: Vec::new(),
            steps: VecDeque::new(),
            pass: None,
            out: VecDeque::new(),
            finished: false,
        };
        Ok(batches_of(move || it.step()))
    }
    fn partition(&self) -> usize {
        0
    }
}

/// One pass of the probe files through a join's probe operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Pairs,
    Semi,
    Anti,
    Last,
}

struct Pass {
    step: Step,
    run: Option<Arc<dyn JoinRun>>,
    op: Option<Arc<dyn StreamOperator>>,
    files: FilesReader<Arc<SpillFile>>,
    /// The anti pass writes the rows still unmatched here.
    writer: Option<SpillWriter>,
}

struct BlockIter {
    plan: BlockPlan,
    ctx: TaskContext,
    /// Holds the current block.
    reservation: Reservation,
    build: FilesReader<SpillFile>,
    /// A build batch read but left for the next block.
    carry: Option<RecordBatch>,
    probe: Vec<Arc<SpillFile>>,
    /// The probe rows no block has matched yet.
    open: Vec<Arc<SpillFile>>,
    block: Vec<RecordBatch>,
    steps: VecDeque<Step>,
    pass: Option<Pass>,
    out: VecDeque<RecordBatch>,
    /// The last pass has started.
    finished: bool,
}

impl BlockIter {
    fn next_build_batch(&mut self) -> Result<Option<RecordBatch>> {
        if let Some(b) = self.carry.take() {
            return Ok(Some(b));
        }
        while let Some(b) = self.build.next_batch()? {
            if b.num_rows() > 0 {
                return Ok(Some(b));
            }
        }
        Ok(None)
    }

    /// Reads the next block: build batches while a quarter of the memory still free holds
    /// them (the block, each run's copy of it and its concatenation), at least one batch.
    fn load_block(&mut self) -> Result<bool> {
        self.block.clear();
        self.reservation.free();
        let free = self.ctx.pool.limit().saturating_sub(self.ctx.pool.used());
        let budget = free / 4;
        while let Some(b) = self.next_build_batch()? {
            let bytes = batch_memory(&b);
            if !self.block.is_empty()
                && (self.reservation.size() + bytes > budget
                    || self.reservation.try_grow(bytes).is_err())
            {
                self.carry = Some(b);
                break;
            }
            if self.block.is_empty() {
                self.reservation.try_grow(bytes)?;
            }
            self.block.push(b);
        }
        Ok(!self.block.is_empty())
    }

    /// A run of `join` holding the current block.
    fn build_run(&self, join: &Arc<dyn JoinExec>) -> Result<Arc<dyn JoinRun>> {
        let run = join.start(&self.ctx)?;
        let sink = run.build_sink();
        let mut local = sink.make_local(&self.ctx)?;
        for b in &self.block {
            local.sink(0, 0, b.clone())?;
        }
        sink.finish(vec![local], &self.ctx)?;
        Ok(run)
    }

    fn start_pass(&mut self, step: Step) -> Result<()> {
        let join = match step {
            Step::Pairs => self.plan.pairs.clone(),
            Step::Semi => self.plan.semi.clone(),
            Step::Anti => self.plan.anti.clone(),
            Step::Last => None,
        };
        let run = join.map(|j| self.build_run(&j)).transpose()?;
        let op = run.as_ref().map(|r| r.probe_operator()).transpose()?;
        let files = FilesReader::new(match step {
            Step::Pairs => self.probe.clone(),
            _ => self.open.clone(),
        });
        let writer = match (step, self.open.first()) {
            (Step::Anti, Some(f)) => Some(self.ctx.spill.writer(f.schema(), "join")?),
            _ => None,
        };
        self.pass = Some(Pass {
            step,
            run,
            op,
            files,
            writer,
        });
        Ok(())
    }

    /// Ends the current pass: the build rows its join emits now, the next unmatched rows.
    fn end_pass(&mut self) -> Result<()> {
        let Some(pass) = self.pass.take() else {
            return Ok(());
        };
        if let Some(run) = &pass.run {
            if run.emits_after_probe() {
                for b in run.after_probe()? {
                    self.out.push_back(self.plan.conform(b, false)?);
                }
            }
        }
        if let Some(w) = pass.writer {
            self.open = vec![Arc::new(w.finish()?)];
        }
        Ok(())
    }

    fn step(&mut self) -> Result<Option<RecordBatch>> {
        loop {
            if let Some(b) = self.out.pop_front() {
                return Ok(Some(b));
            }
            if let Some(pass) = &mut self.pass {
                let Some(b) = pass.files.next_batch()? else {
                    self.end_pass()?;
                    continue;
                };
                let b = match &pass.op {
                    Some(op) => op.execute(b)?,
                    None => Some(b),
                };
                let Some(b) = b.filter(|b| b.num_rows() > 0) else {
                    continue;
                };
                match &mut pass.writer {
                    Some(w) => w.write(&b)?,
                    None => {
                        let pad = pass.step == Step::Last && self.plan.last == Last::Padded;
                        return Ok(Some(self.plan.conform(b, pad)?));
                    }
                }
                continue;
            }
            if let Some(step) = self.steps.pop_front() {
                self.start_pass(step)?;
                continue;
            }
            // The next block, or the end.
            if self.load_block()? {
                for (step, on) in [
                    (Step::Pairs, self.plan.pairs.is_some()),
                    (Step::Semi, self.plan.semi.is_some()),
                    (Step::Anti, self.plan.anti.is_some()),
                ] {
                    if on {
                        self.steps.push_back(step);
                    }
                }
                continue;
            }
            self.block.clear();
            self.reservation.free();
            if self.finished || self.plan.last == Last::Nothing {
                return Ok(None);
            }
            self.finished = true;
            self.start_pass(Step::Last)?;
        }
    }
}
