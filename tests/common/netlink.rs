//! The test network, shared by `tests/net.rs` and the `net` bench: a Linux network namespace
//! with a TAP interface (`tap0`, 10.77.0.1/24) for eurali's `/dev/nic`, a real Gopher server
//! (gophernicus under socat) serving a fixture tree on port 70, a server that accepts and never
//! answers on port 7070, one that resets its connections on port 7071, a hostile one on port 7072
//! (issue 19's cases), and dnsmasq for DHCP (10.77.0.50–60) and DNS (`gopher.test`).
//! Everything is torn down when the [`Link`] is dropped.
#![allow(dead_code)]

#[path = "run.rs"]
mod run;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Our side's static address, the Linux side's, and the DHCP pool.
pub const OURS: &str = "10.77.0.2";
pub const LINUX: &str = "10.77.0.1";

fn run(cmd: &str, args: &[&str]) -> Result<(), String> {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run {cmd}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{cmd} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// The Linux side: a namespace with `tap0`, a Gopher server and dnsmasq; torn down on drop.
pub struct Link {
    pub ns: String,
    pub root: PathBuf,
    children: Vec<Child>,
}

impl Drop for Link {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        // Whatever else still runs in the namespace (gophernicus children of socat) is ours.
        if let Ok(out) = Command::new("ip")
            .args(["netns", "pids", &self.ns])
            .output()
        {
            for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                let _ = run("kill", &[pid]);
            }
        }
        let _ = run("ip", &["netns", "del", &self.ns]);
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// A 64 KiB binary fixture: every byte value, in a scrambled order.
pub fn blob() -> Vec<u8> {
    let mut x: u32 = 0x1234_5678;
    (0..65536)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 11) as u8
        })
        .collect()
}

fn fixture(root: &Path) -> Result<(), String> {
    let w = |p: &str, data: &[u8]| {
        let path = root.join(p);
        if let Some(d) = path.parent() {
            std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
        }
        std::fs::write(&path, data).map_err(|e| format!("{}: {e}", path.display()))
    };
    w(
        "gophermap",
        format!(
            "Welcome to the eurali test hole\n\
             0Hello text\thello.txt\n\
             0Dotted text\tdotted.txt\n\
             1Documents\tdocs\n\
             9A binary blob\tblob.bin\n\
             7Search the hole\t/cgi-bin/search\n\
             hThe web\tURL:http://example.org/\n\
             8A telnet BBS\t\tbbs.example\t23\n\
             1Elsewhere\t/docs\t{LINUX}\t70\n"
        )
        .as_bytes(),
    )?;
    w("hello.txt", b"Hello from gophernicus.\nSecond line.\n")?;
    w("dotted.txt", b".starts with a dot\n..two dots\nplain\n")?;
    w("docs/readme.txt", b"the docs\n")?;
    let mut huge = String::new();
    for i in 1..=5000 {
        huge.push_str(&format!(
            "info line {i}\n0Item {i}\t/hello.txt\t{LINUX}\t70\n"
        ));
    }
    w("huge/gophermap", huge.as_bytes())?;
    // For the pager (issue 19, defect 8): 40 lines of 250 characters (the line of 70 000 is
    // the hostile server's `/longline`).
    let wide: String = (1..=40)
        .map(|i| format!("wide line {i:02} {}\n", "x".repeat(237)))
        .collect();
    w("wide.txt", wide.as_bytes())?;
    w("blob.bin", &blob())?;
    w(
        "cgi-bin/search",
        b"#!/bin/sh\nprintf 'iResults for: %s\\tfake\\tnull.host\\t1\\r\\n' \"$QUERY_STRING\"\nprintf '0Result one\\t/hello.txt\\t10.77.0.1\\t70\\r\\n'\n",
    )?;
    run("chmod", &["-R", "a+rX", &root.display().to_string()])?;
    run(
        "chmod",
        &["755", &root.join("cgi-bin/search").display().to_string()],
    )?;
    Ok(())
}

