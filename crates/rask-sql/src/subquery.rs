//! Subqueries in expressions, decorrelated into joins while binding.
//!
//! Each subquery becomes the right input of a [`Join`], wrapped in a `SubqueryAlias` named
//! `__sq_<n>` so that its columns never clash with the outer query's:
//!
//! * `[NOT] EXISTS (q)` (a WHERE conjunct): `LeftSemi` (`LeftAnti`) join;
//! * `x [NOT] IN (q)` (a WHERE conjunct): `LeftSemi` (`LeftAntiNullAware`) join on
//!   `x = __sq_n.__v`;
//! * a scalar subquery `(q)` anywhere in WHERE, SELECT, HAVING or ORDER BY: a join adding
//!   the column `__sq_n.__v`, which the expression reads. An uncorrelated aggregate without
//!   GROUP BY always has one row: `Inner` cross join; any other uncorrelated query: `Left`
//!   cross join (NULL when it returns no row; more than one row is not detected).
//!
//! A correlated subquery (one using columns of the enclosing query in its WHERE) is
//! rewritten: its WHERE conjuncts `inner_expr = outer_expr` become join keys (the inner side
//! is output as `__sq_n.__k<i>`), its other correlated conjuncts become the join's residual
//! filter (the inner columns they read are output as `__sq_n.__r<j>`), and the rest of the
//! subquery is bound as usual. A correlated aggregate (`SELECT avg(x) FROM t WHERE t.k =
//! outer.k`) is grouped by its inner keys and `Left` joined; `count` gives 0, not NULL, for
//! outer rows without a group.
//!
//! Correlated references are found by binding the subquery with an [`OuterScope`]: a column
//! not found in the subquery's own FROM resolves in the enclosing query's and binds to a
//! placeholder (`__outer.<i>`).

use std::cell::RefCell;
use std::sync::Arc;

use rask_common::{not_impl_err, plan_err, Result, ScalarValue};
use rask_expr::type_coercion::comparison_type;
use rask_expr::{
    conjunction, lit, split_conjunction, AggFunc, Aggregate, Column, Expr, Filter, Join, JoinType,
    LogicalPlan, LogicalPlanBuilder, Operator, PlanSchema, PlanSchemaRef, Projection, ScalarFunc,
    SubqueryAlias,
};
use sqlparser::ast::{
    self, BinaryOperator, GroupByExpr, Ident, Query, SelectItem, SetExpr, UnaryOperator, Value,
};

use crate::expr::{bind_expr, is_outer_placeholder, ExprContext, OuterScope, SubqueryBinder};
use crate::query::{Ctes, QueryPlanner};

/// The relation prefix of decorrelated subqueries.
pub(crate) const SUBQUERY_PREFIX: &str = "__sq_";

/// Whether `c` is a column of a decorrelated subquery (`__sq_<n>.x`).
pub(crate) fn is_subquery_column(c: &Column) -> bool {
    c.relation
        .as_deref()
        .is_some_and(|r| r.starts_with(SUBQUERY_PREFIX))
}

/// A join that brings a subquery's rows next to the outer query's.
pub(crate) struct SubqueryJoin {
    /// The subquery, aliased `__sq_<n>`.
    pub right: Arc<LogicalPlan>,
    /// Keys: (expression over the outer query's columns, column of `right`).
    pub on: Vec<(Expr, Expr)>,
    /// Residual condition over both.
    pub filter: Option<Expr>,
    /// The join type.
    pub join_type: JoinType,
}

impl SubqueryJoin {
    /// Joins the subquery onto `left`; `map` rewrites the outer query's expressions first
    /// (to read an Aggregate's output when the join goes above it).
    pub fn apply(
        self,
        left: Arc<LogicalPlan>,
        map: &dyn Fn(Expr) -> Result<Expr>,
    ) -> Result<Arc<LogicalPlan>> {
        let on = self
            .on
            .into_iter()
            .map(|(l, r)| Ok((map(l)?, r)))
            .collect::<Result<Vec<_>>>()?;
        let filter = self.filter.map(map).transpose()?;
        let mut right = self.right;
        if self.join_type == JoinType::Left && filter.is_none() && drops_rows(&left) {
            if let Some(r) = with_outer_keys(&right, &left, &on)? {
                right = r;
            }
        }
        let on = coerce_keys(left.schema(), right.schema(), on)?;
        Ok(Arc::new(LogicalPlan::Join(Join::try_new(
            left,
            right,
            on,
            filter,
            self.join_type,
        )?)))
    }
}

