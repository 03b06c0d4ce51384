//! await_interrupt's waiters (ABI §4.10).

use super::System;
use crate::threads::Wake;

impl System {
    /// Threads waiting in await_interrupt.
    pub fn irq_waiter_count(&self) -> usize {
        self.irq_waiters.len()
    }

    /// Wakes every thread in await_interrupt (§4.10); returns how many.
    pub fn raise_irq(&mut self) -> usize {
        let waiters = std::mem::take(&mut self.irq_waiters);
        let n = waiters.len();
        for t in waiters {
            self.wake(t, Wake::Unchanged);
        }
        n
    }
}
