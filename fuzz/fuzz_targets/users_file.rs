//! `vfs::users::parse`: the users file (`/etc/users`), which `passwd` rewrites. Malformed lines
//! are skipped, and what parses renders back to the same users.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vfs::users;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let parsed = users::parse(&text);
    let rendered = users::render(&parsed);
    assert_eq!(users::parse(&rendered), parsed, "render/parse round trip");
});
