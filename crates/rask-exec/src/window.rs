//! `WindowExec`: window functions (`f(..) OVER (PARTITION BY .. ORDER BY .. frame)`).
//!
//! Each worker hashes the PARTITION BY keys of its batches and splits every batch into
//! buckets by hash, so that all rows of a window partition land in one bucket. The buckets
//! are kept in a spillable [`PartitionBuffer`]: when the memory pool refuses a batch (or
//! `force_spill` is set) the worker writes its buffered buckets to Arrow IPC spill files. The
//! output is a lazy source with one morsel per bucket, so workers process buckets in parallel
//! and at most one bucket per worker is in memory at a time: read it back, sort by
//! (partition keys, order keys) on
//! arrow's row format, find the partitions and peer groups of the sorted rows with
//! `arrow::compute::partition`, then compute every window function over each partition in
//! O(n) (O(n log n) for RANGE frames with offsets): ranks from peer groups, `lag`/`lead` and
//! value functions as `take` indices, aggregates with a sliding window (running sums and
//! counts added and removed as the frame moves, a monotonic deque for `min`/`max`).

use std::collections::VecDeque;
use std::ops::Range;
use std::sync::{Arc, Condvar, Mutex};

use arrow::array::{
    make_comparator, Array, ArrayRef, AsArray, BooleanArray, Float64Array, Int64Array,
    PrimitiveArray, RecordBatch, UInt32Array,
};
use arrow::compute::kernels::zip::zip;
use arrow::compute::{cast, concat_batches, partition, take, take_record_batch, SortOptions};
use arrow::datatypes::{DataType, Decimal128Type, Float64Type, Int64Type, Schema, SchemaRef};
use arrow::row::{RowConverter, SortField};
use rask_common::{exec_err, internal_err, not_impl_err, plan_err, Error, Result, ScalarValue};
use rask_expr::{AggFunc, WindowFrame, WindowFrameBound, WindowFrameUnits, WindowFunc};

use crate::executor::{Sink, SinkLocal, TaskContext};
use crate::hash::{hash_bytes, hash_columns};
use crate::memory::{batch_memory, Reservation};
use crate::partition_store::{PartitionBuffer, PartitionStore};
use crate::physical_expr::PhysicalExpr;
use crate::shuffle::bucket_of;
use crate::sort::PhysicalSortExpr;
use crate::source::{BatchIter, DataSource, Morsel, MorselRef};
use crate::window_topk::{supported_order_type, TopKPerPartition, TopKPrefilter};

mod stream;

/// One window function of a [`WindowExec`].
#[derive(Debug, Clone)]
pub struct WindowFunctionExpr {
    /// The function.
    pub func: WindowFunc,
    /// Arguments, evaluated on input batches. The planner casts them: `ntile`'s count,
    /// `lag`/`lead`'s offset and `nth_value`'s position to Int64, `lag`/`lead`'s default to
    /// the result type.
    pub args: Vec<PhysicalExpr>,
    /// The frame (ignored by ranking functions, `lag` and `lead`).
    pub frame: WindowFrame,
    /// The result type ([`rask_expr::expr_type::window_return_type`]).
    pub return_type: DataType,
    /// Output column name.
    pub name: String,
}

/// A frame end, resolved for execution.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Bound {
    UnboundedPreceding,
    Preceding(Offset),
    CurrentRow,
    Following(Offset),
    UnboundedFollowing,
}

/// A frame offset: a row count (ROWS) or a distance in the ORDER BY key's domain (RANGE).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Offset {
    Rows(usize),
    Int(i128),
    Float(f64),
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Frame {
    rows: bool,
    start: Bound,
    end: Bound,
}

/// Computes window functions sharing one `PARTITION BY` and `ORDER BY`.
///
/// The output has the input's columns, then one column per function. SQL semantics (as
/// DuckDB): `row_number`, `rank`, `dense_rank`, `percent_rank`, `cume_dist`, `ntile` by the
/// ORDER BY peers; `lag`/`lead` with an offset (default 1) and a default (default NULL);
/// `first_value`, `last_value`, `nth_value` of the frame (NULL when the frame is empty or too
/// short); `count`, `sum`, `avg`, `min`, `max`, `var_*`, `stddev_*` over the frame, skipping
/// NULLs. Frames: ROWS with `n PRECEDING/FOLLOWING`, `UNBOUNDED`, `CURRENT ROW`; RANGE with
/// the same, `CURRENT ROW` meaning the current row's peers and offsets measured on the single
/// numeric ORDER BY key (NULL keys: the frame of a NULL row is its NULL peers). NULL partition
/// keys form one partition.
///
/// # Ordering
///
/// Needs no input order. Output rows come grouped by partition and sorted within it by the
/// ORDER BY keys (ties in input order per bucket), but callers must not rely on any order.
///
/// # Partitioning
///
/// Any input partitioning. Output: one partition per non-empty hash bucket (one bucket without
/// PARTITION BY, so a whole-table window runs on one thread).
///
/// # Memory
///
/// Buffers its input by bucket (hash of the PARTITION BY keys), reserved from the session
/// pool batch by batch, and each bucket's sorted copy while it is processed.
///
/// # Spilling
///
/// Buffered buckets are written to spill files when the pool refuses more (or with
/// `force_spill`), and everything is spilled before processing when the largest buckets of
/// all workers would not fit beside what is buffered. Processing reads one bucket per worker
/// back at a time; a bucket must fit in memory (with its sorted copy), or the query fails with
/// `ResourcesExhausted`. Without PARTITION BY there is one bucket, the whole input.
#[derive(Debug)]
pub struct WindowExec {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    partition_by: Vec<PhysicalExpr>,
    order_by: Vec<PhysicalSortExpr>,
    exprs: Vec<WindowFunctionExpr>,
    frames: Vec<Frame>,
    input_schema: SchemaRef,
    schema: SchemaRef,
    /// A filter above keeps the first K rows per partition: prefilter the input.
    /// With the PARTITION BY key types, resolved once for every worker's prefilter.
    top_k: Option<(TopKPerPartition, Vec<DataType>)>,
}

impl WindowExec {
    /// Window functions `exprs` over batches of `input_schema`, partitioned by `partition_by`
    /// and ordered by `order_by`.
    ///
    /// # Errors
    ///
    /// A plan error for a frame that cannot be computed: a negative or non-constant offset, a
    /// start after UNBOUNDED FOLLOWING or an end before UNBOUNDED PRECEDING, RANGE offsets
    /// without exactly one numeric ORDER BY key.
    pub fn try_new(
        partition_by: Vec<PhysicalExpr>,
        order_by: Vec<PhysicalSortExpr>,
        exprs: Vec<WindowFunctionExpr>,
        input_schema: SchemaRef,
    ) -> Result<Self> {
        let empty = RecordBatch::new_empty(Arc::clone(&input_schema));
        let order_types = order_by
            .iter()
            .map(|k| Ok(k.expr.evaluate_to_array(&empty)?.data_type().clone()))
            .collect::<Result<Vec<_>>>()?;
        let frames = exprs
            .iter()
            .map(|e| resolve_frame(e, &order_types))
            .collect::<Result<Vec<_>>>()?;
        let mut fields: Vec<_> = input_schema.fields().iter().cloned().collect();
        for e in &exprs {
            let nullable = !matches!(
                e.func,
                WindowFunc::RowNumber
                    | WindowFunc::Rank
                    | WindowFunc::DenseRank
                    | WindowFunc::PercentRank
                    | WindowFunc::CumeDist
                    | WindowFunc::Aggregate(AggFunc::Count | AggFunc::CountStar)
            );
            fields.push(Arc::new(arrow::datatypes::Field::new(
                &e.name,
                e.return_type.clone(),
                nullable,
            )));
        }
        let schema = Arc::new(Schema::new(fields));
        Ok(WindowExec {
            shared: Arc::new(Shared {
                partition_by,
                order_by,
                exprs,
                frames,
                input_schema,
                schema,
                top_k: None,
            }),
        })
    }

    /// Tells the window that a filter above keeps only the first `spec.k` rows of each
    /// partition by its one function, `row_number()` (`keep_ties` false) or `rank()`
    /// (`keep_ties` true), so each worker may drop rows that cannot make it before buffering
    /// them (see [`crate::window_topk`]). Ignored unless the window computes just that
    /// function, with one ORDER BY key of a supported type, and `k >= 1`.
    pub fn with_top_k(mut self, spec: TopKPerPartition) -> Self {
        let empty = RecordBatch::new_empty(Arc::clone(&self.shared.input_schema));
        let function_fits = match (self.shared.exprs.as_slice(), spec.keep_ties) {
            ([e], false) => e.func == WindowFunc::RowNumber,
            ([e], true) => e.func == WindowFunc::Rank,
            _ => false,
        };
        let key_fits = match self.shared.order_by.as_slice() {
            [key] => key
                .expr
                .evaluate_to_array(&empty)
                .is_ok_and(|a| supported_order_type(a.data_type())),
            _ => false,
        };
        let key_types = self
            .shared
            .partition_by
            .iter()
            .map(|e| Ok(e.evaluate_to_array(&empty)?.data_type().clone()))
            .collect::<Result<Vec<_>>>();
        if let (true, Ok(key_types), Some(shared)) = (
            spec.k >= 1 && function_fits && key_fits,
            key_types,
            Arc::get_mut(&mut self.shared),
        ) {
            shared.top_k = Some((spec, key_types));
        }
        self
    }
}

