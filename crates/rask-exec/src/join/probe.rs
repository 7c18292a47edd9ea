//! The probe phase: candidate pairs per probe batch, verified, filtered, gathered; and the
//! build rows emitted once probing is over.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use arrow::array::{
    new_null_array, Array, ArrayRef, AsArray, BooleanArray, RecordBatch, RecordBatchOptions,
    UInt32Array,
};
use arrow::buffer::{BooleanBuffer, NullBuffer, ScalarBuffer};
use arrow::compute::{filter_record_batch, take};
use arrow::datatypes::DataType;
use rask_common::{exec_err, Result, ScalarValue};

use super::build::{
    int_hash, int_keys, is_int_key, key_validity, BuildIndex, JoinShared, PartedTable, NONE,
};
use super::verify::verify_keys;
use super::{BuildOutput, IndexKind, JoinCore, ProbeOutput};
use crate::columnar::ColumnarValue;
use crate::executor::StreamOperator;
use crate::hash::hash_columns;

/// Candidate pairs are verified and filtered this many at a time.
const CHUNK: usize = 1 << 16;
/// Build rows emitted after probing come in batches of at most this many rows.
const OUTPUT_ROWS: usize = 1 << 15;

/// The probe operator appended to the probe pipeline.
#[derive(Debug)]
pub(super) struct ProbeExec {
    shared: Arc<JoinShared>,
}

impl std::fmt::Debug for JoinShared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "JoinShared({:?})", self.core.spec.join_type)
    }
}

impl ProbeExec {
    pub(super) fn new(shared: Arc<JoinShared>) -> Self {
        ProbeExec { shared }
    }
}

impl StreamOperator for ProbeExec {
    fn execute(&self, batch: RecordBatch) -> Result<Option<RecordBatch>> {
        probe_batch(&self.shared, batch)
    }
    fn describe(&self) -> String {
        format!("JoinProbe: {}", self.shared.core.spec.join_type)
    }
    fn output_schema(&self, _input: &arrow::datatypes::SchemaRef) -> arrow::datatypes::SchemaRef {
        Arc::clone(&self.shared.core.spec.schema)
    }
}

/// Finds the first build row with a probe row's key.
trait Lookup {
    /// Head of the chain of build rows that may match probe row `r` (`NONE`: none).
    fn head(&self, r: usize) -> u32;
    /// Whether every candidate has the probe row's key (no verification needed).
    const EXACT: bool;
}

struct DenseLookup<'a> {
    keys: &'a [i64],
    valid: Option<&'a NullBuffer>,
    min: i64,
    heads: &'a [u32],
}

impl Lookup for DenseLookup<'_> {
    const EXACT: bool = true;
    #[inline(always)]
    fn head(&self, r: usize) -> u32 {
        if self.valid.is_some_and(|v| v.is_null(r)) {
            return NONE;
        }
        let slot = self.keys[r].wrapping_sub(self.min) as u64;
        if slot < self.heads.len() as u64 {
            self.heads[slot as usize]
        } else {
            NONE
        }
    }
}

struct IntLookup<'a> {
    keys: &'a [i64],
    valid: Option<&'a NullBuffer>,
    table: &'a PartedTable<i64>,
}

impl Lookup for IntLookup<'_> {
    const EXACT: bool = true;
    #[inline(always)]
    fn head(&self, r: usize) -> u32 {
        if self.valid.is_some_and(|v| v.is_null(r)) {
            return NONE;
        }
        let k = self.keys[r];
        let h = int_hash(k);
        self.table
            .part(h)
            .find(h, |e| e.0 == k)
            .map_or(NONE, |e| e.1)
    }
}

struct HashLookup<'a> {
    hashes: &'a [u64],
    valid: Option<&'a NullBuffer>,
    table: &'a PartedTable<u64>,
}

impl Lookup for HashLookup<'_> {
    const EXACT: bool = false;
    #[inline(always)]
    fn head(&self, r: usize) -> u32 {
        if self.valid.is_some_and(|v| v.is_null(r)) {
            return NONE;
        }
        let h = self.hashes[r];
        self.table
            .part(h)
            .find(h, |e| e.0 == h)
            .map_or(NONE, |e| e.1)
    }
}

