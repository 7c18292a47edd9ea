//! [`WriteSink`]: writes a query's result to files as it is produced (`COPY ... TO`,
//! `DataFrame::to_parquet`/`to_csv`), never holding the whole result.
//!
//! Each output slot (a partition of the result, or the whole result for a single-file target)
//! has one writer per hive directory. Work items of a slot are written in item order, so a
//! sorted result stays sorted: the worker holding the slot's current item writes directly;
//! workers that run ahead on later items of the same slot buffer their batches (reserved from
//! the memory pool) until their turn, and wait when the pool refuses. A slot's files are
//! completed under hidden temporary names as soon as its last item is done, and all files are
//! renamed into place only when the whole query has succeeded; on any failure every file,
//! temporary or renamed by this query, is removed.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use arrow::array::{ArrayRef, Int64Array, RecordBatch, UInt32Array};
use arrow::compute::take_record_batch;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use rask_common::{internal_err, plan_err, Error, Result};
use rask_exec::executor::{Sink, SinkLocal, TaskContext};
use rask_exec::memory::{batch_memory, Reservation};

use crate::csv::CsvOptions;
use crate::write::{part_file_name, ClosedFile, FileFormat, ParquetCompression, PartitionWriter};

/// The value written as a hive directory for NULL (as Hive and pyarrow write it).
pub const HIVE_NULL: &str = "__HIVE_DEFAULT_PARTITION__";

/// How and where a [`WriteSink`] writes.
#[derive(Debug, Clone, Default)]
pub struct WriteOptions {
    /// File format.
    pub format: FileFormat,
    /// CSV header, delimiter, quote (CSV only).
    pub csv: CsvOptions,
    /// Parquet compression (Parquet only).
    pub compression: ParquetCompression,
    /// Hive partition columns: rows go to `col=value/` directories and the columns are left
    /// out of the files (reading the directory back restores them).
    pub partition_by: Vec<String>,
    /// Write one file at `target` instead of a directory of `part-NNNNN` files.
    pub single_file: bool,
    /// Replace the `part-*` files and `key=value` directories already in the target
    /// directory; they are removed only once the new files are complete.
    pub overwrite: bool,
}

/// Writes every batch it receives to files (see the module documentation). Its output is
/// one row with the number of rows written, column `count`.
#[derive(Debug)]
pub struct WriteSink {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    target: PathBuf,
    options: WriteOptions,
    /// Schema of the files (input minus hive columns).
    file_schema: SchemaRef,
    key_columns: Vec<usize>,
    keep_columns: Vec<usize>,
    slots: OnceLock<Vec<Slot>>,
    stop: OnceLock<Arc<AtomicBool>>,
    rows: AtomicU64,
}

#[derive(Debug)]
struct Slot {
    state: Mutex<SlotState>,
    turn: Condvar,
}

#[derive(Debug)]
struct SlotState {
    index: usize,
    items: Vec<usize>,
    cursor: usize,
    done: HashSet<usize>,
    pending: BTreeMap<usize, Vec<RecordBatch>>,
    pending_memory: Reservation,
    writers: BTreeMap<String, PartitionWriter>,
    writer_memory: Reservation,
    closed: Vec<(String, ClosedFile)>,
}

impl WriteSink {
    /// A sink writing batches of `schema` under `target` (a directory, or a file when
    /// `options.single_file`).
    ///
    /// # Errors
    /// Unknown partition columns, or partitioning every column away.
    pub fn try_new(target: &Path, schema: &SchemaRef, options: WriteOptions) -> Result<Self> {
        let mut key_columns = Vec::new();
        for name in &options.partition_by {
            match schema.index_of(name) {
                Ok(i) if !key_columns.contains(&i) => key_columns.push(i),
                Ok(_) => return plan_err!("partition column '{name}' is named twice"),
                Err(_) => {
                    return plan_err!(
                        "cannot partition by '{name}': no such column (columns: {})",
                        column_names(schema)
                    )
                }
            }
        }
        if !key_columns.is_empty() && options.single_file {
            return plan_err!(
                "partitioned writes go to a directory; '{}' names a file",
                target.display()
            );
        }
        let keep_columns: Vec<usize> = (0..schema.fields().len())
            .filter(|i| !key_columns.contains(i))
            .collect();
        if keep_columns.is_empty() {
            return plan_err!(
                "cannot partition by every column: the files would have no columns left"
            );
        }
        let file_schema = Arc::new(Schema::new(
            keep_columns
                .iter()
                .map(|&i| schema.field(i).clone())
                .collect::<Vec<Field>>(),
        ));
        Ok(WriteSink {
            shared: Arc::new(Shared {
                target: target.to_path_buf(),
                options,
                file_schema,
                key_columns,
                keep_columns,
                slots: OnceLock::new(),
                stop: OnceLock::new(),
                rows: AtomicU64::new(0),
            }),
        })
    }

