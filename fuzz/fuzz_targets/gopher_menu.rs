//! The Gopher client's menu and text parsers: whatever a server sends (the network is hostile).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let items = gopher::menu::parse_menu(data, "host.example", 70);
    let (lines, links) = gopher::menu::render(&items);
    assert!(links.len() <= items.len());
    assert!(lines.len() >= links.len());
    // What reaches the terminal has no control characters (no escape sequences from a server).
    for l in &lines {
        assert!(!l.chars().any(|c| c.is_control()), "{l:?}");
    }
    // A menu item's request stays one line, whatever its selector holds.
    for it in &items {
        let u = gopher::url::Url::new(&it.host, it.port, it.kind, &it.selector);
        let req = u.request();
        assert!(!req[..req.len() - 2].contains(&b'\n'));
    }
    let text = gopher::menu::parse_text(data);
    for l in &text {
        assert!(!l.contains('\n'));
    }
    let _ = gopher::menu::lines(data);
});
