//! The one error type of rask, split by who is at fault.

use arrow::error::ArrowError;
use parquet::errors::ParquetError;

/// Result with rask's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Every error rask returns. The variant says who is at fault.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The SQL text does not parse; the message names the position.
    #[error("SQL error: {0}")]
    Sql(String),
    /// The query is well-formed but cannot be planned (unknown column, type mismatch, ...).
    #[error("Plan error: {0}")]
    Plan(String),
    /// Bad data met while running: the message names the file, line, column and value.
    #[error("Execution error: {0}")]
    Execution(String),
    /// A feature rask does not have yet.
    #[error("Not supported yet: {0}")]
    NotImplemented(String),
    /// The memory limit cannot hold what an operator needs.
    #[error("Resources exhausted: {0}")]
    ResourcesExhausted(String),
    /// A bug in rask.
    #[error("Internal error: {0}. This is a bug in rask, please report it")]
    Internal(String),
    /// An error from an Arrow kernel.
    #[error("Arrow error: {0}")]
    Arrow(#[from] Box<ArrowError>),
    /// An error from the Parquet reader or writer.
    #[error("Parquet error: {0}")]
    Parquet(#[from] Box<ParquetError>),
    /// An I/O error, with the path it concerns when known.
    #[error("IO error: {0}")]
    Io(#[from] std::io::Error),
    /// An error with added context (for example the file being read).
    #[error("{context}: {source}")]
    Context {
        /// What was being done.
        context: String,
        /// The underlying error.
        source: Box<Error>,
    },
}

impl From<ArrowError> for Error {
    fn from(e: ArrowError) -> Self {
        match e {
            ArrowError::ExternalError(inner) => match inner.downcast::<Error>() {
                Ok(err) => *err,
                Err(other) => Error::Arrow(Box::new(ArrowError::ExternalError(other))),
            },
            ArrowError::DivideByZero => {
                Error::Execution("division by zero (use NULLIF(divisor, 0) to get NULL)".into())
            }
            other => Error::Arrow(Box::new(other)),
        }
    }
}

impl From<ParquetError> for Error {
    fn from(e: ParquetError) -> Self {
        Error::Parquet(Box::new(e))
    }
}

impl Error {
    /// Wraps this error with a description of what was being done.
    pub fn context(self, context: impl Into<String>) -> Error {
        Error::Context {
            context: context.into(),
            source: Box::new(self),
        }
    }

    /// The innermost error, past any [`Error::Context`] layers.
    pub fn root(&self) -> &Error {
        match self {
            Error::Context { source, .. } => source.root(),
            e => e,
        }
    }
}

/// Returns early with an [`Error::Plan`] built like `format!`.
#[macro_export]
macro_rules! plan_err {
    ($($arg:tt)*) => { Err($crate::Error::Plan(format!($($arg)*))) };
}

/// Returns early with an [`Error::Execution`] built like `format!`.
#[macro_export]
macro_rules! exec_err {
    ($($arg:tt)*) => { Err($crate::Error::Execution(format!($($arg)*))) };
}

/// Returns early with an [`Error::Internal`] built like `format!`.
#[macro_export]
macro_rules! internal_err {
    ($($arg:tt)*) => { Err($crate::Error::Internal(format!($($arg)*))) };
}

/// Returns early with an [`Error::NotImplemented`] built like `format!`.
#[macro_export]
macro_rules! not_impl_err {
    ($($arg:tt)*) => { Err($crate::Error::NotImplemented(format!($($arg)*))) };
}

/// Returns a plan error unless the condition holds.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($arg:tt)*) => {
        if !$cond {
            return Err($crate::Error::Plan(format!($($arg)*)));
        }
    };
}