/// Checks a frame and resolves its offsets against the ORDER BY key type.
fn resolve_frame(e: &WindowFunctionExpr, order_types: &[DataType]) -> Result<Frame> {
    let name = e.func.name();
    let f = &e.frame;
    let rows = f.units == WindowFrameUnits::Rows;
    if matches!(f.start, WindowFrameBound::UnboundedFollowing) {
        return plan_err!("{name}(): a window frame cannot start at UNBOUNDED FOLLOWING");
    }
    if matches!(f.end, WindowFrameBound::UnboundedPreceding) {
        return plan_err!("{name}(): a window frame cannot end at UNBOUNDED PRECEDING");
    }
    let offset = |v: &ScalarValue| -> Result<Offset> {
        if v.is_null() {
            return plan_err!("{name}(): a window frame offset cannot be NULL");
        }
        if rows {
            return match v.cast_to(&DataType::Int64).ok().and_then(|s| s.as_i64()) {
                Some(n) if n >= 0 => Ok(Offset::Rows(n as usize)),
                _ => plan_err!(
                    "{name}(): a ROWS frame offset must be a non-negative integer, got {v}"
                ),
            };
        }
        let key = match order_types {
            [k] => k,
            _ => {
                return plan_err!(
                    "{name}(): a RANGE frame with an offset needs exactly one ORDER BY key, got {}",
                    order_types.len()
                )
            }
        };
        let negative = v.as_f64().is_some_and(|x| x < 0.0);
        if negative {
            return plan_err!("{name}(): a RANGE frame offset must not be negative, got {v}");
        }
        match key {
            t if t.is_integer() => match v.cast_to(&DataType::Int64).ok().and_then(|s| s.as_i64()) {
                Some(n) => Ok(Offset::Int(n as i128)),
                None => plan_err!(
                    "{name}(): the RANGE offset {v} must be an integer for an ORDER BY key of type {t}"
                ),
            },
            DataType::Decimal128(_, s) => {
                match v.cast_to(&DataType::Decimal128(38, *s)) {
                    Ok(ScalarValue::Decimal128(Some(n), _, _)) => Ok(Offset::Int(n)),
                    _ => plan_err!(
                        "{name}(): the RANGE offset {v} does not fit the ORDER BY key type {key}"
                    ),
                }
            }
            DataType::Float16 | DataType::Float32 | DataType::Float64 => match v.as_f64() {
                Some(x) => Ok(Offset::Float(x)),
                None => plan_err!("{name}(): the RANGE offset {v} must be a number"),
            },
            t => not_impl_err!(
                "{name}(): RANGE frames with an offset over an ORDER BY key of type {t} are not supported yet"
            ),
        }
    };
    let bound = |b: &WindowFrameBound| -> Result<Bound> {
        Ok(match b {
            WindowFrameBound::UnboundedPreceding => Bound::UnboundedPreceding,
            WindowFrameBound::Preceding(v) => Bound::Preceding(offset(v)?),
            WindowFrameBound::CurrentRow => Bound::CurrentRow,
            WindowFrameBound::Following(v) => Bound::Following(offset(v)?),
            WindowFrameBound::UnboundedFollowing => Bound::UnboundedFollowing,
        })
    };
    Ok(Frame {
        rows,
        start: bound(&f.start)?,
        end: bound(&f.end)?,
    })
}

impl Shared {
    /// Buckets: enough that a spilled input comes back a small piece at a time.
    fn buckets(&self, ctx: &TaskContext) -> usize {
        if self.partition_by.is_empty() {
            1
        } else {
            (ctx.config.effective_threads() * 8).clamp(16, 128)
        }
    }

    /// The rows of one bucket with their window columns. The caller reserves the memory
    /// (see [`ProcessGate`]).
    fn process(&self, batches: Vec<RecordBatch>, ctx: &TaskContext) -> Result<Vec<RecordBatch>> {
        if batches.iter().all(|b| b.num_rows() == 0) {
            return Ok(vec![]);
        }
        let input = concat_batches(&self.input_schema, &batches)?;
        drop(batches);
        let n = input.num_rows();
        let pkeys = self
            .partition_by
            .iter()
            .map(|e| e.evaluate_to_array(&input))
            .collect::<Result<Vec<_>>>()?;
        let okeys = self
            .order_by
            .iter()
            .map(|k| k.expr.evaluate_to_array(&input))
            .collect::<Result<Vec<_>>>()?;
        let (input, pkeys, okeys) = if pkeys.is_empty() && okeys.is_empty() {
            (input, pkeys, okeys)
        } else {
            let idx = self.sort_indices(&pkeys, &okeys, n)?;
            let sorted = take_record_batch(&input, &idx)?;
            drop(input);
            let take_all = |keys: &[ArrayRef]| -> Result<Vec<ArrayRef>> {
                keys.iter()
                    .map(|k| Ok(take(k.as_ref(), &idx, None)?))
                    .collect()
            };
            (sorted, take_all(&pkeys)?, take_all(&okeys)?)
        };
        let layout = self.layout(&pkeys, &okeys, n)?;
        let mut columns = input.columns().to_vec();
        for (e, frame) in self.exprs.iter().zip(&self.frames) {
            let args = e
                .args
                .iter()
                .map(|a| a.evaluate_to_array(&input))
                .collect::<Result<Vec<_>>>()?;
            let out = evaluate(e, frame, &args, &layout, n)?;
            columns.push(out);
        }
        let out = RecordBatch::try_new(Arc::clone(&self.schema), columns)?;
        Ok(slices(&out, ctx.config.batch_size).collect())
    }

    /// The partitions and (when a function needs them) peer groups of `n` rows sorted by
    /// their partition keys `pkeys` and order keys `okeys`.
    fn layout(&self, pkeys: &[ArrayRef], okeys: &[ArrayRef], n: usize) -> Result<Layout> {
        let partitions = if pkeys.is_empty() {
            std::iter::once(0..n).collect()
        } else {
            partition(pkeys)?.ranges()
        };
        let needs_peers = self.exprs.iter().zip(&self.frames).any(|(e, f)| {
            matches!(
                e.func,
                WindowFunc::Rank
                    | WindowFunc::DenseRank
                    | WindowFunc::PercentRank
                    | WindowFunc::CumeDist
            ) || (!e.func.ignores_frame() && !f.rows)
        });
        let peers = if !needs_peers {
            vec![]
        } else if okeys.is_empty() {
            partitions.clone()
        } else {
            let mut all = pkeys.to_vec();
            all.extend(okeys.iter().cloned());
            partition(&all)?.ranges()
        };
        Ok(Layout {
            partitions,
            peers,
            order_key: okeys.first().cloned(),
            order_options: self.order_by.first().map(|k| k.options),
        })
    }

    /// The order of rows by (partition keys, order keys), ties in input order.
    fn sort_indices(
        &self,
        pkeys: &[ArrayRef],
        okeys: &[ArrayRef],
        n: usize,
    ) -> Result<UInt32Array> {
        let mut fields: Vec<SortField> = pkeys
            .iter()
            .map(|k| SortField::new(k.data_type().clone()))
            .collect();
        fields.extend(
            okeys
                .iter()
                .zip(&self.order_by)
                .map(|(k, o)| SortField::new_with_options(k.data_type().clone(), o.options)),
        );
        let mut all = pkeys.to_vec();
        all.extend(okeys.iter().cloned());
        let converter = RowConverter::new(fields)?;
        let rows = converter.convert_columns(&all)?;
        if n > u32::MAX as usize {
            return exec_err!("WindowExec: a bucket of {n} rows is too large");
        }
        // Keys of one fixed width up to 32 bytes (integers, floats, dates, ...) compare as
        // big-endian u128 pairs: sorting (key, row) tuples avoids a memcmp per comparison.
        let width = if n > 0 { rows.row(0).as_ref().len() } else { 0 };
        if width <= 32 && (0..n).all(|i| rows.row(i).as_ref().len() == width) {
            let mut keyed: Vec<(u128, u128, u32)> = (0..n)
                .map(|i| {
                    let mut buf = [0u8; 32];
                    buf[..width].copy_from_slice(rows.row(i).as_ref());
                    let (hi, lo) = buf.split_at(16);
                    let hi = u128::from_be_bytes(hi.try_into().unwrap_or([0; 16]));
                    let lo = u128::from_be_bytes(lo.try_into().unwrap_or([0; 16]));
                    (hi, lo, i as u32)
                })
                .collect();
            drop(rows);
            keyed.sort_unstable();
            return Ok(keyed.into_iter().map(|(_, _, i)| i).collect());
        }
        let mut idx: Vec<u32> = (0..n as u32).collect();
        idx.sort_unstable_by(|a, b| {
            rows.row(*a as usize)
                .cmp(&rows.row(*b as usize))
                .then(a.cmp(b))
        });
        Ok(UInt32Array::from(idx))
    }
}

/// `batch` in slices of at most `size` rows (zero-copy).
fn slices(batch: &RecordBatch, size: usize) -> impl Iterator<Item = RecordBatch> + '_ {
    let size = size.max(1);
    (0..batch.num_rows())
        .step_by(size)
        .map(move |o| batch.slice(o, size.min(batch.num_rows() - o)))
}

/// Where the partitions and peer groups of a sorted bucket are.
struct Layout {
    partitions: Vec<Range<usize>>,
    /// Peer groups (rows equal on partition and order keys), in order; empty when no function
    /// needs them.
    peers: Vec<Range<usize>>,
    /// The first ORDER BY key, sorted (for RANGE offsets).
    order_key: Option<ArrayRef>,
    order_options: Option<SortOptions>,
}

impl Layout {
    /// Calls `f(partition, peer group)` for every peer group.
    fn for_each_peer_group(&self, mut f: impl FnMut(&Range<usize>, &Range<usize>)) {
        let mut parts = self.partitions.iter();
        let mut part = parts.next();
        for g in &self.peers {
            while let Some(p) = part {
                if g.start >= p.end {
                    part = parts.next();
                } else {
                    break;
                }
            }
            if let Some(p) = part {
                f(p, g);
            }
        }
    }

    /// For every row: the first and one-past-last row of its frame (`start <= end`).
    fn frames(&self, frame: &Frame, n: usize) -> Result<(Vec<usize>, Vec<usize>)> {
        let mut starts = vec![0; n];
        let mut ends = vec![0; n];
        // Peer group of each row, when the frame is measured in RANGE.
        let mut peer_of: Vec<Range<usize>> = Vec::new();
        if !frame.rows {
            peer_of = vec![0..0; n];
            for g in &self.peers {
                for slot in &mut peer_of[g.clone()] {
                    *slot = g.clone();
                }
            }
        }
        let range_keys = if frame.rows {
            None
        } else {
            let offsets = [frame.start, frame.end]
                .iter()
                .any(|b| matches!(b, Bound::Preceding(_) | Bound::Following(_)));
            if offsets {
                match (&self.order_key, self.order_options) {
                    (Some(k), Some(o)) => Some(RangeKeys::new(k, o.descending)?),
                    _ => return internal_err!("RANGE offsets without an ORDER BY key"),
                }
            } else {
                None
            }
        };
        for p in &self.partitions {
            for i in p.clone() {
                let s = self.bound(frame, &frame.start, true, i, p, &peer_of, &range_keys);
                let e = self.bound(frame, &frame.end, false, i, p, &peer_of, &range_keys);
                starts[i] = s;
                ends[i] = e.max(s);
            }
        }
        Ok((starts, ends))
    }

