//! Physical expressions: [`rask_expr::Expr`] bound to column indices, with every implicit
//! cast made explicit, evaluated batch at a time with Arrow kernels.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Datum, Int32Array, Int64Array, RecordBatch, Scalar,
    StringArray,
};
use arrow::compute::kernels::{boolean, cmp, numeric};
use arrow::compute::{cast_with_options, CastOptions};
use arrow::datatypes::DataType;
use rask_common::{exec_err, plan_err, Error, Result, ScalarValue};
use rask_expr::functions::signature;
use rask_expr::type_coercion::{binary_types, comparison_type};
use rask_expr::{expr_type::case_result_type, Expr, Operator, PlanSchema, ScalarFunc};

use crate::columnar::ColumnarValue;
use crate::functions::evaluate_function;
use crate::like::LikeMatcher;

/// An executable expression.
#[derive(Debug, Clone)]
pub enum PhysicalExpr {
    /// Column `i` of the input batch.
    Column(usize),
    /// A constant.
    Literal(ScalarValue),
    /// Operands already cast to the operator's input types.
    Binary {
        /// Left operand.
        left: Box<PhysicalExpr>,
        /// Operator.
        op: Operator,
        /// Right operand.
        right: Box<PhysicalExpr>,
    },
    /// Three-valued NOT.
    Not(Box<PhysicalExpr>),
    /// Arithmetic negation.
    Negative(Box<PhysicalExpr>),
    /// IS NULL / IS NOT NULL (`negated`).
    IsNull(Box<PhysicalExpr>, bool),
    /// `expr [NOT] IN (list)` with the list cast to the value's type.
    InList {
        /// Tested value.
        expr: Box<PhysicalExpr>,
        /// Candidates.
        list: Vec<PhysicalExpr>,
        /// NOT IN.
        negated: bool,
    },
    /// LIKE with a constant pattern.
    Like {
        /// Tested value.
        expr: Box<PhysicalExpr>,
        /// Compiled pattern.
        matcher: Arc<LikeMatcher>,
        /// NOT LIKE.
        negated: bool,
    },
    /// CASE WHEN ... with all branches cast to the result type.
    Case {
        /// WHEN predicates (already `operand = value` for the simple form) and THEN values.
        when_then: Vec<(PhysicalExpr, PhysicalExpr)>,
        /// ELSE (NULL of the result type when absent).
        else_expr: Box<PhysicalExpr>,
    },
    /// CAST / TRY_CAST.
    Cast {
        /// Value.
        expr: Box<PhysicalExpr>,
        /// Target type.
        to: DataType,
        /// NULL on failure instead of an error.
        safe: bool,
    },
    /// A scalar function with arguments cast to its signature.
    Function {
        /// Function.
        func: ScalarFunc,
        /// Arguments.
        args: Vec<PhysicalExpr>,
        /// Result type.
        return_type: DataType,
    },
}

fn cast_if_needed(e: PhysicalExpr, from: &DataType, to: &DataType) -> PhysicalExpr {
    if from == to || to == &DataType::Null {
        return e;
    }
    if let PhysicalExpr::Literal(v) = &e {
        if let Ok(c) = v.cast_to(to) {
            return PhysicalExpr::Literal(c);
        }
    }
    PhysicalExpr::Cast {
        expr: Box::new(e),
        to: to.clone(),
        safe: false,
    }
}

