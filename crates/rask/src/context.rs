//! [`SessionContext`]: tables, configuration, a thread pool and a memory pool; the entry point
//! for SQL and for building [`DataFrame`]s.

use std::path::Path;
use std::sync::{Arc, RwLock};

use arrow::array::{ArrayRef, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use rask_common::{plan_err, Error, Result, ScalarValue, SessionConfig};
use rask_exec::{Executor, MemoryPool, PhysicalPlan, TaskContext};
use rask_expr::{LogicalPlan, LogicalPlanBuilder};
use rask_io::{CsvOptions, TableFormat};
use rask_optimizer::Optimizer;
use rask_sql::{SqlCatalog, Statement};

use crate::catalog::{csv_options, Catalog, Entry, FileTable, MemTable};
use crate::dataframe::DataFrame;
use crate::planner::PhysicalPlanner;

/// A session: registered tables and views, the configuration, a rayon pool of
/// `config.threads` workers and one memory pool shared by its queries.
///
/// Cloning is cheap and shares the session.
///
/// ```
/// use rask::SessionContext;
/// # fn main() -> rask::Result<()> {
/// let ctx = SessionContext::new();
/// let df = ctx.sql("SELECT 1 + 2 AS three")?;
/// let batches = df.collect()?;
/// assert_eq!(batches[0].num_rows(), 1);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct SessionContext {
    pub(crate) state: Arc<SessionState>,
}

impl std::fmt::Debug for SessionContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionContext")
            .field("config", &self.state.config)
            .finish()
    }
}

/// Shared state behind a [`SessionContext`] and its [`DataFrame`]s.
pub(crate) struct SessionState {
    pub(crate) config: SessionConfig,
    catalog: RwLock<Catalog>,
    threads: Option<rayon::ThreadPool>,
    pool: Arc<MemoryPool>,
    last_stats: std::sync::Mutex<QueryStats>,
    progress: RwLock<Option<rask_exec::ProgressCallback>>,
}

/// What the last query of a session used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueryStats {
    /// The most memory reserved from the pool at once, in bytes.
    pub peak_memory: usize,
    /// Spill files written.
    pub spill_count: usize,
    /// Bytes written to spill files.
    pub spilled_bytes: u64,
}

impl Default for SessionContext {
    fn default() -> Self {
        Self::new()
    }
}

impl SessionContext {
    /// A session with the default configuration (all cores, `threads` scheduler).
    pub fn new() -> Self {
        Self::with_config(SessionConfig::default())
    }

    /// A session with `config`.
    pub fn with_config(config: SessionConfig) -> Self {
        let threads = rayon::ThreadPoolBuilder::new()
            .num_threads(config.effective_threads().max(1))
            .thread_name(|i| format!("rask-worker-{i}"))
            .build()
            .ok();
        let pool = MemoryPool::new(config.memory_limit);
        SessionContext {
            state: Arc::new(SessionState {
                config,
                catalog: RwLock::new(Catalog::default()),
                threads,
                pool,
                last_stats: std::sync::Mutex::new(QueryStats::default()),
                progress: RwLock::new(None),
            }),
        }
    }

    /// Calls `callback` as queries of this session make progress: work items (morsels
    /// through a pipeline) done out of those known so far, and the elapsed time. It runs on
    /// worker threads after every item, so it must be quick (the CLI's progress bar uses it).
    pub fn set_progress_callback(
        &self,
        callback: impl Fn(rask_exec::ProgressInfo) + Send + Sync + 'static,
    ) {
        if let Ok(mut p) = self.state.progress.write() {
            *p = Some(Arc::new(callback));
        }
    }

    /// Peak memory and spilling of the last query this session ran.
    pub fn last_query_stats(&self) -> QueryStats {
        self.state.last_stats.lock().map(|s| *s).unwrap_or_default()
    }

    /// The configuration.
    pub fn config(&self) -> &SessionConfig {
        &self.state.config
    }

