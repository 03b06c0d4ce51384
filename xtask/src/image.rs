//! `cargo xtask image`: the one ELF the real kernel boots. Merriwig embeds a single program,
//! `init` (ABI §4.1), and has no disk, so init carries every other program: `build` makes and
//! checks them all, this packs them (deflate, [`bootimage`]) into a blob that init is rebuilt
//! around (its `image` feature, the blob's path in `EURALI_IMAGE`), and checks the result.
//!
//! Output: `target/eurali/image/init`, with every program's size, packed size and the init's
//! own. Names are the ones /bin gets (each ELF is named as its program, the shell's `sh`).

use std::path::{Path, PathBuf};

use crate::{Result, build, elfcheck, section};

pub const IMAGE_DIR: &str = "target/eurali/image";

/// The programs to carry: every ELF `build` made except init itself, with their /bin names.
pub fn carried(bin_dir: &Path) -> Result<Vec<(String, Vec<u8>)>> {
    let mut out = Vec::new();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(bin_dir)
        .map_err(|e| format!("cannot read {}: {e}", bin_dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    for path in paths {
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        if name == "init" {
            continue;
        }
        let bytes =
            std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        out.push((name, bytes));
    }
    out.sort();
    Ok(out)
}

pub fn image(root: &Path) -> Result<()> {
    let tc = build::build_with_toolchain(root)?;
    section("pack the programs");
    let programs = carried(&root.join(build::BIN_DIR))?;
    if programs.is_empty() {
        return Err("no programs in target/eurali/bin".into());
    }
    let list: Vec<(&str, &[u8])> = programs
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    let blob = bootimage::encode(&list).map_err(|e| format!("packing: {e}"))?;
    println!("{:<16} {:>10} {:>10}", "program", "size", "packed");
    let mut total = 0;
    for e in bootimage::entries(&blob).map_err(|e| e.to_string())? {
        println!("{:<16} {:>10} {:>10}", e.name, e.size, e.packed.len());
        total += e.size;
        if e.size >= elfcheck::MAX_FILE_SIZE {
            return Err(format!(
                "{} is {} bytes: exec'd programs must stay below {}",
                e.name,
                e.size,
                elfcheck::MAX_FILE_SIZE
            ));
        }
    }
    println!("{:<16} {:>10} {:>10}", "(all)", total, blob.len());
    let dir = root.join(IMAGE_DIR);
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let blob_path = dir.join("programs.img");
    std::fs::write(&blob_path, &blob)
        .map_err(|e| format!("cannot write {}: {e}", blob_path.display()))?;

    section("build init around them");
    let built = build::cargo_build_package(
        root,
        &tc,
        "init",
        "image",
        &[("EURALI_IMAGE", blob_path.as_os_str())],
    )?;
    let exe: PathBuf = built
        .into_iter()
        .find(|(n, _)| n == "init")
        .map(|(_, p)| p)
        .ok_or("the init build made no init")?;
    let dest = dir.join("init");
    std::fs::copy(&exe, &dest)
        .map_err(|e| format!("cannot copy {} to {}: {e}", exe.display(), dest.display()))?;
    let bytes = std::fs::read(&dest).map_err(|e| format!("cannot read {}: {e}", dest.display()))?;
    build::print_sizes(std::slice::from_ref(&dest))?;

    section("check-elf (init: loaded from the kernel image, so no exec size limit)");
    let problems = elfcheck::check_init(&bytes);
    if !problems.is_empty() {
        return Err(format!("{}: {}", dest.display(), problems.join("; ")));
    }
    println!("ok    {}", dest.display());
    // The carried programs were checked by `build`; check them again as init will unpack them.
    let mut bad = Vec::new();
    for e in bootimage::entries(&blob).map_err(|e| e.to_string())? {
        let elf = e.unpack().map_err(|e| e.to_string())?;
        let p = elfcheck::check(&elf);
        if p.is_empty() {
            println!("ok    {} (in the image)", e.name);
        } else {
            bad.push(format!("{}: {}", e.name, p.join("; ")));
        }
    }
    if !bad.is_empty() {
        return Err(bad.join("\n"));
    }
    section("image ready");
    println!(
        "{}: copy it to user/init in a EuraliOS checkout and build the kernel (see README)",
        dest.display()
    );
    Ok(())
}