/// Binds `expr` to `schema`: resolves columns to indices and inserts the casts the type rules
/// call for.
pub fn create_physical_expr(expr: &Expr, schema: &PlanSchema) -> Result<PhysicalExpr> {
    let bind = |e: &Expr| create_physical_expr(e, schema);
    Ok(match expr {
        Expr::Column(c) => PhysicalExpr::Column(schema.index_of_column(c)?),
        Expr::Literal(v) => PhysicalExpr::Literal(v.clone()),
        Expr::Alias(e, _) => bind(e)?,
        Expr::BinaryExpr { left, op, right } => {
            let (lt, rt) = (left.get_type(schema)?, right.get_type(schema)?);
            let (lc, rc, _) = binary_types(&lt, *op, &rt)?;
            PhysicalExpr::Binary {
                left: Box::new(cast_if_needed(bind(left)?, &lt, &lc)),
                op: *op,
                right: Box::new(cast_if_needed(bind(right)?, &rt, &rc)),
            }
        }
        Expr::Not(e) => PhysicalExpr::Not(Box::new(bind(e)?)),
        Expr::Negative(e) => PhysicalExpr::Negative(Box::new(bind(e)?)),
        Expr::IsNull(e) => PhysicalExpr::IsNull(Box::new(bind(e)?), false),
        Expr::IsNotNull(e) => PhysicalExpr::IsNull(Box::new(bind(e)?), true),
        Expr::Between {
            expr,
            negated,
            low,
            high,
        } => {
            let inner = (*expr.clone())
                .gt_eq(*low.clone())
                .and((*expr.clone()).lt_eq(*high.clone()));
            let e = if *negated { inner.not() } else { inner };
            bind(&e)?
        }
        Expr::InList {
            expr,
            list,
            negated,
        } => {
            let vt = expr.get_type(schema)?;
            let mut t = vt.clone();
            for item in list {
                let it = item.get_type(schema)?;
                t = match comparison_type(&t, &it) {
                    Some(t) => t,
                    None => {
                        return plan_err!(
                            "IN list value {item} ({it}) cannot be compared with {expr} ({vt})"
                        )
                    }
                };
            }
            let list = list
                .iter()
                .map(|item| Ok(cast_if_needed(bind(item)?, &item.get_type(schema)?, &t)))
                .collect::<Result<Vec<_>>>()?;
            PhysicalExpr::InList {
                expr: Box::new(cast_if_needed(bind(expr)?, &vt, &t)),
                list,
                negated: *negated,
            }
        }
        Expr::Like {
            negated,
            expr,
            pattern,
            case_insensitive,
        } => {
            let value = cast_if_needed(bind(expr)?, &expr.get_type(schema)?, &DataType::Utf8);
            match pattern.as_ref() {
                Expr::Literal(ScalarValue::Utf8(Some(p))) => PhysicalExpr::Like {
                    expr: Box::new(value),
                    matcher: Arc::new(LikeMatcher::new(p, *case_insensitive)),
                    negated: *negated,
                },
                Expr::Literal(v) if v.is_null() => {
                    PhysicalExpr::Literal(ScalarValue::Boolean(None))
                }
                other => {
                    return Err(Error::NotImplemented(format!(
                        "LIKE with a non-constant pattern ({other})"
                    )))
                }
            }
        }
        Expr::Case {
            operand,
            when_then,
            else_expr,
        } => {
            let rt = case_result_type(
                when_then.iter().map(|(_, t)| t).chain(else_expr.as_deref()),
                schema,
            )?;
            let rt = if rt == DataType::Null {
                DataType::Int64
            } else {
                rt
            };
            let mut pairs = Vec::new();
            for (w, t) in when_then {
                let cond = match operand {
                    Some(o) => (**o).clone().eq(w.clone()),
                    None => w.clone(),
                };
                let then = cast_if_needed(bind(t)?, &t.get_type(schema)?, &rt);
                pairs.push((bind(&cond)?, then));
            }
            let else_expr = match else_expr {
                Some(e) => cast_if_needed(bind(e)?, &e.get_type(schema)?, &rt),
                None => PhysicalExpr::Literal(ScalarValue::Null.cast_to(&rt)?),
            };
            PhysicalExpr::Case {
                when_then: pairs,
                else_expr: Box::new(else_expr),
            }
        }
        Expr::Cast {
            expr,
            data_type,
            safe,
        } => {
            let from = expr.get_type(schema)?;
            if &from == data_type {
                bind(expr)?
            } else {
                PhysicalExpr::Cast {
                    expr: Box::new(bind(expr)?),
                    to: data_type.clone(),
                    safe: *safe,
                }
            }
        }
        Expr::ScalarFunction { func, args } => {
            let types = args
                .iter()
                .map(|a| a.get_type(schema))
                .collect::<Result<Vec<_>>>()?;
            let (arg_types, return_type) = signature(*func, &types)?;
            let args = args
                .iter()
                .zip(types.iter().zip(arg_types.iter()))
                .map(|(a, (from, to))| Ok(cast_if_needed(bind(a)?, from, to)))
                .collect::<Result<Vec<_>>>()?;
            PhysicalExpr::Function {
                func: *func,
                args,
                return_type,
            }
        }
        Expr::AggregateFunction { .. } => {
            return plan_err!("aggregate function '{expr}' is not allowed here")
        }
        Expr::WindowFunction(_) => {
            return plan_err!("window function '{expr}' is not allowed here")
        }
        Expr::Wildcard { .. } => return plan_err!("'*' is not allowed here"),
    })
}