/// Whether `plan` filters its rows somewhere (a WHERE, a semi or anti join, a LIMIT): only
/// then are the outer keys worth pushing into a subquery, which reads `plan` a second time.
fn drops_rows(plan: &LogicalPlan) -> bool {
    match plan {
        LogicalPlan::Filter(_) | LogicalPlan::Limit(_) => true,
        LogicalPlan::Join(j)
            if matches!(
                j.join_type,
                JoinType::LeftSemi
                    | JoinType::RightSemi
                    | JoinType::LeftAnti
                    | JoinType::RightAnti
                    | JoinType::LeftAntiNullAware
            ) =>
        {
            true
        }
        other => other.inputs().iter().any(|i| drops_rows(i)),
    }
}

/// A plan holding every value of the outer keys `keys` that `left` holds, and maybe more (the
/// semi join of [`with_outer_keys`] only limits which groups are built): when `left` is a
/// WHERE over comma or inner joins and one joined relation holds every key column, that
/// relation under the WHERE conjuncts over it alone, provided there is one (TPC-H Q17's
/// `part` under its brand and container, rather than `lineitem` joined with it); `left`
/// otherwise.
fn key_source(left: &Arc<LogicalPlan>, keys: &[Expr]) -> Result<Arc<LogicalPlan>> {
    fn relations<'a>(plan: &'a Arc<LogicalPlan>, out: &mut Vec<&'a Arc<LogicalPlan>>) {
        match plan.as_ref() {
            LogicalPlan::Join(j) if j.join_type == JoinType::Inner => {
                relations(&j.left, out);
                relations(&j.right, out);
            }
            _ => out.push(plan),
        }
    }
    let LogicalPlan::Filter(filter) = left.as_ref() else {
        return Ok(Arc::clone(left));
    };
    let mut all = Vec::new();
    relations(&filter.input, &mut all);
    let holds = |r: &LogicalPlan, columns: &[Column]| {
        !columns.is_empty()
            && columns
                .iter()
                .all(|c| matches!(r.schema().maybe_index_of_column(c), Ok(Some(_))))
    };
    let key_columns: Vec<Column> = keys.iter().flat_map(|k| k.columns()).collect();
    let Some(relation) = all.into_iter().find(|r| holds(r, &key_columns)) else {
        return Ok(Arc::clone(left));
    };
    let conjuncts: Vec<Expr> = split_conjunction(&filter.predicate)
        .into_iter()
        .filter(|p| holds(relation, &p.columns()))
        .cloned()
        .collect();
    match conjunction(conjuncts) {
        Some(p) => Ok(Arc::new(LogicalPlan::Filter(Filter::try_new(
            p,
            Arc::clone(relation),
        )?))),
        None => Ok(Arc::clone(left)),
    }
}

