//! `abi-probe`: ABI edge cases whose results must be the same on every kernel we run on — the
//! in-process stub, hosted mode and the real kernel. Prints one line per case; the system tests
//! run it in both stub modes and compare with one expected text ([`EXPECTED`]).
//!
//! ```text
//! abi-probe              the cases
//! abi-probe --exec-limits  exec with its own image (read from stdin to its end): a child with
//!                        odd-sized args (an odd entry RSP), then args + env over one page minus
//!                        8 bytes, which halts the real machine ([`EXEC_EXPECTED`] before it)
//! abi-probe --child ...  what that child runs: formatted output, exit status 7
//! abi-probe --log WORDS  writes WORDS and a newline to the debug log device, `/dev/log`
//! abi-probe --fault KIND one fault that halts the real machine (freestanding build only):
//!                        null | read-before-write | stack-overflow | unknown-syscall |
//!                        chunk-read-before-write
//! abi-probe --fs-client  file operations read from stdin, one a line, each answered on stdout
//!                        when done ([`fs_client`]; tests/chaos_model.rs drives it)
//! ```

use libeurali::abi::{Call, Registers};
use libeurali::{Error, Handle, MemoryChunk, Message, Word, new_rendezvous, receive, send};

/// What [`main`] prints.
pub const EXPECTED: &str = "\
receive on a bad handle: 3
copy of a bad handle: 3
send on a bad handle: 3
send with only our reference: 12
send blocked or refused when the peer closes: 12
malloc of 0 pages: 9
free twice: 10
open of an unmounted path: 7
open of an empty path: 5
chunk moved to a thread: ok
chunk moved back: ok
sent chunk unmapped in the sender: yes
handle moved to a thread: ok
chunks allocated before the slot limit: 511
malloc at the slot limit: 9
threads started before the limit: 63
fork_thread at the limit: 4
";

