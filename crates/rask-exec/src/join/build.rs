//! The build phase: workers collect build batches with their key columns (and key hashes),
//! `finish` concatenates them and indexes every build row once.

use std::any::Any;
use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, RecordBatchOptions};
use arrow::buffer::NullBuffer;
use arrow::compute::concat;
use arrow::datatypes::*;
use hashbrown::hash_table::{Entry, HashTable};
use rask_common::{internal_err, Error, Result};
use rayon::prelude::*;

use super::probe::ProbeExec;
use super::runtime_filter::RuntimeFilter;
use super::{BuildOutput, IndexKind, JoinCore, JoinRun};
use crate::executor::{Sink, SinkLocal, StreamOperator, TaskContext};
use crate::hash::{hash_columns, HashValue};
use crate::memory::{array_memory, batch_memory, Reservation};
use crate::physical_expr::PhysicalExpr;

/// End of a chain / no row.
pub(super) const NONE: u32 = u32::MAX;

/// A single integer key spanning at most `DENSE_SLACK * rows + DENSE_MIN` values (and at
/// most `DENSE_MAX`) is indexed by `key - min` directly, without hashing.
const DENSE_SLACK: i128 = 4;
const DENSE_MIN: i128 = 4096;
const DENSE_MAX: i128 = 1 << 25;

/// Whether the hash join can hash and compare keys of type `t` (the planner falls back to a
/// nested loop join for others).
pub fn is_hashable_key_type(t: &DataType) -> bool {
    use DataType::*;
    match t {
        Null
        | Boolean
        | Int8
        | Int16
        | Int32
        | Int64
        | UInt8
        | UInt16
        | UInt32
        | UInt64
        | Float32
        | Float64
        | Date32
        | Date64
        | Decimal128(_, _)
        | Timestamp(_, _)
        | Utf8
        | LargeUtf8
        | Binary
        | Utf8View
        | BinaryView => true,
        Dictionary(_, v) => is_hashable_key_type(v),
        _ => false,
    }
}

/// Key types the integer paths (direct index, or a table on the value) handle.
pub(super) fn is_int_key(t: &DataType) -> bool {
    use DataType::*;
    matches!(
        t,
        Int8 | Int16
            | Int32
            | Int64
            | UInt8
            | UInt16
            | UInt32
            | UInt64
            | Date32
            | Date64
            | Timestamp(_, _)
            | Time32(_)
            | Time64(_)
            | Duration(_)
    )
}

/// The values of an integer-like key as `i64` (bit-preserving for `UInt64`), borrowed when
/// the array already holds 64-bit values. Null slots hold arbitrary values.
pub(super) fn int_keys(a: &dyn Array) -> Result<Cow<'_, [i64]>> {
    macro_rules! widen {
        ($t:ty) => {
            Cow::Owned(
                a.as_primitive::<$t>()
                    .values()
                    .iter()
                    .map(|v| *v as i64)
                    .collect(),
            )
        };
    }
    macro_rules! same {
        ($t:ty) => {
            Cow::Borrowed(a.as_primitive::<$t>().values().as_ref())
        };
    }
    Ok(match a.data_type() {
        DataType::Int8 => widen!(Int8Type),
        DataType::Int16 => widen!(Int16Type),
        DataType::Int32 => widen!(Int32Type),
        DataType::Int64 => same!(Int64Type),
        DataType::UInt8 => widen!(UInt8Type),
        DataType::UInt16 => widen!(UInt16Type),
        DataType::UInt32 => widen!(UInt32Type),
        DataType::UInt64 => widen!(UInt64Type),
        DataType::Date32 => widen!(Date32Type),
        DataType::Date64 => same!(Date64Type),
        DataType::Timestamp(TimeUnit::Second, _) => same!(TimestampSecondType),
        DataType::Timestamp(TimeUnit::Millisecond, _) => same!(TimestampMillisecondType),
        DataType::Timestamp(TimeUnit::Microsecond, _) => same!(TimestampMicrosecondType),
        DataType::Timestamp(TimeUnit::Nanosecond, _) => same!(TimestampNanosecondType),
        DataType::Time32(TimeUnit::Second) => widen!(Time32SecondType),
        DataType::Time32(TimeUnit::Millisecond) => widen!(Time32MillisecondType),
        DataType::Time64(TimeUnit::Microsecond) => same!(Time64MicrosecondType),
        DataType::Time64(TimeUnit::Nanosecond) => same!(Time64NanosecondType),
        DataType::Duration(TimeUnit::Second) => same!(DurationSecondType),
        DataType::Duration(TimeUnit::Millisecond) => same!(DurationMillisecondType),
        DataType::Duration(TimeUnit::Microsecond) => same!(DurationMicrosecondType),
        DataType::Duration(TimeUnit::Nanosecond) => same!(DurationNanosecondType),
        other => return internal_err!("{other} is not an integer join key"),
    })
}

