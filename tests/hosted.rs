//! Hosted mode: the freestanding ELFs of `cargo xtask build` (in `target/eurali/bin`) booted on
//! the stub as `cargo xtask run` does, checked like the in-process system tests; and ABI edge
//! cases (`abi-probe`) that must print the same text in both modes.
//!
//! Without the ELFs these tests say so and pass, unless `CI` is set (`cargo xtask ci` builds the
//! ELFs before it runs the tests): then they fail.

#[path = "common/hosted.rs"]
mod hosted;

use std::path::PathBuf;
use std::time::Duration;

#[path = "common/rng.rs"]
mod rng;

use rng::Rng;

#[path = "common/run.rs"]
mod run;
use run::{Run, eurali_run};

fn bin_dir() -> Option<PathBuf> {
    hosted::elfs(&["hello", "echo", "abi-probe"]).map(|(dir, _)| dir)
}

/// Runs `eurali ARGS` with `input` on stdin, failing the test if it takes over 30 s.
fn eurali(args: &[&str], input: impl AsRef<[u8]>) -> Run {
    eurali_env(args, input, &[])
}

/// [`eurali`] with extra environment variables.
fn eurali_env(args: &[&str], input: impl AsRef<[u8]>, env: &[(&str, &str)]) -> Run {
    eurali_within(args, input, env, Duration::from_secs(30))
}

/// [`eurali_env`], failing the test if it takes over `limit`.
fn eurali_within(
    args: &[&str],
    input: impl AsRef<[u8]>,
    env: &[(&str, &str)],
    limit: Duration,
) -> Run {
    eurali_run(args, input, env, limit)
}

fn hosted(dir: &std::path::Path, args: &[&str], input: impl AsRef<[u8]>) -> Run {
    let d = dir.to_str().unwrap();
    let mut all = vec!["--hosted", d];
    all.extend_from_slice(args);
    eurali(&all, input)
}

#[test]
fn hosted_hello_prints_args_and_env() {
    let Some(dir) = bin_dir() else { return };
    let r = hosted(&dir, &["hello", "one", "two words"], "");
    assert_eq!(
        r.stdout,
        "Hello from eurali!\narg[0] = hello\narg[1] = one\narg[2] = two words\nenv PWD=/\nenv HOME=/\n",
        "stderr: {}",
        r.stderr
    );
    assert_eq!(r.code, Some(0));
}

#[test]
fn hosted_echo_prints_its_arguments() {
    let Some(dir) = bin_dir() else { return };
    let r = hosted(&dir, &["echo", "hello,", "eurali", "a  b"], "");
    assert_eq!(r.stdout, "hello, eurali a  b\n", "stderr: {}", r.stderr);
    assert_eq!(r.code, Some(0));
    let r = hosted(&dir, &["echo", "-e", "tab\\there"], "");
    assert_eq!(r.stdout, "tab\there\n");
}

#[test]
fn hosted_exit_codes_and_panics_reach_the_host() {
    let Some(dir) = bin_dir() else { return };
    let r = hosted(&dir, &["hello", "--exit", "3"], "");
    assert_eq!(r.code, Some(3), "stderr: {}", r.stderr);
    let r = hosted(&dir, &["hello", "--panic"], "");
    assert_eq!(r.code, Some(101), "stderr: {}", r.stderr);
    assert!(r.stderr.contains("asked to panic"), "{}", r.stderr);
    assert!(r.stdout.starts_with("Hello from eurali!"), "{}", r.stdout);
}

#[test]
fn abi_edge_cases_are_the_same_in_both_modes() {
    let r = eurali(&["abi-probe"], "");
    assert_eq!(
        r.stdout,
        abi_probe::EXPECTED,
        "in-process; stderr: {}",
        r.stderr
    );
    assert_eq!(r.code, Some(0));
    let Some(dir) = bin_dir() else { return };
    let r = hosted(&dir, &["abi-probe"], "");
    assert_eq!(
        r.stdout,
        abi_probe::EXPECTED,
        "hosted; stderr: {}",
        r.stderr
    );
    assert_eq!(r.code, Some(0));
}

/// The 4 KiB args + env limit (a halt on both stubs) and an odd entry RSP (the child's `_start`
/// aligns it): abi-probe execs its own image, which it reads from stdin.
#[test]
fn exec_limits_are_the_same_in_both_modes() {
    let check = |mode: &str, r: Run| {
        assert_eq!(
            r.stdout,
            abi_probe::EXEC_EXPECTED,
            "{mode}; stderr: {}",
            r.stderr
        );
        assert_eq!(r.code, Some(125), "{mode}; stderr: {}", r.stderr);
        assert!(
            r.stderr.contains("MACHINE HALT")
                && r.stderr.contains("program \"abi-probe\"")
                && r.stderr.contains(
                    "exec with 4100 bytes of args and 0 of env, more than one page minus 8 (4088)"
                ),
            "{mode}: {}",
            r.stderr
        );
    };
    let image = kernel_stub::Kernel::program_image("abi-probe");
    check("in-process", eurali(&["abi-probe", "--exec-limits"], image));
    let Some(dir) = bin_dir() else { return };
    let image = std::fs::read(dir.join("abi-probe")).unwrap();
    check(
        "hosted",
        hosted(&dir, &["abi-probe", "--exec-limits"], image),
    );
}

