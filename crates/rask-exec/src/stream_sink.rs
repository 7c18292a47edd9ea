//! [`StreamSink`]: hands a query's output batches to a consumer in output order, as the last
//! pipeline produces them, instead of collecting the whole result.
//!
//! Work items are numbered in output order (partition order, then morsel order), so the sink
//! passes a batch on at once when its item is the next one due, and holds batches of later
//! items (a worker that ran ahead) until the items before them are done. Held batches are
//! reserved from the pool; when the pool refuses, the worker that ran ahead waits until the
//! due item advances. The worker on the due item never waits, so this cannot deadlock. With
//! the single-threaded scheduler items finish in order and nothing is held.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use rask_common::{internal_err, Result};

use crate::executor::{Sink, SinkLocal, TaskContext};
use crate::memory::{batch_memory, Reservation};

/// Receives the output batches, in order; an error stops the query.
pub type BatchConsumer = Box<dyn FnMut(RecordBatch) -> Result<()> + Send>;

struct State {
    /// The work item whose batches go out directly.
    next: usize,
    /// Batches of items after `next`, in arrival order per item.
    held: BTreeMap<usize, Vec<RecordBatch>>,
    /// Items after `next` that are finished.
    done: BTreeSet<usize>,
    consumer: BatchConsumer,
    reservation: Option<Reservation>,
}

impl State {
    /// Passes on the held batches of the due item, then of every following finished item.
    fn advance(&mut self) -> Result<()> {
        loop {
            if let Some(batches) = self.held.remove(&self.next) {
                for b in batches {
                    if let Some(r) = &mut self.reservation {
                        r.shrink(batch_memory(&b));
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

/// The sink (see the module documentation).
pub struct StreamSink {
    schema: SchemaRef,
    state: Arc<(Mutex<State>, Condvar)>,
}

impl std::fmt::Debug for StreamSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StreamSink")
    }
}

impl StreamSink {
    /// A sink of batches with `schema` that hands them to `consumer`.
    pub fn new(schema: SchemaRef, consumer: BatchConsumer) -> Self {
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
        }
    }
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

struct StreamLocal {
    state: Arc<(Mutex<State>, Condvar)>,
}

impl SinkLocal for StreamLocal {
    fn sink(&mut self, item: usize, _partition: usize, batch: RecordBatch) -> Result<()> {
        let (m, cv) = &*self.state;
        let mut s = lock(m);
        loop {
            if item == s.next {
                return (s.consumer)(batch);
            }
            if item < s.next {
                return internal_err!("StreamSink: a batch of item {item}, already passed on");
            }
            let size = batch_memory(&batch);
            let fits = match &mut s.reservation {
                Some(r) => r.try_grow(size).is_ok(),
                None => true,
            };
            if fits {
                s.held.entry(item).or_default().push(batch);
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
        let result = s.advance();
        cv.notify_all();
        result
    }

    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any + Send> {
        self
    }
}

impl Sink for StreamSink {
    fn make_local(&self, _ctx: &TaskContext) -> Result<Box<dyn SinkLocal>> {
        Ok(Box::new(StreamLocal {
            state: Arc::clone(&self.state),
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
        s.advance()?;
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
        for threads in [1, 4] {
            for limit in [None, Some(2_000)] {
                let seen = Arc::new(Mutex::new(Vec::new()));
                let out = Arc::clone(&seen);
                let sink = StreamSink::new(
                    Arc::clone(&schema),
                    Box::new(move |b: RecordBatch| {
                        let mut o = out.lock().unwrap();
                        o.extend(
                            b.column(0)
                                .as_primitive::<Int64Type>()
                                .values()
                                .iter()
                                .copied(),
                        );
                        Ok(())
                    }),
                );
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
                    .run_into(&plan, Arc::new(sink))
                    .unwrap();
                let got = seen.lock().unwrap().clone();
                assert_eq!(
                    got,
                    (0..3500).collect::<Vec<i64>>(),
                    "{threads} threads {limit:?}"
                );
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