/// The hash of an integer key in the integer table.
#[inline(always)]
pub(super) fn int_hash(k: i64) -> u64 {
    k.hash64()
}

/// Rows whose key columns are all non-NULL (None: every row).
pub(super) fn key_validity(keys: &[ArrayRef]) -> Option<NullBuffer> {
    let mut acc: Option<NullBuffer> = None;
    for k in keys {
        let n = k.logical_nulls().filter(|n| n.null_count() > 0);
        acc = NullBuffer::union(acc.as_ref(), n.as_ref());
    }
    acc
}

/// How build rows are found from a probe key.
pub(super) enum BuildIndex {
    /// No index: every build row is a candidate (nested loop).
    All,
    /// One integer key: `heads[key - min]` starts the chain of rows with that key.
    Dense {
        min: i64,
        heads: Vec<u32>,
        next: Vec<u32>,
    },
    /// One integer key: a table on the key value to the chain of rows with that key.
    Int {
        table: PartedTable<i64>,
        next: Vec<u32>,
    },
    /// Any keys: a table on the engine hash to the chain of rows with that hash; candidates
    /// need their keys verified.
    Hashed {
        table: PartedTable<u64>,
        next: Vec<u32>,
    },
}

/// A hash table of `(key, head of chain)` split by hash bits into a power of two of parts,
/// so that workers build the parts in parallel.
pub(super) struct PartedTable<K> {
    parts: Vec<HashTable<(K, u32)>>,
}

/// Bits 50.. of a hash pick the part: hashbrown uses the low bits for the bucket and the top
/// seven as the tag, so neither loses entropy within a part.
const PART_SHIFT: u32 = 50;

#[inline(always)]
fn part_of(hash: u64, parts: usize) -> usize {
    (hash >> PART_SHIFT) as usize & (parts - 1)
}

impl<K> PartedTable<K> {
    /// The part holding keys of hash `hash`.
    #[inline(always)]
    pub(super) fn part(&self, hash: u64) -> &HashTable<(K, u32)> {
        &self.parts[part_of(hash, self.parts.len())]
    }

    fn allocation_size(&self) -> usize {
        self.parts.iter().map(|t| t.allocation_size()).sum()
    }
}

/// How many parts to index `rows` build rows in: one per worker (a power of two, at most 64),
/// one for small inputs.
fn index_parts(rows: usize) -> usize {
    if rows < 1 << 16 {
        1
    } else {
        rayon::current_num_threads()
            .clamp(1, 64)
            .next_power_of_two()
    }
}

/// The chain links, written by the workers of disjoint parts.
fn new_links(n: usize) -> Vec<AtomicU32> {
    (0..n)
        .into_par_iter()
        .map(|_| AtomicU32::new(NONE))
        .collect()
}

fn into_links(next: Vec<AtomicU32>) -> Vec<u32> {
    next.into_par_iter().map(AtomicU32::into_inner).collect()
}

impl BuildIndex {
    fn size(&self) -> usize {
        match self {
            BuildIndex::All => 0,
            BuildIndex::Dense { heads, next, .. } => (heads.capacity() + next.capacity()) * 4,
            BuildIndex::Int { table, next } => table.allocation_size() + next.capacity() * 4,
            BuildIndex::Hashed { table, next } => table.allocation_size() + next.capacity() * 4,
        }
    }
}

/// Everything the probe phase needs from the build side.
pub(super) struct BuiltSide {
    /// All build rows.
    pub batch: RecordBatch,
    /// The build key columns over `batch`.
    pub keys: Vec<ArrayRef>,
    pub index: BuildIndex,
    /// Whether some build row has a NULL in a key column.
    pub has_null_key: bool,
    /// One flag per build row, set when it matched (only for joins that output build rows).
    pub matched: Vec<AtomicBool>,
    _reservation: Reservation,
}

