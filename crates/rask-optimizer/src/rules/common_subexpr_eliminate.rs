//! Computes repeated subexpressions of a projection or an aggregate once.

use std::collections::HashMap;
use std::sync::Arc;

use rask_common::Result;
use rask_expr::{Aggregate, Column, Expr, LogicalPlan, PlanSchema, Projection};

use crate::utils::{column_at, preserve_name, transform_up};
use crate::OptimizerRule;

/// Finds subexpressions that occur at least twice among the expressions of one `Projection` or
/// `Aggregate`, computes each once in a new projection below the node, and reads it from there.
///
/// TPC-H Q1 repeats `l_extendedprice * (1 - l_discount)`:
/// ```text
/// Aggregate: groupBy=[l_returnflag], aggr=[sum(l_extendedprice * (1 - l_discount)),
///                                          sum(l_extendedprice * (1 - l_discount) * (1 + l_tax))]
///   TableScan: lineitem
/// ```
/// becomes
/// ```text
/// Aggregate: groupBy=[l_returnflag], aggr=[sum(__cse_1) AS sum(l_extendedprice * (1 - l_discount)),
///                                          sum(__cse_1 * (1 + l_tax)) AS sum(...)]
///   Projection: <every input column>, l_extendedprice * (1 - l_discount) AS __cse_1
///     TableScan: lineitem
/// ```
///
/// # What counts
///
/// Subexpressions that read a column and are not a bare column, literal or alias. In an
/// aggregate, the aggregate calls themselves are not candidates; their arguments, `FILTER`
/// clauses and the group keys are. Expressions inside a `CASE` branch are not looked into: the
/// branch may be guarded (`CASE WHEN b <> 0 THEN a / b END`), and computing it for every row
/// could raise an error the query never raises.
///
/// The largest repeated expression wins: `1 - l_discount` inside the repeated product is not
/// extracted on its own unless it also occurs twice outside it.
///
/// # Output
///
/// The node's output schema is unchanged: a rewritten expression keeps its output name through
/// an alias. The new projection passes every input column through; `projection_pruning` later
/// drops the ones nobody reads.
#[derive(Debug, Default)]
pub struct CommonSubexprEliminate;

impl CommonSubexprEliminate {
    /// The rule.
    pub fn new() -> Self {
        CommonSubexprEliminate
    }
}

impl OptimizerRule for CommonSubexprEliminate {
    fn name(&self) -> &str {
        "common_subexpr_eliminate"
    }

    fn rewrite(&self, plan: Arc<LogicalPlan>) -> Result<Arc<LogicalPlan>> {
        let mut next_id = 1;
        transform_up(plan, &mut |node| {
            Ok(match node.as_ref() {
                LogicalPlan::Projection(p) => cse_projection(p, &mut next_id)?.unwrap_or(node),
                LogicalPlan::Aggregate(a) => cse_aggregate(a, &mut next_id)?.unwrap_or(node),
                _ => node,
            })
        })
    }
}

/// The identity of an expression (Display omits parentheses, Debug does not).
fn key(e: &Expr) -> String {
    format!("{e:?}")
}

/// Subexpressions found so far, in order of first occurrence.
#[derive(Default)]
struct Candidates {
    exprs: Vec<Expr>,
    counts: Vec<usize>,
    index: HashMap<String, usize>,
}

impl Candidates {
    fn add(&mut self, e: &Expr) {
        let k = key(e);
        match self.index.get(&k) {
            Some(i) => self.counts[*i] += 1,
            None => {
                self.index.insert(k, self.exprs.len());
                self.exprs.push(e.clone());
                self.counts.push(1);
            }
        }
    }

    /// Counts every candidate node in `e`.
    fn collect(&mut self, e: &Expr) {
        match e {
            Expr::Column(_) | Expr::Literal(_) | Expr::Wildcard { .. } => {}
            Expr::Alias(inner, _) => self.collect(inner),
            Expr::AggregateFunction { args, filter, .. } => {
                args.iter().for_each(|a| self.collect(a));
                if let Some(f) = filter {
                    self.collect(f);
                }
            }
            Expr::Case { operand, .. } => {
                if is_candidate(e) {
                    self.add(e);
                }
                if let Some(o) = operand {
                    self.collect(o);
                }
            }
            _ => {
                if is_candidate(e) {
                    self.add(e);
                }
                e.children().into_iter().for_each(|c| self.collect(c));
            }
        }
    }
}

fn is_candidate(e: &Expr) -> bool {
    !e.contains_aggregate() && !e.columns().is_empty()
}