/// The debug log device boot mounts at `/dev/log`: in-process, the kernel's log holds what the
/// program wrote; hosted, with EURALI_DEBUG=1, it is echoed to host stderr.
#[test]
fn programs_write_to_the_debug_log_in_both_modes() {
    let kernel = kernel_stub::Kernel::new();
    for (name, entry) in eurali::programs() {
        kernel.register_program(name, entry);
    }
    let out = eurali_host::boot::Capture::default();
    let console = eurali_host::boot::Console {
        stdin: Box::new(std::io::empty()),
        stdout: Box::new(out.clone()),
        stderr: Box::new(out.clone()),
    };
    let args = ["--log", "hello,", "log"].map(String::from);
    let code = eurali_host::boot::run_with(&kernel, "abi-probe", &args, console);
    let printed = out.text();
    assert_eq!((code, printed.as_str()), (0, "logged 11 bytes\n"));
    assert_eq!(kernel.debug_log(), "hello, log\n");

    let Some(dir) = bin_dir() else { return };
    let d = dir.to_str().unwrap();
    let r = eurali_env(
        &["--hosted", d, "abi-probe", "--log", "from", "a", "guest"],
        "",
        &[("EURALI_DEBUG", "1")],
    );
    assert_eq!(r.stdout, "logged 13 bytes\n", "stderr: {}", r.stderr);
    assert!(r.stderr.contains("from a guest\n"), "{}", r.stderr);
    assert_eq!(r.code, Some(0));
}

#[test]
fn guest_faults_halt_with_name_and_address() {
    let Some(dir) = bin_dir() else { return };
    let cases = [
        ("null", "page fault on a read of 0x10"),
        (
            "read-before-write",
            "read of on-demand page 0x280009ff000 before its first write",
        ),
        (
            "stack-overflow",
            "stack overflow into the guard page of stack slot 0",
        ),
        ("unknown-syscall", "system call number 99"),
        (
            "chunk-read-before-write",
            "read of on-demand page 0x28040001000 before its first write",
        ),
    ];
    for (kind, what) in cases {
        let r = hosted(&dir, &["abi-probe", "--fault", kind], "");
        assert_eq!(r.code, Some(125), "{kind}: stderr: {}", r.stderr);
        assert!(
            r.stderr
                .contains("the system halted: program \"abi-probe\""),
            "{kind}: {}",
            r.stderr
        );
        assert!(r.stderr.contains(what), "{kind}: {}", r.stderr);
        assert!(!r.stdout.contains("did not fault"), "{kind}: {}", r.stdout);
        assert!(!r.stdout.contains("BAD"), "{kind}: {}", r.stdout);
    }
}

