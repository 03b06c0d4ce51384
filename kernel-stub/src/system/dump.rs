//! What every thread waits for, for a test whose system hung.

use super::{ObjId, System, Tid};
use crate::rendezvous::Rendezvous;
use std::collections::HashMap;

impl System {
    /// What every process and thread is doing, for a test whose system hung: each process with
    /// its threads, each blocked thread with the rendezvous it waits in, and who else holds that
    /// rendezvous (handles by process, mount entries) — the picture one needs to see why a peer
    /// never answers.
    pub fn dump(&self) -> String {
        use std::fmt::Write as _;
        let mut waits: HashMap<Tid, (ObjId, &'static str)> = HashMap::new();
        for (id, o) in self.objects.items.iter().enumerate() {
            let Some(o) = o else { continue };
            let (t, what) = match &o.state {
                Rendezvous::Empty => continue,
                Rendezvous::Sending { sender, .. } => match sender {
                    Some(t) => (*t, "send"),
                    None => continue,
                },
                Rendezvous::SendRecv { sender, .. } => (*sender, "send_receive (not yet taken)"),
                Rendezvous::Receiving { waiter, from: None } => (*waiter, "receive"),
                Rendezvous::Receiving {
                    waiter,
                    from: Some(_),
                } => (*waiter, "send_receive (awaiting the reply)"),
            };
            waits.insert(t, (id, what));
        }
        let holders = |obj: ObjId| -> String {
            let mut h = Vec::new();
            for (pid, p) in &self.procs {
                for (n, o) in p.handles.iter() {
                    if o == obj {
                        h.push(format!("{}[{pid}] h{n}", p.name));
                    }
                }
            }
            for (vid, v) in self.vfs.items.iter().enumerate() {
                let Some(v) = v else { continue };
                for (path, o) in v.table.entries() {
                    if *o == obj {
                        h.push(format!("vfs{vid}:{path}"));
                    }
                }
            }
            h.join(", ")
        };
        let mut out = String::new();
        let mut pids: Vec<_> = self.procs.keys().copied().collect();
        pids.sort_unstable();
        for pid in pids {
            let p = &self.procs[&pid];
            let _ = writeln!(
                out,
                "process {pid} {:?}: {} threads, {} handles, vfs{}",
                p.name,
                p.threads,
                p.handles.count(),
                p.vfs
            );
            let mut tids: Vec<_> = self
                .threads
                .iter()
                .filter(|(_, r)| r.pid == pid)
                .map(|(t, r)| (*t, r.blocked))
                .collect();
            tids.sort_unstable();
            for (t, blocked) in tids {
                match waits.get(&t) {
                    Some(&(obj, what)) => {
                        let refs = self.refs(obj);
                        let _ = writeln!(
                            out,
                            "  thread {t}: {what} in rendezvous #{obj} ({refs} refs: {})",
                            holders(obj)
                        );
                    }
                    None if self.irq_waiters.contains(&t) => {
                        let _ = writeln!(out, "  thread {t}: await_interrupt");
                    }
                    None if blocked => {
                        let _ = writeln!(out, "  thread {t}: blocked");
                    }
                    None => {
                        let _ = writeln!(out, "  thread {t}: running (not in a call)");
                    }
                }
            }
        }
        out
    }
}
