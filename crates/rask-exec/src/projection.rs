//! `ProjectionExec`: computes output columns from expressions.

use std::sync::Arc;

use arrow::array::{RecordBatch, RecordBatchOptions};
use arrow::datatypes::{DataType, SchemaRef};
use rask_common::Result;

use crate::executor::StreamOperator;
use crate::physical_expr::PhysicalExpr;
use crate::source::with_dictionaries;

/// Evaluates one expression per output column.
///
/// # Ordering
/// Preserves the order of its input. # Memory: none buffered.
#[derive(Debug)]
pub struct ProjectionExec {
    exprs: Vec<PhysicalExpr>,
    schema: SchemaRef,
    display: String,
}

impl ProjectionExec {
    /// A projection producing `schema` from `exprs`.
    pub fn new(exprs: Vec<PhysicalExpr>, schema: SchemaRef, display: String) -> Self {
        ProjectionExec {
            exprs,
            schema,
            display,
        }
    }
}

impl StreamOperator for ProjectionExec {
    fn execute(&self, batch: RecordBatch) -> Result<Option<RecordBatch>> {
        let n = batch.num_rows();
        let mut columns = Vec::with_capacity(self.exprs.len());
        for (e, f) in self.exprs.iter().zip(self.schema.fields()) {
            let mut a = e.evaluate_to_array(&batch)?;
            if a.data_type() != f.data_type() {
                a = arrow::compute::cast(&a, f.data_type())?;
            }
            columns.push(a);
        }
        let opts = RecordBatchOptions::new().with_row_count(Some(n));
        Ok(Some(RecordBatch::try_new_with_options(
            Arc::clone(&self.schema),
            columns,
            &opts,
        )?))
    }
    fn describe(&self) -> String {
        format!("ProjectionExec: {}", self.display)
    }
    fn output_schema(&self, _input: &SchemaRef) -> SchemaRef {
        Arc::clone(&self.schema)
    }
    fn input_column(&self, output: usize) -> Option<usize> {
        match self.exprs.get(output) {
            Some(PhysicalExpr::Column(i)) => Some(*i),
            _ => None,
        }
    }
    fn pass_dictionaries(
        &self,
        columns: &[usize],
    ) -> Option<(Arc<dyn StreamOperator>, Vec<usize>)> {
        let mut inputs = Vec::with_capacity(columns.len());
        for &c in columns {
            let i = self.input_column(c)?;
            // Passed on once, and read by nothing else.
            let readers = self.exprs.iter().filter(|e| e.reads_column(i)).count();
            if readers != 1 || self.schema.fields().get(c)?.data_type() != &DataType::Utf8 {
                return None;
            }
            inputs.push(i);
        }
        let schema = Arc::new(with_dictionaries(&self.schema, columns));
        let op = ProjectionExec::new(self.exprs.clone(), schema, self.display.clone());
        Some((Arc::new(op), inputs))
    }
}
