//! init on the real kernel (Merriwig): it is started with I/O privilege, an empty namespace, a
//! null handle 0 and the kernel's VIDEO_MEMORY message waiting on handle 1 (ABI §4.1), and
//! there is no device, file system or program but what init brings. In order, logging each step
//! (on the kernel's debug line until the console is up, then on terminal 1, which is the log's
//! alone, and on COM1 until its login prompt):
//!
//! 1. takes the VGA chunk from handle 1 and serves handle 1 itself as its log stream, so that
//!    its own output and that of the children it gives it to goes to the log;
//! 2. unpacks its programs into `/bin` (a read-only server of init's, [`crate::binfs`]);
//! 3. starts `drivers console` (VGA terminals, keyboard, COM1) and hands it the VGA chunk;
//! 4. starts the clock (`drivers rtc`, the CMOS clock at `/dev/rtc`, once it answers), the
//!    process table (`/proc`) and the root file system (`ramdisk`, its own process)
//!    at `/` and fills it ([`vfs::image::populate`], with root's namespace also mounting `/bin`,
//!    and the editor's syntax files);
//! 5. starts the disk driver (`drivers ata` at `/dev/disk0`, if it finds a disk besides the
//!    boot disk; it logs the drives it finds);
//! 6. starts the NIC (`drivers nic` at `/dev/nic`, once it answers; it lists the PCI bus in the
//!    log first), and then `tcp` on it (`/net`);
//! 7. with a disk, starts `fatfs` on it at `/disk` and keeps `/etc` and `/home` there
//!    ([`crate::state`]); then the keeper of `/etc/users`;
//! 8. runs `login` on each terminal but the log's (F2, F3 and COM1), again whenever it ends (a
//!    terminal whose login keeps ending at once is given up, with a message, rather than spun
//!    on).
//!
//! A driver that fails or dies is logged and the rest goes on: without a console, the log stays
//! on the kernel's debug line; without a NIC, `/dev/nic` is removed.

use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use libeurali::proto::console;
use libeurali::proto::stream;
use libeurali::{Handle, MemoryChunk};

use crate::binfs::BinFs;

/// Programs for /bin by name, or why there are none.
pub type ProgramList = Result<Vec<(String, Arc<crate::binfs::Program>)>, String>;

/// What the real kernel gave init.
pub struct Machine {
    video: MemoryChunk,
    /// A copy of handle 1 (the kernel holds the other reference forever).
    log_handle: Handle,
}

/// The real kernel, if this is it: an empty namespace (the stub's boot always mounts
/// `/dev/log`) and the VIDEO_MEMORY message waiting on handle 1.
pub fn detect() -> Option<Machine> {
    if !libeurali::list_mounts().ok()?.is_empty() {
        return None;
    }
    let h = std::rt::stdout_handle()?;
    match libeurali::receive(&h).map(console::parse_request) {
        Ok(console::Request::VideoMemory(c)) => Some(Machine {
            video: c,
            log_handle: h,
        }),
        Ok(other) => {
            libeurali::debug_write(&format!(
                "init: empty namespace but {other:?} on handle 1: not booting the machine"
            ));
            None
        }
        Err(_) => None,
    }
}

/// Where init's log goes: a terminal's output stream once there is one, else the kernel's
/// debug line.
#[derive(Default)]
struct Log {
    sink: Mutex<Option<Handle>>,
}

impl Log {
    fn write(&self, bytes: &[u8]) {
        let mut sink = self.sink.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(h) = sink.as_ref() {
            let mut rest = bytes;
            while !rest.is_empty() {
                match stream::write(h, rest) {
                    Ok(n) if n > 0 => rest = &rest[n..],
                    _ => break,
                }
            }
            if rest.is_empty() {
                return;
            }
            // The console is gone: back to the debug line.
            *sink = None;
        }
        for line in String::from_utf8_lossy(bytes).lines() {
            if !line.trim().is_empty() {
                libeurali::debug_write(line);
            }
        }
    }

    fn set(&self, h: Handle) {
        *self.sink.lock().unwrap_or_else(|e| e.into_inner()) = Some(h);
    }
}

