//! Ordered, spillable partition buffers: what [`ShuffleExec`](crate::shuffle::ShuffleExec),
//! [`MapPartitionsExec`](crate::map_partitions::MapPartitionsExec) and persisted frames keep.
//!
//! A worker's [`PartitionBuffer`] appends each batch it is given to one output partition as a
//! *chunk* tagged with its work item and sequence number, `(item, seq)`. Chunks stay in memory
//! while the buffer's reservation grows; when the pool refuses (or `force_spill` is set) every
//! in-memory chunk of the worker is written out, one Arrow IPC spill file per partition, and
//! the reservation is returned. [`PartitionBuffer::finish_all`] merges the workers' buffers
//! into a [`PartitionStore`]: per partition, the chunks of every worker sorted by
//! `(item, seq)`, which is the order of the input (work items are numbered in partition order).
//!
//! A store is read through [`StoreSource`]: morsels of a few chunks, in partition order, that
//! read spilled chunks back with one open reader per file (files are read front to back, since
//! a file holds chunks in order). The store owns its spill files and reservations: they are
//! released when the last source over it is dropped.
//!
//! # Statistics
//! A buffer can also keep, per partition and column, the minimum, maximum and NULL count of
//! the rows it saw ([`PartitionStats`]); persisted frames use them to skip partitions.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, RecordBatch, RecordBatchOptions};
use arrow::compute::{concat, sort_to_indices, SortOptions};
use arrow::datatypes::{DataType, SchemaRef};
use rask_common::{internal_err, Result, ScalarValue};

use crate::memory::{batch_memory, Reservation};
use crate::source::{BatchIter, DataSource, Morsel, MorselRef};
use crate::spill::{SpillFile, SpillManager, SpillReader, SpillWriter};

/// Where a chunk's rows are.
#[derive(Debug, Clone)]
enum Stored {
    Mem(RecordBatch),
    /// Batch `index` of file `file` (an index into the owner's file list).
    Disk {
        file: usize,
        index: usize,
    },
}

/// One batch of a partition, with its place in the input order.
#[derive(Debug, Clone)]
struct Chunk {
    item: usize,
    seq: usize,
    rows: usize,
    stored: Stored,
}

/// Per column: the smallest and largest non-NULL value seen (one-row arrays) and NULLs.
#[derive(Debug, Clone, Default)]
struct ColumnAcc {
    min: Option<ArrayRef>,
    max: Option<ArrayRef>,
    nulls: u64,
    unsupported: bool,
}

/// What is known about one column of one partition.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnStatistics {
    /// The smallest non-NULL value (`None`: no non-NULL value, or a type without an order).
    pub min: Option<ScalarValue>,
    /// The largest non-NULL value (for floats, NaN counts as the largest).
    pub max: Option<ScalarValue>,
    /// Number of NULLs.
    pub null_count: u64,
}

/// What is known about one partition: its rows and, per column, bounds and NULLs.
#[derive(Debug, Clone, PartialEq)]
pub struct PartitionStats {
    /// Rows in the partition.
    pub rows: u64,
    /// Per column of the store's schema.
    pub columns: Vec<ColumnStatistics>,
}

fn orderable(t: &DataType) -> bool {
    t.is_primitive()
        || matches!(
            t,
            DataType::Boolean | DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
        )
}

/// Index of the smallest (or largest) non-NULL value of `a`.
fn extreme(a: &dyn Array, largest: bool) -> Result<Option<u32>> {
    if a.null_count() == a.len() {
        return Ok(None);
    }
    let opts = SortOptions {
        descending: largest,
        nulls_first: false,
    };
    let idx = sort_to_indices(a, Some(opts), Some(1))?;
    Ok((!idx.is_empty()).then(|| idx.value(0)))
}

