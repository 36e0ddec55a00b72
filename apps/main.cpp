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

// Four settings are read when the libraries load, before main, so the program re-executes
// itself once with them unless the user chose them:
// - OMP_WAIT_POLICY=PASSIVE: OpenMP threads that spin after a parallel region take the core that
//   OpenBLAS's threads need next (2-core machines lose 10-30 % per iteration);
// - GOMP_SPINCOUNT=10000 (unless OMP_WAIT_POLICY was the user's): with PASSIVE alone each barrier
//   of the Cholesky's lookahead (two per panel) puts the threads to sleep in the kernel; a short
//   spin first keeps them on time without taking OpenBLAS's cores for long (add mod 61 on 2
//   cores, medians of 6: 0.0777 s per iteration against 0.0792 s without it, 0.0785 s at 30000);
// - OPENBLAS_THREAD_TIMEOUT=20: the same the other way round. OpenBLAS's idle threads call
//   sched_yield for 2^28 cycles (about 0.1 s) after each call, through the OpenMP regions that
//   follow (the AGOP blocks, the Gram); 2^20 cycles still keeps them awake between the calls of
//   one factorisation (add mod 61 on 2 cores: 12-18 % less time per iteration, median of 16);
// - OPENBLAS_CORETYPE: OpenBLAS 0.3.21 falls back to SSE3 kernels on CPUs newer than it knows
//   (Sapphire Rapids), a third of the DGEMM rate; name the AVX-512 or AVX2 kernels instead.
static void prefer_fast_environment(char** argv) {
  bool changed = false;
  auto prefer = [&](const char* name, const char* value) {
    if (std::getenv(name) || !value) return;
    setenv(name, value, 1);
    changed = true;
  };
  if (!std::getenv("OMP_WAIT_POLICY")) prefer("GOMP_SPINCOUNT", "10000");
  prefer("OMP_WAIT_POLICY", "PASSIVE");
  prefer("OPENBLAS_THREAD_TIMEOUT", "20");
  prefer("OPENBLAS_CORETYPE", rfm::blas_better_coretype());
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
