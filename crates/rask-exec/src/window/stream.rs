//! Window functions over a bucket too large for memory, evaluated segment by segment.
//!
//! The bucket's rows are sorted externally by (partition keys, order keys) with a
//! [`SortExec`], which spills sorted runs and merges them. When a function needs a whole
//! partition before it can answer for its first row (`percent_rank`, `cume_dist` and `ntile`
//! need the partition's size, an aggregate over the whole partition its total), a first pass
//! over the sorted rows writes them to a spill file and keeps, per partition, its size and
//! those totals ([`Summary`]).
//!
//! The second pass cuts the sorted rows into segments of a few thousand rows, ending between
//! peer groups when a function looks at peers, and evaluates each segment on a window that
//! also holds the rows before and after it that frames and `lag`/`lead` reach (`n PRECEDING`,
//! `n FOLLOWING`). What a window cannot see is carried from segment to segment: the row
//! count, rank and dense rank reached in the current partition, and for frames that start at
//! UNBOUNDED PRECEDING a [`Summary`] of the partition's rows before the segment, which is
//! combined with the segment's own frame values (sums added, extremes compared, moments
//! merged). Memory is one window at a time, whatever the size of a partition.
//!
//! Not covered (the bucket must then fit in memory): RANGE frames with offsets, frames that
//! end at UNBOUNDED FOLLOWING without starting at UNBOUNDED PRECEDING, `lag`/`lead` offsets
//! and `nth_value` positions that are not constants, and a frame starting at UNBOUNDED
//! PRECEDING that ends before the current row.

use std::collections::VecDeque;
use std::ops::Range;
use std::sync::Arc;

use arrow::array::{
    make_comparator, new_null_array, Array, ArrayRef, AsArray, Decimal128Array, Float64Array,
    Int64Array, RecordBatch, Scalar, UInt32Array,
};
use arrow::compute::kernels::numeric::add;
use arrow::compute::kernels::zip::zip;
use arrow::compute::{cast, concat, concat_batches, is_null, partition, take, SortOptions};
use arrow::datatypes::{DataType, Decimal128Type, Float64Type, Int64Type};
use rask_common::{exec_err, internal_err, Error, Result};
use rask_expr::{AggFunc, WindowFunc};

use super::{evaluate, ntile, Bound, Frame, Layout, Offset, Shared, WindowFunctionExpr};
use crate::executor::{Sink, TaskContext};
use crate::memory::{batch_memory, Reservation};
use crate::partition_store::PartitionStore;
use crate::physical_expr::PhysicalExpr;
use crate::sort::{PhysicalSortExpr, SortExec};
use crate::source::{batches_of, BatchIter, MorselRef};
use crate::spill::SpillFile;

/// How one function is computed segment by segment.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    /// Ranking functions: from the segment's peer groups and the carried counts.
    Rank,
    /// Exact on the window (the segment with the rows its frames reach).
    Local,
    /// A frame from UNBOUNDED PRECEDING: the window's frame values combined with a summary
    /// of the partition's earlier rows.
    Prefix,
    /// The whole partition: the first pass's total.
    Whole,
}

/// How a window's functions are evaluated segment by segment.
#[derive(Debug)]
pub(super) struct Plan {
    modes: Vec<Mode>,
    /// Rows before a segment that frames or `lag` reach.
    before: usize,
    /// Rows after a segment that frames or `lead` reach.
    after: usize,
    /// Segments end between peer groups.
    peers: bool,
    /// A first pass counts each partition's rows and totals.
    first_pass: bool,
    /// `nth_value`'s constant position, per function.
    nth: Vec<Option<i64>>,
}

/// A constant argument as an integer (`None` for NULL), or why it is not one.
fn constant(e: Option<&PhysicalExpr>, name: &str) -> std::result::Result<Option<i64>, String> {
    match e {
        Some(PhysicalExpr::Literal(v)) => {
            Ok(v.cast_to(&DataType::Int64).ok().and_then(|s| s.as_i64()))
        }
        _ => Err(format!(
            "{name}() has a position or offset that is not a constant"
        )),
    }
}

