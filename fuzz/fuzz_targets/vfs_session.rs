//! The file server (vfs::server over the ramdisk) on the in-process stub, fed a hostile
//! client's messages: any open body (raw postcard bytes or a forged request), then any request
//! on the session and on the mount handle, with values, chunks and handles in any word. The
//! server must answer every `send_receive`, never panic, and still serve a well-behaved client
//! afterwards.
//!
//! Chunks are always at least as long as their claimed length (clamped to the protocol
//! maxima): the kernel does not convey chunk sizes, and the protocol trusts senders on that
//! one point (see vfs::proto "Sizes").
#![no_main]

use kernel_stub::Kernel;
use libeurali::{Handle, MemoryChunk, Message, Word, new_rendezvous, send, send_receive};
use libfuzzer_sys::arbitrary::{Result as AResult, Unstructured};
use libfuzzer_sys::fuzz_target;
use vfs::proto::{self, FS_CLOSE, OpenRequest, Op, flags};
use vfs::ramdisk::Ramdisk;
use vfs::server::Server;

const TAGS: [u64; 12] = [
    proto::FS_OPEN,
    proto::FS_REQ,
    proto::FS_READ,
    proto::FS_WRITE,
    proto::FS_DATA,
    proto::FS_OK,
    proto::FS_ERR,
    proto::FS_REPLY,
    FS_CLOSE,
    proto::FS_STAT,
    proto::FS_READ_INTO,
    proto::FS_WRITTEN,
];

fn value(u: &mut Unstructured) -> AResult<u64> {
    Ok(match u.int_in_range(0u8..=3)? {
        0 => u.int_in_range(0u64..=16)?,
        1 => u.int_in_range(0u64..=9000)?,
        2 => u.int_in_range(0u64..=(proto::MAX_IO as u64 + 16))?,
        _ => u.arbitrary()?,
    })
}

/// A chunk holding fuzz bytes, at least `claim` bytes long (claims above the protocol's
/// largest are not backed: the server must refuse them before it reads).
fn chunk(u: &mut Unstructured, claim: u64) -> AResult<MemoryChunk> {
    let head: Vec<u8> = match u.int_in_range(0u8..=2)? {
        // A length header (FS_WRITE / FS_READ_INTO) then bytes.
        0 => {
            let mut h = value(u)?.to_le_bytes().to_vec();
            let n = u.int_in_range(0usize..=64)?;
            h.extend_from_slice(u.bytes(n)?);
            h
        }
        // A postcard request body.
        1 => {
            let r = match u.int_in_range(0u8..=5)? {
                0 => proto::Request::Stat,
                1 => proto::Request::ReadDir,
                2 => proto::Request::SetLen(value(u)?),
                3 => proto::Request::Sync,
                4 => proto::Request::Usage,
                _ => return Ok(MemoryChunk::from_bytes(u.bytes(u.len().min(64))?).unwrap()),
            };
            postcard::to_allocvec(&r).unwrap()
        }
        _ => {
            let n = u.int_in_range(0usize..=64)?;
            u.bytes(n)?.to_vec()
        }
    };
    let len = (claim.min(proto::MAX_IO as u64 + 8) as usize).max(head.len());
    Ok(MemoryChunk::alloc_with(len, |b| {
        b[..head.len()].copy_from_slice(&head);
        Ok::<usize, ()>(len)
    })
    .unwrap()
    .unwrap())
}

fn word(u: &mut Unstructured, claim: u64) -> AResult<Word> {
    Ok(match u.int_in_range(0u8..=3)? {
        0 | 1 => Word::Value(value(u)?),
        2 => Word::Chunk(chunk(u, claim)?),
        _ => Word::Handle(new_rendezvous().unwrap().0),
    })
}

fn message(u: &mut Unstructured) -> AResult<Message> {
    let tag = if u.ratio(1u8, 8)? {
        u.arbitrary()?
    } else {
        *u.choose(&TAGS)?
    };
    Ok(if u.ratio(1u8, 3)? {
        Message::Short(tag, value(u)?, value(u)?)
    } else {
        let a = word(u, 0)?;
        let claim = a.value().unwrap_or(4096);
        Message::Long(tag, a, word(u, claim)?)
    })
}

fn path(u: &mut Unstructured) -> AResult<String> {
    Ok(match u.int_in_range(0u8..=3)? {
        0 => String::new(),
        1 => (*u.choose(&["/f", "/d", "/d/g", "/d/..", "/../x", "//f", "/f/", "/new"])?).into(),
        _ => u.arbitrary()?,
    })
}

