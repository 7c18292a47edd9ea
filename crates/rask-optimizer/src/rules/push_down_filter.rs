//! Moves filter predicates as close to the scans as they can go.

use std::sync::Arc;

use rask_common::Result;
use rask_expr::type_coercion::comparison_type;
use rask_expr::{
    conjunction, split_conjunction, Aggregate, Column, Expr, Filter, Join, JoinType, LogicalPlan,
    Operator, PlanSchema, Projection, ScalarFunc, Sort, SubqueryAlias, Union,
};

use crate::utils::{
    column_at, disjunction, map_inputs, replace_columns, split_disjunction, try_replace_columns,
};
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
/// # Joins
///
/// The conjuncts of a `Filter` above a join ("WHERE") and of the join's own residual `filter`
/// ("ON") are sorted by the input(s) their columns come from:
///
/// * `Inner`: WHERE and ON are the same thing. A conjunct over one input goes into it; an
///   equality `l = r` between an expression over the left input and one over the right becomes
///   an `on` key (both sides cast to their comparison type when the types differ); the rest is
///   the join's `filter`. A comma join (`CrossJoin: Inner` under the WHERE) thus becomes a tree
///   of keyed joins:
///   ```text
///   Filter: t.a = u.a AND t.b > 1          Join: Inner on=[t.a = u.a]
///     CrossJoin: Inner               →       Filter: t.b > 1
///       TableScan: t                           TableScan: t filters=[t.b > 1]
///       TableScan: u                         TableScan: u
///   ```
/// * Outer joins: a WHERE conjunct may only go into the preserved input (`Left`: the left one),
///   an ON conjunct only into the null-supplying one (`Left`: the right one); other conjuncts
///   stay where they are (ON equalities still become keys). `Full`: nothing moves.
/// * Outer to inner: a WHERE conjunct that cannot be true when the null-supplying side's
///   columns are all NULL (`r.x > 1`, `r.x IS NOT NULL`, `l.a = r.b`, ...) removes every
///   null-padded row, so the join is really inner (`Left`, `Right` → `Inner`; `Full` → `Left`,
///   `Right` or `Inner`), and is then treated as such.
/// * Semi and anti joins: WHERE conjuncts (over the kept side) go into the kept side; ON
///   conjuncts over the other side go into it; for `LeftSemi`/`RightSemi`/`RightAnti`, ON
///   conjuncts over the left side go left too (`LeftAnti` keeps left rows that fail them).
///   `LeftAntiNullAware` (NOT IN) only lets WHERE conjuncts into its left input: filtering its
///   right side would drop the NULLs that decide its result.
///
/// Two kinds of conjuncts are also *derived* for an input (the original stays where it was):
///
/// * Transitive: with a key `l = r` between two columns of one type, a conjunct going into the
///   left input that compares `l` with constants (`l > 5`, `l BETWEEN 1 AND 2`,
///   `l IN (...)`, `l LIKE 'x%'`) is copied, over `r`, into the right input, and vice versa
///   (only into an input that may receive ON conjuncts, as above).
/// * Implied by a disjunction over both inputs: when every branch of an `OR` has conjuncts over
///   one input alone, the `OR` of those parts holds for that input. TPC-H Q7's
///   `(n1.n_name = 'FRANCE' AND n2.n_name = 'GERMANY') OR (n1.n_name = 'GERMANY' AND ...)`
///   gives `n1.n_name IN ('FRANCE', 'GERMANY')` for `n1` (branches comparing one column with
///   literals make an `IN` list) and the same for `n2`.
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
        LogicalPlan::Join(j) => push_join(vec![], j),
        _ => map_inputs(plan, &mut optimize),
    }
}

/// `p` with every column spelled as the unique qualified reference to the column of `schema`
/// it resolves to, so that `a > 1` and `t.a > 1` compare equal over a scan of `t`.
fn canonical(schema: &PlanSchema, p: &Expr) -> Expr {
    try_replace_columns(p, &mut |c| {
        let i = schema.maybe_index_of_column(c).ok()??;
        column_at(schema, i).map(Expr::Column)
    })
    .ok()
    .flatten()
    .unwrap_or_else(|| p.clone())
}

