//! The Gopher client's URL parser (URLs come from menus, i.e. from servers, and from users).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(u) = gopher::url::Url::parse(&text) {
        // A parsed URL makes a request that is one line ending in CR LF.
        let req = u.request();
        assert!(req.ends_with(b"\r\n"));
        assert!(!req[..req.len() - 2].contains(&b'\n'));
    }
    let decoded = gopher::url::percent_decode(&text);
    assert_eq!(gopher::url::percent_decode(&gopher::url::percent_encode(&decoded)), decoded);
});