    /// One end of row `i`'s frame: the first row (`start`) or one past the last row.
    #[allow(clippy::too_many_arguments)]
    fn bound(
        &self,
        frame: &Frame,
        b: &Bound,
        start: bool,
        i: usize,
        p: &Range<usize>,
        peer_of: &[Range<usize>],
        keys: &Option<RangeKeys>,
    ) -> usize {
        let clamp = |x: isize| x.clamp(p.start as isize, p.end as isize) as usize;
        let i_s = i as isize;
        match *b {
            Bound::UnboundedPreceding => p.start,
            Bound::UnboundedFollowing => p.end,
            Bound::CurrentRow if frame.rows => {
                if start {
                    i
                } else {
                    i + 1
                }
            }
            Bound::CurrentRow => {
                let g = &peer_of[i];
                if start {
                    g.start
                } else {
                    g.end
                }
            }
            Bound::Preceding(Offset::Rows(k)) => {
                let k = k.min(isize::MAX as usize / 2) as isize;
                clamp(if start { i_s - k } else { i_s - k + 1 })
            }
            Bound::Following(Offset::Rows(k)) => {
                let k = k.min(isize::MAX as usize / 2) as isize;
                clamp(if start { i_s + k } else { i_s + k + 1 })
            }
            Bound::Preceding(off) | Bound::Following(off) => {
                let Some(keys) = keys else {
                    return i;
                };
                let preceding = matches!(b, Bound::Preceding(_));
                keys.bound(i, p, &peer_of[i], off, preceding, start)
            }
        }
    }
}

/// The ORDER BY key of a RANGE frame, as numbers that grow in window order (negated for
/// DESC), for binary searches.
enum RangeKeys {
    Int(Vec<i128>, Option<arrow::buffer::NullBuffer>),
    Float(Vec<f64>, Option<arrow::buffer::NullBuffer>),
}

impl RangeKeys {
    fn new(key: &ArrayRef, descending: bool) -> Result<Self> {
        let sign = if descending { -1 } else { 1 };
        let nulls = key.logical_nulls();
        Ok(match key.data_type() {
            t if t.is_integer() => {
                let a = cast(key, &DataType::Int64)?;
                let a = a.as_primitive::<Int64Type>();
                RangeKeys::Int(
                    a.values().iter().map(|&v| v as i128 * sign).collect(),
                    nulls,
                )
            }
            DataType::Decimal128(_, _) => {
                let a = key.as_primitive::<Decimal128Type>();
                RangeKeys::Int(a.values().iter().map(|&v| v * sign).collect(), nulls)
            }
            _ => {
                let a = cast(key, &DataType::Float64)?;
                let a = a.as_primitive::<Float64Type>();
                RangeKeys::Float(a.values().iter().map(|&v| v * sign as f64).collect(), nulls)
            }
        })
    }

    fn is_null(&self, i: usize) -> bool {
        let n = match self {
            RangeKeys::Int(_, n) | RangeKeys::Float(_, n) => n,
        };
        n.as_ref().is_some_and(|n| n.is_null(i))
    }

    /// The frame end of row `i` for `off PRECEDING/FOLLOWING` in RANGE mode.
    fn bound(
        &self,
        i: usize,
        p: &Range<usize>,
        peers: &Range<usize>,
        off: Offset,
        preceding: bool,
        start: bool,
    ) -> usize {
        if self.is_null(i) {
            // NULL keys are only "within range" of each other.
            return if start { peers.start } else { peers.end };
        }
        // The non-NULL rows of the partition: NULLs sort all first or all last.
        let mut lo = p.start;
        let mut hi = p.end;
        while lo < hi && self.is_null(lo) {
            lo += 1;
        }
        while hi > lo && self.is_null(hi - 1) {
            hi -= 1;
        }
        // start: first row with key >= target; end: first row with key > target.
        match self {
            RangeKeys::Int(v, _) => {
                let d = match off {
                    Offset::Int(d) => d,
                    Offset::Float(f) => f as i128,
                    Offset::Rows(r) => r as i128,
                };
                let target = if preceding {
                    v[i].saturating_sub(d)
                } else {
                    v[i].saturating_add(d)
                };
                lo + v[lo..hi].partition_point(|&x| if start { x < target } else { x <= target })
            }
            RangeKeys::Float(v, _) => {
                let d = match off {
                    Offset::Float(f) => f,
                    Offset::Int(d) => d as f64,
                    Offset::Rows(r) => r as f64,
                };
                let target = if preceding { v[i] - d } else { v[i] + d };
                lo + v[lo..hi].partition_point(|&x| if start { x < target } else { x <= target })
            }
        }
    }
}

/// Evaluates one window function over a sorted bucket.
fn evaluate(
    e: &WindowFunctionExpr,
    frame: &Frame,
    args: &[ArrayRef],
    layout: &Layout,
    n: usize,
) -> Result<ArrayRef> {
    let name = e.func.name();
    let arg = |i: usize| -> Result<&ArrayRef> {
        match args.get(i) {
            Some(a) => Ok(a),
            None => plan_err!("{name}() is missing argument {}", i + 1),
        }
    };
    let out: ArrayRef = match e.func {
        WindowFunc::RowNumber => {
            let mut v = vec![0i64; n];
            for p in &layout.partitions {
                for (k, i) in p.clone().enumerate() {
                    v[i] = k as i64 + 1;
                }
            }
            Arc::new(Int64Array::from(v))
        }
        WindowFunc::Rank | WindowFunc::DenseRank | WindowFunc::PercentRank => {
            let mut rank = vec![0i64; n];
            let mut dense = 0i64;
            let mut last_part = usize::MAX;
            layout.for_each_peer_group(|p, g| {
                if p.start != last_part {
                    last_part = p.start;
                    dense = 0;
                }
                dense += 1;
                let r = match e.func {
                    WindowFunc::DenseRank => dense,
                    _ => (g.start - p.start) as i64 + 1,
                };
                rank[g.clone()].fill(r);
            });
            if e.func == WindowFunc::PercentRank {
                let mut v = vec![0f64; n];
                for p in &layout.partitions {
                    let size = p.len();
                    for i in p.clone() {
                        v[i] = if size > 1 {
                            (rank[i] - 1) as f64 / (size - 1) as f64
                        } else {
                            0.0
                        };
                    }
                }
                Arc::new(Float64Array::from(v))
            } else {
                Arc::new(Int64Array::from(rank))
            }
        }
        WindowFunc::CumeDist => {
            let mut v = vec![0f64; n];
            layout.for_each_peer_group(|p, g| {
                v[g.clone()].fill((g.end - p.start) as f64 / p.len() as f64);
            });
            Arc::new(Float64Array::from(v))
        }
        WindowFunc::Ntile => {
            let buckets = cast(arg(0)?, &DataType::Int64)?;
            let buckets = buckets.as_primitive::<Int64Type>();
            let mut v: Vec<Option<i64>> = vec![None; n];
            for p in &layout.partitions {
                let size = p.len() as i64;
                for (row, i) in p.clone().enumerate() {
                    if buckets.is_null(i) {
                        continue;
                    }
                    let k = buckets.value(i);
                    if k <= 0 {
                        return exec_err!("ntile() needs a positive number of buckets, got {k}");
                    }
                    v[i] = Some(ntile(row as i64, size, k));
                }
            }
            Arc::new(Int64Array::from(v))
        }
        WindowFunc::Lag | WindowFunc::Lead => {
            let values = arg(0)?;
            let offsets = match args.get(1) {
                Some(o) => Some(cast(o, &DataType::Int64)?),
                None => None,
            };
            let offsets = offsets.as_ref().map(|o| o.as_primitive::<Int64Type>());
            let sign: i64 = if e.func == WindowFunc::Lag { -1 } else { 1 };
            let mut idx: Vec<Option<u32>> = vec![None; n];
            let mut outside = vec![false; n];
            for p in &layout.partitions {
                for i in p.clone() {
                    let off = match offsets {
                        Some(o) if o.is_null(i) => continue,
                        Some(o) => o.value(i),
                        None => 1,
                    };
                    let j = (i as i64).saturating_add(off.saturating_mul(sign));
                    if j >= p.start as i64 && j < p.end as i64 {
                        idx[i] = Some(j as u32);
                    } else {
                        outside[i] = true;
                    }
                }
            }
            let taken = take(values.as_ref(), &UInt32Array::from(idx), None)?;
            match args.get(2) {
                Some(default) => {
                    let default = if default.data_type() == taken.data_type() {
                        Arc::clone(default)
                    } else {
                        cast(default, taken.data_type())?
                    };
                    zip(&BooleanArray::from(outside), &default, &taken)?
                }
                None => taken,
            }
        }
        WindowFunc::FirstValue | WindowFunc::LastValue | WindowFunc::NthValue => {
            let values = arg(0)?;
            let nth = match e.func {
                WindowFunc::NthValue => Some(cast(arg(1)?, &DataType::Int64)?),
                _ => None,
            };
            let nth = nth.as_ref().map(|a| a.as_primitive::<Int64Type>());
            let (starts, ends) = layout.frames(frame, n)?;
            let mut idx: Vec<Option<u32>> = vec![None; n];
            for i in 0..n {
                let (s, t) = (starts[i], ends[i]);
                if s >= t {
                    continue;
                }
                idx[i] = match (e.func, nth) {
                    (WindowFunc::FirstValue, _) => Some(s as u32),
                    (WindowFunc::LastValue, _) => Some((t - 1) as u32),
                    (_, Some(nth)) => {
                        if nth.is_null(i) {
                            None
                        } else {
                            let k = nth.value(i);
                            if k <= 0 {
                                return exec_err!("nth_value() needs a positive position, got {k}");
                            }
                            let j = s as u64 + k as u64 - 1;
                            (j < t as u64).then_some(j as u32)
                        }
                    }
                    _ => None,
                };
            }
            take(values.as_ref(), &UInt32Array::from(idx), None)?
        }
        WindowFunc::Aggregate(func) => {
            let (starts, ends) = layout.frames(frame, n)?;
            aggregate(func, e, args, &layout.partitions, &starts, &ends)?
        }
    };
    if out.data_type() != &e.return_type {
        return Ok(cast(&out, &e.return_type)?);
    }
    Ok(out)
}

/// DuckDB's NTILE: the first `size % k` buckets get one row more.
fn ntile(row: i64, size: i64, k: i64) -> i64 {
    let k = k.min(size.max(1));
    let small = size / k;
    let large = size - k * small;
    let first_small = large * (small + 1);
    if row < first_small {
        1 + row / (small + 1)
    } else {
        1 + large + (row - first_small) / small.max(1)
    }
}

