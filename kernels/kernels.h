// kernels/: kernel functions in a Mahalanobis metric and the heavy steps of an RFM iteration.
//
// A kernel k_M(x, z) is a function of one pair statistic s: the squared distance
// ||x - z||_M^2 = (x - z)^T M (x - z) for the radial kernels, the inner product x^T M z for
// the quadratic one (docs/algorithms.md 2.1). Gram matrices are computed as statistics first,
// then mapped entry by entry to kernel values or to gradient weights.
//
// Gradients. For f_c(x) = sum_i alpha_ic k(x, x_i) every kernel here has
//   grad_x f_c(x) = M [ sum_i w_i(x) alpha_ic x_i  -  r x sum_i w_i(x) alpha_ic ]
// with r = 1 for radial kernels and r = 0 for the quadratic one, and the weights
//   gaussian        w = k / L^2            (k = exp(-s / (2 L^2)), the reference code)
//   gaussian_paper  w = 2 k / L            (k = exp(-s / L), the paper's text)
//   laplace         w = k / (L sqrt(s)),   0 where s = 0 (self pairs contribute 0)
//   quadratic       w = 2 s                (k = s^2)
// so the Jacobian at z_j is J_j = M H_j with H_j = X^T diag(w_j) alpha - r z_j (w_j^T alpha)^T
// (d, c), and the AGOP is G = M Ghat M with Ghat = (1/m) sum_j H~_j H~_j^T, H~ = H - mean H when
// centering (centering commutes with the constant M).
//
// Layout: X (n, d) training inputs, Z (m, d) evaluation/AGOP points, alpha (n, c),
// M (d, d) symmetric; all column-major. Memory: KernelMachine owns one (n, n) buffer for the
// kernel matrix and block-sized scratch; the caller owns everything it passes in.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "data/data.h"
#include "solvers/solvers.h"

namespace rfm {

// --- Kernel functions -----------------------------------------------------------------------

enum class KernelType { gaussian, gaussian_paper, laplace, quadratic };
const char* to_string(KernelType k);
KernelType kernel_from_string(const std::string& name);  // "gaussian", "gaussian-paper", ...

struct Kernel {
  KernelType type = KernelType::gaussian;
  double bandwidth = 2.5;  // L; unused by the quadratic kernel

  bool radial() const { return type != KernelType::quadratic; }
  double value(double s) const;   // k as a function of the statistic
  double weight(double s) const;  // w as a function of the statistic (see above)
  // The Gaussian weights are a multiple of the kernel values (w = k / L^2, or 2 k / L): that
  // factor, or 0 when w needs the statistic itself.
  double weight_per_value() const;
};

// --- Scratch memory -------------------------------------------------------------------------

// A grow-only buffer viewed as a matrix. Large temporaries live in these and are reused across
// iterations: first touch of fresh memory costs about 1.5 s per GiB on the machines we run on
// (docs/algorithms.md 2.6), more than the arithmetic of a whole iteration at p = 61. Aligned as
// Eigen aligns its matrices: vectorised sums split their work by address, so a buffer whose
// alignment varied with the heap's history would make results vary in the last bits.
class Scratch {
 public:
  Eigen::Map<MatrixXd> matrix(Eigen::Index rows, Eigen::Index cols) {
    const size_t need = static_cast<size_t>(rows) * static_cast<size_t>(cols);
    if (buf_.size() < need) buf_.resize(need);
    return Eigen::Map<MatrixXd>(buf_.data(), rows, cols);
  }
  size_t bytes() const { return buf_.size() * sizeof(double); }

