//! A full file system, met as issue 16 met it: `user` fills the private `/tmp` of a login
//! session on the whole system (init, login's namespace, the ramdisk behind it) with `seq`
//! output, then writes into it every way a user writes: a program's `>` and `>>`, `cat >`,
//! `hexdump >`, a builtin's `>`, `cp`, `tee`, and an open the full disk refuses. Each must fail
//! with a message naming the reason and a non-zero status (status 0 with an empty file was the
//! bug), and nothing written before may be lost: the files that fitted keep every byte, a
//! refused append leaves what was there, and what did fit of a refused write is whole lines of
//! the output, in order.

#[path = "common/as_user.rs"]
mod as_user;

use as_user::as_user;

/// The filling loop: 19 files of `seq 1 20000` (108 894 bytes each) in the 2 MiB `/tmp`.
const FILL: &str = "i=0; while [ $i -lt 19 ]; do seq 1 20000 > /tmp/f$i; i=$((i+1)); done; ";

/// `seq 1 N`'s bytes.
fn seq(n: u32) -> String {
    (1..=n).map(|i| format!("{i}\n")).collect()
}

/// Checks that `part` is `whole` cut after a line (what fits of a refused write).
fn whole_lines_of(part: &str, whole: &str, what: &str) {
    assert!(
        whole.starts_with(part) && (part.is_empty() || part.ends_with('\n')),
        "{what}: {} bytes that are not whole lines of the output",
        part.len()
    );
}

#[test]
fn every_way_of_writing_into_a_full_tmp_fails_and_says_so() {
    // Each write reports `NAME rc=STATUS size=BYTES`; the files' contents come after a line
    // `--`, each after `== NAME`, for the checks below.
    let script = String::from(FILL)
        + "seq 1 20000 > /tmp/x; echo \"seq rc=$? size=$(wc -c < /tmp/x)\"; \
           cp /tmp/f17 /tmp/f17.before 2>/dev/null; \
           seq 1 20000 >> /tmp/f17; echo \"append rc=$? size=$(wc -c < /tmp/f17)\"; \
           seq 1 20000 | cat > /tmp/c; echo \"cat rc=$? size=$(wc -c < /tmp/c)\"; \
           hexdump /tmp/f1 > /tmp/h; echo \"hexdump rc=$? size=$(wc -c < /tmp/h)\"; \
           echo hello > /tmp/e; echo \"echo rc=$? size=$(wc -c < /tmp/e)\"; \
           cp /tmp/f2 /tmp/cp; echo \"cp rc=$? size=$(wc -c < /tmp/cp)\"; \
           seq 1 20000 | tee /tmp/t > /dev/null; echo \"tee rc=$? size=$(wc -c < /tmp/t)\"; \
           echo '--'; for f in f0 f1 f2 f16 f17 f18 x c; do echo \"== $f\"; cat /tmp/$f; done";
    let r = as_user(&script);
    let (out, err) = (&r.stdout, &r.stderr);
    assert_eq!(r.code, 0, "stdout: {out}\nstderr: {err}");
    let (report, files) = out.split_once("--\n").expect("the files' part");
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines.len(), 7, "{report}\nstderr: {err}");
    for (line, name) in lines
        .iter()
        .zip(["seq", "append", "cat", "hexdump", "echo", "cp", "tee"])
    {
        let rest = line
            .strip_prefix(name)
            .and_then(|l| l.strip_prefix(" rc="))
            .unwrap_or_else(|| panic!("{line:?}: not {name}'s report\n{report}"));
        let rc: i32 = rest.split(' ').next().unwrap().parse().unwrap();
        assert_ne!(
            rc, 0,
            "{name} wrote into a full /tmp with status 0: {line}\n{err}"
        );
    }
    // The reasons, as GNU's tools and dash word them.
    for line in [
        "seq: write error: No space left on device\n",
        "cat: write error: No space left on device\n",
        "hexdump: write error: No space left on device\n",
        "echo: write error: /tmp/e: No space left on device\n",
        "cp: error writing '/tmp/cp': No space left on device\n",
        "tee: /tmp/t: No space left on device\n",
        // The redirection's file, named by the shell.
        "sh: /tmp/x: write error: No space left on device\n",
        "sh: /tmp/f17: write error: No space left on device\n",
    ] {
        assert!(err.contains(line), "{line:?} not in\n{err}");
    }
    // Nothing written before is lost; what fitted is whole lines, in order.
    let full = seq(20000);
    let mut parts = files.split("== ").skip(1);
    for name in ["f0", "f1", "f2", "f16"] {
        let body = parts
            .next()
            .unwrap()
            .strip_prefix(&format!("{name}\n"))
            .unwrap();
        assert!(
            body == full,
            "{name} lost bytes: {} of {}",
            body.len(),
            full.len()
        );
    }
    let f17 = parts.next().unwrap().strip_prefix("f17\n").unwrap();
    let appended = f17
        .strip_prefix(full.as_str())
        .unwrap_or_else(|| panic!("f17 lost what it held before the append"));
    whole_lines_of(appended, &full, "the refused append");
    let f18 = parts.next().unwrap().strip_prefix("f18\n").unwrap();
    whole_lines_of(f18, &full, "f18, the file that filled /tmp");
    assert!(f18.len() > 100_000, "f18 holds {} bytes", f18.len());
    for name in ["x", "c"] {
        let body = parts
            .next()
            .unwrap()
            .strip_prefix(&format!("{name}\n"))
            .unwrap();
        whole_lines_of(body, &full, name);
    }
}

#[test]
fn an_open_the_full_disk_refuses_is_reported_as_dash_does() {
    // The ramdisk's nodes run out before its bytes: every new file is refused at its open, and
    // the shell says so (status 2 for a redirection, as dash; 1 for a tool), never status 0.
    let script = "echo source > /home/user/src; mount -t ramdisk -s 65536 /tmp/small; \
                  i=0; while touch /tmp/small/n$i 2>/dev/null; do i=$((i+1)); done; \
                  echo \"made $i\"; \
                  seq 1 3 > /tmp/small/a; echo \"seq rc=$?\"; \
                  echo hi >> /tmp/small/b; echo \"echo rc=$?\"; \
                  { echo x; } > /tmp/small/c; echo \"group rc=$?\"; \
                  cp /home/user/src /tmp/small/d; echo \"cp rc=$?\"; \
                  mkdir /tmp/small/e; echo \"mkdir rc=$?\"; \
                  rm /tmp/small/n0; seq 1 3 > /tmp/small/a; echo \"after rm rc=$?\"; cat /tmp/small/a";
    let r = as_user(script);
    let (out, err) = (&r.stdout, &r.stderr);
    assert_eq!(r.code, 0, "stdout: {out}\nstderr: {err}");
    let made: u32 = out
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("made "))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{out}"));
    assert!(made > 10, "{out}");
    let rest: Vec<&str> = out.lines().skip(1).collect();
    assert_eq!(
        rest,
        [
            "seq rc=2",
            "echo rc=2",
            "group rc=2",
            "cp rc=1",
            "mkdir rc=1",
            "after rm rc=0",
            "1",
            "2",
            "3"
        ],
        "stderr: {err}"
    );
    for line in [
        "sh: /tmp/small/a: No space left on device\n",
        "sh: /tmp/small/b: No space left on device\n",
        "sh: /tmp/small/c: No space left on device\n",
        "cp: cannot create regular file '/tmp/small/d': No space left on device\n",
        "mkdir: cannot create directory '/tmp/small/e': No space left on device\n",
    ] {
        assert!(err.contains(line), "{line:?} not in\n{err}");
    }
}
