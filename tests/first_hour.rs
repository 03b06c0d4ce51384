//! Issue 18, "the first hour at the prompt": what a Unix user reaches for, as a user types it,
//! compared with what GNU coreutils and dash print. (The console cases are in tests/tmux.rs.)

#[path = "common/as_user.rs"]
mod as_user;
use as_user::as_user;

/// `mv` from the user's home to the private /tmp (two file servers): copied and removed, a
/// directory whole, as coreutils' mv between file systems; a missing source is "cannot stat";
/// a destination the user may not write leaves the source where it was.
#[test]
fn mv_moves_across_file_servers() {
    let r = as_user(
        "cd; echo x > a; mkdir d; echo y > d/f
         mv a /tmp/; echo rc=$?; cat /tmp/a; ls
         mv d /tmp/dd; echo rc=$?; cat /tmp/dd/f; ls
         echo old > /tmp/over; echo new > c; mv c /tmp/over; echo rc=$?; cat /tmp/over
         mv nothere /tmp/; echo rc=$?
         echo z > b; mv b /bin/; echo rc=$?; cat b",
    );
    assert_eq!(
        r.stdout, "rc=0\nx\nd\nrc=0\ny\nrc=0\nnew\nrc=1\nrc=1\nz\n",
        "stderr: {}",
        r.stderr
    );
    assert_eq!(
        r.stderr,
        "mv: cannot stat 'nothere': No such file or directory\n\
         mv: cannot create regular file '/bin/b': Permission denied\n"
    );
}
