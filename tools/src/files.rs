//! Tools over the file tree: ls, mkdir, rmdir, rm, touch, cp, mv.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::Io;
use crate::args::parse;
use crate::input::at;
use crate::output::write_error;
use std::io::describe;

fn fail(io: &mut Io, tool: &str, operand: &str, e: &io::Error) {
    let _ = writeln!(io.stderr, "{tool}: {operand}: {}", describe(e));
}

fn usage(io: &mut Io, tool: &str, msg: &str) -> i32 {
    let _ = writeln!(io.stderr, "{tool}: {msg}");
    1
}

fn long_line(name: &str, meta: &fs::Metadata, human: bool) -> String {
    let kind = if meta.is_dir() { 'd' } else { '-' };
    let perm = if meta.permissions().readonly() {
        "r--"
    } else {
        "rw-"
    };
    let suffix = if meta.is_dir() { "/" } else { "" };
    let size = if human {
        crate::output::human(meta.len())
    } else {
        meta.len().to_string()
    };
    format!("{kind}{perm} {size:>10} {name}{suffix}")
}

/// `ls [-1adhlR] [PATH...]`: `-R` lists subdirectories too (depth first, in name order, as
/// GNU's), `-d` lists directories themselves, `-h` gives `-l`'s sizes in K, M, G.
#[inline(never)]
pub fn ls(args: &[String], io: &mut Io) -> i32 {
    let p = match parse(args, "la1dhR", "") {
        Ok(p) => p,
        Err(m) => return usage(io, "ls", &m),
    };
    // In name order, as GNU's: the files, then the directories.
    let mut operands = if p.operands.is_empty() {
        vec![String::from(".")]
    } else {
        p.operands.clone()
    };
    operands.sort();
    let (long, all, human) = (p.has('l'), p.has('a'), p.has('h'));
    let (dirs_as_files, recurse) = (p.has('d'), p.has('R') && !p.has('d'));
    let mut status = 0;
    let mut printed = false;
    let line = |name: &str, m: Option<&fs::Metadata>| match (m, long) {
        (Some(m), true) => long_line(name, m, human),
        (None, true) => format!("?--- {:>10} {name}", "?"),
        _ => name.to_string(),
    };
    // Files first, then directories (each with a header when there are several, or -R).
    let mut dirs: Vec<String> = Vec::new();
    for op in &operands {
        match fs::metadata(io.at(op)) {
            Ok(m) if m.is_dir() && !dirs_as_files => dirs.push(op.clone()),
            Ok(m) => {
                if let Err(e) = writeln!(io.stdout, "{}", line(op, Some(&m))) {
                    write_error(io.stderr, "ls", &e);
                    return 2;
                }
                printed = true;
            }
            Err(e) => {
                fail(io, "ls", op, &e);
                status = 2;
            }
        }
    }
    let headers = operands.len() > 1 || recurse;
    // A stack of directories still to list: the operands in order, then (with -R) each
    // directory's subdirectories before its next sibling.
    dirs.reverse();
    while let Some(op) = dirs.pop() {
        let entries = match fs::read_dir(io.at(&op)) {
            Ok(rd) => rd,
            Err(e) => {
                fail(io, "ls", &op, &e);
                status = 2;
                continue;
            }
        };
        if headers && let Err(e) = writeln!(io.stdout, "{}{op}:", if printed { "\n" } else { "" }) {
            write_error(io.stderr, "ls", &e);
            return 2;
        }
        printed = true;
        let mut names: Vec<(String, Option<fs::Metadata>)> = Vec::new();
        if all {
            names.push((".".into(), fs::metadata(io.at(&op)).ok()));
            names.push(("..".into(), fs::metadata(io.at(&op).join("..")).ok()));
        }
        let mut subdirs = Vec::new();
        for e in entries {
            match e {
                Ok(e) => {
                    let name = e.file_name().to_string_lossy().into_owned();
                    if name.starts_with('.') && !all {
                        continue;
                    }
                    if recurse && e.file_type().is_ok_and(|t| t.is_dir()) {
                        subdirs.push(format!("{}/{name}", op.trim_end_matches('/')));
                    }
                    let m = if long { e.metadata().ok() } else { None };
                    names.push((name, m));
                }
                Err(e) => {
                    fail(io, "ls", &op, &e);
                    status = 2;
                }
            }
        }
        names[if all { 2 } else { 0 }..].sort_by(|a, b| a.0.cmp(&b.0));
        for (name, m) in names {
            if let Err(e) = writeln!(io.stdout, "{}", line(&name, m.as_ref())) {
                write_error(io.stderr, "ls", &e);
                return 2;
            }
        }
        subdirs.sort();
        dirs.extend(subdirs.into_iter().rev());
    }
    status
}

