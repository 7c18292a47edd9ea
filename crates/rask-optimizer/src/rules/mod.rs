//! The optimizer rules, one per file. [`crate::Optimizer::new`] lists them in the order they run.

mod common_subexpr_eliminate;
mod factor_disjunctions;
mod projection_pruning;
mod push_down_filter;
mod push_down_limit;
mod reorder_joins;
mod simplify_expressions;
mod single_distinct_to_groupby;

pub use common_subexpr_eliminate::CommonSubexprEliminate;
pub use factor_disjunctions::FactorDisjunctions;
pub use projection_pruning::ProjectionPruning;
pub use push_down_filter::PushDownFilter;
pub use push_down_limit::PushDownLimit;
pub use reorder_joins::{build_left, estimate_rows, ReorderJoins};
pub use simplify_expressions::{simplify_expr, SimplifyExpressions};
pub use single_distinct_to_groupby::SingleDistinctToGroupBy;
