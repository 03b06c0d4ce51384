//! The console and NIC protocols over real rendezvous on the in-process stub, against the
//! device models.

use super::*;
use crate::console::{COLS, Consoles, ROWS};
use crate::keyboard::Input;
use crate::rtl8139::model::{BASE, Chip, TestDma, memory};
use kernel_stub::Kernel;
use libeurali::proto::console::{self, CONSOLE_OPEN, CONSOLE_STREAMS};
use libeurali::proto::stream::{ReadReply, TermInfo};
use libeurali::{MemoryChunk, Message, Word, msgtype};

/// Runs `f` in a process of a fresh stub kernel, then shuts the kernel down (ending the servers'
/// threads) and checks nothing faulted.
fn on_stub<R>(f: impl FnOnce() -> R) -> R {
    let k = Kernel::new();
    let r = k.run_as_process("drivers", f);
    k.shutdown();
    assert!(k.take_fault().is_none());
    r
}

struct Screen(Vec<u16>);

impl crate::vt::Display for Screen {
    fn put(&mut self, i: usize, cell: u16) {
        self.0[i] = cell;
    }
    fn cursor(&mut self, _: Option<usize>) {}
}

struct NoPorts;

/// No ports: any access panics (the trait's defaults).
impl PortIo for NoPorts {}

fn row(s: &Screen, r: usize) -> String {
    let t: String = s.0[r * COLS..(r + 1) * COLS]
        .iter()
        .map(|&v| (v & 0xFF) as u8 as char)
        .collect();
    t.trim_end().to_string()
}

