//! The shell's parser: POSIX sh syntax (the part eurali's shell runs) into an AST.
//!
//! Grammar (after POSIX XCU 2.10, simplified):
//! ```text
//! script    := sep* (and_or (sep+ and_or)*)? sep*          sep := ';' | newline | '&'
//! and_or    := pipeline (('&&' | '||') newline* pipeline)*
//! pipeline  := '!'? command ('|' newline* command)*
//! command   := compound redirect* | NAME '(' ')' newline* compound | simple
//! compound  := '{' list '}' | '(' list ')' | if | while | until | for | case
//! simple    := (NAME=word | word | redirect)+
//! redirect  := [fd] ('<' | '>' | '>>' | '>|' | '<&' | '>&' | '<>' | '<<' | '<<-') word
//! ```
//! A script is parsed one complete command (a line's list) at a time by [`Parser::next_command`],
//! so that a shell runs the lines before a syntax error, as POSIX shells do.
//!
//! Here-documents: `<<WORD` leaves the redirection's body empty ([`HereBody`]) until the parser
//! consumes the next newline token; the lines after it, up to the delimiter line, are the body
//! (with `<<-`, leading tabs stripped). With an unquoted delimiter the body is parsed as the
//! text of `"…"` is, except that `"` is an ordinary character.
//! Words keep their quoting as [`WordPart`]s, since expansion (variables, command substitution,
//! field splitting, globbing) depends on it and happens at run time.
//!
//! Promises: `parse` never panics on any input, and recursion is bounded ([`MAX_DEPTH`] nested
//! constructs), so a hostile script cannot exhaust the 28 KiB stack. An input that ends inside a
//! construct gives [`ErrorKind::Incomplete`], so an interactive shell can ask for more lines.

use std::fmt;

use crate::ast::{
    AndOr, CaseArm, Command, Compound, Connector, HereBody, List, ParamOp, Pipeline, Redirect,
    RedirectOp, Simple, Word, WordPart,
};

/// Deepest nesting of compound commands, substitutions and quotes accepted.
pub const MAX_DEPTH: usize = 100;

/// Why a script did not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    /// Byte offset in the input.
    pub at: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The input ended inside a construct (a quote, `if` without `fi`, a trailing `|`...).
    Incomplete(&'static str),
    /// A token that cannot stand here.
    Unexpected(String),
    /// Nesting deeper than [`MAX_DEPTH`].
    TooDeep,
    /// Syntax the shell knows but does not run.
    Unsupported(&'static str),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ErrorKind::Incomplete(what) => {
                write!(f, "syntax error: unexpected end of input ({what})")
            }
            ErrorKind::Unexpected(tok) => write!(f, "syntax error near unexpected token `{tok}'"),
            ErrorKind::TooDeep => write!(
                f,
                "syntax error: nested too deeply (limit {MAX_DEPTH}, or the stack)"
            ),
            ErrorKind::Unsupported(what) => write!(f, "{what} are not supported"),
        }
    }
}

impl Error {
    pub fn is_incomplete(&self) -> bool {
        matches!(self.kind, ErrorKind::Incomplete(_))
    }
}

/// Parses a whole script (an input that ends inside a here-document is incomplete).
pub fn parse(src: &str) -> Result<List, Error> {
    let mut p = Parser::new(src);
    p.strict_eof = true;
    let mut items = Vec::new();
    while let Some(l) = p.next_command()? {
        items.extend(l.0);
    }
    Ok(List(items))
}

/// Parses text in which only `$…` and `` `…` `` expand and a backslash quotes only `$`, `` ` ``,
/// `\` and a newline (the inside of `$((…))`, as a here-document's body is): one word, all of
/// it quoted.
pub fn parse_expanding_text(text: &str) -> Result<Word, Error> {
    let mut p = Parser::new(text);
    p.strict_eof = true;
    p.here_text()
}

/// Whether `s` is a valid variable or function name.
pub fn is_name(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(ch) if ch == '_' || ch.is_ascii_alphabetic())
        && c.all(|ch| ch == '_' || ch.is_ascii_alphanumeric())
}

const RESERVED: [&str; 17] = [
    "if", "then", "elif", "else", "fi", "do", "done", "while", "until", "for", "in", "case",
    "esac", "{", "}", "!", "time",
];

/// A parser over a script's text, one complete command at a time ([`Parser::next_command`]).
pub struct Parser<'a> {
    s: &'a [u8],
    src: &'a str,
    pos: usize,
    depth: usize,
    /// Here-documents whose bodies start after the next newline token.
    pending: Vec<PendingHereDoc>,
    /// The end of input inside a here-document is [`ErrorKind::Incomplete`] (so that an
    /// interactive shell asks for more lines), not the end of the body.
    pub strict_eof: bool,
    /// What the parser has to say that is no error (a here-document ended by the end of input).
    warnings: Vec<String>,
    /// The line number of the text's first line (in messages).
    first_line: usize,
    /// The shell's aliases, when it has some ([`parse_with_aliases`]).
    aliases: Option<&'a Aliases<'a>>,
}

/// A here-document whose body has not been read yet.
struct PendingHereDoc {
    delimiter: String,
    strip_tabs: bool,
    /// The delimiter was quoted: the body is taken as it is, without expansions.
    quoted: bool,
    body: HereBody,
}

/// Most alias replacements in one command, and the most they may make it grow.
const MAX_ALIASES: usize = 1000;
const MAX_ALIASED_LEN: usize = 1 << 20;

/// A piece of the text that an alias's value replaced.
#[derive(Clone, Debug)]
struct AliasSpan {
    start: usize,
    end: usize,
    name: String,
    /// The value ends with a blank: the word after it may be an alias too.
    blank: bool,
}

/// What the parser consults for aliases: the shell's table, the pieces of the text that are
/// replacements already, and the replacement it found (it then stops, and the text is parsed
/// again with the alias's value in place).
struct Aliases<'a> {
    lookup: &'a (dyn Fn(&str) -> Option<String> + Sync),
    spans: &'a [AliasSpan],
    found: std::sync::Mutex<Option<(usize, usize, String)>>,
}

/// Parses a script, replacing aliases as POSIX 2.3.1 has it (see [`Script`]).
pub fn parse_with_aliases(
    src: &str,
    lookup: &(dyn Fn(&str) -> Option<String> + Sync),
) -> Result<List, Error> {
    let mut script = Script::new(src, 1);
    script.strict_eof = true;
    let mut items = Vec::new();
    while let Some(l) = script.next_command(lookup)? {
        items.extend(l.0);
    }
    Ok(List(items))
}

/// A script read one complete command at a time with the aliases of the moment, as a shell
/// runs it: an alias defined by one command applies from the next one on (the next line).
///
/// POSIX 2.3.1: a command's first word (and the word after an alias whose value ends with a
/// blank) that is an alias's name, unquoted, is replaced by the alias's value before the command
/// is parsed, so the value may hold any syntax. An alias is not replaced again inside its own
/// value (`alias ls='ls -F'`). The parser stops at such a word; the text is then changed and the
/// command parsed again.
pub struct Script {
    text: String,
    /// Where the next command starts.
    pos: usize,
    spans: Vec<AliasSpan>,
    first_line: usize,
    /// As [`Parser::strict_eof`].
    pub strict_eof: bool,
    warnings: Vec<String>,
}

impl Script {
    /// `src`, whose first line is line `first_line` of its input.
    pub fn new(src: &str, first_line: usize) -> Script {
        Script {
            text: src.to_string(),
            pos: 0,
            spans: Vec::new(),
            first_line,
            strict_eof: false,
            warnings: Vec::new(),
        }
    }

