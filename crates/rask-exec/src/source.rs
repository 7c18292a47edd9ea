//! Sources: what pipelines pull morsels from.
//!
//! A table is an ordered list of row partitions; a partition is scanned as one or more
//! *morsels* (a Parquet row group, a line-aligned CSV byte range, a run of in-memory batches).
//! Workers pull morsels from a shared cursor, so one big file beside many small ones still keeps
//! every worker busy.

use std::fmt::Debug;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use rask_common::Result;

use crate::join::runtime_filter::RuntimeFilterTarget;

/// A stream of record batches read from one morsel.
pub type BatchIter = Box<dyn Iterator<Item = Result<RecordBatch>> + Send>;

/// The batches `step` returns until it returns `Ok(None)` or an error (which ends the stream
/// after it is passed on).
pub fn batches_of<F>(mut step: F) -> BatchIter
where
    F: FnMut() -> Result<Option<RecordBatch>> + Send + 'static,
{
    let mut done = false;
    Box::new(std::iter::from_fn(move || {
        if done {
            return None;
        }
        let next = step().transpose();
        done = !matches!(next, Some(Ok(_)));
        next
    }))
}

/// One unit of scan work. Opening it is cheap; reading happens as the iterator is pulled.
pub trait Morsel: Send + Sync + Debug {
    /// Starts reading. Every batch has the schema of the source that made the morsel.
    fn open(&self) -> Result<BatchIter>;
    /// The partition of the table this morsel belongs to.
    fn partition(&self) -> usize;
}

/// A shared morsel.
pub type MorselRef = Arc<dyn Morsel>;

/// Something a pipeline can start from: a file scan, or the output of a finished sink.
pub trait DataSource: Send + Sync + Debug {
    /// Schema of every batch the morsels yield.
    fn schema(&self) -> SchemaRef;
    /// The morsels, in partition order.
    fn morsels(&self) -> Result<Vec<MorselRef>>;
    /// This source, also skipping what the runtime filters `filters` rule out (Parquet row
    /// groups by their statistics) once they are published; `None` when it cannot skip
    /// anything (a [`RuntimeFilterExec`] above it still drops rows).
    ///
    /// [`RuntimeFilterExec`]: crate::join::runtime_filter::RuntimeFilterExec
    fn with_runtime_filters(
        &self,
        _filters: &[RuntimeFilterTarget],
    ) -> Option<Arc<dyn DataSource>> {
        None
    }

    /// This source, its string columns `columns` (positions in [`DataSource::schema`])
    /// coming as `Dictionary(Int32, Utf8)` batches whose dictionary is shared by the batches
    /// of one column chunk; `None` when it cannot read them so cheaply (a grouping then
    /// interns each distinct string once per chunk instead of once per row). Only for a
    /// consumer that accepts dictionaries where the plan says `Utf8`.
    fn with_dictionary_columns(&self, _columns: &[usize]) -> Option<Arc<dyn DataSource>> {
        None
    }
}

/// `schema` with the fields at `columns` typed `Dictionary(Int32, Utf8)` (see
/// [`DataSource::with_dictionary_columns`]).
pub fn with_dictionaries(schema: &Schema, columns: &[usize]) -> Schema {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let f = f.as_ref().clone();
            if columns.contains(&i) {
                f.with_data_type(DataType::Dictionary(
                    Box::new(DataType::Int32),
                    Box::new(DataType::Utf8),
                ))
            } else {
                f
            }
        })
        .collect();
    Schema::new_with_metadata(fields, schema.metadata().clone())
}

/// Morsel over batches already in memory.
#[derive(Debug)]
pub struct MemoryMorsel {
    partition: usize,
    batches: Vec<RecordBatch>,
}

impl MemoryMorsel {
    /// A morsel yielding `batches` as they are.
    pub fn new(partition: usize, batches: Vec<RecordBatch>) -> Self {
        MemoryMorsel { partition, batches }
    }
}

impl Morsel for MemoryMorsel {
    fn open(&self) -> Result<BatchIter> {
        Ok(Box::new(self.batches.clone().into_iter().map(Ok)))
    }
    fn partition(&self) -> usize {
        self.partition
    }
}

/// A source over in-memory partitions (each a list of batches).
#[derive(Debug, Clone)]
pub struct MemorySource {
    schema: SchemaRef,
    partitions: Vec<Vec<RecordBatch>>,
}

impl MemorySource {
    /// A source over `partitions`, each yielded as one or more morsels.
    pub fn new(schema: SchemaRef, partitions: Vec<Vec<RecordBatch>>) -> Self {
        MemorySource { schema, partitions }
    }
    /// The partitions.
    pub fn partitions(&self) -> &[Vec<RecordBatch>] {
        &self.partitions
    }
}

/// In-memory partitions are cut into morsels of this many batches, so that one big partition
/// still spreads over the workers.
const BATCHES_PER_MORSEL: usize = 4;

impl DataSource for MemorySource {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }
    fn morsels(&self) -> Result<Vec<MorselRef>> {
        let mut out: Vec<MorselRef> = Vec::new();
        for (p, batches) in self.partitions.iter().enumerate() {
            for chunk in batches.chunks(BATCHES_PER_MORSEL) {
                out.push(Arc::new(MemoryMorsel::new(p, chunk.to_vec())));
            }
        }
        Ok(out)
    }
}
