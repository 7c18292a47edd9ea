//! Moves filter predicates as close to the scans as they can go.

use std::sync::Arc;

use rask_common::Result;
use rask_expr::{
    conjunction, split_conjunction, Aggregate, Column, Expr, Filter, LogicalPlan, Projection, Sort,
    SubqueryAlias, Union,
};

use crate::utils::{column_at, map_inputs, try_replace_columns};
use crate::OptimizerRule;

/// Pushes each conjunct of a `Filter` down the plan as far as it stays correct.
///
/// # Conjunctions
///
/// `a > 1 AND b < 2` is split and each conjunct moves on its own: one may stop at a node the
/// other passes. Adjacent filters merge (identical conjuncts once).
///
/// # Through which nodes
///
/// * `Projection`: column references are replaced by the projected expressions (aliases
///   removed), so the conjunct is evaluated below the projection:
///   ```text
///   Filter: x > 5                      Projection: a + 1 AS x
///     Projection: a + 1 AS x    →        Filter: a + 1 > 5
///       TableScan: t                       TableScan: t filters=[a + 1 > 5]
///   ```
///   (rask has no volatile functions; when it gets some, expressions with them must stay.)
/// * `Sort` without `fetch`, `Distinct`: unchanged.
/// * `SubqueryAlias`: `alias.col` is re-qualified as the input's column.
/// * `Union`: into every input, columns mapped by position.
/// * `Aggregate`: only conjuncts that read group keys alone, rewritten to the key expressions;
///   never below a global aggregate (one without keys), which yields a row even for no input.
/// * `TableScan`: the conjunct is *copied* into `TableScan.filters`, a hint the scan may use to
///   skip row groups or files, and the `Filter` stays above the scan (hints are inexact).
///
/// # Where it stops
///
/// `Limit` and `Sort` with `fetch` (pushing below them would change which rows are kept),
/// `Values`, `EmptyRelation`, and a `TableScan` with `fetch` (its first rows must not depend on
/// pruning). A conjunct whose column cannot be mapped (an ambiguous name) stays where it is.
#[derive(Debug, Default)]
pub struct PushDownFilter;

impl PushDownFilter {
    /// The rule.
    pub fn new() -> Self {
        PushDownFilter
    }
}

impl OptimizerRule for PushDownFilter {
    fn name(&self) -> &str {
        "push_down_filter"
    }

    fn rewrite(&self, plan: Arc<LogicalPlan>) -> Result<Arc<LogicalPlan>> {
        optimize(plan)
    }
}

/// Pushes every filter in `plan` down.
fn optimize(plan: Arc<LogicalPlan>) -> Result<Arc<LogicalPlan>> {
    match plan.as_ref() {
        LogicalPlan::Filter(f) => {
            let preds = split_conjunction(&f.predicate)
                .into_iter()
                .cloned()
                .collect();
            push(preds, Arc::clone(&f.input))
        }
        _ => map_inputs(plan, &mut optimize),
    }
}

/// Adds `preds` to `list`, skipping ones already there.
fn add_unique(list: &mut Vec<Expr>, preds: impl IntoIterator<Item = Expr>) {
    for p in preds {
        if !list.contains(&p) {
            list.push(p);
        }
    }
}

/// `Filter(preds)` over `input` on top of an already optimized `input`.
fn filter_over(preds: Vec<Expr>, input: Arc<LogicalPlan>) -> Result<Arc<LogicalPlan>> {
    match conjunction(preds) {
        Some(predicate) => Ok(Arc::new(LogicalPlan::Filter(Filter::try_new(
            predicate, input,
        )?))),
        None => Ok(input),
    }
}