/// Port 7071: reads the request, sends `partial`, then resets.
const RESET_SERVER: &str = "
import socket, struct, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('0.0.0.0', 7071))
s.listen(8)
while True:
    c, _ = s.accept()
    c.recv(4096)
    c.sendall(b'partial')
    time.sleep(0.2)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    c.close()
";

/// Port 7072: a hostile server that answers by selector (issue 19), and echoes any other request
/// as the hex of its bytes (so a test sees exactly what the client sent).
/// - `/dot-open`: a whole menu ending in `.`, then the connection stays open;
/// - `/reset-menu`: 3093 bytes of a menu, then a reset;
/// - `/fin-half`: 104 of 200 menu items, then the connection is closed, without the `.` line;
/// - `/trickle`: a byte every 0.5 s, for ever;
/// - `/slow`: 300 000 bytes at once, then 1 KiB every 0.3 s, for ever;
/// - `/odd`: a menu with a non-UTF-8 selector, a port past 65535, a mirror and an empty line;
/// - `/empty`: a menu with no items.
const HOSTILE_SERVER: &str = r#"
import socket, struct, threading, time
def item(n):
    return b'0Item %d\t/x%d\t10.77.0.1\t7072\r\n' % (n, n)
def serve(c):
    try:
        req = b''
        while not req.endswith(b'\n'):
            d = c.recv(4096)
            if not d: return
            req += d
        sel = req.rstrip(b'\r\n')
        if sel == b'/dot-open':
            c.sendall(b'iA whole menu\tfake\t(NULL)\t0\r\n' + item(1) + b'.\r\n')
            time.sleep(60)
        elif sel == b'/reset-menu':
            body = b''.join(item(n) for n in range(1, 200))[:3093]
            c.sendall(body)
            time.sleep(0.3)
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
        elif sel == b'/fin-half':
            c.sendall(b''.join(item(n) for n in range(1, 105)))
        elif sel == b'/slow':
            c.sendall(b'x' * 300000)
            while True:
                c.sendall(b'y' * 1024)
                time.sleep(0.3)
        elif sel == b'/trickle':
            while True:
                c.sendall(b'x')
                time.sleep(0.5)
        elif sel == b'/odd':
            c.sendall(b'0Caf\xe9\t/caf\xe9.txt\t10.77.0.1\t7072\r\n'
                      b'0Bytes\t/\xff\xfe\t10.77.0.1\t7072\r\n'
                      b'1Far away\t/far\t10.77.0.1\t99999\r\n'
                      b'+\t/far\t10.77.0.1\t7072\r\n.\r\n')
        elif sel == b'/empty':
            c.sendall(b'.\r\n')
        elif sel == b'/longline':
            # One line of 70 000 characters (gophernicus cuts text lines at 1023 bytes), a
            # word to search for in its middle.
            c.sendall(b'abcdefghi ' * 3500 + b'NEEDLE-HER' + b'abcdefghi ' * 3499
                      + b'\nthe last line\n')
        else:
            c.sendall(b'sent ' + req.hex().encode() + b'\r\n')
    except OSError:
        pass
    finally:
        c.close()
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('0.0.0.0', 7072))
s.listen(16)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
"#;

