//! DataFrame methods: reshape (see the parent module).
//!
//! `concat` (rows of several frames, columns matched by name), `melt` (wide to long, a union
//! of projections) and `pivot_table` (long to wide, one filtered aggregate per output column).

use std::sync::Arc;

use arrow::datatypes::DataType;
use rask_common::{plan_err, Result, ScalarValue};
use rask_expr::type_coercion::{comparison_type, is_numeric, is_string};
use rask_expr::{col, lit, AggFunc, Expr, LogicalPlan, LogicalPlanBuilder, Union};

use super::DataFrame;

/// Distinct values of a `pivot_table` column beyond which it refuses (each becomes a column).
const MAX_PIVOT_COLUMNS: usize = 10_000;

/// The type a column gets when values of types `a` and `b` meet in one column (`concat`,
/// `melt`): SQL's UNION rule, except that text never mixes with numbers or times (pandas
/// would make an `object` column; rask asks for an explicit cast).
fn stack_type(a: &DataType, b: &DataType) -> Option<DataType> {
    let text = |t: &DataType| match t {
        DataType::Dictionary(_, v) => is_string(v),
        t => is_string(t),
    };
    if a != &DataType::Null && b != &DataType::Null && text(a) != text(b) {
        return None;
    }
    comparison_type(a, b)
}

/// A typed NULL (`CAST(NULL AS t)`).
fn null_of(t: &DataType) -> Expr {
    Expr::Literal(ScalarValue::Null).cast(t.clone())
}

/// `e` cast to `t` unless it already has that type.
fn cast_if(e: Expr, from: &DataType, t: &DataType) -> Expr {
    if from == t {
        e
    } else {
        e.cast(t.clone())
    }
}

/// UNION ALL of plans with identical column names and types.
fn union_all(mut plans: Vec<Arc<LogicalPlan>>) -> Result<Arc<LogicalPlan>> {
    match plans.len() {
        0 => plan_err!("union of no inputs"),
        1 => plans
            .pop()
            .map_or_else(|| plan_err!("union of no inputs"), Ok),
        _ => Ok(Arc::new(LogicalPlan::Union(Union::try_new(plans)?))),
    }
}

impl DataFrame {
    /// Stacks the rows of `frames` (pandas' `pd.concat(frames)`, Dask's `dd.concat`): the
    /// output has every column of any frame, in order of first appearance; a frame without a
    /// column contributes NULLs there. A column's type is the common type of its inputs
    /// (integers of any width widen to BIGINT, integers and floats to DOUBLE, as SQL's UNION);
    /// text and numbers do not mix. The partitions of all frames follow one another, so the
    /// output has as many partitions as the inputs together.
    ///
    /// ```
    /// use rask::{DataFrame, SessionContext};
    /// # fn main() -> rask::Result<()> {
    /// let ctx = SessionContext::new();
    /// let a = ctx.sql("SELECT * FROM (VALUES (1, 'x')) t(k, s)")?;
    /// let b = ctx.sql("SELECT * FROM (VALUES (2.5, 10)) t(k, n)")?;
    /// let both = DataFrame::concat(&[a, b])?;
    /// assert_eq!(both.columns(), vec!["k", "s", "n"]);
    /// assert_eq!(both.count()?, 2); // k is DOUBLE; s and n are NULL where missing
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// No frames; a column whose types do not combine (say VARCHAR in one frame and BIGINT in
    /// another: cast one with `astype` first); duplicate column names within a frame.
    pub fn concat(frames: &[DataFrame]) -> Result<DataFrame> {
        let Some(first) = frames.first() else {
            return plan_err!("concat: give at least one frame");
        };
        // Output columns: (name, type) in order of first appearance.
        let mut out: Vec<(String, DataType)> = Vec::new();
        for (i, f) in frames.iter().enumerate() {
            let schema = f.schema();
            let mut seen: Vec<&str> = Vec::new();
            for field in schema.fields() {
                let name = field.name();
                if seen.contains(&name.as_str()) {
                    return plan_err!(
                        "concat: frame {} has two columns named '{name}'; rename one",
                        i + 1
                    );
                }
                seen.push(name);
                match out.iter_mut().find(|(n, _)| n == name) {
                    Some((_, t)) => {
                        *t = match stack_type(t, field.data_type()) {
                            Some(c) => c,
                            None => {
                                return plan_err!(
                                    "concat: column '{name}' is {t} in an earlier frame but {} \
                                     in frame {}; cast one of them with astype",
                                    field.data_type(),
                                    i + 1
                                )
                            }
                        }
                    }
                    None => out.push((name.clone(), field.data_type().clone())),
                }
            }
        }
        let mut plans = Vec::with_capacity(frames.len());
        for f in frames {
            let schema = f.plan.schema();
            let exprs = out
                .iter()
                .map(|(name, t)| {
                    let found = (0..schema.len()).find(|&i| schema.field(i).name() == name);
                    match found {
                        Some(i) => cast_if(
                            Expr::Column(schema.column(i)),
                            schema.field(i).data_type(),
                            t,
                        ),
                        None => null_of(t),
                    }
                    .alias(name.as_str())
                })
                .collect();
            plans.push(f.builder().project(exprs)?.build());
        }
        Ok(first.with_plan(union_all(plans)?))
    }