fn datum(v: &ColumnarValue) -> Result<Box<dyn Datum>> {
    Ok(match v {
        ColumnarValue::Array(a) => Box::new(Arc::clone(a)),
        ColumnarValue::Scalar(s) => Box::new(Scalar::new(s.to_array(1)?)),
    })
}

/// Wraps a kernel result: scalar when both inputs were scalars.
fn wrap(out: ArrayRef, scalar: bool) -> Result<ColumnarValue> {
    if scalar {
        Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(
            out.as_ref(),
            0,
        )?))
    } else {
        Ok(ColumnarValue::Array(out))
    }
}

fn is_zero(v: &ScalarValue) -> bool {
    v.as_f64() == Some(0.0)
}

impl PhysicalExpr {
    /// Evaluates over `batch`.
    pub fn evaluate(&self, batch: &RecordBatch) -> Result<ColumnarValue> {
        let n = batch.num_rows();
        Ok(match self {
            PhysicalExpr::Column(i) => ColumnarValue::Array(Arc::clone(batch.column(*i))),
            PhysicalExpr::Literal(v) => ColumnarValue::Scalar(v.clone()),
            PhysicalExpr::Binary { left, op, right } => {
                let l = left.evaluate(batch)?;
                let r = right.evaluate(batch)?;
                evaluate_binary(&l, *op, &r, n)?
            }
            PhysicalExpr::Not(e) => {
                let v = e.evaluate(batch)?;
                let scalar = v.as_scalar().is_some();
                let mut a = v.into_array(if scalar { 1 } else { n })?;
                if a.data_type() == &DataType::Null {
                    a = arrow::compute::cast(&a, &DataType::Boolean)?;
                }
                let b = as_bool(&a)?;
                wrap(Arc::new(boolean::not(b)?), scalar)?
            }
            PhysicalExpr::Negative(e) => {
                let v = e.evaluate(batch)?;
                let scalar = v.as_scalar().is_some();
                let a = v.into_array(if scalar { 1 } else { n })?;
                wrap(numeric::neg(&a)?, scalar)?
            }
            PhysicalExpr::IsNull(e, negated) => {
                let v = e.evaluate(batch)?;
                match v {
                    ColumnarValue::Scalar(s) => {
                        ColumnarValue::Scalar(ScalarValue::Boolean(Some(s.is_null() != *negated)))
                    }
                    ColumnarValue::Array(a) => {
                        let out = if *negated {
                            arrow::compute::is_not_null(&a)?
                        } else {
                            arrow::compute::is_null(&a)?
                        };
                        ColumnarValue::Array(Arc::new(out))
                    }
                }
            }
            PhysicalExpr::InList {
                expr,
                list,
                negated,
            } => {
                let v = expr.evaluate(batch)?;
                let mut acc: Option<ColumnarValue> = None;
                for item in list {
                    let iv = item.evaluate(batch)?;
                    let eq = evaluate_binary(&v, Operator::Eq, &iv, n)?;
                    acc = Some(match acc {
                        None => eq,
                        Some(prev) => evaluate_binary(&prev, Operator::Or, &eq, n)?,
                    });
                }
                let res = match acc {
                    Some(a) => a,
                    None => ColumnarValue::Scalar(ScalarValue::Boolean(Some(false))),
                };
                if *negated {
                    negate_bool(res, n)?
                } else {
                    res
                }
            }
            PhysicalExpr::Like {
                expr,
                matcher,
                negated,
            } => {
                let v = expr.evaluate(batch)?;
                let scalar = v.as_scalar().is_some();
                let a = v.into_array(if scalar { 1 } else { n })?;
                let out = matcher.evaluate(a.as_string::<i32>(), *negated);
                wrap(Arc::new(out), scalar)?
            }
            PhysicalExpr::Case {
                when_then,
                else_expr,
            } => evaluate_case(when_then, else_expr, batch)?,
            PhysicalExpr::Cast { expr, to, safe } => {
                let v = expr.evaluate(batch)?;
                let scalar = v.as_scalar().is_some();
                let a = v.into_array(if scalar { 1 } else { n })?;
                let opts = CastOptions {
                    safe: *safe,
                    format_options: Default::default(),
                };
                let out = cast_with_options(&a, to, &opts).map_err(|e| {
                    // Name the column when a column is cast (DataFrame::astype).
                    let column = match expr.as_ref() {
                        PhysicalExpr::Column(i) => batch
                            .schema_ref()
                            .fields()
                            .get(*i)
                            .map(|f| format!(" (column {})", f.name()))
                            .unwrap_or_default(),
                        _ => String::new(),
                    };
                    Error::Execution(format!(
                        "{e}{column}. Use TRY_CAST to get NULL for values that do not convert"
                    ))
                })?;
                wrap(out, scalar)?
            }
            PhysicalExpr::Function {
                func,
                args,
                return_type,
            } => {
                let vals = args
                    .iter()
                    .map(|a| a.evaluate(batch))
                    .collect::<Result<Vec<_>>>()?;
                evaluate_function(*func, &vals, return_type, n)?
            }
        })
    }

