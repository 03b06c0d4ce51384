//! Help for the builtins: `help` (the list), `help NAME` and `NAME --help` (bash's way), and
//! `sh --help`. Short and compiled in; `man sh` and `man NAME` have the long story.

/// `(names, usage, what it does)`: the first name is the one `help` lists, the others share
/// the entry (`chdir` is `cd`). Options follow the description, one per line.
const HELP: &[(&[&str], &str, &str)] = &[
    (
        &[":"],
        ": [ARG...]",
        "Do nothing, successfully (the arguments are expanded).",
    ),
    (
        &[".", "source"],
        ". FILE [ARG...]",
        "Run FILE's commands in this shell (FILE without a slash is looked up in $PATH).",
    ),
    (
        &["alias"],
        "alias [NAME[=VALUE]...]",
        "Define aliases, or print them (all without operands).",
    ),
    (
        &["bg"],
        "bg [%JOB]",
        "Resume a stopped job in the background.",
    ),
    (
        &["bind"],
        "bind [-r] SOURCE TARGET",
        "Show directory SOURCE also at TARGET in this shell's namespace.\n  -r  read-only",
    ),
    (&["break"], "break [N]", "Leave the innermost N (1) loops."),
    (
        &["cd", "chdir"],
        "cd [-L|-P] [DIR | -]",
        "Change the working directory to DIR ($HOME without one, $OLDPWD for -).\n  \
         -L, -P  accepted; there are no symbolic links",
    ),
    (
        &["command"],
        "command [-v|-V] NAME [ARG...]",
        "Run NAME ignoring functions; -v/-V say what NAME would run.",
    ),
    (
        &["continue"],
        "continue [N]",
        "Go to the next round of the Nth (1) enclosing loop.",
    ),
    (
        &["echo"],
        "echo [-n] [ARG...]",
        "Write the arguments, separated by spaces, and a newline.\n  -n  no newline\n\
         (echo prints --help like any other argument.)",
    ),
    (
        &["eval"],
        "eval [ARG...]",
        "Run the arguments, joined by spaces, as commands.",
    ),
    (
        &["exec"],
        "exec [COMMAND [ARG...]]",
        "Replace the shell with COMMAND; without one, make the redirections permanent.",
    ),
    (
        &["exit"],
        "exit [N]",
        "Leave the shell with status N (the last command's).",
    ),
    (
        &["export"],
        "export [-p] [NAME[=VALUE]...]",
        "Give variables to the commands the shell starts; -p or no operand lists them.",
    ),
    (&["false"], "false", "Fail: status 1."),
    (
        &["fg"],
        "fg [%JOB]",
        "Bring a job to the foreground (the current one by default).",
    ),
    (
        &["getopts"],
        "getopts OPTSTRING NAME [ARG...]",
        "Parse options from the positional parameters (or ARGs), one per call.",
    ),
    (
        &["hash"],
        "hash [-r] [NAME...]",
        "Remember or list commands' paths; -r forgets.",
    ),
    (
        &["help"],
        "help [NAME]",
        "List the builtins, or show the help of builtin NAME.",
    ),
    (
        &["history"],
        "history",
        "List the lines typed at this prompt, numbered.",
    ),
    (
        &["jobs"],
        "jobs",
        "List the jobs: number, state and command.",
    ),
    (
        &["kill"],
        "kill [-s SIGNAL | -SIGNAL] %JOB|PID... | kill -l",
        "Send a signal (TERM) to jobs or processes; -l lists the signals.",
    ),
    (
        &["local"],
        "local NAME[=VALUE]...",
        "Make variables local to a function.",
    ),
    (
        &["mount"],
        "mount [-r] SOURCE TARGET | mount -t ramdisk [-s BYTES] TARGET | mount -t fat DEV TARGET",
        "Show the server at SOURCE also at TARGET, or mount a new ramdisk, or the FAT\n\
         volume of the disk DEV (served by fatfs), in this shell's namespace (its\n\
         commands inherit it). No operand: list the mounts.\n  \
         -r  read-only",
    ),
    (
        &["ns"],
        "ns",
        "List this shell's namespace: one mount per line.",
    ),
    (
        &["printf"],
        "printf FORMAT [ARG...]",
        "Formatted output: %s %b %c %d %i %u %o %x %X %f %e %g, \\ escapes.",
    ),
    (&["pwd"], "pwd", "Print the working directory."),
    (
        &["read"],
        "read [-r] NAME...",
        "Read a line from stdin, split it by $IFS into the NAMEs.\n  \
         -r  backslashes are not escapes",
    ),
    (
        &["readonly"],
        "readonly [-p] [NAME[=VALUE]...]",
        "Make variables read-only; -p or no operand lists them.",
    ),
    (
        &["return"],
        "return [N]",
        "Leave a function or a . script with status N.",
    ),
    (
        &["set"],
        "set [-+efnuvxC] [-o OPTION] [--] [ARG...]",
        "Set shell options, or the positional parameters; alone, list the variables.",
    ),
    (
        &["shift"],
        "shift [N]",
        "Drop the first N (1) positional parameters.",
    ),
    (
        &["test", "["],
        "test EXPR | [ EXPR ]",
        "Evaluate EXPR: -e -f -d -r -w -x -s FILE, -n -z STR, = != < >, -eq -ne -lt -le\n\
         -gt -ge, ! ( ) -a -o. Status 0 true, 1 false, 2 error.",
    ),
    (
        &["times"],
        "times",
        "Print the shell's and its children's times.",
    ),
    (
        &["trap"],
        "trap [ACTION SIGNAL...] | trap -l",
        "Run ACTION when SIGNAL (INT, TERM, EXIT, ...) comes; - resets, '' ignores.",
    ),
    (&["true"], "true", "Succeed: status 0."),
    (
        &["type"],
        "type NAME...",
        "Say what each NAME is: alias, function, builtin or file.",
    ),
    (
        &["ulimit"],
        "ulimit [-a] [LIMIT]",
        "Show the limits (there are none to set).",
    ),
    (
        &["umask"],
        "umask [-S] [MODE]",
        "Show or set the file mode mask; -S symbolic.",
    ),
    (
        &["umount"],
        "umount TARGET",
        "Remove the mount at TARGET from this shell's namespace.",
    ),
    (
        &["unalias"],
        "unalias -a | NAME...",
        "Remove aliases (all with -a).",
    ),
    (
        &["unset"],
        "unset [-v|-f] NAME...",
        "Remove variables (-v) or functions (-f).",
    ),
    (
        &["wait"],
        "wait [%JOB|PID...]",
        "Wait for jobs to end; the last one's status.",
    ),
    (
        &["which"],
        "which NAME...",
        "Print the path of each command (or what it is).",
    ),
];

