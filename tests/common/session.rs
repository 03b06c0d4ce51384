//! A whole system on the in-process stub, typed at line by line as a user would at its console,
//! with the kernel in reach between lines (its frame counts, say): for `tests/frames.rs` and
//! `cargo xtask bench frames`.

#![allow(dead_code)] // each user (a test, the bench) uses a part

use std::io::Read;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::{Duration, Instant};

use eurali_host::boot::{Capture, Console, run_system_with};
use kernel_stub::Kernel;

/// The console's input: lines sent by the test, end of input when the sender is dropped.
struct Typed {
    rx: Receiver<Vec<u8>>,
    pending: Vec<u8>,
}

impl Read for Typed {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pending.is_empty() {
            match self.rx.recv() {
                Ok(b) => self.pending = b,
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.pending.len());
        buf[..n].copy_from_slice(&self.pending[..n]);
        self.pending.drain(..n);
        Ok(n)
    }
}

pub struct Session {
    pub kernel: Kernel,
    input: Option<Sender<Vec<u8>>>,
    out: Capture,
    done: Receiver<i32>,
    /// How much of the output earlier waits consumed.
    seen: usize,
}

impl Session {
    /// Boots the system (`init` with `init_args`) and returns at once.
    pub fn boot(init_args: &[&str]) -> Session {
        Session::boot_with(init_args, false)
    }

    /// As [`Session::boot`], the console acting as a terminal if `terminal` (raw mode for
    /// full-screen programs; what is typed is keys, echoed by the console).
    pub fn boot_with(init_args: &[&str], terminal: bool) -> Session {
        Session::start_env(init_args, terminal, &[])
    }

    /// As [`Session::boot`], with `env` added to init's environment (the userland's knobs).
    pub fn boot_env(init_args: &[&str], env: &[(&str, &str)]) -> Session {
        Session::start_env(init_args, false, env)
    }

    /// Boots with the console a terminal or not, and `env` added to init's environment.
    pub fn start_env(init_args: &[&str], terminal: bool, env: &[(&str, &str)]) -> Session {
        let kernel = Kernel::new();
        kernel.set_boot_env(env);
        let programs = eurali::programs();
        for (name, entry) in &programs {
            kernel.register_program(name, *entry);
        }
        let names: Vec<&'static str> = programs.iter().map(|(n, _)| *n).collect();
        let (tx, rx) = channel();
        // One capture for both: the shell's prompt goes to stderr.
        let out = Capture::default();
        let err = out.clone();
        let console = Console {
            stdin: Box::new(Typed {
                rx,
                pending: Vec::new(),
            }),
            stdout: Box::new(out.clone()),
            stderr: Box::new(err.clone()),
        };
        let (done_tx, done) = channel();
        let k = kernel.clone();
        let args: Vec<String> = init_args.iter().map(|s| s.to_string()).collect();
        std::thread::spawn(move || {
            let _ = done_tx.send(run_system_with(&k, &names, &args, console, terminal));
        });
        Session {
            kernel,
            input: Some(tx),
            out,
            done,
            seen: 0,
        }
    }

    /// Waits until `text` appears in the console output after what earlier waits consumed;
    /// returns the output up to and including it. Panics after `timeout`, with the output and
    /// what every process is doing.
    pub fn wait_for(&mut self, text: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let all = self.out.text();
            if let Some(i) = all.get(self.seen..).and_then(|rest| rest.find(text)) {
                let end = self.seen + i + text.len();
                let got = all[self.seen..end].to_string();
                self.seen = end;
                return got;
            }
            if Instant::now() >= deadline {
                panic!(
                    "no {text:?} within {timeout:?}; console: {:?}\n{}",
                    &all[self.seen.min(all.len())..],
                    self.kernel.dump()
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Types `line` and Enter.
    pub fn type_line(&self, line: &str) {
        self.type_keys(&format!("{line}\n"));
    }

    /// Types `keys` as they are (control characters included).
    pub fn type_keys(&self, keys: &str) {
        if let Some(tx) = &self.input {
            let _ = tx.send(keys.as_bytes().to_vec());
        }
    }

    /// Types `bytes` as they are (UTF-8 or not).
    pub fn type_bytes(&self, bytes: &[u8]) {
        if let Some(tx) = &self.input {
            let _ = tx.send(bytes.to_vec());
        }
    }

    /// Types `line` and waits for the next `prompt`; returns what came back in between.
    pub fn command(&mut self, line: &str, prompt: &str) -> String {
        self.type_line(line);
        let got = self.wait_for(prompt, Duration::from_secs(60));
        // Let the command's last processes end and their parents see it.
        self.settle();
        got
    }

    /// Waits until the system has been quiet for a moment (no process started or ended).
    pub fn settle(&self) {
        let mut last = (
            self.kernel.process_count(),
            self.kernel.frame_stats().allocs,
        );
        let mut quiet = 0;
        while quiet < 10 {
            std::thread::sleep(Duration::from_millis(20));
            let now = (
                self.kernel.process_count(),
                self.kernel.frame_stats().allocs,
            );
            if now == last {
                quiet += 1;
            } else {
                quiet = 0;
                last = now;
            }
        }
    }

    /// Ends the console's input (the system shuts down at its end) and returns init's status.
    pub fn finish(mut self) -> i32 {
        self.input = None;
        self.done
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("the system did not end: {}", self.kernel.dump()))
    }
}