#[test]
fn console_streams_over_rendezvous() {
    on_stub(|| {
        let consoles: Consoles<Screen, NoPorts> =
            Consoles::new(2, Screen(vec![0; ROWS * COLS]), None);
        let server = Arc::new(ConsoleServer::start(consoles).unwrap());
        let (control, control_cli) = new_rendezvous().unwrap();
        let s = server.clone();
        libeurali::spawn_fn(move || s.serve_control(&control)).unwrap();

        // Terminal 1's streams, through the control protocol; terminal 2 does not exist.
        let reply = libeurali::rcall(&control_cli, Message::Short(CONSOLE_OPEN, 1, 0)).unwrap();
        let Message::Long(CONSOLE_STREAMS, Word::Handle(input), Word::Handle(output)) = reply
        else {
            panic!("{reply:?}")
        };
        let reply = libeurali::rcall(&control_cli, Message::Short(CONSOLE_OPEN, 2, 0)).unwrap();
        assert_eq!(reply.values(), (msgtype::ERROR, 7, 0));
        // The same through the protocol's client functions.
        assert!(console::open(&control_cli, 0).is_ok());
        assert_eq!(
            console::open(&control_cli, 2).map(|_| ()),
            Err(libeurali::Error::NotFound)
        );

        assert_eq!(
            stream::term_info(&input),
            Some(TermInfo {
                raw: false,
                rows: 25,
                cols: 80
            })
        );
        assert_eq!(stream::write(&output, b"login: ").unwrap(), 7);
        // A reader waits for a whole line typed later.
        let reader = libeurali::new_rendezvous().unwrap();
        let (done_tx, done_rx) = reader;
        let inp = input.try_clone().unwrap();
        libeurali::spawn_fn(move || {
            let mut buf = [0u8; 64];
            let n = match stream::read(&inp, &mut buf).unwrap() {
                ReadReply::Data(n) => n,
                other => panic!("{other:?}"),
            };
            let chunk = MemoryChunk::from_bytes(&buf[..n]).unwrap();
            libeurali::send(
                &done_tx,
                Message::Long(0, Word::Value(n as u64), Word::Chunk(chunk)),
            )
            .unwrap();
        })
        .unwrap();
        for b in b"root\r" {
            std::thread::sleep(std::time::Duration::from_millis(2));
            lock(&server.consoles).key(Input::Switch(1));
            lock(&server.consoles).key(Input::Bytes(vec![*b]));
            wake_all(&server.wakes);
        }
        let Message::Long(0, Word::Value(n), Word::Chunk(mut c)) =
            libeurali::receive(&done_rx).unwrap()
        else {
            panic!()
        };
        // SAFETY: the server wrote `n` bytes into the chunk it sent.
        unsafe { c.set_len(n as usize) };
        assert_eq!(c.as_slice(), b"root\n");
        assert_eq!(row(lock(&server.consoles).display(), 0), "login: root");

        // Raw mode, and a status report answered on the input.
        stream::set_raw(&input, true).unwrap();
        assert!(stream::term_info(&input).unwrap().raw);
        stream::write(&output, b"\x1b[6n").unwrap();
        let mut buf = [0u8; 16];
        assert_eq!(stream::read(&input, &mut buf).unwrap(), ReadReply::Data(6));
        assert_eq!(&buf[..6], b"\x1b[2;1R");
        // Wrong directions and unknown requests get errors, and the servers go on.
        assert!(stream::read(&output, &mut buf).is_err());
        assert!(stream::write(&input, b"x").is_err());
        let r = libeurali::rcall(&input, Message::Short(0x7777, 0, 0)).unwrap();
        assert_eq!(r.values().0, msgtype::ERROR_UNKNOWN_MESSAGE);
        assert_eq!(stream::write(&output, b"ok").unwrap(), 2);

        // Ctrl-C in cooked mode: the waiting READ is answered INTERRUPTED, the subscriber told.
        stream::set_raw(&input, false).unwrap();
        let (sub_keep, sub) = new_rendezvous().unwrap();
        stream::subscribe_interrupts(&input, sub).unwrap();
        let (done_tx, done_rx) = new_rendezvous().unwrap();
        let inp = input.try_clone().unwrap();
        libeurali::spawn_fn(move || {
            let mut buf = [0u8; 8];
            let r = stream::read(&inp, &mut buf).unwrap();
            let code = if r == ReadReply::Interrupted { 1 } else { 0 };
            libeurali::send(&done_tx, Message::Short(code, 0, 0)).unwrap();
        })
        .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        lock(&server.consoles).key(Input::Bytes(b"half a line\x03".to_vec()));
        let notes = lock(&server.consoles).take_notifications();
        wake_all(&server.wakes);
        server.notify(notes);
        assert_eq!(
            libeurali::receive(&sub_keep).unwrap().values().0,
            stream::TERM_INTERRUPT
        );
        assert_eq!(libeurali::receive(&done_rx).unwrap().values().0, 1);
        let shown: Vec<String> = (0..ROWS)
            .map(|r| row(lock(&server.consoles).display(), r))
            .collect();
        assert!(
            shown.iter().any(|r| r.ends_with("half a line^C")),
            "{shown:?}"
        );
        // The subscriber stays subscribed (once the notifying thread has given it back).
        let mut notes = Vec::new();
        for _ in 0..500 {
            lock(&server.consoles).key(Input::Bytes(b"\x03".to_vec()));
            notes = lock(&server.consoles).take_notifications();
            if !notes.is_empty() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(notes.len(), 1);
    });
}

#[test]
fn a_line_typed_after_ctrl_c_waits_for_the_next_read() {
    on_stub(|| {
        let consoles: Consoles<Screen, NoPorts> =
            Consoles::new(1, Screen(vec![0; ROWS * COLS]), None);
        let server = Arc::new(ConsoleServer::start(consoles).unwrap());
        let input = server.clients[0].0.try_clone().unwrap();
        let (done_tx, done_rx) = new_rendezvous().unwrap();
        let inp = input.try_clone().unwrap();
        libeurali::spawn_fn(move || {
            let mut buf = [0u8; 8];
            let r = stream::read(&inp, &mut buf).unwrap();
            let code = if r == ReadReply::Interrupted { 1 } else { 0 };
            libeurali::send(&done_tx, Message::Short(code, 0, 0)).unwrap();
        })
        .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        // One batch of keys: Ctrl-C, then a whole line.
        lock(&server.consoles).key(Input::Bytes(b"\x03line\r".to_vec()));
        wake_all(&server.wakes);
        assert_eq!(libeurali::receive(&done_rx).unwrap().values().0, 1);
        // (A second line, so that a lost first one fails here rather than hangs.)
        lock(&server.consoles).key(Input::Bytes(b"more\r".to_vec()));
        wake_all(&server.wakes);
        let mut buf = [0u8; 5];
        assert_eq!(stream::read(&input, &mut buf).unwrap(), ReadReply::Data(5));
        assert_eq!(&buf, b"line\n");
    });
}

#[test]
fn nic_protocol_against_the_chip_model() {
    on_stub(|| {
        let mem = memory(0x58_0000, 64 * 1024);
        let mut dma = TestDma {
            mem: mem.clone(),
            next: 0x58_0000,
            limit_allocs: 2,
        };
        let mut chip = Chip::new(mem);
        let mut dev = Rtl8139::init(&mut chip, BASE, &mut dma).unwrap();
        chip.deliver(&[0xAA; 60]);
        let (srv, cli) = new_rendezvous().unwrap();
        let (res_tx, res_rx) = new_rendezvous().unwrap();
        libeurali::spawn_fn(move || {
            let mut out = Vec::new();
            let mac = nic::mac_address(&cli).unwrap();
            out.push(format!("{mac:02x?}"));
            let mut buf = [0u8; nic::MAX_FRAME];
            out.push(format!(
                "{:?}",
                nic::recv(&cli, &mut buf, Some(0)).map(|n| n.map(|n| buf[..n].to_vec()))
            ));
            // Nothing more within 2 ms.
            out.push(format!("{:?}", nic::recv(&cli, &mut buf, Some(2000))));
            // A batch with nothing waiting.
            out.push(format!("{:?}", nic::recv_many(&cli, &mut [0u8; 8192], 0)));
            let frame: Vec<u8> = (0..100).collect();
            out.push(format!("{:?}", nic::send(&cli, &frame)));
            out.push(format!("{:?}", nic::send(&cli, &[])));
            out.push(format!("{:?}", nic::send(&cli, &[0; nic::MAX_FRAME + 1])));
            // A SEND claiming more than it may: refused before the chunk is trusted.
            let c = MemoryChunk::from_bytes(&[1; 10]).unwrap();
            let r = libeurali::rcall(
                &cli,
                Message::Long(nic::NIC_SEND, Word::Value(1 << 20), Word::Chunk(c)),
            )
            .unwrap();
            out.push(format!("{:?}", r.values()));
            // Two frames out and a look for frames in, in one request.
            let mut records = Vec::new();
            nic::push_record(&mut records, &[1u8; 60], nic::MAX_BATCH);
            nic::push_record(&mut records, &[2u8; 70], nic::MAX_BATCH);
            out.push(format!(
                "{:?}",
                nic::send_poll_many(&cli, &records, 8192, 0)
            ));
            // Malformed records: refused, nothing sent.
            let c = MemoryChunk::from_bytes(&[0xFF; 5]).unwrap();
            let word = 5 | 8192 << 20;
            let r = libeurali::rcall(
                &cli,
                Message::Long(nic::NIC_SEND_POLL_MANY, Word::Value(word), Word::Chunk(c)),
            )
            .unwrap();
            out.push(format!("{:?}", r.values()));
            // Done with the server: its receive wakes with CLOSED, so serve_nic returns.
            drop(cli);
            let text = out.join("\n");
            let chunk = MemoryChunk::from_bytes(text.as_bytes()).unwrap();
            libeurali::send(
                &res_tx,
                Message::Long(0, Word::Value(text.len() as u64), Word::Chunk(chunk)),
            )
            .unwrap();
        })
        .unwrap();
        // The server runs here (the chip model is not Send); it ends when the client's handle
        // is gone.
        let result = {
            let res_rx2 = res_rx;
            serve_nic(&srv, &mut chip, &mut dev);
            libeurali::receive(&res_rx2).unwrap()
        };
        let Message::Long(0, Word::Value(n), Word::Chunk(mut c)) = result else {
            panic!()
        };
        // SAFETY: the server wrote `n` bytes into the chunk it sent.
        unsafe { c.set_len(n as usize) };
        let text = String::from_utf8(c.as_slice().to_vec()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "[52, 54, 00, 12, 34, 56]");
        assert_eq!(lines[1], format!("Ok(Some({:?}))", vec![0xAAu8; 60]));
        assert_eq!(lines[2], "Ok(None)");
        assert_eq!(lines[3], "Ok(Empty)");
        assert_eq!(lines[4], "Ok(())");
        assert_eq!(lines[5], "Err(Param)");
        assert_eq!(lines[6], "Err(Param)");
        assert_eq!(lines[7], format!("({}, 5, 0)", msgtype::ERROR));
        assert_eq!(lines[8], "Ok(Empty)");
        assert_eq!(lines[9], format!("({}, 5, 0)", msgtype::ERROR));
        assert_eq!(
            chip.sent,
            vec![(0..100).collect::<Vec<u8>>(), vec![1u8; 60], vec![2u8; 70]]
        );
    });
}

/// Waits (bounded) until terminal 0 keeps `n` subscribers: the notifying thread gave back
/// those it kept, so it did not block on a subscriber that is not receiving.
fn wait_subscribers<D: crate::vt::Display, P: PortIo>(server: &ConsoleServer<D, P>, n: usize) {
    for _ in 0..500 {
        if lock(&server.consoles).subscribers(0) == n {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!(
        "terminal 0 keeps {} subscribers, not {n}",
        lock(&server.consoles).subscribers(0)
    );
}

/// Ctrl-C reaches the newest subscriber only (a shell started from another: `sh`, `su`), never
/// the one subscribed before it; when the newest is gone, the previous one gets it again.
#[test]
fn ctrl_c_reaches_the_newest_subscriber_then_the_previous() {
    on_stub(|| {
        let consoles: Consoles<Screen, NoPorts> =
            Consoles::new(1, Screen(vec![0; ROWS * COLS]), None);
        let server = Arc::new(ConsoleServer::start(consoles).unwrap());
        let input = server.clients[0].0.try_clone().unwrap();
        let (older_rx, older) = new_rendezvous().unwrap();
        stream::subscribe_interrupts(&input, older).unwrap();
        let (newer_rx, newer) = new_rendezvous().unwrap();
        stream::subscribe_interrupts(&input, newer).unwrap();
        let ctrl_c = || {
            lock(&server.consoles).key(Input::Bytes(b"\x03".to_vec()));
            let notes = lock(&server.consoles).take_notifications();
            assert_eq!(notes.len(), 1);
            server.notify(notes);
        };
        ctrl_c();
        assert_eq!(
            libeurali::receive(&newer_rx).unwrap().values().0,
            stream::TERM_INTERRUPT
        );
        // Both kept, the older never sent to (a send to it would still be waiting).
        wait_subscribers(&*server, 2);
        ctrl_c();
        assert_eq!(
            libeurali::receive(&newer_rx).unwrap().values().0,
            stream::TERM_INTERRUPT
        );
        wait_subscribers(&*server, 2);
        // The newer subscriber goes away: the older one is told, and the gone one dropped.
        drop(newer_rx);
        ctrl_c();
        assert_eq!(
            libeurali::receive(&older_rx).unwrap().values().0,
            stream::TERM_INTERRUPT
        );
        wait_subscribers(&*server, 1);
    });
}
