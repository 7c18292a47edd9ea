//! Out-of-core hash aggregation.
//!
//! When the pool refuses a worker's table (or `force_spill` is set), the worker writes its
//! groups out as *partial states*: the key columns and each accumulator's state columns
//! ([`GroupsAcc::take_state`]), split by key hash into [`SPILL_PARTITIONS`] spill files, and
//! starts a fresh table. `finish` then spills what is still in memory the same way and returns
//! a source of one morsel per spill partition; opening a morsel merges that partition's states
//! into one table ([`GroupsAcc::load_state`] + `merge_from`) and evaluates it, so partitions
//! are finalised one by one, in parallel, each holding only its own groups. A partition still
//! too big for the memory left is split again by other hash bits and finalised piece by
//! piece (up to [`MAX_DEPTH`] levels).
//!
//! Memory: a table's keys are written in pieces of [`SPILL_CHUNK_GROUPS`] (no copy of them
//! all beside the table); a hash table about to grow reserves its new buckets first
//! (`GroupInterner::growth`) and the table spills instead when they do not fit; a finalised
//! partition's output stays reserved until it is read.
//!
//! `median` and `quantile_cont` spill each group's values as a list column, `string_agg` its
//! segments (positions and texts), `DISTINCT` aggregates each group's distinct values. A
//! global aggregation (one group) writes its value collections out instead (`global_spill`).

use std::sync::{Arc, Mutex};

use arrow::array::{ArrayRef, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use rask_common::{internal_err, Error, Result};

use super::accumulators::{create_accumulator, value_type, GroupsAcc};
use super::group_keys::new_interner;
use super::{evaluate_table, partition_of, AggLocal, HashAggregateExec, Shared};
use crate::executor::TaskContext;
use crate::hash::hash_rows as key_hashes;
use crate::memory::{batch_memory, MemoryPool, Reservation};
use crate::source::{batches_of, BatchIter, DataSource, Morsel, MorselRef};
use crate::spill::{gather_partitions, PartitionedSpill, SpillFile, SpillManager};

/// Spilled groups are split into this many partitions by key hash.
pub(super) const SPILL_PARTITIONS: usize = 32;

/// A spilled table's groups are written in pieces of this many.
const SPILL_CHUNK_GROUPS: usize = 1 << 16;

/// A partition that does not fit is split again, at most this many times.
const MAX_DEPTH: usize = 4;

/// The spill partition of a hash at recursion `depth` (other bits at every depth).
fn spill_partition(hash: u64, depth: usize, parts: usize) -> usize {
    partition_of(hash.rotate_left(13 * depth as u32 + 7), parts)
}

/// One worker's spill files, by partition (opened with the first spill, whose state schema
/// every later spill of the query shares).
pub(super) struct AggSpill {
    manager: Arc<SpillManager>,
    files: Option<PartitionedSpill>,
}

impl AggSpill {
    pub(super) fn new(manager: Arc<SpillManager>) -> Self {
        AggSpill {
            manager,
            files: None,
        }
    }

    pub(super) fn has_spilled(&self) -> bool {
        self.files.is_some()
    }
}

/// The schema of spilled state batches: key columns, then every accumulator's state columns.
fn state_schema(keys: &[ArrayRef], states: &[Vec<ArrayRef>]) -> SchemaRef {
    let mut fields: Vec<Field> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| Field::new(format!("k{i}"), k.data_type().clone(), true))
        .collect();
    for (a, cols) in states.iter().enumerate() {
        for (c, col) in cols.iter().enumerate() {
            fields.push(Field::new(
                format!("a{a}_{c}"),
                col.data_type().clone(),
                true,
            ));
        }
    }
    Arc::new(Schema::new(fields))
}

