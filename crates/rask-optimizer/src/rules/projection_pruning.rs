//! Removes columns nobody reads, down to the columns each scan reads.

use std::sync::Arc;

use arrow::datatypes::DataType;
use rask_common::Result;
use rask_expr::{
    Aggregate, Expr, Filter, Limit, LogicalPlan, PlanSchema, Projection, Sort, SubqueryAlias,
    TableScan, Union, Window,
};

use crate::utils::column_at;
use crate::OptimizerRule;

/// Computes, top-down, which output columns of each node are read, and drops the rest.
///
/// ```text
/// Projection: a                        Projection: a
///   Filter: b > 1                →       Filter: b > 1
///     TableScan: t                         TableScan: t projection=[a, b]
/// ```
///
/// * `TableScan`: `projection` keeps only the needed columns. When none is needed (`count(*)`)
///   it keeps one, the narrowest (fixed-width before variable-width, then the first).
///   `TableScan.filters` need no projected column: the scan evaluates them as pruning hints on
///   file statistics, and the `Filter` above (which needs its columns) is what filters rows.
/// * `Projection` and `Aggregate`: unread expressions are dropped (aggregate calls only; group
///   keys always stay, they define the groups). At least one expression stays (a global
///   aggregate keeps one aggregate, so it still yields its row). A projection left selecting
///   exactly its input's columns is removed.
/// * `Filter`, `Sort`: need their expressions' columns as well.
/// * `Distinct`: needs every column of its input (they define the duplicates).
/// * `Window`: unread window calls are dropped (the node too when none is left); the kept
///   calls need the columns of their arguments, PARTITION BY and ORDER BY keys.
/// * `Union`: columns are matched by position, so every input is pruned to the same columns,
///   each under a projection that puts them in order.
/// * `Values`, `EmptyRelation`: left as they are.
///
/// Nodes refer to their inputs' columns by name, so a node may keep more columns than its parent
/// needs; only the plan's output layout is fixed.
#[derive(Debug, Default)]
pub struct ProjectionPruning;

impl ProjectionPruning {
    /// The rule.
    pub fn new() -> Self {
        ProjectionPruning
    }
}

impl OptimizerRule for ProjectionPruning {
    fn name(&self) -> &str {
        "projection_pruning"
    }

    fn rewrite(&self, plan: Arc<LogicalPlan>) -> Result<Arc<LogicalPlan>> {
        let all = vec![true; plan.schema().len()];
        prune(plan, &all)
    }
}

/// Marks in `required` (indexed like `schema`) the columns `expr` reads; all of them when one
/// cannot be resolved (never expected in a valid plan, and always safe).
fn mark(expr: &Expr, schema: &PlanSchema, required: &mut [bool]) {
    for c in expr.columns() {
        match schema.maybe_index_of_column(&c) {
            Ok(Some(i)) => required[i] = true,
            _ => required.iter_mut().for_each(|r| *r = true),
        }
    }
}