/// Adds `preds` to `list`, skipping ones already there, comparing them as columns of `schema`
/// (however qualified).
fn add_unique_in(schema: &PlanSchema, list: &mut Vec<Expr>, preds: impl IntoIterator<Item = Expr>) {
    let mut seen: Vec<Expr> = list.iter().map(|p| canonical(schema, p)).collect();
    for p in preds {
        let c = canonical(schema, &p);
        if !seen.contains(&c) {
            seen.push(c);
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
    add_unique_in(input.schema(), &mut unique, preds);
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
            add_unique_in(f.input.schema(), &mut all, preds);
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
            let full = PlanSchema::from_arrow(Some(&s.table_name), &s.source.schema());
            add_unique_in(&full, &mut scan.filters, preds.iter().cloned());
            filter_over(preds, Arc::new(LogicalPlan::TableScan(scan)))
        }
        LogicalPlan::Join(j) => push_join(preds, j),
        // branch `partition`: filtering before or after a shuffle keeps the same rows (a
        // partition function, which may look at whole partitions, stops filters).
        LogicalPlan::Repartition(r) => {
            let new_input = push(preds, Arc::clone(&r.input))?;
            Ok(Arc::new(LogicalPlan::Repartition(
                rask_expr::Repartition::try_new(new_input, r.scheme.clone())?,
            )))
        }
        _ => filter_over(preds, optimize(input)?),
    }
}

/// Which join input an expression's columns come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    /// No column at all (a constant).
    Neither,
    Left,
    Right,
    Both,
    /// A column that does not resolve (ambiguous or unknown): the expression stays put.
    Unknown,
}

impl Side {
    fn add(self, other: Side) -> Side {
        match (self, other) {
            (Side::Unknown, _) | (_, Side::Unknown) => Side::Unknown,
            (Side::Neither, s) | (s, Side::Neither) => s,
            (a, b) if a == b => a,
            _ => Side::Both,
        }
    }
}

/// Resolves columns against `schema`, whose first `nl` columns come from the left input and
/// the rest from the right one.
struct Sides<'a> {
    schema: &'a PlanSchema,
    nl: usize,
}

impl Sides<'_> {
    fn of_column(&self, c: &Column) -> Side {
        match self.schema.maybe_index_of_column(c) {
            Ok(Some(i)) if i < self.nl => Side::Left,
            Ok(Some(_)) => Side::Right,
            _ => Side::Unknown,
        }
    }

    fn of(&self, e: &Expr) -> Side {
        e.columns()
            .iter()
            .fold(Side::Neither, |acc, c| acc.add(self.of_column(c)))
    }
}

/// Where the conjuncts of a join of type `jt` may go: `(where_left, where_right, on_left,
/// on_right)`. A WHERE conjunct may go into an input whose rows reach the output unchanged (a
/// filter on them commutes with the join); an ON conjunct may go into an input that is not
/// preserved (its rows that fail the conjunct can never match, so they do not matter).
fn movable(jt: JoinType) -> (bool, bool, bool, bool) {
    use JoinType::*;
    match jt {
        Inner => (true, true, true, true),
        Left => (true, false, false, true),
        Right => (false, true, true, false),
        Full => (false, false, false, false),
        LeftSemi => (true, false, true, true),
        LeftAnti => (true, false, false, true),
        LeftAntiNullAware => (true, false, false, false),
        RightSemi => (false, true, true, true),
        RightAnti => (false, true, true, false),
    }
}