impl AggLocal {
    /// Writes the table's groups out as partial states, split by key hash, and starts an
    /// empty table. When most rows of the table were groups of their own, later batches
    /// skip the table ([`AggLocal::pass_through`]).
    pub(super) fn spill_table(&mut self) -> Result<()> {
        let Some(interner) = self.interner.take() else {
            return Ok(());
        };
        let n = interner.num_groups();
        if n == 0 {
            self.interner = Some(interner);
            return Ok(());
        }
        if n as u64 * 5 >= self.table_rows * 4 {
            self.pass_through = true;
        }
        self.table_rows = 0;
        let states = self.take_states(n)?;
        let spill = &mut self.spill;
        // The keys are written in pieces: a copy of them all would double the table's memory
        // just when it ran out.
        interner.emit_chunks(SPILL_CHUNK_GROUPS, &mut |start, len, keys| {
            spill.write_states(keys, &states, start, len)
        })?;
        drop((interner, states));
        // A fresh table: the next batch makes the interner for its key types.
        self.ids = Vec::new();
        self.filtered_ids = Vec::new();
        let size = self.size();
        self.reservation.try_resize(size)
    }

    /// Writes a batch's rows out as partial states of one group each (their keys `keys`),
    /// without a table: what a table would write when nearly every row is a new group, at
    /// a fraction of the cost.
    pub(super) fn write_rows(&mut self, keys: Vec<ArrayRef>, n: usize) -> Result<()> {
        let states = self.take_states(n)?;
        self.spill.write_states(keys, &states, 0, n)
    }

    /// The partial states of `n` groups; the accumulators start afresh.
    fn take_states(&mut self, n: usize) -> Result<Vec<Vec<ArrayRef>>> {
        let mut states = Vec::with_capacity(self.accs.len());
        for a in &mut self.accs {
            a.freeze()?;
            match a.take_state(n)? {
                Some(s) => states.push(s),
                None => return internal_err!("spilling an aggregate that cannot spill"),
            }
        }
        self.accs = self
            .shared
            .specs
            .iter()
            .zip(&self.arg_types)
            .map(|(s, t)| create_accumulator(s, t))
            .collect::<Result<Vec<_>>>()?;
        Ok(states)
    }
}

impl AggSpill {
    /// Writes groups `start..start + len` of `states` with their key columns `keys`, each
    /// row to the spill partition of its key hash.
    fn write_states(
        &mut self,
        keys: Vec<ArrayRef>,
        states: &[Vec<ArrayRef>],
        start: usize,
        len: usize,
    ) -> Result<()> {
        let key_count = keys.len();
        // Dictionary keys are spilled as their values: every worker's files share a schema.
        let keys = keys
            .into_iter()
            .map(|k| match k.data_type() {
                t @ DataType::Dictionary(..) => Ok(cast(&k, &value_type(t))?),
                _ => Ok(k),
            })
            .collect::<Result<Vec<_>>>()?;
        let files = self.files.get_or_insert_with(|| {
            PartitionedSpill::new(
                Arc::clone(&self.manager),
                state_schema(&keys, states),
                "aggregate",
                SPILL_PARTITIONS,
            )
        });
        let target = Arc::clone(files.schema());
        let mut cols: Vec<ArrayRef> = keys
            .into_iter()
            .chain(states.iter().flatten().map(|s| s.slice(start, len)))
            .collect();
        for (c, f) in cols.iter_mut().zip(target.fields()) {
            if c.data_type() != f.data_type() {
                *c = cast(c, f.data_type())?;
            }
        }
        let batch = RecordBatch::try_new(Arc::clone(&target), cols)?;
        let hashes = key_hashes(&batch.columns()[..key_count], len)?;
        files.write(&batch, &hashes, |h| spill_partition(h, 0, SPILL_PARTITIONS))
    }
}

impl HashAggregateExec {
    /// The source finalising spilled partitions: every worker's remaining table is spilled
    /// too, so each partition's groups are all on disk.
    pub(super) fn spilled_source(
        &self,
        locals: Vec<AggLocal>,
        ctx: &TaskContext,
    ) -> Result<SpilledAggSource> {
        let mut all = Vec::new();
        let mut arg_types = None;
        let mut schema = None;
        for mut l in locals {
            if l.saw_input() && l.accs.len() == self.shared.specs.len() {
                l.spill_table()?;
            }
            if !l.spill.has_spilled() {
                continue;
            }
            arg_types.get_or_insert_with(|| l.arg_types.clone());
            if let Some(files) = l.spill.files.take() {
                schema.get_or_insert_with(|| Arc::clone(files.schema()));
                all.push(files.finish()?);
            }
        }
        let parts = gather_partitions(all, SPILL_PARTITIONS);
        let (Some(arg_types), Some(state_schema)) = (arg_types, schema) else {
            return internal_err!("HashAggregateExec: spilled without a state schema");
        };
        Ok(SpilledAggSource {
            exec: Arc::new(SpilledAgg {
                shared: Arc::clone(&self.shared),
                schema: Arc::clone(&self.schema),
                arg_types,
                state_schema,
                pool: Arc::clone(&ctx.pool),
                spill: Arc::clone(&ctx.spill),
                threads: ctx.config.effective_threads(),
            }),
            parts: parts
                .into_iter()
                .map(|p| Arc::new(Mutex::new(Some(p))))
                .collect(),
        })
    }
}

