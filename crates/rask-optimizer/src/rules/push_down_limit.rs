//! Moves `LIMIT` towards the scans and turns `ORDER BY … LIMIT` into a Top-K sort.

use std::sync::Arc;

use rask_common::Result;
use rask_expr::{Limit, LogicalPlan, Projection, Sort, SubqueryAlias, Union};

use crate::utils::map_inputs;
use crate::OptimizerRule;

/// Pushes limits down and removes no-op limits.
///
/// With `n = skip + fetch` (the rows a limit reads from its input):
///
/// * `Limit` over `Sort`: the sort keeps only its first `n` rows (Top-K); the `Limit` stays to
///   apply `skip`.
///   ```text
///   Limit: skip=10, fetch=5          Limit: skip=10, fetch=5
///     Sort: a ASC              →       Sort: a ASC fetch=15
///   ```
/// * `Limit` over `Projection` or `SubqueryAlias`: the limit moves below it (fewer rows to
///   project), then keeps going.
/// * `Limit` over `TableScan` (nothing in between): `TableScan.fetch = n`; the `Limit` stays.
///   Not when the scan has pruning `filters`, which would change which rows come first.
/// * `Limit` over `Union`: each input gets `Limit: skip=0, fetch=n`; the outer one stays.
/// * `Limit` over `Limit`: merged into one.
/// * `Limit: skip=0, fetch=None`: removed.
///
/// Limits never pass a `Filter`, `Aggregate`, `Distinct`, `Join` or `Sort` (other than into its
/// fetch). (A `Left` join could take one on its left input; not done.)
#[derive(Debug, Default)]
pub struct PushDownLimit;

impl PushDownLimit {
    /// The rule.
    pub fn new() -> Self {
        PushDownLimit
    }
}

impl OptimizerRule for PushDownLimit {
    fn name(&self) -> &str {
        "push_down_limit"
    }

    fn rewrite(&self, plan: Arc<LogicalPlan>) -> Result<Arc<LogicalPlan>> {
        optimize(plan)
    }
}

fn optimize(plan: Arc<LogicalPlan>) -> Result<Arc<LogicalPlan>> {
    match plan.as_ref() {
        LogicalPlan::Limit(l) => push_limit(l),
        _ => map_inputs(plan, &mut optimize),
    }
}

fn min_fetch(a: Option<usize>, b: usize) -> usize {
    a.map_or(b, |a| a.min(b))
}

