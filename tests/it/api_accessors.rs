//! DataFrame API tests: accessors.
