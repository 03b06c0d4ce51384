//! `sh`: eurali's shell. So far its parser ([`parse`]); execution arrives with processes and
//! pipes.

pub mod parse;
