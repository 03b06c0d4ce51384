//! Two eurali systems on one Ethernet link browse each other (issue 19, "so two eurali systems
//! on one link can browse each other"): two stubs, each with its own TAP device, the two TAPs
//! bridged inside a network namespace made here (no Linux host on the link), distinct
//! addresses and MACs (`tcp --mac`: the stub's TAP device has one fixed MAC). Each system puts
//! a gophermap, a text, a binary and a search program in root's `~/public_gopher`, serves it
//! with `gopherd`, and fetches the other's with `gopher --print`/`--raw`: both directions at
//! once, both smoltcp at either end of every connection.
//!
//! Needs root, as `tests/net.rs` does; `EURALI_SKIP_NET=1` skips it.

#[path = "common/netlink.rs"]
mod netlink;

use std::time::Duration;

/// One system: its name, address and MAC.
struct Peer {
    name: &'static str,
    ip: &'static str,
    mac: &'static str,
}

const PEERS: [Peer; 2] = [
    Peer {
        name: "alpha",
        ip: "10.79.0.11",
        mac: "02:45:55:52:41:11",
    },
    Peer {
        name: "beta",
        ip: "10.79.0.12",
        mac: "02:45:55:52:41:12",
    },
];

/// What `xxd` prints for `data` (the coreutils' format, which is xxd's).
fn xxd(data: &[u8]) -> String {
    let mut out = String::new();
    for (i, row) in data.chunks(16).enumerate() {
        out.push_str(&format!("{:08x}: ", i * 16));
        for k in 0..16 {
            match row.get(k) {
                Some(b) => out.push_str(&format!("{b:02x}")),
                None => out.push_str("  "),
            }
            if k % 2 == 1 {
                out.push(' ');
            }
        }
        out.push(' ');
        out.extend(row.iter().map(|&b| {
            if (0x20..0x7f).contains(&b) {
                b as char
            } else {
                '.'
            }
        }));
        out.push('\n');
    }
    out
}

/// System `me`'s binary item: the 64 KiB fixture of every byte value, rotated by a different
/// amount on each system, so a fetch that got its own file instead of the peer's is caught.
fn blob_of(me: usize) -> Vec<u8> {
    let mut b = netlink::blob();
    b.rotate_left(1000 + 7777 * me);
    b
}

/// The script system `me` runs: set up and serve its hole, wait for the peer's, fetch all of
/// it, say it is done (a file in its own hole) and wait until the peer says so too.
fn script(me: &Peer, peer: &Peer) -> String {
    let (name, p) = (me.name, peer.ip);
    format!(
        r#"mkdir -p ~/public_gopher; cd ~/public_gopher;
        cat > blob.bin;
        printf 'The hole of {name}\n0A text\thello.txt\n9A binary\tblob.bin\n7Search {name}\tfind\n' > gophermap;
        echo 'Hello from {name}.' > hello.txt;
        printf '#!/bin/sh\necho "{name} searched for: $1"\nprintf "0Back to the text\\thello.txt\\n"\n' > find;
        cd;
        gopherd --port 70 &
        for i in $(seq 300); do if gopher --raw gopher://{p}/0/hello.txt 2> /dev/null | grep -q Hello; then echo PEER-UP; break; fi; sleep 0.2; done;
        echo MENU-BEGIN; gopher --print gopher://{p}/; echo menu=$?;
        gopher --print gopher://{p}/0/hello.txt; echo text=$?;
        gopher --print -o /tmp/peer.bin gopher://{p}/9/blob.bin; echo bin=$?;
        echo XXD-BEGIN; xxd /tmp/peer.bin; echo XXD-END;
        gopher --raw gopher://{p}/9/blob.bin > /tmp/raw.bin; echo raw=$?;
        cmp /tmp/raw.bin /tmp/peer.bin && echo RAW-SAME;
        gopher --raw gopher://{p}/1/ > /tmp/raw.menu; echo rawmenu=$?; cat /tmp/raw.menu;
        gopher --print 'gopher://{p}/7/find%09two systems'; echo search=$?;
        echo finished > ~/public_gopher/done.txt;
        for i in $(seq 300); do if gopher --raw gopher://{p}/0/done.txt 2> /dev/null | grep -q finished; then echo PEER-DONE; break; fi; sleep 0.2; done;
        sleep 3; echo END"#
    )
}

