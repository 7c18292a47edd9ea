//! Hash aggregation: `GROUP BY` keys to dense group ids, then column-wise accumulators.
//!
//! [`HashAggregateExec`] is a [`Sink`]. Each worker interns the key columns of its batches
//! into a thread-local table (see `group_keys` for the specialised interners) and updates
//! typed per-group state vectors (`accumulators`, `holistic`) with the batch's group ids.
//! `finish` merges the workers' tables partition-wise and in parallel.

mod accumulators;
mod global_spill;
pub(crate) mod group_keys;
mod holistic;
mod spill;

use std::any::Any;
use std::sync::Arc;

use arrow::array::{
    new_null_array, Array, ArrayRef, AsArray, Int64Array, RecordBatch, UInt32Array,
};
use arrow::compute::{filter, prep_null_mask_filter, take};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::row::{RowConverter, SortField};
use rask_common::{internal_err, plan_err, Error, Result, ScalarValue};
use rask_expr::AggFunc;
use rayon::prelude::*;

use crate::executor::{Sink, SinkLocal, TaskContext};
use crate::hash::{hash_bytes, hash_columns};
use crate::memory::Reservation;
use crate::physical_expr::PhysicalExpr;
use crate::source::{DataSource, MemorySource};

use accumulators::{create_accumulator, AccSpec, GroupsAcc};
use group_keys::{new_interner, ComposeMerger, GroupInterner, IntInterner, PackedKey, PackedTable};
use holistic::ITEM_SHIFT;

/// Whether the aggregate's state of one group grows with its input: `median`,
/// `quantile_cont` and `DISTINCT` aggregates (other than `min`/`max`).
fn collects_values(spec: &AccSpec) -> bool {
    use AggFunc::*;
    match spec.func {
        Median | Quantile => true,
        Min | Max | AnyValue | CountStar => false,
        _ => spec.distinct,
    }
}

/// Output batches hold at most this many rows.
const MAX_OUTPUT_ROWS: usize = 8192 * 4;

/// `quantile_cont`'s second argument: a numeric literal in `[0, 1]`.
fn quantile_fraction(arg: Option<&PhysicalExpr>) -> Result<f64> {
    let v = arg.and_then(|e| e.as_literal());
    let q = v.and_then(|v| match v {
        ScalarValue::Float64(Some(f)) => Some(*f),
        ScalarValue::Int64(Some(i)) => Some(*i as f64),
        v => v.cast_to(&DataType::Float64).ok().and_then(|c| match c {
            ScalarValue::Float64(f) => f,
            _ => None,
        }),
    });
    match q {
        Some(q) if (0.0..=1.0).contains(&q) => Ok(q),
        Some(q) => plan_err!("quantile_cont() fraction must be between 0 and 1, got {q}"),
        None => Err(Error::NotImplemented(
            "quantile_cont() needs its fraction as a numeric literal between 0 and 1, \
             e.g. quantile_cont(x, 0.25)"
                .into(),
        )),
    }
}

/// One aggregate of a [`HashAggregateExec`], e.g. `sum(DISTINCT x) FILTER (WHERE y > 0)`.
#[derive(Debug, Clone)]
pub struct AggregateExpr {
    /// The function.
    pub func: AggFunc,
    /// Arguments, evaluated on input batches (none for `count(*)`; `string_agg` takes the
    /// value and a literal separator).
    pub args: Vec<PhysicalExpr>,
    /// Aggregate distinct values only.
    pub distinct: bool,
    /// Only rows where this is TRUE feed the aggregate.
    pub filter: Option<PhysicalExpr>,
    /// The result type ([`rask_expr::type_coercion::aggregate_return_type`]).
    pub return_type: DataType,
    /// Output column name.
    pub name: String,
}

/// Grouped (or global) aggregation.
///
/// Computes one row per distinct combination of the group expressions (NULL keys form one
/// group) with the aggregates of its rows; with no group expressions, exactly one row, even
/// for empty input (`count` 0, other aggregates NULL). A grouped aggregate of empty input has
/// no rows. SQL semantics: `count(x)` counts non-NULL values, `sum`/`avg`/`min`/`max`/...
/// skip NULLs and are NULL without input; integer `sum` fails on Int64 overflow; decimal `sum`
/// is exact in `Decimal128(38, s)`; `avg` of integers and decimals divides an exact 128-bit
/// sum; `var_*`/`stddev_*` use Welford's method (`*_samp` of one value is NULL); `median` is
/// exact (the mean of the two middle values for even counts); `corr` is NULL for fewer than
/// two rows or zero variance; `first`/`last` return the first/last row's value in input order
/// (work-item order, then row order), NULL included; `any_value` the first non-NULL value;
/// `string_agg` joins non-NULL values in input order (`string_agg(DISTINCT ...)`: the distinct
/// values sorted, so the answer does not depend on scheduling).
///
/// # Ordering
///
/// Needs no input order and gives no output order.
///
/// # Partitioning
///
/// Any input partitioning. Output: with one worker, one partition; otherwise one partition
/// per worker thread, groups assigned by key hash (a global aggregate: one partition, one
/// row). Batches hold at most 32,768 rows.
///
/// # Memory
///
/// Buffers one hash table and one state vector per aggregate per worker (`median` keeps
/// every value, `string_agg` every string, `DISTINCT` every distinct pair), reserved from the
/// session pool after every batch.
///
/// # Spilling
///
/// When the pool refuses a worker's table, or merging the workers' tables would not fit, the
/// groups are written out as partial states split by key hash into 32 spill files and
/// finalised partition by partition (see the `spill` module). Every aggregate spills: value
/// lists (`median`, `string_agg` segments, `DISTINCT` values) as one list per group. A global
/// aggregate (no GROUP BY) holds one group: its `median`/`quantile_cont` values and
/// `DISTINCT` values are written out instead (see `global_spill`); with a `string_agg`, or
/// when the rest does not fit, past the limit it fails with `ResourcesExhausted`.
#[derive(Debug)]
pub struct HashAggregateExec {
    shared: Arc<Shared>,
    schema: SchemaRef,
}

#[derive(Debug)]
struct Shared {
    group_exprs: Vec<PhysicalExpr>,
    group_names: Vec<String>,
    aggr_exprs: Vec<AggregateExpr>,
    specs: Vec<AccSpec>,
    /// Use the row-format interner whatever the key types (tests).
    force_row_keys: bool,
    /// Rows written out without a table ([`AggLocal::pass_through`]), over every run.
    rows_passed_through: std::sync::atomic::AtomicU64,
}

impl HashAggregateExec {
    /// An aggregation computing `aggr_exprs` per group of `group_exprs` (evaluated on input
    /// batches); `output_schema` holds the group columns then the aggregates, in order.
    ///
    /// # Errors
    ///
    /// A plan error when the schema does not have one field per group expression and
    /// aggregate, or `string_agg` lacks a literal separator.
    pub fn try_new(
        group_exprs: Vec<(PhysicalExpr, String)>,
        aggr_exprs: Vec<AggregateExpr>,
        output_schema: SchemaRef,
    ) -> Result<Self> {
        let expected = group_exprs.len() + aggr_exprs.len();
        if output_schema.fields().len() != expected {
            return plan_err!(
                "aggregate output schema has {} fields, expected {expected}",
                output_schema.fields().len()
            );
        }
        let mut specs = Vec::with_capacity(aggr_exprs.len());
        for a in &aggr_exprs {
            let separator = if a.func == AggFunc::StringAgg {
                match a.args.get(1) {
                    None => String::new(),
                    Some(e) => match e.as_literal() {
                        Some(ScalarValue::Utf8(s)) => s.clone().unwrap_or_default(),
                        Some(v) if v.is_null() => String::new(),
                        _ => {
                            return Err(Error::NotImplemented(
                                "string_agg with a separator that is not a string literal".into(),
                            ))
                        }
                    },
                }
            } else {
                String::new()
            };
            let quantile = if a.func == AggFunc::Quantile {
                quantile_fraction(a.args.get(1))?
            } else {
                0.5
            };
            if a.distinct && a.args.len() > 1 && a.func != AggFunc::StringAgg {
                return Err(Error::NotImplemented(format!(
                    "{}(DISTINCT ...) with more than one argument",
                    a.func.name()
                )));
            }
            specs.push(AccSpec {
                func: a.func,
                distinct: a.distinct,
                return_type: a.return_type.clone(),
                separator,
                quantile,
            });
        }
        let (group_exprs, group_names) = group_exprs.into_iter().unzip();
        Ok(HashAggregateExec {
            shared: Arc::new(Shared {
                group_exprs,
                group_names,
                aggr_exprs,
                specs,
                force_row_keys: false,
                rows_passed_through: Default::default(),
            }),
            schema: output_schema,
        })
    }

    /// Forces the row-format key path (tests).
    #[cfg(test)]
    fn with_row_keys(self) -> Self {
        let s = &self.shared;
        HashAggregateExec {
            shared: Arc::new(Shared {
                group_exprs: s.group_exprs.clone(),
                group_names: s.group_names.clone(),
                aggr_exprs: s.aggr_exprs.clone(),
                specs: s.specs.clone(),
                force_row_keys: true,
                rows_passed_through: Default::default(),
            }),
            schema: self.schema,
        }
    }

    fn is_global(&self) -> bool {
        self.shared.group_exprs.is_empty()
    }

