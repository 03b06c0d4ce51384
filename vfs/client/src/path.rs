//! Path resolution in the client.
//!
//! [`resolve`] joins a path to a working directory and normalises it: empty components and `.`
//! vanish, `..` removes the previous component and stops at the root (as in Unix, `/..` is `/`),
//! a trailing `/` is dropped. The result always starts with `/`, never ends with one (except the
//! root itself) and contains no `.`, `..` or empty component, so a kernel prefix match on it is a
//! match on whole components and cannot reach outside a mount by spelling.

use alloc::string::String;
use alloc::vec::Vec;

/// Why a path was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathError {
    /// The path (or working directory) contains a NUL byte.
    Nul,
    /// The working directory is not absolute.
    RelativeCwd,
}

/// Resolves `path` against the absolute directory `cwd`.
pub fn resolve(cwd: &str, path: &str) -> Result<String, PathError> {
    if path.contains('\0') || cwd.contains('\0') {
        return Err(PathError::Nul);
    }
    let mut parts: Vec<&str> = Vec::new();
    if !path.starts_with('/') {
        if !cwd.starts_with('/') {
            return Err(PathError::RelativeCwd);
        }
        push_components(&mut parts, cwd);
    }
    push_components(&mut parts, path);
    let mut out = String::with_capacity(path.len() + cwd.len() + 1);
    for p in &parts {
        out.push('/');
        out.push_str(p);
    }
    if out.is_empty() {
        out.push('/');
    }
    Ok(out)
}

fn push_components<'a>(parts: &mut Vec<&'a str>, path: &'a str) {
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
}

/// Whether `path` (resolved) lies at or below the directory `dir` (resolved), on whole components.
pub fn is_within(path: &str, dir: &str) -> bool {
    dir == "/"
        || path == dir
        || (path.starts_with(dir) && path.as_bytes().get(dir.len()) == Some(&b'/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_forms() {
        let cases = [
            ("/", "", "/"),
            ("/", ".", "/"),
            ("/home/user", "notes.txt", "/home/user/notes.txt"),
            ("/home/user", "../other/x", "/home/other/x"),
            ("/home/user", "/etc//passwd/", "/etc/passwd"),
            ("/home/user", "../../../../..", "/"),
            ("/a/b", "./c/./d/..", "/a/b/c"),
            ("/", "/..//../tmp", "/tmp"),
            ("/x", "..a/b", "/x/..a/b"),
            ("/", "a/../../b", "/b"),
        ];
        for (cwd, p, want) in cases {
            assert_eq!(resolve(cwd, p).unwrap(), want, "{cwd} + {p}");
        }
        assert_eq!(resolve("rel", "x"), Err(PathError::RelativeCwd));
        assert_eq!(resolve("/", "a\0b"), Err(PathError::Nul));
    }

    #[test]
    fn never_escapes_and_is_idempotent() {
        // Every combination of a few nasty components: the result is normal and stable.
        let comps = ["", ".", "..", "a", "b..", "...", "/"];
        let mut n = 0;
        for a in comps {
            for b in comps {
                for c in comps {
                    for d in comps {
                        let p = alloc::format!("{a}/{b}/{c}/{d}");
                        let r = resolve("/home/u", &p).unwrap();
                        assert!(r.starts_with('/'));
                        assert!(r == "/" || !r.ends_with('/'));
                        assert!(
                            r == "/"
                                || !r
                                    .split('/')
                                    .skip(1)
                                    .any(|c| c.is_empty() || c == "." || c == ".."),
                            "{p} -> {r}"
                        );
                        assert_eq!(resolve("/", &r).unwrap(), r);
                        n += 1;
                    }
                }
            }
        }
        assert_eq!(n, 7usize.pow(4));
    }

    #[test]
    fn within() {
        assert!(is_within("/home/u/x", "/home/u"));
        assert!(is_within("/home/u", "/home/u"));
        assert!(!is_within("/home/user2", "/home/u"));
        assert!(is_within("/anything", "/"));
    }
}
