// SPD solvers: LAPACK Cholesky in fp64, fp32 and mixed precision, with fallbacks
// (solvers.h). Mixed precision follows the classic iterative refinement of Moler (1967) as in
// Buttari et al., "Mixed precision iterative refinement techniques for the solution of dense
// linear systems" (2007): factor in fp32, compute residuals in fp64; when refinement stalls
// (cond(K) * eps32 near 1) it falls back to the fp64 factorisation and says so.
#include <cblas.h>
#include <lapacke.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "solvers/solvers.h"

namespace rfm {

const char* to_string(Precision p) {
  switch (p) {
    case Precision::fp64:
      return "fp64";
    case Precision::fp32:
      return "fp32";
    case Precision::mixed:
      return "mixed";
    case Precision::automatic:
      return "auto";
  }
  return "?";
}

Precision precision_from_string(const std::string& name) {
  for (Precision p : {Precision::fp64, Precision::fp32, Precision::mixed, Precision::automatic})
    if (name == to_string(p)) return p;
  RFM_CHECK(false, "unknown precision '%s' (known: fp64, fp32, mixed, auto)", name.c_str());
  return Precision::fp64;
}

double mixed_cost_ratio(double n, double c, int steps) {
  const double n3 = n * n * n, n2c = n * n * c;
  return (n3 / 6 + (3.0 * steps + 3) * n2c) / (n3 / 3 + 2 * n2c);
}

Precision auto_precision(double n, double c, int steps) {
  return n >= 2048 && mixed_cost_ratio(n, c, steps) <= 0.75 ? Precision::mixed : Precision::fp64;
}

Precision starting_precision(Precision p, double n, double c) {
  return p == Precision::automatic ? auto_precision(n, c) : p;
}

std::string precision_note(Precision p, double n, double c) {
  if (p != Precision::automatic) return to_string(p);
  return strfmt("auto: %s (mixed predicted at %.2fx fp64 for n = %.0f, c = %.0f)",
                to_string(auto_precision(n, c)), mixed_cost_ratio(n, c, 2), n, c);
}

// The LAPACKE *_work entry points skip LAPACKE's O(n^2) NaN scans of the inputs: the RFM loop
// checks alpha for NaN itself. A negative info from LAPACK means we passed a bad argument: a bug,
// not the user's input.
static void check_lapack_args(const char* routine, lapack_int info) {
  if (info < 0)
    throw BackendError(strfmt("%s: argument %d had an illegal value (this is a bug)", routine,
                              static_cast<int>(-info)));
}

double relative_residual(const MatrixXd& A, double ridge, const MatrixXd& X, const MatrixXd& Y) {
  MatrixXd R = Y - ridge * X;
  cblas_dsymm(CblasColMajor, CblasLeft, CblasUpper, static_cast<int>(A.rows()),
              static_cast<int>(X.cols()), -1.0, A.data(), static_cast<int>(A.rows()), X.data(),
              static_cast<int>(X.rows()), 1.0, R.data(), static_cast<int>(R.rows()));
  const double ynorm = Y.norm();
  return ynorm > 0 ? R.norm() / ynorm : R.norm();
}

// --- fp64 Cholesky with LU and eigendecomposition fallbacks ---------------------------------

namespace {

// Eight doubles: one AVX-512 register under -march=native (narrower registers elsewhere).
using Vec8 = double __attribute__((vector_size(64)));
using Idx8 = long long __attribute__((vector_size(64)));

// dst (8 x 8, leading dimension ld) = src^T: eight column loads, three rounds of two-source
// shuffles (pairs, then fours, then halves), eight column stores.
void transpose8(const double* src, double* dst, ptrdiff_t ld) {
  Vec8 v[8], t[8], u[8];
  for (int c = 0; c < 8; ++c) std::memcpy(&v[c], src + ld * c, sizeof(Vec8));
  const Idx8 even{0, 8, 2, 10, 4, 12, 6, 14}, odd{1, 9, 3, 11, 5, 13, 7, 15};
  const Idx8 lo2{0, 1, 8, 9, 4, 5, 12, 13}, hi2{2, 3, 10, 11, 6, 7, 14, 15};
  const Idx8 lo4{0, 1, 2, 3, 8, 9, 10, 11}, hi4{4, 5, 6, 7, 12, 13, 14, 15};
  for (int c = 0; c < 8; c += 2) {
    t[c] = __builtin_shuffle(v[c], v[c + 1], even);  // element r: rows r (even) of c, c + 1
    t[c + 1] = __builtin_shuffle(v[c], v[c + 1], odd);
  }
  for (int h = 0; h < 8; h += 4)
    for (int o = 0; o < 2; ++o) {  // rows of parity o: 0, 4 (2, 6) or 1, 5 (3, 7)
      u[h + o] = __builtin_shuffle(t[h + o], t[h + o + 2], lo2);
      u[h + o + 2] = __builtin_shuffle(t[h + o], t[h + o + 2], hi2);
    }
  // u[o] holds rows {o, o + 4} of columns 0-3 (r in 0..3: u[0] rows 0/4, u[1] 1/5, u[2] 2/6,
  // u[3] 3/7), u[4 + o] the same rows of columns 4-7.
  for (int r = 0; r < 4; ++r) {
    const Vec8 a = __builtin_shuffle(u[r], u[r + 4], lo4),
               b = __builtin_shuffle(u[r], u[r + 4], hi4);
    std::memcpy(dst + ld * r, &a, sizeof(Vec8));
    std::memcpy(dst + ld * (r + 4), &b, sizeof(Vec8));
  }
}

// Copies the strict upper triangle of A onto the strict lower one and sets the diagonal: undoes
// an in-place dpotrf('L'), which leaves the strict upper triangle untouched. Whole 8 x 8 tiles
// below the diagonal are transposed in registers, the rest entry by entry; column blocks run
// in parallel.
void restore_from_upper(MatrixXd& A, const VectorXd& diag) {
  const Eigen::Index n = A.rows(), whole = n / 8 * 8;
#pragma omp parallel for schedule(dynamic, 4)
  for (Eigen::Index j0 = 0; j0 < n; j0 += 8) {
    const Eigen::Index jb = std::min<Eigen::Index>(8, n - j0);
    for (Eigen::Index j = j0; j < j0 + jb; ++j)  // the diagonal tile
      for (Eigen::Index i = j + 1; i < j0 + jb; ++i) A(i, j) = A(j, i);
    // A partial column block starts at `whole`: it has no tiles below and no rows past them.
    for (Eigen::Index i0 = j0 + 8; i0 < whole; i0 += 8) transpose8(&A(j0, i0), &A(i0, j0), n);
    for (Eigen::Index j = j0; j < j0 + jb; ++j)  // rows past the whole tiles
      for (Eigen::Index i = std::max(whole, j0 + 8); i < n; ++i) A(i, j) = A(j, i);
  }
  A.diagonal() = diag;
}

// The four BLAS/LAPACK routines of the factorisation, for fp64 (the fp64 solve) and fp32 (the
// fp32 and mixed solves): the same schedules serve both.
lapack_int potrf(lapack_int n, double* a, lapack_int lda) {
  return LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, 'L', n, a, lda);
}
lapack_int potrf(lapack_int n, float* a, lapack_int lda) {
  return LAPACKE_spotrf_work(LAPACK_COL_MAJOR, 'L', n, a, lda);
}
void trsm(CBLAS_SIDE side, CBLAS_TRANSPOSE op, int m, int n, const double* a, int lda, double* b,
          int ldb) {
  cblas_dtrsm(CblasColMajor, side, CblasLower, op, CblasNonUnit, m, n, 1.0, a, lda, b, ldb);
}
void trsm(CBLAS_SIDE side, CBLAS_TRANSPOSE op, int m, int n, const float* a, int lda, float* b,
          int ldb) {
  cblas_strsm(CblasColMajor, side, CblasLower, op, CblasNonUnit, m, n, 1.0f, a, lda, b, ldb);
}
// C (lower) -= A A^T.
void syrk_minus(int n, int k, const double* a, int lda, double* c, int ldc) {
  cblas_dsyrk(CblasColMajor, CblasLower, CblasNoTrans, n, k, -1.0, a, lda, 1.0, c, ldc);
}
void syrk_minus(int n, int k, const float* a, int lda, float* c, int ldc) {
  cblas_ssyrk(CblasColMajor, CblasLower, CblasNoTrans, n, k, -1.0f, a, lda, 1.0f, c, ldc);
}
// C -= A op(B), op(B) = B^T when transposed.
void gemm_minus(bool transposed, int m, int n, int k, const double* a, int lda, const double* b,
                int ldb, double* c, int ldc) {
  cblas_dgemm(CblasColMajor, CblasNoTrans, transposed ? CblasTrans : CblasNoTrans, m, n, k, -1.0, a,
              lda, b, ldb, 1.0, c, ldc);
}
void gemm_minus(bool transposed, int m, int n, int k, const float* a, int lda, const float* b,
                int ldb, float* c, int ldc) {
  cblas_sgemm(CblasColMajor, CblasNoTrans, transposed ? CblasTrans : CblasNoTrans, m, n, k, -1.0f,
              a, lda, b, ldb, 1.0f, c, ldc);
}

template <typename T>
using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;

// One panel of the lower Cholesky factor: potrf on the diagonal block of order b at (j, j),
// then trsm on the rows below it. Returns potrf's info (0, or the order of the first leading
// minor of the block that is not positive definite; negative for a bad argument).
template <typename T>
lapack_int factor_panel(Mat<T>& A, lapack_int j, lapack_int b) {
  const lapack_int n = static_cast<lapack_int>(A.rows()), rest = n - j - b;
  T* Ajj = &A(j, j);
  const lapack_int info = potrf(b, Ajj, n);
  if (info != 0 || rest == 0) return info;
  trsm(CblasRight, CblasTrans, rest, b, Ajj, n, Ajj + b, n);
  return 0;
}

// Right-looking blocked factorisation, each BLAS call threaded: per panel, factor_panel and one
// syrk on the whole trailing matrix. For large n, where that syrk dominates. Returns 0, or the
// global order of the first leading minor that is not positive definite.
template <typename T>
lapack_int factor_blocked(Mat<T>& A, lapack_int panel) {
  const lapack_int n = static_cast<lapack_int>(A.rows());
  for (lapack_int j = 0; j < n; j += panel) {
    const lapack_int b = std::min(panel, n - j), rest = n - j - b;
    const lapack_int info = factor_panel(A, j, b);
    check_lapack_args("potrf", info);
    if (info > 0) return j + info;
    if (rest == 0) break;
    syrk_minus(rest, b, &A(j + b, j), n, &A(j + b, j + b), n);
  }
  return 0;
}

// Subtracts panel (j, b)'s contribution L L^T from the trailing columns c0 .. c0 + w - 1 (lower
// part): syrk on their diagonal block, gemm on the rows below it.
template <typename T>
void update_columns(Mat<T>& A, lapack_int j, lapack_int b, lapack_int c0, lapack_int w) {
  const lapack_int n = static_cast<lapack_int>(A.rows()), below = n - c0 - w;
  syrk_minus(w, b, &A(c0, j), n, &A(c0, c0), n);
  if (below > 0) gemm_minus(true, below, w, b, &A(c0 + w, j), n, &A(c0, j), n, &A(c0 + w, c0), n);
}

// One panel's step of the forward substitution L Z = B: rows j .. j + b of B become
// L_jj^-1 B_j, and the rows below subtract L(below, panel) times them.
template <typename T>
void forward_panel(const Mat<T>& A, lapack_int j, lapack_int b, Mat<T>& B) {
  const lapack_int n = static_cast<lapack_int>(A.rows()), c = static_cast<lapack_int>(B.cols());
  const lapack_int below = n - j - b;
  trsm(CblasLeft, CblasNoTrans, b, c, &A(j, j), n, &B(j, 0), n);
  if (below > 0) gemm_minus(false, below, c, b, &A(j + b, j), n, &B(j, 0), n, &B(j + b, 0), n);
}

// The same factorisation with lookahead, for small n where the serial panel and the
// synchronisation of each threaded BLAS call weigh: single-threaded BLAS on every OpenMP thread.
// While thread 0 updates and factors the next panel, all threads update the other trailing
// columns in panel-wide chunks; two barriers per panel. Against factor_blocked (2 cores, fp64,
// microbenchmark medians, panels of 96 against 128): n = 1000 0.0046 s vs 0.0051 s; n = 1860
// 0.025 s vs 0.027 s; n = 2500 0.060 s vs 0.062 s; n = 3500 and 4704 no faster. Each panel's
// step of the forward substitution (forward_panel) is one more task among the chunks, and B
// becomes L^-1 B (add mod 61, 8 interleaved runs: solve 0.0319 s against 0.0328 s with both
// substitutions after the factorisation).
template <typename T>
lapack_int factor_lookahead(Mat<T>& A, lapack_int panel, Mat<T>& B) {
  const lapack_int n = static_cast<lapack_int>(A.rows());
  SerialBlas serial;
  lapack_int info = factor_panel(A, 0, std::min(panel, n)), failed_at = info;
#pragma omp parallel
  for (lapack_int j = 0; j + panel < n; j += panel) {
    if (info != 0) break;  // every thread reads info here, before the barrier that lets it change
#pragma omp barrier
    const lapack_int next = j + panel, b = std::min(panel, n - next), rest = next + b;
#pragma omp master
    {
      update_columns(A, j, panel, next, b);
      info = factor_panel(A, next, b);
      failed_at = info > 0 ? next + info : info;
    }
    const lapack_int chunks = (n - rest + panel - 1) / panel;
#pragma omp for schedule(dynamic) nowait
    for (lapack_int k = -1; k < chunks; ++k) {
      if (k >= 0)
        update_columns(A, j, panel, rest + k * panel, std::min(panel, n - rest - k * panel));
      else
        forward_panel(A, j, panel, B);
    }
#pragma omp barrier
  }
  check_lapack_args("potrf", failed_at);
  if (failed_at == 0) {
    const lapack_int last = (n - 1) / panel * panel;
    forward_panel(A, last, n - last, B);
  }
  return failed_at;
}

// op(L) X = B in place (op: transposed or not), L the factor in A's lower triangle: the
// right-hand sides are split among the OpenMP threads, each solving with single-threaded BLAS.
// As fast as OpenBLAS's threaded dtrsm when its threads are awake, and not slowed by waking them
// after an OpenMP region, which it is (2 cores, n = 1860, c = 61, both substitutions,
// microbenchmark medians: 0.0065 s against 0.0097 s; c = 4 0.0015 s against 0.0032 s).
template <typename T>
void triangular_solve(const Mat<T>& A, CBLAS_TRANSPOSE op, Mat<T>& B) {
  const lapack_int n = static_cast<lapack_int>(A.rows()), c = static_cast<lapack_int>(B.cols());
  const int parts = std::max(1, std::min<int>(omp_get_max_threads(), c));
  SerialBlas serial;
#pragma omp parallel for num_threads(parts)
  for (int part = 0; part < parts; ++part) {
    const lapack_int c0 = c * part / parts, c1 = c * (part + 1) / parts;
    trsm(CblasLeft, op, n, c1 - c0, A.data(), n, B.data() + ptrdiff_t(n) * c0, n);
  }
}

// Lower Cholesky factor L of A in place, the strict upper triangle untouched, and B := L^-1 B
// (the forward substitution; B is left part-way when the factorisation fails). Panels of 384
// above n = 8192 (factor_blocked, against OpenBLAS 0.3.21's own dpotrf on 2 cores: n = 11400
// panels of 128 16 % slower, rank-128 updates of a large trailing matrix; 384 as fast or 5 %
// faster), 128 up to it (n = 4704: as fast or up to 10 % faster than 384), lookahead with
// panels of 96 up to n = 3072, which does the forward substitution on the way. Returns 0, or the
// order of the first leading minor that is not positive definite.
template <typename T>
lapack_int factor_lower(Mat<T>& A, SolveOptions::Schedule schedule, Mat<T>& B) {
  const lapack_int n = static_cast<lapack_int>(A.rows());
  using Schedule = SolveOptions::Schedule;
  if (schedule == Schedule::lookahead || (schedule == Schedule::automatic && n <= 3072))
    return factor_lookahead(A, 96, B);
  const lapack_int info = factor_blocked(A, n > 8192 ? 384 : 128);
  if (info == 0) triangular_solve(A, CblasNoTrans, B);
  return info;
}

// Pseudo-inverse solve through the symmetric eigendecomposition; eigenvalues below
// n * eps * max|lambda| are dropped (an implicit tiny ridge). Returns how many were dropped.
int solve_by_eigen(MatrixXd& A, const MatrixXd& Y, MatrixXd& alpha) {
  const lapack_int n = static_cast<lapack_int>(A.rows());
  VectorXd lambda(n);
  check_lapack_args("dsyevd",
                    LAPACKE_dsyevd(LAPACK_COL_MAJOR, 'V', 'U', n, A.data(), n, lambda.data()));
  const double tol = n * std::numeric_limits<double>::epsilon() * lambda.cwiseAbs().maxCoeff();
  int dropped = 0;
  VectorXd inv(n);
  for (lapack_int i = 0; i < n; ++i) {
    bool keep = lambda(i) > tol;
    inv(i) = keep ? 1.0 / lambda(i) : 0.0;
    dropped += !keep;
  }
  alpha = A * (inv.asDiagonal() * (A.transpose() * Y));
  return dropped;
}

class LapackCholesky final : public SpdSolver {
 public:
  explicit LapackCholesky(const SolveOptions& o) : opt_(o) {}
  SolveReport solve(MatrixXd& A, const MatrixXd& Y, MatrixXd& alpha) override {
    return solve_fp64(A, Y, alpha, opt_);
  }

