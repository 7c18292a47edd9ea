//! Runtime filters: what a hash join's build side tells the scan of its probe side.
//!
//! The planner traces each key of an inner or semi hash join down the probe pipeline (through
//! filters, projections that pass the column on, and the probe side of other joins) to the
//! source; where it arrives, it puts a [`RuntimeFilterExec`] directly above the source and
//! hands the source the same [`RuntimeFilterSlot`]. The probe pipeline starts only once the
//! build side is complete, and the executor then publishes into the slot what the build keys
//! allow (NULL keys never match, so they are left out):
//!
//! - the **range** of integer-like keys (`min`, `max`), and their **distinct values** when there
//!   are at most [`MAX_VALUES`]: a Parquet source skips row groups whose statistics show no
//!   possible key, so `l_orderkey IN (57 keys)` reads a few row groups of `lineitem`;
//! - a **membership test**: an exact bitmap over `min..=max` for integer keys spanning at most
//!   [`BITS_PER_KEY`] values per key or at most [`CACHED_BITS`] values, otherwise a
//!   split-block bloom filter on the key's hash (up to 4Mi keys).
//!
//! The operator drops the rows whose key cannot match before anything else in the pipeline
//! sees them (other joins' probes, projections). It stops testing when its filters keep
//! nearly every row. A slot left empty (the join spilled, or ran without the executor's
//! build phase) filters nothing.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use arrow::array::{Array, ArrayRef, BooleanArray, RecordBatch};
use arrow::buffer::BooleanBuffer;
use arrow::compute::{cast_with_options, filter_record_batch, CastOptions};
use arrow::datatypes::DataType;
use rask_common::{Result, ScalarValue};

use super::build::{int_hash, int_keys, is_int_key};
use crate::executor::StreamOperator;
use crate::hash::hash_columns;

/// At most this many distinct integer keys are kept as a list (for row-group pruning).
pub const MAX_VALUES: usize = 256;
/// An integer key whose range spans at most this many values per build row (and at most
/// [`MAX_BITS`]), or at most [`CACHED_BITS`] values, gets an exact bitmap. Ordered probe keys
/// read even a bitmap larger than the cache in order: at scale 10, Q4's 570k order keys over
/// 60M values take a 7.5 MB bitmap rather than a 1.1 MB bloom filter (Q4 1.7-2.2 -> 1.33 s).
pub const BITS_PER_KEY: i128 = 128;
/// A bitmap this small (1 MiB) stays in cache, and one load tests a key where a bloom filter
/// takes a hash and eight words: Q17 and Q8 test all of `lineitem` against a few hundred of
/// the 200,000 part keys. Keys that arrive in order (`l_orderkey` tested against Q4's
/// orders) also read the bitmap in order, where a bloom filter's hash scatters them.
pub const CACHED_BITS: i128 = 1 << 23;
const MAX_BITS: i128 = 1 << 27;
/// Bloom filter bits per build key.
const BLOOM_BITS_PER_KEY: usize = 16;
/// Builds with more keys get no bloom filter (it would take over 8 MB, outside the memory
/// pool, and a build that large seldom filters much of its probe side).
const MAX_BLOOM_KEYS: usize = 1 << 22;

/// What a join's build keys allow a probe key to be.
pub struct RuntimeFilter {
    /// The type the join compares keys in; probe values are cast to it.
    key_type: DataType,
    /// No build row has a non-NULL key: nothing matches.
    empty: bool,
    /// `(min, max)` of the keys, for keys whose `i64` form keeps their order.
    range: Option<(i64, i64)>,
    /// The distinct keys, sorted, when few.
    values: Option<Vec<i64>>,
    membership: Membership,
}

enum Membership {
    /// No test beyond the range.
    None,
    /// Bit `k - min` is set for each key `k`.
    Bits { min: i64, bits: Vec<u64> },
    /// A bloom filter on [`int_hash`] of integer keys, or on the engine hash of other keys.
    Bloom(Bloom),
}

