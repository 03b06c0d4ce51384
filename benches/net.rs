//! `cargo xtask bench net`: eurali's network path against Linux's, in one run.
//!
//! The test network of `tests/net.rs` (a namespace with gophernicus behind a TAP link to
//! eurali's `/dev/nic`) gets a 10 MiB binary and a second link: a veth pair to a client
//! namespace, where `curl` (Linux's TCP stack) fetches from the same server. Figures:
//! - `net_download`: a 10 MiB type-9 item fetched with `gopher --print -o /dev/null` through
//!   our whole stack (gopher → std::net → tcp/smoltcp → /dev/nic → TAP) against
//!   `curl -o /dev/null gopher://…` over the veth link (goal: ratio ≥ 0.9): [`SAMPLES`] of each,
//!   alternating (a curl download, then a booted system's download, then the other way round),
//!   so that a machine busy with other work slows both alike; the ratio is of the medians.
//!   Each of ours is the first large fetch of a system just booted, after one small fetch (as
//!   curl's each is a new process on a warm Linux stack: the gateway's MAC known).
//!   (One best-of-3 of each, taken a minute apart, gave ratios from 0.73 to 1.24 on a machine
//!   that other builds shared: the noise was the load, not either side.) Each side's spread is
//!   printed;
//! - `net_connect`: TCP connect time (SYN to established, as the client sees it), median of 20,
//!   against curl's `time_connect`, median of 20;
//! - `gopherd_serve`: Linux's curl fetching the same 10 MiB from eurali's `gopherd` over the TAP
//!   link (eurali first downloads it into `~/public_gopher`), median of 3, against the median
//!   curl rate from gophernicus above.
//!
//! Needs root and the test network's packages, as the net tests do.

#[path = "../tests/common/netlink.rs"]
mod netlink;

use std::process::Command;

const BIG: usize = 10 << 20;
/// Downloads of each side for `net_download`, alternating.
const SAMPLES: usize = 9;
const CLIENT_IP: &str = "10.78.0.2";
const SERVER_IP: &str = "10.78.0.1";

struct Client(String);

impl Drop for Client {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

fn sh(cmd: &str, args: &[&str]) {
    let st = Command::new(cmd).args(args).status().expect("runs");
    assert!(st.success(), "{cmd} {args:?} failed");
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    v[v.len() / 2]
}

fn curl(client: &str, url: &str) -> (f64, f64, f64) {
    let out = Command::new("ip")
        .args([
            "netns",
            "exec",
            client,
            "curl",
            "-s",
            "-o",
            "/dev/null",
            "-w",
        ])
        .arg("%{size_download} %{time_total} %{time_connect}")
        .arg(url)
        .output()
        .expect("curl runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let v: Vec<f64> = text
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    assert_eq!(v.len(), 3, "curl said {text:?}");
    (v[0], v[1], v[2])
}

/// gopher's `--stats` lines in `err`: (connect µs, total µs, bytes) each.
fn stats(err: &str) -> Vec<(f64, f64, f64)> {
    err.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("gopher: stats: connect ")?;
            let nums: Vec<f64> = rest
                .split(|c: char| !c.is_ascii_digit())
                .filter(|s| !s.is_empty())
                .filter_map(|s| s.parse().ok())
                .collect();
            (nums.len() == 3).then(|| (nums[0], nums[1], nums[2]))
        })
        .collect()
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let Some(link) = netlink::link() else { return };
    let big: Vec<u8> = (0..BIG).map(|i| (i * 7 + i / 4096) as u8).collect();
    std::fs::write(link.root.join("big.bin"), &big).expect("write the 10 MiB item");
    sh(
        "chmod",
        &["a+r", &link.root.join("big.bin").display().to_string()],
    );

    // The client namespace for curl, on a veth pair into the server's namespace.
    let client = Client(format!("{}-c", link.ns));
    sh("ip", &["netns", "add", &client.0]);
    sh(
        "ip",
        &[
            "-n", &client.0, "link", "add", "vc0", "type", "veth", "peer", "name", "vs0", "netns",
            &link.ns,
        ],
    );
    sh(
        "ip",
        &[
            "-n",
            &client.0,
            "addr",
            "add",
            &format!("{CLIENT_IP}/24"),
            "dev",
            "vc0",
        ],
    );
    sh(
        "ip",
        &[
            "-n",
            &link.ns,
            "addr",
            "add",
            &format!("{SERVER_IP}/24"),
            "dev",
            "vs0",
        ],
    );
    sh("ip", &["-n", &client.0, "link", "set", "vc0", "up"]);
    sh("ip", &["-n", &link.ns, "link", "set", "vs0", "up"]);
    sh("ip", &["-n", &client.0, "link", "set", "lo", "up"]);

