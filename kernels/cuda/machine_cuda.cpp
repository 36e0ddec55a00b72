// The CUDA KernelMachine (issue 4): the CPU machine's steps (machine_cpu.cpp, kernels.cpp,
// agop.cpp, solvers/cholesky.cpp) in fp64 on one GPU, with the CPU path as the test oracle.
//
//   gram     one-hot: U = X M by a gather, then S(i, j) = sum_t U(i, hot(z_j, t)) and the
//            distance/kernel epilogue in one kernel; dense: U = X M and U Z^T by cuBLAS GEMM,
//            then the epilogue kernel.
//   solve    cusolverDnDpotrf (lower) + potrs; if K + ridge I is not positive definite,
//            getrf/getrs on a fresh copy of it; if LU finds it singular, the syevd
//            pseudo-inverse with the CPU's tolerance (solvers.h).
//   predict  K alpha for the training points; other points in row blocks of statistics.
//   agop     over blocks of b AGOP points: weights W^T (b, n), the Jacobian sums Hs (b c, d)
//            (one-hot: a gather-sum kernel over the training points grouped by hot
//            coordinate; dense: one GEMM per input coordinate), the radial term, centring by
//            the shifted-data identity of agop.cpp, and Hs^T Hs by cublasDsyrk. Ghat and
//            M Ghat M are finished on the host (d x d).
// The Hadamard AGOP route is not implemented here: dense inputs take the direct route, which
// gives the same AGOP. sym_power stays on the host (d is small).
//
// Device memory: K and its factor (2 n^2 doubles) dominate; they, the training inputs and the
// block scratch are allocated once (grow-only) and reused by every iteration. The estimate is
// checked against free device memory in set_data, before anything large is allocated.
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>

#include "kernels/cuda/cuda_api.h"
#include "kernels/cuda/device_kernels.h"
#include "kernels/cuda/gpu_context.h"

namespace rfm::cuda {

namespace {

constexpr size_t kDefaultBlockBytes = size_t(1) << 30;
constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
constexpr double kOne = 1.0, kZero = 0.0, kMinusOne = -1.0;

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

KernelSpec spec(const Kernel& k, StatMode mode) {
  KernelSpec s;
  switch (k.type) {
    case KernelType::gaussian:
      s.type = 0;
      break;
    case KernelType::gaussian_paper:
      s.type = 1;
      break;
    case KernelType::laplace:
      s.type = 2;
      break;
    case KernelType::quadratic:
      s.type = 3;
      break;
  }
  s.L = k.bandwidth;
  s.radial = k.radial();
  s.mode = mode;
  return s;
}

// A batch of points on the device: one-hot when it and the training inputs both are (the
// gather route), else dense.
struct DevicePoints {
  int m = 0, slots = 0;
  bool one_hot = false;
  DeviceBuffer<int> hot;       // (m, slots), one-hot form
  DeviceBuffer<double> X;      // (m, d), dense form
  DeviceBuffer<double> XM;     // (m, d) = X M, dense form (scratch of the norms)
  DeviceBuffer<double> norms;  // (m): x^T M x
};

class CudaKernelMachine final : public KernelMachine {
 public:
  CudaKernelMachine(const MachineOptions& o, size_t block_bytes)
      : opt_(o), block_bytes_(block_bytes > 0 ? block_bytes : kDefaultBlockBytes) {
    RFM_CHECK(o.solve.precision == Precision::fp64 || o.solve.precision == Precision::automatic,
              "--precision %s: the CUDA backend implements fp64 only (use --precision fp64 or "
              "--device cpu)",
              to_string(o.solve.precision));
  }

  Backend backend() const override { return Backend::cuda; }

  void set_data(const Inputs& X, const MatrixXd& Y) override {
    RFM_ASSERT(X.n() == Y.rows());
    X_ = X;
    n_ = X.n();
    d_ = X.d;
    c_ = static_cast<int>(Y.cols());
    check_memory();
    upload_points(X, train_);
    Y_.upload(Y.data(), Y.size(), ctx_.stream);
    K_.reserve(size_t(n_) * n_);  // kernel values, kept intact for training predictions
    F_.reserve(size_t(n_) * n_);  // the factor, or the LU / eigenvectors of a fallback
    xdense_ = nullptr;
    if (X.one_hot()) upload_groups(X);
  }

