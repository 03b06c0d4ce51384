//! What the message-decoder targets share: words cut from the input, a stub kernel that allows
//! only `free`, and taking back the fuzzer's own buffer from a message's chunk words.

use libeurali::Word;

/// Word `i` of the input after its first (selector) byte, zero-padded.
pub fn word(b: &[u8], i: usize) -> u64 {
    let mut w = [0u8; 8];
    if let Some(s) = b.get(1 + i * 8..) {
        let n = s.len().min(8);
        w[..n].copy_from_slice(&s[..n]);
    }
    u64::from_le_bytes(w)
}

/// The only system call a decoder may make: `free` of a chunk it refuses (here the fuzzer's own
/// buffer, so nothing is done). Any other call is a finding.
fn free_only(r: &mut libeurali::abi::Registers) {
    match libeurali::abi::Call::decode(r) {
        libeurali::abi::Call::Free { .. } => r.rax = 0,
        other => panic!("a decoder made a system call: {}", other.name()),
    }
}

/// Installs [`free_only`] as the kernel.
pub fn allow_only_free() {
    libeurali::raw::install_stub(free_only);
}

/// Takes the fuzzer's buffer back out of a chunk word (never freed: it is not a chunk).
pub fn forget(w: Word) {
    if let Word::Chunk(c) = w {
        c.into_raw();
    }
}
