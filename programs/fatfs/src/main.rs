#![cfg_attr(target_os = "none", no_main)]
std::program!(fatfs::main);