/// A correlated aggregate subquery (`alias(Projection(Aggregate))` grouped by its
/// correlation keys, in the order of `on`) that aggregates only the rows whose keys some row
/// of `left` has: its input becomes a semi join with `left`'s keys. The outer keys are pushed
/// into the subquery, as in DuckDB's unnesting: groups no outer row asks for are never built,
/// so `ps_availqty > (SELECT 0.5 * sum(l_quantity) FROM lineitem WHERE l_partkey = ps_partkey
/// ...)` sums only the lineitem rows of the part-supplier pairs left after the outer filters.
/// The groups that an outer row matches are unchanged, so the answer is too. `None` when the
/// subquery does not have that shape.
fn with_outer_keys(
    right: &Arc<LogicalPlan>,
    left: &Arc<LogicalPlan>,
    on: &[(Expr, Expr)],
) -> Result<Option<Arc<LogicalPlan>>> {
    let LogicalPlan::SubqueryAlias(alias) = right.as_ref() else {
        return Ok(None);
    };
    let LogicalPlan::Projection(projection) = alias.input.as_ref() else {
        return Ok(None);
    };
    let LogicalPlan::Aggregate(aggregate) = projection.input.as_ref() else {
        return Ok(None);
    };
    // The keys are projected as `__k<i>`, from group expression i.
    let keyed = on.len() == aggregate.group_exprs.len()
        && on.iter().enumerate().all(|(i, (_, r))| {
            matches!(r, Expr::Column(c) if c.relation.as_deref() == Some(alias.alias.as_str())
                && c.name == format!("__k{i}"))
        });
    if on.is_empty() || !keyed {
        return Ok(None);
    }
    let keys_alias = format!("{}_keys", alias.alias);
    let outer: Vec<Expr> = on.iter().map(|(o, _)| o.clone()).collect();
    let outer_keys = LogicalPlanBuilder::from(key_source(left, &outer)?)
        .project(
            on.iter()
                .enumerate()
                .map(|(i, (o, _))| o.clone().alias(format!("__k{i}")))
                .collect(),
        )?
        .alias(&keys_alias)
        .build();
    let semi_on: Vec<(Expr, Expr)> = aggregate
        .group_exprs
        .iter()
        .enumerate()
        .map(|(i, g)| {
            (
                g.clone(),
                Expr::Column(Column::qualified(&keys_alias, format!("__k{i}"))),
            )
        })
        .collect();
    let semi_on = coerce_keys(aggregate.input.schema(), outer_keys.schema(), semi_on)?;
    let input = Arc::new(LogicalPlan::Join(Join::try_new(
        Arc::clone(&aggregate.input),
        outer_keys,
        semi_on,
        None,
        JoinType::LeftSemi,
    )?));
    let aggregate = Arc::new(LogicalPlan::Aggregate(Aggregate::try_new(
        input,
        aggregate.group_exprs.clone(),
        aggregate.aggr_exprs.clone(),
    )?));
    let projection = Arc::new(LogicalPlan::Projection(Projection::try_new(
        projection.exprs.clone(),
        aggregate,
    )?));
    Ok(Some(Arc::new(LogicalPlan::SubqueryAlias(
        SubqueryAlias::new(projection, &alias.alias),
    ))))
}

/// Casts join keys of different types to their common comparison type.
pub(crate) fn coerce_keys(
    ls: &PlanSchemaRef,
    rs: &PlanSchemaRef,
    on: Vec<(Expr, Expr)>,
) -> Result<Vec<(Expr, Expr)>> {
    on.into_iter()
        .map(|(l, r)| {
            let lt = l.get_type(ls)?;
            let rt = r.get_type(rs)?;
            if lt == rt {
                return Ok((l, r));
            }
            match comparison_type(&lt, &rt) {
                Some(t) => {
                    let l = if lt == t { l } else { l.cast(t.clone()) };
                    let r = if rt == t { r } else { r.cast(t) };
                    Ok((l, r))
                }
                None => plan_err!("cannot compare {l} with {r}: {lt} and {rt} are not comparable"),
            }
        })
        .collect()
}

/// Collects the joins of the scalar subqueries found while binding some clauses.
pub(crate) struct SubqueryCollector<'p, 'c> {
    planner: &'p QueryPlanner<'c>,
    ctes: &'p Ctes,
    joins: RefCell<Vec<SubqueryJoin>>,
}

impl<'p, 'c> SubqueryCollector<'p, 'c> {
    pub fn new(planner: &'p QueryPlanner<'c>, ctes: &'p Ctes) -> Self {
        SubqueryCollector {
            planner,
            ctes,
            joins: RefCell::new(Vec::new()),
        }
    }

    /// Number of joins collected so far.
    pub fn len(&self) -> usize {
        self.joins.borrow().len()
    }

    /// The joins collected, in order.
    pub fn take(&self) -> Vec<SubqueryJoin> {
        std::mem::take(&mut *self.joins.borrow_mut())
    }
}

impl SubqueryBinder for SubqueryCollector<'_, '_> {
    fn scalar_subquery(&self, q: &Query, cx: &ExprContext<'_>) -> Result<Expr> {
        let d = self
            .planner
            .bind_subquery(q, self.ctes, cx.schema, cx.outer, Mode::Scalar)?;
        let join_type = if !d.correlated && d.one_row {
            JoinType::Inner
        } else {
            JoinType::Left
        };
        self.joins.borrow_mut().push(SubqueryJoin {
            right: d.plan,
            on: d.keys,
            filter: d.filter,
            join_type,
        });
        Ok(d.value)
    }