/// What `--exec-limits` prints before its last exec halts the system.
pub const EXEC_EXPECTED: &str = "\
child entry RSP mod 16: 9
child args: [\"abi-probe\", \"--child\", \"x\"]
child fmt: [    42|ab  |0xff|1.50|-3e0]
child exit status: 7
exec with 4100 bytes of args: next
";

fn code(e: Error) -> u8 {
    e.code()
}

fn raw(call: Call) -> Registers {
    let mut r = call.encode();
    // Safety: the calls below pass no pointers (or valid ones).
    unsafe { libeurali::raw::syscall(&mut r) };
    r
}

pub fn main() {
    if std::env::args().nth(1).as_deref() == Some("--fs-client") {
        return fs_client();
    }
    // The kernel's own limits and slot rules are what this probes: no runtime pools between.
    std::rt::disable_pools();
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("--fault") => return fault(args.get(2).map(String::as_str).unwrap_or("")),
        Some("--bench-server") => return bench_server(),
        Some("--exec-limits") => return exec_limits(),
        Some("--log") => {
            let line = args[2..].join(" ") + "\n";
            let r = libeurali::open("/dev/log")
                .and_then(|(h, _)| libeurali::proto::stream::write(&h, line.as_bytes()));
            match r {
                Ok(n) => println!("logged {n} bytes"),
                Err(e) => println!("cannot write to /dev/log: {e}"),
            }
            return;
        }
        Some("--child") => {
            println!("child args: {:?}", &args[..]);
            println!(
                "child fmt: [{:>6}|{:<4}|{:#x}|{:.2}|{:e}]",
                42,
                "ab",
                255,
                core::hint::black_box(1.5f64),
                core::hint::black_box(-3.0f64)
            );
            std::process::exit(7);
        }
        Some("--bench-client") => {
            return bench_client(args.get(2).and_then(|n| n.parse().ok()).unwrap_or(10_000));
        }
        _ => {}
    }
    // Bad handles.
    // SAFETY: 999 names no handle of this process: the probe checks the kernel refuses it.
    let bad = || unsafe { Handle::from_raw(999) };
    let h = bad();
    println!(
        "receive on a bad handle: {}",
        receive(&h).map(|_| 0).unwrap_or_else(code)
    );
    println!(
        "copy of a bad handle: {}",
        h.try_clone().map(|_| 0).unwrap_or_else(code)
    );
    let r = send(&h, Message::Short(1, 2, 3));
    println!(
        "send on a bad handle: {}",
        r.map(|_| 0).unwrap_or_else(|e| code(e.error))
    );
    let _ = h.into_raw();

    // CLOSED.
    let (a, b) = new_rendezvous().expect("rendezvous");
    drop(b);
    let r = send(&a, Message::Short(1, 2, 3));
    println!(
        "send with only our reference: {}",
        r.map(|_| 0).unwrap_or_else(|e| code(e.error))
    );
    drop(a);
    let (a, b) = new_rendezvous().expect("rendezvous");
    let t = std::thread::spawn(move || {
        send(&a, Message::Short(1, 2, 3))
            .map(|_| 0)
            .unwrap_or_else(|e| code(e.error))
    });
    std::thread::sleep(std::time::Duration::from_millis(20));
    drop(b);
    println!(
        "send blocked or refused when the peer closes: {}",
        t.join().unwrap_or(0)
    );

    // Chunks.
    let r = raw(Call::Malloc {
        pages: 0,
        max_physaddr: 0,
    });
    println!("malloc of 0 pages: {}", r.rax & 0x7F);
    let c = MemoryChunk::alloc(4096).expect("chunk");
    let base = c.into_raw();
    let first = raw(Call::Free { addr: base }).rax & 0x7F;
    let second = raw(Call::Free { addr: base }).rax & 0x7F;
    println!(
        "free twice: {}",
        if first == 0 { second } else { 100 + first }
    );
    let r = libeurali::open("/nothing/here");
    println!(
        "open of an unmounted path: {}",
        r.map(|_| 0).unwrap_or_else(code)
    );
    let r = libeurali::open("");
    println!(
        "open of an empty path: {}",
        r.map(|_| 0).unwrap_or_else(code)
    );

    let (mine, theirs) = new_rendezvous().expect("rendezvous");
    let t = std::thread::spawn(move || {
        let m = receive(&theirs);
        let ok = match m {
            Ok(Message::Long(7, Word::Value(n), Word::Chunk(mut c))) if n <= 4096 => {
                // Safety: the sender wrote `n` bytes (checked against what it allocated).
                unsafe { c.set_len(n as usize) };
                c.as_slice()[..n as usize]
                    .iter()
                    .enumerate()
                    .all(|(i, &b)| b == i as u8)
            }
            _ => false,
        };
        let mut back = MemoryChunk::alloc(8192).expect("chunk");
        back.as_mut_slice().fill(0x5A);
        let _ = send(
            &theirs,
            Message::Long(8, Word::Value(ok as u64), Word::Chunk(back)),
        );
        let (h, _) = match receive(&theirs) {
            Ok(Message::Long(9, Word::Handle(h), _)) => (Some(h), 0),
            _ => (None, 0),
        };
        h.is_some_and(|h| send(&h, Message::Short(10, 0, 0)).is_ok())
    });
    let mut c = MemoryChunk::alloc(4096).expect("chunk");
    for (i, b) in c.as_mut_slice().iter_mut().enumerate() {
        *b = i as u8;
    }
    let sent_at = c.base();
    send(&mine, Message::Long(7, Word::Value(4096), Word::Chunk(c))).expect("send chunk");
    let reply = receive(&mine);
    let (ok, back) = match reply {
        Ok(Message::Long(8, Word::Value(ok), Word::Chunk(mut c))) => {
            // Safety: the thread filled 8192 bytes.
            unsafe { c.set_len(8192) };
            (ok == 1, c)
        }
        _ => panic!("no chunk back"),
    };
    println!("chunk moved to a thread: {}", if ok { "ok" } else { "BAD" });
    let all = back.as_slice().iter().take(8192).all(|&b| b == 0x5A);
    println!("chunk moved back: {}", if all { "ok" } else { "BAD" });
    // The slot the sent chunk had is free again: the chunk that came back took it (lowest
    // free slot) or, if not, freeing the old address fails.
    let unmapped = back.base() == sent_at || raw(Call::Free { addr: sent_at }).rax & 0x7F == 10;
    println!(
        "sent chunk unmapped in the sender: {}",
        if unmapped { "yes" } else { "no" }
    );
    drop(back);
    let (x, y) = new_rendezvous().expect("rendezvous");
    send(&mine, Message::Long(9, Word::Handle(y), Word::Value(0))).expect("send handle");
    let got = receive(&x);
    let ok = matches!(got, Ok(Message::Short(10, 0, 0))) && t.join().unwrap_or(false);
    println!(
        "handle moved to a thread: {}",
        if ok { "ok" } else { "BAD" }
    );

    // The chunk slot limit: 511 per process, shared by every chunk it holds (none now).
    let mut held = Vec::new();
    let last = loop {
        let r = raw(Call::Malloc {
            pages: 1,
            max_physaddr: 0,
        });
        if r.rax & 0x7F != 0 || held.len() > 600 {
            break r.rax & 0x7F;
        }
        held.push(r.rdi);
    };
    let count = held.len();
    // Free them before printing: writing to stdout takes a chunk.
    for addr in held {
        raw(Call::Free { addr });
    }
    println!("chunks allocated before the slot limit: {count}");
    println!("malloc at the slot limit: {last}");

    // The thread limit: 64 per process, this one included. The prints above started std-shim's
    // watchdog (stream calls are watched); it ends after a second with nothing to watch, and the
    // count must not depend on whether it is still there.
    std::thread::sleep(std::time::Duration::from_millis(1_500));
    let mut started = Vec::new();
    loop {
        let (gate, peer) = new_rendezvous().expect("rendezvous");
        match std::thread::Builder::new().spawn(move || {
            let _ = receive(&peer);
        }) {
            Ok(j) => started.push((gate, j)),
            Err(_) => break,
        }
        if started.len() > 100 {
            break;
        }
    }
    println!("threads started before the limit: {}", started.len());
    extern "C-unwind" fn never(_: u64) -> ! {
        libeurali::exit_thread()
    }
    // Safety: `never` is a valid thread entry; it is not expected to start.
    let r = unsafe { libeurali::spawn_thread(never, 0) };
    println!(
        "fork_thread at the limit: {}",
        r.map(|_| 0).unwrap_or_else(code)
    );
    for (gate, j) in started {
        let _ = send(&gate, Message::Short(0, 0, 0));
        let _ = j.join();
    }
}