/// Replaces, top-down, every subexpression whose key is in `chosen` by a reference to its
/// column, counting the replacements in `used`.
fn replace(e: Expr, chosen: &HashMap<String, (usize, String)>, used: &mut [usize]) -> Result<Expr> {
    if matches!(
        e,
        Expr::Column(_) | Expr::Literal(_) | Expr::Wildcard { .. }
    ) {
        return Ok(e);
    }
    if !matches!(e, Expr::Alias(..) | Expr::AggregateFunction { .. }) {
        if let Some((i, name)) = chosen.get(&key(&e)) {
            used[*i] += 1;
            return Ok(Expr::Column(Column::new(name.clone())));
        }
    }
    match e {
        Expr::Case {
            operand,
            when_then,
            else_expr,
        } => Ok(Expr::Case {
            operand: operand
                .map(|o| replace(*o, chosen, used).map(Box::new))
                .transpose()?,
            when_then,
            else_expr,
        }),
        e => e.map_children(&mut |c| replace(c, chosen, used)),
    }
}

/// The extraction plan for `exprs` over `input`: the rewritten expressions (names kept) and the
/// projection computing the common subexpressions; `None` when nothing repeats.
fn extract(
    exprs: &[Expr],
    input: &Arc<LogicalPlan>,
    next_id: &mut usize,
) -> Result<Option<(Vec<Expr>, Arc<LogicalPlan>)>> {
    let mut cands = Candidates::default();
    exprs.iter().for_each(|e| cands.collect(e));
    if !cands.counts.iter().any(|c| *c >= 2) {
        return Ok(None);
    }
    // Pass 1: which repeated expressions are still reached twice once larger ones are replaced.
    let repeated: HashMap<String, (usize, String)> = cands
        .exprs
        .iter()
        .enumerate()
        .filter(|(i, _)| cands.counts[*i] >= 2)
        .map(|(i, e)| (key(e), (i, String::new())))
        .collect();
    let mut used = vec![0; cands.exprs.len()];
    for e in exprs {
        replace(e.clone(), &repeated, &mut used)?;
    }
    // Pass 2: name the survivors and rewrite. A survivor is reached at least as often as in pass
    // 1, since fewer of its ancestors are replaced.
    let in_schema = input.schema();
    let mut chosen = HashMap::new();
    let mut defs = Vec::new();
    for (i, e) in cands.exprs.iter().enumerate() {
        if used[i] >= 2 {
            let name = fresh_name(in_schema, next_id);
            defs.push(e.clone().alias(name.clone()));
            chosen.insert(key(e), (i, name));
        }
    }
    if defs.is_empty() {
        return Ok(None);
    }
    let mut used = vec![0; cands.exprs.len()];
    let rewritten = exprs
        .iter()
        .map(|e| Ok(preserve_name(e, replace(e.clone(), &chosen, &mut used)?)))
        .collect::<Result<Vec<_>>>()?;
    let Some(mut proj_exprs) = (0..in_schema.len())
        .map(|i| column_at(in_schema, i).map(Expr::Column))
        .collect::<Option<Vec<_>>>()
    else {
        return Ok(None);
    };
    proj_exprs.extend(defs);
    let Ok(proj) = Projection::try_new(proj_exprs, Arc::clone(input)) else {
        return Ok(None);
    };
    Ok(Some((rewritten, Arc::new(LogicalPlan::Projection(proj)))))
}

fn fresh_name(schema: &PlanSchema, next_id: &mut usize) -> String {
    loop {
        let name = format!("__cse_{next_id}");
        *next_id += 1;
        if !schema.fields().iter().any(|(_, f)| f.name() == &name) {
            return name;
        }
    }
}

fn cse_projection(p: &Projection, next_id: &mut usize) -> Result<Option<Arc<LogicalPlan>>> {
    let Some((exprs, input)) = extract(&p.exprs, &p.input, next_id)? else {
        return Ok(None);
    };
    Ok(Projection::try_new(exprs, input)
        .ok()
        .map(|p| Arc::new(LogicalPlan::Projection(p))))
}