 private:
  std::vector<double, Eigen::aligned_allocator<double>> buf_;
};

// The scratch of predict() and agop(), kept by a KernelMachine for the whole run.
struct KernelWorkspace {
  Scratch stats;  // predict: (block, n) kernel values
  struct PerThread {
    // W: weights (n, b), in predict a block of kernel values; Wg: the weights gathered by hot
    // coordinate (one-hot, BLAS) or transposed (b, n) for the register kernels; Hs (b*c, d);
    // the register kernels' V = W^T alpha (b, c), lane mask (b) and weight sums per training
    // point (n)
    Scratch W, Wg, Hs, V, live, R;
  };
  std::vector<PerThread> threads;
  // Hadamard route: W (n, m) when not given, P (n, n), a column block (n, block).
  Scratch W, P, Pblock;
  size_t bytes() const;
};

// --- Building blocks (reference and fast paths) ---------------------------------------------

// S(i, j) = statistic of (x_i, z_j) under M. S: (n1, n2). Dispatches to the one-hot path when
// both batches are one-hot, else the dense BLAS path. Squared distances are clamped at 0.
// The Ref versions write into S sized (n1, n2) by the caller; the MatrixXd ones resize it.
void pair_stats(const Kernel& k, const Inputs& X1, const Inputs& X2, const MatrixXd& M,
                Eigen::Ref<MatrixXd> S);
void pair_stats(const Kernel& k, const Inputs& X1, const Inputs& X2, const MatrixXd& M,
                MatrixXd& S);
void pair_stats_dense(const Kernel& k, const MatrixXd& X1, const MatrixXd& X2, const MatrixXd& M,
                      Eigen::Ref<MatrixXd> S);
// In place: S -> k(S) or S -> w(S), entry by entry.
void apply_values(const Kernel& k, Eigen::Ref<MatrixXd> S);
void apply_weights(const Kernel& k, Eigen::Ref<MatrixXd> S);
// pair_stats followed by nothing, apply_values or apply_weights; on one-hot inputs each column
// is mapped while it is in cache (one pass over S instead of three), and Gaussian values are
// products of per-point and per-coordinate exponentials. Returns whether every entry of S is
// finite.
enum class PairMap { stats, values, weights };
bool pair_matrix(const Kernel& k, const Inputs& X1, const Inputs& X2, const MatrixXd& M,
                 Eigen::Ref<MatrixXd> S, PairMap what);

// Which route computes the AGOP (docs/algorithms.md 2.6): per-point Jacobian sums on dense
// inputs (dense, 2 n m c d flops), on one-hot inputs (onehot, 2 n m c per slot), or the
// Hadamard rewrite sum_j B_j B_j^T = X^T [(alpha alpha^T) o (W W^T)] X (hadamard, n^2 m).
// automatic takes onehot for one-hot inputs, else the cheaper of dense and hadamard.
enum class AgopPath { automatic, dense, onehot, hadamard };
const char* to_string(AgopPath p);
AgopPath agop_path_from_string(const std::string& name);

struct AgopOptions {
  /// Subtract the mean Jacobian before the outer products (the reference code does).
  bool centering = true;
  /// Route for the AGOP; automatic picks by input form and flop count.
  AgopPath path = AgopPath::automatic;
  /// AGOP points per block: bounds scratch memory to about block * c * d doubles.
  int block = 256;
  /// Cache (bytes) the one-hot route's register kernels may fill with the Hs of 16 points (or
  /// of 8, when 16 do not fit); 0: the core's L2 cache. Beyond it the route sums with BLAS.
  size_t cache_bytes = 0;
};

// Ghat = (1/m) sum_j H~_j H~_j^T (d, d), so that the AGOP is M Ghat M. X: training inputs,
// Z: AGOP points. weights: the (n, m) matrix w(x_i, z_j) if the caller has it, else computed
// block by block from M.
// ws: scratch to reuse (a temporary one when null).
// weighted_alpha (radial kernels only): when given, receives W^T alpha (m, c), the sums
// sum_i w(x_i, z_j) alpha_i that the radial term needs anyway. For the Gaussian kernels, whose
// weights are a multiple of the kernel values, these are the predictions at Z times that factor.
MatrixXd agop_inner(const Kernel& k, const Inputs& X, const MatrixXd& alpha, const MatrixXd& M,
                    const Inputs& Z, const AgopOptions& opt, const MatrixXd* weights = nullptr,
                    KernelWorkspace* ws = nullptr, MatrixXd* weighted_alpha = nullptr);
// The AGOP G = M Ghat M (d, d).
MatrixXd agop(const Kernel& k, const Inputs& X, const MatrixXd& alpha, const MatrixXd& M,
              const Inputs& Z, const AgopOptions& opt, const MatrixXd* weights = nullptr,
              KernelWorkspace* ws = nullptr, MatrixXd* weighted_alpha = nullptr);

// The route automatic resolves to for these sizes (n training points, m AGOP points).
AgopPath choose_agop_path(AgopPath requested, bool one_hot, double n, double m, double c, double d);

// Naive oracles, kept next to the fast paths that the tests check against them: per-point
// loops over the gradient formulas.
// Jacobians at each z_j: (d, c) each.
std::vector<MatrixXd> jacobians_reference(const Kernel& k, const MatrixXd& X, const MatrixXd& alpha,
                                          const MatrixXd& M, const MatrixXd& Z);
MatrixXd agop_reference(const Kernel& k, const MatrixXd& X, const MatrixXd& alpha,
                        const MatrixXd& M, const MatrixXd& Z, bool centering);

// Predictions K_M(Z, X) alpha: (m, c), computed in row blocks (of at most 256 points, in
// parallel, on one-hot inputs).
MatrixXd predict(const Kernel& k, const Inputs& X, const MatrixXd& alpha, const MatrixXd& M,
                 const Inputs& Z, KernelWorkspace* ws = nullptr, int block = 2048);

// --- The heavy steps of one RFM iteration, on one backend -----------------------------------

enum class Backend { cpu, cuda };
const char* to_string(Backend b);

struct MachineOptions {
  Kernel kernel;
  SolveOptions solve;
  AgopOptions agop;
};

// Seconds spent per phase in the last calls (the summaries report them).
struct PhaseTimes {
  double gram = 0, solve = 0, agop = 0, predict = 0;
};

// Bytes the CPU machine allocates for n training points (checked against free memory by
// set_data, which refuses with a message naming both before allocating).
double cpu_memory_estimate(int n, int d, int c, bool one_hot, const MachineOptions& options);
// One line for the start of a run: the memory the backend will allocate for n training points
// (one_hot inputs with `slots` hot coordinates, or dense) and what is free, e.g.
// "about 22.41 GiB of device memory on NVIDIA H200 (138.6 GiB free)".
std::string memory_estimate_note(Backend backend, int n, int d, int c, bool one_hot, int slots,
                                 const MachineOptions& options);
// Throws InputError "needs about X GiB ... Y GiB are available" when need exceeds MemAvailable.
void check_host_memory(double need_bytes);

// Fits alpha for a given M, predicts, and computes the AGOP. The RFM loop talks only to this
// interface; create() is the one place that chooses a backend.
class KernelMachine {
 public:
  virtual ~KernelMachine() = default;
  static std::unique_ptr<KernelMachine> create(const MachineOptions& options, Backend backend);
  virtual Backend backend() const = 0;