    /// Registers a CSV or Parquet file, directory or glob as table `name`; the format comes
    /// from the file extensions.
    ///
    /// # Errors
    /// When nothing matches `path`, or the files cannot be read.
    pub fn register_path(&self, name: &str, path: &str) -> Result<()> {
        let table = FileTable::open(path)?;
        self.register_entry(name, Entry::Table(Arc::new(table)))
    }

    /// Registers Parquet files as table `name`.
    ///
    /// # Errors
    /// When nothing matches `path`, or the files cannot be read.
    pub fn register_parquet(&self, name: &str, path: &str) -> Result<()> {
        let table = FileTable::open_as(path, TableFormat::Parquet)?;
        self.register_entry(name, Entry::Table(Arc::new(table)))
    }

    /// Registers CSV files as table `name`.
    ///
    /// # Errors
    /// When nothing matches `path`, or the files cannot be read.
    pub fn register_csv(&self, name: &str, path: &str, options: CsvOptions) -> Result<()> {
        let table = FileTable::open_as(path, TableFormat::Csv(options))?;
        self.register_entry(name, Entry::Table(Arc::new(table)))
    }

    /// Registers in-memory partitions of record batches as table `name`.
    ///
    /// # Errors
    /// When a batch does not match `schema`.
    pub fn register_batches(
        &self,
        name: &str,
        schema: SchemaRef,
        partitions: Vec<Vec<RecordBatch>>,
    ) -> Result<()> {
        let table = MemTable::try_new(schema, partitions)?;
        self.register_entry(name, Entry::Table(Arc::new(table)))
    }

