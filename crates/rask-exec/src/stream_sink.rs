//! [`StreamSink`]: hands a query's output batches to a consumer in output order, as the last
//! pipeline produces them, instead of collecting the whole result.
//!
//! Work items are numbered in output order (partition order, then morsel order), so the sink
//! passes a batch on at once when its item is the next one due, and holds batches of later
//! items (a worker that ran ahead) until the items before them are done. Held batches are
//! reserved from the pool; when the pool refuses, the worker that ran ahead waits until the
//! due item advances. The worker on the due item never waits, so this cannot deadlock. With
//! the single-threaded scheduler items finish in order and nothing is held.
//!
//! A sink made with [`StreamSink::with_prepare`] first turns each batch into something else
//! (formatted output, say) on the worker that produced it, outside the lock, so that work
//! runs in parallel; the consumer then sees the prepared values in output order.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use rask_common::{internal_err, Result};

use crate::executor::{Sink, SinkLocal, TaskContext};
use crate::memory::{batch_memory, Reservation};

/// Receives the output, in order; an error stops the query.
pub type Consumer<T> = Box<dyn FnMut(T) -> Result<()> + Send>;

/// Receives the output batches, in order; an error stops the query.
pub type BatchConsumer = Consumer<RecordBatch>;

/// Turns a batch into what the consumer receives (on the worker that produced it).
pub type Prepare<T> = Arc<dyn Fn(RecordBatch) -> Result<T> + Send + Sync>;

struct State<T> {
    /// The work item whose output goes out directly.
    next: usize,
    /// Output of items after `next`, in arrival order per item.
    held: BTreeMap<usize, Vec<T>>,
    /// Items after `next` that are finished.
    done: BTreeSet<usize>,
    consumer: Consumer<T>,
    reservation: Option<Reservation>,
}

impl<T> State<T> {
    /// Passes on the held output of the due item, then of every following finished item.
    fn advance(&mut self, size: fn(&T) -> usize) -> Result<()> {
        loop {
            if let Some(held) = self.held.remove(&self.next) {
                for b in held {
                    if let Some(r) = &mut self.reservation {
                        r.shrink(size(&b));
                    }
                    (self.consumer)(b)?;
                }
            }
            if self.done.remove(&self.next) {
                self.next += 1;
            } else {
                return Ok(());
            }
        }
    }
}

type Shared<T> = Arc<(Mutex<State<T>>, Condvar)>;

/// The sink (see the module documentation).
pub struct StreamSink<T = RecordBatch> {
    schema: SchemaRef,
    state: Shared<T>,
    prepare: Prepare<T>,
    size: fn(&T) -> usize,
}

impl<T> std::fmt::Debug for StreamSink<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StreamSink")
    }
}

impl StreamSink {
    /// A sink of batches with `schema` that hands them to `consumer`.
    pub fn new(schema: SchemaRef, consumer: BatchConsumer) -> Self {
        Self::make(schema, Arc::new(Ok), batch_memory, consumer)
    }
}

impl<T> StreamSink<T> {
    /// A sink of batches with `schema` that turns each into a `T` with `prepare` (in
    /// parallel, on the workers) and hands those to `consumer` in output order; `size` is
    /// what a held `T` costs in memory.
    pub fn with_prepare(
        schema: SchemaRef,
        prepare: Prepare<T>,
        size: fn(&T) -> usize,
        consumer: Consumer<T>,
    ) -> Self {
        Self::make(schema, prepare, size, consumer)
    }

    fn make(
        schema: SchemaRef,
        prepare: Prepare<T>,
        size: fn(&T) -> usize,
        consumer: Consumer<T>,
    ) -> Self {
        StreamSink {
            schema,
            state: Arc::new((
                Mutex::new(State {
                    next: 0,
                    held: BTreeMap::new(),
                    done: BTreeSet::new(),
                    consumer,
                    reservation: None,
                }),
                Condvar::new(),
            )),
            prepare,
            size,
        }
    }
}

fn lock<T>(m: &Mutex<State<T>>) -> MutexGuard<'_, State<T>> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

struct StreamLocal<T> {
    state: Shared<T>,
    prepare: Prepare<T>,
    size: fn(&T) -> usize,
}

impl<T: Send + 'static> SinkLocal for StreamLocal<T> {
    fn sink(&mut self, item: usize, _partition: usize, batch: RecordBatch) -> Result<()> {
        let out = (self.prepare)(batch)?;
        let (m, cv) = &*self.state;
        let mut s = lock(m);
        loop {
            if item == s.next {
                return (s.consumer)(out);
            }
            if item < s.next {
                return internal_err!("StreamSink: output of item {item}, already passed on");
            }
            let size = (self.size)(&out);
            let fits = match &mut s.reservation {
                Some(r) => r.try_grow(size).is_ok(),
                None => true,
            };
            if fits {
                s.held.entry(item).or_default().push(out);
                return Ok(());
            }
            // Ran ahead too far: wait for the due item to advance.
            s = cv.wait(s).unwrap_or_else(|e| e.into_inner());
        }
    }

    fn item_done(&mut self, item: usize, _partition: usize) -> Result<()> {
        let (m, cv) = &*self.state;
        let mut s = lock(m);
        if item < s.next {
            return Ok(());
        }
        s.done.insert(item);
        let result = s.advance(self.size);
        cv.notify_all();
        result
    }

    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any + Send> {
        self
    }
}

