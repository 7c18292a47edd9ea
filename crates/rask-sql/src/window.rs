//! Binding window functions: `f(..) OVER (PARTITION BY .. ORDER BY .. frame)`, named
//! windows (`WINDOW w AS (..)`) and the Window node of a `SELECT`.
//!
//! Window calls are allowed in the select list, `ORDER BY` and `QUALIFY`. The binder computes
//! every distinct call once in a `Window` node placed after the aggregation and `HAVING` and
//! before the final projection, `DISTINCT` and `ORDER BY` (standard SQL's order); `QUALIFY`
//! becomes a Filter right above it. Expressions above read the calls as columns.

use std::sync::Arc;

use rask_common::{not_impl_err, plan_err, Result, ScalarValue};
use rask_expr::{
    AggFunc, Column, Expr, LogicalPlan, LogicalPlanBuilder, PlanSchema, SortExpr, WindowFrame,
    WindowFrameBound, WindowFrameUnits, WindowFunc, WindowFunction,
};
use sqlparser::ast::{
    self, DuplicateTreatment, FunctionArg, FunctionArgExpr, FunctionArguments, NamedWindowExpr,
    WindowType,
};

use crate::expr::{bind_expr, const_value, ExprContext};

/// The named windows of a `SELECT`, each reference to another named window resolved.
pub(crate) fn named_windows(
    defs: &[ast::NamedWindowDefinition],
) -> Result<Vec<(String, ast::WindowSpec)>> {
    let mut out: Vec<(String, ast::WindowSpec)> = Vec::new();
    for ast::NamedWindowDefinition(name, def) in defs {
        if out.iter().any(|(n, _)| n.eq_ignore_ascii_case(&name.value)) {
            return plan_err!("window '{}' is defined twice", name.value);
        }
        let spec = match def {
            NamedWindowExpr::NamedWindow(other) => lookup(&out, &other.value)?.clone(),
            NamedWindowExpr::WindowSpec(spec) => match &spec.window_name {
                Some(base) => merge(lookup(&out, &base.value)?, spec)?,
                None => spec.clone(),
            },
        };
        out.push((name.value.clone(), spec));
    }
    Ok(out)
}

fn lookup<'a>(windows: &'a [(String, ast::WindowSpec)], name: &str) -> Result<&'a ast::WindowSpec> {
    match windows.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
        Some((_, s)) => Ok(s),
        None => plan_err!("window '{name}' is not defined (add WINDOW {name} AS (...))"),
    }
}

/// `OVER (base ORDER BY ..)`: the base window's partitioning with the spec's additions.
fn merge(base: &ast::WindowSpec, spec: &ast::WindowSpec) -> Result<ast::WindowSpec> {
    let base_name = spec
        .window_name
        .as_ref()
        .map(|n| n.value.clone())
        .unwrap_or_default();
    if !spec.partition_by.is_empty() {
        return plan_err!("cannot override the PARTITION BY of window '{base_name}'");
    }
    if !spec.order_by.is_empty() && !base.order_by.is_empty() {
        return plan_err!("cannot override the ORDER BY of window '{base_name}'");
    }
    if base.window_frame.is_some() {
        return plan_err!("cannot copy window '{base_name}' because it has a frame clause");
    }
    Ok(ast::WindowSpec {
        window_name: None,
        partition_by: base.partition_by.clone(),
        order_by: if spec.order_by.is_empty() {
            base.order_by.clone()
        } else {
            spec.order_by.clone()
        },
        window_frame: spec.window_frame.clone(),
    })
}

