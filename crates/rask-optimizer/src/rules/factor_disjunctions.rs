//! Pulls the conjuncts every branch of an `OR` shares out of the `OR`.

use std::sync::Arc;

use rask_common::Result;
use rask_expr::{conjunction, split_conjunction, Expr, Filter, Join, LogicalPlan, Operator};

use crate::utils::{disjunction, split_disjunction, transform_up};
use crate::OptimizerRule;

/// Rewrites `(A AND X) OR (A AND Y)` as `A AND (X OR Y)` in every `Filter` predicate and join
/// `filter`, so that `A` becomes a conjunct of its own that filter pushdown can move (or turn
/// into a join key).
///
/// TPC-H Q19 repeats `p_partkey = l_partkey` (and two `lineitem` conditions) in each of its
/// three branches:
/// ```text
/// Filter: p_partkey = l_partkey AND p_brand = 'Brand#12' AND ... OR p_partkey = l_partkey AND ...
/// ```
/// becomes
/// ```text
/// Filter: p_partkey = l_partkey AND (p_brand = 'Brand#12' AND ... OR ...)
/// ```
/// and the join of `part` and `lineitem` gets its key instead of being a cross join.
///
/// * Conjuncts are compared structurally (`a = b` and `b = a` differ).
/// * A branch left with nothing once the common conjuncts are out makes the whole `OR` true
///   given them: `A OR (A AND X)` is `A`.
/// * Both identities hold in SQL's three-valued logic (AND and OR form a distributive lattice
///   over {false, NULL, true}), so the rewrite is exact, NULLs included.
/// * Nested disjunctions are factored too, outermost first.
///
/// Filter pushdown also derives single-input predicates implied by a disjunction (TPC-H Q7);
/// see [`crate::rules::PushDownFilter`].
#[derive(Debug, Default)]
pub struct FactorDisjunctions;

impl FactorDisjunctions {
    /// The rule.
    pub fn new() -> Self {
        FactorDisjunctions
    }
}

impl OptimizerRule for FactorDisjunctions {
    fn name(&self) -> &str {
        "factor_disjunctions"
    }

    fn rewrite(&self, plan: Arc<LogicalPlan>) -> Result<Arc<LogicalPlan>> {
        transform_up(plan, &mut |plan| {
            Ok(match plan.as_ref() {
                LogicalPlan::Filter(f) => {
                    let predicate = factor_expr(f.predicate.clone())?;
                    if predicate == f.predicate {
                        plan
                    } else {
                        Arc::new(LogicalPlan::Filter(Filter::try_new(
                            predicate,
                            Arc::clone(&f.input),
                        )?))
                    }
                }
                LogicalPlan::Join(j) => match &j.filter {
                    Some(old) => {
                        let filter = factor_expr(old.clone())?;
                        if &filter == old {
                            plan
                        } else {
                            Arc::new(LogicalPlan::Join(Join::try_new(
                                Arc::clone(&j.left),
                                Arc::clone(&j.right),
                                j.on.clone(),
                                Some(filter),
                                j.join_type,
                            )?))
                        }
                    }
                    None => plan,
                },
                _ => plan,
            })
        })
    }
}

/// `expr` with the common conjuncts of every disjunction in it factored out (its top-level
/// conjunction flattened, so that pushdown sees each factored conjunct on its own).
pub(crate) fn factor_expr(expr: Expr) -> Result<Expr> {
    let factored = expr
        .clone()
        .transform_down(&mut |e| Ok((factor_or(e), true)))?;
    if factored == expr {
        return Ok(expr);
    }
    let flat = split_conjunction(&factored).into_iter().cloned();
    Ok(conjunction(flat).expect("at least one conjunct"))
}

