//! Accumulators whose state is not a fixed-size number per group: `median` (value lists),
//! `first`/`last`/`any_value` (references to kept rows), `string_agg` (ordered segments) and
//! the `DISTINCT` wrapper (a set of `(group, value)` pairs).

use std::any::Any;
use std::borrow::Cow;
use std::sync::Arc;

use arrow::array::{
    new_empty_array, new_null_array, Array, ArrayRef, AsArray, BooleanArray, Float64Array,
    LargeListArray, LargeStringBuilder, StringArray, UInt32Array, UInt64Array,
};
use arrow::buffer::{OffsetBuffer, ScalarBuffer};
use arrow::compute::{cast, concat, filter, interleave, lexsort_to_indices, take, SortColumn};
use arrow::datatypes::Field;
use arrow::datatypes::{DataType, Float64Type, UInt32Type, UInt64Type};
use rask_common::{internal_err, Result};
use rask_expr::AggFunc;

use super::accumulators::{
    arg, create_accumulator, downcast, for_each_bytes, for_each_valid, nulls_of, prepare, AccSpec,
    GroupsAcc,
};
use super::global_spill::{
    distinct_of, spilled_quantile, write_distinct, write_run, GlobalSpill, PARTS,
};
use super::group_keys::{new_interner, GroupInterner};
use super::partition_of;
use crate::hash::hash_rows;
use crate::memory::array_memory;
use crate::spill::SpillFile;
use rayon::prelude::*;

/// Row positions (`ord`) carry the work item in their bits above this one, the row's offset
/// within the item below.
pub(crate) const ITEM_SHIFT: u32 = 36;

/// Per-group lists as one spilled state column: group `g`'s items are
/// `values[offsets[g]..offsets[g + 1]]`.
fn list_state(offsets: Vec<i64>, values: ArrayRef) -> Result<ArrayRef> {
    let field = Arc::new(Field::new_list_field(values.data_type().clone(), true));
    let offsets = OffsetBuffer::new(ScalarBuffer::from(offsets));
    Ok(Arc::new(LargeListArray::try_new(
        field, offsets, values, None,
    )?))
}

/// State column `i` (from [`list_state`]) read back: offsets from 0, and the values.
fn list_parts(state: &[ArrayRef], i: usize) -> Result<(Vec<usize>, ArrayRef)> {
    let Some(list) = state.get(i).and_then(|a| a.as_list_opt::<i64>()) else {
        return internal_err!("spilled aggregate state column {i} is not a list");
    };
    let offs = list.value_offsets();
    let base = offs.first().copied().unwrap_or(0);
    let end = offs.last().copied().unwrap_or(0);
    let offsets = offs.iter().map(|&o| (o - base) as usize).collect();
    let values = list.values().slice(base as usize, (end - base) as usize);
    Ok((offsets, values))
}

/// `values` split into `parts` arrays by the hash of each value (equal values together).
fn split_by_hash(values: &ArrayRef, parts: usize) -> Result<Vec<ArrayRef>> {
    let hashes = hash_rows(std::slice::from_ref(values), values.len())?;
    let mut rows: Vec<Vec<u32>> = vec![Vec::new(); parts];
    for (i, &h) in hashes.iter().enumerate() {
        rows[partition_of(h, parts)].push(i as u32);
    }
    rows.into_iter()
        .map(|r| Ok(take(values.as_ref(), &UInt32Array::from(r), None)?))
        .collect()
}

/// Row positions sorted by group (stably, groups `0..n`) and where each group starts: group
/// `g`'s rows are `order[offsets[g]..offsets[g + 1]]`.
fn group_order(gids: &[u32], n: usize) -> Result<(Vec<i64>, Vec<u32>)> {
    let mut offsets = vec![0i64; n + 1];
    for &g in gids {
        match offsets.get_mut(g as usize + 1) {
            Some(c) => *c += 1,
            None => return internal_err!("group {g} out of range ({n} groups)"),
        }
    }
    for g in 0..n {
        offsets[g + 1] += offsets[g];
    }
    let mut next: Vec<i64> = offsets[..n].to_vec();
    let mut order = vec![0u32; gids.len()];
    for (i, &g) in gids.iter().enumerate() {
        let at = &mut next[g as usize];
        order[*at as usize] = i as u32;
        *at += 1;
    }
    Ok((offsets, order))
}

// ---------------------------------------------------------------------------------------------
// median

