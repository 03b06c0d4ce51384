//! `eurali-guest`: the per-process loader of kernel-stub's hosted mode (started by the stub,
//! not by hand). See `kernel_stub::hosted::guest`.

fn main() {
    kernel_stub::hosted::guest::main()
}