/// The join `j` under the WHERE conjuncts `preds`, with every conjunct that can go into an
/// input pushed there, equalities between the inputs turned into keys, and the inputs
/// optimized.
fn push_join(preds: Vec<Expr>, j: &Join) -> Result<Arc<LogicalPlan>> {
    let (ls, rs) = (j.left.schema(), j.right.schema());
    let nl = ls.len();
    let both = ls.join(rs);
    let on_sides = Sides { schema: &both, nl };
    let out_sides = Sides {
        schema: &j.schema,
        nl: if j.join_type.keeps_left() { nl } else { 0 },
    };
    let jt = outer_to_inner(j.join_type, &preds, &out_sides);
    let (where_left, where_right, on_left, on_right) = movable(jt);
    let keys_allowed = jt != JoinType::LeftAntiNullAware;

    let (mut to_left, mut to_right, mut above, mut filter) = (vec![], vec![], vec![], vec![]);
    let mut keys = j.on.clone();
    let on_conjuncts = j
        .filter
        .iter()
        .flat_map(split_conjunction)
        .cloned()
        .map(|p| (p, false));
    for (p, from_where) in on_conjuncts.chain(preds.into_iter().map(|p| (p, true))) {
        // For an inner join, WHERE and ON conjuncts are interchangeable.
        let as_where = from_where && jt != JoinType::Inner;
        let (sides, go_left, go_right) = if as_where {
            (&out_sides, where_left, where_right)
        } else {
            (&on_sides, on_left, on_right)
        };
        match sides.of(&p) {
            Side::Left | Side::Neither if go_left => add_unique_in(ls, &mut to_left, [p]),
            Side::Right | Side::Neither if go_right => add_unique_in(rs, &mut to_right, [p]),
            Side::Both if !as_where && keys_allowed => match key_pair(&p, &on_sides, ls, rs) {
                Some(k) => {
                    let same = |(l, r): &(Expr, Expr)| {
                        canonical(ls, l) == canonical(ls, &k.0)
                            && canonical(rs, r) == canonical(rs, &k.1)
                    };
                    if !keys.iter().any(same) {
                        keys.push(k);
                    }
                }
                None => add_unique_in(&both, &mut filter, [p]),
            },
            _ if from_where => add_unique_in(&j.schema, &mut above, [p]),
            _ => add_unique_in(&both, &mut filter, [p]),
        }
    }

    // Single-input predicates implied by disjunctions over both inputs.
    if keys_allowed {
        for p in &filter {
            if on_left {
                add_unique_in(ls, &mut to_left, implied(p, &on_sides, Side::Left));
            }
            if on_right {
                add_unique_in(rs, &mut to_right, implied(p, &on_sides, Side::Right));
            }
        }
    }
    for p in &above {
        if where_left {
            add_unique_in(ls, &mut to_left, implied(p, &out_sides, Side::Left));
        }
        if where_right {
            add_unique_in(rs, &mut to_right, implied(p, &out_sides, Side::Right));
        }
    }

    // Transitive predicates through `l = r` keys.
    if keys_allowed {
        for (l, r) in &keys {
            let (Expr::Column(lc), Expr::Column(rc)) = (l, r) else {
                continue;
            };
            let same_type = matches!(
                (ls.data_type_of(lc), rs.data_type_of(rc)),
                (Ok(a), Ok(b)) if a == b
            );
            if !same_type {
                continue;
            }
            if on_right {
                let derived: Vec<Expr> = to_left
                    .iter()
                    .filter_map(|p| transfer(p, ls, lc, r))
                    .collect();
                add_unique_in(rs, &mut to_right, derived);
            }
            if on_left {
                let derived: Vec<Expr> = to_right
                    .iter()
                    .filter_map(|p| transfer(p, rs, rc, l))
                    .collect();
                add_unique_in(ls, &mut to_left, derived);
            }
        }
    }

    let left = push(to_left, Arc::clone(&j.left))?;
    let right = push(to_right, Arc::clone(&j.right))?;
    let join = Join::try_new(left, right, keys, conjunction(filter), jt)?;
    filter_over(above, Arc::new(LogicalPlan::Join(join)))
}

/// `p` as a join key `(left expression, right expression)` when it is an equality between an
/// expression over the left input and one over the right input.
fn key_pair(p: &Expr, sides: &Sides<'_>, ls: &PlanSchema, rs: &PlanSchema) -> Option<(Expr, Expr)> {
    let Expr::BinaryExpr {
        left,
        op: Operator::Eq,
        right,
    } = p
    else {
        return None;
    };
    let (l, r) = match (sides.of(left), sides.of(right)) {
        (Side::Left, Side::Right) => (left.as_ref(), right.as_ref()),
        (Side::Right, Side::Left) => (right.as_ref(), left.as_ref()),
        _ => return None,
    };
    let (lt, rt) = (l.get_type(ls).ok()?, r.get_type(rs).ok()?);
    if lt == rt {
        return Some((l.clone(), r.clone()));
    }
    let t = comparison_type(&lt, &rt)?;
    let cast = |e: &Expr, from| {
        if from == t {
            e.clone()
        } else {
            e.clone().cast(t.clone())
        }
    };
    Some((cast(l, lt), cast(r, rt)))
}

/// The join type once the WHERE conjuncts `preds` are taken into account: an outer join whose
/// null-padded rows every one of them would remove is not outer.
fn outer_to_inner(jt: JoinType, preds: &[Expr], out: &Sides<'_>) -> JoinType {
    if !matches!(jt, JoinType::Left | JoinType::Right | JoinType::Full) {
        return jt;
    }
    let on = |want: Side| {
        preds
            .iter()
            .any(|p| rejects_null(p, &|c| out.of_column(c) == want))
    };
    let (rejects_left, rejects_right) = (on(Side::Left), on(Side::Right));
    match (jt, rejects_left, rejects_right) {
        (JoinType::Left, _, true) | (JoinType::Right, true, _) | (JoinType::Full, true, true) => {
            JoinType::Inner
        }
        (JoinType::Full, true, false) => JoinType::Left,
        (JoinType::Full, false, true) => JoinType::Right,
        _ => jt,
    }
}

