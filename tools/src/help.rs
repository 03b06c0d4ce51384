//! `TOOL --help`: every tool answers it the same way, before it reads any option of its own.
//!
//! The usage line and the one-line description come from the tool's entry in
//! [`crate::TOOLS`] (`"ls [-l] [PATH...]: list directories"`), so a new tool has a help as soon
//! as it is in that table; [`OPTIONS`] adds one line per option, where the tool has options.
//! The whole text is compiled in (the shell links every tool), so it stays short: `man TOOL`
//! has the long story.

/// The option lines of each tool's help (`name`, lines), in the order of [`crate::TOOLS`].
const OPTIONS: &[(&str, &str)] = &[
    ("cat", "  -n  number all output lines\n"),
    ("cmp", "  -s  say nothing, only the exit status\n"),
    (
        "comm",
        "  -1  leave out lines only in FILE1\n  -2  leave out lines only in FILE2\n  \
         -3  leave out lines in both\n",
    ),
    ("cp", "  -r, -R  copy directories and what they hold\n"),
    (
        "cut",
        "  -b LIST  select these bytes\n  -c LIST  select these characters (bytes here)\n  \
         -f LIST  select these fields\n  -d C     field delimiter (TAB)\n  \
         -s       with -f, leave out lines without a delimiter\n  \
         --complement  select all but LIST\nLIST: N, N-M, N-, -M, joined by commas.\n",
    ),
    (
        "date",
        "  -u           UTC (the only zone there is)\n  -d @SECONDS  that time, not now\n  \
         +FORMAT      strftime-like: %Y %m %d %H %M %S %a %b %F %T %s %j %Z ...\n",
    ),
    ("expand", "  -t N  tab stops every N columns (8)\n"),
    (
        "fold",
        "  -w N  width in columns (80)\n  -s    break at the last blank\n  \
         -b    count bytes, not columns\n",
    ),
    (
        "free",
        "  -b  bytes    -k  KiB (default)    -m  MiB    -h  human-readable\n",
    ),
    (
        "grep",
        "  -E  extended regexps    -F  fixed strings     -G  basic regexps (default)\n  \
         -e PAT  a pattern       -f FILE  patterns from FILE\n  \
         -i  ignore case         -v  select non-matching lines\n  \
         -w  whole words         -x  whole lines\n  \
         -c  count matching lines  -l/-L  names of files with/without a match\n  \
         -n  line numbers        -o  only the matched parts\n  \
         -H/-h  with/without file names  -m N  stop after N matches\n  \
         -q  quiet: status only  -s  no messages about unreadable files\n  \
         -r/-R  read every file under each directory (. without FILE)\n\
         Exit status: 0 a line matched, 1 none, 2 trouble.\n",
    ),
    (
        "head",
        "  -n N   first N lines (-n -N: all but the last N)\n  \
         -c N   first N bytes (-c -N: all but the last N)\n",
    ),
    ("hexdump", "  -C  canonical hex+ASCII (the only format)\n"),
    ("hostname", "  -s  the name up to its first dot\n"),
    (
        "ls",
        "  -l  long format: type, permissions, size, name\n  \
         -a  include names starting with '.'\n  -1  one name per line\n  \
         -d  list directories themselves, not what they hold\n  \
         -h  with -l, sizes as 1.5K, 12M\n  -R  list the directories below too\n",
    ),
    (
        "mkdir",
        "  -p  make parents as needed, no error if DIR exists\n",
    ),
    (
        "nl",
        "  -b STYLE  a: number all lines, t: non-empty ones (default), n: none\n  \
         -w N      number width (6)\n  -s SEP    separator after the number (TAB)\n",
    ),
    (
        "od",
        "  -A d|o|x|n  offset radix\n  -t TYPE     c, or d|o|u|x with size 1|2|4|8\n  \
         -b -c -d -o -x -s -i -l  short forms of -t\n  \
         -N N  read N bytes at most  -j N  skip N bytes first\n  \
         -v    show repeated lines too\n",
    ),
    (
        "paste",
        "  -s       one file at a time, its lines on one line\n  \
         -d LIST  delimiters to use in turn (TAB)\n",
    ),
    (
        "readlink",
        "  -f  canonical path, all but the last component must exist\n  \
         -e  every component must exist\n  -m  no component need exist\n  \
         -n  no newline after the name\n  -q, -s  quiet\n  -v  verbose\n  \
         -z  end each name with NUL\n",
    ),
    (
        "realpath",
        "  -e  every component must exist\n  -m  no component need exist\n  \
         -q  quiet\n  -z  end each name with NUL\n",
    ),
    (
        "rm",
        "  -r, -R  remove directories and what they hold\n  \
         -f      ignore missing files, never fail for them\n",
    ),
    (
        "sed",
        "  -n         print only what p/P/w ask for\n  -e SCRIPT  add SCRIPT\n  \
         -f FILE    add the script in FILE\n  -E, -r     extended regexps\n  \
         -i[SUF]    edit files in place (backup with suffix SUF)\n  \
         -s         files separately (line numbers, $)\n\
         Commands: s y p P d D n N g G h H x a i c q Q r w b t T l = z, {...}, addresses\n\
         N, $, /RE/, A,B, A,+N, first~step, !\n",
    ),
    (
        "sort",
        "  -r  reverse\n  -n  numeric (leading number)\n  -u  only the first of equal lines\n  \
         -h  numbers with K, M, G suffixes\n  -f  fold lower case to upper\n  \
         -b  ignore leading blanks\n  -s  stable: equal lines keep their order\n  \
         -t SEP  fields separated by SEP (default: blank runs)\n  \
         -k F[.C][OPTS][,F[.C][OPTS]]  sort by that key (several -k: in turn)\n",
    ),
    (
        "tail",
        "  -n N   last N lines (-n +N: from line N)\n  \
         -c N   last N bytes (-c +N: from byte N)\n  \
         -f     then follow: print what is added, until Ctrl-C\n",
    ),
    ("tee", "  -a  append to the files, do not truncate\n"),
    (
        "tr",
        "  -c, -C  complement SET1\n  -d      delete bytes in SET1\n  \
         -s      squeeze repeats of bytes in the last SET\n  -t      truncate SET1 to SET2's length\n\
         SETs: a-z ranges, \\n \\t \\NNN escapes, [:alpha:] classes, [c*N].\n",
    ),
    (
        "uniq",
        "  -c  prefix lines with their count\n  -d  only repeated lines\n  \
         -u  only lines not repeated\n",
    ),
    (
        "wc",
        "  -l  lines\n  -w  words\n  -m  characters (UTF-8)\n  -c  bytes\n\
         Without options: lines, words and bytes.\n",
    ),
];

