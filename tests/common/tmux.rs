//! A real terminal for the system tests: a command in a tmux session, typed at with send-keys
//! and read back with capture-pane, as a user at a terminal would see it.

use std::process::Command;
use std::time::{Duration, Instant};

fn tmux(args: &[&str]) -> String {
    let out = Command::new("tmux").args(args).output().expect("tmux runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A tmux session running one command (then `EXITED <status>`), killed on drop.
pub struct Pane {
    name: String,
    /// Rows of scrollback that [`Pane::pane`] reads above the screen (none: the screen only).
    scrollback: Option<String>,
}

#[allow(dead_code)] // each test file uses a part
impl Pane {
    /// Starts `cmd` (a shell command line) in a new session `cols` by `rows`; after it ends the
    /// pane shows `EXITED <status>` and stays. `None` (the test then passes, saying why) when
    /// there is no tmux, except under CI, which installs it.
    pub fn start(tag: &str, cmd: &str, cols: usize, rows: usize) -> Option<Pane> {
        if Command::new("tmux").arg("-V").output().is_err() {
            assert!(std::env::var_os("CI").is_none(), "tmux is needed under CI");
            eprintln!("skipping: no tmux");
            return None;
        }
        let name = format!("eurali-{tag}-{}", std::process::id());
        let (cols, rows) = (cols.to_string(), rows.to_string());
        tmux(&[
            "new-session",
            "-d",
            "-s",
            &name,
            "-x",
            &cols,
            "-y",
            &rows,
            &format!("{cmd}; echo EXITED $?; sleep 60"),
        ]);
        Some(Pane {
            name,
            scrollback: None,
        })
    }

    /// [`Pane::pane`] and the waits read `lines` rows of scrollback too.
    pub fn with_scrollback(mut self, lines: usize) -> Pane {
        self.scrollback = Some(format!("-{lines}"));
        self
    }

    /// Keys, as tmux names them (`Enter`, `C-c`, `M-b`), or text.
    pub fn keys(&self, k: &[&str]) {
        let mut a = vec!["send-keys", "-t", self.name.as_str()];
        a.extend_from_slice(k);
        tmux(&a);
    }

    /// Literal text (no key names). tmux takes an argument ending in `;` for a command
    /// separator, so a trailing `;` goes as `\;`.
    pub fn text(&self, t: &str) {
        match t.strip_suffix(';') {
            Some(head) => {
                if !head.is_empty() {
                    self.keys(&["-l", head]);
                }
                self.keys(&["\\;"]);
            }
            None => self.keys(&["-l", t]),
        }
    }

    /// The process id of the pane's command (the shell that runs it).
    pub fn pid(&self) -> Option<u32> {
        tmux(&["display-message", "-p", "-t", &self.name, "#{pane_pid}"])
            .trim()
            .parse()
            .ok()
    }

    /// What the pane shows (and its scrollback, if asked for).
    pub fn pane(&self) -> String {
        let mut a = vec!["capture-pane", "-t", self.name.as_str(), "-p"];
        if let Some(lines) = &self.scrollback {
            a.extend(["-S", lines.as_str()]);
        }
        tmux(&a)
    }

    /// The pane with its colours (SGR escapes).
    pub fn pane_with_colours(&self) -> String {
        tmux(&["capture-pane", "-e", "-t", &self.name, "-p"])
    }

    pub fn clear_history(&self) {
        tmux(&["clear-history", "-t", &self.name]);
    }

    pub fn resize(&self, cols: usize, rows: usize) {
        let (cols, rows) = (cols.to_string(), rows.to_string());
        tmux(&["resize-window", "-t", &self.name, "-x", &cols, "-y", &rows]);
    }

    /// Waits until `done(pane)` holds (60 s at most); returns the pane. `what` names the wait
    /// in the failure.
    pub fn wait_until(&self, what: &str, done: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let pane = self.pane();
            if done(&pane) {
                return pane;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "{what} never came:\n{pane}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until the pane shows `want`; returns the pane.
    pub fn wait_for(&self, want: &str) -> String {
        self.wait_until(&format!("the pane showing {want:?}"), |p| p.contains(want))
    }

    /// The pane's last non-blank row, trimmed.
    pub fn last_row(&self) -> String {
        last_row(&self.pane())
    }

    /// Waits until the last non-empty row starts with `want`; the pane then.
    pub fn wait_last_row_starting(&self, want: &str) -> String {
        self.wait_until(&format!("a last row starting {want:?}"), |p| {
            p.lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .is_some_and(|l| l.starts_with(want))
        })
    }

    /// Waits until the pane's last non-blank row is `want`.
    pub fn wait_last_row(&self, want: &str) {
        self.wait_until(&format!("a last row {want:?}"), |p| last_row(p) == want);
    }
}

fn last_row(pane: &str) -> String {
    pane.lines()
        .map(str::trim_end)
        .rfind(|l| !l.is_empty())
        .unwrap_or("")
        .to_string()
}

impl Drop for Pane {
    fn drop(&mut self) {
        tmux(&["kill-session", "-t", &self.name]);
    }
}
