//! The tools against what GNU coreutils 9, grep 3 and tr/cut/expr gave on Linux (C.UTF-8) for
//! the same arguments and input: (arguments, stdin, status, stdout).

fn run(args: &[&str], input: &str) -> (i32, String) {
    let mut stdin = input.as_bytes();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let rest: Vec<String> = args[1..].iter().map(|s| s.to_string()).collect();
    let code = crate::run(
        args[0],
        &rest,
        &mut crate::Io::new(&mut stdin, &mut out, &mut err),
    );
    (code, String::from_utf8_lossy(&out).into_owned())
}

/// Every case that differs, one per line.
pub fn differences(cases: &[(&[&str], &str, i32, &str)]) -> String {
    let wrong: Vec<String> = cases
        .iter()
        .filter_map(|(args, input, code, out)| {
            let got = run(args, input);
            (got != (*code, out.to_string()))
                .then(|| format!("{args:?} {input:?}: got {got:?}, GNU ({code}, {out:?})"))
        })
        .collect();
    wrong.join("\n")
}

#[test]
fn as_gnu_tools() {
    let cases: &[(&[&str], &str, i32, &str)] = &[
        (&["tr", "a-z", "A-Z"], "hello World\n", 0, "HELLO WORLD\n"),
        (&["tr", "-d", "aeiou"], "education\n", 0, "dctn\n"),
        (&["tr", "-s", " "], "a   b  c\n", 0, "a b c\n"),
        (&["tr", "-s", "a-z"], "aabbccdd  ee\n", 0, "abcd  e\n"),
        (&["tr", "-cd", "0-9"], "a1b2c3\n", 0, "123"),
        (&["tr", "-c", "a-z", "_"], "ab-cd ef\n", 0, "ab_cd_ef_"),
        (
            &["tr", "[:lower:]", "[:upper:]"],
            "mixed Case\n",
            0,
            "MIXED CASE\n",
        ),
        (&["tr", "[:space:]", "\\n"], "a b\tc\n", 0, "a\nb\nc\n"),
        (&["tr", "abc", "x"], "aabbcc\n", 0, "xxxxxx\n"),
        (&["tr", "-t", "abc", "xy"], "aabbcc\n", 0, "xxyycc\n"),
        (&["tr", "a-c", "[x*]"], "abcd\n", 0, "xxxd\n"),
        (&["tr", "\\n", " "], "1\n2\n3\n", 0, "1 2 3 "),
        (&["tr", "-ds", "a", "b"], "aabbcc\n", 0, "bcc\n"),
        (&["tr", "\\101", "x"], "ABA\n", 0, "xBx\n"),
        (&["tr"], "x", 1, ""),
        (&["tr", "a"], "x", 1, ""),
        (&["tr", "a", "b", "c"], "x", 1, ""),
        (&["tr", "z-a", "x"], "x", 1, ""),
        (&["tr", "a", ""], "abc", 1, ""),
        (
            &["cut", "-d:", "-f1"],
            "root:x:0\nuser:y:1\n",
            0,
            "root\nuser\n",
        ),
        (
            &["cut", "-d:", "-f2-"],
            "root:x:0\nuser:y:1\n",
            0,
            "x:0\ny:1\n",
        ),
        (
            &["cut", "-d:", "-f1,3"],
            "root:x:0\nnodelim\n",
            0,
            "root:0\nnodelim\n",
        ),
        (
            &["cut", "-s", "-d:", "-f1"],
            "root:x:0\nnodelim\n",
            0,
            "root\n",
        ),
        (&["cut", "-c2-4"], "abcdef\nxy\n", 0, "bcd\ny\n"),
        (&["cut", "-b1,3"], "abcdef\n", 0, "ac\n"),
        (&["cut", "-c-2"], "abcdef\n", 0, "ab\n"),
        (&["cut", "-f2"], "a\tb\tc\n", 0, "b\n"),
        (
            &["cut", "-d,", "-f2", "--complement"],
            "a,b,c\n",
            0,
            "a,c\n",
        ),
        (
            &["cut", "-d:", "--output-delimiter=-", "-f1,2"],
            "a:b:c\n",
            0,
            "a-b\n",
        ),
        (&["cut"], "x", 1, ""),
        (&["cut", "-f0"], "x", 1, ""),
        (&["cut", "-d", "ab", "-f1"], "x", 1, ""),
        (&["cut", "-c1", "-d:"], "x", 1, ""),
        (&["cut", "-f3-1"], "x", 1, ""),
        (&["expr", "1", "+", "2"], "", 0, "3\n"),
        (&["expr", "10", "/", "3"], "", 0, "3\n"),
        (&["expr", "10", "%", "3"], "", 0, "1\n"),
        (&["expr", "2", "*", "3", "+", "1"], "", 0, "7\n"),
        (&["expr", "(", "2", "+", "3", ")", "*", "2"], "", 0, "10\n"),
        (&["expr", "3", "<", "10"], "", 0, "1\n"),
        (&["expr", "abc", "<", "b"], "", 0, "1\n"),
        (&["expr", "0"], "", 1, "0\n"),
        (&["expr", ""], "", 1, "\n"),
        (&["expr", "abc", ":", "a."], "", 0, "2\n"),
        (&["expr", "abc", ":", "\\(b\\)"], "", 1, "\n"),
        (&["expr", "abc", ":", "b"], "", 1, "0\n"),
        (&["expr", "hello", ":", ".*"], "", 0, "5\n"),
        (&["expr", "length", "hello"], "", 0, "5\n"),
        (&["expr", "substr", "hello", "2", "3"], "", 0, "ell\n"),
        (&["expr", "index", "hello", "l"], "", 0, "3\n"),
        (&["expr", "match", "abc", "a\\(.*\\)"], "", 0, "bc\n"),
        (&["expr", "1", "/", "0"], "", 2, ""),
        (&["expr", "a", "+", "1"], "", 2, ""),
        (&["expr", "1", "+"], "", 2, ""),
        (&["expr"], "", 2, ""),
        (&["expr", "1", "2"], "", 2, ""),
        (&["expr", "0", "|", "5"], "", 0, "5\n"),
        (&["expr", "3", "&", "0"], "", 1, "0\n"),
        (&["expr", "x", "=", "x"], "", 0, "1\n"),
        (&["expr", "5", "!=", "5"], "", 1, "0\n"),
        (&["expr", "-3", "+", "1"], "", 0, "-2\n"),
        (&["expr", "+", "length"], "", 0, "length\n"),
        (&["expr", "(", "1"], "", 2, ""),
        (&["expr", "abc", ":", "^a"], "", 0, "1\n"),
        (&["expr", "a", ":", "a*b*"], "", 0, "1\n"),
        (&["tac"], "1\n2\n3\n", 0, "3\n2\n1\n"),
        (&["tac"], "1\n2\n3", 0, "32\n1\n"),
        (&["rev"], "abc\nhello world\n", 0, "cba\ndlrow olleh\n"),
        (&["rev"], "abc", 0, "cba"),
        (&["nl"], "a\n\nb\n", 0, "     1\ta\n       \n     2\tb\n"),
        (
            &["nl", "-ba"],
            "a\n\nb\n",
            0,
            "     1\ta\n     2\t\n     3\tb\n",
        ),
        (&["nl", "-w3", "-s:"], "a\nb\n", 0, "  1:a\n  2:b\n"),
        (&["nl", "-nln"], "a\n", 0, "1     \ta\n"),
        (&["nl", "-nrz", "-w3"], "a\n", 0, "001\ta\n"),
        (&["nl", "-bx"], "a\n", 1, ""),
        (&["paste", "-s"], "1\n2\n3\n", 0, "1\t2\t3\n"),
        (&["paste", "-sd,"], "1\n2\n3\n", 0, "1,2,3\n"),
        (&["paste", "-", "-"], "1\n2\n3\n", 0, "1\t2\n3\t\n"),
        (
            &["paste", "-d:", "-", "-", "-"],
            "1\n2\n3\n4\n",
            0,
            "1:2:3\n4::\n",
        ),
        (&["fold", "-w3"], "abcdefgh\n", 0, "abc\ndef\ngh\n"),
        (
            &["fold", "-w5", "-s"],
            "ab cd ef gh\n",
            0,
            "ab \ncd \nef gh\n",
        ),
        (&["fold", "-w", "4"], "ab\tc\n", 0, "ab\n\t\nc\n"),
        (&["expand"], "a\tb\n", 0, "a       b\n"),
        (&["expand", "-t4"], "\ta\tbc\n", 0, "    a   bc\n"),
        (&["expand", "-t", "2,5"], "\ta\tb\tc\n", 0, "  a  b c\n"),
        (&["comm"], "", 1, ""),
        (&["cmp"], "", 2, ""),
        (&["head", "-c", "3"], "abcdef", 0, "abc"),
        (&["head", "-c", "-2"], "abcdef", 0, "abcd"),
        (&["head", "-n", "-1"], "1\n2\n3\n", 0, "1\n2\n"),
        (&["tail", "-c", "3"], "abcdef", 0, "def"),
        (&["tail", "-n", "+2"], "1\n2\n3\n", 0, "2\n3\n"),
        (&["tail", "-c", "+3"], "abcdef", 0, "cdef"),
        (&["tail", "-n", "0"], "1\n", 0, ""),
        (&["head", "-n", "x"], "1\n", 1, ""),
        (&["head", "-2"], "1\n2\n3\n", 0, "1\n2\n"),
        (&["tail", "-2"], "1\n2\n3\n", 0, "2\n3\n"),
        (&["grep", "-o", "a*"], "baaac\n", 0, "aaa\n"),
        (&["grep", "-c", ""], "a\n\nb\n", 0, "3\n"),
        (&["grep", "-w", "a.c"], "abc x\nabcd\n", 0, "abc x\n"),
        (&["grep", "-E", "a|b"], "xa\nc\n", 0, "xa\n"),
        (&["grep", "-x", "-F", "a.c"], "a.c\nabc\n", 0, "a.c\n"),
        (&["grep", "-v", "-e", "a", "-e", "b"], "a\nb\nc\n", 0, "c\n"),
        (&["grep", "-n", "-v", "a"], "a\nb\n", 0, "2:b\n"),
        (&["grep", "\\(ab\\)*c$"], "ababc\nab\n", 0, "ababc\n"),
        (&["grep", "-i", "[A-C]x"], "bx\nBX\nz\n", 0, "bx\nBX\n"),
        (&["grep", "[[:upper:]]"], "abc\naBc\n", 0, "aBc\n"),
        (&["grep", "-E", "^.{3}$"], "abc\nabcd\n", 0, "abc\n"),
        (&["grep", "-ow", "the"], "the other the\n", 0, "the\nthe\n"),
        (&["grep", "-e"], "", 2, ""),
        (&["grep", "-L", "a"], "b\n", 1, "(standard input)\n"),
        (&["grep", "-H", "a"], "a\n", 0, "(standard input):a\n"),
        (&["grep", ""], "x\n", 0, "x\n"),
        (&["grep", "-E", "("], "x\n", 2, ""),
        (&["grep", "\\("], "x\n", 2, ""),
        (&["grep", "-E", "a**"], "aa\n", 0, "aa\n"),
        (&["grep", "x\\{2,\\}"], "x\nxxx\n", 0, "xxx\n"),
    ];
    let wrong = differences(cases);
    assert!(wrong.is_empty(), "{wrong}");
}