/// `--bench-server`: answers every request on handle 0 with `Short(1, 0, 0)` until the
/// rendezvous fails (for `cargo xtask bench hosted`).
fn bench_server() {
    // Safety: handle 0 is the stdin the parent gave us; only this loop uses it.
    let h = unsafe { Handle::from_raw(0) };
    while receive(&h).is_ok() {
        let _ = send(&h, Message::Short(1, 0, 0));
    }
    let _ = h.into_raw();
}

/// `--bench-client N`: times N trivial system calls (`close` of a handle that does not exist)
/// and N round trips with the server on handle 0, then sends `Short(0xBE, syscall ns, round-trip
/// ns)` (totals) on handle 1.
fn bench_client(n: u64) {
    // Safety: handles 0 and 1 are what the parent gave us; only this function uses them.
    let (h, out) = unsafe { (Handle::from_raw(0), Handle::from_raw(1)) };
    let t = std::time::Instant::now();
    for _ in 0..n {
        raw(Call::Close { handle: 999 });
    }
    let sys = t.elapsed().as_nanos() as u64;
    let t = std::time::Instant::now();
    for _ in 0..n {
        let _ = libeurali::rcall(&h, Message::Short(1, 0, 0));
    }
    let ipc = t.elapsed().as_nanos() as u64;
    let _ = send(&out, Message::Short(0xBE, sys, ipc));
    let _ = (h.into_raw(), out.into_raw());
}