/// A running state that rows enter (frame end moves on) and leave (frame start moves on).
trait Sliding {
    fn add(&mut self, i: usize);
    fn remove(&mut self, i: usize);
    /// Records the value of `out_row`, whose frame holds rows `frame`.
    fn emit(&mut self, out_row: usize, frame: Range<usize>) -> Result<()>;
    fn reset(&mut self);
}

/// Drives `s` over every row's frame; starts and ends never decrease within a partition.
fn slide(
    s: &mut dyn Sliding,
    partitions: &[Range<usize>],
    starts: &[usize],
    ends: &[usize],
) -> Result<()> {
    for p in partitions {
        s.reset();
        let (mut lo, mut hi) = (p.start, p.start);
        for i in p.clone() {
            let (fs, fe) = (starts[i], ends[i]);
            if fs < lo || fe < hi {
                // Frames only move forward; restart if one does not (never expected).
                s.reset();
                lo = fs;
                hi = fs;
            }
            while hi < fe {
                s.add(hi);
                hi += 1;
            }
            while lo < fs {
                if lo < hi {
                    s.remove(lo);
                }
                lo += 1;
            }
            if hi < lo {
                hi = lo;
            }
            s.emit(i, lo..hi)?;
        }
    }
    Ok(())
}

struct CountState<'a> {
    valid: Option<&'a arrow::buffer::NullBuffer>,
    count: i64,
    out: Vec<i64>,
}

impl Sliding for CountState<'_> {
    fn add(&mut self, i: usize) {
        if self.valid.is_none_or(|v| v.is_valid(i)) {
            self.count += 1;
        }
    }
    fn remove(&mut self, i: usize) {
        if self.valid.is_none_or(|v| v.is_valid(i)) {
            self.count -= 1;
        }
    }
    fn emit(&mut self, row: usize, _frame: Range<usize>) -> Result<()> {
        self.out[row] = self.count;
        Ok(())
    }
    fn reset(&mut self) {
        self.count = 0;
    }
}

/// Exact sums (integers as i128, decimals unscaled) for `sum` and `avg`.
struct IntSumState<'a> {
    values: &'a [i128],
    valid: Option<&'a arrow::buffer::NullBuffer>,
    sum: i128,
    count: i64,
    sums: Vec<Option<i128>>,
    counts: Vec<i64>,
}

impl Sliding for IntSumState<'_> {
    fn add(&mut self, i: usize) {
        if self.valid.is_none_or(|v| v.is_valid(i)) {
            self.sum = self.sum.wrapping_add(self.values[i]);
            self.count += 1;
        }
    }
    fn remove(&mut self, i: usize) {
        if self.valid.is_none_or(|v| v.is_valid(i)) {
            self.sum = self.sum.wrapping_sub(self.values[i]);
            self.count -= 1;
        }
    }
    fn emit(&mut self, row: usize, _frame: Range<usize>) -> Result<()> {
        self.sums[row] = (self.count > 0).then_some(self.sum);
        self.counts[row] = self.count;
        Ok(())
    }
    fn reset(&mut self) {
        self.sum = 0;
        self.count = 0;
    }
}

/// Float sums with Neumaier compensation (so removing rows does not drift), and Welford
/// moments for `var_*`/`stddev_*`.
struct FloatState<'a> {
    values: &'a [f64],
    valid: Option<&'a arrow::buffer::NullBuffer>,
    sum: f64,
    comp: f64,
    count: i64,
    /// Rows in the frame that are NaN or infinite: sums with them are recomputed.
    non_finite: i64,
    mean: f64,
    m2: f64,
    moments: bool,
    out_sum: Vec<Option<f64>>,
    out_count: Vec<i64>,
    out_m2: Vec<f64>,
}

impl FloatState<'_> {
    fn valid(&self, i: usize) -> bool {
        self.valid.is_none_or(|v| v.is_valid(i))
    }
    fn kahan_add(&mut self, x: f64) {
        let t = self.sum + x;
        if self.sum.abs() >= x.abs() {
            self.comp += (self.sum - t) + x;
        } else {
            self.comp += (x - t) + self.sum;
        }
        self.sum = t;
    }
}

impl Sliding for FloatState<'_> {
    fn add(&mut self, i: usize) {
        if !self.valid(i) {
            return;
        }
        let x = self.values[i];
        self.count += 1;
        if !x.is_finite() {
            self.non_finite += 1;
        } else {
            self.kahan_add(x);
        }
        if self.moments {
            let d = x - self.mean;
            self.mean += d / self.count as f64;
            self.m2 += d * (x - self.mean);
        }
    }
    fn remove(&mut self, i: usize) {
        if !self.valid(i) {
            return;
        }
        let x = self.values[i];
        self.count -= 1;
        if !x.is_finite() {
            self.non_finite -= 1;
        } else {
            self.kahan_add(-x);
        }
        if self.moments {
            if self.count == 0 {
                self.mean = 0.0;
                self.m2 = 0.0;
            } else {
                let d = x - self.mean;
                self.mean -= d / self.count as f64;
                self.m2 -= d * (x - self.mean);
            }
        }
    }
    fn emit(&mut self, row: usize, frame: Range<usize>) -> Result<()> {
        let sum = if self.count == 0 {
            None
        } else if self.non_finite > 0 {
            // inf - inf would poison a running sum: add the frame up again.
            let mut s = 0.0;
            for j in frame {
                if self.valid(j) {
                    s += self.values[j];
                }
            }
            Some(s)
        } else {
            Some(self.sum + self.comp)
        };
        self.out_sum[row] = sum;
        self.out_count[row] = self.count;
        if self.moments {
            self.out_m2[row] = self.m2.max(0.0);
        }
        Ok(())
    }
    fn reset(&mut self) {
        self.sum = 0.0;
        self.comp = 0.0;
        self.count = 0;
        self.non_finite = 0;
        self.mean = 0.0;
        self.m2 = 0.0;
    }
}

/// `min`/`max` with a monotonic deque of row indices: the front is the answer.
struct MinMaxState<'a> {
    cmp: arrow::array::DynComparator,
    valid: Option<&'a arrow::buffer::NullBuffer>,
    min: bool,
    deque: VecDeque<usize>,
    lo: usize,
    out: Vec<Option<u32>>,
}

impl Sliding for MinMaxState<'_> {
    fn add(&mut self, i: usize) {
        if self.valid.is_some_and(|v| v.is_null(i)) {
            return;
        }
        while let Some(&b) = self.deque.back() {
            let ord = (self.cmp)(b, i);
            // Keep the earliest of equal values (stable answer).
            let dominated = if self.min { ord.is_gt() } else { ord.is_lt() };
            if dominated {
                self.deque.pop_back();
            } else {
                break;
            }
        }
        self.deque.push_back(i);
    }
    fn remove(&mut self, i: usize) {
        self.lo = i + 1;
        while let Some(&f) = self.deque.front() {
            if f < self.lo {
                self.deque.pop_front();
            } else {
                break;
            }
        }
    }
    fn emit(&mut self, row: usize, _frame: Range<usize>) -> Result<()> {
        self.out[row] = self.deque.front().map(|&f| f as u32);
        Ok(())
    }
    fn reset(&mut self) {
        self.deque.clear();
        self.lo = 0;
    }
}

/// An aggregate over every row's frame.
fn aggregate(
    func: AggFunc,
    e: &WindowFunctionExpr,
    args: &[ArrayRef],
    partitions: &[Range<usize>],
    starts: &[usize],
    ends: &[usize],
) -> Result<ArrayRef> {
    let n = starts.len();
    let name = func.name();
    let arg0 = || -> Result<&ArrayRef> {
        match args.first() {
            Some(a) => Ok(a),
            None => plan_err!("{name}() needs an argument"),
        }
    };
    Ok(match func {
        AggFunc::CountStar => {
            let v: Vec<i64> = (0..n).map(|i| (ends[i] - starts[i]) as i64).collect();
            Arc::new(Int64Array::from(v))
        }
        AggFunc::Count => {
            let a = arg0()?;
            let nulls = a.logical_nulls();
            let mut s = CountState {
                valid: nulls.as_ref(),
                count: 0,
                out: vec![0; n],
            };
            slide(&mut s, partitions, starts, ends)?;
            Arc::new(Int64Array::from(s.out))
        }
        AggFunc::Sum | AggFunc::Avg => {
            let a = arg0()?;
            let (ints, scale): (Option<Vec<i128>>, i8) = match a.data_type() {
                t if t.is_integer() => {
                    let c = cast(a, &DataType::Int64)?;
                    let c = c.as_primitive::<Int64Type>();
                    (Some(c.values().iter().map(|&v| v as i128).collect()), 0)
                }
                DataType::Decimal128(_, s) => {
                    let c = a.as_primitive::<Decimal128Type>();
                    (Some(c.values().to_vec()), *s)
                }
                DataType::Null => (Some(vec![0; a.len()]), 0),
                _ => (None, 0),
            };
            let nulls = a.logical_nulls();
            match ints {
                Some(values) => {
                    let mut s = IntSumState {
                        values: &values,
                        valid: nulls.as_ref(),
                        sum: 0,
                        count: 0,
                        sums: vec![None; n],
                        counts: vec![0; n],
                    };
                    slide(&mut s, partitions, starts, ends)?;
                    if func == AggFunc::Avg {
                        let div = 10f64.powi(scale as i32);
                        let v: Float64Array = s
                            .sums
                            .iter()
                            .zip(&s.counts)
                            .map(|(sum, &c)| {
                                sum.map(|sum| {
                                    let c = c.max(1) as i128;
                                    let (q, r) = (sum / c, sum % c);
                                    (q as f64 + r as f64 / c as f64) / div
                                })
                            })
                            .collect();
                        Arc::new(v)
                    } else {
                        match &e.return_type {
                            DataType::Decimal128(p, sc) => {
                                let v: PrimitiveArray<Decimal128Type> =
                                    s.sums.into_iter().collect();
                                Arc::new(v.with_precision_and_scale(*p, *sc)?)
                            }
                            _ => {
                                let v = s
                                    .sums
                                    .into_iter()
                                    .map(|x| match x {
                                        None => Ok(None),
                                        Some(x) => match i64::try_from(x) {
                                            Ok(v) => Ok(Some(v)),
                                            Err(_) => exec_err!(
                                                "sum() OVER (...) overflowed BIGINT: {x}; cast the argument to DECIMAL or DOUBLE"
                                            ),
                                        },
                                    })
                                    .collect::<Result<Vec<_>>>()?;
                                Arc::new(Int64Array::from(v))
                            }
                        }
                    }
                }
                None => {
                    let f = cast(a, &DataType::Float64)?;
                    let f = f.as_primitive::<Float64Type>();
                    let s = float_state(f, nulls.as_ref(), false, n, partitions, starts, ends)?;
                    if func == AggFunc::Avg {
                        let v: Float64Array =
                            s.0.iter()
                                .zip(&s.1)
                                .map(|(sum, &c)| sum.map(|x| x / c.max(1) as f64))
                                .collect();
                        Arc::new(v)
                    } else {
                        Arc::new(Float64Array::from(s.0))
                    }
                }
            }
        }
        AggFunc::VarSamp | AggFunc::VarPop | AggFunc::StddevSamp | AggFunc::StddevPop => {
            let a = arg0()?;
            let f = cast(a, &DataType::Float64)?;
            let nulls = f.logical_nulls();
            let f = f.as_primitive::<Float64Type>();
            let (_, counts, m2) =
                float_state(f, nulls.as_ref(), true, n, partitions, starts, ends)?;
            let samp = matches!(func, AggFunc::VarSamp | AggFunc::StddevSamp);
            let sqrt = matches!(func, AggFunc::StddevSamp | AggFunc::StddevPop);
            let v: Float64Array = counts
                .iter()
                .zip(&m2)
                .map(|(&c, &m)| {
                    let d = if samp { c - 1 } else { c };
                    (d > 0).then(|| {
                        let var = m / d as f64;
                        if sqrt {
                            var.sqrt()
                        } else {
                            var
                        }
                    })
                })
                .collect();
            Arc::new(v)
        }
        AggFunc::Min | AggFunc::Max => {
            let a = arg0()?;
            let nulls = a.logical_nulls();
            let cmp = make_comparator(a.as_ref(), a.as_ref(), SortOptions::default())?;
            let mut s = MinMaxState {
                cmp,
                valid: nulls.as_ref(),
                min: func == AggFunc::Min,
                deque: VecDeque::new(),
                lo: 0,
                out: vec![None; n],
            };
            slide(&mut s, partitions, starts, ends)?;
            take(a.as_ref(), &UInt32Array::from(s.out), None)?
        }
        other => {
            return not_impl_err!(
                "{}() is not supported as a window function yet",
                other.name()
            )
        }
    })
}