impl Plan {
    /// The plan for `s`'s functions, or why they cannot be evaluated in segments.
    pub(super) fn new(s: &Shared) -> std::result::Result<Plan, String> {
        let ordered = !s.order_by.is_empty();
        let mut plan = Plan {
            modes: Vec::new(),
            before: 0,
            after: 0,
            peers: false,
            first_pass: false,
            nth: Vec::new(),
        };
        let rows = |o: Offset| match o {
            Offset::Rows(k) => Some(k),
            _ => None,
        };
        for (e, f) in s.exprs.iter().zip(&s.frames) {
            let name = e.func.name();
            let mut nth = None;
            let mode = match e.func {
                WindowFunc::RowNumber => Mode::Rank,
                WindowFunc::Ntile => {
                    plan.first_pass = true;
                    Mode::Rank
                }
                WindowFunc::Rank | WindowFunc::DenseRank => {
                    plan.peers |= ordered;
                    Mode::Rank
                }
                WindowFunc::PercentRank | WindowFunc::CumeDist => {
                    plan.peers |= ordered;
                    plan.first_pass = true;
                    Mode::Rank
                }
                WindowFunc::Lag | WindowFunc::Lead => {
                    let k = match e.args.get(1) {
                        None => 1,
                        some => constant(some, name)?.map_or(0, i64::unsigned_abs),
                    };
                    let k = usize::try_from(k).unwrap_or(usize::MAX);
                    plan.before = plan.before.max(k);
                    plan.after = plan.after.max(k);
                    Mode::Local
                }
                WindowFunc::FirstValue
                | WindowFunc::LastValue
                | WindowFunc::NthValue
                | WindowFunc::Aggregate(_) => {
                    if e.func == WindowFunc::NthValue {
                        nth = constant(e.args.get(1), name)?;
                        if nth.is_some_and(|k| k <= 0) {
                            // The in-memory path reports the bad position.
                            return Err(format!("{name}() has a position below 1"));
                        }
                    }
                    // Without ORDER BY every row of a partition is a peer of every other.
                    let unordered = |b: Bound, start: bool| match b {
                        Bound::CurrentRow if !ordered && !f.rows => {
                            if start {
                                Bound::UnboundedPreceding
                            } else {
                                Bound::UnboundedFollowing
                            }
                        }
                        b => b,
                    };
                    let (start, end) = (unordered(f.start, true), unordered(f.end, false));
                    let summarised = matches!(
                        e.func,
                        WindowFunc::FirstValue
                            | WindowFunc::LastValue
                            | WindowFunc::NthValue
                            | WindowFunc::Aggregate(
                                AggFunc::Count
                                    | AggFunc::CountStar
                                    | AggFunc::Sum
                                    | AggFunc::Avg
                                    | AggFunc::Min
                                    | AggFunc::Max
                                    | AggFunc::VarSamp
                                    | AggFunc::VarPop
                                    | AggFunc::StddevSamp
                                    | AggFunc::StddevPop
                            )
                    );
                    let peers = !f.rows && ordered;
                    match (start, end) {
                        (Bound::UnboundedPreceding, Bound::UnboundedFollowing) if summarised => {
                            plan.first_pass = true;
                            Mode::Whole
                        }
                        (Bound::UnboundedPreceding, Bound::CurrentRow) if summarised => {
                            plan.peers |= peers;
                            Mode::Prefix
                        }
                        (Bound::UnboundedPreceding, Bound::Following(o))
                            if summarised && rows(o).is_some() =>
                        {
                            plan.after = plan.after.max(rows(o).unwrap_or(0));
                            Mode::Prefix
                        }
                        (Bound::UnboundedPreceding | Bound::UnboundedFollowing, _)
                        | (_, Bound::UnboundedPreceding | Bound::UnboundedFollowing) => {
                            return Err(format!("{name}() over a frame from {start:?} to {end:?}"))
                        }
                        (start, end) => {
                            for b in [start, end] {
                                match b {
                                    Bound::Preceding(o) => match rows(o) {
                                        Some(k) => plan.before = plan.before.max(k),
                                        None => {
                                            return Err(format!(
                                                "{name}() over a RANGE frame with an offset"
                                            ))
                                        }
                                    },
                                    Bound::Following(o) => match rows(o) {
                                        Some(k) => plan.after = plan.after.max(k),
                                        None => {
                                            return Err(format!(
                                                "{name}() over a RANGE frame with an offset"
                                            ))
                                        }
                                    },
                                    _ => plan.peers |= peers,
                                }
                            }
                            Mode::Local
                        }
                    }
                }
            };
            plan.modes.push(mode);
            plan.nth.push(nth);
        }
        Ok(plan)
    }
}

/// What a frame aggregate needs to know of rows it no longer sees: a partition's rows before
/// a segment, or a whole partition.
#[derive(Debug, Clone, Default)]
enum Summary {
    /// No rows yet.
    #[default]
    Empty,
    Count(i64),
    /// Exact sums: integers as i128, decimals unscaled (`scale` is the decimal's).
    Int {
        sum: i128,
        count: i64,
        scale: i8,
    },
    /// Neumaier-compensated sums; NaN and infinities are added apart.
    Float {
        sum: f64,
        comp: f64,
        special: Option<f64>,
        count: i64,
    },
    Moments {
        n: i64,
        mean: f64,
        m2: f64,
    },
    /// The smallest or largest non-NULL value, as a one-row array.
    Extreme(Option<ArrayRef>),
    /// For `first_value`, `last_value` and `nth_value`: rows, and the values of the first,
    /// last and nth row.
    Rows {
        count: i64,
        first: Option<ArrayRef>,
        last: Option<ArrayRef>,
        nth: Option<ArrayRef>,
    },
}

/// Row `i` of `a` as a one-row array that does not hold on to `a`'s buffers.
fn one_row(a: &dyn Array, i: usize) -> Result<ArrayRef> {
    Ok(take(a, &UInt32Array::from(vec![i as u32]), None)?)
}