/// What one probe batch accumulates over its chunks of pairs.
struct ProbeState<'a> {
    core: &'a JoinCore,
    shared: &'a JoinShared,
    batch: &'a RecordBatch,
    probe_keys: &'a [ArrayRef],
    /// Keys must be compared on candidates (hashed index, or nested loop with keys).
    verify: bool,
    /// Pairs kept (for pair outputs).
    out_probe: Vec<u32>,
    out_build: Vec<u32>,
    /// Per probe row: matched (for outer/semi/anti outputs).
    probe_matched: Vec<bool>,
    keep: Vec<bool>,
}

impl ProbeState<'_> {
    /// Verifies, filters and records one chunk of candidate pairs.
    fn process(&mut self, pi: &mut Vec<u32>, bi: &mut Vec<u32>) -> Result<()> {
        let built = self.shared.built()?;
        if self.verify {
            self.keep.clear();
            self.keep.resize(pi.len(), true);
            let null_aware = self.core.probe_output == ProbeOutput::AntiNullAware;
            verify_keys(
                self.probe_keys,
                &built.keys,
                pi,
                bi,
                &mut self.keep,
                null_aware,
            )?;
            let keep = &self.keep;
            compact(pi, bi, |i| keep[i]);
        }
        if let Some(f) = &self.core.spec.filter {
            if !pi.is_empty() {
                let pidx = UInt32Array::from(pi.clone());
                let bidx = UInt32Array::from(bi.clone());
                let columns = self
                    .core
                    .filter_columns
                    .iter()
                    .map(|(from_probe, c)| {
                        Ok(if *from_probe {
                            take(self.batch.column(*c).as_ref(), &pidx, None)?
                        } else {
                            take(built.batch.column(*c).as_ref(), &bidx, None)?
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                let fb = RecordBatch::try_new_with_options(
                    Arc::clone(&f.schema),
                    columns,
                    &RecordBatchOptions::new().with_row_count(Some(pi.len())),
                )?;
                match f.expr.evaluate(&fb)? {
                    ColumnarValue::Scalar(ScalarValue::Boolean(Some(true))) => {}
                    ColumnarValue::Scalar(_) => {
                        pi.clear();
                        bi.clear();
                    }
                    ColumnarValue::Array(a) => {
                        if a.data_type() != &DataType::Boolean {
                            return exec_err!("join filter evaluated to {}", a.data_type());
                        }
                        let mask = a.as_boolean();
                        let values = mask.values();
                        match mask.nulls().filter(|n| n.null_count() > 0) {
                            None => compact(pi, bi, |i| values.value(i)),
                            Some(n) => compact(pi, bi, |i| n.is_valid(i) && values.value(i)),
                        }
                    }
                }
            }
        }
        match self.core.probe_output {
            ProbeOutput::Pairs | ProbeOutput::PairsOuter => {
                self.out_probe.extend_from_slice(pi);
                self.out_build.extend_from_slice(bi);
            }
            _ => {}
        }
        if !self.probe_matched.is_empty() {
            for &p in pi.iter() {
                self.probe_matched[p as usize] = true;
            }
        }
        if !built.matched.is_empty() {
            for &b in bi.iter() {
                let m = &built.matched[b as usize];
                if !m.load(Ordering::Relaxed) {
                    m.store(true, Ordering::Relaxed);
                }
            }
        }
        Ok(())
    }
}

/// Keeps the pairs `i` where `keep(i)`, in order.
#[inline]
fn compact(pi: &mut Vec<u32>, bi: &mut Vec<u32>, keep: impl Fn(usize) -> bool) {
    let mut w = 0;
    for r in 0..pi.len() {
        if keep(r) {
            pi[w] = pi[r];
            bi[w] = bi[r];
            w += 1;
        }
    }
    pi.truncate(w);
    bi.truncate(w);
}

/// Walks the chains of every probe row, handing pairs to `state` a chunk at a time.
fn probe_chains<L: Lookup>(
    lookup: &L,
    next: &[u32],
    n: usize,
    state: &mut ProbeState<'_>,
) -> Result<()> {
    let semi_like = matches!(
        state.core.probe_output,
        ProbeOutput::Semi | ProbeOutput::Anti | ProbeOutput::AntiNullAware
    );
    if L::EXACT
        && semi_like
        && state.core.spec.filter.is_none()
        && state.shared.built()?.matched.is_empty()
    {
        // Existence is all that matters, and every candidate matches.
        for r in 0..n {
            state.probe_matched[r] = lookup.head(r) != NONE;
        }
        return Ok(());
    }
    let mut pi: Vec<u32> = Vec::with_capacity(n.min(CHUNK));
    let mut bi: Vec<u32> = Vec::with_capacity(n.min(CHUNK));
    for r in 0..n {
        let mut b = lookup.head(r);
        while b != NONE {
            pi.push(r as u32);
            bi.push(b);
            b = next[b as usize];
            if pi.len() >= CHUNK {
                state.process(&mut pi, &mut bi)?;
                pi.clear();
                bi.clear();
            }
        }
    }
    if !pi.is_empty() {
        state.process(&mut pi, &mut bi)?;
    }
    Ok(())
}

/// Every (probe, build) pair, a chunk at a time.
fn probe_all(n: usize, nb: usize, state: &mut ProbeState<'_>) -> Result<()> {
    let mut pi: Vec<u32> = Vec::with_capacity((n * nb).min(CHUNK));
    let mut bi: Vec<u32> = Vec::with_capacity((n * nb).min(CHUNK));
    for r in 0..n {
        let mut start = 0;
        while start < nb {
            let take_n = (CHUNK - pi.len()).min(nb - start);
            pi.extend(std::iter::repeat_n(r as u32, take_n));
            bi.extend(start as u32..(start + take_n) as u32);
            start += take_n;
            if pi.len() >= CHUNK {
                state.process(&mut pi, &mut bi)?;
                pi.clear();
                bi.clear();
            }
        }
    }
    if !pi.is_empty() {
        state.process(&mut pi, &mut bi)?;
    }
    Ok(())
}

fn probe_batch(shared: &JoinShared, batch: RecordBatch) -> Result<Option<RecordBatch>> {
    let core = shared.core.as_ref();
    let built = shared.built()?;
    let n = batch.num_rows();
    let nb = built.batch.num_rows();
    if n == 0 {
        return Ok(None);
    }
    let hashed_null_aware =
        core.probe_output == ProbeOutput::AntiNullAware && core.index == IndexKind::Hash;
    if hashed_null_aware && nb > 0 && built.has_null_key {
        // `x NOT IN (..., NULL, ...)` is never TRUE.
        return Ok(None);
    }
    if nb == 0 {
        return match core.probe_output {
            ProbeOutput::Pairs | ProbeOutput::Semi | ProbeOutput::Nothing => Ok(None),
            ProbeOutput::Anti | ProbeOutput::AntiNullAware => Ok(Some(with_schema(core, batch)?)),
            ProbeOutput::PairsOuter => {
                let unmatched: Vec<u32> = (0..n as u32).collect();
                Ok(Some(pairs_output(
                    core,
                    shared,
                    &batch,
                    &[],
                    &[],
                    &unmatched,
                )?))
            }
        };
    }
    let probe_keys = core
        .probe_keys
        .iter()
        .map(|k| k.evaluate_to_array(&batch))
        .collect::<Result<Vec<_>>>()?;
    let tracks_probe = matches!(
        core.probe_output,
        ProbeOutput::PairsOuter
            | ProbeOutput::Semi
            | ProbeOutput::Anti
            | ProbeOutput::AntiNullAware
    );
    let mut state = ProbeState {
        core,
        shared,
        batch: &batch,
        probe_keys: &probe_keys,
        verify: false,
        out_probe: Vec::new(),
        out_build: Vec::new(),
        probe_matched: if tracks_probe {
            vec![false; n]
        } else {
            Vec::new()
        },
        keep: Vec::new(),
    };
    let mut valid_keys: Option<NullBuffer> = None;
    match &built.index {
        BuildIndex::All => {
            state.verify = !probe_keys.is_empty();
            probe_all(n, nb, &mut state)?;
        }
        BuildIndex::Dense { min, heads, next } => {
            let k = &probe_keys[0];
            check_int_key(k)?;
            let keys = int_keys(k.as_ref())?;
            valid_keys = key_validity(&probe_keys);
            let lookup = DenseLookup {
                keys: &keys,
                valid: valid_keys.as_ref(),
                min: *min,
                heads,
            };
            probe_chains(&lookup, next, n, &mut state)?;
        }
        BuildIndex::Int { table, next } => {
            let k = &probe_keys[0];
            check_int_key(k)?;
            let keys = int_keys(k.as_ref())?;
            valid_keys = key_validity(&probe_keys);
            let lookup = IntLookup {
                keys: &keys,
                valid: valid_keys.as_ref(),
                table,
            };
            probe_chains(&lookup, next, n, &mut state)?;
        }
        BuildIndex::Hashed { table, next } => {
            let mut hashes = Vec::new();
            hash_columns(&probe_keys, n, &mut hashes)?;
            valid_keys = key_validity(&probe_keys);
            state.verify = true;
            let lookup = HashLookup {
                hashes: &hashes,
                valid: valid_keys.as_ref(),
                table,
            };
            probe_chains(&lookup, next, n, &mut state)?;
        }
    }
    let ProbeState {
        out_probe,
        out_build,
        probe_matched,
        ..
    } = state;
    match core.probe_output {
        ProbeOutput::Nothing => Ok(None),
        ProbeOutput::Pairs => {
            if out_probe.is_empty() {
                return Ok(None);
            }
            Ok(Some(pairs_output(
                core,
                shared,
                &batch,
                &out_probe,
                &out_build,
                &[],
            )?))
        }
        ProbeOutput::PairsOuter => {
            let unmatched: Vec<u32> = (0..n as u32)
                .filter(|r| !probe_matched[*r as usize])
                .collect();
            Ok(Some(pairs_output(
                core, shared, &batch, &out_probe, &out_build, &unmatched,
            )?))
        }
        ProbeOutput::Semi => select_rows(core, batch, |r| probe_matched[r]),
        ProbeOutput::Anti => select_rows(core, batch, |r| !probe_matched[r]),
        ProbeOutput::AntiNullAware => {
            if hashed_null_aware {
                // NULL probe keys compare NULL with the (non-empty, NULL-free) build keys.
                let v = valid_keys.as_ref();
                select_rows(core, batch, |r| {
                    !probe_matched[r] && v.is_none_or(|v| v.is_valid(r))
                })
            } else {
                select_rows(core, batch, |r| !probe_matched[r])
            }
        }
    }
}

fn check_int_key(k: &ArrayRef) -> Result<()> {
    if is_int_key(k.data_type()) {
        Ok(())
    } else {
        rask_common::internal_err!(
            "probe key of type {} against an integer index",
            k.data_type()
        )
    }
}

/// The probe batch relabelled with the join's output schema.
fn with_schema(core: &JoinCore, batch: RecordBatch) -> Result<RecordBatch> {
    let rows = batch.num_rows();
    Ok(RecordBatch::try_new_with_options(
        Arc::clone(&core.spec.schema),
        batch.columns().to_vec(),
        &RecordBatchOptions::new().with_row_count(Some(rows)),
    )?)
}

/// Probe rows where `keep(row)`.
fn select_rows(
    core: &JoinCore,
    batch: RecordBatch,
    keep: impl Fn(usize) -> bool,
) -> Result<Option<RecordBatch>> {
    let n = batch.num_rows();
    let mask: BooleanBuffer = (0..n).map(&keep).collect();
    let count = mask.count_set_bits();
    if count == 0 {
        return Ok(None);
    }
    let batch = with_schema(core, batch)?;
    if count == n {
        return Ok(Some(batch));
    }
    Ok(Some(filter_record_batch(
        &batch,
        &BooleanArray::new(mask, None),
    )?))
}

/// Output columns in left-then-right order.
fn assemble(
    core: &JoinCore,
    probe_cols: Vec<ArrayRef>,
    build_cols: Vec<ArrayRef>,
    rows: usize,
) -> Result<RecordBatch> {
    let mut cols = Vec::with_capacity(probe_cols.len() + build_cols.len());
    if core.build_is_right() {
        cols.extend(probe_cols);
        cols.extend(build_cols);
    } else {
        cols.extend(build_cols);
        cols.extend(probe_cols);
    }
    Ok(RecordBatch::try_new_with_options(
        Arc::clone(&core.spec.schema),
        cols,
        &RecordBatchOptions::new().with_row_count(Some(rows)),
    )?)
}

/// Pairs, then `unmatched` probe rows with NULL build columns.
fn pairs_output(
    core: &JoinCore,
    shared: &JoinShared,
    batch: &RecordBatch,
    probe_rows: &[u32],
    build_rows: &[u32],
    unmatched: &[u32],
) -> Result<RecordBatch> {
    let built = shared.built()?;
    let rows = probe_rows.len() + unmatched.len();
    let identity = unmatched.is_empty()
        && probe_rows.len() == batch.num_rows()
        && probe_rows.iter().enumerate().all(|(i, r)| *r as usize == i);
    let probe_cols: Vec<ArrayRef> = if identity {
        batch.columns().to_vec()
    } else {
        let mut idx = Vec::with_capacity(rows);
        idx.extend_from_slice(probe_rows);
        idx.extend_from_slice(unmatched);
        let idx = UInt32Array::from(idx);
        batch
            .columns()
            .iter()
            .map(|c| Ok(take(c.as_ref(), &idx, None)?))
            .collect::<Result<_>>()?
    };
    let build_cols: Vec<ArrayRef> = if build_rows.is_empty() {
        built
            .batch
            .schema()
            .fields()
            .iter()
            .map(|f| new_null_array(f.data_type(), rows))
            .collect()
    } else {
        let mut values = Vec::with_capacity(rows);
        values.extend_from_slice(build_rows);
        values.resize(rows, 0);
        let nulls = (!unmatched.is_empty()).then(|| {
            let mut bits = arrow::array::BooleanBufferBuilder::new(rows);
            bits.append_n(build_rows.len(), true);
            bits.append_n(unmatched.len(), false);
            NullBuffer::new(bits.finish())
        });
        let idx = UInt32Array::new(ScalarBuffer::from(values), nulls);
        built
            .batch
            .columns()
            .iter()
            .map(|c| Ok(take(c.as_ref(), &idx, None)?))
            .collect::<Result<_>>()?
    };
    assemble(core, probe_cols, build_cols, rows)
}

/// The build rows a join outputs after probing: unmatched ones (outer, anti) or matched ones
/// (semi).
pub(super) fn emit_build_rows(shared: &JoinShared) -> Result<Vec<RecordBatch>> {
    let core = shared.core.as_ref();
    let built = shared.built()?;
    let want_matched = match core.build_output {
        BuildOutput::Nothing => return Ok(vec![]),
        BuildOutput::Semi => true,
        BuildOutput::Unmatched | BuildOutput::Anti => false,
    };
    let rows: Vec<u32> = built
        .matched
        .iter()
        .enumerate()
        .filter(|(_, m)| m.load(Ordering::Relaxed) == want_matched)
        .map(|(i, _)| i as u32)
        .collect();
    let mut out = Vec::new();
    for chunk in rows.chunks(OUTPUT_ROWS) {
        let idx = UInt32Array::from(chunk.to_vec());
        let build_cols: Vec<ArrayRef> = built
            .batch
            .columns()
            .iter()
            .map(|c| Ok(take(c.as_ref(), &idx, None)?))
            .collect::<Result<_>>()?;
        let batch = if core.build_output == BuildOutput::Unmatched {
            let probe_cols = core
                .probe_schema
                .fields()
                .iter()
                .map(|f| new_null_array(f.data_type(), chunk.len()))
                .collect();
            assemble(core, probe_cols, build_cols, chunk.len())?
        } else {
            RecordBatch::try_new_with_options(
                Arc::clone(&core.spec.schema),
                build_cols,
                &RecordBatchOptions::new().with_row_count(Some(chunk.len())),
            )?
        };
        out.push(batch);
    }
    Ok(out)
}
