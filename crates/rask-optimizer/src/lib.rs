//! rask's logical optimizer: rewrites a [`LogicalPlan`](rask_expr::LogicalPlan) into a cheaper
//! one with the same output schema and the same result.
//!
//! Place in the pipeline: `rask-sql` (or the DataFrame API) builds a logical plan, the
//! [`Optimizer`] rewrites it with an ordered list of [`OptimizerRule`]s, and the facade lowers the
//! result to physical operators. Each rule lives in its own file under [`rules`].
//!
//! ```
//! use rask_expr::{lit, LogicalPlanBuilder};
//! use rask_optimizer::Optimizer;
//!
//! let plan = LogicalPlanBuilder::empty(true)
//!     .project(vec![lit(1i64).add(lit(2i64)).alias("three")])
//!     .unwrap()
//!     .build();
//! let optimized = Optimizer::new().optimize(plan).unwrap();
//! assert_eq!(optimized.display_indent(), "Projection: 3 AS three\n  EmptyRelation: rows=1\n");
//! ```
#![warn(missing_docs)]

mod optimizer;
pub mod rules;
mod utils;

#[cfg(test)]
mod test_util;

pub use optimizer::{Optimizer, OptimizerRule, RuleTiming};
pub use rules::{build_left, estimate_rows};