impl ColumnAcc {
    fn update(&mut self, a: &ArrayRef) -> Result<()> {
        self.nulls += a.null_count() as u64;
        if self.unsupported {
            return Ok(());
        }
        if !orderable(a.data_type()) {
            self.unsupported = true;
            return Ok(());
        }
        for largest in [false, true] {
            // A type the sort kernel cannot order gives no bounds (pruning stays off).
            let Ok(found) = extreme(a.as_ref(), largest) else {
                self.unsupported = true;
                return Ok(());
            };
            let Some(i) = found else {
                continue;
            };
            let candidate = a.slice(i as usize, 1);
            let slot = if largest {
                &mut self.max
            } else {
                &mut self.min
            };
            let next = match slot.take() {
                None => candidate,
                Some(cur) => {
                    let both = concat(&[cur.as_ref(), candidate.as_ref()])?;
                    match extreme(both.as_ref(), largest)? {
                        Some(j) => both.slice(j as usize, 1),
                        None => cur,
                    }
                }
            };
            // Keep a compact copy, not a slice pinning the whole input batch.
            *slot = Some(concat(&[next.as_ref()])?);
        }
        Ok(())
    }

    fn merge(&mut self, other: ColumnAcc) -> Result<()> {
        self.nulls += other.nulls;
        self.unsupported |= other.unsupported;
        if self.unsupported {
            return Ok(());
        }
        for v in [other.min, other.max].into_iter().flatten() {
            let nulls = self.nulls;
            self.update(&v)?;
            self.nulls = nulls;
        }
        Ok(())
    }

    fn finish(self) -> Result<ColumnStatistics> {
        let value = |a: Option<ArrayRef>| -> Result<Option<ScalarValue>> {
            match a {
                Some(a) if !self.unsupported => Ok(ScalarValue::try_from_array(a.as_ref(), 0).ok()),
                _ => Ok(None),
            }
        };
        Ok(ColumnStatistics {
            min: value(self.min.clone())?,
            max: value(self.max.clone())?,
            null_count: self.nulls,
        })
    }
}

/// Per partition statistics being gathered.
#[derive(Debug, Clone, Default)]
struct StatsAcc {
    rows: u64,
    columns: Vec<ColumnAcc>,
}

impl StatsAcc {
    fn update(&mut self, batch: &RecordBatch) -> Result<()> {
        if self.columns.is_empty() {
            self.columns = vec![ColumnAcc::default(); batch.num_columns()];
        }
        self.rows += batch.num_rows() as u64;
        for (acc, c) in self.columns.iter_mut().zip(batch.columns()) {
            acc.update(c)?;
        }
        Ok(())
    }

    fn merge(&mut self, other: StatsAcc) -> Result<()> {
        if self.columns.is_empty() {
            *self = other;
            return Ok(());
        }
        self.rows += other.rows;
        for (a, b) in self.columns.iter_mut().zip(other.columns) {
            a.merge(b)?;
        }
        Ok(())
    }

    fn finish(self, ncols: usize) -> Result<PartitionStats> {
        let mut columns = self
            .columns
            .into_iter()
            .map(ColumnAcc::finish)
            .collect::<Result<Vec<_>>>()?;
        columns.resize(
            ncols,
            ColumnStatistics {
                min: None,
                max: None,
                null_count: 0,
            },
        );
        Ok(PartitionStats {
            rows: self.rows,
            columns,
        })
    }
}

/// One worker's partitions being buffered (see the module documentation).
pub struct PartitionBuffer {
    schema: SchemaRef,
    manager: Arc<SpillManager>,
    operator: &'static str,
    partitions: Vec<Vec<Chunk>>,
    files: Vec<Arc<SpillFile>>,
    reservation: Reservation,
    force_spill: bool,
    stats: Option<Vec<StatsAcc>>,
    seq: usize,
}

impl fmt::Debug for PartitionBuffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PartitionBuffer")
            .field("operator", &self.operator)
            .field("partitions", &self.partitions.len())
            .field("files", &self.files.len())
            .finish()
    }
}

impl PartitionBuffer {
    /// A buffer of batches with `schema` that reserves from `reservation` and spills through
    /// `manager`; `operator` names its spill files. With `force_spill`, every batch goes to
    /// disk.
    pub fn new(
        schema: SchemaRef,
        manager: Arc<SpillManager>,
        operator: &'static str,
        reservation: Reservation,
        force_spill: bool,
    ) -> Self {
        PartitionBuffer {
            schema,
            manager,
            operator,
            partitions: Vec::new(),
            files: Vec::new(),
            reservation,
            force_spill,
            stats: None,
            seq: 0,
        }
    }

