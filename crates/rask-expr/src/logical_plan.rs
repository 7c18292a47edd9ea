//! Logical plans: what a query computes, independent of how.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use arrow::datatypes::{Field, SchemaRef};
use rask_common::{plan_err, Result, ScalarValue};

use crate::expr::{Column, Expr, SortExpr};
use crate::expr_type::case_result_type;
use crate::schema::{PlanSchema, PlanSchemaRef};
use crate::type_coercion::comparison_type;

/// A table the planner can scan. The facade implements it over files and memory, so the
/// logical layer never sees I/O.
pub trait TableSource: Send + Sync + fmt::Debug {
    /// The full schema of the table.
    fn schema(&self) -> SchemaRef;
    /// Downcasting hook for the physical planner.
    fn as_any(&self) -> &dyn Any;
    /// Number of row partitions.
    fn npartitions(&self) -> usize;
    /// Exact row count when known without scanning.
    fn num_rows(&self) -> Option<usize> {
        None
    }
    /// Whether the scan can use `filters` to skip data (row groups, files).
    fn supports_filter_pruning(&self) -> bool {
        false
    }
    /// The smallest and largest non-null value of column `column` (an index into
    /// [`TableSource::schema`]) when known without scanning (Parquet statistics).
    fn column_min_max(&self, _column: usize) -> Option<(ScalarValue, ScalarValue)> {
        None
    }
}

/// `FROM table`: reads (some columns of) a table.
#[derive(Debug, Clone)]
pub struct TableScan {
    /// The name the table is referred to by.
    pub table_name: String,
    /// The table.
    pub source: Arc<dyn TableSource>,
    /// Columns read, as indices into the table schema (`None`: all).
    pub projection: Option<Vec<usize>>,
    /// Predicates the scan may use to skip data. They are hints: a Filter above still applies
    /// them row by row.
    pub filters: Vec<Expr>,
    /// Stop after this many rows (no filter between the scan and the limit).
    pub fetch: Option<usize>,
    /// The output schema, qualified by `table_name`.
    pub schema: PlanSchemaRef,
}

impl TableScan {
    /// A scan of all columns.
    pub fn try_new(table_name: &str, source: Arc<dyn TableSource>) -> Result<Self> {
        let schema = Arc::new(PlanSchema::from_arrow(Some(table_name), &source.schema()));
        Ok(TableScan {
            table_name: table_name.to_string(),
            source,
            projection: None,
            filters: vec![],
            fetch: None,
            schema,
        })
    }

    /// The scan reading only `projection` (indices into the table schema).
    pub fn with_projection(mut self, projection: Option<Vec<usize>>) -> Self {
        let full = self.source.schema();
        let schema = match &projection {
            Some(p) => PlanSchema::new(
                p.iter()
                    .map(|i| {
                        (
                            Some(self.table_name.clone()),
                            Arc::new(full.field(*i).clone()),
                        )
                    })
                    .collect(),
            ),
            None => PlanSchema::from_arrow(Some(&self.table_name), &full),
        };
        self.schema = Arc::new(schema);
        self.projection = projection;
        self
    }
}

/// `SELECT exprs`
#[derive(Debug, Clone)]
pub struct Projection {
    /// Output expressions.
    pub exprs: Vec<Expr>,
    /// Input.
    pub input: Arc<LogicalPlan>,
    /// Output schema.
    pub schema: PlanSchemaRef,
}

