//! Issue 18, "Missing": more users (`useradd`, `userdel`, root's `passwd NAME`, `id`), the
//! shell's `time` and `tar`, driven as a user would: `cargo run -- -c`, the console in tmux,
//! and GNU tar on this machine on the other end of the archives.

#[path = "common/run.rs"]
mod run;
#[path = "common/tmux.rs"]
mod tmux;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use run::{Run, eurali_run};
use tmux::Pane;

const LIMIT: Duration = Duration::from_secs(120);

fn as_root(script: &str, input: &[u8]) -> Run {
    eurali_run(&["-c", script], input, &[], LIMIT)
}

/// root adds accounts (the next number, a home, a namespace spec, no password) and removes
/// them; bad names, a second add, a missing user and root's own account are refused with a
/// message and status 1; an ordinary user may do none of it.
#[test]
fn useradd_and_userdel_for_root_only() {
    let r = as_root(
        "useradd bob; echo rc=$?; useradd amy; echo rc=$?
         useradd bob; echo rc=$?; useradd 9lives; echo rc=$?; useradd 'a:b'; echo rc=$?
         useradd; echo rc=$?
         id bob; id -u amy; ls /home; cat /etc/ns/bob
         grep -c '^bob:!:1001:/home/bob:' /etc/users
         echo keep > /home/amy/f; userdel -r amy; echo rc=$?; ls /home; ls /etc/ns
         userdel bob; echo rc=$?; ls /home; id bob; echo rc=$?
         userdel bob; echo rc=$?; userdel root; echo rc=$?; id -u user",
        b"",
    );
    let ns = "# an ordinary user: their own home read-write, /bin and the public part of /etc\n\
              # read-only, a private /tmp (login adds /dev)\n\
              bind $home $home\nbind -r /bin /bin\nbind -r /etc/public /etc\nbind -r /usr /usr\nramdisk /tmp\n";
    assert_eq!(
        r.stdout,
        format!(
            "rc=0\nrc=0\nrc=1\nrc=1\nrc=1\nrc=2\n\
             uid=1001(bob) gid=1001(bob) groups=1001(bob)\n1002\namy\nbob\nroot\nuser\n{ns}1\n\
             rc=0\nbob\nroot\nuser\nbob\nroot\nuser\n\
             rc=0\nbob\nroot\nuser\nrc=1\n\
             rc=1\nrc=1\n1000\n"
        ),
        "stderr: {}",
        r.stderr
    );
    assert_eq!(
        r.stderr,
        "useradd: user 'bob' already exists\n\
         useradd: invalid user name '9lives': use a-z, 0-9, '_' and '-', starting with a letter or '_'\n\
         useradd: invalid user name 'a:b': use a-z, 0-9, '_' and '-', starting with a letter or '_'\n\
         useradd: missing user name\n\
         usage: useradd NAME\n\
         Add the account NAME (root only): the next free user number, home /home/NAME,\n\
         namespace /etc/ns/NAME as an ordinary user's. It has no password: nobody can\n\
         log in as NAME until root sets one with 'passwd NAME'.\n  --help  show this help and exit\n\
         id: 'bob': no such user\n\
         userdel: user 'bob' does not exist\n\
         userdel: root's account cannot be removed\n"
    );
    let r = eurali_run(
        &[
            "-c",
            "useradd eve; echo rc=$?; userdel user; echo rc=$?; userdel -r user; echo rc=$?; \
             ls /home; id -un; id -u; useradd --help | head -n 1; userdel --help | head -n 1",
            "--user",
            "user",
        ],
        b"",
        &[],
        LIMIT,
    );
    assert_eq!(
        r.stdout,
        "rc=1\nrc=1\nrc=1\nuser\nuser\n1000\nusage: useradd NAME\nusage: userdel [-r] NAME\n",
        "{}",
        r.stderr
    );
    let denied = "Permission denied: only root may add or remove users\n";
    assert_eq!(
        r.stderr,
        format!("useradd: {denied}userdel: {denied}userdel: {denied}")
    );
}