    /// Evaluates to an array of `batch.num_rows()` rows.
    pub fn evaluate_to_array(&self, batch: &RecordBatch) -> Result<ArrayRef> {
        self.evaluate(batch)?.into_array(batch.num_rows())
    }

    /// Whether evaluating this reads input column `i`.
    pub fn reads_column(&self, i: usize) -> bool {
        match self {
            PhysicalExpr::Column(c) => *c == i,
            PhysicalExpr::Literal(_) => false,
            PhysicalExpr::Binary { left, right, .. } => {
                left.reads_column(i) || right.reads_column(i)
            }
            PhysicalExpr::Not(e)
            | PhysicalExpr::Negative(e)
            | PhysicalExpr::IsNull(e, _)
            | PhysicalExpr::Like { expr: e, .. }
            | PhysicalExpr::Cast { expr: e, .. } => e.reads_column(i),
            PhysicalExpr::InList { expr, list, .. } => {
                expr.reads_column(i) || list.iter().any(|e| e.reads_column(i))
            }
            PhysicalExpr::Case {
                when_then,
                else_expr,
            } => {
                else_expr.reads_column(i)
                    || when_then
                        .iter()
                        .any(|(w, t)| w.reads_column(i) || t.reads_column(i))
            }
            PhysicalExpr::Function { args, .. } => args.iter().any(|e| e.reads_column(i)),
        }
    }

    /// The literal value, when this is a constant.
    pub fn as_literal(&self) -> Option<&ScalarValue> {
        match self {
            PhysicalExpr::Literal(v) => Some(v),
            _ => None,
        }
    }
}

fn negate_bool(v: ColumnarValue, n: usize) -> Result<ColumnarValue> {
    let scalar = v.as_scalar().is_some();
    let a = v.into_array(if scalar { 1 } else { n })?;
    wrap(Arc::new(boolean::not(as_bool(&a)?)?), scalar)
}

fn as_bool(a: &ArrayRef) -> Result<&BooleanArray> {
    match a.data_type() {
        DataType::Boolean => Ok(a.as_boolean()),
        t => exec_err!("expected BOOLEAN, got {t}"),
    }
}

