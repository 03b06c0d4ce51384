//! `sh`: eurali's shell. So far its parser ([`parse`]); execution arrives with processes and
//! pipes.

pub mod expand;
pub mod line;
pub mod parse;
pub mod pattern;
pub mod test_expr;
