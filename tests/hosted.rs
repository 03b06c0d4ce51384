//! Hosted mode: the freestanding ELFs of `cargo xtask build` (in `target/eurali/bin`) booted on
//! the stub as `cargo xtask run` does, checked like the in-process system tests; and ABI edge
//! cases (`abi-probe`) that must print the same text in both modes.
//!
//! Without the ELFs these tests say so and pass, unless `CI` is set (`cargo xtask ci` builds the
//! ELFs before it runs the tests): then they fail.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

struct Run {
    stdout: String,
    stderr: String,
    code: Option<i32>,
}

fn bin_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/eurali/bin");
    let ok = ["hello", "echo", "abi-probe"]
        .iter()
        .all(|p| dir.join(p).is_file());
    let guest = kernel_stub::hosted::guest_loader();
    if ok && guest.is_some() {
        return Some(dir);
    }
    let why = if ok {
        "no eurali-guest binary (cargo build -p kernel-stub --bin eurali-guest)"
    } else {
        "no freestanding ELFs in target/eurali/bin (cargo xtask build)"
    };
    if std::env::var_os("CI").is_some() {
        panic!("hosted tests under CI: {why}");
    }
    eprintln!("skipping hosted test: {why}");
    None
}

/// Runs `eurali ARGS` with `input` on stdin, failing the test if it takes over 30 s.
fn eurali(args: &[&str], input: impl AsRef<[u8]>) -> Run {
    eurali_env(args, input, &[])
}

/// [`eurali`] with extra environment variables.
fn eurali_env(args: &[&str], input: impl AsRef<[u8]>, env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_eurali"));
    cmd.envs(env.iter().copied());
    if let Some(g) = kernel_stub::hosted::guest_loader() {
        cmd.env("EURALI_GUEST", g);
    }
    let mut child = cmd
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start eurali");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.as_ref().to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("eurali {args:?} did not finish in 30 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    feeder.join().unwrap();
    let out = child.wait_with_output().unwrap();
    Run {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code(),
    }
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
    let out = kernel_stub::boot::Capture::default();
    let console = kernel_stub::boot::Console {
        stdin: Box::new(std::io::empty()),
        stdout: Box::new(out.clone()),
        stderr: Box::new(out.clone()),
    };
    let args = ["--log", "hello,", "log"].map(String::from);
    let code = kernel_stub::boot::run_with(&kernel, "abi-probe", &args, console);
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
/// budgets`): now each is refused with an error and the script goes on.
#[test]
fn hosted_deep_nesting_is_an_error_not_a_machine_halt() {
    let Some(dir) = bin_dir() else { return };
    let braces = format!("{}echo inner; {}", "{ ".repeat(40), "} ".repeat(40));
    let parens = format!("{}1{}", "(".repeat(60), ")".repeat(60));
    let script = format!(
        "r() {{ if [ $1 -gt 0 ]; then r $(($1-1)); else echo bottom; fi; }}; r 100; echo status $?; \
         r 1; r 60; sh -c '{braces}'; echo status $?; echo $(( {parens} )) > /dev/null; echo end"
    );
    let r = hosted(&dir, &["-c", &script], "");
    assert!(!r.stderr.contains("MACHINE HALT"), "{}", r.stderr);
    assert_eq!(
        // 60 levels of recursion go on on fresh stacks (threads); 100 is the shell's limit.
        r.stdout, "status 2\nbottom\nbottom\nstatus 2\nend\n",
        "stderr: {}",
        r.stderr
    );
    assert!(
        r.stderr.contains("arithmetic expression nested too deeply"),
        "{}",
        r.stderr
    );
    assert_eq!(r.code, Some(0));
}
