//! A global messages-per-second limit shared by every migration job, to protect the live
//! source server. Each message takes the next free slot; slots are `1/rate` apart, so a
//! burst after a pause is not allowed to exceed the rate by more than one message.
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

pub struct RateLimiter {
    interval: Option<Duration>,
    next: Mutex<Instant>,
}

impl RateLimiter {
    /// `None` or 0: unlimited.
    pub fn new(per_second: Option<f64>) -> RateLimiter {
        let interval = per_second
            .filter(|r| *r > 0.0)
            .map(|r| Duration::from_secs_f64(1.0 / r));
        RateLimiter {
            interval,
            next: Mutex::new(Instant::now()),
        }
    }

    /// Waits for the next slot.
    pub async fn acquire(&self) {
        let Some(interval) = self.interval else {
            return;
        };
        let wake = {
            let mut next = self.next.lock().await;
            let now = Instant::now();
            let slot = if *next < now { now } else { *next };
            *next = slot + interval;
            slot
        };
        tokio::time::sleep_until(wake.into()).await;
    }
}
