//! DataFrame API tests: reshape.
