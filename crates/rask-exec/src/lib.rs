//! rask's executor: physical expressions, morsel-driven pipelines and operators.
#![warn(missing_docs)]

pub mod aggregate;
pub mod columnar;
pub mod executor;
pub mod filter;
pub mod functions;
pub mod hash;
pub mod join;
pub mod like;
pub mod limit;
pub mod map_partitions;
pub mod memory;
pub mod partition_store;
pub mod physical_expr;
pub mod projection;
pub mod shuffle;
pub mod sort;
pub mod source;
pub mod spill;
pub mod stream_sink;
pub mod window;
pub mod window_topk;

pub use columnar::ColumnarValue;
pub use executor::{
    cancel_running_queries, reset_cancellation, Executor, PhysicalPlan, ProgressCallback,
    ProgressInfo, SharedPlan, Sink, SinkLocal, StreamOperator, TaskContext,
};
pub use memory::{MemoryPool, Reservation};
pub use physical_expr::{create_physical_expr, PhysicalExpr};
pub use source::{BatchIter, DataSource, MemoryMorsel, MemorySource, Morsel, MorselRef};
pub use spill::{remove_live_spill_dirs, SpillManager, SpillMetrics};
