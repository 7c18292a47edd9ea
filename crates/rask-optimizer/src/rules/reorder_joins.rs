//! Rebuilds trees of inner joins from estimated row counts: the cheapest tree by dynamic
//! programming up to ten relations, greedily above.

use std::sync::Arc;

use rask_common::{Result, ScalarValue};
use rask_expr::{
    conjunction, split_conjunction, Column, Expr, Filter, Join, JoinType, LogicalPlan, Operator,
    PlanSchema, Projection, TableScan,
};

use crate::utils::{column_at, map_inputs, replace_columns};
use crate::OptimizerRule;

/// Row count assumed for a table whose source does not know its own.
const UNKNOWN_ROWS: f64 = 1_000_000.0;

/// Most relations whose join order is searched exhaustively (see [`dp_order`]); larger trees
/// are ordered greedily.
const DP_MAX_RELATIONS: usize = 10;

/// Reorders each tree of `Inner` joins (after filter pushdown has turned the WHERE clause into
/// keys and join filters).
///
/// # What it does
///
/// The maximal tree of directly nested `Inner` joins is flattened into its relations (the
/// inputs that are not inner joins; each is reordered on its own first) and its predicates (the
/// keys as `l = r` equalities plus the filters' conjuncts). The tree is then rebuilt:
///
/// * With at most [`DP_MAX_RELATIONS`] relations, all of whose tables know their row counts,
///   by dynamic programming ([`dp_order`]): the cheapest tree, bushy or not, among those
///   whose every join has a key, where a join costs its estimated output and probe rows
///   plus twice its build rows ([`join_cost`]). The equalities implied by the keys are
///   added first ([`add_implied_keys`]: `a = b AND b = c` gives `a = c`), so that `a` and
///   `c`'s relations may join before `b`'s.
/// * Otherwise (or when no tree has a key at every join), greedily:
///   1. start from the relation with the largest estimated row count;
///   2. repeatedly join the smallest remaining relation *connected* to what is joined so far
///      by an equality usable as a key that references one side's rows (not one whose
///      values, by the statistics, repeat on both sides, like two tables' nation keys);
///      failing that, one connected by any key; failing that, by any predicate; failing
///      that (the query has a real cross product), the smallest remaining one.
///
/// Either way, each predicate goes to the lowest join where all its relations are present:
/// as a key when it is an equality between the two inputs, as the join's filter otherwise.
///
/// The executor builds its hash table on the right input and probes with the left, so each
/// join gets the relation on the right unless what is joined so far is estimated clearly
/// smaller (see [`build_left`]); the dynamic programming puts the smaller input on the right.
/// Greedy ties keep the original order, so a tree over tables of unknown size that has no
/// cross join comes back as it was.
///
/// # Estimates
///
/// * `TableScan`: `source.num_rows()` (exact for Parquet; 1,000,000 when unknown), capped by
///   `fetch`.
/// * `Filter`: the input's estimate times the selectivity of the conjuncts (see
///   [`filter_selectivity`]): over a scan with statistics, range conjuncts on a column keep
///   the part of its span they cover; otherwise 0.01 per `column = literal` conjunct (0.1 for
///   a string literal), an `IN` list of constants as many equalities (at most half the
///   rows), an `OR` what either side keeps (sides independent, each a conjunction in turn),
///   0.9 per negation (`<>`, `NOT`, `NOT LIKE`, `NOT IN`, `NOT BETWEEN`, `IS NOT NULL`) and
///   0.1 per other conjunct.
/// * `Aggregate`: input / 10 (one row without group keys); `Distinct`: input / 10.
/// * `Limit`: at most `fetch`; `Union`: the sum; `Projection`, `SubqueryAlias`, `Sort`: input.
/// * `Join`: keyed: the rows of the input whose *unfiltered* estimate is larger (the side that
///   references the other, as `lineitem` references `part`) times the fraction of its rows
///   the other input's filters keep (a filtered dimension thins its facts: lineitem joined
///   with the tenth of part that is green is a tenth of lineitem); when the tuple of keys
///   repeats on both sides (see [`repeated_key`]), the product divided by the tuple's
///   distinct count; filter only: product / 10;
///   cross: product; semi/anti: half of the kept side; outer: at least the preserved side(s).
///
/// Beside its rows, each estimate carries the rows it would have without the filters below
/// it (for a scan, the table; for an aggregation, its own rows): that is what tells a fact
/// table from a dimension after both were filtered.
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
    est: Estimate,
}

/// A predicate of the flattened tree, over relations given as bit masks.
#[derive(Clone)]
struct Predicate {
    expr: Expr,
    /// Every relation the predicate reads.
    mask: u64,
    /// For `l = r`: the relations each operand reads.
    eq: Option<(u64, u64)>,
    placed: bool,
    /// For an equality between columns of a class of columns that equalities make equal
    /// (see [`add_implied_keys`]): the class.
    class: Option<usize>,
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
            est: estimate(&plan),
            plan,
        });
        Ok(Some(()))
    }

    /// The relations `e` reads, as a bit mask.
    fn mask(&self, e: &Expr) -> u64 {
        let mut m = 0u64;
        for c in e.columns() {
            if let Ok(Some(g)) = self.full.maybe_index_of_column(&c) {
                m |= self.relation_bit(g);
            }
        }
        m
    }

    /// The bit of the relation that column `g` of the whole tree's schema comes from.
    fn relation_bit(&self, g: usize) -> u64 {
        1 << (self.starts.partition_point(|s| *s <= g) - 1)
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
            class: None,
        });
    }
    let relations = std::mem::take(&mut flat.relations);

    let mut acc = None;
    if relations.len() <= DP_MAX_RELATIONS && relations.iter().all(|r| has_statistics(&r.plan)) {
        let mut all = preds.clone();
        add_implied_keys(&mut all, &flat);
        acc = dp_order(&relations, &all)?;
    }
    let acc = match acc {
        Some(acc) => acc,
        None => greedy_order(&relations, &mut preds)?,
    };

    let same_order = acc.schema().fields() == full.fields();
    if same_order || any_order {
        return Ok(Some(acc));
    }
    let exprs = originals.into_iter().map(Expr::Column).collect();
    Ok(Some(Arc::new(LogicalPlan::Projection(
        Projection::try_new(exprs, acc)?,
    ))))
}

