//! Helpers for the rule tests: a table source and plan assertions.

use std::any::Any;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use rask_common::ScalarValue;
use rask_expr::{Expr, Join, JoinType, LogicalPlan, LogicalPlanBuilder, TableSource};

use crate::OptimizerRule;

/// A table with a fixed schema and no data.
#[derive(Debug)]
pub struct TestSource {
    schema: SchemaRef,
    rows: Option<usize>,
    /// Column `i`'s values lie in `0..=max[i]` (no statistics past the end).
    max: Vec<i64>,
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
    fn num_rows(&self) -> Option<usize> {
        self.rows
    }
    fn column_min_max(&self, column: usize) -> Option<(ScalarValue, ScalarValue)> {
        let m = *self.max.get(column)?;
        Some((ScalarValue::Int64(Some(0)), ScalarValue::Int64(Some(m))))
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
        rows: None,
        max: vec![],
    })
}

/// A source with the given fields.
pub fn source_with(fields: Vec<Field>) -> Arc<dyn TableSource> {
    Arc::new(TestSource {
        schema: Arc::new(Schema::new(fields)),
        rows: None,
        max: vec![],
    })
}

/// A scan of a table `name` with `rows` rows (`None`: unknown) and the given columns: a name
/// ending in `name` or `flag` is Utf8, every other one Int64.
pub fn table(name: &str, columns: &[&str], rows: Option<usize>) -> LogicalPlanBuilder {
    table_with_stats(name, columns, rows, &[])
}

/// [`table`], whose statistics say column `i`'s values lie in `0..=max[i]`.
pub fn table_with_stats(
    name: &str,
    columns: &[&str],
    rows: Option<usize>,
    max: &[i64],
) -> LogicalPlanBuilder {
    let fields = columns
        .iter()
        .map(|c| {
            let t = if c.ends_with("name") || c.ends_with("flag") {
                DataType::Utf8
            } else {
                DataType::Int64
            };
            Field::new(*c, t, true)
        })
        .collect::<Vec<_>>();
    let source = Arc::new(TestSource {
        schema: Arc::new(Schema::new(fields)),
        rows,
        max: max.to_vec(),
    });
    LogicalPlanBuilder::scan(name, source).expect("scan")
}

/// `Join::try_new` as a builder step.
pub fn join(
    left: LogicalPlanBuilder,
    right: LogicalPlanBuilder,
    on: Vec<(Expr, Expr)>,
    filter: Option<Expr>,
    join_type: JoinType,
) -> LogicalPlanBuilder {
    let j = Join::try_new(left.build(), right.build(), on, filter, join_type).expect("join");
    LogicalPlanBuilder::from(LogicalPlan::Join(j))
}

/// A key-less inner join (what the binder makes of a comma in `FROM`).
pub fn cross(left: LogicalPlanBuilder, right: LogicalPlanBuilder) -> LogicalPlanBuilder {
    join(left, right, vec![], None, JoinType::Inner)
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