/// The tools whose help is written out whole beside their code (their options do not fit one
/// line each).
fn own(name: &str) -> Option<&'static str> {
    Some(match name {
        "diff" => crate::diff::HELP,
        "find" => crate::find::FIND_HELP,
        "xargs" => crate::find::XARGS_HELP,
        "uname" => crate::info::UNAME_HELP,
        "stat" => crate::info::STAT_HELP,
        "du" => crate::info::DU_HELP,
        "sha256sum" => crate::sum::HELP,
        "tar" => crate::tar::HELP,
        "id" => crate::who::ID_HELP,
        _ => return None,
    })
}

/// The help of tool `name` (usage, what it does, its options), if `name` is a tool.
pub fn text(name: &str) -> Option<String> {
    if let Some(t) = own(name) {
        return Some(t.to_string());
    }
    let (_, line) = crate::TOOLS.iter().find(|(n, _)| *n == name)?;
    let (usage, what) = line.split_once(": ").unwrap_or((line, ""));
    let mut s = format!("Usage: {usage}\n");
    let mut c = what.chars();
    if let Some(first) = c.next() {
        s.push(first.to_ascii_uppercase());
        s.push_str(c.as_str());
        s.push_str(".\n");
    }
    if let Some((_, opts)) = OPTIONS.iter().find(|(n, _)| *n == name) {
        s.push_str("Options:\n");
        s.push_str(opts);
    }
    s.push_str("  --help  show this help and exit\n");
    Some(s)
}

/// Writes `name`'s help to stdout: status 0, or 1 if the write failed.
pub fn show(name: &str, io: &mut crate::Io) -> i32 {
    let text = text(name).unwrap_or_default();
    match io.stdout.write_all(text.as_bytes()) {
        Ok(()) => 0,
        Err(e) => crate::write_error(io.stderr, name, &e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tool_has_a_help_and_every_option_line_a_tool() {
        for (name, _) in crate::TOOLS {
            let t = text(name).unwrap();
            assert!(t.starts_with(&format!("Usage: {name}")), "{t}");
            assert!(t.lines().all(|l| l.len() <= 100), "{name}: {t}");
        }
        for (name, _) in OPTIONS {
            assert!(crate::tool_name(name).is_some(), "{name}");
        }
        assert_eq!(text("nosuch"), None);
    }
}