    /// Casts `keys` then `aggs` to the output schema and cuts them into batches.
    fn output(&self, keys: Vec<ArrayRef>, aggs: Vec<ArrayRef>) -> Result<Vec<RecordBatch>> {
        spill::output_batches(&self.schema, keys, aggs)
    }

    /// The single row of a global aggregate that saw no input.
    fn empty_global(&self) -> Result<Vec<RecordBatch>> {
        let aggs = self
            .shared
            .specs
            .iter()
            .map(|s| match s.func {
                AggFunc::Count | AggFunc::CountStar => {
                    Arc::new(Int64Array::from(vec![0i64])) as ArrayRef
                }
                _ => new_null_array(&s.return_type, 1),
            })
            .collect();
        self.output(vec![], aggs)
    }
}

/// One worker's table.
struct AggLocal {
    shared: Arc<Shared>,
    interner: Option<Box<dyn GroupInterner>>,
    /// Empty until the first batch (argument types are known then).
    accs: Vec<Box<dyn GroupsAcc>>,
    arg_types: Vec<Vec<DataType>>,
    ids: Vec<u32>,
    filtered_ids: Vec<u32>,
    reservation: Reservation,
    item: usize,
    item_rows: u64,
    /// Partial states written out so far.
    spill: spill::AggSpill,
    /// Every aggregate can write its state out (and the aggregation is grouped).
    can_spill: bool,
    /// A global aggregation whose value collections can be written out (see
    /// `global_spill`), and whether they were.
    global_spill: Option<global_spill::GlobalSpill>,
    global_spilled: bool,
    force_spill: bool,
    /// Rows that went into the table since it was last spilled.
    table_rows: u64,
    /// A spilled table had nearly as many groups as rows: later batches are written out
    /// as partial states row by row, without a table (the partitions of the spill files
    /// are aggregated when they are finalised).
    pass_through: bool,
}

impl AggLocal {
    fn size(&self) -> usize {
        self.interner.as_ref().map_or(0, |i| i.size())
            + self.accs.iter().map(|a| a.size()).sum::<usize>()
            + (self.ids.capacity() + self.filtered_ids.capacity()) * 4
    }

    fn saw_input(&self) -> bool {
        !self.accs.is_empty() || self.interner.as_ref().is_some_and(|i| i.num_groups() > 0)
    }

    fn num_groups(&self) -> usize {
        self.interner.as_ref().map_or(0, |i| i.num_groups())
    }

    /// Freezes the accumulators and splits the groups into `parts` partitions (see
    /// [`Partitioner`]): per partition, the key columns and the local group ids.
    fn split(&mut self, parts: usize, by: &Partitioner) -> Result<Split> {
        for a in &mut self.accs {
            a.freeze()?;
        }
        let Some(interner) = &self.interner else {
            return internal_err!("aggregate local without a table");
        };
        let keys = interner.emit()?;
        let n = interner.num_groups();
        if parts <= 1 {
            return Ok(Split {
                keys: vec![keys],
                src: vec![(0..n as u32).collect()],
            });
        }
        let mut src: Vec<Vec<u32>> = vec![Vec::new(); parts];
        if let Partitioner::IntRanges(bounds) = by {
            let Some(t) = interner.as_any().downcast_ref::<IntInterner>() else {
                return internal_err!("integer-range merge of a table without an integer key");
            };
            let (values, null_group) = t.int_keys();
            for (g, &k) in values.iter().enumerate() {
                let p = if null_group == Some(g as u32) {
                    0
                } else {
                    bounds.partition_point(|&b| b <= k)
                };
                src[p].push(g as u32);
            }
            return Split::take(keys, src);
        }
        let mut hashes = Vec::new();
        if hash_columns(&keys, n, &mut hashes).is_err() {
            // Key types the engine hash does not know: hash their row encoding.
            let conv = RowConverter::new(
                keys.iter()
                    .map(|k| SortField::new(k.data_type().clone()))
                    .collect(),
            )?;
            let rows = conv.convert_columns(&keys)?;
            hashes = rows.iter().map(|r| hash_bytes(r.as_ref())).collect();
        }
        for (g, h) in hashes.iter().enumerate() {
            src[partition_of(*h, parts)].push(g as u32);
        }
        Split::take(keys, src)
    }
}

/// How a merge assigns each worker's groups to partitions.
enum Partitioner {
    /// By the hash of the key.
    Hash,
    /// One integer key: partition `p` holds the keys between bounds `p - 1` and `p` (NULL in
    /// partition 0). Each partition's keys then lie in a narrow range, which its table can
    /// index directly where hashed partitions would each span every key.
    IntRanges(Vec<i64>),
}

impl Partitioner {
    /// Ranges when every table has one integer key, their bounds the quantiles of a sample
    /// of the keys (so the partitions hold about as many groups each); hashing otherwise.
    fn for_tables(live: &[AggLocal], parts: usize) -> Partitioner {
        const SAMPLE: usize = 4096;
        if parts <= 1 {
            return Partitioner::Hash;
        }
        let mut sample = Vec::new();
        for l in live {
            let Some(t) = l
                .interner
                .as_deref()
                .and_then(|i| i.as_any().downcast_ref::<IntInterner>())
            else {
                return Partitioner::Hash;
            };
            let (values, _) = t.int_keys();
            sample.extend(values.iter().step_by((values.len() / SAMPLE).max(1)));
        }
        if sample.is_empty() {
            return Partitioner::Hash;
        }
        sample.sort_unstable();
        Partitioner::IntRanges(
            (1..parts)
                .map(|p| sample[p * sample.len() / parts])
                .collect(),
        )
    }
}

/// The key columns and final aggregate values of every group of a table.
fn evaluate_table(
    interner: &dyn GroupInterner,
    accs: &mut [Box<dyn GroupsAcc>],
) -> Result<(Vec<ArrayRef>, Vec<ArrayRef>)> {
    let n = interner.num_groups();
    let keys = interner.emit()?;
    let aggs = accs
        .iter_mut()
        .map(|a| a.evaluate(n))
        .collect::<Result<Vec<_>>>()?;
    Ok((keys, aggs))
}

/// The radix partition of a hash: bits 25..57, which neither the hash tables' bucket index
/// (low bits) nor their tag (top 7 bits) use, so each partition's table still sees
/// well-spread hashes.
#[inline(always)]
fn partition_of(hash: u64, parts: usize) -> usize {
    ((((hash >> 25) as u32) as u64 * parts as u64) >> 32) as usize
}

/// One worker's groups split into partitions.
struct Split {
    keys: Vec<Vec<ArrayRef>>,
    src: Vec<Vec<u32>>,
}

