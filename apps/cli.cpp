// run_cli (cli.h): the command line's parse-run-report cycle, shared by main() and the Python
// module. Every error becomes one line and a non-zero status; an interrupted run ends through
// StopExit (signals.h) with status 128 + signal instead of exiting the process.
#include "apps/cli.h"

#include <cstdio>
#include <exception>
#include <new>

#include "apps/commands.h"
#include "apps/signals.h"
#include "data/error.h"

namespace rfm {

namespace {

int fail(const std::string& message, int status, std::string* error) {
  if (error)
    *error = message;
  else
    std::fprintf(stderr, "rfm: error: %s\n", message.c_str());
  return status;
}

}  // namespace

int run_cli(int argc, char** argv, std::string* error) {
  CLI::App app{
      "rfm: Recursive Feature Machines for grokking modular arithmetic.\n"
      "Run `rfm SUBCOMMAND --help` for the options of each subcommand."};
  app.require_subcommand(1);
  app.set_version_flag("--version", RFM_VERSION);
  setup_all_commands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {  // one line, like every other error
    return fail(std::string(e.what()) + " (see rfm --help)",
                e.get_exit_code() != 0 ? e.get_exit_code() : 2, error);
  } catch (const StopExit& e) {
    return e.status;
  } catch (const std::bad_alloc&) {
    return fail("out of memory (the problem is too large for this machine)", 1, error);
  } catch (const std::exception& e) {
    return fail(e.what(), 1, error);
  }
  return 0;
}

}  // namespace rfm
