//! Constant folding, boolean simplification and removal of redundant casts.

use std::sync::Arc;

use arrow::datatypes::DataType;
use rask_common::{Result, ScalarValue};
use rask_exec::physical_expr::evaluate_constant;
use rask_expr::{
    Aggregate, Expr, Filter, Join, LogicalPlan, Operator, PlanSchema, Projection, Sort, SortExpr,
};

use crate::utils::{preserve_name, transform_up};
use crate::OptimizerRule;

/// Simplifies every expression of the plan, bottom-up.
///
/// # Constant folding
///
/// A subtree with no column and no aggregate is evaluated once, with the executor's kernels, and
/// replaced by its value. A subtree whose evaluation fails (`1 / 0`, `CAST('x' AS INT)`) is left
/// alone, so the error surfaces when (and only if) the query evaluates it.
///
/// ```text
/// Filter: l_shipdate <= DATE '1998-12-01' - INTERVAL '90 days'
/// ```
/// becomes
/// ```text
/// Filter: l_shipdate <= DATE '1998-09-02'
/// ```
///
/// # Boolean simplification (three-valued)
///
/// * `x AND true` → `x`, `x AND false` → `false` (`NULL AND false` is `false`), `x AND x` → `x`
/// * `x OR false` → `x`, `x OR true` → `true` (`NULL OR true` is `true`), `x OR x` → `x`
/// * `NOT NOT x` → `x`; `NOT (a < b)` → `a >= b`, and likewise for `IS NULL`, `BETWEEN`, `IN`,
///   `LIKE` (each negation is also NULL when its operand is)
/// * `x AND NULL` and `x OR NULL` are kept: their value depends on `x`.
/// * `x = x` is kept: it is NULL, not true, when `x` is NULL.
///
/// A `Filter` whose predicate becomes `true` is removed; so is a join `filter` that does (join
/// keys are left alone).
///
/// # Casts
///
/// `CAST(x AS t)` where `x` already has type `t` → `x`.
///
/// # Names
///
/// A projection or aggregate expression whose text changes keeps its output name through an
/// alias: `1 + 2` becomes `3 AS "1 + 2"`.
#[derive(Debug, Default)]
pub struct SimplifyExpressions;

impl SimplifyExpressions {
    /// The rule.
    pub fn new() -> Self {
        SimplifyExpressions
    }
}

impl OptimizerRule for SimplifyExpressions {
    fn name(&self) -> &str {
        "simplify_expressions"
    }

    fn rewrite(&self, plan: Arc<LogicalPlan>) -> Result<Arc<LogicalPlan>> {
        transform_up(plan, &mut simplify_plan_node)
    }
}

