#![cfg_attr(target_os = "none", no_main)]
#![forbid(unsafe_code)]
std::program!(session::main);