/// Binds `name(args) OVER over`.
pub(crate) fn bind_window_call(
    f: &ast::Function,
    name: &str,
    over: &WindowType,
    pos: &str,
    cx: &ExprContext<'_>,
) -> Result<Expr> {
    if !cx.allow_windows {
        return plan_err!(
            "window functions are not allowed in {}: {name}() OVER (...){pos}",
            cx.clause
        );
    }
    if !f.within_group.is_empty() {
        return not_impl_err!("WITHIN GROUP is not supported yet{pos}");
    }
    if f.null_treatment.is_some() {
        return not_impl_err!("IGNORE/RESPECT NULLS is not supported yet ({name}){pos}");
    }
    if f.filter.is_some() {
        return not_impl_err!("FILTER in window functions is not supported yet ({name}){pos}");
    }
    if !matches!(f.parameters, FunctionArguments::None) {
        return not_impl_err!("parametric function {name} is not supported yet{pos}");
    }
    let mut star = false;
    let mut raw_args: Vec<&ast::Expr> = Vec::new();
    match &f.args {
        FunctionArguments::None => {}
        FunctionArguments::Subquery(_) => {
            return not_impl_err!("subqueries in expressions are not supported yet{pos}")
        }
        FunctionArguments::List(list) => {
            if matches!(list.duplicate_treatment, Some(DuplicateTreatment::Distinct)) {
                return not_impl_err!(
                    "DISTINCT in window functions is not supported yet ({name}){pos}"
                );
            }
            if !list.clauses.is_empty() {
                return not_impl_err!(
                    "clauses inside the arguments of window function {name}() are not supported yet{pos}"
                );
            }
            for a in &list.args {
                match a {
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => raw_args.push(e),
                    FunctionArg::Unnamed(FunctionArgExpr::Wildcard) => star = true,
                    other => {
                        return not_impl_err!(
                            "argument '{other}' of {name}() is not supported yet{pos}"
                        )
                    }
                }
            }
        }
    }
    let func = match WindowFunc::from_name(name) {
        Some(w) => w,
        None => {
            let agg = if name == "count" && (star || raw_args.is_empty()) {
                Some(AggFunc::CountStar)
            } else {
                AggFunc::from_name(name)
            };
            match agg {
                Some(a) if a.runs_over_window() => WindowFunc::Aggregate(a),
                Some(a) => {
                    return not_impl_err!(
                        "{}() is not supported as a window function yet{pos}",
                        a.name()
                    )
                }
                None => {
                    return plan_err!(
                        "{name}() is not a window function: OVER (...) takes a window function \
                         (row_number, rank, lag, ...) or an aggregate{pos}"
                    )
                }
            }
        }
    };
    if star && func != WindowFunc::Aggregate(AggFunc::CountStar) {
        return plan_err!("{name}(*) is not defined: only count(*) takes '*'{pos}");
    }
    let inner = ExprContext {
        allow_windows: false,
        clause: "the arguments of a window function (window functions cannot be nested)",
        ..*cx
    };
    let args = raw_args
        .iter()
        .map(|a| bind_expr(a, &inner))
        .collect::<Result<Vec<_>>>()?;
    let spec = match over {
        WindowType::NamedWindow(id) => lookup(cx.windows, &id.value)?.clone(),
        WindowType::WindowSpec(spec) => match &spec.window_name {
            Some(base) => merge(lookup(cx.windows, &base.value)?, spec)?,
            None => spec.clone(),
        },
    };
    let keys_cx = ExprContext {
        allow_windows: false,
        clause: "a window's PARTITION BY or ORDER BY (window functions cannot be nested)",
        ..*cx
    };
    let partition_by = spec
        .partition_by
        .iter()
        .map(|e| bind_expr(e, &keys_cx))
        .collect::<Result<Vec<_>>>()?;
    let mut order_by = Vec::new();
    for o in &spec.order_by {
        if o.with_fill.is_some() {
            return not_impl_err!("ORDER BY ... WITH FILL is not supported");
        }
        let (asc, nulls_first) = crate::query::sort_options(&o.options)?;
        order_by.push(SortExpr {
            expr: bind_expr(&o.expr, &keys_cx)?,
            asc,
            nulls_first,
        });
    }
    let frame = match &spec.window_frame {
        None => WindowFrame::default(),
        Some(fr) => bind_frame(fr, name, order_by.len(), pos)?,
    };
    Ok(Expr::WindowFunction(Box::new(WindowFunction {
        func,
        args,
        partition_by,
        order_by,
        frame,
    })))
}

