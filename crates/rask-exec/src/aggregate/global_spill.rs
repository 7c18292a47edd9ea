//! Global aggregates (no `GROUP BY`) past the memory limit.
//!
//! A global aggregation holds one group, so it cannot be split by key hash like a grouped
//! one (`spill` module). Its only states that grow with the input are value collections:
//! `median`/`quantile_cont` keep every value and `DISTINCT` aggregates every distinct value.
//! When the pool refuses the table (or force-spill is set), these write their values out and
//! keep only the files:
//!
//! * Quantiles write the values as a run of doubles, in any order. The answer is found by
//!   radix selection ([`select_rank`]): a pass over the values counts them by the next 16
//!   bits of their order-preserving key, which narrows the wanted rank to one bucket, until
//!   the bucket holds at most [`SELECT_CAP`] values; those are read into memory and the rank
//!   is selected among them. Typical data needs one counting pass and one gathering pass;
//!   the worst (values equal in their top 48 bits) four counting passes.
//! * `DISTINCT` aggregates write their distinct values split by hash into [`PARTS`] files.
//!   Evaluation removes duplicates one partition at a time (equal values share a partition)
//!   and feeds each distinct value once to the aggregate.
//!
//! `string_agg` keeps its text: its result is one value holding all of it.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Float64Type, Schema};
use rask_common::{internal_err, Result};

use super::group_keys::new_interner;
use super::partition_of;
use crate::hash::hash_rows;
use crate::memory::{MemoryPool, Reservation};
use crate::spill::{PartitionedSpill, SpillFile, SpillManager};

/// `DISTINCT` values are split by hash into this many partitions.
pub(super) const PARTS: usize = 32;

/// Radix selection sorts a bucket in memory once it holds at most this many values.
const SELECT_CAP: usize = 1 << 20;

/// Values per batch in a run of doubles.
const RUN_BATCH: usize = 1 << 16;

/// Where a global aggregation's accumulators write their values: the query's spill
/// directory, and the pool that evaluation reserves from.
#[derive(Debug, Clone)]
pub(crate) struct GlobalSpill {
    pub(super) manager: Arc<SpillManager>,
    pub(super) pool: Arc<MemoryPool>,
}

impl GlobalSpill {
    fn reservation(&self) -> Reservation {
        self.pool.reservation("HashAggregateExec")
    }
}

/// Writes `vals` as one run of doubles.
pub(super) fn write_run(to: &GlobalSpill, vals: &[f64]) -> Result<Arc<SpillFile>> {
    let schema = Arc::new(Schema::new(vec![Field::new("v", DataType::Float64, false)]));
    let mut w = to.manager.writer(&schema, "HashAggregateExec")?;
    for chunk in vals.chunks(RUN_BATCH) {
        let col: ArrayRef = Arc::new(Float64Array::from(chunk.to_vec()));
        w.write(&RecordBatch::try_new(Arc::clone(&schema), vec![col])?)?;
    }
    Ok(Arc::new(w.finish()?))
}

/// The key of `v` whose unsigned order is `f64::total_cmp`'s order.
fn order_key(v: f64) -> u64 {
    let b = v.to_bits();
    if b >> 63 == 1 {
        !b
    } else {
        b | 1 << 63
    }
}

/// The inverse of [`order_key`].
fn from_key(k: u64) -> f64 {
    f64::from_bits(if k >> 63 == 1 { k & !(1 << 63) } else { !k })
}

/// Whether key `k` has the bits of `prefix` above bit `shift` (every key when `shift` is 64).
fn in_bucket(k: u64, prefix: u64, shift: u32) -> bool {
    shift >= 64 || k >> shift == prefix >> shift
}

/// Calls `f` on every value: those in memory, then each run's.
fn for_each_value(mem: &[f64], runs: &[Arc<SpillFile>], mut f: impl FnMut(f64)) -> Result<()> {
    mem.iter().for_each(|&v| f(v));
    for run in runs {
        for batch in run.read()? {
            let batch = batch?;
            let Some(a) = batch.column(0).as_primitive_opt::<Float64Type>() else {
                return internal_err!("a spilled run of values is not doubles");
            };
            a.values().iter().for_each(|&v| f(v));
        }
    }
    Ok(())
}

/// The value at 0-based `rank` in `f64::total_cmp` order of the values in `mem` and `runs`
/// (fewer than `rank + 1` values: an internal error); buckets of at most `cap` values are
/// sorted in memory.
fn select_rank(
    mem: &[f64],
    runs: &[Arc<SpillFile>],
    rank: u64,
    to: &GlobalSpill,
    cap: usize,
) -> Result<f64> {
    let mut rank = rank;
    let (mut prefix, mut shift) = (0u64, 64u32);
    let mut hist = vec![0u64; 1 << 16];
    loop {
        let next = shift - 16;
        hist.iter_mut().for_each(|c| *c = 0);
        for_each_value(mem, runs, |v| {
            let k = order_key(v);
            if in_bucket(k, prefix, shift) {
                hist[((k >> next) & 0xFFFF) as usize] += 1;
            }
        })?;
        let mut bucket = 0;
        while bucket < hist.len() && rank >= hist[bucket] {
            rank -= hist[bucket];
            bucket += 1;
        }
        let Some(&count) = hist.get(bucket) else {
            return internal_err!("quantile rank past the spilled values");
        };
        prefix |= (bucket as u64) << next;
        shift = next;
        if shift == 0 {
            // Every bit is known: the value itself.
            return Ok(from_key(prefix));
        }
        let count = count as usize;
        if count <= cap {
            let mut reservation = to.reservation();
            reservation.try_resize(count * 8)?;
            let mut vals = Vec::with_capacity(count);
            for_each_value(mem, runs, |v| {
                if in_bucket(order_key(v), prefix, shift) {
                    vals.push(v);
                }
            })?;
            let Some(rank) = usize::try_from(rank).ok().filter(|&r| r < vals.len()) else {
                return internal_err!("quantile rank past its bucket");
            };
            let (_, v, _) = vals.select_nth_unstable_by(rank, f64::total_cmp);
            return Ok(*v);
        }
    }
}