  SolveReport fit(const MatrixXd& M) override {
    auto t0 = std::chrono::steady_clock::now();
    set_metric(M);
    stats_block(train_, 0, n_, StatMode::value, false, K_.data());
    ctx_.sync();
    times.gram += seconds_since(t0);
    t0 = std::chrono::steady_clock::now();
    SolveReport rep = solve();
    times.solve += seconds_since(t0);
    return rep;
  }

  MatrixXd predict(const Inputs& Z) override {
    auto t0 = std::chrono::steady_clock::now();
    const int m = Z.n();
    MatrixXd out(m, c_);
    double* P = out_.reserve(size_t(m) * c_);
    if (Z.same_points(X_)) {
      RFM_CUBLAS_CHECK(cublasDgemm(ctx_.blas, CUBLAS_OP_N, CUBLAS_OP_N, n_, c_, n_, &kOne,
                                   K_.data(), n_, alpha_dev_.data(), n_, &kZero, P, n_));
    } else {
      upload_points(Z, other_);
      point_norms(other_);
      const int block = predict_block(m);
      double* S = S_.reserve(size_t(n_) * block);
      for (int j0 = 0; j0 < m; j0 += block) {
        const int b = std::min(block, m - j0);
        stats_block(other_, j0, b, StatMode::value, false, S);  // (n, b)
        RFM_CUBLAS_CHECK(cublasDgemm(ctx_.blas, CUBLAS_OP_T, CUBLAS_OP_N, b, c_, n_, &kOne, S, n_,
                                     alpha_dev_.data(), n_, &kZero, P + j0, m));
      }
    }
    out_.download(out.data(), out.size(), ctx_.stream);
    times.predict += seconds_since(t0);
    return out;
  }

  MatrixXd agop(const Inputs& Z) override {
    auto t0 = std::chrono::steady_clock::now();
    const AgopOptions& o = opt_.agop;
    RFM_CHECK(o.path != AgopPath::onehot || X_.one_hot(),
              "--agop-path onehot needs one-hot training inputs");
    const bool onehot =
        X_.one_hot() && (o.path == AgopPath::automatic || o.path == AgopPath::onehot);
    const bool train = Z.same_points(X_);
    if (!train) {
      upload_points(Z, other_);
      point_norms(other_);
    }
    const DevicePoints& P = train ? train_ : other_;
    const int m = P.m, n = n_, c = c_, d = d_, block = agop_block(m);
    RFM_ASSERT(m > 0 && Z.d == d);
    const double* Xd = onehot ? nullptr : dense_training_inputs();
    double* WT = S_.reserve(size_t(block) * n);
    double* Hs = Hs_.reserve(size_t(block) * c * d);
    double* V = V_.reserve(size_t(block) * c);
    double* T = onehot ? nullptr : T_.reserve(size_t(n) * c);
    double* G = G_.reserve(size_t(d) * d);
    double* C = C_.reserve(size_t(d) * c);
    double* D = D_.reserve(size_t(d) * c);
    RFM_CUDA_CHECK(cudaMemsetAsync(G, 0, sizeof(double) * d * d, ctx_.stream));
    RFM_CUDA_CHECK(cudaMemsetAsync(D, 0, sizeof(double) * d * c, ctx_.stream));
    const double* alpha = alpha_dev_.data();
    for (int j0 = 0; j0 < m; j0 += block) {
      const int b = std::min(block, m - j0);
      stats_block(P, j0, b, StatMode::weight, true, WT);  // W^T: (b, n)
      if (onehot) {
        onehot_jacobian_sums(b, c, d, n, slots_, rows_.data(), off_.data(), WT, alpha, Hs,
                             ctx_.stream);
      } else {
        for (int k = 0; k < d; ++k) {  // Hs[:, k] as (b, c) = W^T (X[:, k] o alpha)
          scale_rows(n, c, Xd + size_t(n) * k, alpha, T, ctx_.stream);
          RFM_CUBLAS_CHECK(cublasDgemm(ctx_.blas, CUBLAS_OP_N, CUBLAS_OP_N, b, c, n, &kOne, WT, b,
                                       T, n, &kZero, Hs + size_t(b) * c * k, b));
        }
      }
      if (opt_.kernel.radial()) {  // V = W^T alpha (b, c); Hs(j + b cc, k) -= z_jk V(j, cc)
        RFM_CUBLAS_CHECK(cublasDgemm(ctx_.blas, CUBLAS_OP_N, CUBLAS_OP_N, b, c, n, &kOne, WT, b,
                                     alpha, n, &kZero, V, b));
        if (P.one_hot)
          subtract_radial_onehot(b, c, P.slots, P.hot.data(), m, j0, V, Hs, ctx_.stream);
        else
          subtract_radial_dense(b, c, d, P.X.data(), m, j0, V, Hs, ctx_.stream);
      }
      if (o.centering) center_block(b, c, d, Hs, j0 == 0, C, D, ctx_.stream);
      RFM_CUBLAS_CHECK(cublasDsyrk(ctx_.blas, CUBLAS_FILL_MODE_UPPER, CUBLAS_OP_T, d, b * c, &kOne,
                                   Hs, b * c, &kOne, G, d));
    }
    MatrixXd Ghat(d, d), Dh(d, c);
    D_.download(Dh.data(), Dh.size(), ctx_.stream);
    G_.download(Ghat.data(), Ghat.size(), ctx_.stream);
    // The host finish of agop.cpp: symmetrise, the centring correction, the mean, M Ghat M.
    Ghat.triangularView<Eigen::StrictlyLower>() = Ghat.transpose();
    if (o.centering) Ghat -= Dh * Dh.transpose() / double(m);
    Ghat /= double(m);
    MatrixXd out = M_ * Ghat * M_;
    times.agop += seconds_since(t0);
    return out;
  }