  // Shared by the other precisions as their last resort. A is K on entry and again on return:
  // Cholesky overwrites the lower triangle and the diagonal, which are restored from the upper
  // triangle and a saved diagonal (the fallbacks restore from a copy).
  static SolveReport solve_fp64(MatrixXd& A, const MatrixXd& Y, MatrixXd& alpha,
                                const SolveOptions& opt) {
    const double ridge = opt.ridge;
    const lapack_int n = static_cast<lapack_int>(A.rows()), c = static_cast<lapack_int>(Y.cols());
    RFM_ASSERT(A.cols() == n && Y.rows() == n);
    const VectorXd diag = A.diagonal();
    A.diagonal().array() += ridge;
    SolveReport rep;
    alpha = Y;
    lapack_int info = factor_lower(A, opt.schedule, alpha);
    if (info == 0) {
      triangular_solve(A, CblasTrans, alpha);  // the back substitution
      restore_from_upper(A, diag);
      rep.method = "cholesky";
      return rep;
    }
    rep.fallback = true;
    rep.message = strfmt(
        "Cholesky failed: leading minor %d of K + ridge I is not positive "
        "definite",
        static_cast<int>(info));
    restore_from_upper(A, diag);
    alpha = Y;             // the lookahead may have begun the forward substitution in it
    const MatrixXd K = A;  // LU and the eigendecomposition overwrite their argument
    A.diagonal().array() += ridge;
    std::vector<lapack_int> ipiv(n);
    info = LAPACKE_dgetrf_work(LAPACK_COL_MAJOR, n, n, A.data(), n, ipiv.data());
    check_lapack_args("dgetrf", info);
    if (info == 0) {
      check_lapack_args("dgetrs", LAPACKE_dgetrs_work(LAPACK_COL_MAJOR, 'N', n, c, A.data(), n,
                                                      ipiv.data(), alpha.data(), n));
      rep.method = "lu";
      rep.message += "; solved by pivoted LU";
    } else {
      A = K;
      A.diagonal().array() += ridge;
      int dropped = solve_by_eigen(A, Y, alpha);
      rep.method = "eigen";
      rep.message += strfmt(
          "; LU found it singular; solved by eigendecomposition with %d "
          "eigenvalues below tolerance dropped",
          dropped);
    }
    A = K;
    rep.residual = relative_residual(A, ridge, alpha, Y);
    return rep;
  }

