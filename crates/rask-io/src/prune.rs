//! Conservative pruning: which row groups or files cannot hold a row matching the filters.
//!
//! Filters are split into conjuncts; each conjunct of a shape listed in [`PredicateKind`] over a
//! single column becomes a [`ColumnPredicate`], every other conjunct is ignored (it prunes
//! nothing). A predicate is then checked against [`ColumnStats`] (min, max, null count), which
//! come from Parquet row-group statistics or from a file's hive partition value. Pruning only
//! ever answers "certainly no match"; the caller re-applies the filters to the rows it reads.

use std::cmp::Ordering;

use arrow::datatypes::DataType;
use rask_common::ScalarValue;
use rask_expr::{split_conjunction, Expr, Operator};

/// One prunable conjunct.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PredicateKind {
    /// `col op value` with op one of `= <> < <= > >=`.
    Compare(Operator, ScalarValue),
    /// `col BETWEEN low AND high`.
    Between(ScalarValue, ScalarValue),
    /// `col IN (values)`.
    InList(Vec<ScalarValue>),
    /// `col IS NULL`.
    IsNull,
    /// `col IS NOT NULL`.
    IsNotNull,
}

/// A prunable conjunct over one column (by unqualified name).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ColumnPredicate {
    /// The column name.
    pub column: String,
    /// What is tested.
    pub kind: PredicateKind,
}

/// What is known about one column in one row group (or file, or in-memory partition).
#[derive(Debug, Clone, Default)]
pub struct ColumnStats {
    /// Lower bound of the non-null values, when known.
    pub min: Option<ScalarValue>,
    /// Upper bound of the non-null values, when known.
    pub max: Option<ScalarValue>,
    /// Number of NULLs, when known.
    pub null_count: Option<u64>,
    /// Number of rows, when known.
    pub row_count: Option<u64>,
    /// True when the values are known to hold no NaN (always true for non-float columns).
    pub nan_free: bool,
}

/// False only when no row described by per-column statistics can satisfy every conjunct of
/// `filters` (columns by unqualified name). `column` gives a column's type and statistics;
/// conjuncts over columns it does not know, or of shapes pruning does not understand, prune
/// nothing. In-memory partitions of persisted frames are pruned with it (branch `partition`).
pub fn stats_may_match(
    filters: &[Expr],
    column: &dyn Fn(&str) -> Option<(DataType, ColumnStats)>,
) -> bool {
    extract_predicates(filters)
        .iter()
        .all(|p| match column(&p.column) {
            Some((t, stats)) => p.may_match(&t, &stats),
            None => true,
        })
}

/// The prunable conjuncts of `filters`; everything else is dropped.
pub(crate) fn extract_predicates(filters: &[Expr]) -> Vec<ColumnPredicate> {
    let mut out = Vec::new();
    for filter in filters {
        for conjunct in split_conjunction(filter) {
            if let Some(p) = predicate_of(conjunct) {
                out.push(p);
            }
        }
    }
    out
}

fn predicate_of(expr: &Expr) -> Option<ColumnPredicate> {
    let (column, kind) = match expr {
        Expr::Alias(inner, _) => return predicate_of(inner),
        Expr::BinaryExpr { left, op, right } => {
            if !matches!(
                op,
                Operator::Eq
                    | Operator::NotEq
                    | Operator::Lt
                    | Operator::LtEq
                    | Operator::Gt
                    | Operator::GtEq
            ) {
                return None;
            }
            if let (Some(c), Some(v)) = (column_of(left), literal_of(right)) {
                (c, PredicateKind::Compare(*op, v))
            } else if let (Some(v), Some(c)) = (literal_of(left), column_of(right)) {
                (c, PredicateKind::Compare(op.swap()?, v))
            } else {
                return None;
            }
        }
        Expr::Between {
            expr,
            negated: false,
            low,
            high,
        } => (
            column_of(expr)?,
            PredicateKind::Between(literal_of(low)?, literal_of(high)?),
        ),
        Expr::InList {
            expr,
            list,
            negated: false,
        } => {
            let values = list.iter().map(literal_of).collect::<Option<Vec<_>>>()?;
            (column_of(expr)?, PredicateKind::InList(values))
        }
        Expr::IsNull(e) => (column_of(e)?, PredicateKind::IsNull),
        Expr::IsNotNull(e) => (column_of(e)?, PredicateKind::IsNotNull),
        Expr::Not(inner) => match inner.as_ref() {
            Expr::IsNull(e) => (column_of(e)?, PredicateKind::IsNotNull),
            Expr::IsNotNull(e) => (column_of(e)?, PredicateKind::IsNull),
            _ => return None,
        },
        _ => return None,
    };
    Some(ColumnPredicate {
        column: column.to_string(),
        kind,
    })
}