  const MatrixXd& alpha() const override { return alpha_; }

  // --- Entry points of the single-routine tests (cuda_api.h) --------------------------------

  // (n, m) statistics of the training inputs against Z under M.
  MatrixXd stats(const Inputs& Z, const MatrixXd& M, StatMode mode, bool transposed) {
    set_metric(M);
    upload_points(Z, other_);
    point_norms(other_);
    const int m = Z.n();
    double* S = S_.reserve(size_t(n_) * m);
    stats_block(other_, 0, m, mode, transposed, S);
    MatrixXd out(transposed ? m : n_, transposed ? n_ : m);
    S_.download(out.data(), out.size(), ctx_.stream);
    if (transposed) out.transposeInPlace();
    return out;
  }

  // Solves (A + ridge I) alpha = Y with A in place of K; Y as given to set_data.
  SolveReport solve_matrix(const MatrixXd& A, MatrixXd& alpha) {
    RFM_ASSERT(A.rows() == n_ && A.cols() == n_);
    K_.upload(A.data(), A.size(), ctx_.stream);
    SolveReport rep = solve();
    alpha = alpha_;
    return rep;
  }

 private:
  // --- Memory -------------------------------------------------------------------------------

  int agop_block(int m) const { return cuda::agop_block(n_, c_, d_, m, opt_, block_bytes_); }
  int predict_block(int m) const { return cuda::predict_block(n_, m, block_bytes_); }

  // Device bytes for a run on these n, d, c with the AGOP over the n training points.
  void check_memory() {
    const MemoryEstimate e = memory_estimate(n_, d_, c_, int(X_.hot.cols()), opt_, block_bytes_);
    const double free = double(ctx_.free_bytes()) + double(K_.bytes() + F_.bytes());
    if (e.total() > free)
      throw BackendError(strfmt(
          "the CUDA backend needs %.2f GiB of device memory for n = %d training points "
          "(kernel matrix and its factor %.2f GiB, AGOP and prediction blocks %.2f GiB), but "
          "%.2f GiB are free on %s; use fewer training points or --device cpu",
          e.total() / kGiB, n_, e.kernel_matrix / kGiB, e.blocks / kGiB, free / kGiB,
          ctx_.device_name.c_str()));
  }

