std::program!(tcp::main);
