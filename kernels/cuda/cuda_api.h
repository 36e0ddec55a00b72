// kernels/cuda/ as the rest of the engine sees it: no CUDA headers here (they stay inside the
// backend's own files), so kernels/machine_cpu.cpp (the factory) and tests/test_cuda.cpp can
// include it. Defined only in builds with the CUDA backend (RFM_HAVE_CUDA).
#pragma once

#include <cstddef>
#include <memory>

#include "kernels/kernels.h"

namespace rfm::cuda {

// The CUDA KernelMachine (fp64). block_bytes bounds the device scratch of one AGOP or
// prediction block (0: 1 GiB); the AGOP block is the larger of that bound and
// options.agop.block points. Throws InputError for a precision other than fp64 and
// BackendError when the device fails.
std::unique_ptr<KernelMachine> make_machine(const MachineOptions& options, size_t block_bytes = 0);

// Device memory of a run with n training points (AGOP over them), in bytes: what set_data
// checks against free device memory and rfm grok prints at the start.
struct MemoryEstimate {
  double kernel_matrix = 0, blocks = 0, rest = 0;
  double total() const { return kernel_matrix + blocks + rest; }
};
MemoryEstimate memory_estimate(int n, int d, int c, int slots, const MachineOptions& options,
                               size_t block_bytes = 0);
// AGOP points per block (the larger of what block_bytes holds, 0: 1 GiB, and --agop-block, at
// most m) and prediction rows per block.
int agop_block(int n, int c, int d, int m, const MachineOptions& o, size_t block_bytes);
int predict_block(int n, int m, size_t block_bytes);

// --- Single GPU routines on host data, for the CPU-oracle tests ----------------------------

// What pair_stats produces: the statistic, or the kernel values / weights of it.
enum class StatOutput { statistic, value, weight };
// (n, m): the output for x_i (rows of X) against z_j (rows of Z) under M, computed in the
// (n, m) layout of the Gram matrix and predictions or, when transposed, in the (m, n) layout
// of the AGOP weights (returned transposed back to (n, m)).
MatrixXd pair_stats(const Kernel& k, const Inputs& X, const Inputs& Z, const MatrixXd& M,
                    StatOutput what, bool transposed);
// Solves (A + ridge I) alpha = Y by cuSOLVER with the CPU's fallback chain. A: (n, n)
// symmetric, Y: (n, c).
SolveReport solve(const MatrixXd& A, const MatrixXd& Y, double ridge, MatrixXd& alpha);

}  // namespace rfm::cuda
