//! The file tools on the in-process stub, against a real ramdisk mounted at `/`.

use std::time::Duration;

use eurali_host::boot::run_captured;
use eurali_std as shim;
use tools::{Io, run};

/// Runs a tool inside the program and prints `$ cmd`, its output, errors and status.
fn sh(line: &str) {
    let words: Vec<String> = line.split_whitespace().map(String::from).collect();
    let mut stdin: &[u8] = b"";
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = run(
        &words[0],
        &words[1..],
        &mut Io::new(&mut stdin, &mut out, &mut err),
    );
    shim::print!(
        "$ {line}\n{}{}",
        String::from_utf8_lossy(&out),
        String::from_utf8_lossy(&err)
    );
    if code != 0 {
        shim::println!("[{code}]");
    }
}

fn session() {
    let (m, c) = libeurali::new_rendezvous().unwrap();
    vfs::server::Server::new(vfs::ramdisk::Ramdisk::new(16 << 20))
        .spawn(m)
        .unwrap();
    libeurali::mount("/", c).unwrap();
    shim::fs::write("/notes.txt", "one\ntwo\nthree\n").unwrap();
    for line in [
        "mkdir -p /home/user/docs",
        "mkdir /home",
        "touch /home/user/a /home/user/b",
        "cp /notes.txt /home/user/docs",
        "ls /home/user",
        "ls -l /home/user/docs",
        "cat /home/user/docs/notes.txt /nope",
        "wc -l /notes.txt /home/user/docs/notes.txt",
        "grep -n t /notes.txt",
        "mv /home/user/a /home/user/c",
        "ls -a /home/user",
        "cp -r /home/user /backup",
        "ls /backup /backup/docs",
        "rmdir /backup",
        "rm /backup",
        "rm -r /backup",
        "rm -f /backup",
        "rm /nope",
        "ls /nope",
        "cat /home",
        "head -n 1 /notes.txt",
        "tail -1 /notes.txt",
    ] {
        sh(line);
    }
}

#[test]
fn file_tools_on_a_ramdisk() {
    let r = run_captured(
        &[shim::program_entry!("session", session)],
        "session",
        &[],
        b"",
        Duration::from_secs(30),
    );
    let text = r.stdout;
    let expected = "\
$ mkdir -p /home/user/docs
$ mkdir /home
mkdir: cannot create directory '/home': File exists
[1]
$ touch /home/user/a /home/user/b
$ cp /notes.txt /home/user/docs
$ ls /home/user
a
b
docs
$ ls -l /home/user/docs
-rw-         14 notes.txt
$ cat /home/user/docs/notes.txt /nope
one
two
three
cat: /nope: No such file or directory
[1]
$ wc -l /notes.txt /home/user/docs/notes.txt
 3 /notes.txt
 3 /home/user/docs/notes.txt
 6 total
$ grep -n t /notes.txt
2:two
3:three
$ mv /home/user/a /home/user/c
$ ls -a /home/user
.
..
b
c
docs
$ cp -r /home/user /backup
$ ls /backup /backup/docs
/backup:
b
c
docs

/backup/docs:
notes.txt
$ rmdir /backup
rmdir: failed to remove '/backup': Directory not empty
[1]
$ rm /backup
rm: cannot remove '/backup': Is a directory
[1]
$ rm -r /backup
$ rm -f /backup
$ rm /nope
rm: cannot remove '/nope': No such file or directory
[1]
$ ls /nope
ls: /nope: No such file or directory
[2]
$ cat /home
cat: /home: Is a directory
[1]
$ head -n 1 /notes.txt
one
$ tail -1 /notes.txt
three
";
    assert_eq!(text, expected, "stderr: {}", r.stderr);
    assert_eq!(r.code, 0);
}

/// GNU date's rendering of `secs` (the host's `date`, in the C locale).
fn gnu_date(secs: u64, format: &str) -> String {
    let out = std::process::Command::new("date")
        .args(["-u", "-d", &format!("@{secs}"), &format!("+{format}")])
        .env("LC_ALL", "C")
        .output()
        .expect("the host's date runs");
    String::from_utf8_lossy(&out.stdout).trim_end().to_string()
}

