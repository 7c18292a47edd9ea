//! Joins: [`HashJoinExec`] for equi-joins, [`NestedLoopJoinExec`] for everything else.
//!
//! A join runs in two phases, driven by the executor through [`PhysicalPlan::Join`]:
//!
//! 1. **Build.** The build input runs to completion into the join's build sink. Workers keep
//!    their batches, key columns and key hashes in their own locals; `finish` concatenates
//!    them into one batch and builds one index over all build rows: a direct-index table for
//!    one dense integer key, a hash table on the key value for one sparse integer key, a hash
//!    table on the 64-bit engine hash (keys verified column by column) otherwise, or nothing
//!    for the nested loop.
//! 2. **Probe.** A probe operator is appended to every chain of the probe pipeline. Per batch
//!    it hashes (or converts) the probe keys once, collects candidate `(probe, build)` row
//!    pairs in bounded chunks, verifies keys in typed loops, applies the residual filter to the
//!    surviving pairs and gathers the output with `take` on both sides.
//!
//! Join types that output build rows (unmatched build rows for Right/Full/RightAnti, matched
//! ones for RightSemi, with the default build = right) mark matched build rows in a bitmap
//! shared by the probe workers; the rows [`JoinRun::after_probe`] returns then stream into the
//! same pipeline as one more work item, held back until every probe item has finished (the
//! executor's latch), so the probe output is never buffered.
//!
//! Output columns are always the left input's then the right input's (one side only for
//! semi/anti joins), whichever side is built.
//!
//! [`PhysicalPlan::Join`]: crate::executor::PhysicalPlan::Join

pub mod blocks;
mod build;
pub mod grace;
mod probe;
pub mod runtime_filter;
mod verify;

#[cfg(test)]
mod tests;

use std::fmt::Debug;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use rask_common::{plan_err, Result};
use rask_expr::JoinType;

use crate::executor::{Sink, StreamOperator, TaskContext};
use crate::physical_expr::PhysicalExpr;

pub use build::is_hashable_key_type;
use runtime_filter::RuntimeFilterSlot;

/// A join as the executor sees it: a build sink, then a probe operator.
pub trait JoinExec: Send + Sync + Debug {
    /// Output schema.
    fn schema(&self) -> SchemaRef;
    /// One-line description for EXPLAIN.
    fn describe(&self) -> String;
    /// Fresh state for one execution of the join.
    fn start(&self, ctx: &TaskContext) -> Result<Arc<dyn JoinRun>>;
    /// The keys both inputs can be hash-partitioned by so that the join runs partition by
    /// partition when its build side does not fit (see [`grace`]); `None`: it cannot.
    fn partition_keys(&self) -> Option<grace::PartitionKeys> {
        None
    }
    /// A probe input column such that dropping the probe rows whose value in it is not in a
    /// set S changes only output rows whose value in column `output` is NULL or not in S (and
    /// so only rows that a join above, keeping nothing for such keys, drops anyway). That is
    /// the probe column `output` passes on, or, for a build column that is an equi-join key,
    /// the probe key it equals. Runtime filters of joins above are traced through it.
    fn probe_input_column(&self, _output: usize) -> Option<usize> {
        None
    }
    /// The build input column that output column `output` passes on (joins that output both
    /// sides): dropping build rows whose value in it is not in S changes only output rows
    /// whose value there is NULL or not in S. Runtime filters of joins above are traced
    /// through it; the build input runs after the filters of the joins above are published.
    fn build_input_column(&self, _output: usize) -> Option<usize> {
        None
    }
    /// Empties the join's runtime filter slots (before a new execution builds it).
    fn reset_runtime_filters(&self) {}
    /// For a join without partition keys that can run block by block when its build side
    /// does not fit (see [`blocks`]): the joins each block runs. `None`: it cannot.
    fn block_plan(&self) -> Option<Result<blocks::BlockPlan>> {
        None
    }
}

