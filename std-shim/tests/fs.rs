//! std-shim's `fs`, `path` and working directory, in a program on the stub with a ramdisk
//! mounted at `/` of its namespace.

use std::time::Duration;

use eurali_host::boot::run_captured;
use eurali_std as shim;
use shim::fs::{self, File, OpenOptions};
use shim::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use shim::path::{Path, PathBuf};

fn boot(entry: (&'static str, kernel_stub::ProgramEntry)) -> (i32, String) {
    let r = run_captured(&[entry], entry.0, &[], b"", Duration::from_secs(60));
    (r.code, r.stderr)
}

fn mount_ramdisk() {
    let (m, c) = libeurali::new_rendezvous().unwrap();
    vfs::server::Server::new(vfs::ramdisk::Ramdisk::new(64 << 20))
        .spawn(m)
        .unwrap();
    libeurali::mount("/", c).unwrap();
}

fn fs_program() {
    mount_ramdisk();
    fs::create_dir_all("/home/user/docs").unwrap();
    fs::create_dir_all("/home/user/docs").unwrap();
    fs::write("/home/user/docs/a.txt", "hello").unwrap();
    assert_eq!(
        fs::read_to_string("/home/user/docs/a.txt").unwrap(),
        "hello"
    );
    // Seek and overwrite in the middle; set_len; metadata.
    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .open("/home/user/docs/a.txt")
        .unwrap();
    f.seek(SeekFrom::Start(1)).unwrap();
    f.write_all(b"EL").unwrap();
    assert_eq!(f.stream_position().unwrap(), 3);
    f.seek(SeekFrom::End(-1)).unwrap();
    let mut s = String::new();
    f.read_to_string(&mut s).unwrap();
    assert_eq!(s, "o");
    f.rewind().unwrap();
    s.clear();
    f.read_to_string(&mut s).unwrap();
    assert_eq!(s, "hELlo");
    f.set_len(2).unwrap();
    f.sync_all().unwrap();
    assert_eq!(f.metadata().unwrap().len(), 2);
    assert!(f.seek(SeekFrom::Current(-10)).is_err());
    drop(f);
    // Append and create_new.
    let mut a = OpenOptions::new()
        .append(true)
        .open("/home/user/docs/a.txt")
        .unwrap();
    a.write_all(b"++").unwrap();
    drop(a);
    assert_eq!(fs::read("/home/user/docs/a.txt").unwrap(), b"hE++");
    assert_eq!(
        File::create_new("/home/user/docs/a.txt")
            .unwrap_err()
            .kind(),
        ErrorKind::AlreadyExists
    );
    assert_eq!(File::open("/nope").unwrap_err().kind(), ErrorKind::NotFound);
    // Working directory, relative paths, `..` that stops at the root.
    shim::env::set_current_dir("/home/user").unwrap();
    assert_eq!(
        shim::env::current_dir().unwrap(),
        PathBuf::from("/home/user")
    );
    assert_eq!(fs::read_to_string("docs/../docs/./a.txt").unwrap(), "hE++");
    assert_eq!(
        fs::read_to_string("../../../../home/user//docs/a.txt/").unwrap(),
        "hE++"
    );
    assert_eq!(
        shim::env::set_current_dir("docs/a.txt").unwrap_err().kind(),
        ErrorKind::NotADirectory
    );
    // read_dir: sorted, with paths and metadata.
    fs::write("docs/b.bin", [0u8; 3000]).unwrap();
    fs::create_dir("docs/sub").unwrap();
    let entries: Vec<(String, PathBuf, bool, u64)> = fs::read_dir("docs")
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let m = e.metadata().unwrap();
            (
                e.file_name().into_string().unwrap(),
                e.path(),
                m.is_dir(),
                m.len(),
            )
        })
        .collect();
    assert_eq!(
        entries,
        vec![
            ("a.txt".into(), PathBuf::from("docs/a.txt"), false, 4),
            ("b.bin".into(), PathBuf::from("docs/b.bin"), false, 3000),
            ("sub".into(), PathBuf::from("docs/sub"), true, 0),
        ]
    );
    assert!(Path::new("docs/a.txt").is_file());
    assert!(Path::new("docs/sub").is_dir());
    assert!(Path::new("/home").exists() && !Path::new("/home/x").exists());
    assert_eq!(fs::metadata("docs/b.bin").unwrap().len(), 3000);
    // Errors.
    assert_eq!(
        fs::remove_dir("docs").unwrap_err().kind(),
        ErrorKind::DirectoryNotEmpty
    );
    assert_eq!(
        fs::create_dir("docs").unwrap_err().kind(),
        ErrorKind::AlreadyExists
    );
    assert_eq!(
        fs::remove_file("docs").unwrap_err().kind(),
        ErrorKind::IsADirectory
    );
    assert_eq!(
        File::open("docs/a.txt/x").unwrap_err().kind(),
        ErrorKind::NotADirectory
    );
    // Rename, remove_dir_all.
    fs::rename("docs/a.txt", "docs/sub/c.txt").unwrap();
    assert_eq!(
        fs::read_to_string("/home/user/docs/sub/c.txt").unwrap(),
        "hE++"
    );
    fs::remove_dir_all("docs").unwrap();
    assert!(!Path::new("/home/user/docs").exists());
    // A large file, read back in one call.
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 253) as u8).collect();
    fs::write("big", &big).unwrap();
    assert_eq!(fs::read("big").unwrap(), big);
}

