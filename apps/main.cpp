// rfm: the command line program. main() settles the environment
// and hands over to run_cli (cli.h), which prints one "rfm: error: ..." line on any error.
#include <unistd.h>

#include <cstdlib>

#include "apps/cli.h"
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
  return rfm::run_cli(argc, argv);
}
