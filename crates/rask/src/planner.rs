//! The physical planner: an optimized [`LogicalPlan`] becomes a [`PhysicalPlan`] of sources,
//! streaming operators and sinks.
//!
//! Logical columns are resolved to indices here, once; operators never look names up. Scans
//! hand their projection, pruning filters and fetch to the table (`rask-io` turns them into a
//! Parquet `ProjectionMask`, row-group and hive-partition pruning, CSV column selection).

use std::cell::{OnceCell, RefCell};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use arrow::array::{new_null_array, ArrayRef, RecordBatch, RecordBatchOptions};
use arrow::compute::SortOptions;
use arrow::datatypes::SchemaRef;
use rask_common::{internal_err, Result, SessionConfig};
use rask_exec::aggregate::{AggregateExpr, HashAggregateExec};
use rask_exec::filter::FilterExec;
use rask_exec::join::runtime_filter::{RuntimeFilterExec, RuntimeFilterSlot};
use rask_exec::join::{
    filters_probe_rows, is_hashable_key_type, HashJoinExec, JoinExec, JoinFilter, JoinSide,
    JoinSpec, NestedLoopJoinExec,
};
use rask_exec::limit::LimitExec;
use rask_exec::physical_expr::evaluate_constant;
use rask_exec::projection::ProjectionExec;
use rask_exec::sort::{PhysicalSortExpr, SortExec};
use rask_exec::window::{WindowExec, WindowFunctionExpr};
use rask_exec::window_topk::TopKPerPartition;
use rask_exec::{
    create_physical_expr, DataSource, MemorySource, PhysicalExpr, PhysicalPlan, SharedPlan,
};
use rask_expr::logical_plan::TableScan;
use rask_expr::logical_plan::Window;
use rask_expr::type_coercion::comparison_type;
use rask_expr::{
    conjunction, split_conjunction, Column, Expr, Join, JoinType, LogicalPlan, PlanSchema,
    WindowFunc,
};

use crate::catalog::{FileTable, MemTable};
use crate::persist::PersistedTable;
use rask_exec::map_partitions::MapPartitionsExec;
use rask_exec::shuffle::{Partitioning, ShuffleExec};
use rask_expr::{Repartition, RepartitionScheme};
use rask_optimizer::{build_left, estimate_rows};

/// A scan that filters as it reads, and the conjuncts left for a filter above it.
type FilteredScan = (Arc<dyn DataSource>, Option<Expr>);

/// Turns optimized logical plans into physical plans.
pub(crate) struct PhysicalPlanner<'a> {
    config: &'a SessionConfig,
    /// The [`shared_key`]s of the aggregations the plan holds more than once (found by the
    /// first [`PhysicalPlanner::create`], on the root).
    repeated: OnceCell<HashSet<String>>,
    /// Their physical plans, computed once.
    shared: RefCell<HashMap<String, Arc<SharedPlan>>>,
}

impl<'a> PhysicalPlanner<'a> {
    pub(crate) fn new(config: &'a SessionConfig) -> Self {
        PhysicalPlanner {
            config,
            repeated: OnceCell::new(),
            shared: RefCell::new(HashMap::new()),
        }
    }

    /// The physical plan of `plan`. With the optimizer on, an aggregation that the plan holds
    /// more than once (a `WITH` read twice, as TPC-H Q15's `revenue`) is planned once, as a
    /// [`PhysicalPlan::Shared`] that every place reads.
    pub(crate) fn create(&self, plan: &LogicalPlan) -> Result<PhysicalPlan> {
        let repeated = self.repeated.get_or_init(|| {
            let mut counts: HashMap<String, usize> = HashMap::new();
            if self.config.optimize {
                count_shareable(plan, &mut counts);
            }
            counts
                .into_iter()
                .filter(|(_, n)| *n > 1)
                .map(|(k, _)| k)
                .collect()
        });
        if repeated.is_empty() {
            return self.create_node(plan);
        }
        let Some(key) = shared_key(plan).filter(|k| repeated.contains(k)) else {
            return self.create_node(plan);
        };
        if let Some(s) = self.shared.borrow().get(&key) {
            return Ok(PhysicalPlan::Shared(Arc::clone(s)));
        }
        let physical = self.create_node(plan)?;
        let mut shared = self.shared.borrow_mut();
        let s = Arc::new(SharedPlan::new(shared.len() + 1, physical));
        shared.insert(key, Arc::clone(&s));
        Ok(PhysicalPlan::Shared(s))
    }