/// The join tree over `relations` built greedily (see [`ReorderJoins`]), every predicate
/// placed at the lowest join where all its relations are present.
fn greedy_order(relations: &[Relation], preds: &mut [Predicate]) -> Result<Arc<LogicalPlan>> {
    // Greedy: the largest relation first (the first one on ties).
    let n = relations.len();
    let mut start = 0;
    for i in 1..n {
        if relations[i].est.rows > relations[start].est.rows {
            start = i;
        }
    }
    let mut acc = Arc::clone(&relations[start].plan);
    let mut acc_est = relations[start].est;
    let mut acc_mask: u64 = 1 << start;
    let mut remaining: Vec<usize> = (0..n).filter(|i| *i != start).collect();
    while !remaining.is_empty() {
        let keyable = |p: &Predicate, r: usize| key_sides(p, acc_mask, 1 << r).is_some();
        // A key that references one side's rows (unique or nearly so there), not one that
        // matches many rows on both sides (`s_nationkey = c_nationkey`).
        let references = |p: &Predicate, r: usize| {
            key_sides(p, acc_mask, 1 << r).is_some_and(|(a, b)| {
                repeated_key(&acc, &[&a], &relations[r].plan, &[&b]).is_none()
            })
        };
        let touches = |p: &Predicate, r: usize| {
            let m = p.mask;
            m & (1 << r) != 0 && m & acc_mask != 0 && m & !(acc_mask | (1 << r)) == 0
        };
        let pick = |ok: &dyn Fn(usize) -> bool| {
            remaining
                .iter()
                .copied()
                .filter(|r| ok(*r))
                .min_by(|a, b| relations[*a].est.rows.total_cmp(&relations[*b].est.rows))
        };
        let next = pick(&|r| preds.iter().any(|p| !p.placed && references(p, r)))
            .or_else(|| pick(&|r| preds.iter().any(|p| !p.placed && keyable(p, r))))
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
        let (left_plan, right_plan, keys) = if build_left(acc_est.rows, right.est.rows) {
            let swapped = keys.into_iter().map(|(a, r)| (r, a)).collect();
            (Arc::clone(&right.plan), acc, swapped)
        } else {
            (acc, Arc::clone(&right.plan), keys)
        };
        acc = Arc::new(LogicalPlan::Join(Join::try_new(
            left_plan,
            right_plan,
            keys,
            conjunction(filter),
            JoinType::Inner,
        )?));
        acc_est = estimate(&acc);
        acc_mask = joined;
    }
    // Predicates over no relation at all (constants) would have been placed at the first join.
    debug_assert!(preds.iter().all(|p| p.placed));
    Ok(acc)
}

/// Adds to `preds` the equalities that the equalities between columns imply (transitive
/// keys: Q9's `p_partkey = l_partkey AND ps_partkey = l_partkey` imply `p_partkey =
/// ps_partkey`, which lets part join partsupp before lineitem) and marks each equality of a
/// class of columns so made equal with its class.
///
/// Only classes whose columns all come from different relations and have one type are
/// completed: then, with every pair of their columns equated, the columns of a class within
/// any set of joined relations are equal, and a join between two sets needs one key per
/// class ([`join_sets`] drops the others).
fn add_implied_keys(preds: &mut Vec<Predicate>, flat: &Flat) {
    let full = flat.full;
    let index = |e: &Expr| match e {
        Expr::Column(c) => full.maybe_index_of_column(c).ok().flatten(),
        _ => None,
    };
    // Union-find over the whole tree's columns, by the `column = column` predicates.
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let mut parent: Vec<usize> = (0..full.len()).collect();
    let mut equalities: Vec<(usize, usize, usize)> = vec![];
    for (k, p) in preds.iter().enumerate() {
        let Expr::BinaryExpr {
            left,
            op: Operator::Eq,
            right,
        } = &p.expr
        else {
            continue;
        };
        if let (Some(l), Some(r)) = (index(left), index(right)) {
            let (rl, rr) = (root(&mut parent, l), root(&mut parent, r));
            parent[rl] = rr;
            equalities.push((k, l, r));
        }
    }
    // The columns of each class, under its root.
    let mut classes: Vec<Vec<usize>> = vec![vec![]; full.len()];
    for &(_, l, r) in &equalities {
        for c in [l, r] {
            let members = &mut classes[root(&mut parent, c)];
            if !members.contains(&c) {
                members.push(c);
            }
        }
    }
    for (class, members) in classes.iter().enumerate() {
        let relations = members.iter().fold(0u64, |m, &c| m | flat.relation_bit(c));
        let data_type = |c: usize| full.field(c).data_type();
        if members.len() < 2
            || relations.count_ones() as usize != members.len()
            || members
                .iter()
                .any(|&c| data_type(c) != data_type(members[0]))
        {
            continue;
        }
        for &(k, l, _) in &equalities {
            if root(&mut parent, l) == class {
                preds[k].class = Some(class);
            }
        }
        for (x, &i) in members.iter().enumerate() {
            for &j in &members[x + 1..] {
                let stated = equalities
                    .iter()
                    .any(|&(_, l, r)| (l, r) == (i, j) || (l, r) == (j, i));
                if stated {
                    continue;
                }
                let (Some(ci), Some(cj)) = (column_at(full, i), column_at(full, j)) else {
                    continue;
                };
                let (mi, mj) = (flat.relation_bit(i), flat.relation_bit(j));
                preds.push(Predicate {
                    expr: Expr::Column(ci).eq(Expr::Column(cj)),
                    mask: mi | mj,
                    eq: Some((mi, mj)),
                    placed: false,
                    class: Some(class),
                });
            }
        }
    }
}