/// State of one execution, shared by the build sink, the probe operator and the final step.
pub(super) struct JoinShared {
    pub core: Arc<JoinCore>,
    pub built: OnceLock<BuiltSide>,
}

impl JoinShared {
    pub(super) fn built(&self) -> Result<&BuiltSide> {
        self.built
            .get()
            .ok_or_else(|| Error::Internal("join probed before its build finished".into()))
    }
}

struct JoinState(Arc<JoinShared>);

pub(super) fn start(core: Arc<JoinCore>, _ctx: &TaskContext) -> Result<Arc<dyn JoinRun>> {
    Ok(Arc::new(JoinState(Arc::new(JoinShared {
        core,
        built: OnceLock::new(),
    }))))
}

impl JoinRun for JoinState {
    fn build_sink(&self) -> Arc<dyn Sink> {
        Arc::new(BuildSink {
            shared: Arc::clone(&self.0),
        })
    }
    fn probe_operator(&self) -> Result<Arc<dyn StreamOperator>> {
        self.0.built()?;
        Ok(Arc::new(ProbeExec::new(Arc::clone(&self.0))))
    }
    fn emits_after_probe(&self) -> bool {
        self.0.core.build_output != BuildOutput::Nothing
    }
    fn after_probe(&self) -> Result<Vec<RecordBatch>> {
        super::probe::emit_build_rows(&self.0)
    }
    fn publish_runtime_filters(&self) -> Result<()> {
        let filters = &self.0.core.spec.runtime_filters;
        if filters.is_empty() {
            return Ok(());
        }
        let built = self.0.built()?;
        for (key, slot) in filters {
            let Some(column) = built.keys.get(*key) else {
                return internal_err!("runtime filter on join key {key} of {}", built.keys.len());
            };
            slot.set(RuntimeFilter::from_keys(column)?.map(Arc::new));
        }
        Ok(())
    }
}

/// The build input's sink.
struct BuildSink {
    shared: Arc<JoinShared>,
}

impl std::fmt::Debug for BuildSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

struct BuildLocal {
    core: Arc<JoinCore>,
    batches: Vec<RecordBatch>,
    /// Key columns per batch.
    keys: Vec<Vec<ArrayRef>>,
    /// Key hashes of every row so far (hashed index only).
    hashes: Vec<u64>,
    scratch: Vec<u64>,
    reservation: Reservation,
}

/// Whether build keys of these types go to the hashed index (and so are hashed by workers).
fn uses_hashed_index(core: &JoinCore, keys: &[ArrayRef]) -> bool {
    core.index == IndexKind::Hash && !(keys.len() == 1 && is_int_key(keys[0].data_type()))
}

impl SinkLocal for BuildLocal {
    fn sink(&mut self, _item: usize, _partition: usize, batch: RecordBatch) -> Result<()> {
        let n = batch.num_rows();
        let keys = self
            .core
            .build_keys
            .iter()
            .map(|k| k.evaluate_to_array(&batch))
            .collect::<Result<Vec<_>>>()?;
        let mut bytes = batch_memory(&batch);
        if uses_hashed_index(&self.core, &keys) {
            hash_columns(&keys, n, &mut self.scratch)?;
            self.hashes.extend_from_slice(&self.scratch);
            bytes += n * 8;
        }
        // Key columns that are plain input columns share their buffers with the batch.
        bytes += keys
            .iter()
            .filter(|k| !batch.columns().iter().any(|c| Arc::ptr_eq(c, k)))
            .map(|k| array_memory(k.as_ref()))
            .sum::<usize>();
        self.reservation.try_grow(bytes)?;
        self.batches.push(batch);
        self.keys.push(keys);
        Ok(())
    }
    fn into_any(self: Box<Self>) -> Box<dyn Any + Send> {
        self
    }
}

impl Sink for BuildSink {
    fn make_local(&self, ctx: &TaskContext) -> Result<Box<dyn SinkLocal>> {
        Ok(Box::new(BuildLocal {
            core: Arc::clone(&self.shared.core),
            batches: Vec::new(),
            keys: Vec::new(),
            hashes: Vec::new(),
            scratch: Vec::new(),
            reservation: ctx.pool.reservation(self.shared.core.build_consumer()),
        }))
    }

