// The `rfm` command line as a function, so that the program and the Python module run the same
// code: run_cli parses the arguments, runs the subcommand and turns every error into one line.
#pragma once

#include <string>

namespace rfm {

// Runs `rfm argv[1] ...` in this process and returns the exit status. On an error the one-line
// message ("rfm: error: ..." without the prefix) goes to *error when given, else to stderr.
int run_cli(int argc, char** argv, std::string* error = nullptr);

}  // namespace rfm