/// `date` in an ordinary user's session of the whole system (`cargo run -- -c … --user user`):
/// the wall clock from `/dev/rtc` (the host's clock on the stub), printed as `date -u` prints
/// it; without `/dev/rtc` it says the clock is unavailable and fails.
#[test]
fn date_shows_the_wall_clock() {
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    };
    let before = now();
    let script = "date +%s; date; date +'%F %T|%j|%a %b %e|%Z'; date -d @0; \
                  umount /dev/rtc; date; echo status=$?";
    let r = eurali_host::boot::run_system_captured(
        &eurali::programs(),
        &["-c".into(), script.into(), "--user".into(), "user".into()],
        b"",
        Duration::from_secs(60),
    );
    let after = now();
    let lines: Vec<&str> = r.stdout.lines().collect();
    let fail = || format!("stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    assert_eq!(lines.len(), 5, "{}", fail());
    let secs: u64 = lines[0].parse().unwrap_or_else(|_| panic!("{}", fail()));
    assert!(
        (before..=after).contains(&secs),
        "{secs} not in {before}..={after}"
    );
    // The next calls may fall in the next second.
    let one_of = |line: &str, format: &str| {
        assert!(
            (secs..=after).any(|s| gnu_date(s, format) == line),
            "{line:?} is not GNU's {format:?} at {secs}..={after}\n{}",
            fail()
        );
    };
    one_of(lines[1], "%a %b %e %H:%M:%S %Z %Y");
    one_of(lines[2], "%F %T|%j|%a %b %e|%Z");
    assert_eq!(lines[3], "Thu Jan  1 00:00:00 UTC 1970");
    assert_eq!(lines[4], "status=1");
    assert!(
        r.stderr.contains(
            "date: the wall clock is unavailable: there is no clock device here (/dev/rtc)"
        ),
        "{}",
        fail()
    );
}

fn text_session() {
    let (m, c) = libeurali::new_rendezvous().unwrap();
    vfs::server::Server::new(vfs::ramdisk::Ramdisk::new(16 << 20))
        .spawn(m)
        .unwrap();
    libeurali::mount("/", c).unwrap();
    shim::fs::write("/t", "b:2\na:1\nc:3\n").unwrap();
    shim::fs::write("/u", "a:1\nb:2\n").unwrap();
    for line in [
        "grep -c : /t /nope",
        "egrep -l a|z /t /u",
        "sed -n 2p /t /nope",
        "sed -i s/:/=/ /t",
        "cat /t",
        "sed -i s/x/y/ /nope",
        "sed -n /1/w/w1 /t",
        "cat /w1",
        "sed s/a/A/w/nodir/f /t",
        "cut -d= -f2 /t /nope",
        "tac /u /nope",
        "rev /u",
        "paste -d, /t /u",
        "comm -12 /u /t",
        "cmp /t /u",
        "cmp /t /nope",
        "nl /u",
        "od -c /u",
        "tail -n +2 /t",
        "head -c 4 /t",
        "realpath /./u/../t//",
        "realpath /./t//",
        "realpath /nope/t",
        "readlink -f /x/../u",
        "readlink /u",
        "expr length /t",
        "hostname",
        "whoami x",
    ] {
        sh(line);
    }
    shim::fs::create_dir("/etc").unwrap();
    shim::fs::write("/etc/hostname", "box.example.org\n").unwrap();
    for line in ["hostname", "hostname -s", "hostname other"] {
        sh(line);
    }
}

/// The text tools over files of a ramdisk: a missing input is named, with GNU's status.
#[test]
fn text_tools_on_a_ramdisk() {
    let r = run_captured(
        &[shim::program_entry!("text_session", text_session)],
        "text_session",
        &[],
        b"",
        Duration::from_secs(30),
    );
    let expected = "\
$ grep -c : /t /nope
/t:3
grep: /nope: No such file or directory
[2]
$ egrep -l a|z /t /u
/t
/u
$ sed -n 2p /t /nope
a:1
sed: can't read /nope: No such file or directory
[2]
$ sed -i s/:/=/ /t
$ cat /t
b=2
a=1
c=3
$ sed -i s/x/y/ /nope
sed: can't read /nope: No such file or directory
[2]
$ sed -n /1/w/w1 /t
$ cat /w1
a=1
$ sed s/a/A/w/nodir/f /t
sed: couldn't open file /nodir/f: No such file or directory
[4]
$ cut -d= -f2 /t /nope
2
1
3
cut: /nope: No such file or directory
[1]
$ tac /u /nope
b:2
a:1
tac: /nope: No such file or directory
[1]
$ rev /u
1:a
2:b
$ paste -d, /t /u
b=2,a:1
a=1,b:2
c=3,
$ comm -12 /u /t
$ cmp /t /u
/t /u differ: byte 1, line 1
[1]
$ cmp /t /nope
cmp: /nope: No such file or directory
[2]
$ nl /u
     1	a:1
     2	b:2
$ od -c /u
0000000   a   :   1  \\n   b   :   2  \\n
0000010
$ tail -n +2 /t
a=1
c=3
$ head -c 4 /t
b=2
$ realpath /./u/../t//
realpath: /./u/../t//: Not a directory
[1]
$ realpath /./t//
/t
$ realpath /nope/t
realpath: /nope/t: No such file or directory
[1]
$ readlink -f /x/../u
[1]
$ readlink /u
[1]
$ expr length /t
2
$ hostname
eurali
$ whoami x
whoami: extra operand 'x'
[1]
$ hostname
box.example.org
$ hostname -s
box
$ hostname other
hostname: the name is set by editing /etc/hostname
[1]
";
    assert_eq!(r.stdout, expected, "stderr: {}", r.stderr);
    assert_eq!(r.code, 0);
}