fn column_of(expr: &Expr) -> Option<&str> {
    match expr {
        Expr::Column(c) => Some(&c.name),
        Expr::Alias(inner, _) => column_of(inner),
        _ => None,
    }
}

fn literal_of(expr: &Expr) -> Option<ScalarValue> {
    match expr {
        Expr::Literal(v) => Some(v.clone()),
        Expr::Alias(inner, _) => literal_of(inner),
        Expr::Cast {
            expr, data_type, ..
        } => literal_of(expr)?.cast_to(data_type).ok(),
        Expr::Negative(inner) => match literal_of(inner)? {
            ScalarValue::Int64(Some(v)) => Some(ScalarValue::Int64(Some(v.checked_neg()?))),
            ScalarValue::Int32(Some(v)) => Some(ScalarValue::Int32(Some(v.checked_neg()?))),
            ScalarValue::Float64(Some(v)) => Some(ScalarValue::Float64(Some(-v))),
            ScalarValue::Decimal128(Some(v), p, s) => {
                Some(ScalarValue::Decimal128(Some(v.checked_neg()?), p, s))
            }
            _ => None,
        },
        _ => None,
    }
}

fn is_numeric(dt: &DataType) -> bool {
    matches!(
        dt,
        DataType::Int32 | DataType::Int64 | DataType::Float64 | DataType::Decimal128(_, _)
    )
}

fn is_temporal(dt: &DataType) -> bool {
    matches!(dt, DataType::Date32 | DataType::Timestamp(_, _))
}

/// `value` as a value of the column type `to`, only when that loses nothing and compares the
/// way the engine would compare the original (numbers with numbers, dates with dates or date
/// strings). `None`: do not prune with it.
pub(crate) fn coerce_literal(value: &ScalarValue, to: &DataType) -> Option<ScalarValue> {
    if value.is_null() {
        return None;
    }
    let from = value.data_type();
    if &from == to {
        return Some(value.clone());
    }
    let compatible = (is_numeric(&from) && is_numeric(to))
        || (is_temporal(to) && (from == DataType::Utf8 || is_temporal(&from)));
    if !compatible {
        return None;
    }
    let cast = value.cast_to(to).ok()?;
    let back = cast.cast_to(&from).ok()?;
    (back == *value && !cast.is_null()).then_some(cast)
}

/// Order of two values of the same type; `None` when they do not compare.
pub(crate) fn compare_scalars(a: &ScalarValue, b: &ScalarValue) -> Option<Ordering> {
    use ScalarValue as S;
    match (a, b) {
        (S::Boolean(Some(x)), S::Boolean(Some(y))) => Some(x.cmp(y)),
        (S::Int64(Some(x)), S::Int64(Some(y))) => Some(x.cmp(y)),
        (S::Int32(Some(x)), S::Int32(Some(y))) => Some(x.cmp(y)),
        (S::Float64(Some(x)), S::Float64(Some(y))) => x.partial_cmp(y),
        (S::Decimal128(Some(x), _, sx), S::Decimal128(Some(y), _, sy)) if sx == sy => {
            Some(x.cmp(y))
        }
        (S::Utf8(Some(x)), S::Utf8(Some(y))) => Some(x.as_bytes().cmp(y.as_bytes())),
        (S::Date32(Some(x)), S::Date32(Some(y))) => Some(x.cmp(y)),
        (S::TimestampMicros(Some(x)), S::TimestampMicros(Some(y))) => Some(x.cmp(y)),
        _ => None,
    }
}

