//! Turns aggregates that all read the same `DISTINCT` argument into two aggregations.

use std::sync::Arc;

use rask_common::{Result, ScalarValue};
use rask_expr::{AggFunc, Aggregate, Column, Expr, LogicalPlan, Projection, ScalarFunc};

use crate::utils::map_inputs;
use crate::OptimizerRule;

/// Name of the distinct argument between the two aggregations.
const DISTINCT_ARG: &str = "__distinct_arg";

/// Rewrites an aggregation whose aggregates are all `count`/`sum`/`avg`/`min`/`max` of
/// `DISTINCT x` (the same `x`, no `FILTER`), grouped by plain columns:
///
/// ```text
/// Aggregate: groupBy=[k], aggr=[count(DISTINCT x), sum(DISTINCT x)]
///   →
/// Aggregate: groupBy=[k], aggr=[count(__distinct_arg) AS "count(DISTINCT x)", ...]
///   Aggregate: groupBy=[k, x AS __distinct_arg], aggr=[]
/// ```
///
/// The inner aggregation removes duplicates of `(k, x)` with the ordinary (parallel,
/// spillable) hash aggregation instead of a per-group set of values; the outer one aggregates
/// each distinct value once. NULL `x` forms one inner group, which `count`, `sum`, `avg`,
/// `min` and `max` skip as they skip NULLs, so the answer is the same.
///
/// Plain `count`/`count(*)`/`sum`/`min`/`max` aggregates (with or without `FILTER`) beside
/// them are computed per inner group and combined by the outer aggregation (counts summed,
/// with `coalesce(.., 0)` so that the count of no rows stays 0):
///
/// ```text
/// Aggregate: groupBy=[], aggr=[count(DISTINCT x), sum(y)]
///   →
/// Aggregate: groupBy=[], aggr=[count(__distinct_arg), sum(__partial_1)]
///   Aggregate: groupBy=[x AS __distinct_arg], aggr=[sum(y) AS __partial_1]
/// ```
///
/// So a global aggregation with a DISTINCT aggregate, which would hold every distinct value
/// in one group's set, spills as a grouped one.
#[derive(Debug, Default)]
pub struct SingleDistinctToGroupBy;

impl SingleDistinctToGroupBy {
    /// The rule.
    pub fn new() -> Self {
        SingleDistinctToGroupBy
    }
}

impl OptimizerRule for SingleDistinctToGroupBy {
    fn name(&self) -> &str {
        "single_distinct_to_groupby"
    }

    fn rewrite(&self, plan: Arc<LogicalPlan>) -> Result<Arc<LogicalPlan>> {
        optimize(plan)
    }
}

fn optimize(plan: Arc<LogicalPlan>) -> Result<Arc<LogicalPlan>> {
    let plan = map_inputs(plan, &mut optimize)?;
    let LogicalPlan::Aggregate(agg) = plan.as_ref() else {
        return Ok(plan);
    };
    Ok(rewrite(agg)?.map_or(plan, Arc::new))
}

/// How an aggregate of the original aggregation is computed by the two.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Part {
    /// `f(DISTINCT x)`: `f(x)` over the inner groups.
    Distinct(AggFunc),
    /// `f(y)` (`FILTER` allowed): `f` per inner group, then `combine` of those.
    Partial { combine: AggFunc, count: bool },
}

/// The single distinct argument of `agg`'s aggregates and how each aggregate is split, if
/// the rule applies.
fn split(agg: &Aggregate) -> Option<(&Expr, Vec<Part>)> {
    if agg.aggr_exprs.is_empty() || !agg.group_exprs.iter().all(|g| matches!(g, Expr::Column(_))) {
        return None;
    }
    let mut arg: Option<&Expr> = None;
    let mut parts = Vec::with_capacity(agg.aggr_exprs.len());
    for e in &agg.aggr_exprs {
        let Expr::AggregateFunction {
            func,
            args,
            distinct,
            filter,
        } = e.unalias()
        else {
            return None;
        };
        if !*distinct {
            let part = match func {
                AggFunc::Count | AggFunc::CountStar => Part::Partial {
                    combine: AggFunc::Sum,
                    count: true,
                },
                AggFunc::Sum | AggFunc::Min | AggFunc::Max => Part::Partial {
                    combine: *func,
                    count: false,
                },
                _ => return None,
            };
            parts.push(part);
            continue;
        }
        if filter.is_some()
            || !matches!(
                func,
                AggFunc::Count | AggFunc::Sum | AggFunc::Avg | AggFunc::Min | AggFunc::Max
            )
            || args.len() != 1
        {
            return None;
        }
        match arg {
            None => arg = Some(&args[0]),
            Some(a) if *a == args[0] => {}
            Some(_) => return None,
        }
        parts.push(Part::Distinct(*func));
    }
    arg.map(|a| (a, parts))
}

fn column(name: &str) -> Expr {
    Expr::Column(Column {
        relation: None,
        name: name.to_string(),
    })
}