/// The plan `Filter(AND of preds)` over `input`, with the predicates pushed as deep as they go
/// and `input` itself optimized.
fn push(preds: Vec<Expr>, input: Arc<LogicalPlan>) -> Result<Arc<LogicalPlan>> {
    let mut unique = Vec::with_capacity(preds.len());
    add_unique(&mut unique, preds);
    // A conjunct holding an aggregate call (a HAVING clause written against the aggregate's
    // input) is only meaningful right here.
    let (stuck, preds): (Vec<Expr>, Vec<Expr>) =
        unique.into_iter().partition(|p| p.contains_aggregate());
    if !stuck.is_empty() {
        return filter_over(stuck, push(preds, input)?);
    }
    if preds.is_empty() {
        return optimize(input);
    }
    match input.as_ref() {
        LogicalPlan::Filter(f) => {
            // The lower filter's conjuncts first: they ran first before the merge.
            let mut all: Vec<Expr> = split_conjunction(&f.predicate)
                .into_iter()
                .cloned()
                .collect();
            add_unique(&mut all, preds);
            push(all, Arc::clone(&f.input))
        }
        LogicalPlan::Projection(p) => {
            let (mut below, mut above) = (vec![], vec![]);
            for pred in preds {
                match through_projection(&pred, p)? {
                    Some(rewritten) => below.push(rewritten),
                    None => above.push(pred),
                }
            }
            let new_input = push(below, Arc::clone(&p.input))?;
            let proj = Projection::try_new(p.exprs.clone(), new_input)?;
            filter_over(above, Arc::new(LogicalPlan::Projection(proj)))
        }
        LogicalPlan::Sort(s) if s.fetch.is_none() => {
            let new_input = push(preds, Arc::clone(&s.input))?;
            Ok(Arc::new(LogicalPlan::Sort(Sort {
                exprs: s.exprs.clone(),
                input: new_input,
                fetch: None,
            })))
        }
        LogicalPlan::Distinct(inner) => {
            let new_input = push(preds, Arc::clone(inner))?;
            Ok(Arc::new(LogicalPlan::Distinct(new_input)))
        }
        LogicalPlan::SubqueryAlias(a) => {
            let (mut below, mut above) = (vec![], vec![]);
            for pred in preds {
                let rewritten = try_replace_columns(&pred, &mut |c| {
                    positional(&a.schema, a.input.schema(), c).map(Expr::Column)
                })?;
                match rewritten {
                    Some(r) => below.push(r),
                    None => above.push(pred),
                }
            }
            let new_input = push(below, Arc::clone(&a.input))?;
            filter_over(
                above,
                Arc::new(LogicalPlan::SubqueryAlias(SubqueryAlias::new(
                    new_input, &a.alias,
                ))),
            )
        }
        LogicalPlan::Union(u) => {
            // A conjunct goes down only if it maps into every input.
            let (mut per_input, mut above) = (vec![vec![]; u.inputs.len()], vec![]);
            for pred in preds {
                let mut mapped = Vec::with_capacity(u.inputs.len());
                for inp in &u.inputs {
                    let r = try_replace_columns(&pred, &mut |c| {
                        positional(&u.schema, inp.schema(), c).map(Expr::Column)
                    })?;
                    match r {
                        Some(r) => mapped.push(r),
                        None => break,
                    }
                }
                if mapped.len() == u.inputs.len() {
                    for (k, r) in mapped.into_iter().enumerate() {
                        per_input[k].push(r);
                    }
                } else {
                    above.push(pred);
                }
            }
            let inputs = u
                .inputs
                .iter()
                .zip(per_input)
                .map(|(inp, preds)| push(preds, Arc::clone(inp)))
                .collect::<Result<Vec<_>>>()?;
            filter_over(
                above,
                Arc::new(LogicalPlan::Union(Union {
                    inputs,
                    schema: Arc::clone(&u.schema),
                })),
            )
        }
        LogicalPlan::Aggregate(a) if !a.group_exprs.is_empty() => {
            let (mut below, mut above) = (vec![], vec![]);
            for pred in preds {
                match through_aggregate(&pred, a)? {
                    Some(r) => below.push(r),
                    None => above.push(pred),
                }
            }
            let new_input = push(below, Arc::clone(&a.input))?;
            let agg = Aggregate::try_new(new_input, a.group_exprs.clone(), a.aggr_exprs.clone())?;
            filter_over(above, Arc::new(LogicalPlan::Aggregate(agg)))
        }
        LogicalPlan::TableScan(s) if s.fetch.is_none() => {
            let mut scan = s.clone();
            add_unique(&mut scan.filters, preds.iter().cloned());
            filter_over(preds, Arc::new(LogicalPlan::TableScan(scan)))
        }
        _ => filter_over(preds, optimize(input)?),
    }
}