    /// Registers every data file and subdirectory of `dir` as a table named after it (the
    /// extension dropped): `dir/lineitem/` and `dir/orders.csv` become `lineitem` and `orders`.
    /// Hidden entries and files with other extensions are skipped.
    ///
    /// # Errors
    /// When `dir` is not a readable directory, or a table in it cannot be opened.
    pub fn register_data_dir(&self, dir: &str) -> Result<()> {
        let entries = std::fs::read_dir(dir)
            .map_err(|e| Error::Plan(format!("cannot read data directory '{dir}': {e}")))?;
        let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        let mut found = 0;
        for path in paths {
            let Some(file_name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if file_name.starts_with('.') || file_name.starts_with('_') {
                continue;
            }
            let name = if path.is_dir() {
                file_name.to_string()
            } else {
                match table_name_of_file(file_name) {
                    Some(n) => n,
                    None => continue,
                }
            };
            let Some(p) = path.to_str() else { continue };
            self.register_path(&name, p)
                .map_err(|e| Error::Plan(format!("table '{name}' from '{p}': {e}")))?;
            found += 1;
        }
        if found == 0 {
            return plan_err!("no CSV or Parquet files or table directories found in '{dir}'");
        }
        Ok(())
    }

    fn register_entry(&self, name: &str, entry: Entry) -> Result<()> {
        let mut cat = self.state.catalog_write()?;
        cat.register(name, entry);
        Ok(())
    }

    /// Removes table or view `name`; returns whether it existed.
    ///
    /// # Errors
    /// Only when the catalog lock is poisoned.
    pub fn deregister(&self, name: &str) -> Result<bool> {
        Ok(self.state.catalog_write()?.remove(name))
    }

    /// Names of the registered tables and views, sorted.
    pub fn table_names(&self) -> Vec<String> {
        self.state.table_names()
    }

    /// The schema of table or view `name`.
    ///
    /// # Errors
    /// When no such table exists.
    pub fn table_schema(&self, name: &str) -> Result<SchemaRef> {
        Ok(self.table(name)?.schema())
    }

    /// A lazy frame reading table or view `name`.
    ///
    /// # Errors
    /// When no such table exists.
    pub fn table(&self, name: &str) -> Result<DataFrame> {
        match self.state.catalog_read()?.plan(name)? {
            Some(plan) => Ok(DataFrame::new(Arc::clone(&self.state), plan)),
            None => plan_err!("table '{name}' not found{}", self.state.hint(name)),
        }
    }

    /// A lazy frame over Parquet files (a file, a directory or a glob).
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../datasets/tpch-sf0.01/nation");
    /// let nation = ctx.read_parquet(dir)?;
    /// assert_eq!(nation.count()?, 25);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// When nothing matches `path`, or the files cannot be read.
    pub fn read_parquet(&self, path: &str) -> Result<DataFrame> {
        let table = FileTable::open_as(path, TableFormat::Parquet)?;
        self.frame_over(path, Arc::new(table))
    }

    /// A lazy frame over CSV files (a file, a directory or a glob) read with `options`.
    ///
    /// # Errors
    /// When nothing matches `path`, or the files cannot be read.
    pub fn read_csv(&self, path: &str, options: CsvOptions) -> Result<DataFrame> {
        let table = FileTable::open_as(path, TableFormat::Csv(options))?;
        self.frame_over(path, Arc::new(table))
    }

    /// A lazy frame over in-memory partitions of record batches.
    ///
    /// # Errors
    /// When a batch does not match `schema`.
    pub fn from_batches(
        &self,
        schema: SchemaRef,
        partitions: Vec<Vec<RecordBatch>>,
    ) -> Result<DataFrame> {
        let table = MemTable::try_new(schema, partitions)?;
        self.frame_over("batches", Arc::new(table))
    }

    /// A small frame built from columns of Rust values, one partition (use
    /// [`DataFrame::repartition`] for more). Each column is a name and anything that converts
    /// into a [`ColumnData`](crate::ColumnData): a `Vec` of integers, floats, booleans or
    /// strings (`Option` items are NULLs), or an Arrow array. Every column is nullable.
    ///
    /// ```
    /// use rask::{col, lit, ColumnData, SessionContext};
    /// # fn main() -> rask::Result<()> {
    /// let ctx = SessionContext::new();
    /// let df = ctx.from_columns(vec![
    ///     ("k", ColumnData::from(vec!["x", "y", "x"])),
    ///     ("v", ColumnData::from(vec![Some(1i64), None, Some(3)])),
    ///     ("w", ColumnData::from(vec![0.5, 1.5, 2.5])),
    /// ])?;
    /// assert_eq!(df.filter(col("v").gt(lit(1i64)))?.count()?, 1);
    /// // All columns of one type need no `ColumnData::from`:
    /// let ints = ctx.from_columns(vec![("a", vec![1i64, 2]), ("b", vec![3, 4])])?;
    /// assert_eq!(ints.columns(), vec!["a", "b"]);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// When no column is given, when the columns differ in length, or when a name repeats.
    pub fn from_columns<N, C>(&self, columns: impl IntoIterator<Item = (N, C)>) -> Result<DataFrame>
    where
        N: Into<String>,
        C: Into<crate::ColumnData>,
    {
        let mut fields = Vec::new();
        let mut arrays: Vec<ArrayRef> = Vec::new();
        for (name, data) in columns {
            let name: String = name.into();
            let array = data.into().0;
            if fields.iter().any(|f: &Field| f.name() == &name) {
                return plan_err!("from_columns: column '{name}' is given twice");
            }
            if let Some(first) = arrays.first() {
                if first.len() != array.len() {
                    return plan_err!(
                        "from_columns: column '{name}' has {} values but '{}' has {}; every \
                         column must have the same length",
                        array.len(),
                        fields[0].name(),
                        first.len()
                    );
                }
            }
            fields.push(Field::new(name, array.data_type().clone(), true));
            arrays.push(array);
        }
        if arrays.is_empty() {
            return plan_err!("from_columns: give at least one column");
        }
        let schema = Arc::new(Schema::new(fields));
        let batch = RecordBatch::try_new(Arc::clone(&schema), arrays)?;
        let table = MemTable::try_new(schema, vec![vec![batch]])?;
        self.frame_over("columns", Arc::new(table))
    }

    pub(crate) fn frame_over(
        &self,
        path: &str,
        source: Arc<dyn rask_expr::TableSource>,
    ) -> Result<DataFrame> {
        let name = table_alias_of_path(path);
        let plan = LogicalPlanBuilder::scan(&name, source)?.build();
        Ok(DataFrame::new(Arc::clone(&self.state), plan))
    }

    /// Runs SQL: statements separated by `;`. DDL (`CREATE VIEW`, `CREATE TABLE AS`, `COPY`,
    /// `DROP`) takes effect at once; the returned frame is the last statement's result (lazy
    /// for a query; a frame with no columns for DDL).
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// ctx.sql("CREATE VIEW v AS SELECT * FROM (VALUES (1, 'a'), (2, 'b')) t(x, y)")?;
    /// let df = ctx.sql("SELECT sum(x) AS s FROM v")?;
    /// assert_eq!(df.collect()?[0].num_rows(), 1);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// Syntax errors (with the position), unknown tables or columns, type errors; for DDL, the
    /// errors of running it.
    pub fn sql(&self, sql: &str) -> Result<DataFrame> {
        let statements = rask_sql::split_sql_statements(sql)?;
        if statements.is_empty() {
            return plan_err!("no SQL statement given");
        }
        let mut last = None;
        for text in statements {
            for stmt in rask_sql::sql_to_statements(&text, self.state.as_ref())? {
                last = Some(self.run_statement(stmt)?);
            }
        }
        last.ok_or_else(|| Error::Plan("no SQL statement given".into()))
    }

    fn run_statement(&self, stmt: Statement) -> Result<DataFrame> {
        match stmt {
            Statement::Query(plan) => Ok(DataFrame::new(Arc::clone(&self.state), plan)),
            Statement::Explain {
                analyze,
                verbose,
                plan,
            } => {
                let df = DataFrame::new(Arc::clone(&self.state), plan);
                let text = df.explain_rows(analyze, verbose)?;
                self.text_frame(&["plan_type", "plan"], text)
            }
            Statement::CreateView {
                name,
                or_replace,
                plan,
            } => {
                let mut cat = self.state.catalog_write()?;
                if cat.get(&name).is_some() && !or_replace {
                    return plan_err!(
                        "table or view '{name}' already exists; use CREATE OR REPLACE VIEW"
                    );
                }
                cat.register(&name, Entry::View(plan));
                Ok(self.empty_frame())
            }
            Statement::CreateTableAs {
                name,
                or_replace,
                if_not_exists,
                plan,
            } => {
                if self.state.catalog_read()?.get(&name).is_some() {
                    if if_not_exists {
                        return Ok(self.empty_frame());
                    }
                    if !or_replace {
                        return plan_err!(
                            "table '{name}' already exists; use CREATE OR REPLACE TABLE"
                        );
                    }
                }
                let df = DataFrame::new(Arc::clone(&self.state), plan);
                let schema = df.schema();
                let parts = df.collect_partitions()?;
                let table = MemTable::try_new(schema, parts)?;
                self.register_entry(&name, Entry::Table(Arc::new(table)))?;
                Ok(self.empty_frame())
            }
            Statement::Copy {
                plan,
                target,
                options,
            } => {
                let df = DataFrame::new(Arc::clone(&self.state), plan);
                let rows = df.write(&target, &options)?;
                self.text_frame(&["Count"], vec![vec![rows.to_string()]])
            }
            Statement::Drop { name, if_exists } => {
                let removed = self.state.catalog_write()?.remove(&name);
                if !removed && !if_exists {
                    return plan_err!("table or view '{name}' not found{}", self.state.hint(&name));
                }
                Ok(self.empty_frame())
            }
            Statement::ShowTables => {
                let rows = self.table_names().into_iter().map(|n| vec![n]).collect();
                self.text_frame(&["name"], rows)
            }
            Statement::Describe { name } => {
                let schema = self.table_schema(&name)?;
                self.describe_frame(&schema)
            }
            Statement::DescribeQuery(plan) => {
                let schema = plan.schema().arrow_schema();
                self.describe_frame(&schema)
            }
        }
    }

    fn describe_frame(&self, schema: &Schema) -> Result<DataFrame> {
        let rows = schema
            .fields()
            .iter()
            .map(|f| {
                vec![
                    f.name().clone(),
                    crate::dataframe::sql_type_name(f.data_type()),
                    if f.is_nullable() { "YES" } else { "NO" }.to_string(),
                ]
            })
            .collect();
        self.text_frame(&["column_name", "column_type", "null"], rows)
    }

    /// A frame with no columns (the result of DDL).
    fn empty_frame(&self) -> DataFrame {
        DataFrame::new(
            Arc::clone(&self.state),
            LogicalPlanBuilder::empty(false).build(),
        )
    }

    /// A small in-memory frame of strings.
    fn text_frame(&self, columns: &[&str], rows: Vec<Vec<String>>) -> Result<DataFrame> {
        let schema = Arc::new(Schema::new(
            columns
                .iter()
                .map(|c| Field::new(*c, DataType::Utf8, false))
                .collect::<Vec<_>>(),
        ));
        let arrays: Vec<ArrayRef> = (0..columns.len())
            .map(|c| {
                Arc::new(StringArray::from_iter_values(
                    rows.iter().map(|r| r[c].as_str()),
                )) as ArrayRef
            })
            .collect();
        let batch = RecordBatch::try_new(Arc::clone(&schema), arrays)?;
        let table = MemTable::try_new(schema, vec![vec![batch]])?;
        self.frame_over("result", Arc::new(table))
    }
}

impl SessionState {
    fn catalog_read(&self) -> Result<std::sync::RwLockReadGuard<'_, Catalog>> {
        self.catalog
            .read()
            .map_err(|_| Error::Internal("catalog lock poisoned".into()))
    }

