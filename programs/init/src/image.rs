//! The programs init carries for the real kernel ([`bootimage`] format, embedded at build time
//! by `cargo xtask image` through the `image` feature and the `EURALI_IMAGE` variable).

use std::borrow::Cow;
use std::sync::Arc;

use crate::binfs::Program;

#[cfg(feature = "image")]
static IMAGE: &[u8] = include_bytes!(env!("EURALI_IMAGE"));
#[cfg(not(feature = "image"))]
static IMAGE: &[u8] = &[];

/// Whether this init was built with programs in it.
pub fn present() -> bool {
    !IMAGE.is_empty()
}

/// Every program for /bin, unpacked: the image's entries, and every coreutils tool name
/// sharing the coreutils binary (the shell's own `echo` program stays if there is one), and
/// `kibi` sharing `edit`.
pub fn programs() -> crate::metal::ProgramList {
    if !present() {
        return Err(
            "this init carries no programs (build the image with `cargo xtask image`)".into(),
        );
    }
    list(IMAGE, Cow::Borrowed)
}

/// [`programs`] for any image (the packed bytes copied).
pub fn unpack(image: &[u8]) -> crate::metal::ProgramList {
    list(image, |p| Cow::Owned(p.to_vec()))
}

/// The image's programs, each inflated when first read ([`Program`]).
fn list<'a>(
    image: &'a [u8],
    keep: impl Fn(&'a [u8]) -> Cow<'static, [u8]>,
) -> crate::metal::ProgramList {
    let entries = bootimage::entries(image).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for e in &entries {
        let bytes = Arc::new(Program::packed(e.name, e.size, keep(e.packed)));
        if e.name == "coreutils" {
            for (tool, _) in vfs::image::TOOLS {
                if *tool != "echo" || !entries.iter().any(|e| e.name == "echo") {
                    out.push((tool.to_string(), bytes.clone()));
                }
            }
        }
        if e.name == "passwd" {
            // Root's account tools and `su` are the same program (`useradd`, `userdel`, `su`).
            for alias in ["useradd", "userdel", "su"] {
                out.push((alias.to_string(), bytes.clone()));
            }
        }
        if e.name == "edit" {
            // kibi's own name for the editor.
            out.push(("kibi".to_string(), bytes.clone()));
        }
        out.push((e.name.to_string(), bytes));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpacks_with_a_name_per_coreutils_tool_sharing_one_copy() {
        let img = bootimage::encode(&[
            ("sh", b"shell"),
            ("coreutils", b"multi-call"),
            ("echo", b"echo program"),
        ])
        .unwrap();
        let progs = unpack(&img).unwrap();
        let get = |n: &str| progs.iter().find(|p| p.0 == n).map(|p| p.1.clone());
        assert_eq!(get("sh").unwrap().bytes().unwrap(), b"shell");
        assert_eq!(get("echo").unwrap().bytes().unwrap(), b"echo program");
        let ls = get("ls").unwrap();
        assert_eq!(ls.len(), 10, "known before it is inflated");
        assert_eq!(ls.bytes().unwrap(), b"multi-call");
        assert!(
            Arc::ptr_eq(&ls, &get("cat").unwrap()),
            "one copy for every tool"
        );
        let echo_tool = vfs::image::TOOLS.iter().any(|(t, _)| *t == "echo") as usize;
        assert_eq!(progs.len(), 3 + vfs::image::TOOLS.len() - echo_tool);
        assert!(unpack(b"garbage").is_err());
        // A corrupt entry is found when it is read, not at boot.
        let mut bad = bootimage::encode(&[("x", b"some program bytes")]).unwrap();
        let n = bad.len();
        bad[n - 6] ^= 0xff;
        let progs = unpack(&bad).unwrap();
        assert!(progs[0].1.bytes().is_err());
    }
}
