//! Chaos on a ramdisk, checked against a model. A controller (`chaos-model`, a program of this
//! test) starts `/bin/ramdisk` and, round after round, four client processes
//! (`abi-probe --fs-client`) to which it hands random operations on a small set of files they
//! all share — write at an offset, append, truncate, rename, remove — one in flight per client,
//! so that up to four are in the server at once, on the same files or not. Now and then it kills
//! a client right after handing it an operation (std's kill, mid-call or close to it).
//!
//! The model is a set of possible trees. An operation takes effect at some point between the
//! moment it was handed out and its answer (linearizability), one file-protocol request (step)
//! at a time: an open (`w`, `a`, `t`) is the open itself, which may create (and for `t`
//! truncate) the file, then the session's first request, a stat, which fails with NotFound if
//! a rename or remove took the file away in between (the ramdisk frees a removed file's node
//! at once); `w` and `a` then write. Renames and removes are one request. Before an answer is checked, the model grows by every way the operations in
//! flight may have advanced; the answer (`ok` or the error) then keeps only the trees that give
//! it. An operation whose client was killed before answering stays in flight until the end of
//! the round: each of its steps may or may not have happened, and nothing else is left open.
//! After each round the server's tree (every name and every byte) must be one of the model's,
//! which then becomes the model.
//!
//! It runs in-process and hosted (the ramdisk and the clients as the real ELFs in host
//! processes of their own, sharing no statics; the controller stays in-process).

#[path = "common/hosted.rs"]
mod hosted;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::mpsc;
use std::time::Duration;

use eurali_host::boot::{Capture, Console};
use eurali_std as shim;
use kernel_stub::Kernel;
use shim::io::{BufRead as _, Write as _};
use shim::process::{Command, Stdio};

#[path = "common/rng.rs"]
mod rng;

use rng::Rng;

/// Where the controller mounts the ramdisk under test.
const DIR: &str = "/m";
/// The names the clients use, all of them (`sub` is a directory made once).
const NAMES: &[&str] = &["a", "b", "c", "d", "e", "sub/f", "sub/g", "sub/h"];
const CLIENTS: usize = 4;
/// No answer for this long is a hang.
const HANG: Duration = Duration::from_secs(30);
/// The controller reads the whole tree (with only killed clients' operations in flight) after
/// this many answers, or once the model holds more than [`READ_AT`] possibilities.
const READ_EVERY: usize = 24;
const READ_AT: usize = 64;
/// A bound on the model's size: a bug in it, not in the server, if ever reached.
const MAX_CONFIGS: usize = 200_000;

#[derive(Clone, Debug)]
enum Op {
    Write(String, usize, String),
    Append(String, String),
    Truncate(String),
    Rename(String, String),
    Remove(String),
}

impl Op {
    fn line(&self) -> String {
        let p = |n: &str| format!("{DIR}/{n}");
        match self {
            Op::Write(n, off, d) => format!("w {} {off} {d}\n", p(n)),
            Op::Append(n, d) => format!("a {} {d}\n", p(n)),
            Op::Truncate(n) => format!("t {}\n", p(n)),
            Op::Rename(a, b) => format!("m {} {}\n", p(a), p(b)),
            Op::Remove(n) => format!("r {}\n", p(n)),
        }
    }
}

/// One possible tree: names to node numbers (the ramdisk's, given out in order and never
/// reused), nodes to bytes.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
struct Tree {
    names: BTreeMap<String, u64>,
    nodes: BTreeMap<u64, Vec<u8>>,
    next: u64,
}

impl Tree {
    fn visible(&self) -> BTreeMap<String, Vec<u8>> {
        self.names
            .iter()
            .map(|(n, id)| (n.clone(), self.nodes[id].clone()))
            .collect()
    }
    /// An open with CREATE: the node, made if the name is free.
    fn open_create(&mut self, name: &str) -> u64 {
        if let Some(id) = self.names.get(name) {
            return *id;
        }
        let id = self.next;
        self.next += 1;
        self.names.insert(name.to_string(), id);
        self.nodes.insert(id, Vec::new());
        id
    }
}

