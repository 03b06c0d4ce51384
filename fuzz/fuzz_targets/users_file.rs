//! `vfs::users`: the users file (`/etc/users`), which the keeper rewrites, and the password
//! services' requests. Malformed lines are skipped, and what parses renders back to the same
//! users; every entry's password field reads as a PHC string or as nothing, without a panic;
//! a request that decodes encodes back to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vfs::users;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let parsed = users::parse(&text);
    let rendered = users::render(&parsed);
    assert_eq!(users::parse(&rendered), parsed, "render/parse round trip");
    for u in &parsed {
        // Not `check`: an entry may ask for millions of iterations, which is the point of it.
        let _ = (u.phc(), u.needs_upgrade());
    }
    if let Some(r) = users::Request::decode(data) {
        assert_eq!(r.encode(), data, "request round trip");
    }
});
