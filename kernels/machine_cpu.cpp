// The CPU KernelMachine: pair statistics and AGOP from kernels/, solves from solvers/, BLAS
// and LAPACK (OpenBLAS) underneath (kernels.h).
#include <omp.h>

#include <chrono>
#include <fstream>
#include <limits>

#include "kernels/cuda/cuda_api.h"  // no CUDA headers: the backend module's table
#include "kernels/kernels.h"

namespace rfm {

const char* to_string(Backend b) {
  return b == Backend::cpu ? "cpu" : "cuda";
}

namespace {

// MemAvailable of /proc/meminfo in bytes, or 0 when unknown.
double available_bytes() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  double kb = 0;
  while (in >> key >> kb) {
    if (key == "MemAvailable:") return kb * 1024;
    in.ignore(256, '\n');
  }
  return 0;
}

}  // namespace

void check_host_memory(double need) {
  const double avail = available_bytes();
  const double gib = 1024.0 * 1024 * 1024;
  RFM_CHECK(avail == 0 || need <= avail,
            "this problem needs about %.1f GiB of memory and %.1f GiB are available (reduce --p "
            "or --frac, or use --agop-samples)",
            need / gib, avail / gib);
}

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

class CpuKernelMachine final : public KernelMachine {
 public:
  explicit CpuKernelMachine(const MachineOptions& o)
      : opt_(o), solver_(SpdSolver::create(o.solve)) {}

  Backend backend() const override { return Backend::cpu; }

  void set_data(const Inputs& X, const MatrixXd& Y) override {
    RFM_ASSERT(X.n() == Y.rows());
    check_host_memory(
        cpu_memory_estimate(X.n(), X.d, static_cast<int>(Y.cols()), X.one_hot(), opt_));
    X_ = X;
    Y_ = Y;
    K_.resize(X.n(), X.n());  // the solver factors it in place and restores it (symmetric)
  }

  SolveReport fit(const MatrixXd& M) override {
    auto t0 = std::chrono::steady_clock::now();
    const bool finite = pair_matrix(opt_.kernel, X_, X_, M, K_, PairMap::values);
    times.gram += seconds_since(t0);
    t0 = std::chrono::steady_clock::now();
    M_ = M;
    fitted_current_ = false;
    if (!finite) {  // LAPACK's behaviour on Inf/NaN is undefined: stop here
      alpha_.setConstant(Y_.rows(), Y_.cols(), std::numeric_limits<double>::quiet_NaN());
      SolveReport rep;
      rep.method = "none";
      rep.message = "the kernel matrix has NaN or Inf entries (is M finite and moderately scaled?)";
      return rep;
    }
    SolveReport rep = solver_->solve(K_, Y_, alpha_);
    times.solve += seconds_since(t0);
    return rep;
  }

  MatrixXd predict(const Inputs& Z) override {
    auto t0 = std::chrono::steady_clock::now();
    // K is symmetric in full after the solve (the solver restores it), so a plain GEMM, unless
    // the AGOP of this alpha has computed K alpha already (see agop()).
    MatrixXd out;
    if (Z.same_points(X_))
      out = fitted_current_ ? fitted_ : MatrixXd(K_ * alpha_);
    else
      out = rfm::predict(opt_.kernel, X_, alpha_, M_, Z, &ws_);
    times.predict += seconds_since(t0);
    return out;
  }

