// The CPU KernelMachine: pair statistics and AGOP from kernels/, solves from solvers/, BLAS
// and LAPACK (OpenBLAS) underneath (kernels.h).
#include <chrono>

#include "kernels/kernels.h"

namespace rfm {

const char* to_string(Backend b) { return b == Backend::cpu ? "cpu" : "cuda"; }

namespace {

bool same_points(const Inputs& a, const Inputs& b) {
  return a.d == b.d && a.hot.rows() == b.hot.rows() && a.hot.cols() == b.hot.cols() &&
         a.X.rows() == b.X.rows() && a.X.cols() == b.X.cols() && a.hot == b.hot && a.X == b.X;
}

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
    X_ = X;
    Y_ = Y;
    K_.resize(X.n(), X.n());  // kernel values, kept intact for the training predictions
    F_.resize(X.n(), X.n());  // the solver's scratch, then the AGOP weights
  }

  SolveReport fit(const MatrixXd& M) override {
    auto t0 = std::chrono::steady_clock::now();
    pair_stats(opt_.kernel, X_, X_, M, K_);
    apply_values(opt_.kernel, K_);
    times.gram += seconds_since(t0);
    t0 = std::chrono::steady_clock::now();
    F_ = K_;
    SolveReport rep = solver_->solve(F_, Y_, alpha_);
    times.solve += seconds_since(t0);
    M_ = M;
    return rep;
  }

  MatrixXd predict(const Inputs& Z) override {
    auto t0 = std::chrono::steady_clock::now();
    MatrixXd out = same_points(Z, X_) ? MatrixXd(K_ * alpha_)
                                      : rfm::predict(opt_.kernel, X_, alpha_, M_, Z, &ws_);
    times.predict += seconds_since(t0);
    return out;
  }

  MatrixXd agop(const Inputs& Z) override {
    auto t0 = std::chrono::steady_clock::now();
    // For the training points the weights fill the (n, n) buffer the solve has finished with;
    // Gaussian weights are a multiple of the kernel values already in K.
    const bool train = same_points(Z, X_);
    if (train && opt_.kernel.weight_per_value() > 0) {
      F_ = K_ * opt_.kernel.weight_per_value();
    } else if (train) {
      pair_stats(opt_.kernel, X_, X_, M_, F_);
      apply_weights(opt_.kernel, F_);
    }
    MatrixXd G = rfm::agop(opt_.kernel, X_, alpha_, M_, Z, opt_.agop, train ? &F_ : nullptr, &ws_);
    times.agop += seconds_since(t0);
    return G;
  }

  const MatrixXd& alpha() const override { return alpha_; }

 private:
  MachineOptions opt_;
  std::unique_ptr<SpdSolver> solver_;
  Inputs X_;
  MatrixXd Y_, K_, F_, alpha_, M_;  // K_, F_: (n, n)
  KernelWorkspace ws_;  // predict and AGOP scratch, reused by every iteration
};

}  // namespace

std::unique_ptr<KernelMachine> KernelMachine::create(const MachineOptions& options,
                                                     Backend backend) {
  RFM_CHECK(options.kernel.bandwidth > 0 || !options.kernel.radial(),
            "--bandwidth %g must be > 0", options.kernel.bandwidth);
  RFM_CHECK(options.agop.block >= 1, "AGOP block %d must be >= 1", options.agop.block);
  if (backend == Backend::cuda)
    throw BackendError("this rfm was compiled without the CUDA backend");
  return std::make_unique<CpuKernelMachine>(options);
}

}  // namespace rfm
