//! The runtime's error type: a message for people, already naming the file, table or column at fault.

use std::fmt;

/// An error the `mid` command reports before exiting non-zero.
#[derive(Debug)]
pub struct Error {
    message: String,
    /// A mistake in the command line (exit 2) rather than in the script or data (exit 1).
    usage: bool,
}

impl Error {
    pub fn new(message: impl Into<String>) -> Error {
        Error {
            message: message.into(),
            usage: false,
        }
    }

    /// A usage error: the command line asks for something that cannot be (exit 2).
    pub fn usage(message: impl Into<String>) -> Error {
        Error {
            message: message.into(),
            usage: true,
        }
    }

    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        if self.usage { 2 } else { 1 }
    }

    /// Wraps a lower-level error with what was being done.
    pub fn context(what: impl fmt::Display, cause: impl fmt::Display) -> Error {
        Error::new(format!("{what}: {cause}"))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;