#[test]
fn std_shaped_fs_on_a_ramdisk() {
    let (code, err) = boot(shim::program_entry!("fs", fs_program));
    assert_eq!(code, 0, "{err}");
}

#[test]
fn paths_behave_like_std() {
    type P = std::path::Path;
    let cases = [
        "/",
        "",
        "a",
        "/a",
        "a/b",
        "/a/b/",
        "a/b.txt",
        ".bashrc",
        "a/..",
        "a/.",
        "./a",
        "//a//b",
        "/a/b.tar.gz",
        "..",
        "../x",
        "a/b/../c",
    ];
    for c in cases {
        let (ours, std) = (Path::new(c), P::new(c));
        let ctx = format!("{c:?}");
        assert_eq!(
            ours.parent().map(|p| p.as_str()),
            std.parent().map(|p| p.to_str().unwrap()),
            "parent {ctx}"
        );
        assert_eq!(
            ours.file_name().map(|p| p.as_str()),
            std.file_name().map(|p| p.to_str().unwrap()),
            "file_name {ctx}"
        );
        assert_eq!(
            ours.extension().map(|p| p.as_str()),
            std.extension().map(|p| p.to_str().unwrap()),
            "extension {ctx}"
        );
        assert_eq!(
            ours.file_stem().map(|p| p.as_str()),
            std.file_stem().map(|p| p.to_str().unwrap()),
            "file_stem {ctx}"
        );
        assert_eq!(ours.is_absolute(), std.is_absolute(), "{ctx}");
        for j in ["x", "/y", "", "z/"] {
            assert_eq!(
                ours.join(j).as_str(),
                std.join(j).to_str().unwrap(),
                "join {ctx} {j}"
            );
        }
        for b in ["/", "a", "/a", "a/b", ""] {
            assert_eq!(
                ours.starts_with(b),
                std.starts_with(b),
                "starts_with {ctx} {b}"
            );
            assert_eq!(
                ours.strip_prefix(b).ok().map(|p| p.as_str()),
                std.strip_prefix(b).ok().map(|p| p.to_str().unwrap()),
                "strip_prefix {ctx} {b}"
            );
        }
        let mut a = PathBuf::from(c);
        let mut b = std::path::PathBuf::from(c);
        assert_eq!(a.pop(), b.pop(), "pop {ctx}");
        assert_eq!(a.as_str(), b.to_str().unwrap(), "pop {ctx}");
        let (mut a, mut b) = (PathBuf::from(c), std::path::PathBuf::from(c));
        assert_eq!(
            a.set_extension("rs"),
            b.set_extension("rs"),
            "set_extension {ctx}"
        );
        assert_eq!(a.as_str(), b.to_str().unwrap(), "set_extension {ctx}");
    }
}