/// Exact `median` and `quantile_cont(x, q)`: collects every value, then selects per group.
/// The `q`-quantile sits at position `q * (len - 1)` of the sorted values, interpolated
/// linearly between its two neighbours (pandas' and DuckDB's `quantile_cont` rule); the
/// median is `q = 0.5`, the mean of the two middle values for even counts.
///
/// Spills its state as one `LargeList<Float64>` column: each group's values. In a global
/// aggregation, writes its values out as runs instead (see `global_spill`).
pub(crate) struct MedianAcc {
    q: f64,
    groups: usize,
    gids: Vec<u32>,
    vals: Vec<f64>,
    /// After `freeze`: values grouped, group `g` at `offsets[g]..offsets[g + 1]`.
    frozen: Option<(Vec<usize>, Vec<f64>)>,
    /// A global aggregation's values written out, and where to.
    runs: Vec<Arc<SpillFile>>,
    spill: Option<GlobalSpill>,
}

impl Default for MedianAcc {
    fn default() -> Self {
        MedianAcc::quantile(0.5)
    }
}

impl MedianAcc {
    /// The `q`-quantile (`0 <= q <= 1`, checked by the caller).
    pub(crate) fn quantile(q: f64) -> Self {
        MedianAcc {
            q,
            groups: 0,
            gids: Vec::new(),
            vals: Vec::new(),
            frozen: None,
            runs: Vec::new(),
            spill: None,
        }
    }

    fn push_group_sorted(&mut self) {
        // Bring back frozen values before adding more.
        if let Some((offsets, vals)) = self.frozen.take() {
            for g in 0..offsets.len().saturating_sub(1) {
                for &v in &vals[offsets[g]..offsets[g + 1]] {
                    self.gids.push(g as u32);
                    self.vals.push(v);
                }
            }
        }
    }

    fn group_values(&mut self) {
        if self.frozen.is_some() && self.gids.is_empty() {
            return;
        }
        self.push_group_sorted();
        let n = self.groups;
        let mut offsets = vec![0usize; n + 1];
        for &g in &self.gids {
            offsets[g as usize + 1] += 1;
        }
        for g in 0..n {
            offsets[g + 1] += offsets[g];
        }
        let mut pos = offsets.clone();
        let mut out = vec![0.0; self.vals.len()];
        for (&g, &v) in self.gids.iter().zip(&self.vals) {
            out[pos[g as usize]] = v;
            pos[g as usize] += 1;
        }
        self.gids = Vec::new();
        self.vals = Vec::new();
        self.frozen = Some((offsets, out));
    }
}

impl GroupsAcc for MedianAcc {
    fn update(&mut self, args: &[ArrayRef], ids: &[u32], n: usize, _ord: u64) -> Result<()> {
        self.push_group_sorted();
        self.groups = self.groups.max(n);
        let a = prepare(arg(args, 0)?, &DataType::Float64)?;
        let nulls = nulls_of(a.as_ref());
        let values = a.as_primitive::<Float64Type>().values();
        let (gids, vals) = (&mut self.gids, &mut self.vals);
        for_each_valid(ids, nulls.as_ref(), |i, g| {
            gids.push(g as u32);
            vals.push(values[i]);
        });
        Ok(())
    }

    fn freeze(&mut self) -> Result<()> {
        self.group_values();
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
        let Some((offsets, vals)) = &o.frozen else {
            return internal_err!("median state merged before it was frozen");
        };
        self.push_group_sorted();
        self.groups = self.groups.max(n);
        self.runs.extend(o.runs.iter().cloned());
        if self.spill.is_none() {
            self.spill.clone_from(&o.spill);
        }
        for (&s, &d) in src.iter().zip(dst) {
            let s = s as usize;
            if s + 1 < offsets.len() {
                for &v in &vals[offsets[s]..offsets[s + 1]] {
                    self.gids.push(d);
                    self.vals.push(v);
                }
            }
        }
        Ok(())
    }

    fn evaluate(&mut self, n: usize) -> Result<ArrayRef> {
        self.groups = self.groups.max(n);
        self.group_values();
        let Some((offsets, vals)) = &mut self.frozen else {
            return internal_err!("median state missing");
        };
        let q = self.q;
        if let (Some(to), false) = (&self.spill, self.runs.is_empty()) {
            if n != 1 {
                return internal_err!("spilled median values of {n} groups");
            }
            let v = spilled_quantile(&vals[offsets[0]..offsets[1]], &self.runs, q, to)?;
            return Ok(Arc::new(Float64Array::from(vec![v])));
        }
        let out: Float64Array = (0..n)
            .map(|g| quantile_of(&mut vals[offsets[g]..offsets[g + 1]], q))
            .collect();
        Ok(Arc::new(out))
    }