/// `id` prints what Linux's `id` prints for root (same numbers, same layout), and its options
/// and errors as GNU's.
#[test]
fn id_as_gnu_prints_it() {
    let r = as_root(
        "id; id root; id -u; id -un; id -g; id -gn; id -G; id -Gn; id -ur; id nobody_here; echo rc=$?
         id -n; echo rc=$?; id -ug; echo rc=$?; id -x; echo rc=$?",
        b"",
    );
    let gnu = |args: &[&str]| {
        let o = Command::new("id").args(args).output().expect("id");
        String::from_utf8(o.stdout).unwrap()
    };
    let mut want = String::new();
    for args in [
        &["root"][..],
        &["root"],
        &["-u", "root"],
        &["-un", "root"],
        &["-g", "root"],
        &["-gn", "root"],
        &["-G", "root"],
        &["-Gn", "root"],
        &["-ur", "root"],
    ] {
        want += &gnu(args);
    }
    // Linux's root may belong to more groups than its own: compare what eurali can have.
    let want: String = want
        .lines()
        .map(|l| match l.split_once(" groups=") {
            Some((head, _)) => format!("{head} groups=0(root)\n"),
            None if l.starts_with("0 ") => "0\n".to_string(),
            None if l.starts_with("root ") => "root\n".to_string(),
            None => format!("{l}\n"),
        })
        .collect();
    assert_eq!(
        r.stdout,
        format!("{want}rc=1\nrc=1\nrc=1\nrc=1\n"),
        "{}",
        r.stderr
    );
    assert_eq!(
        r.stderr,
        "id: 'nobody_here': no such user\n\
         id: cannot print only names or real IDs in default format\n\
         id: cannot print \"only\" of more than one choice\n\
         id: invalid option -- 'x'\nTry 'id --help' for more information.\n"
    );
}

/// After `useradd` and root's `passwd NAME`, the new user logs in at the console, in their
/// home, their namespace and their number; before the password is set nobody can.
#[test]
fn a_new_user_logs_in_at_the_console() {
    let cmd = env!("CARGO_BIN_EXE_eurali");
    let Some(s) = Pane::start("useradd", cmd, 100, 60) else {
        return;
    };
    s.wait_for("login:");
    s.keys(&["root", "Enter"]);
    s.wait_for("password:");
    s.keys(&["root", "Enter"]);
    s.wait_for("root:~$");
    s.keys(&["useradd carol && echo added", "Enter"]);
    s.wait_for("\nadded\n");
    s.keys(&["exit", "Enter"]);
    s.wait_until("the login prompt again", |p| {
        p.matches("login:").count() == 2
    });
    // No password yet: no login.
    s.keys(&["carol", "Enter"]);
    s.wait_until("the password prompt", |p| {
        p.matches("\npassword:").count() == 2
    });
    s.keys(&["", "Enter"]);
    s.wait_for("Login incorrect");
    s.wait_until("the login prompt", |p| p.matches("login:").count() == 3);
    s.keys(&["root", "Enter"]);
    s.wait_until("the password prompt", |p| {
        p.matches("\npassword:").count() == 3
    });
    s.keys(&["root", "Enter"]);
    s.wait_for("root:~$");
    s.keys(&["passwd carol", "Enter"]);
    s.wait_for("New password:");
    s.keys(&["s3cret", "Enter"]);
    s.wait_for("Retype new password:");
    s.keys(&["s3cret", "Enter"]);
    s.wait_for("passwd: password updated for carol");
    s.keys(&["exit", "Enter"]);
    s.wait_until("the login prompt", |p| p.matches("login:").count() == 4);
    s.keys(&["carol", "Enter"]);
    s.wait_until("the password prompt", |p| {
        p.matches("\npassword:").count() == 4
    });
    s.keys(&["s3cret", "Enter"]);
    s.wait_for("carol:~$");
    s.keys(&["pwd; id; ls /; cat /etc/users; echo rc=$?", "Enter"]);
    let pane = s.wait_for("rc=1");
    for want in [
        "\n/home/carol\n",
        "\nuid=1001(carol) gid=1001(carol) groups=1001(carol)\n",
        "\nbin\n",
        "\ntmp\n",
        "/etc/users: No such file or directory",
    ] {
        assert!(pane.contains(want), "{want:?} in\n{pane}");
    }
    // Their home is theirs, and root's is out of reach.
    s.keys(&[
        "echo mine > f; cat f; ls /home; ls /home/root; echo done-$?",
        "Enter",
    ]);
    let pane = s.wait_for("\ndone-");
    assert!(pane.contains("\nmine\ncarol\n"), "{pane}");
    assert!(
        pane.contains("/home/root: No such file or directory\ndone-2"),
        "{pane}"
    );
    s.keys(&["exit", "Enter"]);
    s.wait_for("login:");
}