type FloatOut = (Vec<Option<f64>>, Vec<i64>, Vec<f64>);

fn float_state(
    f: &PrimitiveArray<Float64Type>,
    nulls: Option<&arrow::buffer::NullBuffer>,
    moments: bool,
    n: usize,
    partitions: &[Range<usize>],
    starts: &[usize],
    ends: &[usize],
) -> Result<FloatOut> {
    let mut s = FloatState {
        values: f.values(),
        valid: nulls,
        sum: 0.0,
        comp: 0.0,
        count: 0,
        non_finite: 0,
        mean: 0.0,
        m2: 0.0,
        moments,
        out_sum: vec![None; n],
        out_count: vec![0; n],
        out_m2: if moments { vec![0.0; n] } else { vec![] },
    };
    slide(&mut s, partitions, starts, ends)?;
    Ok((s.out_sum, s.out_count, s.out_m2))
}

struct WindowLocal {
    prefilter: Option<TopKPrefilter>,
    buffer: PartitionBuffer,
    buckets: usize,
    hashes: Vec<u64>,
    shared: Arc<Shared>,
}

impl WindowLocal {
    /// The bucket of every row of `batch`.
    fn bucket_ids(&mut self, batch: &RecordBatch) -> Result<Vec<u32>> {
        let n = batch.num_rows();
        let nb = self.buckets;
        let keys = self
            .shared
            .partition_by
            .iter()
            .map(|e| e.evaluate_to_array(batch))
            .collect::<Result<Vec<_>>>()?;
        if hash_columns(&keys, n, &mut self.hashes).is_err() {
            // A key type the engine hash does not cover: hash its row encoding.
            let fields = keys
                .iter()
                .map(|k| SortField::new(k.data_type().clone()))
                .collect();
            let rows = RowConverter::new(fields)?.convert_columns(&keys)?;
            self.hashes.clear();
            self.hashes
                .extend((0..n).map(|i| hash_bytes(rows.row(i).as_ref())));
        }
        Ok(self
            .hashes
            .iter()
            .map(|&h| bucket_of(h, nb) as u32)
            .collect())
    }
}

impl SinkLocal for WindowLocal {
    fn sink(&mut self, item: usize, _partition: usize, batch: RecordBatch) -> Result<()> {
        let batch = match &mut self.prefilter {
            Some(p) => match p.filter(&batch)? {
                Some(kept) => kept,
                None => {
                    // The pool refused the prefilter's state: pass everything from now on.
                    self.prefilter = None;
                    batch
                }
            },
            None => batch,
        };
        if batch.num_rows() == 0 {
            return Ok(());
        }
        if self.buckets == 1 {
            return self.buffer.push(0, item, batch);
        }
        let ids = self.bucket_ids(&batch)?;
        let mut per: Vec<Vec<u32>> = vec![Vec::new(); self.buckets];
        for (row, &b) in ids.iter().enumerate() {
            per[b as usize].push(row as u32);
        }
        for (b, rows) in per.into_iter().enumerate() {
            if rows.is_empty() {
                continue;
            }
            let part = if rows.len() == batch.num_rows() {
                batch.clone()
            } else {
                take_record_batch(&batch, &UInt32Array::from(rows))?
            };
            self.buffer.push(b, item, part)?;
        }
        Ok(())
    }
    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any + Send> {
        self
    }
}

/// The finished window: one morsel per non-empty bucket, processed when opened.
#[derive(Debug)]
struct WindowSource {
    store: Arc<PartitionStore>,
    shared: Arc<Shared>,
    ctx: TaskContext,
    gate: Arc<ProcessGate>,
}

/// One bucket of a [`WindowSource`].
#[derive(Debug)]
struct WindowMorsel {
    store: Arc<PartitionStore>,
    shared: Arc<Shared>,
    ctx: TaskContext,
    gate: Arc<ProcessGate>,
    bucket: usize,
}

/// Admits buckets to processing as memory allows: a worker whose bucket does not fit beside
/// the others being processed waits for one of them to finish, and fails with
/// `ResourcesExhausted` only when no other bucket is in process (it cannot fit at all).
#[derive(Debug, Default)]
struct ProcessGate {
    active: Mutex<usize>,
    done: Condvar,
}

/// A bucket's memory while it is processed; returned, and waiting workers woken, on drop.
struct Admitted<'a> {
    gate: &'a ProcessGate,
    reservation: Reservation,
}

impl ProcessGate {
    fn admit(&self, ctx: &TaskContext, bytes: usize) -> Result<Admitted<'_>> {
        let mut reservation = ctx.pool.reservation("WindowExec(sort)");
        let mut active = self.active.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            match reservation.try_grow(bytes) {
                Ok(()) => {
                    *active += 1;
                    return Ok(Admitted {
                        gate: self,
                        reservation,
                    });
                }
                Err(e) if *active == 0 => return Err(e),
                Err(_) => active = self.done.wait(active).unwrap_or_else(|e| e.into_inner()),
            }
        }
    }
}

impl Drop for Admitted<'_> {
    fn drop(&mut self) {
        self.reservation.free();
        let mut active = self.gate.active.lock().unwrap_or_else(|e| e.into_inner());
        *active = active.saturating_sub(1);
        self.gate.done.notify_all();
    }
}

impl Morsel for WindowMorsel {
    fn open(&self) -> Result<BatchIter> {
        // A bucket that cannot fit is evaluated segment by segment (all of them are with
        // `force_spill`, so that the test suites cover that path).
        let external = stream::Plan::new(&self.shared);
        let segments = |plan| {
            stream::evaluate_bucket(
                Arc::clone(&self.shared),
                plan,
                &self.store,
                self.bucket,
                &self.ctx,
            )
        };
        let external = match external {
            Ok(plan) if self.ctx.config.force_spill => return segments(plan),
            other => other,
        };
        let cannot_fit = |e: Error, external| match (e, external) {
            (Error::ResourcesExhausted(_), Ok(plan)) => segments(plan),
            (Error::ResourcesExhausted(msg), Err(why)) => Err(Error::ResourcesExhausted(format!(
                "{msg}. The window bucket does not fit, and it cannot be evaluated in pieces: {why}"
            ))),
            (e, _) => Err(e),
        };
        // The bucket is concatenated, then sorted into a copy: twice its size at the peak,
        // with the sort's keys and indices and the function columns.
        let rows = self.store.partition_rows(self.bucket);
        let per_row = 48 + 16 * self.shared.exprs.len();
        let working = rows.saturating_mul(per_row);
        let estimate = self.store.partition_bytes(self.bucket);
        let needed = estimate.saturating_mul(2).saturating_add(working);
        let mut admitted = match self.gate.admit(&self.ctx, needed) {
            Ok(a) => a,
            Err(e) => return cannot_fit(e, external),
        };
        let batches = self.store.read_partition(self.bucket)?;
        let bytes: usize = batches
            .iter()
            .map(batch_memory)
            .sum::<usize>()
            .saturating_mul(2)
            .saturating_add(working);
        if let Err(e) = admitted
            .reservation
            .try_grow(bytes.saturating_sub(admitted.reservation.size()))
        {
            drop(batches);
            drop(admitted);
            return cannot_fit(e, external);
        }
        let out = self.shared.process(batches, &self.ctx)?;
        drop(admitted);
        Ok(Box::new(out.into_iter().map(Ok)))
    }
    fn partition(&self) -> usize {
        self.bucket
    }
}

impl DataSource for WindowSource {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.shared.schema)
    }
    fn morsels(&self) -> Result<Vec<MorselRef>> {
        Ok((0..self.store.npartitions())
            .filter(|b| self.store.partition_rows(*b) > 0)
            .map(|bucket| {
                Arc::new(WindowMorsel {
                    store: Arc::clone(&self.store),
                    shared: Arc::clone(&self.shared),
                    ctx: self.ctx.clone(),
                    gate: Arc::clone(&self.gate),
                    bucket,
                }) as MorselRef
            })
            .collect())
    }
}

