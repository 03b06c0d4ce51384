//! The unpacker links at `__eurali_base` (xtask/eurali.ld), above every program it unpacks
//! (`libeurali::sfx::UNPACKER_BASE`).

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("none") {
        println!("cargo:rustc-link-arg-bins=--defsym=__eurali_base=0x4000000");
    }
}