 private:
  SolveOptions opt_;
};

// --- fp32 and mixed precision ---------------------------------------------------------------

class FloatCholesky final : public SpdSolver {
 public:
  explicit FloatCholesky(const SolveOptions& o) : opt_(o) {}

  // The fp32 factor of K + ridge I (K's lower triangle rounded, on the same schedules as fp64),
  // its two substitutions, then, for mixed, refinement against the fp64 K.
  SolveReport solve(MatrixXd& A, const MatrixXd& Y, MatrixXd& alpha) override {
    anorm_ = round_lower(A);
    rhs_ = Y.cast<float>();
    const lapack_int info = factor_lower(factor_, opt_.schedule, rhs_);
    if (info != 0) {
      SolveReport rep = LapackCholesky::solve_fp64(A, Y, alpha, opt_);
      rep.fallback = true;
      rep.message = strfmt("fp32 Cholesky failed at leading minor %d; fp64 %s", int(info),
                           rep.method.c_str()) +
                    (rep.message.empty() ? "" : ": " + rep.message);
      return rep;
    }
    triangular_solve(factor_, CblasTrans, rhs_);
    alpha = rhs_.cast<double>();
    SolveReport rep;
    rep.method = "cholesky-fp32";
    if (opt_.precision == Precision::mixed) refine(A, Y, alpha, rep);
    return rep;
  }