impl Split {
    /// The split whose partition `p` holds groups `src[p]` of the table with key columns
    /// `keys`.
    fn take(keys: Vec<ArrayRef>, src: Vec<Vec<u32>>) -> Result<Split> {
        let keys = src
            .iter()
            .map(|s| {
                let idx = UInt32Array::from(s.clone());
                keys.iter()
                    .map(|k| Ok(take(k.as_ref(), &idx, None)?))
                    .collect::<Result<Vec<_>>>()
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Split { keys, src })
    }
}

impl AggLocal {
    /// Writes a global aggregation's value collections out (see `global_spill`); then what
    /// is left must fit. `refused` is the pool's refusal that made it necessary: returned
    /// when there is nothing to write.
    fn spill_global(&mut self, refused: Option<Error>) -> Result<()> {
        let Some(to) = &self.global_spill else {
            return refused.map_or(Ok(()), Err);
        };
        let mut wrote = false;
        for a in &mut self.accs {
            wrote |= a.spill_global(to)?;
        }
        self.global_spilled |= wrote;
        match refused {
            Some(e) if !wrote => Err(e),
            _ => {
                let size = self.size();
                self.reservation.try_resize(size)
            }
        }
    }
}

impl SinkLocal for AggLocal {
    fn sink(&mut self, item: usize, _partition: usize, batch: RecordBatch) -> Result<()> {
        let n = batch.num_rows();
        if item != self.item {
            self.item = item;
            self.item_rows = 0;
        }
        let ord = ((item as u64) << ITEM_SHIFT) + self.item_rows;
        self.item_rows += n as u64;
        let shared = Arc::clone(&self.shared);

        let keys = shared
            .group_exprs
            .iter()
            .map(|e| e.evaluate_to_array(&batch))
            .collect::<Result<Vec<_>>>()?;
        // A table about to grow holds its old and new buckets at once: that must fit first,
        // or the table is spilled before it grows.
        if self.can_spill {
            let growth = self.interner.as_ref().map_or(0, |i| i.growth(n));
            if growth > 0 && self.reservation.try_resize(self.size() + growth).is_err() {
                self.spill_table()?;
            }
        }
        let num_groups = if self.pass_through {
            // Each row its own group.
            self.ids.clear();
            self.ids.extend(0..n as u32);
            n
        } else {
            let interner = match &mut self.interner {
                Some(i) => i,
                None => {
                    let types: Vec<DataType> = keys.iter().map(|k| k.data_type().clone()).collect();
                    self.interner
                        .insert(new_interner(&types, shared.force_row_keys)?)
                }
            };
            interner.intern(&keys, n, &mut self.ids)?;
            self.table_rows += n as u64;
            interner.num_groups()
        };

        let mut all_args = Vec::with_capacity(shared.aggr_exprs.len());
        for a in &shared.aggr_exprs {
            let take_args = if a.func == AggFunc::StringAgg {
                1
            } else {
                a.args.len()
            };
            let args = a.args[..take_args.min(a.args.len())]
                .iter()
                .map(|e| e.evaluate_to_array(&batch))
                .collect::<Result<Vec<_>>>()?;
            all_args.push(args);
        }
        if self.accs.is_empty() {
            for (spec, args) in shared.specs.iter().zip(&all_args) {
                let types: Vec<DataType> = args.iter().map(|a| a.data_type().clone()).collect();
                self.accs.push(create_accumulator(spec, &types)?);
                self.arg_types.push(types);
            }
        }
        for ((a, acc), args) in shared.aggr_exprs.iter().zip(&mut self.accs).zip(&all_args) {
            let Some(f) = &a.filter else {
                acc.update(args, &self.ids, num_groups, ord)?;
                continue;
            };
            let mask = f.evaluate_to_array(&batch)?;
            let Some(mask) = mask.as_boolean_opt() else {
                return plan_err!("FILTER of {} is not a boolean", a.name);
            };
            let mask = if mask.null_count() > 0 {
                prep_null_mask_filter(mask)
            } else {
                mask.clone()
            };
            let kept = mask.true_count();
            if kept == n {
                acc.update(args, &self.ids, num_groups, ord)?;
                continue;
            }
            let fargs = args
                .iter()
                .map(|x| Ok(filter(x.as_ref(), &mask)?))
                .collect::<Result<Vec<_>>>()?;
            self.filtered_ids.clear();
            self.filtered_ids
                .extend(mask.values().set_indices().map(|i| self.ids[i]));
            acc.update(&fargs, &self.filtered_ids, num_groups, ord)?;
        }
        if self.pass_through {
            shared
                .rows_passed_through
                .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
            return self.write_rows(keys, n);
        }
        let size = self.size();
        match self.reservation.try_resize(size) {
            Err(e) if !self.can_spill => self.spill_global(Some(e)),
            Err(_) => self.spill_table(),
            Ok(()) if self.force_spill && self.can_spill => self.spill_table(),
            Ok(()) if self.force_spill => self.spill_global(None),
            Ok(()) => Ok(()),
        }
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any + Send> {
        self
    }
}

impl Sink for HashAggregateExec {
    fn make_local(&self, ctx: &TaskContext) -> Result<Box<dyn SinkLocal>> {
        let interner = if self.is_global() {
            Some(new_interner(&[], false)?)
        } else {
            None
        };
        // A global aggregate holds one group: no table to spill, but its value collections
        // can be written out unless a `string_agg` (which must hold its text) is among them.
        let can_spill = !self.is_global();
        let global_spill = (self.is_global()
            && self.shared.specs.iter().any(collects_values)
            && !self
                .shared
                .specs
                .iter()
                .any(|s| s.func == AggFunc::StringAgg))
        .then(|| global_spill::GlobalSpill {
            manager: Arc::clone(&ctx.spill),
            pool: Arc::clone(&ctx.pool),
        });
        Ok(Box::new(AggLocal {
            shared: Arc::clone(&self.shared),
            interner,
            accs: Vec::new(),
            arg_types: Vec::new(),
            ids: Vec::new(),
            filtered_ids: Vec::new(),
            reservation: if can_spill || global_spill.is_some() {
                ctx.pool
                    .spillable_reservation("HashAggregateExec", ctx.config.effective_threads())
            } else {
                ctx.pool.reservation("HashAggregateExec")
            },
            item: usize::MAX,
            item_rows: 0,
            spill: spill::AggSpill::new(Arc::clone(&ctx.spill)),
            can_spill,
            global_spill,
            global_spilled: false,
            force_spill: ctx.config.force_spill,
            table_rows: 0,
            pass_through: false,
        }))
    }

    fn finish(
        &self,
        locals: Vec<Box<dyn SinkLocal>>,
        ctx: &TaskContext,
    ) -> Result<Vec<Vec<RecordBatch>>> {
        let locals = Self::take_locals(locals, ctx)?;
        if !self.must_spill(&locals, ctx) {
            return self.finish_in_memory(locals, ctx);
        }
        let source = self.spilled_source(locals, ctx)?;
        let mut parts = Vec::new();
        for m in source.morsels()? {
            parts.push(m.open()?.collect::<Result<Vec<_>>>()?);
        }
        Ok(parts)
    }

    fn finish_source(
        &self,
        locals: Vec<Box<dyn SinkLocal>>,
        ctx: &TaskContext,
    ) -> Result<Arc<dyn DataSource>> {
        let locals = Self::take_locals(locals, ctx)?;
        if !self.must_spill(&locals, ctx) {
            let parts = self.finish_in_memory(locals, ctx)?;
            return Ok(Arc::new(MemorySource::new(Arc::clone(&self.schema), parts)));
        }
        Ok(Arc::new(self.spilled_source(locals, ctx)?))
    }

    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn describe(&self) -> String {
        let aggs: Vec<&str> = self
            .shared
            .aggr_exprs
            .iter()
            .map(|a| a.name.as_str())
            .collect();
        format!(
            "HashAggregateExec: gby=[{}], aggr=[{}]",
            self.shared.group_names.join(", "),
            aggs.join(", ")
        )
    }
}

impl HashAggregateExec {
    /// Whether to finish through spill files: some worker spilled, or merging the workers'
    /// tables (which needs about as much memory again) would not fit in what is left.
    fn must_spill(&self, locals: &[AggLocal], ctx: &TaskContext) -> bool {
        if locals.iter().any(|l| l.spill.has_spilled()) {
            return true;
        }
        let live: Vec<&AggLocal> = locals.iter().filter(|l| l.saw_input()).collect();
        if live.len() < 2 || !live.iter().all(|l| l.can_spill) {
            return false;
        }
        let need: usize = live.iter().map(|l| l.size()).sum();
        need > ctx.pool.limit().saturating_sub(ctx.pool.used())
    }

    /// The workers' tables. When one worker of a global aggregation wrote its values out,
    /// or merging the workers' values (about as much memory again) would not fit in what is
    /// left, every worker writes its values out, so that merging them copies none.
    fn take_locals(locals: Vec<Box<dyn SinkLocal>>, ctx: &TaskContext) -> Result<Vec<AggLocal>> {
        let mut out = Vec::with_capacity(locals.len());
        for l in locals {
            let Ok(l) = l.into_any().downcast::<AggLocal>() else {
                return internal_err!("unexpected sink local in HashAggregateExec");
            };
            out.push(*l);
        }
        let live = out.iter().filter(|l| l.saw_input()).count();
        let need: usize = out.iter().map(|l| l.size()).sum();
        let left = ctx.pool.limit().saturating_sub(ctx.pool.used());
        if out.iter().any(|l| l.global_spilled) || (live > 1 && need > left) {
            for l in &mut out {
                l.spill_global(None)?;
            }
        }
        Ok(out)
    }

    /// Merges the workers' in-memory tables (nothing was spilled).
    fn finish_in_memory(
        &self,
        locals: Vec<AggLocal>,
        ctx: &TaskContext,
    ) -> Result<Vec<Vec<RecordBatch>>> {
        let mut live: Vec<AggLocal> = locals
            .into_iter()
            .filter(|l| l.saw_input() && l.accs.len() == self.shared.specs.len())
            .collect();
        if live.is_empty() {
            return Ok(vec![if self.is_global() {
                self.empty_global()?
            } else {
                vec![]
            }]);
        }
        if live.len() == 1 {
            let mut l = live.remove(0);
            let n = l.num_groups();
            let keys = match &l.interner {
                Some(i) => i.emit()?,
                None => return internal_err!("aggregate local without a table"),
            };
            let aggs = l
                .accs
                .iter_mut()
                .map(|a| a.evaluate(n))
                .collect::<Result<Vec<_>>>()?;
            return Ok(vec![self.output(keys, aggs)?]);
        }

        let parts = if self.is_global() {
            1
        } else {
            ctx.config.effective_threads().max(1)
        };
        if !self.is_global() && !self.shared.force_row_keys {
            let tables: Vec<&dyn GroupInterner> =
                live.iter().filter_map(|l| l.interner.as_deref()).collect();
            if tables.len() == live.len() {
                if let Some(m) = ComposeMerger::try_new(&tables)? {
                    return if m.fits_u64() {
                        self.merge_packed::<u64>(live, &m, parts, ctx)
                    } else {
                        self.merge_packed::<u128>(live, &m, parts, ctx)
                    };
                }
            }
        }
        let by = Partitioner::for_tables(&live, parts);
        let splits = live
            .par_iter_mut()
            .map(|l| l.split(parts, &by))
            .collect::<Result<Vec<_>>>()?;
        let live = &live;
        let splits = &splits;
        (0..parts)
            .into_par_iter()
            .map(|p| self.merge_partition(p, live, splits, ctx))
            .collect()
    }

