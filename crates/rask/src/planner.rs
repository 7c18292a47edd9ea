//! The physical planner: an optimized [`LogicalPlan`] becomes a [`PhysicalPlan`] of sources,
//! streaming operators and sinks.
//!
//! Logical columns are resolved to indices here, once; operators never look names up. Scans
//! hand their projection, pruning filters and fetch to the table (`rask-io` turns them into a
//! Parquet `ProjectionMask`, row-group and hive-partition pruning, CSV column selection).

use std::sync::Arc;

use arrow::array::{new_null_array, ArrayRef, RecordBatch, RecordBatchOptions};
use arrow::compute::SortOptions;
use arrow::datatypes::SchemaRef;
use rask_common::{internal_err, Result, SessionConfig};
use rask_exec::aggregate::{AggregateExpr, HashAggregateExec};
use rask_exec::filter::FilterExec;
use rask_exec::limit::LimitExec;
use rask_exec::physical_expr::evaluate_constant;
use rask_exec::projection::ProjectionExec;
use rask_exec::sort::{PhysicalSortExpr, SortExec};
use rask_exec::{create_physical_expr, DataSource, MemorySource, PhysicalPlan};
use rask_expr::{Column, Expr, LogicalPlan, PlanSchema};

use crate::catalog::{FileTable, MemTable};

/// Turns optimized logical plans into physical plans.
pub(crate) struct PhysicalPlanner<'a> {
    config: &'a SessionConfig,
}

impl<'a> PhysicalPlanner<'a> {
    pub(crate) fn new(config: &'a SessionConfig) -> Self {
        PhysicalPlanner { config }
    }

    pub(crate) fn create(&self, plan: &LogicalPlan) -> Result<PhysicalPlan> {
        Ok(match plan {
            LogicalPlan::TableScan(scan) => {
                let any = scan.source.as_any();
                let source: Arc<dyn DataSource> = if let Some(t) = any.downcast_ref::<FileTable>() {
                    let filters = scan
                        .filters
                        .iter()
                        .map(|f| unqualify(f.clone()))
                        .collect::<Result<Vec<_>>>()?;
                    t.table.scan(
                        scan.projection.as_deref(),
                        &filters,
                        scan.fetch,
                        self.config.batch_size,
                    )?
                } else if let Some(t) = any.downcast_ref::<MemTable>() {
                    Arc::new(t.source(scan.projection.as_deref())?)
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
                let input = self.create(&f.input)?;
                let pred = create_physical_expr(&f.predicate, f.input.schema())?;
                PhysicalPlan::Stream {
                    input: Box::new(input),
                    op: Arc::new(FilterExec::new(pred, f.predicate.to_string())),
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
                PhysicalPlan::Sink {
                    input: Box::new(input),
                    sink: Arc::new(HashAggregateExec::try_new(groups, aggrs, out_schema)?),
                }
            }
            LogicalPlan::Distinct(input_plan) => {
                let input = self.create(input_plan)?;
                let schema = input_plan.schema().arrow_schema();
                let groups = (0..schema.fields().len())
                    .map(|i| {
                        (
                            rask_exec::PhysicalExpr::Column(i),
                            schema.field(i).name().clone(),
                        )
                    })
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
                let batch = values_batch(&v.rows, &v.schema, &schema)?;
                PhysicalPlan::Source(Arc::new(MemorySource::new(schema, vec![vec![batch]])))
            }
            LogicalPlan::SubqueryAlias(s) => self.create(&s.input)?,
            LogicalPlan::Join(_) => {
                return rask_common::not_impl_err!("joins are not supported yet")
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

/// Evaluates the constant rows of a VALUES list into one batch of `schema`.
fn values_batch(
    rows: &[Vec<Expr>],
    plan_schema: &PlanSchema,
    schema: &SchemaRef,
) -> Result<RecordBatch> {
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
    let _ = plan_schema;
    Ok(RecordBatch::try_new_with_options(
        Arc::clone(schema),
        columns,
        &RecordBatchOptions::new().with_row_count(Some(rows.len())),
    )?)
}

/// Strips relation qualifiers from columns: files know their columns by bare name.
fn unqualify(e: Expr) -> Result<Expr> {
    e.transform_up(&mut |e| {
        Ok(match e {
            Expr::Column(c) => Expr::Column(Column::new(c.name)),
            other => other,
        })
    })
}