  // --- Points and statistics ----------------------------------------------------------------

  void upload_points(const Inputs& Z, DevicePoints& P) {
    P.m = Z.n();
    P.one_hot = Z.one_hot() && X_.one_hot();
    P.slots = P.one_hot ? static_cast<int>(Z.hot.cols()) : 0;
    if (P.one_hot) {
      P.hot.upload(Z.hot.data(), Z.hot.size(), ctx_.stream);
    } else if (Z.one_hot()) {
      const MatrixXd dense = Z.dense();
      P.X.upload(dense.data(), dense.size(), ctx_.stream);
    } else {
      P.X.upload(Z.X.data(), Z.X.size(), ctx_.stream);
    }
    P.norms.reserve(P.m);
  }

  // x^T M x of each point of P (M_dev_ set).
  void point_norms(DevicePoints& P) {
    if (P.one_hot) {
      onehot_norms(P.m, P.slots, P.hot.data(), P.m, 0, M_dev_.data(), d_, P.norms.data(),
                   ctx_.stream);
      return;
    }
    double* XM = P.XM.reserve(size_t(P.m) * d_);
    RFM_CUBLAS_CHECK(cublasDgemm(ctx_.blas, CUBLAS_OP_N, CUBLAS_OP_N, P.m, d_, d_, &kOne,
                                 P.X.data(), P.m, M_dev_.data(), d_, &kZero, XM, P.m));
    row_dots(P.m, d_, XM, P.m, P.X.data(), P.m, P.norms.data(), ctx_.stream);
  }

  // M on the device, U = X M (n, d) and the training norms.
  void set_metric(const MatrixXd& M) {
    RFM_ASSERT(M.rows() == d_ && M.cols() == d_);
    M_ = M;
    M_dev_.upload(M.data(), M.size(), ctx_.stream);
    double* U = U_.reserve(size_t(n_) * d_);
    if (X_.one_hot())
      onehot_project(n_, d_, static_cast<int>(X_.hot.cols()), train_.hot.data(), M_dev_.data(), U,
                     ctx_.stream);
    else
      RFM_CUBLAS_CHECK(cublasDgemm(ctx_.blas, CUBLAS_OP_N, CUBLAS_OP_N, n_, d_, d_, &kOne,
                                   train_.X.data(), n_, M_dev_.data(), d_, &kZero, U, n_));
    if (X_.one_hot())
      onehot_norms(n_, static_cast<int>(X_.hot.cols()), train_.hot.data(), n_, 0, M_dev_.data(), d_,
                   train_.norms.data(), ctx_.stream);
    else
      row_dots(n_, d_, U, n_, train_.X.data(), n_, train_.norms.data(), ctx_.stream);
  }

  // Statistics of the training points against points j0..j0+b-1 of P, mapped per mode, into
  // out: (n, b) ld n, or (b, n) ld b when transposed.
  void stats_block(const DevicePoints& P, int j0, int b, StatMode mode, bool transposed,
                   double* out) {
    const KernelSpec k = spec(opt_.kernel, mode);
    const long long si = transposed ? b : 1, sj = transposed ? 1 : n_;
    const double* nzJ = P.norms.data() + j0;
    if (P.one_hot) {
      onehot_stats(k, n_, b, P.slots, U_.data(), train_.norms.data(), P.hot.data(), P.m, j0, nzJ,
                   out, si, sj, ctx_.stream);
      return;
    }
    const double* Zb = P.X.data() + j0;  // rows j0.. of Z (m, d), ld m
    if (transposed)                      // (b, n) = Z_J U^T
      RFM_CUBLAS_CHECK(cublasDgemm(ctx_.blas, CUBLAS_OP_N, CUBLAS_OP_T, b, n_, d_, &kOne, Zb, P.m,
                                   U_.data(), n_, &kZero, out, b));
    else  // (n, b) = U Z_J^T
      RFM_CUBLAS_CHECK(cublasDgemm(ctx_.blas, CUBLAS_OP_N, CUBLAS_OP_T, n_, b, d_, &kOne, U_.data(),
                                   n_, Zb, P.m, &kZero, out, n_));
    finish_stats(k, n_, b, train_.norms.data(), nzJ, out, si, sj, ctx_.stream);
  }