/// True when the predicate `p` is never true for a row whose columns selected by `is_side` are
/// all NULL (it is then NULL or false).
fn rejects_null(p: &Expr, is_side: &dyn Fn(&Column) -> bool) -> bool {
    match p {
        Expr::IsNotNull(e) => null_if_null(e, is_side),
        Expr::BinaryExpr {
            left,
            op: Operator::And,
            right,
        } => rejects_null(left, is_side) || rejects_null(right, is_side),
        Expr::BinaryExpr {
            left,
            op: Operator::Or,
            right,
        } => rejects_null(left, is_side) && rejects_null(right, is_side),
        Expr::Alias(e, _) => rejects_null(e, is_side),
        e => null_if_null(e, is_side),
    }
}

/// True when `e` is NULL whenever its columns selected by `is_side` are all NULL.
fn null_if_null(e: &Expr, is_side: &dyn Fn(&Column) -> bool) -> bool {
    let strict = |e: &Expr| null_if_null(e, is_side);
    match e {
        Expr::Column(c) => is_side(c),
        Expr::Alias(e, _) | Expr::Not(e) | Expr::Negative(e) | Expr::Cast { expr: e, .. } => {
            strict(e)
        }
        Expr::BinaryExpr { left, op, right } => {
            (op.is_comparison() || op.is_arithmetic()) && (strict(left) || strict(right))
        }
        Expr::Between { expr, .. } | Expr::InList { expr, .. } => strict(expr),
        Expr::Like { expr, pattern, .. } => strict(expr) || strict(pattern),
        Expr::ScalarFunction { func, args } => {
            use ScalarFunc::*;
            match func {
                Lower | Upper | Length | Substring | Trim | LTrim | RTrim | StartsWith
                | EndsWith | Contains | Abs | Round | Floor | Ceil | Sqrt | Ln | Exp | Power
                | DatePart | DateTrunc => args.iter().any(strict),
                _ => false,
            }
        }
        _ => false,
    }
}

/// The predicate over the `want` input implied by the disjunction `p`: the OR, over `p`'s
/// branches, of each branch's conjuncts over that input alone. Empty when `p` is not a
/// disjunction or some branch has no such conjunct.
fn implied(p: &Expr, sides: &Sides<'_>, want: Side) -> Option<Expr> {
    let branches = split_disjunction(p);
    if branches.len() < 2 {
        return None;
    }
    let mut parts: Vec<Expr> = Vec::with_capacity(branches.len());
    for b in branches {
        let mine = split_conjunction(b)
            .into_iter()
            .filter(|c| sides.of(c) == want)
            .cloned();
        let part = conjunction(mine)?;
        if !parts.contains(&part) {
            parts.push(part);
        }
    }
    Some(as_in_list(&parts).unwrap_or_else(|| disjunction(parts).expect("non-empty")))
}

/// `c IN (v1, v2, ...)` when every part is `c = literal` or `c IN (literals)` of one column.
fn as_in_list(parts: &[Expr]) -> Option<Expr> {
    let mut column: Option<&Expr> = None;
    let mut list: Vec<Expr> = vec![];
    for p in parts {
        let (c, values): (&Expr, Vec<&Expr>) = match p {
            Expr::BinaryExpr {
                left,
                op: Operator::Eq,
                right,
            } => match (left.as_ref(), right.as_ref()) {
                (c @ Expr::Column(_), v @ Expr::Literal(_))
                | (v @ Expr::Literal(_), c @ Expr::Column(_)) => (c, vec![v]),
                _ => return None,
            },
            Expr::InList {
                expr,
                list,
                negated: false,
            } if matches!(expr.as_ref(), Expr::Column(_))
                && list.iter().all(|v| matches!(v, Expr::Literal(_))) =>
            {
                (expr.as_ref(), list.iter().collect())
            }
            _ => return None,
        };
        match column {
            None => column = Some(c),
            Some(prev) if prev == c => {}
            Some(_) => return None,
        }
        for v in values {
            if !list.contains(v) {
                list.push(v.clone());
            }
        }
    }
    Some(column?.clone().isin(list))
}