impl fmt::Debug for RuntimeFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let membership = match &self.membership {
            Membership::None => "none".to_string(),
            Membership::Bits { bits, .. } => format!("bitmap({} words)", bits.len()),
            Membership::Bloom(b) => format!("bloom({} blocks)", b.blocks.len()),
        };
        f.debug_struct("RuntimeFilter")
            .field("key_type", &self.key_type)
            .field("empty", &self.empty)
            .field("range", &self.range)
            .field("values", &self.values.as_ref().map(|v| v.len()))
            .field("membership", &membership)
            .finish()
    }
}

/// Whether the `i64` form of keys of type `t` ([`int_keys`]) keeps their order.
fn ordered_int(t: &DataType) -> bool {
    is_int_key(t) && *t != DataType::UInt64
}

impl RuntimeFilter {
    /// The filter of the build key column `key` (in the join's comparison type). `None` when
    /// it could not tell any probe key apart.
    pub fn from_keys(key: &ArrayRef) -> Result<Option<Self>> {
        let key_type = key.data_type().clone();
        let nulls = key.logical_nulls();
        let valid = |i: usize| nulls.as_ref().is_none_or(|n| n.is_valid(i));
        let count = key.len() - nulls.as_ref().map_or(0, |n| n.null_count());
        let empty = RuntimeFilter {
            key_type: key_type.clone(),
            empty: true,
            range: None,
            values: None,
            membership: Membership::None,
        };
        if count == 0 {
            return Ok(Some(empty));
        }
        if is_int_key(&key_type) {
            let keys = int_keys(key.as_ref())?;
            let ordered = ordered_int(&key_type);
            let (mut min, mut max) = (i64::MAX, i64::MIN);
            for (i, &k) in keys.iter().enumerate() {
                if valid(i) {
                    min = min.min(k);
                    max = max.max(k);
                }
            }
            let mut values = None;
            if ordered && count <= MAX_VALUES * 16 {
                let mut v: Vec<i64> = (0..keys.len())
                    .filter(|&i| valid(i))
                    .map(|i| keys[i])
                    .collect();
                v.sort_unstable();
                v.dedup();
                if v.len() <= MAX_VALUES {
                    values = Some(v);
                }
            }
            let span = max as i128 - min as i128 + 1;
            let membership = if ordered
                && span <= MAX_BITS
                && (span <= BITS_PER_KEY * count as i128 + 4096 || span <= CACHED_BITS)
            {
                let mut bits = vec![0u64; (span as usize).div_ceil(64)];
                for (i, &k) in keys.iter().enumerate() {
                    if valid(i) {
                        let b = (k - min) as usize;
                        bits[b / 64] |= 1 << (b % 64);
                    }
                }
                Membership::Bits { min, bits }
            } else if count > MAX_BLOOM_KEYS {
                Membership::None
            } else {
                let mut bloom = Bloom::with_keys(count);
                for (i, &k) in keys.iter().enumerate() {
                    if valid(i) {
                        bloom.insert(int_hash(k));
                    }
                }
                Membership::Bloom(bloom)
            };
            return Ok(Some(RuntimeFilter {
                key_type,
                empty: false,
                range: ordered.then_some((min, max)),
                values,
                membership,
            }));
        }
        let mut hashes = Vec::new();
        if count > MAX_BLOOM_KEYS
            || hash_columns(std::slice::from_ref(key), key.len(), &mut hashes).is_err()
        {
            return Ok(None);
        }
        let mut bloom = Bloom::with_keys(count);
        for (i, &h) in hashes.iter().enumerate() {
            if valid(i) {
                bloom.insert(h);
            }
        }
        Ok(Some(RuntimeFilter {
            membership: Membership::Bloom(bloom),
            empty: false,
            ..empty
        }))
    }

