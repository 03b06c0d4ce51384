//! `vfs::ns::parse`: a namespace spec (`/etc/ns/<user>`), with `$user`/`$home` substituted.
//! Never panics; every path it yields is absolute and normal.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vfs::ns::{self, Item};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\u{1}');
    let spec = parts.next().unwrap_or("");
    let user = parts.next().unwrap_or("alice");
    let home = parts.next().unwrap_or("/home/alice");
    let Ok(items) = ns::parse(spec, user, home) else {
        return;
    };
    let normal = |p: &str| {
        assert!(p.starts_with('/'), "not absolute: {p:?}");
        assert!(
            !p.split('/').any(|c| c == ".." || c == "."),
            "not normal: {p:?}"
        );
        assert!(p == "/" || !p.ends_with('/'), "trailing slash: {p:?}");
    };
    for it in &items {
        match it {
            Item::Mount { source, target, .. } | Item::Bind { source, target, .. } => {
                normal(source);
                normal(target);
            }
            Item::Ramdisk { target, .. } => normal(target),
        }
    }
});