    /// The schema of the sink's output: one `count` column.
    pub fn output_schema() -> SchemaRef {
        Arc::new(Schema::new(vec![Field::new(
            "count",
            DataType::Int64,
            false,
        )]))
    }
}

fn column_names(schema: &Schema) -> String {
    schema
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn lock(m: &Mutex<SlotState>) -> Result<MutexGuard<'_, SlotState>> {
    m.lock()
        .map_err(|_| Error::Internal("a writer panicked".into()))
}

impl Shared {
    fn slot(&self, partition: usize) -> Result<&Slot> {
        let slots = match self.slots.get() {
            Some(s) => s,
            None => return internal_err!("write sink used before start"),
        };
        let index = if self.options.single_file {
            0
        } else {
            partition
        };
        match slots.get(index) {
            Some(s) => Ok(s),
            None => internal_err!("write sink: no slot for partition {partition}"),
        }
    }

    fn stopped(&self) -> bool {
        self.stop.get().is_some_and(|s| s.load(Ordering::Relaxed))
    }

    /// The temporary-name path of slot `index`'s file in hive directory `dir`.
    fn provisional_path(&self, dir: &str, index: usize) -> PathBuf {
        if self.options.single_file {
            return self.target.clone();
        }
        let mut p = self.target.clone();
        if !dir.is_empty() {
            p.push(dir);
        }
        p.push(part_file_name(index, self.options.format));
        p
    }

    fn open(&self, dir: &str, index: usize) -> Result<PartitionWriter> {
        let path = self.provisional_path(dir, index);
        let schema = Arc::clone(&self.file_schema);
        match self.options.format {
            FileFormat::Parquet => {
                PartitionWriter::try_new_parquet(&path, schema, self.options.compression)
            }
            FileFormat::Csv => {
                PartitionWriter::try_new(&path, schema, FileFormat::Csv, &self.options.csv)
            }
        }
    }

    /// Writes `batch` (the slot's current item) to the slot's writers.
    fn write_now(&self, st: &mut SlotState, batch: RecordBatch) -> Result<()> {
        self.rows
            .fetch_add(batch.num_rows() as u64, Ordering::Relaxed);
        if self.key_columns.is_empty() {
            self.write_to(st, String::new(), &batch)?;
        } else {
            for (dir, rows) in hive_groups(&batch, &self.key_columns, &self.options.partition_by)? {
                let part = if rows.len() == batch.num_rows() {
                    batch.project(&self.keep_columns)?
                } else {
                    let idx = UInt32Array::from(rows);
                    take_record_batch(&batch.project(&self.keep_columns)?, &idx)?
                };
                self.write_to(st, dir, &part)?;
            }
        }
        self.account(st)
    }

    fn write_to(&self, st: &mut SlotState, dir: String, batch: &RecordBatch) -> Result<()> {
        let batch = batch.clone().with_schema(Arc::clone(&self.file_schema))?;
        let w = match st.writers.entry(dir) {
            std::collections::btree_map::Entry::Occupied(o) => o.into_mut(),
            std::collections::btree_map::Entry::Vacant(v) => {
                let w = self.open(v.key(), st.index)?;
                v.insert(w)
            }
        };
        w.write(&batch)
    }

    /// Keeps the writers' buffers within the reservation, flushing row groups early when
    /// the pool refuses more.
    fn account(&self, st: &mut SlotState) -> Result<()> {
        let held: usize = st.writers.values().map(|w| w.buffered_bytes()).sum();
        if st.writer_memory.try_resize(held).is_ok() {
            return Ok(());
        }
        for w in st.writers.values_mut() {
            w.flush()?;
        }
        // What is left is the writers' working minimum (open pages, the file buffer): it is
        // accounted when the pool has room, and never grows past one page per column.
        let held: usize = st.writers.values().map(|w| w.buffered_bytes()).sum();
        let _ = st.writer_memory.try_resize(held);
        Ok(())
    }