 private:
  // factor_'s lower triangle = fp32(A + ridge I); returns ||A + ridge I||_inf (A is symmetric:
  // the largest column sum), read in the same pass over A.
  double round_lower(const MatrixXd& A) {
    const Eigen::Index n = A.rows();
    factor_.resize(n, n);
    const float ridge = static_cast<float>(opt_.ridge);
    double norm = 0;
#pragma omp parallel for schedule(dynamic, 16) reduction(max : norm)
    for (Eigen::Index j = 0; j < n; ++j) {
      const double* a = A.col(j).data();
      float* f = factor_.col(j).data();
      double sum = 0;
      for (Eigen::Index i = 0; i < j; ++i) sum += std::abs(a[i]);
      for (Eigen::Index i = j; i < n; ++i) {
        sum += std::abs(a[i]);
        f[i] = static_cast<float>(a[i]);
      }
      f[j] += ridge;
      norm = std::max(norm, sum + std::abs(opt_.ridge));
    }
    return norm;
  }

  // R = Y - (A + ridge I) alpha in fp64 (A holds both triangles: one dgemm).
  void residual(const MatrixXd& A, const MatrixXd& Y, const MatrixXd& alpha) {
    R_ = Y;
    if (opt_.ridge != 0) R_ -= opt_.ridge * alpha;
    const int n = int(A.rows()), c = int(alpha.cols());
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n, c, n, -1.0, A.data(), n, alpha.data(),
                n, 1.0, R_.data(), n);
  }