/// `--fs-client`: a file-system client for the chaos test against a model. Reads one
/// operation a line from stdin and answers each, once it is done, with `ok` or `err KIND` (the
/// `io::ErrorKind`) on stdout; ends at the end of its input. Each operation is what a program
/// does through `std::fs`, one file-protocol request a step:
///
/// ```text
/// w PATH OFFSET DATA   open (write, create), write DATA at OFFSET
/// a PATH DATA          open (append, create), append DATA
/// t PATH               open (write, create, truncate)
/// m FROM TO            rename
/// r PATH               remove
/// ```
///
/// DATA is one word (no blanks). A line it cannot parse is `err bad-line`.
pub fn fs_client() {
    use std::io::{BufRead, Seek, SeekFrom, Write};
    fn run(line: &str) -> std::io::Result<()> {
        let w: Vec<&str> = line.split_whitespace().collect();
        let bad = || std::io::Error::new(std::io::ErrorKind::InvalidInput, "bad-line");
        match w.as_slice() {
            ["w", path, off, data] => {
                let off = off.parse::<u64>().map_err(|_| bad())?;
                let mut f = std::fs::OpenOptions::new()
                    .write(true)
                    .create(true)
                    .open(path)?;
                f.seek(SeekFrom::Start(off))?;
                f.write_all(data.as_bytes())?;
                f.flush()
            }
            ["a", path, data] => {
                let mut f = std::fs::OpenOptions::new()
                    .append(true)
                    .create(true)
                    .open(path)?;
                f.write_all(data.as_bytes())?;
                f.flush()
            }
            ["t", path] => std::fs::File::create(path).map(drop),
            ["m", from, to] => std::fs::rename(from, to),
            ["r", path] => std::fs::remove_file(path),
            _ => Err(bad()),
        }
    }
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut line = String::new();
    loop {
        line.clear();
        match input.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let answer = match run(&line) {
            Ok(()) => "ok\n".to_string(),
            Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => "err bad-line\n".into(),
            Err(e) => format!("err {:?}\n", e.kind()),
        };
        let mut out = std::io::stdout();
        if out
            .write_all(answer.as_bytes())
            .and_then(|()| out.flush())
            .is_err()
        {
            return;
        }
    }
}

/// Faults that halt the real machine, for hosted mode's fault reports.
fn fault(kind: &str) {
    #[cfg(target_os = "none")]
    {
        use libeurali::abi::layout::{HEAP_SIZE, HEAP_START};
        // Safety: none: each of these is meant to fault.
        unsafe {
            match kind {
                "null" => {
                    core::ptr::read_volatile(0x10 as *const u64);
                }
                "read-before-write" => {
                    core::ptr::read_volatile((HEAP_START + HEAP_SIZE - 4096) as *const u64);
                }
                "stack-overflow" => {
                    fn deep(n: u64) -> u64 {
                        let buf = [n; 128];
                        core::hint::black_box(&buf);
                        if n == 0 {
                            0
                        } else {
                            deep(n - 1) + buf[(n % 128) as usize]
                        }
                    }
                    core::hint::black_box(deep(core::hint::black_box(100_000)));
                }
                "chunk-read-before-write" => chunk_read_before_write(),
                "unknown-syscall" => {
                    let mut r = Registers {
                        rax: 99,
                        ..Registers::default()
                    };
                    libeurali::raw::syscall(&mut r);
                }
                _ => {}
            }
        }
    }
    println!("fault {kind:?} did not fault here");
}

