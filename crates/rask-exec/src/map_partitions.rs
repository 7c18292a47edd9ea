//! `MapPartitionsExec` (a user function applied to whole partitions) and `MaterializeExec`
//! (partitions kept as they are, for persisted frames).

use std::fmt;
use std::sync::{Arc, Mutex};

use arrow::array::RecordBatch;
use arrow::compute::concat_batches;
use arrow::datatypes::SchemaRef;
use rask_common::{internal_err, Error, Result};
use rask_expr::PartitionFn;

use crate::executor::{Sink, SinkLocal, TaskContext};
use crate::partition_store::{PartitionBuffer, PartitionStore};
use crate::source::{BatchIter, DataSource, Morsel, MorselRef};
use crate::spill::SpillManager;

/// Buffers each input partition, then calls a function once per (non-empty) partition with
/// all its rows as one batch, in input order, and checks that the result has the declared
/// schema (Dask's `map_partitions` with `meta`).
///
/// # Ordering
/// Output partition `p` is the function's result for input partition `p`.
///
/// # Memory
/// Input partitions are buffered in a [`PartitionBuffer`] (spillable: past the memory limit
/// they go to Arrow IPC files). The function is called in the next pipeline, one partition per
/// work item, so one partition (plus the function's output) must fit in memory at a time.
pub struct MapPartitionsExec {
    func: PartitionFn,
    input_schema: SchemaRef,
    schema: SchemaRef,
    name: String,
}

impl fmt::Debug for MapPartitionsExec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MapPartitionsExec({})", self.name)
    }
}

impl MapPartitionsExec {
    /// Applies `func` to partitions of batches with `input_schema`; its results must have
    /// `schema`. `name` shows in EXPLAIN.
    pub fn new(func: PartitionFn, input_schema: SchemaRef, schema: SchemaRef, name: &str) -> Self {
        MapPartitionsExec {
            func,
            input_schema,
            schema,
            name: name.to_string(),
        }
    }
}

/// Per-worker buffer of a [`MapPartitionsExec`] or [`MaterializeExec`].
struct BufferLocal {
    buffer: PartitionBuffer,
}

impl SinkLocal for BufferLocal {
    fn sink(&mut self, item: usize, partition: usize, batch: RecordBatch) -> Result<()> {
        self.buffer.push(partition, item, batch)
    }
    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any + Send> {
        self
    }
}

fn buffers(locals: Vec<Box<dyn SinkLocal>>) -> Result<Vec<PartitionBuffer>> {
    locals
        .into_iter()
        .map(|l| match l.into_any().downcast::<BufferLocal>() {
            Ok(l) => Ok(l.buffer),
            Err(_) => internal_err!("unexpected sink local in a partition buffer sink"),
        })
        .collect()
}

/// Calls `func` on the rows of `batches` and checks the result against `schema`.
pub fn apply_partition_fn(
    func: &PartitionFn,
    name: &str,
    input_schema: &SchemaRef,
    schema: &SchemaRef,
    batches: &[RecordBatch],
) -> Result<RecordBatch> {
    let input = concat_batches(input_schema, batches)?;
    let out = func(input).map_err(|e| e.context(format!("map_partitions function {name}")))?;
    let (want, got) = (schema.fields(), out.schema());
    if want.len() != got.fields().len() {
        return Err(Error::Execution(format!(
            "map_partitions function {name} returned {} columns ({}), but the declared schema \
             has {} ({}); return a batch of the declared schema or declare the one returned",
            got.fields().len(),
            names(&got),
            want.len(),
            names(schema)
        )));
    }
    for (w, g) in want.iter().zip(got.fields()) {
        if w.data_type() != g.data_type() {
            return Err(Error::Execution(format!(
                "map_partitions function {name} returned column '{}' of type {}, but the \
                 declared schema says '{}' is {}; cast it in the function or fix the schema",
                g.name(),
                g.data_type(),
                w.name(),
                w.data_type()
            )));
        }
    }
    RecordBatch::try_new(Arc::clone(schema), out.columns().to_vec()).map_err(|e| {
        Error::Execution(format!(
            "map_partitions function {name} returned a batch that does not fit the declared \
             schema: {e}"
        ))
    })
}

fn names(schema: &arrow::datatypes::Schema) -> String {
    schema
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Output of a [`MapPartitionsExec`]: one morsel per input partition, calling the function
/// when opened.
struct MapSource {
    store: Arc<PartitionStore>,
    exec: Arc<MapPartitionsInfo>,
}

struct MapPartitionsInfo {
    func: PartitionFn,
    input_schema: SchemaRef,
    schema: SchemaRef,
    name: String,
}

impl fmt::Debug for MapSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MapPartitionsSource({})", self.exec.name)
    }
}

struct MapMorsel {
    store: Arc<PartitionStore>,
    exec: Arc<MapPartitionsInfo>,
    partition: usize,
}

impl fmt::Debug for MapMorsel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MapMorsel({})", self.partition)
    }
}