impl Projection {
    /// Validates the expressions against the input and computes the schema.
    pub fn try_new(exprs: Vec<Expr>, input: Arc<LogicalPlan>) -> Result<Self> {
        let in_schema = input.schema();
        let fields = exprs
            .iter()
            .map(|e| {
                let qualifier = match e {
                    Expr::Column(c) => {
                        let i = in_schema.index_of_column(c)?;
                        in_schema.fields()[i].0.clone()
                    }
                    _ => None,
                };
                Ok((qualifier, Arc::new(e.to_field(in_schema)?)))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Projection {
            exprs,
            input,
            schema: Arc::new(PlanSchema::new(fields)),
        })
    }
}

/// `WHERE predicate`
#[derive(Debug, Clone)]
pub struct Filter {
    /// A BOOLEAN predicate; rows where it is not TRUE are dropped.
    pub predicate: Expr,
    /// Input.
    pub input: Arc<LogicalPlan>,
}

impl Filter {
    /// Validates that the predicate is BOOLEAN.
    pub fn try_new(predicate: Expr, input: Arc<LogicalPlan>) -> Result<Self> {
        let t = predicate.get_type(input.schema())?;
        if !matches!(
            t,
            arrow::datatypes::DataType::Boolean | arrow::datatypes::DataType::Null
        ) {
            return plan_err!("filter predicate '{predicate}' must be BOOLEAN, got {t}");
        }
        Ok(Filter { predicate, input })
    }
}

/// `GROUP BY group_exprs` computing `aggr_exprs`.
#[derive(Debug, Clone)]
pub struct Aggregate {
    /// Input.
    pub input: Arc<LogicalPlan>,
    /// Grouping keys (output first).
    pub group_exprs: Vec<Expr>,
    /// Aggregate calls, optionally aliased (output after the keys).
    pub aggr_exprs: Vec<Expr>,
    /// Output schema.
    pub schema: PlanSchemaRef,
}

impl Aggregate {
    /// Validates and computes the schema.
    pub fn try_new(
        input: Arc<LogicalPlan>,
        group_exprs: Vec<Expr>,
        aggr_exprs: Vec<Expr>,
    ) -> Result<Self> {
        let in_schema = input.schema();
        let mut fields = Vec::new();
        for e in &group_exprs {
            if e.contains_aggregate() {
                return plan_err!("aggregate functions are not allowed in GROUP BY: '{e}'");
            }
            let qualifier = match e {
                Expr::Column(c) => in_schema.fields()[in_schema.index_of_column(c)?].0.clone(),
                _ => None,
            };
            fields.push((qualifier, Arc::new(e.to_field(in_schema)?)));
        }
        for e in &aggr_exprs {
            if !matches!(e.unalias(), Expr::AggregateFunction { .. }) {
                return internal_aggr(e);
            }
            fields.push((None, Arc::new(e.to_field(in_schema)?)));
        }
        Ok(Aggregate {
            input,
            group_exprs,
            aggr_exprs,
            schema: Arc::new(PlanSchema::new(fields)),
        })
    }
}

fn internal_aggr<T>(e: &Expr) -> Result<T> {
    rask_common::internal_err!("aggregate node expression is not an aggregate call: {e}")
}

/// Window functions: `f(..) OVER (PARTITION BY .. ORDER BY .. frame)`, one output column per
/// call after the input's columns. Rows are neither added nor removed (their order is not
/// kept); `QUALIFY` is a Filter above this node.
#[derive(Debug, Clone)]
pub struct Window {
    /// Input.
    pub input: Arc<LogicalPlan>,
    /// Window function calls, optionally aliased.
    pub window_exprs: Vec<Expr>,
    /// Output schema: the input's fields, then one per call.
    pub schema: PlanSchemaRef,
}

impl Window {
    /// Validates the calls and computes the schema.
    pub fn try_new(input: Arc<LogicalPlan>, window_exprs: Vec<Expr>) -> Result<Self> {
        let in_schema = input.schema();
        let mut fields = in_schema.fields().to_vec();
        for e in &window_exprs {
            let Expr::WindowFunction(w) = e.unalias() else {
                return rask_common::internal_err!(
                    "window node expression is not a window call: {e}"
                );
            };
            for inner in w
                .args
                .iter()
                .chain(&w.partition_by)
                .chain(w.order_by.iter().map(|k| &k.expr))
            {
                if inner.contains_window() {
                    return plan_err!("window functions cannot be nested: '{e}'");
                }
                if inner.contains_aggregate() {
                    return rask_common::internal_err!(
                        "aggregate call below a window function was not computed first: {e}"
                    );
                }
            }
            fields.push((None, Arc::new(e.to_field(in_schema)?)));
        }
        Ok(Window {
            input,
            window_exprs,
            schema: Arc::new(PlanSchema::new(fields)),
        })
    }
}

/// `ORDER BY exprs [LIMIT fetch]`
#[derive(Debug, Clone)]
pub struct Sort {
    /// Keys.
    pub exprs: Vec<SortExpr>,
    /// Input.
    pub input: Arc<LogicalPlan>,
    /// Keep only the first `fetch` rows (Top-K).
    pub fetch: Option<usize>,
}

/// `LIMIT fetch OFFSET skip`
#[derive(Debug, Clone)]
pub struct Limit {
    /// Rows skipped.
    pub skip: usize,
    /// Rows kept after skipping (`None`: all).
    pub fetch: Option<usize>,
    /// Input.
    pub input: Arc<LogicalPlan>,
}

/// `UNION ALL` of inputs with the same column types.
#[derive(Debug, Clone)]
pub struct Union {
    /// Inputs (at least two).
    pub inputs: Vec<Arc<LogicalPlan>>,
    /// Output schema (names of the first input).
    pub schema: PlanSchemaRef,
}

impl Union {
    /// Checks that the inputs line up and computes the common column types. Inputs whose types
    /// differ get a casting projection.
    pub fn try_new(inputs: Vec<Arc<LogicalPlan>>) -> Result<Self> {
        let first = inputs[0].schema();
        for (i, inp) in inputs.iter().enumerate().skip(1) {
            if inp.schema().len() != first.len() {
                return plan_err!(
                    "set operation inputs have different column counts: {} and {} (input {})",
                    first.len(),
                    inp.schema().len(),
                    i + 1
                );
            }
        }
        let mut fields = Vec::new();
        for c in 0..first.len() {
            let mut t = first.field(c).data_type().clone();
            let mut nullable = false;
            for inp in &inputs {
                let f = inp.schema().field(c);
                nullable |= f.is_nullable();
                t = match comparison_type(&t, f.data_type()) {
                    Some(t) => t,
                    None => {
                        return plan_err!(
                            "set operation column {} has incompatible types {t} and {}",
                            c + 1,
                            f.data_type()
                        )
                    }
                };
            }
            fields.push((
                None,
                Arc::new(Field::new(first.field(c).name(), t, nullable)),
            ));
        }
        let schema = Arc::new(PlanSchema::new(fields));
        let inputs = inputs
            .into_iter()
            .map(|inp| cast_to_schema(inp, &schema))
            .collect::<Result<Vec<_>>>()?;
        Ok(Union { inputs, schema })
    }
}

/// Wraps `plan` in a projection casting its columns to `schema`'s types, when they differ.
pub fn cast_to_schema(plan: Arc<LogicalPlan>, schema: &PlanSchema) -> Result<Arc<LogicalPlan>> {
    let in_schema = plan.schema();
    let same =
        (0..schema.len()).all(|i| in_schema.field(i).data_type() == schema.field(i).data_type());
    if same {
        return Ok(plan);
    }
    let exprs = (0..schema.len())
        .map(|i| {
            let c = Expr::Column(in_schema.column(i));
            let name = in_schema.field(i).name().clone();
            if in_schema.field(i).data_type() == schema.field(i).data_type() {
                c
            } else {
                c.cast(schema.field(i).data_type().clone()).alias(name)
            }
        })
        .collect();
    Ok(Arc::new(LogicalPlan::Projection(Projection::try_new(
        exprs, plan,
    )?)))
}

/// `VALUES (..), (..)`
#[derive(Debug, Clone)]
pub struct Values {
    /// Output schema.
    pub schema: PlanSchemaRef,
    /// Rows of constant expressions.
    pub rows: Vec<Vec<Expr>>,
}

impl Values {
    /// Computes column types across rows (`column1`, `column2`, ... names).
    pub fn try_new(rows: Vec<Vec<Expr>>) -> Result<Self> {
        let width = rows.first().map_or(0, |r| r.len());
        if rows.iter().any(|r| r.len() != width) {
            return plan_err!("VALUES rows must all have {width} values");
        }
        let empty = PlanSchema::empty();
        let mut fields = Vec::new();
        for c in 0..width {
            let t = case_result_type(rows.iter().map(|r| &r[c]), &empty)?;
            let t = if t == arrow::datatypes::DataType::Null {
                arrow::datatypes::DataType::Int64
            } else {
                t
            };
            fields.push((
                None,
                Arc::new(Field::new(format!("column{}", c + 1), t, true)),
            ));
        }
        Ok(Values {
            schema: Arc::new(PlanSchema::new(fields)),
            rows,
        })
    }
}

/// `(subquery) AS alias`: re-qualifies the input's columns.
#[derive(Debug, Clone)]
pub struct SubqueryAlias {
    /// Input.
    pub input: Arc<LogicalPlan>,
    /// The alias.
    pub alias: String,
    /// Input schema re-qualified.
    pub schema: PlanSchemaRef,
}

impl SubqueryAlias {
    /// Re-qualifies `input` as `alias`.
    pub fn new(input: Arc<LogicalPlan>, alias: &str) -> Self {
        let schema = Arc::new(input.schema().with_qualifier(alias));
        SubqueryAlias {
            input,
            alias: alias.to_string(),
            schema,
        }
    }
}

/// A relation with no columns and zero or one row (`SELECT 1` reads one row of it).
#[derive(Debug, Clone)]
pub struct EmptyRelation {
    /// One row (true) or none.
    pub produce_one_row: bool,
    /// Schema (usually empty).
    pub schema: PlanSchemaRef,
}

/// How a join combines its inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JoinType {
    /// Matching pairs.
    Inner,
    /// Matching pairs, plus left rows without a match (right columns NULL).
    Left,
    /// Matching pairs, plus right rows without a match (left columns NULL).
    Right,
    /// Left, right and matching rows.
    Full,
    /// Left rows with at least one match (left columns only).
    LeftSemi,
    /// Left rows without a match (left columns only).
    LeftAnti,
    /// `NOT IN (subquery)`: left rows without a match where NULLs poison the answer: no row
    /// when the right side has a NULL key; a left row with a NULL key is kept only when the
    /// right side is empty (left columns only; single key).
    LeftAntiNullAware,
    /// Right rows with at least one match (right columns only).
    RightSemi,
    /// Right rows without a match (right columns only).
    RightAnti,
}

