//! Helpers shared by the rules.

use std::sync::Arc;

use rask_common::Result;
use rask_expr::{Column, Expr, LogicalPlan, Operator, PlanSchema};

/// `new` under the output name `old` had, so that rewriting an expression in a projection or an
/// aggregate never renames its output column.
pub(crate) fn preserve_name(old: &Expr, new: Expr) -> Expr {
    let name = old.output_name();
    if new.output_name() == name {
        new
    } else {
        new.alias(name)
    }
}

/// The column at `i` of `schema` as a [`Column`] that resolves back to exactly `i`, or `None`
/// when no such reference exists (duplicate names without qualifiers).
pub(crate) fn column_at(schema: &PlanSchema, i: usize) -> Option<Column> {
    let c = schema.column(i);
    match schema.maybe_index_of_column(&c) {
        Ok(Some(j)) if j == i => Some(c),
        _ => None,
    }
}

/// Replaces every column reference for which `f` returns `Some`; `None` from `f` keeps it.
pub(crate) fn replace_columns(
    expr: Expr,
    f: &mut dyn FnMut(&Column) -> Option<Expr>,
) -> Result<Expr> {
    expr.transform_up(&mut |e| {
        Ok(match e {
            Expr::Column(c) => f(&c).unwrap_or(Expr::Column(c)),
            e => e,
        })
    })
}

/// Like [`replace_columns`], but `None` when `f` cannot map some column.
pub(crate) fn try_replace_columns(
    expr: &Expr,
    f: &mut dyn FnMut(&Column) -> Option<Expr>,
) -> Result<Option<Expr>> {
    let mut ok = true;
    let out = replace_columns(expr.clone(), &mut |c| {
        let r = f(c);
        ok &= r.is_some();
        r
    })?;
    Ok(ok.then_some(out))
}

/// Rebuilds `plan` over its inputs mapped by `f`, keeping the same `Arc` when no input changed.
pub(crate) fn map_inputs(
    plan: Arc<LogicalPlan>,
    f: &mut dyn FnMut(Arc<LogicalPlan>) -> Result<Arc<LogicalPlan>>,
) -> Result<Arc<LogicalPlan>> {
    let old: Vec<Arc<LogicalPlan>> = plan.inputs().into_iter().map(Arc::clone).collect();
    if old.is_empty() {
        return Ok(plan);
    }
    let mut changed = false;
    let mut new = Vec::with_capacity(old.len());
    for input in old {
        let n = f(Arc::clone(&input))?;
        changed |= !Arc::ptr_eq(&n, &input);
        new.push(n);
    }
    if changed {
        Ok(Arc::new(plan.with_new_inputs(new)?))
    } else {
        Ok(plan)
    }
}

/// Rewrites the plan bottom-up, applying `f` to every node after its inputs.
pub(crate) fn transform_up(
    plan: Arc<LogicalPlan>,
    f: &mut dyn FnMut(Arc<LogicalPlan>) -> Result<Arc<LogicalPlan>>,
) -> Result<Arc<LogicalPlan>> {
    let plan = map_inputs(plan, &mut |input| transform_up(input, f))?;
    f(plan)
}

/// Splits `a OR b OR c` into its disjuncts.
pub(crate) fn split_disjunction(expr: &Expr) -> Vec<&Expr> {
    match expr {
        Expr::BinaryExpr {
            left,
            op: Operator::Or,
            right,
        } => {
            let mut v = split_disjunction(left);
            v.extend(split_disjunction(right));
            v
        }
        Expr::Alias(e, _) => split_disjunction(e),
        e => vec![e],
    }
}

/// Joins predicates with OR; `None` for an empty list.
pub(crate) fn disjunction(exprs: impl IntoIterator<Item = Expr>) -> Option<Expr> {
    exprs.into_iter().reduce(|a, b| a.or(b))
}
