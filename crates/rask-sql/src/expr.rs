//! Binding SQL expressions: sqlparser's AST to [`Expr`] checked against a [`PlanSchema`].

use std::cell::RefCell;

use arrow::datatypes::{DataType, TimeUnit};
use rask_common::{internal_err, not_impl_err, plan_err, Error, Result, ScalarValue};
use rask_expr::schema::suggest;
use rask_expr::{AggFunc, Column, Expr, Operator, PlanSchema, ScalarFunc};
use sqlparser::ast::{
    self, BinaryOperator, CastKind, CeilFloorKind, DuplicateTreatment, FunctionArg,
    FunctionArgExpr, FunctionArgumentClause, FunctionArguments, Ident, ObjectName, ObjectNamePart,
    TrimWhereField, UnaryOperator, Value,
};
use sqlparser::tokenizer::Span;

use crate::subquery::PredicateSubquery;
use crate::types::{interval_literal, negate_literal, number_literal, sql_to_arrow_type};

/// What an expression is bound against.
#[derive(Clone, Copy)]
pub(crate) struct ExprContext<'a> {
    /// The columns in scope.
    pub schema: &'a PlanSchema,
    /// Select-list aliases usable where a name is not a column (`GROUP BY`, `HAVING`,
    /// `ORDER BY`, `WHERE`), with the expressions they stand for.
    pub aliases: &'a [(String, Expr)],
    /// Whether aggregate calls are allowed.
    pub allow_aggregates: bool,
    /// The clause, for error messages ("WHERE").
    pub clause: &'static str,
    /// The enclosing query's columns, when binding a subquery: names not found in `schema`
    /// resolve there and become outer-reference placeholders (see [`OuterScope`]).
    pub outer: Option<&'a OuterScope<'a>>,
    /// Binds scalar subqueries (`(SELECT max(x) FROM t)`); without one they are an error.
    pub subqueries: Option<&'a dyn SubqueryBinder>,
    /// Binds subqueries inside aggregate arguments (joined below the Aggregate); without one
    /// they are an error.
    pub agg_subqueries: Option<&'a dyn SubqueryBinder>,
    /// Whether window calls (`f(..) OVER (..)`) are allowed (select list, ORDER BY, QUALIFY).
    pub allow_windows: bool,
    /// The query's named windows (`WINDOW w AS (..)`), their references resolved.
    pub windows: &'a [(String, ast::WindowSpec)],
}

impl<'a> ExprContext<'a> {
    /// A context without aliases, aggregates, outer scope or subqueries.
    pub fn new(schema: &'a PlanSchema, clause: &'static str) -> Self {
        ExprContext {
            schema,
            aliases: &[],
            allow_aggregates: false,
            clause,
            outer: None,
            subqueries: None,
            agg_subqueries: None,
            allow_windows: false,
            windows: &[],
        }
    }
}

/// Binds a scalar subquery found inside an expression, returning the expression that stands
/// for its value (a column of a join the binder adds below the expression's plan node).
pub(crate) trait SubqueryBinder {
    /// `q` appears in an expression bound with `cx`.
    fn scalar_subquery(&self, q: &ast::Query, cx: &ExprContext<'_>) -> Result<Expr>;
    /// `[NOT] EXISTS (q)` or `x [NOT] IN (q)` inside a larger expression (under OR, NOT, CASE,
    /// in a select list) bound with `cx`: the boolean it stands for.
    fn predicate_value(
        &self,
        p: PredicateSubquery<'_>,
        negated: bool,
        cx: &ExprContext<'_>,
    ) -> Result<Expr>;
}

/// The relation of outer-reference placeholder columns: a column of an enclosing query used
/// inside a subquery binds to `__outer.<i>`, `i` indexing [`OuterScope::refs`].
pub(crate) const OUTER_RELATION: &str = "__outer";

/// The columns of the query enclosing a subquery, and the outer columns the subquery used.
pub(crate) struct OuterScope<'a> {
    /// The enclosing query's FROM columns.
    pub schema: &'a PlanSchema,
    /// The scope enclosing that query, if it is a subquery too.
    pub parent: Option<&'a OuterScope<'a>>,
    /// Outer columns referenced so far (fully qualified); placeholder `__outer.<i>` is `refs[i]`.
    pub refs: RefCell<Vec<Column>>,
}