    fn catalog_write(&self) -> Result<std::sync::RwLockWriteGuard<'_, Catalog>> {
        self.catalog
            .write()
            .map_err(|_| Error::Internal("catalog lock poisoned".into()))
    }

    fn table_names(&self) -> Vec<String> {
        self.catalog_read().map(|c| c.names()).unwrap_or_default()
    }

    /// ", did you mean 'x'?" when a registered name is close to `name`.
    fn hint(&self, name: &str) -> String {
        let names = self.table_names();
        match rask_expr::schema::suggest(name, names.iter().map(|s| s.as_str())) {
            Some(s) => format!(", did you mean '{s}'?"),
            None if names.is_empty() => {
                " (no tables are registered: use --table NAME=PATH or --data DIR, or a path \
                 such as FROM 'data/*.parquet')"
                    .to_string()
            }
            None => format!(" (tables: {})", names.join(", ")),
        }
    }

    /// Optimizes `plan` (unless disabled) and plans it physically.
    pub(crate) fn physical_plan(
        &self,
        plan: &Arc<LogicalPlan>,
    ) -> Result<(Arc<LogicalPlan>, PhysicalPlan)> {
        let optimized = self.optimize(plan)?;
        let physical = PhysicalPlanner::new(&self.config).create(&optimized)?;
        Ok((optimized, physical))
    }

    pub(crate) fn optimize(&self, plan: &Arc<LogicalPlan>) -> Result<Arc<LogicalPlan>> {
        if self.config.optimize {
            Optimizer::new().optimize(Arc::clone(plan))
        } else {
            Ok(Arc::clone(plan))
        }
    }

    /// Peak memory and spilling of the last query.
    pub(crate) fn last_stats(&self) -> QueryStats {
        self.last_stats.lock().map(|s| *s).unwrap_or_default()
    }

    /// Runs `f` with an executor on the session's pool.
    pub(crate) fn run<T: Send>(&self, f: impl FnOnce(&Executor) -> Result<T> + Send) -> Result<T> {
        let progress = self.progress.read().ok().and_then(|p| p.clone());
        let ctx = TaskContext::with_pool(self.config.clone(), Arc::clone(&self.pool))
            .with_progress(progress);
        let spill = Arc::clone(&ctx.spill);
        self.pool.reset_peak();
        let exec = Executor::new(ctx);
        let out = match &self.threads {
            Some(pool) => pool.install(|| f(&exec)),
            None => f(&exec),
        };
        if let Ok(mut s) = self.last_stats.lock() {
            *s = QueryStats {
                peak_memory: self.pool.peak(),
                spill_count: spill.metrics().spill_count(),
                spilled_bytes: spill.metrics().spilled_bytes(),
            };
        }
        out
    }
}

