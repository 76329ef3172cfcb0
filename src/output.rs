//! The one place roster writes to the terminal: stdout (what a command produces: a plan, a
//! report, schemas), stderr (diagnostics, notes, warnings, progress), whether each gets colour,
//! and what a failed write means for the exit code.
//!
//! Operations return data and never print; commands render it into [`stdout()`] /
//! [`stderr()`] or say a line with [`say!`]. `lib.rs` and `main.rs` deny clippy's
//! `print_stdout` and `print_stderr`, so a `println!` anywhere fails the build; this module
//! needs no exception, as it writes with `write!` only.
//!
//! A failed write never panics (std's `println!` would: exit 101, and an apply step lost).
//! What it means depends on why it failed:
//! - A reader that closed the pipe (EPIPE: `roster plan | head -1`) has seen what it wanted.
//!   On stdout the write fails with [`io::ErrorKind::BrokenPipe`], which stops the command
//!   (apply does not carry out a plan that could not be shown), and `main` ends the run
//!   quietly with exit 0. On stderr the line is dropped and the run goes on.
//! - Any other failure (a full disk behind `2> log`, `/dev/full`, a bad descriptor) is
//!   remembered ([`failure`]); a line said with [`say!`] does not stop the command, a renderer's
//!   write does (`?`), and `main` exits 1, saying which stream failed if stderr still works.
//!
//! Colour follows anstream's rules (`NO_COLOR`, `CLICOLOR`, `CLICOLOR_FORCE`, `TERM=dumb`, and a
//! terminal); progress is drawn with indicatif on a terminal only, never when `CI` is set.

use std::fmt;
use std::io::{self, BufRead, IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A line on stderr for the person running roster: a note, a warning, a summary. Never panics
/// and never stops the command; see the module's documentation for what a failed write does.
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::output::say_line(format_args!($($arg)*))
    };
}
pub(crate) use say;

/// The first write to stdout or stderr that failed, other than into a closed pipe.
#[derive(Debug)]
pub struct Failure {
    pub stream: &'static str,
    pub error: io::Error,
}

static FAILURE: OnceLock<Failure> = OnceLock::new();
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Locked stdout, for what a command produces. A failed write's error names the stream; a
/// closed pipe is a [`io::ErrorKind::BrokenPipe`] that stops the command quietly.
pub fn stdout() -> Stream<io::StdoutLock<'static>> {
    Stream {
        inner: io::stdout().lock(),
        name: "stdout",
    }
}

/// Locked stderr, for diagnostics and reports. Into a closed pipe, writes are dropped.
pub fn stderr() -> Stream<io::StderrLock<'static>> {
    Stream {
        inner: io::stderr().lock(),
        name: "stderr",
    }
}

/// One of the standard streams, whose errors name it and are remembered.
pub struct Stream<W> {
    inner: W,
    name: &'static str,
}

impl<W: Write> Stream<W> {
    /// What a failed write (or flush) of `len` bytes returns.
    fn failed(&self, e: io::Error, len: usize) -> io::Result<usize> {
        match e.kind() {
            io::ErrorKind::Interrupted => Err(e), // retried by write_all
            io::ErrorKind::BrokenPipe if self.name == "stderr" => Ok(len),
            io::ErrorKind::BrokenPipe => {
                STDOUT_CLOSED.store(true, Ordering::Relaxed);
                Err(io::Error::new(
                    io::ErrorKind::BrokenPipe,
                    "stdout was closed by its reader",
                ))
            }
            kind => {
                let labelled = io::Error::new(kind, format!("cannot write to {}: {e}", self.name));
                let _ = FAILURE.set(Failure {
                    stream: self.name,
                    error: e,
                });
                Err(labelled)
            }
        }
    }
}

impl<W: Write> Write for Stream<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.inner.write(buf) {
            Ok(n) => Ok(n),
            Err(e) => self.failed(e, buf.len()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.inner.flush() {
            Ok(()) => Ok(()),
            Err(e) => self.failed(e, 0).map(drop),
        }
    }
}

/// Writes one line to stderr ([`say!`]), above a progress display if one is drawn.
pub fn say_line(args: fmt::Arguments<'_>) {
    let write = || {
        let mut err = stderr();
        let _ = err.write_fmt(args).and_then(|()| err.write_all(b"\n"));
    };
    match active_bar() {
        Some(bar) => bar.suspend(write),
        None => write(),
    }
}

/// A sink for the clients' `-v` lines: each a line on stderr, as [`say!`] writes it.
pub fn log_sink() -> Arc<dyn Fn(&str) + Send + Sync> {
    Arc::new(|line: &str| say_line(format_args!("{line}")))
}

/// An error that ended a command, on stderr. It may quote a server or a file: no control
/// character reaches the terminal, but the line breaks before a hint stay.
pub fn error(e: &anyhow::Error) {
    let text = format!("{e:#}");
    let lines: Vec<_> = text.lines().map(crate::diagnostics::printable).collect();
    say_line(format_args!("error: {}", lines.join("\n")));
}

