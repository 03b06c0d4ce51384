//! The harness the shell tests share: boot a stub with a ramdisk at `/`, /bin holding the
//! coreutils and `sh`, then run `sh -c SCRIPT` in /tmp the way a parent starts any program.

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
    "cat", "ls", "wc", "grep", "sort", "uniq", "head", "tail", "mkdir", "rmdir", "rm", "touch",
    "cp", "mv", "tee", "true", "false", "echo",
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
    shim::env::set_current_dir("/tmp").unwrap();
    let status = shim::process::Command::new("sh")
        .arg("-c")
        .arg(script)
        .status()
        .unwrap();
    shim::process::exit(status.code().unwrap_or(125));
}

pub fn sh(script: &str, input: &str) -> (String, String, i32) {
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
