//! The [`OptimizerRule`] trait and the [`Optimizer`] driver that runs rules in order.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rask_common::{Error, Result};
use rask_expr::{LogicalPlan, PlanSchema};

use crate::rules::{
    CommonSubexprEliminate, FactorDisjunctions, ProjectionPruning, PushDownFilter, PushDownLimit,
    ReorderJoins, SimplifyExpressions, SingleDistinctToGroupBy,
};

/// One logical rewrite. A rule must return a plan with the same result and the same output
/// schema (column names and types; nullability may only get tighter) as the plan it was given.
/// When nothing applies it returns the plan unchanged (ideally the same `Arc`).
pub trait OptimizerRule: Send + Sync {
    /// The rule's name, `snake_case` like its file (`"push_down_filter"`).
    fn name(&self) -> &str;
    /// Rewrites the whole plan.
    ///
    /// # Errors
    /// Only for plans the rule cannot rebuild (a bug); a rule that does not apply is not an error.
    fn rewrite(&self, plan: Arc<LogicalPlan>) -> Result<Arc<LogicalPlan>>;
}

/// How long one rule took in one [`Optimizer::optimize_with_timings`] call (for `EXPLAIN
/// VERBOSE`).
#[derive(Debug, Clone, PartialEq)]
pub struct RuleTiming {
    /// The rule's [`OptimizerRule::name`].
    pub rule: String,
    /// Wall time the rule took.
    pub elapsed: Duration,
}

/// Runs an ordered list of [`OptimizerRule`]s once over a plan, checking after each that the
/// output schema is unchanged.
#[derive(Clone)]
pub struct Optimizer {
    rules: Vec<Arc<dyn OptimizerRule>>,
}

impl std::fmt::Debug for Optimizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.rules.iter().map(|r| r.name()))
            .finish()
    }
}

impl Default for Optimizer {
    fn default() -> Self {
        Self::new()
    }
}

impl Optimizer {
    /// The default rule list. The order matters; each constraint is noted beside the rule.
    pub fn new() -> Self {
        let rules: Vec<Arc<dyn OptimizerRule>> = vec![
            // First: fold constants and simplify predicates, so that pushdown sees
            // `a > 5` rather than `a > 2 + 3` and drops `AND true` conjuncts.
            Arc::new(SimplifyExpressions::new()),
            // Before filter pushdown: `(A AND X) OR (A AND Y)` → `A AND (X OR Y)` gives pushdown
            // a conjunct `A` of its own to move (TPC-H Q19's join key). After simplification,
            // so that equal conjuncts are spelled the same way.
            Arc::new(FactorDisjunctions::new()),
            // Moves predicates towards the scans (and copies them into TableScan.filters as
            // pruning hints); turns comma joins under a WHERE into keyed inner joins, outer
            // joins into inner ones where the WHERE rejects their NULLs. Must run before limit
            // pushdown: a Limit blocks filters.
            Arc::new(PushDownFilter::new()),
            // Again: substituting projected expressions into pushed predicates creates new
            // constant subtrees and redundant casts.
            Arc::new(SimplifyExpressions::new()),
            // After filter pushdown, which is what connects the relations of a comma join with
            // keys and puts the filters (that the row estimates count) onto the relations.
            // Before pruning, which must see the final tree's keys and filters.
            Arc::new(ReorderJoins::new()),
            // After simplification, so that equal subexpressions are spelled the same way.
            // Before projection pruning, which then drops the pass-through columns of the
            // projection CSE adds that nobody reads.
            Arc::new(CommonSubexprEliminate::new()),
            // After filter pushdown (a pushed Limit would block filters) and before pruning.
            Arc::new(PushDownLimit::new()),
            // `count(DISTINCT x)` as two plain (parallel, spillable) aggregations. Before
            // pruning, which then narrows the inner aggregation's input.
            Arc::new(SingleDistinctToGroupBy::new()),
            // Last: it must see every expression that any other rule added or moved, so that the
            // scans read exactly the columns still needed.
            Arc::new(ProjectionPruning::new()),
        ];
        Optimizer { rules }
    }

    /// An optimizer running exactly `rules`, in order.
    pub fn with_rules(rules: Vec<Arc<dyn OptimizerRule>>) -> Self {
        Optimizer { rules }
    }

    /// The rules, in the order they run.
    pub fn rules(&self) -> &[Arc<dyn OptimizerRule>] {
        &self.rules
    }

    /// Runs every rule once, in order.
    ///
    /// # Errors
    /// An error from a rule, or [`Error::Internal`] naming the rule when one changed the output
    /// schema's column names or types.
    pub fn optimize(&self, plan: Arc<LogicalPlan>) -> Result<Arc<LogicalPlan>> {
        Ok(self.optimize_with_timings(plan)?.0)
    }

