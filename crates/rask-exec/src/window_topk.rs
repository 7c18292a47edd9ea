//! A per-worker prefilter for "top K rows per window partition" queries.
//!
//! `... WHERE row_number() OVER (PARTITION BY p ORDER BY o) <= K` (h2o q8, "largest two per
//! group", `QUALIFY`) keeps K rows of each partition; `rank() ... <= K` keeps those with
//! fewer than K rows strictly before them. The window operator still computes the function and
//! the filter above it still decides; this prefilter only drops, before the rows are buffered,
//! rows that cannot pass: a worker remembers, per partition key, the K best order keys it has
//! seen, and a row is dropped once K rows seen so far come strictly before it (`rank`) or
//! before or tied with it (`row_number`, whose ties are broken arbitrarily anyway). What a
//! worker has seen is a subset of the input, so a dropped row is beaten in the whole input too.
//!
//! Supported: one ORDER BY key of an integer, float, date, timestamp, duration or
//! `Decimal128` (precision up to 18) type; any PARTITION BY keys (interned to dense ids as in
//! hash aggregation). The per-key state is K `u128` keys, reserved from the pool; when the
//! pool refuses, the prefilter stops and passes every row on.

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, RecordBatch};
use arrow::compute::{cast, filter_record_batch, SortOptions};
use arrow::datatypes::{DataType, Float32Type, Float64Type, Int64Type};
use rask_common::Result;

use crate::aggregate::group_keys::{new_interner, GroupInterner};
use crate::memory::Reservation;
use crate::physical_expr::PhysicalExpr;

/// Which rows a top-K filter above the window keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopKPerPartition {
    /// K.
    pub k: usize,
    /// Rows tied with the K-th stay (`rank() <= K`), or not (`row_number() <= K`).
    pub keep_ties: bool,
}

/// Whether a prefilter can order rows by a key of this type.
pub fn supported_order_type(t: &DataType) -> bool {
    use DataType::*;
    match t {
        Int8
        | Int16
        | Int32
        | Int64
        | UInt8
        | UInt16
        | UInt32
        | Float32
        | Float64
        | Date32
        | Date64
        | Timestamp(_, _)
        | Duration(_) => true,
        Decimal128(p, _) => *p <= 18,
        _ => false,
    }
}

/// One worker's prefilter state.
pub(crate) struct TopKPrefilter {
    spec: TopKPerPartition,
    partition_by: Vec<PhysicalExpr>,
    order_by: PhysicalExpr,
    options: SortOptions,
    interner: Box<dyn GroupInterner>,
    ids: Vec<u32>,
    /// K keys per group, ascending (best first); `counts[g]` of them are set.
    best: Vec<u128>,
    counts: Vec<u32>,
    reservation: Reservation,
}

impl TopKPrefilter {
    /// A prefilter for rows of `partition_by` key types `key_types`.
    pub(crate) fn try_new(
        spec: TopKPerPartition,
        partition_by: Vec<PhysicalExpr>,
        key_types: &[DataType],
        order_by: PhysicalExpr,
        options: SortOptions,
        reservation: Reservation,
    ) -> Result<Self> {
        Ok(TopKPrefilter {
            spec,
            partition_by,
            order_by,
            options,
            interner: new_interner(key_types, false)?,
            ids: Vec::new(),
            best: Vec::new(),
            counts: Vec::new(),
            reservation,
        })
    }

    /// The rows of `batch` that may still be among the first K of their partition, or `None`
    /// when the pool refused the prefilter's memory (then it is off: pass everything).
    pub(crate) fn filter(&mut self, batch: &RecordBatch) -> Result<Option<RecordBatch>> {
        let n = batch.num_rows();
        let keys = self
            .partition_by
            .iter()
            .map(|e| e.evaluate_to_array(batch))
            .collect::<Result<Vec<_>>>()?;
        self.interner.intern(&keys, n, &mut self.ids)?;
        let groups = self.interner.num_groups();
        let k = self.spec.k;
        if self.counts.len() < groups {
            let state = groups * (k * 16 + 4) + self.interner.size();
            if self.reservation.try_resize(state).is_err() {
                return Ok(None);
            }
            self.counts.resize(groups, 0);
            self.best.resize(groups * k, 0);
        }
        let order = self.order_by.evaluate_to_array(batch)?;
        let sort_keys = sort_keys(&order, self.options)?;
        let mut keep = Vec::with_capacity(n);
        for (row, &g) in self.ids.iter().enumerate() {
            let g = g as usize;
            let key = sort_keys[row];
            let slots = &mut self.best[g * k..(g + 1) * k];
            let count = self.counts[g] as usize;
            // `slots[..count]` holds the smallest keys admitted so far, ascending.
            let admitted = if count < k {
                insert_sorted(&mut slots[..=count], key);
                self.counts[g] += 1;
                true
            } else if key < slots[k - 1] {
                insert_sorted(slots, key);
                true
            } else {
                self.spec.keep_ties && key == slots[k - 1]
            };
            keep.push(admitted);
        }
        if keep.iter().all(|k| *k) {
            return Ok(Some(batch.clone()));
        }
        Ok(Some(filter_record_batch(batch, &BooleanArray::from(keep))?))
    }
}

/// Puts `key` into the ascending `slots`, whose last slot is free or the one to drop.
fn insert_sorted(slots: &mut [u128], key: u128) {
    let mut i = slots.len() - 1;
    while i > 0 && slots[i - 1] > key {
        slots[i] = slots[i - 1];
        i -= 1;
    }
    slots[i] = key;
}

