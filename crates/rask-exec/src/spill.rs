//! Spill files: Arrow IPC streams (optionally LZ4-compressed) in a per-query directory.
//!
//! A [`SpillManager`] belongs to one query run. Its directory (`rask-spill-XXXXXX` inside
//! `--spill-dir`, default the system temporary directory) is made on the first spill and
//! removed with everything in it when the manager is dropped: after success, after an error,
//! and, through [`remove_live_spill_dirs`] called from the CLI's Ctrl-C handler, after
//! cancellation. Each [`SpillFile`] deletes its file when dropped, so an operator that has
//! read a run back frees the disk at once.
//!
//! Every failed write names the directory and says what to do: running out of disk is a
//! clear error, never a panic, and leaves no partial files behind.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use arrow::ipc::reader::StreamReader;
use arrow::ipc::writer::{IpcWriteOptions, StreamWriter};
use arrow::ipc::CompressionType;
use rask_common::{Error, Result, SessionConfig};

/// Write buffer of a spill file: small, because partitioned spilling keeps dozens open.
const WRITE_BUFFER: usize = 32 << 10;
/// Read buffer of a spill file.
const READ_BUFFER: usize = 64 << 10;

/// Spill directories of queries now running, for the Ctrl-C handler.
static LIVE_DIRS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Removes the spill directories of every query still running (the CLI calls this when the
/// user presses Ctrl-C, before exiting).
pub fn remove_live_spill_dirs() {
    let dirs = match LIVE_DIRS.lock() {
        Ok(mut d) => std::mem::take(&mut *d),
        Err(p) => std::mem::take(&mut *p.into_inner()),
    };
    for d in dirs {
        let _ = std::fs::remove_dir_all(d);
    }
}

/// Spill counters of one query (or one operator).
#[derive(Debug, Default)]
pub struct SpillMetrics {
    files: AtomicUsize,
    bytes: AtomicU64,
    rows: AtomicU64,
}

impl SpillMetrics {
    /// Spill files written.
    pub fn spill_count(&self) -> usize {
        self.files.load(Ordering::Relaxed)
    }
    /// Bytes written to spill files.
    pub fn spilled_bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }
    /// Rows written to spill files.
    pub fn spilled_rows(&self) -> u64 {
        self.rows.load(Ordering::Relaxed)
    }
    fn add(&self, rows: u64, bytes: u64) {
        self.files.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        self.rows.fetch_add(rows, Ordering::Relaxed);
    }
}

/// The spill directory and counters of one query run, seen from one operator (its scope) or
/// from the query (scope 0). Scoped views share the directory and counters; each scope's
/// files are also counted on their own, for EXPLAIN ANALYZE.
#[derive(Debug)]
pub struct SpillManager {
    state: Arc<SpillState>,
    scope: usize,
}

#[derive(Debug)]
struct SpillState {
    root: PathBuf,
    compression: bool,
    dir: Mutex<Option<PathBuf>>,
    next: AtomicUsize,
    metrics: SpillMetrics,
    /// Per scope (operator): files and bytes.
    by_scope: Mutex<std::collections::HashMap<usize, (usize, u64)>>,
}

impl SpillManager {
    /// A manager for a query run with `config` (nothing is created until the first spill).
    pub fn new(config: &SessionConfig) -> Arc<Self> {
        Arc::new(SpillManager {
            state: Arc::new(SpillState {
                root: config.spill_dir.clone().unwrap_or_else(std::env::temp_dir),
                compression: config.spill_compression,
                dir: Mutex::new(None),
                next: AtomicUsize::new(0),
                metrics: SpillMetrics::default(),
                by_scope: Mutex::new(std::collections::HashMap::new()),
            }),
            scope: 0,
        })
    }

    /// The same directory and counters, with files written through it also counted for
    /// `scope` (an operator's key; 0 counts for none).
    pub fn scoped(&self, scope: usize) -> Arc<Self> {
        Arc::new(SpillManager {
            state: Arc::clone(&self.state),
            scope,
        })
    }

    /// The query's counters.
    pub fn metrics(&self) -> &SpillMetrics {
        &self.state.metrics
    }

    /// Files and bytes spilled through views of `scope`.
    pub fn scope_spills(&self, scope: usize) -> (usize, u64) {
        self.state
            .by_scope
            .lock()
            .ok()
            .and_then(|m| m.get(&scope).copied())
            .unwrap_or((0, 0))
    }

