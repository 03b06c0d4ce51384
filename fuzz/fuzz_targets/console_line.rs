//! The consoles' line discipline (`libeurali::tty::LineDiscipline::input`): any bytes typed, in any mode,
//! in any order with reads and mode switches, never panic, and no typed byte is handed out twice.
#![no_main]

use eurali_host::devices::console::LineDiscipline;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut ld = LineDiscipline::default();
    let mut typed = 0usize;
    let mut taken = 0usize;
    // Commands: 0xF0..0xF3 toggle raw / read / read-eof / flush; other bytes are typed in runs.
    for run in data.split(|&b| b >= 0xF0 && b <= 0xF3) {
        let _echo = ld.input(run);
        typed += run.len();
        if let Some(bytes) = ld.take(1 + run.len() % 7) {
            assert!(!bytes.is_empty() && bytes.len() <= 1 + run.len() % 7);
            taken += bytes.len();
        }
        let _ = ld.take_eof();
        match run.len() % 4 {
            0 => ld.set_raw(!ld.raw()),
            1 => ld.flush_partial(),
            _ => {}
        }
        let _ = ld.take_interrupted();
    }
    while let Some(b) = ld.take(4096) {
        taken += b.len();
    }
    // Each typed byte reaches a reader at most once (`\r` becomes `\n`, erased bytes never).
    assert!(taken <= typed, "{taken} bytes read of {typed} typed");
});
