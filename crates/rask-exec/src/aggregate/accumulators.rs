//! Grouped accumulators: one state vector per aggregate, indexed by group id, updated a batch
//! at a time with the batch's group ids (no per-row dispatch, no per-row `ScalarValue`).
//!
//! Every accumulator can also merge another accumulator of the same kind (another worker's),
//! group by group, which is how the partition-wise parallel finish combines workers' tables.

use std::any::Any;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BinaryArray, BooleanArray, Float64Array, Int64Array, PrimitiveArray,
    StringArray,
};
use arrow::buffer::{NullBuffer, ScalarBuffer};
use arrow::compute::cast;
use arrow::datatypes::*;
use rask_common::{exec_err, internal_err, plan_err, Error, Result};
use rask_expr::AggFunc;

use super::global_spill::GlobalSpill;
use super::group_keys::int_like_primitive;
use super::holistic::{DistinctAcc, MedianAcc, StringAggAcc, ValueAcc, ValuePick};

/// A grouped accumulator.
pub(crate) trait GroupsAcc: Send + Sync {
    /// Adds rows: `args` are the aggregate's argument columns, `ids[i]` the group of row `i`
    /// (every id `< num_groups`), `ord` the input position of row 0 (for order-sensitive
    /// aggregates; rows of one batch follow in order).
    fn update(&mut self, args: &[ArrayRef], ids: &[u32], num_groups: usize, ord: u64)
        -> Result<()>;
    /// Called once on a worker's accumulator before others merge it.
    fn freeze(&mut self) -> Result<()> {
        Ok(())
    }
    /// Merges `other`'s group `src[i]` into this accumulator's group `dst[i]`.
    fn merge_from(
        &mut self,
        other: &dyn GroupsAcc,
        src: &[u32],
        dst: &[u32],
        num_groups: usize,
    ) -> Result<()>;
    /// The final values of groups `0..num_groups`.
    fn evaluate(&mut self, num_groups: usize) -> Result<ArrayRef>;
    /// Approximate heap bytes held.
    fn size(&self) -> usize;
    /// For downcasting in `merge_from`.
    fn as_any(&self) -> &dyn Any;
    /// Takes the partial state of groups `0..num_groups` as columns (to spill them) and
    /// leaves the accumulator empty; `None` when this aggregate cannot spill.
    fn take_state(&mut self, _num_groups: usize) -> Result<Option<Vec<ArrayRef>>> {
        Ok(None)
    }
    /// A new accumulator like this one holding `state` (columns from `take_state`), to be
    /// merged with `merge_from`.
    fn load_state(&self, _state: &[ArrayRef]) -> Result<Box<dyn GroupsAcc>> {
        internal_err!("this aggregate cannot be spilled")
    }
    /// Writes the values of a global aggregation's one group out to `to` and keeps the
    /// files (which `merge_from` shares and `evaluate` reads); whether it wrote anything.
    /// Only called on a global aggregation's accumulators (see `global_spill`).
    fn spill_global(&mut self, _to: &GlobalSpill) -> Result<bool> {
        Ok(false)
    }
}

/// A state column from a vector of natives.
pub(crate) fn state_col<T: ArrowPrimitiveType>(v: Vec<T::Native>) -> ArrayRef {
    Arc::new(PrimitiveArray::<T>::new(ScalarBuffer::from(v), None))
}

/// A state column from flags.
pub(crate) fn state_flags(v: &[bool]) -> ArrayRef {
    Arc::new(BooleanArray::from(v.to_vec()))
}

/// State column `i` read back as natives.
pub(crate) fn state_vec<T: ArrowPrimitiveType>(
    state: &[ArrayRef],
    i: usize,
) -> Result<Vec<T::Native>> {
    match state.get(i).and_then(|a| a.as_primitive_opt::<T>()) {
        Some(a) => Ok(a.values().to_vec()),
        None => internal_err!("spilled aggregate state column {i} has the wrong type"),
    }
}

/// State column `i` read back as flags.
pub(crate) fn state_bools(state: &[ArrayRef], i: usize) -> Result<Vec<bool>> {
    match state.get(i).and_then(|a| a.as_boolean_opt()) {
        Some(a) => Ok(a.values().iter().collect()),
        None => internal_err!("spilled aggregate state column {i} has the wrong type"),
    }
}

/// What an accumulator needs to know about its aggregate.
#[derive(Debug, Clone)]
pub(crate) struct AccSpec {
    pub func: AggFunc,
    pub distinct: bool,
    pub return_type: DataType,
    /// `string_agg`'s separator.
    pub separator: String,
    /// `quantile_cont`'s fraction (0.5 otherwise).
    pub quantile: f64,
}