    /// The per-query directory, if anything was spilled yet.
    pub fn dir(&self) -> Option<PathBuf> {
        self.state.dir.lock().ok().and_then(|d| d.clone())
    }

    fn ensure_dir(&self) -> Result<PathBuf> {
        let mut slot = self
            .state
            .dir
            .lock()
            .map_err(|_| Error::Internal("spill directory lock poisoned".into()))?;
        if let Some(d) = &*slot {
            return Ok(d.clone());
        }
        std::fs::create_dir_all(&self.state.root)
            .map_err(|e| self.io_error(&self.state.root, e))?;
        let pid = std::process::id();
        for attempt in 0..1000u32 {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            let dir = self
                .state
                .root
                .join(format!("rask-spill-{pid}-{:08x}", nanos ^ attempt));
            match std::fs::create_dir(&dir) {
                Ok(()) => {
                    if let Ok(mut live) = LIVE_DIRS.lock() {
                        live.push(dir.clone());
                    }
                    *slot = Some(dir.clone());
                    return Ok(dir);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(self.io_error(&self.state.root, e)),
            }
        }
        Err(Error::Execution(format!(
            "could not create a spill directory in {}",
            self.state.root.display()
        )))
    }

    fn io_error(&self, path: &Path, e: impl std::fmt::Display) -> Error {
        Error::ResourcesExhausted(format!(
            "spilling to {} failed: {e}. Free disk space there, point --spill-dir at a \
             bigger disk, or raise --memory-limit",
            path.display()
        ))
    }

    /// Starts a new spill file for batches of `schema`; `operator` is in its name.
    pub fn writer(self: &Arc<Self>, schema: &SchemaRef, operator: &str) -> Result<SpillWriter> {
        let dir = self.ensure_dir()?;
        let n = self.state.next.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!("{n:06}-{}.arrows", operator.to_lowercase()));
        let file = File::create(&path).map_err(|e| self.io_error(&dir, e))?;
        let mut options = IpcWriteOptions::default();
        if self.state.compression {
            options = options
                .try_with_compression(Some(CompressionType::LZ4_FRAME))
                .map_err(|e| Error::Internal(format!("spill compression: {e}")))?;
        }
        let writer = StreamWriter::try_new_with_options(
            Counting {
                inner: BufWriter::with_capacity(WRITE_BUFFER, file),
                count: 0,
            },
            schema,
            options,
        )
        .map_err(|e| self.io_error(&dir, e))?;
        // Without dictionaries, each batch is one message that can be read on its own after
        // the schema: its offset lets a reader start there.
        let seekable = !schema
            .fields()
            .iter()
            .any(|f| has_dictionary(f.data_type()));
        let header = writer.get_ref().count;
        Ok(SpillWriter {
            manager: Arc::clone(self),
            writer: Some(writer),
            file: Some(SpillFile {
                path,
                schema: Arc::clone(schema),
                rows: 0,
                bytes: 0,
                max_batch_memory: 0,
                offsets: seekable.then(|| (header, Vec::new())),
            }),
        })
    }

    /// Writes `batches` to one new spill file.
    pub fn spill(
        self: &Arc<Self>,
        schema: &SchemaRef,
        operator: &str,
        batches: impl IntoIterator<Item = RecordBatch>,
    ) -> Result<SpillFile> {
        let mut w = self.writer(schema, operator)?;
        for b in batches {
            w.write(&b)?;
        }
        w.finish()
    }
}

impl Drop for SpillState {
    fn drop(&mut self) {
        let dir = match self.dir.get_mut() {
            Ok(d) => d.take(),
            Err(p) => p.into_inner().take(),
        };
        if let Some(dir) = dir {
            let _ = std::fs::remove_dir_all(&dir);
            if let Ok(mut live) = LIVE_DIRS.lock() {
                live.retain(|d| d != &dir);
            }
        }
    }
}

/// A spill file being written.
pub struct SpillWriter {
    manager: Arc<SpillManager>,
    writer: Option<StreamWriter<Counting<BufWriter<File>>>>,
    file: Option<SpillFile>,
}

impl std::fmt::Debug for SpillWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpillWriter")
            .field("file", &self.file)
            .finish()
    }
}

