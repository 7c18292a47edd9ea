//! DataFrame API tests: transform.
