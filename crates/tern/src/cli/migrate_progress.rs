//! Progress bars for `tern migrate` (indicatif; only when stdout is a terminal).
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::collections::HashMap;
use std::sync::Mutex;
use tern_migrate::sync::Progress;

pub struct Bars {
    multi: MultiProgress,
    bars: Mutex<HashMap<String, ProgressBar>>,
}

impl Bars {
    pub fn new() -> Bars {
        Bars {
            multi: MultiProgress::new(),
            bars: Mutex::new(HashMap::new()),
        }
    }

    fn bar(&self, user: &str) -> ProgressBar {
        let mut bars = self.bars.lock().unwrap_or_else(|p| p.into_inner());
        bars.entry(user.to_string())
            .or_insert_with(|| {
                let bar = self.multi.add(ProgressBar::new(0));
                if let Ok(style) = ProgressStyle::with_template(
                    "{prefix:30} [{bar:30}] {pos}/{len} msgs {binary_bytes} {msg}",
                ) {
                    bar.set_style(style.progress_chars("=> "));
                }
                bar.set_prefix(user.to_string());
                bar
            })
            .clone()
    }
}

impl Progress for Bars {
    fn add_total(&self, user: &str, total: u64) {
        self.bar(user).inc_length(total);
    }
    fn copied(&self, user: &str, messages: u64, _bytes: u64) {
        self.bar(user).inc(messages);
    }
    fn folder(&self, user: &str, name: &str) {
        self.bar(user).set_message(name.to_string());
    }
}