impl SpillWriter {
    /// Appends a batch.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let (Some(w), Some(file)) = (&mut self.writer, &mut self.file) else {
            return Err(Error::Internal("write to a finished spill file".into()));
        };
        if let Some((_, offsets)) = &mut file.offsets {
            offsets.push(w.get_ref().count);
        }
        if let Err(e) = w.write(batch) {
            let dir = file
                .path
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default();
            return Err(self.manager.io_error(&dir, e));
        }
        file.rows += batch.num_rows() as u64;
        file.max_batch_memory = file.max_batch_memory.max(batch.get_array_memory_size());
        Ok(())
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.file.as_ref().map_or(0, |f| f.rows)
    }

    /// Closes the file and returns it for reading.
    pub fn finish(mut self) -> Result<SpillFile> {
        let (Some(mut w), Some(mut file)) = (self.writer.take(), self.file.take()) else {
            return Err(Error::Internal("spill file finished twice".into()));
        };
        let dir = file
            .path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        if let Err(e) = w.finish() {
            return Err(self.manager.io_error(&dir, e));
        }
        match w.into_inner() {
            Ok(mut buf) => {
                if let Err(e) = std::io::Write::flush(&mut buf.inner) {
                    return Err(self.manager.io_error(&dir, e));
                }
            }
            Err(e) => return Err(self.manager.io_error(&dir, e)),
        }
        file.bytes = std::fs::metadata(&file.path).map_or(0, |m| m.len());
        self.manager.state.metrics.add(file.rows, file.bytes);
        if self.manager.scope != 0 {
            if let Ok(mut m) = self.manager.state.by_scope.lock() {
                let e = m.entry(self.manager.scope).or_insert((0, 0));
                e.0 += 1;
                e.1 += file.bytes;
            }
        }
        Ok(file)
    }
}

impl Drop for SpillWriter {
    fn drop(&mut self) {
        // An unfinished writer (an error on the way) leaves no partial file behind.
        if let Some(f) = self.file.take() {
            self.writer.take();
            let _ = std::fs::remove_file(&f.path);
        }
    }
}

/// A writer that counts the bytes written through it (where each batch starts).
struct Counting<W> {
    inner: W,
    count: u64,
}

