//! String (`.str()`) and date/time (`.dt()`) accessors on expressions.