impl Summary {
    /// Adds `rows` rows whose arguments are `args` (sliced to those rows).
    fn fold(
        &mut self,
        func: WindowFunc,
        args: &[ArrayRef],
        rows: usize,
        nth: Option<i64>,
    ) -> Result<()> {
        if rows == 0 {
            return Ok(());
        }
        let counted = match self {
            Summary::Count(c) => *c,
            _ => 0,
        };
        let Some(a) = args.first() else {
            // count(*): the only function without an argument that has a summary.
            *self = Summary::Count(counted + rows as i64);
            return Ok(());
        };
        let valid = |i: usize| a.is_valid(i);
        match func {
            WindowFunc::Aggregate(AggFunc::CountStar) => {
                *self = Summary::Count(counted + rows as i64);
            }
            WindowFunc::Aggregate(AggFunc::Count) => {
                *self = Summary::Count(counted + (a.len() - a.logical_null_count()) as i64);
            }
            WindowFunc::Aggregate(AggFunc::Sum | AggFunc::Avg) => {
                let ints: Option<(Vec<i128>, i8)> = match a.data_type() {
                    t if t.is_integer() => {
                        let c = cast(a, &DataType::Int64)?;
                        let c = c.as_primitive::<Int64Type>();
                        Some((c.values().iter().map(|&v| v as i128).collect(), 0))
                    }
                    DataType::Decimal128(_, s) => {
                        Some((a.as_primitive::<Decimal128Type>().values().to_vec(), *s))
                    }
                    DataType::Null => Some((vec![0; a.len()], 0)),
                    _ => None,
                };
                match ints {
                    Some((values, scale)) => {
                        let (mut sum, mut count) = match self {
                            Summary::Int { sum, count, .. } => (*sum, *count),
                            _ => (0, 0),
                        };
                        for (i, v) in values.iter().enumerate() {
                            if valid(i) {
                                sum = sum.wrapping_add(*v);
                                count += 1;
                            }
                        }
                        *self = Summary::Int { sum, count, scale };
                    }
                    None => {
                        let f = cast(a, &DataType::Float64)?;
                        let f = f.as_primitive::<Float64Type>();
                        let (mut sum, mut comp, mut special, mut count) = match self {
                            Summary::Float {
                                sum,
                                comp,
                                special,
                                count,
                            } => (*sum, *comp, *special, *count),
                            _ => (0.0, 0.0, None, 0),
                        };
                        for (i, &x) in f.values().iter().enumerate() {
                            if !valid(i) {
                                continue;
                            }
                            count += 1;
                            if !x.is_finite() {
                                special = Some(special.unwrap_or(0.0) + x);
                                continue;
                            }
                            let t = sum + x;
                            comp += if sum.abs() >= x.abs() {
                                (sum - t) + x
                            } else {
                                (x - t) + sum
                            };
                            sum = t;
                        }
                        *self = Summary::Float {
                            sum,
                            comp,
                            special,
                            count,
                        };
                    }
                }
            }
            WindowFunc::Aggregate(
                AggFunc::VarSamp | AggFunc::VarPop | AggFunc::StddevSamp | AggFunc::StddevPop,
            ) => {
                let f = cast(a, &DataType::Float64)?;
                let f = f.as_primitive::<Float64Type>();
                let (mut n, mut mean, mut m2) = match self {
                    Summary::Moments { n, mean, m2 } => (*n, *mean, *m2),
                    _ => (0, 0.0, 0.0),
                };
                for (i, &x) in f.values().iter().enumerate() {
                    if valid(i) {
                        n += 1;
                        let d = x - mean;
                        mean += d / n as f64;
                        m2 += d * (x - mean);
                    }
                }
                *self = Summary::Moments { n, mean, m2 };
            }
            WindowFunc::Aggregate(func @ (AggFunc::Min | AggFunc::Max)) => {
                let min = func == AggFunc::Min;
                let better = |o: std::cmp::Ordering| if min { o.is_lt() } else { o.is_gt() };
                let cmp = make_comparator(a.as_ref(), a.as_ref(), SortOptions::default())?;
                let mut best: Option<usize> = None;
                for i in 0..a.len() {
                    if valid(i) && best.is_none_or(|b| better(cmp(i, b))) {
                        best = Some(i);
                    }
                }
                let Some(best) = best else {
                    if matches!(self, Summary::Empty) {
                        *self = Summary::Extreme(None);
                    }
                    return Ok(());
                };
                let candidate = one_row(a.as_ref(), best)?;
                let keep = match self {
                    Summary::Extreme(Some(old)) => {
                        let c = make_comparator(
                            candidate.as_ref(),
                            old.as_ref(),
                            SortOptions::default(),
                        )?;
                        !better(c(0, 0))
                    }
                    _ => false,
                };
                if !keep {
                    *self = Summary::Extreme(Some(candidate));
                }
            }
            WindowFunc::FirstValue | WindowFunc::LastValue | WindowFunc::NthValue => {
                let (count, first, _, nth_v) = match std::mem::take(self) {
                    Summary::Rows {
                        count,
                        first,
                        last,
                        nth,
                    } => (count, first, last, nth),
                    _ => (0, None, None, None),
                };
                let first = match first {
                    Some(f) => Some(f),
                    None => Some(one_row(a.as_ref(), 0)?),
                };
                let last = Some(one_row(a.as_ref(), rows - 1)?);
                let nth_v = match (nth_v, nth) {
                    (Some(v), _) => Some(v),
                    (None, Some(k)) if k > count && k - count <= rows as i64 => {
                        Some(one_row(a.as_ref(), (k - count - 1) as usize)?)
                    }
                    _ => None,
                };
                *self = Summary::Rows {
                    count: count + rows as i64,
                    first,
                    last,
                    nth: nth_v,
                };
            }
            other => return internal_err!("no summary for window function {}", other.name()),
        }
        Ok(())
    }

    /// Rows summarised (what a prefix adds to counts).
    fn is_empty(&self) -> bool {
        match self {
            Summary::Empty => true,
            Summary::Count(_) | Summary::Extreme(_) => false,
            Summary::Int { count, .. }
            | Summary::Float { count, .. }
            | Summary::Rows { count, .. } => *count == 0,
            Summary::Moments { n, .. } => *n == 0,
        }
    }

    /// The function's value over the summarised rows, as a one-row array of its type.
    fn finish(&self, e: &WindowFunctionExpr) -> Result<ArrayRef> {
        let null = || new_null_array(&e.return_type, 1);
        let out: ArrayRef = match (self, e.func) {
            (Summary::Count(c), _) => Arc::new(Int64Array::from(vec![*c])),
            (Summary::Empty, WindowFunc::Aggregate(AggFunc::Count | AggFunc::CountStar)) => {
                Arc::new(Int64Array::from(vec![0]))
            }
            (Summary::Empty, _) => null(),
            (Summary::Int { count: 0, .. }, _) | (Summary::Float { count: 0, .. }, _) => null(),
            (Summary::Int { sum, count, scale }, WindowFunc::Aggregate(AggFunc::Avg)) => {
                let c = *count as i128;
                let (q, r) = (sum / c, sum % c);
                let v = (q as f64 + r as f64 / c as f64) / 10f64.powi(*scale as i32);
                Arc::new(Float64Array::from(vec![v]))
            }
            (Summary::Int { sum, .. }, _) => match &e.return_type {
                DataType::Decimal128(p, s) => {
                    Arc::new(Decimal128Array::from(vec![*sum]).with_precision_and_scale(*p, *s)?)
                }
                _ => match i64::try_from(*sum) {
                    Ok(v) => Arc::new(Int64Array::from(vec![v])),
                    Err(_) => {
                        return exec_err!(
                            "sum() OVER (...) overflowed BIGINT: {sum}; cast the argument to DECIMAL or DOUBLE"
                        )
                    }
                },
            },
            (
                Summary::Float {
                    sum,
                    comp,
                    special,
                    count,
                },
                _,
            ) => {
                let total = special.unwrap_or(sum + comp);
                let v = if e.func == WindowFunc::Aggregate(AggFunc::Avg) {
                    total / *count as f64
                } else {
                    total
                };
                Arc::new(Float64Array::from(vec![v]))
            }
            (Summary::Moments { n, m2, .. }, WindowFunc::Aggregate(func)) => {
                let samp = matches!(func, AggFunc::VarSamp | AggFunc::StddevSamp);
                let d = if samp { n - 1 } else { *n };
                let v = (d > 0).then(|| {
                    let var = m2.max(0.0) / d as f64;
                    if matches!(func, AggFunc::StddevSamp | AggFunc::StddevPop) {
                        var.sqrt()
                    } else {
                        var
                    }
                });
                Arc::new(Float64Array::from(vec![v]))
            }
            (Summary::Extreme(v), _) => v.clone().unwrap_or_else(null),
            (
                Summary::Rows {
                    first, last, nth, ..
                },
                func,
            ) => {
                let v = match func {
                    WindowFunc::FirstValue => first,
                    WindowFunc::LastValue => last,
                    _ => nth,
                };
                v.clone().unwrap_or_else(null)
            }
            (Summary::Moments { .. }, other) => {
                return internal_err!("moments summary for {}", other.name())
            }
        };
        if out.data_type() != &e.return_type {
            return Ok(cast(&out, &e.return_type)?);
        }
        Ok(out)
    }
}

