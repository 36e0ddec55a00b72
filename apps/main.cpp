// rfm: the command line program (DESIGN.md "The command line"). main() catches every error
// and prints one "rfm: error: ..." line with a non-zero exit.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <new>

#include "apps/commands.h"
#include "data/error.h"
#include "solvers/solvers.h"

// Two settings are read when the libraries load, before main, so the program re-executes itself
// once with them unless the user chose them:
// - OMP_WAIT_POLICY=PASSIVE: OpenMP threads that spin after a parallel region take the core that
//   OpenBLAS's threads need next (2-core machines lose 10-30 % per iteration);
// - OPENBLAS_CORETYPE: OpenBLAS 0.3.21 falls back to SSE3 kernels on CPUs newer than it knows
//   (Sapphire Rapids), a third of the DGEMM rate; name the AVX-512 or AVX2 kernels instead.
static void prefer_fast_environment(char** argv) {
  bool changed = false;
  if (!std::getenv("OMP_WAIT_POLICY")) {
    setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
    changed = true;
  }
  if (!std::getenv("OPENBLAS_CORETYPE")) {
    if (const char* core = rfm::blas_better_coretype()) {
      setenv("OPENBLAS_CORETYPE", core, 1);
      changed = true;
    }
  }
  if (changed) execv("/proc/self/exe", argv);  // returns only on failure: then run as we are
}

int main(int argc, char** argv) {
  prefer_fast_environment(argv);
  CLI::App app{
      "rfm: Recursive Feature Machines for grokking modular arithmetic.\n"
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