impl WindowExec {
    /// Merges the workers' buffers into a source, spilling them all first when processing
    /// the largest buckets (a sorted copy each, one per worker) would not fit beside them.
    fn source(&self, locals: Vec<Box<dyn SinkLocal>>, ctx: &TaskContext) -> Result<WindowSource> {
        let nb = self.shared.buckets(ctx);
        let mut buffers = Vec::with_capacity(locals.len());
        for l in locals {
            let l = l
                .into_any()
                .downcast::<WindowLocal>()
                .map_err(|_| Error::Internal("WindowExec: foreign sink local".into()))?;
            buffers.push(l.buffer);
        }
        // The largest bucket's rows at the buffered bytes per row, twice (concatenated, then
        // sorted), for each worker.
        let buffered: usize = buffers.iter().map(PartitionBuffer::memory_bytes).sum();
        let buffered_rows: usize = buffers.iter().map(PartitionBuffer::memory_rows).sum();
        let mut bucket_rows = vec![0usize; nb];
        for b in &buffers {
            for (i, rows) in b.partition_rows().into_iter().enumerate() {
                if let Some(total) = bucket_rows.get_mut(i) {
                    *total += rows;
                }
            }
        }
        let largest = bucket_rows.iter().copied().max().unwrap_or(0);
        let busy = bucket_rows.iter().filter(|r| **r > 0).count();
        let workers = ctx.config.effective_threads().min(busy).max(1);
        let per_row = buffered.checked_div(buffered_rows).unwrap_or(0);
        let processing = largest.saturating_mul(per_row).saturating_mul(2 * workers);
        if buffered > 0 && processing > ctx.pool.limit().saturating_sub(ctx.pool.used()) {
            for b in &mut buffers {
                b.spill()?;
            }
        }
        let store =
            PartitionBuffer::finish_all(buffers, Arc::clone(&self.shared.input_schema), nb)?;
        Ok(WindowSource {
            store: Arc::new(store),
            shared: Arc::clone(&self.shared),
            ctx: ctx.clone(),
            gate: Arc::default(),
        })
    }
}

impl Sink for WindowExec {
    fn make_local(&self, ctx: &TaskContext) -> Result<Box<dyn SinkLocal>> {
        let reservation = ctx
            .pool
            .spillable_reservation("WindowExec", ctx.config.effective_threads());
        let prefilter = match (&self.shared.top_k, self.shared.order_by.as_slice()) {
            (Some((spec, key_types)), [key]) => Some(TopKPrefilter::try_new(
                *spec,
                self.shared.partition_by.clone(),
                key_types,
                key.expr.clone(),
                key.options,
                ctx.pool.reservation("WindowExec(top-k)"),
            )?),
            _ => None,
        };
        Ok(Box::new(WindowLocal {
            prefilter,
            buffer: PartitionBuffer::new(
                Arc::clone(&self.shared.input_schema),
                Arc::clone(&ctx.spill),
                "window",
                reservation,
                ctx.config.force_spill,
            ),
            buckets: self.shared.buckets(ctx),
            hashes: Vec::new(),
            shared: Arc::clone(&self.shared),
        }))
    }

    fn finish(
        &self,
        locals: Vec<Box<dyn SinkLocal>>,
        ctx: &TaskContext,
    ) -> Result<Vec<Vec<RecordBatch>>> {
        let source = self.source(locals, ctx)?;
        let mut parts = Vec::new();
        for m in source.morsels()? {
            parts.push(m.open()?.collect::<Result<Vec<_>>>()?);
        }
        if parts.is_empty() {
            parts.push(vec![]);
        }
        Ok(parts)
    }

