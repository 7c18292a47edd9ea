//! Binding queries: `SELECT`, set operations, `VALUES`, `WITH`, `ORDER BY` and `LIMIT` to
//! logical plans.
//!
//! A `SELECT` becomes, bottom-up:
//!
//! ```text
//! Limit                          LIMIT / OFFSET
//!   Projection                   drops hidden ORDER BY columns (only when there are some)
//!     Sort                       ORDER BY over the select list (+ hidden columns)
//!       Distinct                 SELECT DISTINCT
//!         Projection             the select list (+ hidden ORDER BY columns)
//!           Filter               HAVING
//!             Join               scalar subqueries of the select list, HAVING, ORDER BY
//!               Aggregate        GROUP BY keys + every distinct aggregate call of the query
//!                 Join           [NOT] EXISTS / [NOT] IN (subquery) WHERE conjuncts
//!                   Filter       WHERE conjuncts that read scalar subqueries
//!                     Join       scalar subqueries of WHERE (see the `subquery` module)
//!                       Filter   the other WHERE conjuncts
//!                         <FROM> TableScan | SubqueryAlias | Values | EmptyRelation | Join
//! ```
//!
//! Without aggregates, the select list's subquery joins go right above the WHERE nodes.
//!
//! In FROM, `a, b` is a key-less inner Join (the optimizer turns the WHERE above it into
//! keys); `JOIN ... ON` splits its condition into equi-keys (`l = r`, one side per input) and
//! a residual filter; `USING` and `NATURAL` output each shared column once.
//!
//! Aggregate calls found anywhere in the select list, `HAVING` or `ORDER BY` are computed once
//! by the Aggregate node, and the expressions above it read them (and the grouping keys) as
//! columns of its output.

use std::cell::Cell;
use std::sync::Arc;

use rask_common::{internal_err, not_impl_err, plan_err, Result, ScalarValue};
use rask_expr::schema::suggest;
use rask_expr::{
    conjunction, split_conjunction, AggFunc, Column, Expr, Filter, Join, JoinType, LogicalPlan,
    LogicalPlanBuilder, Operator, PlanSchema, Projection, ScalarFunc, SortExpr, SubqueryAlias,
    Union, Values,
};
use sqlparser::ast::{
    self, Distinct, ExcludeSelectItem, FunctionArg, FunctionArgExpr, GroupByExpr, JoinConstraint,
    JoinOperator, LimitClause, ObjectNamePart, OrderBy, OrderByKind, OrderBySort, Query, Select,
    SelectItem, SelectItemQualifiedWildcardKind, SetExpr, SetOperator, SetQuantifier, TableAlias,
    TableAliasColumnDef, TableFactor, TableWithJoins, Value, WildcardAdditionalOptions,
};

use sqlparser::tokenizer::Span;

use crate::expr::{
    bind_expr, const_value, object_name, object_span, position, ExprContext, OuterScope,
};
use crate::subquery::{
    bind_in_operand, coerce_keys, is_subquery_column, predicate_subquery, split_ast_conjunction,
    Mode, PredicateSubquery, SubqueryCollector, SubqueryJoin, SUBQUERY_PREFIX,
};
use crate::SqlCatalog;

/// Common table expressions in scope, later ones shadowing earlier ones.
pub(crate) type Ctes = Vec<(String, Arc<LogicalPlan>)>;

/// Binds queries against a catalog.
pub(crate) struct QueryPlanner<'a> {
    pub catalog: &'a dyn SqlCatalog,
    /// Number of subqueries bound so far, to name them `__sq_<n>`.
    subqueries: Cell<usize>,
}

/// One output column of a select list.
struct SelectExpr {
    /// Bound over the FROM/WHERE schema (may contain aggregates), without alias.
    expr: Expr,
    /// Output name.
    name: String,
    /// Written with `AS name`.
    aliased: bool,
}

/// An `ORDER BY` key of a `SELECT`.
enum OrderTarget {
    /// The i-th select-list column.
    Output(usize),
    /// An expression over the FROM/WHERE schema.
    Expr(Expr),
}

struct OrderKey {
    target: OrderTarget,
    asc: bool,
    nulls_first: bool,
}

fn arc(plan: LogicalPlan) -> Arc<LogicalPlan> {
    Arc::new(plan)
}

/// `e` with columns fully qualified against `schema` and aliases removed, for comparing
/// expressions written differently (`a` vs `t.a`).
pub(crate) fn normalize(e: &Expr, schema: &PlanSchema) -> Expr {
    let out = e.clone().transform_up(&mut |n| {
        Ok(match n {
            Expr::Column(c) => match schema.maybe_index_of_column(&c) {
                Ok(Some(i)) => Expr::Column(schema.column(i)),
                _ => Expr::Column(c),
            },
            Expr::Alias(inner, _) => *inner,
            other => other,
        })
    });
    out.unwrap_or_else(|_| e.clone())
}

/// Rewrites an expression over the Aggregate's input into one over its output: grouping keys
/// and aggregate calls become columns; any other column is an error.
fn rewrite_for_aggregate(
    e: Expr,
    in_schema: &PlanSchema,
    replacements: &[(Expr, Column)],
) -> Result<Expr> {
    e.transform_down(&mut |n| {
        let norm = normalize(&n, in_schema);
        if let Some((_, c)) = replacements.iter().find(|(k, _)| *k == norm) {
            return Ok((Expr::Column(c.clone()), false));
        }
        match &n {
            Expr::Column(c) if is_subquery_column(c) => Ok((n, false)),
            Expr::Column(c) => plan_err!(
                "column {} must appear in the GROUP BY clause or be used in an aggregate function",
                c.flat_name()
            ),
            Expr::AggregateFunction { .. } => {
                internal_err!("aggregate call {n} was not collected")
            }
            _ => Ok((n, true)),
        }
    })
}

/// Renames the first columns of `plan` (`AS t(a, b)`, `WITH c(a, b) AS`).
pub(crate) fn rename_columns(
    plan: Arc<LogicalPlan>,
    names: &[TableAliasColumnDef],
) -> Result<Arc<LogicalPlan>> {
    if names.is_empty() {
        return Ok(plan);
    }
    let schema = plan.schema();
    if names.len() > schema.len() {
        return plan_err!(
            "{} column names were given but the relation has only {} columns",
            names.len(),
            schema.len()
        );
    }
    let exprs = (0..schema.len())
        .map(|i| {
            let c = Expr::Column(schema.column(i));
            match names.get(i) {
                Some(n) => c.alias(n.name.value.clone()),
                None => c,
            }
        })
        .collect();
    Ok(arc(LogicalPlan::Projection(Projection::try_new(
        exprs, plan,
    )?)))
}

/// A non-negative integer constant (`LIMIT 10`); `None` for `NULL`.
fn const_usize(e: &ast::Expr, clause: &'static str) -> Result<Option<usize>> {
    let empty = PlanSchema::empty();
    let bound = bind_expr(e, &ExprContext::new(&empty, clause))?;
    match const_value(&bound) {
        Some(v) if v.is_null() => Ok(None),
        Some(ScalarValue::Int64(Some(n))) if n >= 0 => Ok(Some(n as usize)),
        Some(ScalarValue::Int32(Some(n))) if n >= 0 => Ok(Some(n as usize)),
        _ => plan_err!("{clause} must be a non-negative integer constant, got {e}"),
    }
}