/// A partition seen by the first pass.
#[derive(Debug)]
struct PartitionTotals {
    rows: u64,
    /// Per function: its total when it is over the whole partition.
    totals: Vec<Summary>,
}

/// The sorted rows of `bucket` of `store`, one batch after another.
fn sorted_rows(
    shared: &Shared,
    store: &Arc<PartitionStore>,
    bucket: usize,
    ctx: &TaskContext,
) -> Result<BatchIter> {
    if shared.partition_by.is_empty() && shared.order_by.is_empty() {
        return Ok(store.partition_batches(bucket));
    }
    let mut keys: Vec<PhysicalSortExpr> = shared
        .partition_by
        .iter()
        .map(|e| PhysicalSortExpr {
            expr: e.clone(),
            options: SortOptions::default(),
        })
        .collect();
    keys.extend(shared.order_by.iter().cloned());
    let sort = SortExec::new(keys, None, Arc::clone(&shared.input_schema));
    let mut local = sort.make_local(ctx)?;
    for b in store.partition_batches(bucket) {
        local.sink(0, 0, b?)?;
    }
    let source = sort.finish_source(vec![local], ctx)?;
    Ok(chain(source.morsels()?))
}

/// The batches of `morsels`, in order, opening each when the previous one is done.
fn chain(morsels: Vec<MorselRef>) -> BatchIter {
    let mut rest = morsels.into_iter();
    let mut current: Option<BatchIter> = None;
    batches_of(move || loop {
        if let Some(it) = &mut current {
            match it.next() {
                Some(b) => return b.map(Some),
                None => current = None,
            }
        }
        match rest.next() {
            Some(m) => current = Some(m.open()?),
            None => return Ok(None),
        }
    })
}