/// One execution of a join.
pub trait JoinRun: Send + Sync {
    /// The sink the build input runs into; its `finish` keeps the build side in this run and
    /// outputs nothing.
    fn build_sink(&self) -> Arc<dyn Sink>;
    /// The operator appended to the probe pipeline (after the build sink finished).
    fn probe_operator(&self) -> Result<Arc<dyn StreamOperator>>;
    /// Whether build rows are output after the probe pipeline finished.
    fn emits_after_probe(&self) -> bool;
    /// Those rows (call once every probe batch went through the probe operator).
    fn after_probe(&self) -> Result<Vec<RecordBatch>>;
    /// Publishes the runtime filters of the complete build side into the join's slots (the
    /// executor calls it once the build sink finished, before compiling the probe side).
    fn publish_runtime_filters(&self) -> Result<()> {
        Ok(())
    }
}

/// One input of a join.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinSide {
    /// The left input.
    Left,
    /// The right input.
    Right,
}

/// The residual condition of a join, evaluated on candidate pairs.
#[derive(Debug, Clone)]
pub struct JoinFilter {
    /// The predicate, bound to `schema`.
    pub expr: PhysicalExpr,
    /// The input columns `expr` reads, in the order of `schema`'s fields.
    pub columns: Vec<(JoinSide, usize)>,
    /// The schema of the intermediate batch the predicate is evaluated on.
    pub schema: SchemaRef,
}

/// What a join computes, shared by both join operators.
#[derive(Debug, Clone)]
pub struct JoinSpec {
    /// The join type (in terms of left and right, whichever side is built).
    pub join_type: JoinType,
    /// Schema of the left input.
    pub left_schema: SchemaRef,
    /// Schema of the right input.
    pub right_schema: SchemaRef,
    /// Equi-join keys `(left expression, right expression)`, both already cast to their
    /// comparison type; compared with SQL `=` (NULL never matches).
    pub on: Vec<(PhysicalExpr, PhysicalExpr)>,
    /// Residual condition over left and right columns, deciding which key-matching pairs
    /// match.
    pub filter: Option<JoinFilter>,
    /// Output schema: left fields then right fields (one side for semi/anti joins).
    pub schema: SchemaRef,
    /// The input materialised by the build phase.
    pub build_side: JoinSide,
    /// Condition text for EXPLAIN.
    pub display: String,
    /// `(key, slot)`: the runtime filter of the build values of key `on[key]` goes to `slot`
    /// (see [`runtime_filter`]); only for joins whose [`filters_probe_rows`] holds.
    pub runtime_filters: Vec<(usize, RuntimeFilterSlot)>,
}

/// Whether a join of `join_type` building `build_side` outputs nothing for a probe row whose
/// key matches no build key, so that a runtime filter may drop such rows early.
pub fn filters_probe_rows(join_type: JoinType, build_side: JoinSide) -> bool {
    outputs(join_type, build_side).is_ok_and(|(p, _)| p.drops_unmatched())
}

impl ProbeOutput {
    /// Whether a probe row that matches no build key contributes nothing.
    fn drops_unmatched(self) -> bool {
        matches!(
            self,
            ProbeOutput::Pairs | ProbeOutput::Semi | ProbeOutput::Nothing
        )
    }
}

/// What a probe batch outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ProbeOutput {
    /// Matching pairs.
    Pairs,
    /// Matching pairs plus probe rows without a match (build columns NULL).
    PairsOuter,
    /// Probe rows with a match.
    Semi,
    /// Probe rows without a match.
    Anti,
    /// Probe rows without a match under `NOT IN` semantics.
    AntiNullAware,
    /// Nothing (the join outputs build rows only).
    Nothing,
}

/// What is output from the build side once probing is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BuildOutput {
    /// Nothing.
    Nothing,
    /// Build rows without a match, probe columns NULL.
    Unmatched,
    /// Build rows with a match (build columns only).
    Semi,
    /// Build rows without a match (build columns only).
    Anti,
}