/// One disjunction with its common conjuncts factored out (anything else unchanged).
fn factor_or(e: Expr) -> Expr {
    if !matches!(
        e,
        Expr::BinaryExpr {
            op: Operator::Or,
            ..
        }
    ) {
        return e;
    }
    let branches: Vec<Vec<&Expr>> = split_disjunction(&e)
        .into_iter()
        .map(split_conjunction)
        .collect();
    let mut common: Vec<Expr> = vec![];
    for c in &branches[0] {
        if branches[1..].iter().all(|b| b.contains(c)) && !common.contains(*c) {
            common.push((*c).clone());
        }
    }
    if common.is_empty() {
        return e;
    }
    let mut rests = Vec::with_capacity(branches.len());
    for b in &branches {
        let rest = b
            .iter()
            .filter(|c| !common.contains(c))
            .map(|c| (*c).clone());
        match conjunction(rest) {
            Some(r) => {
                if !rests.contains(&r) {
                    rests.push(r);
                }
            }
            // This branch is the common part alone: the disjunction is implied by it.
            None => return conjunction(common).expect("non-empty"),
        }
    }
    let rest = disjunction(rests).expect("two or more branches");
    conjunction(common.into_iter().chain([rest])).expect("non-empty")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{assert_rule, cross, join, scan, table};
    use rask_expr::{col, lit, JoinType};

    fn check(plan: Arc<LogicalPlan>, expected: &str) {
        assert_rule(&FactorDisjunctions::new(), plan, expected);
    }

    #[test]
    fn common_conjunct_moves_out() {
        let plan = scan("t")
            .filter(
                col("a")
                    .eq(col("b"))
                    .and(col("c").eq(lit(1i64)))
                    .or(col("a").eq(col("b")).and(col("c").eq(lit(2i64))))
                    .or(col("d").gt(lit(0i64)).and(col("a").eq(col("b")))),
            )
            .unwrap()
            .build();
        check(
            plan,
            "
Filter: a = b AND (c = 1 OR c = 2 OR d > 0)
  TableScan: t",
        );
    }

    #[test]
    fn absorbed_branch_leaves_the_common_part() {
        // (a = 1 AND b = 2) OR a = 1  →  a = 1
        let plan = scan("t")
            .filter(
                col("a")
                    .eq(lit(1i64))
                    .and(col("b").eq(lit(2i64)))
                    .or(col("a").eq(lit(1i64))),
            )
            .unwrap()
            .build();
        check(
            plan,
            "
Filter: a = 1
  TableScan: t",
        );
    }

    #[test]
    fn nothing_common_nothing_changes() {
        let pred = col("a")
            .eq(lit(1i64))
            .and(col("b").eq(lit(2i64)))
            .or(col("a").eq(lit(2i64)).and(col("b").eq(lit(1i64))));
        let plan = scan("t").filter(pred).unwrap().build();
        let out = FactorDisjunctions::new()
            .rewrite(Arc::clone(&plan))
            .unwrap();
        assert!(Arc::ptr_eq(&plan, &out));
    }

    #[test]
    fn nested_disjunction_inside_a_conjunction() {
        let plan = scan("t")
            .filter(
                col("s").eq(lit("x")).and(
                    col("a")
                        .gt(lit(1i64))
                        .and(col("b").lt(lit(1i64)))
                        .or(col("a").gt(lit(1i64)).and(col("c").lt(lit(1i64)))),
                ),
            )
            .unwrap()
            .build();
        check(
            plan,
            "
Filter: s = 'x' AND a > 1 AND (b < 1 OR c < 1)
  TableScan: t",
        );
    }

    #[test]
    fn q19_join_condition_becomes_a_conjunct() {
        let l = table("lineitem", &["l_partkey", "l_quantity"], None);
        let p = table("part", &["p_partkey", "p_size"], None);
        let branch = |lo: i64, size: i64| {
            col("p_partkey")
                .eq(col("l_partkey"))
                .and(col("l_quantity").gt_eq(lit(lo)))
                .and(col("p_size").lt_eq(lit(size)))
        };
        let plan = cross(l, p)
            .filter(branch(1, 5).or(branch(10, 10)).or(branch(20, 15)))
            .unwrap()
            .build();
        check(
            plan,
            "
Filter: p_partkey = l_partkey AND (l_quantity >= 1 AND p_size <= 5 OR l_quantity >= 10 AND p_size <= 10 OR l_quantity >= 20 AND p_size <= 15)
  CrossJoin: Inner
    TableScan: lineitem
    TableScan: part",
        );
    }

    #[test]
    fn join_filter_is_factored() {
        let plan = join(
            scan("t"),
            table("u", &["x", "y"], None),
            vec![],
            Some(
                col("t.a")
                    .eq(col("u.x"))
                    .and(col("u.y").eq(lit(1i64)))
                    .or(col("t.a").eq(col("u.x")).and(col("u.y").eq(lit(2i64)))),
            ),
            JoinType::Left,
        )
        .build();
        check(
            plan,
            "
Join: Left on=[] filter=t.a = u.x AND (u.y = 1 OR u.y = 2)
  TableScan: t
  TableScan: u",
        );
    }
}
