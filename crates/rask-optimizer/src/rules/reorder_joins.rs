//! Rebuilds trees of inner joins greedily from estimated row counts.

use std::sync::Arc;

use rask_common::{Result, ScalarValue};
use rask_expr::{
    conjunction, split_conjunction, Column, Expr, Join, JoinType, LogicalPlan, Operator,
    PlanSchema, Projection,
};

use crate::utils::{column_at, map_inputs, replace_columns};
use crate::OptimizerRule;

/// Row count assumed for a table whose source does not know its own.
const UNKNOWN_ROWS: f64 = 1_000_000.0;

/// Reorders each tree of `Inner` joins (after filter pushdown has turned the WHERE clause into
/// keys and join filters).
///
/// # What it does
///
/// The maximal tree of directly nested `Inner` joins is flattened into its relations (the
/// inputs that are not inner joins; each is reordered on its own first) and its predicates (the
/// keys as `l = r` equalities plus the filters' conjuncts). The tree is then rebuilt greedily:
///
/// 1. start from the relation with the largest estimated row count;
/// 2. repeatedly join the smallest remaining relation *connected* to what is joined so far by
///    an equality usable as a key; failing that, one connected by any predicate; failing that
///    (the query has a real cross product), the smallest remaining one;
/// 3. each predicate goes to the lowest join where all its relations are present: as a key
///    when it is an equality between the two inputs, as the join's filter otherwise.
///
/// The executor builds its hash table on the right input and probes with the left, so each
/// join gets the larger estimated side on the left. Ties keep the original order, so a tree
/// over tables of unknown size that has no cross join comes back as it was.
///
/// # Estimates
///
/// * `TableScan`: `source.num_rows()` (exact for Parquet; 1,000,000 when unknown), capped by
///   `fetch`.
/// * `Filter`: the input's estimate times 0.01 per `column = literal` conjunct (0.1 for a
///   string literal), 0.9 per
///   negation (`<>`, `NOT`, `NOT LIKE`, `NOT IN`, `NOT BETWEEN`, `IS NOT NULL`) and 0.1 per
///   other conjunct.
/// * `Aggregate`: input / 10 (one row without group keys); `Distinct`: input / 10.
/// * `Limit`: at most `fetch`; `Union`: the sum; `Projection`, `SubqueryAlias`, `Sort`: input.
/// * `Join`: keyed: the larger input; filter only: product / 10; cross: product; semi/anti:
///   half of the kept side; outer: at least the preserved side(s).
///
/// # Output
///
/// Columns are referenced by their qualified names in the rebuilt predicates. Where the column
/// order matters (at the root of the plan, under a `Union`, through the nodes that pass their
/// input's columns on) the original tree's order is restored by a `Projection` when the new
/// tree's differs; below a `Projection` or an `Aggregate`, which read columns by name, it is
/// not.
/// A tree where some column cannot be named unambiguously (the same table twice without an
/// alias) is left as it is.
#[derive(Debug, Default)]
pub struct ReorderJoins;

impl ReorderJoins {
    /// The rule.
    pub fn new() -> Self {
        ReorderJoins
    }
}

impl OptimizerRule for ReorderJoins {
    fn name(&self) -> &str {
        "reorder_joins"
    }

    fn rewrite(&self, plan: Arc<LogicalPlan>) -> Result<Arc<LogicalPlan>> {
        optimize(plan, false)
    }
}

