//! What every CLI test does with the real `foaf` binary: run it (stdin optional), and run it
//! expecting success. Each test file uses the part it needs.
#![allow(dead_code)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

/// Runs `foaf ARGS`, feeding `stdin` (empty when `None`), and collects its output.
pub fn foaf(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_foaf"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    // A command that exits without reading stdin closes the pipe: not the test's failure.
    let _ = pipe.write_all(stdin.unwrap_or("").as_bytes());
    drop(pipe);
    child.wait_with_output().unwrap()
}

/// Runs `foaf ARGS`, which must exit 0, and returns its stdout (stderr shown on failure).
pub fn foaf_ok(args: &[&str]) -> String {
    let out = foaf(args, None);
    assert!(
        out.status.success(),
        "foaf {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}
