//! The shell's syntax tree: what [`crate::parse`] makes of a script, [`crate::interp`] runs,
//! [`crate::expand`] expands (words keep their quoting as [`WordPart`]s, since expansion depends
//! on it) and [`crate::unparse`] writes back as text.

use std::fmt;

/// A parsed script: and-or lists run one after another.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct List(pub Vec<AndOr>);

/// `a && b || c`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AndOr {
    pub first: Pipeline,
    pub rest: Vec<(Connector, Pipeline)>,
    /// Ended by `&`: run in the background.
    pub background: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Connector {
    And,
    Or,
}

/// `[time [-p]] [!] a | b | c`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pipeline {
    pub negate: bool,
    /// `time` before it: `Some(posix)`, `posix` for `time -p` (the report's format). A timed
    /// pipeline may have no commands (`time` alone).
    pub time: Option<bool>,
    pub commands: Vec<Command>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Simple(Simple),
    /// A compound command with the redirections that follow it.
    Compound(Compound, Vec<Redirect>),
    /// `name() body`.
    Function {
        name: String,
        body: Box<Command>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Simple {
    pub assignments: Vec<(String, Word)>,
    pub words: Vec<Word>,
    pub redirects: Vec<Redirect>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Compound {
    /// `{ list; }`
    Group(List),
    /// `( list )`
    Subshell(List),
    If {
        branches: Vec<(List, List)>,
        otherwise: Option<List>,
    },
    /// `while`/`until` (`until` = true).
    Loop {
        until: bool,
        condition: List,
        body: List,
    },
    /// `for name [in words]; do body; done`; `None` words means `"$@"`.
    For {
        name: String,
        words: Option<Vec<Word>>,
        body: List,
    },
    Case {
        word: Word,
        arms: Vec<CaseArm>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseArm {
    pub patterns: Vec<Word>,
    pub body: List,
}

/// The operator of a `${name OP word}` expansion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamOp {
    /// `-`: the word if unset.
    Default,
    /// `=`: assign the word if unset.
    Assign,
    /// `?`: error (with the word as message) if unset.
    Error,
    /// `+`: the word if set.
    Alternative,
    /// `#` / `##`: remove the shortest / longest matching prefix.
    RemovePrefix { longest: bool },
    /// `%` / `%%`: remove the shortest / longest matching suffix.
    RemoveSuffix { longest: bool },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redirect {
    /// The file descriptor redirected (0 for `<`, 1 for `>` unless given).
    pub fd: u32,
    pub op: RedirectOp,
    /// The file, descriptor or (for a here-document) the delimiter, quotes removed.
    pub target: Word,
    /// A here-document's body.
    pub here: Option<HereBody>,
}

/// A here-document's body: filled in once the parser has read the lines after the command
/// that redirects from it (so, shared by the redirection and the parser until then).
#[derive(Clone, Default)]
pub struct HereBody(std::sync::Arc<std::sync::OnceLock<Word>>);

impl HereBody {
    /// The body as a word (all of it quoted: no field splitting or globbing); `None` only
    /// while its command is still being parsed.
    pub fn get(&self) -> Option<&Word> {
        self.0.get()
    }

    /// Fills the body in (the parser, once it has read the lines); a second fill is ignored.
    pub(crate) fn set(&self, word: Word) {
        let _ = self.0.set(word);
    }
}

impl PartialEq for HereBody {
    fn eq(&self, other: &HereBody) -> bool {
        self.get() == other.get()
    }
}

impl Eq for HereBody {}

impl fmt::Debug for HereBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HereBody({:?})", self.get())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RedirectOp {
    /// `<`
    Read,
    /// `>`
    Write,
    /// `>|`: `>` even under `set -C`.
    Clobber,
    /// `>>`
    Append,
    /// `<>`: open to read and write (created if missing, not truncated).
    ReadWrite,
    /// `>&` / `<&`: target is a descriptor number (or `-` to close).
    Dup,
    /// `<<` and `<<-`: the body is in [`Redirect::here`].
    HereDoc,
}

/// A word: parts that expand differently.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Word(pub Vec<WordPart>);

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WordPart {
    /// Unquoted text: subject to globbing.
    Literal(String),
    /// Quoted or escaped text: taken as it is.
    Quoted(String),
    /// `$name`, `${name}`, `$?`, `$#`, `$@`, `$*`, `$0`..`$9`, `$$`; `quoted` inside `"…"`.
    Param { name: String, quoted: bool },
    /// `$(…)` or `` `…` ``.
    Command { script: List, quoted: bool },
    /// `~` at the start of a word: the home directory.
    Tilde,
    /// `$((expr))`: its text, with `$name` inside expanded before evaluation.
    Arith { expr: String, quoted: bool },
    /// `${name OP word}`: defaults, assignment, errors, alternatives and pattern removal.
    ParamOp {
        name: String,
        op: ParamOp,
        /// With `:` (`${x:-w}`): an empty value counts as unset.
        colon: bool,
        word: Word,
        quoted: bool,
    },
    /// `${#name}`: the length of the value in characters.
    Length { name: String, quoted: bool },
    /// A `${…}` of a form the shell does not know (its text): an error when it is expanded,
    /// not when it is parsed (as in dash: `if false; then echo ${x/a/b}; fi` runs).
    BadSubstitution(String),
}

impl Word {
    /// The word's text if it is one plain unquoted literal (reserved words, names).
    pub fn as_literal(&self) -> Option<&str> {
        match self.0.as_slice() {
            [WordPart::Literal(s)] => Some(s),
            _ => None,
        }
    }
}