/// Reorders the join trees in `plan`. `any_order`: whether the column order of `plan`'s
/// output is free (true below a `Projection` or `Aggregate`, which read their input's columns
/// by name, through nodes that pass their input's columns on; false at the root and under a
/// `Union`, which matches columns by position).
fn optimize(plan: Arc<LogicalPlan>, any_order: bool) -> Result<Arc<LogicalPlan>> {
    let inputs_any_order = match plan.as_ref() {
        LogicalPlan::Projection(_) | LogicalPlan::Aggregate(_) => true,
        LogicalPlan::Filter(_)
        | LogicalPlan::Sort(_)
        | LogicalPlan::Limit(_)
        | LogicalPlan::Distinct(_)
        | LogicalPlan::SubqueryAlias(_)
        | LogicalPlan::Window(_)
        | LogicalPlan::Join(_) => any_order,
        _ => false,
    };
    match plan.as_ref() {
        LogicalPlan::Join(j) if j.join_type == JoinType::Inner => {
            match reorder(&plan, any_order)? {
                Some(p) => Ok(p),
                None => map_inputs(plan, &mut |p| optimize(p, inputs_any_order)),
            }
        }
        _ => map_inputs(plan, &mut |p| optimize(p, inputs_any_order)),
    }
}

/// A relation of the flattened tree.
struct Relation {
    plan: Arc<LogicalPlan>,
    rows: f64,
}

/// A predicate of the flattened tree, over relations given as bit masks.
struct Predicate {
    expr: Expr,
    /// Every relation the predicate reads.
    mask: u64,
    /// For `l = r`: the relations each operand reads.
    eq: Option<(u64, u64)>,
    placed: bool,
}

/// Flattening state: the whole tree's schema and where each relation's columns start in it.
struct Flat<'a> {
    full: &'a PlanSchema,
    relations: Vec<Relation>,
    starts: Vec<usize>,
    exprs: Vec<Expr>,
}

impl Flat<'_> {
    /// Adds the relations and predicates under `plan`, whose columns start at `base` in the
    /// whole tree's schema. `None` when a column cannot be named unambiguously.
    fn add(&mut self, plan: &Arc<LogicalPlan>, base: usize) -> Result<Option<()>> {
        let LogicalPlan::Join(j) = plan.as_ref() else {
            return self.add_leaf(plan, base);
        };
        if j.join_type != JoinType::Inner {
            return self.add_leaf(plan, base);
        }
        if self.add(&j.left, base)?.is_none() {
            return Ok(None);
        }
        if self.add(&j.right, base + j.left.schema().len())?.is_none() {
            return Ok(None);
        }
        let both = j.left.schema().join(j.right.schema());
        let conjuncts =
            j.on.iter()
                .map(|(l, r)| l.clone().eq(r.clone()))
                .chain(j.filter.iter().flat_map(split_conjunction).cloned());
        for c in conjuncts {
            let mut ok = true;
            let full = self.full;
            let c = replace_columns(c, &mut |col| {
                let g = match both.maybe_index_of_column(col) {
                    Ok(Some(i)) => column_at(full, base + i),
                    _ => None,
                };
                ok &= g.is_some();
                g.map(Expr::Column)
            })?;
            if !ok {
                return Ok(None);
            }
            self.exprs.push(c);
        }
        Ok(Some(()))
    }

    fn add_leaf(&mut self, plan: &Arc<LogicalPlan>, base: usize) -> Result<Option<()>> {
        // The tree's columns are matched by name once it is rebuilt.
        let plan = optimize(Arc::clone(plan), true)?;
        self.starts.push(base);
        self.relations.push(Relation {
            rows: estimate(&plan),
            plan,
        });
        Ok(Some(()))
    }

    /// The relations `e` reads, as a bit mask.
    fn mask(&self, e: &Expr) -> u64 {
        let mut m = 0u64;
        for c in e.columns() {
            if let Ok(Some(g)) = self.full.maybe_index_of_column(&c) {
                let r = self.starts.partition_point(|s| *s <= g) - 1;
                m |= 1 << r;
            }
        }
        m
    }
}