impl SqlCatalog for SessionState {
    fn resolve_table(&self, name: &str) -> Result<Option<Arc<LogicalPlan>>> {
        self.catalog_read()?.plan(name)
    }

    fn table_function(
        &self,
        name: &str,
        args: &[ScalarValue],
        named: &[(String, ScalarValue)],
    ) -> Result<Arc<LogicalPlan>> {
        let path = match args.first() {
            Some(ScalarValue::Utf8(Some(p))) => p.clone(),
            _ => return plan_err!("{name}() takes a path string as its first argument"),
        };
        let table = match name.to_lowercase().as_str() {
            "read_parquet" | "parquet_scan" => {
                if !named.is_empty() {
                    return plan_err!("read_parquet() takes no options, got {}", named[0].0);
                }
                FileTable::open_as(&path, TableFormat::Parquet)?
            }
            "read_csv" | "read_csv_auto" => {
                FileTable::open_as(&path, TableFormat::Csv(csv_options(named)?))?
            }
            other => {
                return plan_err!(
                    "unknown table function '{other}' (known: read_parquet, read_csv)"
                )
            }
        };
        Ok(LogicalPlanBuilder::scan(&table_alias_of_path(&path), Arc::new(table))?.build())
    }

    fn path_table(&self, path: &str) -> Result<Arc<LogicalPlan>> {
        let table = FileTable::open(path)?;
        Ok(LogicalPlanBuilder::scan(&table_alias_of_path(path), Arc::new(table))?.build())
    }