    /// Like [`Self::optimize`], also returning how long each rule took.
    ///
    /// # Errors
    /// As [`Self::optimize`].
    pub fn optimize_with_timings(
        &self,
        plan: Arc<LogicalPlan>,
    ) -> Result<(Arc<LogicalPlan>, Vec<RuleTiming>)> {
        let mut plan = plan;
        let mut timings = Vec::with_capacity(self.rules.len());
        for rule in &self.rules {
            let before = Arc::clone(plan.schema());
            let start = Instant::now();
            plan = rule
                .rewrite(plan)
                .map_err(|e| e.context(format!("optimizer rule '{}'", rule.name())))?;
            timings.push(RuleTiming {
                rule: rule.name().to_string(),
                elapsed: start.elapsed(),
            });
            check_schema(rule.name(), &before, plan.schema())?;
        }
        Ok((plan, timings))
    }
}

/// Checks that `after` has the same column names and types as `before`.
fn check_schema(rule: &str, before: &PlanSchema, after: &PlanSchema) -> Result<()> {
    let same = before.len() == after.len()
        && (0..before.len()).all(|i| {
            let (b, a) = (before.field(i), after.field(i));
            b.name() == a.name() && b.data_type() == a.data_type()
        });
    if same {
        Ok(())
    } else {
        Err(Error::Internal(format!(
            "optimizer rule '{rule}' changed the plan's output schema from [{before}] to [{after}]"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{assert_plan, scan};
    use rask_expr::{col, lit, AggFunc, Expr, LogicalPlanBuilder};

    #[derive(Debug)]
    struct RenameFirstColumn;

    impl OptimizerRule for RenameFirstColumn {
        fn name(&self) -> &str {
            "rename_first_column"
        }
        fn rewrite(&self, plan: Arc<LogicalPlan>) -> Result<Arc<LogicalPlan>> {
            LogicalPlanBuilder::from(plan)
                .project(vec![col("a").alias("renamed")])
                .map(|b| b.build())
        }
    }

    #[test]
    fn schema_change_is_an_internal_error_naming_the_rule() {
        let plan = scan("t").project(vec![col("a")]).unwrap().build();
        let err = Optimizer::with_rules(vec![Arc::new(RenameFirstColumn)])
            .optimize(plan)
            .unwrap_err();
        assert!(matches!(err, Error::Internal(_)), "{err}");
        assert!(err.to_string().contains("rename_first_column"), "{err}");
    }

    #[test]
    fn default_rules_in_order() {
        let opt = Optimizer::new();
        let names: Vec<&str> = opt.rules().iter().map(|r| r.name()).collect();
        assert_eq!(
            names,
            [
                "simplify_expressions",
                "factor_disjunctions",
                "push_down_filter",
                "simplify_expressions",
                "reorder_joins",
                "common_subexpr_eliminate",
                "push_down_limit",
                "single_distinct_to_groupby",
                "projection_pruning"
            ]
        );
        let (_, timings) = opt.optimize_with_timings(scan("t").build()).unwrap();
        assert_eq!(timings.len(), 9);
    }

    #[test]
    fn end_to_end() {
        // SELECT a + 1 AS x FROM t WHERE b > 1 + 1 AND true ORDER BY x LIMIT 3
        let plan = scan("t")
            .filter(col("b").gt(lit(1i64).add(lit(1i64))).and(lit(true)))
            .unwrap()
            .project(vec![col("a").add(lit(1i64)).alias("x")])
            .unwrap()
            .sort(vec![rask_expr::SortExpr::new(col("x"), true)])
            .unwrap()
            .limit(0, Some(3))
            .build();
        let out = Optimizer::new().optimize(plan).unwrap();
        assert_plan(
            &out,
            "
Limit: skip=0, fetch=3
  Sort: x ASC NULLS LAST fetch=3
    Projection: a + 1 AS x
      Filter: b > 2
        TableScan: t projection=[a, b] filters=[b > 2]",
        );
    }

    #[test]
    fn count_star_over_filter_reads_the_filter_column_only() {
        let count = Expr::AggregateFunction {
            func: AggFunc::CountStar,
            args: vec![],
            distinct: false,
            filter: None,
        };
        let plan = scan("t")
            .filter(col("c").lt(lit(3i64)))
            .unwrap()
            .aggregate(vec![], vec![count])
            .unwrap()
            .build();
        let out = Optimizer::new().optimize(plan).unwrap();
        assert_plan(
            &out,
            "
Aggregate: groupBy=[], aggr=[count(*)]
  Filter: c < 3
    TableScan: t projection=[c] filters=[c < 3]",
        );
    }

    #[test]
    fn subquery_with_unused_columns() {
        // SELECT u.x FROM (SELECT a + 1 AS x, b * 2 AS y, s FROM t) u WHERE u.s = 'k' AND u.y > 4
        let plan = scan("t")
            .project(vec![
                col("a").add(lit(1i64)).alias("x"),
                col("b").mul(lit(2i64)).alias("y"),
                col("s"),
            ])
            .unwrap()
            .alias("u")
            .filter(col("u.s").eq(lit("k")).and(col("u.y").gt(lit(4i64))))
            .unwrap()
            .project(vec![col("u.x")])
            .unwrap()
            .build();
        let opt = Optimizer::new();
        let out = opt.optimize(plan).unwrap();
        // The outer projection selects exactly u's one remaining column, so it goes.
        let expected = "
SubqueryAlias: u
  Projection: a + 1 AS x
    Filter: s = 'k' AND b * 2 > 4
      TableScan: t projection=[a, b, s] filters=[s = 'k', b * 2 > 4]";
        assert_plan(&out, expected);
        // A second run finds nothing more to do.
        assert_plan(&opt.optimize(out).unwrap(), expected);
    }

    #[test]
    fn q1_like_aggregate() {
        // SELECT c, sum(a * (1 - b)), sum(a * (1 - b) * (1 + d)), count(*) FROM t GROUP BY c
        let disc = col("a").mul(lit(1i64).sub(col("b")));
        let agg = |e: Expr| Expr::AggregateFunction {
            func: AggFunc::Sum,
            args: vec![e],
            distinct: false,
            filter: None,
        };
        let count = Expr::AggregateFunction {
            func: AggFunc::CountStar,
            args: vec![],
            distinct: false,
            filter: None,
        };
        let plan = scan("t")
            .aggregate(
                vec![col("c")],
                vec![
                    agg(disc.clone()),
                    agg(disc.mul(lit(1i64).add(col("d")))),
                    count,
                ],
            )
            .unwrap()
            .build();
        let out = Optimizer::new().optimize(Arc::clone(&plan)).unwrap();
        assert_plan(
            &out,
            "
Aggregate: groupBy=[c], aggr=[sum(__cse_1) AS sum(a * (1 - b)), sum(__cse_1 * (1 + d)) AS sum(a * (1 - b) * (1 + d)), count(*)]
  Projection: t.c, t.d, a * (1 - b) AS __cse_1
    TableScan: t projection=[a, b, c, d]",
        );
        assert_eq!(out.schema().arrow_schema(), plan.schema().arrow_schema());
    }

    // ---- joins through the whole pipeline ----

    use crate::test_util::{cross, table};

    /// Optimizes `plan` twice, checks the second run agrees with the first and that no cross
    /// join is left, and returns the first result.
    fn optimize_joins(plan: Arc<LogicalPlan>) -> Arc<LogicalPlan> {
        let opt = Optimizer::new();
        let out = opt.optimize(Arc::clone(&plan)).unwrap();
        let again = opt.optimize(Arc::clone(&out)).unwrap();
        assert_eq!(out.schema().arrow_schema(), plan.schema().arrow_schema());
        assert_eq!(again.schema().arrow_schema(), plan.schema().arrow_schema());
        let text = out.display_indent();
        assert!(!text.contains("CrossJoin"), "{text}");
        assert_eq!(
            text,
            again.display_indent(),
            "a second run changed the plan"
        );
        out
    }

    #[test]
    fn q19_like_or_of_conjunctions_gets_a_key() {
        let l = table(
            "lineitem",
            &["l_partkey", "l_quantity", "l_shipflag"],
            Some(6_000),
        );
        let p = table("part", &["p_partkey", "p_brandname", "p_size"], Some(200));
        let branch = |brand: &str, lo: i64, size: i64| {
            col("p_partkey")
                .eq(col("l_partkey"))
                .and(col("p_brandname").eq(lit(brand)))
                .and(col("l_quantity").gt_eq(lit(lo)))
                .and(col("p_size").between(lit(1i64), lit(size)))
                .and(col("l_shipflag").eq(lit("AIR")))
        };
        let plan = cross(l, p)
            .filter(
                branch("B12", 1, 5)
                    .or(branch("B23", 10, 10))
                    .or(branch("B34", 20, 15)),
            )
            .unwrap()
            .aggregate(vec![], vec![count_star()])
            .unwrap()
            .build();
        let out = optimize_joins(plan);
        // The estimates (0.1 per equality with a string literal and per other conjunct) make
        // the filtered part the smaller side: it is the build side.
        assert_plan(
            &out,
            "
Aggregate: groupBy=[], aggr=[count(*)]
  Join: Inner on=[lineitem.l_partkey = part.p_partkey] filter=part.p_brandname = 'B12' AND lineitem.l_quantity >= 1 AND part.p_size BETWEEN 1 AND 5 OR part.p_brandname = 'B23' AND lineitem.l_quantity >= 10 AND part.p_size BETWEEN 1 AND 10 OR part.p_brandname = 'B34' AND lineitem.l_quantity >= 20 AND part.p_size BETWEEN 1 AND 15
    Filter: l_shipflag = 'AIR' AND (l_quantity >= 1 OR l_quantity >= 10 OR l_quantity >= 20)
      TableScan: lineitem filters=[l_shipflag = 'AIR', l_quantity >= 1 OR l_quantity >= 10 OR l_quantity >= 20]
    Filter: p_brandname = 'B12' AND p_size BETWEEN 1 AND 5 OR p_brandname = 'B23' AND p_size BETWEEN 1 AND 10 OR p_brandname = 'B34' AND p_size BETWEEN 1 AND 15
      TableScan: part filters=[p_brandname = 'B12' AND p_size BETWEEN 1 AND 5 OR p_brandname = 'B23' AND p_size BETWEEN 1 AND 10 OR p_brandname = 'B34' AND p_size BETWEEN 1 AND 15]",
        );
    }

    fn count_star() -> Expr {
        Expr::AggregateFunction {
            func: AggFunc::CountStar,
            args: vec![],
            distinct: false,
            filter: None,
        }
    }

    #[test]
    fn q7_like_six_table_comma_join() {
        // FROM supplier, lineitem, orders, customer, nation n1, nation n2
        let s = table("supplier", &["s_suppkey", "s_nationkey"], Some(100));
        let l = table(
            "lineitem",
            &["l_orderkey", "l_suppkey", "l_shipdate"],
            Some(60_000),
        );
        let o = table("orders", &["o_orderkey", "o_custkey"], Some(15_000));
        let c = table("customer", &["c_custkey", "c_nationkey"], Some(1_500));
        let nation = || table("nation", &["n_nationkey", "n_name"], Some(25));
        let or = col("n1.n_name")
            .eq(lit("FRANCE"))
            .and(col("n2.n_name").eq(lit("GERMANY")))
            .or(col("n1.n_name")
                .eq(lit("GERMANY"))
                .and(col("n2.n_name").eq(lit("FRANCE"))));
        let plan = cross(
            cross(cross(cross(cross(s, l), o), c), nation().alias("n1")),
            nation().alias("n2"),
        )
        .filter(
            col("s_suppkey")
                .eq(col("l_suppkey"))
                .and(col("o_orderkey").eq(col("l_orderkey")))
                .and(col("c_custkey").eq(col("o_custkey")))
                .and(col("s_nationkey").eq(col("n1.n_nationkey")))
                .and(col("c_nationkey").eq(col("n2.n_nationkey")))
                .and(or)
                .and(col("l_shipdate").between(lit(19950101i64), lit(19961231i64))),
        )
        .unwrap()
        .project(vec![
            col("n1.n_name").alias("supp_nation"),
            col("n2.n_name").alias("cust_nation"),
            col("l_shipdate"),
        ])
        .unwrap()
        .build();
        let out = optimize_joins(plan);
        // The cheapest tree by the estimates (bushy): the customers of the two nations are
        // built apart, lineitem probes the suppliers of the two nations, and orders probes
        // that. Every scan reads all its columns (no projection=[...]).
        assert_plan(
            &out,
            "
Projection: n1.n_name AS supp_nation, n2.n_name AS cust_nation, l_shipdate
  Join: Inner on=[orders.o_custkey = customer.c_custkey] filter=n1.n_name = 'FRANCE' AND n2.n_name = 'GERMANY' OR n1.n_name = 'GERMANY' AND n2.n_name = 'FRANCE'
    Join: Inner on=[orders.o_orderkey = lineitem.l_orderkey]
      TableScan: orders
      Join: Inner on=[lineitem.l_suppkey = supplier.s_suppkey]
        Filter: l_shipdate BETWEEN 19950101 AND 19961231
          TableScan: lineitem filters=[l_shipdate BETWEEN 19950101 AND 19961231]
        Join: Inner on=[supplier.s_nationkey = n1.n_nationkey]
          TableScan: supplier
          SubqueryAlias: n1
            Filter: nation.n_name IN ('FRANCE', 'GERMANY')
              TableScan: nation filters=[nation.n_name IN ('FRANCE', 'GERMANY')]
    Join: Inner on=[customer.c_nationkey = n2.n_nationkey]
      TableScan: customer
      SubqueryAlias: n2
        Filter: nation.n_name IN ('GERMANY', 'FRANCE')
          TableScan: nation filters=[nation.n_name IN ('GERMANY', 'FRANCE')]",
        );
    }
}
