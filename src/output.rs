//! Writing to stdout and stderr without ever panicking.
//!
//! std's `println!` and `eprintln!` panic when the write fails: a full disk behind
//! `2> log`, `> /dev/full`, a reader that closed the pipe (`roster plan | head -1`). A panic
//! ends the run with exit 101, and one in an apply step would lose the step. The macros here
//! write the same text and, when a write fails, remember the first failure instead; `main`
//! flushes stdout at the end and exits 1 when any write failed, after saying so on stderr if
//! stderr still works. Renderers write to [`stdout()`] / [`stderr()`], whose errors say which
//! stream failed; a command stops on such an error (`?`) and `main` reports it.
//!
//! The macros are named like std's and are defined before every other module (see `lib.rs`),
//! so they shadow std's in the whole crate: every `println!`, `print!`, `eprintln!` and
//! `eprint!` in roster writes through here, including ones added later, without each call
//! site having to remember to.

use std::fmt;
use std::io::{self, Write};
use std::sync::OnceLock;

/// `println!` that records a failed write instead of panicking.
macro_rules! println {
    () => {
        $crate::output::print_out(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::output::print_out(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `print!` that records a failed write instead of panicking (none uses it yet; it is here so
/// that one added later cannot panic either).
#[allow(unused_macros)]
macro_rules! print {
    ($($arg:tt)*) => {
        $crate::output::print_out(format_args!($($arg)*))
    };
}

/// `eprintln!` that records a failed write instead of panicking.
macro_rules! eprintln {
    () => {
        $crate::output::print_err(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::output::print_err(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `eprint!` that records a failed write instead of panicking.
macro_rules! eprint {
    ($($arg:tt)*) => {
        $crate::output::print_err(format_args!($($arg)*))
    };
}

/// The first write to stdout or stderr that failed.
#[derive(Debug)]
pub struct Failure {
    pub stream: &'static str,
    pub error: io::Error,
}

static FAILURE: OnceLock<Failure> = OnceLock::new();

/// Writes to stdout; a failure is recorded, not raised.
pub fn print_out(args: fmt::Arguments<'_>) {
    let result = io::stdout().lock().write_fmt(args);
    record("stdout", result);
}

/// Writes to stderr; a failure is recorded, not raised.
pub fn print_err(args: fmt::Arguments<'_>) {
    let result = io::stderr().lock().write_fmt(args);
    record("stderr", result);
}

/// Locked stdout for a renderer: a failed write is recorded, and its error says
/// "cannot write to stdout".
pub fn stdout() -> Stream<io::StdoutLock<'static>> {
    Stream {
        inner: io::stdout().lock(),
        name: "stdout",
    }
}

/// Locked stderr for a renderer, as [`stdout()`].
pub fn stderr() -> Stream<io::StderrLock<'static>> {
    Stream {
        inner: io::stderr().lock(),
        name: "stderr",
    }
}

/// One of the standard streams, whose errors name it.
pub struct Stream<W> {
    inner: W,
    name: &'static str,
}

impl<W: Write> Stream<W> {
    fn failed(&self, e: io::Error) -> io::Error {
        if e.kind() == io::ErrorKind::Interrupted {
            return e; // retried by write_all
        }
        let labelled = io::Error::new(e.kind(), format!("cannot write to {}: {e}", self.name));
        record(self.name, Err(e));
        labelled
    }
}

impl<W: Write> Write for Stream<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf).map_err(|e| self.failed(e))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush().map_err(|e| self.failed(e))
    }
}

/// Flushes stdout (a last line without a newline is still buffered), recording a failure.
pub fn flush() {
    let result = io::stdout().lock().flush();
    record("stdout", result);
}

/// The first failed write, if there was one.
pub fn failure() -> Option<&'static Failure> {
    FAILURE.get()
}

fn record(stream: &'static str, result: io::Result<()>) {
    if let Err(error) = result {
        let _ = FAILURE.set(Failure { stream, error });
    }
}