impl<'a> OuterScope<'a> {
    pub fn new(schema: &'a PlanSchema, parent: Option<&'a OuterScope<'a>>) -> Self {
        OuterScope {
            schema,
            parent,
            refs: RefCell::new(Vec::new()),
        }
    }

    /// The placeholder for outer column `c`, recording it.
    fn reference(&self, c: Column) -> Expr {
        let mut refs = self.refs.borrow_mut();
        let i = match refs.iter().position(|r| *r == c) {
            Some(i) => i,
            None => {
                refs.push(c);
                refs.len() - 1
            }
        };
        Expr::Column(Column::qualified(OUTER_RELATION, i.to_string()))
    }

    /// Whether any outer column was referenced.
    pub fn is_correlated(&self) -> bool {
        !self.refs.borrow().is_empty()
    }

    /// `e` with its placeholders replaced by the outer columns they stand for.
    pub fn resolve(&self, e: Expr) -> Result<Expr> {
        let refs = self.refs.borrow();
        e.transform_up(&mut |n| match n {
            Expr::Column(c) if is_outer_placeholder(&c) => {
                match c.name.parse::<usize>().ok().and_then(|i| refs.get(i)) {
                    Some(r) => Ok(Expr::Column(r.clone())),
                    None => rask_common::internal_err!("unknown outer reference {c}"),
                }
            }
            other => Ok(other),
        })
    }
}

/// Whether `c` is an outer-reference placeholder.
pub(crate) fn is_outer_placeholder(c: &Column) -> bool {
    c.relation.as_deref() == Some(OUTER_RELATION)
}

/// " at line L, column C" for a span, empty when the span is unknown.
pub(crate) fn position(span: Span) -> String {
    if span.start.line == 0 {
        String::new()
    } else {
        format!(" at line {}, column {}", span.start.line, span.start.column)
    }
}

