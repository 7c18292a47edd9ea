//! Group-key interning: maps every input row's key to a dense group id (`u32`).
//!
//! One implementation per key shape, picked by [`new_interner`] from the key types:
//!
//! * no key (global aggregate): [`GlobalInterner`], one group;
//! * one integer-like key (ints, dates, timestamps, booleans, floats by normalised bits,
//!   decimals up to 18 digits): [`IntInterner`], a direct-index table while the values span
//!   at most [`DENSE_MAX`] slots, or at most [`DENSE_RATIO`] slots per key (up to
//!   [`DENSE_SPARSE_MAX`]), a hash table of `(i64, id)` past that;
//! * one string key (Utf8, LargeUtf8, Utf8View, binary, dictionaries of strings):
//!   [`StrInterner`], keys stored once in one byte buffer, a `HashTable<(hash, id)>`;
//!   dictionaries intern each referenced dictionary value once and map rows through a table;
//! * several keys of those types: [`ComposeInterner`] interns each column on its own, then the
//!   tuple of column ids, packed into a `u64` (2 keys) or `u128` (3–4 keys) or hashed as a slice;
//! * anything else: [`RowInterner`] over `arrow::row` rows.
//!
//! NULL is one group of its own in every interner, and `-0.0`/`0.0` (and all NaNs) are one key.

use std::any::Any;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, GenericByteArray, NullArray, PrimitiveArray,
    StringArray, UInt32Array,
};
use arrow::buffer::{BooleanBuffer, Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow::compute::{cast, take};
use arrow::datatypes::*;
use arrow::row::{RowConverter, Rows, SortField};
use hashbrown::hash_table::{Entry, HashTable};
use rask_common::{internal_err, Error, Result};

use crate::hash::{hash_bytes, mix64};

/// Assigns dense group ids to key rows.
pub(crate) trait GroupInterner: Send + Sync {
    /// Sets `ids` to one group id per row of `cols` (one array per key column), creating
    /// groups for keys not seen before. Ids are `0..num_groups()` in order of first sight.
    fn intern(&mut self, cols: &[ArrayRef], num_rows: usize, ids: &mut Vec<u32>) -> Result<()>;
    /// Groups so far.
    fn num_groups(&self) -> usize;
    /// Approximate heap bytes held.
    fn size(&self) -> usize;
    /// Bytes that interning `rows` more rows may allocate on top of [`Self::size`] while it
    /// runs: a hash table past its capacity moves into one twice its size, and both are held
    /// while it moves. Reserved before interning, so the move happens inside the limit.
    fn growth(&self, _rows: usize) -> usize {
        0
    }
    /// The key columns of every group, in group-id order.
    fn emit(&self) -> Result<Vec<ArrayRef>>;
    /// The key columns of every group in consecutive pieces of at most `rows` groups, each
    /// passed to `f` with its first group and length: a spilled table's keys are written
    /// without a copy of them all at once. (This default emits them all, then slices.)
    fn emit_chunks(&self, rows: usize, f: &mut EmitChunk<'_>) -> Result<()> {
        let all = self.emit()?;
        for (start, len) in chunks(self.num_groups(), rows) {
            f(
                start,
                len,
                all.iter().map(|a| a.slice(start, len)).collect(),
            )?;
        }
        Ok(())
    }
    /// For downcasting (the packed-key merge).
    fn as_any(&self) -> &dyn Any;
}

/// The interner for keys of `types`; `force_row` picks the row format whatever the types
/// (tests use it to exercise that path).
pub(crate) fn new_interner(types: &[DataType], force_row: bool) -> Result<Box<dyn GroupInterner>> {
    if types.is_empty() {
        return Ok(Box::new(GlobalInterner));
    }
    if !force_row && types.iter().all(column_supported) {
        if types.len() == 1 {
            return Ok(new_single(&types[0]));
        }
        return Ok(Box::new(ComposeInterner::new(types)));
    }
    Ok(Box::new(RowInterner::new(types)?))
}

/// Widest span of values the direct-index integer path always takes (4 MiB of table).
pub(crate) const DENSE_MAX: i128 = 1 << 20;
/// Past [`DENSE_MAX`], the direct-index path is kept while the span is at most this many
/// slots per key seen: 4 bytes a slot is then no more than a hash table's 16-byte entries at
/// its usual load, and keys that arrive in order (a table sorted or clustered by the key)
/// touch the table sequentially instead of at random.
const DENSE_RATIO: i128 = 16;
/// The widest direct-index table (512 MiB).
const DENSE_SPARSE_MAX: i128 = 1 << 27;

fn int_like(t: &DataType) -> bool {
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
        | Timestamp(_, _)
        | Time32(_)
        | Time64(_)
        | Duration(_) => true,
        Decimal128(p, _) => *p <= 18,
        Dictionary(_, v) => int_like(v),
        _ => false,
    }
}

fn string_like(t: &DataType) -> bool {
    use DataType::*;
    match t {
        Utf8 | LargeUtf8 | Utf8View | Binary | LargeBinary | BinaryView => true,
        Dictionary(_, v) => matches!(v.as_ref(), Utf8 | LargeUtf8 | Utf8View),
        _ => false,
    }
}

fn column_supported(t: &DataType) -> bool {
    int_like(t) || string_like(t)
}

fn new_single(t: &DataType) -> Box<dyn GroupInterner> {
    if string_like(t) {
        let binary = matches!(
            t,
            DataType::Binary | DataType::LargeBinary | DataType::BinaryView
        );
        Box::new(StrInterner::new(binary))
    } else {
        let value_type = match t {
            DataType::Dictionary(_, v) => v.as_ref().clone(),
            t => t.clone(),
        };
        Box::new(IntInterner::new(value_type))
    }
}

/// [`GroupInterner::growth`] of one hash table.
fn table_growth<T>(t: &HashTable<T>, rows: usize) -> usize {
    if t.len().saturating_add(rows) <= t.capacity() {
        0
    } else {
        (2 * t.allocation_size()).max(t.len().saturating_add(rows) * (size_of::<T>() + 1) * 8 / 7)
    }
}

/// What [`GroupInterner::emit_chunks`] calls with each piece: first group, length, keys.
pub(crate) type EmitChunk<'a> = dyn FnMut(usize, usize, Vec<ArrayRef>) -> Result<()> + 'a;

/// `(start, len)` of consecutive pieces of at most `rows` of `0..n`.
fn chunks(n: usize, rows: usize) -> impl Iterator<Item = (usize, usize)> {
    let rows = rows.max(1);
    (0..n).step_by(rows).map(move |s| (s, rows.min(n - s)))
}

fn u32_id(n: usize) -> Result<u32> {
    u32::try_from(n).map_err(|_| Error::NotImplemented("more than 4 billion groups".into()))
}

fn nulls_of(a: &dyn Array) -> Option<NullBuffer> {
    a.logical_nulls().filter(|n| n.null_count() > 0)
}

/// The validity of groups `start..start + len` when `null_group` is the NULL key's group.
fn validity_in(start: usize, len: usize, null_group: Option<u32>) -> Option<NullBuffer> {
    let g = (null_group? as usize)
        .checked_sub(start)
        .filter(|g| *g < len)?;
    let mut v = vec![true; len];
    v[g] = false;
    Some(NullBuffer::from(v))
}

// ---------------------------------------------------------------------------------------------
// Global

/// The key of a global aggregate: one group, present even before any row.
pub(crate) struct GlobalInterner;

