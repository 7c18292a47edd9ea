//! Helpers for the rule tests: a table source and plan assertions.

use std::any::Any;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use rask_expr::{LogicalPlan, LogicalPlanBuilder, TableSource};

use crate::OptimizerRule;

/// A table with a fixed schema and no data.
#[derive(Debug)]
pub struct TestSource {
    schema: SchemaRef,
}

impl TableSource for TestSource {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn npartitions(&self) -> usize {
        1
    }
}

/// A source with columns `a, b, c, d` (Int64) and `s` (Utf8).
pub fn source() -> Arc<dyn TableSource> {
    Arc::new(TestSource {
        schema: Arc::new(Schema::new(vec![
            Field::new("a", DataType::Int64, true),
            Field::new("b", DataType::Int64, true),
            Field::new("c", DataType::Int64, true),
            Field::new("d", DataType::Int64, true),
            Field::new("s", DataType::Utf8, true),
        ])),
    })
}

/// A source with the given fields.
pub fn source_with(fields: Vec<Field>) -> Arc<dyn TableSource> {
    Arc::new(TestSource {
        schema: Arc::new(Schema::new(fields)),
    })
}

/// A scan of [`source`] named `name`.
pub fn scan(name: &str) -> LogicalPlanBuilder {
    LogicalPlanBuilder::scan(name, source()).expect("scan")
}

/// Asserts the indented plan text (leading newline and trailing whitespace ignored).
#[track_caller]
pub fn assert_plan(plan: &LogicalPlan, expected: &str) {
    let actual = plan.display_indent();
    assert_eq!(
        actual.trim_end(),
        expected.trim_start_matches('\n').trim_end(),
        "\nactual plan:\n{actual}"
    );
}

/// Runs `rule` on `plan`, checks the output schema is unchanged, and asserts the result.
#[track_caller]
pub fn assert_rule(rule: &dyn OptimizerRule, plan: Arc<LogicalPlan>, expected: &str) {
    let out = rule.rewrite(Arc::clone(&plan)).expect("rewrite");
    assert_plan(&out, expected);
    let (before, after) = (plan.schema(), out.schema());
    assert_eq!(before.len(), after.len(), "schema length changed");
    for i in 0..before.len() {
        assert_eq!(before.field(i).name(), after.field(i).name());
        assert_eq!(before.field(i).data_type(), after.field(i).data_type());
    }
}