/// `l op r` on values already cast to the operator's input types.
pub fn evaluate_binary(
    l: &ColumnarValue,
    op: Operator,
    r: &ColumnarValue,
    num_rows: usize,
) -> Result<ColumnarValue> {
    let scalar = l.as_scalar().is_some() && r.as_scalar().is_some();
    let n = if scalar { 1 } else { num_rows };
    // NULL literal operands (untyped) make comparisons and arithmetic NULL.
    let untyped_null = matches!(l, ColumnarValue::Scalar(ScalarValue::Null))
        || matches!(r, ColumnarValue::Scalar(ScalarValue::Null));
    if untyped_null
        && !matches!(
            op,
            Operator::And | Operator::Or | Operator::IsDistinctFrom | Operator::IsNotDistinctFrom
        )
    {
        return Ok(ColumnarValue::Scalar(ScalarValue::Null));
    }
    let out: ArrayRef = match op {
        Operator::And | Operator::Or => {
            let la = bool_array(l, n)?;
            let ra = bool_array(r, n)?;
            Arc::new(if op == Operator::And {
                boolean::and_kleene(&la, &ra)?
            } else {
                boolean::or_kleene(&la, &ra)?
            })
        }
        Operator::Eq
        | Operator::NotEq
        | Operator::Lt
        | Operator::LtEq
        | Operator::Gt
        | Operator::GtEq
        | Operator::IsDistinctFrom
        | Operator::IsNotDistinctFrom => {
            let (ld, rd) = (datum(l)?, datum(r)?);
            let (ld, rd) = (ld.as_ref(), rd.as_ref());
            Arc::new(match op {
                Operator::Eq => cmp::eq(ld, rd)?,
                Operator::NotEq => cmp::neq(ld, rd)?,
                Operator::Lt => cmp::lt(ld, rd)?,
                Operator::LtEq => cmp::lt_eq(ld, rd)?,
                Operator::Gt => cmp::gt(ld, rd)?,
                Operator::GtEq => cmp::gt_eq(ld, rd)?,
                Operator::IsDistinctFrom => cmp::distinct(ld, rd)?,
                _ => cmp::not_distinct(ld, rd)?,
            })
        }
        Operator::StringConcat => {
            let la = l.clone().into_array(n)?;
            let ra = r.clone().into_array(n)?;
            Arc::new(
                arrow::compute::kernels::concat_elements::concat_elements_utf8(
                    la.as_string::<i32>(),
                    ra.as_string::<i32>(),
                )?,
            )
        }
        Operator::Plus
        | Operator::Minus
        | Operator::Multiply
        | Operator::Divide
        | Operator::Modulo => return arithmetic(l, op, r, n, scalar),
    };
    wrap(out, scalar)
}

fn bool_array(v: &ColumnarValue, n: usize) -> Result<BooleanArray> {
    let a = match v {
        ColumnarValue::Scalar(ScalarValue::Null) => {
            return Ok(BooleanArray::from(vec![None::<bool>; n]))
        }
        other => other.clone().into_array(n)?,
    };
    Ok(as_bool(&a)?.clone())
}