fn simplify_plan_node(plan: Arc<LogicalPlan>) -> Result<Arc<LogicalPlan>> {
    Ok(match plan.as_ref() {
        LogicalPlan::Projection(p) => {
            let schema = p.input.schema();
            match simplify_named(&p.exprs, schema)? {
                Some(exprs) => Arc::new(LogicalPlan::Projection(Projection::try_new(
                    exprs,
                    Arc::clone(&p.input),
                )?)),
                None => plan,
            }
        }
        LogicalPlan::Filter(f) => {
            let predicate = simplify_expr(f.predicate.clone(), f.input.schema())?;
            if is_bool_lit(&predicate, true) {
                Arc::clone(&f.input)
            } else if predicate == f.predicate {
                plan
            } else {
                Arc::new(LogicalPlan::Filter(Filter {
                    predicate,
                    input: Arc::clone(&f.input),
                }))
            }
        }
        LogicalPlan::Aggregate(a) => {
            let schema = a.input.schema();
            let group = simplify_named(&a.group_exprs, schema)?;
            let aggr = simplify_named(&a.aggr_exprs, schema)?;
            if group.is_none() && aggr.is_none() {
                plan
            } else {
                Arc::new(LogicalPlan::Aggregate(Aggregate::try_new(
                    Arc::clone(&a.input),
                    group.unwrap_or_else(|| a.group_exprs.clone()),
                    aggr.unwrap_or_else(|| a.aggr_exprs.clone()),
                )?))
            }
        }
        LogicalPlan::Sort(s) => {
            let schema = s.input.schema();
            let exprs = s
                .exprs
                .iter()
                .map(|k| {
                    Ok(SortExpr {
                        expr: simplify_expr(k.expr.clone(), schema)?,
                        ..k.clone()
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            if exprs == s.exprs {
                plan
            } else {
                Arc::new(LogicalPlan::Sort(Sort {
                    exprs,
                    input: Arc::clone(&s.input),
                    fetch: s.fetch,
                }))
            }
        }
        LogicalPlan::Join(j) if j.filter.is_some() => {
            let old = j.filter.clone().expect("checked");
            let both = j.left.schema().join(j.right.schema());
            let f = simplify_expr(old.clone(), &both)?;
            if f == old && !is_bool_lit(&f, true) {
                plan
            } else {
                let filter = (!is_bool_lit(&f, true)).then_some(f);
                Arc::new(LogicalPlan::Join(Join::try_new(
                    Arc::clone(&j.left),
                    Arc::clone(&j.right),
                    j.on.clone(),
                    filter,
                    j.join_type,
                )?))
            }
        }
        LogicalPlan::TableScan(s) if !s.filters.is_empty() => {
            let full = PlanSchema::from_arrow(Some(&s.table_name), &s.source.schema());
            let mut filters = Vec::with_capacity(s.filters.len());
            for f in &s.filters {
                let f = simplify_expr(f.clone(), &full)?;
                if !is_bool_lit(&f, true) && !filters.contains(&f) {
                    filters.push(f);
                }
            }
            if filters == s.filters {
                plan
            } else {
                let mut scan = s.clone();
                scan.filters = filters;
                Arc::new(LogicalPlan::TableScan(scan))
            }
        }
        _ => plan,
    })
}

/// Simplifies output expressions, keeping their names; `None` when none changed.
fn simplify_named(exprs: &[Expr], schema: &PlanSchema) -> Result<Option<Vec<Expr>>> {
    let mut changed = false;
    let out = exprs
        .iter()
        .map(|e| {
            let s = simplify_expr(e.clone(), schema)?;
            Ok(if &s == e {
                s
            } else {
                changed = true;
                preserve_name(e, s)
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(changed.then_some(out))
}

/// Simplifies one expression over rows of `schema`.
pub fn simplify_expr(expr: Expr, schema: &PlanSchema) -> Result<Expr> {
    expr.transform_up(&mut |e| Ok(simplify_once(e, schema)))
}

fn is_bool_lit(e: &Expr, v: bool) -> bool {
    matches!(e, Expr::Literal(ScalarValue::Boolean(Some(b))) if *b == v)
}

fn bool_lit(v: bool) -> Expr {
    Expr::Literal(ScalarValue::Boolean(Some(v)))
}

fn is_boolean(e: &Expr, schema: &PlanSchema) -> bool {
    matches!(e.get_type(schema), Ok(DataType::Boolean))
}

/// One step at one node (its children are already simplified).
fn simplify_once(e: Expr, schema: &PlanSchema) -> Expr {
    if let Some(folded) = fold_constant(&e) {
        return folded;
    }
    match e {
        Expr::BinaryExpr {
            left,
            op: op @ (Operator::And | Operator::Or),
            right,
        } => {
            let (unit, zero) = match op {
                Operator::And => (true, false),
                _ => (false, true),
            };
            // `x AND false` / `x OR true`: the result whatever x is, NULL included.
            if is_bool_lit(&left, zero) || is_bool_lit(&right, zero) {
                return bool_lit(zero);
            }
            // `x AND true` / `x OR false` is x, provided x is BOOLEAN (not an untyped NULL).
            if is_bool_lit(&left, unit) && is_boolean(&right, schema) {
                return *right;
            }
            if is_bool_lit(&right, unit) && is_boolean(&left, schema) {
                return *left;
            }
            if left == right && is_boolean(&left, schema) {
                return *left;
            }
            Expr::BinaryExpr { left, op, right }
        }
        Expr::Not(inner) => match *inner {
            Expr::Not(x) if is_boolean(&x, schema) => *x,
            Expr::BinaryExpr { left, op, right } if negate_comparison(op).is_some() => {
                Expr::BinaryExpr {
                    left,
                    op: negate_comparison(op).unwrap_or(op),
                    right,
                }
            }
            Expr::IsNull(x) => Expr::IsNotNull(x),
            Expr::IsNotNull(x) => Expr::IsNull(x),
            Expr::Between {
                expr,
                negated,
                low,
                high,
            } => Expr::Between {
                expr,
                negated: !negated,
                low,
                high,
            },
            Expr::InList {
                expr,
                list,
                negated,
            } => Expr::InList {
                expr,
                list,
                negated: !negated,
            },
            Expr::Like {
                negated,
                expr,
                pattern,
                case_insensitive,
            } => Expr::Like {
                negated: !negated,
                expr,
                pattern,
                case_insensitive,
            },
            other => Expr::Not(Box::new(other)),
        },
        Expr::Cast {
            expr,
            data_type,
            safe,
        } => match expr.get_type(schema) {
            Ok(t) if t == data_type => *expr,
            _ => Expr::Cast {
                expr,
                data_type,
                safe,
            },
        },
        e => e,
    }
}

/// The comparison that is true exactly when `op` is false (and NULL when it is NULL).
fn negate_comparison(op: Operator) -> Option<Operator> {
    Some(match op {
        Operator::Eq => Operator::NotEq,
        Operator::NotEq => Operator::Eq,
        Operator::Lt => Operator::GtEq,
        Operator::LtEq => Operator::Gt,
        Operator::Gt => Operator::LtEq,
        Operator::GtEq => Operator::Lt,
        Operator::IsDistinctFrom => Operator::IsNotDistinctFrom,
        Operator::IsNotDistinctFrom => Operator::IsDistinctFrom,
        _ => return None,
    })
}

/// The value of a constant subtree, when it evaluates without error to its declared type.
fn fold_constant(e: &Expr) -> Option<Expr> {
    if matches!(
        e,
        Expr::Literal(_) | Expr::Alias(..) | Expr::Column(_) | Expr::Wildcard { .. }
    ) || !e.is_constant()
    {
        return None;
    }
    let declared = e.get_type(&PlanSchema::empty()).ok()?;
    match evaluate_constant(e) {
        Ok(v) if v.data_type() == declared => Some(Expr::Literal(v)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{assert_rule, scan, source_with};
    use arrow::datatypes::{Field, IntervalMonthDayNano};
    use rask_expr::{col, lit, AggFunc, LogicalPlanBuilder};

    fn check(plan: Arc<LogicalPlan>, expected: &str) {
        assert_rule(&SimplifyExpressions::new(), plan, expected);
    }

    fn filter(pred: Expr) -> Arc<LogicalPlan> {
        scan("t").filter(pred).unwrap().build()
    }

    fn bool_col(name: &str) -> Expr {
        col(name).gt(lit(0i64))
    }

    #[test]
    fn folds_constants_in_predicates() {
        check(
            filter(col("a").gt(lit(1i64).add(lit(2i64)).mul(lit(3i64)))),
            "
Filter: a > 9
  TableScan: t",
        );
    }

    #[test]
    fn folds_projection_keeping_names() {
        let plan = scan("t")
            .project(vec![
                lit(1i64).add(lit(2i64)),
                lit(2i64).mul(lit(5i64)).alias("ten"),
                col("a"),
            ])
            .unwrap()
            .build();
        check(
            plan,
            "
Projection: 3 AS 1 + 2, 10 AS ten, a
  TableScan: t",
        );
    }

    #[test]
    fn leaves_failing_constants_alone() {
        let plan = scan("t")
            .project(vec![
                col("a").add(lit(1i64).div(lit(0i64))),
                lit("x").cast(DataType::Int64),
            ])
            .unwrap()
            .build();
        check(
            plan,
            "
Projection: a + 1 / 0, CAST('x' AS Int64)
  TableScan: t",
        );
    }

    #[test]
    fn folds_date_arithmetic() {
        let date = Expr::Literal(ScalarValue::Date32(Some(10561))); // 1998-12-01
        let interval = Expr::Literal(ScalarValue::Interval(Some(IntervalMonthDayNano::new(
            0, 90, 0,
        ))));
        let src = source_with(vec![Field::new("d", DataType::Date32, false)]);
        let plan = LogicalPlanBuilder::scan("t", src)
            .unwrap()
            .filter(col("d").lt_eq(date.sub(interval)))
            .unwrap()
            .build();
        check(
            plan,
            "
Filter: d <= DATE '1998-09-02'
  TableScan: t",
        );
    }

    #[test]
    fn and_or_with_true_false() {
        let (x, y) = (bool_col("a"), bool_col("b"));
        check(
            filter(x.clone().and(lit(true)).and(lit(true).and(y.clone()))),
            "
Filter: a > 0 AND b > 0
  TableScan: t",
        );
        check(
            filter(x.clone().or(lit(false))),
            "
Filter: a > 0
  TableScan: t",
        );
        check(
            filter(x.clone().or(lit(true)).and(y.clone())),
            "
Filter: b > 0
  TableScan: t",
        );
        check(
            filter(x.clone().and(lit(false)).or(y.clone())),
            "
Filter: b > 0
  TableScan: t",
        );
        check(
            filter(x.clone().and(x.clone())),
            "
Filter: a > 0
  TableScan: t",
        );
    }

    #[test]
    fn filter_true_is_removed() {
        let plan = scan("t")
            .filter(bool_col("a").or(lit(true)))
            .unwrap()
            .project(vec![col("a")])
            .unwrap()
            .build();
        check(
            plan,
            "
Projection: a
  TableScan: t",
        );
    }

    #[test]
    fn null_logic_is_respected() {
        let null = Expr::Literal(ScalarValue::Boolean(None));
        // x AND NULL and x OR NULL depend on x; x = x is NULL for NULL x.
        check(
            filter(
                bool_col("a")
                    .and(null.clone())
                    .or(bool_col("b").or(null))
                    .and(col("c").eq(col("c"))),
            ),
            "
Filter: (a > 0 AND NULL OR (b > 0 OR NULL)) AND c = c
  TableScan: t",
        );
        // true AND NULL folds to NULL, false AND NULL to false.
        let plan = scan("t")
            .project(vec![
                lit(true)
                    .and(Expr::Literal(ScalarValue::Boolean(None)))
                    .alias("n"),
                lit(false)
                    .and(Expr::Literal(ScalarValue::Boolean(None)))
                    .alias("f"),
            ])
            .unwrap()
            .build();
        check(
            plan,
            "
Projection: NULL AS n, false AS f
  TableScan: t",
        );
    }

    #[test]
    fn not_simplification() {
        check(
            filter(bool_col("a").not().not()),
            "
Filter: a > 0
  TableScan: t",
        );
        check(
            filter(
                col("a")
                    .lt(lit(1i64))
                    .not()
                    .and(col("b").is_null().not())
                    .and(col("c").isin(vec![lit(1i64), lit(2i64)]).not())
                    .and(col("s").like(lit("x%")).not()),
            ),
            "
Filter: a >= 1 AND b IS NOT NULL AND c NOT IN (1, 2) AND s NOT LIKE 'x%'
  TableScan: t",
        );
    }

    #[test]
    fn removes_redundant_casts() {
        let plan = scan("t")
            .project(vec![
                col("a").cast(DataType::Int64),
                col("b").cast(DataType::Float64),
                col("c").cast(DataType::Int64).alias("c"),
            ])
            .unwrap()
            .build();
        check(
            plan,
            "
Projection: a AS CAST(a AS Int64), CAST(b AS Float64), c AS c
  TableScan: t",
        );
    }

    #[test]
    fn aggregate_args_fold_with_names_kept() {
        let sum = Expr::AggregateFunction {
            func: AggFunc::Sum,
            args: vec![col("a").mul(lit(2i64).sub(lit(1i64)))],
            distinct: false,
            filter: None,
        };
        let plan = scan("t")
            .aggregate(vec![col("b")], vec![sum])
            .unwrap()
            .build();
        check(
            plan,
            "
Aggregate: groupBy=[b], aggr=[sum(a * 1) AS sum(a * (2 - 1))]
  TableScan: t",
        );
    }

    #[test]
    fn scan_filters_and_sort_keys_are_simplified() {
        let mut s = rask_expr::TableScan::try_new("t", crate::test_util::source()).unwrap();
        s.filters = vec![col("a").gt(lit(1i64).add(lit(1i64))), lit(true)];
        let plan = LogicalPlanBuilder::from(LogicalPlan::TableScan(s))
            .sort(vec![SortExpr::new(col("b").cast(DataType::Int64), true)])
            .unwrap()
            .filter(bool_col("c").and(lit(false)))
            .unwrap()
            .build();
        check(
            plan,
            "
Filter: false
  Sort: b ASC NULLS LAST
    TableScan: t filters=[a > 2]",
        );
    }

    #[test]
    fn unchanged_plan_is_the_same_arc() {
        let plan = filter(bool_col("a"));
        let out = SimplifyExpressions::new()
            .rewrite(Arc::clone(&plan))
            .unwrap();
        assert!(Arc::ptr_eq(&plan, &out));
    }

    #[test]
    fn join_filter_is_simplified() {
        use crate::test_util::{join, table};
        let plan = join(
            scan("t"),
            table("u", &["x"], None),
            vec![],
            Some(
                col("t.a")
                    .lt(col("u.x").add(lit(1i64).add(lit(1i64))))
                    .and(lit(true)),
            ),
            rask_expr::JoinType::Left,
        )
        .build();
        assert_rule(
            &SimplifyExpressions::new(),
            plan,
            "
Join: Left on=[] filter=t.a < u.x + 2
  TableScan: t
  TableScan: u",
        );
        let plan = join(
            scan("t"),
            table("u", &["x"], None),
            vec![(col("t.a"), col("u.x"))],
            Some(lit(true)),
            rask_expr::JoinType::Inner,
        )
        .build();
        assert_rule(
            &SimplifyExpressions::new(),
            plan,
            "
Join: Inner on=[t.a = u.x]
  TableScan: t
  TableScan: u",
        );
    }
}
