//! Evaluation of scalar functions.

use arrow::datatypes::DataType;
use rask_common::{not_impl_err, Result};
use rask_expr::ScalarFunc;

use crate::columnar::ColumnarValue;

/// Evaluates `func` over arguments already cast to the types chosen by
/// [`rask_expr::functions::signature`]; `return_type` is the type it promised.
pub fn evaluate_function(
    func: ScalarFunc,
    args: &[ColumnarValue],
    return_type: &DataType,
    num_rows: usize,
) -> Result<ColumnarValue> {
    let _ = (args, return_type, num_rows);
    not_impl_err!("function {}()", func.name())
}
