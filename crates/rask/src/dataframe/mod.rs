//! [`DataFrame`]: a lazy, pandas-flavoured frame over a logical plan.

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, SchemaRef};
use rask_common::{plan_err, Result};
use rask_expr::{
    col, AggFunc, Column, Expr, Join, JoinType, LogicalPlan, LogicalPlanBuilder, SortExpr,
};

use crate::context::SessionState;
use crate::write::WriteBuilder;
use rask_io::FileFormat;

mod aggregate;
mod partition;
mod reshape;
mod transform;
mod window;

pub(crate) use window::window_call;
pub use window::{Resample, Rolling, Window, WindowExt};

/// A lazy frame: every method builds a plan; [`DataFrame::collect`] optimizes and runs it,
/// partition by partition, in parallel.
///
/// ```
/// use rask::{col, lit, SessionContext};
/// use rask::functions::sum;
/// # fn main() -> rask::Result<()> {
/// let ctx = SessionContext::new();
/// let df = ctx.sql("SELECT * FROM (VALUES ('a', 1), ('b', 2), ('a', 3)) t(k, v)")?;
/// let out = df
///     .filter(col("v").gt(lit(1i64)))?
///     .groupby(&["k"])?
///     .agg(vec![sum(col("v")).alias("total")])?
///     .sort_values(&["k"], true)?;
/// assert_eq!(out.count()?, 2);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct DataFrame {
    state: Arc<SessionState>,
    plan: Arc<LogicalPlan>,
}

impl DataFrame {
    pub(crate) fn new(state: Arc<SessionState>, plan: Arc<LogicalPlan>) -> Self {
        DataFrame { state, plan }
    }

    fn with_plan(&self, plan: Arc<LogicalPlan>) -> DataFrame {
        DataFrame {
            state: Arc::clone(&self.state),
            plan,
        }
    }

    fn builder(&self) -> LogicalPlanBuilder {
        LogicalPlanBuilder::from(Arc::clone(&self.plan))
    }

    /// The logical plan, as built (not optimized).
    pub fn logical_plan(&self) -> &Arc<LogicalPlan> {
        &self.plan
    }

    /// The output schema, known before anything runs.
    pub fn schema(&self) -> SchemaRef {
        self.plan.schema().arrow_schema()
    }

    /// Column names.
    pub fn columns(&self) -> Vec<String> {
        self.schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect()
    }

    /// Number of row partitions the frame's scans read (Dask's `npartitions`): one per file
    /// or in-memory partition of the widest input.
    pub fn npartitions(&self) -> usize {
        fn walk(p: &LogicalPlan) -> usize {
            match p {
                LogicalPlan::TableScan(s) => s.source.npartitions(),
                LogicalPlan::Values(_) | LogicalPlan::EmptyRelation(_) => 1,
                LogicalPlan::Union(u) => u.inputs.iter().map(|i| walk(i)).sum(),
                LogicalPlan::Repartition(r) => r.scheme.partition_count(),
                other => other.inputs().iter().map(|i| walk(i)).max().unwrap_or(1),
            }
        }
        walk(&self.plan).max(1)
    }

    /// Keeps rows where `predicate` is TRUE. A predicate over window calls (built with
    /// [`WindowExt::over`]) filters on their values, like SQL's `QUALIFY`.
    ///
    /// # Errors
    /// When the predicate is not BOOLEAN or names an unknown column.
    pub fn filter(&self, predicate: Expr) -> Result<DataFrame> {
        if predicate.contains_window() {
            return self.filter_windowed(predicate);
        }
        Ok(self.with_plan(self.builder().filter(predicate)?.build()))
    }