    /// A mark: the subquery's distinct correlation keys (and, for IN, values) with a TRUE
    /// column `__m`, Left joined, so that each outer row meets at most one of them; for IN
    /// also its row and non-NULL value counts per key, which decide between FALSE and NULL
    /// when nothing matches.
    fn predicate_value(
        &self,
        p: PredicateSubquery<'_>,
        negated: bool,
        cx: &ExprContext<'_>,
    ) -> Result<Expr> {
        let (x, q, mode) = match p {
            PredicateSubquery::Exists(q) => (None, q, Mode::Exists),
            PredicateSubquery::In(x, q) => (Some(bind_in_operand(x, cx)?), q, Mode::In),
        };
        let d = self
            .planner
            .bind_subquery(q, self.ctes, cx.schema, cx.outer, mode)?;
        if d.filter.is_some() {
            return not_impl_err!(
                "an {} under OR or NOT, or in a larger expression, may only correlate through \
                 equalities (inner = outer) joined with AND; other correlated conditions are \
                 supported in a WHERE condition combined with AND",
                mode.what()
            );
        }
        let (outer_keys, inner_keys): (Vec<Expr>, Vec<Expr>) = d.keys.into_iter().unzip();
        let names = |n: usize| (0..n).map(|i| format!("__k{i}")).collect::<Vec<_>>();

        // The marks: one row per distinct (keys, value).
        let mut group = inner_keys.clone();
        let mut group_names = names(inner_keys.len());
        if mode == Mode::In {
            group.push(d.value.clone());
            group_names.push("__v".into());
        }
        let marks = if group.is_empty() {
            // Uncorrelated EXISTS: its plan returns at most one row.
            LogicalPlanBuilder::from(Arc::clone(&d.plan))
        } else {
            LogicalPlanBuilder::from(Arc::clone(&d.plan)).aggregate(group, vec![])?
        };
        let m_alias = self.planner.subquery_alias();
        let marks = project_named(marks, &group_names, vec![lit(true).alias("__m")])?
            .alias(&m_alias)
            .build();
        let m_col = |n: &str| Expr::Column(Column::qualified(&m_alias, n));
        let mut on: Vec<(Expr, Expr)> = outer_keys
            .iter()
            .cloned()
            .zip(names(outer_keys.len()).iter().map(|n| m_col(n)))
            .collect();
        if let Some(x) = &x {
            on.push((x.clone(), m_col("__v")));
        }
        self.joins.borrow_mut().push(SubqueryJoin {
            right: marks,
            on,
            filter: None,
            join_type: JoinType::Left,
        });
        let matched = m_col("__m").is_not_null();
        let Some(x) = x else {
            return Ok(if negated { matched.not() } else { matched });
        };

        // `x IN (q)` without a match is NULL when x is NULL or q has a NULL, unless q is empty.
        let count = |args: Vec<Expr>, func| Expr::AggregateFunction {
            func,
            args,
            distinct: false,
            filter: None,
        };
        let counts = LogicalPlanBuilder::from(d.plan).aggregate(
            inner_keys.clone(),
            vec![
                count(vec![], AggFunc::CountStar).alias("__n"),
                count(vec![d.value], AggFunc::Count).alias("__nn"),
            ],
        )?;
        let c_alias = self.planner.subquery_alias();
        let k = inner_keys.len();
        let mut count_names = names(k);
        count_names.extend(["__n".to_string(), "__nn".to_string()]);
        let counts = project_named(counts, &count_names, vec![])?
            .alias(&c_alias)
            .build();
        let c_col = |n: &str| Expr::Column(Column::qualified(&c_alias, n));
        self.joins.borrow_mut().push(SubqueryJoin {
            right: counts,
            on: outer_keys
                .into_iter()
                .zip(names(k).iter().map(|n| c_col(n)))
                .collect(),
            filter: None,
            // Without keys the aggregate has exactly one row.
            join_type: if k == 0 {
                JoinType::Inner
            } else {
                JoinType::Left
            },
        });
        // A Left join's NULL count is no rows.
        let counted = |name: &str| Expr::ScalarFunction {
            func: ScalarFunc::Coalesce,
            args: vec![c_col(name), lit(0i64)],
        };
        let n = counted("__n");
        let unknown = x.is_null().or(n.clone().gt(counted("__nn")));
        let value = Expr::Case {
            operand: None,
            when_then: vec![
                (matched, lit(true)),
                (n.eq(lit(0i64)), lit(false)),
                (unknown, Expr::Literal(ScalarValue::Boolean(None))),
            ],
            else_expr: Some(Box::new(lit(false))),
        };
        Ok(if negated { value.not() } else { value })
    }
}