  // Dense training inputs for the dense AGOP route (uploaded once when X is one-hot).
  const double* dense_training_inputs() {
    if (!X_.one_hot()) return train_.X.data();
    if (!xdense_) {
      const MatrixXd dense = X_.dense();
      xdense_ = Xdense_.upload(dense.data(), dense.size(), ctx_.stream);
    }
    return xdense_;
  }

  // Training points grouped by hot coordinate per slot (agop.cpp HotGroups): rows (n, slots),
  // offsets (d + 1, slots).
  void upload_groups(const Inputs& X) {
    const int n = X.n(), slots = static_cast<int>(X.hot.cols());
    slots_ = slots;
    std::vector<int> rows(size_t(n) * slots), off(size_t(X.d + 1) * slots, 0);
    for (int s = 0; s < slots; ++s) {
      int* o = off.data() + size_t(X.d + 1) * s;
      for (int i = 0; i < n; ++i) ++o[X.hot(i, s) + 1];
      std::partial_sum(o, o + X.d + 1, o);
      std::vector<int> next(o, o + X.d);
      for (int i = 0; i < n; ++i) rows[size_t(n) * s + next[X.hot(i, s)]++] = i;
    }
    rows_.upload(rows.data(), rows.size(), ctx_.stream);
    off_.upload(off.data(), off.size(), ctx_.stream);
    ctx_.sync();  // rows and off are host temporaries
  }

  // --- Solve (solvers/cholesky.cpp, LapackCholesky::solve_fp64) -----------------------------

  // F = K + ridge I.
  void load_factor_input() {
    RFM_CUDA_CHECK(cudaMemcpyAsync(F_.data(), K_.data(), sizeof(double) * size_t(n_) * n_,
                                   cudaMemcpyDeviceToDevice, ctx_.stream));
    if (opt_.solve.ridge != 0) add_diagonal(n_, F_.data(), n_, opt_.solve.ridge, ctx_.stream);
  }

  // cuSOLVER's devInfo: negative means a bad argument (a bug), positive a numerical failure.
  int read_info(const char* routine) {
    int info = 0;
    ctx_.info.download(&info, 1, ctx_.stream);
    if (info < 0)
      throw BackendError(
          strfmt("%s: argument %d had an illegal value (this is a bug)", routine, -info));
    return info;
  }