    /// Keeps rows where a SQL expression is TRUE: `df.query("a > 1 and b == 'x'")`.
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES (1, 'x'), (2, 'x'), (3, 'y')) t(a, b)")?;
    /// assert_eq!(df.query("a > 1 and b == 'x'")?.count()?, 1);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// Syntax errors and unknown columns.
    pub fn query(&self, predicate: &str) -> Result<DataFrame> {
        let e = rask_sql::sql_expr(predicate, self.plan.schema())?;
        self.filter(e)
    }

    /// Computes `exprs` (columns, or expressions with [`Expr::alias`]); window calls (built
    /// with [`WindowExt::over`]) are computed in a Window node below the projection.
    ///
    /// # Errors
    /// Unknown columns, type errors.
    pub fn select(&self, exprs: Vec<Expr>) -> Result<DataFrame> {
        let mut exprs = exprs;
        let plan = self.plan_window_calls(&mut exprs.iter_mut().collect::<Vec<_>>())?;
        Ok(self.with_plan(LogicalPlanBuilder::from(plan).project(exprs)?.build()))
    }

    /// Keeps the named columns, in the order given.
    ///
    /// # Errors
    /// Unknown columns.
    pub fn select_columns(&self, names: &[&str]) -> Result<DataFrame> {
        self.select(names.iter().map(|n| col(n)).collect())
    }

    /// Adds (or replaces) column `name` computed by `expr` (pandas' `assign`).
    ///
    /// # Errors
    /// Unknown columns, type errors.
    pub fn with_column(&self, name: &str, expr: Expr) -> Result<DataFrame> {
        let schema = self.plan.schema();
        let mut exprs = Vec::with_capacity(schema.len() + 1);
        let mut replaced = false;
        for i in 0..schema.len() {
            if schema.field(i).name() == name {
                exprs.push(expr.clone().alias(name));
                replaced = true;
            } else {
                exprs.push(Expr::Column(schema.column(i)));
            }
        }
        if !replaced {
            exprs.push(expr.alias(name));
        }
        self.select(exprs)
    }

    /// Alias of [`DataFrame::with_column`].
    ///
    /// # Errors
    /// Unknown columns, type errors.
    pub fn assign(&self, name: &str, expr: Expr) -> Result<DataFrame> {
        self.with_column(name, expr)
    }

    /// Groups by columns; finish with [`GroupBy::agg`].
    ///
    /// # Errors
    /// Unknown columns.
    pub fn groupby(&self, keys: &[&str]) -> Result<GroupBy> {
        self.groupby_exprs(keys.iter().map(|k| col(k)).collect())
    }

    /// Groups by expressions.
    ///
    /// # Errors
    /// Never at this point; errors surface in [`GroupBy::agg`].
    pub fn groupby_exprs(&self, keys: Vec<Expr>) -> Result<GroupBy> {
        Ok(GroupBy {
            df: self.clone(),
            keys,
        })
    }

    /// Aggregates the whole frame into one row: `df.agg(vec![sum(col("x")).alias("s")])`.
    ///
    /// # Errors
    /// Non-aggregate expressions, unknown columns.
    pub fn agg(&self, aggs: Vec<Expr>) -> Result<DataFrame> {
        self.groupby_exprs(vec![])?.agg(aggs)
    }

    /// Sorts by columns, all ascending or all descending (NULLs last).
    ///
    /// # Errors
    /// Unknown columns.
    pub fn sort_values(&self, by: &[&str], ascending: bool) -> Result<DataFrame> {
        self.sort(
            by.iter()
                .map(|c| SortExpr {
                    expr: col(c),
                    asc: ascending,
                    nulls_first: false,
                })
                .collect(),
        )
    }

    /// Sorts by expressions.
    ///
    /// # Errors
    /// Unknown columns.
    pub fn sort(&self, keys: Vec<SortExpr>) -> Result<DataFrame> {
        Ok(self.with_plan(self.builder().sort(keys)?.build()))
    }

    /// The first `n` rows.
    pub fn head(&self, n: usize) -> DataFrame {
        self.limit(0, Some(n))
    }

    /// Skips `skip` rows, then keeps `fetch` (all when `None`).
    pub fn limit(&self, skip: usize, fetch: Option<usize>) -> DataFrame {
        self.with_plan(self.builder().limit(skip, fetch).build())
    }

    /// Removes duplicate rows.
    pub fn drop_duplicates(&self) -> DataFrame {
        self.with_plan(self.builder().distinct().build())
    }

    /// Rows of `self` followed by rows of `other` (columns matched by position).
    ///
    /// # Errors
    /// When the column counts or types do not line up.
    pub fn union(&self, other: &DataFrame) -> Result<DataFrame> {
        Ok(self.with_plan(self.builder().union(Arc::clone(&other.plan))?.build()))
    }

    /// Joins with `other` on columns of the same name, like pandas' `merge(other, how, on)`.
    /// `how` is `inner`, `left`, `right`, `outer`, `semi`, `anti` or `cross` (with `on`
    /// empty). Key columns appear once (for `outer`, the non-NULL of the two); other columns
    /// present on both sides get the suffixes `_x` and `_y`.
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let a = ctx.sql("SELECT * FROM (VALUES (1, 'a'), (2, 'b')) t(k, v)")?;
    /// let b = ctx.sql("SELECT * FROM (VALUES (1, 'x'), (3, 'y')) t(k, v)")?;
    /// let m = a.merge(&b, "left", &["k"])?;
    /// assert_eq!(m.columns(), vec!["k", "v_x", "v_y"]);
    /// assert_eq!(m.count()?, 2);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// An unknown `how` or key column, or keys of types that cannot be compared.
    pub fn merge(&self, other: &DataFrame, how: &str, on: &[&str]) -> Result<DataFrame> {
        self.merge_on(other, how, on, on)
    }

    /// Like [`DataFrame::merge`] with differently named keys (`left_on`, `right_on`); both
    /// key columns are kept.
    ///
    /// # Errors
    /// As [`DataFrame::merge`]; also when the key lists differ in length.
    pub fn merge_on(
        &self,
        other: &DataFrame,
        how: &str,
        left_on: &[&str],
        right_on: &[&str],
    ) -> Result<DataFrame> {
        let join_type = match how.to_lowercase().as_str() {
            "inner" | "cross" => JoinType::Inner,
            "left" => JoinType::Left,
            "right" => JoinType::Right,
            "outer" | "full" => JoinType::Full,
            "semi" | "leftsemi" => JoinType::LeftSemi,
            "anti" | "leftanti" => JoinType::LeftAnti,
            other => {
                return plan_err!(
                    "merge how='{other}': expected inner, left, right, outer, semi, anti or cross"
                )
            }
        };
        if left_on.len() != right_on.len() {
            return plan_err!(
                "merge: {} left keys but {} right keys",
                left_on.len(),
                right_on.len()
            );
        }
        if how.eq_ignore_ascii_case("cross") != left_on.is_empty() {
            return plan_err!("merge: how='cross' takes no keys, every other how needs keys");
        }
        const L: &str = "__left";
        const R: &str = "__right";
        let left = self.builder().alias(L).build();
        let right = other.builder().alias(R).build();
        let on = left_on
            .iter()
            .zip(right_on)
            .map(|(l, r)| {
                (
                    Expr::Column(Column::qualified(L, *l)),
                    Expr::Column(Column::qualified(R, *r)),
                )
            })
            .collect();
        let join = Arc::new(LogicalPlan::Join(Join::try_new(
            left, right, on, None, join_type,
        )?));
        let (ls, rs) = (self.plan.schema(), other.plan.schema());
        let lnames: Vec<String> = (0..ls.len()).map(|i| ls.field(i).name().clone()).collect();
        let rnames: Vec<String> = (0..rs.len()).map(|i| rs.field(i).name().clone()).collect();
        let shared_key = |n: &str| left_on.iter().zip(right_on).any(|(l, r)| l == r && *l == n);
        let mut exprs = Vec::new();
        for n in &lnames {
            let lc = Expr::Column(Column::qualified(L, n.as_str()));
            let out = if shared_key(n) {
                match join_type {
                    JoinType::Right => Expr::Column(Column::qualified(R, n.as_str())),
                    JoinType::Full => crate::functions::coalesce(vec![
                        lc,
                        Expr::Column(Column::qualified(R, n.as_str())),
                    ]),
                    _ => lc,
                }
                .alias(n.as_str())
            } else if join_type.keeps_right() && rnames.contains(n) {
                lc.alias(format!("{n}_x"))
            } else {
                lc.alias(n.as_str())
            };
            exprs.push(out);
        }
        if join_type.keeps_right() {
            for n in &rnames {
                if shared_key(n) {
                    continue;
                }
                let rc = Expr::Column(Column::qualified(R, n.as_str()));
                exprs.push(if lnames.contains(n) {
                    rc.alias(format!("{n}_y"))
                } else {
                    rc.alias(n.as_str())
                });
            }
        }
        let plan = LogicalPlanBuilder::from(join).project(exprs)?.build();
        Ok(self.with_plan(plan))
    }

    /// Runs the plan and returns its batches in order.
    ///
    /// # Errors
    /// Any error of reading or computing.
    pub fn collect(&self) -> Result<Vec<RecordBatch>> {
        let (_, physical) = self.state.physical_plan(&self.plan)?;
        self.state.run(|exec| exec.collect(&physical))
    }

    /// Runs the plan and returns its output partitions.
    ///
    /// # Errors
    /// Any error of reading or computing.
    /// Every batch carries the frame's schema (its column names), ready to be stored as a
    /// table or written to files.
    pub fn collect_partitions(&self) -> Result<Vec<Vec<RecordBatch>>> {
        let (_, physical) = self.state.physical_plan(&self.plan)?;
        let parts = self.state.run(|exec| exec.collect_partitions(&physical))?;
        let schema = self.schema();
        parts
            .into_iter()
            .map(|p| {
                p.into_iter()
                    .map(|b| Ok(b.with_schema(Arc::clone(&schema))?))
                    .collect::<Result<Vec<_>>>()
            })
            .collect()
    }

    /// Number of rows (runs a `count(*)`).
    ///
    /// # Errors
    /// Any error of reading or computing.
    pub fn count(&self) -> Result<usize> {
        let counted = self.agg(vec![Expr::AggregateFunction {
            func: AggFunc::CountStar,
            args: vec![],
            distinct: false,
            filter: None,
        }
        .alias("count")])?;
        let batches = counted.collect()?;
        let batch = match batches.iter().find(|b| b.num_rows() > 0) {
            Some(b) => b,
            None => return Ok(0),
        };
        let v = rask_common::ScalarValue::try_from_array(batch.column(0).as_ref(), 0)?;
        Ok(v.as_i64()
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(0))
    }

    /// The optimized logical plan and the physical plan, as text.
    ///
    /// # Errors
    /// Planning errors.
    pub fn explain(&self) -> Result<String> {
        let rows = self.explain_rows(false, false)?;
        Ok(rows
            .into_iter()
            .map(|r| format!("{}:\n{}", r[0], r[1]))
            .collect::<Vec<_>>()
            .join("\n"))
    }

    pub(crate) fn explain_rows(&self, analyze: bool, verbose: bool) -> Result<Vec<Vec<String>>> {
        let (optimized, physical) = self.state.physical_plan(&self.plan)?;
        let mut rows = Vec::new();
        if verbose {
            rows.push(vec![
                "initial_logical_plan".to_string(),
                self.plan.display_indent(),
            ]);
        }
        // Each node with the optimizer's estimate of its rows (what join order and build
        // sides were chosen from).
        let estimated = optimized.display_indent_annotated(&|p| {
            format!(
                "  est_rows={}",
                rask_optimizer::estimate_rows(p).round() as u64
            )
        });
        rows.push(vec!["logical_plan".to_string(), estimated]);
        rows.push(vec!["physical_plan".to_string(), physical.display_indent()]);
        if analyze {
            let start = Instant::now();
            let (n, annotated) = self.state.run(|exec| {
                // Count the output rows as they stream by: the result itself is not kept.
                let rows = Arc::new(std::sync::atomic::AtomicUsize::new(0));
                let counted = Arc::clone(&rows);
                let sink = rask_exec::stream_sink::StreamSink::new(
                    physical.schema(),
                    Box::new(move |b: RecordBatch| {
                        counted.fetch_add(b.num_rows(), std::sync::atomic::Ordering::Relaxed);
                        Ok(())
                    }),
                );
                exec.run_into(&physical, Arc::new(sink))?;
                let n = rows.load(std::sync::atomic::Ordering::Relaxed);
                Ok((n, physical.display_analyzed(exec.context())))
            })?;
            let elapsed = start.elapsed();
            let stats = self.state.last_stats();
            rows.push(vec!["analyzed_plan".to_string(), annotated]);
            rows.push(vec![
                "analyze".to_string(),
                format!(
                    "output_rows={n} elapsed={elapsed:.3?} peak_memory={} spill_count={} \
                     spilled_bytes={}",
                    stats.peak_memory, stats.spill_count, stats.spilled_bytes
                ),
            ]);
        }
        Ok(rows)
    }

    /// Writes the frame as Parquet: a directory with one file per output partition, or one
    /// file when `path` ends in `.parquet`; finish with [`WriteBuilder::write`], after options
    /// such as [`WriteBuilder::partition_on`] (hive directories). The result streams into the
    /// files as it is computed, and files appear only when complete.
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES (1, 'x'), (2, 'y')) t(a, b)")?;
    /// let file = std::env::temp_dir().join(format!("rask-doc-{}.parquet", std::process::id()));
    /// assert_eq!(df.to_parquet(file.to_str().unwrap()).write()?, 2);
    /// assert_eq!(ctx.read_parquet(file.to_str().unwrap())?.count()?, 2);
    /// # std::fs::remove_file(&file).ok();
    /// # Ok(())
    /// # }
    /// ```
    pub fn to_parquet(&self, path: &str) -> WriteBuilder {
        WriteBuilder::new(self, path, FileFormat::Parquet)
    }

    /// Writes the frame as CSV with a header (see [`DataFrame::to_parquet`]; a path ending
    /// in `.csv` or `.csv.gz` is one file, gzip-compressed for `.gz`).
    pub fn to_csv(&self, path: &str) -> WriteBuilder {
        WriteBuilder::new(self, path, FileFormat::Csv)
    }

    /// `COPY (query) TO target (options)`.
    pub(crate) fn write(&self, target: &str, options: &[(String, String)]) -> Result<usize> {
        crate::write::run_write(self, target, crate::write::copy_options(target, options)?)
    }

    /// Runs the plan and hands every output batch to `consumer` in output order, as it is
    /// produced, instead of collecting the result (memory stays bounded by what the operators
    /// hold plus a few batches). An error from `consumer` stops the query and is returned.
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES (1), (2), (3)) t(v) ORDER BY v DESC")?;
    /// let rows = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    /// let counted = std::sync::Arc::clone(&rows);
    /// df.for_each_batch(move |batch| {
    ///     counted.fetch_add(batch.num_rows(), std::sync::atomic::Ordering::Relaxed);
    ///     Ok(())
    /// })?;
    /// assert_eq!(rows.load(std::sync::atomic::Ordering::Relaxed), 3);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// Any error of reading or computing, or of `consumer`.
    pub fn for_each_batch(
        &self,
        consumer: impl FnMut(RecordBatch) -> Result<()> + Send + 'static,
    ) -> Result<()> {
        let schema = self.schema();
        let mut consumer = consumer;
        let sink = rask_exec::stream_sink::StreamSink::new(
            Arc::clone(&schema),
            Box::new(move |b: RecordBatch| consumer(b.with_schema(Arc::clone(&schema))?)),
        );
        self.run_into_sink(Arc::new(sink)).map(|_| ())
    }

    /// The output batches as an iterator, in output order: the query runs on a background
    /// thread and hands batches over as they are produced (two at most wait), so a result
    /// larger than memory can be read batch by batch. Dropping the iterator early stops the
    /// query.
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES (1), (2), (3)) t(v) ORDER BY v")?;
    /// let mut rows = 0;
    /// for batch in df.stream() {
    ///     rows += batch?.num_rows();
    /// }
    /// assert_eq!(rows, 3);
    /// # Ok(())
    /// # }
    /// ```
    pub fn stream(&self) -> BatchStream {
        self.stream_map(Ok, rask_exec::memory::batch_memory)
    }

    /// Like [`DataFrame::stream`], with each output batch first turned into a `T` by
    /// `prepare` on the worker that produced it: work such as formatting the output runs
    /// in parallel, while the `T`s still arrive in output order. `size` is what a `T`
    /// costs in memory (a worker that ran ahead holds its `T`s, reserved, until the
    /// output before them is passed on).
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES (1), (2), (3)) t(v) ORDER BY v")?;
    /// let rows: Vec<usize> = df
    ///     .stream_map(|b| Ok(b.num_rows()), |_| 8)
    ///     .collect::<rask::Result<_>>()?;
    /// assert_eq!(rows.iter().sum::<usize>(), 3);
    /// # Ok(())
    /// # }
    /// ```
    pub fn stream_map<T: Send + 'static>(
        &self,
        prepare: impl Fn(RecordBatch) -> Result<T> + Send + Sync + 'static,
        size: fn(&T) -> usize,
    ) -> BatchStream<T> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Result<T>>(2);
        let df = self.clone();
        let schema = self.schema();
        std::thread::spawn(move || {
            let out = tx.clone();
            let sink = rask_exec::stream_sink::StreamSink::with_prepare(
                Arc::clone(&schema),
                Arc::new(move |b: RecordBatch| prepare(b.with_schema(Arc::clone(&schema))?)),
                size,
                Box::new(move |t| {
                    out.send(Ok(t)).map_err(|_| {
                        rask_common::Error::Execution("the batch stream was dropped".into())
                    })
                }),
            );
            if let Err(e) = df.run_into_sink(Arc::new(sink)) {
                // Nobody listens when the stream was dropped; that is fine.
                let _ = tx.send(Err(e));
            }
        });
        BatchStream { rx }
    }

    /// Runs the plan into `sink` (a writer) and returns the sink's output.
    pub(crate) fn run_into_sink(
        &self,
        sink: Arc<dyn rask_exec::executor::Sink>,
    ) -> Result<Vec<Vec<RecordBatch>>> {
        let (_, physical) = self.state.physical_plan(&self.plan)?;
        self.state.run(|exec| exec.run_into(&physical, sink))
    }
}