/// How far an operation in flight has come in one possible history.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Progress {
    step: u8,
    /// The node its open found or made.
    node: Option<u64>,
    /// Its answer, once every step is done.
    answer: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Config {
    tree: Tree,
    flight: BTreeMap<u64, Progress>,
}

/// A node number for a node an open found that is gone now (its writes fail).
const GONE: u64 = u64::MAX;

impl Config {
    /// Numbers the nodes in the order of their names, so that histories that differ only in
    /// which file was made first are one possibility, not many.
    fn canonical(mut self) -> Config {
        let mut map = BTreeMap::new();
        let mut tree = Tree::default();
        for (name, id) in &self.tree.names {
            let new = tree.next;
            tree.next += 1;
            map.insert(*id, new);
            tree.names.insert(name.clone(), new);
            tree.nodes.insert(new, self.tree.nodes[id].clone());
        }
        for p in self.flight.values_mut() {
            if let Some(n) = p.node {
                p.node = Some(map.get(&n).copied().unwrap_or(GONE));
            }
        }
        self.tree = tree;
        self
    }
}

const OK: &str = "ok";
const NOT_FOUND: &str = "err NotFound";

/// Takes the next step of `op` in `c`.
fn step(c: &mut Config, id: u64, op: &Op) {
    let mut p = c.flight[&id].clone();
    let t = &mut c.tree;
    let done = |a: &str| Some(a.to_string());
    let gone = |t: &Tree, p: &Progress| !t.nodes.contains_key(&p.node.unwrap());
    match (op, p.step) {
        // The open (which creates, and truncates for `t`)...
        (Op::Write(n, ..) | Op::Append(n, _), 0) => p.node = Some(t.open_create(n)),
        (Op::Truncate(n), 0) => {
            let id = t.open_create(n);
            t.nodes.get_mut(&id).unwrap().clear();
            p.node = Some(id);
        }
        // ...then the session's first request, a stat (`client::open_at`), which fails if a
        // rename or remove took the file away meanwhile (the ramdisk frees a removed file's
        // node at once: its sessions' requests fail).
        (Op::Write(..) | Op::Append(..), 1) if gone(t, &p) => p.answer = done(NOT_FOUND),
        (Op::Truncate(_), _) => p.answer = done(if gone(t, &p) { NOT_FOUND } else { OK }),
        (Op::Write(..) | Op::Append(..), 1) => {}
        (Op::Write(_, off, d), _) => {
            p.answer = match t.nodes.get_mut(&p.node.unwrap()) {
                Some(bytes) => {
                    if bytes.len() < off + d.len() {
                        bytes.resize(off + d.len(), 0);
                    }
                    bytes[*off..off + d.len()].copy_from_slice(d.as_bytes());
                    done(OK)
                }
                None => done(NOT_FOUND),
            }
        }
        (Op::Append(_, d), _) => {
            p.answer = match t.nodes.get_mut(&p.node.unwrap()) {
                Some(bytes) => {
                    bytes.extend_from_slice(d.as_bytes());
                    done(OK)
                }
                None => done(NOT_FOUND),
            }
        }
        (Op::Rename(a, b), _) => {
            p.answer = match t.names.get(a).copied() {
                None => done(NOT_FOUND),
                Some(_) if a == b => done(OK),
                Some(id) => {
                    if let Some(old) = t.names.insert(b.clone(), id) {
                        t.nodes.remove(&old);
                    }
                    t.names.remove(a);
                    done(OK)
                }
            }
        }
        (Op::Remove(n), _) => {
            p.answer = match t.names.remove(n) {
                Some(id) => {
                    t.nodes.remove(&id);
                    done(OK)
                }
                None => done(NOT_FOUND),
            }
        }
    }
    p.step += 1;
    c.flight.insert(id, p);
}

/// Every tree the server may hold, with the operations in flight in each.
struct Model {
    configs: BTreeSet<Config>,
    ops: BTreeMap<u64, Op>,
    /// What happened, for a failure's message (the last lines).
    log: Vec<String>,
}