fn arithmetic(
    l: &ColumnarValue,
    op: Operator,
    r: &ColumnarValue,
    n: usize,
    scalar: bool,
) -> Result<ColumnarValue> {
    let (lt, rt) = (l.data_type(), r.data_type());
    // DATE - DATE: days between, as BIGINT.
    if lt == DataType::Date32 && rt == DataType::Date32 {
        let la = arrow::compute::cast(&l.clone().into_array(n)?, &DataType::Int32)?;
        let ra = arrow::compute::cast(&r.clone().into_array(n)?, &DataType::Int32)?;
        let la = arrow::compute::cast(&la, &DataType::Int64)?;
        let ra = arrow::compute::cast(&ra, &DataType::Int64)?;
        return wrap(numeric::sub(&la, &ra)?, scalar);
    }
    // DATE ± integer days.
    if lt == DataType::Date32 && rt == DataType::Int64 {
        let la = arrow::compute::cast(&l.clone().into_array(n)?, &DataType::Int32)?;
        let la: Int64Array = arrow::compute::cast(&la, &DataType::Int64)?
            .as_primitive()
            .clone();
        let ra = r.clone().into_array(n)?;
        let out = if op == Operator::Plus {
            numeric::add(&la, &ra)?
        } else {
            numeric::sub(&la, &ra)?
        };
        let out: Int32Array = arrow::compute::cast(&out, &DataType::Int32)?
            .as_primitive()
            .clone();
        return wrap(arrow::compute::cast(&out, &DataType::Date32)?, scalar);
    }
    if op == Operator::Divide || op == Operator::Modulo {
        let zero = match r {
            ColumnarValue::Scalar(s) => is_zero(s),
            ColumnarValue::Array(a) => contains_zero(a)?,
        };
        if zero {
            return exec_err!(
                "division by zero: wrap the divisor in NULLIF(divisor, 0) to get NULL instead"
            );
        }
    }
    if let Some(out) = decimal_fast_path(l, op, r)? {
        return wrap(out, scalar);
    }
    let (ld, rd) = (datum(l)?, datum(r)?);
    let (ld, rd) = (ld.as_ref(), rd.as_ref());
    let out = match op {
        Operator::Plus => numeric::add(ld, rd),
        Operator::Minus => numeric::sub(ld, rd),
        Operator::Multiply => numeric::mul(ld, rd),
        Operator::Divide => numeric::div(ld, rd),
        _ => numeric::rem(ld, rd),
    }
    .map_err(|e| match e {
        arrow::error::ArrowError::ArithmeticOverflow(m) => Error::Execution(format!(
            "numeric overflow in {lt} {op} {rt}: {m}. CAST the operands to a wider type (BIGINT, DOUBLE or a DECIMAL with more precision)"
        )),
        other => Error::from(other),
    })?;
    wrap(out, scalar)
}

/// Decimal `+ - *` without per-value overflow checks where the result type is wide enough
/// that no overflow is possible (arrow's checked kernels validate every value; TPC-H Q1 spends
/// most of its time there). `None`: use the general kernel.
fn decimal_fast_path(
    l: &ColumnarValue,
    op: Operator,
    r: &ColumnarValue,
) -> Result<Option<ArrayRef>> {
    use arrow::datatypes::Decimal128Type;
    let (DataType::Decimal128(p1, s1), DataType::Decimal128(p2, s2)) =
        (l.data_type(), r.data_type())
    else {
        return Ok(None);
    };
    let (p1, s1, p2, s2) = (i32::from(p1), i32::from(s1), i32::from(p2), i32::from(s2));
    let (precision, scale, lmul, rmul) = match op {
        Operator::Multiply if p1 + p2 < 38 => (p1 + p2 + 1, s1 + s2, 1i128, 1i128),
        // Wider operands: no overflow either when every value fits in 64 bits, since then
        // |x * y| < 2^126 < 10^38 (a cheap scan decides; arrow's checked kernel is far slower).
        Operator::Multiply if fits_i64(l) && fits_i64(r) => (38, s1 + s2, 1i128, 1i128),
        Operator::Plus | Operator::Minus if s1 >= 0 && s2 >= 0 => {
            let s = s1.max(s2);
            let p = (p1 - s1).max(p2 - s2) + s + 1;
            if p > 38 {
                return Ok(None);
            }
            (
                p,
                s,
                10i128.pow((s - s1) as u32),
                10i128.pow((s - s2) as u32),
            )
        }
        _ => return Ok(None),
    };
    // The type the general kernel (and so the planner) gives; fall back if ours differs.
    let empty_l = arrow::array::Decimal128Array::from(Vec::<i128>::new())
        .with_precision_and_scale(p1 as u8, s1 as i8)?;
    let empty_r = arrow::array::Decimal128Array::from(Vec::<i128>::new())
        .with_precision_and_scale(p2 as u8, s2 as i8)?;
    let expected = match op {
        Operator::Multiply => numeric::mul(&empty_l, &empty_r)?,
        Operator::Plus => numeric::add(&empty_l, &empty_r)?,
        _ => numeric::sub(&empty_l, &empty_r)?,
    };
    if expected.data_type() != &DataType::Decimal128(precision as u8, scale as i8) {
        return Ok(None);
    }
    let f = move |x: i128, y: i128| -> i128 {
        match op {
            Operator::Multiply => x * y,
            Operator::Plus => x * lmul + y * rmul,
            _ => x * lmul - y * rmul,
        }
    };
    let out: arrow::array::Decimal128Array = match (l, r) {
        (ColumnarValue::Array(a), ColumnarValue::Array(b)) => arrow::compute::binary(
            a.as_primitive::<Decimal128Type>(),
            b.as_primitive::<Decimal128Type>(),
            f,
        )?,
        (
            ColumnarValue::Array(a),
            ColumnarValue::Scalar(ScalarValue::Decimal128(Some(y), _, _)),
        ) => {
            let y = *y;
            a.as_primitive::<Decimal128Type>().unary(|x| f(x, y))
        }
        (
            ColumnarValue::Scalar(ScalarValue::Decimal128(Some(x), _, _)),
            ColumnarValue::Array(b),
        ) => {
            let x = *x;
            b.as_primitive::<Decimal128Type>().unary(|y| f(x, y))
        }
        _ => return Ok(None),
    };
    Ok(Some(Arc::new(
        out.with_precision_and_scale(precision as u8, scale as i8)?,
    )))
}