/// The work split of `join_type` when `build_side` is built.
fn outputs(join_type: JoinType, build_side: JoinSide) -> Result<(ProbeOutput, BuildOutput)> {
    use BuildOutput as B;
    use ProbeOutput as P;
    Ok(match (build_side, join_type) {
        (_, JoinType::Inner) => (P::Pairs, B::Nothing),
        (_, JoinType::Full) => (P::PairsOuter, B::Unmatched),
        (JoinSide::Right, JoinType::Left) | (JoinSide::Left, JoinType::Right) => {
            (P::PairsOuter, B::Nothing)
        }
        (JoinSide::Right, JoinType::Right) | (JoinSide::Left, JoinType::Left) => {
            (P::Pairs, B::Unmatched)
        }
        (JoinSide::Right, JoinType::LeftSemi) | (JoinSide::Left, JoinType::RightSemi) => {
            (P::Semi, B::Nothing)
        }
        (JoinSide::Right, JoinType::LeftAnti) | (JoinSide::Left, JoinType::RightAnti) => {
            (P::Anti, B::Nothing)
        }
        (JoinSide::Right, JoinType::LeftAntiNullAware) => (P::AntiNullAware, B::Nothing),
        (JoinSide::Left, JoinType::LeftAntiNullAware) => {
            return plan_err!("a null-aware anti join must build its right input")
        }
        (JoinSide::Right, JoinType::RightSemi) | (JoinSide::Left, JoinType::LeftSemi) => {
            (P::Nothing, B::Semi)
        }
        (JoinSide::Right, JoinType::RightAnti) | (JoinSide::Left, JoinType::LeftAnti) => {
            (P::Nothing, B::Anti)
        }
    })
}

/// How build rows are indexed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IndexKind {
    /// Every build row is a candidate for every probe row.
    All,
    /// By key (the build sink picks the table from the key types and values).
    Hash,
}

/// A validated spec with its work split, shared by build, probe and final phases.
#[derive(Debug)]
struct JoinCore {
    spec: JoinSpec,
    probe_output: ProbeOutput,
    build_output: BuildOutput,
    index: IndexKind,
    /// Probe key expressions (over the probe input).
    probe_keys: Vec<PhysicalExpr>,
    /// Build key expressions (over the build input).
    build_keys: Vec<PhysicalExpr>,
    /// The filter's columns as `(from probe side, column)`.
    filter_columns: Vec<(bool, usize)>,
    probe_schema: SchemaRef,
    build_schema: SchemaRef,
}

impl JoinCore {
    fn try_new(spec: JoinSpec, index: IndexKind) -> Result<Self> {
        let (probe_output, build_output) = outputs(spec.join_type, spec.build_side)?;
        if index == IndexKind::Hash && spec.on.is_empty() {
            return plan_err!("a hash join needs at least one equi-join key");
        }
        if index == IndexKind::Hash
            && probe_output == ProbeOutput::AntiNullAware
            && (spec.on.len() != 1 || spec.filter.is_some())
        {
            return plan_err!(
                "a null-aware anti hash join takes one key and no filter; use a nested loop join"
            );
        }
        let build_is_right = spec.build_side == JoinSide::Right;
        let (lk, rk): (Vec<_>, Vec<_>) = spec.on.iter().cloned().unzip();
        let (probe_keys, build_keys) = if build_is_right { (lk, rk) } else { (rk, lk) };
        let (probe_schema, build_schema) = if build_is_right {
            (
                Arc::clone(&spec.left_schema),
                Arc::clone(&spec.right_schema),
            )
        } else {
            (
                Arc::clone(&spec.right_schema),
                Arc::clone(&spec.left_schema),
            )
        };
        let filter_columns = spec
            .filter
            .as_ref()
            .map(|f| {
                f.columns
                    .iter()
                    .map(|(side, i)| (*side != spec.build_side, *i))
                    .collect()
            })
            .unwrap_or_default();
        if let Some(f) = &spec.filter {
            if f.columns.len() != f.schema.fields().len() {
                return plan_err!("join filter columns do not match its schema");
            }
        }
        if !spec.runtime_filters.is_empty()
            && (index != IndexKind::Hash
                || !probe_output.drops_unmatched()
                || spec
                    .runtime_filters
                    .iter()
                    .any(|(k, _)| *k >= spec.on.len()))
        {
            return plan_err!("runtime filters on a join that keeps probe rows without a match");
        }
        Ok(JoinCore {
            spec,
            probe_output,
            build_output,
            index,
            probe_keys,
            build_keys,
            filter_columns,
            probe_schema,
            build_schema,
        })
    }