impl<W: std::io::Write> std::io::Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Whether `t` holds a dictionary anywhere (such files are read from their start: the
/// dictionaries come before the batches that use them).
fn has_dictionary(t: &arrow::datatypes::DataType) -> bool {
    use arrow::datatypes::DataType as T;
    match t {
        T::Dictionary(..) => true,
        T::List(f)
        | T::LargeList(f)
        | T::ListView(f)
        | T::LargeListView(f)
        | T::FixedSizeList(f, _)
        | T::Map(f, _) => has_dictionary(f.data_type()),
        T::Struct(fs) => fs.iter().any(|f| has_dictionary(f.data_type())),
        T::Union(fs, _) => fs.iter().any(|(_, f)| has_dictionary(f.data_type())),
        T::RunEndEncoded(a, b) => has_dictionary(a.data_type()) || has_dictionary(b.data_type()),
        _ => false,
    }
}

/// A finished spill file; deleted when dropped.
#[derive(Debug)]
pub struct SpillFile {
    path: PathBuf,
    schema: SchemaRef,
    rows: u64,
    bytes: u64,
    max_batch_memory: usize,
    /// Where batches start: the length of the schema message before the first, and the
    /// offset of each (files without dictionaries only).
    offsets: Option<(u64, Vec<u64>)>,
}

impl SpillFile {
    /// Rows in the file.
    pub fn rows(&self) -> u64 {
        self.rows
    }
    /// Bytes on disk.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }
    /// In-memory size of the largest batch written (what reading it back needs).
    pub fn max_batch_memory(&self) -> usize {
        self.max_batch_memory
    }
    /// The schema of its batches.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Reads the batches back, in the order they were written.
    pub fn read(&self) -> Result<SpillReader> {
        self.read_from(0).map(|(reader, _)| reader)
    }

    /// Reads the batches back from the `index`th on, or from an earlier one; returns the
    /// reader and the index of the batch it yields first. Files without dictionaries start
    /// right at `index`; others are read from the start.
    pub fn read_from(&self, index: usize) -> Result<(SpillReader, usize)> {
        let failed = |e: std::io::Error| {
            Error::Execution(format!(
                "cannot reopen spill file {}: {e}",
                self.path.display()
            ))
        };
        let mut file = File::open(&self.path).map_err(failed)?;
        let mut prefix = Vec::new();
        let mut first = 0;
        if let Some((header, offsets)) = &self.offsets {
            if let Some(&at) = offsets.get(index).filter(|_| index > 0) {
                // The schema message, then the file from the batch's message on.
                use std::io::{Read, Seek};
                prefix = vec![0; *header as usize];
                file.read_exact(&mut prefix).map_err(failed)?;
                file.seek(std::io::SeekFrom::Start(at)).map_err(failed)?;
                first = index;
            }
        }
        let input = std::io::Read::chain(std::io::Cursor::new(prefix), file);
        let reader = StreamReader::try_new(BufReader::with_capacity(READ_BUFFER, input), None)?;
        Ok((
            SpillReader {
                reader,
                path: self.path.clone(),
            },
            first,
        ))
    }
}

impl Drop for SpillFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Batches read back from a [`SpillFile`].
pub struct SpillReader {
    reader: StreamReader<BufReader<std::io::Chain<std::io::Cursor<Vec<u8>>, File>>>,
    path: PathBuf,
}

impl Iterator for SpillReader {
    type Item = Result<RecordBatch>;
    fn next(&mut self) -> Option<Self::Item> {
        self.reader.next().map(|r| {
            r.map_err(|e| {
                Error::Execution(format!(
                    "reading spill file {} failed: {e}",
                    self.path.display()
                ))
            })
        })
    }
}

/// Reads spill files one after another, each in the order it was written.
pub struct FilesReader<F> {
    files: Vec<F>,
    next: usize,
    reader: Option<SpillReader>,
}

impl<F: std::borrow::Borrow<SpillFile>> FilesReader<F> {
    /// Reads `files` in order.
    pub fn new(files: Vec<F>) -> Self {
        FilesReader {
            files,
            next: 0,
            reader: None,
        }
    }

    /// The next batch, `None` after the last file.
    pub fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        loop {
            if let Some(r) = &mut self.reader {
                match r.next().transpose()? {
                    Some(b) => return Ok(Some(b)),
                    None => self.reader = None,
                }
            }
            let Some(f) = self.files.get(self.next) else {
                return Ok(None);
            };
            self.reader = Some(f.borrow().read()?);
            self.next += 1;
        }
    }
}

/// One spill file per partition, opened on the first rows for it: how aggregations and joins
/// split what they spill by key hash.
pub struct PartitionedSpill {
    manager: Arc<SpillManager>,
    schema: SchemaRef,
    operator: &'static str,
    writers: Vec<Option<SpillWriter>>,
}

impl PartitionedSpill {
    /// `parts` partitions of batches of `schema`, written by `operator`.
    pub fn new(
        manager: Arc<SpillManager>,
        schema: SchemaRef,
        operator: &'static str,
        parts: usize,
    ) -> Self {
        PartitionedSpill {
            manager,
            schema,
            operator,
            writers: (0..parts).map(|_| None).collect(),
        }
    }

    /// The schema of the batches.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Writes each row of `batch` to partition `partition(hashes[row])`.
    pub fn write(
        &mut self,
        batch: &RecordBatch,
        hashes: &[u64],
        partition: impl Fn(u64) -> usize,
    ) -> Result<()> {
        let n = batch.num_rows();
        let mut rows: Vec<Vec<u32>> = vec![Vec::new(); self.writers.len()];
        for (i, h) in hashes.iter().enumerate() {
            rows[partition(*h)].push(i as u32);
        }
        for (p, r) in rows.into_iter().enumerate() {
            if r.is_empty() {
                continue;
            }
            let part = if r.len() == n {
                batch.clone()
            } else {
                arrow::compute::take_record_batch(batch, &arrow::array::UInt32Array::from(r))?
            };
            let w = match &mut self.writers[p] {
                Some(w) => w,
                slot => slot.insert(self.manager.writer(&self.schema, self.operator)?),
            };
            w.write(&part)?;
        }
        Ok(())
    }

    /// Closes the files; per partition, its file (if it got rows).
    pub fn finish(self) -> Result<Vec<Option<SpillFile>>> {
        self.writers
            .into_iter()
            .map(|w| w.map(SpillWriter::finish).transpose())
            .collect()
    }
}