fn open_body(u: &mut Unstructured) -> AResult<(MemoryChunk, u64)> {
    if u.ratio(1u8, 4)? {
        let n = u.int_in_range(0usize..=64)?;
        let b = u.bytes(n)?;
        let claim = if u.ratio(1u8, 2)? { b.len() as u64 } else { value(u)? };
        let c = chunk_of(b, claim);
        return Ok((c, claim));
    }
    let op = match u.int_in_range(0u8..=6)? {
        0 => Op::Mkdir,
        1 => Op::Remove,
        2 => Op::Rmdir,
        3 => Op::Rename(path(u)?),
        4 => Op::Serve,
        5 => Op::ServeAs(path(u)?),
        _ => Op::Open,
    };
    let req = OpenRequest {
        path: path(u)?,
        flags: u.int_in_range(0u32..=127)?,
        op,
        token: 0,
    };
    let b = postcard::to_allocvec(&req).unwrap();
    Ok((chunk_of(&b, b.len() as u64), b.len() as u64))
}

fn chunk_of(b: &[u8], claim: u64) -> MemoryChunk {
    let len = (claim.min(proto::MAX_NAME_MSG as u64) as usize).max(b.len());
    MemoryChunk::alloc_with(len, |buf| {
        buf[..b.len()].copy_from_slice(b);
        Ok::<usize, ()>(len)
    })
    .unwrap()
    .unwrap()
}

fn drive(u: &mut Unstructured, mount: &Handle) -> AResult<()> {
    let mut sessions: Vec<Handle> = Vec::new();
    for _ in 0..u.int_in_range(1usize..=12)? {
        match u.int_in_range(0u8..=5)? {
            // A new session through FS_OPEN.
            0 | 1 => {
                if sessions.len() >= 4 {
                    continue;
                }
                let (a, b) = new_rendezvous().unwrap();
                let (c, len) = open_body(u)?;
                let m = Message::Long(proto::FS_OPEN, Word::Handle(a), Word::Chunk(c));
                let _ = m.tag();
                // Carry the claim in no word: FS_OPEN's length is the postcard body itself.
                let _ = len;
                if vfs::client::send_retrying(mount, m).is_ok() {
                    sessions.push(b);
                }
            }
            // Anything at all on the mount handle (plain send: the mount thread never replies).
            2 => {
                let m = message(u)?;
                let _ = vfs::client::send_retrying(mount, m);
            }
            // A request on a session.
            _ => {
                if sessions.is_empty() {
                    continue;
                }
                let i = u.int_in_range(0..=sessions.len() - 1)?;
                let m = message(u)?;
                if let Message::Short(FS_CLOSE, ..) = m {
                    let _ = send(&sessions[i], m);
                    sessions.remove(i);
                    continue;
                }
                match send_receive(&sessions[i], m) {
                    Ok(_) => {}
                    // The server ended the session (failed open, one-shot op, CLOSE).
                    Err(_) => {
                        sessions.remove(i);
                    }
                }
            }
        }
    }
    for s in sessions {
        let _ = send(&s, Message::Short(FS_CLOSE, 0, 0));
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    // One system per input (servers never learn that their clients are gone, so only a
    // shutdown ends their threads).
    let k = Kernel::new();
    k.run_as_process("fuzz", || {
        let (m, c) = new_rendezvous().unwrap();
        let server = Server::new(Ramdisk::new(4 << 20));
        server.spawn(m).unwrap();
        libeurali::mount("/", c).unwrap();
        vfs::client::mkdir("/d").unwrap();
        let (f, _) = vfs::client::open("/f", flags::READ | flags::WRITE | flags::CREATE).unwrap();
        f.write_at(0, b"hello").unwrap();
        drop(f);

        let (mount, _, _) = vfs::client::locate("/").unwrap();
        let mut u = Unstructured::new(data);
        let _ = drive(&mut u, &mount);
        drop(mount);

        // The server still serves a well-behaved client.
        let (s, meta) = vfs::client::open("/probe", flags::READ | flags::WRITE | flags::CREATE)
            .expect("server stopped serving opens");
        assert_eq!(meta.len, 0);
        assert_eq!(s.write_at(0, b"ok").unwrap(), (2, 2));
        let mut b = [0u8; 4];
        assert_eq!(s.read_at(0, &mut b).unwrap(), 2);
    });
    k.shutdown();
    assert!(k.panics().is_empty(), "a stub thread panicked: {:?}", k.panics());
    assert!(k.take_fault().is_none(), "the stub saw a fault");
});