/// The dotted name of an object (`schema.table`), parts as written.
pub(crate) fn object_name(name: &ObjectName) -> String {
    name.0
        .iter()
        .map(|p| match p {
            ObjectNamePart::Identifier(i) => i.value.clone(),
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// The span of the first identifier of a name.
pub(crate) fn object_span(name: &ObjectName) -> Span {
    match name.0.first() {
        Some(ObjectNamePart::Identifier(i)) => i.span,
        _ => Span::empty(),
    }
}

/// Evaluates a bound constant expression (literal, negated literal, cast literal).
pub(crate) fn const_value(e: &Expr) -> Option<ScalarValue> {
    match e {
        Expr::Literal(v) => Some(v.clone()),
        Expr::Negative(inner) => negate_literal(&const_value(inner)?),
        Expr::Cast {
            expr, data_type, ..
        } => const_value(expr)?.cast_to(data_type).ok(),
        Expr::Alias(inner, _) => const_value(inner),
        _ => None,
    }
}

fn strip_parser_prefix(msg: String) -> String {
    msg.strip_prefix("sql parser error: ")
        .map(str::to_string)
        .unwrap_or(msg)
}

/// Converts a sqlparser error into [`Error::Sql`], keeping its line and column; errors at the
/// end of the input (which sqlparser gives no position) get the position just past the end of
/// `text`.
pub(crate) fn parser_error_in(text: &str) -> impl Fn(sqlparser::parser::ParserError) -> Error + '_ {
    move |e| {
        let msg = strip_parser_prefix(e.to_string());
        if msg.contains(" at Line: ") {
            return Error::Sql(msg);
        }
        let line = text.matches('\n').count() + 1;
        let last = text.rsplit('\n').next().unwrap_or("");
        let col = last.chars().count() + 1;
        Error::Sql(format!("{msg} at Line: {line}, Column: {col}"))
    }
}

/// Binds a SQL expression.
pub(crate) fn bind_expr(e: &ast::Expr, cx: &ExprContext<'_>) -> Result<Expr> {
    use ast::Expr as S;
    Ok(match e {
        S::Identifier(ident) => bind_column(std::slice::from_ref(ident), cx)?,
        S::CompoundIdentifier(idents) => bind_column(idents, cx)?,
        S::Value(v) => Expr::Literal(bind_value(&v.value, v.span)?),
        S::TypedString(ts) => {
            let text = match ts.value.value.clone().into_string() {
                Some(t) => t,
                None => return plan_err!("typed literal {e} needs a string"),
            };
            typed_string(&ts.data_type, &text)?
        }
        S::Interval(iv) => bind_interval(iv)?,
        S::Nested(inner) => bind_expr(inner, cx)?,
        S::BinaryOp { left, op, right } => {
            let l = bind_expr(left, cx)?;
            let r = bind_expr(right, cx)?;
            binary(l, op, r)?
        }
        S::UnaryOp { op, expr } => {
            let inner = bind_expr(expr, cx)?;
            match op {
                UnaryOperator::Minus => match &inner {
                    Expr::Literal(v) => match negate_literal(v) {
                        Some(n) => Expr::Literal(n),
                        None => Expr::Negative(Box::new(inner)),
                    },
                    _ => Expr::Negative(Box::new(inner)),
                },
                UnaryOperator::Plus => inner,
                UnaryOperator::Not => inner.not(),
                other => return not_impl_err!("unary operator {other} is not supported yet"),
            }
        }
        S::IsNull(inner) => bind_expr(inner, cx)?.is_null(),
        S::IsNotNull(inner) => bind_expr(inner, cx)?.is_not_null(),
        S::IsTrue(inner) => distinct_from(bind_expr(inner, cx)?, false, true),
        S::IsNotTrue(inner) => distinct_from(bind_expr(inner, cx)?, true, true),
        S::IsFalse(inner) => distinct_from(bind_expr(inner, cx)?, false, false),
        S::IsNotFalse(inner) => distinct_from(bind_expr(inner, cx)?, true, false),
        S::IsDistinctFrom(l, r) => Expr::BinaryExpr {
            left: Box::new(bind_expr(l, cx)?),
            op: Operator::IsDistinctFrom,
            right: Box::new(bind_expr(r, cx)?),
        },
        S::IsNotDistinctFrom(l, r) => Expr::BinaryExpr {
            left: Box::new(bind_expr(l, cx)?),
            op: Operator::IsNotDistinctFrom,
            right: Box::new(bind_expr(r, cx)?),
        },
        S::In {
            expr,
            target,
            negated,
            ..
        } => match target {
            ast::InTarget::List(list) => Expr::InList {
                expr: Box::new(bind_expr(expr, cx)?),
                list: list
                    .iter()
                    .map(|i| bind_expr(i, cx))
                    .collect::<Result<_>>()?,
                negated: *negated,
            },
            ast::InTarget::Subquery(q) if cx.subqueries.is_some() => match cx.subqueries {
                Some(b) => b.predicate_value(PredicateSubquery::In(expr, q), *negated, cx)?,
                None => return internal_err!("IN subquery without a binder"),
            },
            ast::InTarget::Subquery(_) => {
                return not_impl_err!(
                    "{} (subquery) is only supported as a WHERE condition combined with AND; \
                     IN (subquery) under OR or NOT, or in {}, is not supported yet",
                    if *negated { "NOT IN" } else { "IN" },
                    if cx.clause == "WHERE" {
                        "a larger expression"
                    } else {
                        cx.clause
                    }
                )
            }
            other => return not_impl_err!("IN {other} is not supported yet"),
        },
        S::Between {
            expr,
            negated,
            low,
            high,
        } => Expr::Between {
            expr: Box::new(bind_expr(expr, cx)?),
            negated: *negated,
            low: Box::new(bind_expr(low, cx)?),
            high: Box::new(bind_expr(high, cx)?),
        },
        S::Like {
            negated,
            any,
            expr,
            pattern,
            escape_char,
        } => like(
            *negated,
            *any,
            expr,
            pattern,
            escape_char.as_deref(),
            false,
            cx,
        )?,
        S::ILike {
            negated,
            any,
            expr,
            pattern,
            escape_char,
        } => like(
            *negated,
            *any,
            expr,
            pattern,
            escape_char.as_deref(),
            true,
            cx,
        )?,
        S::Case {
            operand,
            conditions,
            else_result,
            ..
        } => Expr::Case {
            operand: match operand {
                Some(o) => Some(Box::new(bind_expr(o, cx)?)),
                None => None,
            },
            when_then: conditions
                .iter()
                .map(|w| Ok((bind_expr(&w.condition, cx)?, bind_expr(&w.result, cx)?)))
                .collect::<Result<_>>()?,
            else_expr: match else_result {
                Some(e) => Some(Box::new(bind_expr(e, cx)?)),
                None => None,
            },
        },
        S::Cast {
            kind,
            expr,
            data_type,
            format,
        } => {
            if format.is_some() {
                return not_impl_err!("CAST ... FORMAT is not supported yet");
            }
            let inner = bind_expr(expr, cx)?;
            let t = sql_to_arrow_type(data_type)?;
            let safe = matches!(kind, CastKind::TryCast | CastKind::SafeCast);
            cast(inner, t, safe)?
        }
        S::Extract { field, expr, .. } => {
            let part = date_part_name(&field.to_string());
            Expr::ScalarFunction {
                func: ScalarFunc::DatePart,
                args: vec![
                    Expr::Literal(ScalarValue::Utf8(Some(part))),
                    bind_expr(expr, cx)?,
                ],
            }
        }
        S::Ceil { expr, field } | S::Floor { expr, field } => {
            let func = if matches!(e, S::Ceil { .. }) {
                ScalarFunc::Ceil
            } else {
                ScalarFunc::Floor
            };
            match field {
                CeilFloorKind::DateTimeField(ast::DateTimeField::NoDateTime) => {}
                _ => return not_impl_err!("{}({expr}, ...) is not supported yet", func.name()),
            }
            Expr::ScalarFunction {
                func,
                args: vec![bind_expr(expr, cx)?],
            }
        }
        S::Substring {
            expr,
            substring_from,
            substring_for,
            ..
        } => {
            let mut args = vec![bind_expr(expr, cx)?];
            match substring_from {
                Some(f) => args.push(bind_expr(f, cx)?),
                None => args.push(Expr::Literal(ScalarValue::Int64(Some(1)))),
            }
            if let Some(f) = substring_for {
                args.push(bind_expr(f, cx)?);
            }
            Expr::ScalarFunction {
                func: ScalarFunc::Substring,
                args,
            }
        }
        S::Trim {
            trim_where,
            trim_what,
            expr,
            trim_characters,
        } => {
            let func = match trim_where {
                None | Some(TrimWhereField::Both) => ScalarFunc::Trim,
                Some(TrimWhereField::Leading) => ScalarFunc::LTrim,
                Some(TrimWhereField::Trailing) => ScalarFunc::RTrim,
            };
            let mut args = vec![bind_expr(expr, cx)?];
            if let Some(w) = trim_what {
                args.push(bind_expr(w, cx)?);
            }
            if let Some(chars) = trim_characters {
                for c in chars {
                    args.push(bind_expr(c, cx)?);
                }
            }
            Expr::ScalarFunction { func, args }
        }
        S::Position { .. } => return not_impl_err!("POSITION(... IN ...) is not supported yet"),
        S::Function(f) => bind_function(f, cx)?,
        S::Exists { subquery, negated } if cx.subqueries.is_some() => match cx.subqueries {
            Some(b) => b.predicate_value(PredicateSubquery::Exists(subquery), *negated, cx)?,
            None => return internal_err!("EXISTS subquery without a binder"),
        },
        S::Exists { .. } => {
            return not_impl_err!(
                "EXISTS (subquery) is only supported as a WHERE condition combined with AND; \
                 EXISTS under OR or NOT, or in {}, is not supported yet",
                if cx.clause == "WHERE" {
                    "a larger expression"
                } else {
                    cx.clause
                }
            )
        }
        S::Subquery(q) => match cx.subqueries {
            Some(b) => b.scalar_subquery(q, cx)?,
            None => {
                return not_impl_err!(
                    "subqueries are not supported in {} (scalar subquery)",
                    cx.clause
                )
            }
        },
        S::Wildcard(_) | S::QualifiedWildcard(_, _) => {
            return plan_err!("'*' is only allowed in a select list or count(*)")
        }
        S::GroupingSets(_) | S::Cube(_) | S::Rollup(_) => {
            return not_impl_err!("GROUPING SETS, CUBE and ROLLUP are not supported yet")
        }
        S::Tuple(_) => return not_impl_err!("row values (a, b) are not supported yet"),
        other => return not_impl_err!("SQL expression '{other}' is not supported yet"),
    })
}

/// `e IS [NOT] DISTINCT FROM true|false` (how `IS [NOT] TRUE|FALSE` is expressed).
fn distinct_from(e: Expr, negated: bool, value: bool) -> Expr {
    Expr::BinaryExpr {
        left: Box::new(e),
        op: if negated {
            Operator::IsDistinctFrom
        } else {
            Operator::IsNotDistinctFrom
        },
        right: Box::new(Expr::Literal(ScalarValue::Boolean(Some(value)))),
    }
}

fn like(
    negated: bool,
    any: bool,
    expr: &ast::Expr,
    pattern: &ast::Expr,
    escape: Option<&ast::Expr>,
    case_insensitive: bool,
    cx: &ExprContext<'_>,
) -> Result<Expr> {
    if any {
        return not_impl_err!("LIKE ANY is not supported yet");
    }
    if escape.is_some() {
        return not_impl_err!("LIKE ... ESCAPE is not supported yet");
    }
    Ok(Expr::Like {
        negated,
        expr: Box::new(bind_expr(expr, cx)?),
        pattern: Box::new(bind_expr(pattern, cx)?),
        case_insensitive,
    })
}

/// `CAST(e AS t)`, folded right away for literals whose cast is exact and cheap (dates).
fn cast(inner: Expr, t: DataType, safe: bool) -> Result<Expr> {
    if let Expr::Literal(ScalarValue::Utf8(Some(s))) = &inner {
        if matches!(
            t,
            DataType::Date32 | DataType::Timestamp(TimeUnit::Microsecond, None)
        ) {
            if let Ok(v) = ScalarValue::Utf8(Some(s.clone())).cast_to(&t) {
                return Ok(Expr::Literal(v));
            }
        }
    }
    Ok(Expr::Cast {
        expr: Box::new(inner),
        data_type: t,
        safe,
    })
}

/// DuckDB's names for `EXTRACT` fields.
fn date_part_name(field: &str) -> String {
    let f = field.to_lowercase();
    match f.as_str() {
        "years" => "year".into(),
        "months" => "month".into(),
        "days" => "day".into(),
        "hours" => "hour".into(),
        "minutes" => "minute".into(),
        "seconds" => "second".into(),
        _ => f,
    }
}

fn bind_column(idents: &[Ident], cx: &ExprContext<'_>) -> Result<Expr> {
    let (relation, name) = match idents {
        [n] => (None, n),
        [.., r, n] => (Some(r), n),
        [] => return plan_err!("empty column name"),
    };
    let col = Column {
        relation: relation.map(|r| r.value.clone()),
        name: name.value.clone(),
    };
    let schema = cx.schema;
    let pos = position(idents[0].span);
    match lookup(schema, &col, &pos)? {
        Some(i) => {
            // The canonical spelling of the field, keeping whether it was qualified.
            let (q, field) = &schema.fields()[i];
            Ok(Expr::Column(Column {
                relation: col
                    .relation
                    .as_ref()
                    .map(|r| q.clone().unwrap_or(r.clone())),
                name: field.name().clone(),
            }))
        }
        None => {
            if col.relation.is_none() {
                if let Some((_, e)) =
                    cx.aliases.iter().find(|(a, _)| a == &col.name).or_else(|| {
                        cx.aliases
                            .iter()
                            .find(|(a, _)| a.eq_ignore_ascii_case(&col.name))
                    })
                {
                    return Ok(e.clone());
                }
            }
            // A column of the enclosing query (correlated subquery).
            if let Some(scope) = cx.outer {
                if let Some(i) = lookup(scope.schema, &col, &pos)? {
                    return Ok(scope.reference(scope.schema.column(i)));
                }
                let mut up = scope.parent;
                while let Some(s) = up {
                    if lookup(s.schema, &col, &pos)?.is_some() {
                        return not_impl_err!(
                            "column '{}'{pos} belongs to a query two or more levels out; \
                             such correlated subqueries are not supported yet",
                            col.flat_name()
                        );
                    }
                    up = s.parent;
                }
            }
            let names = schema
                .fields()
                .iter()
                .map(|(_, f)| f.name().as_str())
                .chain(cx.aliases.iter().map(|(a, _)| a.as_str()));
            let hint = suggest(&col.name, names)
                .map(|h| format!(" Did you mean '{h}'?"))
                .unwrap_or_default();
            let mut available: Vec<String> =
                schema.columns().iter().map(|c| c.flat_name()).collect();
            available.truncate(30);
            let available = if available.is_empty() {
                " (no columns are in scope here)".to_string()
            } else {
                format!(" Available columns: {}", available.join(", "))
            };
            plan_err!(
                "column '{}' not found{pos}.{hint}{available}",
                col.flat_name()
            )
        }
    }
}

/// The index of `col` in `schema`; an ambiguous name is an error listing the candidates.
fn lookup(schema: &PlanSchema, col: &Column, pos: &str) -> Result<Option<usize>> {
    match schema.maybe_index_of_column(col) {
        Ok(found) => Ok(found),
        Err(Error::Plan(_)) => {
            let candidates: Vec<String> = schema
                .fields()
                .iter()
                .filter(|(q, f)| {
                    f.name().eq_ignore_ascii_case(&col.name)
                        && match (&col.relation, q) {
                            (Some(r), Some(q)) => r.eq_ignore_ascii_case(q),
                            (Some(_), None) => false,
                            (None, _) => true,
                        }
                })
                .map(|(q, f)| match q {
                    Some(q) => format!("{q}.{}", f.name()),
                    None => f.name().clone(),
                })
                .collect();
            plan_err!(
                "column reference '{}'{pos} is ambiguous: it could be {}; qualify it with a \
                 table name or alias",
                col.flat_name(),
                candidates.join(" or ")
            )
        }
        Err(other) => Err(other),
    }
}

fn bind_value(v: &Value, span: Span) -> Result<ScalarValue> {
    Ok(match v {
        Value::Number(n, _) => number_literal(n)?,
        Value::SingleQuotedString(s)
        | Value::DoubleQuotedString(s)
        | Value::EscapedStringLiteral(s)
        | Value::UnicodeStringLiteral(s)
        | Value::NationalStringLiteral(s)
        | Value::TripleSingleQuotedString(s)
        | Value::TripleDoubleQuotedString(s) => ScalarValue::Utf8(Some(s.clone())),
        Value::DollarQuotedString(s) => ScalarValue::Utf8(Some(s.value.clone())),
        Value::Boolean(b) => ScalarValue::Boolean(Some(*b)),
        Value::Null => ScalarValue::Null,
        Value::Placeholder(p) => {
            return not_impl_err!(
                "query parameters ({p}) are not supported yet{}",
                position(span)
            )
        }
        other => return not_impl_err!("literal {other} is not supported yet{}", position(span)),
    })
}

/// `DATE '1998-12-01'`, `TIMESTAMP '...'`, and other `TYPE 'text'` literals.
fn typed_string(t: &ast::DataType, text: &str) -> Result<Expr> {
    let target = sql_to_arrow_type(t)?;
    let s = ScalarValue::Utf8(Some(text.to_string()));
    match target {
        DataType::Date32 | DataType::Timestamp(_, _) => match s.cast_to(&target) {
            Ok(v) => Ok(Expr::Literal(v)),
            Err(_) => plan_err!("invalid {t} literal '{text}'"),
        },
        DataType::Interval(_) => Ok(Expr::Literal(interval_literal(text, None)?)),
        DataType::Utf8 => Ok(Expr::Literal(s)),
        other => Ok(Expr::Cast {
            expr: Box::new(Expr::Literal(s)),
            data_type: other,
            safe: false,
        }),
    }
}

fn bind_interval(iv: &ast::Interval) -> Result<Expr> {
    if iv.last_field.is_some() {
        return not_impl_err!("INTERVAL ... TO ... is not supported yet");
    }
    let (neg, value) = match iv.value.as_ref() {
        ast::Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        } => (true, expr.as_ref()),
        v => (false, v),
    };
    let text = match value {
        ast::Expr::Value(v) => match &v.value {
            Value::Number(n, _) => n.clone(),
            Value::SingleQuotedString(s) => s.clone(),
            _ => return not_impl_err!("INTERVAL {value} is not supported yet"),
        },
        _ => {
            return not_impl_err!(
                "INTERVAL with a non-constant value ({value}) is not supported yet"
            )
        }
    };
    let unit = iv.leading_field.as_ref().map(|f| f.to_string());
    let v = interval_literal(&text, unit.as_deref())?;
    let v = if neg {
        negate_literal(&v).unwrap_or(v)
    } else {
        v
    };
    Ok(Expr::Literal(v))
}

fn binary(l: Expr, op: &BinaryOperator, r: Expr) -> Result<Expr> {
    let op = match op {
        BinaryOperator::Plus => Operator::Plus,
        BinaryOperator::Minus => Operator::Minus,
        BinaryOperator::Multiply => Operator::Multiply,
        BinaryOperator::Divide => Operator::Divide,
        BinaryOperator::Modulo => Operator::Modulo,
        BinaryOperator::StringConcat => Operator::StringConcat,
        BinaryOperator::Gt => Operator::Gt,
        BinaryOperator::Lt => Operator::Lt,
        BinaryOperator::GtEq => Operator::GtEq,
        BinaryOperator::LtEq => Operator::LtEq,
        BinaryOperator::Eq => Operator::Eq,
        BinaryOperator::NotEq => Operator::NotEq,
        BinaryOperator::And => Operator::And,
        BinaryOperator::Or => Operator::Or,
        BinaryOperator::PGRegexMatch => {
            return Ok(Expr::ScalarFunction {
                func: ScalarFunc::RegexpMatch,
                args: vec![l, r],
            })
        }
        BinaryOperator::PGRegexNotMatch => {
            return Ok(Expr::ScalarFunction {
                func: ScalarFunc::RegexpMatch,
                args: vec![l, r],
            }
            .not())
        }
        other => return not_impl_err!("operator {other} is not supported yet"),
    };
    Ok(Expr::BinaryExpr {
        left: Box::new(l),
        op,
        right: Box::new(r),
    })
}

/// Every function name the binder knows, for "did you mean" hints.
const KNOWN_FUNCTIONS: &[&str] = &[
    "lower",
    "upper",
    "length",
    "substring",
    "substr",
    "trim",
    "ltrim",
    "rtrim",
    "concat",
    "starts_with",
    "ends_with",
    "contains",
    "replace",
    "split_part",
    "coalesce",
    "ifnull",
    "nullif",
    "abs",
    "round",
    "floor",
    "ceil",
    "ceiling",
    "power",
    "pow",
    "sqrt",
    "ln",
    "exp",
    "log10",
    "log",
    "date_part",
    "date_trunc",
    "regexp_matches",
    "greatest",
    "least",
    "count",
    "sum",
    "avg",
    "mean",
    "min",
    "max",
    "stddev",
    "stddev_samp",
    "stddev_pop",
    "variance",
    "var_samp",
    "var_pop",
    "median",
    "corr",
    "first",
    "last",
    "string_agg",
    "any_value",
    "year",
    "month",
    "day",
    "quarter",
    "hour",
    "minute",
    "second",
    "week",
    "dayofweek",
    "dayofyear",
    "if",
    "iif",
    "mod",
    "count_star",
];

/// Scalar functions that are shorthands for `date_part('unit', x)`.
fn date_part_shorthand(name: &str) -> Option<&'static str> {
    Some(match name {
        "year" => "year",
        "month" => "month",
        "day" | "dayofmonth" => "day",
        "quarter" => "quarter",
        "hour" => "hour",
        "minute" => "minute",
        "second" => "second",
        "week" | "weekofyear" => "week",
        "dayofweek" => "dow",
        "dayofyear" => "doy",
        "isodow" => "isodow",
        "epoch" => "epoch",
        _ => return None,
    })
}

