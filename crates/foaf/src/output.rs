//! Writing results to stdout, for every subcommand.
//!
//! Rust ignores `SIGPIPE`, so a write to a closed pipe returns an error, and `println!` turns
//! that error into a panic (status 101 and a backtrace for `foaf plan … | head -1`). Here a
//! closed stdout is a normal end: the reader has what it wanted, the command stops writing and
//! exits 0. Any other write error (a full disk: `foaf decode HEX > /dev/full`) is one clear
//! error line and status 1.

use std::io::{self, Write};
use std::sync::OnceLock;

use tokio::sync::Notify;

use crate::CliError;

/// What a failed write to stdout means: nothing for a closed pipe, else a [`CliError`].
pub fn stdout_error(e: io::Error) -> Result<(), CliError> {
    if e.kind() == io::ErrorKind::BrokenPipe {
        Ok(())
    } else {
        Err(CliError::Failed(format!("cannot write to stdout: {e}")))
    }
}

/// Runs `write` on the locked stdout, then flushes (a full disk often shows only then).
pub fn to_stdout(write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<(), CliError> {
    let mut out = io::stdout().lock();
    write(&mut out)
        .and_then(|()| out.flush())
        .or_else(stdout_error)
}

/// Writes `text` and a newline to stdout.
pub fn print_line(text: &str) -> Result<(), CliError> {
    to_stdout(|out| writeln!(out, "{text}"))
}

/// Stdout for a long-running command whose lines come from many threads (`foaf node`'s event
/// log). The first failed write is kept, later lines are dropped, and [`LineOut::failed`]
/// resolves, so the command can stop: normally for a closed pipe, with the error otherwise.
#[derive(Default)]
pub struct LineOut {
    error: OnceLock<io::Error>,
    failed: Notify,
}

impl LineOut {
    /// Writes `text` and a newline, unless a write already failed.
    pub fn print_line(&self, text: &str) {
        if self.error.get().is_some() {
            return;
        }
        let mut out = io::stdout().lock();
        if let Err(e) = writeln!(out, "{text}").and_then(|()| out.flush()) {
            if self.error.set(e).is_ok() {
                // Stored as a permit when nobody waits yet.
                self.failed.notify_one();
            }
        }
    }

    /// Resolves once a write has failed.
    pub async fn failed(&self) {
        self.failed.notified().await
    }

    /// How the command ends as far as stdout goes (see [`stdout_error`]).
    pub fn result(&self) -> Result<(), CliError> {
        match self.error.get() {
            None => Ok(()),
            Some(e) => stdout_error(io::Error::new(e.kind(), e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_pipe_is_a_normal_end_other_errors_are_reported() {
        assert!(stdout_error(io::Error::from(io::ErrorKind::BrokenPipe)).is_ok());
        let full = io::Error::from_raw_os_error(28); // ENOSPC on Linux
        match stdout_error(full) {
            Err(CliError::Failed(m)) => assert!(m.starts_with("cannot write to stdout: "), "{m}"),
            other => panic!("{other:?}"),
        }
    }
}