  // LAPACK dsposv's stopping rule: every column's residual within sqrt(n) eps ||A + ridge I||_inf
  // ||x||_inf, the residual an fp64 backward-stable solve leaves.
  bool at_fp64_level(const MatrixXd& alpha, double bound) const {
    for (Eigen::Index j = 0; j < alpha.cols(); ++j)
      if (R_.col(j).cwiseAbs().maxCoeff() > bound * alpha.col(j).cwiseAbs().maxCoeff())
        return false;
    return true;
  }

  // x <- x + A^-1 (Y - A x) with the fp32 factor, residuals in fp64 (Moler's iterative
  // refinement), until the residual is at the fp64 level or below refine_tol; when it stops
  // decreasing first, fp64 Cholesky instead, and the report says so.
  void refine(MatrixXd& A, const MatrixXd& Y, MatrixXd& alpha, SolveReport& rep) {
    rep.method = "cholesky-mixed";
    const double n = double(A.rows()), ynorm = std::max(Y.norm(), 1e-300);
    const double bound = std::sqrt(n) * std::numeric_limits<double>::epsilon() * anorm_;
    double prev = std::numeric_limits<double>::infinity();
    for (int step = 0; step <= opt_.max_refine_steps; ++step) {
      residual(A, Y, alpha);
      rep.residual = R_.norm() / ynorm;
      if (rep.residual <= opt_.refine_tol || at_fp64_level(alpha, bound)) return;
      if (!(rep.residual < 0.5 * prev) || step == opt_.max_refine_steps) break;
      prev = rep.residual;
      rhs_ = R_.cast<float>();
      triangular_solve(factor_, CblasNoTrans, rhs_);
      triangular_solve(factor_, CblasTrans, rhs_);
      alpha += rhs_.cast<double>();
      rep.refine_steps = step + 1;
    }
    const int steps = rep.refine_steps;
    const double stalled = rep.residual;
    rep = LapackCholesky::solve_fp64(A, Y, alpha, opt_);
    rep.fallback = true;
    rep.refine_steps = steps;
    if (rep.residual < 0) rep.residual = relative_residual(A, opt_.ridge, alpha, Y);
    rep.message = strfmt(
        "mixed-precision refinement stalled at residual %.1e after %d steps "
        "(K too ill-conditioned for fp32); fp64 %s",
        stalled, steps, rep.method.c_str());
  }