  SolveReport solve() {
    const int n = n_, c = c_;
    double* A = F_.data();
    double* alpha = alpha_dev_.reserve(size_t(n) * c);
    int* info = ctx_.info.data();
    SolveReport rep;
    RFM_CUDA_CHECK(cudaMemcpyAsync(alpha, Y_.data(), sizeof(double) * size_t(n) * c,
                                   cudaMemcpyDeviceToDevice, ctx_.stream));
    load_factor_input();
    int lwork = 0;
    RFM_CUSOLVER_CHECK(
        cusolverDnDpotrf_bufferSize(ctx_.solver, CUBLAS_FILL_MODE_LOWER, n, A, n, &lwork));
    double* work = work_.reserve(std::max(lwork, 1));
    RFM_CUSOLVER_CHECK(
        cusolverDnDpotrf(ctx_.solver, CUBLAS_FILL_MODE_LOWER, n, A, n, work, lwork, info));
    int status = read_info("cusolverDnDpotrf");
    if (status == 0) {
      RFM_CUSOLVER_CHECK(
          cusolverDnDpotrs(ctx_.solver, CUBLAS_FILL_MODE_LOWER, n, c, A, n, alpha, n, info));
      read_info("cusolverDnDpotrs");
      rep.method = "cholesky";
      return finish_solve(rep);
    }
    rep.fallback = true;
    rep.message = strfmt(
        "Cholesky failed: leading minor %d of K + ridge I is not positive "
        "definite",
        status);
    load_factor_input();
    RFM_CUSOLVER_CHECK(cusolverDnDgetrf_bufferSize(ctx_.solver, n, n, A, n, &lwork));
    work = work_.reserve(std::max(lwork, 1));
    int* ipiv = ipiv_.reserve(n);
    RFM_CUSOLVER_CHECK(cusolverDnDgetrf(ctx_.solver, n, n, A, n, work, ipiv, info));
    status = read_info("cusolverDnDgetrf");
    if (status == 0) {
      RFM_CUSOLVER_CHECK(
          cusolverDnDgetrs(ctx_.solver, CUBLAS_OP_N, n, c, A, n, ipiv, alpha, n, info));
      read_info("cusolverDnDgetrs");
      rep.method = "lu";
      rep.message += "; solved by pivoted LU";
      rep.residual = residual();
      return finish_solve(rep);
    }
    // Pseudo-inverse through the symmetric eigendecomposition (cholesky.cpp solve_by_eigen).
    load_factor_input();
    double* lambda = lambda_.reserve(n);
    RFM_CUSOLVER_CHECK(cusolverDnDsyevd_bufferSize(
        ctx_.solver, CUSOLVER_EIG_MODE_VECTOR, CUBLAS_FILL_MODE_UPPER, n, A, n, lambda, &lwork));
    work = work_.reserve(std::max(lwork, 1));
    RFM_CUSOLVER_CHECK(cusolverDnDsyevd(ctx_.solver, CUSOLVER_EIG_MODE_VECTOR,
                                        CUBLAS_FILL_MODE_UPPER, n, A, n, lambda, work, lwork,
                                        info));
    if (read_info("cusolverDnDsyevd") > 0)
      throw BackendError(
          "cusolverDnDsyevd did not converge on K + ridge I after Cholesky and "
          "LU failed; K has NaN or Inf entries or is badly scaled");
    VectorXd lam(n);
    lambda_.download(lam.data(), n, ctx_.stream);
    const double tol = n * std::numeric_limits<double>::epsilon() * lam.cwiseAbs().maxCoeff();
    VectorXd inv(n);
    int dropped = 0;
    for (int i = 0; i < n; ++i) {
      const bool keep = lam(i) > tol;
      inv(i) = keep ? 1.0 / lam(i) : 0.0;
      dropped += !keep;
    }
    double* inv_dev = inv_.upload(inv.data(), n, ctx_.stream);
    double* T = T_.reserve(size_t(n) * c);  // V^T Y, then diag(inv) V^T Y
    RFM_CUBLAS_CHECK(cublasDgemm(ctx_.blas, CUBLAS_OP_T, CUBLAS_OP_N, n, c, n, &kOne, A, n,
                                 Y_.data(), n, &kZero, T, n));
    scale_rows(n, c, inv_dev, T, T, ctx_.stream);
    RFM_CUBLAS_CHECK(cublasDgemm(ctx_.blas, CUBLAS_OP_N, CUBLAS_OP_N, n, c, n, &kOne, A, n, T, n,
                                 &kZero, alpha, n));
    rep.method = "eigen";
    rep.message += strfmt(
        "; LU found it singular; solved by eigendecomposition with %d "
        "eigenvalues below tolerance dropped",
        dropped);
    rep.residual = residual();
    return finish_solve(rep);
  }

  SolveReport finish_solve(const SolveReport& rep) {
    alpha_.resize(n_, c_);
    alpha_dev_.download(alpha_.data(), alpha_.size(), ctx_.stream);
    return rep;
  }