  MatrixXd agop(const Inputs& Z) override {
    auto t0 = std::chrono::steady_clock::now();
    // Gaussian weights are a multiple of the kernel values in K, and the Jacobians are linear
    // in (weights o alpha): K with alpha scaled serves as the weights. Other kernels compute
    // their weights a block at a time inside agop(). The Gaussian AGOP on the training points
    // sums K (factor alpha) for its radial term: the training predictions K alpha, kept for
    // predict() (a GEMM of 2 n^2 c flops fewer per iteration).
    const double per_value = opt_.kernel.weight_per_value();
    MatrixXd G;
    if (Z.same_points(X_) && per_value > 0) {
      G = rfm::agop(opt_.kernel, X_, per_value * alpha_, M_, Z, opt_.agop, &K_, &ws_, &fitted_);
      fitted_ /= per_value;
      fitted_current_ = true;
    } else {
      G = rfm::agop(opt_.kernel, X_, alpha_, M_, Z, opt_.agop, nullptr, &ws_);
    }
    times.agop += seconds_since(t0);
    return G;
  }

  const MatrixXd& alpha() const override { return alpha_; }

 private:
  MachineOptions opt_;
  std::unique_ptr<SpdSolver> solver_;
  Inputs X_;
  MatrixXd Y_, K_, alpha_, M_;  // K_: (n, n) kernel values
  MatrixXd fitted_;             // K alpha from the last AGOP, when fitted_current_
  bool fitted_current_ = false;
  KernelWorkspace ws_;  // predict and AGOP scratch, reused by every iteration
};

}  // namespace

double cpu_memory_estimate(int n, int d, int c, bool one_hot, const MachineOptions& o) {
  const double N = n, b = o.agop.block, threads = std::max(1, omp_get_max_threads());
  double bytes = N * N * 8;  // K, factored in place
  if (starting_precision(o.solve.precision, N, c) != Precision::fp64)
    bytes += N * N * 4;                            // the fp32 factor
  bytes += 2048 * N * 8;                           // prediction block
  bytes += threads * (2 * N * b + b * c * d) * 8;  // AGOP blocks
  if (choose_agop_path(o.agop.path, one_hot, N, N, c, d) == AgopPath::hadamard)
    bytes += (N * N * (o.kernel.weight_per_value() > 0 ? 1 : 2) + 2 * N * b) * 8;  // P, W, block
  return bytes;
}

std::string memory_estimate_note(Backend backend, int n, int d, int c, bool one_hot, int slots,
                                 const MachineOptions& o) {
  const double gib = 1024.0 * 1024 * 1024;
  if (backend == Backend::cpu)
    return strfmt("about %.2f GiB of host memory (%.1f GiB available)",
                  cpu_memory_estimate(n, d, c, one_hot, o) / gib, available_bytes() / gib);
  std::string why;
  const cuda::Module* cuda = cuda::module(&why);
  if (!cuda) return "no CUDA backend: " + why;
  const double need =
      cuda->memory_estimate(n, d, c, one_hot ? slots : 0, o, /*block_bytes=*/0).total();
  const std::vector<DeviceInfo> devices = cuda->devices();
  if (devices.empty()) return strfmt("about %.2f GiB of device memory", need / gib);
  return strfmt("about %.2f GiB of device memory on %s (%.1f GiB free)", need / gib,
                devices[0].name.c_str(), devices[0].free_gib);
}

std::unique_ptr<KernelMachine> KernelMachine::create(const MachineOptions& options,
                                                     Backend backend) {
  RFM_CHECK(options.kernel.bandwidth > 0 || !options.kernel.radial(), "--bandwidth %g must be > 0",
            options.kernel.bandwidth);
  RFM_CHECK(options.agop.block >= 1, "AGOP block %d must be >= 1", options.agop.block);
  if (backend == Backend::cuda) {
    if (!cuda_compiled())
      throw BackendError(
          "--device cuda: this rfm was compiled without the CUDA backend "
          "(reconfigure with -DRFM_CUDA=ON where the CUDA toolkit is installed)");
    std::string why;
    if (!cuda_available(&why))
      throw BackendError("--device cuda: no usable CUDA device: " + why +
                         " (use --device cpu, or --device auto to fall back)");
    return cuda::module()->make_machine(options, /*block_bytes=*/0);
  }
  return std::make_unique<CpuKernelMachine>(options);
}

}  // namespace rfm
