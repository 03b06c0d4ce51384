//! Host tests of the real-kernel clock arithmetic. `std-shim/src/sys/none/clock.rs` only
//! compiles into real-kernel builds, where tests cannot run; it is pure integer code with no
//! dependencies, so it is compiled here as well.

#[path = "../../std-shim/src/sys/none/clock.rs"]
mod clock;

use clock::{FINE_PER_TICK, PIT_TICKS_PER_INTERRUPT, Snapshot, fine_ticks, micros};

fn snap(pit_ticks: u64, last_tsc: u64, tsc_per_pit: u64, tsc: u64) -> Snapshot {
    Snapshot {
        pit_ticks,
        last_tsc,
        tsc_per_pit,
        tsc,
    }
}

#[test]
fn one_interrupt_is_about_55_ms() {
    let us = micros(fine_ticks(snap(PIT_TICKS_PER_INTERRUPT, 0, 0, 0)));
    // 65536 / 1 193 181.67 Hz = 54 925.4 µs.
    assert_eq!(us, 54_925);
}

#[test]
fn one_second_of_ticks() {
    // 1 193 182 ticks (rounded PIT rate) are one second, give or take a microsecond.
    let us = micros(fine_ticks(snap(1_193_182, 0, 0, 0)));
    assert!((999_999..=1_000_001).contains(&us), "{us}");
}

#[test]
fn tsc_refines_between_interrupts() {
    // 2514 TSC ticks per PIT tick (a 3 GHz TSC), half an interrupt period later.
    let base = snap(10 * PIT_TICKS_PER_INTERRUPT, 1_000_000, 2514, 1_000_000);
    let half = Snapshot {
        tsc: 1_000_000 + 2514 * 32768,
        ..base
    };
    let d = micros(fine_ticks(half)) - micros(fine_ticks(base));
    assert!((27_461..=27_464).contains(&d), "{d}");
}

#[test]
fn uncalibrated_rate_does_not_divide_by_zero() {
    assert_eq!(fine_ticks(snap(5, 100, 0, u64::MAX)), 5 * FINE_PER_TICK);
}

#[test]
fn tsc_behind_last_interrupt_counts_nothing() {
    assert_eq!(fine_ticks(snap(7, 1000, 3, 10)), 7 * FINE_PER_TICK);
}

#[test]
fn never_overtakes_the_next_interrupt() {
    // A stalled timer (or a bad rate) must not let the TSC part reach the next tick count.
    let before = fine_ticks(snap(PIT_TICKS_PER_INTERRUPT, 0, 1, u64::MAX));
    let after = fine_ticks(snap(2 * PIT_TICKS_PER_INTERRUPT, u64::MAX, 1, u64::MAX));
    assert!(before < after);
    assert!(micros(before) <= micros(after));
}

#[test]
fn monotonic_across_interrupts_with_a_changing_rate() {
    let mut last = 0;
    let mut tsc = 0u64;
    for i in 0..200u64 {
        let rate = 2000 + (i * 37) % 900;
        let pit = i * PIT_TICKS_PER_INTERRUPT;
        let last_tsc = tsc;
        for step in 0..10 {
            tsc = last_tsc + step * rate * 8000;
            let us = micros(fine_ticks(snap(pit, last_tsc, rate, tsc)));
            assert!(
                us >= last,
                "went back at interrupt {i} step {step}: {us} < {last}"
            );
            last = us;
        }
    }
}

#[test]
fn huge_values_saturate_instead_of_overflowing() {
    let us = micros(fine_ticks(snap(u64::MAX, 0, 1, u64::MAX)));
    assert!(us > 0);
}