impl JoinType {
    /// Whether the output has the left input's columns.
    pub fn keeps_left(&self) -> bool {
        !matches!(self, JoinType::RightSemi | JoinType::RightAnti)
    }
    /// Whether the output has the right input's columns.
    pub fn keeps_right(&self) -> bool {
        !matches!(
            self,
            JoinType::LeftSemi | JoinType::LeftAnti | JoinType::LeftAntiNullAware
        )
    }
}

impl fmt::Display for JoinType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            JoinType::Inner => "Inner",
            JoinType::Left => "Left",
            JoinType::Right => "Right",
            JoinType::Full => "Full",
            JoinType::LeftSemi => "LeftSemi",
            JoinType::LeftAnti => "LeftAnti",
            JoinType::LeftAntiNullAware => "LeftAntiNullAware",
            JoinType::RightSemi => "RightSemi",
            JoinType::RightAnti => "RightAnti",
        };
        f.write_str(s)
    }
}

/// `left JOIN right ON l1 = r1 AND ... [AND filter]`; no `on` pairs and no filter is a cross
/// join.
#[derive(Debug, Clone)]
pub struct Join {
    /// Left input.
    pub left: Arc<LogicalPlan>,
    /// Right input.
    pub right: Arc<LogicalPlan>,
    /// Equi-join keys: (expression over left, expression over right), compared with `=`
    /// (NULL never matches).
    pub on: Vec<(Expr, Expr)>,
    /// Extra condition over both sides' columns, applied to the pairs that match `on`.
    pub filter: Option<Expr>,
    /// The join type.
    pub join_type: JoinType,
    /// Output schema.
    pub schema: PlanSchemaRef,
}