    /// Which values of `column` may match a build key (NULL never does); `None` when the
    /// column cannot be tested (the caller keeps every row).
    pub fn keep(&self, column: &ArrayRef) -> Option<BooleanArray> {
        let n = column.len();
        if self.empty {
            return Some(BooleanArray::new(BooleanBuffer::new_unset(n), None));
        }
        let cast;
        let column = if column.data_type() == &self.key_type {
            column
        } else {
            // As the join casts its keys: a value that does not convert is an error there,
            // so it is not filtered out here (the join reports it).
            let options = CastOptions {
                safe: false,
                format_options: Default::default(),
            };
            cast = cast_with_options(column, &self.key_type, &options).ok()?;
            &cast
        };
        let bits = if is_int_key(&self.key_type) {
            let keys = int_keys(column.as_ref()).ok()?;
            self.keep_ints(&keys)
        } else {
            let Membership::Bloom(bloom) = &self.membership else {
                return None;
            };
            let mut hashes = Vec::new();
            hash_columns(std::slice::from_ref(column), n, &mut hashes).ok()?;
            let hashes = &hashes[..n];
            BooleanBuffer::collect_bool(n, |i| bloom.may_contain(hashes[i]))
        };
        let bits = match column.logical_nulls() {
            Some(nulls) if nulls.null_count() > 0 => &bits & nulls.inner(),
            _ => bits,
        };
        Some(BooleanArray::new(bits, None))
    }

    /// Whether each key (in `i64` form) may be a build key, with one loop per kind of test: the
    /// cheapest exact test first (a bitmap), a bloom filter before the binary search of a
    /// value list (a binary search per row costs several mispredicted branches; Q17 tests
    /// all of `lineitem` against 200 part keys).
    fn keep_ints(&self, keys: &[i64]) -> BooleanBuffer {
        let n = keys.len();
        let (min, max) = self.range.unwrap_or((i64::MIN, i64::MAX));
        let in_range = |k: i64| k >= min && k <= max;
        let listed = |k: i64| {
            self.values
                .as_ref()
                .is_none_or(|v| v.binary_search(&k).is_ok())
        };
        match &self.membership {
            Membership::Bits { min: base, bits } => {
                let span = bits.len() as u64 * 64;
                BooleanBuffer::collect_bool(n, |i| {
                    let b = keys[i].wrapping_sub(*base) as u64;
                    b < span && (bits[(b / 64) as usize] >> (b % 64)) & 1 != 0
                })
            }
            Membership::Bloom(bloom) => BooleanBuffer::collect_bool(n, |i| {
                let k = keys[i];
                in_range(k) && bloom.may_contain(int_hash(k)) && listed(k)
            }),
            Membership::None => BooleanBuffer::collect_bool(n, |i| {
                let k = keys[i];
                in_range(k) && listed(k)
            }),
        }
    }

    /// Whether some key in `lo..=hi` (a row group's statistics, in `i64` form) may be a build
    /// key. Always true for keys without an order-keeping integer form.
    pub fn may_hold_range(&self, lo: i64, hi: i64) -> bool {
        if self.empty {
            return false;
        }
        let Some((min, max)) = self.range else {
            return true;
        };
        let (lo, hi) = (lo.max(min), hi.min(max));
        if lo > hi {
            return false;
        }
        if let Some(v) = &self.values {
            let first = v.partition_point(|&k| k < lo);
            return first < v.len() && v[first] <= hi;
        }
        if let Membership::Bits { min, bits } = &self.membership {
            let (a, b) = ((lo - min) as usize, (hi - min) as usize);
            if b / 64 - a / 64 > 1 << 16 {
                return true;
            }
            return (a / 64..=b / 64).any(|w| {
                let mut word = bits[w];
                if w == a / 64 {
                    word &= u64::MAX << (a % 64);
                }
                if w == b / 64 && b % 64 != 63 {
                    word &= (1u64 << (b % 64 + 1)) - 1;
                }
                word != 0
            });
        }
        true
    }

    /// Whether no probe key can match.
    pub fn is_empty(&self) -> bool {
        self.empty
    }
}

/// A statistics value as the `i64` form of an integer-like key.
pub fn scalar_as_i64(v: &ScalarValue) -> Option<i64> {
    match v {
        ScalarValue::Int64(Some(x)) | ScalarValue::TimestampMicros(Some(x)) => Some(*x),
        ScalarValue::Int32(Some(x)) | ScalarValue::Date32(Some(x)) => Some(*x as i64),
        _ => None,
    }
}

/// A split-block bloom filter (as Parquet's): each key sets one bit in each of the eight
/// 32-bit words of one 256-bit block.
struct Bloom {
    blocks: Vec<[u32; 8]>,
}