/// A lazy chunk of two pages: the first written, then the chunk moved to a thread, which reads
/// the written page (it must not fault, and holds what was written and garbage around it) and
/// then the never-written one (the kernel's freeze).
#[cfg(target_os = "none")]
fn chunk_read_before_write() {
    let r = raw(Call::Malloc {
        pages: 2,
        max_physaddr: 0,
    });
    if r.rax & 0x7F != 0 {
        println!("malloc failed: {}", r.rax & 0x7F);
        return;
    }
    let base = r.rdi;
    // Safety: the first page of the fresh chunk, written before anything reads it.
    unsafe { core::ptr::write_volatile(base as *mut u64, 0x1122_3344) };
    // Safety: the chunk is ours and moves with the message below.
    let c = unsafe { MemoryChunk::from_raw(base) };
    let (mine, theirs) = new_rendezvous().expect("rendezvous");
    let t = std::thread::spawn(move || {
        let Ok(Message::Long(1, _, Word::Chunk(c))) = receive(&theirs) else {
            println!("BAD: no chunk");
            return;
        };
        let at = c.into_raw();
        // Safety: page 0 was written by the sender; page 1 never was (this is the fault).
        unsafe {
            let word = core::ptr::read_volatile(at as *const u64);
            let after = core::ptr::read_volatile((at + 8) as *const u8);
            if word != 0x1122_3344 || after == 0 {
                println!("BAD: written page after the move: {word:#x}, {after:#x}");
            }
            core::ptr::read_volatile((at + 4096) as *const u64);
        }
    });
    send(&mine, Message::Long(1, Word::Value(8192), Word::Chunk(c))).expect("send chunk");
    let _ = t.join();
}

/// `--exec-limits`: see the crate doc.
fn exec_limits() {
    use std::io::Read;
    let mut image = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut image) {
        println!("cannot read the image from stdin: {e}");
        return;
    }
    // Args "abi-probe\x03--child\x03x" (19 bytes) and no env: the entry RSP is the 16-aligned
    // stack top minus 23 (§4.2), odd; the child's `_start` must align it.
    let argv = ["abi-probe", "--child", "x"];
    let args_len = argv.iter().map(|a| a.len() + 1).sum::<usize>() - 1;
    let (_, _, rsp) = libeurali::params::block_layout(0x1000_0000, args_len, 0);
    println!("child entry RSP mod 16: {}", rsp % 16);
    match run_child(&image, &argv) {
        Ok(code) => println!("child exit status: {code}"),
        Err(e) => println!("child: exec failed: {e}"),
    }
    // Args + env over 4096 - 8 bytes: the kernel writes past the stack page and the machine
    // halts (the stub reports it; nothing after this line runs).
    let long = "y".repeat(4100 - "abi-probe\x03--child\x03".len());
    println!("exec with 4100 bytes of args: next");
    let r = run_child(&image, &["abi-probe", "--child", &long]);
    println!("exec with 4100 bytes of args did not halt: {r:?}");
}

/// Execs `image` with `argv` in a new namespace holding only its status mount, our stdout as its
/// stdout (stderr shares it), and waits for its exit status.
fn run_child(image: &[u8], argv: &[&str]) -> Result<i64, Error> {
    let (status, status_child) = new_rendezvous()?;
    let (_input, child_in) = new_rendezvous()?;
    let out = std::rt::stdout_handle().ok_or(Error::Closed)?;
    let params = libeurali::params::ExecParams::new()
        .new_namespace()
        .mount(status_child.raw(), "/.eurali/status")?
        .args(argv)?
        .finish()?;
    // The kernel takes the status handle by number through the parameter string.
    status_child.into_raw();
    libeurali::exec(image, child_in, out, &params, false)?;
    match receive(&status)? {
        Message::Short(libeurali::msgtype::EXIT_STATUS, code, _) => Ok(code as u32 as i32 as i64),
        Message::Long(libeurali::msgtype::EXIT_STATUS, libeurali::Word::Value(v), _) => {
            Ok(v as u32 as i32 as i64)
        }
        _ => Err(Error::Other(0)),
    }
}