/// The column of `to` at the position `c` has in `from` (same layout, other qualifiers).
fn positional(
    from: &rask_expr::PlanSchema,
    to: &rask_expr::PlanSchema,
    c: &Column,
) -> Option<Column> {
    let i = from.maybe_index_of_column(c).ok()??;
    column_at(to, i)
}

/// `pred` over the projection's input: each column replaced by the expression producing it.
fn through_projection(pred: &Expr, p: &Projection) -> Result<Option<Expr>> {
    try_replace_columns(pred, &mut |c| {
        let i = p.schema.maybe_index_of_column(c).ok()??;
        let e = p.exprs.get(i)?.unalias();
        (!e.contains_aggregate()).then(|| e.clone())
    })
}

/// `pred` below the aggregate, when it reads group keys only.
fn through_aggregate(pred: &Expr, a: &Aggregate) -> Result<Option<Expr>> {
    if pred.columns().is_empty() {
        return Ok(None);
    }
    try_replace_columns(pred, &mut |c| {
        let i = a.schema.maybe_index_of_column(c).ok()??;
        a.group_exprs.get(i).map(|e| e.unalias().clone())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{assert_rule, scan};
    use rask_expr::{col, lit, AggFunc, LogicalPlanBuilder, SortExpr};

    fn check(plan: Arc<LogicalPlan>, expected: &str) {
        assert_rule(&PushDownFilter::new(), plan, expected);
    }

    fn sum(e: Expr) -> Expr {
        Expr::AggregateFunction {
            func: AggFunc::Sum,
            args: vec![e],
            distinct: false,
            filter: None,
        }
    }

    #[test]
    fn filter_at_scan_is_copied_into_scan_filters() {
        let plan = scan("t")
            .filter(col("a").gt(lit(1i64)).and(col("b").lt(lit(2i64))))
            .unwrap()
            .build();
        check(
            plan,
            "
Filter: a > 1 AND b < 2
  TableScan: t filters=[a > 1, b < 2]",
        );
    }

    #[test]
    fn through_projection_substitutes_expressions() {
        let plan = scan("t")
            .project(vec![col("a").add(lit(1i64)).alias("x"), col("b")])
            .unwrap()
            .filter(col("x").gt(lit(5i64)).and(col("b").eq(lit(3i64))))
            .unwrap()
            .build();
        check(
            plan,
            "
Projection: a + 1 AS x, b
  Filter: a + 1 > 5 AND b = 3
    TableScan: t filters=[a + 1 > 5, b = 3]",
        );
    }

    #[test]
    fn adjacent_filters_merge() {
        let plan = scan("t")
            .filter(col("a").gt(lit(1i64)))
            .unwrap()
            .filter(col("b").gt(lit(1i64)).and(col("a").gt(lit(1i64))))
            .unwrap()
            .build();
        check(
            plan,
            "
Filter: a > 1 AND b > 1
  TableScan: t filters=[a > 1, b > 1]",
        );
    }

    #[test]
    fn through_sort_and_distinct_not_limit() {
        let plan = scan("t")
            .limit(0, Some(10))
            .distinct()
            .sort(vec![SortExpr::new(col("a"), true)])
            .unwrap()
            .filter(col("a").gt(lit(1i64)))
            .unwrap()
            .build();
        check(
            plan,
            "
Sort: a ASC NULLS LAST
  Distinct
    Filter: a > 1
      Limit: skip=0, fetch=10
        TableScan: t",
        );
    }

    #[test]
    fn not_through_sort_with_fetch() {
        let sort = LogicalPlan::Sort(Sort {
            exprs: vec![SortExpr::new(col("a"), true)],
            input: scan("t").build(),
            fetch: Some(3),
        });
        let plan = LogicalPlanBuilder::from(sort)
            .filter(col("a").gt(lit(1i64)))
            .unwrap()
            .build();
        check(
            plan,
            "
Filter: a > 1
  Sort: a ASC NULLS LAST fetch=3
    TableScan: t",
        );
    }

    #[test]
    fn through_subquery_alias() {
        let plan = scan("t")
            .alias("u")
            .filter(col("u.a").gt(lit(1i64)))
            .unwrap()
            .build();
        check(
            plan,
            "
SubqueryAlias: u
  Filter: t.a > 1
    TableScan: t filters=[t.a > 1]",
        );
    }

    #[test]
    fn into_every_union_input() {
        let left = scan("t").project(vec![col("a"), col("b")]).unwrap();
        let right = scan("v")
            .project(vec![col("c").alias("x"), col("d")])
            .unwrap()
            .build();
        let plan = left
            .union(right)
            .unwrap()
            .filter(col("a").gt(lit(1i64)))
            .unwrap()
            .build();
        check(
            plan,
            "
Union
  Projection: a, b
    Filter: a > 1
      TableScan: t filters=[a > 1]
  Projection: c AS x, d
    Filter: c > 1
      TableScan: v filters=[c > 1]",
        );
    }

    #[test]
    fn into_aggregate_only_on_group_keys() {
        let plan = scan("t")
            .aggregate(vec![col("a"), col("b").add(lit(1i64))], vec![sum(col("c"))])
            .unwrap()
            .filter(
                col("a")
                    .gt(lit(1i64))
                    .and(col("b + 1").lt(lit(5i64)))
                    .and(col("sum(c)").gt(lit(10i64))),
            )
            .unwrap()
            .build();
        check(
            plan,
            "
Filter: sum(c) > 10
  Aggregate: groupBy=[a, b + 1], aggr=[sum(c)]
    Filter: a > 1 AND b + 1 < 5
      TableScan: t filters=[a > 1, b + 1 < 5]",
        );
    }

    #[test]
    fn conjunct_with_aggregate_call_stays() {
        // HAVING sum(c) > 10 written as an aggregate call over the input's column c, which is
        // also a group key: it must not go below the aggregate.
        let plan = scan("t")
            .aggregate(vec![col("c")], vec![sum(col("c"))])
            .unwrap()
            .build();
        let having = LogicalPlan::Filter(Filter {
            predicate: sum(col("c")).gt(lit(10i64)).and(col("c").gt(lit(0i64))),
            input: plan,
        });
        check(
            Arc::new(having),
            "
Filter: sum(c) > 10
  Aggregate: groupBy=[c], aggr=[sum(c)]
    Filter: c > 0
      TableScan: t filters=[c > 0]",
        );
    }

    #[test]
    fn not_below_global_aggregate() {
        let plan = scan("t")
            .aggregate(vec![], vec![sum(col("c"))])
            .unwrap()
            .filter(col("sum(c)").gt(lit(10i64)))
            .unwrap()
            .build();
        check(
            plan,
            "
Filter: sum(c) > 10
  Aggregate: groupBy=[], aggr=[sum(c)]
    TableScan: t",
        );
    }

    #[test]
    fn not_into_scan_with_fetch() {
        let mut s = rask_expr::TableScan::try_new("t", crate::test_util::source()).unwrap();
        s.fetch = Some(5);
        let plan = LogicalPlanBuilder::from(LogicalPlan::TableScan(s))
            .filter(col("a").gt(lit(1i64)))
            .unwrap()
            .build();
        check(
            plan,
            "
Filter: a > 1
  TableScan: t fetch=5",
        );
    }

    #[test]
    fn deep_push_keeps_unpushable_part() {
        // Filter over Projection over Limit: the conjunct passes the projection, stops at Limit.
        let plan = scan("t")
            .filter(col("c").eq(lit(0i64)))
            .unwrap()
            .limit(0, Some(10))
            .project(vec![col("a"), col("b")])
            .unwrap()
            .filter(col("a").gt(lit(1i64)))
            .unwrap()
            .build();
        check(
            plan,
            "
Projection: a, b
  Filter: a > 1
    Limit: skip=0, fetch=10
      Filter: c = 0
        TableScan: t filters=[c = 0]",
        );
    }
}