impl Join {
    /// Validates keys and filter and computes the schema (outer sides become nullable).
    pub fn try_new(
        left: Arc<LogicalPlan>,
        right: Arc<LogicalPlan>,
        on: Vec<(Expr, Expr)>,
        filter: Option<Expr>,
        join_type: JoinType,
    ) -> Result<Self> {
        let (ls, rs) = (left.schema(), right.schema());
        for (l, r) in &on {
            let lt = l.get_type(ls)?;
            let rt = r.get_type(rs)?;
            if comparison_type(&lt, &rt).is_none() {
                return plan_err!("cannot join on {l} = {r}: {lt} and {rt} are not comparable");
            }
        }
        let nullable = |s: &PlanSchema| {
            PlanSchema::new(
                s.fields()
                    .iter()
                    .map(|(q, f)| (q.clone(), Arc::new(f.as_ref().clone().with_nullable(true))))
                    .collect(),
            )
        };
        let schema = match join_type {
            JoinType::Inner => ls.join(rs),
            JoinType::Left => ls.join(&nullable(rs)),
            JoinType::Right => nullable(ls).join(rs),
            JoinType::Full => nullable(ls).join(&nullable(rs)),
            JoinType::LeftSemi | JoinType::LeftAnti | JoinType::LeftAntiNullAware => {
                ls.as_ref().clone()
            }
            JoinType::RightSemi | JoinType::RightAnti => rs.as_ref().clone(),
        };
        if let Some(f) = &filter {
            let both = ls.join(rs);
            let t = f.get_type(&both)?;
            if !matches!(
                t,
                arrow::datatypes::DataType::Boolean | arrow::datatypes::DataType::Null
            ) {
                return plan_err!("join condition '{f}' must be BOOLEAN, got {t}");
            }
        }
        Ok(Join {
            left,
            right,
            on,
            filter,
            join_type,
            schema: Arc::new(schema),
        })
    }
}

// --- branch `partition`: Repartition and MapPartitions (issue #5) ---