#[inline(never)]
pub fn mkdir(args: &[String], io: &mut Io) -> i32 {
    let p = match parse(args, "p", "") {
        Ok(p) => p,
        Err(m) => return usage(io, "mkdir", &m),
    };
    if p.operands.is_empty() {
        return usage(io, "mkdir", "missing operand");
    }
    let mut status = 0;
    for d in &p.operands {
        let r = if p.has('p') {
            make_parents(io, d)
        } else {
            fs::create_dir(io.at(d)).map_err(|e| (d.clone(), e))
        };
        if let Err((which, e)) = r {
            let _ = writeln!(
                io.stderr,
                "mkdir: cannot create directory '{which}': {}",
                describe(&e)
            );
            status = 1;
        }
    }
    status
}

/// `mkdir -p DIR`: each missing component in turn; the error names the component that could
/// not be made, as GNU's does (`mkdir -p /a/b` where `/` is not writable blames `/a`).
fn make_parents(io: &Io, d: &str) -> Result<(), (String, io::Error)> {
    let whole = d.trim_end_matches('/').len().max(1);
    let ends = d
        .char_indices()
        .filter(|&(i, c)| c == '/' && i > 0 && i < whole && !d[..i].ends_with('/'))
        .map(|(i, _)| i)
        .chain([whole]);
    for end in ends {
        let part = if end >= whole { d } else { &d[..end] };
        let path = io.at(part);
        if fs::metadata(&path).is_ok_and(|m| m.is_dir()) {
            continue;
        }
        match fs::create_dir(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && path.is_dir() => {}
            Err(e) => {
                // A file in the way of a later component is "Not a directory", as GNU says.
                let e = match fs::metadata(&path) {
                    Ok(m) if !m.is_dir() && end < whole => {
                        io::Error::from(io::ErrorKind::NotADirectory)
                    }
                    _ => e,
                };
                return Err((part.to_string(), e));
            }
        }
    }
    Ok(())
}

#[inline(never)]
pub fn rmdir(args: &[String], io: &mut Io) -> i32 {
    if args.is_empty() {
        return usage(io, "rmdir", "missing operand");
    }
    let mut status = 0;
    for d in args {
        if let Err(e) = fs::remove_dir(io.at(d)) {
            let _ = writeln!(io.stderr, "rmdir: failed to remove '{d}': {}", describe(&e));
            status = 1;
        }
    }
    status
}

#[inline(never)]
pub fn rm(args: &[String], io: &mut Io) -> i32 {
    let p = match parse(args, "rRf", "") {
        Ok(p) => p,
        Err(m) => return usage(io, "rm", &m),
    };
    let (recursive, force) = (p.has('r') || p.has('R'), p.has('f'));
    if p.operands.is_empty() && !force {
        return usage(io, "rm", "missing operand");
    }
    let mut status = 0;
    for op in &p.operands {
        let path = io.at(op);
        let r = match fs::metadata(&path) {
            Ok(m) if m.is_dir() && !recursive => Err(io::Error::from(io::ErrorKind::IsADirectory)),
            Ok(m) if m.is_dir() => fs::remove_dir_all(&path),
            Ok(_) => fs::remove_file(&path),
            Err(e) => Err(e),
        };
        match r {
            Err(e) if force && e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                let _ = writeln!(io.stderr, "rm: cannot remove '{op}': {}", describe(&e));
                status = 1;
            }
            Ok(()) => {}
        }
    }
    status
}

#[inline(never)]
pub fn touch(args: &[String], io: &mut Io) -> i32 {
    if args.is_empty() {
        return usage(io, "touch", "missing file operand");
    }
    let mut status = 0;
    for f in args {
        // eurali's ramdisk keeps no times: touching creates a missing file and nothing more.
        if let Err(e) = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(io.at(f))
        {
            let _ = writeln!(io.stderr, "touch: cannot touch '{f}': {}", describe(&e));
            status = 1;
        }
    }
    status
}

/// The destination for `src` given DEST: inside DEST if it is a directory.
/// (`cwd` as for [`Io::at`]; the path returned is as the operands spell it.)
fn target(cwd: Option<&str>, src: &str, dest: &str, many: bool) -> io::Result<PathBuf> {
    let dest_is_dir = fs::metadata(at(cwd, dest))
        .map(|m| m.is_dir())
        .unwrap_or(false);
    if dest_is_dir {
        let name = Path::new(src)
            .file_name()
            .ok_or(io::Error::from(io::ErrorKind::InvalidInput))?;
        Ok(Path::new(dest).join(&*name.to_string_lossy()))
    } else if many {
        Err(io::Error::from(io::ErrorKind::NotADirectory))
    } else {
        Ok(PathBuf::from(dest))
    }
}