/// Flushes stdout (a last line without a newline is still buffered).
pub fn flush() {
    let _ = stdout().flush();
}

/// The first failed write other than into a closed pipe, if there was one.
pub fn failure() -> Option<&'static Failure> {
    FAILURE.get()
}

/// Whether stdout's reader closed it: the run then ends quietly with exit 0.
pub fn stdout_closed() -> bool {
    STDOUT_CLOSED.load(Ordering::Relaxed)
}

/// Whether what goes to stdout gets colour.
pub fn stdout_color() -> bool {
    anstream::AutoStream::choice(&io::stdout()) != anstream::ColorChoice::Never
}

/// Whether what goes to stderr gets colour.
pub fn stderr_color() -> bool {
    anstream::AutoStream::choice(&io::stderr()) != anstream::ColorChoice::Never
}

/// Whether a person can be asked: stdin and stderr are both terminals.
pub fn interactive() -> bool {
    io::stdin().is_terminal() && io::stderr().is_terminal()
}

/// Asks on stderr and reads one line of stdin, without its line break.
pub fn ask(prompt: fmt::Arguments<'_>) -> io::Result<String> {
    let mut err = stderr();
    err.write_fmt(prompt)?;
    err.flush()?;
    drop(err);
    let mut answer = String::new();
    io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim_end_matches(['\r', '\n']).to_string())
}

/// The progress display drawn now, so that lines said meanwhile go above it.
static ACTIVE: Mutex<Option<ProgressBar>> = Mutex::new(None);

fn active_bar() -> Option<ProgressBar> {
    ACTIVE.lock().ok()?.clone()
}

/// A progress display on stderr: drawn only on a terminal and never when `CI` is set, so a log
/// or a CI job gets nothing; cleared by [`Progress::finish`] (or when dropped).
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// How many users a long read has brought so far.
    pub fn users_read() -> Progress {
        Progress::start(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(style("  {spinner} {pos:>7} users read… {elapsed}"));
            bar
        })
    }

    /// The changes of an apply as they finish: a bar of `total`, and the last change's address.
    pub fn steps(total: usize) -> Progress {
        Progress::start(|| {
            let bar =
                ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
            bar.set_style(style("[{bar:30}] {pos}/{len} {wide_msg}").progress_chars("## "));
            bar
        })
    }

    fn start(make: impl FnOnce() -> ProgressBar) -> Progress {
        #[expect(
            clippy::disallowed_methods,
            reason = "progress is drawn on a terminal outside CI"
        )]
        let ci = std::env::var_os("CI");
        let bar = drawn(io::stderr().is_terminal(), ci).then(make);
        if let (Some(bar), Ok(mut active)) = (&bar, ACTIVE.lock()) {
            *active = Some(bar.clone());
        }
        Progress { bar }
    }

    /// A callback setting the count, for a read's progress; `None` when nothing is drawn.
    pub fn counter(&self) -> Option<Arc<dyn Fn(usize) + Send + Sync>> {
        let bar = self.bar.clone()?;
        Some(Arc::new(move |n| bar.set_position(n as u64)))
    }

    /// A callback for each step done, `what` shown beside the bar (escaped: it may name what
    /// the target sent).
    pub fn stepper(&self) -> impl Fn(&str) + Send + Sync + 'static {
        let bar = self.bar.clone();
        move |what| {
            if let Some(bar) = &bar {
                bar.set_message(crate::diagnostics::printable(what).into_owned());
                bar.inc(1);
            }
        }
    }

    /// Clears the display.
    pub fn finish(self) {}
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
            if let Ok(mut active) = ACTIVE.lock() {
                *active = None;
            }
        }
    }
}

/// Whether progress is drawn: on a terminal, and not in CI (`CI` set to anything, even empty:
/// a CI runner that gives a terminal still keeps a log).
fn drawn(terminal: bool, ci: Option<std::ffi::OsString>) -> bool {
    terminal && ci.is_none()
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}

#[cfg(test)]
mod tests {
    #[test]
    fn issue12_progress_only_on_a_terminal_and_never_in_ci() {
        assert!(super::drawn(true, None));
        assert!(!super::drawn(false, None));
        assert!(!super::drawn(true, Some("true".into())));
        assert!(!super::drawn(true, Some("".into())));
    }

    #[test]
    fn issue12_a_closed_stderr_drops_lines_and_a_closed_stdout_stops() {
        use std::io::Write;
        struct Closed;
        impl Write for Closed {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut err = super::Stream {
            inner: Closed,
            name: "stderr",
        };
        assert!(writeln!(err, "dropped").is_ok());
        assert!(!super::stdout_closed());
        let mut out = super::Stream {
            inner: Closed,
            name: "stdout",
        };
        let e = writeln!(out, "stops").unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe);
        assert!(super::stdout_closed());
        // Neither is a failure of the run.
        assert!(super::failure().is_none());
    }
}
