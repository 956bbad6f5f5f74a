//! A progress bar on stderr for long runs (hidden when not wanted, e.g. in tests).

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Bars for runs that go on at the same time, one line each; hidden unless `show`.
pub struct Bars(MultiProgress);

impl Bars {
    /// A set of bars drawn on stderr when `show`.
    pub fn new(show: bool) -> Self {
        Bars(MultiProgress::with_draw_target(if show {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        }))
    }

    /// A new bar of `len` steps under the others.
    pub fn bar(&self, len: u64, what: &str) -> ProgressBar {
        let pb = self.0.add(ProgressBar::new(len));
        style(&pb, what);
        pb
    }
}

fn style(pb: &ProgressBar, what: &str) {
    pb.set_style(
        ProgressStyle::with_template("{elapsed:>4} [{bar:30}] {pos}/{len} {msg}")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    pb.set_message(what.to_string());
}
