//! login and passwd on the in-process stub: an init that starts the ramdisk program as the root
//! file system, fills it with the default image (`vfs::image`), and runs login on the console;
//! scripted console input logs in as root and as user, and the sessions' "shell" (a probe)
//! reports what each can and cannot see.

use std::time::Duration;

use eurali_host::boot::run_captured;
use eurali_std as shim;
use kernel_stub::{Kernel, ProgramEntry};
use shim::io::Write as _;

/// The programs in the image's /bin (the probe stands in for the shell).
const BIN: &[&str] = &["login", "passwd", "probe", "ramdisk"];

/// init: the ramdisk program as `/` (started the way init starts servers: one end of a
/// rendezvous as its stdin, the other mounted), the default image, then login on the console.
/// `init passwd` makes passwd user's shell.
fn init() {
    let (serve, mount) = libeurali::new_rendezvous().unwrap();
    let out = shim::rt::stdout_handle().unwrap();
    let params = libeurali::params::ExecParams::new()
        .new_namespace()
        .args(&["ramdisk", "--serve", "2M"])
        .unwrap()
        .finish()
        .unwrap();
    libeurali::exec(
        &Kernel::program_image("ramdisk"),
        serve,
        out,
        &params,
        false,
    )
    .unwrap();
    libeurali::mount("/", mount).unwrap();
    let images: Vec<(&str, Vec<u8>)> = BIN.iter().map(|n| (*n, Kernel::program_image(n))).collect();
    let programs: Vec<(&str, &[u8])> = images.iter().map(|(n, b)| (*n, b.as_slice())).collect();
    let image = vfs::image::Image {
        programs: &programs,
        shell: "/bin/probe",
    };
    vfs::image::populate("/", &image).unwrap();
    if shim::env::args().nth(1).as_deref() == Some("direct") {
        return passwd_without_service();
    }
    if shim::env::args().nth(1).as_deref() == Some("passwd") {
        let mut all = vfs::users::parse(&shim::fs::read_to_string("/etc/users").unwrap());
        all[1].shell = "/bin/passwd".into();
        shim::fs::write("/etc/users", vfs::users::render(&all)).unwrap();
    }
    shim::fs::write("/home/root/secret", "root's secret").unwrap();
    shim::fs::write("/home/user/notes", "user's notes").unwrap();
    let before = shim::fs::read_to_string("/etc/users").unwrap();
    let status = shim::process::Command::new("/bin/login").status().unwrap();
    // What the sessions left behind, seen from init's (root's) view.
    let users = vfs::users::parse(&shim::fs::read_to_string("/etc/users").unwrap());
    shim::println!(
        "[init] login: {status}; /home/user/new: {}; /tmp/new: {}; users file changed: {}; \
         user's password is user: {}, s3cret: {}; root's is root: {}",
        shim::path::Path::new("/home/user/new").exists(),
        shim::fs::read_to_string("/tmp/new").unwrap_or_default(),
        before != shim::fs::read_to_string("/etc/users").unwrap(),
        users[1].check("user"),
        users[1].check("s3cret"),
        users[0].check("root"),
    );
    shim::process::exit(status.code().unwrap_or(125));
}

