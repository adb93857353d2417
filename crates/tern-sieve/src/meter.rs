//! The CPU bound of a run: every command, test and value comparison charges steps, and
//! long string work (pattern matching, substring search, body decoding) charges one step per
//! [`FINE_PER_STEP`] units of work, so cost is proportional to what was done.

use crate::RuntimeError;

/// Character comparisons (or bytes scanned) that cost one step.
pub const FINE_PER_STEP: u64 = 64;

#[derive(Debug)]
pub struct Meter {
    used: u64,
    max: u64,
    fine: u64,
}

impl Meter {
    pub fn new(max: u64) -> Meter {
        Meter {
            used: 0,
            max,
            fine: 0,
        }
    }

    pub fn charge(&mut self, steps: u64) -> Result<(), RuntimeError> {
        self.used = self.used.saturating_add(steps);
        if self.used > self.max {
            Err(RuntimeError::StepLimit)
        } else {
            Ok(())
        }
    }

    /// Charges `units` of fine-grained work (characters compared, bytes scanned).
    pub fn charge_fine(&mut self, units: u64) -> Result<(), RuntimeError> {
        self.fine = self.fine.saturating_add(units);
        if self.fine >= FINE_PER_STEP {
            let steps = self.fine / FINE_PER_STEP;
            self.fine %= FINE_PER_STEP;
            self.charge(steps)?;
        }
        Ok(())
    }
}