/// The help of builtin `name`: its usage line, then what it does.
pub fn builtin(name: &str) -> Option<String> {
    let (_, usage, what) = HELP.iter().find(|(n, _, _)| n.contains(&name))?;
    Some(format!("Usage: {usage}\n{what}\n"))
}

/// Whether `NAME --help` shows the help: all builtins but those POSIX gives their arguments to
/// (bash agrees: `echo --help` prints `--help`, `test --help` is a string test).
pub fn answers_help(name: &str) -> bool {
    !matches!(name, ":" | "true" | "false" | "echo" | "test" | "[")
}

/// `help` without an operand.
pub fn list() -> String {
    let mut s = String::from(
        "eurali sh: a POSIX shell. These are its builtins; `help NAME` shows one,\n\
         `man sh` tells the whole story, `man -k WORD` finds other commands.\n\n",
    );
    let mut col = 0;
    for (names, _, _) in HELP {
        let n = names.join(", ");
        if col + n.len() + 2 > 76 {
            s.push('\n');
            col = 0;
        }
        s.push_str("  ");
        s.push_str(&n);
        col += n.len() + 2;
    }
    s.push('\n');
    s
}

/// `sh --help`.
pub const SH: &str = "Usage: sh [-eunvxC] [-o OPTION] [-c COMMANDS [NAME [ARG...]] | FILE [ARG...]]\n\
The eurali shell: POSIX sh syntax, jobs, namespaces, line editing.\n\
Without -c or FILE it reads commands from stdin (a prompt on a terminal).\n  \
-c COMMANDS  run COMMANDS; NAME is $0, ARGs $1...\n  \
-s           read commands from stdin, ARGs are $1...\n  \
-e -u -n -v -x -C  as `set` (see `help set`)\n  \
--help       show this help and exit\n\
`help` lists the builtins; `man sh` tells more.\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_has_a_help() {
        for b in crate::interp::BUILTINS {
            let h = builtin(b).unwrap_or_else(|| panic!("no help for {b}"));
            assert!(h.starts_with("Usage: "), "{h}");
        }
        assert!(builtin("nosuch").is_none());
        assert!(list().contains("cd, chdir"));
    }
}