    fn size(&self) -> usize {
        let frozen = self
            .frozen
            .as_ref()
            .map_or(0, |(o, v)| o.capacity() * 8 + v.capacity() * 8);
        self.gids.capacity() * 4 + self.vals.capacity() * 8 + frozen
    }

    fn take_state(&mut self, n: usize) -> Result<Option<Vec<ArrayRef>>> {
        self.groups = self.groups.max(n);
        self.group_values();
        let Some((offsets, vals)) = self.frozen.take() else {
            return internal_err!("median state missing");
        };
        self.groups = 0;
        let offsets: Vec<i64> = offsets.iter().take(n + 1).map(|&o| o as i64).collect();
        let end = offsets.last().map_or(0, |&o| o as usize);
        let values = Float64Array::from(vals[..end].to_vec());
        Ok(Some(vec![list_state(offsets, Arc::new(values))?]))
    }

    fn load_state(&self, state: &[ArrayRef]) -> Result<Box<dyn GroupsAcc>> {
        let (offsets, values) = list_parts(state, 0)?;
        let Some(values) = values.as_primitive_opt::<Float64Type>() else {
            return internal_err!("spilled median values are not doubles");
        };
        Ok(Box::new(MedianAcc {
            q: self.q,
            groups: offsets.len().saturating_sub(1),
            gids: Vec::new(),
            vals: Vec::new(),
            frozen: Some((offsets, values.values().to_vec())),
            runs: Vec::new(),
            spill: None,
        }))
    }

    fn spill_global(&mut self, to: &GlobalSpill) -> Result<bool> {
        self.push_group_sorted();
        if self.groups > 1 || self.vals.is_empty() {
            return Ok(false);
        }
        self.runs.push(write_run(to, &self.vals)?);
        self.spill = Some(to.clone());
        self.gids = Vec::new();
        self.vals = Vec::new();
        Ok(true)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The `q`-quantile of `s` (reordered in place) with linear interpolation; `None` when empty.
fn quantile_of(s: &mut [f64], q: f64) -> Option<f64> {
    let len = s.len();
    if len == 0 {
        return None;
    }
    let pos = q * (len - 1) as f64;
    // `pos` is in `0..=len - 1`, so both ranks are valid indices.
    let hi = (pos.ceil() as usize).min(len - 1);
    let lo = (pos.floor() as usize).min(hi);
    let (lower, m, _) = s.select_nth_unstable_by(hi, |a, b| a.total_cmp(b));
    let h = *m;
    if lo == hi {
        return Some(h);
    }
    // `lo == hi - 1`: the largest value below the `hi` rank.
    let l = lower.iter().copied().fold(f64::NEG_INFINITY, |a, b| {
        if a.total_cmp(&b).is_lt() {
            b
        } else {
            a
        }
    });
    Some(l + (h - l) * (pos - lo as f64))
}

// ---------------------------------------------------------------------------------------------
// first / last / any_value

/// Which row `ValueAcc` keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ValuePick {
    /// The first row in input order, NULL or not (DuckDB's `first`).
    First,
    /// The last row in input order, NULL or not.
    Last,
    /// The first non-NULL value (`any_value`).
    AnyNonNull,
}

/// `first`, `last`, `any_value` of any type: keeps the chosen rows in chunks (one `take` per
/// batch) and points at them; the result is one `interleave`.
pub(crate) struct ValueAcc {
    pick: ValuePick,
    data_type: DataType,
    chunks: Vec<ArrayRef>,
    /// `(chunk, row)` of each group's value, valid where `has`.
    refs: Vec<(usize, usize)>,
    ords: Vec<u64>,
    has: Vec<bool>,
    /// For `Last`: the batch in which a group last took a row.
    stamp: Vec<u32>,
    batch_no: u32,
    /// Kept rows no group points at any more.
    garbage: usize,
    bytes: usize,
}

impl ValueAcc {
    pub(crate) fn new(pick: ValuePick, data_type: DataType) -> Self {
        ValueAcc {
            pick,
            data_type,
            chunks: Vec::new(),
            refs: Vec::new(),
            ords: Vec::new(),
            has: Vec::new(),
            stamp: Vec::new(),
            batch_no: 0,
            garbage: 0,
            bytes: 0,
        }
    }

