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
    /// The computation was stopped on request (Ctrl-C in `chunkwise shell`,
    /// `POST /api/cancel`).
    #[error("cancelled: {0}")]
    Cancelled(String),
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

    /// The message without the phase prefix.
    pub fn message(&self) -> &str {
        match self {
            Error::Plan(m)
            | Error::Io(m)
            | Error::Comm(m)
            | Error::ResourcesExhausted(m)
            | Error::Compute(m)
            | Error::Cancelled(m)
            | Error::Internal(m) => m,
        }
    }

    /// The same kind of error with another message.
    pub fn with_message(&self, m: String) -> Self {
        match self {
            Error::Plan(_) => Error::Plan(m),
            Error::Io(_) => Error::Io(m),
            Error::Comm(_) => Error::Comm(m),
            Error::ResourcesExhausted(_) => Error::ResourcesExhausted(m),
            Error::Compute(_) => Error::Compute(m),
            Error::Cancelled(_) => Error::Cancelled(m),
            Error::Internal(_) => Error::Internal(m),
        }
    }

    /// Bytes to send this error to other ranks ([`Error::from_bytes`] reads them).
    pub fn to_bytes(&self) -> Vec<u8> {
        let kind = match self {
            Error::Plan(_) => 0u8,
            Error::Io(_) => 1,
            Error::Comm(_) => 2,
            Error::ResourcesExhausted(_) => 3,
            Error::Compute(_) => 4,
            Error::Internal(_) => 5,
            Error::Cancelled(_) => 6,
        };
        let mut b = vec![kind];
        b.extend_from_slice(self.message().as_bytes());
        b
    }

    /// An error sent by another rank ([`Error::to_bytes`]); `None` for no bytes.
    pub fn from_bytes(b: &[u8]) -> Option<Self> {
        let (&kind, msg) = b.split_first()?;
        let m = String::from_utf8_lossy(msg).into_owned();
        Some(match kind {
            0 => Error::Plan(m),
            1 => Error::Io(m),
            2 => Error::Comm(m),
            3 => Error::ResourcesExhausted(m),
            4 => Error::Compute(m),
            6 => Error::Cancelled(m),
            _ => Error::Internal(m),
        })
    }
}

/// Return early with a [`Error::Plan`] built like `format!`.
#[macro_export]
macro_rules! plan_err {
    ($($arg:tt)*) => { return Err($crate::error::Error::Plan(format!($($arg)*))) };
}