    /// Moves the slot past finished items, writing the buffered batches of the item whose
    /// turn comes; completes the slot's files after its last item.
    fn advance(&self, st: &mut SlotState) -> Result<()> {
        while let Some(&current) = st.items.get(st.cursor) {
            if let Some(batches) = st.pending.remove(&current) {
                for b in batches {
                    st.pending_memory.shrink(batch_memory(&b));
                    self.write_now(st, b)?;
                }
            }
            if !st.done.contains(&current) {
                return Ok(());
            }
            st.cursor += 1;
        }
        let writers = std::mem::take(&mut st.writers);
        for (dir, w) in writers {
            st.closed.push((dir, w.close()?));
        }
        st.writer_memory.free();
        Ok(())
    }
}

impl Sink for WriteSink {
    fn make_local(&self, _ctx: &TaskContext) -> Result<Box<dyn SinkLocal>> {
        Ok(Box::new(WriteLocal {
            shared: Arc::clone(&self.shared),
        }))
    }

    fn start(&self, item_partitions: &[usize], ctx: &TaskContext) -> Result<()> {
        let count = if self.shared.options.single_file {
            1
        } else {
            item_partitions.iter().max().map_or(1, |m| m + 1)
        };
        let mut items: Vec<Vec<usize>> = vec![Vec::new(); count];
        for (i, &p) in item_partitions.iter().enumerate() {
            let slot = if self.shared.options.single_file {
                0
            } else {
                p
            };
            if let Some(v) = items.get_mut(slot) {
                v.push(i);
            }
        }
        let slots = items
            .into_iter()
            .enumerate()
            .map(|(index, items)| Slot {
                state: Mutex::new(SlotState {
                    index,
                    items,
                    cursor: 0,
                    done: HashSet::new(),
                    pending: BTreeMap::new(),
                    pending_memory: ctx.pool.reservation("WriteExec"),
                    writers: BTreeMap::new(),
                    writer_memory: ctx.pool.reservation("WriteExec"),
                    closed: Vec::new(),
                }),
                turn: Condvar::new(),
            })
            .collect();
        if self.shared.slots.set(slots).is_err() {
            return internal_err!("a write sink ran twice");
        }
        Ok(())
    }

    fn wants_stop(&self) -> bool {
        // Only to receive the flag the workers raise on an error: a worker waiting for its
        // turn must not wait for one that failed.
        true
    }

    fn set_stop_flag(&self, flag: Arc<AtomicBool>) {
        let _ = self.shared.stop.set(flag);
    }

    fn finish(
        &self,
        locals: Vec<Box<dyn SinkLocal>>,
        _ctx: &TaskContext,
    ) -> Result<Vec<Vec<RecordBatch>>> {
        drop(locals);
        let shared = &self.shared;
        let Some(slots) = shared.slots.get() else {
            return internal_err!("write sink finished before start");
        };
        let mut files: Vec<(String, ClosedFile)> = Vec::new();
        for slot in slots {
            let mut st = lock(&slot.state)?;
            if st.cursor < st.items.len() {
                return internal_err!("write sink finished with unwritten work items");
            }
            files.append(&mut st.closed);
        }
        if files.is_empty() && shared.key_columns.is_empty() {
            // An empty result still gets one file with the schema (and CSV header).
            files.push((String::new(), shared.open("", 0)?.close()?));
        }
        if shared.options.overwrite && !shared.options.single_file {
            remove_previous_output(&shared.target)?;
        }
        let mut per_dir: HashMap<String, usize> = HashMap::new();
        let mut renamed: Vec<PathBuf> = Vec::new();
        for (dir, file) in files {
            let path = if shared.options.single_file {
                shared.target.clone()
            } else {
                let n = per_dir.entry(dir.clone()).or_insert(0);
                let p = shared.provisional_path(&dir, *n);
                *n += 1;
                p
            };
            if let Err(e) = file.persist_as(&path) {
                for p in renamed {
                    let _ = std::fs::remove_file(p);
                }
                return Err(e);
            }
            renamed.push(path);
        }
        let rows = i64::try_from(shared.rows.load(Ordering::Relaxed)).unwrap_or(i64::MAX);
        let batch = RecordBatch::try_new(
            Self::output_schema(),
            vec![Arc::new(Int64Array::from(vec![rows])) as ArrayRef],
        )?;
        Ok(vec![vec![batch]])
    }

    fn schema(&self) -> SchemaRef {
        Self::output_schema()
    }