/// The inner-join tree rooted at `plan`, reordered (with its original column order unless
/// `any_order`); `None` when it cannot be (a column without an unambiguous name, too many
/// relations).
fn reorder(plan: &Arc<LogicalPlan>, any_order: bool) -> Result<Option<Arc<LogicalPlan>>> {
    let full = Arc::clone(plan.schema());
    let originals: Option<Vec<Column>> = (0..full.len()).map(|i| column_at(&full, i)).collect();
    let Some(originals) = originals else {
        return Ok(None);
    };
    let mut flat = Flat {
        full: &full,
        relations: vec![],
        starts: vec![],
        exprs: vec![],
    };
    // Relations must be added in column order for `mask`, which `add` does (left first).
    if flat.add(plan, 0)?.is_none() || flat.relations.len() > 64 {
        return Ok(None);
    }
    let mut preds: Vec<Predicate> = Vec::with_capacity(flat.exprs.len());
    for e in std::mem::take(&mut flat.exprs) {
        if preds.iter().any(|p| p.expr == e) {
            continue;
        }
        let eq = match &e {
            Expr::BinaryExpr {
                left,
                op: Operator::Eq,
                right,
            } => Some((flat.mask(left), flat.mask(right))),
            _ => None,
        };
        preds.push(Predicate {
            mask: flat.mask(&e),
            eq,
            expr: e,
            placed: false,
        });
    }
    let relations = flat.relations;

    // Greedy: the largest relation first (the first one on ties).
    let n = relations.len();
    let mut start = 0;
    for i in 1..n {
        if relations[i].rows > relations[start].rows {
            start = i;
        }
    }
    let mut acc = Arc::clone(&relations[start].plan);
    let mut acc_rows = relations[start].rows;
    let mut acc_mask: u64 = 1 << start;
    let mut remaining: Vec<usize> = (0..n).filter(|i| *i != start).collect();
    while !remaining.is_empty() {
        let keyable = |p: &Predicate, r: usize| key_sides(p, acc_mask, 1 << r).is_some();
        let touches = |p: &Predicate, r: usize| {
            let m = p.mask;
            m & (1 << r) != 0 && m & acc_mask != 0 && m & !(acc_mask | (1 << r)) == 0
        };
        let pick = |ok: &dyn Fn(usize) -> bool| {
            remaining
                .iter()
                .copied()
                .filter(|r| ok(*r))
                .min_by(|a, b| relations[*a].rows.total_cmp(&relations[*b].rows))
        };
        let next = pick(&|r| preds.iter().any(|p| !p.placed && keyable(p, r)))
            .or_else(|| pick(&|r| preds.iter().any(|p| !p.placed && touches(p, r))))
            .or_else(|| pick(&|_| true))
            .expect("a remaining relation");
        remaining.retain(|r| *r != next);
        let r_mask = 1u64 << next;
        let joined = acc_mask | r_mask;
        let (mut keys, mut filter) = (vec![], vec![]);
        for p in preds.iter_mut() {
            if p.placed || p.mask & !joined != 0 {
                continue;
            }
            p.placed = true;
            match key_sides(p, acc_mask, r_mask) {
                Some(k) => keys.push(k),
                None => filter.push(p.expr.clone()),
            }
        }
        let right = &relations[next];
        let has_keys = !keys.is_empty();
        let (left_plan, right_plan, keys) = if right.rows > acc_rows {
            let swapped = keys.into_iter().map(|(a, r)| (r, a)).collect();
            (Arc::clone(&right.plan), acc, swapped)
        } else {
            (acc, Arc::clone(&right.plan), keys)
        };
        acc_rows = if has_keys {
            acc_rows.max(right.rows)
        } else if filter.is_empty() {
            acc_rows * right.rows
        } else {
            acc_rows * right.rows / 10.0
        };
        acc = Arc::new(LogicalPlan::Join(Join::try_new(
            left_plan,
            right_plan,
            keys,
            conjunction(filter),
            JoinType::Inner,
        )?));
        acc_mask = joined;
    }
    // Predicates over no relation at all (constants) would have been placed at the first join.
    debug_assert!(preds.iter().all(|p| p.placed));

    let same_order = acc.schema().fields() == full.fields();
    if same_order || any_order {
        return Ok(Some(acc));
    }
    let exprs = originals.into_iter().map(Expr::Column).collect();
    Ok(Some(Arc::new(LogicalPlan::Projection(
        Projection::try_new(exprs, acc)?,
    ))))
}

