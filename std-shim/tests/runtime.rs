//! std-shim on the in-process stub: programs written against the shim, booted the way `cargo run`
//! boots them, with the console bound to buffers.

use std::io::Write as _;
use std::time::Duration;

use eurali_host::boot::{Captured, run_captured};
use eurali_std as shim;

/// Boots `main` as program `name` with `args` and `input` on stdin; fails after 20 s.
fn boot(entry: (&'static str, kernel_stub::ProgramEntry), args: &[&str], input: &str) -> Captured {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    run_captured(
        &[entry],
        entry.0,
        &args,
        input.as_bytes(),
        Duration::from_secs(20),
    )
}

fn args_and_env() {
    let args: Vec<String> = shim::env::args().collect();
    shim::println!("{}", args.join("|"));
    shim::println!(
        "PWD={:?} NOPE={:?}",
        shim::env::var("PWD"),
        shim::env::var("NOPE")
    );
    // SAFETY: nothing else in this test's process reads the environment meanwhile.
    unsafe { shim::env::set_var("NEW", "1") };
    shim::println!("NEW={}", shim::env::var("NEW").unwrap());
    shim::println!("vars={}", shim::env::vars().count());
}

#[test]
fn args_and_environment() {
    let o = boot(
        shim::program_entry!("args", args_and_env),
        &["a", "b c"],
        "",
    );
    assert_eq!(
        o.stdout, "args|a|b c\nPWD=Ok(\"/\") NOPE=Err(NotPresent)\nNEW=1\nvars=3\n",
        "{}",
        o.stderr
    );
    assert_eq!(o.code, 0);
}

fn exits_7() {
    shim::print!("unterminated line is flushed at exit");
    shim::process::exit(7);
}

#[test]
fn exit_status_and_final_flush() {
    let o = boot(shim::program_entry!("exit7", exits_7), &[], "");
    assert_eq!(o.code, 7);
    assert_eq!(o.stdout, "unterminated line is flushed at exit");
}

fn panics() {
    shim::println!("before");
    let v: Vec<u32> = Vec::new();
    let _ = v[3];
}

#[test]
fn panic_in_main_is_status_101_with_message() {
    let o = boot(shim::program_entry!("panics", panics), &[], "");
    assert_eq!(o.code, 101);
    assert_eq!(o.stdout, "before\n");
    assert!(o.stderr.contains("index out of bounds"), "{}", o.stderr);
    assert!(
        o.stderr.contains("std-shim/tests/runtime.rs"),
        "{}",
        o.stderr
    );
}

fn upcase_stdin() {
    use shim::io::BufRead;
    let stdin = shim::io::stdin();
    let mut n = 0;
    for line in stdin.lock().lines() {
        let line = line.unwrap();
        shim::println!("{}", line.to_uppercase());
        n += 1;
    }
    shim::eprintln!("{n} lines");
}

#[test]
fn stdin_lines_until_eof() {
    let o = boot(
        shim::program_entry!("upcase", upcase_stdin),
        &[],
        "abc\ndef\nlast without newline",
    );
    assert_eq!(o.stdout, "ABC\nDEF\nLAST WITHOUT NEWLINE\n");
    assert_eq!(o.stderr, "3 lines\n");
    assert_eq!(o.code, 0);
}

