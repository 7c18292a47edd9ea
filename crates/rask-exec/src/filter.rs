//! `FilterExec`: keeps the rows where a predicate is TRUE.

use std::sync::Arc;

use arrow::array::{AsArray, RecordBatch};
use arrow::compute::filter_record_batch;
use arrow::datatypes::DataType;
use rask_common::{exec_err, Result, ScalarValue};

use crate::columnar::ColumnarValue;
use crate::executor::StreamOperator;
use crate::physical_expr::PhysicalExpr;

/// Keeps rows whose predicate is TRUE (NULL and FALSE drop the row).
///
/// # Ordering
/// Preserves the order of its input. # Memory: none buffered.
#[derive(Debug)]
pub struct FilterExec {
    predicate: PhysicalExpr,
    display: String,
}

impl FilterExec {
    /// A filter on `predicate`; `display` is its SQL text for EXPLAIN.
    pub fn new(predicate: PhysicalExpr, display: String) -> Self {
        FilterExec { predicate, display }
    }
}

impl StreamOperator for FilterExec {
    fn execute(&self, batch: RecordBatch) -> Result<Option<RecordBatch>> {
        let mask = match self.predicate.evaluate(&batch)? {
            ColumnarValue::Scalar(ScalarValue::Boolean(Some(true))) => return Ok(Some(batch)),
            ColumnarValue::Scalar(_) => return Ok(None),
            ColumnarValue::Array(a) => a,
        };
        if mask.data_type() != &DataType::Boolean {
            return exec_err!("filter predicate evaluated to {}", mask.data_type());
        }
        let mask = mask.as_boolean();
        let kept = mask.true_count();
        if kept == batch.num_rows() {
            return Ok(Some(batch));
        }
        if kept == 0 {
            return Ok(None);
        }
        Ok(Some(filter_record_batch(&batch, mask)?))
    }
    fn describe(&self) -> String {
        format!("FilterExec: {}", self.display)
    }
    fn input_column(&self, output: usize) -> Option<usize> {
        Some(output)
    }
    fn pass_dictionaries(
        &self,
        columns: &[usize],
    ) -> Option<(Arc<dyn StreamOperator>, Vec<usize>)> {
        if columns.iter().any(|&c| self.predicate.reads_column(c)) {
            return None;
        }
        let op = FilterExec::new(self.predicate.clone(), self.display.clone());
        Some((Arc::new(op), columns.to_vec()))
    }
}
