//! The progress bar of `tern provision` (indicatif, on stderr, only when it is a terminal):
//! a spinner while the directory is listed (one paged search, its size unknown), then a bar
//! over the store's accounts, then over the actions.
use indicatif::{ProgressBar, ProgressStyle};
use std::time::Duration;
use tern_provision::{Observer, Phase};

pub struct Bars {
    bar: ProgressBar,
}

impl Bars {
    pub fn new() -> Bars {
        Bars {
            bar: ProgressBar::new_spinner(),
        }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Observer for Bars {
    fn phase(&self, phase: Phase, total: u64) {
        let bar = &self.bar;
        match phase {
            Phase::Directory => {
                if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} {elapsed}") {
                    bar.set_style(style);
                }
                bar.set_message("listing the directory");
                bar.enable_steady_tick(Duration::from_millis(120));
            }
            Phase::Store | Phase::Apply => {
                if let Ok(style) = ProgressStyle::with_template(
                    "{msg:24} [{bar:40}] {pos}/{len} accounts {per_sec} eta {eta}",
                ) {
                    bar.set_style(style.progress_chars("=> "));
                }
                bar.set_message(if phase == Phase::Store {
                    "reading the store"
                } else {
                    "applying"
                });
                bar.set_length(total);
                bar.set_position(0);
            }
        }
    }

    fn step(&self) {
        self.bar.inc(1);
    }
}