/// `(over acc, over r)` for an equality between an expression over the relations in `acc` and
/// one over the relation `r`.
fn key_sides(p: &Predicate, acc: u64, r: u64) -> Option<(Expr, Expr)> {
    let (lm, rm) = p.eq?;
    let Expr::BinaryExpr { left, right, .. } = &p.expr else {
        return None;
    };
    let within = |m: u64, set: u64| m != 0 && m & !set == 0;
    if within(lm, acc) && within(rm, r) {
        Some((left.as_ref().clone(), right.as_ref().clone()))
    } else if within(lm, r) && within(rm, acc) {
        Some((right.as_ref().clone(), left.as_ref().clone()))
    } else {
        None
    }
}

/// Estimated output rows of `plan` (see [`ReorderJoins`] for the rules): what join ordering,
/// the physical planner's build sides and EXPLAIN's `est_rows` use.
pub fn estimate_rows(plan: &LogicalPlan) -> f64 {
    estimate(plan)
}

fn estimate(plan: &LogicalPlan) -> f64 {
    match plan {
        LogicalPlan::TableScan(s) => {
            let n = s.source.num_rows().map_or(UNKNOWN_ROWS, |n| n as f64);
            s.fetch.map_or(n, |f| n.min(f as f64))
        }
        LogicalPlan::Filter(f) => {
            let sel: f64 = split_conjunction(&f.predicate)
                .into_iter()
                .map(selectivity)
                .product();
            (estimate(&f.input) * sel).max(1.0)
        }
        LogicalPlan::Projection(p) => estimate(&p.input),
        LogicalPlan::Window(w) => estimate(&w.input),
        // branch `partition`: a shuffle keeps the rows; a partition function is a guess.
        LogicalPlan::Repartition(r) => estimate(&r.input),
        LogicalPlan::MapPartitions(m) => estimate(&m.input),
        LogicalPlan::SubqueryAlias(a) => estimate(&a.input),
        LogicalPlan::Sort(s) => {
            let n = estimate(&s.input);
            s.fetch.map_or(n, |f| n.min(f as f64))
        }
        LogicalPlan::Limit(l) => {
            let n = (estimate(&l.input) - l.skip as f64).max(0.0);
            l.fetch.map_or(n, |f| n.min(f as f64))
        }
        LogicalPlan::Aggregate(a) if a.group_exprs.is_empty() => 1.0,
        LogicalPlan::Aggregate(a) => (estimate(&a.input) / 10.0).max(1.0),
        LogicalPlan::Distinct(i) => (estimate(i) / 10.0).max(1.0),
        LogicalPlan::Union(u) => u.inputs.iter().map(|i| estimate(i)).sum(),
        LogicalPlan::Values(v) => v.rows.len() as f64,
        LogicalPlan::EmptyRelation(e) => f64::from(u8::from(e.produce_one_row)),
        LogicalPlan::Join(j) => {
            let (l, r) = (estimate(&j.left), estimate(&j.right));
            let inner = if !j.on.is_empty() {
                l.max(r)
            } else if j.filter.is_some() {
                l * r / 10.0
            } else {
                l * r
            };
            match j.join_type {
                JoinType::Inner => inner,
                JoinType::Left => inner.max(l),
                JoinType::Right => inner.max(r),
                JoinType::Full => inner.max(l + r),
                JoinType::LeftSemi | JoinType::LeftAnti | JoinType::LeftAntiNullAware => {
                    (l / 2.0).max(1.0)
                }
                JoinType::RightSemi | JoinType::RightAnti => (r / 2.0).max(1.0),
            }
        }
    }
}