    /// The next complete command, its aliases replaced by `lookup`'s values; `None` at the end.
    pub fn next_command(
        &mut self,
        lookup: &(dyn Fn(&str) -> Option<String> + Sync),
    ) -> Result<Option<List>, Error> {
        let start_len = self.text.len();
        for _ in 0..MAX_ALIASES {
            let hook = Aliases {
                lookup,
                spans: &self.spans,
                found: std::sync::Mutex::new(None),
            };
            let mut p = Parser::at(&self.text, self.pos, 0);
            p.first_line = self.first_line;
            p.strict_eof = self.strict_eof;
            p.aliases = Some(&hook);
            let r = p.next_command();
            let (end_pos, warnings) = (p.pos, p.take_warnings());
            drop(p);
            let Some((start, len, name)) =
                hook.found.into_inner().unwrap_or_else(|e| e.into_inner())
            else {
                self.warnings.extend(warnings);
                if r.is_ok() {
                    self.pos = end_pos;
                }
                return r;
            };
            let value = lookup(&name).unwrap_or_default();
            let end = start + len;
            if self.text.len() - len + value.len() > start_len + MAX_ALIASED_LEN {
                break;
            }
            let grown = value.len() as isize - len as isize;
            for s in &mut self.spans {
                if s.start >= end {
                    s.start = (s.start as isize + grown) as usize;
                }
                if s.end >= end {
                    s.end = (s.end as isize + grown) as usize;
                }
            }
            self.text.replace_range(start..end, &value);
            self.spans.push(AliasSpan {
                start,
                end: start + value.len(),
                name,
                blank: value.ends_with([' ', '\t']),
            });
        }
        Err(Error {
            kind: ErrorKind::TooDeep,
            at: self.pos,
        })
    }

    /// The line (from the first) of a byte offset in the text: where an error is.
    pub fn line_of(&self, at: usize) -> usize {
        let s = self.text.as_bytes();
        self.first_line + s[..at.min(s.len())].iter().filter(|&&b| b == b'\n').count()
    }

    /// The line the script has reached.
    pub fn line(&self) -> usize {
        self.line_of(self.pos)
    }

    /// Warnings since the last call (a here-document ended by the end of input).
    pub fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.warnings)
    }
}

fn is_meta(b: u8) -> bool {
    matches!(
        b,
        b' ' | b'\t' | b'\n' | b';' | b'&' | b'|' | b'<' | b'>' | b'(' | b')'
    )
}