/// Serves handle 1 as a write-only stream into the log.
fn serve_log(h: Handle, log: Arc<Log>) {
    loop {
        let Ok(m) = libeurali::receive(&h) else {
            return;
        };
        let reply = match stream::parse_request(m) {
            stream::Request::Write(chunk) => {
                log.write(chunk.as_slice());
                stream::written_reply(chunk.as_slice().len(), chunk)
            }
            stream::Request::Read(_) => stream::error_reply(libeurali::Error::NotImplemented),
            stream::Request::Unknown(_) => stream::unknown_reply(),
        };
        let _ = libeurali::send(&h, reply);
    }
}

fn say(msg: &str) {
    println!("init: {msg}");
}

/// Waits for `child` on a thread of its own and logs its end; `then` runs after.
fn watch(what: String, mut child: Child, then: impl FnOnce() + Send + 'static) {
    let name = what.clone();
    let r = std::thread::Builder::new()
        .name("watch".into())
        .spawn(move || {
            match child.wait() {
                Ok(s) => say(&format!("{what} ended ({s})")),
                Err(e) => say(&format!("{what}: {e}")),
            }
            then();
        });
    if let Err(e) = r {
        say(&format!("cannot watch {name}: {e}"));
    }
}

/// The console driver's terminals: (input, output) streams, the screen's first, then the
/// serial line's.
struct Terminals {
    streams: Vec<(Handle, Handle)>,
    /// How many are on the screen (Alt+F1..).
    vga: usize,
}

impl Terminals {
    /// What a person calls terminal `i`.
    fn name(&self, i: usize) -> String {
        if i < self.vga {
            format!("terminal {} (Alt+F{})", i + 1, i + 1)
        } else {
            "COM1".to_string()
        }
    }
}

/// Starts the console driver; returns its control handle (kept: the driver serves it as long
/// as someone holds it) and the terminals.
fn start_console(video: MemoryChunk) -> Result<(Handle, Terminals), String> {
    let (serve, control) = libeurali::new_rendezvous().map_err(|e| e.to_string())?;
    let child = Command::new("/bin/drivers")
        .arg("console")
        .perm_io(true)
        .killable(false) // never killed: no control thread (docs/design.md, "Frames")
        .stdin(serve)
        .spawn()
        .map_err(|e| format!("cannot start drivers console: {e}"))?;
    watch("the console driver".into(), child, || {});
    let (vga, serial) = console::give_video_memory(&control, video)
        .map_err(|e| format!("console driver refused the video memory: {e}"))?;
    let count = vga + serial;
    let mut terminals = Vec::new();
    for i in 0..count {
        let streams =
            console::open(&control, i).map_err(|e| format!("console driver: terminal {i}: {e}"))?;
        terminals.push(streams);
    }
    Ok((
        control,
        Terminals {
            streams: terminals,
            vga,
        },
    ))
}

/// Where the root ramdisk is also mounted while init fills it (at `/`, its `/bin` is hidden by
/// init's program server).
const FILL_AT: &str = "/.root";

/// The size of the root ramdisk, for `/bin/ramdisk`: what the files of `/`, `/etc`, the homes
/// and root's `/tmp` may take of the machine's memory.
///
/// The kernel says nothing of the machine's memory (no call answers it, and a probe would have
/// to take frames and give them back, which the kernel does wrong, ABI §9.23), so this is fixed
/// for the machine eurali is booted on: QEMU with `-m 128M` (README), whose frame allocator
/// manages about 120 MiB (ABI §7). The ramdisk keeps file data in chunks whose pages cost a
/// frame only once written, so the files take memory as they grow, up to this: half the
/// machine, which leaves about 56 MiB for everything else (init with its unpacked programs,
/// a few MiB; each process's touched heap, stacks and page tables; the chunks in flight in
/// messages; tcp's buffers). Full, the ramdisk answers "no space left"; a machine with less
/// memory would run out of frames before that, which halts the real kernel.
pub const ROOT_SIZE: &str = "64M";