fn bind_frame(
    fr: &ast::WindowFrame,
    name: &str,
    order_keys: usize,
    pos: &str,
) -> Result<WindowFrame> {
    let units = match fr.units {
        ast::WindowFrameUnits::Rows => WindowFrameUnits::Rows,
        ast::WindowFrameUnits::Range => WindowFrameUnits::Range,
        ast::WindowFrameUnits::Groups => {
            return not_impl_err!("GROUPS window frames are not supported yet ({name}){pos}")
        }
    };
    let offset = |e: &ast::Expr, what: &str| -> Result<ScalarValue> {
        let empty = PlanSchema::empty();
        let bound = bind_expr(e, &ExprContext::new(&empty, "a window frame")).ok();
        let v = match bound.as_ref().and_then(const_value) {
            Some(v) => v,
            None => {
                return plan_err!(
                    "{name}(): the window frame offset '{e} {what}' must be a constant{pos}"
                )
            }
        };
        let ok = match units {
            WindowFrameUnits::Rows => v.as_i64().is_some_and(|n| n >= 0),
            WindowFrameUnits::Range => v.as_f64().is_some_and(|n| n >= 0.0),
        };
        if !ok {
            let kind = match units {
                WindowFrameUnits::Rows => "a non-negative integer",
                WindowFrameUnits::Range => "a non-negative number",
            };
            return plan_err!("{name}(): the window frame offset '{e} {what}' must be {kind}{pos}");
        }
        if units == WindowFrameUnits::Range && order_keys != 1 {
            return plan_err!(
                "{name}(): a RANGE frame with an offset needs exactly one ORDER BY key, got {order_keys}{pos}"
            );
        }
        Ok(v)
    };
    let bound = |b: &ast::WindowFrameBound| -> Result<WindowFrameBound> {
        Ok(match b {
            ast::WindowFrameBound::CurrentRow => WindowFrameBound::CurrentRow,
            ast::WindowFrameBound::Preceding(None) => WindowFrameBound::UnboundedPreceding,
            ast::WindowFrameBound::Following(None) => WindowFrameBound::UnboundedFollowing,
            ast::WindowFrameBound::Preceding(Some(e)) => {
                WindowFrameBound::Preceding(offset(e, "PRECEDING")?)
            }
            ast::WindowFrameBound::Following(Some(e)) => {
                WindowFrameBound::Following(offset(e, "FOLLOWING")?)
            }
        })
    };
    let start = bound(&fr.start_bound)?;
    let end = match &fr.end_bound {
        Some(b) => bound(b)?,
        None => WindowFrameBound::CurrentRow,
    };
    if start == WindowFrameBound::UnboundedFollowing {
        return plan_err!("{name}(): a window frame cannot start at UNBOUNDED FOLLOWING{pos}");
    }
    if end == WindowFrameBound::UnboundedPreceding {
        return plan_err!("{name}(): a window frame cannot end at UNBOUNDED PRECEDING{pos}");
    }
    Ok(WindowFrame { units, start, end })
}

/// Adds a Window node computing every distinct window call found in `exprs` (each bound over
/// `plan`'s schema) and rewrites them to read its columns.
pub(crate) fn plan_windows(
    plan: Arc<LogicalPlan>,
    exprs: &mut [&mut Expr],
    normalize: &dyn Fn(&Expr, &PlanSchema) -> Expr,
) -> Result<Arc<LogicalPlan>> {
    let schema = Arc::clone(plan.schema());
    let mut calls: Vec<Expr> = Vec::new();
    let mut norms: Vec<Expr> = Vec::new();
    for e in exprs.iter() {
        e.walk(&mut |n| {
            if matches!(n, Expr::WindowFunction(_)) {
                let norm = normalize(n, &schema);
                if !norms.contains(&norm) {
                    norms.push(norm);
                    calls.push(n.clone());
                }
            }
        });
    }
    if calls.is_empty() {
        return Ok(plan);
    }
    // Unique output names (two calls may print alike, or like an input column).
    let mut used: Vec<String> = schema
        .fields()
        .iter()
        .map(|(_, f)| f.name().clone())
        .collect();
    let window_exprs: Vec<Expr> = calls
        .iter()
        .enumerate()
        .map(|(j, c)| {
            let name = c.output_name();
            if used.contains(&name) {
                let unique = format!("{name}#{j}");
                used.push(unique.clone());
                c.clone().alias(unique)
            } else {
                used.push(name);
                c.clone()
            }
        })
        .collect();
    let window = LogicalPlanBuilder::from(plan).window(window_exprs)?.build();
    let out = Arc::clone(window.schema());
    let n_in = schema.len();
    let columns: Vec<Column> = (0..calls.len()).map(|j| out.column(n_in + j)).collect();
    for e in exprs.iter_mut() {
        let rewritten = (**e).clone().transform_down(&mut |n| {
            if matches!(n, Expr::WindowFunction(_)) {
                let norm = normalize(&n, &schema);
                if let Some(j) = norms.iter().position(|x| *x == norm) {
                    return Ok((Expr::Column(columns[j].clone()), false));
                }
            }
            Ok((n, true))
        })?;
        **e = rewritten;
    }
    Ok(window)
}