    fn table_names(&self) -> Vec<String> {
        SessionState::table_names(self)
    }
}

/// The name a table gets from a data file: the file name without its extensions, or `None`
/// for files that are not data.
fn table_name_of_file(file_name: &str) -> Option<String> {
    let lower = file_name.to_lowercase();
    let lower = lower.strip_suffix(".gz").unwrap_or(&lower);
    for ext in [".parquet", ".pq", ".csv", ".tsv", ".tbl", ".txt"] {
        if lower.ends_with(ext) {
            let base = file_name.len() - (file_name.len() - lower.len()) - ext.len();
            return Some(file_name[..base].to_string());
        }
    }
    None
}

/// A relation name for a path: its last component without extensions or glob characters.
fn table_alias_of_path(path: &str) -> String {
    let trimmed = path.trim_end_matches(['/', '\\']);
    let last = Path::new(trimmed)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(trimmed);
    let base = table_name_of_file(last).unwrap_or_else(|| last.to_string());
    if base.is_empty() || base.contains(['*', '?', '[']) {
        "t".to_string()
    } else {
        base
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_files_and_paths() {
        assert_eq!(table_name_of_file("orders.csv").as_deref(), Some("orders"));
        assert_eq!(
            table_name_of_file("Orders.CSV.gz").as_deref(),
            Some("Orders")
        );
        assert_eq!(table_name_of_file("README.md"), None);
        assert_eq!(table_alias_of_path("data/lineitem/"), "lineitem");
        assert_eq!(table_alias_of_path("data/*.parquet"), "t");
    }
}