fn cse_aggregate(a: &Aggregate, next_id: &mut usize) -> Result<Option<Arc<LogicalPlan>>> {
    let all: Vec<Expr> = a.group_exprs.iter().chain(&a.aggr_exprs).cloned().collect();
    let Some((mut exprs, input)) = extract(&all, &a.input, next_id)? else {
        return Ok(None);
    };
    let aggr = exprs.split_off(a.group_exprs.len());
    Ok(Aggregate::try_new(input, exprs, aggr)
        .ok()
        .map(|a| Arc::new(LogicalPlan::Aggregate(a))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{assert_rule, scan};
    use rask_expr::{col, lit, AggFunc};

    fn check(plan: Arc<LogicalPlan>, expected: &str) {
        assert_rule(&CommonSubexprEliminate::new(), plan, expected);
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
    fn tpch_q1_shape() {
        let disc_price = col("a").mul(lit(1i64).sub(col("b")));
        let charge = disc_price.clone().mul(lit(1i64).add(col("c")));
        let plan = scan("t")
            .aggregate(
                vec![col("s")],
                vec![
                    sum(col("a")),
                    sum(disc_price).alias("sum_disc_price"),
                    sum(charge),
                    Expr::AggregateFunction {
                        func: AggFunc::CountStar,
                        args: vec![],
                        distinct: false,
                        filter: None,
                    },
                ],
            )
            .unwrap()
            .build();
        check(
            plan,
            "
Aggregate: groupBy=[s], aggr=[sum(a), sum(__cse_1) AS sum_disc_price, sum(__cse_1 * (1 + c)) AS sum(a * (1 - b) * (1 + c)), count(*)]
  Projection: t.a, t.b, t.c, t.d, t.s, a * (1 - b) AS __cse_1
    TableScan: t",
        );
    }

    #[test]
    fn projection_repeats() {
        let ab = col("a").add(col("b"));
        let plan = scan("t")
            .project(vec![
                ab.clone(),
                ab.clone().mul(lit(2i64)).alias("x"),
                col("c"),
                col("c").add(lit(1i64)),
            ])
            .unwrap()
            .build();
        check(
            plan,
            "
Projection: __cse_1 AS a + b, __cse_1 * 2 AS x, c, c + 1
  Projection: t.a, t.b, t.c, t.d, t.s, a + b AS __cse_1
    TableScan: t",
        );
    }

    #[test]
    fn nothing_repeated_is_unchanged() {
        let plan = scan("t")
            .project(vec![
                col("a").add(col("b")),
                col("a").mul(col("b")),
                col("a"),
            ])
            .unwrap()
            .build();
        let out = CommonSubexprEliminate::new()
            .rewrite(Arc::clone(&plan))
            .unwrap();
        assert!(Arc::ptr_eq(&plan, &out));
    }

    #[test]
    fn inner_repeat_extracted_separately_when_it_occurs_outside() {
        // (a - b) occurs in both products and twice alone: two extractions.
        let amb = col("a").sub(col("b"));
        let prod = amb.clone().mul(col("c"));
        let plan = scan("t")
            .project(vec![
                prod.clone().alias("p1"),
                prod.add(lit(1i64)).alias("p2"),
                amb.clone().alias("d1"),
                amb.add(lit(1i64)).alias("d2"),
            ])
            .unwrap()
            .build();
        check(
            Arc::clone(&plan),
            "
Projection: __cse_1 AS p1, __cse_1 + 1 AS p2, __cse_2 AS d1, __cse_2 + 1 AS d2
  Projection: t.a, t.b, t.c, t.d, t.s, (a - b) * c AS __cse_1, a - b AS __cse_2
    TableScan: t",
        );
    }

    #[test]
    fn case_branches_are_not_hoisted() {
        let div = col("a").div(col("b"));
        let guarded = Expr::Case {
            operand: None,
            when_then: vec![(col("b").not_eq(lit(0i64)), div.clone())],
            else_expr: None,
        };
        let plan = scan("t")
            .project(vec![
                guarded.clone().alias("x"),
                guarded.add(lit(1i64)).alias("y"),
            ])
            .unwrap()
            .build();
        // The whole CASE repeats and is hoisted, but a / b alone is not.
        check(
            plan,
            "
Projection: __cse_1 AS x, __cse_1 + 1 AS y
  Projection: t.a, t.b, t.c, t.d, t.s, CASE WHEN b <> 0 THEN a / b END AS __cse_1
    TableScan: t",
        );
        let plan = scan("t")
            .project(vec![
                Expr::Case {
                    operand: None,
                    when_then: vec![(col("b").not_eq(lit(0i64)), div.clone())],
                    else_expr: None,
                }
                .alias("x"),
                Expr::Case {
                    operand: None,
                    when_then: vec![(col("b").gt(lit(0i64)), div)],
                    else_expr: None,
                }
                .alias("y"),
            ])
            .unwrap()
            .build();
        let out = CommonSubexprEliminate::new()
            .rewrite(Arc::clone(&plan))
            .unwrap();
        assert!(Arc::ptr_eq(&plan, &out), "{}", out.display_indent());
    }

    #[test]
    fn group_key_shared_with_aggregate_argument() {
        let ab = col("a").add(col("b"));
        let plan = scan("t")
            .aggregate(vec![ab.clone()], vec![sum(ab)])
            .unwrap()
            .build();
        check(
            plan,
            "
Aggregate: groupBy=[__cse_1 AS a + b], aggr=[sum(__cse_1) AS sum(a + b)]
  Projection: t.a, t.b, t.c, t.d, t.s, a + b AS __cse_1
    TableScan: t",
        );
    }
}