    /// Merges multi-column tables through their packed global tuples (see
    /// [`ComposeMerger`]): split each worker's groups by the tuple's hash, then merge every
    /// partition in parallel.
    fn merge_packed<K: PackedKey>(
        &self,
        mut live: Vec<AggLocal>,
        m: &ComposeMerger,
        parts: usize,
        ctx: &TaskContext,
    ) -> Result<Vec<Vec<RecordBatch>>> {
        type PackedSplit<K> = (Vec<Vec<K>>, Vec<Vec<u32>>);
        let splits = live
            .par_iter_mut()
            .enumerate()
            .map(|(w, l)| -> Result<PackedSplit<K>> {
                for a in &mut l.accs {
                    a.freeze()?;
                }
                let Some(t) = l.interner.as_deref() else {
                    return internal_err!("aggregate local without a table");
                };
                let keys = m.pack::<K>(w, t)?;
                let mut pk: Vec<Vec<K>> = vec![Vec::new(); parts];
                let mut src: Vec<Vec<u32>> = vec![Vec::new(); parts];
                for (g, &k) in keys.iter().enumerate() {
                    let p = partition_of(k.hash_key(), parts);
                    pk[p].push(k);
                    src[p].push(g as u32);
                }
                Ok((pk, src))
            })
            .collect::<Result<Vec<_>>>()?;
        let live = &live;
        let splits = &splits;
        (0..parts)
            .into_par_iter()
            .map(|p| {
                let cap = splits.iter().map(|s| s.0[p].len()).max().unwrap_or(0);
                let mut table = PackedTable::<K>::with_capacity(cap);
                let mut accs = self
                    .shared
                    .specs
                    .iter()
                    .zip(&live[0].arg_types)
                    .map(|(s, t)| create_accumulator(s, t))
                    .collect::<Result<Vec<_>>>()?;
                let mut reservation = ctx.pool.reservation("HashAggregateExec[merge]");
                let mut ids = Vec::new();
                for (local, (pk, src)) in live.iter().zip(splits) {
                    if src[p].is_empty() {
                        continue;
                    }
                    table.intern(&pk[p], &mut ids);
                    let n = table.keys.len();
                    for (acc, other) in accs.iter_mut().zip(&local.accs) {
                        acc.merge_from(other.as_ref(), &src[p], &ids, n)?;
                    }
                    let size = table.size() + accs.iter().map(|a| a.size()).sum::<usize>();
                    reservation.try_resize(size)?;
                }
                let n = table.keys.len();
                let keys = m.emit(&table.keys)?;
                let aggs = accs
                    .iter_mut()
                    .map(|a| a.evaluate(n))
                    .collect::<Result<Vec<_>>>()?;
                self.output(keys, aggs)
            })
            .collect()
    }

    /// Merges partition `p` of every worker's table into one table and evaluates it.
    fn merge_partition(
        &self,
        p: usize,
        live: &[AggLocal],
        splits: &[Split],
        ctx: &TaskContext,
    ) -> Result<Vec<RecordBatch>> {
        let Some(first) = splits.first() else {
            return Ok(vec![]);
        };
        let types: Vec<DataType> = first.keys[p]
            .iter()
            .map(|k| k.data_type().clone())
            .collect();
        let mut interner = new_interner(&types, self.shared.force_row_keys)?;
        let mut accs = self
            .shared
            .specs
            .iter()
            .zip(&live[0].arg_types)
            .map(|(s, t)| create_accumulator(s, t))
            .collect::<Result<Vec<_>>>()?;
        let mut reservation = ctx.pool.reservation("HashAggregateExec[merge]");
        let mut ids = Vec::new();
        for (local, split) in live.iter().zip(splits) {
            let src = &split.src[p];
            if src.is_empty() {
                continue;
            }
            interner.intern(&split.keys[p], src.len(), &mut ids)?;
            let n = interner.num_groups();
            for (acc, other) in accs.iter_mut().zip(&local.accs) {
                acc.merge_from(other.as_ref(), src, &ids, n)?;
            }
            let size = interner.size() + accs.iter().map(|a| a.size()).sum::<usize>();
            reservation.try_resize(size)?;
        }
        let (keys, aggs) = evaluate_table(interner.as_ref(), &mut accs)?;
        self.output(keys, aggs)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashSet};
    use std::sync::atomic::Ordering;

    use arrow::array::{
        Date32Array, Decimal128Array, DictionaryArray, Float64Array, Int32Array, StringArray,
    };
    use arrow::datatypes::{Field, Int32Type, Schema};
    use arrow::util::display::array_value_to_string;
    use rask_common::SessionConfig;
    use rask_expr::type_coercion::aggregate_return_type;
    use rask_expr::Operator;

    use super::*;
    use crate::executor::{Executor, PhysicalPlan};
    use crate::source::MemorySource;

    // Columns of the test table.
    const K_INT: usize = 0;
    const K_STR: usize = 1;
    const K_DICT: usize = 2;
    const K_F: usize = 3;
    const K_I32: usize = 4;
    const V_I: usize = 5;
    const V_F: usize = 6;
    const V_S: usize = 7;
    const V_D: usize = 8;
    const K_DATE: usize = 9;
    const K_WIDE: usize = 10;

    #[derive(Clone, Debug)]
    struct Row {
        k_int: Option<i64>,
        k_str: Option<String>,
        k_dict: Option<String>,
        k_f: Option<f64>,
        k_i32: Option<i32>,
        v_i: Option<i64>,
        v_f: Option<f64>,
        v_s: Option<String>,
        v_d: Option<i128>,
        k_date: Option<i32>,
        k_wide: Option<i64>,
    }

    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            self.0 >> 33
        }
        fn opt<T>(&mut self, null_pct: u64, v: impl FnOnce(&mut Self) -> T) -> Option<T> {
            if self.next() % 100 < null_pct {
                None
            } else {
                Some(v(self))
            }
        }
    }

    fn gen_rows(n: usize, seed: u64) -> Vec<Row> {
        let mut r = Lcg(seed);
        (0..n)
            .map(|_| Row {
                k_int: r.opt(8, |r| (r.next() % 17) as i64 - 5),
                k_str: r.opt(8, |r| format!("s{}", r.next() % 11)),
                k_dict: r.opt(8, |r| format!("d{}", r.next() % 7)),
                k_f: r.opt(8, |r| (r.next() % 5) as f64 * 0.5),
                k_i32: r.opt(8, |r| (r.next() % 3) as i32),
                v_i: r.opt(10, |r| (r.next() % 2001) as i64 - 1000),
                v_f: r.opt(10, |r| (r.next() % 10000) as f64 / 7.0 - 500.0),
                v_s: r.opt(10, |r| format!("v{}", r.next() % 50)),
                v_d: r.opt(10, |r| (r.next() % 200001) as i128 - 100000),
                k_date: r.opt(8, |r| 18000 + (r.next() % 4) as i32),
                k_wide: r.opt(8, |r| ((r.next() % 13) as i64 - 6) * 1_000_000_007_000),
            })
            .collect()
    }