/// `plan` keeping at least the output columns flagged in `required` (by name; positions may
/// change except where the caller relies on them, see Union).
fn prune(plan: Arc<LogicalPlan>, required: &[bool]) -> Result<Arc<LogicalPlan>> {
    match plan.as_ref() {
        LogicalPlan::TableScan(s) => prune_scan(&plan, s, required),
        LogicalPlan::Projection(p) => {
            let in_schema = p.input.schema();
            let mut keep: Vec<usize> = (0..p.exprs.len()).filter(|i| required[*i]).collect();
            if keep.is_empty() && !p.exprs.is_empty() {
                // Someone needs the rows but no column: keep the cheapest expression.
                let first_col = p.exprs.iter().position(|e| matches!(e, Expr::Column(_)));
                keep.push(first_col.unwrap_or(0));
            }
            let exprs: Vec<Expr> = keep.iter().map(|i| p.exprs[*i].clone()).collect();
            let mut child_req = vec![false; in_schema.len()];
            for e in &exprs {
                mark(e, in_schema, &mut child_req);
            }
            let input = prune(Arc::clone(&p.input), &child_req)?;
            let proj = Projection::try_new(exprs, input)?;
            if proj.schema.as_ref() == proj.input.schema().as_ref()
                && proj.exprs.iter().all(|e| matches!(e, Expr::Column(_)))
            {
                // SELECT of exactly the input's columns, in order: a no-op.
                return Ok(proj.input);
            }
            if keep.len() == p.exprs.len() && Arc::ptr_eq(&proj.input, &p.input) {
                return Ok(plan);
            }
            Ok(Arc::new(LogicalPlan::Projection(proj)))
        }
        LogicalPlan::Filter(f) => {
            let mut child_req = required.to_vec();
            mark(&f.predicate, f.input.schema(), &mut child_req);
            let input = prune(Arc::clone(&f.input), &child_req)?;
            if Arc::ptr_eq(&input, &f.input) {
                return Ok(plan);
            }
            Ok(Arc::new(LogicalPlan::Filter(Filter {
                predicate: f.predicate.clone(),
                input,
            })))
        }
        LogicalPlan::Aggregate(a) => {
            let n_group = a.group_exprs.len();
            let mut aggr: Vec<Expr> = a
                .aggr_exprs
                .iter()
                .enumerate()
                .filter(|(j, _)| required[n_group + j])
                .map(|(_, e)| e.clone())
                .collect();
            if aggr.is_empty() && n_group == 0 {
                if let Some(first) = a.aggr_exprs.first() {
                    aggr.push(first.clone());
                }
            }
            let in_schema = a.input.schema();
            let mut child_req = vec![false; in_schema.len()];
            for e in a.group_exprs.iter().chain(&aggr) {
                mark(e, in_schema, &mut child_req);
            }
            let input = prune(Arc::clone(&a.input), &child_req)?;
            if aggr.len() == a.aggr_exprs.len() && Arc::ptr_eq(&input, &a.input) {
                return Ok(plan);
            }
            Ok(Arc::new(LogicalPlan::Aggregate(Aggregate::try_new(
                input,
                a.group_exprs.clone(),
                aggr,
            )?)))
        }
        LogicalPlan::Sort(s) => {
            let mut child_req = required.to_vec();
            for k in &s.exprs {
                mark(&k.expr, s.input.schema(), &mut child_req);
            }
            let input = prune(Arc::clone(&s.input), &child_req)?;
            if Arc::ptr_eq(&input, &s.input) {
                return Ok(plan);
            }
            Ok(Arc::new(LogicalPlan::Sort(Sort {
                exprs: s.exprs.clone(),
                input,
                fetch: s.fetch,
            })))
        }
        LogicalPlan::Limit(l) => {
            let input = prune(Arc::clone(&l.input), required)?;
            if Arc::ptr_eq(&input, &l.input) {
                return Ok(plan);
            }
            Ok(Arc::new(LogicalPlan::Limit(Limit {
                skip: l.skip,
                fetch: l.fetch,
                input,
            })))
        }
        LogicalPlan::Distinct(inner) => {
            let input = prune(Arc::clone(inner), &vec![true; inner.schema().len()])?;
            if Arc::ptr_eq(&input, inner) {
                return Ok(plan);
            }
            Ok(Arc::new(LogicalPlan::Distinct(input)))
        }
        LogicalPlan::SubqueryAlias(a) => {
            // Same layout as the input: the requirement carries over by position.
            let input = prune(Arc::clone(&a.input), required)?;
            if Arc::ptr_eq(&input, &a.input) {
                return Ok(plan);
            }
            Ok(Arc::new(LogicalPlan::SubqueryAlias(SubqueryAlias::new(
                input, &a.alias,
            ))))
        }
        LogicalPlan::Window(w) => {
            let in_schema = w.input.schema();
            let n_in = in_schema.len();
            let exprs: Vec<Expr> = w
                .window_exprs
                .iter()
                .enumerate()
                .filter(|(j, _)| required.get(n_in + j).copied().unwrap_or(true))
                .map(|(_, e)| e.clone())
                .collect();
            let mut child_req: Vec<bool> = required.iter().take(n_in).copied().collect();
            for e in &exprs {
                mark(e, in_schema, &mut child_req);
            }
            let input = prune(Arc::clone(&w.input), &child_req)?;
            if exprs.is_empty() {
                return Ok(input);
            }
            if exprs.len() == w.window_exprs.len() && Arc::ptr_eq(&input, &w.input) {
                return Ok(plan);
            }
            Ok(Arc::new(LogicalPlan::Window(Window::try_new(
                input, exprs,
            )?)))
        }
        LogicalPlan::Union(u) => prune_union(&plan, u, required),
        LogicalPlan::Values(_) | LogicalPlan::EmptyRelation(_) => Ok(plan),
        LogicalPlan::Join(j) => prune_join(&plan, j, required),
        // branch `partition`: a shuffle passes rows through and reads its keys; a partition
        // function sees every column of its input.
        LogicalPlan::Repartition(r) => {
            let in_schema = r.input.schema();
            let mut child_req = required.to_vec();
            match &r.scheme {
                rask_expr::RepartitionScheme::RoundRobin(_) => {}
                rask_expr::RepartitionScheme::Hash(exprs, _) => {
                    for e in exprs {
                        mark(e, in_schema, &mut child_req);
                    }
                }
                rask_expr::RepartitionScheme::Range { expr, .. } => {
                    mark(expr, in_schema, &mut child_req)
                }
            }
            let input = prune(Arc::clone(&r.input), &child_req)?;
            if Arc::ptr_eq(&input, &r.input) {
                return Ok(plan);
            }
            Ok(Arc::new(LogicalPlan::Repartition(
                rask_expr::Repartition::try_new(input, r.scheme.clone())?,
            )))
        }
        LogicalPlan::MapPartitions(m) => {
            let input = prune(Arc::clone(&m.input), &vec![true; m.input.schema().len()])?;
            if Arc::ptr_eq(&input, &m.input) {
                return Ok(plan);
            }
            Ok(Arc::new(LogicalPlan::MapPartitions(
                rask_expr::MapPartitions { input, ..m.clone() },
            )))
        }
    }
}

