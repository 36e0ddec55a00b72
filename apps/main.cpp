// rfm: the command line program (DESIGN.md "The command line"). main() catches every error
// and prints one "rfm: error: ..." line with a non-zero exit.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <new>

#include "apps/commands.h"
#include "data/error.h"

// OpenMP threads that spin after a parallel region take the core that OpenBLAS's threads need
// next (2-core machines lose 10-30 % per iteration). libgomp reads OMP_WAIT_POLICY when it is
// loaded, before main, so the program re-executes itself once with the passive policy unless
// the user chose a policy.
static void prefer_passive_openmp(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY")) return;
  setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
  execv("/proc/self/exe", argv);  // returns only on failure: then run as we are
}

int main(int argc, char** argv) {
  prefer_passive_openmp(argv);
  CLI::App app{"rfm: Recursive Feature Machines for grokking modular arithmetic.\n"
               "Run `rfm SUBCOMMAND --help` for the options of each subcommand."};
  app.require_subcommand(1);
  app.set_version_flag("--version", RFM_VERSION);
  rfm::setup_all_commands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {  // one line, like every other error
    std::fprintf(stderr, "rfm: error: %s (see rfm --help)\n", e.what());
    return e.get_exit_code() != 0 ? e.get_exit_code() : 2;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "rfm: error: out of memory (the problem is too large for this machine)\n");
    return 1;
  } catch (const rfm::Error& e) {
    std::fprintf(stderr, "rfm: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rfm: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
