//! The arithmetic of the KernelInfo clock (ABI §4.4), integers only (no FPU on this kernel).
//!
//! The kernel's timer interrupt adds 65536 to a count of PIT ticks (the PIT runs at
//! 3 579 545 / 3 Hz, one tick = 0.838095 µs), stores the TSC it read, and a moving average of TSC
//! ticks per PIT tick. Between interrupts the TSC refines the count.
//!
//! Pure functions with no dependency, so that xtask's tests compile this file on the host.

/// PIT ticks added by one timer interrupt (the BIOS divisor).
pub const PIT_TICKS_PER_INTERRUPT: u64 = 65536;

/// Sub-divisions of a PIT tick kept by [`fine_ticks`].
pub const FINE_PER_TICK: u128 = 16;

/// The PIT frequency is `PIT_HZ_NUM / PIT_HZ_DEN` Hz.
const PIT_HZ_NUM: u128 = 3_579_545;
const PIT_HZ_DEN: u128 = 3;

/// The three words of the KernelInfo page and a TSC value read after them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// PIT ticks since boot (offset 0).
    pub pit_ticks: u64,
    /// TSC at the last timer interrupt (offset 8).
    pub last_tsc: u64,
    /// Moving average of TSC ticks per PIT tick (offset 16); 0 until calibrated.
    pub tsc_per_pit: u64,
    /// The TSC now.
    pub tsc: u64,
}

/// Time since boot in 1/[`FINE_PER_TICK`] PIT ticks.
///
/// The TSC part is capped just below one interrupt's worth of ticks, so a snapshot taken after
/// the next interrupt always counts more than one taken before it: the result is monotonic
/// however wrong the TSC rate estimate is. A zero rate (not yet calibrated) gives the bare tick
/// count; a TSC behind `last_tsc` counts as no progress. Never divides by zero, never overflows.
pub fn fine_ticks(s: Snapshot) -> u128 {
    let base = u128::from(s.pit_ticks) * FINE_PER_TICK;
    if s.tsc_per_pit == 0 {
        return base;
    }
    let elapsed =
        u128::from(s.tsc.saturating_sub(s.last_tsc)) * FINE_PER_TICK / u128::from(s.tsc_per_pit);
    base + elapsed.min(u128::from(PIT_TICKS_PER_INTERRUPT) * FINE_PER_TICK - 1)
}

/// Microseconds in `fine` 1/[`FINE_PER_TICK`] PIT ticks, rounded down.
pub fn micros(fine: u128) -> u64 {
    let us = fine * 1_000_000 * PIT_HZ_DEN / (PIT_HZ_NUM * FINE_PER_TICK);
    u64::try_from(us).unwrap_or(u64::MAX)
}