/// The best plan found so far for a set of relations.
struct Best {
    plan: Arc<LogicalPlan>,
    est: Estimate,
    /// The estimated work of its joins (see [`join_cost`]).
    cost: f64,
}

/// The cheapest tree, by [`join_cost`], over `relations` whose every join has a key: dynamic
/// programming over the connected subsets. For each set of relations (in increasing order of
/// its bit mask, so that its subsets come first), every split into two subsets already
/// solved that an equality between them connects is joined, and the cheapest join is kept.
/// That is DPccp's search space (all bushy trees without cross products); the splits are
/// enumerated per set as in DPsub, which for the at most [`DP_MAX_RELATIONS`] relations it
/// runs on is at most 3^10 bit-mask steps. `None` when no such tree exists (the relations
/// are connected only through filters or not at all): the greedy order handles those.
fn dp_order(relations: &[Relation], preds: &[Predicate]) -> Result<Option<Arc<LogicalPlan>>> {
    let n = relations.len();
    let all: u64 = (1 << n) - 1;
    let mut best: Vec<Option<Best>> = (0..=all).map(|_| None).collect();
    for (i, r) in relations.iter().enumerate() {
        best[1 << i] = Some(Best {
            plan: Arc::clone(&r.plan),
            est: r.est,
            cost: 0.0,
        });
    }
    for set in 1..=all {
        if set.count_ones() < 2 {
            continue;
        }
        // `left` holds the set's lowest relation, so that each split is tried once.
        let low = set & set.wrapping_neg();
        let rest = set & !low;
        let mut sub = rest;
        loop {
            sub = sub.wrapping_sub(1) & rest;
            let (left, right) = (low | sub, rest & !sub);
            if let Some(b) = join_sets(&best, preds, left, right, set == all)? {
                best[set as usize] = Some(b);
            }
            if sub == 0 {
                break;
            }
        }
    }
    Ok(best[all as usize].take().map(|b| b.plan))
}

/// The join of the best plans for the disjoint sets `a` and `b`, when both exist, some
/// equality between them is a key and no plan for `a | b` in `best` is as cheap; with its
/// predicates: those over both sets' relations that neither plan holds (a plan of one
/// relation holds none) and, at the `top` join, those over no relation. The plan is built
/// only once its estimate (from its inputs') makes it the cheapest so far.
fn join_sets(
    best: &[Option<Best>],
    preds: &[Predicate],
    a: u64,
    b: u64,
    top: bool,
) -> Result<Option<Best>> {
    let (Some(x), Some(y)) = (&best[a as usize], &best[b as usize]) else {
        return Ok(None);
    };
    let set = a | b;
    let holds = |s: u64, m: u64| s.count_ones() > 1 && m & !s == 0;
    let here = |p: &&Predicate| {
        p.mask & !set == 0 && !holds(a, p.mask) && !holds(b, p.mask) && (p.mask != 0 || top)
    };
    let (mut keys, mut filter, mut classes) = (vec![], vec![], vec![]);
    for p in preds.iter().filter(here) {
        match key_sides(p, a, b) {
            // One key per class: each side's columns of the class are equal already.
            Some(_) if p.class.is_some_and(|c| classes.contains(&c)) => {}
            Some(k) => {
                classes.extend(p.class);
                keys.push(k);
            }
            None => filter.push(p.expr.clone()),
        }
    }
    if keys.is_empty() {
        return Ok(None);
    }
    // The smaller input on the right, where the executor builds its hash table.
    let (probe, build, keys) = if x.est.rows < y.est.rows {
        (y, x, keys.into_iter().map(|(l, r)| (r, l)).collect())
    } else {
        (x, y, keys)
    };
    let est = inner_join_estimate(
        &probe.plan,
        probe.est,
        &build.plan,
        build.est,
        &keys,
        !filter.is_empty(),
    );
    let cost = x.cost + y.cost + join_cost(probe.est.rows, build.est.rows, est.rows);
    if best[set as usize]
        .as_ref()
        .is_some_and(|old| old.cost <= cost)
    {
        return Ok(None);
    }
    let plan = Arc::new(LogicalPlan::Join(Join::try_new(
        Arc::clone(&probe.plan),
        Arc::clone(&build.plan),
        keys,
        conjunction(filter),
        JoinType::Inner,
    )?));
    Ok(Some(Best { plan, est, cost }))
}

/// The estimated work of a hash join: its output and probe rows once, its build rows twice
/// (inserted into the table, and their columns gathered into it, which costs more per row than
/// a probe). Scans cost the same in every order and are left out.
fn join_cost(probe: f64, build: f64, out: f64) -> f64 {
    out + probe + 2.0 * build
}