/// The root file system: `ramdisk` at `/`, filled.
fn start_root() -> Result<(), String> {
    let (serve, mount) = libeurali::new_rendezvous().map_err(|e| e.to_string())?;
    let child = Command::new("/bin/ramdisk")
        .args(["--serve", ROOT_SIZE])
        .killable(false)
        .stdin(serve)
        .spawn()
        .map_err(|e| format!("cannot start the ramdisk: {e}"))?;
    watch("the root ramdisk".into(), child, || {});
    let fill = mount.try_clone().map_err(|e| e.to_string())?;
    libeurali::mount("/", mount).map_err(|(e, _)| format!("mount /: {e}"))?;
    libeurali::mount(FILL_AT, fill).map_err(|(e, _)| format!("mount {FILL_AT}: {e}"))?;
    let filled = fill_root();
    let _ = libeurali::umount(FILL_AT);
    filled
}

fn fill_root() -> Result<(), String> {
    let image = vfs::image::Image {
        programs: &[],
        shell: "/bin/sh",
    };
    vfs::image::populate(FILL_AT, &image).map_err(|e| format!("filling /: {e}"))?;
    // root's namespace mounts the root ramdisk, under which /bin is init's program server.
    let spec = format!("{}mount /bin /bin\n", vfs::image::ROOT_SPEC);
    vfs::image::write_file(&format!("{FILL_AT}/etc/ns/root"), spec.as_bytes())
        .map_err(|e| format!("/etc/ns/root: {e}"))
}

/// Starts the NIC driver at `/dev/nic` (it lists the PCI bus in the log first); whether it
/// serves. No process of the boot ends: an ending process gives all its frames back to the
/// kernel at once, which Merriwig's frame allocator mishandles (ABI §9.23; docs/design.md,
/// "Frames"), so the bus is not listed by a `drivers pci` of its own.
fn start_nic() -> bool {
    let started = (|| -> Result<(), String> {
        let (serve, mount) = libeurali::new_rendezvous().map_err(|e| e.to_string())?;
        let child = Command::new("/bin/drivers")
            .arg("nic")
            .perm_io(true)
            .killable(false)
            .stdin(serve)
            .spawn()
            .map_err(|e| format!("cannot start drivers nic: {e}"))?;
        watch("the NIC driver".into(), child, || {
            let _ = libeurali::umount("/dev/nic");
        });
        let (h, mac) = probe_nic(mount)?;
        libeurali::mount("/dev/nic", h).map_err(|(e, _)| format!("mount /dev/nic: {e}"))?;
        say(&format!(
            "/dev/nic: MAC {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]
        ));
        Ok(())
    })();
    match started {
        Ok(()) => true,
        Err(e) => {
            say(&format!("no network interface: {e}"));
            false
        }
    }
}

/// Asks the NIC driver behind `h` for its MAC address: the answer once it serves, or CLOSED if
/// it ended without serving (a machine without an rtl8139). Returns a handle to mount.
fn probe_nic(h: Handle) -> Result<(Handle, [u8; 6]), String> {
    probe(h, libeurali::proto::nic::mac_address)
}

/// Asks the driver behind `h` a first question with `ask`: the answer once it serves, or
/// CLOSED if it ended without serving. The kernel wakes nobody for a dead peer (ABI §3.5), so
/// the runtime's liveness watcher wakes the question then. Returns a handle to mount.
fn probe<T>(
    h: Handle,
    ask: impl FnOnce(&Handle) -> Result<T, libeurali::Error>,
) -> Result<(Handle, T), String> {
    let h = Arc::new(h);
    let watch = std::rt::watch(h.clone()).map_err(|e| format!("watch: {e}"))?;
    let answer = ask(&h);
    watch.stop();
    let v = answer.map_err(|e| format!("the driver does not serve ({e})"))?;
    let copy = h.try_clone().map_err(|e| e.to_string())?;
    Ok((copy, v))
}

