//! The harness the shell tests share: boot a stub with a ramdisk at `/`, /bin holding the
//! coreutils and `sh`, then run `sh -c SCRIPT` in /tmp the way a parent starts any program.

use std::time::Duration;

use eurali_host::boot::run_captured;
use eurali_std as shim;
use kernel_stub::Kernel;

/// The booting program: ramdisk, /bin, then `sh -c "$SCRIPT"` with our stdio; exits with its status.
fn boot_shell() {
    let (m, c) = libeurali::new_rendezvous().unwrap();
    vfs::server::Server::new(vfs::ramdisk::Ramdisk::new(32 << 20))
        .spawn(m)
        .unwrap();
    libeurali::mount("/", c).unwrap();
    // As a login session has it (scripts write to /dev/null).
    libeurali::mount("/dev/null", vfs::device::spawn(vfs::device::Null).unwrap()).unwrap();
    shim::fs::create_dir_all("/bin").unwrap();
    shim::fs::create_dir_all("/tmp").unwrap();
    for (t, _) in tools::TOOLS {
        shim::fs::write(format!("/bin/{t}"), Kernel::program_image("coreutils")).unwrap();
    }
    shim::fs::write("/bin/echo", Kernel::program_image("echo")).unwrap();
    shim::fs::write("/bin/sh", Kernel::program_image("sh")).unwrap();
    // `mount -t ramdisk` starts the ramdisk program.
    shim::fs::write("/bin/ramdisk", Kernel::program_image("ramdisk")).unwrap();
    let script = shim::env::args().nth(1).unwrap_or_default();
    shim::env::set_current_dir("/tmp").unwrap();
    let status = shim::process::Command::new("sh")
        .arg("-c")
        .arg(script)
        .status()
        .unwrap();
    shim::process::exit(status.code().unwrap_or(125));
}

#[allow(dead_code)] // not every test binary that includes this module uses it
pub fn sh(script: &str, input: &str) -> (String, String, i32) {
    let r = sh_captured(script, input);
    (r.stdout, r.stderr, r.code)
}

/// [`sh`], with what went to the kernel's debug line too.
#[allow(dead_code)] // not every test binary that includes this module uses it
pub fn sh_captured(script: &str, input: &str) -> eurali_host::boot::Captured {
    let mut progs = eurali::programs();
    progs.push(shim::program_entry!("boot-shell", boot_shell));
    run_captured(
        &progs,
        "boot-shell",
        &[script.to_string()],
        input.as_bytes(),
        Duration::from_secs(30),
    )
}