/// `x` of `x [NOT] IN (q)`, over the enclosing query's columns (no subquery inside it).
pub(crate) fn bind_in_operand(x: &ast::Expr, cx: &ExprContext<'_>) -> Result<Expr> {
    bind_expr(
        x,
        &ExprContext {
            subqueries: None,
            ..*cx
        },
    )
}

/// Projects the first `names.len()` columns of `plan` under `names`, then `extra`.
fn project_named(
    plan: LogicalPlanBuilder,
    names: &[String],
    extra: Vec<Expr>,
) -> Result<LogicalPlanBuilder> {
    let schema = Arc::clone(plan.schema());
    let mut exprs: Vec<Expr> = names
        .iter()
        .enumerate()
        .map(|(i, n)| Expr::Column(schema.column(i)).alias(n.as_str()))
        .collect();
    exprs.extend(extra);
    plan.project(exprs)
}

/// How a subquery is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// `EXISTS (q)`: only whether rows match matters.
    Exists,
    /// `x IN (q)`: one column, compared with `x`.
    In,
    /// `(q)` as a value.
    Scalar,
}

impl Mode {
    fn what(self) -> &'static str {
        match self {
            Mode::Exists => "EXISTS subquery",
            Mode::In => "IN subquery",
            Mode::Scalar => "scalar subquery",
        }
    }
}

/// A bound subquery, ready to be joined.
pub(crate) struct Decorrelated {
    /// The subquery, aliased `__sq_<n>`.
    pub plan: Arc<LogicalPlan>,
    /// Its value (IN, scalar): `__sq_<n>.__v`, for correlated aggregates wrapped to give
    /// the value over no rows where the outer row has no match.
    pub value: Expr,
    /// Correlation keys: (outer expression, column of `plan`).
    pub keys: Vec<(Expr, Expr)>,
    /// Residual correlated condition over outer columns and `plan`'s.
    pub filter: Option<Expr>,
    /// Whether it used columns of the enclosing query.
    pub correlated: bool,
    /// Whether it always returns exactly one row (an aggregate without GROUP BY).
    pub one_row: bool,
}

/// `[NOT] EXISTS (q)` or `x [NOT] IN (q)` found as a WHERE conjunct.
pub(crate) enum PredicateSubquery<'e> {
    Exists(&'e Query),
    In(&'e ast::Expr, &'e Query),
}

/// Recognises `[NOT] EXISTS (q)` and `x [NOT] IN (q)` (also under `NOT` and parentheses);
/// the flag is true when negated.
pub(crate) fn predicate_subquery(e: &ast::Expr) -> Option<(PredicateSubquery<'_>, bool)> {
    let mut neg = false;
    let mut e = e;
    loop {
        match e {
            ast::Expr::Nested(x) => e = x,
            ast::Expr::UnaryOp {
                op: UnaryOperator::Not,
                expr,
            } => {
                neg = !neg;
                e = expr;
            }
            _ => break,
        }
    }
    match e {
        ast::Expr::Exists { subquery, negated } => {
            Some((PredicateSubquery::Exists(subquery), neg != *negated))
        }
        ast::Expr::In {
            expr,
            target: ast::InTarget::Subquery(q),
            negated,
            ..
        } => Some((PredicateSubquery::In(expr, q), neg != *negated)),
        _ => None,
    }
}

/// The conjuncts of `a AND b AND (c AND d)`.
pub(crate) fn split_ast_conjunction(e: &ast::Expr) -> Vec<&ast::Expr> {
    match e {
        ast::Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            let mut v = split_ast_conjunction(left);
            v.extend(split_ast_conjunction(right));
            v
        }
        ast::Expr::Nested(inner)
            if matches!(
                inner.as_ref(),
                ast::Expr::BinaryOp {
                    op: BinaryOperator::And,
                    ..
                }
            ) =>
        {
            split_ast_conjunction(inner)
        }
        other => vec![other],
    }
}

fn unnest(e: &ast::Expr) -> &ast::Expr {
    match e {
        ast::Expr::Nested(x) => unnest(x),
        other => other,
    }
}

/// The AST naming a bound column.
fn column_ast(c: &Column) -> ast::Expr {
    match &c.relation {
        Some(r) => ast::Expr::CompoundIdentifier(vec![Ident::new(r), Ident::new(&c.name)]),
        None => ast::Expr::Identifier(Ident::new(&c.name)),
    }
}