/// How [`Repartition`] routes rows to output partitions.
#[derive(Debug, Clone)]
pub enum RepartitionScheme {
    /// `n` partitions of nearly equal row counts, rows in input order (Dask's
    /// `repartition(npartitions=n)`).
    RoundRobin(usize),
    /// Rows with equal values of the expressions go to the same one of `n` partitions.
    Hash(Vec<Expr>, usize),
    /// Partition `i` holds the rows with `bounds[i-1] <= expr < bounds[i]` (`bounds` sorted
    /// ascending, `bounds.len() + 1` partitions); NULLs go to the last partition.
    Range {
        /// The key.
        expr: Expr,
        /// Ascending split points.
        bounds: Vec<ScalarValue>,
    },
}

impl RepartitionScheme {
    /// Number of output partitions.
    pub fn partition_count(&self) -> usize {
        match self {
            RepartitionScheme::RoundRobin(n) | RepartitionScheme::Hash(_, n) => (*n).max(1),
            RepartitionScheme::Range { bounds, .. } => bounds.len() + 1,
        }
    }
}

/// Redistributes rows among partitions (a shuffle); the rows themselves are unchanged.
#[derive(Debug, Clone)]
pub struct Repartition {
    /// Input.
    pub input: Arc<LogicalPlan>,
    /// How rows are routed.
    pub scheme: RepartitionScheme,
}

impl Repartition {
    /// Validates the key expressions against the input.
    pub fn try_new(input: Arc<LogicalPlan>, scheme: RepartitionScheme) -> Result<Self> {
        match &scheme {
            RepartitionScheme::RoundRobin(_) => {}
            RepartitionScheme::Hash(exprs, _) => {
                for e in exprs {
                    e.get_type(input.schema())?;
                }
            }
            RepartitionScheme::Range { expr, bounds } => {
                expr.get_type(input.schema())?;
                if bounds.iter().any(|b| b.is_null()) {
                    return plan_err!("range partition bounds cannot be NULL");
                }
            }
        }
        Ok(Repartition { input, scheme })
    }
}

/// A function from all the rows of one partition (one batch) to a batch of a declared schema.
pub type PartitionFn =
    Arc<dyn Fn(arrow::array::RecordBatch) -> Result<arrow::array::RecordBatch> + Send + Sync>;

/// Calls a user function once per partition (Dask's `map_partitions`); the output schema is
/// declared, so planning never runs user code.
#[derive(Clone)]
pub struct MapPartitions {
    /// Input.
    pub input: Arc<LogicalPlan>,
    /// The function.
    pub func: PartitionFn,
    /// A name for EXPLAIN and errors.
    pub name: String,
    /// The declared output schema.
    pub schema: PlanSchemaRef,
}

impl fmt::Debug for MapPartitions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MapPartitions")
            .field("name", &self.name)
            .field("input", &self.input)
            .finish()
    }
}

impl MapPartitions {
    /// `func` over `input`, declared to return batches of `schema`.
    pub fn new(input: Arc<LogicalPlan>, func: PartitionFn, name: &str, schema: SchemaRef) -> Self {
        MapPartitions {
            input,
            func,
            name: name.to_string(),
            schema: Arc::new(PlanSchema::from_arrow(None, &schema)),
        }
    }
}

// --- end branch `partition` ---

/// A logical plan node.
#[derive(Debug, Clone)]
pub enum LogicalPlan {
    /// Read a table.
    TableScan(TableScan),
    /// Compute expressions per row.
    Projection(Projection),
    /// Keep rows matching a predicate.
    Filter(Filter),
    /// Group and aggregate.
    Aggregate(Aggregate),
    /// Order rows.
    Sort(Sort),
    /// Skip and fetch rows.
    Limit(Limit),
    /// Remove duplicate rows.
    Distinct(Arc<LogicalPlan>),
    /// Concatenate inputs.
    Union(Union),
    /// Literal rows.
    Values(Values),
    /// Rename the relation.
    SubqueryAlias(SubqueryAlias),
    /// No input.
    EmptyRelation(EmptyRelation),
    /// Combine two inputs.
    Join(Join),
    /// Compute window functions.
    Window(Window),
    /// Redistribute rows among partitions (branch `partition`).
    Repartition(Repartition),
    /// Call a function per partition (branch `partition`).
    MapPartitions(MapPartitions),
}