  // X: (n, d) training inputs, Y: (n, c) targets. Allocates the (n, n) kernel buffer once.
  virtual void set_data(const Inputs& X, const MatrixXd& Y) = 0;
  // Builds K_M(X, X) and solves (K + ridge I) alpha = Y.
  virtual SolveReport fit(const MatrixXd& M) = 0;
  // (m, c) predictions of the fitted model at Z.
  virtual MatrixXd predict(const Inputs& Z) = 0;
  // (d, d) AGOP of the fitted model over Z.
  virtual MatrixXd agop(const Inputs& Z) = 0;

  virtual const MatrixXd& alpha() const = 0;
  PhaseTimes times;  // accumulated; the caller may reset it
};

// --- Devices: the CUDA backend (kernels/cuda/, issue 4) -------------------------------------

// A CUDA device as `rfm info` lists it.
struct DeviceInfo {
  int id = 0;
  std::string name;
  int cc_major = 0, cc_minor = 0;       // compute capability
  double total_gib = 0, free_gib = -1;  // memory; free_gib -1 when unknown
};

// Whether this rfm was built with the CUDA backend (RFM_HAVE_CUDA).
bool cuda_compiled();
// Whether Backend::cuda can run here: compiled in, a device present, and this build's code
// runs on device 0. When not, *why (if given) says what is missing. The answer is cached.
// It initialises the CUDA driver: a process that forks must call it in the child only.
bool cuda_available(std::string* why = nullptr);
// The CUDA devices with their memory (empty when there are none or CUDA is not compiled in).
std::vector<DeviceInfo> cuda_devices();
// Measured cuBLAS DGEMM rate (4096^3) on device 0 in GFLOP/s: the GPU's peak reference for
// rfm bench. NaN without the CUDA backend.
double cuda_dgemm_gflops();
// The backend for --device: "cpu", "cuda" (KernelMachine::create then fails clearly when no
// device is usable), or "auto": cuda when available and the precision is fp64 (the CUDA
// backend's only one), else cpu with the reason in *notice (one line, empty otherwise).
Backend backend_from_device(const std::string& device, Precision precision,
                            std::string* notice = nullptr);

}  // namespace rfm