/// The 1-based position of an integer literal (`ORDER BY 2`, `GROUP BY 1`).
fn ordinal(e: &ast::Expr) -> Option<Result<usize>> {
    if let ast::Expr::Value(v) = e {
        if let Value::Number(n, _) = &v.value {
            return Some(match n.parse::<usize>() {
                Ok(k) => Ok(k),
                Err(_) => plan_err!("invalid column position {n}{}", position(v.span)),
            });
        }
    }
    None
}

/// `(select name, output index)` for a bare identifier matching a select-list name.
fn find_output_name(items: &[SelectExpr], e: &ast::Expr) -> Option<usize> {
    let ast::Expr::Identifier(id) = e else {
        return None;
    };
    items.iter().position(|i| i.name == id.value).or_else(|| {
        items
            .iter()
            .position(|i| i.name.eq_ignore_ascii_case(&id.value))
    })
}

pub(crate) fn sort_options(o: &ast::OrderByOptions) -> Result<(bool, bool)> {
    let asc = match &o.sort {
        None | Some(OrderBySort::Asc) => true,
        Some(OrderBySort::Desc) => false,
        Some(OrderBySort::Using(op)) => {
            return not_impl_err!("ORDER BY ... USING {op} is not supported yet")
        }
    };
    // DuckDB's default: NULLs last in both directions.
    Ok((asc, o.nulls_first.unwrap_or(false)))
}

impl<'a> QueryPlanner<'a> {
    pub fn new(catalog: &'a dyn SqlCatalog) -> Self {
        QueryPlanner {
            catalog,
            subqueries: Cell::new(0),
        }
    }
}

