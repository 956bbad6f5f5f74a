//! A progress bar on stderr for long runs (hidden when not wanted, e.g. in tests).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Make a bar of `len` steps; hidden unless `show`.
pub fn bar(show: bool, len: u64, what: &str) -> ProgressBar {
    let pb = ProgressBar::with_draw_target(
        Some(len),
        if show {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        },
    );
    pb.set_style(
        ProgressStyle::with_template("{elapsed:>4} [{bar:30}] {pos}/{len} {msg}")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    pb.set_message(what.to_string());
    pb
}