/// One spilled partition's groups: merges its states into one table and evaluates it; when
/// the table outgrows the memory it can get, splits the states again by other hash bits and
/// finalises the pieces one by one.
struct SpilledAggIter {
    exec: Arc<SpilledAgg>,
    /// `(files, depth)` still to finalise.
    pending: Vec<(Vec<SpillFile>, usize)>,
    out: std::vec::IntoIter<RecordBatch>,
    /// Holds `out`.
    reservation: Option<Reservation>,
}

impl SpilledAggIter {
    fn step(&mut self) -> Result<Option<RecordBatch>> {
        loop {
            if let Some(b) = self.out.next() {
                return Ok(Some(b));
            }
            self.reservation = None;
            let Some((files, depth)) = self.pending.pop() else {
                return Ok(None);
            };
            match self.exec.merge(&files) {
                Ok((out, reservation)) => {
                    self.out = out.into_iter();
                    self.reservation = Some(reservation);
                }
                Err(Error::ResourcesExhausted(_)) if depth <= MAX_DEPTH => {
                    let subs = self.exec.repartition(files, depth)?;
                    // Popped from the back: keep the pieces' order.
                    self.pending
                        .extend(subs.into_iter().rev().map(|sub| (sub, depth + 1)));
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// What finalising a spilled partition needs.
#[derive(Debug)]
struct SpilledAgg {
    shared: Arc<Shared>,
    schema: SchemaRef,
    arg_types: Vec<Vec<DataType>>,
    state_schema: SchemaRef,
    pool: Arc<MemoryPool>,
    spill: Arc<SpillManager>,
    threads: usize,
}

type PartFiles = Arc<Mutex<Option<Vec<SpillFile>>>>;

/// Spilled partitions of an aggregation; one morsel (and output partition) each.
#[derive(Debug)]
pub(super) struct SpilledAggSource {
    exec: Arc<SpilledAgg>,
    parts: Vec<PartFiles>,
}

impl DataSource for SpilledAggSource {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.exec.schema)
    }
    fn morsels(&self) -> Result<Vec<MorselRef>> {
        Ok(self
            .parts
            .iter()
            .enumerate()
            .map(|(p, files)| {
                Arc::new(SpilledAggMorsel {
                    exec: Arc::clone(&self.exec),
                    files: Arc::clone(files),
                    partition: p,
                }) as MorselRef
            })
            .collect())
    }
}

#[derive(Debug)]
struct SpilledAggMorsel {
    exec: Arc<SpilledAgg>,
    files: PartFiles,
    partition: usize,
}

impl Morsel for SpilledAggMorsel {
    fn open(&self) -> Result<BatchIter> {
        let files = self
            .files
            .lock()
            .map_err(|_| Error::Internal("aggregate spill lock poisoned".into()))?
            .take();
        let Some(files) = files else {
            return internal_err!("HashAggregateExec: a spilled partition was read twice");
        };
        let mut it = SpilledAggIter {
            exec: Arc::clone(&self.exec),
            pending: vec![(files, 1)],
            out: Vec::new().into_iter(),
            reservation: None,
        };
        Ok(batches_of(move || it.step()))
    }
    fn partition(&self) -> usize {
        self.partition
    }
}

impl SpilledAgg {
    fn key_count(&self) -> usize {
        self.shared.group_exprs.len()
    }

    fn reservation(&self) -> Reservation {
        self.pool
            .spillable_reservation("HashAggregateExec(spilled partition)", self.threads)
    }

    /// The evaluated groups of `files`, and the reservation that holds them.
    fn merge(&self, files: &[SpillFile]) -> Result<(Vec<RecordBatch>, Reservation)> {
        if files.is_empty() {
            return Ok((Vec::new(), self.reservation()));
        }
        let nk = self.key_count();
        let key_types: Vec<DataType> = self.state_schema.fields()[..nk]
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        let mut interner = new_interner(&key_types, self.shared.force_row_keys)?;
        let mut accs: Vec<Box<dyn GroupsAcc>> = self
            .shared
            .specs
            .iter()
            .zip(&self.arg_types)
            .map(|(s, t)| create_accumulator(s, t))
            .collect::<Result<_>>()?;
        let widths: Vec<usize> = accs
            .iter_mut()
            .map(|a| Ok(a.take_state(0)?.map_or(0, |s| s.len())))
            .collect::<Result<_>>()?;
        let mut reservation = self.reservation();
        let mut ids = Vec::new();
        let mut src: Vec<u32> = Vec::new();
        for f in files {
            for batch in f.read()? {
                let batch = batch?;
                let m = batch.num_rows();
                // Room for the table to grow first (see `GroupInterner::growth`).
                let growth = interner.growth(m);
                if growth > 0 {
                    reservation.try_resize(reservation.size() + growth)?;
                }
                interner.intern(&batch.columns()[..nk], m, &mut ids)?;
                let n = interner.num_groups();
                src.clear();
                src.extend(0..m as u32);
                let mut col = nk;
                for (acc, w) in accs.iter_mut().zip(&widths) {
                    let loaded = acc.load_state(&batch.columns()[col..col + w])?;
                    acc.merge_from(loaded.as_ref(), &src, &ids, n)?;
                    col += w;
                }
                let size = interner.size() + accs.iter().map(|a| a.size()).sum::<usize>();
                reservation.try_resize(size)?;
            }
        }
        let (keys, aggs) = evaluate_table(interner.as_ref(), &mut accs)?;
        drop((interner, accs));
        let out = output_batches(&self.schema, keys, aggs)?;
        // The table is gone; its output stays reserved until it is passed on. (When the pool
        // refuses more than the table held, the output exists already: the table's share
        // stays reserved.)
        let bytes = out.iter().map(batch_memory).sum();
        reservation.try_resize(bytes).ok();
        Ok((out, reservation))
    }

    /// Splits the states in `files` by other hash bits into new files.
    fn repartition(&self, files: Vec<SpillFile>, depth: usize) -> Result<Vec<Vec<SpillFile>>> {
        let nk = self.key_count();
        let mut out = PartitionedSpill::new(
            Arc::clone(&self.spill),
            Arc::clone(&self.state_schema),
            "aggregate",
            SPILL_PARTITIONS,
        );
        for f in &files {
            for batch in f.read()? {
                let batch = batch?;
                let hashes = key_hashes(&batch.columns()[..nk], batch.num_rows())?;
                out.write(&batch, &hashes, |h| {
                    spill_partition(h, depth, SPILL_PARTITIONS)
                })?;
            }
        }
        drop(files);
        Ok(gather_partitions(vec![out.finish()?], SPILL_PARTITIONS))
    }
}

/// Casts `keys` then `aggs` to `schema` and cuts them into batches.
pub(super) fn output_batches(
    schema: &SchemaRef,
    keys: Vec<ArrayRef>,
    aggs: Vec<ArrayRef>,
) -> Result<Vec<RecordBatch>> {
    let mut cols = Vec::with_capacity(keys.len() + aggs.len());
    for (c, f) in keys.into_iter().chain(aggs).zip(schema.fields()) {
        cols.push(if c.data_type() == f.data_type() {
            c
        } else {
            cast(&c, f.data_type())?
        });
    }
    let batch = RecordBatch::try_new(Arc::clone(schema), cols)
        .map_err(|e| Error::Internal(format!("aggregate output does not match its schema: {e}")))?;
    let n = batch.num_rows();
    Ok((0..n)
        .step_by(super::MAX_OUTPUT_ROWS)
        .map(|s| batch.slice(s, super::MAX_OUTPUT_ROWS.min(n - s)))
        .collect())
}