/// Order-preserving `u128` keys of `array` under `options`: ascending key order is the
/// window's ORDER BY order. NULLs sort first or last; `-0.0` equals `0.0` and NaNs are equal
/// and greatest, as in the sort.
fn sort_keys(array: &ArrayRef, options: SortOptions) -> Result<Vec<u128>> {
    let values: Vec<u64> = match array.data_type() {
        DataType::Float64 => array
            .as_primitive::<Float64Type>()
            .values()
            .iter()
            .map(|v| float_key(*v))
            .collect(),
        DataType::Float32 => array
            .as_primitive::<Float32Type>()
            .values()
            .iter()
            .map(|v| float_key(f64::from(*v)))
            .collect(),
        _ => {
            let ints = cast(array, &DataType::Int64)?;
            ints.as_primitive::<Int64Type>()
                .values()
                .iter()
                .map(|v| (*v as u64) ^ (1 << 63))
                .collect()
        }
    };
    // Value part in bits 0..64 (inverted when descending); NULLs below or above all values.
    let null_key: u128 = if options.nulls_first { 0 } else { 2 << 64 };
    Ok(values
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            if array.is_null(i) {
                null_key
            } else {
                let v = if options.descending { !v } else { v };
                (1 << 64) | u128::from(v)
            }
        })
        .collect())
}

/// The bits of `v` as an unsigned key in `f64::total_cmp` order, `-0.0` and NaNs normalised.
fn float_key(v: f64) -> u64 {
    let v = if v == 0.0 {
        0.0
    } else if v.is_nan() {
        f64::NAN
    } else {
        v
    };
    let bits = v.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Float64Array, Int64Array};
    use arrow::datatypes::{Field, Schema};

    use super::*;
    use crate::memory::MemoryPool;

    #[test]
    fn keys_follow_the_sort_order() {
        let a: ArrayRef = Arc::new(Float64Array::from(vec![
            Some(1.5),
            None,
            Some(-2.0),
            Some(-0.0),
            Some(0.0),
            Some(f64::NAN),
            Some(f64::INFINITY),
        ]));
        let asc = SortOptions {
            descending: false,
            nulls_first: false,
        };
        let k = sort_keys(&a, asc).unwrap();
        // -2 < -0 == 0 < 1.5 < inf < NaN < NULL
        assert!(k[2] < k[3] && k[3] == k[4] && k[4] < k[0] && k[0] < k[6]);
        assert!(k[6] < k[5] && k[5] < k[1]);
        let desc = SortOptions {
            descending: true,
            nulls_first: true,
        };
        let k = sort_keys(&a, desc).unwrap();
        assert!(k[1] < k[5] && k[5] < k[6] && k[6] < k[0] && k[0] < k[4] && k[4] < k[2]);
        let i: ArrayRef = Arc::new(Int64Array::from(vec![i64::MIN, -1, 0, i64::MAX]));
        let k = sort_keys(&i, asc).unwrap();
        assert!(k.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn drops_only_rows_that_cannot_make_the_top_k() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("g", DataType::Int64, false),
            Field::new("v", DataType::Int64, true),
        ]));
        let batch = |g: Vec<i64>, v: Vec<Option<i64>>| {
            RecordBatch::try_new(
                Arc::clone(&schema),
                vec![Arc::new(Int64Array::from(g)), Arc::new(Int64Array::from(v))],
            )
            .unwrap()
        };
        let desc = SortOptions {
            descending: true,
            nulls_first: false,
        };
        let values = |b: &RecordBatch| -> Vec<Option<i64>> {
            b.column(1).as_primitive::<Int64Type>().iter().collect()
        };
        for keep_ties in [false, true] {
            let pool = MemoryPool::new(1 << 20);
            let mut f = TopKPrefilter::try_new(
                TopKPerPartition { k: 2, keep_ties },
                vec![PhysicalExpr::Column(0)],
                &[DataType::Int64],
                PhysicalExpr::Column(1),
                desc,
                pool.reservation("test"),
            )
            .unwrap();
            let out = f
                .filter(&batch(
                    vec![1, 1, 1, 2, 1],
                    vec![Some(5), Some(7), Some(3), None, Some(6)],
                ))
                .unwrap()
                .unwrap();
            // Group 1 keeps 5, 7 (the first two), drops 3 (two better seen), keeps 6.
            assert_eq!(values(&out), vec![Some(5), Some(7), None, Some(6)]);
            let out = f
                .filter(&batch(
                    vec![1, 1, 2, 2],
                    vec![Some(6), Some(8), Some(1), None],
                ))
                .unwrap()
                .unwrap();
            // Best of group 1 so far: 7, 6. A 6 ties the second: kept only for rank.
            // Group 2: NULL (last), then 1 beats it; a second NULL ties the worst.
            let want = if keep_ties {
                vec![Some(6), Some(8), Some(1), None]
            } else {
                vec![Some(8), Some(1)]
            };
            assert_eq!(values(&out), want, "keep_ties {keep_ties}");
        }
    }

    #[test]
    fn refused_memory_turns_the_prefilter_off() {
        let schema = Arc::new(Schema::new(vec![Field::new("g", DataType::Int64, false)]));
        let b = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![Arc::new(Int64Array::from_iter_values(0..1000))],
        )
        .unwrap();
        let pool = MemoryPool::new(100);
        let mut f = TopKPrefilter::try_new(
            TopKPerPartition {
                k: 1,
                keep_ties: false,
            },
            vec![PhysicalExpr::Column(0)],
            &[DataType::Int64],
            PhysicalExpr::Column(0),
            SortOptions::default(),
            pool.reservation("test"),
        )
        .unwrap();
        assert!(f.filter(&b).unwrap().is_none());
    }
}
