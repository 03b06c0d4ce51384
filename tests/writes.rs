//! Writes that fail, as a user meets them in the shell on the in-process stub (see `common`): a
//! full ramdisk (a small one the shell mounts with `mount -t ramdisk -s BYTES`) behind a
//! redirection, a builtin or a tool; and pipes whose reader ends first. Every failure gives a
//! message and a non-zero status, what was written before stays, a writer whose reader is gone
//! ends (never left running), and nothing goes to the kernel's debug line.

mod common;
use common::sh_captured;

/// Runs `script`; (stdout, stderr, status), having checked that the debug line stayed empty.
fn run(script: &str) -> (String, String, i32) {
    let r = sh_captured(script, "");
    assert_eq!(r.debug, "", "output went to the kernel's debug line");
    (r.stdout, r.stderr, r.code)
}

#[test]
fn a_program_writing_into_a_full_ramdisk_fails_and_says_so() {
    let script = "mount -t ramdisk -s 65536 /tmp/full; \
                  seq 1 300000 > /tmp/full/s; echo \"seq $?\"; \
                  n=$(wc -l < /tmp/full/s); seq 1 $n > /tmp/ref; \
                  wc -c < /tmp/full/s; wc -c < /tmp/ref; tail -n 1 /tmp/full/s; echo \"n $n\"; \
                  rm /tmp/full/s; seq 1 20000 > /tmp/big; \
                  cat /tmp/big > /tmp/full/c; echo \"cat $?\"; \
                  printf '%s\\n' $(seq 1 500) > /tmp/full/p; echo \"printf $?\"; rm /tmp/full/p; \
                  cp /tmp/big /tmp/full/cp; echo \"cp $?\"; \
                  seq 1 20000 | tee /tmp/full/t | wc -l; \
                  rm /tmp/full/c /tmp/full/t /tmp/full/cp; \
                  xxd /tmp/big > /tmp/full/x; echo \"xxd $?\"";
    let (out, err, code) = run(script);
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "seq 1", "{out}\n{err}");
    // What fitted is there, whole lines in order: seq 1 N exactly.
    assert_eq!(lines[1], lines[2], "{out}");
    let n = lines[4].strip_prefix("n ").unwrap();
    assert_eq!(lines[3], n, "{out}");
    assert!(n.parse::<u32>().unwrap() > 5000, "{out}");
    assert_eq!(
        &lines[5..],
        ["cat 1", "printf 1", "cp 1", "20000", "xxd 1"],
        "{out}\n{err}"
    );
    for line in [
        "seq: write error: No space left on device\n",
        "sh: /tmp/full/s: write error: No space left on device\n",
        "cat: write error: No space left on device\n",
        "sh: /tmp/full/c: write error: No space left on device\n",
        // printf is a builtin: its message names the file, as echo's does.
        "printf: write error: /tmp/full/p: No space left on device\n",
        "cp: error writing '/tmp/full/cp': No space left on device\n",
        "tee: /tmp/full/t: No space left on device\n",
        "xxd: write error: No space left on device\n",
    ] {
        assert!(err.contains(line), "{line:?} not in\n{err}");
    }
}

#[test]
fn builtins_and_redirections_into_a_full_ramdisk() {
    let script = "mount -t ramdisk -s 8192 /tmp/full; \
                  s=0123456789; s=$s$s$s$s$s$s$s$s$s$s; s=$s$s$s$s$s$s$s$s$s$s; \
                  for i in 1 2 3 4 5 6 7 8 9; do echo $s; done > /tmp/full/a; echo \"loop $?\"; \
                  echo $s >> /tmp/full/a; echo \"echo $?\"; \
                  { echo one; pwd; } > /tmp/full/b; echo \"group $?\"; \
                  wc -c < /tmp/full/a; cat /tmp/full/b; \
                  set > /tmp/full/c; echo \"set $?\"";
    let (out, err, code) = run(script);
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    // Eight lines of 1001 bytes fit in 8 KiB; the ninth and the appended one do not, nor does
    // a new file (no block is left).
    assert_eq!(
        out, "loop 1\necho 1\ngroup 1\n8008\nset 1\n",
        "stdout: {out}\nstderr: {err}"
    );
    for line in [
        "echo: write error: /tmp/full/a: No space left on device\n",
        "echo: write error: /tmp/full/b: No space left on device\n",
        "pwd: write error: /tmp/full/b: No space left on device\n",
        "set: write error: /tmp/full/c: No space left on device\n",
    ] {
        assert!(err.contains(line), "{line:?} not in\n{err}");
    }
}

#[test]
fn a_writer_whose_reader_ended_ends_too() {
    let script = "start=$(uptime); \
                  seq 1 1000000 | head -n 1; echo \"status $?\"; \
                  { seq 1 1000000; echo \"seq ended: $?\" > /tmp/st; } | head -n 2; cat /tmp/st; \
                  while :; do echo y; done | head -n 3; echo \"loop: $?\"; \
                  seq 1 30000 > /tmp/s; xxd /tmp/s | head -n 1; \
                  yes_loop() { while :; do echo yes; done; }; yes_loop | head -n 1; \
                  echo done";
    let t = std::time::Instant::now();
    let (out, err, code) = run(script);
    assert_eq!(
        out,
        "1\nstatus 0\n1\n2\nseq ended: 141\ny\ny\ny\nloop: 0\n\
         00000000: 310a 320a 330a 340a 350a 360a 370a 380a  1.2.3.4.5.6.7.8.\n\
         yes\ndone\n",
        "stderr: {err}"
    );
    assert_eq!(err, "");
    assert_eq!(code, 0);
    // Every writer ended as soon as its reader did (the pipeline waits for them all).
    assert!(
        t.elapsed() < std::time::Duration::from_secs(20),
        "{:?}",
        t.elapsed()
    );
}

/// A tool's output into a file goes in batches; one that a full disk refuses goes again a line at
/// a time from where the file ends, so the file keeps every whole line that fits.
#[test]
fn a_refused_batch_keeps_every_line_that_fits() {
    let (out, err, code) = run("mount -t ramdisk -s 4096 /tmp/small; \
         seq 1 2000 > /tmp/small/x; echo \"seq $?\"; wc -c < /tmp/small/x; tail -n 1 /tmp/small/x; \
         rm /tmp/small/x; seq 1 900 > /tmp/small/y; wc -c < /tmp/small/y");
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    // seq 1 1040 is 9*2 + 90*3 + 900*4 + 41*5 = 4093 bytes; 1041 more would not fit in 4 KiB.
    assert_eq!(out, "seq 1\n4093\n1040\n3492\n", "stderr: {err}");
}