impl Model {
    fn new() -> Model {
        let start = Config {
            tree: Tree::default(),
            flight: BTreeMap::new(),
        };
        Model {
            configs: [start].into(),
            ops: BTreeMap::new(),
            log: Vec::new(),
        }
    }

    fn invoke(&mut self, id: u64, who: usize, op: Op) {
        self.log
            .push(format!("#{id} client {who}: {}", op.line().trim_end()));
        let fresh = Progress {
            step: 0,
            node: None,
            answer: None,
        };
        self.configs = std::mem::take(&mut self.configs)
            .into_iter()
            .map(|mut c| {
                c.flight.insert(id, fresh.clone());
                c
            })
            .collect();
        self.ops.insert(id, op);
    }

    /// Adds every way the operations in flight may have advanced.
    fn grow(&mut self) {
        let mut work: Vec<Config> = self.configs.iter().cloned().collect();
        while let Some(c) = work.pop() {
            for (id, p) in &c.flight {
                if p.answer.is_none() {
                    let mut n = c.clone();
                    step(&mut n, *id, &self.ops[id]);
                    let n = n.canonical();
                    if self.configs.insert(n.clone()) {
                        work.push(n);
                    }
                }
            }
            assert!(self.configs.len() < MAX_CONFIGS, "the model grew too big");
        }
    }

    fn why(&self) -> String {
        let from = self.log.len().saturating_sub(40);
        self.log[from..].join("\n")
    }

    /// Operation `id` answered `answer`.
    fn answer(&mut self, id: u64, answer: &str) -> Result<(), String> {
        self.log.push(format!("#{id} answered {answer}"));
        self.grow();
        let possible: BTreeSet<String> = self
            .configs
            .iter()
            .filter_map(|c| c.flight[&id].answer.clone())
            .collect();
        self.configs = std::mem::take(&mut self.configs)
            .into_iter()
            .filter(|c| c.flight[&id].answer.as_deref() == Some(answer))
            .map(|mut c| {
                c.flight.remove(&id);
                c.canonical()
            })
            .collect();
        self.ops.remove(&id);
        if self.configs.is_empty() {
            return Err(format!(
                "operation #{id} answered {answer:?}, where the model allows {possible:?}; \
                 history:\n{}",
                self.why()
            ));
        }
        Ok(())
    }

    /// No operation is in flight but those of killed clients (which may still take steps): the
    /// server's tree, read now, must be one the model allows; the model keeps only those.
    fn observe(&mut self, server: &BTreeMap<String, Vec<u8>>) -> Result<(), String> {
        self.grow();
        let before = self.configs.len();
        let kept: BTreeSet<Config> = self
            .configs
            .iter()
            .filter(|c| c.tree.visible() == *server)
            .cloned()
            .collect();
        if kept.is_empty() {
            return Err(self.mismatch(server));
        }
        self.log.push(format!(
            "the tree read: one of {before} possibilities, {} left",
            kept.len()
        ));
        self.configs = kept;
        Ok(())
    }

    /// The end of a round: [`Model::observe`], and the operations of killed clients are over
    /// (their processes are gone and the tree stopped changing).
    fn settle(&mut self, server: &BTreeMap<String, Vec<u8>>) -> Result<(), String> {
        self.observe(server)?;
        let mut c = self.configs.first().unwrap().clone();
        c.flight.clear();
        self.configs = [c.canonical()].into();
        self.ops.clear();
        Ok(())
    }

    fn mismatch(&self, server: &BTreeMap<String, Vec<u8>>) -> String {
        let allowed: BTreeSet<_> = self.configs.iter().map(|c| c.tree.visible()).collect();
        let shown: Vec<String> = allowed.iter().take(4).map(show).collect();
        format!(
            "the server holds {}\nwhich is none of the {} trees the model allows, such as\n{}\n\
             history:\n{}",
            show(server),
            allowed.len(),
            shown.join("\n"),
            self.why()
        )
    }
}

fn show(t: &BTreeMap<String, Vec<u8>>) -> String {
    let files: Vec<String> = t
        .iter()
        .map(|(n, b)| format!("{n}={:?}", String::from_utf8_lossy(b)))
        .collect();
    format!("{{{}}}", files.join(", "))
}