impl LogicalPlan {
    /// The output schema.
    pub fn schema(&self) -> &PlanSchemaRef {
        match self {
            LogicalPlan::TableScan(s) => &s.schema,
            LogicalPlan::Projection(p) => &p.schema,
            LogicalPlan::Filter(f) => f.input.schema(),
            LogicalPlan::Aggregate(a) => &a.schema,
            LogicalPlan::Sort(s) => s.input.schema(),
            LogicalPlan::Limit(l) => l.input.schema(),
            LogicalPlan::Distinct(i) => i.schema(),
            LogicalPlan::Union(u) => &u.schema,
            LogicalPlan::Values(v) => &v.schema,
            LogicalPlan::SubqueryAlias(s) => &s.schema,
            LogicalPlan::EmptyRelation(e) => &e.schema,
            LogicalPlan::Join(j) => &j.schema,
            LogicalPlan::Window(w) => &w.schema,
            LogicalPlan::Repartition(r) => r.input.schema(),
            LogicalPlan::MapPartitions(m) => &m.schema,
        }
    }

    /// The direct inputs.
    pub fn inputs(&self) -> Vec<&Arc<LogicalPlan>> {
        match self {
            LogicalPlan::TableScan(_) | LogicalPlan::Values(_) | LogicalPlan::EmptyRelation(_) => {
                vec![]
            }
            LogicalPlan::Projection(p) => vec![&p.input],
            LogicalPlan::Filter(f) => vec![&f.input],
            LogicalPlan::Aggregate(a) => vec![&a.input],
            LogicalPlan::Sort(s) => vec![&s.input],
            LogicalPlan::Limit(l) => vec![&l.input],
            LogicalPlan::Distinct(i) => vec![i],
            LogicalPlan::Union(u) => u.inputs.iter().collect(),
            LogicalPlan::SubqueryAlias(s) => vec![&s.input],
            LogicalPlan::Join(j) => vec![&j.left, &j.right],
            LogicalPlan::Window(w) => vec![&w.input],
            LogicalPlan::Repartition(r) => vec![&r.input],
            LogicalPlan::MapPartitions(m) => vec![&m.input],
        }
    }

    /// The same node over new inputs (schemas recomputed where they derive from the inputs).
    pub fn with_new_inputs(&self, mut inputs: Vec<Arc<LogicalPlan>>) -> Result<LogicalPlan> {
        let mut next = || {
            if inputs.is_empty() {
                rask_common::internal_err!("with_new_inputs: too few inputs")
            } else {
                Ok(inputs.remove(0))
            }
        };
        Ok(match self {
            LogicalPlan::TableScan(_) | LogicalPlan::Values(_) | LogicalPlan::EmptyRelation(_) => {
                self.clone()
            }
            LogicalPlan::Projection(p) => {
                LogicalPlan::Projection(Projection::try_new(p.exprs.clone(), next()?)?)
            }
            LogicalPlan::Filter(f) => LogicalPlan::Filter(Filter {
                predicate: f.predicate.clone(),
                input: next()?,
            }),
            LogicalPlan::Aggregate(a) => LogicalPlan::Aggregate(Aggregate::try_new(
                next()?,
                a.group_exprs.clone(),
                a.aggr_exprs.clone(),
            )?),
            LogicalPlan::Sort(s) => LogicalPlan::Sort(Sort {
                exprs: s.exprs.clone(),
                input: next()?,
                fetch: s.fetch,
            }),
            LogicalPlan::Limit(l) => LogicalPlan::Limit(Limit {
                skip: l.skip,
                fetch: l.fetch,
                input: next()?,
            }),
            LogicalPlan::Distinct(_) => LogicalPlan::Distinct(next()?),
            LogicalPlan::Union(u) => {
                let n = u.inputs.len();
                let ins = (0..n).map(|_| next()).collect::<Result<Vec<_>>>()?;
                LogicalPlan::Union(Union {
                    inputs: ins,
                    schema: Arc::clone(&u.schema),
                })
            }
            LogicalPlan::SubqueryAlias(s) => {
                LogicalPlan::SubqueryAlias(SubqueryAlias::new(next()?, &s.alias))
            }
            LogicalPlan::Join(j) => {
                let left = next()?;
                let right = next()?;
                LogicalPlan::Join(Join::try_new(
                    left,
                    right,
                    j.on.clone(),
                    j.filter.clone(),
                    j.join_type,
                )?)
            }
            LogicalPlan::Window(w) => {
                LogicalPlan::Window(Window::try_new(next()?, w.window_exprs.clone())?)
            }
            LogicalPlan::Repartition(r) => {
                LogicalPlan::Repartition(Repartition::try_new(next()?, r.scheme.clone())?)
            }
            LogicalPlan::MapPartitions(m) => LogicalPlan::MapPartitions(MapPartitions {
                input: next()?,
                ..m.clone()
            }),
        })
    }