    fn finish_source(
        &self,
        locals: Vec<Box<dyn SinkLocal>>,
        ctx: &TaskContext,
    ) -> Result<Arc<dyn DataSource>> {
        Ok(Arc::new(self.source(locals, ctx)?))
    }

    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.shared.schema)
    }

    fn describe(&self) -> String {
        let mut spec = Vec::new();
        if !self.shared.partition_by.is_empty() {
            let keys: Vec<String> = self
                .shared
                .partition_by
                .iter()
                .map(|e| e.to_string())
                .collect();
            spec.push(format!("partition_by=[{}]", keys.join(", ")));
        }
        if !self.shared.order_by.is_empty() {
            let keys: Vec<String> = self
                .shared
                .order_by
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
            spec.push(format!("order_by=[{}]", keys.join(", ")));
        }
        let names: Vec<&str> = self.shared.exprs.iter().map(|e| e.name.as_str()).collect();
        spec.push(format!("functions=[{}]", names.join(", ")));
        if let Some((t, _)) = &self.shared.top_k {
            spec.push(format!("top_k_per_partition={}", t.k));
        }
        format!("WindowExec: {}", spec.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use arrow::array::{Float64Array, Int64Array};
    use arrow::datatypes::Field;
    use rask_common::SessionConfig;
    use rask_expr::{WindowFrame, WindowFrameBound, WindowFrameUnits};

    use super::*;
    use crate::{Executor, MemorySource, PhysicalPlan};

    /// `(k, o, v, id)`: partition key, order key (ties), value, unique id.
    type Row = (Option<i64>, Option<i64>, Option<i64>, i64);

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("k", DataType::Int64, true),
            Field::new("o", DataType::Int64, true),
            Field::new("v", DataType::Int64, true),
            Field::new("id", DataType::Int64, false),
        ]))
    }

    fn gen_rows(n: usize, keys: u64, seed: u64) -> Vec<Row> {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut next = |m: u64| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (x >> 33) % m
        };
        (0..n)
            .map(|i| {
                let k = (next(10) > 0).then(|| next(keys) as i64);
                let o = (next(10) > 0).then(|| next(20) as i64 - 5);
                let v = (next(10) > 1).then(|| next(100) as i64 - 50);
                (k, o, v, i as i64)
            })
            .collect()
    }

    /// The rows in `parts` partitions of batches of at most 7 rows.
    fn source(rows: &[Row], parts: usize) -> PhysicalPlan {
        let batch = |rs: &[Row]| {
            RecordBatch::try_new(
                schema(),
                vec![
                    Arc::new(rs.iter().map(|r| r.0).collect::<Int64Array>()),
                    Arc::new(rs.iter().map(|r| r.1).collect::<Int64Array>()),
                    Arc::new(rs.iter().map(|r| r.2).collect::<Int64Array>()),
                    Arc::new(rs.iter().map(|r| Some(r.3)).collect::<Int64Array>()),
                ],
            )
            .unwrap()
        };
        let per = rows.len().div_ceil(parts).max(1);
        let partitions: Vec<Vec<RecordBatch>> = rows
            .chunks(per)
            .map(|p| p.chunks(7).map(batch).collect())
            .collect();
        PhysicalPlan::Source(Arc::new(MemorySource::new(schema(), partitions)))
    }

    fn call(
        func: WindowFunc,
        args: Vec<usize>,
        frame: WindowFrame,
        t: DataType,
    ) -> WindowFunctionExpr {
        WindowFunctionExpr {
            func,
            args: args.into_iter().map(PhysicalExpr::Column).collect(),
            frame,
            return_type: t,
            name: func.name().to_string(),
        }
    }

    fn rows_frame(start: WindowFrameBound, end: WindowFrameBound) -> WindowFrame {
        WindowFrame {
            units: WindowFrameUnits::Rows,
            start,
            end,
        }
    }

    fn asc(col: usize) -> PhysicalSortExpr {
        PhysicalSortExpr {
            expr: PhysicalExpr::Column(col),
            options: SortOptions {
                descending: false,
                nulls_first: false,
            },
        }
    }

    /// Runs the window over `rows` and returns, per id, the window columns as strings.
    fn run(
        rows: &[Row],
        partition_by: Vec<usize>,
        order_by: Vec<PhysicalSortExpr>,
        exprs: Vec<WindowFunctionExpr>,
        threads: usize,
        parts: usize,
    ) -> Result<HashMap<i64, Vec<String>>> {
        let exec = WindowExec::try_new(
            partition_by.into_iter().map(PhysicalExpr::Column).collect(),
            order_by,
            exprs,
            schema(),
        )?;
        let plan = PhysicalPlan::Sink {
            input: Box::new(source(rows, parts)),
            sink: Arc::new(exec),
        };
        let config = SessionConfig::new().with_threads(threads);
        Ok(run_with(&plan, TaskContext::new(config))?.0)
    }

    /// Runs `plan` in `ctx`: per id, the window columns as strings, and the spill count.
    fn run_with(
        plan: &PhysicalPlan,
        ctx: TaskContext,
    ) -> Result<(HashMap<i64, Vec<String>>, usize)> {
        let spill = Arc::clone(&ctx.spill);
        let batches = Executor::new(ctx).collect(plan)?;
        let mut out = HashMap::new();
        for b in &batches {
            let ids = b.column(3).as_primitive::<Int64Type>();
            for i in 0..b.num_rows() {
                let cells = (4..b.num_columns())
                    .map(|c| {
                        let a = b.column(c);
                        if a.is_null(i) {
                            "NULL".to_string()
                        } else {
                            arrow::util::display::array_value_to_string(a, i).unwrap()
                        }
                    })
                    .collect();
                out.insert(ids.value(i), cells);
            }
        }
        Ok((out, spill.metrics().spill_count()))
    }

    #[test]
    fn spills_under_a_memory_limit_with_the_same_answer() {
        let rows = gen_rows(20_000, 50, 7);
        let exprs = vec![
            call(
                WindowFunc::RowNumber,
                vec![],
                WindowFrame::default(),
                DataType::Int64,
            ),
            call(
                WindowFunc::Aggregate(AggFunc::Sum),
                vec![2],
                rows_frame(
                    WindowFrameBound::Preceding(ScalarValue::Int64(Some(3))),
                    WindowFrameBound::CurrentRow,
                ),
                DataType::Int64,
            ),
            call(
                WindowFunc::Lag,
                vec![2],
                WindowFrame::default(),
                DataType::Int64,
            ),
        ];
        let plan = || {
            let exec = WindowExec::try_new(
                vec![PhysicalExpr::Column(0)],
                vec![asc(1), asc(3)],
                exprs.clone(),
                schema(),
            )
            .unwrap();
            PhysicalPlan::Sink {
                input: Box::new(source(&rows, 4)),
                sink: Arc::new(exec),
            }
        };
        let (want, spills) = run_with(
            &plan(),
            TaskContext::new(SessionConfig::new().with_threads(2)),
        )
        .unwrap();
        assert_eq!(want.len(), rows.len());
        assert_eq!(spills, 0);
        for threads in [1, 3] {
            // ~700 KB of input under a 400 KB limit; a bucket (1/16 to 1/24) fits.
            let limited = SessionConfig::new()
                .with_threads(threads)
                .with_memory_limit(400_000);
            let forced = SessionConfig::new()
                .with_threads(threads)
                .with_force_spill(true);
            for config in [limited, forced] {
                let what = format!("{threads} threads, {config:?}");
                let (got, spills) = run_with(&plan(), TaskContext::new(config)).unwrap();
                assert!(spills > 0, "{what}: nothing spilled");
                assert!(got == want, "{what}: answers differ");
            }
        }
    }

    /// Functions and frames the segment-by-segment evaluation covers, with `v` (column 2) as
    /// argument where there is one.
    fn external_exprs() -> Vec<WindowFunctionExpr> {
        use WindowFrameBound::{
            CurrentRow, Following, Preceding, UnboundedFollowing, UnboundedPreceding,
        };
        let n = |k: i64| ScalarValue::Int64(Some(k));
        let lit = |k: i64| PhysicalExpr::Literal(ScalarValue::Int64(Some(k)));
        let agg = |f: AggFunc, frame: WindowFrame, t: DataType| {
            call(WindowFunc::Aggregate(f), vec![2], frame, t)
        };
        let rows = |s, e| rows_frame(s, e);
        let whole = || rows(UnboundedPreceding, UnboundedFollowing);
        let running = WindowFrame::default;
        let int = DataType::Int64;
        let float = DataType::Float64;
        let mut exprs = vec![
            call(WindowFunc::RowNumber, vec![], running(), int.clone()),
            call(WindowFunc::Rank, vec![], running(), int.clone()),
            call(WindowFunc::DenseRank, vec![], running(), int.clone()),
            call(WindowFunc::PercentRank, vec![], running(), float.clone()),
            call(WindowFunc::CumeDist, vec![], running(), float.clone()),
            call(WindowFunc::Ntile, vec![], running(), int.clone()),
            call(WindowFunc::Lag, vec![2], running(), int.clone()),
            call(WindowFunc::Lead, vec![2], running(), int.clone()),
            agg(AggFunc::Sum, running(), int.clone()),
            agg(
                AggFunc::Count,
                rows(UnboundedPreceding, CurrentRow),
                int.clone(),
            ),
            agg(
                AggFunc::Avg,
                rows(UnboundedPreceding, Following(n(1))),
                float.clone(),
            ),
            agg(AggFunc::Min, running(), int.clone()),
            agg(
                AggFunc::Max,
                rows(UnboundedPreceding, Following(n(2))),
                int.clone(),
            ),
            agg(
                AggFunc::VarSamp,
                rows(UnboundedPreceding, CurrentRow),
                float.clone(),
            ),
            agg(AggFunc::StddevPop, whole(), float.clone()),
            agg(AggFunc::Sum, whole(), int.clone()),
            agg(AggFunc::Min, whole(), int.clone()),
            call(
                WindowFunc::Aggregate(AggFunc::CountStar),
                vec![],
                whole(),
                int.clone(),
            ),
            call(WindowFunc::FirstValue, vec![2], running(), int.clone()),
            call(WindowFunc::LastValue, vec![2], running(), int.clone()),
            call(WindowFunc::NthValue, vec![2], running(), int.clone()),
            call(WindowFunc::LastValue, vec![2], whole(), int.clone()),
            call(WindowFunc::NthValue, vec![2], whole(), int.clone()),
            agg(
                AggFunc::Sum,
                rows(Preceding(n(2)), Following(n(1))),
                int.clone(),
            ),
            agg(
                AggFunc::Max,
                rows(Preceding(n(3)), Preceding(n(1))),
                int.clone(),
            ),
            agg(
                AggFunc::Avg,
                WindowFrame {
                    units: WindowFrameUnits::Range,
                    start: CurrentRow,
                    end: CurrentRow,
                },
                float.clone(),
            ),
            call(
                WindowFunc::FirstValue,
                vec![2],
                rows(Following(n(1)), Following(n(3))),
                int.clone(),
            ),
            agg(AggFunc::Count, running(), int.clone()),
            call(
                WindowFunc::Aggregate(AggFunc::CountStar),
                vec![],
                running(),
                int.clone(),
            ),
            agg(AggFunc::Sum, rows(UnboundedPreceding, CurrentRow), int),
        ];
        exprs[5].args = vec![lit(3)];
        exprs[7].args = vec![PhysicalExpr::Column(2), lit(2), lit(-1)];
        for i in [20, 22] {
            exprs[i].args = vec![PhysicalExpr::Column(2), lit(if i == 20 { 3 } else { 2 })];
        }
        for (i, e) in exprs.iter_mut().enumerate() {
            e.name = format!("f{i}");
        }
        exprs
    }

    /// Cells equal, numbers to 9 significant digits (sums of floats in another order).
    fn same_cells(a: &HashMap<i64, Vec<String>>, b: &HashMap<i64, Vec<String>>) -> Option<String> {
        if a.len() != b.len() {
            return Some(format!("{} rows against {}", a.len(), b.len()));
        }
        for (id, x) in a {
            let Some(y) = b.get(id) else {
                return Some(format!("id {id} missing"));
            };
            for (c, (p, q)) in x.iter().zip(y).enumerate() {
                let close = match (p.parse::<f64>(), q.parse::<f64>()) {
                    (Ok(u), Ok(v)) => (u - v).abs() <= 1e-9 * u.abs().max(v.abs()).max(1.0),
                    _ => p == q,
                };
                if !close {
                    return Some(format!("id {id}, f{c}: {p} against {q}"));
                }
            }
        }
        None
    }

    #[test]
    fn segment_by_segment_matches_in_memory() {
        let exprs = external_exprs();
        let orders: [Vec<PhysicalSortExpr>; 3] = [vec![asc(1)], vec![asc(1), asc(3)], vec![]];
        for (rows, keys) in [(gen_rows(2_000, 7, 3), 7), (gen_rows(3_000, 1, 5), 1)] {
            for partition_by in [vec![0], vec![]] {
                for order_by in &orders {
                    let exprs: Vec<_> = if order_by.is_empty() {
                        // ROWS frames over unordered rows depend on the input order.
                        exprs
                            .iter()
                            .filter(|e| {
                                e.frame.units == WindowFrameUnits::Range || e.func.ignores_frame()
                            })
                            .filter(|e| {
                                !matches!(
                                    e.func,
                                    WindowFunc::Lag
                                        | WindowFunc::Lead
                                        | WindowFunc::RowNumber
                                        | WindowFunc::Ntile
                                        | WindowFunc::FirstValue
                                        | WindowFunc::LastValue
                                        | WindowFunc::NthValue
                                )
                            })
                            .cloned()
                            .collect()
                    } else {
                        exprs.clone()
                    };
                    let plan = || {
                        let exec = WindowExec::try_new(
                            partition_by
                                .iter()
                                .map(|c| PhysicalExpr::Column(*c))
                                .collect(),
                            order_by.clone(),
                            exprs.clone(),
                            schema(),
                        )
                        .unwrap();
                        PhysicalPlan::Sink {
                            input: Box::new(source(&rows, 3)),
                            sink: Arc::new(exec),
                        }
                    };
                    let what = format!(
                        "{keys} keys, partition by {partition_by:?}, {} order keys",
                        order_by.len()
                    );
                    let (want, _) = run_with(
                        &plan(),
                        TaskContext::new(SessionConfig::new().with_threads(2)),
                    )
                    .unwrap();
                    for threads in [1, 3] {
                        let forced = SessionConfig::new()
                            .with_threads(threads)
                            .with_force_spill(true);
                        let (got, spills) = run_with(&plan(), TaskContext::new(forced)).unwrap();
                        assert!(spills > 0, "{what}: nothing spilled");
                        if let Some(d) = same_cells(&want, &got) {
                            panic!("{what}, {threads} threads, forced: {d}");
                        }
                    }
                    // A limit the one big bucket does not fit in: segments of hundreds of rows.
                    if partition_by.is_empty() || keys == 1 {
                        let limited = SessionConfig::new()
                            .with_threads(2)
                            .with_memory_limit(150_000);
                        let (got, spills) = run_with(&plan(), TaskContext::new(limited)).unwrap();
                        assert!(spills > 0, "{what}: nothing spilled under the limit");
                        if let Some(d) = same_cells(&want, &got) {
                            panic!("{what}, limited: {d}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn ntile_matches_duckdb() {
        let got: Vec<i64> = (0..10).map(|r| ntile(r, 10, 3)).collect();
        assert_eq!(got, [1, 1, 1, 1, 2, 2, 2, 3, 3, 3]);
        let got: Vec<i64> = (0..10).map(|r| ntile(r, 10, 4)).collect();
        assert_eq!(got, [1, 1, 1, 2, 2, 2, 3, 3, 4, 4]);
        let got: Vec<i64> = (0..3).map(|r| ntile(r, 3, 5)).collect();
        assert_eq!(got, [1, 2, 3]);
    }

    #[test]
    fn empty_input() {
        let exprs = vec![
            call(
                WindowFunc::RowNumber,
                vec![],
                WindowFrame::default(),
                DataType::Int64,
            ),
            call(
                WindowFunc::Aggregate(AggFunc::Sum),
                vec![2],
                WindowFrame::default(),
                DataType::Int64,
            ),
        ];
        for threads in [1, 4] {
            let out = run(&[], vec![0], vec![asc(1)], exprs.clone(), threads, 1).unwrap();
            assert!(out.is_empty());
            let out = run(&[], vec![], vec![], exprs.clone(), threads, 1).unwrap();
            assert!(out.is_empty());
        }
    }

    #[test]
    fn one_row() {
        let rows = [(Some(1), Some(2), Some(3), 0)];
        let exprs = vec![
            call(
                WindowFunc::RowNumber,
                vec![],
                WindowFrame::default(),
                DataType::Int64,
            ),
            call(
                WindowFunc::Rank,
                vec![],
                WindowFrame::default(),
                DataType::Int64,
            ),
            call(
                WindowFunc::PercentRank,
                vec![],
                WindowFrame::default(),
                DataType::Float64,
            ),
            call(
                WindowFunc::CumeDist,
                vec![],
                WindowFrame::default(),
                DataType::Float64,
            ),
            call(
                WindowFunc::Lag,
                vec![2],
                WindowFrame::default(),
                DataType::Int64,
            ),
            call(
                WindowFunc::Aggregate(AggFunc::Sum),
                vec![2],
                WindowFrame::default(),
                DataType::Int64,
            ),
            call(
                WindowFunc::Aggregate(AggFunc::Avg),
                vec![2],
                WindowFrame::default(),
                DataType::Float64,
            ),
            call(
                WindowFunc::Aggregate(AggFunc::Max),
                vec![2],
                rows_frame(
                    WindowFrameBound::Following(ScalarValue::Int64(Some(1))),
                    WindowFrameBound::UnboundedFollowing,
                ),
                DataType::Int64,
            ),
        ];
        let out = run(&rows, vec![0], vec![asc(1)], exprs, 2, 1).unwrap();
        assert_eq!(
            out[&0],
            ["1", "1", "0.0", "1.0", "NULL", "3", "3.0", "NULL"]
        );
    }

    /// A naive O(n^2) evaluation: rows sorted by (k, o, id) per partition k.
    fn reference(rows: &[Row]) -> HashMap<i64, Vec<String>> {
        let mut sorted: Vec<&Row> = rows.iter().collect();
        let key = |r: &Row| (r.0.is_none(), r.0, r.1.is_none(), r.1, r.3);
        sorted.sort_by_key(|r| key(r));
        let mut out = HashMap::new();
        let opt = |v: Option<i64>| v.map_or("NULL".to_string(), |x| x.to_string());
        let mut start = 0;
        while start < sorted.len() {
            let mut end = start;
            while end < sorted.len() && sorted[end].0 == sorted[start].0 {
                end += 1;
            }
            let part = &sorted[start..end];
            for (i, r) in part.iter().enumerate() {
                let rank = part.iter().position(|p| p.1 == r.1).unwrap_or(0) + 1;
                let lo = i.saturating_sub(2);
                let hi = (i + 2).min(part.len());
                let frame: Vec<i64> = part[lo..hi].iter().filter_map(|p| p.2).collect();
                let sum = (!frame.is_empty()).then(|| frame.iter().sum::<i64>());
                let min = frame.iter().min().copied();
                let max = frame.iter().max().copied();
                let lead2 = part.get(i + 2).map_or(Some(-1), |p| p.2);
                let last_peer = part.iter().rposition(|p| p.1 == r.1).unwrap_or(i);
                let running: Vec<i64> = part[..=last_peer].iter().filter_map(|p| p.2).collect();
                out.insert(
                    r.3,
                    vec![
                        (i + 1).to_string(),
                        rank.to_string(),
                        opt(sum),
                        opt(min),
                        opt(max),
                        opt(lead2),
                        running.len().to_string(),
                    ],
                );
            }
            start = end;
        }
        out
    }

    #[test]
    fn matches_a_naive_reference() {
        let frame = rows_frame(
            WindowFrameBound::Preceding(ScalarValue::Int64(Some(2))),
            WindowFrameBound::Following(ScalarValue::Int64(Some(1))),
        );
        let exprs = vec![
            call(
                WindowFunc::RowNumber,
                vec![],
                WindowFrame::default(),
                DataType::Int64,
            ),
            call(
                WindowFunc::Rank,
                vec![],
                WindowFrame::default(),
                DataType::Int64,
            ),
            call(
                WindowFunc::Aggregate(AggFunc::Sum),
                vec![2],
                frame.clone(),
                DataType::Int64,
            ),
            call(
                WindowFunc::Aggregate(AggFunc::Min),
                vec![2],
                frame.clone(),
                DataType::Int64,
            ),
            call(
                WindowFunc::Aggregate(AggFunc::Max),
                vec![2],
                frame,
                DataType::Int64,
            ),
            call(
                WindowFunc::Lead,
                vec![2, 4, 5],
                WindowFrame::default(),
                DataType::Int64,
            ),
            call(
                WindowFunc::Aggregate(AggFunc::Count),
                vec![2],
                WindowFrame::default(),
                DataType::Int64,
            ),
        ];
        // lead(v, 2, -1)
        let mut exprs = exprs;
        exprs[5].args = vec![
            PhysicalExpr::Column(2),
            PhysicalExpr::Literal(ScalarValue::Int64(Some(2))),
            PhysicalExpr::Literal(ScalarValue::Int64(Some(-1))),
        ];
        // Ordered by (o, id), every row is its own peer group; rank and the default running
        // frame are checked below against a window ordered by `o` alone.
        let order = vec![asc(1), asc(3)];
        for (n, keys) in [(1, 3), (300, 4), (300, 1), (500, 40)] {
            let rows = gen_rows(n, keys, n as u64 + keys);
            let want = reference(&rows);
            for (threads, parts) in [(1, 1), (4, 3)] {
                let got =
                    run(&rows, vec![0], order.clone(), exprs.clone(), threads, parts).unwrap();
                assert_eq!(got.len(), want.len());
                for (id, w) in &want {
                    let g = &got[id];
                    assert_eq!(g[0], w[0], "row_number id {id}");
                    assert_eq!(g[2..6], w[2..6], "frame aggregates / lead of id {id}");
                }
                // rank and the default running frame by `o` alone (peers included).
                let by_o = vec![
                    call(
                        WindowFunc::Rank,
                        vec![],
                        WindowFrame::default(),
                        DataType::Int64,
                    ),
                    call(
                        WindowFunc::Aggregate(AggFunc::Count),
                        vec![2],
                        WindowFrame::default(),
                        DataType::Int64,
                    ),
                ];
                let got = run(&rows, vec![0], vec![asc(1)], by_o, threads, parts).unwrap();
                for (id, w) in &want {
                    assert_eq!(got[id][0], w[1], "rank of id {id}");
                    assert_eq!(got[id][1], w[6], "running count of id {id}");
                }
            }
        }
    }

    #[test]
    fn whole_table_window_and_range_offsets() {
        // No PARTITION BY: one partition; RANGE 3 PRECEDING .. 3 FOLLOWING on `o`.
        let rows = gen_rows(200, 5, 7);
        let frame = WindowFrame {
            units: WindowFrameUnits::Range,
            start: WindowFrameBound::Preceding(ScalarValue::Int64(Some(3))),
            end: WindowFrameBound::Following(ScalarValue::Int64(Some(3))),
        };
        let exprs = vec![call(
            WindowFunc::Aggregate(AggFunc::CountStar),
            vec![],
            frame,
            DataType::Int64,
        )];
        let got = run(&rows, vec![], vec![asc(1)], exprs, 4, 3).unwrap();
        for r in &rows {
            let want = match r.1 {
                None => rows.iter().filter(|x| x.1.is_none()).count(),
                Some(o) => rows
                    .iter()
                    .filter(|x| x.1.is_some_and(|p| (p - o).abs() <= 3))
                    .count(),
            };
            assert_eq!(got[&r.3][0], want.to_string(), "row {r:?}");
        }
    }

    #[test]
    fn float_sums_survive_removal() {
        let schema = Arc::new(Schema::new(vec![Field::new("f", DataType::Float64, true)]));
        let values = Float64Array::from(vec![
            Some(1e16),
            Some(1.0),
            None,
            Some(-1e16),
            Some(2.5),
            Some(f64::INFINITY),
            Some(1.0),
        ]);
        let batch = RecordBatch::try_new(Arc::clone(&schema), vec![Arc::new(values)]).unwrap();
        let frame = rows_frame(
            WindowFrameBound::Preceding(ScalarValue::Int64(Some(1))),
            WindowFrameBound::CurrentRow,
        );
        let exec = WindowExec::try_new(
            vec![],
            vec![],
            vec![call(
                WindowFunc::Aggregate(AggFunc::Sum),
                vec![0],
                frame,
                DataType::Float64,
            )],
            Arc::clone(&schema),
        )
        .unwrap();
        let plan = PhysicalPlan::Sink {
            input: Box::new(PhysicalPlan::Source(Arc::new(MemorySource::new(
                schema,
                vec![vec![batch]],
            )))),
            sink: Arc::new(exec),
        };
        let out = Executor::new(TaskContext::new(SessionConfig::new()))
            .collect(&plan)
            .unwrap();
        let sums = out[0].column(1).as_primitive::<Float64Type>();
        let got: Vec<Option<f64>> = (0..sums.len())
            .map(|i| (!sums.is_null(i)).then(|| sums.value(i)))
            .collect();
        assert_eq!(
            got,
            [
                Some(1e16),
                Some(1e16 + 1.0),
                Some(1.0),
                Some(-1e16),
                Some(-1e16 + 2.5),
                Some(f64::INFINITY),
                Some(f64::INFINITY)
            ]
        );
    }

    #[test]
    fn bad_arguments_and_memory_limit() {
        let rows = gen_rows(50, 3, 1);
        let mut ntile = call(
            WindowFunc::Ntile,
            vec![],
            WindowFrame::default(),
            DataType::Int64,
        );
        ntile.args = vec![PhysicalExpr::Literal(ScalarValue::Int64(Some(0)))];
        let e = run(&rows, vec![0], vec![asc(1)], vec![ntile], 2, 2).unwrap_err();
        assert!(
            e.to_string().contains("ntile() needs a positive number"),
            "{e}"
        );

        let frame = rows_frame(
            WindowFrameBound::Preceding(ScalarValue::Int64(Some(-1))),
            WindowFrameBound::CurrentRow,
        );
        let e = WindowExec::try_new(
            vec![],
            vec![asc(1)],
            vec![call(
                WindowFunc::Aggregate(AggFunc::Sum),
                vec![2],
                frame,
                DataType::Int64,
            )],
            schema(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("non-negative integer"), "{e}");

        // A RANGE frame with an offset is not evaluated in segments: a bucket that does not
        // fit is an error that says why.
        let range = WindowFrame {
            units: WindowFrameUnits::Range,
            start: WindowFrameBound::Preceding(ScalarValue::Int64(Some(2))),
            end: WindowFrameBound::CurrentRow,
        };
        let exec = WindowExec::try_new(
            vec![PhysicalExpr::Column(0)],
            vec![asc(1)],
            vec![call(
                WindowFunc::Aggregate(AggFunc::Sum),
                vec![2],
                range,
                DataType::Int64,
            )],
            schema(),
        )
        .unwrap();
        let plan = PhysicalPlan::Sink {
            input: Box::new(source(&gen_rows(5000, 10, 3), 2)),
            sink: Arc::new(exec),
        };
        let config = SessionConfig::new()
            .with_threads(2)
            .with_memory_limit(10_000);
        let e = Executor::new(TaskContext::new(config))
            .collect(&plan)
            .unwrap_err();
        assert!(matches!(e, Error::ResourcesExhausted(_)), "{e}");
        assert!(e.to_string().contains("WindowExec"), "{e}");
        assert!(
            e.to_string()
                .contains("cannot be evaluated in pieces: sum() over a RANGE frame with an offset"),
            "{e}"
        );
    }
}