impl QueryPlanner<'_> {
    /// A fresh alias for a subquery joined into its enclosing query.
    pub(crate) fn subquery_alias(&self) -> String {
        let n = self.subqueries.get() + 1;
        self.subqueries.set(n);
        format!("{SUBQUERY_PREFIX}{n}")
    }

    /// Binds a whole query (`WITH`, body, `ORDER BY`, `LIMIT`).
    pub fn query(&self, q: &Query, outer_ctes: &Ctes) -> Result<Arc<LogicalPlan>> {
        self.query_in(q, outer_ctes, None)
    }

    /// `outer_ctes` plus the query's own `WITH` list.
    pub(crate) fn with_ctes(&self, q: &Query, outer_ctes: &Ctes) -> Result<Ctes> {
        let mut ctes = outer_ctes.clone();
        if let Some(with) = &q.with {
            if with.recursive {
                return not_impl_err!("WITH RECURSIVE is not supported yet");
            }
            for cte in &with.cte_tables {
                let plan = self.query(&cte.query, &ctes)?;
                let plan = rename_columns(plan, &cte.alias.columns)?;
                ctes.push((cte.alias.name.value.clone(), plan));
            }
        }
        Ok(ctes)
    }

    /// Binds a whole query; `outer` holds the enclosing query's columns when it is a
    /// subquery in an expression.
    pub(crate) fn query_in(
        &self,
        q: &Query,
        outer_ctes: &Ctes,
        outer: Option<&OuterScope<'_>>,
    ) -> Result<Arc<LogicalPlan>> {
        if !q.locks.is_empty() {
            return not_impl_err!("FOR UPDATE/SHARE is not supported");
        }
        if q.for_clause.is_some() || q.settings.is_some() || q.format_clause.is_some() {
            return not_impl_err!("FOR/SETTINGS/FORMAT clauses are not supported");
        }
        if !q.pipe_operators.is_empty() {
            return not_impl_err!("pipe operators (|>) are not supported");
        }
        let ctes = self.with_ctes(q, outer_ctes)?;
        let plan = match q.body.as_ref() {
            SetExpr::Select(s) => self.select(s, &ctes, q.order_by.as_ref(), outer)?,
            body => {
                let plan = self.set_expr(body, &ctes, outer)?;
                match &q.order_by {
                    Some(ob) => self.order_output(plan, ob)?,
                    None => plan,
                }
            }
        };
        self.limit(plan, q)
    }

    fn limit(&self, plan: Arc<LogicalPlan>, q: &Query) -> Result<Arc<LogicalPlan>> {
        let (mut limit, offset) = match &q.limit_clause {
            None => (None, None),
            Some(LimitClause::LimitOffset {
                limit,
                offset,
                limit_by,
            }) => {
                if !limit_by.is_empty() {
                    return not_impl_err!("LIMIT ... BY is not supported");
                }
                (limit.as_ref(), offset.as_ref().map(|o| &o.value))
            }
            Some(LimitClause::OffsetCommaLimit { offset, limit }) => (Some(limit), Some(offset)),
        };
        if let Some(f) = &q.fetch {
            if f.with_ties || f.percent {
                return not_impl_err!("FETCH ... WITH TIES / PERCENT is not supported yet");
            }
            if limit.is_some() {
                return plan_err!("a query cannot have both LIMIT and FETCH");
            }
            limit = f.quantity.as_ref();
        }
        let fetch = match limit {
            Some(e) => const_usize(e, "LIMIT")?,
            None => None,
        };
        let skip = match offset {
            Some(e) => const_usize(e, "OFFSET")?.unwrap_or(0),
            None => 0,
        };
        if fetch.is_none() && skip == 0 {
            return Ok(plan);
        }
        Ok(LogicalPlanBuilder::from(plan).limit(skip, fetch).build())
    }

    /// ORDER BY over the output of a set operation or VALUES: positions, output names or
    /// expressions over the output columns.
    fn order_output(&self, plan: Arc<LogicalPlan>, ob: &OrderBy) -> Result<Arc<LogicalPlan>> {
        if ob.interpolate.is_some() {
            return not_impl_err!("ORDER BY ... INTERPOLATE is not supported");
        }
        let schema = Arc::clone(plan.schema());
        let mut keys = Vec::new();
        match &ob.kind {
            OrderByKind::All(opts) => {
                let (asc, nulls_first) = sort_options(opts)?;
                for c in schema.columns() {
                    keys.push(SortExpr {
                        expr: Expr::Column(c),
                        asc,
                        nulls_first,
                    });
                }
            }
            OrderByKind::Expressions(exprs) => {
                for o in exprs {
                    if o.with_fill.is_some() {
                        return not_impl_err!("ORDER BY ... WITH FILL is not supported");
                    }
                    let (asc, nulls_first) = sort_options(&o.options)?;
                    let expr = match ordinal(&o.expr) {
                        Some(k) => {
                            let k = k?;
                            if k == 0 || k > schema.len() {
                                return plan_err!(
                                    "ORDER BY position {k} is not in the select list (1 to {})",
                                    schema.len()
                                );
                            }
                            Expr::Column(schema.column(k - 1))
                        }
                        None => bind_expr(&o.expr, &ExprContext::new(&schema, "ORDER BY"))?,
                    };
                    keys.push(SortExpr {
                        expr,
                        asc,
                        nulls_first,
                    });
                }
            }
        }
        Ok(LogicalPlanBuilder::from(plan).sort(keys)?.build())
    }

    /// Binds a query body without ORDER BY / LIMIT.
    fn set_expr(
        &self,
        body: &SetExpr,
        ctes: &Ctes,
        outer: Option<&OuterScope<'_>>,
    ) -> Result<Arc<LogicalPlan>> {
        match body {
            SetExpr::Select(s) => self.select(s, ctes, None, outer),
            SetExpr::Query(q) => self.query_in(q, ctes, outer),
            SetExpr::Values(v) => self.values(v),
            SetExpr::SetOperation {
                left,
                op,
                set_quantifier,
                right,
            } => {
                let all = match set_quantifier {
                    SetQuantifier::All => true,
                    SetQuantifier::None | SetQuantifier::Distinct => false,
                    other => return not_impl_err!("{op} {other} is not supported yet"),
                };
                match op {
                    SetOperator::Union => {
                        if all {
                            let mut inputs = Vec::new();
                            self.collect_union_all(body, ctes, outer, &mut inputs)?;
                            Ok(arc(LogicalPlan::Union(Union::try_new(inputs)?)))
                        } else {
                            let l = self.set_expr(left, ctes, outer)?;
                            let r = self.set_expr(right, ctes, outer)?;
                            let u = arc(LogicalPlan::Union(Union::try_new(vec![l, r])?));
                            Ok(LogicalPlanBuilder::from(u).distinct().build())
                        }
                    }
                    SetOperator::Intersect | SetOperator::Except | SetOperator::Minus => {
                        if all {
                            return not_impl_err!("{op} ALL is not supported yet");
                        }
                        let l = self.set_expr(left, ctes, outer)?;
                        let r = self.set_expr(right, ctes, outer)?;
                        set_difference(l, r, *op == SetOperator::Intersect)
                    }
                }
            }
            SetExpr::Table(t) => match &t.table_name {
                Some(id) => {
                    let plan = self.named_table(&id.value, id.span, ctes)?;
                    self.alias_relation(plan, None, Some(&id.value))
                }
                None => plan_err!("TABLE needs a table name"),
            },
            other => not_impl_err!("'{other}' is not supported as a query"),
        }
    }

    fn collect_union_all(
        &self,
        body: &SetExpr,
        ctes: &Ctes,
        outer: Option<&OuterScope<'_>>,
        out: &mut Vec<Arc<LogicalPlan>>,
    ) -> Result<()> {
        match body {
            SetExpr::SetOperation {
                left,
                op: SetOperator::Union,
                set_quantifier: SetQuantifier::All,
                right,
            } => {
                self.collect_union_all(left, ctes, outer, out)?;
                self.collect_union_all(right, ctes, outer, out)
            }
            other => {
                out.push(self.set_expr(other, ctes, outer)?);
                Ok(())
            }
        }
    }

    /// `VALUES (..), (..)`: constant rows, each cell cast to its column's common type.
    pub fn values(&self, v: &ast::Values) -> Result<Arc<LogicalPlan>> {
        let empty = PlanSchema::empty();
        let cx = ExprContext::new(&empty, "VALUES");
        let rows = v
            .rows
            .iter()
            .map(|r| {
                r.iter()
                    .map(|e| bind_expr(e, &cx))
                    .collect::<Result<Vec<_>>>()
            })
            .collect::<Result<Vec<_>>>()?;
        if rows.is_empty() {
            return plan_err!("VALUES needs at least one row");
        }
        let values = Values::try_new(rows)?;
        let schema = Arc::clone(&values.schema);
        let rows = values
            .rows
            .into_iter()
            .map(|r| {
                r.into_iter()
                    .enumerate()
                    .map(|(c, e)| {
                        let want = schema.field(c).data_type();
                        let have = e.get_type(&empty)?;
                        if &have == want {
                            return Ok(e);
                        }
                        if let Expr::Literal(lit) = &e {
                            if let Ok(v) = lit.cast_to(want) {
                                if &v.data_type() == want {
                                    return Ok(Expr::Literal(v));
                                }
                            }
                        }
                        Ok(e.cast(want.clone()))
                    })
                    .collect::<Result<Vec<_>>>()
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(arc(LogicalPlan::Values(Values { schema, rows })))
    }

    // ---------------------------------------------------------------- FROM

    /// `FROM a, b JOIN c ON ...`: comma-separated items become cross joins (a WHERE above
    /// them is left to the optimizer to turn into join keys).
    pub(crate) fn from(&self, from: &[TableWithJoins], ctes: &Ctes) -> Result<Arc<LogicalPlan>> {
        let mut plan: Option<Arc<LogicalPlan>> = None;
        for item in from {
            let right = self.table_with_joins(item, ctes)?;
            plan = Some(match plan {
                None => right,
                Some(left) => {
                    check_distinct_relations(left.schema(), right.schema())?;
                    join_plan(left, right, vec![], None, JoinType::Inner)?
                }
            });
        }
        Ok(plan.unwrap_or_else(|| LogicalPlanBuilder::empty(true).build()))
    }

    fn table_with_joins(&self, t: &TableWithJoins, ctes: &Ctes) -> Result<Arc<LogicalPlan>> {
        let mut plan = self.table_factor(&t.relation, ctes)?;
        for j in &t.joins {
            let right = self.table_factor(&j.relation, ctes)?;
            plan = self.join(plan, right, &j.join_operator)?;
        }
        Ok(plan)
    }

    /// `left <op> JOIN right <constraint>`.
    fn join(
        &self,
        left: Arc<LogicalPlan>,
        right: Arc<LogicalPlan>,
        op: &JoinOperator,
    ) -> Result<Arc<LogicalPlan>> {
        use JoinOperator as J;
        let (join_type, constraint, cross) = match op {
            J::Join(c) | J::Inner(c) => (JoinType::Inner, c, false),
            J::Left(c) | J::LeftOuter(c) => (JoinType::Left, c, false),
            J::Right(c) | J::RightOuter(c) => (JoinType::Right, c, false),
            J::FullOuter(c) => (JoinType::Full, c, false),
            J::CrossJoin(c) => (JoinType::Inner, c, true),
            J::Semi(c) | J::LeftSemi(c) => (JoinType::LeftSemi, c, false),
            J::Anti(c) | J::LeftAnti(c) => (JoinType::LeftAnti, c, false),
            J::RightSemi(c) => (JoinType::RightSemi, c, false),
            J::RightAnti(c) => (JoinType::RightAnti, c, false),
            J::AsOf { .. } => return not_impl_err!("ASOF joins are not supported yet"),
            J::CrossApply | J::OuterApply => {
                return not_impl_err!("CROSS/OUTER APPLY is not supported yet")
            }
            other => return not_impl_err!("join operator '{other:?}' is not supported"),
        };
        check_distinct_relations(left.schema(), right.schema())?;
        match constraint {
            JoinConstraint::None => {
                if !cross && join_type != JoinType::Inner {
                    return plan_err!("{join_type} join needs an ON or USING condition");
                }
                join_plan(left, right, vec![], None, join_type)
            }
            _ if cross => plan_err!("CROSS JOIN cannot have a join condition"),
            JoinConstraint::On(e) => self.join_on(left, right, e, join_type),
            JoinConstraint::Using(names) => {
                let mut cols = Vec::new();
                for n in names {
                    match n.0.as_slice() {
                        [ObjectNamePart::Identifier(id)] => cols.push(id.value.clone()),
                        _ => return plan_err!("USING takes column names, got {n}"),
                    }
                }
                join_using(left, right, &cols, join_type)
            }
            JoinConstraint::UsingAlias(..) => {
                not_impl_err!("USING (...) AS alias is not supported yet")
            }
            JoinConstraint::Natural => {
                let (ls, rs) = (left.schema(), right.schema());
                let mut cols: Vec<String> = Vec::new();
                for (_, f) in ls.fields() {
                    let name = f.name();
                    let in_right = rs
                        .fields()
                        .iter()
                        .any(|(_, g)| g.name().eq_ignore_ascii_case(name));
                    if in_right && !cols.iter().any(|c| c.eq_ignore_ascii_case(name)) {
                        cols.push(name.clone());
                    }
                }
                if cols.is_empty() {
                    return join_plan(left, right, vec![], None, join_type);
                }
                join_using(left, right, &cols, join_type)
            }
        }
    }

    /// `JOIN ... ON cond`: conjuncts `l = r` with `l` over the left input only and `r` over
    /// the right only (or the reverse) become keys, the rest the join's filter.
    fn join_on(
        &self,
        left: Arc<LogicalPlan>,
        right: Arc<LogicalPlan>,
        cond: &ast::Expr,
        join_type: JoinType,
    ) -> Result<Arc<LogicalPlan>> {
        let (ls, rs) = (Arc::clone(left.schema()), Arc::clone(right.schema()));
        let both = ls.join(&rs);
        let pred = bind_expr(cond, &ExprContext::new(&both, "ON"))?;
        let mut on = Vec::new();
        let mut rest = Vec::new();
        for c in split_conjunction(&pred) {
            if let Expr::BinaryExpr {
                left: l,
                op: Operator::Eq,
                right: r,
            } = c
            {
                match (side_of(l, &ls, &rs), side_of(r, &ls, &rs)) {
                    (Some(Side::Left), Some(Side::Right)) => {
                        on.push((l.as_ref().clone(), r.as_ref().clone()));
                        continue;
                    }
                    (Some(Side::Right), Some(Side::Left)) => {
                        on.push((r.as_ref().clone(), l.as_ref().clone()));
                        continue;
                    }
                    _ => {}
                }
            }
            rest.push(c.clone());
        }
        let on = coerce_keys(&ls, &rs, on)?;
        join_plan(left, right, on, conjunction(rest), join_type)
    }

    fn table_factor(&self, t: &TableFactor, ctes: &Ctes) -> Result<Arc<LogicalPlan>> {
        match t {
            TableFactor::Table {
                name,
                alias,
                args,
                with_hints,
                version,
                sample,
                ..
            } => {
                if !with_hints.is_empty() || version.is_some() || sample.is_some() {
                    return not_impl_err!("table hints, versions and samples are not supported");
                }
                if let Some(args) = args {
                    let fname = object_name(name).to_lowercase();
                    let plan = self.table_function(&fname, &args.args)?;
                    return self.alias_relation(plan, alias.as_ref(), None);
                }
                // `FROM 'path/*.parquet'`
                if let [ObjectNamePart::Identifier(id)] = name.0.as_slice() {
                    if id.quote_style == Some('\'') {
                        let plan = self.catalog.path_table(&id.value)?;
                        return self.alias_relation(plan, alias.as_ref(), None);
                    }
                }
                let written = object_name(name);
                let plan = self.named_table(&written, object_span(name), ctes)?;
                self.alias_relation(plan, alias.as_ref(), Some(&written))
            }
            TableFactor::Derived {
                lateral,
                subquery,
                alias,
                sample,
            } => {
                if *lateral {
                    return not_impl_err!("LATERAL subqueries are not supported yet");
                }
                if sample.is_some() {
                    return not_impl_err!("TABLESAMPLE is not supported yet");
                }
                let plan = self.query(subquery, ctes)?;
                self.alias_relation(plan, alias.as_ref(), None)
            }
            TableFactor::Function {
                lateral,
                name,
                args,
                alias,
                ..
            } => {
                if *lateral {
                    return not_impl_err!("LATERAL table functions are not supported yet");
                }
                let plan = self.table_function(&object_name(name).to_lowercase(), args)?;
                self.alias_relation(plan, alias.as_ref(), None)
            }
            TableFactor::NestedJoin {
                table_with_joins,
                alias,
            } => {
                let plan = self.table_with_joins(table_with_joins, ctes)?;
                let plan = self.alias_relation(plan, alias.as_ref(), None)?;
                if let Some(a) = alias {
                    let fields = plan.schema().fields();
                    for (i, (_, f)) in fields.iter().enumerate() {
                        if fields[..i]
                            .iter()
                            .any(|(_, g)| g.name().eq_ignore_ascii_case(f.name()))
                        {
                            return plan_err!(
                                "the join aliased '{}' has two columns named '{}'; rename them with {} (c1, c2, ...) or alias the tables inside instead",
                                a.name.value,
                                f.name(),
                                a.name.value
                            );
                        }
                    }
                }
                Ok(plan)
            }
            other => not_impl_err!("FROM item '{other}' is not supported yet"),
        }
    }

    /// A CTE or catalog table by name (case-insensitive), with a "did you mean" error.
    fn named_table(&self, name: &str, span: Span, ctes: &Ctes) -> Result<Arc<LogicalPlan>> {
        if let Some((_, plan)) = ctes.iter().rev().find(|(n, _)| n == name).or_else(|| {
            ctes.iter()
                .rev()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
        }) {
            return Ok(Arc::clone(plan));
        }
        if let Some(plan) = self.catalog.resolve_table(name)? {
            return Ok(plan);
        }
        let names = self.catalog.table_names();
        let candidates = names
            .iter()
            .map(String::as_str)
            .chain(ctes.iter().map(|(n, _)| n.as_str()));
        let hint = suggest(name, candidates)
            .map(|h| format!(" Did you mean '{h}'?"))
            .unwrap_or_default();
        plan_err!("table '{name}' not found{}.{hint}", position(span))
    }

    /// Wraps a FROM item so its columns are qualified by its alias (or name), renaming
    /// columns for `AS t(a, b)`.
    fn alias_relation(
        &self,
        plan: Arc<LogicalPlan>,
        alias: Option<&TableAlias>,
        default_name: Option<&str>,
    ) -> Result<Arc<LogicalPlan>> {
        if let Some(a) = alias {
            let plan = rename_columns(plan, &a.columns)?;
            return Ok(arc(LogicalPlan::SubqueryAlias(SubqueryAlias::new(
                plan,
                &a.name.value,
            ))));
        }
        match default_name {
            Some(n) => match plan.as_ref() {
                LogicalPlan::TableScan(s) if s.table_name.eq_ignore_ascii_case(n) => Ok(plan),
                _ => Ok(arc(LogicalPlan::SubqueryAlias(SubqueryAlias::new(plan, n)))),
            },
            None => Ok(plan),
        }
    }

    fn table_function(&self, name: &str, args: &[FunctionArg]) -> Result<Arc<LogicalPlan>> {
        let empty = PlanSchema::empty();
        let cx = ExprContext::new(&empty, "table function arguments");
        let constant = |e: &ast::Expr| -> Result<ScalarValue> {
            let bound = bind_expr(e, &cx)?;
            match const_value(&bound) {
                Some(v) => Ok(v),
                None => plan_err!("arguments of {name}() must be constants, got {e}"),
            }
        };
        let mut positional = Vec::new();
        let mut named = Vec::new();
        for a in args {
            match a {
                FunctionArg::Named {
                    name: n,
                    arg: FunctionArgExpr::Expr(e),
                    ..
                } => named.push((n.value.to_lowercase(), constant(e)?)),
                FunctionArg::ExprNamed {
                    name: ast::Expr::Identifier(n),
                    arg: FunctionArgExpr::Expr(e),
                    ..
                } => named.push((n.value.to_lowercase(), constant(e)?)),
                FunctionArg::Unnamed(FunctionArgExpr::Expr(ast::Expr::BinaryOp {
                    left,
                    op: ast::BinaryOperator::Eq,
                    right,
                })) if matches!(left.as_ref(), ast::Expr::Identifier(_)) => {
                    if let ast::Expr::Identifier(n) = left.as_ref() {
                        named.push((n.value.to_lowercase(), constant(right)?));
                    }
                }
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => positional.push(constant(e)?),
                other => return not_impl_err!("argument '{other}' of {name}() is not supported"),
            }
        }
        self.catalog.table_function(name, &positional, &named)
    }

    // ---------------------------------------------------------------- SELECT

    /// WHERE: plain conditions in a Filter right above FROM; scalar subqueries joined above
    /// it, with the conditions reading them in a second Filter; `[NOT] EXISTS` and `[NOT] IN`
    /// conjuncts as semi/anti joins on top.
    fn where_clause(
        &self,
        mut plan: Arc<LogicalPlan>,
        w: &ast::Expr,
        aliases: &[(String, Expr)],
        ctes: &Ctes,
        outer: Option<&OuterScope<'_>>,
    ) -> Result<Arc<LogicalPlan>> {
        let from_schema = Arc::clone(plan.schema());
        let scalars = SubqueryCollector::new(self, ctes);
        let cx = ExprContext {
            aliases,
            outer,
            subqueries: Some(&scalars),
            ..ExprContext::new(&from_schema, "WHERE")
        };
        let mut plain = Vec::new();
        let mut reading_subqueries = Vec::new();
        let mut semi_joins = Vec::new();
        for c in split_ast_conjunction(w) {
            if let Some((p, negated)) = predicate_subquery(c) {
                if let Some(j) = self.predicate_join(p, negated, &cx, ctes)? {
                    semi_joins.push(j);
                    continue;
                }
            }
            let before = scalars.len();
            let pred = bind_expr(c, &cx)?;
            if pred.contains_aggregate() {
                return plan_err!("aggregate functions are not allowed in WHERE: {pred}");
            }
            if pred.contains_window() {
                return plan_err!(
                    "window functions are not allowed in WHERE (filter on them with QUALIFY): {pred}"
                );
            }
            if scalars.len() > before {
                reading_subqueries.push(pred);
            } else {
                plain.push(pred);
            }
        }
        if let Some(p) = conjunction(plain) {
            plan = arc(LogicalPlan::Filter(Filter::try_new(p, plan)?));
        }
        // Semi and anti joins first: they only drop outer rows, and the scalar subqueries
        // then aggregate only for the keys of the rows left (see `with_outer_keys`).
        for j in semi_joins {
            plan = j.apply(plan, &|e| Ok(e))?;
        }
        for j in scalars.take() {
            plan = j.apply(plan, &|e| Ok(e))?;
        }
        if let Some(p) = conjunction(reading_subqueries) {
            plan = arc(LogicalPlan::Filter(Filter::try_new(p, plan)?));
        }
        Ok(plan)
    }

    /// `[NOT] EXISTS (q)` and `x [NOT] IN (q)` as semi / anti joins; `None` for `NOT IN` with
    /// a correlated subquery, which is bound as an expression (a mark, see
    /// `SubqueryBinder::predicate_value`).
    fn predicate_join(
        &self,
        p: PredicateSubquery<'_>,
        negated: bool,
        cx: &ExprContext<'_>,
        ctes: &Ctes,
    ) -> Result<Option<SubqueryJoin>> {
        match p {
            PredicateSubquery::Exists(q) => {
                let d = self.bind_subquery(q, ctes, cx.schema, cx.outer, Mode::Exists)?;
                Ok(Some(SubqueryJoin {
                    right: d.plan,
                    on: d.keys,
                    filter: d.filter,
                    join_type: if negated {
                        JoinType::LeftAnti
                    } else {
                        JoinType::LeftSemi
                    },
                }))
            }
            PredicateSubquery::In(x, q) => {
                let x = bind_in_operand(x, cx)?;
                let d = self.bind_subquery(q, ctes, cx.schema, cx.outer, Mode::In)?;
                if negated && d.correlated {
                    // A null-aware anti join takes one key: per outer key, NULLs decide.
                    return Ok(None);
                }
                let mut on = vec![(x, d.value)];
                on.extend(d.keys);
                Ok(Some(SubqueryJoin {
                    right: d.plan,
                    on,
                    filter: d.filter,
                    join_type: if negated {
                        JoinType::LeftAntiNullAware
                    } else {
                        JoinType::LeftSemi
                    },
                }))
            }
        }
    }

    fn select_items(&self, s: &Select, cx: &ExprContext<'_>) -> Result<Vec<SelectExpr>> {
        let schema = cx.schema;
        let mut out = Vec::new();
        let wildcard_only =
            s.projection.is_empty() && s.flavor == ast::SelectFlavor::FromFirstNoSelect;
        if wildcard_only {
            for c in schema.columns() {
                out.push(SelectExpr {
                    name: c.name.clone(),
                    expr: Expr::Column(c),
                    aliased: false,
                });
            }
            return Ok(out);
        }
        for item in &s.projection {
            match item {
                SelectItem::UnnamedExpr(e) => {
                    let expr = bind_expr(e, cx)?;
                    out.push(SelectExpr {
                        name: match e {
                            ast::Expr::Subquery(_)
                            | ast::Expr::Exists { .. }
                            | ast::Expr::In {
                                target: ast::InTarget::Subquery(_),
                                ..
                            } => e.to_string(),
                            _ => expr.output_name(),
                        },
                        expr,
                        aliased: false,
                    });
                }
                SelectItem::ExprWithAlias { expr, alias } => {
                    let expr = bind_expr(expr, cx)?;
                    out.push(SelectExpr {
                        expr,
                        name: alias.value.clone(),
                        aliased: true,
                    });
                }
                SelectItem::Wildcard(opts) => {
                    if schema.is_empty() {
                        return plan_err!("SELECT * needs a FROM clause with columns");
                    }
                    expand_wildcard(schema, None, opts, &mut out)?;
                }
                SelectItem::QualifiedWildcard(kind, opts) => match kind {
                    SelectItemQualifiedWildcardKind::ObjectName(name) => {
                        let q = match name.0.last() {
                            Some(ObjectNamePart::Identifier(i)) => i.value.clone(),
                            _ => object_name(name),
                        };
                        expand_wildcard(schema, Some(&q), opts, &mut out)?;
                    }
                    SelectItemQualifiedWildcardKind::Expr(e) => {
                        return not_impl_err!("'{e}.*' is not supported")
                    }
                },
                other => return not_impl_err!("select item '{other}' is not supported yet"),
            }
        }
        Ok(out)
    }

    pub(crate) fn select(
        &self,
        s: &Select,
        ctes: &Ctes,
        order_by: Option<&OrderBy>,
        outer: Option<&OuterScope<'_>>,
    ) -> Result<Arc<LogicalPlan>> {
        if s.top.is_some() || s.into.is_some() {
            return not_impl_err!("SELECT TOP / INTO is not supported");
        }
        if !s.lateral_views.is_empty() || s.prewhere.is_some() || !s.connect_by.is_empty() {
            return not_impl_err!("LATERAL VIEW / PREWHERE / CONNECT BY are not supported");
        }
        if !s.cluster_by.is_empty() || !s.distribute_by.is_empty() || !s.sort_by.is_empty() {
            return not_impl_err!("CLUSTER BY / DISTRIBUTE BY / SORT BY are not supported");
        }
        let windows = crate::window::named_windows(&s.named_window)?;
        if s.exclude.is_some() || s.value_table_mode.is_some() || s.select_modifiers.is_some() {
            return not_impl_err!("this SELECT form is not supported: {s}");
        }
        let distinct = match &s.distinct {
            None | Some(Distinct::All) => false,
            Some(Distinct::Distinct) => true,
            Some(Distinct::On(_)) => {
                return not_impl_err!("SELECT DISTINCT ON is not supported yet")
            }
        };

        // FROM, select list, WHERE.
        let mut plan = self.from(&s.from, ctes)?;
        let from_schema = Arc::clone(plan.schema());
        // Scalar subqueries of the select list, HAVING and ORDER BY: joined below the
        // projection (above the Aggregate in an aggregate query).
        let post_subqueries = SubqueryCollector::new(self, ctes);
        // Those inside aggregate arguments: joined below the Aggregate, above WHERE.
        let pre_subqueries = SubqueryCollector::new(self, ctes);
        let items = self.select_items(
            s,
            &ExprContext {
                allow_aggregates: true,
                outer,
                subqueries: Some(&post_subqueries),
                agg_subqueries: Some(&pre_subqueries),
                allow_windows: true,
                windows: &windows,
                ..ExprContext::new(&from_schema, "SELECT")
            },
        )?;
        let aliases: Vec<(String, Expr)> = items
            .iter()
            .filter(|i| i.aliased)
            .map(|i| (i.name.clone(), i.expr.clone()))
            .collect();
        if let Some(w) = &s.selection {
            plan = self.where_clause(plan, w, &aliases, ctes, outer)?;
        }
        for j in pre_subqueries.take() {
            plan = j.apply(plan, &|e| Ok(e))?;
        }
        let in_schema = Arc::clone(plan.schema());

        // GROUP BY keys.
        let group_exprs: Option<Vec<Expr>> = match &s.group_by {
            GroupByExpr::All(mods) => {
                if !mods.is_empty() {
                    return not_impl_err!("GROUP BY ALL with modifiers is not supported");
                }
                Some(
                    items
                        .iter()
                        .filter(|i| !i.expr.contains_aggregate() && !i.expr.contains_window())
                        .map(|i| i.expr.clone())
                        .collect(),
                )
            }
            GroupByExpr::Expressions(exprs, mods) => {
                if !mods.is_empty() {
                    return not_impl_err!(
                        "GROUP BY modifiers (ROLLUP, CUBE, ...) are not supported yet"
                    );
                }
                if exprs.is_empty() {
                    None
                } else {
                    let cx = ExprContext {
                        aliases: &aliases,
                        outer,
                        ..ExprContext::new(&in_schema, "GROUP BY")
                    };
                    let mut keys = Vec::new();
                    for e in exprs {
                        let key = match ordinal(e) {
                            Some(k) => {
                                let k = k?;
                                match items.get(k.wrapping_sub(1)) {
                                    Some(item) if item.expr.contains_window() => {
                                        return plan_err!(
                                            "GROUP BY position {k} refers to a window function: {}",
                                            item.expr
                                        )
                                    }
                                    Some(item) if !item.expr.contains_aggregate() => {
                                        item.expr.clone()
                                    }
                                    Some(item) => {
                                        return plan_err!(
                                            "GROUP BY position {k} refers to an aggregate: {}",
                                            item.expr
                                        )
                                    }
                                    None => {
                                        return plan_err!(
                                        "GROUP BY position {k} is not in the select list (1 to {})",
                                        items.len()
                                    )
                                    }
                                }
                            }
                            None => bind_expr(e, &cx)?,
                        };
                        if key.contains_aggregate() {
                            return plan_err!(
                                "aggregate functions are not allowed in GROUP BY: {key}"
                            );
                        }
                        if key.contains_window() {
                            return plan_err!(
                                "window functions are not allowed in GROUP BY: {key}"
                            );
                        }
                        keys.push(key);
                    }
                    Some(keys)
                }
            }
        };

        // HAVING.
        let having = match &s.having {
            Some(h) => {
                let cx = ExprContext {
                    aliases: &aliases,
                    allow_aggregates: true,
                    outer,
                    subqueries: Some(&post_subqueries),
                    ..ExprContext::new(&in_schema, "HAVING")
                };
                let h = bind_expr(h, &cx)?;
                if h.contains_window() {
                    return plan_err!(
                        "window functions are not allowed in HAVING (filter on them with QUALIFY): {h}"
                    );
                }
                Some(h)
            }
            None => None,
        };

        // ORDER BY keys.
        let mut order_keys = Vec::new();
        if let Some(ob) = order_by {
            if ob.interpolate.is_some() {
                return not_impl_err!("ORDER BY ... INTERPOLATE is not supported");
            }
            match &ob.kind {
                OrderByKind::All(opts) => {
                    let (asc, nulls_first) = sort_options(opts)?;
                    for i in 0..items.len() {
                        order_keys.push(OrderKey {
                            target: OrderTarget::Output(i),
                            asc,
                            nulls_first,
                        });
                    }
                }
                OrderByKind::Expressions(exprs) => {
                    let cx = ExprContext {
                        aliases: &aliases,
                        allow_aggregates: true,
                        outer,
                        subqueries: Some(&post_subqueries),
                        allow_windows: true,
                        windows: &windows,
                        ..ExprContext::new(&in_schema, "ORDER BY")
                    };
                    for o in exprs {
                        if o.with_fill.is_some() {
                            return not_impl_err!("ORDER BY ... WITH FILL is not supported");
                        }
                        let (asc, nulls_first) = sort_options(&o.options)?;
                        let target = if let Some(k) = ordinal(&o.expr) {
                            let k = k?;
                            if k == 0 || k > items.len() {
                                return plan_err!(
                                    "ORDER BY position {k} is not in the select list (1 to {})",
                                    items.len()
                                );
                            }
                            OrderTarget::Output(k - 1)
                        } else if let Some(i) = find_output_name(&items, &o.expr) {
                            OrderTarget::Output(i)
                        } else {
                            OrderTarget::Expr(bind_expr(&o.expr, &cx)?)
                        };
                        order_keys.push(OrderKey {
                            target,
                            asc,
                            nulls_first,
                        });
                    }
                }
            }
        }

        // QUALIFY.
        let mut qualify = match &s.qualify {
            Some(q) => {
                let cx = ExprContext {
                    aliases: &aliases,
                    allow_aggregates: true,
                    outer,
                    subqueries: Some(&post_subqueries),
                    allow_windows: true,
                    windows: &windows,
                    ..ExprContext::new(&in_schema, "QUALIFY")
                };
                Some(bind_expr(q, &cx)?)
            }
            None => None,
        };

        let is_aggregate = group_exprs.is_some()
            || having.is_some()
            || qualify.as_ref().is_some_and(|q| q.contains_aggregate())
            || items.iter().any(|i| i.expr.contains_aggregate())
            || order_keys
                .iter()
                .any(|k| matches!(&k.target, OrderTarget::Expr(e) if e.contains_aggregate()));

        // Expressions of the select list and ORDER BY over the plan below the projection.
        let mut select_exprs: Vec<Expr> = items.iter().map(|i| i.expr.clone()).collect();
        if is_aggregate {
            let groups = group_exprs.unwrap_or_default();
            let mut aggs: Vec<Expr> = Vec::new();
            {
                let mut collect = |e: &Expr| {
                    e.walk(&mut |n| {
                        if matches!(n, Expr::AggregateFunction { .. }) {
                            let norm = normalize(n, &in_schema);
                            if !aggs.iter().any(|a| normalize(a, &in_schema) == norm) {
                                aggs.push(n.clone());
                            }
                        }
                    })
                };
                for e in &select_exprs {
                    collect(e);
                }
                if let Some(h) = &having {
                    collect(h);
                }
                if let Some(q) = &qualify {
                    collect(q);
                }
                for k in &order_keys {
                    if let OrderTarget::Expr(e) = &k.target {
                        collect(e);
                    }
                }
            }
            let mut group_keys: Vec<Expr> = Vec::new();
            for g in groups {
                let norm = normalize(&g, &in_schema);
                if !group_keys.iter().any(|k| normalize(k, &in_schema) == norm) {
                    group_keys.push(g);
                }
            }
            // Unique output names in the Aggregate (two calls may print alike).
            let mut used: Vec<String> = group_keys.iter().map(|g| g.output_name()).collect();
            let aggr_exprs: Vec<Expr> = aggs
                .iter()
                .enumerate()
                .map(|(j, a)| {
                    let name = a.output_name();
                    if used.contains(&name) {
                        let unique = format!("{name}#{j}");
                        used.push(unique.clone());
                        a.clone().alias(unique)
                    } else {
                        used.push(name);
                        a.clone()
                    }
                })
                .collect();
            let agg = LogicalPlanBuilder::from(plan)
                .aggregate(group_keys.clone(), aggr_exprs)?
                .build();
            let agg_schema = Arc::clone(agg.schema());
            let replacements: Vec<(Expr, Column)> = group_keys
                .iter()
                .chain(aggs.iter())
                .enumerate()
                .map(|(i, e)| (normalize(e, &in_schema), agg_schema.column(i)))
                .collect();
            plan = agg;
            for j in post_subqueries.take() {
                plan = j.apply(plan, &|e| {
                    rewrite_for_aggregate(e, &in_schema, &replacements)
                })?;
            }
            if let Some(h) = having {
                let pred = rewrite_for_aggregate(h, &in_schema, &replacements)?;
                plan = arc(LogicalPlan::Filter(Filter::try_new(pred, plan)?));
            }
            select_exprs = select_exprs
                .into_iter()
                .map(|e| rewrite_for_aggregate(e, &in_schema, &replacements))
                .collect::<Result<_>>()?;
            if let Some(q) = qualify.take() {
                qualify = Some(rewrite_for_aggregate(q, &in_schema, &replacements)?);
            }
            for k in &mut order_keys {
                if let OrderTarget::Expr(e) = &mut k.target {
                    *e = rewrite_for_aggregate(e.clone(), &in_schema, &replacements)?;
                }
            }
        }
        for j in post_subqueries.take() {
            plan = j.apply(plan, &|e| Ok(e))?;
        }

        // Window calls of the select list, ORDER BY and QUALIFY: one Window node, QUALIFY a
        // Filter above it.
        {
            let mut targets: Vec<&mut Expr> = select_exprs.iter_mut().collect();
            for k in &mut order_keys {
                if let OrderTarget::Expr(e) = &mut k.target {
                    targets.push(e);
                }
            }
            if let Some(q) = &mut qualify {
                targets.push(q);
            }
            plan = crate::window::plan_windows(plan, &mut targets, &normalize)?;
        }
        if let Some(q) = qualify {
            plan = arc(LogicalPlan::Filter(Filter::try_new(q, plan)?));
        }
        let pre_schema = Arc::clone(plan.schema());

        // The projection: the select list, then hidden ORDER BY columns.
        let mut proj: Vec<Expr> = select_exprs
            .iter()
            .zip(&items)
            .map(|(e, item)| {
                if e.output_name() == item.name && !item.aliased {
                    e.clone()
                } else {
                    e.clone().alias(item.name.clone())
                }
            })
            .collect();
        let normalized_items: Vec<Expr> = select_exprs
            .iter()
            .map(|e| normalize(e, &pre_schema))
            .collect();
        let n_items = proj.len();
        let mut sort_targets: Vec<(usize, bool, bool)> = Vec::new();
        for k in order_keys {
            let index = match k.target {
                OrderTarget::Output(i) => i,
                OrderTarget::Expr(e) => {
                    let norm = normalize(&e, &pre_schema);
                    match normalized_items.iter().position(|n| *n == norm) {
                        Some(i) => i,
                        None => {
                            if distinct {
                                return plan_err!(
                                    "for SELECT DISTINCT, ORDER BY expressions must appear in the select list: {e}"
                                );
                            }
                            let name = format!("__sort_key_{}", proj.len() - n_items);
                            proj.push(e.alias(name));
                            proj.len() - 1
                        }
                    }
                }
            };
            sort_targets.push((index, k.asc, k.nulls_first));
        }
        let hidden = proj.len() > n_items;
        // Sort keys name their columns, so duplicate output names (`SELECT a, a ... ORDER BY
        // 1`) get unique internal names, restored by the final projection.
        let duplicates = items.iter().enumerate().any(|(i, a)| {
            items[..i]
                .iter()
                .any(|b| b.name.eq_ignore_ascii_case(&a.name))
        });
        let rename = duplicates && !sort_targets.is_empty();
        if rename {
            for (i, e) in proj.iter_mut().take(n_items).enumerate() {
                *e = e.clone().alias(format!("__out_{i}"));
            }
        }
        let mut builder = LogicalPlanBuilder::from(plan).project(proj)?;
        if distinct {
            builder = builder.distinct();
        }
        if !sort_targets.is_empty() {
            let out = Arc::clone(builder.schema());
            let keys = sort_targets
                .into_iter()
                .map(|(i, asc, nulls_first)| SortExpr {
                    expr: Expr::Column(out.column(i)),
                    asc,
                    nulls_first,
                })
                .collect();
            builder = builder.sort(keys)?;
        }
        if hidden || rename {
            let out = Arc::clone(builder.schema());
            let keep = (0..n_items)
                .map(|i| {
                    let c = Expr::Column(out.column(i));
                    if rename {
                        c.alias(items[i].name.clone())
                    } else {
                        c
                    }
                })
                .collect();
            builder = builder.project(keep)?;
        }
        Ok(builder.build())
    }
}

fn expand_wildcard(
    schema: &PlanSchema,
    qualifier: Option<&str>,
    opts: &WildcardAdditionalOptions,
    out: &mut Vec<SelectExpr>,
) -> Result<()> {
    if opts.opt_ilike.is_some()
        || opts.opt_except.is_some()
        || opts.opt_replace.is_some()
        || opts.opt_rename.is_some()
        || opts.opt_alias.is_some()
    {
        return not_impl_err!("'*' options other than EXCLUDE are not supported yet: *{opts}");
    }
    let mut excluded: Vec<String> = match &opts.opt_exclude {
        None => vec![],
        Some(ExcludeSelectItem::Single(n)) => vec![object_name(n)],
        Some(ExcludeSelectItem::Multiple(ns)) => ns.iter().map(object_name).collect(),
    };
    // `EXCLUDE (t.a)` names the column `a`.
    for e in &mut excluded {
        if let Some((_, n)) = e.rsplit_once('.') {
            *e = n.to_string();
        }
    }
    let cols: Vec<Column> = schema
        .columns()
        .into_iter()
        .filter(|c| match qualifier {
            Some(q) => c
                .relation
                .as_deref()
                .is_some_and(|r| r.eq_ignore_ascii_case(q)),
            None => true,
        })
        .collect();
    if cols.is_empty() {
        if let Some(q) = qualifier {
            return plan_err!("'{q}.*': no table or alias named '{q}' in FROM");
        }
    }
    for x in &excluded {
        if !cols.iter().any(|c| c.name.eq_ignore_ascii_case(x)) {
            return plan_err!("EXCLUDE column '{x}' not found in the '*' columns");
        }
    }
    for c in cols {
        if excluded.iter().any(|x| c.name.eq_ignore_ascii_case(x)) {
            continue;
        }
        out.push(SelectExpr {
            name: c.name.clone(),
            expr: Expr::Column(c),
            aliased: false,
        });
    }
    Ok(())
}

/// `left INTERSECT right` / `left EXCEPT right` (set semantics) without a join:
///
/// ```text
/// Projection: __c0 AS a, ...
///   Filter: min(__side) = 1 AND max(__side) = 2      (EXCEPT: max(__side) = 1)
///     Aggregate: groupBy=[__c0, ...], aggr=[min(__side), max(__side)]
///       Union
///         Projection: a AS __c0, ..., 1 AS __side     (left)
///         Projection: a AS __c0, ..., 2 AS __side     (right)
/// ```
///
/// Grouping treats NULLs as equal, which is what set operations need.
fn set_difference(
    left: Arc<LogicalPlan>,
    right: Arc<LogicalPlan>,
    intersect: bool,
) -> Result<Arc<LogicalPlan>> {
    let n = left.schema().len();
    if right.schema().len() != n {
        return plan_err!(
            "set operation inputs have different column counts: {n} and {}",
            right.schema().len()
        );
    }
    let names: Vec<String> = (0..n)
        .map(|i| left.schema().field(i).name().clone())
        .collect();
    let tag = |plan: Arc<LogicalPlan>, side: i64| -> Result<Arc<LogicalPlan>> {
        let schema = Arc::clone(plan.schema());
        let mut exprs: Vec<Expr> = (0..n)
            .map(|i| Expr::Column(schema.column(i)).alias(format!("__c{i}")))
            .collect();
        exprs.push(Expr::Literal(ScalarValue::Int64(Some(side))).alias("__side"));
        Ok(LogicalPlanBuilder::from(plan).project(exprs)?.build())
    };
    let union = arc(LogicalPlan::Union(Union::try_new(vec![
        tag(left, 1)?,
        tag(right, 2)?,
    ])?));
    let side = || Expr::Column(Column::new("__side"));
    let agg = |func| Expr::AggregateFunction {
        func,
        args: vec![side()],
        distinct: false,
        filter: None,
    };
    let groups: Vec<Expr> = (0..n)
        .map(|i| Expr::Column(Column::new(format!("__c{i}"))))
        .collect();
    let builder = LogicalPlanBuilder::from(union)
        .aggregate(groups, vec![agg(AggFunc::Min), agg(AggFunc::Max)])?;
    let schema = Arc::clone(builder.schema());
    let min = Expr::Column(schema.column(n));
    let max = Expr::Column(schema.column(n + 1));
    let one = || Expr::Literal(ScalarValue::Int64(Some(1)));
    let pred = if intersect {
        min.eq(one())
            .and(max.eq(Expr::Literal(ScalarValue::Int64(Some(2)))))
    } else {
        max.eq(one())
    };
    let exprs = (0..n)
        .map(|i| Expr::Column(schema.column(i)).alias(names[i].clone()))
        .collect();
    Ok(builder.filter(pred)?.project(exprs)?.build())
}

fn join_plan(
    left: Arc<LogicalPlan>,
    right: Arc<LogicalPlan>,
    on: Vec<(Expr, Expr)>,
    filter: Option<Expr>,
    join_type: JoinType,
) -> Result<Arc<LogicalPlan>> {
    Ok(arc(LogicalPlan::Join(Join::try_new(
        left, right, on, filter, join_type,
    )?)))
}

/// The same table name or alias on both sides of a join would make its columns ambiguous.
fn check_distinct_relations(ls: &PlanSchema, rs: &PlanSchema) -> Result<()> {
    for (q, f) in ls.fields() {
        let Some(q) = q else { continue };
        let clash = rs.fields().iter().any(|(r, g)| {
            r.as_deref().is_some_and(|r| r.eq_ignore_ascii_case(q))
                && g.name().eq_ignore_ascii_case(f.name())
        });
        if clash {
            return plan_err!(
                "table name '{q}' appears more than once in FROM ({q}.{} is on both sides of a join); give each occurrence its own alias",
                f.name()
            );
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Left,
    Right,
}

/// Which join input all of `e`'s columns come from (None: both, neither, or no column).
fn side_of(e: &Expr, ls: &PlanSchema, rs: &PlanSchema) -> Option<Side> {
    let cols = e.columns();
    if cols.is_empty() {
        return None;
    }
    let in_l = |c: &Column| matches!(ls.maybe_index_of_column(c), Ok(Some(_)));
    let in_r = |c: &Column| matches!(rs.maybe_index_of_column(c), Ok(Some(_)));
    if cols.iter().all(|c| in_l(c) && !in_r(c)) {
        Some(Side::Left)
    } else if cols.iter().all(|c| in_r(c) && !in_l(c)) {
        Some(Side::Right)
    } else {
        None
    }
}

/// `JOIN ... USING (a, b)` (and NATURAL JOIN): keys `l.a = r.a`; the output has each USING
/// column once, at its place among the left columns (for RIGHT and FULL joins as
/// `coalesce(l.a, r.a) AS a`), then the other right columns.
fn join_using(
    left: Arc<LogicalPlan>,
    right: Arc<LogicalPlan>,
    names: &[String],
    join_type: JoinType,
) -> Result<Arc<LogicalPlan>> {
    let (ls, rs) = (Arc::clone(left.schema()), Arc::clone(right.schema()));
    let find = |schema: &PlanSchema, name: &str, side: &str| -> Result<usize> {
        match schema.maybe_index_of_column(&Column::new(name)) {
            Ok(Some(i)) => Ok(i),
            Ok(None) => {
                plan_err!("USING column '{name}' is not a column of the {side} side of the join")
            }
            Err(_) => {
                plan_err!("USING column '{name}' is ambiguous on the {side} side of the join")
            }
        }
    };
    let mut pairs = Vec::new();
    for n in names {
        let (i, j) = (find(&ls, n, "left")?, find(&rs, n, "right")?);
        if pairs.iter().any(|&(a, _)| a == i) {
            return plan_err!("column '{n}' appears twice in USING");
        }
        pairs.push((i, j));
    }
    let on: Vec<(Expr, Expr)> = pairs
        .iter()
        .map(|&(i, j)| (Expr::Column(ls.column(i)), Expr::Column(rs.column(j))))
        .collect();
    let on = coerce_keys(&ls, &rs, on)?;
    let joined = join_plan(left, right, on, None, join_type)?;
    if !(join_type.keeps_left() && join_type.keeps_right()) {
        return Ok(joined);
    }
    let merge = matches!(join_type, JoinType::Right | JoinType::Full);
    let mut exprs = Vec::new();
    for i in 0..ls.len() {
        let l = Expr::Column(ls.column(i));
        match pairs.iter().find(|&&(a, _)| a == i) {
            Some(&(_, j)) if merge => exprs.push(
                Expr::ScalarFunction {
                    func: ScalarFunc::Coalesce,
                    args: vec![l, Expr::Column(rs.column(j))],
                }
                .alias(ls.field(i).name().clone()),
            ),
            _ => exprs.push(l),
        }
    }
    for j in 0..rs.len() {
        if !pairs.iter().any(|&(_, b)| b == j) {
            exprs.push(Expr::Column(rs.column(j)));
        }
    }
    Ok(LogicalPlanBuilder::from(joined).project(exprs)?.build())
}
