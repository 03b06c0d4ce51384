//! Two eurali systems on one Ethernet link browse each other (issue 19, "so two eurali systems
//! on one link can browse each other"): two stubs, each with its own TAP device, the two TAPs
//! bridged inside a network namespace made here (no Linux host on the link), distinct
//! addresses and MACs (`tcp --mac`: the stub's TAP device has one fixed MAC). Each system puts
//! a gophermap, a text, a binary, a 3 MiB binary (windows filled and drained between two
//! smoltcp ends) and a search program in root's `~/public_gopher`, serves it with `gopherd`,
//! and fetches the other's with `gopher --print`/`--raw`: both directions at once, smoltcp at
//! either end of every connection.
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

/// The size of each system's large item: past tcp's send buffer (256 KiB) and a few times its
/// receive window, so that both smoltcp ends fill and drain their windows between themselves.
const BIG: usize = 3 << 20;

/// System `me`'s large item (given on its standard input): the 64 KiB fixture of every byte
/// value, each copy rotated by a different amount, and differently on each system (a fetch that
/// got its own file instead of the peer's, or a piece out of place, is caught).
fn big_of(me: usize) -> Vec<u8> {
    let blob = netlink::blob();
    let mut out = Vec::with_capacity(BIG);
    let mut k = 0;
    while out.len() < BIG {
        let mut b = blob.clone();
        let by = (1000 + 7777 * me + 131 * k) % b.len();
        b.rotate_left(by);
        out.extend_from_slice(&b);
        k += 1;
    }
    out.truncate(BIG);
    out
}

/// System `me`'s binary item: the first 64 KiB of its large one.
fn blob_of(me: usize) -> Vec<u8> {
    big_of(me)[..65536].to_vec()
}

/// Linux's `sha256sum` of `data`: the hex digest.
fn sha256(data: &[u8]) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("sha256sum (coreutils) runs");
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(data)
        .expect("sha256sum's input");
    let out = child.wait_with_output().expect("sha256sum's output");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let hex = text.split_whitespace().next().unwrap_or("").to_string();
    assert_eq!(hex.len(), 64, "sha256sum said {text:?}");
    hex
}

/// The script system `me` runs: set up and serve its hole, wait for the peer's, fetch all of
/// it, say it is done (a file in its own hole) and wait until the peer says so too.
fn script(me: &Peer, peer: &Peer) -> String {
    let (name, p) = (me.name, peer.ip);
    format!(
        r#"mkdir -p ~/public_gopher; cd ~/public_gopher;
        cat > big.bin; head -c 65536 big.bin > blob.bin;
        printf 'The hole of {name}\n0A text\thello.txt\n9A binary\tblob.bin\n7Search {name}\tfind\n9A large binary\tbig.bin\n' > gophermap;
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
        gopher --print -o /tmp/peer.big gopher://{p}/9/big.bin; echo big=$?; sha256sum /tmp/peer.big;
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
            let big = big_of(me);
            std::thread::spawn(move || {
                netlink::eurali_with_input(
                    &cmds,
                    &big,
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
        assert!(menu.contains("4. [BIN] A large binary"), "{ctx}");
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
            hex == netlink::xxd(&blob_of(1 - me)),
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
        // The large binary, whole: its SHA-256 as Linux computes it for the peer's.
        assert!(out.contains("big=0"), "{ctx}");
        assert!(
            err.contains(&format!("saved {BIG} bytes to /tmp/peer.big")),
            "{ctx}"
        );
        assert!(
            out.contains(&format!("{}  /tmp/peer.big\n", sha256(&big_of(1 - me)))),
            "{name}'s copy of {}'s large binary differs\n{ctx}",
            peer.name
        );
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