impl<'a> Parser<'a> {
    /// A parser at the start of `src`.
    pub fn new(src: &'a str) -> Parser<'a> {
        Parser::at(src, 0, 0)
    }

    fn at(src: &'a str, pos: usize, depth: usize) -> Parser<'a> {
        Parser {
            s: src.as_bytes(),
            src,
            pos,
            depth,
            pending: Vec::new(),
            strict_eof: false,
            warnings: Vec::new(),
            first_line: 1,
            aliases: None,
        }
    }

    /// Counts lines from `n` (the text follows `n - 1` lines read before).
    pub fn starting_at_line(mut self, n: usize) -> Parser<'a> {
        self.first_line = n;
        self
    }

    /// The next complete command: the and-or lists up to the end of a line (and the bodies of
    /// the here-documents it starts); `None` at the end of the input.
    pub fn next_command(&mut self) -> Result<Option<List>, Error> {
        self.skip_newlines()?;
        if self.pos >= self.s.len() {
            return Ok(None);
        }
        let mut items = Vec::new();
        loop {
            if self.peek() == Some(b';') || self.peek() == Some(b'&') {
                // A separator with no command before it.
                return Err(self.unexpected());
            }
            let mut item = self.and_or(&[])?;
            self.skip_blank();
            match self.peek() {
                Some(b'&') if !self.starts_with("&&") => {
                    self.pos += 1;
                    item.background = true;
                }
                Some(b';') if !self.starts_with(";;") => self.pos += 1,
                Some(b'\n') | None => {}
                _ => return Err(self.unexpected()),
            }
            items.push(item);
            self.skip_blank();
            match self.peek() {
                Some(b'\n') => {
                    self.newline()?;
                    return Ok(Some(List(items)));
                }
                None => {
                    self.end_of_input()?;
                    return Ok(Some(List(items)));
                }
                _ => {}
            }
        }
    }

    /// The line (from 1) of a byte offset in the text: where an error is.
    pub fn line_of(&self, at: usize) -> usize {
        self.first_line
            + self.s[..at.min(self.s.len())]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
    }

    /// The line the parser has reached.
    pub fn line(&self) -> usize {
        self.line_of(self.pos)
    }

    /// Warnings since the last call (a here-document ended by the end of input).
    pub fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.warnings)
    }

    /// Consumes a newline token, then reads the bodies of the here-documents started on its
    /// line. (Not inlined: it is called all over the recursive parse.)
    #[inline(never)]
    fn newline(&mut self) -> Result<(), Error> {
        self.pos += 1;
        for h in std::mem::take(&mut self.pending) {
            self.here_body(h)?;
        }
        Ok(())
    }

    /// At the end of the input: here-documents still pending end here.
    fn end_of_input(&mut self) -> Result<(), Error> {
        for h in std::mem::take(&mut self.pending) {
            self.here_body(h)?;
        }
        Ok(())
    }

    /// Reads a here-document's body: the lines up to its delimiter line. (Not inlined: its
    /// locals would sit in the frames of the recursive parse.)
    #[inline(never)]
    fn here_body(&mut self, h: PendingHereDoc) -> Result<(), Error> {
        let start = self.pos;
        let mut text = String::new();
        // The line before ended in a backslash that joins this one to it (unquoted only).
        let mut joined = false;
        loop {
            if self.pos >= self.s.len() {
                if self.strict_eof {
                    return Err(self.err(ErrorKind::Incomplete("a here-document's delimiter")));
                }
                self.warnings.push(format!(
                    "here-document ended by the end of input (wanted `{}')",
                    h.delimiter
                ));
                break;
            }
            let end = self.s[self.pos..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(self.s.len(), |i| self.pos + i);
            let mut line = &self.src[self.pos..end];
            self.pos = (end + 1).min(self.s.len());
            if h.strip_tabs {
                line = line.trim_start_matches('\t');
            }
            if !joined && line == h.delimiter {
                break;
            }
            text.push_str(line);
            text.push('\n');
            joined = !h.quoted && line.bytes().rev().take_while(|&b| b == b'\\').count() % 2 == 1;
        }
        let word = if h.quoted {
            Word(vec![WordPart::Quoted(text)])
        } else {
            let mut sub = Parser::at(&text, 0, self.depth);
            sub.strict_eof = self.strict_eof;
            let w = sub.here_text();
            self.warnings.append(&mut sub.warnings);
            w.map_err(|e| Error {
                kind: e.kind,
                at: start + e.at,
            })?
        };
        h.body.set(word);
        Ok(())
    }

    /// An unquoted here-document's body: the whole text, expanded as inside `"…"` but with `"`
    /// an ordinary character.
    #[inline(never)]
    fn here_text(&mut self) -> Result<Word, Error> {
        let mut parts = Vec::new();
        let mut text = String::new();
        while let Some(b) = self.peek() {
            match b {
                b'\\' => {
                    self.pos += 1;
                    match self.peek() {
                        Some(b'\n') => self.pos += 1,
                        Some(c @ (b'$' | b'`' | b'\\')) => {
                            text.push(c as char);
                            self.pos += 1;
                        }
                        _ => text.push('\\'),
                    }
                }
                b'$' => match self.dollar(true)? {
                    Some(p) => {
                        push_quoted(&mut parts, std::mem::take(&mut text));
                        parts.push(p);
                    }
                    None => text.push('$'),
                },
                b'`' => {
                    push_quoted(&mut parts, std::mem::take(&mut text));
                    parts.push(self.backquote(true)?);
                }
                _ => {
                    if let Some(c) = self.next_char() {
                        text.push(c);
                    }
                }
            }
        }
        push_quoted(&mut parts, text);
        Ok(Word(parts))
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn peek_at(&self, k: usize) -> Option<u8> {
        self.s.get(self.pos + k).copied()
    }

    fn starts_with(&self, t: &str) -> bool {
        self.s[self.pos..].starts_with(t.as_bytes())
    }

    fn err(&self, kind: ErrorKind) -> Error {
        Error { kind, at: self.pos }
    }

    fn unexpected(&self) -> Error {
        if self.pos >= self.s.len() {
            return self.err(ErrorKind::Incomplete("a command"));
        }
        let word_len = self.s[self.pos..]
            .iter()
            .take_while(|&&b| !is_meta(b))
            .count();
        let end = if word_len > 0 {
            self.pos + word_len
        } else {
            (self.pos + 1..=self.s.len())
                .find(|&e| self.src.is_char_boundary(e))
                .unwrap_or(self.s.len())
        };
        let mut tok = &self.src[self.pos..end];
        for op in ["&&", "||", ";;", ">>", "<<"] {
            if self.starts_with(op) {
                tok = op;
            }
        }
        if tok == "\n" {
            tok = "newline";
        }
        self.err(ErrorKind::Unexpected(tok.to_string()))
    }

    fn enter(&mut self) -> Result<(), Error> {
        self.depth += 1;
        if self.depth > MAX_DEPTH || crate::stack_low(crate::PARSE_STACK_RESERVE) {
            Err(self.err(ErrorKind::TooDeep))
        } else {
            Ok(())
        }
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    /// Skips spaces, tabs, comments and line continuations (not newlines).
    fn skip_blank(&mut self) {
        loop {
            match self.peek() {
                Some(b' ' | b'\t') => self.pos += 1,
                Some(b'\\') if self.peek_at(1) == Some(b'\n') => self.pos += 2,
                Some(b'#') => {
                    while !matches!(self.peek(), None | Some(b'\n')) {
                        self.pos += 1;
                    }
                }
                _ => return,
            }
        }
    }

    /// Skips blanks and newlines (reading the here-documents they end).
    fn skip_newlines(&mut self) -> Result<(), Error> {
        loop {
            self.skip_blank();
            if self.peek() == Some(b'\n') {
                self.newline()?;
            } else {
                return Ok(());
            }
        }
    }

    /// The next word if it is one of `words` as an unquoted literal, without consuming it.
    fn peek_reserved(&mut self, words: &[&str]) -> Option<&'static str> {
        self.skip_blank();
        let rest = &self.s[self.pos..];
        RESERVED.iter().copied().find(|w| {
            words.contains(w)
                && rest.starts_with(w.as_bytes())
                && rest.get(w.len()).is_none_or(|&b| is_meta(b))
        })
    }

    fn expect_reserved(&mut self, word: &'static str) -> Result<(), Error> {
        if self.peek_reserved(&[word]).is_some() {
            self.pos += word.len();
            Ok(())
        } else if self.pos >= self.s.len() {
            Err(self.err(ErrorKind::Incomplete(word)))
        } else {
            Err(self.unexpected())
        }
    }

    /// A list of and-or lists, ended by the end of input, `)`, `;;`, or one of the reserved
    /// `terminators` in command position.
    fn list(&mut self, terminators: &[&str]) -> Result<List, Error> {
        let mut items = Vec::new();
        loop {
            self.skip_newlines()?;
            if self.peek() == Some(b';') && !self.starts_with(";;") {
                // A separator with no command before it.
                return Err(self.unexpected());
            }
            match self.peek() {
                None | Some(b')') => return Ok(List(items)),
                _ if self.starts_with(";;") => return Ok(List(items)),
                _ => {}
            }
            if !terminators.is_empty() && self.peek_reserved(terminators).is_some() {
                return Ok(List(items));
            }
            let mut item = self.and_or(terminators)?;
            self.skip_blank();
            match self.peek() {
                Some(b'&') if !self.starts_with("&&") => {
                    self.pos += 1;
                    item.background = true;
                }
                Some(b';') if !self.starts_with(";;") => self.pos += 1,
                Some(b'\n') => self.newline()?,
                None | Some(b')') => {}
                _ if self.starts_with(";;") => {}
                _ => {
                    items.push(item);
                    if !terminators.is_empty() && self.peek_reserved(terminators).is_some() {
                        return Ok(List(items));
                    }
                    return Err(self.unexpected());
                }
            }
            items.push(item);
        }
    }

    /// A list that must hold at least one command (POSIX's compound_list).
    fn nonempty_list(&mut self, terminators: &[&str]) -> Result<List, Error> {
        let l = self.list(terminators)?;
        if l.0.is_empty() {
            self.skip_newlines()?;
            return Err(self.unexpected());
        }
        Ok(l)
    }

    fn and_or(&mut self, terminators: &[&str]) -> Result<AndOr, Error> {
        let first = self.pipeline(terminators)?;
        let mut rest = Vec::new();
        loop {
            self.skip_blank();
            let c = if self.starts_with("&&") {
                Connector::And
            } else if self.starts_with("||") {
                Connector::Or
            } else {
                return Ok(AndOr {
                    first,
                    rest,
                    background: false,
                });
            };
            self.pos += 2;
            self.skip_newlines()?;
            if self.pos >= self.s.len() {
                return Err(self.err(ErrorKind::Incomplete("a command after && or ||")));
            }
            rest.push((c, self.pipeline(terminators)?));
        }
    }

    fn pipeline(&mut self, terminators: &[&str]) -> Result<Pipeline, Error> {
        // `time [-p]`: reserved only here, before a pipeline (bash's keyword).
        let time = if self.peek_reserved(&["time"]).is_some() {
            self.pos += 4;
            self.skip_blank();
            let posix =
                self.starts_with("-p") && self.s.get(self.pos + 2).is_none_or(|&b| is_meta(b));
            if posix {
                self.pos += 2;
                self.skip_blank();
            }
            // `time` alone (before a line's end or a separator) times nothing.
            if matches!(self.peek(), None | Some(b'\n' | b';' | b'&' | b')' | b'|'))
                && !self.starts_with("|")
            {
                return Ok(Pipeline {
                    negate: false,
                    time: Some(posix),
                    commands: Vec::new(),
                });
            }
            Some(posix)
        } else {
            None
        };
        let negate = if self.peek_reserved(&["!"]).is_some() {
            self.pos += 1;
            true
        } else {
            false
        };
        let mut commands = vec![self.command(terminators)?];
        loop {
            self.skip_blank();
            if self.peek() == Some(b'|') && !self.starts_with("||") {
                self.pos += 1;
                self.skip_newlines()?;
                if self.pos >= self.s.len() {
                    return Err(self.err(ErrorKind::Incomplete("a command after |")));
                }
                commands.push(self.command(terminators)?);
            } else {
                return Ok(Pipeline {
                    negate,
                    time,
                    commands,
                });
            }
        }
    }

    fn command(&mut self, terminators: &[&str]) -> Result<Command, Error> {
        // Each level of nesting costs a few of the parser's frames: past a quarter of the
        // stack, the command is parsed on a fresh thread's stack (as the interpreter runs a deep
        // function call), so that nesting is bounded by MAX_DEPTH rather than by 28 KiB.
        if self.depth < MAX_DEPTH && crate::stack_low(crate::interp::STACK_RESERVE) {
            let me = &mut *self;
            if let Some(r) = crate::on_fresh_stack(move || me.command_checked(terminators)) {
                return r;
            }
        }
        self.command_checked(terminators)
    }

    fn command_checked(&mut self, terminators: &[&str]) -> Result<Command, Error> {
        self.enter()?;
        let r = self.command_inner(terminators);
        self.leave();
        r
    }

    fn command_inner(&mut self, terminators: &[&str]) -> Result<Command, Error> {
        self.skip_blank();
        if let Some(c) = self.compound()? {
            let redirects = self.redirects()?;
            return Ok(Command::Compound(c, redirects));
        }
        if self.pos >= self.s.len() {
            return Err(self.err(ErrorKind::Incomplete("a command")));
        }
        if !terminators.is_empty() && self.peek_reserved(terminators).is_some() {
            return Err(self.unexpected());
        }
        if self
            .peek_reserved(&[
                "then", "elif", "else", "fi", "do", "done", "esac", "}", "in", "!",
            ])
            .is_some()
        {
            return Err(self.unexpected());
        }
        // `name ( )` starts a function definition.
        let save = self.pos;
        let name_len = self.s[self.pos..]
            .iter()
            .take_while(|&&b| b == b'_' || b.is_ascii_alphanumeric())
            .count();
        if name_len > 0 {
            let name = &self.src[self.pos..self.pos + name_len];
            self.pos += name_len;
            self.skip_blank();
            if is_name(name) && self.peek() == Some(b'(') {
                // An alias is replaced before the parser sees `name (` (`alias a=; a ( … )`).
                if self.s.get(save + name_len).is_some_and(|&b| is_meta(b))
                    && self.alias_found(name, save, name_len, true)
                {
                    return Err(self.err(ErrorKind::Unsupported("aliases")));
                }
                self.pos += 1;
                self.skip_blank();
                if self.peek() == Some(b')') {
                    self.pos += 1;
                    self.skip_newlines()?;
                    let body = match self.compound()? {
                        Some(c) => Command::Compound(c, self.redirects()?),
                        None if self.pos >= self.s.len() => {
                            return Err(self.err(ErrorKind::Incomplete("a function body")));
                        }
                        None => return Err(self.unexpected()),
                    };
                    return Ok(Command::Function {
                        name: name.to_string(),
                        body: Box::new(body),
                    });
                }
                return Err(self.unexpected());
            }
            self.pos = save;
        }
        self.simple()
    }

    fn compound(&mut self) -> Result<Option<Compound>, Error> {
        self.skip_blank();
        if self.peek() == Some(b'(') {
            self.pos += 1;
            let body = self.nonempty_list(&[])?;
            self.skip_newlines()?;
            if self.peek() != Some(b')') {
                return Err(if self.pos >= self.s.len() {
                    self.err(ErrorKind::Incomplete(")"))
                } else {
                    self.unexpected()
                });
            }
            self.pos += 1;
            return Ok(Some(Compound::Subshell(body)));
        }
        let Some(word) = self.peek_reserved(&["{", "if", "while", "until", "for", "case"]) else {
            return Ok(None);
        };
        self.pos += word.len();
        Ok(Some(match word {
            "{" => {
                let body = self.nonempty_list(&["}"])?;
                self.expect_reserved("}")?;
                Compound::Group(body)
            }
            "if" => {
                let mut branches = Vec::new();
                let mut otherwise = None;
                loop {
                    let cond = self.nonempty_list(&["then"])?;
                    self.expect_reserved("then")?;
                    let body = self.nonempty_list(&["elif", "else", "fi"])?;
                    branches.push((cond, body));
                    match self.peek_reserved(&["elif", "else", "fi"]) {
                        Some("elif") => self.pos += 4,
                        Some("else") => {
                            self.pos += 4;
                            otherwise = Some(self.nonempty_list(&["fi"])?);
                            self.expect_reserved("fi")?;
                            break;
                        }
                        Some(_) => {
                            self.pos += 2;
                            break;
                        }
                        None => return Err(self.expect_reserved("fi").unwrap_err()),
                    }
                }
                Compound::If {
                    branches,
                    otherwise,
                }
            }
            "while" | "until" => {
                let condition = self.nonempty_list(&["do"])?;
                self.expect_reserved("do")?;
                let body = self.nonempty_list(&["done"])?;
                self.expect_reserved("done")?;
                Compound::Loop {
                    until: word == "until",
                    condition,
                    body,
                }
            }
            "for" => {
                self.skip_blank();
                let name = self
                    .word()?
                    .and_then(|w| w.as_literal().map(str::to_string));
                let name = match name {
                    Some(n) if is_name(&n) => n,
                    _ if self.pos >= self.s.len() => {
                        return Err(self.err(ErrorKind::Incomplete("a for variable")));
                    }
                    _ => return Err(self.unexpected()),
                };
                self.skip_newlines()?;
                let mut words = None;
                if self.peek_reserved(&["in"]).is_some() {
                    self.pos += 2;
                    let mut ws = Vec::new();
                    loop {
                        self.skip_blank();
                        match self.peek() {
                            Some(b';') => {
                                self.pos += 1;
                                break;
                            }
                            Some(b'\n') => {
                                self.newline()?;
                                break;
                            }
                            None => return Err(self.err(ErrorKind::Incomplete("do"))),
                            _ => match self.word()? {
                                Some(w) => ws.push(w),
                                None => return Err(self.unexpected()),
                            },
                        }
                    }
                    words = Some(ws);
                } else if self.peek() == Some(b';') {
                    self.pos += 1;
                }
                self.skip_newlines()?;
                self.expect_reserved("do")?;
                let body = self.nonempty_list(&["done"])?;
                self.expect_reserved("done")?;
                Compound::For { name, words, body }
            }
            _ => {
                // case WORD in [(]pat[|pat]...) list ;; ... esac
                self.skip_blank();
                let word = match self.word()? {
                    Some(w) => w,
                    None if self.pos >= self.s.len() => {
                        return Err(self.err(ErrorKind::Incomplete("a case word")));
                    }
                    None => return Err(self.unexpected()),
                };
                self.skip_newlines()?;
                self.expect_reserved("in")?;
                let mut arms = Vec::new();
                loop {
                    self.skip_newlines()?;
                    if self.peek_reserved(&["esac"]).is_some() {
                        self.pos += 4;
                        break;
                    }
                    if self.peek() == Some(b'(') {
                        self.pos += 1;
                    }
                    let mut patterns = Vec::new();
                    loop {
                        self.skip_blank();
                        match self.word()? {
                            Some(w) => patterns.push(w),
                            None if self.pos >= self.s.len() => {
                                return Err(self.err(ErrorKind::Incomplete("esac")));
                            }
                            None => return Err(self.unexpected()),
                        }
                        self.skip_blank();
                        match self.peek() {
                            Some(b'|') => self.pos += 1,
                            Some(b')') => {
                                self.pos += 1;
                                break;
                            }
                            None => return Err(self.err(ErrorKind::Incomplete("esac"))),
                            _ => return Err(self.unexpected()),
                        }
                    }
                    let body = self.list(&["esac"])?;
                    arms.push(CaseArm { patterns, body });
                    self.skip_newlines()?;
                    if self.starts_with(";;") {
                        self.pos += 2;
                    } else if self.peek_reserved(&["esac"]).is_none() {
                        return Err(if self.pos >= self.s.len() {
                            self.err(ErrorKind::Incomplete("esac"))
                        } else {
                            self.unexpected()
                        });
                    }
                }
                Compound::Case { word, arms }
            }
        }))
    }

    fn redirects(&mut self) -> Result<Vec<Redirect>, Error> {
        let mut out = Vec::new();
        while let Some(r) = self.redirect()? {
            out.push(r);
        }
        Ok(out)
    }

    /// A redirection at the current position, if there is one.
    fn redirect(&mut self) -> Result<Option<Redirect>, Error> {
        self.skip_blank();
        let digits = self.s[self.pos..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        let op_at = self.pos + digits;
        // A descriptor is one digit, as in dash (`echo hi 99>&1` prints `hi 99`): 0 to 9 are
        // all a shell has.
        if digits > 1 || !matches!(self.s.get(op_at), Some(b'<' | b'>')) {
            return Ok(None);
        }
        let rest = &self.s[op_at..];
        let (op, len, default_fd) = if rest.starts_with(b"<<-") {
            (RedirectOp::HereDoc, 3, 0)
        } else if rest.starts_with(b"<<") {
            (RedirectOp::HereDoc, 2, 0)
        } else if rest.starts_with(b">>") {
            (RedirectOp::Append, 2, 1)
        } else if rest.starts_with(b">&") {
            (RedirectOp::Dup, 2, 1)
        } else if rest.starts_with(b"<&") {
            (RedirectOp::Dup, 2, 0)
        } else if rest.starts_with(b">|") {
            (RedirectOp::Clobber, 2, 1)
        } else if rest.starts_with(b"<>") {
            (RedirectOp::ReadWrite, 2, 0)
        } else if rest[0] == b'>' {
            (RedirectOp::Write, 1, 1)
        } else {
            (RedirectOp::Read, 1, 0)
        };
        let fd = if digits == 0 {
            default_fd
        } else {
            u32::from(self.s[self.pos] - b'0')
        };
        self.pos = op_at + len;
        self.skip_blank();
        let start = self.pos;
        let target = match self.word()? {
            Some(target) => target,
            None if self.pos >= self.s.len() => {
                return Err(self.err(ErrorKind::Incomplete("a redirection target")));
            }
            None => return Err(self.unexpected()),
        };
        if op != RedirectOp::HereDoc {
            return Ok(Some(Redirect {
                fd,
                op,
                target,
                here: None,
            }));
        }
        let (delimiter, quoted) = unquote_delimiter(&self.src[start..self.pos]);
        let body = HereBody::default();
        self.pending.push(PendingHereDoc {
            delimiter: delimiter.clone(),
            strip_tabs: len == 3,
            quoted,
            body: body.clone(),
        });
        Ok(Some(Redirect {
            fd,
            op,
            target: Word(vec![WordPart::Quoted(delimiter)]),
            here: Some(body),
        }))
    }

    fn simple(&mut self) -> Result<Command, Error> {
        let mut cmd = Simple::default();
        loop {
            if let Some(r) = self.redirect()? {
                cmd.redirects.push(r);
                continue;
            }
            self.skip_blank();
            let start = self.pos;
            let Some(w) = self.word()? else { break };
            if cmd.words.is_empty() {
                // NAME=value before the command name is an assignment.
                let text = &self.src[start..self.pos];
                if let Some(eq) = text.find('=') {
                    let name = &text[..eq];
                    if is_name(name) {
                        let mut value_parser = Parser::at(self.src, start + eq + 1, self.depth);
                        let value = value_parser.word()?.unwrap_or_default();
                        cmd.assignments.push((name.to_string(), value));
                        continue;
                    }
                }
            }
            if let Some(name) = w.as_literal()
                && self.alias_found(name, start, self.pos - start, cmd.words.is_empty())
            {
                return Err(self.err(ErrorKind::Unsupported("aliases")));
            }
            cmd.words.push(w);
        }
        if cmd.words.is_empty() && cmd.assignments.is_empty() && cmd.redirects.is_empty() {
            return Err(self.unexpected());
        }
        Ok(Command::Simple(cmd))
    }

    /// Whether the unquoted word `name` at `start` (`len` bytes of the text; a command's first word
    /// when `first`) is an alias to replace; if so, it is noted in the hook for [`Script`] to replace it.
    fn alias_found(&self, name: &str, start: usize, len: usize, first: bool) -> bool {
        let Some(a) = self.aliases else {
            return false;
        };
        let found = self.alias_position(a, start, first)
            && !a
                .spans
                .iter()
                .any(|s| s.name == name && (s.start..s.end).contains(&start))
            && (a.lookup)(name).is_some();
        if found {
            *a.found.lock().unwrap_or_else(|e| e.into_inner()) =
                Some((start, len, name.to_string()));
        }
        found
    }

    /// Whether a word at `start` is where an alias is replaced: a command's first word, or one
    /// right after an alias's value that ends with a blank (blanks and line continuations
    /// between).
    fn alias_position(&self, a: &Aliases, start: usize, first: bool) -> bool {
        first
            || a.spans.iter().any(|s| {
                s.blank && s.start < start && s.end <= start && {
                    let gap = &self.s[s.end..start];
                    let mut i = 0;
                    while i < gap.len() {
                        match gap[i] {
                            b' ' | b'\t' => i += 1,
                            b'\\' if gap.get(i + 1) == Some(&b'\n') => i += 2,
                            _ => break,
                        }
                    }
                    i == gap.len()
                }
            })
    }

    /// One word at the current position (no leading blanks), or `None` at a metacharacter.
    fn word(&mut self) -> Result<Option<Word>, Error> {
        let start = self.pos;
        let mut parts: Vec<WordPart> = Vec::new();
        let mut lit = String::new();
        if self.peek() == Some(b'~') && matches!(self.peek_at(1), None | Some(b'/'))
            || (self.peek() == Some(b'~') && self.peek_at(1).is_some_and(is_meta))
        {
            self.pos += 1;
            parts.push(WordPart::Tilde);
        }
        while let Some(b) = self.peek() {
            match b {
                _ if is_meta(b) => break,
                b'\\' => {
                    if self.peek_at(1) == Some(b'\n') {
                        self.pos += 2;
                        continue;
                    }
                    flush_literal(&mut parts, &mut lit);
                    self.pos += 1;
                    match self.next_char() {
                        Some(c) => push_quoted(&mut parts, c.to_string()),
                        None => push_quoted(&mut parts, "\\".to_string()),
                    }
                }
                b'\'' => {
                    flush_literal(&mut parts, &mut lit);
                    self.pos += 1;
                    let Some(end) = self.s[self.pos..].iter().position(|&c| c == b'\'') else {
                        self.pos = self.s.len();
                        return Err(self.err(ErrorKind::Incomplete("a closing '")));
                    };
                    push_quoted(&mut parts, self.src[self.pos..self.pos + end].to_string());
                    self.pos += end + 1;
                }
                b'"' => {
                    flush_literal(&mut parts, &mut lit);
                    self.pos += 1;
                    self.double_quoted(&mut parts)?;
                }
                b'$' => match self.dollar(false)? {
                    Some(p) => {
                        flush_literal(&mut parts, &mut lit);
                        parts.push(p);
                    }
                    None => lit.push('$'),
                },
                b'`' => {
                    flush_literal(&mut parts, &mut lit);
                    parts.push(self.backquote(false)?);
                }
                _ => {
                    if let Some(c) = self.next_char() {
                        lit.push(c);
                    }
                }
            }
        }
        flush_literal(&mut parts, &mut lit);
        if self.pos == start {
            return Ok(None);
        }
        if parts.is_empty() {
            // `""` or `''`: an empty word that still counts.
            parts.push(WordPart::Quoted(String::new()));
        }
        Ok(Some(Word(parts)))
    }

    fn next_char(&mut self) -> Option<char> {
        let c = self.src[self.pos..].chars().next()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    /// After an opening `"`: up to and including the closing one.
    fn double_quoted(&mut self, parts: &mut Vec<WordPart>) -> Result<(), Error> {
        let mut text = String::new();
        loop {
            match self.peek() {
                None => return Err(self.err(ErrorKind::Incomplete("a closing \""))),
                Some(b'"') => {
                    self.pos += 1;
                    push_quoted(parts, text);
                    return Ok(());
                }
                Some(b'\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(b'\n') => self.pos += 1,
                        Some(c @ (b'$' | b'`' | b'"' | b'\\')) => {
                            text.push(c as char);
                            self.pos += 1;
                        }
                        _ => text.push('\\'),
                    }
                }
                Some(b'$') => match self.dollar(true)? {
                    Some(p) => {
                        push_quoted(parts, std::mem::take(&mut text));
                        parts.push(p);
                    }
                    None => text.push('$'),
                },
                Some(b'`') => {
                    push_quoted(parts, std::mem::take(&mut text));
                    parts.push(self.backquote(true)?);
                }
                Some(_) => {
                    if let Some(c) = self.next_char() {
                        text.push(c);
                    }
                }
            }
        }
    }

    /// At a `$`: a parameter or command substitution; `None` (with `$` consumed) for a lone `$`.
    fn dollar(&mut self, quoted: bool) -> Result<Option<WordPart>, Error> {
        self.pos += 1;
        // A line continuation between `$` and the name goes first (`$\<newline>?` is `$?`).
        while self.peek() == Some(b'\\') && self.peek_at(1) == Some(b'\n') {
            self.pos += 2;
        }
        match self.peek() {
            Some(b'(') => {
                if self.peek_at(1) == Some(b'(') {
                    // $(( expr )): up to the `))` that closes it, parentheses balanced.
                    let start = self.pos + 2;
                    let mut depth = 0usize;
                    let mut j = start;
                    loop {
                        match self.s.get(j) {
                            None => {
                                self.pos = self.s.len();
                                return Err(self.err(ErrorKind::Incomplete("a closing ))")));
                            }
                            Some(b'(') => depth += 1,
                            Some(b')') if depth > 0 => depth -= 1,
                            Some(b')') if self.s.get(j + 1) == Some(&b')') => break,
                            Some(b')') => return Err(self.err(ErrorKind::Unexpected(")".into()))),
                            _ => {}
                        }
                        j += 1;
                    }
                    let expr = self.src[start..j].to_string();
                    self.pos = j + 2;
                    return Ok(Some(WordPart::Arith { expr, quoted }));
                }
                self.pos += 1;
                self.enter()?;
                let script = self.list(&[]);
                self.leave();
                let script = script?;
                self.skip_newlines()?;
                if self.peek() != Some(b')') {
                    return Err(if self.pos >= self.s.len() {
                        self.err(ErrorKind::Incomplete("a closing )"))
                    } else {
                        self.unexpected()
                    });
                }
                self.pos += 1;
                Ok(Some(WordPart::Command { script, quoted }))
            }
            Some(b'{') => {
                self.pos += 1;
                self.braced(quoted).map(Some)
            }
            Some(c) if c == b'_' || c.is_ascii_alphabetic() => {
                let n = self.s[self.pos..]
                    .iter()
                    .take_while(|&&b| b == b'_' || b.is_ascii_alphanumeric())
                    .count();
                let name = self.src[self.pos..self.pos + n].to_string();
                self.pos += n;
                Ok(Some(WordPart::Param { name, quoted }))
            }
            Some(c)
                if c.is_ascii_digit()
                    || matches!(c, b'?' | b'#' | b'@' | b'*' | b'$' | b'!' | b'-') =>
            {
                self.pos += 1;
                Ok(Some(WordPart::Param {
                    name: (c as char).to_string(),
                    quoted,
                }))
            }
            _ => Ok(None),
        }
    }

    /// After `${`: the name, an optional operator and its word, and the closing `}`.
    fn braced(&mut self, quoted: bool) -> Result<WordPart, Error> {
        let start = self.pos - 2;
        let bad = |p: &mut Parser| p.bad_substitution(start, quoted);
        // `${#name}`: a length (but `${#}` is the count of parameters, `${#-w}` etc. operators;
        // `${##}` is the length of `$#`).
        let length = self.peek() == Some(b'#')
            && (self
                .peek_at(1)
                .is_some_and(|c| c == b'_' || c.is_ascii_alphanumeric() || b"@*?$!".contains(&c))
                || (self.peek_at(1) == Some(b'#') && self.peek_at(2) == Some(b'}')));
        if length {
            self.pos += 1;
        }
        let name = self.param_name();
        if name.is_empty() {
            return bad(self);
        }
        if length {
            if self.peek() != Some(b'}') {
                return bad(self);
            }
            self.pos += 1;
            return Ok(WordPart::Length { name, quoted });
        }
        let (op, colon) = match (self.peek(), self.peek_at(1)) {
            (Some(b'}'), _) => {
                self.pos += 1;
                return Ok(WordPart::Param { name, quoted });
            }
            (None, _) => return Err(self.err(ErrorKind::Incomplete("a closing }"))),
            (Some(b':'), Some(c @ (b'-' | b'=' | b'?' | b'+'))) => {
                self.pos += 2;
                (simple_op(c), true)
            }
            (Some(c @ (b'-' | b'=' | b'?' | b'+')), _) => {
                self.pos += 1;
                (simple_op(c), false)
            }
            (Some(b'#'), next) => {
                let longest = next == Some(b'#');
                self.pos += 1 + longest as usize;
                (ParamOp::RemovePrefix { longest }, false)
            }
            (Some(b'%'), next) => {
                let longest = next == Some(b'%');
                self.pos += 1 + longest as usize;
                (ParamOp::RemoveSuffix { longest }, false)
            }
            _ => return bad(self),
        };
        // A pattern's word is a quoting context of its own, also inside "…" (POSIX 2.6.2).
        let pattern = matches!(
            op,
            ParamOp::RemovePrefix { .. } | ParamOp::RemoveSuffix { .. }
        );
        self.enter()?;
        let word = self.param_word(quoted && !pattern);
        self.leave();
        Ok(WordPart::ParamOp {
            name,
            op,
            colon,
            word: word?,
            quoted,
        })
    }

    /// A `${…}` of an unknown form, from its `$` at `start`: its text through the `}` that
    /// closes it, kept for an error at expansion time.
    #[inline(never)]
    fn bad_substitution(&mut self, start: usize, quoted: bool) -> Result<WordPart, Error> {
        let mut depth = 1usize;
        while depth > 0 {
            match self.peek() {
                None => return Err(self.err(ErrorKind::Incomplete("a closing }"))),
                Some(b'\\') => self.pos += 1,
                Some(b'\'') if !quoted => {
                    match self.s[self.pos + 1..].iter().position(|&c| c == b'\'') {
                        Some(n) => self.pos += n + 1,
                        None => {
                            self.pos = self.s.len();
                            return Err(self.err(ErrorKind::Incomplete("a closing '")));
                        }
                    }
                }
                Some(b'{') => depth += 1,
                Some(b'}') => depth -= 1,
                _ => {}
            }
            self.pos = (self.pos + 1).min(self.s.len());
        }
        Ok(WordPart::BadSubstitution(
            self.src[start..self.pos].to_string(),
        ))
    }

    /// A parameter name at the current position: a name, a number or one special character.
    fn param_name(&mut self) -> String {
        let rest = &self.s[self.pos..];
        let n = match rest.first() {
            Some(c) if *c == b'_' || c.is_ascii_alphabetic() => rest
                .iter()
                .take_while(|&&b| b == b'_' || b.is_ascii_alphanumeric())
                .count(),
            Some(c) if c.is_ascii_digit() => rest.iter().take_while(|b| b.is_ascii_digit()).count(),
            Some(c) if b"?#@*$!-".contains(c) => 1,
            _ => 0,
        };
        let name = self.src[self.pos..self.pos + n].to_string();
        self.pos += n;
        name
    }

    /// The word of `${name OP word}`, through the closing `}`. Inside `"…"` its text is quoted
    /// (single quotes are plain characters there); outside, quoting works as in any word.
    fn param_word(&mut self, quoted: bool) -> Result<Word, Error> {
        let mut parts: Vec<WordPart> = Vec::new();
        let mut lit = String::new();
        let flush = |parts: &mut Vec<WordPart>, lit: &mut String| {
            if quoted {
                if !lit.is_empty() {
                    push_quoted(parts, std::mem::take(lit));
                }
            } else {
                flush_literal(parts, lit);
            }
        };
        loop {
            match self.peek() {
                None => return Err(self.err(ErrorKind::Incomplete("a closing }"))),
                Some(b'}') => {
                    self.pos += 1;
                    flush(&mut parts, &mut lit);
                    return Ok(Word(parts));
                }
                Some(b'\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(b'\n') => self.pos += 1,
                        Some(c) if !quoted || b"$`\"\\}".contains(&c) => {
                            flush(&mut parts, &mut lit);
                            if let Some(c) = self.next_char() {
                                push_quoted(&mut parts, c.to_string());
                            }
                        }
                        _ => lit.push('\\'),
                    }
                }
                Some(b'\'') if !quoted => {
                    flush(&mut parts, &mut lit);
                    self.pos += 1;
                    let Some(end) = self.s[self.pos..].iter().position(|&c| c == b'\'') else {
                        self.pos = self.s.len();
                        return Err(self.err(ErrorKind::Incomplete("a closing '")));
                    };
                    push_quoted(&mut parts, self.src[self.pos..self.pos + end].to_string());
                    self.pos += end + 1;
                }
                Some(b'"') => {
                    flush(&mut parts, &mut lit);
                    self.pos += 1;
                    self.double_quoted(&mut parts)?;
                }
                Some(b'$') => match self.dollar(quoted)? {
                    Some(p) => {
                        flush(&mut parts, &mut lit);
                        parts.push(p);
                    }
                    None => lit.push('$'),
                },
                Some(b'`') => {
                    flush(&mut parts, &mut lit);
                    parts.push(self.backquote(quoted)?);
                }
                Some(_) => {
                    if let Some(c) = self.next_char() {
                        lit.push(c);
                    }
                }
            }
        }
    }

    /// At a backquote: `` `script` ``.
    fn backquote(&mut self, quoted: bool) -> Result<WordPart, Error> {
        self.pos += 1;
        let mut inner = String::new();
        loop {
            match self.peek() {
                None => return Err(self.err(ErrorKind::Incomplete("a closing `"))),
                Some(b'`') => {
                    self.pos += 1;
                    break;
                }
                // Inside "…", `\"` is a quote too (it was one before the backquotes were).
                Some(b'\\')
                    if matches!(self.peek_at(1), Some(b'`' | b'\\' | b'$'))
                        || (quoted && self.peek_at(1) == Some(b'"')) =>
                {
                    inner.push(self.s[self.pos + 1] as char);
                    self.pos += 2;
                }
                Some(_) => {
                    if let Some(c) = self.next_char() {
                        inner.push(c);
                    }
                }
            }
        }
        self.enter()?;
        let mut sub = Parser::at(&inner, 0, self.depth);
        sub.strict_eof = self.strict_eof;
        let script = sub.list(&[]).and_then(|l| sub.end_of_input().map(|()| l));
        self.warnings.append(&mut sub.warnings);
        let trailing = sub.pos < sub.s.len();
        self.leave();
        let script = script.map_err(|e| Error {
            kind: e.kind,
            at: self.pos,
        })?;
        if trailing {
            return Err(self.err(ErrorKind::Unexpected(")".to_string())));
        }
        Ok(WordPart::Command { script, quoted })
    }
}

/// A here-document's delimiter as written: its text with quotes removed, and whether any part
/// of it was quoted (then the body is not expanded).
fn unquote_delimiter(raw: &str) -> (String, bool) {
    let mut out = String::new();
    let mut quoted = false;
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                // A line continuation, not a quote.
                Some('\n') => {}
                c => {
                    quoted = true;
                    out.extend(c);
                }
            },
            '\'' => {
                quoted = true;
                out.extend(chars.by_ref().take_while(|&c| c != '\''));
            }
            '"' => {
                quoted = true;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => {
                            let n = chars.next();
                            if !matches!(n, Some('$' | '`' | '"' | '\\')) {
                                out.push('\\');
                            }
                            out.extend(n);
                        }
                        c => out.push(c),
                    }
                }
            }
            c => out.push(c),
        }
    }
    (out, quoted)
}

