//! What survives a reboot (issue 20): with a disk (`EURALI_DISK`), init keeps `/etc` (the
//! accounts) and `/home` on it, seeded from the image at the first boot. Scripted sessions as
//! `printf … | cargo run` gives them: root and an ordinary user write files, the user changes
//! their password, root adds an account; the system ends; a second boot from the same image
//! has the files, the new passwords and the shell history, and Linux's mtools reads the files
//! byte for byte. An ordinary user sees only their own home of the disk. Without a disk, a
//! password change says that it lasts until reboot.

#[path = "common/run.rs"]
mod run;
use run::eurali_run;
#[path = "common/fat.rs"]
mod fat;
use fat::{fsck, mcopy_out, seq};
#[path = "common/hosted.rs"]
mod hosted;
#[path = "common/tmux.rs"]
mod tmux;
use tmux::Pane;

use std::path::{Path, PathBuf};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(180);

fn dir(name: &str) -> PathBuf {
    fat::dir("persist", name)
}

/// A scripted session (`input` typed at `login:`) booted with `img` as the disk.
fn boot(img: &Path, input: &str) -> run::Run {
    eurali_run::<&str>(&[], input, &[("EURALI_DISK", img.to_str().unwrap())], LIMIT)
}

#[test]
fn files_passwords_accounts_and_history_survive_a_reboot() {
    let d = dir("reboot");
    let img = d.join("disk.img");

    // First boot: a fresh image. root writes in its home and adds carol; user writes, changes
    // their password, and finds no other home of the disk.
    let first = boot(
        &img,
        "root\nroot\n\
         echo from root > ~/r.txt\n\
         useradd carol\n\
         passwd carol\nCarol-1\nCarol-1\n\
         exit\n\
         user\nuser\n\
         echo user data > ~/u.txt\n\
         seq 1 5000 > ~/numbers\n\
         cat /home/root/r.txt; echo other=$?\n\
         ls /disk; echo disk=$?\n\
         passwd\nuser\nNew-pass-2\nNew-pass-2\n\
         exit\n",
    );
    assert_eq!(first.code, Some(0), "{}\n{}", first.stdout, first.stderr);
    assert!(
        first
            .stderr
            .contains("disk: accounts and homes copied to /disk (first boot)"),
        "{}",
        first.stderr
    );
    assert!(
        first
            .stderr
            .contains("disk: /etc and /home are kept on /disk"),
        "{}",
        first.stderr
    );
    let out = &first.stdout;
    assert!(out.contains("passwd: password updated for carol"), "{out}");
    assert!(
        out.contains("passwd: password updated successfully"),
        "{out}"
    );
    assert!(!out.contains("until reboot"), "{out}");
    // An ordinary user's namespace has their own home of the disk, nothing else of it.
    assert!(out.contains("other=1"), "{out}");
    assert!(out.contains("disk=2") || out.contains("disk=1"), "{out}");
    assert!(!out.contains("from root"), "{out}");

    // Linux reads the files from the image, byte for byte.
    fsck(&img);
    assert_eq!(mcopy_out(&img, "/home/user/u.txt"), b"user data\n");
    assert_eq!(mcopy_out(&img, "/home/root/r.txt"), b"from root\n");
    assert_eq!(
        String::from_utf8(mcopy_out(&img, "/home/user/numbers")).unwrap(),
        seq(5000)
    );
    let users = String::from_utf8(mcopy_out(&img, "/etc/users")).unwrap();
    assert!(users.lines().any(|l| l.starts_with("carol:")), "{users}");
    assert!(!mcopy_out(&img, "/etc/ns/carol").is_empty());

    // Second boot, same image, at a terminal: the old password is refused, the new one logs
    // in; the files are there; what the user types goes to the history on the disk.
    {
        let cmd = format!(
            "EURALI_DISK={} {}",
            img.display(),
            env!("CARGO_BIN_EXE_eurali")
        );
        let Some(s) = Pane::start("persist", &cmd, 100, 40) else {
            return;
        };
        s.wait_for("login:");
        s.keys(&["user", "Enter"]);
        s.wait_for("password:");
        s.keys(&["user", "Enter"]);
        s.wait_for("Login incorrect");
        s.wait_last_row_starting("login:");
        s.keys(&["user", "Enter"]);
        s.wait_last_row_starting("password:");
        s.keys(&["New-pass-2", "Enter"]);
        s.wait_for("user:~$");
        s.keys(&["cat ~/u.txt; wc -l < ~/numbers", "Enter"]);
        s.wait_for("user data\n5000\n");
        s.keys(&["echo user-marker-1", "Enter"]);
        s.keys(&["sync; echo synced=$?", "Enter"]);
        s.wait_for("synced=0");
    }

    // Third boot: the history typed at the terminal is there; carol logs in with hers; root's
    // file is there.
    let third = boot(
        &img,
        "user\nNew-pass-2\n\
         echo history=$(grep -c user-marker-1 ~/.sh_history)\n\
         exit\n\
         carol\nCarol-1\n\
         whoami; pwd\n\
         exit\n\
         root\nroot\n\
         cat ~/r.txt\n\
         exit\n",
    );
    assert_eq!(third.code, Some(0), "{}\n{}", third.stdout, third.stderr);
    assert!(
        !third.stderr.contains("first boot"),
        "seeded again: {}",
        third.stderr
    );
    let out = &third.stdout;
    assert!(out.contains("history=1\n"), "{out}");
    assert!(out.contains("carol\n/home/carol\n"), "{out}");
    assert!(out.contains("from root\n"), "{out}");
    fsck(&img);
}