/// `p` with the column `from` (of `schema`) replaced by `to`, when `p` compares that column,
/// and nothing else, with constants.
fn transfer(p: &Expr, schema: &PlanSchema, from: &Column, to: &Expr) -> Option<Expr> {
    let is_from = |e: &Expr| match e {
        Expr::Column(c) => {
            let i = schema.maybe_index_of_column(c).ok()??;
            (schema.maybe_index_of_column(from).ok()?? == i).then_some(())
        }
        _ => None,
    };
    let is_lit = |e: &Expr| matches!(e, Expr::Literal(_));
    let simple = match p {
        Expr::BinaryExpr { left, op, right } if op.is_comparison() => {
            (is_from(left).is_some() && is_lit(right)) || (is_lit(left) && is_from(right).is_some())
        }
        Expr::Between {
            expr, low, high, ..
        } => is_from(expr).is_some() && is_lit(low) && is_lit(high),
        Expr::InList { expr, list, .. } => is_from(expr).is_some() && list.iter().all(is_lit),
        Expr::Like { expr, pattern, .. } => is_from(expr).is_some() && is_lit(pattern),
        _ => false,
    };
    if !simple {
        return None;
    }
    replace_columns(p.clone(), &mut |_| Some(to.clone())).ok()
}

/// The column of `to` at the position `c` has in `from` (same layout, other qualifiers).
fn positional(from: &PlanSchema, to: &PlanSchema, c: &Column) -> Option<Column> {
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

    // ---- joins ----

    use crate::test_util::{cross, join, table};

    fn t() -> LogicalPlanBuilder {
        table("t", &["a", "b", "c"], None)
    }
    fn u() -> LogicalPlanBuilder {
        table("u", &["x", "y", "z"], None)
    }

    #[test]
    fn comma_join_becomes_keyed_inner_join() {
        // SELECT * FROM t, u WHERE t.a = u.x AND t.b > 1 AND u.y < 2 AND t.c < u.z
        let plan = cross(t(), u())
            .filter(
                col("t.a")
                    .eq(col("u.x"))
                    .and(col("t.b").gt(lit(1i64)))
                    .and(col("u.y").lt(lit(2i64)))
                    .and(col("t.c").lt(col("u.z"))),
            )
            .unwrap()
            .build();
        check(
            plan,
            "
Join: Inner on=[t.a = u.x] filter=t.c < u.z
  Filter: t.b > 1
    TableScan: t filters=[t.b > 1]
  Filter: u.y < 2
    TableScan: u filters=[u.y < 2]",
        );
    }

    #[test]
    fn reversed_equality_and_expression_keys() {
        // u.x = t.a is oriented left = right; t.a + 1 = u.y + t.b reads both sides on the right:
        // not a key.
        let plan = cross(t(), u())
            .filter(
                col("u.x")
                    .eq(col("t.a"))
                    .and(col("t.b").add(lit(1i64)).eq(col("u.y").mul(lit(2i64))))
                    .and(col("t.a").add(lit(1i64)).eq(col("u.y").add(col("t.b")))),
            )
            .unwrap()
            .build();
        check(
            plan,
            "
Join: Inner on=[t.a = u.x, t.b + 1 = u.y * 2] filter=t.a + 1 = u.y + t.b
  TableScan: t
  TableScan: u",
        );
    }

    #[test]
    fn key_types_are_unified_with_casts() {
        let v = LogicalPlanBuilder::scan(
            "v",
            crate::test_util::source_with(vec![arrow::datatypes::Field::new(
                "i",
                arrow::datatypes::DataType::Int32,
                true,
            )]),
        )
        .unwrap();
        let plan = cross(t(), v)
            .filter(col("t.a").eq(col("v.i")))
            .unwrap()
            .build();
        check(
            plan,
            "
Join: Inner on=[t.a = CAST(v.i AS Int64)]
  TableScan: t
  TableScan: v",
        );
    }

    #[test]
    fn multi_table_comma_join_is_keyed_everywhere() {
        // FROM c, o, l, n WHERE c_custkey = o_custkey AND l_orderkey = o_orderkey
        //   AND c_nationkey = n_nationkey AND n_name = 'FRANCE' AND l_qty > 5
        let c = table("c", &["c_custkey", "c_nationkey"], None);
        let o = table("o", &["o_orderkey", "o_custkey"], None);
        let l = table("l", &["l_orderkey", "l_qty"], None);
        let n = table("n", &["n_nationkey", "n_name"], None);
        let plan = cross(cross(cross(c, o), l), n)
            .filter(
                col("c_custkey")
                    .eq(col("o_custkey"))
                    .and(col("l_orderkey").eq(col("o_orderkey")))
                    .and(col("c_nationkey").eq(col("n_nationkey")))
                    .and(col("n_name").eq(lit("FRANCE")))
                    .and(col("l_qty").gt(lit(5i64))),
            )
            .unwrap()
            .build();
        check(
            plan,
            "
Join: Inner on=[c_nationkey = n_nationkey]
  Join: Inner on=[o_orderkey = l_orderkey]
    Join: Inner on=[c_custkey = o_custkey]
      TableScan: c
      TableScan: o
    Filter: l_qty > 5
      TableScan: l filters=[l_qty > 5]
  Filter: n_name = 'FRANCE'
    TableScan: n filters=[n_name = 'FRANCE']",
        );
    }

    #[test]
    fn inner_join_residual_is_split_too() {
        // No Filter above: the join's own filter is sorted out as well.
        let plan = join(
            t(),
            u(),
            vec![],
            Some(
                col("t.a")
                    .eq(col("u.x"))
                    .and(col("t.b").gt(lit(1i64)))
                    .and(col("u.y").gt(lit(1i64))),
            ),
            JoinType::Inner,
        )
        .build();
        check(
            plan,
            "
Join: Inner on=[t.a = u.x]
  Filter: t.b > 1
    TableScan: t filters=[t.b > 1]
  Filter: u.y > 1
    TableScan: u filters=[u.y > 1]",
        );
    }

    #[test]
    fn left_join_moves_where_left_and_on_right() {
        // t LEFT JOIN u ON t.a = u.x AND u.y = 1 AND t.b = 2 WHERE t.c > 0 AND u.z IS NULL
        let plan = join(
            t(),
            u(),
            vec![(col("t.a"), col("u.x"))],
            Some(col("u.y").eq(lit(1i64)).and(col("t.b").eq(lit(2i64)))),
            JoinType::Left,
        )
        .filter(col("t.c").gt(lit(0i64)).and(col("u.z").is_null()))
        .unwrap()
        .build();
        check(
            plan,
            "
Filter: u.z IS NULL
  Join: Left on=[t.a = u.x] filter=t.b = 2
    Filter: t.c > 0
      TableScan: t filters=[t.c > 0]
    Filter: u.y = 1
      TableScan: u filters=[u.y = 1]",
        );
    }

    #[test]
    fn left_join_becomes_inner_under_null_rejecting_where() {
        // WHERE u.y > 1 removes every null-padded row.
        let plan = join(
            t(),
            u(),
            vec![(col("t.a"), col("u.x"))],
            Some(col("t.b").eq(lit(2i64))),
            JoinType::Left,
        )
        .filter(col("u.y").gt(lit(1i64)))
        .unwrap()
        .build();
        check(
            plan,
            "
Join: Inner on=[t.a = u.x]
  Filter: t.b = 2
    TableScan: t filters=[t.b = 2]
  Filter: u.y > 1
    TableScan: u filters=[u.y > 1]",
        );
        // IS NOT NULL and comparisons between the sides reject NULLs too; OR only when both
        // branches do; IS NULL and COALESCE do not.
        let rejects = |p: Expr| {
            let plan = join(t(), u(), vec![], None, JoinType::Left)
                .filter(p)
                .unwrap()
                .build();
            let out = PushDownFilter::new().rewrite(plan).unwrap();
            out.display_indent().contains("Inner")
        };
        assert!(rejects(col("u.y").is_not_null()));
        assert!(rejects(col("t.a").lt(col("u.y").add(lit(1i64)))));
        assert!(rejects(
            col("u.y").gt(lit(1i64)).or(col("u.z").eq(lit(3i64)))
        ));
        assert!(rejects(col("u.y").isin(vec![lit(1i64), lit(2i64)])));
        assert!(!rejects(
            col("u.y").gt(lit(1i64)).or(col("t.a").eq(lit(3i64)))
        ));
        assert!(!rejects(col("u.y").is_null()));
        assert!(!rejects(col("t.a").gt(lit(1i64))));
        let coalesce = Expr::ScalarFunction {
            func: ScalarFunc::Coalesce,
            args: vec![col("u.y"), lit(0i64)],
        };
        assert!(!rejects(coalesce.eq(lit(0i64))));
    }

    #[test]
    fn right_join_mirrors_left_join() {
        let plan = join(
            t(),
            u(),
            vec![(col("t.a"), col("u.x"))],
            Some(col("t.b").eq(lit(1i64)).and(col("u.y").eq(lit(2i64)))),
            JoinType::Right,
        )
        .filter(col("u.z").gt(lit(0i64)).and(col("t.c").is_null()))
        .unwrap()
        .build();
        check(
            plan,
            "
Filter: t.c IS NULL
  Join: Right on=[t.a = u.x] filter=u.y = 2
    Filter: t.b = 1
      TableScan: t filters=[t.b = 1]
    Filter: u.z > 0
      TableScan: u filters=[u.z > 0]",
        );
    }

    #[test]
    fn full_join_moves_nothing_unless_nulls_are_rejected() {
        let full = || {
            join(
                t(),
                u(),
                vec![(col("t.a"), col("u.x"))],
                Some(col("t.b").eq(lit(1i64)).and(col("u.y").eq(lit(2i64)))),
                JoinType::Full,
            )
        };
        check(
            full()
                .filter(col("t.c").is_null().and(col("u.z").is_null()))
                .unwrap()
                .build(),
            "
Filter: t.c IS NULL AND u.z IS NULL
  Join: Full on=[t.a = u.x] filter=t.b = 1 AND u.y = 2
    TableScan: t
    TableScan: u",
        );
        // Rejecting NULL left columns removes the right-only rows: a left join remains, and
        // the ON conjunct over the right side may then go right.
        check(
            full().filter(col("t.c").gt(lit(0i64))).unwrap().build(),
            "
Join: Left on=[t.a = u.x] filter=t.b = 1
  Filter: t.c > 0
    TableScan: t filters=[t.c > 0]
  Filter: u.y = 2
    TableScan: u filters=[u.y = 2]",
        );
        check(
            full().filter(col("u.z").gt(lit(0i64))).unwrap().build(),
            "
Join: Right on=[t.a = u.x] filter=u.y = 2
  Filter: t.b = 1
    TableScan: t filters=[t.b = 1]
  Filter: u.z > 0
    TableScan: u filters=[u.z > 0]",
        );
    }

    #[test]
    fn semi_and_anti_joins() {
        let on = || col("t.b").eq(lit(1i64)).and(col("u.y").eq(lit(2i64)));
        let semi = |jt| {
            join(t(), u(), vec![(col("t.a"), col("u.x"))], Some(on()), jt)
                .filter(col("t.c").gt(lit(0i64)))
                .unwrap()
                .build()
        };
        check(
            semi(JoinType::LeftSemi),
            "
Join: LeftSemi on=[t.a = u.x]
  Filter: t.b = 1 AND t.c > 0
    TableScan: t filters=[t.b = 1, t.c > 0]
  Filter: u.y = 2
    TableScan: u filters=[u.y = 2]",
        );
        // An anti join keeps the left rows failing the ON condition.
        check(
            semi(JoinType::LeftAnti),
            "
Join: LeftAnti on=[t.a = u.x] filter=t.b = 1
  Filter: t.c > 0
    TableScan: t filters=[t.c > 0]
  Filter: u.y = 2
    TableScan: u filters=[u.y = 2]",
        );
        // NOT IN: the right side's NULLs decide the result, nothing goes into it.
        check(
            semi(JoinType::LeftAntiNullAware),
            "
Join: LeftAntiNullAware on=[t.a = u.x] filter=t.b = 1 AND u.y = 2
  Filter: t.c > 0
    TableScan: t filters=[t.c > 0]
  TableScan: u",
        );
    }

    #[test]
    fn right_semi_join_filters_its_right_side() {
        let plan = join(
            t(),
            u(),
            vec![(col("t.a"), col("u.x"))],
            Some(col("t.b").eq(lit(1i64))),
            JoinType::RightSemi,
        )
        .filter(col("u.y").gt(lit(0i64)))
        .unwrap()
        .build();
        check(
            plan,
            "
Join: RightSemi on=[t.a = u.x]
  Filter: t.b = 1
    TableScan: t filters=[t.b = 1]
  Filter: u.y > 0
    TableScan: u filters=[u.y > 0]",
        );
    }

    #[test]
    fn on_equality_becomes_key_for_outer_join() {
        let plan = join(
            t(),
            u(),
            vec![],
            Some(col("t.a").eq(col("u.x")).and(col("t.b").lt(col("u.y")))),
            JoinType::Left,
        )
        .build();
        check(
            plan,
            "
Join: Left on=[t.a = u.x] filter=t.b < u.y
  TableScan: t
  TableScan: u",
        );
    }

    #[test]
    fn transitive_predicates_through_keys() {
        let plan = cross(t(), u())
            .filter(
                col("t.a")
                    .eq(col("u.x"))
                    .and(col("t.a").gt(lit(5i64)))
                    .and(col("u.x").lt(lit(9i64)))
                    .and(col("t.a").between(lit(1i64), lit(20i64)))
                    .and(col("t.a").add(lit(1i64)).gt(lit(3i64))),
            )
            .unwrap()
            .build();
        // `t.a + 1 > 3` is not a plain comparison of the key column: not copied.
        check(
            plan,
            "
Join: Inner on=[t.a = u.x]
  Filter: t.a > 5 AND t.a BETWEEN 1 AND 20 AND t.a + 1 > 3 AND t.a < 9
    TableScan: t filters=[t.a > 5, t.a BETWEEN 1 AND 20, t.a + 1 > 3, t.a < 9]
  Filter: u.x < 9 AND u.x > 5 AND u.x BETWEEN 1 AND 20
    TableScan: u filters=[u.x < 9, u.x > 5, u.x BETWEEN 1 AND 20]",
        );
        // A left join copies a WHERE conjunct on the left key into the right side, never the
        // other way round (the left side is preserved).
        let plan = join(
            t(),
            u(),
            vec![(col("t.a"), col("u.x"))],
            Some(col("u.x").lt(lit(9i64))),
            JoinType::Left,
        )
        .filter(col("t.a").gt(lit(5i64)))
        .unwrap()
        .build();
        check(
            plan,
            "
Join: Left on=[t.a = u.x]
  Filter: t.a > 5
    TableScan: t filters=[t.a > 5]
  Filter: u.x < 9 AND u.x > 5
    TableScan: u filters=[u.x < 9, u.x > 5]",
        );
    }

    #[test]
    fn disjunction_implies_per_side_in_lists() {
        // TPC-H Q7: (n1.n_name = 'FRANCE' AND n2.n_name = 'GERMANY')
        //        OR (n1.n_name = 'GERMANY' AND n2.n_name = 'FRANCE')
        let n1 = table("nation", &["n_nationkey", "n_name"], None).alias("n1");
        let n2 = table("nation", &["n_nationkey", "n_name"], None).alias("n2");
        let or = col("n1.n_name")
            .eq(lit("FRANCE"))
            .and(col("n2.n_name").eq(lit("GERMANY")))
            .or(col("n1.n_name")
                .eq(lit("GERMANY"))
                .and(col("n2.n_name").eq(lit("FRANCE"))));
        let plan = cross(n1, n2).filter(or).unwrap().build();
        check(
            plan,
            "
Join: Inner on=[] filter=n1.n_name = 'FRANCE' AND n2.n_name = 'GERMANY' OR n1.n_name = 'GERMANY' AND n2.n_name = 'FRANCE'
  SubqueryAlias: n1
    Filter: nation.n_name IN ('FRANCE', 'GERMANY')
      TableScan: nation filters=[nation.n_name IN ('FRANCE', 'GERMANY')]
  SubqueryAlias: n2
    Filter: nation.n_name IN ('GERMANY', 'FRANCE')
      TableScan: nation filters=[nation.n_name IN ('GERMANY', 'FRANCE')]",
        );
        // Branches with several conjuncts per side keep them together; a branch without a
        // conjunct over a side gives that side nothing.
        let or = col("t.a")
            .eq(lit(1i64))
            .and(col("t.b").lt(lit(2i64)))
            .and(col("u.x").eq(lit(3i64)))
            .or(col("t.a").eq(lit(4i64)).and(col("t.c").eq(col("u.y"))));
        let plan = cross(t(), u()).filter(or).unwrap().build();
        check(
            plan,
            "
Join: Inner on=[] filter=t.a = 1 AND t.b < 2 AND u.x = 3 OR t.a = 4 AND t.c = u.y
  Filter: t.a = 1 AND t.b < 2 OR t.a = 4
    TableScan: t filters=[t.a = 1 AND t.b < 2 OR t.a = 4]
  TableScan: u",
        );
    }

    #[test]
    fn second_run_changes_nothing() {
        let or = col("t.a")
            .eq(lit(1i64))
            .and(col("u.x").eq(lit(3i64)))
            .or(col("t.a").eq(lit(4i64)).and(col("u.x").eq(lit(5i64))));
        let plan = cross(t(), u())
            .filter(or.and(col("t.b").eq(col("u.y"))))
            .unwrap()
            .build();
        let once = PushDownFilter::new().rewrite(plan).unwrap();
        let twice = PushDownFilter::new().rewrite(Arc::clone(&once)).unwrap();
        assert_eq!(once.display_indent(), twice.display_indent());
    }
}