/// Per partition, the files of every writer (the outputs of [`PartitionedSpill::finish`]).
pub fn gather_partitions(all: Vec<Vec<Option<SpillFile>>>, parts: usize) -> Vec<Vec<SpillFile>> {
    let mut out: Vec<Vec<SpillFile>> = (0..parts).map(|_| Vec::new()).collect();
    for files in all {
        for (p, f) in files.into_iter().enumerate() {
            out[p].extend(f);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};

    fn batch(n: i64) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("a", DataType::Int64, false),
            Field::new("s", DataType::Utf8, true),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from_iter_values(0..n)),
                Arc::new(StringArray::from_iter(
                    (0..n).map(|i| (i % 3 != 0).then(|| format!("v{i}"))),
                )),
            ],
        )
        .unwrap()
    }

    fn manager(dir: &Path, compress: bool) -> Arc<SpillManager> {
        let cfg = SessionConfig::new()
            .with_spill_dir(dir)
            .with_spill_compression(compress);
        SpillManager::new(&cfg)
    }

    #[test]
    fn round_trip_and_cleanup() {
        let root = tempfile::tempdir().unwrap();
        for compress in [true, false] {
            let m = manager(root.path(), compress);
            assert!(
                m.dir().is_none(),
                "nothing is created before the first spill"
            );
            let b = batch(1000);
            let f = m
                .spill(&b.schema(), "test", [b.clone(), b.slice(10, 5)])
                .unwrap();
            assert_eq!(f.rows(), 1005);
            assert!(f.bytes() > 0);
            let back: Vec<RecordBatch> = f.read().unwrap().collect::<Result<_>>().unwrap();
            assert_eq!(back, vec![b.clone(), b.slice(10, 5)]);
            assert_eq!(m.metrics().spill_count(), 1);
            let dir = m.dir().unwrap();
            assert!(dir.starts_with(root.path()));
            // An unfinished writer leaves nothing behind.
            let mut w = m.writer(&b.schema(), "test").unwrap();
            w.write(&b).unwrap();
            drop(w);
            drop(f);
            assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
            drop(m);
            assert!(!dir.exists(), "the query's spill directory is removed");
        }
        assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 0);
    }

    #[test]
    fn read_from_starts_at_a_batch() {
        let root = tempfile::tempdir().unwrap();
        for compress in [true, false] {
            let m = manager(root.path(), compress);
            let batches: Vec<RecordBatch> = (1..=6).map(|n| batch(n * 10)).collect();
            let f = m
                .spill(&batches[0].schema(), "test", batches.clone())
                .unwrap();
            for start in 0..=6 {
                let (reader, first) = f.read_from(start).unwrap();
                // Past the end, it reads from the start.
                assert_eq!(first, if start < 6 { start } else { 0 });
                let back: Vec<RecordBatch> = reader.collect::<Result<_>>().unwrap();
                assert_eq!(back, batches[first..].to_vec(), "start {start}");
            }
            // Dictionaries come before the batches that use them: read from the start.
            let keys = arrow::array::Int32Array::from(vec![0, 1, 0]);
            let values = StringArray::from(vec!["x", "y"]);
            let dict = arrow::array::DictionaryArray::try_new(keys, Arc::new(values)).unwrap();
            let schema = Arc::new(Schema::new(vec![Field::new(
                "d",
                arrow::array::Array::data_type(&dict).clone(),
                false,
            )]));
            let b = RecordBatch::try_new(Arc::clone(&schema), vec![Arc::new(dict)]).unwrap();
            let f = m.spill(&schema, "test", [b.clone(), b.clone()]).unwrap();
            let (reader, first) = f.read_from(1).unwrap();
            assert_eq!(first, 0);
            assert_eq!(reader.count(), 2);
        }
    }

    #[test]
    fn unwritable_directory_is_a_clear_error() {
        let root = tempfile::tempdir().unwrap();
        let file = root.path().join("not-a-dir");
        std::fs::write(&file, b"x").unwrap();
        let m = SpillManager::new(&SessionConfig::new().with_spill_dir(&file));
        let b = batch(3);
        let err = m.spill(&b.schema(), "test", [b]).unwrap_err().to_string();
        assert!(
            err.contains("not-a-dir") && err.contains("--spill-dir"),
            "{err}"
        );
    }
}