    /// Rewrites the plan bottom-up with `f`.
    pub fn transform_up(
        plan: Arc<LogicalPlan>,
        f: &mut dyn FnMut(LogicalPlan) -> Result<LogicalPlan>,
    ) -> Result<Arc<LogicalPlan>> {
        let inputs = plan
            .inputs()
            .into_iter()
            .map(|i| LogicalPlan::transform_up(Arc::clone(i), f))
            .collect::<Result<Vec<_>>>()?;
        let node = if inputs.is_empty() {
            (*plan).clone()
        } else {
            plan.with_new_inputs(inputs)?
        };
        Ok(Arc::new(f(node)?))
    }

    /// The plan as indented text, one node per line (used by EXPLAIN).
    pub fn display_indent(&self) -> String {
        self.display_indent_annotated(&|_| String::new())
    }

    /// [`LogicalPlan::display_indent`] with `annotate(node)` appended to each node's line
    /// (EXPLAIN's estimated rows).
    pub fn display_indent_annotated(&self, annotate: &dyn Fn(&LogicalPlan) -> String) -> String {
        let mut out = String::new();
        self.fmt_indent(&mut out, 0, annotate);
        out
    }

    fn fmt_indent(
        &self,
        out: &mut String,
        depth: usize,
        annotate: &dyn Fn(&LogicalPlan) -> String,
    ) {
        out.push_str(&"  ".repeat(depth));
        out.push_str(&self.node_line());
        out.push_str(&annotate(self));
        out.push('\n');
        for i in self.inputs() {
            i.fmt_indent(out, depth + 1, annotate);
        }
    }

    fn node_line(&self) -> String {
        let list = |v: &[Expr]| {
            v.iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            LogicalPlan::TableScan(s) => {
                let mut line = format!("TableScan: {}", s.table_name);
                if let Some(p) = &s.projection {
                    let full = s.source.schema();
                    let names: Vec<&str> =
                        p.iter().map(|i| full.field(*i).name().as_str()).collect();
                    line.push_str(&format!(" projection=[{}]", names.join(", ")));
                }
                if !s.filters.is_empty() {
                    line.push_str(&format!(" filters=[{}]", list(&s.filters)));
                }
                if let Some(n) = s.fetch {
                    line.push_str(&format!(" fetch={n}"));
                }
                line
            }
            LogicalPlan::Projection(p) => format!("Projection: {}", list(&p.exprs)),
            LogicalPlan::Filter(f) => format!("Filter: {}", f.predicate),
            LogicalPlan::Aggregate(a) => format!(
                "Aggregate: groupBy=[{}], aggr=[{}]",
                list(&a.group_exprs),
                list(&a.aggr_exprs)
            ),
            LogicalPlan::Sort(s) => {
                let keys: Vec<String> = s
                    .exprs
                    .iter()
                    .map(|k| {
                        format!(
                            "{} {} NULLS {}",
                            k.expr,
                            if k.asc { "ASC" } else { "DESC" },
                            if k.nulls_first { "FIRST" } else { "LAST" }
                        )
                    })
                    .collect();
                match s.fetch {
                    Some(n) => format!("Sort: {} fetch={n}", keys.join(", ")),
                    None => format!("Sort: {}", keys.join(", ")),
                }
            }
            LogicalPlan::Limit(l) => format!(
                "Limit: skip={}, fetch={}",
                l.skip,
                l.fetch.map_or("None".to_string(), |f| f.to_string())
            ),
            LogicalPlan::Distinct(_) => "Distinct".to_string(),
            LogicalPlan::Union(_) => "Union".to_string(),
            LogicalPlan::Values(v) => format!("Values: {} rows", v.rows.len()),
            LogicalPlan::SubqueryAlias(s) => format!("SubqueryAlias: {}", s.alias),
            LogicalPlan::EmptyRelation(e) => {
                format!("EmptyRelation: rows={}", usize::from(e.produce_one_row))
            }
            LogicalPlan::Window(w) => format!("Window: {}", list(&w.window_exprs)),
            LogicalPlan::Repartition(r) => match &r.scheme {
                RepartitionScheme::RoundRobin(n) => format!("Repartition: RoundRobin({n})"),
                RepartitionScheme::Hash(exprs, n) => {
                    format!("Repartition: Hash([{}], {n})", list(exprs))
                }
                RepartitionScheme::Range { expr, bounds } => {
                    format!(
                        "Repartition: Range({expr}, {} partitions)",
                        bounds.len() + 1
                    )
                }
            },
            LogicalPlan::MapPartitions(m) => format!("MapPartitions: {}", m.name),
            LogicalPlan::Join(j) => {
                let on =
                    j.on.iter()
                        .map(|(l, r)| format!("{l} = {r}"))
                        .collect::<Vec<_>>()
                        .join(", ");
                let mut line = if j.on.is_empty() && j.filter.is_none() {
                    format!("CrossJoin: {}", j.join_type)
                } else {
                    format!("Join: {} on=[{on}]", j.join_type)
                };
                if let Some(f) = &j.filter {
                    line.push_str(&format!(" filter={f}"));
                }
                line
            }
        }
    }
}