fn has_outer(e: &Expr) -> bool {
    e.columns().iter().any(is_outer_placeholder)
}

fn has_local(e: &Expr) -> bool {
    e.columns().iter().any(|c| !is_outer_placeholder(c))
}

/// Whether an aggregate query returns exactly one row (no GROUP BY, no HAVING).
fn returns_one_row(plan: &LogicalPlan) -> bool {
    match plan {
        LogicalPlan::Projection(p) => returns_one_row(&p.input),
        LogicalPlan::SubqueryAlias(s) => returns_one_row(&s.input),
        LogicalPlan::Sort(s) => s.fetch != Some(0) && returns_one_row(&s.input),
        LogicalPlan::Aggregate(a) => a.group_exprs.is_empty(),
        _ => false,
    }
}

/// Whether `e` is NULL when all its (non-count) aggregates are NULL, so a Left join's NULL
/// stands for the value over no rows.
fn null_when_empty(e: &Expr) -> bool {
    match e {
        Expr::Alias(x, _) | Expr::Negative(x) | Expr::Cast { expr: x, .. } => null_when_empty(x),
        Expr::AggregateFunction { func, .. } => {
            !matches!(func, AggFunc::Count | AggFunc::CountStar)
        }
        Expr::BinaryExpr { left, op, right } => {
            !matches!(
                op,
                Operator::And
                    | Operator::Or
                    | Operator::IsDistinctFrom
                    | Operator::IsNotDistinctFrom
            ) && (null_when_empty(left) || null_when_empty(right))
        }
        _ => false,
    }
}

/// The value of a correlated aggregate for an outer row without a group: `v` itself when
/// that is NULL anyway, `coalesce(v, 0)` for a count, otherwise the select expression over
/// no rows when the key column (`present`) is NULL.
fn value_over_no_rows(v: Expr, item: &Expr, present: Expr, schema: &PlanSchema) -> Result<Expr> {
    if let Expr::AggregateFunction {
        func: AggFunc::Count | AggFunc::CountStar,
        ..
    } = item.unalias()
    {
        return Ok(Expr::ScalarFunction {
            func: ScalarFunc::Coalesce,
            args: vec![v, Expr::Literal(ScalarValue::Int64(Some(0)))],
        });
    }
    if null_when_empty(item) {
        return Ok(v);
    }
    let empty = item.unalias().clone().transform_down(&mut |n| match &n {
        Expr::AggregateFunction {
            func: AggFunc::Count | AggFunc::CountStar,
            ..
        } => Ok((Expr::Literal(ScalarValue::Int64(Some(0))), false)),
        Expr::AggregateFunction { .. } => {
            let null = Expr::Literal(ScalarValue::Null);
            Ok(match n.get_type(schema) {
                Ok(t) => (null.cast(t), false),
                Err(_) => (null, false),
            })
        }
        _ => Ok((n, true)),
    })?;
    Ok(Expr::Case {
        operand: None,
        when_then: vec![(present.is_null(), empty)],
        else_expr: Some(Box::new(v)),
    })
}

/// A bound uncorrelated subquery, aliased.
fn uncorrelated(plan: Arc<LogicalPlan>, alias: &str, mode: Mode) -> Result<Decorrelated> {
    let one_row = returns_one_row(&plan);
    let value = Expr::Column(Column::qualified(alias, "__v"));
    let plan = match mode {
        Mode::Exists => LogicalPlanBuilder::from(plan)
            .limit(0, Some(1))
            .alias(alias)
            .build(),
        Mode::In | Mode::Scalar => {
            let n = plan.schema().len();
            if n != 1 {
                return plan_err!(
                    "a {} must return one column, this one returns {n}",
                    mode.what()
                );
            }
            // Rename the select list's expression rather than stacking a projection.
            let (e, input) = match plan.as_ref() {
                LogicalPlan::Projection(p) if p.exprs.len() == 1 => {
                    (p.exprs[0].unalias().clone(), Arc::clone(&p.input))
                }
                _ => (Expr::Column(plan.schema().column(0)), plan),
            };
            LogicalPlanBuilder::from(input)
                .project(vec![e.alias("__v")])?
                .alias(alias)
                .build()
        }
    };
    Ok(Decorrelated {
        plan,
        value,
        keys: vec![],
        filter: None,
        correlated: false,
        one_row,
    })
}