  // ||Y - (K + ridge I) alpha||_F / ||Y||_F with K's upper triangle (relative_residual).
  double residual() {
    const int n = n_, c = c_;
    const size_t nc = size_t(n) * c;
    double* R = R_.reserve(nc);
    RFM_CUDA_CHECK(
        cudaMemcpyAsync(R, Y_.data(), sizeof(double) * nc, cudaMemcpyDeviceToDevice, ctx_.stream));
    const double minus_ridge = -opt_.solve.ridge;
    RFM_CUBLAS_CHECK(
        cublasDaxpy(ctx_.blas, static_cast<int>(nc), &minus_ridge, alpha_dev_.data(), 1, R, 1));
    RFM_CUBLAS_CHECK(cublasDsymm(ctx_.blas, CUBLAS_SIDE_LEFT, CUBLAS_FILL_MODE_UPPER, n, c,
                                 &kMinusOne, K_.data(), n, alpha_dev_.data(), n, &kOne, R, n));
    double rnorm = 0, ynorm = 0;  // host pointer mode: these calls wait for their result
    RFM_CUBLAS_CHECK(cublasDnrm2(ctx_.blas, static_cast<int>(nc), R, 1, &rnorm));
    RFM_CUBLAS_CHECK(cublasDnrm2(ctx_.blas, static_cast<int>(nc), Y_.data(), 1, &ynorm));
    return ynorm > 0 ? rnorm / ynorm : rnorm;
  }

  MachineOptions opt_;
  size_t block_bytes_;
  GpuContext ctx_;
  Inputs X_;
  int n_ = 0, d_ = 0, c_ = 0, slots_ = 0;
  MatrixXd M_, alpha_;
  DevicePoints train_, other_;
  const double* xdense_ = nullptr;
  // Device buffers; shapes as used above.
  DeviceBuffer<double> Y_, K_, F_, alpha_dev_, M_dev_, U_, Xdense_, S_, Hs_, V_, T_, G_, C_, D_,
      out_, work_, lambda_, inv_, R_;
  DeviceBuffer<int> rows_, off_, ipiv_;
};

}  // namespace

int agop_block(int n, int c, int d, int m, const MachineOptions& o, size_t block_bytes) {
  if (block_bytes == 0) block_bytes = kDefaultBlockBytes;
  const double per_point = 8.0 * (double(n) + double(c) * d + c);
  const double fit = std::floor(double(block_bytes) / per_point);
  return static_cast<int>(std::min<double>(m, std::max<double>(fit, o.agop.block)));
}

int predict_block(int n, int m, size_t block_bytes) {
  if (block_bytes == 0) block_bytes = kDefaultBlockBytes;
  const double fit = std::floor(double(block_bytes) / (8.0 * n));
  return static_cast<int>(std::min<double>(m, std::max(fit, 1.0)));
}

MemoryEstimate memory_estimate(int n_points, int d_in, int c_out, int slots,
                               const MachineOptions& o, size_t block_bytes) {
  const double n = n_points, d = d_in, c = c_out;
  MemoryEstimate e;
  e.kernel_matrix = 2 * 8 * n * n;  // K and F
  e.blocks = 8 * (agop_block(n_points, c_out, d_in, n_points, o, block_bytes) * (n + c * d + c) +
                  n * c) +                                                    // W^T, Hs, V, T
             8 * double(predict_block(n_points, n_points, block_bytes)) * n;  // statistics
  e.rest = 8 * (3 * n * d + 4 * n * c + 2 * d * d + 2 * d * c) +
           4 * (2 * n + d + 1) * double(slots);  // hot, rows, off
  return e;
}

std::unique_ptr<KernelMachine> make_machine(const MachineOptions& options, size_t block_bytes) {
  return std::make_unique<CudaKernelMachine>(options, block_bytes);
}

MatrixXd pair_stats(const Kernel& k, const Inputs& X, const Inputs& Z, const MatrixXd& M,
                    StatOutput what, bool transposed) {
  MachineOptions mo;
  mo.kernel = k;
  CudaKernelMachine km(mo, 0);
  km.set_data(X, MatrixXd::Zero(X.n(), 1));
  const StatMode mode = what == StatOutput::statistic ? StatMode::statistic
                        : what == StatOutput::value   ? StatMode::value
                                                      : StatMode::weight;
  return km.stats(Z, M, mode, transposed);
}

SolveReport solve(const MatrixXd& A, const MatrixXd& Y, double ridge, MatrixXd& alpha) {
  MachineOptions mo;
  mo.solve.ridge = ridge;
  CudaKernelMachine km(mo, 0);
  km.set_data(Inputs::from_dense(MatrixXd::Zero(A.rows(), 1)), Y);
  return km.solve_matrix(A, alpha);
}

}  // namespace rfm::cuda
