//! The un-parser: parsed commands written back as shell text (what `jobs` shows for a
//! background job).
//!
//! The text re-parses to the same command (quoting is regenerated, so it may differ in form
//! from what was typed: `"a b"` comes back as `'a b'`).

use crate::ast::{
    AndOr, Command, Compound, Connector, List, ParamOp, Pipeline, Redirect, RedirectOp, Word,
    WordPart,
};

pub fn and_or(a: &AndOr) -> String {
    let mut s = pipeline(&a.first);
    for (c, p) in &a.rest {
        s.push_str(match c {
            Connector::And => " && ",
            Connector::Or => " || ",
        });
        s.push_str(&pipeline(p));
    }
    if a.background {
        s.push_str(" &");
    }
    s
}

pub fn list(l: &List) -> String {
    let items: Vec<String> =
        l.0.iter()
            .map(|a| {
                let t = and_or(a);
                if a.background { t } else { t + ";" }
            })
            .collect();
    items.join(" ")
}

fn pipeline(p: &Pipeline) -> String {
    let stages: Vec<String> = p.commands.iter().map(command).collect();
    let s = stages.join(" | ");
    let s = if p.negate { format!("! {s}") } else { s };
    match p.time {
        Some(true) => format!("time -p {s}").trim_end().to_string(),
        Some(false) => format!("time {s}").trim_end().to_string(),
        None => s,
    }
}

fn command(c: &Command) -> String {
    match c {
        Command::Simple(s) => {
            let mut parts: Vec<String> = s
                .assignments
                .iter()
                .map(|(k, w)| format!("{k}={}", word(w)))
                .collect();
            parts.extend(s.words.iter().map(word));
            parts.extend(s.redirects.iter().map(redirect));
            parts.join(" ")
        }
        Command::Compound(c, redirects) => {
            let mut s = compound(c);
            for r in redirects {
                s.push(' ');
                s.push_str(&redirect(r));
            }
            s
        }
        Command::Function { name, body } => format!("{name}() {}", command(body)),
    }
}

fn compound(c: &Compound) -> String {
    match c {
        Compound::Group(l) => format!("{{ {} }}", list(l)),
        Compound::Subshell(l) => format!("( {} )", list(l)),
        Compound::If {
            branches,
            otherwise,
        } => {
            let mut s = String::new();
            for (i, (cond, body)) in branches.iter().enumerate() {
                s.push_str(if i == 0 { "if " } else { " elif " });
                s.push_str(&list(cond));
                s.push_str(" then ");
                s.push_str(&list(body));
            }
            if let Some(o) = otherwise {
                s.push_str(" else ");
                s.push_str(&list(o));
            }
            s.push_str(" fi");
            s
        }
        Compound::Loop {
            until,
            condition,
            body,
        } => format!(
            "{} {} do {} done",
            if *until { "until" } else { "while" },
            list(condition),
            list(body)
        ),
        Compound::For { name, words, body } => match words {
            Some(ws) => {
                let ws: Vec<String> = ws.iter().map(word).collect();
                format!("for {name} in {}; do {} done", ws.join(" "), list(body))
            }
            None => format!("for {name}; do {} done", list(body)),
        },
        Compound::Case { word: w, arms } => {
            let mut s = format!("case {} in", word(w));
            for arm in arms {
                let pats: Vec<String> = arm.patterns.iter().map(word).collect();
                let body = list(&arm.body);
                s.push_str(&format!(
                    " {}) {};;",
                    pats.join(" | "),
                    body.trim_end_matches(';')
                ));
            }
            s.push_str(" esac");
            s
        }
    }
}

fn redirect(r: &Redirect) -> String {
    let op = match r.op {
        RedirectOp::Read => "<",
        RedirectOp::Write => ">",
        RedirectOp::Clobber => ">|",
        RedirectOp::Append => ">>",
        RedirectOp::ReadWrite => "<>",
        RedirectOp::Dup => ">&",
        RedirectOp::HereDoc => "<<",
    };
    let default_fd = match r.op {
        RedirectOp::Read | RedirectOp::ReadWrite | RedirectOp::HereDoc => 0,
        _ => 1,
    };
    let fd = if r.fd == default_fd {
        String::new()
    } else {
        r.fd.to_string()
    };
    format!("{fd}{op}{}", word(&r.target))
}

fn word(w: &Word) -> String {
    w.0.iter().map(part).collect()
}

fn quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./,:=+@%".contains(c))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', "'\\''"))
}

fn part(p: &WordPart) -> String {
    let text = bare(p);
    let quoted = matches!(
        p,
        WordPart::Param { quoted: true, .. }
            | WordPart::Command { quoted: true, .. }
            | WordPart::Arith { quoted: true, .. }
            | WordPart::Length { quoted: true, .. }
            | WordPart::ParamOp { quoted: true, .. }
    );
    if quoted { format!("\"{text}\"") } else { text }
}

fn bare(p: &WordPart) -> String {
    match p {
        WordPart::Literal(s) => s.clone(),
        WordPart::Quoted(s) => quote(s),
        WordPart::Tilde => "~".into(),
        WordPart::Param { name, .. } => format!("${{{name}}}"),
        WordPart::Command { script, .. } => format!("$({})", list(script).trim_end_matches(';')),
        WordPart::Arith { expr, .. } => format!("$(({expr}))"),
        WordPart::Length { name, .. } => format!("${{#{name}}}"),
        WordPart::BadSubstitution(text) => text.clone(),
        WordPart::ParamOp {
            name,
            op,
            colon,
            word: w,
            ..
        } => {
            let op = match op {
                ParamOp::Default => "-",
                ParamOp::Assign => "=",
                ParamOp::Error => "?",
                ParamOp::Alternative => "+",
                ParamOp::RemovePrefix { longest: false } => "#",
                ParamOp::RemovePrefix { longest: true } => "##",
                ParamOp::RemoveSuffix { longest: false } => "%",
                ParamOp::RemoveSuffix { longest: true } => "%%",
            };
            let colon = if *colon { ":" } else { "" };
            format!("${{{name}{colon}{op}{}}}", word(w))
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::parse::parse;

    /// Written back, a command parses to the same thing.
    #[test]
    fn round_trips() {
        for src in [
            "sleep 5",
            "a=1 cmd 'x y' \"$v\" ${w:-d} \"${#v}$(a b)\" >out 2>&1",
            "a | b && ! c || d",
            "while true; do echo $((1 + 2)); done",
            "for i in 1 2; do echo $i; done",
            "if a; then b; elif c; then d; else e; fi",
            "case $x in a | b) echo ab;; *) echo other;; esac",
            "{ a; b; } > f",
            "echo $(date) ~/x ${#v} ${p%%.*}",
        ] {
            let l = parse(src).unwrap();
            let text = super::list(&l);
            assert_eq!(parse(&text).unwrap(), l, "{src} -> {text}");
        }
    }
}
