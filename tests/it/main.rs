//! rask's integration tests: one binary (`cargo test -p rask-tests`).

mod api;
mod api_accessors;
mod api_partition;
mod api_reshape;
mod api_transform;
mod api_write;
mod dictionary_keys;
mod examples;
mod runtime_filter;
mod scan_filter;
mod slt;
mod tpch;