/// Makes `tree` under `dir`: directories, an empty file, a file without a final newline, a
/// larger file, a name longer than 100 bytes.
fn make_tree(dir: &Path) {
    let deep = dir.join("src/d/e");
    std::fs::create_dir_all(&deep).unwrap();
    std::fs::write(dir.join("src/a"), "hello\n").unwrap();
    std::fs::write(dir.join("src/empty"), "").unwrap();
    std::fs::write(dir.join("src/d/b"), "no newline").unwrap();
    let big: String = (1..=5000).map(|i| format!("{i}\n")).collect();
    std::fs::write(deep.join("big"), big).unwrap();
    std::fs::write(dir.join("src/d").join("n".repeat(95)), "long\n").unwrap();
}

fn gnu_tar(dir: &Path, args: &[&str]) -> std::process::Output {
    let o = Command::new("tar")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("GNU tar");
    assert!(
        o.status.success(),
        "tar {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// GNU tar's archives (its default format and ustar) list as GNU lists them and extract to the
/// same bytes; ours list and extract with GNU tar to the same tree.
#[test]
fn tar_interoperates_with_gnu_tar() {
    if Command::new("tar").arg("--version").output().is_err() {
        eprintln!("skipping: no GNU tar");
        return;
    }
    let tmp = std::env::temp_dir().join(format!("eurali-tar-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).unwrap();
    let dir = tmp.as_path();
    make_tree(dir);
    // (Its default format, with a long name, uses GNU's own headers.)
    for format in ["gnu", "ustar"] {
        gnu_tar(dir, &[&format!("--format={format}"), "-cf", "g.tar", "src"]);
        let archive = std::fs::read(dir.join("g.tar")).unwrap();
        let listing = gnu_tar(dir, &["-tvf", "g.tar"]).stdout;
        let r = as_root("tar -tvf -; echo rc=$?", &archive);
        assert_eq!(
            r.stdout,
            format!("{}rc=0\n", String::from_utf8_lossy(&listing)),
            "{format}: {}",
            r.stderr
        );
        let n95 = "n".repeat(95);
        let r = as_root(
            &format!(
                "cd /tmp && tar -xf - && echo rc=$? && cat src/a src/d/b && echo && \
                 wc -c < src/d/e/big && cat src/empty src/d/{n95} && ls src src/d"
            ),
            &archive,
        );
        assert_eq!(
            r.stdout,
            format!(
                "rc=0\nhello\nno newline\n23893\nlong\nsrc:\na\nd\nempty\n\nsrc/d:\nb\ne\n{n95}\n"
            ),
            "{format}: {}",
            r.stderr
        );
    }
    // Ours, made from the same tree (sent in by GNU tar), read by GNU tar.
    gnu_tar(dir, &["-cf", "g.tar", "src"]);
    let archive = std::fs::read(dir.join("g.tar")).unwrap();
    let r = as_root("cd /tmp && tar -xf - && tar -cf - src", &archive);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let ours = r.stdout.into_bytes();
    assert_eq!(ours.len() % 10240, 0, "padded to GNU's record");
    std::fs::write(dir.join("e.tar"), &ours).unwrap();
    let names = String::from_utf8(gnu_tar(dir, &["-tf", "e.tar"]).stdout).unwrap();
    let n95 = "n".repeat(95);
    assert_eq!(
        names,
        format!("src/\nsrc/a\nsrc/d/\nsrc/d/b\nsrc/d/e/\nsrc/d/e/big\nsrc/d/{n95}\nsrc/empty\n")
    );
    std::fs::create_dir(dir.join("out")).unwrap();
    gnu_tar(dir, &["-xf", "e.tar", "-C", "out"]);
    let o = Command::new("diff")
        .args(["-r", "src", "out/src"])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    let _ = std::fs::remove_dir_all(&tmp);
}

/// `tar` within eurali: `-f FILE`, `-C`, `-v`, the old dashless form, member operands, and
/// clear errors with status 2 (a missing archive, a bad option, no mode, nothing to archive,
/// garbage, a `..` member).
#[test]
fn tar_on_its_own() {
    let r = as_root(
        "cd /tmp; mkdir -p t/sub; echo one > t/1; echo two > t/sub/2
         tar -cvf a.tar t; echo rc=$?
         tar tf a.tar; echo rc=$?
         mkdir x; tar -xvf a.tar -C x t/sub; echo rc=$?; cat x/t/sub/2; ls x/t
         tar -tf a.tar nothere; echo rc=$?
         tar -tf missing.tar; echo rc=$?
         tar -q; echo rc=$?
         tar -f a.tar; echo rc=$?
         tar -cf b.tar; echo rc=$?
         echo garbage > g; tar -tf g; echo rc=$?
         tar -cf - -C /tmp/t sub | tar -tf -; echo rc=$?",
        b"",
    );
    assert_eq!(
        r.stdout,
        "t/\nt/1\nt/sub/\nt/sub/2\nrc=0\nt/\nt/1\nt/sub/\nt/sub/2\nrc=0\n\
         t/sub/\nt/sub/2\nrc=0\ntwo\nsub\nrc=2\nrc=2\nrc=2\nrc=2\nrc=2\nrc=2\nsub/\nsub/2\nrc=0\n",
        "{}",
        r.stderr
    );
    assert_eq!(
        r.stderr,
        "tar: nothere: Not found in archive\n\
         tar: Exiting with failure status due to previous errors\n\
         tar: missing.tar: Cannot open: No such file or directory\n\
         tar: invalid option -- 'q'\nTry 'tar --help' for more information.\n\
         tar: you must give one of the options -c, -t, -x\nTry 'tar --help' for more information.\n\
         tar: cowardly refusing to create an empty archive\n\
         tar: this does not look like a tar archive\n\
         tar: Exiting with failure status due to previous errors\n"
    );
    // A member that climbs out of the directory is not extracted (made by Python's tarfile).
    let evil = Command::new("python3")
        .args([
            "-c",
            "import tarfile,io,sys\n\
             b=io.BytesIO()\n\
             t=tarfile.open(fileobj=b,mode='w',format=tarfile.USTAR_FORMAT)\n\
             i=tarfile.TarInfo('../escape'); i.size=3; t.addfile(i,io.BytesIO(b'bad'))\n\
             i=tarfile.TarInfo('ok'); i.size=3; t.addfile(i,io.BytesIO(b'yes'))\n\
             t.close(); sys.stdout.buffer.write(b.getvalue())",
        ])
        .output();
    if let Ok(o) = evil
        && o.status.success()
    {
        let r = as_root(
            "mkdir /tmp/in; cd /tmp/in; tar -xf -; echo rc=$?; cat ok; ls /tmp",
            &o.stdout,
        );
        assert_eq!(r.stdout, "rc=2\nyesin\n", "{}", r.stderr);
        assert_eq!(
            r.stderr,
            "tar: ../escape: member name contains '..'; not extracted\n\
             tar: Exiting with failure status due to previous errors\n"
        );
    }
}

/// `time PIPELINE`: the pipeline's status, the real time on stderr in bash's format (`-p`:
/// POSIX's), no user/sys lines (no CPU time is counted); `time` is a keyword only before a
/// pipeline.
#[test]
fn time_reports_real_time_as_bash_does() {
    let r = as_root(
        "time sleep 0.3 | cat; echo rc=$?; time false; echo rc=$?; time -p sleep 0.1; \
         echo time; type time; time",
        b"",
    );
    assert_eq!(
        r.stdout, "rc=0\nrc=1\ntime\ntime is a shell keyword\n",
        "{}",
        r.stderr
    );
    let lines: Vec<&str> = r.stderr.split('\n').collect();
    // "", "real\t0m0.3xxs", "", "real\t0m0.00xs", "real 0.1x", "", "real\t0m0.000s", ""
    assert_eq!(lines.len(), 8, "{:?}", r.stderr);
    let secs = |l: &str| -> f64 {
        let t = l.strip_prefix("real\t0m").and_then(|t| t.strip_suffix('s'));
        let t = t.unwrap_or_else(|| panic!("bash's format: {l:?}"));
        assert_eq!(t.split_once('.').map(|(_, f)| f.len()), Some(3), "{l:?}");
        t.parse().unwrap()
    };
    assert_eq!(lines[0], "");
    assert!((0.3..2.0).contains(&secs(lines[1])), "{lines:?}");
    assert!(secs(lines[3]) < 1.0, "{lines:?}");
    let p = lines[4].strip_prefix("real ").expect("POSIX's format");
    assert!(
        p.len() == 4 && (0.1..2.0).contains(&p.parse::<f64>().unwrap()),
        "{p}"
    );
    assert_eq!(secs(lines[6]), 0.0);
    // bash's own report starts the same way.
    if let Ok(o) = Command::new("bash").args(["-c", "time true"]).output() {
        let b = String::from_utf8_lossy(&o.stderr);
        assert!(b.starts_with("\nreal\t0m0.0"), "{b:?}");
    }
}