/// Each side keeps the output columns required from it plus what the keys and the filter read.
fn prune_join(
    plan: &Arc<LogicalPlan>,
    j: &rask_expr::Join,
    required: &[bool],
) -> Result<Arc<LogicalPlan>> {
    let (ls, rs) = (j.left.schema(), j.right.schema());
    let mut lreq = vec![false; ls.len()];
    let mut rreq = vec![false; rs.len()];
    let mut out = required.iter();
    if j.join_type.keeps_left() {
        for r in lreq.iter_mut() {
            *r = out.next().copied().unwrap_or(true);
        }
    }
    if j.join_type.keeps_right() {
        for r in rreq.iter_mut() {
            *r = out.next().copied().unwrap_or(true);
        }
    }
    for (l, r) in &j.on {
        mark(l, ls, &mut lreq);
        mark(r, rs, &mut rreq);
    }
    if let Some(f) = &j.filter {
        for c in f.columns() {
            if let Ok(Some(i)) = ls.maybe_index_of_column(&c) {
                lreq[i] = true;
            } else if let Ok(Some(i)) = rs.maybe_index_of_column(&c) {
                rreq[i] = true;
            } else {
                lreq.iter_mut().for_each(|r| *r = true);
                rreq.iter_mut().for_each(|r| *r = true);
            }
        }
    }
    let left = prune(Arc::clone(&j.left), &lreq)?;
    let right = prune(Arc::clone(&j.right), &rreq)?;
    if Arc::ptr_eq(&left, &j.left) && Arc::ptr_eq(&right, &j.right) {
        return Ok(Arc::clone(plan));
    }
    Ok(Arc::new(LogicalPlan::Join(rask_expr::Join::try_new(
        left,
        right,
        j.on.clone(),
        j.filter.clone(),
        j.join_type,
    )?)))
}

fn prune_scan(
    plan: &Arc<LogicalPlan>,
    s: &TableScan,
    required: &[bool],
) -> Result<Arc<LogicalPlan>> {
    let source_schema = s.source.schema();
    let current: Vec<usize> = match &s.projection {
        Some(p) => p.clone(),
        None => (0..source_schema.fields().len()).collect(),
    };
    let mut wanted: Vec<usize> = current
        .iter()
        .zip(required)
        .filter(|(_, r)| **r)
        .map(|(i, _)| *i)
        .collect();
    if wanted.is_empty() {
        // Rows are needed but no column (count(*)): read the narrowest one.
        if let Some(i) = current
            .iter()
            .copied()
            .min_by_key(|i| width_rank(source_schema.field(*i).data_type()))
        {
            wanted.push(i);
        }
    }
    wanted.sort_unstable();
    wanted.dedup();
    if wanted == current {
        return Ok(Arc::clone(plan));
    }
    Ok(Arc::new(LogicalPlan::TableScan(
        s.clone().with_projection(Some(wanted)),
    )))
}

/// A rough per-value cost of reading a column of type `t` (lower is cheaper).
fn width_rank(t: &DataType) -> usize {
    match t.primitive_width() {
        Some(w) => w,
        None if *t == DataType::Boolean => 0,
        None => 64,
    }
}

