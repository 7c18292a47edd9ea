//! Benchmark runners of rask.