/// Creates the accumulator for `spec` over arguments of `arg_types`.
pub(crate) fn create_accumulator(
    spec: &AccSpec,
    arg_types: &[DataType],
) -> Result<Box<dyn GroupsAcc>> {
    use AggFunc::*;
    let first = arg_types.first().map(value_type);
    let distinct_matters = !matches!(spec.func, Min | Max | AnyValue | CountStar);
    if spec.distinct && distinct_matters {
        let Some(t) = first else {
            return plan_err!("{}(DISTINCT) needs an argument", spec.func.name());
        };
        return Ok(Box::new(DistinctAcc::new(spec.clone(), t)));
    }
    let need = |n: usize| -> Result<()> {
        if arg_types.len() < n {
            return plan_err!("{}() needs {n} argument(s)", spec.func.name());
        }
        Ok(())
    };
    Ok(match spec.func {
        CountStar => Box::new(CountAcc::new(true)),
        Count => Box::new(CountAcc::new(arg_types.is_empty())),
        Sum => match &spec.return_type {
            DataType::Int64 => Box::new(SumAcc::<Int64Type>::new(DataType::Int64)),
            DataType::Float64 => Box::new(SumAcc::<Float64Type>::new(DataType::Float64)),
            t @ DataType::Decimal128(_, _) => Box::new(SumAcc::<Decimal128Type>::new(t.clone())),
            t => return plan_err!("sum() returning {t} is not supported"),
        },
        Avg => {
            need(1)?;
            match first.unwrap_or(DataType::Null) {
                t if t.is_integer() => Box::new(AvgExact::new(DataType::Int64, 0)),
                DataType::Decimal128(p, s) => {
                    Box::new(AvgExact::new(DataType::Decimal128(p, s), s))
                }
                _ => Box::new(AvgFloat::new()),
            }
        }
        Min | Max => {
            need(1)?;
            let t = first.unwrap_or(DataType::Null);
            let min = spec.func == Min;
            match &t {
                DataType::Null => Box::new(NullAcc(DataType::Null)),
                DataType::Boolean => Box::new(MinMaxBool::new(min)),
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
                    Box::new(MinMaxBytes::new(min, false))
                }
                DataType::Binary | DataType::LargeBinary | DataType::BinaryView => {
                    Box::new(MinMaxBytes::new(min, true))
                }
                t => int_like_primitive!(t, T => {
                    if min {
                        Box::new(MinMaxPrim::<T, true>::new(t.clone()))
                    } else {
                        Box::new(MinMaxPrim::<T, false>::new(t.clone()))
                    }
                }, _ => return Err(Error::NotImplemented(format!("{}() of {t}", spec.func.name())))),
            }
        }
        VarSamp | VarPop | StddevSamp | StddevPop => {
            need(1)?;
            Box::new(VarAcc::new(spec.func))
        }
        Corr => {
            need(2)?;
            Box::new(CorrAcc::new(Corr))
        }
        Median => {
            need(1)?;
            Box::new(MedianAcc::default())
        }
        First | Last | AnyValue => {
            need(1)?;
            let pick = match spec.func {
                First => ValuePick::First,
                Last => ValuePick::Last,
                _ => ValuePick::AnyNonNull,
            };
            Box::new(ValueAcc::new(pick, first.unwrap_or(DataType::Null)))
        }
        StringAgg => {
            need(1)?;
            Box::new(StringAggAcc::new(spec.separator.clone()))
        }
        // transform branch
        Quantile => {
            need(1)?;
            Box::new(MedianAcc::quantile(spec.quantile))
        }
        CovarSamp | CovarPop => {
            need(2)?;
            Box::new(CorrAcc::new(spec.func))
        }
    })
}

/// The type values are read as: dictionaries by their values.
pub(crate) fn value_type(t: &DataType) -> DataType {
    match t {
        DataType::Dictionary(_, v) => v.as_ref().clone(),
        t => t.clone(),
    }
}

/// `a` as `to`, casting only when the physical layout differs (a decimal of another precision
/// but the same scale is read as it is).
pub(crate) fn prepare(a: &ArrayRef, to: &DataType) -> Result<ArrayRef> {
    match (a.data_type(), to) {
        (f, t) if f == t => Ok(Arc::clone(a)),
        (DataType::Decimal128(_, s1), DataType::Decimal128(_, s2)) if s1 == s2 => Ok(Arc::clone(a)),
        _ => Ok(cast(a, to)?),
    }
}

pub(crate) fn arg(args: &[ArrayRef], i: usize) -> Result<&ArrayRef> {
    match args.get(i) {
        Some(a) => Ok(a),
        None => internal_err!("aggregate argument {i} missing"),
    }
}

pub(crate) fn downcast<T: 'static>(other: &dyn GroupsAcc) -> Result<&T> {
    match other.as_any().downcast_ref::<T>() {
        Some(o) => Ok(o),
        None => internal_err!("merging accumulators of different kinds"),
    }
}

/// Validity of `a` when it has nulls.
pub(crate) fn nulls_of(a: &dyn Array) -> Option<NullBuffer> {
    a.logical_nulls().filter(|n| n.null_count() > 0)
}

/// Calls `f(row, group)` for every row whose value is not NULL.
#[inline(always)]
pub(crate) fn for_each_valid(
    ids: &[u32],
    nulls: Option<&NullBuffer>,
    mut f: impl FnMut(usize, usize),
) {
    match nulls {
        None => {
            for (i, &g) in ids.iter().enumerate() {
                f(i, g as usize)
            }
        }
        Some(n) => {
            for i in n.valid_indices() {
                f(i, ids[i] as usize)
            }
        }
    }
}

fn seen_nulls(seen: &[bool]) -> Option<NullBuffer> {
    if seen.iter().all(|&s| s) {
        None
    } else {
        Some(NullBuffer::from(seen.to_vec()))
    }
}

// ---------------------------------------------------------------------------------------------
// count

/// `count(x)` / `count(*)`.
pub(crate) struct CountAcc {
    star: bool,
    counts: Vec<i64>,
}

impl CountAcc {
    fn new(star: bool) -> Self {
        CountAcc {
            star,
            counts: Vec::new(),
        }
    }
}

impl GroupsAcc for CountAcc {
    fn update(&mut self, args: &[ArrayRef], ids: &[u32], n: usize, _ord: u64) -> Result<()> {
        self.counts.resize(n, 0);
        let counts = &mut self.counts;
        let nulls = if self.star {
            None
        } else {
            nulls_of(arg(args, 0)?.as_ref())
        };
        match nulls {
            None => ids.iter().for_each(|&g| counts[g as usize] += 1),
            Some(nb) => {
                for (i, &g) in ids.iter().enumerate() {
                    counts[g as usize] += nb.is_valid(i) as i64;
                }
            }
        }
        Ok(())
    }

    fn merge_from(
        &mut self,
        other: &dyn GroupsAcc,
        src: &[u32],
        dst: &[u32],
        n: usize,
    ) -> Result<()> {
        let o = downcast::<Self>(other)?;
        self.counts.resize(n, 0);
        for (&s, &d) in src.iter().zip(dst) {
            self.counts[d as usize] += o.counts[s as usize];
        }
        Ok(())
    }

    fn evaluate(&mut self, n: usize) -> Result<ArrayRef> {
        let mut c = std::mem::take(&mut self.counts);
        c.resize(n, 0);
        Ok(Arc::new(Int64Array::from(c)))
    }

    fn size(&self) -> usize {
        self.counts.capacity() * 8
    }

    fn take_state(&mut self, n: usize) -> Result<Option<Vec<ArrayRef>>> {
        let mut c = std::mem::take(&mut self.counts);
        c.resize(n, 0);
        Ok(Some(vec![state_col::<Int64Type>(c)]))
    }