  SolveOptions opt_;
  Eigen::MatrixXf factor_, rhs_;
  MatrixXd R_;
  double anorm_ = 0;  // ||A + ridge I||_inf
};

// --- auto: mixed while it pays --------------------------------------------------------------

class AutoCholesky final : public SpdSolver {
 public:
  explicit AutoCholesky(const SolveOptions& o) : opt_(o), mixed_(with_precision(o)) {}

  // Mixed where auto_precision says so for this n, c and the last mixed solve's steps; fp64
  // otherwise, and for good once a mixed solve fell back (K too ill-conditioned for fp32: each
  // later attempt would pay for the fp32 factor and then the fp64 one).
  SolveReport solve(MatrixXd& A, const MatrixXd& Y, MatrixXd& alpha) override {
    if (fp64_only_ ||
        auto_precision(double(A.rows()), double(Y.cols()), steps_) != Precision::mixed)
      return LapackCholesky::solve_fp64(A, Y, alpha, opt_);
    SolveReport rep = mixed_.solve(A, Y, alpha);
    steps_ = rep.refine_steps;
    if (rep.fallback) {
      fp64_only_ = true;
      rep.message += "; auto precision: fp64 from here on";
    }
    return rep;
  }

 private:
  static SolveOptions with_precision(SolveOptions o) {
    o.precision = Precision::mixed;
    return o;
  }
  SolveOptions opt_;
  FloatCholesky mixed_;
  int steps_ = 2;
  bool fp64_only_ = false;
};

}  // namespace