impl GroupInterner for GlobalInterner {
    fn intern(&mut self, _cols: &[ArrayRef], num_rows: usize, ids: &mut Vec<u32>) -> Result<()> {
        ids.clear();
        ids.resize(num_rows, 0);
        Ok(())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn num_groups(&self) -> usize {
        1
    }
    fn size(&self) -> usize {
        0
    }
    fn emit(&self) -> Result<Vec<ArrayRef>> {
        Ok(vec![])
    }
}

// ---------------------------------------------------------------------------------------------
// Integer-like keys

/// A native value that maps to an `i64` key and back.
pub(crate) trait AsKey: Copy {
    fn to_key(self) -> i64;
    fn from_key(k: i64) -> Self;
}

macro_rules! as_key_int {
    ($($t:ty),*) => {$(
        impl AsKey for $t {
            #[inline(always)]
            fn to_key(self) -> i64 { self as i64 }
            #[inline(always)]
            fn from_key(k: i64) -> Self { k as $t }
        }
    )*};
}
as_key_int!(i8, i16, i32, i64, u8, u16, u32, u64, i128);

impl AsKey for f64 {
    #[inline(always)]
    fn to_key(self) -> i64 {
        let v = if self == 0.0 {
            0.0
        } else if self.is_nan() {
            f64::NAN
        } else {
            self
        };
        v.to_bits() as i64
    }
    #[inline(always)]
    fn from_key(k: i64) -> Self {
        f64::from_bits(k as u64)
    }
}

impl AsKey for f32 {
    #[inline(always)]
    fn to_key(self) -> i64 {
        let v = if self == 0.0 {
            0.0
        } else if self.is_nan() {
            f32::NAN
        } else {
            self
        };
        v.to_bits() as i64
    }
    #[inline(always)]
    fn from_key(k: i64) -> Self {
        f32::from_bits(k as u32)
    }
}

/// Calls `$body` with `$T` bound to the Arrow primitive type of `$dt` (integer-like types only).
macro_rules! int_like_primitive {
    ($dt:expr, $T:ident => $body:expr, _ => $other:expr) => {{
        use arrow::datatypes::DataType as D;
        use arrow::datatypes::TimeUnit as U;
        match $dt {
            D::Int8 => {
                type $T = Int8Type;
                $body
            }
            D::Int16 => {
                type $T = Int16Type;
                $body
            }
            D::Int32 => {
                type $T = Int32Type;
                $body
            }
            D::Int64 => {
                type $T = Int64Type;
                $body
            }
            D::UInt8 => {
                type $T = UInt8Type;
                $body
            }
            D::UInt16 => {
                type $T = UInt16Type;
                $body
            }
            D::UInt32 => {
                type $T = UInt32Type;
                $body
            }
            D::UInt64 => {
                type $T = UInt64Type;
                $body
            }
            D::Float32 => {
                type $T = Float32Type;
                $body
            }
            D::Float64 => {
                type $T = Float64Type;
                $body
            }
            D::Date32 => {
                type $T = Date32Type;
                $body
            }
            D::Date64 => {
                type $T = Date64Type;
                $body
            }
            D::Decimal128(_, _) => {
                type $T = Decimal128Type;
                $body
            }
            D::Timestamp(U::Second, _) => {
                type $T = TimestampSecondType;
                $body
            }
            D::Timestamp(U::Millisecond, _) => {
                type $T = TimestampMillisecondType;
                $body
            }
            D::Timestamp(U::Microsecond, _) => {
                type $T = TimestampMicrosecondType;
                $body
            }
            D::Timestamp(U::Nanosecond, _) => {
                type $T = TimestampNanosecondType;
                $body
            }
            D::Time32(U::Second) => {
                type $T = Time32SecondType;
                $body
            }
            D::Time32(U::Millisecond) => {
                type $T = Time32MillisecondType;
                $body
            }
            D::Time64(U::Microsecond) => {
                type $T = Time64MicrosecondType;
                $body
            }
            D::Time64(U::Nanosecond) => {
                type $T = Time64NanosecondType;
                $body
            }
            D::Duration(U::Second) => {
                type $T = DurationSecondType;
                $body
            }
            D::Duration(U::Millisecond) => {
                type $T = DurationMillisecondType;
                $body
            }
            D::Duration(U::Microsecond) => {
                type $T = DurationMicrosecondType;
                $body
            }
            D::Duration(U::Nanosecond) => {
                type $T = DurationNanosecondType;
                $body
            }
            _ => $other,
        }
    }};
}
pub(crate) use int_like_primitive;

enum IntMode {
    /// `lut[v - base]` is the group of `v`, or `u32::MAX`.
    Dense {
        base: i64,
        lut: Vec<u32>,
    },
    Hash(HashTable<(i64, u32)>),
}

/// One integer-like key column.
pub(crate) struct IntInterner {
    data_type: DataType,
    /// The key of each group (0 for the NULL group).
    keys: Vec<i64>,
    null_group: Option<u32>,
    mode: IntMode,
}

#[inline(always)]
fn hash_i64(k: i64) -> u64 {
    mix64(k as u64)
}

impl IntInterner {
    pub(crate) fn new(data_type: DataType) -> Self {
        IntInterner {
            data_type,
            keys: Vec::new(),
            null_group: None,
            mode: IntMode::Dense {
                base: 0,
                lut: Vec::new(),
            },
        }
    }

    /// Every group's key (0 for the NULL group) and the NULL group.
    pub(crate) fn int_keys(&self) -> (&[i64], Option<u32>) {
        (&self.keys, self.null_group)
    }

    fn null_id(&mut self) -> Result<u32> {
        if let Some(g) = self.null_group {
            return Ok(g);
        }
        let g = u32_id(self.keys.len())?;
        self.keys.push(0);
        self.null_group = Some(g);
        Ok(g)
    }

    /// Makes the dense table cover `lo..=hi`, or switches to hashing if that is too wide for
    /// the keys it will hold (at most `incoming` more than now).
    fn cover(&mut self, lo: i64, hi: i64, incoming: usize) {
        let IntMode::Dense { base, lut } = &mut self.mode else {
            return;
        };
        let (old_lo, old_len) = (*base as i128, lut.len() as i128);
        let (lo, hi) = (lo as i128, hi as i128);
        let (new_lo, new_hi) = if old_len == 0 {
            (lo, hi)
        } else {
            (lo.min(old_lo), hi.max(old_lo + old_len - 1))
        };
        let span = new_hi - new_lo + 1;
        if old_len > 0 && new_lo == old_lo && span == old_len {
            return;
        }
        let keys = (self.keys.len() + incoming) as i128;
        let widest = DENSE_MAX.max((DENSE_RATIO * keys).min(DENSE_SPARSE_MAX));
        if span > widest {
            let mut table = HashTable::with_capacity(self.keys.len().max(1024));
            for (g, &k) in self.keys.iter().enumerate() {
                if Some(g as u32) != self.null_group {
                    table.insert_unique(hash_i64(k), (k, g as u32), |e| hash_i64(e.0));
                }
            }
            self.mode = IntMode::Hash(table);
            return;
        }
        // Leave slack on the side that grew, so that slowly widening ranges do not copy the
        // table for every batch.
        let cap = span.max(old_len * 2).min(widest).max(span);
        let start = if old_len > 0 && new_lo < old_lo {
            (new_hi - cap + 1).max(i64::MIN as i128)
        } else {
            new_lo
        };
        let cap = cap.min(i64::MAX as i128 - start + 1);
        let mut new_lut = vec![u32::MAX; cap as usize];
        if old_len > 0 {
            let off = (old_lo - start) as usize;
            new_lut[off..off + lut.len()].copy_from_slice(lut);
        }
        *base = start as i64;
        *lut = new_lut;
    }