#[test]
fn without_a_disk_a_password_change_says_it_lasts_until_reboot() {
    let r = eurali_run::<&str>(
        &[],
        "user\nuser\npasswd\nuser\nOther-3\nOther-3\nexit\n",
        &[],
        LIMIT,
    );
    assert_eq!(r.code, Some(0), "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains(
            "passwd: password updated successfully\n\
             passwd: note: this system has no disk to keep accounts on: the change lasts until reboot\n"
        ),
        "{}",
        r.stdout
    );
}

/// The same with the freestanding ELFs (hosted mode, as the real kernel runs them): a user's
/// file and new password, made in one boot, are there in the next.
#[test]
fn hosted_a_password_and_a_home_survive_a_reboot() {
    let Some((bin, _)) = hosted::elfs(&["init", "login", "sh", "coreutils", "fatfs", "passwd"])
    else {
        return;
    };
    let d = dir("hosted");
    let img = d.join("disk.img");
    let bin = bin.to_string_lossy().into_owned();
    let run = |input: &str| {
        eurali_run(
            &["--hosted", &bin],
            input,
            &[("EURALI_DISK", img.to_str().unwrap())],
            LIMIT,
        )
    };
    let first = run("user\nuser\necho kept > ~/k.txt\npasswd\nuser\nHosted-4\nHosted-4\nexit\n");
    assert_eq!(first.code, Some(0), "{}\n{}", first.stdout, first.stderr);
    assert!(
        first
            .stdout
            .contains("passwd: password updated successfully\n"),
        "{}",
        first.stdout
    );
    assert!(!first.stdout.contains("until reboot"), "{}", first.stdout);
    let second = run("user\nHosted-4\ncat ~/k.txt\nexit\n");
    assert_eq!(second.code, Some(0), "{}\n{}", second.stdout, second.stderr);
    assert!(second.stdout.contains("kept\n"), "{}", second.stdout);
    assert!(
        !second.stdout.contains("Login incorrect"),
        "{}",
        second.stdout
    );
    fsck(&img);
    assert_eq!(mcopy_out(&img, "/home/user/k.txt"), b"kept\n");
}

/// A password change `passwd` reports done is on the disk at once: the machine killed right
/// after it (SIGKILL of the stub: fatfs's cache and its 5 s write-out gone, as at a power cut)
/// boots with the new password. (On the real kernel a power-off a second after `passwd` lost
/// the change while the keeper left it in fatfs's cache.)
#[test]
fn a_password_change_survives_a_power_cut_right_after_it() {
    use std::io::{BufRead, BufReader};
    let d = dir("cut");
    let img = d.join("disk.img");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_eurali"))
        .env_remove("EURALI_NIC")
        .env_remove("EURALI_NET")
        .env_remove("EURALI_DISK_SIZE")
        .env("EURALI_DISK", &img)
        .args([
            "-c",
            "printf 'Cut-5\\nCut-5\\n' | passwd user; echo changed; sleep 60",
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start eurali");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    while !seen.ends_with("changed\n") {
        let mut line = String::new();
        if out.read_line(&mut line).unwrap() == 0 {
            break;
        }
        seen.push_str(&line);
    }
    assert!(
        seen.contains("passwd: password updated for user\n") && seen.ends_with("changed\n"),
        "{seen}"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    fsck(&img);
    let users = String::from_utf8(mcopy_out(&img, "/etc/users")).unwrap();
    let user = vfs::users::parse(&users)
        .into_iter()
        .find(|u| u.name == "user")
        .expect("user's entry");
    assert!(user.check("Cut-5"), "the change was lost: {users}");
}