#[test]
fn hosted_refuses_what_the_kernel_refuses() {
    let Some(dir) = bin_dir() else { return };
    // hello as a position-independent executable (ET_DYN): the kernel's loader says no.
    let tmp = std::env::temp_dir().join(format!("eurali-hosted-refuse-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let mut elf = std::fs::read(dir.join("hello")).unwrap();
    elf[16] = 3;
    std::fs::write(tmp.join("pie"), &elf).unwrap();
    let r = hosted(&tmp, &["pie"], "");
    assert_eq!(r.code, Some(125), "stderr: {}", r.stderr);
    assert!(r.stderr.contains("not ET_EXEC"), "{}", r.stderr);
    let _ = std::fs::remove_dir_all(&tmp);
}

/// Packed programs (`libeurali::sfx`; `cargo xtask build` packs every program of 128 KiB or
/// more): the shell is one; hello packed by hand prints what hello prints; a packed file whose
/// stream is damaged runs none of it and says why on the kernel's debug line.
#[test]
fn packed_programs_run_as_linked_and_a_damaged_one_runs_nothing() {
    use libeurali::sfx;
    let Some(dir) = bin_dir() else { return };
    let shell = std::fs::read(dir.join("sh")).unwrap();
    let h = sfx::packed_header(&shell).expect("the shell is not packed");
    assert!(h.dest_len as usize > shell.len(), "{h:?}");
    let unpacker = std::fs::read(dir.parent().unwrap().join("unpack")).unwrap();
    let hello = std::fs::read(dir.join("hello")).unwrap();
    let zlib = |m: &[u8]| miniz_oxide::deflate::compress_to_vec_zlib(m, 6);
    let packed = sfx::pack(&hello, &unpacker, zlib).unwrap();
    assert_eq!(
        sfx::pack(&packed, &unpacker, zlib),
        Err(sfx::PackError::AlreadyPacked)
    );
    let tmp = std::env::temp_dir().join(format!("eurali-hosted-packed-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    std::fs::write(tmp.join("hello"), &packed).unwrap();
    let mut damaged = packed.clone();
    let n = damaged.len();
    damaged[n - 2] ^= 0x55; // the stream's Adler-32
    std::fs::write(tmp.join("damaged"), &damaged).unwrap();

    let raw = hosted(&dir, &["hello", "one"], "");
    let r = hosted(&tmp, &["hello", "one"], "");
    assert_eq!((r.stdout.as_str(), r.code), (raw.stdout.as_str(), Some(0)));
    assert!(r.stdout.starts_with("Hello from eurali!"), "{}", r.stdout);

    let d = tmp.to_str().unwrap();
    let r = eurali_env(&["--hosted", d, "damaged"], "", &[("EURALI_DEBUG", "1")]);
    assert!(
        r.stderr.contains("unpack: the packed program is damaged"),
        "{}",
        r.stderr
    );
    assert!(!r.stdout.contains("Hello"), "{}", r.stdout);
    assert_ne!(r.code, Some(0), "stderr: {}", r.stderr);
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn the_whole_system_boots_hosted_and_children_outlive_their_parents_threads() {
    let Some(dir) = bin_dir() else { return };
    // A login session on the real ELFs.
    let r = hosted(
        &dir,
        &[],
        "user\nuser\necho hosted $USER; ls /bin | grep -c sh\n",
    );
    assert!(
        r.stdout.contains("Welcome to eurali.\nhosted user\n"),
        "{}\n{}",
        r.stdout,
        r.stderr
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    // A child sh reading commands from stdin, running pipelines: the child's guest must not die
    // when the thread that exec'd it ends (a guest's PDEATHSIG follows its parent *thread*).
    for _ in 0..3 {
        let r = hosted(
            &dir,
            &["-c", "sh; echo after $?"],
            "true | true\necho a | cat\n",
        );
        assert_eq!(r.stdout, "a\nafter 0\n", "{}", r.stderr);
        assert_eq!(r.code, Some(0), "{}", r.stderr);
    }
}

/// Deep nesting in a script (function recursion, braces, arithmetic) used to overflow the shell's
/// 28 KiB stack into its guard page, which halts the real machine (found by `cargo xtask bench
/// budgets`): now each goes on on a fresh stack or, past the shell's limits, is refused with an
/// error, and the script goes on.
#[test]
fn hosted_deep_nesting_is_an_error_not_a_machine_halt() {
    let Some(dir) = bin_dir() else { return };
    let braces = format!("{}echo inner; {}", "{ ".repeat(40), "} ".repeat(40));
    let parens = format!("{}1{}", "(".repeat(60), ")".repeat(60));
    let script = format!(
        "r() {{ if [ $1 -gt 0 ]; then r $(($1-1)); else echo bottom; fi; }}; r 100; echo status $?; \
         r 1; r 60; sh -c '{braces}'; echo status $?; (echo $(( {parens} )) > /dev/null); \
         echo status $?; echo end"
    );
    let r = hosted(&dir, &["-c", &script], "");
    assert!(!r.stderr.contains("MACHINE HALT"), "{}", r.stderr);
    assert_eq!(
        // 60 levels of recursion go on on fresh stacks (threads); 100 is the shell's limit.
        // 40 nested braces are parsed and run on fresh stacks too (the limit is 100).
        r.stdout,
        // A bad arithmetic expression ends the shell it is in (the subshell), status 2.
        "status 2\nbottom\nbottom\ninner\nstatus 0\nstatus 2\nend\n",
        "stderr: {}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("arithmetic expression: nested too deeply"),
        "{}",
        r.stderr
    );
    assert_eq!(r.code, Some(0));
}

/// Chaos on the real ELFs: a shell script starts six `sh` workers (each writing files and
/// acknowledging every completed write in a file of its own, then running a pipe chain) and
/// `kill -9`s about half of them at random moments, mid-call. Every worker is reaped (0 or
/// 137), nothing hangs, the survivors' pipe chains give the right answer, and every write that
/// was acknowledged — by killed workers too — is there with its contents. The kill schedule is
/// random per run; the seed is in the failure message.
#[test]
fn hosted_chaos_kills_workers_and_loses_no_acknowledged_write() {
    let Some(dir) = bin_dir() else { return };
    const WORKERS: usize = 6;
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    let mut rng = Rng(seed);
    let mut script = String::from(
        "mkdir -p /tmp/chaos\n\
         W='i=0; while [ $i -lt 60 ]; do echo \"data $0 $i\" > /tmp/chaos/w-$0-$i && \
         echo \"ack $0 $i\" >> /tmp/chaos/acks-$0; cat /tmp/chaos/w-$0-$i | grep -c data > /dev/null; \
         i=$((i+1)); done; seq 1 3000 | sort -r | head -n 3 | wc -l > /tmp/chaos/done-$0'\n",
    );
    for w in 1..=WORKERS {
        script += &format!("sh -c \"$W\" {w} & p{w}=$!\n");
    }
    let mut doomed: Vec<usize> = (1..=WORKERS).filter(|_| rng.below(2) == 0).collect();
    if doomed.is_empty() {
        doomed.push(1 + rng.below(WORKERS as u64) as usize);
    }
    for w in &doomed {
        script += &format!("sleep 0.{:03}; kill -9 $p{w}\n", 50 + rng.below(900));
    }
    for w in 1..=WORKERS {
        script += &format!("wait $p{w}; echo \"status {w} $?\"\n");
    }
    script += "n=0\n\
        for f in /tmp/chaos/acks-*; do\n\
          while read a id i; do\n\
            c=$(cat /tmp/chaos/w-$id-$i)\n\
            [ \"$c\" = \"data $id $i\" ] || echo \"LOST $id $i: $c\"\n\
            n=$((n+1))\n\
          done < $f\n\
        done\n\
        echo \"checked $n\"\n\
        for w in 1 2 3 4 5 6; do [ -f /tmp/chaos/done-$w ] && echo \"done $w $(cat /tmp/chaos/done-$w)\"; done; true\n";
    let r = eurali_within(
        &["--hosted", dir.to_str().unwrap(), "-c", &script],
        "",
        &[],
        Duration::from_secs(120),
    );
    let why = format!(
        "seed {seed:#x}, killed {doomed:?}\nstdout:\n{}\nstderr:\n{}",
        r.stdout, r.stderr
    );
    assert_eq!(r.code, Some(0), "{why}");
    assert!(!r.stdout.contains("LOST"), "{why}");
    let checked: usize = r
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("checked "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no count: {why}"));
    assert!(checked > 0, "{why}");
    let mut killed = 0;
    for w in 1..=WORKERS {
        let status = r
            .stdout
            .lines()
            .find_map(|l| l.strip_prefix(&format!("status {w} ")))
            .unwrap_or_else(|| panic!("worker {w} not reaped: {why}"));
        match status {
            "0" => {
                // A survivor (or one killed after it ended) finished its pipe chain right.
                assert!(
                    r.stdout.contains(&format!("done {w} 3\n")),
                    "worker {w}: {why}"
                );
            }
            "137" => killed += 1,
            other => panic!("worker {w} ended with {other}: {why}"),
        }
    }
    assert!(killed > 0, "no kill landed: {why}");
    eprintln!(
        "hosted chaos: seed {seed:#x}, kills sent to {doomed:?}, {killed} ended with 137, \
         {checked} acknowledged writes intact"
    );
}

/// The ramdisk's file data lives in lazily mapped chunks, whose pages the real kernel requires
/// written before read (ABI §4.3; hosted mode halts on such a read): files written, removed and
/// written again (freed blocks reused), in the root ramdisk (init's) and in a small one the shell
/// mounts, which refuses what does not fit and keeps what did.
#[test]
fn hosted_ramdisk_blocks_are_written_before_read_and_reused() {
    let Some(dir) = bin_dir() else { return };
    let script = "for i in 1 2 3 4 5 6; do seq 1 300 > /tmp/f$i; done; rm /tmp/f2 /tmp/f4; \
                  seq 1 900 > /tmp/g; wc -l /tmp/g; cat /tmp/f1 /tmp/f6 | tail -n 1; \
                  mount -t ramdisk -s 4096 /tmp/small; seq 1 2000 > /tmp/small/x; \
                  echo \"status $?\"; wc -c /tmp/small/x; rm /tmp/small/x; \
                  seq 1 500 > /tmp/small/y; tail -n 1 /tmp/small/y";
    let r = hosted(&dir, &["-c", script], "");
    assert!(!r.stderr.contains("MACHINE HALT"), "{}", r.stderr);
    assert_eq!(
        r.stdout, "900 /tmp/g\n300\nstatus 1\n4093 /tmp/small/x\n500\n",
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("seq: write error: No space left on device"),
        "{}",
        r.stderr
    );
}
