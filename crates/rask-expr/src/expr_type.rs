//! The type and nullability of an expression against a schema.

use arrow::datatypes::{DataType, Field};
use rask_common::{plan_err, Result};

use crate::expr::{AggFunc, Expr, Operator, ScalarFunc, WindowFunc, WindowFunction};
use crate::functions::signature;
use crate::schema::PlanSchema;
use crate::type_coercion::{aggregate_return_type, binary_types, comparison_type, is_numeric};

impl Expr {
    /// The type this expression evaluates to over rows of `schema`.
    ///
    /// # Errors
    /// A plan error for unknown columns or operands whose types do not fit.
    pub fn get_type(&self, schema: &PlanSchema) -> Result<DataType> {
        Ok(match self {
            Expr::Column(c) => schema.data_type_of(c)?.clone(),
            Expr::Literal(v) => v.data_type(),
            Expr::Alias(e, _) => e.get_type(schema)?,
            Expr::BinaryExpr { left, op, right } => {
                let (_, _, t) =
                    binary_types(&left.get_type(schema)?, *op, &right.get_type(schema)?)
                        .map_err(|e| rask_common::Error::Plan(format!("in '{self}': {e}")))?;
                t
            }
            Expr::Not(e) => {
                let t = e.get_type(schema)?;
                if !matches!(t, DataType::Boolean | DataType::Null) {
                    return plan_err!("NOT needs a BOOLEAN operand, got {t} in '{self}'");
                }
                DataType::Boolean
            }
            Expr::Negative(e) => {
                let t = e.get_type(schema)?;
                if !is_numeric(&t) && !matches!(t, DataType::Interval(_) | DataType::Null) {
                    return plan_err!("cannot negate {t} in '{self}'");
                }
                t
            }
            Expr::IsNull(_) | Expr::IsNotNull(_) => DataType::Boolean,
            Expr::Between {
                expr, low, high, ..
            } => {
                let t = expr.get_type(schema)?;
                for b in [low, high] {
                    binary_types(&t, Operator::GtEq, &b.get_type(schema)?)?;
                }
                DataType::Boolean
            }
            Expr::InList { expr, list, .. } => {
                let t = expr.get_type(schema)?;
                for item in list {
                    binary_types(&t, Operator::Eq, &item.get_type(schema)?)?;
                }
                DataType::Boolean
            }
            Expr::Like { expr, pattern, .. } => {
                for e in [expr, pattern] {
                    let t = e.get_type(schema)?;
                    if !crate::type_coercion::is_string(&t) && t != DataType::Null {
                        return plan_err!("LIKE needs VARCHAR operands, got {t} in '{self}'");
                    }
                }
                DataType::Boolean
            }
            Expr::Case {
                operand,
                when_then,
                else_expr,
            } => {
                if let Some(o) = operand {
                    let ot = o.get_type(schema)?;
                    for (w, _) in when_then {
                        binary_types(&ot, Operator::Eq, &w.get_type(schema)?)?;
                    }
                }
                case_result_type(
                    when_then.iter().map(|(_, t)| t).chain(else_expr.as_deref()),
                    schema,
                )?
            }
            Expr::Cast { data_type, .. } => data_type.clone(),
            Expr::ScalarFunction { func, args } => {
                let types = args
                    .iter()
                    .map(|a| a.get_type(schema))
                    .collect::<Result<Vec<_>>>()?;
                signature(*func, &types)?.1
            }
            Expr::AggregateFunction { func, args, .. } => {
                let types = args
                    .iter()
                    .map(|a| a.get_type(schema))
                    .collect::<Result<Vec<_>>>()?;
                aggregate_return_type(*func, &types)?
            }
            Expr::WindowFunction(w) => window_return_type(w, schema)?,
            Expr::Wildcard { .. } => {
                return plan_err!("'*' is only allowed in a select list or count(*)")
            }
        })
    }