impl Morsel for MapMorsel {
    fn open(&self) -> Result<BatchIter> {
        let batches = self.store.read_partition(self.partition)?;
        let e = &self.exec;
        let out = apply_partition_fn(&e.func, &e.name, &e.input_schema, &e.schema, &batches)?;
        Ok(Box::new(std::iter::once(Ok(out))))
    }
    fn partition(&self) -> usize {
        self.partition
    }
}

impl DataSource for MapSource {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.exec.schema)
    }
    fn morsels(&self) -> Result<Vec<MorselRef>> {
        Ok((0..self.store.npartitions())
            .filter(|p| self.store.partition_rows(*p) > 0)
            .map(|p| {
                Arc::new(MapMorsel {
                    store: Arc::clone(&self.store),
                    exec: Arc::clone(&self.exec),
                    partition: p,
                }) as MorselRef
            })
            .collect())
    }
}

impl MapPartitionsExec {
    fn source(&self, locals: Vec<Box<dyn SinkLocal>>) -> Result<MapSource> {
        let store =
            PartitionBuffer::finish_all(buffers(locals)?, Arc::clone(&self.input_schema), 0)?;
        Ok(MapSource {
            store: Arc::new(store),
            exec: Arc::new(MapPartitionsInfo {
                func: Arc::clone(&self.func),
                input_schema: Arc::clone(&self.input_schema),
                schema: Arc::clone(&self.schema),
                name: self.name.clone(),
            }),
        })
    }
}

impl Sink for MapPartitionsExec {
    fn make_local(&self, ctx: &TaskContext) -> Result<Box<dyn SinkLocal>> {
        let reservation = ctx
            .pool
            .spillable_reservation("MapPartitionsExec", ctx.config.effective_threads());
        Ok(Box::new(BufferLocal {
            buffer: PartitionBuffer::new(
                Arc::clone(&self.input_schema),
                Arc::clone(&ctx.spill),
                "map_partitions",
                reservation,
                ctx.config.force_spill,
            ),
        }))
    }

    fn finish(
        &self,
        locals: Vec<Box<dyn SinkLocal>>,
        _ctx: &TaskContext,
    ) -> Result<Vec<Vec<RecordBatch>>> {
        let src = self.source(locals)?;
        let mut out = Vec::new();
        for m in src.morsels()? {
            out.push(m.open()?.collect::<Result<Vec<_>>>()?);
        }
        Ok(out)
    }

    fn finish_source(
        &self,
        locals: Vec<Box<dyn SinkLocal>>,
        _ctx: &TaskContext,
    ) -> Result<Arc<dyn DataSource>> {
        Ok(Arc::new(self.source(locals)?))
    }

    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn describe(&self) -> String {
        format!("MapPartitionsExec: {}", self.name)
    }
}

/// Keeps its input's partitions as they are, in a [`PartitionStore`] taken with
/// [`MaterializeExec::take`] after the run (what `persist` and `set_index` keep).
///
/// # Memory
/// Batches stay in memory under a reservation from the session pool named `PersistedFrame`,
/// held as long as the store lives; when the pool refuses, the worker's buffered batches go to
/// Arrow IPC files of the spill manager it was given (a directory that lives as long as the
/// store). Per partition it gathers column statistics (min, max, NULLs).
pub struct MaterializeExec {
    schema: SchemaRef,
    manager: Arc<SpillManager>,
    min_partitions: usize,
    result: Mutex<Option<PartitionStore>>,
}

impl fmt::Debug for MaterializeExec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MaterializeExec")
    }
}

impl MaterializeExec {
    /// Keeps batches of `schema` (at least `min_partitions` partitions), spilling through
    /// `manager`.
    pub fn new(schema: SchemaRef, manager: Arc<SpillManager>, min_partitions: usize) -> Self {
        MaterializeExec {
            schema,
            manager,
            min_partitions,
            result: Mutex::new(None),
        }
    }

    /// The store, once the run finished.
    ///
    /// # Errors
    /// When called before the run finished (a bug).
    pub fn take(&self) -> Result<PartitionStore> {
        match self.result.lock().ok().and_then(|mut r| r.take()) {
            Some(s) => Ok(s),
            None => internal_err!("MaterializeExec: no result"),
        }
    }
}

impl Sink for MaterializeExec {
    fn make_local(&self, ctx: &TaskContext) -> Result<Box<dyn SinkLocal>> {
        Ok(Box::new(BufferLocal {
            buffer: PartitionBuffer::new(
                Arc::clone(&self.schema),
                Arc::clone(&self.manager),
                "persist",
                ctx.pool.reservation("PersistedFrame"),
                ctx.config.force_spill,
            )
            .with_statistics(),
        }))
    }

    fn finish(
        &self,
        locals: Vec<Box<dyn SinkLocal>>,
        _ctx: &TaskContext,
    ) -> Result<Vec<Vec<RecordBatch>>> {
        let store = PartitionBuffer::finish_all(
            buffers(locals)?,
            Arc::clone(&self.schema),
            self.min_partitions,
        )?;
        match self.result.lock() {
            Ok(mut r) => *r = Some(store),
            Err(_) => return internal_err!("MaterializeExec: lock poisoned"),
        }
        Ok(vec![])
    }

    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn describe(&self) -> String {
        "MaterializeExec".into()
    }
}
