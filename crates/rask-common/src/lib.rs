//! Shared foundations of rask: the one [`Error`] type, [`ScalarValue`] and the session
//! configuration [`SessionConfig`].
//!
//! Every other rask crate depends on this one and nothing here depends on them.
//!
//! ```
//! use rask_common::{plan_err, Result};
//! fn check(n: usize) -> Result<usize> {
//!     if n == 0 {
//!         return plan_err!("expected at least one column");
//!     }
//!     Ok(n)
//! }
//! assert!(check(0).is_err());
//! ```
#![warn(missing_docs)]

mod config;
mod error;
mod scalar;

pub use config::{Scheduler, SessionConfig};
pub use error::{Error, Result};
pub use scalar::ScalarValue;