const SALT: [u32; 8] = [
    0x47b6137b, 0x44974d91, 0x8824ad5b, 0xa2b7289d, 0x705495c7, 0x2df1424b, 0x9efc4947, 0x5c6bfb31,
];

impl Bloom {
    fn with_keys(keys: usize) -> Self {
        let blocks = (keys * BLOOM_BITS_PER_KEY).div_ceil(256).max(1);
        Bloom {
            blocks: vec![[0; 8]; blocks],
        }
    }

    #[inline]
    fn place(&self, h: u64) -> (usize, u32) {
        let block = (((h >> 32) * self.blocks.len() as u64) >> 32) as usize;
        (block, h as u32)
    }

    fn insert(&mut self, h: u64) {
        let (b, x) = self.place(h);
        let block = &mut self.blocks[b];
        for (w, salt) in block.iter_mut().zip(SALT) {
            *w |= 1 << (x.wrapping_mul(salt) >> 27);
        }
    }

    #[inline]
    fn may_contain(&self, h: u64) -> bool {
        let (b, x) = self.place(h);
        let block = &self.blocks[b];
        // All eight words tested without branching (one vector operation): most probe keys
        // fail on some word, and a branch per word would mispredict.
        let mut all = 1u32;
        for (w, salt) in block.iter().zip(SALT) {
            all &= w >> (x.wrapping_mul(salt) >> 27);
        }
        all & 1 != 0
    }
}

/// Where a join publishes its runtime filter for one key, and where the probe side's source
/// and [`RuntimeFilterExec`] read it. Empty until the build side is complete.
#[derive(Clone, Default)]
pub struct RuntimeFilterSlot(Arc<RwLock<Option<Arc<RuntimeFilter>>>>);

impl RuntimeFilterSlot {
    /// The published filter, if any.
    pub fn get(&self) -> Option<Arc<RuntimeFilter>> {
        self.0.read().ok().and_then(|g| g.clone())
    }
    /// Publishes `filter` (`None` clears the slot).
    pub fn set(&self, filter: Option<Arc<RuntimeFilter>>) {
        if let Ok(mut g) = self.0.write() {
            *g = filter;
        }
    }
}

impl fmt::Debug for RuntimeFilterSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RuntimeFilterSlot")
            .field(&self.get())
            .finish()
    }
}

/// The slots of a source's column: `(column of the source's output, slot)`.
pub type RuntimeFilterTarget = (usize, RuntimeFilterSlot);

/// Drops the rows of its input whose keys cannot match the build side of a join above
/// (see the module docs).
///
/// # Ordering
/// Preserves the order of its input. # Memory: none buffered.
#[derive(Debug)]
pub struct RuntimeFilterExec {
    filters: Vec<RuntimeFilterTarget>,
    display: String,
    usefulness: FilterUsefulness,
}

/// After this many rows, the filters stop if they kept more than [`KEEP_LIMIT`] of them.
const ADAPT_ROWS: u64 = 1 << 18;
const KEEP_LIMIT: f64 = 0.9;

/// Counts what runtime filters keep, and turns them off once they have seen
/// [`ADAPT_ROWS`] rows and kept more than [`KEEP_LIMIT`] of them: testing then costs more than
/// it saves. Shared by the threads applying the same filters.
#[derive(Debug, Default)]
pub struct FilterUsefulness {
    rows_in: AtomicU64,
    rows_out: AtomicU64,
    off: AtomicBool,
}

impl FilterUsefulness {
    /// Whether the filters stopped.
    pub fn is_off(&self) -> bool {
        self.off.load(Ordering::Relaxed)
    }

    /// The share of the rows tested that the filters kept; `None` before any.
    pub fn kept_share(&self) -> Option<f64> {
        let seen = self.rows_in.load(Ordering::Relaxed);
        (seen > 0).then(|| self.rows_out.load(Ordering::Relaxed) as f64 / seen as f64)
    }

    /// Records that the filters kept `kept` of `rows` rows.
    pub fn record(&self, rows: usize, kept: usize) {
        let (n, kept) = (rows as u64, kept as u64);
        let seen = self.rows_in.fetch_add(n, Ordering::Relaxed) + n;
        let out = self.rows_out.fetch_add(kept, Ordering::Relaxed) + kept;
        if seen >= ADAPT_ROWS && out as f64 > KEEP_LIMIT * seen as f64 {
            self.off.store(true, Ordering::Relaxed);
        }
    }
}