    /// Unpivots from wide to long (pandas' `melt`): for each column of `value_vars` (all
    /// columns other than `id_vars` when empty), one row per input row with the `id_vars`,
    /// the column's name in `var_name` and its value in `value_name`. Rows come column by
    /// column (all rows of the first value column, then the second...), as pandas. The value
    /// columns must share a type family (numbers, text, or times).
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES ('a', 1, 2.5), ('b', 3, NULL)) t(id, x, y)")?;
    /// let long = df.melt(&["id"], &["x", "y"], "variable", "value")?;
    /// assert_eq!(long.columns(), vec!["id", "variable", "value"]);
    /// assert_eq!(long.count()?, 4); // value is DOUBLE
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// Unknown columns; no value columns; value columns whose types do not combine;
    /// `var_name`/`value_name` clashing with an id column.
    pub fn melt(
        &self,
        id_vars: &[&str],
        value_vars: &[&str],
        var_name: &str,
        value_name: &str,
    ) -> Result<DataFrame> {
        self.check_columns("melt", id_vars)?;
        self.check_columns("melt", value_vars)?;
        let schema = self.schema();
        let values: Vec<String> = if value_vars.is_empty() {
            schema
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .filter(|n| !id_vars.contains(&n.as_str()))
                .collect()
        } else {
            value_vars.iter().map(|v| v.to_string()).collect()
        };
        if values.is_empty() {
            return plan_err!("melt: no value columns (every column is an id column)");
        }
        for n in [var_name, value_name] {
            if id_vars.contains(&n) {
                return plan_err!("melt: '{n}' is both an id column and an output name");
            }
        }
        if var_name == value_name {
            return plan_err!("melt: var_name and value_name are both '{var_name}'");
        }
        let mut value_type = DataType::Null;
        for v in &values {
            let t = schema.field_with_name(v)?.data_type();
            value_type = match stack_type(&value_type, t) {
                Some(c) => c,
                None => {
                    return plan_err!(
                        "melt: value column '{v}' is {t} but earlier value columns are \
                         {value_type}; cast them to one type with astype"
                    )
                }
            };
        }
        let mut plans = Vec::with_capacity(values.len());
        for v in &values {
            let mut exprs: Vec<Expr> = id_vars.iter().map(|i| col(i)).collect();
            exprs.push(lit(v.as_str()).alias(var_name));
            let t = schema.field_with_name(v)?.data_type();
            exprs.push(cast_if(col(v), t, &value_type).alias(value_name));
            plans.push(self.builder().project(exprs)?.build());
        }
        Ok(self.with_plan(union_all(plans)?))
    }

    /// Spreads from long to wide (pandas' `pivot_table(index, columns, values, aggfunc)`):
    /// one row per distinct `index` combination, one column per distinct non-NULL value of
    /// `columns` (named by the value, sorted ascending), holding `aggfunc` of `values` over
    /// the rows of that cell. `aggfunc` is one of `mean`, `sum`, `count`, `min`, `max`,
    /// `median`, `std`, `var`, `first`, `last`. Rows are sorted by `index`.
    ///
    /// **Not lazy in one respect**: the output columns depend on the data, so this runs a
    /// query for the distinct values of `columns` at once (Dask instead requires a categorical
    /// column with known categories). The aggregation itself stays lazy.
    ///
    /// A cell without rows is NULL (pandas: NaN), including for `count`; rows whose `columns`
    /// value is NULL are dropped (pandas' `dropna=True`). Unlike pandas, a cell whose rows
    /// all hold NULL `values` gives SQL's NULL for `sum` (pandas: 0), and index rows whose
    /// cells are all NULL are kept.
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql(
    ///     "SELECT * FROM (VALUES ('north', 'q1', 10), ('north', 'q2', 5), ('south', 'q1', 7), \
    ///      ('north', 'q1', 1)) t(region, quarter, sales)",
    /// )?;
    /// let wide = df.pivot_table(&["region"], "quarter", "sales", "sum")?;
    /// assert_eq!(wide.columns(), vec!["region", "q1", "q2"]);
    /// println!("{wide}"); // north: 11, 5; south: 7, NULL
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// Unknown columns or `aggfunc`; more than 10,000 distinct values of `columns`; a value of
    /// `columns` naming an `index` column; errors of the distinct-values query.
    pub fn pivot_table(
        &self,
        index: &[&str],
        columns: &str,
        values: &str,
        aggfunc: &str,
    ) -> Result<DataFrame> {
        self.check_columns("pivot_table", index)?;
        self.check_columns("pivot_table", &[columns, values])?;
        let func = match aggfunc {
            "mean" | "avg" => AggFunc::Avg,
            "sum" => AggFunc::Sum,
            "count" => AggFunc::Count,
            "min" => AggFunc::Min,
            "max" => AggFunc::Max,
            "median" => AggFunc::Median,
            "std" => AggFunc::StddevSamp,
            "var" => AggFunc::VarSamp,
            "first" => AggFunc::First,
            "last" => AggFunc::Last,
            other => {
                return plan_err!(
                    "pivot_table: unknown aggfunc '{other}'; use mean, sum, count, min, max, \
                     median, std, var, first or last"
                )
            }
        };
        let vt = self.schema().field_with_name(values)?.data_type().clone();
        if matches!(
            func,
            AggFunc::Avg | AggFunc::Sum | AggFunc::Median | AggFunc::StddevSamp | AggFunc::VarSamp
        ) && !is_numeric(&vt)
        {
            return plan_err!(
                "pivot_table: aggfunc '{aggfunc}' needs numeric values; '{values}' is {vt}"
            );
        }
        if index.contains(&columns) || index.contains(&values) || columns == values {
            return plan_err!("pivot_table: index, columns and values must be different columns");
        }
        // The distinct values, eagerly (the output schema depends on them).
        let distinct = self
            .select(vec![col(columns)])?
            .filter(col(columns).is_not_null())?
            .drop_duplicates()
            .sort_values(&[columns], true)?
            .collect()?;
        let mut keys: Vec<ScalarValue> = Vec::new();
        for b in &distinct {
            for r in 0..b.num_rows() {
                keys.push(ScalarValue::try_from_array(b.column(0).as_ref(), r)?);
                if keys.len() > MAX_PIVOT_COLUMNS {
                    return plan_err!(
                        "pivot_table: column '{columns}' has more than {MAX_PIVOT_COLUMNS} \
                         distinct values; each would become a column"
                    );
                }
            }
        }
        let names: Vec<String> = keys.iter().map(pivot_name).collect();
        for n in &names {
            if index.contains(&n.as_str()) {
                return plan_err!(
                    "pivot_table: value '{n}' of '{columns}' would name the same column as an \
                     index column; rename the index column"
                );
            }
        }
        // Per cell: the filtered aggregate, and a filtered count(*) telling empty cells
        // (NULL, as pandas) from cells of NULL values.
        let mut aggs = Vec::with_capacity(2 * keys.len());
        for k in &keys {
            let is_cell = Box::new(col(columns).eq(Expr::Literal(k.clone())));
            aggs.push(Expr::AggregateFunction {
                func,
                args: vec![col(values)],
                distinct: false,
                filter: Some(is_cell.clone()),
            });
            if func == AggFunc::Count {
                aggs.push(Expr::AggregateFunction {
                    func: AggFunc::CountStar,
                    args: vec![],
                    distinct: false,
                    filter: Some(is_cell),
                });
            }
        }
        let group: Vec<Expr> = index.iter().map(|i| col(i)).collect();
        let agg = self
            .filter(col(columns).is_not_null())?
            .builder()
            .aggregate(group, aggs)?
            .build();
        let s = Arc::clone(agg.schema());
        let mut out: Vec<Expr> = (0..index.len())
            .map(|i| Expr::Column(s.column(i)))
            .collect();
        let per = if func == AggFunc::Count { 2 } else { 1 };
        for (j, name) in names.iter().enumerate() {
            let value = Expr::Column(s.column(index.len() + per * j));
            let value = if func == AggFunc::Count {
                let rows = Expr::Column(s.column(index.len() + per * j + 1));
                Expr::Case {
                    operand: None,
                    when_then: vec![(rows.gt(lit(0i64)), value)],
                    else_expr: None,
                }
            } else {
                value
            };
            out.push(value.alias(name.as_str()));
        }
        let plan = LogicalPlanBuilder::from(agg).project(out)?.build();
        self.with_plan(plan).sort_values(index, true)
    }
}

/// The output column name of a pivoted value: its text, numbers without quotes.
fn pivot_name(v: &ScalarValue) -> String {
    match v {
        ScalarValue::Utf8(Some(s)) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stacking_types() {
        assert_eq!(
            stack_type(&DataType::Int32, &DataType::Int64),
            Some(DataType::Int64)
        );
        assert_eq!(
            stack_type(&DataType::Int64, &DataType::Float64),
            Some(DataType::Float64)
        );
        assert_eq!(stack_type(&DataType::Utf8, &DataType::Int64), None);
        assert_eq!(
            stack_type(&DataType::Null, &DataType::Utf8),
            Some(DataType::Utf8)
        );
    }
}