#[test]
fn two_eurali_systems_on_one_link_browse_each_other() {
    let Some(bridge) = netlink::bridge(2) else {
        return;
    };
    let runs: Vec<_> = (0..2)
        .map(|me| {
            let nic = bridge.nic(me);
            let net = format!("--static {}/24 --mac {}", PEERS[me].ip, PEERS[me].mac);
            let cmds = script(&PEERS[me], &PEERS[1 - me]);
            let blob = blob_of(me);
            std::thread::spawn(move || {
                netlink::eurali_with_input(
                    &cmds,
                    &blob,
                    &[("EURALI_NIC", &nic), ("EURALI_NET", &net)],
                    Duration::from_secs(150),
                )
            })
        })
        .collect();
    let results: Vec<(String, String, i32)> = runs
        .into_iter()
        .map(|t| t.join().expect("the system's thread"))
        .collect();
    for (me, (out, err, code)) in results.iter().enumerate() {
        let (name, peer) = (PEERS[me].name, &PEERS[1 - me]);
        let ctx = format!("{name}'s stdout:\n{out}\n{name}'s stderr:\n{err}");
        assert_eq!(*code, 0, "{ctx}");
        assert!(
            err.contains(&format!("tcp: address {}", PEERS[me].ip)),
            "{ctx}"
        );
        assert!(
            err.contains("gopherd: serving /home/root/public_gopher on port 70"),
            "{ctx}"
        );
        assert!(out.contains("PEER-UP\nMENU-BEGIN"), "{ctx}");
        // The peer's gophermap, as a menu: its info line, then its items.
        let menu = out
            .split("MENU-BEGIN\n")
            .nth(1)
            .unwrap_or_else(|| panic!("no menu\n{ctx}"));
        assert!(
            menu.contains(&format!("The hole of {}", peer.name)),
            "{ctx}"
        );
        assert!(menu.contains("1. [TXT] A text"), "{ctx}");
        assert!(menu.contains("2. [BIN] A binary"), "{ctx}");
        assert!(
            menu.contains(&format!("3. [ASK] Search {}", peer.name)),
            "{ctx}"
        );
        assert!(out.contains("menu=0"), "{ctx}");
        assert!(
            out.contains(&format!("Hello from {}.\ntext=0", peer.name)),
            "{ctx}"
        );
        // The binary, byte for byte: the peer's, not ours.
        assert!(out.contains("bin=0"), "{ctx}");
        assert!(err.contains("saved 65536 bytes to /tmp/peer.bin"), "{ctx}");
        let hex = out
            .split("XXD-BEGIN\n")
            .nth(1)
            .and_then(|s| s.split("XXD-END").next())
            .unwrap_or_else(|| panic!("no xxd output\n{ctx}"));
        assert!(
            hex == xxd(&blob_of(1 - me)),
            "{name} got a binary that differs from {}'s\n{err}",
            peer.name
        );
        assert!(out.contains("raw=0\nRAW-SAME\n"), "{ctx}");
        // The raw menu: the peer's gopherd filled in its own host and port, ended with `.`.
        assert!(out.contains("rawmenu=0"), "{ctx}");
        assert!(
            out.contains(&format!("0A text\t/hello.txt\t{}\t70\r\n", peer.ip)),
            "{ctx}"
        );
        assert!(out.contains("\r\n.\r\n"), "{ctx}");
        // The search ran on the peer, with the query as typed.
        assert!(
            out.contains(&format!("{} searched for: two systems", peer.name)),
            "{ctx}"
        );
        assert!(out.contains("1. [TXT] Back to the text"), "{ctx}");
        assert!(out.contains("search=0"), "{ctx}");
        assert!(out.contains("PEER-DONE\nEND"), "{ctx}");
    }
}