    /// The memory pool consumer holding the build side.
    fn build_consumer(&self) -> &'static str {
        match self.index {
            IndexKind::All => "NestedLoopJoinExec(build)",
            IndexKind::Hash => "HashJoinExec(build)",
        }
    }

    fn build_is_right(&self) -> bool {
        self.spec.build_side == JoinSide::Right
    }

    /// See [`JoinExec::build_input_column`]: a pair holds the build row's value; a probe row
    /// that loses its last matching build rows may be emitted with NULL build columns.
    fn build_input_column(&self, output: usize) -> Option<usize> {
        if self.probe_output == ProbeOutput::Nothing
            || matches!(
                self.probe_output,
                ProbeOutput::Semi | ProbeOutput::Anti | ProbeOutput::AntiNullAware
            )
        {
            return None;
        }
        let left = self.spec.left_schema.fields().len();
        if self.build_is_right() {
            output.checked_sub(left)
        } else {
            (output < left).then_some(output)
        }
    }

    /// See [`JoinExec::probe_input_column`].
    ///
    /// A probe column passed on: the output rows that hold a probe row's value come from that
    /// probe row; the others (build rows emitted after probing) hold NULL there. A build key
    /// column `b` with a probe key `p` (both plain columns of the comparison type): pairs
    /// hold `b = p`; a build row that loses its last matching probe rows (all with `p = b`,
    /// not in S) may be emitted as unmatched, holding `b` not in S.
    fn probe_input_column(&self, output: usize) -> Option<usize> {
        if self.probe_output == ProbeOutput::Nothing {
            return None;
        }
        let left = self.spec.left_schema.fields().len();
        let one_side = matches!(
            self.spec.join_type,
            JoinType::LeftSemi
                | JoinType::LeftAnti
                | JoinType::LeftAntiNullAware
                | JoinType::RightSemi
                | JoinType::RightAnti
        );
        // Semi and anti joins that output probe rows output only the probe side.
        if one_side {
            return Some(output);
        }
        let (probe, build) = if self.build_is_right() {
            ((output < left).then_some(output), output.checked_sub(left))
        } else {
            (output.checked_sub(left), (output < left).then_some(output))
        };
        if probe.is_some() || self.index != IndexKind::Hash {
            return probe;
        }
        let build = build?;
        self.build_keys
            .iter()
            .zip(&self.probe_keys)
            .find_map(|(b, p)| match (b, p) {
                (PhysicalExpr::Column(b), PhysicalExpr::Column(p)) if *b == build => Some(*p),
                _ => None,
            })
    }

    fn describe(&self, name: &str) -> String {
        let mut s = format!("{name}: {}", self.spec.join_type);
        if !self.spec.display.is_empty() {
            s.push_str(&format!(" {}", self.spec.display));
        }
        s.push_str(match self.spec.build_side {
            JoinSide::Left => " build=left",
            JoinSide::Right => " build=right",
        });
        s
    }
}

