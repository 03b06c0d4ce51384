//! `shell::parse::parse`: scripts, `-c` strings and typed lines. Never panics, never recurses
//! without bound; an incomplete script stays incomplete with more text only if it was not
//! already an error of another kind.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = core::str::from_utf8(data) else {
        return;
    };
    match shell::parse::parse(src) {
        Ok(list) => {
            let _ = format!("{list:?}");
        }
        Err(e) => {
            let _ = e.to_string();
            let _ = e.is_incomplete();
        }
    }
});