/// Copies a file; the error as GNU's cp words it, naming the file that failed: the source
/// (`cannot open … for reading`) or the destination (`cannot create regular file …`, `error
/// writing …`: a full disk leaves what fitted, as cp does).
fn copy_file(cwd: Option<&str>, src: &Path, to: &Path) -> Result<(), String> {
    let data = fs::read(at(cwd, src.as_str())).map_err(|e| {
        format!(
            "cannot open '{}' for reading: {}",
            src.display(),
            describe(&e)
        )
    })?;
    let mut f = fs::File::create(at(cwd, to.as_str())).map_err(|e| {
        format!(
            "cannot create regular file '{}': {}",
            to.display(),
            describe(&e)
        )
    })?;
    f.write_all(&data)
        .and_then(|()| f.flush())
        .map_err(|e| format!("error writing '{}': {}", to.display(), describe(&e)))
}

fn copy_tree(cwd: Option<&str>, src: &Path, dst: &Path) -> Result<(), String> {
    let said =
        |what: &str, p: &Path, e: io::Error| format!("{what} '{}': {}", p.display(), describe(&e));
    fs::create_dir(at(cwd, dst.as_str())).map_err(|e| said("cannot create directory", dst, e))?;
    for e in
        fs::read_dir(at(cwd, src.as_str())).map_err(|e| said("cannot read directory", src, e))?
    {
        let e = e.map_err(|e| said("cannot read directory", src, e))?;
        let name = e.file_name().to_string_lossy().into_owned();
        let from = src.join(&name);
        let to = dst.join(&name);
        if e.metadata()
            .map_err(|e| said("cannot stat", &from, e))?
            .is_dir()
        {
            copy_tree(cwd, &from, &to)?;
        } else {
            copy_file(cwd, &from, &to)?;
        }
    }
    Ok(())
}

/// `cp [-r] SRC... DEST`: messages as GNU's.
#[inline(never)]
pub fn cp(args: &[String], io: &mut Io) -> i32 {
    let p = match parse(args, "rR", "") {
        Ok(p) => p,
        Err(m) => return usage(io, "cp", &m),
    };
    let recursive = p.has('r') || p.has('R');
    let Some((dest, srcs)) = p.operands.split_last().filter(|(_, s)| !s.is_empty()) else {
        return usage(io, "cp", "missing destination file operand");
    };
    let mut status = 0;
    for src in srcs {
        let r = match target(io.cwd, src, dest, srcs.len() > 1) {
            Err(e) if e.kind() == io::ErrorKind::NotADirectory => {
                Err(format!("target '{dest}' is not a directory"))
            }
            Err(e) => Err(format!("'{src}': {}", describe(&e))),
            Ok(to) => match fs::metadata(io.at(src)) {
                Ok(m) if m.is_dir() && !recursive => {
                    Err(format!("-r not specified; omitting directory '{src}'"))
                }
                Ok(m) if m.is_dir() => {
                    let inside = fs::canonicalize(io.at(src)).and_then(|s| {
                        let parent = to.parent().map_or(String::from("."), |p| {
                            String::from(if p.as_str().is_empty() {
                                "."
                            } else {
                                p.as_str()
                            })
                        });
                        let parent = fs::canonicalize(io.at(&parent))?;
                        let name = to
                            .file_name()
                            .map(|f| f.to_string_lossy().into_owned())
                            .unwrap_or_default();
                        Ok(parent.join(&name).starts_with(&s))
                    });
                    match inside {
                        Ok(true) => Err(format!(
                            "cannot copy a directory, '{src}', into itself, '{}'",
                            to.display()
                        )),
                        Ok(false) => copy_tree(io.cwd, Path::new(src), &to),
                        Err(e) => Err(format!("'{src}': {}", describe(&e))),
                    }
                }
                Ok(_) => copy_file(io.cwd, Path::new(src), &to),
                Err(e) => Err(format!("cannot stat '{src}': {}", describe(&e))),
            },
        };
        if let Err(msg) = r {
            let _ = writeln!(io.stderr, "cp: {msg}");
            status = 1;
        }
    }
    status
}

#[inline(never)]
pub fn mv(args: &[String], io: &mut Io) -> i32 {
    let Some((dest, srcs)) = args.split_last().filter(|(_, s)| !s.is_empty()) else {
        return usage(io, "mv", "missing destination file operand");
    };
    let mut status = 0;
    for src in srcs {
        if let Err(e) = fs::symlink_metadata(io.at(src)) {
            let _ = writeln!(io.stderr, "mv: cannot stat '{src}': {}", describe(&e));
            status = 1;
            continue;
        }
        let to = match target(io.cwd, src, dest, srcs.len() > 1) {
            Ok(to) => to,
            Err(e) => {
                let _ = writeln!(io.stderr, "mv: cannot move '{src}': {}", describe(&e));
                status = 1;
                continue;
            }
        };
        let r = match fs::rename(io.at(src), io.at(to.as_str())) {
            Err(e) if e.kind() == io::ErrorKind::CrossesDevices => {
                move_across(io.cwd, Path::new(src), &to)
            }
            r => r.map_err(|e| format!("cannot move '{src}': {}", describe(&e))),
        };
        if let Err(m) = r {
            let _ = writeln!(io.stderr, "mv: {m}");
            status = 1;
        }
    }
    status
}

