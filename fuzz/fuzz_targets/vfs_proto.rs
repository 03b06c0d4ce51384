//! The file protocol's postcard bodies (`OpenRequest`, `Request`, `Reply`) and register words
//! (`Meta`, error codes): decoders never panic, and what decodes re-encodes to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vfs::proto::{self, FsError, Meta, OpenRequest, Reply, Request};

fn roundtrip<T>(bytes: &[u8])
where
    T: serde::Serialize + for<'a> serde::Deserialize<'a> + PartialEq + core::fmt::Debug,
{
    if let Ok(v) = proto::decode::<T>(bytes) {
        let again = postcard::to_allocvec(&v).unwrap();
        assert_eq!(proto::decode::<T>(&again).unwrap(), v);
    }
}

fuzz_target!(|data: &[u8]| {
    roundtrip::<OpenRequest>(data);
    roundtrip::<Request>(data);
    roundtrip::<Reply>(data);
    let w = |i: usize| {
        let mut b = [0u8; 8];
        if let Some(s) = data.get(i * 8..) {
            let n = s.len().min(8);
            b[..n].copy_from_slice(&s[..n]);
        }
        u64::from_le_bytes(b)
    };
    let (a, b) = (w(0), w(1));
    if let Ok(m) = Meta::from_words(a, b) {
        let (x, y) = m.to_words();
        assert_eq!(Meta::from_words(x, y), Ok(m));
    }
    let e = FsError::from_code(a);
    assert_eq!(FsError::from_code(e.code()), e);
    let _ = e.as_str();
    if let Ok(r) = proto::decode::<OpenRequest>(data) {
        let _ = r.op.mutates(r.flags);
        let _ = vfs::server::split_path(&r.path);
    }
});