/// Whether every (valid or not) value of a decimal operand fits in an `i64`.
fn fits_i64(v: &ColumnarValue) -> bool {
    use arrow::datatypes::Decimal128Type;
    let fits = |x: i128| x as i64 as i128 == x;
    match v {
        ColumnarValue::Scalar(ScalarValue::Decimal128(Some(x), _, _)) => fits(*x),
        ColumnarValue::Array(a) => a
            .as_primitive_opt::<Decimal128Type>()
            .is_some_and(|a| a.values().iter().fold(true, |ok, &x| ok & fits(x))),
        _ => false,
    }
}

fn contains_zero(a: &ArrayRef) -> Result<bool> {
    use arrow::datatypes::{Decimal128Type, Float64Type, Int32Type, Int64Type};
    Ok(match a.data_type() {
        DataType::Int64 => a.as_primitive::<Int64Type>().iter().any(|v| v == Some(0)),
        DataType::Int32 => a.as_primitive::<Int32Type>().iter().any(|v| v == Some(0)),
        DataType::Float64 => a
            .as_primitive::<Float64Type>()
            .iter()
            .any(|v| v == Some(0.0)),
        DataType::Decimal128(_, _) => a
            .as_primitive::<Decimal128Type>()
            .iter()
            .any(|v| v == Some(0)),
        _ => false,
    })
}

fn evaluate_case(
    when_then: &[(PhysicalExpr, PhysicalExpr)],
    else_expr: &PhysicalExpr,
    batch: &RecordBatch,
) -> Result<ColumnarValue> {
    // Branches are evaluated only on the rows that reach them, so `CASE WHEN b <> 0 THEN a / b
    // END` never divides by zero and the first matching WHEN wins.
    let n = batch.num_rows();
    let mut remaining = BooleanArray::from(vec![true; n]);
    let mut result: Option<ArrayRef> = None;
    for (w, t) in when_then {
        if remaining.true_count() == 0 {
            break;
        }
        let cond = evaluate_on_rows(w, batch, &remaining)?;
        let cond = match cond.data_type() {
            DataType::Null => BooleanArray::from(vec![false; n]),
            _ => {
                let c = as_bool(&cond)?;
                if c.null_count() > 0 {
                    arrow::compute::prep_null_mask_filter(c)
                } else {
                    c.clone()
                }
            }
        };
        let take = arrow::compute::and(&cond, &remaining)?;
        if take.true_count() == 0 {
            continue;
        }
        let values = evaluate_on_rows(t, batch, &take)?;
        result = Some(match result {
            None => values,
            Some(r) => arrow::compute::kernels::zip::zip(&take, &values, &r)?,
        });
        remaining = arrow::compute::and_not(&remaining, &take)?;
    }
    let result = match result {
        None => else_expr.evaluate(batch)?.into_array(n)?,
        Some(r) if remaining.true_count() > 0 => {
            let values = evaluate_on_rows(else_expr, batch, &remaining)?;
            arrow::compute::kernels::zip::zip(&remaining, &values, &r)?
        }
        Some(r) => r,
    };
    Ok(ColumnarValue::Array(result))
}

