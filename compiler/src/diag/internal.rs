//! Internal errors (every stage after checking): what a stage reports when it meets something
//! a checked program cannot contain. Each is a bug of mid, never a mistake of the script, and
//! is reported as such instead of being guessed around.

use std::fmt;

/// A bug of the compiler: which stage met what.
#[derive(Debug, Clone, PartialEq)]
pub struct Internal {
    pub stage: &'static str,
    pub message: String,
}

impl Internal {
    pub fn new(stage: &'static str, message: impl Into<String>) -> Internal {
        Internal {
            stage,
            message: message.into(),
        }
    }
}

impl fmt::Display for Internal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "internal compiler error in {}: {} (a bug of mid, not of the script; please report it with the script)",
            self.stage, self.message
        )
    }
}

impl std::error::Error for Internal {}
