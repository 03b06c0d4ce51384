//! The network, end to end: eurali's `tcp` (smoltcp) on a TAP device whose other side is a
//! Linux network namespace made here, where a real Gopher server (Debian's gophernicus, under
//! socat) serves a fixture tree and dnsmasq answers DHCP and DNS. The `gopher` client runs in
//! a booted system (`init -c …`), so the whole path is the one a user takes.
//!
//! These tests need root (network namespaces, TAP devices) and `gophernicus`, `socat`,
//! `dnsmasq-base` (`.ci/run` installs them; CI runs as root). They fail, saying why, when the
//! link cannot be set up; `EURALI_SKIP_NET=1` skips them explicitly.

#[path = "common/hosted.rs"]
mod hosted;
#[path = "common/netlink.rs"]
mod netlink;
#[path = "common/tmux.rs"]
mod tmux;
use tmux::Pane;

use netlink::{
    LINUX, OURS, blob, curl_until, eurali, link, static_config, system, with_link_env, xxd,
};

/// Runs `probe` (a program entry) as the first program of an in-process system on the TAP link,
/// with tcp's static configuration as its arguments; what it printed, once it exited with 0.
fn run_probe(
    link: &netlink::Link,
    probe: (&'static str, kernel_stub::ProgramEntry),
) -> eurali_host::boot::Captured {
    let mut progs = eurali::programs();
    progs.push(probe);
    let args: Vec<String> = static_config()
        .split_whitespace()
        .map(String::from)
        .collect();
    let r = with_link_env(link, None, || {
        eurali_host::boot::run_captured(
            &progs,
            probe.0,
            &args,
            b"",
            std::time::Duration::from_secs(60),
        )
    });
    assert_eq!(r.code, 0, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    r
}

/// Fetches `/hello.txt` from the Gopher server on `s`.
fn fetch_hello(mut s: eurali_std::net::TcpStream) -> eurali_std::io::Result<String> {
    use eurali_std::io::{Read, Write};
    s.write_all(b"/hello.txt\r\n")?;
    let mut text = String::new();
    s.read_to_string(&mut text)?;
    Ok(text)
}

/// A probe's setup: a root file system holding `/bin/tcp`.
fn probe_root() {
    let (m, c) = libeurali::new_rendezvous().unwrap();
    vfs::server::Server::new(vfs::ramdisk::Ramdisk::new(8 << 20))
        .spawn(m)
        .unwrap();
    libeurali::mount("/", c).unwrap();
    eurali_std::fs::create_dir_all("/bin").unwrap();
    eurali_std::fs::write("/bin/tcp", kernel_stub::Kernel::program_image("tcp")).unwrap();
}

#[test]
fn gopher_prints_menus_and_text_from_a_real_server() {
    let Some(link) = link() else { return };
    let cmds = format!(
        "gopher --print gopher://{LINUX}/1/ && echo MENU-OK; \
         gopher --print gopher://{LINUX}/0/hello.txt && echo TEXT-OK; \
         gopher --print gopher://{LINUX}/0/dotted.txt; \
         gopher --print gopher://{LINUX}/1/docs; \
         gopher < /dev/null; echo nourl=$?"
    );
    let (out, err, code) = system(&link, Some(&static_config()), &cmds);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(
        out.contains("Welcome to the eurali test hole"),
        "{out}\n{err}"
    );
    assert!(out.contains("1. [TXT] Hello text"), "{out}");
    assert!(out.contains("3. [DIR] Documents"), "{out}");
    assert!(out.contains("4. [BIN] A binary blob"), "{out}");
    assert!(out.contains("5. [ASK] Search the hole"), "{out}");
    assert!(
        out.contains("[WWW] The web  <http://example.org/>"),
        "{out}"
    );
    assert!(
        out.contains("[TEL] A telnet BBS  (telnet bbs.example:23, not opened)"),
        "{out}"
    );
    assert!(out.contains("MENU-OK"), "{out}");
    assert!(
        out.contains("Hello from gophernicus.\nSecond line.\nTEXT-OK"),
        "{out}"
    );
    // gophernicus sends files as they are (no dot-stuffing, no terminator): kept as they are.
    assert!(
        out.contains(".starts with a dot\n..two dots\nplain\n"),
        "{out}"
    );
    assert!(out.contains("[TXT] readme.txt"), "{out}");
    // Without a URL the browser starts at the (empty) bookmarks and ends with its input.
    assert!(out.contains("== bookmarks ==\n(no bookmarks yet"), "{out}");
    assert!(out.contains("nourl=0"), "{out}");
}

#[test]
fn gopher_downloads_a_binary_searches_and_reports_errors() {
    let Some(link) = link() else { return };
    let cmds = format!(
        "gopher --print -o /tmp/blob gopher://{LINUX}/9/blob.bin && wc -c /tmp/blob && xxd /tmp/blob > /tmp/blob.hex && echo XXD-BEGIN && cat /tmp/blob.hex && echo XXD-END; \
         gopher --print 'gopher://{LINUX}/7/cgi-bin/search%09cats and dogs'; \
         gopher --print gopher://{LINUX}/0/no-such-file; echo missing=$?; \
         gopher --print gopher://{LINUX}:71/1/; echo refused=$?"
    );
    let (out, err, code) = system(&link, Some(&static_config()), &cmds);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(err.contains("saved 65536 bytes to /tmp/blob"), "{err}");
    let hex = out
        .split("XXD-BEGIN\n")
        .nth(1)
        .and_then(|s| s.split("XXD-END").next())
        .unwrap_or_else(|| panic!("no xxd output:\n{out}\n{err}"));
    assert!(
        hex == xxd(&blob()),
        "the downloaded blob differs from the fixture; stderr:\n{err}"
    );
    assert!(out.contains("Results for: cats and dogs"), "{out}");
    assert!(out.contains("1. [TXT] Result one"), "{out}");
    // gophernicus answers a missing selector with an error text; the fetch itself works.
    assert!(out.contains("not found"), "{out}\n{err}");
    assert!(out.contains("refused=1"), "{out}");
    assert!(
        err.contains(&format!("{LINUX}:71: connection refused")),
        "{err}"
    );
}

#[test]
fn dhcp_and_dns_from_dnsmasq() {
    let Some(link) = link() else { return };
    let (out, err, code) = system(
        &link,
        None,
        "gopher --print gopher://gopher.test/0/hello.txt; gopher --print gopher://nonexistent.test/; echo nx=$?; \
         gopher --print gopher://elsewhere.example/; echo refused=$?",
    );
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(
        err.contains("tcp: address 10.77.0.5"),
        "no DHCP lease: {err}"
    );
    assert!(out.contains("Hello from gophernicus."), "{out}\n{err}");
    assert!(out.contains("nx=1"), "{out}");
    assert!(
        err.contains("gopher: nonexistent.test: name not found\n"),
        "{err}"
    );
    // The host is named once (issue 19: "nonexistent.test: nonexistent.test: name not found").
    assert!(!err.contains("nonexistent.test: nonexistent.test"), "{err}");
    // A name server that refuses (dnsmasq, for names it has no upstream for) is not "not found"
    // (issue 19).
    assert!(out.contains("refused=1"), "{out}");
    assert!(
        err.contains("gopher: elsewhere.example: the name server refused or failed to answer\n"),
        "{err}"
    );
}

/// `--stats` of downloads running side by side: each gives its own connect time and byte count
/// (issue 19: eight parallel downloads printed one connect time, kept in a static that the
/// in-process stub's programs share).
#[test]
fn parallel_downloads_have_their_own_stats() {
    let Some(link) = link() else { return };
    let cmds = format!(
        "for i in 1 2 3 4; do gopher --print --stats -o /tmp/b$i gopher://{LINUX}/9/blob.bin & done; wait; \
         gopher --print --stats gopher://{LINUX}/0/hello.txt > /dev/null; echo done"
    );
    let (out, err, code) = system(&link, Some(&static_config()), &cmds);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(out.contains("done"), "{out}\n{err}");
    let stats: Vec<(u64, u64, u64)> = err
        .lines()
        .filter_map(|l| l.strip_prefix("gopher: stats: connect "))
        .filter_map(|l| {
            let n: Vec<u64> = l
                .split(|c: char| !c.is_ascii_digit())
                .filter_map(|w| w.parse().ok())
                .collect();
            (n.len() == 3).then(|| (n[0], n[1], n[2]))
        })
        .collect();
    assert_eq!(stats.len(), 5, "{err}");
    let blob = blob().len() as u64;
    assert_eq!(stats.iter().filter(|s| s.2 == blob).count(), 4, "{stats:?}");
    // The text's figures are its own, not the last download's.
    assert!((20..100).contains(&stats[4].2), "{err}");
    for (connect, total, _) in &stats {
        assert!(connect <= total, "{stats:?}");
    }
    let mut connects: Vec<u64> = stats.iter().map(|s| s.0).collect();
    connects.dedup();
    assert!(connects.len() > 1, "one connect time for all: {stats:?}");
    drop(link);
}

/// Issue 19's hostile servers (port 7072): what arrived is never thrown away, a menu ends at
/// its `.` line, `--timeout` bounds the whole fetch, selectors go out as the bytes the menu or
/// URL gave, and bad ports, mirrors and empty menus are shown for what they are.
#[test]
fn hostile_servers_lose_nothing_and_selectors_are_bytes() {
    let Some(link) = link() else { return };
    let h = format!("gopher://{LINUX}:7072");
    let cmds = format!(
        "gopher --print {h}/1/dot-open; echo dot=$?; \
         gopher --print {h}/1/reset-menu > /tmp/reset; echo reset=$?; wc -l < /tmp/reset; tail -n 1 /tmp/reset; \
         gopher --print {h}/1/fin-half > /tmp/fin; echo fin=$?; wc -l < /tmp/fin; \
         gopher --print --timeout 3 {h}/0/trickle > /tmp/trickle; echo trickle=$?; \
         gopher --print {h}/1/odd; echo odd=$?; \
         gopher --raw '{h}/0/caf%E9.txt#part'; \
         gopher --raw '{h}/0/%FF%FE'; \
         gopher --raw '{h}/0/a%00b'; echo nul=$?; \
         gopher --print {h}/1/empty; echo empty=$?; \
         printf '1\nb\n2\nb\n3\nq\n' | gopher {h}/1/odd; echo browse=$?"
    );
    let (out, err, code) = system(&link, Some(&static_config()), &cmds);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    // A menu that ends in `.` is shown at once, though the server keeps the connection open.
    assert!(
        out.contains("A whole menu\n1. [TXT] Item 1\ndot=0\n"),
        "{out}\n{err}"
    );
    // A reset after 3093 bytes: the items that arrived are printed, and the failure said.
    assert!(out.contains("reset=1\n"), "{out}");
    let lines: usize = out
        .split("reset=1\n")
        .nth(1)
        .and_then(|r| r.lines().next())
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    assert!(lines >= 90, "{lines} lines after the reset\n{out}");
    assert!(
        err.contains(&format!(
            "gopher: {LINUX}:7072: connection reset by the server (what arrived is printed)"
        )),
        "{err}"
    );
    // Closed halfway, without the `.` line: all 104 items, and a word that it may be cut short.
    assert!(out.contains("fin=0\n104\n"), "{out}");
    assert!(
        err.contains(&format!(
            "gopher: {h}/1/fin-half: the menu ended without its closing \".\" line: it may be incomplete"
        )),
        "{err}"
    );
    // A byte every 0.5 s: --timeout 3 ends the whole fetch.
    assert!(out.contains("trickle=1\n"), "{out}");
    assert!(err.contains(&format!("{LINUX}:7072: timed out")), "{err}");
    // A non-UTF-8 selector, a port past 65535, a mirror.
    assert!(out.contains("1. [TXT] Caf\u{fffd}\n"), "{out}");
    assert!(
        out.contains("3. [DIR] Far away  (bad port \"99999\": not opened)\n"),
        "{out}"
    );
    assert!(out.contains("4. [DIR] Far away (mirror)\n"), "{out}");
    assert!(out.contains("odd=0\n"), "{out}");
    // The request is the selector's bytes (`#part` is not sent), CR LF (`--raw`: the answer's
    // bytes as they came).
    assert!(out.contains("sent 2f636166e92e7478740d0a\r\n"), "{out}");
    assert!(out.contains("sent 2ffffe0d0a\r\n"), "{out}");
    assert!(out.contains("nul=2\n"), "{out}");
    assert!(err.contains("a NUL byte (%00) in the selector"), "{err}");
    assert!(
        out.contains("(an empty menu: the server listed nothing here)\nempty=0\n"),
        "{out}"
    );
    // Browsing: the menu's items are fetched with the menu's bytes; the bad port is refused.
    let browse = out.split("empty=0\n").nth(1).unwrap_or("");
    assert!(browse.contains("sent 2f636166e92e7478740d0a"), "{browse}");
    assert!(browse.contains("sent 2ffffe0d0a"), "{browse}");
    assert!(
        browse.contains("link 3 cannot be followed: bad port \"99999\""),
        "{browse}"
    );
    assert!(browse.contains("browse=0"), "{browse}");
    drop(link);
}

#[test]
fn a_missing_tap_device_is_a_clear_error() {
    let Some(_link) = link() else { return };
    let (out, err, code) = eurali(
        &["-c", "echo hi"],
        &[("EURALI_NIC", "tap0@eurali-no-such-namespace")],
    );
    assert_eq!(
        code,
        eurali_host::boot::NO_STATUS,
        "stdout {out:?} stderr {err:?}"
    );
    assert!(
        err.contains("cannot make /dev/nic from EURALI_NIC=tap0@eurali-no-such-namespace")
            && err.contains("no network namespace"),
        "stdout {out:?} stderr {err:?}"
    );
}

/// A download into a full ramdisk (a 16 KiB one mounted by the shell; the blob is 64 KiB):
/// gopher says it could not write, naming the file where it knows it (`-o`), the shell names a
/// redirection's file, the status is 1, and what was written stays.
#[test]
fn gopher_says_when_its_output_cannot_be_written() {
    let Some(link) = link() else { return };
    let cmds = format!(
        "mount -t ramdisk -s 16384 /tmp/full; \
         echo small > /tmp/full/before; \
         gopher --raw gopher://{LINUX}/9/blob.bin > /tmp/full/raw; echo raw=$?; \
         gopher --print -o /tmp/full/saved gopher://{LINUX}/9/blob.bin; echo saved=$?; \
         gopher --print gopher://{LINUX}/1/huge > /tmp/full/menu; echo menu=$?; \
         wc -c /tmp/full/raw /tmp/full/saved; cat /tmp/full/before"
    );
    let (out, err, code) = system(&link, Some(&static_config()), &cmds);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(out.contains("raw=1\nsaved=1\nmenu=1\n"), "{out}\n{err}");
    for line in [
        "gopher: write error: No space left on device\n",
        "sh: /tmp/full/raw: write error: No space left on device\n",
        "gopher: /tmp/full/saved: write error: No space left on device\n",
        "sh: /tmp/full/menu: write error: No space left on device\n",
    ] {
        assert!(err.contains(line), "{line:?} not in\n{err}");
    }
    assert!(!err.contains("saved 65536 bytes"), "{err}");
    // All or nothing per write: what arrived in the first pieces may be there (how the 64 KiB
    // came off the network decides), the write that did not fit was refused whole, so neither
    // file is the whole blob.
    for name in ["/tmp/full/raw", "/tmp/full/saved"] {
        let size: usize = out
            .lines()
            .find(|l| l.ends_with(name))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no size of {name} in {out}"));
        assert!(size < 16384, "{name}: {size} bytes\n{out}");
    }
    assert!(out.ends_with("small\n"), "{out}");
}

#[test]
fn huge_menus_and_dead_or_silent_servers() {
    let Some(link) = link() else { return };
    let cmds = format!(
        "gopher --print gopher://{LINUX}/1/huge > /tmp/huge && wc -l /tmp/huge && tail -n 2 /tmp/huge; \
         gopher --print --timeout 2 gopher://{LINUX}:7070/1/; echo silent=$?; \
         gopher --print --timeout 2 gopher://10.77.0.99/1/; echo dead=$?; \
         gopher --print gopher://{LINUX}:7071/0/x; echo reset=$?"
    );
    let (out, err, code) = system(&link, Some(&static_config()), &cmds);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(out.contains("10000 /tmp/huge"), "{out}\n{err}");
    assert!(
        out.contains(" info line 5000\n5000. [TXT] Item 5000\n"),
        "{out}"
    );
    assert!(out.contains("silent=1") && out.contains("dead=1"), "{out}");
    assert!(
        err.contains(&format!(
            "{LINUX}:7070: timed out (the server is slow or gone)"
        )),
        "{err}"
    );
    assert!(err.contains("10.77.0.99:70: timed out"), "{err}");
    assert!(out.contains("reset=1"), "{out}");
    assert!(
        err.contains(&format!("{LINUX}:7071: connection reset by the server")),
        "{err}"
    );
}

/// The freestanding ELFs (`cargo xtask build`) and the guest loader, for hosted mode; `None`
/// (and a note) without them, unless under CI, where they must be there.
fn hosted_bins() -> Option<(String, String)> {
    hosted::elfs(&["tcp", "gopher"])
        .map(|(dir, g)| (dir.display().to_string(), g.display().to_string()))
}

#[test]
fn hosted_elfs_fetch_over_the_tap_link() {
    let Some(link) = link() else { return };
    let Some((bins, guest)) = hosted_bins() else {
        return;
    };
    let nic = format!("tap0@{}", link.ns);
    let cfg = static_config();
    let cmds = format!(
        "gopher --print gopher://{LINUX}/0/hello.txt && gopher --print -o /tmp/blob gopher://{LINUX}/9/blob.bin"
    );
    let (out, err, code) = eurali(
        &["--hosted", &bins, "-c", &cmds],
        &[
            ("EURALI_NIC", &nic),
            ("EURALI_NET", &cfg),
            ("EURALI_GUEST", &guest),
        ],
    );
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(out.contains("Hello from gophernicus."), "{out}\n{err}");
    assert!(err.contains("saved 65536 bytes to /tmp/blob"), "{err}");
}

#[test]
fn interactive_browsing_in_tmux() {
    let Some(link) = link() else { return };
    let cmd = format!(
        "EURALI_NIC=tap0@{} EURALI_NET='{}' {} -c 'gopher --line gopher://{LINUX}/'",
        link.ns,
        static_config(),
        env!("CARGO_BIN_EXE_eurali"),
    );
    let Some(s) = Pane::start("gopher", &cmd, 110, 40) else {
        return;
    };
    let s = s.with_scrollback(200);
    let pane = s.wait_for("gopher>");
    assert!(pane.contains("3. [DIR] Documents"), "{pane}");
    // Follow a menu link, go back, go forward.
    s.keys(&["3", "Enter"]);
    s.wait_for("[TXT] readme.txt");
    s.keys(&["b", "Enter"]);
    s.wait_for("fetching gopher://10.77.0.1/1 ...");
    s.keys(&["f", "Enter"]);
    s.wait_for("== gopher://10.77.0.1/1/docs ==\n");
    // Bookmark it, list the bookmarks, and follow the bookmark.
    s.keys(&["a", "Enter"]);
    s.wait_for("bookmarked gopher://10.77.0.1/1/docs");
    s.keys(&["B", "Enter"]);
    s.wait_for("== bookmarks ==\n 1. [DIR] gopher://10.77.0.1/1/docs");
    // Go to a URL: a text page.
    s.keys(&["g gopher://10.77.0.1/0/hello.txt", "Enter"]);
    s.wait_for("Hello from gophernicus.\nSecond line.");
    // Back to the root menu: a search with a query prompt.
    s.keys(&["g gopher://10.77.0.1/", "Enter"]);
    s.wait_for("fetching gopher://10.77.0.1/1 ...");
    s.keys(&["5", "Enter"]);
    s.wait_for("search for:");
    s.keys(&["cats", "Enter"]);
    s.wait_for("Results for: cats");
    s.keys(&["b", "Enter"]);
    s.wait_for("[ASK] Search the hole\n");
    // A binary item is saved to a file; telnet and web links are shown, not opened.
    s.keys(&["4", "Enter"]);
    s.wait_for("save gopher://10.77.0.1/9/blob.bin to file [blob.bin]:");
    s.keys(&["Enter"]);
    s.wait_for("saved 65536 bytes to blob.bin");
    s.keys(&["7", "Enter"]);
    s.wait_for("telnet session at bbs.example:23: not opened");
    s.keys(&["6", "Enter"]);
    s.wait_for("web link (open it in a web browser): http://example.org/");
    s.keys(&["99", "Enter"]);
    s.wait_for("no link 99 here");
    s.keys(&["?", "Enter"]);
    s.wait_for("go to a URL");
    // A huge menu goes through the pager (a screen of rows under its title); q stops it.
    s.keys(&["g gopher://10.77.0.1/1/huge", "Enter"]);
    s.wait_for("lines 1-38/10000");
    s.keys(&["Space"]);
    s.wait_for("lines 39-76/10000");
    s.keys(&["q"]);
    s.wait_last_row_starting("gopher>");
    s.keys(&["u", "Enter"]);
    s.wait_for("\ngopher://10.77.0.1/1/huge\n");
    s.keys(&["q", "Enter"]);
    let pane = s.wait_for("EXITED");
    drop(s);
    assert!(pane.contains("EXITED 0"), "{pane}");
}

/// Issue 19, defect 3: an address on the link that nobody has is "host unreachable" once ARP
/// got no answer (3 s, as on Linux), not "timed out" after the client's 20 s; status 1. Loopback
/// and our own address, where nothing listens, are refused.
#[test]
fn nobody_answering_arp_is_host_unreachable() {
    let Some(link) = link() else { return };
    let cmds = "gopher --print gopher://10.77.0.99/; echo status=$?; \
                gopher --print gopher://127.0.0.1:7000/; echo loopback=$?; \
                gopher --print gopher://10.77.0.2/; echo ours=$?; \
                gopher --print gopher://10.77.0.1/0/hello.txt";
    let (out, err, code) = system(&link, Some(&static_config()), cmds);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(
        err.contains("gopher: 10.77.0.99:70: host unreachable"),
        "{out}\n{err}"
    );
    assert!(!err.contains("timed out"), "{err}");
    assert!(out.contains("status=1"), "{out}");
    // This machine's own addresses never reach the wire (tcp's unit tests watch the link);
    // nothing listens on them here: refused at once, as on a host with loopback.
    assert!(
        err.contains("gopher: 127.0.0.1:7000: connection refused"),
        "{out}\n{err}"
    );
    assert!(
        err.contains("gopher: 10.77.0.2:70: connection refused"),
        "{out}\n{err}"
    );
    assert!(
        out.contains("loopback=1") && out.contains("ours=1"),
        "{out}"
    );
    // The link itself works: the server's own address is reached.
    assert!(out.contains("Hello from gophernicus."), "{out}\n{err}");
}

/// The first row of a captured pane.
fn first_row(pane: &str) -> &str {
    pane.lines().next().unwrap_or("")
}

/// The browser's pager (issue 19, defect 8) pages by screen rows under a title that stays: a
/// line of 70 000 characters and 40 lines of 250 each, at a 110x40 terminal; paging down and up,
/// the end, a search with `/`, and the page left in view at the prompt after `q`.
#[test]
fn the_pager_keeps_the_title_and_pages_by_rows() {
    let Some(link) = link() else { return };
    let cmd = format!(
        "EURALI_NIC=tap0@{} EURALI_NET='{}' {} -c 'gopher --line gopher://{LINUX}:7072/0/longline'",
        link.ns,
        static_config(),
        env!("CARGO_BIN_EXE_eurali"),
    );
    let Some(s) = Pane::start("gopher-pager", &cmd, 110, 40) else {
        return;
    };
    let title = "== gopher://10.77.0.1:7072/0/longline ==";
    // 70 000 characters are 637 rows of 110, and the last line one more; 38 rows a screen
    // (the title above, the status line below).
    let pane = s.wait_for("lines 1-38/638");
    assert_eq!(first_row(&pane), title, "{pane}");
    assert!(
        pane.lines()
            .nth(1)
            .unwrap_or("")
            .starts_with("abcdefghi abcdefghi"),
        "{pane}"
    );
    s.keys(&["Space"]);
    let pane = s.wait_for("lines 39-76/638");
    assert_eq!(first_row(&pane), title, "{pane}");
    s.keys(&["G"]);
    let pane = s.wait_for("lines 601-638/638 (END)");
    assert_eq!(first_row(&pane), title, "{pane}");
    assert!(pane.contains("\nthe last line\n"), "{pane}");
    s.keys(&["b"]);
    let pane = s.wait_for("lines 563-600/638");
    assert_eq!(first_row(&pane), title, "{pane}");
    s.keys(&["k"]);
    s.wait_for("lines 562-599/638");
    // A search from the top: the row holding the word comes to the top of the text. 3500 words
    // of 10 characters come before it: row 319 (0-based 318) starts at character 34 980.
    s.keys(&["g"]);
    s.wait_for("lines 1-38/638");
    s.keys(&["/"]);
    s.text("NEEDLE");
    s.keys(&["Enter"]);
    let pane = s.wait_for("lines 319-356/638");
    assert_eq!(first_row(&pane), title, "{pane}");
    assert!(
        pane.lines().nth(1).unwrap_or("").contains("NEEDLE-HER"),
        "{pane}"
    );
    s.keys(&["/"]);
    s.text("nowhere-at-all");
    s.keys(&["Enter"]);
    s.wait_for("Pattern not found");
    // q: back at the prompt, the page (and its title) still in view.
    s.keys(&["q"]);
    let pane = s.wait_last_row_starting("gopher>");
    assert_eq!(first_row(&pane), title, "{pane}");
    assert!(pane.contains("NEEDLE-HER"), "{pane}");
    // 40 lines of 250 characters: 3 rows each.
    s.keys(&["g gopher://10.77.0.1/0/wide.txt", "Enter"]);
    let pane = s.wait_for("lines 1-38/120");
    assert_eq!(
        first_row(&pane),
        "== gopher://10.77.0.1/0/wide.txt ==",
        "{pane}"
    );
    assert!(
        pane.lines()
            .nth(1)
            .unwrap_or("")
            .starts_with("wide line 01 xxx"),
        "{pane}"
    );
    s.keys(&["PageDown"]);
    let pane = s.wait_for("lines 39-76/120");
    assert_eq!(
        first_row(&pane),
        "== gopher://10.77.0.1/0/wide.txt ==",
        "{pane}"
    );
    // Row 39 (0-based 38) is the third of line 13.
    assert!(
        pane.lines().nth(1).unwrap_or("").starts_with("xxx"),
        "{pane}"
    );
    assert!(
        pane.lines()
            .nth(2)
            .unwrap_or("")
            .starts_with("wide line 14 xxx"),
        "{pane}"
    );
    s.keys(&["Up"]);
    s.wait_for("lines 38-75/120");
    s.keys(&["q"]);
    s.wait_last_row_starting("gopher>");
    s.keys(&["q", "Enter"]);
    let pane = s.wait_for("EXITED");
    drop(s);
    assert!(pane.contains("EXITED 0"), "{pane}");
}

/// Saving in the browser (issue 19): progress while it runs, Ctrl-C keeps what arrived in the
/// file, and an existing file is replaced only when the user says so.
#[test]
fn interactive_downloads_keep_what_arrived_and_ask_before_replacing() {
    let Some(link) = link() else { return };
    let cmd = format!(
        "EURALI_NIC=tap0@{} EURALI_NET='{}' {} --user user",
        link.ns,
        static_config(),
        env!("CARGO_BIN_EXE_eurali"),
    );
    let Some(s) = Pane::start("gopher-save", &cmd, 110, 30) else {
        return;
    };
    s.wait_for("$");
    s.keys(&[
        &format!("gopher --line gopher://{LINUX}:7072/9/slow"),
        "Enter",
    ]);
    s.wait_for("to file [slow]:");
    s.keys(&["Enter"]);
    // Progress: the bytes so far and the rate, on one line.
    let pane = s.wait_until("progress", |p| p.contains(" so far, "));
    assert!(pane.contains("KiB so far"), "{pane}");
    std::thread::sleep(std::time::Duration::from_millis(1200));
    s.keys(&["C-c"]);
    s.keys(&["wc -c < slow", "Enter"]);
    let pane = s.wait_until("the size", |p| {
        p.lines()
            .any(|l| l.trim().parse::<u64>().is_ok_and(|n| n >= 300_000))
    });
    assert!(!pane.contains("saved "), "{pane}");
    // Again: the file is there; it is kept unless the user says y.
    s.keys(&[
        &format!("gopher --line gopher://{LINUX}:7072/9/slow"),
        "Enter",
    ]);
    s.wait_for("to file [slow]:");
    s.keys(&["Enter"]);
    s.wait_for("slow exists: replace it? [y/N]");
    s.keys(&["n", "Enter"]);
    s.wait_for("not saved");
    s.keys(&["q", "Enter"]);
    s.keys(&["exit", "Enter"]);
    let pane = s.wait_for("EXITED");
    drop(s);
    drop(link);
    assert!(pane.contains("EXITED 0"), "{pane}");
}

/// `gopherd` (issue 19, "Beyond the peers", a first version) serves ~/public_gopher on eurali:
/// eurali's own `gopher` reaches it through loopback, and Linux's curl over the TAP link.
#[test]
fn gopherd_serves_public_gopher_to_us_and_to_linux() {
    let Some(link) = link() else { return };
    let curl = curl_until(
        &link,
        "curl.out",
        &format!("gopher://{OURS}:7000/0/hello.txt"),
        "gopherd",
        2,
    );
    let cmds = "mkdir -p ~/public_gopher/docs ~/public_gopher/sub; \
        echo 'Hello from gopherd.' > ~/public_gopher/hello.txt; \
        echo 'the docs' > ~/public_gopher/docs/readme.txt; \
        printf 'A sub menu\n0Readme\t/docs/readme.txt\n0Here\there.txt\n' > ~/public_gopher/sub/gophermap; \
        gopherd --port 7000 & sleep 1; \
        gopher --print gopher://127.0.0.1:7000/; \
        gopher --print gopher://127.0.0.1:7000/0/hello.txt; \
        gopher --print gopher://127.0.0.1:7000/1/sub; \
        gopher --print gopher://127.0.0.1:7000/1/docs; \
        gopher --print 'gopher://127.0.0.1:7000/0/../etc/passwd'; \
        gopherd --port 0; echo badport=$?; \
        gopherd --port 7001 /nowhere; echo nodir=$?; \
        sleep 6; echo END";
    let (out, err, code) = system(&link, Some(&static_config()), cmds);
    let got = curl.got();
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(
        err.contains("gopherd: serving /home/root/public_gopher on port 7000"),
        "{err}"
    );
    // The listing, typed: directories 1, text 0.
    assert!(out.contains("1. [DIR] docs"), "{out}\n{err}");
    assert!(out.contains("2. [TXT] hello.txt"), "{out}");
    assert!(out.contains("3. [DIR] sub"), "{out}");
    assert!(out.contains("Hello from gopherd."), "{out}");
    // A gophermap: info lines, absolute and relative selectors.
    assert!(out.contains("A sub menu"), "{out}");
    assert!(out.contains("1. [TXT] Readme"), "{out}");
    assert!(out.contains("2. [TXT] Here"), "{out}");
    assert!(out.contains("1. [TXT] readme.txt"), "{out}");
    assert!(out.contains("bad selector"), "{out}");
    assert!(err.contains("gopherd: --port wants a port"), "{err}");
    assert!(out.contains("badport=2"), "{out}");
    assert!(err.contains("gopherd: /nowhere:"), "{err}");
    assert!(out.contains("nodir=1"), "{out}");
    assert!(out.contains("END"), "{out}");
    // Linux's curl got the file over the TAP link.
    assert_eq!(got, "Hello from gopherd.\n", "curl got {got:?}\n{err}");
}

/// A program for the in-process stub (issue 19, defect 3): tcp on the TAP link, a Gopher
/// "server" of its own listening on port 7070 of this machine (the socket protocol through
/// std's `TcpListener`), and `gopher --print` fetching from it at 127.0.0.1, at 127.9.9.9 and at
/// our own address: through tcp's loopback interface, never the link.
fn loopback_probe() {
    use eurali_std as shim;
    use shim::io::{Read, Write};
    probe_root();
    shim::fs::write("/bin/gopher", kernel_stub::Kernel::program_image("gopher")).unwrap();
    let (srv, cli) = libeurali::new_rendezvous().unwrap();
    let args: Vec<String> = shim::env::args().skip(1).collect();
    let _tcp = shim::process::Command::new("/bin/tcp")
        .args(&args)
        .stdin(srv)
        .spawn()
        .unwrap();
    libeurali::mount("/net", cli).unwrap();
    let l = shim::net::TcpListener::bind("0.0.0.0:7070").unwrap();
    shim::thread::spawn(move || {
        for _ in 0..3 {
            let Ok((mut s, peer)) = l.accept() else {
                return;
            };
            let mut req = Vec::new();
            let mut b = [0u8; 64];
            while !req.ends_with(b"\n") {
                match s.read(&mut b) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&b[..n]),
                }
            }
            let sel = String::from_utf8_lossy(&req).trim_end().to_string();
            let _ = write!(
                s,
                "iserved {sel} to {}\tfake\tnull\t0\r\n0Back here\t/x\t127.0.0.1\t7070\r\n.\r\n",
                peer.ip()
            );
        }
    });
    for url in [
        "gopher://127.0.0.1:7070/1/first",
        "gopher://127.9.9.9:7070/1/second",
        "gopher://10.77.0.2:7070/1/third",
    ] {
        let out = shim::process::Command::new("/bin/gopher")
            .args(["--print", url])
            .output()
            .unwrap();
        shim::println!(
            "{url}: {:?} {}{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Loopback (issue 19, defect 3): a listener on eurali is reached at 127.0.0.1, anywhere in
/// 127/8 and at our own address, and none of it goes out on the link (the TAP interface's
/// packet counter on the Linux side does not move by as much as one connection's packets).
#[test]
fn loopback_reaches_a_listener_here() {
    let Some(link) = link() else { return };
    let rx = |l: &netlink::Link| -> u64 {
        let out = std::process::Command::new("ip")
            .args([
                "netns",
                "exec",
                &l.ns,
                "cat",
                "/sys/class/net/tap0/statistics/rx_packets",
            ])
            .output()
            .expect("ip runs");
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .unwrap_or(0)
    };
    let r = run_probe(
        &link,
        eurali_std::program_entry!("loopback-probe", loopback_probe),
    );
    let out = r.stdout;
    for (url, sel, from) in [
        ("gopher://127.0.0.1:7070/1/first", "/first", "127.0.0.1"),
        // From 127.0.0.1, as Linux's loopback does.
        ("gopher://127.9.9.9:7070/1/second", "/second", "127.0.0.1"),
        ("gopher://10.77.0.2:7070/1/third", "/third", "10.77.0.2"),
    ] {
        let line = out
            .lines()
            .skip_while(|l| !l.starts_with(url))
            .take(3)
            .collect::<Vec<_>>()
            .join("\n");
        assert!(line.starts_with(&format!("{url}: Some(0)")), "{out}");
        assert!(line.contains(&format!("served {sel} to {from}")), "{out}");
        assert!(line.contains("1. [TXT] Back here"), "{out}");
    }
    // Nothing of it on the wire: tcp's own traffic (an ARP now and then) is a few packets at
    // most; three connections through the link would have been dozens.
    let before = rx(&link);
    let again = run_probe(
        &link,
        eurali_std::program_entry!("loopback-probe", loopback_probe),
    );
    assert!(
        again.stdout.contains("served /third to 10.77.0.2"),
        "{}",
        again.stdout
    );
    let sent = rx(&link) - before;
    assert!(
        sent < 10,
        "{sent} packets reached Linux during loopback fetches"
    );
}

/// A program for the in-process stub: the root file system with `/bin/tcp`, the network
/// started as init starts it, then std's `net` used directly: a UDP echo round trip with the
/// Linux side, a TCP listener that a Linux client talks to, and name lookups.
fn net_api_probe() {
    use eurali_std as shim;
    use shim::io::{Read, Write};
    probe_root();
    let (srv, cli) = libeurali::new_rendezvous().unwrap();
    let args: Vec<String> = shim::env::args().skip(1).collect();
    let _tcp = shim::process::Command::new("/bin/tcp")
        .args(&args)
        .stdin(srv)
        .spawn()
        .unwrap();
    libeurali::mount("/net", cli).unwrap();

    // UDP: a datagram to the Linux side's echo server and back (sent again if lost, as UDP
    // clients do).
    let mut u = shim::net::UdpSocket::bind("0.0.0.0:0").unwrap();
    u.set_read_timeout(Some(core::time::Duration::from_secs(1)))
        .unwrap();
    let local = u.local_addr().unwrap();
    let mut buf = [0u8; 100];
    let mut got = None;
    for attempt in 1..=5 {
        if attempt > 1 {
            shim::eprintln!("udp: attempt {attempt}");
        }
        u.send_to(
            b"hello over udp",
            (shim::net::Ipv4Addr::new(10, 77, 0, 1), 9999),
        )
        .unwrap();
        match u.recv_from(&mut buf) {
            Ok(r) => {
                got = Some(r);
                break;
            }
            Err(e) => assert_eq!(e.kind(), shim::io::ErrorKind::TimedOut),
        }
    }
    let (n, from) = got.expect("an echo within 5 tries");
    shim::println!(
        "udp echo from {from}: {} (local port nonzero: {})",
        core::str::from_utf8(&buf[..n]).unwrap_or("?"),
        local.port() != 0
    );

    // TCP: listen, and serve one client from the Linux side.
    let l = shim::net::TcpListener::bind("0.0.0.0:7000").unwrap();
    shim::println!("listening on {}", l.local_addr().unwrap());
    let (mut s, peer) = l.accept().unwrap();
    let mut got = Vec::new();
    let mut b = [0u8; 64];
    while !got.ends_with(b"\n") {
        let n = s.read(&mut b).unwrap();
        if n == 0 {
            break;
        }
        got.extend_from_slice(&b[..n]);
    }
    shim::println!(
        "accepted {} from the Linux side: {:?}",
        peer.ip(),
        String::from_utf8_lossy(&got)
    );
    s.write_all(b"pong: ").unwrap();
    s.write_all(&got).unwrap();
    s.shutdown(shim::net::Shutdown::Write).unwrap();
    // The client closes after our FIN: the rest of its side is end of file.
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    shim::println!("client done, peer was {}", s.peer_addr().unwrap().ip());
    drop(s);

    // Names: a literal, one the DNS server knows, one it does not.
    let a: Vec<_> = shim::net::ToSocketAddrs::to_socket_addrs("10.77.0.1:70")
        .unwrap()
        .collect();
    shim::println!("literal: {a:?}");
    shim::println!("gopher.test: {:?}", shim::net::lookup_host("gopher.test"));
    shim::println!(
        "bad: {:?}",
        shim::net::lookup_host("nope.test").map_err(|e| e.kind())
    );
    // A refused connection, and an unreachable host within a short timeout.
    shim::println!(
        "refused: {:?}",
        shim::net::TcpStream::connect("10.77.0.1:71").map_err(|e| e.kind())
    );
    let t0 = shim::time::Instant::now();
    let r = shim::net::TcpStream::connect_timeout(
        &"10.77.0.99:70".parse().unwrap(),
        core::time::Duration::from_millis(700),
    );
    shim::println!(
        "unreachable: {:?} in under 3 s: {}",
        r.map_err(|e| e.kind()),
        t0.elapsed() < core::time::Duration::from_secs(3)
    );
    // Protocol misuse gets error replies, and the server goes on serving.
    use libeurali::proto::net as p;
    let (mount, _) = libeurali::open("/net").unwrap();
    let odd = libeurali::rcall(&mount, libeurali::Message::Short(0x9999, 1, 2)).unwrap();
    let sess = p::socket(&mount, 30_000_000).unwrap();
    let garbage = libeurali::rcall(&sess, libeurali::Message::Short(0x4242, 0, 0)).unwrap();
    let mut b = [0u8; 8];
    shim::println!(
        "misuse: {:?} {:?} {:?} {:?} {:?} {:?}",
        odd.values().0 == libeurali::msgtype::ERROR_UNKNOWN_MESSAGE,
        garbage.values().0 == libeurali::msgtype::ERROR_UNKNOWN_MESSAGE,
        p::read(&sess, &mut b, 10),
        p::connect(&sess, p::pack_addr([10, 77, 0, 1], 0), 10),
        p::accept(&sess, 10).map(|_| ()),
        p::send_to(&sess, b"x", p::pack_addr([10, 77, 0, 1], 9)),
    );
    p::close(&sess).unwrap();
    // A plain send on /net (nobody waits for a reply; a killed tcp's kill wake-up left there is
    // one) is dropped: /net goes on serving (a reply to it waited for good and stopped /net).
    libeurali::send(
        &mount,
        libeurali::Message::Short(libeurali::msgtype::KILL_WAKE, 0, 0),
    )
    .unwrap();
    libeurali::send(&mount, libeurali::Message::Short(0x9999, 0, 0)).unwrap();
    shim::println!(
        "after plain sends: {:?}",
        shim::net::UdpSocket::bind("0.0.0.0:0")
            .map(|_| ())
            .map_err(|e| e.kind())
    );
    // One client cannot make the server hold sockets without end (their buffers come from
    // its fixed heap): binds past the cap are refused with a clear error; once they are
    // dropped, sockets are to be had again.
    let mut held = Vec::new();
    let refused = loop {
        match shim::net::UdpSocket::bind("0.0.0.0:0") {
            Ok(s) => held.push(s),
            Err(e) => break Some(e.kind()),
        }
        if held.len() > 100 {
            break None;
        }
    };
    shim::println!(
        "socket cap: {} held, at most 24: {}, then {:?}",
        held.len() >= 10,
        held.len() <= 24,
        refused
    );
    drop(held);
    shim::println!(
        "after the cap: {:?}",
        shim::net::UdpSocket::bind("0.0.0.0:0")
            .map(|_| ())
            .map_err(|e| e.kind())
    );
    shim::println!("still serving: {:?}", shim::net::lookup_host("gopher.test"));
    shim::process::exit(0);
}

#[test]
fn std_net_udp_listen_accept_and_lookups() {
    let Some(link) = link() else { return };
    // The Linux side: a UDP echo server, and a TCP client that keeps trying until our
    // listener is up; its output goes to a file the test reads.
    let echo = std::process::Command::new("ip")
        .args([
            "netns",
            "exec",
            &link.ns,
            "socat",
            "UDP-RECVFROM:9999,fork",
            "EXEC:cat",
        ])
        .spawn()
        .expect("socat");
    let start = std::time::Instant::now();
    while !String::from_utf8_lossy(
        &std::process::Command::new("ip")
            .args(["netns", "exec", &link.ns, "ss", "-lun"])
            .output()
            .expect("ss")
            .stdout,
    )
    .contains(":9999 ")
    {
        assert!(
            start.elapsed().as_secs() < 10,
            "the UDP echo server never listened"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let out_file = link.root.join("client.out");
    let client = std::process::Command::new("ip")
        .args(["netns", "exec", &link.ns, "sh", "-c"])
        .arg(format!(
            "for i in $(seq 100); do echo ping | socat -t 5 - TCP:{OURS}:7000,connect-timeout=1 > {} 2>/dev/null && break; sleep 0.2; done",
            out_file.display()
        ))
        .spawn()
        .expect("client");
    let r = run_probe(
        &link,
        eurali_std::program_entry!("net-api-probe", net_api_probe),
    );
    for mut c in [echo, client] {
        let _ = c.kill();
        let _ = c.wait();
    }
    let out = r.stdout;
    assert!(
        out.contains("udp echo from 10.77.0.1:9999: hello over udp (local port nonzero: true)"),
        "{out}"
    );
    assert!(out.contains("listening on 0.0.0.0:7000"), "{out}");
    assert!(
        out.contains("accepted 10.77.0.1 from the Linux side: \"ping\\n\""),
        "{out}"
    );
    assert!(out.contains("client done, peer was 10.77.0.1"), "{out}");
    let client_got = std::fs::read_to_string(&out_file).unwrap_or_default();
    assert_eq!(client_got, "pong: ping\n");
    assert!(out.contains("literal: [10.77.0.1:70]"), "{out}");
    assert!(out.contains("gopher.test: Ok(10.77.0.1)"), "{out}");
    assert!(out.contains("bad: Err(NotFound)"), "{out}");
    assert!(out.contains("refused: Err(ConnectionRefused)"), "{out}");
    assert!(
        out.contains("socket cap: true held, at most 24: true, then Some(OutOfMemory)"),
        "{out}"
    );
    assert!(out.contains("after plain sends: Ok(())"), "{out}");
    assert!(out.contains("after the cap: Ok(())"), "{out}");
    assert!(out.contains("still serving: Ok("), "{out}");
    assert!(
        out.contains("unreachable: Err(TimedOut) in under 3 s: true"),
        "{out}"
    );
}

/// How often the stand-in for `/bin/tcp` below has been started.
static TCP_STARTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
/// The real tcp's entry.
static REAL_TCP: std::sync::OnceLock<kernel_stub::ProgramEntry> = std::sync::OnceLock::new();

/// `/bin/tcp` that fails at its first start (as a tcp that died would) and is the real one
/// after that.
fn flaky_tcp(regs: libeurali::EntryRegisters) {
    if TCP_STARTS.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
        eurali_std::rt::start(regs, || eurali_std::process::exit(3))
    }
    (REAL_TCP.get().expect("the real tcp"))(regs)
}

#[test]
fn init_starts_tcp_again_when_it_ends() {
    let Some(link) = link() else { return };
    let mut progs = eurali::programs();
    for p in progs.iter_mut().filter(|(n, _)| *n == "tcp") {
        let _ = REAL_TCP.set(p.1);
        p.1 = flaky_tcp;
    }
    let r = with_link_env(&link, Some(&static_config()), || {
        eurali_host::boot::run_system_captured(
            &progs,
            &[
                "-c".into(),
                format!("gopher --print gopher://{LINUX}/0/hello.txt && echo FETCHED"),
            ],
            b"",
            std::time::Duration::from_secs(90),
        )
    });
    assert_eq!(r.code, 0, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr
            .contains("init: network: tcp ended (exit status: 3); starting it again"),
        "{}",
        r.stderr
    );
    assert!(
        r.stdout
            .contains("Hello from gophernicus.\nSecond line.\nFETCHED"),
        "stdout:\n{}\nstderr:\n{}",
        r.stdout,
        r.stderr
    );
    assert_eq!(TCP_STARTS.load(std::sync::atomic::Ordering::SeqCst), 2);
}

/// A program for the in-process stub: `/bin/tcp` started as init starts it (on a rendezvous kept
/// for a restart), three connections to the Gopher server waiting in reads (the server waits
/// for a selector that never comes), then tcp killed: every read ends at once with an error,
/// tcp reports 137, and a tcp started again on the same `/net` serves a whole fetch.
fn net_kill_probe() {
    use eurali_std as shim;
    use shim::io::Read;
    use std::time::Duration;
    probe_root();
    let (srv, cli) = libeurali::new_rendezvous().unwrap();
    let args: Vec<String> = shim::env::args().skip(1).collect();
    let start = || {
        shim::process::Command::new("/bin/tcp")
            .args(&args)
            .stdin(srv.try_clone().unwrap())
            .spawn()
            .unwrap()
    };
    let mut tcp = start();
    libeurali::mount("/net", cli).unwrap();
    let gopher: shim::net::SocketAddr = format!("{LINUX}:70").parse().unwrap();
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let mut s = shim::net::TcpStream::connect(gopher).unwrap();
            shim::thread::spawn(move || {
                let mut b = [0u8; 64];
                let t0 = shim::time::Instant::now();
                let r = s.read(&mut b).map_err(|e| e.kind());
                (r, t0)
            })
        })
        .collect();
    shim::thread::sleep(Duration::from_millis(300));
    let killed_at = shim::time::Instant::now();
    tcp.kill().unwrap();
    shim::println!("tcp: {:?}", tcp.wait().unwrap().code());
    for r in readers {
        let (res, _) = r.join().unwrap();
        shim::println!(
            "reader: {res:?} within 5 s of the kill: {}",
            killed_at.elapsed() < Duration::from_secs(5)
        );
    }
    let _tcp2 = start();
    let text = fetch_hello(shim::net::TcpStream::connect(gopher).unwrap()).unwrap();
    shim::println!("after the restart: {text:?}");
    shim::process::exit(0);
}

#[test]
fn a_killed_tcp_ends_its_connections_and_a_new_one_serves() {
    let Some(link) = link() else { return };
    let r = run_probe(
        &link,
        eurali_std::program_entry!("net-kill-probe", net_kill_probe),
    );
    let out = r.stdout;
    assert!(out.contains("tcp: Some(137)"), "{out}");
    assert_eq!(
        out.matches("reader: Err(ConnectionReset) within 5 s of the kill: true")
            .count(),
        3,
        "{out}\n{}",
        r.stderr
    );
    assert!(
        out.contains("after the restart: \"Hello from gophernicus.\\r\\nSecond line.\\r\\n\""),
        "{out}"
    );
}

/// A program for the in-process stub: `/net` with no tcp behind it for 3 s (a tcp that init is
/// slow to start again), and four clients connecting meanwhile. The first one's request waits
/// in `/net` itself; the other three find it busy and must keep waiting for their turn — for
/// their connect timeout, not for a count of tries (which a fast host used up within a tenth of
/// a second) — and every one of them fetches once tcp is there.
fn slow_restart_probe() {
    use eurali_std as shim;
    use std::time::Duration;
    probe_root();
    let (srv, cli) = libeurali::new_rendezvous().unwrap();
    libeurali::mount("/net", cli).unwrap();
    let gopher: shim::net::SocketAddr = format!("{LINUX}:70").parse().unwrap();
    let clients: Vec<_> = (0..4)
        .map(|_| {
            shim::thread::spawn(move || {
                let t0 = shim::time::Instant::now();
                let fetched =
                    shim::net::TcpStream::connect_timeout(&gopher, Duration::from_secs(20))
                        .and_then(fetch_hello);
                (fetched.map_err(|e| e.to_string()), t0.elapsed())
            })
        })
        .collect();
    shim::thread::sleep(Duration::from_secs(3));
    let args: Vec<String> = shim::env::args().skip(1).collect();
    let _tcp = shim::process::Command::new("/bin/tcp")
        .args(&args)
        .stdin(srv)
        .spawn()
        .unwrap();
    for c in clients {
        let (fetched, took) = c.join().unwrap();
        shim::println!(
            "client: {fetched:?} after the start: {}",
            took >= Duration::from_secs(3)
        );
    }
    shim::process::exit(0);
}

#[test]
fn clients_wait_for_a_tcp_that_is_slow_to_start_again() {
    let Some(link) = link() else { return };
    let r = run_probe(
        &link,
        eurali_std::program_entry!("slow-restart-probe", slow_restart_probe),
    );
    let out = r.stdout;
    assert_eq!(
        out.matches(
            "client: Ok(\"Hello from gophernicus.\\r\\nSecond line.\\r\\n\") after the start: true"
        )
        .count(),
        4,
        "{out}\n{}",
        r.stderr
    );
}

/// `/bin/tcp` that always ends with status 3 after a moment (a tcp that cannot run).
fn failing_tcp(regs: libeurali::EntryRegisters) {
    eurali_std::rt::start(regs, || {
        eurali_std::thread::sleep(std::time::Duration::from_millis(200));
        eurali_std::process::exit(3)
    })
}

#[test]
fn when_init_gives_up_on_tcp_a_waiting_connect_gets_an_error() {
    let Some(link) = link() else { return };
    let mut progs = eurali::programs();
    for p in progs.iter_mut().filter(|(n, _)| *n == "tcp") {
        p.1 = failing_tcp;
    }
    let r = with_link_env(&link, Some(&static_config()), || {
        eurali_host::boot::run_system_captured(
            &progs,
            &[
                "-c".into(),
                format!(
                    "gopher --print gopher://{LINUX}/0/hello.txt; echo \"rc=$?\"; \
                     gopher --print gopher://{LINUX}/0/hello.txt; echo \"rc=$?\""
                ),
            ],
            b"",
            std::time::Duration::from_secs(60),
        )
    });
    assert_eq!(r.code, 0, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains(
            "init: network: tcp ended (exit status: 3) 5 times within a minute; not starting it again"
        ),
        "{}",
        r.stderr
    );
    assert_eq!(r.stdout, "rc=1\nrc=1\n", "stderr:\n{}", r.stderr);
    assert_eq!(
        r.stderr
            .matches(&format!(
                "gopher: {LINUX}:70: connection reset by the server\n"
            ))
            .count(),
        2,
        "{}",
        r.stderr
    );
}

/// Types a shell command line at the pane and waits until it has run (a marker it echoes).
fn shell_line(s: &Pane, line: &str) {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    s.text(&format!("{line}; echo ran-{n}"));
    s.keys(&["Enter"]);
    s.wait_for(&format!("\nran-{n}"));
}

/// Types a shell command line at the pane (one that does not end by itself).
fn shell_start(s: &Pane, line: &str) {
    s.text(line);
    s.keys(&["Enter"]);
}

/// The last non-blank row of a captured pane (the full-screen browser's status row).
fn status_row(pane: &str) -> &str {
    pane.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
}

/// Issue 19, "Beyond the peers": the full-screen browser, driven as a user at a terminal
/// against `gopherd` on eurali's loopback: the selection over the links (arrows, j/k, digits),
/// following a link, a search item (its query asked on the status row, sent as typed, run by
/// gopherd), back and forward from the page cache (the search is not run again) and `R` (it
/// is), a long menu paged under a fixed title with its wide lines cut, `/` search, the history
/// page, help, and bookmarks kept in $HOME across runs, a bad line in them kept and said, a
/// file that is not text said and left alone.
#[test]
fn full_screen_browsing_in_tmux() {
    let Some(link) = link() else { return };
    let cmd = format!(
        "EURALI_NIC=tap0@{} EURALI_NET='{}' {} --user user",
        link.ns,
        static_config(),
        env!("CARGO_BIN_EXE_eurali"),
    );
    let Some(s) = Pane::start("gopher-full", &cmd, 100, 30) else {
        return;
    };
    s.wait_for("$");
    shell_line(&s, "mkdir -p ~/public_gopher/long; cd ~/public_gopher");
    shell_line(
        &s,
        "printf 'Welcome to the test hole\\n0Hello\\thello.txt\\n7Find things\\tfind\\n1Long menu\\tlong\\n' > gophermap",
    );
    shell_line(&s, "echo 'Hello from gopherd.' > hello.txt");
    // A search program that counts its runs (in its directory, where gopherd runs it).
    shell_line(
        &s,
        "printf '#!/bin/sh\\nn=$(cat count 2>/dev/null || echo 0)\\nn=$((n+1))\\necho $n > count\\necho \"run $n for: $1\"\\nprintf \"0Hello again\\\\t/hello.txt\\\\n\"\\n' > find",
    );
    let wide = "wide:".to_string() + &"abcdefghij".repeat(30);
    shell_line(
        &s,
        &format!(
            "(echo {wide}; for i in $(seq 60); do echo \"info $i\"; printf '0Item %s\\t/hello.txt\\n' $i; done) > long/gophermap"
        ),
    );
    shell_line(&s, "cd; gopherd --port 7000 2> /dev/null & sleep 1");
    shell_start(&s, "gopher gopher://127.0.0.1:7000/");
    let pane = s.wait_for("3. [DIR] Long menu");
    assert!(
        first_row(&pane).starts_with(" gopher://127.0.0.1:7000/1"),
        "{pane}"
    );
    assert!(pane.contains("Welcome to the test hole"), "{pane}");
    assert!(
        pane.contains("1. [TXT] Hello\n2. [ASK] Find things\n"),
        "{pane}"
    );
    assert!(status_row(&pane).contains("? for the keys"), "{pane}");
    // The selection: the first link, in reverse video.
    assert!(
        s.pane_with_colours().contains("\x1b[7m1. [TXT] Hello"),
        "{}",
        s.pane_with_colours()
    );
    s.keys(&["Down"]);
    s.wait_until("link 2 selected", |p| {
        status_row(p).starts_with("2: gopher://127.0.0.1:7000/7/find")
    });
    // A search: the query is asked for on the status row and reaches the program as typed.
    s.keys(&["Enter"]);
    s.wait_until("the query prompt", |p| {
        status_row(p).starts_with("search Find things:")
    });
    s.text("cats; echo pwned $(id)");
    s.keys(&["Enter"]);
    let pane = s.wait_for("run 1 for: cats; echo pwned $(id)");
    assert!(
        first_row(&pane).starts_with(" Find things: cats; echo pwned $(id)"),
        "{pane}"
    );
    assert!(!pane.contains("pwned user"), "{pane}");
    // Follow its one link: a text page.
    s.keys(&["Enter"]);
    let pane = s.wait_for("Hello from gopherd.");
    assert!(
        first_row(&pane).starts_with(" Hello again  <gopher://127.0.0.1:7000/0/hello.txt>"),
        "{pane}"
    );
    // Back: the results from the cache (the program is not run again) ...
    s.keys(&["Left"]);
    s.wait_for("run 1 for: cats");
    // ... and forward, and back again, also from the cache.
    s.keys(&["f"]);
    s.wait_until("forward", |p| first_row(p).starts_with(" Hello again"));
    s.keys(&["BSpace"]);
    let pane = s.wait_until("back", |p| first_row(p).starts_with(" Find things"));
    assert!(pane.contains("run 1 for: cats"), "{pane}");
    // R fetches anew: the program runs a second time.
    s.keys(&["R"]);
    s.wait_for("run 2 for: cats");
    // Back to the first menu, the selection where it was.
    s.keys(&["Left"]);
    s.wait_until("the menu, link 2 selected", |p| {
        status_row(p).starts_with("2: gopher://127.0.0.1:7000/7/find")
    });
    // A digit selects a link; Enter follows it: a long menu under a title that stays.
    s.keys(&["3"]);
    s.wait_until("link 3 selected", |p| {
        status_row(p).starts_with("3: gopher://127.0.0.1:7000/1/long")
    });
    s.keys(&["Enter"]);
    let pane = s.wait_until("the long menu", |p| status_row(p).ends_with("1-28/121"));
    assert!(
        first_row(&pane).starts_with(" Long menu  <gopher://127.0.0.1:7000/1/long>"),
        "{pane}"
    );
    // The wide line is cut at the screen's edge, not wrapped: the next row is the next line.
    let rows: Vec<&str> = pane.lines().collect();
    assert!(
        rows[1].trim_start().starts_with("wide:abcdefghij"),
        "{pane}"
    );
    assert_eq!(rows[1].chars().count(), 100, "{pane}");
    assert!(rows[2].contains("info 1"), "{pane}");
    s.keys(&["Space"]);
    let pane = s.wait_until("a screen down", |p| status_row(p).ends_with("29-56/121"));
    assert!(
        first_row(&pane).starts_with(" Long menu  <gopher://127.0.0.1:7000/1/long>"),
        "{pane}"
    );
    // j and k move the selection by one link.
    s.keys(&["j"]);
    let before = s.wait_until("a link selected", |p| {
        status_row(p).contains(": gopher://127.0.0.1:7000/0/hello.txt")
    });
    s.keys(&["k"]);
    s.wait_until("another link", |p| status_row(p) != status_row(&before));
    // Search the page: the matching link is selected and in view.
    s.keys(&["/"]);
    s.text("item 42");
    s.keys(&["Enter"]);
    s.wait_until("the search's line", |p| {
        status_row(p).starts_with("/item 42: line 85")
    });
    let pane = s.pane_with_colours();
    assert!(pane.contains("\x1b[7m42. [TXT] Item 42"), "{pane}");
    // Two digits: link 12.
    s.keys(&["1", "2"]);
    s.wait_until("link 12 selected", |p| {
        status_row(p).starts_with("12: gopher://")
    });
    // Bookmark this page; the history lists the pages visited, the newest first.
    s.keys(&["a"]);
    s.wait_until("bookmarked", |p| {
        status_row(p).starts_with("bookmarked gopher://127.0.0.1:7000/1/long")
    });
    s.keys(&["H"]);
    let pane = s.wait_for("1. [DIR] Long menu  <gopher://127.0.0.1:7000/1/long>");
    assert!(pane.contains("2. [TXT] Hello again"), "{pane}");
    assert!(pane.contains("3. [ASK] Find things: cats"), "{pane}");
    // Help, then quit.
    s.keys(&["?"]);
    s.wait_for("Keys of the full-screen browser");
    s.keys(&["q"]);
    // The bookmark is in $HOME; a line that is not one is said, and kept.
    shell_line(
        &s,
        "cat ~/.gopher_bookmarks; echo 'not a bookmark' >> ~/.gopher_bookmarks",
    );
    let pane = s.pane();
    assert!(
        pane.lines()
            .any(|l| l.starts_with("gopher://127.0.0.1:7000/1/long") && l.ends_with("Long menu")),
        "{pane}"
    );
    shell_start(&s, "gopher");
    let pane = s.wait_for("1. [DIR] Long menu  <gopher://127.0.0.1:7000/1/long>");
    assert!(first_row(&pane).starts_with(" bookmarks"), "{pane}");
    assert!(
        status_row(&pane).starts_with("1 line of ~/.gopher_bookmarks is not a bookmark"),
        "{pane}"
    );
    // A bookmark is followed like any link, and deleted with d.
    s.keys(&["Enter"]);
    s.wait_until("the bookmarked page", |p| {
        first_row(p).starts_with(" Long menu")
    });
    s.keys(&["B"]);
    s.wait_until("the bookmarks", |p| first_row(p).starts_with(" bookmarks"));
    s.keys(&["d"]);
    s.wait_for("(no bookmarks yet");
    s.keys(&["q"]);
    shell_line(&s, "cat ~/.gopher_bookmarks");
    let pane = s.pane();
    assert!(pane.contains("\nnot a bookmark\n"), "{pane}");
    // Not text: said, and left as it is.
    shell_start(&s, "printf '\\377\\376\\n' > ~/.gopher_bookmarks; gopher");
    s.wait_for("is not text: the bookmarks are not read");
    s.keys(&["g"]);
    s.text("127.0.0.1:7000/1/long");
    s.keys(&["Enter"]);
    s.wait_until("the page", |p| {
        first_row(p).starts_with(" gopher://127.0.0.1:7000/1/long")
    });
    s.keys(&["a"]);
    s.wait_for("is not text");
    s.keys(&["q"]);
    shell_line(&s, "wc -c < ~/.gopher_bookmarks");
    assert!(s.pane().contains("\n3\n"), "{}", s.pane());
    shell_start(&s, "exit");
    let pane = s.wait_for("EXITED");
    drop(s);
    drop(link);
    assert!(pane.contains("EXITED 0"), "{pane}");
}

/// gopherd's search items (issue 19): a program that a gophermap names as a type-7 item runs
/// with the query as its argument, never read by a shell; its output is the menu; one that runs
/// too long is ended, one that writes too much is cut, a failure is said; a program the
/// gophermap does not name is a file like any other. Our client and Linux's curl over the link.
#[test]
fn gopherd_search_items_run_a_program_with_the_query() {
    let Some(link) = link() else { return };
    let curl = curl_until(
        &link,
        "curl-search.out",
        &format!("gopher://{OURS}:7000/7/find%09linux%20cats"),
        "query: linux cats",
        5,
    );
    let cmds = r#"mkdir -p ~/public_gopher; cd ~/public_gopher;
        printf 'Searches\n7Find\tfind\n7Slow\tslow\n7Big\tbig\n7Fail\tfail\n0Not a search\tplain.sh\n' > gophermap;
        printf '#!/bin/sh\necho "query: $1"\necho "env: $QUERY_STRING"\nprintf "0The answer\\thello.txt\\n"\n' > find;
        printf '#!/bin/sh\necho started\nsleep 30\n' > slow;
        printf '#!/bin/sh\nyes a-line-of-output\n' > big;
        printf 'echo oops\nexit 3\n' > fail;
        printf '#!/bin/sh\necho never run\n' > plain.sh;
        echo hi > hello.txt; cd;
        gopherd --port 7000 & sleep 1;
        gopher --print 'gopher://127.0.0.1:7000/7/find%09cats; echo pwned $(id) `id` | x'; echo find=$?;
        gopher --print 'gopher://127.0.0.1:7000/7/fail%09x'; echo fail=$?;
        gopher --print 'gopher://127.0.0.1:7000/7/big%09x' > /tmp/big; echo big=$?; wc -l < /tmp/big; tail -n 1 /tmp/big;
        gopher --print 'gopher://127.0.0.1:7000/7/slow%09x'; echo slow=$?;
        gopher --print 'gopher://127.0.0.1:7000/0/plain.sh';
        gopher --raw 'gopher://127.0.0.1:7000/7/find%09caf%E9'; echo;
        sleep 3; echo END"#;
    let t0 = std::time::Instant::now();
    let (out, err, code) = system(&link, Some(&static_config()), cmds);
    let took = t0.elapsed();
    let got = curl.got();
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    // The query, as typed: an argument and an environment variable, never a command.
    assert!(
        out.contains("query: cats; echo pwned $(id) `id` | x\n"),
        "{out}\n{err}"
    );
    assert!(
        out.contains("env: cats; echo pwned $(id) `id` | x\n"),
        "{out}"
    );
    assert!(!out.contains("pwned root"), "{out}");
    // Its output is a menu: items with our host and port, relative selectors made absolute.
    assert!(out.contains("1. [TXT] The answer"), "{out}");
    assert!(out.contains("find=0"), "{out}");
    assert!(out.contains("oops"), "{out}");
    assert!(
        out.contains("[ERR] the search failed (exit status 3)"),
        "{out}"
    );
    // 64 KiB at most, cut at a line, and said.
    assert!(out.contains("big=0"), "{out}");
    assert!(
        out.contains("[ERR] the search's output was cut at 65536 bytes"),
        "{out}"
    );
    let lines: usize = out
        .lines()
        .skip_while(|l| *l != "big=0")
        .nth(1)
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(0);
    assert!((3800..=3900).contains(&lines), "{lines} lines\n{out}");
    // Ended after 10 s.
    assert!(out.contains("started"), "{out}");
    assert!(
        out.contains("[ERR] the search took too long: ended after 10 s"),
        "{out}"
    );
    assert!(took < std::time::Duration::from_secs(60), "{took:?}");
    // Not named as a search by the gophermap: a file, sent as it is.
    assert!(out.contains("#!/bin/sh\necho never run\n"), "{out}");
    // A query that is not UTF-8 is refused.
    assert!(out.contains("3the query is not UTF-8 text"), "{out}");
    assert!(out.contains("END"), "{out}");
    // Linux's curl searched over the TAP link.
    assert!(
        got.contains("iquery: linux cats\t"),
        "curl got {got:?}\n{err}"
    );
    assert!(
        got.contains(&format!("0The answer\t/hello.txt\t{OURS}\t7000\r\n")),
        "curl got {got:?}"
    );
}

/// Saving a binary item full screen: the file's name asked on the status row (the selector's
/// last part offered), progress drawn there, Esc stops it and keeps what came (said partial),
/// an existing file replaced only after `y`; the terminal is the shell's again after `q`.
#[test]
fn full_screen_downloads_show_progress_and_stop_on_esc() {
    let Some(link) = link() else { return };
    let cmd = format!(
        "EURALI_NIC=tap0@{} EURALI_NET='{}' {} --user user",
        link.ns,
        static_config(),
        env!("CARGO_BIN_EXE_eurali"),
    );
    let Some(s) = Pane::start("gopher-full-save", &cmd, 100, 24) else {
        return;
    };
    s.wait_for("user:~$");
    shell_start(&s, &format!("gopher gopher://{LINUX}:7072/9/slow"));
    s.wait_until("the name asked", |p| {
        status_row(p).starts_with(&format!("save gopher://{LINUX}:7072/9/slow to file: slow"))
    });
    s.keys(&["Enter"]);
    let pane = s.wait_until("progress", |p| status_row(p).contains("KiB so far"));
    assert!(status_row(&pane).starts_with("saving slow: ["), "{pane}");
    std::thread::sleep(std::time::Duration::from_millis(800));
    s.keys(&["Escape"]);
    let pane = s.wait_until("stopped", |p| status_row(p).starts_with("stopped: the "));
    assert!(
        status_row(&pane).contains("bytes that came are in slow (it is partial)"),
        "{pane}"
    );
    // Again: the file is there, and kept unless the user says y.
    s.keys(&["g"]);
    s.text(&format!("{LINUX}:7072/9/slow"));
    s.keys(&["Enter"]);
    s.wait_until("the name asked", |p| {
        status_row(p).contains("to file: slow")
    });
    s.keys(&["Enter"]);
    s.wait_until("replace?", |p| {
        status_row(p).starts_with("slow exists: replace it? [y/N]")
    });
    s.keys(&["n", "Enter"]);
    s.wait_until("not saved", |p| status_row(p).starts_with("not saved"));
    // A smaller terminal: the next key draws the screen to its size (the status row's place
    // at its right edge, the title and the page above it).
    s.resize(60, 16);
    s.keys(&["u"]);
    let pane = s.wait_until("the screen drawn at 60x16", |p| {
        let st = status_row(p);
        st.starts_with("bookmarks") && st.chars().count() == 59 && st.ends_with("all")
    });
    assert!(first_row(&pane).starts_with(" bookmarks"), "{pane}");
    assert_eq!(pane.lines().count(), 16, "{pane}");
    s.keys(&["q"]);
    shell_line(&s, "wc -c < slow");
    let pane = s.pane();
    assert!(
        pane.lines()
            .any(|l| l.trim().parse::<u64>().is_ok_and(|n| n >= 300_000)),
        "{pane}"
    );
    // The shell's line editor works again: the terminal's mode was given back.
    shell_line(&s, "echo back at the shell");
    assert!(s.pane().contains("\nback at the shell\n"), "{}", s.pane());
    shell_start(&s, "exit");
    let pane = s.wait_for("EXITED");
    drop(s);
    drop(link);
    assert!(pane.contains("EXITED 0"), "{pane}");
}

/// The full-screen browser as the freestanding ELF (hosted mode: the real kernel's binaries on
/// the guest loader), against gophernicus: the selection, a link followed, back, quit.
#[test]
fn hosted_full_screen_browsing() {
    let Some(link) = link() else { return };
    let Some((bins, guest)) = hosted_bins() else {
        return;
    };
    let cmd = format!(
        "EURALI_NIC=tap0@{} EURALI_NET='{}' EURALI_GUEST={guest} {} --hosted {bins} -c 'gopher gopher://{LINUX}/'",
        link.ns,
        static_config(),
        env!("CARGO_BIN_EXE_eurali"),
    );
    let Some(s) = Pane::start("gopher-hosted-full", &cmd, 100, 30) else {
        return;
    };
    let pane = s.wait_for("3. [DIR] Documents");
    assert!(
        first_row(&pane).starts_with(&format!(" gopher://{LINUX}/1")),
        "{pane}"
    );
    s.keys(&["Down", "Down"]);
    s.wait_until("link 3 selected", |p| {
        status_row(p).starts_with(&format!("3: gopher://{LINUX}/1/docs"))
    });
    s.keys(&["Enter"]);
    let pane = s.wait_for("[TXT] readme.txt");
    assert!(first_row(&pane).starts_with(" Documents"), "{pane}");
    s.keys(&["Left"]);
    s.wait_until("back, link 3 selected", |p| {
        status_row(p).starts_with(&format!("3: gopher://{LINUX}/1/docs"))
    });
    s.keys(&["q"]);
    let pane = s.wait_for("EXITED");
    drop(s);
    drop(link);
    assert!(pane.contains("EXITED 0"), "{pane}");
}