fn simple_op(c: u8) -> ParamOp {
    match c {
        b'-' => ParamOp::Default,
        b'=' => ParamOp::Assign,
        b'?' => ParamOp::Error,
        _ => ParamOp::Alternative,
    }
}

fn flush_literal(parts: &mut Vec<WordPart>, lit: &mut String) {
    if !lit.is_empty() {
        parts.push(WordPart::Literal(std::mem::take(lit)));
    }
}

fn push_quoted(parts: &mut Vec<WordPart>, text: String) {
    if let Some(WordPart::Quoted(prev)) = parts.last_mut() {
        prev.push_str(&text);
    } else {
        parts.push(WordPart::Quoted(text));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(s: &str) -> Word {
        Word(vec![WordPart::Literal(s.to_string())])
    }

    fn simple_words(l: &List) -> Vec<Vec<Word>> {
        l.0.iter()
            .flat_map(|a| std::iter::once(&a.first).chain(a.rest.iter().map(|(_, p)| p)))
            .flat_map(|p| p.commands.iter())
            .filter_map(|c| match c {
                Command::Simple(s) => Some(s.words.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn words_and_quoting() {
        let l = parse(r#"echo a 'b c' "d $X e" f\ g "" $(pwd) ~/x"#).unwrap();
        let w = &simple_words(&l)[0];
        assert_eq!(w[0], lit("echo"));
        assert_eq!(w[2], Word(vec![WordPart::Quoted("b c".into())]));
        assert_eq!(
            w[3],
            Word(vec![
                WordPart::Quoted("d ".into()),
                WordPart::Param {
                    name: "X".into(),
                    quoted: true
                },
                WordPart::Quoted(" e".into())
            ])
        );
        assert_eq!(
            w[4],
            Word(vec![
                WordPart::Literal("f".into()),
                WordPart::Quoted(" ".into()),
                WordPart::Literal("g".into())
            ])
        );
        assert_eq!(w[5], Word(vec![WordPart::Quoted(String::new())]));
        assert!(matches!(
            &w[6].0[0],
            WordPart::Command { quoted: false, .. }
        ));
        assert_eq!(
            w[7],
            Word(vec![WordPart::Tilde, WordPart::Literal("/x".into())])
        );
        let l = parse("echo ${HOME}x $? $# $@ $1 a$ \"\\$\\\"\"").unwrap();
        let w = &simple_words(&l)[0];
        assert_eq!(
            w[1],
            Word(vec![
                WordPart::Param {
                    name: "HOME".into(),
                    quoted: false
                },
                WordPart::Literal("x".into())
            ])
        );
        assert_eq!(w[6], lit("a$"));
        assert_eq!(w[7], Word(vec![WordPart::Quoted("$\"".into())]));
    }

    #[test]
    fn lists_pipelines_and_redirects() {
        let l = parse("a | b | c && d || ! e; f &\ng 2>&1 >out <in >>log 3> x").unwrap();
        assert_eq!(l.0.len(), 3);
        assert_eq!(l.0[0].first.commands.len(), 3);
        assert_eq!(l.0[0].rest.len(), 2);
        assert!(l.0[0].rest[1].1.negate);
        assert!(l.0[1].background);
        let Command::Simple(g) = &l.0[2].first.commands[0] else {
            panic!()
        };
        let r: Vec<(u32, RedirectOp, Option<&str>)> = g
            .redirects
            .iter()
            .map(|r| (r.fd, r.op, r.target.as_literal()))
            .collect();
        assert_eq!(
            r,
            [
                (2, RedirectOp::Dup, Some("1")),
                (1, RedirectOp::Write, Some("out")),
                (0, RedirectOp::Read, Some("in")),
                (1, RedirectOp::Append, Some("log")),
                (3, RedirectOp::Write, Some("x")),
            ]
        );
    }

    #[test]
    fn assignments_and_functions() {
        let l = parse("A=1 B=\"x y\" cmd C=2; greet() { echo hi; }").unwrap();
        let Command::Simple(s) = &l.0[0].first.commands[0] else {
            panic!()
        };
        assert_eq!(s.assignments.len(), 2);
        assert_eq!(s.assignments[0], ("A".to_string(), lit("1")));
        assert_eq!(s.words, [lit("cmd"), lit("C=2")]);
        let Command::Function { name, body } = &l.0[1].first.commands[0] else {
            panic!()
        };
        assert_eq!(name, "greet");
        assert!(matches!(**body, Command::Compound(Compound::Group(_), _)));
    }

    #[test]
    fn compound_commands() {
        let src = "if true; then echo a; elif false\nthen echo b\nelse echo c; fi
while x; do y; done
until x; do y; done
for i in 1 2 3; do echo $i; done
for j; do :; done
case $x in a|b) echo ab;; (c) echo c ;; *) ;; esac
{ a; b; } > out
( cd /; ls )";
        let l = parse(src).unwrap();
        let kinds: Vec<&Compound> =
            l.0.iter()
                .map(|a| match &a.first.commands[0] {
                    Command::Compound(c, _) => c,
                    other => panic!("{other:?}"),
                })
                .collect();
        let Compound::If {
            branches,
            otherwise,
        } = kinds[0]
        else {
            panic!()
        };
        assert_eq!(branches.len(), 2);
        assert!(otherwise.is_some());
        assert!(matches!(kinds[1], Compound::Loop { until: false, .. }));
        assert!(matches!(kinds[2], Compound::Loop { until: true, .. }));
        let Compound::For {
            name,
            words: Some(ws),
            ..
        } = kinds[3]
        else {
            panic!()
        };
        assert_eq!((name.as_str(), ws.len()), ("i", 3));
        assert!(matches!(kinds[4], Compound::For { words: None, .. }));
        let Compound::Case { arms, .. } = kinds[5] else {
            panic!()
        };
        assert_eq!(arms.len(), 3);
        assert_eq!(arms[0].patterns.len(), 2);
        assert!(arms[2].body.0.is_empty());
        let Command::Compound(Compound::Group(_), redirs) = &l.0[6].first.commands[0] else {
            panic!()
        };
        assert_eq!(redirs.len(), 1);
        assert!(matches!(kinds[7], Compound::Subshell(_)));
    }

    #[test]
    fn comments_and_continuations() {
        let l = parse("echo a # comment\necho b \\\n c # x").unwrap();
        assert_eq!(
            simple_words(&l),
            [
                vec![lit("echo"), lit("a")],
                vec![lit("echo"), lit("b"), lit("c")]
            ]
        );
        assert_eq!(parse("# only a comment\n\n").unwrap(), List(vec![]));
        assert_eq!(parse("").unwrap(), List(vec![]));
        assert_eq!(parse("echo a#b").unwrap().0.len(), 1);
        assert_eq!(simple_words(&parse("echo a#b").unwrap())[0][1], lit("a#b"));
    }

    #[test]
    fn incomplete_input_is_told_apart() {
        for src in [
            "echo 'abc",
            "echo \"abc",
            "if true; then echo",
            "a |",
            "a &&",
            "for i in 1 2",
            "case x in a) b;;",
            "$(echo",
            "f() ",
            "{ a;",
            "( a",
        ] {
            let e = parse(src).unwrap_err();
            assert!(e.is_incomplete(), "{src:?}: {e:?}");
        }
        for src in [
            "fi",
            "echo a; ;",
            ")",
            "then",
            "a | | b",
            "done",
            "a >",
            "if; then fi",
        ] {
            match parse(src) {
                Err(e) => assert!(!e.is_incomplete() || src == "a >", "{src:?}: {e:?}"),
                Ok(l) => panic!("{src:?} parsed: {l:?}"),
            }
        }
        assert!(parse("cat <<EOF").unwrap_err().is_incomplete());
        assert!(parse("cat <<EOF\nbody\n").unwrap_err().is_incomplete());
        assert!(parse("cat <<EOF\nbody\nEOF").is_ok());
        assert_eq!(
            format!("{}", parse("fi").unwrap_err()),
            "syntax error near unexpected token `fi'"
        );
    }

    fn here_text(r: &Redirect) -> Option<String> {
        let w = r.here.as_ref()?.get()?;
        Some(
            w.0.iter()
                .map(|p| match p {
                    WordPart::Quoted(s) => s.clone(),
                    WordPart::Param { name, .. } => format!("<{name}>"),
                    other => format!("{other:?}"),
                })
                .collect(),
        )
    }

    fn redirects_of(l: &List, i: usize) -> Vec<Redirect> {
        match &l.0[i].first.commands[0] {
            Command::Simple(s) => s.redirects.clone(),
            Command::Compound(_, r) => r.clone(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn here_documents() {
        let l = parse("cat <<A; cat <<-'B' | x\n$v \\$ \"q\"\nA\n\t$v\n\tB\necho next").unwrap();
        assert_eq!(l.0.len(), 3);
        let a = &redirects_of(&l, 0)[0];
        assert_eq!((a.fd, a.op), (0, RedirectOp::HereDoc));
        assert_eq!(here_text(a).unwrap(), "<v> $ \"q\"\n");
        let b = &redirects_of(&l, 1)[0];
        assert_eq!(here_text(b).unwrap(), "$v\n");
        assert_eq!(simple_words(&l)[3], [lit("echo"), lit("next")]);
        // A descriptor, a body in a substitution, a compound command's.
        let l = parse("x=$(cat 3<<E\nin\nE\n)\n{ read y; } <<E\nz\nE\n").unwrap();
        let Command::Simple(s) = &l.0[0].first.commands[0] else {
            panic!()
        };
        let [(_, Word(parts))] = s.assignments.as_slice() else {
            panic!()
        };
        let WordPart::Command { script, .. } = &parts[0] else {
            panic!()
        };
        let r = &redirects_of(script, 0)[0];
        assert_eq!((r.fd, here_text(r).unwrap().as_str()), (3, "in\n"));
        assert_eq!(here_text(&redirects_of(&l, 1)[0]).unwrap(), "z\n");
        // The end of input: incomplete for `parse`, the body so far for a script's parser.
        assert!(parse("cat <<E\nabc\n").unwrap_err().is_incomplete());
        let mut p = Parser::new("cat <<E\nabc\n");
        let l = p.next_command().unwrap().unwrap();
        assert_eq!(here_text(&redirects_of(&l, 0)[0]).unwrap(), "abc\n");
        assert_eq!(p.take_warnings().len(), 1);
        // A delimiter after a backslash-ended line is body text.
        let l = parse("cat <<E\na\\\nE\nE\n").unwrap();
        assert_eq!(here_text(&redirects_of(&l, 0)[0]).unwrap(), "aE\n");
    }

    #[test]
    fn one_command_at_a_time() {
        let mut p = Parser::new("echo a; echo b &\n\n# c\nif\n");
        assert_eq!(p.next_command().unwrap().unwrap().0.len(), 2);
        let e = p.next_command().unwrap_err();
        assert_eq!(p.line_of(e.at), 5);
        let mut p = Parser::new("a\n)\n").starting_at_line(10);
        assert!(p.next_command().unwrap().is_some());
        let e = p.next_command().unwrap_err();
        assert_eq!((p.line_of(e.at), e.is_incomplete()), (11, false));
        assert_eq!(Parser::new("  \n# x\n").next_command().unwrap(), None);
    }

    #[test]
    fn nesting_is_bounded_and_nothing_panics() {
        let deep = "$(".repeat(200) + &")".repeat(200);
        assert_eq!(
            parse(&format!("echo {deep}")).unwrap_err().kind,
            ErrorKind::TooDeep
        );
        let deep_if = "if true; then ".repeat(100) + &"fi; ".repeat(100);
        assert_eq!(parse(&deep_if).unwrap_err().kind, ErrorKind::TooDeep);
        let ok = "$(".repeat(10) + "x" + &")".repeat(10);
        assert!(parse(&format!("echo {ok}")).is_ok());
        // Every short string over the shell's alphabet: no panic.
        let alphabet = [
            "a", " ", "'", "\"", "\\", "$", "(", ")", "{", "}", "|", "&", ";", "<", ">", "\n", "`",
            "#", "if", "fi", "é", "<<", "-",
        ];
        let mut n = 0;
        for a in alphabet {
            for b in alphabet {
                for c in alphabet {
                    let s = format!("{a}{b}{c}");
                    let _ = parse(&s);
                    n += 1;
                }
            }
        }
        assert_eq!(n, alphabet.len().pow(3));
    }
}

#[cfg(test)]
mod alias_tests {
    use super::*;

    fn words(src: &str) -> Vec<Vec<String>> {
        let table = |n: &str| match n {
            "ll" => Some("ls -l ".to_string()),
            "two" => Some("echo a; echo b".to_string()),
            "ls" => Some("ls -F".to_string()),
            "loop" => Some("loop".to_string()),
            _ => None,
        };
        let l = parse_with_aliases(src, &table).unwrap();
        l.0.iter()
            .filter_map(|a| match &a.first.commands[0] {
                Command::Simple(s) => Some(
                    s.words
                        .iter()
                        .map(|w| w.as_literal().unwrap_or("?").to_string())
                        .collect(),
                ),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn aliases_replace_command_words() {
        // `ll` ends with a blank: the next word is looked up too; `ls` is not replaced inside
        // its own value, nor is a word that is not a command's first.
        assert_eq!(words("ll ls x"), [vec!["ls", "-F", "-l", "ls", "-F", "x"]]);
        assert_eq!(words("echo ll; 'll'"), [vec!["echo", "ll"], vec!["?"]]);
        assert_eq!(words("two x"), [vec!["echo", "a"], vec!["echo", "b", "x"]]);
        assert_eq!(words("loop"), [vec!["loop"]]);
        assert_eq!(words("A=1 ls"), [vec!["ls", "-F"]]);
    }
}