    fn finish(
        &self,
        locals: Vec<Box<dyn SinkLocal>>,
        ctx: &TaskContext,
    ) -> Result<Vec<Vec<RecordBatch>>> {
        let core = &self.shared.core;
        let mut batches = Vec::new();
        let mut keys: Vec<Vec<ArrayRef>> = Vec::new();
        let mut hashes: Vec<u64> = Vec::new();
        let mut reservations = Vec::new();
        for l in locals {
            let l = match l.into_any().downcast::<BuildLocal>() {
                Ok(l) => l,
                Err(_) => return internal_err!("unexpected join build local"),
            };
            let l = *l;
            batches.extend(l.batches);
            keys.extend(l.keys);
            if hashes.is_empty() {
                hashes = l.hashes;
            } else {
                hashes.extend_from_slice(&l.hashes);
            }
            reservations.push(l.reservation);
        }
        let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
        if rows >= NONE as usize {
            return Err(Error::NotImplemented(format!(
                "a join build side of {rows} rows (at most {} are supported)",
                NONE - 1
            )));
        }
        let schema = Arc::clone(&core.build_schema);
        let batch = concat_all(&schema, &batches, rows)?;
        let keys: Vec<ArrayRef> = if batches.is_empty() {
            let empty = RecordBatch::new_empty(Arc::clone(&schema));
            core.build_keys
                .iter()
                .map(|k| k.evaluate_to_array(&empty))
                .collect::<Result<_>>()?
        } else {
            // A key that is a build column is that column of the concatenated batch.
            (0..core.build_keys.len())
                .into_par_iter()
                .map(|c| {
                    if let PhysicalExpr::Column(i) = &core.build_keys[c] {
                        if let Some(column) = batch.columns().get(*i) {
                            return Ok(Arc::clone(column));
                        }
                    }
                    let parts: Vec<&dyn Array> = keys.iter().map(|k| k[c].as_ref()).collect();
                    Ok(concat(&parts)?)
                })
                .collect::<Result<_>>()?
        };
        drop(batches);
        let validity = key_validity(&keys);
        let has_null_key = validity.is_some();
        let index = match core.index {
            IndexKind::All => BuildIndex::All,
            IndexKind::Hash if uses_hashed_index(core, &keys) => {
                if hashes.len() != rows {
                    return internal_err!("join build hashed {} of {rows} rows", hashes.len());
                }
                build_hashed(&hashes, validity.as_ref())
            }
            IndexKind::Hash => build_int(&int_keys(keys[0].as_ref())?, validity.as_ref()),
        };
        drop(hashes);
        let matched = if core.build_output == BuildOutput::Nothing {
            Vec::new()
        } else {
            (0..rows).map(|_| AtomicBool::new(false)).collect()
        };
        let mut reservation = ctx.pool.reservation(core.build_consumer());
        let key_bytes: usize = keys
            .iter()
            .filter(|k| !batch.columns().iter().any(|c| Arc::ptr_eq(c, k)))
            .map(|k| array_memory(k.as_ref()))
            .sum();
        let total = batch_memory(&batch) + key_bytes + index.size() + matched.len();
        // The locals' reservations covered the unconcatenated input; hold the final size now.
        drop(reservations);
        reservation.try_grow(total)?;
        let built = BuiltSide {
            batch,
            keys,
            index,
            has_null_key,
            matched,
            _reservation: reservation,
        };
        if self.shared.built.set(built).is_err() {
            return internal_err!("join build finished twice");
        }
        Ok(vec![])
    }

    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.shared.core.build_schema)
    }

    fn describe(&self) -> String {
        "JoinBuild".into()
    }
}

