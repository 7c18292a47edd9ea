//! rask's integration tests: one binary (`cargo test -p rask-tests`).

mod api;
mod slt;
mod tpch;