/// Hash join on equi-join keys, with an optional residual filter; all join types.
///
/// The build side (by default the right input) is materialised and indexed by key; the other
/// side streams through. NULL keys never match.
///
/// # Ordering
///
/// No output order: probe batches keep their row order for pairs, but build rows emitted after
/// probing (outer/right semi/anti joins) come last.
///
/// # Memory
///
/// Buffers the whole build side (its batches, key columns, hashes and the table), reserved in
/// the memory pool. When it does not fit, the executor runs it as a grace hash join (both
/// inputs split into spill files by key hash, joined partition by partition; see [`grace`]).
#[derive(Debug)]
pub struct HashJoinExec {
    core: Arc<JoinCore>,
}

impl HashJoinExec {
    /// A hash join; needs at least one key (and, for a null-aware anti join, exactly one key
    /// and no filter).
    pub fn try_new(spec: JoinSpec) -> Result<Self> {
        Ok(HashJoinExec {
            core: Arc::new(JoinCore::try_new(spec, IndexKind::Hash)?),
        })
    }

    /// What it computes.
    pub fn spec(&self) -> &JoinSpec {
        &self.core.spec
    }
}

impl JoinExec for HashJoinExec {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.core.spec.schema)
    }
    fn describe(&self) -> String {
        self.core.describe("HashJoinExec")
    }
    fn start(&self, ctx: &TaskContext) -> Result<Arc<dyn JoinRun>> {
        build::start(Arc::clone(&self.core), ctx)
    }
    fn probe_input_column(&self, output: usize) -> Option<usize> {
        self.core.probe_input_column(output)
    }
    fn build_input_column(&self, output: usize) -> Option<usize> {
        self.core.build_input_column(output)
    }
    fn reset_runtime_filters(&self) {
        for (_, slot) in &self.core.spec.runtime_filters {
            slot.set(None);
        }
    }
    fn partition_keys(&self) -> Option<grace::PartitionKeys> {
        Some(grace::PartitionKeys {
            build: self.core.build_keys.clone(),
            probe: self.core.probe_keys.clone(),
            null_aware: self.core.probe_output == ProbeOutput::AntiNullAware,
        })
    }
}

/// Nested loop join: every probe row against every build row, in bounded chunks of pairs,
/// with equi-keys (if any) and the filter checked on each pair; all join types. For cross
/// joins and conditions without equalities.
///
/// `LeftAntiNullAware` follows `NOT IN` exactly for any number of keys and any filter: a
/// left row is dropped when some right row passes the filter and no key pair compares FALSE.
///
/// # Ordering
///
/// As [`HashJoinExec`].
///
/// # Memory
///
/// Buffers the build side (reserved in the pool); candidate pairs are evaluated in chunks of
/// at most 64Ki pairs, but a probe batch's output is one batch (for a cross join, probe rows ×
/// build rows). When the build side does not fit, both inputs are spilled and the build side
/// is joined block by block (see [`blocks`]).
#[derive(Debug)]
pub struct NestedLoopJoinExec {
    core: Arc<JoinCore>,
}

impl NestedLoopJoinExec {
    /// A nested loop join.
    pub fn try_new(spec: JoinSpec) -> Result<Self> {
        Ok(NestedLoopJoinExec {
            core: Arc::new(JoinCore::try_new(spec, IndexKind::All)?),
        })
    }

    /// What it computes.
    pub fn spec(&self) -> &JoinSpec {
        &self.core.spec
    }
}

impl JoinExec for NestedLoopJoinExec {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.core.spec.schema)
    }
    fn describe(&self) -> String {
        self.core.describe("NestedLoopJoinExec")
    }
    fn start(&self, ctx: &TaskContext) -> Result<Arc<dyn JoinRun>> {
        build::start(Arc::clone(&self.core), ctx)
    }
    fn block_plan(&self) -> Option<Result<blocks::BlockPlan>> {
        let this = Arc::new(NestedLoopJoinExec {
            core: Arc::clone(&self.core),
        });
        Some(blocks::BlockPlan::new(&self.core, this))
    }
    fn probe_input_column(&self, output: usize) -> Option<usize> {
        self.core.probe_input_column(output)
    }
    fn build_input_column(&self, output: usize) -> Option<usize> {
        self.core.build_input_column(output)
    }
}
