//! The shell on the in-process stub: a ramdisk at `/` with /bin holding the coreutils and `sh`,
//! then `sh -c SCRIPT` started the way a parent starts any program, its output and status checked.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use eurali_std as shim;
use kernel_stub::Kernel;
use kernel_stub::boot::{Console, run_on};

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Buf {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

const TOOLS: &[&str] = &[
    "cat", "ls", "wc", "grep", "sort", "head", "tail", "mkdir", "rm", "true", "false", "echo",
];

/// The booting program: ramdisk, /bin, then `sh -c "$SCRIPT"` with our stdio; exits with its status.
fn boot_shell() {
    let (m, c) = libeurali::new_rendezvous().unwrap();
    vfs::server::Server::new(vfs::ramdisk::Ramdisk::new(32 << 20))
        .spawn(m)
        .unwrap();
    libeurali::mount("/", c).unwrap();
    shim::fs::create_dir_all("/bin").unwrap();
    shim::fs::create_dir_all("/tmp").unwrap();
    for t in TOOLS {
        let image = if *t == "echo" { "echo" } else { "coreutils" };
        shim::fs::write(format!("/bin/{t}"), Kernel::program_image(image)).unwrap();
    }
    shim::fs::write("/bin/sh", Kernel::program_image("sh")).unwrap();
    let script = shim::env::args().nth(1).unwrap_or_default();
    let status = shim::process::Command::new("sh")
        .arg("-c")
        .arg(script)
        .status()
        .unwrap();
    shim::process::exit(status.code().unwrap_or(125));
}

fn sh(script: &str, input: &str) -> (String, String, i32) {
    let (out, err) = (Buf::default(), Buf::default());
    let console = Console {
        stdin: Box::new(std::io::Cursor::new(input.as_bytes().to_vec())),
        stdout: Box::new(out.clone()),
        stderr: Box::new(err.clone()),
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let script = script.to_string();
    std::thread::spawn(move || {
        let mut progs = eurali::programs();
        progs.push(shim::program_entry!("boot-shell", boot_shell));
        let _ = tx.send(run_on(&progs, "boot-shell", &[script], console));
    });
    let code = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the shell did not finish in 30 s");
    (out.text(), err.text(), code)
}

#[test]
fn words_variables_and_substitution() {
    let (out, err, code) = sh(
        "x=5; echo $x \"$x\"'$x'; y=$(echo inner   words); echo \"got $y\"; echo $(echo a; echo b)",
        "",
    );
    assert_eq!(out, "5 5$x\ngot inner words\na b\n", "{err}");
    assert_eq!(code, 0);
}

#[test]
fn pipelines_and_redirections() {
    let script = "echo hello | cat; printf_missing=1; echo one > /tmp/f; echo two >> /tmp/f; cat /tmp/f | wc -l; \
                  wc -l < /tmp/f; sort < /tmp/f | head -n 1; ls /bin | grep -c .; echo err 1>&2 2>/tmp/null";
    let (out, err, code) = sh(script, "");
    assert_eq!(out, "hello\n      2\n      2\none\n13\n", "stderr: {err}");
    assert_eq!(code, 0);
}

#[test]
fn control_flow_functions_and_status() {
    let script = r#"
for i in 1 2 3; do echo -n $i; done; echo
if test -d /bin; then echo yes; else echo no; fi
[ -f /bin ] || echo "not a file"
f() { echo "f:$1:$#"; return 3; }
f a b; echo "status $?"
n=0; while [ $n -lt 3 ]; do n=$(echo $n | wc -c); echo "n=$n"; break; done
case abc in x*) echo no;; a*) echo matched;; esac
false || echo alt; true && echo both; ! false && echo negated
nosuch; echo "missing: $?"
exit 4
echo unreachable
"#;
    let (out, err, code) = sh(script, "");
    assert_eq!(
        out,
        "123\nyes\nnot a file\nf:a:2\nstatus 3\nn=      2\nmatched\nalt\nboth\nnegated\nmissing: 127\n",
        "stderr: {err}"
    );
    assert!(err.contains("sh: nosuch: not found"), "{err}");
    assert_eq!(code, 4);
}

#[test]
fn read_loop_cd_and_globbing() {
    let script = "mkdir /tmp/d; cd /tmp/d; pwd; echo a > x.txt; echo b > y.txt; echo *.txt; echo *.none; \
                  cat *.txt | while read line; do echo \"[$line]\"; done; cd; pwd";
    let (out, err, _) = sh(script, "");
    assert_eq!(
        out, "/tmp/d\nx.txt y.txt\n*.none\n[a]\n[b]\n/\n",
        "stderr: {err}"
    );
}

#[test]
fn syntax_errors_are_reported() {
    let (out, err, code) = sh("echo ok; if then fi", "");
    assert_eq!(out, "");
    assert!(err.contains("syntax error"), "{err}");
    assert_eq!(code, 2);
}
