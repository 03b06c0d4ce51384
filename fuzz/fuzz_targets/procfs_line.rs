//! `vfs::procfs::parse_line`: what `ps` reads from `/proc/PID` (any process can write there).
#![no_main]

use libfuzzer_sys::fuzz_target;
use vfs::procfs;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Some(p) = procfs::parse_line(&text) {
        assert!(!p.user.contains('\t'));
        // An unreported heap is written `0/0` (`ProcFs`'s line), which parses as `None`.
        let (used, claimed) = p.heap.unwrap_or((0, 0));
        let line = format!(
            "{}\t{}\t{}\t{used}/{claimed}\t{}\n",
            p.pid, p.user, p.start_us, p.cmd
        );
        assert_eq!(procfs::parse_line(&line), Some(p));
    }
});
