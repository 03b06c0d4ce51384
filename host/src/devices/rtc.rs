//! The wall clock device: `/dev/rtc` ([`libeurali::proto::rtc`]) from the host's clock, as
//! `drivers rtc` serves it from the CMOS clock on the real kernel. `boot` mounts it for the
//! program it starts. The server ends when its rendezvous fails.

use libeurali::{Error, Handle};

/// Serves the host's time on `h`.
pub fn serve(h: &Handle) {
    libeurali::proto::rtc::serve(h, || {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_err(|_| Error::NoData)?;
        Ok((t.as_secs(), t.subsec_nanos()))
    });
}