/// True when `a` is certainly less than `b`.
fn lt(a: Option<&ScalarValue>, b: &ScalarValue) -> bool {
    a.and_then(|a| compare_scalars(a, b)) == Some(Ordering::Less)
}

/// True when `a` is certainly greater than `b`.
fn gt(a: Option<&ScalarValue>, b: &ScalarValue) -> bool {
    a.and_then(|a| compare_scalars(a, b)) == Some(Ordering::Greater)
}

/// True when `a` is certainly equal to `b`.
fn eq(a: Option<&ScalarValue>, b: &ScalarValue) -> bool {
    a.and_then(|a| compare_scalars(a, b)) == Some(Ordering::Equal)
}

impl ColumnPredicate {
    /// False only when no row described by `stats` (a column of type `data_type`) can satisfy
    /// the predicate.
    pub(crate) fn may_match(&self, data_type: &DataType, stats: &ColumnStats) -> bool {
        if stats.row_count == Some(0) {
            return false;
        }
        let all_null = matches!(
            (stats.null_count, stats.row_count),
            (Some(n), Some(r)) if n >= r
        );
        let min = stats.min.as_ref().filter(|v| !v.is_null());
        let max = stats.max.as_ref().filter(|v| !v.is_null());
        // NaN sorts above every number in the engine: with NaNs about, only predicates that
        // NaN never satisfies may use the bounds.
        let float = matches!(data_type, DataType::Float64 | DataType::Float32);
        let nan_free = !float || stats.nan_free;
        match &self.kind {
            PredicateKind::IsNull => stats.null_count != Some(0),
            PredicateKind::IsNotNull => !all_null,
            _ if all_null => false,
            PredicateKind::Compare(op, value) => {
                let Some(v) = coerce_literal(value, data_type) else {
                    return true;
                };
                let prune = match op {
                    Operator::Eq => gt(min, &v) || lt(max, &v),
                    Operator::NotEq => nan_free && eq(min, &v) && eq(max, &v),
                    Operator::Lt => gt(min, &v) || eq(min, &v),
                    Operator::LtEq => gt(min, &v),
                    Operator::Gt => nan_free && (lt(max, &v) || eq(max, &v)),
                    Operator::GtEq => nan_free && lt(max, &v),
                    _ => false,
                };
                !prune
            }
            PredicateKind::Between(low, high) => {
                let (Some(lo), Some(hi)) = (
                    coerce_literal(low, data_type),
                    coerce_literal(high, data_type),
                ) else {
                    return true;
                };
                !(lt(max, &lo) || gt(min, &hi))
            }
            PredicateKind::InList(values) => {
                let mut any = false;
                for value in values {
                    if value.is_null() {
                        continue;
                    }
                    let Some(v) = coerce_literal(value, data_type) else {
                        return true;
                    };
                    any = true;
                    if !(gt(min, &v) || lt(max, &v)) {
                        return true;
                    }
                }
                !any
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rask_expr::{col, lit};

    fn stats(min: i64, max: i64) -> ColumnStats {
        ColumnStats {
            min: Some(ScalarValue::Int64(Some(min))),
            max: Some(ScalarValue::Int64(Some(max))),
            null_count: Some(0),
            row_count: Some(10),
            nan_free: true,
        }
    }

    fn may(e: Expr, s: &ColumnStats) -> bool {
        let preds = extract_predicates(&[e]);
        assert_eq!(preds.len(), 1, "{preds:?}");
        preds[0].may_match(&DataType::Int64, s)
    }

    #[test]
    fn comparisons() {
        let s = stats(10, 20);
        assert!(!may(col("a").eq(lit(5i64)), &s));
        assert!(may(col("a").eq(lit(10i64)), &s));
        assert!(!may(col("a").eq(lit(21i64)), &s));
        assert!(!may(col("a").lt(lit(10i64)), &s));
        assert!(may(col("a").lt(lit(11i64)), &s));
        assert!(!may(col("a").lt_eq(lit(9i64)), &s));
        assert!(may(col("a").lt_eq(lit(10i64)), &s));
        assert!(!may(col("a").gt(lit(20i64)), &s));
        assert!(may(col("a").gt(lit(19i64)), &s));
        assert!(!may(col("a").gt_eq(lit(21i64)), &s));
        assert!(may(col("a").gt_eq(lit(20i64)), &s));
        // literal on the left
        assert!(!may(lit(5i64).gt(col("a")), &s));
        assert!(may(lit(15i64).gt(col("a")), &s));
        assert!(!may(col("a").not_eq(lit(7i64)), &stats(7, 7)));
        assert!(may(col("a").not_eq(lit(7i64)), &stats(7, 8)));
    }

    #[test]
    fn between_in_null() {
        let s = stats(10, 20);
        assert!(!may(col("a").between(lit(21i64), lit(30i64)), &s));
        assert!(may(col("a").between(lit(0i64), lit(10i64)), &s));
        assert!(!may(col("a").isin(vec![lit(1i64), lit(30i64)]), &s));
        assert!(may(col("a").isin(vec![lit(1i64), lit(15i64)]), &s));
        assert!(!may(col("a").is_null(), &s));
        let mut all_null = ColumnStats {
            null_count: Some(10),
            row_count: Some(10),
            ..Default::default()
        };
        assert!(may(col("a").is_null(), &all_null));
        assert!(!may(col("a").is_not_null(), &all_null));
        assert!(!may(col("a").eq(lit(1i64)), &all_null));
        all_null.null_count = None;
        assert!(may(col("a").eq(lit(1i64)), &all_null));
    }

    #[test]
    fn unknown_shapes_and_types_prune_nothing() {
        assert!(extract_predicates(&[col("a").like(lit("x%"))]).is_empty());
        // a float literal that does not fit the integer column exactly prunes nothing
        assert!(may(col("a").lt(lit(10.5)), &stats(10, 20)));
        // text literal against an integer column: engine semantics may differ, no pruning
        assert!(may(col("a").eq(lit("5")), &stats(10, 20)));
        // unknown bounds
        assert!(may(col("a").eq(lit(5i64)), &ColumnStats::default()));
    }

    #[test]
    fn dates_and_decimals() {
        let s = ColumnStats {
            min: Some(ScalarValue::Date32(Some(10_000))),
            max: Some(ScalarValue::Date32(Some(10_100))),
            null_count: None,
            row_count: Some(5),
            nan_free: true,
        };
        let p = &extract_predicates(&[col("d").lt(lit("1990-01-01"))])[0];
        assert!(!p.may_match(&DataType::Date32, &s)); // 1990-01-01 is day 7305
        let p = &extract_predicates(&[col("d").gt(lit("1990-01-01"))])[0];
        assert!(p.may_match(&DataType::Date32, &s));
        let dec = ColumnStats {
            min: Some(ScalarValue::Decimal128(Some(500), 15, 2)),
            max: Some(ScalarValue::Decimal128(Some(700), 15, 2)),
            null_count: Some(0),
            row_count: Some(5),
            nan_free: true,
        };
        let dt = DataType::Decimal128(15, 2);
        let p = &extract_predicates(&[col("x").lt(lit(5i64))])[0];
        assert!(!p.may_match(&dt, &dec));
        let p = &extract_predicates(&[col("x").lt_eq(lit(5.0))])[0];
        assert!(p.may_match(&dt, &dec));
        let p = &extract_predicates(&[col("x").gt(lit(7.0))])[0];
        assert!(!p.may_match(&dt, &dec));
    }
}