    /// Whether this expression can be NULL over rows of `schema`.
    pub fn nullable(&self, schema: &PlanSchema) -> Result<bool> {
        Ok(match self {
            Expr::Column(c) => schema.field(schema.index_of_column(c)?).is_nullable(),
            Expr::Literal(v) => v.is_null(),
            Expr::Alias(e, _) | Expr::Not(e) | Expr::Negative(e) => e.nullable(schema)?,
            Expr::IsNull(_) | Expr::IsNotNull(_) => false,
            Expr::AggregateFunction { func, .. } => {
                !matches!(func, AggFunc::Count | AggFunc::CountStar)
            }
            Expr::WindowFunction(w) => !matches!(
                w.func,
                WindowFunc::RowNumber
                    | WindowFunc::Rank
                    | WindowFunc::DenseRank
                    | WindowFunc::PercentRank
                    | WindowFunc::CumeDist
                    | WindowFunc::Aggregate(AggFunc::Count | AggFunc::CountStar)
            ),
            Expr::ScalarFunction {
                func: ScalarFunc::Coalesce,
                args,
            } => {
                // NULL only when every argument can be.
                let mut all = true;
                for a in args {
                    all &= a.nullable(schema)?;
                }
                all
            }
            Expr::BinaryExpr { left, op, right } => {
                // Division by zero yields an error, not NULL; arithmetic keeps nullability.
                let _ = op;
                left.nullable(schema)? || right.nullable(schema)?
            }
            _ => true,
        })
    }

    /// The output field of this expression over `schema`.
    pub fn to_field(&self, schema: &PlanSchema) -> Result<Field> {
        Ok(Field::new(
            self.output_name(),
            self.get_type(schema)?,
            self.nullable(schema)?,
        ))
    }
}

/// The common type of CASE branches (NULL branches take the others' type).
pub fn case_result_type<'a>(
    branches: impl Iterator<Item = &'a Expr>,
    schema: &PlanSchema,
) -> Result<DataType> {
    let mut t = DataType::Null;
    for b in branches {
        let bt = b.get_type(schema)?;
        t = match comparison_type(&t, &bt) {
            Some(t) => t,
            None => return plan_err!("CASE branches have incompatible types {t} and {bt}"),
        };
    }
    Ok(t)
}

/// The result type of a window function call, checking its arguments.
///
/// # Errors
/// A plan error naming the function when the argument count or types do not fit.
pub fn window_return_type(w: &WindowFunction, schema: &PlanSchema) -> Result<DataType> {
    let name = w.func.name();
    let types = w
        .args
        .iter()
        .map(|a| a.get_type(schema))
        .collect::<Result<Vec<_>>>()?;
    for k in &w.order_by {
        k.expr.get_type(schema)?;
    }
    for p in &w.partition_by {
        p.get_type(schema)?;
    }
    let n = types.len();
    let arity = |lo: usize, hi: usize| -> Result<()> {
        if n < lo || n > hi {
            let want = if lo == hi {
                format!("{lo}")
            } else {
                format!("{lo} to {hi}")
            };
            return plan_err!("{name}() takes {want} arguments, got {n}");
        }
        Ok(())
    };
    let integer = |i: usize, what: &str| -> Result<()> {
        match &types[i] {
            t if t.is_integer() || t == &DataType::Null => Ok(()),
            t => plan_err!("the {what} of {name}() must be an integer, got {t}"),
        }
    };
    Ok(match w.func {
        WindowFunc::RowNumber | WindowFunc::Rank | WindowFunc::DenseRank => {
            arity(0, 0)?;
            DataType::Int64
        }
        WindowFunc::PercentRank | WindowFunc::CumeDist => {
            arity(0, 0)?;
            DataType::Float64
        }
        WindowFunc::Ntile => {
            arity(1, 1)?;
            integer(0, "argument")?;
            DataType::Int64
        }
        WindowFunc::Lag | WindowFunc::Lead => {
            arity(1, 3)?;
            if n >= 2 {
                integer(1, "offset")?;
            }
            if n == 3 && comparison_type(&types[0], &types[2]).is_none() {
                return plan_err!(
                    "the default of {name}() must have the argument's type {}, got {}",
                    types[0],
                    types[2]
                );
            }
            types[0].clone()
        }
        WindowFunc::FirstValue | WindowFunc::LastValue => {
            arity(1, 1)?;
            types[0].clone()
        }
        WindowFunc::NthValue => {
            arity(2, 2)?;
            integer(1, "position")?;
            types[0].clone()
        }
        WindowFunc::Aggregate(f) => aggregate_return_type(f, &types)?,
    })
}