/// Output batches of a running query, in order: [`DataFrame::stream`].
#[derive(Debug)]
pub struct BatchStream<T = RecordBatch> {
    rx: std::sync::mpsc::Receiver<Result<T>>,
}

impl<T> Iterator for BatchStream<T> {
    type Item = Result<T>;
    fn next(&mut self) -> Option<Self::Item> {
        self.rx.recv().ok()
    }
}

impl fmt::Debug for DataFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DataFrame\n{}", self.plan.display_indent())
    }
}

impl fmt::Display for DataFrame {
    /// Runs the frame and prints it as a table (an error prints as the error). Like pandas,
    /// a frame of more than 60 rows prints its first and last 5 rows around a `...` row,
    /// then `[N rows x M columns]`; only those rows and the count are fetched (three runs:
    /// the first 61 rows, the count, and the last 5 rows, which like [`DataFrame::tail`]
    /// passes over the rest).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match display::render(self) {
            Ok(s) => write!(f, "{s}"),
            Err(e) => write!(f, "<error: {e}>"),
        }
    }
}

mod display {
    //! pandas-style truncated printing.
    use std::sync::Arc;

    use arrow::array::{ArrayRef, RecordBatch, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use arrow::util::display::{ArrayFormatter, FormatOptions};
    use arrow::util::pretty::pretty_format_batches;
    use rask_common::Result;

    use super::DataFrame;

    /// pandas' `display.max_rows`: longer frames are truncated.
    const MAX_ROWS: usize = 60;
    /// Rows shown at each end of a truncated frame (pandas' `display.min_rows` / 2).
    const END_ROWS: usize = 5;

    /// Appends every row of `batches`, formatted, to `columns`.
    fn push_rows(columns: &mut [Vec<Option<String>>], batches: &[RecordBatch]) -> Result<()> {
        for b in batches {
            for (c, out) in columns.iter_mut().enumerate() {
                let a: &ArrayRef = b.column(c);
                let fmt = ArrayFormatter::try_new(a.as_ref(), &FormatOptions::default())?;
                for r in 0..b.num_rows() {
                    out.push(Some(fmt.value(r).to_string()));
                }
            }
        }
        Ok(())
    }

    pub(super) fn render(df: &DataFrame) -> Result<String> {
        let head = df.head(MAX_ROWS + 1).collect()?;
        let n: usize = head.iter().map(|b| b.num_rows()).sum();
        if n <= MAX_ROWS {
            return Ok(pretty_format_batches(&head)?.to_string());
        }
        // The first rows are in hand; the count and the last rows take one run each.
        let Some(head_schema) = head.first().map(|b| b.schema()) else {
            return Ok(String::new());
        };
        let first = vec![arrow::compute::concat_batches(&head_schema, &head)?.slice(0, END_ROWS)];
        let total = df.count()?;
        let last = df
            .limit(total.saturating_sub(END_ROWS), Some(END_ROWS))
            .collect()?;
        let schema = df.schema();
        let mut columns: Vec<Vec<Option<String>>> = vec![Vec::new(); schema.fields().len()];
        push_rows(&mut columns, &first)?;
        for out in columns.iter_mut() {
            out.push(Some("...".to_string()));
        }
        push_rows(&mut columns, &last)?;
        let fields: Vec<Field> = schema
            .fields()
            .iter()
            .map(|f| Field::new(f.name(), DataType::Utf8, true))
            .collect();
        let arrays: Vec<ArrayRef> = columns
            .into_iter()
            .map(|c| Arc::new(StringArray::from(c)) as ArrayRef)
            .collect();
        let table = RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)?;
        Ok(format!(
            "{}\n[{total} rows x {} columns]",
            pretty_format_batches(&[table])?,
            schema.fields().len()
        ))
    }
}