/// Whether row 0 of `a` equals row `i` of `b` on every key.
fn same_keys(a: &[ArrayRef], b: &[ArrayRef], i: usize) -> Result<bool> {
    for (x, y) in a.iter().zip(b) {
        let cmp = make_comparator(x.as_ref(), y.as_ref(), SortOptions::default())?;
        if cmp(0, i).is_ne() {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The window's output for one bucket, computed segment by segment (see the module
/// documentation).
pub(super) fn evaluate_bucket(
    shared: Arc<Shared>,
    plan: Plan,
    store: &Arc<PartitionStore>,
    bucket: usize,
    ctx: &TaskContext,
) -> Result<BatchIter> {
    let mut input = sorted_rows(&shared, store, bucket, ctx)?;
    let mut file = None;
    let mut totals = Vec::new();
    let mut totals_memory = ctx.pool.reservation("WindowExec(partitions)");
    if plan.first_pass {
        let mut writer = ctx.spill.writer(&shared.input_schema, "window")?;
        let mut last_keys: Option<Vec<ArrayRef>> = None;
        let per_partition =
            size_of::<PartitionTotals>() + shared.exprs.len() * size_of::<Summary>();
        for b in input {
            let b = b?;
            if b.num_rows() == 0 {
                continue;
            }
            writer.write(&b)?;
            let keys = shared.partition_keys(&b)?;
            let ranges = if keys.is_empty() {
                std::iter::once(0..b.num_rows()).collect()
            } else {
                partition(&keys)?.ranges()
            };
            let args = shared.whole_args(&plan, &b)?;
            for (j, r) in ranges.iter().enumerate() {
                let continues = j == 0
                    && match &last_keys {
                        Some(last) => same_keys(last, &keys, 0)?,
                        None => false,
                    };
                if !continues {
                    totals_memory.try_grow(per_partition)?;
                    totals.push(PartitionTotals {
                        rows: 0,
                        totals: vec![Summary::Empty; shared.exprs.len()],
                    });
                }
                let Some(t) = totals.last_mut() else {
                    return internal_err!("window partition totals missing");
                };
                t.rows += r.len() as u64;
                for (f, fargs) in args.iter().enumerate() {
                    if let Some(fargs) = fargs {
                        let sliced: Vec<ArrayRef> =
                            fargs.iter().map(|a| a.slice(r.start, r.len())).collect();
                        t.totals[f].fold(shared.exprs[f].func, &sliced, r.len(), plan.nth[f])?;
                    }
                }
            }
            last_keys = Some(
                keys.iter()
                    .map(|k| one_row(k.as_ref(), b.num_rows() - 1))
                    .collect::<Result<_>>()?,
            );
        }
        let f = writer.finish()?;
        input = Box::new(f.read()?);
        file = Some(f);
    }
    let free = ctx.pool.limit().saturating_sub(ctx.pool.used());
    let budget = free / (ctx.config.effective_threads().max(1) * 8);
    let per_row = (store.partition_bytes(bucket) / store.partition_rows(bucket).max(1)).max(1);
    let seg_rows = if ctx.config.force_spill {
        // Many small segments, so that tests cross segment ends often.
        (store.partition_rows(bucket) / 256).max(3)
    } else {
        (budget / per_row).clamp(256, 1 << 16)
    };
    let mut segments = Segments {
        shared,
        plan,
        input,
        _file: file,
        _totals_memory: totals_memory,
        totals,
        input_done: false,
        pending: Vec::new(),
        pending_rows: 0,
        context: 0,
        carry: Carry::default(),
        seg_rows,
        batch_size: ctx.config.batch_size.max(1),
        out: VecDeque::new(),
        reservation: ctx.pool.reservation("WindowExec(segments)"),
        done: false,
    };
    segments.carry.prefix = vec![Summary::Empty; segments.shared.exprs.len()];
    Ok(Box::new(std::iter::from_fn(move || {
        segments.next_batch().transpose()
    })))
}

/// Segments shrink to this many rows when memory runs short.
const MIN_SEGMENT_ROWS: usize = 64;

/// What the next segment takes over from the previous ones.
#[derive(Debug, Default)]
struct Carry {
    /// Rows output so far (the global index of the next segment's first row).
    next_row: u64,
    /// Global index of the first row of the last output row's partition.
    part_start: u64,
    /// Index of the last output row's partition, and of the next new one.
    ordinal: usize,
    next_ordinal: usize,
    /// The dense rank of the last output row.
    dense: i64,
    /// Per Prefix function: the last output row's partition up to and with that row.
    prefix: Vec<Summary>,
}

struct Segments {
    shared: Arc<Shared>,
    plan: Plan,
    input: BatchIter,
    _file: Option<SpillFile>,
    _totals_memory: Reservation,
    totals: Vec<PartitionTotals>,
    input_done: bool,
    /// Sorted rows not yet output, after `context` rows that were.
    pending: Vec<RecordBatch>,
    pending_rows: usize,
    context: usize,
    carry: Carry,
    seg_rows: usize,
    batch_size: usize,
    out: VecDeque<RecordBatch>,
    reservation: Reservation,
    done: bool,
}

/// `ranges` cut to `lo..hi` and shifted by `-lo`.
fn clip(ranges: &[Range<usize>], lo: usize, hi: usize) -> Vec<Range<usize>> {
    ranges
        .iter()
        .filter(|r| r.end > lo && r.start < hi)
        .map(|r| r.start.max(lo) - lo..r.end.min(hi) - lo)
        .collect()
}

impl Segments {
    fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        loop {
            if let Some(b) = self.out.pop_front() {
                return Ok(Some(b));
            }
            if self.done {
                self.reservation.free();
                return Ok(None);
            }
            self.step()?;
        }
    }

    /// Reads until `need` rows follow the context (or the input ends); whether there are any.
    fn fill(&mut self, need: usize) -> Result<bool> {
        while !self.input_done && self.pending_rows - self.context < need {
            match self.input.next() {
                Some(b) => {
                    let b = b?;
                    self.pending_rows += b.num_rows();
                    self.pending.push(b);
                }
                None => self.input_done = true,
            }
        }
        Ok(self.pending_rows > self.context)
    }

    /// Evaluates and queues the next segment.
    fn step(&mut self) -> Result<()> {
        let keep = self.plan.before.max(1);
        let mut need = self
            .seg_rows
            .saturating_add(self.plan.after)
            .saturating_add(1);
        let (window, view, layout, b) = loop {
            if !self.fill(need)? {
                self.done = true;
                return Ok(());
            }
            if self.pending.len() > 1 {
                let all = concat_batches(&self.shared.input_schema, &self.pending)?;
                self.pending = vec![all];
            }
            let Some(window) = self.pending.first().cloned() else {
                return internal_err!("window segment without rows");
            };
            let n = window.num_rows();
            let a = self.context;
            let view_len = n.min(a.saturating_add(need));
            let view = window.slice(0, view_len);
            let last = self.input_done && view_len == n;
            let want = (a + self.seg_rows).min(view_len);
            let layout = self.shared.layout_of(&view)?;
            let cut = if self.plan.peers && want < view_len {
                layout.peers.iter().map(|r| r.start).find(|&s| s >= want)
            } else if want < view_len || last {
                Some(want)
            } else {
                None
            };
            match cut {
                Some(b) if last || b.saturating_add(self.plan.after) < view_len => {
                    break (window, view, layout, b)
                }
                None if last => break (window, view, layout, view_len),
                _ => need = need.saturating_mul(2),
            }
        };
        if let Err(e) = self
            .reservation
            .try_resize(batch_memory(&view).saturating_mul(3))
        {
            // Other operators took the memory since the segment size was chosen: smaller
            // segments need less (the rows read stay pending for the next step).
            if self.seg_rows <= MIN_SEGMENT_ROWS {
                return Err(e);
            }
            self.seg_rows = (self.seg_rows / 2).max(MIN_SEGMENT_ROWS);
            return Ok(());
        }
        self.evaluate(&view, &layout, b)?;
        let from = b - keep.min(b);
        let n = window.num_rows();
        self.pending = vec![window.slice(from, n - from)];
        self.pending_rows = n - from;
        self.context = b - from;
        Ok(())
    }

    /// Computes the window columns of rows `context..b` of `view` (whose partitions and peer
    /// groups are `layout`) and queues them.
    fn evaluate(&mut self, view: &RecordBatch, layout: &Layout, b: usize) -> Result<()> {
        let s = Arc::clone(&self.shared);
        let a = self.context;
        let n = view.num_rows();
        // Row `a` continues the partition of the row before it (the last one output).
        let Some(first) = layout.partitions.iter().find(|p| p.contains(&a)) else {
            return internal_err!("window segment row outside every partition");
        };
        let carried = first.start < a;
        let sub = |lo: usize, hi: usize| Layout {
            partitions: clip(&layout.partitions, lo, hi),
            peers: clip(&layout.peers, lo, hi),
            order_key: layout.order_key.as_ref().map(|k| k.slice(lo, hi - lo)),
            order_options: layout.order_options,
        };
        let segment = sub(a, b);
        let tail = sub(a, n);
        // Per partition of the segment: its index among all partitions, and its rows before
        // the segment.
        let mut ordinals = Vec::with_capacity(segment.partitions.len());
        for (j, _) in segment.partitions.iter().enumerate() {
            if j == 0 && carried {
                ordinals.push(self.carry.ordinal);
            } else {
                ordinals.push(self.carry.next_ordinal);
                self.carry.next_ordinal += 1;
            }
        }
        let before_first = if carried {
            self.carry.next_row - self.carry.part_start
        } else {
            0
        };
        let carried_rows = if carried {
            segment.partitions.first().map_or(0, |p| p.len())
        } else {
            0
        };
        let mut columns: Vec<ArrayRef> = view.columns().iter().map(|c| c.slice(a, b - a)).collect();
        let ranks = if self.plan.modes.contains(&Mode::Rank) {
            Some(self.rank_parts(&segment, before_first, carried))
        } else {
            None
        };
        let mut all_args = Vec::with_capacity(s.exprs.len());
        for (f, e) in s.exprs.iter().enumerate() {
            let frame = &s.frames[f];
            let args = e
                .args
                .iter()
                .map(|x| x.evaluate_to_array(view))
                .collect::<Result<Vec<_>>>()?;
            let col = match (self.plan.modes[f], &ranks) {
                (Mode::Local, _) => evaluate(e, frame, &args, layout, n)?.slice(a, b - a),
                (Mode::Rank, Some(ranks)) => {
                    let args: Vec<ArrayRef> = args.iter().map(|x| x.slice(a, b - a)).collect();
                    self.rank_column(e, &args, ranks, &ordinals)?
                }
                (Mode::Rank, None) => return internal_err!("window ranks not computed"),
                (Mode::Whole, _) => {
                    let mut values = Vec::with_capacity(ordinals.len());
                    let mut idx = Vec::with_capacity(b - a);
                    for (j, (p, o)) in segment.partitions.iter().zip(&ordinals).enumerate() {
                        let Some(t) = self.totals.get(*o) else {
                            return internal_err!("window partition {o} has no totals");
                        };
                        values.push(t.totals[f].finish(e)?);
                        idx.extend(std::iter::repeat_n(j as u32, p.len()));
                    }
                    let refs: Vec<&dyn Array> = values.iter().map(|v| v.as_ref()).collect();
                    let values = concat(&refs)?;
                    take(values.as_ref(), &UInt32Array::from(idx), None)?
                }
                (Mode::Prefix, _) => {
                    let args: Vec<ArrayRef> = args.iter().map(|x| x.slice(a, n - a)).collect();
                    let prefix = if carried {
                        self.carry.prefix[f].clone()
                    } else {
                        Summary::Empty
                    };
                    let col = prefix_column(
                        e,
                        frame,
                        &args,
                        &tail,
                        carried_rows,
                        &prefix,
                        self.plan.nth[f],
                    )?;
                    col.slice(0, b - a)
                }
            };
            columns.push(col);
            all_args.push(args);
        }
        // Carry to the next segment.
        let Some(last) = segment.partitions.last() else {
            return internal_err!("empty window segment");
        };
        let last_carried = carried && segment.partitions.len() == 1;
        for (f, e) in s.exprs.iter().enumerate() {
            if self.plan.modes[f] != Mode::Prefix {
                continue;
            }
            let lo = a + last.start;
            let args: Vec<ArrayRef> = all_args[f].iter().map(|x| x.slice(lo, b - lo)).collect();
            if !last_carried {
                self.carry.prefix[f] = Summary::Empty;
            }
            self.carry.prefix[f].fold(e.func, &args, b - lo, self.plan.nth[f])?;
        }
        if !last_carried {
            self.carry.part_start = self.carry.next_row + last.start as u64;
        }
        self.carry.ordinal = ordinals.last().copied().unwrap_or(self.carry.ordinal);
        if let Some(ranks) = &ranks {
            self.carry.dense = ranks.dense.last().copied().unwrap_or(0);
        }
        self.carry.next_row += (b - a) as u64;
        let out = RecordBatch::try_new(Arc::clone(&s.schema), columns)?;
        self.out.extend(super::slices(&out, self.batch_size));
        Ok(())
    }

    /// Every row's position in its partition, rank, dense rank and end of its peer group
    /// over the segment `segment`, whose first partition has `before_first` rows before it.
    fn rank_parts(&self, segment: &Layout, before_first: u64, carried: bool) -> RankParts {
        let n: usize = segment.partitions.iter().map(|p| p.len()).sum();
        let mut r = RankParts {
            pos: vec![0; n],
            rank: vec![1; n],
            dense: vec![1; n],
            peer_end: vec![0; n],
            part_of: vec![0; n],
        };
        for (j, p) in segment.partitions.iter().enumerate() {
            let before = if j == 0 { before_first } else { 0 };
            for i in p.clone() {
                r.pos[i] = before + (i - p.start) as u64;
                r.part_of[i] = j;
            }
        }
        if !self.shared.order_by.is_empty() {
            let mut last_part = usize::MAX;
            let mut j = usize::MAX;
            let mut d = 0i64;
            segment.for_each_peer_group(|p, g| {
                if p.start != last_part {
                    j = j.wrapping_add(1);
                    last_part = p.start;
                    d = if j == 0 && carried {
                        self.carry.dense
                    } else {
                        0
                    };
                }
                d += 1;
                let before = if j == 0 { before_first } else { 0 };
                for i in g.clone() {
                    r.rank[i] = before + (g.start - p.start) as u64 + 1;
                    r.dense[i] = d;
                    r.peer_end[i] = before + (g.end - p.start) as u64;
                }
            });
        }
        r
    }

    /// A ranking function over the segment, from its [`RankParts`].
    fn rank_column(
        &self,
        e: &WindowFunctionExpr,
        args: &[ArrayRef],
        parts: &RankParts,
        ordinals: &[usize],
    ) -> Result<ArrayRef> {
        let RankParts {
            pos,
            rank,
            dense,
            peer_end,
            part_of,
        } = parts;
        let n = pos.len();
        let ordered = !self.shared.order_by.is_empty();
        let size = |o: usize| -> Result<u64> {
            match self.totals.get(o) {
                Some(t) => Ok(t.rows),
                None => internal_err!("window partition {o} has no size"),
            }
        };
        let out: ArrayRef = match e.func {
            WindowFunc::RowNumber => Arc::new(Int64Array::from_iter_values(
                pos.iter().map(|&p| p as i64 + 1),
            )),
            WindowFunc::Rank => {
                Arc::new(Int64Array::from_iter_values(rank.iter().map(|&r| r as i64)))
            }
            WindowFunc::DenseRank => Arc::new(Int64Array::from(dense.clone())),
            WindowFunc::PercentRank => {
                let mut v = Vec::with_capacity(n);
                for i in 0..n {
                    let size = size(ordinals[part_of[i]])?;
                    v.push(if size > 1 {
                        (rank[i] - 1) as f64 / (size - 1) as f64
                    } else {
                        0.0
                    });
                }
                Arc::new(Float64Array::from(v))
            }
            WindowFunc::CumeDist => {
                let mut v = Vec::with_capacity(n);
                for i in 0..n {
                    let size = size(ordinals[part_of[i]])?;
                    let end = if ordered { peer_end[i] } else { size };
                    v.push(end as f64 / size.max(1) as f64);
                }
                Arc::new(Float64Array::from(v))
            }
            WindowFunc::Ntile => {
                let Some(k) = args.first() else {
                    return exec_err!("ntile() needs a number of buckets");
                };
                let k = cast(k, &DataType::Int64)?;
                let k = k.as_primitive::<Int64Type>();
                let mut v = Vec::with_capacity(n);
                for i in 0..n {
                    if k.is_null(i) {
                        v.push(None);
                        continue;
                    }
                    let buckets = k.value(i);
                    if buckets <= 0 {
                        return exec_err!(
                            "ntile() needs a positive number of buckets, got {buckets}"
                        );
                    }
                    let size = size(ordinals[part_of[i]])? as i64;
                    v.push(Some(ntile(pos[i] as i64, size, buckets)));
                }
                Arc::new(Int64Array::from(v))
            }
            other => return internal_err!("{} is not a ranking function", other.name()),
        };
        if out.data_type() != &e.return_type {
            return Ok(cast(&out, &e.return_type)?);
        }
        Ok(out)
    }
}

/// Per row of a segment, what ranking functions are computed from (counted from the first
/// row of the row's partition).
struct RankParts {
    pos: Vec<u64>,
    rank: Vec<u64>,
    dense: Vec<i64>,
    peer_end: Vec<u64>,
    /// The row's partition among the segment's.
    part_of: Vec<usize>,
}

/// A frame from UNBOUNDED PRECEDING over `tail` (the segment and the rows after it), whose
/// first `carried` rows continue a partition whose earlier rows `prefix` summarises.
fn prefix_column(
    e: &WindowFunctionExpr,
    frame: &Frame,
    args: &[ArrayRef],
    tail: &Layout,
    carried: usize,
    prefix: &Summary,
    nth: Option<i64>,
) -> Result<ArrayRef> {
    let n = args
        .first()
        .map(|a| a.len())
        .unwrap_or_else(|| tail.partitions.iter().map(|p| p.len()).sum());
    let local = |func: WindowFunc, return_type: DataType, args: &[ArrayRef]| {
        let aux = WindowFunctionExpr {
            func,
            args: e.args.clone(),
            frame: e.frame.clone(),
            return_type,
            name: e.name.clone(),
        };
        evaluate(&aux, frame, args, tail, n)
    };
    if carried == 0 || prefix.is_empty() {
        return local(e.func, e.return_type.clone(), args);
    }
    // The carried rows' values, then the rest as computed.
    let splice = |head: ArrayRef, rest: &ArrayRef| -> Result<ArrayRef> {
        let rest = rest.slice(carried, n - carried);
        let head = if head.data_type() != rest.data_type() {
            cast(&head, rest.data_type())?
        } else {
            head
        };
        Ok(concat(&[head.as_ref(), rest.as_ref()])?)
    };
    let broadcast = |v: &ArrayRef| take(v.as_ref(), &UInt32Array::from(vec![0u32; carried]), None);
    match e.func {
        WindowFunc::Aggregate(AggFunc::Count | AggFunc::CountStar | AggFunc::Sum) => {
            let own = local(e.func, e.return_type.clone(), args)?;
            let p = prefix.finish(e)?;
            if p.is_null(0) {
                return Ok(own);
            }
            let head = own.slice(0, carried);
            let sum = add(&head, &Scalar::new(Arc::clone(&p))).map_err(|err| {
                Error::Execution(format!("{}() OVER (...): {err}", e.func.name()))
            })?;
            let sum = if sum.data_type() != head.data_type() {
                cast(&sum, head.data_type())?
            } else {
                sum
            };
            // A frame whose own rows are all NULL takes the prefix's value.
            let head = zip(&is_null(&head)?, &Scalar::new(Arc::clone(&p)), &sum)?;
            splice(head, &own)
        }
        WindowFunc::Aggregate(func @ (AggFunc::Min | AggFunc::Max)) => {
            let own = local(e.func, e.return_type.clone(), args)?;
            let p = prefix.finish(e)?;
            if p.is_null(0) {
                return Ok(own);
            }
            let p = if p.data_type() != own.data_type() {
                cast(&p, own.data_type())?
            } else {
                p
            };
            let cmp = make_comparator(p.as_ref(), own.as_ref(), SortOptions::default())?;
            let mask: arrow::array::BooleanArray = (0..carried)
                .map(|i| {
                    Some(
                        own.is_null(i) || {
                            let o = cmp(0, i);
                            if func == AggFunc::Min {
                                o.is_lt()
                            } else {
                                o.is_gt()
                            }
                        },
                    )
                })
                .collect();
            let head = zip(&mask, &Scalar::new(Arc::clone(&p)), &own.slice(0, carried))?;
            splice(head, &own)
        }
        WindowFunc::Aggregate(AggFunc::Avg) => {
            let own = local(e.func, e.return_type.clone(), args)?;
            let counts = local(WindowFunc::Aggregate(AggFunc::Count), DataType::Int64, args)?;
            let counts = counts.as_primitive::<Int64Type>();
            let head: Float64Array = match prefix {
                Summary::Int { sum, count, scale } => {
                    let sums = local(
                        WindowFunc::Aggregate(AggFunc::Sum),
                        DataType::Decimal128(38, *scale),
                        args,
                    )?;
                    let sums = sums.as_primitive::<Decimal128Type>();
                    let div = 10f64.powi(*scale as i32);
                    (0..carried)
                        .map(|i| {
                            let own = if sums.is_null(i) { 0 } else { sums.value(i) };
                            let s = sum.wrapping_add(own);
                            let c = (*count + counts.value(i)) as i128;
                            let (q, r) = (s / c, s % c);
                            Some((q as f64 + r as f64 / c as f64) / div)
                        })
                        .collect()
                }
                Summary::Float {
                    sum,
                    comp,
                    special,
                    count,
                } => {
                    let sums = local(WindowFunc::Aggregate(AggFunc::Sum), DataType::Float64, args)?;
                    let sums = sums.as_primitive::<Float64Type>();
                    let before = special.unwrap_or(sum + comp);
                    (0..carried)
                        .map(|i| {
                            let own = if sums.is_null(i) { 0.0 } else { sums.value(i) };
                            Some((before + own) / (*count + counts.value(i)) as f64)
                        })
                        .collect()
                }
                other => return internal_err!("avg() with a {other:?} prefix"),
            };
            splice(Arc::new(head), &own)
        }
        WindowFunc::Aggregate(
            func @ (AggFunc::VarSamp | AggFunc::VarPop | AggFunc::StddevSamp | AggFunc::StddevPop),
        ) => {
            let Summary::Moments {
                n: pn,
                mean: pmean,
                m2: pm2,
            } = prefix
            else {
                return internal_err!("{}() with a {prefix:?} prefix", func.name());
            };
            let own = local(e.func, e.return_type.clone(), args)?;
            let float_args: Vec<ArrayRef> = args
                .iter()
                .map(|a| cast(a, &DataType::Float64))
                .collect::<std::result::Result<_, _>>()?;
            let counts = local(
                WindowFunc::Aggregate(AggFunc::Count),
                DataType::Int64,
                &float_args,
            )?;
            let means = local(
                WindowFunc::Aggregate(AggFunc::Avg),
                DataType::Float64,
                &float_args,
            )?;
            let vars = local(
                WindowFunc::Aggregate(AggFunc::VarPop),
                DataType::Float64,
                &float_args,
            )?;
            let (counts, means, vars) = (
                counts.as_primitive::<Int64Type>(),
                means.as_primitive::<Float64Type>(),
                vars.as_primitive::<Float64Type>(),
            );
            let samp = matches!(func, AggFunc::VarSamp | AggFunc::StddevSamp);
            let sqrt = matches!(func, AggFunc::StddevSamp | AggFunc::StddevPop);
            let head: Float64Array = (0..carried)
                .map(|i| {
                    let nl = counts.value(i);
                    let (total, m2) = if nl == 0 {
                        (*pn, *pm2)
                    } else {
                        let ml = means.value(i);
                        let m2l = if vars.is_null(i) {
                            0.0
                        } else {
                            vars.value(i) * nl as f64
                        };
                        let total = pn + nl;
                        let d = ml - pmean;
                        (
                            total,
                            pm2 + m2l + d * d * (*pn as f64) * (nl as f64) / total as f64,
                        )
                    };
                    let d = if samp { total - 1 } else { total };
                    (d > 0).then(|| {
                        let var = m2.max(0.0) / d as f64;
                        if sqrt {
                            var.sqrt()
                        } else {
                            var
                        }
                    })
                })
                .collect();
            splice(Arc::new(head), &own)
        }
        WindowFunc::FirstValue => {
            let own = local(e.func, e.return_type.clone(), args)?;
            splice(broadcast(&prefix.finish(e)?)?, &own)
        }
        WindowFunc::LastValue => local(e.func, e.return_type.clone(), args),
        WindowFunc::NthValue => {
            let (Some(k), Summary::Rows { count, .. }) = (nth, prefix) else {
                return local(e.func, e.return_type.clone(), args);
            };
            if k <= 0 {
                return exec_err!("nth_value() needs a positive position, got {k}");
            }
            if k <= *count {
                let own = local(e.func, e.return_type.clone(), args)?;
                return splice(broadcast(&prefix.finish(e)?)?, &own);
            }
            // The carried rows look for row k - count of their own frame.
            let mut shifted = args.to_vec();
            let positions: Int64Array = (0..n)
                .map(|i| Some(if i < carried { k - count } else { k }))
                .collect();
            if shifted.len() > 1 {
                shifted[1] = Arc::new(positions);
            }
            local(e.func, e.return_type.clone(), &shifted)
        }
        other => internal_err!("{}() has no prefix form", other.name()),
    }
}

impl Shared {
    /// The PARTITION BY keys of `batch`.
    fn partition_keys(&self, batch: &RecordBatch) -> Result<Vec<ArrayRef>> {
        self.partition_by
            .iter()
            .map(|e| e.evaluate_to_array(batch))
            .collect()
    }

    /// The partitions and peer groups of `batch`'s rows, which are sorted.
    fn layout_of(&self, batch: &RecordBatch) -> Result<Layout> {
        let pkeys = self.partition_keys(batch)?;
        let okeys = self
            .order_by
            .iter()
            .map(|k| k.expr.evaluate_to_array(batch))
            .collect::<Result<Vec<_>>>()?;
        self.layout(&pkeys, &okeys, batch.num_rows())
    }

    /// Per function over the whole partition: its arguments on `batch`.
    fn whole_args(&self, plan: &Plan, batch: &RecordBatch) -> Result<Vec<Option<Vec<ArrayRef>>>> {
        self.exprs
            .iter()
            .zip(&plan.modes)
            .map(|(e, m)| {
                if *m != Mode::Whole {
                    return Ok(None);
                }
                let args = e
                    .args
                    .iter()
                    .map(|a| a.evaluate_to_array(batch))
                    .collect::<Result<Vec<_>>>()?;
                Ok(Some(args))
            })
            .collect()
    }
}
