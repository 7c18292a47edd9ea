//! Turns aggregates that all read the same `DISTINCT` argument into two aggregations.

use std::sync::Arc;

use rask_common::Result;
use rask_expr::{AggFunc, Aggregate, Column, Expr, LogicalPlan};

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

/// The single distinct argument of `agg`'s aggregates, if the rule applies.
fn distinct_arg(agg: &Aggregate) -> Option<&Expr> {
    if agg.aggr_exprs.is_empty() || !agg.group_exprs.iter().all(|g| matches!(g, Expr::Column(_))) {
        return None;
    }
    let mut arg: Option<&Expr> = None;
    for e in &agg.aggr_exprs {
        let Expr::AggregateFunction {
            func,
            args,
            distinct: true,
            filter: None,
        } = e.unalias()
        else {
            return None;
        };
        if !matches!(
            func,
            AggFunc::Count | AggFunc::Sum | AggFunc::Avg | AggFunc::Min | AggFunc::Max
        ) || args.len() != 1
        {
            return None;
        }
        match arg {
            None => arg = Some(&args[0]),
            Some(a) if *a == args[0] => {}
            Some(_) => return None,
        }
    }
    arg
}

fn rewrite(agg: &Aggregate) -> Result<Option<LogicalPlan>> {
    let Some(arg) = distinct_arg(agg) else {
        return Ok(None);
    };
    let mut inner_groups = agg.group_exprs.clone();
    inner_groups.push(arg.clone().alias(DISTINCT_ARG));
    let inner = Aggregate::try_new(Arc::clone(&agg.input), inner_groups, vec![])?;
    let distinct_col = Expr::Column(Column {
        relation: None,
        name: DISTINCT_ARG.to_string(),
    });
    let mut outer_aggs = Vec::with_capacity(agg.aggr_exprs.len());
    for (e, (_, field)) in agg
        .aggr_exprs
        .iter()
        .zip(agg.schema.fields().iter().skip(agg.group_exprs.len()))
    {
        let Expr::AggregateFunction { func, .. } = e.unalias() else {
            return Ok(None);
        };
        outer_aggs.push(
            Expr::AggregateFunction {
                func: *func,
                args: vec![distinct_col.clone()],
                distinct: false,
                filter: None,
            }
            .alias(field.name().clone()),
        );
    }
    let outer = Aggregate::try_new(
        Arc::new(LogicalPlan::Aggregate(inner)),
        agg.group_exprs.clone(),
        outer_aggs,
    )?;
    // Only when the output is exactly the same (names, types, nullability aside).
    let same = outer.schema.fields().len() == agg.schema.fields().len()
        && outer
            .schema
            .fields()
            .iter()
            .zip(agg.schema.fields())
            .all(|((qa, a), (qb, b))| {
                qa == qb && a.name() == b.name() && a.data_type() == b.data_type()
            });
    Ok(same.then_some(LogicalPlan::Aggregate(outer)))
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
    fn mixed_or_filtered_aggregates_stay() {
        for aggs in [
            vec![
                agg(AggFunc::Count, col("b"), true),
                agg(AggFunc::Sum, col("c"), false),
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