impl RuntimeFilterExec {
    /// Tests `filters` on each batch; `display` names the columns for EXPLAIN.
    pub fn new(filters: Vec<RuntimeFilterTarget>, display: String) -> Self {
        RuntimeFilterExec {
            filters,
            display,
            usefulness: FilterUsefulness::default(),
        }
    }
}

impl StreamOperator for RuntimeFilterExec {
    fn execute(&self, batch: RecordBatch) -> Result<Option<RecordBatch>> {
        if self.usefulness.is_off() || batch.num_rows() == 0 {
            return Ok(Some(batch));
        }
        let mut mask: Option<BooleanArray> = None;
        for (column, slot) in &self.filters {
            let Some(filter) = slot.get() else {
                continue;
            };
            let Some(keep) = batch.columns().get(*column).and_then(|c| filter.keep(c)) else {
                continue;
            };
            mask = Some(match mask {
                None => keep,
                Some(m) => arrow::compute::and(&m, &keep)?,
            });
        }
        let Some(mask) = mask else {
            return Ok(Some(batch));
        };
        let n = batch.num_rows();
        let kept = mask.true_count();
        self.usefulness.record(n, kept);
        if kept == n {
            return Ok(Some(batch));
        }
        if kept == 0 {
            return Ok(None);
        }
        Ok(Some(filter_record_batch(&batch, &mask)?))
    }

    fn describe(&self) -> String {
        format!("RuntimeFilterExec: {}", self.display)
    }