/// Evaluates `expr` on the rows of `batch` where `mask` is true; other rows are NULL.
fn evaluate_on_rows(
    expr: &PhysicalExpr,
    batch: &RecordBatch,
    mask: &BooleanArray,
) -> Result<ArrayRef> {
    let n = batch.num_rows();
    let k = mask.true_count();
    if k == n {
        return expr.evaluate(batch)?.into_array(n);
    }
    let subset = arrow::compute::filter_record_batch(batch, mask)?;
    let values = expr.evaluate(&subset)?.into_array(k)?;
    let mut next = 0u32;
    let indices: arrow::array::UInt32Array = mask
        .iter()
        .map(|m| {
            if m == Some(true) {
                next += 1;
                Some(next - 1)
            } else {
                None
            }
        })
        .collect();
    Ok(arrow::compute::take(values.as_ref(), &indices, None)?)
}

/// Evaluates a constant expression (no columns) to a scalar.
pub fn evaluate_constant(expr: &Expr) -> Result<ScalarValue> {
    let schema = PlanSchema::empty();
    let pe = create_physical_expr(expr, &schema)?;
    let batch = RecordBatch::try_new_with_options(
        Arc::new(arrow::datatypes::Schema::empty()),
        vec![],
        &arrow::array::RecordBatchOptions::new().with_row_count(Some(1)),
    )?;
    let v = pe.evaluate(&batch)?;
    match v {
        ColumnarValue::Scalar(s) => Ok(s),
        ColumnarValue::Array(a) => ScalarValue::try_from_array(a.as_ref(), 0),
    }
}

/// A one-column string array (helper for tests and LIKE).
pub fn string_array(values: &[Option<&str>]) -> StringArray {
    StringArray::from(values.to_vec())
}

impl std::fmt::Display for PhysicalExpr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PhysicalExpr::Column(i) => write!(f, "#{i}"),
            PhysicalExpr::Literal(v) => write!(f, "{v}"),
            PhysicalExpr::Binary { left, op, right } => write!(f, "({left} {op} {right})"),
            PhysicalExpr::Not(e) => write!(f, "NOT {e}"),
            PhysicalExpr::Negative(e) => write!(f, "-{e}"),
            PhysicalExpr::IsNull(e, false) => write!(f, "{e} IS NULL"),
            PhysicalExpr::IsNull(e, true) => write!(f, "{e} IS NOT NULL"),
            PhysicalExpr::InList {
                expr,
                list,
                negated,
            } => {
                let items: Vec<String> = list.iter().map(|e| e.to_string()).collect();
                let not = if *negated { "NOT " } else { "" };
                write!(f, "{expr} {not}IN ({})", items.join(", "))
            }
            PhysicalExpr::Like { expr, negated, .. } => {
                write!(
                    f,
                    "{expr} {}LIKE <pattern>",
                    if *negated { "NOT " } else { "" }
                )
            }
            PhysicalExpr::Case {
                when_then,
                else_expr,
            } => {
                write!(f, "CASE")?;
                for (w, t) in when_then {
                    write!(f, " WHEN {w} THEN {t}")?;
                }
                write!(f, " ELSE {else_expr} END")
            }
            PhysicalExpr::Cast { expr, to, safe } => {
                write!(
                    f,
                    "{}({expr} AS {to})",
                    if *safe { "TRY_CAST" } else { "CAST" }
                )
            }
            PhysicalExpr::Function { func, args, .. } => {
                let items: Vec<String> = args.iter().map(|e| e.to_string()).collect();
                write!(f, "{}({})", func.name(), items.join(", "))
            }
        }
    }
}