    // The download, alternating: curl over the veth link, then eurali's gopher through our
    // stack over the TAP link (a system booted for each), then the other order.
    let l = netlink::LINUX;
    let cfg = format!("--static {}/24 --gateway {l} --dns {l}", netlink::OURS);
    let curl_sample = || {
        let (n, t, _) = curl(&client.0, &format!("gopher://{SERVER_IP}/9/big.bin"));
        assert_eq!(n as usize, BIG, "curl fetched {n} bytes");
        n / t / 1048576.0
    };
    let our_sample = || {
        // A small fetch first, so that this side starts as warm as Linux's (the gateway's MAC
        // known, tcp's sockets and buffers made): curl's kernel has done it all before.
        let cmd = format!(
            "gopher --raw gopher://{l}/0/hello.txt > /dev/null; \
             gopher --print --stats -o /dev/null gopher://{l}/9/big.bin"
        );
        let (_out, err, code) = netlink::system(&link, Some(&cfg), &cmd);
        assert_eq!(code, 0, "eurali failed:\n{err}");
        let s = stats(&err);
        assert_eq!(s.len(), 1, "expected one stats line:\n{err}");
        let (_, total_us, bytes) = s[0];
        assert_eq!(bytes as usize, BIG, "our fetch got {bytes} bytes");
        bytes / (total_us / 1e6) / 1048576.0
    };
    let (mut curl_rates, mut our_rates) = (Vec::new(), Vec::new());
    for i in 0..SAMPLES {
        if i % 2 == 0 {
            curl_rates.push(curl_sample());
            our_rates.push(our_sample());
        } else {
            our_rates.push(our_sample());
            curl_rates.push(curl_sample());
        }
    }
    let spread = |v: &[f64]| {
        let lo = v.iter().cloned().fold(f64::INFINITY, f64::min);
        let hi = v.iter().cloned().fold(0.0f64, f64::max);
        format!("{lo:.1}–{hi:.1}")
    };
    let (our_spread, curl_spread) = (spread(&our_rates), spread(&curl_rates));
    let our_rate = median(our_rates);
    let curl_rate = median(curl_rates);

    // Connect times: curl's, then ours in one booted system.
    let curl_connect = median(
        (0..20)
            .map(|_| curl(&client.0, &format!("gopher://{SERVER_IP}/0/hello.txt")).2 * 1000.0)
            .collect(),
    );
    let mut cmds = String::new();
    for _ in 0..20 {
        cmds.push_str(&format!(
            "gopher --raw --stats gopher://{l}/0/hello.txt > /dev/null; "
        ));
    }
    let (_out, err, code) = netlink::system(&link, Some(&cfg), &cmds);
    assert_eq!(code, 0, "eurali failed:\n{err}");
    let connects = stats(&err);
    assert_eq!(connects.len(), 20, "expected 20 stats lines:\n{err}");
    let our_connect = median(connects.iter().map(|(c, _, _)| c / 1000.0).collect());

    // gopherd: eurali fetches the file into ~/public_gopher and serves it; curl on the Linux
    // side of the TAP link fetches it three times, then says so through a file gophernicus
    // serves, and the eurali script ends.
    let done = link.root.join("done.txt");
    let _ = std::fs::remove_file(&done);
    let serve_cmds = format!(
        "mkdir -p ~/public_gopher; gopher --print -o ~/public_gopher/big.bin gopher://{l}/9/big.bin; \
         gopherd --port 7000 & \
         until gopher --raw gopher://{l}/0/done.txt 2>/dev/null | grep -q finished; do sleep 0.2; done; echo served"
    );
    let ns = link.ns.clone();
    let done2 = done.clone();
    let fetcher = std::thread::spawn(move || {
        let start = std::time::Instant::now();
        let mut rates = Vec::new();
        while rates.len() < 3 && start.elapsed() < std::time::Duration::from_secs(90) {
            let (n, t, _) = curl(&ns, &format!("gopher://{}:7000/9/big.bin", netlink::OURS));
            if n as usize == BIG && t > 0.0 {
                rates.push(n / t / 1048576.0);
            } else {
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
        }
        let _ = std::fs::write(&done2, "finished\n");
        let _ = Command::new("chmod")
            .args(["a+r", &done2.display().to_string()])
            .status();
        rates
    });
    let (serve_out, serve_err, serve_code) = netlink::system(&link, Some(&cfg), &serve_cmds);
    let rates = fetcher.join().expect("the curl thread");
    assert_eq!(serve_code, 0, "eurali failed:\n{serve_err}");
    assert!(serve_out.contains("served"), "{serve_out}\n{serve_err}");
    assert_eq!(
        rates.len(),
        3,
        "curl did not fetch from gopherd:\n{serve_err}"
    );
    let served_rate = median(rates);

    println!(
        "10 MiB download, medians of {SAMPLES} alternating: eurali {our_rate:.1} MiB/s ({our_spread}; gopher over smoltcp and TAP), curl {curl_rate:.1} MiB/s ({curl_spread}; Linux over veth)"
    );
    println!("TCP connect: eurali {our_connect:.3} ms, curl {curl_connect:.3} ms (medians of 20)");
    println!(
        "RESULT net_download={our_rate:.1}MiB/s baseline={curl_rate:.1}MiB/s ratio={:.2}",
        our_rate / curl_rate
    );
    println!(
        "RESULT net_connect={our_connect:.3}ms baseline={curl_connect:.3}ms ratio={:.2}",
        our_connect / curl_connect
    );
    println!(
        "10 MiB served: eurali's gopherd {served_rate:.1} MiB/s (curl over TAP), gophernicus {curl_rate:.1} MiB/s (curl over veth)"
    );
    println!(
        "RESULT gopherd_serve={served_rate:.1}MiB/s baseline={curl_rate:.1}MiB/s ratio={:.2}",
        served_rate / curl_rate
    );
}
