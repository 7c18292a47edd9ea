//! DataFrame API tests: partition.