/// Starts the ATA disk driver at `/dev/disk0` (it logs the drives it finds); whether it serves
/// a disk. Without one the driver answers NOTFOUND and is left waiting (it does not end, see
/// [`start_nic`]); nothing is mounted.
fn start_disk() -> bool {
    use libeurali::proto::block;
    let started = (|| -> Result<block::Info, String> {
        let (serve, mount) = libeurali::new_rendezvous().map_err(|e| e.to_string())?;
        Command::new("/bin/drivers")
            .arg("ata")
            .perm_io(true)
            .killable(false)
            .stdin(serve)
            .spawn()
            .map_err(|e| format!("cannot start drivers ata: {e}"))?;
        // CLOSED: the driver ended (no I/O privilege); any other answer is the driver's.
        let (h, info) = probe(mount, |h| match block::info(h) {
            Err(block::BlockError::Kernel(libeurali::Error::Closed)) => {
                Err(libeurali::Error::Closed)
            }
            other => Ok(other),
        })?;
        let info = info.map_err(|e| match e {
            block::BlockError::Kernel(libeurali::Error::NotFound) => {
                "none besides the boot disk".to_string()
            }
            e => format!("drivers ata: {e}"),
        })?;
        libeurali::mount(block::PATH, h).map_err(|(e, _)| format!("mount {}: {e}", block::PATH))?;
        Ok(info)
    })();
    match started {
        Ok(info) => {
            say(&format!(
                "{}: {} sectors ({} MiB)",
                block::PATH,
                info.sectors,
                info.bytes() >> 20
            ));
            true
        }
        Err(e) => {
            say(&format!("no disk: {e}"));
            false
        }
    }
}

/// Starts the clock driver (`drivers rtc`, the CMOS clock) at `/dev/rtc` and logs the time.
/// Not watched: it serves as long as the machine runs, and a watching thread would cost 8 KiB
/// of the kernel's heap (ABI §4.8) for nothing but a log line.
fn start_rtc() {
    use libeurali::proto::rtc;
    let started = (|| -> Result<Result<(u64, u32), libeurali::Error>, String> {
        let (serve, mount) = libeurali::new_rendezvous().map_err(|e| e.to_string())?;
        Command::new("/bin/drivers")
            .arg("rtc")
            .perm_io(true)
            .killable(false)
            .stdin(serve)
            .spawn()
            .map_err(|e| format!("cannot start drivers rtc: {e}"))?;
        // A clock without a valid time still serves (date then says so); CLOSED: it ended.
        let (h, time) = probe(mount, |h| match rtc::read(h) {
            Err(libeurali::Error::Closed) => Err(libeurali::Error::Closed),
            other => Ok(other),
        })?;
        libeurali::mount(rtc::PATH, h).map_err(|(e, _)| format!("mount {}: {e}", rtc::PATH))?;
        Ok(time)
    })();
    match started {
        Ok(Ok((secs, _))) => {
            let t = rtc::DateTime::from_unix(secs);
            say(&format!(
                "{}: {}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
                rtc::PATH,
                t.year,
                t.month,
                t.day,
                t.hour,
                t.minute,
                t.second
            ));
        }
        Ok(Err(e)) => say(&format!(
            "{}: the clock holds no valid time ({e})",
            rtc::PATH
        )),
        Err(e) => say(&format!("no wall clock: {e}")),
    }
}

/// A login that ends sooner than this counts as failing to start.
const QUICK: Duration = Duration::from_secs(3);
/// Failing starts in a row before a terminal is given up.
const GIVE_UP: u32 = 3;

fn login_loop(name: String, input: Handle, output: Handle) {
    let mut quick = 0;
    loop {
        let started = Instant::now();
        let streams = (input.try_clone(), output.try_clone(), output.try_clone());
        let (Ok(i), Ok(o), Ok(e)) = streams else {
            say(&format!("{name}: out of handles"));
            return;
        };
        match Command::new("/bin/login")
            .stdin(i)
            .stdout(o)
            .stderr(e)
            .status()
        {
            Ok(s) if s.success() => {}
            Ok(s) => say(&format!("login on {name} ended ({s}); starting it again")),
            Err(e) => say(&format!("cannot start login on {name}: {e}")),
        }
        if started.elapsed() < QUICK {
            quick += 1;
            if quick >= GIVE_UP {
                say(&format!(
                    "login on {name} ended at once {GIVE_UP} times: giving that terminal up"
                ));
                return;
            }
        } else {
            quick = 0;
        }
    }
}