/// A grouped frame: [`DataFrame::groupby`] then [`GroupBy::agg`].
///
/// ```
/// use rask::functions::{count_star, max};
/// use rask::{col, SessionContext};
/// # fn main() -> rask::Result<()> {
/// let ctx = SessionContext::new();
/// let df = ctx.sql("SELECT * FROM (VALUES ('x', 1), ('y', 5), ('x', 7)) t(k, v)")?;
/// let per_key = df
///     .groupby(&["k"])?
///     .agg(vec![count_star().alias("n"), max(col("v")).alias("top")])?;
/// assert_eq!(per_key.columns(), vec!["k", "n", "top"]);
/// assert_eq!(per_key.count()?, 2);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct GroupBy {
    df: DataFrame,
    keys: Vec<Expr>,
}

impl GroupBy {
    /// Named aggregations: one output column per expression (`sum(col("v")).alias("total")`),
    /// after the group keys.
    ///
    /// # Errors
    /// When an expression is not an aggregate call, or names an unknown column.
    pub fn agg(&self, aggs: Vec<Expr>) -> Result<DataFrame> {
        for a in &aggs {
            if !matches!(a.unalias(), Expr::AggregateFunction { .. }) {
                return plan_err!("agg() takes aggregate calls such as sum(col(\"x\")), got '{a}'");
            }
        }
        let plan = self
            .df
            .builder()
            .aggregate(self.keys.clone(), aggs)?
            .build();
        Ok(self.df.with_plan(plan))
    }
}

/// The SQL name of an arrow type, as DESCRIBE shows it.
pub(crate) fn sql_type_name(t: &DataType) -> String {
    match t {
        DataType::Boolean => "BOOLEAN".into(),
        DataType::Int8 => "TINYINT".into(),
        DataType::Int16 => "SMALLINT".into(),
        DataType::Int32 => "INTEGER".into(),
        DataType::Int64 => "BIGINT".into(),
        DataType::UInt8 => "UTINYINT".into(),
        DataType::UInt16 => "USMALLINT".into(),
        DataType::UInt32 => "UINTEGER".into(),
        DataType::UInt64 => "UBIGINT".into(),
        DataType::Float32 => "FLOAT".into(),
        DataType::Float64 => "DOUBLE".into(),
        DataType::Decimal128(p, s) => format!("DECIMAL({p},{s})"),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "VARCHAR".into(),
        DataType::Date32 => "DATE".into(),
        DataType::Timestamp(_, _) => "TIMESTAMP".into(),
        DataType::Dictionary(_, v) => sql_type_name(v),
        other => other.to_string(),
    }
}