/// The server's tree: every file under [`DIR`] (and in `sub`) with its bytes.
fn server_tree() -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for (prefix, dir) in [("", DIR.to_string()), ("sub/", format!("{DIR}/sub"))] {
        for e in shim::fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            let name = format!("{prefix}{}", e.file_name().to_string_lossy());
            if name == "sub" {
                continue;
            }
            let bytes = shim::fs::read(format!("{DIR}/{name}"))
                .unwrap_or_else(|err| panic!("cannot read {name}: {err}"));
            out.insert(name, bytes);
        }
    }
    out
}

/// The server's tree, read twice the same in a row (a killed client's request may land while it
/// is read: the reads are many requests).
fn stable_tree() -> BTreeMap<String, Vec<u8>> {
    let mut last = server_tree();
    for _ in 0..100 {
        let now = server_tree();
        if now == last {
            return now;
        }
        last = now;
    }
    panic!("the server's tree kept changing");
}

/// The server's tree once it has stopped changing (a killed client's last request may still be
/// on its way in the server when the client's status is in).
fn settled_tree() -> BTreeMap<String, Vec<u8>> {
    let mut last = server_tree();
    for _ in 0..20 {
        shim::thread::sleep(Duration::from_millis(100));
        let now = server_tree();
        if now == last {
            return now;
        }
        last = now;
    }
    panic!("the server's tree kept changing with no client left");
}

fn random_op(r: &mut Rng, who: usize, n: usize) -> Op {
    let name = |r: &mut Rng| NAMES[r.below(NAMES.len() as u64) as usize].to_string();
    let data = |r: &mut Rng| {
        let len = 1 + r.below(24) as usize;
        let fill = (b'a' + r.below(26) as u8) as char;
        format!("{who}{n}{}", String::from(fill).repeat(len))
    };
    match r.below(10) {
        0..=2 => Op::Write(name(r), r.below(48) as usize, data(r)),
        3..=5 => Op::Append(name(r), data(r)),
        6 => Op::Truncate(name(r)),
        7 | 8 => Op::Rename(name(r), name(r)),
        _ => Op::Remove(name(r)),
    }
}

struct Client {
    child: shim::process::Child,
    stdin: Option<shim::process::ChildStdin>,
    /// The operation in flight.
    flight: Option<u64>,
    handed: usize,
    killed: bool,
    eof: bool,
    /// Killed right after handing out this many operations.
    kill_after: Option<usize>,
}