    /// Also gathers per-partition column statistics.
    pub fn with_statistics(mut self) -> Self {
        self.stats = Some(Vec::new());
        self
    }

    /// Appends `batch` to `partition`, after what this worker gave it before; `item` is the
    /// work item the batch came from.
    ///
    /// # Errors
    /// Spill I/O errors.
    pub fn push(&mut self, partition: usize, item: usize, batch: RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        // Spill files and readers expect the buffer's schema (names included).
        let batch = if batch.schema_ref() == &self.schema {
            batch
        } else {
            RecordBatch::try_new_with_options(
                Arc::clone(&self.schema),
                batch.columns().to_vec(),
                &RecordBatchOptions::new().with_row_count(Some(batch.num_rows())),
            )?
        };
        if self.partitions.len() <= partition {
            self.partitions.resize_with(partition + 1, Vec::new);
        }
        if let Some(stats) = &mut self.stats {
            if stats.len() <= partition {
                stats.resize_with(partition + 1, StatsAcc::default);
            }
            stats[partition].update(&batch)?;
        }
        let size = batch_memory(&batch);
        let reserved = !self.force_spill && self.reservation.try_grow(size).is_ok();
        self.partitions[partition].push(Chunk {
            item,
            seq: self.seq,
            rows: batch.num_rows(),
            stored: Stored::Mem(batch),
        });
        self.seq += 1;
        if !reserved {
            self.spill()?;
        }
        Ok(())
    }

    /// Bytes of buffered chunks still in memory (reserved).
    pub fn memory_bytes(&self) -> usize {
        self.reservation.size()
    }

    /// Rows buffered per partition, in memory or spilled.
    pub fn partition_rows(&self) -> Vec<usize> {
        self.partitions
            .iter()
            .map(|chunks| chunks.iter().map(|c| c.rows).sum())
            .collect()
    }

    /// Rows of the chunks still in memory.
    pub fn memory_rows(&self) -> usize {
        self.partitions
            .iter()
            .flatten()
            .filter(|c| matches!(c.stored, Stored::Mem(_)))
            .map(|c| c.rows)
            .sum()
    }

    /// Writes every in-memory chunk to disk (one file per partition) and frees the
    /// reservation.
    ///
    /// # Errors
    /// Spill I/O errors.
    pub fn spill(&mut self) -> Result<()> {
        for chunks in &mut self.partitions {
            let mut writer: Option<SpillWriter> = None;
            let mut written = 0;
            let file = self.files.len();
            for c in chunks.iter_mut() {
                if let Stored::Mem(b) = &c.stored {
                    let w = match &mut writer {
                        Some(w) => w,
                        slot => slot.insert(self.manager.writer(&self.schema, self.operator)?),
                    };
                    w.write(b)?;
                    c.stored = Stored::Disk {
                        file,
                        index: written,
                    };
                    written += 1;
                }
            }
            if let Some(w) = writer {
                self.files.push(Arc::new(w.finish()?));
            }
        }
        self.reservation.free();
        Ok(())
    }

