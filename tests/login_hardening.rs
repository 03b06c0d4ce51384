//! Items 6 and 7 (login) of issue 16, on the in-process system as `printf … | cargo run` boots
//! it: any bytes at login are a failed login at worst, names and passwords have length limits
//! read without a request per byte, failures cost a growing delay, and an entry hashed at the
//! old cost is re-hashed at the current one on the next successful login.

#[path = "common/hosted.rs"]
mod hosted;

#[path = "common/run.rs"]
mod run;

use run::eurali_run;
use std::time::{Duration, Instant};

/// `input | eurali` (the whole system, logging in on the console); stdout, stderr, and how
/// long it took. Fails the test past two minutes.
fn boot(input: Vec<u8>) -> (String, String, Duration) {
    boot_with(&[], input)
}

/// [`boot`] with arguments for `eurali`; how long the run took.
fn boot_with(args: &[&str], input: Vec<u8>) -> (String, String, Duration) {
    let start = Instant::now();
    let r = eurali_run(args, input, &[], Duration::from_secs(120));
    (r.stdout, r.stderr, start.elapsed())
}

#[test]
fn a_name_that_is_not_utf8_is_a_failed_login_not_the_end() {
    let (out, err, _) = boot(b"\xffroot\nroot\nroot\nroot\necho alive $USER\n".to_vec());
    assert_eq!(out.matches("Login incorrect").count(), 1, "{out}\n{err}");
    assert!(out.contains("alive root"), "{out}\n{err}");
}

#[test]
fn hosted_a_name_that_is_not_utf8_is_a_failed_login() {
    // The same with the freestanding ELFs (`cargo xtask build`), as the real kernel runs them.
    let Some((dir, _)) = hosted::elfs(&["login", "sh"]) else {
        return;
    };
    let (out, err, _) = boot_with(
        &["--hosted", dir.to_str().unwrap()],
        b"\xffroot\nroot\nroot\nroot\necho alive $USER\n".to_vec(),
    );
    assert_eq!(out.matches("Login incorrect").count(), 1, "{out}\n{err}");
    assert!(out.contains("alive root"), "{out}\n{err}");
}

#[test]
fn a_password_that_is_not_utf8_is_a_failure() {
    let (out, err, _) = boot(b"root\nro\xffot\nroot\nroot\necho alive $USER\n".to_vec());
    assert_eq!(out.matches("Login incorrect").count(), 1, "{out}\n{err}");
    assert!(out.contains("alive root"), "{out}\n{err}");
}

#[test]
fn overlong_names_and_passwords_are_read_quickly_and_refused() {
    // A 4 MiB name (it took 217 s, one byte per request), a 33-byte name, a 257-byte password
    // whose first 256 bytes are not the point: each a failed login; then root logs in.
    let mut input = vec![b'r'; 4 << 20];
    input.extend_from_slice(b"\nroot\n");
    input.extend_from_slice(&[b'u'; 33]);
    input.extend_from_slice(b"\nuser\nroot\n");
    input.extend_from_slice(&[b'x'; 257]);
    input.extend_from_slice(b"\nroot\nroot\necho alive $USER\n");
    let (out, err, took) = boot(input);
    assert_eq!(
        out.matches("Login incorrect").count(),
        3,
        "{}\n{err}",
        &out[..out.len().min(2000)]
    );
    assert!(out.contains("login: 3 failed attempts, giving up"), "{out}");
    assert!(took < Duration::from_secs(60), "took {took:?}");
}

#[test]
fn each_failure_waits_longer() {
    // Two wrong passwords (1 s, then 2 s) and the right one.
    let (out, err, took) = boot(b"user\nx\nuser\ny\nuser\nuser\necho alive $USER\n".to_vec());
    assert_eq!(out.matches("Login incorrect").count(), 2, "{out}\n{err}");
    assert!(out.contains("alive user"), "{out}\n{err}");
    assert!(took >= Duration::from_secs(3), "took {took:?}");
}

#[test]
fn an_old_hash_is_raised_to_the_current_cost_at_login() {
    // The image's accounts are hashed the old way (hex, 4 096 iterations); root's login
    // re-hashes root's password in the PHC format at the current cost, user's stays.
    let (out, err, _) = boot(b"root\nroot\necho; cat /etc/users\n".to_vec());
    let users = vfs::users::parse(&out);
    let root = users.iter().find(|u| u.name == "root").expect(&out);
    let user = users.iter().find(|u| u.name == "user").expect(&out);
    let phc = format!("$pbkdf2-sha256$i={},l=32$", vfs::users::ROUNDS);
    assert!(root.hash.starts_with(&phc), "{out}\n{err}");
    assert!(root.check("root") && !root.needs_upgrade());
    assert!(user.phc().starts_with("$pbkdf2-sha256$i=4096,"), "{out}");
    assert!(user.check("user") && user.needs_upgrade());
}

#[test]
fn the_delay_is_per_user_across_logins() {
    // Three failures end that login (1 s, 2 s, 4 s); init starts a new one, a new process
    // like another terminal's, whose own count starts again: the user's, kept by init's keeper,
    // makes its first failure wait 8 s.
    let (out, err, took) = boot(b"user\nx\nuser\nx\nuser\nx\nuser\nx\n".to_vec());
    assert_eq!(out.matches("Login incorrect").count(), 4, "{out}\n{err}");
    assert!(took >= Duration::from_secs(15), "took {took:?}");
}
