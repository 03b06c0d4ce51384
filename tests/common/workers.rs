//! The chaos tests' rounds of shell workers.

use eurali_std::process::{Child, Command, Stdio};

/// Starts round `round`'s `n` workers: `/bin/sh -c script(id)` with stdout piped, ids
/// `round * n ..`; each with its id.
pub fn start_round(
    round: usize,
    n: usize,
    script: impl Fn(usize) -> String,
) -> Vec<(usize, Child)> {
    (0..n)
        .map(|w| {
            let id = round * n + w;
            let child = Command::new("/bin/sh")
                .arg("-c")
                .arg(script(id))
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            (id, child)
        })
        .collect()
}