    /// Merges the workers' buffers into one store of at least `min_partitions` partitions.
    ///
    /// # Errors
    /// Statistics errors (a bug).
    pub fn finish_all(
        buffers: Vec<PartitionBuffer>,
        schema: SchemaRef,
        min_partitions: usize,
    ) -> Result<PartitionStore> {
        let nparts = buffers
            .iter()
            .map(|b| b.partitions.len())
            .max()
            .unwrap_or(0)
            .max(min_partitions);
        let with_stats = buffers.iter().any(|b| b.stats.is_some());
        let mut partitions: Vec<Vec<Chunk>> = vec![Vec::new(); nparts];
        let mut stats: Vec<StatsAcc> = vec![StatsAcc::default(); nparts];
        let mut files = Vec::new();
        let mut reservations = Vec::new();
        let mut manager = None;
        for b in buffers {
            let offset = files.len();
            files.extend(b.files);
            for (p, chunks) in b.partitions.into_iter().enumerate() {
                partitions[p].extend(chunks.into_iter().map(|mut c| {
                    if let Stored::Disk { file, .. } = &mut c.stored {
                        *file += offset;
                    }
                    c
                }));
            }
            for (p, s) in b.stats.into_iter().flatten().enumerate() {
                stats[p].merge(s)?;
            }
            reservations.push(b.reservation);
            manager = Some(b.manager);
        }
        for chunks in &mut partitions {
            chunks.sort_by_key(|c| (c.item, c.seq));
        }
        let ncols = schema.fields().len();
        let stats = if with_stats {
            Some(
                stats
                    .into_iter()
                    .map(|s| s.finish(ncols))
                    .collect::<Result<Vec<_>>>()?,
            )
        } else {
            None
        };
        let layout = partitions
            .iter()
            .enumerate()
            .map(|(p, chunks)| {
                (0..chunks.len())
                    .map(|i| Segment {
                        partition: p,
                        chunk: i,
                        offset: 0,
                        len: chunks[i].rows,
                    })
                    .collect()
            })
            .collect();
        Ok(PartitionStore {
            schema,
            chunks: partitions,
            layout,
            files,
            stats,
            _reservations: reservations,
            _manager: manager,
        })
    }
}

/// Rows `offset..offset + len` of chunk `chunk` of buffered partition `partition`.
#[derive(Debug, Clone, Copy)]
struct Segment {
    partition: usize,
    chunk: usize,
    offset: usize,
    len: usize,
}

/// Buffered partitions, finished (see the module documentation).
pub struct PartitionStore {
    schema: SchemaRef,
    /// Per buffered partition, its chunks in input order.
    chunks: Vec<Vec<Chunk>>,
    /// Per output partition, the rows it reads.
    layout: Vec<Vec<Segment>>,
    files: Vec<Arc<SpillFile>>,
    stats: Option<Vec<PartitionStats>>,
    _reservations: Vec<Reservation>,
    _manager: Option<Arc<SpillManager>>,
}

impl fmt::Debug for PartitionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PartitionStore({} partitions, {} rows, {} spill files)",
            self.layout.len(),
            self.num_rows(),
            self.files.len()
        )
    }
}

impl PartitionStore {
    /// The schema of the batches.
    pub fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    /// Number of output partitions.
    pub fn npartitions(&self) -> usize {
        self.layout.len()
    }

    /// Rows in output partition `p`.
    pub fn partition_rows(&self, p: usize) -> usize {
        self.layout
            .get(p)
            .map_or(0, |segs| segs.iter().map(|s| s.len).sum())
    }

    /// About how many bytes the rows of output partition `p` take in memory: exact for rows
    /// held in memory, estimated from their file's bytes per row for spilled ones.
    pub fn partition_bytes(&self, p: usize) -> usize {
        let Some(segs) = self.layout.get(p) else {
            return 0;
        };
        segs.iter()
            .map(|s| {
                let Some(c) = self.chunks.get(s.partition).and_then(|c| c.get(s.chunk)) else {
                    return 0;
                };
                let (bytes, rows) = match &c.stored {
                    Stored::Mem(b) => (batch_memory(b) as u64, b.num_rows() as u64),
                    Stored::Disk { file, .. } => self
                        .files
                        .get(*file)
                        .map_or((0, 1), |f| (f.bytes(), f.rows())),
                };
                (bytes as u128 * s.len as u128 / rows.max(1) as u128) as usize
            })
            .sum()
    }

    /// Total rows.
    pub fn num_rows(&self) -> usize {
        (0..self.layout.len()).map(|p| self.partition_rows(p)).sum()
    }

    /// Spill files holding some of the rows.
    pub fn spill_files(&self) -> usize {
        self.files.len()
    }

    /// Bytes of the rows kept in memory.
    pub fn memory_bytes(&self) -> usize {
        self.chunks
            .iter()
            .flatten()
            .map(|c| match &c.stored {
                Stored::Mem(b) => batch_memory(b),
                Stored::Disk { .. } => 0,
            })
            .sum()
    }