/// The plan for `l`, with the limit pushed into its input (which is optimized too).
fn push_limit(l: &Limit) -> Result<Arc<LogicalPlan>> {
    let (skip, fetch) = (l.skip, l.fetch);
    if skip == 0 && fetch.is_none() {
        return optimize(Arc::clone(&l.input));
    }
    let keep = |input: Arc<LogicalPlan>| Arc::new(LogicalPlan::Limit(Limit { skip, fetch, input }));
    let Some(fetch_n) = fetch else {
        // OFFSET only: nothing below can stop early.
        return Ok(keep(optimize(Arc::clone(&l.input))?));
    };
    let n = skip.saturating_add(fetch_n);
    Ok(match l.input.as_ref() {
        LogicalPlan::Limit(inner) => {
            // The inner limit yields rows [s1, s1 + f1) of its input; this one takes rows
            // [skip, skip + fetch) of those.
            let merged_fetch = match inner.fetch {
                Some(f1) => f1.saturating_sub(skip).min(fetch_n),
                None => fetch_n,
            };
            let merged = Limit {
                skip: inner.skip.saturating_add(skip),
                fetch: Some(merged_fetch),
                input: Arc::clone(&inner.input),
            };
            return push_limit(&merged);
        }
        LogicalPlan::Sort(s) => {
            let sort = Sort {
                exprs: s.exprs.clone(),
                input: optimize(Arc::clone(&s.input))?,
                fetch: Some(min_fetch(s.fetch, n)),
            };
            keep(Arc::new(LogicalPlan::Sort(sort)))
        }
        LogicalPlan::Projection(p) => {
            let below = push_limit(&Limit {
                skip,
                fetch,
                input: Arc::clone(&p.input),
            })?;
            Arc::new(LogicalPlan::Projection(Projection::try_new(
                p.exprs.clone(),
                below,
            )?))
        }
        LogicalPlan::SubqueryAlias(a) => {
            let below = push_limit(&Limit {
                skip,
                fetch,
                input: Arc::clone(&a.input),
            })?;
            Arc::new(LogicalPlan::SubqueryAlias(SubqueryAlias::new(
                below, &a.alias,
            )))
        }
        LogicalPlan::TableScan(s) if s.filters.is_empty() => {
            let mut scan = s.clone();
            scan.fetch = Some(min_fetch(s.fetch, n));
            keep(Arc::new(LogicalPlan::TableScan(scan)))
        }
        LogicalPlan::Union(u) => {
            let inputs = u
                .inputs
                .iter()
                .map(|inp| {
                    push_limit(&Limit {
                        skip: 0,
                        fetch: Some(n),
                        input: Arc::clone(inp),
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            keep(Arc::new(LogicalPlan::Union(Union {
                inputs,
                schema: Arc::clone(&u.schema),
            })))
        }
        _ => keep(optimize(Arc::clone(&l.input))?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{assert_rule, scan};
    use rask_expr::{col, lit, LogicalPlanBuilder, SortExpr};

    fn check(plan: Arc<LogicalPlan>, expected: &str) {
        assert_rule(&PushDownLimit::new(), plan, expected);
    }

    #[test]
    fn limit_over_sort_becomes_top_k() {
        let plan = scan("t")
            .sort(vec![SortExpr::new(col("a"), false)])
            .unwrap()
            .limit(10, Some(5))
            .build();
        check(
            plan,
            "
Limit: skip=10, fetch=5
  Sort: a DESC NULLS FIRST fetch=15
    TableScan: t",
        );
    }

    #[test]
    fn limit_through_projection_into_scan() {
        let plan = scan("t")
            .project(vec![col("a").add(lit(1i64))])
            .unwrap()
            .limit(0, Some(5))
            .build();
        check(
            plan,
            "
Projection: a + 1
  Limit: skip=0, fetch=5
    TableScan: t fetch=5",
        );
    }

    #[test]
    fn not_into_scan_with_filters_nor_past_filter() {
        let plan = scan("t")
            .filter(col("a").gt(lit(1i64)))
            .unwrap()
            .limit(0, Some(5))
            .build();
        check(
            plan,
            "
Limit: skip=0, fetch=5
  Filter: a > 1
    TableScan: t",
        );
        let mut s = rask_expr::TableScan::try_new("t", crate::test_util::source()).unwrap();
        s.filters = vec![col("a").gt(lit(1i64))];
        let plan = LogicalPlanBuilder::from(LogicalPlan::TableScan(s))
            .limit(0, Some(5))
            .build();
        check(
            plan,
            "
Limit: skip=0, fetch=5
  TableScan: t filters=[a > 1]",
        );
    }

    #[test]
    fn limit_into_union_inputs() {
        let plan = scan("t")
            .union(scan("v").build())
            .unwrap()
            .limit(2, Some(3))
            .build();
        check(
            plan,
            "
Limit: skip=2, fetch=3
  Union
    Limit: skip=0, fetch=5
      TableScan: t fetch=5
    Limit: skip=0, fetch=5
      TableScan: v fetch=5",
        );
    }

    #[test]
    fn adjacent_limits_merge() {
        // rows [3, 13) then [2, 7) of those = rows [5, 10)
        let plan = scan("t")
            .filter(col("a").gt(lit(1i64)))
            .unwrap()
            .limit(3, Some(10))
            .limit(2, Some(5))
            .build();
        check(
            plan,
            "
Limit: skip=5, fetch=5
  Filter: a > 1
    TableScan: t",
        );
        // The outer fetch reaches past the inner one: [0, 4) then [2, 12) = rows [2, 4).
        let plan = scan("t")
            .filter(col("a").gt(lit(1i64)))
            .unwrap()
            .limit(0, Some(4))
            .limit(2, Some(10))
            .build();
        check(
            plan,
            "
Limit: skip=2, fetch=2
  Filter: a > 1
    TableScan: t",
        );
    }

    #[test]
    fn no_op_limit_is_removed_and_offset_only_stays() {
        let plan = scan("t").limit(0, None).build();
        check(plan, "TableScan: t");
        let plan = scan("t").limit(3, None).build();
        check(
            plan,
            "
Limit: skip=3, fetch=None
  TableScan: t",
        );
    }

    #[test]
    fn through_alias_and_into_existing_top_k() {
        let sort = LogicalPlan::Sort(Sort {
            exprs: vec![SortExpr::new(col("a"), true)],
            input: scan("t").build(),
            fetch: Some(4),
        });
        let plan = LogicalPlanBuilder::from(sort)
            .alias("u")
            .limit(0, Some(10))
            .build();
        check(
            plan,
            "
SubqueryAlias: u
  Limit: skip=0, fetch=10
    Sort: a ASC NULLS LAST fetch=4
      TableScan: t",
        );
    }

    #[test]
    fn not_past_aggregate() {
        let plan = scan("t")
            .aggregate(vec![col("a")], vec![])
            .unwrap()
            .limit(0, Some(1))
            .build();
        check(
            plan,
            "
Limit: skip=0, fetch=1
  Aggregate: groupBy=[a], aggr=[]
    TableScan: t",
        );
    }

    #[test]
    fn not_into_join_inputs() {
        use crate::test_util::{join, table};
        let plan = join(
            scan("t"),
            table("u", &["x"], None),
            vec![(col("t.a"), col("u.x"))],
            None,
            rask_expr::JoinType::Left,
        )
        .limit(0, Some(5))
        .build();
        check(
            plan,
            "
Limit: skip=0, fetch=5
  Join: Left on=[t.a = u.x]
    TableScan: t
    TableScan: u",
        );
    }
}