impl fmt::Display for LogicalPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.display_indent())
    }
}

/// Builds plans node by node, validating each.
#[derive(Debug, Clone)]
pub struct LogicalPlanBuilder {
    plan: Arc<LogicalPlan>,
}

impl LogicalPlanBuilder {
    /// Starts from an existing plan.
    pub fn from(plan: impl Into<Arc<LogicalPlan>>) -> Self {
        LogicalPlanBuilder { plan: plan.into() }
    }
    /// Starts from a scan of `source` named `name`.
    pub fn scan(name: &str, source: Arc<dyn TableSource>) -> Result<Self> {
        Ok(Self::from(LogicalPlan::TableScan(TableScan::try_new(
            name, source,
        )?)))
    }
    /// Starts from one empty row (for `SELECT 1`).
    pub fn empty(produce_one_row: bool) -> Self {
        Self::from(LogicalPlan::EmptyRelation(EmptyRelation {
            produce_one_row,
            schema: Arc::new(PlanSchema::empty()),
        }))
    }
    /// Adds a filter.
    pub fn filter(self, predicate: Expr) -> Result<Self> {
        Ok(Self::from(LogicalPlan::Filter(Filter::try_new(
            predicate, self.plan,
        )?)))
    }
    /// Adds a projection.
    pub fn project(self, exprs: Vec<Expr>) -> Result<Self> {
        Ok(Self::from(LogicalPlan::Projection(Projection::try_new(
            exprs, self.plan,
        )?)))
    }
    /// Adds an aggregate.
    pub fn aggregate(self, group: Vec<Expr>, aggr: Vec<Expr>) -> Result<Self> {
        Ok(Self::from(LogicalPlan::Aggregate(Aggregate::try_new(
            self.plan, group, aggr,
        )?)))
    }
    /// Adds window function calls as columns after the input's.
    pub fn window(self, exprs: Vec<Expr>) -> Result<Self> {
        Ok(Self::from(LogicalPlan::Window(Window::try_new(
            self.plan, exprs,
        )?)))
    }
    /// Adds a sort (validating the keys).
    pub fn sort(self, exprs: Vec<SortExpr>) -> Result<Self> {
        for k in &exprs {
            k.expr.get_type(self.plan.schema())?;
        }
        Ok(Self::from(LogicalPlan::Sort(Sort {
            exprs,
            input: self.plan,
            fetch: None,
        })))
    }
    /// Adds a limit.
    pub fn limit(self, skip: usize, fetch: Option<usize>) -> Self {
        Self::from(LogicalPlan::Limit(Limit {
            skip,
            fetch,
            input: self.plan,
        }))
    }
    /// Adds DISTINCT.
    pub fn distinct(self) -> Self {
        Self::from(LogicalPlan::Distinct(self.plan))
    }
    /// `UNION ALL` with another plan.
    pub fn union(self, other: Arc<LogicalPlan>) -> Result<Self> {
        Ok(Self::from(LogicalPlan::Union(Union::try_new(vec![
            self.plan, other,
        ])?)))
    }
    /// Re-qualifies the columns as `alias`.
    pub fn alias(self, alias: &str) -> Self {
        Self::from(LogicalPlan::SubqueryAlias(SubqueryAlias::new(
            self.plan, alias,
        )))
    }
    /// The plan built so far.
    pub fn build(self) -> Arc<LogicalPlan> {
        self.plan
    }
    /// The schema of the plan so far.
    pub fn schema(&self) -> &PlanSchemaRef {
        self.plan.schema()
    }
}

/// A literal of the given value (shorthand used by rules).
pub fn scalar_lit(v: ScalarValue) -> Expr {
    Expr::Literal(v)
}

/// Every column of `schema` as an expression list.
pub fn all_columns(schema: &PlanSchema) -> Vec<Expr> {
    schema.columns().into_iter().map(Expr::Column).collect()
}

/// The column list of `schema` as plain `Column`s.
pub fn schema_columns(schema: &PlanSchema) -> Vec<Column> {
    schema.columns()
}