    fn resize(&mut self, n: usize) {
        self.refs.resize(n, (0, 0));
        self.ords.resize(n, 0);
        self.has.resize(n, false);
        if self.pick == ValuePick::Last {
            self.stamp.resize(n, 0);
        }
    }

    /// One array holding every group's value (NULL where there is none).
    fn gather(&mut self, n: usize) -> Result<ArrayRef> {
        self.resize(n);
        if self.chunks.is_empty() {
            return Ok(new_null_array(&self.data_type, n));
        }
        let null_chunk = self.chunks.len();
        let mut chunks: Vec<&dyn Array> = self.chunks.iter().map(|c| c.as_ref()).collect();
        let null = new_null_array(&self.data_type, 1);
        chunks.push(null.as_ref());
        let idx: Vec<(usize, usize)> = (0..n)
            .map(|g| {
                if self.has[g] {
                    self.refs[g]
                } else {
                    (null_chunk, 0)
                }
            })
            .collect();
        Ok(interleave(&chunks, &idx)?)
    }

    fn compact(&mut self) -> Result<()> {
        let n = self.has.len();
        let all = self.gather(n)?;
        for (g, r) in self.refs.iter_mut().enumerate() {
            *r = (0, g);
        }
        self.bytes = all.get_array_memory_size();
        self.chunks = vec![all];
        self.garbage = 0;
        Ok(())
    }
}

impl GroupsAcc for ValueAcc {
    fn update(&mut self, args: &[ArrayRef], ids: &[u32], n: usize, ord: u64) -> Result<()> {
        let a = prepare(arg(args, 0)?, &self.data_type)?;
        self.resize(n);
        let chunk = self.chunks.len();
        let mut rows: Vec<u32> = Vec::new();
        match self.pick {
            ValuePick::First | ValuePick::AnyNonNull => {
                let nulls = if self.pick == ValuePick::AnyNonNull {
                    nulls_of(a.as_ref())
                } else {
                    None
                };
                let (has, refs, ords) = (&mut self.has, &mut self.refs, &mut self.ords);
                for_each_valid(ids, nulls.as_ref(), |i, g| {
                    if !has[g] {
                        has[g] = true;
                        refs[g] = (chunk, rows.len());
                        ords[g] = ord + i as u64;
                        rows.push(i as u32);
                    }
                });
            }
            ValuePick::Last => {
                self.batch_no = self.batch_no.wrapping_add(1);
                if self.batch_no == 0 {
                    self.stamp.iter_mut().for_each(|s| *s = 0);
                    self.batch_no = 1;
                }
                for i in (0..ids.len()).rev() {
                    let g = ids[i] as usize;
                    if self.stamp[g] != self.batch_no {
                        self.stamp[g] = self.batch_no;
                        self.garbage += self.has[g] as usize;
                        self.has[g] = true;
                        self.refs[g] = (chunk, rows.len());
                        self.ords[g] = ord + i as u64;
                        rows.push(i as u32);
                    }
                }
            }
        }
        if !rows.is_empty() {
            let picked = take(a.as_ref(), &UInt32Array::from(rows), None)?;
            self.bytes += picked.get_array_memory_size();
            self.chunks.push(picked);
        }
        if self.garbage > 4096 && self.garbage > n {
            self.compact()?;
        }
        Ok(())
    }