    fn intern_values<N: AsKey>(
        &mut self,
        values: &[N],
        nulls: Option<&NullBuffer>,
        ids: &mut Vec<u32>,
    ) -> Result<()> {
        if matches!(self.mode, IntMode::Dense { .. }) {
            let (mut lo, mut hi) = (i64::MAX, i64::MIN);
            match nulls {
                None => {
                    for v in values {
                        let k = v.to_key();
                        lo = lo.min(k);
                        hi = hi.max(k);
                    }
                }
                Some(n) => {
                    for (i, v) in values.iter().enumerate() {
                        if n.is_valid(i) {
                            let k = v.to_key();
                            lo = lo.min(k);
                            hi = hi.max(k);
                        }
                    }
                }
            }
            if lo <= hi {
                self.cover(lo, hi, values.len());
            }
        }
        let null_id = match nulls {
            Some(_) => self.null_id()?,
            None => 0,
        };
        if self.keys.len() + values.len() > u32::MAX as usize {
            return Err(Error::NotImplemented("more than 4 billion groups".into()));
        }
        ids.clear();
        ids.reserve(values.len());
        let keys = &mut self.keys;
        match &mut self.mode {
            IntMode::Dense { base, lut } => {
                let base = *base;
                let mut one = |k: i64| -> u32 {
                    let slot = &mut lut[k.wrapping_sub(base) as usize];
                    if *slot == u32::MAX {
                        *slot = keys.len() as u32;
                        keys.push(k);
                    }
                    *slot
                };
                match nulls {
                    None => ids.extend(values.iter().map(|v| one(v.to_key()))),
                    Some(n) => ids.extend(values.iter().enumerate().map(|(i, v)| {
                        if n.is_valid(i) {
                            one(v.to_key())
                        } else {
                            null_id
                        }
                    })),
                }
            }
            IntMode::Hash(table) => {
                // Keys often come in runs (input sorted or clustered by the key): a row whose
                // key is the previous row's reuses its group without a probe.
                let mut last: Option<(i64, u32)> = None;
                let mut one = |k: i64| -> u32 {
                    if let Some((lk, lg)) = last {
                        if lk == k {
                            return lg;
                        }
                    }
                    let g = match table.entry(hash_i64(k), |e| e.0 == k, |e| hash_i64(e.0)) {
                        Entry::Occupied(o) => o.get().1,
                        Entry::Vacant(v) => {
                            let g = keys.len() as u32;
                            keys.push(k);
                            v.insert((k, g));
                            g
                        }
                    };
                    last = Some((k, g));
                    g
                };
                match nulls {
                    None => ids.extend(values.iter().map(|v| one(v.to_key()))),
                    Some(n) => ids.extend(values.iter().enumerate().map(|(i, v)| {
                        if n.is_valid(i) {
                            one(v.to_key())
                        } else {
                            null_id
                        }
                    })),
                }
            }
        }
        Ok(())
    }

    fn emit_primitive<T: ArrowPrimitiveType>(&self, start: usize, len: usize) -> ArrayRef
    where
        T::Native: AsKey,
    {
        let values: Vec<T::Native> = self.keys[start..start + len]
            .iter()
            .map(|&k| T::Native::from_key(k))
            .collect();
        let nulls = validity_in(start, len, self.null_group);
        Arc::new(
            PrimitiveArray::<T>::new(ScalarBuffer::from(values), nulls)
                .with_data_type(self.data_type.clone()),
        )
    }

