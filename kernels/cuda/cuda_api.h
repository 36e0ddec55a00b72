// kernels/cuda/ as the rest of the engine sees it: no CUDA headers here (they stay inside the
// backend's own files), so kernels/machine_cpu.cpp (the factory) and tests/test_cuda.cpp can
// include it.
//
// The backend is a separate shared object, librfm_cuda.so, which alone links cuBLAS, cuSOLVER
// and the CUDA runtime: the `rfm` program and the Python module load it with dlopen the first
// time a CUDA device is asked for (module() below), so that a CPU run never maps the CUDA
// libraries (about 270 MB and 0.15 s of start-up). The functions declared after Module are
// defined inside librfm_cuda.so; the rest of the engine reaches them through the table.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "kernels/kernels.h"

namespace rfm::cuda {

// The CUDA KernelMachine (fp64). block_bytes bounds the device scratch of one AGOP or
// prediction block (0: 1 GiB); the AGOP block is the larger of that bound and
// options.agop.block points. Throws InputError for a precision other than fp64 and
// BackendError when the device fails.
std::unique_ptr<KernelMachine> make_machine(const MachineOptions& options, size_t block_bytes);

// Device memory of a run with n training points (AGOP over them), in bytes: what set_data
// checks against free device memory and rfm grok prints at the start.
struct MemoryEstimate {
  double kernel_matrix = 0, blocks = 0, rest = 0;
  double total() const { return kernel_matrix + blocks + rest; }
};
MemoryEstimate memory_estimate(int n, int d, int c, int slots, const MachineOptions& options,
                               size_t block_bytes);
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

// --- Device queries behind kernels.h's cuda_available, cuda_devices, cuda_dgemm_gflops -------
bool available(std::string* why);
std::vector<DeviceInfo> devices();
double dgemm_gflops();

// --- The module's table ----------------------------------------------------------------------

// What librfm_cuda.so exports: one C function, rfm_cuda_module(abi), that returns this table
// when abi equals its own kModuleAbi (a module of another build answers nullptr). Bump
// kModuleAbi whenever the table or a type it passes changes.
constexpr int kModuleAbi = 1;
struct Module {
  bool (*available)(std::string* why);
  std::vector<DeviceInfo> (*devices)();
  double (*dgemm_gflops)();
  std::unique_ptr<KernelMachine> (*make_machine)(const MachineOptions&, size_t block_bytes);
  MemoryEstimate (*memory_estimate)(int n, int d, int c, int slots, const MachineOptions&,
                                    size_t block_bytes);
  MatrixXd (*pair_stats)(const Kernel&, const Inputs& X, const Inputs& Z, const MatrixXd& M,
                         StatOutput what, bool transposed);
  SolveReport (*solve)(const MatrixXd& A, const MatrixXd& Y, double ridge, MatrixXd& alpha);
};

// The loaded module, or nullptr with the reason in *why (when given): a build without the CUDA
// backend, no NVIDIA driver, no device, or librfm_cuda.so not found or not loadable. The
// driver is checked first (libcuda.so.1, cuInit, cuDeviceGetCount) so that a machine without a
// GPU never loads the CUDA libraries. The module is looked for at $RFM_CUDA_MODULE when set,
// else beside the object that holds this code (the program, or the Python extension), else
// beside or one level above the running program. The answer is cached.
const Module* module(std::string* why = nullptr);

}  // namespace rfm::cuda