    fn freeze(&mut self) -> Result<()> {
        if self.chunks.len() > 1 {
            self.compact()?;
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
        self.resize(n);
        let base = self.chunks.len();
        let mut used = false;
        for (&s, &d) in src.iter().zip(dst) {
            let (s, d) = (s as usize, d as usize);
            if !o.has[s] {
                continue;
            }
            let better = !self.has[d]
                || match self.pick {
                    ValuePick::Last => o.ords[s] > self.ords[d],
                    _ => o.ords[s] < self.ords[d],
                };
            if better {
                let (c, r) = o.refs[s];
                self.refs[d] = (base + c, r);
                self.ords[d] = o.ords[s];
                self.has[d] = true;
                used = true;
            }
        }
        if used {
            self.chunks.extend(o.chunks.iter().cloned());
        }
        Ok(())
    }

    fn evaluate(&mut self, n: usize) -> Result<ArrayRef> {
        self.gather(n)
    }

    fn size(&self) -> usize {
        self.refs.capacity() * 16
            + self.ords.capacity() * 8
            + self.has.capacity()
            + self.stamp.capacity() * 4
            + self.bytes
    }

    fn take_state(&mut self, n: usize) -> Result<Option<Vec<ArrayRef>>> {
        let values = self.gather(n)?;
        let state = vec![
            values,
            super::accumulators::state_col::<UInt64Type>(std::mem::take(&mut self.ords)),
            super::accumulators::state_flags(&self.has),
        ];
        *self = ValueAcc::new(self.pick, self.data_type.clone());
        Ok(Some(state))
    }

    fn load_state(&self, state: &[ArrayRef]) -> Result<Box<dyn GroupsAcc>> {
        let Some(values) = state.first() else {
            return internal_err!("spilled first/last state without values");
        };
        let ords = super::accumulators::state_vec::<UInt64Type>(state, 1)?;
        let has = super::accumulators::state_bools(state, 2)?;
        let n = has.len();
        let mut acc = ValueAcc::new(self.pick, self.data_type.clone());
        acc.bytes = values.get_array_memory_size();
        acc.chunks = vec![Arc::clone(values)];
        acc.refs = (0..n).map(|g| (0, g)).collect();
        acc.ords = ords;
        acc.has = has;
        if acc.pick == ValuePick::Last {
            acc.stamp = vec![0; n];
        }
        Ok(Box::new(acc))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

// ---------------------------------------------------------------------------------------------
// string_agg

/// `string_agg(x, sep)`: non-NULL values joined by `sep` in input order. Each group keeps
/// segments `(position of first row, text)`, one per work item, sorted when evaluated, so
/// the order survives parallel execution.
pub(crate) struct StringAggAcc {
    sep: String,
    segs: Vec<Vec<(u64, String)>>,
    heap: usize,
}

impl StringAggAcc {
    pub(crate) fn new(sep: String) -> Self {
        StringAggAcc {
            sep,
            segs: Vec::new(),
            heap: 0,
        }
    }
}

impl GroupsAcc for StringAggAcc {
    fn update(&mut self, args: &[ArrayRef], ids: &[u32], n: usize, ord: u64) -> Result<()> {
        let a = arg(args, 0)?;
        let a = match a.data_type() {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Arc::clone(a),
            _ => cast(a, &DataType::Utf8)?,
        };
        self.segs.resize_with(n, Vec::new);
        let (segs, sep, heap) = (&mut self.segs, &self.sep, &mut self.heap);
        for_each_bytes(a.as_ref(), |i, v| {
            let v: Cow<str> = String::from_utf8_lossy(v);
            let pos = ord + i as u64;
            let seg = &mut segs[ids[i] as usize];
            match seg.last_mut() {
                Some((start, s)) if *start >> ITEM_SHIFT == pos >> ITEM_SHIFT => {
                    s.push_str(sep);
                    s.push_str(&v);
                    *heap += sep.len() + v.len();
                }
                _ => {
                    *heap += v.len() + 32;
                    seg.push((pos, v.into_owned()));
                }
            }
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
        self.segs.resize_with(n, Vec::new);
        for (&s, &d) in src.iter().zip(dst) {
            for seg in &o.segs[s as usize] {
                self.heap += seg.1.len() + 32;
                self.segs[d as usize].push(seg.clone());
            }
        }
        Ok(())
    }

    fn evaluate(&mut self, n: usize) -> Result<ArrayRef> {
        self.segs.resize_with(n, Vec::new);
        let out: StringArray = self
            .segs
            .iter_mut()
            .map(|segs| {
                if segs.is_empty() {
                    return None;
                }
                segs.sort_by_key(|s| s.0);
                Some(
                    segs.iter()
                        .map(|s| s.1.as_str())
                        .collect::<Vec<_>>()
                        .join(&self.sep),
                )
            })
            .collect();
        Ok(Arc::new(out))
    }

    fn size(&self) -> usize {
        self.segs.capacity() * 24 + self.heap
    }

    /// Two list columns: each group's segment positions and texts.
    fn take_state(&mut self, n: usize) -> Result<Option<Vec<ArrayRef>>> {
        self.segs.resize_with(n, Vec::new);
        let segs = std::mem::take(&mut self.segs);
        self.heap = 0;
        let mut offsets = Vec::with_capacity(n + 1);
        offsets.push(0i64);
        let mut pos = Vec::new();
        let mut text = LargeStringBuilder::new();
        for g in &segs[..n] {
            for (p, t) in g {
                pos.push(*p);
                text.append_value(t);
            }
            offsets.push(pos.len() as i64);
        }
        Ok(Some(vec![
            list_state(offsets.clone(), Arc::new(UInt64Array::from(pos)))?,
            list_state(offsets, Arc::new(text.finish()))?,
        ]))
    }

    fn load_state(&self, state: &[ArrayRef]) -> Result<Box<dyn GroupsAcc>> {
        let (offsets, pos) = list_parts(state, 0)?;
        let (_, text) = list_parts(state, 1)?;
        let (Some(pos), Some(text)) = (
            pos.as_primitive_opt::<UInt64Type>(),
            text.as_string_opt::<i64>(),
        ) else {
            return internal_err!("spilled string_agg state has the wrong types");
        };
        let mut heap = 0;
        let segs = offsets
            .windows(2)
            .map(|w| {
                (w[0]..w[1])
                    .map(|i| {
                        let t = text.value(i).to_string();
                        heap += t.len() + 32;
                        (pos.value(i), t)
                    })
                    .collect()
            })
            .collect();
        Ok(Box::new(StringAggAcc {
            sep: self.sep.clone(),
            segs,
            heap,
        }))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

// ---------------------------------------------------------------------------------------------
// DISTINCT

/// `agg(DISTINCT x)`: the set of `(group, x)` pairs, interned with the group-key machinery;
/// the aggregate itself runs over the set when evaluated. Merging unions the sets. In a
/// global aggregation, writes its values out split by hash instead (see `global_spill`).
pub(crate) struct DistinctAcc {
    spec: AccSpec,
    value_type: DataType,
    pairs: Option<Box<dyn GroupInterner>>,
    pair_ids: Vec<u32>,
    /// After `freeze`: the pairs as (group ids, values).
    frozen: Option<Vec<ArrayRef>>,
    /// A global aggregation's values written out: per hash partition, its files.
    parts: Vec<Vec<Arc<SpillFile>>>,
    spill: Option<GlobalSpill>,
    /// Values of other tables merged into a table of one group (a global aggregation's
    /// workers), not yet de-duplicated: evaluation does that for all of them at once, in
    /// parallel by hash partition, instead of interning them one table after another.
    pending: Vec<ArrayRef>,
}

impl DistinctAcc {
    pub(crate) fn new(mut spec: AccSpec, value_type: DataType) -> Self {
        spec.distinct = false;
        DistinctAcc {
            spec,
            value_type,
            pairs: None,
            pair_ids: Vec::new(),
            frozen: None,
            parts: Vec::new(),
            spill: None,
            pending: Vec::new(),
        }
    }

    /// Interns the pending values (into group 0).
    fn flush_pending(&mut self) -> Result<()> {
        for values in std::mem::take(&mut self.pending) {
            let gids = UInt32Array::from(vec![0u32; values.len()]);
            self.add(Arc::new(gids), values)?;
        }
        Ok(())
    }

    /// Evaluates one group whose values are in the table and `pending`: split by hash into
    /// partitions, de-duplicated partition by partition in parallel, then aggregated.
    fn evaluate_pending(&mut self) -> Result<ArrayRef> {
        let mut arrays = std::mem::take(&mut self.pending);
        if let Some(values) = self.take_pairs()?.and_then(|c| c.into_iter().nth(1)) {
            arrays.push(values);
        }
        let parts = rayon::current_num_threads().max(1) * 4;
        let split = arrays
            .par_iter()
            .map(|a| split_by_hash(a, parts))
            .collect::<Result<Vec<_>>>()?;
        let value_type = &self.value_type;
        let mut distinct = (0..parts)
            .into_par_iter()
            .map(|p| {
                let mut set = new_interner(std::slice::from_ref(value_type), false)?;
                let mut ids = Vec::new();
                for s in &split {
                    if let Some(a) = s.get(p).filter(|a| !a.is_empty()) {
                        set.intern(std::slice::from_ref(a), a.len(), &mut ids)?;
                    }
                }
                match set.emit()?.into_iter().next() {
                    Some(values) => Ok(values),
                    None => internal_err!("distinct set without a column"),
                }
            })
            .collect::<Result<Vec<_>>>()?;
        if self.spec.func == AggFunc::StringAgg {
            // Joined sorted, as in memory.
            let refs: Vec<&dyn Array> = distinct.iter().map(|a| a.as_ref()).collect();
            let all = concat(&refs)?;
            let order = lexsort_to_indices(
                &[SortColumn {
                    values: Arc::clone(&all),
                    options: None,
                }],
                None,
            )?;
            distinct = vec![take(all.as_ref(), &order, None)?];
        }
        self.aggregate_one_group(distinct.into_iter().map(Ok))
    }

    /// The aggregate of one group's distinct values, given in pieces.
    fn aggregate_one_group(
        &self,
        pieces: impl Iterator<Item = Result<ArrayRef>>,
    ) -> Result<ArrayRef> {
        let mut inner = create_accumulator(&self.spec, std::slice::from_ref(&self.value_type))?;
        let empty = new_null_array(&self.value_type, 0);
        inner.update(&[empty], &[], 1, 0)?;
        for values in pieces {
            let values = values?;
            let gids = vec![0u32; values.len()];
            inner.update(&[values], &gids, 1, 0)?;
        }
        inner.evaluate(1)
    }

    /// Takes the table's pairs (group ids, values), frozen or not; `None` when empty.
    fn take_pairs(&mut self) -> Result<Option<Vec<ArrayRef>>> {
        self.pair_ids = Vec::new();
        Ok(match (self.frozen.take(), self.pairs.take()) {
            (Some(c), _) => Some(c),
            (None, Some(p)) => Some(p.emit()?),
            (None, None) => None,
        })
    }

    /// Evaluates a global aggregation whose values were written out: what is still in
    /// memory is written too, then each partition's distinct values feed the aggregate.
    fn evaluate_spilled(&mut self, to: &GlobalSpill) -> Result<ArrayRef> {
        self.spill_global(to)?;
        let pieces = self
            .parts
            .iter()
            .map(|files| distinct_of(files, &self.value_type, to));
        self.aggregate_one_group(pieces)
    }

    fn add(&mut self, gids: ArrayRef, values: ArrayRef) -> Result<()> {
        let pairs = match &mut self.pairs {
            Some(p) => p,
            None => self.pairs.insert(new_interner(
                &[DataType::UInt32, self.value_type.clone()],
                false,
            )?),
        };
        let n = gids.len();
        pairs.intern(&[gids, values], n, &mut self.pair_ids)
    }
}

impl GroupsAcc for DistinctAcc {
    fn update(&mut self, args: &[ArrayRef], ids: &[u32], _n: usize, _ord: u64) -> Result<()> {
        let a = prepare(arg(args, 0)?, &self.value_type)?;
        let (a, gids) = match nulls_of(a.as_ref()) {
            None => (a, UInt32Array::from(ids.to_vec())),
            Some(nulls) => {
                let mask = BooleanArray::new(nulls.inner().clone(), None);
                let gids: Vec<u32> = nulls.valid_indices().map(|i| ids[i]).collect();
                (filter(a.as_ref(), &mask)?, UInt32Array::from(gids))
            }
        };
        self.add(Arc::new(gids), a)
    }

    fn freeze(&mut self) -> Result<()> {
        self.flush_pending()?;
        if let Some(p) = &self.pairs {
            self.frozen = Some(p.emit()?);
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
        if !o.parts.is_empty() {
            self.parts.resize_with(PARTS, Vec::new);
            for (mine, theirs) in self.parts.iter_mut().zip(&o.parts) {
                mine.extend(theirs.iter().cloned());
            }
        }
        if self.spill.is_none() {
            self.spill.clone_from(&o.spill);
        }
        let Some(cols) = &o.frozen else {
            if o.pairs.is_some() {
                return internal_err!("distinct state merged before it was frozen");
            }
            return Ok(());
        };
        let [gcol, values] = cols.as_slice() else {
            return internal_err!("distinct state has {} columns", cols.len());
        };
        let max = src.iter().copied().max().map_or(0, |m| m as usize + 1);
        let mut lut = vec![u32::MAX; max];
        for (&s, &d) in src.iter().zip(dst) {
            lut[s as usize] = d;
        }
        let g = gcol.as_primitive::<UInt32Type>();
        let keep: BooleanArray = g
            .values()
            .iter()
            .map(|&x| Some(lut.get(x as usize).is_some_and(|&d| d != u32::MAX)))
            .collect();
        let mapped: Vec<u32> = g
            .values()
            .iter()
            .filter_map(|&x| lut.get(x as usize).copied().filter(|&d| d != u32::MAX))
            .collect();
        if mapped.is_empty() {
            return Ok(());
        }
        let values = if keep.true_count() == keep.len() {
            Arc::clone(values)
        } else {
            filter(values.as_ref(), &keep)?
        };
        if n == 1 {
            self.pending.push(values);
            return Ok(());
        }
        self.add(Arc::new(UInt32Array::from(mapped)), values)
    }

    fn evaluate(&mut self, n: usize) -> Result<ArrayRef> {
        if let (Some(to), false) = (self.spill.clone(), self.parts.is_empty()) {
            if n != 1 {
                return internal_err!("spilled distinct values of {n} groups");
            }
            return self.evaluate_spilled(&to);
        }
        if !self.pending.is_empty() {
            if n == 1 {
                return self.evaluate_pending();
            }
            self.flush_pending()?;
        }
        let value_type = self.value_type.clone();
        let mut inner = create_accumulator(&self.spec, std::slice::from_ref(&value_type))?;
        match &self.pairs {
            Some(p) => {
                let cols = p.emit()?;
                let [gcol, values] = cols.as_slice() else {
                    return internal_err!("distinct state has {} columns", cols.len());
                };
                if self.spec.func == AggFunc::StringAgg {
                    // Workers meet values in any order: join distinct values sorted (as
                    // Postgres does), so the result does not depend on scheduling.
                    let order = lexsort_to_indices(
                        &[
                            SortColumn {
                                values: Arc::clone(gcol),
                                options: None,
                            },
                            SortColumn {
                                values: Arc::clone(values),
                                options: None,
                            },
                        ],
                        None,
                    )?;
                    let g = take(gcol.as_ref(), &order, None)?;
                    let v = take(values.as_ref(), &order, None)?;
                    let gids = g.as_primitive::<UInt32Type>().values();
                    inner.update(std::slice::from_ref(&v), gids, n, 0)?;
                } else {
                    let gids = gcol.as_primitive::<UInt32Type>().values();
                    inner.update(std::slice::from_ref(values), gids, n, 0)?;
                }
            }
            None => {
                let empty = new_null_array(&value_type, 0);
                inner.update(&[empty], &[], n, 0)?;
            }
        }
        inner.evaluate(n)
    }

    fn size(&self) -> usize {
        self.pairs.as_ref().map_or(0, |p| p.size())
            + self
                .pending
                .iter()
                .map(|a| array_memory(a.as_ref()))
                .sum::<usize>()
            + self.pair_ids.capacity() * 4
            + self
                .frozen
                .as_ref()
                .map_or(0, |c| c.iter().map(|a| a.get_array_memory_size()).sum())
    }

    /// One list column: each group's distinct values.
    fn take_state(&mut self, n: usize) -> Result<Option<Vec<ArrayRef>>> {
        self.flush_pending()?;
        let cols = match self.take_pairs()? {
            Some(c) => c,
            None => vec![
                Arc::new(UInt32Array::from(Vec::<u32>::new())) as ArrayRef,
                new_empty_array(&self.value_type),
            ],
        };
        let [gcol, values] = cols.as_slice() else {
            return internal_err!("distinct state has {} columns", cols.len());
        };
        let (offsets, order) = group_order(gcol.as_primitive::<UInt32Type>().values(), n)?;
        let values = take(values.as_ref(), &UInt32Array::from(order), None)?;
        Ok(Some(vec![list_state(offsets, values)?]))
    }

    fn load_state(&self, state: &[ArrayRef]) -> Result<Box<dyn GroupsAcc>> {
        let (offsets, values) = list_parts(state, 0)?;
        let mut gids = Vec::with_capacity(values.len());
        for (g, w) in offsets.windows(2).enumerate() {
            gids.extend(std::iter::repeat_n(g as u32, w[1] - w[0]));
        }
        Ok(Box::new(DistinctAcc {
            spec: self.spec.clone(),
            value_type: self.value_type.clone(),
            pairs: None,
            pair_ids: Vec::new(),
            frozen: Some(vec![Arc::new(UInt32Array::from(gids)), values]),
            parts: Vec::new(),
            spill: None,
            pending: Vec::new(),
        }))
    }

    /// `string_agg(DISTINCT ..)` joins the values sorted, which partitions by hash would
    /// not give: it keeps them.
    fn spill_global(&mut self, to: &GlobalSpill) -> Result<bool> {
        if self.spec.func == AggFunc::StringAgg {
            return Ok(false);
        }
        let mut all = std::mem::take(&mut self.pending);
        if let Some(cols) = self.take_pairs()? {
            let [_, values] = cols.as_slice() else {
                return internal_err!("distinct state has {} columns", cols.len());
            };
            all.push(Arc::clone(values));
        }
        all.retain(|v| !v.is_empty());
        if all.is_empty() {
            return Ok(false);
        }
        self.parts.resize_with(PARTS, Vec::new);
        for values in &all {
            let files = write_distinct(to, values)?;
            for (part, file) in self.parts.iter_mut().zip(files) {
                part.extend(file);
            }
        }
        self.spill = Some(to.clone());
        Ok(true)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