fn prune_union(plan: &Arc<LogicalPlan>, u: &Union, required: &[bool]) -> Result<Arc<LogicalPlan>> {
    let mut keep: Vec<usize> = (0..required.len()).filter(|i| required[*i]).collect();
    if keep.is_empty() && !required.is_empty() {
        keep.push(0);
    }
    if keep.len() == required.len() {
        // Every column is read: prune inside each input only.
        let mut changed = false;
        let mut inputs = Vec::with_capacity(u.inputs.len());
        for inp in &u.inputs {
            let n = prune(Arc::clone(inp), &vec![true; inp.schema().len()])?;
            changed |= !Arc::ptr_eq(&n, inp);
            inputs.push(n);
        }
        if !changed {
            return Ok(Arc::clone(plan));
        }
        return Ok(Arc::new(LogicalPlan::Union(Union {
            inputs,
            schema: Arc::clone(&u.schema),
        })));
    }
    // Each input gets a projection of exactly the kept columns, in order; pruning then pushes it
    // into the input (and removes it if the input already has that layout).
    let mut inputs = Vec::with_capacity(u.inputs.len());
    for inp in &u.inputs {
        let schema = inp.schema();
        let Some(exprs) = keep
            .iter()
            .map(|i| column_at(schema, *i).map(Expr::Column))
            .collect::<Option<Vec<_>>>()
        else {
            // An input column we cannot name: keep the union whole.
            return prune_union(plan, u, &vec![true; required.len()]);
        };
        let proj = Arc::new(LogicalPlan::Projection(Projection::try_new(
            exprs,
            Arc::clone(inp),
        )?));
        inputs.push(prune(proj, &vec![true; keep.len()])?);
    }
    let fields = keep.iter().map(|i| u.schema.fields()[*i].clone()).collect();
    Ok(Arc::new(LogicalPlan::Union(Union {
        inputs,
        schema: Arc::new(PlanSchema::new(fields)),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{assert_rule, scan};
    use rask_expr::{col, lit, AggFunc, SortExpr};

    fn check(plan: Arc<LogicalPlan>, expected: &str) {
        assert_rule(&ProjectionPruning::new(), plan, expected);
    }

    fn agg(func: AggFunc, args: Vec<Expr>) -> Expr {
        Expr::AggregateFunction {
            func,
            args,
            distinct: false,
            filter: None,
        }
    }

    #[test]
    fn scan_reads_only_needed_columns() {
        let plan = scan("t")
            .filter(col("b").gt(lit(1i64)))
            .unwrap()
            .project(vec![col("a")])
            .unwrap()
            .build();
        check(
            plan,
            "
Projection: a
  Filter: b > 1
    TableScan: t projection=[a, b]",
        );
    }

    #[test]
    fn scan_filters_need_no_projection() {
        let mut s = TableScan::try_new("t", crate::test_util::source()).unwrap();
        s.filters = vec![col("c").eq(lit(1i64))];
        let plan = rask_expr::LogicalPlanBuilder::from(LogicalPlan::TableScan(s))
            .project(vec![col("a")])
            .unwrap()
            .build();
        check(
            plan,
            // The projection selects exactly what the pruned scan yields, so it goes too.
            "TableScan: t projection=[a] filters=[c = 1]",
        );
    }

    #[test]
    fn count_star_reads_the_narrowest_column() {
        let plan = scan("t")
            .aggregate(vec![], vec![agg(AggFunc::CountStar, vec![])])
            .unwrap()
            .build();
        check(
            plan,
            "
Aggregate: groupBy=[], aggr=[count(*)]
  TableScan: t projection=[a]",
        );
    }

    #[test]
    fn unused_projection_and_aggregate_exprs_are_dropped() {
        let plan = scan("t")
            .project(vec![col("a"), col("b").add(col("c")).alias("x"), col("d")])
            .unwrap()
            .aggregate(
                vec![col("a")],
                vec![
                    agg(AggFunc::Sum, vec![col("x")]),
                    agg(AggFunc::Max, vec![col("d")]),
                ],
            )
            .unwrap()
            .project(vec![col("a"), col("sum(x)")])
            .unwrap()
            .build();
        check(
            plan,
            "
Aggregate: groupBy=[a], aggr=[sum(x)]
  Projection: a, b + c AS x
    TableScan: t projection=[a, b, c]",
        );
    }

    #[test]
    fn identity_projection_is_removed() {
        let plan = scan("t")
            .project(vec![col("a"), col("b"), col("c"), col("d"), col("s")])
            .unwrap()
            .build();
        check(plan, "TableScan: t");
    }

    #[test]
    fn through_alias_sort_limit() {
        let plan = scan("t")
            .alias("u")
            .sort(vec![SortExpr::new(col("u.b"), true)])
            .unwrap()
            .limit(0, Some(5))
            .project(vec![col("u.a")])
            .unwrap()
            .build();
        check(
            plan,
            "
Projection: u.a
  Limit: skip=0, fetch=5
    Sort: u.b ASC NULLS LAST
      SubqueryAlias: u
        TableScan: t projection=[a, b]",
        );
    }

    #[test]
    fn subquery_alias_inner_projection_is_pruned() {
        let plan = scan("t")
            .project(vec![
                col("a"),
                col("b").add(col("c")).alias("x"),
                col("d").mul(lit(2i64)).alias("y"),
            ])
            .unwrap()
            .alias("u")
            .filter(col("u.y").gt(lit(0i64)))
            .unwrap()
            .project(vec![col("u.a")])
            .unwrap()
            .build();
        check(
            plan,
            "
Projection: u.a
  Filter: u.y > 0
    SubqueryAlias: u
      Projection: a, d * 2 AS y
        TableScan: t projection=[a, d]",
        );
    }

    #[test]
    fn global_aggregate_keeps_one_aggregate() {
        let plan = scan("t")
            .aggregate(
                vec![],
                vec![
                    agg(AggFunc::Sum, vec![col("b")]),
                    agg(AggFunc::Max, vec![col("c")]),
                ],
            )
            .unwrap()
            .project(vec![lit(1i64).alias("one")])
            .unwrap()
            .build();
        check(
            plan,
            "
Projection: 1 AS one
  Aggregate: groupBy=[], aggr=[sum(b)]
    TableScan: t projection=[b]",
        );
    }

    #[test]
    fn distinct_keeps_all_columns() {
        let plan = scan("t")
            .project(vec![col("a"), col("b")])
            .unwrap()
            .distinct()
            .project(vec![col("a")])
            .unwrap()
            .build();
        check(
            plan,
            "
Projection: a
  Distinct
    TableScan: t projection=[a, b]",
        );
    }

    #[test]
    fn union_inputs_pruned_by_position() {
        let left = scan("t").project(vec![col("a"), col("b")]).unwrap();
        let right = scan("v").project(vec![col("c"), col("d")]).unwrap().build();
        let plan = left
            .union(right)
            .unwrap()
            .project(vec![col("b")])
            .unwrap()
            .build();
        check(
            plan,
            "
Union
  TableScan: t projection=[b]
  TableScan: v projection=[d]",
        );
    }

    #[test]
    fn union_under_count_keeps_one_column() {
        let left = scan("t").project(vec![col("a"), col("b")]).unwrap();
        let right = scan("v").project(vec![col("c"), col("d")]).unwrap().build();
        let plan = left
            .union(right)
            .unwrap()
            .aggregate(vec![], vec![agg(AggFunc::CountStar, vec![])])
            .unwrap()
            .build();
        check(
            plan,
            "
Aggregate: groupBy=[], aggr=[count(*)]
  Union
    TableScan: t projection=[a]
    TableScan: v projection=[c]",
        );
    }

    #[test]
    fn join_inputs_keep_output_key_and_filter_columns() {
        use crate::test_util::{join, table};
        let u = || table("u", &["x", "y", "z"], None);
        let plan = join(
            scan("t"),
            u(),
            vec![(col("t.b"), col("u.x"))],
            Some(col("t.c").lt(col("u.y"))),
            rask_expr::JoinType::Inner,
        )
        .project(vec![col("t.a")])
        .unwrap()
        .build();
        check(
            plan,
            "
Projection: t.a
  Join: Inner on=[t.b = u.x] filter=t.c < u.y
    TableScan: t projection=[a, b, c]
    TableScan: u projection=[x, y]",
        );
        // A semi join outputs the left side only: the right one keeps its key alone.
        let plan = join(
            scan("t"),
            u(),
            vec![(col("t.b"), col("u.x"))],
            None,
            rask_expr::JoinType::LeftSemi,
        )
        .project(vec![col("t.a")])
        .unwrap()
        .build();
        check(
            plan,
            "
Projection: t.a
  Join: LeftSemi on=[t.b = u.x]
    TableScan: t projection=[a, b]
    TableScan: u projection=[x]",
        );
    }
}