    /// Per output partition statistics, when they were gathered (and the partitions were not
    /// re-cut since).
    pub fn statistics(&self) -> Option<&[PartitionStats]> {
        self.stats.as_deref()
    }

    /// Re-cuts every row, in order, into `n` output partitions of nearly equal row counts
    /// (the first ones get the extra rows). Statistics are dropped.
    pub fn rebalance(&mut self, n: usize) {
        let n = n.max(1);
        let total = self.num_rows();
        let all: Vec<Segment> = self.layout.drain(..).flatten().collect();
        let mut layout: Vec<Vec<Segment>> = vec![Vec::new(); n];
        let (base, extra) = (total / n, total % n);
        let target = |p: usize| base + usize::from(p < extra);
        let mut p = 0;
        let mut filled = 0;
        for mut seg in all {
            while seg.len > 0 {
                while p + 1 < n && filled >= target(p) {
                    p += 1;
                    filled = 0;
                }
                let room = if p + 1 == n {
                    seg.len
                } else {
                    (target(p) - filled).min(seg.len)
                };
                layout[p].push(Segment { len: room, ..seg });
                seg.offset += room;
                seg.len -= room;
                filled += room;
            }
        }
        self.layout = layout;
        self.stats = None;
    }

    /// Keeps only output partitions with rows (statistics follow).
    pub fn drop_empty_partitions(&mut self) {
        let keep: Vec<bool> = (0..self.layout.len())
            .map(|p| self.partition_rows(p) > 0)
            .collect();
        let mut k = keep.iter();
        self.layout.retain(|_| k.next().copied().unwrap_or(false));
        if let Some(stats) = &mut self.stats {
            let mut k = keep.iter();
            stats.retain(|_| k.next().copied().unwrap_or(false));
        }
    }

    /// A source reading the output partitions `partitions` (all when `None`), renumbered
    /// from 0, with the columns `projection` (all when `None`).
    ///
    /// # Errors
    /// A projection index out of range.
    pub fn source(
        self: &Arc<Self>,
        partitions: Option<Vec<usize>>,
        projection: Option<Vec<usize>>,
    ) -> Result<StoreSource> {
        let schema = match &projection {
            Some(p) => Arc::new(self.schema.project(p)?),
            None => Arc::clone(&self.schema),
        };
        let partitions = partitions.unwrap_or_else(|| (0..self.layout.len()).collect());
        if partitions.iter().any(|p| *p >= self.layout.len()) {
            return internal_err!("store partition out of range");
        }
        Ok(StoreSource {
            store: Arc::clone(self),
            partitions,
            projection: projection.map(Arc::new),
            schema,
        })
    }

    /// Reads the rows of `segments` in order.
    fn read(&self, segments: &[Segment]) -> Result<Vec<RecordBatch>> {
        let mut readers = HashMap::new();
        segments
            .iter()
            .map(|seg| self.read_segment(seg, &mut readers))
            .collect()
    }

    /// The rows of `seg`, read with the open readers in `readers` (file index to the reader
    /// and the index of the next batch it yields), so that segments read in file order
    /// read each file once.
    fn read_segment(
        &self,
        seg: &Segment,
        readers: &mut HashMap<usize, (SpillReader, usize)>,
    ) -> Result<RecordBatch> {
        let Some(chunk) = self
            .chunks
            .get(seg.partition)
            .and_then(|c| c.get(seg.chunk))
        else {
            return internal_err!("store segment out of range");
        };
        let batch = match &chunk.stored {
            Stored::Mem(b) => b.clone(),
            Stored::Disk { file, index } => {
                let Some(f) = self.files.get(*file) else {
                    return internal_err!("store spill file out of range");
                };
                // An open reader is kept when the chunk is at most a few batches ahead;
                // otherwise the file is opened again at the chunk.
                let reopen = match readers.get(file) {
                    Some((_, next)) => *next > *index || *next + SKIP_AHEAD < *index,
                    None => true,
                };
                if reopen {
                    if readers.len() >= MAX_OPEN_READERS {
                        // Bounded open files: a partition may span thousands of spill files.
                        readers.clear();
                    }
                    readers.insert(*file, f.read_from(*index)?);
                }
                let Some((reader, next)) = readers.get_mut(file) else {
                    return internal_err!("spill reader missing");
                };
                let mut found = None;
                while *next <= *index {
                    let b = match reader.next() {
                        Some(b) => b?,
                        None => return internal_err!("spill file ended early"),
                    };
                    if *next == *index {
                        found = Some(b);
                    }
                    *next += 1;
                }
                match found {
                    Some(b) => b,
                    None => return internal_err!("spilled chunk not found"),
                }
            }
        };
        Ok(if seg.offset == 0 && seg.len == batch.num_rows() {
            batch
        } else {
            batch.slice(seg.offset, seg.len)
        })
    }