/// The `q`-quantile (linearly interpolated, like `quantile_of`) of the values in `mem` and
/// `runs`; `None` when there are none.
pub(super) fn spilled_quantile(
    mem: &[f64],
    runs: &[Arc<SpillFile>],
    q: f64,
    to: &GlobalSpill,
) -> Result<Option<f64>> {
    let len = mem.len() as u64 + runs.iter().map(|r| r.rows()).sum::<u64>();
    if len == 0 {
        return Ok(None);
    }
    let pos = q * (len - 1) as f64;
    let hi = (pos.ceil() as u64).min(len - 1);
    let lo = (pos.floor() as u64).min(hi);
    let h = select_rank(mem, runs, hi, to, SELECT_CAP)?;
    if lo == hi {
        return Ok(Some(h));
    }
    let l = select_rank(mem, runs, lo, to, SELECT_CAP)?;
    Ok(Some(l + (h - l) * (pos - lo as f64)))
}

/// Writes distinct `values` (no NULLs) split by hash into [`PARTS`] files; per partition,
/// its file if it got values.
pub(super) fn write_distinct(
    to: &GlobalSpill,
    values: &ArrayRef,
) -> Result<Vec<Option<Arc<SpillFile>>>> {
    let schema = Arc::new(Schema::new(vec![Field::new(
        "v",
        values.data_type().clone(),
        true,
    )]));
    let mut out = PartitionedSpill::new(
        Arc::clone(&to.manager),
        Arc::clone(&schema),
        "HashAggregateExec",
        PARTS,
    );
    for start in (0..values.len()).step_by(RUN_BATCH) {
        let chunk = values.slice(start, RUN_BATCH.min(values.len() - start));
        let hashes = hash_rows(std::slice::from_ref(&chunk), chunk.len())?;
        let batch = RecordBatch::try_new(Arc::clone(&schema), vec![chunk])?;
        out.write(&batch, &hashes, |h| partition_of(h, PARTS))?;
    }
    Ok(out.finish()?.into_iter().map(|f| f.map(Arc::new)).collect())
}

/// The distinct values of one partition's files (of `value_type`), reserved while they are
/// collected.
pub(super) fn distinct_of(
    files: &[Arc<SpillFile>],
    value_type: &DataType,
    to: &GlobalSpill,
) -> Result<ArrayRef> {
    let mut set = new_interner(std::slice::from_ref(value_type), false)?;
    let mut reservation = to.reservation();
    let mut ids = Vec::new();
    for file in files {
        for batch in file.read()? {
            let batch = batch?;
            set.intern(batch.columns(), batch.num_rows(), &mut ids)?;
            reservation.try_resize(set.size() + ids.capacity() * 4)?;
        }
    }
    match set.emit()?.into_iter().next() {
        Some(values) => Ok(values),
        None => internal_err!("distinct set without a column"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rask_common::SessionConfig;

    fn spill_to() -> GlobalSpill {
        GlobalSpill {
            manager: SpillManager::new(&SessionConfig::default()),
            pool: MemoryPool::new(1 << 30),
        }
    }

    #[test]
    fn order_key_follows_total_order() {
        let vals = [
            f64::NEG_INFINITY,
            -1e300,
            -2.5,
            -0.0,
            0.0,
            1e-300,
            3.0,
            f64::INFINITY,
            f64::NAN,
        ];
        for w in vals.windows(2) {
            assert!(order_key(w[0]) < order_key(w[1]), "{} < {}", w[0], w[1]);
        }
        for v in vals {
            assert_eq!(from_key(order_key(v)).to_bits(), v.to_bits());
        }
    }

    /// Every rank of values spread over memory and runs matches a sort, with buckets bigger
    /// than the cap (many equal values, values equal in their top 48 bits).
    #[test]
    fn select_rank_matches_a_sort() {
        let to = spill_to();
        let mut all: Vec<f64> = Vec::new();
        let mut x = 12345u64;
        let mut next = || {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            x >> 11
        };
        for i in 0..200_001 {
            all.push(match i % 4 {
                0 => 7.0,
                1 => 1.0 + (next() % 1000) as f64 * f64::EPSILON,
                2 => (next() % 100_000) as f64 - 50_000.0,
                _ => -((next() % 7) as f64),
            });
        }
        let (mem, rest) = all.split_at(1000);
        let runs: Vec<Arc<SpillFile>> = rest
            .chunks(30_000)
            .map(|c| write_run(&to, c))
            .collect::<Result<_>>()
            .unwrap();
        let mut sorted = all.clone();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len() as u64;
        for cap in [100, SELECT_CAP] {
            for rank in [
                0,
                1,
                n / 8,
                n / 4,
                n / 2,
                n / 2 + 1,
                3 * n / 4,
                n - 2,
                n - 1,
            ] {
                let got = select_rank(mem, &runs, rank, &to, cap).unwrap();
                let want = sorted[rank as usize];
                assert_eq!(got.to_bits(), want.to_bits(), "rank {rank}, cap {cap}");
            }
            assert!(select_rank(mem, &runs, n, &to, cap).is_err());
        }
        let median = spilled_quantile(mem, &runs, 0.5, &to).unwrap().unwrap();
        assert_eq!(median, sorted[n as usize / 2]);
        assert_eq!(spilled_quantile(&[], &[], 0.5, &to).unwrap(), None);
    }
}
