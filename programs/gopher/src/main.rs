std::program!(gopher::main);