/// Whether every table under `plan` knows its row count: without statistics, costs would
/// compare guesses, and the greedy order keeps the written one on ties.
fn has_statistics(plan: &LogicalPlan) -> bool {
    match plan {
        LogicalPlan::TableScan(s) => s.source.num_rows().is_some(),
        _ => plan.inputs().iter().all(|p| has_statistics(p)),
    }
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

/// Whether a join whose inputs are estimated at `left` and `right` rows should build its hash
/// table on the left input: only when the left is less than half the right. A right input
/// that is not much bigger is built all the same: in a join tree the right input is one
/// relation (the narrow rows of a table, whose scan takes runtime filters) and the left one
/// the joins so far (wide rows, costlier to gather into a table), and estimates are rough.
pub fn build_left(left: f64, right: f64) -> bool {
    left * 2.0 < right
}

/// Estimated output rows of `plan` (see [`ReorderJoins`] for the rules): what join ordering,
/// the physical planner's build sides and EXPLAIN's `est_rows` use.
pub fn estimate_rows(plan: &LogicalPlan) -> f64 {
    estimate(plan).rows
}

/// An estimate: the rows, and the rows without the filters below (see [`ReorderJoins`]).
#[derive(Debug, Clone, Copy)]
struct Estimate {
    rows: f64,
    unfiltered: f64,
}

impl Estimate {
    /// An estimate with no filter below it.
    fn base(rows: f64) -> Estimate {
        Estimate {
            rows,
            unfiltered: rows,
        }
    }

    /// Scaled by `f` (a filter's selectivity), the unfiltered rows kept.
    fn scaled(self, f: f64) -> Estimate {
        Estimate {
            rows: (self.rows * f).max(1.0),
            unfiltered: self.unfiltered,
        }
    }

    /// The fraction of the unfiltered rows kept.
    fn kept(self) -> f64 {
        (self.rows / self.unfiltered.max(1.0)).min(1.0)
    }

    /// An equi-join with `other`: the side with more unfiltered rows references the other,
    /// whose filters thin it.
    fn keyed(self, other: Estimate) -> Estimate {
        let (fact, dim) = if self.unfiltered >= other.unfiltered {
            (self, other)
        } else {
            (other, self)
        };
        fact.scaled(dim.kept())
    }

    /// A join without keys: the product, times `f` for a filter.
    fn product(self, other: Estimate, f: f64) -> Estimate {
        Estimate {
            rows: (self.rows * other.rows * f).max(1.0),
            unfiltered: self.unfiltered * other.unfiltered,
        }
    }
}

fn estimate(plan: &LogicalPlan) -> Estimate {
    match plan {
        LogicalPlan::TableScan(s) => {
            let n = s.source.num_rows().map_or(UNKNOWN_ROWS, |n| n as f64);
            Estimate {
                rows: s.fetch.map_or(n, |f| n.min(f as f64)),
                unfiltered: n,
            }
        }
        LogicalPlan::Filter(f) => estimate(&f.input).scaled(filter_selectivity(f)),
        LogicalPlan::Projection(p) => estimate(&p.input),
        LogicalPlan::Window(w) => estimate(&w.input),
        // branch `partition`: a shuffle keeps the rows; a partition function is a guess.
        LogicalPlan::Repartition(r) => estimate(&r.input),
        LogicalPlan::MapPartitions(m) => estimate(&m.input),
        LogicalPlan::SubqueryAlias(a) => estimate(&a.input),
        LogicalPlan::Sort(s) => {
            let e = estimate(&s.input);
            s.fetch.map_or(e, |f| Estimate {
                rows: e.rows.min(f as f64),
                ..e
            })
        }
        LogicalPlan::Limit(l) => {
            let e = estimate(&l.input);
            let n = (e.rows - l.skip as f64).max(0.0);
            Estimate {
                rows: l.fetch.map_or(n, |f| n.min(f as f64)),
                ..e
            }
        }
        LogicalPlan::Aggregate(a) if a.group_exprs.is_empty() => Estimate::base(1.0),
        LogicalPlan::Aggregate(a) => Estimate::base((estimate(&a.input).rows / 10.0).max(1.0)),
        LogicalPlan::Distinct(i) => Estimate::base((estimate(i).rows / 10.0).max(1.0)),
        LogicalPlan::Union(u) => Estimate::base(u.inputs.iter().map(|i| estimate(i).rows).sum()),
        LogicalPlan::Values(v) => Estimate::base(v.rows.len() as f64),
        LogicalPlan::EmptyRelation(e) => Estimate::base(f64::from(u8::from(e.produce_one_row))),
        LogicalPlan::Join(j) => {
            let (l, r) = (estimate(&j.left), estimate(&j.right));
            let inner = inner_join_estimate(&j.left, l, &j.right, r, &j.on, j.filter.is_some());
            let at_least = |e: Estimate, rows: f64| Estimate {
                rows: e.rows.max(rows),
                ..e
            };
            match j.join_type {
                JoinType::Inner => inner,
                JoinType::Left => at_least(inner, l.rows),
                JoinType::Right => at_least(inner, r.rows),
                JoinType::Full => at_least(inner, l.rows + r.rows),
                JoinType::LeftSemi | JoinType::LeftAnti | JoinType::LeftAntiNullAware => {
                    l.scaled(0.5)
                }
                JoinType::RightSemi | JoinType::RightAnti => r.scaled(0.5),
            }
        }
    }
}

/// The estimate of the inner join of `left` and `right` (estimated at `l` and `r`) on the
/// keys `on`, with a filter or not.
fn inner_join_estimate(
    left: &LogicalPlan,
    l: Estimate,
    right: &LogicalPlan,
    r: Estimate,
    on: &[(Expr, Expr)],
    filter: bool,
) -> Estimate {
    // When the key tuple repeats on both sides: the product over its distinct count.
    let repeated = if on.is_empty() {
        None
    } else {
        let (a, b): (Vec<&Expr>, Vec<&Expr>) = on.iter().map(|(a, b)| (a, b)).unzip();
        repeated_key(left, &a, right, &b)
    };
    if let Some(keys) = repeated {
        l.product(r, 1.0 / keys.max(1.0))
    } else if !on.is_empty() {
        l.keyed(r)
    } else if filter {
        l.product(r, 0.1)
    } else {
        l.product(r, 1.0)
    }
}

/// When the equi-keys `a[i] = b[i]` (over `left` and `right`) together match many rows on
/// each side: the larger of the two sides' distinct counts of the key tuple. On each side,
/// that count is the product of the keys' counts (per [`key_distinct`], all known), at most
/// the rows of the largest table they come from, and must be under half those rows.
/// `None` when some side's tuple may reference the other's rows (unknown keys are taken to):
/// `(ps_partkey, ps_suppkey)` is unique in partsupp though each key alone repeats.
fn repeated_key(left: &LogicalPlan, a: &[&Expr], right: &LogicalPlan, b: &[&Expr]) -> Option<f64> {
    let repeats = |p: &LogicalPlan, keys: &[&Expr]| {
        let (mut d, mut rows) = (1.0f64, 0.0f64);
        for e in keys {
            let (di, ri) = key_distinct(p, e)?;
            d *= di;
            rows = rows.max(ri);
        }
        let d = d.min(rows);
        (d * 2.0 < rows).then_some(d)
    };
    Some(repeats(left, a)?.max(repeats(right, b)?))
}

/// The statistics of output column `i` of scan `s`: its table's `(min, max)`.
fn scan_min_max(s: &TableScan, i: usize) -> Option<(ScalarValue, ScalarValue)> {
    let column = s
        .projection
        .as_ref()
        .map_or(Some(i), |p| p.get(i).copied())?;
    s.source.column_min_max(column)
}

/// For a key that is a column of `plan` read from a table scan: at most how many distinct
/// values it holds (the span of its integer values in the statistics, at most the table's
/// rows) and the table's rows.
fn key_distinct(plan: &LogicalPlan, e: &Expr) -> Option<(f64, f64)> {
    let c = match e {
        Expr::Column(c) => c,
        Expr::Cast { expr, .. } => match expr.as_ref() {
            Expr::Column(c) => c,
            _ => return None,
        },
        _ => return None,
    };
    let i = plan.schema().maybe_index_of_column(c).ok()??;
    column_distinct(plan, i)
}

/// [`key_distinct`] for output column `i` of `plan`.
fn column_distinct(plan: &LogicalPlan, i: usize) -> Option<(f64, f64)> {
    match plan {
        LogicalPlan::TableScan(s) => {
            let rows = s.source.num_rows()? as f64;
            let (min, max) = scan_min_max(s, i)?;
            let int = |v: &ScalarValue| match v {
                ScalarValue::Int64(Some(v)) => Some(*v as f64),
                ScalarValue::Int32(Some(v)) => Some(*v as f64),
                ScalarValue::Date32(Some(v)) => Some(*v as f64),
                _ => None,
            };
            let span = int(&max)? - int(&min)? + 1.0;
            Some((span.min(rows), rows))
        }
        LogicalPlan::Filter(f) => column_distinct(&f.input, i),
        LogicalPlan::SubqueryAlias(a) => column_distinct(&a.input, i),
        LogicalPlan::Sort(s) => column_distinct(&s.input, i),
        LogicalPlan::Limit(l) => column_distinct(&l.input, i),
        LogicalPlan::Projection(p) => match p.exprs.get(i)? {
            Expr::Column(c) => {
                let j = p.input.schema().maybe_index_of_column(c).ok()??;
                column_distinct(&p.input, j)
            }
            _ => None,
        },
        LogicalPlan::Join(j) => {
            let n = j.left.schema().len();
            if plan.schema().len() != n + j.right.schema().len() {
                return None;
            }
            if i < n {
                column_distinct(&j.left, i)
            } else {
                column_distinct(&j.right, i - n)
            }
        }
        _ => None,
    }
}

/// The fraction of rows `f` is assumed to keep (see [`conjunction_selectivity`]).
fn filter_selectivity(f: &Filter) -> f64 {
    let scan = match f.input.as_ref() {
        LogicalPlan::TableScan(s) => Some(s),
        _ => None,
    };
    conjunction_selectivity(&split_conjunction(&f.predicate), scan)
}

/// The fraction of rows kept by all of `conjuncts`: the product over them. Over a table scan
/// whose statistics give a column's smallest and largest value, the range conjuncts on that
/// column (`<`, `<=`, `>`, `>=`, `BETWEEN` with a constant) together keep the part of that
/// span they cover (`o_orderdate >= '1994-01-01' AND o_orderdate < '1995-01-01'` over seven
/// years of orders: a seventh); an `OR` keeps what either side keeps, its sides taken as
/// independent (each side is a conjunction in turn, so Q19's three branches of brand,
/// container and size ranges each count); every other conjunct keeps [`selectivity`].
fn conjunction_selectivity(conjuncts: &[&Expr], scan: Option<&TableScan>) -> f64 {
    // Per scan column with statistics: its span and the bounds the conjuncts set.
    let mut ranges: Vec<(usize, f64, f64, f64, f64)> = Vec::new();
    let mut sel = 1.0;
    for &c in conjuncts {
        if let Expr::BinaryExpr {
            left,
            op: Operator::Or,
            right,
        } = c
        {
            let side = |e: &Expr| conjunction_selectivity(&split_conjunction(e), scan);
            let (l, r) = (side(left), side(right));
            sel *= 1.0 - (1.0 - l) * (1.0 - r);
            continue;
        }
        let bounded = scan.and_then(|s| {
            let (col, lo, hi) = range_bound(c)?;
            let i = s.schema.maybe_index_of_column(col).ok()??;
            let (min, max) = scan_min_max(s, i)?;
            Some((i, min.as_f64()?, max.as_f64()?, lo, hi))
        });
        let Some((column, min, max, lo, hi)) = bounded else {
            sel *= selectivity(c);
            continue;
        };
        match ranges.iter_mut().find(|r| r.0 == column) {
            Some(r) => {
                r.3 = r.3.max(lo);
                r.4 = r.4.min(hi);
            }
            None => ranges.push((column, min, max, lo, hi)),
        }
    }
    for (_, min, max, lo, hi) in ranges {
        let (lo, hi) = (lo.max(min), hi.min(max));
        sel *= if hi < lo {
            0.0
        } else if max > min {
            (hi - lo) / (max - min)
        } else {
            1.0
        };
    }
    sel
}

/// `(column, lower bound, upper bound)` of a range conjunct comparing a column with a numeric
/// constant (an open side is infinite).
fn range_bound(e: &Expr) -> Option<(&Column, f64, f64)> {
    let num = |e: &Expr| match e {
        Expr::Literal(v) => v.as_f64(),
        _ => None,
    };
    match e {
        Expr::BinaryExpr { left, op, right } => {
            let (col, v, op) = match (left.as_ref(), right.as_ref()) {
                (Expr::Column(c), r) => (c, num(r)?, *op),
                (l, Expr::Column(c)) => (c, num(l)?, op.swap()?),
                _ => return None,
            };
            match op {
                Operator::Gt | Operator::GtEq => Some((col, v, f64::INFINITY)),
                Operator::Lt | Operator::LtEq => Some((col, f64::NEG_INFINITY, v)),
                _ => None,
            }
        }
        Expr::Between {
            expr,
            negated: false,
            low,
            high,
        } => match expr.as_ref() {
            Expr::Column(c) => Some((c, num(low)?, num(high)?)),
            _ => None,
        },
        _ => None,
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
            equality_selectivity(left, right)
        }
        // Each value of the list as an equality, at most half the rows.
        Expr::InList {
            expr,
            list,
            negated: false,
        } if list.iter().all(|e| matches!(e, Expr::Literal(_))) => match list.first() {
            Some(first) => (list.len() as f64 * equality_selectivity(expr, first)).min(0.5),
            None => 0.0,
        },
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

/// The fraction of rows `left = right` keeps, one side a constant. A string compared with a
/// constant is most often a category with few values (`l_returnflag = 'R'` keeps a third of
/// lineitem): 0.1; other types 0.01.
fn equality_selectivity(left: &Expr, right: &Expr) -> f64 {
    let text = |e: &Expr| matches!(e, Expr::Literal(ScalarValue::Utf8(_)));
    if text(left) || text(right) {
        0.1
    } else {
        0.01
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::PushDownFilter;
    use crate::test_util::{assert_rule, cross, join, table, table_with_stats};
    use rask_expr::{col, lit, LogicalPlanBuilder};

    fn check(plan: Arc<LogicalPlan>, expected: &str) {
        assert_rule(&ReorderJoins::new(), plan, expected);
    }

    /// `plan` with its filters pushed down and its joins reordered, as text.
    fn reordered(plan: Arc<LogicalPlan>) -> String {
        let pushed = PushDownFilter::new().rewrite(plan).unwrap();
        let out = ReorderJoins::new().rewrite(pushed).unwrap();
        out.display_indent().to_string()
    }

    /// Asserts that two estimates agree.
    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-6, "{a} vs {b}");
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
        // part and supplier, next to each other in FROM, share no predicate. The cheapest
        // tree is bushy: the European suppliers are built apart from partsupp's join with
        // the parts of size 15.
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
  Join: Inner on=[partsupp.ps_suppkey = supplier.s_suppkey]
    Join: Inner on=[partsupp.ps_partkey = part.p_partkey]
      TableScan: partsupp
      Filter: p_size = 15
        TableScan: part filters=[p_size = 15]
    Join: Inner on=[supplier.s_nationkey = nation.n_nationkey]
      TableScan: supplier
      Join: Inner on=[nation.n_regionkey = region.r_regionkey]
        TableScan: nation
        Filter: r_name = 'EUROPE'
          TableScan: region filters=[r_name = 'EUROPE']",
        );
    }

    #[test]
    fn more_relations_than_the_search_takes_are_joined_greedily() {
        // A chain of twelve tables, written in an order that pairs unconnected neighbours:
        // the greedy order (from the largest, t11) joins each by its key, no cross join.
        let n = DP_MAX_RELATIONS + 2;
        let name = |i: usize| format!("t{i}");
        let order: Vec<usize> = (0..n).step_by(2).chain((1..n).step_by(2)).collect();
        let mut plan = t(&name(order[0]), &["k", "next"], 1000);
        for &i in &order[1..] {
            plan = cross(plan, t(&name(i), &["k", "next"], 1000 * (i + 1)));
        }
        let chain = (0..n - 1)
            .map(|i| col(&format!("{}.next", name(i))).eq(col(&format!("{}.k", name(i + 1)))))
            .reduce(Expr::and)
            .unwrap();
        let text = reordered(plan.filter(chain).unwrap().build());
        assert!(!text.contains("CrossJoin"), "{text}");
        let keyed = text.matches("Join: Inner on=[t").count();
        assert_eq!(keyed, n - 1, "{text}");
        // The outermost join adds the last relation the greedy order reached: t0.
        let top = text.lines().nth(1).unwrap_or_default();
        assert!(top.contains("t0."), "{text}");
    }

    #[test]
    fn keys_of_a_class_with_two_columns_of_one_table_all_stay() {
        // a.x = b.z AND a.y = b.z AND c.w = b.z: a.x and a.y are not equal within a, so no
        // key of the class may be dropped as implied (a join of a needs both).
        let plan = cross(
            cross(t("a", &["x", "y"], 1000), t("b", &["z"], 100)),
            t("c", &["w"], 10),
        )
        .filter(
            col("x")
                .eq(col("z"))
                .and(col("y").eq(col("z")))
                .and(col("w").eq(col("z"))),
        )
        .unwrap()
        .build();
        let text = reordered(plan);
        for key in ["a.x = b.z", "a.y = b.z", "c.w"] {
            assert!(text.contains(key), "{key}: {text}");
        }
    }

    #[test]
    fn implied_keys_join_tables_no_predicate_joins() {
        // b.k = a.k AND c.k = a.k: b and c (the two small ones) join first on the implied
        // b.k = c.k, and that join is built once for a; one key of the class suffices.
        let plan = cross(
            cross(t("a", &["k"], 100_000), t("b", &["k"], 1000)),
            t("c", &["k"], 10),
        )
        .filter(col("b.k").eq(col("a.k")).and(col("c.k").eq(col("a.k"))))
        .unwrap()
        .build();
        let pushed = PushDownFilter::new().rewrite(plan).unwrap();
        check(
            pushed,
            "
Join: Inner on=[a.k = b.k]
  TableScan: a
  Join: Inner on=[b.k = c.k]
    TableScan: b
    TableScan: c",
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
        assert_eq!(estimate_rows(&scan().build()), 1000.0);
        let f = scan()
            .filter(col("k").eq(lit(1i64)).and(col("v").gt(lit(1i64))))
            .unwrap()
            .build();
        assert!((estimate_rows(&f) - 1.0).abs() < 1e-9);
        let agg = scan().aggregate(vec![col("k")], vec![]).unwrap().build();
        assert_eq!(estimate_rows(&agg), 100.0);
        assert_eq!(estimate_rows(&scan().limit(0, Some(7)).build()), 7.0);
        assert_eq!(
            estimate_rows(&table("u", &["a"], None).build()),
            UNKNOWN_ROWS
        );
    }

    #[test]
    fn ranges_over_columns_with_statistics() {
        // Values in 0..=1000: `k >= 100 AND k < 300` keeps a fifth, `k BETWEEN 0 AND 1000`
        // all of it, bounds outside the span nothing (one row); a column without statistics
        // takes 0.1 per conjunct.
        let scan = || table_with_stats("x", &["k", "v"], Some(10_000), &[1000, 1000]);
        let rows = |p: Expr, b: LogicalPlanBuilder| estimate_rows(&b.filter(p).unwrap().build());
        close(
            rows(
                col("k").gt_eq(lit(100i64)).and(col("k").lt(lit(300i64))),
                scan(),
            ),
            2000.0,
        );
        close(rows(lit(300i64).gt(col("k")), scan()), 3000.0);
        close(
            rows(
                Expr::Between {
                    expr: Box::new(col("k")),
                    negated: false,
                    low: Box::new(lit(0i64)),
                    high: Box::new(lit(1000i64)),
                },
                scan(),
            ),
            10_000.0,
        );
        close(rows(col("k").gt(lit(5000i64)), scan()), 1.0);
        // Two columns: the fractions multiply.
        close(
            rows(
                col("k").lt(lit(500i64)).and(col("v").lt(lit(100i64))),
                scan(),
            ),
            500.0,
        );
        let plain = || t("y", &["k"], 10_000);
        close(
            rows(
                col("k").gt_eq(lit(100i64)).and(col("k").lt(lit(300i64))),
                plain(),
            ),
            100.0,
        );
    }

    #[test]
    fn or_and_in_lists_over_columns_with_statistics() {
        // Each side of an OR is a conjunction in turn (Q19's branches), the sides taken as
        // independent; an IN list of constants counts as that many equalities, at most half.
        let scan = || table_with_stats("x", &["k", "s"], Some(10_000), &[1000, 0]);
        let rows = |p: Expr| estimate_rows(&scan().filter(p).unwrap().build());
        close(
            rows(col("k").lt(lit(100i64)).or(col("k").gt_eq(lit(900i64)))),
            1900.0,
        );
        close(
            rows(
                col("k")
                    .lt(lit(100i64))
                    .and(col("s").eq(lit("a")))
                    .or(col("k").gt(lit(900i64))),
            ),
            1090.0,
        );
        let in_list = |n: usize| Expr::InList {
            expr: Box::new(col("s")),
            list: (0..n).map(|i| lit(format!("v{i}"))).collect(),
            negated: false,
        };
        close(rows(in_list(2)), 2000.0);
        close(rows(in_list(10)), 5000.0);
    }

    #[test]
    fn a_key_repeated_on_both_sides_waits() {
        // Q5's shape: fact references supp and orders; cust references orders and shares a
        // 25-value nation with supp. Joined on the nation alone, supp and cust would pair
        // every supplier row with every customer of its nation: cust waits for orders.
        let fact = t("fact", &["f_ord", "f_supp"], 600_000);
        let supp = table_with_stats("supp", &["s_key", "s_nat"], Some(1_000), &[999, 24]);
        let orders = t("orders", &["o_key", "o_cust"], 150_000);
        let cust = table_with_stats("cust", &["c_key", "c_nat"], Some(15_000), &[14_999, 24]);
        let plan = cross(cross(cross(fact, supp), orders), cust)
            .filter(
                col("f_supp")
                    .eq(col("s_key"))
                    .and(col("f_ord").eq(col("o_key")))
                    .and(col("o_cust").eq(col("c_key")))
                    .and(col("s_nat").eq(col("c_nat"))),
            )
            .unwrap()
            .build();
        let text = reordered(plan);
        let joins: Vec<&str> = text
            .lines()
            .filter_map(|l| l.trim().strip_prefix("Join: Inner on="))
            .collect();
        // Outermost first: supp last, on its key and the nation together; cust joins orders,
        // and that pair is the build side of fact.
        assert_eq!(
            joins,
            [
                "[fact.f_supp = supp.s_key, cust.c_nat = supp.s_nat]",
                "[fact.f_ord = orders.o_key]",
                "[orders.o_cust = cust.c_key]",
            ],
            "{text}"
        );
        // The nation key alone estimates every pairing of the two: 1,000 * 15,000 / 25.
        let m2m = join(
            table_with_stats("supp", &["s_key", "s_nat"], Some(1_000), &[999, 24]),
            table_with_stats("cust", &["c_key", "c_nat"], Some(15_000), &[14_999, 24]),
            vec![(col("s_nat"), col("c_nat"))],
            None,
            JoinType::Inner,
        );
        assert!((estimate_rows(&m2m.build()) - 600_000.0).abs() < 1e-6);
    }

    #[test]
    fn a_key_tuple_unique_on_one_side_references_it() {
        // Each of partsupp's keys repeats, but the pair is unique there: lineitem joined
        // with it on both keeps lineitem's rows (the product over the keys' distinct counts
        // would make it 6,000,000 * 800,000 / (200,000 * 10,000) = 2,400).
        let j = join(
            table_with_stats(
                "li",
                &["l_part", "l_supp"],
                Some(6_000_000),
                &[199_999, 9_999],
            ),
            table_with_stats(
                "ps",
                &["ps_part", "ps_supp"],
                Some(800_000),
                &[199_999, 9_999],
            ),
            vec![
                (col("l_part"), col("ps_part")),
                (col("l_supp"), col("ps_supp")),
            ],
            None,
            JoinType::Inner,
        );
        close(estimate_rows(&j.build()), 6_000_000.0);
    }

    #[test]
    fn a_bushy_tree_when_it_is_cheaper() {
        // Q9's shape: lineitem references part (a tenth kept) and partsupp (on both keys),
        // no predicate joins partsupp with part, but `ps_part = l_part = p_key` implies one.
        // Joining the filtered part into partsupp first, and building lineitem's join on
        // that, never builds all of partsupp; that join needs one of the two part keys.
        let li = table_with_stats(
            "li",
            &["l_part", "l_supp", "l_ord"],
            Some(6_000_000),
            &[199_999, 9_999, 5_999_999],
        );
        let part = table_with_stats("part", &["p_key", "p_name"], Some(200_000), &[199_999])
            .filter(col("p_name").gt(lit(1i64)))
            .unwrap();
        let ps = table_with_stats(
            "ps",
            &["ps_part", "ps_supp"],
            Some(800_000),
            &[199_999, 9_999],
        );
        let orders = table_with_stats("orders", &["o_key"], Some(1_500_000), &[5_999_999]);
        let plan = cross(cross(cross(part, li), ps), orders)
            .filter(
                col("p_key")
                    .eq(col("l_part"))
                    .and(col("ps_part").eq(col("l_part")))
                    .and(col("ps_supp").eq(col("l_supp")))
                    .and(col("o_key").eq(col("l_ord"))),
            )
            .unwrap()
            .build();
        let pushed = PushDownFilter::new().rewrite(plan).unwrap();
        check(
            pushed,
            "
Projection: part.p_key, part.p_name, li.l_part, li.l_supp, li.l_ord, ps.ps_part, ps.ps_supp, orders.o_key
  Join: Inner on=[orders.o_key = li.l_ord]
    TableScan: orders
    Join: Inner on=[li.l_part = part.p_key, li.l_supp = ps.ps_supp]
      TableScan: li
      Join: Inner on=[ps.ps_part = part.p_key]
        TableScan: ps
        Filter: p_name > 1
          TableScan: part filters=[p_name > 1]",
        );
    }

    #[test]
    fn a_filtered_dimension_thins_its_facts() {
        // fact (10,000) references dim (1,000), of which a tenth is kept: a tenth of fact.
        let dim = || {
            t("dim", &["d", "name"], 1000)
                .filter(col("name").gt(lit(1i64)))
                .unwrap()
        };
        let fact = || t("fact", &["f", "fd"], 10_000);
        let j = join(
            fact(),
            dim(),
            vec![(col("fd"), col("d"))],
            None,
            JoinType::Inner,
        );
        assert!((estimate_rows(&j.clone().build()) - 1000.0).abs() < 1e-6);
        // The order of the inputs does not matter.
        let j2 = join(
            dim(),
            fact(),
            vec![(col("d"), col("fd"))],
            None,
            JoinType::Inner,
        );
        assert!((estimate_rows(&j2.build()) - 1000.0).abs() < 1e-6);
        // Joined next with `other` (5,000 rows, more than the 1,000 estimated), the thinned
        // facts become the build (right) side.
        let plan = join(
            j,
            t("other", &["o"], 5000),
            vec![(col("f"), col("o"))],
            None,
            JoinType::Inner,
        )
        .build();
        check(
            plan,
            "
Projection: fact.f, fact.fd, dim.d, dim.name, other.o
  Join: Inner on=[other.o = fact.f]
    TableScan: other
    Join: Inner on=[fact.fd = dim.d]
      TableScan: fact
      Filter: name > 1
        TableScan: dim",
        );
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