fn bind_function(f: &ast::Function, cx: &ExprContext<'_>) -> Result<Expr> {
    let name = match f.name.0.last() {
        Some(ObjectNamePart::Identifier(i)) => i.value.to_lowercase(),
        _ => f.name.to_string().to_lowercase(),
    };
    let pos = position(object_span(&f.name));
    if let Some(over) = &f.over {
        return crate::window::bind_window_call(f, &name, over, &pos, cx);
    }
    if !f.within_group.is_empty() {
        return not_impl_err!("WITHIN GROUP is not supported yet{pos}");
    }
    if f.null_treatment.is_some() {
        return not_impl_err!("IGNORE/RESPECT NULLS is not supported yet{pos}");
    }
    // Arguments: `(DISTINCT a, b)`, `(*)`.
    let mut distinct = false;
    let mut star = false;
    let mut raw_args: Vec<&ast::Expr> = Vec::new();
    match &f.args {
        FunctionArguments::None => {}
        FunctionArguments::Subquery(_) => {
            return not_impl_err!("subqueries in expressions are not supported yet{pos}")
        }
        FunctionArguments::List(list) => {
            distinct = matches!(list.duplicate_treatment, Some(DuplicateTreatment::Distinct));
            if let Some(c) = list.clauses.first() {
                let what = match c {
                    FunctionArgumentClause::OrderBy(_) => "ORDER BY inside a function call",
                    _ => "this function-call clause",
                };
                return not_impl_err!("{what} is not supported yet ({name}){pos}");
            }
            for a in &list.args {
                match a {
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => raw_args.push(e),
                    FunctionArg::Unnamed(FunctionArgExpr::Wildcard)
                    | FunctionArg::Unnamed(FunctionArgExpr::QualifiedWildcard(_)) => star = true,
                    other => {
                        return not_impl_err!(
                            "argument '{other}' of {name}() is not supported yet{pos}"
                        )
                    }
                }
            }
        }
    }
    if !matches!(f.parameters, FunctionArguments::None) {
        return not_impl_err!("parametric function {name} is not supported yet{pos}");
    }

    let agg = if name == "count" && (star || raw_args.is_empty()) || name == "count_star" {
        Some(AggFunc::CountStar)
    } else {
        AggFunc::from_name(&name)
    };
    if let Some(func) = agg {
        if !cx.allow_aggregates {
            return plan_err!(
                "aggregate functions are not allowed in {}: {name}(){pos}",
                cx.clause
            );
        }
        if star && func != AggFunc::CountStar {
            return plan_err!("{name}(*) is not defined: only count(*) takes '*'{pos}");
        }
        if func == AggFunc::CountStar && distinct {
            return plan_err!("count(DISTINCT *) is not supported{pos}");
        }
        let arg_cx = ExprContext {
            allow_aggregates: false,
            allow_windows: false,
            clause: "the arguments of an aggregate function (aggregates cannot be nested)",
            subqueries: cx.agg_subqueries,
            ..*cx
        };
        let mut args = raw_args
            .iter()
            .map(|a| bind_expr(a, &arg_cx))
            .collect::<Result<Vec<_>>>()?;
        if func == AggFunc::StringAgg && args.len() == 1 {
            args.push(Expr::Literal(ScalarValue::Utf8(Some(",".into()))));
        }
        let filter_cx = ExprContext {
            allow_aggregates: false,
            allow_windows: false,
            clause: "FILTER",
            subqueries: cx.agg_subqueries,
            ..*cx
        };
        let filter = match &f.filter {
            Some(flt) => Some(Box::new(bind_expr(flt, &filter_cx)?)),
            None => None,
        };
        return Ok(Expr::AggregateFunction {
            func,
            args,
            distinct,
            filter,
        });
    }
    if star {
        return plan_err!("{name}(*) is not defined: only count(*) takes '*'{pos}");
    }
    if distinct || f.filter.is_some() {
        return plan_err!(
            "DISTINCT and FILTER are only allowed in aggregate functions, not {name}(){pos}"
        );
    }
    let mut args = raw_args
        .iter()
        .map(|a| bind_expr(a, cx))
        .collect::<Result<Vec<_>>>()?;
    if let Some(func) = ScalarFunc::from_name(&name) {
        return Ok(Expr::ScalarFunction { func, args });
    }
    if let Some(part) = date_part_shorthand(&name) {
        if args.len() != 1 {
            return plan_err!("{name}() takes 1 argument, got {}{pos}", args.len());
        }
        args.insert(0, Expr::Literal(ScalarValue::Utf8(Some(part.to_string()))));
        return Ok(Expr::ScalarFunction {
            func: ScalarFunc::DatePart,
            args,
        });
    }
    match name.as_str() {
        "if" | "iif" => {
            if args.len() != 3 {
                return plan_err!("{name}() takes 3 arguments, got {}{pos}", args.len());
            }
            let else_expr = args.pop().map(Box::new);
            let then = args.pop();
            let cond = args.pop();
            match (cond, then) {
                (Some(c), Some(t)) => Ok(Expr::Case {
                    operand: None,
                    when_then: vec![(c, t)],
                    else_expr,
                }),
                _ => plan_err!("{name}() takes 3 arguments{pos}"),
            }
        }
        "mod" => {
            if args.len() != 2 {
                return plan_err!("mod() takes 2 arguments, got {}{pos}", args.len());
            }
            let r = args.pop();
            let l = args.pop();
            match (l, r) {
                (Some(l), Some(r)) => Ok(l.modulo(r)),
                _ => plan_err!("mod() takes 2 arguments{pos}"),
            }
        }
        "position" | "strpos" | "instr" => {
            not_impl_err!("{name}() is not supported yet{pos}")
        }
        _ => {
            let hint = suggest(&name, KNOWN_FUNCTIONS.iter().copied())
                .map(|h| format!(" Did you mean '{h}'?"))
                .unwrap_or_default();
            plan_err!("unknown function '{name}'{pos}.{hint}")
        }
    }
}
