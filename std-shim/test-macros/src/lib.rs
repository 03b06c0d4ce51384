//! `#[test]` for unit tests written against std-shim: the test's body runs as a process of its
//! own on the in-process kernel stub (`eurali_host::testing::run`; the crate names eurali-host as a
//! host dev-dependency), so that it can use files,
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

use proc_macro::TokenStream;
use quote::quote;
use syn::{ItemFn, parse_macro_input, spanned::Spanned};

/// The test attribute: see the crate documentation.
#[proc_macro_attribute]
pub fn test(attr: TokenStream, item: TokenStream) -> TokenStream {
    if !attr.is_empty() {
        let attr = proc_macro2::TokenStream::from(attr);
        return syn::Error::new(attr.span(), "#[test] takes no arguments")
            .to_compile_error()
            .into();
    }
    let item = parse_macro_input!(item as ItemFn);
    match expand(item) {
        Ok(ts) => ts.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

fn expand(item: ItemFn) -> syn::Result<proc_macro2::TokenStream> {
    let sig = &item.sig;
    if !sig.inputs.is_empty() {
        return Err(syn::Error::new(
            sig.inputs.span(),
            "#[test] functions take no arguments",
        ));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        return Err(syn::Error::new(
            sig.generics.span(),
            "#[test] functions are not generic",
        ));
    }
    // Attributes stay on the test; qualifiers (`pub`, `async`...) are dropped with the
    // signature, which is rebuilt: the body runs inside the test process.
    let attrs = &item.attrs;
    let name = &sig.ident;
    let output = &sig.output;
    let body = &item.block;
    let label = name.to_string();
    Ok(quote! {
        #[::core::prelude::v1::test]
        #(#attrs)*
        fn #name() {
            fn __eurali_test_body() #output #body
            ::eurali_host::testing::run(
                ::core::concat!(::core::module_path!(), "::", #label),
                || ::eurali_host::testing::Report::report(__eurali_test_body()),
            );
        }
    })
}