    fn input_column(&self, output: usize) -> Option<usize> {
        Some(output)
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::{Int32Array, Int64Array, StringArray};
    use arrow::datatypes::{Field, Schema};

    use super::*;

    fn filter(a: ArrayRef) -> RuntimeFilter {
        RuntimeFilter::from_keys(&a).unwrap().unwrap()
    }

    fn kept(f: &RuntimeFilter, a: ArrayRef) -> Vec<bool> {
        f.keep(&a)
            .unwrap()
            .iter()
            .map(|b| b == Some(true))
            .collect()
    }

    #[test]
    fn every_build_key_passes_and_nulls_never_do() {
        // few keys (value list), dense keys (bitmap), sparse keys (bloom), strings (bloom)
        let few: ArrayRef = Arc::new(Int64Array::from(vec![Some(5), None, Some(9), Some(5)]));
        let dense: ArrayRef = Arc::new(Int64Array::from_iter_values((0..20_000).map(|i| i * 3)));
        let sparse: ArrayRef = Arc::new(Int64Array::from_iter_values(
            (0..20_000i64).map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15u64 as i64)),
        ));
        let strings: ArrayRef = Arc::new(StringArray::from_iter_values(
            (0..5000).map(|i| format!("k{i}")),
        ));
        for keys in [few, dense, sparse, strings] {
            let f = filter(Arc::clone(&keys));
            let got = kept(&f, Arc::clone(&keys));
            for (i, g) in got.iter().enumerate() {
                assert_eq!(*g, keys.is_valid(i), "{f:?} row {i}");
            }
        }
    }

    #[test]
    fn exact_filters_drop_every_other_key_and_blooms_most() {
        let dense = filter(Arc::new(Int64Array::from_iter_values(
            (0..20_000).map(|i| i * 3),
        )));
        let probe: ArrayRef = Arc::new(Int64Array::from_iter_values(-10..60_010));
        let k = kept(&dense, Arc::clone(&probe));
        assert!(k.iter().enumerate().all(
            |(i, &b)| b == ((i as i64 - 10) % 3 == 0 && (0..60_000).contains(&(i as i64 - 10)))
        ));
        assert!(matches!(dense.membership, Membership::Bits { .. }));
        let sparse = filter(Arc::new(Int64Array::from_iter_values(
            (0..20_000i64).map(|i| i * 1_000_003),
        )));
        assert!(matches!(sparse.membership, Membership::Bloom(_)));
        let probe: ArrayRef = Arc::new(Int64Array::from_iter_values(
            (0..100_000i64).map(|i| i * 1_000_003 + 1),
        ));
        let false_positives = kept(&sparse, probe).iter().filter(|&&b| b).count();
        assert!(false_positives < 2_000, "{false_positives}");
    }

    #[test]
    fn small_spans_get_bitmaps_and_a_few_wide_keys_stay_exact() {
        // 200 keys over 200,000 values: a bitmap (it fits in cache) rather than a bloom.
        let narrow = filter(Arc::new(Int64Array::from_iter_values(
            (0..200).map(|i| i * 1000),
        )));
        assert!(matches!(narrow.membership, Membership::Bits { .. }));
        // A few keys too far apart for a bitmap: a bloom filter, then the list makes it exact.
        let wide_keys: Vec<i64> = (0..100).map(|i| i * 1_000_000_007).collect();
        let wide = filter(Arc::new(Int64Array::from(wide_keys.clone())));
        assert!(matches!(wide.membership, Membership::Bloom(_)));
        assert!(wide.values.is_some());
        let probe: Vec<Option<i64>> = (0..300_000i64)
            .map(|i| (i % 7 != 0).then_some(i * 333_333_369))
            .chain(wide_keys.iter().map(|&k| Some(k)))
            .collect();
        let got = kept(&wide, Arc::new(Int64Array::from(probe.clone())));
        for (g, p) in got.iter().zip(&probe) {
            assert_eq!(*g, p.is_some_and(|k| wide_keys.contains(&k)), "{p:?}");
        }
    }

    #[test]
    fn probe_values_are_cast_to_the_key_type() {
        let f = filter(Arc::new(Int64Array::from(vec![1, 2, 300])));
        let probe: ArrayRef = Arc::new(Int32Array::from(vec![Some(2), None, Some(3), Some(300)]));
        assert_eq!(kept(&f, probe), vec![true, false, false, true]);
    }

    #[test]
    fn ranges_prune_by_range_values_and_bits() {
        let few = filter(Arc::new(Int64Array::from(vec![10, 20, 1000])));
        assert!(!few.may_hold_range(0, 9));
        assert!(!few.may_hold_range(11, 19));
        assert!(few.may_hold_range(15, 25));
        assert!(!few.may_hold_range(1001, 2000));
        let dense = filter(Arc::new(Int64Array::from_iter_values(
            (0..1000).map(|i| i * 50),
        )));
        assert!(dense.values.is_none());
        assert!(matches!(dense.membership, Membership::Bits { .. }));
        assert!(!dense.may_hold_range(1, 49));
        assert!(!dense.may_hold_range(49_951, 60_000));
        assert!(dense.may_hold_range(1, 50));
        assert!(dense.may_hold_range(1, 6_000));
        assert!(dense.may_hold_range(-5, 0));
        let none = filter(Arc::new(Int64Array::from(vec![None::<i64>])));
        assert!(none.is_empty() && !none.may_hold_range(i64::MIN, i64::MAX));
        assert_eq!(
            kept(&none, Arc::new(Int64Array::from(vec![1]))),
            vec![false]
        );
    }

    #[test]
    fn exec_filters_batches_and_empty_slots_pass_everything() {
        let slot = RuntimeFilterSlot::default();
        let exec = RuntimeFilterExec::new(vec![(1, slot.clone())], "b".into());
        let schema = Arc::new(Schema::new(vec![
            Field::new("a", DataType::Int64, false),
            Field::new("b", DataType::Int64, true),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(vec![1, 2, 3])),
                Arc::new(Int64Array::from(vec![Some(7), None, Some(8)])),
            ],
        )
        .unwrap();
        let out = exec.execute(batch.clone()).unwrap().unwrap();
        assert_eq!(out.num_rows(), 3);
        slot.set(Some(Arc::new(filter(Arc::new(Int64Array::from(vec![
            8, 9,
        ]))))));
        let out = exec.execute(batch).unwrap().unwrap();
        assert_eq!(out.num_rows(), 1);
        assert_eq!(
            out.column(0).as_ref(),
            &Int64Array::from(vec![3]) as &dyn Array
        );
    }
}