fn rewrite(agg: &Aggregate) -> Result<Option<LogicalPlan>> {
    let Some((arg, parts)) = split(agg) else {
        return Ok(None);
    };
    let mut inner_groups = agg.group_exprs.clone();
    inner_groups.push(arg.clone().alias(DISTINCT_ARG));
    let mut inner_aggs = Vec::new();
    let mut outer_aggs = Vec::with_capacity(agg.aggr_exprs.len());
    let mut counts = Vec::new();
    for (i, (e, (_, field))) in agg
        .aggr_exprs
        .iter()
        .zip(agg.schema.fields().iter().skip(agg.group_exprs.len()))
        .enumerate()
    {
        let (func, input) = match parts[i] {
            Part::Distinct(func) => (func, column(DISTINCT_ARG)),
            Part::Partial { combine, count } => {
                let partial = format!("__partial_{i}");
                inner_aggs.push(e.unalias().clone().alias(partial.clone()));
                if count {
                    // count of no rows is 0 but the sum of no counts NULL (and a count is
                    // never NULL, which the schema says).
                    counts.push(field.name().clone());
                }
                (combine, column(&partial))
            }
        };
        outer_aggs.push(
            Expr::AggregateFunction {
                func,
                args: vec![input],
                distinct: false,
                filter: None,
            }
            .alias(field.name().clone()),
        );
    }
    let inner = Aggregate::try_new(Arc::clone(&agg.input), inner_groups, inner_aggs)?;
    let outer = Aggregate::try_new(
        Arc::new(LogicalPlan::Aggregate(inner)),
        agg.group_exprs.clone(),
        outer_aggs,
    )?;
    let out = if counts.is_empty() {
        LogicalPlan::Aggregate(outer)
    } else {
        let exprs = outer
            .schema
            .fields()
            .iter()
            .map(|(_, f)| {
                let c = column(f.name());
                if counts.contains(f.name()) {
                    Expr::ScalarFunction {
                        func: ScalarFunc::Coalesce,
                        args: vec![c, Expr::Literal(ScalarValue::Int64(Some(0)))],
                    }
                    .alias(f.name().clone())
                } else {
                    c
                }
            })
            .collect();
        LogicalPlan::Projection(Projection::try_new(
            exprs,
            Arc::new(LogicalPlan::Aggregate(outer)),
        )?)
    };
    // Only when the output is the same: names, types, and no NULLs where there were none.
    let schema = out.schema();
    let same = schema.fields().len() == agg.schema.fields().len()
        && schema
            .fields()
            .iter()
            .zip(agg.schema.fields())
            .all(|((qa, a), (qb, b))| {
                qa == qb
                    && a.name() == b.name()
                    && a.data_type() == b.data_type()
                    && (b.is_nullable() || !a.is_nullable())
            });
    Ok(same.then_some(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{assert_plan, scan};
    use rask_expr::col;

    fn agg(func: AggFunc, arg: Expr, distinct: bool) -> Expr {
        Expr::AggregateFunction {
            func,
            args: vec![arg],
            distinct,
            filter: None,
        }
    }

    #[test]
    fn distinct_aggregates_of_one_argument_become_two_aggregations() {
        let plan = scan("t")
            .aggregate(
                vec![col("a")],
                vec![
                    agg(AggFunc::Count, col("b"), true),
                    agg(AggFunc::Sum, col("b"), true).alias("s"),
                ],
            )
            .unwrap()
            .build();
        let before = Arc::clone(plan.schema());
        let out = SingleDistinctToGroupBy::new().rewrite(plan).unwrap();
        assert_plan(
            &out,
            "
Aggregate: groupBy=[a], aggr=[count(__distinct_arg) AS count(DISTINCT b), sum(__distinct_arg) AS s]
  Aggregate: groupBy=[a, b AS __distinct_arg], aggr=[]
    TableScan: t",
        );
        assert_eq!(out.schema().fields().len(), before.fields().len());
    }

    #[test]
    fn plain_aggregates_beside_one_distinct_argument_are_computed_in_two_steps() {
        // Global: count(*) of no rows is 0, so the sum of the partial counts is coalesced.
        let plan = scan("t")
            .aggregate(
                vec![],
                vec![
                    agg(AggFunc::Count, col("b"), true),
                    agg(AggFunc::Sum, col("c"), false),
                    agg(AggFunc::Max, col("c"), false),
                    Expr::AggregateFunction {
                        func: AggFunc::CountStar,
                        args: vec![],
                        distinct: false,
                        filter: None,
                    }
                    .alias("n"),
                ],
            )
            .unwrap()
            .build();
        let before = Arc::clone(plan.schema());
        let out = SingleDistinctToGroupBy::new().rewrite(plan).unwrap();
        assert_plan(
            &out,
            "
Projection: count(DISTINCT b), sum(c), max(c), coalesce(n, 0) AS n
  Aggregate: groupBy=[], aggr=[count(__distinct_arg) AS count(DISTINCT b), sum(__partial_1) AS sum(c), max(__partial_2) AS max(c), sum(__partial_3) AS n]
    Aggregate: groupBy=[b AS __distinct_arg], aggr=[sum(c) AS __partial_1, max(c) AS __partial_2, count(*) AS __partial_3]
      TableScan: t",
        );
        let after = out.schema();
        assert_eq!(after.fields().len(), before.fields().len());
        for ((_, a), (_, b)) in after.fields().iter().zip(before.fields()) {
            assert_eq!(
                (a.name(), a.data_type(), a.is_nullable()),
                (b.name(), b.data_type(), b.is_nullable())
            );
        }
    }

    #[test]
    fn mixed_or_filtered_aggregates_stay() {
        for aggs in [
            vec![
                agg(AggFunc::Count, col("b"), true),
                agg(AggFunc::Avg, col("c"), false),
            ],
            vec![
                agg(AggFunc::Count, col("b"), true),
                agg(AggFunc::Count, col("c"), true),
            ],
            vec![agg(AggFunc::Median, col("b"), true)],
        ] {
            let plan = scan("t").aggregate(vec![col("a")], aggs).unwrap().build();
            let text = plan.display_indent();
            let out = SingleDistinctToGroupBy::new().rewrite(plan).unwrap();
            assert_eq!(out.display_indent(), text);
        }
    }
}