/// `mv` from one file server to another, as coreutils' mv between file systems: copies (a
/// directory whole), then removes the source; if the copy fails, what was copied is removed
/// and the source stays as it was.
fn move_across(cwd: Option<&str>, src: &Path, to: &Path) -> Result<(), String> {
    let dir = fs::metadata(at(cwd, src.as_str()))
        .map_err(|e| format!("cannot stat '{}': {}", src.display(), describe(&e)))?
        .is_dir();
    if fs::symlink_metadata(at(cwd, to.as_str())).is_ok() {
        // A rename would replace a file; across servers, the copy must not merge or
        // half-overwrite: the old one goes first, as coreutils' mv unlinks it.
        let gone = if dir {
            fs::remove_dir(at(cwd, to.as_str()))
        } else {
            fs::remove_file(at(cwd, to.as_str()))
        };
        gone.map_err(|e| format!("cannot overwrite '{}': {}", to.display(), describe(&e)))?;
    }
    let copied = if dir {
        copy_tree(cwd, src, to)
    } else {
        copy_file(cwd, src, to)
    };
    if let Err(m) = copied {
        let _ = if dir {
            fs::remove_dir_all(at(cwd, to.as_str()))
        } else {
            fs::remove_file(at(cwd, to.as_str()))
        };
        return Err(m);
    }
    let removed = if dir {
        fs::remove_dir_all(at(cwd, src.as_str()))
    } else {
        fs::remove_file(at(cwd, src.as_str()))
    };
    removed.map_err(|e| format!("cannot remove '{}': {}", src.display(), describe(&e)))
}

/// Which parts of a path [`canonical`] requires to exist.
#[derive(Clone, Copy, PartialEq)]
enum Exist {
    All,
    AllButLast,
    Nothing,
}

/// `path` made absolute, with `.`, `..` and repeated slashes resolved (eurali's file systems
/// have no symbolic links, so this is what readlink -f and realpath give).
/// A relative `path` is in `cwd` (the shell's directory when run inside it), else the process's.
fn canonical(path: &str, cwd: Option<&str>, exist: Exist) -> io::Result<String> {
    if path.is_empty() {
        return Err(io::ErrorKind::NotFound.into());
    }
    let base = if path.starts_with('/') {
        String::new()
    } else if let Some(dir) = cwd {
        dir.to_string()
    } else {
        std::env::current_dir()?.to_string_lossy().into_owned()
    };
    let mut parts: Vec<&str> = base.split('/').filter(|s| !s.is_empty()).collect();
    let given: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    for (k, part) in given.iter().enumerate() {
        let last = k + 1 == given.len();
        match *part {
            "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
        let here = format!("/{}", parts.join("/"));
        let required = match exist {
            Exist::All => true,
            Exist::AllButLast => !last,
            Exist::Nothing => false,
        };
        if required || (!last && exist != Exist::Nothing) {
            let m = fs::metadata(&here)?;
            if !last && !m.is_dir() {
                return Err(io::ErrorKind::NotADirectory.into());
            }
        }
    }
    Ok(format!("/{}", parts.join("/")))
}

/// readlink (no links exist: without -f/-e/-m it finds none) and realpath.
#[inline(never)]
pub fn resolve_paths(tool: &str, args: &[String], io: &mut Io) -> i32 {
    let p = match parse(args, "femnqsvz", "") {
        Ok(p) => p,
        Err(m) => {
            return usage(io, tool, &m);
        }
    };
    if p.operands.is_empty() {
        return usage(io, tool, "missing operand");
    }
    let exist = if p.has('e') {
        Exist::All
    } else if p.has('m') {
        Exist::Nothing
    } else if p.has('f') || tool == "realpath" {
        Exist::AllButLast
    } else {
        // Plain readlink: nothing is a symbolic link, so every operand fails, silently.
        return 1;
    };
    let end = if p.has('z') { "\0" } else { "\n" };
    let mut status = 0;
    for name in &p.operands {
        match canonical(name, io.cwd, exist) {
            Ok(c) => {
                if let Err(e) = write!(io.stdout, "{c}{end}") {
                    return write_error(io.stderr, tool, &e);
                }
            }
            Err(e) => {
                if (tool != "readlink" || p.has('v')) && !p.has('q') {
                    fail(io, tool, name, &e);
                }
                status = 1;
            }
        }
    }
    status
}