fn threads() {
    let handles: Vec<_> = (0..8u64)
        .map(|i| shim::thread::spawn(move || i * i))
        .collect();
    let sum: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    shim::println!("sum={sum}");
    let bad = shim::thread::spawn(|| -> u32 { panic!("thread boom") });
    shim::println!(
        "join of a panicked thread: {}",
        if bad.join().is_err() { "Err" } else { "Ok" }
    );
    // Shared state under the shim's Mutex.
    let counter = shim::sync::Arc::new(shim::sync::Mutex::new(0u32));
    let hs: Vec<_> = (0..4)
        .map(|_| {
            let c = counter.clone();
            shim::thread::spawn(move || {
                for _ in 0..1000 {
                    *c.lock().unwrap() += 1;
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    shim::println!("counter={}", *counter.lock().unwrap());
    // Detached threads do not block the process's end... but this one is joined late, after it ended.
    let late = shim::thread::spawn(|| 5);
    shim::thread::sleep(core::time::Duration::from_millis(20));
    shim::println!(
        "finished={} value={}",
        late.is_finished(),
        late.join().unwrap()
    );
}

#[test]
fn threads_spawn_join_and_panic() {
    let o = boot(shim::program_entry!("threads", threads), &[], "");
    assert_eq!(
        o.stdout, "sum=140\njoin of a panicked thread: Err\ncounter=4000\nfinished=true value=5\n",
        "{}",
        o.stderr
    );
    assert!(o.stderr.contains("thread boom"), "{}", o.stderr);
    assert_eq!(o.code, 0);
}

fn thread_limit() {
    let gate = shim::sync::Arc::new(shim::sync::Mutex::new(()));
    let held = gate.lock().unwrap();
    let mut hs = Vec::new();
    let err = loop {
        let g = gate.clone();
        match shim::thread::Builder::new().spawn(move || drop(g.lock().unwrap())) {
            Ok(h) => hs.push(h),
            Err(e) => break e,
        }
        if hs.len() > 100 {
            shim::println!("no limit");
            return;
        }
    };
    shim::println!("spawned {} then: {}", hs.len(), err);
    drop(held);
    for h in hs {
        h.join().unwrap();
    }
    shim::println!("all joined");
}

#[test]
fn sixty_four_threads_a_process() {
    let o = boot(shim::program_entry!("limit", thread_limit), &[], "");
    // main + 63 spawned = 64 live threads; the 64th spawn fails like fork_thread does (MEMALLOC),
    // said as EAGAIN (issue 16, item 8).
    assert_eq!(
        o.stdout, "spawned 63 then: resource temporarily unavailable: 64 threads\nall joined\n",
        "{}",
        o.stderr
    );
}

fn timing() {
    let t = shim::time::Instant::now();
    shim::thread::sleep(shim::time::Duration::from_millis(30));
    let e = t.elapsed();
    shim::println!(
        "{}",
        e >= shim::time::Duration::from_millis(30) && e < shim::time::Duration::from_secs(5)
    );
}

#[test]
fn sleep_and_instant() {
    let o = boot(shim::program_entry!("timing", timing), &[], "");
    assert_eq!(o.stdout, "true\n");
}

#[test]
fn println_outside_any_program_goes_to_the_host() {
    // Unit tests of program code run without a kernel: output must not need one.
    shim::println!("host fallback works");
    let _ = std::io::stdout().flush();
}

fn pipe_in_process() {
    use shim::io::{Read, Write};
    let (mut r, w) = shim::pipe::pipe().unwrap();
    let writer = shim::thread::spawn(move || {
        let mut w = w;
        let block: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
        for _ in 0..30 {
            w.write_all(&block).unwrap();
        }
        // Dropping the only writer: the reader sees EOF after the data.
    });
    let mut all = Vec::new();
    r.read_to_end(&mut all).unwrap();
    writer.join().unwrap();
    let ok = all.len() == 300_000
        && all
            .iter()
            .enumerate()
            .all(|(i, &b)| b == ((i % 10_000) % 256) as u8);
    shim::println!("read {} bytes, intact: {ok}", all.len());
    // A gone reader makes writes fail.
    let (r2, mut w2) = shim::pipe::pipe().unwrap();
    drop(r2);
    let mut err = None;
    for _ in 0..200 {
        if let Err(e) = w2.write_all(&[1; 4096]) {
            err = Some(e.kind());
            break;
        }
    }
    shim::println!("write to a pipe without reader: {err:?}");
    // EOF only when the last of several writers is gone.
    let (mut r3, w3) = shim::pipe::pipe().unwrap();
    let mut w4 = w3.try_clone().unwrap();
    drop(w3);
    w4.write_all(b"late").unwrap();
    drop(w4);
    let mut s = String::new();
    r3.read_to_string(&mut s).unwrap();
    shim::println!("second writer: {s:?}");
    // A reader's handle that left (as a child's stdin would) keeps the pipe open for writers
    // after the local reader is gone.
    let (r5, mut w5) = shim::pipe::pipe().unwrap();
    let away = r5.try_clone().unwrap().into_handle().unwrap();
    drop(r5);
    shim::println!(
        "write with the reader away: {:?}",
        w5.write(b"x").map_err(|e| e.kind())
    );
    drop(away);
}

#[test]
fn pipes_carry_data_then_eof_and_refuse_a_gone_reader() {
    let o = boot(shim::program_entry!("pipes", pipe_in_process), &[], "");
    assert_eq!(
        o.stdout,
        "read 300000 bytes, intact: true\nwrite to a pipe without reader: Some(BrokenPipe)\n\
         second writer: \"late\"\nwrite with the reader away: Ok(1)\n",
        "{}",
        o.stderr
    );
}

fn child_lines() {
    for i in 0..3 {
        shim::println!(
            "line {i} from {}",
            shim::env::args().next().unwrap_or_default()
        );
    }
}

fn parent_reads_child() {
    use shim::io::BufRead;
    let (r, w) = shim::pipe::pipe().unwrap();
    let (stdin_for_child, _keep) = libeurali::new_rendezvous().unwrap();
    let params = libeurali::params::ExecParams::new()
        .new_namespace()
        .args(&["child"])
        .unwrap()
        .finish()
        .unwrap();
    libeurali::exec(
        &kernel_stub::Kernel::program_image("child"),
        stdin_for_child,
        w.into_handle().unwrap(),
        &params,
        false,
    )
    .unwrap();
    let lines: Vec<String> = shim::io::BufReader::new(r)
        .lines()
        .map(|l| l.unwrap())
        .collect();
    shim::println!("{}", lines.join(" / "));
}

#[test]
fn a_child_writes_into_a_pipe_and_its_end_is_eof() {
    let progs = [
        shim::program_entry!("parent", parent_reads_child),
        shim::program_entry!("child", child_lines),
    ];
    let r = run_captured(&progs, "parent", &[], b"", Duration::from_secs(20));
    assert_eq!(
        r.stdout, "line 0 from child / line 1 from child / line 2 from child\n",
        "{}",
        r.stderr
    );
    assert_eq!(r.code, 0);
}

fn many_pipes() {
    use shim::io::{Read, Write};
    for i in 0..300 {
        let (mut r, w) = match shim::pipe::pipe() {
            Ok(p) => p,
            Err(e) => {
                shim::println!("pipe {i}: {e}");
                return;
            }
        };
        let t = shim::thread::Builder::new().spawn(move || {
            let mut w = w;
            let _ = w.write_all(b"x");
        });
        if let Err(e) = t {
            shim::println!("thread {i}: {e}");
            return;
        }
        let mut v = Vec::new();
        r.read_to_end(&mut v).unwrap();
    }
    shim::println!("done");
}

#[test]
fn many_pipes_one_after_another() {
    let o = boot(shim::program_entry!("pipes", many_pipes), &[], "");
    assert_eq!(o.stdout, "done\n", "{}", o.stderr);
}
