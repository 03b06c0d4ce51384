//! Random bytes (eurali's addition; std keeps its source private): for salts and the like.
//!
//! On the real kernel they come from the CPU's RDRAND where it has one, else from a mix of
//! time-stamp counter readings (see [`Source::Clock`]); on the host stub from `/dev/urandom`.

/// Where [`fill`]'s bytes came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// A hardware or operating-system generator.
    Strong,
    /// Time-stamp counter readings around yields, mixed: unique in practice, but guessable by
    /// someone who knows roughly when they were taken. Good for a salt, not for a key.
    Clock,
}

/// Fills `buf` with random bytes and says how good they are.
pub fn fill(buf: &mut [u8]) -> Source {
    if crate::sys::fill_random(buf) {
        Source::Strong
    } else {
        Source::Clock
    }
}

/// `N` random bytes (see [`fill`] for how good they are): a salt's worth, say, where a plain
/// function is wanted (`vfs::users` takes its salt source as one).
pub fn array<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    fill(&mut b);
    b
}