/// Boots the machine with the programs this init carries (never returns while a login runs).
pub fn boot(m: Machine) {
    boot_with(m, crate::image::programs)
}

/// [`boot`] with the programs from `programs` (a test boots the stub this way, with the stub's
/// programs in an image).
pub fn boot_with(m: Machine, programs: impl FnOnce() -> ProgramList) {
    std::thread::set_idle_limit(crate::IDLE_THREADS);
    let log = Arc::new(Log::default());
    let (h, l) = (m.log_handle, log.clone());
    if std::thread::Builder::new()
        .name("log".into())
        .spawn(move || serve_log(h, l))
        .is_err()
    {
        libeurali::debug_write("init: no log thread; nothing can be printed");
    }
    say("eurali on Merriwig: starting");
    let programs = match programs() {
        Ok(p) => p,
        Err(e) => {
            say(&e);
            return;
        }
    };
    let count = programs.len();
    let bin = vfs::server::start(BinFs::new(programs)).map_err(|e| e.to_string());
    match bin.and_then(|h| libeurali::mount("/bin", h).map_err(|(e, _)| e.to_string())) {
        Ok(()) => {}
        Err(e) => {
            say(&format!("cannot serve /bin: {e}"));
            return;
        }
    }
    let mut _control = None;
    let terminals = match start_console(m.video) {
        Ok((control, t)) => {
            _control = Some(control);
            if let Some(out) = t.streams.first().and_then(|(_, o)| o.try_clone().ok()) {
                log.set(out);
            }
            say(&format!("/bin: {count} programs"));
            let mut logins: Vec<String> = match t.vga {
                0 | 1 => Vec::new(),
                2 => vec!["Alt+F2".into()],
                n => vec![format!("Alt+F2..F{n}")],
            };
            if t.streams.len() > t.vga {
                logins.push("COM1".into());
            }
            say(&format!(
                "console: the log on Alt+F1; logins on {}",
                logins.join(" and ")
            ));
            t
        }
        Err(e) => {
            say(&e);
            Terminals {
                streams: Vec::new(),
                vga: 0,
            }
        }
    };
    start_rtc();
    start_disk();
    // The kernel's heap, not /proc, bounds processes there (vfs::procfs::METAL_USER_PROCS).
    if let Err(e) = crate::proc_fs(
        vfs::procfs::METAL_USER_PROCS,
        Some(vfs::procfs::METAL_USERS_PROCS),
        Some(vfs::procfs::METAL_MACHINE),
    ) {
        say(&format!("no process table: {e}"));
    }
    if let Err(e) = start_root() {
        say(&format!("no root file system: {e}"));
        return;
    }
    say("root file system ready");
    // tcp on the NIC, serving /net (DHCP), if the NIC driver serves.
    if start_nic() {
        crate::network();
    }
    // fatfs on /dev/disk0, serving /disk (and /etc and /home from it), if the disk driver
    // serves; then the keeper of /etc/users, wherever it is.
    let kept = crate::disk();
    crate::users_keeper(kept);
    // Every terminal but the log's.
    let names: Vec<String> = (0..terminals.streams.len())
        .map(|i| terminals.name(i))
        .collect();
    let mut logins = Vec::new();
    for (name, (input, output)) in names.into_iter().zip(terminals.streams).skip(1) {
        let n = name.clone();
        let r = std::thread::Builder::new()
            .name("login".into())
            .spawn(move || login_loop(n, input, output));
        match r {
            Ok(j) => logins.push(j),
            Err(e) => say(&format!("cannot start login on {name}: {e}")),
        }
    }
    if logins.is_empty() {
        say("no terminal to log in on");
        return;
    }
    say(&format!("login started on {} terminals", logins.len()));
    for j in logins {
        let _ = j.join();
    }
    say("every terminal was given up");
}