/// One batch of all build rows.
fn concat_all(schema: &SchemaRef, batches: &[RecordBatch], rows: usize) -> Result<RecordBatch> {
    if batches.len() == 1 {
        return Ok(batches[0].clone());
    }
    let columns = (0..schema.fields().len())
        .into_par_iter()
        .map(|c| {
            if batches.is_empty() {
                return Ok(arrow::array::new_empty_array(schema.field(c).data_type()));
            }
            let parts: Vec<&dyn Array> = batches.iter().map(|b| b.column(c).as_ref()).collect();
            Ok(concat(&parts)?)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(RecordBatch::try_new_with_options(
        Arc::clone(schema),
        columns,
        &RecordBatchOptions::new().with_row_count(Some(rows)),
    )?)
}

/// Chains rows in reverse so that each chain lists its rows in ascending order. Each of the
/// parts (a range of slots, or of hash bits) is built by one worker, which reads every key and
/// links the rows that fall in its part.
fn build_int(keys: &[i64], validity: Option<&NullBuffer>) -> BuildIndex {
    let n = keys.len();
    let valid = |r: usize| validity.is_none_or(|v| v.is_valid(r));
    const CHUNK: usize = 1 << 16;
    let (min, max, count) = keys
        .par_chunks(CHUNK)
        .enumerate()
        .map(|(c, chunk)| {
            let (mut min, mut max, mut count) = (i64::MAX, i64::MIN, 0usize);
            for (i, &k) in chunk.iter().enumerate() {
                if valid(c * CHUNK + i) {
                    min = min.min(k);
                    max = max.max(k);
                    count += 1;
                }
            }
            (min, max, count)
        })
        .reduce(
            || (i64::MAX, i64::MIN, 0),
            |a, b| (a.0.min(b.0), a.1.max(b.1), a.2 + b.2),
        );
    let parts = index_parts(n);
    let next = new_links(n);
    if count > 0 {
        let span = max as i128 - min as i128 + 1;
        if span <= DENSE_MAX && span <= DENSE_SLACK * count as i128 + DENSE_MIN {
            let span = span as usize;
            let mut heads = vec![NONE; span];
            let per = span.div_ceil(parts).max(1);
            heads
                .par_chunks_mut(per)
                .enumerate()
                .for_each(|(p, heads)| {
                    let lo = (p * per) as u64;
                    let len = heads.len() as u64;
                    for r in (0..n).rev() {
                        let slot = keys[r].wrapping_sub(min) as u64;
                        if slot.wrapping_sub(lo) < len && valid(r) {
                            let i = (slot - lo) as usize;
                            next[r].store(heads[i], Ordering::Relaxed);
                            heads[i] = r as u32;
                        }
                    }
                });
            return BuildIndex::Dense {
                min,
                heads,
                next: into_links(next),
            };
        }
    }
    BuildIndex::Int {
        table: build_parted(n, count, &valid, &|r| keys[r], &|&k| int_hash(k), &next),
        next: into_links(next),
    }
}

fn build_hashed(hashes: &[u64], validity: Option<&NullBuffer>) -> BuildIndex {
    let n = hashes.len();
    let valid = |r: usize| validity.is_none_or(|v| v.is_valid(r));
    let count = validity.map_or(n, |v| n - v.null_count());
    let next = new_links(n);
    BuildIndex::Hashed {
        table: build_parted(n, count, &valid, &|r| hashes[r], &|&h| h, &next),
        next: into_links(next),
    }
}

/// The table of the `count` valid rows of `0..n` on `key(row)`, in [`index_parts`] parts built
/// in parallel: each worker reads every row (in reverse, so chains list rows in ascending
/// order) and links, through `next`, those whose `hash` falls in its part.
fn build_parted<K: Copy + Eq + Send + Sync>(
    n: usize,
    count: usize,
    valid: &(impl Fn(usize) -> bool + Sync),
    key: &(impl Fn(usize) -> K + Sync),
    hash: &(impl Fn(&K) -> u64 + Sync),
    next: &[AtomicU32],
) -> PartedTable<K> {
    let parts = index_parts(n);
    let tables = (0..parts)
        .into_par_iter()
        .map(|p| {
            let mut table: HashTable<(K, u32)> = HashTable::with_capacity(count / parts + 16);
            for r in (0..n).rev() {
                let k = key(r);
                let h = hash(&k);
                if part_of(h, parts) != p || !valid(r) {
                    continue;
                }
                match table.entry(h, |e| e.0 == k, |e| hash(&e.0)) {
                    Entry::Occupied(mut o) => {
                        next[r].store(o.get().1, Ordering::Relaxed);
                        o.get_mut().1 = r as u32;
                    }
                    Entry::Vacant(v) => {
                        v.insert((k, r as u32));
                    }
                }
            }
            table
        })
        .collect();
    PartedTable { parts: tables }
}
