//! The real-kernel console's escape-sequence handling (programs write anything to it): the
//! cursor stays on the 80x25 screen and nothing panics, in any split of the stream.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut t = drivers::vt::Terminal::new(25, 80);
    let split = data.first().copied().unwrap_or(0) as usize;
    let (a, b) = data.split_at(split.min(data.len()));
    t.write(a);
    t.write(b);
    let (row, col) = t.screen.cursor();
    assert!(row < 25 && col <= 80, "cursor at {row},{col}");
    let _ = t.screen.take_responses();
    for r in 0..25 {
        let _ = t.screen.row_text(r);
    }
});