    fn load_state(&self, state: &[ArrayRef]) -> Result<Box<dyn GroupsAcc>> {
        Ok(Box::new(CountAcc {
            star: self.star,
            counts: state_vec::<Int64Type>(state, 0)?,
        }))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

// ---------------------------------------------------------------------------------------------
// sum

/// A native type sums accumulate in.
pub(crate) trait SumNative: ArrowNativeType {
    /// Whether sums are exact, whatever the order of the adds (integers, not floats).
    const EXACT: bool;
    /// `a + b` and whether it overflowed.
    fn add_ovf(a: Self, b: Self) -> (Self, bool);
}

impl SumNative for i64 {
    const EXACT: bool = true;
    #[inline(always)]
    fn add_ovf(a: Self, b: Self) -> (Self, bool) {
        a.overflowing_add(b)
    }
}
impl SumNative for i128 {
    const EXACT: bool = true;
    #[inline(always)]
    fn add_ovf(a: Self, b: Self) -> (Self, bool) {
        a.overflowing_add(b)
    }
}
impl SumNative for f64 {
    const EXACT: bool = false;
    #[inline(always)]
    fn add_ovf(a: Self, b: Self) -> (Self, bool) {
        (a + b, false)
    }
}

/// Most groups [`add_few_groups`] takes.
const FEW_GROUPS: usize = 16;
/// Its lanes.
const LANES: usize = 4;

/// Adds `values[i]` to `sums[ids[i]]` and, with `COUNT`, counts each row in `counts[ids[i]]`,
/// for every row (no NULL), every id below `sums.len()`, at most [`FEW_GROUPS`]. Returns the
/// groups present (bit `g`) and whether an add overflowed.
///
/// With few groups, rows of one group follow each other, and each add waits for the last
/// through memory (TPC-H Q1: four groups, six million rows). Here [`LANES`] local sums per
/// group, each taking every fourth row, run four such chains at once; then they are added up.
/// Integer sums only: the order of float adds changes their rounding.
fn add_few_groups<T: SumNative, const COUNT: bool>(
    ids: &[u32],
    values: &[T],
    sums: &mut [T],
    counts: &mut [u64],
) -> (u32, bool) {
    let mut lanes = [[T::default(); FEW_GROUPS]; LANES];
    let mut tallies = [[0u64; FEW_GROUPS]; LANES];
    let mut present = 0u32;
    let mut ovf = false;
    let n = ids.len().min(values.len());
    let whole = n - n % LANES;
    for (g4, v4) in ids[..whole]
        .chunks_exact(LANES)
        .zip(values[..whole].chunks_exact(LANES))
    {
        for l in 0..LANES {
            // Every id is below FEW_GROUPS: the mask only spares the bounds check.
            let g = g4[l] as usize & (FEW_GROUPS - 1);
            let (s, o) = T::add_ovf(lanes[l][g], v4[l]);
            lanes[l][g] = s;
            ovf |= o;
            if COUNT {
                tallies[l][g] += 1;
            }
            present |= 1 << g;
        }
    }
    for (&g, &v) in ids[whole..n].iter().zip(&values[whole..n]) {
        let g = g as usize & (FEW_GROUPS - 1);
        let (s, o) = T::add_ovf(lanes[0][g], v);
        lanes[0][g] = s;
        ovf |= o;
        if COUNT {
            tallies[0][g] += 1;
        }
        present |= 1 << g;
    }
    for (g, sum) in sums.iter_mut().enumerate() {
        for lane in &lanes {
            let (s, o) = T::add_ovf(*sum, lane[g]);
            *sum = s;
            ovf |= o;
        }
    }
    for (g, count) in counts.iter_mut().enumerate() {
        *count += tallies.iter().map(|t| t[g]).sum::<u64>();
    }
    (present, ovf)
}

/// `sum(x)` over Int64 (checked), Float64 or Decimal128(38, s) (checked).
pub(crate) struct SumAcc<O: ArrowPrimitiveType> {
    out: DataType,
    sums: Vec<O::Native>,
    seen: Vec<bool>,
}

impl<O: ArrowPrimitiveType> SumAcc<O>
where
    O::Native: SumNative,
{
    fn new(out: DataType) -> Self {
        SumAcc {
            out,
            sums: Vec::new(),
            seen: Vec::new(),
        }
    }

    fn overflow(&self) -> Error {
        Error::Execution(format!(
            "sum() overflowed {}: cast the argument to a wider DECIMAL or to DOUBLE",
            self.out
        ))
    }
}

impl<O: ArrowPrimitiveType> GroupsAcc for SumAcc<O>
where
    O::Native: SumNative,
{
    fn update(&mut self, args: &[ArrayRef], ids: &[u32], n: usize, _ord: u64) -> Result<()> {
        let a = prepare(arg(args, 0)?, &self.out)?;
        let a = a.as_primitive::<O>();
        let nulls = nulls_of(a);
        let values = a.values();
        self.sums.resize(n, O::Native::default());
        self.seen.resize(n, false);
        let (sums, seen) = (&mut self.sums, &mut self.seen);
        let mut ovf = false;
        if O::Native::EXACT && nulls.is_none() && n <= FEW_GROUPS {
            let (present, o) = add_few_groups::<_, false>(ids, values, sums, &mut []);
            ovf = o;
            for (g, seen) in seen.iter_mut().enumerate() {
                *seen |= present >> g & 1 == 1;
            }
        } else {
            for_each_valid(ids, nulls.as_ref(), |i, g| {
                let (s, o) = O::Native::add_ovf(sums[g], values[i]);
                sums[g] = s;
                ovf |= o;
                seen[g] = true;
            });
        }
        if ovf {
            return Err(self.overflow());
        }
        Ok(())
    }

    fn merge_from(
        &mut self,
        other: &dyn GroupsAcc,
        src: &[u32],
        dst: &[u32],
        n: usize,
    ) -> Result<()> {
        let o = downcast::<Self>(other)?;
        self.sums.resize(n, O::Native::default());
        self.seen.resize(n, false);
        let mut ovf = false;
        for (&s, &d) in src.iter().zip(dst) {
            let (s, d) = (s as usize, d as usize);
            if o.seen[s] {
                let (v, f) = O::Native::add_ovf(self.sums[d], o.sums[s]);
                self.sums[d] = v;
                ovf |= f;
                self.seen[d] = true;
            }
        }
        if ovf {
            return Err(self.overflow());
        }
        Ok(())
    }

    fn evaluate(&mut self, n: usize) -> Result<ArrayRef> {
        let mut sums = std::mem::take(&mut self.sums);
        let mut seen = std::mem::take(&mut self.seen);
        sums.resize(n, O::Native::default());
        seen.resize(n, false);
        let a = PrimitiveArray::<O>::new(ScalarBuffer::from(sums), seen_nulls(&seen))
            .with_data_type(self.out.clone());
        if let DataType::Decimal128(p, _) = self.out {
            if a.as_any()
                .downcast_ref::<PrimitiveArray<Decimal128Type>>()
                .is_some_and(|d| d.validate_decimal_precision(p).is_err())
            {
                return Err(self.overflow());
            }
        }
        Ok(Arc::new(a))
    }

    fn size(&self) -> usize {
        self.sums.capacity() * size_of::<O::Native>() + self.seen.capacity()
    }

    fn take_state(&mut self, n: usize) -> Result<Option<Vec<ArrayRef>>> {
        let mut sums = std::mem::take(&mut self.sums);
        let mut seen = std::mem::take(&mut self.seen);
        sums.resize(n, O::Native::default());
        seen.resize(n, false);
        Ok(Some(vec![state_col::<O>(sums), state_flags(&seen)]))
    }

    fn load_state(&self, state: &[ArrayRef]) -> Result<Box<dyn GroupsAcc>> {
        Ok(Box::new(SumAcc::<O> {
            out: self.out.clone(),
            sums: state_vec::<O>(state, 0)?,
            seen: state_bools(state, 1)?,
        }))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

// ---------------------------------------------------------------------------------------------
// avg

/// `avg` of integers (read as Int64) or decimals: an exact `i128` sum and a count, divided at
/// the end.
pub(crate) struct AvgExact {
    input: DataType,
    scale: i8,
    sums: Vec<i128>,
    counts: Vec<u64>,
}

impl AvgExact {
    fn new(input: DataType, scale: i8) -> Self {
        AvgExact {
            input,
            scale,
            sums: Vec::new(),
            counts: Vec::new(),
        }
    }
}

impl GroupsAcc for AvgExact {
    fn update(&mut self, args: &[ArrayRef], ids: &[u32], n: usize, _ord: u64) -> Result<()> {
        let a = prepare(arg(args, 0)?, &self.input)?;
        self.sums.resize(n, 0);
        self.counts.resize(n, 0);
        let (sums, counts) = (&mut self.sums, &mut self.counts);
        let nulls = nulls_of(a.as_ref());
        if self.input == DataType::Int64 {
            let values = a.as_primitive::<Int64Type>().values();
            for_each_valid(ids, nulls.as_ref(), |i, g| {
                sums[g] += values[i] as i128;
                counts[g] += 1;
            });
        } else {
            let values = a.as_primitive::<Decimal128Type>().values();
            let mut ovf = false;
            if nulls.is_none() && n <= FEW_GROUPS {
                ovf = add_few_groups::<_, true>(ids, values, sums, counts).1;
            } else {
                for_each_valid(ids, nulls.as_ref(), |i, g| {
                    let (s, o) = sums[g].overflowing_add(values[i]);
                    sums[g] = s;
                    ovf |= o;
                    counts[g] += 1;
                });
            }
            if ovf {
                return exec_err!("avg() of {} overflowed its 128-bit sum", self.input);
            }
        }
        Ok(())
    }

    fn merge_from(
        &mut self,
        other: &dyn GroupsAcc,
        src: &[u32],
        dst: &[u32],
        n: usize,
    ) -> Result<()> {
        let o = downcast::<Self>(other)?;
        self.sums.resize(n, 0);
        self.counts.resize(n, 0);
        for (&s, &d) in src.iter().zip(dst) {
            let (s, d) = (s as usize, d as usize);
            self.sums[d] = match self.sums[d].checked_add(o.sums[s]) {
                Some(v) => v,
                None => return exec_err!("avg() overflowed its 128-bit sum"),
            };
            self.counts[d] += o.counts[s];
        }
        Ok(())
    }

    fn evaluate(&mut self, n: usize) -> Result<ArrayRef> {
        self.sums.resize(n, 0);
        self.counts.resize(n, 0);
        let div = 10f64.powi(self.scale as i32);
        let out: Float64Array = self
            .sums
            .iter()
            .zip(&self.counts)
            .map(|(&s, &c)| {
                (c > 0).then(|| {
                    let c = c as i128;
                    let (q, r) = (s / c, s % c);
                    (q as f64 + r as f64 / c as f64) / div
                })
            })
            .collect();
        Ok(Arc::new(out))
    }

    fn size(&self) -> usize {
        self.sums.capacity() * 16 + self.counts.capacity() * 8
    }

    fn take_state(&mut self, n: usize) -> Result<Option<Vec<ArrayRef>>> {
        let mut sums = std::mem::take(&mut self.sums);
        let mut counts = std::mem::take(&mut self.counts);
        sums.resize(n, 0);
        counts.resize(n, 0);
        Ok(Some(vec![
            state_col::<Decimal128Type>(sums),
            state_col::<UInt64Type>(counts),
        ]))
    }

    fn load_state(&self, state: &[ArrayRef]) -> Result<Box<dyn GroupsAcc>> {
        Ok(Box::new(AvgExact {
            input: self.input.clone(),
            scale: self.scale,
            sums: state_vec::<Decimal128Type>(state, 0)?,
            counts: state_vec::<UInt64Type>(state, 1)?,
        }))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// `avg` of floats.
#[derive(Default)]
pub(crate) struct AvgFloat {
    sums: Vec<f64>,
    counts: Vec<u64>,
}

impl AvgFloat {
    fn new() -> Self {
        Self::default()
    }
}

impl GroupsAcc for AvgFloat {
    fn update(&mut self, args: &[ArrayRef], ids: &[u32], n: usize, _ord: u64) -> Result<()> {
        let a = prepare(arg(args, 0)?, &DataType::Float64)?;
        self.sums.resize(n, 0.0);
        self.counts.resize(n, 0);
        let (sums, counts) = (&mut self.sums, &mut self.counts);
        let nulls = nulls_of(a.as_ref());
        let values = a.as_primitive::<Float64Type>().values();
        for_each_valid(ids, nulls.as_ref(), |i, g| {
            sums[g] += values[i];
            counts[g] += 1;
        });
        Ok(())
    }

    fn merge_from(
        &mut self,
        other: &dyn GroupsAcc,
        src: &[u32],
        dst: &[u32],
        n: usize,
    ) -> Result<()> {
        let o = downcast::<Self>(other)?;
        self.sums.resize(n, 0.0);
        self.counts.resize(n, 0);
        for (&s, &d) in src.iter().zip(dst) {
            self.sums[d as usize] += o.sums[s as usize];
            self.counts[d as usize] += o.counts[s as usize];
        }
        Ok(())
    }

    fn evaluate(&mut self, n: usize) -> Result<ArrayRef> {
        self.sums.resize(n, 0.0);
        self.counts.resize(n, 0);
        let out: Float64Array = self
            .sums
            .iter()
            .zip(&self.counts)
            .map(|(&s, &c)| (c > 0).then(|| s / c as f64))
            .collect();
        Ok(Arc::new(out))
    }

    fn size(&self) -> usize {
        self.sums.capacity() * 8 + self.counts.capacity() * 8
    }

    fn take_state(&mut self, n: usize) -> Result<Option<Vec<ArrayRef>>> {
        let mut sums = std::mem::take(&mut self.sums);
        let mut counts = std::mem::take(&mut self.counts);
        sums.resize(n, 0.0);
        counts.resize(n, 0);
        Ok(Some(vec![
            state_col::<Float64Type>(sums),
            state_col::<UInt64Type>(counts),
        ]))
    }

    fn load_state(&self, state: &[ArrayRef]) -> Result<Box<dyn GroupsAcc>> {
        Ok(Box::new(AvgFloat {
            sums: state_vec::<Float64Type>(state, 0)?,
            counts: state_vec::<UInt64Type>(state, 1)?,
        }))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

// ---------------------------------------------------------------------------------------------
// min / max

/// Ordering for min/max: NaN is larger than every other float (as in DuckDB and Postgres).
pub(crate) trait MinMaxNative: ArrowNativeType {
    fn less(a: Self, b: Self) -> bool;
}

macro_rules! minmax_ord {
    ($($t:ty),*) => {$(
        impl MinMaxNative for $t {
            #[inline(always)]
            fn less(a: Self, b: Self) -> bool { a < b }
        }
    )*};
}
minmax_ord!(i8, i16, i32, i64, i128, u8, u16, u32, u64);

macro_rules! minmax_float {
    ($($t:ty),*) => {$(
        impl MinMaxNative for $t {
            #[inline(always)]
            fn less(a: Self, b: Self) -> bool {
                if a.is_nan() { false } else if b.is_nan() { true } else { a < b }
            }
        }
    )*};
}
minmax_float!(f32, f64);

/// `min`/`max` of a primitive type.
pub(crate) struct MinMaxPrim<T: ArrowPrimitiveType, const MIN: bool> {
    data_type: DataType,
    vals: Vec<T::Native>,
    seen: Vec<bool>,
}

impl<T: ArrowPrimitiveType, const MIN: bool> MinMaxPrim<T, MIN>
where
    T::Native: MinMaxNative,
{
    fn new(data_type: DataType) -> Self {
        MinMaxPrim {
            data_type,
            vals: Vec::new(),
            seen: Vec::new(),
        }
    }

    #[inline(always)]
    fn better(new: T::Native, cur: T::Native) -> bool {
        if MIN {
            T::Native::less(new, cur)
        } else {
            T::Native::less(cur, new)
        }
    }
}

impl<T: ArrowPrimitiveType, const MIN: bool> GroupsAcc for MinMaxPrim<T, MIN>
where
    T::Native: MinMaxNative,
{
    fn update(&mut self, args: &[ArrayRef], ids: &[u32], n: usize, _ord: u64) -> Result<()> {
        let a = prepare(arg(args, 0)?, &self.data_type)?;
        let a = a.as_primitive::<T>();
        let nulls = nulls_of(a);
        let values = a.values();
        self.vals.resize(n, T::Native::default());
        self.seen.resize(n, false);
        let (vals, seen) = (&mut self.vals, &mut self.seen);
        for_each_valid(ids, nulls.as_ref(), |i, g| {
            let v = values[i];
            if !seen[g] || Self::better(v, vals[g]) {
                vals[g] = v;
                seen[g] = true;
            }
        });
        Ok(())
    }

    fn merge_from(
        &mut self,
        other: &dyn GroupsAcc,
        src: &[u32],
        dst: &[u32],
        n: usize,
    ) -> Result<()> {
        let o = downcast::<Self>(other)?;
        self.vals.resize(n, T::Native::default());
        self.seen.resize(n, false);
        for (&s, &d) in src.iter().zip(dst) {
            let (s, d) = (s as usize, d as usize);
            if o.seen[s] && (!self.seen[d] || Self::better(o.vals[s], self.vals[d])) {
                self.vals[d] = o.vals[s];
                self.seen[d] = true;
            }
        }
        Ok(())
    }

    fn evaluate(&mut self, n: usize) -> Result<ArrayRef> {
        let mut vals = std::mem::take(&mut self.vals);
        let mut seen = std::mem::take(&mut self.seen);
        vals.resize(n, T::Native::default());
        seen.resize(n, false);
        Ok(Arc::new(
            PrimitiveArray::<T>::new(ScalarBuffer::from(vals), seen_nulls(&seen))
                .with_data_type(self.data_type.clone()),
        ))
    }

    fn size(&self) -> usize {
        self.vals.capacity() * size_of::<T::Native>() + self.seen.capacity()
    }

    fn take_state(&mut self, n: usize) -> Result<Option<Vec<ArrayRef>>> {
        let mut vals = std::mem::take(&mut self.vals);
        let mut seen = std::mem::take(&mut self.seen);
        vals.resize(n, T::Native::default());
        seen.resize(n, false);
        Ok(Some(vec![state_col::<T>(vals), state_flags(&seen)]))
    }

    fn load_state(&self, state: &[ArrayRef]) -> Result<Box<dyn GroupsAcc>> {
        Ok(Box::new(MinMaxPrim::<T, MIN> {
            data_type: self.data_type.clone(),
            vals: state_vec::<T>(state, 0)?,
            seen: state_bools(state, 1)?,
        }))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// `min`/`max` of booleans (`false < true`).
pub(crate) struct MinMaxBool {
    min: bool,
    vals: Vec<Option<bool>>,
}

impl MinMaxBool {
    fn new(min: bool) -> Self {
        MinMaxBool {
            min,
            vals: Vec::new(),
        }
    }

    fn combine(&self, cur: Option<bool>, v: bool) -> Option<bool> {
        Some(match cur {
            None => v,
            Some(c) if self.min => c && v,
            Some(c) => c || v,
        })
    }
}

impl GroupsAcc for MinMaxBool {
    fn update(&mut self, args: &[ArrayRef], ids: &[u32], n: usize, _ord: u64) -> Result<()> {
        let a = prepare(arg(args, 0)?, &DataType::Boolean)?;
        let a = a.as_boolean();
        let nulls = nulls_of(a);
        self.vals.resize(n, None);
        let mut vals = std::mem::take(&mut self.vals);
        for_each_valid(ids, nulls.as_ref(), |i, g| {
            vals[g] = self.combine(vals[g], a.value(i));
        });
        self.vals = vals;
        Ok(())
    }

    fn merge_from(
        &mut self,
        other: &dyn GroupsAcc,
        src: &[u32],
        dst: &[u32],
        n: usize,
    ) -> Result<()> {
        let o = downcast::<Self>(other)?;
        self.vals.resize(n, None);
        for (&s, &d) in src.iter().zip(dst) {
            if let Some(v) = o.vals[s as usize] {
                self.vals[d as usize] = self.combine(self.vals[d as usize], v);
            }
        }
        Ok(())
    }

    fn evaluate(&mut self, n: usize) -> Result<ArrayRef> {
        self.vals.resize(n, None);
        Ok(Arc::new(
            self.vals.iter().copied().collect::<BooleanArray>(),
        ))
    }

    fn size(&self) -> usize {
        self.vals.capacity() * 2
    }

    fn take_state(&mut self, n: usize) -> Result<Option<Vec<ArrayRef>>> {
        let mut vals = std::mem::take(&mut self.vals);
        vals.resize(n, None);
        Ok(Some(vec![Arc::new(BooleanArray::from(vals))]))
    }

    fn load_state(&self, state: &[ArrayRef]) -> Result<Box<dyn GroupsAcc>> {
        let Some(a) = state.first().and_then(|a| a.as_boolean_opt()) else {
            return internal_err!("spilled min/max state is not boolean");
        };
        Ok(Box::new(MinMaxBool {
            min: self.min,
            vals: a.iter().collect(),
        }))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Calls `f(row, bytes)` for every non-NULL value of a string or binary array.
pub(crate) fn for_each_bytes(a: &dyn Array, mut f: impl FnMut(usize, &[u8])) -> Result<()> {
    let nulls = nulls_of(a);
    let valid = |i: usize| nulls.as_ref().is_none_or(|n| n.is_valid(i));
    macro_rules! go {
        ($arr:expr, $conv:expr) => {{
            let arr = $arr;
            for i in 0..arr.len() {
                if valid(i) {
                    f(i, $conv(arr.value(i)))
                }
            }
        }};
    }
    match a.data_type() {
        DataType::Utf8 => go!(a.as_string::<i32>(), str::as_bytes),
        DataType::LargeUtf8 => go!(a.as_string::<i64>(), str::as_bytes),
        DataType::Utf8View => go!(a.as_string_view(), str::as_bytes),
        DataType::Binary => go!(a.as_binary::<i32>(), std::convert::identity),
        DataType::LargeBinary => go!(a.as_binary::<i64>(), std::convert::identity),
        DataType::BinaryView => go!(a.as_binary_view(), std::convert::identity),
        DataType::Null => {}
        DataType::Dictionary(_, v) => {
            let c = cast(a, v)?;
            return for_each_bytes(c.as_ref(), f);
        }
        t => return internal_err!("expected strings, got {t}"),
    }
    Ok(())
}

/// `min`/`max` of strings or binary (byte order, which for UTF-8 is code point order).
pub(crate) struct MinMaxBytes {
    min: bool,
    binary: bool,
    vals: Vec<Option<Vec<u8>>>,
    heap: usize,
}

impl MinMaxBytes {
    fn new(min: bool, binary: bool) -> Self {
        MinMaxBytes {
            min,
            binary,
            vals: Vec::new(),
            heap: 0,
        }
    }

    fn offer(min: bool, heap: &mut usize, slot: &mut Option<Vec<u8>>, v: &[u8]) {
        let replace = match slot {
            None => true,
            Some(c) => {
                if min {
                    v < c.as_slice()
                } else {
                    v > c.as_slice()
                }
            }
        };
        if replace {
            let buf = slot.get_or_insert_with(Vec::new);
            let before = buf.capacity();
            buf.clear();
            buf.extend_from_slice(v);
            *heap += buf.capacity() - before;
        }
    }
}

impl GroupsAcc for MinMaxBytes {
    fn update(&mut self, args: &[ArrayRef], ids: &[u32], n: usize, _ord: u64) -> Result<()> {
        self.vals.resize(n, None);
        let (min, vals, heap) = (self.min, &mut self.vals, &mut self.heap);
        for_each_bytes(arg(args, 0)?.as_ref(), |i, v| {
            Self::offer(min, heap, &mut vals[ids[i] as usize], v)
        })
    }

    fn merge_from(
        &mut self,
        other: &dyn GroupsAcc,
        src: &[u32],
        dst: &[u32],
        n: usize,
    ) -> Result<()> {
        let o = downcast::<Self>(other)?;
        self.vals.resize(n, None);
        for (&s, &d) in src.iter().zip(dst) {
            if let Some(v) = &o.vals[s as usize] {
                Self::offer(self.min, &mut self.heap, &mut self.vals[d as usize], v);
            }
        }
        Ok(())
    }

    fn evaluate(&mut self, n: usize) -> Result<ArrayRef> {
        self.vals.resize(n, None);
        if self.binary {
            return Ok(Arc::new(
                self.vals
                    .iter()
                    .map(|v| v.as_deref())
                    .collect::<BinaryArray>(),
            ));
        }
        let strs = self
            .vals
            .iter()
            .map(|v| {
                v.as_deref()
                    .map(std::str::from_utf8)
                    .transpose()
                    .map_err(|e| Error::Internal(format!("min/max of invalid UTF-8: {e}")))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Arc::new(StringArray::from(strs)))
    }

    fn size(&self) -> usize {
        self.vals.capacity() * size_of::<Option<Vec<u8>>>() + self.heap
    }

    fn take_state(&mut self, n: usize) -> Result<Option<Vec<ArrayRef>>> {
        let mut vals = std::mem::take(&mut self.vals);
        vals.resize(n, None);
        self.heap = 0;
        let a: BinaryArray = vals.iter().map(|v| v.as_deref()).collect();
        Ok(Some(vec![Arc::new(a)]))
    }

    fn load_state(&self, state: &[ArrayRef]) -> Result<Box<dyn GroupsAcc>> {
        let Some(a) = state.first().and_then(|a| a.as_binary_opt::<i32>()) else {
            return internal_err!("spilled min/max state is not binary");
        };
        let vals: Vec<Option<Vec<u8>>> = a.iter().map(|v| v.map(<[u8]>::to_vec)).collect();
        let heap = vals.iter().flatten().map(|v| v.capacity()).sum();
        Ok(Box::new(MinMaxBytes {
            min: self.min,
            binary: self.binary,
            vals,
            heap,
        }))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// `min`/`max` (and the like) of an all-NULL column: NULL.
pub(crate) struct NullAcc(pub DataType);

impl GroupsAcc for NullAcc {
    fn update(&mut self, _: &[ArrayRef], _: &[u32], _: usize, _: u64) -> Result<()> {
        Ok(())
    }
    fn merge_from(&mut self, _: &dyn GroupsAcc, _: &[u32], _: &[u32], _: usize) -> Result<()> {
        Ok(())
    }
    fn evaluate(&mut self, n: usize) -> Result<ArrayRef> {
        Ok(arrow::array::new_null_array(&self.0, n))
    }
    fn size(&self) -> usize {
        0
    }
    fn take_state(&mut self, _n: usize) -> Result<Option<Vec<ArrayRef>>> {
        Ok(Some(vec![]))
    }
    fn load_state(&self, _state: &[ArrayRef]) -> Result<Box<dyn GroupsAcc>> {
        Ok(Box::new(NullAcc(self.0.clone())))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

// ---------------------------------------------------------------------------------------------
// variance / stddev (Welford, merged with Chan et al.'s formula)

/// `var_samp`, `var_pop`, `stddev_samp`, `stddev_pop`.
pub(crate) struct VarAcc {
    func: AggFunc,
    n: Vec<u64>,
    mean: Vec<f64>,
    m2: Vec<f64>,
}

impl VarAcc {
    fn new(func: AggFunc) -> Self {
        VarAcc {
            func,
            n: Vec::new(),
            mean: Vec::new(),
            m2: Vec::new(),
        }
    }

    fn resize(&mut self, n: usize) {
        self.n.resize(n, 0);
        self.mean.resize(n, 0.0);
        self.m2.resize(n, 0.0);
    }
}

impl GroupsAcc for VarAcc {
    fn update(&mut self, args: &[ArrayRef], ids: &[u32], n: usize, _ord: u64) -> Result<()> {
        let a = prepare(arg(args, 0)?, &DataType::Float64)?;
        let nulls = nulls_of(a.as_ref());
        let values = a.as_primitive::<Float64Type>().values();
        self.resize(n);
        let (cnt, mean, m2) = (&mut self.n, &mut self.mean, &mut self.m2);
        for_each_valid(ids, nulls.as_ref(), |i, g| {
            let x = values[i];
            cnt[g] += 1;
            let d = x - mean[g];
            mean[g] += d / cnt[g] as f64;
            m2[g] += d * (x - mean[g]);
        });
        Ok(())
    }

    fn merge_from(
        &mut self,
        other: &dyn GroupsAcc,
        src: &[u32],
        dst: &[u32],
        n: usize,
    ) -> Result<()> {
        let o = downcast::<Self>(other)?;
        self.resize(n);
        for (&s, &d) in src.iter().zip(dst) {
            let (s, d) = (s as usize, d as usize);
            let (na, nb) = (self.n[d] as f64, o.n[s] as f64);
            if o.n[s] == 0 {
                continue;
            }
            let total = na + nb;
            let delta = o.mean[s] - self.mean[d];
            self.mean[d] += delta * nb / total;
            self.m2[d] += o.m2[s] + delta * delta * na * nb / total;
            self.n[d] += o.n[s];
        }
        Ok(())
    }

    fn evaluate(&mut self, n: usize) -> Result<ArrayRef> {
        self.resize(n);
        let (samp, sqrt) = match self.func {
            AggFunc::VarSamp => (true, false),
            AggFunc::VarPop => (false, false),
            AggFunc::StddevSamp => (true, true),
            _ => (false, true),
        };
        let out: Float64Array = self
            .n
            .iter()
            .zip(&self.m2)
            .map(|(&c, &m2)| {
                let denom = if samp { c.checked_sub(1)? } else { c };
                if denom == 0 {
                    return None;
                }
                let v = (m2 / denom as f64).max(0.0);
                Some(if sqrt { v.sqrt() } else { v })
            })
            .collect();
        Ok(Arc::new(out))
    }

    fn size(&self) -> usize {
        self.n.capacity() * 24
    }

    fn take_state(&mut self, n: usize) -> Result<Option<Vec<ArrayRef>>> {
        self.resize(n);
        Ok(Some(vec![
            state_col::<UInt64Type>(std::mem::take(&mut self.n)),
            state_col::<Float64Type>(std::mem::take(&mut self.mean)),
            state_col::<Float64Type>(std::mem::take(&mut self.m2)),
        ]))
    }

    fn load_state(&self, state: &[ArrayRef]) -> Result<Box<dyn GroupsAcc>> {
        Ok(Box::new(VarAcc {
            func: self.func,
            n: state_vec::<UInt64Type>(state, 0)?,
            mean: state_vec::<Float64Type>(state, 1)?,
            m2: state_vec::<Float64Type>(state, 2)?,
        }))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

// ---------------------------------------------------------------------------------------------
// corr

/// `corr(y, x)`, `covar_samp(y, x)`, `covar_pop(y, x)`: online co-moments of the pairs where
/// both are non-NULL, merged pairwise.
pub(crate) struct CorrAcc {
    func: AggFunc,
    n: Vec<u64>,
    mx: Vec<f64>,
    my: Vec<f64>,
    m2x: Vec<f64>,
    m2y: Vec<f64>,
    cxy: Vec<f64>,
}

impl CorrAcc {
    fn new(func: AggFunc) -> Self {
        CorrAcc {
            func,
            n: Vec::new(),
            mx: Vec::new(),
            my: Vec::new(),
            m2x: Vec::new(),
            m2y: Vec::new(),
            cxy: Vec::new(),
        }
    }

    fn resize(&mut self, n: usize) {
        self.n.resize(n, 0);
        for v in [
            &mut self.mx,
            &mut self.my,
            &mut self.m2x,
            &mut self.m2y,
            &mut self.cxy,
        ] {
            v.resize(n, 0.0);
        }
    }
}

impl GroupsAcc for CorrAcc {
    fn update(&mut self, args: &[ArrayRef], ids: &[u32], n: usize, _ord: u64) -> Result<()> {
        let x = prepare(arg(args, 0)?, &DataType::Float64)?;
        let y = prepare(arg(args, 1)?, &DataType::Float64)?;
        let nulls = NullBuffer::union(nulls_of(x.as_ref()).as_ref(), nulls_of(y.as_ref()).as_ref());
        let (xv, yv) = (
            x.as_primitive::<Float64Type>().values(),
            y.as_primitive::<Float64Type>().values(),
        );
        self.resize(n);
        let CorrAcc {
            func: _,
            n: cnt,
            mx,
            my,
            m2x,
            m2y,
            cxy,
        } = self;
        for_each_valid(ids, nulls.as_ref(), |i, g| {
            let (x, y) = (xv[i], yv[i]);
            cnt[g] += 1;
            let k = cnt[g] as f64;
            let dx = x - mx[g];
            mx[g] += dx / k;
            let dy = y - my[g];
            my[g] += dy / k;
            cxy[g] += dx * (y - my[g]);
            m2x[g] += dx * (x - mx[g]);
            m2y[g] += dy * (y - my[g]);
        });
        Ok(())
    }

    fn merge_from(
        &mut self,
        other: &dyn GroupsAcc,
        src: &[u32],
        dst: &[u32],
        n: usize,
    ) -> Result<()> {
        let o = downcast::<Self>(other)?;
        self.resize(n);
        for (&s, &d) in src.iter().zip(dst) {
            let (s, d) = (s as usize, d as usize);
            if o.n[s] == 0 {
                continue;
            }
            let (na, nb) = (self.n[d] as f64, o.n[s] as f64);
            let t = na + nb;
            let dx = o.mx[s] - self.mx[d];
            let dy = o.my[s] - self.my[d];
            self.mx[d] += dx * nb / t;
            self.my[d] += dy * nb / t;
            self.m2x[d] += o.m2x[s] + dx * dx * na * nb / t;
            self.m2y[d] += o.m2y[s] + dy * dy * na * nb / t;
            self.cxy[d] += o.cxy[s] + dx * dy * na * nb / t;
            self.n[d] += o.n[s];
        }
        Ok(())
    }

    fn evaluate(&mut self, n: usize) -> Result<ArrayRef> {
        self.resize(n);
        let out: Float64Array = (0..n)
            .map(|g| match self.func {
                AggFunc::CovarSamp => {
                    (self.n[g] >= 2).then(|| self.cxy[g] / (self.n[g] - 1) as f64)
                }
                AggFunc::CovarPop => (self.n[g] >= 1).then(|| self.cxy[g] / self.n[g] as f64),
                _ => {
                    let denom = (self.m2x[g] * self.m2y[g]).sqrt();
                    (self.n[g] >= 2 && denom > 0.0).then(|| self.cxy[g] / denom)
                }
            })
            .collect();
        Ok(Arc::new(out))
    }

    fn size(&self) -> usize {
        self.n.capacity() * 48
    }

    fn take_state(&mut self, n: usize) -> Result<Option<Vec<ArrayRef>>> {
        self.resize(n);
        let mut cols = vec![state_col::<UInt64Type>(std::mem::take(&mut self.n))];
        for v in [
            &mut self.mx,
            &mut self.my,
            &mut self.m2x,
            &mut self.m2y,
            &mut self.cxy,
        ] {
            cols.push(state_col::<Float64Type>(std::mem::take(v)));
        }
        Ok(Some(cols))
    }

    fn load_state(&self, state: &[ArrayRef]) -> Result<Box<dyn GroupsAcc>> {
        Ok(Box::new(CorrAcc {
            func: self.func,
            n: state_vec::<UInt64Type>(state, 0)?,
            mx: state_vec::<Float64Type>(state, 1)?,
            my: state_vec::<Float64Type>(state, 2)?,
            m2x: state_vec::<Float64Type>(state, 3)?,
            m2y: state_vec::<Float64Type>(state, 4)?,
            cxy: state_vec::<Float64Type>(state, 5)?,
        }))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `add_few_groups` against one add per row, at every length around its lanes.
    #[test]
    fn few_groups_add_up_as_row_by_row() {
        for rows in [0usize, 1, 3, 4, 5, 17, 1000] {
            for groups in [1usize, 4, FEW_GROUPS] {
                let ids: Vec<u32> = (0..rows)
                    .map(|i| ((i * 7 + i / 3) % groups) as u32)
                    .collect();
                let values: Vec<i128> = (0..rows).map(|i| (i as i128 * 31) % 97 - 40).collect();
                let mut want = vec![5i128; groups];
                let mut want_counts = vec![2u64; groups];
                for (&g, &v) in ids.iter().zip(&values) {
                    want[g as usize] += v;
                    want_counts[g as usize] += 1;
                }
                let mut sums = vec![5i128; groups];
                let mut counts = vec![2u64; groups];
                let (present, ovf) =
                    add_few_groups::<_, true>(&ids, &values, &mut sums, &mut counts);
                assert_eq!(
                    (sums, counts, ovf),
                    (want, want_counts, false),
                    "{rows} rows"
                );
                let expected = ids.iter().fold(0u32, |p, &g| p | 1 << g);
                assert_eq!(present, expected);
            }
        }
        let mut sums = vec![i64::MAX - 1];
        let (_, ovf) = add_few_groups::<_, false>(&[0, 0, 0], &[1i64, 1, 1], &mut sums, &mut []);
        assert!(ovf, "an overflow is seen");
    }
}
