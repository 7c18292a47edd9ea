//! rask's executor: physical expressions, morsel-driven pipelines and operators.
#![warn(missing_docs)]

pub mod columnar;
pub mod functions;
pub mod source;

pub use columnar::ColumnarValue;
pub use source::{BatchIter, DataSource, MemoryMorsel, MemorySource, Morsel, MorselRef};