    /// The keys of groups `start..start + len`.
    fn emit_range(&self, start: usize, len: usize) -> Result<ArrayRef> {
        Ok(match &self.data_type {
            DataType::Null => Arc::new(NullArray::new(len)),
            DataType::Boolean => Arc::new(BooleanArray::new(
                self.keys[start..start + len]
                    .iter()
                    .map(|&k| k != 0)
                    .collect::<BooleanBuffer>(),
                validity_in(start, len, self.null_group),
            )),
            dt => int_like_primitive!(dt, T => self.emit_primitive::<T>(start, len),
                _ => return internal_err!("integer group key of type {dt}")),
        })
    }
}

impl GroupInterner for IntInterner {
    fn intern(&mut self, cols: &[ArrayRef], _num_rows: usize, ids: &mut Vec<u32>) -> Result<()> {
        let Some(col) = cols.first() else {
            return internal_err!("integer group key without a column");
        };
        let col = if col.data_type() != &self.data_type {
            cast(col, &self.data_type)?
        } else {
            Arc::clone(col)
        };
        let nulls = nulls_of(col.as_ref());
        let dt = self.data_type.clone();
        match &dt {
            DataType::Null => {
                let g = if col.is_empty() { 0 } else { self.null_id()? };
                ids.clear();
                ids.resize(col.len(), g);
                Ok(())
            }
            DataType::Boolean => {
                let b = col.as_boolean();
                let v: Vec<u8> = b.values().iter().map(u8::from).collect();
                self.intern_values(&v, nulls.as_ref(), ids)
            }
            dt => int_like_primitive!(dt, T => {
                let a = col.as_primitive::<T>();
                self.intern_values(a.values(), nulls.as_ref(), ids)
            }, _ => internal_err!("integer group key of type {dt}")),
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn num_groups(&self) -> usize {
        self.keys.len()
    }

    fn growth(&self, rows: usize) -> usize {
        match &self.mode {
            IntMode::Hash(t) => table_growth(t, rows),
            IntMode::Dense { .. } => 0,
        }
    }

    fn size(&self) -> usize {
        let mode = match &self.mode {
            IntMode::Dense { lut, .. } => lut.capacity() * 4,
            IntMode::Hash(t) => t.allocation_size(),
        };
        self.keys.capacity() * 8 + mode
    }

    fn emit(&self) -> Result<Vec<ArrayRef>> {
        Ok(vec![self.emit_range(0, self.keys.len())?])
    }

    fn emit_chunks(&self, rows: usize, f: &mut EmitChunk<'_>) -> Result<()> {
        for (start, len) in chunks(self.keys.len(), rows) {
            f(start, len, vec![self.emit_range(start, len)?])?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// String keys

/// A key's hash-table entry: the hash, and the first and last 8 bytes with the length, which
/// decide equality by themselves for keys of up to 16 bytes (no look-up in the byte buffer).
#[derive(Clone, Copy)]
struct StrEntry {
    hash: u64,
    w0: u64,
    w1: u64,
    len: u32,
    group: u32,
}

#[inline(always)]
fn fold_mul(a: u64, b: u64) -> u64 {
    let r = (a as u128).wrapping_mul(b as u128);
    (r as u64) ^ ((r >> 64) as u64)
}

#[inline(always)]
fn load8(b: &[u8]) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[..8]);
    u64::from_le_bytes(x)
}

#[inline(always)]
fn load4(b: &[u8]) -> u64 {
    let mut x = [0u8; 4];
    x.copy_from_slice(&b[..4]);
    u32::from_le_bytes(x) as u64
}

const K0: u64 = 0x243f_6a88_85a3_08d3;
const K1: u64 = 0x1319_8a2e_0370_7344;
const K2: u64 = 0xa409_3822_299f_31d0;

/// Two words that, with the length, identify a key of up to 16 bytes (for longer keys: its
/// first and last 8 bytes).
#[inline(always)]
fn words(b: &[u8]) -> (u64, u64) {
    let len = b.len();
    if len >= 8 {
        (load8(b), load8(&b[len - 8..]))
    } else if len >= 4 {
        (load4(b), load4(&b[len - 4..]))
    } else if len > 0 {
        (
            ((b[0] as u64) << 16) | ((b[len / 2] as u64) << 8) | b[len - 1] as u64,
            0,
        )
    } else {
        (0, 0)
    }
}

/// The interner's string hash (foldhash-style folded multiplies); only this interner uses it.
#[inline(always)]
fn hash_str(b: &[u8], w0: u64, w1: u64) -> u64 {
    let len = b.len() as u64;
    if b.len() <= 16 {
        return fold_mul(w0 ^ K0 ^ len.rotate_left(32), w1 ^ K1);
    }
    let mut h = K2 ^ len;
    let mut chunks = b.chunks_exact(16);
    for c in &mut chunks {
        h = fold_mul(load8(c) ^ K0 ^ h, load8(&c[8..]) ^ K1);
    }
    fold_mul(w0 ^ K0 ^ h, w1 ^ K2)
}

/// One string (or binary) key column; keys live in one byte buffer.
pub(crate) struct StrInterner {
    binary: bool,
    table: HashTable<StrEntry>,
    /// `offsets[g]..offsets[g + 1]` are group `g`'s bytes.
    offsets: Vec<usize>,
    buf: Vec<u8>,
    null_group: Option<u32>,
    /// The last dictionary seen and, per dictionary value, its group (or `u32::MAX`).
    dict: Option<(ArrayRef, Vec<u32>)>,
    /// The groups of the empty string (slot 0) and of each one-byte value `b` (slot `b + 1`),
    /// or `u32::MAX`: flag columns (`l_returnflag`) skip hashing.
    short: Box<[u32; 257]>,
}

impl StrInterner {
    fn new(binary: bool) -> Self {
        StrInterner {
            binary,
            table: HashTable::new(),
            offsets: vec![0],
            buf: Vec::new(),
            null_group: None,
            dict: None,
            short: Box::new([u32::MAX; 257]),
        }
    }

    fn null_id(&mut self) -> u32 {
        if let Some(g) = self.null_group {
            return g;
        }
        let g = (self.offsets.len() - 1) as u32;
        self.offsets.push(self.buf.len());
        self.null_group = Some(g);
        g
    }

    #[inline(always)]
    fn intern_bytes(&mut self, b: &[u8]) -> u32 {
        if b.len() > 1 {
            return self.intern_hashed(b);
        }
        let slot = b.first().map_or(0, |&c| c as usize + 1);
        match self.short[slot] {
            u32::MAX => {
                let g = self.intern_hashed(b);
                self.short[slot] = g;
                g
            }
            g => g,
        }
    }

    fn intern_hashed(&mut self, b: &[u8]) -> u32 {
        let (w0, w1) = words(b);
        let h = hash_str(b, w0, w1);
        let len = b.len() as u32;
        let StrInterner {
            table,
            offsets,
            buf,
            ..
        } = self;
        let entry = table.entry(
            h,
            |e| {
                e.hash == h
                    && e.len == len
                    && e.w0 == w0
                    && e.w1 == w1
                    && (len <= 16 || {
                        let g = e.group as usize;
                        &buf[offsets[g]..offsets[g + 1]] == b
                    })
            },
            |e| e.hash,
        );
        match entry {
            Entry::Occupied(o) => o.get().group,
            Entry::Vacant(v) => {
                let g = (offsets.len() - 1) as u32;
                buf.extend_from_slice(b);
                offsets.push(buf.len());
                v.insert(StrEntry {
                    hash: h,
                    w0,
                    w1,
                    len,
                    group: g,
                });
                g
            }
        }
    }

    fn intern_with<'a>(
        &mut self,
        len: usize,
        nulls: Option<&NullBuffer>,
        value: impl Fn(usize) -> &'a [u8],
        ids: &mut Vec<u32>,
    ) {
        ids.clear();
        ids.reserve(len);
        match nulls {
            None => ids.extend((0..len).map(|i| self.intern_bytes(value(i)))),
            Some(n) => {
                let ng = self.null_id();
                ids.extend((0..len).map(|i| {
                    if n.is_valid(i) {
                        self.intern_bytes(value(i))
                    } else {
                        ng
                    }
                }))
            }
        }
    }

    fn intern_bytes_array<T: ByteArrayType>(
        &mut self,
        a: &GenericByteArray<T>,
        ids: &mut Vec<u32>,
    ) {
        let nulls = nulls_of(a);
        let offsets = a.value_offsets();
        let data = a.value_data();
        self.intern_with(
            a.len(),
            nulls.as_ref(),
            |i| &data[offsets[i].as_usize()..offsets[i + 1].as_usize()],
            ids,
        );
    }

    /// Interns a single-column array of any supported string type, not a dictionary.
    fn intern_plain(&mut self, col: &dyn Array, ids: &mut Vec<u32>) -> Result<()> {
        match col.data_type() {
            DataType::Utf8 => self.intern_bytes_array(col.as_string::<i32>(), ids),
            DataType::LargeUtf8 => self.intern_bytes_array(col.as_string::<i64>(), ids),
            DataType::Binary => self.intern_bytes_array(col.as_binary::<i32>(), ids),
            DataType::LargeBinary => self.intern_bytes_array(col.as_binary::<i64>(), ids),
            DataType::Utf8View => {
                let a = col.as_string_view();
                let nulls = nulls_of(a);
                self.intern_with(a.len(), nulls.as_ref(), |i| a.value(i).as_bytes(), ids)
            }
            DataType::BinaryView => {
                let a = col.as_binary_view();
                let nulls = nulls_of(a);
                self.intern_with(a.len(), nulls.as_ref(), |i| a.value(i), ids)
            }
            DataType::Null => {
                let g = self.null_id();
                ids.clear();
                ids.resize(col.len(), g);
            }
            other => {
                let c = cast(col, &DataType::Utf8).map_err(|e| {
                    Error::Internal(format!("string group key of type {other}: {e}"))
                })?;
                self.intern_bytes_array(c.as_string::<i32>(), ids)
            }
        }
        Ok(())
    }

    fn intern_dictionary(&mut self, col: &dyn Array, ids: &mut Vec<u32>) -> Result<()> {
        let Some(dict) = col.as_any_dictionary_opt() else {
            return internal_err!("expected a dictionary group key");
        };
        let values = dict.values();
        let fresh = match &self.dict {
            Some((v, _)) => !Arc::ptr_eq(v, values),
            None => true,
        };
        if fresh {
            self.dict = Some((Arc::clone(values), vec![u32::MAX; values.len()]));
        }
        ids.clear();
        ids.reserve(col.len());
        if values.is_empty() {
            // Every key is NULL.
            let g = if col.is_empty() { 0 } else { self.null_id() };
            ids.resize(col.len(), g);
            return Ok(());
        }
        let keys = dict.normalized_keys();
        let key_nulls = nulls_of(dict.keys());
        let Some((values, mut lut)) = self.dict.take() else {
            return internal_err!("dictionary cache missing");
        };
        // Intern each referenced dictionary value once.
        let mut missing: Vec<usize> = Vec::new();
        for (i, &k) in keys.iter().enumerate() {
            if lut[k] == u32::MAX && key_nulls.as_ref().is_none_or(|n| n.is_valid(i)) {
                lut[k] = u32::MAX - 1;
                missing.push(k);
            }
        }
        if !missing.is_empty() {
            let idx = UInt32Array::from_iter_values(missing.iter().map(|&k| k as u32));
            let picked = take(values.as_ref(), &idx, None)?;
            let mut got = Vec::new();
            self.intern_plain(picked.as_ref(), &mut got)?;
            for (&k, &g) in missing.iter().zip(got.iter()) {
                lut[k] = g;
            }
        }
        match key_nulls {
            None => ids.extend(keys.iter().map(|&k| lut[k])),
            Some(n) => {
                let ng = self.null_id();
                ids.extend(
                    keys.iter()
                        .enumerate()
                        .map(|(i, &k)| if n.is_valid(i) { lut[k] } else { ng }),
                )
            }
        }
        self.dict = Some((values, lut));
        Ok(())
    }
}

impl GroupInterner for StrInterner {
    fn intern(&mut self, cols: &[ArrayRef], _num_rows: usize, ids: &mut Vec<u32>) -> Result<()> {
        let Some(col) = cols.first() else {
            return internal_err!("string group key without a column");
        };
        if self.offsets.len() + col.len() > u32::MAX as usize {
            return Err(Error::NotImplemented("more than 4 billion groups".into()));
        }
        if matches!(col.data_type(), DataType::Dictionary(_, _)) {
            self.intern_dictionary(col.as_ref(), ids)
        } else {
            self.intern_plain(col.as_ref(), ids)
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn num_groups(&self) -> usize {
        self.offsets.len() - 1
    }

    fn growth(&self, rows: usize) -> usize {
        table_growth(&self.table, rows)
    }

    fn size(&self) -> usize {
        self.table.allocation_size()
            + self.offsets.capacity() * 8
            + self.buf.capacity()
            + self.dict.as_ref().map_or(0, |(_, l)| l.capacity() * 4)
    }

    fn emit(&self) -> Result<Vec<ArrayRef>> {
        Ok(vec![self.emit_range(0, self.num_groups())?])
    }

    fn emit_chunks(&self, rows: usize, f: &mut EmitChunk<'_>) -> Result<()> {
        for (start, len) in chunks(self.num_groups(), rows) {
            f(start, len, vec![self.emit_range(start, len)?])?;
        }
        Ok(())
    }
}

impl StrInterner {
    /// The keys of groups `start..start + len`.
    fn emit_range(&self, start: usize, len: usize) -> Result<ArrayRef> {
        let nulls = validity_in(start, len, self.null_group);
        let offsets = &self.offsets[start..=start + len];
        let base = offsets[0];
        let bytes = &self.buf[base..offsets[len]];
        let data = Buffer::from(bytes);
        Ok(if bytes.len() <= i32::MAX as usize {
            let offs: Vec<i32> = offsets.iter().map(|&o| (o - base) as i32).collect();
            let offs = OffsetBuffer::new(ScalarBuffer::from(offs));
            if self.binary {
                Arc::new(arrow::array::BinaryArray::try_new(offs, data, nulls)?) as ArrayRef
            } else {
                Arc::new(StringArray::try_new(offs, data, nulls)?)
            }
        } else {
            let offs: Vec<i64> = offsets.iter().map(|&o| (o - base) as i64).collect();
            let offs = OffsetBuffer::new(ScalarBuffer::from(offs));
            if self.binary {
                Arc::new(arrow::array::LargeBinaryArray::try_new(offs, data, nulls)?) as ArrayRef
            } else {
                Arc::new(arrow::array::LargeStringArray::try_new(offs, data, nulls)?)
            }
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Several keys: per-column ids, then the tuple of ids

/// The table of column-id tuples. The ids of column `k` take `widths[k]` bits; the packed
/// tuple decides the representation.
enum TupleTable {
    /// Up to [`DENSE_TUPLE_BITS`] bits: `lut[packed]` is the group (or `u32::MAX`).
    Dense(Vec<u32>),
    /// Up to 64 bits.
    U64(HashTable<(u64, u32)>),
    /// Up to 128 bits.
    U128(HashTable<(u128, u32)>),
    /// More: `(hash, group)`, the ids compared in `ComposeInterner::group_cols`.
    Wide(HashTable<(u64, u32)>),
}

/// Packed tuples up to this many bits use a direct-index table (4 MiB).
const DENSE_TUPLE_BITS: u32 = 20;

#[inline(always)]
fn hash_u128(k: u128) -> u64 {
    fold_mul((k as u64) ^ K0, ((k >> 64) as u64) ^ K1)
}

#[inline(always)]
fn hash_u64(k: u64) -> u64 {
    fold_mul(k ^ K0, K1)
}

/// Bits to hold ids `0..n`.
fn bits_for(n: usize) -> u32 {
    (usize::BITS - n.saturating_sub(1).leading_zeros()).max(1)
}

/// Several key columns, each interned on its own (so integer keys use the dense path and
/// string bytes are stored once per distinct value), then the tuple of column ids, packed
/// into as few bits as the columns' cardinalities allow (repacked when a column outgrows its
/// bits).
pub(crate) struct ComposeInterner {
    cols: Vec<Box<dyn GroupInterner>>,
    col_ids: Vec<Vec<u32>>,
    widths: Vec<u32>,
    table: TupleTable,
    /// Column ids of every group, `cols.len()` per group.
    group_cols: Vec<u32>,
    packed64: Vec<u64>,
    packed128: Vec<u128>,
    scratch: Vec<u32>,
}

impl ComposeInterner {
    fn new(types: &[DataType]) -> Self {
        ComposeInterner {
            cols: types.iter().map(new_single).collect(),
            col_ids: vec![Vec::new(); types.len()],
            widths: vec![0; types.len()],
            table: TupleTable::Dense(Vec::new()),
            group_cols: Vec::new(),
            packed64: Vec::new(),
            packed128: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// Picks new widths for the columns' current cardinalities and rebuilds the table.
    fn repack(&mut self) {
        let cards: Vec<usize> = self.cols.iter().map(|c| c.num_groups()).collect();
        let tight: Vec<u32> = cards.iter().map(|&c| bits_for(c)).collect();
        let roomy: Vec<u32> = cards
            .iter()
            .map(|&c| bits_for(c.saturating_mul(2)))
            .collect();
        let tight_total: u32 = tight.iter().sum();
        let roomy_total: u32 = roomy.iter().sum();
        let budget = if tight_total <= DENSE_TUPLE_BITS {
            DENSE_TUPLE_BITS
        } else if tight_total <= 64 {
            64
        } else if tight_total <= 128 {
            128
        } else {
            u32::MAX
        };
        self.widths = if roomy_total <= budget { roomy } else { tight };
        let total: u32 = self.widths.iter().sum();
        let w = self.cols.len();
        let groups = self.group_cols.len() / w;
        self.table = if total <= DENSE_TUPLE_BITS {
            let mut lut = vec![u32::MAX; 1usize << total];
            for g in 0..groups {
                let k = self.pack64(&self.group_cols[g * w..(g + 1) * w]);
                lut[k as usize] = g as u32;
            }
            TupleTable::Dense(lut)
        } else if total <= 64 {
            let mut t = HashTable::with_capacity(groups);
            for g in 0..groups {
                let k = self.pack64(&self.group_cols[g * w..(g + 1) * w]);
                t.insert_unique(hash_u64(k), (k, g as u32), |e| hash_u64(e.0));
            }
            TupleTable::U64(t)
        } else if total <= 128 {
            let mut t = HashTable::with_capacity(groups);
            for g in 0..groups {
                let k = self.pack128(&self.group_cols[g * w..(g + 1) * w]);
                t.insert_unique(hash_u128(k), (k, g as u32), |e| hash_u128(e.0));
            }
            TupleTable::U128(t)
        } else {
            let mut t = HashTable::with_capacity(groups);
            for g in 0..groups {
                let h = hash_tuple(&self.group_cols[g * w..(g + 1) * w]);
                t.insert_unique(h, (h, g as u32), |e| e.0);
            }
            TupleTable::Wide(t)
        };
    }

    fn pack64(&self, tuple: &[u32]) -> u64 {
        let mut k = 0u64;
        for (&x, &w) in tuple.iter().zip(&self.widths) {
            k = (k << w) | x as u64;
        }
        k
    }

    fn pack128(&self, tuple: &[u32]) -> u128 {
        let mut k = 0u128;
        for (&x, &w) in tuple.iter().zip(&self.widths) {
            k = (k << w) | x as u128;
        }
        k
    }
}

fn hash_tuple(t: &[u32]) -> u64 {
    let mut h = K2;
    for &x in t {
        h = fold_mul(h ^ x as u64, K0);
    }
    h
}

impl GroupInterner for ComposeInterner {
    fn intern(&mut self, cols: &[ArrayRef], _num_rows: usize, ids: &mut Vec<u32>) -> Result<()> {
        if cols.len() != self.cols.len() {
            return internal_err!(
                "expected {} group columns, got {}",
                self.cols.len(),
                cols.len()
            );
        }
        let n = cols.first().map_or(0, |c| c.len());
        for ((interner, col), out) in self.cols.iter_mut().zip(cols).zip(self.col_ids.iter_mut()) {
            interner.intern(std::slice::from_ref(col), col.len(), out)?;
        }
        let w = self.cols.len();
        if self.group_cols.len() / w.max(1) + n > u32::MAX as usize {
            return Err(Error::NotImplemented("more than 4 billion groups".into()));
        }
        let outgrown = self
            .cols
            .iter()
            .zip(&self.widths)
            .any(|(c, &b)| c.num_groups() > (1usize << b.min(32)))
            || matches!(&self.table, TupleTable::Dense(l) if l.is_empty());
        if outgrown {
            self.repack();
        }
        ids.clear();
        ids.reserve(n);
        let col_ids = &self.col_ids;
        let group_cols = &mut self.group_cols;
        let widths = &self.widths;
        // Pack column-wise: one tight loop per column.
        let pack64 = |packed: &mut Vec<u64>| {
            packed.clear();
            packed.extend(col_ids[0].iter().map(|&x| x as u64));
            for (c, &b) in col_ids.iter().zip(widths).skip(1) {
                for (k, &x) in packed.iter_mut().zip(c) {
                    *k = (*k << b) | x as u64;
                }
            }
        };
        let mut push_group = |i: usize| -> u32 {
            let g = (group_cols.len() / w) as u32;
            group_cols.extend(col_ids.iter().map(|c| c[i]));
            g
        };
        match &mut self.table {
            TupleTable::Dense(lut) => {
                pack64(&mut self.packed64);
                for (i, &k) in self.packed64.iter().enumerate() {
                    let slot = &mut lut[k as usize];
                    if *slot == u32::MAX {
                        *slot = push_group(i);
                    }
                    ids.push(*slot);
                }
            }
            TupleTable::U64(table) => {
                pack64(&mut self.packed64);
                for (i, &k) in self.packed64.iter().enumerate() {
                    let g = match table.entry(hash_u64(k), |e| e.0 == k, |e| hash_u64(e.0)) {
                        Entry::Occupied(o) => o.get().1,
                        Entry::Vacant(v) => {
                            let g = push_group(i);
                            v.insert((k, g));
                            g
                        }
                    };
                    ids.push(g);
                }
            }
            TupleTable::U128(table) => {
                let packed = &mut self.packed128;
                packed.clear();
                packed.extend(col_ids[0].iter().map(|&x| x as u128));
                for (c, &b) in col_ids.iter().zip(widths).skip(1) {
                    for (k, &x) in packed.iter_mut().zip(c) {
                        *k = (*k << b) | x as u128;
                    }
                }
                for (i, &k) in packed.iter().enumerate() {
                    let g = match table.entry(hash_u128(k), |e| e.0 == k, |e| hash_u128(e.0)) {
                        Entry::Occupied(o) => o.get().1,
                        Entry::Vacant(v) => {
                            let g = push_group(i);
                            v.insert((k, g));
                            g
                        }
                    };
                    ids.push(g);
                }
            }
            TupleTable::Wide(table) => {
                let tuple = &mut self.scratch;
                for i in 0..n {
                    tuple.clear();
                    tuple.extend(col_ids.iter().map(|c| c[i]));
                    let h = hash_tuple(tuple);
                    let gc: &Vec<u32> = group_cols;
                    let entry = table.entry(
                        h,
                        |&(eh, g)| eh == h && &gc[g as usize * w..(g as usize + 1) * w] == tuple,
                        |e| e.0,
                    );
                    let g = match entry {
                        Entry::Occupied(o) => o.get().1,
                        Entry::Vacant(v) => {
                            let g = (group_cols.len() / w) as u32;
                            group_cols.extend_from_slice(tuple);
                            v.insert((h, g));
                            g
                        }
                    };
                    ids.push(g);
                }
            }
        }
        Ok(())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn num_groups(&self) -> usize {
        self.group_cols.len() / self.cols.len().max(1)
    }

    fn growth(&self, rows: usize) -> usize {
        let table = match &self.table {
            TupleTable::Dense(_) => 0,
            TupleTable::U64(t) | TupleTable::Wide(t) => table_growth(t, rows),
            TupleTable::U128(t) => table_growth(t, rows),
        };
        table + self.cols.iter().map(|c| c.growth(rows)).sum::<usize>()
    }

    fn size(&self) -> usize {
        let table = match &self.table {
            TupleTable::Dense(l) => l.capacity() * 4,
            TupleTable::U64(t) | TupleTable::Wide(t) => t.allocation_size(),
            TupleTable::U128(t) => t.allocation_size(),
        };
        table
            + self.group_cols.capacity() * 4
            + self.packed64.capacity() * 8
            + self.packed128.capacity() * 16
            + self.cols.iter().map(|c| c.size()).sum::<usize>()
            + self.col_ids.iter().map(|c| c.capacity() * 4).sum::<usize>()
    }

    fn emit(&self) -> Result<Vec<ArrayRef>> {
        let values = self.column_values()?;
        self.emit_range(&values, 0, self.num_groups())
    }

    fn emit_chunks(&self, rows: usize, f: &mut EmitChunk<'_>) -> Result<()> {
        let values = self.column_values()?;
        for (start, len) in chunks(self.num_groups(), rows) {
            f(start, len, self.emit_range(&values, start, len)?)?;
        }
        Ok(())
    }
}

impl ComposeInterner {
    /// Each column's distinct values, in column-id order.
    fn column_values(&self) -> Result<Vec<ArrayRef>> {
        self.cols
            .iter()
            .map(|c| match c.emit()?.into_iter().next() {
                Some(v) => Ok(v),
                None => internal_err!("group column emitted nothing"),
            })
            .collect()
    }

    /// The keys of groups `start..start + len`, given [`Self::column_values`].
    fn emit_range(&self, values: &[ArrayRef], start: usize, len: usize) -> Result<Vec<ArrayRef>> {
        let w = self.cols.len();
        let tuples = &self.group_cols[start * w..(start + len) * w];
        values
            .iter()
            .enumerate()
            .map(|(k, v)| {
                let idx = UInt32Array::from_iter_values(tuples.iter().skip(k).step_by(w).copied());
                Ok(take(v.as_ref(), &idx, None)?)
            })
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Fallback: arrow row format

/// `a` with -0.0 as 0.0 and every NaN as the canonical NaN (top-level float columns only).
fn normalize_floats(a: &ArrayRef) -> ArrayRef {
    match a.data_type() {
        DataType::Float64 => Arc::new(
            a.as_primitive::<Float64Type>()
                .unary::<_, Float64Type>(|v| f64::from_key(v.to_key())),
        ),
        DataType::Float32 => Arc::new(
            a.as_primitive::<Float32Type>()
                .unary::<_, Float32Type>(|v| f32::from_key(v.to_key())),
        ),
        _ => Arc::clone(a),
    }
}

/// Any key types: rows in `arrow::row` format, compared as bytes.
pub(crate) struct RowInterner {
    converter: RowConverter,
    rows: Rows,
    table: HashTable<(u64, u32)>,
}

impl RowInterner {
    fn new(types: &[DataType]) -> Result<Self> {
        let converter =
            RowConverter::new(types.iter().map(|t| SortField::new(t.clone())).collect())?;
        let rows = converter.empty_rows(0, 0);
        Ok(RowInterner {
            converter,
            rows,
            table: HashTable::new(),
        })
    }
}

impl GroupInterner for RowInterner {
    fn intern(&mut self, cols: &[ArrayRef], _num_rows: usize, ids: &mut Vec<u32>) -> Result<()> {
        // Floats are compared by value: -0.0 is 0.0 and all NaNs are one key.
        let cols: Vec<ArrayRef> = cols.iter().map(normalize_floats).collect();
        let batch_rows = self.converter.convert_columns(&cols)?;
        if self.rows.num_rows() + batch_rows.num_rows() > u32::MAX as usize {
            return Err(Error::NotImplemented("more than 4 billion groups".into()));
        }
        ids.clear();
        ids.reserve(batch_rows.num_rows());
        let RowInterner { rows, table, .. } = self;
        for row in batch_rows.iter() {
            let h = hash_bytes(row.as_ref());
            let entry = table.entry(
                h,
                |&(eh, g)| eh == h && rows.row(g as usize) == row,
                |e| e.0,
            );
            let g = match entry {
                Entry::Occupied(o) => o.get().1,
                Entry::Vacant(v) => {
                    let g = rows.num_rows() as u32;
                    rows.push(row);
                    v.insert((h, g));
                    g
                }
            };
            ids.push(g);
        }
        Ok(())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn num_groups(&self) -> usize {
        self.rows.num_rows()
    }

    fn growth(&self, rows: usize) -> usize {
        table_growth(&self.table, rows)
    }

    fn size(&self) -> usize {
        self.rows.size() + self.table.allocation_size() + self.converter.size()
    }

    fn emit(&self) -> Result<Vec<ArrayRef>> {
        Ok(self.converter.convert_rows(self.rows.iter())?)
    }

    fn emit_chunks(&self, rows: usize, f: &mut EmitChunk<'_>) -> Result<()> {
        for (start, len) in chunks(self.num_groups(), rows) {
            let keys = self
                .converter
                .convert_rows((start..start + len).map(|i| self.rows.row(i)))?;
            f(start, len, keys)?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Merging several workers' multi-column tables without re-interning their keys

/// A packed tuple of global column ids.
pub(crate) trait PackedKey: Copy + Eq + Send + Sync + 'static {
    fn hash_key(self) -> u64;
    fn push(self, id: u32, width: u32) -> Self;
    fn field(self, shift: u32, width: u32) -> u32;
    fn zero() -> Self;
}

impl PackedKey for u64 {
    #[inline(always)]
    fn hash_key(self) -> u64 {
        hash_u64(self)
    }
    #[inline(always)]
    fn push(self, id: u32, width: u32) -> Self {
        (self << width) | id as u64
    }
    #[inline(always)]
    fn field(self, shift: u32, width: u32) -> u32 {
        ((self >> shift) & ((1u64 << width) - 1)) as u32
    }
    fn zero() -> Self {
        0
    }
}

impl PackedKey for u128 {
    #[inline(always)]
    fn hash_key(self) -> u64 {
        hash_u128(self)
    }
    #[inline(always)]
    fn push(self, id: u32, width: u32) -> Self {
        (self << width) | id as u128
    }
    #[inline(always)]
    fn field(self, shift: u32, width: u32) -> u32 {
        ((self >> shift) & ((1u128 << width) - 1)) as u32
    }
    fn zero() -> Self {
        0
    }
}

/// Merges workers' [`ComposeInterner`]s through their column dictionaries: each column's
/// distinct values are interned once into a global column table, each worker's groups become
/// packed tuples of global column ids, and only those integers are hashed and merged (no key
/// bytes are copied, hashed or compared per group).
pub(crate) struct ComposeMerger {
    /// Global distinct values of each column.
    values: Vec<ArrayRef>,
    /// `luts[worker][column][local id]` = global id.
    luts: Vec<Vec<Vec<u32>>>,
    widths: Vec<u32>,
}

impl ComposeMerger {
    /// A merger when every table is a [`ComposeInterner`] with the same columns and the
    /// packed global tuples fit 128 bits.
    pub(crate) fn try_new(tables: &[&dyn GroupInterner]) -> Result<Option<Self>> {
        let mut cs = Vec::with_capacity(tables.len());
        for t in tables {
            match t.as_any().downcast_ref::<ComposeInterner>() {
                Some(c) => cs.push(c),
                None => return Ok(None),
            }
        }
        let Some(first) = cs.first() else {
            return Ok(None);
        };
        let w = first.cols.len();
        if cs.iter().any(|c| c.cols.len() != w) {
            return Ok(None);
        }
        let mut globals: Vec<Option<Box<dyn GroupInterner>>> = (0..w).map(|_| None).collect();
        let mut luts = Vec::with_capacity(cs.len());
        for c in &cs {
            let mut per_col = Vec::with_capacity(w);
            for (col, global) in c.cols.iter().zip(globals.iter_mut()) {
                let vals = col.emit()?;
                let Some(v) = vals.first() else {
                    return internal_err!("group column emitted nothing");
                };
                let g = global.get_or_insert_with(|| new_single(v.data_type()));
                let mut ids = Vec::new();
                g.intern(std::slice::from_ref(v), v.len(), &mut ids)?;
                per_col.push(ids);
            }
            luts.push(per_col);
        }
        let mut widths = Vec::with_capacity(w);
        let mut values = Vec::with_capacity(w);
        for g in globals.iter().flatten() {
            widths.push(bits_for(g.num_groups()));
            let v = g.emit()?;
            let Some(v) = v.into_iter().next() else {
                return internal_err!("group column emitted nothing");
            };
            values.push(v);
        }
        if widths.len() != w || widths.iter().sum::<u32>() > 128 {
            return Ok(None);
        }
        Ok(Some(ComposeMerger {
            values,
            luts,
            widths,
        }))
    }

    /// Whether packed tuples fit a `u64`.
    pub(crate) fn fits_u64(&self) -> bool {
        self.widths.iter().sum::<u32>() <= 64
    }

    /// The packed global tuple of every group of worker `worker`'s `table`.
    pub(crate) fn pack<K: PackedKey>(
        &self,
        worker: usize,
        table: &dyn GroupInterner,
    ) -> Result<Vec<K>> {
        let Some(c) = table.as_any().downcast_ref::<ComposeInterner>() else {
            return internal_err!("packed merge of a table that is not multi-column");
        };
        let w = self.widths.len();
        let luts = &self.luts[worker];
        Ok(c.group_cols
            .chunks_exact(w)
            .map(|t| {
                let mut k = K::zero();
                for ((&id, lut), &b) in t.iter().zip(luts).zip(&self.widths) {
                    k = k.push(lut[id as usize], b);
                }
                k
            })
            .collect())
    }

    /// The key columns of groups with packed tuples `keys`.
    pub(crate) fn emit<K: PackedKey>(&self, keys: &[K]) -> Result<Vec<ArrayRef>> {
        let mut shift: u32 = self.widths.iter().sum();
        let mut out = Vec::with_capacity(self.widths.len());
        for (v, &b) in self.values.iter().zip(&self.widths) {
            shift -= b;
            let idx = UInt32Array::from_iter_values(keys.iter().map(|k| k.field(shift, b)));
            out.push(take(v.as_ref(), &idx, None)?);
        }
        Ok(out)
    }
}

/// A table of packed tuples: `(key, group)` entries and each group's key.
pub(crate) struct PackedTable<K: PackedKey> {
    table: HashTable<(K, u32)>,
    pub(crate) keys: Vec<K>,
}

impl<K: PackedKey> PackedTable<K> {
    pub(crate) fn with_capacity(n: usize) -> Self {
        PackedTable {
            table: HashTable::with_capacity(n),
            keys: Vec::with_capacity(n),
        }
    }

    /// Sets `ids` to the group of each key, adding new groups.
    pub(crate) fn intern(&mut self, keys: &[K], ids: &mut Vec<u32>) {
        ids.clear();
        let (table, out) = (&mut self.table, &mut self.keys);
        ids.extend(keys.iter().map(|&k| {
            match table.entry(k.hash_key(), |e| e.0 == k, |e| e.0.hash_key()) {
                Entry::Occupied(o) => o.get().1,
                Entry::Vacant(v) => {
                    let g = out.len() as u32;
                    out.push(k);
                    v.insert((k, g));
                    g
                }
            }
        }));
    }

    pub(crate) fn size(&self) -> usize {
        self.table.allocation_size() + self.keys.capacity() * size_of::<K>()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use arrow::array::{Int64Array, StringArray};
    use arrow::util::display::array_value_to_string;

    use super::*;

    /// Interns `batches` (rows of `ncols` values) and checks ids against a map of the keys'
    /// printed values, and that `emit` gives each group's key back.
    fn check(types: &[DataType], batches: &[Vec<ArrayRef>], force_row: bool) {
        let mut t = new_interner(types, force_row).unwrap();
        let mut reference: HashMap<Vec<String>, u32> = HashMap::new();
        let mut ids = Vec::new();
        for cols in batches {
            let n = cols[0].len();
            t.intern(cols, n, &mut ids).unwrap();
            assert_eq!(ids.len(), n);
            for (i, &g) in ids.iter().enumerate() {
                let key: Vec<String> = cols
                    .iter()
                    .map(|c| {
                        if c.is_null(i) {
                            "NULL".into()
                        } else {
                            array_value_to_string(c.as_ref(), i).unwrap()
                        }
                    })
                    .collect();
                let want = *reference.entry(key).or_insert(g);
                assert_eq!(want, g);
            }
        }
        assert_eq!(t.num_groups(), reference.len());
        let keys = t.emit().unwrap();
        for (key, g) in reference {
            let got: Vec<String> = keys
                .iter()
                .map(|c| {
                    if c.is_null(g as usize) {
                        "NULL".into()
                    } else {
                        array_value_to_string(c.as_ref(), g as usize).unwrap()
                    }
                })
                .collect();
            assert_eq!(got, key);
        }
        // Nothing grows without rows; a hash table asked for many more rows than it has room
        // for needs a new one at least twice its buckets.
        assert_eq!(t.growth(0), 0);
        let many = 4 * t.num_groups() + 1024;
        let g = t.growth(many);
        assert!(g == 0 || g >= many * 9, "growth {g} for {many} rows");
        // The same keys in pieces (NULL group and string offsets included).
        for rows in [1, 7, 500, usize::MAX] {
            let mut pieces: Vec<Vec<ArrayRef>> = Vec::new();
            let mut next = 0;
            t.emit_chunks(rows, &mut |start, len, cols| {
                assert_eq!((start, cols.iter().all(|c| c.len() == len)), (next, true));
                next += len;
                pieces.push(cols);
                Ok(())
            })
            .unwrap();
            assert_eq!(next, t.num_groups());
            for (c, whole) in keys.iter().enumerate() {
                let parts: Vec<&dyn Array> = pieces.iter().map(|p| p[c].as_ref()).collect();
                let joined = arrow::compute::concat(&parts).unwrap();
                assert_eq!(
                    &joined.to_data(),
                    &whole.to_data(),
                    "column {c}, pieces of {rows}"
                );
            }
        }
    }

    fn ints(n: usize, f: impl Fn(usize) -> Option<i64>) -> ArrayRef {
        Arc::new(Int64Array::from_iter((0..n).map(f)))
    }

    #[test]
    fn tuple_tables_of_every_width() {
        // Cardinalities grow from batch to batch, forcing repacks from the dense table to
        // u64, u128 and wide tuples.
        for ncols in [2, 3, 5, 12] {
            let types = vec![DataType::Int64; ncols];
            let batches: Vec<Vec<ArrayRef>> = (0..6)
                .map(|b| {
                    (0..ncols)
                        .map(|c| {
                            let m = 3 + b * b * 700;
                            ints(1500, move |i| {
                                ((i * (c + 3) + b * 31) % 97 != 0)
                                    .then_some(((i * 7919 * (c + 1) + b) % m) as i64)
                            })
                        })
                        .collect()
                })
                .collect();
            check(&types, &batches, false);
            check(&types, &batches, true);
        }
    }

    #[test]
    fn hash_tables_report_their_growth() {
        let sparse = |n: usize| ints(n, move |i| Some((i as i64) << 20));
        let mut t = new_interner(&[DataType::Int64], false).unwrap();
        let mut ids = Vec::new();
        t.intern(&[sparse(5000)], 5000, &mut ids).unwrap();
        // 16-byte entries: at least the new table's buckets for all rows.
        assert!(t.growth(100_000) >= 100_000 * 16, "{}", t.growth(100_000));
        let mut c = new_interner(&[DataType::Int64, DataType::Utf8], false).unwrap();
        let s: ArrayRef = Arc::new(StringArray::from_iter_values(
            (0..5000).map(|i| i.to_string()),
        ));
        c.intern(&[sparse(5000), s], 5000, &mut ids).unwrap();
        assert!(c.growth(100_000) > 0);
    }

    #[test]
    fn single_columns() {
        // Integer keys switching from the dense table to hashing.
        let batches: Vec<Vec<ArrayRef>> = (0..4)
            .map(|b| vec![ints(1000, move |i| Some((i as i64 - 500) << (b * 12)))])
            .collect();
        check(&[DataType::Int64], &batches, false);
        // Strings of every length class, with NULLs.
        let strs: Vec<Vec<ArrayRef>> = (0..3)
            .map(|b| {
                let a: StringArray = (0..800)
                    .map(|i| {
                        (i % 13 != 0).then(|| "x".repeat((i * 7 + b) % 40) + &(i % 50).to_string())
                    })
                    .collect();
                vec![Arc::new(a) as ArrayRef]
            })
            .collect();
        check(&[DataType::Utf8], &strs, false);
        // Empty and one-byte strings (their groups are cached by byte) beside longer ones.
        let short: Vec<Vec<ArrayRef>> = (0..3)
            .map(|b| {
                let a: StringArray = (0..600)
                    .map(|i| {
                        let v = ["", "a", "b", "ab", "é", "Y", "N", "", "a\0"][(i * 5 + b) % 9];
                        (i % 11 != 0).then_some(v)
                    })
                    .collect();
                vec![Arc::new(a) as ArrayRef]
            })
            .collect();
        check(&[DataType::Utf8], &short, false);
    }
}
