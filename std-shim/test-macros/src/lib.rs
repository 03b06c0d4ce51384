//! `#[test]` for unit tests written against std-shim: the test's body runs as a process of its
//! own on the in-process kernel stub (`eurali_std::testing::run`), so that it can use files,
//! the environment, stdio and the rest of std-shim as a program does.
//!
//! A crate brings it in at its root, for tests only, ahead of the prelude's `#[test]`:
//!
//! ```ignore
//! #[cfg(test)]
//! #[macro_use]
//! extern crate eurali_test_macros;
//! ```
//!
//! so that the `#[test]` functions of its modules (and those `rstest` generates) are unchanged.
//! The test function keeps its other attributes (`#[should_panic]`, `#[ignore]`, lints) and may
//! return `()` or a `Result` whose error is `Debug` (an `Err` fails the test, as in std).
#![forbid(unsafe_code)]

use proc_macro::{Delimiter, Group, TokenStream, TokenTree};

/// The test attribute: see the crate documentation.
#[proc_macro_attribute]
pub fn test(attr: TokenStream, item: TokenStream) -> TokenStream {
    match expand(attr, item) {
        Ok(ts) => ts,
        Err(msg) => format!("::core::compile_error!({msg:?});").parse().unwrap(),
    }
}

fn expand(attr: TokenStream, item: TokenStream) -> Result<TokenStream, String> {
    if !attr.is_empty() {
        return Err("#[test] takes no arguments".into());
    }
    let tokens: Vec<TokenTree> = item.into_iter().collect();
    // Outer attributes, qualifiers, `fn`, the name, `()`, an optional return type, the body.
    let fn_at = tokens
        .iter()
        .position(|t| matches!(t, TokenTree::Ident(i) if i.to_string() == "fn"))
        .ok_or("#[test] applies to a function")?;
    let name = match tokens.get(fn_at + 1) {
        Some(TokenTree::Ident(i)) => i.clone(),
        _ => return Err("#[test]: expected the function's name after `fn`".into()),
    };
    match tokens.get(fn_at + 2) {
        Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Parenthesis => {
            if !g.stream().is_empty() {
                return Err("#[test] functions take no arguments".into());
            }
        }
        _ => return Err("#[test] functions are not generic".into()),
    }
    let body = match tokens.last() {
        Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Brace => g.clone(),
        _ => return Err("#[test]: expected the function's body".into()),
    };
    let ret: TokenStream = tokens[fn_at + 3..tokens.len() - 1]
        .iter()
        .cloned()
        .collect();
    // Attributes (`#` `[...]`) stay on the test; qualifiers (`pub`, `async`...) are dropped with
    // the signature, which is rebuilt.
    let mut attrs = TokenStream::new();
    let mut i = 0;
    while i + 1 < fn_at {
        if let (TokenTree::Punct(p), TokenTree::Group(g)) = (&tokens[i], &tokens[i + 1])
            && p.as_char() == '#'
            && g.delimiter() == Delimiter::Bracket
        {
            attrs.extend([tokens[i].clone(), tokens[i + 1].clone()]);
            i += 2;
        } else {
            i += 1;
        }
    }

    let mut out: TokenStream = "#[::core::prelude::v1::test]".parse().unwrap();
    out.extend(attrs);
    out.extend("fn".parse::<TokenStream>().unwrap());
    out.extend([TokenTree::Ident(name.clone())]);
    let mut inner: TokenStream = "fn __eurali_test_body()".parse().unwrap();
    inner.extend(ret);
    inner.extend([TokenTree::Group(body)]);
    inner.extend(
        format!(
            "::std::testing::run(::core::concat!(::core::module_path!(), \"::\", {:?}), \
             || ::std::testing::Report::report(__eurali_test_body()));",
            name.to_string()
        )
        .parse::<TokenStream>()
        .unwrap(),
    );
    out.extend([
        TokenTree::Group(Group::new(Delimiter::Parenthesis, TokenStream::new())),
        TokenTree::Group(Group::new(Delimiter::Brace, inner)),
    ]);
    Ok(out)
}
