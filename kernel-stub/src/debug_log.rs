//! The debug log device's bytes: the log a [`crate::Kernel`] keeps for the host's debug log
//! device (`eurali_host::devices::debuglog`, mounted at `/dev/log` by `eurali_host::boot`), which
//! appends to it. The kernel only keeps it, so that a test can read it after the system ended
//! ([`crate::Kernel::debug_log`]).

use std::io::Write;
use std::sync::{Arc, Mutex};

/// The log's bytes, shared by the kernel and every server serving it.
#[derive(Clone, Debug, Default)]
pub struct DebugLog {
    bytes: Arc<Mutex<Vec<u8>>>,
    echo: bool,
}

impl DebugLog {
    /// An empty log; `echo` copies every write to host stderr.
    pub fn new(echo: bool) -> DebugLog {
        DebugLog {
            bytes: Arc::default(),
            echo,
        }
    }

    /// Appends `data` (and echoes it if asked to).
    pub fn append(&self, data: &[u8]) {
        self.bytes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(data);
        if self.echo {
            let mut err = std::io::stderr().lock();
            let _ = err.write_all(data).and_then(|_| err.flush());
        }
    }

    /// Everything written so far.
    pub fn contents(&self) -> Vec<u8> {
        self.bytes.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}