/// The controller: `chaos-model SEED ROUNDS OPS [BIN]` (OPS: operations per client and round;
/// BIN: hosted mode's directory of ELFs on the host).
fn controller() {
    let args: Vec<String> = shim::env::args().collect();
    let seed: u64 = args[1].parse().unwrap();
    let rounds: usize = args[2].parse().unwrap();
    let ops_per_client: usize = args[3].parse().unwrap();
    let hosted_bin = args.get(4).map(std::path::PathBuf::from);
    let mut r = Rng(seed);
    // /bin: what the test put in the kernel's boot files (our own files, on a ramdisk of ours).
    let (bin_srv, bin_cli) = libeurali::new_rendezvous().unwrap();
    vfs::server::Server::new(vfs::ramdisk::Ramdisk::new(64 << 20))
        .spawn(bin_srv)
        .unwrap();
    libeurali::mount("/bin", bin_cli).unwrap();
    for (name, bytes) in images(hosted_bin.as_deref()) {
        shim::fs::write(format!("/bin/{name}"), bytes).unwrap();
    }
    // The server under test.
    let (srv, cli) = libeurali::new_rendezvous().unwrap();
    let mut server = Command::new("/bin/ramdisk")
        .arg("--serve")
        .stdin(srv)
        .spawn()
        .unwrap();
    libeurali::mount(DIR, cli).unwrap();
    shim::fs::create_dir(format!("{DIR}/sub")).unwrap();

    let mut model = Model::new();
    let mut next_id = 0u64;
    let (mut answered, mut kills, mut in_flight_at_kill, mut reads) = (0usize, 0, 0, 0);
    for round in 0..rounds {
        let (tx, rx) = mpsc::channel::<(usize, Option<String>)>();
        let mut clients: Vec<Client> = (0..CLIENTS)
            .map(|i| {
                let mut child = Command::new("/bin/abi-probe")
                    .arg("--fs-client")
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .spawn()
                    .unwrap();
                let stdout = child.stdout.take().unwrap();
                let tx = tx.clone();
                shim::thread::spawn(move || {
                    let mut lines = shim::io::BufReader::new(stdout);
                    loop {
                        let mut line = String::new();
                        match lines.read_line(&mut line) {
                            Ok(n) if n > 0 => {
                                let _ = tx.send((i, Some(line.trim_end().to_string())));
                            }
                            _ => {
                                let _ = tx.send((i, None));
                                return;
                            }
                        }
                    }
                });
                Client {
                    stdin: child.stdin.take(),
                    child,
                    flight: None,
                    handed: 0,
                    killed: false,
                    eof: false,
                    kill_after: None,
                }
            })
            .collect();
        drop(tx);
        // One or two victims a round, each killed after one of its operations is handed out.
        for _ in 0..1 + r.below(2) {
            let v = r.below(CLIENTS as u64) as usize;
            clients[v].kill_after = Some(1 + r.below(ops_per_client as u64) as usize);
        }
        let mut hand_out = |c: &mut Client, i: usize, model: &mut Model, r: &mut Rng| {
            if c.killed || c.flight.is_some() {
                return;
            }
            if c.handed == ops_per_client {
                // Done: its end of input ends it.
                c.stdin = None;
                return;
            }
            let op = random_op(r, i, c.handed);
            let line = op.line();
            model.invoke(next_id, i, op);
            c.flight = Some(next_id);
            next_id += 1;
            c.handed += 1;
            let stdin = c.stdin.as_mut().unwrap();
            stdin.write_all(line.as_bytes()).unwrap();
            stdin.flush().unwrap();
            if c.kill_after == Some(c.handed) {
                // Mid-call, or about to call, or just done: the model allows each.
                let pause = r.below(4);
                if pause > 0 {
                    shim::thread::sleep(Duration::from_micros(pause * 700));
                }
                c.child.kill().unwrap();
                let code = c.child.wait().unwrap().code();
                assert_eq!(
                    code,
                    Some(137),
                    "round {round}: killed client {i} ended {code:?}"
                );
                c.killed = true;
                c.stdin = None;
            }
        };
        for (i, c) in clients.iter_mut().enumerate() {
            hand_out(c, i, &mut model, &mut r);
        }
        let (mut reading, mut since_read) = (false, 0);
        while clients.iter().any(|c| !c.eof) {
            let (i, line) = rx.recv_timeout(HANG).unwrap_or_else(|_| {
                panic!(
                    "round {round}: no answer in {HANG:?}; history:\n{}",
                    model.why()
                )
            });
            let c = &mut clients[i];
            match line {
                Some(answer) => {
                    let id = c
                        .flight
                        .take()
                        .unwrap_or_else(|| panic!("client {i} said {answer:?} unasked"));
                    if let Err(e) = model.answer(id, &answer) {
                        panic!("round {round}, seed {seed}: {e}");
                    }
                    answered += 1;
                    since_read += 1;
                    if since_read >= READ_EVERY || model.configs.len() > READ_AT {
                        // Let the operations in flight end, then read the tree.
                        reading = true;
                    }
                    if !reading {
                        hand_out(c, i, &mut model, &mut r);
                    } else if clients.iter().all(|c| c.killed || c.flight.is_none()) {
                        if let Err(e) = model.observe(&stable_tree()) {
                            panic!("round {round}, seed {seed}: {e}");
                        }
                        reads += 1;
                        (reading, since_read) = (false, 0);
                        for (i, c) in clients.iter_mut().enumerate() {
                            hand_out(c, i, &mut model, &mut r);
                        }
                    }
                }
                None => {
                    c.eof = true;
                    if c.killed {
                        if let Some(id) = c.flight.take() {
                            model.log.push(format!("#{id} never answered (killed)"));
                            in_flight_at_kill += 1;
                        }
                        kills += 1;
                    } else {
                        let code = c.child.wait().unwrap().code();
                        assert_eq!(
                            (code, c.flight, c.handed),
                            (Some(0), None, ops_per_client),
                            "round {round}: client {i} ended early"
                        );
                    }
                }
            }
        }
        let tree = settled_tree();
        if let Err(e) = model.settle(&tree) {
            panic!("after round {round}, seed {seed}: {e}");
        }
    }
    let files = server_tree();
    shim::println!(
        "chaos-model: {rounds} rounds, {answered} answers checked, {kills} clients killed \
         ({in_flight_at_kill} with an operation unanswered), {reads} reads of the tree mid-round, \
         {} files, {} bytes: the tree matches",
        files.len(),
        files.values().map(Vec::len).sum::<usize>()
    );
    libeurali::umount(DIR).unwrap();
    server.kill().unwrap();
    let _ = server.wait();
}