std::unique_ptr<SpdSolver> SpdSolver::create(const SolveOptions& options) {
  RFM_CHECK(options.ridge >= 0.0 && std::isfinite(options.ridge), "--ridge %g must be >= 0",
            options.ridge);
  switch (options.precision) {
    case Precision::fp64:
      return std::make_unique<LapackCholesky>(options);
    case Precision::automatic:
      return std::make_unique<AutoCholesky>(options);
    default:
      return std::make_unique<FloatCholesky>(options);
  }
}

// --- Matrix power and BLAS facts ------------------------------------------------------------

MatrixXd sym_power(const MatrixXd& G, double s) {
  const lapack_int d = static_cast<lapack_int>(G.rows());
  MatrixXd V = 0.5 * (G + G.transpose());
  VectorXd lambda(d);
  // One thread below d = 300 (2 cores, dsyevd medians: d = 122 0.0009 s against 0.0011-0.0016 s
  // threaded, d = 200 0.0027 s against 0.0031 s; d = 400 0.013 s against 0.011 s).
  SerialBlas serial(d < 300);
  check_lapack_args("dsyevd",
                    LAPACKE_dsyevd(LAPACK_COL_MAJOR, 'V', 'U', d, V.data(), d, lambda.data()));
  VectorXd f = lambda.unaryExpr([s](double x) { return x > 0 ? std::pow(x, s) : 0.0; });
  const MatrixXd P = V * f.asDiagonal() * V.transpose();
  return 0.5 * (P + P.transpose());  // exactly symmetric, as a metric must be
}

std::string blas_description() {
  return strfmt("OpenBLAS (%s; core %s; %d threads)", openblas_get_config(),
                openblas_get_corename(), openblas_get_num_threads());
}

const char* blas_better_coretype() {
  const std::string core = openblas_get_corename();
  const bool generic = core == "Prescott" || core == "Core2" || core == "Nehalem" ||
                       core == "Sandybridge" || core == "Unknown";
  if (!generic) return nullptr;
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
    return "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
  return nullptr;
}

void set_blas_threads(int threads) {
  if (threads > 0) openblas_set_num_threads(threads);
}

int blas_threads() {
  return openblas_get_num_threads();
}

}  // namespace rfm