/// passwd in init's namespace, with a session service for root at `/dev/passwd` (no keeper:
/// the service changes the file itself).
fn passwd_without_service() {
    use shim::io::Write;
    let service = vfs::users::Service::session("root", "/etc/users", || *b"0123456789abcdef");
    libeurali::mount(
        vfs::users::SERVICE_PATH,
        vfs::server::start(service).unwrap(),
    )
    .unwrap();
    for (user, args, input) in [
        ("root", &["user"][..], "n3w\nn3w\n"),
        ("user", &["root"][..], ""),
        ("root", &[][..], "root\nabc\nabc\n"),
        ("root", &[][..], "nope\nx\nx\n"),
        ("root", &["nobody"][..], "x\nx\n"),
        ("root", &["a", "b"][..], ""),
    ] {
        let mut c = shim::process::Command::new("/bin/passwd")
            .args(args)
            .env("USER", user)
            .stdin(shim::process::Stdio::piped())
            .stdout(shim::process::Stdio::piped())
            .stderr(shim::process::Stdio::piped())
            .spawn()
            .unwrap();
        c.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        let o = c.wait_with_output().unwrap();
        shim::println!(
            "{user}$ passwd {}: {:?} {:?} {:?}",
            args.join(" "),
            o.status.code(),
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let users = vfs::users::parse(&shim::fs::read_to_string("/etc/users").unwrap());
    shim::println!(
        "root: abc {}, user: n3w {}",
        users[0].check("abc"),
        users[1].check("n3w")
    );
}

/// The session's "shell": reports who it runs as and what it can see and change.
fn probe() {
    let var = |k: &str| shim::env::var(k).unwrap_or_else(|_| "-".into());
    let who = var("USER");
    shim::println!(
        "[{who}] HOME={} PWD={} PATH={} vars={}",
        var("HOME"),
        var("PWD"),
        var("PATH"),
        shim::env::vars().count()
    );
    shim::println!("[{who}] mounts: {}", vfs::ns::list().unwrap().join(" "));
    let ls = |p: &str| match shim::fs::read_dir(p) {
        Ok(d) => d
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect::<Vec<_>>()
            .join(","),
        Err(e) => format!("{:?}", e.kind()),
    };
    shim::println!("[{who}] ls /: {}; ls /etc: {}", ls("/"), ls("/etc"));
    let mut line = format!("[{who}] read:");
    for p in [
        "/etc/users",
        "/etc/motd",
        "/home/root/secret",
        "/home/user/notes",
        "/bin/login",
        "/tmp/new",
    ] {
        let r = match shim::fs::read(p) {
            Ok(_) => "ok".to_string(),
            Err(e) => format!("{:?}", e.kind()),
        };
        line.push_str(&format!(" {p}={r}"));
    }
    shim::println!("{line}");
    let mut line = format!("[{who}] write:");
    let home = var("HOME");
    for p in [
        format!("{home}/new"),
        "/bin/new".into(),
        "/etc/new".into(),
        "/tmp/new".into(),
        "/new".into(),
    ] {
        let r = match shim::fs::write(&p, format!("written by {who}")) {
            Ok(()) => "ok".to_string(),
            Err(e) => format!("{:?}", e.kind()),
        };
        line.push_str(&format!(" {p}={r}"));
    }
    shim::println!("{line}");
    let mut console = shim::fs::OpenOptions::new()
        .write(true)
        .open("/dev/console")
        .unwrap();
    writeln!(console, "[{who}] hello through /dev/console").unwrap();
    let mut null = shim::fs::File::create("/dev/null").unwrap();
    null.write_all(b"gone").unwrap();
    shim::println!(
        "[{who}] /dev/null reads {:?}, is a device: {}",
        shim::fs::read("/dev/null").unwrap(),
        shim::fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_device()
    );
    // Clean up what only root could write, so that the user's session sees the image as made.
    if who == "root" {
        for p in ["/bin/new", "/etc/new", "/new", "/home/root/new"] {
            shim::fs::remove_file(p).unwrap();
        }
    }
}

fn programs() -> Vec<(&'static str, ProgramEntry)> {
    vec![
        shim::program_entry!("init", init),
        shim::program_entry!("login", session::main),
        shim::program_entry!("passwd", passwd::main),
        shim::program_entry!("probe", probe),
        shim::program_entry!("ramdisk", ramdisk::main),
    ]
}

/// Boots init with `args` and `input` on the console; (stdout, stderr, status).
fn boot(args: &[&str], input: &str) -> (String, String, i32) {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let r = run_captured(
        &programs(),
        "init",
        &args,
        input.as_bytes(),
        Duration::from_secs(120),
    );
    (r.stdout, r.stderr, r.code)
}

#[test]
fn root_and_user_sessions_see_their_namespaces() {
    let (out, err, code) = boot(
        &[],
        "root\nroot\nuser\nuser\nuser\nwrong\nnobody\nroot\n\nuser\nuser\n",
    );
    let root = "\
[root] HOME=/home/root PWD=/home/root PATH=/bin vars=4
[root] mounts: / /dev/console /dev/null /dev/rtc /dev/passwd
[root] ls /: bin,dev,etc,home,tmp,usr; ls /etc: ns,public,users
[root] read: /etc/users=ok /etc/motd=NotFound /home/root/secret=ok /home/user/notes=ok \
/bin/login=ok /tmp/new=NotFound
[root] write: /home/root/new=ok /bin/new=ok /etc/new=ok /tmp/new=ok /new=ok
[root] hello through /dev/console
[root] /dev/null reads [], is a device: true
";
    let user = "\
[user] HOME=/home/user PWD=/home/user PATH=/bin vars=4
[user] mounts: /home/user /bin /etc /usr /tmp /dev/console /dev/null /dev/rtc /dev/passwd
[user] ls /: bin,dev,etc,home,tmp,usr; ls /etc: kibi,motd
[user] read: /etc/users=NotFound /etc/motd=ok /home/root/secret=NotFound /home/user/notes=ok \
/bin/login=ok /tmp/new=NotFound
[user] write: /home/user/new=ok /bin/new=PermissionDenied /etc/new=PermissionDenied \
/tmp/new=ok /new=PermissionDenied
[user] hello through /dev/console
[user] /dev/null reads [], is a device: true
";
    let motd = "Welcome to eurali.\n";
    // The users file changed: the image's entries are of the older, cheaper cost, and each
    // successful login re-hashes its user's at the current one.
    let expected = format!(
        "login: password: {motd}{root}\
         login: password: {motd}{user}\
         login: password: Login incorrect\n\
         login: password: Login incorrect\n\
         login: login: password: {motd}{user}\
         login: \
         [init] login: exit status: 0; /home/user/new: true; /tmp/new: written by root; \
         users file changed: true; user's password is user: true, s3cret: false; \
         root's is root: true\n"
    );
    assert_eq!(out, expected, "stderr:\n{err}");
    assert_eq!(code, 0, "{err}");
}

#[test]
/// login gives up with `session::GAVE_UP` (75), which init tells from the end of its input.
fn three_wrong_passwords_end_login_with_its_give_up_status() {
    let (out, err, code) = boot(&[], "root\nx\nuser\nroot\nroot\n\nroot\nroot\n");
    assert_eq!(
        out,
        "login: password: Login incorrect\n\
         login: password: Login incorrect\n\
         login: password: Login incorrect\n\
         login: 3 failed attempts, giving up\n\
         [init] login: exit status: 75; /home/user/new: false; /tmp/new: ; \
         users file changed: false; user's password is user: true, s3cret: false; \
         root's is root: true\n",
        "stderr:\n{err}"
    );
    assert_eq!(code, session::GAVE_UP);
}

#[test]
fn a_user_changes_their_password_through_the_session_service() {
    let (out, err, code) = boot(
        &["passwd"],
        "user\nuser\nuser\ns3cret\ns3cret\n\
         user\nuser\n\
         user\ns3cret\nwrong\n\
         user\ns3cret\ns3cret\nb\nc\n",
    );
    let motd = "Welcome to eurali.\n";
    let asks = "Changing password for user.\nCurrent password: New password: Retype new password: ";
    // A wrong current password is refused before the new one is asked for.
    let refused = "Changing password for user.\nCurrent password: ";
    assert_eq!(
        out,
        format!(
            "login: password: {motd}{asks}passwd: password updated successfully\n\
             login: password: Login incorrect\n\
             login: password: {motd}{refused}\
             login: password: {motd}{asks}\
             login: \
             [init] login: exit status: 1; /home/user/new: false; /tmp/new: ; \
             users file changed: true; user's password is user: false, s3cret: true; \
             root's is root: true\n"
        ),
        "stderr:\n{err}"
    );
    assert_eq!(
        err,
        "passwd: authentication token manipulation error\n\
         passwd: passwords do not match; password unchanged\n"
    );
    // The last session (passwd, the new passwords unmatched) ended with 1, and login, at the
    // end of its input, with it.
    assert_eq!(code, 1);
}

#[test]
fn passwd_of_root_goes_through_the_service_too() {
    let (out, err, code) = boot(&["direct"], "");
    let asks =
        "Changing password for root.\\nCurrent password: New password: Retype new password: ";
    let refused = "Changing password for root.\\nCurrent password: ";
    assert_eq!(
        out,
        format!(
            "root$ passwd user: Some(0) \"New password: Retype new password: passwd: password \
             updated for user\\n\" \"\"\n\
             user$ passwd root: Some(1) \"\" \"passwd: only root may change another user's \
             password\\n\"\n\
             root$ passwd : Some(0) \"{asks}passwd: password updated successfully\\n\" \"\"\n\
             root$ passwd : Some(1) \"{refused}\" \"passwd: authentication token manipulation \
             error\\n\"\n\
             root$ passwd nobody: Some(1) \"New password: Retype new password: \" \"passwd: \
             nobody: no such user\\n\"\n\
             root$ passwd a b: Some(2) \"\" \"usage: passwd [USER]\\n\"\n\
             root: abc true, user: n3w true\n"
        ),
        "stderr:\n{err}"
    );
    assert_eq!(code, 0);
}