/// The programs /bin holds: in-process, the stub's program images; hosted, the ELFs of
/// `cargo xtask build` in the host's directory `hosted` (read with the host's file system: the
/// controller is a function of this test).
fn images(hosted: Option<&std::path::Path>) -> Vec<(&'static str, Vec<u8>)> {
    ["ramdisk", "abi-probe"]
        .into_iter()
        .map(|name| {
            let bytes = match hosted {
                Some(dir) => std::fs::read(dir.join(name)).unwrap(),
                None => Kernel::program_image(name),
            };
            (name, bytes)
        })
        .collect()
}

/// Boots `chaos-model` as the first process of a kernel (hosted if `loader` is given) and
/// returns what it printed; fails the test on a non-zero status or a hang.
fn run(
    hosted: Option<(std::path::PathBuf, std::path::PathBuf)>,
    rounds: usize,
    ops: usize,
) -> String {
    let seed = match std::env::var("EURALI_CHAOS_SEED") {
        Ok(s) => s.parse().expect("EURALI_CHAOS_SEED: a number"),
        Err(_) => {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        }
    };
    let kernel = Kernel::new();
    for (name, entry) in eurali::programs() {
        kernel.register_program(name, entry);
    }
    kernel.register_program(
        "chaos-model",
        shim::program_entry!("chaos-model", controller).1,
    );
    let mut args = [seed, rounds as u64, ops as u64]
        .map(|n| n.to_string())
        .to_vec();
    if let Some((loader, bin)) = hosted {
        kernel.set_guest_loader(loader);
        args.push(bin.to_str().unwrap().to_string());
    }
    let (out, err) = (Capture::default(), Capture::default());
    let console = Console {
        stdin: Box::new(std::io::empty()),
        stdout: Box::new(out.clone()),
        stderr: Box::new(err.clone()),
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let k = kernel.clone();
    std::thread::spawn(move || {
        let _ = tx.send(eurali_host::boot::run_with(
            &k,
            "chaos-model",
            &args,
            console,
        ));
    });
    let code = rx
        .recv_timeout(Duration::from_secs(180))
        .unwrap_or_else(|_| {
            panic!(
                "seed {seed}: no end in 180 s; stdout {}\nstderr {}\n{}",
                out.text(),
                err.text(),
                kernel.dump()
            )
        });
    let (stdout, stderr) = (out.text(), err.text());
    assert_eq!(code, 0, "seed {seed}\nstdout: {stdout}\nstderr: {stderr}");
    assert!(
        stdout.contains(": the tree matches"),
        "seed {seed}\nstdout: {stdout}\nstderr: {stderr}"
    );
    eprintln!("seed {seed}: {stdout}");
    stdout
}

#[test]
fn a_ramdisk_under_concurrent_clients_and_kills_matches_the_model() {
    let out = run(None, 16, 60);
    assert!(out.contains("16 rounds"), "{out}");
}

#[test]
fn hosted_a_ramdisk_under_concurrent_clients_and_kills_matches_the_model() {
    let Some((dir, loader)) = hosted::elfs(&["ramdisk", "abi-probe"]) else {
        return;
    };
    let out = run(Some((loader, dir)), 12, 50);
    assert!(out.contains("12 rounds"), "{out}");
}