impl QueryPlanner<'_> {
    /// Binds a subquery used in an expression over `outer_schema` (the enclosing query's FROM
    /// columns; `parent` the scope around that query when it is a subquery too).
    pub(crate) fn bind_subquery(
        &self,
        q: &Query,
        ctes: &Ctes,
        outer_schema: &PlanSchema,
        parent: Option<&OuterScope<'_>>,
        mode: Mode,
    ) -> Result<Decorrelated> {
        let alias = self.subquery_alias();
        let scope = OuterScope::new(outer_schema, parent);
        let first = self.query_in(q, ctes, Some(&scope));
        if !scope.is_correlated() {
            return uncorrelated(first?, &alias, mode);
        }
        self.correlated(q, ctes, outer_schema, parent, mode, &alias)
    }

    fn correlated(
        &self,
        q: &Query,
        ctes: &Ctes,
        outer_schema: &PlanSchema,
        parent: Option<&OuterScope<'_>>,
        mode: Mode,
        alias: &str,
    ) -> Result<Decorrelated> {
        let what = mode.what();
        let SetExpr::Select(s) = q.body.as_ref() else {
            return not_impl_err!(
                "a correlated {what} must be a plain SELECT; set operations and VALUES are not supported yet"
            );
        };
        if q.order_by.is_some() || q.limit_clause.is_some() || q.fetch.is_some() {
            return not_impl_err!("ORDER BY / LIMIT in a correlated {what} is not supported yet");
        }
        if !matches!(&s.group_by, GroupByExpr::Expressions(g, m) if g.is_empty() && m.is_empty())
            || s.having.is_some()
        {
            return not_impl_err!("GROUP BY / HAVING in a correlated {what} is not supported yet");
        }
        let ctes = self.with_ctes(q, ctes)?;
        let from = self.from(&s.from, &ctes)?;
        let from_schema = Arc::clone(from.schema());
        let scope = OuterScope::new(outer_schema, parent);
        let where_cx = ExprContext {
            outer: Some(&scope),
            ..ExprContext::new(&from_schema, "WHERE")
        };
        let item_cx = ExprContext {
            allow_aggregates: true,
            ..ExprContext::new(&from_schema, "SELECT")
        };

        // Split WHERE into local conjuncts, keys (outer expr, inner AST) and residuals.
        let mut local: Vec<ast::Expr> = Vec::new();
        let mut keys: Vec<(Expr, ast::Expr)> = Vec::new();
        let mut residual: Vec<Expr> = Vec::new();
        if let Some(w) = &s.selection {
            for c in split_ast_conjunction(w) {
                if predicate_subquery(c).is_some() {
                    local.push(c.clone());
                    continue;
                }
                let e = match bind_expr(c, &where_cx) {
                    Ok(e) if has_outer(&e) => e,
                    _ => {
                        local.push(c.clone());
                        continue;
                    }
                };
                if let ast::Expr::BinaryOp {
                    left,
                    op: BinaryOperator::Eq,
                    right,
                } = unnest(c)
                {
                    if let (Ok(l), Ok(r)) =
                        (bind_expr(left, &where_cx), bind_expr(right, &where_cx))
                    {
                        let outer_only = |e: &Expr| has_outer(e) && !has_local(e);
                        let inner_only = |e: &Expr| has_local(e) && !has_outer(e);
                        if outer_only(&l) && inner_only(&r) {
                            keys.push((l, right.as_ref().clone()));
                            continue;
                        }
                        if outer_only(&r) && inner_only(&l) {
                            keys.push((r, left.as_ref().clone()));
                            continue;
                        }
                    }
                }
                residual.push(e);
            }
        }
        if keys.is_empty() && residual.is_empty() {
            return not_impl_err!(
                "columns of the enclosing query are only supported in the WHERE clause of a \
                 correlated {what}, as conditions joined with AND"
            );
        }

        // The select list.
        let item_ast: Option<&ast::Expr> = match s.projection.as_slice() {
            [SelectItem::UnnamedExpr(e)] | [SelectItem::ExprWithAlias { expr: e, .. }] => Some(e),
            _ => None,
        };
        let aggregated = s.projection.iter().any(|it| match it {
            SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                bind_expr(e, &item_cx).is_ok_and(|b| b.contains_aggregate())
            }
            _ => false,
        });
        let item = match (mode, item_ast) {
            (Mode::Exists, _) => None,
            (_, Some(e)) => Some(e),
            (_, None) => {
                return plan_err!(
                    "a {what} must return one column, this one has {} select items",
                    s.projection.len()
                )
            }
        };
        match mode {
            Mode::Exists | Mode::In if aggregated => {
                return not_impl_err!("a correlated {what} with aggregates is not supported yet")
            }
            Mode::Scalar if aggregated && !residual.is_empty() => {
                let conds: Vec<String> = residual
                    .iter()
                    .map(|e| scope.resolve(e.clone()).map(|e| e.to_string()))
                    .collect::<Result<_>>()?;
                return not_impl_err!(
                    "a correlated scalar subquery with aggregates needs equality conditions \
                     (inner = outer); '{}' is not supported yet",
                    conds.join(" AND ")
                );
            }
            _ => {}
        }

        // The subquery without its correlated conditions, outputting what the join needs.
        let mut m = s.as_ref().clone();
        m.selection = local.into_iter().reduce(|a, b| ast::Expr::BinaryOp {
            left: Box::new(a),
            op: BinaryOperator::And,
            right: Box::new(b),
        });
        let mut projection = Vec::new();
        if let Some(e) = item {
            projection.push(SelectItem::ExprWithAlias {
                expr: e.clone(),
                alias: Ident::new("__v"),
            });
        }
        for (i, (_, k)) in keys.iter().enumerate() {
            projection.push(SelectItem::ExprWithAlias {
                expr: k.clone(),
                alias: Ident::new(format!("__k{i}")),
            });
        }
        let mut rcols: Vec<Column> = Vec::new();
        for e in &residual {
            for c in e.columns() {
                if !is_outer_placeholder(&c) && !rcols.contains(&c) {
                    rcols.push(c);
                }
            }
        }
        for (j, c) in rcols.iter().enumerate() {
            projection.push(SelectItem::ExprWithAlias {
                expr: column_ast(c),
                alias: Ident::new(format!("__r{j}")),
            });
        }
        if projection.is_empty() {
            projection.push(SelectItem::ExprWithAlias {
                expr: ast::Expr::value(Value::Number("1".to_string(), false)),
                alias: Ident::new("__one"),
            });
        }
        m.projection = projection;
        m.flavor = ast::SelectFlavor::Standard;
        if mode == Mode::Exists {
            m.distinct = None;
        }
        if mode == Mode::Scalar && aggregated {
            m.group_by =
                GroupByExpr::Expressions(keys.iter().map(|(_, k)| k.clone()).collect(), vec![]);
        }
        let rest = OuterScope::new(outer_schema, parent);
        let bound = self.select(&m, &ctes, None, Some(&rest));
        if rest.is_correlated() {
            let cols: Vec<String> = rest.refs.borrow().iter().map(|c| c.flat_name()).collect();
            return not_impl_err!(
                "a correlated {what} may use columns of the enclosing query only in WHERE \
                 conditions joined with AND (found {} elsewhere)",
                cols.join(", ")
            );
        }
        let plan = LogicalPlanBuilder::from(bound?).alias(alias).build();

        let col = |n: String| Expr::Column(Column::qualified(alias, n));
        let keys: Vec<(Expr, Expr)> = keys
            .into_iter()
            .enumerate()
            .map(|(i, (o, _))| Ok((scope.resolve(o)?, col(format!("__k{i}")))))
            .collect::<Result<_>>()?;
        let residual: Vec<Expr> = residual
            .into_iter()
            .map(|e| {
                let e = e.transform_up(&mut |n| match n {
                    Expr::Column(c) if !is_outer_placeholder(&c) => {
                        match rcols.iter().position(|r| *r == c) {
                            Some(j) => Ok(col(format!("__r{j}"))),
                            None => rask_common::internal_err!("residual column {c} not projected"),
                        }
                    }
                    other => Ok(other),
                })?;
                scope.resolve(e)
            })
            .collect::<Result<_>>()?;
        let mut value = col("__v".to_string());
        if mode == Mode::Scalar && aggregated {
            if let (Some(e), Some((_, k))) =
                (item.and_then(|e| bind_expr(e, &item_cx).ok()), keys.first())
            {
                value = value_over_no_rows(value, &e, k.clone(), &from_schema)?;
            }
        }
        Ok(Decorrelated {
            plan,
            value,
            keys,
            filter: conjunction(residual),
            correlated: true,
            one_row: false,
        })
    }
}
