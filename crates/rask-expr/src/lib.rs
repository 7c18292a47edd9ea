//! rask's logical layer: [`Expr`] expressions, [`LogicalPlan`] nodes, [`PlanSchema`] and the
//! type rules that give every plan a known schema before it runs.
//!
//! ```
//! use rask_expr::{col, lit};
//! let pred = col("l_quantity").lt(lit(24i64));
//! assert_eq!(pred.to_string(), "l_quantity < 24");
//! ```
#![warn(missing_docs)]

pub mod accessors;
pub mod expr;
pub mod expr_type;
pub mod functions;
pub mod logical_plan;
pub mod schema;
pub mod type_coercion;

pub use accessors::{DtAccessor, StrAccessor};
pub use expr::{
    col, conjunction, lit, split_conjunction, AggFunc, Column, Expr, Literal, Operator, ScalarFunc,
    SortExpr, WindowFrame, WindowFrameBound, WindowFrameUnits, WindowFunc, WindowFunction,
};
pub use logical_plan::{
    Aggregate, EmptyRelation, Filter, Join, JoinType, Limit, LogicalPlan, LogicalPlanBuilder,
    Projection, Sort, SubqueryAlias, TableScan, TableSource, Union, Values, Window,
};
// branch `partition`
pub use logical_plan::{MapPartitions, PartitionFn, Repartition, RepartitionScheme};
pub use schema::{PlanSchema, PlanSchemaRef};