impl<T: Send + 'static> Sink for StreamSink<T> {
    fn make_local(&self, _ctx: &TaskContext) -> Result<Box<dyn SinkLocal>> {
        Ok(Box::new(StreamLocal {
            state: Arc::clone(&self.state),
            prepare: Arc::clone(&self.prepare),
            size: self.size,
        }))
    }

    fn start(&self, _item_partitions: &[usize], ctx: &TaskContext) -> Result<()> {
        let mut s = lock(&self.state.0);
        s.next = 0;
        s.held.clear();
        s.done.clear();
        s.reservation = Some(ctx.pool.reservation("StreamSink"));
        Ok(())
    }

    fn finish(
        &self,
        _locals: Vec<Box<dyn SinkLocal>>,
        _ctx: &TaskContext,
    ) -> Result<Vec<Vec<RecordBatch>>> {
        let mut s = lock(&self.state.0);
        s.advance(self.size)?;
        // Items that produced no `item_done` (none should): pass on what they left in order.
        let held = std::mem::take(&mut s.held);
        for (_, batches) in held {
            for b in batches {
                (s.consumer)(b)?;
            }
        }
        s.reservation = None;
        Ok(vec![vec![]])
    }

    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn describe(&self) -> String {
        "StreamSink".to_string()
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::{AsArray, Int64Array};
    use arrow::datatypes::{DataType, Field, Int64Type, Schema};
    use rask_common::SessionConfig;

    use super::*;
    use crate::executor::{Executor, PhysicalPlan};
    use crate::source::MemorySource;

    #[test]
    fn batches_arrive_in_output_order() {
        let schema = Arc::new(Schema::new(vec![Field::new("v", DataType::Int64, false)]));
        let parts: Vec<Vec<RecordBatch>> = (0..7)
            .map(|p| {
                (0..5)
                    .map(|b| {
                        let start = (p * 5 + b) * 100;
                        RecordBatch::try_new(
                            Arc::clone(&schema),
                            vec![Arc::new(Int64Array::from_iter_values(start..start + 100))],
                        )
                        .unwrap()
                    })
                    .collect()
            })
            .collect();
        let values = |b: &RecordBatch| -> Vec<i64> {
            b.column(0).as_primitive::<Int64Type>().values().to_vec()
        };
        for threads in [1, 4] {
            for limit in [None, Some(2_000)] {
                for prepared in [false, true] {
                    let seen = Arc::new(Mutex::new(Vec::new()));
                    let out = Arc::clone(&seen);
                    // The values of each batch, taken by the consumer or by a prepare step
                    // on the workers.
                    let sink: Arc<dyn Sink> = if prepared {
                        Arc::new(StreamSink::with_prepare(
                            Arc::clone(&schema),
                            Arc::new(move |b: RecordBatch| Ok(values(&b))),
                            |v: &Vec<i64>| v.len() * 8,
                            Box::new(move |v: Vec<i64>| {
                                out.lock().unwrap().extend(v);
                                Ok(())
                            }),
                        ))
                    } else {
                        Arc::new(StreamSink::new(
                            Arc::clone(&schema),
                            Box::new(move |b: RecordBatch| {
                                out.lock().unwrap().extend(values(&b));
                                Ok(())
                            }),
                        ))
                    };
                    let plan = PhysicalPlan::Source(Arc::new(MemorySource::new(
                        Arc::clone(&schema),
                        parts.clone(),
                    )));
                    let config = SessionConfig::new().with_threads(threads);
                    let config = match limit {
                        Some(l) => config.with_memory_limit(l),
                        None => config,
                    };
                    Executor::new(TaskContext::new(config))
                        .run_into(&plan, sink)
                        .unwrap();
                    let got = seen.lock().unwrap().clone();
                    assert_eq!(
                        got,
                        (0..3500).collect::<Vec<i64>>(),
                        "{threads} threads {limit:?} prepared {prepared}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_consumer_error_stops_the_query() {
        let schema = Arc::new(Schema::new(vec![Field::new("v", DataType::Int64, false)]));
        let batch = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![Arc::new(Int64Array::from_iter_values(0..10))],
        )
        .unwrap();
        let plan = PhysicalPlan::Source(Arc::new(MemorySource::new(
            Arc::clone(&schema),
            vec![vec![batch.clone(), batch]],
        )));
        let sink = StreamSink::new(
            Arc::clone(&schema),
            Box::new(|_| Err(rask_common::Error::Execution("reader went away".into()))),
        );
        let e = Executor::new(TaskContext::new(SessionConfig::new()))
            .run_into(&plan, Arc::new(sink))
            .unwrap_err();
        assert!(e.to_string().contains("reader went away"), "{e}");
    }
}