    /// The batches of output partition `p`, in order, read as they are pulled (each spill
    /// file once).
    pub fn partition_batches(self: &Arc<Self>, p: usize) -> BatchIter {
        self.segment_batches(self.layout.get(p).cloned().unwrap_or_default())
    }

    /// The rows of `segments`, in order, read as they are pulled (one batch in memory at a
    /// time, each spill file opened once where the segments follow its order).
    fn segment_batches(self: &Arc<Self>, segments: Vec<Segment>) -> BatchIter {
        let store = Arc::clone(self);
        let mut readers = HashMap::new();
        let mut segments = segments.into_iter();
        crate::source::batches_of(move || match segments.next() {
            Some(seg) => store.read_segment(&seg, &mut readers).map(Some),
            None => Ok(None),
        })
    }

    /// Every batch of output partition `p`, in order.
    ///
    /// # Errors
    /// Spill read errors.
    pub fn read_partition(&self, p: usize) -> Result<Vec<RecordBatch>> {
        match self.layout.get(p) {
            Some(segs) => self.read(segs),
            None => Ok(vec![]),
        }
    }
}

/// Batches a store read decodes and drops to reach a chunk, rather than reopening the file.
const SKIP_AHEAD: usize = 2;

/// Spill files one read of a store keeps open at a time.
const MAX_OPEN_READERS: usize = 16;

/// Chunks per morsel of a store's partition.
const CHUNKS_PER_MORSEL: usize = 4;

/// A source over (some partitions of) a [`PartitionStore`].
#[derive(Clone)]
pub struct StoreSource {
    store: Arc<PartitionStore>,
    partitions: Vec<usize>,
    projection: Option<Arc<Vec<usize>>>,
    schema: SchemaRef,
}

impl fmt::Debug for StoreSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "StoreSource: partitions={}/{}",
            self.partitions.len(),
            self.store.npartitions()
        )
    }
}

impl StoreSource {
    /// The store read.
    pub fn store(&self) -> &Arc<PartitionStore> {
        &self.store
    }
}

#[derive(Debug)]
struct StoreMorsel {
    store: Arc<PartitionStore>,
    partition: usize,
    segments: Vec<Segment>,
    projection: Option<Arc<Vec<usize>>>,
    schema: SchemaRef,
}

impl Morsel for StoreMorsel {
    fn open(&self) -> Result<BatchIter> {
        let batches = self.store.segment_batches(self.segments.clone());
        let projection = self.projection.clone();
        let schema = Arc::clone(&self.schema);
        Ok(Box::new(batches.map(move |b| {
            let b = b?;
            let b = match &projection {
                Some(p) => b.project(p)?,
                None => b,
            };
            Ok(RecordBatch::try_new_with_options(
                Arc::clone(&schema),
                b.columns().to_vec(),
                &RecordBatchOptions::new().with_row_count(Some(b.num_rows())),
            )?)
        })))
    }
    fn partition(&self) -> usize {
        self.partition
    }
}