    fn describe(&self) -> String {
        let o = &self.shared.options;
        let mut s = format!(
            "WriteExec: {} to {}",
            match o.format {
                FileFormat::Parquet => "parquet",
                FileFormat::Csv => "csv",
            },
            self.shared.target.display()
        );
        if !o.partition_by.is_empty() {
            s.push_str(&format!(" partition_by=[{}]", o.partition_by.join(", ")));
        }
        s
    }
}

struct WriteLocal {
    shared: Arc<Shared>,
}

impl SinkLocal for WriteLocal {
    fn sink(&mut self, item: usize, partition: usize, batch: RecordBatch) -> Result<()> {
        let shared = &self.shared;
        let slot = shared.slot(partition)?;
        let mut st = lock(&slot.state)?;
        loop {
            if st.items.get(st.cursor) == Some(&item) {
                return shared.write_now(&mut st, batch);
            }
            if st.pending_memory.try_grow(batch_memory(&batch)).is_ok() {
                st.pending.entry(item).or_default().push(batch);
                return Ok(());
            }
            // No memory to run ahead: wait for this item's turn (the item before it is
            // being run by another worker, which never waits on this one).
            if shared.stopped() {
                return Err(Error::Execution("write stopped by an earlier error".into()));
            }
            st = slot
                .turn
                .wait_timeout(st, Duration::from_millis(20))
                .map_err(|_| Error::Internal("a writer panicked".into()))?
                .0;
        }
    }

    fn item_done(&mut self, item: usize, partition: usize) -> Result<()> {
        let slot = self.shared.slot(partition)?;
        let mut st = lock(&slot.state)?;
        st.done.insert(item);
        let out = self.shared.advance(&mut st);
        drop(st);
        slot.turn.notify_all();
        out
    }

    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any + Send> {
        self
    }
}

/// Removes what an earlier write left in `dir`: `part-*` files and `key=value` directories.
fn remove_previous_output(dir: &Path) -> Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(_) => return Ok(()),
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let path = e.path();
        let removed = if path.is_dir() && name.contains('=') {
            std::fs::remove_dir_all(&path)
        } else if name.starts_with("part-") {
            std::fs::remove_file(&path)
        } else {
            Ok(())
        };
        removed.map_err(|err| {
            Error::Execution(format!("cannot remove '{}': {err}", path.display()))
        })?;
    }
    Ok(())
}

/// Rows of `batch` grouped by their hive directory (`k1=v1/k2=v2`), in order of first
/// appearance.
fn hive_groups(
    batch: &RecordBatch,
    keys: &[usize],
    names: &[String],
) -> Result<Vec<(String, Vec<u32>)>> {
    let options = FormatOptions::default();
    let formatters = keys
        .iter()
        .map(|&k| ArrayFormatter::try_new(batch.column(k).as_ref(), &options))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let columns: Vec<&ArrayRef> = keys.iter().map(|&k| batch.column(k)).collect();
    let mut order: Vec<String> = Vec::new();
    let mut groups: HashMap<String, Vec<u32>> = HashMap::new();
    let mut dir = String::new();
    for row in 0..batch.num_rows() {
        dir.clear();
        for (j, f) in formatters.iter().enumerate() {
            if j > 0 {
                dir.push('/');
            }
            dir.push_str(&percent_encode(&names[j]));
            dir.push('=');
            if columns[j].is_null(row) {
                dir.push_str(HIVE_NULL);
            } else {
                let v = f.value(row).to_string();
                if v.is_empty() {
                    dir.push_str(HIVE_NULL);
                } else {
                    dir.push_str(&percent_encode(&v));
                }
            }
        }
        let row = u32::try_from(row)
            .map_err(|_| Error::Internal("a batch of more than 2^32 rows".into()))?;
        match groups.get_mut(&dir) {
            Some(v) => v.push(row),
            None => {
                order.push(dir.clone());
                groups.insert(dir.clone(), vec![row]);
            }
        }
    }
    Ok(order
        .into_iter()
        .map(|d| {
            let rows = groups.remove(&d).unwrap_or_default();
            (d, rows)
        })
        .collect())
}

/// Escapes everything but letters, digits and `-_.` as `%XX` (the hive reader decodes it).
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hive_values_are_escaped() {
        assert_eq!(percent_encode("a/b c=%"), "a%2Fb%20c%3D%25");
        assert_eq!(percent_encode("1995-03-15"), "1995-03-15");
    }
}
