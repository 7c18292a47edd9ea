//! rask: a partitioned dataframe query engine.
//!
//! A table is a list of row partitions of Arrow record batches (files, Parquet row groups,
//! CSV byte ranges, in-memory batches). Every call builds a lazy logical plan; `collect`
//! optimizes it and runs it per partition in parallel on a rayon pool.
//!
//! The pipeline, crate by crate:
//! * `rask-sql`: SQL text to a logical plan (sqlparser).
//! * `rask-expr`: expressions, logical plans, type rules.
//! * `rask-optimizer`: rewrite rules, one per file.
//! * this crate's planner: logical to physical plan.
//! * `rask-exec`: morsel-driven pipelines, operators, the memory pool.
//! * `rask-io`: CSV and Parquet tables and writers.
//!
//! ```
//! use rask::{col, lit, SessionContext};
//! # fn main() -> rask::Result<()> {
//! let ctx = SessionContext::new();
//! ctx.register_data_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../datasets/tpch-sf0.01"))?;
//! let df = ctx.sql("SELECT r_name FROM region WHERE r_regionkey < 2 ORDER BY r_name")?;
//! println!("{df}");
//! let df = ctx.table("nation")?.filter(col("n_regionkey").eq(lit(1i64)))?;
//! assert_eq!(df.count()?, 5);
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]

mod catalog;
mod columns;
mod context;
mod dataframe;
pub mod functions;
mod persist;
mod planner;
#[cfg(feature = "polars")]
mod polars_interop;
mod process;
mod read_options;
mod write;

pub use catalog::{FileTable, MemTable};
pub use columns::ColumnData;
pub use context::{QueryStats, SessionContext};
pub use dataframe::{BatchStream, DataFrame, GroupBy};
pub use persist::PersistedTable;
pub use process::tune_allocator;
// reshape branch: window expressions, rolling and resample.
pub use dataframe::{Resample, Rolling, Window, WindowExt};
pub use rask_common::{Error, Result, ScalarValue, Scheduler, SessionConfig};
pub use rask_exec::{
    cancel_running_queries, remove_live_spill_dirs, reset_cancellation, ProgressInfo,
};
pub use rask_expr::{col, lit, Expr, SortExpr, TableSource};
pub use rask_expr::{WindowFrame, WindowFrameBound, WindowFrameUnits};
pub use rask_io::{CsvOptions, ParquetCompression};
pub use rask_sql::split_sql_statements;
pub use read_options::ReadOptions;
pub use write::WriteBuilder;
// accessors branch: the `.str()` / `.dt()` accessor types.
pub use rask_expr::{DtAccessor, StrAccessor};
