//! `LimitExec`: skips and fetches rows, stopping the pipeline early once it has enough.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use rask_common::Result;

use crate::executor::{OrderedLocal, Sink, SinkLocal, TaskContext};

/// `LIMIT fetch OFFSET skip` over its input in work-item order.
///
/// # Ordering
/// Keeps the order of ordered inputs (a sorted source's items are pulled in order, and a
/// worker never abandons an item it started, so the rows kept are a prefix).
/// # Memory
/// Buffers at most about `skip + fetch` rows plus one batch per worker.
#[derive(Debug)]
pub struct LimitExec {
    skip: usize,
    fetch: Option<usize>,
    schema: SchemaRef,
    seen: Arc<AtomicUsize>,
    stop: Mutex<Option<Arc<AtomicBool>>>,
}

impl LimitExec {
    /// A limit.
    pub fn new(skip: usize, fetch: Option<usize>, schema: SchemaRef) -> Self {
        LimitExec {
            skip,
            fetch,
            schema,
            seen: Arc::new(AtomicUsize::new(0)),
            stop: Mutex::new(None),
        }
    }
}

struct LimitLocal {
    inner: OrderedLocal,
    seen: Arc<AtomicUsize>,
    need: Option<usize>,
    stop: Option<Arc<AtomicBool>>,
}

impl SinkLocal for LimitLocal {
    fn sink(&mut self, item: usize, partition: usize, batch: RecordBatch) -> Result<()> {
        let n = batch.num_rows();
        self.inner.sink(item, partition, batch)?;
        let total = self.seen.fetch_add(n, Ordering::Relaxed) + n;
        if let (Some(need), Some(stop)) = (self.need, &self.stop) {
            if total >= need {
                stop.store(true, Ordering::Relaxed);
            }
        }
        Ok(())
    }
    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any + Send> {
        Box::new(self.inner)
    }
}

impl Sink for LimitExec {
    fn make_local(&self, _ctx: &TaskContext) -> Result<Box<dyn SinkLocal>> {
        let stop = self.stop.lock().ok().and_then(|s| s.clone());
        Ok(Box::new(LimitLocal {
            inner: OrderedLocal::new(),
            seen: Arc::clone(&self.seen),
            need: self.fetch.map(|f| f.saturating_add(self.skip)),
            stop,
        }))
    }
    fn finish(
        &self,
        locals: Vec<Box<dyn SinkLocal>>,
        _ctx: &TaskContext,
    ) -> Result<Vec<Vec<RecordBatch>>> {
        let mut skip = self.skip;
        let mut left = self.fetch.unwrap_or(usize::MAX);
        let mut out = Vec::new();
        for (_, b) in OrderedLocal::merge(locals)? {
            if left == 0 {
                break;
            }
            let n = b.num_rows();
            if skip >= n {
                skip -= n;
                continue;
            }
            let take = (n - skip).min(left);
            out.push(b.slice(skip, take));
            skip = 0;
            left -= take;
        }
        self.seen.store(0, Ordering::Relaxed);
        Ok(vec![out])
    }
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }
    fn describe(&self) -> String {
        format!(
            "LimitExec: skip={} fetch={}",
            self.skip,
            self.fetch.map_or("None".into(), |f| f.to_string())
        )
    }
    fn wants_stop(&self) -> bool {
        self.fetch.is_some()
    }
    fn set_stop_flag(&self, flag: Arc<AtomicBool>) {
        if let Ok(mut s) = self.stop.lock() {
            *s = Some(flag);
        }
    }
}