/// The fraction of rows a filter conjunct is assumed to keep.
fn selectivity(p: &Expr) -> f64 {
    match p {
        Expr::BinaryExpr {
            left,
            op: Operator::Eq,
            right,
        } if matches!(
            (left.as_ref(), right.as_ref()),
            (Expr::Column(_), Expr::Literal(_)) | (Expr::Literal(_), Expr::Column(_))
        ) =>
        {
            // A string compared with a constant is most often a category with few values
            // (`l_returnflag = 'R'` keeps a third of lineitem).
            let text = |e: &Expr| matches!(e, Expr::Literal(ScalarValue::Utf8(_)));
            if text(left) || text(right) {
                0.1
            } else {
                0.01
            }
        }
        // Negations keep most rows (`o_comment NOT LIKE '%special%requests%'`).
        Expr::BinaryExpr {
            op: Operator::NotEq,
            ..
        }
        | Expr::Not(_)
        | Expr::IsNotNull(_)
        | Expr::Like { negated: true, .. }
        | Expr::InList { negated: true, .. }
        | Expr::Between { negated: true, .. } => 0.9,
        _ => 0.1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::PushDownFilter;
    use crate::test_util::{assert_rule, cross, join, table};
    use rask_expr::{col, lit, LogicalPlanBuilder};

    fn check(plan: Arc<LogicalPlan>, expected: &str) {
        assert_rule(&ReorderJoins::new(), plan, expected);
    }

    fn t(name: &str, cols: &[&str], rows: usize) -> LogicalPlanBuilder {
        table(name, cols, Some(rows))
    }

    #[test]
    fn smaller_side_goes_right() {
        // small JOIN big: the big side becomes the probe (left) side; a projection restores
        // the column order.
        let plan = join(
            t("small", &["k", "v"], 10),
            t("big", &["bk", "bv"], 1000),
            vec![(col("k"), col("bk"))],
            Some(col("v").lt(col("bv"))),
            JoinType::Inner,
        )
        .build();
        check(
            plan,
            "
Projection: small.k, small.v, big.bk, big.bv
  Join: Inner on=[big.bk = small.k] filter=small.v < big.bv
    TableScan: big
    TableScan: small",
        );
    }

    #[test]
    fn unknown_sizes_keep_a_connected_tree() {
        let plan = join(
            join(
                table("a", &["a1"], None),
                table("b", &["b1", "b2"], None),
                vec![(col("a1"), col("b1"))],
                None,
                JoinType::Inner,
            ),
            table("c", &["c1"], None),
            vec![(col("b2"), col("c1"))],
            None,
            JoinType::Inner,
        )
        .build();
        check(
            plan,
            "
Join: Inner on=[b.b2 = c.c1]
  Join: Inner on=[a.a1 = b.b1]
    TableScan: a
    TableScan: b
  TableScan: c",
        );
    }

    #[test]
    fn q2_like_cross_join_disappears() {
        // FROM part, supplier, partsupp, nation, region
        // WHERE p_partkey = ps_partkey AND s_suppkey = ps_suppkey AND p_size = 15
        //   AND s_nationkey = n_nationkey AND n_regionkey = r_regionkey AND r_name = 'EUROPE'
        // part and supplier, next to each other in FROM, share no predicate.
        let part = t("part", &["p_partkey", "p_size"], 200_000);
        let supplier = t("supplier", &["s_suppkey", "s_nationkey"], 10_000);
        let partsupp = t("partsupp", &["ps_partkey", "ps_suppkey"], 800_000);
        let nation = t("nation", &["n_nationkey", "n_regionkey"], 25);
        let region = t("region", &["r_regionkey", "r_name"], 5);
        let plan = cross(
            cross(cross(cross(part, supplier), partsupp), nation),
            region,
        )
        .filter(
            col("p_partkey")
                .eq(col("ps_partkey"))
                .and(col("s_suppkey").eq(col("ps_suppkey")))
                .and(col("p_size").eq(lit(15i64)))
                .and(col("s_nationkey").eq(col("n_nationkey")))
                .and(col("n_regionkey").eq(col("r_regionkey")))
                .and(col("r_name").eq(lit("EUROPE"))),
        )
        .unwrap()
        .build();
        let pushed = PushDownFilter::new().rewrite(plan).unwrap();
        assert!(pushed.display_indent().contains("CrossJoin"));
        check(
            pushed,
            "
Projection: part.p_partkey, part.p_size, supplier.s_suppkey, supplier.s_nationkey, partsupp.ps_partkey, partsupp.ps_suppkey, nation.n_nationkey, nation.n_regionkey, region.r_regionkey, region.r_name
  Join: Inner on=[nation.n_regionkey = region.r_regionkey]
    Join: Inner on=[supplier.s_nationkey = nation.n_nationkey]
      Join: Inner on=[partsupp.ps_suppkey = supplier.s_suppkey]
        Join: Inner on=[partsupp.ps_partkey = part.p_partkey]
          TableScan: partsupp
          Filter: p_size = 15
            TableScan: part filters=[p_size = 15]
        TableScan: supplier
      TableScan: nation
    Filter: r_name = 'EUROPE'
      TableScan: region filters=[r_name = 'EUROPE']",
        );
    }

    #[test]
    fn disconnected_relation_is_joined_last() {
        // A one-row aggregate (a decorrelated scalar subquery) has no key: it is the cross
        // join, at the top, on the build side.
        let total = t("z", &["zv"], 1_000)
            .aggregate(
                vec![],
                vec![Expr::AggregateFunction {
                    func: rask_expr::AggFunc::Max,
                    args: vec![col("zv")],
                    distinct: false,
                    filter: None,
                }],
            )
            .unwrap();
        let plan = join(
            cross(total, t("a", &["a1"], 100)),
            t("b", &["b1"], 50),
            vec![(col("a1"), col("b1"))],
            None,
            JoinType::Inner,
        )
        .build();
        check(
            plan,
            "
Projection: max(zv), a.a1, b.b1
  CrossJoin: Inner
    Join: Inner on=[a.a1 = b.b1]
      TableScan: a
      TableScan: b
    Aggregate: groupBy=[], aggr=[max(zv)]
      TableScan: z",
        );
    }

    #[test]
    fn filter_only_connection_beats_cross_join() {
        let plan = cross(
            cross(t("a", &["a1"], 1000), t("b", &["b1"], 10)),
            t("c", &["c1"], 100),
        )
        .filter(col("a1").lt(col("c1")).and(col("c1").eq(col("b1"))))
        .unwrap()
        .build();
        let pushed = PushDownFilter::new().rewrite(plan).unwrap();
        check(
            pushed,
            "
Projection: a.a1, b.b1, c.c1
  Join: Inner on=[c.c1 = b.b1]
    Join: Inner on=[] filter=a.a1 < c.c1
      TableScan: a
      TableScan: c
    TableScan: b",
        );
    }

    #[test]
    fn estimates() {
        let scan = || t("x", &["k", "v"], 1000);
        assert_eq!(estimate(&scan().build()), 1000.0);
        let f = scan()
            .filter(col("k").eq(lit(1i64)).and(col("v").gt(lit(1i64))))
            .unwrap()
            .build();
        assert!((estimate(&f) - 1.0).abs() < 1e-9);
        let agg = scan().aggregate(vec![col("k")], vec![]).unwrap().build();
        assert_eq!(estimate(&agg), 100.0);
        assert_eq!(estimate(&scan().limit(0, Some(7)).build()), 7.0);
        assert_eq!(estimate(&table("u", &["a"], None).build()), UNKNOWN_ROWS);
    }

    #[test]
    fn outer_join_is_a_relation_of_its_own() {
        let left_join = join(
            t("a", &["a1"], 10),
            t("b", &["b1"], 1000),
            vec![(col("a1"), col("b1"))],
            None,
            JoinType::Left,
        );
        let plan = join(
            left_join,
            t("c", &["c1"], 5),
            vec![(col("a1"), col("c1"))],
            None,
            JoinType::Inner,
        )
        .build();
        // The left join stays as it is (its inputs are not swapped either).
        check(
            plan,
            "
Join: Inner on=[a.a1 = c.c1]
  Join: Left on=[a1 = b1]
    TableScan: a
    TableScan: b
  TableScan: c",
        );
    }
}
