//! One error type for the whole crate, grouped by the phase that failed.
//!
//! * [`Error::Plan`]: the user asked for something impossible (shapes do not
//!   broadcast, an axis is out of range, chunks do not fit). Nothing ran.
//! * [`Error::Io`]: a file could not be read or written.
//! * [`Error::Comm`]: moving data between ranks failed.
//! * [`Error::ResourcesExhausted`]: the plan would not fit the memory limit.
//! * [`Error::Compute`]: user code (for example a `map_blocks` closure) failed
//!   on one chunk.
//! * [`Error::Internal`]: a bug in chunkwise; please report it.
//!
//! Messages say what went wrong, where (array, axis, chunk, rank, file) and,
//! when there is one, what to do about it.

use std::fmt;

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Every error chunkwise returns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The request is impossible; nothing was computed.
    #[error("plan error: {0}")]
    Plan(String),
    /// Reading or writing a file failed.
    #[error("I/O error: {0}")]
    Io(String),
    /// Communication between ranks failed.
    #[error("communication error: {0}")]
    Comm(String),
    /// The computation does not fit the resources it is allowed.
    #[error("resources exhausted: {0}")]
    ResourcesExhausted(String),
    /// User code failed while computing a chunk.
    #[error("compute error: {0}")]
    Compute(String),
    /// A bug in chunkwise.
    #[error("internal error (a bug in chunkwise, please report it): {0}")]
    Internal(String),
}

impl Error {
    /// A [`Error::Plan`] from anything printable.
    pub fn plan(msg: impl fmt::Display) -> Self {
        Error::Plan(msg.to_string())
    }
    /// An [`Error::Internal`] from anything printable.
    pub fn internal(msg: impl fmt::Display) -> Self {
        Error::Internal(msg.to_string())
    }
}

/// Return early with a [`Error::Plan`] built like `format!`.
#[macro_export]
macro_rules! plan_err {
    ($($arg:tt)*) => { return Err($crate::error::Error::Plan(format!($($arg)*))) };
}
