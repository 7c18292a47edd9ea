//! Integration tests of rask live in `it/`.