/// Waits until every server of the link listens: gophernicus (70), the silent (7070), resetting
/// (7071) and hostile (7072) ones (python and socat may take seconds to start on a busy machine).
fn wait_listening(ns: &str) -> Result<(), String> {
    let start = Instant::now();
    loop {
        let out = Command::new("ip")
            .args(["netns", "exec", ns, "ss", "-ltn"])
            .output()
            .map_err(|e| format!("ss: {e}"))?;
        let text = String::from_utf8_lossy(&out.stdout);
        let missing: Vec<&str> = [":70 ", ":7070 ", ":7071 ", ":7072 "]
            .into_iter()
            .filter(|p| !text.contains(p))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        if start.elapsed() > Duration::from_secs(20) {
            return Err(format!(
                "the servers never listened on {missing:?}:\n{text}"
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until dnsmasq has its DHCP (67) and DNS (53) sockets.
fn wait_dnsmasq(ns: &str) -> Result<(), String> {
    let start = Instant::now();
    loop {
        let out = Command::new("ip")
            .args(["netns", "exec", ns, "ss", "-lun"])
            .output()
            .map_err(|e| format!("ss: {e}"))?;
        let text = String::from_utf8_lossy(&out.stdout);
        if text.contains(":67 ") && text.contains(":53 ") {
            return Ok(());
        }
        if start.elapsed() > Duration::from_secs(10) {
            return Err(format!("dnsmasq never listened:\n{text}"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn make_link() -> Result<Link, String> {
    // SAFETY: geteuid (libc) reads nothing of ours.
    if unsafe { libc::geteuid() } != 0 {
        return Err("not root: network namespaces and TAP devices need root".into());
    }
    for tool in ["ip", "socat", "dnsmasq", "/usr/sbin/gophernicus", "python3"] {
        if Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .stdout(Stdio::null())
            .status()
            .map(|s| !s.success())
            .unwrap_or(true)
        {
            return Err(format!(
                "{tool} is missing (apt-get install iproute2 socat dnsmasq-base gophernicus python3)"
            ));
        }
    }
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    let id = format!(
        "{}-{}",
        std::process::id(),
        COUNT.fetch_add(1, Ordering::Relaxed)
    );
    let ns = format!("eut-{id}");
    let root = std::env::temp_dir().join(format!("eurali-gopher-{id}"));
    let _ = run("ip", &["netns", "del", &ns]);
    run("ip", &["netns", "add", &ns])?;
    let mut link = Link {
        ns: ns.clone(),
        root: root.clone(),
        children: Vec::new(),
    };
    run("ip", &["-n", &ns, "link", "set", "lo", "up"])?;
    run(
        "ip",
        &["-n", &ns, "tuntap", "add", "dev", "tap0", "mode", "tap"],
    )?;
    run(
        "ip",
        &[
            "-n",
            &ns,
            "addr",
            "add",
            &format!("{LINUX}/24"),
            "dev",
            "tap0",
        ],
    )?;
    run("ip", &["-n", &ns, "link", "set", "tap0", "up"])?;
    fixture(&root)?;
    // Through `sh` with `exit 0`: socat drops what a child wrote but socat had not yet passed on
    // when the child exits with an error status (gophernicus does, after "not found").
    // `-i`/`-k`: gophernicus counts each client address's hits and kilobytes in shared memory
    // (machine-wide, for 30 minutes) and past 4096 hits or 4 GiB sleeps a second before every
    // answer: a few hundred benchmark downloads throttled every later test and benchmark to
    // 10 MB/s. These limits are never reached. (`-nm`, no shared memory at all, also serves
    // files at half the speed, which would skew the benchmark's baseline.)
    let exec = format!(
        "/usr/sbin/gophernicus -h {LINUX} -p 70 -r {} -nu -nv -nf -nh -ns -i 2000000000 -k 2000000000; exit 0",
        root.display()
    );
    let server = Command::new("ip")
        .args(["netns", "exec", &ns, "socat"])
        .arg("TCP-LISTEN:70,reuseaddr,fork")
        .arg(format!("SYSTEM:{exec},su=nobody"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("socat: {e}"))?;
    link.children.push(server);
    let silent = Command::new("ip")
        .args([
            "netns",
            "exec",
            &ns,
            "socat",
            "TCP-LISTEN:7070,reuseaddr,fork",
            "SYSTEM:sleep 600",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("socat: {e}"))?;
    link.children.push(silent);
    // A server that sends a little and then resets the connection (SO_LINGER 0: RST, no FIN).
    let reset = Command::new("ip")
        .args(["netns", "exec", &ns, "python3", "-c", RESET_SERVER])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("python3: {e}"))?;
    link.children.push(reset);
    let hostile = Command::new("ip")
        .args(["netns", "exec", &ns, "python3", "-c", HOSTILE_SERVER])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("python3: {e}"))?;
    link.children.push(hostile);
    let dns = Command::new("ip")
        .args([
            "netns",
            "exec",
            &ns,
            "dnsmasq",
            "--keep-in-foreground",
            "--no-resolv",
        ])
        .args([
            "--no-hosts",
            "--interface=tap0",
            "--bind-dynamic",
            "--leasefile-ro",
        ])
        .arg("--dhcp-range=10.77.0.50,10.77.0.60,1h")
        .arg(format!("--dhcp-option=option:router,{LINUX}"))
        .arg(format!("--address=/gopher.test/{LINUX}"))
        // Other names under .test do not exist (NXDOMAIN); names elsewhere are refused, as a
        // resolver without upstream servers does (REFUSED).
        .arg("--local=/test/")
        .arg("--pid-file=")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("dnsmasq: {e}"))?;
    link.children.push(dns);
    wait_listening(&ns)?;
    wait_dnsmasq(&ns)?;
    Ok(link)
}

/// Whether `EURALI_SKIP_NET` asks to skip the network tests (refused under `CI`, which must run
/// them).
fn skipped() -> bool {
    if std::env::var_os("EURALI_SKIP_NET").is_none() {
        return false;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "EURALI_SKIP_NET is set under CI: the network tests must run there"
    );
    eprintln!("skipping: EURALI_SKIP_NET is set");
    true
}

/// A link of its own for one test (namespace, TAP device, servers), torn down when dropped;
/// `None` when `EURALI_SKIP_NET` asks to skip (not under `CI`, which must run them). Panics,
/// saying why, when it cannot be made.
pub fn link() -> Option<Link> {
    if skipped() {
        return None;
    }
    match make_link() {
        Ok(l) => Some(l),
        Err(e) => panic!(
            "cannot set up the test network (a namespace with a TAP link and a Gopher server): {e}\n\
             (these tests need root; EURALI_SKIP_NET=1 skips them)"
        ),
    }
}

/// Runs `eurali [ARGS]` (the in-process system, as `cargo run` does) with `env`; (stdout,
/// stderr, exit code). Killed, and the test failed, after two minutes.
pub fn eurali(args: &[&str], env: &[(&str, &str)]) -> (String, String, i32) {
    let r = run::eurali_run(args, [], env, Duration::from_secs(120));
    (r.stdout, r.stderr, r.code.unwrap_or(-1))
}

/// Boots the system with `/dev/nic` on the link and runs `cmds` as root; (stdout, stderr, code).
pub fn system(link: &Link, net_config: Option<&str>, cmds: &str) -> (String, String, i32) {
    let nic = format!("tap0@{}", link.ns);
    let mut env = vec![("EURALI_NIC", nic.as_str())];
    if let Some(c) = net_config {
        env.push(("EURALI_NET", c));
    }
    eurali(&["-c", cmds], &env)
}

/// tcp's arguments for our side's static address on the link (no DHCP).
pub fn static_config() -> String {
    format!("--static {OURS}/24 --gateway {LINUX} --dns {LINUX}")
}

/// Held by the tests that set this test process's environment (the in-process stub reads it).
static ENV: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs `f` with this test process's environment naming the TAP link as `/dev/nic` (and with
/// `EURALI_NET` when given), as the in-process stub reads them; holds [`ENV`] meanwhile.
pub fn with_link_env<R>(link: &Link, net: Option<&str>, f: impl FnOnce() -> R) -> R {
    let _env = ENV.lock().unwrap_or_else(|e| e.into_inner());
    // Safety: the tests that set the environment of this test process hold ENV meanwhile; the
    // other tests pass theirs to the child processes they start.
    unsafe {
        std::env::set_var("EURALI_NIC", format!("tap0@{}", link.ns));
        if let Some(n) = net {
            std::env::set_var("EURALI_NET", n);
        }
    }
    let r = f();
    // SAFETY: as for the set_var above: the test's own variables, while it runs alone.
    unsafe {
        std::env::remove_var("EURALI_NIC");
        std::env::remove_var("EURALI_NET");
    }
    r
}

/// A link with no Linux host on it: a namespace holding a bridge (`br0`, no address) and TAP
/// devices attached to it, one per eurali system, so that systems booted on them share one
/// Ethernet segment and reach each other only. Torn down when dropped.
pub struct Bridge {
    pub ns: String,
    pub taps: Vec<String>,
}

impl Drop for Bridge {
    fn drop(&mut self) {
        let _ = run("ip", &["netns", "del", &self.ns]);
    }
}

impl Bridge {
    /// What `EURALI_NIC` names for system `i` (its TAP device in the namespace).
    pub fn nic(&self, i: usize) -> String {
        format!("{}@{}", self.taps[i], self.ns)
    }
}

fn make_bridge(count: usize) -> Result<Bridge, String> {
    // SAFETY: geteuid (libc) reads nothing of ours.
    if unsafe { libc::geteuid() } != 0 {
        return Err("not root: network namespaces and TAP devices need root".into());
    }
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    let ns = format!(
        "eub-{}-{}",
        std::process::id(),
        COUNT.fetch_add(1, Ordering::Relaxed)
    );
    let _ = run("ip", &["netns", "del", &ns]);
    run("ip", &["netns", "add", &ns])?;
    let bridge = Bridge {
        ns: ns.clone(),
        taps: (0..count).map(|i| format!("tap{i}")).collect(),
    };
    // No spanning tree and no forwarding delay: a port forwards as soon as its system attaches.
    run(
        "ip",
        &[
            "-n",
            &ns,
            "link",
            "add",
            "br0",
            "type",
            "bridge",
            "stp_state",
            "0",
            "forward_delay",
            "0",
        ],
    )?;
    run("ip", &["-n", &ns, "link", "set", "br0", "up"])?;
    for tap in &bridge.taps {
        run(
            "ip",
            &["-n", &ns, "tuntap", "add", "dev", tap, "mode", "tap"],
        )?;
        run("ip", &["-n", &ns, "link", "set", tap, "master", "br0"])?;
        run("ip", &["-n", &ns, "link", "set", tap, "up"])?;
    }
    Ok(bridge)
}

/// A bridge with `count` TAP devices ([`Bridge`]); `None` when `EURALI_SKIP_NET` asks to skip
/// (as [`link`]). Panics, saying why, when it cannot be made.
pub fn bridge(count: usize) -> Option<Bridge> {
    if skipped() {
        return None;
    }
    match make_bridge(count) {
        Ok(b) => Some(b),
        Err(e) => panic!(
            "cannot set up the bridged test network: {e}\n\
             (these tests need root; EURALI_SKIP_NET=1 skips them)"
        ),
    }
}

/// Runs `eurali -c CMDS` with `input` on its standard input and `env`; (stdout, stderr, code).
/// Killed, and the test failed, after `limit`.
pub fn eurali_with_input(
    cmds: &str,
    input: &[u8],
    env: &[(&str, &str)],
    limit: Duration,
) -> (String, String, i32) {
    let r = run::eurali_run(&["-c", cmds], input, env, limit);
    (r.stdout, r.stderr, r.code.unwrap_or(-1))
}

/// Linux's curl on the Linux side of `link`, fetching `url` (from eurali, whose server may not
/// listen yet) until what it got holds `expect`: at most 150 tries 0.1 s apart, each given
/// `each_secs`. [`CurlLoop::got`] ends it and says what it got.
pub struct CurlLoop {
    child: Child,
    out: PathBuf,
}

impl CurlLoop {
    /// Ends the loop (if it still runs); what the try that held `expect` fetched, or "".
    pub fn got(mut self) -> String {
        self.stop();
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for CurlLoop {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts a [`CurlLoop`]; `name` names its output file under the link's root.
pub fn curl_until(link: &Link, name: &str, url: &str, expect: &str, each_secs: u32) -> CurlLoop {
    let out = link.root.join(name);
    let child = Command::new("ip")
        .args(["netns", "exec", &link.ns, "sh", "-c"])
        .arg(format!(
            "for i in $(seq 150); do curl -s -m {each_secs} '{url}' > {f}.part && grep -q '{expect}' {f}.part && mv {f}.part {f} && break; sleep 0.1; done",
            f = out.display()
        ))
        .spawn()
        .expect("curl loop");
    CurlLoop { child, out }
}

/// What `xxd` prints for `data` (the coreutils' format, which is xxd's).
pub fn xxd(data: &[u8]) -> String {
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