    /// A scan of a file table that evaluates the conjuncts of `predicate` it can while
    /// reading (Parquet late materialisation), and the conjuncts left for a filter above it;
    /// `None` when it can take none.
    fn filtered_scan(&self, scan: &TableScan, predicate: &Expr) -> Result<Option<FilteredScan>> {
        let Some(t) = scan.source.as_any().downcast_ref::<FileTable>() else {
            return Ok(None);
        };
        let mut pushed = Vec::new();
        let mut rest = Vec::new();
        for c in split_conjunction(predicate) {
            let unqualified = unqualify(c.clone())?;
            if t.table.can_filter_in_scan(&unqualified) {
                pushed.push(unqualified);
            } else {
                rest.push(c.clone());
            }
        }
        if pushed.is_empty() {
            return Ok(None);
        }
        let filters = unqualified_filters(scan)?;
        let source = t.table.scan_filtered(
            scan.projection.as_deref(),
            &filters,
            &pushed,
            scan.fetch,
            self.config.batch_size,
        )?;
        Ok(Some((source, conjunction(rest))))
    }

    fn create_node(&self, plan: &LogicalPlan) -> Result<PhysicalPlan> {
        Ok(match plan {
            LogicalPlan::TableScan(scan) => {
                let any = scan.source.as_any();
                let source: Arc<dyn DataSource> = if let Some(t) = any.downcast_ref::<FileTable>() {
                    let filters = unqualified_filters(scan)?;
                    t.table.scan(
                        scan.projection.as_deref(),
                        &filters,
                        scan.fetch,
                        self.config.batch_size,
                    )?
                } else if let Some(t) = any.downcast_ref::<MemTable>() {
                    Arc::new(t.source(scan.projection.as_deref())?)
                } else if let Some(t) = any.downcast_ref::<PersistedTable>() {
                    let filters = unqualified_filters(scan)?;
                    Arc::new(t.scan(scan.projection.as_deref(), &filters)?)
                } else {
                    return internal_err!("unknown table source for '{}'", scan.table_name);
                };
                PhysicalPlan::Source(source)
            }
            LogicalPlan::Projection(p) => {
                let input = self.create(&p.input)?;
                let in_schema = p.input.schema();
                let exprs = p
                    .exprs
                    .iter()
                    .map(|e| create_physical_expr(e, in_schema))
                    .collect::<Result<Vec<_>>>()?;
                let display = p
                    .exprs
                    .iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join(", ");
                let schema = p.schema.arrow_schema();
                PhysicalPlan::Stream {
                    input: Box::new(input),
                    op: Arc::new(ProjectionExec::new(exprs, schema, display)),
                }
            }
            LogicalPlan::Filter(f) => {
                let mut predicate = f.predicate.clone();
                let input = match f.input.as_ref() {
                    LogicalPlan::Window(w) => {
                        self.create_window(w, top_k_per_partition(&f.predicate, w))?
                    }
                    LogicalPlan::TableScan(scan) if self.config.optimize => {
                        match self.filtered_scan(scan, &f.predicate)? {
                            Some((source, None)) => return Ok(PhysicalPlan::Source(source)),
                            Some((source, Some(rest))) => {
                                predicate = rest;
                                PhysicalPlan::Source(source)
                            }
                            None => self.create(&f.input)?,
                        }
                    }
                    other => self.create(other)?,
                };
                let pred = create_physical_expr(&predicate, f.input.schema())?;
                PhysicalPlan::Stream {
                    input: Box::new(input),
                    op: Arc::new(FilterExec::new(pred, predicate.to_string())),
                }
            }
            LogicalPlan::Aggregate(a) => {
                let input = self.create(&a.input)?;
                let in_schema = a.input.schema();
                let out_schema = a.schema.arrow_schema();
                let groups = a
                    .group_exprs
                    .iter()
                    .enumerate()
                    .map(|(i, e)| {
                        Ok((
                            create_physical_expr(e, in_schema)?,
                            out_schema.field(i).name().clone(),
                        ))
                    })
                    .collect::<Result<Vec<_>>>()?;
                let nkeys = groups.len();
                let aggrs = a
                    .aggr_exprs
                    .iter()
                    .enumerate()
                    .map(|(i, e)| {
                        let field = out_schema.field(nkeys + i);
                        match e.unalias() {
                            Expr::AggregateFunction {
                                func,
                                args,
                                distinct,
                                filter,
                            } => Ok(AggregateExpr {
                                func: *func,
                                args: args
                                    .iter()
                                    .map(|x| create_physical_expr(x, in_schema))
                                    .collect::<Result<_>>()?,
                                distinct: *distinct,
                                filter: filter
                                    .as_ref()
                                    .map(|f| create_physical_expr(f, in_schema))
                                    .transpose()?,
                                return_type: field.data_type().clone(),
                                name: field.name().clone(),
                            }),
                            other => internal_err!("not an aggregate call: {other}"),
                        }
                    })
                    .collect::<Result<Vec<_>>>()?;
                let others: Vec<&Expr> = a.aggr_exprs.iter().collect();
                let input = dictionary_group_keys(input, &a.group_exprs, &others, in_schema);
                PhysicalPlan::Sink {
                    input: Box::new(input),
                    sink: Arc::new(HashAggregateExec::try_new(groups, aggrs, out_schema)?),
                }
            }
            LogicalPlan::Distinct(input_plan) => {
                let input = self.create(input_plan)?;
                let schema = input_plan.schema().arrow_schema();
                let keys: Vec<Expr> = input_plan
                    .schema()
                    .columns()
                    .into_iter()
                    .map(Expr::Column)
                    .collect();
                let input = dictionary_group_keys(input, &keys, &[], input_plan.schema());
                let groups = (0..schema.fields().len())
                    .map(|i| (PhysicalExpr::Column(i), schema.field(i).name().clone()))
                    .collect();
                PhysicalPlan::Sink {
                    input: Box::new(input),
                    sink: Arc::new(HashAggregateExec::try_new(groups, vec![], schema)?),
                }
            }
            LogicalPlan::Sort(s) => {
                let input = self.create(&s.input)?;
                let keys = s
                    .exprs
                    .iter()
                    .map(|k| {
                        Ok(PhysicalSortExpr {
                            expr: create_physical_expr(&k.expr, s.input.schema())?,
                            options: SortOptions {
                                descending: !k.asc,
                                nulls_first: k.nulls_first,
                            },
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                PhysicalPlan::Sink {
                    input: Box::new(input),
                    sink: Arc::new(SortExec::new(
                        keys,
                        s.fetch,
                        s.input.schema().arrow_schema(),
                    )),
                }
            }
            LogicalPlan::Limit(l) => {
                let input = self.create(&l.input)?;
                let schema = input.schema();
                PhysicalPlan::Sink {
                    input: Box::new(input),
                    sink: Arc::new(LimitExec::new(l.skip, l.fetch, schema)),
                }
            }
            LogicalPlan::Union(u) => {
                let inputs = u
                    .inputs
                    .iter()
                    .map(|i| self.create(i))
                    .collect::<Result<Vec<_>>>()?;
                PhysicalPlan::Union {
                    inputs,
                    schema: u.schema.arrow_schema(),
                }
            }
            LogicalPlan::Values(v) => {
                let schema = v.schema.arrow_schema();
                let batch = values_batch(&v.rows, &schema)?;
                PhysicalPlan::Source(Arc::new(MemorySource::new(schema, vec![vec![batch]])))
            }
            LogicalPlan::SubqueryAlias(s) => self.create(&s.input)?,
            LogicalPlan::Join(j) => self.create_join(j)?,
            LogicalPlan::Window(w) => self.create_window(w, None)?,
            LogicalPlan::Repartition(r) => self.create_repartition(r)?,
            LogicalPlan::MapPartitions(m) => {
                let input = self.create(&m.input)?;
                let in_schema = input.schema();
                PhysicalPlan::Sink {
                    input: Box::new(input),
                    sink: Arc::new(MapPartitionsExec::new(
                        Arc::clone(&m.func),
                        in_schema,
                        m.schema.arrow_schema(),
                        &m.name,
                    )),
                }
            }
            LogicalPlan::EmptyRelation(e) => {
                let schema = e.schema.arrow_schema();
                let rows = usize::from(e.produce_one_row);
                let columns: Vec<ArrayRef> = schema
                    .fields()
                    .iter()
                    .map(|f| new_null_array(f.data_type(), rows))
                    .collect();
                let batch = RecordBatch::try_new_with_options(
                    Arc::clone(&schema),
                    columns,
                    &RecordBatchOptions::new().with_row_count(Some(rows)),
                )?;
                PhysicalPlan::Source(Arc::new(MemorySource::new(schema, vec![vec![batch]])))
            }
        })
    }
}

impl PhysicalPlanner<'_> {
    /// A `ShuffleExec` (branch `partition`).
    fn create_repartition(&self, r: &Repartition) -> Result<PhysicalPlan> {
        let input = self.create(&r.input)?;
        let in_schema = r.input.schema();
        let partitioning = match &r.scheme {
            RepartitionScheme::RoundRobin(n) => Partitioning::RoundRobin(*n),
            RepartitionScheme::Hash(exprs, n) => Partitioning::Hash(
                exprs
                    .iter()
                    .map(|e| create_physical_expr(e, in_schema))
                    .collect::<Result<Vec<_>>>()?,
                *n,
            ),
            RepartitionScheme::Range { expr, bounds } => {
                let t = expr.get_type(in_schema)?;
                let arrays = bounds
                    .iter()
                    .map(|b| Ok(arrow::compute::cast(&b.to_array(1)?, &t)?))
                    .collect::<Result<Vec<ArrayRef>>>()?;
                let refs: Vec<&dyn arrow::array::Array> =
                    arrays.iter().map(|a| a.as_ref()).collect();
                let bounds = if refs.is_empty() {
                    new_null_array(&t, 0)
                } else {
                    arrow::compute::concat(&refs)?
                };
                Partitioning::Range {
                    key: create_physical_expr(expr, in_schema)?,
                    bounds,
                }
            }
        };
        let schema = input.schema();
        Ok(PhysicalPlan::Sink {
            input: Box::new(input),
            sink: Arc::new(ShuffleExec::new(partitioning, schema)),
        })
    }

    /// One `WindowExec` per distinct (PARTITION BY, ORDER BY), stacked; each appends its
    /// columns, so a projection restores the calls' order when the groups interleave.
    /// `top_k`: the filter above keeps the first K rows per partition (one call only).
    fn create_window(&self, w: &Window, top_k: Option<TopKPerPartition>) -> Result<PhysicalPlan> {
        let mut plan = self.create(&w.input)?;
        let in_schema = w.input.schema();
        let n_in = in_schema.len();
        let out_schema = w.schema.arrow_schema();
        // Groups of calls sharing a window, in order of first appearance.
        let mut groups: Vec<Vec<usize>> = Vec::new();
        let calls = w
            .window_exprs
            .iter()
            .map(|e| match e.unalias() {
                Expr::WindowFunction(f) => Ok(f.as_ref()),
                other => internal_err!("not a window call: {other}"),
            })
            .collect::<Result<Vec<_>>>()?;
        for (i, c) in calls.iter().enumerate() {
            match groups.iter_mut().find(|g| calls[g[0]].same_window(c)) {
                Some(g) => g.push(i),
                None => groups.push(vec![i]),
            }
        }
        let mut order: Vec<usize> = Vec::new();
        for g in &groups {
            let first = calls[g[0]];
            // Window inputs keep the original columns first, so expressions over the input
            // resolve to the same indices at every level.
            let partition_by = first
                .partition_by
                .iter()
                .map(|e| create_physical_expr(e, in_schema))
                .collect::<Result<Vec<_>>>()?;
            let order_by = first
                .order_by
                .iter()
                .map(|k| {
                    Ok(PhysicalSortExpr {
                        expr: create_physical_expr(&k.expr, in_schema)?,
                        options: SortOptions {
                            descending: !k.asc,
                            nulls_first: k.nulls_first,
                        },
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let mut exprs = Vec::new();
            for &i in g {
                let call = calls[i];
                let field = out_schema.field(n_in + i);
                let args = window_args(call, field.data_type(), in_schema)?
                    .iter()
                    .map(|a| create_physical_expr(a, in_schema))
                    .collect::<Result<Vec<_>>>()?;
                exprs.push(WindowFunctionExpr {
                    func: call.func,
                    args,
                    frame: call.frame.clone(),
                    return_type: field.data_type().clone(),
                    name: field.name().clone(),
                });
                order.push(i);
            }
            let mut exec = WindowExec::try_new(partition_by, order_by, exprs, plan.schema())?;
            if let (Some(spec), 1) = (top_k, groups.len()) {
                exec = exec.with_top_k(spec);
            }
            plan = PhysicalPlan::Sink {
                input: Box::new(plan),
                sink: Arc::new(exec),
            };
        }
        if order.iter().enumerate().all(|(k, &i)| k == i) {
            return Ok(plan);
        }
        // Column of call i in the stacked output.
        let mut exprs: Vec<PhysicalExpr> = (0..n_in).map(PhysicalExpr::Column).collect();
        for i in 0..order.len() {
            let pos = order.iter().position(|&o| o == i).unwrap_or(i);
            exprs.push(PhysicalExpr::Column(n_in + pos));
        }
        Ok(PhysicalPlan::Stream {
            input: Box::new(plan),
            op: Arc::new(ProjectionExec::new(
                exprs,
                out_schema,
                "(window columns in order)".to_string(),
            )),
        })
    }

    /// A hash join when there are equi-keys the hash join can compare, else a nested loop.
    /// Both build the right input unless an inner join's left input is estimated smaller.
    fn create_join(&self, j: &Join) -> Result<PhysicalPlan> {
        let (ls, rs) = (j.left.schema(), j.right.schema());
        let mut on = Vec::with_capacity(j.on.len());
        let mut hashable = true;
        let mut display = Vec::new();
        for (l, r) in &j.on {
            let (lt, rt) = (l.get_type(ls)?, r.get_type(rs)?);
            let Some(t) = comparison_type(&lt, &rt) else {
                return rask_common::plan_err!("cannot join on {l} = {r}: {lt} and {rt}");
            };
            hashable &= is_hashable_key_type(&t);
            let cast = |e: &Expr, from: &arrow::datatypes::DataType| {
                if *from == t {
                    e.clone()
                } else {
                    e.clone().cast(t.clone())
                }
            };
            on.push((
                create_physical_expr(&cast(l, &lt), ls)?,
                create_physical_expr(&cast(r, &rt), rs)?,
            ));
            display.push(format!("{l} = {r}"));
        }
        let filter = j
            .filter
            .as_ref()
            .map(|f| join_filter(f, ls, rs))
            .transpose()?;
        let mut text = String::new();
        if !display.is_empty() {
            text = format!("on=[{}]", display.join(", "));
        }
        if let Some(f) = &j.filter {
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(&format!("filter={f}"));
        }
        let null_aware = j.join_type == JoinType::LeftAntiNullAware;
        let use_hash =
            !on.is_empty() && hashable && !(null_aware && (on.len() != 1 || filter.is_some()));
        // Build the right side unless the left is estimated clearly smaller (`build_left`),
        // for every join type (semi, anti and outer joins then emit matched or unmatched build
        // rows after probing); `NOT IN` must build its right input.
        let build_side = match (j.join_type, estimate_rows(&j.left), estimate_rows(&j.right)) {
            (JoinType::LeftAntiNullAware, _, _) => JoinSide::Right,
            (_, l, r) if build_left(l, r) => JoinSide::Left,
            _ => JoinSide::Right,
        };
        let left = self.create(&j.left)?;
        let right = self.create(&j.right)?;
        let (build, mut probe) = match build_side {
            JoinSide::Right => (right, left),
            JoinSide::Left => (left, right),
        };
        // Runtime filters: each probe key that is a column of the probe pipeline's source
        // (maybe cast) gets the build keys' filter at that source.
        let mut runtime_filters = Vec::new();
        if self.config.optimize && use_hash && filters_probe_rows(j.join_type, build_side) {
            for (k, (l, r)) in on.iter().enumerate() {
                let key = if build_side == JoinSide::Right { l } else { r };
                let column = match key {
                    PhysicalExpr::Column(i) => *i,
                    PhysicalExpr::Cast { expr, .. } => match expr.as_ref() {
                        PhysicalExpr::Column(i) => *i,
                        _ => continue,
                    },
                    _ => continue,
                };
                let slot = RuntimeFilterSlot::default();
                if attach_runtime_filter(&mut probe, column, &slot) {
                    runtime_filters.push((k, slot));
                }
            }
        }
        let spec = JoinSpec {
            join_type: j.join_type,
            left_schema: ls.arrow_schema(),
            right_schema: rs.arrow_schema(),
            on,
            filter,
            schema: j.schema.arrow_schema(),
            build_side,
            display: text,
            runtime_filters,
        };
        let join: Arc<dyn JoinExec> = if use_hash {
            Arc::new(HashJoinExec::try_new(spec)?)
        } else {
            Arc::new(NestedLoopJoinExec::try_new(spec)?)
        };
        Ok(PhysicalPlan::Join {
            build: Box::new(build),
            probe: Box::new(probe),
            join,
        })
    }
}

/// Puts a runtime filter on column `column` of `plan`'s output at the sources that column
/// comes from, through operators and joins that pass it on, and from a build key to the
/// probe key it equals (see [`rask_exec::join::runtime_filter`]); false when it reaches none.
fn attach_runtime_filter(plan: &mut PhysicalPlan, column: usize, slot: &RuntimeFilterSlot) -> bool {
    match plan {
        PhysicalPlan::Source(s) => {
            let Some(field) = s.schema().fields().get(column).cloned() else {
                return false;
            };
            let target = [(column, slot.clone())];
            let source = s
                .with_runtime_filters(&target)
                .unwrap_or_else(|| Arc::clone(s));
            *plan = PhysicalPlan::Stream {
                input: Box::new(PhysicalPlan::Source(source)),
                op: Arc::new(RuntimeFilterExec::new(
                    target.to_vec(),
                    field.name().to_string(),
                )),
            };
            true
        }
        PhysicalPlan::Stream { input, op } => match op.input_column(column) {
            Some(c) => attach_runtime_filter(input, c, slot),
            None => false,
        },
        PhysicalPlan::Join { probe, build, join } => {
            let to_probe = join
                .probe_input_column(column)
                .is_some_and(|c| attach_runtime_filter(probe, c, slot));
            let to_build = join
                .build_input_column(column)
                .is_some_and(|c| attach_runtime_filter(build, c, slot));
            to_probe || to_build
        }
        // A shared result is read by other places too.
        PhysicalPlan::Sink { .. } | PhysicalPlan::Union { .. } | PhysicalPlan::Shared(_) => false,
    }
}

/// What identifies an aggregation over plain relational operators and tables: its plan text
/// and the identity of every table it reads. `None` for other nodes (and for plans whose text
/// does not show everything, such as VALUES lists or user functions).
fn shared_key(plan: &LogicalPlan) -> Option<String> {
    fn tables(plan: &LogicalPlan, out: &mut String) -> bool {
        match plan {
            LogicalPlan::TableScan(s) => {
                out.push_str(&format!(" {:p}", Arc::as_ptr(&s.source) as *const ()));
                true
            }
            LogicalPlan::Filter(_)
            | LogicalPlan::Projection(_)
            | LogicalPlan::Aggregate(_)
            | LogicalPlan::Join(_)
            | LogicalPlan::SubqueryAlias(_)
            | LogicalPlan::Distinct(_)
            | LogicalPlan::Sort(_)
            | LogicalPlan::Limit(_) => plan.inputs().into_iter().all(|i| tables(i, out)),
            _ => false,
        }
    }
    if !matches!(plan, LogicalPlan::Aggregate(_)) {
        return None;
    }
    let mut key = plan.display_indent();
    tables(plan, &mut key).then_some(key)
}

/// Counts the [`shared_key`]s of `plan`'s nodes.
fn count_shareable(plan: &LogicalPlan, counts: &mut HashMap<String, usize>) {
    if let Some(k) = shared_key(plan) {
        *counts.entry(k).or_default() += 1;
    }
    for i in plan.inputs() {
        count_shareable(i, counts);
    }
}

/// When `predicate` (a filter over `w`) keeps only rows whose one window call,
/// `row_number()` or `rank()`, is at most some K: that K (`rn <= K`, `rn < K + 1`, `rn = 1`,
/// either side, in any conjunct).
fn top_k_per_partition(predicate: &Expr, w: &Window) -> Option<TopKPerPartition> {
    use rask_expr::Operator;
    let [call] = w.window_exprs.as_slice() else {
        return None;
    };
    let keep_ties = match call.unalias() {
        Expr::WindowFunction(f) if f.func == WindowFunc::RowNumber => false,
        Expr::WindowFunction(f) if f.func == WindowFunc::Rank => true,
        _ => return None,
    };
    let output = w.input.schema().len();
    let is_call =
        |e: &Expr| matches!(e, Expr::Column(c) if w.schema.index_of_column(c).ok() == Some(output));
    let int = |e: &Expr| match e {
        Expr::Literal(v) => v.as_i64(),
        _ => None,
    };
    let k = split_conjunction(predicate)
        .into_iter()
        .filter_map(|c| match c {
            Expr::BinaryExpr { left, op, right } => {
                let (op, bound) = if is_call(left) {
                    (*op, int(right)?)
                } else if is_call(right) {
                    (op.swap()?, int(left)?)
                } else {
                    return None;
                };
                match op {
                    Operator::LtEq => Some(bound),
                    Operator::Lt => Some(bound.saturating_sub(1)),
                    Operator::Eq if bound == 1 => Some(1),
                    _ => None,
                }
            }
            _ => None,
        })
        .min()?;
    Some(TopKPerPartition {
        k: usize::try_from(k).ok().filter(|k| *k >= 1)?,
        keep_ties,
    })
}

/// The arguments of a window call with the casts `WindowExec` expects: counts, offsets and
/// positions as BIGINT, `lag`/`lead`'s default as the result type.
fn window_args(
    call: &rask_expr::WindowFunction,
    result: &arrow::datatypes::DataType,
    schema: &PlanSchema,
) -> Result<Vec<Expr>> {
    use arrow::datatypes::DataType;
    call.args
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let want = match (call.func, i) {
                (WindowFunc::Ntile, 0)
                | (WindowFunc::Lag | WindowFunc::Lead, 1)
                | (WindowFunc::NthValue, 1) => Some(DataType::Int64),
                (WindowFunc::Lag | WindowFunc::Lead, 2) => Some(result.clone()),
                _ => None,
            };
            match want {
                Some(t) if a.get_type(schema)? != t => Ok(a.clone().cast(t)),
                _ => Ok(a.clone()),
            }
        })
        .collect()
}

/// Binds a join's residual condition to the few input columns it reads.
fn join_filter(f: &Expr, ls: &PlanSchema, rs: &PlanSchema) -> Result<JoinFilter> {
    let both = ls.join(rs);
    let mut indices: Vec<usize> = Vec::new();
    for c in f.columns() {
        let i = both.index_of_column(&c)?;
        if !indices.contains(&i) {
            indices.push(i);
        }
    }
    let fields = indices.iter().map(|i| both.fields()[*i].clone()).collect();
    let schema = PlanSchema::new(fields);
    let columns = indices
        .iter()
        .map(|&i| {
            if i < ls.len() {
                (JoinSide::Left, i)
            } else {
                (JoinSide::Right, i - ls.len())
            }
        })
        .collect();
    Ok(JoinFilter {
        expr: create_physical_expr(f, &schema)?,
        columns,
        schema: schema.arrow_schema(),
    })
}

/// Evaluates the constant rows of a VALUES list into one batch of `schema`.
fn values_batch(rows: &[Vec<Expr>], schema: &SchemaRef) -> Result<RecordBatch> {
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
    for (c, field) in schema.fields().iter().enumerate() {
        let mut values = Vec::with_capacity(rows.len());
        for row in rows {
            let v = evaluate_constant(&row[c])?;
            values.push(v.cast_to(field.data_type())?.to_array(1)?);
        }
        let refs: Vec<&dyn arrow::array::Array> = values.iter().map(|a| a.as_ref()).collect();
        columns.push(if refs.is_empty() {
            new_null_array(field.data_type(), 0)
        } else {
            arrow::compute::concat(&refs)?
        });
    }
    Ok(RecordBatch::try_new_with_options(
        Arc::clone(schema),
        columns,
        &RecordBatchOptions::new().with_row_count(Some(rows.len())),
    )?)
}

/// Strips relation qualifiers from columns: files know their columns by bare name.
/// A scan's pruning filters over unqualified column names, as tables take them.
fn unqualified_filters(scan: &TableScan) -> Result<Vec<Expr>> {
    scan.filters.iter().map(|f| unqualify(f.clone())).collect()
}

fn unqualify(e: Expr) -> Result<Expr> {
    e.transform_up(&mut |e| {
        Ok(match e {
            Expr::Column(c) => Expr::Column(Column::new(c.name)),
            other => other,
        })
    })
}

/// `input` with its string columns that `group_exprs` name bare, and that neither the other
/// group expressions nor `others` read, coming as dictionaries when `input` is a scan that can
/// read them so (Parquet columns stored dictionary-encoded): the aggregation's string interner
/// then looks each distinct string up once per column chunk, and the scan never copies the
/// strings out. Only filters and projections that hand the columns on unread may stand
/// between: anything else would be given dictionaries where the plan says `Utf8`.
fn dictionary_group_keys(
    input: PhysicalPlan,
    group_exprs: &[Expr],
    others: &[&Expr],
    schema: &PlanSchema,
) -> PhysicalPlan {
    let mut read_otherwise: Vec<usize> = Vec::new();
    let mut bare: Vec<usize> = Vec::new();
    for e in group_exprs {
        match e.unalias() {
            Expr::Column(c) => bare.extend(schema.index_of_column(c).ok()),
            other => {
                for c in other.columns() {
                    read_otherwise.extend(schema.index_of_column(&c).ok());
                }
            }
        }
    }
    for e in others {
        for c in e.columns() {
            read_otherwise.extend(schema.index_of_column(&c).ok());
        }
    }
    let mut columns: Vec<usize> = bare
        .into_iter()
        .filter(|&c| {
            !read_otherwise.contains(&c)
                && c < schema.fields().len()
                && *schema.field(c).data_type() == arrow::datatypes::DataType::Utf8
        })
        .collect();
    columns.sort_unstable();
    columns.dedup();
    if columns.is_empty() {
        return input;
    }
    dictionary_input(&input, &columns).unwrap_or(input)
}

/// `plan` producing its columns `columns` as dictionaries: a scan that reads them so, under
/// operators that hand them on unread.
fn dictionary_input(plan: &PhysicalPlan, columns: &[usize]) -> Option<PhysicalPlan> {
    match plan {
        PhysicalPlan::Source(source) => source
            .with_dictionary_columns(columns)
            .map(PhysicalPlan::Source),
        PhysicalPlan::Stream { input, op } => {
            let (op, inputs) = op.pass_dictionaries(columns)?;
            Some(PhysicalPlan::Stream {
                input: Box::new(dictionary_input(input, &inputs)?),
                op,
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::{Array, Int32Array, Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use arrow::util::display::array_value_to_string;
    use rask_exec::{Executor, TaskContext};
    use rask_expr::col;

    use super::*;
    use crate::SessionContext;

    fn context() -> SessionContext {
        let ctx = SessionContext::new();
        let ls = Arc::new(Schema::new(vec![
            Field::new("k", DataType::Int32, true),
            Field::new("a", DataType::Utf8, true),
        ]));
        let l = RecordBatch::try_new(
            Arc::clone(&ls),
            vec![
                Arc::new(Int32Array::from(vec![
                    Some(1),
                    Some(2),
                    Some(2),
                    None,
                    Some(5),
                ])),
                Arc::new(StringArray::from(vec!["x", "y", "z", "n", "w"])),
            ],
        )
        .unwrap();
        ctx.register_batches("l", ls, vec![vec![l.slice(0, 2)], vec![l.slice(2, 3)]])
            .unwrap();
        let rs = Arc::new(Schema::new(vec![
            Field::new("k", DataType::Int64, true),
            Field::new("b", DataType::Int64, true),
        ]));
        let r = RecordBatch::try_new(
            Arc::clone(&rs),
            vec![
                Arc::new(Int64Array::from(vec![
                    Some(2),
                    Some(2),
                    Some(3),
                    None,
                    Some(1),
                ])),
                Arc::new(Int64Array::from(vec![10, 20, 30, 40, 5])),
            ],
        )
        .unwrap();
        ctx.register_batches("r", rs, vec![vec![r]]).unwrap();
        ctx
    }

    /// Plans and runs `l JOIN r`; returns the sorted rows and the physical plan text.
    fn run(
        on: Vec<(Expr, Expr)>,
        filter: Option<Expr>,
        join_type: JoinType,
    ) -> (Vec<String>, String) {
        let ctx = context();
        let left = Arc::clone(ctx.table("l").unwrap().logical_plan());
        let right = Arc::clone(ctx.table("r").unwrap().logical_plan());
        let join = Join::try_new(left, right, on, filter, join_type).unwrap();
        let plan = LogicalPlan::Join(join);
        let config = SessionConfig::new().with_threads(2);
        let physical = PhysicalPlanner::new(&config).create(&plan).unwrap();
        assert_eq!(physical.schema(), plan.schema().arrow_schema());
        let batches = Executor::new(TaskContext::new(config))
            .collect(&physical)
            .unwrap();
        let mut rows = Vec::new();
        for b in &batches {
            for i in 0..b.num_rows() {
                let cells: Vec<String> = b
                    .columns()
                    .iter()
                    .map(|c| {
                        if c.is_null(i) {
                            "NULL".into()
                        } else {
                            array_value_to_string(c, i).unwrap()
                        }
                    })
                    .collect();
                rows.push(cells.join("|"));
            }
        }
        rows.sort();
        (rows, physical.display_indent())
    }

    #[test]
    fn inner_join_builds_the_smaller_input() {
        let ctx = context();
        let left =
            rask_expr::LogicalPlanBuilder::from(Arc::clone(ctx.table("l").unwrap().logical_plan()))
                .limit(0, Some(2))
                .build();
        // 2 rows against 5: less than half, so the left input is built.
        let right = Arc::clone(ctx.table("r").unwrap().logical_plan());
        let join = Join::try_new(left, right, on_k(), None, JoinType::Inner).unwrap();
        let config = SessionConfig::new();
        let physical = PhysicalPlanner::new(&config)
            .create(&LogicalPlan::Join(join))
            .unwrap();
        let text = physical.display_indent();
        assert!(text.contains("build=left"), "{text}");
        let batches = Executor::new(TaskContext::new(config))
            .collect(&physical)
            .unwrap();
        let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
        // l's first two rows (1, 2) against r: 1 + 2 pairs.
        assert_eq!(rows, 3);
        assert_eq!(batches[0].schema().field(0).name(), "k");
        assert_eq!(batches[0].schema().field(1).name(), "a");
    }

    fn on_k() -> Vec<(Expr, Expr)> {
        vec![(col("l.k"), col("r.k"))]
    }

    #[test]
    fn inner_join_casts_keys_to_a_common_type() {
        let (rows, plan) = run(on_k(), None, JoinType::Inner);
        assert_eq!(
            rows,
            ["1|x|1|5", "2|y|2|10", "2|y|2|20", "2|z|2|10", "2|z|2|20"]
        );
        assert!(
            plan.starts_with("HashJoinExec: Inner on=[l.k = r.k]"),
            "{plan}"
        );
    }

    #[test]
    fn left_join_with_residual_filter() {
        let filter = col("r.b").gt(rask_expr::lit(10i64));
        let (rows, _) = run(on_k(), Some(filter), JoinType::Left);
        assert_eq!(
            rows,
            [
                "1|x|NULL|NULL",
                "2|y|2|20",
                "2|z|2|20",
                "5|w|NULL|NULL",
                "NULL|n|NULL|NULL"
            ]
        );
    }

    #[test]
    fn right_anti_and_null_aware_anti_joins() {
        let (rows, _) = run(on_k(), None, JoinType::RightAnti);
        assert_eq!(rows, ["3|30", "NULL|40"]);
        // `l.k NOT IN (SELECT r.k ...)` with a NULL among r.k: no row.
        let (rows, _) = run(on_k(), None, JoinType::LeftAntiNullAware);
        assert!(rows.is_empty(), "{rows:?}");
    }

    #[test]
    fn cross_and_non_equi_joins_use_a_nested_loop() {
        let (rows, plan) = run(vec![], None, JoinType::Inner);
        assert_eq!(rows.len(), 25);
        assert!(plan.starts_with("NestedLoopJoinExec: Inner"), "{plan}");
        let filter = col("l.k").lt(col("r.k"));
        let (rows, _) = run(vec![], Some(filter), JoinType::Inner);
        assert_eq!(
            rows,
            ["1|x|2|10", "1|x|2|20", "1|x|3|30", "2|y|3|30", "2|z|3|30"]
        );
    }
}
