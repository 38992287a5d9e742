//! Writing to the terminal (runtime): standard output and standard error may be a closed pipe
//! (`mid compile s.mid | head -1`) or a full device (`> /dev/full`). A failed write to standard
//! output ends the process with a message on standard error and exit code 1 — never a panic;
//! a failed write to standard error is dropped (there is nowhere left to say it).

use std::fmt;
use std::io::Write;

/// Writes to standard output, or ends the process if it cannot.
pub fn out(args: fmt::Arguments) {
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_fmt(args).and_then(|_| stdout.flush()) {
        err(format_args!(
            "error: cannot write to standard output: {e}\n"
        ));
        std::process::exit(1);
    }
}

/// Writes to standard error; a failure is dropped.
pub fn err(args: fmt::Arguments) {
    let _ = std::io::stderr().lock().write_fmt(args);
}

/// `crate::outln!` that never panics: see `io::out`.
#[macro_export]
macro_rules! outln {
    () => { $crate::io::out(format_args!("\n")) };
    ($($t:tt)*) => { $crate::io::out(format_args!("{}\n", format_args!($($t)*))) };
}

/// `print!` that never panics: see `io::out`.
#[macro_export]
macro_rules! out {
    ($($t:tt)*) => { $crate::io::out(format_args!($($t)*)) };
}

/// `crate::errln!` that never panics: see `io::err`.
#[macro_export]
macro_rules! errln {
    () => { $crate::io::err(format_args!("\n")) };
    ($($t:tt)*) => { $crate::io::err(format_args!("{}\n", format_args!($($t)*))) };
}

/// `eprint!` that never panics: see `io::err`.
#[macro_export]
macro_rules! err {
    ($($t:tt)*) => { $crate::io::err(format_args!($($t)*)) };
}