    fn input_schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("k_int", DataType::Int64, true),
            Field::new("k_str", DataType::Utf8, true),
            Field::new(
                "k_dict",
                DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
                true,
            ),
            Field::new("k_f", DataType::Float64, true),
            Field::new("k_i32", DataType::Int32, true),
            Field::new("v_i", DataType::Int64, true),
            Field::new("v_f", DataType::Float64, true),
            Field::new("v_s", DataType::Utf8, true),
            Field::new("v_d", DataType::Decimal128(10, 2), true),
            Field::new("k_date", DataType::Date32, true),
            Field::new("k_wide", DataType::Int64, true),
        ]))
    }

    fn to_batch(rows: &[Row]) -> RecordBatch {
        let dict: DictionaryArray<Int32Type> = rows.iter().map(|r| r.k_dict.as_deref()).collect();
        let cols: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from_iter(rows.iter().map(|r| r.k_int))),
            Arc::new(StringArray::from_iter(
                rows.iter().map(|r| r.k_str.as_deref()),
            )),
            Arc::new(dict),
            Arc::new(Float64Array::from_iter(rows.iter().map(|r| r.k_f))),
            Arc::new(Int32Array::from_iter(rows.iter().map(|r| r.k_i32))),
            Arc::new(Int64Array::from_iter(rows.iter().map(|r| r.v_i))),
            Arc::new(Float64Array::from_iter(rows.iter().map(|r| r.v_f))),
            Arc::new(StringArray::from_iter(
                rows.iter().map(|r| r.v_s.as_deref()),
            )),
            Arc::new(
                Decimal128Array::from_iter(rows.iter().map(|r| r.v_d))
                    .with_precision_and_scale(10, 2)
                    .unwrap(),
            ),
            Arc::new(Date32Array::from_iter(rows.iter().map(|r| r.k_date))),
            Arc::new(Int64Array::from_iter(rows.iter().map(|r| r.k_wide))),
        ];
        RecordBatch::try_new(input_schema(), cols).unwrap()
    }

    /// `rows` as `parts` partitions of batches of at most `batch` rows, in order.
    fn partitions(rows: &[Row], parts: usize, batch: usize) -> Vec<Vec<RecordBatch>> {
        let per = rows.len().div_ceil(parts.max(1)).max(1);
        rows.chunks(per)
            .map(|p| p.chunks(batch).map(to_batch).collect())
            .collect()
    }

    /// The fraction every generated `quantile_cont` aggregate asks for.
    const TEST_QUANTILE: f64 = 0.9;

    #[derive(Clone, Copy, Debug)]
    struct TAgg {
        func: AggFunc,
        col: Option<usize>,
        col2: Option<usize>,
        distinct: bool,
        /// FILTER (WHERE v_i > 0)
        filter: bool,
    }

    fn a(func: AggFunc, col: usize) -> TAgg {
        TAgg {
            func,
            col: Some(col),
            col2: None,
            distinct: false,
            filter: false,
        }
    }
    fn star() -> TAgg {
        TAgg {
            func: AggFunc::CountStar,
            col: None,
            col2: None,
            distinct: false,
            filter: false,
        }
    }
    fn distinct(mut t: TAgg) -> TAgg {
        t.distinct = true;
        t
    }
    fn filtered(mut t: TAgg) -> TAgg {
        t.filter = true;
        t
    }

    fn make_exec(keys: &[usize], aggs: &[TAgg], row_keys: bool) -> HashAggregateExec {
        let schema = input_schema();
        let mut fields = Vec::new();
        let mut group_exprs = Vec::new();
        for &k in keys {
            let f = schema.field(k);
            let t = accumulators::value_type(f.data_type());
            fields.push(Field::new(f.name(), t, true));
            group_exprs.push((PhysicalExpr::Column(k), f.name().clone()));
        }
        let mut aggr_exprs = Vec::new();
        for (i, t) in aggs.iter().enumerate() {
            let mut args = Vec::new();
            let mut types = Vec::new();
            if let Some(c) = t.col {
                args.push(PhysicalExpr::Column(c));
                types.push(schema.field(c).data_type().clone());
            }
            if let Some(c) = t.col2 {
                args.push(PhysicalExpr::Column(c));
                types.push(schema.field(c).data_type().clone());
            }
            if t.func == AggFunc::StringAgg {
                args.push(PhysicalExpr::Literal(ScalarValue::Utf8(Some("|".into()))));
            }
            if t.func == AggFunc::Quantile {
                args.push(PhysicalExpr::Literal(ScalarValue::Float64(Some(
                    TEST_QUANTILE,
                ))));
                types.push(DataType::Float64);
            }
            let return_type = aggregate_return_type(t.func, &types).unwrap();
            let name = format!("a{i}");
            fields.push(Field::new(&name, return_type.clone(), true));
            let filter = t.filter.then(|| PhysicalExpr::Binary {
                left: Box::new(PhysicalExpr::Column(V_I)),
                op: Operator::Gt,
                right: Box::new(PhysicalExpr::Literal(ScalarValue::Int64(Some(0)))),
            });
            aggr_exprs.push(AggregateExpr {
                func: t.func,
                args,
                distinct: t.distinct,
                filter,
                return_type,
                name,
            });
        }
        let exec =
            HashAggregateExec::try_new(group_exprs, aggr_exprs, Arc::new(Schema::new(fields)))
                .unwrap();
        if row_keys {
            exec.with_row_keys()
        } else {
            exec
        }
    }

    fn run_exec(
        exec: HashAggregateExec,
        parts: Vec<Vec<RecordBatch>>,
        threads: usize,
    ) -> Result<Vec<Vec<RecordBatch>>> {
        run_exec_with(exec, parts, SessionConfig::new().with_threads(threads))
    }

    fn run_exec_with(
        exec: HashAggregateExec,
        parts: Vec<Vec<RecordBatch>>,
        config: SessionConfig,
    ) -> Result<Vec<Vec<RecordBatch>>> {
        let ctx = TaskContext::new(config);
        let executor = Executor::new(ctx);
        let src = PhysicalPlan::Source(Arc::new(MemorySource::new(input_schema(), parts)));
        executor.run_into(&src, Arc::new(exec))
    }

    fn fmt_f(v: f64) -> String {
        if v.is_nan() {
            "NaN".into()
        } else {
            format!("{:.6}", v + 0.0)
        }
    }

    fn fmt_dec(v: i128) -> String {
        let sign = if v < 0 { "-" } else { "" };
        format!("{sign}{}.{:02}", v.abs() / 100, v.abs() % 100)
    }

    fn cell(a: &dyn Array, i: usize) -> String {
        if a.is_null(i) {
            return "NULL".into();
        }
        match a.data_type() {
            DataType::Float64 => fmt_f(a.as_primitive::<arrow::datatypes::Float64Type>().value(i)),
            DataType::Decimal128(_, 2) => fmt_dec(
                a.as_primitive::<arrow::datatypes::Decimal128Type>()
                    .value(i),
            ),
            _ => array_value_to_string(a, i).unwrap(),
        }
    }

    fn result_rows(parts: &[Vec<RecordBatch>]) -> Vec<Vec<String>> {
        let mut out = Vec::new();
        for b in parts.iter().flatten() {
            assert!(b.num_rows() <= MAX_OUTPUT_ROWS);
            for i in 0..b.num_rows() {
                out.push(b.columns().iter().map(|c| cell(c.as_ref(), i)).collect());
            }
        }
        out.sort();
        out
    }

    fn key_cell(r: &Row, k: usize) -> String {
        let s = |v: Option<String>| v.unwrap_or_else(|| "NULL".into());
        match k {
            K_INT => s(r.k_int.map(|v| v.to_string())),
            K_STR => s(r.k_str.clone()),
            K_DICT => s(r.k_dict.clone()),
            K_F => s(r.k_f.map(fmt_f)),
            K_I32 => s(r.k_i32.map(|v| v.to_string())),
            K_DATE => s(r.k_date.map(|d| {
                Date32Array::from(vec![d])
                    .value_as_date(0)
                    .unwrap()
                    .to_string()
            })),
            K_WIDE => s(r.k_wide.map(|v| v.to_string())),
            _ => unreachable!(),
        }
    }

    #[derive(Clone, PartialEq)]
    enum V {
        I(i64),
        F(f64),
        S(String),
        D(i128),
    }

    fn value(r: &Row, c: usize) -> Option<V> {
        match c {
            V_I => r.v_i.map(V::I),
            V_F => r.v_f.map(V::F),
            V_S => r.v_s.clone().map(V::S),
            V_D => r.v_d.map(V::D),
            K_INT => r.k_int.map(V::I),
            _ => unreachable!(),
        }
    }

    fn as_f64(v: &V) -> f64 {
        match v {
            V::I(i) => *i as f64,
            V::F(f) => *f,
            V::D(d) => *d as f64 / 100.0,
            V::S(_) => unreachable!(),
        }
    }

    fn fmt_v(v: Option<&V>) -> String {
        match v {
            None => "NULL".into(),
            Some(V::I(i)) => i.to_string(),
            Some(V::F(f)) => fmt_f(*f),
            Some(V::S(s)) => s.clone(),
            Some(V::D(d)) => fmt_dec(*d),
        }
    }

    fn cmp_v(a: &V, b: &V) -> std::cmp::Ordering {
        match (a, b) {
            (V::I(x), V::I(y)) => x.cmp(y),
            (V::F(x), V::F(y)) => x.total_cmp(y),
            (V::S(x), V::S(y)) => x.cmp(y),
            (V::D(x), V::D(y)) => x.cmp(y),
            _ => unreachable!(),
        }
    }

    fn var(xs: &[f64]) -> (f64, f64) {
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        (mean, xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>())
    }

    /// The naive answer for one aggregate over one group's rows (in input order).
    fn reference(t: &TAgg, rows: &[&Row]) -> String {
        let rows: Vec<&Row> = rows
            .iter()
            .copied()
            .filter(|r| !t.filter || r.v_i.is_some_and(|v| v > 0))
            .collect();
        if t.func == AggFunc::CountStar {
            return rows.len().to_string();
        }
        let c = t.col.unwrap();
        let all: Vec<Option<V>> = rows.iter().map(|r| value(r, c)).collect();
        let mut vals: Vec<V> = all.iter().flatten().cloned().collect();
        if t.distinct {
            let mut seen = HashSet::new();
            vals.retain(|v| seen.insert(fmt_v(Some(v))));
        }
        let fs: Vec<f64> = if matches!(vals.first(), Some(V::S(_))) {
            vec![]
        } else {
            vals.iter().map(as_f64).collect()
        };
        let null = || "NULL".to_string();
        match t.func {
            AggFunc::Count => vals.len().to_string(),
            AggFunc::Sum if vals.is_empty() => null(),
            AggFunc::Sum => match &vals[0] {
                V::I(_) => vals
                    .iter()
                    .map(|v| if let V::I(i) = v { *i } else { 0 })
                    .sum::<i64>()
                    .to_string(),
                V::D(_) => fmt_dec(
                    vals.iter()
                        .map(|v| if let V::D(i) = v { *i } else { 0 })
                        .sum::<i128>(),
                ),
                _ => fmt_f(fs.iter().sum()),
            },
            AggFunc::Avg if vals.is_empty() => null(),
            AggFunc::Avg => fmt_f(fs.iter().sum::<f64>() / fs.len() as f64),
            AggFunc::Min => fmt_v(vals.iter().min_by(|a, b| cmp_v(a, b))),
            AggFunc::Max => fmt_v(vals.iter().max_by(|a, b| cmp_v(a, b))),
            AggFunc::VarSamp | AggFunc::StddevSamp if fs.len() < 2 => null(),
            AggFunc::VarPop | AggFunc::StddevPop if fs.is_empty() => null(),
            AggFunc::VarSamp => fmt_f(var(&fs).1 / (fs.len() - 1) as f64),
            AggFunc::VarPop => fmt_f(var(&fs).1 / fs.len() as f64),
            AggFunc::StddevSamp => fmt_f((var(&fs).1 / (fs.len() - 1) as f64).sqrt()),
            AggFunc::StddevPop => fmt_f((var(&fs).1 / fs.len() as f64).sqrt()),
            AggFunc::Quantile if fs.is_empty() => null(),
            AggFunc::Quantile => {
                // Linear interpolation between the two closest ranks (quantile_cont).
                let mut s = fs.clone();
                s.sort_by(|a, b| a.total_cmp(b));
                let pos = TEST_QUANTILE * (s.len() - 1) as f64;
                let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
                fmt_f(s[lo] + (s[hi] - s[lo]) * (pos - lo as f64))
            }
            AggFunc::CovarSamp | AggFunc::CovarPop => {
                let c2 = t.col2.unwrap();
                let pairs: Vec<(f64, f64)> = rows
                    .iter()
                    .filter_map(|r| Some((as_f64(&value(r, c)?), as_f64(&value(r, c2)?))))
                    .collect();
                let n = pairs.len();
                let denominator = if t.func == AggFunc::CovarSamp {
                    n.checked_sub(1)
                } else {
                    Some(n)
                };
                match denominator {
                    Some(d) if d > 0 => {
                        let xs: Vec<f64> = pairs.iter().map(|p| p.0).collect();
                        let ys: Vec<f64> = pairs.iter().map(|p| p.1).collect();
                        let (mx, my) = (var(&xs).0, var(&ys).0);
                        let cxy: f64 = pairs.iter().map(|(x, y)| (x - mx) * (y - my)).sum();
                        fmt_f(cxy / d as f64)
                    }
                    _ => null(),
                }
            }
            AggFunc::Median if fs.is_empty() => null(),
            AggFunc::Median => {
                let mut s = fs.clone();
                s.sort_by(|a, b| a.total_cmp(b));
                let m = s.len() / 2;
                fmt_f(if s.len() % 2 == 1 {
                    s[m]
                } else {
                    (s[m - 1] + s[m]) / 2.0
                })
            }
            AggFunc::Corr => {
                let c2 = t.col2.unwrap();
                let pairs: Vec<(f64, f64)> = rows
                    .iter()
                    .filter_map(|r| Some((as_f64(&value(r, c)?), as_f64(&value(r, c2)?))))
                    .collect();
                if pairs.len() < 2 {
                    return null();
                }
                let xs: Vec<f64> = pairs.iter().map(|p| p.0).collect();
                let ys: Vec<f64> = pairs.iter().map(|p| p.1).collect();
                let (mx, sx) = var(&xs);
                let (my, sy) = var(&ys);
                let cxy: f64 = pairs.iter().map(|(x, y)| (x - mx) * (y - my)).sum();
                if sx * sy == 0.0 {
                    return null();
                }
                fmt_f(cxy / (sx * sy).sqrt())
            }
            AggFunc::First => fmt_v(all.first().and_then(|v| v.as_ref())),
            AggFunc::Last => fmt_v(all.last().and_then(|v| v.as_ref())),
            AggFunc::AnyValue => fmt_v(vals.first()),
            AggFunc::StringAgg if vals.is_empty() => null(),
            AggFunc::StringAgg if t.distinct => {
                let mut v: Vec<String> = vals.iter().map(|v| fmt_v(Some(v))).collect();
                v.sort();
                v.join("|")
            }
            AggFunc::StringAgg => vals
                .iter()
                .map(|v| fmt_v(Some(v)))
                .collect::<Vec<_>>()
                .join("|"),
            AggFunc::CountStar => unreachable!(),
        }
    }

    fn expected(rows: &[Row], keys: &[usize], aggs: &[TAgg]) -> Vec<Vec<String>> {
        let mut groups: BTreeMap<Vec<String>, Vec<&Row>> = BTreeMap::new();
        for r in rows {
            let k: Vec<String> = keys.iter().map(|&k| key_cell(r, k)).collect();
            groups.entry(k).or_default().push(r);
        }
        if keys.is_empty() && groups.is_empty() {
            groups.insert(vec![], vec![]);
        }
        let mut out: Vec<Vec<String>> = groups
            .into_iter()
            .map(|(mut k, rs)| {
                k.extend(aggs.iter().map(|t| reference(t, &rs)));
                k
            })
            .collect();
        out.sort();
        out
    }

    /// Equal, up to float rounding.
    fn assert_rows_eq(got: &[Vec<String>], want: &[Vec<String>], what: &str) {
        assert_eq!(
            got.len(),
            want.len(),
            "{what}: row counts differ\n{got:?}\n{want:?}"
        );
        for (g, w) in got.iter().zip(want) {
            let same = g.len() == w.len()
                && g.iter().zip(w).all(|(a, b)| {
                    a == b
                        || match (a.parse::<f64>(), b.parse::<f64>()) {
                            (Ok(x), Ok(y)) => (x - y).abs() <= 1e-6 + 1e-9 * y.abs(),
                            _ => false,
                        }
                });
            assert!(same, "{what}:\n got {g:?}\nwant {w:?}");
        }
    }

    /// Runs every configuration (threads, partitioning, key path) and compares with the
    /// naive answer.
    fn check(rows: &[Row], keys: &[usize], aggs: &[TAgg]) {
        let want = expected(rows, keys, aggs);
        for row_keys in [false, true] {
            for (threads, parts, batch, force_spill) in [
                (1, 1, 1000, false),
                (4, 3, 97, false),
                (4, 8, 13, false),
                (2, 1, 50, false),
                (1, 2, 300, true),
                (4, 8, 13, true),
            ] {
                let exec = make_exec(keys, aggs, row_keys);
                let config = SessionConfig::new()
                    .with_threads(threads)
                    .with_force_spill(force_spill);
                let got = run_exec_with(exec, partitions(rows, parts, batch), config).unwrap();
                assert_rows_eq(
                    &result_rows(&got),
                    &want,
                    &format!("keys {keys:?} row_keys {row_keys} threads {threads} parts {parts} batch {batch} force_spill {force_spill}"),
                );
            }
        }
    }

    fn basic_aggs() -> Vec<TAgg> {
        use AggFunc::*;
        vec![
            star(),
            a(Count, V_I),
            a(Sum, V_I),
            a(Avg, V_I),
            a(Min, V_I),
            a(Max, V_I),
            a(Sum, V_F),
            a(Avg, V_F),
            a(Min, V_F),
            a(Max, V_F),
            a(Min, V_S),
            a(Max, V_S),
            a(Count, V_S),
            a(Sum, V_D),
            a(Avg, V_D),
            a(Min, V_D),
            a(Max, V_D),
        ]
    }

    #[test]
    fn key_paths() {
        let rows = gen_rows(3000, 7);
        let cases: Vec<Vec<usize>> = vec![
            vec![K_INT],
            vec![K_WIDE],
            vec![K_I32],
            vec![K_DATE],
            vec![K_STR],
            vec![K_DICT],
            vec![K_F],
            vec![K_INT, K_I32],
            vec![K_STR, K_DICT],
            vec![K_INT, K_STR, K_I32],
            vec![K_F, K_STR, K_DATE, K_WIDE],
            vec![K_INT, K_STR, K_I32, K_DATE, K_F, K_DICT],
            vec![],
        ];
        for keys in cases {
            check(&rows, &keys, &basic_aggs());
        }
    }

    #[test]
    fn distinct_and_filter() {
        use AggFunc::*;
        let rows = gen_rows(2500, 11);
        let aggs = vec![
            distinct(a(Count, V_I)),
            distinct(a(Sum, V_I)),
            distinct(a(Count, V_S)),
            distinct(a(Avg, V_D)),
            a(Count, V_S),
            filtered(star()),
            filtered(a(Sum, V_F)),
            filtered(distinct(a(Count, V_S))),
            filtered(a(Max, V_S)),
        ];
        check(&rows, &[K_STR], &aggs);
        check(&rows, &[K_INT, K_I32], &aggs);
        check(&rows, &[], &aggs);
    }

    #[test]
    fn statistical_aggregates() {
        use AggFunc::*;
        let rows = gen_rows(2000, 3);
        let pair = |func, x, y| {
            let mut t = a(func, x);
            t.col2 = Some(y);
            t
        };
        let aggs = vec![
            a(VarSamp, V_F),
            a(VarPop, V_F),
            a(StddevSamp, V_I),
            a(StddevPop, V_D),
            a(Median, V_F),
            a(Median, V_I),
            a(Quantile, V_F),
            a(Quantile, V_D),
            pair(Corr, V_F, V_I),
            pair(CovarSamp, V_F, V_I),
            pair(CovarPop, V_D, V_F),
        ];
        check(&rows, &[K_STR, K_I32], &aggs);
        check(&rows, &[], &aggs);
        check(&rows, &[], &aggs);
        // Groups of one or two rows: var_samp of one value is NULL.
        check(&rows[..40], &[K_INT, K_STR], &aggs);
    }

    #[test]
    fn order_sensitive_aggregates() {
        use AggFunc::*;
        let rows = gen_rows(1500, 5);
        let aggs = vec![
            a(First, V_I),
            a(Last, V_S),
            a(AnyValue, V_F),
            a(StringAgg, V_S),
            filtered(a(Last, V_D)),
            distinct(a(StringAgg, V_S)),
        ];
        check(&rows, &[K_INT], &aggs);
        check(&rows, &[], &aggs);
    }

    #[test]
    fn empty_input() {
        let aggs = basic_aggs();
        for threads in [1, 4] {
            // Global: one row, count 0, the rest NULL.
            let got = run_exec(make_exec(&[], &aggs, false), vec![], threads).unwrap();
            assert_eq!(result_rows(&got), expected(&[], &[], &aggs));
            let got = result_rows(&got);
            assert_eq!(got.len(), 1);
            assert_eq!(got[0][0], "0");
            assert_eq!(got[0][2], "NULL");
            // Empty batches too.
            let empty = vec![vec![to_batch(&[])], vec![to_batch(&[])]];
            let got = run_exec(make_exec(&[], &aggs, false), empty.clone(), threads).unwrap();
            assert_eq!(result_rows(&got).len(), 1);
            // Grouped: no rows.
            let got = run_exec(make_exec(&[K_STR], &aggs, false), empty, threads).unwrap();
            assert!(result_rows(&got).is_empty());
        }
    }

    #[test]
    fn integer_sum_overflow_is_an_error() {
        let mut rows = gen_rows(10, 1);
        for (i, r) in rows.iter_mut().enumerate() {
            r.k_int = Some(1);
            r.v_i = Some(if i % 2 == 0 { i64::MAX } else { 1 });
        }
        for threads in [1, 4] {
            for parts in [1, 10] {
                let exec = make_exec(&[K_INT], &[a(AggFunc::Sum, V_I)], false);
                let err = run_exec(exec, partitions(&rows, parts, 1), threads).unwrap_err();
                assert!(err.to_string().contains("overflow"), "{err}");
            }
        }
        // avg of the same values does not overflow (128-bit sum).
        let exec = make_exec(&[K_INT], &[a(AggFunc::Avg, V_I)], false);
        assert!(run_exec(exec, partitions(&rows, 1, 10), 1).is_ok());
    }

    #[test]
    fn decimal_sum_is_exact() {
        let mut rows = gen_rows(1000, 2);
        for r in rows.iter_mut() {
            r.v_d = r.v_d.map(|_| 9_999_999_999); // 99999999.99, the Decimal(10, 2) maximum
        }
        check(
            &rows,
            &[K_I32],
            &[a(AggFunc::Sum, V_D), a(AggFunc::Avg, V_D)],
        );
    }

    #[test]
    fn many_groups_are_split_and_merged() {
        let mut rows = gen_rows(120_000, 9);
        for (i, r) in rows.iter_mut().enumerate() {
            r.k_int = Some((i % 50_000) as i64 * 3);
            r.k_str = Some(format!("key-{}", i % 40_000));
        }
        let aggs = [star(), a(AggFunc::Sum, V_I)];
        for keys in [vec![K_INT], vec![K_STR], vec![K_INT, K_STR]] {
            let want = expected(&rows, &keys, &aggs);
            let exec = make_exec(&keys, &aggs, false);
            let got = run_exec(exec, partitions(&rows, 4, 4096), 4).unwrap();
            assert!(got
                .iter()
                .flatten()
                .all(|b| b.num_rows() <= MAX_OUTPUT_ROWS));
            assert_rows_eq(&result_rows(&got), &want, &format!("{keys:?}"));
        }
        // One integer key spanning more than a direct-index table takes at once: ascending
        // and 4 apart (direct-index tables past DENSE_MAX), 40 apart (hashed), scattered with
        // negatives; with NULLs. The workers' tables merge by key range.
        let gens: [fn(usize) -> Option<i64>; 3] = [
            |i| Some(i as i64 * 4),
            |i| Some(i as i64 * 40),
            |i| (i % 97 != 0).then(|| (i as i64 * 2_654_435_761) % 1_000_000_007 - 500_000_000),
        ];
        for (n, g) in gens.iter().enumerate() {
            let mut rows = gen_rows(300_000, 10);
            for (i, r) in rows.iter_mut().enumerate() {
                r.k_int = g(i % 280_000);
            }
            let want = expected(&rows, &[K_INT], &aggs);
            for threads in [2, 3] {
                let exec = make_exec(&[K_INT], &aggs, false);
                let got = run_exec(exec, partitions(&rows, 6, 8192), threads).unwrap();
                assert_rows_eq(&result_rows(&got), &want, &format!("generator {n}"));
            }
        }
    }

    #[test]
    fn wide_multi_column_keys() {
        // Six key columns of ~2,000-3,000 values each: tuples take ~70 bits (u128 tables).
        let mut rows = gen_rows(20_000, 21);
        for (i, r) in rows.iter_mut().enumerate() {
            r.k_int = Some((i % 3001) as i64);
            r.k_wide = Some(((i * 7) % 2999) as i64 * 1_000_000_000_000);
            r.k_str = (i % 11 != 0).then(|| format!("s{}", (i * 13) % 3011));
            r.k_i32 = Some(((i * 17) % 2003) as i32);
            r.k_date = Some(18000 + ((i * 19) % 1999) as i32);
            r.k_f = Some(((i * 23) % 1997) as f64 / 4.0);
        }
        let aggs = [star(), a(AggFunc::Sum, V_I), a(AggFunc::Max, V_S)];
        let keys = [K_INT, K_WIDE, K_STR, K_I32, K_DATE, K_F];
        let want = expected(&rows, &keys, &aggs);
        for threads in [1, 2, 4] {
            let exec = make_exec(&keys, &aggs, false);
            let got = run_exec(exec, partitions(&rows, 5, 1000), threads).unwrap();
            assert_rows_eq(&result_rows(&got), &want, &format!("threads {threads}"));
        }
    }

    #[test]
    fn float_keys_normalise_zero_and_nan() {
        let schema = Arc::new(Schema::new(vec![Field::new("f", DataType::Float64, true)]));
        let col = Float64Array::from(vec![
            Some(0.0),
            Some(-0.0),
            Some(f64::NAN),
            Some(-f64::NAN),
            None,
            Some(1.5),
        ]);
        let batch = RecordBatch::try_new(Arc::clone(&schema), vec![Arc::new(col)]).unwrap();
        let out = Arc::new(Schema::new(vec![
            Field::new("f", DataType::Float64, true),
            Field::new("n", DataType::Int64, false),
        ]));
        for row_keys in [false, true] {
            let mut exec = HashAggregateExec::try_new(
                vec![(PhysicalExpr::Column(0), "f".into())],
                vec![AggregateExpr {
                    func: AggFunc::CountStar,
                    args: vec![],
                    distinct: false,
                    filter: None,
                    return_type: DataType::Int64,
                    name: "n".into(),
                }],
                Arc::clone(&out),
            )
            .unwrap();
            if row_keys {
                exec = exec.with_row_keys();
            }
            let ctx = TaskContext::new(SessionConfig::new().with_threads(1));
            let src = PhysicalPlan::Source(Arc::new(MemorySource::new(
                Arc::clone(&schema),
                vec![vec![batch.clone()]],
            )));
            let got = Executor::new(ctx).run_into(&src, Arc::new(exec)).unwrap();
            let got = result_rows(&got);
            assert_eq!(
                got,
                vec![
                    vec!["0.000000".to_string(), "2".into()],
                    vec!["1.500000".into(), "1".into()],
                    vec!["NULL".into(), "1".into()],
                    vec!["NaN".into(), "2".into()],
                ],
                "row_keys {row_keys}"
            );
        }
    }

    #[test]
    fn memory_limit_is_enforced() {
        let rows = gen_rows(20_000, 4);
        let ctx = TaskContext::new(SessionConfig::new().with_threads(2).with_memory_limit(1024));
        // A global string_agg keeps every string of its one group: it cannot spill.
        let exec = make_exec(&[], &[a(AggFunc::StringAgg, V_S)], false);
        let src = PhysicalPlan::Source(Arc::new(MemorySource::new(
            input_schema(),
            partitions(&rows, 2, 1000),
        )));
        let err = Executor::new(ctx)
            .run_into(&src, Arc::new(exec))
            .unwrap_err();
        assert!(matches!(err, Error::ResourcesExhausted(_)), "{err}");
    }

    #[test]
    fn spills_under_a_small_limit_with_the_same_answer() {
        use AggFunc::*;
        let mut rows = gen_rows(60_000, 10);
        for (i, r) in rows.iter_mut().enumerate() {
            r.k_int = Some((i % 20_000) as i64);
            r.k_str = Some(format!("key-{}", i % 15_000));
        }
        let aggs = [
            star(),
            a(Sum, V_I),
            a(Avg, V_F),
            a(Min, V_S),
            a(Max, V_I),
            a(VarSamp, V_F),
            a(First, V_I),
            a(Last, V_S),
            a(Median, V_F),
            a(Quantile, V_I),
            a(StringAgg, V_S),
            distinct(a(Sum, V_I)),
            distinct(a(Count, V_S)),
            distinct(a(StringAgg, V_S)),
            distinct(a(Median, V_F)),
        ];
        for keys in [vec![K_INT], vec![K_STR, K_INT]] {
            let want = expected(&rows, &keys, &aggs);
            for threads in [1, 3] {
                let root = tempfile::tempdir().unwrap();
                let config = SessionConfig::new()
                    .with_threads(threads)
                    .with_scheduler(if threads == 1 {
                        rask_common::Scheduler::SingleThreaded
                    } else {
                        rask_common::Scheduler::Threads
                    })
                    .with_memory_limit(8 << 20)
                    .with_spill_dir(root.path());
                let ctx = TaskContext::new(config);
                // A memory thief leaves 600 KB: far less than the tables need.
                let mut thief = ctx.pool.reservation("thief");
                thief.try_grow((8 << 20) - 600_000).unwrap();
                let src = PhysicalPlan::Source(Arc::new(MemorySource::new(
                    input_schema(),
                    partitions(&rows, 3, 2000),
                )));
                let exec = Arc::new(make_exec(&keys, &aggs, false));
                let got = Executor::new(ctx.clone())
                    .run_into(&src, Arc::clone(&exec) as _)
                    .unwrap();
                let what = format!("{keys:?} threads {threads}");
                assert!(ctx.spill.metrics().spill_count() > 0, "{what}: spilled");
                assert_rows_eq(&result_rows(&got), &want, &what);
                // The keys repeat only every 20,000 rows: the first tables spilled had a
                // group per row, so the rest of the input skipped the tables; the repeats
                // met in the finalised partitions.
                let passed = exec.shared.rows_passed_through.load(Ordering::Relaxed);
                assert!(passed > 10_000, "{what}: {passed} rows passed through");
                drop(ctx);
                assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 0);
            }
        }
    }

    /// A global aggregation's medians, quantiles and DISTINCT aggregates write their values
    /// out under a limit far below them, with the same answers, and leave no files.
    #[test]
    fn global_value_aggregates_spill_under_a_small_limit() {
        use AggFunc::*;
        let rows = gen_rows(100_000, 12);
        let aggs = [
            star(),
            a(Sum, V_I),
            a(Median, V_F),
            a(Median, V_I),
            a(Quantile, V_D),
            a(First, V_S),
            distinct(a(Count, V_S)),
            distinct(a(Sum, V_I)),
            distinct(a(Avg, V_D)),
            distinct(a(VarSamp, V_F)),
            filtered(distinct(a(Count, V_I))),
            distinct(a(Median, V_F)),
        ];
        let want = expected(&rows, &[], &aggs);
        for threads in [1, 3] {
            let root = tempfile::tempdir().unwrap();
            let config = SessionConfig::new()
                .with_threads(threads)
                .with_memory_limit(8 << 20)
                .with_spill_dir(root.path());
            let ctx = TaskContext::new(config);
            // The values need about 8 MB; a memory thief leaves 4 MB.
            let mut thief = ctx.pool.reservation("thief");
            thief.try_grow(4 << 20).unwrap();
            let src = PhysicalPlan::Source(Arc::new(MemorySource::new(
                input_schema(),
                partitions(&rows, 3, 2000),
            )));
            let exec = Arc::new(make_exec(&[], &aggs, false));
            let got = Executor::new(ctx.clone())
                .run_into(&src, exec as _)
                .unwrap();
            let what = format!("threads {threads}");
            assert!(ctx.spill.metrics().spill_count() > 0, "{what}: spilled");
            assert_rows_eq(&result_rows(&got), &want, &what);
            drop(ctx);
            assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 0);
        }
        // Without the values written out the same query fails under that limit.
        let ctx = TaskContext::new(SessionConfig::new().with_memory_limit(300_000));
        let src = PhysicalPlan::Source(Arc::new(MemorySource::new(
            input_schema(),
            partitions(&rows, 3, 2000),
        )));
        let with_text = [a(Median, V_F), a(StringAgg, V_S)];
        let exec = Arc::new(make_exec(&[], &with_text, false));
        let err = Executor::new(ctx).run_into(&src, exec as _).unwrap_err();
        assert!(matches!(err, Error::ResourcesExhausted(_)), "{err}");
    }

    #[test]
    fn describe_and_schema_checks() {
        let exec = make_exec(&[K_STR], &[star()], false);
        assert_eq!(exec.describe(), "HashAggregateExec: gby=[k_str], aggr=[a0]");
        let bad = HashAggregateExec::try_new(
            vec![],
            vec![],
            Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, true)])),
        );
        assert!(bad.is_err());
    }

    /// h2o-style group-by timings on 1e7 in-memory rows, two threads:
    /// `cargo test --release -p rask-exec --lib h2o_groupby_timings -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn h2o_groupby_timings() {
        use arrow::array::StringArray;
        let n: usize = std::env::var("H2O_ROWS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(10_000_000);
        let k = 100u64;
        let schema = Arc::new(Schema::new(vec![
            Field::new("id1", DataType::Utf8, false),
            Field::new("id2", DataType::Utf8, false),
            Field::new("id3", DataType::Utf8, false),
            Field::new("id4", DataType::Int64, false),
            Field::new("id5", DataType::Int64, false),
            Field::new("id6", DataType::Int64, false),
            Field::new("v1", DataType::Int64, false),
            Field::new("v2", DataType::Int64, false),
            Field::new("v3", DataType::Float64, false),
        ]));
        let mut r = Lcg(108);
        let ids: Vec<String> = (1..=k).map(|i| format!("id{i:03}")).collect();
        let id3s: Vec<String> = (1..=n as u64 / k).map(|i| format!("id{i:010}")).collect();
        let t0 = std::time::Instant::now();
        let mut parts = vec![Vec::new(); 8];
        let mut start = 0;
        let mut b = 0;
        while start < n {
            let len = 8192.min(n - start);
            let mut g = |m: u64| -> Vec<u64> { (0..len).map(|_| r.next() % m).collect() };
            let (c1, c2, c3) = (g(k), g(k), g(n as u64 / k));
            let (c4, c5, c6) = (g(k), g(k), g(n as u64 / k));
            let (c7, c8, c9) = (g(5), g(15), g(100_000_000));
            let cols: Vec<ArrayRef> = vec![
                Arc::new(StringArray::from_iter_values(
                    c1.iter().map(|&i| &ids[i as usize]),
                )),
                Arc::new(StringArray::from_iter_values(
                    c2.iter().map(|&i| &ids[i as usize]),
                )),
                Arc::new(StringArray::from_iter_values(
                    c3.iter().map(|&i| &id3s[i as usize]),
                )),
                Arc::new(Int64Array::from_iter_values(
                    c4.iter().map(|&i| i as i64 + 1),
                )),
                Arc::new(Int64Array::from_iter_values(
                    c5.iter().map(|&i| i as i64 + 1),
                )),
                Arc::new(Int64Array::from_iter_values(
                    c6.iter().map(|&i| i as i64 + 1),
                )),
                Arc::new(Int64Array::from_iter_values(
                    c7.iter().map(|&i| i as i64 + 1),
                )),
                Arc::new(Int64Array::from_iter_values(
                    c8.iter().map(|&i| i as i64 + 1),
                )),
                Arc::new(Float64Array::from_iter_values(
                    c9.iter().map(|&i| i as f64 / 1e6),
                )),
            ];
            parts[b % 8].push(RecordBatch::try_new(Arc::clone(&schema), cols).unwrap());
            start += len;
            b += 1;
        }
        eprintln!("generated {n} rows in {:?}", t0.elapsed());
        use AggFunc::*;
        type Query = (&'static str, Vec<usize>, Vec<(AggFunc, Vec<usize>)>);
        let queries: Vec<Query> = vec![
            ("q1", vec![0], vec![(Sum, vec![6])]),
            ("q2", vec![0, 1], vec![(Sum, vec![6])]),
            ("q3", vec![2], vec![(Sum, vec![6]), (Avg, vec![8])]),
            (
                "q4",
                vec![3],
                vec![(Avg, vec![6]), (Avg, vec![7]), (Avg, vec![8])],
            ),
            (
                "q5",
                vec![5],
                vec![(Sum, vec![6]), (Sum, vec![7]), (Sum, vec![8])],
            ),
            (
                "q6",
                vec![3, 4],
                vec![(Median, vec![8]), (StddevSamp, vec![8])],
            ),
            ("q7", vec![2], vec![(Max, vec![6]), (Min, vec![7])]),
            ("q9", vec![1, 3], vec![(Corr, vec![6, 7])]),
            (
                "q10",
                vec![0, 1, 2, 3, 4, 5],
                vec![(Sum, vec![8]), (CountStar, vec![])],
            ),
        ];
        let threads: usize = std::env::var("H2O_THREADS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(2);
        let only = std::env::var("H2O_Q").ok();
        for (name, keys, aggs) in queries {
            if only.as_deref().is_some_and(|q| q != name) {
                continue;
            }
            let mut fields = Vec::new();
            let group_exprs: Vec<(PhysicalExpr, String)> = keys
                .iter()
                .map(|&k| {
                    fields.push(schema.field(k).clone());
                    (PhysicalExpr::Column(k), schema.field(k).name().clone())
                })
                .collect();
            let aggr_exprs: Vec<AggregateExpr> = aggs
                .iter()
                .enumerate()
                .map(|(i, (f, cols))| {
                    let types: Vec<DataType> = cols
                        .iter()
                        .map(|&c| schema.field(c).data_type().clone())
                        .collect();
                    let return_type = aggregate_return_type(*f, &types).unwrap();
                    fields.push(Field::new(format!("a{i}"), return_type.clone(), true));
                    AggregateExpr {
                        func: *f,
                        args: cols.iter().map(|&c| PhysicalExpr::Column(c)).collect(),
                        distinct: false,
                        filter: None,
                        return_type,
                        name: format!("a{i}"),
                    }
                })
                .collect();
            let out = Arc::new(Schema::new(fields));
            let mut best = f64::MAX;
            let mut rows = 0;
            for _ in 0..3 {
                let exec = HashAggregateExec::try_new(
                    group_exprs.clone(),
                    aggr_exprs.clone(),
                    Arc::clone(&out),
                )
                .unwrap();
                let ctx = TaskContext::new(SessionConfig::new().with_threads(threads));
                let src = PhysicalPlan::Source(Arc::new(MemorySource::new(
                    Arc::clone(&schema),
                    parts.clone(),
                )));
                let t = std::time::Instant::now();
                let got = Executor::new(ctx).run_into(&src, Arc::new(exec)).unwrap();
                best = best.min(t.elapsed().as_secs_f64());
                rows = got.iter().flatten().map(|b| b.num_rows()).sum::<usize>();
            }
            eprintln!("{name}: {best:.3} s ({rows} groups)");
        }
    }
}