impl DataSource for StoreSource {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }
    fn morsels(&self) -> Result<Vec<MorselRef>> {
        let mut out: Vec<MorselRef> = Vec::new();
        for (i, p) in self.partitions.iter().enumerate() {
            let Some(segs) = self.store.layout.get(*p) else {
                continue;
            };
            for run in segs.chunks(CHUNKS_PER_MORSEL) {
                out.push(Arc::new(StoreMorsel {
                    store: Arc::clone(&self.store),
                    partition: i,
                    segments: run.to_vec(),
                    projection: self.projection.clone(),
                    schema: Arc::clone(&self.schema),
                }));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryPool;
    use arrow::array::{AsArray, Int64Array, StringArray};
    use arrow::datatypes::{Field, Int64Type, Schema};
    use rask_common::SessionConfig;

    fn batch(schema: &SchemaRef, from: i64, n: i64) -> RecordBatch {
        RecordBatch::try_new(
            Arc::clone(schema),
            vec![
                Arc::new(Int64Array::from_iter_values(from..from + n)),
                Arc::new(StringArray::from_iter(
                    (from..from + n).map(|i| (i % 5 != 0).then(|| format!("s{i}"))),
                )),
            ],
        )
        .unwrap()
    }

    fn values(store: &Arc<PartitionStore>) -> Vec<Vec<i64>> {
        (0..store.npartitions())
            .map(|p| {
                store
                    .read_partition(p)
                    .unwrap()
                    .iter()
                    .flat_map(|b| b.column(0).as_primitive::<Int64Type>().values().to_vec())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn order_kept_in_memory_and_spilled() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("a", DataType::Int64, false),
            Field::new("s", DataType::Utf8, true),
        ]));
        let dir = tempfile::tempdir().unwrap();
        for limit in [usize::MAX, 3000] {
            let config = SessionConfig::new().with_spill_dir(dir.path());
            let pool = MemoryPool::new(limit);
            let manager = SpillManager::new(&config);
            // Two workers: worker 0 gets items 0 and 2, worker 1 gets item 1.
            let mut w0 = PartitionBuffer::new(
                Arc::clone(&schema),
                Arc::clone(&manager),
                "test",
                pool.reservation("w0"),
                false,
            )
            .with_statistics();
            let mut w1 = PartitionBuffer::new(
                Arc::clone(&schema),
                Arc::clone(&manager),
                "test",
                pool.reservation("w1"),
                false,
            )
            .with_statistics();
            w0.push(0, 0, batch(&schema, 0, 100)).unwrap();
            w0.push(1, 0, batch(&schema, 1000, 10)).unwrap();
            w1.push(0, 1, batch(&schema, 100, 100)).unwrap();
            w0.push(0, 2, batch(&schema, 200, 50)).unwrap();
            w0.push(0, 2, batch(&schema, 250, 50)).unwrap();
            let mut store =
                PartitionBuffer::finish_all(vec![w0, w1], Arc::clone(&schema), 3).unwrap();
            if limit != usize::MAX {
                assert!(store.spill_files() > 0);
            }
            assert_eq!(store.npartitions(), 3);
            let stats = store.statistics().unwrap().to_vec();
            assert_eq!(stats[0].rows, 300);
            assert_eq!(stats[0].columns[0].min, Some(ScalarValue::Int64(Some(0))));
            assert_eq!(stats[0].columns[0].max, Some(ScalarValue::Int64(Some(299))));
            assert_eq!(stats[0].columns[1].null_count, 60);
            assert_eq!(stats[2].rows, 0);
            let s = Arc::new({
                store.drop_empty_partitions();
                store
            });
            assert_eq!(
                values(&s),
                vec![(0..300).collect::<Vec<_>>(), (1000..1010).collect()]
            );
            let mut store = Arc::try_unwrap(s).unwrap();
            store.rebalance(4);
            let s = Arc::new(store);
            let v = values(&s);
            assert_eq!(v.iter().map(Vec::len).collect::<Vec<_>>(), [78, 78, 77, 77]);
            assert_eq!(v.concat(), (0..300).chain(1000..1010).collect::<Vec<_>>());
            let src = s.source(Some(vec![1, 3]), Some(vec![0])).unwrap();
            let morsels = src.morsels().unwrap();
            assert_eq!(morsels.last().unwrap().partition(), 1);
            let rows: usize = morsels
                .iter()
                .flat_map(|m| m.open().unwrap())
                .map(|b| b.unwrap().num_rows())
                .sum();
            assert_eq!(rows, 155);
        }
    }
}
